/*
 * test_store_admin.c - unit tests of the store's administration: creating
 * and opening a store, its key header, the daemon lock, passphrase changes,
 * the tenant registry, secrets, errors and statfs.  Every test makes its own
 * store under a fresh mkdtemp() folder and removes it afterwards.
 *
 * TENANTFS_TEST_FAST_KDF=1 is set in main() so Argon2id runs at its
 * minimum cost; the header records the cost, so nothing else changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_tmp.h"
#include "tap.h"

#define HDR_SIZE 172

/* ---- Helpers ---- */

static FILE *file_open(const char *dir, const char *name, const char *how)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, how);
}

static size_t file_read(const char *dir, const char *name, uint8_t *buf,
                        size_t cap)
{
    FILE *f = file_open(dir, name, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void file_write(const char *dir, const char *name, const void *buf,
                       size_t len)
{
    FILE *f = file_open(dir, name, "wb");
    if (!f || fwrite(buf, 1, len, f) != len)
        abort();
    fclose(f);
}


/* ---- Create, open, header ---- */

TAP_TEST(create_then_open)
{
    struct tmp t;
    struct stat st;
    char p[160];
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    REQUIRE(stat(t.store, &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    snprintf(p, sizeof p, "%s/%s", t.store, STORE_HDR_NAME);
    REQUIRE(stat(p, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(st.st_size == HDR_SIZE);
    /* The test-only cost was honoured and recorded (opslimit at 36). */
    uint8_t h[HDR_SIZE];
    REQUIRE(file_read(t.store, STORE_HDR_NAME, h, sizeof h) == HDR_SIZE);
    CHECK(memcmp(h, "TENANTFS", 8) == 0 && h[8] == 1 && h[36] == 1 && h[37] == 0);
    CHECK(h[44] == 0x00 && h[45] == 0x20 && h[46] == 0);  /* memlimit 8192 */
    snprintf(p, sizeof p, "%s/%s", t.store, STORE_TENANTS_DIR);
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(strcmp(store_dir(s), t.store) == 0);
    uint64_t n = 99;
    CHECK(store_tenant_count(s, &n) == STORE_OK && n == 0);
    CHECK(store_sync(s) == STORE_OK);
    store_close(s);
    store_close(NULL);

    /* A store folder is not empty: creating again is refused. */
    CHECK(store_create(t.store, PASS, PASSLEN) == STORE_EEXIST);
    CHECK(store_create(t.root, "x", 0) == STORE_EINVAL);
    tmp_remove(&t);
}

TAP_TEST(wrong_passphrase_changes_nothing)
{
    struct tmp t;
    uint8_t before[512], after[512];
    store *s = NULL;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    size_t nb = file_read(t.store, STORE_HDR_NAME, before, sizeof before);
    CHECK(store_open(t.store, "wrong", 5, 0, &s) == STORE_EBADKEY);
    CHECK(s == NULL);
    CHECK(store_open(t.store, PASS, PASSLEN - 1, STORE_OPEN_DAEMON, &s) == STORE_EBADKEY);
    CHECK(store_open(t.store, "", 0, 0, &s) == STORE_EBADKEY);
    size_t na = file_read(t.store, STORE_HDR_NAME, after, sizeof after);
    CHECK(nb == HDR_SIZE && na == nb && memcmp(before, after, nb) == 0);
    tmp_remove(&t);
}

TAP_TEST(not_a_store)
{
    struct tmp t;
    store *s = NULL;
    char p[160];
    tmp_make(&t);

    CHECK(store_open(t.root, PASS, PASSLEN, STORE_OPEN_DAEMON, &s) == STORE_ENOTSTORE);
    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_ENOTSTORE);
    /* Nothing was written into the foreign folder. */
    snprintf(p, sizeof p, "%s/%s", t.root, STORE_LOCK_NAME);
    CHECK(access(p, F_OK) != 0);
    /* A file with other contents is not a store either. */
    file_write(t.root, STORE_HDR_NAME, "hello world, not a header", 25);
    CHECK(store_open(t.root, PASS, PASSLEN, 0, &s) == STORE_ENOTSTORE);
    CHECK(s == NULL);
    tmp_remove(&t);
}

TAP_TEST(damaged_header)
{
    struct tmp t;
    uint8_t good[512], bad[512];
    store *s = NULL;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    size_t n = file_read(t.store, STORE_HDR_NAME, good, sizeof good);
    REQUIRE(n == HDR_SIZE);

    /* One flipped byte anywhere after the magic: EDAMAGED. */
    size_t offsets[] = { 8, 20, 40, 60, 100, 150, 171 };
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        memcpy(bad, good, n);
        bad[offsets[i]] ^= 0x01;
        file_write(t.store, STORE_HDR_NAME, bad, n);
        CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_EDAMAGED);
    }
    /* Truncated: EDAMAGED.  Other magic: ENOTSTORE. */
    file_write(t.store, STORE_HDR_NAME, good, n - 1);
    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_EDAMAGED);
    memcpy(bad, good, n);
    bad[0] = 'X';
    file_write(t.store, STORE_HDR_NAME, bad, n);
    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_ENOTSTORE);

    /* A well-formed header of version 2: EVERSION. */
    memcpy(bad, good, n);
    bad[8] = 2;
    seal_checksum(bad, n - 32, bad + n - 32);
    file_write(t.store, STORE_HDR_NAME, bad, n);
    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_EVERSION);

    /* A changed KDF parameter with a valid checksum: the wrap's AD no
     * longer matches, so the key does not unwrap. */
    memcpy(bad, good, n);
    bad[52] ^= 0x80;       /* salt */
    seal_checksum(bad, n - 32, bad + n - 32);
    file_write(t.store, STORE_HDR_NAME, bad, n);
    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_EBADKEY);

    /* Restored, it opens again. */
    file_write(t.store, STORE_HDR_NAME, good, n);
    s = open_ok(t.store, 0);
    CHECK(s != NULL);
    store_close(s);
    tmp_remove(&t);
}

