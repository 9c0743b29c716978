/*
 * store_internal.h - what the files of store/ share and nobody else sees:
 * the layout of `struct store` and `struct store_tenant`, key encodings,
 * LMDB error translation and logging.
 *
 * Lock order: store->lock (the open-tenant table) may be held while opening
 * a tenant's LMDB env; never take store->lock inside an LMDB transaction.
 * A tenant's map_lock is taken after store->lock and the writer's mutex,
 * and one tenant's at a time.  The one exception to the first rule: a
 * snapshot's tenant (view_of set) reads the live registry (store->lock, a
 * registry read transaction) inside its own read transaction; that env is
 * no live tenant's, and nothing that holds store->lock waits for it.
 */
#ifndef TENANTFS_STORE_INTERNAL_H
#define TENANTFS_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <syslog.h>

#include "seal.h"
#include "store.h"

#define STORE_HDR_NAME      "tenantfs.hdr"
#define STORE_LOCK_NAME     "daemon.lock"
#define STORE_REGISTRY_DIR  "registry"
#define STORE_TENANTS_DIR   "tenants"

/* LMDB map sizes: virtual address space reserved, not disk used.  A
 * tenant's map grows with its database (store_map.c), always at least
 * STORE_MAP_HEADROOM larger than what it uses; the registry's is fixed
 * (a tenant's record is under 400 bytes). */
#define STORE_MAP_HEADROOM     (4 * STORE_CHECKPOINT_BYTES)
#define STORE_REGISTRY_MAPSIZE ((size_t)1 << 30)
#define STORE_MAXREADERS       256u


/* Key-derivation contexts (crypto_kdf needs exactly 8 characters). */
#define STORE_KDF_REGISTRY "tfs-regy"   /* id 0: the registry key */
#define STORE_KDF_TENANT   "tfs-tent"   /* id = tenant id: tenant key */
#define STORE_KDF_SEAL     "tfs-seal"   /* id 1, from tenant key: values */
#define STORE_KDF_NAME     "tfs-name"   /* id 1, from tenant key: name hash */
#define STORE_KDF_JOURNAL  "tfs-jrnl"   /* id 0, from master: journal entries */

/* The journal (docs/journal.md). */
#define STORE_JOURNAL_DIR        "journal"
#define STORE_JOURNAL_STATS_NAME "stats"       /* STORE/journal/stats, text */
#define STORE_JOURNAL_SEGMENT_MAX ((uint64_t)64 << 20)  /* rotate past this */
/* The writer checkpoints (durable LMDB commit of every open batch) when the
 * oldest batch is this old, or this many journal bytes were appended since
 * the last checkpoint (this bounds both the memory held by open batches and
 * the journal replayed at recovery). */
#ifndef STORE_CHECKPOINT_MS        /* -D for stress runs (docs/testing.md) */
#define STORE_CHECKPOINT_MS      1000u
#endif
#ifndef STORE_CHECKPOINT_BYTES
#define STORE_CHECKPOINT_BYTES   ((uint64_t)32 << 20)
#endif
/* Default of -o commit=MS: how often the journal is flushed (fdatasync) when
 * nobody asks.  Chosen by measurement, see docs/journal.md. */
#define STORE_COMMIT_MS_DEFAULT  100u

struct store_tenant {
    struct store *s;           /* owner (NULL for envs opened stand-alone) */
    uint64_t id;
    MDB_env *env;
    /* Held for reading by every transaction that may run while the map is
     * grown, for writing while it is (store_map.c). */
    pthread_rwlock_t map_lock;
    MDB_dbi inodes;            /* ino(8 BE) -> sealed inode record */
    MDB_dbi dirents;           /* parent(8 BE)||cookie(8 BE) -> sealed entry */
    MDB_dbi blocks;            /* ino(8 BE)||index(8 BE) -> sealed block */
    MDB_dbi xattrs;            /* ino(8 BE)||namehash(8 BE) -> sealed xattr */
    MDB_dbi orphans;           /* ino(8 BE) -> empty */
    MDB_dbi meta;              /* ascii key -> plain value (next_ino, format) */
    seal_key *key;             /* seals every value of this tenant */
    seal_key *namekey;         /* keys the name hash */
    bool rdonly;

