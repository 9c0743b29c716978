/*
 * admin.c - the admin socket protocol (admin.h): the verb table, encoding
 * and strict parsing of request, status and data lines, the socket path of
 * a store folder, and the client, admin_call(), that tenantctl uses to send
 * one request to a running daemon.  The server thread is admin_server.c.
 *
 * Everything here is bounded: a line is at most ADMIN_LINE_MAX bytes, a
 * field ADMIN_FIELD_MAX, a request ADMIN_ARGS_MAX arguments; anything else
 * is refused, never truncated (except an error message, which is text for
 * a human).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"

/* ===================================================================== */
/* Verbs and values                                                      */
/* ===================================================================== */

static const struct admin_verb {
    const char *name;
    int nargs;
} admin_verbs[] = {
    { "add",    4 },    /* NAME UID GID MODE */
    { "remove", 1 },    /* NAME */
    { "chown",  3 },    /* NAME UID|- GID|- */
    { "chmod",  2 },    /* NAME MODE */
    { "quota",  3 },    /* NAME BYTES|- RECORDS|- */
    { "list",   0 },
    { "counters", 0 },
    { "checkpoint", 0 },
    { "restore", 2 },   /* SNAPSHOT NAME */
};

int admin_verb_nargs(const char *verb)
{
    for (size_t i = 0; i < sizeof admin_verbs / sizeof admin_verbs[0]; i++)
        if (verb && strcmp(admin_verbs[i].name, verb) == 0)
            return admin_verbs[i].nargs;
    return -1;
}

static bool admin_byte_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* 0, EPROTO (empty, control character) or ENAMETOOLONG, for `len` bytes. */
static int admin_field_check(const char *s, size_t len)
{
    if (len == 0)
        return EPROTO;
    if (len > ADMIN_FIELD_MAX)
        return ENAMETOOLONG;
    for (size_t i = 0; i < len; i++)
        if (admin_byte_ctl((unsigned char)s[i]))
            return EPROTO;
    return 0;
}

bool admin_field_ok(const char *s)
{
    return s && admin_field_check(s, strnlen(s, ADMIN_FIELD_MAX + 1)) == 0;
}

int admin_num_parse(const char *s, int base, uint64_t max, uint64_t *v)
{
    uint64_t n = 0;
    unsigned top = base == 8 ? '7' : '9';

    if (!s || !*s || (base != 8 && base != 10))
        return EINVAL;
    for (; *s; s++) {
        unsigned d;

        if ((unsigned char)*s < '0' || (unsigned char)*s > top)
            return EINVAL;
        d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / (uint64_t)base)
            return ERANGE;
        n = n * (uint64_t)base + d;
    }
    if (n > max)
        return ERANGE;
    *v = n;
    return 0;
}

bool admin_is_unset(const char *s)
{
    return s && strcmp(s, "-") == 0;
}

/* ===================================================================== */
/* Requests                                                              */
/* ===================================================================== */

int admin_req_format(char *buf, size_t cap, size_t *len, const char *verb,
                     int nargs, const char *const *args)
{
    size_t n = 0, lim = cap < ADMIN_LINE_MAX ? cap : ADMIN_LINE_MAX;
    int want = admin_verb_nargs(verb);

    *len = 0;
    if (want < 0 || nargs != want || (nargs > 0 && !args))
        return EINVAL;
    for (int i = -1; i < nargs; i++) {
        const char *f = i < 0 ? verb : args[i];
        size_t flen = f ? strnlen(f, ADMIN_FIELD_MAX + 1) : 0;
        int rc = admin_field_check(f ? f : "", flen);

        if (rc)
            return rc == EPROTO ? EINVAL : rc;
    }
    /* MAGIC, then TAB FIELD for each, then LF. */
    if (sizeof ADMIN_MAGIC - 1 > lim)
        return E2BIG;
    memcpy(buf, ADMIN_MAGIC, sizeof ADMIN_MAGIC - 1);
    n = sizeof ADMIN_MAGIC - 1;
    for (int i = -1; i < nargs; i++) {
        const char *f = i < 0 ? verb : args[i];
        size_t flen = strlen(f);

        if (n + 1 + flen > lim)
            return E2BIG;
        buf[n++] = '\t';
        memcpy(buf + n, f, flen);
        n += flen;
    }
    if (n + 1 > lim)
        return E2BIG;
    buf[n++] = '\n';
    *len = n;
    return 0;
}

