/* The flashtwin command: what its source files share. Nothing here is library API.
 *
 * Exit statuses (docs/cli.md): 0 done / programmable, 1 refused or failed (plan refused, verify
 * mismatch, device error), 2 bad input or usage, 3 the connection to the device failed.
 *
 * Output: results on stdout (text, or one JSON object with --json); errors, warnings and
 * progress on stderr.
 */
#ifndef FT_CLI_H
#define FT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "models/board.h"
#include "models/error.h"
#include "models/parts.h"
#include "programmer/dfuse/engine.h"
#include "programmer/dfuse/identify.h"
#include "programmer/image/image.h"
#include "programmer/plan.h"
#include "programmer/swd/loader_run.h"
#include "programmer/swd/stldr.h"
#include "programmer/swd/swd.h"
#include "programmer/transport/transport.h"

#define FT_CLI_VERSION "0.1.0"

enum {
	FT_EXIT_OK = 0,
	FT_EXIT_REFUSED = 1, /* refused, verify failed, device error */
	FT_EXIT_USAGE = 2,
	FT_EXIT_CONNECT = 3,
};

/* The exit status of a library error met while working on a connected device: FT_EXIT_CONNECT
 * when the connection broke (FT_ERR_IO, FT_ERR_PROTOCOL), FT_EXIT_USAGE for what the user gave
 * (FT_ERR_FORMAT, FT_ERR_RANGE, FT_ERR_INVALID_ARG), FT_EXIT_REFUSED for everything else: a
 * refusal before anything was touched (FT_ERR_PROTECTED, FT_ERR_REFUSED, FT_ERR_STATE, ...) or a
 * device failure (FT_ERR_DEVICE, FT_ERR_VERIFY, FT_ERR_TIMEOUT, FT_ERR_LOCKED). */
int ft_cli_exit_status(ft_error err);

/* Subcommands: argv[0] is the subcommand's name; each returns an exit status. */
int ft_cli_check(int argc, char **argv);
int ft_cli_parts(int argc, char **argv);
int ft_cli_list(int argc, char **argv);
int ft_cli_info(int argc, char **argv);
int ft_cli_flash(int argc, char **argv);
int ft_cli_read(int argc, char **argv);
int ft_cli_erase(int argc, char **argv);
int ft_cli_convert(int argc, char **argv);
int ft_cli_ob(int argc, char **argv);

/* ---- messages (main.c) ------------------------------------------------------------------- */

/* "flashtwin: MESSAGE" on stderr. */
void ft_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "flashtwin: warning: MESSAGE" on stderr. */
void ft_cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A library diagnostic as "flashtwin: FILE: ORIGIN: MESSAGE" on stderr; the origin is left out
 * when empty, and its leading "FILE " is not repeated. */
void ft_cli_diag(const char *file, const ft_diag *diag);

/* The usage error of an option parser: "COMMAND: OPTION needs a value" or "COMMAND: unknown
 * option 'X' (try 'flashtwin COMMAND --help')", for getopt_long's ':' and '?'. Returns
 * FT_EXIT_USAGE. */
int ft_cli_bad_option(const char *command, int opt, char **argv);

/* Parses an address or a length (ft_parse_address syntax) given to what ("--address"). On
 * failure prints "COMMAND: WHAT 'TEXT' is not an address (0x08000000)" and returns false. */
bool ft_cli_parse_number(const char *command, const char *what, const char *text, uint32_t *out);

/* ---- lookup.c ---------------------------------------------------------------------------- */

/* Resolves a part spelling. On failure prints "unknown part" with the closest names of the table
 * and returns NULL. */
const ft_part *ft_cli_find_part(const char *spelling);

/* The board's file: boards/NAME.board, looked for in $FLASHTWIN_BOARDS, ./boards and the boards/
 * directory above the executable; NAME may also be a path to a .board file. On success writes the
 * path used (at most len bytes) and fills *board; otherwise prints why, with the known names,
 * and returns false. */
bool ft_cli_find_board(const char *name, char *path, size_t len, ft_board *board);

/* The part of --part PART or --board BOARD (exactly one of them non-NULL). Prints why and
 * returns NULL when it cannot be resolved. */
