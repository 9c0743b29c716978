/*
 * store_tenant.c - one tenant's database: creating and opening its LMDB
 * environment, deriving its keys, purging orphans left by a crash, closing
 * it, and the transaction and clock helpers every other store_ file uses.
 * Also the simplest read, store_getattr(), and store_tenant_sync().
 *
 * A tenant env lives in STORE/tenants/<16 hex digits of the id>/ and holds
 * six named tables (see struct store_tenant): "inodes", "dirents",
 * "blocks", "xattrs", "orphans" and "meta".  The meta table holds, in the
 * clear (they are not secret):
 *
 *     "format"    8 bytes big-endian, the tenant format version (1)
 *     "next_ino"  8 bytes big-endian, the next inode number to hand out
 *     "applied_seq" 8 bytes big-endian, the last journal entry this env
 *                 holds (written by the daemon's checkpoints; 0 if absent)
 *     "usage"     16 bytes big-endian: bytes charged, records (see
 *                 store_usage.c; computed at the first writable open of a
 *                 database from before it existed)
 *
 * Keys: tenant key = KDF(master, tenant id, "tfs-tent"); from it the value
 * key KDF(tenant key, 1, "tfs-seal") and the name-hash key KDF(tenant key,
 * 1, "tfs-name").  The tenant key itself is wiped as soon as both exist.
 * Opening an env checks that its root inode authenticates, so an env opened
 * under the wrong tenant id or master key fails with STORE_EIO at once.
 *
 * Envs are opened without MDB_NOSYNC: the daemon's writer checkpoints rely
 * on LMDB's synchronous commit for power-cut safety.  An env used
 * stand-alone (t->s NULL: unit tests) switches to MDB_NOSYNC at its first
 * write (store_txn_begin) and is made durable by store_tenant_sync() and
 * by the close.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

#define TENANT_FORMAT 1u

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

char *store_tenant_path(const char *dir, uint64_t id)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s/%016llx", dir, STORE_TENANTS_DIR,
                 (unsigned long long)id) < 0)
        return NULL;
    return path;
}

void store_now(struct timespec *ts)
{
    if (clock_gettime(CLOCK_REALTIME, ts) != 0) {
        ts->tv_sec = time(NULL);
        ts->tv_nsec = 0;
    }
}

uint64_t store_tenant_id(const store_tenant *t)
{
    return t->id;
}

/* A stand-alone env (t->s NULL: unit tests, never attached to a store)
 * trades durability of each commit for speed: its first write transaction
 * switches the env to MDB_NOSYNC (LMDB 0.9.24 ignores MDB_NOSYNC given to
 * mdb_txn_begin, so the env flag it is).  The switch happens once, while
 * this txn holds the env's writer lock, and takes effect at its commit.
 * Envs of a store are attached (t->s set) before any write through
 * store_txn_begin (env open and the orphan purge begin theirs directly)
 * and keep synchronous commits.  store_tenant_sync() and the close make a
 * stand-alone env durable. */
static void store_txn_standalone_nosync(store_tenant *t)
{
    unsigned flags = 0;

    if (mdb_env_get_flags(t->env, &flags) == 0 && !(flags & MDB_NOSYNC))
        (void)mdb_env_set_flags(t->env, MDB_NOSYNC, 1);
}

store_err store_txn_begin(store_tenant *t, bool write, MDB_txn **txn)
{
    int rc;

    if (write && t->rdonly)
        return STORE_EROFS;
    rc = mdb_txn_begin(t->env, NULL, write ? 0 : MDB_RDONLY, txn);
    if (rc == 0 && write && t->s == NULL)
        store_txn_standalone_nosync(t);
    return store_from_mdb(rc);
}

store_err store_txn_commit(MDB_txn *txn)
{
    return store_from_mdb(mdb_txn_commit(txn));
}

store_err store_txn_end(MDB_txn *txn, store_err err)
{
    if (err != STORE_OK) {
        mdb_txn_abort(txn);
        return err;
    }
    return store_txn_commit(txn);
}

