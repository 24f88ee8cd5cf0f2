/* Fuzz target: the node's config (node/config.c, through libinih and
 * node/catalogue.c's gr_ini_parse), as gridrelayd loads it at start. The
 * input is the INI file; beside it lie a valid secret key (node.sec),
 * public key files (a.pub, b.pub) and the example catalogue (cat.ini), so
 * that a fuzzed file naming them is read past its own keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fixture.h"

static char s_dir[64];
static char s_path[128];

static void s_close(void)
{
    fx_remove_dir(s_dir);
}

static int s_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    return fx_write_file(to, buf, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gr_keypair_t keys[FX_KEYS];
    if (fx_keys(keys) != 0 || fx_write_dir(s_dir, keys) != 0)
        abort();
    atexit(s_close);
    char path[128], pub[128], hex[GR_PUBLIC_KEY_HEX + 1];
    snprintf(path, sizeof path, "%s/cat.ini", s_dir);
    if (s_copy(GR_SOURCE_ROOT "/examples/catalogue.ini", path) != 0)
        abort();
    for (int i = 0; i < 2; i++) {
        snprintf(pub, sizeof pub, "%s/%c.pub", s_dir, 'a' + i);
        gr_key_to_hex(hex, keys[FX_PARENT + i].pk);
        strcat(hex, "\n");
        if (fx_write_file(pub, (const uint8_t *)hex, strlen(hex)) != 0)
            abort();
    }
    snprintf(s_path, sizeof s_path, "%s/fuzz.ini", s_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fx_write_file(s_path, data, size) != 0)
        abort();
    char err[512];
    gr_config_t *cfg = gr_config_load(s_path, err, sizeof err);
    if (!cfg && getenv("GR_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s\n", err);
    if (cfg) {
        /* What the node asks of a loaded config. */
        gr_config_route(cfg, "PS.FIRE");
        gr_config_dept(cfg, "police");
    }
    gr_config_destroy(&cfg);
    return 0;
}
