#include "http_open311.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalogue.h"
#include "error.h"
#include "http_xml.h"
#include "text.h"

#define S_CALL_MS 3000
#define S_LIST_MAX 50
#define S_TITLE_MAX 120
#define S_MEDIA_TAG "media_url="

#define S_XML_TYPE "text/xml; charset=utf-8"

/* The spec's format is the path's extension: .xml, else JSON. */
static bool s_xml(gr_http_req_t *req)
{
    const char *path = gr_http_req_path(req);
    size_t len = strlen(path);
    return len > 4 && strcmp(path + len - 4, ".xml") == 0;
}

/* obj (taken) in the request's format: XML as <root>, an array's
 * elements each <item> (node/http_xml.h). e < GR_HTTP_E_COUNT: a
 * refusal, counted. */
static void s_answer(gr_http_req_t *req, gr_http_error_t e, unsigned status, json_object *obj,
                     const char *root, const char *item)
{
    if (!s_xml(req)) {
        if (e < GR_HTTP_E_COUNT)
            gr_http_reply_refusal(req, e, status, obj);
        else
            gr_http_reply_json(req, status, obj);
        return;
    }
    size_t len = 0;
    char *xml = obj ? gr_http_xml(obj, root, item, &len) : NULL;
    json_object_put(obj);
    if (!xml)
        gr_http_reply_error(req, GR_HTTP_E_UNAVAILABLE, "out of memory");
    else if (e < GR_HTTP_E_COUNT)
        gr_http_reply_refusal_bytes(req, e, status, S_XML_TYPE, xml, len);
    else
        gr_http_reply_bytes(req, status, S_XML_TYPE, xml, len);
    free(xml);
}

/* An answer of the spec (not a refusal). */
static void s_reply(gr_http_req_t *req, unsigned status, json_object *obj, const char *root,
                    const char *item)
{
    s_answer(req, GR_HTTP_E_COUNT, status, obj, root, item);
}

/* The spec's error form, counted as kind. */
static void s_fail(gr_http_req_t *req, gr_http_error_t kind, unsigned status, const char *text)
{
    json_object *arr = json_object_new_array(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int((int)status));
    json_object_object_add(e, "description", json_object_new_string(text));
    json_object_array_add(arr, e);
    s_answer(req, kind, status, arr, "errors", "error");
}

/* A node's refusal or silence, in the spec's form. */
static void s_node_fail(gr_http_req_t *req, int rc, const gr_opened_t *reply)
{
    if (rc != 0 || !reply->body) {
        s_fail(req, GR_HTTP_E_UNAVAILABLE, 503, "the node did not answer in time: retry later");
        return;
    }
    const Gridrelay__Error *e = reply->body->error;
    if (!e) {
        s_fail(req, GR_HTTP_E_NODE_REFUSED, 502, "the node answered something unexpected");
        return;
    }
    unsigned status = gr_http_status_of_node_error(e->code);
    gr_http_error_t kind = status == 404   ? GR_HTTP_E_NOT_FOUND
                           : status == 403 ? GR_HTTP_E_FORBIDDEN
                           : status == 400 ? GR_HTTP_E_BAD_REQUEST
                                           : GR_HTTP_E_NODE_REFUSED;
    s_fail(req, kind, status, e->message && *e->message ? e->message : "refused by the node");
}

