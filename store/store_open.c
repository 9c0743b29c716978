/*
 * store_open.c - the life of a store: creating its folder, opening it
 * (daemon lock, passphrase, master key, registry), the daemon's flusher,
 * syncing, statfs, and closing.
 *
 * A store folder holds tenantfs.hdr (store_header.c), daemon.lock, the
 * registry LMDB env, one LMDB env per tenant under tenants/ and, for a
 * daemon, the journal under journal/.  The registry commits durably (LMDB's
 * synchronous commit): tenant add/remove survive a power cut.
 *
 * A daemon (STORE_OPEN_DAEMON, not read-only) derives the journal key, then
 * starts the writer (store_writer.c), which opens the journal and replays it
 * (store_recover.c) before serving anything.  Acknowledged ops are in the
 * journal (the page cache); the flusher thread makes them durable every
 * commit_ms (store_set_commit_ms, default STORE_COMMIT_MS_DEFAULT) with one
 * shared fdatasync and writes the figures to STORE/journal/stats for
 * tenantctl.  An fsync does not wait for it (store_writer_sync).  At close
 * the flusher stops first (it uses the writer's journal), then the writer
 * drains its queue and checkpoints everything, leaving an empty journal.
 *
 * The daemon lock is an flock() on daemon.lock taken before anything else
 * is read or written, so two daemons never serve one store; its holder's pid
 * is written into the file for the "in use by pid N" message.
 *
 * Lock order: flush_lock is never held while flushing or taking another
 * lock; the flusher only calls the (thread-safe) journal flush and stats.
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

/* ===================================================================== */
/* Folders and the registry env                                           */
/* ===================================================================== */

/* mkdir -p with mode 0700 for every folder created. */
static store_err store_mkdir_p(const char *dir)
{
    char *p = strdup(dir);
    store_err err = STORE_OK;

    if (!p)
        return STORE_ENOMEM;
    for (char *c = p + 1; ; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char saved = *c;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            err = store_from_errno(errno);
            break;
        }
        *c = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return err;
}

/* STORE_OK when `dir` is a folder holding nothing. */
static store_err store_dir_check_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    store_err err = STORE_OK;

    if (!d)
        return errno == ENOTDIR ? STORE_ENOTDIR : store_from_errno(errno);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            err = STORE_EEXIST;
            break;
        }
    }
    closedir(d);
    return err;
}

static char *store_path_join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* Open the registry env of store `dir` into s->reg_env and its dbis. */
static store_err store_registry_env_open(struct store *s, bool create)
{
    bool rdonly = (s->flags & STORE_OPEN_RDONLY) != 0;
    /* Durable commits (no MDB_NOSYNC): registry changes are rare, and
     * LMDB's synchronous commit keeps the registry consistent across a
     * power cut (docs/journal.md). */
    unsigned envflags = MDB_NOTLS | (rdonly ? MDB_RDONLY : 0);
    unsigned dbflags = rdonly ? 0 : MDB_CREATE;
    char *path = store_path_join(s->dir, STORE_REGISTRY_DIR);
    MDB_txn *txn = NULL;
    store_err err = STORE_OK;
    int rc;

    if (!path)
        return STORE_ENOMEM;
    if (create && mkdir(path, 0700) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    if ((rc = mdb_env_create(&s->reg_env)) != 0) {
        s->reg_env = NULL;
        err = store_from_mdb(rc);
        goto out;
    }
    if ((rc = mdb_env_set_mapsize(s->reg_env, STORE_REGISTRY_MAPSIZE)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->reg_env, STORE_MAXREADERS)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->reg_env, 4)) != 0 ||
        (rc = mdb_env_open(s->reg_env, path, envflags, 0600)) != 0) {
        /* A missing registry in a folder with a good header is damage. */
        err = rc == ENOENT ? STORE_EDAMAGED : store_from_mdb(rc);
        goto out;
    }
    if ((rc = mdb_txn_begin(s->reg_env, NULL, rdonly ? MDB_RDONLY : 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "tenants", dbflags, &s->reg_tenants)) != 0 ||
        (rc = mdb_dbi_open(txn, "names", dbflags, &s->reg_names)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", dbflags, &s->reg_meta)) != 0) {
        err = rc == MDB_NOTFOUND ? STORE_EDAMAGED : store_from_mdb(rc);
        goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        err = store_from_mdb(rc);
    else if (create && (rc = mdb_env_sync(s->reg_env, 1)) != 0)
        err = store_from_mdb(rc);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (err != STORE_OK && s->reg_env) {
        mdb_env_close(s->reg_env);
        s->reg_env = NULL;
    }
    free(path);
    return err;
}

/* ===================================================================== */
/* Creating                                                               */
/* ===================================================================== */

/* Remove what a failed store_create() made inside `dir` (best effort). */
static void store_create_undo(const char *dir)
{
    static const char *const files[] = {
        STORE_REGISTRY_DIR "/data.mdb", STORE_REGISTRY_DIR "/lock.mdb",
        STORE_REGISTRY_DIR, STORE_TENANTS_DIR, STORE_HDR_NAME,
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = store_path_join(dir, files[i]);
        if (p && remove(p) != 0 && errno != ENOENT)
            store_log(LOG_WARNING, "cannot clean up a failed store creation");
        free(p);
    }
}

store_err store_create(const char *dir, const char *pass, size_t passlen)
{
    struct store s = { .lock_fd = -1 };
    seal_key *master = NULL;
    char *tenants = NULL;
    store_err err;

    if (!dir || !*dir || !pass || passlen == 0)
        return STORE_EINVAL;
    if (seal_init() != 0)
        return STORE_ENOMEM;
    if ((err = store_mkdir_p(dir)) != STORE_OK ||
        (err = store_dir_check_empty(dir)) != STORE_OK)
        return err;
    s.dir = (char *)dir;
    master = seal_key_new_random();
    tenants = store_path_join(dir, STORE_TENANTS_DIR);
    if (!master || !tenants) {
        err = STORE_ENOMEM;
        goto out;
    }
    if (mkdir(tenants, 0700) != 0) {
        err = store_from_errno(errno);
        goto out;
    }
    err = store_registry_env_open(&s, true);
    if (err != STORE_OK)
        goto out;
    mdb_env_close(s.reg_env);
    /* The header last: until it exists the folder is not a store. */
    err = store_header_create(dir, master, pass, passlen);
out:
    if (err != STORE_OK && err != STORE_EEXIST)
        store_create_undo(dir);
    seal_key_free(master);
    free(tenants);
    return err;
}

store_err store_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    store_err err = STORE_OK;

    if (fd < 0)
        return store_from_errno(errno);
    if (fsync(fd) != 0)
        err = store_from_errno(errno);
    close(fd);
    return err;
}

