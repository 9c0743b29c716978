/*
 * store_jstats.c - the journal's figures for tools: the daemon writes them
 * to STORE/journal/stats (one "name value" line per field of struct
 * store_journal_stats, "batch_hist" with eight values), and
 * store_journal_stats_read() gives them to `tenantctl stats` without any
 * key: from that file while a daemon holds STORE/daemon.lock, else from a
 * key-free walk of the segment files (store_journal_scan_dir).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define F(name) { #name, offsetof(struct store_journal_stats, name) }
static const struct { const char *name; size_t off; } stat_fields[] = {
    F(appended_seq), F(flushed_seq), F(applied_seq), F(depth_entries),
    F(depth_bytes), F(segments), F(flushes), F(flushed_entries),
    F(max_batch), F(fsyncs), F(checkpoints), F(replayed), F(discarded_bytes), F(ops), F(commits),
    F(sealed_bytes), F(failed),
};
#undef F
#define NFIELDS (sizeof stat_fields / sizeof stat_fields[0])

static uint64_t *stat_field(struct store_journal_stats *st, size_t i)
{
    return (uint64_t *)((char *)st + stat_fields[i].off);
}

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return p;
}

/* Write the figures to STORE/journal/stats atomically (temp + rename). */
store_err store_journal_stats_write(const char *dir,
                                    const struct store_journal_stats *st)
{
    store_err err = STORE_OK;
    char tmpname[64];
    struct store_journal_stats c = *st;
    FILE *f = NULL;
    snprintf(tmpname, sizeof tmpname, "%s.tmp%ld", STORE_JOURNAL_STATS_NAME,
             (long)getpid());
    char *tmp = path_join(dir, STORE_JOURNAL_DIR, tmpname);
    char *path = path_join(dir, STORE_JOURNAL_DIR, STORE_JOURNAL_STATS_NAME);
    if (!tmp || !path) { err = STORE_ENOMEM; goto out; }
    if (!(f = fopen(tmp, "we"))) { err = store_from_errno(errno); goto out; }
    for (size_t i = 0; i < NFIELDS; i++)
        fprintf(f, "%s %" PRIu64 "\n", stat_fields[i].name, *stat_field(&c, i));
    fprintf(f, "batch_hist");
    for (int i = 0; i < 8; i++) fprintf(f, " %" PRIu64, st->batch_hist[i]);
    fprintf(f, "\n");
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) err = STORE_EIO;
    else if (rename(tmp, path) != 0) err = store_from_errno(errno);
    if (err != STORE_OK) unlink(tmp);
out:
    free(tmp);
    free(path);
    return err;
}

/* Parse STORE/journal/stats; a missing file leaves zeros. */
static store_err stats_parse(const char *path, struct store_journal_stats *st)
{
    char line[512];
    FILE *f = fopen(path, "re");
    if (!f) return errno == ENOENT ? STORE_OK : STORE_EIO;
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        char *p = sp + 1;
        if (strcmp(line, "batch_hist") == 0) {
            for (int i = 0; i < 8; i++)
                st->batch_hist[i] = strtoull(p, &p, 10);
            continue;
        }
        for (size_t i = 0; i < NFIELDS; i++)
            if (strcmp(line, stat_fields[i].name) == 0)
                *stat_field(st, i) = strtoull(p, NULL, 10);
    }
    bool bad = ferror(f);
    fclose(f);
    return bad ? STORE_EIO : STORE_OK;
}

/* The pid of the daemon holding STORE/daemon.lock, or 0. */
static pid_t daemon_pid(const char *dir)
{
    char buf[32];
    pid_t pid = 0;
    char *path = path_join(dir, STORE_LOCK_NAME, NULL);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0) return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
    } else if (errno == EWOULDBLOCK) {
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        long v = strtol(buf, NULL, 10);
        pid = v > 0 && v <= INT_MAX ? (pid_t)v : -1;
    }
    close(fd);
    return pid;
}

/* No daemon: describe the journal on disk by walking its framing. */
static store_err stats_from_disk(const char *jdir,
                                 struct store_journal_stats *st)
{
    return store_journal_scan_dir(jdir, &st->segments, &st->depth_entries,
                                  &st->depth_bytes, &st->appended_seq);
}

store_err store_journal_stats_read(const char *dir,
                                   struct store_journal_stats *st,
                                   pid_t *daemon)
{
    store_err err = STORE_OK;
    struct stat sb;
    char *hdr = NULL, *jdir = NULL, *stats = NULL;
    memset(st, 0, sizeof *st);
    if (daemon) *daemon = 0;
    if (!dir) return STORE_EINVAL;
    hdr = path_join(dir, STORE_HDR_NAME, NULL);
    jdir = path_join(dir, STORE_JOURNAL_DIR, NULL);
    stats = path_join(dir, STORE_JOURNAL_DIR, STORE_JOURNAL_STATS_NAME);
    if (!hdr || !jdir || !stats) { err = STORE_ENOMEM; goto out; }
    if (stat(hdr, &sb) != 0) {
        err = errno == ENOENT || errno == ENOTDIR ? STORE_ENOTSTORE : STORE_EIO;
        goto out;
    }
    pid_t pid = daemon_pid(dir);
    if (pid != 0) {
        if (daemon) *daemon = pid > 0 ? pid : 0;
        err = stats_parse(stats, st);
    } else {
        err = stats_from_disk(jdir, st);
    }
out:
    free(hdr);
    free(jdir);
    free(stats);
    return err;
}