/* "2026-12-07T08:00:00Z" */
static json_object *s_time(uint64_t ms)
{
    if (!ms)
        return NULL;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char text[32];
    if (!gmtime_r(&t, &tm) || strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return json_object_new_string(text);
}

/* A W3C date-time (UTC, or with an offset), or a plain date: ms since the
 * epoch; 0 when it is not one. */
static uint64_t s_parse_time(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text, "%Y-%m-%d", &tm);
    if (!rest)
        return 0;
    if (*rest == 'T' && !(rest = strptime(rest + 1, "%H:%M:%S", &tm)))
        return 0;
    long offset = 0;
    if (*rest == '+' || *rest == '-') {
        int h = 0, m = 0;
        if (sscanf(rest + 1, "%2d:%2d", &h, &m) != 2)
            return 0;
        offset = (*rest == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    } else if (*rest && strcmp(rest, "Z") != 0) {
        return 0;
    }
    time_t t = timegm(&tm) - offset;
    return t > 0 ? (uint64_t)t * 1000 : 0;
}

/* ---- services ---- */

static json_object *s_service(const gr_category_t *c)
{
    json_object *s = json_object_new_object();
    json_object_object_add(s, "service_code", json_object_new_string(c->code));
    json_object_object_add(s, "service_name", json_object_new_string(c->name));
    char description[300];
    snprintf(description, sizeof description, "%s / %s / %s", c->class_name, c->subclass_name,
             c->name);
    json_object_object_add(s, "description", json_object_new_string(description));
    json_object_object_add(s, "metadata", json_object_new_boolean(0));
    json_object_object_add(s, "type", json_object_new_string("realtime"));
    json_object_object_add(s, "keywords", json_object_new_string(c->subclass_name));
    json_object_object_add(s, "group", json_object_new_string(c->class_name));
    return s;
}

static void s_services(gr_http_req_t *req)
{
    const gr_catalogue_t *cat = gr_http_req_config(req)->catalogue;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < gr_catalogue_count(cat); i++)
        json_object_array_add(arr, s_service(gr_catalogue_at(cat, i)));
    s_reply(req, 200, arr, "services", "service");
}

static void s_service_definition(gr_http_req_t *req, const char *code)
{
    const gr_category_t *c = gr_catalogue_find(gr_http_req_config(req)->catalogue, code);
    if (!c) {
        s_fail(req, GR_HTTP_E_NOT_FOUND, 404, "no such service_code in this node's catalogue");
        return;
    }
    /* No category asks for extra attributes: the definition is empty. */
    json_object *def = json_object_new_object();
    json_object_object_add(def, "service_code", json_object_new_string(c->code));
    json_object_object_add(def, "attributes", json_object_new_array());
    s_reply(req, 200, def, "service_definition", NULL);
}

/* ---- one request, from the node's EventDetail ---- */

static bool s_closed(int status)
{
    return status == GRIDRELAY__STATUS__RESOLVED || status == GRIDRELAY__STATUS__FED_BACK ||
           status == GRIDRELAY__STATUS__CLOSED;
}

static void s_add_str(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, value && *value ? json_object_new_string(value) : NULL);
}

static json_object *s_request_json(const gr_config_t *cfg, const Gridrelay__EventDetail *d)
{
    const Gridrelay__Event *ev = d->event;
    json_object *r = json_object_new_object();
    s_add_str(r, "service_request_id", ev->id);
    json_object_object_add(r, "status",
                           json_object_new_string(s_closed(d->status) ? "closed" : "open"));
    const char *notes = d->result;
    if ((!notes || !*notes) && d->n_timeline)
        notes = d->timeline[d->n_timeline - 1]->reason;
    s_add_str(r, "status_notes", notes);
    s_add_str(r, "agency_responsible", d->dept && *d->dept ? d->dept : d->holder);
    s_add_str(r, "service_code", ev->category);
    const gr_category_t *c = gr_catalogue_find(cfg->catalogue, ev->category);
    s_add_str(r, "service_name", c ? c->name : NULL);
    s_add_str(r, "description", ev->description);
    json_object_object_add(r, "requested_datetime", s_time(ev->created_ms));
    json_object_object_add(r, "updated_datetime", s_time(d->updated_ms ? d->updated_ms
                                                                       : d->received_ms));
    const Gridrelay__Location *loc = ev->location;
    s_add_str(r, "address", loc ? loc->address : NULL);
    json_object_object_add(r, "lat", loc && loc->has_coordinates
                                         ? json_object_new_double(loc->lat) : NULL);
    json_object_object_add(r, "long", loc && loc->has_coordinates
                                          ? json_object_new_double(loc->lon) : NULL);
    const char *media = NULL;
    for (size_t i = 0; i < ev->n_tags; i++)
        if (strncmp(ev->tags[i], S_MEDIA_TAG, strlen(S_MEDIA_TAG)) == 0)
            media = ev->tags[i] + strlen(S_MEDIA_TAG);
    s_add_str(r, "media_url", media);
    return r;
}

/* The node's EventDetail of id: 0 with *reply, else the node's rc (an
 * Error reply is 0 too: the caller looks at its kind). */
