/* flashtwin convert: the segments of firmware files written in another format. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/image_write.h"
#include "programmer/image/stm32_header.h"

static const char help[] =
    "usage: flashtwin convert FILE... --format dfuse|bin|ihex|srec -o OUT [--address ADDR]\n"
    "                         [--stm32-header]\n"
    "\n"
    "Reads the firmware files (ELF by physical address, Intel HEX, SREC, DfuSe, raw binary)\n"
    "into one image, as check and flash do, and writes its segments as:\n"
    "  dfuse   a DfuSe .dfu file (UM0391): one target per alternate setting, one element per\n"
    "          segment, a DFU suffix for any device (0xFFFF) with its CRC\n"
    "  bin     the bytes from the lowest address to the highest, gaps filled with 0xFF\n"
    "          (refused above 256 MiB: leave RAM and external memory out, or use another\n"
    "          format)\n"
    "  ihex    Intel HEX with extended linear addresses and the entry point\n"
    "  srec    Motorola S-records, S3 throughout, with the entry point\n"
    "Segments without file bytes (.bss, NOLOAD) carry nothing and are left out.\n"
    "\n"
    "  -o, --output OUT   the file to write\n"
    "  --format F         dfuse, bin, ihex or srec\n"
    "  --address ADDR     load address for raw binary inputs\n"
    "  --stm32-header     bin only: put an unsigned STM32 header v2.3 in front, the STM32N6\n"
    "                     FSBL form STM32_SigningTool_CLI -nk -t fsbl -hv 2.3 -align writes\n"
    "                     (boots on a device with no authentication; sign for the others)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 written, 2 bad input or usage\n";

enum { OPT_FORMAT = 256, OPT_ADDRESS, OPT_STM32_HEADER };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"stm32-header", no_argument, NULL, OPT_STM32_HEADER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The raw binary of the segments behind an unsigned STM32 header v2.3 (stm32_header.h). */
static ft_error write_headed(const ft_segment *segments, size_t count,
                             const ft_image_write_options *o, const char *output, ft_diag *diag)
{
	uint8_t *bin = NULL, *file = NULL;
	size_t len = 0;
	ft_error err = ft_image_encode(segments, count, o, &bin, &len, diag);
	if (err == FT_OK && !(file = malloc(FT_STM32_HEADER_SIZE + len)))
		err = ft_diag_set(diag, FT_ERR_NO_MEM, output, "out of memory");
	if (err == FT_OK)
		err = ft_stm32_header_build_fsbl(bin, len, file, diag);
	if (err == FT_OK) {
		memcpy(file + FT_STM32_HEADER_SIZE, bin, len);
		err = ft_image_save(output, file, FT_STM32_HEADER_SIZE + len, diag);
	}
	free(bin);
	free(file);
	return err;
}

static int write_image(const ft_image *image, ft_image_format format, bool header,
                       const char *output)
{
	size_t count;
	ft_segment *segments = ft_cli_segments(image, &count);
	if (!segments)
		return FT_EXIT_USAGE;
	char name[PATH_MAX];
	snprintf(name, sizeof(name), "%s", output);
	ft_image_write_options o = {.format = format, .header = basename(name)};
	o.has_entry = ft_image_entry(image, &o.entry);
	if (o.header && strlen(o.header) > 250)
		o.header = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	int status = FT_EXIT_OK;
	ft_error err = header ? write_headed(segments, count, &o, output, &diag)
	                      : ft_image_write(segments, count, &o, output, &diag);
	if (err != FT_OK) {
		ft_cli_diag(output, &diag);
		status = FT_EXIT_USAGE;
	} else {
		size_t carried = 0;
		uint64_t bytes = 0;
		for (size_t i = 0; i < count; i++) {
			carried += segments[i].size != 0;
			bytes += segments[i].size;
		}
		char size[24];
		ft_plan_format_size(bytes, size, sizeof(size));
		printf("wrote %s (%s%s): %zu segment%s, %s", output, ft_image_format_name(format),
		       header ? " with STM32 header v2.3" : "", carried, carried == 1 ? "" : "s",
		       size);
		if (count > carried)
			printf("; %zu empty segment%s left out", count - carried,
			       count - carried == 1 ? "" : "s");
		putchar('\n');
	}
	free(segments);
	return status;
}

int ft_cli_convert(int argc, char **argv)
{
	const char *output = NULL;
	bool has_format = false, header = false;
	ft_image_format format = FT_IMAGE_BIN;
	ft_cli_files files;
	memset(&files, 0, sizeof(files));
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":ho:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'o': output = optarg; break;
		case OPT_FORMAT:
			if (!ft_cli_parse_format("convert", optarg, &format))
				return FT_EXIT_USAGE;
			has_format = true;
			break;
		case OPT_ADDRESS:
			if (!ft_cli_parse_number("convert", "--address", optarg, &files.address))
				return FT_EXIT_USAGE;
			files.has_address = true;
			break;
		case OPT_STM32_HEADER: header = true; break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default: return ft_cli_bad_option("convert", opt, argv);
		}
	}
	files.paths = argv + optind;
	files.count = (size_t)(argc - optind);
	if (files.count == 0 || !output || !has_format) {
		ft_cli_error("convert: give FILE..., --format and -o OUT (try 'flashtwin convert "
		             "--help')");
		return FT_EXIT_USAGE;
	}
	if (header && format != FT_IMAGE_BIN) {
		ft_cli_error(
		    "convert: --stm32-header goes with --format bin (the header is part of "
		    "the raw image the boot ROM reads)");
		return FT_EXIT_USAGE;
	}
	ft_image *image;
	int status = ft_cli_read_image("convert", &files, false, &image);
	if (status == FT_EXIT_OK)
		status = write_image(image, format, header, output);
	ft_image_free(image);
	return status;
}
