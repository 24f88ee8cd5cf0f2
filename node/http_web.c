#include "http_web.h"

#include <string.h>

/* Nothing but this node: no CDN, no inline script, no framing. */
#define S_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
              "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static void s_file(gr_http_req_t *req, void *ctx)
{
    const gr_web_file_t *f = ctx;
    gr_http_reply_header(req, "Content-Security-Policy", S_CSP);
    gr_http_reply_header(req, "X-Content-Type-Options", "nosniff");
    gr_http_reply_header(req, "Cache-Control", "no-cache");
    gr_http_reply_bytes(req, 200, f->content_type, f->data, f->len);
}

int gr_http_web_register(gr_http_t *http)
{
    for (size_t i = 0; i < gr_web_n_files; i++) {
        const gr_web_file_t *f = &gr_web_files[i];
        int rc = gr_http_route(http, "GET", f->path, GR_HTTP_PUBLIC, s_file, (void *)f);
        if (rc == 0 && strcmp(f->path, "/index.html") == 0)
            rc = gr_http_route(http, "GET", "/", GR_HTTP_PUBLIC, s_file, (void *)f);
        if (rc != 0)
            return rc;
    }
    return 0;
}
