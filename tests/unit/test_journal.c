/*
 * test_journal.c - the journal files (store/store_journal.c): entries come
 * back from replay in order and intact, a torn or damaged tail is cut at
 * every possible byte and never reaches the caller, seq numbers are never
 * reused, trimming and rotation keep the folder bounded, concurrent flushes
 * share fdatasyncs, and the figures (live and key-free) are right.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "store_internal.h"

#define SEG1 "0000000000000001.jnl"

static seal_key *key_a, *key_b;

/* ---- helpers ------------------------------------------------------------ */

struct ent { uint64_t seq, tenant; size_t len; uint8_t *data; };
struct got { struct ent *e; size_t n, cap; store_err fail_err; uint64_t fail_seq; };

static store_err collect(uint64_t seq, uint64_t tenant, const uint8_t *p,
                         size_t len, void *arg)
{
    struct got *g = arg;
    if (g->fail_seq && seq == g->fail_seq) return g->fail_err;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->e = realloc(g->e, g->cap * sizeof *g->e);
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, p, len);
    g->e[g->n++] = (struct ent){ seq, tenant, len, copy };
    return STORE_OK;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->e[i].data);
    free(g->e);
    memset(g, 0, sizeof *g);
}

static void done(store_journal *j, struct got *g)
{
    store_journal_close(j);
    got_free(g);
}

#define PAT(k, i) ((uint8_t)((k) * 31 + (i) * 7 + ((i) >> 8)))
static void pattern(uint8_t *p, size_t len, uint64_t k)
{
    for (size_t i = 0; i < len; i++) p[i] = PAT(k, i);
}

/* Does entry `e` hold pattern k of `len` bytes with this seq and tenant? */
static int ent_is(const struct ent *e, uint64_t seq, uint64_t tenant,
                  size_t len, uint64_t k)
{
    int ok = e->seq == seq && e->tenant == tenant && e->len == len;
    for (size_t i = 0; ok && i < len; i++) ok = e->data[i] == PAT(k, i);
    return ok;
}

static store_err append_pattern(store_journal *j, uint64_t tenant, size_t len,
                                uint64_t k, uint64_t *seq)
{
    uint8_t *p = malloc(len ? len : 1);
    pattern(p, len, k);
    store_err err = store_journal_append(j, tenant, p, len, seq);
    free(p);
    return err;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) { unlink(path); return; }
    char sub[512];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

/* The journal folder and what replay set aside next to it. */
static void rm_journal_dir(const char *d)
{
    char kept[96];
    snprintf(kept, sizeof kept, "%s.discarded", d);
    rm_tree(d);
    rm_tree(kept);
}

static char *tmpdir(char buf[64])
{
    return mkdtemp(strcpy(buf, "/tmp/tfs-jrnl-XXXXXX"));
}

static size_t count_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, ".jnl") != NULL;
    if (d) closedir(d);
    return n;
}

/* Segment files replay set aside (STORE/journal.discarded/TIME/). */
static size_t kept_files(const char *d)
{
    char kept[96], sub[400];
    size_t n = 0;
    snprintf(kept, sizeof kept, "%s.discarded", d);
    DIR *top = opendir(kept);
    for (struct dirent *e; top && (e = readdir(top)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        snprintf(sub, sizeof sub, "%s/%s", kept, e->d_name);
        n += count_files(sub);
    }
    if (top) closedir(top);
    return n;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) { if (fd >= 0) close(fd); return NULL; }
    uint8_t *b = malloc((size_t)sb.st_size + 1);
    *len = (size_t)read(fd, b, (size_t)sb.st_size);
    close(fd);
    return b;
}

/* Write file d/name holding b. */
static void put_seg(const char *d, const char *name, const void *b, size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", d, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, b, len) != (ssize_t)len) abort();
    close(fd);
}

/* Open the journal in `dir` and replay it into g. */
static store_err reopen(const char *dir, const seal_key *k, store_journal **j,
                        struct got *g, uint64_t *rep, uint64_t *disc)
{
    store_err err = store_journal_open(dir, k, j);
    return err ? err : store_journal_replay(*j, collect, g, rep, disc);
}

