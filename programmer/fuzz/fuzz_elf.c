/* libFuzzer target: the ELF reader, through ft_image_add_buffer and ft_image_finish. */
#include "programmer/fuzz/fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_image_free(fuzz_image_read(FT_IMAGE_ELF, "fuzz.elf", data, size));
	return 0;
}
