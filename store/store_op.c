/*
 * store_op.c - the mutating operation as a value: its journal encoding
 * (size, encode, strict decode) and store_op_apply(), which dispatches an op
 * to its kind's apply function in store_dir.c, store_file.c or
 * store_xattr.c.  What an op means is defined there; this file only says
 * how it is written down.
 *
 * Encoding, format 1 (the plaintext payload of one journal entry)
 * ---------------------------------------------------------------
 * All integers little-endian; every length is a u32 followed by that many
 * bytes.
 *
 *     offset size field
 *          0    1 version (1)
 *          1    1 kind (enum store_op_kind, 1..10)
 *          2    8 now seconds (signed)
 *         10    4 now nanoseconds (< 10^9)
 *         14      the fields of the kind, in this order:
 *
 *     MKNOD        parent(8) mode(4) uid(4) gid(4) name data(symlink target)
 *     LINK         ino(8) parent(8) name
 *     UNLINK       parent(8) name
 *     RMDIR        parent(8) name
 *     RENAME       parent(8) newparent(8) flags(4) name newname
 *     RELEASE      ino(8)
 *     SETATTR      ino(8) mask(4) attr
 *     WRITE        ino(8) off(8) data
 *     SETXATTR     ino(8) flags(4) name data(value)
 *     REMOVEXATTR  ino(8) name
 *
 * where name, newname and data are u32 length || bytes, and attr is
 * mode(4) uid(4) gid(4) size(8) atime(8+4) mtime(8+4) ctime(8+4).
 *
 * A payload decodes only if the version is 1, the kind is known, every
 * nanosecond field is below 10^9, every length fits in what is left, and
 * nothing follows the last field; anything else is STORE_EIO.  Names and
 * data of a decoded op point into the payload (names are not
 * NUL-terminated).  Limits on names and sizes are not decoding rules: the
 * apply functions check them, for a replayed op as for a new one.
 */
#include <string.h>

#include "store_ops.h"

#define OP_VERSION  1u
#define OP_HEAD_LEN 14u
#define OP_NSEC_MAX 1000000000L

/* The fields of each kind, one letter each:
 *   i ino, p parent, q newparent, o off (u64)
 *   m mode, u uid, g gid, f flags, k mask (u32)
 *   N name, M newname, D data (u32 length || bytes)
 *   A attr (mode uid gid size atime mtime ctime) */
static const char *const op_fields[] = {
    [STORE_OP_MKNOD]       = "pmugND",
    [STORE_OP_LINK]        = "ipN",
    [STORE_OP_UNLINK]      = "pN",
    [STORE_OP_RMDIR]       = "pN",
    [STORE_OP_RENAME]      = "pqfNM",
    [STORE_OP_RELEASE]     = "i",
    [STORE_OP_SETATTR]     = "ikA",
    [STORE_OP_WRITE]       = "ioD",
    [STORE_OP_SETXATTR]    = "ifND",
    [STORE_OP_REMOVEXATTR] = "iN",
};
#define OP_KIND_MAX STORE_OP_REMOVEXATTR

static const char *op_fields_of(unsigned kind)
{
    if (kind < STORE_OP_MKNOD || kind > OP_KIND_MAX)
        return NULL;
    return op_fields[kind];
}

/* ---------------------------------------------------------------------- */
/* Little-endian writing                                                   */
/* ---------------------------------------------------------------------- */

static uint8_t *op_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static uint8_t *op_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static uint8_t *op_put_time(uint8_t *p, const struct timespec *ts)
{
    p = op_put64(p, (uint64_t)(int64_t)ts->tv_sec);
    return op_put32(p, (uint32_t)ts->tv_nsec);
}

static uint8_t *op_put_bytes(uint8_t *p, const void *b, size_t len)
{
    p = op_put32(p, (uint32_t)len);
    if (len > 0)
        memcpy(p, b, len);
    return p + len;
}

#define OP_ATTR_LEN (4 + 4 + 4 + 8 + 3 * 12)

size_t store_op_encoded_size(const struct store_op *op)
{
    const char *f = op_fields_of(op->kind);
    size_t n = OP_HEAD_LEN;

    for (; f != NULL && *f != '\0'; f++) {
        switch (*f) {
        case 'i': case 'p': case 'q': case 'o': n += 8; break;
        case 'm': case 'u': case 'g': case 'f': case 'k': n += 4; break;
        case 'N': n += 4 + op->namelen; break;
        case 'M': n += 4 + op->newnamelen; break;
        case 'D': n += 4 + op->len; break;
        case 'A': n += OP_ATTR_LEN; break;
        }
    }
    return n;
}

