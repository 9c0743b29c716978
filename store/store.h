/*
 * store.h - the storage module of tenantfs: the store folder, its key header,
 * the tenant registry, and each tenant's database of inodes, directory
 * entries, content blocks and extended attributes.
 *
 * store/ never knows FUSE.  It knows files, LMDB and (through crypto/seal.h)
 * keys.  fs/ and tools/ use only this header.
 *
 * Store folder layout (details in docs/file-format.md):
 *
 *   STORE/tenantfs.hdr          key header: format, KDF params, wrapped master
 *   STORE/daemon.lock           flock()ed by the one daemon serving the store
 *   STORE/registry/             LMDB env: tenant id -> sealed tenant record,
 *                               keyed name hash -> tenant id
 *   STORE/tenants/<16 hex id>/  one LMDB env per tenant
 *
 * Errors
 * ------
 * Every function returns a store_err.  STORE_OK is 0.  fs/ maps store_err to
 * errno in exactly one table (fs/fs_errno.c); tools print store_strerror().
 *
 * Inode numbers
 * -------------
 * Inode numbers are local to a tenant, 64-bit, never reused within a tenant
 * (a monotonic counter), and below 2^40.  The tenant's root folder is inode
 * STORE_ROOT_INO.  Tenant ids are positive, never reused, and below 2^23.
 *
 * Threads
 * -------
 * A `store` and its `store_tenant`s may be used from many threads at once.
 * Each data operation is one LMDB transaction: reads see a consistent state,
 * and a write either happens entirely or not at all.  Writers are serialised
 * by LMDB's writer lock (which also covers other processes, e.g. tenantctl).
 */
#ifndef TENANTFS_STORE_H
#define TENANTFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define STORE_WUR __attribute__((warn_unused_result))

typedef enum store_err {
    STORE_OK = 0,
    STORE_ENOENT,        /* no such record, folder, tenant or xattr name */
    STORE_EEXIST,        /* name already taken */
    STORE_ENOTDIR,       /* a folder was expected */
    STORE_EISDIR,        /* a non-folder was expected */
    STORE_ENOTEMPTY,     /* folder not empty */
    STORE_EINVAL,        /* invalid argument (bad name, bad flags, ...) */
    STORE_ENAMETOOLONG,  /* name over STORE_NAME_MAX bytes */
    STORE_ENOSPC,        /* disk or database map full */
    STORE_EDQUOT,        /* tenant quota exceeded */
    STORE_ENODATA,       /* no such xattr */
    STORE_ERANGE,        /* caller's buffer too small */
    STORE_E2BIG,         /* xattr value too large */
    STORE_EMLINK,        /* too many links */
    STORE_EFBIG,         /* offset or size beyond STORE_FILE_MAX */
    STORE_EXDEV,         /* crosses tenants */
    STORE_EPERM,         /* operation not permitted */
    STORE_EACCES,        /* permission denied */
    STORE_EROFS,         /* store or view is read-only */
    STORE_ENOTSUP,       /* operation or xattr namespace not supported */
    STORE_ENOMEM,        /* out of memory */
    STORE_EIO,           /* I/O error, or a value failed authentication */
    STORE_EBUSY,         /* store is served by another daemon / in use */
    STORE_EBADKEY,       /* wrong passphrase */
    STORE_ENOTSTORE,     /* folder is not a tenantfs store */
    STORE_EVERSION,      /* store format from a newer/unknown version */
    STORE_EDAMAGED,      /* store header or registry is damaged */
    STORE_ERR_COUNT_
} store_err;

/* A short, human message for an error; never NULL. */
const char *store_strerror(store_err e);

#define STORE_ROOT_INO   1u
#define STORE_NAME_MAX   255u          /* bytes in one name */
#define STORE_XATTR_NAME_MAX 255u
#define STORE_XATTR_SIZE_MAX 65536u   /* bytes in one xattr value */
#define STORE_BLOCK_SIZE 65536u       /* content block size */
#define STORE_FILE_MAX   ((uint64_t)1 << 50)   /* largest file size */
#define STORE_INO_BITS   40u
#define STORE_TENANT_MAX (((uint64_t)1 << 23) - 1)
#define STORE_SYMLINK_MAX 4095u

typedef struct store store;
typedef struct store_tenant store_tenant;

