/*
 * fs_tenant.c - tenants as a whole while mounted: adding one (mkdir at the
 * mount root by root), removing one (rmdir at the mount root by root, or
 * `tenantctl tenant remove` through the admin socket), and telling the
 * kernel that a tenant's folder changed (the admin socket, after
 * `tenantctl tenant add|remove|chown|chmod`).
 *
 * The store does the work (store_tenant_add, store_tenant_remove); what is
 * owned here is the mount's side of it.  A removal must not pull a tenant
 * from under an open file: the tenant is first marked in the open-file
 * table (fs_open_tenant_mark), which fails while any inode of the tenant is
 * open and makes every later open of one fail with ENOENT until the store
 * has finished.  Telling the kernel is the caller's business: an rmdir
 * needs nothing (the kernel forgets the name itself), and a notification
 * from inside a request handler could deadlock on the locks the kernel
 * holds for that request; the admin thread calls fs_tenant_changed(),
 * which drops the folder's cached attributes and its name at the mount
 * root with all the kernel cached below it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* An online restore's state, for the store's hold hook. */
struct fs_tenant_restoring {
    struct fs_ctx *c;
    uint64_t id, old_tid;       /* the tenant, its number until now */
    bool held;
};

int fs_tenant_add(struct fs_ctx *c, const char *name, uint32_t uid,
                  uint32_t gid, uint32_t mode, struct fuse_entry_param *e)
{
    uint64_t id = 0;
    store_err se;

    se = store_tenant_add(c->store, name, uid, gid, mode & 07777, &id);
    if (se != STORE_OK)
        return fs_errno(se);
    return fs_root_entry(c, id, e);
}

static int fs_tenant_any_fn(const char *name, size_t len,
                            const struct store_attr *a, uint64_t cookie,
                            void *arg)
{
    (void)name; (void)len; (void)a; (void)cookie;
    *(bool *)arg = true;
    return 1;
}

/* Does the tenant's folder hold any entry?  A cheap first answer for an
 * rmdir; the store decides again, atomically, with the removal. */
static int fs_tenant_nonempty(struct fs_ctx *c, uint64_t id, bool *any)
{
    store_tenant *t;
    store_err se;

    *any = false;
    se = store_tenant_get(c->store, id, &t);
    if (se == STORE_OK)
        se = store_readdir(t, STORE_ROOT_INO, 0, false, fs_tenant_any_fn, any);
    return fs_errno(se);
}

int fs_tenant_remove(struct fs_ctx *c, const char *name, bool only_empty)
{
    struct store_tenant_info info;
    struct fs_removing mark;
    size_t len = strlen(name);
    bool any = false;
    int err;

    if (len > STORE_NAME_MAX)
        return ENAMETOOLONG;
    err = fs_errno(store_tenant_find(c->store, name, len, &info));
    if (err != 0)
        return err;
    /* (Files of an incarnation an online restore replaced are stale:
     * only the current one's count.) */
    err = fs_open_tenant_mark(c, fs_tid_now(c, info.id), &mark);
    if (err != 0)
        return err;
    if (only_empty)
        err = fs_tenant_nonempty(c, info.id, &any);
    if (err == 0 && any)
        err = ENOTEMPTY;
    if (err == 0)
        err = fs_errno(store_tenant_remove(c->store, name, only_empty
                                           ? STORE_TENANT_REMOVE_EMPTY : 0));
    fs_open_tenant_unmark(c, &mark);
    return err;
}

/* The attributes of the tenant's folder are dropped, and its entry at the
 * mount root, which makes the kernel forget the names it cached below it:
 * a tenant's name is cached only while everyone may search it
 * (fs_root_entry), and one closed to someone must be hidden (ENOENT, the
 * tenant gate) at once, not refused by the kernel's own check with the
 * attributes it kept.  The entry notification takes the mount root's lock, which a
 * request at the root holds until the session answers it: this runs on the
 * admin thread, which is stopped while the session still serves
 * (fs_stop.c), so the answer comes.
 *
 * A notification about something the kernel does not cache is ENOENT:
 * nothing to drop.  Other failures (the mount is going away) are not the
 * administrator's problem either: the command itself succeeded. */
void fs_tenant_changed(struct fs_ctx *c, uint64_t id, const char *name)
{
    if (c->se == NULL || fuse_session_exited(c->se))
        return;
    (void)fuse_lowlevel_notify_inval_inode(c->se,
                                           fs_ino_make(fs_tid_now(c, id),
                                                       STORE_ROOT_INO),
                                           0, 0);
    (void)fuse_lowlevel_notify_inval_entry(c->se, FUSE_ROOT_ID, name,
                                           strlen(name));
}

/* The files of a restored tenant's old incarnation that are open: drop
 * what the kernel caches of them (pages kept across opens, attributes),
 * so that their next read, write or fstat reaches us and fails (ESTALE)
 * instead of being served the old content from the cache.  From the admin
 * thread (see fs_tenant_changed about notifications). */
static void fs_tenant_stale(struct fs_ctx *c, uint64_t old_tid)
{
    fuse_ino_t *inos;
    size_t n;

    if (c->se == NULL || fs_open_tenant_inodes(c, old_tid, &inos, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        (void)fuse_lowlevel_notify_inval_inode(c->se, inos[i], 0, 0);
    free(inos);
}

static void fs_tenant_restore_hold(void *arg, uint64_t id)
{
    struct fs_tenant_restoring *r = arg;

    r->old_tid = fs_tid_now(r->c, id);
    fs_alias_hold(r->c, id);
    r->id = id;
    r->held = true;
}

int fs_tenant_restore(struct fs_ctx *c, const char *snap, const char *name,
                      char *what)
{
    struct fs_tenant_restoring r = { .c = c };
    int err;

    *what = 0;
    if ((err = fs_alias_reserve(c)) != 0)
        return err;
    err = fs_errno(store_snapshot_restore_live(c->store, snap, name, what,
                                               fs_tenant_restore_hold, &r));
    /* Once held, the tenant moves to a new alias whatever the outcome: its
     * old numbers may have been handed out while the swap was under way. */
    if (r.held) {
        fs_alias_release(c, r.id);
        fs_tenant_stale(c, r.old_tid);
    }
    return err;
}
