#include "cdp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "harness.h"

struct cdp {
    pid_t pid;
    int in_fd;              /* our end of the browser's fd 3 */
    int out_fd;             /* our end of the browser's fd 4 */
    char *buf;              /* bytes read, not yet a whole message */
    size_t len, cap;
    int next_id;
    char session[128];      /* the page's flat session id */
    bool loaded;            /* Page.loadEventFired seen since the last navigate */
};

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool s_executable(const char *path)
{
    return access(path, X_OK) == 0;
}

const char *cdp_browser(void)
{
    static char found[512];
    const char *env = getenv("GR_CHROMIUM");
    if (env && *env)
        return s_executable(env) ? env : NULL;
    const char *path = getenv("PATH");
    const char *names[] = {"chromium", "chromium-browser"};
    for (size_t n = 0; n < 2; n++) {
        char dirs[4096];
        snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(found, sizeof found, "%s/%s", d, names[n]);
            if (s_executable(found))
                return found;
        }
    }
    return NULL;
}

/* ---- messages ---- */

static int s_send(cdp_t *self, json_object *msg)
{
    const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(text) + 1;     /* the NUL ends the message */
    for (size_t off = 0; off < len;) {
        ssize_t n = write(self->in_fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* The next whole message, waiting until deadline (monotonic ms); NULL on
 * timeout or a closed pipe. */
static json_object *s_next(cdp_t *self, uint64_t deadline)
{
    for (;;) {
        /* memchr on the NULL buffer before the first read is undefined. */
        char *nul = self->len ? memchr(self->buf, '\0', self->len) : NULL;
        if (nul) {
            json_object *msg = json_tokener_parse(self->buf);
            size_t used = (size_t)(nul - self->buf) + 1;
            memmove(self->buf, nul + 1, self->len - used);
            self->len -= used;
            if (msg)
                return msg;
            continue;
        }
        uint64_t now = s_now_ms();
        if (now >= deadline)
            return NULL;
        struct pollfd p = {self->out_fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return NULL;
        if (self->cap - self->len < 65536) {
            size_t cap = self->cap * 2 + 65536;
            char *buf = realloc(self->buf, cap);
            if (!buf)
                return NULL;
            self->buf = buf;
            self->cap = cap;
        }
        ssize_t n = read(self->out_fd, self->buf + self->len, self->cap - self->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        self->len += (size_t)n;
    }
}

static void s_event(cdp_t *self, json_object *msg)
{
    json_object *method = NULL, *params = NULL;
    if (!json_object_object_get_ex(msg, "method", &method))
        return;
    const char *name = json_object_get_string(method);
    if (strcmp(name, "Page.loadEventFired") == 0)
        self->loaded = true;
    /* The page's own errors are the test's to see. */
    if (strcmp(name, "Runtime.exceptionThrown") == 0 &&
        json_object_object_get_ex(msg, "params", &params))
        fprintf(stderr, "cdp: page exception: %s\n", json_object_to_json_string(params));
}

int cdp_call(cdp_t *self, const char *method, json_object *params, bool to_browser,
             json_object **result, int timeout_ms)
{
    if (result)
        *result = NULL;
    int id = ++self->next_id;
    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "id", json_object_new_int(id));
    json_object_object_add(msg, "method", json_object_new_string(method));
    json_object_object_add(msg, "params", params ? params : json_object_new_object());
    if (!to_browser && self->session[0])
        json_object_object_add(msg, "sessionId", json_object_new_string(self->session));
    int rc = s_send(self, msg);
    json_object_put(msg);
    if (rc != 0)
        return -1;
    uint64_t deadline = s_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        json_object *in = s_next(self, deadline);
        if (!in) {
            if (getenv("GR_TEST_VERBOSE"))
                fprintf(stderr, "cdp: no reply to %s in %d ms\n", method, timeout_ms);
            return -1;
        }
        json_object *got = NULL;
        if (!json_object_object_get_ex(in, "id", &got) || json_object_get_int(got) != id) {
            s_event(self, in);
            json_object_put(in);
            continue;
        }
        json_object *res = NULL, *error = NULL;
        if (json_object_object_get_ex(in, "error", &error)) {
            if (getenv("GR_TEST_VERBOSE"))
                fprintf(stderr, "cdp: %s: %s\n", method, json_object_to_json_string(error));
            json_object_put(in);
            return -1;
        }
        if (result && json_object_object_get_ex(in, "result", &res))
            *result = json_object_get(res);
        json_object_put(in);
        return 0;
    }
}

/* ---- lifecycle ---- */

static int s_attach(cdp_t *self, int width, int height)
{
    json_object *res = NULL;
    if (cdp_call(self, "Target.getTargets", NULL, true, &res, 20000) != 0)
        return -1;
    json_object *infos = NULL;
    char target[128] = "";
    if (json_object_object_get_ex(res, "targetInfos", &infos)) {
        for (size_t i = 0; i < json_object_array_length(infos) && !target[0]; i++) {
            json_object *t = json_object_array_get_idx(infos, i), *type, *tid;
            if (json_object_object_get_ex(t, "type", &type) &&
                strcmp(json_object_get_string(type), "page") == 0 &&
                json_object_object_get_ex(t, "targetId", &tid))
                snprintf(target, sizeof target, "%s", json_object_get_string(tid));
        }
    }
    json_object_put(res);
    if (!target[0]) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "url", json_object_new_string("about:blank"));
        if (cdp_call(self, "Target.createTarget", p, true, &res, 10000) != 0)
            return -1;
        json_object *tid = NULL;
        if (json_object_object_get_ex(res, "targetId", &tid))
            snprintf(target, sizeof target, "%s", json_object_get_string(tid));
        json_object_put(res);
    }
    json_object *p = json_object_new_object();
    json_object_object_add(p, "targetId", json_object_new_string(target));
    json_object_object_add(p, "flatten", json_object_new_boolean(1));
    if (cdp_call(self, "Target.attachToTarget", p, true, &res, 10000) != 0)
        return -1;
    json_object *sid = NULL;
    if (json_object_object_get_ex(res, "sessionId", &sid))
        snprintf(self->session, sizeof self->session, "%s", json_object_get_string(sid));
    json_object_put(res);
    if (!self->session[0] || cdp_call(self, "Page.enable", NULL, false, NULL, 10000) != 0 ||
        cdp_call(self, "Runtime.enable", NULL, false, NULL, 10000) != 0)
        return -1;
    p = json_object_new_object();
    json_object_object_add(p, "width", json_object_new_int(width));
    json_object_object_add(p, "height", json_object_new_int(height));
    json_object_object_add(p, "deviceScaleFactor", json_object_new_int(1));
    json_object_object_add(p, "mobile", json_object_new_boolean(0));
    return cdp_call(self, "Emulation.setDeviceMetricsOverride", p, false, NULL, 10000);
}

cdp_t *cdp_start(const char *profile_dir, int width, int height, char *err, size_t errlen)
{
    const char *browser = cdp_browser();
    if (!browser) {
        snprintf(err, errlen, "no chromium");
        return NULL;
    }
    cdp_t *self = calloc(1, sizeof *self);
    int to_browser[2], from_browser[2];
    if (!self || pipe2(to_browser, O_CLOEXEC) != 0) {
        free(self);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    if (pipe2(from_browser, O_CLOEXEC) != 0) {
        close(to_browser[0]);
        close(to_browser[1]);
        free(self);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    char profile[600], size[64];
    snprintf(profile, sizeof profile, "--user-data-dir=%s", profile_dir);
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    pid_t pid = fork();
    if (pid == 0) {
        /* fds 3 and 4 are the protocol's; everything else is closed on
         * exec. The browser's own chatter goes to /dev/null unless the
         * test is verbose. */
        int in = fcntl(to_browser[0], F_DUPFD_CLOEXEC, 10);
        int out = fcntl(from_browser[1], F_DUPFD_CLOEXEC, 10);
        if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0)
            _exit(127);
        if (!getenv("GR_TEST_VERBOSE")) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
        }
        /* --no-sandbox: the suite runs as root in CI, where Chromium's
         * sandbox refuses to start; the page is the node's own. */
        execl(browser, browser, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
              "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--no-default-browser-check", "--disable-extensions", "--disable-sync",
              "--disable-background-networking", "--disable-component-update",
              "--hide-scrollbars", "--mute-audio", profile, size, "about:blank", (char *)NULL);
        _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    self->pid = pid;
    self->in_fd = to_browser[1];
    self->out_fd = from_browser[0];
    if (pid < 0 || s_attach(self, width, height) != 0) {
        snprintf(err, errlen, "%s did not start or attach to its page", browser);
        cdp_stop(&self);
        return NULL;
    }
    return self;
}

/* Whether the browser process has exited (or is not ours to wait for). */
static bool s_reaped(void *arg)
{
    return waitpid(*(pid_t *)arg, NULL, WNOHANG) != 0;
}

void cdp_stop(cdp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cdp_t *self = *self_p;
    if (self->pid > 0) {
        cdp_call(self, "Browser.close", NULL, true, NULL, 3000);
        if (!harness_wait_until(s_reaped, &self->pid, 5000)) {
            kill(self->pid, SIGKILL);
            waitpid(self->pid, NULL, 0);
        }
    }
    if (self->in_fd > 0)
        close(self->in_fd);
    if (self->out_fd > 0)
        close(self->out_fd);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

/* ---- page helpers ---- */

int cdp_navigate(cdp_t *self, const char *url, int timeout_ms)
{
    self->loaded = false;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "url", json_object_new_string(url));
    if (cdp_call(self, "Page.navigate", p, false, NULL, timeout_ms) != 0)
        return -1;
    uint64_t deadline = s_now_ms() + (uint64_t)timeout_ms;
    while (!self->loaded) {
        json_object *in = s_next(self, deadline);
        if (!in)
            return -1;
        s_event(self, in);
        json_object_put(in);
    }
    return 0;
}

int cdp_eval(cdp_t *self, const char *js, char *out, size_t cap, int timeout_ms)
{
    json_object *p = json_object_new_object(), *res = NULL;
    json_object_object_add(p, "expression", json_object_new_string(js));
    json_object_object_add(p, "awaitPromise", json_object_new_boolean(1));
    json_object_object_add(p, "returnByValue", json_object_new_boolean(1));
    json_object_object_add(p, "timeout", json_object_new_int(timeout_ms));
    if (out && cap)
        out[0] = '\0';
    if (cdp_call(self, "Runtime.evaluate", p, false, &res, timeout_ms + 1000) != 0)
        return -1;
    json_object *exc = NULL, *r = NULL, *value = NULL;
    int rc = 0;
    if (json_object_object_get_ex(res, "exceptionDetails", &exc)) {
        if (out)
            snprintf(out, cap, "%s", json_object_to_json_string(exc));
        rc = -1;
    } else if (out && json_object_object_get_ex(res, "result", &r) &&
               json_object_object_get_ex(r, "value", &value)) {
        snprintf(out, cap, "%s", json_object_is_type(value, json_type_string)
                                     ? json_object_get_string(value)
                                     : json_object_to_json_string(value));
    }
    json_object_put(res);
    return rc;
}

typedef struct {
    cdp_t *self;
    const char *js;
} s_wait_t;

static bool s_js_true(void *arg)
{
    s_wait_t *w = arg;
    char out[64];
    return cdp_eval(w->self, w->js, out, sizeof out, 5000) == 0 && strcmp(out, "true") == 0;
}

bool cdp_wait(cdp_t *self, const char *js, int timeout_ms)
{
    s_wait_t w = { self, js };
    return harness_wait_until(s_js_true, &w, timeout_ms);
}

int cdp_screenshot(cdp_t *self, const char *path)
{
    json_object *p = json_object_new_object(), *res = NULL, *data = NULL;
    json_object_object_add(p, "format", json_object_new_string("png"));
    json_object_object_add(p, "captureBeyondViewport", json_object_new_boolean(0));
    if (cdp_call(self, "Page.captureScreenshot", p, false, &res, 20000) != 0)
        return -1;
    int rc = -1;
    if (json_object_object_get_ex(res, "data", &data)) {
        const char *b64 = json_object_get_string(data);
        size_t b64_len = strlen(b64), len = 0;
        unsigned char *png = malloc(b64_len);
        FILE *f = NULL;
        if (png && sodium_base642bin(png, b64_len, b64, b64_len, NULL, &len, NULL,
                                     sodium_base64_VARIANT_ORIGINAL) == 0 &&
            (f = fopen(path, "wb"))) {
            rc = fwrite(png, 1, len, f) == len ? 0 : -1;
            if (fclose(f) != 0)
                rc = -1;
        }
        free(png);
    }
    json_object_put(res);
    return rc;
}
