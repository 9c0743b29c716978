/*
 * store_dirent.c - the directory entry records of a tenant: name rules, an
 * entry's key, sealed layout and AD, finding, writing and deleting one
 * entry, and the two reads built on them, store_lookup() and
 * store_readdir() (both run through store_exec_read()).  The operations
 * that change the namespace (mknod, link, unlink, rmdir, rename, release)
 * are in store_dir.c.
 *
 * Entry layout.  The "dirents" table maps
 *
 *     key   = parent ino (8, big-endian) || cookie (8, big-endian)
 *     value = sealed(t->key, AD = "D" || tenant id (8 BE) || parent (8 BE)
 *                                   || cookie (8 BE),
 *                    plaintext = ino (8 LE) || type (4 LE, mode & S_IFMT)
 *                                || name bytes (1..255))
 *
 * with cookie = keyed hash of the name under t->namekey, masked to 63 bits,
 * and moved up by 3 when below 3 (0 means "from the start" to readdir, 1 and
 * 2 are left to "." and "..").  Names are thus stored only sealed; the key
 * order is the listing order, and a cookie stays valid while the folder
 * changes, so a listing resumed after cookie C returns every entry that
 * existed throughout exactly once.  The AD binds an entry to its folder and
 * slot: an entry copied elsewhere fails to open (STORE_EIO, logged), and so
 * does one whose type has bits outside S_IFMT or whose name
 * store_name_check() refuses (the layout allows no other).  Two
 * names with the same 63-bit hash cannot both exist: the second is refused
 * with STORE_EEXIST and a warning.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

#define DIRENT_AD_LEN    25u
#define DIRENT_HEAD_LEN  12u
#define DIRENT_MAX_PLAIN (DIRENT_HEAD_LEN + STORE_NAME_MAX)

/* ---------------------------------------------------------------------- */
/* Names and entries                                                       */
/* ---------------------------------------------------------------------- */

store_err store_name_check(const char *name, size_t len)
{
    if (len == 0)
        return STORE_EINVAL;
    if (len > STORE_NAME_MAX)
        return STORE_ENAMETOOLONG;
    if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL)
        return STORE_EINVAL;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return STORE_EINVAL;
    return STORE_OK;
}

static uint64_t store_dirent_cookie(const store_tenant *t, const char *name,
                                    size_t len)
{
    uint64_t c = seal_name_hash(t->namekey, name, len) & 0x7fffffffffffffffULL;

    return c < 3 ? c + 3 : c;
}

static void store_dirent_key(uint8_t k[16], uint64_t parent, uint64_t cookie)
{
    store_put_be64(k, parent);
    store_put_be64(k + 8, cookie);
}

static void store_dirent_ad(const store_tenant *t, uint64_t parent,
                            uint64_t cookie, uint8_t ad[DIRENT_AD_LEN])
{
    ad[0] = 'D';
    store_put_be64(ad + 1, t->id);
    store_put_be64(ad + 9, parent);
    store_put_be64(ad + 17, cookie);
}

static uint64_t store_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Open a sealed entry value into `plain` (DIRENT_MAX_PLAIN bytes); returns
 * the plaintext length, or 0 (logged) when it fails authentication or is
 * not an entry of the layout above (type bits outside S_IFMT, a name that
 * store_name_check() refuses). */
static size_t store_dirent_open(const store_tenant *t, uint64_t parent,
                                uint64_t cookie, const MDB_val *v,
                                uint8_t plain[DIRENT_MAX_PLAIN])
{
    uint8_t ad[DIRENT_AD_LEN];

    store_dirent_ad(t, parent, cookie, ad);
    if (v->mv_size < DIRENT_HEAD_LEN + 1 + SEAL_OVERHEAD
        || v->mv_size > DIRENT_MAX_PLAIN + SEAL_OVERHEAD
        || seal_open(t->key, ad, sizeof(ad), v->mv_data, v->mv_size, plain) != 0
        || (((uint32_t)plain[8] | (uint32_t)plain[9] << 8
             | (uint32_t)plain[10] << 16 | (uint32_t)plain[11] << 24) & ~(uint32_t)S_IFMT)
        || store_name_check((const char *)plain + DIRENT_HEAD_LEN,
                            v->mv_size - SEAL_OVERHEAD - DIRENT_HEAD_LEN) != STORE_OK) {
        store_log(LOG_ERR, "tenant %llu inode %llu: folder entry failed authentication",
                  (unsigned long long)t->id, (unsigned long long)parent);
        return 0;
    }
    return v->mv_size - SEAL_OVERHEAD;
}

