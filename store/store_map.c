/*
 * store_map.c - the size of a tenant's LMDB map, grown as the tenant grows.
 *
 * LMDB maps a database's whole possible size into memory and refuses to
 * grow the file past it (MDB_MAP_FULL).  A fixed large map would bound
 * every tenant by a figure chosen in advance and reserve that much address
 * space per open tenant; instead each env's map is kept at least
 * STORE_MAP_HEADROOM larger than the space the database uses (its highest
 * page), and doubled when a write is about to begin with less room left.
 * The headroom exceeds what a daemon's batch can add: a checkpoint commits
 * it once STORE_CHECKPOINT_BYTES were journalled, each op carrying at most
 * STORE_OP_DATA_MAX (a 64 KiB block sealed takes 17 pages).  A direct
 * write is one op, and reserves room for its data besides.
 *
 * LMDB allows changing the map only while no transaction of the process
 * is active on the env (mdb_env_set_mapsize), and does not check it: a
 * reader would keep using the old mapping.  So every read transaction that
 * may run while another thread writes (store_map_read_begin/end) holds
 * t->map_lock for reading, and growing takes it for writing.  The daemon
 * grows a tenant's map only when it begins the tenant's batch (writer
 * thread, no batch open on that env); direct mode before each write
 * transaction.  Another process that maps the database smaller (a
 * tenantctl reading while the daemon serves) adopts the new size when
 * LMDB says MDB_MAP_RESIZED.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store_internal.h"

/* Maps in steps of half the headroom (64 MiB). */
static size_t store_map_round(uint64_t n)
{
    const uint64_t unit = STORE_MAP_HEADROOM / 2;

    return (size_t)((n + unit - 1) / unit * unit);
}

/* The bytes the database uses, and its map size. */
static store_err store_map_usage(store_tenant *t, uint64_t *used,
                                 uint64_t *mapsize)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc;

    *used = *mapsize = 0;
    if ((rc = mdb_env_info(t->env, &info)) != 0 ||
        (rc = mdb_env_stat(t->env, &st)) != 0)
        return store_from_mdb(rc);
    *used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    *mapsize = info.me_mapsize;
    return STORE_OK;
}

/* Grow t's map if less than `extra` + STORE_MAP_HEADROOM is left
 * (t->map_lock held for writing, or no other thread can use the env). */
static store_err store_map_grow_locked(store_tenant *t, uint64_t extra)
{
    uint64_t used, mapsize, want;
    store_err err;
    int rc;

    if ((err = store_map_usage(t, &used, &mapsize)) != STORE_OK)
        return err;
    if (used + extra + STORE_MAP_HEADROOM <= mapsize)
        return STORE_OK;
    want = 2 * mapsize;
    if (want < used + extra + 2 * STORE_MAP_HEADROOM)
        want = used + extra + 2 * STORE_MAP_HEADROOM;
    if ((rc = mdb_env_set_mapsize(t->env, store_map_round(want))) != 0) {
        store_log(LOG_ERR, "tenant %llu: cannot grow its database map to "
                  "%llu MiB: %s", (unsigned long long)t->id,
                  (unsigned long long)(store_map_round(want) >> 20),
                  mdb_strerror(rc));
        return store_from_mdb(rc);
    }
    store_log(LOG_INFO, "tenant %llu: database map grown from %llu to %llu "
              "MiB (%llu MiB used)", (unsigned long long)t->id,
              (unsigned long long)(mapsize >> 20),
              (unsigned long long)(store_map_round(want) >> 20),
              (unsigned long long)(used >> 20));
    return STORE_OK;
}

size_t store_map_initial(const char *path)
{
    struct stat st;
    char *data = NULL;
    uint64_t used = 0;

    /* The file is as large as the pages the database uses, or larger. */
    if (asprintf(&data, "%s/data.mdb", path) >= 0 && stat(data, &st) == 0)
        used = (uint64_t)st.st_size;
    free(data);
    return store_map_round(used + 2 * STORE_MAP_HEADROOM);
}

store_err store_map_reserve(store_tenant *t, uint64_t extra)
{
    uint64_t used, mapsize;
    store_err err;

    if (t->rdonly)
        return STORE_OK;
    /* Room enough, the common case, is decided without the lock: the map
     * only grows, and the database only grows by this thread's write. */
    if ((err = store_map_usage(t, &used, &mapsize)) != STORE_OK)
        return err;
    if (used + extra + STORE_MAP_HEADROOM <= mapsize)
        return STORE_OK;
    pthread_rwlock_wrlock(&t->map_lock);
    err = store_map_grow_locked(t, extra);
    pthread_rwlock_unlock(&t->map_lock);
    return err;
}

void store_map_hold(store_tenant *t)
{
    pthread_rwlock_rdlock(&t->map_lock);
}

void store_map_release(store_tenant *t)
{
    pthread_rwlock_unlock(&t->map_lock);
}

store_err store_map_read_begin(store_tenant *t, MDB_txn **txn)
{
    int rc;

    pthread_rwlock_rdlock(&t->map_lock);
    rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the database past our map: adopt it. */
        pthread_rwlock_unlock(&t->map_lock);
        pthread_rwlock_wrlock(&t->map_lock);
        rc = mdb_env_set_mapsize(t->env, 0);
        pthread_rwlock_unlock(&t->map_lock);
        pthread_rwlock_rdlock(&t->map_lock);
        if (rc == 0)
            rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, txn);
    }
    if (rc != 0) {
        *txn = NULL;
        pthread_rwlock_unlock(&t->map_lock);
    }
    return rc == MDB_MAP_RESIZED ? STORE_EIO : store_from_mdb(rc);
}

void store_map_read_end(store_tenant *t, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&t->map_lock);
}
