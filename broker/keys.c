#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int gr_keys_init(void)
{
    /* sodium_init() returns 1 when already initialised: that is success. */
    return sodium_init() < 0 ? GR_EINVAL : 0;
}

int gr_keys_generate(gr_keypair_t *kp)
{
    if (!kp)
        return GR_EINVAL;
    if (crypto_sign_keypair(kp->pk, kp->sk) != 0)
        return GR_EINVAL;
    return 0;
}

void gr_key_to_hex(char out[GR_PUBLIC_KEY_HEX], const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    sodium_bin2hex(out, GR_PUBLIC_KEY_HEX, pk, GR_PUBLIC_KEY_BYTES);
}

/* Parses exactly `want` bytes of hex from text, allowing surrounding
 * whitespace (a trailing newline in a key file is normal). */
static int s_parse_hex(uint8_t *out, size_t want, const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
                       text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len != want * 2)
        return GR_EKEY;
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out, want, text, len, NULL, &got, &end) != 0 || got != want)
        return GR_EKEY;
    return 0;
}

int gr_key_from_hex(uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *hex)
{
    if (!pk || !hex)
        return GR_EINVAL;
    return s_parse_hex(pk, GR_PUBLIC_KEY_BYTES, hex);
}

/* Creates path exclusively with mode and writes text to it; on any failure
 * the file is removed so no half-written key remains. */
static int s_write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s%s", path, strerror(e),
                 e == EEXIST ? " (refusing to overwrite an existing key)" : "");
        return e == EEXIST ? GR_EEXIST : GR_EIO;
    }
    size_t len = strlen(text);
    errno = EIO;  /* a short write sets none */
    ssize_t wrote = write(fd, text, len);
    int rc = (wrote == (ssize_t)len && fsync(fd) == 0) ? 0 : GR_EIO;
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = GR_EIO;
        saved = errno;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(saved));
        unlink(path);
    }
    return rc;
}

int gr_keys_save(const gr_keypair_t *kp, const char *secret_path, const char *public_path,
                 char *err, size_t errlen)
{
    if (!kp || !secret_path || !public_path)
        return GR_EINVAL;
    /* Check both first so that a refusal leaves nothing behind. */
    const char *paths[2] = { secret_path, public_path };
    for (int i = 0; i < 2; i++) {
        if (access(paths[i], F_OK) == 0) {
            snprintf(err, errlen, "%s: already exists (refusing to overwrite an existing key)",
                     paths[i]);
            return GR_EEXIST;
        }
    }
    char sk_hex[GR_SECRET_KEY_BYTES * 2 + 2];
    sodium_bin2hex(sk_hex, sizeof sk_hex - 1, kp->sk, GR_SECRET_KEY_BYTES);
    strcat(sk_hex, "\n");
    char pk_hex[GR_PUBLIC_KEY_HEX + 1];
    gr_key_to_hex(pk_hex, kp->pk);
    strcat(pk_hex, "\n");

    int rc = s_write_new(secret_path, 0600, sk_hex, err, errlen);
    sodium_memzero(sk_hex, sizeof sk_hex);
    if (rc != 0)
        return rc;
    rc = s_write_new(public_path, 0644, pk_hex, err, errlen);
    /* A public key is meant to be read: do not let a strict umask hide it. */
    if (rc == 0)
        chmod(public_path, 0644);
    if (rc != 0)
        unlink(secret_path);
    return rc;
}

/* What kind of file st is, for a message refusing anything but a regular
 * file. */
static const char *s_file_kind(const struct stat *st)
{
    return S_ISDIR(st->st_mode)    ? "a directory"
           : S_ISFIFO(st->st_mode) ? "a FIFO"
           : S_ISSOCK(st->st_mode) ? "a socket"
           : S_ISCHR(st->st_mode)  ? "a character device"
           : S_ISBLK(st->st_mode)  ? "a block device"
                                   : "not a regular file";
}

/* Reads at most cap-1 bytes of a small text file. O_NONBLOCK because a
 * plain open() of a FIFO waits for a writer: a key path that names one
 * would hang the daemon (or --check-config) before fstat() could refuse
 * it. Only regular files get past fstat(), and for those O_NONBLOCK
 * changes nothing. */
static int s_read_small(const char *path, char *buf, size_t cap, struct stat *st,
                        char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return GR_EKEY;
    }
    if (fstat(fd, st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return GR_EKEY;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (%s)", path, s_file_kind(st));
        close(fd);
        return GR_EKEY;
    }
    ssize_t n = read(fd, buf, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return GR_EKEY;
    }
    buf[n] = '\0';
    return 0;
}

int gr_keys_load_secret(gr_keypair_t *kp, const char *path, char *err, size_t errlen)
{
    if (!kp || !path)
        return GR_EINVAL;
    char buf[512];
    struct stat st;
    int rc = s_read_small(path, buf, sizeof buf, &st, err, errlen);
    if (rc != 0)
        return rc;
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        sodium_memzero(buf, sizeof buf);
        snprintf(err, errlen,
                 "%s: secret key is accessible by group or others (mode %03o); "
                 "run: chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
        return GR_EKEY;
    }
    rc = s_parse_hex(kp->sk, GR_SECRET_KEY_BYTES, buf);
    sodium_memzero(buf, sizeof buf);
    if (rc != 0) {
        sodium_memzero(kp, sizeof *kp);
        snprintf(err, errlen, "%s: not a secret key (expected one line of 128 hex digits)", path);
        return GR_EKEY;
    }
    /* The public half is stored inside the secret key; rederive it from the
     * seed so a damaged file cannot pair a seed with a foreign public key. */
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t sk_check[GR_SECRET_KEY_BYTES];
    crypto_sign_ed25519_sk_to_seed(seed, kp->sk);
    rc = crypto_sign_seed_keypair(kp->pk, sk_check, seed);
    int same = rc == 0 && sodium_memcmp(sk_check, kp->sk, GR_SECRET_KEY_BYTES) == 0;
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk_check, sizeof sk_check);
    if (!same) {
        sodium_memzero(kp, sizeof *kp);
        snprintf(err, errlen, "%s: secret key is damaged (public half does not match)", path);
        return GR_EKEY;
    }
    return 0;
}

int gr_key_load_public(uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *path, char *err,
                       size_t errlen)
{
    if (!pk || !path)
        return GR_EINVAL;
    char buf[256];
    struct stat st;
    int rc = s_read_small(path, buf, sizeof buf, &st, err, errlen);
    if (rc != 0)
        return rc;
    if (s_parse_hex(pk, GR_PUBLIC_KEY_BYTES, buf) != 0) {
        snprintf(err, errlen, "%s: not a public key (expected one line of 64 hex digits)", path);
        return GR_EKEY;
    }
    return 0;
}

int gr_key_check_public(const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!pk)
        return GR_EINVAL;
    /* The conversion CURVE needs (broker/curve.c) is also the strictest
     * check libsodium offers: it refuses points of small order (all zeros
     * among them), encodings that are not a point, and points outside the
     * main subgroup. A key it refuses could never sign a message the node
     * verifies, nor open a CURVE connection. */
    uint8_t curve[crypto_scalarmult_curve25519_BYTES];
    return crypto_sign_ed25519_pk_to_curve25519(curve, pk) == 0 ? 0 : GR_EKEY;
}
