/* Fuzz target: the key-file readers (broker/keys.c). The input is the
 * file, read as a secret key file (mode 0600, as the node requires) and
 * as a public key file; a public key that parses is also checked for use
 * with CURVE. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "keys.h"

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
    if (gr_keys_init() != 0 || fx_temp_dir(s_dir) != 0)
        abort();
    atexit(s_close);
    snprintf(s_path, sizeof s_path, "%s/key", s_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fx_write_file(s_path, data, size) != 0)
        abort();
    char err[512];
    gr_keypair_t kp;
    if (gr_keys_load_secret(&kp, s_path, err, sizeof err) == 0 &&
        memcmp(kp.pk, kp.sk + 32, GR_PUBLIC_KEY_BYTES) != 0)
        abort();  /* a loaded secret key holds its own public half */
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    if (gr_key_load_public(pk, s_path, err, sizeof err) == 0) {
        char hex[GR_PUBLIC_KEY_HEX];
        gr_key_to_hex(hex, pk);
        uint8_t again[GR_PUBLIC_KEY_BYTES];
        if (gr_key_from_hex(again, hex) != 0 || memcmp(again, pk, sizeof pk) != 0)
            abort();  /* what was read prints and parses back the same */
        int usable = gr_key_check_public(pk);
        (void)usable;
    }
    return 0;
}
