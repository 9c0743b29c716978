/*
 * fs_perm.c - the daemon's own permission checks.
 *
 * The kernel checks the mode bits too (the mount has default_permissions,
 * so that it may cache names in every folder: docs/permissions.md), but
 * the daemon does not rely on it: this file checks every request with the
 * caller's uid, gid and supplementary groups, so that nothing (an inode
 * number reached some other way, a snapshot's folder) gives access to
 * what the mode bits refuse.  The rules are the kernel's (generic_permission, may_delete,
 * setattr_prepare, xattr_permission, may_linkat), so a caller the kernel
 * would let through is never refused here:
 *
 *   - uid 0 passes every check, and costs nothing: no store read, no
 *     /proc read;
 *   - the owner's bits apply to the owner, the group's bits to members of
 *     the file's group (primary or supplementary), the other bits to the
 *     rest, even when they would grant more;
 *   - every op that names a tenant inode first passes the tenant gate:
 *     search (x) permission on the tenant's folder, whose owner, group and
 *     mode come from the registry (store_tenant_info_get, from memory).
 *     Ops on an open handle (read, write, fsync, release, fallocate, the
 *     listing of an open folder) are not checked again: an open descriptor
 *     keeps working.  Nor are the ops the kernel sends for fstat(),
 *     flistxattr() and fgetxattr() on a descriptor, which it cannot tell
 *     from their path forms: getattr, listxattr and getxattr skip the gate
 *     (fs_perm_resolve_held), which costs nothing, since reaching an inode
 *     inside a tenant by path takes a lookup through the tenant's folder,
 *     and that lookup is gated (and is not cached by the kernel for a
 *     tenant that not everyone may search); only the tenant's folder
 *     itself stays hidden (ENOENT) from a caller who may not see it.
 *     A tenant of a snapshot (MOUNT/.snapshots/NAME/TENANT, fs_snapview.c)
 *     has the same gate: its handle's store_tenant_info_get() gives the
 *     live folder's owner, group and mode, so whoever may not enter the
 *     tenant now may not enter its past either.
 *
 * Supplementary groups are not in the FUSE request: fuse_req_getgroups()
 * parses /proc/TID/task/TID/status, which is slow, so it is called only
 * when the answer depends on membership (the caller is neither the owner
 * nor in the file's group as its primary group, and the group bits and the
 * other bits disagree on the request), and at most once per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* ===================================================================== */
/* The caller                                                            */
/* ===================================================================== */

void fs_cred_init(struct fs_cred *cr, fuse_req_t req)
{
    const struct fuse_ctx *who = fuse_req_ctx(req);

    cr->req = req;
    cr->uid = who->uid;
    cr->gid = who->gid;
    cr->ngroups = -1;
}

/* Is `gid` one of the caller's groups? */
static bool fs_cred_in_group(struct fs_cred *cr, gid_t gid)
{
    gid_t *big;
    bool found = false;
    int n;

    if (gid == cr->gid)
        return true;
    if (cr->ngroups < 0) {
        n = fuse_req_getgroups(cr->req, FS_CRED_GROUPS, cr->groups);
        cr->ngroups = n < 0 ? 0 : n;    /* caller gone: no extra groups */
    }
    if (cr->ngroups <= FS_CRED_GROUPS) {
        for (int i = 0; i < cr->ngroups; i++)
            if (cr->groups[i] == gid)
                return true;
        return false;
    }
    /* More groups than fit: read them all, for this question only. */
    big = malloc((size_t)cr->ngroups * sizeof(*big));
    if (big == NULL)
        return false;
    n = fuse_req_getgroups(cr->req, cr->ngroups, big);
    if (n > cr->ngroups)
        n = cr->ngroups;
    for (int i = 0; i < n && !found; i++)
        found = big[i] == gid;
    free(big);
    return found;
}

/* ===================================================================== */
/* Mode bits                                                             */
/* ===================================================================== */

