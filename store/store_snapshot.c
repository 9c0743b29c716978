/*
 * store_snapshot.c - snapshots: hot, consistent, encrypted copies of
 * tenants (docs/snapshots.md).
 *
 *   STORE/snapshots/NAME/manifest              sealed (layout below)
 *   STORE/snapshots/NAME/tenants/ID/data.mdb   a compacted LMDB copy
 *
 * A tenant's copy is made with mdb_env_copy2(MDB_CP_COMPACT), which reads
 * one read transaction: it holds the tenant's committed state at one
 * checkpoint, and a checkpoint's state is every op of that tenant up to
 * the applied_seq it records (ops of a tenant are journalled and applied
 * in order), so each tenant in a snapshot is consistent to one journal
 * position.  Writers are not held while copying (LMDB readers never block
 * the writer); the caller makes the daemon checkpoint first (the only
 * barrier) so that the copy holds every change acknowledged before the
 * snapshot was asked for.  The copies keep the tenants' sealed values as
 * they are: a snapshot is as encrypted as the store, under keys derived
 * from the master key, which `tenantctl passwd` rewraps but never
 * changes, so snapshots keep opening after it.
 *
 * The manifest (text before sealing, one field per line):
 *
 *   tenantfs snapshot 1
 *   created SECONDS.NANOSECONDS
 *   tenant ID APPLIED_SEQ UID GID MODE(octal) QUOTA_BYTES QUOTA_RECORDS NAME
 *   ...
 *
 * sealed with the key "tfs-snap" derived from the master key, AD
 * "tenantfs-snapshot" || NAME, so a manifest moved to another snapshot
 * name, or one of another store, fails to open.  A snapshot is made in
 * snapshots/.NAME.tmp and renamed into place once every file is durable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_snapshot_int.h"

#define SNAP_DIR          "snapshots"
#define SNAP_KDF          "tfs-snap"
#define SNAP_MANIFEST     "manifest"
#define SNAP_MANIFEST_MAX ((size_t)16 << 20)
#define SNAP_AD_PREFIX    "tenantfs-snapshot"

store_err store_snapshot_name_check(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || name[0] == '.')
        return STORE_EINVAL;
    if (n > STORE_SNAPSHOT_NAME_MAX)
        return STORE_ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return STORE_EINVAL;
    }
    return STORE_OK;
}

char *store_snapshot_path(const struct store *s, const char *name)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s%s%s", s->dir, SNAP_DIR, name ? "/" : "",
                 name ? name : "") < 0)
        return NULL;
    return p;
}

char *store_snapshot_tenant_path(const char *snapdir, uint64_t id,
                                 bool data_file)
{
    char *p = NULL;

    if (asprintf(&p, "%s/tenants/%016llx%s", snapdir, (unsigned long long)id,
                 data_file ? "/data.mdb" : "") < 0)
        return NULL;
    return p;
}

/* ---- files ----------------------------------------------------------- */

static store_err snap_write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const uint8_t *p = buf;
    store_err err = STORE_OK;

    if (fd < 0)
        return store_from_errno(errno);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = store_from_errno(w < 0 ? errno : EIO);
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    if (err == STORE_OK && fsync(fd) != 0)
        err = store_from_errno(errno);
    close(fd);
    return err;
}

/* ---- the manifest ------------------------------------------------------ */

static void snap_ad(const char *name, uint8_t *ad, size_t *adlen)
{
    size_t n = strlen(name);

    memcpy(ad, SNAP_AD_PREFIX, sizeof SNAP_AD_PREFIX - 1);
    memcpy(ad + sizeof SNAP_AD_PREFIX - 1, name, n);
    *adlen = sizeof SNAP_AD_PREFIX - 1 + n;
}

static store_err snap_manifest_seal(const struct store *s, const char *name,
                                    const char *text, const char *path)
{
    uint8_t ad[sizeof SNAP_AD_PREFIX + STORE_SNAPSHOT_NAME_MAX];
    size_t adlen, len = strlen(text);
    seal_key *k = seal_key_derive(s->master, 0, SNAP_KDF);
    uint8_t *out = malloc(len + SEAL_OVERHEAD);
    store_err err = STORE_ENOMEM;

    if (k && out) {
        snap_ad(name, ad, &adlen);
        err = seal_value(k, ad, adlen, text, len, out) == 0 ?
              snap_write_file(path, out, len + SEAL_OVERHEAD) : STORE_EIO;
    }
    seal_key_free(k);
    free(out);
    return err;
}

