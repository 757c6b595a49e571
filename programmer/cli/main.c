/* flashtwin: the entry point, subcommand dispatch and the shared error printers. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>

static const char usage[] =
    "usage: flashtwin COMMAND [ARGS...]\n"
    "       flashtwin --help | --version\n"
    "\n"
    "Plans, programs and explains the programming of STM32H7 and STM32N6 parts.\n"
    "\n"
    "commands:\n"
    "  check FILE... --part PART|--board BOARD [--transport dfu|swd] [--skip-volatile]\n"
    "                [--address ADDR] [--json]\n"
    "        read firmware files (ELF, Intel HEX, SREC, raw BIN, DfuSe) and print the plan:\n"
    "        what would be erased, written and verified, or why the image is refused;\n"
    "        touches no device\n"
    "  flash FILE... --connect CONN [--part PART|--board BOARD] [--skip-volatile]\n"
    "                [--address ADDR] [--no-verify] [--leave [ADDR]] [--json | --json-lines]\n"
    "        plan, then erase, write and verify over USB DFU or the debug port; a refused\n"
    "        plan touches nothing\n"
    "  read --connect CONN ADDR LEN -o FILE [--alt N]\n"
    "        read device memory (or option bytes: --alt 1 over DFU) into a file\n"
    "  erase --connect CONN (--sector ADDR... | --sectors N-M | --range ADDR:LEN |\n"
    "                       --all --force)\n"
    "        erase sectors by address, number or range, or the whole flash\n"
    "  info --connect CONN [--part PART|--board BOARD] [--json]\n"
    "        show the device: DFU identity, alternate settings and layouts, or the target on\n"
    "        the debug port; and the part\n"
    "  ob --connect CONN [show | set NAME=VALUE...] [--allow-regression] [--force] [--json]\n"
    "        show the option bytes through the debug port, or change them\n"
    "  list [usb | usbip://HOST:PORT | --usbip HOST:PORT] [--json]\n"
    "        list the DFU devices on this host's USB or on a USB/IP server\n"
    "  convert FILE... --format dfuse|bin|ihex|srec -o OUT [--address ADDR]\n"
    "        write the segments of firmware files in another format\n"
    "  parts [PART] [--json]\n"
    "        list the supported parts, or show one part's memory map, flash geometry and\n"
    "        system-bootloader facts\n"
    "\n"
    "CONN: usb, usb:SERIAL or usbip://HOST:PORT[/BUSID] (USB DFU: the system bootloader, an\n"
    "emulated board or a usbipd); gdb://HOST:PORT or gdb:/dev/ttyACM0 (the debug port through\n"
    "a GDB server: QEMU, OpenOCD, pyOCD, a Black Magic Probe).\n"
    "'flashtwin COMMAND --help' describes a command; docs/cli.md has the details.\n"
    "exit status: 0 done / programmable, 1 refused or failed (verify, device error),\n"
    "2 bad input or usage, 3 connection failed\n";

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"check", ft_cli_check}, {"flash", ft_cli_flash},     {"read", ft_cli_read},
    {"erase", ft_cli_erase}, {"info", ft_cli_info},       {"list", ft_cli_list},
    {"parts", ft_cli_parts}, {"convert", ft_cli_convert}, {"ob", ft_cli_ob},
};

void ft_cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("flashtwin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void ft_cli_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("flashtwin: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int ft_cli_bad_option(const char *cmd, int opt, char **argv)
{
	if (opt == ':')
		ft_cli_error("%s: %s needs a value", cmd, argv[optind - 1]);
	else
		ft_cli_error("%s: unknown option '%s' (try 'flashtwin %s --help')", cmd,
		             argv[optind - 1], cmd);
	return FT_EXIT_USAGE;
}

bool ft_cli_parse_number(const char *cmd, const char *what, const char *text, uint32_t *out)
{
	if (ft_parse_address(text, out))
		return true;
	ft_cli_error("%s: %s '%s' is not a number (0x08000000, 131072)", cmd, what, text);
	return false;
}

void ft_cli_diag(const char *file, const ft_diag *diag)
{
	const char *origin = diag->origin;
	size_t flen = file ? strlen(file) : 0;
	if (flen && strncmp(origin, file, flen) == 0 && (origin[flen] == ' ' || !origin[flen]))
		origin += flen + (origin[flen] == ' ');
	fputs("flashtwin: ", stderr);
	if (file)
		fprintf(stderr, "%s: ", file);
	if (origin[0])
		fprintf(stderr, "%s: ", origin);
	fprintf(stderr, "%s\n", diag->message[0] ? diag->message : ft_error_name(diag->code));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return FT_EXIT_USAGE;
	}
	/* Waits such as bwPollTimeout between DFU status polls end on time, not up to 50 us late
	 * (the kernel's default timer slack), which over the 1 KiB blocks of a flash adds up. Best
	 * effort: only timing depends on it. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL);
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		fputs(usage, stdout);
		return FT_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("flashtwin %s\n", FT_CLI_VERSION);
		return FT_EXIT_OK;
	}
	const command *closest = NULL;
	size_t best = (size_t)-1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
		size_t d = ft_cli_distance(name, commands[i].name);
		if (d < best) {
			best = d;
			closest = &commands[i];
		}
	}
	if (name[0] == '-')
		ft_cli_error("unknown option '%s' (try 'flashtwin --help')", name);
	else if (closest && best <= 2)
		ft_cli_error("unknown command '%s'; did you mean '%s'?", name, closest->name);
	else
		ft_cli_error("unknown command '%s' (try 'flashtwin --help')", name);
	return FT_EXIT_USAGE;
}
