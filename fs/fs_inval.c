/*
 * fs_inval.c - cache invalidations the kernel must be asked for from
 * outside a request handler, on a thread of their own.
 *
 * Three cases:
 *
 *   - an inode's pages and attributes (fs_inval_inode).  With the
 *     writeback cache, a WRITE that is part of the kernel's writeback
 *     (fi->writepage) and that the store refuses (EDQUOT) leaves the
 *     refused data in the kernel's page cache, as clean pages where readers
 *     keep finding it although it was never stored.  fs_op_write() marks
 *     the inode (fs_open_refused) and its last release queues it here; this
 *     thread then asks the kernel to drop the inode's cached pages and
 *     attributes, so the next read gets what the store holds.  Only after
 *     the last release: an inode invalidation waits for pages being read or
 *     written back (and writes dirty ones back first), which after the last
 *     release are none.
 *   - a name (fs_inval_entry): the kernel forgets the name and everything
 *     it cached below it.  The mount is not mounted with
 *     default_permissions (docs/permissions.md), so a name the kernel
 *     caches is a path walk it lets anyone make without asking us; a name
 *     moved into a folder not everyone may search must stop being cached.
 *   - every name in a folder (fs_inval_children): its mode, owner or group
 *     changed, so it may no longer be searchable by everyone, and the
 *     names the kernel cached in it while it was must go.
 *
 * Why not from the request handler: the kernel holds the locks of the
 * inode (or folder) concerned until it has our reply, and the
 * notification takes them.  An entry notification may wait for a request
 * in that folder (a lookup holds the folder's lock while it waits for our
 * answer), which the session's threads answer as long as the session
 * serves: this thread is stopped before the session stops serving
 * (fs_stop.c), and nothing is asked once the session is exiting (what is
 * still queued is dropped).
 *
 * The queue is bounded and never blocks the caller: a full queue drops the
 * request.  A dropped inode costs only the cleanup (the kernel drops the
 * pages when it reclaims them); a dropped name stays cached for at most
 * FS_TIMEOUT (it takes 256 folder changes queued at once).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define FS_INVAL_MAX 256        /* queued requests */
#define FS_INVAL_CHUNK 64       /* names of a folder read at a time */

enum fs_inval_kind { FS_INVAL_INODE, FS_INVAL_ENTRY, FS_INVAL_CHILDREN };

struct fs_inval_item {
    enum fs_inval_kind kind;
    fuse_ino_t ino;             /* the inode, or the folder */
    char name[STORE_NAME_MAX + 1];      /* FS_INVAL_ENTRY */
};

struct fs_inval {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    atomic_bool stop;
    bool joined;
    size_t head, count;
    struct fs_inval_item queue[FS_INVAL_MAX];
};

/* Names of one folder, read a chunk at a time (store_readdir callback). */
struct fs_inval_names {
    size_t n;
    uint64_t last;              /* cookie of the last name taken */
    char name[FS_INVAL_CHUNK][STORE_NAME_MAX + 1];
};

static int fs_inval_name_fn(const char *name, size_t len,
                            const struct store_attr *a, uint64_t cookie,
                            void *arg)
{
    struct fs_inval_names *nm = arg;

    (void)a;
    if (nm->n == FS_INVAL_CHUNK)
        return 1;
    if (len > STORE_NAME_MAX)
        len = STORE_NAME_MAX;
    memcpy(nm->name[nm->n], name, len);
    nm->name[nm->n][len] = '\0';
    nm->n++;
    nm->last = cookie;
    return 0;
}

/* Every name in folder `dir`, a chunk at a time: the store is read, then
 * (with no store lock held) the kernel is told, so a notification that
 * waits for a request in the folder never waits for us. */
static void fs_inval_children_now(struct fs_ctx *c, struct fs_inval *v,
                                  fuse_ino_t dir)
{
    struct fs_inval_names *nm = malloc(sizeof(*nm));
    store_tenant *t;
    uint64_t local, after = 0;

    if (nm == NULL || fs_ino_resolve(c, dir, &t, &local) != 0) {
        free(nm);
        return;
    }
    do {
        nm->n = 0;
        if (store_readdir(t, local, after, false, fs_inval_name_fn, nm) !=
            STORE_OK)
            break;
        for (size_t i = 0; i < nm->n && !atomic_load(&v->stop) &&
                           !fuse_session_exited(c->se); i++)
            (void)fuse_lowlevel_notify_inval_entry(c->se, dir, nm->name[i],
                                                   strlen(nm->name[i]));
        after = nm->last;
    } while (nm->n == FS_INVAL_CHUNK && !atomic_load(&v->stop) &&
             !fuse_session_exited(c->se));
    free(nm);
}

