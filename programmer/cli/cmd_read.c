/* flashtwin read: device memory (or option bytes) into a file. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/image_write.h"

static const char help[] =
    "usage: flashtwin read --connect CONN ADDR LEN -o FILE [--alt N] [--format F]\n"
    "                      [--part PART|--board BOARD] [--loader FILE.stldr] [--timeout MS]\n"
    "                      [--no-poll-wait]\n"
    "\n"
    "Reads LEN bytes at ADDR into FILE: over USB DFU through DfuSe UPLOAD, over the debug port\n"
    "through the GDB server. Over DFU the alternate setting is the one whose layout holds ADDR,\n"
    "or N with --alt; with --alt, ADDR and LEN may be left out to read the whole of that\n"
    "alternate setting (--alt 1 on STM32H7: the option bytes; over the debug port 'flashtwin\n"
    "ob' shows them). Under read protection (RDP level 1 or 2) the debug port cannot read the\n"
    "flash: the read is refused, naming the remedy.\n"
    "\n"
    "  -c, --connect CONN usb, usb:SERIAL, usbip://HOST:PORT[/BUSID], gdb://HOST:PORT or\n"
    "                     gdb:/dev/ttyACM0\n"
    "  -o, --output FILE  where to write\n"
    "  --alt N            DFU: the alternate setting (bAlternateSetting) to read through\n"
    "  --format F         bin (default), ihex, srec or dfuse\n"
    "  --part PART        the part the device must be; default: identified\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --loader FILE      debug port: read external memory through this loader (its Read, else\n"
    "                     the memory-mapped window after its Init); default: the board file's\n"
    "                     loader for an address in an external window\n"
    "  --timeout MS       debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --no-poll-wait     DFU: poll without waiting bwPollTimeout (emulated boards in instant\n"
    "                     timing)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 refused or device error, 2 bad input or usage, 3 connection\n"
    "failed\n";

typedef struct read_args {
	ft_cli_device_args dev;
	const char *output;
	const char *loader; /* --loader */
	bool has_alt, has_range;
	uint32_t alt, addr, len;
	ft_image_format format;
} read_args;

enum { OPT_ALT = FT_CLI_OPT_OWN, OPT_FORMAT, OPT_LOADER };

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    {"alt", required_argument, NULL, OPT_ALT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"loader", required_argument, NULL, OPT_LOADER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, read_args *args)
{
	memset(args, 0, sizeof(*args));
	ft_cli_device_init(&args->dev, "read");
	args->format = FT_IMAGE_BIN;
	opterr = 0;
	optind = 1;
	int opt, status;
	while ((opt = getopt_long(argc, argv, ":ho:c:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'o': args->output = optarg; break;
		case OPT_LOADER: args->loader = optarg; break;
		case OPT_ALT:
			if (!ft_cli_parse_number("read", "--alt", optarg, &args->alt))
				return FT_EXIT_USAGE;
			args->has_alt = true;
			break;
		case OPT_FORMAT:
			if (!ft_cli_parse_format("read", optarg, &args->format))
				return FT_EXIT_USAGE;
			break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default:
			if ((status = ft_cli_device_option(&args->dev, opt, argv)) >= 0)
				return status;
		}
	}
	int rest = argc - optind;
	if (rest == 2) {
		if (!ft_cli_parse_number("read", "ADDR", argv[optind], &args->addr) ||
		    !ft_cli_parse_number("read", "LEN", argv[optind + 1], &args->len))
			return FT_EXIT_USAGE;
		args->has_range = true;
	} else if (rest != 0 || !args->has_alt) {
		ft_cli_error("read: give ADDR and LEN (or --alt N alone for a whole alternate "
		             "setting; try 'flashtwin read --help')");
		return FT_EXIT_USAGE;
	}
	if (!args->dev.conn || !args->output) {
		ft_cli_error("read: --connect CONN and -o FILE are required");
		return FT_EXIT_USAGE;
	}
	if (args->has_range && (args->len == 0 || (uint64_t)args->addr + args->len > 1ull << 32)) {
		ft_cli_error("read: LEN must be 1 or more and ADDR + LEN stay within 4 GiB");
		return FT_EXIT_USAGE;
	}
	status = ft_cli_device_settle(&args->dev);
	if (status < 0 && args->dev.route == FT_CLI_SWD && args->has_alt)
		return ft_cli_route_only(&args->dev, "--alt", FT_CLI_DFU);
	if (status < 0 && args->dev.route == FT_CLI_DFU && args->loader)
		return ft_cli_route_only(&args->dev, "--loader", FT_CLI_SWD);
	return status;
}

/* Selects the alternate setting to read through and settles the range. */
static int choose_alt(ft_cli_session *s, read_args *args)
{
	const ft_dfuse_device_info *info = ft_dfuse_info(s->dev);
	size_t index = info->alt_count;
	if (args->has_alt) {
		for (size_t i = 0; i < info->alt_count; i++)
			if (info->alts[i].alt == args->alt)
				index = i;
		if (index == info->alt_count) {
			ft_cli_error("read: the device has no alternate setting %u (it has %zu; "
			             "'flashtwin info' lists them)",
			             args->alt, info->alt_count);
			return FT_EXIT_USAGE;
		}
	} else {
		int found = ft_dfuse_find_alt(s->dev, args->addr);
		if (found < 0 && s->options.force)
			found =
			    (int)ft_dfuse_current_alt(s->dev); /* the descriptor is known wrong */
		if (found < 0) {
			ft_cli_error(
			    "read: 0x%08X is in no alternate setting's layout ('flashtwin info' "
			    "lists them)",
			    args->addr);
			return FT_EXIT_REFUSED;
		}
		index = (size_t)found;
	}
	const ft_dfuse_alt *a = &info->alts[index];
	if (!args->has_range) {
		if (a->layout_diag.code != FT_OK || a->layout.group_count == 0) {
			ft_cli_error(
			    "read: alt %u has no memory layout to read (%s); give ADDR and LEN",
			    a->alt, a->layout_diag.message);
			return FT_EXIT_REFUSED;
		}
		uint64_t size = ft_dfuse_layout_size(&a->layout);
		args->addr = a->layout.groups[0].start;
		args->len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	}
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_dfuse_select_alt(s->dev, index, &diag) != FT_OK) {
		ft_cli_device_error(s, &diag, NULL);
		return FT_EXIT_REFUSED;
	}
	args->alt = a->alt;
	return FT_EXIT_OK;
}

