/* Line cursor, hex decoding and the record assembler shared by the Intel HEX and SREC readers. */
#include "programmer/image/records.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ft_text_cursor_init(ft_text_cursor *cursor, const uint8_t *bytes, size_t len)
{
	cursor->next = bytes;
	cursor->end = bytes + len;
	cursor->line = 0;
}

bool ft_text_next_line(ft_text_cursor *cursor, const uint8_t **text, size_t *len)
{
	while (cursor->next < cursor->end) {
		const uint8_t *start = cursor->next;
		const uint8_t *nl = memchr(start, '\n', (size_t)(cursor->end - start));
		const uint8_t *stop = nl ? nl : cursor->end;
		/* A CR ends the line too: CRLF, or a lone CR as old Mac tools write. */
		const uint8_t *cr = memchr(start, '\r', (size_t)(stop - start));
		if (cr) {
			stop = cr;
			cursor->next = cr + 1 < cursor->end && cr[1] == '\n' ? cr + 2 : cr + 1;
		} else {
			cursor->next = nl ? nl + 1 : cursor->end;
		}
		cursor->line++;
		while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if (stop > start) {
			*text = start;
			*len = (size_t)(stop - start);
			return true;
		}
	}
	return false;
}

/* Hex digit values plus one; 0 for every other byte. */
static const uint8_t hex_value[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

bool ft_text_hex_decode(const uint8_t *hex, size_t count, uint8_t *out, size_t *bad)
{
	/* Decode without branching on each digit; look for the culprit only on failure. */
	unsigned invalid = 0;
	for (size_t i = 0; i < count; i++) {
		unsigned hi = hex_value[hex[2 * i]], lo = hex_value[hex[2 * i + 1]];
		invalid |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	if (!invalid)
		return true;
	for (*bad = 0; hex_value[hex[*bad]]; (*bad)++)
		;
	return false;
}

const char *ft_text_char(char buf[FT_TEXT_CHAR_LEN], uint8_t c)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, FT_TEXT_CHAR_LEN, "'%c'", c);
	else
		snprintf(buf, FT_TEXT_CHAR_LEN, "byte 0x%02x", c);
	return buf;
}

ft_error ft_text_line_error(ft_diag *diag, ft_error code, const char *name, uint32_t line,
                            const char *fmt, ...)
{
	char origin[sizeof(((ft_diag *)0)->origin)];
	snprintf(origin, sizeof(origin), "%s line %u", name, (unsigned)line);
	va_list ap;
	va_start(ap, fmt);
	ft_error err = ft_image_failv(diag, code, origin, fmt, ap);
	va_end(ap);
	return err;
}

size_t ft_text_skip_space(const uint8_t *bytes, size_t len)
{
	size_t i = 0;
	while (i < len &&
	       (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n'))
		i++;
	return i;
}

ft_error ft_text_hex_field(ft_diag *diag, const char *name, uint32_t line, const uint8_t *text,
                           size_t col, size_t count, uint8_t *out)
{
	size_t bad;
	if (ft_text_hex_decode(text + col, count, out, &bad))
		return FT_OK;
	char cbuf[FT_TEXT_CHAR_LEN];
	return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
	                          "%s at column %zu is not a hex digit",
	                          ft_text_char(cbuf, text[col + bad]), col + bad + 1);
}

ft_error ft_text_check_count(ft_diag *diag, const char *name, uint32_t line, size_t count,
                             size_t min_chars, size_t n)
{
	if (n == min_chars + 2 * count)
		return FT_OK;
	return ft_text_line_error(
	    diag, FT_ERR_FORMAT, name, line,
	    "byte count 0x%02zx needs a record of %zu characters, this one has "
	    "%zu",
	    count, min_chars + 2 * count, n);
}

ft_error ft_text_check_closed(ft_diag *diag, const char *name, uint32_t last_line,
                              uint32_t end_line, const char *record)
{
	if (end_line)
		return FT_OK;
	return ft_text_line_error(diag, FT_ERR_FORMAT, name, last_line,
	                          "no %s: the file is truncated", record);
}

/* ---- the assembler ----------------------------------------------------------------------- */

/* Contiguous bytes from consecutive records. */
typedef struct run {
	uint32_t addr;
	uint32_t first_line, last_line;
	uint64_t len, cap;
	uint8_t *data;
} run;

typedef struct record_set {
	run *runs;
	size_t count, cap;
	/* The first record that goes below the end of the one before it. */
	uint32_t disorder_line;
	uint32_t disorder_addr;
	uint64_t disorder_after;
} record_set;

static void records_free(record_set *records)
{
	for (size_t i = 0; i < records->count; i++)
		free(records->runs[i].data);
	free(records->runs);
}

static bool run_reserve(run *r, uint64_t need)
{
	if (need <= r->cap)
		return true;
	uint64_t cap = r->cap ? r->cap * 2 : 256;
	while (cap < need)
		cap *= 2;
	if (cap > SIZE_MAX)
		return false;
	uint8_t *p = realloc(r->data, (size_t)cap);
	if (!p)
		return false;
	r->data = p;
	r->cap = cap;
	return true;
}

static ft_error records_add(void *ctx, uint32_t addr, const uint8_t *bytes, size_t n, uint32_t line)
{
	record_set *records = ctx;
	if (n == 0)
		return FT_OK;
	run *last = records->count ? &records->runs[records->count - 1] : NULL;
	uint64_t last_end = last ? last->addr + last->len : 0;
	if (!last || last_end != addr) {
		if (last && addr < last_end && !records->disorder_line) {
			records->disorder_line = line;
			records->disorder_addr = addr;
			records->disorder_after = last_end;
		}
		if (records->count == records->cap) {
			size_t cap = records->cap ? records->cap * 2 : 16;
			run *p = realloc(records->runs, cap * sizeof(run));
			if (!p)
				return FT_ERR_NO_MEM;
			records->runs = p;
			records->cap = cap;
		}
		last = &records->runs[records->count++];
		*last = (run){.addr = addr, .first_line = line};
	}
	if (!run_reserve(last, last->len + n))
		return FT_ERR_NO_MEM;
	memcpy(last->data + last->len, bytes, n);
	last->len += n;
	last->last_line = line;
	return FT_OK;
}

static int cmp_runs(const void *a, const void *b)
{
	const run *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->first_line > y->first_line) - (x->first_line < y->first_line);
}

