/* The node's data key ring; the contract is in datakey.h. */
#include "datakey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

#define S_MAGIC0 0x00
#define S_MAGIC1 0xD1
#define S_FILE_MAX (GR_DATAKEY_MAX * 96 + 4096)
#define S_PATH_MAX 1024

struct gr_datakey {
    size_t n;
    size_t current;                 /* index of the highest id */
    uint32_t id[GR_DATAKEY_MAX];
    uint8_t key[GR_DATAKEY_MAX][GR_DATAKEY_BYTES];
    char path[S_PATH_MAX];
};

static void s_seterr(char *err, size_t errlen, const char *fmt, const char *path,
                     const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, path, what);
}

/* Reads the whole file (at most S_FILE_MAX - 1 bytes). O_NONBLOCK so that a
 * FIFO named by mistake is refused at once, not waited on. */
static int s_read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        s_seterr(err, errlen, e == ENOENT ? "%s: %s (create it with: gridctl datakey new FILE)"
                                          : "%s: %s", path, strerror(e));
        return GR_EKEY;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        s_seterr(err, errlen, "%s: %s", path, "data key file is not a regular file");
        return GR_EKEY;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        char what[96];
        snprintf(what, sizeof what, "data key file is accessible by group or others "
                 "(mode %03o); run: chmod 600 FILE", (unsigned)(st.st_mode & 0777));
        s_seterr(err, errlen, "%s: %s", path, what);
        return GR_EKEY;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            s_seterr(err, errlen, "%s: %s", path, strerror(e));
            return GR_EKEY;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap - 1) {
            close(fd);
            s_seterr(err, errlen, "%s: %s", path, "data key file too large");
            return GR_EKEY;
        }
    }
    close(fd);
    buf[got] = '\0';
    return 0;
}

/* Parses the text of a key file into self (path already set). */
static int s_parse(gr_datakey_t *self, char *text, char *err, size_t errlen)
{
    int line = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t len = strlen(l);
        while (len && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
            l[--len] = '\0';
        while (*l == ' ' || *l == '\t')
            l++;
        if (!*l || *l == '#')
            continue;
        char what[128];
        char *end = NULL;
        errno = 0;
        unsigned long long id = strtoull(l, &end, 10);
        if (errno || end == l || id == 0 || id > UINT32_MAX || (*end != ' ' && *end != '\t')) {
            snprintf(what, sizeof what, "line %d: expected \"ID HEX\" (ID 1..4294967295)", line);
            s_seterr(err, errlen, "%s: %s", self->path, what);
            return GR_EKEY;
        }
        while (*end == ' ' || *end == '\t')
            end++;
        if (self->n == GR_DATAKEY_MAX) {
            snprintf(what, sizeof what, "line %d: more than %d keys", line, GR_DATAKEY_MAX);
            s_seterr(err, errlen, "%s: %s", self->path, what);
            return GR_EKEY;
        }
        size_t binlen = 0;
        const char *hexend = NULL;
        if (strlen(end) != GR_DATAKEY_BYTES * 2
            || sodium_hex2bin(self->key[self->n], GR_DATAKEY_BYTES, end, strlen(end), NULL,
                              &binlen, &hexend) != 0 || binlen != GR_DATAKEY_BYTES) {
            snprintf(what, sizeof what, "line %d: key %llu: expected 64 hex digits", line, id);
            s_seterr(err, errlen, "%s: %s", self->path, what);
            return GR_EKEY;
        }
        for (size_t i = 0; i < self->n; i++) {
            if (self->id[i] == id) {
                snprintf(what, sizeof what, "line %d: key %llu given twice", line, id);
                s_seterr(err, errlen, "%s: %s", self->path, what);
                return GR_EKEY;
            }
        }
        self->id[self->n] = (uint32_t)id;
        if (self->n == 0 || id > self->id[self->current])
            self->current = self->n;
        self->n++;
    }
    if (self->n == 0) {
        s_seterr(err, errlen, "%s: %s", self->path, "no key in the data key file");
        return GR_EKEY;
    }
    return 0;
}

