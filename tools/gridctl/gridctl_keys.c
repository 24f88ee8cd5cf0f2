/* gridctl keygen */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "gridctl.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl keygen [--json] SECRET_FILE [PUBLIC_FILE]\n"
"\n"
"Makes a new Ed25519 identity for a node, a reporter or a department.\n"
"SECRET_FILE is written with mode 0600 and must be kept private; PUBLIC_FILE\n"
"(default SECRET_FILE with .pub appended) holds the public key, one line of\n"
"64 hex digits, which goes into the configs of the nodes that must trust it.\n"
"Refuses to overwrite either file. Prints the public key.\n");
}

int gridctl_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "jh", options, NULL)) != -1) {
        if (opt == 'j') {
            json = true;
        } else if (opt == 'h') {
            s_usage(stdout);
            return GRIDCTL_OK;
        } else {
            s_usage(stderr);
            return GRIDCTL_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    const char *secret = argv[optind];
    char public_buf[4096];
    const char *public_path = argv[optind + 1];
    if (!public_path) {
        if (snprintf(public_buf, sizeof public_buf, "%s.pub", secret) >= (int)sizeof public_buf) {
            fprintf(stderr, "gridctl: path too long\n");
            return GRIDCTL_USAGE;
        }
        public_path = public_buf;
    }
    gr_keypair_t kp;
    char err[512];
    if (gr_keys_init() != 0 || gr_keys_generate(&kp) != 0) {
        fprintf(stderr, "gridctl: cannot generate a key\n");
        return GRIDCTL_LOCAL;
    }
    int rc = gr_keys_save(&kp, secret, public_path, err, sizeof err);
    char hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(hex, kp.pk);
    memset(&kp, 0, sizeof kp);
    if (rc != 0) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_LOCAL;
    }
    if (json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "public_key", json_object_new_string(hex));
        json_object_object_add(obj, "secret_file", json_object_new_string(secret));
        json_object_object_add(obj, "public_file", json_object_new_string(public_path));
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
    } else {
        printf("%s\n", hex);
    }
    return GRIDCTL_OK;
}