/* A number in canonical form at *p (digits of `base`, no sign, no
 * leading zero but in "0" itself, at most `max`) ending at the character
 * `end`; *p moves past that character. */
static bool snap_num(const char **p, unsigned base, char end, uint64_t max,
                     uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;

    if (*s == end || (*s == '0' && s[1] != end))
        return false;
    for (; *s != end; s++) {
        unsigned d = (unsigned)(unsigned char)*s - '0';

        if (d >= base || n > (max - d) / base)
            return false;
        n = n * base + d;
    }
    *v = n;
    *p = s + 1;
    return true;
}

/* Parse one "tenant ..." line (up to its '\n') into `t`. */
static bool snap_tenant_parse(const char *line, struct store_snapshot_tenant *t)
{
    uint64_t id, seq, uid, gid, mode, qb, qr;
    const char *p = line + strlen("tenant "), *nl;
    size_t n;

    memset(t, 0, sizeof *t);
    if (strncmp(line, "tenant ", strlen("tenant ")) != 0 ||
        !snap_num(&p, 10, ' ', STORE_TENANT_MAX, &id) || id == 0 ||
        !snap_num(&p, 10, ' ', UINT64_MAX, &seq) ||
        !snap_num(&p, 10, ' ', UINT32_MAX, &uid) ||
        !snap_num(&p, 10, ' ', UINT32_MAX, &gid) ||
        !snap_num(&p, 8, ' ', 07777, &mode) ||
        !snap_num(&p, 10, ' ', UINT64_MAX, &qb) ||
        !snap_num(&p, 10, ' ', UINT64_MAX, &qr))
        return false;
    nl = strchr(p, '\n');
    n = (size_t)(nl - p);
    if (n > STORE_NAME_MAX || store_tenant_name_check(p, n) != STORE_OK)
        return false;
    t->info.id = id;
    t->applied_seq = seq;
    t->info.uid = (uint32_t)uid;
    t->info.gid = (uint32_t)gid;
    t->info.mode = (uint32_t)mode;
    t->info.quota_bytes = qb;
    t->info.quota_records = qr;
    memcpy(t->info.name, p, n);
    t->info.name[n] = '\0';
    return true;
}

store_err store_snapshot_manifest_parse(const char *text, size_t len,
                                        struct store_snapshot *m)
{
    static const char head[] = "tenantfs snapshot 1\ncreated ";
    const char *p = text, *end = text + len;
    uint64_t sec, nsec = 0;

    memset(m, 0, sizeof *m);
    /* Lines, each ending in '\n', and no NUL: then strchr finds them. */
    if (len == 0 || text[len - 1] != '\n' || memchr(text, '\0', len) != NULL ||
        len < sizeof head - 1 || memcmp(text, head, sizeof head - 1) != 0)
        return STORE_EIO;
    p += sizeof head - 1;
    if (!snap_num(&p, 10, '.', INT64_MAX, &sec) || sec == 0)
        return STORE_EIO;
    for (int i = 0; i < 9; i++, p++) {
        if (*p < '0' || *p > '9')
            return STORE_EIO;
        nsec = nsec * 10 + (uint64_t)(*p - '0');
    }
    if (*p++ != '\n')
        return STORE_EIO;
    m->created.tv_sec = (time_t)sec;
    m->created.tv_nsec = (long)nsec;
    while (p < end) {
        struct store_snapshot_tenant *t =
            realloc(m->tenants, (m->ntenants + 1) * sizeof *t);

        if (t == NULL) {
            store_snapshot_free(m);
            return STORE_ENOMEM;
        }
        m->tenants = t;
        t = &m->tenants[m->ntenants];
        if (!snap_tenant_parse(p, t))
            goto bad;
        for (size_t i = 0; i < m->ntenants; i++)
            if (m->tenants[i].info.id == t->info.id ||
                strcmp(m->tenants[i].info.name, t->info.name) == 0)
                goto bad;       /* a tenant twice */
        m->ntenants++;
        p = strchr(p, '\n') + 1;
    }
    return STORE_OK;
bad:
    store_snapshot_free(m);
    return STORE_EIO;
}

