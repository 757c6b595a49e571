/* libFuzzer target: the DfuSe reader, through ft_image_add_buffer and ft_image_finish, and the
 * writer: whatever the reader accepts must survive ft_dfuse_file_encode and a second read unchanged
 * (targets come back in ascending alternate setting, empty elements are left out). Each input is
 * read as it is and again with its suffix CRC made right, so that mutations reach the parser
 * behind the CRC check. */
#include <stdlib.h>

#include "programmer/fuzz/fuzz_image.h"
#include "programmer/image/dfuse_write.h"

/* The segments of image with data, stably sorted by alternate setting: the writer's order. */
static size_t by_alt(const ft_image *image, ft_segment *out)
{
	size_t n = 0;
	for (unsigned alt = 0; alt < 256; alt++) {
		for (size_t i = 0; i < ft_image_segment_count(image); i++) {
			const ft_segment *s = ft_image_segment_at(image, i);
			if (s->dfu_alt == alt && s->size)
				out[n++] = *s;
		}
	}
	return n;
}

static bool same_name(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void round_trip(const uint8_t *data, size_t size)
{
	ft_image *first = fuzz_image_read(FT_IMAGE_DFUSE, "fuzz.dfu", data, size);
	if (!first)
		return;
	size_t count = ft_image_segment_count(first);
	ft_segment *segs = malloc((count + 1) * sizeof(ft_segment));
	ft_segment *back = malloc((count + 1) * sizeof(ft_segment));
	size_t n = segs && back ? by_alt(first, segs) : 0;
	uint8_t *file = NULL;
	size_t len = 0;
	ft_diag diag;
	if (n && ft_dfuse_file_encode(segs, n, NULL, &file, &len, &diag) != FT_OK)
		__builtin_trap();
	ft_image *second = n ? fuzz_image_read(FT_IMAGE_DFUSE, "again.dfu", file, len) : NULL;
	if (n && !second)
		__builtin_trap();
	if (second && by_alt(second, back) != n)
		__builtin_trap();
	for (size_t i = 0; second && i < n; i++) {
		if (back[i].addr != segs[i].addr || back[i].size != segs[i].size ||
		    back[i].dfu_alt != segs[i].dfu_alt ||
		    memcmp(back[i].data, segs[i].data, segs[i].size) != 0 ||
		    !same_name(back[i].dfu_target_name, segs[i].dfu_target_name))
			__builtin_trap();
	}
	ft_image_free(second);
	free(file);
	free(segs);
	free(back);
	ft_image_free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trip(data, size);
	uint8_t *sealed = size >= 16 ? malloc(size) : NULL;
	if (sealed) {
		memcpy(sealed, data, size);
		uint32_t crc = ft_dfuse_file_crc32(sealed, size - 4);
		for (int i = 0; i < 4; i++)
			sealed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
		round_trip(sealed, size);
		free(sealed);
	}
	return 0;
}