/* Where the store's messages go: a damaged value, a discarded orphan, a
 * recovery.  `priority` is a syslog(3) level (LOG_ERR, LOG_WARNING, LOG_INFO).
 * The default writes "tenantfs: MSG" lines to stderr; the daemon routes them
 * to syslog once detached.  Messages never contain names, content or keys,
 * only tenant ids and inode numbers. */
typedef void (*store_log_fn)(int priority, const char *msg);
void store_set_log(store_log_fn fn);

/* ===================================================================== */
/* Store lifecycle                                                        */
/* ===================================================================== */

/* Create a new, empty store in folder `dir` (created if missing; it must be
 * empty otherwise) protected by the passphrase.  Errors: STORE_EEXIST (dir
 * holds files), STORE_EINVAL (empty passphrase), STORE_EIO. */
store_err store_create(const char *dir, const char *pass, size_t passlen) STORE_WUR;

enum {
    STORE_OPEN_DAEMON = 1u << 0,  /* take the exclusive daemon lock */
    STORE_OPEN_RDONLY = 1u << 1,  /* never write anything */
};

/* Open the store in `dir`: read and check the header, derive the key from the
 * passphrase, unwrap the master key, open the registry.  Tenant databases are
 * opened lazily.  With STORE_OPEN_DAEMON, the daemon lock is taken first.
 * Errors: STORE_ENOTSTORE (no header), STORE_EDAMAGED (header checksum),
 * STORE_EVERSION, STORE_EBADKEY (wrong passphrase), STORE_EBUSY (another
 * daemon holds the lock; the message from store_busy_pid() can name it),
 * STORE_EIO, STORE_ENOMEM. */
store_err store_open(const char *dir, const char *pass, size_t passlen,
                     unsigned flags, store **out) STORE_WUR;

/* When store_open() failed with STORE_EBUSY, the pid of the daemon holding
 * the store (0 if unknown). */
pid_t store_busy_pid(const char *dir);

/* Flush and close everything, wipe keys.  NULL-safe. */
void store_close(store *s);

/* Rewrap the master key under a new passphrase.  Data is not re-encrypted.
 * The header is replaced atomically (write, fsync, rename, fsync folder).
 * Errors: as store_open() for the old passphrase; STORE_EINVAL for an empty
 * new one. */
store_err store_passwd(const char *dir, const char *oldpass, size_t oldlen,
                       const char *newpass, size_t newlen) STORE_WUR;

/* Make everything written so far durable on disk. */
store_err store_sync(store *s);

/* Daemon: how often the journal is flushed to disk when nobody asks
 * (-o commit=MS; 0 restores the default).  An fsync flushes at once. */
store_err store_set_commit_ms(store *s, unsigned ms);

/* What the journal is doing (docs/journal.md).  The daemon writes these
 * figures to STORE/journal/stats every flush interval; tools read them
 * without a key. */
struct store_journal_stats {
    uint64_t appended_seq;     /* last entry appended */
    uint64_t flushed_seq;      /* last entry known on disk */
    uint64_t applied_seq;      /* last entry checkpointed into LMDB */
    uint64_t depth_entries;    /* appended, not yet checkpointed */
    uint64_t depth_bytes;
    uint64_t segments;         /* journal files */
    uint64_t flushes;          /* fdatasyncs of the journal */
    uint64_t flushed_entries;  /* entries those flushes made durable */
    uint64_t max_batch;        /* most entries one flush made durable */
    uint64_t batch_hist[8];    /* flushes making 1, 2-3, 4-7, 8-15, 16-31,
                                  32-63, 64-127, 128+ entries durable */
    uint64_t fsyncs;           /* fsync requests served */
    uint64_t checkpoints;      /* durable LMDB commits of the batches */
    uint64_t replayed;         /* at the last recovery: entries replayed */
    uint64_t discarded_bytes;  /*   and bytes of torn tail discarded */
    uint64_t ops;              /* ops applied (one nested LMDB write
                                  transaction each) */
    uint64_t commits;          /* LMDB write transactions committed (one
                                  per batch per checkpoint) */
    uint64_t sealed_bytes;     /* plaintext bytes encrypted by the daemon */
    uint64_t failed;           /* 0, or the store_err that turned the mount
                                  read-only (docs/journal.md, "When the
                                  disk fails") */
};
/* The daemon's live figures. */
store_err store_journal_stats(store *s, struct store_journal_stats *st) STORE_WUR;
/* Read the figures a daemon last wrote for the store in `dir` (no key
 * needed), with the pid of that daemon, or 0 if none is running (then the
 * figures describe the journal on disk: entries and bytes not yet applied).
 * Errors: STORE_ENOTSTORE, STORE_EIO. */
