/* flashtwin flash: plan first, then erase exactly the plan's sectors, write its writes, verify
 * and optionally start the firmware, over the route the connection string picks (flash_dfu.c,
 * flash_swd.c). Everything here is route-independent: options, plan, refusal, summary, JSON. A
 * refused plan touches nothing. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin flash FILE... --connect CONN [--part PART|--board BOARD]\n"
    "                       [--skip-volatile] [--address ADDR] [--no-verify] [--leave [ADDR]]\n"
    "                       [--verify crc|readback|none] [--reset-run] [--reset aircr|monitor]\n"
    "                       [--loader FILE.stldr] [--timeout MS] [--no-poll-wait] [--json]\n"
    "\n"
    "Programs firmware through the ST system bootloader over USB DFU, or through the debug\n"
    "port over a GDB server (QEMU, OpenOCD, pyOCD, a Black Magic Probe). The files are read and\n"
    "planned first, exactly as 'flashtwin check' does: when the plan refuses a segment (RAM\n"
    "over DFU, the bootloader's work area, external memory, past the end of flash) nothing is\n"
    "erased and the plan is printed with the reasons and fixes. Otherwise the plan's sectors are\n"
    "erased (by address), its writes programmed (flash words padded with 0xFF) and every\n"
    "persistent byte verified. Failures name the address, the segment, the ELF section, the\n"
    "memory region and what the device answered.\n"
    "\n"
    "  FILE               ELF, Intel HEX, Motorola SREC, DfuSe .dfu or raw binary (FILE@ADDR)\n"
    "  -c, --connect CONN usb, usb:SERIAL, usbip://HOST:PORT[/BUSID] (DFU) or gdb://HOST:PORT,\n"
    "                     gdb:/dev/ttyACM0 (debug port)\n"
    "  --part PART        the part; default: identified from the device (DFU descriptor,\n"
    "                     DBGMCU_IDCODE)\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --skip-volatile    program what persists; segments in RAM are skipped with a warning\n"
    "  --address ADDR     load address for raw binaries\n"
    "  --no-verify        do not verify what was written (--verify none)\n"
    "  --verify HOW       readback (default) or none; debug port also crc: the flash CRC unit,\n"
    "                     reading back only where it disagrees\n"
    "  --leave [ADDR]     start the firmware afterwards. DFU: leave DFU mode; the device loads\n"
    "                     SP and PC from the vector table at ADDR (default: the image's\n"
    "                     .isr_vector, else its lowest written address). Debug port: reset\n"
    "                     and run (no ADDR)\n"
    "  --reset-run        --leave without an address\n"
    "  --reset HOW        debug port: how --reset-run resets: aircr (SYSRESETREQ, default) or\n"
    "                     monitor (the server's 'monitor reset run')\n"
    "  --loader FILE      debug port: an external-flash loader (.stldr) run on the target for\n"
    "                     the segments in its device (StorageInfo); default: the board\n"
    "                     file's 'loader = NAME' when the image needs one\n"
    "  --timeout MS       debug port: wait at most MS for each GDB server reply (3000)\n"
    "  --no-poll-wait     poll without waiting (emulated boards in instant timing; a real\n"
    "                     device would be polled too early)\n"
    "  --json             print one JSON object per line as the work goes: plan, each erase,\n"
    "                     write progress, verify, and last the result, the whole report\n"
    "                     (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 programmed (and verified), 1 refused, verify mismatch or device error,\n"
    "2 bad input or usage, 3 connection failed\n";

enum {
	OPT_SKIP_VOLATILE = FT_CLI_OPT_OWN,
	OPT_ADDRESS,
	OPT_NO_VERIFY,
	OPT_VERIFY,
	OPT_LEAVE,
	OPT_RESET_RUN,
	OPT_RESET,
	OPT_LOADER,
	OPT_JSON,
};

static const struct option long_options[] = {
    FT_CLI_DEVICE_OPTIONS,
    {"skip-volatile", no_argument, NULL, OPT_SKIP_VOLATILE},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
    {"verify", required_argument, NULL, OPT_VERIFY},
    {"leave", optional_argument, NULL, OPT_LEAVE},
    {"reset-run", no_argument, NULL, OPT_RESET_RUN},
    {"reset", required_argument, NULL, OPT_RESET},
    {"loader", required_argument, NULL, OPT_LOADER},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --leave takes its address as --leave=ADDR or as the next argument when that is a number. */
