/*
 * store_check.c - store_check(): authenticate every value of a store and
 * say what is damaged, by tenant and record (tenantctl check).
 *
 * Read-only throughout, so it may run while a daemon serves the store: the
 * registry in one read transaction, each tenant's database opened read-only
 * for the moment of its check, in one read transaction (LMDB readers see
 * one committed state and never block the writer), and the journal's
 * segments read, not replayed.  What it checks is what is on disk: the
 * newest changes of a live store may still be only in the journal, whose
 * entries are authenticated too.
 *
 * A tenant's check walks its tables in key order: folder entries first
 * (each authenticated; they give every record its name, for the report),
 * then inode records, then content blocks (each bound by its AD to its
 * record's nonce, so a block is checked against its opened record), then
 * extended attributes.  A folder entry naming no record is reported too.
 * The store's own log lines for the same damage go to the log hook; the
 * caller usually silences it while checking.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_registry_int.h"
#include "store_snapshot_int.h"

/* A folder entry: record `child` is called `name` in folder `parent`. */
struct ck_name {
    uint64_t child, parent;
    char *name;
};

struct ck_inode {
    uint64_t ino;
    bool ok;
    struct store_inode in;
};

struct ck {
    store_check_fn fn;
    store_progress_fn progress;
    void *arg;
    struct store_check_totals *tot;
    const struct store_tenant_info *info;   /* NULL: not about a tenant */
    struct ck_name *names;
    size_t nnames, capnames;
    struct ck_inode *inodes;
    size_t ninodes, capinodes;
};

static int ck_name_cmp(const void *a, const void *b)
{
    const struct ck_name *x = a, *y = b;

    return x->child < y->child ? -1 : x->child > y->child;
}

static const struct ck_name *ck_name_of(const struct ck *c, uint64_t ino)
{
    struct ck_name key = { .child = ino };

    return c->nnames ? bsearch(&key, c->names, c->nnames, sizeof key,
                               ck_name_cmp) : NULL;
}

static struct ck_inode *ck_inode_of(const struct ck *c, uint64_t ino)
{
    size_t lo = 0, hi = c->ninodes;

    while (lo < hi) {           /* filled in key (= ino) order */
        size_t mid = lo + (hi - lo) / 2;
        if (c->inodes[mid].ino == ino)
            return &c->inodes[mid];
        if (c->inodes[mid].ino < ino)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The path of `ino` in its tenant ("/" for the root), from the entries
 * read; NULL when it has no name (unreachable, or its entry is damaged). */
static char *ck_path(const struct ck *c, uint64_t ino)
{
    const char *parts[4096];
    size_t n = 0, len = 1;
    char *path, *p;

    while (ino != STORE_ROOT_INO) {
        const struct ck_name *e = ck_name_of(c, ino);
        if (e == NULL || n == sizeof parts / sizeof parts[0])
            return NULL;
        parts[n++] = e->name;
        len += strlen(e->name) + 1;
        ino = e->parent;
    }
    if ((path = p = malloc(len + 1)) == NULL)
        return NULL;
    if (n == 0)
        *p++ = '/';
    while (n > 0) {
        size_t l = strlen(parts[--n]);
        *p++ = '/';
        memcpy(p, parts[n], l);
        p += l;
    }
    *p = '\0';
    return path;
}

static void ck_report(struct ck *c, uint64_t ino, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ck_report(struct ck *c, uint64_t ino, const char *fmt, ...)
{
    struct store_check_issue is = { 0 };
    char what[256];
    char *path = ino ? ck_path(c, ino) : NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->info) {
        is.tenant_id = c->info->id;
        is.tenant = c->info->name[0] ? c->info->name : NULL;
    }
    is.ino = ino;
    is.path = path;
    is.what = what;
    c->tot->issues++;
    c->fn(&is, c->arg);
    free(path);
}

/* ---- one tenant -------------------------------------------------------- */

static store_err ck_dirents(struct ck *c, store_tenant *t, MDB_txn *txn)
{
    char name[STORE_NAME_MAX + 1];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, t->dirents, &cur)) != 0)
        return store_from_mdb(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t child = 0, parent = k.mv_size == 16 ?
                                     store_get_be64(k.mv_data) : 0;
        c->tot->values++;
        if (store_dirent_verify(t, &k, &v, &child, name) != STORE_OK) {
            /* reported once every name is known (for the folder's path) */
            child = 0;
            name[0] = '\0';
        }
        if (c->nnames == c->capnames) {
            size_t cap = c->capnames ? 2 * c->capnames : 256;
            struct ck_name *p = realloc(c->names, cap * sizeof *p);
            if (p == NULL)
                break;
            c->names = p;
            c->capnames = cap;
        }
        if ((c->names[c->nnames].name = strdup(name)) == NULL)
            break;
        c->names[c->nnames].child = child;
        c->names[c->nnames++].parent = parent;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND && rc != 0)
        return store_from_mdb(rc);
    if (rc == 0)
        return STORE_ENOMEM;
    if (c->nnames > 1)
        qsort(c->names, c->nnames, sizeof *c->names, ck_name_cmp);
    /* The damaged entries sort first (child 0). */
    for (size_t i = 0; i < c->nnames && c->names[i].child == 0; i++)
        ck_report(c, c->names[i].parent, "an entry of this folder failed "
                  "authentication (its name is unknown)");
    return STORE_OK;
}

