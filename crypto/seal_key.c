/*
 * seal_key.c - keys and secure memory for the crypto module.
 *
 * This file owns `struct seal_key` and is the only place that allocates,
 * fills or frees one.  A key is 32 bytes in memory from sodium_malloc():
 * page-guarded, mlock()ed (never swapped) and wiped by sodium_free().  Once a
 * key has been filled it is made read-only with sodium_mprotect_readonly()
 * and stays so until it is freed: readers never toggle the protection, so
 * any number of threads may use one key at once, and a stray write into a
 * key faults instead of silently changing it.
 *
 * It also owns the small helpers every other part of tenantfs uses for
 * secrets: libsodium's initialisation, random bytes, locked allocations,
 * wiping, constant-time comparison and the unkeyed damage checksum.
 *
 * The other files of crypto/ reach the key bytes only through
 * seal_key_bytes(), which is internal to the module (not in seal.h).
 */
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Internal to crypto/: used by seal.c and seal_wrap.c. */
#include "seal_internal.h"

/* The whole object lives in one sodium_malloc() allocation; never copied. */
struct seal_key {
    uint8_t bytes[SEAL_KEYBYTES];
};

_Static_assert(SEAL_KEYBYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "seal keys are XChaCha20-Poly1305 keys");
_Static_assert(SEAL_KEYBYTES == crypto_kdf_KEYBYTES,
               "seal keys are crypto_kdf master keys");
_Static_assert(SEAL_KEYBYTES >= crypto_kdf_BYTES_MIN
               && SEAL_KEYBYTES <= crypto_kdf_BYTES_MAX,
               "crypto_kdf can derive a seal key");
_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "kdf contexts are 8 characters");

int seal_init(void)
{
    /* sodium_init() returns 0 the first time, 1 when already initialised. */
    return sodium_init() < 0 ? -1 : 0;
}

/* ===================================================================== */
/* Keys                                                                   */
/* ===================================================================== */

/* A new, zeroed, writable key object; NULL when locked memory runs out. */
static seal_key *seal_key_alloc(void)
{
    seal_key *key = sodium_malloc(sizeof *key);

    if (key != NULL)
        sodium_memzero(key->bytes, sizeof key->bytes);
    return key;
}

/* Make a filled key read-only for the rest of its life.  On failure the key
 * is freed and NULL returned, so callers can write `return seal_key_finish(k)`. */
static seal_key *seal_key_finish(seal_key *key)
{
    if (sodium_mprotect_readonly(key) != 0) {
        seal_key_free(key);
        return NULL;
    }
    return key;
}

seal_key *seal_key_new_random(void)
{
    seal_key *key = seal_key_alloc();

    if (key == NULL)
        return NULL;
    crypto_aead_xchacha20poly1305_ietf_keygen(key->bytes);
    return seal_key_finish(key);
}

seal_key *seal_key_from_bytes(const uint8_t bytes[SEAL_KEYBYTES])
{
    seal_key *key;

    if (bytes == NULL)
        return NULL;
    key = seal_key_alloc();
    if (key == NULL)
        return NULL;
    memcpy(key->bytes, bytes, SEAL_KEYBYTES);
    return seal_key_finish(key);
}

seal_key *seal_key_derive(const seal_key *parent, uint64_t id,
                          const char ctx[8])
{
    seal_key *key = NULL;

    /* A context is exactly 8 characters: a shorter string would otherwise
     * silently pull its terminator (and whatever follows) into the context. */
    if (parent == NULL || ctx == NULL || strnlen(ctx, 8) != 8)
        goto fail;
    key = seal_key_alloc();
    if (key == NULL)
        goto fail;
    if (crypto_kdf_derive_from_key(key->bytes, sizeof key->bytes, id, ctx,
                                   parent->bytes) != 0)
        goto fail;
    return seal_key_finish(key);

fail:
    seal_key_free(key);
    return NULL;
}

void seal_key_free(seal_key *key)
{
    /* sodium_free() makes the pages writable again, wipes and unlocks them;
     * it is a no-op for NULL. */
    sodium_free(key);
}

const uint8_t *seal_key_bytes(const seal_key *key)
{
    return key->bytes;
}

/* ===================================================================== */
/* Helpers                                                                */
/* ===================================================================== */

void seal_random(void *buf, size_t len)
{
    if (len > 0)
        randombytes_buf(buf, len);
}

uint64_t seal_random_u64(void)
{
    uint64_t v;

    randombytes_buf(&v, sizeof v);
    return v;
}

void *seal_secure_alloc(size_t len)
{
    void *p;

    if (len == 0)
        len = 1;                     /* a valid, unique, freeable pointer */
    p = sodium_malloc(len);
    if (p != NULL)
        sodium_memzero(p, len);      /* sodium_malloc fills with 0xdb */
    return p;
}

void seal_secure_free(void *p)
{
    sodium_free(p);                  /* NULL-safe; wipes before releasing */
}

void seal_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        sodium_memzero(p, len);
}

int seal_memcmp(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return 0;
    return sodium_memcmp(a, b, len) == 0 ? 0 : -1;
}

void seal_checksum(const void *data, size_t len, uint8_t out[32])
{
    /* 32 bytes, no key, any input length: crypto_generichash cannot fail
     * with these arguments; if it ever did, returning a stale checksum would
     * hide damage, so stop instead. */
    if (crypto_generichash(out, 32, data, len, NULL, 0) != 0)
        abort();
}
