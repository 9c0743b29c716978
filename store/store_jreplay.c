/*
 * store_jreplay.c - reading the journal: the framing walk shared by replay
 * and the key-free reader for tools, the journal's epoch, replay with the
 * cut of a torn or invalid tail, and store_journal_scan_dir().  The format
 * and the rules are the comment at the top of store_journal.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_journal_int.h"
static bool zero_from(int fd, uint64_t from, uint64_t to)
{
    uint8_t b[64 << 10];
    while (from < to) {
        size_t n = to - from < sizeof b ? (size_t)(to - from) : sizeof b;
        ssize_t r = jrnl_read_full(fd, b, n, from);
        if (r != (ssize_t)n) return false;
        for (size_t i = 0; i < n; i++)
            if (b[i]) return false;
        from += n;
    }
    return true;
}
/* ---- reading: the framing walk of replay and of the key-free reader ---- */

/* Is the segment's header valid?  Sets *first. */
static bool seg_header_ok(int fd, uint64_t size, uint64_t *first)
{
    uint8_t hdr[JRNL_HDR];
    if (size < JRNL_HDR || jrnl_read_full(fd, hdr, JRNL_HDR, 0) != JRNL_HDR ||
        memcmp(hdr, JRNL_MAGIC, 8) != 0)
        return false;
    *first = jrnl_get_le(hdr + 8, 8);
    return *first != 0;
}

struct walk {
    int fd;
    uint64_t size;             /* of the segment file */
    uint64_t expected;         /* in: first seq; out: next expected */
    uint64_t off, n, bytes;    /* out: end of the last valid entry, the
                                  valid entries and their bytes */
    const seal_key *key;       /* NULL: framing only (no authentication) */
    uint8_t **buf;
    size_t *cap;
    store_journal_fn fn;
    void *arg;
};

/* Walk the entries of one segment up to the first invalid one (or the
 * end).  Errors: I/O, ENOMEM, or fn's error. */
static store_err seg_walk(struct walk *w)
{
    uint8_t h[JRNL_ENT_HDR], ad[JRNL_AD];
    for (w->off = JRNL_HDR;; w->expected++) {
        if (w->size - w->off < JRNL_ENT_HDR) return STORE_OK;
        ssize_t r = jrnl_read_full(w->fd, h, JRNL_ENT_HDR, w->off);
        if (r != JRNL_ENT_HDR) return r < 0 ? STORE_EIO : STORE_OK;
        uint64_t len = jrnl_get_le(h, 4), seq = jrnl_get_le(h + 4, 8);
        if (len < SEAL_OVERHEAD || len > JRNL_PAYLOAD_MAX + SEAL_OVERHEAD ||
            seq != w->expected || w->size - w->off - JRNL_ENT_HDR < len)
            return STORE_OK;
        if (w->key) {
            if (!jrnl_grow(w->buf, w->cap, 2 * len)) return STORE_ENOMEM;
            uint8_t *sealed = *w->buf, *plain = *w->buf + len;
            r = jrnl_read_full(w->fd, sealed, len, w->off + JRNL_ENT_HDR);
            if ((uint64_t)r != len) return r < 0 ? STORE_EIO : STORE_OK;
            jrnl_entry_ad(ad, h);
            if (seal_open(w->key, ad, sizeof ad, sealed, len, plain) != 0)
                return STORE_OK;
            store_err err = w->fn(seq, jrnl_get_le(h + 12, 8), plain,
                                  len - SEAL_OVERHEAD, w->arg);
            if (err != STORE_OK) return err;
        }
        w->off += JRNL_ENT_HDR + len;
        w->n++;
        w->bytes += JRNL_ENT_HDR + len;
    }
}

/* What the segment files of a folder hold, up to the tail. */
struct scan {
    uint64_t *firsts;          /* every segment file, sorted */
    size_t n;
    struct jseg *segs;         /* the valid ones, `size` up to the tail */
    size_t nseg;
    size_t tail;               /* index in firsts of the tail, n if none */
    uint64_t tail_off;         /* the tail in it; 0: bad header */
    uint64_t disc;             /* bytes past the tail */
    uint64_t next;             /* the next seq */
    uint64_t entries, bytes;
    bool gap;                  /* the tail is a segment that does not
                                  follow the one before (one is missing) */
};

