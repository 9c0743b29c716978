/*
 * test_store_op.c - unit tests of operations as the journal records them
 * (store_op.c): the encoding of every kind round-trips, malformed
 * encodings are refused, and replaying the decoded ops of a sequence in a
 * fresh env gives the very same tree (inode numbers, sizes, times,
 * content): what crash recovery relies on.
 */
#include "store_env.h"
static bool op_same(const struct store_op *a, const struct store_op *b)
{
    return a->kind == b->kind && a->now.tv_sec == b->now.tv_sec
        && a->now.tv_nsec == b->now.tv_nsec && a->ino == b->ino
        && a->parent == b->parent && a->newparent == b->newparent
        && a->namelen == b->namelen && a->newnamelen == b->newnamelen
        && (a->namelen == 0 || memcmp(a->name, b->name, a->namelen) == 0)
        && (a->newnamelen == 0
            || memcmp(a->newname, b->newname, a->newnamelen) == 0)
        && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid
        && a->flags == b->flags && a->mask == b->mask && a->off == b->off
        && a->len == b->len
        && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0)
        && a->attr.mode == b->attr.mode && a->attr.uid == b->attr.uid
        && a->attr.gid == b->attr.gid && a->attr.size == b->attr.size
        && a->attr.atime.tv_sec == b->attr.atime.tv_sec
        && a->attr.atime.tv_nsec == b->attr.atime.tv_nsec
        && a->attr.mtime.tv_sec == b->attr.mtime.tv_sec
        && a->attr.mtime.tv_nsec == b->attr.mtime.tv_nsec
        && a->attr.ctime.tv_sec == b->attr.ctime.tv_sec
        && a->attr.ctime.tv_nsec == b->attr.ctime.tv_nsec;
}

/* Encode, decode, compare; every strict prefix and one extra byte fail. */
static bool op_roundtrip(const struct store_op *op)
{
    size_t n = store_op_encoded_size(op);
    uint8_t *buf = malloc(n + 1);
    struct store_op back;
    bool ok = buf != NULL;

    if (!ok)
        return false;
    memset(buf, 0xa5, n + 1);
    store_op_encode(op, buf);
    ok = buf[n] == 0xa5;                       /* wrote exactly n bytes */
    ok = ok && store_op_decode(buf, n, &back) == STORE_OK && op_same(op, &back);
    ok = ok && (back.namelen == 0 || ((const uint8_t *)back.name > buf
                                      && (const uint8_t *)back.name < buf + n));
    /* a long payload: a few prefixes, else all of them */
    for (size_t cut = 0; ok && cut < n; cut += n > 4096 ? 4099 : 1)
        ok = store_op_decode(buf, cut, &back) == STORE_EIO;
    ok = ok && store_op_decode(buf, n - 1, &back) == STORE_EIO;
    ok = ok && store_op_decode(buf, n + 1, &back) == STORE_EIO;
    free(buf);
    return ok;
}

