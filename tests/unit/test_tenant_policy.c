/*
 * test_tenant_policy.c - a tenant as a principal, at the store level: the
 * registry's owner, group and mode of the tenant folder (and how the root
 * inode reports them), store_tenant_update(), usage accounting, and quotas
 * (STORE_EDQUOT without damage; a replayed op is never refused).
 */
#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_tmp.h"
#include "tap.h"

#define ROOT    STORE_ROOT_INO

/* A fresh folder with an empty store in it. */
static void store_make(struct tmp *t)
{
    tmp_make(t);
    if (store_create(t->store, PASS, PASSLEN) != STORE_OK)
        abort();
}

/* Add tenant `name` and open it. */
static store_tenant *tenant_new(store *s, const char *name, uint64_t *id)
{
    store_tenant *t = NULL;
    uint64_t tid = 0;

    if (store_tenant_add(s, name, 1000, 1000, 0750, &tid) != STORE_OK ||
        store_tenant_get(s, tid, &t) != STORE_OK)
        return NULL;
    if (id)
        *id = tid;
    return t;
}

static store_err file_make(store_tenant *t, const char *name, uint64_t *ino)
{
    struct store_attr a;
    store_err e = store_mknod(t, ROOT, name, strlen(name), S_IFREG | 0644,
                              1000, 1000, NULL, 0, &a);
    if (e == STORE_OK && ino)
        *ino = a.ino;
    return e;
}

static struct store_tenant_usage usage_of(store_tenant *t)
{
    struct store_tenant_usage u = { UINT64_MAX, UINT64_MAX };
    if (store_tenant_usage(t, &u) != STORE_OK)
        printf("# store_tenant_usage failed\n");
    return u;
}

static store_err quota_set(store *s, uint64_t id, uint64_t bytes, uint64_t records)
{
    struct store_tenant_info in = { .quota_bytes = bytes, .quota_records = records };

    return store_tenant_update(s, id, &in, STORE_TENANT_SET_QUOTA_BYTES |
                                           STORE_TENANT_SET_QUOTA_RECORDS);
}

/* ---- Owner, group and mode ---- */

TAP_TEST(owner_and_mode_live_in_the_registry)
{
    struct store_tenant_info info, in = { 0 };
    struct store_attr a, sa = { 0 };
    uint64_t id = 0;
    struct tmp tp;
    store_make(&tp);

    store *s = open_ok(tp.store, 0);
    REQUIRE(s);
    REQUIRE(store_tenant_add(s, "acme", 5, 6, 0750, &id) == STORE_OK);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK &&
          info.uid == 5 && info.gid == 6 && info.mode == 0750 &&
          info.quota_bytes == 0 && info.quota_records == 0);
    store_tenant *t = NULL;
    REQUIRE(store_tenant_get(s, id, &t) == STORE_OK);
    CHECK(store_getattr(t, ROOT, &a) == STORE_OK && a.uid == 5 && a.gid == 6 &&
          a.mode == (S_IFDIR | 0750));

    /* update: the open tenant sees it at once, the registry keeps it */
    in.uid = 7;
    in.mode = 01770;
    CHECK(store_tenant_update(s, id, &in, STORE_TENANT_SET_UID |
                                          STORE_TENANT_SET_MODE) == STORE_OK);
    store_tenant_info_get(t, &info);
    CHECK(info.uid == 7 && info.gid == 6 && info.mode == 01770 && info.id == id);
    CHECK(store_getattr(t, ROOT, &a) == STORE_OK && a.uid == 7 && a.gid == 6 &&
          a.mode == (S_IFDIR | 01770));

    /* chmod/chgrp of the tenant folder itself go to the registry too */
    sa.mode = 0700;
    sa.gid = 9;
    CHECK(store_setattr(t, ROOT, &sa, STORE_SET_MODE | STORE_SET_GID, &a) == STORE_OK &&
          a.mode == (S_IFDIR | 0700) && a.gid == 9 && a.uid == 7);
    store_close(s);

    s = open_ok(tp.store, STORE_OPEN_RDONLY);
    REQUIRE(s);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK &&
          info.uid == 7 && info.gid == 9 && info.mode == 0700);
    REQUIRE(store_tenant_get(s, id, &t) == STORE_OK);
    CHECK(store_getattr(t, ROOT, &a) == STORE_OK && a.uid == 7 && a.gid == 9 &&
          a.mode == (S_IFDIR | 0700));
    store_close(s);
    tmp_remove(&tp);
}

