/*
 * fs_dir_ops.c - FUSE operations on names and folders: lookup, creating and
 * removing nodes, rename, link, readlink and folder listings.
 *
 * The mount root is handled here explicitly: its entries are the tenants
 * (store_tenant_each) the caller may search (the others are absent), names
 * starting with '.' are reserved (ENOENT).  Only root adds or removes
 * tenants through the filesystem: mkdir of a name at the mount root adds a
 * tenant owned by the caller with the mkdir mode, rmdir removes an empty
 * one (fs_tenant.c); for anyone else both are EACCES.  Nothing else is
 * created, removed, renamed or linked there (EPERM).  Below the root every
 * call is the daemon's permission check (fs_perm.c) and one store call on
 * the tenant the inode number names; two inodes of different tenants never
 * meet in one call (EXDEV).  MOUNT/.snapshots (fs_snapview.c) is looked
 * up and listed through fs_snapview.c and is read-only: every change
 * naming anything in it, a rename or link from or into it too, is EROFS,
 * decided before any other check (so never EXDEV or EACCES from us).
 *
 * Listing offsets: 1 and 2 are "." and ".."; after that the offset of an
 * entry is the store's cookie (at least 3), and a listing resumes after it.
 * At the root the offset of a tenant is its id + 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* ===================================================================== */
/* Lookup and node creation                                              */
/* ===================================================================== */

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fuse_entry_param e;
    struct store_attr a;
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_snap_virtual(parent) ||
        (fs_ino_is_root(parent) && strcmp(name, FS_SNAPDIR_NAME) == 0)) {
        err = fs_snap_lookup(c, &cr, parent, name, &e);
        goto out;
    }
    if (fs_ino_is_root(parent)) {
        err = fs_root_lookup(c, &cr, name, &e);
        goto out;
    }
    err = fs_perm_resolve(c, &cr, parent, &t, &local);
    if (err == 0)
        err = fs_perm_lookup_dir(&cr, t, local);
    if (err != 0)
        goto out;               /* no negative entry for a hidden folder */
    err = fs_errno(store_lookup(t, local, name, strlen(name), &a));
    if (err == 0) {
        fs_attr_to_entry(fs_ino_tenant(parent), &a, &e);
    } else if (err == ENOENT) {
        /* We are the only writer below the root: let the kernel cache the
         * absence for as long as it caches an entry (ino 0 = negative). */
        memset(&e, 0, sizeof(e));
        e.entry_timeout = FS_TIMEOUT;
        err = 0;
    }
out:
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_entry(req, &e);
}

int fs_node_make(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode, const char *target, struct fuse_entry_param *e)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_attr pa, a;
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    uint32_t gid;
    size_t tlen = target != NULL ? strlen(target) : 0;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(parent))
        return EROFS;
    if (fs_ino_is_root(parent))
        return fs_root_change_err(&cr);
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return EPERM;           /* docs/semantics.md: no device nodes */
    gid = cr.gid;
    err = fs_perm_resolve(c, &cr, parent, &t, &local);
    if (err != 0)
        return err;
    err = fs_errno(store_getattr(t, local, &pa));
    if (err != 0)
        return err;
    if (!S_ISDIR(pa.mode))
        return ENOTDIR;
    err = fs_perm_attr(&cr, &pa, FS_MAY_WRITE | FS_MAY_EXEC);
    if (err != 0)
        return err;
    if (pa.mode & S_ISGID) {
        gid = pa.gid;           /* BSD group semantics under a setgid folder */
        if (S_ISDIR(mode))
            mode |= S_ISGID;
    }
    err = fs_errno(store_mknod(t, local, name, strlen(name), mode, cr.uid,
                               gid, target, tlen, &a));
    if (err != 0)
        return err;
    fs_attr_to_entry(fs_ino_tenant(parent), &a, e);
    return 0;
}

static void fs_node_reply(fuse_req_t req, fuse_ino_t parent, const char *name,
                          mode_t mode, const char *target)
{
    struct fuse_entry_param e;
    int err = fs_node_make(req, parent, name, mode, target, &e);

    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_entry(req, &e);
}

void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode, dev_t rdev)
{
    (void)rdev;
    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;
    fs_node_reply(req, parent, name, mode, NULL);
}

