/* The node's LMDB store: environment, transactions, schema, and the small
 * per-signer and per-name records. Cases live in store_case.c, queues in
 * store_queue.c; what they share is in store_internal.h. The contract, key
 * layouts and caveats are in store.h; this file only explains choices the
 * header does not. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "store_internal.h"

#define S_MIB ((size_t)1 << 20)
#define S_MAP_SIZE_DEFAULT (64 * S_MIB)
#if SIZE_MAX > 0xffffffffu
#define S_MAP_MAX_DEFAULT ((size_t)4 << 30)
#else
/* A 32-bit process cannot map 4 GiB; stay well inside its address space. */
#define S_MAP_MAX_DEFAULT ((size_t)1 << 30)
#endif
#define S_COUNTER_NAME_MAX 200
#define S_COUNTER_PREFIX "counter."
#define S_SCHEMA_KEY "schema_version"

/* Every name is opened with MDB_CREATE on each open, so a database added
 * later (due, statuslog, peers, view, tasks came after the first version 1 stores) is
 * simply created empty in an existing store: adding one needs no schema
 * bump, only changing the layout of an existing one does. */
static const char *const s_db_names[S_DB_COUNT] = {
    "meta", "events", "by_time", "timeline", "dedup", "signers", "outbox",
    "due", "statuslog", "peers", "view", "tasks", "urges",
    "audit", "audit_index", "daily", "access", "dead", "status_index",
};

/* Schema migrations, each taking a store from version `from` to from + 1
 * inside the opening transaction (every database already opened), so a
 * failed migration leaves the old version intact.
 *
 * 1 -> 2: version 1 stores were written before the audit ledger and the
 * dead-letter database existed. The new databases are simply created
 * (MDB_CREATE); what needs a walk is the ledger: every timeline entry of a
 * version 1 store is linked into it once (gr_store_ledger_backfill, which
 * does nothing when the store already has a ledger head). Before version 2
 * that walk ran on every open; it is a migration now, so the version says
 * whether a store's ledger is complete. */
static int s_migrate_1(gr_txn_t *txn)
{
    return gr_store_ledger_backfill(txn);
}

/* 2 -> 3: the status log kept every update ever published; from 3 on it
 * keeps one per case (store.h), indexed by status_index. */
static int s_migrate_2(gr_txn_t *txn)
{
    return gr_store_status_compact_all(txn);
}

/* 3 -> 4: nothing to rewrite. From 4 on a new timeline entry's ledger link
 * is found from its case (StoredEvent.ledger_last, AuditLink.case_prev)
 * and gets no audit_index locator; the locators of the entries linked
 * before stay and are read where a case's chain of links ends. A new
 * case's entry 1 is kept in its record (StoredEvent.first_entry), not in
 * the timeline; an older case's stays where it is. The
 * version keeps a gridrelayd of schema 3, which would find the new
 * entries unindexed, from opening the store. */
static int s_migrate_3(gr_txn_t *txn)
{
    (void)txn;
    return 0;
}

/* 4 -> 5: nothing to rewrite. From 5 on a case record that came up in a
 * link batch leaves out the origin envelope and hops its link_proof holds
 * (StoredEvent.in_link_proof); older records hold them and are read as
 * they are. The version keeps a gridrelayd of schema 4, which would read
 * such a record without its origin, from opening the store. */
static int s_migrate_4(gr_txn_t *txn)
{
    (void)txn;
    return 0;
}

/* 5 -> 6: nothing to rewrite. From 6 on a case record leaves out its
 * event where its origin envelope's Report holds it byte for byte
 * (StoredEvent.in_link_proof bit 4), a quarter of a village's record and a
 * sixth of one that came up a tier; older records hold it and are read as
 * they are. The version keeps a gridrelayd of schema 5, which would read
 * such a record without its event, from opening the store. */
static int s_migrate_5(gr_txn_t *txn)
{
    (void)txn;
    return 0;
}

