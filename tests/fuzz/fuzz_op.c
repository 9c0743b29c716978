/*
 * fuzz_op.c - libFuzzer target of the journal payload decoder
 * (store_op_decode in store_op.c) and of what recovery does next with a
 * payload that decodes: store_op_apply on the tenant (store_recover.c), in
 * a write transaction that is aborted afterwards, so every input meets the
 * same tenant.  That tenant (made once) holds a file "f" (ino 2, 5000
 * bytes, xattr user.x), a folder "d" (ino 3) and a symlink "l" (ino 4), so
 * the seeds' inode numbers reach real records.
 *
 * Properties of the decoder: a payload decodes only with version 1 and a
 * kind 1..10; the names and data of a decoded op lie inside the payload;
 * encoding the decoded op (store_op_encoded_size, store_op_encode) gives
 * back exactly the input bytes (one encoding per op, nothing may trail).
 * Of apply: store_op.c leaves limits to the apply functions, so an op they
 * accept has names store_name_check() allows (mknod, link, rename), a
 * write ending at most at STORE_FILE_MAX, and an xattr name and value
 * within their maxima; and the records it leaves still decode.
 */
#include "fuzz_tenant.h"

static int inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return n == 0 || (q != NULL && q >= buf && n <= len && q - buf <= (ptrdiff_t)(len - n));
}

static void setup_apply(store_tenant *t, MDB_txn *txn, enum store_op_kind kind,
                        uint64_t ino, uint64_t parent, uint32_t mode,
                        const char *name, const char *data, size_t len)
{
    struct store_op op = { .kind = kind, .now = { 1700000000, 0 }, .ino = ino,
        .parent = parent, .mode = mode, .name = name, .namelen = strlen(name),
        .data = data, .len = len, .replay = true };

    FUZZ_ASSERT(store_op_apply(t, txn, &op) == STORE_OK);
}

/* The tenant every op is applied to (see the top). */
static store_tenant *op_tenant(void)
{
    static store_tenant *t;
    static char block[5000];
    struct store_attr a;
    MDB_txn *txn;

    if (t != NULL)
        return t;
    t = fuzz_tenant();
    memset(block, 'x', sizeof block);
    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    setup_apply(t, txn, STORE_OP_MKNOD, 0, 1, S_IFREG | 0644, "f", NULL, 0);
    setup_apply(t, txn, STORE_OP_MKNOD, 0, 1, S_IFDIR | 0755, "d", NULL, 0);
    setup_apply(t, txn, STORE_OP_MKNOD, 0, 1, S_IFLNK | 0777, "l", "f", 1);
    setup_apply(t, txn, STORE_OP_WRITE, 2, 0, 0, "", block, sizeof block);
    setup_apply(t, txn, STORE_OP_SETXATTR, 2, 0, 0, "user.x", "v", 1);
    FUZZ_ASSERT(store_txn_commit(txn) == STORE_OK);
    FUZZ_ASSERT(store_lookup(t, 1, "d", 1, &a) == STORE_OK && a.ino == 3);
    return t;
}

static int name_ok(const char *name, size_t len)
{
    return store_name_check(name, len) == STORE_OK;
}

static void apply(const struct store_op *decoded)
{
    store_tenant *t = op_tenant();
    struct store_op op = *decoded;
    struct store_inode in;
    MDB_txn *txn;
    store_err err;

    op.replay = true;
    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    err = store_op_apply(t, txn, &op);
    if (err == STORE_OK) {
        switch (op.kind) {
        case STORE_OP_MKNOD:
        case STORE_OP_LINK:
            FUZZ_ASSERT(name_ok(op.name, op.namelen));
            break;
        case STORE_OP_RENAME:
            FUZZ_ASSERT(name_ok(op.name, op.namelen)
                        && name_ok(op.newname, op.newnamelen));
            break;
        case STORE_OP_WRITE:
            FUZZ_ASSERT(op.off <= STORE_FILE_MAX && op.len <= STORE_FILE_MAX - op.off);
            break;
        case STORE_OP_SETXATTR:
            FUZZ_ASSERT(op.namelen <= STORE_XATTR_NAME_MAX
                        && op.len <= STORE_XATTR_SIZE_MAX);
            break;
        default:
            break;
        }
        FUZZ_ASSERT(store_inode_get(t, txn, 1, &in) == STORE_OK);
        if (op.ino != 0 && store_inode_get(t, txn, op.ino, &in) != STORE_ENOENT)
            FUZZ_ASSERT(store_inode_get(t, txn, op.ino, &in) == STORE_OK);
    }
    mdb_txn_abort(txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_op op;
    /* A copy of exactly `size` bytes, so an over-read is seen by ASan. */
    uint8_t *buf = calloc(1, size ? size : 1), *again;

    FUZZ_ASSERT(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    if (store_op_decode(buf, size, &op) == STORE_OK) {
        FUZZ_ASSERT(size >= 14 && buf[0] == 1 && buf[1] >= 1 && buf[1] <= 10);
        FUZZ_ASSERT((unsigned)op.kind == buf[1]);
        FUZZ_ASSERT(op.now.tv_nsec >= 0 && op.now.tv_nsec < 1000000000L);
        FUZZ_ASSERT(inside(op.name, op.namelen, buf, size));
        FUZZ_ASSERT(inside(op.newname, op.newnamelen, buf, size));
        FUZZ_ASSERT(inside(op.data, op.len, buf, size));
        FUZZ_ASSERT(store_op_encoded_size(&op) == size);
        again = malloc(size);
        FUZZ_ASSERT(again != NULL);
        store_op_encode(&op, again);
        FUZZ_ASSERT(memcmp(again, buf, size) == 0);
        free(again);
        apply(&op);
    }
    free(buf);
    return 0;
}
