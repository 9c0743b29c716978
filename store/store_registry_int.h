/*
 * store_registry_int.h - private to store_registry.c (reading the
 * registry, the open-tenant table) and store_tenant_admin.c (changing
 * them).  Layout and rules are in the comment at the top of
 * store_registry.c.
 */
#ifndef TENANTFS_STORE_REGISTRY_INT_H
#define TENANTFS_STORE_REGISTRY_INT_H

#include "store_internal.h"

/* A transaction on the registry env (STORE_EROFS for a write in a
 * read-only store). */
store_err store_reg_txn(struct store *s, bool write, MDB_txn **txn);
/* Seal `info` (name, created, quotas, uid/gid/mode) as record info->id. */
store_err store_reg_record_put(struct store *s, MDB_txn *txn,
                               const struct store_tenant_info *info);
/* Open record `id` into `info`; *owner_known false for a version 1 record
 * (uid/gid/mode then zero).  STORE_ENOENT, STORE_EIO (logged). */
store_err store_reg_record_get(struct store *s, MDB_txn *txn, uint64_t id,
                               struct store_tenant_info *info,
                               bool *owner_known);
/* The id a 128-bit keyed name hash maps to, or STORE_ENOENT. */
store_err store_reg_name_get(struct store *s, MDB_txn *txn,
                             const uint8_t hash[16], uint64_t *id);
/* The open-tenant table; s->lock held. */
store_tenant *store_open_find(struct store *s, uint64_t id, size_t *idx);
store_err store_open_add(struct store *s, store_tenant *t);
/* uid/gid/mode of a version 1 record's tenant, from its root inode. */
store_err store_tenant_info_attrs(struct store *s,
                                  struct store_tenant_info *info);

#endif
