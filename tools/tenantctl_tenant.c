/*
 * tenantctl_tenant.c - the `tenantctl tenant` commands: add, list and
 * remove a tenant of a store.  It owns what is particular to them: turning
 * `--owner USER[:GROUP]` and `--mode MODE` into numbers (names resolved with
 * the system's user and group databases), and laying out `tenant list` as
 * aligned columns with owner and group shown as names where they resolve.
 * Everything else - the registry, the tenant's database, its root folder -
 * is store/'s (store_tenant_add, store_tenant_remove, store_tenant_each).
 *
 * Arguments are checked before the store is opened, so that a typo in a
 * user name or a mode fails at once, without asking for the passphrase.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#include "tenantctl.h"

#define CTL_MODE_DEFAULT 0750u

/* ===================================================================== */
/* Owner and mode                                                         */
/* ===================================================================== */

/* A decimal id below (uint32_t)-1 (which means "no id" to chown(2)). */
static bool ctl_id_parse(const char *s, uint32_t *id)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v >= UINT32_MAX)
        return false;
    *id = (uint32_t)v;
    return true;
}

/* Resolve "USER[:GROUP]": names first, then numbers, as chown(1) does.
 * Without GROUP, the user's primary group.  Returns an exit status; on
 * failure one line names what did not resolve. */
static int ctl_tenant_owner_parse(const char *spec, uint32_t *uid, uint32_t *gid)
{
    char *user = strdup(spec), *group;
    struct passwd *pw;
    struct group *gr;
    int rc = CTL_EXIT_FAIL;

    if (!user) {
        ctl_err_print("tenant add: %s", strerror(errno));
        return CTL_EXIT_FAIL;
    }
    group = strchr(user, ':');
    if (group)
        *group++ = '\0';
    if (!*user || (group && !*group)) {
        rc = ctl_usage_fail("tenant add", "invalid --owner '%s' (USER[:GROUP])", spec);
        goto out;
    }
    pw = getpwnam(user);
    if (pw) {
        *uid = pw->pw_uid;
    } else if (ctl_id_parse(user, uid)) {
        pw = getpwuid(*uid);
    } else {
        ctl_err_print("tenant add: unknown user '%s'", user);
        goto out;
    }
    if (!group) {
        if (!pw) {
            ctl_err_print("tenant add: user %s has no entry in the user "
                          "database; give its group as --owner %s:GROUP",
                          user, user);
            goto out;
        }
        *gid = pw->pw_gid;
    } else if ((gr = getgrnam(group)) != NULL) {
        *gid = gr->gr_gid;
    } else if (!ctl_id_parse(group, gid)) {
        ctl_err_print("tenant add: unknown group '%s'", group);
        goto out;
    }
    rc = CTL_EXIT_OK;
out:
    free(user);
    return rc;
}

/* An octal mode, at most 07777. */
static int ctl_tenant_mode_parse(const char *s, uint32_t *mode)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (*s < '0' || *s > '7' || errno || *end || v > 07777)
        return ctl_usage_fail("tenant add",
                              "invalid mode '%s' (octal, at most 07777)", s);
    *mode = (uint32_t)v;
    return CTL_EXIT_OK;
}

/* Is `name` acceptable?  Said before the passphrase is asked. */
static int ctl_tenant_name_check(const char *cmd, const char *name)
{
    store_err e = store_tenant_name_check(name, strlen(name));

    if (e == STORE_OK)
        return CTL_EXIT_OK;
    ctl_err_print("%s: invalid tenant name '%.64s%s': %s", cmd, name,
                  strlen(name) > 64 ? "..." : "",
                  e == STORE_ENAMETOOLONG ? "longer than 255 bytes"
                  : e == STORE_EINVAL ? "a name is not empty, does not start "
                                        "with '.', and has no '/' or control "
                                        "characters"
                  : store_strerror(e));
    return CTL_EXIT_FAIL;
}

/* ===================================================================== */
/* add, remove                                                            */
/* ===================================================================== */