/* Find `name` in folder `parent`.  Fills *hit (found/other); errors only
 * for damage and LMDB failures. */
store_err store_dirent_find(store_tenant *t, MDB_txn *txn, uint64_t parent,
                                   const char *name, size_t len,
                                   struct store_dirent_hit *hit)
{
    uint8_t kbuf[16], plain[DIRENT_MAX_PLAIN];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    size_t plen;
    int rc;

    memset(hit, 0, sizeof(*hit));
    hit->cookie = store_dirent_cookie(t, name, len);
    store_dirent_key(kbuf, parent, hit->cookie);
    rc = mdb_get(txn, t->dirents, &k, &v);
    if (rc == MDB_NOTFOUND)
        return STORE_OK;
    if (rc != 0)
        return store_from_mdb(rc);
    plen = store_dirent_open(t, parent, hit->cookie, &v, plain);
    if (plen == 0)
        return STORE_EIO;
    if (plen - DIRENT_HEAD_LEN == len
        && memcmp(plain + DIRENT_HEAD_LEN, name, len) == 0) {
        hit->found = true;
        hit->ino = store_le64(plain);
        hit->type = (uint32_t)plain[8] | (uint32_t)plain[9] << 8
                    | (uint32_t)plain[10] << 16 | (uint32_t)plain[11] << 24;
    } else {
        hit->other = true;
    }
    seal_wipe(plain, sizeof(plain));
    return STORE_OK;
}

store_err store_dirent_put(store_tenant *t, MDB_txn *txn, uint64_t parent,
                                  uint64_t cookie, uint64_t ino, uint32_t type,
                                  const char *name, size_t len)
{
    uint8_t kbuf[16], ad[DIRENT_AD_LEN], plain[DIRENT_MAX_PLAIN];
    uint8_t sealed[DIRENT_MAX_PLAIN + SEAL_OVERHEAD];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    store_err err = STORE_OK;
    size_t plen = DIRENT_HEAD_LEN + len;

    for (int i = 0; i < 8; i++) plain[i] = (uint8_t)(ino >> (8 * i));
    for (int i = 0; i < 4; i++) plain[8 + i] = (uint8_t)(type >> (8 * i));
    memcpy(plain + DIRENT_HEAD_LEN, name, len);
    store_dirent_key(kbuf, parent, cookie);
    store_dirent_ad(t, parent, cookie, ad);
    if (seal_value(t->key, ad, sizeof(ad), plain, plen, sealed) != 0) {
        err = STORE_EIO;
        goto out;
    }
    v.mv_size = plen + SEAL_OVERHEAD;
    v.mv_data = sealed;
    err = store_from_mdb(mdb_put(txn, t->dirents, &k, &v, 0));
out:
    seal_wipe(plain, sizeof(plain));
    return err;
}

store_err store_dirent_del(store_tenant *t, MDB_txn *txn, uint64_t parent,
                                  uint64_t cookie)
{
    uint8_t kbuf[16];
    MDB_val k = { sizeof(kbuf), kbuf };

    store_dirent_key(kbuf, parent, cookie);
    return store_from_mdb(mdb_del(txn, t->dirents, &k, NULL));
}

/* Read folder `ino`: STORE_ENOENT, STORE_ENOTDIR, STORE_EIO. */
store_err store_dir_get(store_tenant *t, MDB_txn *txn, uint64_t ino,
                               struct store_inode *in)
{
    store_err err = store_inode_get(t, txn, ino, in);

    if (err == STORE_OK && !S_ISDIR(in->mode))
        err = STORE_ENOTDIR;
    return err;
}

/* Read the inode an entry points to; a missing one means damage. */
store_err store_dirent_target(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                     struct store_inode *in)
{
    store_err err = store_inode_get(t, txn, ino, in);

    if (err == STORE_ENOENT) {
        store_log(LOG_ERR, "tenant %llu inode %llu: entry names a missing record",
                  (unsigned long long)t->id, (unsigned long long)ino);
        err = STORE_EIO;
    }
    return err;
}

/* Does folder `dir` hold any entry? */
store_err store_dir_is_empty(store_tenant *t, MDB_txn *txn, uint64_t dir,
                                    bool *empty)
{
    uint8_t kbuf[16];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    MDB_cursor *cur = NULL;
    int rc;

    store_dirent_key(kbuf, dir, 0);
    rc = mdb_cursor_open(txn, t->dirents, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *empty = true;
        return STORE_OK;
    }
    if (rc != 0)
        return store_from_mdb(rc);
    *empty = !(k.mv_size == 16 && store_get_be64(k.mv_data) == dir);
    return STORE_OK;
}

