/* flashtwin check: read the files, build the plan, print it. Touches no device. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin check FILE... --part PART|--board BOARD [--transport dfu|swd]\n"
    "                       [--skip-volatile] [--address ADDR] [--json]\n"
    "\n"
    "Reads the firmware files and prints, per segment, the address range, size, ELF sections or\n"
    "record lines, the memory region it falls in and the verdict (program, volatile, skip,\n"
    "refuse) with the reason and the fix; then the sectors to erase, the writes after flash-word\n"
    "padding and merging, the ranges to verify, and a one-line conclusion. No device is touched.\n"
    "\n"
    "  FILE               ELF, Intel HEX, Motorola SREC, DfuSe .dfu or raw binary; a raw binary\n"
    "                     needs an address: FILE@0x08000000 or --address\n"
    "  --part PART        the part, in any spelling: STM32H743ZIT6, h723zg, STM32N657x0\n"
    "  --board BOARD      a board name (boards/BOARD.board, see docs/boards.md) or a path to a\n"
    "                     .board file\n"
    "  --transport T      dfu: the ST system bootloader over USB; swd: the debug port. Default:\n"
    "                     dfu when the part's system bootloader has USB DFU, else swd\n"
    "  --skip-volatile    program what persists; segments in RAM are skipped with a warning\n"
    "                     instead of refusing the plan\n"
    "  --address ADDR     load address for raw binaries (0x08000000, 134217728)\n"
    "  --json             print the plan as one JSON object (docs/check-json.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 programmable, 1 refused (or nothing to program), 2 bad input or usage\n";

typedef struct check_args {
	const char *part;
	const char *board;
	const char *transport;
	bool skip_volatile;
	bool json;
	ft_cli_files files;
} check_args;

enum { OPT_PART = 256, OPT_BOARD, OPT_TRANSPORT, OPT_SKIP_VOLATILE, OPT_ADDRESS, OPT_JSON };

static const struct option long_options[] = {
    {"part", required_argument, NULL, OPT_PART},
    {"board", required_argument, NULL, OPT_BOARD},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"skip-volatile", no_argument, NULL, OPT_SKIP_VOLATILE},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 when the arguments are usable, else the exit status (help or usage error). */
static int parse_args(int argc, char **argv, check_args *args)
{
	memset(args, 0, sizeof(*args));
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_PART: args->part = optarg; break;
		case OPT_BOARD: args->board = optarg; break;
		case OPT_TRANSPORT: args->transport = optarg; break;
		case OPT_SKIP_VOLATILE: args->skip_volatile = true; break;
		case OPT_JSON: args->json = true; break;
		case OPT_ADDRESS:
			if (!ft_parse_address(optarg, &args->files.address)) {
				ft_cli_error("check: --address '%s' is not an address (0x08000000)",
				             optarg);
				return FT_EXIT_USAGE;
			}
			args->files.has_address = true;
			break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default: return ft_cli_bad_option("check", opt, argv);
		}
	}
	args->files.paths = argv + optind;
	args->files.count = (size_t)(argc - optind);
	if (args->files.count == 0) {
		ft_cli_error("check: no FILE given (try 'flashtwin check --help')");
		return FT_EXIT_USAGE;
	}
	if (!args->part == !args->board) {
		ft_cli_error(
		    "check: give the target with --part PART or --board BOARD (one of them)");
		return FT_EXIT_USAGE;
	}
	return -1;
}

static bool resolve_transport(const check_args *args, const ft_part *part, ft_route *transport)
{
	if (!args->transport) {
		*transport =
		    part->bootloader && part->bootloader->has_usb_dfu ? FT_ROUTE_DFU : FT_ROUTE_SWD;
		return true;
	}
	if (ft_route_parse(args->transport, transport))
		return true;
	ft_cli_error("check: unknown transport '%s' (dfu or swd)", args->transport);
	return false;
}

static int plan_and_render(const check_args *args, const ft_part *part, ft_route transport,
                           const ft_image *image)
{
	ft_error err;
	ft_plan *plan = ft_cli_plan(part, image, transport, args->skip_volatile, NULL, &err);
	if (!plan)
		return FT_EXIT_USAGE;
	ft_cli_check_input input = {
	    .command = "check", .files = &args->files, .board = args->board, .image = image};
	int status = err == FT_OK ? FT_EXIT_OK : FT_EXIT_REFUSED;
	if (args->json) {
		if (!ft_cli_dump_json(stdout, ft_cli_plan_json(&input, plan))) {
			ft_cli_error("out of memory");
			status = FT_EXIT_USAGE;
		}
	} else {
		ft_cli_render_plan_text(stdout, &input, plan);
	}
	ft_plan_free(plan);
	return status;
}

int ft_cli_check(int argc, char **argv)
{
	check_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	const ft_part *part = ft_cli_resolve_part(args.part, args.board);
	ft_route transport;
	if (!part || !resolve_transport(&args, part, &transport))
		return FT_EXIT_USAGE;
	ft_image *image;
	status = ft_cli_read_image("check", &args.files, args.json, &image);
	if (status == FT_EXIT_OK)
		status = plan_and_render(&args, part, transport, image);
	ft_image_free(image);
	return status;
}
