/* --loader FILE.stldr: reading an external-flash loader and checking it against the part and
 * the plan before anything is connected or touched. Running a loader on the target core is not
 * implemented yet: a plan that needs one is refused, saying so, rather than pretending. */
#include "programmer/cli/cli.h"

#include <string.h>

#define MAX_FINDINGS 16

/* Bytes CubeProgrammer keeps for itself below a RAM algorithm: the BKPT word at the base of the
 * RAM region the loader is linked into, which the loader returns to (devices.md §6.4; a loader
 * is linked at that base + 4). The runner's stack and buffers are placed when it lands. */
#define BREAKPOINT_WORD 4u

ft_stldr *ft_cli_loader_load(const char *command, const char *path)
{
	ft_stldr *loader = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_stldr_load_file(path, &loader, &diag) != FT_OK) {
		ft_cli_diag(path, &diag);
		ft_cli_error("%s: --loader %s cannot be used (nothing was touched)", command, path);
		return NULL;
	}
	return loader;
}

/* The programmer's work area: the breakpoint word of each RAM region holding a loaded segment. */
static size_t work_areas(const ft_stldr *loader, const ft_part *part, ft_range *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < ft_stldr_segment_count(loader) && n < cap; i++) {
		const ft_stldr_segment *s = ft_stldr_segment_at(loader, i);
		const ft_region *r = s->storage_only ? NULL : ft_part_region_at(part, s->addr);
		if (!r || !ft_region_kind_is_volatile(r->kind))
			continue;
		bool known = false;
		for (size_t k = 0; k < n; k++)
			known = known || out[k].start == r->start;
		if (!known)
			out[n++] = (ft_range){r->start, BREAKPOINT_WORD};
	}
	return n;
}

/* Segments the plan refuses for want of a loader run. */
static size_t external_segments(const ft_plan *plan, size_t *first)
{
	size_t n = 0;
	for (size_t i = 0; i < ft_plan_segment_count(plan); i++)
		if (ft_plan_segment_at(plan, i)->rule == FT_RULE_EXT_NEEDS_LOADER && n++ == 0)
			*first = i;
	return n;
}

int ft_cli_loader_check(const char *command, const ft_stldr *loader, const ft_plan *plan)
{
	const char *name = ft_stldr_name(loader);
	ft_range areas[FT_STLDR_MAX_SEGMENTS];
	ft_stldr_context ctx = {.part = ft_plan_part(plan), .work_areas = areas};
	ctx.work_area_count = work_areas(loader, ctx.part, areas, FT_STLDR_MAX_SEGMENTS);
	ft_stldr_finding findings[MAX_FINDINGS];
	size_t count = ft_stldr_validate(loader, &ctx, findings, MAX_FINDINGS);
	size_t fatal = 0;
	for (size_t i = 0; i < count && i < MAX_FINDINGS; i++) {
		const ft_stldr_finding *f = &findings[i];
		fatal += f->fatal;
		fprintf(stderr, "flashtwin: %s%s: %s: %s%s%s\n", f->fatal ? "" : "warning: ", name,
		        ft_stldr_check_name(f->check), f->message, f->fix[0] ? "; fix: " : "",
		        f->fix);
	}
	if (fatal) {
		ft_cli_error("%s: refusing loader %s: %zu finding%s forbid running it (nothing was "
		             "touched)",
		             command, name, fatal, fatal == 1 ? "" : "s");
		return FT_EXIT_REFUSED;
	}
	size_t first = 0, external = external_segments(plan, &first);
	if (external == 0) {
		ft_cli_warning(
		    "%s: the image has nothing in external memory: loader %s is not needed",
		    command, name);
		return FT_EXIT_OK;
	}
	const ft_plan_segment *ps = ft_plan_segment_at(plan, first);
	ft_cli_error("%s: running external loaders is not implemented yet: %zu segment%s (the "
	             "first at 0x%08X, %s) would need %s run on the target; nothing was touched",
	             command, external, external == 1 ? "" : "s", ps->segment->addr,
	             ps->region ? ps->region->name : "external memory", name);
	return FT_EXIT_REFUSED;
}
