/*
 * fs_inode.c - inode numbers, attributes and open-file accounting.
 *
 * Owns the translation between what the kernel sees and what the store
 * knows: a FUSE inode number is a tenant id and a tenant-local inode packed
 * into one 64-bit number (see fs.h), so resolving one is arithmetic plus
 * store_tenant_get(); store_attr becomes struct stat here and nowhere else.
 * The mount root (FUSE_ROOT_ID) is synthesised: a 0755 root-owned folder
 * whose entries are the tenants a caller may search (privacy: the others
 * are absent, ENOENT).  Inodes of the snapshot view resolve through
 * fs_snapview.c (pseudo tenant ids; its virtual folders are no tenant's).
 *
 * The kernel's dentry cache is shared by all users: once alice's lookup
 * of a tenant name is cached, bob's path walk would use it without asking
 * us, and bob could stat a tenant he must not see.  So a tenant folder
 * that not every user may search is returned with entry_timeout 0 (every
 * path walk through it asks again, and the answer depends on the caller);
 * only tenants whose mode lets owner, group and other search (all three x
 * bits: "other" alone is not enough, the owner's and the group's bits
 * apply to them even where "other" grants more) keep FS_TIMEOUT.  This
 * holds for lookups and for the entries of a root listing (readdirplus)
 * alike: both come from fs_root_entry.  Absence is never cached at the
 * root (ENOENT replies, no negative entries).
 *
 * It also owns the table of open files.  The kernel may keep using an inode
 * after its last name is gone (open descriptors), so an inode the store
 * reports as an orphan is deleted with store_release() only when its last
 * handle is released.  The table is a small chained hash keyed by FUSE inode
 * number, protected by fs_ctx.open_lock; no store call is made under the
 * lock.  The same lock guards the list of tenants being removed, during
 * which no inode of theirs may be opened (fs_open_tenant_mark).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define FS_OPEN_BUCKETS 1024u

struct fs_open {
    struct fs_open *next;
    fuse_ino_t ino;
    uint64_t count;             /* open handles */
    bool orphaned;              /* no links left: delete at the last close */
    bool refused;               /* a write-back was refused: see fs.h */
    bool folder;                /* opened as a folder (opendir) */
};

/* ===================================================================== */
/* Inode numbers and attributes                                          */
/* ===================================================================== */

int fs_ino_resolve(struct fs_ctx *c, fuse_ino_t ino, store_tenant **t,
                   uint64_t *local)
{
    uint64_t tid = fs_ino_tenant(ino);
    int err;

    if (fs_ino_is_root(ino) || fs_ino_snap_virtual(ino))
        return EPERM;
    err = fs_tid_is_snap(tid) ? fs_snap_resolve(c, tid, t)
                              : fs_tenant_handle(c, tid, t);
    if (err == 0)
        *local = fs_ino_local(ino);
    return err;
}

void fs_attr_to_stat(uint64_t tid, const struct store_attr *a, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = fs_ino_make(tid, a->ino);
    st->st_mode = a->mode;
    st->st_nlink = a->nlink;
    st->st_uid = a->uid;
    st->st_gid = a->gid;
    st->st_rdev = a->rdev;
    st->st_size = S_ISDIR(a->mode) ? FS_BLKSIZE : (off_t)a->size;
    st->st_blocks = (blkcnt_t)a->blocks;
    st->st_blksize = FS_BLKSIZE;
    st->st_atim = a->atime;
    st->st_mtim = a->mtime;
    st->st_ctim = a->ctime;
}

void fs_attr_to_entry(uint64_t tid, const struct store_attr *a,
                      struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = fs_ino_make(tid, a->ino);
    e->generation = 0;          /* inode numbers are never reused */
    fs_attr_to_stat(tid, a, &e->attr);
    e->attr_timeout = FS_TIMEOUT;
    e->entry_timeout = FS_TIMEOUT;
}

int fs_root_stat(struct fs_ctx *c, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = FUSE_ROOT_ID;
    st->st_mode = S_IFDIR | 0755;
    /* Not 2 + tenants: the attributes are cached for all users alike and
     * would tell everyone how many tenants there are. */
    st->st_nlink = 1;
    st->st_uid = 0;
    st->st_gid = 0;
    st->st_size = FS_BLKSIZE;
    st->st_blocks = 0;
    st->st_blksize = FS_BLKSIZE;
    st->st_atim = c->mounted;
    st->st_mtim = c->mounted;
    st->st_ctim = c->mounted;
    return 0;
}