/* mkdir at the mount root: root adds a tenant, owned by the caller. */
static void fs_root_mkdir(fuse_req_t req, const char *name, mode_t mode)
{
    struct fuse_entry_param e;
    struct fs_cred cr;
    int err;

    fs_cred_init(&cr, req);
    if (!fs_cred_is_root(&cr))
        err = EACCES;
    else
        err = fs_tenant_add(fs_ctx_of(req), name, cr.uid, cr.gid,
                            mode & 07777, &e);
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_entry(req, &e);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode)
{
    if (fs_ino_is_root(parent))
        fs_root_mkdir(req, name, mode);
    else
        fs_node_reply(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                   const char *name)
{
    if (strlen(link) > STORE_SYMLINK_MAX) {
        fuse_reply_err(req, ENAMETOOLONG);
        return;
    }
    fs_node_reply(req, parent, name, S_IFLNK | 0777, link);
}

void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    char buf[STORE_SYMLINK_MAX + 1];
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    size_t len = 0;
    int err;

    fs_cred_init(&cr, req);
    err = fs_perm_resolve(fs_ctx_of(req), &cr, ino, &t, &local);
    if (err == EPERM)
        err = EINVAL;           /* the mount root is no symlink */
    if (err == 0)
        err = fs_errno(store_readlink(t, local, buf, sizeof(buf) - 1, &len));
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    buf[len] = '\0';
    fuse_reply_readlink(req, buf);
}

/* ===================================================================== */
/* Removal, rename and link                                              */
/* ===================================================================== */

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local, orphan = 0;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(parent)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (fs_ino_is_root(parent)) {
        fuse_reply_err(req, fs_root_change_err(&cr));
        return;
    }
    err = fs_perm_resolve(c, &cr, parent, &t, &local);
    if (err == 0)
        err = fs_perm_remove(&cr, t, local, name, false);
    if (err == 0)
        err = fs_errno(store_unlink(t, local, name, strlen(name), &orphan));
    if (err == 0)
        fs_orphan_note(c, fs_ino_tenant(parent), t, orphan);
    fuse_reply_err(req, err);
}

void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local, orphan = 0;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(parent) ||
        (fs_ino_is_root(parent) && strcmp(name, FS_SNAPDIR_NAME) == 0)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (fs_ino_is_root(parent)) {
        /* Root removes an empty tenant; the kernel forgets the name. */
        if (!fs_cred_is_root(&cr))
            err = EACCES;
        else
            err = fs_tenant_remove(c, name, true);
        fuse_reply_err(req, err);
        return;
    }
    err = fs_perm_resolve(c, &cr, parent, &t, &local);
    if (err == 0)
        err = fs_perm_remove(&cr, t, local, name, false);
    if (err == 0)
        err = fs_errno(store_rmdir(t, local, name, strlen(name), &orphan));
    if (err == 0)
        fs_orphan_note(c, fs_ino_tenant(parent), t, orphan);
    fuse_reply_err(req, err);
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                  fuse_ino_t newparent, const char *newname, unsigned flags)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fs_cred cr;
    store_tenant *t, *nt;
    uint64_t local, newlocal, orphan = 0;
    unsigned sflags = 0;
    int err = 0;

    fs_cred_init(&cr, req);
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        err = EINVAL;           /* RENAME_WHITEOUT and anything newer */
    else if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
        err = EINVAL;
    else if (fs_ino_in_snapview(parent) || fs_ino_in_snapview(newparent) ||
             (fs_ino_is_root(parent) && strcmp(name, FS_SNAPDIR_NAME) == 0) ||
             (fs_ino_is_root(newparent) &&
              strcmp(newname, FS_SNAPDIR_NAME) == 0))
        err = EROFS;            /* before EXDEV: into or out of the view */
    else if (fs_ino_is_root(parent) || fs_ino_is_root(newparent))
        err = fs_root_change_err(&cr);
    else if (fs_ino_tenant(parent) != fs_ino_tenant(newparent))
        err = EXDEV;
    if (err != 0)
        goto out;
    if (flags & RENAME_NOREPLACE)
        sflags |= STORE_RENAME_NOREPLACE;
    if (flags & RENAME_EXCHANGE)
        sflags |= STORE_RENAME_EXCHANGE;
    err = fs_perm_resolve(c, &cr, parent, &t, &local);
    if (err == 0)
        err = fs_ino_resolve(c, newparent, &nt, &newlocal);
    if (err == 0)
        err = fs_perm_rename(&cr, t, local, name, newlocal, newname,
                             (flags & RENAME_EXCHANGE) != 0);
    if (err == 0)
        err = fs_errno(store_rename(t, local, name, strlen(name), newlocal,
                                    newname, strlen(newname), sflags,
                                    &orphan));
    if (err == 0)
        fs_orphan_note(c, fs_ino_tenant(parent), t, orphan);
out:
    fuse_reply_err(req, err);
}

