/* Internal to programmer/image: the ops table every format reader fills, and the sink through
 * which a reader hands one file's results to the image.
 *
 * image.c owns the image, detects formats, reads files and resolves "@ADDR"; it calls exactly one
 * reader per file through ft_image_reader.read. A reader parses the whole file and stages what it
 * found in the sink (segments, notes, entry point, header text, DfuSe IDs). image.c commits the
 * staged results when read returns FT_OK and discards them otherwise, so a reader may fail at any
 * point without cleaning up what it staged.
 */
#ifndef FT_IMAGE_READER_H
#define FT_IMAGE_READER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programmer/image/image.h"

/* One file's bytes as a reader sees them. */
typedef struct ft_image_source {
	const char *name;     /* file name for diagnostic origins and notes */
	const uint8_t *bytes; /* the whole file, len >= 1; valid during read only */
	size_t len;
	bool has_address; /* raw binaries: the base address ("@ADDR" already resolved) */
	uint32_t address;
} ft_image_source;

/* What a probe thinks of a file's first bytes. */
typedef enum ft_image_probe {
	FT_IMAGE_PROBE_NO,    /* not this format */
	FT_IMAGE_PROBE_TEXT,  /* text that looks like this format (weaker than a .bin extension) */
	FT_IMAGE_PROBE_MAGIC, /* an unambiguous signature */
} ft_image_probe;

typedef struct ft_image_sink ft_image_sink;

typedef struct ft_image_reader {
	ft_image_format format;
	/* Lower-case extensions with the dot (".hex") that suggest this format; NULL-terminated. */
	const char *const *extensions;
	/* Optional (NULL: never detected by content). Called by FT_IMAGE_AUTO detection with the
	 * file's bytes, len >= 1; reads nothing past len; returns what it thinks of them. */
	ft_image_probe (*probe)(const uint8_t *bytes, size_t len);
	/* Required. Reads one whole file into sink; called once per file. May assume src->len >= 1
	 * and, for raw binaries, nothing about the address (it checks has_address itself). Bounds-
	 * checks every field, never prints. Returns FT_OK, or an error from the list of
	 * ft_image_add_file with diag filled (origin: "NAME place"). */
	ft_error (*read)(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag);
} ft_image_reader;

extern const ft_image_reader ft_image_reader_elf;
extern const ft_image_reader ft_image_reader_ihex;
extern const ft_image_reader ft_image_reader_srec;
extern const ft_image_reader ft_image_reader_bin;
extern const ft_image_reader ft_image_reader_dfuse;

/* Stages one segment of the file. Copies proto's section array, section names and DfuSe target
 * name; ignores proto->file, proto->format and proto->data (the sink sets them). Takes ownership
 * of data (from malloc, proto->size bytes; NULL when proto->size is 0) and frees it on failure.
 * Returns FT_OK or FT_ERR_NO_MEM with diag filled. */
ft_error ft_image_sink_segment(ft_image_sink *sink, const ft_segment *proto, uint8_t *data,
                               ft_diag *diag);

/* Stages a note for the user (printf-style; write the file name into it). Returns FT_OK or
 * FT_ERR_NO_MEM with diag filled. */
ft_error ft_image_sink_note(ft_image_sink *sink, ft_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the file's start address (replaces an earlier call's). */
void ft_image_sink_entry(ft_image_sink *sink, uint32_t entry);

/* Records the file's header text (SREC S0): len bytes, unprintable ones kept as '.', cut at the
 * first NUL. Returns FT_OK or FT_ERR_NO_MEM with diag filled. */
ft_error ft_image_sink_header(ft_image_sink *sink, const uint8_t *text, size_t len, ft_diag *diag);

/* Records the DfuSe suffix IDs. */
void ft_image_sink_dfu_ids(ft_image_sink *sink, uint16_t vendor, uint16_t product, uint16_t device);

/* ft_diag_set with a va_list: fills diag (when not NULL) and returns code. */
ft_error ft_image_failv(ft_diag *diag, ft_error code, const char *origin, const char *fmt,
                        va_list ap) __attribute__((format(printf, 4, 0)));

#endif
