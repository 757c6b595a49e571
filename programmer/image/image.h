/* Firmware images: every supported file format read into one list of segments with provenance.
 *
 * A segment is a run of bytes to be placed at a load (physical) address, together with where it
 * came from: the file, the ELF program header or DfuSe element index, the HEX/SREC lines, and the
 * ELF sections it covers. Several files may be added to one image; ft_image_finish then checks
 * overlaps across all of them: identical bytes merge into the segment read first (with a note),
 * different bytes are an error naming both origins.
 *
 * Readers bound-check every field of their input; on malformed input they return FT_ERR_FORMAT
 * with a diagnostic naming the file and the place (line, offset, header field), and the image is
 * left exactly as it was before the call.
 *
 * An ft_image is not thread-safe. Strings returned (file names, section names, notes, headers)
 * live until ft_image_free. A segment pointer from ft_image_segment_at and its data stay valid
 * until the next ft_image_add_* or ft_image_finish call (finish merges and removes segments).
 *
 * Segment order: ELF and DfuSe segments in file order; Intel HEX and SREC records are sorted by
 * address and contiguous records joined, so their segments come in address order. Across files,
 * in the order the files were added.
 */
#ifndef FT_IMAGE_H
#define FT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

typedef enum ft_image_format {
	FT_IMAGE_AUTO, /* decide by content (ELF magic, DfuSe prefix, ':' or 'S' records), else by
	                  extension */
	FT_IMAGE_ELF,
	FT_IMAGE_IHEX,
	FT_IMAGE_SREC,
	FT_IMAGE_BIN,
	FT_IMAGE_DFUSE,
} ft_image_format;

/* Stable lower-case name ("elf", "ihex", "srec", "bin", "dfuse"). */
const char *ft_image_format_name(ft_image_format format);

typedef struct ft_section {
	const char *name;
	uint32_t addr; /* the section's load address (LMA): sh_addr - p_vaddr + p_paddr */
	uint32_t
	    size;    /* sh_size: file bytes inside the segment, or for NOBITS the memory it takes */
	bool nobits; /* SHT_NOBITS: occupies memory, carries no file bytes */
} ft_section;

typedef struct ft_segment {
	uint32_t addr;       /* load address: ELF p_paddr, record or element address */
	uint32_t size;       /* bytes of data to place (ELF p_filesz); 0 carries nothing */
	uint32_t mem_size;   /* ELF p_memsz; equals size for other formats */
	uint32_t run_addr;   /* ELF p_vaddr; equals addr for other formats */
	const uint8_t *data; /* size bytes, NULL when size is 0 */
	/* provenance */
	const char *file; /* the path as the user gave it, without an "@ADDR" suffix */
	ft_image_format format;
	int index; /* ELF program-header index (as readelf numbers them, all types counted),
	            * DfuSe element index within its target, else -1 */
	uint32_t elf_flags;  /* ELF p_flags (PF_R 4, PF_W 2, PF_X 1), 0 for other formats */
	uint8_t dfu_alt;     /* DfuSe target's alternate setting, 0 for other formats */
	uint32_t first_line; /* HEX/SREC: first and last record line (1-based), else 0 */
	uint32_t last_line;
	size_t section_count;
	const ft_section *sections; /* ELF SHF_ALLOC sections inside the segment, by address; a
	                             * section inside several PT_LOADs is listed in the first */
	uint32_t uncovered_bytes;   /* ELF: file bytes of the segment no section covers (headers) */
	bool headers_only; /* ELF: every file byte is the ELF header or program-header table, which
	                    * the linker mapped into this PT_LOAD; no program bytes */
	int dfu_target;    /* DfuSe: index of the target in the file, else -1 */
	const char *dfu_target_name; /* DfuSe: the target's name when it is named, else NULL */
} ft_segment;

typedef struct ft_image ft_image;

/* How one input file is read. */
typedef struct ft_image_input {
	const char *path;       /* may end in "@ADDR" for raw binaries: "app.bin@0x08000000" */
	ft_image_format format; /* FT_IMAGE_AUTO to detect */
	bool has_address;       /* base address for raw binaries (--address) */
	uint32_t address;
} ft_image_input;

/* Returns NULL when out of memory. */
ft_image *ft_image_new(void);
void ft_image_free(ft_image *image);

