/*
 * test_admin.c - unit tests of the admin socket protocol (admin/admin.h):
 * encoding and strict parsing of requests, status lines and data lines
 * (good and malformed, long fields, wrong counts), and round trips over a
 * real socket in a fresh mkdtemp() folder with a test handler: data lines,
 * errors, a path too long for sun_path, stale sockets, a silent client, raw
 * malformed requests, and the refusal of a peer that is neither root nor
 * the server's user (when run as root: a forked child becomes nobody).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "tap.h"

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

struct tmp {
    char root[64];
};

static void tmp_make(struct tmp *t)
{
    strcpy(t->root, "/tmp/tfs-admin-sock-XXXXXX");
    if (!mkdtemp(t->root))
        abort();
    chmod(t->root, 0755);
}

static int tmp_rm_one(const char *p, const struct stat *st, int type,
                      struct FTW *f)
{
    return (void)st, (void)type, (void)f, remove(p);
}

static void tmp_remove(struct tmp *t)
{
    nftw(t->root, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t line_of(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n > cap)
        abort();
    memcpy(buf, s, n);
    return n;
}

/* Parse `s` as a request; returns the error code. */
static int req_parse_str(const char *s, struct admin_req *r)
{
    static char buf[2 * ADMIN_LINE_MAX];
    size_t n = line_of(buf, sizeof buf, s);
    const char *why = NULL;
    int rc = admin_req_parse(buf, n, r, &why);

    if (rc != 0 && !why)
        printf("# no reason given for %d\n", rc);
    return rc;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ===================================================================== */
/* Values and requests                                                   */
/* ===================================================================== */

TAP_TEST(verbs_and_numbers)
{
    uint64_t v = 0;

    CHECK(admin_verb_nargs("add") == 4);
    CHECK(admin_verb_nargs("remove") == 1);
    CHECK(admin_verb_nargs("chown") == 3);
    CHECK(admin_verb_nargs("chmod") == 2);
    CHECK(admin_verb_nargs("quota") == 3);
    CHECK(admin_verb_nargs("list") == 0);
    CHECK(admin_verb_nargs("frob") == -1);
    CHECK(admin_verb_nargs(NULL) == -1);

    CHECK(admin_num_parse("0", 10, 10, &v) == 0 && v == 0);
    CHECK(admin_num_parse("18446744073709551615", 10, UINT64_MAX, &v) == 0 &&
          v == UINT64_MAX);
    CHECK(admin_num_parse("18446744073709551616", 10, UINT64_MAX, &v) == ERANGE);
    CHECK(admin_num_parse("4294967295", 10, UINT32_MAX - 1, &v) == ERANGE);
    CHECK(admin_num_parse("0750", 8, 07777, &v) == 0 && v == 0750);
    CHECK(admin_num_parse("7777", 8, 07777, &v) == 0 && v == 07777);
    CHECK(admin_num_parse("10000", 8, 07777, &v) == ERANGE);
    CHECK(admin_num_parse("08", 8, 07777, &v) == EINVAL);
    CHECK(admin_num_parse("", 10, 10, &v) == EINVAL);
    CHECK(admin_num_parse("-1", 10, 10, &v) == EINVAL);
    CHECK(admin_num_parse("+1", 10, 10, &v) == EINVAL);
    CHECK(admin_num_parse(" 1", 10, 10, &v) == EINVAL);
    CHECK(admin_num_parse("1 ", 10, 10, &v) == EINVAL);
    CHECK(admin_num_parse("0x10", 10, 100, &v) == EINVAL);
    CHECK(admin_is_unset("-") && !admin_is_unset("-1") && !admin_is_unset(""));
    CHECK(admin_field_ok("acme") && admin_field_ok("caf\xc3\xa9 \"q\" \\ \xff"));
    CHECK(!admin_field_ok("") && !admin_field_ok("a\tb") && !admin_field_ok("a\x7f"));
}

TAP_TEST(request_format_and_parse)
{
    const char *add[] = { "acme corp \xe2\x82\xac \xff", "1000", "100", "0750" };
    char buf[ADMIN_LINE_MAX];
    struct admin_req r;
    size_t len = 0;
    char *n255 = repeat('n', 255), *n256 = repeat('n', 256);
    const char *one[1];

    REQUIRE(admin_req_format(buf, sizeof buf, &len, "add", 4, add) == 0);
    CHECK(len > 0 && buf[len - 1] == '\n');
    CHECK(strncmp(buf, "tenantfs-admin 1\tadd\tacme corp ", 31) == 0);
    REQUIRE(admin_req_parse(buf, len, &r, NULL) == 0);
    CHECK(strcmp(r.verb, "add") == 0 && r.nargs == 4);
    for (int i = 0; i < 4; i++)
        CHECK(strcmp(r.args[i], add[i]) == 0);

    CHECK(admin_req_format(buf, sizeof buf, &len, "list", 0, NULL) == 0 &&
          len == sizeof "tenantfs-admin 1\tlist\n" - 1 &&
          memcmp(buf, "tenantfs-admin 1\tlist\n", len) == 0);
    CHECK(admin_req_parse(buf, len, &r, NULL) == 0 && r.nargs == 0);

    /* The format side refuses what the parse side would. */
    CHECK(admin_req_format(buf, sizeof buf, &len, "frob", 0, NULL) == EINVAL);
    CHECK(admin_req_format(buf, sizeof buf, &len, "add", 3, add) == EINVAL);
    one[0] = "";
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == EINVAL);
    one[0] = "a\nb";
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == EINVAL);
    one[0] = "a\tb";
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == EINVAL);
    one[0] = NULL;
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == EINVAL);
    one[0] = n256;
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == ENAMETOOLONG);
    one[0] = n255;
    CHECK(admin_req_format(buf, sizeof buf, &len, "remove", 1, one) == 0);
    CHECK(admin_req_parse(buf, len, &r, NULL) == 0 && strcmp(r.args[0], n255) == 0);
    CHECK(admin_req_format(buf, 20, &len, "remove", 1, one) == E2BIG);
    free(n255);
    free(n256);
}

