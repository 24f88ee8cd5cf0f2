#include "event.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "event_id.h"

static bool s_set(const char *s)
{
    return s && *s;
}

static int s_too_long(const char *s, size_t max, const char *name, char *why, size_t why_len)
{
    if (s && strlen(s) > max) {
        snprintf(why, why_len, "%s is longer than %zu bytes", name, max);
        return GR_EINVAL;
    }
    return 0;
}

static int s_check_location(const Gridrelay__Location *loc, char *why, size_t why_len)
{
    if (!loc)
        return 0;
    if (!isfinite(loc->lat) || !isfinite(loc->lon) ||
        (loc->has_coordinates && (fabs(loc->lat) > 90.0 || fabs(loc->lon) > 180.0))) {
        snprintf(why, why_len, "coordinates must be finite, lat within ±90 and lon within ±180");
        return GR_EINVAL;
    }
    int rc = s_too_long(loc->grid_code, GR_EVENT_FIELD_MAX, "location.grid_code", why, why_len);
    return rc ? rc : s_too_long(loc->address, GR_EVENT_FIELD_MAX, "location.address", why, why_len);
}

int gr_event_check(const Gridrelay__Event *ev, uint64_t now_ms, char *why, size_t why_len)
{
    if (!ev) {
        snprintf(why, why_len, "report carries no event");
        return GR_EINVAL;
    }
    if (!s_set(ev->category)) {
        snprintf(why, why_len, "event has no category");
        return GR_EINVAL;
    }
    if (!gr_event_id_valid(ev->category)) {
        snprintf(why, why_len, "category must be 1..64 characters of [A-Za-z0-9._-]");
        return GR_EINVAL;
    }
    if (s_set(ev->id) && !gr_event_id_valid(ev->id)) {
        snprintf(why, why_len, "event id must be 1..64 characters of [A-Za-z0-9._-]");
        return GR_EINVAL;
    }
    if (s_set(ev->origin_node) && !gr_event_id_valid(ev->origin_node)) {
        snprintf(why, why_len, "origin_node must be a node id: 1..64 characters of [A-Za-z0-9._-]");
        return GR_EINVAL;
    }
    if (ev->severity < GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED ||
        ev->severity > GRIDRELAY__SEVERITY__EXTRA_URGENT) {
        snprintf(why, why_len, "severity %d out of range 1..3 (0: the category's default)",
                 (int)ev->severity);
        return GR_EINVAL;
    }
    if (!s_set(ev->title) || strlen(ev->title) > GR_EVENT_TITLE_MAX) {
        snprintf(why, why_len, "title must be 1..%d bytes", GR_EVENT_TITLE_MAX);
        return GR_EINVAL;
    }
    if (ev->created_ms &&
        (ev->created_ms < GR_EVENT_EPOCH_MS || ev->created_ms > now_ms + GR_EVENT_AHEAD_MS)) {
        snprintf(why, why_len, "created_ms must be after 2020-01-01 and at most a day ahead "
                 "of this node's clock (0: the node's receipt time)");
        return GR_EINVAL;
    }
    int rc;
    if ((rc = s_too_long(ev->description, GR_EVENT_TEXT_MAX, "description", why, why_len)) ||
        (rc = s_too_long(ev->reporter, GR_EVENT_FIELD_MAX, "reporter", why, why_len)) ||
        (rc = s_check_location(ev->location, why, why_len)))
        return rc;
    if (ev->n_tags > GR_EVENT_TAGS_MAX) {
        snprintf(why, why_len, "at most %d tags", GR_EVENT_TAGS_MAX);
        return GR_EINVAL;
    }
    for (size_t i = 0; i < ev->n_tags; i++)
        if ((rc = s_too_long(ev->tags[i], GR_EVENT_FIELD_MAX, "a tag", why, why_len)))
            return rc;
    if (ev->n_attachments > GR_EVENT_ATTACHMENTS_MAX) {
        snprintf(why, why_len, "at most %d attachments", GR_EVENT_ATTACHMENTS_MAX);
        return GR_EINVAL;
    }
    for (size_t i = 0; i < ev->n_attachments; i++) {
        const Gridrelay__Attachment *a = ev->attachments[i];
        if (a->sha256.len != 32) {
            snprintf(why, why_len, "attachment %zu: sha256 must be 32 bytes", i);
            return GR_EINVAL;
        }
        if ((rc = s_too_long(a->uri, GR_EVENT_FIELD_MAX * 2, "an attachment uri", why, why_len)) ||
            (rc = s_too_long(a->media_type, GR_EVENT_FIELD_MAX, "an attachment media_type", why,
                             why_len)))
            return rc;
    }
    return 0;
}

/* Replaces a string of an unpacked message (protobuf-c's empty default is
 * static and never freed). */
static int s_replace(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return GR_ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

int gr_event_resolve(Gridrelay__Event *ev, const Gridrelay__Resolved *resolved,
                     const gr_catalogue_t *catalogue, const char *node_id, uint64_t now_ms,
                     char *why, size_t why_len)
{
    const gr_category_t *category = gr_catalogue_find(catalogue, ev->category);
    if (!category) {
        /* The category is an id (gr_event_check), so naming it is safe. */
        snprintf(why, why_len, "unknown category '%s': not in this node's catalogue",
                 ev->category);
        return GR_ECATEGORY;
    }
    if (resolved) {
        if ((s_set(resolved->event_id) && !gr_event_id_valid(resolved->event_id)) ||
            (s_set(resolved->origin_node) && !gr_event_id_valid(resolved->origin_node)) ||
            resolved->severity < GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED ||
            resolved->severity > GRIDRELAY__SEVERITY__EXTRA_URGENT ||
            (s_set(ev->id) && s_set(resolved->event_id) && strcmp(ev->id, resolved->event_id))) {
            snprintf(why, why_len, "the resolved event fields are malformed or name another event");
            return GR_EINVAL;
        }
    }
    if (!s_set(ev->id)) {
        if (resolved && s_set(resolved->event_id)) {
            if (s_replace(&ev->id, resolved->event_id) != 0)
                return GR_ENOMEM;
        } else if (resolved) {
            snprintf(why, why_len, "the event has no id, and the node that stored it first gave none");
            return GR_EINVAL;
        } else {
            char id[GR_EVENT_ID_LEN + 1];
            gr_event_id_new(id, now_ms);
            if (s_replace(&ev->id, id) != 0)
                return GR_ENOMEM;
        }
    }
    if (ev->severity == GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED)
        ev->severity = resolved && resolved->severity ? resolved->severity
                                                       : (Gridrelay__Severity)category->default_severity;
    if (!s_set(ev->origin_node)) {
        const char *origin = resolved && s_set(resolved->origin_node) ? resolved->origin_node : node_id;
        if (s_replace(&ev->origin_node, origin) != 0)
            return GR_ENOMEM;
    }
    if (ev->created_ms == 0)
        ev->created_ms = resolved && resolved->created_ms ? resolved->created_ms : now_ms;
    return 0;
}

void gr_event_resolved_of(Gridrelay__Resolved *out, const Gridrelay__Event *ev)
{
    gridrelay__resolved__init(out);
    out->event_id = ev->id;
    out->severity = ev->severity;
    out->origin_node = ev->origin_node;
    out->created_ms = ev->created_ms;
}
