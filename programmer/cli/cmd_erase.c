/* flashtwin erase: the sectors holding given addresses, sectors by number or by range, or the
 * whole flash. */
#include "programmer/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin erase --connect CONN (--sector ADDR... | --sectors N-M | --range ADDR:LEN\n"
    "                       | --all --force)\n"
    "                       [--part PART|--board BOARD] [--loader FILE.stldr] [--timeout MS]\n"
    "                       [--no-poll-wait]\n"
    "\n"
    "Erases the sector holding each ADDR (by address: over USB DFU the device's own sector map\n"
    "decides through DfuSe ERASE; over the debug port the part's, through the flash\n"
    "controller); with --sectors the sectors numbered N to M and with --range every sector\n"
    "the LEN bytes at ADDR touch (both by the part's flash geometry); or with --all every\n"
    "sector of every bank. A mass erase destroys everything in flash and needs --force.\n"
    "Over the debug port, read protection (RDP) and write protection (WRPSN) refuse the erase\n"
    "before anything is touched, naming the remedy.\n"
    "\n"
    "  -c, --connect CONN usb, usb:SERIAL, usbip://HOST:PORT[/BUSID], gdb://HOST:PORT or\n"
    "                     gdb:/dev/ttyACM0\n"
    "  --sector ADDR      erase the sector holding ADDR; may be repeated\n"
    "  --sectors N-M      erase sectors N to M (or just N), numbered across the banks: bank 1\n"
    "                     is 0 to n-1, bank 2 is n to 2n-1 (n sectors per bank)\n"
    "  --range ADDR:LEN   erase every sector the LEN bytes at ADDR touch\n"
    "  --all, --mass      erase the whole flash (with --force)\n"
    "  --force            confirm --all\n"
    "  --part PART        the part the device must be; default: identified\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --loader FILE      debug port: erase external memory through this loader: --sector and\n"
    "                     --range by its sectors (StorageInfo), --all by its MassErase;\n"
    "                     default: the board file's loader for an address in an external\n"
    "                     window\n"
    "  --timeout MS       debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --no-poll-wait     poll without waiting (emulated boards in instant timing)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 refused (--mass without --force, protection) or device error,\n"
    "2 usage, 3 connection failed\n";

/* Two banks of 128 sectors (STM32H7A3/B3, RM0455 §4.3.1), the most sectors a part has. */
#define MAX_SECTORS 256

typedef struct erase_args {
	ft_cli_device_args dev;
	const char *loader; /* --loader */
	bool mass, force;
	bool by_number, by_range;
	uint32_t first, last;         /* --sectors */
	uint32_t range_at, range_len; /* --range */
	size_t count;
	uint32_t sectors[MAX_SECTORS]; /* addresses: --sector, then what the others resolve to */
} erase_args;

enum { OPT_SECTOR = FT_CLI_OPT_OWN, OPT_SECTORS, OPT_RANGE, OPT_MASS, OPT_FORCE, OPT_LOADER };

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"sector", required_argument, NULL, OPT_SECTOR},
    {"sectors", required_argument, NULL, OPT_SECTORS},
    {"range", required_argument, NULL, OPT_RANGE},
    {"mass", no_argument, NULL, OPT_MASS},
    {"all", no_argument, NULL, OPT_MASS},
    {"force", no_argument, NULL, OPT_FORCE},
    {"loader", required_argument, NULL, OPT_LOADER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "N-M" or "N" into first..last; false (printed) when it is neither. */
static bool parse_sector_numbers(const char *text, uint32_t *first, uint32_t *last)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(text, &end, 10), b = a;
	bool ok = end != text && text[0] != '-' && text[0] != '+' && !errno;
	if (ok && *end == '-') {
		const char *m = end + 1;
		b = strtoul(m, &end, 10);
		ok = end != m && m[0] != '-' && m[0] != '+' && !errno;
	}
	if (!ok || *end || a > b || b > UINT32_MAX) {
		ft_cli_error("erase: --sectors '%s' is not N-M or N (sector numbers, N <= M)",
		             text);
		return false;
	}
	*first = (uint32_t)a;
	*last = (uint32_t)b;
	return true;
}

