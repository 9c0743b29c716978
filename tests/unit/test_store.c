/*
 * test_store.c - unit tests of a tenant's namespace (store_tenant.c,
 * store_inode.c, store_dir.c): the root folder, creation of every record
 * type, name rules, link counts, unlink and the orphan list, rmdir, rename
 * in all its forms, paged readdir under concurrent change, reopening, the
 * purge of crash-left orphans, and the AEAD binding of inode and entry
 * records to their place (copied or foreign records fail with EIO).
 *
 * Each test builds a stand-alone tenant env (id 7) in a fresh temporary
 * folder with a random master key; the raw LMDB tables are reached through
 * store_internal.h to play the attacker.
 */
#include "tap.h"
#include "store_internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TID 7u
#define ROOT STORE_ROOT_INO

struct env {
    char dir[64];
    seal_key *master;
    store_tenant *t;
};

static int log_count;
static char log_last[512];

static void test_log(int priority, const char *msg)
{
    (void)priority;
    log_count++;
    snprintf(log_last, sizeof(log_last), "%s", msg);
}

static bool env_open(struct env *e, bool create)
{
    return store_tenant_env_open(e->dir, TID, e->master, false, create, 1000,
                                 1000, 0750, &e->t) == STORE_OK;
}

static bool env_setup(struct env *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_store.XXXXXX");
    if (seal_init() != 0 || mkdtemp(e->dir) == NULL)
        return false;
    e->master = seal_key_new_random();
    return e->master != NULL && env_open(e, true);
}

static void env_teardown(struct env *e)
{
    char path[128];

    store_tenant_env_close(e->t);
    e->t = NULL;
    seal_key_free(e->master);
    snprintf(path, sizeof(path), "%s/data.mdb", e->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", e->dir);
    unlink(path);
    rmdir(e->dir);
}

static store_err mk(store_tenant *t, uint64_t parent, const char *name,
                    uint32_t mode, struct store_attr *a)
{
    struct store_attr tmp;
    return store_mknod(t, parent, name, strlen(name), mode, 1000, 1000, NULL, 0,
                       a ? a : &tmp);
}

static uint64_t ino_of(store_tenant *t, uint64_t parent, const char *name)
{
    struct store_attr a;
    if (store_lookup(t, parent, name, strlen(name), &a) != STORE_OK)
        return 0;
    return a.ino;
}

static uint32_t nlink_of(store_tenant *t, uint64_t ino)
{
    struct store_attr a;
    if (store_getattr(t, ino, &a) != STORE_OK)
        return 0;
    return a.nlink;
}

static size_t table_count(store_tenant *t, MDB_dbi dbi)
{
    MDB_txn *txn;
    MDB_stat st;
    size_t n = (size_t)-1;

    if (mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn) != 0)
        return n;
    if (mdb_stat(txn, dbi, &st) == 0)
        n = st.ms_entries;
    mdb_txn_abort(txn);
    return n;
}

/* ---------------------------------------------------------------------- */

TAP_TEST(root_attrs)
{
    struct env e;
    struct store_attr a;

    store_set_log(test_log);
    REQUIRE(env_setup(&e));
    CHECK(store_tenant_id(e.t) == TID);
    CHECK(store_getattr(e.t, ROOT, &a) == STORE_OK);
    CHECK(a.ino == ROOT);
    CHECK(a.mode == (S_IFDIR | 0750));
    CHECK(a.uid == 1000 && a.gid == 1000);
    CHECK(a.nlink == 2);
    CHECK(a.size == 4096);
    CHECK(a.mtime.tv_sec > 0);
    CHECK(store_getattr(e.t, 99, &a) == STORE_ENOENT);
    /* creating over an existing tenant database is refused */
    store_tenant *t2 = NULL;
    CHECK(store_tenant_env_open(e.dir, TID, e.master, false, true, 0, 0, 0700,
                                &t2) == STORE_EEXIST && t2 == NULL);
    env_teardown(&e);
}

