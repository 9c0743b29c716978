/*
 * store_file.c - the content of records: how a file's bytes are cut into
 * sealed blocks, reading them back (holes as zeros), writing with
 * read-modify-write of partially covered blocks only, truncation, and the
 * public read, write, setattr and readlink operations built on them (the
 * writes as ops applied by store_write_apply() and store_setattr_apply()).
 *
 * Format of one content block (tenant "blocks" table)
 * ---------------------------------------------------
 *
 *     key   = ino (8, big-endian) || block index (8, big-endian)
 *     value = seal(t->key, AD, plaintext)
 *           = nonce (24) || ciphertext (n) || tag (16)
 *     AD    = "B" (1) || tenant id (8 BE) || ino (8 BE)
 *             || inode nonce (8 BE) || block index (8 BE)        (33 bytes)
 *
 * Block `i` holds the file's bytes [i * STORE_BLOCK_SIZE, (i + 1) *
 * STORE_BLOCK_SIZE).  Its plaintext is at most STORE_BLOCK_SIZE bytes and
 * may be shorter: it ends at the last byte ever written in it that is still
 * below the file size (truncation trims it).  Bytes beyond a stored block's
 * end, and whole blocks that are absent (holes), read as zeros.  So a 1 KiB
 * record is one value of about 1 KiB, and a sparse file costs only the blocks
 * written.  Invariant: a block's plaintext never reaches past the file size.
 *
 * The AD binds each block to its tenant, its inode, the inode's random
 * per-file nonce (so a block from an earlier file that had the same inode
 * number, or from another file, fails) and its index (blocks cannot be
 * swapped within a file).  A value that fails authentication, or whose length
 * is impossible, is never returned: the read fails with STORE_EIO, the
 * caller's buffer is wiped, and the tenant, inode and block are logged.
 *
 * A symbolic link keeps its target as the content of its inode (block 0).
 *
 * Scratch plaintext buffers come from the heap (one block per call) and are
 * wiped before they are freed.  Where a whole block is read into the caller's
 * buffer, or written from it, it is opened or sealed in place (sealing
 * directly into LMDB's page with MDB_RESERVE) without a copy.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_ops.h"

#define BLOCK_AD_LEN  33u
#define BLOCK_KEY_LEN 16u
#define BS            ((uint64_t)STORE_BLOCK_SIZE)

/* ---------------------------------------------------------------------- */
/* Keys, AD and single blocks                                              */
/* ---------------------------------------------------------------------- */

static void store_block_key(uint8_t k[BLOCK_KEY_LEN], uint64_t ino, uint64_t idx)
{
    store_put_be64(k, ino);
    store_put_be64(k + 8, idx);
}

static void store_block_ad(const store_tenant *t, uint64_t ino,
                           const struct store_inode *in, uint64_t idx,
                           uint8_t ad[BLOCK_AD_LEN])
{
    ad[0] = 'B';
    store_put_be64(ad + 1, t->id);
    store_put_be64(ad + 9, ino);
    store_put_be64(ad + 17, in->nonce);
    store_put_be64(ad + 25, idx);
}

static void store_block_log_bad(const store_tenant *t, uint64_t ino, uint64_t idx)
{
    store_log(LOG_ERR, "tenant %llu inode %llu block %llu failed authentication",
              (unsigned long long)t->id, (unsigned long long)ino,
              (unsigned long long)idx);
}

/* Open the sealed value `v` of block `idx` into `plain` (room for
 * STORE_BLOCK_SIZE bytes); *plen gets the plaintext length.  STORE_EIO
 * (logged) when the value is impossible or fails authentication. */
static store_err store_block_open(const store_tenant *t, uint64_t ino,
                                  const struct store_inode *in, uint64_t idx,
                                  const MDB_val *v, uint8_t *plain, size_t *plen)
{
    uint8_t ad[BLOCK_AD_LEN];

    if (v->mv_size < SEAL_OVERHEAD || v->mv_size - SEAL_OVERHEAD > BS) {
        store_block_log_bad(t, ino, idx);
        return STORE_EIO;
    }
    store_block_ad(t, ino, in, idx, ad);
    if (seal_open(t->key, ad, sizeof(ad), v->mv_data, v->mv_size, plain) != 0) {
        store_block_log_bad(t, ino, idx);
        return STORE_EIO;
    }
    *plen = v->mv_size - SEAL_OVERHEAD;
    return STORE_OK;
}

