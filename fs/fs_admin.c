/* fs_admin.c - serving the admin socket.  STUB: to be written. */
#include "fs.h"

int fs_admin_start(struct fs_ctx *c)
{
    c->admin = NULL;
    return 0;
}

void fs_admin_stop(struct fs_ctx *c)
{
    (void)c;
}
