#include "curve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "error.h"

/* A ZAP request has 6 fixed frames plus the mechanism's credentials (one
 * for CURVE); anything past this is read and dropped. */
#define S_MAX_FRAMES 8

/* Printable excerpts of peer-controlled frames in report lines. */
#define S_TEXT_MAX 64

/* One admitted key: the trusted entry under its derived Curve25519 key. */
typedef struct {
    uint8_t curve_pk[GR_CURVE_KEY_BYTES];
    gr_trusted_key_t entry;
    char user_id[GR_PUBLIC_KEY_HEX];
} s_admit_t;

/* Rate-limit state of one refused key (or one kind of refusal). */
typedef struct {
    uint8_t key[GR_CURVE_KEY_BYTES];
    uint64_t seen;          /* value of the handler's clock when last seen */
    uint64_t last_report_ms;
    uint64_t suppressed;
    bool reported;
} s_track_t;

/* Refusals that carry no key to track them by. */
enum { S_OTHER_MECHANISM, S_OTHER_DOMAIN, S_OTHER_MALFORMED, S_OTHER_COUNT };

struct gr_zap {
    void *socket;
    s_admit_t *admit;       /* sorted by curve_pk */
    size_t n_admit;
    /* Fixed-size so that a flood of random keys cannot grow memory. */
    s_track_t track[GR_ZAP_TRACK_MAX];
    size_t n_track;
    uint64_t clock;         /* counts refusals: orders slots by recency */
    s_track_t other[S_OTHER_COUNT];
    gr_zap_log_fn log_fn;
    void *log_ctx;
    uint64_t interval_ms;
    /* Overall burst limit: reports emitted and dropped in the window that
     * opened at window_start_ms. */
    bool window_open;
    uint64_t window_start_ms;
    uint64_t window_lines;
    uint64_t window_dropped;
    uint64_t admitted;
    uint64_t refused;
};

/* ---- key derivation and socket options ---- */

int gr_curve_derive(uint8_t curve_pk[GR_CURVE_KEY_BYTES], uint8_t curve_sk[GR_CURVE_KEY_BYTES],
                    const gr_keypair_t *kp)
{
    if (!kp)
        return GR_EINVAL;
    uint8_t pk[GR_CURVE_KEY_BYTES], sk[GR_CURVE_KEY_BYTES], check[GR_CURVE_KEY_BYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(pk, kp->pk) != 0)
        return GR_EKEY;
    int rc = 0;
    /* A pair whose halves do not belong together would yield keys that
     * fail every handshake with no hint why; catch it here instead. */
    if (crypto_sign_ed25519_sk_to_curve25519(sk, kp->sk) != 0 ||
        crypto_scalarmult_base(check, sk) != 0 || sodium_memcmp(check, pk, sizeof pk) != 0)
        rc = GR_EKEY;
    if (rc == 0 && curve_pk)
        memcpy(curve_pk, pk, sizeof pk);
    if (rc == 0 && curve_sk)
        memcpy(curve_sk, sk, sizeof sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

_Static_assert(GR_BOX_OVERHEAD == crypto_box_NONCEBYTES + crypto_box_MACBYTES, "box layout");
_Static_assert(GR_BOX_KEY_BYTES == crypto_box_BEFORENMBYTES, "box key size");

int gr_box_key(uint8_t key[GR_BOX_KEY_BYTES], const uint8_t peer_ed25519_pk[GR_PUBLIC_KEY_BYTES],
               const gr_keypair_t *own)
{
    if (!key || !peer_ed25519_pk || !own)
        return GR_EINVAL;
    uint8_t peer[GR_CURVE_KEY_BYTES], sk[GR_CURVE_KEY_BYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(peer, peer_ed25519_pk) != 0)
        return GR_EKEY;
    int rc = gr_curve_derive(NULL, sk, own);
    if (rc == 0 && crypto_box_beforenm(key, peer, sk) != 0)
        rc = GR_EKEY;
    sodium_memzero(sk, sizeof sk);
    return rc;
}

int gr_box_seal(uint8_t **out, size_t *out_len, const uint8_t *msg, size_t len,
                const uint8_t key[GR_BOX_KEY_BYTES])
{
    *out = malloc(len + GR_BOX_OVERHEAD);
    if (!*out)
        return GR_ENOMEM;
    randombytes_buf(*out, crypto_box_NONCEBYTES);
    crypto_box_easy_afternm(*out + crypto_box_NONCEBYTES, msg, len, *out, key);
    *out_len = len + GR_BOX_OVERHEAD;
    return 0;
}

int gr_box_open(uint8_t **out, size_t *out_len, const uint8_t *box, size_t len,
                const uint8_t key[GR_BOX_KEY_BYTES])
{
    *out = NULL;
    if (len < GR_BOX_OVERHEAD)
        return GR_ESIGNATURE;
    *out = malloc(len - GR_BOX_OVERHEAD + 1);
    if (!*out)
        return GR_ENOMEM;
    if (crypto_box_open_easy_afternm(*out, box + crypto_box_NONCEBYTES, len - crypto_box_NONCEBYTES,
                                     box, key) != 0) {
        free(*out);
        *out = NULL;
        return GR_ESIGNATURE;
    }
    *out_len = len - GR_BOX_OVERHEAD;
    return 0;
}

/* Derives kp's keys and sets them on socket; the caller sets the role. */
static int s_set_own_keys(void *socket, const gr_keypair_t *kp)
{
    uint8_t pk[GR_CURVE_KEY_BYTES], sk[GR_CURVE_KEY_BYTES];
    int rc = gr_curve_derive(pk, sk, kp);
    if (rc != 0)
        return rc;
    if (zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, pk, sizeof pk) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, sk, sizeof sk) != 0)
        rc = GR_EIO;
    sodium_memzero(sk, sizeof sk);
    return rc;
}

