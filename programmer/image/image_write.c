/* Raw binary, Intel HEX and Motorola SREC writers; the formats are described in image_write.h. */
#include "programmer/image/image_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	RECORD_DATA = 16,  /* data bytes per HEX/SREC record, as objcopy writes them */
	SREC_HEADER = 250, /* S0 text: the byte count field holds 2 + text + 1 <= 255 */
	IHEX_DATA = 0x00,  /* record types */
	IHEX_EOF = 0x01,
	IHEX_LINEAR = 0x04, /* extended linear address: bits 31..16 */
	IHEX_START = 0x05,  /* start linear address */
};

/* Segments with data, sorted by address. */
typedef struct sorted {
	const ft_segment **list;
	size_t count;
} sorted;

static int by_address(const void *a, const void *b)
{
	const ft_segment *x = *(const ft_segment *const *)a, *y = *(const ft_segment *const *)b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static ft_error sort_segments(const ft_segment *segments, size_t count, sorted *out, ft_diag *diag)
{
	out->count = 0;
	out->list = calloc(count ? count : 1, sizeof(*out->list));
	if (!out->list)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const ft_segment *s = &segments[i];
		if (s->size == 0)
			continue;
		if (!s->data)
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "segment %zu has %u bytes and no data", i, s->size);
		if ((uint64_t)s->addr + s->size > (1ull << 32))
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "segment %zu: 0x%08X + 0x%X runs past 4 GiB", i, s->addr,
			                   s->size);
		out->list[out->count++] = s;
	}
	if (out->count == 0)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no segment carries data");
	qsort(out->list, out->count, sizeof(*out->list), by_address);
	for (size_t i = 1; i < out->count; i++) {
		const ft_segment *a = out->list[i - 1], *b = out->list[i];
		if ((uint64_t)a->addr + a->size > b->addr)
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "segments at 0x%08X and 0x%08X overlap", a->addr,
			                   b->addr);
	}
	return FT_OK;
}

/* ---- raw binary ------------------------------------------------------------------------- */

static ft_error encode_bin(const sorted *s, uint8_t **out, size_t *out_len, ft_diag *diag)
{
	uint32_t base = s->list[0]->addr;
	const ft_segment *last = s->list[s->count - 1];
	uint64_t span = (uint64_t)last->addr + last->size - base;
	if (span > FT_IMAGE_BIN_MAX_SPAN)
		return ft_diag_set(
		    diag, FT_ERR_RANGE, NULL,
		    "a raw binary from 0x%08X to 0x%08llX would be %llu MiB of mostly "
		    "0xFF (at most %u MiB); convert only the flash part, or use ihex, "
		    "srec or dfuse, which keep the gaps out",
		    base, (unsigned long long)(base + span - 1), (unsigned long long)(span >> 20),
		    FT_IMAGE_BIN_MAX_SPAN >> 20);
	uint8_t *buf = malloc((size_t)span);
	if (!buf)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	memset(buf, 0xFF, (size_t)span);
	for (size_t i = 0; i < s->count; i++)
		memcpy(buf + (s->list[i]->addr - base), s->list[i]->data, s->list[i]->size);
	*out = buf;
	*out_len = (size_t)span;
	return FT_OK;
}

/* ---- line records (Intel HEX, Motorola SREC) --------------------------------------------- */

typedef enum checksum {
	SUM_TWOS_COMPLEMENT, /* Intel: the bytes and the checksum add up to 0 */
	SUM_ONES_COMPLEMENT, /* Motorola: the bytes and the checksum add up to 0xFF */
} checksum;

typedef struct text {
	uint8_t *buf;
	size_t len, cap;
	bool failed; /* out of memory: every later append is dropped */
} text;

static void append(text *t, const char *bytes, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n)
			cap *= 2;
		uint8_t *grown = realloc(t->buf, cap);
		if (!grown) {
			t->failed = true;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, bytes, n);
	t->len += n;
}

/* One line: lead, then fields[0..n) and the checksum over them as hex pairs, then LF. */
static void record(text *t, const char *lead, const uint8_t *fields, size_t n, checksum kind)
{
	static const char digits[] = "0123456789ABCDEF";
	char line[2 + 2 * (5 + 255) + 3];
	size_t at = strlen(lead);
	memcpy(line, lead, at);
	uint8_t sum = 0;
	for (size_t i = 0; i <= n; i++) {
		uint8_t b = i < n                         ? fields[i]
		            : kind == SUM_TWOS_COMPLEMENT ? (uint8_t)-sum
		                                          : (uint8_t)~sum;
		sum = (uint8_t)(sum + b);
		line[at++] = digits[b >> 4];
		line[at++] = digits[b & 0xF];
	}
	line[at++] = '\n';
	append(t, line, at);
}

