/* The planner on arbitrary segment lists against every part of the table, over both transports:
 * it must classify every segment, and a plan must never erase or write for a refused image. */
#include "programmer/plan.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGMENTS 6
#define RECORD       9 /* address (4), size (2), format (1), fill (1), flags (1) */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bytes[MAX_SEGMENTS][65536];
	ft_segment segments[MAX_SEGMENTS];
	const ft_segment *list[MAX_SEGMENTS];
	size_t count = 0;
	if (size < 1)
		return 0;
	size_t part_index = data[0] % ft_part_count();
	for (size_t off = 1; off + RECORD <= size && count < MAX_SEGMENTS; off += RECORD) {
		const uint8_t *r = data + off;
		uint32_t len = (uint32_t)r[4] | (uint32_t)r[5] << 8;
		memset(bytes[count], r[7], len);
		segments[count] = (ft_segment){.addr = le32(r),
		                               .size = len,
		                               .mem_size = len,
		                               .run_addr = le32(r),
		                               .data = len ? bytes[count] : NULL,
		                               .file = "fuzz",
		                               .format = (ft_image_format)(r[6] % 6),
		                               .index = (int)count,
		                               .elf_flags = r[8] & 7u};
		list[count] = &segments[count];
		count++;
	}
	const ft_part *part = ft_part_at(part_index);
	for (int transport = 0; transport < 2; transport++) {
		for (int skip = 0; skip < 2; skip++) {
			ft_plan_options options = {.transport = (ft_route)transport,
			                           .skip_volatile = skip != 0};
			ft_plan *plan = NULL;
			ft_diag diag;
			ft_error err = ft_plan_build(part, list, count, &options, &plan, &diag);
			if (err != FT_OK && err != FT_ERR_REFUSED)
				__builtin_trap();
			if (ft_plan_segment_count(plan) != count)
				__builtin_trap();
			if (ft_plan_get_status(plan) != FT_PLAN_OK &&
			    (ft_plan_erase_count(plan) || ft_plan_write_count(plan)))
				__builtin_trap();
			ft_plan_free(plan);
		}
	}
	return 0;
}
