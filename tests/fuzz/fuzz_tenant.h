/*
 * fuzz_tenant.h - a stand-alone tenant env (store_tenant_env_open, id
 * FUZZ_TENANT_ID, master key fuzz_key()) in the scratch folder, created at
 * the first input and closed at exit, for the targets of the tenant's
 * record decoders (fuzz_inode.c, fuzz_dirent.c).  Stand-alone envs commit
 * with MDB_NOSYNC, so inputs cost no fsync.  Header-only; tests/fuzz only.
 */
#ifndef TENANTFS_FUZZ_TENANT_H
#define TENANTFS_FUZZ_TENANT_H

#include "fuzz_store.h"

static store_tenant *fuzz_tenant_t;

static void fuzz_tenant_close(void)
{
    store_tenant_env_close(fuzz_tenant_t);
    fuzz_tenant_t = NULL;
}

static inline store_tenant *fuzz_tenant(void)
{
    char path[128];

    if (fuzz_tenant_t == NULL) {
        snprintf(path, sizeof path, "%s/tenant", fuzz_dir());
        if (store_tenant_env_open(path, FUZZ_TENANT_ID, fuzz_key(), false, true,
                                  0, 0, 0700, &fuzz_tenant_t) != STORE_OK)
            abort();
        atexit(fuzz_tenant_close);      /* runs before fuzz_dir's removal */
    }
    return fuzz_tenant_t;
}

#endif
