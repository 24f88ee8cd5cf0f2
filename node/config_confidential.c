/* The [confidential] section; the contract is in config_confidential.h. */
#include "config_confidential.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int gr_confidential_config_key(gr_confidential_config_t *self, const char *key,
                               const char *value, int line, char *msg, size_t msglen)
{
    if (strlen(key) >= sizeof self->lines[0].category) {
        snprintf(msg, msglen, "confidential: category '%s' is too long", key);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->lines[i].category, key) == 0) {
            snprintf(msg, msglen, "confidential: duplicate key '%s' (first at line %d)", key,
                     self->lines[i].line);
            return GR_ECONFIG;
        }
    }
    gr_confidential_line_t *lines = realloc(self->lines, (self->n + 1) * sizeof *lines);
    if (!lines)
        return GR_ENOMEM;
    self->lines = lines;
    gr_confidential_line_t *l = &lines[self->n];
    memset(l, 0, sizeof *l);
    snprintf(l->category, sizeof l->category, "%s", key);
    l->line = line;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", value);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = '\0';
        if (!len)
            continue;
        if (len >= sizeof l->names[0] || l->n_names == GR_CONFIDENTIAL_NAMES_MAX) {
            snprintf(msg, msglen, "confidential: %s: at most %d names of at most 63 bytes",
                     key, GR_CONFIDENTIAL_NAMES_MAX);
            return GR_ECONFIG;
        }
        memcpy(l->names[l->n_names++], t, len + 1);
    }
    if (l->n_names == 0) {
        snprintf(msg, msglen, "confidential: %s: name at least one operator (names from "
                 "[operators], comma-separated)", key);
        return GR_ECONFIG;
    }
    self->n++;
    return 0;
}

int gr_confidential_config_seal(gr_confidential_config_t *self, const char *category,
                                const char *node, const uint8_t pk[32], int line, char *msg,
                                size_t msglen)
{
    if (strlen(category) >= sizeof self->seals[0].category || strlen(node) >= sizeof self->seals[0].node) {
        snprintf(msg, msglen, "confidential_seal: '%s' is too long", category);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < self->n_seals; i++) {
        if (strcmp(self->seals[i].category, category) == 0) {
            snprintf(msg, msglen, "confidential_seal: duplicate key '%s' (first at line %d)",
                     category, self->seals[i].line);
            return GR_ECONFIG;
        }
    }
    gr_confidential_seal_t *seals = realloc(self->seals, (self->n_seals + 1) * sizeof *seals);
    if (!seals)
        return GR_ENOMEM;
    self->seals = seals;
    gr_confidential_seal_t *l = &seals[self->n_seals++];
    memset(l, 0, sizeof *l);
    snprintf(l->category, sizeof l->category, "%s", category);
    snprintf(l->node, sizeof l->node, "%s", node);
    memcpy(l->pk, pk, sizeof l->pk);
    l->line = line;
    return 0;
}

const gr_confidential_seal_t *gr_confidential_config_seal_of(const gr_confidential_config_t *self,
                                                             const char *category)
{
    for (size_t i = 0; self && category && i < self->n_seals; i++)
        if (strcmp(self->seals[i].category, category) == 0)
            return &self->seals[i];
    return NULL;
}

static int s_check_category(const gr_catalogue_t *catalogue, const char *section,
                            const char *category, int line, const char *path, char *err,
                            size_t errlen)
{
    const gr_category_t *c = gr_catalogue_find(catalogue, category);
    if (c && c->confidential)
        return 0;
    snprintf(err, errlen, "%s:%d: %s: %s: %s", path, line, section, category,
             c ? "the catalogue does not mark it confidential = yes"
               : "not a category of the catalogue");
    return GR_ECONFIG;
}

int gr_confidential_config_finish(const gr_confidential_config_t *self,
                                  const gr_catalogue_t *catalogue, const char *path, char *err,
                                  size_t errlen)
{
    for (size_t i = 0; i < self->n_seals; i++)
        if (s_check_category(catalogue, "confidential_seal", self->seals[i].category,
                             self->seals[i].line, path, err, errlen) != 0)
            return GR_ECONFIG;
    for (size_t i = 0; i < self->n; i++) {
        const gr_category_t *c = gr_catalogue_find(catalogue, self->lines[i].category);
        if (!c || !c->confidential) {
            snprintf(err, errlen, "%s:%d: confidential: %s: %s", path, self->lines[i].line,
                     self->lines[i].category,
                     c ? "the catalogue does not mark it confidential = yes"
                       : "not a category of the catalogue");
            return GR_ECONFIG;
        }
    }
    return 0;
}

bool gr_confidential_config_names(const gr_confidential_config_t *self, const char *category,
                                  const char *name)
{
    if (!self || !category || !name || !*name)
        return false;
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->lines[i].category, category) != 0)
            continue;
        for (size_t j = 0; j < self->lines[i].n_names; j++)
            if (strcmp(self->lines[i].names[j], name) == 0)
                return true;
    }
    return false;
}

void gr_confidential_config_clear(gr_confidential_config_t *self)
{
    free(self->lines);
    self->lines = NULL;
    self->n = 0;
    free(self->seals);
    self->seals = NULL;
    self->n_seals = 0;
}
