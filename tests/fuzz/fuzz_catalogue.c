/* Fuzz target: the category catalogue (node/catalogue.c), the INI file
 * every node of a grid loads. The input is the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "fixture.h"

static char s_dir[64];
static char s_path[128];

static void s_close(void)
{
    fx_remove_dir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fx_temp_dir(s_dir) != 0)
        abort();
    atexit(s_close);
    snprintf(s_path, sizeof s_path, "%s/cat.ini", s_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fx_write_file(s_path, data, size) != 0)
        abort();
    char err[512];
    gr_catalogue_t *cat = gr_catalogue_load(s_path, err, sizeof err);
    if (cat) {
        for (size_t i = 0; i < gr_catalogue_count(cat); i++) {
            const gr_category_t *c = gr_catalogue_at(cat, i);
            if (!c || gr_catalogue_find(cat, c->code) != c)
                abort();  /* every category is found by its own code */
        }
    }
    gr_catalogue_destroy(&cat);
    return 0;
}
