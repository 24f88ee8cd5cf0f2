/* The node's LMDB store. The contract, key layouts and caveats are in
 * store.h; this file only explains choices the header does not. */
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
#include <unistd.h>

#include "error.h"

#define S_MIB ((size_t)1 << 20)
#define S_MAP_SIZE_DEFAULT (64 * S_MIB)
#if SIZE_MAX > 0xffffffffu
#define S_MAP_MAX_DEFAULT ((size_t)4 << 30)
#else
/* A 32-bit process cannot map 4 GiB; stay well inside its address space. */
#define S_MAP_MAX_DEFAULT ((size_t)1 << 30)
#endif
#define S_HASH_LEN 32
#define S_PEER_MAX 255          /* keeps outbox keys under LMDB's 511-byte limit */
#define S_COUNTER_NAME_MAX 200
#define S_COUNTER_PREFIX "counter."
#define S_SCHEMA_KEY "schema_version"
#define S_TIME_KEY_MAX (8 + GR_EVENT_ID_MAX)
#define S_TIMELINE_KEY_MAX (GR_EVENT_ID_MAX + 1 + 4)
#define S_OUTBOX_KEY_MAX (S_PEER_MAX + 1 + 8)

enum { S_DB_META, S_DB_EVENTS, S_DB_BY_TIME, S_DB_TIMELINE, S_DB_DEDUP, S_DB_SIGNERS,
       S_DB_OUTBOX, S_DB_COUNT };

static const char *const s_db_names[S_DB_COUNT] = {
    "meta", "events", "by_time", "timeline", "dedup", "signers", "outbox",
};

struct gr_store {
    MDB_env *env;
    MDB_dbi dbi[S_DB_COUNT];
    size_t map_max;
    int lock_fd;
};

/* One allocation owned by a transaction (see s_txn_alloc). */
struct s_alloc {
    struct s_alloc *next;
    uint8_t data[];
};

struct gr_txn {
    MDB_txn *txn;
    gr_store_t *store;
    bool write;
    struct s_alloc *allocs;
};

/* Schema migrations, each taking a store from version `from` to from + 1
 * inside the opening transaction, so a failed migration leaves the old
 * version intact. Version 1 is the first schema, so nothing migrates yet;
 * the table and the walk over it are here so version 2 only adds a row. */
static const struct s_migration {
    uint32_t from;
    int (*run)(MDB_txn *txn);   /* returns an LMDB code */
} s_migrations[] = {
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

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t s_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int s_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return GR_ENOTFOUND;
    case MDB_KEYEXIST:
        return GR_EEXIST;
    /* TXN_FULL (too many dirty pages in one transaction) is reported like
     * MAP_FULL so callers have one "abort, grow, redo" path. */
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return GR_EMAPFULL;
    case ENOMEM:
        return GR_ENOMEM;
    default:
        return GR_ESTORE;
    }
}

static int s_check_id(const char *id, size_t *len)
{
    if (!id)
        return GR_EINVAL;
    size_t n = strnlen(id, GR_EVENT_ID_MAX + 1);
    if (n == 0 || n > GR_EVENT_ID_MAX)
        return GR_EINVAL;
    *len = n;
    return 0;
}

/* Memory that lives until the transaction ends: the hashes the store fills
 * into caller's messages must outlive the call, because callers pack those
 * messages into replies before committing. */
static uint8_t *s_txn_alloc(gr_txn_t *txn, size_t size)
{
    struct s_alloc *a = malloc(sizeof *a + size);
    if (!a)
        return NULL;
    a->next = txn->allocs;
    txn->allocs = a;
    return a->data;
}

static void s_txn_free(gr_txn_t **txn_p)
{
    gr_txn_t *txn = *txn_p;
    while (txn->allocs) {
        struct s_alloc *next = txn->allocs->next;
        free(txn->allocs);
        txn->allocs = next;
    }
    free(txn);
    *txn_p = NULL;
}

/* Sets a 32-byte field. When the field already holds 32 bytes the bytes are
 * overwritten in place: a message from protobuf-c's unpack owns that buffer,
 * and swapping the pointer would leak it and later make free_unpacked()
 * free store memory. Otherwise the bytes go to per-transaction memory. */
