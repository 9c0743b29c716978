/*
 * fuzz_header.c - libFuzzer target of the store's key header reader
 * (STORE/tenantfs.hdr: store_header_unlock -> store_header_read ->
 * store_header_decode -> seal_key_unwrap, in store_header.c).
 *
 * The input is written as tenantfs.hdr in the scratch folder and read
 * twice: as given, and, when it is 172 bytes, with its checksum made right
 * (so the fields behind the checksum are reached).  Each read is done with
 * an empty passphrase, which store_header_unlock refuses (STORE_EBADKEY)
 * after decoding and before running Argon2id; a header that decodes and
 * asks for a cheap KDF (opslimit <= 3, memlimit <= 64 KiB) is also
 * unlocked with FUZZ_PASS (the seeds of gen_corpus.c open with it).
 *
 * Property: the result is the one the validity list at the top of
 * store_header.c gives, in its order.
 */
#include <fcntl.h>

#include "fuzz_store.h"

#define SIZE 172u
#define OFF_SUM 140u

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The documented checks, in order; STORE_OK when the header decodes. */
static store_err expected(const uint8_t *b, size_t len)
{
    uint8_t sum[32];

    if (len < 8 || memcmp(b, "TENANTFS", 8) != 0)
        return STORE_ENOTSTORE;
    if (len != SIZE)
        return len >= 12 && le(b + 8, 4) != 1 ? STORE_EVERSION : STORE_EDAMAGED;
    seal_checksum(b, OFF_SUM, sum);
    if (memcmp(sum, b + OFF_SUM, 32) != 0)
        return STORE_EDAMAGED;
    if (le(b + 8, 4) != 1 || le(b + 32, 4) != 1)
        return STORE_EVERSION;
    if (le(b + 36, 8) < 1 || le(b + 36, 8) > 0xffffffffu
        || le(b + 44, 8) < 8192 || le(b + 44, 8) > ((uint64_t)4 << 30))
        return STORE_EDAMAGED;
    return STORE_OK;
}

static void one(const char *dir, const char *path, const uint8_t *b, size_t len)
{
    seal_key *master = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    store_err want = expected(b, len), err;

    FUZZ_ASSERT(fd >= 0);
    FUZZ_ASSERT(len == 0 || write(fd, b, len) == (ssize_t)len);
    close(fd);
    err = store_header_unlock(dir, "", 0, &master);
    FUZZ_ASSERT(master == NULL);
    FUZZ_ASSERT(err == (want == STORE_OK ? STORE_EBADKEY : want));
    if (want == STORE_OK && le(b + 36, 8) <= 3 && le(b + 44, 8) <= 65536) {
        err = store_header_unlock(dir, FUZZ_PASS, sizeof FUZZ_PASS - 1, &master);
        FUZZ_ASSERT(err == STORE_OK ? master != NULL
                    : err == STORE_EBADKEY && master == NULL);
        seal_key_free(master);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    const char *dir = fuzz_dir();

    if (size > 4096)
        return 0;
    snprintf(path, sizeof path, "%s/" STORE_HDR_NAME, dir);
    one(dir, path, data, size);
    if (size == SIZE) {
        uint8_t b[SIZE];
        memcpy(b, data, SIZE);
        seal_checksum(b, OFF_SUM, b + OFF_SUM);
        one(dir, path, b, SIZE);
    }
    return 0;
}
