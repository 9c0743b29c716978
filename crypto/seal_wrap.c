/*
 * seal_wrap.c - passphrases and the wrapping of the master key.
 *
 * This file owns the path from a passphrase to the master key: Argon2id
 * (crypto_pwhash, ALG_ARGON2ID13) turns passphrase + salt + cost into a
 * key-encryption key (kek), and the master key is stored only sealed under
 * that kek.  Changing the passphrase therefore rewraps 32 bytes and never
 * touches data.
 *
 * A wrapped key is an ordinary sealed value (see seal.c) whose plaintext is
 * the 32 key bytes: nonce (24) || sealed key (32) || tag (16) = 72 bytes.
 * The caller's AD binds it to its place (the store header).
 *
 * Every secret byte this file produces (the derived kek, the unwrapped key)
 * is written straight into locked memory from seal_secure_alloc() and wiped
 * there; none passes through the stack.
 */
#include "seal.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

/* Internal to crypto/: defined in seal_key.c. */
#include "seal_internal.h"

_Static_assert(SEAL_KEYBYTES >= crypto_pwhash_argon2id_BYTES_MIN,
               "Argon2id can derive a seal key");
_Static_assert(sizeof(((struct seal_kdf_params *)0)->salt)
               == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(SEAL_WRAPPED_BYTES == SEAL_KEYBYTES + SEAL_OVERHEAD,
               "wrapped key layout");

void seal_kdf_params_default(struct seal_kdf_params *p)
{
    p->opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    p->memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
    randombytes_buf(p->salt, sizeof p->salt);
}

/* 0 when the parameters are inside libsodium's bounds for Argon2id.  The
 * header that holds them is read from disk, so they are checked here rather
 * than trusted: an absurd memlimit must fail cleanly, not allocate. */
static int seal_kdf_params_check(const struct seal_kdf_params *p,
                                 size_t passlen)
{
    if (p->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN
        || p->opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX)
        return -1;
    if (p->memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN
        || p->memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX
        || p->memlimit > SIZE_MAX)
        return -1;
    /* PASSWD_MIN is 0: an empty passphrase is allowed (and weak). */
    if (passlen > crypto_pwhash_argon2id_PASSWD_MAX)
        return -1;
    return 0;
}

int seal_kek_derive(const char *pass, size_t passlen,
                    const struct seal_kdf_params *p, seal_key **kek)
{
    uint8_t *buf = NULL;
    int rc = -1;

    if (kek == NULL)
        return -1;
    *kek = NULL;
    if (p == NULL || (pass == NULL && passlen > 0)
        || seal_kdf_params_check(p, passlen) != 0)
        goto out;

    buf = seal_secure_alloc(SEAL_KEYBYTES);
    if (buf == NULL)
        goto out;
    /* -1 here means Argon2id could not get its memory. */
    if (crypto_pwhash(buf, SEAL_KEYBYTES, pass == NULL ? "" : pass,
                      (unsigned long long)passlen, p->salt,
                      (unsigned long long)p->opslimit, (size_t)p->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        goto out;
    *kek = seal_key_from_bytes(buf);
    if (*kek == NULL)
        goto out;
    rc = 0;

out:
    seal_secure_free(buf);           /* wipes */
    return rc;
}

int seal_key_wrap(const seal_key *kek, const seal_key *k,
                  const void *ad, size_t adlen,
                  uint8_t out[SEAL_WRAPPED_BYTES])
{
    if (kek == NULL || k == NULL || out == NULL)
        return -1;
    /* The plaintext is read in place from the key's locked pages. */
    return seal_value(kek, ad, adlen, seal_key_bytes(k), SEAL_KEYBYTES, out);
}

int seal_key_unwrap(const seal_key *kek, const void *ad, size_t adlen,
                    const uint8_t in[SEAL_WRAPPED_BYTES], seal_key **k)
{
    uint8_t *buf = NULL;
    int rc = -1;

    if (k == NULL)
        return -1;
    *k = NULL;
    if (kek == NULL || in == NULL)
        goto out;

    buf = seal_secure_alloc(SEAL_KEYBYTES);
    if (buf == NULL)
        goto out;
    /* Wrong passphrase (wrong kek), changed bytes or changed AD. */
    if (seal_open(kek, ad, adlen, in, SEAL_WRAPPED_BYTES, buf) != 0)
        goto out;
    *k = seal_key_from_bytes(buf);
    if (*k == NULL)
        goto out;
    rc = 0;

out:
    seal_secure_free(buf);           /* wipes */
    return rc;
}
