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
#include "store_env.h"
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
    CHECK(store_rmdir(e.t, ROOT, "d", 1, NULL) == STORE_ENOTEMPTY);
    CHECK(store_rmdir(e.t, ROOT, "h", 1, NULL) == STORE_ENOTDIR);
    CHECK(store_rmdir(e.t, ROOT, "q", 1, NULL) == STORE_ENOENT);
    CHECK(store_rmdir(e.t, d.ino, "e", 1, NULL) == STORE_OK);
    CHECK(nlink_of(e.t, d.ino) == 2);
    CHECK(nlink_of(e.t, ROOT) == 3);
    CHECK(store_rmdir(e.t, ROOT, "d", 1, NULL) == STORE_OK);
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
    /* The replaced folder is an orphan until released, like a file. */
    CHECK(orphan == s2 && ino_of(e.t, d2.ino, "sub") == s1);
    CHECK(store_getattr(e.t, s2, &a) == STORE_OK && a.nlink == 0 &&
          S_ISDIR(a.mode));
    CHECK(store_release(e.t, s2) == STORE_OK);
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

int main(void)
{
    return tap_main();
}
