/*
 * fs.h - internal header of the FUSE front end (fs/).  Not a public contract:
 * only the files of fs/ include it.
 *
 * Three kinds of identifiers meet here:
 *
 *   - the FUSE inode number the kernel sees (fuse_ino_t, also st_ino);
 *   - the tenant id, a positive number from the store's registry;
 *   - the tenant-local inode number the store uses (below 2^STORE_INO_BITS).
 *
 * A FUSE inode is (tenant id << STORE_INO_BITS) | local inode, so no table is
 * needed to translate: FUSE_ROOT_ID (1) has tenant id 0, which no tenant uses,
 * and stands for the mount root that lists the tenants.  Lookup counts are not
 * tracked (forget is a no-op); only open files are counted (struct fs_open),
 * so that a record unlinked while open keeps its data until the last close.
 *
 * Permissions: the kernel checks the mode bits (default_permissions) with
 * the attributes it caches, and the daemon checks every request again
 * with the caller's credentials (fs_perm.c): every op naming a tenant
 * inode passes the tenant gate (search permission on the tenant's folder,
 * from the registry), then the op's own check; ops on an open handle, and
 * getattr, listxattr and getxattr (which the kernel also sends for fstat,
 * flistxattr and fgetxattr), skip the gate.  uid 0 passes all.  Names are
 * cached in every folder (the kernel checks search permission on each
 * folder of a walk itself), except a tenant's name at the mount root when
 * not everyone may search the tenant (fs_root_entry: the tenant gate).
 *
 * Lock order: fs_ctx.open_lock is a leaf lock; no store call is made while it
 * is held.  The snapshot view's lock (fs_snapview.c) is taken with no other
 * lock held, and may be held over store calls (the first open of a
 * snapshot's tenant), never over open_lock.
 */
#ifndef TENANTFS_FS_H
#define TENANTFS_FS_H

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"

#define FS_TIMEOUT 1.0          /* entry and attribute cache time, seconds */
#define FS_BLKSIZE 4096         /* st_blksize and a folder's st_size */

struct fs_open;                 /* one open (tenant, inode); fs_inode.c */

struct fs_admin;                /* the admin socket server; fs_admin.c */

struct fs_inval;                /* the invalidation thread; fs_inval.c */

struct fs_snapview;             /* the snapshot view's tables; fs_snapview.c */

/* A tenant being removed while mounted (fs_tenant_remove): new opens of its
 * inodes fail with ENOENT meanwhile.  Lives on the remover's stack. */
struct fs_removing {
    struct fs_removing *next;
    uint64_t tid;
};

/* FUSE request kinds, counted as they are served (fs_requests.c). */
enum fs_req_kind {
    FS_REQ_LOOKUP,
    FS_REQ_FORGET,
    FS_REQ_FORGET_MULTI,
    FS_REQ_GETATTR,
    FS_REQ_SETATTR,
    FS_REQ_READLINK,
    FS_REQ_MKNOD,
    FS_REQ_MKDIR,
    FS_REQ_UNLINK,
    FS_REQ_RMDIR,
    FS_REQ_SYMLINK,
    FS_REQ_RENAME,
    FS_REQ_LINK,
    FS_REQ_OPEN,
    FS_REQ_READ,
    FS_REQ_WRITE,
    FS_REQ_FLUSH,
    FS_REQ_RELEASE,
    FS_REQ_FSYNC,
    FS_REQ_OPENDIR,
    FS_REQ_READDIR,
    FS_REQ_READDIRPLUS,
    FS_REQ_RELEASEDIR,
    FS_REQ_FSYNCDIR,
    FS_REQ_STATFS,
    FS_REQ_SETXATTR,
    FS_REQ_GETXATTR,
    FS_REQ_LISTXATTR,
    FS_REQ_REMOVEXATTR,
    FS_REQ_CREATE,
    FS_REQ_FALLOCATE,
    FS_REQ_COUNT
};

