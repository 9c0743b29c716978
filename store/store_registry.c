/*
 * store_registry.c - the tenant registry and the table of open tenants.
 *
 * The registry is the store-level LMDB env STORE/registry/ with three
 * named databases:
 *
 *   tenants  id (8 bytes BE) -> sealed tenant record
 *   names    seal_name_hash128(regkey, name) (16 bytes) -> id (8 bytes BE)
 *   meta     "next_id" -> u64 BE, the next tenant id (absent means 1)
 *
 * Tenant ids start at 1, are never reused, and stay <= STORE_TENANT_MAX.
 * A tenant's data lives in its own env, STORE/tenants/<16 hex id>/, whose
 * root inode carries the tenant folder's owner, group and mode.
 *
 * Tenant record plaintext (version 2, integers big-endian), sealed with the
 * registry key and associated data "T" || id (8 bytes BE), so a record can
 * neither be changed nor moved to another id:
 *
 *   offset size  field
 *        0    1  record version = 2
 *        1    2  u16 name length n (1..255)
 *        3    n  name (no NUL)
 *      3+n    8  created, seconds since the epoch
 *     11+n    8  quota in bytes (0 = unlimited)
 *     19+n    8  quota in records (0 = unlimited)
 *     27+n    4  uid of the tenant's folder
 *     31+n    4  gid
 *     35+n    4  mode (permission bits, <= 07777)
 *     39+n       end
 *
 * Version 1 records (27+n bytes) lack uid/gid/mode: those are then read
 * from the tenant's root inode, and the next change rewrites the record as
 * version 2.  The registry is the one source of truth for a tenant folder's
 * owner, group, mode and quotas; an open tenant keeps a copy (t->info)
 * that every change made here updates.
 *
 * A record that fails authentication is never used: the caller gets
 * STORE_EIO and the log names the tenant id (never its name).
 *
 * Open tenants are kept in s->open (protected by s->lock) until
 * store_close().  Lock order: s->lock, then any LMDB transaction; a
 * registry transaction never takes s->lock.
 *
 * This file reads: records, names, the open-tenant table, finding and
 * listing tenants.  Adding, removing and changing them is
 * store_tenant_admin.c's, through store_registry_int.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_registry_int.h"

#define REC_VERSION   2u
#define REC_FIXED_V1  27u     /* record bytes besides the name, version 1 */
#define REC_FIXED     39u     /* ... version 2 */
#define REC_MAX       (REC_FIXED + STORE_NAME_MAX)


/* ===================================================================== */
/* Names and records                                                      */
/* ===================================================================== */

store_err store_tenant_name_check(const char *name, size_t len)
{
    if (!name || len == 0)
        return STORE_EINVAL;
    if (len > STORE_NAME_MAX)
        return STORE_ENAMETOOLONG;
    if (name[0] == '.')          /* ".", "..", and reserved views */
        return STORE_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c < 0x20 || c == 0x7f)
            return STORE_EINVAL;
    }
    return STORE_OK;
}

static void store_reg_ad(uint64_t id, uint8_t ad[9])
{
    ad[0] = 'T';
    store_put_be64(ad + 1, id);
}

store_err store_reg_txn(struct store *s, bool write, MDB_txn **txn)
{
    if (write && (s->flags & STORE_OPEN_RDONLY))
        return STORE_EROFS;
    return store_from_mdb(mdb_txn_begin(s->reg_env, NULL,
                                        write ? 0 : MDB_RDONLY, txn));
}

/* Seal `info`'s name, created time and quotas as the record of info->id. */
store_err store_reg_record_put(struct store *s, MDB_txn *txn,
                                      const struct store_tenant_info *info)
{
    uint8_t plain[REC_MAX], sealed[REC_MAX + SEAL_OVERHEAD], key[8], ad[9];
    size_t n = strlen(info->name), plen = REC_FIXED + n;
    store_err err = STORE_OK;

    plain[0] = REC_VERSION;
    plain[1] = (uint8_t)(n >> 8);
    plain[2] = (uint8_t)n;
    memcpy(plain + 3, info->name, n);
    store_put_be64(plain + 3 + n, info->created_sec);
    store_put_be64(plain + 11 + n, info->quota_bytes);
    store_put_be64(plain + 19 + n, info->quota_records);
    store_put_be32(plain + 27 + n, info->uid);
    store_put_be32(plain + 31 + n, info->gid);
    store_put_be32(plain + 35 + n, info->mode & 07777);
    store_reg_ad(info->id, ad);
    if (seal_value(s->regkey, ad, sizeof ad, plain, plen, sealed) != 0) {
        err = STORE_EIO;
        goto out;
    }
    store_put_be64(key, info->id);
    err = store_from_mdb(mdb_put(txn, s->reg_tenants,
                                 &(MDB_val){ sizeof key, key },
                                 &(MDB_val){ plen + SEAL_OVERHEAD, sealed }, 0));
out:
    seal_wipe(plain, sizeof plain);
    return err;
}