TAP_TEST(second_daemon_refused)
{
    struct tmp t;
    store *s2 = NULL;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s1 = open_ok(t.store, STORE_OPEN_DAEMON);
    REQUIRE(s1);
    CHECK(store_open(t.store, PASS, PASSLEN, STORE_OPEN_DAEMON, &s2) == STORE_EBUSY);
    CHECK(s2 == NULL);
    CHECK(store_busy_pid(t.store) == getpid());
    /* A tool may open the store alongside the daemon. */
    s2 = open_ok(t.store, 0);
    CHECK(s2 != NULL);
    store_close(s2);
    /* Closing stops the flusher at once, not at its next tick (a minute
     * away here). */
    CHECK(store_set_commit_ms(s1, 60000) == STORE_OK);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    store_close(s1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(took < 30.0);
    /* Once closed, the lock is free again. */
    s1 = open_ok(t.store, STORE_OPEN_DAEMON);
    CHECK(s1 != NULL);
    store_close(s1);
    tmp_remove(&t);
}

/* ---- Tenants ---- */

struct each_log {
    uint64_t ids[8];
    char names[8][32];
    uint32_t uids[8], modes[8];
    int n, stop_after;
};

static int each_collect(const struct store_tenant_info *info, void *arg)
{
    struct each_log *l = arg;
    if (l->n < 8) {
        l->ids[l->n] = info->id;
        snprintf(l->names[l->n], sizeof l->names[0], "%.31s", info->name);
        l->uids[l->n] = info->uid;
        l->modes[l->n] = info->mode;
    }
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

TAP_TEST(tenant_lifecycle)
{
    struct tmp t;
    struct store_tenant_info info;
    uint64_t id1 = 0, id2 = 0, id3 = 0, n = 0;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "acme", 1000, 1001, 0750, &id1) == STORE_OK);
    CHECK(store_tenant_add(s, "beta", 2000, 2001, 040700, &id2) == STORE_OK);
    CHECK(id1 == 1 && id2 == 2);
    CHECK(store_tenant_add(s, "acme", 0, 0, 0755, NULL) == STORE_EEXIST);

    const char *bad[] = { "", ".", "..", "a/b", "x\n", ".hidden", "tab\there" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(store_tenant_add(s, bad[i], 0, 0, 0755, NULL) == STORE_EINVAL);
        CHECK(store_tenant_name_check(bad[i], strlen(bad[i])) == STORE_EINVAL);
    }
    char longname[257];
    memset(longname, 'n', 256);
    longname[256] = '\0';
    CHECK(store_tenant_add(s, longname, 0, 0, 0755, NULL) == STORE_ENAMETOOLONG);
    CHECK(store_tenant_name_check(longname, 255) == STORE_OK);
    CHECK(store_tenant_name_check("a\0b", 3) == STORE_EINVAL);
    CHECK(store_tenant_count(s, &n) == STORE_OK && n == 2);

    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK);
    CHECK(info.id == id1 && strcmp(info.name, "acme") == 0);
    CHECK(info.uid == 1000 && info.gid == 1001 && info.mode == 0750);
    CHECK(info.created_sec > 0 && info.quota_bytes == 0);
    CHECK(store_tenant_find(s, "acm", 3, &info) == STORE_ENOENT);
    CHECK(store_tenant_find(s, "beta", 4, &info) == STORE_OK && info.mode == 0700);

    store_tenant *tt = NULL;
    CHECK(store_tenant_get(s, id2, &tt) == STORE_OK && tt && store_tenant_id(tt) == id2);
    CHECK(store_tenant_get(s, 77, &tt) == STORE_ENOENT);

    struct each_log l = { 0 };
    CHECK(store_tenant_each(s, each_collect, &l) == STORE_OK);
    CHECK(l.n == 2 && l.ids[0] == 1 && l.ids[1] == 2);
    CHECK(strcmp(l.names[0], "acme") == 0 && strcmp(l.names[1], "beta") == 0);
    CHECK(l.uids[0] == 1000 && l.modes[1] == 0700);
    struct each_log l1 = { .stop_after = 1 };
    CHECK(store_tenant_each(s, each_collect, &l1) == STORE_OK && l1.n == 1);

    CHECK(store_tenant_remove(s, "acme", 0) == STORE_OK);
    CHECK(store_tenant_remove(s, "acme", 0) == STORE_ENOENT);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_ENOENT);
    CHECK(store_tenant_count(s, &n) == STORE_OK && n == 1);
    char *tp = store_tenant_path(t.store, id1);
    CHECK(tp && access(tp, F_OK) != 0);
    free(tp);
    /* Ids are never reused; the name is free again. */
    CHECK(store_tenant_add(s, "acme", 5, 6, 0700, &id3) == STORE_OK && id3 == 3);
    store_close(s);

    /* Everything survives a reopen. */
    s = open_ok(t.store, STORE_OPEN_RDONLY);
    REQUIRE(s);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK && info.id == 3 &&
          info.uid == 5);
    CHECK(store_tenant_add(s, "gamma", 0, 0, 0755, NULL) == STORE_EROFS);
    store_close(s);
    tmp_remove(&t);
}

