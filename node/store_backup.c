/* Hot backup and restore of a node's store (the contract is in store.h).
 *
 * Why gridctl copies the store itself rather than asking the node over its
 * request socket: LMDB lets another process open the environment read-only
 * and copy it from one read transaction (mdb_env_copy2), a consistent
 * snapshot while the daemon goes on writing; readers never block LMDB's
 * writer. Asked over the socket, the daemon would have to write the copy
 * itself, from a thread of its own (a compacting copy of a large store
 * takes seconds the main loop cannot stop for), into a directory its
 * hardened unit cannot write (ProtectSystem=strict leaves it only its
 * StateDirectory); and the bytes would still have to be on the node's
 * machine. The cost: the backup runs where the store is, as a user who
 * may read it (root, or the node's own user). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "store_internal.h"

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int s_fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* 0 when dir is missing or empty (then made, 0700), else -EEXIST. */
static int s_new_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    return access(path, F_OK) == 0 ? -EEXIST : 0;
}

int gr_store_backup(const char *store_dir, const char *dest_dir, size_t *bytes, char *err,
                    size_t errlen)
{
    if (bytes)
        *bytes = 0;
    if (!store_dir || !dest_dir)
        return GR_EINVAL;
    int rc = s_new_dir(dest_dir);
    if (rc != 0) {
        s_err(err, errlen, "backup %s: %s", dest_dir,
              rc == -EEXIST ? "holds a store already: back up into a new directory"
                            : strerror(-rc));
        return GR_EIO;
    }
    gr_store_t *store = NULL;
    rc = gr_store_open_readonly(&store, store_dir, err, errlen);
    if (rc != 0)
        return rc;
    /* One read transaction inside LMDB: the copy is the store as of one
     * commit, compacted (free pages left out). */
    int mrc = mdb_env_copy2(store->env, dest_dir, MDB_CP_COMPACT);
    gr_store_close(&store);
    if (mrc != MDB_SUCCESS) {
        s_err(err, errlen, "backup of %s into %s: %s", store_dir, dest_dir, mdb_strerror(mrc));
        return GR_ESTORE;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", dest_dir);
    struct stat st;
    if (s_fsync_path(path, O_RDONLY) != 0 || s_fsync_path(dest_dir, O_RDONLY | O_DIRECTORY) != 0 ||
        stat(path, &st) != 0) {
        s_err(err, errlen, "backup %s: cannot sync: %s", path, strerror(errno));
        return GR_EIO;
    }
    if (bytes)
        *bytes = (size_t)st.st_size;
    return 0;
}

int gr_store_restore(const char *backup_dir, const char *store_dir, char *err, size_t errlen)
{
    if (!backup_dir || !store_dir)
        return GR_EINVAL;
    char from[PATH_MAX], to[PATH_MAX], part[PATH_MAX], lock[PATH_MAX];
    snprintf(from, sizeof from, "%s/data.mdb", backup_dir);
    snprintf(to, sizeof to, "%s/data.mdb", store_dir);
    snprintf(part, sizeof part, "%s/data.mdb.restoring", store_dir);
    snprintf(lock, sizeof lock, "%s/gridrelayd.lock", store_dir);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        s_err(err, errlen, "restore: %s: %s", from, strerror(errno));
        return GR_EIO;
    }
    int lock_fd = -1, out = -1, grc = GR_EIO;
    int rc = access(store_dir, F_OK) == 0 ? 0 : (mkdir(store_dir, 0700) == 0 ? 0 : -errno);
    if (rc != 0) {
        s_err(err, errlen, "restore: cannot create %s: %s", store_dir, strerror(-rc));
        goto done;
    }
    /* The daemon's own lock: a running node is never written under, and
     * none can start on the directory while the copy is half done. */
    lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        s_err(err, errlen, "restore: %s is in use by a running gridrelayd: stop it, and "
              "restore into a new data directory", store_dir);
        goto done;
    }
    if (access(to, F_OK) == 0) {
        s_err(err, errlen, "restore: %s holds a store already: restore only into a new data "
              "directory (nothing was changed)", store_dir);
        goto done;
    }
    out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        s_err(err, errlen, "restore: %s: %s", part, strerror(errno));
        goto done;
    }
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                s_err(err, errlen, "restore: writing %s: %s", part, strerror(errno));
                goto done;
            }
            off += w;
        }
    }
    if (n < 0 || fsync(out) != 0) {
        s_err(err, errlen, "restore: copying %s: %s", from, strerror(errno));
        goto done;
    }
    /* Whole or not at all: the name appears only once the bytes are down. */
    if (rename(part, to) != 0 || s_fsync_path(store_dir, O_RDONLY | O_DIRECTORY) != 0) {
        s_err(err, errlen, "restore: %s: %s", to, strerror(errno));
        goto done;
    }
    grc = 0;
done:
    if (grc != 0 && out >= 0)
        unlink(part);
    if (out >= 0)
        close(out);
    if (lock_fd >= 0)
        close(lock_fd);
    close(in);
    return grc;
}