store_err store_journal_stats_read(const char *dir, struct store_journal_stats *st,
                                   pid_t *daemon) STORE_WUR;

/* The store's folder (as given to store_open). */
const char *store_dir(const store *s);

/* ===================================================================== */
/* Secrets                                                               */
/* ===================================================================== */

/* Read a passphrase: the first line (without its newline) of `passfile`, or,
 * when passfile is NULL and stdin is a terminal, from the terminal with echo
 * off after printing `prompt` to stderr.  The result is in locked memory: free
 * it with store_secret_free().  Errors: STORE_ENOENT (no such file),
 * STORE_EACCES (unreadable), STORE_EINVAL (empty passphrase, or no passfile
 * and no terminal), STORE_EIO. */
store_err store_secret_read(const char *passfile, const char *prompt,
                            char **pass, size_t *len) STORE_WUR;
void store_secret_free(char *pass, size_t len);

/* ===================================================================== */
/* Tenants                                                               */
/* ===================================================================== */

struct store_tenant_info {
    uint64_t id;
    char name[STORE_NAME_MAX + 1];
    uint32_t uid, gid, mode;     /* of the tenant's folder (mode & 07777);
                                    kept in the registry, which is their one
                                    source of truth */
    uint64_t created_sec;
    uint64_t quota_bytes;        /* 0 = unlimited */
    uint64_t quota_records;      /* 0 = unlimited */
};

/* Is `name` acceptable as a tenant name?  Not empty, not "." or "..", no '/',
 * no control characters, at most STORE_NAME_MAX bytes, not starting with '.'
 * (names starting with '.' are reserved for views such as .snapshots).
 * Returns STORE_OK, STORE_EINVAL or STORE_ENAMETOOLONG. */
store_err store_tenant_name_check(const char *name, size_t len);

/* Add a tenant: a registry entry (with the folder's owner, group and mode &
 * 07777, no quota) and a new, empty database.  In the daemon the new tenant
 * is served at once.  Errors: STORE_EEXIST, STORE_EINVAL,
 * STORE_ENAMETOOLONG, STORE_EBUSY (a tool while a daemon serves the store:
 * the daemon does it), STORE_EIO. */
store_err store_tenant_add(store *s, const char *name, uint32_t uid,
                           uint32_t gid, uint32_t mode, uint64_t *id_out) STORE_WUR;

enum {
    /* Remove only when the tenant's folder holds no entry (rmdir). */
    STORE_TENANT_REMOVE_EMPTY = 1u << 0,
};

/* Remove a tenant and all its data.
 *
 * In a tool (not the daemon), refused with STORE_EBUSY while a daemon serves
 * the store: the daemon does it (tenantctl asks it over its admin socket).
 *
 * In the daemon, the tenant may be open: its batch is checkpointed, then
 * every later call on its store_tenant handle fails with STORE_ENOENT
 * (handles stay valid memory until store_close()), it leaves the registry
 * (durably) and its files are deleted.  Whether files of the tenant are
 * still open is the caller's (fs/'s) business, checked before.
 *
 * Errors: STORE_ENOENT, STORE_ENOTEMPTY (with STORE_TENANT_REMOVE_EMPTY),
 * STORE_EBUSY, STORE_EIO. */
store_err store_tenant_remove(store *s, const char *name, unsigned flags) STORE_WUR;

/* Find a tenant by name.  Errors: STORE_ENOENT. */
store_err store_tenant_find(store *s, const char *name, size_t len,
                            struct store_tenant_info *info) STORE_WUR;

/* Call `fn` for every tenant in id order, until it returns non-zero.  A
 * tenant whose registry record is damaged is logged and left out; the
 * others are still listed. */
typedef int (*store_tenant_fn)(const struct store_tenant_info *info, void *arg);
store_err store_tenant_each(store *s, store_tenant_fn fn, void *arg) STORE_WUR;

enum {
    STORE_TENANT_SET_UID           = 1u << 0,
    STORE_TENANT_SET_GID           = 1u << 1,
    STORE_TENANT_SET_MODE          = 1u << 2,   /* mode & 07777 */
    STORE_TENANT_SET_QUOTA_BYTES   = 1u << 3,
    STORE_TENANT_SET_QUOTA_RECORDS = 1u << 4,
};

