/* Firmware images: every supported file format read into one list of segments with provenance.
 *
 * A segment is a run of bytes to be placed at a load (physical) address, together with where it
 * came from: the file, the ELF program header or DfuSe element index, the HEX/SREC lines, and the
 * ELF sections it covers. Several files may be added to one image; ft_image_finish then checks
 * overlaps across all of them: identical bytes merge (with a note), different bytes are an error
 * naming both origins.
 *
 * Readers bound-check every field of their input; on malformed input they return FT_ERR_FORMAT
 * with a diagnostic naming the file and the place (line, offset, header field), and the image is
 * left exactly as it was before the call.
 *
 * An ft_image is not thread-safe. Strings and data returned point into the image and live until
 * ft_image_free.
 */
#ifndef FT_IMAGE_H
#define FT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

typedef enum ft_image_format {
	FT_IMAGE_AUTO, /* decide by content (ELF magic, DfuSe prefix, ':' or 'S' records), else by extension */
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
	uint32_t addr; /* the section's load address (LMA) within the segment */
	uint32_t size; /* bytes of the section inside the segment's file bytes */
	bool nobits;   /* SHT_NOBITS: occupies memory, carries no file bytes */
} ft_section;

typedef struct ft_segment {
	uint32_t addr;       /* load address: ELF p_paddr, record or element address */
	uint32_t size;       /* bytes of data to place (ELF p_filesz); 0 carries nothing */
	uint32_t mem_size;   /* ELF p_memsz; equals size for other formats */
	uint32_t run_addr;   /* ELF p_vaddr; equals addr for other formats */
	const uint8_t *data; /* size bytes, NULL when size is 0 */
	/* provenance */
	const char *file;    /* the path as the user gave it */
	ft_image_format format;
	int index;           /* ELF program-header index, DfuSe element index, else -1 */
	uint32_t elf_flags;  /* ELF p_flags (PF_R 4, PF_W 2, PF_X 1), 0 for other formats */
	uint8_t dfu_alt;     /* DfuSe target's alternate setting, 0 for other formats */
	uint32_t first_line; /* HEX/SREC: first and last record line (1-based), else 0 */
	uint32_t last_line;
	size_t section_count;
	const ft_section *sections; /* ELF SHF_ALLOC sections overlapping the segment, by address */
	uint32_t uncovered_bytes;   /* ELF: file bytes of the segment no section covers (headers) */
} ft_segment;

typedef struct ft_image ft_image;

/* How one input file is read. */
typedef struct ft_image_input {
	const char *path;        /* may end in "@ADDR" for raw binaries: "app.bin@0x08000000" */
	ft_image_format format;  /* FT_IMAGE_AUTO to detect */
	bool has_address;        /* base address for raw binaries (--address) */
	uint32_t address;
} ft_image_input;

/* Returns NULL when out of memory. */
ft_image *ft_image_new(void);
void ft_image_free(ft_image *image);

/* Reads one file and appends its segments. A raw binary with no address (neither "@ADDR" nor
 * input->has_address) is refused with FT_ERR_INVALID_ARG. On any error the image is unchanged. */
ft_error ft_image_add_file(ft_image *image, const ft_image_input *input, ft_diag *diag);

/* Reads from memory instead of a file (fuzz targets, tests); name stands for the path. */
ft_error ft_image_add_buffer(ft_image *image, const char *name, ft_image_format format,
			     const uint8_t *bytes, size_t len, bool has_address, uint32_t address,
			     ft_diag *diag);

/* Checks overlaps across every segment added so far: identical overlapping bytes merge into the
 * earlier segment with a note; different bytes return FT_ERR_OVERLAP naming both origins and the
 * overlapping range. Call once after the last add. */
ft_error ft_image_finish(ft_image *image, ft_diag *diag);

/* Segments in the order they were read (ELF program-header order, file order across files). */
size_t ft_image_segment_count(const ft_image *image);
const ft_segment *ft_image_segment_at(const ft_image *image, size_t index);

/* Notes the readers left for the user: merged overlaps, bytes no section covers, zero-size
 * segments, records out of address order. */
size_t ft_image_note_count(const ft_image *image);
const char *ft_image_note_at(const ft_image *image, size_t index);

/* Describes a segment's origin for messages: "app.elf PT_LOAD[1]", "app.hex lines 3-130",
 * "fw.dfu target 0 element 2", "app.bin". Writes at most len bytes including the NUL. */
void ft_segment_origin(const ft_segment *segment, char *buf, size_t len);

/* Parses "0x08000000", "134217728" or "0x0800_0000" into *value. false on anything else. */
bool ft_parse_address(const char *text, uint32_t *value);

#endif