/* In the daemon every acknowledged op is in the journal: syncing it is
 * the writer's group commit.  Otherwise commits may be NOSYNC ones. */
store_err store_tenant_sync(store_tenant *t)
{
    store_err err;

    if (t->s != NULL && t->s->writer != NULL)
        return store_writer_sync(t->s);
    if (t->rdonly)
        return STORE_OK;
    if ((err = store_tenant_enter(t)) != STORE_OK)
        return err;
    err = store_from_mdb(mdb_env_sync(t->env, 1));
    store_tenant_leave(t);
    return err;
}

struct getattr_arg {
    uint64_t ino;
    struct store_attr *a;
};

static store_err store_getattr_fn(store_tenant *t, MDB_txn *txn, void *arg)
{
    struct getattr_arg *g = arg;
    struct store_inode in;
    store_err err = store_inode_get(t, txn, g->ino, &in);

    if (err == STORE_OK)
        store_inode_to_attr(g->ino, &in, g->a);
    return err;
}

/* The tenant's folder: owner, group and mode are the registry's (for a
 * snapshot's tenant, those of the live folder: store_tenant_info_get). */
void store_root_attr_overlay(store_tenant *t, struct store_attr *a)
{
    struct store_tenant_info info;

    if (!t->info_set)
        return;
    store_tenant_info_get(t, &info);
    a->uid = info.uid;
    a->gid = info.gid;
    a->mode = (a->mode & S_IFMT) | (info.mode & 07777);
}

store_err store_getattr(store_tenant *t, uint64_t ino, struct store_attr *a)
{
    struct getattr_arg g = { ino, a };
    store_err err;

    err = store_exec_read(t, store_getattr_fn, &g);   /* ENOENT if removed */
    if (err == STORE_OK && ino == STORE_ROOT_INO)
        store_root_attr_overlay(t, a);
    return err;
}

static store_err store_meta_put_u64(store_tenant *t, MDB_txn *txn,
                                    const char *name, uint64_t value)
{
    uint8_t buf[8];
    MDB_val k = { strlen(name), (void *)name }, v = { sizeof(buf), buf };

    store_put_be64(buf, value);
    return store_from_mdb(mdb_put(txn, t->meta, &k, &v, 0));
}

/* *value, or STORE_ENOENT when `name` is absent, STORE_EIO when malformed. */
static store_err store_meta_get_u64(store_tenant *t, MDB_txn *txn,
                                    const char *name, uint64_t *value)
{
    MDB_val k = { strlen(name), (void *)name }, v;
    int rc = mdb_get(txn, t->meta, &k, &v);

    if (rc == MDB_NOTFOUND)
        return STORE_ENOENT;
    if (rc != 0)
        return store_from_mdb(rc);
    if (v.mv_size != 8)
        return STORE_EIO;
    *value = store_get_be64(v.mv_data);
    return STORE_OK;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                 */
/* ---------------------------------------------------------------------- */

static store_err store_tenant_keys_derive(store_tenant *t, const seal_key *master)
{
    seal_key *tkey = seal_key_derive(master, t->id, STORE_KDF_TENANT);
    store_err err = STORE_ENOMEM;

    if (tkey == NULL)
        goto out;
    t->key = seal_key_derive(tkey, 1, STORE_KDF_SEAL);
    t->namekey = seal_key_derive(tkey, 1, STORE_KDF_NAME);
    if (t->key != NULL && t->namekey != NULL)
        err = STORE_OK;
out:
    seal_key_free(tkey);
    return err;
}

static store_err store_tenant_dbs_open(store_tenant *t, MDB_txn *txn, bool create)
{
    static const struct { const char *name; size_t off; } tables[] = {
        { "inodes",  offsetof(struct store_tenant, inodes) },
        { "dirents", offsetof(struct store_tenant, dirents) },
        { "blocks",  offsetof(struct store_tenant, blocks) },
        { "xattrs",  offsetof(struct store_tenant, xattrs) },
        { "orphans", offsetof(struct store_tenant, orphans) },
        { "meta",    offsetof(struct store_tenant, meta) },
    };

    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        MDB_dbi *dbi = (MDB_dbi *)((char *)t + tables[i].off);
        int rc = mdb_dbi_open(txn, tables[i].name, create ? MDB_CREATE : 0, dbi);

        if (rc == MDB_NOTFOUND) {
            store_log(LOG_ERR, "tenant %llu: database incomplete",
                      (unsigned long long)t->id);
            return STORE_EIO;
        }
        if (rc != 0)
            return store_from_mdb(rc);
    }
    return STORE_OK;
}

