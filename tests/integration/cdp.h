/* A small Chrome DevTools Protocol driver for the browser tests: Debian's
 * chromium in headless mode with --remote-debugging-pipe, which speaks
 * CDP as NUL-terminated JSON messages on its fds 3 (commands in) and 4
 * (replies and events out), so no WebSocket library is needed. One page
 * target, attached in flat mode; every wait is bounded.
 *
 * Thread safety: one driver per thread.
 */
#ifndef GR_TEST_CDP_H
#define GR_TEST_CDP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

typedef struct cdp cdp_t;

/* The chromium binary ($GR_CHROMIUM, else chromium or chromium-browser
 * on PATH), or NULL when there is none (the test then skips). */
const char *cdp_browser(void);

/* Starts the browser with a fresh profile under profile_dir and a
 * width x height window, and attaches to its page. NULL with err. */
cdp_t *cdp_start(const char *profile_dir, int width, int height, char *err, size_t errlen);

/* Closes the browser (Browser.close, then SIGKILL if it lingers) and
 * frees the driver; *self_p = NULL. Accepts NULL. */
void cdp_stop(cdp_t **self_p);

/* Sends method with params (taken; NULL = {}) to the page (or to the
 * browser when to_browser) and waits up to timeout_ms for its reply:
 * 0 with *result (the caller's to put; NULL when not wanted), -1 on an
 * error reply, a dead browser or the timeout. */
int cdp_call(cdp_t *self, const char *method, json_object *params, bool to_browser,
             json_object **result, int timeout_ms);

/* Navigates to url and waits until the page's load event. */
int cdp_navigate(cdp_t *self, const char *url, int timeout_ms);

/* Evaluates js in the page (a promise is awaited) and writes the value
 * as text into out: a string as it is, anything else as JSON. 0, or -1
 * when it threw (out: the exception's text) or timed out. */
int cdp_eval(cdp_t *self, const char *js, char *out, size_t cap, int timeout_ms);

/* Evaluates the boolean expression js every 100 ms until it is true or
 * timeout_ms passed. */
bool cdp_wait(cdp_t *self, const char *js, int timeout_ms);

/* Page.captureScreenshot into path (PNG). 0 or -1. */
int cdp_screenshot(cdp_t *self, const char *path);

#endif
