/*
 * store_env.h - what the store unit tests share: a stand-alone tenant env
 * (id 7) in a fresh temporary folder with a random master key, a log hook
 * that keeps the last line, and small helpers to make records and read
 * link counts and raw table sizes.  Header-only (static functions), for
 * tests/unit only.
 */
#ifndef TENANTFS_TEST_STORE_ENV_H
#define TENANTFS_TEST_STORE_ENV_H

#include "tap.h"
#include "store_internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TID 7u
#define ROOT STORE_ROOT_INO

struct env {
    char dir[64];
    seal_key *master;
    store_tenant *t;
};

static int log_count;
static char log_last[512];

static inline void test_log(int priority, const char *msg)
{
    (void)priority;
    log_count++;
    snprintf(log_last, sizeof(log_last), "%s", msg);
}

static inline bool env_open(struct env *e, bool create)
{
    return store_tenant_env_open(e->dir, TID, e->master, false, create, 1000,
                                 1000, 0750, &e->t) == STORE_OK;
}

static inline bool env_setup(struct env *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_store.XXXXXX");
    if (seal_init() != 0 || mkdtemp(e->dir) == NULL)
        return false;
    e->master = seal_key_new_random();
    return e->master != NULL && env_open(e, true);
}

static inline void env_teardown(struct env *e)
{
    char path[128];

    store_tenant_env_close(e->t);
    e->t = NULL;
    seal_key_free(e->master);
    snprintf(path, sizeof(path), "%s/data.mdb", e->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", e->dir);
    unlink(path);
    rmdir(e->dir);
}

static inline store_err mk(store_tenant *t, uint64_t parent, const char *name,
                    uint32_t mode, struct store_attr *a)
{
    struct store_attr tmp;
    return store_mknod(t, parent, name, strlen(name), mode, 1000, 1000, NULL, 0,
                       a ? a : &tmp);
}

static inline uint64_t ino_of(store_tenant *t, uint64_t parent, const char *name)
{
    struct store_attr a;
    if (store_lookup(t, parent, name, strlen(name), &a) != STORE_OK)
        return 0;
    return a.ino;
}

static inline uint32_t nlink_of(store_tenant *t, uint64_t ino)
{
    struct store_attr a;
    if (store_getattr(t, ino, &a) != STORE_OK)
        return 0;
    return a.nlink;
}

static inline size_t table_count(store_tenant *t, MDB_dbi dbi)
{
    MDB_txn *txn;
    MDB_stat st;
    size_t n = (size_t)-1;

    if (mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn) != 0)
        return n;
    if (mdb_stat(txn, dbi, &st) == 0)
        n = st.ms_entries;
    mdb_txn_abort(txn);
    return n;
}


#endif
