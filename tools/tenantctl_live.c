/*
 * tenantctl_live.c - how a `tenantctl tenant` command reaches a store that
 * a tenantfs daemon is serving: it sends the request over STORE/admin.sock
 * (admin/admin.h) and the daemon performs it with its own keys, so no
 * passphrase is needed and the change applies at once in the mounted
 * filesystem.  When nothing listens there (no socket, or a stale one left
 * by a daemon that died), the command opens the store itself.
 *
 * It also owns the wording of the errors every tenant command shares,
 * whichever way it went: "tenant 'NAME' already exists", "... does not
 * exist", "... has open files", and the daemon that cannot be reached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "store.h"
#include "tenantctl.h"

#define CTL_LIVE_WAIT_MS 3000   /* a starting daemon: how long to retry */
#define CTL_LIVE_STEP_MS 50

/* The messages about one tenant that do not depend on the way taken. */
static bool ctl_tenant_errno_print(const char *cmd, const char *name, int code)
{
    if (!name)
        return false;
    switch (code) {
    case EEXIST:
        ctl_err_print("%s: tenant '%s' already exists", cmd, name);
        return true;
    case ENOENT:
        ctl_err_print("%s: tenant '%s' does not exist", cmd, name);
        return true;
    default:
        return false;
    }
}

int ctl_tenant_store_fail(const char *cmd, const char *dir, const char *name,
                          store_err e)
{
    pid_t pid;

    switch (e) {
    case STORE_EEXIST:
    case STORE_ENOENT:
        if (!ctl_tenant_errno_print(cmd, name, e == STORE_EEXIST ? EEXIST : ENOENT))
            ctl_err_print("%s: %s", cmd, store_strerror(e));
        break;
    case STORE_EBUSY:
        /* A tool may not change what a daemon serves; it was not reachable. */
        pid = store_busy_pid(dir);
        if (pid > 0)
            ctl_err_print("%s: %s is served by tenantfs (pid %ld), which does "
                          "not answer on %s/%s", cmd, dir, (long)pid, dir,
                          ADMIN_SOCK_NAME);
        else
            ctl_err_print("%s: %s is served by a tenantfs daemon, which does "
                          "not answer on %s/%s", cmd, dir, dir, ADMIN_SOCK_NAME);
        break;
    default:
        ctl_err_print("%s: %s", cmd, store_strerror(e));
        break;
    }
    return CTL_EXIT_FAIL;
}

/* Does a daemon hold the store's lock?  Then a missing socket means it is
 * still starting.  The pid written in the lock file is checked cheaply
 * first (a daemon killed long ago leaves it behind); then whether that
 * daemon still holds the lock, which store_journal_stats_read() tells
 * without a key. */
static bool ctl_daemon_alive(const char *dir)
{
    struct store_journal_stats st;
    pid_t pid = store_busy_pid(dir), holder = 0;

    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    return store_journal_stats_read(dir, &st, &holder) == STORE_OK && holder > 0;
}

static void ctl_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int ctl_live_call(const char *cmd, const char *dir, const char *name,
                  const char *verb, int nargs, const char *const *args,
                  ctl_row_fn fn, void *arg)
{
    return ctl_live_call_code(cmd, dir, name, verb, nargs, args, fn, arg,
                              NULL);
}

int ctl_live_call_code(const char *cmd, const char *dir, const char *name,
                       const char *verb, int nargs, const char *const *args,
                       ctl_row_fn fn, void *arg, int *code)
{
    struct admin_result res;
    int rc, waited = 0;

    for (;;) {
        rc = admin_call(dir, verb, nargs, args, fn, arg, &res);
        if (rc != ENOENT && rc != ECONNREFUSED)
            break;
        /* Nothing listens.  A daemon that is starting (it holds the lock,
         * its socket is not there yet) is worth a short wait; otherwise
         * the store is not served: open it. */
        if (waited >= CTL_LIVE_WAIT_MS || !ctl_daemon_alive(dir))
            return CTL_GO;
        ctl_sleep_ms(CTL_LIVE_STEP_MS);
        waited += CTL_LIVE_STEP_MS;
    }
    if (rc == ENOTDIR)
        return CTL_GO;            /* not a folder: store_open() says so */
    if (rc == EACCES || rc == EPERM) {
        ctl_err_print("%s: %s/%s: %s (only root or the daemon's user may "
                      "administer a mounted store)", cmd, dir, ADMIN_SOCK_NAME,
                      strerror(rc));
        return CTL_EXIT_FAIL;
    }
    if (rc == ECANCELED)
        return CTL_EXIT_FAIL;     /* fn stopped the reading: its caller says why */
    if (rc == EPROTO) {
        ctl_err_print("%s: the tenantfs daemon serving %s sent a malformed "
                      "reply", cmd, dir);
        return CTL_EXIT_FAIL;
    }
    if (rc != 0) {
        ctl_err_print("%s: talking to the tenantfs daemon serving %s: %s",
                      cmd, dir, strerror(rc));
        return CTL_EXIT_FAIL;
    }
    if (res.code == 0)
        return CTL_EXIT_OK;
    if (code != NULL) {
        *code = res.code;         /* the caller says it */
        return CTL_EXIT_FAIL;
    }
    if (ctl_tenant_errno_print(cmd, name, res.code))
        return CTL_EXIT_FAIL;
    if (res.code == EBUSY && name && strcmp(verb, "remove") == 0)
        ctl_err_print("%s: tenant '%s' has open files", cmd, name);
    else if (res.code == EPERM)
        ctl_err_print("%s: the tenantfs daemon serving %s refused: %s", cmd,
                      dir, res.msg);
    else
        ctl_err_print("%s: %s", cmd, res.msg);
    return CTL_EXIT_FAIL;
}