/* The aliases of tenants restored while mounted (fs_alias.c). */
struct fs_alias {
    pthread_mutex_t lock;       /* a leaf lock */
    pthread_cond_t changed;     /* a restore ended */
    _Atomic uint64_t gen;       /* 0 until a restore; +1 at its start and end */
    uint64_t restoring;         /* the tenant id being restored, 0 for none */
    uint64_t *real;             /* alias FS_ALIAS_TID_BASE + i serves real[i] */
    size_t n, cap;
};

struct fs_ctx {
    store *store;               /* set before mounting; then read-only */
    struct fuse_session *se;    /* for cache invalidations (notify_*) */
    struct fs_admin *admin;     /* NULL when not serving the admin socket */
    struct fs_inval *inval;     /* NULL when not started */
    pthread_t main_thread, stopper;     /* fs_stop.c */
    bool stopper_started;
    atomic_bool served;         /* the main thread is out of the loop */
    struct timespec mounted;    /* times of the mount root */
    pthread_mutex_t open_lock;  /* protects open_tab and removing */
    struct fs_open **open_tab;  /* hash buckets, FS_OPEN_BUCKETS of them */
    struct fs_removing *removing;   /* tenants being removed */
    _Atomic uint64_t requests[FS_REQ_COUNT];  /* served, per kind */
    struct fs_snapview *snap;   /* MOUNT/.snapshots; fs_snapview.c */
    struct fs_alias alias;      /* restored tenants' numbers; fs_alias.c */
};

/* ---- the operation table (fs_requests.c) -------------------------------- */

extern const struct fuse_lowlevel_ops fs_ops;
/* A request kind's name ("lookup", "write", ...), NULL past the last. */
const char *fs_req_name(enum fs_req_kind k);
/* How many requests of kind k this daemon served so far. */
uint64_t fs_req_count(struct fs_ctx *c, enum fs_req_kind k);

static inline struct fs_ctx *fs_ctx_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* ---- inode numbers (fs_inode.c) ---------------------------------------- */

static inline uint64_t fs_ino_tenant(fuse_ino_t ino)
{
    return (uint64_t)ino >> STORE_INO_BITS;
}

static inline uint64_t fs_ino_local(fuse_ino_t ino)
{
    return (uint64_t)ino & (((uint64_t)1 << STORE_INO_BITS) - 1);
}

static inline fuse_ino_t fs_ino_make(uint64_t tenant, uint64_t local)
{
    return (fuse_ino_t)((tenant << STORE_INO_BITS) | local);
}

static inline bool fs_ino_is_root(fuse_ino_t ino)
{
    return ino == FUSE_ROOT_ID;
}

/* The snapshot view (fs_snapview.c) lives in numbers no live tenant uses:
 * MOUNT/.snapshots is local FS_SNAPDIR_LOCAL of tenant 0, each
 * .snapshots/NAME local FS_SNAPNAME_BASE + an index of tenant 0 (these
 * "virtual" folders are the daemon's, like the mount root), and the
 * tenants of snapshots get pseudo tenant ids from FS_SNAP_TID_BASE on. */
#define FS_SNAPDIR_NAME   ".snapshots"
#define FS_SNAPDIR_LOCAL  2u
#define FS_SNAPNAME_BASE  ((uint64_t)1 << 20)
#define FS_SNAPNAME_MAX   ((uint64_t)1 << 20)     /* names one mount sees */
#define FS_SNAP_TID_BASE  (STORE_TENANT_MAX + 1)  /* 2^23 */
#define FS_SNAP_TID_COUNT ((uint64_t)1 << 22)
/* Tenants restored while mounted are served under aliases from
 * FS_ALIAS_TID_BASE on (fs_alias.c), the numbers of each earlier
 * incarnation being stale: tenant numbers stay below 2^24. */
#define FS_ALIAS_TID_BASE (FS_SNAP_TID_BASE + FS_SNAP_TID_COUNT)
#define FS_ALIAS_TID_COUNT ((uint64_t)1 << 22)

/* A pseudo tenant id of the snapshot view. */
static inline bool fs_tid_is_snap(uint64_t tid)
{
    return tid >= FS_SNAP_TID_BASE && tid < FS_ALIAS_TID_BASE;
}