/* A journal of sizes 0, 1, 1000, 100 KiB, then `last` bytes (tenants 1..5):
 * the image of its segment and the offset of the last entry. */
static const size_t sizes[4] = { 0, 1, 1000, 100 * 1024 };
static uint8_t *make_journal(size_t last, size_t *len, size_t *last_off)
{
    char d[64], path[128];
    store_journal *j = NULL;
    uint64_t seq;
    if (!tmpdir(d) || reopen(d, key_a, &j, &(struct got){0}, NULL, NULL))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (append_pattern(j, (uint64_t)i + 1, sizes[i], (uint64_t)i, &seq))
            return NULL;
    if (append_pattern(j, 5, last, 4, &seq)) return NULL;
    store_journal_close(j);
    snprintf(path, sizeof path, "%s/" SEG1, d);
    uint8_t *img = read_file(path, len);
    /* The segment's entries end here; pre-zeroed room follows. */
    size_t end = 16;
    for (int i = 0; i < 4; i++)
        end += 20 + SEAL_OVERHEAD + sizes[i];
    end += 20 + SEAL_OVERHEAD + last;
    if (img && *len < end) { free(img); img = NULL; }
    *len = end;
    *last_off = end - (20 + SEAL_OVERHEAD + last);
    rm_journal_dir(d);
    return img;
}

static int first_four_ok(const struct got *g)
{
    if (g->n < 4) return 0;
    for (int i = 0; i < 4; i++)
        if (!ent_is(&g->e[i], (uint64_t)i + 1, (uint64_t)i + 1, sizes[i],
                    (uint64_t)i))
            return 0;
    return 1;
}

/* ---- tests -------------------------------------------------------------- */

TAP_TEST(roundtrip_and_continue)
{
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t seq = 0, rep = 9, disc = 9;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 0 && disc == 0 && g.n == 0);
    CHECK(count_files(d) == 1);
    CHECK(store_journal_append(j, 1, "x", (size_t)16 << 20 | 1, &seq) == STORE_EINVAL);
    for (int i = 0; i < 4; i++) {
        CHECK(append_pattern(j, (uint64_t)i + 1, sizes[i], (uint64_t)i, &seq) == STORE_OK);
        CHECK(seq == (uint64_t)i + 1);
    }
    CHECK(store_journal_last(j) == 4);
    store_journal_close(j);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 4 && disc == 0 && g.n == 4 && first_four_ok(&g));
    CHECK(store_journal_last(j) == 4);
    CHECK(append_pattern(j, 9, 10, 9, &seq) == STORE_OK && seq == 5);
    done(j, &g);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && g.n == 5 && first_four_ok(&g));
    CHECK(g.n == 5 && ent_is(&g.e[4], 5, 9, 10, 9));
    done(j, &g);
    /* Replay twice: nothing valid is modified, not even a byte. */
    char path[128];
    size_t n1 = 0, n2 = 0;
    snprintf(path, sizeof path, "%s/" SEG1, d);
    uint8_t *before = read_file(path, &n1);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && disc == 0 && g.n == 5 && first_four_ok(&g));
    done(j, &g);
    uint8_t *after = read_file(path, &n2);
    CHECK(before && after && n1 == n2 && memcmp(before, after, n1) == 0);
    free(before);
    free(after);
    /* fn's error stops replay and is returned; nothing is cut. */
    g.fail_seq = 3, g.fail_err = STORE_ENOSPC;
    REQUIRE(store_journal_open(d, key_a, &j) == STORE_OK);
    CHECK(store_journal_replay(j, collect, &g, &rep, &disc) == STORE_ENOSPC);
    CHECK(g.n == 2);
    CHECK(store_journal_append(j, 1, "a", 1, &seq) == STORE_EINVAL);
    done(j, &g);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && disc == 0);
    done(j, &g);
    rm_journal_dir(d);
}

