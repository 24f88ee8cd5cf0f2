/* One log module for the daemon: one line per event on stderr, with level,
 * node id and (when there is one) case id.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with a "<N>" syslog
 * priority prefix that journald turns into the entry's priority; on a
 * terminal it starts with a UTC timestamp instead. GR_DEBUG lines are
 * compiled out unless GR_DEBUG_TRACE is defined; gr_log(GR_LOG_DEBUG, ...)
 * lines (every case change) are shown with gridrelayd -v, and cost one
 * comparison otherwise: the level is checked before anything is formatted.
 *
 * Thread safety: gr_log() may be called from any thread (one write(2) per
 * line, so lines never interleave); gr_log_init() once, before threads.
 */
#ifndef GR_LOG_H
#define GR_LOG_H

typedef enum {
    GR_LOG_ERROR = 3,
    GR_LOG_WARN = 4,
    GR_LOG_NOTICE = 5,
    GR_LOG_INFO = 6,
    GR_LOG_DEBUG = 7,
} gr_log_level_t;

/* Sets the node id printed on every line and the most verbose level shown. */
void gr_log_init(const char *node_id, gr_log_level_t max_level);

/* Logs one line. case_id may be NULL. */
void gr_log(gr_log_level_t level, const char *case_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef GR_DEBUG_TRACE
#define GR_DEBUG(case_id, ...) gr_log(GR_LOG_DEBUG, (case_id), __VA_ARGS__)
#else
#define GR_DEBUG(case_id, ...) ((void)0)
#endif

#endif