store_err store_snapshot_manifest_read(const struct store *s, const char *dir,
                                       const char *name,
                                       struct store_snapshot *m)
{
    uint8_t ad[sizeof SNAP_AD_PREFIX + STORE_SNAPSHOT_NAME_MAX];
    size_t adlen, len = 0;
    char *path = NULL, *text = NULL;
    uint8_t *buf = NULL;
    seal_key *k = NULL;
    struct stat st;
    store_err err = STORE_EIO;
    int fd = -1;

    memset(m, 0, sizeof *m);
    if (asprintf(&path, "%s/%s", dir, SNAP_MANIFEST) < 0)
        return STORE_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? STORE_ENOENT : store_from_errno(errno);
    if (fstat(fd, &st) != 0 || st.st_size <= (off_t)SEAL_OVERHEAD ||
        (size_t)st.st_size > SNAP_MANIFEST_MAX)
        goto out;
    len = (size_t)st.st_size;
    if ((buf = malloc(len)) == NULL || (text = malloc(len + 1)) == NULL ||
        (k = seal_key_derive(s->master, 0, SNAP_KDF)) == NULL) {
        err = STORE_ENOMEM;
        goto out;
    }
    if (pread(fd, buf, len, 0) != (ssize_t)len)
        goto out;
    snap_ad(name, ad, &adlen);
    if (seal_open(k, ad, adlen, buf, len, text) != 0)
        goto out;                       /* damaged, or not this store's */
    err = store_snapshot_manifest_parse(text, len - SEAL_OVERHEAD, m);
out:
    if (err != STORE_OK)
        store_snapshot_free(m);
    if (text) {
        seal_wipe(text, len + 1);
        free(text);
    }
    free(buf);
    seal_key_free(k);
    close(fd);
    return err;
}

void store_snapshot_free(struct store_snapshot *m)
{
    if (m->tenants)
        seal_wipe(m->tenants, m->ntenants * sizeof *m->tenants);
    free(m->tenants);
    memset(m, 0, sizeof *m);
}

/* ---- create ------------------------------------------------------------ */

struct snap_pick {
    const char *const *names;
    size_t nnames;
    bool *found;
    struct store_tenant_info *infos;
    size_t n, cap;
    store_err err;
};

static int snap_pick_fn(const struct store_tenant_info *info, void *arg)
{
    struct snap_pick *p = arg;
    bool want = p->nnames == 0;

    for (size_t i = 0; i < p->nnames; i++)
        if (strcmp(p->names[i], info->name) == 0)
            want = p->found[i] = true;
    if (!want)
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        struct store_tenant_info *q = realloc(p->infos, cap * sizeof *q);
        if (q == NULL) {
            p->err = STORE_ENOMEM;
            return 1;
        }
        p->infos = q;
        p->cap = cap;
    }
    p->infos[p->n++] = *info;
    return 0;
}

/* Copy tenant `info` into folder `dir` (tenants/ID made there); the
 * copy's applied_seq into *seq. */