TAP_TEST(tenant_path_and_ino_limit)
{
    struct env e;
    struct store_attr a;
    char *path = store_tenant_path("/srv/st", 0x2a);
    uint8_t next[8];
    MDB_val k = { 8, "next_ino" }, v = { 8, next };
    MDB_txn *txn;

    CHECK(path != NULL && strcmp(path, "/srv/st/tenants/000000000000002a") == 0);
    free(path);
    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "first", S_IFREG | 0644, &a) == STORE_OK);
    CHECK(a.ino == 2);
    /* the counter just below 2^40: one more inode, then ENOSPC */
    store_put_be64(next, ((uint64_t)1 << STORE_INO_BITS) - 1);
    REQUIRE(mdb_txn_begin(e.t->env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_put(txn, e.t->meta, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    CHECK(mk(e.t, ROOT, "last", S_IFREG | 0644, &a) == STORE_OK);
    CHECK(a.ino == ((uint64_t)1 << STORE_INO_BITS) - 1);
    CHECK(mk(e.t, ROOT, "over", S_IFREG | 0644, &a) == STORE_ENOSPC);
    CHECK(ino_of(e.t, ROOT, "over") == 0);
    CHECK(ino_of(e.t, ROOT, "last") == ((uint64_t)1 << STORE_INO_BITS) - 1);
    env_teardown(&e);
}

TAP_TEST(mknod_and_names)
{
    struct env e;
    struct store_attr a, b;
    char longname[STORE_NAME_MAX + 2];

    REQUIRE(env_setup(&e));
    CHECK(mk(e.t, ROOT, "f", S_IFREG | 0644, &a) == STORE_OK);
    CHECK(a.ino >= 2 && a.nlink == 1 && a.mode == (S_IFREG | 0644) && a.size == 0);
    CHECK(store_lookup(e.t, ROOT, "f", 1, &b) == STORE_OK && b.ino == a.ino);
    CHECK(mk(e.t, ROOT, "d", S_IFDIR | 0755, &a) == STORE_OK);
    CHECK(a.nlink == 2 && S_ISDIR(a.mode) && a.size == 4096);
    CHECK(nlink_of(e.t, ROOT) == 3);
    CHECK(store_mknod(e.t, ROOT, "l", 1, S_IFLNK | 0777, 1, 2, "target/path", 11,
                      &a) == STORE_OK);
    CHECK(S_ISLNK(a.mode) && a.size == 11 && a.uid == 1 && a.gid == 2);
    char buf[64];
    size_t len = 0;
    CHECK(store_readlink(e.t, a.ino, buf, sizeof(buf), &len) == STORE_OK);
    CHECK(len == 11 && memcmp(buf, "target/path", 11) == 0);
    CHECK(store_mknod(e.t, ROOT, "l0", 2, S_IFLNK | 0777, 1, 2, "", 0, &a)
          == STORE_EINVAL);
    CHECK(mk(e.t, ROOT, "p", S_IFIFO | 0600, &a) == STORE_OK && S_ISFIFO(a.mode));
    CHECK(mk(e.t, ROOT, "s", S_IFSOCK | 0600, &a) == STORE_OK && S_ISSOCK(a.mode));
    CHECK(mk(e.t, ROOT, "c", S_IFCHR | 0600, &a) == STORE_EPERM);
    CHECK(mk(e.t, ROOT, "b", S_IFBLK | 0600, &a) == STORE_EPERM);
    CHECK(mk(e.t, ROOT, "f", S_IFREG | 0644, &a) == STORE_EEXIST);
    CHECK(mk(e.t, ROOT, "f", S_IFDIR | 0755, &a) == STORE_EEXIST);
    CHECK(store_lookup(e.t, ROOT, "nope", 4, &a) == STORE_ENOENT);
    uint64_t f = ino_of(e.t, ROOT, "f");
    CHECK(mk(e.t, f, "x", S_IFREG | 0644, &a) == STORE_ENOTDIR);
    CHECK(store_lookup(e.t, f, "x", 1, &a) == STORE_ENOTDIR);
    CHECK(mk(e.t, 12345, "x", S_IFREG | 0644, &a) == STORE_ENOENT);

    CHECK(mk(e.t, ROOT, "", S_IFREG | 0644, &a) == STORE_EINVAL);
    CHECK(mk(e.t, ROOT, ".", S_IFREG | 0644, &a) == STORE_EINVAL);
    CHECK(mk(e.t, ROOT, "..", S_IFREG | 0644, &a) == STORE_EINVAL);
    CHECK(mk(e.t, ROOT, "a/b", S_IFREG | 0644, &a) == STORE_EINVAL);
    CHECK(store_mknod(e.t, ROOT, "a\0b", 3, S_IFREG | 0644, 0, 0, NULL, 0, &a)
          == STORE_EINVAL);
    CHECK(store_lookup(e.t, ROOT, "..", 2, &a) == STORE_EINVAL);
    memset(longname, 'n', sizeof(longname));
    longname[STORE_NAME_MAX] = '\0';
    CHECK(mk(e.t, ROOT, longname, S_IFREG | 0644, &a) == STORE_OK);
    CHECK(ino_of(e.t, ROOT, longname) == a.ino);
    longname[STORE_NAME_MAX] = 'n';
    longname[STORE_NAME_MAX + 1] = '\0';
    CHECK(mk(e.t, ROOT, longname, S_IFREG | 0644, &a) == STORE_ENAMETOOLONG);
    CHECK(store_lookup(e.t, ROOT, longname, STORE_NAME_MAX + 1, &a)
          == STORE_ENAMETOOLONG);
    /* only the folders count in the root's links: ".", "..", "d" */
    CHECK(nlink_of(e.t, ROOT) == 3);
    env_teardown(&e);
}

TAP_TEST(links_unlink_rmdir)
{
    struct env e;
    struct store_attr a, d;
    uint64_t orphan = 99;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "f", S_IFREG | 0644, &a) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "d", S_IFDIR | 0755, &d) == STORE_OK);
    CHECK(store_link(e.t, a.ino, d.ino, "g", 1, &a) == STORE_OK && a.nlink == 2);
    CHECK(ino_of(e.t, d.ino, "g") == a.ino);
    CHECK(store_link(e.t, a.ino, d.ino, "g", 1, &a) == STORE_EEXIST);
    CHECK(store_link(e.t, d.ino, ROOT, "d2", 2, &a) == STORE_EPERM);
    CHECK(store_link(e.t, a.ino, a.ino, "z", 1, &a) == STORE_ENOTDIR);

    CHECK(store_unlink(e.t, ROOT, "f", 1, &orphan) == STORE_OK && orphan == 0);
    CHECK(nlink_of(e.t, a.ino) == 1);
    CHECK(store_unlink(e.t, ROOT, "f", 1, &orphan) == STORE_ENOENT);
    CHECK(store_unlink(e.t, ROOT, "d", 1, &orphan) == STORE_EISDIR);
    CHECK(store_unlink(e.t, d.ino, "g", 1, &orphan) == STORE_OK && orphan == a.ino);
    CHECK(store_getattr(e.t, a.ino, &a) == STORE_OK && a.nlink == 0);
    CHECK(table_count(e.t, e.t->orphans) == 1);
    CHECK(store_link(e.t, a.ino, ROOT, "back", 4, &a) == STORE_ENOENT);
    CHECK(store_release(e.t, a.ino) == STORE_OK);
    CHECK(store_getattr(e.t, a.ino, &a) == STORE_ENOENT);
    CHECK(table_count(e.t, e.t->orphans) == 0);

    /* release of a linked inode does nothing */
    REQUIRE(mk(e.t, ROOT, "h", S_IFREG | 0644, &a) == STORE_OK);
    CHECK(store_release(e.t, a.ino) == STORE_OK && nlink_of(e.t, a.ino) == 1);

    /* folder link counts */
    REQUIRE(mk(e.t, d.ino, "e", S_IFDIR | 0755, NULL) == STORE_OK);
    CHECK(nlink_of(e.t, d.ino) == 3);
    CHECK(store_rmdir(e.t, ROOT, "d", 1) == STORE_ENOTEMPTY);
    CHECK(store_rmdir(e.t, ROOT, "h", 1) == STORE_ENOTDIR);
    CHECK(store_rmdir(e.t, ROOT, "q", 1) == STORE_ENOENT);
    CHECK(store_rmdir(e.t, d.ino, "e", 1) == STORE_OK);
    CHECK(nlink_of(e.t, d.ino) == 2);
    CHECK(nlink_of(e.t, ROOT) == 3);
    CHECK(store_rmdir(e.t, ROOT, "d", 1) == STORE_OK);
    CHECK(nlink_of(e.t, ROOT) == 2);
    CHECK(store_getattr(e.t, d.ino, &a) == STORE_ENOENT);
    env_teardown(&e);
}

TAP_TEST(rename_replace_noreplace)
{
    struct env e;
    struct store_attr a, b, d1, d2;
    uint64_t orphan = 99;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "a", S_IFREG | 0644, &a) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "b", S_IFREG | 0644, &b) == STORE_OK);
    CHECK(store_rename(e.t, ROOT, "a", 1, ROOT, "b", 1, STORE_RENAME_NOREPLACE,
                       &orphan) == STORE_EEXIST);
    CHECK(store_rename(e.t, ROOT, "a", 1, ROOT, "b", 1, 0, &orphan) == STORE_OK);
    CHECK(orphan == b.ino);
    CHECK(ino_of(e.t, ROOT, "a") == 0 && ino_of(e.t, ROOT, "b") == a.ino);
    CHECK(nlink_of(e.t, b.ino) == 0);
    CHECK(store_release(e.t, b.ino) == STORE_OK);
    CHECK(store_rename(e.t, ROOT, "b", 1, ROOT, "c", 1, STORE_RENAME_NOREPLACE,
                       &orphan) == STORE_OK && orphan == 0);
    CHECK(ino_of(e.t, ROOT, "c") == a.ino);
    CHECK(store_rename(e.t, ROOT, "zz", 2, ROOT, "c", 1, 0, &orphan) == STORE_ENOENT);
    CHECK(store_rename(e.t, ROOT, "c", 1, ROOT, "c", 1, 3, &orphan) == STORE_EINVAL);

    /* onto a hard link of the same inode: nothing happens */
    REQUIRE(store_link(e.t, a.ino, ROOT, "c2", 2, &a) == STORE_OK);
    CHECK(store_rename(e.t, ROOT, "c", 1, ROOT, "c2", 2, 0, &orphan) == STORE_OK);
    CHECK(orphan == 0 && ino_of(e.t, ROOT, "c") == a.ino);
    CHECK(ino_of(e.t, ROOT, "c2") == a.ino && nlink_of(e.t, a.ino) == 2);

    /* folders: types, emptiness, link counts across parents */
    REQUIRE(mk(e.t, ROOT, "d1", S_IFDIR | 0755, &d1) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "d2", S_IFDIR | 0755, &d2) == STORE_OK);
    REQUIRE(mk(e.t, d1.ino, "sub", S_IFDIR | 0755, NULL) == STORE_OK);
    REQUIRE(mk(e.t, d2.ino, "sub", S_IFDIR | 0755, NULL) == STORE_OK);
    REQUIRE(mk(e.t, d2.ino, "sub2", S_IFDIR | 0755, NULL) == STORE_OK);
    REQUIRE(mk(e.t, ino_of(e.t, d2.ino, "sub2"), "x", S_IFREG | 0644, NULL) == STORE_OK);
    CHECK(store_rename(e.t, ROOT, "d1", 2, ROOT, "c", 1, 0, &orphan) == STORE_ENOTDIR);
    CHECK(store_rename(e.t, ROOT, "c", 1, ROOT, "d1", 2, 0, &orphan) == STORE_EISDIR);
    CHECK(store_rename(e.t, d1.ino, "sub", 3, d2.ino, "sub2", 4, 0, &orphan)
          == STORE_ENOTEMPTY);
    uint64_t s1 = ino_of(e.t, d1.ino, "sub"), s2 = ino_of(e.t, d2.ino, "sub");
    CHECK(nlink_of(e.t, d1.ino) == 3 && nlink_of(e.t, d2.ino) == 4);
    CHECK(store_rename(e.t, d1.ino, "sub", 3, d2.ino, "sub", 3, 0, &orphan) == STORE_OK);
    CHECK(orphan == 0 && ino_of(e.t, d2.ino, "sub") == s1);
    CHECK(store_getattr(e.t, s2, &a) == STORE_ENOENT);
    CHECK(nlink_of(e.t, d1.ino) == 2 && nlink_of(e.t, d2.ino) == 4);
    CHECK(store_rename(e.t, d2.ino, "sub", 3, ROOT, "top", 3, 0, &orphan) == STORE_OK);
    CHECK(nlink_of(e.t, d2.ino) == 3 && nlink_of(e.t, ROOT) == 5);
    env_teardown(&e);
}