TAP_TEST(torn_tail_every_byte)
{
    size_t len, off, last = 200;
    uint8_t *img = make_journal(last, &len, &off);
    REQUIRE(img);
    size_t entry = len - off, bad = 0;
    for (size_t cut = 0; cut < entry; cut++) {
        char d[64];
        store_journal *j = NULL;
        struct got g = {0};
        uint64_t rep = 0, disc = 0, seq = 0;
        REQUIRE(tmpdir(d));
        put_seg(d, SEG1, img, off + cut);
        int ok = reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK &&
                 rep == 4 && g.n == 4 && first_four_ok(&g) && disc == cut;
        ok = ok && append_pattern(j, 7, 33, 7, &seq) == STORE_OK && seq == 5;
        done(j, &g);
        ok = ok && reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK &&
             rep == 5 && disc == 0 && g.n == 5 && first_four_ok(&g) &&
             ent_is(&g.e[4], 5, 7, 33, 7);
        done(j, &g);
        rm_journal_dir(d);
        if (!ok && bad++ < 5) printf("# cut %zu failed\n", cut);
    }
    CHECK(bad == 0);
    free(img);
}

TAP_TEST(flipped_bits_and_zero_tail)
{
    size_t len, off, last = 100;
    uint8_t *img = make_journal(last, &len, &off);
    REQUIRE(img);
    size_t L = SEAL_OVERHEAD + last;
    /* length, seq, tenant, nonce, ciphertext, tag */
    size_t where[] = { 0, 5, 13, 20 + 3, 20 + 24 + 50, 20 + L - 5 };
    for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
        char d[64];
        store_journal *j = NULL;
        struct got g = {0};
        uint64_t rep = 0, disc = 0;
        REQUIRE(tmpdir(d));
        img[off + where[w]] ^= 0x01;
        put_seg(d, SEG1, img, len);
        img[off + where[w]] ^= 0x01;
        CHECK(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
        CHECK(rep == 4 && g.n == 4 && first_four_ok(&g));
        CHECK(disc == len - off);
        done(j, &g);
        rm_journal_dir(d);
    }
    /* Zeros after valid entries are pre-zeroed room (appends overwrite
     * them), not a torn tail: nothing discarded. */
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t rep = 0, disc = 0;
    REQUIRE(tmpdir(d));
    uint8_t *big = memcpy(calloc(1, len + 4096), img, len);
    put_seg(d, SEG1, big, len + 4096);
    CHECK(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && g.n == 5 && disc == 0);
    done(j, &g);
    rm_journal_dir(d);
    free(big);
    free(img);
}

TAP_TEST(other_key_nothing_replayed)
{
    size_t len, off;
    uint8_t *img = make_journal(10, &len, &off);
    REQUIRE(img);
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t rep = 9, disc = 0, seq = 0;
    REQUIRE(tmpdir(d));
    put_seg(d, SEG1, img, len);
    CHECK(reopen(d, key_b, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 0 && g.n == 0 && disc == len - 16);
    CHECK(kept_files(d) == 1);
    CHECK(store_journal_append(j, 1, "z", 1, &seq) == STORE_OK && seq == 1);
    store_journal_close(j);
    rm_journal_dir(d);
    free(img);
}

TAP_TEST(trim_never_reuses_seq)
{
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    struct store_journal_stats st;
    uint64_t rep, disc, seq = 0;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    for (int i = 0; i < 10; i++) CHECK(append_pattern(j, 3, 50, 1, &seq) == STORE_OK);
    CHECK(store_journal_trim(j, 4) == STORE_OK);     /* partial: kept */
    store_journal_stats_get(j, &st);
    CHECK(st.applied_seq == 4 && st.depth_entries == 6 && st.segments == 1);
    CHECK(count_files(d) == 1);
    CHECK(store_journal_trim(j, 10) == STORE_OK);
    store_journal_stats_get(j, &st);
    CHECK(st.segments == 1 && st.depth_entries == 0 && st.depth_bytes == 0);
    CHECK(count_files(d) == 1);
    store_journal_close(j);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 0 && disc == 0 && g.n == 0);
    CHECK(store_journal_last(j) == 10);
    CHECK(append_pattern(j, 3, 5, 2, &seq) == STORE_OK && seq == 11);
    CHECK(store_journal_trim(j, 11) == STORE_OK);
    store_journal_close(j);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 0 && g.n == 0);
    CHECK(append_pattern(j, 3, 5, 2, &seq) == STORE_OK && seq == 12);
    done(j, &g);
    rm_journal_dir(d);
}

