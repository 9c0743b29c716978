/*
 * fs_snapview.c - the read-only view of snapshots, MOUNT/.snapshots/NAME/
 * TENANT/... (docs/snapshots.md, "The view"), so that a user restores a
 * record with cp.
 *
 * .snapshots is not listed at the mount root (find, tar or rsync of the
 * mount would otherwise walk every snapshot) but its lookup works; tenant
 * names never start with '.', so it hides nothing.  It lists the
 * snapshots (store_snapshot_each); .snapshots/NAME lists the tenants of
 * the snapshot that the caller may search now (the mount root's privacy
 * rule, with the live folder's owner, group and mode: the store's
 * store_snapshot_tenant_folder()); below that, everything is the
 * snapshot's read-only copy of the tenant (store_snapshot_tenant_open),
 * records with their own owner, group and mode, and the daemon's
 * permission checks as in a live tenant (fs_perm.c: the tenant gate reads
 * store_tenant_info_get(), which for such a handle gives the live
 * folder's).  Every change fails with EROFS, checked by each changing op
 * before anything else (and refused again by the store).
 *
 * Inode numbers.  .snapshots and .snapshots/NAME are tenant 0's (see
 * fs.h); a name gets its index the first time it is seen and keeps it for
 * the mount's life, so a cached inode of a deleted snapshot's folder stays
 * a harmless ENOENT.  Each (snapshot, tenant) pair seen gets a pseudo
 * tenant id from FS_SNAP_TID_BASE on, and its records are
 * fs_ino_make(pseudo, local): they never meet a live tenant's numbers, and
 * fs_ino_resolve() finds the handle by the pseudo id.  A snapshot is told
 * apart from a later one of the same name by its creation time, so the
 * pair of a snapshot deleted and made again is a new pair, with new
 * numbers: nothing the kernel cached of the old one shows the new one.
 *
 * Caching.  The virtual folders and the snapshot tenants' folders are
 * answered with no entry cache time (every path walk asks again: a
 * deleted snapshot is gone at once, and a tenant's folder depends on who
 * asks) and no attribute cache time for the folders that change (a
 * snapshot's folder, the tenant's folder, whose owner and mode follow the
 * live one's without any notification).  Records below are immutable: the
 * usual FS_TIMEOUT.
 *
 * A deleted snapshot: its lookups (and those of its folder's attributes)
 * fail with ENOENT from then on.  What was already reached (an open file,
 * a cwd inside it) keeps reading: a pair's handle, once opened, stays open
 * until the unmount, and with it the deleted files (their disk space comes
 * back at the unmount).  A pair first used after the deletion fails with
 * ENOENT.  Each pair opened holds its copy's LMDB env (two descriptors and
 * a map) until the unmount.
 *
 * The tables are searched linearly: they hold what one mount has seen
 * (existing snapshots' names, and the pairs someone looked up or listed),
 * hundreds or a few thousand entries, and are used on lookups and
 * listings of the virtual folders only; resolving a pseudo id is an index.
 *
 * Lock order: v->lock is taken with no other lock held, and a pair's
 * first open (store calls) runs under it, so that no copy is ever opened
 * twice by this process (LMDB forbids that).  Nothing else calls the
 * store under it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

typedef char fs_snapname[STORE_SNAPSHOT_NAME_MAX + 1];

/* One (snapshot, tenant) pair: pseudo tenant FS_SNAP_TID_BASE + index. */
struct fs_snappair {
    size_t name;                /* index in v->names */
    struct timespec created;    /* which snapshot of that name */
    uint64_t id;                /* the tenant's id */
    store_tenant *t;            /* opened at the first use, else NULL */
};

struct fs_snapview {
    pthread_mutex_t lock;       /* protects everything below */
    fs_snapname *names;         /* index: FS_SNAPNAME_BASE + it */
    size_t nnames, capnames;
    struct fs_snappair *pairs;
    size_t npairs, cappairs;
};

int fs_snap_init(struct fs_ctx *c)
{
    c->snap = calloc(1, sizeof *c->snap);
    if (c->snap == NULL || pthread_mutex_init(&c->snap->lock, NULL) != 0) {
        free(c->snap);
        c->snap = NULL;
        return ENOMEM;
    }
    return 0;
}

void fs_snap_free(struct fs_ctx *c)
{
    struct fs_snapview *v = c->snap;

    if (v == NULL)
        return;
    for (size_t i = 0; i < v->npairs; i++)
        store_snapshot_tenant_close(v->pairs[i].t);
    free(v->pairs);
    free(v->names);
    pthread_mutex_destroy(&v->lock);
    free(v);
    c->snap = NULL;
}

/* ===================================================================== */
/* The tables                                                            */
/* ===================================================================== */

/* The index of snapshot name `name`, given one at its first sight.
 * Under v->lock.  Returns 0, ENOMEM or ENOSPC (too many names). */
