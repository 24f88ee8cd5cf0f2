/* gridrelayd: one node of a tiered grid-governance event router. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "http_tls.h"
#include "keys.h"
#include "log.h"
#include "store.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridrelayd --config FILE [--check-config] [--verbose] [--clock FILE]\n"
"       gridrelayd --config FILE --reset-signer KEY\n"
"       gridrelayd --config FILE --rekey\n"
"\n"
"Runs one gridrelay node (a village, township, district or city centre):\n"
"takes signed event reports over ZeroMQ, stores every event and every state\n"
"change durably in LMDB before acknowledging it, and answers queries.\n"
"\n"
"Options:\n"
"  -c, --config FILE    node configuration (INI); see examples/village.ini\n"
"      --check-config   validate FILE (keys, catalogue included) and exit:\n"
"                       0 when valid, 1 with FILE:LINE: reason when not\n"
"      --clock FILE     for tests and the demo only: add the signed number of\n"
"                       milliseconds in FILE to the system clock for every\n"
"                       case time (receipt, deadlines, timers, daily reports),\n"
"                       re-read when FILE changes\n"
"      --reset-signer KEY\n"
"                       with the node stopped: let the signer KEY (64 hex\n"
"                       digits, or @FILE holding them) in again after one of\n"
"                       its requests carried a seq far ahead of its clock (its\n"
"                       later ones are then refused as replays): its newest\n"
"                       seq becomes this moment, and what it sent above that\n"
"                       is forgotten. Prints what was done; exit 0 or 1\n"
"      --rekey          with the node stopped: seal every stored value that is\n"
"                       plain or under an older key of the data_key file with\n"
"                       its current (highest) key, so the older keys can be\n"
"                       dropped (gridctl datakey drop). Prints how many; exit\n"
"                       0 or 1. README \"Privacy and confidential cases\"\n"
"  -v, --verbose        log debug-level lines too (one per case change)\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"\n"
"Signals: SIGTERM or SIGINT finish the batch in progress, commit it, answer\n"
"it and exit 0. Logs go to stderr, one line per event; under systemd each\n"
"line carries a journald priority prefix.\n"
"\n"
"Exit status: 0 clean stop or valid config, 1 configuration or start-up\n"
"error, 2 usage error, 3 fatal runtime error.\n");
}

/* --reset-signer: on the stopped node's store (its lock keeps a running
 * daemon and this apart). */
static int s_reset_signer(const gr_config_t *cfg, const char *key)
{
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    char err[512] = "";
    if ((key[0] == '@' ? gr_key_load_public(pk, key + 1, err, sizeof err)
                       : gr_key_from_hex(pk, key)) != 0) {
        fprintf(stderr, "gridrelayd: --reset-signer: %s\n",
                err[0] ? err : "not a public key (64 hex digits, or @FILE)");
        return 1;
    }
    gr_store_options_t opt = {.map_size = cfg->map_size, .map_max = cfg->map_max,
                               .datakey = cfg->datakey};
    gr_store_t *store = NULL;
    if (gr_store_open(&store, cfg->store_path, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "gridrelayd: --reset-signer: %s (stop the node first)\n", err);
        return 1;
    }
    gr_txn_t *txn = NULL;
    uint64_t before = 0, now_us = gr_now_ms() * 1000;
    size_t dropped = 0;
    int rc = gr_store_begin(store, true, &txn);
    if (rc == 0)
        rc = gr_store_signer_get(txn, pk, &before);
    if (rc == 0)
        rc = gr_store_signer_reset(txn, pk, now_us, &dropped);
    if (rc == 0)
        rc = gr_store_commit(&txn);
    gr_store_abort(&txn);
    gr_store_close(&store);
    if (rc != 0) {
        fprintf(stderr, "gridrelayd: --reset-signer: %s\n", gr_strerror(rc));
        return 1;
    }
    char hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(hex, pk);
    printf("signer %s: newest seq was %llu, now %llu; %zu records above it removed\n", hex,
           (unsigned long long)before, (unsigned long long)now_us, dropped);
    return 0;
}