static const struct s_migration {
    uint32_t from;
    int (*run)(gr_txn_t *txn);   /* returns a GR_E* code */
} s_migrations[] = {
    {1, s_migrate_1},
    {2, s_migrate_2},
    {3, s_migrate_3},
    {4, s_migrate_4},
    {5, s_migrate_5},
    {0, NULL},  /* sentinel */
};

/* ---- small helpers ---- */

static void s_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Frees what s_txn_alloc handed out, then the transaction itself. */
static void s_txn_free(gr_txn_t **txn_p)
{
    gr_txn_t *txn = *txn_p;
    while (txn->allocs) {
        struct s_alloc *next = txn->allocs->next;
        free(txn->allocs);
        txn->allocs = next;
    }
    gr_store_txn_plain_free(txn);
    free(txn);
    *txn_p = NULL;
}

/* ---- open / close / grow ---- */

/* mkdir -p; components it creates are private to the node (0700). */
static int s_mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* LMDB's own locks cannot stop a second process from opening the store as
 * a writer of its own (it would just wait), and LMDB forbids opening one
 * env twice in a process; an flock on a separate file makes both a clear,
 * immediate error. The lock is dropped by the kernel if we crash. */
static int s_lock(gr_store_t *self, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/gridrelayd.lock", dir) >= (int)sizeof path) {
        s_seterr(err, errlen, "store %s: path too long", dir);
        return GR_EINVAL;
    }
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        s_seterr(err, errlen, "store %s: cannot open %s: %s", dir, path, strerror(errno));
        return GR_EIO;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            s_seterr(err, errlen, "store %s is in use by another process", dir);
        else
            s_seterr(err, errlen, "store %s: cannot lock %s: %s", dir, path, strerror(errno));
        return GR_EIO;
    }
    return 0;
}

/* Reads the schema version in txn. *fresh is set for an empty environment.
 * Anything else without a version is not ours, and is refused. */
static int s_read_version(MDB_txn *txn, const char *dir, uint32_t *version, bool *fresh,
                          char *err, size_t errlen)
{
    MDB_dbi meta;
    *fresh = false;
    int rc = mdb_dbi_open(txn, s_db_names[S_DB_META], 0, &meta);
    if (rc == MDB_NOTFOUND) {
        MDB_dbi main_db;
        MDB_stat st;
        rc = mdb_dbi_open(txn, NULL, 0, &main_db);
        if (rc == MDB_SUCCESS)
            rc = mdb_stat(txn, main_db, &st);
        if (rc != MDB_SUCCESS) {
            s_seterr(err, errlen, "store %s: %s", dir, mdb_strerror(rc));
            return GR_ESTORE;
        }
        if (st.ms_entries == 0) {
            *fresh = true;
            return 0;
        }
        s_seterr(err, errlen, "store %s holds data that is not a gridrelay store", dir);
        return GR_ESCHEMA;
    }
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: opening meta: %s", dir, mdb_strerror(rc));
        return GR_ESTORE;
    }
    MDB_val k = {sizeof S_SCHEMA_KEY - 1, (void *)S_SCHEMA_KEY}, v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && v.mv_size != 4)) {
        s_seterr(err, errlen, "store %s has no valid schema version", dir);
        return GR_ESCHEMA;
    }
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: reading schema version: %s", dir, mdb_strerror(rc));
        return GR_ESTORE;
    }
    *version = gr_get_u32(v.mv_data);
    return 0;
}

/* Checks or stamps the schema and opens every named database, all in one
 * write transaction: a refused store is aborted, hence left untouched. */
