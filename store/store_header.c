/*
 * store_header.c - the store's key header, STORE/tenantfs.hdr.
 *
 * This file owns the only on-disk structure outside LMDB: the header that
 * says "this folder is a tenantfs store", names the key-derivation function
 * and its parameters, and holds the master key wrapped under the key
 * derived from the passphrase.  It reads, checks, writes and rewraps it
 * (store_passwd lives here because a passphrase change touches nothing
 * else).  Nothing here ever prints or logs a passphrase or key.
 *
 * Format, version 1 (172 bytes, all integers little-endian):
 *
 *   offset size  field
 *        0    8  magic "TENANTFS" (ASCII, no NUL)
 *        8    4  u32 format version = 1
 *       12    4  u32 flags = 0 (reserved; must be carried over on rewrite)
 *       16   16  store id: random bytes chosen at store_create()
 *       32    4  u32 kdf algorithm: 1 = Argon2id v1.3 (crypto_pwhash)
 *       36    8  u64 opslimit
 *       44    8  u64 memlimit (bytes)
 *       52   16  salt
 *       68   72  wrapped master key (SEAL_WRAPPED_BYTES: nonce, ct, tag)
 *      140   32  BLAKE2b-256 (seal_checksum) of bytes 0..139
 *      172       end
 *
 * The wrap's associated data is bytes 0..67: magic, version, flags, store id
 * and every KDF parameter, so none can be changed without the unwrap failing.
 *
 * Validity, checked in this order when reading:
 *   - no file                                  -> STORE_ENOTSTORE
 *   - shorter than 8 bytes or magic differs    -> STORE_ENOTSTORE
 *   - size is not 172: a version field other than 1 -> STORE_EVERSION,
 *     otherwise                                -> STORE_EDAMAGED
 *   - checksum differs                         -> STORE_EDAMAGED
 *   - version != 1 or kdf algorithm != 1       -> STORE_EVERSION
 *   - KDF parameters out of sane bounds        -> STORE_EDAMAGED
 *   - unwrap fails (checksum was fine)         -> STORE_EBADKEY
 *
 * Writing is atomic: a temporary file (mode 0600) in the store folder is
 * written and fsync()ed, renamed over tenantfs.hdr, and the folder fsync()ed.
 *
 * Test-only: with TENANTFS_TEST_FAST_KDF=1 in the environment, new headers
 * (store_create, store_passwd) use Argon2id's minimum cost (opslimit 1,
 * memlimit 8192) so unit tests run fast.  The parameters are stored in the
 * header, so opening needs nothing.  Never set it for a real store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define HDR_MAGIC        "TENANTFS"
#define HDR_VERSION      1u
#define HDR_KDF_ARGON2ID 1u
#define HDR_OFF_VERSION  8u
#define HDR_OFF_FLAGS    12u
#define HDR_OFF_ID       16u
#define HDR_OFF_KDF      32u
#define HDR_OFF_OPS      36u
#define HDR_OFF_MEM      44u
#define HDR_OFF_SALT     52u
#define HDR_OFF_WRAPPED  68u
#define HDR_OFF_SUM      (HDR_OFF_WRAPPED + SEAL_WRAPPED_BYTES)
#define HDR_SIZE         (HDR_OFF_SUM + 32u)

_Static_assert(HDR_SIZE == 172, "header layout");

/* The fields of a header, decoded. */
struct store_header {
    uint32_t version, flags, kdf_alg;
    uint8_t id[16];
    struct seal_kdf_params kdf;
    uint8_t wrapped[SEAL_WRAPPED_BYTES];
};

/* ===================================================================== */
/* Encoding                                                               */
/* ===================================================================== */

static void hdr_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

static void hdr_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

