/*
 * tenantctl.h - what the files of tenantctl share: exit codes, the
 * parsed command line, and the helpers tenantctl.c provides to the
 * command implementations (error lines, usage, options, passphrases,
 * opening the store).  Private to tools/.
 */
#ifndef TENANTFS_TENANTCTL_H
#define TENANTFS_TENANTCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2, CTL_GO = -1 };

enum {
    CTL_OPT_PASSFILE    = 1u << 0,   /* --passfile / --keyfile */
    CTL_OPT_NEWPASSFILE = 1u << 1,   /* --new-passfile / --new-keyfile */
    CTL_OPT_OWNER       = 1u << 2,   /* --owner USER[:GROUP] */
    CTL_OPT_MODE        = 1u << 3,   /* --mode MODE */
    CTL_OPT_BYTES       = 1u << 4,   /* --bytes N[K|M|G|T] */
    CTL_OPT_RECORDS     = 1u << 5,   /* --records N */
    CTL_OPT_JSON        = 1u << 6,   /* --json */
    CTL_OPT_TENANT      = 1u << 7,   /* --tenant NAME, repeatable */
};

#define CTL_TENANTS_MAX 256

struct ctl_args {
    const char *passfile, *newpassfile, *owner, *mode, *bytes, *records;
    bool json;
    const char *tenants[CTL_TENANTS_MAX];   /* --tenant, in order */
    int ntenants;
    char *pos[4];                    /* positional arguments, in order */
    int npos;
};

void ctl_err_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctl_usage_print(FILE *f, const char *cmd);
int ctl_args_parse(const char *cmd, int argc, char **argv, unsigned opts,
                   const char *const *posnames, struct ctl_args *a);
int ctl_secret_get(const char *passfile, const char *prompt, bool confirm,
                   char **pass, size_t *len);
int ctl_store_open(const char *dir, const char *passfile, store **out);
/* The same, STORE_OPEN_RDONLY: nothing is written, a daemon may serve it. */
int ctl_store_open_rdonly(const char *dir, const char *passfile, store **out);
int ctl_stats_main(int argc, char **argv);     /* tenantctl_stats.c */
int ctl_check_run(int argc, char **argv);      /* tenantctl_check.c */
int ctl_snapshot_main(int argc, char **argv);  /* tenantctl_snapshot.c */
/* The store_check() line printer of `check`, shared with `snapshot
 * verify` (tenantctl_check.c), and its summary (returns the exit
 * status). */
void ctl_check_issue(const struct store_check_issue *is, void *arg);
int ctl_check_summary(const struct store_check_totals *tot);
void ctl_check_quiet(int priority, const char *msg);
/* A progress bar on a terminal, nothing when piped (tenantctl.c). */
void ctl_progress(uint64_t done, uint64_t total, const char *what, void *arg);

/* ---- tenant commands (tenantctl_tenant.c, tenantctl_list.c) ---------- */

int ctl_tenant_main(int argc, char **argv);
int ctl_tenant_list_run(int argc, char **argv);

/* Is `name` acceptable as a tenant name?  An exit status; on failure one
 * line says why. */
int ctl_tenant_name_check(const char *cmd, const char *name);

/* ---- reaching a running daemon (tenantctl_live.c) --------------------- */

/* Send `verb` with its arguments to the daemon serving `dir`, if one does
 * (admin/admin.h); data lines of the reply go to `fn`.  Returns CTL_GO when
 * no daemon serves the store (the caller opens it itself), else the exit
 * status: 0 done, 1 failed (one line printed: the daemon's refusal, said
 * about tenant `name` when it concerns it, or why it could not be
 * reached; when `fn` stopped the reading by returning non-zero, nothing
 * is printed: the caller says why). */
typedef int (*ctl_row_fn)(int n, char **fields, void *arg);
int ctl_live_call(const char *cmd, const char *dir, const char *name,
                  const char *verb, int nargs, const char *const *args,
                  ctl_row_fn fn, void *arg);
/* The same, but a refusal of the daemon is not printed: its errno goes to
 * *code (left alone otherwise) with the return value 1. */
int ctl_live_call_code(const char *cmd, const char *dir, const char *name,
                       const char *verb, int nargs, const char *const *args,
                       ctl_row_fn fn, void *arg, int *code);

/* Print the one line for store error `e` of command `cmd` on tenant `name`
 * (may be NULL) of store `dir`; returns CTL_EXIT_FAIL. */
int ctl_tenant_store_fail(const char *cmd, const char *dir, const char *name,
                          store_err e);

#endif
