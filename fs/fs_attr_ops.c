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
 * namespaces give.  Each op first passes the daemon's permission checks
 * (fs_perm.c).  Under MOUNT/.snapshots nothing changes (EROFS, before any
 * other check); its virtual folders have no extended attributes.
 *
 * statfs on a tenant reports that tenant's quota and use: with a byte
 * quota, the size is the quota and the free space what is left of it; with
 * a record quota, the inode count is the quota.  Without a quota, and on
 * the mount root, the figures are the store's (the host filesystem's space,
 * records across open tenants).  Blocks are always 4096 bytes.
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
    struct fs_cred cr;
    struct stat st;
    store_tenant *t;
    uint64_t local;
    double timeout = FS_TIMEOUT;
    int err;

    (void)fi;
    fs_cred_init(&cr, req);
    if (fs_ino_is_root(ino)) {
        err = fs_root_stat(c, &st);
    } else if (fs_ino_snap_virtual(ino)) {
        err = fs_snap_stat(c, ino, &st, &timeout);
    } else {
        /* No tenant gate: fstat() of an open descriptor keeps working, and
         * the kernel does not tell it from a stat() by path (it sends the
         * handle only for its own refreshes).  Nothing leaks that way:
         * stat needs no permission on the object itself (POSIX), and
         * reaching an inode inside a tenant takes a lookup through the
         * tenant's folder, which is gated (and which the kernel does not
         * cache for a tenant not everyone may search), or a descriptor
         * opened through one.  The tenant's folder itself stays ENOENT to
         * whoever may not see the tenant (fs_perm_resolve_held). */
        err = fs_perm_resolve_held(c, &cr, ino, &t, &local);
        if (err == 0)
            err = fs_errno(store_getattr(t, local, &a));
        if (err == 0)
            fs_attr_to_stat(fs_ino_tenant(ino), &a, &st);
        /* A snapshot tenant's folder shows the live folder's owner and
         * mode, of whose changes the kernel hears nothing here. */
        if (err == 0 && fs_tid_is_snap(fs_ino_tenant(ino)) &&
            local == STORE_ROOT_INO)
            timeout = 0;
    }
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_attr(req, &st, timeout);
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

int fs_kill_privs(fuse_req_t req, store_tenant *t, fuse_ino_t ino,
                  uint64_t local)
{
    struct store_attr a, in, out;
    struct fs_cred cr;
    int err;

    err = fs_errno(store_getattr(t, local, &a));
    if (err != 0 || !S_ISREG(a.mode))
        return err;
    fs_cred_init(&cr, req);
    in.mode = fs_perm_killed_mode(&cr, &a, false);
    if (in.mode == a.mode)
        return 0;       /* no security.capability: only user. xattrs exist */
    err = fs_errno(store_setattr(t, local, &in, STORE_SET_MODE, &out));
    if (err == 0)
        fs_attr_changed_behind(req, ino);
    return err;
}

void fs_attr_changed_behind(fuse_req_t req, fuse_ino_t ino)
{
    /* Attributes only (offset -1): that takes none of the locks the
     * kernel holds for this request, so it is sent before the reply. */
    (void)fuse_lowlevel_notify_inval_inode(fs_ctx_of(req)->se, ino, -1, 0);
}

/* A tenant's folder changed owner, group or mode: if not everyone may
 * search it now, its name at the mount root must stop being cached (the
 * tenant gate answers ENOENT to whoever may not see it: fs_root_entry).
 * After the reply, from the invalidation thread: the kernel holds the
 * folder's lock until then.  Names in other folders need nothing: the
 * kernel checks search permission itself (default_permissions), with the
 * attributes this setattr's reply gave it. */
