/* Segments written back out as a firmware file: raw binary, Intel HEX, Motorola SREC or DfuSe
 * (the latter through dfuse_write.h). What `flashtwin convert` and `flashtwin read` write.
 *
 *   bin    the bytes from the lowest segment address to the highest end, gaps filled with 0xFF
 *          (erased flash); a span above FT_IMAGE_BIN_MAX_SPAN is refused, since an image with a
 *          RAM or external-memory segment would otherwise become hundreds of MiB of 0xFF.
 *   ihex   Intel HEX (Intel "Hexadecimal Object File Format Specification" rev A): type 04
 *          extended linear address records before the first data record and at every 64 KiB
 *          boundary, type 00 data records of at most 16 bytes that never cross one, a type 05
 *          start linear address record when an entry point is given, type 01 end of file.
 *   srec   Motorola S-records (S3 throughout, 4-byte addresses, as the ST-LINK GDB server
 *          writes them): an optional S0 header, S3 data records of at most 16 bytes, S7 with
 *          the entry point (0 without one).
 * Both text formats end lines with LF and write hex digits in upper case; they share the record
 * and checksum code (Intel: two's complement of the byte sum; Motorola: one's complement).
 *
 * Segments are written in address order whatever order they are given in; segments of size 0
 * carry nothing and are left out; segments that overlap are refused (a finished ft_image has
 * none). Pass an image's segments by copying ft_image_segment_at(i) into an array.
 */
#ifndef FT_IMAGE_WRITE_H
#define FT_IMAGE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/image/dfuse_write.h"
#include "programmer/image/image.h"

#define FT_IMAGE_BIN_MAX_SPAN (256u << 20) /* 256 MiB */

typedef struct ft_image_write_options {
	ft_image_format format; /* FT_IMAGE_BIN, _IHEX, _SREC or _DFUSE */
	bool has_entry;         /* ihex: type 05 record; srec: S7 address */
	uint32_t entry;
	const char *header; /* srec: S0 text (at most 250 characters); NULL: no S0 */
	const ft_dfuse_file_options *dfuse; /* dfuse: suffix IDs and target name; NULL: any
	                                     * device (0xFFFF), unnamed targets */
} ft_image_write_options;

/* Builds the file in memory: *out from malloc (the caller frees it), *out_len its size. Returns
 * FT_OK; FT_ERR_INVALID_ARG (no segment with data, a segment with size > 0 and no data, a range
 * past 4 GiB, overlapping segments, a format that cannot be written, an S0 header too long, and
 * for dfuse what ft_dfuse_file_encode refuses); FT_ERR_RANGE (bin spanning more than
 * FT_IMAGE_BIN_MAX_SPAN); FT_ERR_NO_MEM. diag says which segments or what. */
ft_error ft_image_encode(const ft_segment *segments, size_t count,
                         const ft_image_write_options *options, uint8_t **out, size_t *out_len,
                         ft_diag *diag);

/* The same, written to path (created or truncated). Returns ft_image_encode's codes and
 * FT_ERR_IO when the file cannot be written. Blocks on the file system. */
ft_error ft_image_write(const ft_segment *segments, size_t count,
                        const ft_image_write_options *options, const char *path, ft_diag *diag);

/* Writes len bytes to path, created or truncated. Returns FT_OK or FT_ERR_IO with diag (origin:
 * the path). */
ft_error ft_image_save(const char *path, const uint8_t *bytes, size_t len, ft_diag *diag);

#endif