TAP_TEST(request_parse_malformed)
{
    struct admin_req r;
    char *big, *line;

    CHECK(req_parse_str("tenantfs-admin 1\tremove\tacme\n", &r) == 0);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tacme", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tacme\n\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tacme\nx", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tac\nme\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 2\tremove\tacme\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1 \tremove\tacme\n", &r) == EPROTO);
    CHECK(req_parse_str("GET / HTTP/1.0\n", &r) == EPROTO);
    CHECK(req_parse_str("\n", &r) == EPROTO);
    CHECK(req_parse_str("", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\t\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\t\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\t\tacme\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tac\rme\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tac\x01me\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\tacme\x7f\n", &r) == EPROTO);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tremove\ta\tb\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tlist\tx\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tfrob\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tLIST\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tadd\ta\t1\t2\t3\t4\t5\t6\t7\t8\n", &r) == EINVAL);
    CHECK(req_parse_str("tenantfs-admin 1\tadd\ta\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", &r)
          == EINVAL);

    /* A field of 256 bytes; a line over ADMIN_LINE_MAX. */
    big = repeat('x', 256);
    REQUIRE(asprintf(&line, "tenantfs-admin 1\tremove\t%s\n", big) > 0);
    CHECK(req_parse_str(line, &r) == ENAMETOOLONG);
    free(line);
    free(big);
    big = repeat('x', ADMIN_LINE_MAX);
    REQUIRE(asprintf(&line, "tenantfs-admin 1\tremove\t%s\n", big) > 0);
    CHECK(req_parse_str(line, &r) == E2BIG);
    free(line);
    free(big);
}