static int s_set_hash_field(gr_txn_t *txn, ProtobufCBinaryData *field, const uint8_t *src)
{
    if (field->len == S_HASH_LEN && field->data) {
        memmove(field->data, src, S_HASH_LEN);
        return 0;
    }
    uint8_t *copy = s_txn_alloc(txn, S_HASH_LEN);
    if (!copy)
        return GR_ENOMEM;
    memcpy(copy, src, S_HASH_LEN);
    field->data = copy;
    field->len = S_HASH_LEN;
    return 0;
}

static int s_get(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *val)
{
    MDB_val k = {keylen, (void *)key};
    return s_mdb_err(mdb_get(txn->txn, txn->store->dbi[db], &k, val));
}

/* Packs msg straight into LMDB's page (MDB_RESERVE), saving a copy. */
static int s_put_msg(gr_txn_t *txn, int db, const void *key, size_t keylen,
                     const ProtobufCMessage *msg, unsigned flags)
{
    MDB_val k = {keylen, (void *)key};
    MDB_val v = {protobuf_c_message_get_packed_size(msg), NULL};
    int rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, flags | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return s_mdb_err(rc);
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
}

static int s_put_raw(gr_txn_t *txn, int db, const void *key, size_t keylen,
                     const void *data, size_t len, unsigned flags)
{
    MDB_val k = {keylen, (void *)key};
    MDB_val v = {len, (void *)data};
    return s_mdb_err(mdb_put(txn->txn, txn->store->dbi[db], &k, &v, flags));
}

static int s_cursor(gr_txn_t *txn, int db, MDB_cursor **cur)
{
    return s_mdb_err(mdb_cursor_open(txn->txn, txn->store->dbi[db], cur));
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
    *version = s_get_u32(v.mv_data);
    return 0;
}

/* Checks or stamps the schema and opens every named database, all in one
 * write transaction: a refused store is aborted, hence left untouched. */
static int s_open_dbs(gr_store_t *self, const char *dir, char *err, size_t errlen)
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
    bool stamp = fresh;
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
        rc = m->run(txn);
        if (rc != MDB_SUCCESS) {
            s_seterr(err, errlen, "store %s: migration from schema %u failed: %s", dir,
                     version, mdb_strerror(rc));
            grc = s_mdb_err(rc);
            goto fail;
        }
        version++;
        stamp = true;
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
    if (stamp) {
        uint8_t be[4];
        s_put_u32(be, GR_STORE_SCHEMA_VERSION);
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

int gr_store_open(gr_store_t **out, const char *dir, const gr_store_options_t *opt,
                  char *err, size_t errlen)
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
    gr_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_seterr(err, errlen, "store %s: out of memory", dir);
        return GR_ENOMEM;
    }
    self->lock_fd = -1;
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
        mrc = mdb_env_set_maxdbs(self->env, 16);
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
    rc = s_open_dbs(self, dir, err, errlen);
    if (rc != 0)
        goto fail;
    *out = self;
    return 0;
fail:
    gr_store_close(&self);
    return rc;
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

int gr_store_commit(gr_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return GR_EINVAL;
    gr_txn_t *txn = *txn_p;
    int rc = 0;
    if (txn->write)
        rc = s_mdb_err(mdb_txn_commit(txn->txn));
    else
        mdb_txn_abort(txn->txn);
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
    *highest = 0;
    MDB_val v;
    int rc = s_get(txn, S_DB_SIGNERS, signer, 32, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return GR_ESTORE;
    *highest = s_get_u64(v.mv_data);
    return 0;
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
    s_put_u64(be, seq);
    return s_put_raw(txn, S_DB_SIGNERS, signer, 32, be, sizeof be, 0);
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
    s_put_u64(key + 32, seq);
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
    s_put_u64(key + 32, seq);
    return s_put_msg(txn, S_DB_DEDUP, key, sizeof key, &rec->base, 0);
}

/* ---- events and timelines ---- */

int gr_store_event_get(gr_txn_t *txn, const char *id, Gridrelay__StoredEvent **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc != 0)
        return rc;
    *out = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    return *out ? 0 : GR_EDECODE;
}

