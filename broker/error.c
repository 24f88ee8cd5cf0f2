#include "error.h"

#include <string.h>

static const char *const s_messages[] = {
    [-(GR_ENOMEM - GR_EBASE)] = "out of memory",
    [-(GR_EINVAL - GR_EBASE)] = "invalid argument",
    [-(GR_EIO - GR_EBASE)] = "input/output error",
    [-(GR_ETOOBIG - GR_EBASE)] = "frame too large",
    [-(GR_EDECODE - GR_EBASE)] = "malformed message",
    [-(GR_EVERSION - GR_EBASE)] = "unsupported protocol version",
    [-(GR_EUNTRUSTED - GR_EBASE)] = "signer not trusted",
    [-(GR_ESIGNATURE - GR_EBASE)] = "bad signature",
    [-(GR_EREPLAY - GR_EBASE)] = "replayed or stale sequence",
    [-(GR_ECATEGORY - GR_EBASE)] = "unknown category",
    [-(GR_ENOTFOUND - GR_EBASE)] = "not found",
    [-(GR_EMAPFULL - GR_EBASE)] = "store map full",
    [-(GR_EFULL - GR_EBASE)] = "store full",
    [-(GR_ESCHEMA - GR_EBASE)] = "unsupported store schema version",
    [-(GR_ECONFIG - GR_EBASE)] = "configuration error",
    [-(GR_EKEY - GR_EBASE)] = "bad key file",
    [-(GR_ETIMEOUT - GR_EBASE)] = "timed out",
    [-(GR_EEXIST - GR_EBASE)] = "already exists",
    [-(GR_EPERM - GR_EBASE)] = "not permitted",
    [-(GR_ESTORE - GR_EBASE)] = "store error",
    [-(GR_EREFUSED - GR_EBASE)] = "refused by the node",
    [-(GR_EUNSUPPORTED - GR_EBASE)] = "unsupported message kind",
    [-(GR_EBADTEXT - GR_EBASE)] = "text field not valid UTF-8 or holding a NUL byte",
};

const char *gr_strerror(int code)
{
    if (code == GR_OK)
        return "success";
    if (code < GR_EBASE && code > GR_ELAST) {
        const char *msg = s_messages[-(code - GR_EBASE)];
        return msg ? msg : "unknown gridrelay error";
    }
    if (code < 0 && code > GR_EBASE)
        return strerror(-code);
    return "unknown error";
}
