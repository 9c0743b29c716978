/*
 * store_writer_int.h - what the three files of the daemon's writer share
 * (store_writer.c: batches, apply, checkpoint, the thread, start and stop;
 * store_writer_fault.c: failing and full disks; store_writer_api.c: the
 * calls of the rest of store/): the writer object and their helpers.
 * Private to those files; the contract is in store_internal.h.
 */
#ifndef TENANTFS_STORE_WRITER_INT_H
#define TENANTFS_STORE_WRITER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "store_internal.h"

/* A caller's request for a batch on tenant t (the writer begins it). */
struct wr_begin {
    store_tenant *t;
    store_err err;
    bool done;
    struct wr_begin *next;
};

struct store_writer {
    struct store *s;
    store_journal *j;
    pthread_t thread;
    bool running;

    pthread_mutex_t mu;        /* held while a batch is used or changed */
    pthread_cond_t work;       /* the writer waits here for requests */
    pthread_cond_t begun;      /* callers wait here for batches and
                                  checkpoints */
    struct wr_begin *requests; /* batches asked for */
    bool stopping;
    _Atomic bool ckpt_wanted;  /* the writer waits for w->mu to checkpoint:
                                  callers let it go first */

    /* under mu */
    store_tenant **batched;    /* tenants with an open batch */
    size_t nbatched, capbatched;
    struct timespec oldest;    /* CLOCK_MONOTONIC: first batch began */
    uint64_t bytes_since;      /* journal bytes since the last checkpoint */
    uint64_t hold;             /* never trim past this (failed commit) */
    uint64_t applied;          /* journal position of the last checkpoint */
    uint64_t *held;            /* tenants recovery could not open (set
                                  before the thread starts, then fixed) */
    size_t nheld;
    uint8_t *buf;
    size_t bufcap;

    _Atomic int broken;        /* 0, or the store_err that made the store
                                  read-only */
    bool nospace;              /* under mu: a checkpoint found the disk
                                  full; ops that need room fail (ENOSPC) */
    _Atomic unsigned commit_ms;
    _Atomic uint64_t fsyncs, checkpoints, replayed, discarded, applied_pub;
    _Atomic uint64_t ops, commits;     /* cost counters (struct
                                          store_journal_stats) */
};


static inline bool wr_broken(struct store_writer *w)
{
    return atomic_load(&w->broken) != 0;
}

/* ---- store_writer.c ---- */
/* Begin t->batch (its map reserved first); t->batch NULL on failure. */
store_err wr_batch_txn_begin(store_tenant *t);

/* ---- store_writer_fault.c ---- */
/* Turn the store read-only after `what` failed with `why` (logged once). */
void wr_break(struct store_writer *w, store_err why, const char *what);
/* Does a failed journal append mean the disk is failing (not full)? */
bool wr_append_breaks(store_err err);
/* Is `op` one that needs room (refused while the disk is full)? */
bool wr_op_needs_room(const struct store_op *op);
/* Abort the open batches (of removed tenants only, when dead_only). */
void wr_abandon(struct store_writer *w, bool dead_only);
/* Did a commit fail with `err` because the store's disk is full? */
bool wr_disk_full(struct store_writer *w, store_err err);
/* Begin t's batch anew and apply its journalled ops since its last
 * checkpoint (after a commit that found no room). */
store_err wr_rebuild(struct store_writer *w, store_tenant *t);

/* ---- store_writer_api.c ---- */
/* Take w->mu to use batches, letting a due checkpoint go first. */
void wr_enter(struct store_writer *w);

#endif
