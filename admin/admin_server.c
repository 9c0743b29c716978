/*
 * admin_server.c - the server side of the admin socket (admin.h): creating
 * STORE/admin.sock, the thread that accepts one connection at a time, the
 * SO_PEERCRED check, reading one request within a deadline, handing it to
 * the caller's handler, and sending what the handler answered (struct
 * admin_reply) before closing.  The daemon (fs/fs_admin.c) provides the
 * handler; this file knows nothing of what the verbs do.
 *
 * A connection is bounded in time as a whole, not per system call: reading
 * the request, sending the reply and draining what the client may still
 * send each end at one deadline (`timeout_ms`), so a silent or trickling
 * client delays the next one by at most about three timeouts.  The thread
 * blocks every signal (they belong to the daemon's main thread) and is
 * woken for shutdown through a pipe.
 *
 * Fields of struct admin_server are set before the thread starts and then
 * only read, except by admin_server_stop() after the thread is joined.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"

#define ADMIN_BACKLOG     16
#define ADMIN_DRAIN_MAX   (64u * 1024u)   /* bytes read after the request */

struct admin_reply {
    int code;                        /* 0: ok */
    char msg[ADMIN_MSG_MAX + 1];
    char *rows;                      /* data lines, LF-terminated */
    size_t len, cap;
};

struct admin_server {
    int dirfd;                       /* the store folder (O_PATH) */
    int lfd;                         /* listening socket */
    int wake[2];                     /* a byte on wake[1] stops the thread */
    dev_t sock_dev;                  /* STORE/admin.sock as created */
    ino_t sock_ino;
    unsigned timeout_ms;
    uid_t euid;                      /* besides root, who may connect */
    admin_handler_fn fn;
    void *arg;
    pthread_t thread;
    bool started;
};

/* ===================================================================== */
/* Replies                                                               */
/* ===================================================================== */

void admin_reply_err(struct admin_reply *rep, int code, const char *fmt, ...)
{
    va_list ap;

    if (rep->code != 0)
        return;
    rep->code = code > 0 && code <= 4095 ? code : EIO;
    va_start(ap, fmt);
    vsnprintf(rep->msg, sizeof rep->msg, fmt, ap);
    va_end(ap);
    for (char *p = rep->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    if (!rep->msg[0])
        snprintf(rep->msg, sizeof rep->msg, "error %d", rep->code);
    rep->len = 0;
}

int admin_reply_row(struct admin_reply *rep, int n, const char *const *fields)
{
    size_t need = 0;

    if (rep->code != 0)
        return 0;
    if (n < 1 || n > ADMIN_ROW_MAX) {
        admin_reply_err(rep, EINVAL, "bad data line");
        return EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (!admin_field_ok(fields[i])) {
            admin_reply_err(rep, EINVAL, "a value cannot be sent");
            return EINVAL;
        }
        need += strlen(fields[i]) + 1;
    }
    if (rep->len + need > rep->cap) {
        size_t cap = rep->cap ? rep->cap : 4096;
        char *p;

        while (cap < rep->len + need)
            cap *= 2;
        p = realloc(rep->rows, cap);
        if (!p) {
            admin_reply_err(rep, ENOMEM, "out of memory");
            return ENOMEM;
        }
        rep->rows = p;
        rep->cap = cap;
    }
    for (int i = 0; i < n; i++) {
        size_t l = strlen(fields[i]);

        memcpy(rep->rows + rep->len, fields[i], l);
        rep->len += l;
        rep->rows[rep->len++] = i + 1 < n ? '\t' : '\n';
    }
    return 0;
}

/* ===================================================================== */
/* One connection                                                        */
/* ===================================================================== */

static long long admin_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until `fd` has `events` or the deadline passes: 0 or ETIMEDOUT. */
static int admin_wait(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - admin_now_ms();
        struct pollfd p = { .fd = fd, .events = events };
        int n;

        if (left <= 0)
            return ETIMEDOUT;
        n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return errno;
    }
}

/* recv() of at most `cap` bytes before the deadline: >0 bytes, 0 at EOF,
 * or -errno. */