static int s_open_dbs(gr_store_t *self, const char *dir, const gr_datakey_t *dk, char *err,
                      size_t errlen)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: begin: %s", dir, mdb_strerror(rc));
        return s_mdb_err(rc);
    }
    uint32_t version = 0;
    bool fresh = false;
    int grc = s_read_version(txn, dir, &version, &fresh, err, errlen);
    if (grc != 0)
        goto fail;
    if (!fresh && version > GR_STORE_SCHEMA_VERSION) {
        s_seterr(err, errlen,
                 "store %s has schema version %u; this gridrelayd supports up to %u: "
                 "upgrade gridrelayd", dir, version, GR_STORE_SCHEMA_VERSION);
        grc = GR_ESCHEMA;
        goto fail;
    }
    for (int i = 0; i < S_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, s_db_names[i], MDB_CREATE, &self->dbi[i]);
        if (rc != MDB_SUCCESS) {
            s_seterr(err, errlen, "store %s: opening %s: %s", dir, s_db_names[i],
                     mdb_strerror(rc));
            grc = s_mdb_err(rc);
            goto fail;
        }
    }
    /* Before any value is read: a migration (the ledger's backfill) opens
     * timelines. */
    grc = gr_store_datakey_attach(self, txn, dk, true, dir, err, errlen);
    if (grc != 0)
        goto fail;
    bool stamp = fresh;
    gr_txn_t own = {.txn = txn, .store = self, .write = true};
    while (!fresh && version < GR_STORE_SCHEMA_VERSION) {
        const struct s_migration *m = s_migrations;
        while (m->run && m->from != version)
            m++;
        if (!m->run) {
            s_seterr(err, errlen,
                     "store %s has schema version %u, which this gridrelayd (schema %u) "
                     "cannot migrate", dir, version, GR_STORE_SCHEMA_VERSION);
            grc = GR_ESCHEMA;
            goto fail;
        }
        grc = m->run(&own);
        if (grc != 0) {
            s_seterr(err, errlen, "store %s: migration from schema %u failed: %s", dir,
                     version, gr_strerror(grc));
            goto fail;
        }
        version++;
        stamp = true;
    }
    if (stamp) {
        uint8_t be[4];
        gr_put_u32(be, GR_STORE_SCHEMA_VERSION);
        MDB_val k = {sizeof S_SCHEMA_KEY - 1, (void *)S_SCHEMA_KEY}, v = {sizeof be, be};
        rc = mdb_put(txn, self->dbi[S_DB_META], &k, &v, 0);
        if (rc != MDB_SUCCESS) {
            s_seterr(err, errlen, "store %s: writing schema version: %s", dir,
                     mdb_strerror(rc));
            grc = s_mdb_err(rc);
            goto fail;
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: commit: %s", dir, mdb_strerror(rc));
        return s_mdb_err(rc);
    }
    return 0;
fail:
    mdb_txn_abort(txn);
    return grc;
}

/* mdb_env_open() takes the configured size over the one the file records,
 * so a store grown before a restart would reopen at its old, too small
 * size and hit MAP_FULL at once. Size 0 makes LMDB adopt the recorded size;
 * then the larger of that and the configured start wins, within map_max
 * (LMDB itself never goes below the space in use). No transaction is open
 * yet, as set_mapsize requires. Nothing is written until a commit. */
static int s_adopt_map_size(gr_store_t *self, size_t map_size)
{
    int rc = mdb_env_set_mapsize(self->env, 0);
    if (rc != MDB_SUCCESS)
        return rc;
    size_t size = gr_store_map_size(self);
    if (size > self->map_max)
        size = self->map_max;
    if (size < map_size)
        size = map_size;
    return mdb_env_set_mapsize(self->env, size);
}

/* What both opens begin with: the arguments checked, libsodium started,
 * an empty handle in *self (no lock, no environment yet). Returns 0, or
 * GR_EINVAL / GR_EIO / GR_ENOMEM with the reason in err. */
static int s_start(gr_store_t **out, gr_store_t **self, const char *dir, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    if (!dir || !*dir) {
        s_seterr(err, errlen, "store directory not set");
        return GR_EINVAL;
    }
    if (sodium_init() < 0) {
        s_seterr(err, errlen, "store %s: libsodium failed to initialise", dir);
        return GR_EIO;
    }
    *self = calloc(1, sizeof **self);
    if (!*self) {
        s_seterr(err, errlen, "store %s: out of memory", dir);
        return GR_ENOMEM;
    }
    (*self)->lock_fd = -1;
    return 0;
}