static int s_check_curve(void *socket, const gr_keypair_t *kp)
{
    if (!socket || !kp)
        return GR_EINVAL;
    if (!zmq_has("curve")) {
        errno = ENOTSUP;
        return GR_EUNSUPPORTED;
    }
    return 0;
}

int gr_curve_server(void *socket, const gr_keypair_t *kp)
{
    return gr_curve_server_in(socket, kp, GR_ZAP_DOMAIN);
}

int gr_curve_server_in(void *socket, const gr_keypair_t *kp, const char *domain)
{
    if (!domain || (strcmp(domain, GR_ZAP_DOMAIN) != 0 && strcmp(domain, GR_ZAP_DOMAIN_DEPARTMENTS) != 0))
        return GR_EINVAL;
    int rc = s_check_curve(socket, kp);
    if (rc != 0)
        return rc;
    int server = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &server, sizeof server) != 0)
        return GR_EIO;
    rc = s_set_own_keys(socket, kp);
    if (rc != 0)
        return rc;
    if (zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return GR_EIO;
    return 0;
}

int gr_curve_client(void *socket, const gr_keypair_t *kp,
                    const uint8_t server_ed25519_pk[GR_PUBLIC_KEY_BYTES])
{
    int rc = s_check_curve(socket, kp);
    if (rc != 0)
        return rc;
    if (!server_ed25519_pk)
        return GR_EINVAL;
    uint8_t server_pk[GR_CURVE_KEY_BYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(server_pk, server_ed25519_pk) != 0)
        return GR_EKEY;
    /* Setting the server key is what makes libzmq treat the socket as a
     * client, so it goes first and the own keys cannot be left without it. */
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_pk, sizeof server_pk) != 0)
        return GR_EIO;
    return s_set_own_keys(socket, kp);
}

/* ---- the admitted-key map ---- */

static int s_admit_compare(const void *a, const void *b)
{
    const s_admit_t *x = a, *y = b;
    int c = memcmp(x->curve_pk, y->curve_pk, GR_CURVE_KEY_BYTES);
    /* An Ed25519 key and its negation map to the same Curve25519 key; the
     * tie-break makes the surviving entry independent of list order. */
    return c != 0 ? c : memcmp(x->entry.pk, y->entry.pk, GR_PUBLIC_KEY_BYTES);
}

