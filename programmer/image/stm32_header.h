/* The STM32 image header v2.3 the STM32N6 boot ROM reads in front of the FSBL at the start of the
 * boot flash (devices.md §6.1, §6.2; STM32_SigningTool_CLI -hv 2.3). Layout, little-endian:
 *   0x00 magic "STM2" (53 54 4D 32)     0x64 checksum: byte sum of the payload mod 2^32
 *   0x04 ECDSA signature, 96 bytes       0x68 version: bytes 00 03 02 00 (2.3)
 *   0x6C payload length                  0x70 entry point (Thumb bit set)
 *   0x78 load address (0xFFFFFFFF: none) 0x80 image version  0x84 extension flags
 *   0x8C binary type (0x10 FSBL)         the payload from offset 0x400 (with --align)
 * The ROM copies header and payload to AXISRAM2 at 0x34180000, so the payload runs from
 * 0x34180400 (devices.md §6.1).
 *
 * Parsing reads the bytes one by one (never a cast struct); every field named in a diagnostic
 * is the field of this table. Library code: never prints or exits. */
#ifndef FT_STM32_HEADER_H
#define FT_STM32_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

#define FT_STM32_HEADER_SIZE  0x400u      /* header and padding before the payload */
#define FT_STM32_HEADER_MAGIC 0x324D5453u /* "STM2" read little-endian */
#define FT_STM32_HEADER_V23   0x00020300u /* version bytes 00 03 02 00 */
#define FT_STM32_HEADER_FSBL  0x10u       /* binary type of an FSBL */
#define FT_STM32_N6_FSBL_RUN  0x34180400u /* where the ROM's copy of the payload runs */
#define FT_STM32_N6_IMAGE_MAX 0x80000u    /* header + payload, 512 KB (devices.md §6.1) */

typedef struct ft_stm32_header {
	uint32_t magic, checksum, version, length, entry, load, image_version, flags, type;
	bool signature_zero; /* the 96 signature bytes are all zero: unsigned (-nk) */
} ft_stm32_header;

/* Parses and checks a header at bytes[0] (len bytes available: the header and, to check the
 * checksum, the payload after it). Returns FT_OK with *out filled, or, with *out filled as far
 * as it was read:
 *   FT_ERR_FORMAT  no magic (not a headed image), a version other than 2.3, a zero length, a
 *                  payload longer than len allows or than the ROM loads (512 KB), an entry
 *                  point without the Thumb bit or outside the payload as the ROM places it;
 *   FT_ERR_VERIFY  the checksum is not the payload's byte sum;
 *   FT_ERR_INVALID_ARG  NULL bytes or out.
 * diag names the field ("STM32 header 0x64 checksum") and what the ROM does with it. */
ft_error ft_stm32_header_check(const uint8_t *bytes, size_t len, ft_stm32_header *out,
                               ft_diag *diag);

/* Writes an unsigned v2.3 FSBL header (what STM32_SigningTool_CLI -nk -t fsbl -hv 2.3 --align
 * writes: magic, checksum, version, length, entry = the payload's reset vector, no load address,
 * type FSBL, zeros elsewhere) into out[0..FT_STM32_HEADER_SIZE). The payload is a vector table
 * first. Returns FT_OK, FT_ERR_INVALID_ARG (NULL) or FT_ERR_RANGE (payload shorter than 8 bytes
 * or longer than the ROM loads). */
ft_error ft_stm32_header_build_fsbl(const uint8_t *payload, size_t len, uint8_t *out,
                                    ft_diag *diag);

#endif
