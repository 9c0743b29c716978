/*
 * fs_main.c - the tenantfs daemon: command line, passphrase, daemonizing,
 * the FUSE session and its table of operations.
 *
 * Owns the order of start-up, which matters:
 *
 *   1. parse our options (passfile=, keyfile=, commit=MS, and the generic
 *      mount options mount.fuse3 passes along) and libfuse's; create the
 *      session, so that an unknown or malformed option is a usage error
 *      (exit 2) before anything else;
 *   2. read the passphrase while the terminal is still ours;
 *   3. fork (unless -f/-d): the parent waits on a pipe and exits 0 once the
 *      child writes "ok", or prints the child's one error line and exits 1;
 *   4. in the child: setsid, open the store with the daemon lock (LMDB
 *      environments must be opened after the fork), wipe the passphrase,
 *      set the journal's flush interval (commit=MS), mount, report "ok", detach stdio, log to syslog, serve.
 *
 * On the way out the session is unmounted and destroyed before the store is
 * closed, which flushes it and wipes its keys.  Exit codes as docs/cli.md:
 * 0 success, 1 failure (one line on stderr), 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"

#ifndef TENANTFS_VERSION
#define TENANTFS_VERSION "unknown"
#endif

enum { FS_EXIT_OK = 0, FS_EXIT_FAIL = 1, FS_EXIT_USAGE = 2 };

/* ===================================================================== */
/* Options                                                               */
/* ===================================================================== */

struct fs_opts {
    char *passfile;             /* -o passfile=FILE or keyfile=FILE */
    char *commit;               /* -o commit=MS, checked by fs_commit_parse */
    char *store;                /* first non-option argument */
    bool ro;                    /* -o ro: the store is opened read-only too */
    const char *mnt;            /* second non-option, as given (for errors) */
    int nonopts;                /* number of non-option arguments */
};

enum { FS_KEY_DISCARD = 1, FS_KEY_RO, FS_KEY_RW };

#define FS_OPT(t, field) { t, offsetof(struct fs_opts, field), 1 }

static const struct fuse_opt fs_opt_spec[] = {
    FS_OPT("passfile=%s", passfile),
    FS_OPT("keyfile=%s", passfile),
    FS_OPT("commit=%s", commit),
    FUSE_OPT_KEY("ro", FS_KEY_RO),      /* kept for the kernel as well */
    FUSE_OPT_KEY("rw", FS_KEY_RW),
    /* fstab/mount(8) options with no meaning for a FUSE session. */
    FUSE_OPT_KEY("nofail", FS_KEY_DISCARD),
    FUSE_OPT_KEY("_netdev", FS_KEY_DISCARD),
    FUSE_OPT_KEY("auto", FS_KEY_DISCARD),
    FUSE_OPT_KEY("noauto", FS_KEY_DISCARD),
    FUSE_OPT_KEY("user", FS_KEY_DISCARD),
    FUSE_OPT_KEY("nouser", FS_KEY_DISCARD),
    FUSE_OPT_KEY("users", FS_KEY_DISCARD),
    FUSE_OPT_KEY("owner", FS_KEY_DISCARD),
    FUSE_OPT_KEY("group", FS_KEY_DISCARD),
    FUSE_OPT_KEY("defaults", FS_KEY_DISCARD),
    FUSE_OPT_KEY("comment=", FS_KEY_DISCARD),
    FUSE_OPT_END
};

static int fs_opt_proc(void *data, const char *arg, int key,
                       struct fuse_args *outargs)
{
    struct fs_opts *o = data;

    (void)outargs;
    switch (key) {
    case FS_KEY_DISCARD:
        return 0;
    case FS_KEY_RO:
    case FS_KEY_RW:
        o->ro = (key == FS_KEY_RO);
        return 1;
    case FUSE_OPT_KEY_NONOPT:
        if (++o->nonopts == 2)
            o->mnt = arg;
        if (o->store == NULL) {
            o->store = strdup(arg);
            return o->store == NULL ? -1 : 0;
        }
        return 1;               /* the mountpoint: libfuse's */
    case FUSE_OPT_KEY_OPT:
        if (strncmp(arg, "x-", 2) == 0)
            return 0;           /* x-systemd.* and friends */
        return 1;
    default:
        return 1;
    }
}

