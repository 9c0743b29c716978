/*
 * tenantctl_stats.c - `tenantctl stats STORE [--json]`: what the journal of
 * a store is doing.  It owns the command's option parsing and its two
 * output forms, human-readable lines and one JSON object.
 *
 * The figures come from store_journal_stats_read(), which needs no key: a
 * running daemon writes them to STORE/journal/stats every flush interval,
 * and without a daemon they describe the journal on disk (a cleanly
 * unmounted store shows depth 0).  So the command takes no passphrase and
 * works while the store is mounted.  docs/journal.md explains the figures;
 * docs/tenantctl.md documents the output.
 *
 * Exit status: 0 success, 1 not a store or unreadable (one line on stderr),
 * 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "admin.h"
#include "store.h"
#include "tenantctl.h"

/* The batch-size buckets of struct store_journal_stats.batch_hist. */
static const char *const ctl_stats_buckets[8] = {
    "1", "2-3", "4-7", "8-15", "16-31", "32-63", "64-127", "128+",
};

/* The running daemon's cost counters (admin verb `counters`): FUSE
 * requests served per kind, ops, LMDB commits, bytes sealed. */
#define CTL_COUNTERS_MAX 64
struct ctl_counters {
    int n;
    int err;                    /* 0, or why they could not be had */
    char name[CTL_COUNTERS_MAX][ADMIN_FIELD_MAX + 1];
    uint64_t value[CTL_COUNTERS_MAX];
};

static int ctl_counter_row(int n, char **fields, void *arg)
{
    struct ctl_counters *c = arg;

    if (n != 2 || c->n == CTL_COUNTERS_MAX)
        return 0;                           /* not ours: skipped */
    snprintf(c->name[c->n], sizeof c->name[c->n], "%s", fields[0]);
    c->value[c->n++] = strtoull(fields[1], NULL, 10);
    return 0;
}

static void ctl_counters_get(const char *dir, struct ctl_counters *c)
{
    struct admin_result res;
    int rc = admin_call(dir, "counters", 0, NULL, ctl_counter_row, c, &res);

    c->err = rc != 0 ? rc : res.code;
    if (c->err != 0)
        c->n = 0;
}

/* Entries a flush made durable, on average (0 without flushes). */
static double ctl_stats_avg(const struct store_journal_stats *st)
{
    return st->flushes ? (double)st->flushed_entries / (double)st->flushes : 0.0;
}

static void ctl_stats_print_text(const char *dir,
                                 const struct store_journal_stats *st,
                                 pid_t daemon, const struct ctl_counters *c)
{
    printf("store            %s\n", dir);
    if (daemon > 0)
        printf("daemon           pid %ld (live figures)\n", (long)daemon);
    else
        printf("daemon           none (figures of the journal on disk)\n");
    if (st->failed)
        printf("state            read-only: %s (see the daemon's log; the "
               "next mount replays the journal)\n",
               store_strerror((store_err)st->failed));
    else
        printf("state            %s\n", daemon > 0 ? "writable" : "-");
    printf("appended seq     %" PRIu64 "\n", st->appended_seq);
    printf("flushed seq      %" PRIu64 "\n", st->flushed_seq);
    printf("applied seq      %" PRIu64 "\n", st->applied_seq);
    printf("depth            %" PRIu64 " entries, %" PRIu64 " bytes\n",
           st->depth_entries, st->depth_bytes);
    printf("segments         %" PRIu64 "\n", st->segments);
    printf("flushes          %" PRIu64 " (%" PRIu64 " entries, %.2f per flush, "
           "max batch %" PRIu64 ")\n", st->flushes, st->flushed_entries,
           ctl_stats_avg(st), st->max_batch);
    printf("batch sizes     ");
    for (int i = 0; i < 8; i++)
        printf(" %s:%" PRIu64, ctl_stats_buckets[i], st->batch_hist[i]);
    printf("\n");
    printf("fsyncs           %" PRIu64 "\n", st->fsyncs);
    printf("checkpoints      %" PRIu64 "\n", st->checkpoints);
    printf("last recovery    %" PRIu64 " entries replayed, %" PRIu64
           " bytes of torn tail discarded\n", st->replayed, st->discarded_bytes);
    if (daemon <= 0)
        return;
    if (c->err != 0) {
        printf("counters         unavailable: %s\n", strerror(c->err));
        return;
    }
    printf("counters        ");
    for (int i = 0; i < c->n; i++)
        if (c->value[i] != 0)
            printf(" %s=%" PRIu64, c->name[i], c->value[i]);
    printf("\n");
}

