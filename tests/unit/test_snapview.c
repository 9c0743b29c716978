/*
 * test_snapview.c - unit tests of what the read-only view of snapshots
 * needs from the store (store_snapview.c): a snapshot's manifest by name,
 * a tenant of a snapshot opened read-only that reads what the snapshot
 * holds and refuses every change with STORE_EROFS, whose folder shows the
 * live tenant's owner, group and mode (the manifest's once the tenant is
 * removed), and that keeps reading after the snapshot is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_tmp.h"
#include "tap.h"

#define BIG (3 * STORE_BLOCK_SIZE + 100)

struct fixture {
    struct tmp tmp;
    store *s;
    uint64_t id;
    uint64_t file, dir, link;
    unsigned char *old;         /* the file's content at the snapshot */
};

static int count_fn(const char *name, size_t len, const struct store_attr *a,
                    uint64_t cookie, void *arg)
{
    (void)name; (void)len; (void)a; (void)cookie;
    ++*(int *)arg;
    return 0;
}

/* A store with tenant acme (1000:1000 0750) holding a file of several
 * blocks with an xattr, a folder and a symlink; snapshot "s1" of it; then
 * the live file overwritten.  false (and the fixture torn down) on
 * failure. */
static bool fixture_make(struct fixture *f)
{
    struct store_attr a;
    store_tenant *t;
    unsigned char *now;

    memset(f, 0, sizeof *f);
    tmp_make(&f->tmp);
    f->old = malloc(BIG);
    now = malloc(BIG);
    if (f->old == NULL || now == NULL)
        abort();
    for (size_t i = 0; i < BIG; i++) {
        f->old[i] = (unsigned char)(i * 7 + 3);
        now[i] = (unsigned char)(i * 5 + 1);
    }
    if (store_create(f->tmp.store, PASS, PASSLEN) != STORE_OK ||
        (f->s = open_ok(f->tmp.store, 0)) == NULL ||
        store_tenant_add(f->s, "acme", 1000, 1000, 0750, &f->id) != STORE_OK ||
        store_tenant_get(f->s, f->id, &t) != STORE_OK ||
        store_mknod(t, STORE_ROOT_INO, "f", 1, S_IFREG | 0640, 1000, 1000,
                    NULL, 0, &a) != STORE_OK)
        goto fail;
    f->file = a.ino;
    if (store_write(t, f->file, 0, f->old, BIG, NULL) != STORE_OK ||
        store_setxattr(t, f->file, "user.k", "v1", 2, 0) != STORE_OK ||
        store_mknod(t, STORE_ROOT_INO, "d", 1, S_IFDIR | 0700, 1000, 1000,
                    NULL, 0, &a) != STORE_OK)
        goto fail;
    f->dir = a.ino;
    if (store_mknod(t, STORE_ROOT_INO, "l", 1, S_IFLNK | 0777, 1000, 1000,
                    "f", 1, &a) != STORE_OK)
        goto fail;
    f->link = a.ino;
    if (store_snapshot_create(f->s, "s1", NULL, 0, NULL, NULL, NULL, 0)
            != STORE_OK ||
        store_write(t, f->file, 0, now, BIG, NULL) != STORE_OK ||
        store_removexattr(t, f->file, "user.k") != STORE_OK)
        goto fail;
    free(now);
    return true;
fail:
    free(now);
    store_close(f->s);
    free(f->old);
    tmp_remove(&f->tmp);
    return false;
}

static void fixture_done(struct fixture *f)
{
    store_close(f->s);
    free(f->old);
    tmp_remove(&f->tmp);
}

TAP_TEST(get_names_one_snapshot)
{
    struct fixture f;
    struct store_snapshot snap;

    REQUIRE(fixture_make(&f));
    CHECK(store_snapshot_get(f.s, "s1", &snap) == STORE_OK);
    CHECK(strcmp(snap.name, "s1") == 0 && snap.ntenants == 1);
    CHECK(snap.created.tv_sec > 0 && snap.bytes == 0);
    if (snap.ntenants == 1) {
        CHECK(snap.tenants[0].info.id == f.id);
        CHECK(strcmp(snap.tenants[0].info.name, "acme") == 0);
        CHECK(snap.tenants[0].info.mode == 0750);
    }
    store_snapshot_free(&snap);
    CHECK(store_snapshot_get(f.s, "nosuch", &snap) == STORE_ENOENT);
    CHECK(store_snapshot_get(f.s, ".s1.tmp", &snap) == STORE_ENOENT);
    CHECK(store_snapshot_get(f.s, "../s1", &snap) == STORE_ENOENT);
    fixture_done(&f);
}

