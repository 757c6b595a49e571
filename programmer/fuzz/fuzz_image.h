/* What every image fuzz target does with its input: read it as one format through
 * ft_image_add_buffer, run the overlap check, and touch every byte of every segment, section and
 * note so that the sanitizers see any pointer a reader got wrong. */
#ifndef FT_FUZZ_IMAGE_H
#define FT_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "programmer/image/image.h"

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

#endif
