/*
 * fs_attr_ops.c - FUSE operations on attributes: getattr, setattr, statfs
 * and extended attributes.
 *
 * The mount root's attributes are synthesised (fs_root_stat) and cannot be
 * changed (EPERM); it has no extended attributes.  Below the root,
 * attributes are the store's: setattr translates the kernel's FUSE_SET_ATTR_*
 * bits into one store_setattr() call, so a chmod, a truncate or a utimensat
 * is one transaction.  *_NOW times are taken from the daemon's clock; with
 * the writeback cache the kernel also sends mtime/ctime it computed itself.
 * Only "user." extended attributes are stored; the store decides what other
 * namespaces give.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "fs.h"

/* ===================================================================== */
/* Attributes                                                            */
/* ===================================================================== */

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_attr a;
    struct stat st;
    store_tenant *t;
    uint64_t local;
    int err;

    (void)fi;
    if (fs_ino_is_root(ino)) {
        err = fs_root_stat(c, &st);
    } else {
        err = fs_ino_resolve(c, ino, &t, &local);
        if (err == 0)
            err = fs_errno(store_getattr(t, local, &a));
        if (err == 0)
            fs_attr_to_stat(store_tenant_id(t), &a, &st);
    }
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* Translate the kernel's request into a store mask and values. */
static unsigned fs_setattr_mask(const struct stat *attr, int to_set,
                                struct store_attr *in)
{
    struct timespec now;
    unsigned mask = 0;

    memset(in, 0, sizeof(*in));
    clock_gettime(CLOCK_REALTIME, &now);
    if (to_set & FUSE_SET_ATTR_MODE) {
        mask |= STORE_SET_MODE;
        in->mode = attr->st_mode & 07777;
    }
    if (to_set & FUSE_SET_ATTR_UID) {
        mask |= STORE_SET_UID;
        in->uid = attr->st_uid;
    }
    if (to_set & FUSE_SET_ATTR_GID) {
        mask |= STORE_SET_GID;
        in->gid = attr->st_gid;
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
        mask |= STORE_SET_SIZE;
        in->size = (uint64_t)attr->st_size;
    }
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
        mask |= STORE_SET_ATIME;
        in->atime = now;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
        mask |= STORE_SET_ATIME;
        in->atime = attr->st_atim;
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
        mask |= STORE_SET_MTIME;
        in->mtime = now;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
        mask |= STORE_SET_MTIME;
        in->mtime = attr->st_mtim;
    }
    if (to_set & FUSE_SET_ATTR_CTIME) {
        mask |= STORE_SET_CTIME;
        in->ctime = attr->st_ctim;
    }
    return mask;
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                   int to_set, struct fuse_file_info *fi)
{
    struct store_attr in, out;
    struct stat st;
    store_tenant *t;
    uint64_t local;
    unsigned mask;
    int err;

    (void)fi;                   /* ftruncate: the inode is all we need */
    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err != 0)
        goto out;
    if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size < 0) {
        err = EINVAL;
        goto out;
    }
    mask = fs_setattr_mask(attr, to_set, &in);
    if (mask == 0)
        err = fs_errno(store_getattr(t, local, &out));
    else
        err = fs_errno(store_setattr(t, local, &in, mask, &out));
out:
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fs_attr_to_stat(store_tenant_id(t), &out, &st);
    fuse_reply_attr(req, &st, FS_TIMEOUT);
}

void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct store_statfs sf;
    struct statvfs sv;
    store_err e;

    (void)ino;
    e = store_statfs(fs_ctx_of(req)->store, &sf);
    if (e != STORE_OK) {
        fs_reply_store_err(req, e);
        return;
    }
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = sf.bsize;
    sv.f_frsize = sf.bsize;
    sv.f_blocks = sf.blocks;
    sv.f_bfree = sf.bfree;
    sv.f_bavail = sf.bavail;
    sv.f_files = sf.files;
    sv.f_ffree = sf.ffree;
    sv.f_favail = sf.ffree;
    sv.f_namemax = sf.namemax;
    fuse_reply_statfs(req, &sv);
}

/* ===================================================================== */
/* Extended attributes                                                   */
/* ===================================================================== */

void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    const char *value, size_t size, int flags)
{
    store_tenant *t;
    uint64_t local;
    int sflags = 0;
    int err;

    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
        err = EINVAL;
        goto out;
    }
    if (flags & XATTR_CREATE)
        sflags |= STORE_XATTR_CREATE;
    if (flags & XATTR_REPLACE)
        sflags |= STORE_XATTR_REPLACE;
    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err == EPERM)
        err = EOPNOTSUPP;       /* the mount root stores nothing */
    if (err == 0)
        err = fs_errno(store_setxattr(t, local, name, value, size, sflags));
out:
    fuse_reply_err(req, err);
}

void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    size_t size)
{
    store_tenant *t;
    uint64_t local;
    size_t len = 0;
    char *buf = NULL;
    int err;

    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err == EPERM)
        err = ENODATA;
    if (err != 0)
        goto out;
    if (size == 0) {
        err = fs_errno(store_getxattr(t, local, name, NULL, 0, &len));
        goto out;
    }
    buf = malloc(size);
    if (buf == NULL) {
        err = ENOMEM;
        goto out;
    }
    err = fs_errno(store_getxattr(t, local, name, buf, size, &len));
out:
    if (err != 0)
        fuse_reply_err(req, err);
    else if (size == 0)
        fuse_reply_xattr(req, len);
    else
        fuse_reply_buf(req, buf, len);
    free(buf);
}

void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    store_tenant *t;
    uint64_t local;
    size_t len = 0;
    char *buf = NULL;
    int err;

    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err == EPERM) {
        err = 0;                /* the mount root: an empty list */
        size = 0;
        goto out;
    }
    if (err != 0)
        goto out;
    if (size == 0) {
        err = fs_errno(store_listxattr(t, local, NULL, 0, &len));
        goto out;
    }
    buf = malloc(size);
    if (buf == NULL) {
        err = ENOMEM;
        goto out;
    }
    err = fs_errno(store_listxattr(t, local, buf, size, &len));
out:
    if (err != 0)
        fuse_reply_err(req, err);
    else if (size == 0)
        fuse_reply_xattr(req, len);
    else
        fuse_reply_buf(req, buf, len);
    free(buf);
}

void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    store_tenant *t;
    uint64_t local;
    int err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);

    if (err == EPERM)
        err = ENODATA;
    if (err == 0)
        err = fs_errno(store_removexattr(t, local, name));
    fuse_reply_err(req, err);
}