/* Change the owner, group, mode or quotas (fields of `in` chosen by `mask`)
 * of tenant `id`: in the registry, durably, and in the open tenant's
 * cached copy (store_tenant_info_get), so it applies to the next op.  A
 * quota below the current use is accepted: ops that would add to the use
 * then fail with STORE_EDQUOT, ops that free space still work.
 * Errors: STORE_ENOENT, STORE_EINVAL (mode over 07777), STORE_EBUSY (a
 * tool while a daemon serves the store), STORE_EIO. */
store_err store_tenant_update(store *s, uint64_t id,
                              const struct store_tenant_info *in,
                              unsigned mask) STORE_WUR;

/* The registry information of an open tenant, from memory (cheap enough for
 * every operation): owner, group and mode of its folder, its quotas, name
 * and id.  In the daemon it is current: every change goes through the
 * daemon (store_tenant_update, store_tenant_add). */
void store_tenant_info_get(store_tenant *t, struct store_tenant_info *info);

/* What a tenant uses, as of the newest acknowledged op.  bytes: content
 * held, summed over records as st_blocks counts it (holes count nothing),
 * plus extended attributes (name and value bytes); names in folders are
 * not counted (the record quota bounds them); records: inodes other than
 * the tenant's root folder (files, folders, symlinks, ...), including
 * records unlinked while still open.  These are what quotas limit. */
struct store_tenant_usage {
    uint64_t bytes;
    uint64_t records;
};
store_err store_tenant_usage(store_tenant *t, struct store_tenant_usage *u) STORE_WUR;

/* Number of tenants. */
store_err store_tenant_count(store *s, uint64_t *count) STORE_WUR;

/* Get the open database of tenant `id`, opening it on first use.  The handle
 * stays valid until store_close().  Errors: STORE_ENOENT, STORE_EIO. */
store_err store_tenant_get(store *s, uint64_t id, store_tenant **t) STORE_WUR;

/* The tenant's id. */
uint64_t store_tenant_id(const store_tenant *t);

/* ===================================================================== */
/* Records: inodes, folders, content, xattrs (one tenant)                */
/* ===================================================================== */

struct store_attr {
    uint64_t ino;
    uint32_t mode;               /* S_IFMT type bits | permission bits */
    uint32_t uid, gid;
    uint32_t nlink;
    uint32_t rdev;
    uint64_t size;
    uint64_t blocks;             /* 512-byte units actually stored */
    struct timespec atime, mtime, ctime;
    uint64_t parent;             /* folders: the containing folder (the
                                    tenant root names itself); else 0 */
};

/* Read an inode's attributes.  The tenant's root folder takes its uid, gid
 * and permission bits from the registry (store_tenant_info_get).
 * Errors: STORE_ENOENT, STORE_EIO (damaged). */
store_err store_getattr(store_tenant *t, uint64_t ino, struct store_attr *a) STORE_WUR;

/* Look up `name` (len bytes, no '/', not "." or "..") in folder `parent`.
 * Errors: STORE_ENOENT, STORE_ENOTDIR, STORE_ENAMETOOLONG, STORE_EIO. */
store_err store_lookup(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, struct store_attr *a) STORE_WUR;

/* Create a regular file (S_IFREG), folder (S_IFDIR), fifo or socket
 * (S_IFIFO, S_IFSOCK) named `name` in `parent`, or a symbolic link
 * (S_IFLNK, with `target` of tlen bytes).  Character and block devices are
 * refused with STORE_EPERM.  `mode` carries the type and permission bits.
 * The parent's mtime/ctime (and nlink for folders) are updated.
 * Errors: STORE_EEXIST, STORE_ENOENT (no parent), STORE_ENOTDIR,
 * STORE_ENAMETOOLONG, STORE_EINVAL, STORE_EPERM, STORE_ENOSPC,
 * STORE_EDQUOT (the tenant's record quota is reached), STORE_EIO. */
store_err store_mknod(store_tenant *t, uint64_t parent, const char *name,
                      size_t len, uint32_t mode, uint32_t uid, uint32_t gid,
                      const char *target, size_t tlen,
                      struct store_attr *a) STORE_WUR;

/* Add a hard link `name` in `parent` to existing non-folder `ino`.
 * Errors: STORE_EEXIST, STORE_EPERM (ino is a folder), STORE_EMLINK, ... */
store_err store_link(store_tenant *t, uint64_t ino, uint64_t parent,
                     const char *name, size_t len, struct store_attr *a) STORE_WUR;

