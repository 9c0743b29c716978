/*
 * store_xattr.c - extended attributes of records: their sealed layout, the
 * "user." namespace rule, get/set/list/remove with XATTR_CREATE/REPLACE
 * semantics, and deleting all of an inode's attributes with the inode.
 *
 * Format of one extended attribute (tenant "xattrs" table)
 * --------------------------------------------------------
 *
 *     key   = ino (8, big-endian) || seal_name_hash(t->namekey, name) (8 BE)
 *     value = seal(t->key, AD, plaintext)
 *     AD    = "X" (1) || tenant id (8 BE) || ino (8 BE) || name hash (8 BE)
 *     plaintext = name length (1) || name || value
 *
 * Names are whole names including the namespace ("user.color"), 1 to
 * STORE_XATTR_NAME_MAX bytes; values are 0 to STORE_XATTR_SIZE_MAX bytes.
 * Only names starting with "user." are stored: setting or removing another
 * namespace gives STORE_ENOTSUP, reading one STORE_ENODATA, and a listing
 * shows only what is stored.  The name is kept inside the sealed value so a
 * listing can return it and so that two names with the same keyed hash are
 * told apart: such a collision is logged (ids only) and refused with
 * STORE_ENOSPC rather than overwriting the other attribute.
 *
 * An attribute is charged to the tenant's use (store_usage.c) as its
 * plaintext size, 1 + name + value bytes, so a byte quota bounds them too.
 *
 * Setting or removing an attribute updates the inode's ctime (to the op's
 * time) in the same transaction; both are ops (store_setxattr_apply(),
 * store_removexattr_apply()), the reads run through store_exec_read().  A value failing authentication is STORE_EIO, logged with the
 * tenant and inode, and never returned.
 */
#include <stdlib.h>
#include <string.h>

#include "store_ops.h"

#define XATTR_KEY_LEN   16u
#define XATTR_AD_LEN    25u
#define XATTR_PREFIX    "user."
#define XATTR_PREFIX_LEN 5u
/* Largest plaintext: length byte, name, value. */
#define XATTR_PLAIN_MAX (1u + STORE_XATTR_NAME_MAX + STORE_XATTR_SIZE_MAX)

/* One opened attribute: points into a scratch plaintext buffer. */
struct xattr_rec {
    const char *name;
    size_t namelen;
    const uint8_t *value;
    size_t valuelen;
};

/* ---------------------------------------------------------------------- */
/* Names, keys, sealing                                                    */
/* ---------------------------------------------------------------------- */

/* STORE_ERANGE for an empty or too long name, STORE_ENOTSUP for a
 * namespace other than "user.", STORE_EINVAL for "user." alone.  `len` is
 * the name's length (a journalled name is not NUL-terminated). */
static store_err store_xattr_name_check(const char *name, size_t len)
{
    if (len == 0 || len > STORE_XATTR_NAME_MAX)
        return STORE_ERANGE;
    if (memchr(name, '\0', len) != NULL)
        return STORE_EINVAL;
    if (len < XATTR_PREFIX_LEN || memcmp(name, XATTR_PREFIX, XATTR_PREFIX_LEN) != 0)
        return STORE_ENOTSUP;
    if (len == XATTR_PREFIX_LEN)
        return STORE_EINVAL;
    return STORE_OK;
}

/* The length of a caller's NUL-terminated name (capped just past the
 * limit, so that a longer one is refused by the check above). */
static size_t store_xattr_name_len(const char *name)
{
    return strnlen(name, STORE_XATTR_NAME_MAX + 1);
}

static void store_xattr_key(uint8_t k[XATTR_KEY_LEN], uint64_t ino, uint64_t hash)
{
    store_put_be64(k, ino);
    store_put_be64(k + 8, hash);
}

static void store_xattr_ad(const store_tenant *t, uint64_t ino, uint64_t hash,
                           uint8_t ad[XATTR_AD_LEN])
{
    ad[0] = 'X';
    store_put_be64(ad + 1, t->id);
    store_put_be64(ad + 9, ino);
    store_put_be64(ad + 17, hash);
}

static uint8_t *store_xattr_scratch(void)
{
    return malloc(XATTR_PLAIN_MAX + SEAL_OVERHEAD);
}

static void store_xattr_scratch_free(uint8_t *p)
{
    if (p == NULL)
        return;
    seal_wipe(p, XATTR_PLAIN_MAX + SEAL_OVERHEAD);
    free(p);
}

