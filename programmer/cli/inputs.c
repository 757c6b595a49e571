/* What the commands read: firmware files into one image, and the plan for a part. */
#include "programmer/cli/cli.h"

#include <stdlib.h>
#include <string.h>

int ft_cli_read_image(const char *command, const ft_cli_files *files, bool json, ft_image **out)
{
	*out = NULL;
	ft_image *image = ft_image_new();
	if (!image) {
		ft_cli_error("out of memory");
		return FT_EXIT_USAGE;
	}
	ft_diag diag;
	ft_diag_clear(&diag);
	const char *failed = NULL;
	for (size_t i = 0; i < files->count && !failed; i++) {
		ft_image_input input = {.path = files->paths[i],
		                        .format = FT_IMAGE_AUTO,
		                        .has_address = files->has_address,
		                        .address = files->address};
		if (ft_image_add_file(image, &input, &diag) != FT_OK)
			failed = files->paths[i];
	}
	if (!failed && ft_image_finish(image, &diag) != FT_OK)
		failed = files->count == 1 ? files->paths[0] : "";
	if (failed) {
		const char *file = failed[0] ? failed : NULL;
		if (json)
			ft_cli_render_error_json(stdout, command, file, &diag, FT_EXIT_USAGE);
		ft_cli_diag(file, &diag);
		ft_image_free(image);
		return FT_EXIT_USAGE;
	}
	*out = image;
	return FT_EXIT_OK;
}

bool ft_cli_parse_format(const char *command, const char *text, ft_image_format *out)
{
	static const ft_image_format writable[] = {FT_IMAGE_BIN, FT_IMAGE_IHEX, FT_IMAGE_SREC,
	                                           FT_IMAGE_DFUSE};
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		if (strcmp(text, ft_image_format_name(writable[i])) == 0) {
			*out = writable[i];
			return true;
		}
	ft_cli_error("%s: unknown format '%s' (dfuse, bin, ihex or srec)", command, text);
	return false;
}

ft_segment *ft_cli_segments(const ft_image *image, size_t *count)
{
	*count = ft_image_segment_count(image);
	ft_segment *segments = calloc(*count ? *count : 1, sizeof(*segments));
	if (!segments) {
		ft_cli_error("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < *count; i++)
		segments[i] = *ft_image_segment_at(image, i);
	return segments;
}

ft_plan *ft_cli_plan(const ft_part *part, const ft_image *image, ft_route route, bool skip_volatile,
                     const ft_stldr *loader, ft_error *err)
{
	size_t count = ft_image_segment_count(image);
	const ft_segment **segments = calloc(count ? count : 1, sizeof(*segments));
	if (!segments) {
		ft_cli_error("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		segments[i] = ft_image_segment_at(image, i);
	ft_plan_external external;
	ft_plan_options options = {.transport = route, .skip_volatile = skip_volatile};
	if (loader) {
		ft_ldrun_plan_external(loader, &external);
		options.external = &external;
	}
	ft_plan *plan = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	*err = ft_plan_build(part, segments, count, &options, &plan, &diag);
	free(segments);
	if (!plan)
		ft_cli_diag(NULL, &diag);
	return plan;
}