/* Write the meta keys and the root folder of a new tenant. */
static store_err store_tenant_init(store_tenant *t, MDB_txn *txn, uint32_t uid,
                                   uint32_t gid, uint32_t mode)
{
    struct store_inode root;
    store_err err;

    memset(&root, 0, sizeof(root));
    root.mode = S_IFDIR | (mode & 07777);
    root.uid = uid;
    root.gid = gid;
    root.nlink = 2;
    root.parent = STORE_ROOT_INO;
    root.nonce = seal_random_u64();
    store_now(&root.ctime);
    root.atime = root.mtime = root.ctime;

    err = store_meta_put_u64(t, txn, "format", TENANT_FORMAT);
    if (err == STORE_OK)
        err = store_meta_put_u64(t, txn, "next_ino", STORE_ROOT_INO + 1);
    if (err == STORE_OK)
        err = store_inode_put(t, txn, STORE_ROOT_INO, &root);
    return err;
}

/* Delete one orphan: its blocks, xattrs, inode and orphan key. */
static store_err store_orphan_purge(store_tenant *t, MDB_txn *txn, uint64_t ino)
{
    struct store_inode in;
    uint8_t kbuf[8];
    MDB_val k = { sizeof(kbuf), kbuf };
    store_err err;
    int rc;

    /* an inode that has links (never made by our operations) is kept;
     * only its orphan mark goes */
    err = store_inode_get(t, txn, ino, &in);
    if (err == STORE_OK && in.nlink == 0) {
        err = store_blocks_truncate(t, txn, ino, &in, 0);
        if (err == STORE_OK)
            err = store_xattrs_delete_all(t, txn, ino);
        if (err == STORE_OK)
            err = store_inode_del(t, txn, ino, &in);
    } else if (err == STORE_ENOENT) {
        err = STORE_OK;   /* only the orphan key was left */
    }
    if (err != STORE_OK)
        return err;
    store_put_be64(kbuf, ino);
    rc = mdb_del(txn, t->orphans, &k, NULL);
    return rc == MDB_NOTFOUND ? STORE_OK : store_from_mdb(rc);
}

/* Delete every orphan left by a crash.  A damaged orphan is logged (by
 * store_inode_get) and left in place rather than refusing the tenant. */
static store_err store_orphans_purge_all(store_tenant *t, MDB_txn *txn)
{
    uint64_t *inos = NULL, damaged = 0, purged = 0;
    size_t n = 0, cap = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    store_err err = STORE_OK;
    int rc;

    rc = mdb_cursor_open(txn, t->orphans, &cur);
    if (rc != 0)
        return store_from_mdb(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(inos, ncap * sizeof(*inos));
            if (p == NULL) {
                err = STORE_ENOMEM;
                goto out;
            }
            inos = p;
            cap = ncap;
        }
        inos[n++] = store_get_be64(k.mv_data);
    }
    if (rc != MDB_NOTFOUND) {
        err = store_from_mdb(rc);
        goto out;
    }
    mdb_cursor_close(cur);
    cur = NULL;

    for (size_t i = 0; i < n; i++) {
        err = store_orphan_purge(t, txn, inos[i]);
        if (err == STORE_EIO) {
            damaged++;
            err = STORE_OK;
            continue;
        }
        if (err != STORE_OK)
            goto out;
        purged++;
    }
    if (purged > 0)
        store_log(LOG_INFO, "tenant %llu: deleted %llu orphan record(s) left by a crash",
                  (unsigned long long)t->id, (unsigned long long)purged);
    if (damaged > 0)
        store_log(LOG_WARNING, "tenant %llu: %llu damaged orphan(s) kept",
                  (unsigned long long)t->id, (unsigned long long)damaged);