int admin_req_parse(const char *line, size_t len, struct admin_req *req,
                    const char **why)
{
    const char *dummy;
    char *p, *end, *tab;
    int nf = 0, rc;

    if (!why)
        why = &dummy;
    memset(req, 0, sizeof *req);
    if (len > ADMIN_LINE_MAX) {
        *why = "request line too long";
        return E2BIG;
    }
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len) != line + len - 1) {
        *why = "a request is exactly one line ending in a newline";
        return EPROTO;
    }
    memcpy(req->buf, line, len - 1);
    req->buf[len - 1] = '\0';
    end = req->buf + len - 1;
    /* The magic, with its version. */
    tab = memchr(req->buf, '\t', (size_t)(end - req->buf));
    if (!tab)
        tab = end;
    if ((size_t)(tab - req->buf) != sizeof ADMIN_MAGIC - 1 ||
        memcmp(req->buf, ADMIN_MAGIC, sizeof ADMIN_MAGIC - 1) != 0) {
        bool ours = strncmp(req->buf, "tenantfs-admin ", 15) == 0;

        *why = ours ? "unsupported protocol version" : "not a tenantfs-admin request";
        return EPROTO;
    }
    if (tab == end) {
        *why = "missing verb";
        return EPROTO;
    }
    /* The fields. */
    for (p = tab + 1; p <= end; p = tab + 1) {
        tab = memchr(p, '\t', (size_t)(end - p));
        if (!tab)
            tab = end;
        *tab = '\0';
        if ((rc = admin_field_check(p, (size_t)(tab - p))) != 0) {
            *why = rc == ENAMETOOLONG ? "field longer than 255 bytes"
                                      : "empty field or control character";
            return rc;
        }
        if (nf == 0) {
            req->verb = p;
        } else if (nf - 1 < ADMIN_ARGS_MAX) {
            req->args[nf - 1] = p;
        } else {
            *why = "too many arguments";
            return EINVAL;
        }
        nf++;
        if (tab == end)
            break;
    }
    req->nargs = nf - 1;
    rc = admin_verb_nargs(req->verb);
    if (rc < 0) {
        *why = "unknown verb";
        return EINVAL;
    }
    if (rc != req->nargs) {
        *why = "wrong number of arguments for this verb";
        return EINVAL;
    }
    *why = NULL;
    return 0;
}

/* ===================================================================== */
/* Replies                                                               */
/* ===================================================================== */

int admin_status_parse(const char *line, size_t len, int *code, char *msg,
                       size_t cap)
{
    const char *p, *end, *tab;
    uint64_t v;
    char num[16];

    *code = 0;
    if (cap)
        msg[0] = '\0';
    if (len == 0 || len > ADMIN_LINE_MAX || line[len - 1] != '\n' ||
        memchr(line, '\n', len) != line + len - 1)
        return EPROTO;
    end = line + len - 1;
    if (len == 3 && memcmp(line, "ok", 2) == 0)
        return 0;
    if (len < 4 || memcmp(line, "err\t", 4) != 0)
        return EPROTO;
    p = line + 4;
    tab = memchr(p, '\t', (size_t)(end - p));
    if (!tab || tab == p || (size_t)(tab - p) >= sizeof num)
        return EPROTO;
    memcpy(num, p, (size_t)(tab - p));
    num[tab - p] = '\0';
    if (admin_num_parse(num, 10, 4095, &v) != 0 || v == 0)
        return EPROTO;
    p = tab + 1;
    if (p == end || (size_t)(end - p) > ADMIN_MSG_MAX)
        return EPROTO;
    for (const char *q = p; q < end; q++)
        if (admin_byte_ctl((unsigned char)*q))
            return EPROTO;
    if (cap) {
        size_t n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;

        memcpy(msg, p, n);
        msg[n] = '\0';
    }
    *code = (int)v;
    return 0;
}

int admin_row_split(char *line, size_t len, char **fields, int max, int *n)
{
    char *p, *end, *tab;
    int nf = 0;

    *n = 0;
    if (len == 0 || len > ADMIN_LINE_MAX || line[len - 1] != '\n' ||
        memchr(line, '\n', len) != line + len - 1)
        return EPROTO;
    end = line + len - 1;
    *end = '\0';
    for (p = line;; p = tab + 1) {
        tab = memchr(p, '\t', (size_t)(end - p));
        if (!tab)
            tab = end;
        *tab = '\0';
        if (admin_field_check(p, (size_t)(tab - p)) != 0 || nf >= max)
            return EPROTO;
        fields[nf++] = p;
        if (tab == end)
            break;
    }
    *n = nf;
    return 0;
}

