/*
 * admin.h - the admin socket protocol between `tenantctl` and a running
 * tenantfs daemon: how a live tenant command travels over STORE/admin.sock,
 * the client that sends one, and the server thread that answers it.
 *
 * admin/ knows Unix sockets and lines of text.  It knows neither the store
 * nor FUSE: its callers (fs/fs_admin.c in the daemon, tools/ in tenantctl)
 * translate between its strings and their own types.
 *
 * The socket
 * ----------
 *   STORE/admin.sock, a SOCK_STREAM Unix socket created mode 0600 by the
 *   daemon, which holds the store's exclusive lock (so a socket file found
 *   at start is stale and is removed first; anything else by that name is
 *   refused).  Paths too long for sun_path (108 bytes) are reached through
 *   /proc/self/fd/N/admin.sock, N an fd of the store folder.  The peer is
 *   checked with SO_PEERCRED: only uid 0 or the daemon's own effective uid
 *   is served; anyone else gets `err EPERM`.
 *
 * One request per connection
 * --------------------------
 *   request   = "tenantfs-admin 1" TAB VERB *(TAB ARG) LF
 *   reply     = status-line *(data-line)  then the server closes (EOF)
 *   status    = "ok" LF  |  "err" TAB CODE TAB MESSAGE LF
 *   data-line = FIELD *(TAB FIELD) LF
 *
 *   - A line is at most ADMIN_LINE_MAX bytes, LF included.
 *   - A FIELD (verb, argument, data field) is 1 to ADMIN_FIELD_MAX bytes, of
 *     any value except control characters (0x00-0x1f, 0x7f): so a tenant
 *     name (which never holds one) travels verbatim, bytes >= 0x80 included.
 *   - A request has at most ADMIN_ARGS_MAX arguments after its verb, and
 *     exactly as many as its verb wants.  The server reads up to the LF;
 *     bytes received with it after the LF make the request malformed,
 *     later ones are read and ignored.
 *   - CODE is a positive errno number in decimal (both ends are built from
 *     one tree on one system); MESSAGE is 1 to ADMIN_MSG_MAX bytes of text
 *     without control characters, for a human.
 *   - The client half-closes after its request; the server reads it within
 *     its timeout (a silent or slow client is dropped), answers, closes.
 *   - A request the server could not read or parse gets `err CODE ...`
 *     with the code admin_req_parse() gives (EPROTO: not our protocol or
 *     version, malformed, or nothing within the timeout; E2BIG: line too
 *     long; ENAMETOOLONG: a field too long; EINVAL: unknown verb or wrong
 *     argument count).  A peer that may not administer gets `err EPERM`
 *     whatever it sent.
 *
 * Numbers are decimal without sign, leading '+', spaces or overflow, except
 * MODE, which is octal (at most 07777, e.g. "0750").  "-" stands for "leave
 * unchanged" where a verb allows it.
 *
 * Verbs                                       data lines of an `ok`
 *   add NAME UID GID MODE                     none
 *   remove NAME                               none
 *   chown NAME UID|- GID|-                    none (not both "-")
 *   chmod NAME MODE                           none
 *   quota NAME BYTES|- RECORDS|-              none (0 = unlimited)
 *   list                                      one per tenant, in id order:
 *        NAME ID UID GID MODE QUOTA_BYTES QUOTA_RECORDS USED_BYTES USED_RECORDS
 *        (USED_* are "-" when the tenant's use cannot be read)
 *   counters                                  one per cost counter of the
 *        daemon: NAME VALUE ("fuse.lookup", "store.ops", "crypto.sealed_bytes"
 *        ...; tenantctl stats shows them)
 *   checkpoint                                none, once every change
 *        acknowledged before it is durable in the tenant databases
 *   restore SNAPSHOT NAME                     none, once tenant NAME holds
 *        its content in the snapshot (errors: ENOENT no such snapshot,
 *        ESRCH no such tenant in it, EXDEV the tenant was removed since)
 *
 * Errors are returned as errno values; functions never set errno for the
 * caller to read.
 */
#ifndef TENANTFS_ADMIN_H
#define TENANTFS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_SOCK_NAME   "admin.sock"
#define ADMIN_MAGIC       "tenantfs-admin 1"
#define ADMIN_LINE_MAX    4096u   /* bytes in one line, LF included */
#define ADMIN_FIELD_MAX   255u    /* bytes in one field (a tenant name's max) */
#define ADMIN_ARGS_MAX    8       /* arguments after the verb */
#define ADMIN_ROW_MAX     16      /* fields in one data line */
#define ADMIN_MSG_MAX     255u    /* bytes in an error message */
#define ADMIN_LIST_FIELDS 9       /* fields of a `list` data line */

#define ADMIN_SERVER_TIMEOUT_MS 2000u    /* to read a request; to send */
#define ADMIN_CLIENT_TIMEOUT_MS 300000u  /* for the whole reply (a remove of a
                                            big tenant deletes its files) */

#define ADMIN_WUR __attribute__((warn_unused_result))

/* ===================================================================== */
/* Verbs and values                                                      */
/* ===================================================================== */

/* How many arguments `verb` takes, or -1 for an unknown verb. */
int admin_verb_nargs(const char *verb);

/* Is `s` a valid FIELD (1..ADMIN_FIELD_MAX bytes, no control character)? */
bool admin_field_ok(const char *s);

/* Strict decimal (base 10) or octal (base 8) number at most `max`: digits
 * only, at least one, no sign, no spaces, no overflow.  Returns 0 or
 * EINVAL (garbage), ERANGE (over max). */
