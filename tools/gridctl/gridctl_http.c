/* gridctl http-password: what goes into [http_users] and [open311_clients]
 * (node/config_http.h), made here so that no password is ever written to
 * a config in the clear. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "gridctl.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl http-password [--role viewer|operator] [--password-file FILE]\n"
"       gridctl http-password --api-key\n"
"\n"
"Prints the line value for a web login in the node's [http_users] section:\n"
"ROLE:HASH, the password hashed with Argon2id (libsodium crypto_pwhash_str,\n"
"interactive cost), e.g.\n"
"    echo 'a long passphrase' | gridctl http-password --role operator\n"
"and the config line is then  alice = operator:$argon2id$...\n"
"The password is the first line of standard input (or of --password-file);\n"
"it is never echoed. --role defaults to viewer.\n"
"\n"
"--api-key prints a new random Open311 api_key (32 hex digits) for an\n"
"[open311_clients] line:  fixmystreet = KEY:REPORTER_NAME\n");
}

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
    static const struct option options[] = {
        { "role", required_argument, NULL, 'r' },
        { "password-file", required_argument, NULL, 'p' },
        { "api-key", no_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *role = "viewer", *file = NULL;
    bool api_key = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:p:ah", options, NULL)) != -1) {
        if (opt == 'r') {
            role = optarg;
        } else if (opt == 'p') {
            file = optarg;
        } else if (opt == 'a') {
            api_key = true;
        } else if (opt == 'h') {
            s_usage(stdout);
            return GRIDCTL_OK;
        } else {
            s_usage(stderr);
            return GRIDCTL_USAGE;
        }
    }
    if (optind != argc || (strcmp(role, "viewer") != 0 && strcmp(role, "operator") != 0)) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
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
    int rc = crypto_pwhash_str(hash, password, strlen(password),
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(password, sizeof password);
    if (rc != 0) {
        fprintf(stderr, "gridctl: out of memory hashing the password\n");
        return GRIDCTL_LOCAL;
    }
    printf("%s:%s\n", role, hash);
    return GRIDCTL_OK;
}