/* How many of this process's descriptors name a file under `dir`. */
static int fds_under(const char *dir)
{
    char link[64], target[512];
    int n = 0;

    for (int fd = 0; fd < 1024; fd++) {
        ssize_t len;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strncmp(target, dir, strlen(dir)) == 0)
            n++;
    }
    return n;
}

/* The daemon removes a tenant it serves (tenantctl asks it to): the
 * handle goes dead, the registry and the files forget it.  A tool is
 * refused while a daemon serves the store. */
TAP_TEST(tenant_remove_while_served)
{
    struct store_tenant_info info;
    struct store_attr a;
    store_tenant *tn = NULL;
    uint64_t id = 0;
    struct stat st;
    char *tp;
    struct tmp t;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *d = open_ok(t.store, STORE_OPEN_DAEMON);
    REQUIRE(d);
    CHECK(store_tenant_add(d, "acme", 0, 0, 0755, &id) == STORE_OK);
    REQUIRE(store_tenant_get(d, id, &tn) == STORE_OK);
    CHECK(store_mknod(tn, STORE_ROOT_INO, "r", 1, S_IFREG | 0644, 0, 0,
                      NULL, 0, &a) == STORE_OK);
    /* From a tool while a daemon holds the store: refused. */
    store *tool = open_ok(t.store, 0);
    REQUIRE(tool);
    CHECK(store_tenant_remove(tool, "acme", 0) == STORE_EBUSY);
    /* In the daemon: "only if empty" refuses, and the tenant still works. */
    CHECK(store_tenant_remove(d, "acme", STORE_TENANT_REMOVE_EMPTY) == STORE_ENOTEMPTY);
    CHECK(store_getattr(tn, STORE_ROOT_INO, &a) == STORE_OK && a.nlink == 2);
    CHECK(store_lookup(tn, STORE_ROOT_INO, "r", 1, &a) == STORE_OK);
    CHECK(store_tenant_remove(d, "acme", 0) == STORE_OK);
    CHECK(store_getattr(tn, STORE_ROOT_INO, &a) == STORE_ENOENT);
    CHECK(store_mknod(tn, STORE_ROOT_INO, "s", 1, S_IFREG | 0644, 0, 0,
                      NULL, 0, &a) == STORE_ENOENT);
    CHECK(store_tenant_get(d, id, &tn) == STORE_ENOENT);
    CHECK(store_tenant_find(d, "acme", 4, &info) == STORE_ENOENT);
    tp = store_tenant_path(t.store, id);
    CHECK(tp && stat(tp, &st) != 0 && errno == ENOENT);
    /* and its files are closed: their space comes back now, not at unmount */
    CHECK(tp && fds_under(tp) == 0);
    free(tp);
    /* The name is free again, under a new id. */
    CHECK(store_tenant_add(d, "acme", 0, 0, 0755, &id) == STORE_OK && id == 2);
    CHECK(store_tenant_remove(d, "acme", STORE_TENANT_REMOVE_EMPTY) == STORE_OK);
    CHECK(store_tenant_add(tool, "beta", 0, 0, 0755, NULL) == STORE_EBUSY);
    store_close(d);
    CHECK(store_tenant_add(tool, "beta", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_remove(tool, "beta", 0) == STORE_OK);
    store_close(tool);
    tmp_remove(&t);
}

struct getter {
    store *s;
    uint64_t id;
    store_tenant *t;
    store_err err;
};

static void *get_thread(void *arg)
{
    struct getter *g = arg;
    g->err = store_tenant_get(g->s, g->id, &g->t);
    return NULL;
}

TAP_TEST(tenant_get_concurrent_opens_once)
{
    struct tmp t;
    struct getter g[8];
    pthread_t th[8];
    uint64_t id = 0;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "acme", 0, 0, 0755, &id) == STORE_OK);
    store_close(s);
    s = open_ok(t.store, STORE_OPEN_DAEMON);
    REQUIRE(s);
    for (int i = 0; i < 8; i++) {
        g[i] = (struct getter){ .s = s, .id = id };
        REQUIRE(pthread_create(&th[i], NULL, get_thread, &g[i]) == 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK(g[i].err == STORE_OK && g[i].t == g[0].t && g[i].t != NULL);
    }
    CHECK(s->nopen == 1);
    store_close(s);
    tmp_remove(&t);
}

