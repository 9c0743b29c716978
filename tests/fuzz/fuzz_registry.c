/*
 * fuzz_registry.c - libFuzzer target of the tenant registry record decoder
 * (store_reg_record_get in store_registry.c).
 *
 * A registry env with its "tenants" table is made in the scratch folder
 * (MDB_NOSYNC) and a `struct store` holding just it and the registry key.
 * Input: a mode byte, then bytes: mode odd, a record plaintext sealed here
 * under the AD "T" || id; mode even, the stored value as given.  The value
 * is put under id FUZZ_TENANT_ID in a write transaction, decoded, aborted.
 *
 * Properties: accepted exactly when the value opens to a record that
 * store_registry.c documents (version 1 or 2, name length 1..255 with no
 * NUL, total length fixed part + n, version 2 mode <= 07777); the decoded
 * fields are those bytes; a version 2 record sealed again by
 * store_reg_record_put opens to the same plaintext.
 */
#include "fuzz_store.h"
#include "store_registry_int.h"

#define ID 7u

static struct store fuzz_s;

static void reg_close(void)
{
    mdb_env_close(fuzz_s.reg_env);
}

static struct store *reg_store(void)
{
    char path[128];
    MDB_txn *txn;

    if (fuzz_s.reg_env != NULL)
        return &fuzz_s;
    snprintf(path, sizeof path, "%s/registry", fuzz_dir());
    FUZZ_ASSERT(mkdir(path, 0700) == 0);
    FUZZ_ASSERT(mdb_env_create(&fuzz_s.reg_env) == 0);
    FUZZ_ASSERT(mdb_env_set_maxdbs(fuzz_s.reg_env, 4) == 0);
    FUZZ_ASSERT(mdb_env_set_mapsize(fuzz_s.reg_env, (size_t)16 << 20) == 0);
    FUZZ_ASSERT(mdb_env_open(fuzz_s.reg_env, path, MDB_NOSYNC, 0600) == 0);
    atexit(reg_close);
    FUZZ_ASSERT(mdb_txn_begin(fuzz_s.reg_env, NULL, 0, &txn) == 0);
    FUZZ_ASSERT(mdb_dbi_open(txn, "tenants", MDB_CREATE, &fuzz_s.reg_tenants) == 0);
    FUZZ_ASSERT(mdb_txn_commit(txn) == 0);
    fuzz_s.regkey = fuzz_key();
    return &fuzz_s;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static int rec_valid(const uint8_t *p, size_t len)
{
    size_t n;
    if (len < 3 || (p[0] != 1 && p[0] != 2))
        return 0;
    n = (size_t)be(p + 1, 2);
    if (n == 0 || n > 255 || len != (p[0] == 1 ? 27u : 39u) + n
        || memchr(p + 3, '\0', n) != NULL)
        return 0;
    return p[0] == 1 || be(p + 35 + n, 4) <= 07777;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store *s = reg_store();
    uint8_t key[8], ad[9] = { 'T' }, *val, *plain;
    size_t vlen, plen = 0;
    int have_plain = 0;
    struct store_tenant_info info;
    bool owner_known = false;
    MDB_txn *txn;
    MDB_val v;

    if (size < 1 || size > 4096)
        return 0;
    store_put_be64(key, ID);
    store_put_be64(ad + 1, ID);
    val = malloc(size + SEAL_OVERHEAD);
    plain = malloc(size + SEAL_OVERHEAD);
    FUZZ_ASSERT(val && plain);
    if (data[0] & 1) {
        plen = size - 1;
        memcpy(plain, data + 1, plen);
        vlen = plen + SEAL_OVERHEAD;
        FUZZ_ASSERT(seal_value(s->regkey, ad, sizeof ad, plain, plen, val) == 0);
        have_plain = 1;
    } else {
        vlen = size - 1;
        memcpy(val, data + 1, vlen);
        if (vlen >= SEAL_OVERHEAD
            && seal_open(s->regkey, ad, sizeof ad, val, vlen, plain) == 0) {
            plen = vlen - SEAL_OVERHEAD;
            have_plain = 1;
        }
    }
    FUZZ_ASSERT(mdb_txn_begin(s->reg_env, NULL, 0, &txn) == 0);
    FUZZ_ASSERT(mdb_put(txn, s->reg_tenants, &(MDB_val){ 8, key },
                        &(MDB_val){ vlen, val }, 0) == 0);
    store_err err = store_reg_record_get(s, txn, ID, &info, &owner_known);
    int valid = have_plain && rec_valid(plain, plen);
    FUZZ_ASSERT(err == (valid ? STORE_OK : STORE_EIO));
    if (valid) {
        size_t n = (size_t)be(plain + 1, 2);
        FUZZ_ASSERT(info.id == ID && owner_known == (plain[0] == 2));
        FUZZ_ASSERT(strlen(info.name) == n && memcmp(info.name, plain + 3, n) == 0);
        FUZZ_ASSERT(info.created_sec == be(plain + 3 + n, 8));
        FUZZ_ASSERT(info.quota_bytes == be(plain + 11 + n, 8));
        FUZZ_ASSERT(info.quota_records == be(plain + 19 + n, 8));
        if (owner_known) {
            uint8_t again[39 + 255];
            FUZZ_ASSERT(info.uid == be(plain + 27 + n, 4));
            FUZZ_ASSERT(info.gid == be(plain + 31 + n, 4));
            FUZZ_ASSERT(info.mode == be(plain + 35 + n, 4));
            FUZZ_ASSERT(store_reg_record_put(s, txn, &info) == STORE_OK);
            FUZZ_ASSERT(mdb_get(txn, s->reg_tenants, &(MDB_val){ 8, key }, &v) == 0);
            FUZZ_ASSERT(v.mv_size == vlen);
            FUZZ_ASSERT(seal_open(s->regkey, ad, sizeof ad, v.mv_data,
                                  v.mv_size, again) == 0);
            FUZZ_ASSERT(memcmp(again, plain, plen) == 0);
        }
    }
    mdb_txn_abort(txn);
    free(val);
    free(plain);
    return 0;
}