/* "ADDR:LEN" into at and len; false (printed) when it is not that. */
static bool parse_range(const char *text, uint32_t *at, uint32_t *len)
{
	char addr[32];
	const char *colon = strchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(addr)) {
		ft_cli_error("erase: --range '%s' is not ADDR:LEN (0x08020000:0x40000)", text);
		return false;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - text), text);
	if (!ft_cli_parse_number("erase", "--range address", addr, at) ||
	    !ft_cli_parse_number("erase", "--range length", colon + 1, len))
		return false;
	if (!*len || *len - 1 > UINT32_MAX - *at) {
		ft_cli_error("erase: --range '%s' is empty or runs past 0xFFFFFFFF", text);
		return false;
	}
	return true;
}

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
		case OPT_LOADER: args->loader = optarg; break;
		case OPT_SECTOR:
			if (args->count == MAX_SECTORS) {
				ft_cli_error("erase: at most %d --sector", MAX_SECTORS);
				return FT_EXIT_USAGE;
			}
			if (!ft_cli_parse_number("erase", "--sector", optarg,
			                         &args->sectors[args->count++]))
				return FT_EXIT_USAGE;
			break;
		case OPT_SECTORS:
			if (!parse_sector_numbers(optarg, &args->first, &args->last))
				return FT_EXIT_USAGE;
			args->by_number = true;
			break;
		case OPT_RANGE:
			if (!parse_range(optarg, &args->range_at, &args->range_len))
				return FT_EXIT_USAGE;
			args->by_range = true;
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
	if (args->loader && args->dev.route == FT_CLI_DFU)
		return ft_cli_route_only(&args->dev, "--loader", FT_CLI_SWD);
	if (args->mass == (args->count > 0 || args->by_number || args->by_range)) {
		ft_cli_error(
		    "erase: give --sector ADDR, --sectors N-M or --range ADDR:LEN, or --all, "
		    "not both");
		return FT_EXIT_USAGE;
	}
	if (args->mass && !args->force) {
		ft_cli_error("erase: refused: --all erases every sector of every bank; add --force "
		             "to confirm (nothing was touched)");
		return FT_EXIT_REFUSED;
	}
	return -1;
}

/* Appends the start address of sector number n (bank 1: 0 to n-1, bank 2: n to 2n-1) of g to
 * args; false (printed) when g has no such sector or args is full. */
static bool add_sector(erase_args *args, const ft_flash_geometry *g, uint32_t n)
{
	if (args->count == MAX_SECTORS) {
		ft_cli_error("erase: at most %d sectors at once", MAX_SECTORS);
		return false;
	}
	args->sectors[args->count++] =
	    g->bank_base[n / g->sectors_per_bank] + n % g->sectors_per_bank * g->sector_size;
	return true;
}

/* Turns --sectors and --range into sector addresses by part's flash geometry. Returns -1 when
 * done, else the exit status (printed). */