static void put_be(uint8_t *p, uint32_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Receives one data chunk of at most RECORD_DATA bytes. */
typedef void (*chunk_fn)(text *t, uint32_t addr, const uint8_t *data, size_t n, void *state);

/* Walks the segments in RECORD_DATA-byte chunks; with split_64k a chunk never crosses a 64 KiB
 * boundary (an Intel HEX record's address is 16 bits). */
static void chunks(const sorted *s, bool split_64k, text *t, chunk_fn fn, void *state)
{
	for (size_t i = 0; i < s->count; i++) {
		const ft_segment *seg = s->list[i];
		for (uint32_t off = 0; off < seg->size;) {
			uint32_t addr = seg->addr + off;
			uint32_t n = seg->size - off < RECORD_DATA ? seg->size - off : RECORD_DATA;
			uint32_t to_boundary = 0x10000u - (addr & 0xFFFFu);
			if (split_64k && n > to_boundary)
				n = to_boundary;
			fn(t, addr, seg->data + off, n, state);
			off += n;
		}
	}
}

typedef struct ihex_state {
	bool have_upper;
	uint16_t upper;
} ihex_state;

static void ihex_chunk(text *t, uint32_t addr, const uint8_t *data, size_t n, void *state)
{
	ihex_state *st = state;
	uint8_t f[4 + RECORD_DATA];
	if (!st->have_upper || st->upper != addr >> 16) {
		st->have_upper = true;
		st->upper = (uint16_t)(addr >> 16);
		uint8_t ela[6] = {2, 0, 0, IHEX_LINEAR};
		put_be(ela + 4, st->upper, 2);
		record(t, ":", ela, sizeof(ela), SUM_TWOS_COMPLEMENT);
	}
	f[0] = (uint8_t)n;
	put_be(f + 1, addr & 0xFFFFu, 2);
	f[3] = IHEX_DATA;
	memcpy(f + 4, data, n);
	record(t, ":", f, 4 + n, SUM_TWOS_COMPLEMENT);
}

static void encode_ihex(const sorted *s, const ft_image_write_options *o, text *t)
{
	ihex_state st = {false, 0};
	chunks(s, true, t, ihex_chunk, &st);
	if (o->has_entry) {
		uint8_t start[8] = {4, 0, 0, IHEX_START};
		put_be(start + 4, o->entry, 4);
		record(t, ":", start, sizeof(start), SUM_TWOS_COMPLEMENT);
	}
	static const uint8_t eof[4] = {0, 0, 0, IHEX_EOF};
	record(t, ":", eof, sizeof(eof), SUM_TWOS_COMPLEMENT);
}

static void srec_chunk(text *t, uint32_t addr, const uint8_t *data, size_t n, void *state)
{
	(void)state;
	uint8_t f[5 + RECORD_DATA];
	f[0] = (uint8_t)(4 + n + 1); /* address, data, checksum */
	put_be(f + 1, addr, 4);
	memcpy(f + 5, data, n);
	record(t, "S3", f, 5 + n, SUM_ONES_COMPLEMENT);
}

static void encode_srec(const sorted *s, const ft_image_write_options *o, text *t)
{
	if (o->header) {
		uint8_t f[3 + SREC_HEADER];
		size_t n = strlen(o->header);
		f[0] = (uint8_t)(2 + n + 1);
		f[1] = f[2] = 0;
		memcpy(f + 3, o->header, n);
		record(t, "S0", f, 3 + n, SUM_ONES_COMPLEMENT);
	}
	chunks(s, false, t, srec_chunk, NULL);
	uint8_t end[5] = {5};
	put_be(end + 1, o->has_entry ? o->entry : 0, 4);
	record(t, "S7", end, sizeof(end), SUM_ONES_COMPLEMENT);
}

/* ---- entry points ----------------------------------------------------------------------- */

ft_error ft_image_encode(const ft_segment *segments, size_t count,
                         const ft_image_write_options *options, uint8_t **out, size_t *out_len,
                         ft_diag *diag)
{
	if (!options || !out || !out_len || (!segments && count))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "no segments, options or output");
	*out = NULL;
	*out_len = 0;
	if (options->format == FT_IMAGE_DFUSE)
		return ft_dfuse_file_encode(segments, count, options->dfuse, out, out_len, diag);
	if (options->format != FT_IMAGE_BIN && options->format != FT_IMAGE_IHEX &&
	    options->format != FT_IMAGE_SREC)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "cannot write %s files",
		                   ft_image_format_name(options->format));
	if (options->format == FT_IMAGE_SREC && options->header &&
	    strlen(options->header) > SREC_HEADER)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "S0 header of %zu characters; at most %d fit",
		                   strlen(options->header), SREC_HEADER);
	sorted s;
	ft_error err = sort_segments(segments, count, &s, diag);
	if (err == FT_OK && options->format == FT_IMAGE_BIN) {
		err = encode_bin(&s, out, out_len, diag);
	} else if (err == FT_OK) {
		text t = {NULL, 0, 0, false};
		if (options->format == FT_IMAGE_IHEX)
			encode_ihex(&s, options, &t);
		else
			encode_srec(&s, options, &t);
		if (t.failed) {
			free(t.buf);
			err = ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
		} else {
			*out = t.buf;
			*out_len = t.len;
		}
	}
	free(s.list);
	return err;
}

ft_error ft_image_save(const char *path, const uint8_t *bytes, size_t len, ft_diag *diag)
{
	if (!path)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no path");
	FILE *f = fopen(path, "wb");
	if (!f)
		return ft_diag_set(diag, FT_ERR_IO, path, "cannot create: %s", strerror(errno));
	bool ok = fwrite(bytes, 1, len, f) == len;
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	return ok ? FT_OK : ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(saved));
}

ft_error ft_image_write(const ft_segment *segments, size_t count,
                        const ft_image_write_options *options, const char *path, ft_diag *diag)
{
	if (!path)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no path");
	uint8_t *bytes = NULL;
	size_t len = 0;
	ft_error err = ft_image_encode(segments, count, options, &bytes, &len, diag);
	if (err == FT_OK)
		err = ft_image_save(path, bytes, len, diag);
	free(bytes);
	return err;
}