static bool parse_leave(int argc, char **argv, ft_cli_flash_args *args)
{
	args->leave = true;
	const char *text = optarg;
	uint32_t value;
	if (!text && optind < argc && ft_parse_address(argv[optind], &value))
		text = argv[optind++];
	if (!text)
		return true;
	args->has_leave_address = true;
	return ft_cli_parse_number("flash", "--leave", text, &args->leave_address);
}

static bool parse_verify(const char *text, ft_cli_flash_args *args)
{
	static const struct {
		const char *name;
		ft_swd_verify_mode mode;
	} modes[] = {{"readback", FT_SWD_VERIFY_READBACK},
	             {"crc", FT_SWD_VERIFY_CRC},
	             {"none", FT_SWD_VERIFY_NONE}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(text, modes[i].name) == 0) {
			args->verify = modes[i].mode;
			args->no_verify = modes[i].mode == FT_SWD_VERIFY_NONE;
			return true;
		}
	ft_cli_error("flash: unknown --verify '%s' (readback, crc or none)", text);
	return false;
}

static bool parse_reset(const char *text, ft_cli_flash_args *args)
{
	if (strcmp(text, "aircr") == 0 || strcmp(text, "monitor") == 0) {
		args->reset = text[0] == 'a' ? FT_SWD_RESET_AIRCR : FT_SWD_RESET_MONITOR;
		return true;
	}
	ft_cli_error("flash: unknown --reset '%s' (aircr or monitor)", text);
	return false;
}

/* One option of flash's own; -1 when handled, else the exit status. */
static int own_option(int opt, int argc, char **argv, ft_cli_flash_args *args)
{
	switch (opt) {
	case OPT_SKIP_VOLATILE: args->skip_volatile = true; return -1;
	case OPT_NO_VERIFY:
		args->no_verify = true;
		args->verify = FT_SWD_VERIFY_NONE;
		return -1;
	case OPT_VERIFY: return parse_verify(optarg, args) ? -1 : FT_EXIT_USAGE;
	case OPT_RESET_RUN: args->leave = true; return -1;
	case OPT_RESET: return parse_reset(optarg, args) ? -1 : FT_EXIT_USAGE;
	case OPT_LOADER: args->loader = optarg; return -1;
	case OPT_JSON: args->json = true; return -1;
	case OPT_LEAVE: return parse_leave(argc, argv, args) ? -1 : FT_EXIT_USAGE;
	case OPT_ADDRESS:
		args->files.has_address = true;
		return ft_cli_parse_number("flash", "--address", optarg, &args->files.address)
		           ? -1
		           : FT_EXIT_USAGE;
	case 'h': fputs(help, stdout); return FT_EXIT_OK;
	default: return ft_cli_device_option(&args->dev, opt, argv);
	}
}

static int parse_args(int argc, char **argv, ft_cli_flash_args *args)
{
	memset(args, 0, sizeof(*args));
	ft_cli_device_init(&args->dev, "flash");
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":hc:", long_options, NULL)) != -1) {
		int status = own_option(opt, argc, argv, args);
		if (status >= 0)
			return status;
	}
	args->files.paths = argv + optind;
	args->files.count = (size_t)(argc - optind);
	if (args->files.count == 0) {
		ft_cli_error("flash: no FILE given (try 'flashtwin flash --help')");
		return FT_EXIT_USAGE;
	}
	return ft_cli_device_settle(&args->dev);
}

/* ---- what the routes share ------------------------------------------------------------- */

void ft_cli_erase_what(const ft_plan *plan, char *buf, size_t len)
{
	size_t count = ft_plan_erase_count(plan);
	char size[24];
	ft_plan_format_size(ft_plan_get_totals(plan)->erase_bytes, size, sizeof(size));
	snprintf(buf, len, "%zu sector%s (%s)", count, count == 1 ? "" : "s", size);
}

void ft_cli_write_what(const ft_plan *plan, char *buf, size_t len)
{
	size_t count = ft_plan_write_count(plan);
	char size[24];
	ft_plan_format_size(ft_plan_get_totals(plan)->write_bytes, size, sizeof(size));
	snprintf(buf, len, "%s in %zu write%s", size, count, count == 1 ? "" : "s");
}

void ft_cli_verify_what(const ft_plan *plan, char *buf, size_t len)
{
	uint64_t total = 0;
	for (size_t i = 0; i < ft_plan_verify_count(plan); i++)
		total += ft_plan_verify_at(plan, i)->size;
	char size[24];
	ft_plan_format_size(total, size, sizeof(size));
	snprintf(buf, len, "%s read back", size);
}

