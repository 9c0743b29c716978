/*
 * store_restore.c - putting a tenant's copy in a snapshot back in place of
 * its live database (docs/snapshots.md, "Restore").
 *
 * A tenant's whole content is one LMDB file, STORE/tenants/ID/data.mdb, and
 * a snapshot holds a compacted copy of it sealed with the same keys (the
 * tenant id is in every value's AD, so only the same tenant can take it
 * back: one removed and added again under the name has another id).  A
 * restore copies the snapshot's file next to the live one and renames it
 * over it, so a crash leaves either the old file or the new one whole.
 *
 * What must not happen is the journal replaying, after a crash, entries
 * made before the restore onto the restored file: its meta "applied_seq"
 * is the snapshot's, older than them.  Offline the journal is empty (the
 * caller is refused otherwise).  Online, the copy's position is set to the
 * journal's current end before it is renamed into place, once the tenant's
 * ops have stopped: every entry before that position belongs to the old
 * content, every entry after it to the new.
 *
 * Online (store_snapshot_restore_live), the daemon's handle of the tenant
 * is retired as a removal retires it (dead: calls on it fail; its batch is
 * committed), its env closed once no call is inside it, the file renamed,
 * and only then is the handle taken out of the open table (kept on
 * s->replaced until store_close(): other threads may hold the pointer), so
 * that the next store_tenant_get() opens the restored file.  Until then a
 * get answers ENOENT: the caller holds requests back meanwhile (the
 * `hold` hook).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_registry_int.h"
#include "store_snapshot_int.h"

/* The snapshot `name` (its folder into *dir, its manifest into *m) and
 * its copy of live tenant `tenant` (*in, pointing into m).  *what says
 * which part failed, as store_snapshot_restore() documents. */
static store_err restore_find(struct store *s, const char *name,
                              const char *tenant, char *what, char **dir,
                              struct store_snapshot *m,
                              const struct store_snapshot_tenant **in)
{
    struct store_tenant_info now;
    store_err err;

    *what = 's';
    *in = NULL;
    if (store_snapshot_name_check(name) != STORE_OK)
        return STORE_ENOENT;
    if ((*dir = store_snapshot_path(s, name)) == NULL)
        return STORE_ENOMEM;
    if ((err = store_snapshot_manifest_read(s, *dir, name, m)) != STORE_OK)
        return err;
    for (size_t i = 0; i < m->ntenants; i++)
        if (strcmp(m->tenants[i].info.name, tenant) == 0)
            *in = &m->tenants[i];
    *what = 't';
    if (*in == NULL)
        return STORE_ENOENT;
    *what = 'T';
    if ((err = store_tenant_find(s, tenant, strlen(tenant), &now)) != STORE_OK)
        return err;
    if (now.id != (*in)->info.id)
        return STORE_EXDEV;
    *what = 0;
    return STORE_OK;
}

/* Rename `from` over the tenant's database in folder `tdir`, drop the
 * lock file that described the replaced one (the next open makes it
 * anew) and make the rename durable. */
static store_err restore_swap(const char *from, const char *tdir)
{
    char *dst = NULL, *lk = NULL;
    store_err err = STORE_OK;

    if (asprintf(&dst, "%s/data.mdb", tdir) < 0 ||
        asprintf(&lk, "%s/lock.mdb", tdir) < 0) {
        free(dst);
        return STORE_ENOMEM;
    }
    if (rename(from, dst) != 0)
        err = store_from_errno(errno);
    else
        (void)unlink(lk);
    if (err == STORE_OK)
        err = store_fsync_path(tdir);
    free(dst);
    free(lk);
    return err;
}

/* ---- offline ------------------------------------------------------------ */

store_err store_snapshot_restore(store *s, const char *name,
                                 const char *tenant, char *what)
{
    struct store_snapshot m = { 0 };
    const struct store_snapshot_tenant *in = NULL;
    char *dir = NULL, *from = NULL, *tdir = NULL, *tmp = NULL, *jdir = NULL;
    uint64_t segs, entries, jbytes, jlast;
    bool locked = false;
    store_err err;

    if ((s->flags & STORE_OPEN_DAEMON) != 0) {
        *what = 'd';                /* the daemon: store_snapshot_restore_live */
        return STORE_EBUSY;
    }
    if ((err = restore_find(s, name, tenant, what, &dir, &m, &in)) != STORE_OK)
        goto out;
    /* Offline: no daemon may serve the store while its file is replaced. */
    *what = 'd';
    if (s->lock_fd < 0) {
        if ((err = store_lock_take(s)) != STORE_OK)
            goto out;
        locked = true;
    }
    /* The journal as it is on disk (with the lock held, the published
     * figures are a stopped daemon's). */
    *what = 'j';
    if (asprintf(&jdir, "%s/%s", s->dir, STORE_JOURNAL_DIR) < 0) {
        jdir = NULL;
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_journal_scan_dir(jdir, &segs, &entries, &jbytes,
                                      &jlast)) != STORE_OK)
        goto out;
    if (entries > 0) {
        err = STORE_EBUSY;
        goto out;
    }
    *what = 0;
    tdir = store_tenant_path(s->dir, in->info.id);
    if (tdir == NULL ||
        (from = store_snapshot_tenant_path(dir, in->info.id, true)) == NULL ||
        asprintf(&tmp, "%s/data.mdb.restore", tdir) < 0) {
        tmp = NULL;
        err = STORE_ENOMEM;
        goto out;
    }
    (void)unlink(tmp);
    if ((err = store_snapshot_copy_file(from, tmp)) == STORE_OK)
        err = restore_swap(tmp, tdir);
    if (err != STORE_OK)
        (void)unlink(tmp);