void store_op_encode(const struct store_op *op, uint8_t *buf)
{
    const char *f = op_fields_of(op->kind);
    uint8_t *p = buf;

    *p++ = OP_VERSION;
    *p++ = (uint8_t)op->kind;
    p = op_put_time(p, &op->now);
    for (; f != NULL && *f != '\0'; f++) {
        switch (*f) {
        case 'i': p = op_put64(p, op->ino); break;
        case 'p': p = op_put64(p, op->parent); break;
        case 'q': p = op_put64(p, op->newparent); break;
        case 'o': p = op_put64(p, op->off); break;
        case 'm': p = op_put32(p, op->mode); break;
        case 'u': p = op_put32(p, op->uid); break;
        case 'g': p = op_put32(p, op->gid); break;
        case 'f': p = op_put32(p, op->flags); break;
        case 'k': p = op_put32(p, op->mask); break;
        case 'N': p = op_put_bytes(p, op->name, op->namelen); break;
        case 'M': p = op_put_bytes(p, op->newname, op->newnamelen); break;
        case 'D': p = op_put_bytes(p, op->data, op->len); break;
        case 'A':
            p = op_put32(p, op->attr.mode);
            p = op_put32(p, op->attr.uid);
            p = op_put32(p, op->attr.gid);
            p = op_put64(p, op->attr.size);
            p = op_put_time(p, &op->attr.atime);
            p = op_put_time(p, &op->attr.mtime);
            p = op_put_time(p, &op->attr.ctime);
            break;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Decoding: a cursor that fails once and stays failed                     */
/* ---------------------------------------------------------------------- */

struct op_reader {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static const uint8_t *op_take(struct op_reader *r, size_t n)
{
    const uint8_t *p = r->p;

    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t op_get32(struct op_reader *r)
{
    const uint8_t *p = op_take(r, 4);
    uint32_t v = 0;

    for (int i = 3; p != NULL && i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t op_get64(struct op_reader *r)
{
    const uint8_t *p = op_take(r, 8);
    uint64_t v = 0;

    for (int i = 7; p != NULL && i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void op_get_time(struct op_reader *r, struct timespec *ts)
{
    int64_t sec = (int64_t)op_get64(r);
    uint32_t nsec = op_get32(r);

    if (nsec >= OP_NSEC_MAX)
        r->bad = true;
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)(nsec % OP_NSEC_MAX);
}

static const void *op_get_bytes(struct op_reader *r, size_t *len)
{
    uint32_t n = op_get32(r);
    const uint8_t *p = op_take(r, n);

    *len = p != NULL ? n : 0;
    return p;
}

store_err store_op_decode(const uint8_t *buf, size_t len, struct store_op *op)
{
    struct op_reader r = { buf, len, false };
    const uint8_t *head = op_take(&r, 2);
    const char *f;

    memset(op, 0, sizeof(*op));
    if (head == NULL || head[0] != OP_VERSION
        || (f = op_fields_of(head[1])) == NULL)
        return STORE_EIO;
    op->kind = (enum store_op_kind)head[1];
    op_get_time(&r, &op->now);
    for (; *f != '\0'; f++) {
        switch (*f) {
        case 'i': op->ino = op_get64(&r); break;
        case 'p': op->parent = op_get64(&r); break;
        case 'q': op->newparent = op_get64(&r); break;
        case 'o': op->off = op_get64(&r); break;
        case 'm': op->mode = op_get32(&r); break;
        case 'u': op->uid = op_get32(&r); break;
        case 'g': op->gid = op_get32(&r); break;
        case 'f': op->flags = op_get32(&r); break;
        case 'k': op->mask = op_get32(&r); break;
        case 'N': op->name = op_get_bytes(&r, &op->namelen); break;
        case 'M': op->newname = op_get_bytes(&r, &op->newnamelen); break;
        case 'D': op->data = op_get_bytes(&r, &op->len); break;
        case 'A':
            op->attr.mode = op_get32(&r);
            op->attr.uid = op_get32(&r);
            op->attr.gid = op_get32(&r);
            op->attr.size = op_get64(&r);
            op_get_time(&r, &op->attr.atime);
            op_get_time(&r, &op->attr.mtime);
            op_get_time(&r, &op->attr.ctime);
            break;
        }
    }
    if (r.bad || r.left != 0) {
        memset(op, 0, sizeof(*op));
        return STORE_EIO;
    }
    return STORE_OK;
}

/* ---------------------------------------------------------------------- */
/* Applying                                                                */
/* ---------------------------------------------------------------------- */

static store_err store_op_dispatch(store_tenant *t, MDB_txn *txn,
                                   struct store_op *op)
{
    switch (op->kind) {
    case STORE_OP_MKNOD:       return store_mknod_apply(t, txn, op);
    case STORE_OP_LINK:        return store_link_apply(t, txn, op);
    case STORE_OP_UNLINK:      return store_unlink_apply(t, txn, op);
    case STORE_OP_RMDIR:       return store_rmdir_apply(t, txn, op);
    case STORE_OP_RENAME:      return store_rename_apply(t, txn, op);
    case STORE_OP_RELEASE:     return store_release_apply(t, txn, op);
    case STORE_OP_SETATTR:     return store_setattr_apply(t, txn, op);
    case STORE_OP_WRITE:       return store_write_apply(t, txn, op);
    case STORE_OP_SETXATTR:    return store_setxattr_apply(t, txn, op);
    case STORE_OP_REMOVEXATTR: return store_removexattr_apply(t, txn, op);
    }
    return STORE_EINVAL;
}

/* The op, then its accounting in the same transaction: an op that would
 * take the tenant past a quota fails whole (STORE_EDQUOT) and the caller
 * aborts it (store_usage.c). */
store_err store_op_apply(store_tenant *t, MDB_txn *txn, struct store_op *op)
{
    store_err err;

    op->orphan = 0;
    t->d_bytes = 0;
    t->d_records = 0;
    err = store_op_dispatch(t, txn, op);
    if (err == STORE_OK)
        err = store_usage_flush(t, txn, !op->replay);
    t->d_bytes = 0;
    t->d_records = 0;
    return err;
}