TAP_TEST(op_encoding)
{
    static char longname[STORE_NAME_MAX], data[1u << 20];
    struct store_op op;
    uint8_t buf[64];
    struct store_op back;

    memset(longname, 'n', sizeof(longname));
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 131 + 7);
    for (unsigned k = STORE_OP_MKNOD; k <= STORE_OP_REMOVEXATTR; k++) {
        memset(&op, 0, sizeof(op));
        op.kind = (enum store_op_kind)k;
        op.now.tv_sec = -5 + (time_t)k * 1000000007LL;
        op.now.tv_nsec = 999999999;
        op.ino = 0x0102030405060708ULL;
        op.parent = UINT64_MAX;
        op.newparent = 42;
        op.mode = S_IFLNK | 0777;
        op.uid = 0xfffffffeu;
        op.gid = 3;
        op.flags = STORE_RENAME_EXCHANGE;
        op.mask = STORE_SET_SIZE | STORE_SET_SIZE_GROW | STORE_SET_MTIME;
        op.off = (uint64_t)1 << 49;
        op.attr.mode = 0640;
        op.attr.uid = 9;
        op.attr.gid = 10;
        op.attr.size = 12345678901ULL;
        op.attr.atime.tv_sec = -1;
        op.attr.mtime.tv_sec = 1 << 30;
        op.attr.mtime.tv_nsec = 1;
        op.attr.ctime.tv_nsec = 500;
        /* fields a kind does not use are not carried: clear them */
        {
            size_t n = store_op_encoded_size(&op);
            uint8_t *b = malloc(n);
            REQUIRE(b != NULL);
            store_op_encode(&op, b);
            CHECK(store_op_decode(b, n, &back) == STORE_OK);
            free(b);
            back.name = op.name;        /* empty on both sides */
            back.newname = op.newname;
            back.data = op.data;
            op = back;
        }
        /* empty names and data */
        CHECK(op_roundtrip(&op));
        /* long names and data: 255 bytes, "a\0b", 1 MiB */
        op.name = longname;
        op.namelen = sizeof(longname);
        op.newname = "a\0b";
        op.newnamelen = 3;
        op.data = data;
        op.len = sizeof(data);
        {
            size_t n = store_op_encoded_size(&op);
            uint8_t *b = malloc(n);
            REQUIRE(b != NULL);
            store_op_encode(&op, b);
            CHECK(store_op_decode(b, n, &back) == STORE_OK);
            free(b);
            /* the kind keeps exactly its fields */
            if (back.namelen == 0) { op.name = NULL; op.namelen = 0; }
            if (back.newnamelen == 0) { op.newname = NULL; op.newnamelen = 0; }
            if (back.len == 0) { op.data = NULL; op.len = 0; }
        }
        CHECK(op_roundtrip(&op));
        if (k == STORE_OP_WRITE)
            CHECK(op.len == sizeof(data));
        if (k == STORE_OP_RENAME)
            CHECK(op.namelen == STORE_NAME_MAX && op.newnamelen == 3);
    }

    /* bad kind, version, nanoseconds, lengths: STORE_EIO */
    memset(&op, 0, sizeof(op));
    op.kind = STORE_OP_UNLINK;
    op.name = "x";
    op.namelen = 1;
    REQUIRE(store_op_encoded_size(&op) == 14 + 8 + 4 + 1);
    store_op_encode(&op, buf);
    CHECK(store_op_decode(buf, 27, &back) == STORE_OK);
    for (unsigned bad = 0; bad < 256; bad++) {
        buf[1] = (uint8_t)bad;
        if (bad == STORE_OP_UNLINK || bad == STORE_OP_RMDIR)
            CHECK(store_op_decode(buf, 27, &back) == STORE_OK);
        else if (bad < STORE_OP_MKNOD || bad > STORE_OP_REMOVEXATTR)
            CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    }
    buf[1] = STORE_OP_UNLINK;
    buf[0] = 2;
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[0] = 1;
    memcpy(buf + 10, "\x00\xca\x9a\x3b", 4);    /* 10^9 ns */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    memset(buf + 10, 0, 4);
    buf[22] = 2;                                /* name length 2, 1 left */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[22] = 0; buf[25] = 0x80;                /* length 2^31 */
    CHECK(store_op_decode(buf, 27, &back) == STORE_EIO);
    buf[25] = 0; buf[22] = 1;
    CHECK(store_op_decode(buf, 27, &back) == STORE_OK && back.namelen == 1
          && back.name == (const char *)buf + 26);
    CHECK(store_op_decode(NULL, 0, &back) == STORE_EIO);
}

/* Entries of one folder, with attributes. */
struct op_listing {
    size_t n;
    struct { char name[STORE_NAME_MAX + 1]; size_t len; uint64_t cookie;
             struct store_attr a; } e[32];
};

static int op_listing_cb(const char *name, size_t len, const struct store_attr *a,
                      uint64_t cookie, void *arg)
{
    struct op_listing *l = arg;

    if (l->n == 32)
        return 1;
    memcpy(l->e[l->n].name, name, len);
    l->e[l->n].len = len;
    l->e[l->n].cookie = cookie;
    l->e[l->n].a = *a;
    l->n++;
    return 0;
}

