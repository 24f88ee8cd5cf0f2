/* gridctl keygen */
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "gridctl.h"

typedef struct {
    bool json;
} s_keygen_values_t;

static const gridctl_opt_t s_keygen_options[] = {
    { .kind = GRIDCTL_OPT_FLAG, .name = "json", .letter = 'j', .offset = offsetof(s_keygen_values_t, json),
      .help = "print the key and the files as JSON" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_keygen_cmd = {
    .name = "keygen",
    .synopsis = "[--json] SECRET_FILE [PUBLIC_FILE]",
    .about =
"Makes a new Ed25519 identity for a node, a reporter or a department.\n"
"SECRET_FILE is written with mode 0600 and must be kept private; PUBLIC_FILE\n"
"(default SECRET_FILE with .pub appended) holds the public key, one line of\n"
"64 hex digits, which goes into the configs of the nodes that must trust it.\n"
"Refuses to overwrite either file. Prints the public key.\n",
    .arguments = "SECRET_FILE    where the secret key goes (mode 0600)\n"
                 "PUBLIC_FILE    where the public key goes\n",
    .options = s_keygen_options,
    .min_args = 1,
    .max_args = 2,
    .examples = "gridctl keygen worker-17.key\n"
                "gridctl keygen --json town-a.key /etc/gridrelay/keys/town-a.pub",
};

int gridctl_keygen(int argc, char **argv)
{
    s_keygen_values_t v = { false };
    int first = 0;
    int rc = gridctl_parse(&s_keygen_cmd, argc, argv, &v, NULL, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    bool json = v.json;
    const char *secret = argv[first];
    char public_buf[4096];
    const char *public_path = argv[first + 1];
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
    rc = gr_keys_save(&kp, secret, public_path, err, sizeof err);
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
        gridctl_print_json(obj);
    } else {
        printf("%s\n", hex);
    }
    return GRIDCTL_OK;
}
