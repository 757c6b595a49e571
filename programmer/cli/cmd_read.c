/* flashtwin read: device memory (or option bytes) into a file. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/image_write.h"

static const char help[] =
    "usage: flashtwin read --connect CONN ADDR LEN -o FILE [--alt N] [--format F]\n"
    "                      [--no-poll-wait]\n"
    "\n"
    "Reads LEN bytes at ADDR through DfuSe UPLOAD into FILE. The alternate setting is the one\n"
    "whose layout holds ADDR, or N with --alt; with --alt, ADDR and LEN may be left out to read\n"
    "the whole of that alternate setting (--alt 1 on STM32H7: the option bytes).\n"
    "\n"
    "  --connect CONN     usb, usb:SERIAL or usbip://HOST:PORT[/BUSID]\n"
    "  -o, --output FILE  where to write\n"
    "  --alt N            the alternate setting (bAlternateSetting) to read through\n"
    "  --format F         bin (default), ihex, srec or dfuse\n"
    "  --no-poll-wait     poll without waiting bwPollTimeout (emulated boards in instant\n"
    "                     timing)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 device error, 2 bad input or usage, 3 connection failed\n";

typedef struct read_args {
	const char *conn, *output;
	bool has_alt, has_range, no_poll_wait;
	uint32_t alt, addr, len;
	ft_image_format format;
} read_args;

enum { OPT_CONNECT = 256, OPT_ALT, OPT_FORMAT, OPT_NO_POLL_WAIT };

static const struct option long_options[] = {
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"output", required_argument, NULL, 'o'},
    {"alt", required_argument, NULL, OPT_ALT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"no-poll-wait", no_argument, NULL, OPT_NO_POLL_WAIT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, read_args *args)
{
	memset(args, 0, sizeof(*args));
	args->format = FT_IMAGE_BIN;
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":ho:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONNECT: args->conn = optarg; break;
		case 'o': args->output = optarg; break;
		case OPT_NO_POLL_WAIT: args->no_poll_wait = true; break;
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
		default: return ft_cli_bad_option("read", opt, argv);
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
	if (!args->conn || !args->output) {
		ft_cli_error("read: --connect CONN and -o FILE are required");
		return FT_EXIT_USAGE;
	}
	if (args->has_range && (args->len == 0 || (uint64_t)args->addr + args->len > 1ull << 32)) {
		ft_cli_error("read: LEN must be 1 or more and ADDR + LEN stay within 4 GiB");
		return FT_EXIT_USAGE;
	}
	return -1;
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

static int upload(ft_cli_session *s, const read_args *args, const ft_part *part)
{
	uint8_t *buf = malloc(args->len);
	if (!buf) {
		ft_cli_error("read: out of memory for %u bytes", args->len);
		return FT_EXIT_USAGE;
	}
	char what[64], size[24];
	ft_plan_format_size(args->len, size, sizeof(size));
	snprintf(what, sizeof(what), "%s at 0x%08X (alt %u)", size, args->addr, args->alt);
	ft_cli_progress_begin(&s->progress, "upload", args->len, what);
	ft_cli_step_start(s, args->addr);
	ft_diag diag;
	ft_diag_clear(&diag);
	int status = FT_EXIT_OK;
	if (ft_dfuse_read(s->dev, args->addr, buf, args->len, &diag) != FT_OK) {
		char where[200], region[160];
		ft_cli_locate(NULL, part, ft_cli_failed_address(s), region, sizeof(region));
		snprintf(where, sizeof(where), "at 0x%08X, %s", ft_cli_failed_address(s), region);
		ft_cli_device_error(s, &diag, where);
		status = FT_EXIT_REFUSED;
	} else {
		ft_cli_progress_step(&s->progress, args->len, NULL);
		ft_cli_progress_end(&s->progress);
		ft_segment seg;
		memset(&seg, 0, sizeof(seg));
		seg.addr = seg.run_addr = args->addr;
		seg.size = seg.mem_size = args->len;
		seg.data = buf;
		seg.index = -1;
		seg.dfu_alt = (uint8_t)args->alt;
		ft_image_write_options o = {.format = args->format};
		if (ft_image_write(&seg, 1, &o, args->output, &diag) != FT_OK) {
			ft_cli_diag(NULL, &diag);
			status = FT_EXIT_USAGE;
		} else {
			printf("read 0x%08X-0x%08X (%s, alt %u) into %s (%s)\n", args->addr,
			       (uint32_t)(args->addr + args->len - 1), size, args->alt,
			       args->output, ft_image_format_name(args->format));
		}
	}
	free(buf);
	return status;
}

int ft_cli_read(int argc, char **argv)
{
	read_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	ft_cli_session s;
	status = ft_cli_connect(&s, "read", args.conn, args.no_poll_wait, false);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_identity id;
	status = ft_cli_settle_part(&s, NULL, false, &id);
	if (status == FT_EXIT_OK)
		status = choose_alt(&s, &args);
	if (status == FT_EXIT_OK)
		status = upload(&s, &args, id.part);
	ft_cli_disconnect(&s);
	return status;
}
