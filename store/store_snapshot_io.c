/*
 * store_snapshot_io.c - listing, deleting, exporting and importing
 * snapshots (the layout and the making of them: store_snapshot.c).
 *
 * An export is a folder holding the snapshot's files as they are (sealed
 * manifest, compacted tenant databases: as encrypted as the store) and a
 * file `name` with the snapshot's name, which the manifest's AD needs.
 * Import opens the manifest with this store's key (an export of another
 * store does not open), opens every tenant database, and only then
 * renames the copy into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_snapshot_int.h"

/* ---- list and delete ---------------------------------------------------- */

static uint64_t snap_du(const char *path)
{
    struct stat st;
    uint64_t n = 0;
    DIR *d;

    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_blocks * 512;
    if ((d = opendir(path)) == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *sub = NULL;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            asprintf(&sub, "%s/%s", path, e->d_name) < 0)
            continue;
        n += snap_du(sub);
        free(sub);
    }
    closedir(d);
    return n;
}

static int snap_cmp(const void *a, const void *b)
{
    const struct store_snapshot *x = a, *y = b;

    if (x->created.tv_sec != y->created.tv_sec)
        return x->created.tv_sec < y->created.tv_sec ? -1 : 1;
    if (x->created.tv_nsec != y->created.tv_nsec)
        return x->created.tv_nsec < y->created.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

store_err store_snapshot_each(store *s, store_snapshot_fn fn, void *arg)
{
    char *top = store_snapshot_path(s, NULL);
    struct store_snapshot *all = NULL;
    size_t n = 0;
    store_err err = STORE_OK;
    DIR *d;

    if (top == NULL)
        return STORE_ENOMEM;
    if ((d = opendir(top)) == NULL) {
        err = errno == ENOENT ? STORE_OK : store_from_errno(errno);
        free(top);
        return err;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *dir = NULL;
        struct store_snapshot *p;

        if (store_snapshot_name_check(e->d_name) != STORE_OK)
            continue;               /* ".NAME.tmp", ".", "..", strays */
        if ((p = realloc(all, (n + 1) * sizeof *p)) == NULL ||
            asprintf(&dir, "%s/%s", top, e->d_name) < 0) {
            if (p)
                all = p;
            err = STORE_ENOMEM;
            break;
        }
        all = p;
        if (store_snapshot_manifest_read(s, dir, e->d_name, &all[n]) != STORE_OK)
            memset(&all[n], 0, sizeof all[n]);   /* listed as damaged */
        snprintf(all[n].name, sizeof all[n].name, "%.64s", e->d_name);
        all[n].bytes = snap_du(dir);
        free(dir);
        n++;
    }
    closedir(d);
    free(top);
    if (err == STORE_OK && n > 1)
        qsort(all, n, sizeof *all, snap_cmp);
    for (size_t i = 0; err == STORE_OK && i < n; i++)
        if (fn(&all[i], arg) != 0)
            break;
    for (size_t i = 0; i < n; i++)
        store_snapshot_free(&all[i]);
    free(all);
    return err;
}

store_err store_snapshot_delete(store *s, const char *name)
{
    char *dir, *gone = NULL;
    store_err err;

    if ((err = store_snapshot_name_check(name)) != STORE_OK)
        return err == STORE_ENAMETOOLONG ? STORE_ENOENT : err;
    if ((dir = store_snapshot_path(s, name)) == NULL ||
        asprintf(&gone, "%s.deleting", dir) < 0) {
        free(dir);
        return STORE_ENOMEM;
    }
    /* Gone from the list at once (a name never holds ".deleting" as a
     * snapshot: list skips it since rename made it invisible as NAME). */
    if (rename(dir, gone) != 0)
        err = errno == ENOENT ? STORE_ENOENT : store_from_errno(errno);
    else
        err = store_rmtree(gone);
    free(dir);
    free(gone);
    return err;
}

/* ---- export and import --------------------------------------------------- */

/* Copies bypass the page cache (O_DIRECT where the filesystem has it, as
 * LMDB's own mdb_env_copy2 does): a copy of a big tenant through the cache
 * piles hundreds of MiB of dirty pages on the filesystem, which its next
 * journal commit (the daemon's checkpoints, on ext4's default
 * data=ordered) then waits for.  Measured during an online restore of a
 * 240 MiB tenant (tools/bench_snapshot): another tenant's writer stalled
 * 90-110 ms through the cache, 270-400 ms with sync_file_range()
 * write-behind, and (docs/snapshots.md) far less with O_DIRECT. */
#define COPY_BUF   ((size_t)1 << 20)
#define COPY_ALIGN ((size_t)4096)

store_err store_snapshot_copy_file(const char *from, const char *to)
{
    void *buf = NULL;
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, fl;
    bool direct = false;
    store_err err = STORE_OK;
    ssize_t r;

    if (posix_memalign(&buf, COPY_ALIGN, COPY_BUF) != 0)
        err = STORE_ENOMEM;
    else if (in < 0 || (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                   0600)) < 0)
        err = store_from_errno(errno);
    if (err == STORE_OK && (fl = fcntl(out, F_GETFL)) != -1)
        direct = fcntl(out, F_SETFL, fl | O_DIRECT) == 0;   /* else cached */
    while (err == STORE_OK && (r = read(in, buf, COPY_BUF)) != 0) {
        if (r < 0) {
            if (errno != EINTR)
                err = store_from_errno(errno);
            continue;
        }
        if (direct && (size_t)r % COPY_ALIGN != 0) {
            /* a tail shorter than a block: through the cache */
            if ((fl = fcntl(out, F_GETFL)) != -1)
                (void)fcntl(out, F_SETFL, fl & ~O_DIRECT);
            direct = false;
        }
        for (ssize_t off = 0; err == STORE_OK && off < r;) {
            ssize_t w = write(out, (uint8_t *)buf + off, (size_t)(r - off));
            if (w < 0 && errno != EINTR)
                err = store_from_errno(errno);
            else if (w > 0)
                off += w;
        }
    }
    if (err == STORE_OK && fsync(out) != 0)
        err = store_from_errno(errno);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(buf);
    return err;
}