TAP_TEST(rename_exchange_and_subtree)
{
    struct env e;
    struct store_attr d1, d2, x, y, a;
    uint64_t orphan = 99;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "d1", S_IFDIR | 0755, &d1) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "d2", S_IFDIR | 0755, &d2) == STORE_OK);
    REQUIRE(mk(e.t, d1.ino, "x", S_IFREG | 0644, &x) == STORE_OK);
    REQUIRE(mk(e.t, d2.ino, "y", S_IFDIR | 0755, &y) == STORE_OK);
    REQUIRE(mk(e.t, y.ino, "z", S_IFREG | 0644, NULL) == STORE_OK);
    CHECK(store_rename(e.t, d1.ino, "x", 1, d2.ino, "none", 4, STORE_RENAME_EXCHANGE,
                       &orphan) == STORE_ENOENT);
    CHECK(store_rename(e.t, d1.ino, "x", 1, d2.ino, "y", 1, STORE_RENAME_EXCHANGE,
                       &orphan) == STORE_OK && orphan == 0);
    CHECK(ino_of(e.t, d1.ino, "x") == y.ino && ino_of(e.t, d2.ino, "y") == x.ino);
    /* the folder's attributes name its new parent; files name none */
    CHECK(store_getattr(e.t, y.ino, &a) == STORE_OK && a.parent == d1.ino);
    CHECK(store_getattr(e.t, x.ino, &a) == STORE_OK && a.parent == 0);
    CHECK(store_getattr(e.t, ROOT, &a) == STORE_OK && a.parent == ROOT);
    CHECK(store_lookup(e.t, d1.ino, "x", 1, &a) == STORE_OK && S_ISDIR(a.mode));
    CHECK(ino_of(e.t, y.ino, "z") != 0);
    CHECK(nlink_of(e.t, d1.ino) == 3 && nlink_of(e.t, d2.ino) == 2);
    CHECK(nlink_of(e.t, x.ino) == 1 && nlink_of(e.t, y.ino) == 2);

    /* y now lives in d1: moving d1 under y is moving it into itself */
    CHECK(store_rename(e.t, ROOT, "d1", 2, y.ino, "loop", 4, 0, &orphan)
          == STORE_EINVAL);
    CHECK(store_rename(e.t, ROOT, "d1", 2, d1.ino, "self", 4, 0, &orphan)
          == STORE_EINVAL);
    CHECK(store_rename(e.t, ROOT, "d2", 2, y.ino, "d2", 2, STORE_RENAME_EXCHANGE,
                       &orphan) == STORE_ENOENT);
    /* exchanging a folder with a file inside it */
    CHECK(store_rename(e.t, ROOT, "d1", 2, y.ino, "z", 1, STORE_RENAME_EXCHANGE,
                       &orphan) == STORE_EINVAL);
    /* and a legal move back out */
    CHECK(store_rename(e.t, d1.ino, "x", 1, ROOT, "y", 1, 0, &orphan) == STORE_OK);
    CHECK(nlink_of(e.t, d1.ino) == 2 && nlink_of(e.t, ROOT) == 5);
    CHECK(store_rename(e.t, ROOT, "d2", 2, y.ino, "d2", 2, 0, &orphan) == STORE_OK);
    CHECK(nlink_of(e.t, y.ino) == 3 && nlink_of(e.t, ROOT) == 4);
    env_teardown(&e);
}

/* Set an inode's times to 1 s after the epoch, straight in the table. */
static bool age(store_tenant *t, uint64_t ino)
{
    struct store_inode in;
    MDB_txn *txn;

    if (store_txn_begin(t, true, &txn) != STORE_OK)
        return false;
    if (store_inode_get(t, txn, ino, &in) != STORE_OK) {
        mdb_txn_abort(txn);
        return false;
    }
    in.atime.tv_sec = in.mtime.tv_sec = in.ctime.tv_sec = 1;
    if (store_inode_put(t, txn, ino, &in) != STORE_OK) {
        mdb_txn_abort(txn);
        return false;
    }
    return store_txn_commit(txn) == STORE_OK;
}

static bool fresh(store_tenant *t, uint64_t ino, bool mtime, bool ctime)
{
    struct store_attr a;

    if (store_getattr(t, ino, &a) != STORE_OK)
        return false;
    return (a.mtime.tv_sec > 1) == mtime && (a.ctime.tv_sec > 1) == ctime
           && a.atime.tv_sec == 1;
}

TAP_TEST(timestamps_and_link_limit)
{
    struct env e;
    struct store_attr a, d;
    struct store_inode in;
    MDB_txn *txn;
    uint64_t orphan;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "d", S_IFDIR | 0755, &d) == STORE_OK);
    REQUIRE(store_mknod(e.t, ROOT, "f", 1, 0644, 0, 0, NULL, 0, &a) == STORE_OK);
    CHECK(a.mode == (S_IFREG | 0644));

    REQUIRE(age(e.t, ROOT) && age(e.t, a.ino) && age(e.t, d.ino));
    REQUIRE(mk(e.t, ROOT, "g", S_IFREG | 0644, NULL) == STORE_OK);
    CHECK(fresh(e.t, ROOT, true, true) && fresh(e.t, a.ino, false, false));

    REQUIRE(age(e.t, ROOT));
    REQUIRE(store_link(e.t, a.ino, d.ino, "f2", 2, &a) == STORE_OK);
    CHECK(fresh(e.t, a.ino, false, true) && fresh(e.t, d.ino, true, true));
    CHECK(fresh(e.t, ROOT, false, false));

    REQUIRE(age(e.t, a.ino) && age(e.t, d.ino));
    REQUIRE(store_rename(e.t, d.ino, "f2", 2, ROOT, "f3", 2, 0, &orphan) == STORE_OK);
    CHECK(fresh(e.t, a.ino, false, true) && fresh(e.t, d.ino, true, true));
    CHECK(fresh(e.t, ROOT, true, true));

    REQUIRE(age(e.t, a.ino) && age(e.t, ROOT));
    REQUIRE(store_unlink(e.t, ROOT, "f3", 2, &orphan) == STORE_OK && orphan == 0);
    CHECK(fresh(e.t, a.ino, false, true) && fresh(e.t, ROOT, true, true));

    /* the link limit, with the count set just below it */
    REQUIRE(store_txn_begin(e.t, true, &txn) == STORE_OK);
    REQUIRE(store_inode_get(e.t, txn, a.ino, &in) == STORE_OK);
    in.nlink = 64999;
    REQUIRE(store_inode_put(e.t, txn, a.ino, &in) == STORE_OK);
    REQUIRE(store_txn_commit(txn) == STORE_OK);
    CHECK(store_link(e.t, a.ino, ROOT, "l1", 2, &a) == STORE_OK && a.nlink == 65000);
    CHECK(store_link(e.t, a.ino, ROOT, "l2", 2, &a) == STORE_EMLINK);
    CHECK(ino_of(e.t, ROOT, "l2") == 0);
    env_teardown(&e);
}

