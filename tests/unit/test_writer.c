/*
 * test_writer.c - unit tests of the daemon's write path: the writer thread
 * (batches, nested op transactions, checkpoints, backpressure), the journal
 * it appends to, group commit, the figures, and crash recovery.
 *
 * Every test makes its own store under a fresh mkdtemp() folder, opens it
 * as a daemon (STORE_OPEN_DAEMON) and removes it afterwards.  The crash
 * test forks a child that opens the store, runs a deterministic stream of
 * ops and reports each acknowledged one through a pipe; the parent kills it
 * with SIGKILL after a random number of acknowledgements, reopens the store
 * (which replays the journal) and compares the whole tenant with its own
 * model of the acknowledged ops: it must equal the model after every
 * acknowledged op, or after one more (the op in flight when killed).
 *
 * TENANTFS_TEST_FAST_KDF=1 is set in main() so opening is cheap.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"
#include "tap.h"

#define PASS    "correct horse battery staple"
#define PASSLEN (sizeof PASS - 1)

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

struct tmp {
    char root[64];
    char store[96];
};

static void tmp_make(struct tmp *t)
{
    strcpy(t->root, "/tmp/tfs-writer-XXXXXX");
    if (!mkdtemp(t->root))
        abort();
    snprintf(t->store, sizeof t->store, "%s/store", t->root);
    if (store_create(t->store, PASS, PASSLEN) != STORE_OK)
        abort();
}

static void tmp_remove(struct tmp *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", t->root);
}

/* Open the store as a daemon, and its first tenant (adding it when `add`). */
static store *open_tenant(const char *dir, bool add, store_tenant **t)
{
    store *s = NULL;
    uint64_t id = 1;

    *t = NULL;
    if (store_open(dir, PASS, PASSLEN, STORE_OPEN_DAEMON, &s) != STORE_OK)
        return NULL;
    if ((add && store_tenant_add(s, "acme", 1000, 1000, 0755, &id) != STORE_OK) ||
        store_tenant_get(s, id, t) != STORE_OK) {
        store_close(s);
        return NULL;
    }
    return s;
}

static store_err file_create(store_tenant *t, const char *name, uint64_t *ino)
{
    struct store_attr a;
    store_err err = store_mknod(t, STORE_ROOT_INO, name, strlen(name),
                               S_IFREG | 0644, 1000, 1000, NULL, 0, &a);
    if (err == STORE_OK && ino)
        *ino = a.ino;
    return err;
}

static uint64_t ino_of(store_tenant *t, const char *name)
{
    struct store_attr a;
    return store_lookup(t, STORE_ROOT_INO, name, strlen(name), &a) == STORE_OK
               ? a.ino : 0;
}

/* Content of file `id` at `version`: a length fixed per file (some span
 * two blocks), bytes that differ with the version. */
static size_t content_len(uint32_t id)
{
    return id % 5 == 0 ? 70000u : 1u + (id * 2654435761u) % 9000u;
}

static void content_fill(uint32_t id, uint32_t version, uint8_t *buf)
{
    size_t n = content_len(id);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(id * 31u + version * 17u + i);
}

/* ===================================================================== */
/* Visibility: ops are seen at once, from any thread                      */
/* ===================================================================== */

struct reader_arg { store_tenant *t; uint64_t ino; int ok; };

static int count_entry(const char *name, size_t len, const struct store_attr *a,
                       uint64_t cookie, void *arg)
{
    (void)name, (void)len, (void)a, (void)cookie;
    (*(int *)arg)++;
    return 0;
}

static void *reader_main(void *p)
{
    struct reader_arg *r = p;
    struct store_attr a;
    char buf[16];
    size_t got = 0;
    int n = 0;

    r->ok = store_getattr(r->t, r->ino, &a) == STORE_OK && a.size == 11 &&
            store_lookup(r->t, STORE_ROOT_INO, "seen", 4, &a) == STORE_OK &&
            a.ino == r->ino &&
            store_read(r->t, r->ino, 0, sizeof buf, buf, &got) == STORE_OK &&
            got == 11 && memcmp(buf, "hello world", 11) == 0 &&
            store_readdir(r->t, STORE_ROOT_INO, 0, true, count_entry, &n) == STORE_OK &&
            n == 1;
    return NULL;
}

