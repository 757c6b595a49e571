/* flashtwin flash: plan first, then erase exactly the plan's sectors, write its writes, read back
 * its verify ranges and optionally leave DFU mode. A refused plan touches nothing. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin flash FILE... --connect CONN [--part PART|--board BOARD]\n"
    "                       [--skip-volatile] [--address ADDR] [--no-verify] [--leave [ADDR]]\n"
    "                       [--no-poll-wait] [--json]\n"
    "\n"
    "Programs firmware through the ST system bootloader over USB DFU. The files are read and\n"
    "planned first, exactly as 'flashtwin check' does: when the plan refuses a segment (RAM,\n"
    "the bootloader's work area, external memory, past the end of flash) nothing is erased and\n"
    "the plan is printed with the reasons and fixes. Otherwise the plan's sectors are erased\n"
    "(by address), its writes downloaded (flash words padded with 0xFF) and every persistent\n"
    "byte read back and compared. Failures name the address, the segment, the ELF section, the\n"
    "memory region and the device's DFU state and status.\n"
    "\n"
    "  FILE               ELF, Intel HEX, Motorola SREC, DfuSe .dfu or raw binary (FILE@ADDR)\n"
    "  --connect CONN     usb, usb:SERIAL or usbip://HOST:PORT[/BUSID]\n"
    "  --part PART        the part; default: identified from the device's DFU descriptor\n"
    "  --board BOARD      a board name or .board file instead of --part\n"
    "  --skip-volatile    program what persists; segments in RAM are skipped with a warning\n"
    "  --address ADDR     load address for raw binaries\n"
    "  --no-verify        do not read back what was written\n"
    "  --leave [ADDR]     leave DFU mode afterwards and start the firmware: the device loads\n"
    "                     SP and PC from the vector table at ADDR (default: the image's\n"
    "                     .isr_vector, else its lowest written address)\n"
    "  --no-poll-wait     poll without waiting bwPollTimeout (emulated boards in instant\n"
    "                     timing; a real ROM would be polled too early)\n"
    "  --json             print the plan and the outcome as one JSON object (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 programmed (and verified), 1 refused, verify mismatch or device error,\n"
    "2 bad input or usage, 3 connection failed\n";

#define MAX_MISMATCHES 10 /* listed; the rest are counted */

typedef struct flash_args {
	const char *conn;
	const char *part;
	const char *board;
	bool skip_volatile, no_verify, json, no_poll_wait;
	bool leave, has_leave_address;
	uint32_t leave_address;
	ft_cli_files files;
} flash_args;

typedef struct mismatch {
	uint32_t addr;
	uint8_t expected, actual;
	char where[240];
} mismatch;

/* What happened, for the summary and JSON. */
typedef struct outcome {
	const char *failed_phase; /* NULL: nothing failed */
	ft_diag error;            /* device error */
	char where[240];          /* where the failing address is in the image */
	bool has_address;
	uint32_t address;
	size_t sectors;
	uint64_t erased, written, verified;
	size_t mismatch_count;
	mismatch mismatches[MAX_MISMATCHES];
	bool left;
	uint32_t leave_address;
} outcome;

enum {
	OPT_CONNECT = 256,
	OPT_PART,
	OPT_BOARD,
	OPT_SKIP_VOLATILE,
	OPT_ADDRESS,
	OPT_NO_VERIFY,
	OPT_LEAVE,
	OPT_NO_POLL_WAIT,
	OPT_JSON,
};

