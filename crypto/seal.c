/*
 * seal.c - sealing and opening of values, and keyed name hashing.
 *
 * This file owns the sealed-value format every layer above stores:
 *
 *     offset  size  field
 *          0    24  nonce: fresh random bytes for every seal
 *         24     n  ciphertext: XChaCha20 of the n plaintext bytes
 *       24+n    16  tag: Poly1305 over the AD and the ciphertext
 *
 * (libsodium's crypto_aead_xchacha20poly1305_ietf; the nonce is not part of
 * the AD because the AEAD already authenticates it through the key stream.)
 * A sealed value is valid only if the tag verifies under the same key and
 * the exact same associated data; anything else opens to all zeros and -1,
 * so a caller can never use bytes that failed authentication.
 *
 * It also owns the keyed name hashes: BLAKE2b under a name key, so equal
 * names find each other while the hash reveals nothing without the key.
 */
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Internal to crypto/: defined in seal_key.c. */
#include "seal_internal.h"

/* Larger plaintexts are a caller's bug, not data (blocks are 64 KiB). */
#define SEAL_MAX_PLAIN ((size_t)1 << 30)

_Static_assert(SEAL_NONCEBYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "nonce size");
_Static_assert(SEAL_TAGBYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "tag size");
_Static_assert(SEAL_KEYBYTES >= crypto_generichash_KEYBYTES_MIN
               && SEAL_KEYBYTES <= crypto_generichash_KEYBYTES_MAX,
               "a seal key can key BLAKE2b");
_Static_assert(16 >= crypto_generichash_BYTES_MIN, "128-bit hash allowed");

/* ===================================================================== */
/* Sealing                                                                */
/* ===================================================================== */

int seal_value(const seal_key *key, const void *ad, size_t adlen,
               const void *plain, size_t plen, uint8_t *out)
{
    unsigned long long clen = 0;

    if (key == NULL || out == NULL || plen > SEAL_MAX_PLAIN
        || (plain == NULL && plen > 0) || (ad == NULL && adlen > 0))
        return -1;

    randombytes_buf(out, SEAL_NONCEBYTES);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(
            out + SEAL_NONCEBYTES, &clen, plain, plen, ad, adlen, NULL,
            out, seal_key_bytes(key)) != 0
        || clen != (unsigned long long)plen + SEAL_TAGBYTES) {
        sodium_memzero(out, plen + SEAL_OVERHEAD);
        return -1;
    }
    return 0;
}

int seal_open(const seal_key *key, const void *ad, size_t adlen,
              const uint8_t *sealed, size_t clen, void *plain)
{
    unsigned long long mlen = 0;
    size_t plen;

    /* Too short to hold a nonce and a tag: there is no plaintext to zero. */
    if (sealed == NULL || clen < SEAL_OVERHEAD)
        return -1;
    plen = clen - SEAL_OVERHEAD;
    if (plain == NULL && plen > 0)
        return -1;
    if (key == NULL || plen > SEAL_MAX_PLAIN || (ad == NULL && adlen > 0))
        goto fail;

    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain, &mlen, NULL, sealed + SEAL_NONCEBYTES,
            clen - SEAL_NONCEBYTES, ad, adlen, sealed,
            seal_key_bytes(key)) != 0
        || mlen != (unsigned long long)plen)
        goto fail;
    return 0;

fail:
    if (plen > 0)
        sodium_memzero(plain, plen);
    return -1;
}

/* ===================================================================== */
/* Name hashes                                                            */
/* ===================================================================== */

/* BLAKE2b-128 of `name` keyed with `key`.  libsodium documents 16 bytes as
 * the shortest generichash output, so the 64-bit hash is the first half of
 * this one rather than an 8-byte BLAKE2b.  With valid arguments the call
 * cannot fail; a constant hash would silently merge every name, so a
 * failure (a caller passing NULL) stops the process. */
static void seal_name_hash_raw(const seal_key *key, const void *name,
                               size_t len, uint8_t out[16])
{
    if (key == NULL || (name == NULL && len > 0))
        abort();
    if (crypto_generichash(out, 16, name, len, seal_key_bytes(key),
                           SEAL_KEYBYTES) != 0)
        abort();
}

uint64_t seal_name_hash(const seal_key *key, const void *name, size_t len)
{
    uint8_t h[16];
    uint64_t v = 0;

    seal_name_hash_raw(key, name, len, h);
    for (int i = 7; i >= 0; i--)             /* little-endian, any host */
        v = (v << 8) | h[i];
    sodium_memzero(h, sizeof h);
    return v;
}

void seal_name_hash128(const seal_key *key, const void *name, size_t len,
                       uint8_t out[16])
{
    seal_name_hash_raw(key, name, len, out);
}