TAP_TEST(visible_at_once_from_other_threads)
{
    struct tmp d;
    store_tenant *t;
    uint64_t ino = 0;

    tmp_make(&d);
    store *s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    CHECK(file_create(t, "seen", &ino) == STORE_OK);
    CHECK(store_write(t, ino, 0, "hello world", 11, NULL) == STORE_OK);
    printf("# batch open while reading: %d\n", (int)atomic_load(&t->batch_open));
    struct reader_arg r = { .t = t, .ino = ino };
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, reader_main, &r) == 0);
    pthread_join(th, NULL);
    CHECK(r.ok);
    /* A failed op changes nothing and does not break the batch. */
    CHECK(file_create(t, "seen", NULL) == STORE_EEXIST);
    CHECK(ino_of(t, "seen") == ino);
    store_close(s);
    tmp_remove(&d);
}

/* ===================================================================== */
/* A clean close drains the journal                                       */
/* ===================================================================== */

TAP_TEST(clean_close_leaves_empty_journal)
{
    struct store_journal_stats jst;
    pid_t pid = 1;
    struct tmp d;
    store_tenant *t;
    uint8_t buf[70000], back[70000];
    size_t got = 0;
    uint64_t ino = 0;

    tmp_make(&d);
    store *s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    CHECK(file_create(t, "a", &ino) == STORE_OK);
    content_fill(5, 1, buf);
    CHECK(store_write(t, ino, 0, buf, content_len(5), NULL) == STORE_OK);
    CHECK(file_create(t, "b", NULL) == STORE_OK);
    CHECK(store_rename(t, STORE_ROOT_INO, "b", 1, STORE_ROOT_INO, "c", 1, 0,
                       &(uint64_t){ 0 }) == STORE_OK);
    store_close(s);

    CHECK(store_journal_stats_read(d.store, &jst, &pid) == STORE_OK);
    CHECK(pid == 0);
    CHECK(jst.depth_entries == 0 && jst.depth_bytes == 0);

    s = open_tenant(d.store, false, &t);
    REQUIRE(s);
    ino = ino_of(t, "a");
    CHECK(ino != 0);
    CHECK(store_read(t, ino, 0, sizeof back, back, &got) == STORE_OK);
    CHECK(got == content_len(5) && memcmp(buf, back, got) == 0);
    CHECK(ino_of(t, "b") == 0 && ino_of(t, "c") != 0);
    CHECK(store_journal_stats(s, &jst) == STORE_OK);
    CHECK(jst.replayed == 0 && jst.discarded_bytes == 0);
    store_close(s);
    tmp_remove(&d);
}

/* ===================================================================== */
/* Group commit and the figures                                           */
/* ===================================================================== */

struct syncer_arg { store_tenant *t; uint64_t ino; int fails; };

#define SYNCERS 8
#define SYNC_ROUNDS 40

static void *syncer_main(void *p)
{
    struct syncer_arg *a = p;
    uint8_t buf[1024];

    memset(buf, (int)a->ino, sizeof buf);
    for (int i = 0; i < SYNC_ROUNDS; i++) {
        if (store_write(a->t, a->ino, (uint64_t)i * sizeof buf, buf,
                        sizeof buf, NULL) != STORE_OK ||
            store_tenant_sync(a->t) != STORE_OK)
            a->fails++;
    }
    return NULL;
}