void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                const char *newname)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fuse_entry_param e;
    struct store_attr a, pa;
    struct fs_cred cr;
    store_tenant *t, *nt;
    uint64_t local, newlocal;
    int err;

    fs_cred_init(&cr, req);
    if (fs_ino_in_snapview(ino) || fs_ino_in_snapview(newparent)) {
        err = EROFS;            /* before EXDEV: into or out of the view */
        goto out;
    }
    if (fs_ino_is_root(ino) || fs_ino_is_root(newparent)) {
        err = fs_ino_is_root(newparent) ? fs_root_change_err(&cr) : EPERM;
        goto out;
    }
    if (fs_ino_tenant(ino) != fs_ino_tenant(newparent)) {
        err = EXDEV;
        goto out;
    }
    err = fs_perm_resolve(c, &cr, ino, &t, &local);
    if (err == 0)
        err = fs_ino_resolve(c, newparent, &nt, &newlocal);
    if (err == 0)
        err = fs_perm_dir_attr(&cr, t, newlocal, FS_MAY_WRITE | FS_MAY_EXEC,
                               &pa);
    if (err == 0)
        err = fs_perm_link_source(&cr, t, local);
    if (err == 0)
        err = fs_errno(store_link(t, local, newlocal, newname,
                                  strlen(newname), &a));
    if (err == 0)
        fs_attr_to_entry(fs_ino_tenant(ino), &a, &e);
out:
    if (err != 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_entry(req, &e);
}

/* ===================================================================== */
/* Listings                                                              */
/* ===================================================================== */

int fs_dirbuf_add(struct fs_dirbuf *d, const char *name, const struct stat *st,
                  bool counted, double entry_timeout, off_t next)
{
    size_t n;

    if (d->plus) {
        struct fuse_entry_param e;

        memset(&e, 0, sizeof(e));
        e.attr = *st;
        if (counted) {
            e.ino = st->st_ino;
            e.attr_timeout = FS_TIMEOUT;
            e.entry_timeout = entry_timeout;
        }
        n = fuse_add_direntry_plus(d->req, d->buf + d->used,
                                   d->size - d->used, name, &e, next);
    } else {
        n = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used,
                              name, st, next);
    }
    if (n > d->size - d->used)
        return 1;
    d->used += n;
    return 0;
}

static int fs_dirbuf_store_fn(const char *name, size_t len,
                              const struct store_attr *a, uint64_t cookie,
                              void *arg)
{
    struct fs_dirbuf *d = arg;
    char nm[STORE_NAME_MAX + 1];
    struct stat st;

    if (len > STORE_NAME_MAX)
        len = STORE_NAME_MAX;
    memcpy(nm, name, len);
    nm[len] = '\0';
    if (d->plus) {
        fs_attr_to_stat(d->tid, a, &st);
    } else {
        memset(&st, 0, sizeof(st));
        st.st_ino = fs_ino_make(d->tid, a->ino);
        st.st_mode = a->mode & S_IFMT;
    }
    return fs_dirbuf_add(d, nm, &st, true, FS_TIMEOUT, (off_t)cookie);
}

/* Root listing: a tenant's offset is its id + 2.  Tenants the caller may
 * not search are left out (their offsets are simply skipped). */
struct fs_rootlist {
    struct fs_dirbuf *d;
    struct fs_ctx *c;
    struct fs_cred *cr;
    off_t after;
};

static int fs_dirbuf_tenant_fn(const struct store_tenant_info *info, void *arg)
{
    struct fs_rootlist *r = arg;
    struct fuse_entry_param e;
    struct stat st;
    off_t off = (off_t)(info->id + 2);

    if (off <= r->after || !fs_perm_tenant_visible(r->cr, info))
        return 0;
    if (r->d->plus) {
        if (fs_root_entry(r->c, info->id, &e) != 0)
            return 0;           /* vanished or unreadable: skip it */
        st = e.attr;
    } else {
        memset(&e, 0, sizeof(e));
        memset(&st, 0, sizeof(st));
        st.st_ino = fs_ino_make(fs_tid_now(r->c, info->id), STORE_ROOT_INO);
        st.st_mode = S_IFDIR;
    }
    return fs_dirbuf_add(r->d, info->name, &st, true, e.entry_timeout, off);
}

/* fi->fh of a folder opened by fs_op_opendir, which passed the tenant gate
 * and the r check: listing through it is not checked again (an open
 * folder descriptor keeps working after the tenant is closed, as any open
 * descriptor does). */
#define FS_DIR_OPENED 1u
#define FS_DIR_COUNTED 2u      /* in the open-file table (a tenant folder) */

