/* Unit tests for broker/curve: key derivation, CURVE sockets and the ZAP
 * handler, over real libzmq TCP connections on 127.0.0.1.
 *
 * libzmq holds every handshake until the ZAP handler answers, so each wait
 * here services the handler while it polls; every wait has a deadline.
 * Requests the handler must refuse without a real handshake (malformed ones,
 * floods of random keys) are sent straight to the ZAP endpoint from a REQ
 * socket in the same context, as libzmq itself would.
 *
 * Nothing here touches the file system, so there is no temp dir.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>
#include <zmq.h>

#include "curve.h"
#include "error.h"
#include "keys.h"
#include "trust.h"

#define WAIT_MS 5000     /* for things that must happen */
#define NEVER_MS 500     /* for things that must not */
#define MAX_SOCKETS 64
#define MAX_LINES 64

typedef struct {
    void *ctx;
    gr_keypair_t server;
    gr_keypair_t alice;     /* trusted, a reporter */
    gr_keypair_t police;    /* trusted, a department */
    gr_keypair_t mallory;   /* not trusted */
    gr_trust_t *trust;
    gr_zap_t *zap;
    void *router;
    char endpoint[256];
    void *sockets[MAX_SOCKETS];  /* closed by teardown */
    size_t n_sockets;
    int monitors;
    char *lines[MAX_LINES];
    size_t n_lines;
} fixture_t;

/* ---- helpers ---- */

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void s_log(void *ctx, const char *line)
{
    fixture_t *fx = ctx;
    assert_true(fx->n_lines < MAX_LINES);
    fx->lines[fx->n_lines] = strdup(line);
    assert_non_null(fx->lines[fx->n_lines]);
    fx->n_lines++;
}

static void *s_keep(fixture_t *fx, void *socket)
{
    assert_non_null(socket);
    assert_true(fx->n_sockets < MAX_SOCKETS);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger), 0);
    fx->sockets[fx->n_sockets++] = socket;
    return socket;
}

/* What a wait is for: a socket to become readable, the refusal counter to
 * reach a value, or (neither) just the deadline, servicing ZAP meanwhile. */
typedef struct {
    void *readable;
    uint64_t refused;
} s_until_t;

/* Polls the ZAP socket (answering every request) and until.readable until
 * the condition holds or ms pass. Returns whether the condition held. */
static bool s_serve(fixture_t *fx, s_until_t until, int ms)
{
    uint64_t deadline = s_now_ms() + (uint64_t)ms;
    for (;;) {
        if (until.refused && gr_zap_refused(fx->zap) >= until.refused)
            return true;
        uint64_t now = s_now_ms();
        if (now >= deadline)
            return false;
        zmq_pollitem_t items[2] = {
            { gr_zap_socket(fx->zap), 0, ZMQ_POLLIN, 0 },
            { until.readable, 0, ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll(items, until.readable ? 2 : 1, (long)(deadline - now));
        assert_true(rc >= 0 || zmq_errno() == EINTR);
        if (items[0].revents & ZMQ_POLLIN) {
            int handled;
            while ((handled = gr_zap_handle(fx->zap)) == 0) {
            }
            assert_int_equal(handled, -EAGAIN);
        }
        if (until.readable && (items[1].revents & ZMQ_POLLIN))
            return true;
    }
}

static bool s_wait_readable(fixture_t *fx, void *socket, int ms)
{
    return s_serve(fx, (s_until_t){ .readable = socket }, ms);
}

static bool s_wait_refused(fixture_t *fx, uint64_t count, int ms)
{
    return s_serve(fx, (s_until_t){ .refused = count }, ms);
}

/* A DEALER with CURVE client keys (kp NULL: no security at all), not yet
 * connected so that a monitor can be attached first. */
static void *s_dealer(fixture_t *fx, const gr_keypair_t *kp, const uint8_t *server_pk)
{
    void *socket = s_keep(fx, zmq_socket(fx->ctx, ZMQ_DEALER));
    if (kp)
        assert_int_equal(gr_curve_client(socket, kp, server_pk), 0);
    return socket;
}

/* Makes socket attempt exactly one connection: after a refusal libzmq
 * would otherwise retry every 100 ms. */
static void s_once(void *socket)
{
    int never = -1;
    assert_int_equal(zmq_setsockopt(socket, ZMQ_RECONNECT_IVL, &never, sizeof never), 0);
}

/* Returns a PAIR socket receiving socket's handshake and connection
 * events. */
static void *s_monitor(fixture_t *fx, void *socket)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://monitor-%d", fx->monitors++);
    assert_int_equal(zmq_socket_monitor(socket, endpoint, ZMQ_EVENT_ALL), 0);
    void *pair = s_keep(fx, zmq_socket(fx->ctx, ZMQ_PAIR));
    assert_int_equal(zmq_connect(pair, endpoint), 0);
    return pair;
}

/* Reads one monitor event; returns false when none is waiting. */
static bool s_event(void *monitor, uint16_t *event, uint32_t *value)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return false;
    }
    assert_int_equal(zmq_msg_size(&msg), 6);
    memcpy(event, zmq_msg_data(&msg), sizeof *event);
    memcpy(value, (uint8_t *)zmq_msg_data(&msg) + 2, sizeof *value);
    assert_true(zmq_msg_more(&msg));
    zmq_msg_close(&msg);
    char endpoint[256];
    assert_true(zmq_recv(monitor, endpoint, sizeof endpoint, 0) >= 0);
    return true;
}

