/* --loader FILE.stldr and the board file's `loader = NAME`: reading an external-flash loader,
 * checking it against the part and the plan before anything is connected or touched, and running
 * it on the connected target (programmer/swd/loader_run) for flash, read and erase. */
#include "programmer/cli/cli.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#define MAX_FINDINGS 16

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

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* dir/NAME, with ".stldr" added when NAME lacks it. */
static void candidate(char *buf, size_t len, const char *dir, size_t dir_len, const char *name)
{
	size_t n = strlen(name);
	bool suffixed = n > 6 && strcmp(name + n - 6, ".stldr") == 0;
	snprintf(buf, len, "%.*s%s%s%s", (int)dir_len, dir, dir_len ? "/" : "", name,
	         suffixed ? "" : ".stldr");
}

ft_stldr *ft_cli_board_loader(const char *command, const char *board, bool required, int *status)
{
	*status = FT_EXIT_OK;
	char board_path[PATH_MAX], path[PATH_MAX + 64];
	ft_board b;
	if (!board || !ft_cli_find_board(board, board_path, sizeof(board_path), &b) || !b.loader[0])
		return NULL;
	const char *slash = strrchr(board_path, '/');
	candidate(path, sizeof(path), board_path, slash ? (size_t)(slash - board_path) : 0,
	          b.loader);
	if (!readable(path)) {
		/* build/flashtwin -> build/loaders, build/fixtures/loaders */
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		char *end = strrchr(exe, '/');
		static const char *const dirs[] = {"loaders", "fixtures/loaders"};
		for (size_t i = 0; end && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			char dir[PATH_MAX + 32];
			snprintf(dir, sizeof(dir), "%.*s/%s", (int)(end - exe), exe, dirs[i]);
			candidate(path, sizeof(path), dir, strlen(dir), b.loader);
			if (readable(path))
				break;
		}
	}
	if (!readable(path) && !required)
		return NULL;
	if (!readable(path)) {
		ft_cli_error("%s: board %s names loader '%s', found neither next to %s nor in the "
		             "loaders/ of this build; pass --loader FILE.stldr",
		             command, board, b.loader, board_path);
		*status = FT_EXIT_USAGE;
		return NULL;
	}
	ft_stldr *loader = ft_cli_loader_load(command, path);
	if (!loader)
		*status = FT_EXIT_USAGE;
	return loader;
}

ft_stldr *ft_cli_loader_for(const ft_cli_device_args *dev, const char *path, uint32_t addr,
                            int *status)
{
	*status = FT_EXIT_OK;
	if (path) {
		ft_stldr *loader = ft_cli_loader_load(dev->command, path);
		*status = loader ? FT_EXIT_OK : FT_EXIT_USAGE;
		return loader;
	}
	const ft_region *r = dev->given ? ft_part_region_at(dev->given, addr) : NULL;
	if (!r || r->kind != FT_REGION_EXT_WINDOW)
		return NULL;
	ft_stldr *loader = ft_cli_board_loader(dev->command, dev->board, true, status);
	if (loader)
		ft_cli_warning("%s: using loader %s named by board %s", dev->command,
		               ft_stldr_name(loader), dev->board);
	return loader;
}

bool ft_cli_plan_uses_loader(const ft_plan *plan)
{
	for (size_t i = 0; i < ft_plan_write_count(plan); i++)
		if (ft_plan_write_at(plan, i)->external)
			return true;
	return false;
}

bool ft_cli_plan_needs_loader(const ft_plan *plan)
{
	for (size_t i = 0; i < ft_plan_segment_count(plan); i++)
		if (ft_plan_segment_at(plan, i)->rule == FT_RULE_EXT_NEEDS_LOADER)
			return true;
	return false;
}

