/*
 * fs_admin.c - the daemon's side of live tenant administration: it serves
 * STORE/admin.sock (admin/admin.h) while the filesystem is mounted and
 * turns each request of `tenantctl` into store calls made with the
 * daemon's own keys, so that nothing but the daemon writes the registry
 * while it runs, and tells the kernel to drop what it caches about the
 * tenant folder concerned (fs_tenant_changed), so the change applies at
 * once in the mounted filesystem.
 *
 * It owns the mapping between the protocol's text and the store's types:
 * numbers are parsed strictly here, store errors become (errno, message)
 * through fs_errno() and store_strerror().  The messages never contain
 * names, only what went wrong; nothing is logged.
 *
 * Requests are served one at a time on admin/'s thread; the store and the
 * fs functions called are safe to use from it.  A store on read-only media
 * gets no socket (and c->admin stays NULL): there is nothing to administer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "fs.h"

struct fs_admin {
    struct admin_server *srv;
};

/* ===================================================================== */
/* Arguments                                                             */
/* ===================================================================== */

/* A uid or gid: decimal, below (uint32_t)-1; "-" (when `unset_ok`) leaves
 * it unchanged: *set = false. */
static int fs_admin_id(const char *s, bool unset_ok, uint32_t *id, bool *set)
{
    uint64_t v;

    *set = false;
    if (unset_ok && admin_is_unset(s))
        return 0;
    if (admin_num_parse(s, 10, UINT32_MAX - 1, &v) != 0)
        return EINVAL;
    *id = (uint32_t)v;
    *set = true;
    return 0;
}

static int fs_admin_mode(const char *s, uint32_t *mode)
{
    uint64_t v;

    if (admin_num_parse(s, 8, 07777, &v) != 0)
        return EINVAL;
    *mode = (uint32_t)v;
    return 0;
}

/* A quota: decimal, 0 = unlimited; "-" leaves it unchanged. */
static int fs_admin_quota(const char *s, uint64_t *q, bool *set)
{
    *set = false;
    if (admin_is_unset(s))
        return 0;
    if (admin_num_parse(s, 10, UINT64_MAX, q) != 0)
        return EINVAL;
    *set = true;
    return 0;
}

/* Answer the error of a store call. */
static void fs_admin_store_err(struct admin_reply *rep, store_err e)
{
    admin_reply_err(rep, fs_errno(e), "%s", store_strerror(e));
}

/* ===================================================================== */
/* Verbs                                                                 */
/* ===================================================================== */

/* add NAME UID GID MODE */
static void fs_admin_add(struct fs_ctx *c, const struct admin_req *req,
                         struct admin_reply *rep)
{
    uint32_t uid = 0, gid = 0, mode = 0;
    uint64_t id = 0;
    bool set;
    store_err e;

    if (fs_admin_id(req->args[1], false, &uid, &set) != 0 ||
        fs_admin_id(req->args[2], false, &gid, &set) != 0 ||
        fs_admin_mode(req->args[3], &mode) != 0) {
        admin_reply_err(rep, EINVAL, "invalid uid, gid or mode");
        return;
    }
    e = store_tenant_add(c->store, req->args[0], uid, gid, mode, &id);
    if (e != STORE_OK) {
        fs_admin_store_err(rep, e);
        return;
    }
    fs_tenant_changed(c, id, req->args[0]);
    if ((e = store_sync(c->store)) != STORE_OK)
        fs_admin_store_err(rep, e);
}

/* remove NAME */
static void fs_admin_remove(struct fs_ctx *c, const struct admin_req *req,
                            struct admin_reply *rep)
{
    const char *name = req->args[0];
    struct store_tenant_info info;
    store_err e;
    int rc;

    e = store_tenant_find(c->store, name, strlen(name), &info);
    if (e != STORE_OK) {
        fs_admin_store_err(rep, e);
        return;
    }
    rc = fs_tenant_remove(c, name, false);
    if (rc == EBUSY) {
        admin_reply_err(rep, EBUSY, "tenant has open files");
        return;
    }
    if (rc != 0) {
        admin_reply_err(rep, rc, "%s", strerror(rc));
        return;
    }
    fs_tenant_changed(c, info.id, name);
}

