/* What every image fuzz target does with its input: read it as one format through
 * ft_image_add_buffer, run the overlap check, and touch every byte of every segment, section and
 * note so that the sanitizers see any pointer a reader got wrong. */
#ifndef FT_FUZZ_IMAGE_H
#define FT_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/image.h"
#include "programmer/image/image_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sums everything reachable from the image; the result only keeps the reads alive. */
static inline unsigned fuzz_image_touch(const ft_image *image)
{
	unsigned sum = 0;
	for (size_t i = 0; i < ft_image_segment_count(image); i++) {
		const ft_segment *s = ft_image_segment_at(image, i);
		for (uint32_t k = 0; k < s->size; k++)
			sum += s->data[k];
		for (size_t k = 0; k < s->section_count; k++)
			sum += (unsigned)strlen(s->sections[k].name) + s->sections[k].size;
		if (s->dfu_target_name)
			sum += (unsigned)strlen(s->dfu_target_name);
		char origin[192];
		ft_segment_origin(s, origin, sizeof(origin));
		sum += (unsigned)strlen(origin);
	}
	for (size_t i = 0; i < ft_image_note_count(image); i++)
		sum += (unsigned)strlen(ft_image_note_at(image, i));
	for (size_t i = 0; i < ft_image_file_count(image); i++) {
		const ft_image_file *f = ft_image_file_at(image, i);
		sum += f->header ? (unsigned)strlen(f->header) : 0;
	}
	return sum;
}

/* Reads data as format into a new image and finishes it; returns the image (NULL when out of
 * memory or when the input is refused). */
static inline ft_image *fuzz_image_read(ft_image_format format, const char *name,
                                        const uint8_t *data, size_t size)
{
	ft_image *image = ft_image_new();
	ft_diag diag;
	if (!image)
		return NULL;
	if (ft_image_add_buffer(image, name, format, data, size, false, 0, &diag) != FT_OK ||
	    ft_image_finish(image, &diag) != FT_OK) {
		ft_image_free(image);
		return NULL;
	}
	volatile unsigned sink = fuzz_image_touch(image);
	(void)sink;
	return image;
}

/* Bytes of b that lie in [addr, addr + size) and equal a's there; a holds size bytes at addr. */
static inline uint64_t fuzz_image_matching(const ft_image *b, uint32_t addr, const uint8_t *a,
                                           uint32_t size)
{
	uint64_t same = 0, end = (uint64_t)addr + size;
	for (size_t k = 0; k < ft_image_segment_count(b); k++) {
		const ft_segment *y = ft_image_segment_at(b, k);
		uint64_t lo = y->addr > addr ? y->addr : addr;
		uint64_t hi = (uint64_t)y->addr + y->size < end ? (uint64_t)y->addr + y->size : end;
		if (lo < hi && memcmp(y->data + (lo - y->addr), a + (lo - addr), hi - lo) == 0)
			same += hi - lo;
	}
	return same;
}

/* The writer's round trip: image's segments written as format (ihex, srec) and read back place
 * the same bytes at the same addresses, with the same entry point; otherwise the target traps. */
static inline void fuzz_image_round_trip(const ft_image *image, ft_image_format format)
{
	size_t count = ft_image_segment_count(image);
	ft_segment *segs = malloc((count + 1) * sizeof(*segs));
	if (!segs)
		return;
	size_t n = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++)
		if (ft_image_segment_at(image, i)->size) {
			segs[n++] = *ft_image_segment_at(image, i);
			total += segs[n - 1].size;
		}
	ft_image_write_options o = {.format = format};
	o.has_entry = ft_image_entry(image, &o.entry);
	uint8_t *out = NULL;
	size_t len = 0;
	ft_diag diag;
	ft_error err = n ? ft_image_encode(segs, n, &o, &out, &len, &diag) : FT_ERR_NO_MEM;
	if (err != FT_OK && err != FT_ERR_NO_MEM)
		__builtin_trap();
	ft_image *back = err == FT_OK ? fuzz_image_read(format, "again", out, len) : NULL;
	if (err == FT_OK && !back)
		__builtin_trap();
	uint64_t total_back = 0, same = 0;
	for (size_t k = 0; back && k < ft_image_segment_count(back); k++)
		total_back += ft_image_segment_at(back, k)->size;
	for (size_t i = 0; back && i < n; i++)
		same += fuzz_image_matching(back, segs[i].addr, segs[i].data, segs[i].size);
	uint32_t entry = 0;
	if (back && (total_back != total || same != total ||
	             ft_image_entry(back, &entry) != o.has_entry || entry != o.entry))
		__builtin_trap();
	ft_image_free(back);
	free(out);
	free(segs);
}

#endif
