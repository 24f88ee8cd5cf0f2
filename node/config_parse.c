/* The config's parsing primitives: numbers, durations, distances, ids,
 * endpoints, paths, public keys, and the unknown/duplicate-key lookup of a
 * section's keys. Contracts in config_internal.h. */
#include "config_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wire.h"

/* Every validation error is a config error; this keeps the callers short. */
int gr_cfg_fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return GR_ECONFIG;
}

int gr_cfg_oom(char *msg, size_t msglen)
{
    snprintf(msg, msglen, "out of memory");
    return GR_ENOMEM;
}

/* Parses a plain decimal number: strtoull alone would accept signs, spaces
 * and "-1" as a huge value. */
bool gr_cfg_parse_u64(const char *text, uint64_t *out)
{
    if (!*text)
        return false;
    uint64_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int gr_cfg_number(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out,
                  char *msg, size_t msglen)
{
    if (!gr_cfg_parse_u64(value, out))
        return gr_cfg_fail(msg, msglen, "%s = %s: not a number (expected decimal digits)", key,
                           value);
    if (*out < min || *out > max)
        return gr_cfg_fail(msg, msglen, "%s = %s: must be between %llu and %llu", key, value,
                           (unsigned long long)min, (unsigned long long)max);
    return 0;
}

/* The whole number value starts with and the unit after it (spaces
 * skipped): "30min" is 30 and "min". False when there is no number or it
 * does not fit. */
static bool s_number_and_unit(const char *value, uint64_t *count, const char **unit)
{
    size_t n = strspn(value, "0123456789");
    *unit = value + n;
    while (**unit == ' ')
        (*unit)++;
    *count = 0;
    char digits[24];
    if (n == 0 || n >= sizeof digits)
        return false;
    memcpy(digits, value, n);
    digits[n] = '\0';
    return gr_cfg_parse_u64(digits, count);
}

/* A duration with its unit ("90s", "30min", "2h", "7d", "500ms"), or "0"
 * for no deadline: a bare number would leave the unit to guesswork. */
int gr_cfg_duration(const char *key, const char *value, uint64_t *ms, char *msg, size_t msglen)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 },
                  { "d", 86400000 } };
    uint64_t count;
    const char *unit;
    bool ok = s_number_and_unit(value, &count, &unit);
    if (ok && count == 0 && *unit == '\0') {
        *ms = 0;
        return 0;
    }
    for (size_t i = 0; ok && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            if (count > UINT64_MAX / units[i].ms)
                break;
            *ms = count * units[i].ms;
            return 0;
        }
    }
    return gr_cfg_fail(msg, msglen,
                       "%s = %s: not a duration (a number with a unit: ms, s, min, h "
                       "or d, e.g. 30min; 0 for none)",
                       key, value);
}

int gr_cfg_path(gr_cfg_load_t *load, const char *key, const char *value, char **out, char *msg,
                size_t msglen)
{
    if (*value == '\0')
        return gr_cfg_fail(msg, msglen, "%s: must not be empty", key);
    int n = value[0] == '/' ? asprintf(out, "%s", value)
                            : asprintf(out, "%s/%s", load->dir, value);
    if (n < 0) {
        *out = NULL;
        return gr_cfg_oom(msg, msglen);
    }
    return 0;
}

/* Node ids name outboxes and appear in logs: keep them plain. The wire's
 * character set (broker/wire.h); 63 bytes rather than the wire's 64, as the
 * config holds each id in 64 bytes with its NUL. */
int gr_cfg_check_id(const char *key, const char *value, char *msg, size_t msglen)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= 63;
    for (const char *c = value; ok && *c; c++)
        ok = gr_id_char(*c);
    if (!ok)
        return gr_cfg_fail(msg, msglen, "%s = %s: must be 1-63 characters from A-Z a-z 0-9 . _ -",
                           key, value);
    return 0;
}

/* A reporter's name is the actor of the timeline entries it makes, which
 * travel to other nodes, and appears in log lines: an id's characters, plus
 * any non-ASCII character so that a worker may be listed as 张三 (the INI
 * reader has already refused bytes that are not UTF-8). No spaces or
 * punctuation, which would make log lines ambiguous. */
int gr_cfg_check_reporter_name(const char *value, char *msg, size_t msglen)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= 63;
    for (const char *c = value; ok && *c; c++)
        ok = gr_id_char(*c) || (unsigned char)*c >= 0x80;
    if (!ok)
        return gr_cfg_fail(msg, msglen, "reporter name = %s: must be 1-63 bytes of A-Z a-z 0-9 "
                           ". _ - or non-ASCII characters such as 张三 (no spaces or other "
                           "punctuation)", value);
    return 0;
}

/* Catches what an operator gets wrong; ZeroMQ judges the rest. A bound
 * endpoint may ask for any free port (*), one to connect to may not. */