int gr_datakey_load(gr_datakey_t **out, const char *path, char *err, size_t errlen)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    if (!path || strlen(path) >= S_PATH_MAX || sodium_init() < 0)
        return GR_EINVAL;
    gr_datakey_t *self = sodium_malloc(sizeof *self);
    char *text = sodium_malloc(S_FILE_MAX);
    if (!self || !text) {
        sodium_free(self);
        sodium_free(text);
        return GR_ENOMEM;
    }
    memset(self, 0, sizeof *self);
    snprintf(self->path, sizeof self->path, "%s", path);
    int rc = s_read_file(path, text, S_FILE_MAX, err, errlen);
    if (rc == 0)
        rc = s_parse(self, text, err, errlen);
    sodium_free(text);      /* wipes it */
    if (rc != 0) {
        gr_datakey_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void gr_datakey_destroy(gr_datakey_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_free(*self_p);
    *self_p = NULL;
}

/* Writes the ring's keys to path: a temporary file beside it (0600,
 * O_EXCL), fsync, rename. */
static int s_write(const gr_datakey_t *self, const char *path, bool exclusive, char *err,
                   size_t errlen)
{
    char tmp[S_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const char *target = exclusive ? path : tmp;
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        s_seterr(err, errlen, e == EEXIST ? "%s: %s (refusing to overwrite it)" : "%s: %s",
                 target, strerror(e));
        return e == EEXIST ? GR_EEXIST : GR_EIO;
    }
    int rc = 0;
    static const char head[] = "# gridrelay data key file: \"ID HEX\" a line; the highest ID "
                               "seals new data, the others open older data. Keep it 0600.\n";
    if (write(fd, head, sizeof head - 1) != (ssize_t)(sizeof head - 1))
        rc = GR_EIO;
    for (size_t i = 0; rc == 0 && i < self->n; i++) {
        char line[32 + GR_DATAKEY_BYTES * 2];
        int n = snprintf(line, sizeof line, "%u ", (unsigned)self->id[i]);
        sodium_bin2hex(line + n, sizeof line - (size_t)n - 1, self->key[i], GR_DATAKEY_BYTES);
        strcat(line, "\n");
        size_t len = strlen(line);
        if (write(fd, line, len) != (ssize_t)len)
            rc = GR_EIO;
        sodium_memzero(line, sizeof line);
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = GR_EIO;
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = GR_EIO;
        e = errno;
    }
    if (rc == 0 && !exclusive && rename(tmp, path) != 0) {
        rc = GR_EIO;
        e = errno;
    }
    if (rc != 0) {
        s_seterr(err, errlen, "%s: write failed: %s", target, strerror(e));
        unlink(target);
    }
    return rc;
}

int gr_datakey_create_file(const char *path, char *err, size_t errlen)
{
    if (!path || strlen(path) >= S_PATH_MAX || sodium_init() < 0)
        return GR_EINVAL;
    gr_datakey_t *self = sodium_malloc(sizeof *self);
    if (!self)
        return GR_ENOMEM;
    memset(self, 0, sizeof *self);
    self->n = 1;
    self->id[0] = 1;
    crypto_aead_xchacha20poly1305_ietf_keygen(self->key[0]);
    int rc = s_write(self, path, true, err, errlen);
    gr_datakey_destroy(&self);
    return rc;
}

int gr_datakey_rotate_file(const char *path, uint32_t *new_id, char *err, size_t errlen)
{
    gr_datakey_t *self = NULL;
    int rc = gr_datakey_load(&self, path, err, errlen);
    if (rc != 0)
        return rc;
    uint32_t top = self->id[self->current];
    if (self->n == GR_DATAKEY_MAX || top == UINT32_MAX) {
        s_seterr(err, errlen, "%s: %s", path, "the file is full: rekey the store and drop old "
                 "keys first");
        gr_datakey_destroy(&self);
        return GR_EFULL;
    }
    self->id[self->n] = top + 1;
    crypto_aead_xchacha20poly1305_ietf_keygen(self->key[self->n]);
    self->current = self->n++;
    rc = s_write(self, path, false, err, errlen);
    if (rc == 0 && new_id)
        *new_id = top + 1;
    gr_datakey_destroy(&self);
    return rc;
}

int gr_datakey_drop_file(const char *path, uint32_t id, char *err, size_t errlen)
{
    gr_datakey_t *self = NULL;
    int rc = gr_datakey_load(&self, path, err, errlen);
    if (rc != 0)
        return rc;
    size_t at = self->n;
    for (size_t i = 0; i < self->n; i++)
        if (self->id[i] == id)
            at = i;
    if (at == self->n || at == self->current) {
        s_seterr(err, errlen, "%s: %s", path, at == self->n ? "no key with that ID"
                                                            : "that is the current key");
        gr_datakey_destroy(&self);
        return at == self->n ? GR_ENOTFOUND : GR_EINVAL;
    }
    for (size_t i = at; i + 1 < self->n; i++) {
        self->id[i] = self->id[i + 1];
        memcpy(self->key[i], self->key[i + 1], GR_DATAKEY_BYTES);
    }
    self->n--;
    if (self->current > at)
        self->current--;
    rc = s_write(self, path, false, err, errlen);
    gr_datakey_destroy(&self);
    return rc;
}

uint32_t gr_datakey_current(const gr_datakey_t *self)
{
    return self ? self->id[self->current] : 0;
}

size_t gr_datakey_count(const gr_datakey_t *self)
{
    return self ? self->n : 0;
}

uint32_t gr_datakey_id_at(const gr_datakey_t *self, size_t i)
{
    return self && i < self->n ? self->id[i] : 0;
}

bool gr_datakey_has(const gr_datakey_t *self, uint32_t id)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (self->id[i] == id)
            return true;
    return false;
}