TAP_TEST(rotation_over_segment_max)
{
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    struct store_journal_stats st;
    uint64_t rep, disc, seq = 0;
    size_t mib = (size_t)1 << 20;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    uint8_t *p = malloc(mib);
    for (int i = 0; i < 70; i++) {
        memset(p, i, mib);
        CHECK(store_journal_append(j, 2, p, mib, &seq) == STORE_OK);
    }
    store_journal_stats_get(j, &st);
    CHECK(st.segments == 2 && count_files(d) == 2);
    store_journal_close(j);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 70 && disc == 0 && g.n == 70);
    int same = 1;
    for (size_t i = 0; i < g.n; i++)
        same &= g.e[i].seq == i + 1 && g.e[i].len == mib &&
                g.e[i].data[0] == (uint8_t)i && g.e[i].data[mib - 1] == (uint8_t)i;
    CHECK(same);
    CHECK(store_journal_trim(j, 30) == STORE_OK && count_files(d) == 2);
    CHECK(store_journal_trim(j, 64) == STORE_OK && count_files(d) == 1);
    CHECK(store_journal_append(j, 2, p, 1, &seq) == STORE_OK && seq == 71);
    done(j, &g);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 7 && g.n == 7 && g.e[0].seq == 65);
    done(j, &g);
    free(p);
    rm_journal_dir(d);
}

/* ---- group commit ------------------------------------------------------- */

struct gc { store_journal *j; int n; _Atomic int fail, calls; _Atomic bool done; };

static void *gc_append(void *arg)
{
    struct gc *c = arg;
    for (int i = 0; i < c->n; i++)
        if (store_journal_append(c->j, 1, &i, sizeof i, NULL) != STORE_OK)
            c->fail++;
    c->done = true;
    return NULL;
}

static void *gc_flush(void *arg)
{
    struct gc *c = arg;
    struct store_journal_stats st;
    for (int i = 0; i < 40 || !c->done; i++) {   /* while appends go on */
        uint64_t seq = store_journal_last(c->j);
        if (store_journal_flush(c->j, seq) != STORE_OK) c->fail++;
        store_journal_stats_get(c->j, &st);
        if (st.flushed_seq < seq) c->fail++;
        c->calls++;
    }
    return NULL;
}

TAP_TEST(group_commit)
{
    char d[64];
    struct gc c = { .n = 3000 };
    struct got g = {0};
    struct store_journal_stats st;
    uint64_t rep, disc, hist = 0;
    pthread_t ta, tf[8];
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &c.j, &g, &rep, &disc) == STORE_OK);
    for (int i = 0; i < 8; i++) pthread_create(&tf[i], NULL, gc_flush, &c);
    pthread_create(&ta, NULL, gc_append, &c);
    for (int i = 0; i < 8; i++) pthread_join(tf[i], NULL);
    pthread_join(ta, NULL);
    CHECK(c.fail == 0 && c.calls >= 320);
    CHECK(store_journal_flush(c.j, 3000) == STORE_OK);
    store_journal_stats_get(c.j, &st);
    CHECK(st.appended_seq == 3000 && st.flushed_seq == 3000);
    CHECK(st.flushes >= 1 && st.flushes < (uint64_t)c.calls + 1);
    CHECK(st.flushed_entries == 3000);
    for (int i = 0; i < 8; i++) hist += st.batch_hist[i];
    CHECK(hist == st.flushes && st.max_batch >= 3000 / st.flushes);
    printf("# %d flush calls, %llu fdatasyncs, max batch %llu\n", c.calls,
           (unsigned long long)st.flushes, (unsigned long long)st.max_batch);
    store_journal_close(c.j);
    rm_journal_dir(d);
}