static void fs_dir_list(fuse_req_t req, fuse_ino_t ino, size_t size,
                        off_t off, bool plus, const struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct fs_dirbuf d = { .req = req, .size = size, .plus = plus };
    struct fs_cred cr;
    struct stat st;
    store_tenant *t = NULL;
    uint64_t local = 0;
    int err = 0;

    fs_cred_init(&cr, req);
    d.buf = malloc(size > 0 ? size : 1);
    if (d.buf == NULL) {
        err = ENOMEM;
        goto out;
    }
    if (!fs_ino_is_root(ino) && !fs_ino_snap_virtual(ino)) {
        if (fi != NULL && (fi->fh & FS_DIR_OPENED))
            err = fs_ino_resolve(c, ino, &t, &local);
        else
            err = fs_perm_resolve(c, &cr, ino, &t, &local);
        if (err != 0)
            goto out;
        d.tid = fs_ino_tenant(ino);
    }
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFDIR;
    if (off < 1) {
        st.st_ino = ino;
        if (fs_dirbuf_add(&d, ".", &st, false, 0, 1))
            goto out;
        off = 1;
    }
    if (off < 2) {
        /* A tenant's root folder sits in the mount root, a snapshot's
         * tenant's in .snapshots/NAME, which sits in .snapshots. */
        st.st_ino = FUSE_ROOT_ID;
        if (fs_tid_is_snap(fs_ino_tenant(ino)) && local == STORE_ROOT_INO)
            st.st_ino = fs_snap_parent(c, fs_ino_tenant(ino));
        else if (fs_ino_snap_virtual(ino) &&
                 ino != fs_ino_make(0, FS_SNAPDIR_LOCAL))
            st.st_ino = fs_ino_make(0, FS_SNAPDIR_LOCAL);
        if (t != NULL && local != STORE_ROOT_INO) {
            struct store_attr a;

            err = fs_errno(store_getattr(t, local, &a));
            if (err != 0)
                goto out;
            st.st_ino = fs_ino_make(d.tid, a.parent);
        }
        if (fs_dirbuf_add(&d, "..", &st, false, 0, 2))
            goto out;
        off = 2;
    }
    if (fs_ino_snap_virtual(ino)) {
        err = fs_snap_list(c, &cr, ino, &d, off);
    } else if (t == NULL) {
        struct fs_rootlist r = { .d = &d, .c = c, .cr = &cr, .after = off };

        err = fs_errno(store_tenant_each(c->store, fs_dirbuf_tenant_fn, &r));
    } else {
        err = fs_errno(store_readdir(t, local, off >= 3 ? (uint64_t)off : 0,
                                     plus, fs_dirbuf_store_fn, &d));
    }
out:
    /* Entries already in the buffer are worth more than a late error. */
    if (err != 0 && d.used == 0)
        fuse_reply_err(req, err);
    else
        fuse_reply_buf(req, d.buf, d.used);
    free(d.buf);
}

/* A tenant folder's handle is counted in the open-file table, like a
 * file's: a folder removed while open stays (an orphan) until its last
 * handle goes, so fstat, fchmod and listing keep working on it. */
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    struct store_attr a;
    struct fs_cred cr;
    store_tenant *t = NULL;
    uint64_t local;
    int err = 0;

    fs_cred_init(&cr, req);
    if (fs_ino_snap_virtual(ino)) {
        struct stat st;
        double timeout;

        err = fs_snap_stat(c, ino, &st, &timeout);   /* 0555: all may list */
    } else if (!fs_ino_is_root(ino)) {
        err = fs_perm_resolve(c, &cr, ino, &t, &local);
        if (err == 0)
            err = fs_errno(store_getattr(t, local, &a));
        if (err == 0 && !S_ISDIR(a.mode))
            err = ENOTDIR;
        if (err == 0)
            err = fs_perm_attr(&cr, &a, FS_MAY_READ);
        if (err == 0)
            err = fs_open_register(c, t, ino, local, true);
    }
    if (err != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fi->fh = FS_DIR_OPENED | (t != NULL ? FS_DIR_COUNTED : 0);
    if (fuse_reply_open(req, fi) != 0 && t != NULL)
        fs_open_put(c, t, ino);     /* interrupted: no release will come */
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    fs_dir_list(req, ino, size, off, false, fi);
}

void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    fs_dir_list(req, ino, size, off, true, fi);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_of(req);
    store_tenant *t = NULL;
    uint64_t local;

    if (fi != NULL && (fi->fh & FS_DIR_COUNTED)) {
        if (fs_ino_resolve(c, ino, &t, &local) != 0)
            t = NULL;              /* its tenant was removed meanwhile */
        fs_open_put(c, t, ino);
    }
    fuse_reply_err(req, 0);
}

void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                    struct fuse_file_info *fi)
{
    struct fs_cred cr;
    store_tenant *t;
    uint64_t local;
    int err;

    (void)datasync;
    (void)fi;
    if (fs_ino_is_root(ino)) {
        fs_reply_store_err(req, store_sync(fs_ctx_of(req)->store));
        return;
    }
    if (fs_ino_snap_virtual(ino)) {
        fuse_reply_err(req, 0);     /* nothing of ours to write */
        return;
    }
    fs_cred_init(&cr, req);
    err = fs_perm_resolve(fs_ctx_of(req), &cr, ino, &t, &local);
    if (err == 0)
        err = fs_errno(store_tenant_sync(t));
    fuse_reply_err(req, err);
}
