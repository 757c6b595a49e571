/* libFuzzer target: DfuSe layout strings as a USB device may report them. */
#include "programmer/dfuse/layout.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_dfuse_layout layout;
	ft_diag diag;
	if (ft_dfuse_layout_parse((const char *)data, size, &layout, &diag) == FT_OK) {
		assert(layout.group_count > 0 && layout.group_count <= FT_DFUSE_MAX_GROUPS);
		for (size_t i = 0; i < layout.group_count; i++) {
			const ft_dfuse_group *g = &layout.groups[i];
			assert(ft_dfuse_layout_find(&layout, g->start) != NULL);
		}
	}
	return 0;
}