static bool attr_same(const struct store_attr *a, const struct store_attr *b)
{
    return a->ino == b->ino && a->mode == b->mode && a->uid == b->uid
        && a->gid == b->gid && a->nlink == b->nlink && a->rdev == b->rdev
        && a->size == b->size && a->blocks == b->blocks
        && a->parent == b->parent
        && a->atime.tv_sec == b->atime.tv_sec
        && a->atime.tv_nsec == b->atime.tv_nsec
        && a->mtime.tv_sec == b->mtime.tv_sec
        && a->mtime.tv_nsec == b->mtime.tv_nsec
        && a->ctime.tv_sec == b->ctime.tv_sec
        && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The content, symlink target and xattrs of `ino` are the same in both. */
static bool record_same(store_tenant *x, store_tenant *y,
                        const struct store_attr *a)
{
    char lx[512], ly[512], vx[64], vy[64];
    size_t nx = 0, ny = 0, gx, gy;
    bool ok = true;

    if (S_ISREG(a->mode) && a->size > 0) {
        uint8_t *bx = malloc(a->size), *by = malloc(a->size);
        ok = bx != NULL && by != NULL
            && store_read(x, a->ino, 0, a->size, bx, &gx) == STORE_OK
            && store_read(y, a->ino, 0, a->size, by, &gy) == STORE_OK
            && gx == a->size && gy == gx && memcmp(bx, by, gx) == 0;
        free(bx);
        free(by);
    }
    if (S_ISLNK(a->mode))
        ok = ok && store_readlink(x, a->ino, lx, sizeof(lx), &gx) == STORE_OK
            && store_readlink(y, a->ino, ly, sizeof(ly), &gy) == STORE_OK
            && gx == gy && memcmp(lx, ly, gx) == 0;
    ok = ok && store_listxattr(x, a->ino, lx, sizeof(lx), &nx) == STORE_OK
        && store_listxattr(y, a->ino, ly, sizeof(ly), &ny) == STORE_OK
        && nx == ny && memcmp(lx, ly, nx) == 0;
    for (size_t i = 0; ok && i < nx; i += strlen(lx + i) + 1)
        ok = store_getxattr(x, a->ino, lx + i, vx, sizeof(vx), &gx) == STORE_OK
            && store_getxattr(y, a->ino, lx + i, vy, sizeof(vy), &gy) == STORE_OK
            && gx == gy && memcmp(vx, vy, gx) == 0;
    return ok;
}

/* Folder `dir` and everything below it are the same in both tenants. */
static bool tree_same(store_tenant *x, store_tenant *y, uint64_t dir)
{
    struct op_listing *lx = calloc(1, sizeof(*lx)), *ly = calloc(1, sizeof(*ly));
    bool ok = lx != NULL && ly != NULL
        && store_readdir(x, dir, 0, true, op_listing_cb, lx) == STORE_OK
        && store_readdir(y, dir, 0, true, op_listing_cb, ly) == STORE_OK
        && lx->n == ly->n;

    for (size_t i = 0; ok && i < lx->n; i++) {
        struct store_attr ax, ay;
        ok = lx->e[i].len == ly->e[i].len && lx->e[i].cookie == ly->e[i].cookie
            && memcmp(lx->e[i].name, ly->e[i].name, lx->e[i].len) == 0
            && attr_same(&lx->e[i].a, &ly->e[i].a)
            && store_getattr(x, lx->e[i].a.ino, &ax) == STORE_OK
            && store_getattr(y, ly->e[i].a.ino, &ay) == STORE_OK
            && attr_same(&ax, &ay) && attr_same(&ax, &lx->e[i].a)
            && record_same(x, y, &ax);
        if (ok && S_ISDIR(ax.mode))
            ok = tree_same(x, y, ax.ino);
    }
    free(lx);
    free(ly);
    return ok;
}

TAP_TEST(op_replay_determinism)
{
    static uint8_t big[(1u << 20) + 77];
    struct env e, r;
    uint8_t *log[40];
    size_t loglen[40], nlog = 0;
    struct store_attr ra, rb;
    uint64_t f = 0, d = 0, x = 0, last = 0;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + (i >> 9));
    REQUIRE(env_setup(&e));
    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/test_store.XXXXXX");
    REQUIRE(mkdtemp(r.dir) != NULL);
    r.master = e.master;                    /* same tenant id and master */
    REQUIRE(env_open(&r, true));

    /* One script of ops, each at a fixed time; d, f and x are the inode
     * numbers the first run hands out (the replay must hand out the same). */
#define OP(...) do {                                                      \
        struct store_op op_ = { __VA_ARGS__ };                            \
        op_.now.tv_sec = 1700000000 + (time_t)nlog;                       \
        op_.now.tv_nsec = (long)nlog * 1000 + 1;                          \
        REQUIRE(store_exec_write(e.t, &op_) == STORE_OK);                 \
        if (op_.kind == STORE_OP_MKNOD)                                   \
            last = op_.out.ino;                                           \
        if (op_.kind == STORE_OP_MKNOD && S_ISDIR(op_.mode) && d == 0)    \
            d = last;                                                     \
        else if (op_.kind == STORE_OP_MKNOD && f == 0)                    \
            f = last;                                                     \
        if (op_.orphan != 0)                                              \
            x = op_.orphan;                                               \
        REQUIRE(nlog < 40);                                               \
        loglen[nlog] = store_op_encoded_size(&op_);                       \
        REQUIRE((log[nlog] = malloc(loglen[nlog])) != NULL);              \
        store_op_encode(&op_, log[nlog++]);                               \
    } while (0)
