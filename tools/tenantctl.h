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
#include <stdio.h>

#include "store.h"

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2, CTL_GO = -1 };

enum {
    CTL_OPT_PASSFILE    = 1u << 0,   /* --passfile / --keyfile */
    CTL_OPT_NEWPASSFILE = 1u << 1,   /* --new-passfile / --new-keyfile */
    CTL_OPT_OWNER       = 1u << 2,   /* --owner USER[:GROUP] */
    CTL_OPT_MODE        = 1u << 3,   /* --mode MODE */
};

struct ctl_args {
    const char *passfile, *newpassfile, *owner, *mode;
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
int ctl_tenant_main(int argc, char **argv);
int ctl_stats_main(int argc, char **argv);     /* tenantctl_stats.c */

#endif