TAP_TEST(group_commit_and_stats)
{
    struct syncer_arg args[SYNCERS];
    pthread_t th[SYNCERS];
    struct store_journal_stats st;
    struct tmp d;
    store_tenant *t;
    char name[16];
    int fails = 0;

    tmp_make(&d);
    store *s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    for (int i = 0; i < SYNCERS; i++) {
        snprintf(name, sizeof name, "s%d", i);
        args[i] = (struct syncer_arg){ .t = t };
        CHECK(file_create(t, name, &args[i].ino) == STORE_OK);
    }
    for (int i = 0; i < SYNCERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, syncer_main, &args[i]) == 0);
    for (int i = 0; i < SYNCERS; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].fails;
    }
    CHECK(fails == 0);
    CHECK(store_journal_stats(s, &st) == STORE_OK);
    printf("# fsyncs %llu flushes %llu max batch %llu\n",
           (unsigned long long)st.fsyncs, (unsigned long long)st.flushes,
           (unsigned long long)st.max_batch);
    CHECK(st.fsyncs >= SYNCERS * SYNC_ROUNDS);
    CHECK(st.flushes < st.fsyncs);
    CHECK(st.flushed_seq == st.appended_seq);

    /* The figures: a failed op appends nothing; depth = appended - applied. */
    struct store_journal_stats b;
    for (int i = 0; i < 10; i++)
        CHECK(store_write(t, args[0].ino, (uint64_t)i, "z", 1, NULL) == STORE_OK);
    CHECK(store_write(t, args[0].ino + 1000, 0, "z", 1, NULL) == STORE_ENOENT);
    CHECK(store_sync(s) == STORE_OK);
    CHECK(store_journal_stats(s, &b) == STORE_OK);
    CHECK(b.appended_seq == st.appended_seq + 10);
    CHECK(b.flushed_seq == b.appended_seq && b.applied_seq <= b.appended_seq);
    CHECK(b.depth_entries == b.appended_seq - b.applied_seq);
    CHECK(b.depth_entries == 0 || b.depth_bytes > 0);
    CHECK(b.fsyncs == st.fsyncs + 1);
    CHECK(store_set_commit_ms(s, 5) == STORE_OK);
    store_close(s);
    tmp_remove(&d);
}

/* ===================================================================== */
/* Backpressure                                                           */
/* ===================================================================== */

TAP_TEST(backpressure_checkpoints_and_bounds_depth)
{
    struct store_journal_stats st;
    struct tmp d;
    store_tenant *t;
    uint64_t ino = 0, max_depth = 0, total = STORE_CHECKPOINT_BYTES + (8u << 20);
    size_t chunk = (size_t)1 << 20;
    uint8_t *buf = malloc(chunk);

    REQUIRE(buf);
    tmp_make(&d);
    store *s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    CHECK(file_create(t, "big", &ino) == STORE_OK);
    for (uint64_t off = 0; off < total; off += chunk) {
        memset(buf, (int)(off >> 20), chunk);
        CHECK(store_write(t, ino, off, buf, chunk, NULL) == STORE_OK);
        CHECK(store_journal_stats(s, &st) == STORE_OK);
        if (st.depth_bytes > max_depth)
            max_depth = st.depth_bytes;
    }
    printf("# checkpoints %llu, deepest journal %llu bytes\n",
           (unsigned long long)st.checkpoints, (unsigned long long)max_depth);
    CHECK(st.checkpoints > 0);
    CHECK(max_depth <= STORE_CHECKPOINT_BYTES + 2 * chunk + 4096);
    store_close(s);
    s = open_tenant(d.store, false, &t);
    REQUIRE(s);
    size_t got = 0;
    CHECK(store_read(t, ino, total - chunk, chunk, buf, &got) == STORE_OK);
    CHECK(got == chunk && buf[0] == (uint8_t)((total - chunk) >> 20) &&
          buf[chunk - 1] == buf[0]);
    store_close(s);
    free(buf);
    tmp_remove(&d);
}

/* ===================================================================== */
/* Crash: kill -9 at random points, then recover                          */
/* ===================================================================== */

#define MAXF 32
#define CHILD_OPS 4000

struct mfile {
    bool live;
    uint32_t id, version;      /* version 0: empty, never written */
    char name[24];
};
struct model {
    struct mfile f[MAXF];
    uint32_t next_id, renames;
    uint64_t rng;
};
enum { OP_CREATE, OP_WRITE, OP_RENAME, OP_UNLINK };
struct mop {
    int kind, a, b;            /* slot; rename: replaced slot or -1 */
    char newname[24];
};

static uint32_t rng_next(struct model *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return (uint32_t)(m->rng >> 11);
}

static int pick_live(struct model *m, int except)
{
    int live[MAXF], n = 0;
    for (int i = 0; i < MAXF; i++)
        if (m->f[i].live && i != except)
            live[n++] = i;
    return n ? live[rng_next(m) % (uint32_t)n] : -1;
}

