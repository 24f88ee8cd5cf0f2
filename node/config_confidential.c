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

int gr_confidential_config_finish(const gr_confidential_config_t *self,
                                  const gr_catalogue_t *catalogue, const char *path, char *err,
                                  size_t errlen)
{
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
}
