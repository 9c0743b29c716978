/*
 * fs_requests.c - the FUSE operation table: the session callbacks (init,
 * destroy, forget), and for every request kind a wrapper that counts the
 * request, then hands it to its handler (fs_attr_ops.c, fs_dir_ops.c,
 * fs_file_ops.c).  The counts are what `tenantctl stats` shows as FUSE
 * requests served, through the admin socket (fs_admin.c), and what the
 * per-operation cost tests bound (tests/integration/test_costs.py).
 */
#include <stdatomic.h>

#include "fs.h"

static const char *const fs_req_names[FS_REQ_COUNT] = {
    [FS_REQ_LOOKUP] = "lookup",
    [FS_REQ_FORGET] = "forget",
    [FS_REQ_FORGET_MULTI] = "forget_multi",
    [FS_REQ_GETATTR] = "getattr",
    [FS_REQ_SETATTR] = "setattr",
    [FS_REQ_READLINK] = "readlink",
    [FS_REQ_MKNOD] = "mknod",
    [FS_REQ_MKDIR] = "mkdir",
    [FS_REQ_UNLINK] = "unlink",
    [FS_REQ_RMDIR] = "rmdir",
    [FS_REQ_SYMLINK] = "symlink",
    [FS_REQ_RENAME] = "rename",
    [FS_REQ_LINK] = "link",
    [FS_REQ_OPEN] = "open",
    [FS_REQ_READ] = "read",
    [FS_REQ_WRITE] = "write",
    [FS_REQ_FLUSH] = "flush",
    [FS_REQ_RELEASE] = "release",
    [FS_REQ_FSYNC] = "fsync",
    [FS_REQ_OPENDIR] = "opendir",
    [FS_REQ_READDIR] = "readdir",
    [FS_REQ_READDIRPLUS] = "readdirplus",
    [FS_REQ_RELEASEDIR] = "releasedir",
    [FS_REQ_FSYNCDIR] = "fsyncdir",
    [FS_REQ_STATFS] = "statfs",
    [FS_REQ_SETXATTR] = "setxattr",
    [FS_REQ_GETXATTR] = "getxattr",
    [FS_REQ_LISTXATTR] = "listxattr",
    [FS_REQ_REMOVEXATTR] = "removexattr",
    [FS_REQ_CREATE] = "create",
    [FS_REQ_FALLOCATE] = "fallocate",
};

static void fs_count(fuse_req_t req, enum fs_req_kind k)
{
    atomic_fetch_add_explicit(&fs_ctx_of(req)->requests[k], 1,
                              memory_order_relaxed);
}

const char *fs_req_name(enum fs_req_kind k)
{
    return (unsigned)k < FS_REQ_COUNT ? fs_req_names[k] : NULL;
}

uint64_t fs_req_count(struct fs_ctx *c, enum fs_req_kind k)
{
    return (unsigned)k < FS_REQ_COUNT
               ? atomic_load_explicit(&c->requests[k], memory_order_relaxed)
               : 0;
}

/* ===================================================================== */
/* Session callbacks                                                     */
/* ===================================================================== */

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
        conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    /* Every op is one store transaction: lookups and creations in one
     * folder may run concurrently. */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* A symlink's target never changes once made. */
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    /* Not the first version of killing privileges in the daemon: the
     * second (FUSE_HANDLE_KILLPRIV_V2), which lets the kernel skip its
     * security.capability check before writes, is asked by fs_io.c. */
    conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
}

static void fs_op_destroy(void *userdata)
{
    struct fs_ctx *c = userdata;

    if (c != NULL && c->store != NULL)
        (void)!store_sync(c->store);
}

static void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    (void)ino;
    (void)nlookup;
    fuse_reply_none(req);       /* inode numbers need no table */
}

static void fs_op_forget_multi(fuse_req_t req, size_t count,
                               struct fuse_forget_data *forgets)
{
    (void)count;
    (void)forgets;
    fuse_reply_none(req);
}

/* ===================================================================== */
/* Counting wrappers                                                     */
/* ===================================================================== */

static void req_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_count(req, FS_REQ_LOOKUP);
    fs_op_lookup(req, parent, name);
}

static void req_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    fs_count(req, FS_REQ_FORGET);
    fs_op_forget(req, ino, nlookup);
}

static void req_forget_multi(fuse_req_t req, size_t count,
                             struct fuse_forget_data *forgets)
{
    fs_count(req, FS_REQ_FORGET_MULTI);
    fs_op_forget_multi(req, count, forgets);
}

static void req_getattr(fuse_req_t req, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_GETATTR);
    fs_op_getattr(req, ino, fi);
}

static void req_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                        int to_set, struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_SETATTR);
    fs_op_setattr(req, ino, attr, to_set, fi);
}

