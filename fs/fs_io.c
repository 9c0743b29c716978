/*
 * fs_io.c - the session's reads and writes of /dev/fuse, to ask the kernel
 * for FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14 (Debian 12) cannot.
 *
 * Why: a write(2) to a file whose inode lacks the kernel's S_NOSEC flag
 * first checks whether the file has a security.capability to remove
 * (file_remove_privs), and on FUSE that check is a GETXATTR round trip:
 * one per write(2), measured: fio's 4 KiB random overwrites ran 10,000-
 * 12,000 a second with it and 21,700 with it answered by the kernel
 * alone.  The kernel sets S_NOSEC (after one check, until the inode's
 * attributes are next refreshed) only on a filesystem with SB_NOSEC, and
 * FUSE sets SB_NOSEC only when the daemon handles the killing of
 * privileges itself (FUSE_HANDLE_KILLPRIV_V2, libfuse >= 3.16's
 * FUSE_CAP_HANDLE_KILLPRIV_V2).  libfuse 3.14 lets a daemon read and write
 * the device itself (fuse_session_custom_io), so:
 *
 *   - reading a request: the INIT request's unique is noted when the
 *     kernel offers the flag; for WRITE and OPEN, the kill flag the kernel
 *     sets (FUSE_WRITE_KILL_SUIDGID, FUSE_OPEN_KILL_SUIDGID), which
 *     libfuse 3.14 does not pass on, is kept for the handler, which runs
 *     next on the same thread (fs_io_kill_privs; libfuse reads and handles
 *     a request on one thread, also with clone_fd); SETATTR's
 *     (FATTR_KILL_SUIDGID) reaches fs_op_setattr as FUSE_SET_ATTR_KILL_SUID;
 *   - writing the INIT reply: the flag is added to the flags libfuse
 *     chose.
 *
 * What the daemon then owes the kernel (linux/fuse.h: "fs kills
 * suid/sgid/cap on write/chown/trunc"): the kernel sets those kill flags
 * on a write, a truncation or an O_TRUNC open when the caller lacks
 * CAP_FSETID, and on every chown of a non-folder; a fallocate and a
 * chown(f, -1, -1) carry none, and kill too.  The handlers clear setuid,
 * and setgid when group-executable or the caller is not in the file's
 * group, as the kernel's own rule has it (fs_perm_killed_mode; there is
 * never a security.capability to remove: only "user." extended attributes
 * are stored, docs/semantics.md).  A file with setuid or setgid is written
 * through (no writeback cache), so its WRITE carries the flag.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"

/* The INIT request's unique while its reply is due, 0 otherwise. */
static _Atomic uint64_t fs_io_init_unique;

/* The kill flag of the request this thread read last. */
static _Thread_local bool fs_io_kill;

static bool fs_io_arg_flag(const char *arg, size_t len, size_t off,
                           uint32_t flag)
{
    uint32_t v;

    if (len < off + sizeof(v))
        return false;
    memcpy(&v, arg + off, sizeof(v));
    return (v & flag) != 0;
}

static ssize_t fs_io_read(int fd, void *buf, size_t size, void *userdata)
{
    ssize_t n = read(fd, buf, size);
    struct fuse_in_header h;
    const char *arg;
    size_t len;

    (void)userdata;
    fs_io_kill = false;
    if (n < (ssize_t)sizeof(h))
        return n;
    memcpy(&h, buf, sizeof(h));
    arg = (const char *)buf + sizeof(h);
    len = (size_t)n - sizeof(h);
    switch (h.opcode) {
    case FUSE_INIT:
        if (fs_io_arg_flag(arg, len, offsetof(struct fuse_init_in, flags),
                           FUSE_HANDLE_KILLPRIV_V2))
            atomic_store(&fs_io_init_unique, h.unique);
        break;
    case FUSE_WRITE:
        fs_io_kill = fs_io_arg_flag(arg, len,
                                    offsetof(struct fuse_write_in, write_flags),
                                    FUSE_WRITE_KILL_SUIDGID);
        break;
    case FUSE_OPEN:
        fs_io_kill = fs_io_arg_flag(arg, len,
                                    offsetof(struct fuse_open_in, open_flags),
                                    FUSE_OPEN_KILL_SUIDGID);
        break;
    default:
        break;
    }
    return n;
}

static ssize_t fs_io_writev(int fd, struct iovec *iov, int count,
                            void *userdata)
{
    uint64_t init = atomic_load(&fs_io_init_unique);

    (void)userdata;
    /* libfuse sends a reply as the header, then the argument. */
    if (init != 0 && count >= 2 &&
        iov[0].iov_len >= sizeof(struct fuse_out_header) &&
        iov[1].iov_len >= offsetof(struct fuse_init_out, flags) +
                          sizeof(uint32_t)) {
        struct fuse_out_header oh;

        memcpy(&oh, iov[0].iov_base, sizeof(oh));
        if (oh.unique == init) {
            if (oh.error == 0) {
                char *flags = (char *)iov[1].iov_base +
                              offsetof(struct fuse_init_out, flags);
                uint32_t v;

                memcpy(&v, flags, sizeof(v));
                v |= FUSE_HANDLE_KILLPRIV_V2;
                memcpy(flags, &v, sizeof(v));
            }
            atomic_store(&fs_io_init_unique, 0);
        }
    }
    return writev(fd, iov, count);
}

int fs_io_attach(struct fuse_session *se)
{
    static const struct fuse_custom_io io = {
        .read = fs_io_read,
        .writev = fs_io_writev,
    };

    return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

bool fs_io_kill_privs(void)
{
    return fs_io_kill;
}
