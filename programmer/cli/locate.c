/* Placing an address in the image and the part for messages: which segment, section and region
 * a failing or mismatching byte belongs to. */
#include "programmer/cli/cli.h"

#include <string.h>

static bool holds(uint32_t start, uint32_t size, uint32_t addr)
{
	return size && addr >= start && addr - start < size;
}

static const char *section_at(const ft_segment *seg, uint32_t addr)
{
	for (size_t i = 0; i < seg->section_count; i++) {
		const ft_section *s = &seg->sections[i];
		if (!s->nobits && holds(s->addr, s->size, addr))
			return s->name;
	}
	return NULL;
}

/* The last segment that ends inside the write holding addr, before addr: what padding follows. */
static const ft_plan_segment *padded_segment(const ft_plan *plan, uint32_t addr)
{
	const ft_plan_write *w = NULL;
	for (size_t i = 0; i < ft_plan_write_count(plan) && !w; i++)
		if (holds(ft_plan_write_at(plan, i)->start, ft_plan_write_at(plan, i)->size, addr))
			w = ft_plan_write_at(plan, i);
	if (!w)
		return NULL;
	const ft_plan_segment *best = NULL;
	uint64_t best_end = 0;
	for (size_t i = 0; i < ft_plan_segment_count(plan); i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		uint64_t end = (uint64_t)ps->segment->addr + ps->segment->size;
		if (ps->segment->size && end > w->start && end <= addr && end > best_end) {
			best = ps;
			best_end = end;
		}
	}
	return best;
}

void ft_cli_locate(const ft_plan *plan, const ft_part *part, uint32_t addr, char *buf, size_t len)
{
	const ft_part *p = plan ? ft_plan_part(plan) : part;
	const ft_region *region = p ? ft_part_region_at(p, addr) : NULL;
	const char *where = region ? region->name : "no region of the part";
	for (size_t i = 0; plan && i < ft_plan_segment_count(plan); i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		const ft_segment *seg = ps->segment;
		if (!holds(seg->addr, seg->size, addr))
			continue;
		char origin[200];
		ft_segment_origin(seg, origin, sizeof(origin));
		const char *section = section_at(seg, addr);
		snprintf(buf, len, "segment %zu (%s)%s%s, %s", ps->index, origin,
		         section ? ", " : "", section ? section : "", where);
		return;
	}
	const ft_plan_segment *before = plan ? padded_segment(plan, addr) : NULL;
	if (before)
		snprintf(buf, len, "flash-word padding after segment %zu, %s", before->index,
		         where);
	else
		snprintf(buf, len, "%s", where);
}
