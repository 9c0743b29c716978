/*
 * store_journal_int.h - what the two files of the journal share
 * (store_journal.c: segments, append, group commit, trim; store_jreplay.c:
 * reading, the epoch, replay and the key-free walk): the journal object,
 * its constants and the segment helpers.  Private to those files.
 */
#ifndef TENANTFS_STORE_JOURNAL_INT_H
#define TENANTFS_STORE_JOURNAL_INT_H

#include <dirent.h>
#include <sys/types.h>

#include "store_internal.h"

#define JRNL_MAGIC       "TFSJRNL1"
/* The current segment is kept zero-filled this far ahead of its last
 * entry, so an append overwrites allocated, initialised blocks and its
 * fdatasync need not commit a new file size (an ext4 journal commit). */
#define JRNL_PREZERO     ((uint64_t)256 << 10)
#define JRNL_HDR         16u
#define JRNL_ENT_HDR     20u
#define JRNL_AD          21u
#define JRNL_PAYLOAD_MAX ((size_t)16 << 20)
#define JRNL_NAME_LEN    20u            /* 16 hex + ".jnl" */

struct jseg {
    uint64_t first;            /* seq of its first entry (header) */
    uint64_t last;             /* seq of its last entry; first - 1 if none */
    uint64_t size;             /* bytes, header included */
};

struct store_journal {
    char *dir;
    int dirfd;
    const seal_key *key;
    bool ready;                /* replayed: appends allowed */
    uint64_t next_seq;         /* appender only */
    uint64_t epoch;            /* this journal's identity (see below) */
    uint64_t alloc;            /* appender only: the current segment's file
                                  size (entries, then zeros) */
    uint8_t *buf;              /* appender only: entry / replay buffer */
    size_t bufcap;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* protected by lock: */
    struct jseg *segs;         /* oldest first; the last is current */
    size_t nseg, capseg;
    int fd;                    /* the current segment, or -1 */
    uint64_t appended, flushed, applied;
    bool flushing;
    /* errno of a failed fdatasync of a segment still holding entries LMDB
     * lacks, or 0.  Sticky: after a failed writeback the kernel may report
     * success for the same lost pages, so every flush fails until a trim
     * leaves no entry (they are then durable in LMDB). */
    int werr;
    struct store_journal_stats st;
};

/* ---- helpers (store_journal.c) ---- */
void jrnl_put_le(uint8_t *p, uint64_t v, int n);
uint64_t jrnl_get_le(const uint8_t *p, int n);
void jrnl_seg_name(char out[JRNL_NAME_LEN + 1], uint64_t first);
int jrnl_seg_open(int dfd, uint64_t first, int flags);
/* The AD of an entry from its 20-byte header: 'J' seq tenant L. */
void jrnl_entry_ad(uint8_t ad[JRNL_AD], const uint8_t *h);
/* The first seqs of the segment files in dir, sorted. */
store_err jrnl_seg_list(const char *dir, uint64_t **out, size_t *n);
bool jrnl_grow(uint8_t **buf, size_t *cap, size_t need);
store_err jrnl_write_all(int fd, const uint8_t *p, size_t len, uint64_t off);
ssize_t jrnl_read_full(int fd, uint8_t *p, size_t len, uint64_t off);
/* Start a new current segment at `first` (header and zeroed room written
 * and synced, folder synced); the previous current fd goes to *oldfd. */
store_err jrnl_seg_create(store_journal *j, uint64_t first, int *oldfd);

#endif
