/*
 * test_writer_faults.c - unit tests of the daemon's write path when the
 * disk fails (docs/journal.md, "When the disk fails"): a journal fdatasync
 * failing with EIO, or a journal write failing with EROFS, turns the store
 * read-only (every change fails with STORE_EROFS) while reads still show
 * every acknowledged change; nothing hangs (close, tenant removal); the
 * next open replays the journal and loses nothing that was acknowledged.
 * A full disk (ENOSPC) is the op's own error and the store goes on.
 *
 * Linked with -Wl,--wrap=fdatasync,--wrap=pwrite64: the journal's own calls
 * (store_journal.c) come to the wrappers below, which fail on demand.
 * LMDB is a shared library and keeps the real ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_tmp.h"
#include "tap.h"

/* ===================================================================== */
/* Failing system calls, on demand                                       */
/* ===================================================================== */

static volatile int fail_sync;      /* errno for fdatasync, 0: real call */
static volatile int fail_write;     /* errno for pwrite, 0: real call */

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_fdatasync(int fd)
{
    if (fail_sync) {
        errno = fail_sync;
        return -1;
    }
    return __real_fdatasync(fd);
}

/* With _FILE_OFFSET_BITS=64 the store's pwrite() calls are pwrite64(). */
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (fail_write) {
        errno = fail_write;
        return -1;
    }
    return __real_pwrite64(fd, buf, n, off);
}

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* Open the store as a daemon and tenant `name` (adding it when `add`). */
static store *open_tenant(const char *dir, const char *name, bool add,
                          store_tenant **t)
{
    store *s = open_ok(dir, STORE_OPEN_DAEMON);
    uint64_t id = 0;
    struct store_tenant_info info;

    *t = NULL;
    if (s == NULL)
        return NULL;
    if (add && store_tenant_add(s, name, 0, 0, 0755, &id) != STORE_OK)
        goto fail;
    if (!add) {
        if (store_tenant_find(s, name, strlen(name), &info) != STORE_OK)
            goto fail;
        id = info.id;
    }
    if (store_tenant_get(s, id, t) == STORE_OK)
        return s;
fail:
    store_close(s);
    return NULL;
}

static store_err put(store_tenant *t, const char *name, const char *text)
{
    struct store_attr a;
    store_err err = store_lookup(t, STORE_ROOT_INO, name, strlen(name), &a);

    if (err == STORE_ENOENT)
        err = store_mknod(t, STORE_ROOT_INO, name, strlen(name),
                          S_IFREG | 0644, 0, 0, NULL, 0, &a);
    if (err != STORE_OK)
        return err;
    return store_write(t, a.ino, 0, text, strlen(text), NULL);
}

/* Does record `name` hold exactly `text`? */
static bool holds(store_tenant *t, const char *name, const char *text)
{
    struct store_attr a;
    char buf[256];
    size_t got = 0;

    if (store_lookup(t, STORE_ROOT_INO, name, strlen(name), &a) != STORE_OK ||
        store_read(t, a.ino, 0, sizeof buf, buf, &got) != STORE_OK)
        return false;
    return got == strlen(text) && memcmp(buf, text, got) == 0;
}

static uint64_t failed_state(store *s)
{
    struct store_journal_stats st;
    return store_journal_stats(s, &st) == STORE_OK ? st.failed : 99;
}

/* ===================================================================== */
/* Tests                                                                 */
/* ===================================================================== */