/* Remove the non-folder entry `name` from `parent`.  When the inode's link
 * count reaches zero, the inode is moved to the tenant's orphan list instead
 * of being deleted, and *orphan_ino is set to it (else 0); the caller deletes
 * it with store_release() once no open handle uses it.  Orphans left by a
 * crash are deleted by the next store_tenant_get().
 * Errors: STORE_ENOENT, STORE_EISDIR, STORE_ENOTDIR, STORE_EIO. */
store_err store_unlink(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t *orphan_ino) STORE_WUR;

/* Remove the empty folder `name` from `parent`.  Like an unlinked file,
 * the folder's record stays, with no links, on the orphans list, so that
 * descriptors open on it keep working (fstat, fchmod, an empty listing):
 * when `orphan_ino` is given it receives the folder's inode number and the
 * caller calls store_release() once nothing holds the folder open; when it
 * is NULL the folder is released at once.  Rename over a folder (below)
 * leaves the replaced folder an orphan the same way.
 * Errors: STORE_ENOENT, STORE_ENOTDIR, STORE_ENOTEMPTY, STORE_EIO. */
store_err store_rmdir(store_tenant *t, uint64_t parent, const char *name,
                      size_t len, uint64_t *orphan_ino) STORE_WUR;

enum {
    STORE_RENAME_NOREPLACE = 1u << 0,   /* fail with EEXIST if target exists */
    STORE_RENAME_EXCHANGE  = 1u << 1,   /* atomically swap the two names */
};

/* Rename within one tenant, atomically, with POSIX semantics: an existing
 * target is replaced (a folder only by a folder and only when empty; a
 * non-folder only by a non-folder); renaming a folder into its own subtree is
 * STORE_EINVAL; renaming onto a hard link of the same inode does nothing.
 * A replaced inode whose link count reaches zero becomes an orphan as in
 * store_unlink (*orphan_ino; else 0).
 * Errors: STORE_ENOENT, STORE_EEXIST, STORE_ENOTEMPTY, STORE_EISDIR,
 * STORE_ENOTDIR, STORE_EINVAL, STORE_EIO. */
store_err store_rename(store_tenant *t, uint64_t parent, const char *name,
                       size_t len, uint64_t newparent, const char *newname,
                       size_t newlen, unsigned flags,
                       uint64_t *orphan_ino) STORE_WUR;

/* Delete an orphan inode (link count zero) and all its blocks and xattrs.
 * Does nothing when `ino` still has links.  Errors: STORE_EIO. */
store_err store_release(store_tenant *t, uint64_t ino) STORE_WUR;

enum {
    STORE_SET_MODE  = 1u << 0,
    STORE_SET_UID   = 1u << 1,
    STORE_SET_GID   = 1u << 2,
    STORE_SET_SIZE  = 1u << 3,   /* truncate or extend (sparse) */
    STORE_SET_ATIME = 1u << 4,
    STORE_SET_MTIME = 1u << 5,
    STORE_SET_CTIME = 1u << 6,
    /* With STORE_SET_SIZE: only extend.  A size at or below the current one
     * leaves the size and content alone (fallocate), decided inside the one
     * transaction so that a concurrent write past it is never cut off. */
    STORE_SET_SIZE_GROW = 1u << 7,
};

/* Change attributes given by `mask` from `in` (mode: permission bits only;
 * the type never changes).  ctime is set to now unless STORE_SET_CTIME gives
 * it.  Shrinking deletes the blocks beyond the new size and zeroes the tail
 * of the last one, so that a later extension reads zeros.  Result in *out.
 * On the tenant's root folder, mode, uid and gid go to the registry
 * (store_tenant_update) and the rest (times) to the database.
 * Errors: STORE_ENOENT, STORE_EISDIR (size of a folder), STORE_EFBIG,
 * STORE_EIO. */
store_err store_setattr(store_tenant *t, uint64_t ino, const struct store_attr *in,
                        unsigned mask, struct store_attr *out) STORE_WUR;

/* Read up to `size` bytes at `off` into `buf`; *got is the number read (0 at
 * or past end of file).  Holes read as zeros.  Does not change atime.
 * Errors: STORE_ENOENT, STORE_EISDIR, STORE_EIO (a block failed
 * authentication: logged with tenant and inode, nothing returned). */
