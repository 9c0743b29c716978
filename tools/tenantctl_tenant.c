/*
 * tenantctl_tenant.c - the `tenantctl tenant` commands that change a
 * tenant: add, remove, chown, chmod and set-quota, and the dispatch of
 * `tenantctl tenant SUBCOMMAND` (list is tenantctl_list.c).  It owns what is
 * particular to them: turning `USER[:GROUP]` (names resolved with the
 * system's user and group databases, shared by add and chown), an octal
 * MODE and a size `N[K|M|G|T]` into numbers, and checking tenant names.
 * Everything else - the registry, the tenant's database - is store/'s.
 *
 * Each command first checks all its arguments (so that a typo fails at
 * once, without a passphrase), then sends the change to the daemon serving
 * the store if there is one (tenantctl_live.c), and else opens the store
 * and calls the same store function the daemon would.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#include "tenantctl.h"

#define CTL_MODE_DEFAULT 0750u

/* ===================================================================== */
/* Owner, mode, size and name                                            */
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

enum { CTL_OWNER_UID = 1u << 0, CTL_OWNER_GID = 1u << 1 };

/* Resolve an owner: names first, then numbers, as chown(1) does.
 *   USER        add: USER and its primary group; chown: USER only
 *   USER:       USER and its primary group
 *   USER:GROUP  both
 *   :GROUP      chown only: GROUP only
 * *which gets CTL_OWNER_UID and/or CTL_OWNER_GID.  Returns an exit status;
 * on failure one line names what did not resolve. */
static int ctl_owner_parse(const char *cmd, const char *spec, bool for_add,
                           uint32_t *uid, uint32_t *gid, unsigned *which)
{
    char *user = strdup(spec), *group;
    struct passwd *pw = NULL;
    struct group *gr;
    bool primary;
    int rc = CTL_EXIT_FAIL;

    *which = 0;
    if (!user) {
        ctl_err_print("%s: %s", cmd, strerror(errno));
        return CTL_EXIT_FAIL;
    }
    group = strchr(user, ':');
    if (group)
        *group++ = '\0';
    if ((!*user && (for_add || !group || !*group)) || (group && strchr(group, ':'))) {
        rc = ctl_usage_fail(cmd, "invalid owner '%s' (%s)", spec,
                            for_add ? "USER[:GROUP]" : "USER[:GROUP] or :GROUP");
        goto out;
    }
    primary = *user && ((for_add && !group) || (group && !*group));
    if (*user) {
        pw = getpwnam(user);
        if (pw) {
            *uid = pw->pw_uid;
        } else if (ctl_id_parse(user, uid)) {
            pw = getpwuid(*uid);
        } else {
            ctl_err_print("%s: unknown user '%s'", cmd, user);
            goto out;
        }
        *which |= CTL_OWNER_UID;
    }
    if (primary) {
        if (!pw) {
            ctl_err_print("%s: user %s has no entry in the user database; "
                          "give its group as %s:GROUP", cmd, user, user);
            goto out;
        }
        *gid = pw->pw_gid;
        *which |= CTL_OWNER_GID;
    } else if (group && *group) {
        if ((gr = getgrnam(group)) != NULL) {
            *gid = gr->gr_gid;
        } else if (!ctl_id_parse(group, gid)) {
            ctl_err_print("%s: unknown group '%s'", cmd, group);
            goto out;
        }
        *which |= CTL_OWNER_GID;
    }
    rc = CTL_EXIT_OK;
out:
    free(user);
    return rc;
}

/* An octal mode, at most 07777. */
static int ctl_mode_parse(const char *cmd, const char *s, uint32_t *mode)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (*s < '0' || *s > '7' || errno || *end || v > 07777)
        return ctl_usage_fail(cmd, "invalid mode '%s' (octal, at most 07777)", s);
    *mode = (uint32_t)v;
    return CTL_EXIT_OK;
}

/* A quota: N or N with K, M, G or T (powers of 1024) when `suffix`; 0 or
 * "none" is 0, no limit.  Returns an exit status (2 for a bad value). */
static int ctl_quota_parse(const char *cmd, const char *opt, const char *s,
                           bool suffix, uint64_t *v)
{
    static const char units[] = "KMGT";
    const char *p = s, *u;
    uint64_t n = 0, mul = 1;

    if (strcmp(s, "none") == 0) {
        *v = 0;
        return CTL_EXIT_OK;
    }
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            goto big;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p) {
        if (!suffix || p[1] || !(u = strchr(units, *p >= 'a' ? *p - 32 : *p)))
            goto bad;
        for (const char *q = units; q <= u; q++)
            mul *= 1024;
    }
    if (n > UINT64_MAX / mul)
        goto big;
    *v = n * mul;
    return CTL_EXIT_OK;
bad:
    return ctl_usage_fail(cmd, "invalid %s '%s' (%s, 0 or none for no limit)",
                          opt, s, suffix ? "N, NK, NM, NG or NT" : "a number");
big:
    return ctl_usage_fail(cmd, "invalid %s '%s': too large", opt, s);
}

