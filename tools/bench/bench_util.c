/* gridbench: clock, statistics, the result sheet, and what a node costs
 * in memory and disk. */
#include <errno.h>
#include <json-c/json.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_sort(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, s_cmp_double);
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

double bench_ratio(double a, double b)
{
    return a >= 0 && b > 0 ? a / b : -1;
}

/* ---- the sheet ---- */

static bench_row_t *s_next_row(bench_sheet_t *sheet)
{
    if (sheet->count == BENCH_SHEET_MAX) {
        fprintf(stderr, "gridbench: result sheet full, a figure is not shown\n");
        return NULL;
    }
    bench_row_t *row = &sheet->rows[sheet->count++];
    memset(row, 0, sizeof *row);
    return row;
}

void bench_sheet_section(bench_sheet_t *sheet, const char *title)
{
    bench_row_t *row = s_next_row(sheet);
    if (row)
        snprintf(row->label, sizeof row->label, "%s", title);
}

void bench_sheet_add(bench_sheet_t *sheet, const char *key, int decimals, double value,
                     const char *fmt, ...)
{
    bench_row_t *row = s_next_row(sheet);
    if (!row)
        return;
    snprintf(row->key, sizeof row->key, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->label, sizeof row->label, fmt, ap);
    va_end(ap);
    row->value = value;
    row->decimals = decimals;
    /* NaN and infinities come from a division by a failed figure. */
    row->missing = !(value >= 0) || value > 1e300;
}

void bench_sheet_note(bench_sheet_t *sheet, const char *key, const char *label, const char *text)
{
    bench_row_t *row = s_next_row(sheet);
    if (!row)
        return;
    snprintf(row->key, sizeof row->key, "%s", key);
    snprintf(row->label, sizeof row->label, "%s", label);
    snprintf(row->note, sizeof row->note, "%s", text && text[0] ? text : "-");
}

/* Thousands separators: rates are read at a glance. */
static void s_format(char *out, size_t cap, double value, int decimals)
{
    char digits[64];
    snprintf(digits, sizeof digits, "%.*f", decimals, value);
    char *dot = strchr(digits, '.');
    size_t int_len = dot ? (size_t)(dot - digits) : strlen(digits);
    size_t o = 0;
    for (size_t i = 0; i < int_len && o + 2 < cap; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    snprintf(out + o, cap - o, "%s", dot ? dot : "");
}

/* A text figure: the label, then the text in lines of at most ~96
 * columns, indented, broken at spaces (a word longer than that stays
 * whole). */
static void s_print_wrapped(FILE *out, const char *label, const char *text)
{
    enum { WIDTH = 96 };
    fprintf(out, "  %s:\n", label);
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        if (len > WIDTH) {
            size_t cut = WIDTH;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(p, " ");
            len = cut;
        }
        fprintf(out, "      %.*s\n", (int)len, p);
        p += len;
    }
}

void bench_sheet_print(const bench_sheet_t *sheet, FILE *out)
{
    for (size_t i = 0; i < sheet->count; i++) {
        const bench_row_t *row = &sheet->rows[i];
        if (!row->key[0]) {
            fprintf(out, "\n%s\n", row->label);
            continue;
        }
        if (row->note[0]) {
            s_print_wrapped(out, row->label, row->note);
            continue;
        }
        char value[64] = "-";
        if (!row->missing)
            s_format(value, sizeof value, row->value, row->decimals);
        fprintf(out, "  %-84s %14s\n", row->label, value);
    }
}

int bench_sheet_write_json(const bench_sheet_t *sheet, const char *path, int runs, long events)
{
    json_object *obj = json_object_new_object(), *labels = json_object_new_object();
    if (!obj || !labels) {
        json_object_put(obj);
        json_object_put(labels);
        return -1;
    }
    json_object_object_add(obj, "runs", json_object_new_int(runs));
    json_object_object_add(obj, "events_per_run", json_object_new_int64(events));
    for (size_t i = 0; i < sheet->count; i++) {
        const bench_row_t *row = &sheet->rows[i];
        if (!row->key[0])
            continue;
        if (row->note[0])
            json_object_object_add(obj, row->key, json_object_new_string(row->note));
        else
            json_object_object_add(obj, row->key,
                                   row->missing ? NULL : json_object_new_double(row->value));
        json_object_object_add(labels, row->key, json_object_new_string(row->label));
    }
    json_object_object_add(obj, "labels", labels);
    int rc = json_object_to_file_ext(path, obj, JSON_C_TO_STRING_PRETTY) == 0 ? 0 : -1;
    json_object_put(obj);
    return rc;
}

/* ---- a node's resources ---- */

