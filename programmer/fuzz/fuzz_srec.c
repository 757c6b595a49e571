/* libFuzzer target: the SREC reader, through ft_image_add_buffer and ft_image_finish, and
 * the writer: what the reader accepts, written back by ft_image_encode, reads back the same. */
#include "programmer/fuzz/fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_image *image = fuzz_image_read(FT_IMAGE_SREC, "fuzz.srec", data, size);
	if (image)
		fuzz_image_round_trip(image, FT_IMAGE_SREC);
	ft_image_free(image);
	return 0;
}