/* tenantctl tenant add STORE NAME --owner USER[:GROUP] [--mode MODE] */
static int ctl_tenant_add_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", NULL };
    struct ctl_args a;
    uint32_t uid = 0, gid = 0, mode = CTL_MODE_DEFAULT;
    uint64_t id = 0;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("tenant add", argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_OWNER | CTL_OPT_MODE,
                        posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if (!a.owner)
        return ctl_usage_fail("tenant add", "missing --owner USER[:GROUP]");
    if (a.mode && (rc = ctl_tenant_mode_parse(a.mode, &mode)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_tenant_owner_parse(a.owner, &uid, &gid)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_tenant_name_check("tenant add", a.pos[1])) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_add(s, a.pos[1], uid, gid, mode, &id);
    if (e == STORE_OK)
        e = store_sync(s);
    if (e != STORE_OK) {
        if (e == STORE_EEXIST)
            ctl_err_print("tenant add: tenant '%s' already exists", a.pos[1]);
        else
            ctl_err_print("tenant add: %s", store_strerror(e));
        rc = CTL_EXIT_FAIL;
    }
    store_close(s);
    return rc;
}

/* tenantctl tenant remove STORE NAME */
static int ctl_tenant_remove_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", NULL };
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("tenant remove", argc, argv, CTL_OPT_PASSFILE,
                        posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_remove(s, a.pos[1], 0);
    if (e == STORE_OK)
        e = store_sync(s);
    if (e != STORE_OK) {
        if (e == STORE_ENOENT)
            ctl_err_print("tenant remove: tenant '%s' does not exist", a.pos[1]);
        else
            ctl_err_print("tenant remove: %s", store_strerror(e));
        rc = CTL_EXIT_FAIL;
    }
    store_close(s);
    return rc;
}

/* ===================================================================== */
/* list                                                                   */
/* ===================================================================== */

/* One line of `tenant list`, formatted. */
struct ctl_row {
    char *cell[5];               /* NAME, ID, OWNER, GROUP, MODE */
};

struct ctl_table {
    struct ctl_row *rows;
    size_t n, cap;
    bool oom;
};

static const char *const ctl_list_header[5] = { "NAME", "ID", "OWNER", "GROUP", "MODE" };

/* Columns are as wide as their characters, not bytes (UTF-8 names). */
static size_t ctl_text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void ctl_table_free(struct ctl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < 5; j++)
            free(t->rows[i].cell[j]);
    free(t->rows);
    t->rows = NULL;
    t->n = t->cap = 0;
}

/* A formatted cell, or NULL when memory runs out. */
static char *ctl_cell_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ctl_cell_printf(const char *fmt, ...)
{
    va_list ap;
    char *cell = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&cell, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : cell;
}

/* store_tenant_each() callback: format one tenant into the table. */
static int ctl_table_add(const struct store_tenant_info *info, void *arg)
{
    struct ctl_table *t = arg;
    struct ctl_row *r;
    struct passwd *pw = getpwuid(info->uid);
    struct group *gr = getgrgid(info->gid);

    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct ctl_row *rows = realloc(t->rows, cap * sizeof *rows);

        if (!rows)
            goto oom;
        t->rows = rows;
        t->cap = cap;
    }
    r = &t->rows[t->n++];
    r->cell[0] = strdup(info->name);
    r->cell[1] = ctl_cell_printf("%" PRIu64, info->id);
    r->cell[2] = pw ? strdup(pw->pw_name) : ctl_cell_printf("%" PRIu32, info->uid);
    r->cell[3] = gr ? strdup(gr->gr_name) : ctl_cell_printf("%" PRIu32, info->gid);
    r->cell[4] = ctl_cell_printf("%04" PRIo32, info->mode & 07777);
    for (size_t j = 0; j < 5; j++)
        if (!r->cell[j])
            goto oom;
    return 0;
oom:
    t->oom = true;
    return 1;
}

/* Print header and rows, columns two spaces apart, the last one unpadded. */
static void ctl_table_print(const struct ctl_table *t)
{
    size_t width[5];

    for (size_t j = 0; j < 5; j++) {
        width[j] = ctl_text_width(ctl_list_header[j]);
        for (size_t i = 0; i < t->n; i++) {
            size_t w = ctl_text_width(t->rows[i].cell[j]);

            if (w > width[j])
                width[j] = w;
        }
    }
    for (size_t i = 0; i <= t->n; i++) {
        const char *const *cells = i == 0 ? ctl_list_header
                                          : (const char *const *)t->rows[i - 1].cell;

        for (size_t j = 0; j < 5; j++) {
            fputs(cells[j], stdout);
            if (j < 4)
                printf("%*s", (int)(width[j] - ctl_text_width(cells[j]) + 2), "");
        }
        putchar('\n');
    }
}

/* tenantctl tenant list STORE */
static int ctl_tenant_list_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", NULL };
    struct ctl_args a;
    struct ctl_table t = { 0 };
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse("tenant list", argc, argv, CTL_OPT_PASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_each(s, ctl_table_add, &t);
    if (e == STORE_OK && t.oom)
        e = STORE_ENOMEM;
    if (e != STORE_OK) {
        ctl_err_print("tenant list: %s", store_strerror(e));
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    ctl_table_print(&t);
out:
    ctl_table_free(&t);
    store_close(s);
    return rc;
}

/* ===================================================================== */
/* Dispatch                                                               */
/* ===================================================================== */

static const struct ctl_tenant_command {
    const char *name;
    int (*run)(int argc, char **argv);
} ctl_tenant_commands[] = {
    { "add",    ctl_tenant_add_run },
    { "list",   ctl_tenant_list_run },
    { "remove", ctl_tenant_remove_run },
};

/* tenantctl tenant SUBCOMMAND ...; argv[0] is "tenant". */
int ctl_tenant_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub)
        return ctl_usage_fail("tenant", "missing SUBCOMMAND (add, list or remove)");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        ctl_usage_print(stdout, "tenant");
        return CTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof ctl_tenant_commands / sizeof ctl_tenant_commands[0]; i++)
        if (strcmp(ctl_tenant_commands[i].name, sub) == 0)
            return ctl_tenant_commands[i].run(argc - 1, argv + 1);
    return ctl_usage_fail("tenant", "unknown subcommand '%s'", sub);
}