/* Choose the next op from the model (deterministic) and apply it to it. */
static void model_step(struct model *m, struct mop *o)
{
    int free_slot = -1;
    uint32_t r = rng_next(m) % 8;

    for (int i = 0; i < MAXF && free_slot < 0; i++)
        if (!m->f[i].live)
            free_slot = i;
    memset(o, 0, sizeof *o);
    o->b = -1;
    o->a = pick_live(m, -1);
    if (o->a < 0 || (free_slot >= 0 && r < 2)) {
        o->kind = OP_CREATE;
        o->a = free_slot;
        struct mfile *f = &m->f[o->a];
        *f = (struct mfile){ .live = true, .id = m->next_id++ };
        snprintf(f->name, sizeof f->name, "f%u", f->id);
    } else if (r < 5) {
        o->kind = OP_WRITE;
        m->f[o->a].version++;
    } else if (r < 7) {
        o->kind = OP_RENAME;
        if (r == 6)
            o->b = pick_live(m, o->a);
        if (o->b >= 0) {
            strcpy(o->newname, m->f[o->b].name);
            m->f[o->b].live = false;
        } else {
            snprintf(o->newname, sizeof o->newname, "r%u", m->renames++);
        }
        strcpy(m->f[o->a].name, o->newname);
    } else {
        o->kind = OP_UNLINK;
        m->f[o->a].live = false;
    }
}

/* Run model_step's op on the store; `before` and `after` are the model
 * around it. */
static store_err op_run(store_tenant *t, const struct model *before,
                        const struct model *after, const struct mop *o,
                        uint8_t *buf)
{
    const struct mfile *f = &before->f[o->a];
    uint64_t orphan = 0, ino;
    store_err err;

    switch (o->kind) {
    case OP_CREATE:
        return file_create(t, after->f[o->a].name, NULL);
    case OP_WRITE:
        if (!(ino = ino_of(t, f->name)))
            return STORE_ENOENT;
        content_fill(f->id, f->version + 1, buf);
        return store_write(t, ino, 0, buf, content_len(f->id), NULL);
    case OP_RENAME:
        err = store_rename(t, STORE_ROOT_INO, f->name, strlen(f->name),
                           STORE_ROOT_INO, o->newname, strlen(o->newname),
                           0, &orphan);
        break;
    default:
        err = store_unlink(t, STORE_ROOT_INO, f->name, strlen(f->name),
                           &orphan);
        break;
    }
    if (err == STORE_OK && orphan)
        err = store_release(t, orphan);
    return err;
}