TAP_TEST(stats_live)
{
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    struct store_journal_stats st;
    uint64_t rep, disc, seq;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    for (int i = 0; i < 5; i++) CHECK(append_pattern(j, 1, 100, 1, &seq) == STORE_OK);
    CHECK(store_journal_flush(j, 5) == STORE_OK);
    CHECK(store_journal_flush(j, 3) == STORE_OK);    /* already durable */
    CHECK(append_pattern(j, 1, 100, 1, &seq) == STORE_OK);
    CHECK(store_journal_flush(j, 6) == STORE_OK);
    store_journal_stats_get(j, &st);
    CHECK(st.appended_seq == 6 && st.flushed_seq == 6 && st.applied_seq == 0);
    CHECK(st.depth_entries == 6 && st.depth_bytes == 6 * 160);
    CHECK(st.segments == 1 && st.flushes == 2 && st.flushed_entries == 6);
    CHECK(st.max_batch == 5 && st.batch_hist[0] == 1 && st.batch_hist[2] == 1);
    store_journal_close(j);
    /* Replay figures: a torn tail (garbage right after the last entry,
     * then the pre-zeroed room): everything past the entries goes. */
    char path[128];
    struct stat sb;
    snprintf(path, sizeof path, "%s/" SEG1, d);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "garbage", 7, 16 + 6 * 160) == 7);
    close(fd);
    REQUIRE(stat(path, &sb) == 0);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    store_journal_stats_get(j, &st);
    CHECK(st.replayed == 6 && st.appended_seq == 6);
    CHECK(st.discarded_bytes == (uint64_t)sb.st_size - (16 + 6 * 160));
    CHECK(st.flushed_seq == 6 && st.flushes == 0);
    done(j, &g);
    rm_journal_dir(d);
}

TAP_TEST(stats_read_without_key)
{
    char d[64], path[160];
    struct store_journal_stats st, want;
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t rep, disc, seq;
    pid_t pid = 1;
    REQUIRE(tmpdir(d));
    CHECK(store_journal_stats_read(d, &st, &pid) == STORE_ENOTSTORE);
    put_seg(d, "tenantfs.hdr", "x", 1);
    snprintf(path, sizeof path, "%s/journal", d);
    REQUIRE(reopen(path, key_a, &j, &g, &rep, &disc) == STORE_OK);
    for (int i = 0; i < 3; i++) CHECK(append_pattern(j, 1, 10, 1, &seq) == STORE_OK);
    store_journal_close(j);
    CHECK(store_journal_stats_read(d, &st, &pid) == STORE_OK);
    CHECK(pid == 0 && st.segments == 1 && st.depth_entries == 3);
    CHECK(st.depth_bytes == 3 * 70 && st.appended_seq == 3);

    /* A daemon holds the lock and wrote its figures. */
    uint64_t *w = (uint64_t *)&want;     /* every field a distinct value */
    for (size_t i = 0; i < sizeof want / sizeof *w; i++) w[i] = i * 1000003 + 7;
    want.discarded_bytes = 1ull << 40;
    CHECK(store_journal_stats_write(d, &want) == STORE_OK);
    put_seg(d, "daemon.lock", "4242\n", 5);
    snprintf(path, sizeof path, "%s/daemon.lock", d);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    CHECK(store_journal_stats_read(d, &st, &pid) == STORE_OK);
    CHECK(pid == 4242 && memcmp(&st, &want, sizeof st) == 0);
    close(fd);
    CHECK(store_journal_stats_read(d, &st, &pid) == STORE_OK);
    CHECK(pid == 0 && st.depth_entries == 3);
    got_free(&g);
    rm_journal_dir(d);
}