/* ---------------------------------------------------------------------- */
/* Readdir                                                                 */
/* ---------------------------------------------------------------------- */

#define NBIG 1000

struct listing {
    int seen[2 * NBIG];      /* by name index: "n%04d" -> i, "x%04d" -> NBIG+i */
    int count, limit, dups;
    uint64_t last_cookie;
    bool order_ok;
};

static int list_cb(const char *name, size_t len, const struct store_attr *a,
                   uint64_t cookie, void *arg)
{
    struct listing *l = arg;
    int idx;

    if (l->limit >= 0 && l->count >= l->limit)
        return 1;
    if (cookie < 3 || cookie <= l->last_cookie || a->ino == 0 || len != 5
        || strlen(name) != len)
        l->order_ok = false;
    l->last_cookie = cookie;
    idx = atoi(name + 1) + (name[0] == 'x' ? NBIG : 0);
    if (idx >= 0 && idx < 2 * NBIG && l->seen[idx]++)
        l->dups++;
    l->count++;
    return 0;
}

TAP_TEST(readdir_big_and_resume)
{
    struct env e;
    struct store_attr d;
    static struct listing l;
    char name[16];

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "big", S_IFDIR | 0755, &d) == STORE_OK);
    for (int i = 0; i < NBIG; i++) {
        snprintf(name, sizeof(name), "n%04d", i);
        REQUIRE(mk(e.t, d.ino, name, S_IFREG | 0644, NULL) == STORE_OK);
    }
    memset(&l, 0, sizeof(l));
    l.limit = -1;
    l.order_ok = true;
    CHECK(store_readdir(e.t, d.ino, 0, true, list_cb, &l) == STORE_OK);
    CHECK(l.count == NBIG && l.dups == 0 && l.order_ok);
    for (int i = 0; i < NBIG; i++)
        CHECK(l.seen[i] == 1);

    /* stop after 100: the 101st is not consumed; resume from the cookie */
    memset(&l, 0, sizeof(l));
    l.order_ok = true;
    l.limit = 100;
    CHECK(store_readdir(e.t, d.ino, 0, false, list_cb, &l) == STORE_OK);
    CHECK(l.count == 100);
    l.limit = -1;
    CHECK(store_readdir(e.t, d.ino, l.last_cookie, false, list_cb, &l) == STORE_OK);
    CHECK(l.count == NBIG && l.dups == 0 && l.order_ok);

    /* an empty folder, a file, a missing folder */
    struct store_attr f;
    REQUIRE(mk(e.t, ROOT, "empty", S_IFDIR | 0755, &f) == STORE_OK);
    memset(&l, 0, sizeof(l));
    l.limit = -1;
    CHECK(store_readdir(e.t, f.ino, 0, true, list_cb, &l) == STORE_OK && l.count == 0);
    CHECK(store_readdir(e.t, ino_of(e.t, d.ino, "n0001"), 0, true, list_cb, &l)
          == STORE_ENOTDIR);
    CHECK(store_readdir(e.t, 4242, 0, true, list_cb, &l) == STORE_ENOENT);
    env_teardown(&e);
}

TAP_TEST(readdir_paged_under_change)
{
    struct env e;
    struct store_attr d;
    static struct listing l;
    static bool removed[NBIG];
    char name[16];
    int added = 0, pages = 0;
    uint64_t orphan;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "big", S_IFDIR | 0755, &d) == STORE_OK);
    for (int i = 0; i < NBIG; i++) {
        snprintf(name, sizeof(name), "n%04d", i);
        REQUIRE(mk(e.t, d.ino, name, S_IFREG | 0644, NULL) == STORE_OK);
    }
    memset(&l, 0, sizeof(l));
    memset(removed, 0, sizeof(removed));
    l.order_ok = true;
    for (;;) {
        int before = l.count;
        l.limit = l.count + 37;
        REQUIRE(store_readdir(e.t, d.ino, l.last_cookie, false, list_cb, &l)
                == STORE_OK);
        if (l.count == before)
            break;
        pages++;
        /* between pages: remove three originals, add three new names */
        for (int k = 0; k < 3; k++) {
            int victim = (pages * 7919 + k * 104729) % NBIG;
            snprintf(name, sizeof(name), "n%04d", victim);
            if (!removed[victim]) {
                REQUIRE(store_unlink(e.t, d.ino, name, 5, &orphan) == STORE_OK);
                REQUIRE(store_release(e.t, orphan) == STORE_OK);
                removed[victim] = true;
            }
            if (added < NBIG) {
                snprintf(name, sizeof(name), "x%04d", added++);
                REQUIRE(mk(e.t, d.ino, name, S_IFREG | 0644, NULL) == STORE_OK);
            }
        }
        REQUIRE(pages < 1000);
    }
    CHECK(l.dups == 0 && l.order_ok);
    for (int i = 0; i < NBIG; i++)
        if (!removed[i])
            CHECK(l.seen[i] == 1);
    CHECK(pages > 20);
    env_teardown(&e);
}

/* ---------------------------------------------------------------------- */
/* Persistence, crash orphans, AEAD binding                                */
/* ---------------------------------------------------------------------- */

