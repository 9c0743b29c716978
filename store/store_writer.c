/*
 * store_writer.c - the daemon's writer: the one thread that changes tenant
 * databases while a daemon serves the store, and the owner of its journal.
 * (Failing and full disks: store_writer_fault.c; the calls of the rest of
 * store/: store_writer_api.c; what they share: store_writer_int.h.)
 *
 * Ops run on the calling (FUSE) thread, one at a time under w->mu: a write
 * applies its op to the tenant's open batch (one long LMDB write
 * transaction per tenant) inside a nested transaction, appends the encoded
 * op to the journal, and only then commits the nested transaction and
 * returns (acknowledges).  A failed op (or a failed append) aborts its
 * nested transaction only.  A read of a tenant with an open batch runs
 * inside the batch under w->mu, so it sees every acknowledged op; a tenant
 * without a batch is read by the caller in its own read transaction.
 *
 * LMDB ties a top-level write transaction to the thread that began it (it
 * holds the env's writer mutex until commit), so batches are begun and
 * committed by the writer thread only: a caller that needs a batch asks
 * for it and waits (once per tenant per checkpoint).  Nested transactions
 * take no mutex and may be used by whichever thread holds w->mu.
 *
 * A checkpoint commits every open batch, each recording the last journal
 * seq it holds as meta "applied_seq" in the same commit, then trims the
 * journal.  It runs when the oldest batch is STORE_CHECKPOINT_MS old, when
 * STORE_CHECKPOINT_BYTES were appended since the last one (jobs queue up
 * meanwhile: that is the backpressure bounding batch memory and replay
 * length), and at stop.  If a batch fails to commit, the journal is never
 * trimmed past that tenant's applied position while this daemon lives, so
 * the next recovery redoes its ops; until then the tenant's writes fail
 * with STORE_EIO (they would be journalled on a state recovery does not
 * reproduce).
 *
 * When the disk fails (docs/journal.md): the first journal write, rotation
 * or fdatasync that fails with anything but a full disk, or a checkpoint
 * commit that fails, turns the store read-only for the rest of the
 * daemon's life (w->broken): every op fails with STORE_EROFS, nothing is
 * committed or trimmed any more, the open batches stay readable (so reads
 * still see every acknowledged op), and at stop they are abandoned, not
 * committed: the next mount replays the journal.  A tenant whose batch
 * failed to commit has lost_batch set: its reads and writes fail
 * (STORE_EIO), since its acknowledged ops now exist only in the journal.
 * A commit that failed because the disk is full is not a failing disk:
 * the tenant's batch is rebuilt from the journal (store_journal_read),
 * kept for the next checkpoint, and until a checkpoint commits again ops
 * that need room fail with STORE_ENOSPC (w->nospace).
 *
 * Ownership: t->batch, t->last_seq and the batch bookkeeping of struct
 * store_writer are used under w->mu (or by store_recover() before the
 * thread starts, alone).  The writer never takes s->lock; callers never
 * hold it while waiting.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_writer_int.h"

static const char wr_applied_key[] = "applied_seq";
static const char wr_epoch_key[] = "journal_epoch";

/* ===================================================================== */
/* Batches (writer thread only)                                           */
/* ===================================================================== */

/* Begin t->batch, the map first given room for what a batch adds (writer
 * thread, or recovery before it starts; t->batch NULL on failure). */
store_err wr_batch_txn_begin(store_tenant *t)
{
    store_err err = store_map_reserve(t, 0);

    if (err == STORE_OK)
        err = store_from_mdb(mdb_txn_begin(t->env, NULL, 0, &t->batch));
    if (err != STORE_OK)
        t->batch = NULL;
    return err;
}

static store_err wr_batch_begin(struct store_writer *w, store_tenant *t)
{
    store_err err;

    if (t->batch)
        return STORE_OK;
    if (w->nbatched == w->capbatched) {
        size_t cap = w->capbatched ? w->capbatched * 2 : 8;
        store_tenant **p = realloc(w->batched, cap * sizeof *p);
        if (!p)
            return STORE_ENOMEM;
        w->batched = p;
        w->capbatched = cap;
    }
    if ((err = wr_batch_txn_begin(t)) != STORE_OK)
        return err;
    if (w->nbatched == 0)
        clock_gettime(CLOCK_MONOTONIC, &w->oldest);
    w->batched[w->nbatched++] = t;
    /* Under mu: a reader that finds it false reads committed state. */
    atomic_store(&t->batch_open, true);
    return STORE_OK;
}