TAP_TEST(update_refuses_bad_input)
{
    struct store_tenant_info in = { .mode = 010000 }, info;
    uint64_t id = 0;
    struct tmp tp;
    store_make(&tp);

    store *s = open_ok(tp.store, 0);
    REQUIRE(s);
    REQUIRE(store_tenant_add(s, "acme", 5, 6, 0750, &id) == STORE_OK);
    CHECK(store_tenant_update(s, id, &in, STORE_TENANT_SET_MODE) == STORE_EINVAL);
    CHECK(store_tenant_update(s, id, &in, 1u << 20) == STORE_EINVAL);
    in.mode = 0700;
    CHECK(store_tenant_update(s, id + 1, &in, STORE_TENANT_SET_MODE) == STORE_ENOENT);
    /* a tool while a daemon serves the store: the daemon does it */
    store *d = open_ok(tp.store, STORE_OPEN_DAEMON);
    REQUIRE(d);
    CHECK(store_tenant_update(s, id, &in, STORE_TENANT_SET_MODE) == STORE_EBUSY);
    CHECK(store_tenant_update(d, id, &in, STORE_TENANT_SET_MODE) == STORE_OK);
    store_close(d);
    CHECK(store_tenant_find(s, "acme", 4, &info) == STORE_OK && info.mode == 0700);
    store_close(s);
    tmp_remove(&tp);
}

/* ---- Usage ---- */

TAP_TEST(usage_counts_records_and_bytes_held)
{
    static uint8_t buf[70000];
    struct store_tenant_usage u;
    struct store_attr a, sa = { 0 };
    uint64_t f1 = 0, f2 = 0, id = 0;
    uint64_t orphan = 0;
    struct tmp tp;
    store_make(&tp);

    memset(buf, 'x', sizeof buf);
    for (int daemon = 0; daemon < 2; daemon++) {
        store *s = open_ok(tp.store, daemon ? STORE_OPEN_DAEMON : 0);
        REQUIRE(s);
        store_tenant *t = tenant_new(s, daemon ? "d" : "tool", &id);
        REQUIRE(t);
        u = usage_of(t);
        CHECK(u.bytes == 0 && u.records == 0);
        CHECK(file_make(t, "small", &f1) == STORE_OK);
        CHECK(file_make(t, "big", &f2) == STORE_OK);
        CHECK(store_mknod(t, ROOT, "dir", 3, S_IFDIR | 0755, 0, 0, NULL, 0, &a) == STORE_OK);
        CHECK(store_mknod(t, ROOT, "ln", 2, S_IFLNK | 0777, 0, 0, "small", 5, &a) == STORE_OK);
        CHECK(store_write(t, f1, 0, buf, 1000, NULL) == STORE_OK);
        CHECK(store_write(t, f2, 0, buf, sizeof buf, NULL) == STORE_OK);
        /* a hole holds nothing */
        CHECK(store_write(t, f2, (uint64_t)10 << 20, buf, 1, NULL) == STORE_OK);
        u = usage_of(t);
        uint64_t lnk = (5 + 511) / 512 * 512;
        CHECK(u.records == 4);
        /* as st_blocks counts: whole 64 KiB blocks, up to the size; the
         * 10 MiB hole holds nothing */
        CHECK(u.bytes == 1024 + 3 * 65536 + lnk);
        /* a hard link is no new record */
        CHECK(store_link(t, f1, ROOT, "small2", 6, &a) == STORE_OK);
        CHECK(usage_of(t).records == 4);
        /* truncating frees, unlinking the last name of a closed file frees */
        sa.size = 0;
        CHECK(store_setattr(t, f2, &sa, STORE_SET_SIZE, &a) == STORE_OK);
        u = usage_of(t);
        CHECK(u.bytes == 1024 + lnk && u.records == 4);
        CHECK(store_unlink(t, ROOT, "big", 3, &orphan) == STORE_OK && orphan == f2);
        CHECK(usage_of(t).records == 4);          /* an orphan still counts */
        CHECK(store_release(t, f2) == STORE_OK);
        CHECK(store_rmdir(t, ROOT, "dir", 3, NULL) == STORE_OK);
        u = usage_of(t);
        CHECK(u.records == 2 && u.bytes == 1024 + lnk);
        /* extended attributes: 1 + name + value bytes each */
        CHECK(store_setxattr(t, f1, "user.a", buf, 1000, 0) == STORE_OK);
        CHECK(usage_of(t).bytes == 1024 + lnk + 1 + 6 + 1000);
        CHECK(store_setxattr(t, f1, "user.a", buf, 10, 0) == STORE_OK);
        CHECK(usage_of(t).bytes == 1024 + lnk + 1 + 6 + 10);
        CHECK(store_setxattr(t, f1, "user.b", buf, 3, 0) == STORE_OK);
        CHECK(store_removexattr(t, f1, "user.a") == STORE_OK);
        CHECK(usage_of(t).bytes == 1024 + lnk + 1 + 6 + 3);
        store_close(s);

        /* durable: the same figures after reopening */
        s = open_ok(tp.store, STORE_OPEN_RDONLY);
        REQUIRE(s);
        REQUIRE(store_tenant_get(s, id, &t) == STORE_OK);
        u = usage_of(t);
        CHECK(u.records == 2 && u.bytes == 1024 + lnk + 10);
        store_close(s);
    }
    tmp_remove(&tp);
}

