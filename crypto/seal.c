/*
 * seal.c - sealing and opening of values, and keyed name hashing.
 *
 * This file owns the sealed-value format every layer above stores:
 *
 *     offset  size  field
 *          0    24  nonce: unique for every seal (below)
 *         24     n  ciphertext: XChaCha20 of the n plaintext bytes
 *       24+n    16  tag: Poly1305 over the AD and the ciphertext
 *
 * (libsodium's crypto_aead_xchacha20poly1305_ietf; the nonce is not part of
 * the AD because the AEAD already authenticates it through the key stream.)
 * A sealed value is valid only if the tag verifies under the same key and
 * the exact same associated data; anything else opens to all zeros and -1,
 * so a caller can never use bytes that failed authentication.
 *
 * Nonces: 16 random bytes drawn once per thread (and again in a forked
 * child) followed by a 64-bit per-thread counter.  XChaCha20 needs nothing
 * but uniqueness per key: two threads, processes or runs collide only if
 * their 128-bit random prefixes do (about 2^-128 per pair), and one thread
 * never repeats a counter.  This saves a getrandom(2) call per seal, which
 * is several per filesystem operation.
 *
 * It also owns the keyed name hashes: BLAKE2b under a name key, so equal
 * names find each other while the hash reveals nothing without the key.
 */
#include "seal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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
/* Nonces                                                                 */
/* ===================================================================== */

static _Atomic unsigned seal_fork_gen;   /* bumped in every forked child */
static pthread_once_t seal_fork_once = PTHREAD_ONCE_INIT;

static _Thread_local struct {
    uint8_t prefix[16];
    uint64_t counter;
    unsigned gen;
    bool ready;
} seal_nonce_state;

static void seal_fork_child(void)
{
    atomic_fetch_add(&seal_fork_gen, 1);
}

static void seal_fork_register(void)
{
    (void)pthread_atfork(NULL, NULL, seal_fork_child);
}

static void seal_nonce_next(uint8_t out[SEAL_NONCEBYTES])
{
    unsigned gen;

    (void)pthread_once(&seal_fork_once, seal_fork_register);
    gen = atomic_load(&seal_fork_gen);
    if (!seal_nonce_state.ready || seal_nonce_state.gen != gen) {
        randombytes_buf(seal_nonce_state.prefix, sizeof seal_nonce_state.prefix);
        seal_nonce_state.counter = 0;
        seal_nonce_state.gen = gen;
        seal_nonce_state.ready = true;
    }
    _Static_assert(SEAL_NONCEBYTES == 16 + 8, "prefix and counter");
    memcpy(out, seal_nonce_state.prefix, 16);
    uint64_t c = seal_nonce_state.counter++;
    for (int i = 0; i < 8; i++)
        out[16 + i] = (uint8_t)(c >> (8 * i));
}

/* ===================================================================== */
/* Sealing                                                                */
/* ===================================================================== */

/* Plaintext bytes sealed by this process (seal_sealed_bytes). */
static _Atomic uint64_t seal_counted_bytes;

uint64_t seal_sealed_bytes(void)
{
    return atomic_load_explicit(&seal_counted_bytes, memory_order_relaxed);
}

int seal_value(const seal_key *key, const void *ad, size_t adlen,
               const void *plain, size_t plen, uint8_t *out)
{
    unsigned long long clen = 0;

    if (key == NULL || out == NULL || plen > SEAL_MAX_PLAIN
        || (plain == NULL && plen > 0) || (ad == NULL && adlen > 0))
        return -1;

    seal_nonce_next(out);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(
            out + SEAL_NONCEBYTES, &clen, plain, plen, ad, adlen, NULL,
            out, seal_key_bytes(key)) != 0
        || clen != (unsigned long long)plen + SEAL_TAGBYTES) {
        sodium_memzero(out, plen + SEAL_OVERHEAD);
        return -1;
    }
    atomic_fetch_add_explicit(&seal_counted_bytes, plen, memory_order_relaxed);
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