static const struct option long_options[] = {
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"part", required_argument, NULL, OPT_PART},
    {"board", required_argument, NULL, OPT_BOARD},
    {"skip-volatile", no_argument, NULL, OPT_SKIP_VOLATILE},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
    {"leave", optional_argument, NULL, OPT_LEAVE},
    {"no-poll-wait", no_argument, NULL, OPT_NO_POLL_WAIT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --leave takes its address as --leave=ADDR or as the next argument when that is a number. */
static bool parse_leave(int argc, char **argv, flash_args *args)
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

static int parse_args(int argc, char **argv, flash_args *args)
{
	memset(args, 0, sizeof(*args));
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONNECT: args->conn = optarg; break;
		case OPT_PART: args->part = optarg; break;
		case OPT_BOARD: args->board = optarg; break;
		case OPT_SKIP_VOLATILE: args->skip_volatile = true; break;
		case OPT_NO_VERIFY: args->no_verify = true; break;
		case OPT_NO_POLL_WAIT: args->no_poll_wait = true; break;
		case OPT_JSON: args->json = true; break;
		case OPT_ADDRESS:
			if (!ft_cli_parse_number("flash", "--address", optarg,
			                         &args->files.address))
				return FT_EXIT_USAGE;
			args->files.has_address = true;
			break;
		case OPT_LEAVE:
			if (!parse_leave(argc, argv, args))
				return FT_EXIT_USAGE;
			break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default: return ft_cli_bad_option("flash", opt, argv);
		}
	}
	args->files.paths = argv + optind;
	args->files.count = (size_t)(argc - optind);
	if (args->files.count == 0) {
		ft_cli_error("flash: no FILE given (try 'flashtwin flash --help')");
		return FT_EXIT_USAGE;
	}
	if (!args->conn) {
		ft_cli_error("flash: say where the device is: --connect usb, usb:SERIAL or "
		             "usbip://HOST:PORT");
		return FT_EXIT_USAGE;
	}
	if (args->part && args->board) {
		ft_cli_error("flash: give --part or --board, not both");
		return FT_EXIT_USAGE;
	}
	return -1;
}

/* ---- the work --------------------------------------------------------------------------- */

static void device_failed(ft_cli_session *s, const ft_plan *plan, outcome *o, const char *phase,
                          const ft_diag *diag)
{
	o->failed_phase = phase;
	o->error = *diag;
	o->has_address = true;
	o->address = ft_cli_failed_address(s);
	ft_cli_locate(plan, NULL, o->address, o->where, sizeof(o->where));
	ft_cli_device_error(s, diag, o->where);
}

static bool erase(ft_cli_session *s, const ft_plan *plan, outcome *o)
{
	size_t count = ft_plan_erase_count(plan);
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += ft_plan_erase_at(plan, i)->size;
	char what[64], size[24];
	ft_plan_format_size(total, size, sizeof(size));
	snprintf(what, sizeof(what), "%zu sector%s (%s)", count, count == 1 ? "" : "s", size);
	ft_cli_progress_begin(&s->progress, "erase", total, what);
	for (size_t i = 0; i < count; i++) {
		const ft_plan_erase *e = ft_plan_erase_at(plan, i);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_cli_step_start(s, e->start);
		if (ft_cli_select_alt_for(s, e->start, &diag) != FT_OK ||
		    ft_dfuse_erase_sector(s->dev, e->start, &diag) != FT_OK) {
			device_failed(s, plan, o, "erase", &diag);
			return false;
		}
		char line[96], range[40];
		ft_cli_range_text(range, sizeof(range), e->start, e->size);
		snprintf(line, sizeof(line), "bank %u sector %u  %s", e->bank, e->sector, range);
		ft_cli_progress_step(&s->progress, e->size, line);
		o->sectors++;
		o->erased += e->size;
	}
	ft_cli_progress_end(&s->progress);
	return true;
}

static bool download(ft_cli_session *s, const ft_plan *plan, outcome *o)
{
	size_t count = ft_plan_write_count(plan);
	uint64_t total = ft_plan_get_totals(plan)->write_bytes;
	char what[64], size[24];
	ft_plan_format_size(total, size, sizeof(size));
	snprintf(what, sizeof(what), "%s in %zu write%s", size, count, count == 1 ? "" : "s");
	ft_cli_progress_begin(&s->progress, "download", total, what);
	for (size_t i = 0; i < count; i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_cli_step_start(s, w->start);
		if (ft_cli_select_alt_for(s, w->start, &diag) != FT_OK ||
		    ft_dfuse_write(s->dev, w->start, w->data, w->size, &diag) != FT_OK) {
			device_failed(s, plan, o, "download", &diag);
			return false;
		}
		char line[96], range[40];
		ft_cli_range_text(range, sizeof(range), w->start, w->size);
		ft_plan_format_size(w->size, size, sizeof(size));
		snprintf(line, sizeof(line), "%s  %s", range, size);
		ft_cli_progress_step(&s->progress, w->size, line);
		o->written += w->size;
	}
	ft_cli_progress_end(&s->progress);
	return true;
}