int fs_root_entry(struct fs_ctx *c, uint64_t id, struct fuse_entry_param *e)
{
    struct store_attr a;
    store_tenant *t;
    uint64_t tid;
    int err;

    do {                        /* again if it was restored meanwhile */
        tid = fs_tid_now(c, id);
        err = fs_tenant_handle(c, tid, &t);
    } while (err == ESTALE);
    if (err == 0)
        err = fs_errno(store_getattr(t, STORE_ROOT_INO, &a));
    if (err != 0)
        return err;
    fs_attr_to_entry(tid, &a, e);
    if (!fs_tenant_searchable_by_all(a.mode))
        e->entry_timeout = 0;   /* not for everyone: see the top */
    return 0;
}

int fs_root_lookup(struct fs_ctx *c, struct fs_cred *cr, const char *name,
                   struct fuse_entry_param *e)
{
    struct store_tenant_info info;
    size_t len = strlen(name);
    store_err se;

    if (name[0] == '.')
        return ENOENT;          /* reserved for views such as .snapshots */
    if (len > STORE_NAME_MAX)
        return ENAMETOOLONG;
    se = store_tenant_find(c->store, name, len, &info);
    if (se != STORE_OK)
        return fs_errno(se);
    if (!fs_perm_tenant_visible(cr, &info))
        return ENOENT;
    return fs_root_entry(c, info.id, e);
}

/* ===================================================================== */
/* Open files and orphans                                                */
/* ===================================================================== */

static size_t fs_open_bucket(fuse_ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

    return (size_t)(h >> 32) % FS_OPEN_BUCKETS;
}

int fs_open_ctx_init(struct fs_ctx *c)
{
    c->open_tab = calloc(FS_OPEN_BUCKETS, sizeof(*c->open_tab));
    if (c->open_tab == NULL)
        return ENOMEM;
    if (pthread_mutex_init(&c->open_lock, NULL) != 0) {
        free(c->open_tab);
        c->open_tab = NULL;
        return ENOMEM;
    }
    return 0;
}

void fs_open_ctx_free(struct fs_ctx *c)
{
    if (c == NULL || c->open_tab == NULL)
        return;
    for (size_t i = 0; i < FS_OPEN_BUCKETS; i++) {
        struct fs_open *o = c->open_tab[i];

        while (o != NULL) {
            struct fs_open *next = o->next;

            free(o);
            o = next;
        }
    }
    free(c->open_tab);
    c->open_tab = NULL;
    pthread_mutex_destroy(&c->open_lock);
}

/* Find the entry of `ino`; with `link`, the pointer that points to it. */
static struct fs_open *fs_open_find(struct fs_ctx *c, fuse_ino_t ino,
                                    struct fs_open ***link)
{
    struct fs_open **p = &c->open_tab[fs_open_bucket(ino)];

    while (*p != NULL && (*p)->ino != ino)
        p = &(*p)->next;
    if (link != NULL)
        *link = p;
    return *p;
}

/* Is tenant `tid` being removed?  Under open_lock. */
static bool fs_open_removing(struct fs_ctx *c, uint64_t tid)
{
    for (struct fs_removing *r = c->removing; r != NULL; r = r->next)
        if (r->tid == tid)
            return true;
    return false;
}

int fs_open_get(struct fs_ctx *c, fuse_ino_t ino)
{
    struct fs_open **link;
    struct fs_open *o;
    int rc = 0;

    pthread_mutex_lock(&c->open_lock);
    if (c->removing != NULL && fs_open_removing(c, fs_ino_tenant(ino))) {
        rc = ENOENT;            /* as if the removal had come first */
        goto out;
    }
    o = fs_open_find(c, ino, &link);
    if (o == NULL) {
        o = calloc(1, sizeof(*o));
        if (o == NULL) {
            rc = ENOMEM;
            goto out;
        }
        o->ino = ino;
        *link = o;
    }
    o->count++;
out:
    pthread_mutex_unlock(&c->open_lock);
    return rc;
}

int fs_open_register(struct fs_ctx *c, store_tenant *t, fuse_ino_t ino,
                     uint64_t local, bool folder)
{
    struct store_attr a;
    struct fs_open *o;
    bool orphaned = false;
    int err = fs_open_get(c, ino);

    if (err != 0)
        return err;
    if (folder) {
        pthread_mutex_lock(&c->open_lock);
        o = fs_open_find(c, ino, NULL);
        if (o != NULL)
            o->folder = true;
        pthread_mutex_unlock(&c->open_lock);
    }
    /* Read after counting: from here on an unlink's fs_orphan_note() sees
     * our handle and defers the deletion to the last release. */
    err = fs_errno(store_getattr(t, local, &a));
    if (err == 0 && a.nlink == 0) {
        pthread_mutex_lock(&c->open_lock);
        o = fs_open_find(c, ino, NULL);
        orphaned = o != NULL && o->orphaned;
        pthread_mutex_unlock(&c->open_lock);
        /* Not marked: the note that made it an orphan found no handle and
         * deletes it itself (or will find ours and mark it, in which case
         * our put below deletes it). */
        if (!orphaned)
            err = ENOENT;
    }
    if (err != 0)
        fs_open_put(c, t, ino);
    return err;
}