/* Waits for event on monitor (and value, unless value is UINT32_MAX). */
static bool s_wait_event(fixture_t *fx, void *monitor, uint16_t want, uint32_t want_value, int ms)
{
    uint64_t deadline = s_now_ms() + (uint64_t)ms;
    for (;;) {
        uint16_t event;
        uint32_t value;
        while (s_event(monitor, &event, &value))
            if (event == want && (want_value == UINT32_MAX || value == want_value))
                return true;
        uint64_t now = s_now_ms();
        if (now >= deadline || !s_wait_readable(fx, monitor, (int)(deadline - now)))
            return false;
    }
}

/* Drains monitor; returns a bit set of the events seen. */
static uint32_t s_events_seen(void *monitor)
{
    uint32_t seen = 0, value;
    uint16_t event;
    while (s_event(monitor, &event, &value))
        seen |= event;
    return seen;
}

static void s_connect(fixture_t *fx, void *socket)
{
    assert_int_equal(zmq_connect(socket, fx->endpoint), 0);
}

static void s_curve_hex(char out[GR_CURVE_KEY_BYTES * 2 + 1], const gr_keypair_t *kp)
{
    uint8_t pk[GR_CURVE_KEY_BYTES];
    assert_int_equal(gr_curve_derive(pk, NULL, kp), 0);
    sodium_bin2hex(out, GR_CURVE_KEY_BYTES * 2 + 1, pk, sizeof pk);
}

/* The expected report prefix for kp's key. */
static void s_refusal_line(char *out, size_t len, const gr_keypair_t *kp)
{
    char hex[GR_CURVE_KEY_BYTES * 2 + 1];
    s_curve_hex(hex, kp);
    snprintf(out, len, "refused unknown CURVE key %.4s..%s from 127.0.0.1", hex, hex + 60);
}

/* ---- direct ZAP requests ---- */

typedef struct {
    const char *frames[10];
    size_t lens[10];    /* 0: strlen of the frame */
    size_t n;
} s_request_t;

/* Sends request on req (a REQ socket connected to the ZAP endpoint), lets
 * the handler answer, and returns the status code; the user id goes into
 * user (65 bytes). Checks the reply's envelope on the way. */
static int s_ask(fixture_t *fx, void *req, const s_request_t *r, char *user)
{
    for (size_t i = 0; i < r->n; i++) {
        size_t len = r->lens[i] ? r->lens[i] : strlen(r->frames[i]);
        int flags = i + 1 < r->n ? ZMQ_SNDMORE : 0;
        assert_int_equal(zmq_send(req, r->frames[i], len, flags), (int)len);
    }
    assert_true(s_wait_readable(fx, req, WAIT_MS));
    char parts[6][80];
    int sizes[6];
    for (int i = 0; i < 6; i++) {
        sizes[i] = zmq_recv(req, parts[i], sizeof parts[i] - 1, 0);
        assert_true(sizes[i] >= 0);
        parts[i][sizes[i]] = '\0';
        int more = 0;
        size_t more_len = sizeof more;
        assert_int_equal(zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_len), 0);
        assert_int_equal(more, i < 5);
    }
    assert_string_equal(parts[0], "1.0");
    if (r->n >= 2)
        assert_string_equal(parts[1], r->frames[1]);
    assert_int_equal(sizes[5], 0);
    if (user) {
        assert_true(sizes[4] < GR_PUBLIC_KEY_HEX);
        memcpy(user, parts[4], (size_t)sizes[4] + 1);
    }
    return atoi(parts[2]);
}

static void *s_zap_req(fixture_t *fx)
{
    void *req = s_keep(fx, zmq_socket(fx->ctx, ZMQ_REQ));
    assert_int_equal(zmq_connect(req, GR_ZAP_ENDPOINT), 0);
    return req;
}

/* A well-formed CURVE request for key. */
static s_request_t s_curve_request(const uint8_t key[GR_CURVE_KEY_BYTES])
{
    return (s_request_t){
        .frames = { "1.0", "7", GR_ZAP_DOMAIN, "10.0.0.9", "", "CURVE", (const char *)key },
        .lens = { [6] = GR_CURVE_KEY_BYTES },
        .n = 7,
    };
}

