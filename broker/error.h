/* gridrelay error codes.
 *
 * Every gridrelay function that can fail returns int: 0 on success, or one of
 * the negative GR_E* codes below. They live in their own range (-1000 and
 * below) so they never collide with -errno values, which functions may also
 * pass through (gr_strerror() handles both).
 *
 * Thread safety: all functions here are safe from any thread.
 */
#ifndef GR_ERROR_H
#define GR_ERROR_H

enum {
    GR_OK = 0,
    GR_EBASE = -1000,
    GR_ENOMEM = -1001,      /* allocation failed */
    GR_EINVAL = -1002,      /* bad argument or missing field */
    GR_EIO = -1003,         /* file or socket error (see errno in logs) */
    GR_ETOOBIG = -1004,     /* frame larger than the configured maximum */
    GR_EDECODE = -1005,     /* not a valid protobuf message */
    GR_EVERSION = -1006,    /* unsupported protocol version */
    GR_EUNTRUSTED = -1007,  /* signer not in the trust list */
    GR_ESIGNATURE = -1008,  /* signature does not verify */
    GR_EREPLAY = -1009,     /* sequence older than the replay window */
    GR_ECATEGORY = -1010,   /* category not in the catalogue */
    GR_ENOTFOUND = -1011,   /* no such record */
    GR_EMAPFULL = -1012,    /* LMDB map full: caller should grow and retry */
    GR_EFULL = -1013,       /* store at its configured maximum size */
    GR_ESCHEMA = -1014,     /* store schema version not supported */
    GR_ECONFIG = -1015,     /* configuration error */
    GR_EKEY = -1016,        /* key file missing, malformed or unsafe */
    GR_ETIMEOUT = -1017,    /* no reply in time */
    GR_EEXIST = -1018,      /* refusing to overwrite */
    GR_EPERM = -1019,       /* signer not allowed to do this */
    GR_ESTORE = -1020,      /* other LMDB failure */
    GR_EREFUSED = -1021,    /* the node answered with an Error */
    GR_EUNSUPPORTED = -1022,/* message kind not handled */
    GR_EBADTEXT = -1023,    /* a string field is not UTF-8, or holds a NUL byte */
    GR_ELAST = -1024
};

/* Returns a static, human-readable description of code, which may be a
 * GR_E* code or a negative errno. Never returns NULL. */
const char *gr_strerror(int code);

#endif
