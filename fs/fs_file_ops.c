/*
 * fs_file_ops.c - FUSE operations on open records: open, create, read,
 * write, flush, release, fsync and fallocate.
 *
 * A file handle carries nothing (fi->fh is 0): every read and write goes to
 * the store by inode number, which is what lets an unlinked record stay
 * usable through its open descriptors.  What a handle does own is one count
 * in the open-file table (fs_inode.c), taken at open/create and dropped at
 * release; an orphaned inode is deleted at its last release.
 *
 * tenantfs owns all its data, so pages are kept in the kernel's cache across
 * opens (keep_cache).  Permissions are checked at open (the tenant gate and
 * the access mode against the file's mode, fs_perm.c) and never again on
 * the handle: an open descriptor keeps working, as on any POSIX
 * filesystem, and with the writeback cache the kernel may read through a
 * write-only handle to fill a page.  Under MOUNT/.snapshots only opens
 * for reading succeed; an open for writing or with O_TRUNC, a write and
 * fallocate are EROFS, before any other check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* O_TRUNC arrives with the open when the kernel negotiated atomic_o_trunc
 * (libfuse's default): the kernel then sends no separate setattr, and with
 * the writeback cache it trusts its own (zero) size from now on, so the
 * store must be truncated here or old bytes would survive past new ones. */
static int fs_file_truncate(store_tenant *t, uint64_t local)
{
    struct store_attr in, out;

    memset(&in, 0, sizeof(in));
    clock_gettime(CLOCK_REALTIME, &in.mtime);
    return fs_errno(store_setattr(t, local, &in,
                                  STORE_SET_SIZE | STORE_SET_MTIME, &out));
}

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_attr a;
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino) &&
        ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))) {
        fuse_reply_err(req, EROFS);
        return;
    }
    err = fs_perm_resolve(c, &cr, ino, &t, &local);
    if (err == EPERM)
        err = EISDIR;           /* the mount root, the view's folders */
    if (err == 0)
        err = fs_errno(store_getattr(t, local, &a));
    if (err == 0 && S_ISDIR(a.mode))
        err = EISDIR;
    if (err == 0)
        err = fs_perm_open(&cr, &a, fi->flags);
    if (err == 0 && (fi->flags & O_TRUNC) && fs_io_kill_privs())
        err = fs_kill_privs(req, t, ino, local);
    if (err == 0 && (fi->flags & O_TRUNC) && S_ISREG(a.mode) && a.size > 0)
        err = fs_file_truncate(t, local);
    if (err == 0)
        err = fs_open_register(c, t, ino, local, false);
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fi->fh = 0;
    fi->keep_cache = 1;
    if (fuse_reply_open(req, fi) != 0)
        fs_open_put(c, t, ino);     /* interrupted: no release will come */
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                  mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fuse_entry_param e;
    store_tenant *t;
    uint64_t local;
    int err;

    err = fs_node_make(req, parent, name, S_IFREG | (mode & 07777), NULL, &e);
    if (err == 0)
        err = fs_ino_resolve(c, e.ino, &t, &local);
    if (err == 0)
        err = fs_open_register(c, t, e.ino, local, false);
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fi->fh = 0;
    fi->keep_cache = 1;
    if (fuse_reply_create(req, &e, fi) != 0)
        fs_open_put(c, t, e.ino);
}

void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
    store_tenant *t;
    uint64_t local;
    size_t got = 0;
    char *buf = NULL;
    int err;

    (void)fi;
    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err != 0)
        goto out;
    if (off < 0) {
        err = EINVAL;
        goto out;
    }
    buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        err = ENOMEM;
        goto out;
    }
    err = fs_errno(store_read(t, local, (uint64_t)off, size, buf, &got));
out:
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_buf(req, buf, got);
    free(buf);
}