static store_err scan(int dfd, const char *dir, struct walk *proto,
                      struct scan *sc)
{
    store_err err;
    char name[JRNL_NAME_LEN + 1];
    bool have = false;
    memset(sc, 0, sizeof *sc);
    sc->next = 1;
    if ((err = jrnl_seg_list(dir, &sc->firsts, &sc->n)) != STORE_OK) return err;
    if (!(sc->segs = calloc(sc->n + 1, sizeof *sc->segs))) return STORE_ENOMEM;
    for (sc->tail = 0; sc->tail < sc->n; sc->tail++) {
        struct stat sb;
        uint64_t first = 0, fsz = 0;
        int fd = jrnl_seg_open(dfd, sc->firsts[sc->tail], O_RDONLY);
        if (fd < 0 || fstat(fd, &sb) != 0) {
            err = store_from_errno(errno);
            if (fd >= 0) close(fd);
            return err;
        }
        fsz = (uint64_t)sb.st_size;
        bool hok = seg_header_ok(fd, fsz, &first);
        if (!hok || first != sc->firsts[sc->tail] || (have && first != sc->next)) {
            sc->gap = hok && have && first == sc->firsts[sc->tail];
            if (!have) sc->next = sc->firsts[sc->tail] ? sc->firsts[sc->tail] : 1;
            close(fd);
            break;             /* a bad header: the segment goes whole */
        }
        struct walk w = *proto;
        w.fd = fd;
        w.size = fsz;
        w.expected = first;
        err = seg_walk(&w);
        /* Zeros after the last entry are the pre-zeroed room of appends
         * that never came, not a torn tail. */
        bool room = err == STORE_OK && w.off < fsz && zero_from(fd, w.off, fsz);
        close(fd);
        if (err != STORE_OK) return err;
        have = true;
        sc->next = w.expected;
        sc->entries += w.n;
        sc->bytes += w.bytes;
        sc->segs[sc->nseg++] = (struct jseg){ first, w.expected - 1, w.off };
        if (w.off < fsz && !room) {
            sc->tail_off = w.off;
            sc->disc = fsz - w.off;
            break;
        }
    }
    for (size_t k = sc->tail + (sc->tail_off > 0); k < sc->n; k++) {
        struct stat sb;
        jrnl_seg_name(name, sc->firsts[k]);
        if (fstatat(dfd, name, &sb, 0) == 0) sc->disc += (uint64_t)sb.st_size;
    }
    return STORE_OK;
}

/* ---- the epoch ---------------------------------------------------------- */

/* A journal's epoch: 64 random bits chosen when the journal is created
 * (no segment file yet) and kept in STORE/journal/epoch.  Tenants record
 * it with their applied_seq, so a journal made anew (its folder lost or
 * removed) is never mistaken for the one whose positions they hold:
 * sequence numbers start over there.  A journal with segments but no
 * epoch file predates epochs and has epoch 0. */
#define JRNL_EPOCH_NAME "epoch"