TAP_TEST(reopen_and_orphan_purge)
{
    struct env e;
    struct store_attr f, d, a;
    uint64_t orphan = 0;
    char data[3 * 4096];

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "dir", S_IFDIR | 0700, &d) == STORE_OK);
    REQUIRE(mk(e.t, d.ino, "keep", S_IFREG | 0640, &f) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "gone", S_IFREG | 0644, &a) == STORE_OK);
    memset(data, 0x5a, sizeof(data));
    REQUIRE(store_write(e.t, a.ino, 0, data, sizeof(data), NULL) == STORE_OK);
    REQUIRE(store_write(e.t, a.ino, STORE_BLOCK_SIZE * 3, data, 10, NULL) == STORE_OK);
    CHECK(table_count(e.t, e.t->blocks) >= 2);
    REQUIRE(store_unlink(e.t, ROOT, "gone", 4, &orphan) == STORE_OK);
    CHECK(orphan == a.ino);
    /* "crash": close without store_release */
    store_tenant_env_close(e.t);
    e.t = NULL;

    log_count = 0;
    REQUIRE(env_open(&e, false));
    /* opening alone keeps them: they may be a live daemon's open files */
    CHECK(log_count == 0 && table_count(e.t, e.t->orphans) == 1);
    CHECK(store_tenant_orphans_purge(e.t) == STORE_OK);
    CHECK(log_count == 1 && strstr(log_last, "tenant 7") != NULL);
    CHECK(store_getattr(e.t, orphan, &a) == STORE_ENOENT);
    CHECK(table_count(e.t, e.t->orphans) == 0);
    CHECK(table_count(e.t, e.t->blocks) == 0);
    CHECK(ino_of(e.t, ROOT, "dir") == d.ino);
    CHECK(store_lookup(e.t, d.ino, "keep", 4, &a) == STORE_OK);
    CHECK(a.ino == f.ino && a.mode == (S_IFREG | 0640) && a.nlink == 1);
    CHECK(nlink_of(e.t, ROOT) == 3);
    /* inode numbers are never reused */
    CHECK(mk(e.t, ROOT, "new", S_IFREG | 0644, &a) == STORE_OK && a.ino > orphan);

    /* read-only open sees the same and refuses writes */
    store_tenant *ro = NULL;
    store_tenant_env_close(e.t);
    e.t = NULL;
    REQUIRE(store_tenant_env_open(e.dir, TID, e.master, true, false, 0, 0, 0,
                                  &ro) == STORE_OK);
    CHECK(ino_of(ro, ROOT, "new") == a.ino);
    CHECK(mk(ro, ROOT, "nope", S_IFREG | 0644, NULL) == STORE_EROFS);
    store_tenant_env_close(ro);
    env_teardown(&e);
}

/* Copy the raw value at key `from` of `dbi` onto key `to`. */
static bool raw_copy(store_tenant *t, MDB_dbi dbi, const void *from, size_t flen,
                     const void *to, size_t tlen)
{
    MDB_txn *txn;
    MDB_val k = { flen, (void *)from }, v;
    MDB_val k2 = { tlen, (void *)to };
    void *copy;
    bool ok = false;

    if (mdb_txn_begin(t->env, NULL, 0, &txn) != 0)
        return false;
    if (mdb_get(txn, dbi, &k, &v) == 0 && (copy = malloc(v.mv_size)) != NULL) {
        memcpy(copy, v.mv_data, v.mv_size);
        v.mv_data = copy;
        ok = mdb_put(txn, dbi, &k2, &v, 0) == 0;
        free(copy);
    }
    if (ok)
        ok = mdb_txn_commit(txn) == 0;
    else
        mdb_txn_abort(txn);
    return ok;
}

static int cookie_cb(const char *name, size_t len, const struct store_attr *a,
                     uint64_t cookie, void *arg)
{
    (void)name; (void)len; (void)a;
    *(uint64_t *)arg = cookie;
    return 0;
}

static int count_cb(const char *name, size_t len, const struct store_attr *a,
                    uint64_t cookie, void *arg)
{
    (void)name; (void)len; (void)a; (void)cookie;
    (*(int *)arg)++;
    return 0;
}

TAP_TEST(aead_binding)
{
    struct env e;
    struct store_attr a, b, pa, pb;
    uint8_t kf[16], kt[16];
    uint64_t cookie = 0;
    int n = 0;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "A", S_IFDIR | 0755, &pa) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "B", S_IFDIR | 0755, &pb) == STORE_OK);
    REQUIRE(mk(e.t, pa.ino, "secret", S_IFREG | 0600, &a) == STORE_OK);
    REQUIRE(mk(e.t, pb.ino, "other", S_IFREG | 0644, &b) == STORE_OK);

    /* a folder entry moved to another folder does not open */
    REQUIRE(store_readdir(e.t, pa.ino, 0, false, cookie_cb, &cookie) == STORE_OK);
    store_put_be64(kf, pa.ino);
    store_put_be64(kf + 8, cookie);
    store_put_be64(kt, pb.ino);
    store_put_be64(kt + 8, cookie);
    REQUIRE(raw_copy(e.t, e.t->dirents, kf, 16, kt, 16));
    log_count = 0;
    CHECK(store_lookup(e.t, pb.ino, "secret", 6, &a) == STORE_EIO);
    CHECK(log_count == 1 && strstr(log_last, "tenant 7") != NULL);
    CHECK(strstr(log_last, "secret") == NULL);
    CHECK(store_readdir(e.t, pb.ino, 0, false, count_cb, &n) == STORE_EIO);
    CHECK(mk(e.t, pb.ino, "secret", S_IFREG | 0644, NULL) == STORE_EIO);
    CHECK(store_lookup(e.t, pa.ino, "secret", 6, &a) == STORE_OK);

    /* an inode record copied onto another inode number does not open */
    store_put_be64(kf, a.ino);
    store_put_be64(kt, b.ino);
    REQUIRE(raw_copy(e.t, e.t->inodes, kf, 8, kt, 8));
    CHECK(store_getattr(e.t, b.ino, &b) == STORE_EIO);
    CHECK(store_getattr(e.t, a.ino, &a) == STORE_OK);

    /* the env opened as another tenant does not open at all */
    store_tenant *other = NULL;
    store_tenant_env_close(e.t);
    e.t = NULL;
    CHECK(store_tenant_env_open(e.dir, TID + 1, e.master, false, false, 0, 0, 0,
                                &other) == STORE_EIO && other == NULL);
    CHECK(store_tenant_env_open(e.dir, TID + 1, e.master, true, false, 0, 0, 0,
                                &other) == STORE_EIO && other == NULL);
    /* nor under another master key */
    seal_key *wrong = seal_key_new_random();
    REQUIRE(wrong != NULL);
    CHECK(store_tenant_env_open(e.dir, TID, wrong, false, false, 0, 0, 0,
                                &other) == STORE_EIO && other == NULL);
    seal_key_free(wrong);
    REQUIRE(env_open(&e, false));
    CHECK(store_getattr(e.t, pa.ino, &a) == STORE_OK);
    env_teardown(&e);
}

/* A validly sealed entry for name `other` placed in the slot of `name`:
 * what a 63-bit keyed-hash collision would look like. */
static bool plant_collision(store_tenant *t, uint64_t parent, const char *name,
                            const char *other, uint64_t ino)
{
    uint8_t key[16], ad[25], plain[12 + 32], sealed[sizeof(plain) + SEAL_OVERHEAD];
    size_t olen = strlen(other), plen = 12 + olen;
    uint64_t cookie = seal_name_hash(t->namekey, name, strlen(name))
                      & 0x7fffffffffffffffULL;
    MDB_txn *txn;
    MDB_val k = { 16, key }, v = { plen + SEAL_OVERHEAD, sealed };

    if (cookie < 3)
        cookie += 3;
    store_put_be64(key, parent);
    store_put_be64(key + 8, cookie);
    ad[0] = 'D';
    store_put_be64(ad + 1, t->id);
    store_put_be64(ad + 9, parent);
    store_put_be64(ad + 17, cookie);
    for (int i = 0; i < 8; i++) plain[i] = (uint8_t)(ino >> (8 * i));
    for (int i = 0; i < 4; i++) plain[8 + i] = (uint8_t)((uint32_t)S_IFREG >> (8 * i));
    memcpy(plain + 12, other, olen);
    if (olen > 32 || seal_value(t->key, ad, sizeof(ad), plain, plen, sealed) != 0)
        return false;
    if (mdb_txn_begin(t->env, NULL, 0, &txn) != 0)
        return false;
    if (mdb_put(txn, t->dirents, &k, &v, 0) != 0) {
        mdb_txn_abort(txn);
        return false;
    }
    return mdb_txn_commit(txn) == 0;
}

