/* libFuzzer target: hostile .stldr files. The parser must bound-check every header, segment and
 * symbol, and the contract checks must hold on whatever it accepts. */
#include "programmer/swd/stldr.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_stldr *l;
	ft_diag diag;
	if (ft_stldr_load_buffer("fuzz.stldr", data, size, &l, &diag) != FT_OK)
		return 0;
	const ft_stldr_storage *st = ft_stldr_storage_info(l);
	assert(strlen(st->name) <= 100 && st->group_count <= FT_STLDR_MAX_SECTOR_GROUPS);
	for (size_t i = 0; i < ft_stldr_segment_count(l); i++) {
		const ft_stldr_segment *s = ft_stldr_segment_at(l, i);
		assert(s->size <= s->mem_size);
		if (s->size)
			assert(s->data[s->size - 1] == s->data[s->size - 1]);
	}
	uint32_t lo, hi;
	ft_stldr_footprint(l, &lo, &hi);
	const ft_range work = {0x24000000, 0x100};
	ft_stldr_context ctx = {ft_part_find("STM32H743ZI"), &work, 1};
	ft_stldr_finding findings[4];
	(void)ft_stldr_validate(l, &ctx, findings, 4);
	ft_stldr_free(l);
	return 0;
}