/* ---- Passphrase change and secrecy ---- */

TAP_TEST(passwd_rewraps)
{
    struct tmp t;
    struct store_tenant_info info;
    store *s = NULL;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    s = open_ok(t.store, STORE_OPEN_DAEMON);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "acme", 7, 8, 0750, NULL) == STORE_OK);

    /* While the daemon runs. */
    CHECK(store_passwd(t.store, "nope", 4, "new pass", 8) == STORE_EBADKEY);
    CHECK(store_passwd(t.store, PASS, PASSLEN, "", 0) == STORE_EINVAL);
    CHECK(store_passwd(t.store, PASS, PASSLEN, "new pass", 8) == STORE_OK);
    store_close(s);
    s = NULL;

    CHECK(store_open(t.store, PASS, PASSLEN, 0, &s) == STORE_EBADKEY);
    CHECK(store_open(t.store, "new pass", 8, 0, &s) == STORE_OK);
    REQUIRE(s);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK && info.uid == 7);
    store_close(s);
    tmp_remove(&t);
}

static int scan_failed;
static const char *scan_needles[4];

static int scan_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    if (type != FTW_F || st->st_size == 0)
        return 0;
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return 0;
    char *buf = malloc((size_t)st->st_size);
    size_t n = buf ? fread(buf, 1, (size_t)st->st_size, fp) : 0;
    fclose(fp);
    for (int i = 0; i < 4 && scan_needles[i]; i++) {
        if (n && memmem(buf, n, scan_needles[i], strlen(scan_needles[i]))) {
            printf("# found '%s' in %s\n", scan_needles[i], p);
            scan_failed = 1;
        }
    }
    free(buf);
    return 0;
}

TAP_TEST(no_plaintext_names_on_disk)
{
    struct tmp t;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "zebracorn-industries", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_add(s, "quokkafarm", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_remove(s, "quokkafarm", 0) == STORE_OK);
    CHECK(store_sync(s) == STORE_OK);
    store_close(s);
    CHECK(store_passwd(t.store, PASS, PASSLEN, "otherpassphrase", 15) == STORE_OK);

    scan_failed = 0;
    scan_needles[0] = "zebracorn";
    scan_needles[1] = "quokkafarm";
    scan_needles[2] = "horse battery";
    scan_needles[3] = "otherpassphrase";
    CHECK(nftw(t.store, scan_one, 16, FTW_PHYS) == 0);
    CHECK(scan_failed == 0);
    tmp_remove(&t);
}