/* The bytes the plan writes to [v->start, v->start + v->size). */
static void expected_bytes(const ft_plan *plan, const ft_range *v, uint8_t *out)
{
	memset(out, 0xFF, v->size);
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		uint64_t lo = w->start > v->start ? w->start : v->start;
		uint64_t hi_w = (uint64_t)w->start + w->size, hi_v = (uint64_t)v->start + v->size;
		uint64_t hi = hi_w < hi_v ? hi_w : hi_v;
		if (lo < hi)
			memcpy(out + (lo - v->start), w->data + (lo - w->start), (size_t)(hi - lo));
	}
}

static void compare(const ft_plan *plan, const ft_range *v, const uint8_t *want, const uint8_t *got,
                    outcome *o)
{
	for (uint32_t i = 0; i < v->size; i++) {
		if (want[i] == got[i])
			continue;
		if (o->mismatch_count < MAX_MISMATCHES) {
			mismatch *m = &o->mismatches[o->mismatch_count];
			m->addr = v->start + i;
			m->expected = want[i];
			m->actual = got[i];
			ft_cli_locate(plan, NULL, m->addr, m->where, sizeof(m->where));
		}
		o->mismatch_count++;
	}
}

static bool verify(ft_cli_session *s, const ft_plan *plan, outcome *o)
{
	size_t count = ft_plan_verify_count(plan);
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += ft_plan_verify_at(plan, i)->size;
	char what[64], size[24];
	ft_plan_format_size(total, size, sizeof(size));
	snprintf(what, sizeof(what), "%s read back", size);
	ft_cli_progress_begin(&s->progress, "verify", total, what);
	for (size_t i = 0; i < count; i++) {
		const ft_range *v = ft_plan_verify_at(plan, i);
		uint8_t *want = malloc(v->size ? v->size : 1), *got = malloc(v->size ? v->size : 1);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_error err = !want || !got
		                   ? ft_diag_set(&diag, FT_ERR_NO_MEM, NULL, "out of memory")
		                   : FT_OK;
		ft_cli_step_start(s, v->start);
		if (!err)
			err = ft_cli_select_alt_for(s, v->start, &diag);
		if (!err)
			err = ft_dfuse_read(s->dev, v->start, got, v->size, &diag);
		if (!err) {
			size_t before = o->mismatch_count;
			expected_bytes(plan, v, want);
			compare(plan, v, want, got, o);
			o->verified += v->size;
			char line[96], range[40];
			ft_cli_range_text(range, sizeof(range), v->start, v->size);
			snprintf(line, sizeof(line), "%s  %s", range,
			         o->mismatch_count == before ? "identical" : "DIFFERS");
			ft_cli_progress_step(&s->progress, v->size, line);
		}
		free(want);
		free(got);
		if (err) {
			device_failed(s, plan, o, "verify", &diag);
			return false;
		}
	}
	ft_cli_progress_end(&s->progress);
	return o->mismatch_count == 0;
}

/* The vector table the device should start from: the image's .isr_vector, else the lowest
 * address written. */
static uint32_t vector_base(const ft_plan *plan)
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

static bool leave(ft_cli_session *s, const flash_args *args, const ft_plan *plan, outcome *o)
{
	o->leave_address = args->has_leave_address ? args->leave_address : vector_base(plan);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_cli_step_start(s, o->leave_address);
	if (ft_dfuse_leave(s->dev, o->leave_address, &diag) != FT_OK) {
		device_failed(s, plan, o, "leave", &diag);
		return false;
	}
	o->left = true;
	return true;
}

static void run(ft_cli_session *s, const flash_args *args, const ft_plan *plan, outcome *o)
{
	if (!erase(s, plan, o) || !download(s, plan, o))
		return;
	if (!args->no_verify && !verify(s, plan, o)) {
		if (!o->failed_phase)
			o->failed_phase = "verify";
		return;
	}
	if (args->leave)
		leave(s, args, plan, o);
}

