/* flashtwin ob: the option bytes of an STM32H7 through the debug port, shown field by field, or
 * changed in one option change and read back. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

#include "programmer/swd/h7_options.h"

static const char help[] =
    "usage: flashtwin ob --connect CONN [show | [set] NAME=VALUE...] [--allow-regression]\n"
    "                    [--force]\n"
    "                    [--part PART|--board BOARD] [--timeout MS] [--json]\n"
    "\n"
    "Without assignments (or with 'show'): reads the option registers in effect (FLASH_*_CUR) "
    "through the debug\n"
    "port and shows every field the part has, with its meaning. With NAME=VALUE assignments\n"
    "(RDP=0xAA, BOOT_ADD0=0x0800, WRPSN1=0xFF; VALUE decimal or 0x-prefixed): writes them all\n"
    "in one option change (OPTKEYR, *_PRG, OPTSTART), then reads every register back and\n"
    "compares each field written. Over USB DFU the option bytes are read with\n"
    "'flashtwin read --alt 1'.\n"
    "\n"
    "  -c, --connect CONN  gdb://HOST:PORT or gdb:/dev/ttyACM0\n"
    "  --allow-regression  allow RDP level 1 -> 0 (RDP=0xAA): the flash controller first\n"
    "                      mass-erases the user flash\n"
    "  --force, --allow-level2\n"
    "                      allow RDP level 2 (RDP=0xCC): permanent, the debug port and the\n"
    "                      system bootloader close for good\n"
    "  --part PART         the part the target must be; default: identified\n"
    "  --board BOARD       a board name or .board file instead of --part\n"
    "  --timeout MS        wait at most MS for each GDB server reply (3000)\n"
    "  --json              print the option bytes as one JSON object (docs/cli.md)\n"
    "  -h, --help          this text\n"
    "\n"
    "exit status: 0 done, 1 refused (an RDP change not allowed) or device error (OPTCHANGEERR,\n"
    "a field that does not read back), 2 bad input or usage, 3 connection failed\n";

#define MAX_ASSIGNMENTS 16

enum { OPT_ALLOW_REGRESSION = FT_CLI_OPT_OWN, OPT_ALLOW_LEVEL2, OPT_JSON };

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"allow-regression", no_argument, NULL, OPT_ALLOW_REGRESSION},
    {"allow-level2", no_argument, NULL, OPT_ALLOW_LEVEL2},
    {"force", no_argument, NULL, OPT_ALLOW_LEVEL2},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct ob_args {
	ft_cli_device_args dev;
	unsigned flags; /* FT_SWD_OB_ALLOW_* */
	bool json;
	const char *const *assignments;
	size_t count;
} ob_args;

static int parse_args(int argc, char **argv, ob_args *args)
{
	memset(args, 0, sizeof(*args));
	ft_cli_device_init(&args->dev, "ob");
	opterr = 0;
	optind = 1;
	int opt, status;
	while ((opt = getopt_long(argc, argv, ":hc:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_ALLOW_REGRESSION: args->flags |= FT_SWD_OB_ALLOW_REGRESSION; break;
		case OPT_ALLOW_LEVEL2: args->flags |= FT_SWD_OB_ALLOW_LEVEL2; break;
		case OPT_JSON: args->json = true; break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default:
			if ((status = ft_cli_device_option(&args->dev, opt, argv)) >= 0)
				return status;
		}
	}
	/* "show" and "set" only name what the arguments already say */
	const char *verb = optind < argc ? argv[optind] : "";
	bool shows = strcmp(verb, "show") == 0, sets = strcmp(verb, "set") == 0;
	optind += shows || sets;
	if ((shows && optind < argc) || (sets && optind == argc)) {
		ft_cli_error(shows ? "ob: show takes no assignments (got '%s'); use set"
		                   : "ob: set needs NAME=VALUE assignments%s",
		             shows ? argv[optind] : "");
		return FT_EXIT_USAGE;
	}
	args->assignments = (const char *const *)argv + optind;
	args->count = (size_t)(argc - optind);
	if (args->count > MAX_ASSIGNMENTS) {
		ft_cli_error("ob: at most %d assignments in one option change", MAX_ASSIGNMENTS);
		return FT_EXIT_USAGE;
	}
	if ((status = ft_cli_device_settle(&args->dev)) >= 0)
		return status;
	if (args->dev.route != FT_CLI_SWD) {
		ft_cli_error(
		    "ob: option bytes are changed through the debug port (gdb://HOST:PORT, "
		    "gdb:/dev/...); over USB DFU read them with 'flashtwin read --alt 1'");
		return FT_EXIT_USAGE;
	}
	return -1;
}

/* Every assignment parses for the connected part: a typo is a usage error, found before the
 * option change begins. */
static int check_assignments(const ob_args *args, const ft_part *part)
{
	for (size_t i = 0; i < args->count; i++) {
		const ft_h7_option_field *field;
		uint32_t value;
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_h7_option_parse(args->assignments[i], part, &field, &value, &diag) !=
		    FT_OK) {
			ft_cli_diag(NULL, &diag);
			if (args->json)
				ft_cli_render_error_json(stdout, "ob", NULL, &diag, FT_EXIT_USAGE);
			return FT_EXIT_USAGE;
		}
	}
	return -1;
}

