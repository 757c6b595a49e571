/* Inputs that scenarios generate instead of taking them from conformance/fixtures: ELF32 files
 * with chosen program headers (one named section per segment) and Intel HEX files with chosen
 * records. Bytes are written explicitly, little-endian, from the ELF 1.2 specification (book I,
 * figures 1-3, 1-8, 2-1) and Intel's "Hexadecimal Object File Format Specification" rev A.
 *
 * Pure: output in malloc'd buffers the caller frees. Library code: never prints.
 */
#ifndef FT_CONFORM_GEN_H
#define FT_CONFORM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

#define FT_GEN_PF_X 1u
#define FT_GEN_PF_W 2u
#define FT_GEN_PF_R 4u

/* One PT_LOAD. data holds filesz bytes (NULL when filesz is 0). The segment gets one section,
 * named section, at vaddr: PROGBITS of filesz bytes, or NOBITS of memsz bytes when filesz is 0. */
typedef struct ft_gen_segment {
	uint32_t paddr, vaddr;
	const uint8_t *data;
	uint32_t filesz, memsz;
	uint32_t flags; /* FT_GEN_PF_* */
	const char *section;
} ft_gen_segment;

#define FT_GEN_MAX_SEGMENTS 16

/* An ELF32 little-endian ARM executable (e_machine 40, e_entry = the first segment's vaddr)
 * holding the segments in the given order. Returns FT_OK with *out and *len, FT_ERR_INVALID_ARG
 * (no segment, more than FT_GEN_MAX_SEGMENTS, filesz > memsz, data missing, a name longer than
 * 63) or FT_ERR_NO_MEM. */
ft_error ft_gen_elf(const ft_gen_segment *segments, size_t count, uint8_t **out, size_t *len,
                    ft_diag *diag);

/* One data record of an Intel HEX file. */
typedef struct ft_gen_hex_record {
	uint32_t addr;
	const uint8_t *data;
	uint8_t len; /* 1..255 bytes in one record */
} ft_gen_hex_record;

/* An Intel HEX text: an extended linear address record (type 04) whenever the upper 16 address
 * bits of a record's first byte change, the data records as given (type 00, never split: with
 * linear addressing a record may run across a 64 KiB boundary, the address being ULBA + offset
 * + index), the end-of-file record. A record of length 0 is FT_ERR_INVALID_ARG. *out is
 * NUL-terminated; *len excludes the NUL. */
ft_error ft_gen_hex(const ft_gen_hex_record *records, size_t count, char **out, size_t *len,
                    ft_diag *diag);

/* Fills buf[0..len) with a pattern in which every 32-bit word holds its own address (from base),
 * like conformance/fixtures/src/assets.S: misplaced or dropped blocks show on read-back. */
void ft_gen_self_addressed(uint8_t *buf, size_t len, uint32_t base);

#endif
