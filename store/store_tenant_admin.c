/*
 * store_tenant_admin.c - changing the registry: adding a tenant (registry
 * entry and a new database), removing one (in the daemon even while it
 * serves it: the handle goes dead, its env is closed, its files deleted),
 * and changing a tenant folder's owner, group, mode or quotas.  The record
 * layout and the open-tenant table are store_registry.c's
 * (store_registry_int.h).
 *
 * While a daemon serves the store, it alone changes the registry: a tool's
 * add, remove or update is refused with STORE_EBUSY (tenantctl then asks
 * the daemon over its admin socket).  Updates are serialised by
 * s->reg_lock so the open tenant's copy of its record never goes stale.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_registry_int.h"

static const char reg_next_id_key[] = "next_id";

/* ===================================================================== */
/* Adding and removing                                                    */
/* ===================================================================== */

/* In a process other than the daemon, refuse to change the registry or
 * delete a tenant's files while a daemon serves the store (it alone writes
 * the registry then, and may have the env mapped): hold daemon.lock shared
 * for the duration. */
static store_err store_daemon_probe(struct store *s, int *fd_out)
{
    char *path = NULL;
    int fd;

    *fd_out = -1;
    if (s->lock_fd >= 0)
        return STORE_OK;       /* we are the daemon */
    if (asprintf(&path, "%s/%s", s->dir, STORE_LOCK_NAME) < 0)
        return STORE_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? STORE_OK : store_from_errno(errno);
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        store_err err = errno == EWOULDBLOCK ? STORE_EBUSY : store_from_errno(errno);
        close(fd);
        return err;
    }
    *fd_out = fd;
    return STORE_OK;
}

store_err store_tenant_add(store *s, const char *name, uint32_t uid,
                           uint32_t gid, uint32_t mode, uint64_t *id_out)
{
    struct store_tenant_info info = { 0 };
    uint8_t hash[16], idbuf[8];
    uint64_t id = 1, other;
    store_tenant *t = NULL;
    MDB_txn *txn = NULL;
    char *path = NULL;
    size_t len = name ? strlen(name) : 0;
    store_err err;
    MDB_val k, v;
    int probe_fd = -1;

    if ((err = store_tenant_name_check(name, len)) != STORE_OK)
        return err;
    /* While a daemon serves the store, it alone writes the registry. */
    if ((err = store_daemon_probe(s, &probe_fd)) != STORE_OK)
        return err;
    if ((err = store_reg_txn(s, true, &txn)) != STORE_OK)
        goto out;
    seal_name_hash128(s->regkey, name, len, hash);
    err = store_reg_name_get(s, txn, hash, &other);
    if (err == STORE_OK)
        err = STORE_EEXIST;
    if (err != STORE_ENOENT)
        goto out;
    k = (MDB_val){ sizeof reg_next_id_key - 1, (void *)reg_next_id_key };
    err = store_from_mdb(mdb_get(txn, s->reg_meta, &k, &v));
    if (err == STORE_OK && v.mv_size == 8)
        id = store_get_be64(v.mv_data);
    else if (err != STORE_ENOENT)
        goto out;
    if (id == 0 || id > STORE_TENANT_MAX) {
        err = STORE_ENOSPC;
        goto out;
    }
    info.id = id;
    memcpy(info.name, name, len);
    info.created_sec = (uint64_t)time(NULL);
    info.uid = uid;
    info.gid = gid;
    info.mode = mode & 07777;
    if ((err = store_reg_record_put(s, txn, &info)) != STORE_OK)
        goto out;
    store_put_be64(idbuf, id);
    k = (MDB_val){ 16, hash };
    v = (MDB_val){ 8, idbuf };
    if ((err = store_from_mdb(mdb_put(txn, s->reg_names, &k, &v,
                                      MDB_NOOVERWRITE))) != STORE_OK)
        goto out;
    store_put_be64(idbuf, id + 1);
    k = (MDB_val){ sizeof reg_next_id_key - 1, (void *)reg_next_id_key };
    if ((err = store_from_mdb(mdb_put(txn, s->reg_meta, &k, &v, 0))) != STORE_OK)
        goto out;

    /* The tenant's env, while the registry txn is still open: if this fails,
     * the registry never names the tenant.  A folder left by a crash in this
     * window (ids are never reused) is cleared first. */
    path = store_tenant_path(s->dir, id);
    if (!path) {
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_rmtree(path)) != STORE_OK)
        goto out;
    if (mkdir(path, 0700) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    err = store_tenant_env_open(path, id, s->master, false, true,
                                uid, gid, mode & 07777, &t);
    if (err != STORE_OK)
        goto undo_dir;
    /* The env's files and folder on disk before the registry names it. */
    err = store_fsync_path(path);
    if (err == STORE_OK) {
        char *parent = NULL;
        err = asprintf(&parent, "%s/%s", s->dir, STORE_TENANTS_DIR) < 0
                  ? STORE_ENOMEM : store_fsync_path(parent);
        if (err == STORE_ENOMEM)
            parent = NULL;
        free(parent);
    }
    if (err != STORE_OK) {
        store_tenant_env_close(t);
        goto undo_dir;
    }
    err = store_from_mdb(mdb_txn_commit(txn));
    txn = NULL;
    if (err == STORE_OK)
        err = store_from_mdb(mdb_env_sync(s->reg_env, 1));
    if (err != STORE_OK) {
        store_tenant_env_close(t);
        goto undo_dir;
    }
    /* The daemon keeps the new env open for the mount; a tool (tenantctl)
     * closes it: each env reserves its map's address space. */
    /* A daemon's envs keep LMDB's synchronous commits (the writer's
     * checkpoints rely on them); creating it stand-alone may have turned
     * MDB_NOSYNC on. */
    if (s->flags & STORE_OPEN_DAEMON)
        (void)mdb_env_set_flags(t->env, MDB_NOSYNC, 0);
    t->info = info;
    t->info_set = true;
    pthread_mutex_lock(&s->lock);
    if (!(s->flags & STORE_OPEN_DAEMON) || store_open_add(s, t) != STORE_OK)
        store_tenant_env_close(t);     /* reopened lazily when needed */
    pthread_mutex_unlock(&s->lock);
    if (id_out)
        *id_out = id;
    goto out;
undo_dir:
    if (store_rmtree(path) != STORE_OK)
        store_log(LOG_WARNING, "cannot remove the folder of failed tenant %llu",
                  (unsigned long long)id);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (probe_fd >= 0)
        close(probe_fd);
    seal_wipe(&info, sizeof info);
    free(path);
    return err;
}