int gr_store_event_exists(gr_txn_t *txn, const char *id)
{
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    return rc == 0 ? 1 : rc;
}

/* id | 0x00 | seq: no id contains 0x00, so the entries of "ab" sort apart
 * from those of "abc" and a prefix scan finds exactly one case's history. */
static size_t s_timeline_key(uint8_t *key, const char *id, size_t idlen, uint32_t seq)
{
    memcpy(key, id, idlen);
    key[idlen] = 0;
    s_put_u32(key + idlen + 1, seq);
    return idlen + 5;
}

/* SHA-256(prev | entry packed with hash and signature empty). Works on a
 * shallow copy so the caller's entry is never touched. */
static int s_entry_hash(const Gridrelay__TimelineEntry *entry, const uint8_t *prev,
                        uint8_t out[S_HASH_LEN])
{
    Gridrelay__TimelineEntry bare = *entry;
    bare.hash.data = NULL;
    bare.hash.len = 0;
    bare.signature.data = NULL;
    bare.signature.len = 0;
    uint8_t stack[1024];
    size_t len = gridrelay__timeline_entry__get_packed_size(&bare);
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return GR_ENOMEM;
    gridrelay__timeline_entry__pack(&bare, buf);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, S_HASH_LEN);
    crypto_hash_sha256_update(&st, buf, len);
    crypto_hash_sha256_final(&st, out);
    if (buf != stack)
        free(buf);
    return 0;
}

/* Chains entry (whose seq is set) after prev and stores it. NOOVERWRITE:
 * an existing entry at this seq means the caller's record is stale. */
static int s_write_entry(gr_txn_t *txn, const char *id, size_t idlen,
                         Gridrelay__TimelineEntry *entry, const uint8_t *prev)
{
    int rc = s_set_hash_field(txn, &entry->prev_hash, prev);
    if (rc != 0)
        return rc;
    uint8_t hash[S_HASH_LEN];
    rc = s_entry_hash(entry, prev, hash);
    if (rc != 0)
        return rc;
    rc = s_set_hash_field(txn, &entry->hash, hash);
    if (rc != 0)
        return rc;
    uint8_t key[S_TIMELINE_KEY_MAX];
    size_t keylen = s_timeline_key(key, id, idlen, entry->seq);
    return s_put_msg(txn, S_DB_TIMELINE, key, keylen, &entry->base, MDB_NOOVERWRITE);
}

int gr_store_event_create(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *first)
{
    size_t idlen;
    if (!txn || !txn->write || !rec || !rec->event || !first
        || s_check_id(rec->event->id, &idlen) != 0)
        return GR_EINVAL;
    const char *id = rec->event->id;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc == 0)
        return GR_EEXIST;
    if (rc != GR_ENOTFOUND)
        return rc;

    static const uint8_t zero[S_HASH_LEN];
    first->seq = 1;
    rc = s_write_entry(txn, id, idlen, first, zero);
    if (rc != 0)
        return rc;
    rec->timeline_len = 1;
    rec->status = first->to_status;
    rec->updated_ms = first->time_ms;
    /* A copy of its own, not first->hash: a later append overwrites
     * last_hash in place and must not change the caller's first entry. */
    rc = s_set_hash_field(txn, &rec->last_hash, first->hash.data);
    if (rc != 0)
        return rc;
    rc = s_put_msg(txn, S_DB_EVENTS, id, idlen, &rec->base, MDB_NOOVERWRITE);
    if (rc != 0)
        return rc;
    uint8_t tkey[S_TIME_KEY_MAX];
    s_put_u64(tkey, rec->received_ms);
    memcpy(tkey + 8, id, idlen);
    return s_put_raw(txn, S_DB_BY_TIME, tkey, 8 + idlen, "", 0, MDB_NOOVERWRITE);
}

/* The previous hash comes from the stored entry, not from rec->last_hash,
 * so a caller's edit of rec cannot fork the chain. Errors: GR_ENOTFOUND if
 * rec's newest entry is not stored, GR_EEXIST if rec is stale (a newer
 * entry exists). */
