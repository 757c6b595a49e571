/* flashtwin ob: the option bytes of an STM32H7 through the debug port, shown field by field, or
 * changed in one option change and read back. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <string.h>

#include "programmer/swd/h7_options.h"

static const char help[] =
    "usage: flashtwin ob --connect CONN [show | [set] NAME=VALUE...] [--allow-regression]\n"
    "                    [--force] [--part PART|--board BOARD] [--timeout MS] [--no-poll-wait]\n"
    "                    [--json]\n"
    "\n"
    "Without assignments (or with 'show'): reads the option registers in effect (FLASH_*_CUR)\n"
    "and shows every field the part has, with its meaning: through the debug port, or over USB\n"
    "DFU from the option-byte alternate setting (alt 1, its image starts at FLASH_OPTSR_CUR).\n"
    "With NAME=VALUE assignments (RDP=0xAA, BOOT_ADD0=0x0800, WRPSN1=0xFF; VALUE decimal or\n"
    "0x-prefixed), optionally after 'set': through the debug port, writes them all in one\n"
    "option change (OPTKEYR, *_PRG, OPTSTART), then reads every register back and compares\n"
    "each field written; over USB DFU, writes the option-byte image with the *_PRG words\n"
    "changed, after which the bootloader applies them and resets (not read back).\n"
    "\n"
    "  -c, --connect CONN  gdb://HOST:PORT, gdb:/dev/ttyACM0, usb, usb:SERIAL or\n"
    "                      usbip://HOST:PORT[/BUSID]\n"
    "  --allow-regression  allow RDP level 1 -> 0 (RDP=0xAA): the flash controller first\n"
    "                      mass-erases the user flash\n"
    "  --force             allow RDP level 2 (RDP=0xCC): permanent, the debug port and the\n"
    "                      system bootloader close for good (alias: --allow-level2)\n"
    "  --part PART         the part the target must be; default: identified\n"
    "  --board BOARD       a board name or .board file instead of --part\n"
    "  --timeout MS        debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --no-poll-wait      DFU: poll without waiting (emulated boards in instant timing)\n"
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

/* The value of field f in ob; false when ob lacks its register or part the field. */
static bool field_value(const ft_part *part, const ft_swd_option_bytes *ob,
                        const ft_h7_option_field *f, uint32_t *value)
{
	if (!ft_h7_option_field_present(f, part))
		return false;
	for (size_t r = 0; r < ob->count; r++) {
		if (strcmp(ft_h7_option_reg_at(f->reg)->name, ob->regs[r].name) == 0) {
			*value = ft_h7_option_field_get(f, ob->regs[r].value);
			return true;
		}
	}
	return false;
}

void ft_cli_ob_from_image(const ft_part *part, const uint8_t *image, size_t len,
                          ft_swd_option_bytes *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ft_h7_option_reg_count(); i++) {
		const ft_h7_option_reg *reg = ft_h7_option_reg_at(i);
		if (!ft_h7_option_reg_present(reg, part) || reg->cur < FT_H7_OPTSR_CUR ||
		    reg->cur - FT_H7_OPTSR_CUR + 4 > len || out->count == FT_SWD_MAX_OPTION_REGS)
			continue;
		const uint8_t *p = image + (reg->cur - FT_H7_OPTSR_CUR);
		out->regs[out->count].name = reg->name;
		out->regs[out->count].offset = reg->cur;
		out->regs[out->count].value = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		                              (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		out->count++;
	}
}

void ft_cli_print_ob(FILE *out, const ft_part *part, const ft_swd_option_bytes *ob)
{
	for (size_t r = 0; r < ob->count; r++) {
		fprintf(out, "%-10s0x%08X  (FLASH_%s_CUR at 0x%08X)\n", ob->regs[r].name,
		        ob->regs[r].value, ob->regs[r].name, part->flash_regs + ob->regs[r].offset);
		for (size_t i = 0; i < ft_h7_option_field_count(); i++) {
			const ft_h7_option_field *f = ft_h7_option_field_at(i);
			uint32_t value;
			if (strcmp(ft_h7_option_reg_at(f->reg)->name, ob->regs[r].name) != 0 ||
			    !field_value(part, ob, f, &value))
				continue;
			fprintf(out, "  %-18s0x%-8X  %s\n", f->name, value, f->meaning);
		}
	}
}

