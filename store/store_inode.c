/*
 * store_inode.c - the inode record of a tenant: its byte layout, how it is
 * sealed and bound to its place, reading, writing and deleting it, the
 * allocation of inode numbers, and the conversion to the public store_attr.
 *
 * An inode record lives in the tenant's "inodes" table under the key
 * ino (8 bytes, big-endian, so that a cursor walks inodes in number order).
 * Its value is the record below sealed with the tenant's value key
 * (t->key, XChaCha20-Poly1305) and the associated data
 *
 *     "I" (1) || tenant id (8, big-endian) || ino (8, big-endian)
 *
 * so a record copied onto another inode number or into another tenant fails
 * authentication and is reported as STORE_EIO, never returned.
 *
 * Plaintext layout, version 1, 89 bytes, all integers little-endian:
 *
 *     offset size field
 *          0    1 version (1)
 *          1    4 mode   (S_IFMT type bits | permission bits)
 *          5    4 uid
 *          9    4 gid
 *         13    4 nlink
 *         17    4 rdev
 *         21    8 size   (bytes)
 *         29    8 nalloc (content blocks stored)
 *         37    8 nonce  (random per file, part of its blocks' AD)
 *         45    8 parent (folders: the containing folder; else 0)
 *         53    8 atime seconds (signed)
 *         61    4 atime nanoseconds
 *         65    8 mtime seconds (signed)
 *         73    4 mtime nanoseconds
 *         77    8 ctime seconds (signed)
 *         85    4 ctime nanoseconds
 *
 * A record of any other length or version, or with a nanoseconds field of
 * 10^9 or more, is treated as damaged (STORE_EIO, logged with the tenant
 * and inode; never the content).
 *
 * Inode numbers come from the meta key "next_ino" (8 bytes big-endian), the
 * next number to hand out: monotonic, never reused, always below 2^40.
 */
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

#define INODE_VERSION   1u
#define INODE_PLAIN_LEN 89u
#define INODE_AD_LEN    17u
#define INODE_META_NEXT "next_ino"

/* ---------------------------------------------------------------------- */
/* Little-endian field helpers                                             */
/* ---------------------------------------------------------------------- */

static void store_le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

static void store_le_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

static uint32_t store_le_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t store_le_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void store_inode_put_time(uint8_t *p, const struct timespec *ts)
{
    store_le_put64(p, (uint64_t)(int64_t)ts->tv_sec);
    store_le_put32(p + 8, (uint32_t)ts->tv_nsec);
}

static void store_inode_get_time(const uint8_t *p, struct timespec *ts)
{
    ts->tv_sec = (time_t)(int64_t)store_le_get64(p);
    ts->tv_nsec = (long)store_le_get32(p + 8);
}

/* ---------------------------------------------------------------------- */
/* Encoding                                                                */
/* ---------------------------------------------------------------------- */

static void store_inode_ad(const store_tenant *t, uint64_t ino,
                           uint8_t ad[INODE_AD_LEN])
{
    ad[0] = 'I';
    store_put_be64(ad + 1, t->id);
    store_put_be64(ad + 9, ino);
}

static void store_inode_encode(const struct store_inode *in,
                               uint8_t p[INODE_PLAIN_LEN])
{
    p[0] = INODE_VERSION;
    store_le_put32(p + 1, in->mode);
    store_le_put32(p + 5, in->uid);
    store_le_put32(p + 9, in->gid);
    store_le_put32(p + 13, in->nlink);
    store_le_put32(p + 17, in->rdev);
    store_le_put64(p + 21, in->size);
    store_le_put64(p + 29, in->nalloc);
    store_le_put64(p + 37, in->nonce);
    store_le_put64(p + 45, in->parent);
    store_inode_put_time(p + 53, &in->atime);
    store_inode_put_time(p + 65, &in->mtime);
    store_inode_put_time(p + 77, &in->ctime);
}