static void fs_setattr_tenant_changed(struct fs_ctx *c, store_tenant *t,
                                      const struct store_attr *a)
{
    struct store_tenant_info info;

    if (fs_tenant_searchable_by_all(a->mode))
        return;
    store_tenant_info_get(t, &info);
    fs_inval_entry(c, FUSE_ROOT_ID, info.name);
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                   int to_set, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_attr in, out, cur;
    struct fs_cred cr;
    struct stat st;
    store_tenant *t;
    uint64_t local;
    unsigned mask;
    bool chown, kill;
    int err;

    /* With a handle (ftruncate, the kernel's own times after writes) the
     * inode is all we need, and an open descriptor keeps working: the
     * tenant gate only applies to changes of owner, group or mode. */
    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (fi != NULL && !(to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
                                  FUSE_SET_ATTR_GID)))
        err = fs_ino_resolve(c, ino, &t, &local);
    else
        err = fs_perm_resolve(c, &cr, ino, &t, &local);
    if (err != 0)
        goto out;
    if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size < 0) {
        err = EINVAL;
        goto out;
    }
    /* Privileges the kernel leaves to us to kill (fs_io.c): its kill flag
     * (FATTR_KILL_SUIDGID, which libfuse passes as FUSE_SET_ATTR_KILL_SUID)
     * comes with a truncation by a caller without CAP_FSETID and with
     * every chown of a non-folder; chown(f, -1, -1) sends the change time
     * alone (with the writeback cache, the kernel's own ctime), and no
     * flag. */
    chown = (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) != 0 ||
            to_set == FUSE_SET_ATTR_CTIME;
    kill = (to_set & FUSE_SET_ATTR_KILL_SUID) != 0 || chown;
    if (!fs_cred_is_root(&cr) || kill) {
        err = fs_errno(store_getattr(t, local, &cur));
        if (err == 0 && !fs_cred_is_root(&cr))
            err = fs_perm_setattr(&cr, &cur, attr, to_set, fi != NULL);
        if (err != 0)
            goto out;
    }
    mask = fs_setattr_mask(attr, to_set, &in);
    if (kill && !S_ISDIR(cur.mode) && !(mask & STORE_SET_MODE) &&
        (in.mode = fs_perm_killed_mode(&cr, &cur, chown)) != cur.mode)
        mask |= STORE_SET_MODE;     /* in the same transaction */
    if (mask == 0)
        err = fs_errno(store_getattr(t, local, &out));
    else
        err = fs_errno(store_setattr(t, local, &in, mask, &out));
out:
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fs_attr_to_stat(fs_ino_tenant(ino), &out, &st);
    fuse_reply_attr(req, &st, FS_TIMEOUT);     /* req is gone after this */
    if (local == STORE_ROOT_INO && (mask & (STORE_SET_MODE | STORE_SET_UID |
                                            STORE_SET_GID)))
        fs_setattr_tenant_changed(c, t, &out);
}

#define FS_STATFS_BSIZE 4096u

/* `n` units of `from` bytes in FS_STATFS_BSIZE units, rounded down. */
static fsblkcnt_t fs_statfs_scale(uint64_t n, uint64_t from)
{
    if (from == 0 || from == FS_STATFS_BSIZE)
        return (fsblkcnt_t)n;
    if (from > FS_STATFS_BSIZE && from % FS_STATFS_BSIZE == 0)
        return (fsblkcnt_t)(n * (from / FS_STATFS_BSIZE));
    return (fsblkcnt_t)((unsigned __int128)n * from / FS_STATFS_BSIZE);
}

/* Replace the store's figures by tenant t's quota and use where it has
 * quotas. */
static int fs_statfs_tenant(store_tenant *t, struct statvfs *sv)
{
    struct store_tenant_info info;
    struct store_tenant_usage u;
    store_err e;

    store_tenant_info_get(t, &info);
    if (info.quota_bytes == 0 && info.quota_records == 0)
        return 0;
    e = store_tenant_usage(t, &u);
    if (e != STORE_OK)
        return fs_errno(e);
    if (info.quota_bytes != 0) {
        uint64_t used = u.bytes < info.quota_bytes ? u.bytes
                                                   : info.quota_bytes;

        sv->f_blocks = info.quota_bytes / FS_STATFS_BSIZE;
        sv->f_bfree = (info.quota_bytes - used) / FS_STATFS_BSIZE;
        sv->f_bavail = sv->f_bfree;
    }
    if (info.quota_records != 0) {
        uint64_t used = u.records < info.quota_records ? u.records
                                                       : info.quota_records;

        sv->f_files = info.quota_records;
        sv->f_ffree = info.quota_records - used;
        sv->f_favail = sv->f_ffree;
    }
    return 0;
}