static int s_ask_key(fixture_t *fx, void *req, const uint8_t key[GR_CURVE_KEY_BYTES])
{
    s_request_t r = s_curve_request(key);
    return s_ask(fx, req, &r, NULL);
}

/* ---- fixture ---- */

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(gr_keys_generate(&fx->server), 0);
    assert_int_equal(gr_keys_generate(&fx->alice), 0);
    assert_int_equal(gr_keys_generate(&fx->mallory), 0);
    assert_int_equal(gr_keys_generate(&fx->police), 0);
    fx->trust = gr_trust_new();
    assert_non_null(fx->trust);
    assert_int_equal(gr_trust_add(fx->trust, fx->alice.pk, "alice", GR_ROLE_REPORTER), 0);
    assert_int_equal(gr_trust_add(fx->trust, fx->police.pk, "police", GR_ROLE_DEPARTMENT), 0);
    fx->ctx = zmq_ctx_new();
    assert_non_null(fx->ctx);
    fx->zap = gr_zap_new(fx->ctx, fx->trust);
    assert_non_null(fx->zap);
    gr_zap_set_logger(fx->zap, s_log, fx);
    fx->router = s_keep(fx, zmq_socket(fx->ctx, ZMQ_ROUTER));
    assert_int_equal(gr_curve_server(fx->router, &fx->server), 0);
    assert_int_equal(zmq_bind(fx->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    assert_int_equal(zmq_getsockopt(fx->router, ZMQ_LAST_ENDPOINT, fx->endpoint, &len), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < fx->n_sockets; i++)
        zmq_close(fx->sockets[i]);
    gr_zap_destroy(&fx->zap);
    assert_null(fx->zap);
    zmq_ctx_term(fx->ctx);
    gr_trust_destroy(&fx->trust);
    for (size_t i = 0; i < fx->n_lines; i++)
        free(fx->lines[i]);
    free(fx);
    return 0;
}

/* ---- tests ---- */

static void test_derived_keys(void **state)
{
    fixture_t *fx = *state;
    uint8_t pk[32], sk[32], want_pk[32], want_sk[32];
    assert_int_equal(gr_curve_derive(pk, sk, &fx->alice), 0);
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(want_pk, fx->alice.pk), 0);
    assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(want_sk, fx->alice.sk), 0);
    assert_memory_equal(pk, want_pk, 32);
    assert_memory_equal(sk, want_sk, 32);

    /* ZeroMQ agrees that the derived halves form one Curve25519 pair. */
    char z85_sk[41], z85_pk[41], z85_public[41];
    assert_non_null(zmq_z85_encode(z85_sk, sk, 32));
    assert_non_null(zmq_z85_encode(z85_pk, pk, 32));
    assert_int_equal(zmq_curve_public(z85_public, z85_sk), 0);
    assert_string_equal(z85_public, z85_pk);

    /* What the socket options hold is what was derived. */
    void *server = s_keep(fx, zmq_socket(fx->ctx, ZMQ_ROUTER));
    assert_int_equal(gr_curve_server(server, &fx->alice), 0);
    uint8_t got[32];
    size_t len = sizeof got;
    assert_int_equal(zmq_getsockopt(server, ZMQ_CURVE_SECRETKEY, got, &len), 0);
    assert_memory_equal(got, sk, 32);
    int is_server = 0;
    len = sizeof is_server;
    assert_int_equal(zmq_getsockopt(server, ZMQ_CURVE_SERVER, &is_server, &len), 0);
    assert_int_equal(is_server, 1);
    char domain[64];
    len = sizeof domain;
    assert_int_equal(zmq_getsockopt(server, ZMQ_ZAP_DOMAIN, domain, &len), 0);
    assert_string_equal(domain, GR_ZAP_DOMAIN);

    void *client = s_keep(fx, zmq_socket(fx->ctx, ZMQ_DEALER));
    assert_int_equal(gr_curve_client(client, &fx->mallory, fx->alice.pk), 0);
    len = sizeof got;
    assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_SERVERKEY, got, &len), 0);
    assert_memory_equal(got, pk, 32);
    assert_int_equal(gr_curve_derive(want_pk, want_sk, &fx->mallory), 0);
    len = sizeof got;
    assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_PUBLICKEY, got, &len), 0);
    assert_memory_equal(got, want_pk, 32);
    len = sizeof got;
    assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_SECRETKEY, got, &len), 0);
    assert_memory_equal(got, want_sk, 32);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(want_sk, sizeof want_sk);

    /* Bad arguments and keys. */
    uint8_t bad[32];
    memset(bad, 0xff, sizeof bad);  /* not a canonical point */
    gr_keypair_t broken = fx->alice;
    memcpy(broken.pk, bad, sizeof bad);
    assert_int_equal(gr_curve_derive(pk, sk, NULL), GR_EINVAL);
    assert_int_equal(gr_curve_derive(pk, sk, &broken), GR_EKEY);
    memcpy(broken.pk, fx->mallory.pk, 32);  /* valid point, wrong secret */
    assert_int_equal(gr_curve_derive(pk, sk, &broken), GR_EKEY);
    assert_int_equal(gr_curve_server(NULL, &fx->alice), GR_EINVAL);
    assert_int_equal(gr_curve_server(server, NULL), GR_EINVAL);
    assert_int_equal(gr_curve_client(client, &fx->alice, NULL), GR_EINVAL);
    assert_int_equal(gr_curve_client(client, &fx->alice, bad), GR_EKEY);
    assert_int_equal(gr_curve_client(client, &broken, fx->server.pk), GR_EKEY);
}

