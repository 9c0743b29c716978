/*
 * test_store_file.c - unit tests of record content and extended attributes
 * (store_file.c, store_xattr.c): random reads, writes and truncations
 * checked against an in-memory model, holes, sparse growth, a write far out
 * in a file costing one block, size limits, appends, symbolic links, xattr
 * rules, the AEAD binding of blocks to their index, file and tenant, damage
 * detection, and the absence of plaintext in the database file.
 *
 * Each test builds a stand-alone tenant env (id 9) in a fresh temporary
 * folder with a random master key; the raw LMDB tables are reached through
 * store_internal.h to count, copy and damage blocks.
 */
#include "tap.h"
#include "store_internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BSZ ((uint64_t)STORE_BLOCK_SIZE)

/* ===================================================================== */
/* Fixtures                                                               */
/* ===================================================================== */

struct fx {
    char dir[64];
    char path[96];
    seal_key *master;
    store_tenant *t;
};

static int fx_open_id(struct fx *f, uint64_t id)
{
    snprintf(f->path, sizeof f->path, "%s/t%llu", f->dir, (unsigned long long)id);
    return store_tenant_env_open(f->path, id, f->master, false, true, 0, 0,
                                 0755, &f->t) == STORE_OK ? 0 : -1;
}

static int fx_setup(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    if (seal_init() != 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tfs-file-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->master = seal_key_new_random();
    if (f->master == NULL)
        return -1;
    return fx_open_id(f, 9);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static void fx_teardown(struct fx *f)
{
    store_tenant_env_close(f->t);
    seal_key_free(f->master);
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static uint64_t mkfile(store_tenant *t, const char *name)
{
    struct store_attr a;

    if (store_mknod(t, STORE_ROOT_INO, name, strlen(name), S_IFREG | 0644,
                    0, 0, NULL, 0, &a) != STORE_OK)
        return 0;
    return a.ino;
}

static uint64_t nalloc_of(store_tenant *t, uint64_t ino)
{
    struct store_inode in;
    MDB_txn *txn;
    uint64_t n = UINT64_MAX;

    if (store_txn_begin(t, false, &txn) != STORE_OK)
        return n;
    if (store_inode_get(t, txn, ino, &in) == STORE_OK)
        n = in.nalloc;
    mdb_txn_abort(txn);
    return n;
}

/* Number of block keys stored for `ino`. */
static uint64_t blocks_stored(store_tenant *t, uint64_t ino)
{
    uint8_t kb[16];
    MDB_val k = { 16, kb }, v;
    MDB_cursor *cur;
    MDB_txn *txn;
    uint64_t n = 0;
    int rc;

    if (mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn) != 0)
        return UINT64_MAX;
    mdb_cursor_open(txn, t->blocks, &cur);
    store_put_be64(kb, ino);
    store_put_be64(kb + 8, 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (store_get_be64(k.mv_data) != ino)
            break;
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

/* Copy the raw value at key (a1, a2) of table `dbi` in tenant `from` to key
 * (b1, b2) of the same table in `to`, flipping bit 4 of byte `flip` on the
 * way when flip >= 0.  Both keys are two big-endian u64. */
static int raw_copy(store_tenant *from, MDB_dbi dbi, uint64_t a1, uint64_t a2,
                    store_tenant *to, uint64_t b1, uint64_t b2, long flip)
{
    uint8_t ka[16], kb[16], *copy = NULL;
    MDB_val k = { 16, ka }, k2 = { 16, kb }, v;
    MDB_txn *txn;
    int rc;

    store_put_be64(ka, a1);
    store_put_be64(ka + 8, a2);
    store_put_be64(kb, b1);
    store_put_be64(kb + 8, b2);
    if (mdb_txn_begin(from->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && (copy = malloc(v.mv_size)) != NULL)
        memcpy(copy, v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    if (copy == NULL || flip >= (long)v.mv_size)
        goto fail;
    if (flip >= 0)
        copy[flip] ^= 0x10;
    v.mv_data = copy;
    if (mdb_txn_begin(to->env, NULL, 0, &txn) != 0)
        goto fail;
    rc = mdb_put(txn, dbi, &k2, &v, 0);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    free(copy);
    return rc == 0 ? 0 : -1;
fail:
    free(copy);
    return -1;
}

static uint64_t rng_state = 0x7e4a9f1c2d3b5a69ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static int log_count;
static char log_last[512];

static void log_capture(int priority, const char *msg)
{
    (void)priority;
    log_count++;
    snprintf(log_last, sizeof log_last, "%s", msg);
}

/* ===================================================================== */
/* Content                                                                */
/* ===================================================================== */

#define MODEL_MAX (5 * BSZ)

TAP_TEST(random_ops_match_model)
{
    struct fx f;
    uint8_t *model = calloc(1, MODEL_MAX), *buf = malloc(MODEL_MAX);
    uint64_t ino, msize = 0;
    struct store_attr a;
    int bad = 0;

    REQUIRE(model && buf);
    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "f");
    REQUIRE(ino != 0);
    printf("# seed %llu\n", (unsigned long long)rng_state);
    for (int op = 0; op < 300 && !bad; op++) {
        uint64_t r = rng() % 10;
        uint64_t off = rng() % (MODEL_MAX - 2 * BSZ);
        size_t len;

        switch (rng() % 3) {
        case 0:  len = (size_t)(rng() % 100); break;
        case 1:  len = (size_t)(rng() % BSZ); break;
        default: len = (size_t)(rng() % (2 * BSZ)); break;
        }
        if (r < 5) {                                   /* write */
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(rng() | 1);
            if (store_write(f.t, ino, off, buf, len, &a) != STORE_OK) {
                bad = 1;
                break;
            }
            memcpy(model + off, buf, len);
            if (len > 0 && off + len > msize)
                msize = off + len;
            if (a.size != msize)
                bad = 2;
        } else if (r < 8) {                            /* read */
            size_t got = 99, want;

            if (store_read(f.t, ino, off, len, buf, &got) != STORE_OK) {
                bad = 3;
                break;
            }
            want = off >= msize ? 0 : (msize - off < len ? msize - off : len);
            if (got != want || memcmp(buf, model + off, got) != 0)
                bad = 4;
        } else {                                       /* truncate */
            struct store_attr in = { .size = off };

            if (store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) != STORE_OK) {
                bad = 5;
                break;
            }
            if (off < msize)
                memset(model + off, 0, msize - off);
            msize = off;
            if (a.size != msize)
                bad = 6;
        }
    }
    if (bad)
        printf("# model mismatch kind %d\n", bad);
    CHECK(bad == 0);
    /* a whole-file read at the end, and nalloc agrees with the table */
    {
        size_t got = 0;
        CHECK(store_read(f.t, ino, 0, MODEL_MAX, buf, &got) == STORE_OK);
        CHECK(got == msize && memcmp(buf, model, got) == 0);
        CHECK(nalloc_of(f.t, ino) == blocks_stored(f.t, ino));
    }
    fx_teardown(&f);
    free(model);
    free(buf);
}

TAP_TEST(holes_read_zeros)
{
    struct fx f;
    uint8_t buf[3 * 65536 + 100];
    struct store_attr a;
    size_t got = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "h");
    REQUIRE(ino != 0);
    REQUIRE(store_write(f.t, ino, 2 * BSZ + 10, "abc", 3, &a) == STORE_OK);
    CHECK(a.size == 2 * BSZ + 13);
    CHECK(nalloc_of(f.t, ino) == 1);
    CHECK(blocks_stored(f.t, ino) == 1);
    memset(buf, 0xAA, sizeof buf);
    CHECK(store_read(f.t, ino, 0, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == 2 * BSZ + 13);
    CHECK(all_zero(buf, 2 * BSZ + 10));
    CHECK(memcmp(buf + 2 * BSZ + 10, "abc", 3) == 0);
    /* past the end: nothing */
    CHECK(store_read(f.t, ino, 2 * BSZ + 13, 10, buf, &got) == STORE_OK);
    CHECK(got == 0);
    CHECK(store_read(f.t, ino, 10 * BSZ, 10, buf, &got) == STORE_OK);
    CHECK(got == 0);
    fx_teardown(&f);
}

TAP_TEST(truncate_down_then_extend_reads_zeros)
{
    struct fx f;
    uint8_t *buf = malloc(4 * BSZ);
    struct store_attr a, in = { 0 };
    size_t got = 0;
    uint64_t ino;

    REQUIRE(buf);
    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "t");
    REQUIRE(ino != 0);
    memset(buf, 'x', 3 * BSZ);
    REQUIRE(store_write(f.t, ino, 0, buf, 3 * BSZ, &a) == STORE_OK);
    CHECK(nalloc_of(f.t, ino) == 3);

    in.size = BSZ + 100;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_OK);
    CHECK(a.size == BSZ + 100);
    CHECK(nalloc_of(f.t, ino) == 2 && blocks_stored(f.t, ino) == 2);
    in.size = 3 * BSZ + 5;                      /* sparse growth */
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_OK);
    CHECK(a.size == 3 * BSZ + 5);
    CHECK(nalloc_of(f.t, ino) == 2);
    memset(buf, 0x55, 4 * BSZ);
    CHECK(store_read(f.t, ino, 0, 4 * BSZ, buf, &got) == STORE_OK);
    CHECK(got == 3 * BSZ + 5);
    for (size_t i = 0; i < BSZ + 100; i++)
        if (buf[i] != 'x') { CHECK(!"content kept"); break; }
    CHECK(all_zero(buf + BSZ + 100, got - BSZ - 100));

    /* a write into the trimmed block after growth keeps the zeros */
    CHECK(store_write(f.t, ino, BSZ + 200, "y", 1, &a) == STORE_OK);
    CHECK(store_read(f.t, ino, BSZ + 90, 120, buf, &got) == STORE_OK);
    CHECK(got == 120 && buf[0] == 'x' && buf[9] == 'x');
    CHECK(all_zero(buf + 10, 100) && buf[110] == 'y');

    in.size = BSZ;                              /* exact block boundary */
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_OK);
    CHECK(nalloc_of(f.t, ino) == 1 && blocks_stored(f.t, ino) == 1);
    in.size = 0;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_OK);
    CHECK(a.size == 0 && a.blocks == 0);
    CHECK(nalloc_of(f.t, ino) == 0 && blocks_stored(f.t, ino) == 0);
    fx_teardown(&f);
    free(buf);
}