int gr_store_open(gr_store_t **out, const char *dir, const gr_store_options_t *opt,
                  char *err, size_t errlen)
{
    gr_store_t *self = NULL;
    int started = s_start(out, &self, dir, err, errlen);
    if (started != 0)
        return started;
    size_t map_size = opt && opt->map_size ? opt->map_size : S_MAP_SIZE_DEFAULT;
    self->map_max = opt && opt->map_max ? opt->map_max : S_MAP_MAX_DEFAULT;
    /* The maximum is the operator's hard bound, so it wins over the start. */
    if (map_size > self->map_max)
        map_size = self->map_max;

    int rc = s_mkdir_p(dir);
    if (rc != 0) {
        s_seterr(err, errlen, "store %s: cannot create directory: %s", dir, strerror(-rc));
        rc = GR_EIO;
        goto fail;
    }
    rc = s_lock(self, dir, err, errlen);
    if (rc != 0)
        goto fail;

    int mrc = mdb_env_create(&self->env);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_maxdbs(self->env, 24);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_mapsize(self->env, map_size);
    /* MDB_NOTLS: read transactions are not tied to a thread's slot, so a
     * thread may hold several and hand them over. Commits stay synchronous
     * (no NOSYNC/NOMETASYNC): an ack means the data is on disk. */
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_open(self->env, dir, MDB_NOTLS, 0600);
    if (mrc == MDB_SUCCESS)
        mrc = s_adopt_map_size(self, map_size);
    if (mrc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: cannot open LMDB environment: %s", dir,
                 mdb_strerror(mrc));
        rc = mrc == ENOMEM ? GR_ENOMEM : GR_ESTORE;
        goto fail;
    }
    rc = s_open_dbs(self, dir, opt ? opt->datakey : NULL, err, errlen);
    if (rc != 0)
        goto fail;
    *out = self;
    return 0;
fail:
    gr_store_close(&self);
    return rc;
}

/* No flock and no MDB_CREATE: whoever else has the store open, a
 * reader changes nothing in it (LMDB readers never block its writer). */
int gr_store_open_readonly(gr_store_t **out, const char *dir, char *err, size_t errlen)
{
    gr_store_t *self = NULL;
    int started = s_start(out, &self, dir, err, errlen);
    if (started != 0)
        return started;
    MDB_txn *txn = NULL;
    int grc = GR_ESTORE;
    int rc = mdb_env_create(&self->env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(self->env, 24);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(self->env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc == MDB_SUCCESS)
        rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: cannot open LMDB environment read-only: %s", dir,
                 mdb_strerror(rc));
        grc = rc == ENOMEM ? GR_ENOMEM : GR_ESTORE;
        goto fail;
    }
    uint32_t version = 0;
    bool fresh = false;
    grc = s_read_version(txn, dir, &version, &fresh, err, errlen);
    if (grc == 0 && (fresh || version > GR_STORE_SCHEMA_VERSION)) {
        s_seterr(err, errlen, fresh ? "store %s is empty" : "store %s has schema version %u, "
                 "newer than this program's", dir, version);
        grc = GR_ESCHEMA;
    }
    for (int i = 0; grc == 0 && i < S_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, s_db_names[i], 0, &self->dbi[i]);
        if (rc == MDB_NOTFOUND) {
            s_seterr(err, errlen, "store %s has no %s database: start this gridrelayd on it "
                     "once, which adds it", dir, s_db_names[i]);
            grc = GR_ESCHEMA;
        } else if (rc != MDB_SUCCESS) {
            s_seterr(err, errlen, "store %s: opening %s: %s", dir, s_db_names[i],
                     mdb_strerror(rc));
            grc = s_mdb_err(rc);
        }
    }
    if (grc != 0)
        goto fail;
    /* Committing a read transaction keeps the handles it opened. */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != MDB_SUCCESS) {
        s_seterr(err, errlen, "store %s: %s", dir, mdb_strerror(rc));
        grc = s_mdb_err(rc);
        goto fail;
    }
    self->map_max = gr_store_map_size(self);
    *out = self;
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    gr_store_close(&self);
    return grc;
}

