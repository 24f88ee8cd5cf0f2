/* The category catalogue: which event categories a node knows, loaded from
 * a data file (examples/catalogue.ini), never compiled in.
 *
 * File format (INI, parsed with libinih), one section per concrete business
 * item; section name = category code (letters, digits, '.', '-', '_'):
 *
 *   [PS.FIRE]
 *   class = 公共安全 public safety          ; major class (required)
 *   subclass = 消防安全 fire safety         ; sub-class (required)
 *   name = 火灾 fire                        ; item name (required)
 *   severity = urgent                       ; default: routine|urgent|extra-urgent
 *   authority = village                     ; lowest tier that may resolve a
 *                                           ; routine case (default village)
 *   authority.urgent = township             ; ... an urgent one (default: authority)
 *   authority.extra-urgent = district       ; ... an extra-urgent one (default: authority.urgent)
 *   direct = no                             ; yes: village reports straight to the
 *                                           ; district (越级直报), township gets a copy
 *
 * Tier values are a level number (1 = lowest) or one of the names village,
 * community (1), township, street (2), district, county (3), city (4).
 *
 * Thread safety: built once, then read-only and safe from any thread.
 */
#ifndef GR_CATALOGUE_H
#define GR_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#define GR_SEVERITY_LEVELS 4  /* indexed by Gridrelay__Severity: 1..3 used */

typedef struct {
    char code[48];
    char class_name[96];
    char subclass_name[96];
    char name[96];
    int default_severity;               /* Gridrelay__Severity value, 1..3 */
    int authority[GR_SEVERITY_LEVELS];  /* lowest tier level per severity; [0] unused */
    bool direct;
    /* confidential = yes: key persons, stability intelligence, minors...
     * Every read of such a case is audited (node/access_log.h). */
    bool confidential;
} gr_category_t;

typedef struct gr_catalogue gr_catalogue_t;

/* Loads a catalogue file. On error returns NULL and writes
 * "FILE:LINE: what is wrong" into err (errlen bytes). An empty catalogue is
 * an error. */
gr_catalogue_t *gr_catalogue_load(const char *path, char *err, size_t errlen);

/* Frees and sets *self_p to NULL. Accepts NULL. */
void gr_catalogue_destroy(gr_catalogue_t **self_p);

/* Returns the category with this exact code, or NULL. O(log n). */
const gr_category_t *gr_catalogue_find(const gr_catalogue_t *self, const char *code);

/* Number of categories, and the i-th in code order (NULL when out of range). */
size_t gr_catalogue_count(const gr_catalogue_t *self);
const gr_category_t *gr_catalogue_at(const gr_catalogue_t *self, size_t i);

/* Parses a tier value ("2", "township"...). Returns the level >= 1, or -1. */
int gr_tier_parse(const char *text);

/* Strict, line-aware INI reading shared by the catalogue and the config
 * (node/config.c), so both report "FILE:LINE: what is wrong" the same way.
 *
 * Called once per section header (key and value NULL) and once per key, with
 * the 1-based line number. Returns 0 to go on, or a negative GR_E* code after
 * writing what is wrong into msg (msglen bytes); the parser puts
 * "FILE:LINE: " in front and stops at that first error. */
typedef int (*gr_ini_fn)(void *user, const char *section, const char *key,
                         const char *value, int line, char *msg, size_t msglen);

/* Parses the file at path with libinih, more strictly than libinih alone:
 * refuses binary or non-UTF-8 data, lines longer than libinih's limit
 * (instead of splitting them), indented lines (libinih would silently glue
 * them to the previous value), text after "[section]", and values holding a
 * ';' or ' #' comment libinih would keep as part of the value.
 * Reads only a regular file: a FIFO, directory or device is refused at once
 * (never waited on).
 * Returns 0, GR_EIO when the file cannot be read ("FILE: reason" in err),
 * GR_ECONFIG for a syntax error, GR_ENOMEM, or what fn returned. */
int gr_ini_parse(const char *path, gr_ini_fn fn, void *user, char *err,
                 size_t errlen);

#endif