TAP_TEST(name_hash_collision)
{
    struct env e;
    struct store_attr a, d;
    uint64_t orphan;
    int n = 0;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "d", S_IFDIR | 0755, &d) == STORE_OK);
    REQUIRE(mk(e.t, ROOT, "file", S_IFREG | 0644, &a) == STORE_OK);
    REQUIRE(plant_collision(e.t, d.ino, "wanted", "squatter", a.ino));
    log_count = 0;
    CHECK(mk(e.t, d.ino, "wanted", S_IFREG | 0644, NULL) == STORE_EEXIST);
    CHECK(log_count == 1 && strstr(log_last, "collision") != NULL);
    CHECK(strstr(log_last, "wanted") == NULL && strstr(log_last, "squatter") == NULL);
    CHECK(store_link(e.t, a.ino, d.ino, "wanted", 6, NULL) == STORE_EEXIST);
    CHECK(store_rename(e.t, ROOT, "file", 4, d.ino, "wanted", 6, 0, &orphan)
          == STORE_EEXIST);
    CHECK(store_lookup(e.t, d.ino, "wanted", 6, &a) == STORE_ENOENT);
    CHECK(store_unlink(e.t, d.ino, "wanted", 6, &orphan) == STORE_ENOENT);
    CHECK(store_readdir(e.t, d.ino, 0, false, count_cb, &n) == STORE_OK && n == 1);
    CHECK(mk(e.t, d.ino, "fine", S_IFREG | 0644, NULL) == STORE_OK);
    env_teardown(&e);
}

struct worker {
    store_tenant *t;
    uint64_t dir;
    int id, failures;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    char name[32];
    uint64_t orphan;

    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "w%d-%d", w->id, i);
        if (mk(w->t, w->dir, name, (i % 10 ? S_IFREG : S_IFDIR) | 0644, NULL)
            != STORE_OK)
            w->failures++;
        if (i % 4 == 2) {          /* i - 1 is odd: a file */
            snprintf(name, sizeof(name), "w%d-%d", w->id, i - 1);
            if (store_unlink(w->t, w->dir, name, strlen(name), &orphan) != STORE_OK
                || store_release(w->t, orphan) != STORE_OK)
                w->failures++;
        }
    }
    return NULL;
}

TAP_TEST(concurrent_writers)
{
    struct env e;
    struct store_attr d;
    struct worker w[4];
    pthread_t th[4];
    int n = 0;

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "shared", S_IFDIR | 0755, &d) == STORE_OK);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ e.t, d.ino, i, 0 };
        REQUIRE(pthread_create(&th[i], NULL, worker_run, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].failures == 0);
    }
    /* each worker: 200 created, 50 unlinked; 20 folders */
    CHECK(store_readdir(e.t, d.ino, 0, true, count_cb, &n) == STORE_OK);
    CHECK(n == 4 * 150);
    CHECK(nlink_of(e.t, d.ino) == 2 + 4 * 20);
    CHECK(table_count(e.t, e.t->orphans) == 0);
    CHECK(table_count(e.t, e.t->inodes) == 2 + 4 * 150);
    env_teardown(&e);
}

static bool file_contains(const char *path, const char *needle)
{
    size_t nlen = strlen(needle), cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    bool found = false;
    FILE *f = fopen(path, "rb");
    size_t got;

    if (buf == NULL || f == NULL) {
        free(buf);
        if (f)
            fclose(f);
        return true;     /* treat as failure */
    }
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *p = realloc(buf, cap * 2);
            if (p == NULL)
                break;
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    found = memmem(buf, len, needle, nlen) != NULL;
    free(buf);
    return found;
}

TAP_TEST(no_plaintext_names_on_disk)
{
    struct env e;
    struct store_attr d;
    char path[128];
    static const char fname[] = "CanaryRecordName-7f3a";
    static const char dname[] = "CanaryFolderName-91c2";
    static const char target[] = "CanaryLinkTarget-d00d";

    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, dname, S_IFDIR | 0755, &d) == STORE_OK);
    REQUIRE(mk(e.t, d.ino, fname, S_IFREG | 0644, NULL) == STORE_OK);
    REQUIRE(store_mknod(e.t, d.ino, "lnk", 3, S_IFLNK | 0777, 0, 0, target,
                        strlen(target), NULL) == STORE_OK);
    REQUIRE(store_rename(e.t, d.ino, fname, strlen(fname), ROOT, fname,
                         strlen(fname), 0, NULL) == STORE_OK);
    CHECK(store_tenant_sync(e.t) == STORE_OK);
    snprintf(path, sizeof(path), "%s/data.mdb", e.dir);
    CHECK(!file_contains(path, fname));
    CHECK(!file_contains(path, dname));
    CHECK(!file_contains(path, target));
    /* the check itself can see a plaintext when there is one */
    CHECK(file_contains(path, "next_ino"));
    env_teardown(&e);
}

/* ---------------------------------------------------------------------- */
/* Operations as values: the journal encoding and replay (store_op.c)      */
/* ---------------------------------------------------------------------- */

static bool op_same(const struct store_op *a, const struct store_op *b)
{
    return a->kind == b->kind && a->now.tv_sec == b->now.tv_sec
        && a->now.tv_nsec == b->now.tv_nsec && a->ino == b->ino
        && a->parent == b->parent && a->newparent == b->newparent
        && a->namelen == b->namelen && a->newnamelen == b->newnamelen
        && (a->namelen == 0 || memcmp(a->name, b->name, a->namelen) == 0)
        && (a->newnamelen == 0
            || memcmp(a->newname, b->newname, a->newnamelen) == 0)
        && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid
        && a->flags == b->flags && a->mask == b->mask && a->off == b->off
        && a->len == b->len
        && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0)
        && a->attr.mode == b->attr.mode && a->attr.uid == b->attr.uid
        && a->attr.gid == b->attr.gid && a->attr.size == b->attr.size
        && a->attr.atime.tv_sec == b->attr.atime.tv_sec
        && a->attr.atime.tv_nsec == b->attr.atime.tv_nsec
        && a->attr.mtime.tv_sec == b->attr.mtime.tv_sec
        && a->attr.mtime.tv_nsec == b->attr.mtime.tv_nsec
        && a->attr.ctime.tv_sec == b->attr.ctime.tv_sec
        && a->attr.ctime.tv_nsec == b->attr.ctime.tv_nsec;
}

/* Encode, decode, compare; every strict prefix and one extra byte fail. */
static bool op_roundtrip(const struct store_op *op)
{
    size_t n = store_op_encoded_size(op);
    uint8_t *buf = malloc(n + 1);
    struct store_op back;
    bool ok = buf != NULL;

    if (!ok)
        return false;
    memset(buf, 0xa5, n + 1);
    store_op_encode(op, buf);
    ok = buf[n] == 0xa5;                       /* wrote exactly n bytes */
    ok = ok && store_op_decode(buf, n, &back) == STORE_OK && op_same(op, &back);
    ok = ok && (back.namelen == 0 || ((const uint8_t *)back.name > buf
                                      && (const uint8_t *)back.name < buf + n));
    /* a long payload: a few prefixes, else all of them */
    for (size_t cut = 0; ok && cut < n; cut += n > 4096 ? 4099 : 1)
        ok = store_op_decode(buf, cut, &back) == STORE_EIO;
    ok = ok && store_op_decode(buf, n - 1, &back) == STORE_EIO;
    ok = ok && store_op_decode(buf, n + 1, &back) == STORE_EIO;
    free(buf);
    return ok;
}

