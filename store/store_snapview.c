/*
 * store_snapview.c - what the read-only view of snapshots needs from the
 * store (docs/snapshots.md, "The view"): one snapshot's manifest, and a
 * tenant of a snapshot opened read-only as a store_tenant handle.
 *
 * The handle is an ordinary tenant env (store_tenant_env_open) on
 * STORE/snapshots/NAME/tenants/ID, opened with MDB_RDONLY and left
 * unattached (t->s NULL): store_exec_read() then reads in a read
 * transaction of the caller, as for a store without a daemon, and
 * store_exec_write() reaches store_txn_begin(), which refuses a write
 * transaction on a read-only env (STORE_EROFS) before anything is
 * touched.  The copy's values are sealed under the keys of tenant ID, as
 * in the live store, so the env opens with that id and the master key.
 *
 * Its folder's owner, group and mode are the live tenant's of the same id,
 * read anew at every use (store_tenant_info_get, store_getattr of the
 * root): whoever may enter the tenant now may enter its past, and a
 * chmod of the live folder closes both.  When that tenant was removed,
 * the manifest's record (the folder at snapshot time) stands in.  A
 * tenant added again under the same name is another tenant (another id,
 * other keys) and gets nothing of the old one's snapshots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_snapshot_int.h"

store_err store_snapshot_get(store *s, const char *name,
                             struct store_snapshot *snap)
{
    char *dir;
    store_err err;

    memset(snap, 0, sizeof *snap);
    if (store_snapshot_name_check(name) != STORE_OK)
        return STORE_ENOENT;           /* no snapshot can have that name */
    if ((dir = store_snapshot_path(s, name)) == NULL)
        return STORE_ENOMEM;
    err = store_snapshot_manifest_read(s, dir, name, snap);
    free(dir);
    if (err == STORE_OK)
        snprintf(snap->name, sizeof snap->name, "%s", name);
    return err;
}

void store_view_folder(struct store *s, struct store_tenant_info *info)
{
    uint32_t uid, gid, mode;
    store_err err = store_tenant_folder_now(s, info->id, &uid, &gid, &mode);

    if (err == STORE_ENOENT)
        return;                        /* removed since: the manifest's */
    if (err != STORE_OK) {
        /* A damaged record hides the live tenant from all but root: the
         * same for its past. */
        uid = gid = 0;
        mode = 0;
    }
    info->uid = uid;
    info->gid = gid;
    info->mode = mode;
}

void store_snapshot_tenant_folder(store *s,
                                  const struct store_snapshot_tenant *st,
                                  struct store_tenant_info *out)
{
    *out = st->info;
    store_view_folder(s, out);
}

store_err store_snapshot_tenant_open(store *s, const char *name, uint64_t id,
                                     store_tenant **out)
{
    struct store_snapshot snap;
    const struct store_snapshot_tenant *st = NULL;
    store_tenant *t = NULL;
    char *path = NULL;
    store_err err;

    *out = NULL;
    if ((err = store_snapshot_get(s, name, &snap)) != STORE_OK)
        return err;
    for (size_t i = 0; i < snap.ntenants && st == NULL; i++)
        if (snap.tenants[i].info.id == id)
            st = &snap.tenants[i];
    if (st == NULL) {
        err = STORE_ENOENT;
        goto out;
    }
    char *dir = store_snapshot_path(s, name);
    path = dir ? store_snapshot_tenant_path(dir, id, false) : NULL;
    free(dir);
    if (path == NULL) {
        err = STORE_ENOMEM;
        goto out;
    }
    err = store_tenant_env_open(path, id, s->master, true, false, 0, 0, 0, &t);
    if (err == STORE_ENOENT) {
        /* The manifest names it: a missing copy is damage. */
        store_log(LOG_ERR, "snapshot: the copy of tenant %llu is missing",
                  (unsigned long long)id);
        err = STORE_EIO;
    }
    if (err != STORE_OK)
        goto out;
    t->info = st->info;
    t->info_set = true;
    t->view_of = s;
    *out = t;
out:
    free(path);
    store_snapshot_free(&snap);
    return err;
}

void store_snapshot_tenant_close(store_tenant *t)
{
    store_tenant_env_close(t);
}
