/*
 * store_ops.h - private to store/: the apply function of every mutating
 * operation kind (struct store_op in store_internal.h), called only by
 * store_op_apply() in store_op.c.
 *
 * Each runs inside the caller's write transaction `txn` (in the daemon a
 * nested txn of the writer's batch) and never begins, commits or aborts a
 * transaction itself: on error the caller aborts.  Each is deterministic
 * given the same state and the op: the time it records is op->now, never
 * the clock.  Results go to op->out and op->orphan.  Every argument is
 * checked again here, since a replayed op comes from the journal.
 */
#ifndef TENANTFS_STORE_OPS_H
#define TENANTFS_STORE_OPS_H

#include "store_internal.h"

/* The most data one op carries: store_write() cuts larger writes into ops
 * of at most this many bytes (each applied atomically on its own). */
#define STORE_OP_DATA_MAX ((size_t)8 << 20)

/* store_dir.c */
store_err store_mknod_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_link_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_unlink_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_rmdir_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_rename_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_release_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);

/* store_file.c */
store_err store_setattr_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_write_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);

/* store_xattr.c */
store_err store_setxattr_apply(store_tenant *t, MDB_txn *txn, struct store_op *op);
store_err store_removexattr_apply(store_tenant *t, MDB_txn *txn,
                                  struct store_op *op);

#endif