/* Open the sealed value `v` stored under (ino, hash) into `plain` and point
 * `r` into it.  STORE_EIO (logged) when damaged. */
static store_err store_xattr_open(const store_tenant *t, uint64_t ino,
                                  uint64_t hash, const MDB_val *v,
                                  uint8_t *plain, struct xattr_rec *r)
{
    uint8_t ad[XATTR_AD_LEN];
    size_t plen;

    store_xattr_ad(t, ino, hash, ad);
    if (v->mv_size < SEAL_OVERHEAD + 2
        || v->mv_size > SEAL_OVERHEAD + XATTR_PLAIN_MAX
        || seal_open(t->key, ad, sizeof(ad), v->mv_data, v->mv_size, plain) != 0)
        goto bad;
    plen = v->mv_size - SEAL_OVERHEAD;
    r->namelen = plain[0];
    if (r->namelen == 0 || 1 + r->namelen > plen)
        goto bad;
    r->name = (const char *)plain + 1;
    r->value = plain + 1 + r->namelen;
    r->valuelen = plen - 1 - r->namelen;
    return STORE_OK;
bad:
    store_log(LOG_ERR, "tenant %llu inode %llu: extended attribute failed "
              "authentication", (unsigned long long)t->id,
              (unsigned long long)ino);
    return STORE_EIO;
}

/* Look up `name` of `ino`.  *found false when absent; STORE_ENOSPC-worthy
 * collisions are reported through *other (a different name, same hash). */
static store_err store_xattr_find(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                  const char *name, size_t len, uint64_t hash,
                                  uint8_t *plain, struct xattr_rec *r,
                                  bool *found, bool *other)
{
    uint8_t kbuf[XATTR_KEY_LEN];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    store_err err;
    int rc;

    *found = *other = false;
    store_xattr_key(kbuf, ino, hash);
    rc = mdb_get(txn, t->xattrs, &k, &v);
    if (rc == MDB_NOTFOUND)
        return STORE_OK;
    if (rc != 0)
        return store_from_mdb(rc);
    err = store_xattr_open(t, ino, hash, &v, plain, r);
    if (err != STORE_OK)
        return err;
    if (r->namelen == len && memcmp(r->name, name, len) == 0)
        *found = true;
    else
        *other = true;
    return STORE_OK;
}

static void store_xattr_collision_log(const store_tenant *t, uint64_t ino)
{
    store_log(LOG_WARNING, "tenant %llu inode %llu: extended attribute name "
              "hash collision; attribute refused", (unsigned long long)t->id,
              (unsigned long long)ino);
}

/* Set the inode's ctime to the op's time (inside txn). */
static store_err store_xattr_touch(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                   struct store_inode *in,
                                   const struct timespec *now)
{
    in->ctime = *now;
    return store_inode_put(t, txn, ino, in);
}

static store_err store_xattr_set_check(const char *name, size_t len,
                                       size_t size, uint32_t flags)
{
    store_err err = store_xattr_name_check(name, len);

    if (err != STORE_OK)
        return err;
    if (size > STORE_XATTR_SIZE_MAX)
        return STORE_E2BIG;
    if ((flags & ~(uint32_t)(STORE_XATTR_CREATE | STORE_XATTR_REPLACE)) != 0
        || flags == (STORE_XATTR_CREATE | STORE_XATTR_REPLACE))
        return STORE_EINVAL;
    return STORE_OK;
}

/* ---------------------------------------------------------------------- */
/* Public operations                                                       */
/* ---------------------------------------------------------------------- */