/* Read and open the record of tenant `id` into `info`.  *owner_known is
 * false for a version 1 record (uid/gid/mode then left zero: the caller
 * reads them from the tenant's root inode). */
store_err store_reg_record_get(struct store *s, MDB_txn *txn, uint64_t id,
                                      struct store_tenant_info *info,
                                      bool *owner_known)
{
    uint8_t plain[REC_MAX], key[8], ad[9];
    MDB_val k = { sizeof key, key }, v;
    store_err err = STORE_OK;
    size_t n;

    store_put_be64(key, id);
    err = store_from_mdb(mdb_get(txn, s->reg_tenants, &k, &v));
    if (err != STORE_OK)
        return err;
    store_reg_ad(id, ad);
    if (v.mv_size < REC_FIXED_V1 + 1 + SEAL_OVERHEAD ||
        v.mv_size > REC_MAX + SEAL_OVERHEAD ||
        seal_open(s->regkey, ad, sizeof ad, v.mv_data, v.mv_size, plain) != 0)
        goto damaged;
    n = ((size_t)plain[1] << 8) | plain[2];
    if ((plain[0] != 1 && plain[0] != REC_VERSION) || n == 0 ||
        n > STORE_NAME_MAX ||
        (plain[0] == 1 ? REC_FIXED_V1 : REC_FIXED) + n != v.mv_size - SEAL_OVERHEAD ||
        memchr(plain + 3, '\0', n) != NULL)        /* "name (no NUL)" */
        goto damaged;
    memset(info, 0, sizeof *info);
    *owner_known = plain[0] == REC_VERSION;
    if (*owner_known) {
        info->uid = store_get_be32(plain + 27 + n);
        info->gid = store_get_be32(plain + 31 + n);
        info->mode = store_get_be32(plain + 35 + n);
        if (info->mode > 07777)
            goto damaged;
    }
    info->id = id;
    memcpy(info->name, plain + 3, n);
    info->name[n] = '\0';
    info->created_sec = store_get_be64(plain + 3 + n);
    info->quota_bytes = store_get_be64(plain + 11 + n);
    info->quota_records = store_get_be64(plain + 19 + n);
    goto out;
damaged:
    store_log(LOG_ERR, "registry record of tenant %llu failed authentication",
              (unsigned long long)id);
    err = STORE_EIO;
out:
    seal_wipe(plain, sizeof plain);
    return err;
}

/* The id that `name` maps to, or STORE_ENOENT. */
store_err store_reg_name_get(struct store *s, MDB_txn *txn,
                                    const uint8_t hash[16], uint64_t *id)
{
    MDB_val k = { 16, (void *)hash }, v;
    store_err err = store_from_mdb(mdb_get(txn, s->reg_names, &k, &v));

    if (err != STORE_OK)
        return err;
    if (v.mv_size != 8) {
        store_log(LOG_ERR, "registry name entry has a bad size");
        return STORE_EIO;
    }
    *id = store_get_be64(v.mv_data);
    return STORE_OK;
}

/* ===================================================================== */
/* The open-tenant table                                                  */
/* ===================================================================== */

/* Caller holds s->lock. */
store_tenant *store_open_find(struct store *s, uint64_t id, size_t *idx)
{
    for (size_t i = 0; i < s->nopen; i++) {
        if (s->open[i]->id == id) {
            if (idx)
                *idx = i;
            return s->open[i];
        }
    }
    return NULL;
}

/* Caller holds s->lock. */
store_err store_open_add(struct store *s, store_tenant *t)
{
    if (s->nopen == s->capopen) {
        size_t cap = s->capopen ? s->capopen * 2 : 8;
        store_tenant **p = realloc(s->open, cap * sizeof *p);
        if (!p)
            return STORE_ENOMEM;
        s->open = p;
        s->capopen = cap;
    }
    t->s = s;
    s->open[s->nopen++] = t;
    return STORE_OK;
}

