/* DfuSe (.dfu) files written from segments, in the layout ST's DfuSe tools and dfu-util read
 * (UM0391 "DfuSe file format specification"; the suffix and its CRC as dfu-util's dfu_file.c):
 *
 *   prefix   11 bytes   "DfuSe", bVersion 0x01, DFUImageSize (LE32: prefix + targets, without
 *                       the suffix), bTargets
 *   target  274 bytes   "Target", bAlternateSetting, bTargetNamed (LE32), szTargetName[255],
 *                       dwTargetSize (LE32: its elements with their headers), dwNbElements (LE32)
 *   element   8 bytes   dwElementAddress, dwElementSize (LE32), then the data
 *   suffix   16 bytes   bcdDevice, idProduct, idVendor, bcdDFU 0x011A (LE16 each), "UFD",
 *                       bLength 16, dwCRC (LE32, ft_dfuse_file_crc32 of every byte before it)
 *
 * Segments are grouped into one target per alternate setting (ft_segment.dfu_alt), targets in
 * ascending alternate setting, elements in the order the segments are given. Segments of size 0
 * carry nothing and are left out. Pass an image's segments by copying ft_image_segment_at(i) into
 * an array.
 */
#ifndef FT_DFUSE_WRITE_H
#define FT_DFUSE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/image/image.h"

typedef struct ft_dfuse_file_options {
	uint16_t vendor;  /* suffix idVendor; 0xFFFF matches any device (DFU 1.1 file suffix) */
	uint16_t product; /* suffix idProduct; 0xFFFF matches any */
	uint16_t device;  /* suffix bcdDevice; 0xFFFF matches any */
	/* The name of every target whose first segment has no dfu_target_name; NULL leaves those
	 * targets unnamed. At most 255 characters (a shorter name is NUL-terminated). */
	const char *target_name;
} ft_dfuse_file_options;

/* The DFU suffix CRC: CRC-32 with the reflected polynomial 0xEDB88320, initial value 0xFFFFFFFF
 * and no final XOR (the catalogue name is CRC-32/JAMCRC; "123456789" gives 0x340BC6D9). */
uint32_t ft_dfuse_file_crc32(const uint8_t *bytes, size_t len);

/* Builds the file in memory: *out from malloc (the caller frees it), *out_len its size. Returns
 * FT_OK; FT_ERR_INVALID_ARG (no segment with data, a segment with size > 0 and no data, a range
 * past 4 GiB, a name too long, more than 255 targets, a file over 4 GiB), FT_ERR_NO_MEM. */
ft_error ft_dfuse_file_encode(const ft_segment *segments, size_t count,
                              const ft_dfuse_file_options *options, uint8_t **out, size_t *out_len,
                              ft_diag *diag);

/* The same, written to path (created or truncated). Returns ft_dfuse_file_encode's codes and
 * FT_ERR_IO when the file cannot be written. Blocks on the file system. */
ft_error ft_dfuse_file_write(const ft_segment *segments, size_t count,
                             const ft_dfuse_file_options *options, const char *path, ft_diag *diag);

#endif