out:
    if (cur != NULL)
        mdb_cursor_close(cur);
    free(inos);
    return err;
}

store_err store_tenant_orphans_purge(store_tenant *t)
{
    MDB_txn *txn = NULL;
    store_err err;

    if (t->rdonly)
        return STORE_OK;
    /* a daemon's env, maybe not yet attached (t->s): a synchronous commit,
     * and no switch to MDB_NOSYNC (store_txn_begin) */
    err = store_from_mdb(mdb_txn_begin(t->env, NULL, 0, &txn));
    if (err != STORE_OK)
        return err;
    t->d_bytes = t->d_records = 0;
    err = store_orphans_purge_all(t, txn);
    if (err == STORE_OK)
        err = store_usage_flush(t, txn, false);
    t->d_bytes = t->d_records = 0;
    if (err == STORE_OK)
        return store_txn_commit(txn);
    mdb_txn_abort(txn);
    return err;
}

/* Check the format and that the root inode opens under our keys. */
static store_err store_tenant_check(store_tenant *t, MDB_txn *txn)
{
    struct store_inode root;
    uint64_t format = 0;
    store_err err;

    err = store_meta_get_u64(t, txn, "format", &format);
    if (err == STORE_ENOENT || err == STORE_EIO) {
        store_log(LOG_ERR, "tenant %llu: database has no valid format mark",
                  (unsigned long long)t->id);
        return STORE_EIO;
    }
    if (err != STORE_OK)
        return err;
    if (format != TENANT_FORMAT)
        return STORE_EVERSION;
    err = store_inode_get(t, txn, STORE_ROOT_INO, &root);
    if (err == STORE_ENOENT)
        err = STORE_EIO;
    if (err == STORE_OK && !S_ISDIR(root.mode))
        err = STORE_EIO;
    return err;
}

/* A database file shorter than the pages its meta page says it uses (cut
 * by a copy or a disk error) would crash us with SIGBUS at the first page
 * read past its end: refuse it, as damaged. */
static store_err store_tenant_size_check(store_tenant *t, const char *path)
{
    MDB_envinfo info;
    MDB_stat ms;
    struct stat st;
    char *data = NULL;
    uint64_t need;
    int rc = 0;

    if (mdb_env_info(t->env, &info) != 0 || mdb_env_stat(t->env, &ms) != 0 ||
        asprintf(&data, "%s/data.mdb", path) < 0)
        rc = -1;
    else if (stat(data, &st) != 0)
        rc = -1;
    free(data);
    need = rc == 0 ? ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize : 0;
    if (rc == 0 && (uint64_t)st.st_size >= need)
        return STORE_OK;
    if (rc == 0)
        store_log(LOG_ERR, "tenant %llu: its database file is truncated "
                  "(%llu bytes, its pages need %llu)", (unsigned long long)t->id,
                  (unsigned long long)st.st_size, (unsigned long long)need);
    mdb_env_close(t->env);
    t->env = NULL;
    return STORE_EIO;
}

/* mdb_env_open() of a writable env allocates 3 MiB of page lists
 * (calloc: 2 MiB of dirty list, 1 MiB of free pages) of which a write
 * transaction touches a few KiB; every nested transaction (one per op in
 * the daemon) mallocs and frees lists as big.  glibc serves big blocks
 * with mmap below its mmap threshold's reach and from the heap beyond it,
 * and by default raises the threshold as big blocks are freed: then each
 * env's lists came from the heap, zeroed by calloc, all resident (1.5 MiB
 * of anonymous memory per open tenant: 1.4 GiB for 1,000), while a
 * threshold kept low instead makes every op mmap and munmap 3 MiB (create
 * fell from 5,000 to 3,200 files/s).  So envs are opened with a low
 * threshold (their lists: fresh mmaps, untouched until used) and the
 * threshold is otherwise high (the ops' lists: reused heap memory).
 * tools/bench and test_leaks.py measure both (docs/benchmarks.md). */
