/* flashtwin erase: the sectors holding given addresses, or the whole flash. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin erase --connect CONN (--sector ADDR... | --mass --force)\n"
    "                       [--part PART|--board BOARD] [--timeout MS] [--no-poll-wait]\n"
    "\n"
    "Erases the sector holding each ADDR (by address: over USB DFU the device's own sector map\n"
    "decides through DfuSe ERASE; over the debug port the part's, through the flash\n"
    "controller), or with --mass every sector of every bank. A mass erase destroys everything\n"
    "in flash and needs --force. Over the debug port, read protection (RDP) and write\n"
    "protection (WRPSN) refuse the erase before anything is touched, naming the remedy.\n"
    "\n"
    "  -c, --connect CONN usb, usb:SERIAL, usbip://HOST:PORT[/BUSID], gdb://HOST:PORT or\n"
    "                     gdb:/dev/ttyACM0\n"
    "  --sector ADDR      erase the sector holding ADDR; may be repeated\n"
    "  --mass             erase the whole flash (with --force)\n"
    "  --force            confirm --mass\n"
    "  --part PART        the part the device must be; default: identified\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --timeout MS       debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --no-poll-wait     poll without waiting (emulated boards in instant timing)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 refused (--mass without --force, protection) or device error,\n"
    "2 usage, 3 connection failed\n";

#define MAX_SECTORS 64

typedef struct erase_args {
	ft_cli_device_args dev;
	bool mass, force;
	size_t count;
	uint32_t sectors[MAX_SECTORS];
} erase_args;

enum { OPT_SECTOR = FT_CLI_OPT_OWN, OPT_MASS, OPT_FORCE };

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"sector", required_argument, NULL, OPT_SECTOR},
    {"mass", no_argument, NULL, OPT_MASS},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, erase_args *args)
{
	memset(args, 0, sizeof(*args));
	ft_cli_device_init(&args->dev, "erase");
	opterr = 0;
	optind = 1;
	int opt, status;
	while ((opt = getopt_long(argc, argv, ":hc:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_MASS: args->mass = true; break;
		case OPT_FORCE: args->force = true; break;
		case OPT_SECTOR:
			if (args->count == MAX_SECTORS) {
				ft_cli_error("erase: at most %d --sector", MAX_SECTORS);
				return FT_EXIT_USAGE;
			}
			if (!ft_cli_parse_number("erase", "--sector", optarg,
			                         &args->sectors[args->count++]))
				return FT_EXIT_USAGE;
			break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default:
			if ((status = ft_cli_device_option(&args->dev, opt, argv)) >= 0)
				return status;
		}
	}
	if (optind < argc) {
		ft_cli_error("erase: unexpected argument '%s' (addresses go with --sector)",
		             argv[optind]);
		return FT_EXIT_USAGE;
	}
	if ((status = ft_cli_device_settle(&args->dev)) >= 0)
		return status;
	if (args->mass == (args->count > 0)) {
		ft_cli_error("erase: give --sector ADDR (one or more) or --mass, not both");
		return FT_EXIT_USAGE;
	}
	if (args->mass && !args->force) {
		ft_cli_error(
		    "erase: refused: --mass erases every sector of every bank; add --force "
		    "to confirm (nothing was touched)");
		return FT_EXIT_REFUSED;
	}
	return -1;
}

/* "erased the sector holding 0x08000010: 0x08000000-0x0801FFFF (128 KiB)"; size 0 when the
 * sector's bounds are unknown. */
static void print_erased(uint32_t addr, uint32_t start, uint32_t size)
{
	char range[40], bytes[24];
	if (!size) {
		printf("erased the sector holding 0x%08X\n", addr);
	} else {
		ft_cli_range_text(range, sizeof(range), start, size);
		ft_plan_format_size(size, bytes, sizeof(bytes));
		printf("erased the sector holding 0x%08X: %s (%s)\n", addr, range, bytes);
	}
	fflush(stdout);
}

static void print_mass_erased(void)
{
	printf("mass erase done: every sector of every bank is blank\n");
}