/* fallocate's size change is grow-only and decided inside the store's
 * transaction: a size that a concurrent write has already passed must not
 * cut that write off (review fix; before it, the size was set as given). */
TAP_TEST(setattr_grow_only_never_shrinks)
{
    struct fx f;
    uint8_t buf[300];
    struct store_attr a, in = { 0 };
    size_t got = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "g");
    REQUIRE(ino != 0);
    memset(buf, 'w', 100);
    REQUIRE(store_write(f.t, ino, 0, buf, 100, &a) == STORE_OK);

    in.size = 50;                               /* stale, smaller size */
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE | STORE_SET_SIZE_GROW,
                        &a) == STORE_OK);
    CHECK(a.size == 100);
    memset(buf, 0, sizeof buf);
    CHECK(store_read(f.t, ino, 0, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == 100 && buf[0] == 'w' && buf[99] == 'w');

    in.size = 250;                              /* a real extension */
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE | STORE_SET_SIZE_GROW,
                        &a) == STORE_OK);
    CHECK(a.size == 250);
    memset(buf, 0x55, sizeof buf);
    CHECK(store_read(f.t, ino, 0, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == 250 && buf[99] == 'w' && all_zero(buf + 100, 150));

    /* the file-type checks still apply */
    CHECK(store_setattr(f.t, STORE_ROOT_INO, &in,
                        STORE_SET_SIZE | STORE_SET_SIZE_GROW, &a)
          == STORE_EISDIR);
    fx_teardown(&f);
}