    /* The journal (daemon only).  applied_seq: the last journal entry this
     * tenant's LMDB holds (meta "applied_seq", 8 BE; 0 if absent), loaded
     * at open and updated by every checkpoint.  batch: the writer's open
     * write transaction on this env (writer thread only); batch_open tells
     * other threads that reads must go through the writer (atomic). */
    uint64_t applied_seq;
    uint64_t last_seq;         /* writer only: last entry applied to batch */
    MDB_txn *batch;
    _Atomic bool batch_open;
    /* Its batch failed to commit: its acknowledged ops exist only in the
     * journal, so its reads and writes fail (STORE_EIO) until the next
     * mount replays them (store_writer.c). */
    _Atomic bool lost_batch;

    /* Usage accounting (store_usage.c): what the current write transaction
     * changed so far, in charged bytes and records.  Touched only inside a
     * write transaction on this env, of which there is one at a time
     * (LMDB's writer lock; in the daemon also the writer's mutex). */
    int64_t d_bytes, d_records;

    /* The registry's record of this tenant (owner, group, mode, quotas),
     * loaded when the tenant is opened and kept current by
     * store_tenant_update(); under info_lock. */
    pthread_mutex_t info_lock;
    struct store_tenant_info info;
    bool info_set;             /* attached to a store: info is meaningful */

    /* Removed while the daemon serves the store: every call on the handle
     * fails with STORE_ENOENT; the handle stays allocated (another thread
     * may hold it) until store_close(), but its env is closed as soon as
     * no call is inside it (store_tenant_enter/leave), so the disk space
     * of its deleted files comes back at once. */
    _Atomic bool dead;
    _Atomic unsigned inflight; /* calls using env right now */

    /* A tenant of a snapshot, opened for the view
     * (store_snapshot_tenant_open): the store whose registry says what
     * owner, group and mode its folder shows now; info then holds the
     * manifest's record, for when the tenant is gone.  Not s: the handle
     * is attached to no writer and no open-tenant table.  NULL otherwise. */
    struct store *view_of;
};

/* Around every use of t->env by a caller that is not the remover: enter
 * fails with STORE_ENOENT when t is dead (removed); else t->env stays open
 * until the matching leave.  (Counting first, then looking at `dead`, with
 * the remover doing the opposite, means one of the two sees the other.) */
static inline store_err store_tenant_enter(store_tenant *t)
{
    atomic_fetch_add(&t->inflight, 1);
    if (atomic_load(&t->dead)) {
        atomic_fetch_sub(&t->inflight, 1);
        return STORE_ENOENT;
    }
    return STORE_OK;
}
static inline void store_tenant_leave(store_tenant *t)
{
    atomic_fetch_sub(&t->inflight, 1);
}

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

    /* Serialises store_tenant_update(): each change reads the record,
     * writes it and sets the open tenant's copy as one step, so two
     * changes at once cannot leave the copy older than the registry.
     * Taken before anything else; never while holding s->lock. */
    pthread_mutex_t reg_lock;
    pthread_mutex_t lock;      /* protects the table below */
    struct store_tenant **open;   /* open tenant envs, unordered */
    size_t nopen, capopen;
    /* Handles replaced by an online restore (store_restore.c): out of the
     * table, env closed, dead; other threads may still hold them, so they
     * are freed by store_close().  Under lock. */
    struct store_tenant **replaced;
    size_t nreplaced;
    /* Serialises the daemon's removals and online restores of tenants,
     * each held for the whole of one; taken before reg_lock. */
    pthread_mutex_t tenant_lock;

    struct store_writer *writer;  /* daemon only: the journal's writer */
    seal_key *jkey;               /* daemon only: seals journal entries */

    pthread_t flusher;         /* daemon only: periodic journal flush */
    bool flusher_running;
    bool stats_failing;        /* flusher only: the last stats write failed */
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
static inline void store_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}
static inline uint32_t store_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
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