/* Writes what was read into the output file and says so. */
static int write_output(const read_args *args, uint8_t *buf)
{
	ft_segment seg;
	memset(&seg, 0, sizeof(seg));
	seg.addr = seg.run_addr = args->addr;
	seg.size = seg.mem_size = args->len;
	seg.data = buf;
	seg.index = -1;
	seg.dfu_alt = (uint8_t)args->alt;
	ft_image_write_options o = {.format = args->format};
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_image_write(&seg, 1, &o, args->output, &diag) != FT_OK) {
		ft_cli_diag(NULL, &diag);
		return FT_EXIT_USAGE;
	}
	char size[24], alt[16] = "";
	ft_plan_format_size(args->len, size, sizeof(size));
	if (args->dev.route == FT_CLI_DFU)
		snprintf(alt, sizeof(alt), ", alt %u", args->alt);
	printf("read 0x%08X-0x%08X (%s%s) into %s (%s)\n", args->addr,
	       (uint32_t)(args->addr + args->len - 1), size, alt, args->output,
	       ft_image_format_name(args->format));
	return FT_EXIT_OK;
}

static uint8_t *output_buffer(const read_args *args)
{
	uint8_t *buf = malloc(args->len);
	if (!buf)
		ft_cli_error("read: out of memory for %u bytes", args->len);
	return buf;
}

static int upload(ft_cli_session *s, const read_args *args, const ft_part *part)
{
	uint8_t *buf = output_buffer(args);
	if (!buf)
		return FT_EXIT_USAGE;
	char what[64], size[24];
	ft_plan_format_size(args->len, size, sizeof(size));
	snprintf(what, sizeof(what), "%s at 0x%08X (alt %u)", size, args->addr, args->alt);
	ft_cli_progress_begin(&s->progress, "upload", args->len, what);
	ft_cli_step_start(s, args->addr);
	ft_diag diag;
	ft_diag_clear(&diag);
	int status;
	if (ft_dfuse_read(s->dev, args->addr, buf, args->len, &diag) != FT_OK) {
		char where[200], region[160];
		ft_cli_locate(NULL, part, ft_cli_failed_address(s), region, sizeof(region));
		snprintf(where, sizeof(where), "at 0x%08X, %s", ft_cli_failed_address(s), region);
		ft_cli_device_error(s, &diag, where);
		status = FT_EXIT_REFUSED;
	} else {
		ft_cli_progress_step(&s->progress, args->len, NULL);
		ft_cli_progress_end(&s->progress);
		status = write_output(args, buf);
	}
	free(buf);
	return status;
}

static int read_dfu(read_args *args)
{
	ft_cli_session s;
	ft_cli_identity id;
	int status = ft_cli_open_dfu(&s, &args->dev, false, &id);
	if (status != FT_EXIT_OK)
		return status;
	status = choose_alt(&s, args);
	if (status == FT_EXIT_OK)
		status = upload(&s, args, id.part);
	ft_cli_disconnect(&s);
	return status;
}

static int read_swd(const read_args *args)
{
	ft_cli_swd s;
	ft_cli_swd_config cfg = {0};
	int status = ft_cli_swd_connect(&s, &args->dev, &cfg, false);
	if (status != FT_EXIT_OK)
		return status;
	uint8_t *buf = output_buffer(args);
	char what[48], size[24];
	ft_plan_format_size(args->len, size, sizeof(size));
	snprintf(what, sizeof(what), "%s at 0x%08X", size, args->addr);
	s.what[FT_SWD_PHASE_READ] = what;
	ft_stldr *loader = ft_cli_loader_for(&args->dev, args->loader, args->addr, &status);
	ft_ldrun *run = NULL;
	if (buf && status == FT_EXIT_OK && loader)
		status = ft_cli_loader_start(&s, loader, NULL, &run);
	if (buf && status == FT_EXIT_OK) {
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_error err = run ? ft_ldrun_read(run, args->addr, buf, args->len, &diag)
		                   : ft_swd_read(s.swd, args->addr, buf, args->len, &diag);
		ft_cli_swd_progress_done(&s);
		status = err == FT_OK ? write_output(args, buf) : ft_cli_swd_failed(&s, err, &diag);
	}
	if (!buf)
		status = FT_EXIT_USAGE;
	free(buf);
	ft_cli_loader_stop(&s, run);
	ft_stldr_free(loader);
	ft_cli_swd_disconnect(&s);
	return status;
}

int ft_cli_read(int argc, char **argv)
{
	read_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	return args.dev.route == FT_CLI_SWD ? read_swd(&args) : read_dfu(&args);
}
