/*
 * store_internal.h - what the files of store/ share and nobody else sees:
 * the layout of `struct store` and `struct store_tenant`, key encodings,
 * LMDB error translation and logging.
 *
 * Lock order: store->lock (the open-tenant table) may be held while opening
 * a tenant's LMDB env; never take store->lock inside an LMDB transaction.
 */
#ifndef TENANTFS_STORE_INTERNAL_H
#define TENANTFS_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <syslog.h>

#include "seal.h"
#include "store.h"

#define STORE_HDR_NAME      "tenantfs.hdr"
#define STORE_LOCK_NAME     "daemon.lock"
#define STORE_REGISTRY_DIR  "registry"
#define STORE_TENANTS_DIR   "tenants"

/* LMDB map sizes: virtual address space reserved, not disk used.  Tenant
 * envs are opened lazily, so many tenants do not exhaust address space. */
#define STORE_TENANT_MAPSIZE   ((size_t)32 << 30)
#define STORE_REGISTRY_MAPSIZE ((size_t)1 << 30)
#define STORE_MAXREADERS       256u

/* How often the daemon's flusher makes NOSYNC commits durable. */
#define STORE_FLUSH_INTERVAL_MS 1000u

/* Key-derivation contexts (crypto_kdf needs exactly 8 characters). */
#define STORE_KDF_REGISTRY "tfs-regy"   /* id 0: the registry key */
#define STORE_KDF_TENANT   "tfs-tent"   /* id = tenant id: tenant key */
#define STORE_KDF_SEAL     "tfs-seal"   /* id 1, from tenant key: values */
#define STORE_KDF_NAME     "tfs-name"   /* id 1, from tenant key: name hash */

struct store_tenant {
    struct store *s;           /* owner (NULL for envs opened stand-alone) */
    uint64_t id;
    MDB_env *env;
    MDB_dbi inodes;            /* ino(8 BE) -> sealed inode record */
    MDB_dbi dirents;           /* parent(8 BE)||cookie(8 BE) -> sealed entry */
    MDB_dbi blocks;            /* ino(8 BE)||index(8 BE) -> sealed block */
    MDB_dbi xattrs;            /* ino(8 BE)||namehash(8 BE) -> sealed xattr */
    MDB_dbi orphans;           /* ino(8 BE) -> empty */
    MDB_dbi meta;              /* ascii key -> plain value (next_ino, format) */
    seal_key *key;             /* seals every value of this tenant */
    seal_key *namekey;         /* keys the name hash */
    bool rdonly;
};

struct store {
    char *dir;
    unsigned flags;            /* STORE_OPEN_* */
    int lock_fd;               /* daemon.lock when held, else -1 */
    seal_key *master;
    seal_key *regkey;          /* seals registry values, hashes tenant names */
    MDB_env *reg_env;
    MDB_dbi reg_tenants;       /* id(8 BE) -> sealed tenant record */
    MDB_dbi reg_names;         /* namehash128(16) -> id(8 BE) */
    MDB_dbi reg_meta;          /* "next_id" -> u64 BE */

    pthread_mutex_t lock;      /* protects the table below */
    struct store_tenant **open;   /* open tenant envs, unordered */
    size_t nopen, capopen;

    pthread_t flusher;         /* daemon only: periodic mdb_env_sync */
    bool flusher_running;
    pthread_mutex_t flush_lock;
    pthread_cond_t flush_cond;
    bool stopping;             /* protected by flush_lock */
};

/* ---- store_err.c ---- */
/* The one place LMDB and errno codes become store_err. */
store_err store_from_mdb(int rc);
store_err store_from_errno(int err);
void store_log(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Big-endian helpers for keys. */
static inline void store_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}
static inline uint64_t store_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* ---- store_header.c (the key header tenantfs.hdr) ---- */
/* Write a new header in `dir` wrapping `master` under a KEK derived from
 * the passphrase (fresh salt; TENANTFS_TEST_FAST_KDF=1 makes it cheap). */
store_err store_header_create(const char *dir, const seal_key *master,
                              const char *pass, size_t passlen);
/* Read the header and unwrap the master key: STORE_ENOTSTORE, EDAMAGED,
 * EVERSION or EBADKEY on failure, *master NULL. */
store_err store_header_unlock(const char *dir, const char *pass,
                              size_t passlen, seal_key **master);

/* ---- store_tenant.c ---- */
/* Open (or with `create`, create) the tenant env in folder `path`, deriving
 * the tenant's keys from `master`.  A created env gets its root inode with
 * the given owner and mode.  Opening checks that the root inode opens under
 * the derived keys (STORE_EIO otherwise). */
store_err store_tenant_env_open(const char *path, uint64_t id,
                                const seal_key *master, bool rdonly,
                                bool create, uint32_t uid, uint32_t gid,
                                uint32_t mode, store_tenant **out);
void store_tenant_env_close(store_tenant *t);
/* Delete the orphans (records unlinked while open) a crashed daemon left.
 * Only the daemon may call this, under the daemon lock: while a daemon
 * serves the store, its orphans are still open files. */