/* ---- operations (store_op.c, store_exec.c) ---- */
/* A mutating operation: what the journal records and replays.  The public
 * mutators (store_mknod ... store_removexattr) fill one and call
 * store_exec_write().  Pointers (name, newname, data) are borrowed: valid
 * until store_exec_write() returns, or into the journal buffer at replay. */
enum store_op_kind {
    STORE_OP_MKNOD = 1, STORE_OP_LINK, STORE_OP_UNLINK, STORE_OP_RMDIR,
    STORE_OP_RENAME, STORE_OP_RELEASE, STORE_OP_SETATTR, STORE_OP_WRITE,
    STORE_OP_SETXATTR, STORE_OP_REMOVEXATTR,
};
struct store_op {
    enum store_op_kind kind;
    struct timespec now;       /* when it takes effect: set once by
                                  store_exec_write (or the writer), carried
                                  by the journal, reused by replay */
    uint64_t ino, parent, newparent;
    const char *name, *newname;
    size_t namelen, newnamelen;
    uint32_t mode, uid, gid, flags, mask;
    uint64_t off;
    const void *data;          /* write data, symlink target, xattr value */
    size_t len;
    struct store_attr attr;    /* setattr's input */
    /* results, not journalled */
    struct store_attr out;
    uint64_t orphan;
    bool replay;               /* applied by recovery: quotas not enforced
                                  (the op was acknowledged once) */
};
/* Apply `op` to tenant `t` inside write transaction `txn` (the kind's
 * implementation in store_dir.c / store_file.c / store_xattr.c).  On error
 * the caller aborts txn (or the nested txn it made for the op). */
store_err store_op_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
/* The journal payload of an op (layout in store_op.c): size, encode into a
 * buffer of that size, decode (pointers of `op` then point into `buf`). */
size_t store_op_encoded_size(const struct store_op *op);
void store_op_encode(const struct store_op *op, uint8_t *buf);
store_err store_op_decode(const uint8_t *buf, size_t len, struct store_op *op);

/* Run a mutating op on the newest state: in the daemon, through the
 * writer (applied to the tenant's batch, appended to the journal, then
 * acknowledged); otherwise in its own write transaction. */
store_err store_exec_write(store_tenant *t, struct store_op *op);
/* Run a read against the newest acknowledged state: on the writer thread
 * inside the batch when the tenant has one open, else in a read
 * transaction of the calling thread.  fn must not call back into the store
 * API (it may run on the writer thread). */
typedef store_err (*store_read_fn)(store_tenant *t, MDB_txn *txn, void *arg);
store_err store_exec_read(store_tenant *t, store_read_fn fn, void *arg);

/* ---- the writer (store_writer.c) ---- */
/* One thread per daemon applies every mutating op to a per-tenant batch
 * (nested txn per op), appends it to the journal, acknowledges it, and
 * checkpoints batches into LMDB in durable commits.  Starting opens the
 * journal and runs store_recover() before the thread starts. */
store_err store_writer_start(struct store *s);
/* Drain: checkpoint every batch and trim the journal to empty.  NULL-safe. */
void store_writer_stop(struct store *s);
/* Apply, journal and acknowledge `op` (s has a writer: store_exec.c). */
store_err store_writer_submit_write(struct store *s, store_tenant *t,
                                    struct store_op *op);
/* Returns false (and does nothing) when `t` has no open batch: the caller
 * then reads in its own read transaction. */
bool store_writer_submit_read(struct store *s, store_tenant *t,
                              store_read_fn fn, void *arg, store_err *err);
/* fsync: return once every acknowledged op is on disk (group commit). */
store_err store_writer_sync(struct store *s);
/* The same without counting an fsync: the periodic flusher's round.  A
 * failed flush turns the store read-only (store_writer.c). */
store_err store_writer_flush(struct store *s);
/* Replay the journal into LMDB at daemon open (store_recover.c), before the
 * writer starts: idempotent, stops at a torn or invalid tail, logs counts. */
store_err store_recover(struct store *s);
/* The store is in its read-only error state (a journal write or flush, or
 * a checkpoint, failed: docs/journal.md). */