json_t *ft_cli_ob_json(const ft_part *part, const ft_swd_option_bytes *ob)
{
	json_t *regs = json_array(), *fields = json_array();
	for (size_t r = 0; regs && r < ob->count; r++)
		json_array_append_new(
		    regs, json_pack("{s:s, s:o, s:o}", "name", ob->regs[r].name, "address",
		                    ft_cli_json_hex(part->flash_regs + ob->regs[r].offset), "value",
		                    ft_cli_json_hex(ob->regs[r].value)));
	for (size_t i = 0; fields && i < ft_h7_option_field_count(); i++) {
		const ft_h7_option_field *f = ft_h7_option_field_at(i);
		uint32_t value;
		if (field_value(part, ob, f, &value))
			json_array_append_new(
			    fields, json_pack("{s:s, s:s, s:I, s:s}", "name", f->name, "register",
			                      ft_h7_option_reg_at(f->reg)->name, "value",
			                      (json_int_t)value, "meaning", f->meaning));
	}
	return json_pack("{s:o, s:o}", "registers", regs ? regs : json_null(), "fields",
	                 fields ? fields : json_null());
}

/* "BOOT_ADD0  0x0800 -> 0x1FF0" for each assignment; JSON: changes[]. after NULL: the device
 * was not read back (DFU: it resets), the value written is shown. */
static json_t *print_changes(const ob_args *args, const ft_part *part,
                             const ft_swd_option_bytes *before, const ft_swd_option_bytes *after)
{
	json_t *changes = json_array();
	for (size_t i = 0; i < args->count; i++) {
		const ft_h7_option_field *f;
		uint32_t value, was = 0, now;
		if (ft_h7_option_parse(args->assignments[i], part, &f, &value, NULL) != FT_OK)
			continue;
		field_value(part, before, f, &was);
		now = ft_h7_option_field_get(f, ft_h7_option_field_put(f, 0, value));
		if (after)
			field_value(part, after, f, &now);
		if (!args->json)
			printf("set %-16s0x%X -> 0x%X\n", f->name, was, now);
		if (changes)
			json_array_append_new(changes, json_pack("{s:s, s:I, s:I, s:b}", "name",
			                                         f->name, "before", (json_int_t)was,
			                                         "after", (json_int_t)now,
			                                         "read_back", after != NULL));
	}
	return changes;
}

/* The option bytes (ob may be NULL: none to show) after the device, which text output printed
 * already; device is the JSON device object (NULL in text output). */
static int show(const ob_args *args, const ft_part *part, json_t *device,
                const ft_swd_option_bytes *ob, json_t *changes)
{
	if (!args->json) {
		if (ob)
			ft_cli_print_ob(stdout, part, ob);
		json_decref(changes);
		return FT_EXIT_OK;
	}
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "flashtwin", FT_CLI_VERSION, "command",
	              "ob", "status", "ok", "exit_status", FT_EXIT_OK, "device",
	              device ? device : json_null(), "changes", changes ? changes : json_null());
	json_t *fields = ob ? ft_cli_ob_json(part, ob) : json_object();
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

static void print_swd_header(const ft_cli_swd *s, const ob_args *args)
{
	if (args->json)
		return;
	ft_cli_print_swd(stdout, s, false);
	putchar('\n');
}