/* Load block `idx` into `plain` (STORE_BLOCK_SIZE bytes, zero-filled past
 * the stored length).  *plen = stored length (0 for a hole), *found whether
 * the key exists. */
static store_err store_block_load(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                  const struct store_inode *in, uint64_t idx,
                                  uint8_t *plain, size_t *plen, bool *found)
{
    uint8_t kbuf[BLOCK_KEY_LEN];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    store_err err;
    int rc;

    *plen = 0;
    *found = false;
    store_block_key(kbuf, ino, idx);
    rc = mdb_get(txn, t->blocks, &k, &v);
    if (rc == MDB_NOTFOUND) {
        memset(plain, 0, BS);
        return STORE_OK;
    }
    if (rc != 0)
        return store_from_mdb(rc);
    *found = true;
    err = store_block_open(t, ino, in, idx, &v, plain, plen);
    if (err != STORE_OK)
        return err;
    memset(plain + *plen, 0, BS - *plen);
    return STORE_OK;
}

/* Seal `len` bytes of `plain` as block `idx`, straight into LMDB's page. */
static store_err store_block_store(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                   const struct store_inode *in, uint64_t idx,
                                   const void *plain, size_t len)
{
    uint8_t kbuf[BLOCK_KEY_LEN], ad[BLOCK_AD_LEN];
    MDB_val k = { sizeof(kbuf), kbuf }, v = { len + SEAL_OVERHEAD, NULL };
    int rc;

    store_block_key(kbuf, ino, idx);
    store_block_ad(t, ino, in, idx, ad);
    rc = mdb_put(txn, t->blocks, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return store_from_mdb(rc);
    if (seal_value(t->key, ad, sizeof(ad), plain, len, v.mv_data) != 0)
        return STORE_EIO;   /* the caller aborts the txn */
    return STORE_OK;
}

static store_err store_block_exists(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                    uint64_t idx, bool *found)
{
    uint8_t kbuf[BLOCK_KEY_LEN];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    int rc;

    store_block_key(kbuf, ino, idx);
    rc = mdb_get(txn, t->blocks, &k, &v);
    *found = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : store_from_mdb(rc);
}

/* ---------------------------------------------------------------------- */
/* Block ranges (inside a caller's transaction)                            */
/* ---------------------------------------------------------------------- */

store_err store_blocks_write(store_tenant *t, MDB_txn *txn, uint64_t ino,
                             struct store_inode *in, uint64_t off,
                             const void *buf, size_t len)
{
    const uint8_t *src = buf;
    uint8_t *plain = NULL;
    uint64_t end, pos;
    store_err err = STORE_OK;

    if (len == 0)
        return STORE_OK;
    if (off > STORE_FILE_MAX || len > STORE_FILE_MAX - off)
        return STORE_EFBIG;
    end = off + len;

    for (pos = off; pos < end; ) {
        uint64_t idx = pos / BS, bstart = idx * BS;
        size_t lo = (size_t)(pos - bstart);
        size_t hi = (size_t)((end < bstart + BS ? end : bstart + BS) - bstart);
        size_t plen = 0;
        bool found = false;

        if (lo == 0 && hi == BS) {
            /* fully covered: seal straight from the caller's buffer */
            if (bstart < in->size)
                err = store_block_exists(t, txn, ino, idx, &found);
            if (err == STORE_OK)
                err = store_block_store(t, txn, ino, in, idx, src, BS);
        } else {
            if (plain == NULL && (plain = malloc(BS + SEAL_OVERHEAD)) == NULL) {
                err = STORE_ENOMEM;
                goto out;
            }
            /* a block at or past the old end of file cannot exist */
            if (bstart < in->size)
                err = store_block_load(t, txn, ino, in, idx, plain, &plen, &found);
            else
                memset(plain, 0, BS);
            if (err == STORE_OK) {
                memcpy(plain + lo, src, hi - lo);
                err = store_block_store(t, txn, ino, in, idx, plain,
                                        hi > plen ? hi : plen);
            }
        }
        if (err != STORE_OK)
            goto out;
        if (!found)
            in->nalloc++;
        src += hi - lo;
        pos = bstart + hi;
    }
    if (end > in->size)
        in->size = end;
out:
    if (plain != NULL) {
        seal_wipe(plain, BS);
        free(plain);
    }
    return err;
}

store_err store_blocks_read(store_tenant *t, MDB_txn *txn, uint64_t ino,
                            const struct store_inode *in, uint64_t off,
                            size_t size, void *buf, size_t *got)
{
    uint8_t kbuf[BLOCK_KEY_LEN], *dst = buf, *plain = NULL;
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    MDB_cursor *cur = NULL;
    uint64_t end, last;
    store_err err = STORE_OK;
    int rc;

    *got = 0;
    if (off >= in->size || size == 0)
        return STORE_OK;
    end = in->size - off < size ? in->size : off + size;
    last = (end - 1) / BS;
    memset(dst, 0, (size_t)(end - off));    /* holes and short blocks */

    rc = mdb_cursor_open(txn, t->blocks, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    store_block_key(kbuf, ino, off / BS);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t idx, bstart, from, to;
        size_t plen;

        if (k.mv_size != BLOCK_KEY_LEN || store_get_be64(k.mv_data) != ino)
            break;
        idx = store_get_be64((const uint8_t *)k.mv_data + 8);
        if (idx > last)
            break;
        bstart = idx * BS;
        if (v.mv_size < SEAL_OVERHEAD)
            plen = 0;
        else
            plen = v.mv_size - SEAL_OVERHEAD;
        from = bstart > off ? bstart : off;
        to = bstart + plen < end ? bstart + plen : end;
        if (bstart >= off && bstart + plen <= end && plen <= BS) {
            /* the whole plaintext lands in the caller's buffer */
            err = store_block_open(t, ino, in, idx, &v, dst + (bstart - off),
                                   &plen);
        } else {
            if (plain == NULL && (plain = malloc(BS + SEAL_OVERHEAD)) == NULL) {
                err = STORE_ENOMEM;
                break;
            }
            err = store_block_open(t, ino, in, idx, &v, plain, &plen);
            if (err == STORE_OK && to > from)
                memcpy(dst + (from - off), plain + (from - bstart),
                       (size_t)(to - from));
        }
        if (err != STORE_OK)
            break;
    }
    if (err == STORE_OK && rc != 0 && rc != MDB_NOTFOUND)
        err = store_from_mdb(rc);
    mdb_cursor_close(cur);
    if (plain != NULL) {
        seal_wipe(plain, BS);
        free(plain);
    }
    if (err != STORE_OK) {
        seal_wipe(dst, (size_t)(end - off));   /* nothing is returned */
        return err;
    }
    *got = (size_t)(end - off);
    return STORE_OK;
}

store_err store_blocks_truncate(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                struct store_inode *in, uint64_t size)
{
    uint8_t kbuf[BLOCK_KEY_LEN], *plain = NULL;
    MDB_val k, v;
    MDB_cursor *cur = NULL;
    uint64_t first = size / BS + (size % BS != 0);
    store_err err = STORE_OK;
    int rc;

    if (size >= in->size) {          /* growing is sparse */
        in->size = size;
        return STORE_OK;
    }

    rc = mdb_cursor_open(txn, t->blocks, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    store_block_key(kbuf, ino, first);
    for (;;) {
        k.mv_size = sizeof(kbuf);
        k.mv_data = kbuf;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size != BLOCK_KEY_LEN
            || store_get_be64(k.mv_data) != ino)
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        if (in->nalloc > 0)
            in->nalloc--;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_from_mdb(rc);

    if (size % BS != 0) {            /* trim the last, partial block */
        uint64_t idx = size / BS;
        size_t plen, keep = (size_t)(size % BS);
        bool found;

        if ((plain = malloc(BS + SEAL_OVERHEAD)) == NULL)
            return STORE_ENOMEM;
        err = store_block_load(t, txn, ino, in, idx, plain, &plen, &found);
        if (err == STORE_OK && found && plen > keep)
            err = store_block_store(t, txn, ino, in, idx, plain, keep);
        seal_wipe(plain, BS);
        free(plain);
    }
    if (err == STORE_OK)
        in->size = size;
    return err;
}

/* ---------------------------------------------------------------------- */
/* Public operations: writes are ops (store_exec_write), reads run through */
/* store_exec_read                                                         */
/* ---------------------------------------------------------------------- */

struct file_read_arg {
    uint64_t ino, off;
    size_t size, *got;
    void *buf;
    bool link;                 /* readlink: a symlink's whole target */
};

static store_err store_file_read_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct file_read_arg *r = arg;
    struct store_inode in;
    store_err err;

    err = store_inode_get(t, txn, r->ino, &in);
    if (err != STORE_OK)
        return err;
    if (r->link) {
        if (!S_ISLNK(in.mode))
            return STORE_EINVAL;
        if (in.size > r->size)
            return STORE_ERANGE;
        return store_blocks_read(t, txn, r->ino, &in, 0, (size_t)in.size,
                                 r->buf, r->got);
    }
    if (S_ISDIR(in.mode))
        return STORE_EISDIR;
    return store_blocks_read(t, txn, r->ino, &in, r->off, r->size, r->buf,
                             r->got);
}

store_err store_read(store_tenant *t, uint64_t ino, uint64_t off, size_t size,
                     void *buf, size_t *got)
{
    struct file_read_arg r = {
        .ino = ino, .off = off, .size = size, .got = got, .buf = buf,
    };

    *got = 0;
    return store_exec_read(t, store_file_read_fn, &r);
}

store_err store_readlink(store_tenant *t, uint64_t ino, char *buf, size_t size,
                         size_t *len)
{
    size_t got = 0;
    struct file_read_arg r = {
        .ino = ino, .size = size, .got = &got, .buf = buf, .link = true,
    };
    store_err err;

    *len = 0;
    err = store_exec_read(t, store_file_read_fn, &r);
    if (err == STORE_OK)
        *len = got;
    return err;
}

store_err store_write_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    struct store_inode in;
    store_err err;

    if (op->off > STORE_FILE_MAX || op->len > STORE_FILE_MAX - op->off)
        return STORE_EFBIG;
    err = store_inode_get(t, txn, op->ino, &in);
    if (err != STORE_OK)
        return err;
    if (S_ISDIR(in.mode))
        return STORE_EISDIR;
    if (!S_ISREG(in.mode))
        return STORE_EINVAL;
    if (op->len > 0) {
        err = store_blocks_write(t, txn, op->ino, &in, op->off, op->data,
                                 op->len);
        if (err != STORE_OK)
            return err;
        in.mtime = in.ctime = op->now;
        err = store_inode_put(t, txn, op->ino, &in);
    }
    if (err == STORE_OK)
        store_inode_to_attr(op->ino, &in, &op->out);
    return err;
}