/* .snapshots or .snapshots/NAME (any tenant-0 inode but the mount root). */
static inline bool fs_ino_snap_virtual(fuse_ino_t ino)
{
    return fs_ino_tenant(ino) == 0 && ino != FUSE_ROOT_ID;
}

/* Anything under MOUNT/.snapshots, .snapshots itself included: read-only. */
static inline bool fs_ino_in_snapview(fuse_ino_t ino)
{
    return fs_ino_snap_virtual(ino) || fs_tid_is_snap(fs_ino_tenant(ino));
}

/* Resolve a tenant inode, of a live tenant or of a snapshot's: its tenant
 * handle and local inode number.  Returns 0 or an errno (ENOENT for an
 * unknown tenant, EPERM for the mount root and the snapshot view's
 * virtual folders, which are no tenant's). */
int fs_ino_resolve(struct fs_ctx *c, fuse_ino_t ino, store_tenant **t,
                   uint64_t *local);

/* store_attr of tenant `tid` -> struct stat with the FUSE inode number. */
void fs_attr_to_stat(uint64_t tid, const struct store_attr *a, struct stat *st);

/* Fill an entry reply for a tenant inode. */
void fs_attr_to_entry(uint64_t tid, const struct store_attr *a,
                      struct fuse_entry_param *e);

/* Attributes of the mount root: 0755 root:root, nlink 1 (a folder whose
 * subfolders are not counted: the number of tenants is nobody's business,
 * and 1 tells tools such as find(1) not to rely on it). */
int fs_root_stat(struct fs_ctx *c, struct stat *st);

struct fs_cred;

/* Entry of tenant `name` at the mount root, as seen by the caller `cr`: a
 * tenant whose folder the caller may not search is absent (ENOENT).
 * Returns 0 or an errno. */
int fs_root_lookup(struct fs_ctx *c, struct fs_cred *cr, const char *name,
                   struct fuse_entry_param *e);

/* Entry of the folder of tenant `id` (no permission check), for lookups
 * and root listings alike.  Its entry_timeout is 0 unless every user may
 * search it (mode & 0111 == 0111): the kernel's dentry cache is shared by
 * all users (see fs_inode.c).  Returns 0 or an errno. */
int fs_root_entry(struct fs_ctx *c, uint64_t id, struct fuse_entry_param *e);
/* Everyone may search a tenant's folder of mode `mode` only when owner,
 * group and other all may: the owner's bits apply to the owner and the
 * group's to members even where "other" grants more (0701 shuts out the
 * owner's group).  Only such a tenant's name is cached at the mount root. */
static inline bool fs_tenant_searchable_by_all(uint32_t mode)
{
    return (mode & 0111) == 0111;
}

/* ---- listings (fs_dir_ops.c) ------------------------------------------- */

/* A reply buffer being filled by one readdir or readdirplus call. */
struct fs_dirbuf {
    fuse_req_t req;
    char *buf;
    size_t size, used;
    bool plus;
    uint64_t tid;               /* tenant of the listed folder, 0 at root */
};

/* Add one entry whose next offset is `next`; with `counted`, readdirplus
 * hands the kernel an entry it caches for `entry_timeout` seconds (and
 * its attributes for FS_TIMEOUT); else only the name, st->st_ino and the
 * type.  Returns non-zero when full. */
int fs_dirbuf_add(struct fs_dirbuf *d, const char *name, const struct stat *st,
                  bool counted, double entry_timeout, off_t next);

/* ---- the snapshot view (fs_snapview.c) ------------------------------------ */

/* Before serving / after the session ended and before store_close() (it
 * closes every snapshot tenant it opened).  Returns 0 or ENOMEM; free is
 * NULL-safe. */
int fs_snap_init(struct fs_ctx *c);
void fs_snap_free(struct fs_ctx *c);

/* Lookup of `name` in `parent`, which is the mount root (only ".snapshots"
 * is the view's there) or a virtual folder of the view; a snapshot
 * tenant's folder is found here too, as seen by `cr` (absent, ENOENT,
 * when `cr` may not search the live tenant's folder).  Returns 0 or an
 * errno; never a negative entry (snapshots come and go). */