static void test_trusted_client_round_trip(void **state)
{
    fixture_t *fx = *state;
    void *client = s_dealer(fx, &fx->alice, fx->server.pk);
    void *monitor = s_monitor(fx, client);
    s_connect(fx, client);
    assert_int_equal(zmq_send(client, "hello", 5, 0), 5);

    assert_true(s_wait_readable(fx, fx->router, WAIT_MS));
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&id, fx->router, 0) > 0);
    assert_true(zmq_msg_more(&id));
    assert_int_equal(zmq_msg_recv(&body, fx->router, 0), 5);
    assert_memory_equal(zmq_msg_data(&body), "hello", 5);
    char alice_hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(alice_hex, fx->alice.pk);
    const char *user_id = zmq_msg_gets(&body, "User-Id");
    assert_non_null(user_id);
    assert_string_equal(user_id, alice_hex);
    zmq_msg_close(&body);

    assert_true(zmq_msg_send(&id, fx->router, ZMQ_SNDMORE) > 0);
    zmq_msg_close(&id);
    assert_int_equal(zmq_send(fx->router, "world", 5, 0), 5);
    assert_true(s_wait_readable(fx, client, WAIT_MS));
    char reply[16];
    assert_int_equal(zmq_recv(client, reply, sizeof reply, 0), 5);
    assert_memory_equal(reply, "world", 5);

    assert_true(s_wait_event(fx, monitor, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, UINT32_MAX, WAIT_MS));
    assert_int_equal(gr_zap_admitted(fx->zap), 1);
    assert_int_equal(gr_zap_refused(fx->zap), 0);
    assert_int_equal(gr_zap_tracked(fx->zap), 0);
    assert_int_equal(fx->n_lines, 0);
}

