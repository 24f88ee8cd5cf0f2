/* gridctl datakey: the node's data key file (broker/datakey.h), which
 * seals personal data in its store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datakey.h"
#include "error.h"
#include "gridctl.h"
#include "keys.h"

static const gridctl_cmd_t s_datakey_cmd = {
    .name = "datakey",
    .synopsis = "new FILE\nrotate FILE\nlist FILE\ndrop FILE ID",
    .about =
"A node's data key file seals the personal data in its store (reporters,\n"
"names, places, notes, media links): [node] data_key = FILE. One key a line,\n"
"'ID HEX'; the highest ID seals what is written, the others still open what\n"
"they sealed. The file is mode 0600; the node refuses one others may read.\n"
"Steps: README \"Privacy and confidential cases\".\n",
    .arguments =
"new      write FILE with one fresh key, ID 1 (refuses an existing FILE)\n"
"rotate   add a fresh key with the next ID: it seals from the node's next\n"
"         start; older values move to it as they are rewritten, or all at\n"
"         once with gridrelayd --config CONFIG --rekey (node stopped)\n"
"list     print the key IDs (never the keys), the current one marked\n"
"drop     remove key ID after a --rekey (the node refuses to start on a\n"
"         store that used a key the file lacks)\n",
    .min_args = 2,
    .max_args = 3,
    .examples = "gridctl datakey new /etc/gridrelay/town-a.datakey\n"
                "gridctl datakey rotate /etc/gridrelay/town-a.datakey",
    .notes = "Exit status: 0 done, 2 usage, 4 the file could not be read or written.\n",
};

int gridctl_datakey(int argc, char **argv)
{
    int first = 0;
    int rc = gridctl_parse(&s_datakey_cmd, argc, argv, NULL, NULL, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    argc -= first - 1;   /* argv[1] on is the verb and its words */
    argv += first - 1;
    const char *verb = argv[1], *path = argv[2];
    if (gr_keys_init() != 0) {
        fprintf(stderr, "gridctl: cannot start libsodium\n");
        return GRIDCTL_LOCAL;
    }
    char err[1200] = "";
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
        return gridctl_usage_error(&s_datakey_cmd, "new, rotate or list FILE, or drop FILE ID");
    }
    if (rc != 0) {
        fprintf(stderr, "gridctl: datakey %s: %s\n", verb, err[0] ? err : gr_strerror(rc));
        return GRIDCTL_LOCAL;
    }
    return GRIDCTL_OK;
}