TAP_TEST(op_encoding)
{
    static char longname[STORE_NAME_MAX], data[1u << 20];
    struct store_op op;
    uint8_t buf[64];
    struct store_op back;

    memset(longname, 'n', sizeof(longname));
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 131 + 7);
    for (unsigned k = STORE_OP_MKNOD; k <= STORE_OP_REMOVEXATTR; k++) {
        memset(&op, 0, sizeof(op));
        op.kind = (enum store_op_kind)k;
        op.now.tv_sec = -5 + (time_t)k * 1000000007LL;
        op.now.tv_nsec = 999999999;
        op.ino = 0x0102030405060708ULL;
        op.parent = UINT64_MAX;
        op.newparent = 42;
        op.mode = S_IFLNK | 0777;
        op.uid = 0xfffffffeu;
        op.gid = 3;
        op.flags = STORE_RENAME_EXCHANGE;
        op.mask = STORE_SET_SIZE | STORE_SET_SIZE_GROW | STORE_SET_MTIME;
        op.off = (uint64_t)1 << 49;
        op.attr.mode = 0640;
        op.attr.uid = 9;
        op.attr.gid = 10;
        op.attr.size = 12345678901ULL;
        op.attr.atime.tv_sec = -1;
        op.attr.mtime.tv_sec = 1 << 30;
        op.attr.mtime.tv_nsec = 1;
        op.attr.ctime.tv_nsec = 500;
        /* fields a kind does not use are not carried: clear them */
        {
            size_t n = store_op_encoded_size(&op);
            uint8_t *b = malloc(n);
            REQUIRE(b != NULL);
            store_op_encode(&op, b);
            CHECK(store_op_decode(b, n, &back) == STORE_OK);
            free(b);
            back.name = op.name;        /* empty on both sides */
            back.newname = op.newname;
            back.data = op.data;
            op = back;
        }
        /* empty names and data */
        CHECK(op_roundtrip(&op));
        /* long names and data: 255 bytes, "a\0b", 1 MiB */
        op.name = longname;
        op.namelen = sizeof(longname);
        op.newname = "a\0b";
        op.newnamelen = 3;
        op.data = data;
        op.len = sizeof(data);
        {
            size_t n = store_op_encoded_size(&op);
            uint8_t *b = malloc(n);
            REQUIRE(b != NULL);
            store_op_encode(&op, b);
            CHECK(store_op_decode(b, n, &back) == STORE_OK);
            free(b);
            /* the kind keeps exactly its fields */
            if (back.namelen == 0) { op.name = NULL; op.namelen = 0; }
            if (back.newnamelen == 0) { op.newname = NULL; op.newnamelen = 0; }
            if (back.len == 0) { op.data = NULL; op.len = 0; }
        }
        CHECK(op_roundtrip(&op));
        if (k == STORE_OP_WRITE)
            CHECK(op.len == sizeof(data));
        if (k == STORE_OP_RENAME)
            CHECK(op.namelen == STORE_NAME_MAX && op.newnamelen == 3);
    }

    /* bad kind, version, nanoseconds, lengths: STORE_EIO */
    memset(&op, 0, sizeof(op));
    op.kind = STORE_OP_UNLINK;
    op.name = "x";
    op.namelen = 1;
    REQUIRE(store_op_encoded_size(&op) == 14 + 8 + 4 + 1);
    store_op_encode(&op, buf);
    CHECK(store_op_decode(buf, 27, &back) == STORE_OK);
    for (unsigned bad = 0; bad < 256; bad++) {
        buf[1] = (uint8_t)bad;
        if (bad == STORE_OP_UNLINK || bad == STORE_OP_RMDIR)
            CHECK(store_op_decode(buf, 27, &back) == STORE_OK);
        else if (bad < STORE_OP_MKNOD || bad > STORE_OP_REMOVEXATTR)
            CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    }
    buf[1] = STORE_OP_UNLINK;
    buf[0] = 2;
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[0] = 1;
    memcpy(buf + 10, "\x00\xca\x9a\x3b", 4);    /* 10^9 ns */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    memset(buf + 10, 0, 4);
    buf[22] = 2;                                /* name length 2, 1 left */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[22] = 0; buf[25] = 0x80;                /* length 2^31 */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[25] = 0; buf[22] = 1;
    CHECK(store_op_decode(buf, 27, &back) == STORE_OK && back.namelen == 1
          && back.name == (const char *)buf + 26);
    CHECK(store_op_decode(NULL, 0, &back) == STORE_EIO);
}

/* Entries of one folder, with attributes. */
struct op_listing {
    size_t n;
    struct { char name[STORE_NAME_MAX + 1]; size_t len; uint64_t cookie;
             struct store_attr a; } e[32];
};

static int op_listing_cb(const char *name, size_t len, const struct store_attr *a,
                      uint64_t cookie, void *arg)
{
    struct op_listing *l = arg;

    if (l->n == 32)
        return 1;
    memcpy(l->e[l->n].name, name, len);
    l->e[l->n].len = len;
    l->e[l->n].cookie = cookie;
    l->e[l->n].a = *a;
    l->n++;
    return 0;
}

