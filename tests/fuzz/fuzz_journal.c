/*
 * fuzz_journal.c - libFuzzer target of the journal reader (store_jreplay.c:
 * segment headers, entry framing, torn and invalid tails, the zeroed room,
 * replay and the key-free store_journal_scan_dir), through the public
 * journal API on a fresh folder in the scratch folder for every input.
 *
 * Input: the bytes of one or more segment files, back to back: a new file
 * starts at every "TFSJRNL1" (bytes before the first one make a file of
 * their own).  A file is named after the first seq in its header when it
 * has one (else its position, from 1).  Entries are opened with the fixed
 * key; every payload replayed is decoded with store_op_decode, as recovery
 * does.
 *
 * Properties: the key-free scan of the files as given finds at least the
 * entries replay gives; replay hands out consecutive seqs; after replay
 * has cut the tail, a second replay gives the same entries and discards
 * nothing, and the key-free scan counts exactly those entries.
 */
#include <fcntl.h>

#include "fuzz_store.h"

#define MAGIC "TFSJRNL1"

struct count { uint64_t n, last; };

static store_err on_entry(uint64_t seq, uint64_t tenant, const uint8_t *payload,
                          size_t len, void *arg)
{
    struct count *c = arg;
    struct store_op op;

    (void)tenant;
    FUZZ_ASSERT(c->n == 0 || seq == c->last + 1);
    c->n++;
    c->last = seq;
    (void)store_op_decode(payload, len, &op);
    return STORE_OK;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void write_file(const char *dir, uint64_t name, const uint8_t *p, size_t n)
{
    char path[192];
    snprintf(path, sizeof path, "%s/%016llx.jnl", dir, (unsigned long long)name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_ASSERT(fd >= 0);
    FUZZ_ASSERT(n == 0 || write(fd, p, n) == (ssize_t)n);
    close(fd);
}

static void replay(const char *dir, struct count *c, uint64_t *rep, uint64_t *disc)
{
    store_journal *j = NULL;
    FUZZ_ASSERT(store_journal_open(dir, fuzz_key(), &j) == STORE_OK);
    memset(c, 0, sizeof *c);
    FUZZ_ASSERT(store_journal_replay(j, on_entry, c, rep, disc) == STORE_OK);
    FUZZ_ASSERT(*rep == c->n);
    store_journal_close(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[128];
    uint64_t segs, ents, bytes, last, rep1, disc1, rep2, disc2, files = 0;
    struct count c1, c2;

    if (size > (1u << 20))
        return 0;
    /* Replay sets damaged parts aside in journal.discarded/ (beside the
     * journal): removed too, or every input would add to it. */
    snprintf(dir, sizeof dir, "%s/journal.discarded", fuzz_dir());
    fuzz_rm_tree(dir);
    snprintf(dir, sizeof dir, "%s/journal", fuzz_dir());
    fuzz_rm_tree(dir);
    FUZZ_ASSERT(mkdir(dir, 0700) == 0);
    size_t start = 0;
    do {                        /* one file per "TFSJRNL1" */
        const uint8_t *next = size - start > 8
            ? memmem(data + start + 1, size - start - 1, MAGIC, 8) : NULL;
        size_t end = next ? (size_t)(next - data) : size;
        uint64_t name = ++files;
        if (end - start >= 16 && memcmp(data + start, MAGIC, 8) == 0
            && le64(data + start + 8) != 0)
            name = le64(data + start + 8);
        write_file(dir, name, data + start, end - start);
        start = end;
    } while (start < size);

    FUZZ_ASSERT(store_journal_scan_dir(dir, &segs, &ents, &bytes, &last) == STORE_OK);
    replay(dir, &c1, &rep1, &disc1);
    FUZZ_ASSERT(ents >= rep1);
    replay(dir, &c2, &rep2, &disc2);
    FUZZ_ASSERT(rep2 == rep1 && disc2 == 0 && c2.last == c1.last);
    FUZZ_ASSERT(store_journal_scan_dir(dir, &segs, &ents, &bytes, &last) == STORE_OK);
    FUZZ_ASSERT(ents == rep1 && (rep1 == 0 || last == c1.last));
    return 0;
}