const ft_part *ft_cli_resolve_part(const char *part, const char *board);

/* Damerau-Levenshtein distance between a and b, case-insensitive; 'x' or 'X' in b matches any one
 * character (the table's "STM32H743xI" stands for every package letter). */
size_t ft_cli_distance(const char *a, const char *b);

/* Parses a --format value naming a format the writers take (bin, ihex, srec, dfuse); prints
 * why not and returns false otherwise. */
bool ft_cli_parse_format(const char *command, const char *text, ft_image_format *out);

/* ---- device.c: the options every device command shares, and the route they pick ----------- */

/* getopt_long codes of the shared options; a command's own codes start at FT_CLI_OPT_OWN. */
enum {
	FT_CLI_OPT_CONNECT = 256,
	FT_CLI_OPT_PART,
	FT_CLI_OPT_BOARD,
	FT_CLI_OPT_NO_POLL_WAIT,
	FT_CLI_OPT_TIMEOUT,
	FT_CLI_OPT_OWN,
};

/* The getopt_long entries of the shared options, for the head of a command's table; the short
 * option string of a device command includes "c:" (-c CONN). */
/* clang-format off */
#define FT_CLI_DEVICE_OPTIONS                                                                      \
	{"connect", required_argument, NULL, FT_CLI_OPT_CONNECT},                                  \
	{"part", required_argument, NULL, FT_CLI_OPT_PART},                                        \
	{"board", required_argument, NULL, FT_CLI_OPT_BOARD},                                      \
	{"no-poll-wait", no_argument, NULL, FT_CLI_OPT_NO_POLL_WAIT},                              \
	{"timeout", required_argument, NULL, FT_CLI_OPT_TIMEOUT}
/* clang-format on */

/* The two routes to a device, picked by the connection string. */
typedef enum ft_cli_route {
	FT_CLI_DFU, /* usb, usb:SERIAL, usbip://...: the system bootloader's USB DFU */
	FT_CLI_SWD, /* gdb://HOST:PORT, gdb:/dev/...: the debug port through a GDB server */
} ft_cli_route;

typedef struct ft_cli_device_args {
	const char *command;
	const char *conn;    /* --connect, -c */
	const char *part;    /* --part */
	const char *board;   /* --board */
	bool no_poll_wait;   /* DFU: no bwPollTimeout sleeps; SWD: no sleeps between flash polls */
	unsigned timeout_ms; /* SWD: --timeout, per GDB exchange; 0 for the default */
	/* Set by ft_cli_device_settle: */
	ft_cli_route route;
	const ft_part *given; /* the part of --part/--board, NULL without them */
} ft_cli_device_args;

/* Starts a command's parse: clears a and names the command. */
void ft_cli_device_init(ft_cli_device_args *a, const char *command);

/* Handles option opt of getopt_long when it is a shared one (FT_CLI_OPT_CONNECT ..
 * FT_CLI_OPT_TIMEOUT, 'c'); anything else is the command's usage error (ft_cli_bad_option).
 * Returns -1 when handled, else the exit status. */
int ft_cli_device_option(ft_cli_device_args *a, int opt, char **argv);

/* After the parse: --connect is required, --part and --board exclude each other, the route
 * follows from the connection string, SWD-only options (--timeout) are refused on DFU, and the
 * part named is resolved. Prints why not; returns -1 when usable, else the exit status. */
int ft_cli_device_settle(ft_cli_device_args *a);

/* Prints "COMMAND: OPTION applies to WHICH connections (...)" and returns FT_EXIT_USAGE: an
 * option of one route given with the other. */
int ft_cli_route_only(const ft_cli_device_args *a, const char *option, ft_cli_route route);

/* ---- inputs.c: firmware files and plans --------------------------------------------------- */

typedef struct ft_cli_files {
	char *const *paths;
	size_t count;
	bool has_address; /* --address for raw binaries */
	uint32_t address;
} ft_cli_files;

/* Reads every file into a new image and finishes it. On failure prints the diagnostic (and, with
 * json, the error object on stdout), frees what it made and returns FT_EXIT_USAGE; else
 * FT_EXIT_OK with *out set. */