int gr_store_event_append(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *entry)
{
    size_t idlen;
    if (!txn || !txn->write || !rec || !rec->event || !entry
        || s_check_id(rec->event->id, &idlen) != 0
        || rec->timeline_len == 0 || rec->timeline_len == UINT32_MAX)
        return GR_EINVAL;
    const char *id = rec->event->id;
    uint8_t key[S_TIMELINE_KEY_MAX];
    size_t keylen = s_timeline_key(key, id, idlen, rec->timeline_len);
    MDB_val v;
    int rc = s_get(txn, S_DB_TIMELINE, key, keylen, &v);
    if (rc != 0)
        return rc;
    Gridrelay__TimelineEntry *last = gridrelay__timeline_entry__unpack(NULL, v.mv_size,
                                                                       v.mv_data);
    if (!last)
        return GR_EDECODE;
    uint8_t prev[S_HASH_LEN];
    bool ok = last->hash.len == S_HASH_LEN;
    if (ok)
        memcpy(prev, last->hash.data, S_HASH_LEN);
    gridrelay__timeline_entry__free_unpacked(last, NULL);
    if (!ok)
        return GR_ESIGNATURE;

    entry->seq = rec->timeline_len + 1;
    rc = s_write_entry(txn, id, idlen, entry, prev);
    if (rc != 0)
        return rc;
    if (entry->to_status != GRIDRELAY__STATUS__STATUS_UNSPECIFIED)
        rec->status = entry->to_status;
    rec->updated_ms = entry->time_ms;
    rec->timeline_len = entry->seq;
    rc = s_set_hash_field(txn, &rec->last_hash, entry->hash.data);
    if (rc != 0)
        return rc;
    return s_put_msg(txn, S_DB_EVENTS, id, idlen, &rec->base, 0);
}

void gr_store_timeline_free(Gridrelay__TimelineEntry **entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++)
        gridrelay__timeline_entry__free_unpacked(entries[i], NULL);
    free(entries);
}

int gr_store_timeline_get(gr_txn_t *txn, const char *id,
                          Gridrelay__TimelineEntry ***entries, size_t *n)
{
    if (!entries || !n)
        return GR_EINVAL;
    *entries = NULL;
    *n = 0;
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    uint8_t prefix[S_TIMELINE_KEY_MAX];
    s_timeline_key(prefix, id, idlen, 0);
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_TIMELINE, &cur);
    if (rc != 0)
        return rc;
    Gridrelay__TimelineEntry **list = NULL;
    size_t count = 0, cap = 0;
    MDB_val k = {idlen + 1, prefix}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size == idlen + 5
           && memcmp(k.mv_data, prefix, idlen + 1) == 0) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            Gridrelay__TimelineEntry **nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                rc = GR_ENOMEM;
                goto fail;
            }
            list = nl;
            cap = ncap;
        }
        list[count] = gridrelay__timeline_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!list[count]) {
            rc = GR_EDECODE;
            goto fail;
        }
        count++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = s_mdb_err(mrc);
        goto fail;
    }
    mdb_cursor_close(cur);
    if (count == 0)
        return GR_ENOTFOUND;
    *entries = list;
    *n = count;
    return 0;
fail:
    mdb_cursor_close(cur);
    gr_store_timeline_free(list, count);
    return rc;
}

/* Besides each link, checks the record's timeline_len and last_hash against
 * the newest entry, which is what catches a truncated tail. */
