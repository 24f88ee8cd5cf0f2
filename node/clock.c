#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "log.h"

/* The HTTP face's sessions expire on this clock too (node/http_session),
 * from its own threads: the lock keeps the offset and its file in step. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    char path[4096];
    int64_t offset_ms;
    struct timespec mtime;   /* of the file when last read */
    uint64_t checked_ms;     /* system time of the last stat() */
} s_clock;

static uint64_t s_system_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the offset; 0 on success. */
static int s_read(int64_t *offset)
{
    FILE *f = fopen(s_clock.path, "r");
    if (!f)
        return -1;
    char line[64] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok)
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(line, &end, 10);
    if (errno || end == line || (*end && *end != '\n'))
        return -1;
    *offset = v;
    return 0;
}

int gr_clock_init(const char *path, char *err, size_t errlen)
{
    memset(&s_clock, 0, sizeof s_clock);
    if (!path)
        return 0;
    if (snprintf(s_clock.path, sizeof s_clock.path, "%s", path) >= (int)sizeof s_clock.path ||
        s_read(&s_clock.offset_ms) != 0) {
        snprintf(err, errlen, "--clock %s: cannot read a signed number of milliseconds from it",
                 path);
        s_clock.path[0] = '\0';
        return GR_EIO;
    }
    struct stat st;
    if (stat(path, &st) == 0)
        s_clock.mtime = st.st_mtim;
    return 0;
}

uint64_t gr_clock_now_ms(void)
{
    uint64_t now = s_system_ms();
    if (!s_clock.path[0])
        return now;
    /* A stat() at most every 10 ms: the file is for tests, which wait in
     * bounded polls anyway. */
    pthread_mutex_lock(&s_lock);
    if (now - s_clock.checked_ms >= 10) {
        s_clock.checked_ms = now;
        struct stat st;
        int64_t offset;
        if (stat(s_clock.path, &st) == 0 &&
            (st.st_mtim.tv_sec != s_clock.mtime.tv_sec || st.st_mtim.tv_nsec != s_clock.mtime.tv_nsec) &&
            s_read(&offset) == 0) {
            s_clock.mtime = st.st_mtim;
            if (offset != s_clock.offset_ms)
                gr_log(GR_LOG_NOTICE, NULL, "test clock moved: offset %lld ms",
                       (long long)offset);
            s_clock.offset_ms = offset;
        }
    }
    int64_t t = (int64_t)now + s_clock.offset_ms;
    pthread_mutex_unlock(&s_lock);
    return t > 0 ? (uint64_t)t : 0;
}