int ft_cli_read_image(const char *command, const ft_cli_files *files, bool json, ft_image **out);

/* Copies the image's segments into a new array (the caller frees it); NULL when out of memory
 * (printed). */
ft_segment *ft_cli_segments(const ft_image *image, size_t *count);

/* Plans the image for part over route, with the device of an external loader (NULL: none).
 * Returns the plan with *err FT_OK (programmable) or FT_ERR_REFUSED (refused or empty), or NULL
 * after printing why (out of memory). */
ft_plan *ft_cli_plan(const ft_part *part, const ft_image *image, ft_route route, bool skip_volatile,
                     const ft_stldr *loader, ft_error *err);

/* ---- flash: the route-independent run (cmd_flash.c) and its routes (flash_dfu.c,
 * flash_swd.c) ------------------------------------------------------------------------------ */

typedef struct ft_cli_flash_args {
	ft_cli_device_args dev;
	bool skip_volatile;
	bool json;                     /* --json: one event object per line (docs/cli.md) */
	bool no_verify;                /* --no-verify, --verify none */
	ft_swd_verify_mode verify;     /* --verify (READBACK by default) */
	bool leave, has_leave_address; /* --leave [ADDR], --reset-run */
	uint32_t leave_address;
	ft_swd_reset reset;    /* --reset aircr|monitor */
	const char *loader;    /* --loader FILE.stldr */
	const ft_stldr *stldr; /* that loader (or the board file's) once read; NULL without */
	ft_cli_files files;
} ft_cli_flash_args;

#define FT_CLI_MAX_MISMATCHES 10 /* listed; the rest are counted */

typedef struct ft_cli_mismatch {
	uint32_t addr;
	uint8_t expected, actual;
	char where[240];
} ft_cli_mismatch;

/* What a programming run did, for the summary and the JSON result. */
typedef struct ft_cli_outcome {
	const char *failed_phase; /* NULL: nothing failed */
	int failure_status;       /* exit status of the failure; 0 means FT_EXIT_REFUSED */
	ft_diag error;            /* device error (code FT_OK for a mismatch found here) */
	bool has_address;         /* the failing address is known */
	uint32_t address;
	char where[240];     /* where it is in the image */
	size_t advice_count; /* lines explaining the failure (SWD) */
	char advice[FT_SWD_MAX_ADVICE][320];
	size_t sectors;
	uint64_t erased, written, verified;
	uint64_t volatile_bytes; /* of written: RAM, lost at reset */
	const char *verified_by; /* "read back" (default), "by the flash CRC unit" */
	size_t mismatch_count;
	ft_cli_mismatch mismatches[FT_CLI_MAX_MISMATCHES];
	bool started;           /* the firmware was started */
	bool has_start_address; /* DFU leave: the vector table it starts from */
	uint32_t start_address;
	char start_text[160];  /* how it was started, for the summary */
	char loader_text[200]; /* the external loader that ran, for the summary; "" for none */
} ft_cli_outcome;

/* How flash reaches a device: one ops table per route. ctx is the route's own session: ctx_size
 * zeroed bytes that the flow allocates and frees. */
typedef struct ft_cli_flash_route {
	ft_route route; /* the rules the plan follows */
	size_t ctx_size;
	/* Rejects the options the route cannot honour (printed). Returns -1 or FT_EXIT_USAGE. */
	int (*check_args)(const ft_cli_flash_args *args);
	/* Connects and settles the part with what the device says (--part/--board checked, warnings
	 * printed); prints why not, with json also the error object. Returns the exit status; on
	 * FT_EXIT_OK disconnect is called once the work is done. */
	int (*connect)(const ft_cli_flash_args *args, void *ctx);
	/* The part to plan for; NULL after printing why the device is refused (nothing touched),
	 * with *status the exit status. */
	const ft_part *(*part)(void *ctx, int *status);
	void (*print_device)(void *ctx, FILE *out);
	json_t *(*device_json)(void *ctx); /* the object info --json shows; NULL out of memory */
	/* Erases, writes, verifies and starts the firmware as args say, filling o; a failure is
	 * printed as it happens and stops the run. */
	void (*program)(void *ctx, const ft_cli_flash_args *args, const ft_plan *plan,
	                ft_cli_outcome *o);
	void (*disconnect)(void *ctx);
} ft_cli_flash_route;