/* ===================================================================== */
/* Sockets                                                               */
/* ===================================================================== */

int admin_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa)
{
    int n;

    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", dir, ADMIN_SOCK_NAME);
    if (n > 0 && (size_t)n < sizeof sa->sun_path)
        return 0;
    /* Too long: through the folder's descriptor. */
    n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s",
                 dirfd, ADMIN_SOCK_NAME);
    return n > 0 && (size_t)n < sizeof sa->sun_path ? 0 : ENAMETOOLONG;
}

void admin_sock_timeouts(int fd, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int admin_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ===================================================================== */
/* Client                                                                */
/* ===================================================================== */

/* Buffered reading of the reply, one line at a time. */
struct admin_in {
    int fd;
    size_t have, used;              /* bytes in buf; bytes consumed */
    char buf[2 * ADMIN_LINE_MAX];
};

/* The next line (LF included) in *line and *len.  Returns 0, or -1 at a clean
 * EOF, or an errno (EPROTO: overlong line or EOF inside a line). */
static int admin_in_line(struct admin_in *in, char **line, size_t *len)
{
    for (;;) {
        char *start = in->buf + in->used;
        char *lf = memchr(start, '\n', in->have - in->used);
        ssize_t n;

        if (lf) {
            *line = start;
            *len = (size_t)(lf - start) + 1;
            if (*len > ADMIN_LINE_MAX)
                return EPROTO;
            in->used += *len;
            return 0;
        }
        if (in->have - in->used >= ADMIN_LINE_MAX)
            return EPROTO;
        memmove(in->buf, start, in->have - in->used);
        in->have -= in->used;
        in->used = 0;
        n = recv(in->fd, in->buf + in->have, sizeof in->buf - in->have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
        if (n == 0)
            return in->have == 0 ? -1 : EPROTO;
        in->have += (size_t)n;
    }
}

/* Read the status line and the data lines. */
static int admin_reply_read(int fd, admin_row_fn fn, void *arg,
                            struct admin_result *res)
{
    struct admin_in *in = malloc(sizeof *in);
    char *fields[ADMIN_ROW_MAX], *line;
    size_t len;
    int rc, n;

    if (!in)
        return ENOMEM;
    in->fd = fd;
    in->have = in->used = 0;
    rc = admin_in_line(in, &line, &len);
    if (rc < 0)
        rc = EPROTO;               /* closed without a status */
    if (rc == 0)
        rc = admin_status_parse(line, len, &res->code, res->msg, sizeof res->msg);
    while (rc == 0) {
        rc = admin_in_line(in, &line, &len);
        if (rc < 0) {
            rc = 0;
            break;
        }
        if (rc == 0 && res->code != 0)
            rc = EPROTO;           /* nothing may follow an error */
        if (rc == 0)
            rc = admin_row_split(line, len, fields, ADMIN_ROW_MAX, &n);
        if (rc == 0 && fn && fn(n, fields, arg) != 0)
            rc = ECANCELED;
    }
    free(in);
    return rc;
}

int admin_call(const char *store_dir, const char *verb, int nargs,
               const char *const *args, admin_row_fn fn, void *arg,
               struct admin_result *res)
{
    char line[ADMIN_LINE_MAX];
    struct sockaddr_un sa;
    size_t len;
    int dirfd = -1, fd = -1, rc;

    memset(res, 0, sizeof *res);
    if ((rc = admin_req_format(line, sizeof line, &len, verb, nargs, args)) != 0)
        return rc;
    dirfd = open(store_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return errno;
    if ((rc = admin_sock_addr(store_dir, dirfd, &sa)) != 0)
        goto out;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = errno;
        goto out;
    }
    admin_sock_timeouts(fd, ADMIN_CLIENT_TIMEOUT_MS);
    while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof sa)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        rc = errno;
        goto out;
    }
    if ((rc = admin_send_all(fd, line, len)) != 0)
        goto out;
    (void)shutdown(fd, SHUT_WR);
    rc = admin_reply_read(fd, fn, arg, res);
out:
    if (fd >= 0)
        close(fd);
    close(dirfd);
    return rc;
}