/* Make sure t has a batch (w->mu held, or recovery before the thread
 * starts, which then begins it itself). */
static store_err wr_batch_need(struct store_writer *w, store_tenant *t)
{
    struct wr_begin rq = { .t = t };

    if (t->batch)
        return STORE_OK;
    if (!w->running)
        return wr_batch_begin(w, t);
    rq.next = w->requests;
    w->requests = &rq;
    pthread_cond_signal(&w->work);
    while (!rq.done)
        pthread_cond_wait(&w->begun, &w->mu);
    return rq.err;
}

/* Make room for an encoded op in the writer's buffer. */
static store_err wr_buf_reserve(struct store_writer *w, size_t n)
{
    if (n <= w->bufcap)
        return STORE_OK;
    size_t cap = w->bufcap ? w->bufcap : 4096;
    while (cap < n)
        cap *= 2;
    uint8_t *p = realloc(w->buf, cap);
    if (!p)
        return STORE_ENOMEM;
    w->buf = p;
    w->bufcap = cap;
    return STORE_OK;
}

store_err store_writer_apply(struct store *s, store_tenant *t,
                             struct store_op *op, bool append)
{
    struct store_writer *w = s->writer;
    MDB_txn *child = NULL;
    uint64_t seq = 0;
    size_t len;
    store_err err;

    if (atomic_load(&t->dead))
        return STORE_ENOENT;       /* removed (store_writer_retire) */
    if (append && wr_broken(w))
        return STORE_EROFS;
    if (append && w->nospace && wr_op_needs_room(op))
        return STORE_ENOSPC;
    if (atomic_load(&t->lost_batch))
        return STORE_EIO;
    if ((err = wr_batch_need(w, t)) != STORE_OK)
        return err;
    /* Waiting for the batch let go of w->mu: the tenant may have been
     * retired meanwhile (its batch is then checkpointed or refused). */
    if (atomic_load(&t->dead))
        return STORE_ENOENT;
    if (op->now.tv_sec == 0 && op->now.tv_nsec == 0)
        store_now(&op->now);
    op->replay = !append;
    err = store_from_mdb(mdb_txn_begin(t->env, t->batch, 0, &child));
    if (err != STORE_OK)
        return err;
    if ((err = store_op_apply(t, child, op)) != STORE_OK)
        goto out;
    if (append) {
        len = store_op_encoded_size(op);
        if ((err = wr_buf_reserve(w, len)) != STORE_OK)
            goto out;
        store_op_encode(op, w->buf);
        err = store_journal_append(w->j, t->id, w->buf, len, &seq);
        if (err != STORE_OK) {
            if (wr_append_breaks(err))
                wr_break(w, err, "journal: an append");
            goto out;
        }
        w->bytes_since += len;
        t->last_seq = seq;
    }
    err = store_from_mdb(mdb_txn_commit(child));
    child = NULL;
    if (err == STORE_OK && append)
        atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
    if (err != STORE_OK && append)
        /* The journal holds an op the batch lacks: the next recovery
         * applies it.  Rare (memory); reported, not hidden. */
        store_log(LOG_ERR, "tenant %llu: op journalled as %llu but not "
                  "applied: %s", (unsigned long long)t->id,
                  (unsigned long long)seq, store_strerror(err));
out:
    if (child)
        mdb_txn_abort(child);
    return err;
}

store_err store_tenant_position_put(store_tenant *t, MDB_txn *txn,
                                    uint64_t seq, uint64_t epoch)
{
    uint8_t v[8], e[8];
    MDB_val k = { sizeof wr_applied_key - 1, (void *)wr_applied_key };
    MDB_val ek = { sizeof wr_epoch_key - 1, (void *)wr_epoch_key };
    MDB_val val = { sizeof v, v }, ev = { sizeof e, e };
    store_err err;

    store_put_be64(v, seq);
    store_put_be64(e, epoch);
    err = store_from_mdb(mdb_put(txn, t->meta, &k, &val, 0));
    if (err == STORE_OK)
        err = store_from_mdb(mdb_put(txn, t->meta, &ek, &ev, 0));
    return err;
}