store_err store_setxattr_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    uint8_t kbuf[XATTR_KEY_LEN], ad[XATTR_AD_LEN], *plain = NULL;
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    struct store_inode in;
    struct xattr_rec r;
    size_t len = op->namelen, size = op->len;
    uint64_t hash;
    bool found, other;
    store_err err;
    int rc;

    err = store_xattr_set_check(op->name, len, size, op->flags);
    if (err != STORE_OK)
        return err;
    if ((plain = store_xattr_scratch()) == NULL)
        return STORE_ENOMEM;
    hash = seal_name_hash(t->namekey, op->name, len);
    err = store_inode_get(t, txn, op->ino, &in);
    if (err == STORE_OK)
        err = store_xattr_find(t, txn, op->ino, op->name, len, hash, plain, &r,
                               &found, &other);
    if (err != STORE_OK)
        goto out;
    if (other) {
        store_xattr_collision_log(t, op->ino);
        err = STORE_ENOSPC;
        goto out;
    }
    if (found && (op->flags & STORE_XATTR_CREATE)) {
        err = STORE_EEXIST;
        goto out;
    }
    if (!found && (op->flags & STORE_XATTR_REPLACE)) {
        err = STORE_ENODATA;
        goto out;
    }

    plain[0] = (uint8_t)len;
    memcpy(plain + 1, op->name, len);
    if (size > 0)
        memcpy(plain + 1 + len, op->data, size);
    store_xattr_key(kbuf, op->ino, hash);
    store_xattr_ad(t, op->ino, hash, ad);
    v.mv_size = 1 + len + size + SEAL_OVERHEAD;
    v.mv_data = NULL;
    rc = mdb_put(txn, t->xattrs, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        err = store_from_mdb(rc);
        goto out;
    }
    if (seal_value(t->key, ad, sizeof(ad), plain, 1 + len + size,
                   v.mv_data) != 0) {
        err = STORE_EIO;
        goto out;
    }
    /* the tenant's use: the attribute's plaintext, replacing the old one */
    t->d_bytes += (int64_t)(1 + len + size) -
                  (found ? (int64_t)(1 + r.namelen + r.valuelen) : 0);
    err = store_xattr_touch(t, txn, op->ino, &in, &op->now);
out:
    store_xattr_scratch_free(plain);
    return err;
}

store_err store_setxattr(store_tenant *t, uint64_t ino, const char *name,
                         const void *value, size_t size, int flags)
{
    struct store_op op = {
        .kind = STORE_OP_SETXATTR, .ino = ino, .name = name,
        .namelen = store_xattr_name_len(name), .data = value, .len = size,
        .flags = (uint32_t)flags,
    };
    store_err err;

    if (flags < 0)
        return STORE_EINVAL;
    err = store_xattr_set_check(name, op.namelen, size, op.flags);
    return err == STORE_OK ? store_exec_write(t, &op) : err;
}

struct xattr_get_arg {
    uint64_t ino;
    const char *name;
    size_t namelen, size, *len;
    void *value;               /* getxattr's value, or listxattr's list */
};

static store_err store_getxattr_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct xattr_get_arg *g = arg;
    struct store_inode in;
    struct xattr_rec r;
    uint8_t *plain = NULL;
    bool found, other;
    store_err err;

    if ((plain = store_xattr_scratch()) == NULL)
        return STORE_ENOMEM;
    err = store_inode_get(t, txn, g->ino, &in);
    if (err == STORE_OK)
        err = store_xattr_find(t, txn, g->ino, g->name, g->namelen,
                               seal_name_hash(t->namekey, g->name, g->namelen),
                               plain, &r, &found, &other);
    if (err == STORE_OK && !found)
        err = STORE_ENODATA;
    if (err == STORE_OK && g->size > 0 && r.valuelen > g->size)
        err = STORE_ERANGE;
    if (err == STORE_OK) {
        if (g->size > 0 && r.valuelen > 0)
            memcpy(g->value, r.value, r.valuelen);
        *g->len = r.valuelen;
    }
    store_xattr_scratch_free(plain);
    return err;
}

store_err store_getxattr(store_tenant *t, uint64_t ino, const char *name,
                         void *value, size_t size, size_t *len)
{
    struct xattr_get_arg g = {
        .ino = ino, .name = name, .namelen = store_xattr_name_len(name),
        .size = size, .len = len, .value = value,
    };
    store_err err;

    *len = 0;
    err = store_xattr_name_check(name, g.namelen);
    if (err == STORE_ENOTSUP || err == STORE_EINVAL)
        return STORE_ENODATA;
    if (err != STORE_OK)
        return err;
    return store_exec_read(t, store_getxattr_fn, &g);
}

