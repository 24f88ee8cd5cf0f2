/* gridctl http-password: what goes into [http_users] and [open311_clients]
 * (node/config_http.h), made here so that no password is ever written to
 * a config in the clear. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "gridctl.h"

static const char *const s_roles[] = { "viewer", "operator", NULL };

typedef struct {
    int role;
    const char *file;
    bool api_key;
} s_http_values_t;

static const gridctl_opt_t s_http_options[] = {
    { .kind = GRIDCTL_OPT_CHOICE, .name = "role", .letter = 'r', .arg = "viewer|operator",
      .choices = s_roles, .offset = offsetof(s_http_values_t, role),
      .help = "the web login's role (default viewer)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "password-file", .letter = 'p', .arg = "FILE",
      .offset = offsetof(s_http_values_t, file),
      .help = "read the password from FILE's first line, not stdin" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "api-key", .letter = 'a',
      .offset = offsetof(s_http_values_t, api_key),
      .help = "print a new Open311 api_key instead" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_http_cmd = {
    .name = "http-password",
    .synopsis = "[--role viewer|operator] [--password-file FILE]\n--api-key",
    .about =
"Prints the line value for a web login in the node's [http_users] section:\n"
"ROLE:HASH, the password hashed with Argon2id (libsodium crypto_pwhash_str,\n"
"interactive cost); the config line is then  alice = operator:$argon2id$...\n"
"The password is the first line of standard input (or of --password-file);\n"
"it is never echoed.\n"
"\n"
"--api-key prints a new random Open311 api_key (32 hex digits) for an\n"
"[open311_clients] line:  fixmystreet = KEY:REPORTER_NAME\n",
    .options = s_http_options,
    .examples = "echo 'a long passphrase' | gridctl http-password --role operator\n"
                "gridctl http-password --api-key",
};

static int s_api_key(void)
{
    unsigned char raw[16];
    char hex[sizeof raw * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    printf("%s\n", hex);
    return GRIDCTL_OK;
}

int gridctl_http_password(int argc, char **argv)
{
    s_http_values_t v = { 0, NULL, false };
    int rc = gridctl_parse(&s_http_cmd, argc, argv, &v, NULL, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *role = s_roles[v.role], *file = v.file;
    bool api_key = v.api_key;
    if (sodium_init() < 0) {
        fprintf(stderr, "gridctl: cannot initialise libsodium\n");
        return GRIDCTL_LOCAL;
    }
    if (api_key)
        return s_api_key();
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "gridctl: cannot read %s\n", file);
        return GRIDCTL_LOCAL;
    }
    char password[1024];
    bool got = fgets(password, sizeof password, in) != NULL;
    if (file)
        fclose(in);
    password[got ? strcspn(password, "\r\n") : 0] = '\0';
    if (!password[0]) {
        fprintf(stderr, "gridctl: no password on the first line of %s\n",
                file ? file : "standard input");
        return GRIDCTL_USAGE;
    }
    char hash[crypto_pwhash_STRBYTES];
    rc = crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(password, sizeof password);
    if (rc != 0) {
        fprintf(stderr, "gridctl: out of memory hashing the password\n");
        return GRIDCTL_LOCAL;
    }
    printf("%s:%s\n", role, hash);
    return GRIDCTL_OK;
}
