/* flashtwin info: what a DFU device says about itself, and which part that makes it. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin info --connect CONN [--part PART|--board BOARD] [--timeout MS] [--json]\n"
    "\n"
    "Over USB DFU: connects to the DFU device and prints its product, serial number, USB\n"
    "identity, DFU version and transfer size, every alternate setting with its memory layout\n"
    "parsed into address ranges, and the part: the one given, cross-checked against the\n"
    "descriptor, or the parts of the table whose system bootloader reports these layouts.\n"
    "Several lines share one ROM (STM32H743xI, H743xG, H753xI, ...): then all are named. A\n"
    "descriptor that shows a known ROM bug (the STM32H7A3 rev Z layouts) or that disagrees with\n"
    "the given part is warned about.\n"
    "Over the debug port: halts the core and prints the GDB server's PacketSize and register\n"
    "numbering, the part identified by DBGMCU_IDCODE and the flash-size register (or checked\n"
    "against the one given), where the core stopped and the read protection level.\n"
    "Nothing is erased or written.\n"
    "\n"
    "  -c, --connect CONN usb, usb:SERIAL, usbip://HOST:PORT[/BUSID], gdb://HOST:PORT or\n"
    "                     gdb:/dev/ttyACM0\n"
    "  --part PART        the part to cross-check the device against\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --timeout MS       debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --json             print the device as one JSON object (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 the target refuses (another part, a core that does not halt),\n"
    "2 usage, 3 connection failed\n";

enum { OPT_JSON = FT_CLI_OPT_OWN };

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The device object inside the command's JSON. */
static int print_json(json_t *device)
{
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:i, s:o}", "flashtwin", FT_CLI_VERSION, "command", "info",
	              "status", "ok", "exit_status", FT_EXIT_OK, "device", device);
	if (ft_cli_dump_json(stdout, root))
		return FT_EXIT_OK;
	ft_cli_error("info: cannot write JSON (out of memory?)");
	return FT_EXIT_USAGE;
}

/* Option-byte images the DFU bootloaders expose are at most 308 bytes (devices.md §4). */
#define OB_IMAGE_MAX 1024

/* The option bytes from the option-byte alternate setting, decoded for part; false when the part
 * is not known, the device has no such alternate (both silently) or reading failed (warned). */
static bool read_option_bytes(ft_cli_session *s, const ft_part *part, ft_swd_option_bytes *ob)
{
	uint8_t image[OB_IMAGE_MAX];
	size_t len;
	ft_diag diag;
	ft_diag_clear(&diag);
	if (!part || part->flash.banks == 0)
		return false;
	ft_error err = ft_dfuse_read_option_bytes(s->dev, image, sizeof(image), &len, &diag);
	if (err == FT_ERR_UNSUPPORTED)
		return false;
	if (err != FT_OK) {
		ft_cli_warning("info: cannot read the option bytes: %s", diag.message);
		return false;
	}
	ft_cli_ob_from_image(part, image, len, ob);
	return ob->count > 0;
}

static int info_dfu(const ft_cli_device_args *dev, bool json)
{
	ft_cli_session s;
	int status = ft_cli_connect(&s, "info", dev->conn, true, json);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_identity id;
	ft_cli_identify(&s, dev->given, &id);
	ft_cli_identity_warn(&id);
	ft_swd_option_bytes ob;
	bool has_ob = read_option_bytes(&s, id.part, &ob);
	if (json) {
		json_t *device = ft_cli_device_json(&s, &id);
		json_t *decoded = has_ob ? ft_cli_ob_json(id.part, &ob) : json_null();
		if (device && json_object_set_new(device, "option_bytes", decoded) != 0) {
			json_decref(device);
			device = NULL;
		}
		status = print_json(device);
	} else {
		ft_cli_print_device(stdout, &s, &id, true);
		if (has_ob) {
			printf("\noption bytes (alternate setting 1)\n");
			ft_cli_print_ob(stdout, id.part, &ob);
		}
	}
	ft_cli_disconnect(&s);
	return status;
}

static int info_swd(const ft_cli_device_args *dev, bool json)
{
	ft_cli_swd s;
	ft_cli_swd_config cfg = {0};
	int status = ft_cli_swd_connect(&s, dev, &cfg, json);
	if (status != FT_EXIT_OK)
		return status;
	if (json)
		status = print_json(ft_cli_swd_json(&s));
	else
		ft_cli_print_swd(stdout, &s, true);
	ft_cli_swd_disconnect(&s);
	return status;
}

int ft_cli_info(int argc, char **argv)
{
	ft_cli_device_args dev;
	ft_cli_device_init(&dev, "info");
	bool json = false;
	opterr = 0;
	optind = 1;
	int opt, status;
	while ((opt = getopt_long(argc, argv, ":hc:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON: json = true; break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default:
			if ((status = ft_cli_device_option(&dev, opt, argv)) >= 0)
				return status;
		}
	}
	if (optind < argc) {
		ft_cli_error("info: unexpected argument '%s' (try 'flashtwin info --help')",
		             argv[optind]);
		return FT_EXIT_USAGE;
	}
	if ((status = ft_cli_device_settle(&dev)) >= 0)
		return status;
	return dev.route == FT_CLI_SWD ? info_swd(&dev, json) : info_dfu(&dev, json);
}
