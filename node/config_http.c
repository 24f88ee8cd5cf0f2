#include "config_http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "access.h"
#include "error.h"
#include "wire.h"

static const char *const s_keys[GR_HTTP_KEY_COUNT] = {
    "listen", "cert", "key", "session_ttl", "max_body", "threads",
};
static const char *const s_section_names[3] = { "http", "http_users", "open311_clients" };

#define S_DEFAULT_TTL_MS (8ull * 3600 * 1000)
#define S_MIN_TTL_MS (60ull * 1000)
#define S_MAX_TTL_MS (7ull * 86400 * 1000)
#define S_DEFAULT_MAX_BODY 65536
#define S_MIN_MAX_BODY 1024
#define S_MAX_MAX_BODY (1024 * 1024)
#define S_DEFAULT_THREADS 2
#define S_MAX_THREADS 16

void gr_http_config_init(gr_http_config_t *hc)
{
    memset(hc, 0, sizeof *hc);
    snprintf(hc->host, sizeof hc->host, "127.0.0.1");
    hc->session_ttl_ms = S_DEFAULT_TTL_MS;
    hc->max_body = S_DEFAULT_MAX_BODY;
    hc->threads = S_DEFAULT_THREADS;
}

void gr_http_config_clear(gr_http_config_t *hc)
{
    free(hc->cert_path);
    free(hc->key_path);
    if (hc->users)
        sodium_memzero(hc->users, hc->n_users * sizeof *hc->users);
    free(hc->users);
    if (hc->clients)
        sodium_memzero(hc->clients, hc->n_clients * sizeof *hc->clients);
    free(hc->clients);
    memset(hc, 0, sizeof *hc);
}

static int s_fail(char *msg, size_t msglen, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, msglen, fmt, a, b);
    return GR_ECONFIG;
}

/* "127.0.0.1:8080", port 0 or "*" for a free one. Only IPv4 literals: a
 * host name would be resolved once at start-up, and which address the
 * face is on should be plain in the file. */
static int s_listen(gr_http_config_t *hc, const char *value, char *msg, size_t msglen)
{
    const char *colon = strrchr(value, ':');
    size_t hlen = colon ? (size_t)(colon - value) : 0;
    char host[64];
    struct in_addr addr;
    if (!colon || hlen == 0 || hlen >= sizeof host)
        return s_fail(msg, msglen, "listen = %s: expected ADDRESS:PORT (e.g. 127.0.0.1:8080; "
                      "port 0 or * picks a free one)%s", value, "");
    memcpy(host, value, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &addr) != 1)
        return s_fail(msg, msglen, "listen = %s: '%s' is not an IPv4 address", value, host);
    const char *port = colon + 1;
    unsigned long n = 0;
    if (strcmp(port, "*") != 0) {
        char *end = NULL;
        if (!*port || strspn(port, "0123456789") != strlen(port) ||
            (n = strtoul(port, &end, 10)) > 65535)
            return s_fail(msg, msglen, "listen = %s: port '%s' is not 0..65535 or *", value, port);
    }
    snprintf(hc->host, sizeof hc->host, "%s", host);
    hc->port = (uint16_t)n;
    return 0;
}

static int s_number(const char *key, const char *value, unsigned long min, unsigned long max,
                    unsigned long *out, char *msg, size_t msglen)
{
    char *end = NULL;
    unsigned long n = 0;
    if (*value && strspn(value, "0123456789") == strlen(value))
        n = strtoul(value, &end, 10);
    if (!*value || !end || *end || n < min || n > max) {
        snprintf(msg, msglen, "%s = %s: expected a number from %lu to %lu", key, value, min, max);
        return GR_ECONFIG;
    }
    *out = n;
    return 0;
}

/* A duration as the rest of the config writes them: 30s, 15min, 8h, 1d. */
static int s_ttl(const char *value, uint64_t *ms, char *msg, size_t msglen)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "s", 1000 }, { "min", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
    size_t n = strspn(value, "0123456789");
    if (n > 0 && n < 10) {
        uint64_t count = strtoull(value, NULL, 10);
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcmp(value + n, units[i].unit) == 0) {
                *ms = count * units[i].ms;
                if (*ms >= S_MIN_TTL_MS && *ms <= S_MAX_TTL_MS)
                    return 0;
            }
        }
    }
    return s_fail(msg, msglen, "session_ttl = %s: expected a duration from 1min to 7d (s, min, "
                  "h or d, e.g. 8h)%s", value, "");
}

static int s_path(char **out, const char *key, const char *value, const char *dir, char *msg,
                  size_t msglen)
{
    if (!*value)
        return s_fail(msg, msglen, "%s: must not be empty%s", key, "");
    free(*out);
    if (value[0] == '/' || !dir)
        *out = strdup(value);
    else if (asprintf(out, "%s/%s", dir, value) < 0)
        *out = NULL;
    return *out ? 0 : GR_ENOMEM;
}

