/*
 * seal_internal.h - what the files of crypto/ share and nobody else sees.
 *
 * The key object is private to seal_key.c; the sealing and wrapping code
 * reads its 32 bytes through seal_key_bytes().  The pointer is valid while
 * the key lives and points into locked, read-only memory.
 */
#ifndef TENANTFS_SEAL_INTERNAL_H
#define TENANTFS_SEAL_INTERNAL_H

#include <stdint.h>

#include "seal.h"

const uint8_t *seal_key_bytes(const seal_key *key);

#endif