static store_err snap_copy_tenant(struct store *s, const char *dir,
                                  const struct store_tenant_info *info,
                                  uint64_t *seq, uint64_t *bytes)
{
    char *src = store_tenant_path(s->dir, info->id), *dst = NULL, *file = NULL;
    store_tenant *t = NULL;
    struct stat st;
    store_err err;

    if (src == NULL ||
        (dst = store_snapshot_tenant_path(dir, info->id, false)) == NULL) {
        free(src);
        return STORE_ENOMEM;
    }
    err = store_tenant_env_open(src, info->id, s->master, true, false, 0, 0,
                                0, &t);
    if (err == STORE_OK && mkdir(dst, 0700) != 0)
        err = store_from_errno(errno);
    if (err == STORE_OK) {
        /* One read transaction: one checkpoint's state. */
        err = store_from_mdb(mdb_env_copy2(t->env, dst, MDB_CP_COMPACT));
    }
    store_tenant_env_close(t);
    t = NULL;
    if (err == STORE_OK)
        err = store_tenant_env_open(dst, info->id, s->master, true, false, 0,
                                    0, 0, &t);
    if (err == STORE_OK) {
        *seq = t->applied_seq;
        store_tenant_env_close(t);
    }
    if (err == STORE_OK && asprintf(&file, "%s/data.mdb", dst) < 0)
        err = STORE_ENOMEM;
    if (err == STORE_OK && (err = store_fsync_path(file)) == STORE_OK &&
        (err = store_fsync_path(dst)) == STORE_OK)
        *bytes = stat(file, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(file);
    free(src);
    free(dst);
    return err;
}

store_err store_snapshot_create(store *s, const char *name,
                                const char *const *tenants, size_t ntenants,
                                store_progress_fn progress, void *arg,
                                char *missing, size_t missing_len)
{
    struct snap_pick pick = { .names = tenants, .nnames = ntenants };
    char *top = store_snapshot_path(s, NULL), *final = NULL, *tmp = NULL;
    char *sub = NULL, *text = NULL, *mpath = NULL;
    size_t tlen = 0;
    FILE *f = NULL;
    struct timespec now;
    store_err err;

    if (missing_len)
        missing[0] = '\0';
    if ((err = store_snapshot_name_check(name)) != STORE_OK) {
        free(top);
        return err;
    }
    pick.found = calloc(ntenants ? ntenants : 1, sizeof *pick.found);
    if (top == NULL || pick.found == NULL ||
        asprintf(&final, "%s/%s", top, name) < 0 ||
        asprintf(&tmp, "%s/.%s.tmp", top, name) < 0 ||
        asprintf(&sub, "%s/tenants", tmp) < 0 ||
        asprintf(&mpath, "%s/%s", tmp, SNAP_MANIFEST) < 0) {
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_tenant_each(s, snap_pick_fn, &pick)) == STORE_OK)
        err = pick.err;
    for (size_t i = 0; err == STORE_OK && i < ntenants; i++)
        if (!pick.found[i]) {
            if (missing_len)
                snprintf(missing, missing_len, "%s", tenants[i]);
            err = STORE_ENOENT;
        }
    if (err != STORE_OK)
        goto out;
    if (access(final, F_OK) == 0) {
        err = STORE_EEXIST;
        goto out;
    }
    (void)store_rmtree(tmp);   /* an earlier attempt that died */
    if ((mkdir(top, 0700) != 0 && errno != EEXIST) || mkdir(tmp, 0700) != 0 ||
        mkdir(sub, 0700) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    if ((f = open_memstream(&text, &tlen)) == NULL) {
        err = STORE_ENOMEM;
        goto out;
    }
    fprintf(f, "tenantfs snapshot 1\ncreated %lld.%09ld\n",
            (long long)now.tv_sec, now.tv_nsec);
    for (size_t i = 0; err == STORE_OK && i < pick.n; i++) {
        const struct store_tenant_info *ti = &pick.infos[i];
        uint64_t seq = 0, bytes = 0;

        if (progress)
            progress(i, pick.n, ti->name, arg);
        err = snap_copy_tenant(s, tmp, ti, &seq, &bytes);
        fprintf(f, "tenant %llu %llu %u %u %o %llu %llu %s\n",
                (unsigned long long)ti->id, (unsigned long long)seq, ti->uid,
                ti->gid, ti->mode & 07777, (unsigned long long)ti->quota_bytes,
                (unsigned long long)ti->quota_records, ti->name);
    }
    if (progress && err == STORE_OK)
        progress(pick.n, pick.n, NULL, arg);
    if (fclose(f) != 0 && err == STORE_OK)
        err = STORE_ENOMEM;
    f = NULL;
    if (err == STORE_OK)
        err = snap_manifest_seal(s, name, text, mpath);
    if (err == STORE_OK && (err = store_fsync_path(sub)) == STORE_OK &&
        (err = store_fsync_path(tmp)) == STORE_OK) {
        if (rename(tmp, final) != 0)
            err = store_from_errno(errno);
        else
            err = store_fsync_path(top);
    }
    if (err != STORE_OK)
        (void)store_rmtree(tmp);
out:
    if (text) {
        seal_wipe(text, tlen);
        free(text);
    }
    if (pick.infos)
        seal_wipe(pick.infos, pick.cap * sizeof *pick.infos);
    free(pick.infos);
    free(pick.found);
    free(top);
    free(final);
    free(tmp);
    free(sub);
    free(mpath);
    return err;
}
