/*
 * store_usage.c - what a tenant uses, and its quotas.
 *
 * A tenant's use is kept in its own database, meta "usage" (16 bytes: the
 * charged bytes, then the records, big-endian), changed in the same
 * transaction as the records it counts, so it is exactly as durable and as
 * recoverable as they are: the journal's replay of an op redoes its
 * accounting too.
 *
 * A record is charged what st_blocks counts, in bytes (store_inode_charge);
 * folders are charged nothing; an extended attribute its plaintext (1 +
 * name + value bytes, store_xattr.c); every inode but the tenant's root
 * folder is one record.  store_inode_put(), store_inode_del() and store_ino_alloc()
 * add their differences to t->d_bytes / t->d_records while a write
 * transaction runs; store_op_apply() then calls store_usage_flush(), which
 * checks the quotas (unless the op is being replayed: it was acknowledged
 * once and must apply again whatever the quota is now) and folds the
 * differences into meta "usage".  Only increases are refused: an op that
 * frees space always works, even above a quota that was lowered.
 *
 * Quotas live in the registry; the open tenant's copy (t->info) is what is
 * enforced.
 */
#include <stdatomic.h>
#include <string.h>

#include "store_internal.h"

static const char usage_key[] = "usage";

/* Read meta "usage": STORE_ENOENT when absent (a database from before it
 * was recorded), STORE_EIO when malformed. */
static store_err usage_stored(store_tenant *t, MDB_txn *txn,
                              struct store_tenant_usage *u)
{
    MDB_val k = { sizeof usage_key - 1, (void *)usage_key }, v;
    int rc = mdb_get(txn, t->meta, &k, &v);

    if (rc == MDB_NOTFOUND)
        return STORE_ENOENT;
    if (rc != 0)
        return store_from_mdb(rc);
    if (v.mv_size != 16) {
        store_log(LOG_ERR, "tenant %llu: usage record damaged",
                  (unsigned long long)t->id);
        return STORE_EIO;
    }
    u->bytes = store_get_be64(v.mv_data);
    u->records = store_get_be64((const uint8_t *)v.mv_data + 8);
    return STORE_OK;
}

static store_err usage_store(store_tenant *t, MDB_txn *txn,
                             const struct store_tenant_usage *u)
{
    uint8_t buf[16];
    MDB_val k = { sizeof usage_key - 1, (void *)usage_key };
    MDB_val v = { sizeof buf, buf };

    store_put_be64(buf, u->bytes);
    store_put_be64(buf + 8, u->records);
    return store_from_mdb(mdb_put(txn, t->meta, &k, &v, 0));
}

/* Walk every inode: what a database from before usage was recorded uses.
 * A record that fails authentication is logged (by store_inode_get) and
 * counted as one record of no bytes. */
static store_err usage_walk(store_tenant *t, MDB_txn *txn,
                            struct store_tenant_usage *u)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    store_err err = STORE_OK;
    int rc;

    memset(u, 0, sizeof *u);
    rc = mdb_cursor_open(txn, t->inodes, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_inode in;
        uint64_t ino;

        if (k.mv_size != 8)
            continue;
        ino = store_get_be64(k.mv_data);
        if (ino == STORE_ROOT_INO)
            continue;
        u->records++;
        err = store_inode_get(t, txn, ino, &in);
        if (err == STORE_EIO) {
            err = STORE_OK;
            continue;
        }
        if (err != STORE_OK)
            break;
        u->bytes += in.charged;
    }
    if (err == STORE_OK && rc != MDB_NOTFOUND)
        err = store_from_mdb(rc);
    mdb_cursor_close(cur);
    if (err != STORE_OK)
        return err;
    /* extended attributes: their plaintext (store_xattr.c) */
    rc = mdb_cursor_open(txn, t->xattrs, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (v.mv_size > SEAL_OVERHEAD)
            u->bytes += v.mv_size - SEAL_OVERHEAD;
    if (rc != MDB_NOTFOUND)
        err = store_from_mdb(rc);
    mdb_cursor_close(cur);
    return err;
}

store_err store_usage_read(store_tenant *t, MDB_txn *txn,
                           struct store_tenant_usage *u)
{
    store_err err = usage_stored(t, txn, u);

    if (err == STORE_ENOENT)
        err = usage_walk(t, txn, u);
    return err;
}

static uint64_t usage_add(uint64_t v, int64_t d)
{
    if (d < 0)
        return (uint64_t)-d > v ? 0 : v - (uint64_t)-d;
    return v + (uint64_t)d;
}

store_err store_usage_init(store_tenant *t, MDB_txn *txn)
{
    struct store_tenant_usage u;
    store_err err = usage_stored(t, txn, &u);

    if (err != STORE_ENOENT)
        return err;
    err = usage_walk(t, txn, &u);
    if (err == STORE_OK)
        err = usage_store(t, txn, &u);
    return err;
}

/* Would `u` (the use after the transaction) break a quota it did not
 * break before the transaction's increase? */
static bool usage_over(store_tenant *t, const struct store_tenant_usage *u)
{
    uint64_t qb, qr;

    if (!t->info_set)
        return false;
    pthread_mutex_lock(&t->info_lock);
    qb = t->info.quota_bytes;
    qr = t->info.quota_records;
    pthread_mutex_unlock(&t->info_lock);
    return (t->d_bytes > 0 && qb != 0 && u->bytes > qb) ||
           (t->d_records > 0 && qr != 0 && u->records > qr);
}

store_err store_usage_flush(store_tenant *t, MDB_txn *txn, bool enforce)
{
    struct store_tenant_usage u;
    store_err err = STORE_OK;

    if (t->d_bytes == 0 && t->d_records == 0)
        return STORE_OK;
    err = store_usage_read(t, txn, &u);
    if (err == STORE_OK) {
        u.bytes = usage_add(u.bytes, t->d_bytes);
        u.records = usage_add(u.records, t->d_records);
    }
    if (err == STORE_OK && enforce && usage_over(t, &u))
        err = STORE_EDQUOT;
    if (err == STORE_OK)
        err = usage_store(t, txn, &u);
    t->d_bytes = 0;
    t->d_records = 0;
    return err;
}

static store_err store_usage_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    return store_usage_read(t, txn, arg);
}

store_err store_tenant_usage(store_tenant *t, struct store_tenant_usage *u)
{
    memset(u, 0, sizeof *u);
    return store_exec_read(t, store_usage_fn, u);     /* ENOENT if removed */
}