static void *fs_inval_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct fs_inval *v = c->inval;
    struct fs_inval_item it;

    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (!v->stop && v->count == 0)
            pthread_cond_wait(&v->cond, &v->lock);
        if (v->stop)
            break;
        it = v->queue[v->head];
        v->head = (v->head + 1) % FS_INVAL_MAX;
        v->count--;
        pthread_mutex_unlock(&v->lock);
        /* ENOENT: the kernel does not cache it, nothing to drop. */
        if (!fuse_session_exited(c->se)) {
            if (it.kind == FS_INVAL_INODE)
                (void)fuse_lowlevel_notify_inval_inode(c->se, it.ino, 0, 0);
            else if (it.kind == FS_INVAL_ENTRY)
                (void)fuse_lowlevel_notify_inval_entry(c->se, it.ino, it.name,
                                                       strlen(it.name));
            else
                fs_inval_children_now(c, v, it.ino);
        }
        pthread_mutex_lock(&v->lock);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

int fs_inval_start(struct fs_ctx *c)
{
    struct fs_inval *v;
    sigset_t all, old;
    int rc;

    c->inval = NULL;
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return ENOMEM;
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return ENOMEM;
    }
    if (pthread_cond_init(&v->cond, NULL) != 0) {
        pthread_mutex_destroy(&v->lock);
        free(v);
        return ENOMEM;
    }
    c->inval = v;
    /* Signals belong to the main thread and fs_stop.c. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&v->thread, NULL, fs_inval_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        c->inval = NULL;
        pthread_cond_destroy(&v->cond);
        pthread_mutex_destroy(&v->lock);
        free(v);
        return rc;
    }
    return 0;
}

static void fs_inval_queue(struct fs_ctx *c, const struct fs_inval_item *it)
{
    struct fs_inval *v = c->inval;
    bool queued = false;

    if (v == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    if (v->stop) {
        pthread_mutex_unlock(&v->lock);
        return;
    }
    /* Already queued: once is enough. */
    for (size_t i = 0; i < v->count && !queued; i++) {
        const struct fs_inval_item *q = &v->queue[(v->head + i) % FS_INVAL_MAX];

        queued = q->kind == it->kind && q->ino == it->ino &&
                 (it->kind != FS_INVAL_ENTRY || strcmp(q->name, it->name) == 0);
    }
    if (!queued && v->count < FS_INVAL_MAX) {
        v->queue[(v->head + v->count) % FS_INVAL_MAX] = *it;
        v->count++;
        pthread_cond_signal(&v->cond);
    }
    pthread_mutex_unlock(&v->lock);
}

void fs_inval_inode(struct fs_ctx *c, fuse_ino_t ino)
{
    struct fs_inval_item it = { .kind = FS_INVAL_INODE, .ino = ino };

    fs_inval_queue(c, &it);
}

void fs_inval_entry(struct fs_ctx *c, fuse_ino_t parent, const char *name)
{
    struct fs_inval_item it = { .kind = FS_INVAL_ENTRY, .ino = parent };
    size_t len = strlen(name);

    if (len > STORE_NAME_MAX)
        return;
    memcpy(it.name, name, len + 1);
    fs_inval_queue(c, &it);
}

void fs_inval_children(struct fs_ctx *c, fuse_ino_t dir)
{
    struct fs_inval_item it = { .kind = FS_INVAL_CHILDREN, .ino = dir };

    fs_inval_queue(c, &it);
}

void fs_inval_moved_in(struct fs_ctx *c, store_tenant *t, fuse_ino_t dir,
                       uint64_t local, const char *name)
{
    double timeout;

    if (fs_child_timeout_now(t, local, &timeout) == 0 && timeout == 0)
        fs_inval_entry(c, dir, name);
}

void fs_inval_stop(struct fs_ctx *c)
{
    struct fs_inval *v;

    if (c == NULL || c->inval == NULL || c->inval->joined)
        return;
    v = c->inval;
    pthread_mutex_lock(&v->lock);
    atomic_store(&v->stop, true);
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    v->joined = true;
}

void fs_inval_free(struct fs_ctx *c)
{
    struct fs_inval *v;

    if (c == NULL || c->inval == NULL)
        return;
    fs_inval_stop(c);
    v = c->inval;
    c->inval = NULL;
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}
