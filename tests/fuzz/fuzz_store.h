/*
 * fuzz_store.h - fuzz_common.h plus what the targets of store/ share: the
 * store's internal header, and a silent log hook (every damaged record is
 * logged by design; at a million inputs a minute that would be gigabytes
 * of "failed authentication").  TFS_FUZZ_LOG=1 keeps the default log.
 * Header-only; tests/fuzz only.
 */
#ifndef TENANTFS_FUZZ_STORE_H
#define TENANTFS_FUZZ_STORE_H

#include "fuzz_common.h"
#include "store_internal.h"

static void fuzz_log_quiet(int priority, const char *msg)
{
    (void)priority;
    (void)msg;
}

__attribute__((constructor)) static void fuzz_log_setup(void)
{
    const char *v = getenv("TFS_FUZZ_LOG");

    if (v == NULL || strcmp(v, "1") != 0)
        store_set_log(fuzz_log_quiet);
}

#endif
