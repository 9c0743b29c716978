/*
 * tenantctl_list.c - `tenantctl tenant list STORE [--json]`: every tenant
 * with its owner, group, mode, quotas and use.  It owns gathering the rows
 * (from the daemon's `list` reply while the store is served, else from the
 * store itself: store_tenant_each, store_tenant_get, store_tenant_usage)
 * and the two output forms: aligned columns with owner and group as names
 * and sizes human-readable, or one JSON array whose strings are escaped so
 * that any tenant name (quotes, backslashes, UTF-8, bytes that are not
 * UTF-8) round-trips.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "store.h"
#include "tenantctl.h"

/* One tenant, whichever way it was learnt. */
struct ctl_trow {
    char name[STORE_NAME_MAX + 1];
    uint64_t id, quota_bytes, quota_records, used_bytes, used_records;
    uint32_t uid, gid, mode;
    bool used_known;             /* false: its database could not be read */
};

struct ctl_tlist {
    struct ctl_trow *rows;
    size_t n, cap;
    bool oom, bad;               /* out of memory; malformed reply */
};

static struct ctl_trow *ctl_tlist_next(struct ctl_tlist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct ctl_trow *rows = realloc(l->rows, cap * sizeof *rows);

        if (!rows) {
            l->oom = true;
            return NULL;
        }
        l->rows = rows;
        l->cap = cap;
    }
    memset(&l->rows[l->n], 0, sizeof l->rows[l->n]);
    return &l->rows[l->n++];
}

/* ===================================================================== */
/* Gathering                                                             */
/* ===================================================================== */

struct ctl_direct {
    store *s;
    struct ctl_tlist *l;
};

/* store_tenant_each() callback: the registry's row and the tenant's use. */
static int ctl_list_direct_one(const struct store_tenant_info *info, void *arg)
{
    struct ctl_direct *d = arg;
    struct ctl_trow *r = ctl_tlist_next(d->l);
    struct store_tenant_usage u = { 0 };
    store_tenant *t = NULL;

    if (!r)
        return 1;
    memcpy(r->name, info->name, sizeof r->name);
    r->name[STORE_NAME_MAX] = '\0';
    r->id = info->id;
    r->uid = info->uid;
    r->gid = info->gid;
    r->mode = info->mode & 07777;
    r->quota_bytes = info->quota_bytes;
    r->quota_records = info->quota_records;
    r->used_known = store_tenant_get(d->s, info->id, &t) == STORE_OK &&
                    store_tenant_usage(t, &u) == STORE_OK;
    r->used_bytes = u.bytes;
    r->used_records = u.records;
    return 0;
}

/* A decimal field of the daemon's reply ("-" when `unset` is allowed). */
static bool ctl_field_num(const char *s, int base, uint64_t max, bool unset,
                          uint64_t *v, bool *known)
{
    if (unset && admin_is_unset(s)) {
        *known = false;
        *v = 0;
        return true;
    }
    *known = true;
    return admin_num_parse(s, base, max, v) == 0;
}

/* A data line of the daemon's `list` reply (admin.h). */
static int ctl_list_live_one(int n, char **f, void *arg)
{
    struct ctl_tlist *l = arg;
    struct ctl_trow *r;
    uint64_t v[8];
    bool known = true, k1 = true, k2 = true;

    if (n != ADMIN_LIST_FIELDS || strlen(f[0]) > STORE_NAME_MAX ||
        !ctl_field_num(f[1], 10, UINT64_MAX, false, &v[0], &known) ||
        !ctl_field_num(f[2], 10, UINT32_MAX, false, &v[1], &known) ||
        !ctl_field_num(f[3], 10, UINT32_MAX, false, &v[2], &known) ||
        !ctl_field_num(f[4], 8, 07777, false, &v[3], &known) ||
        !ctl_field_num(f[5], 10, UINT64_MAX, false, &v[4], &known) ||
        !ctl_field_num(f[6], 10, UINT64_MAX, false, &v[5], &known) ||
        !ctl_field_num(f[7], 10, UINT64_MAX, true, &v[6], &k1) ||
        !ctl_field_num(f[8], 10, UINT64_MAX, true, &v[7], &k2)) {
        l->bad = true;
        return 1;
    }
    if (!(r = ctl_tlist_next(l)))
        return 1;
    strcpy(r->name, f[0]);
    r->id = v[0];
    r->uid = (uint32_t)v[1];
    r->gid = (uint32_t)v[2];
    r->mode = (uint32_t)v[3];
    r->quota_bytes = v[4];
    r->quota_records = v[5];
    r->used_bytes = v[6];
    r->used_records = v[7];
    r->used_known = k1 && k2;
    return 0;
}

