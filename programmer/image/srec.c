/* Motorola S-record reader (Motorola M68000 Family Programmer's Reference Manual, appendix C;
 * srec(5)).
 *
 * A record is 'S' type(1) count(2) address(4, 6 or 8) data checksum(2) in hex digits of either
 * case. count is the number of bytes after it (address, data, checksum); the checksum is the ones'
 * complement of the low byte of the sum of count, address and data. Types: S0 header (16-bit
 * address, data kept as the file's header text), S1/S2/S3 data with a 16/24/32-bit address, S4
 * reserved (refused), S5/S6 the number of S1/S2/S3 records so far in a 16/24-bit address field
 * (checked), S7/S8/S9 termination with a 32/24/16-bit start address (the entry point).
 *
 * The file must end with a termination record; only blank lines may follow it. A header record
 * after the first is ignored.
 */
#include "programmer/image/reader.h"
#include "programmer/image/records.h"

enum {
	SREC_MIN_CHARS = 4, /* 'S' type count */
};

/* Address bytes per record type; 0 for the reserved S4. */
static const uint8_t address_bytes[10] = {2, 2, 3, 4, 0, 2, 3, 4, 3, 2};

static ft_image_probe srec_probe(const uint8_t *bytes, size_t len)
{
	size_t i = ft_text_skip_space(bytes, len);
	return i + 1 < len && bytes[i] == 'S' && bytes[i + 1] >= '0' && bytes[i + 1] <= '9'
	           ? FT_IMAGE_PROBE_TEXT
	           : FT_IMAGE_PROBE_NO;
}

static ft_error srec_parse(const ft_image_source *src, ft_records_visit_fn visit, void *ctx,
                           ft_records_meta *meta, ft_diag *diag)
{
	const char *name = src->name;
	ft_text_cursor cur;
	ft_text_cursor_init(&cur, src->bytes, src->len);
	const uint8_t *text;
	size_t n;
	uint32_t end_line = 0, data_records = 0;
	uint8_t rec[1 + 255];
	while (ft_text_next_line(&cur, &text, &n)) {
		uint32_t line = cur.line;
		if (end_line)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "record after the termination record of line %u",
			                          (unsigned)end_line);
		if (n < SREC_MIN_CHARS || text[0] != 'S' || text[1] < '0' || text[1] > '9')
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "not an S-record: a record starts with 'S', a "
			                          "type digit and a byte count");
		unsigned type = (unsigned)(text[1] - '0');
		if (address_bytes[type] == 0)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "S4 is a reserved record type");
		ft_error err = ft_text_hex_field(diag, name, line, text, 2, 1, rec);
		if (err != FT_OK)
			return err;
		size_t count = rec[0];
		err = ft_text_check_count(diag, name, line, count, SREC_MIN_CHARS, n);
		if (err != FT_OK)
			return err;
		size_t alen = address_bytes[type];
		if (count < alen + 1)
			return ft_text_line_error(
			    diag, FT_ERR_FORMAT, name, line,
			    "byte count 0x%02zx is too small for an S%u record "
			    "(%zu address bytes and a checksum)",
			    count, type, alen);
		err = ft_text_hex_field(diag, name, line, text, 4, count, rec + 1);
		if (err != FT_OK)
			return err;
		uint8_t sum = 0;
		for (size_t i = 0; i < count; i++) /* count byte, address, data */
			sum = (uint8_t)(sum + rec[i]);
		uint8_t expected = (uint8_t)~sum;
		if (rec[count] != expected)
			return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
			                          "checksum 0x%02x, expected 0x%02x", rec[count],
			                          expected);
		uint32_t addr = 0;
		for (size_t i = 0; i < alen; i++)
			addr = addr << 8 | rec[1 + i];
		const uint8_t *data = rec + 1 + alen;
		size_t dlen = count - alen - 1;
		if (type >= 5 && dlen)
			return ft_text_line_error(
			    diag, FT_ERR_FORMAT, name, line,
			    "an S%u record carries no data, this one %zu bytes", type, dlen);
		switch (type) {
		case 0:
			if (!meta->header_len) {
				meta->header_len = dlen;
				for (size_t i = 0; i < dlen; i++)
					meta->header[i] = data[i];
			}
			break;
		case 1:
		case 2:
		case 3:
			data_records++;
			err = ft_records_visit_data(visit, ctx, addr, data, dlen, line, name, diag);
			break;
		case 5:
		case 6:
			if (addr != data_records)
				return ft_text_line_error(
				    diag, FT_ERR_FORMAT, name, line,
				    "S%u counts %u data records, the file has "
				    "%u before it",
				    type, (unsigned)addr, (unsigned)data_records);
			break;
		default: /* 7, 8, 9 */
			meta->has_entry = true;
			meta->entry = addr;
			end_line = line;
			break;
		}
		if (err != FT_OK)
			return err;
	}
	return ft_text_check_closed(diag, name, cur.line, end_line,
	                            "termination record (S7, S8 or S9)");
}

static ft_error srec_read(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	return ft_records_read(src, srec_parse, sink, diag);
}

static const char *const srec_extensions[] = {".srec", ".s19", ".s28", ".s37", ".mot", ".sx", NULL};

const ft_image_reader ft_image_reader_srec = {
    .format = FT_IMAGE_SREC,
    .extensions = srec_extensions,
    .probe = srec_probe,
    .read = srec_read,
};