/* Reads one file and appends its segments. A raw binary with no address (neither "@ADDR" nor
 * input->has_address) is refused with FT_ERR_INVALID_ARG. On any error the image is unchanged.
 *
 * The text after the last '@' of path is taken as an address when ft_parse_address accepts it.
 * It applies to raw binaries only: "@ADDR" on another format is FT_ERR_INVALID_ARG, and so is an
 * "@ADDR" that differs from input->address; input->has_address is ignored by formats that carry
 * their own addresses (so one --address can serve a mixed command line).
 *
 * FT_IMAGE_AUTO decides: ELF magic or DfuSe prefix; else a ".bin" extension; else a first line
 * that starts with ':' (Intel HEX) or 'S' and a digit (SREC); else the extension (.elf .axf .out
 * .hex .ihex .ihx .srec .s19 .s28 .s37 .mot .sx .dfu); else raw binary.
 *
 * Returns FT_OK; FT_ERR_NOT_FOUND (no such file), FT_ERR_IO (open or read failed),
 * FT_ERR_FORMAT (malformed content: diag origin names the line, program header, section or
 * offset), FT_ERR_OVERLAP (two HEX/SREC records of the file write different bytes to the same
 * address: names both lines), FT_ERR_RANGE (a raw binary would run past 4 GiB from its
 * address), FT_ERR_INVALID_ARG, FT_ERR_NO_MEM. */
ft_error ft_image_add_file(ft_image *image, const ft_image_input *input, ft_diag *diag);

/* Reads from memory instead of a file (fuzz targets, tests); name stands for the path and is
 * used as given (no "@ADDR" parsing; has_address and address play that role). The bytes are not
 * kept. Same returns as ft_image_add_file, without FT_ERR_NOT_FOUND and FT_ERR_IO. */
ft_error ft_image_add_buffer(ft_image *image, const char *name, ft_image_format format,
                             const uint8_t *bytes, size_t len, bool has_address, uint32_t address,
                             ft_diag *diag);

/* Checks overlaps across every segment added so far: identical overlapping bytes merge into the
 * earlier segment with a note; different bytes return FT_ERR_OVERLAP naming both origins and the
 * overlapping range. Call once after the last add.
 *
 * Merging: a byte held by several segments stays with the one read first; the later ones lose
 * it, so each is kept whole, trimmed, split into pieces (same provenance, the ELF sections that
 * reach into each piece) or removed, and a note names what repeated what. Segments that merely
 * touch stay separate; segments of size 0 take no part. Returns FT_OK, FT_ERR_OVERLAP (diag
 * origin: the later segment) or FT_ERR_NO_MEM; on error the image is unchanged. */
ft_error ft_image_finish(ft_image *image, ft_diag *diag);

/* Segments in the order described at the top of this header. index < count, else NULL. */
size_t ft_image_segment_count(const ft_image *image);
const ft_segment *ft_image_segment_at(const ft_image *image, size_t index);

/* Notes the readers left for the user: merged overlaps, bytes no section covers, zero-size
 * segments, records out of address order. */
size_t ft_image_note_count(const ft_image *image);
const char *ft_image_note_at(const ft_image *image, size_t index);

/* What the image knows of one input file beyond its segments. */
typedef struct ft_image_file {
	const char *path;       /* as given, without an "@ADDR" suffix */
	ft_image_format format; /* as given or as detected */
	size_t size;            /* bytes of input read */
	bool has_entry;         /* a start address was given: */
	uint32_t entry;         /* ELF e_entry, HEX 05 EIP or 03 CS*16+IP, SREC S7/S8/S9 */
	const char *header;     /* SREC S0 text (unprintable bytes as '.'), else NULL */
	bool has_dfu_ids;       /* DfuSe suffix IDs (0xFFFF = any, as DFU 1.1 says): */
	uint16_t dfu_vendor, dfu_product, dfu_device;
} ft_image_file;

/* Files added successfully, in order. index < count, else NULL. */
size_t ft_image_file_count(const ft_image *image);
const ft_image_file *ft_image_file_at(const ft_image *image, size_t index);

/* The entry point of the first file that gives one; false (and *entry untouched) if none does. */
bool ft_image_entry(const ft_image *image, uint32_t *entry);

/* Describes a segment's origin for messages: "app.elf PT_LOAD[1]" (the program-header index),
 * "app.hex lines 3-130" ("line 3" for one), "fw.dfu target 0 element 2", "app.bin". Writes at
 * most len bytes including the NUL (len > 0). */
void ft_segment_origin(const ft_segment *segment, char *buf, size_t len);

/* Parses "0x08000000", "134217728" or "0x0800_0000" into *value. false on anything else:
 * signs, spaces, values above 0xFFFFFFFF, doubled or edge underscores, and decimal numbers with a
 * leading zero (C would read them as octal; write 0x...). */
bool ft_parse_address(const char *text, uint32_t *value);

#endif
