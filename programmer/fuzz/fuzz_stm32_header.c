/* libFuzzer target: hostile bytes at the STM32N6 boot address. The header check reads only the
 * bytes it is given; what it accepts has a payload inside them whose byte sum is the checksum. */
#include "programmer/image/stm32_header.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_stm32_header h;
	ft_diag diag;
	if (ft_stm32_header_check(data, size, &h, &diag) != FT_OK)
		return 0;
	assert(h.length > 0 && h.length <= size - FT_STM32_HEADER_SIZE);
	uint32_t sum = 0;
	for (uint32_t i = 0; i < h.length; i++)
		sum += data[FT_STM32_HEADER_SIZE + i];
	assert(sum == h.checksum && (h.entry & 1u));
	return 0;
}