TAP_TEST(write_far_out_is_one_block)
{
    struct fx f;
    const uint64_t off = (uint64_t)5 << 30;
    uint8_t buf[4096];
    struct store_attr a;
    size_t got = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "big");
    REQUIRE(ino != 0);
    REQUIRE(store_write(f.t, ino, off, "far away", 8, &a) == STORE_OK);
    CHECK(a.size == off + 8);
    CHECK(nalloc_of(f.t, ino) == 1 && blocks_stored(f.t, ino) == 1);
    CHECK(a.blocks == BSZ / 512);
    CHECK(store_read(f.t, ino, off, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == 8 && memcmp(buf, "far away", 8) == 0);
    memset(buf, 1, sizeof buf);
    CHECK(store_read(f.t, ino, off - 100, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == 108 && all_zero(buf, 100) && memcmp(buf + 100, "far", 3) == 0);
    CHECK(store_read(f.t, ino, 12345, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == sizeof buf && all_zero(buf, sizeof buf));
    fx_teardown(&f);
}

TAP_TEST(size_limits_efbig)
{
    struct fx f;
    struct store_attr a, in = { 0 };
    size_t got = 0;
    char c = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "lim");
    REQUIRE(ino != 0);
    CHECK(store_write(f.t, ino, STORE_FILE_MAX - 1, "ab", 2, &a) == STORE_EFBIG);
    CHECK(store_write(f.t, ino, STORE_FILE_MAX, "a", 1, &a) == STORE_EFBIG);
    CHECK(store_write(f.t, ino, UINT64_MAX - 1, "ab", 2, &a) == STORE_EFBIG);
    CHECK(store_getattr(f.t, ino, &a) == STORE_OK && a.size == 0);
    CHECK(store_write(f.t, ino, STORE_FILE_MAX - 1, "z", 1, &a) == STORE_OK);
    CHECK(a.size == STORE_FILE_MAX);
    CHECK(store_read(f.t, ino, STORE_FILE_MAX - 1, 1, &c, &got) == STORE_OK);
    CHECK(got == 1 && c == 'z');
    in.size = STORE_FILE_MAX + 1;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_EFBIG);
    in.size = 7;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &a) == STORE_OK);
    CHECK(a.size == 7 && nalloc_of(f.t, ino) == 0);
    fx_teardown(&f);
}