TAP_TEST(bad_segments_are_tail)
{
    size_t len, off;
    uint8_t *img = make_journal(10, &len, &off);
    REQUIRE(img);
    char d[64];
    uint8_t junk[100];
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t rep = 0, disc = 0, seq = 0;
    memset(junk, 0x5a, sizeof junk);
    /* Later segments: one with a bad magic, one after it. */
    REQUIRE(tmpdir(d));
    put_seg(d, SEG1, img, len);
    put_seg(d, "0000000000000006.jnl", junk, 100);
    put_seg(d, "0000000000000007.jnl", junk, 50);
    CHECK(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && g.n == 5 && disc == 150 && count_files(d) == 1);
    CHECK(kept_files(d) == 2);          /* damage, not a torn append */
    CHECK(store_journal_append(j, 1, "q", 1, &seq) == STORE_OK && seq == 6);
    done(j, &g);
    rm_journal_dir(d);
    /* A later segment whose header has a valid magic but a gap in seq. */
    REQUIRE(tmpdir(d));
    put_seg(d, SEG1, img, len);
    uint8_t hdr[16] = "TFSJRNL1\x09";    /* first seq 9 */
    put_seg(d, "0000000000000009.jnl", hdr, 16);
    CHECK(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 5 && disc == 16 && count_files(d) == 1);
    CHECK(kept_files(d) == 1);          /* 6..8 are missing */
    CHECK(store_journal_append(j, 1, "q", 1, &seq) == STORE_OK && seq == 6);
    done(j, &g);
    rm_journal_dir(d);
    /* The only segment is junk: its name still sets the next seq. */
    REQUIRE(tmpdir(d));
    put_seg(d, "0000000000000010.jnl", junk, 100);
    CHECK(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 0 && disc == 100 && g.n == 0 && count_files(d) == 1);
    CHECK(kept_files(d) == 0);          /* a rotation a crash cut short */
    CHECK(store_journal_append(j, 1, "q", 1, &seq) == STORE_OK && seq == 16);
    store_journal_close(j);
    rm_journal_dir(d);
    free(img);
}