int fs_perm_mode(struct fs_cred *cr, uint32_t uid, uint32_t gid,
                 uint32_t mode, unsigned want)
{
    unsigned grp, oth;
    bool gok, ook;

    if (fs_cred_is_root(cr))
        return 0;
    if (cr->uid == uid)
        return (((mode >> 6) & 7u) & want) == want ? 0 : EACCES;
    grp = (mode >> 3) & 7u;
    oth = mode & 7u;
    gok = (grp & want) == want;
    ook = (oth & want) == want;
    if (gok == ook)             /* membership cannot change the answer */
        return gok ? 0 : EACCES;
    if (fs_cred_in_group(cr, gid))
        return gok ? 0 : EACCES;
    return ook ? 0 : EACCES;
}

int fs_perm_attr(struct fs_cred *cr, const struct store_attr *a,
                 unsigned want)
{
    return fs_perm_mode(cr, a->uid, a->gid, a->mode, want);
}

/* ===================================================================== */
/* Tenants                                                               */
/* ===================================================================== */

bool fs_perm_tenant_visible(struct fs_cred *cr,
                            const struct store_tenant_info *info)
{
    return fs_perm_mode(cr, info->uid, info->gid, info->mode,
                        FS_MAY_EXEC) == 0;
}

int fs_perm_tenant(struct fs_cred *cr, store_tenant *t)
{
    struct store_tenant_info info;

    if (fs_cred_is_root(cr))
        return 0;
    store_tenant_info_get(t, &info);
    return fs_perm_tenant_visible(cr, &info) ? 0 : EACCES;
}

int fs_perm_resolve(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                    store_tenant **t, uint64_t *local)
{
    int err = fs_ino_resolve(c, ino, t, local);

    if (err != 0)
        return err;
    err = fs_perm_tenant(cr, *t);
    /* The tenant's own folder, reached through an entry the kernel cached
     * before the tenant was closed to this caller: hidden (ENOENT), as at
     * the mount root, rather than EACCES, which would tell it exists. */
    if (err == EACCES && *local == STORE_ROOT_INO)
        err = ENOENT;
    return err;
}

int fs_perm_resolve_held(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                         store_tenant **t, uint64_t *local)
{
    int err = fs_ino_resolve(c, ino, t, local);

    /* The tenant's own folder: its entry at the mount root may be one the
     * kernel cached before the tenant was closed to this caller; answering
     * would tell them it exists. */
    if (err == 0 && *local == STORE_ROOT_INO && fs_perm_tenant(cr, *t) != 0)
        err = ENOENT;
    return err;
}

int fs_perm_dir_attr(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                     unsigned want, struct store_attr *a)
{
    int err = fs_errno(store_getattr(t, dir, a));

    if (err == 0 && !S_ISDIR(a->mode))
        err = ENOTDIR;
    if (err == 0)
        err = fs_perm_attr(cr, a, want);
    return err;
}

int fs_perm_lookup_dir(struct fs_cred *cr, store_tenant *t, uint64_t dir)
{
    struct store_attr a;

    if (dir == STORE_ROOT_INO)      /* the gate checked search */
        return 0;
    return fs_perm_dir_attr(cr, t, dir, FS_MAY_EXEC, &a);
}

/* ===================================================================== */
/* Removal: the sticky bit                                               */
/* ===================================================================== */

int fs_perm_sticky(struct fs_cred *cr, const struct store_attr *dir,
                   const struct store_attr *victim)
{
    if (fs_cred_is_root(cr) || !(dir->mode & S_ISVTX))
        return 0;
    if (cr->uid == dir->uid || cr->uid == victim->uid)
        return 0;
    return EPERM;
}

