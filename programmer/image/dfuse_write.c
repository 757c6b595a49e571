/* DfuSe file writer; the layout is in dfuse_write.h. */
#include "programmer/image/dfuse_write.h"

#include "programmer/image/image_write.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
	DFUSE_PREFIX = 11,
	DFUSE_TARGET = 274,
	DFUSE_ELEMENT = 8,
	DFUSE_SUFFIX = 16,
	DFUSE_NAME = 255,
	DFUSE_MAX_TARGETS = 255, /* bTargets is one byte */
	DFUSE_BCD_DFU = 0x011a,  /* UM0391: DfuSe files carry bcdDFU 1.1a */
};

uint32_t ft_dfuse_file_crc32(const uint8_t *bytes, size_t len)
{
	/* CRC-32 of each nibble value for the reflected polynomial 0xEDB88320. */
	static const uint32_t nibble[16] = {
	    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t crc = 0xffffffff;
	for (size_t i = 0; i < len; i++) {
		crc ^= bytes[i];
		crc = (crc >> 4) ^ nibble[crc & 0xf];
		crc = (crc >> 4) ^ nibble[crc & 0xf];
	}
	return crc;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)v);
	return put16(p, (uint16_t)(v >> 16));
}

/* Per alternate setting: what goes into its target. */
typedef struct target_plan {
	bool used;
	uint64_t size; /* dwTargetSize */
	uint32_t elements;
	const char *name;
} target_plan;

static ft_error plan_targets(const ft_segment *segments, size_t count,
                             const ft_dfuse_file_options *options, target_plan plan[256],
                             size_t *targets, uint64_t *total, ft_diag *diag)
{
	*targets = 0;
	*total = DFUSE_PREFIX + DFUSE_SUFFIX;
	for (size_t i = 0; i < count; i++) {
		const ft_segment *s = &segments[i];
		if (s->size == 0)
			continue;
		if (!s->data)
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "segment %zu has %u bytes and no data", i,
			                   (unsigned)s->size);
		if ((uint64_t)s->addr + s->size > (1ull << 32))
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "segment %zu: 0x%08x + 0x%x runs past 4 GiB", i,
			                   (unsigned)s->addr, (unsigned)s->size);
		target_plan *t = &plan[s->dfu_alt];
		if (!t->used) {
			t->used = true;
			t->name = s->dfu_target_name ? s->dfu_target_name
			          : options          ? options->target_name
			                             : NULL;
			if (t->name && strlen(t->name) > DFUSE_NAME)
				return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
				                   "target name of %zu characters; at most %d fit",
				                   strlen(t->name), DFUSE_NAME);
			(*targets)++;
			*total += DFUSE_TARGET;
		}
		t->size += DFUSE_ELEMENT + (uint64_t)s->size;
		t->elements++;
		*total += DFUSE_ELEMENT + (uint64_t)s->size;
	}
	if (*targets == 0)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no segment carries data");
	if (*targets > DFUSE_MAX_TARGETS)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "%zu alternate settings; a DfuSe file holds at most %d targets",
		                   *targets, DFUSE_MAX_TARGETS);
	if (*total - DFUSE_SUFFIX > UINT32_MAX)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "0x%llx bytes of targets do not fit DFUImageSize (32 bits)",
		                   (unsigned long long)(*total - DFUSE_SUFFIX));
	return FT_OK;
}

ft_error ft_dfuse_file_encode(const ft_segment *segments, size_t count,
                              const ft_dfuse_file_options *options, uint8_t **out, size_t *out_len,
                              ft_diag *diag)
{
	if (!out || !out_len || (!segments && count))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no segments or no output");
	*out = NULL;
	*out_len = 0;
	target_plan plan[256] = {{0}};
	size_t targets;
	uint64_t total;
	ft_error err = plan_targets(segments, count, options, plan, &targets, &total, diag);
	if (err != FT_OK)
		return err;
	if (total > SIZE_MAX)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "file too large for memory");
	uint8_t *buf = malloc((size_t)total);
	if (!buf)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");

	uint8_t *p = buf;
	memcpy(p, "DfuSe", 5);
	p[5] = 0x01; /* bVersion */
	put32(p + 6, (uint32_t)(total - DFUSE_SUFFIX));
	p[10] = (uint8_t)targets;
	p += DFUSE_PREFIX;
	for (unsigned alt = 0; alt < 256; alt++) {
		const target_plan *t = &plan[alt];
		if (!t->used)
			continue;
		memset(p, 0, DFUSE_TARGET);
		memcpy(p, "Target", 6);
		p[6] = (uint8_t)alt;
		put32(p + 7, t->name ? 1 : 0);
		if (t->name)
			memcpy(p + 11, t->name, strlen(t->name));
		put32(p + 266, (uint32_t)t->size);
		put32(p + 270, t->elements);
		p += DFUSE_TARGET;
		for (size_t i = 0; i < count; i++) {
			const ft_segment *s = &segments[i];
			if (s->size == 0 || s->dfu_alt != alt)
				continue;
			p = put32(p, s->addr);
			p = put32(p, s->size);
			memcpy(p, s->data, s->size);
			p += s->size;
		}
	}
	uint16_t vendor = options ? options->vendor : 0xffff;
	uint16_t product = options ? options->product : 0xffff;
	uint16_t device = options ? options->device : 0xffff;
	p = put16(p, device);
	p = put16(p, product);
	p = put16(p, vendor);
	p = put16(p, DFUSE_BCD_DFU);
	memcpy(p, "UFD", 3);
	p[3] = DFUSE_SUFFIX;
	p += 4;
	put32(p, ft_dfuse_file_crc32(buf, (size_t)total - 4));
	*out = buf;
	*out_len = (size_t)total;
	return FT_OK;
}

ft_error ft_dfuse_file_write(const ft_segment *segments, size_t count,
                             const ft_dfuse_file_options *options, const char *path, ft_diag *diag)
{
	ft_image_write_options o = {.format = FT_IMAGE_DFUSE, .dfuse = options};
	return ft_image_write(segments, count, &o, path, diag);
}
