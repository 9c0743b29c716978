/*
 * fuzz_inode.c - libFuzzer target of the inode record decoder
 * (store_inode_get: length check, seal_open, store_inode_decode).
 *
 * Input: a mode byte, then bytes.  Mode odd: the bytes are a plaintext
 * record, sealed here under the tenant's key and the record's AD (so the
 * decoder behind the AEAD is reached); mode even: the bytes are the stored
 * value itself.  Either way the value is put under inode FUZZ_INO in a
 * write transaction that is aborted afterwards.
 *
 * Properties: the decoder accepts exactly the values that open under the
 * AD to a valid version-1 record as store_inode.c documents it (89 bytes,
 * version 1, nanoseconds < 10^9); an accepted record, stored again with
 * store_inode_put, opens to the very same plaintext.
 */
#include "fuzz_tenant.h"

#define FUZZ_INO   2u
#define INODE_LEN  89u

static void inode_ad(uint8_t ad[17], uint64_t ino)
{
    ad[0] = 'I';
    store_put_be64(ad + 1, FUZZ_TENANT_ID);
    store_put_be64(ad + 9, ino);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
           | (uint32_t)p[3] << 24;
}

/* The documented rules, independently of store_inode.c. */
static int inode_plain_valid(const uint8_t *p, size_t len)
{
    return len == INODE_LEN && p[0] == 1 && le32(p + 61) < 1000000000u
           && le32(p + 73) < 1000000000u && le32(p + 85) < 1000000000u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_tenant *t = fuzz_tenant();
    uint8_t kbuf[8], ad[17], *val = NULL, *plain = NULL;
    size_t vlen, plen = 0;
    int have_plain = 0;
    struct store_inode in;
    MDB_txn *txn = NULL;
    MDB_val v;

    if (size < 1 || size > 4096)
        return 0;
    inode_ad(ad, FUZZ_INO);
    store_put_be64(kbuf, FUZZ_INO);
    if (data[0] & 1) {                    /* seal the plaintext here */
        plen = size - 1;
        vlen = plen + SEAL_OVERHEAD;
        val = malloc(vlen);
        plain = malloc(plen + 1);
        FUZZ_ASSERT(val && plain);
        memcpy(plain, data + 1, plen);
        FUZZ_ASSERT(seal_value(t->key, ad, sizeof ad, plain, plen, val) == 0);
        have_plain = 1;
    } else {                              /* the stored value as given */
        vlen = size - 1;
        val = malloc(vlen + 1);
        plain = malloc(vlen + 1);
        FUZZ_ASSERT(val && plain);
        memcpy(val, data + 1, vlen);
        if (vlen >= SEAL_OVERHEAD
            && seal_open(t->key, ad, sizeof ad, val, vlen, plain) == 0) {
            plen = vlen - SEAL_OVERHEAD;
            have_plain = 1;
        }
    }

    FUZZ_ASSERT(store_txn_begin(t, true, &txn) == STORE_OK);
    FUZZ_ASSERT(mdb_put(txn, t->inodes, &(MDB_val){ 8, kbuf },
                        &(MDB_val){ vlen, val }, 0) == 0);
    store_err err = store_inode_get(t, txn, FUZZ_INO, &in);
    int valid = have_plain && inode_plain_valid(plain, plen);
    FUZZ_ASSERT(err == (valid ? STORE_OK : STORE_EIO));
    if (err == STORE_OK) {
        /* Round trip: encode what was decoded, open it, compare. */
        uint8_t again[INODE_LEN];
        FUZZ_ASSERT(store_inode_put(t, txn, FUZZ_INO, &in) == STORE_OK);
        FUZZ_ASSERT(mdb_get(txn, t->inodes, &(MDB_val){ 8, kbuf }, &v) == 0);
        FUZZ_ASSERT(v.mv_size == INODE_LEN + SEAL_OVERHEAD);
        FUZZ_ASSERT(seal_open(t->key, ad, sizeof ad, v.mv_data, v.mv_size,
                              again) == 0);
        FUZZ_ASSERT(memcmp(again, plain, INODE_LEN) == 0);
        t->d_bytes = t->d_records = 0;
    }
    mdb_txn_abort(txn);
    free(val);
    free(plain);
    return 0;
}