/* chown NAME UID|- GID|-, chmod NAME MODE, quota NAME BYTES|- RECORDS|- */
static void fs_admin_update(struct fs_ctx *c, const struct admin_req *req,
                            struct admin_reply *rep)
{
    const char *name = req->args[0], *verb = req->verb;
    struct store_tenant_info cur, in;
    unsigned mask = 0;
    bool set1 = false, set2 = false;
    int bad = 0;
    store_err e;

    memset(&in, 0, sizeof in);
    if (strcmp(verb, "chown") == 0) {
        bad = fs_admin_id(req->args[1], true, &in.uid, &set1) ||
              fs_admin_id(req->args[2], true, &in.gid, &set2);
        mask = (set1 ? STORE_TENANT_SET_UID : 0u) | (set2 ? STORE_TENANT_SET_GID : 0u);
    } else if (strcmp(verb, "chmod") == 0) {
        bad = fs_admin_mode(req->args[1], &in.mode);
        mask = STORE_TENANT_SET_MODE;
    } else {
        bad = fs_admin_quota(req->args[1], &in.quota_bytes, &set1) ||
              fs_admin_quota(req->args[2], &in.quota_records, &set2);
        mask = (set1 ? STORE_TENANT_SET_QUOTA_BYTES : 0u) |
               (set2 ? STORE_TENANT_SET_QUOTA_RECORDS : 0u);
    }
    if (bad || mask == 0) {
        admin_reply_err(rep, EINVAL, bad ? "invalid number" : "nothing to change");
        return;
    }
    e = store_tenant_find(c->store, name, strlen(name), &cur);
    if (e == STORE_OK)
        e = store_tenant_update(c->store, cur.id, &in, mask);
    if (e != STORE_OK) {
        fs_admin_store_err(rep, e);
        return;
    }
    if (mask & (STORE_TENANT_SET_UID | STORE_TENANT_SET_GID | STORE_TENANT_SET_MODE))
        fs_tenant_changed(c, cur.id, name);
}

struct fs_admin_list {
    struct fs_ctx *c;
    struct admin_reply *rep;
};

/* store_tenant_each() callback of `list`: one data line per tenant.  A
 * tenant whose use cannot be had is listed with "-" for it. */
static int fs_admin_list_one(const struct store_tenant_info *info, void *arg)
{
    struct fs_admin_list *l = arg;
    struct store_tenant_usage u = { 0 };
    store_tenant *t = NULL;
    char num[8][24];
    const char *f[ADMIN_LIST_FIELDS];
    bool used = store_tenant_get(l->c->store, info->id, &t) == STORE_OK &&
                store_tenant_usage(t, &u) == STORE_OK;

    snprintf(num[0], sizeof num[0], "%" PRIu64, info->id);
    snprintf(num[1], sizeof num[1], "%" PRIu32, info->uid);
    snprintf(num[2], sizeof num[2], "%" PRIu32, info->gid);
    snprintf(num[3], sizeof num[3], "%04" PRIo32, info->mode & 07777);
    snprintf(num[4], sizeof num[4], "%" PRIu64, info->quota_bytes);
    snprintf(num[5], sizeof num[5], "%" PRIu64, info->quota_records);
    snprintf(num[6], sizeof num[6], "%" PRIu64, u.bytes);
    snprintf(num[7], sizeof num[7], "%" PRIu64, u.records);
    f[0] = info->name;
    for (int i = 0; i < 6; i++)
        f[1 + i] = num[i];
    f[7] = used ? num[6] : "-";
    f[8] = used ? num[7] : "-";
    return admin_reply_row(l->rep, ADMIN_LIST_FIELDS, f) != 0;
}

static void fs_admin_list(struct fs_ctx *c, struct admin_reply *rep)
{
    struct fs_admin_list l = { c, rep };
    store_err e = store_tenant_each(c->store, fs_admin_list_one, &l);

    if (e != STORE_OK)
        fs_admin_store_err(rep, e);
}

/* `counters`: the daemon's cost counters, one "NAME VALUE" line each: the
 * FUSE requests served per kind, then the store's (ops applied, LMDB write
 * transactions committed, journal entries and flushes, bytes sealed). */
