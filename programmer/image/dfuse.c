/* DfuSe (.dfu) reader. The layout is in dfuse_write.h (UM0391; suffix and CRC as dfu-util).
 *
 * Everything is checked against the file length before it is used: the suffix (signature,
 * bLength 16, CRC, bcdDFU 0x011A), then DFUImageSize = file length - 16, bTargets, each target's
 * prefix, dwTargetSize and dwNbElements, each element's size. Targets must have distinct
 * alternate settings (one target per alternate setting), elements must fill their target exactly
 * and targets the image. Diagnostics name the byte offset of the offending field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/dfuse_write.h"
#include "programmer/image/reader.h"

enum {
	DFUSE_PREFIX = 11,
	DFUSE_TARGET = 274,
	DFUSE_ELEMENT = 8,
	DFUSE_SUFFIX = 16,
	DFUSE_NAME = 255,
	DFUSE_BCD_DFU = 0x011a,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static ft_error fail_at(ft_diag *diag, const char *name, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ft_error fail_at(ft_diag *diag, const char *name, size_t offset, const char *fmt, ...)
{
	char origin[sizeof(((ft_diag *)0)->origin)];
	snprintf(origin, sizeof(origin), "%s offset 0x%zx", name, offset);
	va_list ap;
	va_start(ap, fmt);
	ft_error err = ft_image_failv(diag, FT_ERR_FORMAT, origin, fmt, ap);
	va_end(ap);
	return err;
}

static ft_image_probe dfuse_probe(const uint8_t *bytes, size_t len)
{
	return len >= 5 && memcmp(bytes, "DfuSe", 5) == 0 ? FT_IMAGE_PROBE_MAGIC
	                                                  : FT_IMAGE_PROBE_NO;
}

static ft_error check_suffix(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	const uint8_t *b = src->bytes;
	size_t len = src->len, s = len - DFUSE_SUFFIX;
	if (memcmp(b + s + 8, "UFD", 3) != 0)
		return fail_at(diag, src->name, s + 8,
		               "DFU suffix signature is not \"UFD\": no suffix, or the file is "
		               "truncated");
	if (b[s + 11] != DFUSE_SUFFIX)
		return fail_at(diag, src->name, s + 11, "DFU suffix bLength %u, expected 16",
		               b[s + 11]);
	uint32_t crc = ft_dfuse_file_crc32(b, len - 4);
	if (get32(b + s + 12) != crc)
		return fail_at(diag, src->name, s + 12,
		               "DFU suffix dwCRC 0x%08x, the file's CRC is 0x%08x",
		               (unsigned)get32(b + s + 12), (unsigned)crc);
	if (get16(b + s + 6) != DFUSE_BCD_DFU)
		return fail_at(diag, src->name, s + 6,
		               "DFU suffix bcdDFU 0x%04x; DfuSe files carry 0x011a",
		               get16(b + s + 6));
	ft_image_sink_dfu_ids(sink, get16(b + s + 4), get16(b + s + 2), get16(b + s));
	return FT_OK;
}

/* Reads the elements of one target; [pos, end) is the target's element area. */
static ft_error read_elements(const ft_image_source *src, ft_image_sink *sink, size_t pos,
                              size_t end, uint32_t elements, unsigned target, uint8_t alt,
                              const char *target_name, ft_diag *diag)
{
	const uint8_t *b = src->bytes;
	for (uint32_t e = 0; e < elements; e++) {
		if (end - pos < DFUSE_ELEMENT)
			return fail_at(diag, src->name, pos,
			               "target %u element %u: its header runs past dwTargetSize",
			               target, (unsigned)e);
		uint32_t addr = get32(b + pos), size = get32(b + pos + 4);
		if (size > end - pos - DFUSE_ELEMENT)
			return fail_at(diag, src->name, pos + 4,
			               "target %u element %u: dwElementSize 0x%x runs past "
			               "dwTargetSize (0x%zx bytes left)",
			               target, (unsigned)e, (unsigned)size,
			               end - pos - DFUSE_ELEMENT);
		if ((uint64_t)addr + size > (1ull << 32))
			return fail_at(diag, src->name, pos,
			               "target %u element %u: dwElementAddress 0x%08x + 0x%x runs "
			               "past 4 GiB",
			               target, (unsigned)e, (unsigned)addr, (unsigned)size);
		uint8_t *data = NULL;
		if (size) {
			data = malloc(size);
			if (!data)
				return ft_diag_set(diag, FT_ERR_NO_MEM, src->name, "out of memory");
			memcpy(data, b + pos + DFUSE_ELEMENT, size);
		}
		ft_segment proto = {
		    .addr = addr,
		    .size = size,
		    .mem_size = size,
		    .run_addr = addr,
		    .index = (int)e,
		    .dfu_alt = alt,
		    .first_line = 0,
		    .dfu_target = (int)target,
		    .dfu_target_name = target_name,
		};
		ft_error err = ft_image_sink_segment(sink, &proto, data, diag);
		if (err == FT_OK && size == 0)
			err = ft_image_sink_note(sink, diag,
			                         "%s target %u element %u: no bytes at 0x%08x; "
			                         "nothing to program",
			                         src->name, target, (unsigned)e, (unsigned)addr);
		if (err != FT_OK)
			return err;
		pos += DFUSE_ELEMENT + size;
	}
	if (pos != end)
		return fail_at(diag, src->name, pos,
		               "target %u: 0x%zx bytes of dwTargetSize after its last element",
		               target, end - pos);
	return FT_OK;
}

