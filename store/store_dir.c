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
 * Each mutation is an op (struct store_op): the public function checks its
 * arguments and hands it to store_exec_write(); the kind's apply function
 * here does the work inside the transaction it is given, with op->now as
 * the time, so that a journal replay reproduces it exactly.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_ops.h"

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

store_err store_mknod_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    uint64_t ino = 0;
    uint32_t mode = op->mode;
    store_err err;

    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;           /* as mknod(2): no type is a file */
    err = store_name_check(op->name, op->namelen);
    if (err == STORE_OK)
        err = store_mknod_check(mode, op->data, op->len);
    if (err == STORE_OK)
        err = store_dir_get(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->parent, op->name, op->namelen, &hit);
    if (err != STORE_OK)
        return err;
    if (hit.other)
        store_collision_log(t, op->parent);
    if (hit.found || hit.other)
        return STORE_EEXIST;
    err = store_ino_alloc(t, txn, &ino);
    if (err != STORE_OK)
        return err;

    memset(&in, 0, sizeof(in));
    in.mode = (mode & S_IFMT) | (mode & 07777);
    in.uid = op->uid;
    in.gid = op->gid;
    in.nlink = S_ISDIR(mode) ? 2 : 1;
    in.nonce = seal_random_u64();  /* nothing journalled depends on it */
    in.parent = S_ISDIR(mode) ? op->parent : 0;
    in.atime = in.mtime = in.ctime = op->now;
    if (S_ISLNK(mode)) {
        err = store_blocks_write(t, txn, ino, &in, 0, op->data, op->len);
        if (err != STORE_OK)
            return err;
    }
    err = store_inode_put(t, txn, ino, &in);
    if (err == STORE_OK)
        err = store_dirent_put(t, txn, op->parent, hit.cookie, ino,
                               in.mode & S_IFMT, op->name, op->namelen);
    if (err != STORE_OK)
        return err;
    pin.mtime = pin.ctime = op->now;
    if (S_ISDIR(mode))
        pin.nlink++;
    err = store_inode_put(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        store_inode_to_attr(ino, &in, &op->out);
    return err;
}

store_err store_mknod(store_tenant *t, uint64_t parent, const char *name,
                      size_t len, uint32_t mode, uint32_t uid, uint32_t gid,
                      const char *target, size_t tlen, struct store_attr *a)
{
    struct store_op op = {
        .kind = STORE_OP_MKNOD, .parent = parent, .name = name,
        .namelen = len, .mode = mode, .uid = uid, .gid = gid,
        .data = target, .len = target != NULL ? tlen : 0,
    };
    store_err err;

    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_mknod_check(mode, target, tlen);
    if (err == STORE_OK)
        err = store_exec_write(t, &op);
    if (err == STORE_OK && a != NULL)
        *a = op.out;
    return err;
}

store_err store_link_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    store_err err;

    err = store_name_check(op->name, op->namelen);
    if (err == STORE_OK)
        err = store_inode_get(t, txn, op->ino, &in);
    if (err != STORE_OK)
        return err;
    if (S_ISDIR(in.mode))
        return STORE_EPERM;
    if (in.nlink == 0)            /* unlinked, only open handles remain */
        return STORE_ENOENT;
    if (in.nlink >= DIR_LINK_MAX)
        return STORE_EMLINK;
    err = store_dir_get(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->parent, op->name, op->namelen, &hit);
    if (err != STORE_OK)
        return err;
    if (hit.other)
        store_collision_log(t, op->parent);
    if (hit.found || hit.other)
        return STORE_EEXIST;
    err = store_dirent_put(t, txn, op->parent, hit.cookie, op->ino,
                           in.mode & S_IFMT, op->name, op->namelen);
    if (err != STORE_OK)
        return err;
    in.nlink++;
    in.ctime = op->now;
    pin.mtime = pin.ctime = op->now;
    err = store_inode_put(t, txn, op->ino, &in);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        store_inode_to_attr(op->ino, &in, &op->out);
    return err;
}

