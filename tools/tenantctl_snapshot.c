/*
 * tenantctl_snapshot.c - `tenantctl snapshot create|list|delete|verify|
 * export|import` (docs/snapshots.md, docs/tenantctl.md).  The copying
 * and the format are store/'s (store_snapshot.c); this file asks a daemon
 * serving the store for the checkpoint that is a snapshot's only barrier,
 * refuses a store whose journal holds changes no daemon applied, shows
 * progress on a terminal, and prints the results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tenantctl.h"

static double ctl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ctl_snap_fail(const char *cmd, const char *name, store_err e)
{
    if (e == STORE_EEXIST)
        ctl_err_print("%s: a snapshot named '%s' exists", cmd, name);
    else if (e == STORE_ENOENT)
        ctl_err_print("%s: no snapshot named '%s'", cmd, name);
    else if (e == STORE_EINVAL || e == STORE_ENAMETOOLONG)
        ctl_err_print("%s: '%s': a snapshot name is 1 to %d of A-Z a-z 0-9 "
                      ". _ -, not starting with '.'", cmd, name,
                      STORE_SNAPSHOT_NAME_MAX);
    else
        ctl_err_print("%s: %s: %s", cmd, name, store_strerror(e));
    return CTL_EXIT_FAIL;
}

/* ---- create -------------------------------------------------------------- */