static ssize_t admin_recv_by(int fd, char *buf, size_t cap, long long deadline)
{
    for (;;) {
        int rc = admin_wait(fd, POLLIN, deadline);
        ssize_t n;

        if (rc)
            return -rc;
        n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
    }
}

static int admin_send_by(int fd, const char *buf, size_t len, long long deadline)
{
    while (len > 0) {
        int rc = admin_wait(fd, POLLOUT, deadline);
        ssize_t n;

        if (rc)
            return rc;
        n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read one request line into buf (ADMIN_LINE_MAX + 1 bytes): its length,
 * LF included, in *len.  Returns 0, E2BIG (no LF in the first
 * ADMIN_LINE_MAX bytes), EPROTO (EOF before a LF), ETIMEDOUT, or an errno.
 * Bytes after the LF are kept in the length, for the parser to refuse. */
static int admin_req_read(int fd, char *buf, size_t *len, long long deadline)
{
    size_t have = 0;

    *len = 0;
    for (;;) {
        ssize_t n = admin_recv_by(fd, buf + have, ADMIN_LINE_MAX + 1 - have,
                                  deadline);

        if (n < 0)
            return (int)-n;
        if (n == 0)
            return EPROTO;
        have += (size_t)n;
        *len = have;
        if (memchr(buf, '\n', have))
            return 0;
        if (have >= ADMIN_LINE_MAX)
            return E2BIG;
    }
}

/* Send the reply, half-close, and read what the client still sends (so
 * that closing does not turn the reply into a reset), until its EOF, the
 * deadline or ADMIN_DRAIN_MAX bytes. */
static void admin_reply_send(int fd, const struct admin_reply *rep,
                             long long deadline)
{
    char head[ADMIN_MSG_MAX + 32], junk[4096];
    size_t drained = 0;
    int n;

    if (rep->code == 0)
        n = snprintf(head, sizeof head, "ok\n");
    else
        n = snprintf(head, sizeof head, "err\t%d\t%s\n", rep->code, rep->msg);
    if (admin_send_by(fd, head, (size_t)n, deadline) != 0)
        return;
    if (rep->code == 0 && rep->len > 0 &&
        admin_send_by(fd, rep->rows, rep->len, deadline) != 0)
        return;
    (void)shutdown(fd, SHUT_WR);
    while (drained < ADMIN_DRAIN_MAX) {
        ssize_t got = admin_recv_by(fd, junk, sizeof junk, deadline);

        if (got <= 0)
            break;
        drained += (size_t)got;
    }
}

static void admin_serve_one(struct admin_server *srv, int fd)
{
    struct admin_reply rep = { 0 };
    struct admin_req *req = NULL;
    struct ucred cred;
    socklen_t credlen = sizeof cred;
    char *buf = NULL;
    const char *why = NULL;
    size_t len = 0;
    bool allowed;
    int rc;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0)
        return;
    allowed = cred.uid == 0 || cred.uid == srv->euid;
    buf = malloc(ADMIN_LINE_MAX + 1);
    req = malloc(sizeof *req);
    if (!buf || !req) {
        admin_reply_err(&rep, ENOMEM, "out of memory");
        goto send;
    }
    rc = admin_req_read(fd, buf, &len, admin_now_ms() + srv->timeout_ms);
    if (!allowed) {
        admin_reply_err(&rep, EPERM, "permission denied: only root or the "
                        "daemon's user may administer this store");
    } else if (rc == ETIMEDOUT) {
        admin_reply_err(&rep, EPROTO, "no request within %u ms", srv->timeout_ms);
    } else if (rc == E2BIG) {
        admin_reply_err(&rep, E2BIG, "request line too long");
    } else if (rc != 0) {
        admin_reply_err(&rep, EPROTO, "incomplete request");
    } else if ((rc = admin_req_parse(buf, len, req, &why)) != 0) {
        admin_reply_err(&rep, rc, "%s", why ? why : "malformed request");
    } else {
        srv->fn(req, &rep, srv->arg);
    }
send:
    admin_reply_send(fd, &rep, admin_now_ms() + srv->timeout_ms);
    free(rep.rows);
    free(req);
    free(buf);
}

/* ===================================================================== */
/* The thread                                                            */
/* ===================================================================== */

static void *admin_server_main(void *p)
{
    struct admin_server *srv = p;
    struct pollfd pf[2] = {
        { .fd = srv->lfd, .events = POLLIN },
        { .fd = srv->wake[0], .events = POLLIN },
    };

    for (;;) {
        int n = poll(pf, 2, -1), fd;

        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN)) {
            /* An error on the listening socket: do not spin on it. */
            if (pf[0].revents && poll(&pf[1], 1, 100) > 0)
                break;
            continue;
        }
        fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            /* Out of descriptors or memory: do not spin; wait a little,
             * still listening for the stop. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                if (poll(&pf[1], 1, 100) > 0)
                    break;
            }
            continue;
        }
        admin_serve_one(srv, fd);
        close(fd);
    }
    return NULL;
}

/* ===================================================================== */
/* Start and stop                                                        */
/* ===================================================================== */

/* Remove a stale STORE/admin.sock; refuse anything that is not a socket. */
static int admin_stale_remove(int dirfd)
{
    struct stat st;

    if (fstatat(dirfd, ADMIN_SOCK_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : errno;
    if (!S_ISSOCK(st.st_mode))
        return EEXIST;
    if (unlinkat(dirfd, ADMIN_SOCK_NAME, 0) != 0 && errno != ENOENT)
        return errno;
    return 0;
}

int admin_server_start(const char *store_dir, unsigned timeout_ms,
                       admin_handler_fn fn, void *arg,
                       struct admin_server **out)
{
    struct admin_server *srv;
    struct sockaddr_un sa;
    struct stat st;
    sigset_t all, old;
    bool bound = false;
    int rc;

    *out = NULL;
    if (!store_dir || !fn)
        return EINVAL;
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return ENOMEM;
    srv->lfd = srv->wake[0] = srv->wake[1] = -1;
    srv->timeout_ms = timeout_ms ? timeout_ms : ADMIN_SERVER_TIMEOUT_MS;
    srv->euid = geteuid();
    srv->fn = fn;
    srv->arg = arg;
    srv->dirfd = open(store_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (srv->dirfd < 0) {
        rc = errno;
        goto fail;
    }
    if ((rc = admin_sock_addr(store_dir, srv->dirfd, &sa)) != 0 ||
        (rc = admin_stale_remove(srv->dirfd)) != 0)
        goto fail;
    srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (srv->lfd < 0) {
        rc = errno;
        goto fail;
    }
    /* Linux creates the socket file with the socket inode's mode (less the
     * umask): 0600 from the start, then made sure of after bind. */
    (void)fchmod(srv->lfd, 0600);
    if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        rc = errno;
        goto fail;
    }
    bound = true;
    if (fchmodat(srv->dirfd, ADMIN_SOCK_NAME, 0600, 0) != 0 ||
        fstatat(srv->dirfd, ADMIN_SOCK_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = errno;
        goto fail;
    }
    srv->sock_dev = st.st_dev;
    srv->sock_ino = st.st_ino;
    if (listen(srv->lfd, ADMIN_BACKLOG) != 0 ||
        pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = errno;
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&srv->thread, NULL, admin_server_main, srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto fail;
    srv->started = true;
    *out = srv;
    return 0;

fail:
    if (bound)
        (void)unlinkat(srv->dirfd, ADMIN_SOCK_NAME, 0);
    admin_server_stop(srv);
    return rc;
}

void admin_server_stop(struct admin_server *srv)
{
    struct stat st;

    if (!srv)
        return;
    if (srv->started) {
        ssize_t n;

        do
            n = write(srv->wake[1], "x", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(srv->thread, NULL);
    }
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->started && srv->dirfd >= 0 &&
        fstatat(srv->dirfd, ADMIN_SOCK_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
        (void)unlinkat(srv->dirfd, ADMIN_SOCK_NAME, 0);
    for (int i = 0; i < 2; i++)
        if (srv->wake[i] >= 0)
            close(srv->wake[i]);
    if (srv->dirfd >= 0)
        close(srv->dirfd);
    free(srv);
}