static void fs_usage(FILE *f)
{
    fprintf(f,
            "usage: tenantfs STORE MOUNTPOINT [-f] [-d] [-s] [-o OPTION,...]\n"
            "       tenantfs --help | --version\n"
            "\n"
            "Serve the encrypted tenantfs store in folder STORE at\n"
            "MOUNTPOINT.\n"
            "\n"
            "tenantfs options:\n"
            "    -o passfile=FILE       passphrase is FILE's first line\n"
            "    -o keyfile=FILE        same as passfile=FILE\n"
            "    -o commit=MS           flush the journal to disk every MS\n"
            "                           milliseconds when nobody asks\n"
            "                           (1..60000, default 100; fsync\n"
            "                           always flushes at once)\n"
            "Without passfile, the passphrase is asked on the terminal.\n"
            "\n");
}

/* Add "-o NAME=VALUE" to the session's arguments, escaping ',' and '\'. */
static int fs_args_add_opt(struct fuse_args *args, const char *name,
                           const char *value)
{
    size_t n = strlen(name) + 2 * strlen(value) + 5;
    char *buf = malloc(n);
    char *p;
    int rc;

    if (buf == NULL)
        return -1;
    p = buf + sprintf(buf, "-o%s=", name);
    for (const char *v = value; *v != '\0'; v++) {
        if (*v == ',' || *v == '\\')
            *p++ = '\\';
        *p++ = *v;
    }
    *p = '\0';
    rc = fuse_opt_add_arg(args, buf);
    free(buf);
    return rc;
}

/* ===================================================================== */
/* Reporting and daemonizing                                             */
/* ===================================================================== */

/* Where start-up errors go: stderr, or the pipe to the waiting parent. */
static int fs_report_fd = STDERR_FILENO;

static void fs_fail(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    (void)!write(fs_report_fd, line, (size_t)n);
}

static void fs_log_syslog(int priority, const char *msg)
{
    syslog(priority, "%s", msg);
}

/* Fork.  Returns in the child (0) or on failure (-1); the parent wipes its
 * copy of the passphrase, exits with the child's verdict and never returns. */
static int fs_daemon_fork(char *pass, size_t passlen)
{
    char buf[1024];
    size_t got = 0;
    int fds[2], status;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        fs_report_fd = fds[1];
        if (setsid() < 0)
            return -1;
        return 0;
    }
    close(fds[1]);
    store_secret_free(pass, passlen);
    for (;;) {
        ssize_t n = read(fds[0], buf + got, sizeof(buf) - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= 3 && memcmp(buf, "ok\n", 3) == 0)
            _exit(FS_EXIT_OK);
        if (got == sizeof(buf) - 1)
            break;
    }
    buf[got] = '\0';
    if (got > 0)
        fputs(buf, stderr);
    else
        fputs("tenantfs: daemon: exited before mounting\n", stderr);
    (void)waitpid(pid, &status, 0);
    exit(FS_EXIT_FAIL);
}

/* Tell the parent we are serving; detach from the terminal. */
static void fs_daemon_ready(void)
{
    int fd;

    (void)!write(fs_report_fd, "ok\n", 3);
    close(fs_report_fd);
    fs_report_fd = -1;
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    (void)!chdir("/");
    openlog("tenantfs", LOG_PID, LOG_DAEMON);
    store_set_log(fs_log_syslog);
}

/* ===================================================================== */
/* main                                                                  */
/* ===================================================================== */

/* The journal flush interval of -o commit=MS: a decimal integer in
 * FS_COMMIT_MS_MIN..FS_COMMIT_MS_MAX.  Returns 0 and sets *ms (0 when the
 * option is absent: the store's default), or -1 after saying why. */
enum { FS_COMMIT_MS_MIN = 1, FS_COMMIT_MS_MAX = 60000 };

static int fs_commit_parse(const char *arg, unsigned *ms)
{
    unsigned long v = 0;
    const char *p = arg;

    *ms = 0;
    if (arg == NULL)
        return 0;
    if (*p == '\0')
        goto bad;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > FS_COMMIT_MS_MAX)
            goto bad;
    }
    if (v < FS_COMMIT_MS_MIN)
        goto bad;
    *ms = (unsigned)v;
    return 0;
bad:
    fs_fail("tenantfs: usage: commit=%s: expected milliseconds, an integer "
            "from %d to %d (see tenantfs --help)", arg, FS_COMMIT_MS_MIN,
            FS_COMMIT_MS_MAX);
    return -1;
}

/* Every tenant the daemon serves keeps its LMDB env open, and an env holds
 * three descriptors: with the common soft limit of 1024, tenants past about
 * 340 (all of them are opened by a listing of the mount root) failed with
 * EIO.  Raise the soft limit to the hard one; a failure leaves it as is. */
static void fs_nofile_raise(void)
{
    struct rlimit rl;
    rlim_t want;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > ((rlim_t)1 << 20))
        want = (rlim_t)1 << 20;             /* the kernel's usual nr_open */
    if (want <= rl.rlim_cur)
        return;
    rl.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Open the store and report why not, as docs/cli.md words it. */
