/*
 * fs_alias.c - the FUSE tenant numbers of tenants restored while mounted.
 *
 * An online restore (`tenantctl snapshot restore STORE NAME --tenant T`
 * through the admin socket) gives tenant T the content of a snapshot, in
 * which local inode numbers name other records than they name now.  The
 * kernel keeps, under a FUSE inode number, cached attributes, pages (kept
 * across opens), dentries and open files: none of that may meet the new
 * content.  So each restored incarnation of a tenant is served under a new
 * FUSE tenant number, an alias from FS_ALIAS_TID_BASE on, and every number
 * of an earlier incarnation (its tenant id, or an older alias) is stale:
 * requests on it fail with ESTALE, which also makes the kernel look a path
 * up again from the mount root (where the tenant's name now leads to the
 * new alias), and the open files of the old content fail cleanly, as an
 * NFS client's do when the server's file is replaced.
 *
 * During the restore's swap (from the store's `hold` call until the store
 * returns) requests for the tenant wait here rather than reach a handle
 * that is going away or one whose numbering is not decided yet.  A
 * generation counter, changed at the start and the end of every restore,
 * tells a request whether the handle it got from store_tenant_get() may
 * belong to another incarnation than the number it checked: if the counter
 * moved meanwhile it asks again.  Until the first restore the counter is 0
 * and the translation costs two atomic loads.
 *
 * The lock is a leaf: no store call and no other lock is taken under it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "fs.h"

int fs_alias_init(struct fs_ctx *c)
{
    struct fs_alias *a = &c->alias;

    a->real = NULL;
    a->n = a->cap = 0;
    a->restoring = 0;
    atomic_store(&a->gen, 0);
    if (pthread_mutex_init(&a->lock, NULL) != 0)
        return ENOMEM;
    if (pthread_cond_init(&a->changed, NULL) != 0) {
        pthread_mutex_destroy(&a->lock);
        return ENOMEM;
    }
    return 0;
}

void fs_alias_free(struct fs_ctx *c)
{
    free(c->alias.real);
    c->alias.real = NULL;
    pthread_cond_destroy(&c->alias.changed);
    pthread_mutex_destroy(&c->alias.lock);
}

/* The number tenant `id` is served under now.  Under a->lock. */
static uint64_t fs_alias_now_locked(const struct fs_alias *a, uint64_t id)
{
    for (size_t i = a->n; i > 0; i--)
        if (a->real[i - 1] == id)
            return FS_ALIAS_TID_BASE + (i - 1);
    return id;
}

uint64_t fs_tid_now(struct fs_ctx *c, uint64_t id)
{
    struct fs_alias *a = &c->alias;
    uint64_t tid;

    if (atomic_load(&a->gen) == 0)
        return id;
    pthread_mutex_lock(&a->lock);
    while (a->restoring == id)
        pthread_cond_wait(&a->changed, &a->lock);
    tid = fs_alias_now_locked(a, id);
    pthread_mutex_unlock(&a->lock);
    return tid;
}

/* The tenant id behind FUSE tenant number `tid` (waiting while it is being
 * restored), and the generation it was current at.  ESTALE: a number of
 * an earlier incarnation. */
static int fs_alias_check(struct fs_ctx *c, uint64_t tid, uint64_t *id,
                          uint64_t *gen)
{
    struct fs_alias *a = &c->alias;
    int err = 0;

    pthread_mutex_lock(&a->lock);
    if (tid >= FS_ALIAS_TID_BASE) {
        if (tid - FS_ALIAS_TID_BASE >= a->n) {
            err = ESTALE;       /* never given out */
            goto out;
        }
        *id = a->real[tid - FS_ALIAS_TID_BASE];
    } else {
        *id = tid;
    }
    while (a->restoring == *id)
        pthread_cond_wait(&a->changed, &a->lock);
    if (fs_alias_now_locked(a, *id) != tid)
        err = ESTALE;
    *gen = atomic_load(&a->gen);
out:
    pthread_mutex_unlock(&a->lock);
    return err;
}

int fs_tenant_handle(struct fs_ctx *c, uint64_t tid, store_tenant **t)
{
    struct fs_alias *a = &c->alias;
    uint64_t id, gen;
    store_err e;
    int err;

    if (atomic_load(&a->gen) == 0 && tid < FS_SNAP_TID_BASE) {
        e = store_tenant_get(c->store, tid, t);
        if (atomic_load(&a->gen) == 0)
            return fs_errno(e);
        /* a restore began meanwhile: the handle may be going away */
    }
    for (;;) {
        if ((err = fs_alias_check(c, tid, &id, &gen)) != 0)
            return err;
        e = store_tenant_get(c->store, id, t);
        /* Unchanged: no restore began or ended since the check, so the
         * handle is of the incarnation `tid` names. */
        if (atomic_load(&a->gen) == gen)
            return fs_errno(e);
    }
}

int fs_alias_reserve(struct fs_ctx *c)
{
    struct fs_alias *a = &c->alias;
    int err = 0;

    pthread_mutex_lock(&a->lock);
    if (a->n == FS_ALIAS_TID_COUNT) {
        err = ENOSPC;           /* 4 million restores in one mount */
    } else if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        uint64_t *p = realloc(a->real, cap * sizeof *p);

        if (p == NULL) {
            err = ENOMEM;
        } else {
            a->real = p;
            a->cap = cap;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return err;
}

void fs_alias_hold(struct fs_ctx *c, uint64_t id)
{
    struct fs_alias *a = &c->alias;

    pthread_mutex_lock(&a->lock);
    a->restoring = id;
    atomic_fetch_add(&a->gen, 1);
    pthread_mutex_unlock(&a->lock);
}

void fs_alias_release(struct fs_ctx *c, uint64_t id)
{
    struct fs_alias *a = &c->alias;

    pthread_mutex_lock(&a->lock);
    a->real[a->n++] = id;       /* room made by fs_alias_reserve */
    a->restoring = 0;
    atomic_fetch_add(&a->gen, 1);
    pthread_cond_broadcast(&a->changed);
    pthread_mutex_unlock(&a->lock);
}