void ft_cli_erase_step(const ft_plan_erase *e, char *buf, size_t len)
{
	char range[40];
	ft_cli_range_text(range, sizeof(range), e->start, e->size);
	if (e->bank)
		snprintf(buf, len, "bank %u sector %u  %s", e->bank, e->sector, range);
	else
		snprintf(buf, len, "external sector %u  %s", e->sector, range);
}

uint32_t ft_cli_vector_base(const ft_plan *plan)
{
	for (size_t i = 0; i < ft_plan_segment_count(plan); i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		if (ps->verdict != FT_VERDICT_PROGRAM)
			continue;
		for (size_t k = 0; k < ps->segment->section_count; k++)
			if (strcmp(ps->segment->sections[k].name, ".isr_vector") == 0)
				return ps->segment->sections[k].addr;
	}
	return ft_plan_write_count(plan) ? ft_plan_write_at(plan, 0)->start : 0;
}

/* ---- reporting -------------------------------------------------------------------------- */

/* The verify phase ended in a device error (a difference found by the debug-port engine, a
 * read that faulted): what it read so far is not "identical". */
static bool verify_failed(const ft_cli_outcome *o)
{
	return o->failed_phase && strcmp(o->failed_phase, "verify") == 0 && o->error.code != FT_OK;
}

static void print_outcome(const ft_cli_flash_args *args, const ft_cli_outcome *o)
{
	char size[24], ram[24];
	if (o->sectors) {
		ft_plan_format_size(o->erased, size, sizeof(size));
		printf("erased    %zu sector%s (%s)\n", o->sectors, o->sectors == 1 ? "" : "s",
		       size);
	}
	if (o->written) {
		ft_plan_format_size(o->written, size, sizeof(size));
		ft_plan_format_size(o->volatile_bytes, ram, sizeof(ram));
		if (o->volatile_bytes)
			printf("written   %s (%s of it to RAM, lost at reset)\n", size, ram);
		else
			printf("written   %s\n", size);
	}
	if (o->verified || o->mismatch_count) {
		ft_plan_format_size(o->verified, size, sizeof(size));
		const char *by = o->verified_by ? o->verified_by : "read back";
		if (verify_failed(o))
			printf("verify    stopped after %s %s: %s\n", size, by, o->error.message);
		else if (o->mismatch_count == 0)
			printf("verified  %s %s, identical\n", size, by);
		else
			printf("verify    %zu byte%s differ in %s %s:\n", o->mismatch_count,
			       o->mismatch_count == 1 ? "" : "s", size, by);
	}
	for (size_t i = 0; i < o->mismatch_count && i < FT_CLI_MAX_MISMATCHES; i++) {
		const ft_cli_mismatch *m = &o->mismatches[i];
		printf("          0x%08X reads 0x%02X, expected 0x%02X  (%s)\n", m->addr, m->actual,
		       m->expected, m->where);
	}
	if (o->mismatch_count > FT_CLI_MAX_MISMATCHES)
		printf("          ... and %zu more\n", o->mismatch_count - FT_CLI_MAX_MISMATCHES);
	if (args->no_verify && !o->failed_phase)
		printf("verify    skipped (--no-verify)\n");
	if (o->loader_text[0])
		printf("loader    %s\n", o->loader_text);
	if (o->started)
		printf("%s\n", o->start_text);
	if (!o->failed_phase)
		printf("\nflashed\n");
	else if (o->mismatch_count && strcmp(o->failed_phase, "verify") == 0 &&
	         o->error.code == FT_OK)
		printf("\nfailed: the flash does not hold what was written\n");
	else if (o->has_address)
		printf("\nfailed during %s at 0x%08X (%s): %s\n", o->failed_phase, o->address,
		       o->where, o->error.message);
	else
		printf("\nfailed during %s: %s\n", o->failed_phase, o->error.message);
}