/* The registers of a read, each followed by the fields the part has in it. */
static void print_ob(const ft_cli_swd *s, const ft_swd_option_bytes *ob)
{
	const ft_part *part = ft_swd_get_info(s->swd)->part;
	for (size_t r = 0; r < ob->count; r++) {
		printf("%-10s0x%08X  (FLASH_%s_CUR at 0x%08X)\n", ob->regs[r].name,
		       ob->regs[r].value, ob->regs[r].name, part->flash_regs + ob->regs[r].offset);
		for (size_t i = 0; i < ft_h7_option_field_count(); i++) {
			const ft_h7_option_field *f = ft_h7_option_field_at(i);
			uint32_t value;
			if (!ft_h7_option_field_present(f, part) ||
			    strcmp(ft_h7_option_reg_at(f->reg)->name, ob->regs[r].name) != 0 ||
			    !ft_swd_ob_field(s->swd, ob, f->name, &value))
				continue;
			printf("  %-18s0x%-8X  %s\n", f->name, value, f->meaning);
		}
	}
}

static json_t *ob_json(const ft_cli_swd *s, const ft_swd_option_bytes *ob)
{
	const ft_part *part = ft_swd_get_info(s->swd)->part;
	json_t *regs = json_array(), *fields = json_array();
	for (size_t r = 0; regs && r < ob->count; r++)
		json_array_append_new(
		    regs, json_pack("{s:s, s:o, s:o}", "name", ob->regs[r].name, "address",
		                    ft_cli_json_hex(part->flash_regs + ob->regs[r].offset), "value",
		                    ft_cli_json_hex(ob->regs[r].value)));
	for (size_t i = 0; fields && i < ft_h7_option_field_count(); i++) {
		const ft_h7_option_field *f = ft_h7_option_field_at(i);
		uint32_t value;
		if (ft_h7_option_field_present(f, part) &&
		    ft_swd_ob_field(s->swd, ob, f->name, &value))
			json_array_append_new(
			    fields, json_pack("{s:s, s:s, s:I, s:s}", "name", f->name, "register",
			                      ft_h7_option_reg_at(f->reg)->name, "value",
			                      (json_int_t)value, "meaning", f->meaning));
	}
	return json_pack("{s:o, s:o}", "registers", regs ? regs : json_null(), "fields",
	                 fields ? fields : json_null());
}

/* "BOOT_ADD0  0x0800 -> 0x1FF0" for each assignment; JSON: changes[]. */
static json_t *print_changes(const ob_args *args, const ft_cli_swd *s,
                             const ft_swd_option_bytes *before, const ft_swd_option_bytes *after)
{
	json_t *changes = json_array();
	const ft_part *part = ft_swd_get_info(s->swd)->part;
	for (size_t i = 0; i < args->count; i++) {
		const ft_h7_option_field *f;
		uint32_t value, was = 0, now = 0;
		if (ft_h7_option_parse(args->assignments[i], part, &f, &value, NULL) != FT_OK)
			continue;
		ft_swd_ob_field(s->swd, before, f->name, &was);
		ft_swd_ob_field(s->swd, after, f->name, &now);
		if (!args->json)
			printf("set %-16s0x%X -> 0x%X\n", f->name, was, now);
		if (changes)
			json_array_append_new(changes, json_pack("{s:s, s:I, s:I}", "name", f->name,
			                                         "before", (json_int_t)was, "after",
			                                         (json_int_t)now));
	}
	return changes;
}

static int show(ft_cli_swd *s, const ob_args *args, const ft_swd_option_bytes *ob, json_t *changes)
{
	if (!args->json) {
		ft_cli_print_swd(stdout, s, false);
		putchar('\n');
		print_ob(s, ob);
		json_decref(changes);
		return FT_EXIT_OK;
	}
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "flashtwin", FT_CLI_VERSION, "command",
	              "ob", "status", "ok", "exit_status", FT_EXIT_OK, "device", ft_cli_swd_json(s),
	              "changes", changes ? changes : json_null());
	json_t *fields = ob_json(s, ob);
	if (!fields || json_object_update(root, fields) != 0) {
		json_decref(root);
		root = NULL;
	}
	json_decref(fields);
	if (ft_cli_dump_json(stdout, root))
		return FT_EXIT_OK;
	ft_cli_error("ob: cannot write JSON (out of memory?)");
	return FT_EXIT_USAGE;
}

static int run(ft_cli_swd *s, const ob_args *args)
{
	int status = check_assignments(args, ft_swd_get_info(s->swd)->part);
	if (status >= 0)
		return status;
	ft_swd_option_bytes before, after;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_swd_ob_read(s->swd, &before, &diag);
	if (err == FT_OK && args->count == 0)
		return show(s, args, &before, NULL);
	if (err == FT_OK)
		err = ft_swd_ob_set(s->swd, args->assignments, args->count, args->flags, &diag);
	if (err == FT_OK)
		err = ft_swd_ob_read(s->swd, &after, &diag);
	if (err != FT_OK) {
		status = ft_cli_swd_failed(s, err, &diag);
		if (err == FT_ERR_REFUSED)
			ft_cli_error("ob: --allow-regression allows RDP level 1 -> 0, --force "
			             "RDP level 2");
		return status;
	}
	json_t *changes = print_changes(args, s, &before, &after);
	if (!args->json)
		putchar('\n');
	return show(s, args, &after, changes);
}

int ft_cli_ob(int argc, char **argv)
{
	ob_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	ft_cli_swd s;
	ft_cli_swd_config cfg = {0};
	status = ft_cli_swd_connect(&s, &args.dev, &cfg, args.json);
	if (status != FT_EXIT_OK)
		return status;
	status = run(&s, &args);
	ft_cli_swd_disconnect(&s);
	return status;
}