TAP_TEST(status_and_rows)
{
    char msg[ADMIN_MSG_MAX + 1], line[ADMIN_LINE_MAX + 8], *f[ADMIN_ROW_MAX];
    int code = -1, n = 0;
    char *long_msg = repeat('m', ADMIN_MSG_MAX + 1), *l2;

#define ST(s) admin_status_parse(s, sizeof s - 1, &code, msg, sizeof msg)
    CHECK(ST("ok\n") == 0 && code == 0 && msg[0] == '\0');
    CHECK(ST("err\t16\ttenant has open files\n") == 0 && code == 16 &&
          strcmp(msg, "tenant has open files") == 0);
    CHECK(ST("ok") == EPROTO);
    CHECK(ST("okay\n") == EPROTO);
    CHECK(ST("ok\n\n") == EPROTO);
    CHECK(ST("OK\n") == EPROTO);
    CHECK(ST("err\t0\tx\n") == EPROTO);
    CHECK(ST("err\t-1\tx\n") == EPROTO);
    CHECK(ST("err\t99999\tx\n") == EPROTO);
    CHECK(ST("err\tx\tmsg\n") == EPROTO);
    CHECK(ST("err\t2\t\n") == EPROTO);
    CHECK(ST("err\t2\n") == EPROTO);
    CHECK(ST("err\t\tmsg\n") == EPROTO);
    CHECK(ST("err\t2\tbad\x01msg\n") == EPROTO);
    CHECK(ST("err 2 msg\n") == EPROTO);
#undef ST
    REQUIRE(asprintf(&l2, "err\t5\t%s\n", long_msg) > 0);
    CHECK(admin_status_parse(l2, strlen(l2), &code, msg, sizeof msg) == EPROTO);
    free(l2);
    free(long_msg);

    strcpy(line, "acme\t1\t0\t0\t0750\t0\t0\t512\t1\n");
    CHECK(admin_row_split(line, strlen(line), f, ADMIN_ROW_MAX, &n) == 0 &&
          n == 9 && strcmp(f[0], "acme") == 0 && strcmp(f[8], "1") == 0);
    strcpy(line, "a\tb\tc\n");
    CHECK(admin_row_split(line, strlen(line), f, 2, &n) == EPROTO);
    strcpy(line, "a\t\tc\n");
    CHECK(admin_row_split(line, strlen(line), f, ADMIN_ROW_MAX, &n) == EPROTO);
    strcpy(line, "a\tb");
    CHECK(admin_row_split(line, strlen(line), f, ADMIN_ROW_MAX, &n) == EPROTO);
    strcpy(line, "\n");
    CHECK(admin_row_split(line, strlen(line), f, ADMIN_ROW_MAX, &n) == EPROTO);
}

/* ===================================================================== */
/* Over a socket                                                         */
/* ===================================================================== */

/* The test handler: list gives two rows; add succeeds; remove fails with
 * EBUSY; chmod adds a row and then fails (only the error must arrive);
 * chown answers a row that cannot be sent; quota answers nothing (the
 * server must still reply). */
static int handled;

static void test_handler(const struct admin_req *req, struct admin_reply *rep,
                         void *arg)
{
    (void)arg;
    handled++;
    if (strcmp(req->verb, "list") == 0) {
        const char *r1[] = { "acme", "1", "0", "0", "0750", "0", "0", "512", "1" };
        const char *r2[] = { "caf\xc3\xa9 \xff", "2", "1000", "100", "0700",
                             "1048576", "10", "-", "-" };
        CHECK(admin_reply_row(rep, 9, r1) == 0);
        CHECK(admin_reply_row(rep, 9, r2) == 0);
    } else if (strcmp(req->verb, "add") == 0) {
        CHECK(strcmp(req->args[0], "new") == 0 && strcmp(req->args[3], "0750") == 0);
    } else if (strcmp(req->verb, "remove") == 0) {
        admin_reply_err(rep, EBUSY, "tenant has open files");
        admin_reply_err(rep, EIO, "the first error wins");
    } else if (strcmp(req->verb, "chmod") == 0) {
        const char *r[] = { "x" };
        CHECK(admin_reply_row(rep, 1, r) == 0);
        admin_reply_err(rep, ENOENT, "no such tenant\nsecond line");
    } else if (strcmp(req->verb, "chown") == 0) {
        const char *r[] = { "bad\tfield" };
        CHECK(admin_reply_row(rep, 1, r) == EINVAL);
    }
}

struct rows {
    int n;
    char first[64], second[64], used[8];
};

static int rows_collect(int n, char **f, void *arg)
{
    struct rows *r = arg;

    if (n != 9)
        return 1;
    if (r->n == 0)
        snprintf(r->first, sizeof r->first, "%s", f[0]);
    else {
        snprintf(r->second, sizeof r->second, "%s", f[0]);
        snprintf(r->used, sizeof r->used, "%s", f[7]);
    }
    r->n++;
    return 0;
}