/* Builds the sorted, duplicate-free map of trust's keys into *out. */
static int s_admit_build(const gr_trust_t *trust, s_admit_t **out, size_t *n_out)
{
    size_t count = gr_trust_count(trust);
    s_admit_t *list = calloc(count ? count : 1, sizeof *list);
    if (!list)
        return GR_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const gr_trusted_key_t *e = gr_trust_at(trust, i);
        if (!e || crypto_sign_ed25519_pk_to_curve25519(list[n].curve_pk, e->pk) != 0)
            continue;
        list[n].entry = *e;
        gr_key_to_hex(list[n].user_id, e->pk);
        n++;
    }
    qsort(list, n, sizeof *list, s_admit_compare);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && memcmp(list[kept - 1].curve_pk, list[i].curve_pk, GR_CURVE_KEY_BYTES) == 0)
            continue;
        list[kept++] = list[i];
    }
    *out = list;
    *n_out = kept;
    return 0;
}

static int s_admit_key_compare(const void *key, const void *elem)
{
    return memcmp(key, ((const s_admit_t *)elem)->curve_pk, GR_CURVE_KEY_BYTES);
}

static const s_admit_t *s_admit_find(const gr_zap_t *self, const uint8_t *curve_pk)
{
    if (self->n_admit == 0)
        return NULL;
    return bsearch(curve_pk, self->admit, self->n_admit, sizeof *self->admit,
                   s_admit_key_compare);
}

/* ---- lifecycle ---- */

gr_zap_t *gr_zap_new(void *zmq_ctx, const gr_trust_t *trust)
{
    if (!zmq_ctx || !trust)
        return NULL;
    gr_zap_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->interval_ms = GR_ZAP_LOG_INTERVAL_MS;
    if (s_admit_build(trust, &self->admit, &self->n_admit) != 0)
        goto fail;
    self->socket = zmq_socket(zmq_ctx, ZMQ_REP);
    if (!self->socket)
        goto fail;
    /* Replies to handshakes that were given up on are worthless: never
     * let them hold up zmq_ctx_term(). */
    int linger = 0;
    if (zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(self->socket, GR_ZAP_ENDPOINT) != 0)
        goto fail;
    return self;
fail:;
    int saved = zmq_errno();
    gr_zap_destroy(&self);
    errno = saved;
    return NULL;
}

void gr_zap_destroy(gr_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_zap_t *self = *self_p;
    if (self->socket)
        zmq_close(self->socket);
    free(self->admit);
    free(self);
    *self_p = NULL;
}

void *gr_zap_socket(gr_zap_t *self)
{
    return self ? self->socket : NULL;
}

int gr_zap_reload(gr_zap_t *self, const gr_trust_t *trust)
{
    if (!self || !trust)
        return GR_EINVAL;
    s_admit_t *list = NULL;
    size_t n = 0;
    int rc = s_admit_build(trust, &list, &n);
    if (rc != 0)
        return rc;
    free(self->admit);
    self->admit = list;
    self->n_admit = n;
    return 0;
}

void gr_zap_set_logger(gr_zap_t *self, gr_zap_log_fn fn, void *ctx)
{
    if (!self)
        return;
    self->log_fn = fn;
    self->log_ctx = ctx;
}

void gr_zap_set_log_interval_ms(gr_zap_t *self, uint64_t interval_ms)
{
    if (self)
        self->interval_ms = interval_ms;
}

uint64_t gr_zap_admitted(const gr_zap_t *self)
{
    return self ? self->admitted : 0;
}

uint64_t gr_zap_refused(const gr_zap_t *self)
{
    return self ? self->refused : 0;
}

size_t gr_zap_tracked(const gr_zap_t *self)
{
    return self ? self->n_track : 0;
}

/* ---- refusal reports ---- */

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void s_emit(gr_zap_t *self, const char *line)
{
    if (self->log_fn)
        self->log_fn(self->log_ctx, line);
}

/* Takes one report from the overall budget; opening a new window first
 * reports how many were dropped in the last one. */