TAP_TEST(fdatasync_eio_turns_the_store_read_only)
{
    struct tmp d;
    store_tenant *t, *u;
    uint64_t id = 0;

    tmp_make(&d);
    REQUIRE(store_create(d.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_tenant(d.store, "acme", true, &t);
    REQUIRE(s);
    CHECK(store_tenant_add(s, "beta", 0, 0, 0755, &id) == STORE_OK);
    CHECK(store_tenant_get(s, id, &u) == STORE_OK);
    CHECK(put(t, "a", "synced") == STORE_OK);
    CHECK(store_tenant_sync(t) == STORE_OK);
    CHECK(put(t, "a", "acknowledged") == STORE_OK);
    CHECK(put(u, "b", "other tenant") == STORE_OK);
    CHECK(failed_state(s) == 0);

    fail_sync = EIO;
    CHECK(store_tenant_sync(t) == STORE_EIO);
    fail_sync = 0;
    CHECK(failed_state(s) == STORE_EIO);
    /* Read-only from now on, for every tenant; fsync keeps failing. */
    CHECK(put(t, "a", "refused") == STORE_EROFS);
    CHECK(put(t, "new", "refused") == STORE_EROFS);
    CHECK(put(u, "b", "refused") == STORE_EROFS);
    CHECK(store_tenant_sync(t) == STORE_EIO);
    /* What was acknowledged is still what reads see. */
    CHECK(holds(t, "a", "acknowledged"));
    CHECK(holds(u, "b", "other tenant"));
    /* Removing a tenant does not wait for a checkpoint that never comes. */
    u = NULL;
    struct store_tenant_info info;
    store_err rm = store_tenant_remove(s, "beta", 0);
    CHECK(rm == STORE_OK || rm == STORE_EROFS || rm == STORE_EIO);
    CHECK(rm != STORE_OK || store_tenant_find(s, "beta", 4, &info) == STORE_ENOENT);
    store_close(s);

    /* The next mount replays the journal: nothing acknowledged is lost. */
    s = open_tenant(d.store, "acme", false, &t);
    REQUIRE(s);
    CHECK(failed_state(s) == 0);
    CHECK(holds(t, "a", "acknowledged"));
    CHECK(put(t, "a", "writable again") == STORE_OK);
    CHECK(holds(t, "a", "writable again"));
    store_close(s);
    tmp_remove(&d);
}

TAP_TEST(journal_write_erofs_turns_the_store_read_only)
{
    struct tmp d;
    store_tenant *t;

    tmp_make(&d);
    REQUIRE(store_create(d.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_tenant(d.store, "acme", true, &t);
    REQUIRE(s);
    CHECK(put(t, "a", "before") == STORE_OK);
    fail_write = EROFS;
    CHECK(put(t, "a", "during") == STORE_EROFS);
    fail_write = 0;
    CHECK(failed_state(s) == STORE_EROFS);
    CHECK(put(t, "a", "after") == STORE_EROFS);     /* stays read-only */
    CHECK(holds(t, "a", "before"));
    store_close(s);

    s = open_tenant(d.store, "acme", false, &t);
    REQUIRE(s);
    CHECK(holds(t, "a", "before"));
    CHECK(put(t, "a", "after") == STORE_OK);
    store_close(s);
    tmp_remove(&d);
}

TAP_TEST(full_disk_fails_the_op_only)
{
    struct tmp d;
    store_tenant *t;

    tmp_make(&d);
    REQUIRE(store_create(d.store, PASS, PASSLEN) == STORE_OK);
    store *s = open_tenant(d.store, "acme", true, &t);
    REQUIRE(s);
    CHECK(put(t, "a", "before") == STORE_OK);
    fail_write = ENOSPC;
    CHECK(put(t, "a", "no room") == STORE_ENOSPC);
    CHECK(put(t, "b", "no room") == STORE_ENOSPC);
    fail_write = 0;
    CHECK(failed_state(s) == 0);
    CHECK(holds(t, "a", "before"));
    CHECK(put(t, "a", "room again") == STORE_OK);
    CHECK(store_tenant_sync(t) == STORE_OK);
    store_close(s);

    s = open_tenant(d.store, "acme", false, &t);
    REQUIRE(s);
    CHECK(holds(t, "a", "room again"));
    store_close(s);
    tmp_remove(&d);
}

static void quiet(int priority, const char *msg)
{
    (void)priority;
    (void)msg;
}

int main(void)
{
    setenv("TENANTFS_TEST_FAST_KDF", "1", 1);
    store_set_log(quiet);
    return tap_main();
}
