/*
 * tfs_poke.c - damage one value of a tenant's LMDB database on purpose,
 * for the damage tests (tests/integration/test_damage.py).  Test code
 * only: never installed.
 *
 *   tfs_poke ENVDIR TABLE KEYPREFIX_HEX flip|delete
 *
 * Finds the first key of TABLE (inodes, dirents, blocks, xattrs) that
 * begins with the given bytes, and flips one bit in the middle of its
 * value (a value damaged on disk) or deletes it (a lost value); prints the
 * whole key in hex.  Exit status 0 done, 1 no such key or an LMDB error,
 * 2 usage.  The store must not be mounted.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "tfs_poke: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    unsigned char prefix[64];
    size_t plen = 0;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if (argc != 5 || strlen(argv[3]) % 2 || strlen(argv[3]) / 2 > sizeof prefix ||
        (strcmp(argv[4], "flip") && strcmp(argv[4], "delete"))) {
        fprintf(stderr, "usage: tfs_poke ENVDIR TABLE KEYPREFIX_HEX flip|delete\n");
        return 2;
    }
    for (const char *h = argv[3]; *h; h += 2) {
        unsigned b;
        if (sscanf(h, "%2x", &b) != 1)
            return 2;
        prefix[plen++] = (unsigned char)b;
    }
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 8)) ||
        (rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], 0, 0600)))
        return fail("opening the database", rc);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, argv[2], 0, &dbi)) ||
        (rc = mdb_cursor_open(txn, dbi, &cur)))
        return fail(argv[2], rc);
    k.mv_size = plen;
    k.mv_data = prefix;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
        return fail("no such key", rc ? rc : MDB_NOTFOUND);
    for (size_t i = 0; i < k.mv_size; i++)
        printf("%02x", ((unsigned char *)k.mv_data)[i]);
    printf("\n");
    if (strcmp(argv[4], "delete") == 0) {
        rc = mdb_cursor_del(cur, 0);
    } else {
        unsigned char *copy = malloc(v.mv_size);
        MDB_val nv = { v.mv_size, copy };
        if (copy == NULL)
            return 1;
        memcpy(copy, v.mv_data, v.mv_size);
        copy[v.mv_size / 2] ^= 0x10;
        rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
        free(copy);
    }
    if (rc)
        return fail("changing the value", rc);
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)))
        return fail("committing", rc);
    mdb_env_close(env);
    return 0;
}