/* ---- reporting -------------------------------------------------------------------------- */

static void print_outcome(const flash_args *args, const outcome *o)
{
	char size[24];
	if (o->sectors) {
		ft_plan_format_size(o->erased, size, sizeof(size));
		printf("erased    %zu sector%s (%s)\n", o->sectors, o->sectors == 1 ? "" : "s",
		       size);
	}
	if (o->written) {
		ft_plan_format_size(o->written, size, sizeof(size));
		printf("written   %s\n", size);
	}
	if (o->verified || o->mismatch_count) {
		ft_plan_format_size(o->verified, size, sizeof(size));
		if (o->mismatch_count == 0)
			printf("verified  %s read back, identical\n", size);
		else
			printf("verify    %zu byte%s differ in %s read back:\n", o->mismatch_count,
			       o->mismatch_count == 1 ? "" : "s", size);
	}
	for (size_t i = 0; i < o->mismatch_count && i < MAX_MISMATCHES; i++) {
		const mismatch *m = &o->mismatches[i];
		printf("          0x%08X reads 0x%02X, expected 0x%02X  (%s)\n", m->addr, m->actual,
		       m->expected, m->where);
	}
	if (o->mismatch_count > MAX_MISMATCHES)
		printf("          ... and %zu more\n", o->mismatch_count - MAX_MISMATCHES);
	if (args->no_verify && !o->failed_phase)
		printf("verify    skipped (--no-verify)\n");
	if (o->left)
		printf("left      DFU mode; the device starts from the vector table at 0x%08X\n",
		       o->leave_address);
	if (!o->failed_phase)
		printf("\nflashed\n");
	else if (o->mismatch_count && strcmp(o->failed_phase, "verify") == 0 &&
	         o->error.code == FT_OK)
		printf("\nfailed: the flash does not hold what was written\n");
	else
		printf("\nfailed during %s at 0x%08X (%s): %s\n", o->failed_phase, o->address,
		       o->where, o->error.message);
}

static json_t *outcome_json(const flash_args *args, const outcome *o)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < o->mismatch_count && i < MAX_MISMATCHES; i++) {
		const mismatch *m = &o->mismatches[i];
		json_array_append_new(list,
		                      json_pack("{s:o, s:i, s:i, s:s}", "address",
		                                ft_cli_json_hex(m->addr), "expected", m->expected,
		                                "actual", m->actual, "where", m->where));
	}
	json_t *error = json_null();
	if (o->failed_phase && o->error.code != FT_OK)
		error = json_pack("{s:s, s:s, s:s, s:o, s:s}", "code", ft_error_name(o->error.code),
		                  "origin", o->error.origin, "message", o->error.message, "address",
		                  ft_cli_json_hex(o->address), "where", o->where);
	return json_pack(
	    "{s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:b}", "failed_phase",
	    o->failed_phase ? json_string(o->failed_phase) : json_null(), "sectors",
	    (json_int_t)o->sectors, "erased_bytes", (json_int_t)o->erased, "written_bytes",
	    (json_int_t)o->written, "verified_bytes", (json_int_t)o->verified, "verify",
	    json_string(args->no_verify     ? "skipped"
	                : o->mismatch_count ? "mismatch"
	                : o->verified       ? "identical"
	                                    : "not-reached"),
	    "mismatch_count", (json_int_t)o->mismatch_count, "mismatches", list, "error", error,
	    "leave_address", o->left ? ft_cli_json_hex(o->leave_address) : json_null(), "left",
	    o->left);
}

/* One JSON object: the plan, then the device and the outcome when there were some. */
static int report_json(const ft_cli_check_input *input, const ft_plan *plan,
                       const ft_cli_session *s, const ft_cli_identity *id, const outcome *o,
                       const flash_args *args, const char *status, int exit_status)
{
	json_t *root = ft_cli_plan_json(input, plan);
	if (root) {
		json_object_set_new(root, "status", json_string(status));
		json_object_set_new(root, "exit_status", json_integer(exit_status));
		json_object_set_new(root, "device",
		                    s && s->dev ? ft_cli_device_json(s, id) : json_null());
		json_object_set_new(root, "result", o ? outcome_json(args, o) : json_null());
	}
	if (!ft_cli_dump_json(stdout, root))
		ft_cli_error("flash: cannot write JSON (out of memory?)");
	return exit_status;
}

