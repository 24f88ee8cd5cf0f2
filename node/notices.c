#include "notices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "curve.h"
#include "error.h"
#include "log.h"

/* What a department's notices go under: its topic, and the key this node
 * shares with it to box them. */
typedef struct {
    char topic[GR_DEPT_TOPIC_MAX];
    uint8_t key[GR_BOX_KEY_BYTES];
} s_box_t;

struct gr_notices {
    void *pub;
    char endpoint[256];
    s_box_t *boxes;
    size_t n_boxes;
};

void gr_notices_destroy(gr_notices_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_notices_t *self = *self_p;
    if (self->pub)
        zmq_close(self->pub);
    if (self->boxes)
        sodium_memzero(self->boxes, self->n_boxes * sizeof *self->boxes);
    free(self->boxes);
    free(self);
    *self_p = NULL;
}

static int s_fail(gr_notices_t **self_p, int rc)
{
    gr_notices_destroy(self_p);
    return rc;
}

int gr_notices_new(gr_notices_t **out, void *zmq_ctx, const gr_config_t *cfg,
                   gr_departments_t *departments, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->task_listen)
        return 0;
    gr_notices_t *self = calloc(1, sizeof *self);
    if (!self || !(self->boxes = calloc(cfg->n_depts ? cfg->n_depts : 1, sizeof *self->boxes))) {
        snprintf(err, errlen, "out of memory");
        return s_fail(&self, GR_ENOMEM);
    }
    for (size_t i = 0; i < cfg->n_depts; i++, self->n_boxes++) {
        s_box_t *box = &self->boxes[i];
        gr_departments_topic(box->topic, cfg->depts[i].code);
        if (gr_box_key(box->key, cfg->depts[i].pk, &cfg->keys) != 0) {
            snprintf(err, errlen, "department %s: its key is not a usable public key",
                     cfg->depts[i].code);
            return s_fail(&self, GR_EKEY);
        }
    }
    if (!(self->pub = zmq_socket(zmq_ctx, ZMQ_PUB))) {
        snprintf(err, errlen, "cannot create socket: %s", zmq_strerror(zmq_errno()));
        return s_fail(&self, GR_EIO);
    }
    int linger = 1000, hwm = 100000;
    zmq_setsockopt(self->pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (gr_curve_server_in(self->pub, &cfg->keys, GR_ZAP_DOMAIN_DEPARTMENTS) != 0 ||
        zmq_bind(self->pub, cfg->task_listen) != 0) {
        snprintf(err, errlen, "cannot listen for departments on %s: %s", cfg->task_listen,
                 zmq_strerror(zmq_errno()));
        return s_fail(&self, GR_EIO);
    }
    size_t len = sizeof self->endpoint;
    if (zmq_getsockopt(self->pub, ZMQ_LAST_ENDPOINT, self->endpoint, &len) != 0)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", cfg->task_listen);
    if (gr_departments_set_notice_endpoint(departments, self->endpoint) != 0) {
        snprintf(err, errlen, "out of memory");
        return s_fail(&self, GR_ENOMEM);
    }
    *out = self;
    return 0;
}

void *gr_notices_socket(gr_notices_t *self)
{
    return self->pub;
}

const char *gr_notices_endpoint(const gr_notices_t *self)
{
    return self ? self->endpoint : NULL;
}

/* The box key for a notice on topic: the one this node shares with that
 * topic's department; NULL for a topic naming no department. */
static const uint8_t *s_key(const gr_notices_t *self, const char *topic)
{
    for (size_t i = 0; i < self->n_boxes; i++)
        if (strcmp(self->boxes[i].topic, topic) == 0)
            return self->boxes[i].key;
    return NULL;
}

void gr_notices_publish(gr_notices_t *self, const gr_sealer_t *sealer, const gr_effects_t *effects)
{
    const gr_packed_list_t *notices = &effects->notices;
    size_t n = notices->count;
    if (!self || n == 0)
        return;
    gr_seal_job_t *seals = calloc(n, sizeof *seals);
    gr_seal_job_t **jobs = calloc(n, sizeof *jobs);
    if (!seals || !jobs) {
        gr_log(GR_LOG_ERROR, NULL, "cannot publish %zu task notices: out of memory", n);
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        seals[i].box_key = s_key(self, notices->topics[i]);
        if (!seals[i].box_key) {
            gr_log(GR_LOG_ERROR, NULL, "task notice on %s not sent: it names no department",
                   notices->topics[i]);
            continue;
        }
        seals[i].body = notices->bodies[i];
        seals[i].body_len = notices->lens[i];
        jobs[m++] = &seals[i];
    }
    gr_sealer_run(sealer, jobs, m);
    for (size_t i = 0; i < n; i++) {
        if (!seals[i].body)
            continue;  /* named no department: said above */
        if (!seals[i].frame) {
            gr_log(GR_LOG_ERROR, NULL, "cannot seal a task notice: out of memory");
            continue;
        }
        if (zmq_send(self->pub, notices->topics[i], strlen(notices->topics[i]),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(self->pub, seals[i].frame, seals[i].frame_len, ZMQ_DONTWAIT) < 0)
            gr_log(GR_LOG_WARN, NULL, "task notice on %s not sent: %s", notices->topics[i],
                   zmq_strerror(zmq_errno()));
        free(seals[i].frame);
    }
out:
    free(seals);
    free(jobs);
}
