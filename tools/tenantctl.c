/*
 * tenantctl.c - the administration tool of tenantfs: main(), the command
 * table, option parsing shared by every command, and the helpers every
 * command needs: reading a passphrase (from a passfile or the terminal,
 * asked twice when it is a new one), opening the store with it, and
 * printing one "tenantctl: STEP: REASON" line when a step fails.  The usage
 * texts are in tenantctl_usage.c.  The
 * `init` and `passwd` commands live here; the `tenant` commands live in
 * tenantctl_tenant.c and tenantctl_list.c (reaching a running daemon in
 * tenantctl_live.c), `stats` in tenantctl_stats.c, `check` in
 * tenantctl_check.c.
 *
 * tenantctl links store/ and admin/ only; all storage logic stays in store/.
 * It opens the store without STORE_OPEN_DAEMON.  While a daemon serves the
 * store, the tenant commands are sent to that daemon over its admin socket
 * instead (admin/admin.h): nothing but the daemon writes the registry then.
 *
 * Exit status (docs/cli.md): 0 success, 1 the operation failed (one line on
 * stderr), 2 usage error.  Passphrases are wiped with store_secret_free() as
 * soon as the store call that needs them returns, and never printed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "store.h"

#ifndef TENANTFS_VERSION
#define TENANTFS_VERSION "unknown"
#endif

#include "tenantctl.h"

/* ===================================================================== */
/* Messages                                                               */
/* ===================================================================== */

