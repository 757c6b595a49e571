/* Internal to programmer/image: what the two line-record formats (Intel HEX, Motorola SREC) share.
 *
 * - A line cursor: LF, CRLF and lone CR end a line; trailing spaces and tabs are dropped; blank
 *   lines are skipped but counted, so line numbers match an editor's.
 * - Hex-pair decoding.
 * - An assembler that collects data records and turns them into segments: records are sorted by
 *   address, contiguous ones joined; records that overlap with identical bytes are merged with a
 *   note; records that overlap with different bytes are refused with FT_ERR_OVERLAP naming both
 *   lines. To name them without keeping a line per record, the assembler parses the file again
 *   and looks for the two records that cover the conflicting address.
 */
#ifndef FT_IMAGE_RECORDS_H
#define FT_IMAGE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programmer/image/reader.h"

typedef struct ft_text_cursor {
	const uint8_t *next; /* start of the next line */
	const uint8_t *end;
	uint32_t line; /* number of the line last returned (1-based) */
} ft_text_cursor;

void ft_text_cursor_init(ft_text_cursor *cursor, const uint8_t *bytes, size_t len);

/* Moves to the next non-blank line: *text and *len without the terminator and trailing blanks,
 * its number in cursor->line. Returns false at the end of the input. */
bool ft_text_next_line(ft_text_cursor *cursor, const uint8_t **text, size_t *len);

/* Decodes count bytes from 2 * count hex digits (either case) into out. Returns true, or false
 * with the index of the first character that is not a hex digit in *bad. */
bool ft_text_hex_decode(const uint8_t *hex, size_t count, uint8_t *out, size_t *bad);

enum { FT_TEXT_CHAR_LEN = 16 };

/* "'G'" or "byte 0x07": a character for a message, written into buf. Returns buf. */
const char *ft_text_char(char buf[FT_TEXT_CHAR_LEN], uint8_t c);

/* ft_diag_set with origin "NAME line N" and a printf-style message; returns code. */
ft_error ft_text_line_error(ft_diag *diag, ft_error code, const char *name, uint32_t line,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The index of the first byte of bytes[0..len) that is not a space, tab, CR or LF (len if none). */
size_t ft_text_skip_space(const uint8_t *bytes, size_t len);

/* ft_text_hex_decode of count bytes from the hex digits at text[col] (col 0-based). Returns
 * FT_OK, or FT_ERR_FORMAT naming the first bad character and its 1-based column. */
ft_error ft_text_hex_field(ft_diag *diag, const char *name, uint32_t line, const uint8_t *text,
                           size_t col, size_t count, uint8_t *out);

/* Checks that a record of n characters holds exactly the count bytes its byte count announces
 * after the min_chars of a record with none. Returns FT_OK or FT_ERR_FORMAT. */
ft_error ft_text_check_count(ft_diag *diag, const char *name, uint32_t line, size_t count,
                             size_t min_chars, size_t n);

/* Checks that the file ended with its closing record (end_line non-zero); else FT_ERR_FORMAT at
 * last_line, "no RECORD: the file is truncated". */
ft_error ft_text_check_closed(ft_diag *diag, const char *name, uint32_t last_line,
                              uint32_t end_line, const char *record);

/* Receives one data record: n bytes for addr..addr+n-1 (never past 4 GiB), from line. A non-FT_OK
 * return stops the parse, which returns it. */
typedef ft_error (*ft_records_visit_fn)(void *ctx, uint32_t addr, const uint8_t *bytes, size_t n,
                                        uint32_t line);

/* What a file says besides its data records. */
typedef struct ft_records_meta {
	bool has_entry;
	uint32_t entry;
	size_t header_len; /* SREC S0 data bytes, 0 when none */
	uint8_t header[255];
} ft_records_meta;

/* A format's parser: checks every line of src, calls visit for each data record in file order and
 * fills meta (zeroed by the caller). Returns FT_OK, the first non-FT_OK visit result, or a format
 * error with diag (which may be NULL) filled. Deterministic: ft_records_read runs it a second
 * time, with a visit of its own, to name the lines behind a conflict. */
typedef ft_error (*ft_records_parse_fn)(const ft_image_source *src, ft_records_visit_fn visit,
                                        void *ctx, ft_records_meta *meta, ft_diag *diag);

/* Reads one line-record file: runs parse, turns the records into segments as described above and
 * stages them, the entry point and the header in sink. Returns FT_OK, parse's error,
 * FT_ERR_OVERLAP (origin: the later line) or FT_ERR_NO_MEM, with diag filled. */
ft_error ft_records_read(const ft_image_source *src, ft_records_parse_fn parse, ft_image_sink *sink,
                         ft_diag *diag);

/* Passes the n bytes at addr from line to visit, or returns FT_ERR_FORMAT when they run past
 * 4 GiB. Returns visit's result otherwise. */
ft_error ft_records_visit_data(ft_records_visit_fn visit, void *ctx, uint64_t addr,
                               const uint8_t *bytes, size_t n, uint32_t line, const char *name,
                               ft_diag *diag);

#endif