store_err store_tenant_get(store *s, uint64_t id, store_tenant **out)
{
    struct store_tenant_info info;
    store_tenant *t = NULL;
    MDB_txn *txn = NULL;
    char *path = NULL;
    bool owner_known = false;
    store_err err = STORE_OK;

    pthread_mutex_lock(&s->lock);
    /* Journal entries recovery could not apply wait for the next mount
     * (even when the tenant's env is open: a replay failed on it). */
    if ((s->flags & STORE_OPEN_DAEMON) && store_writer_held(s, id)) {
        err = STORE_EIO;
        goto out;
    }
    if ((*out = store_open_find(s, id, NULL)) != NULL) {
        if (atomic_load(&(*out)->dead)) {
            *out = NULL;
            err = STORE_ENOENT;        /* removed while we serve */
        }
        goto out;
    }
    /* The tenant must be in the registry and its record authentic. */
    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        goto out;
    err = store_reg_record_get(s, txn, id, &info, &owner_known);
    mdb_txn_abort(txn);
    if (err != STORE_OK)
        goto out;
    if (!(path = store_tenant_path(s->dir, id))) {
        err = STORE_ENOMEM;
        goto out;
    }
    err = store_tenant_env_open(path, id, s->master,
                                (s->flags & STORE_OPEN_RDONLY) != 0, false,
                                0, 0, 0, &t);
    if (err == STORE_ENOENT) {
        /* The registry names it: a missing env is damage, not a removed
         * tenant (recovery skips the journal entries of those). */
        store_log(LOG_ERR, "tenant %llu: its database is missing",
                  (unsigned long long)id);
        err = STORE_EIO;
    }
    if (err != STORE_OK)
        goto out;
    t->s = s;                  /* attached: synchronous commits */
    if ((s->flags & STORE_OPEN_DAEMON) &&
        (err = store_recover_tenant_prepare(t)) != STORE_OK) {
        store_tenant_env_close(t);
        goto out;
    }
    if (!owner_known) {
        /* a version 1 record: the owner is the root inode's */
        struct store_attr a;

        if ((err = store_getattr(t, STORE_ROOT_INO, &a)) != STORE_OK) {
            store_tenant_env_close(t);
            goto out;
        }
        info.uid = a.uid;
        info.gid = a.gid;
        info.mode = a.mode & 07777;
    }
    t->info = info;
    t->info_set = true;
    if ((err = store_open_add(s, t)) != STORE_OK) {
        store_tenant_env_close(t);
        goto out;
    }
    *out = t;
out:
    pthread_mutex_unlock(&s->lock);
    seal_wipe(&info, sizeof info);
    free(path);
    return err;
}

void store_tenant_info_get(store_tenant *t, struct store_tenant_info *info)
{
    pthread_mutex_lock(&t->info_lock);
    *info = t->info;
    pthread_mutex_unlock(&t->info_lock);
    info->id = t->id;
    /* A snapshot's tenant: nothing tells its handle of a chown or chmod
     * of the live folder, so it asks every time (a registry read when the
     * live tenant is not open). */
    if (t->view_of != NULL)
        store_view_folder(t->view_of, info);
}

store_err store_tenant_folder_now(struct store *s, uint64_t id, uint32_t *uid,
                                  uint32_t *gid, uint32_t *mode)
{
    struct store_tenant_info info;
    store_tenant *t;
    MDB_txn *txn = NULL;
    bool found = false, gone = false, owner_known = false;
    store_err err;

    pthread_mutex_lock(&s->lock);
    t = store_open_find(s, id, NULL);
    if (t != NULL && atomic_load(&t->dead)) {
        gone = true;
    } else if (t != NULL && t->info_set) {
        pthread_mutex_lock(&t->info_lock);
        *uid = t->info.uid;
        *gid = t->info.gid;
        *mode = t->info.mode & 07777;
        pthread_mutex_unlock(&t->info_lock);
        found = true;
    }
    pthread_mutex_unlock(&s->lock);
    if (found || gone)
        return found ? STORE_OK : STORE_ENOENT;
    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        return err;
    err = store_reg_record_get(s, txn, id, &info, &owner_known);
    mdb_txn_abort(txn);
    if (err == STORE_OK && !owner_known)
        err = STORE_ENOENT;
    if (err == STORE_OK) {
        *uid = info.uid;
        *gid = info.gid;
        *mode = info.mode & 07777;
    }
    seal_wipe(&info, sizeof info);
    return err;
}

/* Fill uid, gid and mode of `info` from the tenant's root folder.  A daemon
 * keeps the tenant open (it will serve it); a tool that lists thousands of
 * tenants opens each one only for the moment, so as not to reserve
 * a map's address space per tenant.  s->lock is held over
 * the transient open so no other thread opens the same env meanwhile. */
store_err store_tenant_info_attrs(struct store *s,
                                         struct store_tenant_info *info)
{
    store_tenant *t = NULL;
    struct store_attr a;
    store_err err;

