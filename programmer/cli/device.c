/* What every device command (flash, read, erase, info, ob) shares before it connects: the
 * connection and part options, the route the connection string picks, and the exit status of a
 * library error met on a device. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

int ft_cli_exit_status(ft_error err)
{
	switch (err) {
	case FT_OK: return FT_EXIT_OK;
	case FT_ERR_IO:
	case FT_ERR_PROTOCOL: return FT_EXIT_CONNECT;
	case FT_ERR_FORMAT:
	case FT_ERR_RANGE:
	case FT_ERR_INVALID_ARG: return FT_EXIT_USAGE;
	default: return FT_EXIT_REFUSED;
	}
}

void ft_cli_device_init(ft_cli_device_args *a, const char *command)
{
	memset(a, 0, sizeof(*a));
	a->command = command;
}

int ft_cli_device_option(ft_cli_device_args *a, int opt, char **argv)
{
	uint32_t value;
	switch (opt) {
	case 'c':
	case FT_CLI_OPT_CONNECT: a->conn = optarg; return -1;
	case FT_CLI_OPT_PART: a->part = optarg; return -1;
	case FT_CLI_OPT_BOARD: a->board = optarg; return -1;
	case FT_CLI_OPT_NO_POLL_WAIT: a->no_poll_wait = true; return -1;
	case FT_CLI_OPT_TIMEOUT:
		if (!ft_cli_parse_number(a->command, "--timeout", optarg, &value))
			return FT_EXIT_USAGE;
		if (value == 0 || value > 600000) {
			ft_cli_error("%s: --timeout takes 1 to 600000 milliseconds", a->command);
			return FT_EXIT_USAGE;
		}
		a->timeout_ms = value;
		return -1;
	default: return ft_cli_bad_option(a->command, opt, argv);
	}
}

int ft_cli_route_only(const ft_cli_device_args *a, const char *option, ft_cli_route route)
{
	ft_cli_error("%s: %s applies to %s connections, not to %s", a->command, option,
	             route == FT_CLI_SWD ? "debug-port (gdb://HOST:PORT, gdb:/dev/...)"
	                                 : "USB DFU (usb, usbip://...)",
	             a->conn);
	return FT_EXIT_USAGE;
}

int ft_cli_device_settle(ft_cli_device_args *a)
{
	if (!a->conn) {
		ft_cli_error("%s: say where the device is: --connect usb, usb:SERIAL, "
		             "usbip://HOST:PORT or gdb://HOST:PORT",
		             a->command);
		return FT_EXIT_USAGE;
	}
	if (a->part && a->board) {
		ft_cli_error("%s: give --part or --board, not both", a->command);
		return FT_EXIT_USAGE;
	}
	a->route = ft_gdb_is_connection(a->conn) ? FT_CLI_SWD : FT_CLI_DFU;
	if (a->timeout_ms && a->route != FT_CLI_SWD)
		return ft_cli_route_only(a, "--timeout", FT_CLI_SWD);
	if ((a->part || a->board) && !(a->given = ft_cli_resolve_part(a->part, a->board)))
		return FT_EXIT_USAGE;
	return -1;
}