int admin_num_parse(const char *s, int base, uint64_t max, uint64_t *v) ADMIN_WUR;

/* Is `s` the "-" that stands for "unchanged"? */
bool admin_is_unset(const char *s);

/* ===================================================================== */
/* Requests                                                              */
/* ===================================================================== */

struct admin_req {
    const char *verb;                    /* into buf */
    const char *args[ADMIN_ARGS_MAX];    /* into buf; nargs of them */
    int nargs;
    char buf[ADMIN_LINE_MAX];
};

/* Write the request line for `verb` and its `nargs` arguments into `buf`
 * (`cap` bytes; no NUL added) and its length into *len.  Returns 0, EINVAL
 * (unknown verb, wrong argument count, a field that is empty or holds a
 * control character), ENAMETOOLONG (a field over ADMIN_FIELD_MAX) or E2BIG
 * (longer than cap or ADMIN_LINE_MAX). */
int admin_req_format(char *buf, size_t cap, size_t *len, const char *verb,
                     int nargs, const char *const *args) ADMIN_WUR;

/* Parse the `len` bytes of `line` (one request, LF last, nothing after it)
 * into *req.  Returns 0, or EPROTO (not our protocol or version, no LF, a
 * byte after the LF, an empty field or a control character), E2BIG (line
 * too long), ENAMETOOLONG (a field too long), EINVAL (unknown verb or wrong
 * number of arguments); *why (may be NULL) then gets a static message. */
int admin_req_parse(const char *line, size_t len, struct admin_req *req,
                    const char **why) ADMIN_WUR;

/* ===================================================================== */
/* Replies                                                               */
/* ===================================================================== */

/* Parse a status line (`len` bytes, LF last).  "ok": *code = 0.  "err":
 * *code = CODE, `msg` (cap bytes, NUL-terminated, may be truncated) gets
 * MESSAGE.  Returns 0 or EPROTO. */
int admin_status_parse(const char *line, size_t len, int *code, char *msg,
                       size_t cap) ADMIN_WUR;

/* Split a data line (`len` bytes, LF last) in place: LF and TABs become
 * NULs, fields[] points at each (at most `max`), *n gets their count.
 * Returns 0 or EPROTO (no LF, an empty or overlong field, a control
 * character, more than max fields). */
int admin_row_split(char *line, size_t len, char **fields, int max,
                    int *n) ADMIN_WUR;

/* ===================================================================== */
/* Client                                                                */
/* ===================================================================== */

struct admin_result {
    int code;                       /* 0: ok; else the errno of `err` */
    char msg[ADMIN_MSG_MAX + 1];    /* its message ("" for ok) */
};

/* Called for every data line of an `ok` reply; non-zero stops reading. */
typedef int (*admin_row_fn)(int n, char **fields, void *arg);

/* Connect to STORE/admin.sock of `store_dir`, send one request, read the
 * reply: data lines go to `fn` (may be NULL when none are expected), the
 * status to *res.  Returns 0 when a reply was read (its status is in *res:
 * an `err` reply is still a return of 0), else an errno:
 *   ENOENT, ECONNREFUSED  no daemon listens (no socket, or a stale one):
 *                         the caller may open the store itself;
 *   EACCES, EPERM         not allowed to connect;
 *   EINVAL, ENAMETOOLONG, E2BIG  the request is malformed (nothing sent);
 *   ETIMEDOUT, ECONNRESET, EPIPE, EPROTO (a malformed reply),
 *   ECANCELED (fn stopped the reading), ENOMEM, ... */
int admin_call(const char *store_dir, const char *verb, int nargs,
               const char *const *args, admin_row_fn fn, void *arg,
               struct admin_result *res) ADMIN_WUR;

/* ===================================================================== */
/* Server                                                                */
/* ===================================================================== */

/* What a handler answers: `ok` with data lines, or one error. */
struct admin_reply;

/* Add a data line of `n` fields to an `ok` reply.  Returns 0, EINVAL (a
 * field that is not a valid FIELD, n out of 1..ADMIN_ROW_MAX) or ENOMEM;
 * on failure the reply becomes an error (EINVAL or ENOMEM).  Ignored
 * (returns 0) once the reply is an error. */
int admin_reply_row(struct admin_reply *rep, int n, const char *const *fields);

/* Make the reply `err CODE MESSAGE` (data lines added so far are dropped);
 * the first call wins.  `code` must be a positive errno; control
 * characters in the message become '?', and it is cut at ADMIN_MSG_MAX. */
void admin_reply_err(struct admin_reply *rep, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Called on the server's thread for each well-formed request from an
 * allowed peer (one at a time).  It must leave an answer in `rep`. */
typedef void (*admin_handler_fn)(const struct admin_req *req,
                                 struct admin_reply *rep, void *arg);

struct admin_server;

/* Create STORE/admin.sock (mode 0600, replacing a stale socket) in
 * `store_dir` and serve it on a new thread that blocks all signals.
 * `timeout_ms` bounds reading a request and sending a reply (0: the
 * default ADMIN_SERVER_TIMEOUT_MS).  Returns 0 and *out, or an errno
 * (EEXIST: something that is not a socket is named admin.sock). */
int admin_server_start(const char *store_dir, unsigned timeout_ms,
                       admin_handler_fn fn, void *arg,
                       struct admin_server **out) ADMIN_WUR;

/* Stop serving: wake and join the thread (a request being handled is
 * finished first), close the socket, remove STORE/admin.sock if it is still
 * the one this server made.  NULL-safe. */
void admin_server_stop(struct admin_server *srv);

#endif