store_err store_rmtree(const char *path)
{
    DIR *d = opendir(path);
    store_err err = STORE_OK;

    if (d == NULL)
        return errno == ENOENT ? STORE_OK :
               unlink(path) == 0 ? STORE_OK : store_from_errno(errno);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *sub = NULL;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (asprintf(&sub, "%s/%s", path, e->d_name) < 0) {
            err = STORE_ENOMEM;
            break;
        }
        if ((err = store_rmtree(sub)) != STORE_OK) {
            free(sub);
            break;
        }
        free(sub);
    }
    closedir(d);
    if (err == STORE_OK && rmdir(path) != 0)
        err = store_from_errno(errno);
    return err;
}

/* ===================================================================== */
/* The daemon lock                                                        */
/* ===================================================================== */

store_err store_lock_take(struct store *s)
{
    char *path = store_path_join(s->dir, STORE_LOCK_NAME);
    char pid[32];
    store_err err = STORE_OK;
    int fd, n;

    if (!path)
        return STORE_ENOMEM;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return store_from_errno(errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        err = errno == EWOULDBLOCK ? STORE_EBUSY : store_from_errno(errno);
        close(fd);
        return err;
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        err = store_from_errno(errno);
        close(fd);
        return err;
    }
    s->lock_fd = fd;
    return STORE_OK;
}

