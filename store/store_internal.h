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

/* ---- store_tenant.c ---- */
/* Open (or with `create`, create) the tenant env in folder `path`, deriving
 * the tenant's keys from `master`.  A created env gets its root inode with
 * the given owner and mode.  An opened env has its orphans purged (unless
 * rdonly). */
store_err store_tenant_env_open(const char *path, uint64_t id,
                                const seal_key *master, bool rdonly,
                                bool create, uint32_t uid, uint32_t gid,
                                uint32_t mode, store_tenant **out);
void store_tenant_env_close(store_tenant *t);
/* Path of tenant `id`'s folder inside store dir (malloc'd). */
char *store_tenant_path(const char *dir, uint64_t id);

#endif
