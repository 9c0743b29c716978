/* fs_tenant.c - tenants as a whole while mounted.  STUB: to be written. */
#include <errno.h>

#include "fs.h"

int fs_tenant_remove(struct fs_ctx *c, const char *name, bool only_empty)
{
    (void)c; (void)name; (void)only_empty;
    return ENOSYS;
}

void fs_tenant_changed(struct fs_ctx *c, uint64_t id, const char *name)
{
    (void)c; (void)id; (void)name;
}