void gr_store_close(gr_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_store_t *self = *self_p;
    if (self->env)
        mdb_env_close(self->env);
    /* After the env is closed, so a successor never sees a half-closed env. */
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

size_t gr_store_map_size(const gr_store_t *self)
{
    MDB_envinfo info;
    if (!self || mdb_env_info(self->env, &info) != MDB_SUCCESS)
        return 0;
    return info.me_mapsize;
}

size_t gr_store_used_size(const gr_store_t *self)
{
    MDB_envinfo info;
    MDB_stat st;
    if (!self || mdb_env_info(self->env, &info) != MDB_SUCCESS ||
        mdb_env_stat(self->env, &st) != MDB_SUCCESS)
        return 0;
    return (info.me_last_pgno + 1) * (size_t)st.ms_psize;
}

int gr_store_grow(gr_store_t *self)
{
    if (!self)
        return GR_EINVAL;
    size_t cur = gr_store_map_size(self);
    if (cur == 0)
        return GR_ESTORE;
    if (cur >= self->map_max)
        return GR_EFULL;
    size_t next = cur > self->map_max / 2 ? self->map_max : cur * 2;
    /* LMDB refuses (EINVAL) while a transaction is open in this process;
     * the new size is written to the file by the next commit. */
    return s_mdb_err(mdb_env_set_mapsize(self->env, next));
}

/* ---- transactions ---- */

int gr_store_begin(gr_store_t *self, bool write, gr_txn_t **txn_out)
{
    if (!txn_out)
        return GR_EINVAL;
    *txn_out = NULL;
    if (!self)
        return GR_EINVAL;
    gr_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn)
        return GR_ENOMEM;
    int rc;
    /* MAP_RESIZED means another process (a raw LMDB tool: gridrelayd
     * itself is single-process) grew the map; adopt its size and retry. The
     * bound only guards against a peer that keeps growing it. */
    for (int tries = 0;; tries++) {
        rc = mdb_txn_begin(self->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
        if (rc != MDB_MAP_RESIZED || tries == 3)
            break;
        rc = mdb_env_set_mapsize(self->env, 0);
        if (rc != MDB_SUCCESS)
            break;
    }
    if (rc != MDB_SUCCESS) {
        free(txn);
        return s_mdb_err(rc);
    }
    txn->store = self;
    txn->write = write;
    *txn_out = txn;
    return 0;
}

int gr_store_begin_nested(gr_txn_t *parent, gr_txn_t **txn_out)
{
    if (!txn_out)
        return GR_EINVAL;
    *txn_out = NULL;
    if (!parent || !parent->write)
        return GR_EINVAL;
    gr_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn)
        return GR_ENOMEM;
    int rc = mdb_txn_begin(parent->store->env, parent->txn, 0, &txn->txn);
    if (rc != MDB_SUCCESS) {
        free(txn);
        return s_mdb_err(rc);
    }
    txn->store = parent->store;
    txn->write = true;
    txn->parent = parent;
    *txn_out = txn;
    return 0;
}

/* LMDB reports a page write that the filesystem took only in part as
 * EIO, not ENOSPC: a full filesystem shows so whenever its last free
 * block falls inside a multi-page write. Told apart from a failing disk
 * by the room left (under 1 MiB: nothing a commit could use). */
static bool s_fs_full(MDB_env *env)
{
    const char *path = NULL;
    struct statvfs st;
    return mdb_env_get_path(env, &path) == MDB_SUCCESS && path && statvfs(path, &st) == 0 &&
           (double)st.f_bavail * (double)st.f_frsize < 1024.0 * 1024.0;
}