static store_err ck_inodes(struct ck *c, store_tenant *t, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, t->inodes, &cur)) != 0)
        return store_from_mdb(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct ck_inode *ci;

        if (c->ninodes == c->capinodes) {
            size_t cap = c->capinodes ? 2 * c->capinodes : 256;
            struct ck_inode *p = realloc(c->inodes, cap * sizeof *p);
            if (p == NULL)
                break;
            c->inodes = p;
            c->capinodes = cap;
        }
        ci = &c->inodes[c->ninodes++];
        ci->ino = k.mv_size == 8 ? store_get_be64(k.mv_data) : 0;
        ci->ok = ci->ino != 0 &&
                 store_inode_get(t, txn, ci->ino, &ci->in) == STORE_OK;
        c->tot->values++;
        if (ci->ino != STORE_ROOT_INO)
            c->tot->records++;
        if (!ci->ok)
            ck_report(c, ci->ino, "its record (type, size, owner, times) "
                      "failed authentication");
    }
    mdb_cursor_close(cur);
    if (rc == 0)
        return STORE_ENOMEM;
    if (rc != MDB_NOTFOUND)
        return store_from_mdb(rc);
    for (size_t i = 0; i < c->nnames; i++)
        if (c->names[i].child != 0 && ck_inode_of(c, c->names[i].child) == NULL)
            ck_report(c, c->names[i].parent, "the entry \"%s\" names a "
                      "record that does not exist", c->names[i].name);
    return STORE_OK;
}

/* Content blocks, then extended attributes: keys begin with the inode. */
static store_err ck_values(struct ck *c, store_tenant *t, MDB_txn *txn,
                           MDB_dbi dbi, bool blocks)
{
    uint8_t *plain = blocks ? malloc(STORE_BLOCK_SIZE) : NULL;
    uint64_t gone = 0;         /* the last record found missing */
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if (blocks && plain == NULL)
        return STORE_ENOMEM;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        free(plain);
        return store_from_mdb(rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t ino = k.mv_size == 16 ? store_get_be64(k.mv_data) : 0;
        uint64_t idx = k.mv_size == 16 ?
                       store_get_be64((const uint8_t *)k.mv_data + 8) : 0;
        struct ck_inode *ci = ck_inode_of(c, ino);

        c->tot->values++;
        if (ci == NULL) {
            if (ino != gone)       /* once per record */
                ck_report(c, ino, "%s of a record that does not exist",
                          blocks ? "content" : "extended attributes");
            gone = ino;
        } else if (!ci->ok) {
            /* reported with its record; its blocks cannot be checked
             * without the record's nonce */
        } else if (blocks) {
            c->tot->bytes += v.mv_size;
            if (store_block_verify(t, &k, &v, &ci->in, plain) != STORE_OK)
                ck_report(c, ino, "content bytes %llu to %llu failed "
                          "authentication",
                          (unsigned long long)(idx * STORE_BLOCK_SIZE),
                          (unsigned long long)((idx + 1) * STORE_BLOCK_SIZE - 1));
        } else if (store_xattr_verify(t, &k, &v) != STORE_OK) {
            ck_report(c, ino, "an extended attribute failed authentication");
        }
    }
    mdb_cursor_close(cur);
    if (plain) {
        seal_wipe(plain, STORE_BLOCK_SIZE);
        free(plain);
    }
    return rc == MDB_NOTFOUND ? STORE_OK : store_from_mdb(rc);
}

