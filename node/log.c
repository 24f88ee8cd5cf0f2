#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char s_node_id[64] = "-";
static gr_log_level_t s_max_level = GR_LOG_INFO;
static int s_journal = 0;

static const char *s_level_name(gr_log_level_t level)
{
    switch (level) {
    case GR_LOG_ERROR: return "ERROR";
    case GR_LOG_WARN: return "WARN";
    case GR_LOG_NOTICE: return "NOTICE";
    case GR_LOG_INFO: return "INFO";
    case GR_LOG_DEBUG: return "DEBUG";
    }
    return "?";
}

void gr_log_init(const char *node_id, gr_log_level_t max_level)
{
    if (node_id && *node_id)
        snprintf(s_node_id, sizeof s_node_id, "%s", node_id);
    s_max_level = max_level;
    s_journal = getenv("JOURNAL_STREAM") != NULL;
}

void gr_log(gr_log_level_t level, const char *case_id, const char *fmt, ...)
{
    if (level > s_max_level)
        return;
    char line[2048];
    size_t n = 0;
    if (s_journal) {
        n = (size_t)snprintf(line, sizeof line, "<%d>", (int)level);
    } else {
        /* The seconds part is formatted once per second and thread. */
        static __thread time_t cached_sec = -1;
        static __thread char cached[32];
        static __thread size_t cached_len;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_sec != cached_sec) {
            struct tm tm;
            gmtime_r(&ts.tv_sec, &tm);
            cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
            cached_sec = ts.tv_sec;
        }
        memcpy(line, cached, cached_len);
        n = cached_len;
        n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "%-6s node=%s ", s_level_name(level),
                          s_node_id);
    if (case_id && *case_id)
        n += (size_t)snprintf(line + n, sizeof line - n, "case=%s ", case_id);
    if (n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
        n = m < 0 ? n : n + (size_t)m;
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;  /* truncated: keep it one line */
    /* Control characters from peers (event titles...) must not forge lines. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, n);
    (void)rc;  /* nowhere to report a failing stderr */
}