/* A write larger than STORE_OP_DATA_MAX becomes several ops, each atomic. */
store_err store_write(store_tenant *t, uint64_t ino, uint64_t off,
                      const void *buf, size_t size, struct store_attr *out)
{
    const uint8_t *p = buf;
    store_err err;

    if (off > STORE_FILE_MAX || size > STORE_FILE_MAX - off)
        return STORE_EFBIG;
    do {
        size_t n = size < STORE_OP_DATA_MAX ? size : STORE_OP_DATA_MAX;
        struct store_op op = {
            .kind = STORE_OP_WRITE, .ino = ino, .off = off, .data = p, .len = n,
        };

        err = store_exec_write(t, &op);
        if (err != STORE_OK)
            return err;
        if (out != NULL)
            *out = op.out;
        p += n;
        off += n;
        size -= n;
    } while (size > 0);
    return STORE_OK;
}

/* Apply a size change to `in` (inside txn), with its checks. */
static store_err store_file_resize(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                   struct store_inode *in, uint64_t size)
{
    if (S_ISDIR(in->mode))
        return STORE_EISDIR;
    if (!S_ISREG(in->mode))
        return STORE_EINVAL;
    if (size > STORE_FILE_MAX)
        return STORE_EFBIG;
    return store_blocks_truncate(t, txn, ino, in, size);
}