int gr_store_commit(gr_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return GR_EINVAL;
    gr_txn_t *txn = *txn_p;
    int rc = 0;
    if (txn->write) {
        int mrc = mdb_txn_commit(txn->txn);
        rc = mrc == EIO && !txn->parent && s_fs_full(txn->store->env) ? GR_EFULL : s_mdb_err(mrc);
    } else
        mdb_txn_abort(txn->txn);
    if (rc == 0 && txn->parent) {
        /* What the store filled into the caller's messages must live as
         * long as the outer transaction, which now holds these writes. */
        struct s_alloc **tail = &txn->allocs;
        while (*tail)
            tail = &(*tail)->next;
        *tail = txn->parent->allocs;
        txn->parent->allocs = txn->allocs;
        txn->allocs = NULL;
    }
    s_txn_free(txn_p);
    return rc;
}

void gr_store_abort(gr_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    mdb_txn_abort((*txn_p)->txn);
    s_txn_free(txn_p);
}

/* ---- replay state ---- */

int gr_store_signer_get(gr_txn_t *txn, const uint8_t signer[32], uint64_t *highest)
{
    if (!txn || !signer || !highest)
        return GR_EINVAL;
    return s_get_u64_or_zero(txn, S_DB_SIGNERS, signer, 32, highest);
}

int gr_store_signer_bump(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq)
{
    if (!txn || !txn->write || !signer)
        return GR_EINVAL;
    uint64_t cur;
    int rc = gr_store_signer_get(txn, signer, &cur);
    if (rc != 0 || seq <= cur)
        return rc;
    uint8_t be[8];
    gr_put_u64(be, seq);
    return s_put_raw(txn, S_DB_SIGNERS, signer, 32, be, sizeof be, 0);
}

