/* The STM32H7 debug port behind any wire: the ADIv5 DP registers, a MEM-AP per bus and the
 * Cortex-M7 core debug, translated to a debugged core (ft_dap_target: in the emulator, QEMU's
 * gdbstub through our GDB client). A wire front end (JTAG TAPs for OpenOCD's remote_bitbang in
 * dap_bridge.c, a CMSIS-DAP command set, ...) decodes its transport into the DP and AP accesses
 * below; the model is the same whatever carried them.
 *
 * DP registers CTRL/STAT (power-up requests acknowledged at once, sticky errors write-1-to-clear),
 * SELECT, RDBUFF (the last read). IDCODE/DPIDR and ABORT are the wire's (JTAG: instructions; SWD:
 * DP address 0). AP0 is the Cortex-M7's AHB-AP, AP2 the APB-AP of the system debug bus (DBGMCU at
 * 0xE00E1000, as OpenOCD's stm32h7x.cfg examine-end handler uses it); AP1 and the rest read 0.
 *
 * The core's debug registers: DHCSR C_HALT / C_STEP / resume become halt / step / resume, S_HALT
 * and S_REGRDY come from the stop state, DCRSR/DCRDR become register reads and writes,
 * AIRCR.SYSRESETREQ resets (halting at the reset vector when DEMCR.VC_CORERESET is set), FPB
 * comparators become hardware breakpoints, DFSR says why the core stopped. DWT comparators are
 * stored but never trigger.
 *
 * Threading: one thread drives a port. Never prints.
 */
#ifndef FT_DAP_PORT_H
#define FT_DAP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/transport/gdb.h"

/* What the port needs from the core it debugs. Every member returns FT_OK or an error with
 * diag filled; an error turns into a sticky error (STICKYERR) on the debug port, as a bus fault
 * does on silicon. ctx is the table's user pointer. */
typedef struct ft_dap_target_ops {
	/* A len-byte access (1, 2 or 4, naturally aligned) at addr, little-endian in *value. */
	ft_error (*read)(void *ctx, uint32_t addr, unsigned len, uint32_t *value, ft_diag *diag);
	ft_error (*write)(void *ctx, uint32_t addr, unsigned len, uint32_t value, ft_diag *diag);
	/* Stop a running core (a halted one stays halted). */
	ft_error (*halt)(void *ctx, ft_diag *diag);
	/* Let a halted core run; step: one instruction, halted again on return. */
	ft_error (*resume)(void *ctx, ft_diag *diag);
	ft_error (*step)(void *ctx, ft_diag *diag);
	/* Whether the core is halted now (a running core stops at a breakpoint by itself). */
	ft_error (*poll)(void *ctx, bool *halted, ft_diag *diag);
	/* A core register by name; FT_ERR_UNSUPPORTED when the core has none such. */
	ft_error (*read_reg)(void *ctx, ft_gdb_reg reg, uint32_t *value, ft_diag *diag);
	ft_error (*write_reg)(void *ctx, ft_gdb_reg reg, uint32_t value, ft_diag *diag);
	/* System reset; the core is halted at the reset vector afterwards when halt, else runs. */
	ft_error (*reset)(void *ctx, bool halt, ft_diag *diag);
	/* A hardware breakpoint at addr set or cleared. */
	ft_error (*breakpoint)(void *ctx, uint32_t addr, bool set, ft_diag *diag);
} ft_dap_target_ops;

typedef struct ft_dap_target {
	const ft_dap_target_ops *ops;
	void *ctx;
	bool halted; /* the core's state when the port starts */
} ft_dap_target;

/* One connection's debug-port state: DP, APs, the core-debug translation. */
typedef struct ft_dap_port ft_dap_port;

/* A port for target (copied; its ctx must outlive the port). Returns NULL without memory. */
ft_dap_port *ft_dap_port_new(const ft_dap_target *target);
void ft_dap_port_free(ft_dap_port *p);

/* A DP register access; addr is A[3:2] as a byte offset (0x4 CTRL/STAT, 0x8 SELECT, 0xC RDBUFF;
 * 0x0 reads 0 and ignores writes: the wire serves it). Returns the register's value (after the
 * write for a write); a read also becomes RDBUFF. */
uint32_t ft_dap_port_dp(ft_dap_port *p, uint32_t addr, bool rnw, uint32_t data);

/* An access to register addr (A[3:2] as a byte offset; SELECT gives the AP and the bank) of the
 * selected AP. Returns false, doing nothing, while CTRL/STAT.STICKYERR is set (the wire answers
 * as its protocol says: JTAG drops it, SWD says FAULT). Else true with the value read (or the
 * register after a write) in *value; a read also becomes RDBUFF. Target errors do not fail the
 * access: they set STICKYERR, which the peer reads in CTRL/STAT. */
bool ft_dap_port_ap(ft_dap_port *p, uint32_t addr, bool rnw, uint32_t data, uint32_t *value);

/* Whether CTRL/STAT.STICKYERR is set (a read of it that does not become RDBUFF). */
bool ft_dap_port_sticky_error(const ft_dap_port *p);

/* A write to ABORT (SW-DP: DP address 0 written; JTAG-DP: the ABORT instruction): the sticky
 * flags whose clear bits are set are cleared. */
void ft_dap_port_abort(ft_dap_port *p, uint32_t abort);

/* A system reset from the reset line (nRESET), as AIRCR.SYSRESETREQ makes one: the core halts at
 * the reset vector when DEMCR.VC_CORERESET is set, else runs. A target error is sticky. */
void ft_dap_port_reset(ft_dap_port *p);

/* The target errors met so far (the last one's diag in *last when non-NULL). */
unsigned ft_dap_port_target_errors(const ft_dap_port *p, ft_diag *last);

#endif