static void lines_text(char *buf, size_t len, uint32_t first, uint32_t last)
{
	if (first == last)
		snprintf(buf, len, "line %u", (unsigned)first);
	else
		snprintf(buf, len, "lines %u-%u", (unsigned)first, (unsigned)last);
}

/* Rescan state: the first record covering addr and the first later one disagreeing with it. */
typedef struct locate {
	uint32_t addr;
	int found;
	uint32_t line[2];
	uint8_t byte[2];
	uint64_t start[2], end[2];
} locate;

static ft_error locate_visit(void *ctx, uint32_t addr, const uint8_t *bytes, size_t n,
                             uint32_t line)
{
	locate *l = ctx;
	if (l->addr < addr || l->addr - addr >= n)
		return FT_OK;
	uint8_t b = bytes[l->addr - addr];
	if (l->found == 1 && b == l->byte[0])
		return FT_OK;
	l->line[l->found] = line;
	l->byte[l->found] = b;
	l->start[l->found] = addr;
	l->end[l->found] = (uint64_t)addr + n;
	return ++l->found == 2 ? FT_ERR_OVERLAP : FT_OK;
}

static ft_error conflict(const ft_image_source *src, ft_records_parse_fn parse, uint32_t addr,
                         ft_diag *diag)
{
	locate l = {.addr = addr};
	ft_records_meta scratch = {0};
	parse(src, locate_visit, &l, &scratch, NULL);
	assert(l.found == 2);
	uint64_t lo = l.start[0] > l.start[1] ? l.start[0] : l.start[1];
	uint64_t hi = l.end[0] < l.end[1] ? l.end[0] : l.end[1];
	return ft_text_line_error(diag, FT_ERR_OVERLAP, src->name, l.line[1],
	                          "writes 0x%02x at 0x%08x where line %u wrote 0x%02x (the records "
	                          "overlap at 0x%08x-0x%08x)",
	                          l.byte[1], (unsigned)addr, (unsigned)l.line[0], l.byte[0],
	                          (unsigned)lo, (unsigned)(hi - 1));
}

/* Joins runs[*i] with every later run that touches or overlaps it; on success *out owns the
 * joined bytes and *i points past the runs consumed. */
