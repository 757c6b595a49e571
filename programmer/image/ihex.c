/* Intel HEX reader (Intel, "Hexadecimal Object File Format Specification", rev. A, 1988).
 *
 * A record is ':' count(2) offset(4) type(2) data(2*count) checksum(2), in hex digits of either
 * case; the bytes from count to checksum sum to 0 modulo 256. Types: 00 data, 01 end of file
 * (count 0), 02 extended segment address (count 2: SBA, address base SBA * 16), 03 start segment
 * address (count 4: CS, IP; entry CS * 16 + IP), 04 extended linear address (count 2: ULBA,
 * base ULBA << 16), 05 start linear address (count 4: EIP).
 *
 * Addresses past a 64 KiB offset, as the specification computes them:
 * - after an 04 record (and before any 02/04 record, base 0): address = base + offset + i, so a
 *   record may run on into the next 64 KiB; running past 4 GiB is an error;
 * - after an 02 record: address = base + ((offset + i) mod 64 KiB), so the bytes past offset
 *   0xFFFF wrap to the start of the segment.
 *
 * The file must end with an 01 record; only blank lines may follow it. A second start address
 * that differs from the first is an error.
 */
#include "programmer/image/reader.h"
#include "programmer/image/records.h"

enum {
	IHEX_DATA = 0x00,
	IHEX_EOF = 0x01,
	IHEX_SEGMENT_BASE = 0x02,
	IHEX_START_SEGMENT = 0x03,
	IHEX_LINEAR_BASE = 0x04,
	IHEX_START_LINEAR = 0x05,
	IHEX_MIN_CHARS = 11, /* ':' count offset type checksum */
};

static ft_image_probe ihex_probe(const uint8_t *bytes, size_t len)
{
	size_t i = ft_text_skip_space(bytes, len);
	return i < len && bytes[i] == ':' ? FT_IMAGE_PROBE_TEXT : FT_IMAGE_PROBE_NO;
}

static ft_error set_entry(ft_records_meta *meta, uint32_t entry, uint32_t *entry_line,
                          uint32_t line, const char *name, ft_diag *diag)
{
	if (meta->has_entry && meta->entry != entry)
		return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
		                          "start address 0x%08x differs from 0x%08x given at line "
		                          "%u",
		                          (unsigned)entry, (unsigned)meta->entry,
		                          (unsigned)*entry_line);
	if (!meta->has_entry)
		*entry_line = line;
	meta->has_entry = true;
	meta->entry = entry;
	return FT_OK;
}

static ft_error ihex_parse(const ft_image_source *src, ft_records_visit_fn visit, void *ctx,
                           ft_records_meta *meta, ft_diag *diag)
{
	const char *name = src->name;
	ft_text_cursor cur;
	ft_text_cursor_init(&cur, src->bytes, src->len);
	const uint8_t *text;
	size_t n;
	uint32_t base = 0, eof_line = 0, entry_line = 0;
	bool segment_mode = false;
	uint8_t rec[5 + 255];
	char cbuf[FT_TEXT_CHAR_LEN];
	while (ft_text_next_line(&cur, &text, &n)) {
		uint32_t line = cur.line;
		if (eof_line)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "record after the end-of-file record of line %u",
			                          (unsigned)eof_line);
		if (text[0] != ':')
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "a record starts with ':', this line with %s",
			                          ft_text_char(cbuf, text[0]));
		if (n < IHEX_MIN_CHARS)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "record of %zu characters; the shortest record "
			                          "(count, offset, type, checksum) has 11",
			                          n);
		ft_error err = ft_text_hex_field(diag, name, line, text, 1, 1, rec);
		if (err != FT_OK)
			return err;
		size_t count = rec[0];
		err = ft_text_check_count(diag, name, line, count, IHEX_MIN_CHARS, n);
		if (err == FT_OK)
			err = ft_text_hex_field(diag, name, line, text, 1, 5 + count, rec);
		if (err != FT_OK)
			return err;
		uint8_t sum = 0;
		for (size_t i = 0; i < 5 + count; i++)
			sum = (uint8_t)(sum + rec[i]);
		if (sum != 0)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "checksum 0x%02x, expected 0x%02x",
			                          rec[4 + count], (uint8_t)(rec[4 + count] - sum));
		uint32_t offset = (uint32_t)rec[1] << 8 | rec[2];
		uint8_t type = rec[3];
		const uint8_t *data = rec + 4;
		size_t want = type == IHEX_EOF                                          ? 0
		              : type == IHEX_SEGMENT_BASE || type == IHEX_LINEAR_BASE   ? 2
		              : type == IHEX_START_SEGMENT || type == IHEX_START_LINEAR ? 4
		                                                                        : count;
		if (type > IHEX_START_LINEAR)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "record type 0x%02x is not one of 00-05", type);
		if (count != want)
			return ft_text_line_error(
			    diag, FT_ERR_FORMAT, name, line,
			    "a type 0x%02x record carries %zu bytes, this one "
			    "%zu",
			    type, want, count);
		uint32_t word = 0; /* the big-endian value of an address or start record */
		for (size_t i = 0; type != IHEX_DATA && i < count; i++)
			word = word << 8 | data[i];
		switch (type) {
		case IHEX_DATA:
			if (segment_mode) {
				size_t first = count < 0x10000 - offset ? count : 0x10000 - offset;
				err = visit(ctx, base + offset, data, first, line);
				if (err == FT_OK && first < count)
					err = visit(ctx, base, data + first, count - first, line);
			} else {
				err = ft_records_visit_data(visit, ctx, (uint64_t)base + offset,
				                            data, count, line, name, diag);
			}
			break;
		case IHEX_EOF: eof_line = line; break;
		case IHEX_SEGMENT_BASE:
			base = word << 4;
			segment_mode = true;
			break;
		case IHEX_START_SEGMENT:
			err = set_entry(meta, (word >> 16 << 4) + (word & 0xffff), &entry_line,
			                line, name, diag);
			break;
		case IHEX_LINEAR_BASE:
			base = word << 16;
			segment_mode = false;
			break;
		case IHEX_START_LINEAR:
			err = set_entry(meta, word, &entry_line, line, name, diag);
			break;
		}
		if (err != FT_OK)
			return err;
	}
	return ft_text_check_closed(diag, name, cur.line, eof_line,
	                            "end-of-file record (:00000001FF)");
}

static ft_error ihex_read(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	return ft_records_read(src, ihex_parse, sink, diag);
}

static const char *const ihex_extensions[] = {".hex", ".ihex", ".ihx", NULL};

const ft_image_reader ft_image_reader_ihex = {
    .format = FT_IMAGE_IHEX,
    .extensions = ihex_extensions,
    .probe = ihex_probe,
    .read = ihex_read,
};
