/*
 * fuzz_admin.c - libFuzzer target of the admin protocol parsers (admin.c):
 * admin_req_parse (the server's reading of a request line),
 * admin_status_parse and admin_row_split (the client's reading of a
 * reply).  Each gets its own copy of exactly the input bytes.
 *
 * Properties (admin.h): a parsed request has a known verb with its number
 * of arguments, every field 1..255 bytes without control characters, and
 * admin_req_format of it gives back the input line; a parsed status is
 * "ok" (code 0) or a code 1..4095 with a message of allowed bytes; a split
 * row has 1..max valid fields.  Each argument of a parsed request is also
 * read as the daemon reads numbers (fs/fs_admin.c: admin_num_parse, decimal
 * and octal), and must give what a plain digit-by-digit reading gives.
 */
#include <errno.h>

#include "fuzz_common.h"
#include "admin.h"

static int field_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ADMIN_FIELD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* admin_num_parse's rules (admin.h), written out independently: EINVAL
 * unless all digits of the base, ERANGE past 2^64 - 1 or past max. */
static int num_ref(const char *s, int base, uint64_t max, uint64_t *v)
{
    unsigned __int128 n = 0;
    int over = 0;

    if (*s == '\0')
        return EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s >= '0' + base)
            return EINVAL;
        n = n * (unsigned)base + (unsigned)(*s - '0');
        if (n > UINT64_MAX)
            over = 1, n = (unsigned __int128)UINT64_MAX + 1;
    }
    if (over || n > max)
        return ERANGE;
    *v = (uint64_t)n;
    return 0;
}

static void check_num(const char *s)
{
    static const uint64_t maxes[] = { 07777, UINT32_MAX - 1, UINT64_MAX };

    for (int b = 8; b <= 10; b += 2)
        for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
            uint64_t got = 0, want = 0;
            int rc = admin_num_parse(s, b, maxes[m], &got);
            int ref = num_ref(s, b, maxes[m], &want);
            /* Garbage after an overflow may be either error. */
            FUZZ_ASSERT(rc == ref || (rc == ERANGE && ref == EINVAL));
            FUZZ_ASSERT(rc != 0 || got == want);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct admin_req *req = malloc(sizeof *req);
    char *line = malloc(size ? size : 1), *out = malloc(ADMIN_LINE_MAX);
    char msg[ADMIN_MSG_MAX + 1], *fields[ADMIN_ROW_MAX];
    const char *why = NULL;
    size_t len = 0;
    int code = -1, n = -1, rc;

    FUZZ_ASSERT(req && line && out);
    if (size)
        memcpy(line, data, size);
    rc = admin_req_parse(line, size, req, &why);
    FUZZ_ASSERT(rc == 0 ? why == NULL : why != NULL);
    FUZZ_ASSERT(rc == 0 || rc == EPROTO || rc == E2BIG || rc == ENAMETOOLONG
                || rc == EINVAL);
    if (rc == 0) {
        FUZZ_ASSERT(admin_verb_nargs(req->verb) == req->nargs);
        FUZZ_ASSERT(field_ok(req->verb));
        for (int i = 0; i < req->nargs; i++)
            FUZZ_ASSERT(field_ok(req->args[i]) && admin_field_ok(req->args[i]));
        for (int i = 0; i < req->nargs; i++)
            check_num(req->args[i]);
        FUZZ_ASSERT(admin_req_format(out, ADMIN_LINE_MAX, &len, req->verb,
                                     req->nargs, req->args) == 0);
        FUZZ_ASSERT(len == size && memcmp(out, data, size) == 0);
    }

    rc = admin_status_parse(line, size, &code, msg, sizeof msg);
    FUZZ_ASSERT(rc == 0 || rc == EPROTO);
    if (rc == 0) {
        FUZZ_ASSERT(code >= 0 && code <= 4095);
        FUZZ_ASSERT(code == 0 ? size == 3 && memcmp(data, "ok\n", 3) == 0
                              : field_ok(msg) || strlen(msg) == 0);
        FUZZ_ASSERT(code == 0 || strlen(msg) > 0);
    }

    rc = admin_row_split(line, size, fields, ADMIN_ROW_MAX, &n);
    FUZZ_ASSERT(rc == 0 || rc == EPROTO);
    if (rc == 0) {
        FUZZ_ASSERT(n >= 1 && n <= ADMIN_ROW_MAX);
        for (int i = 0; i < n; i++)
            FUZZ_ASSERT(field_ok(fields[i]) && fields[i] >= line
                        && fields[i] < line + size);
    }
    free(req);
    free(line);
    free(out);
    return 0;
}