TAP_TEST(append_and_times)
{
    struct fx f;
    char expect[8192], buf[8192];
    struct store_attr a, b, in = { 0 };
    size_t n = 0, got = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "log");
    REQUIRE(ino != 0);
    for (int i = 0; i < 200; i++) {
        char line[32];
        int l = snprintf(line, sizeof line, "line %d\n", i);

        REQUIRE(store_getattr(f.t, ino, &a) == STORE_OK);
        REQUIRE(store_write(f.t, ino, a.size, line, (size_t)l, &a) == STORE_OK);
        memcpy(expect + n, line, (size_t)l);
        n += (size_t)l;
    }
    CHECK(a.size == n && nalloc_of(f.t, ino) == 1);
    CHECK(store_read(f.t, ino, 0, sizeof buf, buf, &got) == STORE_OK);
    CHECK(got == n && memcmp(buf, expect, n) == 0);

    /* setattr: mode keeps its type, times as given, ctime now */
    in.mode = 0600 | S_IFDIR;
    in.uid = 1234;
    in.gid = 99;
    in.atime.tv_sec = 1000;
    in.mtime.tv_sec = 2000;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_MODE | STORE_SET_UID |
                        STORE_SET_GID | STORE_SET_ATIME | STORE_SET_MTIME,
                        &b) == STORE_OK);
    CHECK(b.mode == (S_IFREG | 0600) && b.uid == 1234 && b.gid == 99);
    CHECK(b.atime.tv_sec == 1000 && b.mtime.tv_sec == 2000);
    CHECK(b.ctime.tv_sec >= a.ctime.tv_sec);
    in.ctime.tv_sec = 3000;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_CTIME, &b) == STORE_OK);
    CHECK(b.ctime.tv_sec == 3000 && b.mtime.tv_sec == 2000);
    in.size = 3;
    CHECK(store_setattr(f.t, ino, &in, STORE_SET_SIZE, &b) == STORE_OK);
    CHECK(b.size == 3 && b.mtime.tv_sec > 2000);
    fx_teardown(&f);
}