int fs_snap_lookup(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t parent,
                   const char *name, struct fuse_entry_param *e);

/* Attributes of a virtual folder: 0555 root:root.  ENOENT for a snapshot
 * deleted since.  *timeout: how long the kernel may keep them. */
int fs_snap_stat(struct fs_ctx *c, fuse_ino_t ino, struct stat *st,
                 double *timeout);

/* The entries of virtual folder `ino` after offset `after` into `d` (".",
 * ".." are the caller's): the snapshots in .snapshots, the tenants `cr`
 * may see in .snapshots/NAME.  Returns 0 or an errno. */
int fs_snap_list(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                 struct fs_dirbuf *d, off_t after);

/* The read-only handle of pseudo tenant `tid` (fs_tid_is_snap),
 * opened at its first use.  Returns 0 or an errno (ENOENT: unknown, or
 * its snapshot deleted before the first use). */
int fs_snap_resolve(struct fs_ctx *c, uint64_t tid, store_tenant **t);

/* The inode of the folder holding pseudo tenant `tid`'s folder
 * (.snapshots/NAME), for "..". */
fuse_ino_t fs_snap_parent(struct fs_ctx *c, uint64_t tid);

/* ---- tenants as a whole (fs_tenant.c) ------------------------------------ */

/* Add tenant `name` while mounted (mkdir at the mount root by root): owned
 * by uid:gid with mode & 07777.  Fills *e with its folder's entry.
 * Returns 0 or an errno (EEXIST, EINVAL, ENAMETOOLONG, EIO, ...). */
int fs_tenant_add(struct fs_ctx *c, const char *name, uint32_t uid,
                  uint32_t gid, uint32_t mode, struct fuse_entry_param *e);

/* Remove tenant `name` while mounted (rmdir at the mount root by root, or
 * `tenantctl tenant remove` through the admin socket): refused with EBUSY
 * while any file of the tenant is open (and no new open of it succeeds
 * while the removal runs), ENOTEMPTY when `only_empty` and the tenant's
 * folder has entries; then store_tenant_remove().  It does not tell the
 * kernel: inside an rmdir the kernel forgets the name itself (and holds the
 * mount root's lock, so a notification from there would deadlock); any
 * other caller calls fs_tenant_changed() afterwards.
 * Returns 0 or an errno (ENOENT, EBUSY, ENOTEMPTY, EIO, ...). */
int fs_tenant_remove(struct fs_ctx *c, const char *name, bool only_empty);

/* Tenant `id`, named `name`, changed owner, group or mode, was added or
 * was removed: drop the attributes the kernel caches of its folder, and
 * its entry at the mount root with everything cached below it, so the
 * change applies at once (see fs_tenant.c).  Must not be called from a
 * FUSE request handler (the kernel may hold the locks the notifications
 * take): the admin thread calls it. */
void fs_tenant_changed(struct fs_ctx *c, uint64_t id, const char *name);

/* Restore tenant `name` from snapshot `snap` while mounted (the admin
 * socket's `restore`): store_snapshot_restore_live(), the tenant served
 * under a new alias afterwards (fs_alias.c); requests for it wait during
 * the swap, and every inode of its old content is stale (ESTALE) from
 * then on, open files included.  *what as the store's.  Returns 0 or an
 * errno (ENOENT, EXDEV, ENOSPC, EIO, ...).  The admin thread only. */
int fs_tenant_restore(struct fs_ctx *c, const char *snap, const char *name,
                      char *what);

/* ---- tenant numbers across online restores (fs_alias.c) ------------------ */

/* Before serving / after; init returns 0 or ENOMEM. */
int fs_alias_init(struct fs_ctx *c);
void fs_alias_free(struct fs_ctx *c);
/* The FUSE tenant number tenant `id` is served under now (its id until it
 * is restored while mounted); waits while it is being restored. */