int fs_open_tenant_mark(struct fs_ctx *c, uint64_t tid,
                        struct fs_removing *mark)
{
    int rc = 0;

    pthread_mutex_lock(&c->open_lock);
    if (fs_open_removing(c, tid)) {
        rc = EBUSY;
        goto out;
    }
    /* A scan of the whole table: removing a tenant is rare. */
    /* Open folders do not count: a listing's RELEASEDIR comes after the
     * listing returned, and a folder holds no data to lose. */
    for (size_t i = 0; i < FS_OPEN_BUCKETS && rc == 0; i++)
        for (struct fs_open *o = c->open_tab[i]; o != NULL; o = o->next)
            if (fs_ino_tenant(o->ino) == tid && !o->folder) {
                rc = EBUSY;
                break;
            }
    if (rc == 0) {
        mark->tid = tid;
        mark->next = c->removing;
        c->removing = mark;
    }
out:
    pthread_mutex_unlock(&c->open_lock);
    return rc;
}

int fs_open_tenant_inodes(struct fs_ctx *c, uint64_t tid, fuse_ino_t **out,
                          size_t *n)
{
    size_t cap = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->open_lock);
    for (size_t i = 0; i < FS_OPEN_BUCKETS && rc == 0; i++)
        for (struct fs_open *o = c->open_tab[i]; o != NULL; o = o->next) {
            if (fs_ino_tenant(o->ino) != tid)
                continue;
            if (*n == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                fuse_ino_t *p = realloc(*out, ncap * sizeof *p);

                if (p == NULL) {
                    rc = ENOMEM;
                    break;
                }
                *out = p;
                cap = ncap;
            }
            (*out)[(*n)++] = o->ino;
        }
    pthread_mutex_unlock(&c->open_lock);
    return rc;
}

void fs_open_tenant_unmark(struct fs_ctx *c, struct fs_removing *mark)
{
    pthread_mutex_lock(&c->open_lock);
    for (struct fs_removing **p = &c->removing; *p != NULL; p = &(*p)->next)
        if (*p == mark) {
            *p = mark->next;
            break;
        }
    pthread_mutex_unlock(&c->open_lock);
}

void fs_open_refused(struct fs_ctx *c, fuse_ino_t ino)
{
    struct fs_open *o;

    pthread_mutex_lock(&c->open_lock);
    o = fs_open_find(c, ino, NULL);
    if (o != NULL)
        o->refused = true;
    pthread_mutex_unlock(&c->open_lock);
}

void fs_open_put(struct fs_ctx *c, store_tenant *t, fuse_ino_t ino)
{
    struct fs_open **link;
    struct fs_open *o;
    bool release = false, refused = false;

    pthread_mutex_lock(&c->open_lock);
    o = fs_open_find(c, ino, &link);
    if (o != NULL && --o->count == 0) {
        release = o->orphaned;
        refused = o->refused;
        *link = o->next;
        free(o);
    }
    pthread_mutex_unlock(&c->open_lock);

    if (release && t != NULL) {
        /* A failure leaves the orphan on the store's list; the next mount
         * deletes it.  The store logs what went wrong. */
        (void)!store_release(t, fs_ino_local(ino));
    } else if (refused) {
        /* The kernel wrote back every dirty page before this last release
         * (and no read can be under way without an open file): dropping
         * its cache now waits for nothing we would have to answer. */
        fs_inval_inode(c, ino);
    }
}

void fs_orphan_note(struct fs_ctx *c, uint64_t tid, store_tenant *t,
                    uint64_t local)
{
    fuse_ino_t ino;
    struct fs_open *o;
    bool now;

    if (local == 0)
        return;
    ino = fs_ino_make(tid, local);
    pthread_mutex_lock(&c->open_lock);
    o = fs_open_find(c, ino, NULL);
    if (o != NULL)
        o->orphaned = true;
    now = (o == NULL);
    pthread_mutex_unlock(&c->open_lock);

    if (now)
        (void)!store_release(t, local);
}