/* Commit `t`'s batch with its applied position; durable on return. */
static store_err wr_batch_commit(store_tenant *t)
{
    unsigned flags = 0;
    store_err err;

    err = store_tenant_position_put(t, t->batch, t->last_seq,
                                    store_journal_epoch(store_writer_journal(t->s)));
    if (err != STORE_OK) {
        mdb_txn_abort(t->batch);
        return err;
    }
    err = store_from_mdb(mdb_txn_commit(t->batch));
    /* An env opened MDB_NOSYNC only reaches the disk when synced. */
    if (err == STORE_OK && mdb_env_get_flags(t->env, &flags) == 0 &&
        (flags & MDB_NOSYNC))
        err = store_from_mdb(mdb_env_sync(t->env, 1));
    return err;
}

void store_writer_checkpoint(struct store *s)
{
    struct store_writer *w = s->writer;
    uint64_t upto = store_journal_last(w->j);
    bool any = w->nbatched > 0;
    store_err err, lost = STORE_OK;

    if (wr_broken(w)) {
        /* Nothing is committed any more; only removed tenants' batches go
         * (their removal waits for that). */
        wr_abandon(w, true);
        return;
    }
    /* The journal first: once LMDB records applied_seq = N, a power cut
     * must not leave a journal ending below N, or its seq numbers would
     * restart below N and later entries be skipped as already applied. */
    if (any && (err = store_journal_flush(w->j, upto)) != STORE_OK) {
        /* Committing now would make applied_seq durable above a journal
         * that may not be: commit nothing, keep the batches (readable)
         * and the journal whole. */
        wr_break(w, err, "journal: the fdatasync before a checkpoint");
        wr_abandon(w, true);
        return;
    }
    size_t kept = 0;               /* batches rebuilt after a full disk */
    for (size_t i = 0; i < w->nbatched; i++) {
        store_tenant *t = w->batched[i];
        err = wr_batch_commit(t);  /* a failed commit ends the txn too */
        if (err == STORE_OK) {
            atomic_fetch_add_explicit(&w->commits, 1, memory_order_relaxed);
            t->applied_seq = t->last_seq;
        } else if (atomic_load(&t->dead)) {
            /* being removed: nothing of it needs keeping */
        } else if (w->running && wr_disk_full(w, err) &&
                   wr_rebuild(w, t) == STORE_OK) {
            /* (Not at recovery: a batch must be committed by the thread
             * that began it, and recovery's thread is not the writer.) */
            if (!w->nospace)
                store_log(LOG_WARNING, "tenant %llu: checkpoint failed: the "
                          "disk is full; changes that need room fail with "
                          "ENOSPC until a checkpoint commits again (what was "
                          "acknowledged stays in the journal)",
                          (unsigned long long)t->id);
            w->nospace = true;
            w->batched[kept++] = t;
            if (upto > t->applied_seq)
                upto = t->applied_seq;     /* its entries stay */
            continue;
        } else {
            store_log(LOG_ERR, "tenant %llu: checkpoint failed: %s; the "
                      "journal keeps its ops for the next recovery",
                      (unsigned long long)t->id, store_strerror(err));
            if (t->applied_seq < w->hold)
                w->hold = t->applied_seq;
            atomic_store(&t->lost_batch, true);
            lost = err;
        }
        t->batch = NULL;
        atomic_store(&t->batch_open, false);
    }
    if (lost != STORE_OK)
        wr_break(w, lost, "a checkpoint's commit");
    if (kept == 0 && w->nospace) {
        w->nospace = false;
        store_log(LOG_NOTICE, "journal: a checkpoint committed again: there "
                  "is room, changes are accepted");
    }
    w->nbatched = kept;
    if (kept > 0)
        clock_gettime(CLOCK_MONOTONIC, &w->oldest);
    w->bytes_since = 0;
    /* Counted before the applied position is published: whoever sees the
     * journal empty (stats) sees this checkpoint counted. */
    if (any)
        atomic_fetch_add(&w->checkpoints, 1);
    if (upto > w->hold)
        upto = w->hold;
    if (upto > w->applied) {
        err = store_journal_trim(w->j, upto);
        if (err != STORE_OK)
            store_log(LOG_ERR, "journal: trim failed: %s", store_strerror(err));
        w->applied = upto;
        atomic_store(&w->applied_pub, upto);
    }
}

static bool wr_checkpoint_due(struct store_writer *w)
{
    struct timespec now;

    if (w->nbatched == 0 || wr_broken(w))
        return false;
    if (w->bytes_since >= STORE_CHECKPOINT_BYTES)
        return true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - w->oldest.tv_sec) * 1000 +
                 (now.tv_nsec - w->oldest.tv_nsec) / 1000000;
    return ms >= (int64_t)STORE_CHECKPOINT_MS;
}