store_err store_tenant_orphans_purge(store_tenant *t);
/* Path of tenant `id`'s folder inside store dir (malloc'd). */
char *store_tenant_path(const char *dir, uint64_t id);

/* ---- transactions (store_tenant.c) ---- */
/* Begin a read or write transaction on the tenant's env. */
store_err store_txn_begin(store_tenant *t, bool write, MDB_txn **txn);
/* Commit; on failure the txn is gone and the error translated. */
store_err store_txn_commit(MDB_txn *txn);
/* Finish a write transaction: commit when err is STORE_OK (returning the
 * commit's result), abort and return err otherwise. */
store_err store_txn_end(MDB_txn *txn, store_err err);
/* The current time, for ctime/mtime/atime. */
void store_now(struct timespec *ts);

/* ---- inode records (store_inode.c) ---- */
/* The plaintext of a sealed inode record (layout in store_inode.c). */
struct store_inode {
    uint32_t mode, uid, gid, nlink, rdev;
    uint64_t size;
    uint64_t nalloc;           /* content blocks stored (for st_blocks) */
    uint64_t nonce;            /* random per file; binds its blocks' AD */
    uint64_t parent;           /* folders only: the containing folder (for
                                  ".." and rename-into-subtree checks) */
    struct timespec atime, mtime, ctime;
};
/* Read and open inode `ino`: STORE_ENOENT if absent, STORE_EIO (logged with
 * tenant and inode) if it fails authentication. */
store_err store_inode_get(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          struct store_inode *out);
/* Seal and store inode `ino`. */
store_err store_inode_put(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          const struct store_inode *in);
store_err store_inode_del(store_tenant *t, MDB_txn *txn, uint64_t ino);
/* Allocate a new inode number (meta "next_ino", monotonic). */
store_err store_ino_alloc(store_tenant *t, MDB_txn *txn, uint64_t *ino);
void store_inode_to_attr(uint64_t ino, const struct store_inode *in,
                         struct store_attr *a);

/* ---- directory entries (store_dirent.c; layout there) ---- */
/* Is `name` a valid entry name?  STORE_EINVAL (empty, '/', NUL, "." or
 * ".."), STORE_ENAMETOOLONG. */
store_err store_name_check(const char *name, size_t len);
/* The result of looking a name up in a folder. */
struct store_dirent_hit {
    uint64_t cookie;           /* the name's slot, whether used or not */
    uint64_t ino;              /* found: the entry's inode */
    uint32_t type;             /* found: its mode & S_IFMT */
    bool found;                /* an entry with this very name exists */
    bool other;                /* the slot holds another name (collision) */
};
/* Find `name` in folder `parent`; errors only for damage (STORE_EIO) and
 * LMDB failures. */
store_err store_dirent_find(store_tenant *t, MDB_txn *txn, uint64_t parent,
                            const char *name, size_t len,
                            struct store_dirent_hit *hit);
/* Seal and store (or replace) the entry at parent/cookie. */
store_err store_dirent_put(store_tenant *t, MDB_txn *txn, uint64_t parent,
                           uint64_t cookie, uint64_t ino, uint32_t type,
                           const char *name, size_t len);
store_err store_dirent_del(store_tenant *t, MDB_txn *txn, uint64_t parent,
                           uint64_t cookie);
/* Read folder `ino`: STORE_ENOENT, STORE_ENOTDIR, STORE_EIO. */
store_err store_dir_get(store_tenant *t, MDB_txn *txn, uint64_t ino,
                        struct store_inode *in);
/* Read the inode an entry names; a missing one is damage (STORE_EIO). */
store_err store_dirent_target(store_tenant *t, MDB_txn *txn, uint64_t ino,
                              struct store_inode *in);
/* Does folder `dir` hold no entry? */
store_err store_dir_is_empty(store_tenant *t, MDB_txn *txn, uint64_t dir,
                             bool *empty);

/* ---- content blocks (store_file.c) ---- */
/* Write `len` bytes at `off` into the blocks of `ino` inside `txn`, updating
 * in->size and in->nalloc (but not times, and not storing the inode). */
store_err store_blocks_write(store_tenant *t, MDB_txn *txn, uint64_t ino,
                             struct store_inode *in, uint64_t off,
                             const void *buf, size_t len);
/* Read like store_read() inside `txn`. */
store_err store_blocks_read(store_tenant *t, MDB_txn *txn, uint64_t ino,
                            const struct store_inode *in, uint64_t off,
                            size_t size, void *buf, size_t *got);
/* Change the size to `size`: deletes blocks beyond it, zeroes the tail of the
 * last partial block; updates in->size and in->nalloc (not stored). */
store_err store_blocks_truncate(store_tenant *t, MDB_txn *txn, uint64_t ino,
                                struct store_inode *in, uint64_t size);

/* ---- xattrs (store_xattr.c) ---- */
/* Delete every xattr of `ino` (when the inode is deleted). */
store_err store_xattrs_delete_all(store_tenant *t, MDB_txn *txn, uint64_t ino);

#endif