uint64_t fs_tid_now(struct fs_ctx *c, uint64_t id);
/* The store handle behind FUSE tenant number `tid` (a live tenant's, not
 * the snapshot view's): 0, ESTALE for a number of an earlier incarnation,
 * or store_tenant_get()'s error.  Waits while the tenant is being restored. */
int fs_tenant_handle(struct fs_ctx *c, uint64_t tid, store_tenant **t);
/* A restore: room for one more alias (0, ENOMEM, or ENOSPC when a mount
 * has used them all); then hold (requests for tenant `id` wait) and
 * release (they go on, the tenant under a new alias). */
int fs_alias_reserve(struct fs_ctx *c);
void fs_alias_hold(struct fs_ctx *c, uint64_t id);
void fs_alias_release(struct fs_ctx *c, uint64_t id);

/* ---- the admin socket (fs_admin.c) ---------------------------------------- */

/* Serve STORE/admin.sock (live `tenantctl` commands; admin/admin.h) on a
 * thread of its own.  Returns 0 or an errno. */
int fs_admin_start(struct fs_ctx *c);
/* Stop serving and remove the socket.  NULL-safe on c->admin. */
void fs_admin_stop(struct fs_ctx *c);

/* ---- an orderly stop (fs_stop.c) ---------------------------------------- */

/* Take SIGTERM, SIGINT and SIGHUP on a thread of their own, which stops the
 * admin and invalidation threads while the session still serves, then ends
 * the session.  From the main thread, which then runs the session loop,
 * after fs_admin_start().  Returns 0 or an errno. */
int fs_stop_start(struct fs_ctx *c);
/* Block those signals in the calling thread: in main before any thread
 * is created, so that every thread inherits the mask. */
void fs_stop_block(void);
/* After the loop ended, before fs_admin_stop() and fs_inval_stop(): end
 * that thread (it may have stopped them already).  Safe if not started. */
void fs_stop_join(struct fs_ctx *c);

/* ---- invalidations off the request threads (fs_inval.c) ----------------- */

/* Start the thread that sends the kernel the invalidations a request
 * handler must not send itself.  After the mount.  Returns 0 or an errno. */
int fs_inval_start(struct fs_ctx *c);
/* Ask (later, from that thread) that the kernel drop the cached pages and
 * attributes of `ino`.  Never blocks; does nothing when not started, when
 * stopping, or when the queue is full.  Safe in a request handler. */
void fs_inval_inode(struct fs_ctx *c, fuse_ino_t ino);
/* Likewise: that the kernel forget name `name` in folder `parent`, and
 * everything it cached below it. */
void fs_inval_entry(struct fs_ctx *c, fuse_ino_t parent, const char *name);
/* Stop and join the thread (while the session still serves, fs_stop.c, or
 * after it stopped; before the unmount); what is still queued is dropped,
 * and later requests are ignored (request threads may still call the
 * functions above).  Idempotent; NULL-safe on c->inval. */
void fs_inval_stop(struct fs_ctx *c);
/* Stop if needed, then free (once no request thread runs: after the
 * session loop ended).  NULL-safe. */
void fs_inval_free(struct fs_ctx *c);

/* ---- the device's reads and writes (fs_io.c) ---------------------------- */

/* Read and write the session's /dev/fuse through fs_io.c, which asks the
 * kernel for FUSE_HANDLE_KILLPRIV_V2 (libfuse 3.14 cannot): no GETXATTR of
 * security.capability before every write(2).  After fuse_session_mount().
 * Returns 0 or a negative errno (libfuse's). */
int fs_io_attach(struct fuse_session *se);
/* The WRITE or OPEN (O_TRUNC) this thread is handling carries the
 * kernel's kill flag (a caller without CAP_FSETID): the handler calls
 * fs_kill_privs() before it changes anything.  (SETATTR's flag reaches
 * fs_op_setattr through libfuse: FUSE_SET_ATTR_KILL_SUID.) */
bool fs_io_kill_privs(void);
/* The attributes of `ino` changed in a way the reply to `req` does not
 * tell the kernel (a write, an open or a fallocate that killed setuid):
 * have it ask again, before its next permission check or exec reads the
 * mode it kept.  Safe in the request's handler, before the reply. */