store_err store_read(store_tenant *t, uint64_t ino, uint64_t off, size_t size,
                     void *buf, size_t *got) STORE_WUR;

/* Write `size` bytes at `off`, extending the file as needed (a gap becomes a
 * hole).  Updates size, mtime and ctime; *out gets the new attributes (may be
 * NULL).  Cost is proportional to the blocks touched.
 * Errors: STORE_ENOENT, STORE_EISDIR, STORE_EFBIG, STORE_ENOSPC,
 * STORE_EDQUOT (the write would take the tenant's use past its byte quota;
 * nothing is written), STORE_EIO. */
store_err store_write(store_tenant *t, uint64_t ino, uint64_t off,
                      const void *buf, size_t size, struct store_attr *out) STORE_WUR;

/* Read a symbolic link's target into buf (not NUL-terminated); *len gets its
 * length.  Errors: STORE_EINVAL (not a symlink), STORE_ERANGE, STORE_EIO. */
store_err store_readlink(store_tenant *t, uint64_t ino, char *buf, size_t size,
                         size_t *len) STORE_WUR;

/* Directory listing.  Entries come in a stable order (by keyed name hash),
 * each with a cookie: a positive 63-bit number, at least 3, unique within
 * the folder, that stays valid while the folder changes.  Listing resumes
 * after the entry whose cookie is `after` (0 = from the start), so an entry
 * that exists for the whole listing is returned exactly once, whatever is
 * added or removed meanwhile.  "." and ".." are not returned.
 * `fn` returns non-zero to stop (e.g. when the caller's buffer is full; that
 * entry is then considered not consumed).  With `want_attr`, `a` holds the
 * entry's attributes; otherwise only a->ino and a->mode's type are set.
 * Errors: STORE_ENOENT, STORE_ENOTDIR, STORE_EIO. */
typedef int (*store_dirent_fn)(const char *name, size_t len,
                               const struct store_attr *a, uint64_t cookie,
                               void *arg);
store_err store_readdir(store_tenant *t, uint64_t dir, uint64_t after,
                        bool want_attr, store_dirent_fn fn, void *arg) STORE_WUR;

/* Extended attributes.  Only the "user." namespace is stored; other names
 * give STORE_ENOTSUP (set) or STORE_ENODATA (get).
 * set flags: XATTR_CREATE / XATTR_REPLACE semantics via these values: */
enum { STORE_XATTR_CREATE = 1, STORE_XATTR_REPLACE = 2 };
/* Errors: STORE_EEXIST (CREATE, exists), STORE_ENODATA (REPLACE, missing),
 * STORE_E2BIG, STORE_ERANGE (name too long), STORE_ENOTSUP, STORE_EDQUOT
 * (past the tenant's byte quota). */
store_err store_setxattr(store_tenant *t, uint64_t ino, const char *name,
                         const void *value, size_t size, int flags) STORE_WUR;
/* With size 0, *len gets the value's length and nothing is copied.
 * Errors: STORE_ENODATA, STORE_ERANGE (buffer too small). */
store_err store_getxattr(store_tenant *t, uint64_t ino, const char *name,
                         void *value, size_t size, size_t *len) STORE_WUR;
/* NUL-separated list of names, as listxattr(2).  With size 0, *len gets the
 * length needed.  Errors: STORE_ERANGE. */
store_err store_listxattr(store_tenant *t, uint64_t ino, char *list,
                          size_t size, size_t *len) STORE_WUR;
/* Errors: STORE_ENODATA. */
store_err store_removexattr(store_tenant *t, uint64_t ino, const char *name) STORE_WUR;

/* Make this tenant's changes durable on disk (fsync). */
store_err store_tenant_sync(store_tenant *t) STORE_WUR;

/* Space figures for statfs: of the filesystem holding the store folder, and
 * the number of inodes in use across open tenants. */
struct store_statfs {
    uint64_t bsize;          /* preferred block size */
    uint64_t blocks, bfree, bavail;  /* in bsize units */
    uint64_t files, ffree;
    uint64_t namemax;
};
store_err store_statfs(store *s, struct store_statfs *st) STORE_WUR;

/* ===================================================================== */
/* Checking                                                               */
/* ===================================================================== */

/* Progress of a long call: told before each tenant is worked on (`what`
 * its name; done of total), and once at the end (what NULL, done ==
 * total).  May be NULL. */
typedef void (*store_progress_fn)(uint64_t done, uint64_t total,
                                  const char *what, void *arg);