#define STORE_MMAP_LOW  ((int)128 << 10)
#define STORE_MMAP_HIGH ((int)4 << 20)

#ifdef __GLIBC__
/* The threshold decides only where a block comes from when the arena has
 * no free chunk big enough: a calloc of the 2 MiB dirty list still takes a
 * free 2 MiB chunk of the opening thread's arena when there is one (the
 * hole an op's nested transaction left when its lists were freed below
 * blocks that outlived it), and zeroes it: 2 MiB resident for the env's
 * life.  Measured: 33 of 300 envs opened by a fresh daemon got their list
 * so (86 MiB of anonymous memory), about 230 of 1,000 (500 MiB).  So the
 * free chunks of this arena able to hold the list are taken (malloc, never
 * touched) while the env opens, until malloc answers with a fresh mmap,
 * and given back after (store_block_mmapped tells them apart).  Not under
 * ASan, whose allocator is not glibc's; under valgrind, whose allocator
 * reports the requested size, every block looks like a hole: 64 plugs,
 * no harm. */
#define STORE_DIRTY_LIST_BYTES ((size_t)1 << 21)   /* MDB_IDL_UM_SIZE * 16 */
#define STORE_PLUGS_MAX 64

#if defined(__SANITIZE_ADDRESS__)
#define STORE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STORE_ASAN 1
#endif
#endif

#ifndef STORE_ASAN
/* Whether glibc served block p (of STORE_DIRTY_LIST_BYTES) by mmap: a
 * mapping is rounded up to whole pages, so its usable size exceeds the
 * request by nearly a page, while a chunk of the heap exceeds it by at
 * most a few words (glibc splits off any larger remainder). */
static bool store_block_mmapped(void *p)
{
    return malloc_usable_size(p) >= STORE_DIRTY_LIST_BYTES + 2048;
}
#endif

static size_t store_arena_plug(void **plugs)
{
#ifdef STORE_ASAN
    (void)plugs;
    return 0;
#else
    size_t n = 0;

    while (n < STORE_PLUGS_MAX) {
        void *p = malloc(STORE_DIRTY_LIST_BYTES);

        if (p == NULL)
            break;
        if (store_block_mmapped(p)) {       /* a fresh mmap: no hole left */
            free(p);
            break;
        }
        plugs[n++] = p;
    }
    return n;
#endif
}
#endif

static int store_env_open_lean(MDB_env *env, const char *path, unsigned flags)
{
#ifdef __GLIBC__
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    void *plugs[STORE_PLUGS_MAX];
    size_t nplugs;
    int rc;

    if (flags & MDB_RDONLY)
        return mdb_env_open(env, path, flags, 0600);   /* no lists */
    pthread_mutex_lock(&lock);
    (void)mallopt(M_MMAP_THRESHOLD, STORE_MMAP_LOW);
    nplugs = store_arena_plug(plugs);
    rc = mdb_env_open(env, path, flags, 0600);
    (void)mallopt(M_MMAP_THRESHOLD, STORE_MMAP_HIGH);
    pthread_mutex_unlock(&lock);
    while (nplugs > 0)
        free(plugs[--nplugs]);
    return rc;
#else
    return mdb_env_open(env, path, flags, 0600);
#endif
}

static store_err store_tenant_env_setup(store_tenant *t, const char *path,
                                        bool create)
{
    unsigned flags = MDB_NOTLS | (t->rdonly ? MDB_RDONLY : 0);
    int rc;

    if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
        return store_from_errno(errno);
    rc = mdb_env_create(&t->env);
    if (rc != 0) {
        t->env = NULL;
        return store_from_mdb(rc);
    }
    rc = mdb_env_set_maxdbs(t->env, 8);
    if (rc == 0)
        rc = mdb_env_set_mapsize(t->env, store_map_initial(path));
    if (rc == 0)
        rc = mdb_env_set_maxreaders(t->env, STORE_MAXREADERS);
    if (rc == 0)
        rc = store_env_open_lean(t->env, path, flags);
    if (rc != 0) {
        /* Say why (EMFILE, ENOMEM for the map, ...): the caller only sees
         * the translated error, often plain EIO. */
        store_log(LOG_ERR, "tenant %llu: cannot open its database: %s",
                  (unsigned long long)t->id, mdb_strerror(rc));
        mdb_env_close(t->env);   /* never half-open: close syncs nothing */
        t->env = NULL;
        return store_from_mdb(rc);
    }
    return store_tenant_size_check(t, path);
}

