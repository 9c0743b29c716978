/*
 * store_secret.c - reading a passphrase from a key file or the terminal.
 *
 * This file owns the only path by which a passphrase enters tenantfs.  The
 * bytes go straight from read(2) into locked, guarded memory from
 * seal_secure_alloc(); no stack or heap copy is ever made, and the buffer is
 * wiped by store_secret_free().  A passphrase is the first line of the key
 * file (or of what is typed at the terminal), without its "\n" or "\r\n",
 * at most STORE_SECRET_MAX bytes.  On the terminal, echo is off while
 * typing and restored afterwards, also when reading fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "store_internal.h"

#define STORE_SECRET_MAX 1024u
/* Room for the longest passphrase, "\r\n" and a NUL. */
#define STORE_SECRET_BUF (STORE_SECRET_MAX + 3u)

/* Read from `fd` into `buf` (capacity STORE_SECRET_BUF) until a newline,
 * end of file, or the buffer is full; then cut the first line.  The result
 * is NUL-terminated and its length goes to *len. */
static store_err store_secret_read_fd(int fd, char *buf, size_t *len)
{
    size_t n = 0;
    char *nl = NULL;

    while (n < STORE_SECRET_BUF - 1) {
        ssize_t r = read(fd, buf + n, STORE_SECRET_BUF - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return store_from_errno(errno);
        if (r == 0)
            break;
        nl = memchr(buf + n, '\n', (size_t)r);
        n += (size_t)r;
        if (nl)
            break;
    }
    if (nl) {
        n = (size_t)(nl - buf);
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    } else if (n > STORE_SECRET_MAX) {
        return STORE_EINVAL;          /* a first line over 1 KiB */
    } else if (n > 0 && buf[n - 1] == '\r') {
        n--;
    }
    if (n > STORE_SECRET_MAX)
        return STORE_EINVAL;
    /* Wipe whatever followed the first line. */
    seal_wipe(buf + n, STORE_SECRET_BUF - n);
    if (n == 0)
        return STORE_EINVAL;
    *len = n;
    return STORE_OK;
}

static store_err store_secret_read_file(const char *passfile, char *buf,
                                        size_t *len)
{
    int fd = open(passfile, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    store_err err;

    if (fd < 0) {
        switch (errno) {
        case ENOENT: return STORE_ENOENT;
        case EACCES: return STORE_EACCES;
        case EPERM:  return STORE_EACCES;
        default:     return store_from_errno(errno);
        }
    }
    err = store_secret_read_fd(fd, buf, len);
    if (err == STORE_EISDIR)
        err = STORE_EINVAL;
    close(fd);
    return err;
}

static store_err store_secret_read_tty(const char *prompt, char *buf, size_t *len)
{
    struct termios old, quiet;
    bool restore = false;
    store_err err;
    int fd;

    if (!isatty(STDIN_FILENO))
        return STORE_EINVAL;
    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return STORE_EINVAL;
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
        quiet.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    if (prompt)
        fprintf(stderr, "%s", prompt);
    fflush(stderr);
    err = store_secret_read_fd(fd, buf, len);
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    close(fd);
    return err;
}

store_err store_secret_read(const char *passfile, const char *prompt,
                            char **pass, size_t *len)
{
    char *buf;
    size_t n = 0;
    store_err err;

    *pass = NULL;
    *len = 0;
    if (seal_init() != 0)
        return STORE_ENOMEM;
    buf = seal_secure_alloc(STORE_SECRET_BUF);
    if (!buf)
        return STORE_ENOMEM;
    memset(buf, 0, STORE_SECRET_BUF);
    if (passfile)
        err = store_secret_read_file(passfile, buf, &n);
    else
        err = store_secret_read_tty(prompt, buf, &n);
    if (err != STORE_OK) {
        seal_secure_free(buf);
        return err;
    }
    *pass = buf;
    *len = n;
    return STORE_OK;
}

void store_secret_free(char *pass, size_t len)
{
    if (!pass)
        return;
    seal_wipe(pass, len);
    seal_secure_free(pass);   /* wipes the whole buffer again */
}