static store_err store_listxattr_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct xattr_get_arg *g = arg;
    uint8_t kbuf[XATTR_KEY_LEN], *plain = NULL;
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    struct store_inode in;
    MDB_cursor *cur = NULL;
    char *list = g->value;
    size_t need = 0;
    store_err err;
    int rc;

    if ((plain = store_xattr_scratch()) == NULL)
        return STORE_ENOMEM;
    err = store_inode_get(t, txn, g->ino, &in);
    if (err != STORE_OK)
        goto out;
    rc = mdb_cursor_open(txn, t->xattrs, &cur);
    if (rc != 0) {
        err = store_from_mdb(rc);
        goto out;
    }
    store_xattr_key(kbuf, g->ino, 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct xattr_rec r;

        if (k.mv_size != XATTR_KEY_LEN || store_get_be64(k.mv_data) != g->ino)
            break;
        err = store_xattr_open(t, g->ino,
                               store_get_be64((uint8_t *)k.mv_data + 8),
                               &v, plain, &r);
        if (err != STORE_OK)
            break;
        if (g->size > 0) {
            if (need + r.namelen + 1 > g->size) {
                err = STORE_ERANGE;
                break;
            }
            memcpy(list + need, r.name, r.namelen);
            list[need + r.namelen] = '\0';
        }
        need += r.namelen + 1;
    }
    if (err == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
        err = store_from_mdb(rc);
    mdb_cursor_close(cur);
    if (err == STORE_OK)
        *g->len = need;
out:
    store_xattr_scratch_free(plain);
    return err;
}

store_err store_listxattr(store_tenant *t, uint64_t ino, char *list,
                          size_t size, size_t *len)
{
    struct xattr_get_arg g = {
        .ino = ino, .size = size, .len = len, .value = list,
    };

    *len = 0;
    return store_exec_read(t, store_listxattr_fn, &g);
}

store_err store_removexattr_apply(store_tenant *t, MDB_txn *txn,
                                  struct store_op *op)
{
    uint8_t kbuf[XATTR_KEY_LEN], *plain = NULL;
    MDB_val k = { sizeof(kbuf), kbuf };
    struct store_inode in;
    struct xattr_rec r;
    uint64_t hash;
    bool found, other;
    store_err err;

    err = store_xattr_name_check(op->name, op->namelen);
    if (err == STORE_EINVAL)
        return STORE_ENODATA;
    if (err != STORE_OK)
        return err;
    if ((plain = store_xattr_scratch()) == NULL)
        return STORE_ENOMEM;
    hash = seal_name_hash(t->namekey, op->name, op->namelen);
    err = store_inode_get(t, txn, op->ino, &in);
    if (err == STORE_OK)
        err = store_xattr_find(t, txn, op->ino, op->name, op->namelen, hash,
                               plain, &r, &found, &other);
    if (err == STORE_OK && !found)
        err = STORE_ENODATA;
    if (err == STORE_OK) {
        store_xattr_key(kbuf, op->ino, hash);
        err = store_from_mdb(mdb_del(txn, t->xattrs, &k, NULL));
    }
    if (err == STORE_OK)
        t->d_bytes -= (int64_t)(1 + r.namelen + r.valuelen);
    if (err == STORE_OK)
        err = store_xattr_touch(t, txn, op->ino, &in, &op->now);
    store_xattr_scratch_free(plain);
    return err;
}

store_err store_removexattr(store_tenant *t, uint64_t ino, const char *name)
{
    struct store_op op = {
        .kind = STORE_OP_REMOVEXATTR, .ino = ino, .name = name,
        .namelen = store_xattr_name_len(name),
    };
    store_err err = store_xattr_name_check(name, op.namelen);

    if (err == STORE_EINVAL)
        return STORE_ENODATA;
    return err == STORE_OK ? store_exec_write(t, &op) : err;
}

store_err store_xattrs_delete_all(store_tenant *t, MDB_txn *txn, uint64_t ino)
{
    uint8_t kbuf[XATTR_KEY_LEN];
    MDB_val k, v;
    MDB_cursor *cur = NULL;
    int rc;

    rc = mdb_cursor_open(txn, t->xattrs, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    store_xattr_key(kbuf, ino, 0);
    for (;;) {
        k.mv_size = sizeof(kbuf);
        k.mv_data = kbuf;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size != XATTR_KEY_LEN
            || store_get_be64(k.mv_data) != ino)
            break;
        size_t charged = v.mv_size > SEAL_OVERHEAD ? v.mv_size - SEAL_OVERHEAD : 0;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        t->d_bytes -= (int64_t)charged;
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : store_from_mdb(rc);
}

store_err store_xattr_verify(const store_tenant *t, const MDB_val *k,
                             const MDB_val *v)
{
    uint8_t *plain = store_xattr_scratch();
    struct xattr_rec r;
    store_err err;

    if (plain == NULL)
        return STORE_ENOMEM;
    err = k->mv_size != XATTR_KEY_LEN ? STORE_EIO :
          store_xattr_open(t, store_get_be64(k->mv_data),
                           store_get_be64((const uint8_t *)k->mv_data + 8), v,
                           plain, &r);
    store_xattr_scratch_free(plain);
    return err;
}