int fs_perm_remove(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                   const char *name, bool dir_moves)
{
    struct store_attr d, v;
    int err;

    if (fs_cred_is_root(cr))
        return 0;
    err = fs_errno(store_getattr(t, dir, &d));
    if (err == 0 && !S_ISDIR(d.mode))
        err = ENOTDIR;
    if (err == 0)
        err = fs_perm_attr(cr, &d, FS_MAY_WRITE | FS_MAY_EXEC);
    if (err != 0)
        return err;
    if (!dir_moves && (!(d.mode & S_ISVTX) || cr->uid == d.uid))
        return 0;               /* no need to know who owns the victim */
    err = fs_errno(store_lookup(t, dir, name, strlen(name), &v));
    if (err != 0)
        return err;
    err = fs_perm_sticky(cr, &d, &v);
    /* A folder that changes parent rewrites its "..": w on it too. */
    if (err == 0 && dir_moves && S_ISDIR(v.mode))
        err = fs_perm_attr(cr, &v, FS_MAY_WRITE);
    return err;
}

int fs_perm_rename(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                   const char *name, uint64_t newdir, const char *newname,
                   bool exchange)
{
    bool moves = dir != newdir;
    struct store_attr nd, v;
    int err;

    if (fs_cred_is_root(cr))
        return 0;
    err = fs_perm_remove(cr, t, dir, name, moves);
    if (err != 0)
        return err;
    if (exchange)               /* the target moves the other way */
        return fs_perm_remove(cr, t, newdir, newname, moves);
    err = fs_errno(store_getattr(t, newdir, &nd));
    if (err == 0 && !S_ISDIR(nd.mode))
        err = ENOTDIR;
    if (err == 0 && moves)      /* same folder: checked just above */
        err = fs_perm_attr(cr, &nd, FS_MAY_WRITE | FS_MAY_EXEC);
    if (err != 0 || !(nd.mode & S_ISVTX) || cr->uid == nd.uid)
        return err;
    /* A target that will be replaced must be ours to remove. */
    err = fs_errno(store_lookup(t, newdir, newname, strlen(newname), &v));
    if (err == ENOENT)
        return 0;
    return err != 0 ? err : fs_perm_sticky(cr, &nd, &v);
}

/* ===================================================================== */
/* Opening, attributes, extended attributes                              */
/* ===================================================================== */

int fs_perm_open(struct fs_cred *cr, const struct store_attr *a, int flags)
{
    unsigned want;

    if (fs_cred_is_root(cr))
        return 0;
    switch (flags & O_ACCMODE) {
    case O_RDONLY:
        want = FS_MAY_READ;
        break;
    case O_WRONLY:
        want = FS_MAY_WRITE;
        break;
    default:
        want = FS_MAY_READ | FS_MAY_WRITE;
        break;
    }
    /* execve() and uselib() open the file O_RDONLY with __FMODE_EXEC, which
     * the kernel passes along in the open flags, and require x, not r (as
     * the kernel checks: a 0711 program runs for those who may not read
     * it).  open(2) cannot set that bit: it drops flags it does not know. */
    if ((flags & O_ACCMODE) == O_RDONLY && (flags & FS_O_EXEC))
        want = FS_MAY_EXEC;
    if (flags & O_TRUNC)
        want |= FS_MAY_WRITE;
    return fs_perm_attr(cr, a, want);
}

static bool fs_hardlinks_protected(void)
{
    char v = '1';
    FILE *f = fopen("/proc/sys/fs/protected_hardlinks", "re");

    if (f != NULL) {
        if (fread(&v, 1, 1, f) != 1)
            v = '1';
        fclose(f);
    }
    return v != '0';
}