TAP_TEST(symlinks_and_folders)
{
    struct fx f;
    const char target[] = "../some/where/else";
    struct store_attr a, d, in = { .size = 0 };
    char buf[64];
    size_t len = 0;
    uint64_t ino;

    REQUIRE(fx_setup(&f) == 0);
    REQUIRE(store_mknod(f.t, STORE_ROOT_INO, "l", 1, S_IFLNK | 0777, 0, 0,
                        target, strlen(target), &a) == STORE_OK);
    CHECK(a.size == strlen(target));
    CHECK(store_readlink(f.t, a.ino, buf, sizeof buf, &len) == STORE_OK);
    CHECK(len == strlen(target) && memcmp(buf, target, len) == 0);
    CHECK(store_readlink(f.t, a.ino, buf, 4, &len) == STORE_ERANGE);
    ino = mkfile(f.t, "r");
    REQUIRE(ino != 0);
    CHECK(store_readlink(f.t, ino, buf, sizeof buf, &len) == STORE_EINVAL);
    CHECK(store_readlink(f.t, 999, buf, sizeof buf, &len) == STORE_ENOENT);

    REQUIRE(store_mknod(f.t, STORE_ROOT_INO, "d", 1, S_IFDIR | 0755, 0, 0,
                        NULL, 0, &d) == STORE_OK);
    CHECK(store_read(f.t, d.ino, 0, sizeof buf, buf, &len) == STORE_EISDIR);
    CHECK(store_write(f.t, d.ino, 0, "x", 1, &a) == STORE_EISDIR);
    CHECK(store_setattr(f.t, d.ino, &in, STORE_SET_SIZE, &a) == STORE_EISDIR);
    CHECK(store_read(f.t, 999, 0, sizeof buf, buf, &len) == STORE_ENOENT);
    CHECK(store_write(f.t, 999, 0, "x", 1, &a) == STORE_ENOENT);
    fx_teardown(&f);
}

/* ===================================================================== */
/* Extended attributes                                                    */
/* ===================================================================== */

