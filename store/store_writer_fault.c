/*
 * store_writer_fault.c - the writer when the disk fails or fills up
 * (docs/journal.md, "When the disk fails", "A full disk"): turning the
 * store read-only, abandoning batches, telling a full disk from a failing
 * one, and rebuilding a batch from the journal after a commit that found
 * no room.  Used by store_writer.c under w->mu (the writer's thread for
 * everything that touches a batch).
 */
#include <stdatomic.h>
#include <sys/statvfs.h>
#include <time.h>

#include "store_writer_int.h"

/* Turn the store read-only after `what` failed with `why` (once; later
 * failures are consequences and only the first is logged). */
void wr_break(struct store_writer *w, store_err why, const char *what)
{
    int none = 0;

    if (why == STORE_OK)
        why = STORE_EIO;
    if (atomic_compare_exchange_strong(&w->broken, &none, (int)why))
        store_log(LOG_CRIT, "%s failed: %s; the store is read-only from now "
                  "on (every change fails with EROFS) until it is mounted "
                  "again, and that mount replays the journal", what,
                  store_strerror(why));
}

/* Does a failed append mean the journal's disk is failing?  A full disk
 * (or an op too big) is the op's own error, and the store goes on. */
bool wr_append_breaks(store_err err)
{
    return err != STORE_ENOSPC && err != STORE_EDQUOT &&
           err != STORE_ENOMEM && err != STORE_EINVAL && err != STORE_EFBIG;
}

/* Ops refused while the disk is full: those that store more. */
bool wr_op_needs_room(const struct store_op *op)
{
    switch (op->kind) {
    case STORE_OP_MKNOD:
    case STORE_OP_LINK:
    case STORE_OP_WRITE:
    case STORE_OP_SETXATTR:
        return true;
    case STORE_OP_SETATTR:
        return (op->mask & STORE_SET_SIZE) != 0;
    default:
        return false;
    }
}


/* Abort every open batch (writer thread; `dead_only`: only those of
 * removed tenants, which store_writer_retire waits for).  Used once the
 * store is read-only: what they hold stays in the journal. */
void wr_abandon(struct store_writer *w, bool dead_only)
{
    size_t kept = 0;

    for (size_t i = 0; i < w->nbatched; i++) {
        store_tenant *t = w->batched[i];
        if (dead_only && !atomic_load(&t->dead)) {
            w->batched[kept++] = t;
            continue;
        }
        atomic_store(&t->batch_open, false);
        mdb_txn_abort(t->batch);
        t->batch = NULL;
    }
    if (!dead_only && w->nbatched > 0)
        store_log(LOG_NOTICE, "journal: the changes of %zu tenants stay in the "
                  "journal for the next mount", w->nbatched);
    w->nbatched = kept;
}

/* Below this much free space a commit that failed is a full disk (LMDB
 * reports a short write as EIO). */
#define WR_FULL_BYTES ((uint64_t)4 << 20)

bool wr_disk_full(struct store_writer *w, store_err err)
{
    struct statvfs sv;

    if (err == STORE_ENOSPC || err == STORE_EDQUOT)
        return true;
    return err == STORE_EIO && statvfs(w->s->dir, &sv) == 0 &&
           (uint64_t)sv.f_bavail * sv.f_frsize < WR_FULL_BYTES;
}

struct wr_rebuild {
    struct store_writer *w;
    store_tenant *t;
};

static store_err wr_rebuild_entry(uint64_t seq, uint64_t tenant,
                                  const uint8_t *payload, size_t len, void *arg)
{
    struct wr_rebuild *r = arg;
    struct store_op op = { 0 };
    store_err err;

    if (tenant != r->t->id || seq <= r->t->applied_seq)
        return STORE_OK;
    err = store_op_decode(payload, len, &op);
    if (err == STORE_OK)
        err = store_writer_apply(r->w->s, r->t, &op, false);
    return err;
}

/* t's commit failed (its txn is gone): begin a new batch and apply to it,
 * again, every journalled op of t since its last checkpoint. */
store_err wr_rebuild(struct store_writer *w, store_tenant *t)
{
    struct wr_rebuild r = { w, t };
    store_err err;

    t->batch = NULL;
    if ((err = wr_batch_txn_begin(t)) != STORE_OK)
        return err;
    err = store_journal_read(w->j, t->applied_seq + 1, wr_rebuild_entry, &r);
    if (err != STORE_OK) {
        mdb_txn_abort(t->batch);
        t->batch = NULL;
    }
    return err;
}