static int fs_snap_name_index(struct fs_snapview *v, const char *name,
                              size_t *idx)
{
    for (size_t i = 0; i < v->nnames; i++)
        if (strcmp(v->names[i], name) == 0) {
            *idx = i;
            return 0;
        }
    if (v->nnames >= FS_SNAPNAME_MAX)
        return ENOSPC;
    if (v->nnames == v->capnames) {
        size_t cap = v->capnames ? 2 * v->capnames : 16;
        fs_snapname *p = realloc(v->names, cap * sizeof *p);

        if (p == NULL)
            return ENOMEM;
        v->names = p;
        v->capnames = cap;
    }
    memset(v->names[v->nnames], 0, sizeof v->names[0]);
    strncpy(v->names[v->nnames], name, STORE_SNAPSHOT_NAME_MAX);
    *idx = v->nnames++;
    return 0;
}

static int fs_snap_index_of(struct fs_ctx *c, const char *name, size_t *idx)
{
    int err;

    pthread_mutex_lock(&c->snap->lock);
    err = fs_snap_name_index(c->snap, name, idx);
    pthread_mutex_unlock(&c->snap->lock);
    return err;
}

/* The name of virtual folder `ino` (.snapshots/NAME) into `out`.
 * Returns 0 or ENOENT. */
static int fs_snap_name_of(struct fs_ctx *c, fuse_ino_t ino, fs_snapname out)
{
    uint64_t local = fs_ino_local(ino);
    int err = ENOENT;

    if (fs_ino_tenant(ino) != 0 || local < FS_SNAPNAME_BASE)
        return ENOENT;
    pthread_mutex_lock(&c->snap->lock);
    if (local - FS_SNAPNAME_BASE < c->snap->nnames) {
        memcpy(out, c->snap->names[local - FS_SNAPNAME_BASE],
               sizeof(fs_snapname));
        err = 0;
    }
    pthread_mutex_unlock(&c->snap->lock);
    return err;
}

/* The pseudo tenant id of (snapshot `name` made at `created`, tenant
 * `id`), given one at its first sight.  Returns 0, ENOMEM or ENOSPC. */
static int fs_snap_pair(struct fs_ctx *c, size_t name,
                        const struct timespec *created, uint64_t id,
                        uint64_t *tid)
{
    struct fs_snapview *v = c->snap;
    int err = 0;

    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->npairs; i++) {
        const struct fs_snappair *p = &v->pairs[i];

        if (p->name == name && p->id == id &&
            p->created.tv_sec == created->tv_sec &&
            p->created.tv_nsec == created->tv_nsec) {
            *tid = FS_SNAP_TID_BASE + i;
            goto out;
        }
    }
    if (v->npairs >= FS_SNAP_TID_COUNT) {
        err = ENOSPC;
        goto out;
    }
    if (v->npairs == v->cappairs) {
        size_t cap = v->cappairs ? 2 * v->cappairs : 16;
        struct fs_snappair *p = realloc(v->pairs, cap * sizeof *p);

        if (p == NULL) {
            err = ENOMEM;
            goto out;
        }
        v->pairs = p;
        v->cappairs = cap;
    }
    v->pairs[v->npairs] = (struct fs_snappair){
        .name = name, .created = *created, .id = id, .t = NULL };
    *tid = FS_SNAP_TID_BASE + v->npairs++;
out:
    pthread_mutex_unlock(&v->lock);
    return err;
}

int fs_snap_resolve(struct fs_ctx *c, uint64_t tid, store_tenant **t)
{
    struct fs_snapview *v = c->snap;
    struct store_snapshot snap;
    struct fs_snappair *p;
    fs_snapname name;
    store_err se = STORE_OK;
    int err = 0;

    if (tid < FS_SNAP_TID_BASE)
        return ENOENT;
    pthread_mutex_lock(&v->lock);
    if (tid - FS_SNAP_TID_BASE >= v->npairs) {
        err = ENOENT;
        goto out;
    }
    p = &v->pairs[tid - FS_SNAP_TID_BASE];
    if (p->t != NULL) {
        *t = p->t;
        goto out;
    }
    /* The first use: open the copy, if the snapshot is still the one the
     * pair was seen in (not deleted, not made again under its name). */
    memcpy(name, v->names[p->name], sizeof name);
    se = store_snapshot_get(c->store, name, &snap);
    if (se == STORE_OK) {
        if (snap.created.tv_sec != p->created.tv_sec ||
            snap.created.tv_nsec != p->created.tv_nsec)
            se = STORE_ENOENT;
        store_snapshot_free(&snap);
    }
    if (se == STORE_OK)
        se = store_snapshot_tenant_open(c->store, name, p->id, &p->t);
    err = fs_errno(se);
    if (err == 0)
        *t = p->t;
out:
    pthread_mutex_unlock(&v->lock);
    return err;
}