/* A removed tenant's env is closed once no call is inside it (its handle
 * is dead, so no new call enters), so that the space of its deleted files
 * comes back now rather than at unmount.  Calls on a dead handle return
 * at once: the wait is short. */
void store_tenant_shut(struct store *s, store_tenant *t)
{
    const struct timespec ms = { 0, 1000000 };

    for (;;) {
        while (atomic_load(&t->inflight) != 0)
            nanosleep(&ms, NULL);
        /* under s->lock: store_statfs() uses open envs under it */
        pthread_mutex_lock(&s->lock);
        if (atomic_load(&t->inflight) == 0) {
            store_tenant_env_shut(t);
            pthread_mutex_unlock(&s->lock);
            return;
        }
        pthread_mutex_unlock(&s->lock);
    }
}

store_err store_tenant_remove(store *s, const char *name, unsigned flags)
{
    uint8_t hash[16], key[8];
    uint64_t id = 0;
    store_tenant *t = NULL;
    MDB_txn *txn = NULL;
    char *path = NULL;
    size_t len = name ? strlen(name) : 0, idx;
    int probe_fd = -1;
    bool retired = false;
    store_err err;

    if (store_tenant_name_check(name, len) != STORE_OK)
        return STORE_ENOENT;
    if ((err = store_daemon_probe(s, &probe_fd)) != STORE_OK)
        return err;
    pthread_mutex_lock(&s->tenant_lock);   /* not during an online restore */
    seal_name_hash128(s->regkey, name, len, hash);
    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        goto out;
    err = store_reg_name_get(s, txn, hash, &id);
    mdb_txn_abort(txn);
    txn = NULL;
    if (err != STORE_OK)
        goto out;

    if (s->lock_fd >= 0) {
        /* The daemon: the tenant's ops stop and its batch is checkpointed;
         * its handle stays in the table, dead, until store_close() (other
         * threads may hold it).  A tenant that cannot be opened (damaged)
         * can still be removed, but not as "empty". */
        err = store_tenant_get(s, id, &t);
        if (err == STORE_OK) {
            store_writer_retire(s, t);
            retired = true;
        } else if (err != STORE_EIO || (flags & STORE_TENANT_REMOVE_EMPTY)) {
            goto out;
        }
    } else if (flags & STORE_TENANT_REMOVE_EMPTY) {
        if ((err = store_tenant_get(s, id, &t)) != STORE_OK)
            goto out;
    }
    if (t && (flags & STORE_TENANT_REMOVE_EMPTY)) {
        bool empty = false;

        /* committed state is the newest: no batch is open any more */
        err = store_map_read_begin(t, &txn);
        if (err == STORE_OK) {
            err = store_dir_is_empty(t, txn, STORE_ROOT_INO, &empty);
            store_map_read_end(t, txn);
        }
        txn = NULL;
        if (err == STORE_OK && !empty)
            err = STORE_ENOTEMPTY;
        if (err != STORE_OK)
            goto out;
    }
    if (s->lock_fd < 0) {
        /* a tool's open tenant is only cached here: close it */
        pthread_mutex_lock(&s->lock);
        t = store_open_find(s, id, &idx);
        if (t) {
            s->open[idx] = s->open[--s->nopen];
            store_tenant_env_close(t);
        }
        t = NULL;
        pthread_mutex_unlock(&s->lock);
    }

    if ((err = store_reg_txn(s, true, &txn)) != STORE_OK)
        goto out;
    store_put_be64(key, id);
    MDB_val kid = { sizeof key, key }, kname = { 16, hash };
    if ((err = store_from_mdb(mdb_del(txn, s->reg_tenants, &kid, NULL))) != STORE_OK ||
        (err = store_from_mdb(mdb_del(txn, s->reg_names, &kname, NULL))) != STORE_OK)
        goto out;
    err = store_from_mdb(mdb_txn_commit(txn));
    txn = NULL;
    if (err == STORE_OK && retired) {
        retired = false;       /* out of the registry: removed for good */
        store_tenant_shut(s, t);
    }
    if (err == STORE_OK)
        err = store_from_mdb(mdb_env_sync(s->reg_env, 1));
    if (err != STORE_OK)
        goto out;
    path = store_tenant_path(s->dir, id);
    if (!path) {
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_rmtree(path)) != STORE_OK)
        store_log(LOG_WARNING, "tenant %llu left the registry but its folder "
                  "could not be removed", (unsigned long long)id);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (retired)
        atomic_store(&t->dead, false);   /* not removed: it serves again */
    pthread_mutex_unlock(&s->tenant_lock);
    if (probe_fd >= 0)
        close(probe_fd);
    free(path);
    return err;
}

