/* The HTTP face's TLS files ([http] cert and key): read and checked with
 * GnuTLS (the library libmicrohttpd itself does TLS with) before the
 * server starts, so that a missing file, a file that is no PEM
 * certificate or key, or a key that does not belong to the certificate
 * stops the node at start with a message naming the file and the line of
 * the config, rather than a server that cannot accept a connection.
 *
 * Thread safety: reentrant.
 */
#ifndef GR_HTTP_TLS_H
#define GR_HTTP_TLS_H

#include <stddef.h>

#include "config_http.h"

/* Reads hc->cert_path and hc->key_path into *cert and *key (NUL
 * terminated PEM, malloc'd; the caller frees, wiping the key) and checks
 * that GnuTLS takes them as a certificate with its private key. Returns
 * 0, or GR_ECONFIG with err ("[http] cert = PATH (line N): why") and both
 * outputs NULL. */
int gr_http_tls_load(const gr_http_config_t *hc, char **cert, char **key, char *err,
                     size_t errlen);

#endif
