#include "http_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "error.h"

#define S_PEM_MAX (1 << 20)

/* The whole file, NUL terminated; NULL with err. */
static char *s_read(const char *what, const char *path, int line, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "[http] %s = %s (line %d): cannot open it: %s", what, path, line,
                 strerror(errno));
        return NULL;
    }
    char *buf = malloc(S_PEM_MAX + 1);
    size_t len = buf ? fread(buf, 1, S_PEM_MAX + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    const char *why = !buf ? "out of memory" : bad ? "cannot read it" : len == 0 ? "it is empty"
                      : len > S_PEM_MAX ? "it is larger than 1 MiB" : NULL;
    if (why) {
        if (buf)
            sodium_memzero(buf, len > S_PEM_MAX ? S_PEM_MAX + 1 : len);
        free(buf);
        snprintf(err, errlen, "[http] %s = %s (line %d): %s", what, path, line, why);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int gr_http_tls_load(const gr_http_config_t *hc, char **cert, char **key, char *err,
                     size_t errlen)
{
    *cert = *key = NULL;
    int cert_line = hc->line[GR_HTTP_KEY_CERT], key_line = hc->line[GR_HTTP_KEY_KEY];
    char *c = s_read("cert", hc->cert_path, cert_line, err, errlen);
    char *k = c ? s_read("key", hc->key_path, key_line, err, errlen) : NULL;
    if (!k) {
        free(c);
        return GR_ECONFIG;
    }
    /* The certificate alone first, so that its faults name its file. */
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cd = {(unsigned char *)c, (unsigned)strlen(c)};
    int grc = gnutls_x509_crt_init(&crt);
    if (grc == GNUTLS_E_SUCCESS)
        grc = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    const char *what = "cert", *path = hc->cert_path;
    int line = cert_line;
    if (grc == GNUTLS_E_SUCCESS) {
        /* Then the key with it: a PEM private key that matches. */
        gnutls_certificate_credentials_t cred = NULL;
        gnutls_datum_t kd = {(unsigned char *)k, (unsigned)strlen(k)};
        grc = gnutls_certificate_allocate_credentials(&cred);
        if (grc == GNUTLS_E_SUCCESS)
            grc = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM,
                                                       NULL, 0);
        if (cred)
            gnutls_certificate_free_credentials(cred);
        what = "key";
        path = hc->key_path;
        line = key_line;
    }
    if (grc < 0) {
        snprintf(err, errlen, "[http] %s = %s (line %d): not usable for HTTPS: %s (a PEM "
                 "certificate and its PEM private key are needed)", what, path, line,
                 gnutls_strerror(grc));
        free(c);
        sodium_memzero(k, strlen(k));
        free(k);
        return GR_ECONFIG;
    }
    *cert = c;
    *key = k;
    return 0;
}