static int run_swd(ft_cli_swd *s, const ob_args *args)
{
	const ft_part *part = ft_swd_get_info(s->swd)->part;
	int status = check_assignments(args, part);
	if (status >= 0)
		return status;
	ft_swd_option_bytes before, after;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_swd_ob_read(s->swd, &before, &diag);
	if (err == FT_OK && args->count == 0) {
		print_swd_header(s, args);
		return show(args, part, args->json ? ft_cli_swd_json(s) : NULL, &before, NULL);
	}
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
	json_t *changes = print_changes(args, part, &before, &after);
	if (!args->json)
		putchar('\n');
	print_swd_header(s, args);
	return show(args, part, args->json ? ft_cli_swd_json(s) : NULL, &after, changes);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (size_t i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Refuses (printed, FT_EXIT_REFUSED) an RDP change the flags do not allow: level 2 is permanent,
 * level 1 -> 0 mass-erases the user flash (devices.md §4). */
static int check_rdp(const ob_args *args, uint32_t from_rdp, uint32_t to_rdp)
{
	unsigned from = ft_h7_rdp_level((uint8_t)from_rdp), to = ft_h7_rdp_level((uint8_t)to_rdp);
	if (to == 2 && !(args->flags & FT_SWD_OB_ALLOW_LEVEL2)) {
		ft_cli_error(
		    "ob: refused: RDP=0x%02X (level 2, permanent) closes the debug port and "
		    "the system bootloader for good; add --force if that is meant (nothing "
		    "was written)",
		    to_rdp);
		return FT_EXIT_REFUSED;
	}
	if (from >= 1 && to == 0 && !(args->flags & FT_SWD_OB_ALLOW_REGRESSION)) {
		ft_cli_error(
		    "ob: refused: RDP level %u -> 0 mass-erases the whole user flash first; "
		    "add --allow-regression to go on (nothing was written)",
		    from);
		return FT_EXIT_REFUSED;
	}
	return -1;
}

/* Over DFU: sets every *_PRG word the option-byte image holds to what is in effect (its *_CUR
 * without the status bits), then applies the assignments to them. Returns -1, or the exit
 * status (printed) of an assignment the image cannot carry or an RDP change not allowed. */
static int prepare_image(const ob_args *args, const ft_part *part, const ft_swd_option_bytes *cur,
                         uint8_t *image, size_t len)
{
	for (size_t r = 0; r < cur->count; r++) {
		const ft_h7_option_reg *reg = ft_h7_option_reg_find(cur->regs[r].name);
		if (reg->prg >= FT_H7_OPTSR_CUR && reg->prg - FT_H7_OPTSR_CUR + 4 <= len)
			put32(image + (reg->prg - FT_H7_OPTSR_CUR),
			      cur->regs[r].value & ~reg->status_bits);
	}
	for (size_t i = 0; i < args->count; i++) {
		const ft_h7_option_field *f;
		uint32_t value, was = 0;
		ft_h7_option_parse(args->assignments[i], part, &f, &value, NULL);
		const ft_h7_option_reg *reg = ft_h7_option_reg_at(f->reg);
		if (reg->prg < FT_H7_OPTSR_CUR || reg->prg - FT_H7_OPTSR_CUR + 4 > len) {
			ft_cli_error(
			    "ob: %s (FLASH_%s_PRG) is not in the %zu-byte option-byte image "
			    "the DFU bootloader exposes; change it through the debug port",
			    f->name, reg->name, len);
			return FT_EXIT_USAGE;
		}
		field_value(part, cur, f, &was);
		int status = strcmp(f->name, "RDP") == 0 ? check_rdp(args, was, value) : -1;
		if (status >= 0)
			return status;
		uint8_t *word = image + (reg->prg - FT_H7_OPTSR_CUR);
		put32(word, ft_h7_option_field_put(f, get32(word), value));
	}
	return -1;
}

/* Option-byte images the DFU bootloaders expose are at most 308 bytes (devices.md §4). */
#define OB_IMAGE_MAX 1024

static int run_dfu(ft_cli_session *s, const ft_cli_identity *id, const ob_args *args)
{
	const ft_part *part = id->part;
	if (!part) {
		ft_cli_error("ob: the device matches no part: give --part or --board");
		return FT_EXIT_USAGE;
	}
	int status = check_assignments(args, part);
	if (status >= 0)
		return status;
	uint8_t image[OB_IMAGE_MAX];
	size_t len;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_dfuse_read_option_bytes(s->dev, image, sizeof(image), &len, &diag);
	if (err != FT_OK) {
		ft_cli_device_error(s, &diag, "reading the option bytes");
		return ft_cli_exit_status(err);
	}
	ft_swd_option_bytes before;
	ft_cli_ob_from_image(part, image, len, &before);
	if (args->count == 0) {
		if (!args->json) {
			ft_cli_print_device(stdout, s, id, false);
			putchar('\n');
		}
		return show(args, part, args->json ? ft_cli_device_json(s, id) : NULL, &before,
		            NULL);
	}
	if ((status = prepare_image(args, part, &before, image, len)) >= 0)
		return status;
	if ((err = ft_dfuse_write_option_bytes(s->dev, image, len, &diag)) != FT_OK) {
		ft_cli_device_error(s, &diag, "writing the option bytes");
		return ft_cli_exit_status(err);
	}
	json_t *changes = print_changes(args, part, &before, NULL);
	if (!args->json)
		printf("written; the device reloads its option bytes and resets: 'flashtwin ob -c "
		       "%s' shows them once it is back\n",
		       args->dev.conn);
	return show(args, part, args->json ? ft_cli_device_json(s, id) : NULL, NULL, changes);
}

int ft_cli_ob(int argc, char **argv)
{
	ob_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	if (args.dev.route == FT_CLI_SWD) {
		ft_cli_swd s;
		ft_cli_swd_config cfg = {0};
		status = ft_cli_swd_connect(&s, &args.dev, &cfg, args.json);
		if (status != FT_EXIT_OK)
			return status;
		status = run_swd(&s, &args);
		ft_cli_swd_disconnect(&s);
		return status;
	}
	ft_cli_session s;
	ft_cli_identity id;
	status = ft_cli_open_dfu(&s, &args.dev, args.json, &id);
	if (status != FT_EXIT_OK)
		return status;
	status = run_dfu(&s, &id, &args);
	ft_cli_disconnect(&s);
	return status;
}