/* One problem store_check() found.  tenant_id 0: about the store (the
 * registry, the journal); tenant NULL when the tenant's name is unknown
 * (its registry record is damaged).  ino 0: about the whole tenant; path
 * NULL when the record has no known name.  Valid during the callback. */
struct store_check_issue {
    uint64_t tenant_id;
    const char *tenant;
    uint64_t ino;
    const char *path;          /* inside the tenant, "/a/b" */
    const char *what;          /* "content bytes 0 to 65535 failed ..." */
};
typedef void (*store_check_fn)(const struct store_check_issue *is, void *arg);
struct store_check_totals {
    uint64_t tenants, records;       /* checked */
    uint64_t values, bytes;          /* LMDB values authenticated; bytes
                                        of content among them */
    uint64_t journal_entries;        /* authenticated */
    uint64_t journal_torn;           /* bytes of a torn last append (the
                                        next mount discards them; no
                                        problem) */
    uint64_t issues;                 /* problems reported */
};
/* Authenticate every value of the store: every tenant's registry record,
 * folder entries, records, content and extended attributes, and every
 * journal entry, reporting each problem to `fn` (store_check.c says how).
 * Read-only; works while a daemon serves the store.  Returns STORE_OK
 * once everything that could be read was checked: damage is reported,
 * not returned; STORE_EINVAL for a NULL argument. */
store_err store_check(store *s, store_check_fn fn, store_progress_fn progress,
                      void *arg, struct store_check_totals *tot) STORE_WUR;

/* ===================================================================== */
/* Snapshots (docs/snapshots.md)                                          */
/* ===================================================================== */

#define STORE_SNAPSHOT_NAME_MAX 64
/* A snapshot name: 1 to 64 of [A-Za-z0-9._-], not starting with '.'.
 * STORE_OK, STORE_EINVAL or STORE_ENAMETOOLONG. */
store_err store_snapshot_name_check(const char *name);


struct store_snapshot_tenant {
    struct store_tenant_info info;   /* as registered at the snapshot */
    uint64_t applied_seq;            /* the journal position it holds */
};
struct store_snapshot {
    char name[STORE_SNAPSHOT_NAME_MAX + 1];
    struct timespec created;
    uint64_t bytes;                  /* its files, on disk */
    struct store_snapshot_tenant *tenants;
    size_t ntenants;
};
void store_snapshot_free(struct store_snapshot *snap);

/* Copy the tenants named in `tenants` (all when ntenants is 0) into
 * snapshot `name`, each consistent to the journal position of its last
 * checkpoint: a daemon serving the store must have checkpointed just
 * before (store_checkpoint(), or the admin verb `checkpoint`), a store
 * not served must have an empty journal (the caller checks both).
 * Errors: STORE_EINVAL / STORE_ENAMETOOLONG (the name), STORE_EEXIST,
 * STORE_ENOENT (a tenant not found: its name into `missing`),
 * STORE_ENOSPC, STORE_EIO.  Nothing is left behind on failure. */
store_err store_snapshot_create(store *s, const char *name,
                                const char *const *tenants, size_t ntenants,
                                store_progress_fn progress, void *arg,
                                char *missing, size_t missing_len) STORE_WUR;
/* Every snapshot, oldest first, until fn returns non-zero; one whose
 * manifest fails to open comes with no tenants and created 0. */
typedef int (*store_snapshot_fn)(const struct store_snapshot *snap, void *arg);
store_err store_snapshot_each(store *s, store_snapshot_fn fn, void *arg) STORE_WUR;
/* Errors: STORE_ENOENT. */
store_err store_snapshot_delete(store *s, const char *name) STORE_WUR;
/* Copy snapshot `name` into the new folder `dir` (made; its parent must
 * exist), to move it to other media.  Errors: STORE_ENOENT, STORE_EEXIST
 * (dir exists), STORE_EIO. */
store_err store_snapshot_export(store *s, const char *name,
                                const char *dir) STORE_WUR;
/* Bring back a snapshot exported from this store; its name into
 * `name_out` (STORE_SNAPSHOT_NAME_MAX + 1).  Errors: STORE_EEXIST (a
 * snapshot of that name exists), STORE_EDAMAGED (not an export of this
 * store, or damaged), STORE_EIO. */
store_err store_snapshot_import(store *s, const char *dir,
                                char *name_out) STORE_WUR;
/* store_check() for snapshot `name`: its manifest and every value of
 * every tenant in it.  Errors: STORE_ENOENT. */