void ft_cli_loader_text(const ft_stldr *loader, char *buf, size_t len)
{
	const ft_stldr_storage *info = ft_stldr_storage_info(loader);
	uint32_t start, end;
	ft_stldr_footprint(loader, &start, &end);
	char size[24];
	ft_plan_format_size(info->size, size, sizeof(size));
	snprintf(buf, len, "%s (%s %s at 0x%08X, code at 0x%08X-0x%08X)", ft_stldr_name(loader),
	         ft_stldr_device_type_name(info->type), size, info->start, start, end - 1);
}

/* The plan's writes to RAM (lost at reset): the ranges a loader must leave alone. A new array
 * (one entry at least, so never NULL when memory is there) with the count in *n, or NULL. */
static ft_range *plan_ram(const ft_plan *plan, size_t *n)
{
	*n = 0;
	ft_range *ranges = calloc(plan ? ft_plan_write_count(plan) + 1 : 1, sizeof(*ranges));
	for (size_t i = 0; ranges && plan && i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (!w->persistent)
			ranges[(*n)++] = (ft_range){w->start, w->size};
	}
	return ranges;
}

int ft_cli_loader_check(const char *command, const ft_stldr *loader, const ft_part *part,
                        const ft_plan *plan)
{
	const char *name = ft_stldr_name(loader);
	ft_ldrun_layout layout;
	ft_diag diag;
	ft_diag_clear(&diag);
	bool placed = ft_ldrun_layout_for(loader, part, &layout, &diag) == FT_OK;
	ft_stldr_context ctx = {
	    .part = part, .work_areas = layout.work, .work_area_count = placed ? 2 : 0};
	ft_stldr_finding findings[MAX_FINDINGS];
	size_t count = ft_stldr_validate(loader, &ctx, findings, MAX_FINDINGS);
	size_t fatal = !placed;
	if (!placed)
		ft_cli_diag(NULL, &diag);
	size_t ram_count;
	ft_range *ram = placed ? plan_ram(plan, &ram_count) : NULL;
	if (placed &&
	    (!ram || ft_ldrun_check_reserved(loader, &layout, ram, ram_count, &diag) != FT_OK)) {
		if (!ram)
			ft_diag_set(&diag, FT_ERR_NO_MEM, name, "out of memory");
		fatal++;
		ft_cli_diag(NULL, &diag);
	}
	free(ram);
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
	if (plan && !ft_cli_plan_uses_loader(plan) && !ft_cli_plan_needs_loader(plan))
		ft_cli_warning("%s: the image has nothing in the device of loader %s: it is not "
		               "needed",
		               command, name);
	return FT_EXIT_OK;
}

int ft_cli_loader_start(ft_cli_swd *s, const ft_stldr *loader, const ft_plan *plan, ft_ldrun **out)
{
	*out = NULL;
	if (!plan) {
		int status =
		    ft_cli_loader_check(s->command, loader, ft_swd_get_info(s->swd)->part, NULL);
		if (status != FT_EXIT_OK)
			return status;
	}
	size_t n;
	ft_range *reserved = plan_ram(plan, &n);
	if (!reserved) {
		ft_cli_error("%s: out of memory", s->command);
		return FT_EXIT_USAGE;
	}
	ft_ldrun_options opts = {.reserved = reserved,
	                         .reserved_count = n,
	                         .progress = s->options.progress,
	                         .warning = s->options.warning,
	                         .user = s->options.user};
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_ldrun_new(s->swd, loader, &opts, out, &diag);
	free(reserved);
	if (err == FT_OK) {
		s->run = *out;
		err = ft_ldrun_init(*out, &diag);
	}
	if (err == FT_OK)
		return FT_EXIT_OK;
	int status = ft_cli_swd_failed(s, err, &diag);
	ft_cli_loader_stop(s, *out);
	*out = NULL;
	return status;
}

void ft_cli_loader_stop(ft_cli_swd *s, ft_ldrun *run)
{
	if (s->run == run)
		s->run = NULL;
	ft_ldrun_free(run);
}