pid_t store_busy_pid(const char *dir)
{
    char *path = dir ? store_path_join(dir, STORE_LOCK_NAME) : NULL;
    char buf[32];
    ssize_t n = -1;
    int fd;

    if (!path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return 0;
    n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    return pid > 0 ? (pid_t)pid : 0;
}

/* ===================================================================== */
/* The flusher                                                            */
/* ===================================================================== */

/* mdb_env_sync every env of the store; the first error is returned.
 *
 * The syncs run outside s->lock: every filesystem operation takes that lock
 * (store_tenant_get), so holding it across disk flushes stalled all tenants
 * for the length of every periodic flush.  The open tenants are copied
 * under the lock; their handles stay valid, as a tenant leaves the table
 * only in store_close() (after the flusher has stopped) or in a
 * single-threaded tool (store_tenant_remove). */
static store_err store_sync_all(struct store *s)
{
    store_tenant **envs = NULL;
    size_t n = 0;
    store_err err = STORE_OK;
    int rc;

    if (s->flags & STORE_OPEN_RDONLY)
        return STORE_OK;
    if (s->reg_env && (rc = mdb_env_sync(s->reg_env, 1)) != 0)
        err = store_from_mdb(rc);
    pthread_mutex_lock(&s->lock);
    if (s->nopen > 0) {
        envs = malloc(s->nopen * sizeof *envs);
        if (envs == NULL) {
            /* no copy: sync under the lock, as slow as it is (a removed
             * tenant's env is closed under this lock) */
            for (size_t i = 0; i < s->nopen; i++) {
                if (s->open[i]->rdonly || atomic_load(&s->open[i]->dead))
                    continue;
                rc = mdb_env_sync(s->open[i]->env, 1);
                if (rc != 0 && err == STORE_OK)
                    err = store_from_mdb(rc);
            }
        } else {
            /* entered under the lock: stays open while synced outside */
            for (size_t i = 0; i < s->nopen; i++)
                if (!s->open[i]->rdonly &&
                    store_tenant_enter(s->open[i]) == STORE_OK)
                    envs[n++] = s->open[i];
        }
    }
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        rc = mdb_env_sync(envs[i]->env, 1);
        if (rc != 0 && err == STORE_OK)
            err = store_from_mdb(rc);
        store_tenant_leave(envs[i]);
    }
    free(envs);
    return err;
}

/* Publish the daemon's figures to STORE/journal/stats for tools. */
static void store_publish_stats(struct store *s)
{
    struct store_journal_stats st;
    store_err err;

    if (store_journal_stats(s, &st) != STORE_OK)
        return;
    err = store_journal_stats_write(s->dir, &st);
    /* Said once per run of failures (a full disk would repeat it every
     * commit interval). */
    if (err != STORE_OK && !s->stats_failing)
        store_log(LOG_WARNING, "journal: cannot write the stats file: %s",
                  store_strerror(err));
    s->stats_failing = err != STORE_OK;
}

/* One round of the flusher: make every acknowledged op durable (a single
 * fdatasync shared with concurrent fsyncs) and publish the figures. */
static void store_flush_journal(struct store *s)
{
    if (!store_writer_journal(s))
        return;
    (void)!store_writer_flush(s);           /* logs and acts on failure */
    store_publish_stats(s);
}

static void *store_flusher_main(void *arg)
{
    struct store *s = arg;
    struct timespec deadline;

    pthread_mutex_lock(&s->flush_lock);
    while (!s->stopping) {
        unsigned ms = store_writer_commit_ms(s);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ms / 1000u;
        deadline.tv_nsec += (long)(ms % 1000u) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!s->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&s->flush_cond, &s->flush_lock, &deadline);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->flush_lock);
        store_flush_journal(s);
        pthread_mutex_lock(&s->flush_lock);
    }
    pthread_mutex_unlock(&s->flush_lock);
    return NULL;
}

static store_err store_flusher_start(struct store *s)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return STORE_ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&s->flush_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return STORE_ENOMEM;
    /* At once: the file may still hold a previous daemon's figures. */
    if (store_writer_journal(s))
        store_publish_stats(s);
    if (pthread_create(&s->flusher, NULL, store_flusher_main, s) != 0) {
        pthread_cond_destroy(&s->flush_cond);
        return STORE_ENOMEM;
    }
    s->flusher_running = true;
    return STORE_OK;
}

static void store_flusher_stop(struct store *s)
{
    if (!s->flusher_running)
        return;
    pthread_mutex_lock(&s->flush_lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->flush_cond);
    pthread_mutex_unlock(&s->flush_lock);
    pthread_join(s->flusher, NULL);
    pthread_cond_destroy(&s->flush_cond);
    s->flusher_running = false;
}

/* ===================================================================== */
/* Opening and closing                                                    */
/* ===================================================================== */