/* A database from before usage was recorded: computed when it is opened. */
TAP_TEST(usage_computed_for_an_older_database)
{
    static uint8_t buf[5000];
    struct store_tenant_usage u;
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    uint64_t id = 0, ino = 0;
    char *path;
    struct tmp tp;
    store_make(&tp);

    store *s = open_ok(tp.store, 0);
    REQUIRE(s);
    store_tenant *t = tenant_new(s, "old", &id);
    REQUIRE(t);
    CHECK(file_make(t, "a", &ino) == STORE_OK);
    CHECK(store_write(t, ino, 0, buf, sizeof buf, NULL) == STORE_OK);
    CHECK(file_make(t, "b", NULL) == STORE_OK);
    CHECK(store_setxattr(t, ino, "user.x", buf, 100, 0) == STORE_OK);
    store_close(s);

    path = store_tenant_path(tp.store, id);
    REQUIRE(path);
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 8);
    REQUIRE(mdb_env_open(env, path, 0, 0600) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
    MDB_val k = { 5, "usage" };
    CHECK(mdb_del(txn, dbi, &k, NULL) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    free(path);

    for (int rdonly = 1; rdonly >= 0; rdonly--) {
        s = open_ok(tp.store, rdonly ? STORE_OPEN_RDONLY : 0);
        REQUIRE(s);
        REQUIRE(store_tenant_get(s, id, &t) == STORE_OK);
        u = usage_of(t);
        CHECK(u.records == 2 && u.bytes == 5120 + 1 + 6 + 100);
        store_close(s);
    }
    tmp_remove(&tp);
}

/* ---- Quotas ---- */

TAP_TEST(record_quota_refuses_and_recovers)
{
    struct store_attr a;
    uint64_t id = 0, ino = 0;
    struct tmp tp;
    store_make(&tp);

    for (int daemon = 0; daemon < 2; daemon++) {
        store *s = open_ok(tp.store, daemon ? STORE_OPEN_DAEMON : 0);
        REQUIRE(s);
        store_tenant *t = tenant_new(s, daemon ? "d" : "tool", &id);
        REQUIRE(t);
        CHECK(quota_set(s, id, 0, 2) == STORE_OK);
        CHECK(file_make(t, "one", &ino) == STORE_OK);
        CHECK(store_mknod(t, ROOT, "dir", 3, S_IFDIR | 0755, 0, 0, NULL, 0, &a) == STORE_OK);
        CHECK(file_make(t, "three", NULL) == STORE_EDQUOT);
        CHECK(store_mknod(t, ROOT, "ln", 2, S_IFLNK | 0777, 0, 0, "x", 1, &a) == STORE_EDQUOT);
        CHECK(store_lookup(t, ROOT, "three", 5, &a) == STORE_ENOENT);
        CHECK(usage_of(t).records == 2);
        /* links are names, not records */
        CHECK(store_link(t, ino, ROOT, "one2", 4, &a) == STORE_OK);
        /* freeing one makes room; lifting the quota lifts the limit */
        CHECK(store_rmdir(t, ROOT, "dir", 3, NULL) == STORE_OK);
        CHECK(file_make(t, "three", NULL) == STORE_OK);
        CHECK(file_make(t, "four", NULL) == STORE_EDQUOT);
        CHECK(quota_set(s, id, 0, 0) == STORE_OK);
        CHECK(file_make(t, "four", NULL) == STORE_OK);
        /* a quota below the use: nothing grows, everything may shrink */
        CHECK(quota_set(s, id, 0, 1) == STORE_OK);
        CHECK(file_make(t, "five", NULL) == STORE_EDQUOT);
        uint64_t orphan = 0;
        CHECK(store_unlink(t, ROOT, "four", 4, &orphan) == STORE_OK);
        if (orphan)
            CHECK(store_release(t, orphan) == STORE_OK);
        CHECK(usage_of(t).records == 2);
        store_close(s);
    }
    tmp_remove(&tp);
}

TAP_TEST(byte_quota_refuses_whole_writes_without_damage)
{
    static uint8_t buf[100 * 1024], got[100 * 1024];
    struct store_attr a, sa = { 0 };
    uint64_t id = 0, ino = 0, other = 0;
    size_t n = 0;
    struct tmp tp;
    store_make(&tp);

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    for (int daemon = 0; daemon < 2; daemon++) {
        store *s = open_ok(tp.store, daemon ? STORE_OPEN_DAEMON : 0);
        REQUIRE(s);
        store_tenant *t = tenant_new(s, daemon ? "d" : "tool", &id);
        store_tenant *t2 = tenant_new(s, daemon ? "d2" : "tool2", NULL);
        REQUIRE(t && t2);
        CHECK(quota_set(s, id, 128 * 1024, 0) == STORE_OK);
        CHECK(file_make(t, "f", &ino) == STORE_OK);
        CHECK(store_write(t, ino, 0, buf, sizeof buf, NULL) == STORE_OK);
        /* past the quota: refused whole; size and content unchanged */
        CHECK(store_write(t, ino, sizeof buf, buf, 64 * 1024, NULL) == STORE_EDQUOT);
        CHECK(store_getattr(t, ino, &a) == STORE_OK && a.size == sizeof buf);
        CHECK(store_read(t, ino, 0, sizeof got, got, &n) == STORE_OK &&
              n == sizeof buf && memcmp(got, buf, n) == 0);
        /* rewriting what is held takes nothing more */
        CHECK(store_write(t, ino, 0, buf, 4096, NULL) == STORE_OK);
        /* another tenant is not limited by it */
        CHECK(file_make(t2, "g", &other) == STORE_OK);
        CHECK(store_write(t2, other, 0, buf, sizeof buf, NULL) == STORE_OK);
        CHECK(store_write(t2, other, sizeof buf, buf, sizeof buf, NULL) == STORE_OK);
        /* extended attributes count too: they cannot get around it */
        CHECK(store_setxattr(t, ino, "user.big", buf, 60000, 0) == STORE_EDQUOT);
        CHECK(store_getxattr(t, ino, "user.big", got, sizeof got, &n) == STORE_ENODATA);
        CHECK(store_setxattr(t, ino, "user.small", buf, 100, 0) == STORE_OK);
        /* freeing space makes room again */
        sa.size = 0;
        CHECK(store_setattr(t, ino, &sa, STORE_SET_SIZE, &a) == STORE_OK);
        CHECK(store_write(t, ino, 0, buf, sizeof buf, NULL) == STORE_OK);
        CHECK(usage_of(t).bytes == sizeof buf + 1 + 10 + 100);
        /* deleting the record frees its attributes too */
        uint64_t orphan = 0;
        CHECK(store_unlink(t, ROOT, "f", 1, &orphan) == STORE_OK);
        if (orphan)
            CHECK(store_release(t, orphan) == STORE_OK);
        CHECK(usage_of(t).bytes == 0 && usage_of(t).records == 0);
        store_close(s);
    }
    tmp_remove(&tp);
}

/* An op acknowledged before a crash is replayed even when a quota set
 * meanwhile would refuse it now: replay never changes the past. */
TAP_TEST(replay_is_not_refused_by_a_later_quota)
{
    struct store_attr a;
    uint64_t id = 0;
    int status = 0;
    struct tmp tp;
    store_make(&tp);

    store *s = open_ok(tp.store, 0);
    REQUIRE(s);
    REQUIRE(store_tenant_add(s, "acme", 0, 0, 0755, &id) == STORE_OK);
    store_close(s);

    int fds[2];
    char ack = 0;
    REQUIRE(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        store *d = NULL;
        store_tenant *t = NULL;
        if (store_open(tp.store, PASS, PASSLEN, STORE_OPEN_DAEMON, &d) != STORE_OK ||
            store_tenant_get(d, id, &t) != STORE_OK)
            _exit(2);
        for (int i = 0; i < 3; i++) {
            char name[8];
            snprintf(name, sizeof name, "r%d", i);
            if (file_make(t, name, NULL) != STORE_OK)
                _exit(3);
        }
        if (write(fds[1], "k", 1) != 1)
            _exit(4);
        for (;;)
            pause();               /* killed: no close, no checkpoint */
    }
    close(fds[1]);
    CHECK(read(fds[0], &ack, 1) == 1 && ack == 'k');
    close(fds[0]);
    kill(pid, SIGKILL);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    s = open_ok(tp.store, 0);
    REQUIRE(s);
    CHECK(quota_set(s, id, 0, 1) == STORE_OK);
    store_close(s);
    s = open_ok(tp.store, STORE_OPEN_DAEMON);
    REQUIRE(s);
    store_tenant *t = NULL;
    REQUIRE(store_tenant_get(s, id, &t) == STORE_OK);
    CHECK(store_lookup(t, ROOT, "r2", 2, &a) == STORE_OK);
    CHECK(usage_of(t).records == 3);
    CHECK(file_make(t, "r3", NULL) == STORE_EDQUOT);
    store_close(s);
    tmp_remove(&tp);
}

int main(void)
{
    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    return tap_main();
}