static int s_get(gr_http_req_t *req, const char *id, gr_opened_t *reply)
{
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    return gr_http_call(req, &body, "http", reply, S_CALL_MS);
}

static bool s_is_detail(const gr_opened_t *reply)
{
    return reply->body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL &&
           reply->body->event_detail->event;
}

static void s_request(gr_http_req_t *req, const char *id)
{
    gr_opened_t reply = {0};
    int rc = s_get(req, id, &reply);
    if (rc == 0 && s_is_detail(&reply)) {
        json_object *arr = json_object_new_array();
        json_object_array_add(arr, s_request_json(gr_http_req_config(req),
                                                  reply.body->event_detail));
        s_reply(req, 200, arr, "service_requests", "request");
    } else if (rc == 0 && reply.body->error &&
               reply.body->error->code == GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND) {
        s_fail(req, GR_HTTP_E_NOT_FOUND, 404, "no such service_request_id at this node");
    } else {
        s_node_fail(req, rc, &reply);
    }
    gr_opened_clear(&reply);
}

/* ---- the list ---- */

/* Whether detail d passes the list's filters. */
static bool s_keep(const Gridrelay__EventDetail *d, const char *status, const char *code,
                   uint64_t since, uint64_t until)
{
    uint64_t at = d->event->created_ms;
    if (status && strcmp(status, s_closed(d->status) ? "closed" : "open") != 0)
        return false;
    if (code && strcmp(code, d->event->category) != 0)
        return false;
    return (!since || at >= since) && (!until || at < until);
}

/* Adds the requests named in ids ("a,b,c") that pass the filters. */
static int s_list_ids(gr_http_req_t *req, json_object *arr, const char *ids, const char *status,
                      const char *code, uint64_t since, uint64_t until)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", ids);
    char *save = NULL;
    int n = 0;
    for (char *id = strtok_r(copy, ",", &save); id && n < S_LIST_MAX;
         id = strtok_r(NULL, ",", &save)) {
        gr_opened_t reply = {0};
        int rc = s_get(req, id, &reply);
        if (rc != 0)
            return rc;
        if (s_is_detail(&reply) && s_keep(reply.body->event_detail, status, code, since, until)) {
            json_object_array_add(arr, s_request_json(gr_http_req_config(req),
                                                      reply.body->event_detail));
            n++;
        }
        gr_opened_clear(&reply);
    }
    return 0;
}

/* Adds this node's cases that pass the filters, oldest first, the last
 * S_LIST_MAX of them (the spec's default is the newest). */
static int s_list_all(gr_http_req_t *req, json_object *arr, const char *status,
                      const char *code, uint64_t since, uint64_t until)
{
    Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
    list.category = (char *)(code ? code : "");
    list.since_ms = since;
    list.until_ms = until;
    list.limit = 1000;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
    body.list_events = &list;
    char ids[S_LIST_MAX][GR_HTTP_NAME_MAX + 40];
    size_t n = 0, total = 0;
    char token[256] = "";
    for (;;) {
        list.page_token = token;
        gr_opened_t reply = {0};
        int rc = gr_http_call(req, &body, "http", &reply, S_CALL_MS);
        if (rc != 0)
            return rc;
        if (reply.body->kind_case != GRIDRELAY__BODY__KIND_EVENT_PAGE) {
            gr_opened_clear(&reply);
            return GR_EIO;
        }
        const Gridrelay__EventPage *page = reply.body->event_page;
        for (size_t i = 0; i < page->n_events; i++) {
            const Gridrelay__EventSummary *s = page->events[i];
            if (status && strcmp(status, s_closed(s->status) ? "closed" : "open") != 0)
                continue;
            if (s->merged_into && *s->merged_into)
                continue;   /* part of another case: that one stands for it */
            snprintf(ids[total % S_LIST_MAX], sizeof ids[0], "%s", s->id);
            total++;
        }
        snprintf(token, sizeof token, "%s", page->next_page_token ? page->next_page_token : "");
        gr_opened_clear(&reply);
        if (!token[0])
            break;
    }
    n = total < S_LIST_MAX ? total : S_LIST_MAX;
    for (size_t k = 0; k < n; k++) {
        const char *id = ids[(total - n + k) % S_LIST_MAX];
        gr_opened_t reply = {0};
        int rc = s_get(req, id, &reply);
        if (rc != 0)
            return rc;
        if (s_is_detail(&reply))
            json_object_array_add(arr, s_request_json(gr_http_req_config(req),
                                                      reply.body->event_detail));
        gr_opened_clear(&reply);
    }
    return 0;
}