void fs_attr_changed_behind(fuse_req_t req, fuse_ino_t ino);
/* What a kill flag asks (fs_attr_ops.c), as the kernel's own
 * setattr_should_drop_suidgid: clear setuid of regular file `local` of t
 * (FUSE inode `ino`), and setgid when the group may execute it or the
 * caller of `req` is not in its group; it has no security.capability to
 * remove (only "user." extended attributes are stored).  Returns 0 or an
 * errno. */
int fs_kill_privs(fuse_req_t req, store_tenant *t, fuse_ino_t ino,
                  uint64_t local);

/* ---- open files and orphans (fs_inode.c) -------------------------------- */

int fs_open_ctx_init(struct fs_ctx *c);
void fs_open_ctx_free(struct fs_ctx *c);

/* Count one more open handle of `ino`.  Returns 0, ENOMEM, or ENOENT while
 * its tenant is being removed. */
int fs_open_get(struct fs_ctx *c, fuse_ino_t ino);

/* Count one more open handle of tenant inode `ino` (local `local` of `t`)
 * and make sure that it still exists and will not be deleted under the new
 * handle: an unlink that ran between the kernel's lookup and this count saw
 * no handle and deleted (or is deleting) the inode at once.  Then the count
 * is dropped and ENOENT returned, as if the unlink had come first.
 * `folder`: a folder's handle (opendir), which does not keep its tenant
 * from being removed.  Returns 0, ENOENT, ENOMEM or another errno of the
 * store. */
int fs_open_register(struct fs_ctx *c, store_tenant *t, fuse_ino_t ino,
                     uint64_t local, bool folder);

/* Start removing tenant `tid`: EBUSY when a file of it is open or it is
 * already being removed; else `mark` (the caller's storage) is linked in
 * and fs_open_get()/fs_open_register() fail with ENOENT for the tenant's
 * inodes until fs_open_tenant_unmark(mark).  Returns 0 or EBUSY. */
int fs_open_tenant_mark(struct fs_ctx *c, uint64_t tid,
                        struct fs_removing *mark);
/* The inodes of FUSE tenant number `tid` open now (malloc'd, *n of them;
 * the caller frees).  Returns 0 or ENOMEM. */
int fs_open_tenant_inodes(struct fs_ctx *c, uint64_t tid, fuse_ino_t **out,
                          size_t *n);
void fs_open_tenant_unmark(struct fs_ctx *c, struct fs_removing *mark);

/* A write-back of `ino` was refused by the store (EDQUOT): the refused data
 * is in the kernel's page cache, where readers would find it.  At the last
 * release the kernel is asked to drop the inode's cache (fs_inval_inode):
 * only then is it sure that nothing in that cache waits for an answer of
 * ours (a write-back, a read), which at shutdown would never come. */
void fs_open_refused(struct fs_ctx *c, fuse_ino_t ino);

/* Drop one open handle; at the last one of an orphaned inode, delete it;
 * at the last one of a refused inode, fs_inval_inode() it. */
void fs_open_put(struct fs_ctx *c, store_tenant *t, fuse_ino_t ino);

/* The store made `local` an orphan: delete it now if nothing has it open,
 * else at the last release.  Does nothing for local 0. */
void fs_orphan_note(struct fs_ctx *c, uint64_t tid, store_tenant *t,
                    uint64_t local);

/* ---- the caller and permission checks (fs_perm.c) ----------------------- */

#define FS_CRED_GROUPS 64       /* supplementary groups kept per request */

/* The caller of one request.  Its supplementary groups are read (from
 * /proc, slow) only when a decision depends on them, at most once. */
struct fs_cred {
    fuse_req_t req;
    uid_t uid;
    gid_t gid;
    int ngroups;                /* -1: not read yet; may exceed the array */
    gid_t groups[FS_CRED_GROUPS];
};

/* Bits of `want`, as in the mode's rwx triplets. */
enum { FS_MAY_EXEC = 1, FS_MAY_WRITE = 2, FS_MAY_READ = 4 };