/* `s` as a JSON string (quotes, backslashes and control bytes escaped). */
static void ctl_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void ctl_stats_print_json(const char *dir,
                                 const struct store_journal_stats *st,
                                 pid_t daemon, const struct ctl_counters *c)
{
    const struct { const char *name; uint64_t v; } f[] = {
        { "appended_seq",    st->appended_seq },
        { "flushed_seq",     st->flushed_seq },
        { "applied_seq",     st->applied_seq },
        { "depth_entries",   st->depth_entries },
        { "depth_bytes",     st->depth_bytes },
        { "segments",        st->segments },
        { "flushes",         st->flushes },
        { "flushed_entries", st->flushed_entries },
        { "max_batch",       st->max_batch },
        { "fsyncs",          st->fsyncs },
        { "checkpoints",     st->checkpoints },
        { "replayed",        st->replayed },
        { "discarded_bytes", st->discarded_bytes },
        { "ops",             st->ops },
        { "commits",         st->commits },
        { "sealed_bytes",    st->sealed_bytes },
        { "failed",          st->failed },
    };

    printf("{\"store\": ");
    ctl_json_string(dir);
    if (daemon > 0)
        printf(", \"daemon\": %ld", (long)daemon);
    else
        printf(", \"daemon\": null");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        printf(", \"%s\": %" PRIu64, f[i].name, f[i].v);
    printf(", \"read_only\": %s", st->failed ? "true" : "false");
    if (st->failed) {
        printf(", \"failure\": ");
        ctl_json_string(store_strerror((store_err)st->failed));
    }
    printf(", \"entries_per_flush\": %.3f", ctl_stats_avg(st));
    printf(", \"batch_hist\": {");
    for (int i = 0; i < 8; i++)
        printf("%s\"%s\": %" PRIu64, i ? ", " : "", ctl_stats_buckets[i],
               st->batch_hist[i]);
    printf("}");
    if (daemon > 0 && c->err == 0) {
        printf(", \"counters\": {");
        for (int i = 0; i < c->n; i++) {
            printf("%s", i ? ", " : "");
            ctl_json_string(c->name[i]);
            printf(": %" PRIu64, c->value[i]);
        }
        printf("}");
    }
    printf("}\n");
}

/* The option argument getopt just complained about. */
static const char *ctl_stats_culprit(int argc, char **argv)
{
    return optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
}

/* tenantctl stats STORE [--json] */
int ctl_stats_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct store_journal_stats st;
    const char *dir = NULL;
    bool json = false;
    pid_t daemon = 0;
    store_err e;
    int c;

    optind = 0;                  /* re-initialise GNU getopt */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (dir != NULL)
                return ctl_usage_fail("stats", "unexpected argument '%s'", optarg);
            dir = optarg;
            break;
        case 'h':
            ctl_usage_print(stdout, "stats");
            return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
        case 'j':
            json = true;
            break;
        default:
            if (optopt && optopt != '?' && optopt != 'j' && optopt != 'h')
                return ctl_usage_fail("stats", "unknown option '-%c'", optopt);
            return ctl_usage_fail("stats", "unknown option '%s'",
                                  ctl_stats_culprit(argc, argv));
        }
    }
    for (; optind < argc; optind++) {            /* after "--" */
        if (dir != NULL)
            return ctl_usage_fail("stats", "unexpected argument '%s'", argv[optind]);
        dir = argv[optind];
    }
    if (dir == NULL)
        return ctl_usage_fail("stats", "missing STORE");

    memset(&st, 0, sizeof st);
    e = store_journal_stats_read(dir, &st, &daemon);
    if (e != STORE_OK) {
        ctl_err_print("reading the journal figures of %s: %s", dir,
                      e == STORE_ENOTSTORE ? "not a tenantfs store"
                                           : store_strerror(e));
        return CTL_EXIT_FAIL;
    }
    struct ctl_counters *ctrs = calloc(1, sizeof *ctrs);
    if (ctrs == NULL) {
        ctl_err_print("stats: %s", strerror(ENOMEM));
        return CTL_EXIT_FAIL;
    }
    if (daemon > 0)
        ctl_counters_get(dir, ctrs);
    if (json)
        ctl_stats_print_json(dir, &st, daemon, ctrs);
    else
        ctl_stats_print_text(dir, &st, daemon, ctrs);
    free(ctrs);
    return CTL_EXIT_OK;
}