TAP_TEST(view_reads_the_snapshot)
{
    struct fixture f;
    struct store_attr a;
    struct store_tenant_usage u;
    store_tenant *v = NULL;
    unsigned char *buf = malloc(BIG + 10);
    char tmp[64];
    size_t got = 0;
    int n = 0;

    REQUIRE(buf != NULL);
    REQUIRE(fixture_make(&f));
    CHECK(store_snapshot_tenant_open(f.s, "s1", f.id + 1, &v) == STORE_ENOENT);
    CHECK(store_snapshot_tenant_open(f.s, "nosuch", f.id, &v) == STORE_ENOENT);
    REQUIRE(store_snapshot_tenant_open(f.s, "s1", f.id, &v) == STORE_OK);
    CHECK(store_tenant_id(v) == f.id);
    CHECK(store_lookup(v, STORE_ROOT_INO, "f", 1, &a) == STORE_OK);
    CHECK(a.ino == f.file && a.size == BIG && (a.mode & 07777) == 0640);
    CHECK(store_read(v, f.file, 0, BIG + 10, buf, &got) == STORE_OK);
    CHECK(got == BIG && memcmp(buf, f.old, BIG) == 0);
    CHECK(store_getxattr(v, f.file, "user.k", tmp, sizeof tmp, &got) == STORE_OK);
    CHECK(got == 2 && memcmp(tmp, "v1", 2) == 0);
    CHECK(store_listxattr(v, f.file, tmp, sizeof tmp, &got) == STORE_OK);
    CHECK(got == 7 && memcmp(tmp, "user.k", 7) == 0);
    CHECK(store_readlink(v, f.link, tmp, sizeof tmp, &got) == STORE_OK);
    CHECK(got == 1 && tmp[0] == 'f');
    CHECK(store_getattr(v, f.dir, &a) == STORE_OK && S_ISDIR(a.mode));
    CHECK(store_readdir(v, STORE_ROOT_INO, 0, true, count_fn, &n) == STORE_OK);
    CHECK(n == 3);
    CHECK(store_tenant_usage(v, &u) == STORE_OK);
    CHECK(u.records == 3 && u.bytes >= BIG);
    store_snapshot_tenant_close(v);
    store_snapshot_tenant_close(NULL);
    free(buf);
    fixture_done(&f);
}

TAP_TEST(view_refuses_every_change)
{
    struct fixture f;
    struct store_attr a, in;
    store_tenant *v = NULL;
    unsigned char *buf = malloc(BIG);
    uint64_t orphan = 0;
    size_t got = 0;

    REQUIRE(buf != NULL);
    REQUIRE(fixture_make(&f));
    REQUIRE(store_snapshot_tenant_open(f.s, "s1", f.id, &v) == STORE_OK);
    memset(&in, 0, sizeof in);
    in.mode = 0777;
    in.size = 1;
    CHECK(store_write(v, f.file, 0, "x", 1, NULL) == STORE_EROFS);
    CHECK(store_mknod(v, STORE_ROOT_INO, "n", 1, S_IFREG | 0644, 0, 0, NULL,
                      0, &a) == STORE_EROFS);
    CHECK(store_mknod(v, STORE_ROOT_INO, "n", 1, S_IFDIR | 0755, 0, 0, NULL,
                      0, &a) == STORE_EROFS);
    CHECK(store_link(v, f.file, STORE_ROOT_INO, "h", 1, &a) == STORE_EROFS);
    CHECK(store_unlink(v, STORE_ROOT_INO, "f", 1, &orphan) == STORE_EROFS);
    CHECK(store_rmdir(v, STORE_ROOT_INO, "d", 1, &orphan) == STORE_EROFS);
    CHECK(store_rename(v, STORE_ROOT_INO, "f", 1, STORE_ROOT_INO, "g", 1, 0,
                       &orphan) == STORE_EROFS);
    CHECK(store_setattr(v, f.file, &in, STORE_SET_MODE, &a) == STORE_EROFS);
    CHECK(store_setattr(v, f.file, &in, STORE_SET_SIZE, &a) == STORE_EROFS);
    CHECK(store_setattr(v, STORE_ROOT_INO, &in, STORE_SET_MODE, &a)
          == STORE_EROFS);
    CHECK(store_setxattr(v, f.file, "user.k", "v2", 2, 0) == STORE_EROFS);
    CHECK(store_removexattr(v, f.file, "user.k") == STORE_EROFS);
    CHECK(store_release(v, f.file) == STORE_EROFS);
    CHECK(store_tenant_sync(v) == STORE_OK);     /* nothing to write */
    /* Nothing changed. */
    CHECK(store_read(v, f.file, 0, BIG, buf, &got) == STORE_OK);
    CHECK(got == BIG && memcmp(buf, f.old, BIG) == 0);
    CHECK(store_getattr(v, f.file, &a) == STORE_OK && (a.mode & 07777) == 0640);
    CHECK(store_lookup(v, STORE_ROOT_INO, "n", 1, &a) == STORE_ENOENT);
    store_snapshot_tenant_close(v);
    free(buf);
    fixture_done(&f);
}