static int s_check_endpoint(const char *key, const char *value, bool bind, char *msg,
                            size_t msglen)
{
    static const char *const schemes[] = { "tcp://", "ipc://", "inproc://" };
    const char *rest = NULL;
    size_t s = 0;
    for (; s < sizeof schemes / sizeof schemes[0]; s++) {
        size_t len = strlen(schemes[s]);
        if (strncmp(value, schemes[s], len) == 0) {
            rest = value + len;
            break;
        }
    }
    if (!rest)
        return gr_cfg_fail(msg, msglen, "%s = %s: must start with tcp://, ipc:// or inproc://", key,
                           value);
    if (*rest == '\0' || strpbrk(rest, " \t"))
        return gr_cfg_fail(msg, msglen, "%s = %s: missing or malformed address after %s", key,
                           value, schemes[s]);
    if (s != 0)
        return 0;
    const char *colon = strrchr(rest, ':');
    uint64_t port = 0;
    if (!colon || colon == rest)
        return gr_cfg_fail(msg, msglen, "%s = %s: expected tcp://HOST:PORT", key, value);
    if (bind && strcmp(colon + 1, "*") == 0)
        return 0;
    if (!gr_cfg_parse_u64(colon + 1, &port) || port < 1 || port > 65535)
        return gr_cfg_fail(msg, msglen, "%s = %s: port must be 1-65535%s", key, value,
                           bind ? ", or * for any free one" : "");
    return 0;
}

int gr_cfg_endpoint(const char *key, const char *value, bool bind, char **out, char *msg,
                    size_t msglen)
{
    int rc = s_check_endpoint(key, value, bind, msg, msglen);
    if (rc == 0 && !(*out = strdup(value)))
        rc = gr_cfg_oom(msg, msglen);
    return rc;
}

/* A public key as 64 hex digits or "@FILE". */
int gr_cfg_public_key(gr_cfg_load_t *load, const char *key, const char *value,
                      uint8_t pk[GR_PUBLIC_KEY_BYTES], char *msg, size_t msglen)
{
    if (value[0] != '@') {
        if (gr_key_from_hex(pk, value) != 0) {
            snprintf(msg, msglen, "%s = %s: not a public key (expected 64 hex digits, or "
                     "@FILE)", key, value);
            return GR_EKEY;
        }
    } else {
        char *path = NULL;
        int rc = gr_cfg_path(load, key, value + 1, &path, msg, msglen);
        if (rc != 0)
            return rc;
        char kerr[384] = "";
        rc = gr_key_load_public(pk, path, kerr, sizeof kerr);
        free(path);
        if (rc != 0) {
            snprintf(msg, msglen, "%s = %s: %s", key, value, kerr);
            return GR_EKEY;
        }
    }
    /* 64 hex digits are not yet a key: the daemon derives every trusted
     * key's Curve25519 form for CURVE, and would start without the one it
     * cannot convert (or verify no signature by it). */
    if (gr_key_check_public(pk) != 0) {
        snprintf(msg, msglen, "%s = %s: not a usable Ed25519 public key (libsodium cannot "
                 "convert it to Curve25519: all zeros, a small-order point or no point at "
                 "all); paste the key gridctl keygen printed", key, value);
        return GR_EKEY;
    }
    return 0;
}

/* The index of key among a section's n keys, its line remembered in
 * lines[]; -1 with the error in msg when the section has no such key
 * (naming the ones it has) or it was given before. */
int gr_cfg_section_key(const char *section, const char *const *keys, int n, int *lines,
                       const char *key, int line, char *msg, size_t msglen)
{
    int k = 0;
    while (k < n && strcmp(keys[k], key) != 0)
        k++;
    if (k == n) {
        char expected[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof expected; i++)
            len += (size_t)snprintf(expected + len, sizeof expected - len, "%s%s",
                                    i == 0 ? "" : i == n - 1 ? " or " : ", ", keys[i]);
        gr_cfg_fail(msg, msglen, "unknown key '%s' in [%s] (expected %s)", key, section, expected);
        return -1;
    }
    if (lines[k] != 0) {
        gr_cfg_fail(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key, section,
                    lines[k]);
        return -1;
    }
    lines[k] = line;
    return k;
}

#define S_MAX_MERGE_DISTANCE_M 100000.0

/* A distance with its unit ("300m", "1km"), whole numbers only: a bare
 * number would leave the unit to guesswork. */
int gr_cfg_distance(const char *key, const char *value, double *metres, char *msg, size_t msglen)
{
    uint64_t count;
    const char *unit;
    bool ok = s_number_and_unit(value, &count, &unit);
    double m = strcmp(unit, "m") == 0    ? (double)count
               : strcmp(unit, "km") == 0 ? count * 1000.0
                                         : -1;
    if (!ok || m < 0)
        return gr_cfg_fail(msg, msglen, "%s = %s: not a distance (a whole number with a unit: "
                           "m or km, e.g. 300m)", key, value);
    if (m > S_MAX_MERGE_DISTANCE_M)
        return gr_cfg_fail(msg, msglen, "%s = %s: at most 100km (one incident, one place)", key,
                           value);
    *metres = m;
    return 0;
}

/* A key file path therefore cannot hold a comma; hex keys and ordinary
 * paths never do. */
int gr_cfg_split_key(const char *name, const char *value, char *key, size_t keylen,
                     const char **rest, char *msg, size_t msglen)
{
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len >= keylen)
        return gr_cfg_fail(msg, msglen,
                           "%s = %s: key too long (64 hex digits, or @FILE of at "
                           "most %zu bytes)",
                           name, value, keylen - 2);
    memcpy(key, value, len);
    key[len] = '\0';
    *rest = comma ? comma + 1 + strspn(comma + 1, " \t") : NULL;
    return 0;
}