static int ctl_snap_create(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "NAME", NULL };
    char missing[STORE_NAME_MAX + 1];
    struct store_journal_stats st;
    struct ctl_args a;
    double t0, barrier = -1, took;
    pid_t daemon = 0;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("snapshot create", argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_TENANT, pos, &a);
    if (rc != CTL_GO)
        return rc;
    if ((e = store_snapshot_name_check(a.pos[1])) != STORE_OK)
        return ctl_snap_fail("snapshot create", a.pos[1], e);
    if ((rc = ctl_store_open_rdonly(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    /* Served: the daemon checkpoints (the barrier writers see); not
     * served: what the journal still holds is in no database yet. */
    t0 = ctl_now();
    rc = ctl_live_call("snapshot create", a.pos[0], NULL, "checkpoint", 0,
                       NULL, NULL, NULL);
    if (rc == CTL_GO) {
        if (store_journal_stats_read(a.pos[0], &st, &daemon) == STORE_OK &&
            daemon == 0 && st.depth_entries > 0) {
            ctl_err_print("snapshot create: the journal of %s holds %llu "
                          "changes no daemon applied (it stopped uncleanly): "
                          "mount and unmount the store first", a.pos[0],
                          (unsigned long long)st.depth_entries);
            store_close(s);
            return CTL_EXIT_FAIL;
        }
    } else if (rc != CTL_EXIT_OK) {
        store_close(s);
        return rc;
    } else {
        barrier = ctl_now() - t0;
    }
    e = store_snapshot_create(s, a.pos[1], a.tenants, (size_t)a.ntenants,
                              ctl_progress, NULL, missing, sizeof missing);
    took = ctl_now() - t0;
    store_close(s);
    if (e == STORE_ENOENT && missing[0]) {
        ctl_err_print("snapshot create: no tenant named '%s'", missing);
        return CTL_EXIT_FAIL;
    }
    if (e != STORE_OK)
        return ctl_snap_fail("snapshot create", a.pos[1], e);
    printf("snapshot %s made in %.2f s", a.pos[1], took);
    if (barrier >= 0)
        printf(" (the daemon's checkpoint, the writers' barrier: %.1f ms)",
               barrier * 1000);
    printf("\n");
    return CTL_EXIT_OK;
}

/* ---- list -------------------------------------------------------------- */

struct ctl_snap_list {
    bool json;
    int n;
};

static void ctl_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int ctl_snap_row(const struct store_snapshot *sn, void *arg)
{
    struct ctl_snap_list *l = arg;
    char when[32] = "damaged";
    struct tm tm;

    if (sn->created.tv_sec > 0 &&
        gmtime_r(&sn->created.tv_sec, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (l->json) {
        printf("%s\n  {\"name\": ", l->n ? "," : "");
        ctl_json_str(sn->name);
        printf(", \"created\": %lld, \"bytes\": %llu, \"damaged\": %s, "
               "\"tenants\": [", (long long)sn->created.tv_sec,
               (unsigned long long)sn->bytes,
               sn->created.tv_sec > 0 ? "false" : "true");
        for (size_t i = 0; i < sn->ntenants; i++) {
            printf("%s", i ? ", " : "");
            ctl_json_str(sn->tenants[i].info.name);
        }
        printf("]}");
    } else {
        if (l->n == 0)
            printf("%-24s %-20s %10s  %s\n", "NAME", "CREATED", "SIZE",
                   "TENANTS");
        printf("%-24s %-20s %9.1fM  ", sn->name, when, sn->bytes / 1048576.0);
        for (size_t i = 0; i < sn->ntenants; i++)
            printf("%s%s", i ? "," : "", sn->tenants[i].info.name);
        printf("\n");
    }
    l->n++;
    return 0;
}

static int ctl_snap_list(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", NULL };
    struct ctl_snap_list l = { 0 };
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("snapshot list", argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_JSON, pos, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open_rdonly(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    l.json = a.json;
    if (l.json)
        printf("[");
    e = store_snapshot_each(s, ctl_snap_row, &l);
    if (l.json)
        printf("%s]\n", l.n ? "\n" : "");
    store_close(s);
    if (e != STORE_OK) {
        ctl_err_print("snapshot list: %s: %s", a.pos[0], store_strerror(e));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* ---- delete, verify, export, import --------------------------------------- */

/* Open STORE (positional 0) and run one call on snapshot/folder argument. */
static int ctl_snap_simple(const char *cmd, int argc, char **argv,
                           const char *const *pos, struct ctl_args *a,
                           store **s)
{
    int rc = ctl_args_parse(cmd, argc, argv, CTL_OPT_PASSFILE, pos, a);

    if (rc != CTL_GO)
        return rc;
    return ctl_store_open_rdonly(a->pos[0], a->passfile, s);
}

static int ctl_snap_delete(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "NAME", NULL };
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc = ctl_snap_simple("snapshot delete", argc, argv, pos, &a, &s);

    if (rc != CTL_EXIT_OK)
        return rc;
    e = store_snapshot_delete(s, a.pos[1]);
    store_close(s);
    return e == STORE_OK ? CTL_EXIT_OK : ctl_snap_fail("snapshot delete",
                                                       a.pos[1], e);
}

static int ctl_snap_verify(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "NAME", NULL };
    struct store_check_totals tot;
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc = ctl_snap_simple("snapshot verify", argc, argv, pos, &a, &s);

    if (rc != CTL_EXIT_OK)
        return rc;
    store_set_log(ctl_check_quiet);
    e = store_snapshot_check(s, a.pos[1], ctl_check_issue, ctl_progress, NULL,
                             &tot);
    store_set_log(NULL);
    store_close(s);
    if (e != STORE_OK)
        return ctl_snap_fail("snapshot verify", a.pos[1], e);
    return ctl_check_summary(&tot);
}

static int ctl_snap_export(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "NAME", "DIR", NULL };
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc = ctl_snap_simple("snapshot export", argc, argv, pos, &a, &s);

    if (rc != CTL_EXIT_OK)
        return rc;
    e = store_snapshot_export(s, a.pos[1], a.pos[2]);
    store_close(s);
    if (e == STORE_EEXIST) {
        ctl_err_print("snapshot export: %s exists: give a new folder",
                      a.pos[2]);
        return CTL_EXIT_FAIL;
    }
    return e == STORE_OK ? CTL_EXIT_OK : ctl_snap_fail("snapshot export",
                                                       a.pos[1], e);
}

static int ctl_snap_import(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "DIR", NULL };
    char name[STORE_SNAPSHOT_NAME_MAX + 1];
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc = ctl_snap_simple("snapshot import", argc, argv, pos, &a, &s);

    if (rc != CTL_EXIT_OK)
        return rc;
    e = store_snapshot_import(s, a.pos[1], name);
    store_close(s);
    if (e == STORE_EDAMAGED) {
        ctl_err_print("snapshot import: %s is not a snapshot exported from "
                      "this store, or it is damaged", a.pos[1]);
        return CTL_EXIT_FAIL;
    }
    if (e != STORE_OK)
        return ctl_snap_fail("snapshot import", a.pos[1], e);
    printf("snapshot %s imported\n", name);
    return CTL_EXIT_OK;
}

/* One `snapshot restore` run: through the daemon while one serves the
 * store (a tenant at a time, online), else with the store opened here. */
struct ctl_restore {
    const char *dir, *snap, *passfile;
    store *s;                   /* opened once no daemon answered */
};

/* Why tenant `name` was not restored, for both ways alike: the snapshot
 * is missing ('s'), the tenant is not in it ('t'), or is gone from the
 * store ('T', sets *gone). */
static int ctl_snap_restore_said(struct ctl_restore *r, const char *name,
                                 char what, bool *gone)
{
    if (what == 's')
        ctl_err_print("snapshot restore: no snapshot named '%s'", r->snap);
    else if (what == 't')
        ctl_err_print("snapshot restore: snapshot %s holds no tenant '%s'",
                      r->snap, name);
    else {
        ctl_err_print("snapshot restore: tenant '%s' was removed from %s "
                      "since the snapshot (or removed and made anew): its "
                      "data is sealed for the old tenant and cannot be "
                      "restored into another", name, r->dir);
        *gone = true;
    }
    return CTL_EXIT_FAIL;
}

/* Restore tenant `name`: 0, or 1 with one line said.  *gone: it failed
 * only because the tenant is gone from the store, which a whole-store
 * restore skips. */
static int ctl_snap_restore_one(struct ctl_restore *r, const char *name,
                                bool *gone)
{
    const char *args[2] = { r->snap, name };
    char what = 0;
    int code = 0, rc;
    store_err e;

    *gone = false;
    if (r->s == NULL) {
        rc = ctl_live_call_code("snapshot restore", r->dir, NULL, "restore",
                                2, args, NULL, NULL, &code);
        if (rc == CTL_EXIT_OK) {
            printf("tenant %s restored from snapshot %s while mounted (its "
                   "files opened before fail with ESTALE)\n", name, r->snap);
            return CTL_EXIT_OK;
        }
        if (rc != CTL_GO) {
            if (code == ENOENT || code == ESRCH || code == EXDEV)
                return ctl_snap_restore_said(r, name, code == ENOENT ? 's'
                                             : code == ESRCH ? 't' : 'T', gone);
            if (code == EROFS)
                ctl_err_print("snapshot restore: %s is in its read-only "
                              "error state after a disk failure (see the "
                              "daemon's log): unmount it and mount it again "
                              "first", r->dir);
            else if (code != 0)
                ctl_err_print("snapshot restore: tenant '%s': %s", name,
                              strerror(code));
            return CTL_EXIT_FAIL;   /* (else said: unreachable daemon) */
        }
        /* No daemon serves it: restore here. */
        if ((rc = ctl_store_open(r->dir, r->passfile, &r->s)) != CTL_EXIT_OK)
            return rc;
    }
    e = store_snapshot_restore(r->s, r->snap, name, &what);
    if (e == STORE_OK) {
        printf("tenant %s restored from snapshot %s\n", name, r->snap);
        return CTL_EXIT_OK;
    }
    if (e == STORE_EBUSY && what == 'd') {
        ctl_err_print("snapshot restore: %s began to be served meanwhile: "
                      "run the command again", r->dir);
    } else if (e == STORE_EBUSY && what == 'j') {
        ctl_err_print("snapshot restore: the journal of %s holds changes no "
                      "daemon applied (it stopped uncleanly): mount and "
                      "unmount the store first", r->dir);
    } else if ((e == STORE_ENOENT && what != 0) || e == STORE_EXDEV) {
        return ctl_snap_restore_said(r, name, e == STORE_EXDEV ? 'T' : what,
                                     gone);
    } else {
        return ctl_snap_fail("snapshot restore", r->snap, e);
    }
    return CTL_EXIT_FAIL;
}

static int ctl_snap_restore(int argc, char **argv)
{
    static const char *const pos[] = { "STORE", "NAME", NULL };
    struct store_snapshot snap = { 0 };
    struct ctl_restore r = { 0 };
    struct ctl_args a;
    store_err e;
    bool whole, gone, skipped = false;
    int rc;

    rc = ctl_args_parse("snapshot restore", argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_TENANT, pos, &a);
    if (rc != CTL_GO)
        return rc;
    r.dir = a.pos[0];
    r.snap = a.pos[1];
    r.passfile = a.passfile;
    /* No --tenant: the whole store, every tenant the snapshot holds (its
     * manifest read here, mounted or not). */
    whole = a.ntenants == 0;
    if (whole) {
        store *s = NULL;

        if ((rc = ctl_store_open_rdonly(r.dir, r.passfile, &s)) != CTL_EXIT_OK)
            return rc;
        e = store_snapshot_get(s, r.snap, &snap);
        store_close(s);
        if (e != STORE_OK)
            return ctl_snap_fail("snapshot restore", r.snap, e);
    }
    size_t n = whole ? snap.ntenants : (size_t)a.ntenants;
    rc = CTL_EXIT_OK;
    for (size_t i = 0; i < n && rc == CTL_EXIT_OK; i++) {
        const char *name = whole ? snap.tenants[i].info.name : a.tenants[i];

        rc = ctl_snap_restore_one(&r, name, &gone);
        if (rc != CTL_EXIT_OK && whole && gone) {
            skipped = true;         /* said; the others are restored */
            rc = CTL_EXIT_OK;
        }
    }
    store_snapshot_free(&snap);
    store_close(r.s);
    return rc == CTL_EXIT_OK && skipped ? CTL_EXIT_FAIL : rc;
}

static const struct {
    const char *name;
    int (*run)(int, char **);
} ctl_snap_commands[] = {
    { "restore", ctl_snap_restore },
    { "create", ctl_snap_create }, { "list", ctl_snap_list },
    { "delete", ctl_snap_delete }, { "verify", ctl_snap_verify },
    { "export", ctl_snap_export }, { "import", ctl_snap_import },
};

int ctl_snapshot_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub)
        return ctl_usage_fail("snapshot", "missing SUBCOMMAND (create, list, "
                              "delete, verify, export or import)");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        ctl_usage_print(stdout, "snapshot");
        return CTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof ctl_snap_commands / sizeof ctl_snap_commands[0]; i++)
        if (strcmp(ctl_snap_commands[i].name, sub) == 0)
            return ctl_snap_commands[i].run(argc - 1, argv + 1);
    return ctl_usage_fail("snapshot", "unknown subcommand '%s'", sub);
}