TAP_TEST(xattr_rules)
{
    struct fx f;
    char name[300], buf[256], list[256];
    uint8_t *big = calloc(1, STORE_XATTR_SIZE_MAX + 2);
    struct store_attr a0, a1;
    size_t len = 0;
    uint64_t ino;

    REQUIRE(big);
    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "x");
    REQUIRE(ino != 0);
    memset(&a0, 0, sizeof a0);
    a0.ctime.tv_sec = 1000;                 /* an old ctime, to see it move */
    REQUIRE(store_setattr(f.t, ino, &a0, STORE_SET_CTIME, &a1) == STORE_OK);
    REQUIRE(a1.ctime.tv_sec == 1000);

    CHECK(store_setxattr(f.t, ino, "user.color", "red", 3, 0) == STORE_OK);
    CHECK(store_getattr(f.t, ino, &a1) == STORE_OK && a1.ctime.tv_sec > 1000);
    CHECK(store_getxattr(f.t, ino, "user.color", NULL, 0, &len) == STORE_OK && len == 3);
    CHECK(store_getxattr(f.t, ino, "user.color", buf, sizeof buf, &len) == STORE_OK);
    CHECK(len == 3 && memcmp(buf, "red", 3) == 0);
    CHECK(store_getxattr(f.t, ino, "user.color", buf, 2, &len) == STORE_ERANGE);
    CHECK(store_setxattr(f.t, ino, "user.color", "blue", 4,
                         STORE_XATTR_CREATE) == STORE_EEXIST);
    CHECK(store_setxattr(f.t, ino, "user.shape", "sq", 2,
                         STORE_XATTR_REPLACE) == STORE_ENODATA);
    CHECK(store_setxattr(f.t, ino, "user.color", "blue", 4,
                         STORE_XATTR_REPLACE) == STORE_OK);
    CHECK(store_getxattr(f.t, ino, "user.color", buf, sizeof buf, &len) == STORE_OK);
    CHECK(len == 4 && memcmp(buf, "blue", 4) == 0);
    CHECK(store_setxattr(f.t, ino, "user.empty", "", 0, STORE_XATTR_CREATE) == STORE_OK);
    CHECK(store_getxattr(f.t, ino, "user.empty", buf, sizeof buf, &len) == STORE_OK
          && len == 0);

    /* list: both names, NUL-separated, any order */
    CHECK(store_listxattr(f.t, ino, NULL, 0, &len) == STORE_OK);
    CHECK(len == sizeof("user.color") + sizeof("user.empty"));
    CHECK(store_listxattr(f.t, ino, list, len - 1, &len) == STORE_ERANGE);
    CHECK(store_listxattr(f.t, ino, list, sizeof list, &len) == STORE_OK);
    CHECK(len == 22 && list[10] == '\0' && list[21] == '\0');
    CHECK((strcmp(list, "user.color") == 0 && strcmp(list + 11, "user.empty") == 0)
          || (strcmp(list, "user.empty") == 0 && strcmp(list + 11, "user.color") == 0));

    /* limits and namespaces */
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[STORE_XATTR_NAME_MAX + 1] = '\0';
    CHECK(store_setxattr(f.t, ino, name, "v", 1, 0) == STORE_ERANGE);
    CHECK(store_getxattr(f.t, ino, name, buf, sizeof buf, &len) == STORE_ERANGE);
    name[STORE_XATTR_NAME_MAX] = '\0';
    CHECK(store_setxattr(f.t, ino, name, "v", 1, 0) == STORE_OK);
    CHECK(store_getxattr(f.t, ino, name, buf, sizeof buf, &len) == STORE_OK && len == 1);
    CHECK(store_setxattr(f.t, ino, "user.big", big, STORE_XATTR_SIZE_MAX + 1,
                         0) == STORE_E2BIG);
    CHECK(store_setxattr(f.t, ino, "user.big", big, STORE_XATTR_SIZE_MAX,
                         0) == STORE_OK);
    CHECK(store_getxattr(f.t, ino, "user.big", NULL, 0, &len) == STORE_OK
          && len == STORE_XATTR_SIZE_MAX);
    CHECK(store_setxattr(f.t, ino, "security.selinux", "x", 1, 0) == STORE_ENOTSUP);
    CHECK(store_setxattr(f.t, ino, "trusted.a", "x", 1, 0) == STORE_ENOTSUP);
    CHECK(store_getxattr(f.t, ino, "system.posix_acl_access", buf, sizeof buf,
                         &len) == STORE_ENODATA);
    CHECK(store_removexattr(f.t, ino, "security.selinux") == STORE_ENOTSUP);
    CHECK(store_getxattr(f.t, ino, "user.none", buf, sizeof buf, &len) == STORE_ENODATA);
    CHECK(store_setxattr(f.t, 999, "user.a", "x", 1, 0) == STORE_ENOENT);

    /* remove */
    REQUIRE(store_setattr(f.t, ino, &a0, STORE_SET_CTIME, &a1) == STORE_OK);
    CHECK(store_removexattr(f.t, ino, "user.color") == STORE_OK);
    CHECK(store_getattr(f.t, ino, &a1) == STORE_OK && a1.ctime.tv_sec > 1000);
    CHECK(store_removexattr(f.t, ino, "user.color") == STORE_ENODATA);
    CHECK(store_getxattr(f.t, ino, "user.color", buf, sizeof buf, &len) == STORE_ENODATA);
    CHECK(store_listxattr(f.t, ino, NULL, 0, &len) == STORE_OK);
    CHECK(len == sizeof("user.empty") + sizeof("user.big") + STORE_XATTR_NAME_MAX + 1);

    /* delete_all leaves other inodes alone */
    {
        uint64_t ino2 = mkfile(f.t, "y");
        MDB_txn *txn;

        REQUIRE(ino2 != 0);
        CHECK(store_setxattr(f.t, ino2, "user.keep", "1", 1, 0) == STORE_OK);
        REQUIRE(store_txn_begin(f.t, true, &txn) == STORE_OK);
        CHECK(store_xattrs_delete_all(f.t, txn, ino) == STORE_OK);
        CHECK(store_txn_commit(txn) == STORE_OK);
        CHECK(store_listxattr(f.t, ino, NULL, 0, &len) == STORE_OK && len == 0);
        CHECK(store_getxattr(f.t, ino2, "user.keep", buf, sizeof buf, &len) == STORE_OK);
    }
    fx_teardown(&f);
    free(big);
}

/* ===================================================================== */
/* Binding and damage                                                     */
/* ===================================================================== */

/* A read that must fail with EIO and leave no data in the buffer. */
static int read_refused(store_tenant *t, uint64_t ino, uint64_t off, uint8_t mark)
{
    uint8_t buf[2048];
    size_t got = 77;
    store_err e;

    memset(buf, 0xEE, sizeof buf);
    e = store_read(t, ino, off, sizeof buf, buf, &got);
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] == mark)
            return 0;
    return e == STORE_EIO && got == 0;
}

