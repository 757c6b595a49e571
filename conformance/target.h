/* Targets of a conformance run and the emulator instances that host emu: targets.
 *
 * Target strings (flashtwin-conform --target):
 *   emu:BOARD         an emulated board: one flashtwin-emu instance per device scenario, each on
 *                     a free loopback port with its own state directory
 *   usb | usb:SERIAL  a real board in DFU mode on this machine (libusb)
 *   usbip://HOST:PORT/BUSID   a board exported by a usbip server (a remote usbipd, a lab host)
 *   gdb://HOST:PORT   a debug port (GDB remote protocol)
 * Real targets need --board BOARD (which board is attached); for emu: the board is in the string.
 *
 * Emulator command line, USB route: PROGRAM --board BOARD --state DIR --listen 127.0.0.1:0
 * --timing instant --boot dfu --on-leave exit (the system bootloader whatever the board's BOOT0),
 * followed by the scenario's switches and the run's extra arguments. The instance is ready when
 * its stdout has a line with a "usbip://" URL, which becomes the scenario's connection.
 * Debug-port route (gdb): PROGRAM --board BOARD --state DIR --timing instant --gdb 127.0.0.1:0
 * (the board in its QEMU machine, halted, QEMU's gdbstub on a free port), then the same
 * switches; ready at the line with "gdb at HOST:PORT", the connection is "gdb://HOST:PORT".
 *
 * Switch vocabulary (what scenarios ask flashtwin-emu for; see docs/conformance.md):
 *   --fault NAME[=VALUE]   DFU: disconnect-at-block=N, corrupt-block=N, corrupt-double,
 *                          no-readback-verify, workarea-crash, partial-word=pad|skip;
 *                          QEMU (gdb route): drop-word=ADDR, cut-word=ADDR,
 *                          watchdog-reset-ms=N, core-sleeps
 *   --quirk NAME=on|off    a ROM quirk of the part table (h74x-rev-v-bank2-erase-dnbusy,
 *                          h7a3-rev-z-descriptor), whatever the revision says
 *   --option NAME=VALUE    option-byte state at power-on: rdp=0xAA|0xBB|0xCC, wpsn1=MASK,
 *                          wpsn2=MASK, prar1=VALUE, prar2=VALUE; nor-sr=BYTE (the external
 *                          NOR's status register 1)
 *   --revision LETTER      silicon revision (selects the revision's quirks and serial)
 *
 * Library code: never prints. Emulator handles are used by one thread each.
 */
#ifndef FT_CONFORM_TARGET_H
#define FT_CONFORM_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "models/error.h"

typedef enum ft_conform_target_kind {
	FT_CONFORM_TARGET_EMU,
	FT_CONFORM_TARGET_USB,
	FT_CONFORM_TARGET_USBIP,
	FT_CONFORM_TARGET_GDB,
} ft_conform_target_kind;

/* "emu", "usb", "usbip", "gdb". */
const char *ft_conform_target_kind_name(ft_conform_target_kind kind);

typedef struct ft_conform_target {
	ft_conform_target_kind kind;
	char spec[256];       /* as given */
	char board[256];      /* board name or path */
	char connection[256]; /* real targets: the connection string flashtwin takes; emu: empty */
} ft_conform_target;

/* Parses spec; board is required for real targets and must be NULL or equal for emu:BOARD.
 * Returns FT_OK, or FT_ERR_INVALID_ARG with diag saying what is wrong. */
ft_error ft_conform_target_parse(const char *spec, const char *board, ft_conform_target *out,
                                 ft_diag *diag);

/* FT_CONFORM_ON_* bit of a kind (conformance/scenario.h). */
unsigned ft_conform_target_bit(ft_conform_target_kind kind);

typedef struct ft_conform_emu_config {
	const char *program;         /* flashtwin-emu; required */
	const char *board;           /* required */
	const char *dir;             /* required, existing: holds state/, emu.out, emu.err */
	const char *const *switches; /* the scenario's, NULL-ended; may be NULL */
	const char *const *extra;    /* the run's, NULL-ended; may be NULL */
	unsigned start_timeout_ms;   /* 0: 10000 */
	bool gdb;                    /* the debug-port route: QEMU's gdbstub, not USB/IP DFU */
} ft_conform_emu_config;

typedef struct ft_conform_emu ft_conform_emu;

/* Starts an instance and waits for its ready line. Returns FT_OK with *out; FT_ERR_TIMEOUT,
 * FT_ERR_STATE (it exited first: the diag message carries the end of its stderr), FT_ERR_IO,
 * FT_ERR_NO_MEM, FT_ERR_INVALID_ARG; nothing is left running on failure. */
ft_error ft_conform_emu_start(const ft_conform_emu_config *config, ft_conform_emu **out,
                              ft_diag *diag);

/* "usbip://127.0.0.1:PORT/BUSID", or "gdb://127.0.0.1:PORT" on the gdb route, as the instance
 * printed it. */
const char *ft_conform_emu_url(const ft_conform_emu *emu);

/* The command line it was started with, for records. */
const char *ft_conform_emu_command(const ft_conform_emu *emu);

/* Stops the instance (SIGTERM, then SIGKILL after 2 s) and frees emu; *exit_status (may be
 * NULL) gets its status. NULL emu is FT_OK. */
ft_error ft_conform_emu_stop(ft_conform_emu *emu, int *exit_status, ft_diag *diag);

#endif