fuse_ino_t fs_snap_parent(struct fs_ctx *c, uint64_t tid)
{
    fuse_ino_t ino = fs_ino_make(0, FS_SNAPDIR_LOCAL);

    pthread_mutex_lock(&c->snap->lock);
    if (tid >= FS_SNAP_TID_BASE && tid - FS_SNAP_TID_BASE < c->snap->npairs)
        ino = fs_ino_make(0, FS_SNAPNAME_BASE +
                          c->snap->pairs[tid - FS_SNAP_TID_BASE].name);
    pthread_mutex_unlock(&c->snap->lock);
    return ino;
}

/* ===================================================================== */
/* The virtual folders                                                   */
/* ===================================================================== */

static void fs_snap_dir_stat(fuse_ino_t ino, const struct timespec *when,
                             struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 1;           /* not counted, as at the mount root */
    st->st_size = FS_BLKSIZE;
    st->st_blksize = FS_BLKSIZE;
    st->st_atim = *when;
    st->st_mtim = *when;
    st->st_ctim = *when;
}

int fs_snap_stat(struct fs_ctx *c, fuse_ino_t ino, struct stat *st,
                 double *timeout)
{
    struct store_snapshot snap;
    fs_snapname name;
    int err;

    if (ino == fs_ino_make(0, FS_SNAPDIR_LOCAL)) {
        fs_snap_dir_stat(ino, &c->mounted, st);
        *timeout = FS_TIMEOUT;  /* it never changes */
        return 0;
    }
    if ((err = fs_snap_name_of(c, ino, name)) != 0)
        return err;
    if ((err = fs_errno(store_snapshot_get(c->store, name, &snap))) != 0)
        return err;
    fs_snap_dir_stat(ino, &snap.created, st);
    store_snapshot_free(&snap);
    *timeout = 0;               /* deleted at any time */
    return 0;
}

/* The tenant of snapshot `snap` named `name`, if `cr` may see it: its
 * pseudo id into *tid.  Returns 0 or an errno (ENOENT: absent, or hidden
 * from `cr`). */
static int fs_snap_tenant_find(struct fs_ctx *c, struct fs_cred *cr,
                               const struct store_snapshot *snap, size_t idx,
                               const char *name, uint64_t *tid)
{
    struct store_tenant_info info;

    for (size_t i = 0; i < snap->ntenants; i++) {
        if (strcmp(snap->tenants[i].info.name, name) != 0)
            continue;
        store_snapshot_tenant_folder(c->store, &snap->tenants[i], &info);
        if (!fs_perm_tenant_visible(cr, &info))
            return ENOENT;
        return fs_snap_pair(c, idx, &snap->created, info.id, tid);
    }
    return ENOENT;
}

int fs_snap_lookup(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t parent,
                   const char *name, struct fuse_entry_param *e)
{
    struct store_snapshot snap;
    struct store_attr a;
    store_tenant *t;
    fs_snapname sname;
    uint64_t tid;
    size_t idx;
    double timeout;
    int err;

    memset(e, 0, sizeof *e);
    if (fs_ino_is_root(parent)) {
        if (strcmp(name, FS_SNAPDIR_NAME) != 0)
            return ENOENT;
        e->ino = fs_ino_make(0, FS_SNAPDIR_LOCAL);
        err = fs_snap_stat(c, e->ino, &e->attr, &timeout);
        e->attr_timeout = e->entry_timeout = timeout;
        return err;
    }
    if (parent == fs_ino_make(0, FS_SNAPDIR_LOCAL)) {
        /* .snapshots/NAME */
        err = fs_errno(store_snapshot_get(c->store, name, &snap));
        if (err == 0)
            err = fs_snap_index_of(c, name, &idx);
        if (err == 0) {
            e->ino = fs_ino_make(0, FS_SNAPNAME_BASE + idx);
            fs_snap_dir_stat(e->ino, &snap.created, &e->attr);
        }
        store_snapshot_free(&snap);
        return err;             /* cache times 0: deleted at any time */
    }
    /* .snapshots/NAME/TENANT */
    if ((err = fs_snap_name_of(c, parent, sname)) != 0)
        return err;
    if ((err = fs_errno(store_snapshot_get(c->store, sname, &snap))) != 0)
        return err;
    idx = fs_ino_local(parent) - FS_SNAPNAME_BASE;
    err = fs_snap_tenant_find(c, cr, &snap, idx, name, &tid);
    store_snapshot_free(&snap);
    if (err == 0)
        err = fs_snap_resolve(c, tid, &t);
    if (err == 0)
        err = fs_errno(store_getattr(t, STORE_ROOT_INO, &a));
    if (err != 0)
        return err;
    fs_attr_to_entry(tid, &a, e);
    /* Who may see it is decided per caller, and its owner and mode follow
     * the live folder's, which tells the kernel nothing of changes here. */
    e->entry_timeout = 0;
    e->attr_timeout = 0;
    return 0;
}

