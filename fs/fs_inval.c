/*
 * fs_inval.c - cache invalidations the kernel must be asked for from
 * outside a request handler, on a thread of their own.
 *
 * Two cases:
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
 *     it cached below it.  A tenant's name at the mount root is cached
 *     only while everyone may search the tenant (fs_root_entry: the tenant
 *     gate hides it from the others); a chmod or chown through the mount
 *     that closes the tenant must have the kernel forget it.
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
 * FS_TIMEOUT (it takes 256 requests queued at once).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define FS_INVAL_MAX 256        /* queued requests */

enum fs_inval_kind { FS_INVAL_INODE, FS_INVAL_ENTRY };

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
            else
                (void)fuse_lowlevel_notify_inval_entry(c->se, it.ino, it.name,
                                                       strlen(it.name));
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