static void req_readlink(fuse_req_t req, fuse_ino_t ino)
{
    fs_count(req, FS_REQ_READLINK);
    fs_op_readlink(req, ino);
}

static void req_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                      mode_t mode, dev_t rdev)
{
    fs_count(req, FS_REQ_MKNOD);
    fs_op_mknod(req, parent, name, mode, rdev);
}

static void req_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                      mode_t mode)
{
    fs_count(req, FS_REQ_MKDIR);
    fs_op_mkdir(req, parent, name, mode);
}

static void req_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_count(req, FS_REQ_UNLINK);
    fs_op_unlink(req, parent, name);
}

static void req_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fs_count(req, FS_REQ_RMDIR);
    fs_op_rmdir(req, parent, name);
}

static void req_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                        const char *name)
{
    fs_count(req, FS_REQ_SYMLINK);
    fs_op_symlink(req, link, parent, name);
}

static void req_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                       fuse_ino_t newparent, const char *newname,
                       unsigned flags)
{
    fs_count(req, FS_REQ_RENAME);
    fs_op_rename(req, parent, name, newparent, newname, flags);
}

static void req_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                     const char *newname)
{
    fs_count(req, FS_REQ_LINK);
    fs_op_link(req, ino, newparent, newname);
}

static void req_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_OPEN);
    fs_op_open(req, ino, fi);
}

static void req_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_READ);
    fs_op_read(req, ino, size, off, fi);
}

static void req_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                      size_t size, off_t off, struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_WRITE);
    fs_op_write(req, ino, buf, size, off, fi);
}

static void req_flush(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_FLUSH);
    fs_op_flush(req, ino, fi);
}

static void req_release(fuse_req_t req, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_RELEASE);
    fs_op_release(req, ino, fi);
}

static void req_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
                      struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_FSYNC);
    fs_op_fsync(req, ino, datasync, fi);
}

static void req_opendir(fuse_req_t req, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_OPENDIR);
    fs_op_opendir(req, ino, fi);
}

static void req_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_READDIR);
    fs_op_readdir(req, ino, size, off, fi);
}

static void req_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
                            off_t off, struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_READDIRPLUS);
    fs_op_readdirplus(req, ino, size, off, fi);
}

static void req_releasedir(fuse_req_t req, fuse_ino_t ino,
                           struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_RELEASEDIR);
    fs_op_releasedir(req, ino, fi);
}

static void req_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                         struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_FSYNCDIR);
    fs_op_fsyncdir(req, ino, datasync, fi);
}

static void req_statfs(fuse_req_t req, fuse_ino_t ino)
{
    fs_count(req, FS_REQ_STATFS);
    fs_op_statfs(req, ino);
}

static void req_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                         const char *value, size_t size, int flags)
{
    fs_count(req, FS_REQ_SETXATTR);
    fs_op_setxattr(req, ino, name, value, size, flags);
}

static void req_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                         size_t size)
{
    fs_count(req, FS_REQ_GETXATTR);
    fs_op_getxattr(req, ino, name, size);
}

static void req_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    fs_count(req, FS_REQ_LISTXATTR);
    fs_op_listxattr(req, ino, size);
}

static void req_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    fs_count(req, FS_REQ_REMOVEXATTR);
    fs_op_removexattr(req, ino, name);
}

static void req_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                       mode_t mode, struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_CREATE);
    fs_op_create(req, parent, name, mode, fi);
}

static void req_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
                          off_t offset, off_t length,
                          struct fuse_file_info *fi)
{
    fs_count(req, FS_REQ_FALLOCATE);
    fs_op_fallocate(req, ino, mode, offset, length, fi);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init         = fs_op_init,
    .destroy      = fs_op_destroy,
    .lookup       = req_lookup,
    .forget       = req_forget,
    .forget_multi = req_forget_multi,
    .getattr      = req_getattr,
    .setattr      = req_setattr,
    .readlink     = req_readlink,
    .mknod        = req_mknod,
    .mkdir        = req_mkdir,
    .unlink       = req_unlink,
    .rmdir        = req_rmdir,
    .symlink      = req_symlink,
    .rename       = req_rename,
    .link         = req_link,
    .open         = req_open,
    .read         = req_read,
    .write        = req_write,
    .flush        = req_flush,
    .release      = req_release,
    .fsync        = req_fsync,
    .opendir      = req_opendir,
    .readdir      = req_readdir,
    .readdirplus  = req_readdirplus,
    .releasedir   = req_releasedir,
    .fsyncdir     = req_fsyncdir,
    .statfs       = req_statfs,
    .setxattr     = req_setxattr,
    .getxattr     = req_getxattr,
    .listxattr    = req_listxattr,
    .removexattr  = req_removexattr,
    .create       = req_create,
    .fallocate    = req_fallocate,
};
