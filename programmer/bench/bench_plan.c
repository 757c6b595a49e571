/* Cost of planning: a 2 MiB image on STM32H743xI as one segment, and as HEX-style runs of many
 * small discontiguous segments (the worst case for overlap checks and flash-word merging). */
#include "programmer/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMAGE (2u * 1024 * 1024)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Plans count segments of IMAGE / count bytes each, every one leaving a 16-byte gap so that
 * neighbours share flash words; prints plans per second and MB/s of image planned. */
static int bench(const ft_part *part, size_t count, const uint8_t *bytes)
{
	ft_segment *segs = calloc(count, sizeof(*segs));
	const ft_segment **list = calloc(count, sizeof(*list));
	if (!segs || !list)
		return 1;
	uint32_t step = IMAGE / (uint32_t)count;
	uint32_t size = count > 1 ? step - 16 : step;
	for (size_t i = 0; i < count; i++) {
		uint32_t addr = 0x08000000u + (uint32_t)i * step;
		segs[i] = (ft_segment){.addr = addr,
		                       .size = size,
		                       .mem_size = size,
		                       .run_addr = addr,
		                       .data = bytes + (addr - 0x08000000u),
		                       .file = "bench.hex",
		                       .format = FT_IMAGE_IHEX,
		                       .index = -1};
		list[i] = &segs[i];
	}
	ft_plan_options options = {.transport = FT_ROUTE_SWD};
	int rounds = 0;
	double start = now_s(), elapsed = 0;
	size_t writes = 0;
	while (elapsed < 1.0) {
		ft_plan *plan = NULL;
		if (ft_plan_build(part, list, count, &options, &plan, NULL) != FT_OK) {
			fprintf(stderr, "bench_plan: plan refused\n");
			return 1;
		}
		writes = ft_plan_write_count(plan);
		ft_plan_free(plan);
		rounds++;
		elapsed = now_s() - start;
	}
	printf("plan %5zu segments of %7u B (%zu writes): %8.1f plans/s, %7.1f MB/s\n", count, size,
	       writes, rounds / elapsed, rounds * (double)IMAGE / elapsed / 1e6);
	free(segs);
	free(list);
	return 0;
}

int main(void)
{
	const ft_part *part = ft_part_find("STM32H743ZI");
	uint8_t *bytes = malloc(IMAGE);
	if (!part || !bytes)
		return 1;
	memset(bytes, 0xA5, IMAGE);
	static const size_t counts[] = {1, 64, 1024, 4096};
	int status = 0;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		status |= bench(part, counts[i], bytes);
	free(bytes);
	return status;
}