store_err store_link(store_tenant *t, uint64_t ino, uint64_t parent,
                     const char *name, size_t len, struct store_attr *a)
{
    struct store_op op = {
        .kind = STORE_OP_LINK, .ino = ino, .parent = parent, .name = name,
        .namelen = len,
    };
    store_err err = store_name_check(name, len);

    if (err == STORE_OK)
        err = store_exec_write(t, &op);
    if (err == STORE_OK && a != NULL)
        *a = op.out;
    return err;
}

/* ---------------------------------------------------------------------- */
/* Removal                                                                 */
/* ---------------------------------------------------------------------- */

store_err store_unlink_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    store_err err;

    err = store_name_check(op->name, op->namelen);
    if (err == STORE_OK)
        err = store_dir_get(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->parent, op->name, op->namelen, &hit);
    if (err == STORE_OK && !hit.found)
        err = STORE_ENOENT;
    if (err == STORE_OK)
        err = store_dirent_target(t, txn, hit.ino, &in);
    if (err == STORE_OK && S_ISDIR(in.mode))
        err = STORE_EISDIR;
    if (err == STORE_OK)
        err = store_dirent_del(t, txn, op->parent, hit.cookie);
    if (err != STORE_OK)
        return err;

    in.ctime = op->now;
    if (in.nlink > 0)
        in.nlink--;
    if (in.nlink == 0)
        err = store_orphan_add(t, txn, hit.ino);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, hit.ino, &in);
    if (err != STORE_OK)
        return err;
    pin.mtime = pin.ctime = op->now;
    err = store_inode_put(t, txn, op->parent, &pin);
    if (err == STORE_OK && in.nlink == 0)
        op->orphan = hit.ino;
    return err;
}

store_err store_unlink(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t *orphan_ino)
{
    struct store_op op = {
        .kind = STORE_OP_UNLINK, .parent = parent, .name = name, .namelen = len,
    };
    store_err err;

    if (orphan_ino != NULL)
        *orphan_ino = 0;
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_exec_write(t, &op);
    if (err == STORE_OK && orphan_ino != NULL)
        *orphan_ino = op.orphan;
    return err;
}

/* An empty folder whose entry is gone (the caller's) becomes an orphan,
 * as an unlinked file does: no links, kept until store_release(), so that
 * handles open on it keep working. */
static store_err store_dir_orphan(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                  struct store_inode *in,
                                  const struct timespec *now)
{
    store_err err = store_orphan_add(t, txn, ino);

    in->nlink = 0;
    in->ctime = *now;
    if (err == STORE_OK)
        err = store_inode_put(t, txn, ino, in);
    return err;
}

store_err store_rmdir_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    store_err err;
    bool empty = false;

    err = store_name_check(op->name, op->namelen);
    if (err == STORE_OK)
        err = store_dir_get(t, txn, op->parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, op->parent, op->name, op->namelen, &hit);
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
        err = store_dirent_del(t, txn, op->parent, hit.cookie);
    if (err == STORE_OK)
        err = store_dir_orphan(t, txn, hit.ino, &in, &op->now);
    if (err != STORE_OK)
        return err;
    op->orphan = hit.ino;
    pin.mtime = pin.ctime = op->now;
    if (pin.nlink > 2)
        pin.nlink--;
    return store_inode_put(t, txn, op->parent, &pin);
}

store_err store_rmdir(store_tenant *t, uint64_t parent, const char *name,
                      size_t len, uint64_t *orphan_ino)
{
    struct store_op op = {
        .kind = STORE_OP_RMDIR, .parent = parent, .name = name, .namelen = len,
    };
    store_err err = store_name_check(name, len);

    if (orphan_ino != NULL)
        *orphan_ino = 0;
    if (err == STORE_OK)
        err = store_exec_write(t, &op);
    if (err != STORE_OK)
        return err;
    if (orphan_ino != NULL)
        *orphan_ino = op.orphan;
    else
        (void)!store_release(t, op.orphan);   /* nothing holds it: the next
                                                 open's purge if this fails */
    return STORE_OK;
}