static ft_error dfuse_read(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	const uint8_t *b = src->bytes;
	size_t len = src->len;
	if (len < DFUSE_PREFIX + DFUSE_SUFFIX)
		return fail_at(diag, src->name, 0,
		               "%zu bytes; a DfuSe prefix and DFU suffix need at least 27", len);
	if (memcmp(b, "DfuSe", 5) != 0)
		return fail_at(diag, src->name, 0, "prefix signature is not \"DfuSe\"");
	if (b[5] != 0x01)
		return fail_at(diag, src->name, 5, "bVersion 0x%02x, expected 0x01", b[5]);
	ft_error err = check_suffix(src, sink, diag);
	if (err != FT_OK)
		return err;
	size_t image_end = len - DFUSE_SUFFIX;
	if (get32(b + 6) != image_end)
		return fail_at(diag, src->name, 6,
		               "DFUImageSize 0x%x, but prefix and targets take 0x%zx bytes",
		               (unsigned)get32(b + 6), image_end);
	unsigned targets = b[10];
	if (targets == 0)
		return fail_at(diag, src->name, 10, "bTargets 0: the file has no target");
	if ((size_t)targets * DFUSE_TARGET > image_end - DFUSE_PREFIX)
		return fail_at(diag, src->name, 10,
		               "bTargets %u needs at least 0x%zx bytes, the file has 0x%zx",
		               targets, (size_t)targets * DFUSE_TARGET, image_end - DFUSE_PREFIX);
	bool alt_seen[256] = {false};
	unsigned alt_target[256];
	size_t pos = DFUSE_PREFIX;
	for (unsigned t = 0; t < targets; t++) {
		if (image_end - pos < DFUSE_TARGET)
			return fail_at(diag, src->name, pos,
			               "target %u: its 274-byte prefix runs past the image", t);
		if (memcmp(b + pos, "Target", 6) != 0)
			return fail_at(diag, src->name, pos,
			               "target %u: signature is not \"Target\"", t);
		uint8_t alt = b[pos + 6];
		if (alt_seen[alt])
			return fail_at(diag, src->name, pos + 6,
			               "target %u: bAlternateSetting %u is already target %u's", t,
			               alt, alt_target[alt]);
		alt_seen[alt] = true;
		alt_target[alt] = t;
		char name[DFUSE_NAME + 1];
		const char *target_name = NULL;
		if (get32(b + pos + 7) != 0) {
			size_t n = 0;
			for (; n < DFUSE_NAME && b[pos + 11 + n]; n++) {
				uint8_t c = b[pos + 11 + n];
				name[n] = c >= 0x20 && c < 0x7f ? (char)c : '.';
			}
			name[n] = '\0';
			target_name = name;
		}
		uint32_t size = get32(b + pos + 266), elements = get32(b + pos + 270);
		size_t area = pos + DFUSE_TARGET;
		if (size > image_end - area)
			return fail_at(diag, src->name, pos + 266,
			               "target %u: dwTargetSize 0x%x runs past the image (0x%zx "
			               "bytes left)",
			               t, (unsigned)size, image_end - area);
		if (elements > size / DFUSE_ELEMENT)
			return fail_at(diag, src->name, pos + 270,
			               "target %u: dwNbElements %u needs at least 0x%llx bytes, "
			               "dwTargetSize is 0x%x",
			               t, (unsigned)elements,
			               (unsigned long long)elements * DFUSE_ELEMENT,
			               (unsigned)size);
		err = read_elements(src, sink, area, area + size, elements, t, alt, target_name,
		                    diag);
		if (err != FT_OK)
			return err;
		pos = area + size;
	}
	if (pos != image_end)
		return fail_at(diag, src->name, pos, "0x%zx bytes after the last target",
		               image_end - pos);
	return FT_OK;
}

static const char *const dfuse_extensions[] = {".dfu", NULL};

const ft_image_reader ft_image_reader_dfuse = {
    .format = FT_IMAGE_DFUSE,
    .extensions = dfuse_extensions,
    .probe = dfuse_probe,
    .read = dfuse_read,
};