/* Copy the snapshot files (manifest, tenants/ID/data.mdb) of folder
 * `from` into the new folder `to`, durably. */
static store_err snap_copy_tree(const char *from, const char *to,
                                const struct store_snapshot *m)
{
    char *a = NULL, *b = NULL;
    store_err err = STORE_OK;

    if (mkdir(to, 0700) != 0)
        return errno == EEXIST ? STORE_EEXIST : store_from_errno(errno);
    if (asprintf(&a, "%s/manifest", from) < 0 ||
        asprintf(&b, "%s/manifest", to) < 0)
        err = STORE_ENOMEM;
    if (err == STORE_OK)
        err = store_snapshot_copy_file(a, b);
    free(a);
    free(b);
    a = b = NULL;
    if (err == STORE_OK && (asprintf(&b, "%s/tenants", to) < 0 ||
                            mkdir(b, 0700) != 0))
        err = b ? store_from_errno(errno) : STORE_ENOMEM;
    free(b);
    for (size_t i = 0; err == STORE_OK && i < m->ntenants; i++) {
        uint64_t id = m->tenants[i].info.id;
        a = NULL;
        if ((b = store_snapshot_tenant_path(to, id, false)) == NULL ||
            mkdir(b, 0700) != 0) {
            err = b ? store_from_errno(errno) : STORE_ENOMEM;
        } else {
            free(b);
            b = NULL;
            if ((a = store_snapshot_tenant_path(from, id, true)) == NULL ||
                (b = store_snapshot_tenant_path(to, id, true)) == NULL)
                err = STORE_ENOMEM;
            else
                err = store_snapshot_copy_file(a, b);
        }
        free(a);
        free(b);
    }
    return err;
}