int gr_store_timeline_verify(gr_txn_t *txn, const char *id)
{
    Gridrelay__TimelineEntry **entries;
    size_t n;
    int rc = gr_store_timeline_get(txn, id, &entries, &n);
    if (rc != 0)
        return rc;
    uint8_t prev[S_HASH_LEN] = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Gridrelay__TimelineEntry *e = entries[i];
        uint8_t hash[S_HASH_LEN];
        if (e->seq != i + 1 || e->prev_hash.len != S_HASH_LEN
            || memcmp(e->prev_hash.data, prev, S_HASH_LEN) != 0
            || e->hash.len != S_HASH_LEN) {
            rc = GR_ESIGNATURE;
            break;
        }
        rc = s_entry_hash(e, prev, hash);
        if (rc == 0 && memcmp(hash, e->hash.data, S_HASH_LEN) != 0)
            rc = GR_ESIGNATURE;
        memcpy(prev, e->hash.data, S_HASH_LEN);
    }
    if (rc == 0) {
        Gridrelay__StoredEvent *rec;
        rc = gr_store_event_get(txn, id, &rec);
        if (rc == GR_ENOTFOUND)
            rc = GR_ESIGNATURE;
        if (rc == 0) {
            if (rec->timeline_len != n || rec->last_hash.len != S_HASH_LEN
                || memcmp(rec->last_hash.data, prev, S_HASH_LEN) != 0)
                rc = GR_ESIGNATURE;
            gridrelay__stored_event__free_unpacked(rec, NULL);
        }
    }
    gr_store_timeline_free(entries, n);
    return rc;
}