/* A raw exchange: send `req` (len bytes) and read the whole reply. */
static size_t raw_call(const char *dir, const char *req, size_t len, bool half_close,
                       char *out, size_t cap)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t got = 0;
    ssize_t n;

    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, ADMIN_SOCK_NAME);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        abort();
    if (len && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        printf("# raw send: %s\n", strerror(errno));
    if (half_close)
        shutdown(fd, SHUT_WR);
    while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    return got;
}

TAP_TEST(round_trip)
{
    struct admin_server *srv = NULL;
    struct admin_result res;
    struct rows rows = { 0 };
    struct tmp t;
    struct stat st;
    char path[128];
    const char *add[] = { "new", "0", "0", "0750" }, *one[] = { "acme" };
    const char *q[] = { "acme", "-", "5" }, *cm[] = { "acme", "0700" };
    const char *co[] = { "acme", "0", "-" };

    tmp_make(&t);
    handled = 0;
    REQUIRE(admin_server_start(t.root, 0, test_handler, NULL, &srv) == 0);
    snprintf(path, sizeof path, "%s/%s", t.root, ADMIN_SOCK_NAME);
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
          (st.st_mode & 07777) == 0600);

    CHECK(admin_call(t.root, "list", 0, NULL, rows_collect, &rows, &res) == 0);
    CHECK(res.code == 0 && rows.n == 2);
    CHECK(strcmp(rows.first, "acme") == 0);
    CHECK(strcmp(rows.second, "caf\xc3\xa9 \xff") == 0 && strcmp(rows.used, "-") == 0);

    CHECK(admin_call(t.root, "add", 4, add, NULL, NULL, &res) == 0 && res.code == 0);
    CHECK(admin_call(t.root, "remove", 1, one, NULL, NULL, &res) == 0 &&
          res.code == EBUSY && strcmp(res.msg, "tenant has open files") == 0);
    CHECK(admin_call(t.root, "chmod", 2, cm, NULL, NULL, &res) == 0 &&
          res.code == ENOENT && strcmp(res.msg, "no such tenant?second line") == 0);
    CHECK(admin_call(t.root, "chown", 3, co, NULL, NULL, &res) == 0 &&
          res.code == EINVAL);
    CHECK(admin_call(t.root, "quota", 3, q, NULL, NULL, &res) == 0 && res.code == 0);
    /* A malformed request never leaves the client. */
    CHECK(admin_call(t.root, "remove", 0, NULL, NULL, NULL, &res) == EINVAL);
    CHECK(handled == 6);

    admin_server_stop(srv);
    CHECK(lstat(path, &st) != 0 && errno == ENOENT);
    /* Nobody listens now. */
    CHECK(admin_call(t.root, "list", 0, NULL, NULL, NULL, &res) == ENOENT);
    CHECK(admin_call("/nonexistent/tfs", "list", 0, NULL, NULL, NULL, &res) == ENOENT);
    admin_server_stop(NULL);
    tmp_remove(&t);
}

TAP_TEST(raw_malformed_and_silent_clients)
{
    struct admin_server *srv = NULL;
    struct admin_result res;
    struct tmp t;
    char out[8192], *big;
    size_t n;

    tmp_make(&t);
    handled = 0;
    REQUIRE(admin_server_start(t.root, 300, test_handler, NULL, &srv) == 0);

    n = raw_call(t.root, "hello\n", 6, true, out, sizeof out);
    CHECK(n > 0 && strncmp(out, "err\t71\t", 7) == 0);            /* EPROTO */
    n = raw_call(t.root, "tenantfs-admin 1\tfrob\n", 22, true, out, sizeof out);
    CHECK(strncmp(out, "err\t22\t", 7) == 0);                        /* EINVAL */
    n = raw_call(t.root, "tenantfs-admin 1\tlist\nmore", 26, true, out, sizeof out);
    CHECK(strncmp(out, "err\t71\t", 7) == 0);
    /* No newline, then EOF. */
    n = raw_call(t.root, "tenantfs-admin 1\tlist", 21, true, out, sizeof out);
    CHECK(strncmp(out, "err\t71\t", 7) == 0);
    /* A line that never ends. */
    big = repeat('x', 3 * ADMIN_LINE_MAX);
    n = raw_call(t.root, big, 3 * ADMIN_LINE_MAX, true, out, sizeof out);
    CHECK(strncmp(out, "err\t7\t", 6) == 0);                         /* E2BIG */
    free(big);
    /* Silent: connects, sends nothing, keeps its side open. */
    n = raw_call(t.root, "", 0, false, out, sizeof out);
    CHECK(strncmp(out, "err\t71\t", 7) == 0 && strstr(out, "no request"));
    /* A good raw request works, and the server still serves afterwards. */
    n = raw_call(t.root, "tenantfs-admin 1\tlist\n", 22, true, out, sizeof out);
    CHECK(strncmp(out, "ok\nacme\t1\t", 10) == 0);
    CHECK(admin_call(t.root, "list", 0, NULL, NULL, NULL, &res) == 0 && res.code == 0);
    CHECK(handled == 2);
    (void)n;
    admin_server_stop(srv);
    tmp_remove(&t);
}

