/* gridctl backup / restore: a consistent hot copy of a node's store, made
 * on the node's machine without stopping it (node/store_backup.c says why
 * gridctl opens the store itself), and its restore into a new data dir. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "gridctl.h"
#include "store.h"

static void s_usage(FILE *out, const char *cmd)
{
    if (strcmp(cmd, "backup") == 0)
        fprintf(out,
"Usage: gridctl backup --store DIR DEST\n"
"\n"
"Copies the node's store (the [node] store directory; the node may be running\n"
"and writing) into DEST, a new or empty directory: LMDB's compacting copy from\n"
"one read transaction, so DEST holds the store as of one commit, and every\n"
"event acknowledged before the backup began. Run it on the node's machine as\n"
"a user who may read the store. Prints the copy's size; exit 0, or 4.\n"
"\n"
"  -s, --store DIR       the node's data directory\n"
"  -h, --help            this help\n");
    else
        fprintf(out,
"Usage: gridctl restore BACKUP DIR\n"
"\n"
"Restores a backup made by gridctl backup into DIR, the store directory of a\n"
"node to start (new, or without a store): refused when a gridrelayd holds DIR\n"
"or DIR already has a store, so a live store is never overwritten. Then walks\n"
"the restored audit trail (as gridctl audit verify --store). Exit 0; 4 when\n"
"refused or a file error; 5 when the trail does not verify.\n"
"\n"
"  -h, --help            this help\n");
}

static int s_verify(const char *dir)
{
    gr_store_t *store = NULL;
    char err[512];
    if (gr_store_open_readonly(&store, dir, err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_LOCAL;
    }
    gr_txn_t *txn = NULL;
    gr_store_audit_t result;
    gr_chain_fault_t fault;
    int rc = gr_store_begin(store, false, &txn);
    if (rc == 0)
        rc = gr_store_audit_verify(txn, NULL, &result, &fault);
    gr_store_abort(&txn);
    gr_store_close(&store);
    if (rc < 0) {
        fprintf(stderr, "gridctl: store %s: %s\n", dir, gr_strerror(rc));
        return GRIDCTL_LOCAL;
    }
    if (rc != 0) {
        printf("audit: BROKEN: %s\n", fault.message);
        return GRIDCTL_BROKEN;
    }
    printf("audit: ok %llu entries in %llu cases\n", (unsigned long long)result.entries,
           (unsigned long long)result.cases);
    return GRIDCTL_OK;
}

static int s_run(int argc, char **argv, bool backup)
{
    static const struct option options[] = {
        { "store", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *store = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, backup ? "s:h" : "h", options, NULL)) != -1) {
        if (opt == 's' && backup) {
            store = optarg;
            continue;
        }
        s_usage(opt == 'h' ? stdout : stderr, argv[0]);
        return opt == 'h' ? GRIDCTL_OK : GRIDCTL_USAGE;
    }
    char err[1024];
    if (backup) {
        if (!store || argc - optind != 1) {
            s_usage(stderr, argv[0]);
            return GRIDCTL_USAGE;
        }
        size_t bytes = 0;
        if (gr_store_backup(store, argv[optind], &bytes, err, sizeof err) != 0) {
            fprintf(stderr, "gridctl: %s\n", err);
            return GRIDCTL_LOCAL;
        }
        printf("backed up %s into %s: %zu bytes\n", store, argv[optind], bytes);
        return GRIDCTL_OK;
    }
    if (argc - optind != 2) {
        s_usage(stderr, argv[0]);
        return GRIDCTL_USAGE;
    }
    if (gr_store_restore(argv[optind], argv[optind + 1], err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_LOCAL;
    }
    printf("restored %s into %s\n", argv[optind], argv[optind + 1]);
    return s_verify(argv[optind + 1]);
}

int gridctl_backup(int argc, char **argv)
{
    return s_run(argc, argv, true);
}

int gridctl_restore(int argc, char **argv)
{
    return s_run(argc, argv, false);
}