/* ---------------------------------------------------------------------- */
/* Lookup and creation                                                     */
/* ---------------------------------------------------------------------- */

struct lookup_arg {
    uint64_t parent;
    const char *name;
    size_t len;
    struct store_attr *a;
};

static store_err store_lookup_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct lookup_arg *l = arg;
    struct store_inode pin, in;
    struct store_dirent_hit hit;
    store_err err;

    err = store_dir_get(t, txn, l->parent, &pin);
    if (err == STORE_OK)
        err = store_dirent_find(t, txn, l->parent, l->name, l->len, &hit);
    if (err == STORE_OK && !hit.found)
        err = STORE_ENOENT;
    if (err == STORE_OK)
        err = store_dirent_target(t, txn, hit.ino, &in);
    if (err == STORE_OK)
        store_inode_to_attr(hit.ino, &in, l->a);
    return err;
}

store_err store_lookup(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, struct store_attr *a)
{
    struct lookup_arg l = { parent, name, len, a };
    store_err err = store_name_check(name, len);

    return err == STORE_OK ? store_exec_read(t, store_lookup_fn, &l) : err;
}

/* ---------------------------------------------------------------------- */
/* Listing                                                                 */
/* ---------------------------------------------------------------------- */

struct readdir_arg {
    uint64_t dir, after;
    bool want_attr;
    store_dirent_fn fn;
    void *arg;
};

/* The listing itself; the caller's callback runs in here, on whatever
 * thread store_exec_read() chose. */
static store_err store_readdir_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct readdir_arg *rd = arg;
    uint8_t kbuf[16], plain[DIRENT_MAX_PLAIN];
    char name[STORE_NAME_MAX + 1];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    struct store_inode in;
    struct store_attr a;
    MDB_cursor *cur = NULL;
    store_err err;
    int rc;

    err = store_dir_get(t, txn, rd->dir, &in);
    if (err != STORE_OK || rd->after >= 0x7fffffffffffffffULL)
        return err;
    rc = mdb_cursor_open(txn, t->dirents, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    store_dirent_key(kbuf, rd->dir, rd->after + 1);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t cookie, ino;
        size_t plen;

        if (k.mv_size != 16 || store_get_be64(k.mv_data) != rd->dir)
            break;
        cookie = store_get_be64((const uint8_t *)k.mv_data + 8);
        plen = store_dirent_open(t, rd->dir, cookie, &v, plain);
        if (plen == 0) {
            err = STORE_EIO;
            goto out;
        }
        ino = store_le64(plain);
        memset(&a, 0, sizeof(a));
        if (rd->want_attr) {
            err = store_dirent_target(t, txn, ino, &in);
            if (err != STORE_OK)
                goto out;
            store_inode_to_attr(ino, &in, &a);
        } else {
            a.ino = ino;
            a.mode = ((uint32_t)plain[8] | (uint32_t)plain[9] << 8
                      | (uint32_t)plain[10] << 16 | (uint32_t)plain[11] << 24)
                     & S_IFMT;
        }
        memcpy(name, plain + DIRENT_HEAD_LEN, plen - DIRENT_HEAD_LEN);
        name[plen - DIRENT_HEAD_LEN] = '\0';
        if (rd->fn(name, plen - DIRENT_HEAD_LEN, &a, cookie, rd->arg) != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        err = store_from_mdb(rc);
out:
    seal_wipe(plain, sizeof(plain));
    seal_wipe(name, sizeof(name));
    mdb_cursor_close(cur);
    return err;
}

store_err store_readdir(store_tenant *t, uint64_t dir, uint64_t after,
                        bool want_attr, store_dirent_fn fn, void *arg)
{
    struct readdir_arg rd = { dir, after, want_attr, fn, arg };

    return store_exec_read(t, store_readdir_fn, &rd);
}

store_err store_dirent_verify(const store_tenant *t, const MDB_val *k,
                              const MDB_val *v, uint64_t *child,
                              char name[STORE_NAME_MAX + 1])
{
    uint8_t plain[DIRENT_MAX_PLAIN];
    size_t plen;

    if (k->mv_size != 16)
        return STORE_EIO;
    plen = store_dirent_open(t, store_get_be64(k->mv_data),
                             store_get_be64((const uint8_t *)k->mv_data + 8),
                             v, plain);
    if (plen == 0)
        return STORE_EIO;
    *child = store_le64(plain);
    memcpy(name, plain + DIRENT_HEAD_LEN, plen - DIRENT_HEAD_LEN);
    name[plen - DIRENT_HEAD_LEN] = '\0';
    seal_wipe(plain, sizeof plain);
    return STORE_OK;
}