static ft_error join_runs(record_set *records, size_t *i, const ft_image_source *src,
                          ft_records_parse_fn parse, ft_image_sink *sink, run *out, ft_diag *diag)
{
	run cur = records->runs[*i];
	records->runs[*i].data = NULL;
	uint64_t end = cur.addr + cur.len;
	size_t j = *i + 1;
	ft_error err = FT_OK;
	for (; err == FT_OK && j < records->count && records->runs[j].addr <= end; j++) {
		run *r = &records->runs[j];
		uint64_t rend = r->addr + r->len;
		if (r->addr < end) {
			uint64_t ov_end = rend < end ? rend : end;
			const uint8_t *have = cur.data + (r->addr - cur.addr);
			size_t n = (size_t)(ov_end - r->addr);
			if (memcmp(have, r->data, n) != 0) {
				size_t d = 0;
				while (have[d] == r->data[d])
					d++;
				err = conflict(src, parse, r->addr + (uint32_t)d, diag);
				break;
			}
			char a[48], b[48];
			lines_text(a, sizeof(a), cur.first_line, cur.last_line);
			lines_text(b, sizeof(b), r->first_line, r->last_line);
			err = ft_image_sink_note(sink, diag,
			                         "%s %s and %s write identical bytes at "
			                         "0x%08x-0x%08x; merged",
			                         src->name, a, b, (unsigned)r->addr,
			                         (unsigned)(ov_end - 1));
		}
		if (err == FT_OK && rend > end) {
			if (!run_reserve(&cur, rend - cur.addr)) {
				err = ft_diag_set(diag, FT_ERR_NO_MEM, src->name, "out of memory");
				break;
			}
			memcpy(cur.data + (end - cur.addr), r->data + (end - r->addr),
			       (size_t)(rend - end));
			cur.len = rend - cur.addr;
			end = rend;
		}
		if (r->first_line < cur.first_line)
			cur.first_line = r->first_line;
		if (r->last_line > cur.last_line)
			cur.last_line = r->last_line;
	}
	*i = j;
	if (err != FT_OK) {
		free(cur.data);
		return err;
	}
	*out = cur;
	return FT_OK;
}

static ft_error emit(record_set *records, const ft_image_source *src, ft_records_parse_fn parse,
                     ft_image_sink *sink, ft_diag *diag)
{
	if (records->disorder_line) {
		ft_error err = ft_image_sink_note(
		    sink, diag,
		    "%s line %u: the record at 0x%08x comes after one ending at 0x%08llx; "
		    "records are not in address order and were sorted",
		    src->name, (unsigned)records->disorder_line, (unsigned)records->disorder_addr,
		    (unsigned long long)(records->disorder_after - 1));
		if (err != FT_OK)
			return err;
	}
	if (records->count == 0)
		return ft_image_sink_note(sink, diag, "%s has no data records: nothing to program",
		                          src->name);
	qsort(records->runs, records->count, sizeof(run), cmp_runs);
	for (size_t i = 0; i < records->count;) {
		run cur;
		ft_error err = join_runs(records, &i, src, parse, sink, &cur, diag);
		if (err != FT_OK)
			return err;
		if (cur.len > UINT32_MAX) {
			free(cur.data);
			return ft_text_line_error(diag, FT_ERR_FORMAT, src->name, cur.first_line,
			                          "the records from here cover 4 GiB");
		}
		/* Give back what doubling reserved; failing to shrink is harmless. */
		uint8_t *data = realloc(cur.data, (size_t)cur.len);
		if (!data)
			data = cur.data;
		ft_segment proto = {
		    .addr = cur.addr,
		    .size = (uint32_t)cur.len,
		    .mem_size = (uint32_t)cur.len,
		    .run_addr = cur.addr,
		    .index = -1,
		    .first_line = cur.first_line,
		    .last_line = cur.last_line,
		    .dfu_target = -1,
		};
		err = ft_image_sink_segment(sink, &proto, data, diag);
		if (err != FT_OK)
			return err;
	}
	return FT_OK;
}

ft_error ft_records_read(const ft_image_source *src, ft_records_parse_fn parse, ft_image_sink *sink,
                         ft_diag *diag)
{
	record_set recs = {0};
	ft_records_meta meta = {0};
	ft_error err = parse(src, records_add, &recs, &meta, diag);
	if (err == FT_ERR_NO_MEM)
		ft_diag_set(diag, err, src->name, "out of memory");
	if (err == FT_OK)
		err = emit(&recs, src, parse, sink, diag);
	if (err == FT_OK && meta.has_entry)
		ft_image_sink_entry(sink, meta.entry);
	if (err == FT_OK && meta.header_len)
		err = ft_image_sink_header(sink, meta.header, meta.header_len, diag);
	records_free(&recs);
	return err;
}

ft_error ft_records_visit_data(ft_records_visit_fn visit, void *ctx, uint64_t addr,
                               const uint8_t *bytes, size_t n, uint32_t line, const char *name,
                               ft_diag *diag)
{
	if (addr + n > (1ull << 32))
		return ft_text_line_error(diag, FT_ERR_FORMAT, name, line,
		                          "%zu bytes at 0x%08llx run past 4 GiB", n,
		                          (unsigned long long)addr);
	return visit(ctx, (uint32_t)addr, bytes, n, line);
}