/* ---- listing ---- */

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int s_token_decode(const char *token, uint8_t *key, size_t *keylen)
{
    size_t len = strnlen(token, 2 * S_TIME_KEY_MAX + 1);
    if (len % 2 != 0 || len < 2 * 9 || len > 2 * S_TIME_KEY_MAX)
        return GR_EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = s_hexval(token[2 * i]), lo = s_hexval(token[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return GR_EINVAL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    *keylen = len / 2;
    return 0;
}

static bool s_matches(const gr_store_filter_t *f, const Gridrelay__StoredEvent *rec)
{
    const char *category = rec->event && rec->event->category ? rec->event->category : "";
    int severity = rec->event ? (int)rec->event->severity : 0;
    if (f->status && (int)rec->status != f->status)
        return false;
    if (f->category && *f->category && strcmp(category, f->category) != 0)
        return false;
    return !f->severity || severity == f->severity;
}

/* Walks by_time and loads each record to filter it: a selective filter on
 * status/category scans O(events) per page. Fine at a node's scale; add
 * secondary indexes if that stops being true. */
int gr_store_list(gr_txn_t *txn, const gr_store_filter_t *filter, const char *page_token,
                  size_t limit, gr_store_visit_fn visit, void *ctx, char *next_token)
{
    static const gr_store_filter_t any;
    if (!txn || !visit || !next_token || limit == 0)
        return GR_EINVAL;
    next_token[0] = '\0';
    if (!filter)
        filter = &any;
    uint8_t start[S_TIME_KEY_MAX];
    size_t startlen = 0;
    if (page_token && *page_token && s_token_decode(page_token, start, &startlen) != 0)
        return GR_EINVAL;

    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_BY_TIME, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc;
    uint8_t since[8];
    if (startlen && s_get_u64(start) >= filter->since_ms) {
        k = (MDB_val){startlen, start};
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc == MDB_SUCCESS && k.mv_size == startlen && !memcmp(k.mv_data, start, startlen))
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    } else if (filter->since_ms) {
        /* An 8-byte key sorts before every key of that millisecond. */
        s_put_u64(since, filter->since_ms);
        k = (MDB_val){sizeof since, since};
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }

    size_t matched = 0;
    uint8_t last[S_TIME_KEY_MAX];
    size_t lastlen = 0;
    bool more = false;
    while (mrc == MDB_SUCCESS) {
        if (k.mv_size <= 8 || k.mv_size > S_TIME_KEY_MAX) {
            rc = GR_ESTORE;
            break;
        }
        if (filter->until_ms && s_get_u64(k.mv_data) >= filter->until_ms)
            break;
        if (matched == limit) {
            more = true;
            break;
        }
        MDB_val rv;
        rc = s_get(txn, S_DB_EVENTS, (uint8_t *)k.mv_data + 8, k.mv_size - 8, &rv);
        if (rc != 0) {
            /* by_time and events are written together: a miss is damage. */
            if (rc == GR_ENOTFOUND)
                rc = GR_ESTORE;
            break;
        }
        Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, rv.mv_size,
                                                                      rv.mv_data);
        if (!rec) {
            rc = GR_EDECODE;
            break;
        }
        if (s_matches(filter, rec)) {
            visit(ctx, rec);
            matched++;
            memcpy(last, k.mv_data, k.mv_size);
            lastlen = k.mv_size;
        }
        gridrelay__stored_event__free_unpacked(rec, NULL);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    if (rc == 0 && more)
        sodium_bin2hex(next_token, GR_PAGE_TOKEN_MAX, last, lastlen);
    return rc;
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
    MDB_val v;
    rc = s_get(txn, S_DB_META, key, keylen, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return GR_ESTORE;
    *value = s_get_u64(v.mv_data);
    return 0;
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
    s_put_u64(be, value + delta);
    return s_put_raw(txn, S_DB_META, key, keylen, be, sizeof be, 0);
}

/* ---- outbox ---- */

/* peer | 0x00 | seq, for the same reason as timeline keys. */
static int s_outbox_key(uint8_t *key, const char *peer, uint64_t seq, size_t *plen)
{
    if (!peer)
        return GR_EINVAL;
    size_t n = strnlen(peer, S_PEER_MAX + 1);
    if (n == 0 || n > S_PEER_MAX)
        return GR_EINVAL;
    memcpy(key, peer, n);
    key[n] = 0;
    s_put_u64(key + n + 1, seq);
    *plen = n;
    return 0;
}

int gr_store_outbox_put(gr_txn_t *txn, const char *peer, uint64_t seq,
                        const uint8_t *data, size_t len)
{
    if (!txn || !txn->write || (!data && len))
        return GR_EINVAL;
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t plen;
    int rc = s_outbox_key(key, peer, seq, &plen);
    if (rc != 0)
        return rc;
    return s_put_raw(txn, S_DB_OUTBOX, key, plen + 9, len ? data : (const uint8_t *)"",
                     len, 0);
}

int gr_store_outbox_del(gr_txn_t *txn, const char *peer, uint64_t seq)
{
    if (!txn || !txn->write)
        return GR_EINVAL;
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t plen;
    int rc = s_outbox_key(key, peer, seq, &plen);
    if (rc != 0)
        return rc;
    MDB_val k = {plen + 9, key};
    return s_mdb_err(mdb_del(txn->txn, txn->store->dbi[S_DB_OUTBOX], &k, NULL));
}

/* Visits peer's entries from seq `from` on, up to limit (SIZE_MAX = all);
 * with visit NULL it only counts them. */
static int s_outbox_walk(gr_txn_t *txn, const char *peer, uint64_t from, size_t limit,
                         gr_store_outbox_fn visit, void *ctx, uint64_t *count)
{
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t plen;
    *count = 0;
    int rc = s_outbox_key(key, peer, from, &plen);
    if (rc != 0)
        return rc;
    MDB_cursor *cur;
    rc = s_cursor(txn, S_DB_OUTBOX, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {plen + 9, key}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && *count < limit && k.mv_size == plen + 9
           && memcmp(k.mv_data, key, plen + 1) == 0) {
        if (visit)
            visit(ctx, s_get_u64((uint8_t *)k.mv_data + plen + 1), v.mv_data, v.mv_size);
        (*count)++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? 0 : s_mdb_err(mrc);
}

int gr_store_outbox_scan(gr_txn_t *txn, const char *peer, uint64_t after, size_t limit,
                         gr_store_outbox_fn visit, void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    if (after == UINT64_MAX || limit == 0)
        return 0;
    uint64_t count;
    return s_outbox_walk(txn, peer, after + 1, limit, visit, ctx, &count);
}

/* Counts by walking the peer's entries: O(depth), which stays cheap for
 * the thousands a long outage leaves behind, and can never drift the way a
 * separately kept count could. */
int gr_store_outbox_depth(gr_txn_t *txn, const char *peer, uint64_t *depth)
{
    if (!txn || !depth)
        return GR_EINVAL;
    return s_outbox_walk(txn, peer, 0, SIZE_MAX, NULL, NULL, depth);
}