/* ===================================================================== */
/* The thread: begins batches on request, checkpoints                     */
/* ===================================================================== */

/* Begin the batches asked for (w->mu held) and wake the askers. */
static void wr_requests_serve(struct store_writer *w)
{
    struct wr_begin *rq = w->requests;

    w->requests = NULL;
    for (; rq; rq = rq->next) {
        if (w->stopping)
            rq->err = STORE_EIO;
        else if (atomic_load(&rq->t->dead))
            rq->err = STORE_ENOENT;        /* retired: no new batch */
        else
            rq->err = wr_batch_begin(w, rq->t);
        rq->done = true;
    }
    pthread_cond_broadcast(&w->begun);
}

static void *wr_main(void *arg)
{
    struct store_writer *w = arg;
    struct timespec deadline;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->requests && !w->stopping &&
               !atomic_load(&w->ckpt_wanted) &&
               (w->bytes_since < STORE_CHECKPOINT_BYTES || wr_broken(w))) {
            if (w->nbatched == 0 || wr_broken(w)) {
                pthread_cond_wait(&w->work, &w->mu);
                continue;
            }
            deadline = w->oldest;
            deadline.tv_sec += STORE_CHECKPOINT_MS / 1000u;
            deadline.tv_nsec += (long)(STORE_CHECKPOINT_MS % 1000u) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&w->work, &w->mu, &deadline) == ETIMEDOUT)
                break;
        }
        wr_requests_serve(w);
        if (w->stopping)
            break;
        if (wr_checkpoint_due(w) || atomic_load(&w->ckpt_wanted)) {
            /* Callers wait meanwhile: the backpressure. */
            store_writer_checkpoint(w->s);
            atomic_store(&w->ckpt_wanted, false);
            pthread_cond_broadcast(&w->begun);
        }
    }
    if (!wr_broken(w))
        store_writer_checkpoint(w->s);
    /* Read-only, or still no room: what is left stays in the journal. */
    wr_abandon(w, false);
    pthread_cond_broadcast(&w->begun);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ===================================================================== */
/* The interface                                                          */
/* ===================================================================== */

static void wr_free(struct store_writer *w)
{
    if (!w)
        return;
    store_journal_close(w->j);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->begun);
    pthread_mutex_destroy(&w->mu);
    free(w->batched);
    free(w->held);
    if (w->buf)
        seal_wipe(w->buf, w->bufcap);   /* plaintext of the last op */
    free(w->buf);
    free(w);
}

store_err store_writer_start(struct store *s)
{
    struct store_writer *w = NULL;
    pthread_condattr_t ca;
    char *path = NULL;
    store_err err = STORE_OK;

    if (!s->jkey)
        return STORE_EINVAL;
    w = calloc(1, sizeof *w);
    if (!w)
        return STORE_ENOMEM;
    w->s = s;
    w->hold = UINT64_MAX;
    atomic_store(&w->commit_ms, STORE_COMMIT_MS_DEFAULT);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->begun, NULL);
    if (asprintf(&path, "%s/%s", s->dir, STORE_JOURNAL_DIR) < 0) {
        path = NULL;
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_journal_open(path, s->jkey, &w->j)) != STORE_OK)
        goto out;
    s->writer = w;
    /* Replay before anyone else may touch a tenant. */
    if ((err = store_recover(s)) != STORE_OK)
        goto out;
    w->applied = store_journal_last(w->j);
    atomic_store(&w->applied_pub, w->applied);
    if (pthread_create(&w->thread, NULL, wr_main, w) != 0) {
        err = STORE_ENOMEM;
        goto out;
    }
    w->running = true;
out:
    free(path);
    if (err != STORE_OK) {
        s->writer = NULL;
        wr_free(w);
    }
    return err;
}

void store_writer_stop(struct store *s)
{
    struct store_writer *w = s ? s->writer : NULL;
    store_err err;

    if (!w)
        return;
    if (w->running) {
        pthread_mutex_lock(&w->mu);
        w->stopping = true;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);   /* drains, checkpoints, trims */
        w->running = false;
    }
    if (!wr_broken(w)) {
        err = store_journal_flush(w->j, store_journal_last(w->j));
        if (err != STORE_OK)
            store_log(LOG_ERR, "journal: final flush failed: %s",
                      store_strerror(err));
    }
    s->writer = NULL;
    wr_free(w);
}