static char log_last[512];
static int log_count;

static void log_capture(int priority, const char *msg)
{
    (void)priority;
    snprintf(log_last, sizeof log_last, "%s", msg);
    log_count++;
}

TAP_TEST(damaged_registry_record)
{
    struct tmp t;
    struct store_tenant_info info;
    char p[160];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "acme", 0, 0, 0755, NULL) == STORE_OK);
    store_close(s);

    /* Flip one byte of tenant 1's sealed record, behind the store's back. */
    snprintf(p, sizeof p, "%s/%s", t.store, STORE_REGISTRY_DIR);
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 4);
    REQUIRE(mdb_env_open(env, p, 0, 0600) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "tenants", 0, &dbi) == 0);
    uint8_t key[8], copy[512];
    store_put_be64(key, 1);
    MDB_val k = { 8, key }, v;
    REQUIRE(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 0x04;
    v.mv_data = copy;
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    store_set_log(log_capture);
    log_count = 0;
    s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_EIO);
    CHECK(log_count >= 1 && strstr(log_last, "tenant 1") != NULL);
    CHECK(strstr(log_last, "acme") == NULL);
    store_tenant *tt;
    CHECK(store_tenant_get(s, 1, &tt) == STORE_EIO);
    store_close(s);
    store_set_log(NULL);
    tmp_remove(&t);
}

/* One tenant whose database is damaged (here: its data file emptied) or
 * whose registry record fails authentication must not hide the others from
 * store_tenant_each (the mount root's listing, tenantctl tenant list).
 * Review fix: before it, the first bad tenant ended the listing with EIO.
 * The registry holds all a listing shows, so a damaged database is still
 * listed (using it gives EIO); a damaged record is left out and logged. */
TAP_TEST(damaged_tenant_does_not_hide_others)
{
    struct tmp t;
    char *tp = NULL, p[200];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_ok(t.store, 0);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "one", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_add(s, "two", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_add(s, "three", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_tenant_add(s, "four", 0, 0, 0755, NULL) == STORE_OK);
    store_close(s);

    /* Tenant 2: an empty data file and no lock file. */
    tp = store_tenant_path(t.store, 2);
    REQUIRE(tp);
    snprintf(p, sizeof p, "%s/data.mdb", tp);
    REQUIRE(truncate(p, 0) == 0);
    snprintf(p, sizeof p, "%s/lock.mdb", tp);
    (void)unlink(p);
    free(tp);

    /* Tenant 3: its registry record flipped. */
    snprintf(p, sizeof p, "%s/%s", t.store, STORE_REGISTRY_DIR);
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 4);
    REQUIRE(mdb_env_open(env, p, 0, 0600) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "tenants", 0, &dbi) == 0);
    uint8_t key[8], copy[512];
    store_put_be64(key, 3);
    MDB_val k = { 8, key }, v;
    REQUIRE(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 0x10;
    v.mv_data = copy;
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    store_set_log(log_capture);
    for (int daemon = 0; daemon < 2; daemon++) {
        struct each_log l = { 0 };
        s = open_ok(t.store, daemon ? STORE_OPEN_DAEMON : 0);
        REQUIRE(s);
        log_count = 0;
        CHECK(store_tenant_each(s, each_collect, &l) == STORE_OK);
        CHECK(l.n == 3 && l.ids[0] == 1 && l.ids[1] == 2 && l.ids[2] == 4);
        CHECK(strcmp(l.names[0], "one") == 0 && strcmp(l.names[2], "four") == 0);
        CHECK(log_count >= 1);
        store_tenant *bad = NULL;
        CHECK(store_tenant_get(s, 2, &bad) == STORE_EIO);
        store_close(s);
    }
    store_set_log(NULL);
    tmp_remove(&t);
}

/* ---- Secrets, errors, statfs ---- */

static store_err secret_from(const char *root, const char *content, size_t len,
                             char **pass, size_t *plen)
{
    file_write(root, "key", content, len);
    char p[160];
    snprintf(p, sizeof p, "%s/key", root);
    return store_secret_read(p, "pass: ", pass, plen);
}

