/*
 * fuzz_seal.c - libFuzzer target of the sealed-value format (seal_open in
 * crypto/seal.c) and of the wrapped-key opener built on it
 * (seal_key_unwrap in crypto/seal_wrap.c), under a fixed key.
 *
 * Input: flags (1) || AD length a (1) || AD (a bytes) || rest.
 *   flags bit 0 clear: rest is a sealed value, opened as given; when it is
 *     SEAL_WRAPPED_BYTES long, it is also unwrapped as a key.
 *   flags bit 0 set: rest is a plaintext; it is sealed here, must open to
 *     itself, and must fail to open with one more byte of AD, or once the
 *     byte at (AD length * 131) mod its length is xored with flags.
 * Properties: an open that fails leaves the output all zero (no
 * unauthenticated byte is ever returned); an open that succeeds, sealed
 * again, opens to the same plaintext; unwrap succeeds exactly when the
 * value opens to 32 bytes.
 */
#include "fuzz_common.h"

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_key *k = fuzz_key(), *unwrapped = NULL;
    uint8_t flags, adlen, *ad, *rest, *plain, *sealed;
    size_t rlen;

    if (size < 2 || size > 65536)
        return 0;
    flags = data[0];
    adlen = data[1];
    if (size < 2u + adlen)
        return 0;
    ad = malloc(adlen + 1u);
    rlen = size - 2 - adlen;
    rest = malloc(rlen + 1);
    plain = malloc(rlen + 1);
    sealed = malloc(rlen + SEAL_OVERHEAD + 1);
    FUZZ_ASSERT(ad && rest && plain && sealed);
    memcpy(ad, data + 2, adlen);
    ad[adlen] = 0;
    memcpy(rest, data + 2 + adlen, rlen);

    if (!(flags & 1)) {
        memset(plain, 0xa5, rlen + 1);
        int rc = seal_open(k, ad, adlen, rest, rlen, plain);
        if (rlen >= SEAL_OVERHEAD && rc != 0)
            FUZZ_ASSERT(all_zero(plain, rlen - SEAL_OVERHEAD));
        if (rc == 0) {
            size_t plen = rlen - SEAL_OVERHEAD;
            uint8_t *again = malloc(plen + 1);
            FUZZ_ASSERT(rlen >= SEAL_OVERHEAD && again);
            FUZZ_ASSERT(seal_value(k, ad, adlen, plain, plen, sealed) == 0);
            FUZZ_ASSERT(seal_open(k, ad, adlen, sealed, rlen, again) == 0);
            FUZZ_ASSERT(memcmp(again, plain, plen) == 0);
            free(again);
        }
        if (rlen == SEAL_WRAPPED_BYTES) {
            int u = seal_key_unwrap(k, ad, adlen, rest, &unwrapped);
            FUZZ_ASSERT((u == 0) == (rc == 0) && (u == 0) == (unwrapped != NULL));
            seal_key_free(unwrapped);
        }
    } else {
        size_t slen = rlen + SEAL_OVERHEAD, pos = (size_t)adlen * 131 % slen;
        FUZZ_ASSERT(seal_value(k, ad, adlen, rest, rlen, sealed) == 0);
        FUZZ_ASSERT(seal_open(k, ad, adlen, sealed, slen, plain) == 0);
        FUZZ_ASSERT(memcmp(plain, rest, rlen) == 0);
        FUZZ_ASSERT(seal_open(k, ad, adlen + 1u, sealed, slen, plain) != 0);
        FUZZ_ASSERT(all_zero(plain, rlen));
        sealed[pos] ^= (uint8_t)(flags | 1);
        FUZZ_ASSERT(seal_open(k, ad, adlen, sealed, slen, plain) != 0);
        FUZZ_ASSERT(all_zero(plain, rlen));
    }
    free(ad);
    free(rest);
    free(plain);
    free(sealed);
    return 0;
}
