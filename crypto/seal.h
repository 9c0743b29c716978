/*
 * seal.h - the crypto module of tenantfs: keys, sealing and opening of values,
 * keyed name hashing, passphrase wrapping of the master key, secure memory.
 *
 * This module knows bytes and keys only: never files, LMDB or FUSE.  It wraps
 * libsodium, which owns the crypto_ and sodium_ prefixes; ours is seal_.
 *
 * Contract
 * --------
 * - Every key is a `seal_key`, an opaque object whose 32 key bytes live in
 *   memory from sodium_malloc() (guarded, mlock()ed, never swapped) and are
 *   wiped by seal_key_free().  Keys are never printed or logged.
 * - Values are sealed with XChaCha20-Poly1305-IETF and a fresh random 24-byte
 *   nonce.  The associated data (AD) given by the caller binds a value to its
 *   place; opening with any other AD, key or a modified ciphertext fails.
 *   Sealed layout: nonce (24) || ciphertext (n) || tag (16): n + SEAL_OVERHEAD.
 * - Functions that open, authenticate or allocate return 0 on success and -1 on
 *   failure (like libsodium) and are marked warn_unused_result.
 * - All functions are thread-safe once seal_init() has returned 0.
 */
#ifndef TENANTFS_SEAL_H
#define TENANTFS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_WUR __attribute__((warn_unused_result))

#define SEAL_KEYBYTES   32u
#define SEAL_NONCEBYTES 24u
#define SEAL_TAGBYTES   16u
/* Bytes a sealed value has beyond its plaintext. */
#define SEAL_OVERHEAD   (SEAL_NONCEBYTES + SEAL_TAGBYTES)

/* Initialise libsodium.  Call once at start-up; returns 0 or -1. */
int seal_init(void) SEAL_WUR;

/* ---- keys --------------------------------------------------------------- */

typedef struct seal_key seal_key;

/* A new random key, or NULL when locked memory cannot be had. */
seal_key *seal_key_new_random(void) SEAL_WUR;

/* A key holding a copy of the SEAL_KEYBYTES bytes at `bytes`; NULL on
 * failure.  The caller wipes its own copy. */
seal_key *seal_key_from_bytes(const uint8_t bytes[SEAL_KEYBYTES]) SEAL_WUR;

/* Derive an independent subkey with crypto_kdf (BLAKE2b): `ctx` is exactly
 * 8 characters naming the purpose (e.g. "tfs-tent"), `id` selects the subkey
 * within it (e.g. the tenant id).  NULL on failure. */
seal_key *seal_key_derive(const seal_key *parent, uint64_t id,
                          const char ctx[8]) SEAL_WUR;

/* Wipe and release a key.  NULL-safe. */
void seal_key_free(seal_key *key);

/* ---- sealing values ----------------------------------------------------- */

/* Seal `plain` (plen bytes) bound to `ad` (adlen bytes) into `out`, which has
 * room for plen + SEAL_OVERHEAD bytes.  `out` must not overlap `plain`.
 * Returns 0, or -1 if plen is absurd (> 1 GiB). */
int seal_value(const seal_key *key, const void *ad, size_t adlen,
               const void *plain, size_t plen, uint8_t *out) SEAL_WUR;

/* Plaintext bytes seal_value() has sealed in this process so far (a cost
 * counter: `tenantctl stats` shows it, tests bound it per operation). */
uint64_t seal_sealed_bytes(void);

/* Open a sealed value of clen bytes into `plain` (room for
 * clen - SEAL_OVERHEAD bytes).  Returns 0, or -1 when the value is too short,
 * was sealed with another key or AD, or was modified.  On failure `plain` is
 * zeroed: data that fails authentication is never returned. */
int seal_open(const seal_key *key, const void *ad, size_t adlen,
              const uint8_t *sealed, size_t clen, void *plain) SEAL_WUR;

/* ---- names -------------------------------------------------------------- */

/* A keyed 64-bit hash (BLAKE2b under `key`) of a name.  Used as the lookup
 * key of directory entries, xattrs and tenant names, so that equal names find
 * each other without the name ever being stored in the clear. */
uint64_t seal_name_hash(const seal_key *key, const void *name, size_t len);

/* A keyed 128-bit hash, for registries where collisions must be negligible
 * across the whole store. */
void seal_name_hash128(const seal_key *key, const void *name, size_t len,
                       uint8_t out[16]);

/* ---- passphrases and the master key ------------------------------------- */

/* Argon2id parameters, stored in the store's header. */
struct seal_kdf_params {
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t salt[16];
};

/* Fill `p` with a new random salt and the default cost (libsodium's
 * INTERACTIVE limits: about 0.1-0.5 s and 64 MiB). */
void seal_kdf_params_default(struct seal_kdf_params *p);

/* Derive the key-encryption key from a passphrase with crypto_pwhash
 * (Argon2id).  Returns 0, or -1 when memory runs out or the parameters are
 * outside libsodium's bounds.  The caller wipes the passphrase. */
int seal_kek_derive(const char *pass, size_t passlen,
                    const struct seal_kdf_params *p, seal_key **kek) SEAL_WUR;

/* Size of a wrapped key: SEAL_KEYBYTES + SEAL_OVERHEAD. */
#define SEAL_WRAPPED_BYTES (SEAL_KEYBYTES + SEAL_OVERHEAD)

/* Wrap (seal) key `k` under `kek`, bound to `ad`. */
int seal_key_wrap(const seal_key *kek, const seal_key *k,
                  const void *ad, size_t adlen,
                  uint8_t out[SEAL_WRAPPED_BYTES]) SEAL_WUR;

/* Unwrap a key; -1 when the kek is wrong (wrong passphrase) or the wrapped
 * bytes or AD were changed. */
int seal_key_unwrap(const seal_key *kek, const void *ad, size_t adlen,
                    const uint8_t in[SEAL_WRAPPED_BYTES],
                    seal_key **k) SEAL_WUR;

/* ---- helpers ------------------------------------------------------------ */

void seal_random(void *buf, size_t len);
uint64_t seal_random_u64(void);

/* Locked, guarded memory for secrets (passphrases): NULL on failure.  Freed
 * (and wiped) with seal_secure_free(), which is NULL-safe. */
void *seal_secure_alloc(size_t len) SEAL_WUR;
void seal_secure_free(void *p);

/* Wipe memory the compiler may not optimise away. */
void seal_wipe(void *p, size_t len);

/* Constant-time comparison: 0 when equal. */
int seal_memcmp(const void *a, const void *b, size_t len);

/* Unkeyed BLAKE2b-256 checksum, for detecting damage (not for secrecy). */
void seal_checksum(const void *data, size_t len, uint8_t out[32]);

#endif
