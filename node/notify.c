#include "notify.h"

#include <stdio.h>
#include <string.h>

#ifdef GR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

#include "log.h"

static uint64_t s_watchdog_ms;      /* half of WATCHDOG_USEC, 0 = off */
static uint64_t s_last_ms;

void gr_notify_ready(const char *status)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0)
        s_watchdog_ms = usec / 2000;
    int rc = sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
    if (rc < 0)
        gr_log(GR_LOG_WARN, NULL, "could not tell the service manager we are ready: %s",
               strerror(-rc));
}

void gr_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void gr_notify_watchdog(uint64_t now_ms)
{
    if (!s_watchdog_ms || now_ms - s_last_ms < s_watchdog_ms)
        return;
    s_last_ms = now_ms;
    sd_notify(0, "WATCHDOG=1");
}
#else
void gr_notify_ready(const char *status)
{
    (void)status;
}

void gr_notify_stopping(void)
{
}

void gr_notify_watchdog(uint64_t now_ms)
{
    (void)now_ms;
}
#endif