static int resolve_sectors(erase_args *args, const ft_part *part)
{
	if (!args->by_number && !args->by_range)
		return -1;
	if (!part) {
		ft_cli_error(
		    "erase: --sectors and --range go by the part's flash geometry and the part "
		    "is not known: give --part or --board");
		return FT_EXIT_USAGE;
	}
	const ft_flash_geometry *g = &part->flash;
	uint32_t total = (uint32_t)g->banks * g->sectors_per_bank;
	if (!total) {
		ft_cli_error("erase: %s has no internal flash", part->name);
		return FT_EXIT_USAGE;
	}
	if (args->by_number && args->last >= total) {
		ft_cli_error("erase: %s has sectors 0 to %u (%u banks of %u), not %u", part->name,
		             total - 1, g->banks, g->sectors_per_bank, args->last);
		return FT_EXIT_USAGE;
	}
	for (uint32_t n = args->first; args->by_number && n <= args->last; n++)
		if (!add_sector(args, g, n))
			return FT_EXIT_USAGE;
	if (!args->by_range)
		return -1;
	uint64_t end = (uint64_t)args->range_at + args->range_len, covered = 0;
	for (uint32_t n = 0; n < total; n++) {
		uint64_t start = g->bank_base[n / g->sectors_per_bank] +
		                 (uint64_t)(n % g->sectors_per_bank) * g->sector_size;
		uint64_t lo = start > args->range_at ? start : args->range_at;
		uint64_t hi = start + g->sector_size < end ? start + g->sector_size : end;
		if (lo >= hi)
			continue;
		covered += hi - lo;
		if (!add_sector(args, g, n))
			return FT_EXIT_USAGE;
	}
	if (covered != args->range_len) {
		ft_cli_error("erase: --range 0x%08X:0x%X leaves the internal flash of %s",
		             args->range_at, args->range_len, part->name);
		return FT_EXIT_USAGE;
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

static int erase_dfu(erase_args *args)
{
	ft_cli_session s;
	ft_cli_identity id;
	int status = ft_cli_open_dfu(&s, &args->dev, false, &id);
	if (status != FT_EXIT_OK)
		return status;
	if ((status = resolve_sectors(args, id.part)) < 0)
		status = args->mass ? erase_mass(&s) : erase_sectors(&s, args, id.part);
	ft_cli_disconnect(&s);
	return status;
}

/* Through an external loader: its sectors, or its MassErase. */
static int erase_loader(erase_args *args, ft_cli_swd *s, const ft_stldr *loader)
{
	if (args->by_number) {
		ft_cli_error("erase: --sectors numbers internal flash sectors; with --loader give "
		             "--sector ADDR or --range ADDR:LEN");
		return FT_EXIT_USAGE;
	}
	ft_ldrun *run;
	int status = ft_cli_loader_start(s, loader, NULL, &run);
	if (status != FT_EXIT_OK)
		return status;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = FT_OK;
	char what[64] = "the whole device";
	s->what[FT_SWD_PHASE_ERASE] = what;
	if (args->mass && (err = ft_ldrun_mass_erase(run, &diag)) == FT_OK)
		printf("mass erase done: the device of loader %s is blank\n",
		       ft_stldr_name(loader));
	if (args->by_range) {
		snprintf(what, sizeof(what), "0x%08X:0x%X", args->range_at, args->range_len);
		if ((err = ft_ldrun_erase(run, args->range_at, args->range_len, &diag)) == FT_OK)
			printf("erased every sector of 0x%08X:0x%X through loader %s\n",
			       args->range_at, args->range_len, ft_stldr_name(loader));
	}
	for (size_t i = 0; !args->mass && err == FT_OK && i < args->count; i++) {
		snprintf(what, sizeof(what), "the sector holding 0x%08X", args->sectors[i]);
		if ((err = ft_ldrun_erase(run, args->sectors[i], 1, &diag)) == FT_OK)
			print_erased(args->sectors[i], 0, 0);
	}
	ft_cli_swd_progress_done(s);
	if (err != FT_OK)
		status = ft_cli_swd_failed(s, err, &diag);
	ft_cli_loader_stop(s, run);
	return status;
}

/* Over the debug port each address is erased in turn, each refused whole (RDP, WRPSN) before
 * its sector is touched. */
static int erase_swd(erase_args *args)
{
	ft_cli_swd s;
	ft_cli_swd_config cfg = {0};
	uint32_t first = args->by_range ? args->range_at : args->count ? args->sectors[0] : 0;
	int status = FT_EXIT_OK;
	ft_stldr *loader = args->mass && !args->loader
	                       ? NULL
	                       : ft_cli_loader_for(&args->dev, args->loader, first, &status);
	if (status != FT_EXIT_OK)
		return status;
	if (loader) {
		if ((status = ft_cli_swd_connect(&s, &args->dev, &cfg, false)) == FT_EXIT_OK) {
			status = erase_loader(args, &s, loader);
			ft_cli_swd_disconnect(&s);
		}
		ft_stldr_free(loader);
		return status;
	}
	status = ft_cli_swd_connect(&s, &args->dev, &cfg, false);
	if (status != FT_EXIT_OK)
		return status;
	const ft_part *part = ft_swd_get_info(s.swd)->part;
	const ft_flash_geometry *g = &part->flash;
	if ((status = resolve_sectors(args, part)) >= 0) {
		ft_cli_swd_disconnect(&s);
		return status;
	}
	status = FT_EXIT_OK;
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
