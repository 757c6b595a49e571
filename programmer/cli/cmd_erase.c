/* flashtwin erase: the sectors holding given addresses, or the whole flash. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin erase --connect CONN (--sector ADDR... | --mass --force)\n"
    "                       [--no-poll-wait]\n"
    "\n"
    "Erases, through DfuSe ERASE, the sector holding each ADDR (by address: the device's own\n"
    "sector map decides, never an assumed sector index), or with --mass every sector of every\n"
    "bank. A mass erase destroys everything in flash and needs --force.\n"
    "\n"
    "  --connect CONN     usb, usb:SERIAL or usbip://HOST:PORT[/BUSID]\n"
    "  --sector ADDR      erase the sector holding ADDR; may be repeated\n"
    "  --mass             erase the whole flash (with --force)\n"
    "  --force            confirm --mass\n"
    "  --no-poll-wait     poll without waiting bwPollTimeout (emulated boards in instant\n"
    "                     timing)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 refused (--mass without --force) or device error, 2 usage,\n"
    "3 connection failed\n";

#define MAX_SECTORS 64

typedef struct erase_args {
	const char *conn;
	bool mass, force, no_poll_wait;
	size_t count;
	uint32_t sectors[MAX_SECTORS];
} erase_args;

enum { OPT_CONNECT = 256, OPT_SECTOR, OPT_MASS, OPT_FORCE, OPT_NO_POLL_WAIT };

static const struct option long_options[] = {
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"sector", required_argument, NULL, OPT_SECTOR},
    {"mass", no_argument, NULL, OPT_MASS},
    {"force", no_argument, NULL, OPT_FORCE},
    {"no-poll-wait", no_argument, NULL, OPT_NO_POLL_WAIT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, erase_args *args)
{
	memset(args, 0, sizeof(*args));
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONNECT: args->conn = optarg; break;
		case OPT_MASS: args->mass = true; break;
		case OPT_FORCE: args->force = true; break;
		case OPT_NO_POLL_WAIT: args->no_poll_wait = true; break;
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
		default: return ft_cli_bad_option("erase", opt, argv);
		}
	}
	if (optind < argc) {
		ft_cli_error("erase: unexpected argument '%s' (addresses go with --sector)",
		             argv[optind]);
		return FT_EXIT_USAGE;
	}
	if (!args->conn) {
		ft_cli_error("erase: say where the device is: --connect usb, usb:SERIAL or "
		             "usbip://HOST:PORT");
		return FT_EXIT_USAGE;
	}
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
		char line[120] = "", range[40], size[24];
		if (g && a->layout_diag.code == FT_OK) {
			uint32_t start =
			    g->start + (addr - g->start) / g->sector_size * g->sector_size;
			ft_cli_range_text(range, sizeof(range), start, g->sector_size);
			ft_plan_format_size(g->sector_size, size, sizeof(size));
			snprintf(line, sizeof(line), "erased the sector holding 0x%08X: %s (%s)",
			         addr, range, size);
		} else {
			snprintf(line, sizeof(line), "erased the sector holding 0x%08X", addr);
		}
		ft_cli_progress_step(&s->progress, 1, NULL);
		ft_cli_progress_interrupt(&s->progress);
		printf("%s\n", line);
		fflush(stdout);
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
	printf("mass erase done: every sector of every bank is blank\n");
	return FT_EXIT_OK;
}

int ft_cli_erase(int argc, char **argv)
{
	erase_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	ft_cli_session s;
	status = ft_cli_connect(&s, "erase", args.conn, args.no_poll_wait, false);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_identity id;
	status = ft_cli_settle_part(&s, NULL, false, &id);
	if (status == FT_EXIT_OK)
		status = args.mass ? erase_mass(&s) : erase_sectors(&s, &args, id.part);
	ft_cli_disconnect(&s);
	return status;
}
