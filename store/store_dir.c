/*
 * store_dir.c - the namespace operations of a tenant: creating records
 * (mknod, symlink, mkdir), hard links, unlink and the orphan list, rmdir,
 * rename in all its POSIX forms, and the release of orphans.  Entry records
 * themselves (layout, lookup, listing) are in store_dirent.c.
 *
 * Link counts: a non-folder has one link per entry; a folder has 2 plus one
 * per subfolder (its "." and each child's "..").  A non-folder whose count
 * reaches zero moves to the "orphans" table (key ino, empty value) until
 * store_release() deletes it, or the next open of the tenant after a crash.
 *
 * Every mutation is one write transaction, aborted on any error.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

#define DIR_LINK_MAX     65000u
#define DIR_DEPTH_MAX    (1u << 20)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static void store_collision_log(const store_tenant *t, uint64_t parent)
{
    store_log(LOG_WARNING, "tenant %llu inode %llu: name hash collision, name refused",
              (unsigned long long)t->id, (unsigned long long)parent);
}

static store_err store_orphan_add(store_tenant *t, MDB_txn *txn, uint64_t ino)
{
    uint8_t kbuf[8];
    MDB_val k = { sizeof(kbuf), kbuf }, v = { 0, NULL };

    store_put_be64(kbuf, ino);
    return store_from_mdb(mdb_put(txn, t->orphans, &k, &v, 0));
}

static store_err store_mknod_check(uint32_t mode, const char *target, size_t tlen)
{
    switch (mode & S_IFMT) {
    case S_IFREG: case S_IFDIR: case S_IFIFO: case S_IFSOCK:
        return STORE_OK;
    case S_IFLNK:
        if (target == NULL || tlen == 0)
            return STORE_EINVAL;
        if (tlen > STORE_SYMLINK_MAX)
            return STORE_ENAMETOOLONG;
        return STORE_OK;
    case S_IFCHR: case S_IFBLK:
        return STORE_EPERM;
    default:
        return STORE_EINVAL;
    }
}

store_err store_mknod(store_tenant *t, uint64_t parent, const char *name,
                      size_t len, uint32_t mode, uint32_t uid, uint32_t gid,
                      const char *target, size_t tlen, struct store_attr *a)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    MDB_txn *txn = NULL;
    uint64_t ino = 0;
    store_err err;
    bool dir = S_ISDIR(mode);

    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;           /* as mknod(2): no type is a file */
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_mknod_check(mode, target, tlen);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;

    err = store_dir_get(t, txn, parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, parent, name, len, &hit);
    if (err != STORE_OK)
        goto out;
    if (hit.other)
        store_collision_log(t, parent);
    if (hit.found || hit.other) {
        err = STORE_EEXIST;
        goto out;
    }
    err = store_ino_alloc(t, txn, &ino);
    if (err != STORE_OK)
        goto out;

    memset(&in, 0, sizeof(in));
    in.mode = (mode & S_IFMT) | (mode & 07777);
    in.uid = uid;
    in.gid = gid;
    in.nlink = dir ? 2 : 1;
    in.nonce = seal_random_u64();
    in.parent = dir ? parent : 0;
    store_now(&in.ctime);
    in.atime = in.mtime = in.ctime;
    if (S_ISLNK(mode)) {
        err = store_blocks_write(t, txn, ino, &in, 0, target, tlen);
        if (err != STORE_OK)
            goto out;
    }
    err = store_inode_put(t, txn, ino, &in);
    if (err == STORE_OK)
        err = store_dirent_put(t, txn, parent, hit.cookie, ino, in.mode & S_IFMT,
                               name, len);
    if (err != STORE_OK)
        goto out;
    pin.mtime = pin.ctime = in.ctime;
    if (dir)
        pin.nlink++;
    err = store_inode_put(t, txn, parent, &pin);
out:
    err = store_txn_end(txn, err);
    if (err == STORE_OK && a != NULL)
        store_inode_to_attr(ino, &in, a);
    return err;
}