    if (s->lock_fd >= 0) {
        err = store_tenant_get(s, info->id, &t);
        if (err == STORE_OK)
            err = store_getattr(t, STORE_ROOT_INO, &a);
    } else {
        pthread_mutex_lock(&s->lock);
        t = store_open_find(s, info->id, NULL);
        if (t) {
            err = store_getattr(t, STORE_ROOT_INO, &a);
        } else {
            char *path = store_tenant_path(s->dir, info->id);
            err = path ? store_tenant_env_open(path, info->id, s->master, true,
                                               false, 0, 0, 0, &t)
                       : STORE_ENOMEM;
            if (err == STORE_OK)
                err = store_getattr(t, STORE_ROOT_INO, &a);
            store_tenant_env_close(t);
            free(path);
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (err != STORE_OK)
        return err;
    info->uid = a.uid;
    info->gid = a.gid;
    info->mode = a.mode & 07777;
    return STORE_OK;
}

/* ===================================================================== */
/* Looking up and listing                                                 */
/* ===================================================================== */

store_err store_tenant_find(store *s, const char *name, size_t len,
                            struct store_tenant_info *info)
{
    uint8_t hash[16];
    uint64_t id;
    bool owner_known = false;
    MDB_txn *txn = NULL;
    store_err err;

    if (store_tenant_name_check(name, len) != STORE_OK)
        return STORE_ENOENT;
    seal_name_hash128(s->regkey, name, len, hash);
    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        return err;
    err = store_reg_name_get(s, txn, hash, &id);
    if (err == STORE_OK)
        err = store_reg_record_get(s, txn, id, info, &owner_known);
    mdb_txn_abort(txn);
    if (err == STORE_OK && (strlen(info->name) != len ||
                            memcmp(info->name, name, len) != 0))
        err = STORE_ENOENT;    /* a 128-bit hash collision */
    if (err == STORE_OK && !owner_known)
        err = store_tenant_info_attrs(s, info);
    return err;
}

store_err store_tenant_each(store *s, store_tenant_fn fn, void *arg)
{
    struct store_tenant_info *infos = NULL;
    size_t n = 0, cap = 0;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    store_err err;
    int rc;

    /* Collect the records first: s->lock (taken to open tenants) must not
     * be taken inside a registry transaction. */
    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        return err;
    if ((err = store_from_mdb(mdb_cursor_open(txn, s->reg_tenants, &cur))) != STORE_OK)
        goto out;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            err = STORE_EIO;
            goto out;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct store_tenant_info *p = realloc(infos, nc * sizeof *p);
            if (!p) {
                err = STORE_ENOMEM;
                goto out;
            }
            infos = p;
            cap = nc;
        }
        bool owner_known = false;

        err = store_reg_record_get(s, txn, store_get_be64(k.mv_data), &infos[n],
                                   &owner_known);
        if (err == STORE_OK && !owner_known)
            infos[n].mode = UINT32_MAX;    /* read from the root inode below */
        if (err == STORE_EIO) {
            /* One damaged record (logged with its id) must not hide the
             * other tenants: it is left out of the listing. */
            err = STORE_OK;
            continue;
        }
        if (err != STORE_OK)
            goto out;
        n++;
    }
    if (rc != MDB_NOTFOUND) {
        err = store_from_mdb(rc);
        goto out;
    }
    mdb_cursor_close(cur);
    cur = NULL;
    mdb_txn_abort(txn);
    txn = NULL;
    for (size_t i = 0; i < n; i++) {
        err = infos[i].mode == UINT32_MAX ? store_tenant_info_attrs(s, &infos[i])
                                          : STORE_OK;
        if (err == STORE_ENOMEM)
            goto out;
        if (err != STORE_OK) {
            /* A tenant with a version 1 record whose database cannot be
             * opened (damaged, missing, out of descriptors) is left out,
             * never the ones after it. */
            store_log(LOG_ERR, "tenant %llu left out of the listing: %s",
                      (unsigned long long)infos[i].id, store_strerror(err));
            err = STORE_OK;
            continue;
        }
        if (fn(&infos[i], arg) != 0)
            break;
    }
out:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    if (infos) {
        seal_wipe(infos, cap * sizeof *infos);
        free(infos);
    }
    return err;
}

store_err store_tenant_count(store *s, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_stat ms;
    store_err err;

    if ((err = store_reg_txn(s, false, &txn)) != STORE_OK)
        return err;
    err = store_from_mdb(mdb_stat(txn, s->reg_tenants, &ms));
    if (err == STORE_OK)
        *count = ms.ms_entries;
    mdb_txn_abort(txn);
    return err;
}

