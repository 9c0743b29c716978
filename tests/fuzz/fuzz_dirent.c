/*
 * fuzz_dirent.c - libFuzzer target of the directory entry decoder
 * (store_dirent_open behind store_dirent_find and store_readdir).
 *
 * Input: a mode byte, then bytes.  Mode odd: the bytes are an entry's
 * plaintext (ino 8 LE || type 4 LE || name), sealed here under the
 * tenant's key at the slot of its name (the slot of "fuzz" when the name
 * is not a valid one); mode even: the bytes are the stored value itself,
 * put at the slot of "fuzz".  The entry goes into the root folder, is
 * found, listed, and removed again.
 *
 * Properties: an entry is accepted (found, listed) exactly when it opens
 * under its slot's AD to a plaintext store_dirent.c documents: 12 bytes of
 * head, type bits inside S_IFMT, a name that store_name_check() allows;
 * the listing gives back its ino, type and name; written again with
 * store_dirent_put it opens to the same plaintext.
 */
#include <sys/stat.h>

#include "fuzz_tenant.h"

#define HEAD 12u

static uint64_t cookie_of(store_tenant *t, const char *name, size_t len)
{
    uint64_t c = seal_name_hash(t->namekey, name, len) & 0x7fffffffffffffffULL;
    return c < 3 ? c + 3 : c;
}

static void dirent_ad(uint8_t ad[25], uint64_t parent, uint64_t cookie)
{
    ad[0] = 'D';
    store_put_be64(ad + 1, FUZZ_TENANT_ID);
    store_put_be64(ad + 9, parent);
    store_put_be64(ad + 17, cookie);
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int plain_valid(const uint8_t *p, size_t len)
{
    return len > HEAD && (le(p + 8, 4) & ~(uint64_t)S_IFMT) == 0
           && store_name_check((const char *)p + HEAD, len - HEAD) == STORE_OK;
}

struct seen { int n; uint64_t ino, cookie; uint32_t mode; size_t len; char name[256]; };

static int list_cb(const char *name, size_t len, const struct store_attr *a,
                   uint64_t cookie, void *arg)
{
    struct seen *s = arg;
    FUZZ_ASSERT(len <= STORE_NAME_MAX && name[len] == '\0');
    s->n++;
    s->ino = a->ino;
    s->mode = a->mode;
    s->cookie = cookie;
    s->len = len;
    memcpy(s->name, name, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_tenant *t = fuzz_tenant();
    uint8_t kbuf[16], ad[25], *val, *plain;
    size_t vlen, plen = 0;
    int have_plain = 0;
    const char *name = "fuzz";
    size_t namelen = 4;
    struct store_dirent_hit hit;
    struct seen seen = { 0 };
    MDB_txn *txn = NULL;
    MDB_val v;

    if (size < 1 || size > 4096)
        return 0;
    val = malloc(size + SEAL_OVERHEAD);
    plain = malloc(size + SEAL_OVERHEAD);
    FUZZ_ASSERT(val && plain);
    if (data[0] & 1) {
        plen = size - 1;
        memcpy(plain, data + 1, plen);
        if (plain_valid(plain, plen)) {
            name = (const char *)plain + HEAD;
            namelen = plen - HEAD;
        }
        have_plain = 1;
    }
    uint64_t cookie = cookie_of(t, name, namelen);
    dirent_ad(ad, STORE_ROOT_INO, cookie);
    if (have_plain) {
        vlen = plen + SEAL_OVERHEAD;
        FUZZ_ASSERT(seal_value(t->key, ad, sizeof ad, plain, plen, val) == 0);
    } else {
        vlen = size - 1;
        memcpy(val, data + 1, vlen);
        if (vlen >= SEAL_OVERHEAD
            && seal_open(t->key, ad, sizeof ad, val, vlen, plain) == 0) {
            plen = vlen - SEAL_OVERHEAD;
            have_plain = 1;
        }
    }
    int valid = have_plain && plain_valid(plain, plen);
    /* The name searched for: the entry's own when it has a valid one. */
    if (valid) {
        name = (const char *)plain + HEAD;
        namelen = plen - HEAD;
        FUZZ_ASSERT(cookie_of(t, name, namelen) == cookie);
    }
    store_put_be64(kbuf, STORE_ROOT_INO);
    store_put_be64(kbuf + 8, cookie);

    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    FUZZ_ASSERT(mdb_put(txn, t->dirents, &(MDB_val){ 16, kbuf },
                        &(MDB_val){ vlen, val }, 0) == 0);
    store_err err = store_dirent_find(t, txn, STORE_ROOT_INO, name, namelen, &hit);
    FUZZ_ASSERT(err == (valid ? STORE_OK : STORE_EIO));
    if (valid) {
        FUZZ_ASSERT(hit.found && hit.cookie == cookie);
        FUZZ_ASSERT(hit.ino == le(plain, 8) && hit.type == le(plain + 8, 4));
        /* Round trip through the encoder. */
        uint8_t again[HEAD + STORE_NAME_MAX];
        FUZZ_ASSERT(store_dirent_put(t, txn, STORE_ROOT_INO, cookie, hit.ino,
                                     hit.type, name, namelen) == STORE_OK);
        FUZZ_ASSERT(mdb_get(txn, t->dirents, &(MDB_val){ 16, kbuf }, &v) == 0);
        FUZZ_ASSERT(v.mv_size == plen + SEAL_OVERHEAD);
        FUZZ_ASSERT(seal_open(t->key, ad, sizeof ad, v.mv_data, v.mv_size,
                              again) == 0);
        FUZZ_ASSERT(memcmp(again, plain, plen) == 0);
    }
    FUZZ_ASSERT(store_txn_commit(txn) == STORE_OK);

    /* The listing decodes the same value. */
    err = store_readdir(t, STORE_ROOT_INO, 0, false, list_cb, &seen);
    FUZZ_ASSERT(err == (valid ? STORE_OK : STORE_EIO));
    if (valid) {
        FUZZ_ASSERT(seen.n == 1 && seen.cookie == cookie);
        FUZZ_ASSERT(seen.ino == le(plain, 8) && seen.mode == le(plain + 8, 4));
        FUZZ_ASSERT(seen.len == namelen && memcmp(seen.name, name, namelen) == 0);
    }

    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    FUZZ_ASSERT(store_dirent_del(t, txn, STORE_ROOT_INO, cookie) == STORE_OK);
    FUZZ_ASSERT(store_txn_commit(txn) == STORE_OK);
    free(val);
    free(plain);
    return 0;
}