/* --rekey: on the stopped node's store, like --reset-signer. */
static int s_rekey(const gr_config_t *cfg)
{
    if (!cfg->datakey) {
        fprintf(stderr, "gridrelayd: --rekey: no data_key in [node] of the config\n");
        return 1;
    }
    gr_store_options_t opt = {.map_size = cfg->map_size, .map_max = cfg->map_max,
                              .datakey = cfg->datakey};
    gr_store_t *store = NULL;
    char err[512] = "";
    if (gr_store_open(&store, cfg->store_path, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "gridrelayd: --rekey: %s (stop the node first)\n", err);
        return 1;
    }
    uint64_t rewritten = 0;
    int rc = gr_store_rekey(store, 4096, &rewritten, err, sizeof err);
    gr_store_close(&store);
    if (rc != 0) {
        fprintf(stderr, "gridrelayd: --rekey: %s\n", err);
        return 1;
    }
    printf("store %s: %llu values sealed with data key %u; every value is now under it\n",
           cfg->store_path, (unsigned long long)rewritten, (unsigned)gr_datakey_current(cfg->datakey));
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 'k' },
        { "reset-signer", required_argument, NULL, 'r' },
        { "rekey", no_argument, NULL, 'R' },
        { "clock", required_argument, NULL, 'C' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    int check_only = 0;
    const char *reset_key = NULL;
    int rekey = 0;
    const char *clock_path = NULL;
    gr_log_level_t level = GR_LOG_INFO;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:vhV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'k': check_only = 1; break;
        case 'r': reset_key = optarg; break;
        case 'R': rekey = 1; break;
        case 'C': clock_path = optarg; break;
        case 'v': level = GR_LOG_DEBUG; break;
        case 'h': s_usage(stdout); return 0;
        case 'V': printf("gridrelayd %s\n", GR_VERSION); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        fprintf(stderr, "gridrelayd: %s\n", config_path ? "unexpected argument" : "--config FILE is required");
        s_usage(stderr);
        return 2;
    }
    if (gr_keys_init() != 0) {
        fprintf(stderr, "gridrelayd: cannot initialise libsodium\n");
        return 1;
    }
    char err[1024] = "";
    gr_config_t *cfg = gr_config_load(config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gridrelayd: %s\n", err);
        return 1;
    }
    if (check_only && cfg->http.cert_path) {
        /* The TLS files too, as the start would read them. */
        char *cert = NULL, *key = NULL;
        if (gr_http_tls_load(&cfg->http, &cert, &key, err, sizeof err) != 0) {
            fprintf(stderr, "gridrelayd: %s\n", err);
            gr_config_destroy(&cfg);
            return 1;
        }
        sodium_memzero(key, strlen(key));
        free(key);
        free(cert);
    }
    if (check_only) {
        /* Loads, but means something to change: said, and still ok. */
        if (cfg->warning[0])
            fprintf(stderr, "gridrelayd: warning: %s\n", cfg->warning);
        printf("%s: ok (node %s, tier %s, %zu trusted keys, %zu categories)\n", config_path,
               cfg->node_id, cfg->tier_name, gr_trust_count(cfg->trust),
               gr_catalogue_count(cfg->catalogue));
        gr_config_destroy(&cfg);
        return 0;
    }
    if (rekey) {
        int rc = s_rekey(cfg);
        gr_config_destroy(&cfg);
        return rc;
    }
    if (reset_key) {
        int rc = s_reset_signer(cfg, reset_key);
        gr_config_destroy(&cfg);
        return rc;
    }
    gr_log_init(cfg->node_id, level);
    if (cfg->warning[0])
        gr_log(GR_LOG_WARN, NULL, "%s", cfg->warning);
    if (gr_clock_init(clock_path, err, sizeof err) != 0) {
        gr_log(GR_LOG_ERROR, NULL, "cannot start: %s", err);
        gr_config_destroy(&cfg);
        return 1;
    }
    gr_daemon_t *daemon = gr_daemon_new(cfg, err, sizeof err);
    if (!daemon) {
        gr_log(GR_LOG_ERROR, NULL, "cannot start: %s", err);
        gr_config_destroy(&cfg);
        return 1;
    }
    int rc = gr_daemon_run(daemon);
    gr_daemon_destroy(&daemon);
    gr_config_destroy(&cfg);
    return rc == 0 ? 0 : 3;
}