void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_statfs sf;
    struct statvfs sv;
    struct fs_cred cr;
    store_tenant *t = NULL;
    uint64_t local;
    int err = 0;

    /* The view's virtual folders: the store's figures, as the root. */
    if (!fs_ino_is_root(ino) && !fs_ino_snap_virtual(ino)) {
        fs_cred_init(&cr, req);
        err = fs_perm_resolve(c, &cr, ino, &t, &local);
    }
    if (err == 0)
        err = fs_errno(store_statfs(c->store, &sf));
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = FS_STATFS_BSIZE;
    sv.f_frsize = FS_STATFS_BSIZE;
    sv.f_blocks = fs_statfs_scale(sf.blocks, sf.bsize);
    sv.f_bfree = fs_statfs_scale(sf.bfree, sf.bsize);
    sv.f_bavail = fs_statfs_scale(sf.bavail, sf.bsize);
    sv.f_files = sf.files;
    sv.f_ffree = sf.ffree;
    sv.f_favail = sf.ffree;
    sv.f_namemax = sf.namemax;
    if (t != NULL)
        err = fs_statfs_tenant(t, &sv);
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_statfs(req, &sv);
}

/* ===================================================================== */
/* Extended attributes                                                   */
/* ===================================================================== */

void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    const char *value, size_t size, int flags)
{
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    int sflags = 0;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino)) {
        err = EROFS;
        goto out;
    }
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
        err = EINVAL;
        goto out;
    }
    if (flags & XATTR_CREATE)
        sflags |= STORE_XATTR_CREATE;
    if (flags & XATTR_REPLACE)
        sflags |= STORE_XATTR_REPLACE;
    err = fs_perm_resolve(fs_ctx_of(req), &cr, ino, &t, &local);
    if (err == EPERM)
        err = EOPNOTSUPP;       /* the mount root stores nothing */
    if (err == 0)
        err = fs_perm_xattr(&cr, t, local, name, FS_MAY_WRITE);
    if (err == 0)
        err = fs_errno(store_setxattr(t, local, name, value, size, sflags));
out:
    fuse_reply_err(req, err);
}

void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    size_t size)
{
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    size_t len = 0;
    char *buf = NULL;
    int err;

    /* r on the object, but no tenant gate: fgetxattr() on an open
     * descriptor keeps working, and the kernel sends the same request for
     * it as for getxattr() by path, whose walk went through the (gated)
     * lookup of the tenant's folder already (see fs_op_getattr). */
    fs_cred_init(&cr, req);
    err = fs_perm_resolve_held(fs_ctx_of(req), &cr, ino, &t, &local);
    if (err == EPERM)
        err = ENODATA;
    if (err == 0)
        err = fs_perm_xattr(&cr, t, local, name, FS_MAY_READ);
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
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    size_t len = 0;
    char *buf = NULL;
    int err;

    /* No check: like the kernel, no read permission is needed to list the
     * names (ls -l lists them on every file it shows), and, as for stat,
     * no tenant gate, so that flistxattr() on an open descriptor keeps
     * working (see fs_op_getattr). */
    fs_cred_init(&cr, req);
    err = fs_perm_resolve_held(fs_ctx_of(req), &cr, ino, &t, &local);
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
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    err = fs_perm_resolve(fs_ctx_of(req), &cr, ino, &t, &local);
    if (err == EPERM)
        err = ENODATA;
    if (err == 0)
        err = fs_perm_xattr(&cr, t, local, name, FS_MAY_WRITE);
    if (err == 0)
        err = fs_errno(store_removexattr(t, local, name));
    fuse_reply_err(req, err);
}