/* Returns false when the plaintext is not a valid version-1 record. */
static bool store_inode_decode(const uint8_t p[INODE_PLAIN_LEN],
                               struct store_inode *in)
{
    if (p[0] != INODE_VERSION)
        return false;
    memset(in, 0, sizeof(*in));
    in->mode = store_le_get32(p + 1);
    in->uid = store_le_get32(p + 5);
    in->gid = store_le_get32(p + 9);
    in->nlink = store_le_get32(p + 13);
    in->rdev = store_le_get32(p + 17);
    in->size = store_le_get64(p + 21);
    in->nalloc = store_le_get64(p + 29);
    in->nonce = store_le_get64(p + 37);
    in->parent = store_le_get64(p + 45);
    store_inode_get_time(p + 53, &in->atime);
    store_inode_get_time(p + 65, &in->mtime);
    store_inode_get_time(p + 77, &in->ctime);
    return in->atime.tv_nsec < 1000000000L && in->mtime.tv_nsec < 1000000000L
           && in->ctime.tv_nsec < 1000000000L;
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */
/* ---------------------------------------------------------------------- */

store_err store_inode_get(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          struct store_inode *out)
{
    uint8_t kbuf[8], ad[INODE_AD_LEN], plain[INODE_PLAIN_LEN];
    MDB_val k = { sizeof(kbuf), kbuf }, v;
    store_err err = STORE_OK;
    int rc;

    store_put_be64(kbuf, ino);
    rc = mdb_get(txn, t->inodes, &k, &v);
    if (rc == MDB_NOTFOUND)
        return STORE_ENOENT;
    if (rc != 0)
        return store_from_mdb(rc);

    store_inode_ad(t, ino, ad);
    if (v.mv_size != INODE_PLAIN_LEN + SEAL_OVERHEAD
        || seal_open(t->key, ad, sizeof(ad), v.mv_data, v.mv_size, plain) != 0
        || !store_inode_decode(plain, out)) {
        store_log(LOG_ERR, "tenant %llu inode %llu: record failed authentication",
                  (unsigned long long)t->id, (unsigned long long)ino);
        memset(out, 0, sizeof(*out));
        err = STORE_EIO;
    }
    if (err == STORE_OK)
        out->charged = store_inode_charge(out);
    seal_wipe(plain, sizeof(plain));
    return err;
}

store_err store_inode_put(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          struct store_inode *in)
{
    uint64_t charge = store_inode_charge(in);
    uint8_t kbuf[8], ad[INODE_AD_LEN], plain[INODE_PLAIN_LEN];
    uint8_t sealed[INODE_PLAIN_LEN + SEAL_OVERHEAD];
    MDB_val k = { sizeof(kbuf), kbuf }, v = { sizeof(sealed), sealed };
    store_err err = STORE_OK;
    int rc;

    store_put_be64(kbuf, ino);
    store_inode_ad(t, ino, ad);
    store_inode_encode(in, plain);
    if (seal_value(t->key, ad, sizeof(ad), plain, sizeof(plain), sealed) != 0) {
        err = STORE_EIO;
        goto out;
    }
    rc = mdb_put(txn, t->inodes, &k, &v, 0);
    if (rc != 0) {
        err = store_from_mdb(rc);
    } else {
        /* The record's new charge replaces the one it was read with (two
         * copies of one record must not both be stored). */
        t->d_bytes += (int64_t)charge - (int64_t)in->charged;
        in->charged = charge;
    }
out:
    seal_wipe(plain, sizeof(plain));
    return err;
}

store_err store_inode_del(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          const struct store_inode *in)
{
    uint8_t kbuf[8];
    MDB_val k = { sizeof(kbuf), kbuf };
    int rc;

    store_put_be64(kbuf, ino);
    rc = mdb_del(txn, t->inodes, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return STORE_ENOENT;
    if (rc == 0) {
        t->d_bytes -= (int64_t)in->charged;
        t->d_records--;
    }
    return store_from_mdb(rc);
}

store_err store_ino_alloc(store_tenant *t, MDB_txn *txn, uint64_t *ino)
{
    uint8_t nbuf[8];
    MDB_val k = { sizeof(INODE_META_NEXT) - 1, (void *)INODE_META_NEXT };
    MDB_val v;
    uint64_t next;
    int rc;

    rc = mdb_get(txn, t->meta, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != sizeof(nbuf))) {
        store_log(LOG_ERR, "tenant %llu: inode counter damaged",
                  (unsigned long long)t->id);
        return STORE_EIO;
    }
    if (rc != 0)
        return store_from_mdb(rc);
    next = store_get_be64(v.mv_data);
    if (next <= STORE_ROOT_INO) {
        store_log(LOG_ERR, "tenant %llu: inode counter damaged",
                  (unsigned long long)t->id);
        return STORE_EIO;
    }
    if (next >= ((uint64_t)1 << STORE_INO_BITS))
        return STORE_ENOSPC;

    store_put_be64(nbuf, next + 1);
    v.mv_size = sizeof(nbuf);
    v.mv_data = nbuf;
    rc = mdb_put(txn, t->meta, &k, &v, 0);
    if (rc != 0)
        return store_from_mdb(rc);
    t->d_records++;
    *ino = next;
    return STORE_OK;
}

/* Bytes actually held: never more than the size, and at most nalloc whole
 * blocks (holes hold nothing); folders hold none. */
static uint64_t store_inode_held(const struct store_inode *in)
{
    uint64_t stored = in->nalloc;

    if (S_ISDIR(in->mode))
        return 0;
    if (stored > UINT64_MAX / STORE_BLOCK_SIZE)
        stored = UINT64_MAX;
    else
        stored *= STORE_BLOCK_SIZE;
    return stored > in->size ? in->size : stored;
}

uint64_t store_inode_charge(const struct store_inode *in)
{
    uint64_t held = store_inode_held(in);

    return (held / 512 + (held % 512 != 0)) * 512;
}

void store_inode_to_attr(uint64_t ino, const struct store_inode *in,
                         struct store_attr *a)
{
    uint64_t stored = store_inode_held(in);

    memset(a, 0, sizeof(*a));
    a->ino = ino;
    a->mode = in->mode;
    a->uid = in->uid;
    a->gid = in->gid;
    a->nlink = in->nlink;
    a->rdev = in->rdev;
    a->size = in->size;
    a->blocks = stored / 512 + (stored % 512 != 0);
    if (S_ISDIR(in->mode)) {
        a->size = 4096;
        a->parent = in->parent;
    }
    a->atime = in->atime;
    a->mtime = in->mtime;
    a->ctime = in->ctime;
}