store_err store_release_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode in;
    uint8_t kbuf[8];
    MDB_val k = { sizeof(kbuf), kbuf };
    store_err err;
    int rc;

    err = store_inode_get(t, txn, op->ino, &in);
    if (err == STORE_ENOENT || (err == STORE_OK && in.nlink > 0))
        return STORE_OK;           /* gone already, or still linked */
    if (err == STORE_OK)
        err = store_blocks_truncate(t, txn, op->ino, &in, 0);
    if (err == STORE_OK)
        err = store_xattrs_delete_all(t, txn, op->ino);
    if (err == STORE_OK)
        err = store_inode_del(t, txn, op->ino, &in);
    if (err == STORE_OK) {
        store_put_be64(kbuf, op->ino);
        rc = mdb_del(txn, t->orphans, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            err = store_from_mdb(rc);
    }
    return err;
}

store_err store_release(store_tenant *t, uint64_t ino)
{
    struct store_op op = { .kind = STORE_OP_RELEASE, .ino = ino };

    return store_exec_write(t, &op);
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
        err = store_dir_orphan(t, txn, op->dst.ino, &op->din, &op->now);
        *orphan = op->dst.ino;
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

static store_err store_rename_args_check(const char *name, size_t len,
                                        const char *newname, size_t newlen,
                                        unsigned flags)
{
    store_err err;

    if ((flags & ~(unsigned)(STORE_RENAME_NOREPLACE | STORE_RENAME_EXCHANGE)) != 0
        || flags == (STORE_RENAME_NOREPLACE | STORE_RENAME_EXCHANGE))
        return STORE_EINVAL;
    err = store_name_check(name, len);
    if (err == STORE_OK)
        err = store_name_check(newname, newlen);
    return err;
}

store_err store_rename_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct rename_op r;
    uint64_t orphan = 0;
    store_err err;

    err = store_rename_args_check(op->name, op->namelen, op->newname,
                                  op->newnamelen, op->flags);
    if (err != STORE_OK)
        return err;
    memset(&r, 0, sizeof(r));
    r.parent = op->parent;
    r.newparent = op->newparent;
    r.now = op->now;
    err = store_rename_prepare(t, txn, &r, op->name, op->namelen, op->newname,
                               op->newnamelen, op->flags);
    if (err != STORE_OK || (r.dst.found && r.dst.ino == r.src.ino))
        return err;                /* an error, or the same inode: no-op */

    if (op->flags & STORE_RENAME_EXCHANGE)
        err = store_rename_exchange(t, txn, &r, op->name, op->namelen,
                                    op->newname, op->newnamelen);
    else
        err = store_rename_replace(t, txn, &r, op->newname, op->newnamelen,
                                   &orphan);
    if (err != STORE_OK)
        return err;
    r.sin.ctime = r.now;
    r.pin.mtime = r.pin.ctime = r.now;
    r.npin->mtime = r.npin->ctime = r.now;
    err = store_inode_put(t, txn, r.src.ino, &r.sin);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, r.parent, &r.pin);
    if (err == STORE_OK && r.npin != &r.pin)
        err = store_inode_put(t, txn, r.newparent, r.npin);
    if (err == STORE_OK)
        op->orphan = orphan;
    return err;
}

store_err store_rename(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t newparent, const char *newname,
                       size_t newlen, unsigned flags, uint64_t *orphan_ino)
{
    struct store_op op = {
        .kind = STORE_OP_RENAME, .parent = parent, .name = name,
        .namelen = len, .newparent = newparent, .newname = newname,
        .newnamelen = newlen, .flags = flags,
    };
    store_err err;

    if (orphan_ino != NULL)
        *orphan_ino = 0;
    err = store_rename_args_check(name, len, newname, newlen, flags);
    if (err == STORE_OK)
        err = store_exec_write(t, &op);
    if (err == STORE_OK && orphan_ino != NULL)
        *orphan_ino = op.orphan;
    return err;
}
