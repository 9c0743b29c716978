/*
 * store_err.c - the error vocabulary of store/ and its message sink.
 *
 * This file owns three things: the human message of every store_err
 * (store_strerror), the one and only translation of LMDB return codes and
 * errno values into store_err (store_from_mdb, store_from_errno), and the
 * store's log sink (store_log, store_set_log).  Every other file of store/
 * returns store_from_mdb(rc) instead of choosing an error ad hoc, so that a
 * full map is always ENOSPC and a damaged page is always EIO.
 *
 * Log messages never contain names, content or keys; callers pass tenant ids
 * and inode numbers only.  The hook may be changed while other threads log:
 * it is read and written atomically.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "store_internal.h"

/* ===================================================================== */
/* Messages                                                               */
/* ===================================================================== */

static const char *const store_err_msgs[STORE_ERR_COUNT_] = {
    [STORE_OK]           = "success",
    [STORE_ENOENT]       = "no such record, folder, tenant or attribute",
    [STORE_EEXIST]       = "name already exists",
    [STORE_ENOTDIR]      = "not a folder",
    [STORE_EISDIR]       = "is a folder",
    [STORE_ENOTEMPTY]    = "folder not empty",
    [STORE_EINVAL]       = "invalid argument",
    [STORE_ENAMETOOLONG] = "name too long (over 255 bytes)",
    [STORE_ENOSPC]       = "no space left (disk or database map full)",
    [STORE_EDQUOT]       = "tenant quota exceeded",
    [STORE_ENODATA]      = "no such extended attribute",
    [STORE_ERANGE]       = "buffer too small",
    [STORE_E2BIG]        = "extended attribute value too large",
    [STORE_EMLINK]       = "too many links",
    [STORE_EFBIG]        = "file too large",
    [STORE_EXDEV]        = "cannot move or link between tenants",
    [STORE_EPERM]        = "operation not permitted",
    [STORE_EACCES]       = "permission denied",
    [STORE_EROFS]        = "store is read-only",
    [STORE_ENOTSUP]      = "operation not supported",
    [STORE_ENOMEM]       = "out of memory",
    [STORE_EIO]          = "I/O error or damaged value",
    [STORE_EBUSY]        = "store is in use by another tenantfs daemon",
    [STORE_EBADKEY]      = "wrong passphrase",
    [STORE_ENOTSTORE]    = "not a tenantfs store (no tenantfs.hdr)",
    [STORE_EVERSION]     = "store format version not supported",
    [STORE_EDAMAGED]     = "store header or registry is damaged",
};

const char *store_strerror(store_err e)
{
    if ((unsigned)e >= STORE_ERR_COUNT_ || !store_err_msgs[e])
        return "unknown store error";
    return store_err_msgs[e];
}

/* ===================================================================== */
/* Translation                                                            */
/* ===================================================================== */

store_err store_from_errno(int err)
{
    switch (err) {
    case 0:            return STORE_OK;
    case ENOENT:       return STORE_ENOENT;
    case EEXIST:       return STORE_EEXIST;
    case ENOTDIR:      return STORE_ENOTDIR;
    case EISDIR:       return STORE_EISDIR;
    case ENOTEMPTY:    return STORE_ENOTEMPTY;
    case EINVAL:       return STORE_EINVAL;
    case ENAMETOOLONG: return STORE_ENAMETOOLONG;
    case ENOSPC:       return STORE_ENOSPC;
    case EDQUOT:       return STORE_EDQUOT;
    case ENODATA:      return STORE_ENODATA;
    case ERANGE:       return STORE_ERANGE;
    case E2BIG:        return STORE_E2BIG;
    case EMLINK:       return STORE_EMLINK;
    case EFBIG:        return STORE_EFBIG;
    case EXDEV:        return STORE_EXDEV;
    case EPERM:        return STORE_EPERM;
    case EACCES:       return STORE_EACCES;
    case EROFS:        return STORE_EROFS;
    case ENOTSUP:      return STORE_ENOTSUP;
    case ENOMEM:       return STORE_ENOMEM;
    case EBUSY:        return STORE_EBUSY;
    case EWOULDBLOCK:  return STORE_EBUSY;
    default:           return STORE_EIO;
    }
}

store_err store_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:          return STORE_OK;
    case MDB_NOTFOUND:         return STORE_ENOENT;
    case MDB_KEYEXIST:         return STORE_EEXIST;
    case MDB_MAP_FULL:         return STORE_ENOSPC;
    case MDB_TXN_FULL:         return STORE_ENOSPC;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return STORE_EIO;
    case MDB_READERS_FULL:     return STORE_EBUSY;
    case MDB_DBS_FULL:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
    case MDB_BAD_TXN:
    case MDB_BAD_RSLOT:
    case MDB_INCOMPATIBLE:     return STORE_EIO;
    default:
        /* LMDB's own codes are negative; positive ones are errno values. */
        if (rc > 0)
            return store_from_errno(rc);
        return STORE_EIO;
    }
}

/* ===================================================================== */
/* Logging                                                                */
/* ===================================================================== */

static void store_log_default(int priority, const char *msg)
{
    (void)priority;
    /* One fprintf call per line: stdio locks the stream, so lines from
     * different threads never interleave. */
    fprintf(stderr, "tenantfs: %s\n", msg);
}

static store_log_fn store_log_hook = store_log_default;

void store_set_log(store_log_fn fn)
{
    __atomic_store_n(&store_log_hook, fn ? fn : store_log_default,
                     __ATOMIC_RELEASE);
}

void store_log(int priority, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    store_log_fn fn = __atomic_load_n(&store_log_hook, __ATOMIC_ACQUIRE);
    fn(priority, buf);
}
