/* Programming through the debug port: a GDB server (QEMU's gdbstub, OpenOCD, pyOCD, a Black
 * Magic Probe) gives memory and register access to a halted Cortex-M; this module identifies the
 * part, checks that it may be written, and programs the internal flash through the flash
 * controller's registers (programmer/swd/h7_flash), reads, verifies, changes option bytes and
 * resets. This is the library the flashtwin CLI calls for `-c gdb://...` and `-c gdb:/dev/...`.
 *
 * Order of a session:
 *   ft_swd_open      connect and run the RSP handshake (no target access yet)
 *   ft_swd_connect   halt the core, identify the part (DBGMCU_IDCODE, flash-size register),
 *                    read RDP; refuses with the remedy when the core will not halt
 *   ...              ft_swd_flash_plan, ft_swd_erase, ft_swd_read, ft_swd_verify,
 *                    ft_swd_ob_read, ft_swd_ob_set, ft_swd_reset_run
 *   ft_swd_close
 * Operations other than open/connect/close need a successful connect (FT_ERR_STATE otherwise).
 *
 * Nothing destructive happens before the checks that can refuse it: RDP (level 1 and 2 refuse
 * every flash read, erase and write, naming the remedy), write protection of each sector the
 * plan erases (WPSN), the part the plan was made for. When an operation fails, diag carries the
 * conclusion and ft_swd_advice_* the lines that explain it: register decodes, the segment and
 * sections a failing address belongs to, what was already erased, and the fix.
 *
 * Blocking: every call is bounded (RSP timeouts per exchange, the flash wait budgets of
 * h7_flash.h, options.halt_timeout_ms). Threading: one thread at a time. Ownership: the session
 * owns its GDB connection.
 */
#ifndef FT_SWD_H
#define FT_SWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"
#include "programmer/plan.h"
#include "programmer/transport/gdb.h"

#define FT_SWD_DEFAULT_HALT_MS 1000u
#define FT_SWD_MAX_ADVICE      12u

/* Cortex-M debug and system registers (ARMv7-M ARM DDI 0403E C1.6.2 DHCSR, B3.2.6 AIRCR;
 * the same addresses on ARMv8-M). */
#define FT_SWD_DHCSR 0xE000EDF0u
#define FT_SWD_AIRCR 0xE000ED0Cu

typedef enum ft_swd_reset {
	FT_SWD_RESET_AIRCR,   /* write AIRCR.SYSRESETREQ, then detach (default) */
	FT_SWD_RESET_MONITOR, /* the server's monitor command options.reset_command, then detach */
} ft_swd_reset;

typedef enum ft_swd_verify_mode {
	FT_SWD_VERIFY_READBACK, /* read every programmed byte back (default) */
	FT_SWD_VERIFY_CRC,      /* the flash CRC unit per write; read back only where it differs */
	FT_SWD_VERIFY_NONE,
} ft_swd_verify_mode;

typedef enum ft_swd_phase {
	FT_SWD_PHASE_ERASE,
	FT_SWD_PHASE_PROGRAM,
	FT_SWD_PHASE_VERIFY,
	FT_SWD_PHASE_READ,
} ft_swd_phase;

/* "erase", "program", "verify", "read". */
const char *ft_swd_phase_name(ft_swd_phase phase);

typedef struct ft_swd_progress {
	ft_swd_phase phase;
	uint32_t address; /* start of the piece just finished */
	uint64_t done;    /* bytes of this phase finished, that piece included */
	uint64_t total;   /* bytes this phase handles in this call */
} ft_swd_progress;

