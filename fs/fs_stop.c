/*
 * fs_stop.c - an orderly stop on SIGTERM, SIGINT or SIGHUP.
 *
 * Two threads of the daemon talk to the kernel outside requests: the admin
 * thread (fs_admin.c: a tenant closed with `tenantctl tenant chmod` makes
 * the kernel forget its name) and the invalidation thread (fs_inval.c).
 * A notification about a name takes the kernel's lock of the folder, which
 * a request in that folder holds until the session answers it.  Were the
 * session to stop serving first (libfuse's own handlers stop it from the
 * signal handler), such a request would never be answered, the
 * notification would never return, and joining the thread would hang the
 * daemon.
 *
 * So the three signals are blocked in every thread (fs_stop_block(), in main
 * before any thread exists) and taken here, by a thread
 * that sigwait()s: on a stop it first stops and joins those two
 * threads, while the session still serves, and only then ends the session
 * (fuse_session_exit) and wakes the main thread out of libfuse's loop with
 * FS_SIG_WAKE, whose handler does nothing (the loop's sem_wait returns
 * EINTR and sees the session exited).  A signal that comes before this
 * thread starts stays pending until it does; one during startup that
 * fails is moot.
 *
 * An unmount (fusermount3 -u) ends the loop without a signal: the kernel
 * has ended the connection, so notifications fail at once, and the main
 * thread stops this thread with FS_SIG_QUIT.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "fs.h"

#define FS_SIG_WAKE (SIGRTMIN)      /* to the main thread: look again */
#define FS_SIG_QUIT (SIGRTMIN + 1)  /* to this thread: the loop ended */

static void fs_stop_wake_handler(int sig)
{
    (void)sig;
}

static void fs_stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, FS_SIG_QUIT);
}

static void *fs_stop_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    sigset_t set;
    int sig = 0;

    fs_stop_set(&set);
    while (sigwait(&set, &sig) != 0)
        ;
    if (sig == FS_SIG_QUIT)
        return NULL;
    fs_admin_stop(c);
    fs_inval_stop(c);
    fuse_session_exit(c->se);
    /* Until the main thread is out of the loop: a wake-up that comes just
     * before its sem_wait would otherwise be lost. */
    while (!atomic_load(&c->served)) {
        pthread_kill(c->main_thread, FS_SIG_WAKE);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

void fs_stop_block(void)
{
    sigset_t set;

    fs_stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int fs_stop_start(struct fs_ctx *c)
{
    struct sigaction sa;
    sigset_t set, all, old;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fs_stop_wake_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(FS_SIG_WAKE, &sa, NULL) != 0)
        return errno;
    c->main_thread = pthread_self();
    atomic_store(&c->served, false);
    fs_stop_set(&set);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
        return rc;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->stopper, NULL, fs_stop_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        return rc;
    }
    c->stopper_started = true;
    return 0;
}

void fs_stop_join(struct fs_ctx *c)
{
    if (!c->stopper_started)
        return;
    atomic_store(&c->served, true);
    pthread_kill(c->stopper, FS_SIG_QUIT);
    pthread_join(c->stopper, NULL);
    c->stopper_started = false;
}