TAP_TEST(view_folder_is_the_live_one)
{
    struct fixture f;
    struct store_tenant_info info, in;
    struct store_snapshot snap;
    struct store_attr a;
    store_tenant *v = NULL;

    REQUIRE(fixture_make(&f));
    REQUIRE(store_snapshot_tenant_open(f.s, "s1", f.id, &v) == STORE_OK);
    store_tenant_info_get(v, &info);
    CHECK(info.uid == 1000 && info.gid == 1000 && info.mode == 0750);
    CHECK(strcmp(info.name, "acme") == 0);
    /* The live folder changes: the snapshot's follows at once. */
    memset(&in, 0, sizeof in);
    in.uid = 2000;
    in.gid = 3000;
    in.mode = 0705;
    CHECK(store_tenant_update(f.s, f.id, &in, STORE_TENANT_SET_UID |
                              STORE_TENANT_SET_GID | STORE_TENANT_SET_MODE)
          == STORE_OK);
    store_tenant_info_get(v, &info);
    CHECK(info.uid == 2000 && info.gid == 3000 && info.mode == 0705);
    CHECK(store_getattr(v, STORE_ROOT_INO, &a) == STORE_OK);
    CHECK(a.uid == 2000 && a.gid == 3000 && a.mode == (S_IFDIR | 0705));
    REQUIRE(store_snapshot_get(f.s, "s1", &snap) == STORE_OK);
    REQUIRE(snap.ntenants == 1);
    CHECK(snap.tenants[0].info.mode == 0750);    /* the manifest's */
    store_snapshot_tenant_folder(f.s, &snap.tenants[0], &info);
    CHECK(info.uid == 2000 && info.mode == 0705);
    /* Removed, and made again under its name: the manifest's folder. */
    CHECK(store_tenant_remove(f.s, "acme", 0) == STORE_OK);
    CHECK(store_tenant_add(f.s, "acme", 4000, 4000, 0777, NULL) == STORE_OK);
    store_tenant_info_get(v, &info);
    CHECK(info.uid == 1000 && info.gid == 1000 && info.mode == 0750);
    store_snapshot_tenant_folder(f.s, &snap.tenants[0], &info);
    CHECK(info.uid == 1000 && info.mode == 0750);
    CHECK(store_getattr(v, STORE_ROOT_INO, &a) == STORE_OK);
    CHECK(a.uid == 1000 && a.mode == (S_IFDIR | 0750));
    store_snapshot_free(&snap);
    store_snapshot_tenant_close(v);
    fixture_done(&f);
}

TAP_TEST(view_outlives_a_deleted_snapshot)
{
    struct fixture f;
    struct store_snapshot snap;
    store_tenant *v = NULL, *w = NULL;
    unsigned char *buf = malloc(BIG);
    size_t got = 0;

    REQUIRE(buf != NULL);
    REQUIRE(fixture_make(&f));
    REQUIRE(store_snapshot_tenant_open(f.s, "s1", f.id, &v) == STORE_OK);
    CHECK(store_snapshot_delete(f.s, "s1") == STORE_OK);
    CHECK(store_snapshot_get(f.s, "s1", &snap) == STORE_ENOENT);
    CHECK(store_snapshot_tenant_open(f.s, "s1", f.id, &w) == STORE_ENOENT);
    CHECK(w == NULL);
    CHECK(store_read(v, f.file, 0, BIG, buf, &got) == STORE_OK);
    CHECK(got == BIG && memcmp(buf, f.old, BIG) == 0);
    store_snapshot_tenant_close(v);
    free(buf);
    fixture_done(&f);
}

int main(void)
{
    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    return tap_main();
}