/* Check tenant c->info, whose database is in folder `path` (freed). */
static void ck_tenant(struct store *s, struct ck *c, char *path)
{
    store_tenant *t = NULL;
    MDB_txn *txn = NULL;
    store_err err;

    c->tot->tenants++;
    err = path ? store_tenant_env_open(path, c->info->id, s->master, true,
                                       false, 0, 0, 0, &t)
               : STORE_ENOMEM;
    free(path);
    if (err == STORE_OK)
        err = store_from_mdb(mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn));
    if (err != STORE_OK) {
        ck_report(c, 0, "its database cannot be read: %s",
                  store_strerror(err));
        store_tenant_env_close(t);
        return;
    }
    if ((err = ck_dirents(c, t, txn)) == STORE_OK &&
        (err = ck_inodes(c, t, txn)) == STORE_OK &&
        (err = ck_values(c, t, txn, t->blocks, true)) == STORE_OK)
        err = ck_values(c, t, txn, t->xattrs, false);
    if (err != STORE_OK)
        ck_report(c, 0, "its check stopped: %s", store_strerror(err));
    mdb_txn_abort(txn);
    store_tenant_env_close(t);
    for (size_t i = 0; i < c->nnames; i++) {
        seal_wipe(c->names[i].name, strlen(c->names[i].name));
        free(c->names[i].name);
    }
    c->nnames = c->ninodes = 0;
}

/* ---- the store --------------------------------------------------------- */

/* What an earlier mount could not replay and set aside (store_jreplay.c):
 * acknowledged changes missing from the store until someone looks. */
static void ck_set_aside(struct store *s, struct ck *c)
{
    char *top = NULL;
    DIR *d;

    if (asprintf(&top, "%s/%s.discarded", s->dir, STORE_JOURNAL_DIR) < 0)
        return;
    if ((d = opendir(top)) != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (e->d_name[0] != '.')
                ck_report(c, 0, "journal: a mount could not apply the "
                          "changes kept in %s/%s (a segment was missing or "
                          "damaged); remove that folder once they are dealt "
                          "with", top, e->d_name);
        closedir(d);
    }
    free(top);
}

static void ck_journal(struct store *s, struct ck *c)
{
    struct store_journal_verdict v;
    seal_key *jkey = seal_key_derive(s->master, 0, STORE_KDF_JOURNAL);
    char *jdir = NULL;
    store_err err;

    c->info = NULL;
    if (jkey == NULL || asprintf(&jdir, "%s/%s", s->dir,
                                 STORE_JOURNAL_DIR) < 0) {
        seal_key_free(jkey);
        ck_report(c, 0, "journal: cannot be checked: out of memory");
        return;
    }
    err = store_journal_verify(jdir, jkey, &v);
    seal_key_free(jkey);
    free(jdir);
    if (err != STORE_OK) {
        ck_report(c, 0, "journal: cannot be read: %s", store_strerror(err));
        return;
    }
    c->tot->journal_entries = v.entries;
    if (v.stop_segment != 0 && !v.torn_tail)
        ck_report(c, 0, "journal: entry %llu on (segment %016llx) is missing "
                  "or fails authentication: the next mount would discard "
                  "%llu bytes of changes from there on",
                  (unsigned long long)v.next_seq,
                  (unsigned long long)v.stop_segment,
                  (unsigned long long)v.lost_bytes);
    c->tot->journal_torn = v.torn_tail ? v.lost_bytes : 0;
    ck_set_aside(s, c);
}

