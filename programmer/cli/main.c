/* flashtwin: the entry point, subcommand dispatch and the shared error printers. */
#include "programmer/cli/cli.h"

#include <stdarg.h>
#include <string.h>

static const char usage[] =
    "usage: flashtwin COMMAND [ARGS...]\n"
    "       flashtwin --help | --version\n"
    "\n"
    "Plans and explains the programming of STM32H7 and STM32N6 parts.\n"
    "\n"
    "commands:\n"
    "  check FILE... --part PART|--board BOARD [--transport dfu|swd] [--skip-volatile]\n"
    "                [--address ADDR] [--json]\n"
    "        read firmware files (ELF, Intel HEX, SREC, raw BIN, DfuSe) and print the plan:\n"
    "        what would be erased, written and verified, or why the image is refused;\n"
    "        touches no device\n"
    "  parts [PART] [--json]\n"
    "        list the supported parts, or show one part's memory map, flash geometry and\n"
    "        system-bootloader facts\n"
    "\n"
    "'flashtwin COMMAND --help' describes a command.\n"
    "exit status: 0 programmable / done, 1 refused, 2 bad input or usage\n";

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"check", ft_cli_check},
    {"parts", ft_cli_parts},
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
		ft_cli_error("unknown command '%s' (commands: check, parts)", name);
	return FT_EXIT_USAGE;
}