/* ===================================================================== */
/* Listings                                                              */
/* ===================================================================== */

struct fs_snap_entry {
    size_t idx;
    fs_snapname name;
    struct timespec created;
};

struct fs_snap_collect {
    struct fs_ctx *c;
    struct fs_snap_entry *all;
    size_t n, cap;
    int err;
};

static int fs_snap_collect_fn(const struct store_snapshot *snap, void *arg)
{
    struct fs_snap_collect *k = arg;

    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        struct fs_snap_entry *p = realloc(k->all, cap * sizeof *p);

        if (p == NULL) {
            k->err = ENOMEM;
            return 1;
        }
        k->all = p;
        k->cap = cap;
    }
    k->err = fs_snap_index_of(k->c, snap->name, &k->all[k->n].idx);
    if (k->err != 0)
        return 1;
    memcpy(k->all[k->n].name, snap->name, sizeof(fs_snapname));
    k->all[k->n].created = snap->created;
    k->n++;
    return 0;
}

static int fs_snap_entry_cmp(const void *a, const void *b)
{
    const struct fs_snap_entry *x = a, *y = b;

    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* .snapshots: a snapshot's offset is its name's index + 3, so the listing
 * goes in index order (the order names were first seen: creation order,
 * mostly) and resumes after any offset. */
static int fs_snap_list_names(struct fs_ctx *c, struct fs_dirbuf *d,
                              off_t after)
{
    struct fs_snap_collect k = { .c = c };
    struct stat st;
    int err;

    err = fs_errno(store_snapshot_each(c->store, fs_snap_collect_fn, &k));
    if (err == 0)
        err = k.err;
    if (err == 0 && k.n > 1)
        qsort(k.all, k.n, sizeof *k.all, fs_snap_entry_cmp);
    for (size_t i = 0; err == 0 && i < k.n; i++) {
        off_t off = (off_t)(k.all[i].idx + 3);

        if (off <= after)
            continue;
        fs_snap_dir_stat(fs_ino_make(0, FS_SNAPNAME_BASE + k.all[i].idx),
                         &k.all[i].created, &st);
        if (fs_dirbuf_add(d, k.all[i].name, &st, false, 0, off))
            break;
    }
    free(k.all);
    return err;
}

static int fs_snap_tenant_cmp(const void *a, const void *b)
{
    const struct store_snapshot_tenant *x = a, *y = b;

    return x->info.id < y->info.id ? -1 : x->info.id > y->info.id;
}

/* .snapshots/NAME: a tenant's offset is its id + 2, as at the mount root;
 * the tenants the caller may not search are left out. */
static int fs_snap_list_tenants(struct fs_ctx *c, struct fs_cred *cr,
                                fuse_ino_t ino, struct fs_dirbuf *d,
                                off_t after)
{
    struct store_snapshot snap;
    struct store_tenant_info info;
    struct stat st;
    fs_snapname name;
    size_t idx = fs_ino_local(ino) - FS_SNAPNAME_BASE;
    uint64_t tid;
    int err;

    if ((err = fs_snap_name_of(c, ino, name)) != 0)
        return err;
    if ((err = fs_errno(store_snapshot_get(c->store, name, &snap))) != 0)
        return err;
    if (snap.ntenants > 1)
        qsort(snap.tenants, snap.ntenants, sizeof *snap.tenants,
              fs_snap_tenant_cmp);
    for (size_t i = 0; err == 0 && i < snap.ntenants; i++) {
        off_t off = (off_t)(snap.tenants[i].info.id + 2);

        if (off <= after)
            continue;
        store_snapshot_tenant_folder(c->store, &snap.tenants[i], &info);
        if (!fs_perm_tenant_visible(cr, &info))
            continue;
        err = fs_snap_pair(c, idx, &snap.created, info.id, &tid);
        if (err != 0)
            break;
        /* Not handed to the kernel as an entry (readdirplus): that would
         * open the copy; a lookup follows when one is wanted. */
        memset(&st, 0, sizeof st);
        st.st_ino = fs_ino_make(tid, STORE_ROOT_INO);
        st.st_mode = S_IFDIR | (info.mode & 07777);
        st.st_uid = info.uid;
        st.st_gid = info.gid;
        if (fs_dirbuf_add(d, info.name, &st, false, 0, off))
            break;
    }
    store_snapshot_free(&snap);
    return err;
}

int fs_snap_list(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                 struct fs_dirbuf *d, off_t after)
{
    if (ino == fs_ino_make(0, FS_SNAPDIR_LOCAL))
        return fs_snap_list_names(c, d, after);
    return fs_snap_list_tenants(c, cr, ino, d, after);
}