void fs_cred_init(struct fs_cred *cr, fuse_req_t req);

static inline bool fs_cred_is_root(const struct fs_cred *cr)
{
    return cr->uid == 0;
}

/* A change of the names at the mount root (a synthesised 0755 root:root
 * folder) other than mkdir and rmdir of a tenant: EACCES for users, who may
 * not write the folder; EPERM for root, for whom only tenants live there. */
static inline int fs_root_change_err(const struct fs_cred *cr)
{
    return fs_cred_is_root(cr) ? EPERM : EACCES;
}

/* May the caller have `want` on an object of uid:gid and mode?  Owner bits
 * for the owner, group bits for members, other bits for the rest; uid 0
 * may do anything.  Returns 0 or EACCES. */
int fs_perm_mode(struct fs_cred *cr, uint32_t uid, uint32_t gid,
                 uint32_t mode, unsigned want);
int fs_perm_attr(struct fs_cred *cr, const struct store_attr *a,
                 unsigned want);

/* May the caller search (enter) this tenant's folder?  Also: may the caller
 * see its name at the mount root. */
bool fs_perm_tenant_visible(struct fs_cred *cr,
                            const struct store_tenant_info *info);

/* The tenant gate: search permission on t's folder, from the registry's
 * copy in memory.  Returns 0 or EACCES; free for uid 0. */
int fs_perm_tenant(struct fs_cred *cr, store_tenant *t);

/* fs_ino_resolve() followed by the tenant gate.  Returns 0 or an errno
 * (EPERM for the mount root, as fs_ino_resolve). */
int fs_perm_resolve(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                    store_tenant **t, uint64_t *local);

/* fs_ino_resolve() without the tenant gate, for the requests that reach an
 * inode the caller may hold through an open descriptor and that need no
 * permission on it (getattr, listxattr; getxattr, which checks r itself):
 * the kernel cannot tell fstat() from stat(), and a path to the inode went
 * through the (gated) lookup of the tenant's folder anyway.  The tenant's
 * folder itself is ENOENT to a caller who may not see the tenant (a
 * dentry the kernel cached before the tenant was closed must not reveal
 * it).  Returns 0 or an errno (EPERM for the mount root). */
int fs_perm_resolve_held(struct fs_ctx *c, struct fs_cred *cr, fuse_ino_t ino,
                         store_tenant **t, uint64_t *local);

/* `want` on folder `dir` of t, whose attributes land in *a (one
 * store_getattr, also for uid 0, who passes).  Returns 0, EACCES, ENOTDIR
 * or a store errno. */
int fs_perm_dir_attr(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                     unsigned want, struct store_attr *a);

/* Search (x) on folder `dir` of t, for a lookup in it.  The tenant's
 * folder costs no store read (the gate checked search); other folders one
 * store_getattr.  Returns 0, EACCES, ENOTDIR or a store errno. */
int fs_perm_lookup_dir(struct fs_cred *cr, store_tenant *t, uint64_t dir);

/* The sticky-bit rule: in a folder with S_ISVTX only the folder's owner,
 * the victim's owner or root removes or renames the victim.  0 or EPERM. */
int fs_perm_sticky(struct fs_cred *cr, const struct store_attr *dir,
                   const struct store_attr *victim);

/* May the caller remove `name` from folder `dir` (unlink, rmdir, the source
 * of a rename): w+x on the folder, then the sticky rule; with `dir_moves`
 * (a rename to another folder) also w on the victim when it is a folder.
 * Returns 0, EACCES, EPERM or a store errno. */
int fs_perm_remove(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                   const char *name, bool dir_moves);

/* rename(dir/name -> newdir/newname): fs_perm_remove on the source (and on
 * the target with `exchange`), w+x on newdir, the sticky rule on a target
 * that gets replaced.  Returns 0, EACCES, EPERM or a store errno. */
int fs_perm_rename(struct fs_cred *cr, store_tenant *t, uint64_t dir,
                   const char *name, uint64_t newdir, const char *newname,
                   bool exchange);