TAP_TEST(long_path_and_stale_socket)
{
    struct admin_server *srv = NULL, *srv2 = NULL;
    struct admin_result res;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct rows rows = { 0 };
    struct tmp t;
    char *name = repeat('d', 150), *dir, *path;
    int fd;

    tmp_make(&t);
    REQUIRE(asprintf(&dir, "%s/%s", t.root, name) > 0);
    REQUIRE(asprintf(&path, "%s/%s", dir, ADMIN_SOCK_NAME) > 0);
    REQUIRE(strlen(path) >= sizeof sa.sun_path);
    REQUIRE(mkdir(dir, 0700) == 0);

    /* Through /proc/self/fd/N for both sides. */
    REQUIRE(admin_server_start(dir, 0, test_handler, NULL, &srv) == 0);
    CHECK(admin_call(dir, "list", 0, NULL, rows_collect, &rows, &res) == 0 &&
          res.code == 0 && rows.n == 2);
    /* A second server on the same folder replaces the socket (the daemon
     * lock, not this, keeps two daemons apart); stopping the first then
     * leaves the second's socket alone. */
    REQUIRE(admin_server_start(dir, 0, test_handler, NULL, &srv2) == 0);
    admin_server_stop(srv);
    CHECK(admin_call(dir, "list", 0, NULL, NULL, NULL, &res) == 0 && res.code == 0);
    admin_server_stop(srv2);
    CHECK(access(path, F_OK) != 0);

    /* A stale socket (bound, nobody listening): refused connections, then
     * replaced by a new server. */
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", t.root, ADMIN_SOCK_NAME);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(fd);
    CHECK(admin_call(t.root, "list", 0, NULL, NULL, NULL, &res) == ECONNREFUSED);
    REQUIRE(admin_server_start(t.root, 0, test_handler, NULL, &srv) == 0);
    CHECK(admin_call(t.root, "list", 0, NULL, NULL, NULL, &res) == 0 && res.code == 0);
    admin_server_stop(srv);

    /* Something that is not a socket is never removed. */
    fd = open(sa.sun_path, O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(admin_server_start(t.root, 0, test_handler, NULL, &srv) == EEXIST && !srv);
    CHECK(access(sa.sun_path, F_OK) == 0);

    free(path);
    free(dir);
    free(name);
    tmp_remove(&t);
}

TAP_TEST(peer_uid_refused)
{
    struct admin_server *srv = NULL;
    struct tmp t;
    char path[128];
    pid_t pid;
    int status = -1;

    if (geteuid() != 0) {
        printf("# skipped: needs root to become another user\n");
        return;
    }
    tmp_make(&t);
    handled = 0;
    REQUIRE(admin_server_start(t.root, 0, test_handler, NULL, &srv) == 0);
    /* Let the file permissions through, so that SO_PEERCRED decides. */
    snprintf(path, sizeof path, "%s/%s", t.root, ADMIN_SOCK_NAME);
    REQUIRE(chmod(path, 0666) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct admin_result res;
        int rc;

        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        rc = admin_call(t.root, "list", 0, NULL, NULL, NULL, &res);
        _exit(rc != 0 ? 11 : res.code == EPERM ? 0 : 12);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(handled == 0);
    /* With the file mode the daemon gives it, the kernel refuses first. */
    REQUIRE(chmod(path, 0600) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct admin_result res;

        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        _exit(admin_call(t.root, "list", 0, NULL, NULL, NULL, &res) == EACCES ? 0 : 13);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    admin_server_stop(srv);
    tmp_remove(&t);
}

int main(void)
{
    return tap_main();
}