static json_t *error_json(const ft_cli_outcome *o)
{
	if (!o->failed_phase || o->error.code == FT_OK)
		return json_null();
	json_t *advice = json_array();
	for (size_t i = 0; advice && i < o->advice_count; i++)
		json_array_append_new(advice, json_string(o->advice[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "code", ft_error_name(o->error.code),
	                 "origin", o->error.origin, "message", o->error.message, "address",
	                 o->has_address ? ft_cli_json_hex(o->address) : json_null(), "where",
	                 o->has_address ? json_string(o->where) : json_null(), "advice", advice);
}

static json_t *outcome_json(const ft_cli_flash_args *args, const ft_cli_outcome *o)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < o->mismatch_count && i < FT_CLI_MAX_MISMATCHES; i++) {
		const ft_cli_mismatch *m = &o->mismatches[i];
		json_array_append_new(list,
		                      json_pack("{s:o, s:i, s:i, s:s}", "address",
		                                ft_cli_json_hex(m->addr), "expected", m->expected,
		                                "actual", m->actual, "where", m->where));
	}
	return json_pack(
	    "{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:b, s:o}", "failed_phase",
	    o->failed_phase ? json_string(o->failed_phase) : json_null(), "sectors",
	    (json_int_t)o->sectors, "erased_bytes", (json_int_t)o->erased, "written_bytes",
	    (json_int_t)o->written, "volatile_bytes", (json_int_t)o->volatile_bytes,
	    "verified_bytes", (json_int_t)o->verified, "verify",
	    json_string(args->no_verify     ? "skipped"
	                : o->mismatch_count ? "mismatch"
	                : verify_failed(o)  ? "failed"
	                : o->verified       ? "identical"
	                                    : "not-reached"),
	    "mismatch_count", (json_int_t)o->mismatch_count, "mismatches", list, "error",
	    error_json(o), "leave_address",
	    o->started && o->has_start_address ? ft_cli_json_hex(o->start_address) : json_null(),
	    "left", o->started, "loader",
	    o->loader_text[0] ? json_string(o->loader_text) : json_null());
}

/* One run of the command: what it read and where it goes. */
typedef struct flash_run {
	ft_cli_flash_args args;
	const ft_cli_flash_route *route;
	ft_image *image;
	ft_stldr *loader;
	ft_cli_check_input input;
	void *ctx; /* the route's session once connected */
} flash_run;

/* --json: the plan event, with the device when connected. */
static void plan_event(const flash_run *r, const ft_plan *plan)
{
	json_t *root = ft_cli_plan_json(&r->input, plan);
	json_t *device = r->ctx ? r->route->device_json(r->ctx) : NULL;
	if (root)
		json_object_set_new(root, "device", device ? device : json_null());
	else
		json_decref(device);
	ft_cli_event(stdout, "plan", root);
}

/* --json: the result event, the last line and the whole report: the plan, its status and exit
 * status, the device and the outcome when there were some. The plan event comes first when
 * programming never began. */
static int report_json(const flash_run *r, const ft_plan *plan, const ft_cli_outcome *o,
                       const char *status, int exit_status)
{
	if (!o)
		plan_event(r, plan);
	json_t *root = ft_cli_plan_json(&r->input, plan);
	if (root) {
		json_object_set_new(root, "status", json_string(status));
		json_object_set_new(root, "exit_status", json_integer(exit_status));
		json_t *device = r->ctx ? r->route->device_json(r->ctx) : NULL;
		json_object_set_new(root, "device", device ? device : json_null());
		json_object_set_new(root, "result", o ? outcome_json(&r->args, o) : json_null());
	} else {
		ft_cli_error("flash: cannot make the JSON report (out of memory?)");
	}
	ft_cli_event(stdout, "result", root);
	return exit_status;
}

/* A refused or empty plan: the same table check prints; nothing was touched. */
static int refuse(const flash_run *r, const ft_plan *plan)
{
	const char *status = ft_plan_status_name(ft_plan_get_status(plan));
	if (r->args.json)
		return report_json(r, plan, NULL, status, FT_EXIT_REFUSED);
	ft_cli_render_plan_text(stdout, &r->input, plan);
	return FT_EXIT_REFUSED;
}

/* Plans for part and checks the loader: --loader's, else the board file's when the plan needs
 * one or has bytes in its device (the plan is then made again with it). Returns -1 with *plan to
 * program; otherwise the exit status, after reporting the refusal. */