static bool attr_same(const struct store_attr *a, const struct store_attr *b)
{
    return a->ino == b->ino && a->mode == b->mode && a->uid == b->uid
        && a->gid == b->gid && a->nlink == b->nlink && a->rdev == b->rdev
        && a->size == b->size && a->blocks == b->blocks
        && a->parent == b->parent
        && a->atime.tv_sec == b->atime.tv_sec
        && a->atime.tv_nsec == b->atime.tv_nsec
        && a->mtime.tv_sec == b->mtime.tv_sec
        && a->mtime.tv_nsec == b->mtime.tv_nsec
        && a->ctime.tv_sec == b->ctime.tv_sec
        && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The content, symlink target and xattrs of `ino` are the same in both. */
static bool record_same(store_tenant *x, store_tenant *y,
                        const struct store_attr *a)
{
    char lx[512], ly[512], vx[64], vy[64];
    size_t nx = 0, ny = 0, gx, gy;
    bool ok = true;

    if (S_ISREG(a->mode) && a->size > 0) {
        uint8_t *bx = malloc(a->size), *by = malloc(a->size);
        ok = bx != NULL && by != NULL
            && store_read(x, a->ino, 0, a->size, bx, &gx) == STORE_OK
            && store_read(y, a->ino, 0, a->size, by, &gy) == STORE_OK
            && gx == a->size && gy == gx && memcmp(bx, by, gx) == 0;
        free(bx);
        free(by);
    }
    if (S_ISLNK(a->mode))
        ok = ok && store_readlink(x, a->ino, lx, sizeof(lx), &gx) == STORE_OK
            && store_readlink(y, a->ino, ly, sizeof(ly), &gy) == STORE_OK
            && gx == gy && memcmp(lx, ly, gx) == 0;
    ok = ok && store_listxattr(x, a->ino, lx, sizeof(lx), &nx) == STORE_OK
        && store_listxattr(y, a->ino, ly, sizeof(ly), &ny) == STORE_OK
        && nx == ny && memcmp(lx, ly, nx) == 0;
    for (size_t i = 0; ok && i < nx; i += strlen(lx + i) + 1)
        ok = store_getxattr(x, a->ino, lx + i, vx, sizeof(vx), &gx) == STORE_OK
            && store_getxattr(y, a->ino, lx + i, vy, sizeof(vy), &gy) == STORE_OK
            && gx == gy && memcmp(vx, vy, gx) == 0;
    return ok;
}

/* Folder `dir` and everything below it are the same in both tenants. */
static bool tree_same(store_tenant *x, store_tenant *y, uint64_t dir)
{
    struct op_listing *lx = calloc(1, sizeof(*lx)), *ly = calloc(1, sizeof(*ly));
    bool ok = lx != NULL && ly != NULL
        && store_readdir(x, dir, 0, true, op_listing_cb, lx) == STORE_OK
        && store_readdir(y, dir, 0, true, op_listing_cb, ly) == STORE_OK
        && lx->n == ly->n;

    for (size_t i = 0; ok && i < lx->n; i++) {
        struct store_attr ax, ay;
        ok = lx->e[i].len == ly->e[i].len && lx->e[i].cookie == ly->e[i].cookie
            && memcmp(lx->e[i].name, ly->e[i].name, lx->e[i].len) == 0
            && attr_same(&lx->e[i].a, &ly->e[i].a)
            && store_getattr(x, lx->e[i].a.ino, &ax) == STORE_OK
            && store_getattr(y, ly->e[i].a.ino, &ay) == STORE_OK
            && attr_same(&ax, &ay) && attr_same(&ax, &lx->e[i].a)
            && record_same(x, y, &ax);
        if (ok && S_ISDIR(ax.mode))
            ok = tree_same(x, y, ax.ino);
    }
    free(lx);
    free(ly);
    return ok;
}

TAP_TEST(op_replay_determinism)
{
    static uint8_t big[(1u << 20) + 77];
    struct env e, r;
    uint8_t *log[40];
    size_t loglen[40], nlog = 0;
    struct store_attr ra, rb;
    uint64_t f = 0, d = 0, x = 0, last = 0;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + (i >> 9));
    REQUIRE(env_setup(&e));
    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/test_store.XXXXXX");
    REQUIRE(mkdtemp(r.dir) != NULL);
    r.master = e.master;                    /* same tenant id and master */
    REQUIRE(env_open(&r, true));

    /* One script of ops, each at a fixed time; d, f and x are the inode
     * numbers the first run hands out (the replay must hand out the same). */
#define OP(...) do {                                                      \
        struct store_op op_ = { __VA_ARGS__ };                            \
        op_.now.tv_sec = 1700000000 + (time_t)nlog;                       \
        op_.now.tv_nsec = (long)nlog * 1000 + 1;                          \
        REQUIRE(store_exec_write(e.t, &op_) == STORE_OK);                 \
        if (op_.kind == STORE_OP_MKNOD)                                   \
            last = op_.out.ino;                                           \
        if (op_.kind == STORE_OP_MKNOD && S_ISDIR(op_.mode) && d == 0)    \
            d = last;                                                     \
        else if (op_.kind == STORE_OP_MKNOD && f == 0)                    \
            f = last;                                                     \
        if (op_.orphan != 0)                                              \
            x = op_.orphan;                                               \
        REQUIRE(nlog < 40);                                               \
        loglen[nlog] = store_op_encoded_size(&op_);                       \
        REQUIRE((log[nlog] = malloc(loglen[nlog])) != NULL);              \
        store_op_encode(&op_, log[nlog++]);                               \
    } while (0)
#define NM(s) .name = (s), .namelen = sizeof(s) - 1
#define NN(s) .newname = (s), .newnamelen = sizeof(s) - 1

    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("d"), .mode = S_IFDIR | 0755,
       .uid = 5, .gid = 6);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("f"), .mode = 0644, .uid = 5);
    OP(.kind = STORE_OP_WRITE, .ino = f, .data = big, .len = sizeof(big));
    OP(.kind = STORE_OP_WRITE, .ino = f, .off = 5u << 20, .data = "tail",
       .len = 4);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("l"), .mode = S_IFLNK | 0777,
       .data = "d/target", .len = 8);
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("e"), .mode = S_IFDIR | 0700);
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("p"), .mode = S_IFIFO | 0600);
    OP(.kind = STORE_OP_LINK, .ino = f, .parent = d, NM("f2"));
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_MODE
       | STORE_SET_SIZE, .attr = { .mode = 0600, .size = 100000 });
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_SIZE
       | STORE_SET_SIZE_GROW, .attr = { .size = 99 });
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_SIZE
       | STORE_SET_SIZE_GROW, .attr = { .size = 300000 });
    OP(.kind = STORE_OP_SETATTR, .ino = d, .mask = STORE_SET_UID
       | STORE_SET_ATIME | STORE_SET_MTIME, .attr = { .uid = 77,
       .atime = { 12, 34 }, .mtime = { 56, 78 } });
    OP(.kind = STORE_OP_SETXATTR, .ino = f, NM("user.a"), .data = "1", .len = 1);
    OP(.kind = STORE_OP_SETXATTR, .ino = f, NM("user.b"), .data = "", .len = 0,
       .flags = STORE_XATTR_CREATE);
    OP(.kind = STORE_OP_SETXATTR, .ino = d, NM("user.c"), .data = "dir", .len = 3);
    OP(.kind = STORE_OP_REMOVEXATTR, .ino = f, NM("user.a"));
    OP(.kind = STORE_OP_RENAME, .parent = ROOT, NM("f"), .newparent = d,
       NN("g"));
    OP(.kind = STORE_OP_UNLINK, .parent = d, NM("f2"));
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("e"), .newparent = ROOT,
       NN("l"), .flags = STORE_RENAME_EXCHANGE);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("r"), .mode = S_IFDIR | 0700);
    OP(.kind = STORE_OP_RMDIR, .parent = ROOT, NM("r"));
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("x"), .mode = 0644);
    OP(.kind = STORE_OP_WRITE, .ino = last, .off = 10, .data = "xx", .len = 2);
    OP(.kind = STORE_OP_SETXATTR, .ino = last, NM("user.x"), .data = "x",
       .len = 1);
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("p"), .newparent = d,
       NN("x"));
    OP(.kind = STORE_OP_RELEASE, .ino = x);
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("g"), .newparent = ROOT,
       NN("g"), .flags = STORE_RENAME_NOREPLACE);
#undef OP
#undef NM
#undef NN
    CHECK(d != 0 && f != 0 && x != 0);

    /* replay the decoded journal into the fresh env */
    for (size_t i = 0; i < nlog; i++) {
        struct store_op op;
        CHECK(store_op_decode(log[i], loglen[i], &op) == STORE_OK);
        CHECK(op.now.tv_sec == 1700000000 + (time_t)i);
        CHECK(store_exec_write(r.t, &op) == STORE_OK);
        free(log[i]);
    }
    CHECK(tree_same(e.t, r.t, ROOT));
    CHECK(store_getattr(e.t, ROOT, &ra) == STORE_OK);
    CHECK(store_getattr(r.t, ROOT, &rb) == STORE_OK);
    ra.atime = rb.atime;                    /* set when each env was made */
    CHECK(attr_same(&ra, &rb));
    CHECK(ra.mtime.tv_sec > 1700000000);
    CHECK(store_getattr(r.t, x, &rb) == STORE_ENOENT);
    CHECK(table_count(e.t, e.t->orphans) == 0 && table_count(r.t, r.t->orphans) == 0);
    CHECK(table_count(e.t, e.t->blocks) == table_count(r.t, r.t->blocks));
    CHECK(table_count(e.t, e.t->xattrs) == 2 && table_count(r.t, r.t->xattrs) == 2);

    r.master = NULL;                        /* freed with e */
    env_teardown(&r);
    env_teardown(&e);
}

int main(void)
{
    return tap_main();
}
