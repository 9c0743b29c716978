/*
 * fs_inval.c - cache invalidations the kernel must be asked for from
 * outside a request handler, on a thread of their own.
 *
 * One case today: with the writeback cache, a WRITE that is part of the
 * kernel's writeback (fi->writepage) and that the store refuses (EDQUOT)
 * leaves the refused data in the kernel's page cache, as clean pages where
 * readers keep finding it although it was never stored.  fs_op_write()
 * marks the inode (fs_open_refused) and its last release queues it here;
 * this thread then asks the kernel to drop the inode's cached pages and
 * attributes (fuse_lowlevel_notify_inval_inode), so the next read gets
 * what the store holds.
 *
 * Why not at once, from the WRITE handler: the kernel holds the locks of
 * the pages being written back until it has our reply, and the
 * invalidation waits for them.  Why only after the last release, from
 * this thread: an invalidation also waits for pages that are being read
 * or written back (and writes dirty ones back first), that is for
 * requests only the session's threads answer.  After the last release the
 * kernel has written every dirty page back (it does so before sending
 * RELEASE) and no read is under way (reads need an open file), so the
 * notification waits for nothing of ours; were it to wait while the
 * session stops serving (SIGTERM), fs_inval_stop(), which joins this
 * thread, would hang the daemon.  For the same reason nothing is asked
 * once the session is exiting: what is still queued is dropped.
 *
 * The queue is bounded and never blocks the caller: a full queue drops
 * the request, which costs only the cleanup (the kernel drops the pages
 * when it reclaims them).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "fs.h"

#define FS_INVAL_MAX 256        /* queued inodes */

struct fs_inval {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;
    size_t head, count;
    fuse_ino_t queue[FS_INVAL_MAX];
};

static void *fs_inval_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct fs_inval *v = c->inval;
    fuse_ino_t ino;

    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (!v->stop && v->count == 0)
            pthread_cond_wait(&v->cond, &v->lock);
        if (v->stop)
            break;
        ino = v->queue[v->head];
        v->head = (v->head + 1) % FS_INVAL_MAX;
        v->count--;
        pthread_mutex_unlock(&v->lock);
        /* ENOENT: the kernel no longer has the inode, nothing to drop. */
        if (!fuse_session_exited(c->se))
            (void)fuse_lowlevel_notify_inval_inode(c->se, ino, 0, 0);
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
    /* Signals belong to the main thread (libfuse's handlers). */
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

void fs_inval_inode(struct fs_ctx *c, fuse_ino_t ino)
{
    struct fs_inval *v = c->inval;

    if (v == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    if (!v->stop && v->count < FS_INVAL_MAX) {
        bool queued = false;

        /* Already queued: once is enough. */
        for (size_t i = 0; i < v->count && !queued; i++)
            queued = v->queue[(v->head + i) % FS_INVAL_MAX] == ino;
        if (!queued) {
            v->queue[(v->head + v->count) % FS_INVAL_MAX] = ino;
            v->count++;
            pthread_cond_signal(&v->cond);
        }
    }
    pthread_mutex_unlock(&v->lock);
}

void fs_inval_stop(struct fs_ctx *c)
{
    struct fs_inval *v;

    if (c == NULL || c->inval == NULL)
        return;
    v = c->inval;
    pthread_mutex_lock(&v->lock);
    v->stop = true;
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    c->inval = NULL;
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}