extern const ft_cli_flash_route ft_cli_flash_dfu; /* flash_dfu.c */
extern const ft_cli_flash_route ft_cli_flash_swd; /* flash_swd.c */

/* What a progress phase covers, for its first line: "1 sector (128 KiB)", "288 B in 1 write",
 * "288 B read back". */
void ft_cli_erase_what(const ft_plan *plan, char *buf, size_t len);
void ft_cli_write_what(const ft_plan *plan, char *buf, size_t len);
void ft_cli_verify_what(const ft_plan *plan, char *buf, size_t len);

/* The step line of an erased sector: "bank 1 sector 0  0x08000000-0x0801FFFF". */
void ft_cli_erase_step(const ft_plan_erase *e, char *buf, size_t len);

/* The vector table the firmware starts from: the image's .isr_vector, else the lowest address
 * the plan writes. */
uint32_t ft_cli_vector_base(const ft_plan *plan);

/* ---- loader.c: --loader FILE.stldr ------------------------------------------------------ */

/* Reads an external loader. Prints why not and returns NULL (bad input, exit 2). */
ft_stldr *ft_cli_loader_load(const char *command, const char *path);

/* The loader a board file names (loader = NAME), looked for next to the board file, then in the
 * loaders/ and fixtures/loaders/ of this build. NULL when board is NULL or names none (nothing
 * printed), or when it cannot be found or read: printed with *status FT_EXIT_USAGE when
 * required, else silently. */
ft_stldr *ft_cli_board_loader(const char *command, const char *board, bool required, int *status);

/* Whether the plan writes anything through its loader. */
bool ft_cli_plan_uses_loader(const ft_plan *plan);

/* read and erase: the loader for addresses at addr: --loader's (path), else the board file's
 * when addr lies in an external-memory window of the part named. NULL with *status FT_EXIT_OK
 * when none applies; NULL with another status after printing why. */
ft_stldr *ft_cli_loader_for(const ft_cli_device_args *dev, const char *path, uint32_t addr,
                            int *status);

/* Whether the plan refuses segments for want of a loader (rule ext-needs-loader). */
bool ft_cli_plan_needs_loader(const ft_plan *plan);

/* Checks the loader against part (its RAM, the runner's breakpoint, stack and buffer) and
 * prints each finding; warns when the plan has nothing for it. Returns FT_EXIT_OK, or
 * FT_EXIT_REFUSED (printed) for a fatal finding. Touches no device. */
int ft_cli_loader_check(const char *command, const ft_stldr *loader, const ft_part *part,
                        const ft_plan *plan);

/* "flashtwin-ramdisk-h743 (SRAM 64 KiB at 0x30000000, code at 0x24000004-0x24000193)". */
void ft_cli_loader_text(const ft_stldr *loader, char *buf, size_t len);

/* ---- render.c ---------------------------------------------------------------------------- */

/* What a plan rendered in text or JSON needs besides the plan. */
typedef struct ft_cli_check_input {
	const char *command; /* "check", "flash" */
	const ft_cli_files *files;
	const char *board; /* NULL without --board */
	const ft_image *image;
} ft_cli_check_input;

void ft_cli_render_plan_text(FILE *out, const ft_cli_check_input *input, const ft_plan *plan);

/* The plan as the JSON object docs/check-json.md describes ("command" is input->command);
 * NULL when out of memory. */
json_t *ft_cli_plan_json(const ft_cli_check_input *input, const ft_plan *plan);

/* Prints root to out, indented, and releases it. false when root is NULL or writing failed. */
bool ft_cli_dump_json(FILE *out, json_t *root);

/* "0x08000000" */
json_t *ft_cli_json_hex(uint32_t value);

/* A command that failed before it could report anything else, as the same JSON object with
 * "status": "error" and the given exit status; NULL when out of memory. */
json_t *ft_cli_error_json(const char *command, const char *file, const ft_diag *diag,
                          int exit_status);