/* The source of a hard link, as the kernel's fs.protected_hardlinks has it
 * (may_linkat): its owner (or root) links anything; anyone else only a
 * regular file that is neither setuid nor setgid-executable and that they
 * may read and write.  Only while /proc/sys/fs/protected_hardlinks is 1
 * (read when a non-owner links).  Returns 0, EPERM or a store errno. */
int fs_perm_link_source(struct fs_cred *cr, store_tenant *t, uint64_t local);

/* __FMODE_EXEC: the kernel's mark, in the open flags, of an open for
 * execve() or uselib() (include/linux/fs.h; not in the C library's
 * headers).  FUSE passes it through in fi->flags. */
#define FS_O_EXEC 040

/* open(2) flags against a's mode: r for O_RDONLY, w for O_WRONLY, r+w for
 * O_RDWR, w for O_TRUNC; x (instead of r) for an open for execution
 * (FS_O_EXEC).  Returns 0 or EACCES. */
int fs_perm_open(struct fs_cred *cr, const struct store_attr *a, int flags);

/* The mode of `a` once a change by cr killed its privileges, as the
 * kernel's setattr_should_drop_suidgid and chown_common: no setuid, and no
 * setgid when the group may execute it or cr is not in its group (nor,
 * with `root_capable`, uid 0, taken to hold CAP_FSETID).  A write or a
 * truncation kills only when the kernel says cr lacks CAP_FSETID (its kill
 * flag; root_capable false: uid 0 without it is not exempted), a chown
 * and a fallocate always (root_capable true: the request does not say). */
uint32_t fs_perm_killed_mode(struct fs_cred *cr, const struct store_attr *a,
                             bool root_capable);

/* A setattr of `to_set` (FUSE_SET_ATTR_*) from `attr` on an object whose
 * attributes are `cur`; `has_fh` when it came through an open handle.
 * mode: owner (or a writer only clearing setuid/setgid, as the kernel does
 * on write); uid: nobody but root; gid: the owner, to one of its groups;
 * size: w, or a handle; times: see fs_perm.c.  May clear S_ISGID in
 * attr->st_mode as chmod(2) does.  Returns 0, EPERM or EACCES. */
int fs_perm_setattr(struct fs_cred *cr, const struct store_attr *cur,
                    struct stat *attr, int to_set, bool has_fh);

/* Extended attribute `name` of `local`: r (get) or w (set, remove) on
 * "user." names, the namespace the store keeps; other names are left to
 * the store, as the kernel leaves security.* and system.* to filesystems.
 * Returns 0, EACCES, EPERM, ENODATA or a store errno. */
int fs_perm_xattr(struct fs_cred *cr, store_tenant *t, uint64_t local,
                  const char *name, unsigned want);

/* ---- errors (fs_errno.c) ------------------------------------------------ */

/* The one mapping of store_err to errno. */
int fs_errno(store_err e);

/* Reply with the errno of `e` (which may be STORE_OK: then 0). */
void fs_reply_store_err(fuse_req_t req, store_err e);

/* ---- ops (fs_dir_ops.c, fs_file_ops.c, fs_attr_ops.c) -------------------- */

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode, dev_t rdev);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                   const char *name);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                  fuse_ino_t newparent, const char *newname, unsigned flags);
void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                const char *newname);
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi);
void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                    struct fuse_file_info *fi);

/* Create any kind of node; shared by mknod, mkdir, symlink and create.
 * Returns 0 and fills *e, or an errno. */
int fs_node_make(fuse_req_t req, fuse_ino_t parent, const char *name,
                 mode_t mode, const char *target, struct fuse_entry_param *e);

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                  mode_t mode, struct fuse_file_info *fi);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi);
void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
                 off_t off, struct fuse_file_info *fi);
void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
                 struct fuse_file_info *fi);
void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
                     off_t length, struct fuse_file_info *fi);

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                   int to_set, struct fuse_file_info *fi);
void fs_op_statfs(fuse_req_t req, fuse_ino_t ino);
void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    const char *value, size_t size, int flags);
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                    size_t size);
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
