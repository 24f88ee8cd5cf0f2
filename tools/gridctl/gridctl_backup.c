/* gridctl backup / restore: a consistent hot copy of a node's store, made
 * on the node's machine without stopping it (node/store_backup.c says why
 * gridctl opens the store itself), and its restore into a new data dir. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "gridctl.h"
#include "store.h"

typedef struct {
    const char *store;
} s_backup_values_t;

static const gridctl_opt_t s_backup_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "store", .letter = 's', .arg = "DIR",
      .offset = offsetof(s_backup_values_t, store), .help = "the node's data directory (required)" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_backup_cmd = {
    .name = "backup",
    .synopsis = "--store DIR DEST",
    .about =
"Copies the node's store (the [node] store directory; the node may be running\n"
"and writing) into DEST, a new or empty directory: LMDB's compacting copy from\n"
"one read transaction, so DEST holds the store as of one commit, and every\n"
"event acknowledged before the backup began. Run it on the node's machine as\n"
"a user who may read the store. Prints the copy's size; exit 0, or 4.\n",
    .arguments = "DEST    a new or empty directory\n",
    .options = s_backup_options,
    .min_args = 1,
    .max_args = 1,
    .examples = "gridctl backup --store /var/lib/gridrelay/town-a /srv/backup/town-a-$(date +%F)",
};

static const gridctl_cmd_t s_restore_cmd = {
    .name = "restore",
    .synopsis = "BACKUP DIR",
    .about =
"Restores a backup made by gridctl backup into DIR, the store directory of a\n"
"node to start (new, or without a store): refused when a gridrelayd holds DIR\n"
"or DIR already has a store, so a live store is never overwritten. Then walks\n"
"the restored audit trail (as gridctl audit verify --store). Exit 0; 4 when\n"
"refused or a file error; 5 when the trail does not verify.\n",
    .arguments = "BACKUP  a directory gridctl backup wrote\n"
                 "DIR     the new store directory\n",
    .min_args = 2,
    .max_args = 2,
    .examples = "gridctl restore /srv/backup/town-a-2026-12-01 /var/lib/gridrelay/town-a",
};

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
    s_backup_values_t v = { NULL };
    const gridctl_cmd_t *cmd = backup ? &s_backup_cmd : &s_restore_cmd;
    int first = 0;
    int rc = gridctl_parse(cmd, argc, argv, &v, NULL, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *store = v.store;
    char err[1024];
    if (backup) {
        if (!store)
            return gridctl_usage_error(cmd, "--store is required");
        size_t bytes = 0;
        if (gr_store_backup(store, argv[first], &bytes, err, sizeof err) != 0) {
            fprintf(stderr, "gridctl: %s\n", err);
            return GRIDCTL_LOCAL;
        }
        printf("backed up %s into %s: %zu bytes\n", store, argv[first], bytes);
        return GRIDCTL_OK;
    }
    if (gr_store_restore(argv[first], argv[first + 1], err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_LOCAL;
    }
    printf("restored %s into %s\n", argv[first], argv[first + 1]);
    return s_verify(argv[first + 1]);
}

int gridctl_backup(int argc, char **argv)
{
    return s_run(argc, argv, true);
}

int gridctl_restore(int argc, char **argv)
{
    return s_run(argc, argv, false);
}
