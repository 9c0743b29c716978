/*
 * store_snapshot_int.h - what store_snapshot.c, store_snapshot_io.c and
 * store_check.c share about snapshots.  Private to store/.
 */
#ifndef TENANTFS_STORE_SNAPSHOT_INT_H
#define TENANTFS_STORE_SNAPSHOT_INT_H

#include "store_internal.h"

/* STORE/snapshots[/name] (malloc'd; name may be NULL). */
char *store_snapshot_path(const struct store *s, const char *name);
/* Open the manifest in folder `dir` of snapshot `name` into `m`
 * (m->name and m->bytes are left to the caller).  STORE_ENOENT (none),
 * STORE_EIO (damaged, or sealed by another store or for another name). */
store_err store_snapshot_manifest_read(const struct store *s, const char *dir,
                                       const char *name,
                                       struct store_snapshot *m);
/* Parse the `len` bytes of a manifest's plaintext (the format in
 * store_snapshot.c, in the canonical form its writer gives: anything else
 * is refused) into `m` (m->name and m->bytes are left to the caller;
 * nothing to free on failure).  STORE_EIO (malformed), STORE_ENOMEM. */
store_err store_snapshot_manifest_parse(const char *text, size_t len,
                                        struct store_snapshot *m);
/* The folder of tenant `id`'s copy inside the snapshot folder `snapdir`
 * (malloc'd), optionally its database file: the layout's one spelling. */
char *store_snapshot_tenant_path(const char *snapdir, uint64_t id,
                                 bool data_file);
/* Copy file `from` to the new file `to` (O_EXCL, mode 0600), fsynced. */
store_err store_snapshot_copy_file(const char *from, const char *to);

#endif
