/* The service manager's readiness protocol (systemd's sd_notify): READY=1
 * once the store is open and every endpoint bound (the main loop starts),
 * STOPPING=1 when a SIGTERM or SIGINT is being acted on, WATCHDOG=1 from
 * the main loop when the unit sets WatchdogSec. Each does nothing when
 * NOTIFY_SOCKET is unset (not started by systemd with Type=notify) or the
 * build has no libsystemd (meson option systemd=disabled).
 *
 * Thread safety: the daemon's main thread only. */
#ifndef GR_NOTIFY_H
#define GR_NOTIFY_H

#include <stdint.h>

/* READY=1, with a STATUS= line naming what is listening. */
void gr_notify_ready(const char *status);
/* STOPPING=1. */
void gr_notify_stopping(void);
/* WATCHDOG=1 when the watchdog is on and half its interval has passed
 * since the last one (cheap to call every loop turn). */
void gr_notify_watchdog(uint64_t now_ms);

#endif
