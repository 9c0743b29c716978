/*
 * fuzz_manifest.c - libFuzzer target of the snapshot manifest parser
 * (store_snapshot_manifest_parse in store_snapshot.c), which reads the
 * plaintext of a manifest once its seal has opened.
 *
 * Input: the plaintext, as given.
 *
 * Properties: accepted exactly in the canonical form the writer produces
 * (store_snapshot_create's fprintf formats, written out again here): an
 * accepted text formats back to the very same bytes; every tenant has an
 * id 1..STORE_TENANT_MAX, a mode <= 07777 and a valid name, and no id or
 * name appears twice; a refused text leaves no tenants behind.
 */
#include "fuzz_store.h"
#include "store_snapshot_int.h"

/* The manifest `m` as store_snapshot_create writes it. */
static char *format(const struct store_snapshot *m, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    FUZZ_ASSERT(f != NULL);
    fprintf(f, "tenantfs snapshot 1\ncreated %lld.%09ld\n",
            (long long)m->created.tv_sec, m->created.tv_nsec);
    for (size_t i = 0; i < m->ntenants; i++) {
        const struct store_snapshot_tenant *t = &m->tenants[i];
        fprintf(f, "tenant %llu %llu %u %u %o %llu %llu %s\n",
                (unsigned long long)t->info.id,
                (unsigned long long)t->applied_seq, t->info.uid, t->info.gid,
                t->info.mode, (unsigned long long)t->info.quota_bytes,
                (unsigned long long)t->info.quota_records, t->info.name);
    }
    FUZZ_ASSERT(fclose(f) == 0);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_snapshot m;
    char *text = malloc(size ? size : 1), *again;
    size_t len;
    store_err err;

    FUZZ_ASSERT(text != NULL);
    if (size)
        memcpy(text, data, size);
    err = store_snapshot_manifest_parse(text, size, &m);
    FUZZ_ASSERT(err == STORE_OK || err == STORE_EIO);
    if (err != STORE_OK) {
        FUZZ_ASSERT(m.tenants == NULL && m.ntenants == 0);
        free(text);
        return 0;
    }
    FUZZ_ASSERT(m.created.tv_sec > 0 && m.created.tv_nsec >= 0 &&
                m.created.tv_nsec < 1000000000L);
    for (size_t i = 0; i < m.ntenants; i++) {
        const struct store_tenant_info *a = &m.tenants[i].info;

        FUZZ_ASSERT(a->id >= 1 && a->id <= STORE_TENANT_MAX);
        FUZZ_ASSERT(a->mode <= 07777);
        FUZZ_ASSERT(store_tenant_name_check(a->name, strlen(a->name)) == STORE_OK);
        for (size_t j = 0; j < i; j++) {
            FUZZ_ASSERT(m.tenants[j].info.id != a->id);
            FUZZ_ASSERT(strcmp(m.tenants[j].info.name, a->name) != 0);
        }
    }
    again = format(&m, &len);
    FUZZ_ASSERT(len == size && memcmp(again, data, size) == 0);
    free(again);
    store_snapshot_free(&m);
    free(text);
    return 0;
}