static void crash_child(const char *dir, struct model m, int ackfd)
{
    static uint8_t buf[70000];
    store_tenant *t;
    store *s = open_tenant(dir, false, &t);

    if (!s)
        _exit(2);
    for (uint32_t i = 0; i < CHILD_OPS; i++) {
        struct model before = m;
        struct mop o;
        model_step(&m, &o);
        if (op_run(t, &before, &m, &o, buf) != STORE_OK)
            _exit(3);          /* the parent sees an exit, not a kill */
        if (write(ackfd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(4);
    }
    for (;;)
        pause();
}

/* Does the tenant hold exactly the live files of `m`, with their content? */
static bool state_matches(store_tenant *t, const struct model *m)
{
    static uint8_t want[70000], got[70001];
    struct store_attr a;
    int n = 0, live = 0;
    size_t len;

    if (store_readdir(t, STORE_ROOT_INO, 0, false, count_entry, &n) != STORE_OK)
        return false;
    for (int i = 0; i < MAXF; i++) {
        const struct mfile *f = &m->f[i];
        if (!f->live)
            continue;
        live++;
        if (store_lookup(t, STORE_ROOT_INO, f->name, strlen(f->name), &a) != STORE_OK)
            return false;
        size_t size = f->version ? content_len(f->id) : 0;
        if (a.size != size || a.nlink != 1 ||
            store_read(t, a.ino, 0, sizeof got, got, &len) != STORE_OK ||
            len != size)
            return false;
        content_fill(f->id, f->version, want);
        if (memcmp(want, got, size) != 0)
            return false;
    }
    return n == live;
}

/* Fork a child running ops from `m`, kill it after `acks` acknowledgements
 * (or whenever it stops); return how many it acknowledged, -1 on error. */
static int crash_round(const char *dir, const struct model *m, int acks)
{
    int fds[2], status, got = 0;
    uint32_t idx;
    pid_t pid;

    fflush(stdout);
    if (pipe(fds) != 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        crash_child(dir, *m, fds[1]);
    }
    close(fds[1]);
    while (got < acks && read(fds[0], &idx, sizeof idx) == (ssize_t)sizeof idx)
        got++;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    while (read(fds[0], &idx, sizeof idx) == (ssize_t)sizeof idx)
        got++;
    close(fds[0]);
    return WIFSIGNALED(status) ? got : -1;
}

/* Kill a daemon somewhere in (or right after) its recovery. */
static void crash_in_recovery(const char *dir)
{
    store_tenant *t;
    pid_t pid = fork();

    if (pid == 0 && open_tenant(dir, false, &t))
        for (;;)
            pause();
    if (pid == 0)
        _exit(2);
    if (pid > 0 && kill(pid, SIGKILL) == 0)
        waitpid(pid, NULL, 0);
}

/* Replace folder `to` by a copy of `from`. */
static bool folder_copy(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    return system(cmd) == 0;
}

TAP_TEST(crash_at_random_points)
{
    const char *env = getenv("TFS_CRASH_ROUNDS");
    int rounds = env ? atoi(env) : 6;
    struct model m = { .next_id = 1 };
    struct tmp d;
    store_tenant *t;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    printf("# crash seed %u, %d rounds\n", seed, rounds);
    srand(seed);
    m.rng = 0x9e3779b97f4a7c15ull ^ seed;
    char jdir[200], jsave[200];
    tmp_make(&d);
    snprintf(jdir, sizeof jdir, "%s/%s", d.store, STORE_JOURNAL_DIR);
    snprintf(jsave, sizeof jsave, "%s/jsave", d.root);
    store *s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    store_close(s);
    for (int r = 0; r < rounds; r++) {
        int acks = crash_round(d.store, &m, 1 + rand() % 600);
        REQUIRE(acks >= 0);
        if (r == 0)
            REQUIRE(folder_copy(jdir, jsave));
        if (r % 2 == 1)
            crash_in_recovery(d.store);
        struct model done = m, next;
        struct mop o;
        for (int i = 0; i < acks; i++)
            model_step(&done, &o);
        next = done;
        model_step(&next, &o);
        s = open_tenant(d.store, false, &t);
        REQUIRE(s);
        struct store_journal_stats st;
        CHECK(store_journal_stats(s, &st) == STORE_OK);
        bool now = state_matches(t, &done);
        bool more = !now && state_matches(t, &next);
        printf("# round %d: %d acks, replayed %llu, in-flight op %s\n", r,
               acks, (unsigned long long)st.replayed,
               now ? "absent" : more ? "present" : "HALF");
        CHECK(now || more);
        m = now ? done : next;
        store_close(s);
        if (r == 0) {
            /* A crash after recovery's commits but before its trim: the
             * whole journal again, every entry already applied. */
            REQUIRE(folder_copy(jsave, jdir));
            s = open_tenant(d.store, false, &t);
            REQUIRE(s);
            CHECK(store_journal_stats(s, &st) == STORE_OK);
            CHECK(st.replayed > 0);
            CHECK(state_matches(t, &m));
            store_close(s);
        }
        if (!now && !more)
            break;
    }
    tmp_remove(&d);
}

/* A daemon that dies right after an acknowledged op, leaving it only in
 * the journal (no checkpoint yet). */
static bool crash_after_create(const char *dir, const char *name)
{
    store_tenant *t;
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        store *s = open_tenant(dir, false, &t);
        if (s && file_create(t, name, NULL) == STORE_OK)
            kill(getpid(), SIGKILL);   /* (no exit-time leak check) */
        _exit(1);
    }
    return pid > 0 && waitpid(pid, &status, 0) == pid &&
           WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/* A tenant recovery cannot open keeps its journal entries: its missing
 * env is not a removed tenant, and it stays refused while that daemon
 * lives (ops served there would be checkpointed with an applied_seq above
 * the entries it never applied, which the next recovery would skip). */
TAP_TEST(unopenable_tenant_keeps_its_entries)
{
    struct tmp d;
    store_tenant *t = NULL;
    char tdir[200], away[200];
    store *s;

    tmp_make(&d);
    snprintf(tdir, sizeof tdir, "%s/%s/%016llx", d.store, STORE_TENANTS_DIR, 1ull);
    snprintf(away, sizeof away, "%s/away", d.root);
    s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    store_close(s);
    REQUIRE(crash_after_create(d.store, "kept"));

    REQUIRE(rename(tdir, away) == 0);
    CHECK(store_open(d.store, PASS, PASSLEN, STORE_OPEN_DAEMON, &s) == STORE_OK);
    REQUIRE(s);
    REQUIRE(rename(away, tdir) == 0);
    /* back in place, but not for this daemon */
    CHECK(store_tenant_get(s, 1, &t) == STORE_EIO);
    if (store_tenant_get(s, 1, &t) == STORE_OK)
        CHECK(file_create(t, "later", NULL) == STORE_OK);
    store_close(s);

    s = open_tenant(d.store, false, &t);
    REQUIRE(s);
    CHECK(ino_of(t, "kept") != 0);
    store_close(s);
    tmp_remove(&d);
}

/* An entry that fails to replay for any reason but a purged orphan (here:
 * an authentic entry whose payload is not an op) is not skipped: it and
 * the tenant's later entries stay in the journal, the ops before it are
 * checkpointed, and the tenant is refused until the next mount. */
TAP_TEST(failed_replay_keeps_the_rest)
{
    struct tmp d;
    store_tenant *t = NULL;
    struct store_journal_stats st;
    pid_t pid, daemon = 1;
    int status = 0;
    store *s;

    tmp_make(&d);
    s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    store_close(s);
    pid = fork();
    if (pid == 0) {
        uint64_t seq;
        s = open_tenant(d.store, false, &t);
        /* the writer is idle between acknowledged ops: append directly */
        if (s && file_create(t, "before", NULL) == STORE_OK &&
            store_journal_append(store_writer_journal(s), 1, "junk", 4,
                                 &seq) == STORE_OK &&
            file_create(t, "after", NULL) == STORE_OK)
            kill(getpid(), SIGKILL);
        _exit(1);
    }
    REQUIRE(pid > 0 && waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    CHECK(store_open(d.store, PASS, PASSLEN, STORE_OPEN_DAEMON, &s) == STORE_OK);
    REQUIRE(s);
    CHECK(store_tenant_get(s, 1, &t) == STORE_EIO);
    store_close(s);
    /* the junk entry and "after" are still there for the next mount */
    CHECK(store_journal_stats_read(d.store, &st, &daemon) == STORE_OK);
    CHECK(daemon == 0 && st.depth_entries >= 2);
    /* "before" was checkpointed: a tool sees it, and not "after" */
    REQUIRE(store_open(d.store, PASS, PASSLEN, 0, &s) == STORE_OK);
    REQUIRE(store_tenant_get(s, 1, &t) == STORE_OK);
    CHECK(ino_of(t, "before") != 0);
    CHECK(ino_of(t, "after") == 0);
    store_close(s);
    tmp_remove(&d);
}

/* A journal made anew (its folder lost, e.g. a copy that left it out)
 * numbers from 1 again while the tenant still records the old position:
 * its new entries must be replayed, not skipped as "already applied". */
TAP_TEST(journal_made_anew_is_not_skipped)
{
    struct tmp d;
    store_tenant *t = NULL;
    char jdir[300], cmd[400];
    store *s;

    tmp_make(&d);
    s = open_tenant(d.store, true, &t);
    REQUIRE(s);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "old%d", i);
        REQUIRE(file_create(t, name, NULL) == STORE_OK);
    }
    store_close(s);              /* checkpointed: applied_seq >= 20 */
    snprintf(jdir, sizeof jdir, "%s/%s", d.store, STORE_JOURNAL_DIR);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", jdir);
    REQUIRE(system(cmd) == 0);
    REQUIRE(crash_after_create(d.store, "new"));

    s = open_tenant(d.store, false, &t);
    REQUIRE(s);
    CHECK(ino_of(t, "new") != 0);
    CHECK(ino_of(t, "old7") != 0);
    store_close(s);
    tmp_remove(&d);
}

int main(void)
{
    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    signal(SIGPIPE, SIG_IGN);
    return tap_main();
}