typedef struct ft_swd_options {
	ft_gdb_options gdb;       /* RSP timeouts, console output */
	unsigned halt_timeout_ms; /* wait for the core to halt; 0: FT_SWD_DEFAULT_HALT_MS */
	/* The part the user named (board file, --part). NULL: identify it from DBGMCU_IDCODE and
	 * the flash-size register. When given, the target must agree (FT_ERR_STATE otherwise). */
	const ft_part *expect;
	ft_swd_reset reset;
	const char *reset_command; /* FT_SWD_RESET_MONITOR: "reset run" (OpenOCD, pyOCD) */
	ft_swd_verify_mode verify;
	/* Sleeps between flash status polls. NULL: the host's clock. Tests and instant emulators
	 * pass their own. */
	void (*sleep_ms)(void *user, uint32_t ms);
	void (*progress)(void *user, const ft_swd_progress *progress);
	/* Something handled but worth saying (an assumed flash size, a CRC disagreement settled
	 * by reading back). Optional. */
	void (*warning)(void *user, const ft_diag *warning);
	void *user;
} ft_swd_options;

/* What connect found. */
typedef struct ft_swd_info {
	char connection[FT_GDB_MAX_PATH + 16];
	const ft_part *part;     /* identified (or options.expect) */
	uint32_t idcode;         /* DBGMCU_IDCODE */
	uint16_t dev_id, rev_id; /* its DEV_ID (11:0) and REV_ID (31:16) */
	char revision;           /* 'V', 'Y', ... or '?' */
	uint32_t flash_size_kb;  /* as read; 0 when the part has no register */
	bool flash_size_assumed; /* the register read 0xFFFF/0x0000 or failed: part's largest taken
	                          */
	/* The server had no target ('?' answered "W00", as a Black Magic Probe does until told):
	 * connect ran `monitor swdp_scan` and `vAttach;1` first. */
	bool scanned;
	bool dhcsr_valid; /* the server let us read DHCSR (QEMU does not model it) */
	uint32_t dhcsr;
	uint32_t pc;        /* where the core stopped */
	bool has_flash;     /* internal flash with the H7 controller */
	uint32_t optsr;     /* FLASH_OPTSR_CUR, when has_flash */
	uint8_t rdp;        /* its RDP byte */
	unsigned rdp_level; /* 0, 1 or 2 */
} ft_swd_info;

typedef struct ft_swd ft_swd;

/* Opens conn ("gdb://HOST:PORT", "gdb:/dev/ttyACM0") and runs the RSP handshake. opts may be
 * NULL (defaults); it is copied, expect and reset_command must outlive the session. Returns
 * FT_OK with *out, or the errors of ft_gdb_open. */
ft_error ft_swd_open(const char *conn, const ft_swd_options *opts, ft_swd **out, ft_diag *diag);

/* The same over an open client, which the session takes over (also on failure). */
ft_error ft_swd_attach(ft_gdb *gdb, const ft_swd_options *opts, ft_swd **out, ft_diag *diag);

/* Closes the connection without sending anything: the core stays as it is (halted after a
 * connect). NULL is allowed. */
void ft_swd_close(ft_swd *swd);

/* Halts the core (interrupt when DHCSR shows it running) and identifies the part. A server that
 * reports no target ('?' answers W, a Black Magic Probe before attaching) is told to scan SWD
 * (`monitor swdp_scan`) and attach the first target it finds (`vAttach;1`). Returns FT_OK;
 * FT_ERR_STATE when the core will not halt (advice: DHCSR decoded, DBGMCU_CR, connect under
 * reset, low-power modes, H72x/H73x SMPS supply) or when the part differs from options.expect;
 * FT_ERR_TIMEOUT when the server does not answer '?' (the same advice); FT_ERR_NOT_FOUND when
 * neither DBGMCU_IDCODE address reads an STM32H7/N6 device ID, or when a scanning server finds
 * no target or cannot attach it (advice: the scan's output, power and wiring); FT_ERR_STATE when
 * the server reports no target and has no monitor command to scan. RDP is not an error here: it is
 * in the info, and the operations it forbids refuse. */
ft_error ft_swd_connect(ft_swd *swd, ft_diag *diag);

const ft_swd_info *ft_swd_get_info(const ft_swd *swd);
const ft_gdb_info *ft_swd_gdb_info(const ft_swd *swd);
ft_gdb *ft_swd_gdb(ft_swd *swd);

