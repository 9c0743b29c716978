/*
 * fuzz_common.h - what the fuzz targets of tests/fuzz share: a scratch
 * folder on tmpfs (/dev/shm, else /tmp) removed at exit, fixed keys (so
 * the seed corpus made by gen_corpus.c opens under them), a stand-alone
 * tenant env for the record decoders, and FUZZ_ASSERT, which aborts (a
 * crash to libFuzzer and to the replay driver) when a property fails.
 * Header-only (static functions); for tests/fuzz only.
 */
#ifndef TENANTFS_FUZZ_COMMON_H
#define TENANTFS_FUZZ_COMMON_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* The fixed key material of every target and of gen_corpus.c. */
#define FUZZ_KEY_BYTES ((const uint8_t *)"tenantfs-fuzz-key-0123456789abcd")
#define FUZZ_TENANT_ID 7u
#define FUZZ_PASS      "fuzz"

static inline seal_key *fuzz_key(void)
{
    static seal_key *k;

    if (k == NULL) {
        if (seal_init() != 0 || (k = seal_key_from_bytes(FUZZ_KEY_BYTES)) == NULL)
            abort();
    }
    return k;
}

static inline int fuzz_rm_one(const char *p, const struct stat *st, int type,
                              struct FTW *f)
{
    return (void)st, (void)type, (void)f, remove(p);
}

/* Remove folder `dir` and everything in it (keeps going on errors). */
static inline void fuzz_rm_tree(const char *dir)
{
    (void)nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char fuzz_dir_path[64];

static void fuzz_dir_cleanup(void)
{
    if (fuzz_dir_path[0] != '\0')
        fuzz_rm_tree(fuzz_dir_path);
}

/* A fresh scratch folder for this process, removed at a normal exit. */
static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0] == '\0') {
        struct stat sb;
        const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode)
                           && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

        /* The pid lets tools/fuzz remove what a fuzzer stopped by SIGINT
         * leaves (libFuzzer then exits without running atexit). */
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/tfs-fuzz-%ld-XXXXXX",
                 base, (long)getpid());
        if (mkdtemp(fuzz_dir_path) == NULL)
            abort();
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir_path;
}

#endif