/* A refused or empty plan: the same table check prints; nothing was touched. */
static int refuse(const ft_cli_check_input *input, const ft_plan *plan, const ft_cli_session *s,
                  const ft_cli_identity *id, const flash_args *args)
{
	const char *status = ft_plan_status_name(ft_plan_get_status(plan));
	if (args->json)
		return report_json(input, plan, s, id, NULL, args, status, FT_EXIT_REFUSED);
	ft_cli_render_plan_text(stdout, input, plan);
	return FT_EXIT_REFUSED;
}

static int program(ft_cli_session *s, const ft_cli_check_input *input, const ft_plan *plan,
                   const ft_cli_identity *id, const flash_args *args)
{
	if (!args->json) {
		ft_cli_print_device(stdout, s, id, false);
		putchar('\n');
		ft_cli_render_plan_text(stdout, input, plan);
		putchar('\n');
		fflush(stdout);
	}
	outcome o;
	memset(&o, 0, sizeof(o));
	run(s, args, plan, &o);
	int exit_status = o.failed_phase ? FT_EXIT_REFUSED : FT_EXIT_OK;
	if (args->json)
		return report_json(input, plan, s, id, &o, args, o.failed_phase ? "failed" : "ok",
		                   exit_status);
	print_outcome(args, &o);
	return exit_status;
}

/* Connects, settles the part and the plan, and programs. */
static int flash_device(const flash_args *args, const ft_part *given, ft_plan *given_plan,
                        const ft_cli_check_input *input)
{
	ft_cli_session s;
	int status = ft_cli_connect(&s, "flash", args->conn, args->no_poll_wait, args->json);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_identity id;
	status = ft_cli_settle_part(&s, given, args->json, &id);
	ft_plan *plan = given_plan;
	if (status == FT_EXIT_OK && !id.part) {
		ft_cli_error("flash: cannot tell which part this is; give --part or --board "
		             "(nothing was touched)");
		status = FT_EXIT_REFUSED;
	} else if (status == FT_EXIT_OK && id.given && id.agreement == FT_DFUSE_DISAGREES) {
		ft_cli_error("flash: refusing to program a device that does not match %s: erases "
		             "would follow another sector map (nothing was touched); check "
		             "--part/--board, or leave them out to go by the descriptor",
		             id.part->name);
		status = FT_EXIT_REFUSED;
	}
	ft_error err = FT_OK;
	if (status == FT_EXIT_OK && !plan) {
		plan = ft_cli_plan(id.part, input->image, FT_ROUTE_DFU, args->skip_volatile, &err);
		status = plan ? FT_EXIT_OK : FT_EXIT_USAGE;
	}
	if (status == FT_EXIT_OK)
		status = err == FT_OK ? program(&s, input, plan, &id, args)
		                      : refuse(input, plan, &s, &id, args);
	if (plan != given_plan)
		ft_plan_free(plan);
	ft_cli_disconnect(&s);
	return status;
}

int ft_cli_flash(int argc, char **argv)
{
	flash_args args;
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	const ft_part *given = NULL;
	if ((args.part || args.board) && !(given = ft_cli_resolve_part(args.part, args.board)))
		return FT_EXIT_USAGE;
	ft_image *image;
	status = ft_cli_read_image("flash", &args.files, args.json, &image);
	if (status != FT_EXIT_OK)
		return status;
	ft_cli_check_input input = {
	    .command = "flash", .files = &args.files, .board = args.board, .image = image};
	/* With the part known, a refused plan is reported before any connection is made. */
	ft_plan *plan = NULL;
	ft_error err = FT_OK;
	if (given && !(plan = ft_cli_plan(given, image, FT_ROUTE_DFU, args.skip_volatile, &err)))
		status = FT_EXIT_USAGE;
	else if (plan && err != FT_OK)
		status = refuse(&input, plan, NULL, NULL, &args);
	else
		status = flash_device(&args, given, plan, &input);
	ft_plan_free(plan);
	ft_image_free(image);
	return status;
}