store_err store_tenant_env_open(const char *path, uint64_t id,
                                const seal_key *master, bool rdonly,
                                bool create, uint32_t uid, uint32_t gid,
                                uint32_t mode, store_tenant **out)
{
    store_tenant *t;
    MDB_txn *txn = NULL;
    uint64_t format;
    store_err err;

    *out = NULL;
    if (create && rdonly)
        return STORE_EINVAL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return STORE_ENOMEM;
    t->id = id;
    t->rdonly = rdonly;
    pthread_mutex_init(&t->info_lock, NULL);
    {
        /* Writer-preferring: a map to grow waits for the reads inside it,
         * not for a stream of new ones. */
        pthread_rwlockattr_t a;
        pthread_rwlockattr_init(&a);
        pthread_rwlockattr_setkind_np(&a,
            PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&t->map_lock, &a);
        pthread_rwlockattr_destroy(&a);
    }

    err = store_tenant_keys_derive(t, master);
    if (err != STORE_OK)
        goto out;
    err = store_tenant_env_setup(t, path, create);
    if (err != STORE_OK)
        goto out;
    /* not store_txn_begin: the env may be attached to a store next */
    err = store_from_mdb(mdb_txn_begin(t->env, NULL, rdonly ? MDB_RDONLY : 0,
                                       &txn));
    if (err != STORE_OK)
        goto out;
    err = store_tenant_dbs_open(t, txn, create);
    if (err != STORE_OK)
        goto out;

    if (create) {
        err = store_meta_get_u64(t, txn, "format", &format);
        if (err == STORE_OK)
            err = STORE_EEXIST;        /* already a tenant database */
        else if (err == STORE_ENOENT)
            err = store_tenant_init(t, txn, uid, gid, mode);
        if (err != STORE_OK)
            goto out;
    } else {
        err = store_tenant_check(t, txn);
        if (err != STORE_OK)
            goto out;
    }
    /* A database from before usage was recorded gets it now (a new one
     * starts at zero: its root folder is no record and holds nothing). */
    if (!rdonly && (err = store_usage_init(t, txn)) != STORE_OK)
        goto out;
    err = store_meta_get_u64(t, txn, "applied_seq", &t->applied_seq);
    if (err == STORE_ENOENT) {
        t->applied_seq = 0;
        err = STORE_OK;
    } else if (err == STORE_EIO) {
        store_log(LOG_ERR, "tenant %llu: journal position damaged",
                  (unsigned long long)t->id);
    }
    if (err != STORE_OK)
        goto out;
    t->batch = NULL;
    t->batch_open = false;

    /* committing (even a read txn) keeps the dbi handles for the env */
    err = store_txn_commit(txn);
    txn = NULL;
    if (err == STORE_OK && create)
        err = store_from_mdb(mdb_env_sync(t->env, 1));
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (err != STORE_OK) {
        store_tenant_env_close(t);
        return err;
    }
    *out = t;
    return STORE_OK;
}

void store_tenant_env_shut(store_tenant *t)
{
    if (t->env != NULL)
        mdb_env_close(t->env);
    t->env = NULL;
}

void store_tenant_env_close(store_tenant *t)
{
    if (t == NULL)
        return;
    if (t->env != NULL) {
        if (!t->rdonly)
            (void)mdb_env_sync(t->env, 1);
        mdb_env_close(t->env);
    }
    seal_key_free(t->key);
    seal_key_free(t->namekey);
    pthread_mutex_destroy(&t->info_lock);
    pthread_rwlock_destroy(&t->map_lock);
    seal_wipe(&t->info, sizeof t->info);
    free(t);
}