bool store_writer_broken(struct store *s);
/* Used by recovery (store_recover.c) and the flusher (store_open.c). */
struct store_journal *store_writer_journal(struct store *s);
/* Apply op to t's batch (nested txn), appending it to the journal when
 * `append` (false at replay). */
store_err store_writer_apply(struct store *s, store_tenant *t,
                             struct store_op *op, bool append);
/* Commit every open batch durably with its applied_seq, then trim. */
void store_writer_checkpoint(struct store *s);
/* Recovery's figures for the stats; `hold`: trim no further than this
 * (entries of tenants that could not be opened), 0 for none. */
void store_writer_recovered(struct store *s, uint64_t replayed,
                            uint64_t discarded, uint64_t hold);
/* Recovery could not open tenant `id` and kept its journal entries: for
 * the rest of this daemon's life store_tenant_get() refuses it (STORE_EIO),
 * since ops served now would be journalled, and checkpointed with an
 * applied_seq, above entries it never applied (the next recovery would skip
 * those).  Called before the writer thread starts; store_writer_held() is
 * then read-only and thread-safe. */
store_err store_writer_hold_tenant(struct store *s, uint64_t id);
bool store_writer_held(struct store *s, uint64_t id);
void store_writer_set_commit_ms(struct store *s, unsigned ms);
/* Tenant `t` is being removed: from now on its ops fail (STORE_ENOENT);
 * its open batch is checkpointed before this returns, so nothing writes to
 * its env any more.  Any thread but the writer's. */
void store_writer_retire(struct store *s, store_tenant *t);
unsigned store_writer_commit_ms(struct store *s);
/* The daemon's first open of a tenant (store_registry.c): durable commits
 * from now on, orphans of a crashed daemon purged, applied_seq loaded. */
store_err store_recover_tenant_prepare(store_tenant *t);

/* ---- the journal files (store_journal.c; format there) ---- */
typedef struct store_journal store_journal;
/* Open (creating) the folder `dir` (STORE/journal).  Reads no entry yet. */
store_err store_journal_open(const char *dir, const seal_key *key,
                             store_journal **out);
typedef store_err (*store_journal_fn)(uint64_t seq, uint64_t tenant,
                                      const uint8_t *payload, size_t len,
                                      void *arg);
/* Call fn for every valid entry in order; stop at the first torn or invalid
 * one (short, bad length, out-of-sequence, failed authentication), cut the
 * journal there (truncate that segment, remove later ones) and report the
 * bytes discarded.  Appends then continue after the last valid entry.
 * Must be called once after open, before any append. */
store_err store_journal_replay(store_journal *j, store_journal_fn fn,
                               void *arg, uint64_t *replayed,
                               uint64_t *discarded_bytes);
/* Call fn for every entry from seq `from` on, in order, while the journal
 * is in use (after replay): what a checkpoint whose commit failed rebuilds
 * a batch from (store_writer.c).  The appender's thread only, between
 * appends.  Errors: I/O, ENOMEM, a torn entry (STORE_EIO: it was valid
 * when appended), or fn's error. */
store_err store_journal_read(store_journal *j, uint64_t from,
                             store_journal_fn fn, void *arg);
/* Authenticate, without changing anything, every entry of the journal in
 * folder `jdir` (read-only; a daemon may be appending).  `stop_segment`
 * is 0 when every byte is valid; else the segment where reading stopped,
 * `lost_bytes` what a replay would discard from there, and `torn_tail`
 * whether that is only the last append a crash tore (expected, nothing
 * acknowledged is in it) rather than damage. */
struct store_journal_verdict {
    uint64_t segments, entries, next_seq;
    uint64_t stop_segment, lost_bytes;
    bool torn_tail;
};
store_err store_journal_verify(const char *jdir, const seal_key *key,
                               struct store_journal_verdict *v);
/* Append one entry (one write(2): in the page cache when it returns, so it
 * survives the daemon's death; not a power cut).  One appender at a time. */
store_err store_journal_append(store_journal *j, uint64_t tenant,
                               const void *payload, size_t len,
                               uint64_t *seq);
/* Group commit: return once every entry up to `seq` is on disk
 * (fdatasync).  Thread-safe; concurrent callers share one fdatasync. */
