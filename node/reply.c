#include "reply.h"

#include <stdio.h>
#include <stdlib.h>

#include "envelope.h"
#include "error.h"

void gr_reply_clear(gr_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->len = 0;
    reply->acked = false;
    reply->duplicate = false;
    reply->error = 0;
    reply->event_id[0] = '\0';
}

int gr_reply_pack(gr_reply_t *reply, const Gridrelay__Body *body)
{
    size_t len = 0;
    uint8_t *buf = gr_body_pack(body, &len);
    if (!buf)
        return GR_ENOMEM;
    gr_reply_clear(reply);
    reply->body = buf;
    reply->len = len;
    return 0;
}

Gridrelay__ErrorCode gr_reply_wire_code(int code)
{
    switch (code) {
    case GR_ETOOBIG: return GRIDRELAY__ERROR_CODE__ERR_FRAME_TOO_LARGE;
    case GR_EDECODE: return GRIDRELAY__ERROR_CODE__ERR_DECODE;
    case GR_EVERSION: return GRIDRELAY__ERROR_CODE__ERR_VERSION;
    case GR_EUNTRUSTED: return GRIDRELAY__ERROR_CODE__ERR_UNTRUSTED;
    case GR_ESIGNATURE: return GRIDRELAY__ERROR_CODE__ERR_SIGNATURE;
    case GR_EREPLAY: return GRIDRELAY__ERROR_CODE__ERR_REPLAY;
    case GR_ECATEGORY: return GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY;
    case GR_ENOTFOUND: return GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND;
    case GR_EFULL: return GRIDRELAY__ERROR_CODE__ERR_STORE_FULL;
    case GR_EUNSUPPORTED: return GRIDRELAY__ERROR_CODE__ERR_UNSUPPORTED;
    case GR_EPERM: return GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN;
    case GR_EINVAL:
    case GR_EBADTEXT: return GRIDRELAY__ERROR_CODE__ERR_INVALID;
    default: return GRIDRELAY__ERROR_CODE__ERR_INTERNAL;
    }
}

int gr_reply_error(gr_reply_t *reply, uint64_t ref_seq, int code, const char *message)
{
    Gridrelay__Error error = GRIDRELAY__ERROR__INIT;
    error.code = gr_reply_wire_code(code);
    error.ref_seq = ref_seq;
    error.message = (char *)(message && *message ? message : gr_strerror(code));
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ERROR;
    body.error = &error;
    int rc = gr_reply_pack(reply, &body);
    if (rc == 0)
        reply->error = code;
    return rc;
}

int gr_reply_ack(gr_reply_t *reply, uint64_t ref_seq, const char *event_id, bool duplicate,
                 int status)
{
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    ack.ref_seq = ref_seq;
    ack.event_id = (char *)(event_id ? event_id : "");
    ack.duplicate = duplicate;
    ack.status = (Gridrelay__Status)status;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    body.ack = &ack;
    int rc = gr_reply_pack(reply, &body);
    if (rc == 0) {
        reply->acked = true;
        reply->duplicate = duplicate;
        snprintf(reply->event_id, sizeof reply->event_id, "%s", ack.event_id);
    }
    return rc;
}
