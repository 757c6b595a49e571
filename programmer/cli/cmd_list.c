/* flashtwin list: the DFU devices on this host's USB or on a USB/IP server. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin list [usb | usbip://HOST:PORT | --usbip HOST:PORT] [--json]\n"
    "\n"
    "Lists the DFU devices reachable through a connection: on this host's USB (the default),\n"
    "the STM32 system bootloaders (0483:df11) with their serial numbers; on a USB/IP server\n"
    "(flashtwin-emu, usbipd), the exported devices that have a DFU-mode interface. Each line\n"
    "starts with the CONN to give to --connect.\n"
    "\n"
    "  --usbip HOST:PORT  the same as usbip://HOST:PORT\n"
    "  --json             print the list as one JSON object (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done (also when nothing is found), 2 usage, 3 connection failed\n";

#define MAX_DEVICES 64

static const char *speed_name(uint32_t speed)
{
	switch (speed) {
	case 1: return "low speed";
	case 2: return "full speed";
	case 3: return "high speed";
	case 5: return "super speed";
	}
	return "speed unknown";
}

/* The connection string that reaches device d of a listing through conn. */
static void device_conn(const ft_transport_address *addr, const char *conn,
                        const ft_transport_device *d, char *buf, size_t len)
{
	if (addr->kind == FT_TRANSPORT_USBIP) {
		const char *host_end = conn + strlen("usbip://");
		const char *slash = strchr(host_end, '/');
		int base = slash ? (int)(slash - conn) : (int)strlen(conn);
		snprintf(buf, len, "%.*s/%s", base, conn, d->id);
	} else if (d->serial[0]) {
		snprintf(buf, len, "usb:%s", d->serial);
	} else {
		snprintf(buf, len, "usb");
	}
}

int ft_cli_list(int argc, char **argv)
{
	static const struct option long_options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"usbip", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	char usbip[300] = "";
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'u': snprintf(usbip, sizeof(usbip), "usbip://%s", optarg); break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default: return ft_cli_bad_option("list", opt, argv);
		}
	}
	if (argc - optind + (usbip[0] != 0) > 1) {
		ft_cli_error("list: at most one connection (got '%s' and '%s')",
		             usbip[0] ? usbip : argv[optind], argv[optind + !usbip[0]]);
		return FT_EXIT_USAGE;
	}
	const char *conn = usbip[0] ? usbip : optind < argc ? argv[optind] : "usb";
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_transport_address addr;
	if (ft_transport_parse(conn, &addr, &diag) != FT_OK) {
		ft_cli_error("list: bad connection string %s: %s", conn, diag.message);
		return FT_EXIT_USAGE;
	}
	ft_transport_device *devs = calloc(MAX_DEVICES, sizeof(*devs));
	if (!devs) {
		ft_cli_error("out of memory");
		return FT_EXIT_USAGE;
	}
	size_t count = 0;
	if (ft_transport_list(conn, devs, MAX_DEVICES, &count, &diag) != FT_OK) {
		if (json)
			ft_cli_render_error_json(stdout, "list", NULL, &diag, FT_EXIT_CONNECT);
		ft_cli_error("list: cannot list %s: %s", conn, diag.message);
		free(devs);
		return FT_EXIT_CONNECT;
	}
	size_t shown = count < MAX_DEVICES ? count : MAX_DEVICES, others = 0;
	json_t *list = json ? json_array() : NULL;
	for (size_t i = 0; i < shown; i++) {
		const ft_transport_device *d = &devs[i];
		if (!d->dfu) {
			others++;
			continue;
		}
		char where[320];
		device_conn(&addr, conn, d, where, sizeof(where));
		if (json) {
			char id[12];
			snprintf(id, sizeof(id), "%04x:%04x", d->vid, d->pid);
			json_array_append_new(
			    list,
			    json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "connection", where, "id",
			              d->id, "usb_id", id, "serial", d->serial, "bcd_device",
			              (json_int_t)d->bcd_device, "speed", speed_name(d->speed)));
		} else {
			printf("%-40s %04x:%04x  bcdDevice 0x%04X  %s  %s\n", where, d->vid, d->pid,
			       d->bcd_device, speed_name(d->speed), d->id);
		}
	}
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:I}", "flashtwin",
		                         FT_CLI_VERSION, "command", "list", "status", "ok",
		                         "exit_status", FT_EXIT_OK, "connection", conn, "devices",
		                         list, "other_devices", (json_int_t)others);
		ft_cli_dump_json(stdout, root);
	} else if (shown == others) {
		printf("no DFU device at %s%s\n", conn,
		       addr.kind == FT_TRANSPORT_USB
		           ? " (is the board in DFU mode: BOOT0 high, USB connected?)"
		           : "");
	}
	if (others && !json)
		printf("(%zu other device%s without a DFU interface not shown)\n", others,
		       others == 1 ? "" : "s");
	free(devs);
	return FT_EXIT_OK;
}