static uint32_t hdr_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t hdr_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Encode everything but the wrapped key and checksum (the wrap's AD). */
static void store_header_encode_ad(const struct store_header *h,
                                   uint8_t buf[HDR_SIZE])
{
    memcpy(buf, HDR_MAGIC, 8);
    hdr_put_le32(buf + HDR_OFF_VERSION, h->version);
    hdr_put_le32(buf + HDR_OFF_FLAGS, h->flags);
    memcpy(buf + HDR_OFF_ID, h->id, 16);
    hdr_put_le32(buf + HDR_OFF_KDF, h->kdf_alg);
    hdr_put_le64(buf + HDR_OFF_OPS, h->kdf.opslimit);
    hdr_put_le64(buf + HDR_OFF_MEM, h->kdf.memlimit);
    memcpy(buf + HDR_OFF_SALT, h->kdf.salt, 16);
}

static void store_header_encode(const struct store_header *h,
                                uint8_t buf[HDR_SIZE])
{
    store_header_encode_ad(h, buf);
    memcpy(buf + HDR_OFF_WRAPPED, h->wrapped, SEAL_WRAPPED_BYTES);
    seal_checksum(buf, HDR_OFF_SUM, buf + HDR_OFF_SUM);
}

static store_err store_header_decode(const uint8_t *buf, size_t len,
                                     struct store_header *h)
{
    uint8_t sum[32];

    if (len < 8 || memcmp(buf, HDR_MAGIC, 8) != 0)
        return STORE_ENOTSTORE;
    if (len != HDR_SIZE) {
        if (len >= HDR_OFF_FLAGS && hdr_get_le32(buf + HDR_OFF_VERSION) != HDR_VERSION)
            return STORE_EVERSION;
        return STORE_EDAMAGED;
    }
    seal_checksum(buf, HDR_OFF_SUM, sum);
    if (seal_memcmp(sum, buf + HDR_OFF_SUM, sizeof sum) != 0)
        return STORE_EDAMAGED;
    h->version = hdr_get_le32(buf + HDR_OFF_VERSION);
    h->flags = hdr_get_le32(buf + HDR_OFF_FLAGS);
    memcpy(h->id, buf + HDR_OFF_ID, 16);
    h->kdf_alg = hdr_get_le32(buf + HDR_OFF_KDF);
    h->kdf.opslimit = hdr_get_le64(buf + HDR_OFF_OPS);
    h->kdf.memlimit = hdr_get_le64(buf + HDR_OFF_MEM);
    memcpy(h->kdf.salt, buf + HDR_OFF_SALT, 16);
    memcpy(h->wrapped, buf + HDR_OFF_WRAPPED, SEAL_WRAPPED_BYTES);
    if (h->version != HDR_VERSION || h->kdf_alg != HDR_KDF_ARGON2ID)
        return STORE_EVERSION;
    /* Bounds of crypto_pwhash_argon2id: at least 1 pass and 8 KiB; more
     * than 4 GiB of memory is not something we ever write. */
    if (h->kdf.opslimit < 1 || h->kdf.opslimit > 0xffffffffu ||
        h->kdf.memlimit < 8192 || h->kdf.memlimit > ((uint64_t)4 << 30))
        return STORE_EDAMAGED;
    return STORE_OK;
}

/* ===================================================================== */
/* Files                                                                  */
/* ===================================================================== */

static char *store_header_path(const char *dir)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, STORE_HDR_NAME) < 0)
        return NULL;
    return p;
}

static store_err store_header_read(const char *dir, struct store_header *h)
{
    uint8_t buf[HDR_SIZE + 1];
    size_t len = 0;
    store_err err = STORE_OK;
    char *path = store_header_path(dir);
    int fd = -1;

    if (!path)
        return STORE_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno == ENOENT ? STORE_ENOTSTORE : store_from_errno(errno);
        goto out;
    }
    while (len < sizeof buf) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = store_from_errno(errno);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    err = store_header_decode(buf, len, h);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return err;
}

