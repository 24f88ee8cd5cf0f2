/* The node's clock: what every case-level time is read from (receipt,
 * deadlines, timers, days of daily reports). It is the system clock,
 * unless gridrelayd was started with --clock FILE: then FILE holds a
 * signed offset in milliseconds ("3600000" = an hour ahead) that is added
 * to it, re-read whenever the file changes. That is how tests and the demo
 * move a node through hours and days without waiting; nothing else sets
 * it. Transport times (link resends, heartbeats) stay on the system clock.
 *
 * Thread safety: gr_clock_init() before any thread starts; gr_clock_now_ms()
 * from any thread (the main loop, the HTTP face's sessions).
 */
#ifndef GR_CLOCK_H
#define GR_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Uses path (NULL: the system clock alone). Returns 0, or GR_EIO with a
 * message in err when the file cannot be read or holds no number. */
int gr_clock_init(const char *path, char *err, size_t errlen);

/* Milliseconds since the epoch, as the node sees them. */
uint64_t gr_clock_now_ms(void);

#endif
