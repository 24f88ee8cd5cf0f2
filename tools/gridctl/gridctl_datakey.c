/* gridctl datakey: the node's data key file (broker/datakey.h), which
 * seals personal data in its store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datakey.h"
#include "error.h"
#include "gridctl.h"
#include "keys.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl datakey new FILE\n"
"       gridctl datakey rotate FILE\n"
"       gridctl datakey list FILE\n"
"       gridctl datakey drop FILE ID\n"
"\n"
"A node's data key file seals the personal data in its store (reporters,\n"
"names, places, notes, media links): [node] data_key = FILE. One key a line,\n"
"'ID HEX'; the highest ID seals what is written, the others still open what\n"
"they sealed. The file is mode 0600; the node refuses one others may read.\n"
"  new      write FILE with one fresh key, ID 1 (refuses an existing FILE)\n"
"  rotate   add a fresh key with the next ID: it seals from the node's next\n"
"           start; older values move to it as they are rewritten, or all at\n"
"           once with gridrelayd --config CONFIG --rekey (node stopped)\n"
"  list     print the key IDs (never the keys), the current one marked\n"
"  drop     remove key ID after a --rekey (the node refuses to start on a\n"
"           store that used a key the file lacks)\n"
"Steps: README \"Privacy and confidential cases\".\n"
"\n"
"Exit status: 0 done, 2 usage, 4 the file could not be read or written.\n");
}

int gridctl_datakey(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout);
        return GRIDCTL_OK;
    }
    if (argc < 3) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    const char *verb = argv[1], *path = argv[2];
    if (gr_keys_init() != 0) {
        fprintf(stderr, "gridctl: cannot start libsodium\n");
        return GRIDCTL_LOCAL;
    }
    char err[1200] = "";
    int rc;
    if (!strcmp(verb, "new") && argc == 3) {
        rc = gr_datakey_create_file(path, err, sizeof err);
        if (rc == 0)
            printf("%s: data key 1 written (mode 0600)\n", path);
    } else if (!strcmp(verb, "rotate") && argc == 3) {
        uint32_t id = 0;
        rc = gr_datakey_rotate_file(path, &id, err, sizeof err);
        if (rc == 0)
            printf("%s: data key %u added; it seals from the node's next start\n", path,
                   (unsigned)id);
    } else if (!strcmp(verb, "list") && argc == 3) {
        gr_datakey_t *dk = NULL;
        rc = gr_datakey_load(&dk, path, err, sizeof err);
        for (size_t i = 0; rc == 0 && i < gr_datakey_count(dk); i++) {
            uint32_t id = gr_datakey_id_at(dk, i);
            printf("%u%s\n", (unsigned)id, id == gr_datakey_current(dk) ? " current" : "");
        }
        gr_datakey_destroy(&dk);
    } else if (!strcmp(verb, "drop") && argc == 4) {
        char *end = NULL;
        unsigned long id = strtoul(argv[3], &end, 10);
        if (!*argv[3] || *end || id == 0 || id > UINT32_MAX) {
            fprintf(stderr, "gridctl: datakey drop: %s: not a key ID\n", argv[3]);
            return GRIDCTL_USAGE;
        }
        rc = gr_datakey_drop_file(path, (uint32_t)id, err, sizeof err);
        if (rc == 0)
            printf("%s: data key %lu dropped\n", path, id);
    } else {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "gridctl: datakey %s: %s\n", verb, err[0] ? err : gr_strerror(rc));
        return GRIDCTL_LOCAL;
    }
    return GRIDCTL_OK;
}