static bool s_budget(gr_zap_t *self, uint64_t now)
{
    if (!self->window_open || now - self->window_start_ms >= self->interval_ms) {
        if (self->window_dropped > 0) {
            char line[160];
            snprintf(line, sizeof line,
                     "suppressed %" PRIu64 " reports of refused connections "
                     "(more than %d per %" PRIu64 " ms)",
                     self->window_dropped, GR_ZAP_LOG_BURST, self->interval_ms);
            s_emit(self, line);
        }
        self->window_open = true;
        self->window_start_ms = now;
        self->window_lines = 0;
        self->window_dropped = 0;
    }
    if (self->window_lines >= GR_ZAP_LOG_BURST) {
        self->window_dropped++;
        return false;
    }
    self->window_lines++;
    return true;
}

/* Reports what happened (one line, no newline) unless t was reported less
 * than an interval ago or the overall budget is spent; then the attempt is
 * counted and mentioned in t's next report. */
static void s_report(gr_zap_t *self, s_track_t *t, uint64_t now, const char *what)
{
    t->seen = ++self->clock;
    if (t->reported && now - t->last_report_ms < self->interval_ms) {
        t->suppressed++;
        return;
    }
    if (!s_budget(self, now)) {
        t->suppressed++;
        return;
    }
    char line[320];
    if (t->suppressed > 0)
        snprintf(line, sizeof line, "%s (%" PRIu64 " more attempt%s since last report)", what,
                 t->suppressed, t->suppressed == 1 ? "" : "s");
    else
        snprintf(line, sizeof line, "%s", what);
    t->reported = true;
    t->last_report_ms = now;
    t->suppressed = 0;
    s_emit(self, line);
}

/* Returns the tracking slot of key, taking over the least recently seen
 * one when the table is full. A linear scan: GR_ZAP_TRACK_MAX is small and
 * this runs once per refused handshake, which already costs far more. */
static s_track_t *s_track(gr_zap_t *self, const uint8_t key[GR_CURVE_KEY_BYTES])
{
    size_t oldest = 0;
    for (size_t i = 0; i < self->n_track; i++) {
        if (memcmp(self->track[i].key, key, GR_CURVE_KEY_BYTES) == 0)
            return &self->track[i];
        if (self->track[i].seen < self->track[oldest].seen)
            oldest = i;
    }
    s_track_t *t = self->n_track < GR_ZAP_TRACK_MAX ? &self->track[self->n_track++]
                                                    : &self->track[oldest];
    memset(t, 0, sizeof *t);
    memcpy(t->key, key, GR_CURVE_KEY_BYTES);
    return t;
}

/* Copies a peer-controlled frame into out as printable ASCII, so that a
 * crafted address or mechanism name cannot forge or break a log line. */
static void s_printable(char out[S_TEXT_MAX], zmq_msg_t *msg)
{
    const unsigned char *data = zmq_msg_data(msg);
    size_t len = zmq_msg_size(msg);
    if (len > S_TEXT_MAX - 1)
        len = S_TEXT_MAX - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = (data[i] >= 0x20 && data[i] < 0x7f) ? (char)data[i] : '?';
    out[len] = '\0';
}

/* ---- requests ---- */

static bool s_frame_is(zmq_msg_t *msg, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(msg) == len && memcmp(zmq_msg_data(msg), text, len) == 0;
}

typedef struct {
    const char *code;
    const char *text;
    const char *user_id;
} s_verdict_t;

static s_verdict_t s_refuse(gr_zap_t *self, int kind, const char *code, const char *text,
                            const char *what, uint64_t now)
{
    self->refused++;
    s_report(self, &self->other[kind], now, what);
    return (s_verdict_t){ code, text, "" };
}