/* A failed write (the file size limit) leaves no partial entry behind. */
TAP_TEST(failed_append_leaves_nothing)
{
    char d[64], path[128];
    store_journal *j = NULL;
    struct got g = {0};
    struct rlimit old, lim;
    struct stat sb, after;
    uint64_t rep, disc, seq = 0;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(append_pattern(j, 1, 100, 1, &seq) == STORE_OK);
    snprintf(path, sizeof path, "%s/" SEG1, d);
    REQUIRE(stat(path, &sb) == 0 && getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size + 500;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    /* larger than the pre-zeroed room: the segment must grow, and can't */
    store_err err = append_pattern(j, 1, 400 * 1024, 2, &seq);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(err != STORE_OK);
    CHECK(stat(path, &after) == 0 && after.st_size <= sb.st_size);
    CHECK(append_pattern(j, 1, 10, 3, &seq) == STORE_OK && seq == 2);
    store_journal_close(j);
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(rep == 2 && disc == 0 && g.n == 2);
    CHECK(g.n == 2 && ent_is(&g.e[1], 2, 1, 10, 3));
    done(j, &g);
    rm_journal_dir(d);
}

/* fdatasync, failing with EIO while fail_sync is set (linked with
 * -Wl,--wrap=fdatasync, so the store's own calls come here too). */
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
static volatile int fail_sync;
int __wrap_fdatasync(int fd)
{
    if (fail_sync) {
        errno = EIO;
        return -1;
    }
    return __real_fdatasync(fd);
}

/* After a failed fdatasync the kernel may report success for the same lost
 * pages: the journal's flush keeps failing until a trim leaves no entry. */
TAP_TEST(sticky_flush_error)
{
    char d[64];
    store_journal *j = NULL;
    struct got g = {0};
    uint64_t rep, disc, seq = 0;
    REQUIRE(tmpdir(d));
    REQUIRE(reopen(d, key_a, &j, &g, &rep, &disc) == STORE_OK);
    CHECK(append_pattern(j, 1, 100, 1, &seq) == STORE_OK);
    CHECK(store_journal_flush(j, seq) == STORE_OK);
    CHECK(append_pattern(j, 1, 100, 2, &seq) == STORE_OK);
    fail_sync = 1;
    CHECK(store_journal_flush(j, seq) == STORE_EIO);
    fail_sync = 0;
    CHECK(store_journal_flush(j, seq) == STORE_EIO);     /* not "fixed" */
    CHECK(store_journal_flush(j, 1) == STORE_OK);        /* synced before */
    CHECK(append_pattern(j, 1, 100, 3, &seq) == STORE_OK);
    CHECK(store_journal_flush(j, seq) == STORE_EIO);
    /* LMDB holds every entry: the journal is trimmed empty, flushes work */
    CHECK(store_journal_trim(j, seq) == STORE_OK);
    CHECK(append_pattern(j, 1, 100, 4, &seq) == STORE_OK);
    CHECK(store_journal_flush(j, seq) == STORE_OK);
    done(j, &g);
    rm_journal_dir(d);
}

/* store_journal_verify (tenantctl check): what a replay would keep and
 * discard, told apart from a torn last append, and nothing changed. */
TAP_TEST(verify_tells_damage_from_a_torn_tail)
{
    size_t len, off, last = 100;
    uint8_t *img = make_journal(last, &len, &off);
    struct store_journal_verdict v;
    uint8_t hdr[16] = "TFSJRNL1\x09";    /* a segment from seq 9 */
    char d[64], path[128];
    struct stat sb;
    REQUIRE(img);

    REQUIRE(tmpdir(d));         /* whole */
    put_seg(d, SEG1, img, len);
    CHECK(store_journal_verify(d, key_a, &v) == STORE_OK);
    CHECK(v.entries == 5 && v.stop_segment == 0 && v.next_seq == 6);
    rm_journal_dir(d);

    REQUIRE(tmpdir(d));         /* the last entry torn by a crash */
    snprintf(path, sizeof path, "%s/" SEG1, d);
    put_seg(d, SEG1, img, len - 7);
    CHECK(store_journal_verify(d, key_a, &v) == STORE_OK);
    CHECK(v.entries == 4 && v.stop_segment == 1 && v.torn_tail);
    CHECK(v.lost_bytes == len - 7 - off);
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == len - 7);
    rm_journal_dir(d);

    REQUIRE(tmpdir(d));         /* a flipped bit, valid entries after it */
    img[off - 30] ^= 0x04;
    put_seg(d, SEG1, img, len);
    img[off - 30] ^= 0x04;
    CHECK(store_journal_verify(d, key_a, &v) == STORE_OK);
    CHECK(v.entries == 3 && v.next_seq == 4 && !v.torn_tail);
    rm_journal_dir(d);

    REQUIRE(tmpdir(d));         /* a missing segment: 6..8 lost */
    put_seg(d, SEG1, img, len);
    put_seg(d, "0000000000000009.jnl", hdr, 16);
    CHECK(store_journal_verify(d, key_a, &v) == STORE_OK);
    CHECK(v.entries == 5 && v.stop_segment == 9 && !v.torn_tail);
    CHECK(count_files(d) == 2);
    rm_journal_dir(d);

    REQUIRE(tmpdir(d));         /* another store's journal */
    put_seg(d, SEG1, img, len);
    CHECK(store_journal_verify(d, key_b, &v) == STORE_OK);
    CHECK(v.entries == 0 && v.stop_segment == 1 && !v.torn_tail);
    CHECK(v.lost_bytes == len - 16);
    rm_journal_dir(d);
    free(img);
}

static void quiet(int priority, const char *msg) { (void)priority; (void)msg; }

int main(void)
{
    store_set_log(quiet);
    if (seal_init() != 0) return 1;
    key_a = seal_key_new_random();
    key_b = seal_key_new_random();
    if (!key_a || !key_b) return 1;
    int rc = tap_main();
    seal_key_free(key_a);
    seal_key_free(key_b);
    return rc;
}