#define TENANT_SET_ALL (STORE_TENANT_SET_UID | STORE_TENANT_SET_GID |       \
                        STORE_TENANT_SET_MODE | STORE_TENANT_SET_QUOTA_BYTES | \
                        STORE_TENANT_SET_QUOTA_RECORDS)

/* Apply the fields of `in` chosen by `mask` to `info`. */
static void store_tenant_info_apply(struct store_tenant_info *info,
                                    const struct store_tenant_info *in,
                                    unsigned mask)
{
    if (mask & STORE_TENANT_SET_UID)
        info->uid = in->uid;
    if (mask & STORE_TENANT_SET_GID)
        info->gid = in->gid;
    if (mask & STORE_TENANT_SET_MODE)
        info->mode = in->mode & 07777;
    if (mask & STORE_TENANT_SET_QUOTA_BYTES)
        info->quota_bytes = in->quota_bytes;
    if (mask & STORE_TENANT_SET_QUOTA_RECORDS)
        info->quota_records = in->quota_records;
}

store_err store_tenant_update(store *s, uint64_t id,
                              const struct store_tenant_info *in, unsigned mask)
{
    struct store_tenant_info info, root = { 0 };
    store_tenant *t;
    MDB_txn *txn = NULL;
    bool owner_known = false, have_root = false;
    int probe_fd = -1;
    store_err err;

    if ((mask & ~(unsigned)TENANT_SET_ALL) ||
        ((mask & STORE_TENANT_SET_MODE) && in->mode > 07777))
        return STORE_EINVAL;
    /* While a daemon serves the store, it alone writes the registry. */
    if ((err = store_daemon_probe(s, &probe_fd)) != STORE_OK)
        return err;
    pthread_mutex_lock(&s->reg_lock);
    for (;;) {
        if ((err = store_reg_txn(s, true, &txn)) != STORE_OK)
            goto out;
        err = store_reg_record_get(s, txn, id, &info, &owner_known);
        if (err != STORE_OK)
            goto out;
        if (owner_known || have_root)
            break;
        /* A version 1 record: the owner is on the root inode, read outside
         * any registry transaction (s->lock order), then rewritten here
         * as version 2. */
        mdb_txn_abort(txn);
        txn = NULL;
        root.id = id;
        if ((err = store_tenant_info_attrs(s, &root)) != STORE_OK)
            goto out;
        have_root = true;
    }
    if (!owner_known) {
        info.uid = root.uid;
        info.gid = root.gid;
        info.mode = root.mode;
    }
    store_tenant_info_apply(&info, in, mask);
    if ((err = store_reg_record_put(s, txn, &info)) != STORE_OK)
        goto out;
    err = store_from_mdb(mdb_txn_commit(txn));
    txn = NULL;
    if (err == STORE_OK)
        err = store_from_mdb(mdb_env_sync(s->reg_env, 1));
    if (err != STORE_OK)
        goto out;
    /* the open tenant's copy: the next op sees the change */
    pthread_mutex_lock(&s->lock);
    t = store_open_find(s, id, NULL);
    if (t) {
        pthread_mutex_lock(&t->info_lock);
        t->info = info;
        t->info_set = true;
        pthread_mutex_unlock(&t->info_lock);
    }
    pthread_mutex_unlock(&s->lock);
out:
    if (txn)
        mdb_txn_abort(txn);
    pthread_mutex_unlock(&s->reg_lock);
    if (probe_fd >= 0)
        close(probe_fd);
    seal_wipe(&info, sizeof info);
    return err;
}
