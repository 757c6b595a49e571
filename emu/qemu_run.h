/* Running the flashtwin QEMU machines (emu/qemu, `make qemu`): which machine serves a part, where
 * qemu-system-arm is, its command line for a board, and a child QEMU process whose serial port
 * or qtest protocol (QEMU's text protocol: "readl ADDR" -> "OK VALUE") the caller drives through
 * pipes.
 *
 * The machine and the caller share the board's state directory (emu/board_runtime.h); the store
 * admits one open board at a time, so a caller that has the board open closes it before it
 * starts QEMU on the same directory.
 *
 * Blocking: ft_qemu_start returns once the child runs; ft_qemu_qtest, ft_qemu_read_serial and
 * ft_qemu_wait block up to the timeout they are given. Not thread-safe. Library code: never
 * prints or exits. The child inherits nothing but its pipes (stdin, stdout, stderr).
 */
#ifndef FT_QEMU_RUN_H
#define FT_QEMU_RUN_H

#include "models/error.h"
#include "models/parts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The machine type modelling a part ("nucleo-h743zi2" for every H74x part), or NULL when no
 * machine models its family (the dual-core H745/H747). */
const char *ft_qemu_machine_for_part(const ft_part *part);

/* Finds qemu-system-arm: the FT_QEMU environment variable when set, else qemu/qemu-system-arm in
 * the directory of the running program or the nearest of its parents that has one (build/qemu
 * for build/flashtwin-emu and build/san/tests/...). Writes the path into path (cap bytes).
 * Returns FT_OK, FT_ERR_NOT_FOUND (diag says to run `make qemu`) or FT_ERR_RANGE (cap too
 * small). */
ft_error ft_qemu_find_binary(char *path, size_t cap, ft_diag *diag);

typedef enum ft_qemu_mode {
	FT_QEMU_RUN,     /* the core runs; its serial port is the child's stdout, read through
	                  * ft_qemu_read_serial */
	FT_QEMU_QTEST,   /* accel=qtest: the core stands still; stdin/stdout carry the qtest
	                  * protocol */
	FT_QEMU_CONSOLE, /* the core runs; QEMU shares the caller's stdin, stdout (the serial port,
	                  * with QEMU's monitor on Ctrl-A c) and stderr: flashtwin-emu --boot flash
	                  */
} ft_qemu_mode;

typedef struct ft_qemu_config {
	const char *binary;     /* NULL: ft_qemu_find_binary */
	const char *machine;    /* required: "nucleo-h743zi2" ... */
	const char *board_path; /* NULL: the machine's own Nucleo board */
	const char *state_dir;  /* NULL: a temporary state the machine removes at exit */
	int boot0;              /* BOOT0 level 0 or 1; -1: the board file's */
	bool dev_boot;          /* STM32N6 BOOT1 high: development boot */
	bool instant_timing;    /* flash and NOR operations take no time (timing=instant) */
	const char *gdb;        /* "HOST:PORT": QEMU's gdbstub there, core halted until a
	                         * debugger continues it; NULL: none */
	bool semihosting;       /* Arm semihosting (the test firmware exits through it) */
	ft_qemu_mode mode;
	const char *const *extra; /* more QEMU arguments, NULL-terminated; NULL: none */
	/* more machine properties ("fault-drop-word=0x08027800"), appended to -machine,
	 * NULL-terminated; NULL: none */
	const char *const *properties;
} ft_qemu_config;

/* The argument vector of qemu-system-arm for config (config->extra last), NULL-terminated, in
 * argv (cap entries);
 * strings point into config or into static text, except the -machine and -gdb values, which
 * are written into buf (buf_cap bytes). *argc receives the count. Returns FT_OK,
 * FT_ERR_INVALID_ARG (no machine or binary, boot0 not -1/0/1, a gdb address without a port, a
 * property with a comma) or
 * FT_ERR_RANGE (argv or buf too small). */
ft_error ft_qemu_argv(const ft_qemu_config *config, const char **argv, size_t cap, int *argc,
                      char *buf, size_t buf_cap, ft_diag *diag);

typedef struct ft_qemu ft_qemu;

/* Starts QEMU as a child process, with no signal blocked whatever the caller blocks (so ^C and
 * SIGTERM reach it). Returns FT_OK and *out (free with ft_qemu_free), or an
 * ft_qemu_argv error, FT_ERR_NOT_FOUND (no binary), FT_ERR_IO (pipe, fork or exec failed) or
 * FT_ERR_NO_MEM. In qtest mode it waits (up to 10 s) for the machine to answer, so a machine that
 * refuses its board (a bad board file, a locked state) is reported here: FT_ERR_DEVICE with
 * QEMU's message. */
ft_error ft_qemu_start(const ft_qemu_config *config, ft_qemu **out, ft_diag *diag);

/* qtest mode: sends one command line (without the newline) and reads its reply into reply
 * (reply_cap bytes, NUL-terminated, without "OK " and the newline; may be NULL). Asynchronous
 * "IRQ" lines are skipped. Returns FT_OK, FT_ERR_DEVICE (QEMU answered FAIL or ERR; diag has the
 * line), FT_ERR_TIMEOUT (no reply in timeout_ms), FT_ERR_IO (QEMU went away; diag has its
 * stderr), FT_ERR_STATE (not a qtest session). */
ft_error ft_qemu_qtest(ft_qemu *q, const char *command, char *reply, size_t reply_cap,
                       int timeout_ms, ft_diag *diag);

/* qtest shorthands with a 10 s timeout: 32-bit load and store at a CPU address, and moving the
 * virtual clock by ns (QEMU's clock_step). Same returns as ft_qemu_qtest; FT_ERR_PROTOCOL for a
 * reply that is not a number. */
ft_error ft_qemu_readl(ft_qemu *q, uint32_t addr, uint32_t *value, ft_diag *diag);
ft_error ft_qemu_writel(ft_qemu *q, uint32_t addr, uint32_t value, ft_diag *diag);
ft_error ft_qemu_clock_step(ft_qemu *q, uint64_t ns, ft_diag *diag);

/* Run mode: reads serial output until it contains until (NULL: until QEMU exits), QEMU exits,
 * or timeout_ms passes; appends to out (cap bytes, kept NUL-terminated, the excess dropped) and
 * sets *len (may be NULL) to the bytes now in out. Returns FT_OK (until seen, or QEMU exited with
 * until NULL), FT_ERR_TIMEOUT, FT_ERR_IO (QEMU exited before until appeared). */
ft_error ft_qemu_read_serial(ft_qemu *q, const char *until, char *out, size_t cap, size_t *len,
                             int timeout_ms, ft_diag *diag);

/* Waits up to timeout_ms for QEMU to exit (in qtest mode after SIGTERM, QEMU's clean shutdown,
 * which closes the board state); *status (may be NULL) receives its exit status, or 128 +
 * signal. Returns FT_OK or FT_ERR_TIMEOUT (QEMU is
 * still running). */
ft_error ft_qemu_wait(ft_qemu *q, int timeout_ms, int *status, ft_diag *diag);

/* Asks QEMU to shut down cleanly (SIGTERM: the machine closes its board state) when it still
 * runs; ft_qemu_wait then reaps it. NULL is ignored. */
void ft_qemu_terminate(ft_qemu *q);

/* What QEMU wrote to stderr so far (warnings, -d logs), NUL-terminated; valid until the next
 * call on q. */
const char *ft_qemu_stderr(ft_qemu *q);

/* Kills QEMU if it still runs (SIGKILL), reaps it and frees q. NULL is ignored. */
void ft_qemu_free(ft_qemu *q);

#endif