/* Lines that explain the last failure (cleared by each call above and below), in order. */
size_t ft_swd_advice_count(const ft_swd *swd);
const char *ft_swd_advice_at(const ft_swd *swd, size_t index);

/* Carries out a plan made for route swd: checks (status ok, the connected part, RDP, WPSN of
 * every sector to erase), erases the plan's sectors, programs its writes (RAM writes of volatile
 * segments go straight to memory), relocks, and verifies per options.verify. Returns FT_OK;
 * FT_ERR_INVALID_ARG (not an swd plan, not programmable); FT_ERR_STATE (another part);
 * FT_ERR_PROTECTED (RDP, write protection: nothing touched); FT_ERR_DEVICE (an error flag: diag
 * names the flag, the sector or address range and the segment); FT_ERR_TIMEOUT;
 * FT_ERR_VERIFY (address, both bytes, segment, section, sector); the transport's errors. */
ft_error ft_swd_flash_plan(ft_swd *swd, const ft_plan *plan, ft_diag *diag);

/* Erases every sector that [addr, addr + len) touches (len > 0) in internal flash. The same
 * checks and returns as ft_swd_flash_plan. */
ft_error ft_swd_erase(ft_swd *swd, uint32_t addr, uint32_t len, ft_diag *diag);
/* Erases every bank. */
ft_error ft_swd_mass_erase(ft_swd *swd, ft_diag *diag);

/* Reads len bytes at addr (refused in internal flash under RDP). A read the target faults is
 * FT_ERR_DEVICE; in flash, the advice reads FLASH_SR for ECC and protection flags. */
ft_error ft_swd_read(ft_swd *swd, uint32_t addr, void *buf, size_t len, ft_diag *diag);
/* Reads back and compares; the first difference is FT_ERR_VERIFY naming address and bytes. */
ft_error ft_swd_verify(ft_swd *swd, uint32_t addr, const void *expected, size_t len, ft_diag *diag);

#define FT_SWD_MAX_OPTION_REGS 12u

/* The option registers in effect (their *_CUR values) on this part. */
typedef struct ft_swd_option_bytes {
	size_t count;
	struct {
		const char *name; /* "OPTSR", "BOOT", "WPSN1" */
		uint32_t offset;  /* of the CUR register in the flash register block */
		uint32_t value;
	} regs[FT_SWD_MAX_OPTION_REGS];
} ft_swd_option_bytes;

ft_error ft_swd_ob_read(ft_swd *swd, ft_swd_option_bytes *out, ft_diag *diag);
/* The value of field name ("RDP", "BOOT_ADD0") in a read, or false when absent. */
bool ft_swd_ob_field(const ft_swd *swd, const ft_swd_option_bytes *ob, const char *name,
                     uint32_t *value);

/* Flags of ft_swd_ob_set. */
#define FT_SWD_OB_ALLOW_REGRESSION 0x1u /* RDP level 1 -> 0: mass-erases the user flash */
#define FT_SWD_OB_ALLOW_LEVEL2     0x2u /* RDP level 2: permanent, the debug port closes */

/* Applies "NAME=VALUE" assignments (see h7_options.h) in one option change, then reads the CUR
 * registers back and compares every changed field. Returns FT_OK; the parse errors of
 * ft_h7_option_parse; FT_ERR_REFUSED for an RDP change the flags do not allow (nothing written);
 * FT_ERR_DEVICE (OPTCHANGEERR); FT_ERR_VERIFY (a field reads back different: advice lists each
 * expected/found); FT_ERR_TIMEOUT; FT_ERR_LOCKED. */
ft_error ft_swd_ob_set(ft_swd *swd, const char *const *assignments, size_t count, unsigned flags,
                       ft_diag *diag);

/* Resets the target (options.reset) and detaches so it runs. The session stays open but the
 * core runs: later operations need ft_swd_connect again. */
ft_error ft_swd_reset_run(ft_swd *swd, ft_diag *diag);

#endif
