/* fs_perm.c - the daemon's own permission checks.  STUB: to be written. */
#include "fs.h"