void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
                 off_t off, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    store_tenant *t;
    uint64_t local;
    int err;

    err = fs_ino_in_snapview(ino) ? EROFS : fs_ino_resolve(c, ino, &t, &local);
    if (err == 0 && off < 0)
        err = EINVAL;
    /* Privileges first (fs_io.c), as the kernel does: if that fails,
     * nothing was written. */
    if (err == 0 && fs_io_kill_privs())
        err = fs_kill_privs(req, t, ino, local);
    if (err == 0)
        err = fs_errno(store_write(t, local, (uint64_t)off, buf, size, NULL));
    /* A write-back the quota refused: the refused data stays in the
     * kernel's page cache (as clean pages), where readers would find it.
     * The kernel is asked to drop it after the last release, from another
     * thread (fs_open_refused; fs_inval.c), never from here: the kernel
     * holds the pages' locks until it has our reply.  Marked before the
     * reply: once the kernel has it, the close and the last release may
     * come at once, on another thread. */
    if (err == EDQUOT && fi != NULL && fi->writepage)
        fs_open_refused(c, ino);
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_write(req, size);
}

/* Every write is journalled when it arrives, so a FLUSH has nothing to
 * write.  Its reply is what makes close() truthful: the kernel writes the
 * file's dirty pages back before it sends the FLUSH, and if the daemon died
 * meanwhile that write-back is dropped without an error (the request never
 * reaches a daemon), while the FLUSH itself then fails (ENOTCONN).  So a
 * close() that returns 0 means every byte written through the descriptor
 * was acknowledged, that is, journalled (docs/journal.md). */
void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    store_tenant *t = NULL;
    uint64_t local;

    (void)fi;
    if (fs_ino_resolve(c, ino, &t, &local) != 0)
        t = NULL;
    fs_open_put(c, t, ino);
    fuse_reply_err(req, 0);
}

void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
                 struct fuse_file_info *fi)
{
    store_tenant *t;
    uint64_t local;
    int err;

    (void)datasync;
    (void)fi;
    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err == 0)
        err = fs_errno(store_tenant_sync(t));
    fuse_reply_err(req, err);
}

/* Only mode 0 is supported: it guarantees that the range can be written,
 * which for a sparse store means extending the size when the range ends
 * beyond it.  Space is not reserved (no quota or block allocation yet). */
void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
                     off_t length, struct fuse_file_info *fi)
{
    struct store_attr a, in;
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local, end;
    unsigned mask = 0;
    int err;

    (void)fi;
    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino)) {
        err = EROFS;
        goto out;
    }
    if (mode != 0) {
        err = EOPNOTSUPP;
        goto out;
    }
    if (offset < 0 || length <= 0) {
        err = EINVAL;
        goto out;
    }
    end = (uint64_t)offset + (uint64_t)length;
    if (end > STORE_FILE_MAX) {
        err = EFBIG;
        goto out;
    }
    err = fs_ino_resolve(fs_ctx_of(req), ino, &t, &local);
    if (err == 0)
        err = fs_errno(store_getattr(t, local, &a));
    if (err == 0 && S_ISDIR(a.mode))
        err = EISDIR;
    else if (err == 0 && !S_ISREG(a.mode))
        err = ENODEV;
    if (err != 0)
        goto out;
    memset(&in, 0, sizeof(in));
    /* The kernel leaves killing privileges to us (fs_io.c) and says
     * nothing of the caller's CAP_FSETID here: uid 0 stands for it. */
    if (!fs_cred_is_root(&cr) &&
        (in.mode = fs_perm_killed_mode(&cr, &a, true)) != a.mode)
        mask |= STORE_SET_MODE;
    if (end > a.size) {
        /* Grow-only: the size read above may be stale by now (a write
         * past it, e.g. the kernel's writeback, may have landed), and a
         * plain size change would cut that write off. */
        in.size = end;
        clock_gettime(CLOCK_REALTIME, &in.mtime);
        mask |= STORE_SET_SIZE | STORE_SET_SIZE_GROW | STORE_SET_MTIME;
    }
    if (mask != 0)
        err = fs_errno(store_setattr(t, local, &in, mask, &a));
    if (err == 0 && (mask & STORE_SET_MODE))
        fs_attr_changed_behind(req, ino);
out:
    fuse_reply_err(req, err);
}