/* ===================================================================== */
/* Columns                                                               */
/* ===================================================================== */

#define CTL_COLS 9

static const char *const ctl_list_header[CTL_COLS] = {
    "NAME", "ID", "OWNER", "GROUP", "MODE", "USED", "QUOTA", "RECORDS",
    "RECORD-QUOTA",
};

/* Bytes for a human, in powers of 1024 as ls -h: "512", "1.5K", "12M";
 * exact multiples without a decimal ("1G"); rounded up, never down. */
static void ctl_size_human(uint64_t v, char *buf, size_t cap)
{
    static const char units[] = "KMGTPE";
    uint64_t div = 1;
    int u = -1;

    if (v < 1024) {
        snprintf(buf, cap, "%" PRIu64, v);
        return;
    }
    while (u < 5 && v / div >= 1024) {
        div *= 1024;
        u++;
    }
    if (v % div == 0) {
        snprintf(buf, cap, "%" PRIu64 "%c", v / div, units[u]);
    } else if (v / div < 10) {
        /* tenths, rounded up; 9.95+ becomes "10" */
        uint64_t whole = v / div, rest = v % div;
        uint64_t tenth = (rest * 10 + div - 1) / div;   /* div <= 2^60: no overflow */

        if (tenth >= 10)
            snprintf(buf, cap, "%" PRIu64 "%c", whole + 1, units[u]);
        else
            snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 "%c", whole, tenth, units[u]);
    } else {
        snprintf(buf, cap, "%" PRIu64 "%c", v / div + (v % div != 0), units[u]);
    }
}

/* Columns are as wide as their characters, not bytes (UTF-8 names). */
static size_t ctl_text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static const char *ctl_user_name(uint32_t uid, char *buf, size_t cap)
{
    struct passwd *pw = getpwuid(uid);

    if (pw)
        return pw->pw_name;
    snprintf(buf, cap, "%" PRIu32, uid);
    return buf;
}

static const char *ctl_group_name(uint32_t gid, char *buf, size_t cap)
{
    struct group *gr = getgrgid(gid);

    if (gr)
        return gr->gr_name;
    snprintf(buf, cap, "%" PRIu32, gid);
    return buf;
}

/* The cells of one row, allocated (NULL on out of memory). */
static bool ctl_row_cells(const struct ctl_trow *r, char **cell)
{
    char num[32];

    cell[0] = strdup(r->name);
    snprintf(num, sizeof num, "%" PRIu64, r->id);
    cell[1] = strdup(num);
    cell[2] = strdup(ctl_user_name(r->uid, num, sizeof num));
    cell[3] = strdup(ctl_group_name(r->gid, num, sizeof num));
    snprintf(num, sizeof num, "%04" PRIo32, r->mode);
    cell[4] = strdup(num);
    ctl_size_human(r->used_bytes, num, sizeof num);
    cell[5] = strdup(r->used_known ? num : "?");
    ctl_size_human(r->quota_bytes, num, sizeof num);
    cell[6] = strdup(r->quota_bytes ? num : "-");
    snprintf(num, sizeof num, "%" PRIu64, r->used_records);
    cell[7] = strdup(r->used_known ? num : "?");
    snprintf(num, sizeof num, "%" PRIu64, r->quota_records);
    cell[8] = strdup(r->quota_records ? num : "-");
    for (int j = 0; j < CTL_COLS; j++)
        if (!cell[j])
            return false;
    return true;
}

/* Print header and rows, columns two spaces apart, the last one unpadded. */
static int ctl_list_print_table(const struct ctl_tlist *l)
{
    char **cells = calloc(l->n + 1, CTL_COLS * sizeof *cells);
    size_t width[CTL_COLS];
    bool ok = cells != NULL;

    if (!ok)
        return ENOMEM;
    for (int j = 0; j < CTL_COLS; j++)
        cells[j] = (char *)ctl_list_header[j];
    for (size_t i = 0; i < l->n && ok; i++)
        ok = ctl_row_cells(&l->rows[i], cells + (i + 1) * CTL_COLS);
    for (int j = 0; j < CTL_COLS && ok; j++) {
        width[j] = 0;
        for (size_t i = 0; i <= l->n; i++) {
            size_t w = ctl_text_width(cells[i * CTL_COLS + j]);

            if (w > width[j])
                width[j] = w;
        }
    }
    for (size_t i = 0; i <= l->n && ok; i++) {
        for (int j = 0; j < CTL_COLS; j++) {
            const char *c = cells[i * CTL_COLS + j];

            fputs(c, stdout);
            if (j < CTL_COLS - 1)
                printf("%*s", (int)(width[j] - ctl_text_width(c) + 2), "");
        }
        putchar('\n');
    }
    for (size_t k = CTL_COLS; k < (l->n + 1) * CTL_COLS; k++)
        free(cells[k]);
    free(cells);
    return ok ? 0 : ENOMEM;
}

