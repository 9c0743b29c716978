/*
 * gen_corpus.c - writes the seed corpus of the fuzz targets with the
 * project's own encoders and the fixed keys of fuzz_common.h:
 *
 *     gen_corpus OUT      ->  OUT/<target>/<seed>, for every target
 *
 * The committed tests/fuzz/corpus was made by it (sealed seeds carry
 * random nonces, so a new run gives other bytes with the same meaning).
 * Reproducers of fixed bugs live beside the seeds as crash-* files.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz_tenant.h"
#include "store_registry_int.h"
#include "admin.h"

static const char *out;

static void put(const char *target, const char *seed, const void *a, size_t alen,
                const void *b, size_t blen)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", out, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        abort();
    snprintf(path, sizeof path, "%s/%s/%s", out, target, seed);
    f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(a, 1, alen, f) == alen);
    FUZZ_ASSERT(blen == 0 || fwrite(b, 1, blen, f) == blen);
    FUZZ_ASSERT(fclose(f) == 0);
}

/* mode byte + bytes, for the record targets */
static void put_mode(const char *target, const char *seed, uint8_t mode,
                     const void *b, size_t blen)
{
    put(target, seed, &mode, 1, b, blen);
}

static void gen_seal(void)
{
    uint8_t in[3 + 5 + SEAL_OVERHEAD], w[2 + 3 + SEAL_WRAPPED_BYTES];
    seal_key *k2 = seal_key_from_bytes((const uint8_t *)"another-fuzz-key-0123456789abcde");

    in[0] = 0; in[1] = 3; memcpy(in + 2, "abc", 3);
    FUZZ_ASSERT(seal_value(fuzz_key(), "abc", 3, "hello", 5, in + 5) == 0);
    put("seal", "sealed", in, 5 + 5 + SEAL_OVERHEAD, NULL, 0);
    put("seal", "plain", "\x01\x02" "adhello world", 15, NULL, 0);
    put("seal", "short", "\x00\x00" "tooshort", 10, NULL, 0);
    w[0] = 0; w[1] = 3; memcpy(w + 2, "hdr", 3);
    FUZZ_ASSERT(k2 && seal_key_wrap(fuzz_key(), k2, "hdr", 3, w + 5) == 0);
    put("seal", "wrapped", w, sizeof w, NULL, 0);
    seal_key_free(k2);
}

static void gen_inode(store_tenant *t, MDB_txn *txn)
{
    struct store_inode in = { .mode = 0100644, .uid = 1000, .gid = 100,
        .nlink = 1, .size = 70000, .nalloc = 2, .nonce = 0x1234,
        .atime = { 1700000000, 5 }, .mtime = { -1, 999999999 },
        .ctime = { 1700000001, 0 } };
    uint8_t k[8], ad[17] = { 'I' }, plain[89];
    MDB_val v;

    store_put_be64(k, 2);
    store_put_be64(ad + 1, FUZZ_TENANT_ID);
    store_put_be64(ad + 9, 2);
    FUZZ_ASSERT(store_inode_put(t, txn, 2, &in) == STORE_OK);
    FUZZ_ASSERT(mdb_get(txn, t->inodes, &(MDB_val){ 8, k }, &v) == 0);
    put_mode("inode", "raw-file", 0, v.mv_data, v.mv_size);
    FUZZ_ASSERT(seal_open(t->key, ad, sizeof ad, v.mv_data, v.mv_size, plain) == 0);
    put_mode("inode", "plain-file", 1, plain, sizeof plain);
    in.mode = 040755; in.size = 0; in.nalloc = 0; in.parent = 1;
    FUZZ_ASSERT(store_inode_put(t, txn, 2, &in) == STORE_OK);
    FUZZ_ASSERT(mdb_get(txn, t->inodes, &(MDB_val){ 8, k }, &v) == 0);
    FUZZ_ASSERT(seal_open(t->key, ad, sizeof ad, v.mv_data, v.mv_size, plain) == 0);
    put_mode("inode", "plain-dir", 1, plain, sizeof plain);
}

static uint64_t cookie_of(store_tenant *t, const char *name)
{
    uint64_t c = seal_name_hash(t->namekey, name, strlen(name)) & 0x7fffffffffffffffULL;
    return c < 3 ? c + 3 : c;
}