/* Prints root, a command's --json report, to out and releases it: indented, or, for flash, whose
 * --json is a stream of event lines (docs/cli.md), on one line as the last event, "result". */
void ft_cli_report_json(FILE *out, const char *command, json_t *root);

/* ft_cli_error_json printed to out by ft_cli_report_json. */
void ft_cli_render_error_json(FILE *out, const char *command, const char *file, const ft_diag *diag,
                              int exit_status);

/* "0x08000000-0x0801FFFF" or "0x08000000 (empty)". */
void ft_cli_range_text(char *buf, size_t len, uint32_t start, uint32_t size);

/* ---- progress.c: what a long operation shows on stderr ---------------------------------- */

typedef struct ft_cli_progress {
	FILE *out;
	bool tty;          /* a bar redrawn in place; else one plain line per step */
	const char *phase; /* "erase", "download", "verify", "upload" */
	uint64_t total;    /* bytes of the phase */
	uint64_t base;     /* bytes of the steps finished before the current one */
	uint64_t done;     /* bytes finished */
	int drawn;         /* permille last drawn, -1 for none */
	bool bar_open;     /* a bar line is on screen without its newline */
	FILE *events;      /* flash --json: event objects go here; NULL for none */
	uint64_t reported; /* write bytes last reported as an event */
} ft_cli_progress;

/* Progress on stderr; a bar when stderr is a terminal. */
void ft_cli_progress_init(ft_cli_progress *p);

/* Starts a phase of total bytes; plain output prints "PHASE: WHAT". */
void ft_cli_progress_begin(ft_cli_progress *p, const char *phase, uint64_t total, const char *what);

/* Bytes finished so far within the current step (the engine's progress callback). */
void ft_cli_progress_report(ft_cli_progress *p, uint64_t done_in_step);

/* Ends one step of bytes (an erased sector, a written range); plain output prints "  LINE"
 * when line is not NULL. */
void ft_cli_progress_step(ft_cli_progress *p, uint64_t bytes, const char *line);

/* With p->events set, each erased sector is an "erase" event, the bytes written a "write" event
 * every FT_CLI_EVENT_STRIDE and at the end of the phase, and a finished verify a "verify" event
 * (docs/cli.md). */
#define FT_CLI_EVENT_STRIDE (64u * 1024u)

/* Prints one event object on its own line to out: {"event": name, ...fields}; fields is taken
 * (may be NULL). */
void ft_cli_event(FILE *out, const char *name, json_t *fields);

/* Ends the phase (the bar gets its newline). */
void ft_cli_progress_end(ft_cli_progress *p);

/* Clears a bar in progress so that a message can be printed (the next update redraws it). */
void ft_cli_progress_interrupt(ft_cli_progress *p);

/* ---- session.c: the connection to a DFU device ------------------------------------------- */

typedef struct ft_cli_session {
	const char *command;
	const char *conn;
	ft_transport *transport;
	ft_dfuse_dev *dev;
	ft_dfuse_options options;
	ft_cli_progress progress;
	uint32_t step_address; /* start of the engine call in progress, for error positions */
	uint32_t last_done;    /* bytes of it finished when the engine last reported */
} ft_cli_session;

/* Connects to conn (usb, usb:SERIAL, usbip://HOST:PORT[/BUSID]) and opens the DFU device on it
 * (enumeration, alternate setting 0, dfuIDLE). no_poll_wait: poll GETSTATUS without sleeping
 * bwPollTimeout (emulated boards in instant timing). On failure prints why, with json the error
 * object on stdout, and returns FT_EXIT_CONNECT (or FT_EXIT_USAGE for a malformed connection
 * string); FT_EXIT_OK otherwise. */
int ft_cli_connect(ft_cli_session *s, const char *command, const char *conn, bool no_poll_wait,
                   bool json);

/* Opens the DFU device again on the same connection with force set: addresses outside the
 * descriptor's layouts are sent as given (the descriptor is known to be wrong). Returns
 * FT_EXIT_OK or, after printing why, FT_EXIT_CONNECT. */
int ft_cli_force_layouts(ft_cli_session *s, bool json);

void ft_cli_disconnect(ft_cli_session *s);

