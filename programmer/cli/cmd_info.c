/* flashtwin info: what a DFU device says about itself, and which part that makes it. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin info --connect CONN [--part PART|--board BOARD] [--json]\n"
    "\n"
    "Connects to a DFU device and prints its product, serial number, USB identity, DFU\n"
    "version and transfer size, every alternate setting with its memory layout parsed into\n"
    "address ranges, and the part: the one given, cross-checked against the descriptor, or the\n"
    "parts of the table whose system bootloader reports these layouts. Several lines share one\n"
    "ROM (STM32H743xI, H743xG, H753xI, ...): then all are named. A descriptor that shows a\n"
    "known ROM bug (the STM32H7A3 rev Z layouts) or that disagrees with the given part is\n"
    "warned about. Nothing is erased or written.\n"
    "\n"
    "  --connect CONN     usb, usb:SERIAL or usbip://HOST:PORT[/BUSID]\n"
    "  --part PART        the part to cross-check the descriptor against\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --json             print the device as one JSON object (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 2 usage, 3 connection failed\n";

enum { OPT_CONNECT = 256, OPT_PART, OPT_BOARD, OPT_JSON };

static const struct option long_options[] = {
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"part", required_argument, NULL, OPT_PART},
    {"board", required_argument, NULL, OPT_BOARD},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int ft_cli_info(int argc, char **argv)
{
	const char *conn = NULL, *part_name = NULL, *board = NULL;
	bool json = false;
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONNECT: conn = optarg; break;
		case OPT_PART: part_name = optarg; break;
		case OPT_BOARD: board = optarg; break;
		case OPT_JSON: json = true; break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default: return ft_cli_bad_option("info", opt, argv);
		}
	}
	if (optind < argc) {
		ft_cli_error("info: unexpected argument '%s' (try 'flashtwin info --help')",
		             argv[optind]);
		return FT_EXIT_USAGE;
	}
	if (!conn) {
		ft_cli_error("info: say where the device is: --connect usb, usb:SERIAL or "
		             "usbip://HOST:PORT");
		return FT_EXIT_USAGE;
	}
	if (part_name && board) {
		ft_cli_error("info: give --part or --board, not both");
		return FT_EXIT_USAGE;
	}
	const ft_part *given = NULL;
	if ((part_name || board) && !(given = ft_cli_resolve_part(part_name, board)))
		return FT_EXIT_USAGE;
	ft_cli_session s;
	int status = ft_cli_connect(&s, "info", conn, true, json);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_identity id;
	ft_cli_identify(&s, given, &id);
	ft_cli_identity_warn(&id);
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s, s:i, s:o}", "flashtwin", FT_CLI_VERSION,
		                         "command", "info", "status", "ok", "exit_status",
		                         FT_EXIT_OK, "device", ft_cli_device_json(&s, &id));
		if (!ft_cli_dump_json(stdout, root)) {
			ft_cli_error("info: cannot write JSON (out of memory?)");
			status = FT_EXIT_USAGE;
		}
	} else {
		ft_cli_print_device(stdout, &s, &id, true);
	}
	ft_cli_disconnect(&s);
	return status;
}
