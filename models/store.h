/* A board's persistent state: a directory of named, fixed-size regions, each a memory-mapped file.
 *
 * The device models (embedded flash, ECC state, option bytes, NOR arrays) take caller-provided
 * byte buffers plus a `fresh` flag; the store provides those buffers and knows nothing of what is
 * in them. One store belongs to one board and is open in at most one process at a time.
 *
 * Directory layout (store version 1):
 *   manifest      text: "flashtwin-store 1", "board NAME", one "region NAME SIZE" per region,
 *                 "end". Written to a temporary, fsync'd, renamed into place, directory fsync'd.
 *   NAME.bin      one file per region, exactly SIZE bytes.
 *   lock          flock(2) LOCK_EX target; holds the PID of the process that has the store open.
 *   .tmp-*        temporaries of a region or manifest being written; removed by the next open.
 *
 * Durability. Regions are mapped MAP_SHARED: every store to a mapped region is in the page cache
 * the moment it is made, so it survives the process being killed at any point (SIGKILL, abort,
 * crash). An operating-system crash or power loss keeps only what ft_store_sync (or
 * ft_store_close) flushed before it; anything written after the last sync may be lost or torn.
 *
 * Crash consistency. A region is created as a temporary that is sized, filled, fsync'd and only
 * then renamed into place; it becomes part of the store when the manifest naming it has been
 * renamed into place. A process killed at any point therefore leaves a directory in which every
 * region is either absent or complete: the next open removes the temporaries and any region file
 * the manifest does not name (its creation never completed, and no caller was ever given it).
 * A creating call that was killed returns nothing to anyone, so the bytes a region is created with
 * must be its complete factory state: after a kill, the next map reports fresh = false.
 *
 * Handles are not thread-safe; use one from one thread at a time. Every call blocks on file I/O.
 */
#ifndef FT_STORE_H
#define FT_STORE_H

#include "models/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The on-disk format this code reads and writes (the manifest's first line). */
#define FT_STORE_VERSION 1
/* Region and board names: 1 to FT_STORE_NAME_MAX characters. Region names are [a-z0-9_-];
 * board names are [A-Za-z0-9._-]. */
#define FT_STORE_NAME_MAX 64
/* Bounds of a region's size in bytes (1 GiB), and of the number of regions in one store. */
#define FT_STORE_REGION_MAX  ((size_t)1 << 30)
#define FT_STORE_REGIONS_MAX 64

typedef struct ft_store ft_store;

/* Opens the store in directory DIR for board BOARD, creating DIR if it does not exist. Only the
 * last path component is created: a missing parent is an error, so a mistyped path never grows a
 * tree. A new store gets a manifest with no regions. On success *out is a handle the caller
 * releases with ft_store_close, and the calling process holds the store's lock until then (the
 * lock belongs to the open file description: a child forked without exec inherits it).
 * Returns:
 *   FT_OK
 *   FT_ERR_INVALID_ARG  NULL argument, empty DIR, DIR of PATH_MAX bytes or more or with a
 *                       component too long for the file system, invalid board name, or DIR
 *                       exists and is not a directory
 *   FT_ERR_NOT_FOUND    the parent of DIR does not exist
 *   FT_ERR_BUSY         another open handle has the store (this process or another); the
 *                       diagnostic names DIR and the holder's PID when it could be read
 *   FT_ERR_STATE        DIR is the store of another board (the diagnostic names both)
 *   FT_ERR_UNSUPPORTED  DIR was written by another store version
 *   FT_ERR_FORMAT       the manifest is unreadable or inconsistent with the region files, or DIR
 *                       has no manifest but holds files (not a store, or its manifest was lost)
 *   FT_ERR_NO_MEM, FT_ERR_IO  allocation or operating-system failure (the diagnostic has errno's
 *                       text)
 * On failure *out is NULL, and DIR is as it was except that it may have been created and its lock
 * file created or rewritten (and, after an I/O error, hold a temporary the next open removes). */
ft_error ft_store_open(const char *dir, const char *board, ft_store **out, ft_diag *diag);

/* Maps region NAME of SIZE bytes and sets *mem to its first byte. The mapping stays valid until
 * ft_store_close. When this call creates the region, every byte is FILL and *fresh is true; when
 * the region already exists (created by an earlier open, or mapped before through this handle,
 * which returns the same address), *mem shows its current bytes and *fresh is false.
 * Returns:
 *   FT_OK
 *   FT_ERR_INVALID_ARG  NULL argument or invalid NAME
 *   FT_ERR_RANGE        SIZE is 0 or above FT_STORE_REGION_MAX, or the store already holds
 *                       FT_STORE_REGIONS_MAX regions
 *   FT_ERR_FORMAT       the region exists with another size (never truncated or extended), or its
 *                       file no longer has the size the manifest records
 *   FT_ERR_NO_MEM, FT_ERR_IO  allocation, disk space, mapping or other operating-system failure.
 *                       The store stays consistent; the region was not created unless the
 *                       failure came after the manifest naming it was in place, in which case a
 *                       later call maps it with fresh = false.
 * On failure *mem and *fresh are not written. */
ft_error ft_store_map(ft_store *st, const char *name, size_t size, uint8_t fill, uint8_t **mem,
                      bool *fresh, ft_diag *diag);

/* ft_store_map for a region whose factory state is not one repeated byte (option bytes):
 * on creation the region holds a copy of the SIZE bytes at IMAGE. Same returns as ft_store_map. */
ft_error ft_store_map_image(ft_store *st, const char *name, size_t size, const uint8_t *image,
                            uint8_t **mem, bool *fresh, ft_diag *diag);

/* Writes every mapped region back to the disk and waits for it (msync MS_SYNC): what was stored
 * before this call survives an OS crash or power loss. Returns FT_OK, or FT_ERR_IO naming the
 * first region that failed (the others are still synced). */
ft_error ft_store_sync(ft_store *st, ft_diag *diag);

/* Syncs as ft_store_sync, unmaps every region, releases the lock and frees the handle; the handle
 * and every pointer ft_store_map returned are invalid afterwards, whatever the result.
 * Returns FT_OK (also for st == NULL) or the sync's FT_ERR_IO. */
ft_error ft_store_close(ft_store *st, ft_diag *diag);

#endif