TAP_TEST(blocks_bound_to_place)
{
    struct fx f, g;
    uint8_t *data = malloc(2 * BSZ);
    struct store_attr a;
    struct store_inode fin, gin;
    MDB_txn *txn;
    uint64_t ia, ib, ig;

    REQUIRE(data);
    REQUIRE(fx_setup(&f) == 0);
    store_set_log(log_capture);
    ia = mkfile(f.t, "a");
    ib = mkfile(f.t, "b");
    REQUIRE(ia && ib);
    memset(data, 'A', BSZ);
    memset(data + BSZ, 'C', BSZ);
    REQUIRE(store_write(f.t, ia, 0, data, 2 * BSZ, &a) == STORE_OK);
    memset(data, 'B', 2 * BSZ);
    REQUIRE(store_write(f.t, ib, 0, data, 2 * BSZ, &a) == STORE_OK);

    /* block 0 of a onto block 1 of a: index bound */
    REQUIRE(raw_copy(f.t, f.t->blocks, ia, 0, f.t, ia, 1, -1) == 0);
    log_count = 0;
    CHECK(read_refused(f.t, ia, BSZ, 'A'));
    CHECK(read_refused(f.t, ia, BSZ - 100, 'A'));   /* straddling read */
    CHECK(log_count == 2 && strstr(log_last, "block 1") != NULL);
    CHECK(strstr(log_last, "tenant 9") != NULL);

    /* block 0 of a onto block 0 of b: file bound */
    REQUIRE(raw_copy(f.t, f.t->blocks, ia, 0, f.t, ib, 0, -1) == 0);
    CHECK(read_refused(f.t, ib, 0, 'A'));

    /* another tenant, same inode number and same per-file nonce */
    memcpy(g.dir, f.dir, sizeof g.dir);
    g.master = f.master;
    REQUIRE(fx_open_id(&g, 10) == 0);
    ig = mkfile(g.t, "a");
    REQUIRE(ig == ia);
    memset(data, 'G', BSZ);
    REQUIRE(store_write(g.t, ig, 0, data, BSZ, &a) == STORE_OK);
    REQUIRE(store_txn_begin(f.t, false, &txn) == STORE_OK);
    REQUIRE(store_inode_get(f.t, txn, ia, &fin) == STORE_OK);
    mdb_txn_abort(txn);
    REQUIRE(store_txn_begin(g.t, true, &txn) == STORE_OK);
    REQUIRE(store_inode_get(g.t, txn, ig, &gin) == STORE_OK);
    gin.nonce = fin.nonce;
    REQUIRE(store_inode_put(g.t, txn, ig, &gin) == STORE_OK);
    REQUIRE(store_txn_commit(txn) == STORE_OK);
    REQUIRE(raw_copy(f.t, f.t->blocks, ia, 0, g.t, ig, 0, -1) == 0);
    CHECK(read_refused(g.t, ig, 0, 'A'));
    {
        /* even under the same value key, the tenant id in the AD binds:
         * lend f's key to g and reseal g's inode with it */
        seal_key *own = g.t->key;

        g.t->key = f.t->key;
        REQUIRE(store_txn_begin(g.t, true, &txn) == STORE_OK);
        REQUIRE(store_inode_put(g.t, txn, ig, &gin) == STORE_OK);
        REQUIRE(store_txn_commit(txn) == STORE_OK);
        CHECK(read_refused(g.t, ig, 0, 'A'));
        g.t->key = own;
    }
    store_tenant_env_close(g.t);

    /* same inode number, another per-file nonce (a new file generation) */
    REQUIRE(store_txn_begin(f.t, true, &txn) == STORE_OK);
    REQUIRE(store_inode_get(f.t, txn, ib, &gin) == STORE_OK);
    gin.nonce ^= 1;
    REQUIRE(store_inode_put(f.t, txn, ib, &gin) == STORE_OK);
    REQUIRE(store_txn_commit(txn) == STORE_OK);
    CHECK(read_refused(f.t, ib, BSZ, 'B'));

    /* a flipped bit in the ciphertext */
    {
        uint8_t buf[16];
        size_t got;

        CHECK(store_read(f.t, ia, 0, 16, buf, &got) == STORE_OK && buf[0] == 'A');
        REQUIRE(raw_copy(f.t, f.t->blocks, ia, 0, f.t, ia, 0,
                         SEAL_NONCEBYTES + 5000) == 0);
        CHECK(read_refused(f.t, ia, 0, 'A'));
        CHECK(read_refused(f.t, ia, 4000, 'A'));
        /* writes needing the damaged block fail too; whole-block ones heal */
        CHECK(store_write(f.t, ia, 10, "zz", 2, &a) == STORE_EIO);
        CHECK(store_write(f.t, ia, 0, data, BSZ, &a) == STORE_OK);
        CHECK(store_read(f.t, ia, 0, 16, buf, &got) == STORE_OK && buf[0] == 'G');
    }
    store_set_log(NULL);
    fx_teardown(&f);
    free(data);
}

