/*
 * store_recover.c - crash recovery: replaying the journal into the tenant
 * databases when a daemon opens the store, before its writer thread starts.
 *
 * Every entry of the journal names a tenant and carries one encoded op.  A
 * tenant's LMDB records, in meta "applied_seq", the last entry its last
 * durable checkpoint holds; entries at or below it are skipped, the others
 * are applied to the tenant's batch exactly as the writer applies them
 * (one nested transaction per op, the op's own timestamp), but not appended
 * again.  store_journal_replay() stops at the first torn or invalid entry
 * and cuts the journal there, so garbage is never applied.
 *
 * After the replay every batch is checkpointed (durable commits recording
 * the applied positions), the orphans the replayed ops left (records
 * unlinked while open: nothing holds them open any more) are purged, and
 * the journal is trimmed to empty.  A crash anywhere in here loses nothing:
 * the journal is trimmed only after every commit, and the next recovery
 * starts again from the applied positions, skipping what was committed.
 *
 * An op that fails at replay can only be one whose target the orphan purge
 * at open removed (a record unlinked while still open when the daemon died,
 * then written or released): its effect died with the orphan, so it is
 * skipped and logged at LOG_DEBUG.  A tenant that no longer exists is
 * skipped; one that cannot be opened (a registered tenant whose env is
 * missing included) keeps its entries in the journal (the trim is held
 * below them) for a later mount, is refused by this daemon until then
 * (store_writer_hold_tenant), and the mount goes on.
 *
 * This file also prepares each tenant at the daemon's first open of it
 * (store_recover_tenant_prepare, from store_tenant_get): synchronous LMDB
 * commits, the orphan purge, and the applied position loaded.
 */
#include <stdint.h>
#include <stdlib.h>

#include "store_internal.h"

struct rc_state {
    struct store *s;
    uint64_t skipped;          /* already in LMDB */
    uint64_t failed;           /* ops that failed again at replay */
    uint64_t hold;             /* first entry kept for a later mount - 1 */
    store_tenant **touched;    /* tenants replayed into */
    size_t ntouched, captouched;
};

/* A daemon's first open of a tenant (store_tenant_get), before any batch
 * can exist for it and before its entries are replayed: purge the orphans a crashed daemon left (durably, so the journal replay
 * that may follow starts from a settled state) and load the journal
 * position the env holds (meta "applied_seq", 8 BE; 0 when absent). */
store_err store_recover_tenant_prepare(store_tenant *t)
{
    static const char key[] = "applied_seq", ekey[] = "journal_epoch";
    MDB_val k = { sizeof key - 1, (void *)key }, v;
    MDB_txn *txn = NULL;
    unsigned flags = 0;
    store_err err;

    if (t->rdonly)
        return STORE_OK;
    /* Synchronous commits: see store_writer.c (a stand-alone open may
     * have turned MDB_NOSYNC on). */
    (void)mdb_env_set_flags(t->env, MDB_NOSYNC, 0);
    if ((err = store_tenant_orphans_purge(t)) != STORE_OK)
        return err;
    if (mdb_env_get_flags(t->env, &flags) == 0 && (flags & MDB_NOSYNC) &&
        (err = store_from_mdb(mdb_env_sync(t->env, 1))) != STORE_OK)
        return err;
    if ((err = store_txn_begin(t, false, &txn)) != STORE_OK)
        return err;
    err = store_from_mdb(mdb_get(txn, t->meta, &k, &v));
    if (err == STORE_OK && v.mv_size == 8)
        t->applied_seq = store_get_be64(v.mv_data);
    else if (err == STORE_OK)
        err = STORE_EIO;
    else if (err == STORE_ENOENT)
        err = STORE_OK;
    /* Positions recorded under another journal (its folder was lost and
     * the journal made anew, numbering from 1 again) say nothing about
     * this one: every entry here is newer than the tenant's state. */
    uint64_t epoch = 0;
    MDB_val ek = { sizeof ekey - 1, (void *)ekey }, ev;
    store_err e2 = store_from_mdb(mdb_get(txn, t->meta, &ek, &ev));
    if (e2 == STORE_OK && ev.mv_size == 8)
        epoch = store_get_be64(ev.mv_data);
    else if (e2 != STORE_ENOENT && err == STORE_OK)
        err = STORE_EIO;
    mdb_txn_abort(txn);
    if (err == STORE_EIO)
        store_log(LOG_ERR, "tenant %llu: bad applied_seq", (unsigned long long)t->id);
    if (err == STORE_OK && t->s != NULL &&
        epoch != store_journal_epoch(store_writer_journal(t->s))) {
        if (t->applied_seq != 0)
            store_log(LOG_NOTICE, "tenant %llu: the journal was made anew; "
                      "its positions start over", (unsigned long long)t->id);
        t->applied_seq = 0;
    }
    t->last_seq = t->applied_seq;
    return err;
}

