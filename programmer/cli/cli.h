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
#include "programmer/transport/transport.h"

#define FT_CLI_VERSION "0.1.0"

enum {
	FT_EXIT_OK = 0,
	FT_EXIT_REFUSED = 1, /* refused, verify failed, device error */
	FT_EXIT_USAGE = 2,
	FT_EXIT_CONNECT = 3,
};

/* Subcommands: argv[0] is the subcommand's name; each returns an exit status. */
int ft_cli_check(int argc, char **argv);
int ft_cli_parts(int argc, char **argv);
int ft_cli_list(int argc, char **argv);
int ft_cli_info(int argc, char **argv);
int ft_cli_flash(int argc, char **argv);
int ft_cli_read(int argc, char **argv);
int ft_cli_erase(int argc, char **argv);
int ft_cli_convert(int argc, char **argv);

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

/* Plans the image for part over route. Returns the plan with *err FT_OK (programmable) or
 * FT_ERR_REFUSED (refused or empty), or NULL after printing why (out of memory). */
ft_plan *ft_cli_plan(const ft_part *part, const ft_image *image, ft_route route, bool skip_volatile,
                     ft_error *err);

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
 * "status": "error" and the given exit status. */
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

/* Prints what a command must warn about: a descriptor that shows a known ROM quirk (the part
 * table is used), one that disagrees with the given part, one that matches no part. */
void ft_cli_identity_warn(const ft_cli_identity *id);

/* "STM32H743xI, STM32H743xG, ... (12 parts)" into buf: the candidates' names. */
void ft_cli_candidates_text(const ft_cli_identity *id, char *buf, size_t len);

/* ---- render_device.c ----------------------------------------------------------------------- */

/* The device and its part: identity and part always; with full, also the USB and DFU
 * descriptors and every alternate setting with its parsed layout. */
void ft_cli_print_device(FILE *out, const ft_cli_session *s, const ft_cli_identity *id, bool full);

/* The same as a JSON object (docs/cli.md); NULL when out of memory. */
json_t *ft_cli_device_json(const ft_cli_session *s, const ft_cli_identity *id);

/* ---- locate.c ---------------------------------------------------------------------------- */

/* Where addr is, for messages: "segment 3 (app.elf PT_LOAD[3]), .RxDecripSection, AHB SRAM1",
 * "flash-word padding after segment 0, Flash bank 1", or the region alone without a plan (plan
 * may be NULL; part then names the region). Writes at most len bytes. */
void ft_cli_locate(const ft_plan *plan, const ft_part *part, uint32_t addr, char *buf, size_t len);

#endif
