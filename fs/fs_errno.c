/*
 * fs_errno.c - the one place where a store error becomes an errno.
 *
 * store/ reports failures as store_err; the kernel wants an errno.  Every op
 * in fs/ goes through fs_errno() so that the choice is made once: errors
 * that mean "the store itself is not usable as expected" (a wrong key, a
 * damaged or foreign store, a value that failed authentication) all become
 * EIO, which is what a reader of a damaged disk expects; the rest map to
 * their namesakes.  An unknown value (a store newer than this table) is EIO
 * too, never 0.
 */
#include <errno.h>

#include "fs.h"

static const int fs_errno_table[STORE_ERR_COUNT_] = {
    [STORE_OK]           = 0,
    [STORE_ENOENT]       = ENOENT,
    [STORE_EEXIST]       = EEXIST,
    [STORE_ENOTDIR]      = ENOTDIR,
    [STORE_EISDIR]       = EISDIR,
    [STORE_ENOTEMPTY]    = ENOTEMPTY,
    [STORE_EINVAL]       = EINVAL,
    [STORE_ENAMETOOLONG] = ENAMETOOLONG,
    [STORE_ENOSPC]       = ENOSPC,
    [STORE_EDQUOT]       = EDQUOT,
    [STORE_ENODATA]      = ENODATA,
    [STORE_ERANGE]       = ERANGE,
    [STORE_E2BIG]        = E2BIG,
    [STORE_EMLINK]       = EMLINK,
    [STORE_EFBIG]        = EFBIG,
    [STORE_EXDEV]        = EXDEV,
    [STORE_EPERM]        = EPERM,
    [STORE_EACCES]       = EACCES,
    [STORE_EROFS]        = EROFS,
    [STORE_ENOTSUP]      = EOPNOTSUPP,
    [STORE_ENOMEM]       = ENOMEM,
    [STORE_EIO]          = EIO,
    [STORE_EBUSY]        = EBUSY,
    [STORE_EBADKEY]      = EIO,
    [STORE_ENOTSTORE]    = EIO,
    [STORE_EVERSION]     = EIO,
    [STORE_EDAMAGED]     = EIO,
};

int fs_errno(store_err e)
{
    if ((unsigned)e >= STORE_ERR_COUNT_)
        return EIO;
    if (e != STORE_OK && fs_errno_table[e] == 0)
        return EIO;
    return fs_errno_table[e];
}

void fs_reply_store_err(fuse_req_t req, store_err e)
{
    fuse_reply_err(req, fs_errno(e));
}