/* Selects the alternate setting whose layout holds addr (the current one when none does).
 * Returns the engine's error. */
ft_error ft_cli_select_alt_for(ft_cli_session *s, uint32_t addr, ft_diag *diag);

/* Marks the start of an engine call on [addr, ...) so that a failure can be placed:
 * ft_cli_failed_address then gives the first byte not finished. */
void ft_cli_step_start(ft_cli_session *s, uint32_t addr);
uint32_t ft_cli_failed_address(const ft_cli_session *s);

/* Prints a device failure: "flashtwin: ORIGIN: MESSAGE (WHERE)" and the device's state/status;
 * where (may be NULL or empty) places the failing address in the image. */
void ft_cli_device_error(ft_cli_session *s, const ft_diag *diag, const char *where);

#define FT_CLI_MAX_CANDIDATES 32

/* Which part a connected device is (identify.c). */
typedef struct ft_cli_identity {
	const ft_part *part; /* the part to go by; NULL when neither given nor identified */
	bool given;          /* from --part/--board, else from the descriptor */
	ft_dfuse_agreement agreement;     /* of the device with part */
	const ft_bootloader_quirk *quirk; /* FT_DFUSE_KNOWN_QUIRK: the ROM quirk it shows */
	char disagreement[400];           /* what differs, for anything but AGREES */
	size_t candidate_count;           /* parts the descriptor matches */
	ft_dfuse_candidate candidates[FT_CLI_MAX_CANDIDATES];
} ft_cli_identity;

/* Identifies the device on s: the part given (may be NULL) cross-checked against the
 * descriptor, or else the first part the descriptor matches. */
void ft_cli_identify(const ft_cli_session *s, const ft_part *given, ft_cli_identity *out);

/* ft_cli_identify, then ft_cli_identity_warn; when the descriptor shows a known ROM quirk, the
 * device is opened again with forced layouts (ft_cli_force_layouts), so that addresses the
 * part table has and the descriptor lacks can be reached. Returns FT_EXIT_OK or the failure
 * status (printed). */
int ft_cli_settle_part(ft_cli_session *s, const ft_part *given, bool json, ft_cli_identity *id);

/* ft_cli_connect to dev->conn, then ft_cli_settle_part with dev->given; on failure the session
 * is closed again. Returns FT_EXIT_OK or the failure status (printed). */
int ft_cli_open_dfu(ft_cli_session *s, const ft_cli_device_args *dev, bool json,
                    ft_cli_identity *id);

/* Prints what a command must warn about: a descriptor that shows a known ROM quirk (the part
 * table is used), one that disagrees with the given part, one that matches no part. */
void ft_cli_identity_warn(const ft_cli_identity *id);

/* "STM32H743xI, STM32H743xG, ... (12 parts)" into buf: the candidates' names. */
void ft_cli_candidates_text(const ft_cli_identity *id, char *buf, size_t len);

/* ---- swd_session.c: the connection to a debug port ---------------------------------------- */

/* What a command asks of the SWD session besides the shared options. */
typedef struct ft_cli_swd_config {
	ft_swd_verify_mode verify; /* FT_SWD_VERIFY_READBACK unless told */
	ft_swd_reset reset;        /* FT_SWD_RESET_AIRCR unless told */
} ft_cli_swd_config;

#define FT_CLI_SWD_PHASES (FT_SWD_PHASE_READ + 1)

typedef struct ft_cli_swd {
	const char *command;
	const char *conn;
	bool json; /* failures also go to stdout as the error object */
	ft_swd *swd;
	ft_swd_options options;
	ft_cli_progress progress;
	int phase; /* the ft_swd_phase on the progress display, -1 for none */
	/* Per phase: what progress_begin names (NULL: the size), the bytes the last report said
	 * were finished, and how many reports came (erase: sectors finished). */
	const char *what[FT_CLI_SWD_PHASES];
	uint64_t done[FT_CLI_SWD_PHASES];
	size_t reports[FT_CLI_SWD_PHASES];
	const ft_plan *plan; /* for the erase step lines; may be NULL */
	ft_ldrun *run;       /* the external loader's runner while one runs; its advice too */
} ft_cli_swd;