static int store_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static store_err store_header_write(const char *dir, const struct store_header *h)
{
    uint8_t buf[HDR_SIZE];
    char *tmp = NULL, *path = store_header_path(dir);
    store_err err = STORE_OK;
    int fd = -1, dfd = -1;

    if (!path || asprintf(&tmp, "%s/.%s.XXXXXX", dir, STORE_HDR_NAME) < 0) {
        tmp = NULL;
        err = STORE_ENOMEM;
        goto out;
    }
    store_header_encode(h, buf);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        tmp = NULL;
        err = store_from_errno(errno);
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || store_write_all(fd, buf, sizeof buf) != 0 ||
        fsync(fd) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = store_from_errno(errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        err = store_from_errno(errno);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(path);
    return err;
}

/* ===================================================================== */
/* Keys                                                                   */
/* ===================================================================== */

static void store_kdf_params_pick(struct seal_kdf_params *p)
{
    const char *fast = getenv("TENANTFS_TEST_FAST_KDF");

    seal_kdf_params_default(p);
    if (fast && strcmp(fast, "1") == 0) {   /* test-only, see above */
        p->opslimit = 1;
        p->memlimit = 8192;
    }
}

/* Wrap `master` into `h` under a new salt and the passphrase. */
static store_err store_header_wrap(struct store_header *h, const seal_key *master,
                                   const char *pass, size_t passlen)
{
    uint8_t ad[HDR_SIZE];
    seal_key *kek = NULL;
    store_err err = STORE_OK;

    if (!pass || passlen == 0)
        return STORE_EINVAL;
    store_kdf_params_pick(&h->kdf);
    h->kdf_alg = HDR_KDF_ARGON2ID;
    if (seal_kek_derive(pass, passlen, &h->kdf, &kek) != 0) {
        err = STORE_ENOMEM;
        goto out;
    }
    store_header_encode_ad(h, ad);
    if (seal_key_wrap(kek, master, ad, HDR_OFF_WRAPPED, h->wrapped) != 0)
        err = STORE_EIO;
out:
    seal_key_free(kek);
    return err;
}

static store_err store_header_open_key(const struct store_header *h,
                                       const char *pass, size_t passlen,
                                       seal_key **master)
{
    uint8_t ad[HDR_SIZE];
    seal_key *kek = NULL;
    store_err err = STORE_OK;

    if (!pass || passlen == 0)
        return STORE_EBADKEY;
    if (seal_kek_derive(pass, passlen, &h->kdf, &kek) != 0)
        return STORE_ENOMEM;
    store_header_encode_ad(h, ad);
    if (seal_key_unwrap(kek, ad, HDR_OFF_WRAPPED, h->wrapped, master) != 0)
        err = STORE_EBADKEY;
    seal_key_free(kek);
    return err;
}

/* Write the header of a new store: a fresh store id, `master` wrapped. */
store_err store_header_create(const char *dir, const seal_key *master,
                              const char *pass, size_t passlen)
{
    struct store_header h = { .version = HDR_VERSION, .flags = 0 };
    store_err err;

    seal_random(h.id, sizeof h.id);
    err = store_header_wrap(&h, master, pass, passlen);
    if (err == STORE_OK)
        err = store_header_write(dir, &h);
    seal_wipe(&h, sizeof h);
    return err;
}

/* Read and check the header, derive the kek and unwrap the master key. */
store_err store_header_unlock(const char *dir, const char *pass,
                              size_t passlen, seal_key **master)
{
    struct store_header h;
    store_err err;

    if (seal_init() != 0)
        return STORE_ENOMEM;
    err = store_header_read(dir, &h);
    if (err == STORE_OK)
        err = store_header_open_key(&h, pass, passlen, master);
    seal_wipe(&h, sizeof h);
    return err;
}

store_err store_passwd(const char *dir, const char *oldpass, size_t oldlen,
                       const char *newpass, size_t newlen)
{
    struct store_header h;
    seal_key *master = NULL;
    store_err err;

    if (!newpass || newlen == 0)
        return STORE_EINVAL;
    if (seal_init() != 0)
        return STORE_ENOMEM;
    err = store_header_read(dir, &h);
    if (err != STORE_OK)
        goto out;
    err = store_header_open_key(&h, oldpass, oldlen, &master);
    if (err != STORE_OK)
        goto out;
    /* Same store id and flags; new salt and cost. */
    err = store_header_wrap(&h, master, newpass, newlen);
    if (err == STORE_OK)
        err = store_header_write(dir, &h);
out:
    seal_key_free(master);
    seal_wipe(&h, sizeof h);
    return err;
}