int ctl_tenant_name_check(const char *cmd, const char *name)
{
    store_err e = store_tenant_name_check(name, strlen(name));
    char shown[65];
    size_t i;

    if (e == STORE_OK)
        return CTL_EXIT_OK;
    /* Echo at most 64 bytes of it, control characters as '?'. */
    for (i = 0; i < 64 && name[i]; i++)
        shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    shown[i] = '\0';
    ctl_err_print("%s: invalid tenant name '%s%s': %s", cmd, shown,
                  strlen(name) > 64 ? "..." : "",
                  e == STORE_ENAMETOOLONG ? "longer than 255 bytes"
                  : e == STORE_EINVAL ? "a name is not empty, does not start "
                                        "with '.', and has no '/' or control "
                                        "characters"
                  : store_strerror(e));
    return CTL_EXIT_FAIL;
}

static void ctl_u32_str(char buf[16], uint32_t v)
{
    snprintf(buf, 16, "%" PRIu32, v);
}

/* ===================================================================== */
/* add, remove                                                           */
/* ===================================================================== */

/* tenantctl tenant add STORE NAME --owner USER[:GROUP] [--mode MODE] */
static int ctl_tenant_add_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", NULL };
    static const char cmd[] = "tenant add";
    struct ctl_args a;
    uint32_t uid = 0, gid = 0, mode = CTL_MODE_DEFAULT;
    uint64_t id = 0;
    unsigned which;
    char suid[16], sgid[16], smode[16];
    const char *args[4];
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse(cmd, argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_OWNER | CTL_OPT_MODE,
                        posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if (!a.owner)
        return ctl_usage_fail(cmd, "missing --owner USER[:GROUP]");
    if (a.mode && (rc = ctl_mode_parse(cmd, a.mode, &mode)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_owner_parse(cmd, a.owner, true, &uid, &gid, &which)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_tenant_name_check(cmd, a.pos[1])) != CTL_EXIT_OK)
        return rc;
    ctl_u32_str(suid, uid);
    ctl_u32_str(sgid, gid);
    snprintf(smode, sizeof smode, "%04" PRIo32, mode);
    args[0] = a.pos[1];
    args[1] = suid;
    args[2] = sgid;
    args[3] = smode;
    rc = ctl_live_call(cmd, a.pos[0], a.pos[1], "add", 4, args, NULL, NULL);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_add(s, a.pos[1], uid, gid, mode, &id);
    if (e == STORE_OK)
        e = store_sync(s);
    if (e != STORE_OK)
        rc = ctl_tenant_store_fail(cmd, a.pos[0], a.pos[1], e);
    store_close(s);
    return rc;
}

/* tenantctl tenant remove STORE NAME */
static int ctl_tenant_remove_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", NULL };
    static const char cmd[] = "tenant remove";
    struct ctl_args a;
    const char *args[1];
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse(cmd, argc, argv, CTL_OPT_PASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_tenant_name_check(cmd, a.pos[1])) != CTL_EXIT_OK)
        return rc;
    args[0] = a.pos[1];
    rc = ctl_live_call(cmd, a.pos[0], a.pos[1], "remove", 1, args, NULL, NULL);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_remove(s, a.pos[1], 0);
    if (e == STORE_OK)
        e = store_sync(s);
    if (e != STORE_OK)
        rc = ctl_tenant_store_fail(cmd, a.pos[0], a.pos[1], e);
    store_close(s);
    return rc;
}

/* ===================================================================== */
/* chown, chmod, set-quota                                               */
/* ===================================================================== */

/* Without a daemon: open the store, find NAME, store_tenant_update(). */
static int ctl_tenant_update(const char *cmd, const struct ctl_args *a,
                             const struct store_tenant_info *in, unsigned mask)
{
    struct store_tenant_info cur;
    store *s = NULL;
    store_err e;
    int rc;

    if ((rc = ctl_store_open(a->pos[0], a->passfile, &s)) != CTL_EXIT_OK)
        return rc;
    e = store_tenant_find(s, a->pos[1], strlen(a->pos[1]), &cur);
    if (e == STORE_OK)
        e = store_tenant_update(s, cur.id, in, mask);
    if (e == STORE_OK)
        e = store_sync(s);
    if (e != STORE_OK)
        rc = ctl_tenant_store_fail(cmd, a->pos[0], a->pos[1], e);
    store_close(s);
    return rc;
}