static int s_http_key(gr_http_config_t *hc, const char *key, const char *value, const char *dir,
                      int line, char *msg, size_t msglen)
{
    int k = 0;
    while (k < GR_HTTP_KEY_COUNT && strcmp(s_keys[k], key) != 0)
        k++;
    if (k == GR_HTTP_KEY_COUNT)
        return s_fail(msg, msglen, "unknown key '%s' in [http] (expected listen, cert, key, "
                      "session_ttl, max_body or threads)%s", key, "");
    if (hc->line[k]) {
        snprintf(msg, msglen, "duplicate key '%s' in [http] (first at line %d)", key, hc->line[k]);
        return GR_ECONFIG;
    }
    hc->line[k] = line;
    unsigned long n = 0;
    int rc = 0;
    switch (k) {
    case GR_HTTP_KEY_LISTEN:
        return s_listen(hc, value, msg, msglen);
    case GR_HTTP_KEY_CERT:
        return s_path(&hc->cert_path, key, value, dir, msg, msglen);
    case GR_HTTP_KEY_KEY:
        return s_path(&hc->key_path, key, value, dir, msg, msglen);
    case GR_HTTP_KEY_SESSION_TTL:
        return s_ttl(value, &hc->session_ttl_ms, msg, msglen);
    case GR_HTTP_KEY_MAX_BODY:
        if ((rc = s_number(key, value, S_MIN_MAX_BODY, S_MAX_MAX_BODY, &n, msg, msglen)) == 0)
            hc->max_body = n;
        return rc;
    default:
        if ((rc = s_number(key, value, 1, S_MAX_THREADS, &n, msg, msglen)) == 0)
            hc->threads = (unsigned)n;
        return rc;
    }
}

/* Names of users and clients: the id characters, short enough to carry
 * "web:" or "open311:" in front in a timeline's actor name. */
static int s_name(const char *section, const char *key, char *msg, size_t msglen)
{
    size_t len = strlen(key);
    if (len == 0 || len > GR_HTTP_NAME_MAX || !gr_id_valid_n(key, len))
        return s_fail(msg, msglen, "%s: a name in [%s] is 1 to 47 of A-Z a-z 0-9 . _ -", key,
                      section);
    return 0;
}

static int s_user_key(gr_http_config_t *hc, const char *key, const char *value, char *msg,
                      size_t msglen)
{
    int rc = s_name("http_users", key, msg, msglen);
    if (rc != 0)
        return rc;
    if (gr_http_config_user(hc, key))
        return s_fail(msg, msglen, "%s: this user is listed twice in [http_users]%s", key, "");
    const char *colon = strchr(value, ':');
    size_t rlen = colon ? (size_t)(colon - value) : 0;
    unsigned roles = 0;
    if (rlen == 6 && strncmp(value, "viewer", 6) == 0)
        roles = GR_ACCESS_VIEWER;
    else if (rlen == 8 && strncmp(value, "operator", 8) == 0)
        roles = GR_ACCESS_OPERATOR;
    if (!roles)
        return s_fail(msg, msglen, "%s: expected ROLE:HASH with ROLE viewer or operator (the "
                      "hash from `gridctl http-password`)%s", key, "");
    const char *hash = colon + 1;
    if (strncmp(hash, "$argon2id$", 10) != 0 || strlen(hash) > GR_HTTP_HASH_MAX)
        return s_fail(msg, msglen, "%s: the password must be an $argon2id$ hash of at most 127 "
                      "characters, as `gridctl http-password` prints it%s", key, "");
    gr_http_user_t *users = realloc(hc->users, (hc->n_users + 1) * sizeof *users);
    if (!users)
        return GR_ENOMEM;
    hc->users = users;
    gr_http_user_t *u = &users[hc->n_users++];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", key);
    snprintf(u->hash, sizeof u->hash, "%s", hash);
    u->roles = roles;
    return 0;
}