static bool store_time_valid(const struct timespec *ts)
{
    return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

store_err store_setattr_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    const struct store_attr *a = &op->attr;
    struct store_inode in;
    unsigned mask = op->mask;
    store_err err;

    if (!store_time_valid(&a->atime) || !store_time_valid(&a->mtime)
        || !store_time_valid(&a->ctime))
        return STORE_EINVAL;      /* such a time would not decode */
    err = store_inode_get(t, txn, op->ino, &in);
    if (err != STORE_OK)
        return err;
    if ((mask & STORE_SET_SIZE) && (mask & STORE_SET_SIZE_GROW)
        && a->size <= in.size && S_ISREG(in.mode))
        mask &= ~(unsigned)STORE_SET_SIZE;   /* nothing to extend */
    if (mask & STORE_SET_SIZE) {
        err = store_file_resize(t, txn, op->ino, &in, a->size);
        if (err != STORE_OK)
            return err;
        if (!(mask & STORE_SET_MTIME))
            in.mtime = op->now;
    }
    if (mask & STORE_SET_MODE)
        in.mode = (in.mode & S_IFMT) | (a->mode & 07777);
    if (mask & STORE_SET_UID)
        in.uid = a->uid;
    if (mask & STORE_SET_GID)
        in.gid = a->gid;
    if (mask & STORE_SET_ATIME)
        in.atime = a->atime;
    if (mask & STORE_SET_MTIME)
        in.mtime = a->mtime;
    in.ctime = (mask & STORE_SET_CTIME) ? a->ctime : op->now;
    err = store_inode_put(t, txn, op->ino, &in);
    if (err == STORE_OK)
        store_inode_to_attr(op->ino, &in, &op->out);
    return err;
}