long bench_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = strlen(field);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

long bench_peak_rss_kb(pid_t pid)
{
    return bench_status_kb(pid, "VmHWM");
}

static size_t s_pages(const MDB_stat *st)
{
    return st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

/* Pages of the main database and of every named database it lists. */
static int s_pages_in_use(MDB_env *env, size_t *pages)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_stat st;
    MDB_dbi main_dbi;
    *pages = 0;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    int rc = -1;
    if (mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 || mdb_stat(txn, main_dbi, &st) != 0 ||
        mdb_cursor_open(txn, main_dbi, &cur) != 0)
        goto out;
    *pages = s_pages(&st);
    MDB_val key, val;
    int mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    while (mrc == 0) {
        char name[256];
        MDB_dbi dbi;
        if (key.mv_size < sizeof name && !memchr(key.mv_data, '\0', key.mv_size)) {
            memcpy(name, key.mv_data, key.mv_size);
            name[key.mv_size] = '\0';
            /* A plain record in the main database is not a database:
             * MDB_INCOMPATIBLE, and it is already counted above. */
            if (mdb_dbi_open(txn, name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
                *pages += s_pages(&st);
        }
        mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    rc = mrc == MDB_NOTFOUND ? 0 : -1;
out:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int bench_store_usage(const char *store_dir, uint64_t events, bench_disk_t *out)
{
    out->events = events;
    out->file_bytes = out->used_bytes = out->high_bytes = -1;
    char path[512];
    snprintf(path, sizeof path, "%s/data.mdb", store_dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    out->file_bytes = (double)st.st_size;
    MDB_env *env = NULL;
    if (mdb_env_create(&env) != 0)
        return -1;
    int rc = -1;
    MDB_envinfo info;
    MDB_stat est;
    size_t pages = 0;
    /* The node's map may have grown past the default: size 0 takes the
     * size recorded in the file. */
    if (mdb_env_set_maxdbs(env, 64) != 0 ||
        mdb_env_open(env, store_dir, MDB_RDONLY, 0600) != 0 || mdb_env_info(env, &info) != 0 ||
        mdb_env_stat(env, &est) != 0 || s_pages_in_use(env, &pages) != 0)
        goto out;
    out->high_bytes = (double)(info.me_last_pgno + 1) * est.ms_psize;
    out->used_bytes = (double)pages * est.ms_psize;
    rc = 0;
out:
    mdb_env_close(env);
    return rc;
}

uint64_t bench_counter(gr_client_t *client, const char *name)
{
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    uint64_t value = 0;
    if (gr_client_call(client, &body, &reply, 2000, 3) != 0)
        return 0;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_STATS)
        for (size_t i = 0; i < reply.body->stats->n_counters; i++)
            if (strcmp(reply.body->stats->counters[i]->name, name) == 0)
                value = reply.body->stats->counters[i]->value;
    gr_opened_clear(&reply);
    return value;
}

uint64_t bench_events_stored(gr_client_t *client)
{
    return bench_counter(client, "events_stored");
}

int bench_link_counts(gr_client_t *client, const char *role, bench_link_counts_t *out)
{
    memset(out, 0, sizeof *out);
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 2000, 3) != 0)
        return -1;
    int rc = -1;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_LINKS)
        for (size_t i = 0; i < reply.body->links->n_links; i++) {
            const Gridrelay__LinkInfo *l = reply.body->links->links[i];
            if (strcmp(l->role, role) != 0)
                continue;
            out->sent = l->sent;
            out->resent = l->resent;
            out->batches = l->batches;
            out->batched = l->batched;
            rc = 0;
            break;
        }
    gr_opened_clear(&reply);
    return rc;
}

/* utime + stime of a /proc stat file (a process's or one thread's). */
static double s_stat_cpu_s(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime) count after the command name, which
     * is in parentheses and may hold spaces. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bench_proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return s_stat_cpu_s(path);
}

double bench_main_thread_cpu_s(pid_t pid)
{
    char path[80];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    return s_stat_cpu_s(path);
}

int bench_proc_io(pid_t pid, double *wchar, double *write_bytes)
{
    *wchar = *write_bytes = -1;
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long v = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "wchar: %llu", &v) == 1)
            *wchar = (double)v;
        else if (sscanf(line, "write_bytes: %llu", &v) == 1)
            *write_bytes = (double)v;
    }
    fclose(f);
    return *wchar >= 0 && *write_bytes >= 0 ? 0 : -1;
}

double bench_self_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

double bench_proc_write_bytes(pid_t pid)
{
    double wchar = -1, write_bytes = -1;
    bench_proc_io(pid, &wchar, &write_bytes);
    return wchar;
}