static int settle_plan(flash_run *r, const ft_part *part, ft_plan **plan)
{
	ft_error err;
	bool swd = r->route->route == FT_ROUTE_SWD;
	*plan =
	    ft_cli_plan(part, r->image, r->route->route, r->args.skip_volatile, r->loader, &err);
	if (*plan && swd && !r->loader && r->args.dev.board) {
		/* the board's loader when the plan needs one or has bytes in its device */
		int status;
		bool needed = ft_cli_plan_needs_loader(*plan);
		ft_stldr *board = ft_cli_board_loader("flash", r->args.dev.board, needed, &status);
		if (status != FT_EXIT_OK)
			return status;
		ft_error with_err = FT_OK;
		ft_plan *with = board ? ft_cli_plan(part, r->image, r->route->route,
		                                    r->args.skip_volatile, board, &with_err)
		                      : NULL;
		if (with && (needed || ft_cli_plan_uses_loader(with))) {
			ft_cli_warning(
			    "flash: using loader %s named by board %s (--loader overrides "
			    "it)",
			    ft_stldr_name(board), r->args.dev.board);
			ft_plan_free(*plan);
			*plan = with;
			err = with_err;
			r->loader = board;
		} else {
			ft_plan_free(with);
			ft_stldr_free(board);
		}
	}
	if (!*plan)
		return FT_EXIT_USAGE;
	r->args.stldr = r->loader;
	int loader = r->loader ? ft_cli_loader_check("flash", r->loader, part, *plan) : FT_EXIT_OK;
	if (err != FT_OK)
		return refuse(r, *plan);
	return loader == FT_EXIT_OK ? -1 : loader;
}

static int program(flash_run *r, const ft_plan *plan)
{
	const ft_plan_totals *t = ft_plan_get_totals(plan);
	if (!r->args.json) {
		r->route->print_device(r->ctx, stdout);
		putchar('\n');
		ft_cli_render_plan_text(stdout, &r->input, plan);
		putchar('\n');
		fflush(stdout);
	} else {
		plan_event(r, plan);
	}
	if (t->ram)
		ft_cli_warning("%zu segment%s go%s to RAM only: written for this session, lost at "
		               "reset, not verified (--skip-volatile leaves them out)",
		               t->ram, t->ram == 1 ? "" : "s", t->ram == 1 ? "es" : "");
	ft_cli_outcome o;
	memset(&o, 0, sizeof(o));
	r->route->program(r->ctx, &r->args, plan, &o);
	int exit_status = !o.failed_phase    ? FT_EXIT_OK
	                  : o.failure_status ? o.failure_status
	                                     : FT_EXIT_REFUSED;
	if (r->args.json)
		return report_json(r, plan, &o, o.failed_phase ? "failed" : "ok", exit_status);
	print_outcome(&r->args, &o);
	return exit_status;
}

/* Connects, settles the part and the plan (unless made before connecting), and programs. */
static int flash_device(flash_run *r, ft_plan *given_plan)
{
	r->ctx = calloc(1, r->route->ctx_size);
	int status = r->ctx ? r->route->connect(&r->args, r->ctx) : FT_EXIT_USAGE;
	if (!r->ctx)
		ft_cli_error("flash: out of memory");
	if (status != FT_EXIT_OK) {
		free(r->ctx);
		r->ctx = NULL;
		return status;
	}
	ft_plan *plan = given_plan;
	const ft_part *part = r->route->part(r->ctx, &status);
	if (part && !plan)
		status = settle_plan(r, part, &plan);
	else if (part)
		status = -1;
	if (status < 0)
		status = program(r, plan);
	if (plan != given_plan)
		ft_plan_free(plan);
	r->route->disconnect(r->ctx);
	free(r->ctx);
	r->ctx = NULL;
	return status;
}

int ft_cli_flash(int argc, char **argv)
{
	flash_run r;
	memset(&r, 0, sizeof(r));
	int status = parse_args(argc, argv, &r.args);
	if (status >= 0)
		return status;
	r.route = r.args.dev.route == FT_CLI_SWD ? &ft_cli_flash_swd : &ft_cli_flash_dfu;
	if ((status = r.route->check_args(&r.args)) >= 0)
		return status;
	if (r.args.loader && !(r.loader = ft_cli_loader_load("flash", r.args.loader)))
		return FT_EXIT_USAGE;
	status = ft_cli_read_image("flash", &r.args.files, r.args.json, &r.image);
	if (status == FT_EXIT_OK) {
		r.input = (ft_cli_check_input){.command = "flash",
		                               .files = &r.args.files,
		                               .board = r.args.dev.board,
		                               .image = r.image};
		/* With the part known, a refused plan is reported before any connection is made. */
		ft_plan *plan = NULL;
		const ft_part *given = r.args.dev.given;
		status = given ? settle_plan(&r, given, &plan) : -1;
		if (status < 0)
			status = flash_device(&r, plan);
		ft_plan_free(plan);
	}
	ft_image_free(r.image);
	ft_stldr_free(r.loader);
	return status;
}