/* tenantctl tenant chown STORE NAME USER[:GROUP]|:GROUP */
static int ctl_tenant_chown_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", "USER[:GROUP]", NULL };
    static const char cmd[] = "tenant chown";
    struct store_tenant_info in = { 0 };
    struct ctl_args a;
    unsigned which, mask = 0;
    char suid[16] = "-", sgid[16] = "-";
    const char *args[3];
    int rc;

    rc = ctl_args_parse(cmd, argc, argv, CTL_OPT_PASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_owner_parse(cmd, a.pos[2], false, &in.uid, &in.gid, &which)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_tenant_name_check(cmd, a.pos[1])) != CTL_EXIT_OK)
        return rc;
    if (which & CTL_OWNER_UID) {
        ctl_u32_str(suid, in.uid);
        mask |= STORE_TENANT_SET_UID;
    }
    if (which & CTL_OWNER_GID) {
        ctl_u32_str(sgid, in.gid);
        mask |= STORE_TENANT_SET_GID;
    }
    args[0] = a.pos[1];
    args[1] = suid;
    args[2] = sgid;
    rc = ctl_live_call(cmd, a.pos[0], a.pos[1], "chown", 3, args, NULL, NULL);
    if (rc != CTL_GO)
        return rc;
    return ctl_tenant_update(cmd, &a, &in, mask);
}

/* tenantctl tenant chmod STORE NAME MODE */
static int ctl_tenant_chmod_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", "MODE", NULL };
    static const char cmd[] = "tenant chmod";
    struct store_tenant_info in = { 0 };
    struct ctl_args a;
    char smode[16];
    const char *args[2];
    int rc;

    rc = ctl_args_parse(cmd, argc, argv, CTL_OPT_PASSFILE, posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if ((rc = ctl_mode_parse(cmd, a.pos[2], &in.mode)) != CTL_EXIT_OK)
        return rc;
    if ((rc = ctl_tenant_name_check(cmd, a.pos[1])) != CTL_EXIT_OK)
        return rc;
    snprintf(smode, sizeof smode, "%04" PRIo32, in.mode);
    args[0] = a.pos[1];
    args[1] = smode;
    rc = ctl_live_call(cmd, a.pos[0], a.pos[1], "chmod", 2, args, NULL, NULL);
    if (rc != CTL_GO)
        return rc;
    return ctl_tenant_update(cmd, &a, &in, STORE_TENANT_SET_MODE);
}

/* tenantctl tenant set-quota STORE NAME [--bytes N[K|M|G|T]] [--records N] */
static int ctl_tenant_quota_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", "NAME", NULL };
    static const char cmd[] = "tenant set-quota";
    struct store_tenant_info in = { 0 };
    struct ctl_args a;
    unsigned mask = 0;
    char sbytes[24] = "-", srecs[24] = "-";
    const char *args[3];
    int rc;

    rc = ctl_args_parse(cmd, argc, argv,
                        CTL_OPT_PASSFILE | CTL_OPT_BYTES | CTL_OPT_RECORDS,
                        posnames, &a);
    if (rc != CTL_GO)
        return rc;
    if (!a.bytes && !a.records)
        return ctl_usage_fail(cmd, "give --bytes N[K|M|G|T], --records N, or both");
    if (a.bytes) {
        rc = ctl_quota_parse(cmd, "--bytes", a.bytes, true, &in.quota_bytes);
        if (rc != CTL_EXIT_OK)
            return rc;
        snprintf(sbytes, sizeof sbytes, "%" PRIu64, in.quota_bytes);
        mask |= STORE_TENANT_SET_QUOTA_BYTES;
    }
    if (a.records) {
        rc = ctl_quota_parse(cmd, "--records", a.records, false, &in.quota_records);
        if (rc != CTL_EXIT_OK)
            return rc;
        snprintf(srecs, sizeof srecs, "%" PRIu64, in.quota_records);
        mask |= STORE_TENANT_SET_QUOTA_RECORDS;
    }
    if ((rc = ctl_tenant_name_check(cmd, a.pos[1])) != CTL_EXIT_OK)
        return rc;
    args[0] = a.pos[1];
    args[1] = sbytes;
    args[2] = srecs;
    rc = ctl_live_call(cmd, a.pos[0], a.pos[1], "quota", 3, args, NULL, NULL);
    if (rc != CTL_GO)
        return rc;
    return ctl_tenant_update(cmd, &a, &in, mask);
}

/* ===================================================================== */
/* Dispatch                                                              */
/* ===================================================================== */

static const struct ctl_tenant_command {
    const char *name;
    int (*run)(int argc, char **argv);
} ctl_tenant_commands[] = {
    { "add",       ctl_tenant_add_run },
    { "list",      ctl_tenant_list_run },
    { "chown",     ctl_tenant_chown_run },
    { "chmod",     ctl_tenant_chmod_run },
    { "set-quota", ctl_tenant_quota_run },
    { "remove",    ctl_tenant_remove_run },
};

/* tenantctl tenant SUBCOMMAND ...; argv[0] is "tenant". */
int ctl_tenant_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub)
        return ctl_usage_fail("tenant", "missing SUBCOMMAND (add, list, chown, "
                              "chmod, set-quota or remove)");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        ctl_usage_print(stdout, "tenant");
        return CTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof ctl_tenant_commands / sizeof ctl_tenant_commands[0]; i++)
        if (strcmp(ctl_tenant_commands[i].name, sub) == 0)
            return ctl_tenant_commands[i].run(argc - 1, argv + 1);
    return ctl_usage_fail("tenant", "unknown subcommand '%s'", sub);
}
