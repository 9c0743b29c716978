/*
 * store_tmp.h - what the store-level unit tests (test_store_admin.c,
 * test_tenant_policy.c, test_writer_faults.c) share: a fresh mkdtemp() folder with a path for a
 * store in it, its removal, and opening a store with the test passphrase.
 * Header-only (static functions), for tests/unit only.
 */
#ifndef TENANTFS_TEST_STORE_TMP_H
#define TENANTFS_TEST_STORE_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

#define PASS    "correct horse battery staple"
#define PASSLEN (sizeof PASS - 1)

struct tmp {
    char root[64];
    char store[96];            /* root/store, not created */
};

static inline void tmp_make(struct tmp *t)
{
    strcpy(t->root, "/tmp/tfs-unit-XXXXXX");
    if (!mkdtemp(t->root))
        abort();
    snprintf(t->store, sizeof t->store, "%s/store", t->root);
}

static inline int tmp_rm_one(const char *p, const struct stat *st, int type,
                             struct FTW *f)
{
    return (void)st, (void)type, (void)f, remove(p);
}

static inline void tmp_remove(struct tmp *t)
{
    nftw(t->root, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Open the store in `dir` with the test passphrase; NULL (and a TAP
 * comment saying why) on failure. */
static inline store *open_ok(const char *dir, unsigned flags)
{
    store *s = NULL;
    store_err e = store_open(dir, PASS, PASSLEN, flags, &s);
    if (e != STORE_OK)
        printf("# store_open: %s\n", store_strerror(e));
    return s;
}

#endif