static int fs_store_open(const char *arg, const char *dir, bool ro,
                         char *pass, size_t len, store **out)
{
    unsigned flags = STORE_OPEN_DAEMON | (ro ? STORE_OPEN_RDONLY : 0u);
    store_err e = store_open(dir, pass, len, flags, out);

    store_secret_free(pass, len);
    if (e == STORE_OK)
        return 0;
    if (e == STORE_EBUSY)
        fs_fail("tenantfs: %s is already served by another tenantfs (pid %ld)",
                arg, (long)store_busy_pid(dir));
    else if (e == STORE_EBADKEY)
        fs_fail("tenantfs: opening %s: wrong passphrase", arg);
    else
        fs_fail("tenantfs: opening %s: %s", arg, store_strerror(e));
    return -1;
}

static int fs_serve(struct fuse_session *se, const struct fuse_cmdline_opts *cl)
{
    struct fuse_loop_config *cfg;
    int rc;

    if (cl->singlethread)
        return fuse_session_loop(se);
    cfg = fuse_loop_cfg_create();
    if (cfg == NULL)
        return -1;
    fuse_loop_cfg_set_clone_fd(cfg, (unsigned)cl->clone_fd);
    fuse_loop_cfg_set_max_threads(cfg, cl->max_threads);
    if (cl->max_idle_threads != UINT_MAX)
        fuse_loop_cfg_set_idle_threads(cfg, cl->max_idle_threads);
    rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    /* Reading /dev/fuse failed with ECONNABORTED: seen twice in full runs
     * of the test suite, after a lazy unmount under load, cause not found
     * (an abort through fusectl gives ENODEV here, which libfuse takes
     * for an unmount).  Nothing more can be served, but nothing is lost
     * either, and the journal drains as after an unmount. */
    if (rc == -ECONNABORTED) {
        if (cl->foreground)
            fprintf(stderr, "tenantfs: the kernel ended the connection "
                    "(ECONNABORTED); stopping as after an unmount\n");
        else
            syslog(LOG_NOTICE, "the kernel ended the connection "
                   "(ECONNABORTED); stopping as after an unmount");
        rc = 0;
    }
    return rc;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts cl;
    struct fs_opts opts = { 0 };
    struct fs_ctx ctx = { 0 };
    struct fuse_session *se = NULL;
    char *dir = NULL, *pass = NULL, prompt[PATH_MAX + 64];
    size_t passlen = 0;
    unsigned commit_ms = 0;
    bool mounted = false, signals = false;
    int ret = FS_EXIT_USAGE;
    store_err e;
    int e2;

    memset(&cl, 0, sizeof(cl));
    if (fuse_opt_parse(&args, &opts, fs_opt_spec, fs_opt_proc) != 0)
        goto out;
    if (fuse_parse_cmdline(&args, &cl) != 0) {
        /* With exactly STORE and MOUNTPOINT, libfuse failed on resolving
         * the mountpoint: a failure, not a usage error. */
        if (opts.nonopts == 2 && opts.mnt != NULL &&
            access(opts.mnt, F_OK) != 0) {
            fs_fail("tenantfs: mountpoint %s: %s", opts.mnt, strerror(errno));
            ret = FS_EXIT_FAIL;
        }
        goto out;
    }
    if (cl.show_help) {
        fs_usage(stdout);
        fuse_cmdline_help();
        fuse_lowlevel_help();
        ret = FS_EXIT_OK;
        goto out;
    }
    if (cl.show_version) {
        printf("tenantfs version %s\n", TENANTFS_VERSION);
        printf("FUSE library version %s\n", fuse_pkgversion());
        ret = FS_EXIT_OK;
        goto out;
    }
    if (opts.store == NULL || cl.mountpoint == NULL) {
        fs_fail("tenantfs: usage: missing %s (see tenantfs --help)",
                opts.store == NULL ? "STORE and MOUNTPOINT" : "MOUNTPOINT");
        goto out;
    }
    if (fs_commit_parse(opts.commit, &commit_ms) != 0)
        goto out;

    ret = FS_EXIT_FAIL;
    dir = realpath(opts.store, NULL);
    if (dir == NULL) {
        fs_fail("tenantfs: %s: %s", opts.store, strerror(errno));
        goto out;
    }
    /* default_permissions: the kernel checks the mode bits too, with the
     * attributes it caches, so it may cache names in every folder (a path
     * walk through cached names is checked by it); the daemon checks every
     * request as well (fs_perm.c; docs/permissions.md). */
    if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0 ||
        fs_args_add_opt(&args, "fsname", dir) != 0 ||
        fuse_opt_add_arg(&args, "-osubtype=tenantfs") != 0) {
        fs_fail("tenantfs: options: out of memory");
        goto out;
    }
    if (fs_open_ctx_init(&ctx) != 0 || fs_snap_init(&ctx) != 0 ||
        fs_alias_init(&ctx) != 0) {
        fs_fail("tenantfs: starting: out of memory");
        goto out;
    }
    clock_gettime(CLOCK_REALTIME, &ctx.mounted);
    se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &ctx);
    ctx.se = se;
    if (se == NULL) {
        ret = FS_EXIT_USAGE;    /* libfuse said which option it refused */
        goto out;
    }

    snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", opts.store);
    e = store_secret_read(opts.passfile, prompt, &pass, &passlen);
    if (e != STORE_OK) {
        if (opts.passfile == NULL && e == STORE_EINVAL)
            fs_fail("tenantfs: reading passphrase: no passfile given and "
                    "stdin is not a terminal");
        else if (opts.passfile != NULL)
            fs_fail("tenantfs: reading passfile %s: %s", opts.passfile,
                    e == STORE_ENOENT || e == STORE_EACCES
                        ? strerror(fs_errno(e)) : store_strerror(e));
        else
            fs_fail("tenantfs: reading passphrase: %s", store_strerror(e));
        goto out;
    }

    if (!cl.foreground && fs_daemon_fork(pass, passlen) != 0) {
        store_secret_free(pass, passlen);
        fs_fail("tenantfs: daemonizing: %s", strerror(errno));
        goto out;
    }
    fs_nofile_raise();
    /* Before the first thread (the store's writer), so that every thread
     * inherits the mask and only fs_stop.c's takes these signals; after
     * the passphrase prompt, which ^C still interrupts. */
    fs_stop_block();
    if (fs_store_open(opts.store, dir, opts.ro, pass, passlen, &ctx.store) != 0)
        goto out;
    if (commit_ms != 0 && (e = store_set_commit_ms(ctx.store, commit_ms)) != STORE_OK) {
        fs_fail("tenantfs: setting commit=%u: %s", commit_ms, store_strerror(e));
        goto out;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        fs_fail("tenantfs: installing signal handlers: failed");
        goto out;
    }
    signals = true;
    if (fuse_session_mount(se, cl.mountpoint) != 0) {
        fs_fail("tenantfs: mounting on %s: failed", cl.mountpoint);
        goto out;
    }
    mounted = true;
    if ((e2 = -fs_io_attach(se)) != 0) {
        fs_fail("tenantfs: starting: %s", strerror(e2));
        goto out;
    }
    if ((e2 = fs_inval_start(&ctx)) != 0) {
        fs_fail("tenantfs: starting: %s", strerror(e2));
        goto out;
    }
    /* Live tenant administration: after the mount, so that a command it
     * serves can tell the kernel to drop cached attributes. */
    if ((e2 = fs_admin_start(&ctx)) != 0) {
        fs_fail("tenantfs: admin socket: %s", strerror(e2));
        goto out;
    }
    if ((e2 = fs_stop_start(&ctx)) != 0) {
        fs_fail("tenantfs: starting: %s", strerror(e2));
        goto out;
    }
    if (!cl.foreground) {
        fs_daemon_ready();
        syslog(LOG_INFO, "serving %s on %s", dir, cl.mountpoint);
    }

    /* A stop by SIGTERM, SIGINT or SIGHUP (fs_stop.c) drains the journal
     * like an unmount. */
    ret = fs_serve(se, &cl) >= 0 ? FS_EXIT_OK : FS_EXIT_FAIL;
    if (!cl.foreground)
        syslog(LOG_INFO, "stopped serving %s on %s", dir, cl.mountpoint);
out:
    /* Both threads may be talking to the kernel: stop them before the
     * unmount, which closes the session's descriptor (after a signal,
     * fs_stop.c stopped them while the session still served). */
    fs_stop_join(&ctx);
    fs_admin_stop(&ctx);
    fs_inval_free(&ctx);
    if (mounted)
        fuse_session_unmount(se);
    if (signals)
        fuse_remove_signal_handlers(se);
    if (se != NULL)
        fuse_session_destroy(se);
    fs_snap_free(&ctx);         /* its handles before the store */
    store_close(ctx.store);
    fs_open_ctx_free(&ctx);
    fs_alias_free(&ctx);
    free(dir);
    free(opts.store);
    free(opts.passfile);
    free(opts.commit);
    free(cl.mountpoint);
    fuse_opt_free_args(&args);
    return ret;
}