static store_err rc_touch(struct rc_state *st, store_tenant *t)
{
    for (size_t i = 0; i < st->ntouched; i++)
        if (st->touched[i] == t)
            return STORE_OK;
    if (st->ntouched == st->captouched) {
        size_t cap = st->captouched ? st->captouched * 2 : 8;
        store_tenant **p = realloc(st->touched, cap * sizeof *p);
        if (!p)
            return STORE_ENOMEM;
        st->touched = p;
        st->captouched = cap;
    }
    st->touched[st->ntouched++] = t;
    return STORE_OK;
}

static store_err rc_entry(uint64_t seq, uint64_t tenant,
                          const uint8_t *payload, size_t len, void *arg)
{
    struct rc_state *st = arg;
    struct store_op op = { 0 };
    store_tenant *t = NULL;
    store_err err;

    err = store_tenant_get(st->s, tenant, &t);
    if (err == STORE_ENOENT) {
        st->skipped++;             /* a removed tenant */
        return STORE_OK;
    }
    if (err == STORE_ENOMEM)
        return err;
    if (err != STORE_OK) {
        /* Refused for the rest of this daemon's life: see
         * store_writer_hold_tenant(). */
        if (store_writer_hold_tenant(st->s, tenant) != STORE_OK)
            return STORE_ENOMEM;
        if (st->hold > seq - 1) {
            st->hold = seq - 1;
            store_log(LOG_ERR, "journal: tenant %llu cannot be opened (%s); "
                      "its entries are kept", (unsigned long long)tenant,
                      store_strerror(err));
        }
        return STORE_OK;
    }
    if (seq <= t->applied_seq) {
        st->skipped++;
        return STORE_OK;
    }
    if ((err = rc_touch(st, t)) != STORE_OK)
        return err;
    err = store_op_decode(payload, len, &op);
    if (err == STORE_OK)
        err = store_writer_apply(st->s, t, &op, false);
    if (err == STORE_ENOMEM)
        return err;
    if (err == STORE_ENOENT) {
        /* Only ops that succeeded are journalled, and replay is
         * deterministic, so the one expected difference is an inode the
         * orphan purge at open deleted (a write or release of a file that
         * was unlinked while open): nothing to keep. */
        st->failed++;
        store_log(LOG_DEBUG, "journal: entry %llu of tenant %llu skipped: %s",
                  (unsigned long long)seq, (unsigned long long)tenant,
                  store_strerror(err));
    } else if (err != STORE_OK) {
        /* Anything else (a full map, damage, a malformed entry) must not
         * be skipped: keep this entry and the tenant's later ones for the
         * next mount, and refuse the tenant until then.  What was applied
         * before it is checkpointed with applied_seq = seq - 1. */
        if (store_writer_hold_tenant(st->s, tenant) != STORE_OK)
            return STORE_ENOMEM;
        if (st->hold > seq - 1)
            st->hold = seq - 1;
        store_log(LOG_ERR, "journal: entry %llu of tenant %llu cannot be "
                  "replayed (%s); it and the tenant's later entries are kept",
                  (unsigned long long)seq, (unsigned long long)tenant,
                  store_strerror(err));
        return STORE_OK;
    }
    /* The tenant's state now reflects this entry. */
    t->last_seq = seq;
    return STORE_OK;
}

store_err store_recover(struct store *s)
{
    struct rc_state st = { .s = s, .hold = UINT64_MAX };
    uint64_t replayed = 0, discarded = 0;
    store_err err;

    err = store_journal_replay(store_writer_journal(s), rc_entry, &st,
                               &replayed, &discarded);
    if (err != STORE_OK) {
        /* Keep what was replayed (with its applied positions) and the
         * whole journal: the next mount tries again. */
        store_log(LOG_ERR, "journal: replay failed: %s", store_strerror(err));
        store_writer_recovered(s, replayed, discarded, 0);
        store_writer_checkpoint(s);
        goto out;
    }
    store_writer_recovered(s, replayed, discarded, st.hold);
    /* Durable commits with the applied positions, then the trim. */
    store_writer_checkpoint(s);
    for (size_t i = 0; i < st.ntouched; i++) {
        store_err e = store_tenant_orphans_purge(st.touched[i]);
        if (e != STORE_OK)
            store_log(LOG_WARNING, "tenant %llu: orphans left after "
                      "recovery: %s", (unsigned long long)st.touched[i]->id,
                      store_strerror(e));
    }
    if (replayed > 0 && discarded > 0)
        store_log(LOG_NOTICE, "journal: replayed %llu entries (%llu already "
                  "applied), discarded a torn tail of %llu bytes",
                  (unsigned long long)replayed, (unsigned long long)st.skipped,
                  (unsigned long long)discarded);
    else if (replayed > 0)
        store_log(LOG_NOTICE, "journal: replayed %llu entries (%llu already "
                  "applied)", (unsigned long long)replayed,
                  (unsigned long long)st.skipped);
    else if (discarded > 0)
        store_log(LOG_NOTICE, "journal: replayed 0 entries, discarded a torn "
                  "tail of %llu bytes", (unsigned long long)discarded);
    if (st.failed > 0)
        store_log(LOG_INFO, "journal: %llu replayed ops failed again and were "
                  "skipped", (unsigned long long)st.failed);
out:
    free(st.touched);
    return err;
}