#define NM(s) .name = (s), .namelen = sizeof(s) - 1
#define NN(s) .newname = (s), .newnamelen = sizeof(s) - 1

    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("d"), .mode = S_IFDIR | 0755,
       .uid = 5, .gid = 6);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("f"), .mode = 0644, .uid = 5);
    OP(.kind = STORE_OP_WRITE, .ino = f, .data = big, .len = sizeof(big));
    OP(.kind = STORE_OP_WRITE, .ino = f, .off = 5u << 20, .data = "tail",
       .len = 4);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("l"), .mode = S_IFLNK | 0777,
       .data = "d/target", .len = 8);
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("e"), .mode = S_IFDIR | 0700);
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("p"), .mode = S_IFIFO | 0600);
    OP(.kind = STORE_OP_LINK, .ino = f, .parent = d, NM("f2"));
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_MODE
       | STORE_SET_SIZE, .attr = { .mode = 0600, .size = 100000 });
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_SIZE
       | STORE_SET_SIZE_GROW, .attr = { .size = 99 });
    OP(.kind = STORE_OP_SETATTR, .ino = f, .mask = STORE_SET_SIZE
       | STORE_SET_SIZE_GROW, .attr = { .size = 300000 });
    OP(.kind = STORE_OP_SETATTR, .ino = d, .mask = STORE_SET_UID
       | STORE_SET_ATIME | STORE_SET_MTIME, .attr = { .uid = 77,
       .atime = { 12, 34 }, .mtime = { 56, 78 } });
    OP(.kind = STORE_OP_SETXATTR, .ino = f, NM("user.a"), .data = "1", .len = 1);
    OP(.kind = STORE_OP_SETXATTR, .ino = f, NM("user.b"), .data = "", .len = 0,
       .flags = STORE_XATTR_CREATE);
    OP(.kind = STORE_OP_SETXATTR, .ino = d, NM("user.c"), .data = "dir", .len = 3);
    OP(.kind = STORE_OP_REMOVEXATTR, .ino = f, NM("user.a"));
    OP(.kind = STORE_OP_RENAME, .parent = ROOT, NM("f"), .newparent = d,
       NN("g"));
    OP(.kind = STORE_OP_UNLINK, .parent = d, NM("f2"));
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("e"), .newparent = ROOT,
       NN("l"), .flags = STORE_RENAME_EXCHANGE);
    OP(.kind = STORE_OP_MKNOD, .parent = ROOT, NM("r"), .mode = S_IFDIR | 0700);
    OP(.kind = STORE_OP_RMDIR, .parent = ROOT, NM("r"));
    OP(.kind = STORE_OP_RELEASE, .ino = x);     /* the removed folder */
    OP(.kind = STORE_OP_MKNOD, .parent = d, NM("x"), .mode = 0644);
    OP(.kind = STORE_OP_WRITE, .ino = last, .off = 10, .data = "xx", .len = 2);
    OP(.kind = STORE_OP_SETXATTR, .ino = last, NM("user.x"), .data = "x",
       .len = 1);
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("p"), .newparent = d,
       NN("x"));
    OP(.kind = STORE_OP_RELEASE, .ino = x);
    OP(.kind = STORE_OP_RENAME, .parent = d, NM("g"), .newparent = ROOT,
       NN("g"), .flags = STORE_RENAME_NOREPLACE);
#undef OP
#undef NM
#undef NN
    CHECK(d != 0 && f != 0 && x != 0);

    /* replay the decoded journal into the fresh env */
    for (size_t i = 0; i < nlog; i++) {
        struct store_op op;
        CHECK(store_op_decode(log[i], loglen[i], &op) == STORE_OK);
        CHECK(op.now.tv_sec == 1700000000 + (time_t)i);
        CHECK(store_exec_write(r.t, &op) == STORE_OK);
        free(log[i]);
    }
    CHECK(tree_same(e.t, r.t, ROOT));
    CHECK(store_getattr(e.t, ROOT, &ra) == STORE_OK);
    CHECK(store_getattr(r.t, ROOT, &rb) == STORE_OK);
    ra.atime = rb.atime;                    /* set when each env was made */
    CHECK(attr_same(&ra, &rb));
    CHECK(ra.mtime.tv_sec > 1700000000);
    CHECK(store_getattr(r.t, x, &rb) == STORE_ENOENT);
    CHECK(table_count(e.t, e.t->orphans) == 0 && table_count(r.t, r.t->orphans) == 0);
    CHECK(table_count(e.t, e.t->blocks) == table_count(r.t, r.t->blocks));
    CHECK(table_count(e.t, e.t->xattrs) == 2 && table_count(r.t, r.t->xattrs) == 2);

    r.master = NULL;                        /* freed with e */
    env_teardown(&r);
    env_teardown(&e);
}

int main(void)
{
    return tap_main();
}