static void fs_admin_counters(struct fs_ctx *c, struct admin_reply *rep)
{
    struct store_journal_stats st;
    char name[48], num[24];
    const char *f[2] = { name, num };
    store_err e;

    for (int k = 0; k < FS_REQ_COUNT; k++) {
        snprintf(name, sizeof name, "fuse.%s", fs_req_name((enum fs_req_kind)k));
        snprintf(num, sizeof num, "%" PRIu64, fs_req_count(c, (enum fs_req_kind)k));
        if (admin_reply_row(rep, 2, f) != 0)
            return;
    }
    if ((e = store_journal_stats(c->store, &st)) != STORE_OK) {
        fs_admin_store_err(rep, e);
        return;
    }
    const struct { const char *name; uint64_t v; } s[] = {
        { "store.ops", st.ops },
        { "store.commits", st.commits },
        { "journal.appended_seq", st.appended_seq },
        { "journal.flushes", st.flushes },
        { "crypto.sealed_bytes", st.sealed_bytes },
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        snprintf(name, sizeof name, "%s", s[i].name);
        snprintf(num, sizeof num, "%" PRIu64, s[i].v);
        if (admin_reply_row(rep, 2, f) != 0)
            return;
    }
}

/* `checkpoint`: every change acknowledged so far durable in the tenant
 * databases (the barrier of a snapshot, docs/snapshots.md). */
static void fs_admin_checkpoint(struct fs_ctx *c, struct admin_reply *rep)
{
    store_err e = store_checkpoint(c->store);

    if (e != STORE_OK)
        fs_admin_store_err(rep, e);
}

/* `restore SNAPSHOT NAME`: tenant NAME's content replaced by its copy in
 * the snapshot, while mounted (fs_tenant_restore).  The reply's errno
 * tells tenantctl which part was missing: ENOENT the snapshot, ESRCH the
 * tenant in it, EXDEV the tenant in the store (removed, or made anew). */
static void fs_admin_restore(struct fs_ctx *c, const struct admin_req *req,
                             struct admin_reply *rep)
{
    char what = 0;
    int rc = fs_tenant_restore(c, req->args[0], req->args[1], &what);

    if (rc == 0)
        return;
    if (rc == ENOENT && what == 's')
        admin_reply_err(rep, ENOENT, "no such snapshot");
    else if (rc == ENOENT && what == 't')
        admin_reply_err(rep, ESRCH, "the snapshot holds no such tenant");
    else if ((rc == ENOENT && what == 'T') || rc == EXDEV)
        admin_reply_err(rep, EXDEV, "the tenant was removed since the snapshot");
    else if (rc == EIO && what == 's')
        admin_reply_err(rep, EIO, "the snapshot's manifest is damaged");
    else
        admin_reply_err(rep, rc, "%s", strerror(rc));
}

/* admin/'s handler: one request from an allowed peer. */
static void fs_admin_handle(const struct admin_req *req, struct admin_reply *rep,
                            void *arg)
{
    struct fs_ctx *c = arg;

    if (strcmp(req->verb, "add") == 0)
        fs_admin_add(c, req, rep);
    else if (strcmp(req->verb, "remove") == 0)
        fs_admin_remove(c, req, rep);
    else if (strcmp(req->verb, "list") == 0)
        fs_admin_list(c, rep);
    else if (strcmp(req->verb, "counters") == 0)
        fs_admin_counters(c, rep);
    else if (strcmp(req->verb, "checkpoint") == 0)
        fs_admin_checkpoint(c, rep);
    else if (strcmp(req->verb, "restore") == 0)
        fs_admin_restore(c, req, rep);
    else if (strcmp(req->verb, "chown") == 0 || strcmp(req->verb, "chmod") == 0 ||
             strcmp(req->verb, "quota") == 0)
        fs_admin_update(c, req, rep);
    else
        admin_reply_err(rep, EINVAL, "unknown verb");
}

/* ===================================================================== */
/* Start and stop                                                        */
/* ===================================================================== */

int fs_admin_start(struct fs_ctx *c)
{
    struct fs_admin *a;
    int rc;

    c->admin = NULL;
    a = calloc(1, sizeof *a);
    if (!a)
        return ENOMEM;
    rc = admin_server_start(store_dir(c->store), 0, fs_admin_handle, c, &a->srv);
    if (rc == EROFS) {
        /* A store on read-only media (mounted -o ro): no socket can be
         * made there, and there is nothing to administer; tenantctl finds
         * no daemon to talk to. */
        free(a);
        return 0;
    }
    if (rc != 0) {
        free(a);
        return rc;
    }
    c->admin = a;
    return 0;
}

void fs_admin_stop(struct fs_ctx *c)
{
    if (!c || !c->admin)
        return;
    admin_server_stop(c->admin->srv);
    free(c->admin);
    c->admin = NULL;
}