store_err store_link(store_tenant *t, uint64_t ino, uint64_t parent,
                     const char *name, size_t len, struct store_attr *a)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    struct timespec now;
    MDB_txn *txn = NULL;
    store_err err;

    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;

    err = store_inode_get(t, txn, ino, &in);
    if (err != STORE_OK)
        goto out;
    if (S_ISDIR(in.mode)) {
        err = STORE_EPERM;
        goto out;
    }
    if (in.nlink == 0) {          /* unlinked, only open handles remain */
        err = STORE_ENOENT;
        goto out;
    }
    if (in.nlink >= DIR_LINK_MAX) {
        err = STORE_EMLINK;
        goto out;
    }
    err = store_dir_get(t, txn, parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, parent, name, len, &hit);
    if (err != STORE_OK)
        goto out;
    if (hit.other)
        store_collision_log(t, parent);
    if (hit.found || hit.other) {
        err = STORE_EEXIST;
        goto out;
    }
    err = store_dirent_put(t, txn, parent, hit.cookie, ino, in.mode & S_IFMT,
                           name, len);
    if (err != STORE_OK)
        goto out;
    store_now(&now);
    in.nlink++;
    in.ctime = now;
    pin.mtime = pin.ctime = now;
    err = store_inode_put(t, txn, ino, &in);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, parent, &pin);
out:
    err = store_txn_end(txn, err);
    if (err == STORE_OK && a != NULL)
        store_inode_to_attr(ino, &in, a);
    return err;
}

/* ---------------------------------------------------------------------- */
/* Removal                                                                 */
/* ---------------------------------------------------------------------- */

store_err store_unlink(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t *orphan_ino)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    struct timespec now;
    MDB_txn *txn = NULL;
    store_err err;

    if (orphan_ino != NULL)
        *orphan_ino = 0;
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;

    err = store_dir_get(t, txn, parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, parent, name, len, &hit);
    if (err == STORE_OK && !hit.found)
        err = STORE_ENOENT;
    if (err == STORE_OK)
        err = store_dirent_target(t, txn, hit.ino, &in);
    if (err == STORE_OK && S_ISDIR(in.mode))
        err = STORE_EISDIR;
    if (err == STORE_OK)
        err = store_dirent_del(t, txn, parent, hit.cookie);
    if (err != STORE_OK)
        goto out;

    store_now(&now);
    in.ctime = now;
    if (in.nlink > 0)
        in.nlink--;
    if (in.nlink == 0)
        err = store_orphan_add(t, txn, hit.ino);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, hit.ino, &in);
    if (err != STORE_OK)
        goto out;
    pin.mtime = pin.ctime = now;
    err = store_inode_put(t, txn, parent, &pin);
out:
    err = store_txn_end(txn, err);
    if (err == STORE_OK && in.nlink == 0 && orphan_ino != NULL)
        *orphan_ino = hit.ino;
    return err;
}

/* Delete an empty folder's record and xattrs (its entry is the caller's). */
static store_err store_dir_destroy(store_tenant *t, MDB_txn *txn, uint64_t ino)
{
    store_err err = store_xattrs_delete_all(t, txn, ino);

    if (err == STORE_OK)
        err = store_inode_del(t, txn, ino);
    return err;
}

store_err store_rmdir(store_tenant *t, uint64_t parent, const char *name,
                      size_t len)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    MDB_txn *txn = NULL;
    store_err err;
    bool empty = false;

    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;

    err = store_dir_get(t, txn, parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, parent, name, len, &hit);
    if (err == STORE_OK && !hit.found)
        err = STORE_ENOENT;
    if (err == STORE_OK)
        err = store_dirent_target(t, txn, hit.ino, &in);
    if (err == STORE_OK && !S_ISDIR(in.mode))
        err = STORE_ENOTDIR;
    if (err == STORE_OK)
        err = store_dir_is_empty(t, txn, hit.ino, &empty);
    if (err == STORE_OK && !empty)
        err = STORE_ENOTEMPTY;
    if (err == STORE_OK)
        err = store_dirent_del(t, txn, parent, hit.cookie);
    if (err == STORE_OK)
        err = store_dir_destroy(t, txn, hit.ino);
    if (err != STORE_OK)
        goto out;
    store_now(&pin.mtime);
    pin.ctime = pin.mtime;
    if (pin.nlink > 2)
        pin.nlink--;
    err = store_inode_put(t, txn, parent, &pin);
out:
    return store_txn_end(txn, err);
}