static void s_requests(gr_http_req_t *req)
{
    const char *ids = gr_http_req_query(req, "service_request_id");
    const char *code = gr_http_req_query(req, "service_code");
    const char *status = gr_http_req_query(req, "status");
    const char *start = gr_http_req_query(req, "start_date");
    const char *end = gr_http_req_query(req, "end_date");
    if (code && !*code)
        code = NULL;
    if (status && !*status)
        status = NULL;
    if (status && strcmp(status, "open") != 0 && strcmp(status, "closed") != 0) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400, "status must be open or closed");
        return;
    }
    uint64_t since = start && *start ? s_parse_time(start) : 0;
    uint64_t until = end && *end ? s_parse_time(end) : 0;
    if ((start && *start && !since) || (end && *end && !until)) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400,
               "start_date and end_date are W3C date-times, e.g. 2026-12-07T08:00:00Z");
        return;
    }
    json_object *arr = json_object_new_array();
    int rc = ids && *ids ? s_list_ids(req, arr, ids, status, code, since, until)
                         : s_list_all(req, arr, status, code, since, until);
    if (rc != 0) {
        json_object_put(arr);
        s_fail(req, GR_HTTP_E_UNAVAILABLE, 503, "the node did not answer in time: retry later");
        return;
    }
    s_reply(req, 200, arr, "service_requests", "request");
}

/* ---- a new request ---- */

/* lat and long together, finite and on the globe; both absent is fine. */
static int s_coordinates(const char *lat, const char *lon, Gridrelay__Location *loc)
{
    if (!lat && !lon)
        return 0;
    char *end1 = NULL, *end2 = NULL;
    double a = lat ? strtod(lat, &end1) : NAN, b = lon ? strtod(lon, &end2) : NAN;
    if (!lat || !lon || end1 == lat || *end1 || end2 == lon || *end2 || !isfinite(a) ||
        !isfinite(b) || fabs(a) > 90.0 || fabs(b) > 180.0)
        return -1;
    loc->lat = a;
    loc->lon = b;
    loc->has_coordinates = true;
    return 1;
}

static const char *s_field(gr_http_req_t *req, const char *name)
{
    const char *v = gr_http_req_form(req, name);
    return v && *v ? v : NULL;
}