int fs_perm_link_source(struct fs_cred *cr, store_tenant *t, uint64_t local)
{
    struct store_attr a;
    int err;

    if (fs_cred_is_root(cr))
        return 0;
    err = fs_errno(store_getattr(t, local, &a));
    if (err != 0 || a.uid == cr->uid)
        return err;
    if (S_ISREG(a.mode) && !(a.mode & S_ISUID) &&
        (a.mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
        fs_perm_attr(cr, &a, FS_MAY_READ | FS_MAY_WRITE) == 0)
        return 0;
    return fs_hardlinks_protected() ? EPERM : 0;
}

/* The requested mode only clears setuid/setgid bits of the current one:
 * what the kernel sends when a non-owner writes to or truncates such a
 * file (we leave killing privileges to the kernel; fs_main.c). */
static bool fs_mode_kills_priv(uint32_t cur, uint32_t want)
{
    const uint32_t priv = S_ISUID | S_ISGID;

    cur &= 07777;
    want &= 07777;
    return (want & ~cur) == 0 && (want & ~priv) == (cur & ~priv);
}

uint32_t fs_perm_killed_mode(struct fs_cred *cr, const struct store_attr *a,
                             bool root_capable)
{
    uint32_t mode = a->mode & ~(uint32_t)S_ISUID;

    if ((mode & S_ISGID) &&
        ((mode & S_IXGRP) ||
         (!(root_capable && fs_cred_is_root(cr)) &&
          !fs_cred_in_group(cr, a->gid))))
        mode &= ~(uint32_t)S_ISGID;
    return mode;
}

int fs_perm_setattr(struct fs_cred *cr, const struct store_attr *cur,
                    struct stat *attr, int to_set, bool has_fh)
{
    bool owner = cr->uid == cur->uid;
    uint32_t gid = cur->gid;

    if (fs_cred_is_root(cr))
        return 0;
    if (to_set & FUSE_SET_ATTR_UID) {
        if (!owner || attr->st_uid != cur->uid)
            return EPERM;
    }
    if (to_set & FUSE_SET_ATTR_GID) {
        if (!owner || (attr->st_gid != cur->gid &&
                       !fs_cred_in_group(cr, attr->st_gid)))
            return EPERM;
        gid = attr->st_gid;
    }
    if (to_set & FUSE_SET_ATTR_MODE) {
        if (owner) {
            /* As chmod(2): setgid only on a file of one of our groups. */
            if ((attr->st_mode & S_ISGID) && !fs_cred_in_group(cr, gid))
                attr->st_mode &= ~(mode_t)S_ISGID;
        } else if (!S_ISREG(cur->mode) ||
                   !fs_mode_kills_priv(cur->mode, attr->st_mode) ||
                   fs_perm_attr(cr, cur, FS_MAY_WRITE) != 0) {
            return EPERM;
        }
    }
    if ((to_set & FUSE_SET_ATTR_SIZE) && !has_fh &&
        fs_perm_attr(cr, cur, FS_MAY_WRITE) != 0)
        return EACCES;
    /* Times.  An explicit atime is a utimensat() with values: the owner's
     * right.  "Now" is the owner's or a writer's.  An explicit mtime alone
     * is ambiguous: with the writeback cache the kernel sends the mtime it
     * computed itself (after a write, with a truncate, with touch), so it is
     * held to the "now" rule unless it comes with a handle or a size. */
    if (to_set & FUSE_SET_ATTR_ATIME) {
        if (!(to_set & FUSE_SET_ATTR_ATIME_NOW)) {
            if (!owner)
                return EPERM;
        } else if (!owner && fs_perm_attr(cr, cur, FS_MAY_WRITE) != 0) {
            return EACCES;
        }
    }
    if ((to_set & FUSE_SET_ATTR_MTIME) && !owner && !has_fh &&
        !(to_set & FUSE_SET_ATTR_SIZE) &&
        fs_perm_attr(cr, cur, FS_MAY_WRITE) != 0)
        return EACCES;
    return 0;
}

int fs_perm_xattr(struct fs_cred *cr, store_tenant *t, uint64_t local,
                  const char *name, unsigned want)
{
    struct store_attr a;
    int err;

    if (fs_cred_is_root(cr))
        return 0;
    /* The kernel leaves security.* and system.* to the filesystem (ls -l
     * asks for them on every file): the store answers ENODATA/ENOTSUP. */
    if (strncmp(name, "user.", 5) != 0)
        return 0;
    err = fs_errno(store_getattr(t, local, &a));
    if (err != 0)
        return err;
    if (!S_ISREG(a.mode) && !S_ISDIR(a.mode))
        return (want & FS_MAY_WRITE) ? EPERM : ENODATA;
    if ((want & FS_MAY_WRITE) && S_ISDIR(a.mode) && (a.mode & S_ISVTX) &&
        cr->uid != a.uid)
        return EPERM;
    return fs_perm_attr(cr, &a, want);
}
