/*
 * store_exec.c - where an operation runs.  Every public mutator of store/
 * builds a struct store_op and hands it to store_exec_write(); every public
 * reader hands a small function to store_exec_read().  This file is the
 * only place that chooses between the two regimes:
 *
 *   daemon (t->s->writer set): mutations go to the writer thread, which
 *     applies them to the tenant's open batch, journals and acknowledges
 *     them (store_writer.c).  A read of a tenant whose batch is open runs on
 *     the writer thread inside that batch, since LMDB transactions belong to
 *     one thread and the batch holds the newest acknowledged state; a read of
 *     any other tenant runs in a read transaction of the caller.
 *
 *   direct (tools, unit tests, a store opened without the daemon): each
 *     mutation is one write transaction of the calling thread, committed
 *     before it returns; each read one read transaction.
 *
 * The time an op takes effect is fixed here once (op->now), so the journal
 * carries it and a replay reproduces the same times.
 */
#include <stdatomic.h>

#include "store_ops.h"

static bool store_exec_has_writer(const store_tenant *t)
{
    return t->s != NULL && t->s->writer != NULL;
}

store_err store_exec_write(store_tenant *t, struct store_op *op)
{
    MDB_txn *txn = NULL;
    store_err err;

    if (op->namelen > UINT32_MAX || op->newnamelen > UINT32_MAX
        || op->len > UINT32_MAX)
        return STORE_EINVAL;       /* not encodable; callers prevent it */
    if ((err = store_tenant_enter(t)) != STORE_OK)
        return err;
    if (op->now.tv_sec == 0 && op->now.tv_nsec == 0)
        store_now(&op->now);
    if (store_exec_has_writer(t)) {
        err = store_writer_submit_write(t->s, t, op);
    } else if ((err = store_map_reserve(t, 2 * (uint64_t)op->len))
               == STORE_OK) {
        store_map_hold(t);
        if ((err = store_txn_begin(t, true, &txn)) == STORE_OK) {
            err = store_op_apply(t, txn, op);
            err = store_txn_end(txn, err);
        }
        store_map_release(t);
    }
    store_tenant_leave(t);
    return err;
}

store_err store_exec_read(store_tenant *t, store_read_fn fn, void *arg)
{
    MDB_txn *txn = NULL;
    store_err err = STORE_OK;

    if ((err = store_tenant_enter(t)) != STORE_OK)
        return err;
    if (store_exec_has_writer(t)
        && store_writer_submit_read(t->s, t, fn, arg, &err))
        goto out;
    err = store_map_read_begin(t, &txn);
    if (err != STORE_OK)
        goto out;
    err = fn(t, txn, arg);
    store_map_read_end(t, txn);
out:
    store_tenant_leave(t);
    return err;
}