static int s_client_key(gr_http_config_t *hc, const char *key, const char *value, char *msg,
                        size_t msglen)
{
    int rc = s_name("open311_clients", key, msg, msglen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < hc->n_clients; i++)
        if (strcmp(hc->clients[i].name, key) == 0)
            return s_fail(msg, msglen, "%s: this client is listed twice in [open311_clients]%s",
                          key, "");
    const char *colon = strrchr(value, ':');
    size_t klen = colon ? (size_t)(colon - value) : 0;
    const char *reporter = colon ? colon + 1 : "";
    bool key_ok = klen >= GR_HTTP_API_KEY_MIN && klen <= GR_HTTP_API_KEY_MAX;
    for (size_t i = 0; key_ok && i < klen; i++)
        key_ok = gr_id_char(value[i]);
    if (!key_ok || !*reporter || strlen(reporter) > GR_HTTP_NAME_MAX ||
        !gr_id_valid_n(reporter, strlen(reporter)))
        return s_fail(msg, msglen, "%s: expected API_KEY:REPORTER, the key 16 to 127 and the "
                      "reporter name 1 to 47 of A-Z a-z 0-9 . _ - (a key: `gridctl "
                      "http-password --api-key`)%s", key, "");
    gr_open311_client_t *clients = realloc(hc->clients, (hc->n_clients + 1) * sizeof *clients);
    if (!clients)
        return GR_ENOMEM;
    hc->clients = clients;
    gr_open311_client_t *c = &clients[hc->n_clients++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", key);
    memcpy(c->api_key, value, klen);
    snprintf(c->reporter, sizeof c->reporter, "%s", reporter);
    return 0;
}

int gr_http_config_key(gr_http_config_t *hc, gr_http_section_t section, const char *key,
                       const char *value, const char *dir, int line, char *msg, size_t msglen)
{
    if (!key) {
        hc->section_line[section] = line;
        if (section == GR_HTTP_SECTION_HTTP)
            hc->enabled = true;
        return 0;
    }
    switch (section) {
    case GR_HTTP_SECTION_HTTP:
        return s_http_key(hc, key, value, dir, line, msg, msglen);
    case GR_HTTP_SECTION_USERS:
        return s_user_key(hc, key, value, msg, msglen);
    default:
        return s_client_key(hc, key, value, msg, msglen);
    }
}

int gr_http_config_finish(const gr_http_config_t *hc, char *msg, size_t msglen, int *line)
{
    *line = 0;
    for (int s = GR_HTTP_SECTION_USERS; s <= GR_HTTP_SECTION_CLIENTS; s++) {
        if (hc->section_line[s] && !hc->enabled) {
            *line = hc->section_line[s];
            return s_fail(msg, msglen, "[%s] needs an [http] section with listen (the HTTP "
                          "server is off without it)%s", s_section_names[s], "");
        }
    }
    if (!hc->enabled)
        return 0;
    if (!hc->line[GR_HTTP_KEY_LISTEN]) {
        *line = hc->section_line[GR_HTTP_SECTION_HTTP];
        return s_fail(msg, msglen, "[http] missing required key 'listen' (e.g. listen = "
                      "127.0.0.1:8080)%s%s", "", "");
    }
    if (!hc->cert_path != !hc->key_path) {
        *line = hc->line[hc->cert_path ? GR_HTTP_KEY_CERT : GR_HTTP_KEY_KEY];
        return s_fail(msg, msglen, "[http] cert and key come together (HTTPS needs both PEM "
                      "files)%s%s", "", "");
    }
    for (size_t i = 0; i < hc->n_clients; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(hc->clients[i].api_key, hc->clients[j].api_key) == 0) {
                *line = hc->section_line[GR_HTTP_SECTION_CLIENTS];
                return s_fail(msg, msglen, "[open311_clients] %s and %s have the same api_key "
                              "(each client its own)", hc->clients[j].name, hc->clients[i].name);
            }
    return 0;
}

const gr_http_user_t *gr_http_config_user(const gr_http_config_t *hc, const char *name)
{
    for (size_t i = 0; name && i < hc->n_users; i++)
        if (strcmp(hc->users[i].name, name) == 0)
            return &hc->users[i];
    return NULL;
}

const gr_open311_client_t *gr_http_config_client_by_key(const gr_http_config_t *hc,
                                                        const char *api_key)
{
    if (!api_key)
        return NULL;
    size_t len = strlen(api_key);
    const gr_open311_client_t *found = NULL;
    /* Every key compared whole, so the time says nothing of which matched. */
    for (size_t i = 0; i < hc->n_clients; i++) {
        const char *k = hc->clients[i].api_key;
        if (strlen(k) == len && sodium_memcmp(k, api_key, len) == 0)
            found = &hc->clients[i];
    }
    return found;
}

int gr_http_config_delegate(const gr_http_config_t *hc, const char *on_behalf, unsigned *roles,
                            char *name, size_t namelen)
{
    if (!hc->enabled || !on_behalf)
        return GR_ENOTFOUND;
    *roles = 0;
    if (strcmp(on_behalf, "http") == 0) {
        *roles = GR_ACCESS_VIEWER;
    } else if (strncmp(on_behalf, "web:", 4) == 0) {
        const gr_http_user_t *u = gr_http_config_user(hc, on_behalf + 4);
        if (u)
            *roles = u->roles;
    } else if (strncmp(on_behalf, "open311:", 8) == 0) {
        /* The client reports as its reporter name: what the cases and
         * the daily reports record. */
        for (size_t i = 0; i < hc->n_clients; i++)
            if (strcmp(hc->clients[i].name, on_behalf + 8) == 0) {
                *roles = GR_ACCESS_REPORTER;
                snprintf(name, namelen, "%s", hc->clients[i].reporter);
                return 0;
            }
    }
    if (!*roles)
        return GR_ENOTFOUND;
    snprintf(name, namelen, "%s", on_behalf);
    return 0;
}