/* ===================================================================== */
/* JSON                                                                  */
/* ===================================================================== */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t ctl_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp, min;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string.  Valid UTF-8 is written as is; each byte that is not part
 * of valid UTF-8 becomes "\udcXX" (the lone surrogate that Python's
 * surrogateescape, and so os.fsdecode(), uses for it). */
static void ctl_json_str(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);

    putchar('"');
    while (n > 0) {
        size_t len = ctl_utf8_len(s, n);

        if (len == 0) {
            printf("\\udc%02x", s[0]);
            len = 1;
        } else if (s[0] == '"' || s[0] == '\\') {
            printf("\\%c", s[0]);
        } else if (s[0] < 0x20 || s[0] == 0x7f) {
            printf("\\u%04x", s[0]);
        } else {
            fwrite(s, 1, len, stdout);
        }
        s += len;
        n -= len;
    }
    putchar('"');
}

static void ctl_list_print_json(const struct ctl_tlist *l)
{
    char num[32];

    putchar('[');
    for (size_t i = 0; i < l->n; i++) {
        const struct ctl_trow *r = &l->rows[i];

        fputs(i ? ",\n  " : "\n  ", stdout);
        fputs("{\"name\": ", stdout);
        ctl_json_str(r->name);
        printf(", \"id\": %" PRIu64 ", \"uid\": %" PRIu32 ", \"gid\": %" PRIu32,
               r->id, r->uid, r->gid);
        fputs(", \"owner\": ", stdout);
        ctl_json_str(ctl_user_name(r->uid, num, sizeof num));
        fputs(", \"group\": ", stdout);
        ctl_json_str(ctl_group_name(r->gid, num, sizeof num));
        printf(", \"mode\": \"%04" PRIo32 "\", \"quota_bytes\": %" PRIu64
               ", \"quota_records\": %" PRIu64, r->mode, r->quota_bytes,
               r->quota_records);
        if (r->used_known)
            printf(", \"used_bytes\": %" PRIu64 ", \"used_records\": %" PRIu64 "}",
                   r->used_bytes, r->used_records);
        else
            fputs(", \"used_bytes\": null, \"used_records\": null}", stdout);
    }
    fputs(l->n ? "\n]\n" : "]\n", stdout);
}

/* ===================================================================== */
/* The command                                                           */
/* ===================================================================== */

/* tenantctl tenant list STORE [--json] */
int ctl_tenant_list_run(int argc, char **argv)
{
    static const char *const posnames[] = { "STORE", NULL };
    static const char cmd[] = "tenant list";
    struct ctl_tlist l = { 0 };
    struct ctl_direct d;
    struct ctl_args a;
    store *s = NULL;
    store_err e;
    int rc;

    rc = ctl_args_parse(cmd, argc, argv, CTL_OPT_PASSFILE | CTL_OPT_JSON,
                        posnames, &a);
    if (rc != CTL_GO)
        return rc;
    rc = ctl_live_call(cmd, a.pos[0], NULL, "list", 0, NULL, ctl_list_live_one, &l);
    if (rc == CTL_GO) {
        if ((rc = ctl_store_open(a.pos[0], a.passfile, &s)) != CTL_EXIT_OK)
            goto out;
        d.s = s;
        d.l = &l;
        e = store_tenant_each(s, ctl_list_direct_one, &d);
        if (e == STORE_OK && l.oom)
            e = STORE_ENOMEM;
        if (e != STORE_OK) {
            rc = ctl_tenant_store_fail(cmd, a.pos[0], NULL, e);
            goto out;
        }
    } else if (rc != CTL_EXIT_OK) {
        if (l.bad)
            ctl_err_print("%s: the tenantfs daemon serving %s sent a malformed "
                          "reply", cmd, a.pos[0]);
        else if (l.oom)
            ctl_err_print("%s: %s", cmd, strerror(ENOMEM));
        goto out;
    }
    if (a.json) {
        ctl_list_print_json(&l);
    } else if (ctl_list_print_table(&l) != 0) {
        ctl_err_print("%s: %s", cmd, strerror(ENOMEM));
        rc = CTL_EXIT_FAIL;
    }
out:
    free(l.rows);
    store_close(s);
    return rc;
}