/* Opens conn through the GDB server and connects to the core (ft_swd_open, ft_swd_connect) with
 * the part of dev->given expected (NULL: identified). On failure prints the diagnostic and every
 * advice line (with json, the error object on stdout) and returns the exit status: FT_EXIT_USAGE
 * for a malformed connection string, FT_EXIT_CONNECT when the server cannot be reached or the
 * connection broke, FT_EXIT_REFUSED when the target refuses (a core that does not halt, another
 * part, not an STM32H7/N6); FT_EXIT_OK with s ready otherwise. */
int ft_cli_swd_connect(ft_cli_swd *s, const ft_cli_device_args *dev, const ft_cli_swd_config *cfg,
                       bool json);

/* Reports a failed SWD operation: ends the progress display, prints diag and the session's
 * advice lines, then what the failure means (nothing touched, a device failure, the connection
 * lost); with s->json also the error object (with "advice") on stdout. Returns
 * ft_cli_exit_status(err). */
int ft_cli_swd_failed(ft_cli_swd *s, ft_error err, const ft_diag *diag);

/* loader.c: Runs loader over the connected session s: a runner with the plan's RAM writes reserved
 * (plan NULL: read and erase, the loader is checked here first), its progress and warnings on s's
 * display, then Init. On failure prints it (ft_cli_swd_failed) and returns the exit status with
 * *out NULL; FT_EXIT_OK with *out and s->run set. Free with ft_cli_loader_stop. */
int ft_cli_loader_start(ft_cli_swd *s, const ft_stldr *loader, const ft_plan *plan, ft_ldrun **out);
void ft_cli_loader_stop(ft_cli_swd *s, ft_ldrun *run);

/* The session's advice lines as a JSON array (NULL when out of memory). */
json_t *ft_cli_swd_advice_json(const ft_cli_swd *s);

/* Ends the progress display. */
void ft_cli_swd_progress_done(ft_cli_swd *s);

void ft_cli_swd_disconnect(ft_cli_swd *s);

/* ---- render_swd.c: a target on the debug port ------------------------------------------- */

/* The connection, the part and how it was identified, the core's state and RDP; with full, also
 * what the GDB server offers (PacketSize, no-ack mode, register numbering). */
void ft_cli_print_swd(FILE *out, const ft_cli_swd *s, bool full);

/* The same as a JSON object (docs/cli.md); NULL when out of memory. */
json_t *ft_cli_swd_json(const ft_cli_swd *s);

/* ---- render_device.c ----------------------------------------------------------------------- */

/* The device and its part: identity and part always; with full, also the USB and DFU
 * descriptors and every alternate setting with its parsed layout. */
void ft_cli_print_device(FILE *out, const ft_cli_session *s, const ft_cli_identity *id, bool full);

/* The same as a JSON object (docs/cli.md); NULL when out of memory. */
json_t *ft_cli_device_json(const ft_cli_session *s, const ft_cli_identity *id);

/* ---- cmd_ob.c: option bytes field by field --------------------------------------------- */

/* The option registers of part found whole in a DFU option-byte image (image[0] is
 * FLASH_OPTSR_CUR, flash_regs + 0x1C; RM0433 §4.9); registers past its end are left out. */
void ft_cli_ob_from_image(const ft_part *part, const uint8_t *image, size_t len,
                          ft_swd_option_bytes *out);

/* Each register of ob followed by the fields part has in it, with value and meaning. */
void ft_cli_print_ob(FILE *out, const ft_part *part, const ft_swd_option_bytes *ob);

/* The same as {"registers": [...], "fields": [...]}; NULL when out of memory. */
json_t *ft_cli_ob_json(const ft_part *part, const ft_swd_option_bytes *ob);

/* ---- locate.c ---------------------------------------------------------------------------- */

/* Where addr is, for messages: "segment 3 (app.elf PT_LOAD[3]), .RxDecripSection, AHB SRAM1",
 * "flash-word padding after segment 0, Flash bank 1", or the region alone without a plan (plan
 * may be NULL; part then names the region). Writes at most len bytes. */
void ft_cli_locate(const ft_plan *plan, const ft_part *part, uint32_t addr, char *buf, size_t len);

#endif