store_err store_journal_flush(store_journal *j, uint64_t seq);
/* The last appended seq (0 if none ever). */
uint64_t store_journal_last(store_journal *j);
/* The journal's epoch (random, chosen when it was created; 0 for a journal
 * from before epochs).  Tenants store it with applied_seq (meta
 * "journal_epoch"): positions recorded under another epoch mean nothing
 * in this journal.  Valid after store_journal_replay(). */
uint64_t store_journal_epoch(store_journal *j);
/* Every entry up to `applied` is durable in LMDB: remove the segments that
 * hold nothing later, and start a new segment when the current one is
 * past STORE_JOURNAL_SEGMENT_MAX or wholly applied.  A clean store's journal
 * holds no entry. */
store_err store_journal_trim(store_journal *j, uint64_t applied);
void store_journal_stats_get(store_journal *j, struct store_journal_stats *st);
void store_journal_close(store_journal *j);
/* Walk the segment files of `jdir` without a key (entry framing only, up
 * to the first invalid entry): how many segments, entries and bytes of
 * entries, and the last seq. */
store_err store_journal_scan_dir(const char *jdir, uint64_t *segments,
                                 uint64_t *entries, uint64_t *bytes,
                                 uint64_t *last);
/* Write the figures to STORE/journal/stats atomically (store_jstats.c). */
store_err store_journal_stats_write(const char *dir,
                                    const struct store_journal_stats *st);

/* ---- store_registry.c ---- */
/* The owner, group and mode tenant `id`'s folder has now: the open
 * tenant's copy, or its registry record.  STORE_ENOENT when the tenant is
 * not registered (removed), or its record predates owners in the registry
 * (version 1); STORE_EIO when the record is damaged. */
store_err store_tenant_folder_now(struct store *s, uint64_t id, uint32_t *uid,
                                  uint32_t *gid, uint32_t *mode);

/* ---- store_snapview.c ---- */
/* `info` (tenant info->id as a snapshot's manifest recorded it) as the
 * view shows its folder: store_snapshot_tenant_folder()'s rule. */
void store_view_folder(struct store *s, struct store_tenant_info *info);

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
/* A removed tenant (t->dead, s->lock held, nothing inside it): close its
 * env without syncing (its files are being deleted); the handle stays. */
void store_tenant_env_shut(store_tenant *t);
/* Dead tenant `t` (store_writer_retire): wait until no call is inside it,
 * then close its env (store_tenant_env_shut) under s->lock.  The handle
 * stays in the open table (store_tenant_get answers ENOENT for it). */
void store_tenant_shut(struct store *s, store_tenant *t);
/* Record tenant `t`'s journal position (meta "applied_seq" and
 * "journal_epoch") in write transaction `txn` of its env. */
store_err store_tenant_position_put(store_tenant *t, MDB_txn *txn,
                                    uint64_t seq, uint64_t epoch);
/* Delete the orphans (records unlinked while open) a crashed daemon left.
 * Only the daemon may call this, under the daemon lock: while a daemon
 * serves the store, its orphans are still open files. */
store_err store_tenant_orphans_purge(store_tenant *t);
/* Path of tenant `id`'s folder inside store dir (malloc'd). */
char *store_tenant_path(const char *dir, uint64_t id);

/* fsync a file or a folder (so the names made in it survive a power
 * cut) by its path (store_open.c). */
store_err store_fsync_path(const char *path);
/* Remove a file, or a folder and everything in it (nothing: STORE_OK). */
store_err store_rmtree(const char *path);
/* Take the daemon lock (STORE/daemon.lock, flock) into s->lock_fd:
 * STORE_EBUSY when a daemon (or another tool doing offline work) holds
 * it (store_open.c). */
store_err store_lock_take(struct store *s);

/* ---- the LMDB map of a tenant (store_map.c) ---- */
/* The map to open the env at `path` with: 2 x STORE_MAP_HEADROOM over
 * what its database uses. */
size_t store_map_initial(const char *path);
/* Before beginning a write transaction that may add `extra` bytes beyond
 * what a batch adds (0 for the daemon's batches), holding no map_lock and
 * no transaction on the env: grow the map if it has not that much room
 * over STORE_MAP_HEADROOM.  Waits for the env's read transactions. */