TAP_TEST(secret_read)
{
    struct tmp t;
    char *pw = NULL, p[160];
    size_t len = 0;
    tmp_make(&t);

    CHECK(secret_from(t.root, "hunter2\nsecond line\n", 20, &pw, &len) == STORE_OK);
    CHECK(pw && len == 7 && memcmp(pw, "hunter2", 7) == 0 && pw[7] == '\0');
    store_secret_free(pw, len);
    CHECK(secret_from(t.root, "dos\r\n", 5, &pw, &len) == STORE_OK && len == 3);
    store_secret_free(pw, len);
    CHECK(secret_from(t.root, "no newline", 10, &pw, &len) == STORE_OK && len == 10);
    store_secret_free(pw, len);
    CHECK(secret_from(t.root, "", 0, &pw, &len) == STORE_EINVAL && pw == NULL);
    CHECK(secret_from(t.root, "\nlater", 6, &pw, &len) == STORE_EINVAL);

    char big[1100];
    memset(big, 'k', sizeof big);
    CHECK(secret_from(t.root, big, 1024, &pw, &len) == STORE_OK && len == 1024);
    store_secret_free(pw, len);
    CHECK(secret_from(t.root, big, 1025, &pw, &len) == STORE_EINVAL);
    CHECK(secret_from(t.root, big, sizeof big, &pw, &len) == STORE_EINVAL);

    snprintf(p, sizeof p, "%s/missing", t.root);
    CHECK(store_secret_read(p, NULL, &pw, &len) == STORE_ENOENT);
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s/key", t.root);
        chmod(p, 0);
        CHECK(store_secret_read(p, NULL, &pw, &len) == STORE_EACCES);
    }
    if (!isatty(STDIN_FILENO))
        CHECK(store_secret_read(NULL, "pass: ", &pw, &len) == STORE_EINVAL);
    store_secret_free(NULL, 0);
    tmp_remove(&t);
}

TAP_TEST(errors_translate)
{
    for (int e = 0; e < STORE_ERR_COUNT_; e++) {
        const char *m = store_strerror((store_err)e);
        CHECK(m && *m);
        for (int f = 0; f < e; f++)
            CHECK(strcmp(m, store_strerror((store_err)f)) != 0);
    }
    CHECK(strcmp(store_strerror(STORE_EBADKEY), "wrong passphrase") == 0);
    CHECK(store_strerror((store_err)999) != NULL);
    CHECK(store_from_mdb(0) == STORE_OK);
    CHECK(store_from_mdb(MDB_NOTFOUND) == STORE_ENOENT);
    CHECK(store_from_mdb(MDB_MAP_FULL) == STORE_ENOSPC);
    CHECK(store_from_mdb(MDB_KEYEXIST) == STORE_EEXIST);
    CHECK(store_from_mdb(MDB_CORRUPTED) == STORE_EIO);
    CHECK(store_from_mdb(MDB_PAGE_NOTFOUND) == STORE_EIO);
    CHECK(store_from_mdb(MDB_INVALID) == STORE_EIO);
    CHECK(store_from_mdb(MDB_VERSION_MISMATCH) == STORE_EIO);
    CHECK(store_from_mdb(ENOSPC) == STORE_ENOSPC);
    CHECK(store_from_mdb(EACCES) == STORE_EACCES);
    CHECK(store_from_errno(ENAMETOOLONG) == STORE_ENAMETOOLONG);
    CHECK(store_from_errno(EDQUOT) == STORE_EDQUOT);
    CHECK(store_from_errno(EBADF) == STORE_EIO);

    store_set_log(log_capture);
    log_count = 0;
    store_log(LOG_INFO, "tenant %d inode %d", 4, 17);
    CHECK(log_count == 1 && strcmp(log_last, "tenant 4 inode 17") == 0);
    store_set_log(NULL);
}

TAP_TEST(statfs_plausible)
{
    struct tmp t;
    struct store_statfs st;
    tmp_make(&t);

    REQUIRE(store_create(t.store, PASS, PASSLEN) == STORE_OK);
    /* the daemon's view: it counts the records of the tenants it serves */
    store *s = open_ok(t.store, STORE_OPEN_DAEMON);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "acme", 0, 0, 0755, NULL) == STORE_OK);
    CHECK(store_statfs(s, &st) == STORE_OK);
    CHECK(st.namemax == 255 && st.bsize > 0 && st.blocks > 0);
    CHECK(st.bfree <= st.blocks && st.bavail <= st.bfree);
    CHECK(st.files >= st.ffree && st.files - st.ffree >= 1);
    store_close(s);
    tmp_remove(&t);
}

int main(void)
{
    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    return tap_main();
}
