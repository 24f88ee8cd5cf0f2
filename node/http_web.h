/* The command view's page (web/index.html, app.js, style.css), embedded
 * into the binary at build time by tools/embed_web.py (a generated
 * web_files.c in the build dir), so there is nothing to install and no
 * directory to serve or traverse. Served to anyone (the page itself asks
 * for a login: every /api/ read needs a session), with a Content
 * Security Policy that lets it load nothing from anywhere but this node.
 *
 * Thread safety: as node/http.h.
 */
#ifndef GR_HTTP_WEB_H
#define GR_HTTP_WEB_H

#include <stddef.h>

#include "http.h"

/* One embedded file. */
typedef struct {
    const char *path;           /* "/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} gr_web_file_t;

/* The generated table (web_files.c). */
extern const gr_web_file_t gr_web_files[];
extern const size_t gr_web_n_files;

/* Registers GET / (index.html) and GET of each file. 0 or a
 * gr_http_route() error. */
int gr_http_web_register(gr_http_t *http);

#endif