/* One line "tenantctl: STEP: REASON" on stderr; `fmt` gives "STEP: REASON". */
void ctl_err_print(const char *fmt, ...)
{
    va_list ap;

    fputs("tenantctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A usage error: one line naming the problem, the hint, exit status 2. */
int ctl_usage_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("tenantctl: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'tenantctl --help'\n", stderr);
    return CTL_EXIT_USAGE;
}

/* The store's own messages (damage found, recovery): warnings and errors
 * only, under our name.  They carry ids and inode numbers, never secrets. */
static void ctl_log_write(int priority, const char *msg)
{
    if (priority <= LOG_WARNING)
        fprintf(stderr, "tenantctl: %s\n", msg);
}

/* A progress bar on stderr while it is a terminal (store_progress_fn);
 * nothing when piped.  Tenant names go to the terminal of the operator
 * who holds the passphrase, never to a log. */
void ctl_progress(uint64_t done, uint64_t total, const char *what, void *arg)
{
    int width = 30, fill = total ? (int)(done * (uint64_t)width / total) : width;

    (void)arg;
    if (!isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\r[%.*s%*s] %llu/%llu tenants%s%-24.24s", fill,
            "==============================", width - fill, "",
            (unsigned long long)done, (unsigned long long)total,
            what ? " " : "", what ? what : "");
    if (!what)
        fputc('\n', stderr);
}

/* ===================================================================== */
/* Options                                                                */
/* ===================================================================== */

enum { CTL_LOPT_PASSFILE = 256, CTL_LOPT_NEWPASSFILE, CTL_LOPT_OWNER,
       CTL_LOPT_MODE, CTL_LOPT_BYTES, CTL_LOPT_RECORDS, CTL_LOPT_JSON,
       CTL_LOPT_TENANT };

static const struct option ctl_options[] = {
    { "help",         no_argument,       NULL, 'h' },
    { "passfile",     required_argument, NULL, CTL_LOPT_PASSFILE },
    { "keyfile",      required_argument, NULL, CTL_LOPT_PASSFILE },
    { "new-passfile", required_argument, NULL, CTL_LOPT_NEWPASSFILE },
    { "new-keyfile",  required_argument, NULL, CTL_LOPT_NEWPASSFILE },
    { "owner",        required_argument, NULL, CTL_LOPT_OWNER },
    { "mode",         required_argument, NULL, CTL_LOPT_MODE },
    { "bytes",        required_argument, NULL, CTL_LOPT_BYTES },
    { "records",      required_argument, NULL, CTL_LOPT_RECORDS },
    { "json",         no_argument,       NULL, CTL_LOPT_JSON },
    { "tenant",       required_argument, NULL, CTL_LOPT_TENANT },
    { NULL, 0, NULL, 0 },
};

/* The option argv[optind - 1] that getopt just complained about. */
static const char *ctl_opt_culprit(int argc, char **argv)
{
    return optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
}

/* Parse the options and positional arguments of command `cmd`; argv[0] is
 * the command word.  `opts` says which options the command takes; the
 * positional arguments must be exactly those named in NULL-terminated
 * `posnames`.  Options may come before, between or after the positional
 * arguments; "--" ends them.  Returns CTL_GO to go on, or the exit status when it is done
 * (help printed: 0, usage error: 2). */
int ctl_args_parse(const char *cmd, int argc, char **argv, unsigned opts,
                   const char *const *posnames, struct ctl_args *a)
{
    int c, want = 0;

    memset(a, 0, sizeof *a);
    while (posnames[want] && want < (int)(sizeof a->pos / sizeof a->pos[0]))
        want++;
    optind = 0;                  /* re-initialise GNU getopt */
    opterr = 0;
    /* '-': positional arguments come back in order as option 1, so options
     * may follow them even when POSIXLY_CORRECT is set. */
    while ((c = getopt_long(argc, argv, "-:h", ctl_options, NULL)) != -1) {
        switch (c) {
        case 1:
            if (a->npos >= want)
                return ctl_usage_fail(cmd, "unexpected argument '%s'", optarg);
            a->pos[a->npos++] = optarg;
            break;
        case 'h':
            ctl_usage_print(stdout, cmd);
            return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
        case CTL_LOPT_PASSFILE:
            if (!(opts & CTL_OPT_PASSFILE))
                goto unknown;
            a->passfile = optarg;
            break;
        case CTL_LOPT_NEWPASSFILE:
            if (!(opts & CTL_OPT_NEWPASSFILE))
                goto unknown;
            a->newpassfile = optarg;
            break;
        case CTL_LOPT_OWNER:
            if (!(opts & CTL_OPT_OWNER))
                goto unknown;
            a->owner = optarg;
            break;
        case CTL_LOPT_MODE:
            if (!(opts & CTL_OPT_MODE))
                goto unknown;
            a->mode = optarg;
            break;
        case CTL_LOPT_BYTES:
            if (!(opts & CTL_OPT_BYTES))
                goto unknown;
            a->bytes = optarg;
            break;
        case CTL_LOPT_RECORDS:
            if (!(opts & CTL_OPT_RECORDS))
                goto unknown;
            a->records = optarg;
            break;
        case CTL_LOPT_JSON:
            if (!(opts & CTL_OPT_JSON))
                goto unknown;
            a->json = true;
            break;
        case CTL_LOPT_TENANT:
            if (!(opts & CTL_OPT_TENANT))
                goto unknown;
            if (a->ntenants == CTL_TENANTS_MAX)
                return ctl_usage_fail(cmd, "more than %d --tenant options",
                                      CTL_TENANTS_MAX);
            a->tenants[a->ntenants++] = optarg;
            break;
        case ':':
            return ctl_usage_fail(cmd, "option '%s' needs an argument",
                                  ctl_opt_culprit(argc, argv));
        default:
            if (optopt && optopt != '?')
                return ctl_usage_fail(cmd, "unknown option '-%c'", optopt);
            goto unknown;
        }
    }
    /* After "--", the rest are positional. */
    for (; optind < argc; optind++) {
        if (a->npos >= want)
            return ctl_usage_fail(cmd, "unexpected argument '%s'", argv[optind]);
        a->pos[a->npos++] = argv[optind];
    }
    if (a->npos < want)
        return ctl_usage_fail(cmd, "missing %s", posnames[a->npos]);
    return CTL_GO;

unknown:
    return ctl_usage_fail(cmd, "unknown option '%s'", ctl_opt_culprit(argc, argv));
}

/* ===================================================================== */
/* Passphrases and opening the store                                      */
/* ===================================================================== */

/* Equal in time independent of where they differ. */
static bool ctl_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char d = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Why store_secret_read() failed, said for a passfile or the terminal. */
static void ctl_secret_err(const char *passfile, store_err e)
{
    const char *why;

    switch (e) {
    case STORE_ENOENT: why = "no such file"; break;
    case STORE_EACCES: why = "permission denied"; break;
    case STORE_EINVAL:
        why = passfile ? "no passphrase on its first line (empty, over 1024 "
                         "bytes, or not a file)"
                       : "empty passphrase";
        break;
    default:           why = store_strerror(e); break;
    }
    if (passfile)
        ctl_err_print("reading %s: %s", passfile, why);
    else
        ctl_err_print("reading passphrase: %s", why);
}

/* Get a passphrase from `passfile`, or else from the terminal after
 * `prompt`; with `confirm` (a new passphrase) the terminal asks twice and
 * both must match.  On success the caller owns *pass and frees it with
 * store_secret_free().  Returns an exit status. */
int ctl_secret_get(const char *passfile, const char *prompt, bool confirm,
                   char **pass, size_t *len)
{
    char *again = NULL;
    size_t againlen = 0;
    store_err e;
    int rc = CTL_EXIT_FAIL;

    *pass = NULL;
    *len = 0;
    if (!passfile && !isatty(STDIN_FILENO)) {
        ctl_err_print("reading passphrase: "
                      "no passfile given and stdin is not a terminal");
        return CTL_EXIT_FAIL;
    }
    e = store_secret_read(passfile, prompt, pass, len);
    if (e != STORE_OK) {
        ctl_secret_err(passfile, e);
        goto out;
    }
    if (passfile || !confirm) {
        rc = CTL_EXIT_OK;
        goto out;
    }
    e = store_secret_read(NULL, "Repeat the new passphrase: ", &again, &againlen);
    if (e != STORE_OK) {
        ctl_secret_err(NULL, e);
        goto out;
    }
    if (!ctl_secret_equal(*pass, *len, again, againlen)) {
        ctl_err_print("reading passphrase: the two passphrases differ");
        goto out;
    }
    rc = CTL_EXIT_OK;
out:
    store_secret_free(again, againlen);
    if (rc != CTL_EXIT_OK) {
        store_secret_free(*pass, *len);
        *pass = NULL;
        *len = 0;
    }
    return rc;
}

/* Open the store in `dir` (not as the daemon) with the passphrase from
 * `passfile` or the terminal; the passphrase is wiped before returning.
 * Returns an exit status; on failure one line says why. */
static int ctl_store_open_flags(const char *dir, const char *passfile,
                                unsigned flags, store **out)
{
    char *pass = NULL;
    size_t len = 0;
    store_err e;
    int rc;

    *out = NULL;
    rc = ctl_secret_get(passfile, "Passphrase: ", false, &pass, &len);
    if (rc != CTL_EXIT_OK)
        return rc;
    e = store_open(dir, pass, len, flags, out);
    store_secret_free(pass, len);
    if (e == STORE_EBUSY) {
        pid_t pid = store_busy_pid(dir);

        if (pid > 0)
            ctl_err_print("opening %s: served by tenantfs (pid %ld), which does "
                          "not answer on its admin socket", dir, (long)pid);
        else
            ctl_err_print("opening %s: served by a tenantfs daemon, which does "
                          "not answer on its admin socket", dir);
        *out = NULL;
        return CTL_EXIT_FAIL;
    }
    if (e != STORE_OK) {
        ctl_err_print("opening %s: %s", dir, store_strerror(e));
        *out = NULL;
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

int ctl_store_open(const char *dir, const char *passfile, store **out)
{
    return ctl_store_open_flags(dir, passfile, 0, out);
}

int ctl_store_open_rdonly(const char *dir, const char *passfile, store **out)
{
    return ctl_store_open_flags(dir, passfile, STORE_OPEN_RDONLY, out);
}

/* ===================================================================== */
/* init and passwd                                                        */
/* ===================================================================== */

/* Is `dir` an existing folder with something in it?  (Checked before the
 * passphrase is asked, so that a typo does not cost two prompts.) */
static bool ctl_dir_busy(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool busy = false;

    if (!d)
        return false;
    while (!busy && (de = readdir(d)) != NULL)
        busy = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return busy;
}

/* tenantctl init STORE [--passfile FILE] */
static int ctl_init_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", NULL };
    struct ctl_args a;
    char *pass = NULL;
    size_t len = 0;
    store_err e;
    int rc;

    rc = ctl_args_parse("init", argc, argv, CTL_OPT_PASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if (ctl_dir_busy(a.pos[0])) {
        ctl_err_print("creating %s: %s", a.pos[0], "folder is not empty");
        return CTL_EXIT_FAIL;
    }
    rc = ctl_secret_get(a.passfile, "New passphrase: ", true, &pass, &len);
    if (rc != CTL_EXIT_OK)
        return rc;
    e = store_create(a.pos[0], pass, len);
    store_secret_free(pass, len);
    if (e != STORE_OK) {
        ctl_err_print("creating %s: %s", a.pos[0],
                      e == STORE_EEXIST ? "folder is not empty" : store_strerror(e));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* tenantctl passwd STORE [--passfile OLDFILE] [--new-passfile NEWFILE] */
static int ctl_passwd_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", NULL };
    struct ctl_args a;
    char *oldpass = NULL, *newpass = NULL;
    size_t oldlen = 0, newlen = 0;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("passwd", argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_NEWPASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    rc = ctl_secret_get(a.passfile, "Current passphrase: ", false, &oldpass, &oldlen);
    if (rc != CTL_EXIT_OK)
        goto out;
    if (!a.newpassfile) {
        /* On a terminal, say "wrong passphrase" before asking twice more. */
        e = store_open(a.pos[0], oldpass, oldlen, STORE_OPEN_RDONLY, &s);
        store_close(s);
        if (e != STORE_OK) {
            ctl_err_print("opening %s: %s", a.pos[0], store_strerror(e));
            rc = CTL_EXIT_FAIL;
            goto out;
        }
    }
    rc = ctl_secret_get(a.newpassfile, "New passphrase: ", true, &newpass, &newlen);
    if (rc != CTL_EXIT_OK)
        goto out;
    e = store_passwd(a.pos[0], oldpass, oldlen, newpass, newlen);
    if (e != STORE_OK) {
        ctl_err_print("changing the passphrase of %s: %s", a.pos[0],
                      store_strerror(e));
        rc = CTL_EXIT_FAIL;
    }
out:
    store_secret_free(newpass, newlen);
    store_secret_free(oldpass, oldlen);
    return rc;
}

/* ===================================================================== */
/* main                                                                   */
/* ===================================================================== */

static const struct ctl_command {
    const char *name;
    int (*run)(int argc, char **argv);
} ctl_commands[] = {
    { "init",   ctl_init_run },
    { "tenant", ctl_tenant_main },
    { "passwd", ctl_passwd_run },
    { "stats",  ctl_stats_main },
    { "check",  ctl_check_run },
    { "snapshot", ctl_snapshot_main },
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help",    no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd;
    int c, rc = -1;

    store_set_log(ctl_log_write);
    opterr = 0;
    /* '+': stop at the command word; its options are the command's. */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            ctl_usage_print(stdout, NULL);
            rc = CTL_EXIT_OK;
            goto out;
        case 'V':
            printf("tenantctl (tenantfs) %s\n", TENANTFS_VERSION);
            rc = CTL_EXIT_OK;
            goto out;
        default:
            if (optopt && optopt != '?')
                return ctl_usage_fail(NULL, "unknown option '-%c'", optopt);
            return ctl_usage_fail(NULL, "unknown option '%s'",
                                  ctl_opt_culprit(argc, argv));
        }
    }
    if (optind >= argc)
        return ctl_usage_fail(NULL, "missing COMMAND");
    cmd = argv[optind];
    for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++) {
        if (strcmp(ctl_commands[i].name, cmd) == 0) {
            rc = ctl_commands[i].run(argc - optind, argv + optind);
            break;
        }
    }
    if (rc < 0)
        return ctl_usage_fail(NULL, "unknown command '%s'", cmd);
out:
    /* Output that could not be written (a full disk, a closed pipe) fails. */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        ctl_err_print("writing output: %s", errno ? strerror(errno) : "write error");
        if (rc == CTL_EXIT_OK)
            rc = CTL_EXIT_FAIL;
    }
    return rc;
}