store_err store_snapshot_export(store *s, const char *name, const char *dir)
{
    struct store_snapshot m;
    char *src = NULL, *npath = NULL;
    store_err err;
    FILE *f;

    if (store_snapshot_name_check(name) != STORE_OK)
        return STORE_ENOENT;
    if ((src = store_snapshot_path(s, name)) == NULL)
        return STORE_ENOMEM;
    if ((err = store_snapshot_manifest_read(s, src, name, &m)) != STORE_OK) {
        free(src);
        return err;
    }
    err = snap_copy_tree(src, dir, &m);
    if (err == STORE_OK && asprintf(&npath, "%s/name", dir) < 0)
        err = STORE_ENOMEM;
    if (err == STORE_OK) {
        if ((f = fopen(npath, "wx")) == NULL)
            err = store_from_errno(errno);
        else if (fprintf(f, "%s\n", name) < 0 || fflush(f) != 0 ||
                 fsync(fileno(f)) != 0)
            err = STORE_EIO;
        if (f && fclose(f) != 0 && err == STORE_OK)
            err = STORE_EIO;
    }
    if (err == STORE_OK)
        err = store_fsync_path(dir);
    if (err != STORE_OK && err != STORE_EEXIST)
        (void)store_rmtree(dir);
    store_snapshot_free(&m);
    free(npath);
    free(src);
    return err;
}

/* The name an export carries. */
static store_err snap_export_name(const char *dir, char name[STORE_SNAPSHOT_NAME_MAX + 1])
{
    char *npath = NULL, line[STORE_SNAPSHOT_NAME_MAX + 3];
    FILE *f;
    size_t n;

    if (asprintf(&npath, "%s/name", dir) < 0)
        return STORE_ENOMEM;
    f = fopen(npath, "r");
    free(npath);
    if (f == NULL)
        return errno == ENOENT ? STORE_EDAMAGED : store_from_errno(errno);
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    n = strcspn(line, "\n");
    line[n] = '\0';
    if (store_snapshot_name_check(line) != STORE_OK)
        return STORE_EDAMAGED;
    memcpy(name, line, n + 1);
    return STORE_OK;
}

store_err store_snapshot_import(store *s, const char *dir, char *name_out)
{
    struct store_snapshot m = { 0 };
    char name[STORE_SNAPSHOT_NAME_MAX + 1];
    char *top = store_snapshot_path(s, NULL), *tmp = NULL, *final = NULL;
    store_err err;

    if (top == NULL)
        return STORE_ENOMEM;
    if ((err = snap_export_name(dir, name)) != STORE_OK)
        goto out;
    err = store_snapshot_manifest_read(s, dir, name, &m);
    if (err == STORE_EIO || err == STORE_ENOENT)
        err = STORE_EDAMAGED;      /* damaged, or another store's */
    if (err != STORE_OK)
        goto out;
    if (asprintf(&final, "%s/%s", top, name) < 0 ||
        asprintf(&tmp, "%s/.%s.tmp", top, name) < 0) {
        err = STORE_ENOMEM;
        goto out;
    }
    if (access(final, F_OK) == 0) {
        err = STORE_EEXIST;
        goto out;
    }
    (void)store_rmtree(tmp);
    if (mkdir(top, 0700) != 0 && errno != EEXIST) {
        err = store_from_errno(errno);
        goto out;
    }
    err = snap_copy_tree(dir, tmp, &m);
    /* Every tenant database must open before the snapshot is listed. */
    for (size_t i = 0; err == STORE_OK && i < m.ntenants; i++) {
        store_tenant *t = NULL;
        char *p = store_snapshot_tenant_path(tmp, m.tenants[i].info.id, false);
        if (p == NULL) {
            err = STORE_ENOMEM;
            break;
        }
        err = store_tenant_env_open(p, m.tenants[i].info.id, s->master, true,
                                    false, 0, 0, 0, &t);
        if (err != STORE_OK)
            err = STORE_EDAMAGED;
        store_tenant_env_close(t);
        free(p);
    }
    if (err == STORE_OK && (err = store_fsync_path(tmp)) == STORE_OK) {
        if (rename(tmp, final) != 0)
            err = store_from_errno(errno);
        else
            err = store_fsync_path(top);
    }
    if (err != STORE_OK && err != STORE_EEXIST)
        (void)store_rmtree(tmp);
    if (err == STORE_OK)
        memcpy(name_out, name, sizeof name);
out:
    store_snapshot_free(&m);
    free(top);
    free(tmp);
    free(final);
    return err;
}