static int erase_sectors(ft_cli_session *s, const erase_args *args, const ft_part *part)
{
	char what[32];
	snprintf(what, sizeof(what), "%zu sector%s", args->count, args->count == 1 ? "" : "s");
	ft_cli_progress_begin(&s->progress, "erase", args->count, what);
	for (size_t i = 0; i < args->count; i++) {
		uint32_t addr = args->sectors[i];
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_cli_step_start(s, addr);
		if (ft_cli_select_alt_for(s, addr, &diag) != FT_OK ||
		    ft_dfuse_erase_sector(s->dev, addr, &diag) != FT_OK) {
			char where[200], region[160];
			ft_cli_locate(NULL, part, addr, region, sizeof(region));
			snprintf(where, sizeof(where), "sector holding 0x%08X, %s", addr, region);
			ft_cli_device_error(s, &diag, where);
			return FT_EXIT_REFUSED;
		}
		const ft_dfuse_alt *a = &ft_dfuse_info(s->dev)->alts[ft_dfuse_current_alt(s->dev)];
		const ft_dfuse_group *g = ft_dfuse_layout_find(&a->layout, addr);
		bool known = g && a->layout_diag.code == FT_OK;
		ft_cli_progress_step(&s->progress, 1, NULL);
		ft_cli_progress_interrupt(&s->progress);
		print_erased(addr,
		             known ? g->start + (addr - g->start) / g->sector_size * g->sector_size
		                   : 0,
		             known ? g->sector_size : 0);
	}
	ft_cli_progress_end(&s->progress);
	return FT_EXIT_OK;
}

static int erase_mass(ft_cli_session *s)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_cli_progress_begin(&s->progress, "erase", 1, "the whole flash");
	if (ft_dfuse_select_alt(s->dev, 0, &diag) != FT_OK ||
	    ft_dfuse_mass_erase(s->dev, &diag) != FT_OK) {
		ft_cli_device_error(s, &diag, "mass erase");
		return FT_EXIT_REFUSED;
	}
	ft_cli_progress_step(&s->progress, 1, NULL);
	ft_cli_progress_end(&s->progress);
	print_mass_erased();
	return FT_EXIT_OK;
}

static int erase_dfu(const erase_args *args)
{
	ft_cli_session s;
	ft_cli_identity id;
	int status = ft_cli_open_dfu(&s, &args->dev, false, &id);
	if (status != FT_EXIT_OK)
		return status;
	status = args->mass ? erase_mass(&s) : erase_sectors(&s, args, id.part);
	ft_cli_disconnect(&s);
	return status;
}

/* Over the debug port each address is erased in turn, each refused whole (RDP, WRPSN) before
 * its sector is touched. */
static int erase_swd(const erase_args *args)
{
	ft_cli_swd s;
	ft_cli_swd_config cfg = {0};
	int status = ft_cli_swd_connect(&s, &args->dev, &cfg, false);
	if (status != FT_EXIT_OK)
		return status;
	const ft_flash_geometry *g = &ft_swd_get_info(s.swd)->part->flash;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = FT_OK;
	char what[48] = "the whole flash";
	s.what[FT_SWD_PHASE_ERASE] = what;
	if (args->mass && (err = ft_swd_mass_erase(s.swd, &diag)) == FT_OK) {
		ft_cli_swd_progress_done(&s);
		print_mass_erased();
	}
	for (size_t i = 0; !args->mass && err == FT_OK && i < args->count; i++) {
		uint32_t addr = args->sectors[i];
		snprintf(what, sizeof(what), "the sector holding 0x%08X", addr);
		if ((err = ft_swd_erase(s.swd, addr, 1, &diag)) != FT_OK)
			break;
		ft_cli_swd_progress_done(&s);
		uint32_t start = 0;
		for (unsigned b = 0; b < g->banks; b++)
			if (addr >= g->bank_base[b] && addr - g->bank_base[b] < g->bank_size)
				start = addr - (addr - g->bank_base[b]) % g->sector_size;
		print_erased(addr, start, g->sector_size);
	}
	if (err != FT_OK)
		status = ft_cli_swd_failed(&s, err, &diag);
	ft_cli_swd_disconnect(&s);
	return status;
}

int ft_cli_erase(int argc, char **argv)
{
	erase_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	return args.dev.route == FT_CLI_SWD ? erase_swd(&args) : erase_dfu(&args);
}
