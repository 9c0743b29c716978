/*
 * store_writer_api.c - what the rest of store/ asks of the daemon's writer
 * (store_internal.h): submitting writes and reads, fsync and the periodic
 * flush, retiring a removed tenant, recovery's bookkeeping, the commit
 * interval and the live figures.  The writer itself (batches, checkpoint,
 * its thread) is store_writer.c.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store_writer_int.h"

/* Take w->mu to use batches, letting a due checkpoint go first. */
void wr_enter(struct store_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->running && !w->stopping && !wr_broken(w) &&
           (atomic_load(&w->ckpt_wanted) ||
            w->bytes_since >= STORE_CHECKPOINT_BYTES)) {
        atomic_store(&w->ckpt_wanted, true);
        pthread_cond_signal(&w->work);
        pthread_cond_wait(&w->begun, &w->mu);
    }
}

store_err store_writer_submit_write(struct store *s, store_tenant *t,
                                    struct store_op *op)
{
    struct store_writer *w = s->writer;
    store_err err;

    wr_enter(w);
    err = w->stopping ? STORE_EIO : store_writer_apply(s, t, op, true);
    if (w->bytes_since >= STORE_CHECKPOINT_BYTES)
        pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return err;
}

bool store_writer_submit_read(struct store *s, store_tenant *t,
                              store_read_fn fn, void *arg, store_err *err)
{
    struct store_writer *w = s ? s->writer : NULL;

    if (w && atomic_load(&t->lost_batch)) {
        *err = STORE_EIO;          /* its newest state is in the journal */
        return true;
    }
    if (!w || !atomic_load(&t->batch_open))
        return false;
    pthread_mutex_lock(&w->mu);
    if (!t->batch) {
        /* checkpointed meanwhile: committed state is the newest */
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    *err = fn(t, t->batch, arg);
    pthread_mutex_unlock(&w->mu);
    return true;
}

store_err store_writer_flush(struct store *s)
{
    struct store_writer *w = s ? s->writer : NULL;
    store_err err;

    if (!w)
        return STORE_OK;
    err = store_journal_flush(w->j, store_journal_last(w->j));
    if (err != STORE_OK)
        wr_break(w, err, "journal: an fdatasync");
    return err;
}

store_err store_writer_sync(struct store *s)
{
    struct store_writer *w = s ? s->writer : NULL;

    if (!w)
        return STORE_OK;
    atomic_fetch_add(&w->fsyncs, 1);
    return store_writer_flush(s);
}

void store_writer_retire(struct store *s, store_tenant *t)
{
    struct store_writer *w = s ? s->writer : NULL;

    if (!w || !w->running) {
        atomic_store(&t->dead, true);
        return;
    }
    pthread_mutex_lock(&w->mu);
    /* Under mu: no op of t is in flight, and none starts after this. */
    atomic_store(&t->dead, true);
    /* Batches are the writer thread's to commit: ask for a checkpoint and
     * wait until t's batch is gone (committed, or failed and logged). */
    while (t->batch && !w->stopping) {
        atomic_store(&w->ckpt_wanted, true);
        pthread_cond_signal(&w->work);
        pthread_cond_wait(&w->begun, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
}

bool store_writer_broken(struct store *s)
{
    return s != NULL && s->writer != NULL && wr_broken(s->writer);
}

store_journal *store_writer_journal(struct store *s)
{
    return s && s->writer ? s->writer->j : NULL;
}

void store_writer_recovered(struct store *s, uint64_t replayed,
                            uint64_t discarded, uint64_t hold)
{
    struct store_writer *w = s->writer;

    atomic_store(&w->replayed, replayed);
    atomic_store(&w->discarded, discarded);
    if (hold < w->hold)
        w->hold = hold;
}

store_err store_writer_hold_tenant(struct store *s, uint64_t id)
{
    struct store_writer *w = s->writer;
    uint64_t *p;

    if (store_writer_held(s, id))
        return STORE_OK;
    p = realloc(w->held, (w->nheld + 1) * sizeof *p);
    if (!p)
        return STORE_ENOMEM;
    w->held = p;
    w->held[w->nheld++] = id;
    return STORE_OK;
}

bool store_writer_held(struct store *s, uint64_t id)
{
    struct store_writer *w = s ? s->writer : NULL;

    for (size_t i = 0; w && i < w->nheld; i++)
        if (w->held[i] == id)
            return true;
    return false;
}

void store_writer_set_commit_ms(struct store *s, unsigned ms)
{
    if (s && s->writer)
        atomic_store(&s->writer->commit_ms, ms ? ms : STORE_COMMIT_MS_DEFAULT);
}

unsigned store_writer_commit_ms(struct store *s)
{
    return s && s->writer ? atomic_load(&s->writer->commit_ms)
                          : STORE_COMMIT_MS_DEFAULT;
}

store_err store_journal_stats(store *s, struct store_journal_stats *st)
{
    struct store_writer *w = s ? s->writer : NULL;

    memset(st, 0, sizeof *st);
    if (!w)
        return STORE_EINVAL;
    store_journal_stats_get(w->j, st);
    st->fsyncs = atomic_load(&w->fsyncs);
    st->checkpoints = atomic_load(&w->checkpoints);
    st->replayed = atomic_load(&w->replayed);
    st->discarded_bytes = atomic_load(&w->discarded);
    st->failed = (uint64_t)atomic_load(&w->broken);
    st->ops = atomic_load(&w->ops);
    st->commits = atomic_load(&w->commits);
    st->sealed_bytes = seal_sealed_bytes();
    if (st->applied_seq == 0)
        st->applied_seq = atomic_load(&w->applied_pub);
    return STORE_OK;
}

store_err store_checkpoint(store *s)
{
    struct store_writer *w = s ? s->writer : NULL;
    store_err err = STORE_OK;
    uint64_t target;

    if (!w || !w->running)
        return STORE_OK;
    pthread_mutex_lock(&w->mu);
    /* One checkpoint that begins after this call, unless nothing is open. */
    target = atomic_load(&w->checkpoints) + 1;
    while (w->nbatched > 0 && atomic_load(&w->checkpoints) < target &&
           !w->stopping && !wr_broken(w)) {
        atomic_store(&w->ckpt_wanted, true);
        pthread_cond_signal(&w->work);
        pthread_cond_wait(&w->begun, &w->mu);
    }
    if (wr_broken(w))
        err = STORE_EROFS;
    else if (w->nospace)
        err = STORE_ENOSPC;
    else if (w->stopping)
        err = STORE_EIO;
    pthread_mutex_unlock(&w->mu);
    return err;
}