store_err store_map_reserve(store_tenant *t, uint64_t extra);
/* A read transaction that another thread's store_map_reserve() cannot
 * pull the map from under; adopts a map grown by another process. */
store_err store_map_read_begin(store_tenant *t, MDB_txn **txn);
void store_map_read_end(store_tenant *t, MDB_txn *txn);
/* Around a direct-mode write transaction: the same protection. */
void store_map_hold(store_tenant *t);
void store_map_release(store_tenant *t);

/* ---- transactions (store_tenant.c) ---- */
/* Begin a read or write transaction on the tenant's env. */
store_err store_txn_begin(store_tenant *t, bool write, MDB_txn **txn);
/* Commit; on failure the txn is gone and the error translated. */
store_err store_txn_commit(MDB_txn *txn);
/* Finish a write transaction: commit when err is STORE_OK (returning the
 * commit's result), abort and return err otherwise. */
store_err store_txn_end(MDB_txn *txn, store_err err);
/* Set uid, gid and permission bits of the tenant's root folder's `a` from
 * the registry's copy (t->info), when the tenant is attached to a store. */
void store_root_attr_overlay(store_tenant *t, struct store_attr *a);
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
    /* Not stored: the bytes this record was charged when read (or last
     * stored), so that storing it charges only the difference. */
    uint64_t charged;
};
/* Read and open inode `ino`: STORE_ENOENT if absent, STORE_EIO (logged with
 * tenant and inode) if it fails authentication. */
store_err store_inode_get(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          struct store_inode *out);
/* Seal and store inode `ino`. */
store_err store_inode_put(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          struct store_inode *in);
/* Delete inode `ino`, whose record `in` was read in this transaction (its
 * charge and one record leave the tenant's use). */
store_err store_inode_del(store_tenant *t, MDB_txn *txn, uint64_t ino,
                          const struct store_inode *in);
/* Allocate a new inode number (meta "next_ino", monotonic); counts one
 * more record in the tenant's use. */
store_err store_ino_alloc(store_tenant *t, MDB_txn *txn, uint64_t *ino);
void store_inode_to_attr(uint64_t ino, const struct store_inode *in,
                         struct store_attr *a);
/* The bytes a record is charged: what st_blocks counts, in bytes. */
uint64_t store_inode_charge(const struct store_inode *in);

/* ---- usage and quotas (store_usage.c) ---- */
/* The tenant's use as stored in `txn` (meta "usage"; the current write
 * transaction's pending deltas are not included).  A database from before
 * usage was recorded has it computed by walking its inodes. */
store_err store_usage_read(store_tenant *t, MDB_txn *txn,
                           struct store_tenant_usage *u);
/* Write the current transaction's deltas into meta "usage" and clear them.
 * With `enforce`, an increase that takes the use past a quota of the
 * tenant fails with STORE_EDQUOT instead (the caller aborts the txn). */
store_err store_usage_flush(store_tenant *t, MDB_txn *txn, bool enforce);
/* Compute the use by walking the inodes and store it (a database created
 * before usage was recorded; called when such an env is opened writable). */
store_err store_usage_init(store_tenant *t, MDB_txn *txn);

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

/* ---- verifying raw values (for store_check.c) ---- */
/* Each authenticates one value read straight from its table, key and all,
 * as the module's readers do (STORE_EIO, logged, when it fails). */
/* A folder entry: *child and `name` (NUL-terminated) on success. */
store_err store_dirent_verify(const store_tenant *t, const MDB_val *k,
                              const MDB_val *v, uint64_t *child,
                              char name[STORE_NAME_MAX + 1]);
/* A content block of the record `in` (its inode, for the nonce the AD
 * holds); `plain` has room for STORE_BLOCK_SIZE bytes. */
store_err store_block_verify(const store_tenant *t, const MDB_val *k,
                             const MDB_val *v, const struct store_inode *in,
                             uint8_t *plain);
/* An extended attribute. */
store_err store_xattr_verify(const store_tenant *t, const MDB_val *k,
                             const MDB_val *v);

#endif