static store_err epoch_load(store_journal *j, bool fresh)
{
    uint8_t b[8];
    int fd;

    j->epoch = 0;
    if (!fresh) {
        fd = openat(j->dirfd, JRNL_EPOCH_NAME, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errno == ENOENT ? STORE_OK : store_from_errno(errno);
        ssize_t n = jrnl_read_full(fd, b, sizeof b, 0);
        close(fd);
        if (n != (ssize_t)sizeof b)
            return STORE_EIO;
        j->epoch = jrnl_get_le(b, 8);
        return STORE_OK;
    }
    do
        j->epoch = seal_random_u64();
    while (j->epoch == 0);
    jrnl_put_le(b, j->epoch, 8);
    fd = openat(j->dirfd, JRNL_EPOCH_NAME ".tmp",
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return store_from_errno(errno);
    store_err err = jrnl_write_all(fd, b, sizeof b, 0);
    if (err == STORE_OK && fdatasync(fd) != 0)
        err = store_from_errno(errno);
    close(fd);
    if (err == STORE_OK &&
        renameat(j->dirfd, JRNL_EPOCH_NAME ".tmp", j->dirfd, JRNL_EPOCH_NAME) != 0)
        err = store_from_errno(errno);
    if (err == STORE_OK && fsync(j->dirfd) != 0)
        err = store_from_errno(errno);
    return err;
}

uint64_t store_journal_epoch(store_journal *j)
{
    return j ? j->epoch : 0;
}

/* ---- replay ------------------------------------------------------------- */

static bool scan_benign(int dfd, const struct scan *sc);
static char *set_aside(store_journal *j, const struct scan *sc);

store_err store_journal_replay(store_journal *j, store_journal_fn fn,
                               void *arg, uint64_t *replayed,
                               uint64_t *discarded_bytes)
{
    store_err err = STORE_OK;
    struct scan sc = {0};
    struct walk proto = { .key = j ? j->key : NULL, .fn = fn, .arg = arg };
    char name[JRNL_NAME_LEN + 1];
    int fd = -1, old = -1;
    if (replayed) *replayed = 0;
    if (discarded_bytes) *discarded_bytes = 0;
    if (!j || !fn || j->ready) return STORE_EINVAL;
    proto.buf = &j->buf;
    proto.cap = &j->bufcap;
    {
        /* The epoch first: replaying calls fn, which compares it. */
        uint64_t *firsts = NULL;
        size_t nfiles = 0;
        if ((err = jrnl_seg_list(j->dir, &firsts, &nfiles)) != STORE_OK) goto out;
        free(firsts);
        if ((err = epoch_load(j, nfiles == 0)) != STORE_OK) goto out;
    }
    if ((err = scan(j->dirfd, j->dir, &proto, &sc)) != STORE_OK) goto out;
    if (sc.tail < sc.n && !scan_benign(j->dirfd, &sc)) {
        char *kept = set_aside(j, &sc);
        if (kept == NULL) {
            err = STORE_EIO;
            goto out;
        }
        store_log(LOG_CRIT, "journal: entry %" PRIu64 " cannot be read (a "
                  "segment is missing or damaged): the %" PRIu64 " bytes "
                  "from there on are not applied; they are kept in %s "
                  "(tenantctl check)", sc.next, sc.disc, kept);
        free(kept);
    }
    /* Cut the tail: truncate its segment, remove every later one. */
    for (size_t k = sc.tail; k < sc.n; k++) {
        jrnl_seg_name(name, sc.firsts[k]);
        if (k == sc.tail && sc.tail_off > 0) {
            fd = jrnl_seg_open(j->dirfd, sc.firsts[k], O_RDWR);
            if (fd < 0 || ftruncate(fd, (off_t)sc.tail_off) != 0 ||
                fdatasync(fd) != 0)
                goto fail;
            close(fd);
            fd = -1;
        } else if (unlinkat(j->dirfd, name, 0) != 0 && errno != ENOENT) {
            goto fail;
        }
    }
    if (sc.tail < sc.n && fsync(j->dirfd) != 0) goto fail;
    j->segs = sc.segs;         /* adopt the table of valid segments */
    j->nseg = sc.nseg;
    j->capseg = sc.n + 1;
    sc.segs = NULL;
    j->next_seq = sc.next;
    if (j->nseg > 0) {         /* the last one is the current segment */
        struct stat sb;
        fd = jrnl_seg_open(j->dirfd, j->segs[j->nseg - 1].first, O_RDWR);
        if (fd < 0 || fdatasync(fd) != 0 || fstat(fd, &sb) != 0) goto fail;
        j->alloc = (uint64_t)sb.st_size;
        j->fd = fd;
        fd = -1;
    } else if ((err = jrnl_seg_create(j, j->next_seq, &old)) != STORE_OK) {
        goto out;
    }
    pthread_mutex_lock(&j->lock);
    j->appended = j->flushed = j->next_seq - 1;
    j->applied = j->segs[0].first - 1;
    j->st.replayed = sc.entries;
    j->st.discarded_bytes = sc.disc;
    pthread_mutex_unlock(&j->lock);
    j->ready = true;
    if (sc.disc)
        store_log(LOG_WARNING, "journal: invalid tail after %" PRIu64
                  " entries, %" PRIu64 " bytes discarded", sc.entries, sc.disc);
    if (replayed) *replayed = sc.entries;
    if (discarded_bytes) *discarded_bytes = sc.disc;
    goto out;
fail:
    err = store_from_errno(errno);
out:
    if (fd >= 0) close(fd);
    if (err != STORE_OK && !j->ready) {
        free(j->segs);         /* not usable: a new replay starts over */
        j->segs = NULL;
        j->nseg = j->capseg = 0;
    }
    free(sc.segs);
    free(sc.firsts);
    return err;
}
/* ---- reading again while in use ------------------------------------- */

store_err store_journal_read(store_journal *j, uint64_t from,
                             store_journal_fn fn, void *arg)
{
    store_err err = STORE_OK;
    if (!j || !fn || !j->ready) return STORE_EINVAL;
    pthread_mutex_lock(&j->lock);
    size_t n = j->nseg;
    struct jseg *segs = malloc((n ? n : 1) * sizeof *segs);
    if (segs) memcpy(segs, j->segs, n * sizeof *segs);
    pthread_mutex_unlock(&j->lock);
    if (!segs) return STORE_ENOMEM;
    for (size_t i = 0; i < n && err == STORE_OK; i++) {
        if (segs[i].last < segs[i].first || segs[i].last < from)
            continue;                   /* empty, or wholly before `from` */
        int fd = jrnl_seg_open(j->dirfd, segs[i].first, O_RDONLY);
        if (fd < 0) { err = store_from_errno(errno); break; }
        struct walk w = { .fd = fd, .size = segs[i].size,
                          .expected = segs[i].first, .key = j->key,
                          .buf = &j->buf, .cap = &j->bufcap,
                          .fn = fn, .arg = arg };
        err = seg_walk(&w);
        close(fd);
        /* Every entry up to `last` was valid when appended. */
        if (err == STORE_OK && w.expected <= segs[i].last) err = STORE_EIO;
    }
    free(segs);
    return err;
}

/* ---- the key-free walk, for tools (store_jstats.c) ------------------- */

store_err store_journal_scan_dir(const char *jdir, uint64_t *segments,
                                 uint64_t *entries, uint64_t *bytes,
                                 uint64_t *last)
{
    struct scan sc;
    struct walk proto = {0};
    int dfd = open(jdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    *segments = *entries = *bytes = *last = 0;
    if (dfd < 0)
        return errno == ENOENT ? STORE_OK : store_from_errno(errno);
    store_err err = scan(dfd, jdir, &proto, &sc);
    *segments = sc.n;
    *entries = sc.entries;
    *bytes = sc.bytes;
    *last = sc.entries ? sc.next - 1 : 0;
    free(sc.segs);
    free(sc.firsts);
    close(dfd);
    return err;
}

/* Does segment `first` hold nothing but zeros after the frame at `off`
 * (the one append a crash tore)? */
static bool only_torn_entry(int dfd, uint64_t first, uint64_t off)
{
    uint8_t h[JRNL_ENT_HDR];
    struct stat sb;
    bool torn = false;
    int fd = jrnl_seg_open(dfd, first, O_RDONLY);

    if (fd < 0)
        return false;
    if (fstat(fd, &sb) == 0 && jrnl_read_full(fd, h, JRNL_ENT_HDR, off) ==
        JRNL_ENT_HDR) {
        uint64_t end = off + JRNL_ENT_HDR + jrnl_get_le(h, 4);
        torn = end >= (uint64_t)sb.st_size ||
               zero_from(fd, end, (uint64_t)sb.st_size);
    } else {
        torn = true;           /* not even a whole frame header */
    }
    close(fd);
    return torn;
}

/* Is where the scan stopped only what a crash leaves: the last append
 * torn, or the last segment's header (a rotation cut short)?  Anything
 * else (a missing segment, an entry damaged with valid ones after it, a
 * segment another key sealed) is damage. */
static bool scan_benign(int dfd, const struct scan *sc)
{
    if (sc->tail + 1 != sc->n || sc->gap)
        return false;
    return sc->tail_off == 0 ||
           only_torn_entry(dfd, sc->firsts[sc->tail], sc->tail_off);
}

/* ---- setting damage aside ---------------------------------------------- */

/* Replay stopped before the end of the journal and not because a crash
 * tore its last append: a segment is missing, or an entry was damaged
 * with valid ones after it.  What follows cannot be applied (it builds on
 * what is lost), but it is someone's acknowledged changes: before the cut,
 * copy every segment from the one where replay stopped into a new folder
 * STORE/journal.discarded/SECONDS/, where `tenantctl check` points to it.
 * Returns that folder (malloc'd), or NULL when copying failed (then the
 * mount must not cut: nothing is discarded that was not kept). */
static char *set_aside(store_journal *j, const struct scan *sc)
{
    char name[JRNL_NAME_LEN + 1];
    char *top = NULL, *dest = NULL;
    uint8_t *buf = malloc(1 << 20);
    bool ok = buf != NULL;

    if (ok && (asprintf(&top, "%s.discarded", j->dir) < 0 ||
               asprintf(&dest, "%s/%lld", top, (long long)time(NULL)) < 0))
        ok = false;
    if (ok && ((mkdir(top, 0700) != 0 && errno != EEXIST) ||
               (mkdir(dest, 0700) != 0 && errno != EEXIST)))
        ok = false;
    int dfd = ok ? open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    ok = ok && dfd >= 0;
    for (size_t k = sc->tail; ok && k < sc->n; k++) {
        int in, out;
        uint64_t off = 0;
        ssize_t r;

        jrnl_seg_name(name, sc->firsts[k]);
        in = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC);
        out = in < 0 ? -1 : openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC |
                                   O_CLOEXEC, 0600);
        while (ok && in >= 0 && out >= 0 &&
               (r = jrnl_read_full(in, buf, 1 << 20, off)) > 0) {
            ok = jrnl_write_all(out, buf, (size_t)r, off) == STORE_OK;
            off += (uint64_t)r;
        }
        if (in < 0 || out < 0 || fsync(out) != 0)
            ok = false;
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
    }
    if (ok)
        ok = fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    free(buf);
    free(top);
    if (!ok) {
        store_log(LOG_ERR, "journal: cannot set its unreadable part aside: %s",
                  strerror(errno ? errno : EIO));
        free(dest);
        return NULL;
    }
    return dest;
}

/* ---- checking, for tenantctl check (store_check.c) ------------------ */

static store_err verify_entry(uint64_t seq, uint64_t tenant,
                              const uint8_t *payload, size_t len, void *arg)
{
    (void)seq, (void)tenant, (void)payload, (void)len, (void)arg;
    return STORE_OK;
}

store_err store_journal_verify(const char *jdir, const seal_key *key,
                               struct store_journal_verdict *v)
{
    struct scan sc;
    uint8_t *buf = NULL;
    size_t cap = 0;
    struct walk proto = { .key = key, .fn = verify_entry, .buf = &buf,
                          .cap = &cap };
    int dfd = open(jdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    store_err err;

    memset(v, 0, sizeof *v);
    if (dfd < 0)
        return errno == ENOENT ? STORE_OK : store_from_errno(errno);
    err = scan(dfd, jdir, &proto, &sc);
    if (err == STORE_OK) {
        v->segments = sc.n;
        v->entries = sc.entries;
        v->next_seq = sc.next;
        if (sc.tail < sc.n) {
            v->stop_segment = sc.firsts[sc.tail];
            v->lost_bytes = sc.disc;
            v->torn_tail = scan_benign(dfd, &sc);
        }
    }
    if (buf)
        seal_wipe(buf, cap);
    free(buf);
    free(sc.segs);
    free(sc.firsts);
    close(dfd);
    return err;
}