static void s_post_request(gr_http_req_t *req)
{
    const gr_config_t *cfg = gr_http_req_config(req);
    const gr_open311_client_t *client =
        gr_http_config_client_by_key(&cfg->http, s_field(req, "api_key"));
    if (!client) {
        s_fail(req, GR_HTTP_E_API_KEY, 403, s_field(req, "api_key")
                                                ? "api_key is not valid for this node"
                                                : "api_key is required");
        return;
    }
    const char *code = s_field(req, "service_code");
    if (!code) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400, "service_code is required");
        return;
    }
    const gr_category_t *c = gr_catalogue_find(cfg->catalogue, code);
    if (!c) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400,
               "service_code is not a service of this node (GET services.json)");
        return;
    }
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    const char *address = s_field(req, "address_string");
    int coords = s_coordinates(s_field(req, "lat"), s_field(req, "long"), &loc);
    if (coords < 0) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400,
               "lat and long come together, as decimal degrees within ±90 and ±180");
        return;
    }
    if (!coords && !address) {
        s_fail(req, GR_HTTP_E_BAD_REQUEST, 400,
               "a location is required: lat and long, or address_string");
        return;
    }
    const char *description = s_field(req, "description");
    const char *media = s_field(req, "media_url");
    const char *fields[] = {address, description, media};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i] && !gr_utf8_valid((const uint8_t *)fields[i], strlen(fields[i]))) {
            s_fail(req, GR_HTTP_E_BAD_REQUEST, 400, "fields must be UTF-8 text");
            return;
        }
    }
    loc.address = (char *)(address ? address : "");
    /* The title: the description's first line, cut at a character, else
     * the service's name. */
    char title[S_TITLE_MAX + 1];
    gr_utf8_copy(title, sizeof title, description ? description : c->name);
    title[strcspn(title, "\r\n")] = '\0';
    if (!title[0])
        snprintf(title, sizeof title, "%s", c->name);
    char media_tag[1100];
    char *tags[1] = {media_tag};
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.category = (char *)c->code;
    ev.title = title;
    ev.description = (char *)(description ? description : "");
    ev.reporter = (char *)client->reporter;
    ev.location = &loc;
    if (media) {
        if (snprintf(media_tag, sizeof media_tag, S_MEDIA_TAG "%s", media) >= 512) {
            s_fail(req, GR_HTTP_E_BAD_REQUEST, 400, "media_url is too long");
            return;
        }
        ev.tags = tags;
        ev.n_tags = 1;
    }
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    char on_behalf[GR_HTTP_NAME_MAX + 16];
    snprintf(on_behalf, sizeof on_behalf, "open311:%s", client->name);
    gr_opened_t reply = {0};
    int rc = gr_http_call(req, &body, on_behalf, &reply, S_CALL_MS);
    if (rc == 0 && reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK) {
        json_object *arr = json_object_new_array(), *r = json_object_new_object();
        json_object_object_add(r, "service_request_id",
                               json_object_new_string(reply.body->ack->event_id));
        json_object_object_add(r, "service_notice", json_object_new_string(""));
        json_object_object_add(r, "account_id", NULL);
        json_object_array_add(arr, r);
        s_reply(req, 201, arr, "service_requests", "request");
    } else {
        s_node_fail(req, rc, &reply);
    }
    gr_opened_clear(&reply);
}

/* ---- routing within /open311/v2/ ---- */

/* The length of tail's format extension, ".json" or ".xml"; 0 for none. */
static size_t s_ext(const char *tail)
{
    size_t len = strlen(tail);
    if (len > 5 && strcmp(tail + len - 5, ".json") == 0)
        return 5;
    if (len > 4 && strcmp(tail + len - 4, ".xml") == 0)
        return 4;
    return 0;
}

/* tail is name followed by .json or .xml. */
static bool s_is(const char *tail, const char *name)
{
    size_t ext = s_ext(tail), nlen = strlen(name);
    return ext && strlen(tail) == nlen + ext && strncmp(tail, name, nlen) == 0;
}

/* tail "services/X.json" (or .xml) with prefix "services/": X into out. */
static bool s_item(const char *tail, const char *prefix, char *out, size_t outlen)
{
    size_t plen = strlen(prefix), len = strlen(tail), ext = s_ext(tail);
    if (strncmp(tail, prefix, plen) != 0 || !ext || len <= plen + ext ||
        len - plen - ext >= outlen)
        return false;
    memcpy(out, tail + plen, len - plen - ext);
    out[len - plen - ext] = '\0';
    return strchr(out, '/') == NULL;
}

static void s_get_route(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const char *tail = gr_http_req_tail(req);
    char item[128];
    if (s_is(tail, "services"))
        s_services(req);
    else if (s_is(tail, "requests"))
        s_requests(req);
    else if (s_item(tail, "services/", item, sizeof item))
        s_service_definition(req, item);
    else if (s_item(tail, "requests/", item, sizeof item))
        s_request(req, item);
    else
        s_fail(req, GR_HTTP_E_NOT_FOUND, 404, "no such Open311 resource (this node speaks "
               "GeoReport v2 in JSON and XML: services.json, requests.xml...)");
}

static void s_post_route(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    s_post_request(req);
}

int gr_http_open311_register(gr_http_t *http)
{
    int rc = gr_http_route(http, "GET", "/open311/v2/" "*", GR_HTTP_PUBLIC, s_get_route, NULL);
    if (rc == 0)
        rc = gr_http_route(http, "POST", "/open311/v2/requests.json", GR_HTTP_PUBLIC,
                           s_post_route, NULL);
    if (rc == 0)
        rc = gr_http_route(http, "POST", "/open311/v2/requests.xml", GR_HTTP_PUBLIC,
                           s_post_route, NULL);
    return rc;
}