store_err store_snapshot_check(store *s, const char *name, store_check_fn fn,
                               store_progress_fn progress, void *arg,
                               struct store_check_totals *tot) STORE_WUR;
/* Replace tenant `tenant`'s content with its copy in snapshot `name`
 * (owner, mode and quotas stay as registered now).  Offline: the store
 * must not be served (the daemon lock is taken for the time of it; the
 * daemon itself uses store_snapshot_restore_live()) and its journal must
 * be empty.  Errors: STORE_ENOENT (no such snapshot, or
 * the tenant is not in it, or not in the store: *what is 's', 't' or
 * 'T'), STORE_EBUSY (served by a daemon: *what 'd'; the journal holds
 * changes no daemon applied: 'j'), STORE_EXDEV (the tenant was removed
 * and made anew since: its data is sealed for the old one), STORE_EIO. */
store_err store_snapshot_restore(store *s, const char *name,
                                 const char *tenant, char *what) STORE_WUR;
/* The same while this process, the daemon (STORE_OPEN_DAEMON), serves the
 * store: the snapshot's copy is made next to the live database while the
 * tenant is served as before; then `hold(arg, id)` is called (when not
 * NULL) and the tenant's ops stop: calls on the handles store_tenant_get()
 * gave out fail (STORE_ENOENT) from then on, as after a removal, and a
 * store_tenant_get() of the tenant fails (STORE_ENOENT) until this returns.
 * The caller keeps its requests for the tenant waiting from `hold` until
 * then, and afterwards gets a new handle (on the restored content when
 * this returned STORE_OK, on the old one otherwise) with store_tenant_get().
 * A crash at any moment leaves the old content or the new one, and the
 * journal's entries made before are never replayed onto the new one.
 * Errors as store_snapshot_restore() (never STORE_EBUSY), STORE_ENOSPC,
 * STORE_EROFS (the store is in its read-only error state: a remount comes
 * first); STORE_EINVAL when this process does not serve the store. */
typedef void (*store_restore_hold_fn)(void *arg, uint64_t id);
store_err store_snapshot_restore_live(store *s, const char *name,
                                      const char *tenant, char *what,
                                      store_restore_hold_fn hold,
                                      void *arg) STORE_WUR;
/* Daemon: commit every open batch now, and return once they are durable
 * (the barrier of a snapshot).  STORE_OK at once without a daemon. */
store_err store_checkpoint(store *s) STORE_WUR;

/* ---- the read-only view of a snapshot (docs/snapshots.md, "The view") -- */

/* Snapshot `name`'s manifest into *snap, as store_snapshot_each() gives
 * it, but for one snapshot and without measuring it (snap->bytes is 0).
 * Free with store_snapshot_free().  Errors: STORE_ENOENT (no such
 * snapshot, or an invalid name), STORE_EIO (its manifest is damaged). */
store_err store_snapshot_get(store *s, const char *name,
                             struct store_snapshot *snap) STORE_WUR;

/* Tenant `st` of a snapshot as the view shows its folder: st->info with
 * the owner, group and mode the live tenant of the same id has now; the
 * manifest's when it was removed (a tenant added again under the name has
 * another id, and lends nothing to the old one's data).  The same as
 * store_tenant_info_get() of its store_snapshot_tenant_open() handle. */
void store_snapshot_tenant_folder(store *s,
                                  const struct store_snapshot_tenant *st,
                                  struct store_tenant_info *out);

/* Open tenant `id` of snapshot `name` read-only, for every reading call
 * of this header (store_getattr, store_lookup, store_readdir, store_read,
 * store_readlink, store_getxattr, store_listxattr, store_tenant_usage,
 * store_tenant_info_get; its folder's owner, group and mode are
 * store_snapshot_tenant_folder()'s); every changing call fails with
 * STORE_EROFS and writes nothing.  The caller's handle (store_tenant_get()
 * never returns it): close it before store_close().  It keeps reading
 * after the snapshot is deleted (the files, and their disk space, stay
 * until it is closed).  Errors: STORE_ENOENT (no such snapshot, or the
 * tenant is not in it), STORE_EIO (damaged), STORE_ENOMEM. */
store_err store_snapshot_tenant_open(store *s, const char *name, uint64_t id,
                                     store_tenant **t) STORE_WUR;
/* NULL-safe. */
void store_snapshot_tenant_close(store_tenant *t);

#endif