static void gen_dirent(store_tenant *t, MDB_txn *txn)
{
    static const char *const names[] = { "fuzz", "a", "hello.txt", "x y z" };
    static const uint32_t types[] = { 0100000, 0040000, 0120000, 0010000 };
    uint8_t k[16], ad[25] = { 'D' }, plain[12 + 255];
    char seed[32];
    MDB_val v;

    for (int i = 0; i < 4; i++) {
        uint64_t c = cookie_of(t, names[i]);
        size_t len = strlen(names[i]);
        store_put_be64(k, 1);
        store_put_be64(k + 8, c);
        store_put_be64(ad + 1, FUZZ_TENANT_ID);
        store_put_be64(ad + 9, 1);
        store_put_be64(ad + 17, c);
        FUZZ_ASSERT(store_dirent_put(t, txn, 1, c, 10 + i, types[i], names[i],
                                     len) == STORE_OK);
        FUZZ_ASSERT(mdb_get(txn, t->dirents, &(MDB_val){ 16, k }, &v) == 0);
        if (i == 0)                 /* raw values sit at the slot of "fuzz" */
            put_mode("dirent", "raw-fuzz", 0, v.mv_data, v.mv_size);
        FUZZ_ASSERT(seal_open(t->key, ad, sizeof ad, v.mv_data, v.mv_size,
                              plain) == 0);
        snprintf(seed, sizeof seed, "plain-%d", i);
        put_mode("dirent", seed, 1, plain, 12 + len);
    }
}

static void gen_registry(void)
{
    char path[128];
    struct store s = { .regkey = fuzz_key() };
    struct store_tenant_info info = { .id = FUZZ_TENANT_ID, .name = "acme",
        .uid = 1000, .gid = 1000, .mode = 0750, .created_sec = 1700000000,
        .quota_bytes = 1 << 20, .quota_records = 0 };
    uint8_t k[8], ad[9] = { 'T' }, plain[39 + 255];
    MDB_txn *txn;
    MDB_val v;

    snprintf(path, sizeof path, "%s/registry", fuzz_dir());
    FUZZ_ASSERT(mkdir(path, 0700) == 0);
    FUZZ_ASSERT(mdb_env_create(&s.reg_env) == 0);
    FUZZ_ASSERT(mdb_env_set_maxdbs(s.reg_env, 4) == 0);
    FUZZ_ASSERT(mdb_env_open(s.reg_env, path, MDB_NOSYNC, 0600) == 0);
    FUZZ_ASSERT(mdb_txn_begin(s.reg_env, NULL, 0, &txn) == 0);
    FUZZ_ASSERT(mdb_dbi_open(txn, "tenants", MDB_CREATE, &s.reg_tenants) == 0);
    FUZZ_ASSERT(store_reg_record_put(&s, txn, &info) == STORE_OK);
    store_put_be64(k, FUZZ_TENANT_ID);
    store_put_be64(ad + 1, FUZZ_TENANT_ID);
    FUZZ_ASSERT(mdb_get(txn, s.reg_tenants, &(MDB_val){ 8, k }, &v) == 0);
    put_mode("registry", "raw-v2", 0, v.mv_data, v.mv_size);
    FUZZ_ASSERT(seal_open(s.regkey, ad, sizeof ad, v.mv_data, v.mv_size, plain) == 0);
    put_mode("registry", "plain-v2", 1, plain, v.mv_size - SEAL_OVERHEAD);
    plain[0] = 1;                   /* version 1: the same without owner */
    put_mode("registry", "plain-v1", 1, plain, 27 + 4);
    mdb_txn_abort(txn);
    mdb_env_close(s.reg_env);
}

/* Every kind of op, encoded; into the op corpus and, as payloads, the
 * journal's.  Inodes and names are those of fuzz_op.c's tenant (file "f"
 * is ino 2, folder "d" ino 3, xattr user.x), so each seed applies. */
static size_t gen_ops(uint8_t bufs[10][128], size_t lens[10])
{
    static const char *const names[] = { "new", "link", "f", "d", "f", "",
                                         "", "", "user.name", "user.x" };
    struct store_op op;
    char seed[32];

    for (int kind = STORE_OP_MKNOD; kind <= STORE_OP_REMOVEXATTR; kind++) {
        memset(&op, 0, sizeof op);
        op.kind = (enum store_op_kind)kind;
        op.now = (struct timespec){ 1700000000, 123 };
        op.ino = 2; op.parent = 1; op.newparent = 3;
        op.name = names[kind - 1]; op.namelen = strlen(op.name);
        op.newname = "new"; op.newnamelen = 3;
        op.mode = 0100644; op.uid = 1; op.gid = 2; op.flags = 1; op.mask = 7;
        op.off = 4096; op.data = "data"; op.len = 4;
        op.attr.mode = 0600; op.attr.size = 10;
        op.attr.mtime = (struct timespec){ 5, 6 };
        size_t n = store_op_encoded_size(&op);
        FUZZ_ASSERT(n <= 128);
        store_op_encode(&op, bufs[kind - 1]);
        lens[kind - 1] = n;
        snprintf(seed, sizeof seed, "kind-%02d", kind);
        put("op", seed, bufs[kind - 1], n, NULL, 0);
    }
    return 10;
}

/* The entries of the current segment (without its zeroed room). */
static size_t seg_bytes(const char *dir, uint64_t first, uint8_t *buf,
                        size_t cap, uint64_t size)
{
    char path[192];
    snprintf(path, sizeof path, "%s/%016llx.jnl", dir, (unsigned long long)first);
    int fd = open(path, O_RDONLY);
    FUZZ_ASSERT(fd >= 0 && size <= cap);
    FUZZ_ASSERT(pread(fd, buf, size, 0) == (ssize_t)size);
    close(fd);
    return size;
}

