/* The [confidential] section: which operators of this node read and act
 * on the cases of each confidential category (catalogue confidential =
 * yes). Internal to node/config*.c and its readers.
 *
 *   [confidential]
 *   SS.KEY-PERSON = chen, wu     ; names from [operators]
 *
 * A confidential category without a line is read by no operator here (it
 * is still forwarded, tracked and counted; router/access.h says who else
 * passes). A line for a category the catalogue lacks, or one it does not
 * mark confidential, is refused when the config loads.
 *
 * The [confidential_seal] section (the origin tier, PROTOCOL.md 12.1):
 *
 *   [confidential_seal]
 *   SS.KEY-PERSON = @keys/district.pub, district-1   ; KEY, NODE-ID
 *
 * A report of that category made here goes up with its personal fields
 * sealed to that node's key (node/confseal.h): the tiers in between store,
 * route and count it without reading them. Same catalogue checks.
 */
#ifndef GR_CONFIG_CONFIDENTIAL_H
#define GR_CONFIG_CONFIDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"

#define GR_CONFIDENTIAL_NAMES_MAX 32

typedef struct {
    char category[48];
    char names[GR_CONFIDENTIAL_NAMES_MAX][64];
    size_t n_names;
    int line;
} gr_confidential_line_t;

/* One [confidential_seal] line. */
typedef struct {
    char category[48];
    char node[64];
    uint8_t pk[32];         /* the recipient node's Ed25519 public key */
    int line;
} gr_confidential_seal_t;

typedef struct {
    gr_confidential_line_t *lines;
    size_t n;
    gr_confidential_seal_t *seals;
    size_t n_seals;
} gr_confidential_config_t;

/* One line of the section; msg gets "what is wrong" (config.c adds
 * file:line). Returns 0 or GR_ECONFIG / GR_ENOMEM. */
int gr_confidential_config_key(gr_confidential_config_t *self, const char *key,
                               const char *value, int line, char *msg, size_t msglen);

/* One [confidential_seal] line (key, node id and public key parsed by
 * the caller). Returns 0 or GR_ECONFIG (duplicate, too long) / GR_ENOMEM. */
int gr_confidential_config_seal(gr_confidential_config_t *self, const char *category,
                                const char *node, const uint8_t pk[32], int line, char *msg,
                                size_t msglen);

/* The seal line for category, or NULL: a report of it is not sealed. */
const gr_confidential_seal_t *gr_confidential_config_seal_of(const gr_confidential_config_t *self,
                                                             const char *category);

/* Checks every line against the catalogue; err gets "path:line: ...". */
int gr_confidential_config_finish(const gr_confidential_config_t *self,
                                  const gr_catalogue_t *catalogue, const char *path, char *err,
                                  size_t errlen);

/* Whether name is named for category. */
bool gr_confidential_config_names(const gr_confidential_config_t *self, const char *category,
                                  const char *name);

void gr_confidential_config_clear(gr_confidential_config_t *self);

#endif