TAP_TEST(xattrs_bound_to_inode)
{
    struct fx f;
    char buf[64];
    size_t len = 5;
    uint64_t ia, ib, h;

    REQUIRE(fx_setup(&f) == 0);
    store_set_log(log_capture);
    ia = mkfile(f.t, "a");
    ib = mkfile(f.t, "b");
    REQUIRE(ia && ib);
    REQUIRE(store_setxattr(f.t, ia, "user.secret", "SSSS", 4, 0) == STORE_OK);
    h = seal_name_hash(f.t->namekey, "user.secret", 11);
    REQUIRE(raw_copy(f.t, f.t->xattrs, ia, h, f.t, ib, h, -1) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(store_getxattr(f.t, ib, "user.secret", buf, sizeof buf, &len) == STORE_EIO);
    CHECK(len == 0 && memchr(buf, 'S', sizeof buf) == NULL);
    CHECK(store_listxattr(f.t, ib, buf, sizeof buf, &len) == STORE_EIO);
    CHECK(memmem(buf, sizeof buf, "user.secret", 11) == NULL);
    CHECK(store_getxattr(f.t, ia, "user.secret", buf, sizeof buf, &len) == STORE_OK
          && len == 4);
    /* a damaged value is reported, not silently overwritten */
    CHECK(store_setxattr(f.t, ib, "user.secret", "T", 1, 0) == STORE_EIO);
    store_set_log(NULL);
    fx_teardown(&f);
}

TAP_TEST(no_plaintext_in_database)
{
    static const char canary[] = "CANARY-content-0123456789-record";
    static const char xcanary[] = "XCANARY-attribute-value";
    struct fx f;
    char *buf = calloc(1, 3 * BSZ), *file = NULL;
    struct store_attr a;
    uint64_t ino;
    size_t n = 0;
    FILE *fp;

    REQUIRE(buf);
    REQUIRE(fx_setup(&f) == 0);
    ino = mkfile(f.t, "r");
    REQUIRE(ino != 0);
    for (size_t i = 0; i + sizeof canary <= 3 * BSZ; i += sizeof canary)
        memcpy(buf + i, canary, sizeof canary);
    REQUIRE(store_write(f.t, ino, 0, buf, 3 * BSZ, &a) == STORE_OK);
    REQUIRE(store_write(f.t, ino, 100, canary, sizeof canary - 1, &a) == STORE_OK);
    REQUIRE(store_setxattr(f.t, ino, "user.XCANARYNAME", xcanary,
                           sizeof xcanary - 1, 0) == STORE_OK);
    REQUIRE(store_mknod(f.t, STORE_ROOT_INO, "s", 1, S_IFLNK | 0777, 0, 0,
                        "/LCANARY/target", 15, &a) == STORE_OK);
    store_tenant_env_close(f.t);
    f.t = NULL;

    snprintf(buf, 3 * BSZ, "%s/data.mdb", f.path);
    fp = fopen(buf, "rb");
    REQUIRE(fp != NULL);
    file = malloc(64u << 20);
    if (file != NULL)
        n = fread(file, 1, 64u << 20, fp);
    fclose(fp);
    REQUIRE(file != NULL && n > 3 * BSZ);
    CHECK(memmem(file, n, "CANARY", 6) == NULL);
    CHECK(memmem(file, n, "LCANARY", 7) == NULL);
    CHECK(memmem(file, n, "XCANARYNAME", 11) == NULL);
    free(file);
    fx_teardown(&f);
    free(buf);
}

int main(void)
{
    return tap_main();
}