static store_err nop(uint64_t seq, uint64_t tenant, const uint8_t *p,
                     size_t len, void *arg)
{
    return (void)seq, (void)tenant, (void)p, (void)len, (void)arg, STORE_OK;
}

/* Segments made by the real appender: 1..5 in one, 6..10 in the next. */
static void gen_journal(uint8_t ops[10][128], size_t lens[10])
{
    static uint8_t a[8192], b[8192], ab[16384];
    char dir[128];
    store_journal *j;
    uint64_t rep, disc, seq, sa = 16, sb = 16;

    snprintf(dir, sizeof dir, "%s/journal", fuzz_dir());
    FUZZ_ASSERT(store_journal_open(dir, fuzz_key(), &j) == STORE_OK);
    FUZZ_ASSERT(store_journal_replay(j, nop, NULL, &rep, &disc) == STORE_OK);
    for (int i = 0; i < 5; i++) {
        FUZZ_ASSERT(store_journal_append(j, FUZZ_TENANT_ID, ops[i], lens[i],
                                         &seq) == STORE_OK);
        sa += 20 + lens[i] + SEAL_OVERHEAD;
    }
    seg_bytes(dir, 1, a, sizeof a, sa);
    FUZZ_ASSERT(store_journal_trim(j, 5) == STORE_OK);   /* rotates to 6 */
    for (int i = 5; i < 10; i++) {
        FUZZ_ASSERT(store_journal_append(j, FUZZ_TENANT_ID + 1, ops[i], lens[i],
                                         &seq) == STORE_OK);
        sb += 20 + lens[i] + SEAL_OVERHEAD;
    }
    seg_bytes(dir, 6, b, sizeof b, sb);
    store_journal_close(j);

    put("journal", "one-segment", a, sa, NULL, 0);
    put("journal", "torn-tail", a, sa - 7, NULL, 0);
    put("journal", "zeroed-room", a, sa, ab + sizeof ab - 100, 100);
    put("journal", "garbage-tail", a, sa, "\x09\x00\x00\x00garbage", 11);
    put("journal", "header-only", a, 16, NULL, 0);
    memcpy(ab, a, sa);
    memcpy(ab + sa, b, sb);
    put("journal", "two-segments", ab, sa + sb, NULL, 0);
    put("journal", "second-only", b, sb, NULL, 0);
}

static void gen_header(void)
{
    char path[128];
    uint8_t buf[200];
    seal_key *m = seal_key_from_bytes((const uint8_t *)"master-key-of-the-fuzz-store-012");

    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    FUZZ_ASSERT(m && store_header_create(fuzz_dir(), m, FUZZ_PASS,
                                         sizeof FUZZ_PASS - 1) == STORE_OK);
    snprintf(path, sizeof path, "%s/" STORE_HDR_NAME, fuzz_dir());
    int fd = open(path, O_RDONLY);
    FUZZ_ASSERT(fd >= 0 && read(fd, buf, sizeof buf) == 172);
    close(fd);
    put("header", "valid", buf, 172, NULL, 0);
    put("header", "truncated", buf, 100, NULL, 0);
    buf[8] = 2;                     /* a future version (checksum now wrong) */
    put("header", "version2", buf, 172, NULL, 0);
    seal_key_free(m);
}

static void gen_admin(void)
{
    static const char *const add[] = { "acme", "1000", "1000", "0750" };
    static const char *const quota[] = { "acme", "-", "100" };
    char line[ADMIN_LINE_MAX];
    size_t len;

    FUZZ_ASSERT(admin_req_format(line, sizeof line, &len, "add", 4, add) == 0);
    put("admin", "req-add", line, len, NULL, 0);
    FUZZ_ASSERT(admin_req_format(line, sizeof line, &len, "quota", 3, quota) == 0);
    put("admin", "req-quota", line, len, NULL, 0);
    FUZZ_ASSERT(admin_req_format(line, sizeof line, &len, "list", 0, NULL) == 0);
    put("admin", "req-list", line, len, NULL, 0);
    put("admin", "status-ok", "ok\n", 3, NULL, 0);
    put("admin", "status-err", "err\t2\tno such tenant\n", 20, NULL, 0);
    put("admin", "row", "acme\t1\t1000\t1000\t0750\t0\t0\t4096\t2\n", 34, NULL, 0);
}

int main(int argc, char **argv)
{
    uint8_t ops[10][128];
    size_t lens[10];
    MDB_txn *txn;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUT\n");
        return 2;
    }
    out = argv[1];
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return 1;
    store_tenant *t = fuzz_tenant();
    gen_seal();
    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    gen_inode(t, txn);
    gen_dirent(t, txn);
    mdb_txn_abort(txn);
    gen_registry();
    gen_ops(ops, lens);
    gen_journal(ops, lens);
    gen_header();
    gen_admin();
    return 0;
}