out:
    if (locked) {
        close(s->lock_fd);          /* releases the flock */
        s->lock_fd = -1;
    }
    store_snapshot_free(&m);
    free(jdir);
    free(dir);
    free(from);
    free(tdir);
    free(tmp);
    return err;
}

/* ---- online ------------------------------------------------------------- */

/* Set the position of the tenant database in folder `rdir` (a copy not
 * yet in place) to `seq` of the journal of epoch `epoch`, durably. */
static store_err restore_position(struct store *s, const char *rdir,
                                  uint64_t id, uint64_t seq, uint64_t epoch)
{
    store_tenant *t = NULL;
    MDB_txn *txn = NULL;
    store_err err;

    err = store_tenant_env_open(rdir, id, s->master, false, false, 0, 0, 0, &t);
    if (err == STORE_OK)
        err = store_txn_begin(t, true, &txn);
    if (err == STORE_OK) {
        err = store_tenant_position_put(t, txn, seq, epoch);
        if (err == STORE_OK)
            err = store_from_mdb(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
    }
    if (err == STORE_OK)
        err = store_from_mdb(mdb_env_sync(t->env, 1));
    store_tenant_env_close(t);
    return err;
}

store_err store_snapshot_restore_live(store *s, const char *name,
                                      const char *tenant, char *what,
                                      store_restore_hold_fn hold, void *arg)
{
    struct store_snapshot m = { 0 };
    const struct store_snapshot_tenant *in = NULL;
    store_journal *j = store_writer_journal(s);
    char *dir = NULL, *from = NULL, *tdir = NULL, *rdir = NULL;
    char *rfile = NULL, *rlock = NULL;
    store_tenant *t = NULL;
    bool retired = false;
    store_err err;

    *what = 0;
    if ((s->flags & STORE_OPEN_DAEMON) == 0 || j == NULL)
        return STORE_EINVAL;
    pthread_mutex_lock(&s->tenant_lock);    /* no removal meanwhile */
    if ((err = restore_find(s, name, tenant, what, &dir, &m, &in)) != STORE_OK)
        goto out;
    /* Read-only after a disk failure: acknowledged changes may be in the
     * journal only, and the next mount's recovery is what settles them. */
    if (store_writer_broken(s)) {
        err = STORE_EROFS;
        goto out;
    }
    if ((tdir = store_tenant_path(s->dir, in->info.id)) == NULL ||
        (from = store_snapshot_tenant_path(dir, in->info.id, true)) == NULL ||
        asprintf(&rdir, "%s/restore", tdir) < 0 ||
        asprintf(&rfile, "%s/restore/data.mdb", tdir) < 0 ||
        asprintf(&rlock, "%s/restore/lock.mdb", tdir) < 0) {
        err = STORE_ENOMEM;
        goto out;
    }
    /* The copy, while the tenant is served as before: the long part.
     * (What an earlier restore that failed left is thrown away.) */
    (void)store_rmtree(rdir);
    if (mkdir(rdir, 0700) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    if ((err = store_snapshot_copy_file(from, rfile)) != STORE_OK)
        goto out;
    if ((err = store_tenant_get(s, in->info.id, &t)) != STORE_OK)
        goto out;
    /* Room for the handle on s->replaced, before anything is changed. */
    pthread_mutex_lock(&s->lock);
    store_tenant **p = realloc(s->replaced, (s->nreplaced + 1) * sizeof *p);
    if (p != NULL)
        s->replaced = p;
    pthread_mutex_unlock(&s->lock);
    if (p == NULL) {
        err = STORE_ENOMEM;
        goto out;
    }

    /* From here the tenant's ops stop: the caller holds requests back. */
    if (hold != NULL)
        hold(arg, in->info.id);
    store_writer_retire(s, t);      /* dead; its batch committed */
    retired = true;
    err = restore_position(s, rdir, in->info.id, store_journal_last(j),
                           store_journal_epoch(j));
    (void)unlink(rlock);
    if (err != STORE_OK)
        goto out;                   /* the old content serves again */
    store_tenant_shut(s, t);        /* no call inside it any more */
    err = restore_swap(rfile, tdir);
    /* Whether or not the rename happened, the closed handle goes: the next
     * get opens whichever file is in place. */
    pthread_mutex_lock(&s->lock);
    size_t idx;
    if (store_open_find(s, t->id, &idx) == t)
        s->open[idx] = s->open[--s->nopen];
    s->replaced[s->nreplaced++] = t;
    pthread_mutex_unlock(&s->lock);
    retired = false;
    if (err == STORE_OK)
        store_log(LOG_NOTICE, "tenant %llu restored from a snapshot while "
                  "mounted", (unsigned long long)in->info.id);
out:
    if (retired)
        atomic_store(&t->dead, false);   /* not restored: it serves again */
    if (rdir != NULL)
        (void)store_rmtree(rdir);
    pthread_mutex_unlock(&s->tenant_lock);
    store_snapshot_free(&m);
    free(dir);
    free(from);
    free(tdir);
    free(rdir);
    free(rfile);
    free(rlock);
    return err;
}