store_err store_setattr(store_tenant *t, uint64_t ino, const struct store_attr *a,
                        unsigned mask, struct store_attr *out)
{
    struct store_op op = {
        .kind = STORE_OP_SETATTR, .ino = ino, .mask = mask,
    };
    store_err err;

    /* only the fields the mask names travel in the op (a time it does not
     * name may hold anything, and would not decode) */
    if (a == NULL && mask != 0)
        return STORE_EINVAL;
    if (mask & STORE_SET_MODE)
        op.attr.mode = a->mode;
    if (mask & STORE_SET_UID)
        op.attr.uid = a->uid;
    if (mask & STORE_SET_GID)
        op.attr.gid = a->gid;
    if (mask & STORE_SET_SIZE)
        op.attr.size = a->size;
    if (mask & STORE_SET_ATIME)
        op.attr.atime = a->atime;
    if (mask & STORE_SET_MTIME)
        op.attr.mtime = a->mtime;
    if (mask & STORE_SET_CTIME)
        op.attr.ctime = a->ctime;
    err = store_exec_write(t, &op);
    if (err == STORE_OK && ino == STORE_ROOT_INO && t->s != NULL &&
        t->info_set && (mask & (STORE_SET_MODE | STORE_SET_UID | STORE_SET_GID))) {
        /* The tenant's folder: the root inode keeps a copy, the registry
         * the truth (store_registry.c). */
        struct store_tenant_info info = { 0 };
        unsigned tmask = 0;

        if (mask & STORE_SET_MODE) {
            info.mode = a->mode & 07777;
            tmask |= STORE_TENANT_SET_MODE;
        }
        if (mask & STORE_SET_UID) {
            info.uid = a->uid;
            tmask |= STORE_TENANT_SET_UID;
        }
        if (mask & STORE_SET_GID) {
            info.gid = a->gid;
            tmask |= STORE_TENANT_SET_GID;
        }
        err = store_tenant_update(t->s, t->id, &info, tmask);
    }
    if (err == STORE_OK && ino == STORE_ROOT_INO)
        store_root_attr_overlay(t, &op.out);
    if (err == STORE_OK && out != NULL)
        *out = op.out;
    return err;
}

store_err store_block_verify(const store_tenant *t, const MDB_val *k,
                             const MDB_val *v, const struct store_inode *in,
                             uint8_t *plain)
{
    size_t plen;

    if (k->mv_size != BLOCK_KEY_LEN)
        return STORE_EIO;
    return store_block_open(t, store_get_be64(k->mv_data), in,
                            store_get_be64((const uint8_t *)k->mv_data + 8),
                            v, plain, &plen);
}