int gr_store_signer_reset(gr_txn_t *txn, const uint8_t signer[32], uint64_t highest,
                          size_t *dropped)
{
    if (dropped)
        *dropped = 0;
    if (!txn || !txn->write || !signer)
        return GR_EINVAL;
    uint8_t be[8];
    gr_put_u64(be, highest);
    int rc = s_put_raw(txn, S_DB_SIGNERS, signer, 32, be, sizeof be, 0);
    if (rc != 0)
        return rc;
    /* The records above the new highest are what locked the signer out;
     * those at or below it keep answering resends. */
    MDB_cursor *cur = NULL;
    if ((rc = s_cursor(txn, S_DB_DEDUP, &cur)) != 0)
        return rc;
    uint8_t from[40];
    memcpy(from, signer, 32);
    gr_put_u64(from + 32, highest == UINT64_MAX ? highest : highest + 1);
    MDB_val k = {sizeof from, from}, v;
    int mrc = highest == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size == 40 && memcmp(k.mv_data, signer, 32) == 0) {
        if ((mrc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
        if (dropped)
            (*dropped)++;
        /* After a delete, MDB_NEXT yields the record that followed it. */
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? 0 : s_mdb_err(mrc);
}

/* ---- dedup ---- */

int gr_store_dedup_get(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq,
                       Gridrelay__DedupRecord **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    if (!txn || !signer)
        return GR_EINVAL;
    uint8_t key[40];
    memcpy(key, signer, 32);
    gr_put_u64(key + 32, seq);
    MDB_val v;
    int rc = s_get(txn, S_DB_DEDUP, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    *out = gridrelay__dedup_record__unpack(NULL, v.mv_size, v.mv_data);
    return *out ? 0 : GR_EDECODE;
}

int gr_store_dedup_put(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq,
                       const Gridrelay__DedupRecord *rec)
{
    if (!txn || !txn->write || !signer || !rec)
        return GR_EINVAL;
    uint8_t key[40];
    memcpy(key, signer, 32);
    gr_put_u64(key + 32, seq);
    return s_put_msg(txn, S_DB_DEDUP, key, sizeof key, &rec->base, 0);
}

int gr_store_dedup_prune(gr_txn_t *txn, uint64_t window, size_t max_visits,
                         uint8_t cursor[GR_DEDUP_KEY_BYTES], bool *wrapped)
{
    if (!txn || !txn->write || !cursor || !wrapped || window == 0 || max_visits == 0)
        return GR_EINVAL;
    *wrapped = false;
    /* Collect, then delete: no reliance on where a cursor stands after a
     * delete under it. */
    uint8_t (*doomed)[GR_DEDUP_KEY_BYTES] = malloc(max_visits * sizeof *doomed);
    if (!doomed)
        return GR_ENOMEM;
    size_t n_doomed = 0;
    MDB_cursor *cur = NULL;
    int rc = s_cursor(txn, S_DB_DEDUP, &cur);
    if (rc != 0) {
        free(doomed);
        return rc;
    }
    uint8_t start[GR_DEDUP_KEY_BYTES];
    memcpy(start, cursor, sizeof start);
    MDB_val k = {sizeof start, start}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    uint8_t signer[32];
    uint64_t highest = 0;
    bool have_signer = false;
    for (size_t visits = 0; mrc == MDB_SUCCESS && visits < max_visits; visits++) {
        if (k.mv_size != GR_DEDUP_KEY_BYTES) {
            rc = GR_ESTORE;
            break;
        }
        const uint8_t *key = k.mv_data;
        /* Keys are grouped by signer: one lookup of its newest seq each. */
        if (!have_signer || memcmp(signer, key, 32) != 0) {
            memcpy(signer, key, 32);
            have_signer = true;
            if ((rc = gr_store_signer_get(txn, signer, &highest)) != 0)
                break;
        }
        uint64_t seq = gr_get_u64(key + 32);
        /* What the replay window refuses can never be answered from here. */
        if (highest >= window && seq <= highest - window)
            memcpy(doomed[n_doomed++], key, GR_DEDUP_KEY_BYTES);
        memcpy(cursor, key, GR_DEDUP_KEY_BYTES);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc == MDB_NOTFOUND) {
        memset(cursor, 0, GR_DEDUP_KEY_BYTES);  /* the end: start over next time */
        *wrapped = true;
    } else if (rc == 0 && mrc == MDB_SUCCESS && k.mv_size == GR_DEDUP_KEY_BYTES) {
        /* Resume at the first one not visited. */
        memcpy(cursor, k.mv_data, GR_DEDUP_KEY_BYTES);
    } else if (rc == 0) {
        rc = s_mdb_err(mrc);
    }
    for (size_t i = 0; rc == 0 && i < n_doomed; i++)
        rc = s_del(txn, S_DB_DEDUP, doomed[i], GR_DEDUP_KEY_BYTES);
    free(doomed);
    return rc < 0 ? rc : (int)n_doomed;
}

/* ---- counters ---- */

static int s_counter_key(char *key, const char *name, size_t *keylen)
{
    if (!name)
        return GR_EINVAL;
    size_t n = strnlen(name, S_COUNTER_NAME_MAX + 1);
    if (n == 0 || n > S_COUNTER_NAME_MAX)
        return GR_EINVAL;
    size_t plen = sizeof S_COUNTER_PREFIX - 1;
    memcpy(key, S_COUNTER_PREFIX, plen);
    memcpy(key + plen, name, n);
    *keylen = plen + n;
    return 0;
}

int gr_store_counter_get(gr_txn_t *txn, const char *name, uint64_t *value)
{
    if (!txn || !value)
        return GR_EINVAL;
    *value = 0;
    char key[sizeof S_COUNTER_PREFIX + S_COUNTER_NAME_MAX];
    size_t keylen;
    int rc = s_counter_key(key, name, &keylen);
    if (rc != 0)
        return rc;
    return s_get_u64_or_zero(txn, S_DB_META, key, keylen, value);
}

int gr_store_counter_add(gr_txn_t *txn, const char *name, uint64_t delta)
{
    if (!txn || !txn->write)
        return GR_EINVAL;
    uint64_t value;
    int rc = gr_store_counter_get(txn, name, &value);
    if (rc != 0)
        return rc;
    char key[sizeof S_COUNTER_PREFIX + S_COUNTER_NAME_MAX];
    size_t keylen;
    rc = s_counter_key(key, name, &keylen);
    if (rc != 0)
        return rc;
    uint8_t be[8];
    gr_put_u64(be, value + delta);
    return s_put_raw(txn, S_DB_META, key, keylen, be, sizeof be, 0);
}