static void test_untrusted_client_is_refused(void **state)
{
    fixture_t *fx = *state;
    void *client = s_dealer(fx, &fx->mallory, fx->server.pk);
    void *monitor = s_monitor(fx, client);
    s_connect(fx, client);
    assert_int_equal(zmq_send(client, "hello", 5, 0), 5);

    assert_false(s_wait_readable(fx, fx->router, NEVER_MS));
    assert_true(s_wait_refused(fx, 1, WAIT_MS));
    /* The client learns why: ZAP's status code reaches its monitor. */
    assert_true(s_wait_event(fx, monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, WAIT_MS));
    assert_false(s_events_seen(monitor) & ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal(gr_zap_admitted(fx->zap), 0);
    assert_int_equal(gr_zap_tracked(fx->zap), 1);
    /* libzmq keeps retrying; the interval (60 s) allows one report. */
    assert_int_equal(fx->n_lines, 1);
    char want[128];
    s_refusal_line(want, sizeof want, &fx->mallory);
    assert_string_equal(fx->lines[0], want);
}

/* The departments' socket (a node's task notices) admits department keys
 * only: a trusted reporter is refused there, and told so. */
static void test_departments_socket_admits_departments_only(void **state)
{
    fixture_t *fx = *state;
    void *pub = s_keep(fx, zmq_socket(fx->ctx, ZMQ_PUB));
    assert_int_equal(gr_curve_server_in(pub, &fx->server, "elsewhere"), GR_EINVAL);
    assert_int_equal(gr_curve_server_in(pub, &fx->server, GR_ZAP_DOMAIN_DEPARTMENTS), 0);
    assert_int_equal(zmq_bind(pub, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    assert_int_equal(zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, fx->endpoint, &len), 0);

    void *reporter = s_keep(fx, zmq_socket(fx->ctx, ZMQ_SUB));
    assert_int_equal(gr_curve_client(reporter, &fx->alice, fx->server.pk), 0);
    assert_int_equal(zmq_setsockopt(reporter, ZMQ_SUBSCRIBE, "", 0), 0);
    s_once(reporter);
    void *refused = s_monitor(fx, reporter);
    s_connect(fx, reporter);
    assert_true(s_wait_event(fx, refused, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, WAIT_MS));
    assert_false(s_events_seen(refused) & ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal(gr_zap_refused(fx->zap), 1);
    assert_int_equal(fx->n_lines, 1);
    char hex[GR_CURVE_KEY_BYTES * 2 + 1], want[160];
    s_curve_hex(hex, &fx->alice);
    snprintf(want, sizeof want, "refused alice (CURVE key %.4s..%s) from 127.0.0.1: only "
             "departments may use this socket", hex, hex + 60);
    assert_string_equal(fx->lines[0], want);

    void *dept = s_keep(fx, zmq_socket(fx->ctx, ZMQ_SUB));
    assert_int_equal(gr_curve_client(dept, &fx->police, fx->server.pk), 0);
    assert_int_equal(zmq_setsockopt(dept, ZMQ_SUBSCRIBE, "", 0), 0);
    void *admitted = s_monitor(fx, dept);
    s_connect(fx, dept);
    assert_true(s_wait_event(fx, admitted, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, UINT32_MAX, WAIT_MS));
    assert_int_equal(gr_zap_admitted(fx->zap), 1);
    /* A subscription travels after the handshake: publish until it lands. */
    char got[16];
    int n = -1;
    for (uint64_t deadline = s_now_ms() + WAIT_MS; n < 0 && s_now_ms() < deadline;) {
        assert_int_equal(zmq_send(pub, "task", 4, 0), 4);
        if (s_wait_readable(fx, dept, 20))
            n = zmq_recv(dept, got, sizeof got, ZMQ_DONTWAIT);
    }
    assert_int_equal(n, 4);
    assert_memory_equal(got, "task", 4);
    assert_int_equal(zmq_recv(reporter, got, sizeof got, ZMQ_DONTWAIT), -1);

    /* Asked directly: the reporter is welcome on an ordinary node socket,
     * the department on both. */
    uint8_t alice_curve[GR_CURVE_KEY_BYTES], police_curve[GR_CURVE_KEY_BYTES];
    assert_int_equal(gr_curve_derive(alice_curve, NULL, &fx->alice), 0);
    assert_int_equal(gr_curve_derive(police_curve, NULL, &fx->police), 0);
    void *req = s_zap_req(fx);
    assert_int_equal(s_ask_key(fx, req, alice_curve), 200);
    assert_int_equal(s_ask_key(fx, req, police_curve), 200);
    s_request_t r = s_curve_request(alice_curve);
    r.frames[2] = GR_ZAP_DOMAIN_DEPARTMENTS;
    assert_int_equal(s_ask(fx, req, &r, NULL), 400);
    r = s_curve_request(police_curve);
    r.frames[2] = GR_ZAP_DOMAIN_DEPARTMENTS;
    char user[GR_PUBLIC_KEY_HEX], police_hex[GR_PUBLIC_KEY_HEX];
    assert_int_equal(s_ask(fx, req, &r, user), 200);
    gr_key_to_hex(police_hex, fx->police.pk);
    assert_string_equal(user, police_hex);
}

/* Boxes: both ends compute the same key; only it opens a box, and any
 * change to the box is caught. */
static void test_box_for_one_reader(void **state)
{
    fixture_t *fx = *state;
    uint8_t node_side[GR_BOX_KEY_BYTES], police_side[GR_BOX_KEY_BYTES], alice_side[GR_BOX_KEY_BYTES];
    assert_int_equal(gr_box_key(node_side, fx->police.pk, &fx->server), 0);
    assert_int_equal(gr_box_key(police_side, fx->server.pk, &fx->police), 0);
    assert_int_equal(gr_box_key(alice_side, fx->server.pk, &fx->alice), 0);
    assert_memory_equal(node_side, police_side, GR_BOX_KEY_BYTES);
    assert_memory_not_equal(node_side, alice_side, GR_BOX_KEY_BYTES);
    uint8_t junk[GR_PUBLIC_KEY_BYTES];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(gr_box_key(node_side, junk, &fx->server), GR_EKEY);
    assert_int_equal(gr_box_key(node_side, fx->police.pk, &fx->server), 0);

    const char *msg = "task notice for police";
    uint8_t *box = NULL, *again = NULL, *plain = NULL;
    size_t box_len = 0, again_len = 0, plain_len = 0;
    assert_int_equal(gr_box_seal(&box, &box_len, (const uint8_t *)msg, strlen(msg), node_side), 0);
    assert_int_equal(box_len, strlen(msg) + GR_BOX_OVERHEAD);
    assert_int_equal(gr_box_seal(&again, &again_len, (const uint8_t *)msg, strlen(msg), node_side), 0);
    assert_memory_not_equal(box, again, box_len);  /* a fresh nonce each time */
    assert_int_equal(gr_box_open(&plain, &plain_len, box, box_len, police_side), 0);
    assert_int_equal(plain_len, strlen(msg));
    assert_memory_equal(plain, msg, plain_len);
    free(plain);
    assert_int_equal(gr_box_open(&plain, &plain_len, box, box_len, alice_side), GR_ESIGNATURE);
    assert_null(plain);
    for (size_t i = 0; i < box_len; i += 7) {
        box[i] ^= 0x20;
        assert_int_equal(gr_box_open(&plain, &plain_len, box, box_len, police_side), GR_ESIGNATURE);
        box[i] ^= 0x20;
    }
    assert_int_equal(gr_box_open(&plain, &plain_len, box, GR_BOX_OVERHEAD - 1, police_side),
                     GR_ESIGNATURE);
    free(box);
    free(again);
}

static void test_wrong_server_key_never_connects(void **state)
{
    fixture_t *fx = *state;
    /* Alice is trusted, but believes the node is someone else. */
    void *client = s_dealer(fx, &fx->alice, fx->mallory.pk);
    void *monitor = s_monitor(fx, client);
    s_connect(fx, client);
    assert_int_equal(zmq_send(client, "hello", 5, 0), 5);

    assert_true(s_wait_event(fx, monitor, ZMQ_EVENT_CONNECTED, UINT32_MAX, WAIT_MS));
    assert_false(s_wait_readable(fx, fx->router, NEVER_MS));
    assert_false(s_events_seen(monitor) & ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    /* The server cannot even open the client's hello: ZAP is never asked. */
    assert_int_equal(gr_zap_admitted(fx->zap), 0);
    assert_int_equal(gr_zap_refused(fx->zap), 0);
}

static void test_client_without_curve_is_refused(void **state)
{
    fixture_t *fx = *state;
    void *plain = s_dealer(fx, NULL, NULL);
    void *monitor = s_monitor(fx, plain);
    s_connect(fx, plain);
    assert_int_equal(zmq_send(plain, "hello", 5, 0), 5);
    assert_true(s_wait_event(fx, monitor, ZMQ_EVENT_CONNECTED, UINT32_MAX, WAIT_MS));
    assert_false(s_wait_readable(fx, fx->router, NEVER_MS));
    assert_false(s_events_seen(monitor) & ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal(gr_zap_admitted(fx->zap), 0);

    /* A server socket that forgot CURVE but carries the domain consults
     * the handler, which refuses the NULL mechanism. */
    void *open_server = s_keep(fx, zmq_socket(fx->ctx, ZMQ_ROUTER));
    assert_int_equal(zmq_setsockopt(open_server, ZMQ_ZAP_DOMAIN, GR_ZAP_DOMAIN,
                                    strlen(GR_ZAP_DOMAIN)), 0);
    assert_int_equal(zmq_bind(open_server, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    assert_int_equal(zmq_getsockopt(open_server, ZMQ_LAST_ENDPOINT, fx->endpoint, &len), 0);
    void *plain2 = s_dealer(fx, NULL, NULL);
    void *monitor2 = s_monitor(fx, plain2);
    s_connect(fx, plain2);
    assert_int_equal(zmq_send(plain2, "hello", 5, 0), 5);
    assert_true(s_wait_refused(fx, 1, WAIT_MS));
    assert_true(s_wait_event(fx, monitor2, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, WAIT_MS));
    assert_false(s_wait_readable(fx, open_server, NEVER_MS));
    assert_int_equal(gr_zap_admitted(fx->zap), 0);
    assert_int_equal(fx->n_lines, 1);
    assert_string_equal(fx->lines[0],
                        "refused NULL connection from 127.0.0.1: only CURVE is admitted");
}

static void test_refusal_reports_are_rate_limited(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < 20; i++) {
        void *client = s_dealer(fx, &fx->mallory, fx->server.pk);
        s_once(client);
        s_connect(fx, client);
    }
    assert_true(s_wait_refused(fx, 20, WAIT_MS));
    assert_int_equal(fx->n_lines, 1);
    char want[128];
    s_refusal_line(want, sizeof want, &fx->mallory);
    assert_string_equal(fx->lines[0], want);

    /* Once the interval is over, the next attempt is reported again, with
     * the count of those that were not. */
    gr_zap_set_log_interval_ms(fx->zap, 200);
    assert_false(s_serve(fx, (s_until_t){ 0 }, 250));
    uint64_t refused = gr_zap_refused(fx->zap);
    void *client = s_dealer(fx, &fx->mallory, fx->server.pk);
    s_once(client);
    s_connect(fx, client);
    assert_true(s_wait_refused(fx, refused + 1, WAIT_MS));
    assert_int_equal(fx->n_lines, 2);
    char want2[192];
    snprintf(want2, sizeof want2, "%s (%" PRIu64 " more attempts since last report)", want,
             refused - 1);
    assert_string_equal(fx->lines[1], want2);
    assert_int_equal(refused, 20);
    assert_int_equal(gr_zap_tracked(fx->zap), 1);
}

static void test_refused_key_table_is_bounded(void **state)
{
    fixture_t *fx = *state;
    void *req = s_zap_req(fx);
    uint8_t a[32], b[32], key[32];
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    assert_int_equal(s_ask_key(fx, req, a), 400);
    assert_int_equal(s_ask_key(fx, req, a), 400);
    assert_int_equal(s_ask_key(fx, req, b), 400);
    assert_int_equal(s_ask_key(fx, req, b), 400);
    assert_int_equal(fx->n_lines, 2);
    assert_int_equal(gr_zap_tracked(fx->zap), 2);

    /* 300 fresh keys: a stays recent, b becomes the least recently seen. */
    for (int i = 0; i < 300; i++) {
        if (i == 100 || i == 250)
            assert_int_equal(s_ask_key(fx, req, a), 400);
        randombytes_buf(key, sizeof key);
        assert_int_equal(s_ask_key(fx, req, key), 400);
        size_t want = (size_t)i + 3 < GR_ZAP_TRACK_MAX ? (size_t)i + 3 : GR_ZAP_TRACK_MAX;
        assert_int_equal(gr_zap_tracked(fx->zap), want);
    }
    assert_int_equal(gr_zap_refused(fx->zap), 306);
    /* Distinct keys are limited overall too: a flood is not a log storm. */
    assert_int_equal(fx->n_lines, GR_ZAP_LOG_BURST);

    gr_zap_set_log_interval_ms(fx->zap, 200);
    assert_false(s_serve(fx, (s_until_t){ 0 }, 250));
    assert_int_equal(s_ask_key(fx, req, a), 400);
    assert_int_equal(fx->n_lines, GR_ZAP_LOG_BURST + 2);
    char want[160];
    snprintf(want, sizeof want,
             "suppressed %d reports of refused connections (more than %d per 200 ms)",
             302 - GR_ZAP_LOG_BURST, GR_ZAP_LOG_BURST);
    assert_string_equal(fx->lines[GR_ZAP_LOG_BURST], want);
    /* a kept its slot, and its count of unreported attempts. */
    assert_non_null(strstr(fx->lines[GR_ZAP_LOG_BURST + 1], "(3 more attempts since last report)"));
    /* b was forgotten: it is reported as new. */
    assert_int_equal(s_ask_key(fx, req, b), 400);
    assert_int_equal(fx->n_lines, GR_ZAP_LOG_BURST + 3);
    assert_null(strstr(fx->lines[GR_ZAP_LOG_BURST + 2], "since last report"));
    assert_int_equal(gr_zap_tracked(fx->zap), GR_ZAP_TRACK_MAX);
}

static void test_zap_verdicts(void **state)
{
    fixture_t *fx = *state;
    void *req = s_zap_req(fx);
    uint8_t alice_curve[32];
    assert_int_equal(gr_curve_derive(alice_curve, NULL, &fx->alice), 0);
    char user[GR_PUBLIC_KEY_HEX], alice_hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(alice_hex, fx->alice.pk);

    s_request_t r = s_curve_request(alice_curve);
    assert_int_equal(s_ask(fx, req, &r, user), 200);
    assert_string_equal(user, alice_hex);
    assert_int_equal(gr_zap_admitted(fx->zap), 1);

    /* Right key, but another mechanism or domain. */
    s_request_t null_mech = { { "1.0", "8", GR_ZAP_DOMAIN, "10.0.0.9", "", "NULL" }, { 0 }, 6 };
    assert_int_equal(s_ask(fx, req, &null_mech, user), 400);
    assert_string_equal(user, "");
    s_request_t plain = {
        { "1.0", "9", GR_ZAP_DOMAIN, "10.0.0.9", "", "PLAIN", "alice", "secret" }, { 0 }, 8
    };
    assert_int_equal(s_ask(fx, req, &plain, NULL), 400);
    r.frames[2] = "elsewhere";
    assert_int_equal(s_ask(fx, req, &r, NULL), 400);

    /* Malformed requests. */
    r = s_curve_request(alice_curve);
    r.frames[0] = "2.0";
    assert_int_equal(s_ask(fx, req, &r, NULL), 500);
    r = s_curve_request(alice_curve);
    r.lens[6] = 31;
    assert_int_equal(s_ask(fx, req, &r, NULL), 500);
    r = s_curve_request(alice_curve);
    r.frames[7] = r.frames[8] = r.frames[9] = "extra";
    r.n = 10;  /* more frames than the handler keeps */
    assert_int_equal(s_ask(fx, req, &r, NULL), 500);
    s_request_t short_req = { { "1.0", "10", GR_ZAP_DOMAIN }, { 0 }, 3 };
    assert_int_equal(s_ask(fx, req, &short_req, NULL), 500);
    s_request_t one = { { "1.0" }, { 0 }, 1 };
    assert_int_equal(s_ask(fx, req, &one, NULL), 500);

    assert_int_equal(gr_zap_admitted(fx->zap), 1);
    assert_int_equal(gr_zap_refused(fx->zap), 8);
    /* Keyless refusals are tracked by kind, not in the key table; each
     * kind is reported once in the interval. */
    assert_int_equal(gr_zap_tracked(fx->zap), 0);
    assert_int_equal(fx->n_lines, 3);
    assert_string_equal(fx->lines[0], "refused NULL connection from 10.0.0.9: only CURVE is admitted");
    assert_string_equal(fx->lines[1],
                        "refused CURVE connection from 10.0.0.9 to ZAP domain 'elsewhere'");
    assert_string_equal(fx->lines[2], "refused a malformed ZAP request (7 frames)");
}

static void test_zap_lifecycle_and_reload(void **state)
{
    fixture_t *fx = *state;
    /* One handler per context: the endpoint is taken. */
    assert_null(gr_zap_new(fx->ctx, fx->trust));
    assert_int_equal(zmq_errno(), EADDRINUSE);
    assert_null(gr_zap_new(NULL, fx->trust));
    assert_null(gr_zap_new(fx->ctx, NULL));
    gr_zap_t *none = NULL;
    gr_zap_destroy(&none);
    gr_zap_destroy(NULL);
    assert_null(gr_zap_socket(NULL));
    assert_int_equal(gr_zap_handle(NULL), GR_EINVAL);
    assert_int_equal(gr_zap_reload(NULL, fx->trust), GR_EINVAL);
    assert_int_equal(gr_zap_reload(fx->zap, NULL), GR_EINVAL);
    assert_int_equal(gr_zap_handle(fx->zap), -EAGAIN);
    assert_int_equal(gr_zap_admitted(NULL), 0);
    assert_int_equal(gr_zap_refused(NULL), 0);
    assert_int_equal(gr_zap_tracked(NULL), 0);
    gr_zap_set_logger(NULL, s_log, fx);
    gr_zap_set_log_interval_ms(NULL, 1);
    assert_null(gr_trust_at(fx->trust, 2));
    assert_null(gr_trust_at(NULL, 0));
    /* In key order: alice is one of the two. */
    assert_true(memcmp(gr_trust_at(fx->trust, 0)->pk, fx->alice.pk, 32) == 0 ||
                memcmp(gr_trust_at(fx->trust, 1)->pk, fx->alice.pk, 32) == 0);

    void *req = s_zap_req(fx);
    uint8_t alice_curve[32], mallory_curve[32];
    assert_int_equal(gr_curve_derive(alice_curve, NULL, &fx->alice), 0);
    assert_int_equal(gr_curve_derive(mallory_curve, NULL, &fx->mallory), 0);
    assert_int_equal(s_ask_key(fx, req, mallory_curve), 400);

    /* The operator trusts mallory after all; a key that is no point on the
     * curve is skipped, not fatal. */
    gr_trust_t *trust = gr_trust_new();
    assert_non_null(trust);
    uint8_t junk[32];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(gr_trust_add(trust, junk, "junk", GR_ROLE_NODE), 0);
    assert_int_equal(gr_trust_add(trust, fx->mallory.pk, "mallory", GR_ROLE_DEPARTMENT), 0);
    assert_int_equal(gr_zap_reload(fx->zap, trust), 0);
    gr_trust_destroy(&trust);  /* the handler kept its own copy */
    char user[GR_PUBLIC_KEY_HEX], mallory_hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(mallory_hex, fx->mallory.pk);
    s_request_t r = s_curve_request(mallory_curve);
    assert_int_equal(s_ask(fx, req, &r, user), 200);
    assert_string_equal(user, mallory_hex);
    assert_int_equal(s_ask_key(fx, req, alice_curve), 400);

    /* An empty list admits no one. */
    trust = gr_trust_new();
    assert_non_null(trust);
    assert_int_equal(gr_zap_reload(fx->zap, trust), 0);
    gr_trust_destroy(&trust);
    assert_int_equal(s_ask_key(fx, req, mallory_curve), 400);
    assert_int_equal(gr_zap_admitted(fx->zap), 1);
    assert_int_equal(gr_zap_refused(fx->zap), 3);
}

int main(void)
{
    if (!zmq_has("curve")) {
        fprintf(stderr, "skipped: this libzmq was built without CURVE support\n");
        return 77;
    }
    if (gr_keys_init() != 0) {
        fprintf(stderr, "libsodium failed to initialise\n");
        return 1;
    }
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_derived_keys),
        T(test_trusted_client_round_trip),
        T(test_untrusted_client_is_refused),
        T(test_departments_socket_admits_departments_only),
        T(test_box_for_one_reader),
        T(test_wrong_server_key_never_connects),
        T(test_client_without_curve_is_refused),
        T(test_refusal_reports_are_rate_limited),
        T(test_refused_key_table_is_bounded),
        T(test_zap_verdicts),
        T(test_zap_lifecycle_and_reload),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