const char *gr_datakey_path(const gr_datakey_t *self)
{
    return self ? self->path : "";
}

bool gr_datakey_is_sealed(const uint8_t *v, size_t len, uint32_t *id)
{
    if (!v || len < GR_DATAKEY_OVERHEAD || v[0] != S_MAGIC0 || v[1] != S_MAGIC1)
        return false;
    if (id)
        *id = gr_get_u32(v + 2);
    return true;
}

int gr_datakey_seal(const gr_datakey_t *self, uint8_t *out, const uint8_t *plain, size_t len,
                    const uint8_t *ad, size_t adlen)
{
    if (!self || !out || (!plain && len))
        return GR_EINVAL;
    uint8_t *ct = out + GR_DATAKEY_HEADER;
    /* In place (plain == ct) or apart: the stream cipher reads each byte
     * before it writes it, so only a partial overlap would be wrong. */
    if (plain != ct && len)
        memmove(ct, plain, len);
    out[0] = S_MAGIC0;
    out[1] = S_MAGIC1;
    gr_put_u32(out + 2, self->id[self->current]);
    uint8_t *nonce = out + 6;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long maclen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct, ct + len, &maclen, ct, len, ad,
                                                            adlen, NULL, nonce,
                                                            self->key[self->current]) != 0)
        return GR_EINVAL;
    return 0;
}

int gr_datakey_open(const gr_datakey_t *self, uint8_t *out, const uint8_t *sealed, size_t len,
                    const uint8_t *ad, size_t adlen)
{
    uint32_t id = 0;
    if (!self || !out || !gr_datakey_is_sealed(sealed, len, &id))
        return GR_EDECODE;
    size_t at = self->n;
    for (size_t i = 0; i < self->n; i++)
        if (self->id[i] == id)
            at = i;
    if (at == self->n)
        return GR_EKEY;
    size_t n = len - GR_DATAKEY_OVERHEAD;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
            out, NULL, sealed + GR_DATAKEY_HEADER, n, sealed + GR_DATAKEY_HEADER + n, ad,
            adlen, sealed + 6, self->key[at]) != 0)
        return GR_ESIGNATURE;
    return 0;
}