store_err store_release(store_tenant *t, uint64_t ino)
{
    struct store_inode in;
    uint8_t kbuf[8];
    MDB_val k = { sizeof(kbuf), kbuf };
    MDB_txn *txn = NULL;
    store_err err;
    int rc;

    err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;
    err = store_inode_get(t, txn, ino, &in);
    if (err == STORE_ENOENT || (err == STORE_OK && in.nlink > 0)) {
        mdb_txn_abort(txn);        /* gone already, or still linked */
        return STORE_OK;
    }
    if (err == STORE_OK)
        err = store_blocks_truncate(t, txn, ino, &in, 0);
    if (err == STORE_OK)
        err = store_xattrs_delete_all(t, txn, ino);
    if (err == STORE_OK)
        err = store_inode_del(t, txn, ino);
    if (err == STORE_OK) {
        store_put_be64(kbuf, ino);
        rc = mdb_del(txn, t->orphans, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            err = store_from_mdb(rc);
    }
    return store_txn_end(txn, err);
}

/* ---------------------------------------------------------------------- */
/* Rename                                                                  */
/* ---------------------------------------------------------------------- */

/* STORE_EINVAL when folder `moved` is `dest` or one of its ancestors, i.e.
 * when moving `moved` into `dest` would detach it from the tree. */
static store_err store_subtree_check(store_tenant *t, MDB_txn *txn,
                                     uint64_t moved, uint64_t dest)
{
    struct store_inode in;
    uint64_t cur = dest;
    store_err err;

    for (unsigned depth = 0; depth < DIR_DEPTH_MAX; depth++) {
        if (cur == moved)
            return STORE_EINVAL;
        if (cur == STORE_ROOT_INO)
            return STORE_OK;
        err = store_dirent_target(t, txn, cur, &in);
        if (err != STORE_OK)
            return err;
        cur = in.parent;
    }
    store_log(LOG_ERR, "tenant %llu inode %llu: folder parent chain is damaged",
              (unsigned long long)t->id, (unsigned long long)dest);
    return STORE_EIO;
}

/* The state of one rename, loaded before anything is written. */
struct rename_op {
    uint64_t parent, newparent;
    struct store_dirent_hit src, dst;
    struct store_inode pin, npin_own, *npin;   /* npin aliases pin if same */
    struct store_inode sin, din;
    struct timespec now;
};

/* Replace the target entry with the source; the replaced inode loses a
 * link (a folder is deleted, a non-folder may become an orphan). */
static store_err store_rename_replace(store_tenant *t, MDB_txn *txn,
                                      struct rename_op *op, const char *newname,
                                      size_t newlen, uint64_t *orphan)
{
    bool sdir = S_ISDIR(op->sin.mode);
    store_err err = STORE_OK;

    if (op->dst.found && S_ISDIR(op->din.mode)) {
        err = store_dir_destroy(t, txn, op->dst.ino);
        if (op->npin->nlink > 2)
            op->npin->nlink--;
    } else if (op->dst.found) {
        op->din.ctime = op->now;
        if (op->din.nlink > 0)
            op->din.nlink--;
        if (op->din.nlink == 0) {
            err = store_orphan_add(t, txn, op->dst.ino);
            *orphan = op->dst.ino;
        }
        if (err == STORE_OK)
            err = store_inode_put(t, txn, op->dst.ino, &op->din);
    }
    if (err == STORE_OK)
        err = store_dirent_del(t, txn, op->parent, op->src.cookie);
    if (err == STORE_OK)
        err = store_dirent_put(t, txn, op->newparent, op->dst.cookie, op->src.ino,
                               op->sin.mode & S_IFMT, newname, newlen);
    if (sdir && op->parent != op->newparent) {
        op->sin.parent = op->newparent;
        if (op->pin.nlink > 2)
            op->pin.nlink--;
        op->npin->nlink++;
    }
    return err;
}

/* Swap the two entries' targets; folders change parent and link counts. */
static store_err store_rename_exchange(store_tenant *t, MDB_txn *txn,
                                       struct rename_op *op, const char *name,
                                       size_t len, const char *newname,
                                       size_t newlen)
{
    bool sdir = S_ISDIR(op->sin.mode), ddir = S_ISDIR(op->din.mode);
    store_err err;

    err = store_dirent_put(t, txn, op->parent, op->src.cookie, op->dst.ino,
                           op->din.mode & S_IFMT, name, len);
    if (err == STORE_OK)
        err = store_dirent_put(t, txn, op->newparent, op->dst.cookie, op->src.ino,
                               op->sin.mode & S_IFMT, newname, newlen);
    if (op->parent != op->newparent) {
        if (sdir) {
            op->sin.parent = op->newparent;
            op->pin.nlink--;
            op->npin->nlink++;
        }
        if (ddir) {
            op->din.parent = op->parent;
            op->npin->nlink--;
            op->pin.nlink++;
        }
    }
    op->din.ctime = op->now;
    if (err == STORE_OK)
        err = store_inode_put(t, txn, op->dst.ino, &op->din);
    return err;
}

/* Load both folders and both entries and check every rule of rename(2). */
static store_err store_rename_prepare(store_tenant *t, MDB_txn *txn,
                                      struct rename_op *op, const char *name,
                                      size_t len, const char *newname,
                                      size_t newlen, unsigned flags)
{
    bool sdir, ddir;
    store_err err;

    op->npin = op->parent == op->newparent ? &op->pin : &op->npin_own;
    err = store_dir_get(t, txn, op->parent, &op->pin);
    if (err == STORE_OK && op->npin != &op->pin)
        err = store_dir_get(t, txn, op->newparent, op->npin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->parent, name, len, &op->src);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->newparent, newname, newlen, &op->dst);
    if (err != STORE_OK)
        return err;
    if (!op->src.found)
        return STORE_ENOENT;
    if (op->dst.other) {
        store_collision_log(t, op->newparent);
        return STORE_EEXIST;
    }
    if ((flags & STORE_RENAME_EXCHANGE) && !op->dst.found)
        return STORE_ENOENT;
    if ((flags & STORE_RENAME_NOREPLACE) && op->dst.found)
        return STORE_EEXIST;
    err = store_dirent_target(t, txn, op->src.ino, &op->sin);
    if (err == STORE_OK && op->dst.found)
        err = store_dirent_target(t, txn, op->dst.ino, &op->din);
    if (err != STORE_OK)
        return err;
    if (op->dst.found && op->dst.ino == op->src.ino)
        return STORE_OK;            /* caller sees this and does nothing */

    sdir = S_ISDIR(op->sin.mode);
    ddir = op->dst.found && S_ISDIR(op->din.mode);
    if (sdir)
        err = store_subtree_check(t, txn, op->src.ino, op->newparent);
    if (err == STORE_OK && ddir && (flags & STORE_RENAME_EXCHANGE))
        err = store_subtree_check(t, txn, op->dst.ino, op->parent);
    if (err != STORE_OK || (flags & STORE_RENAME_EXCHANGE) || !op->dst.found)
        return err;
    if (sdir && !ddir)
        return STORE_ENOTDIR;
    if (!sdir && ddir)
        return STORE_EISDIR;
    if (ddir) {
        bool empty = false;
        err = store_dir_is_empty(t, txn, op->dst.ino, &empty);
        if (err == STORE_OK && !empty)
            err = STORE_ENOTEMPTY;
    }
    return err;
}