/* Decides on a request of total frames, the first n of which are in f. */
static s_verdict_t s_decide(gr_zap_t *self, zmq_msg_t *f, size_t n, size_t total)
{
    uint64_t now = s_now_ms();
    char what[256];
    if (total < 6 || !s_frame_is(&f[0], "1.0")) {
        snprintf(what, sizeof what, "refused a malformed ZAP request (%zu frames)", total);
        return s_refuse(self, S_OTHER_MALFORMED, "500", "malformed request", what, now);
    }
    char address[S_TEXT_MAX], text[S_TEXT_MAX];
    s_printable(address, &f[3]);
    if (!s_frame_is(&f[5], "CURVE")) {
        s_printable(text, &f[5]);
        snprintf(what, sizeof what, "refused %s connection from %s: only CURVE is admitted",
                 text, address);
        return s_refuse(self, S_OTHER_MECHANISM, "400", "CURVE required", what, now);
    }
    bool departments_only = s_frame_is(&f[2], GR_ZAP_DOMAIN_DEPARTMENTS);
    if (!departments_only && !s_frame_is(&f[2], GR_ZAP_DOMAIN)) {
        s_printable(text, &f[2]);
        snprintf(what, sizeof what, "refused CURVE connection from %s to ZAP domain '%s'",
                 address, text);
        return s_refuse(self, S_OTHER_DOMAIN, "400", "unknown domain", what, now);
    }
    if (total != 7 || n < 7 || zmq_msg_size(&f[6]) != GR_CURVE_KEY_BYTES) {
        snprintf(what, sizeof what, "refused a ZAP request with malformed CURVE credentials from %s",
                 address);
        return s_refuse(self, S_OTHER_MALFORMED, "500", "malformed credentials", what, now);
    }
    const uint8_t *key = zmq_msg_data(&f[6]);
    const s_admit_t *admit = s_admit_find(self, key);
    if (admit && (!departments_only || admit->entry.role == GR_ROLE_DEPARTMENT)) {
        self->admitted++;
        return (s_verdict_t){ "200", "OK", admit->user_id };
    }
    self->refused++;
    char hex[GR_CURVE_KEY_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, key, GR_CURVE_KEY_BYTES);
    if (admit) {
        snprintf(what, sizeof what, "refused %s (CURVE key %.4s..%s) from %s: only departments "
                 "may use this socket", admit->entry.name, hex, hex + sizeof hex - 5, address);
        s_report(self, s_track(self, key), now, what);
        return (s_verdict_t){ "400", "departments only", "" };
    }
    snprintf(what, sizeof what, "refused unknown CURVE key %.4s..%s from %s", hex,
             hex + sizeof hex - 5, address);
    s_report(self, s_track(self, key), now, what);
    return (s_verdict_t){ "400", "unknown key", "" };
}

static int s_send_text(void *socket, const char *text, int flags)
{
    return zmq_send(socket, text, strlen(text), flags) < 0 ? GR_EIO : 0;
}

/* Sends the RFC 27 reply. The REP socket routes it to the asking session
 * and drops it if that session is gone, so the sends do not block. */
static int s_reply(gr_zap_t *self, zmq_msg_t *request_id, const s_verdict_t *v)
{
    const int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    if (s_send_text(self->socket, "1.0", more) != 0)
        return GR_EIO;
    if (request_id ? zmq_msg_send(request_id, self->socket, more) < 0
                   : s_send_text(self->socket, "", more) != 0)
        return GR_EIO;
    if (s_send_text(self->socket, v->code, more) != 0 ||
        s_send_text(self->socket, v->text, more) != 0 ||
        s_send_text(self->socket, v->user_id, more) != 0 ||
        s_send_text(self->socket, "", ZMQ_DONTWAIT) != 0)  /* no metadata */
        return GR_EIO;
    return 0;
}

int gr_zap_handle(gr_zap_t *self)
{
    if (!self)
        return GR_EINVAL;
    zmq_msg_t frames[S_MAX_FRAMES];
    size_t n = 0, total = 0;
    int rc = 0;
    for (bool more = true; more;) {
        zmq_msg_t extra;
        zmq_msg_t *slot = n < S_MAX_FRAMES ? &frames[n] : &extra;
        zmq_msg_init(slot);
        /* The parts of one message arrive together, so only the first
         * read can find nothing waiting. */
        if (zmq_msg_recv(slot, self->socket, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(slot);
            rc = (total == 0 && (e == EAGAIN || e == EINTR)) ? -e : GR_EIO;
            goto done;
        }
        more = zmq_msg_more(slot);
        total++;
        if (slot == &extra)
            zmq_msg_close(&extra);
        else
            n++;
    }
    s_verdict_t verdict = s_decide(self, frames, n, total);
    rc = s_reply(self, n >= 2 ? &frames[1] : NULL, &verdict);
done:
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&frames[i]);
    return rc;
}
