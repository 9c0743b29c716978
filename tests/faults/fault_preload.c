/*
 * fault_preload.c - a disk that fails on demand, for the integration tests
 * of docs/journal.md "When the disk fails" (tests/integration/
 * test_faults.py).  Loaded into the daemon with LD_PRELOAD; it stands in
 * for fdatasync() and pwrite64()/pwrite() of the whole process (the
 * journal's and LMDB's alike) and fails them while a trigger file exists:
 *
 *   $TFS_FAULT_DIR/fdatasync  fdatasync fails with the errno written in
 *                             the file (a decimal number; EIO if empty)
 *   $TFS_FAULT_DIR/pwrite     pwrite fails the same way
 *
 * Without TFS_FAULT_DIR every call goes straight to libc.  Test code only:
 * never installed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The errno to fail with when the trigger file `name` exists, else 0.
 * Reads the file with raw syscalls only (no stdio: this may run inside
 * any thread at any time). */
static int fault_errno(const char *name)
{
    const char *dir = getenv("TFS_FAULT_DIR");
    char path[512], buf[16];
    int fd, e = 0;
    ssize_t n;

    if (dir == NULL ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    e = atoi(buf);
    return e > 0 ? e : EIO;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    int e = fault_errno("fdatasync");

    if (e) {
        errno = e;
        return -1;
    }
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static ssize_t fault_pwrite(const char *sym, int fd, const void *buf,
                            size_t n, off_t off)
{
    int e = fault_errno("pwrite");
    pwrite_fn real;

    if (e) {
        errno = e;
        return -1;
    }
    real = (pwrite_fn)dlsym(RTLD_NEXT, sym);
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return fault_pwrite("pwrite64", fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return fault_pwrite("pwrite", fd, buf, n, off);
}