store_err store_rename(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t newparent, const char *newname,
                       size_t newlen, unsigned flags, uint64_t *orphan_ino)
{
    struct rename_op op;
    uint64_t orphan = 0;
    MDB_txn *txn = NULL;
    store_err err;

    if (orphan_ino != NULL)
        *orphan_ino = 0;
    if ((flags & ~(unsigned)(STORE_RENAME_NOREPLACE | STORE_RENAME_EXCHANGE)) != 0
        || flags == (STORE_RENAME_NOREPLACE | STORE_RENAME_EXCHANGE))
        return STORE_EINVAL;
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_name_check(newname, newlen);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err != STORE_OK)
        return err;

    memset(&op, 0, sizeof(op));
    op.parent = parent;
    op.newparent = newparent;
    err = store_rename_prepare(t, txn, &op, name, len, newname, newlen, flags);
    if (err != STORE_OK || (op.dst.found && op.dst.ino == op.src.ino)) {
        mdb_txn_abort(txn);         /* an error, or the same inode: no-op */
        return err;
    }

    store_now(&op.now);
    if (flags & STORE_RENAME_EXCHANGE)
        err = store_rename_exchange(t, txn, &op, name, len, newname, newlen);
    else
        err = store_rename_replace(t, txn, &op, newname, newlen, &orphan);
    if (err != STORE_OK)
        goto out;
    op.sin.ctime = op.now;
    op.pin.mtime = op.pin.ctime = op.now;
    op.npin->mtime = op.npin->ctime = op.now;
    err = store_inode_put(t, txn, op.src.ino, &op.sin);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, parent, &op.pin);
    if (err == STORE_OK && op.npin != &op.pin)
        err = store_inode_put(t, txn, newparent, op.npin);
out:
    err = store_txn_end(txn, err);
    if (err == STORE_OK && orphan_ino != NULL)
        *orphan_ino = orphan;
    return err;
}