store_err store_open(const char *dir, const char *pass, size_t passlen,
                     unsigned flags, store **out)
{
    struct store *s = NULL;
    char *hdr = NULL;
    store_err err = STORE_OK;

    *out = NULL;
    if (!dir || !*dir || (flags & ~(unsigned)(STORE_OPEN_DAEMON | STORE_OPEN_RDONLY)))
        return STORE_EINVAL;
    if (seal_init() != 0)
        return STORE_ENOMEM;
    s = calloc(1, sizeof *s);
    if (!s)
        return STORE_ENOMEM;
    s->lock_fd = -1;
    s->flags = flags;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->reg_lock, NULL);
    pthread_mutex_init(&s->tenant_lock, NULL);
    pthread_mutex_init(&s->flush_lock, NULL);
    s->dir = realpath(dir, NULL);
    if (!s->dir) {
        err = errno == ENOENT ? STORE_ENOTSTORE : store_from_errno(errno);
        goto out;
    }
    /* Never create daemon.lock in a folder that is not a store. */
    hdr = store_path_join(s->dir, STORE_HDR_NAME);
    if (!hdr) {
        err = STORE_ENOMEM;
        goto out;
    }
    if (access(hdr, F_OK) != 0) {
        err = errno == ENOENT ? STORE_ENOTSTORE : store_from_errno(errno);
        goto out;
    }
    if ((flags & STORE_OPEN_DAEMON) && (err = store_lock_take(s)) != STORE_OK)
        goto out;
    if ((err = store_header_unlock(s->dir, pass, passlen, &s->master)) != STORE_OK)
        goto out;
    s->regkey = seal_key_derive(s->master, 0, STORE_KDF_REGISTRY);
    if (!s->regkey) {
        err = STORE_ENOMEM;
        goto out;
    }
    if ((err = store_registry_env_open(s, false)) != STORE_OK)
        goto out;
    if ((flags & STORE_OPEN_DAEMON) && !(flags & STORE_OPEN_RDONLY)) {
        s->jkey = seal_key_derive(s->master, 0, STORE_KDF_JOURNAL);
        if (!s->jkey) {
            err = STORE_ENOMEM;
            goto out;
        }
        if ((err = store_writer_start(s)) != STORE_OK)
            goto out;
        err = store_flusher_start(s);
    }
out:
    free(hdr);
    if (err != STORE_OK) {
        store_close(s);
        return err;
    }
    *out = s;
    return STORE_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    store_flusher_stop(s);     /* it uses the writer's journal */
    store_writer_stop(s);
    if (s->reg_env) {
        store_err err = store_sync_all(s);
        if (err != STORE_OK)
            store_log(LOG_ERR, "final flush failed: %s", store_strerror(err));
    }
    for (size_t i = 0; i < s->nopen; i++)
        store_tenant_env_close(s->open[i]);
    free(s->open);
    for (size_t i = 0; i < s->nreplaced; i++)
        store_tenant_env_close(s->replaced[i]);
    free(s->replaced);
    if (s->reg_env)
        mdb_env_close(s->reg_env);
    seal_key_free(s->jkey);
    seal_key_free(s->regkey);
    seal_key_free(s->master);
    if (s->lock_fd >= 0)
        close(s->lock_fd);     /* releases the flock */
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->reg_lock);
    pthread_mutex_destroy(&s->tenant_lock);
    pthread_mutex_destroy(&s->flush_lock);
    free(s->dir);
    free(s);
}

store_err store_sync(store *s)
{
    if (s->writer) {
        store_err err = store_writer_sync(s);
        int rc = mdb_env_sync(s->reg_env, 1);
        return err != STORE_OK ? err : store_from_mdb(rc);
    }
    return store_sync_all(s);
}

store_err store_set_commit_ms(store *s, unsigned ms)
{
    if (!s || !s->writer)
        return STORE_EINVAL;
    store_writer_set_commit_ms(s, ms);     /* from the flusher's next round */
    return STORE_OK;
}

const char *store_dir(const store *s)
{
    return s->dir;
}

/* ===================================================================== */
/* statfs                                                                 */
/* ===================================================================== */

store_err store_statfs(store *s, struct store_statfs *st)
{
    struct statvfs sv;
    uint64_t used = 0;

    if (statvfs(s->dir, &sv) != 0)
        return store_from_errno(errno);
    memset(st, 0, sizeof *st);
    st->bsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    st->blocks = sv.f_blocks;
    st->bfree = sv.f_bfree;
    st->bavail = sv.f_bavail;
    st->namemax = STORE_NAME_MAX;

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nopen; i++) {
        MDB_txn *txn;
        MDB_stat ms;
        if (atomic_load(&s->open[i]->dead) ||
            store_map_read_begin(s->open[i], &txn) != STORE_OK)
            continue;
        if (mdb_stat(txn, s->open[i]->inodes, &ms) == 0)
            used += ms.ms_entries;
        store_map_read_end(s->open[i], txn);
    }
    pthread_mutex_unlock(&s->lock);

    /* Records are not bounded by the host's inode table: estimate that each
     * needs at least one 4 KiB page, and never more than inode numbers. */
    uint64_t ffree = (uint64_t)sv.f_bavail * st->bsize / 4096u;
    uint64_t cap = (uint64_t)1 << STORE_INO_BITS;
    if (ffree > cap - used)
        ffree = cap - used;
    st->ffree = ffree;
    st->files = used + ffree;
    return STORE_OK;
}