static int ck_registry(struct store *s, struct ck *c)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    struct store_tenant_info *infos = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if ((rc = mdb_txn_begin(s->reg_env, NULL, MDB_RDONLY, &txn)) != 0 ||
        (rc = mdb_cursor_open(txn, s->reg_tenants, &cur)) != 0) {
        if (txn)
            mdb_txn_abort(txn);
        c->info = NULL;
        ck_report(c, 0, "registry: cannot be read: %s", mdb_strerror(rc));
        return -1;
    }
    /* The records first: a tenant is checked outside this transaction. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_tenant_info info;
        bool owner_known;
        uint64_t id = k.mv_size == 8 ? store_get_be64(k.mv_data) : 0;

        c->tot->values++;
        if (id == 0 || store_reg_record_get(s, txn, id, &info,
                                            &owner_known) != STORE_OK) {
            struct store_tenant_info unknown = { .id = id };
            c->info = &unknown;
            ck_report(c, 0, "its registry record (name, owner, quotas) "
                      "failed authentication; its records were not checked");
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            struct store_tenant_info *p = realloc(infos, nc * sizeof *p);
            if (p == NULL)
                break;
            infos = p;
            cap = nc;
        }
        infos[n++] = info;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < n; i++) {
        c->info = &infos[i];
        if (c->progress)
            c->progress(i, n, infos[i].name, c->arg);
        ck_tenant(s, c, store_tenant_path(s->dir, infos[i].id));
    }
    if (c->progress)
        c->progress(n, n, NULL, c->arg);
    seal_wipe(infos, cap * sizeof *infos);
    free(infos);
    return 0;
}

store_err store_check(store *s, store_check_fn fn, store_progress_fn progress,
                      void *arg, struct store_check_totals *tot)
{
    struct ck c = { .fn = fn, .progress = progress, .arg = arg, .tot = tot };

    memset(tot, 0, sizeof *tot);
    if (s == NULL || fn == NULL)
        return STORE_EINVAL;
    ck_registry(s, &c);
    ck_journal(s, &c);
    free(c.names);
    free(c.inodes);
    return STORE_OK;
}

store_err store_snapshot_check(store *s, const char *name, store_check_fn fn,
                               store_progress_fn progress, void *arg,
                               struct store_check_totals *tot)
{
    struct ck c = { .fn = fn, .progress = progress, .arg = arg, .tot = tot };
    struct store_snapshot m;
    char *dir;
    store_err err;

    memset(tot, 0, sizeof *tot);
    if (s == NULL || fn == NULL)
        return STORE_EINVAL;
    if (store_snapshot_name_check(name) != STORE_OK)
        return STORE_ENOENT;
    if ((dir = store_snapshot_path(s, name)) == NULL)
        return STORE_ENOMEM;
    err = store_snapshot_manifest_read(s, dir, name, &m);
    if (err == STORE_EIO) {
        ck_report(&c, 0, "snapshot %s: its manifest failed authentication; "
                  "its tenants cannot be told", name);
        err = STORE_OK;
    } else if (err == STORE_ENOENT && access(dir, F_OK) == 0) {
        ck_report(&c, 0, "snapshot %s: its manifest is missing", name);
        err = STORE_OK;
    }
    for (size_t i = 0; err == STORE_OK && i < m.ntenants; i++) {
        char *path = NULL;
        c.info = &m.tenants[i].info;
        if (progress)
            progress(i, m.ntenants, c.info->name, arg);
        if ((path = store_snapshot_tenant_path(dir, c.info->id,
                                               false)) == NULL) {
            err = STORE_ENOMEM;
            break;
        }
        ck_tenant(s, &c, path);
    }
    if (progress && err == STORE_OK)
        progress(m.ntenants, m.ntenants, NULL, arg);
    store_snapshot_free(&m);
    free(dir);
    free(c.names);
    free(c.inodes);
    return err;
}
