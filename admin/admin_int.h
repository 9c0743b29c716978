/*
 * admin_int.h - what the files of admin/ share and nobody else uses: the
 * socket address of a store folder and blocking I/O helpers.
 */
#ifndef TENANTFS_ADMIN_INT_H
#define TENANTFS_ADMIN_INT_H

#include <stddef.h>
#include <sys/un.h>

/* The address of STORE/admin.sock: `dir`/admin.sock when it fits in
 * sun_path, else /proc/self/fd/`dirfd`/admin.sock.  Returns 0 or
 * ENAMETOOLONG. */
int admin_sock_addr(const char *dir, int dirfd, struct sockaddr_un *sa);

/* SO_RCVTIMEO and SO_SNDTIMEO of `fd`, in milliseconds. */
void admin_sock_timeouts(int fd, unsigned ms);

/* Send all `len` bytes (MSG_NOSIGNAL).  Returns 0 or an errno (ETIMEDOUT
 * when the send timeout expired). */
int admin_send_all(int fd, const char *buf, size_t len);

#endif
