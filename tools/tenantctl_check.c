/*
 * tenantctl_check.c - `tenantctl check STORE`: authenticate every value of
 * the store (store_check(), store/store_check.c) and print one line per
 * problem, naming the tenant and the record, then a summary.
 *
 * Read-only, and works while the store is mounted (the check reads what
 * is on disk: LMDB's committed state and the journal).  Exit status 0 when
 * nothing is damaged, 1 when something is (or the store cannot be
 * opened), 2 usage error.  The store's own log lines about the same damage
 * are silenced: the report says it once, better.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tenantctl.h"

void ctl_check_quiet(int priority, const char *msg)
{
    (void)priority;
    (void)msg;
}

void ctl_check_issue(const struct store_check_issue *is, void *arg)
{
    (void)arg;
    if (is->tenant_id == 0)
        printf("store: %s\n", is->what);
    else if (is->tenant == NULL)
        printf("tenant #%llu: %s\n", (unsigned long long)is->tenant_id,
               is->what);
    else if (is->ino == 0)
        printf("tenant %s: %s\n", is->tenant, is->what);
    else if (is->path)
        printf("tenant %s: %s (inode %llu): %s\n", is->tenant, is->path,
               (unsigned long long)is->ino, is->what);
    else
        printf("tenant %s: inode %llu (its name is unknown): %s\n",
               is->tenant, (unsigned long long)is->ino, is->what);
    fflush(stdout);
}

int ctl_check_run(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", NULL };
    struct store_check_totals tot;
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("check", argc, argv, CTL_OPT_PASSFILE, pos, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open_rdonly(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    store_set_log(ctl_check_quiet);
    e = store_check(s, ctl_check_issue, ctl_progress, NULL, &tot);
    store_set_log(NULL);
    store_close(s);
    if (e != STORE_OK) {
        ctl_err_print("checking %s: %s", a.pos[0], store_strerror(e));
        return CTL_EXIT_FAIL;
    }
    return ctl_check_summary(&tot);
}

int ctl_check_summary(const struct store_check_totals *tot)
{
    printf("checked %llu tenants, %llu records, %llu values (%.1f MiB of "
           "content), %llu journal entries: ",
           (unsigned long long)tot->tenants, (unsigned long long)tot->records,
           (unsigned long long)tot->values, tot->bytes / 1048576.0,
           (unsigned long long)tot->journal_entries);
    if (tot->issues == 0)
        printf("no damage\n");
    else
        printf("%llu problem%s\n", (unsigned long long)tot->issues,
               tot->issues == 1 ? "" : "s");
    if (tot->journal_torn)
        printf("(the journal ends in a torn last write of %llu bytes, left "
               "by a crash; the next mount discards it)\n",
               (unsigned long long)tot->journal_torn);
    return tot->issues ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
