/* A debug-port bridge: an STM32H7 debug port (ADIv5 DP with a MEM-AP per bus) at the wire level,
 * behind OpenOCD's remote_bitbang TCP protocol, whose memory and core-debug accesses go to an
 * emulated board through a GDB server (QEMU's gdbstub) with our own client. Debian's OpenOCD,
 * unmodified, then debugs and programs the emulated board as it would a real one.
 *
 * The wire. OpenOCD 0.12's remote_bitbang adapter is JTAG only (remote_bitbang.c:
 * `.transports = jtag_only`); SWD over remote_bitbang came after 0.12. So the wire here is JTAG:
 * each byte the peer sends is one of (OpenOCD doc "remote_bitbang", remote_bitbang.c)
 *   '0'..'7'  set TCK (4), TMS (2), TDI (1); a rising TCK clocks the TAP controllers
 *   'R'       sample TDO: we answer '0' or '1'
 *   'r'..'u'  reset lines (TRST 2, SRST 1): TRST puts the TAPs in Test-Logic-Reset
 *   'B', 'b'  LED; 'Z', 'z' sleep (newer OpenOCDs); ignored
 *   'Q'       quit: the connection closes
 * Anything else is hostile: the connection closes with the reason logged.
 *
 * The scan chain is that of target/stm32h7x.cfg under JTAG: TDI -> boundary-scan TAP (IR 5 bits)
 * -> the JTAG-DP (IR 4 bits, IDCODE 0x6BA00477) -> TDO. The DP serves ABORT, DPACC, APACC,
 * IDCODE and BYPASS; DP registers CTRL/STAT (power-up requests acknowledged, sticky errors
 * write-1-to-clear), SELECT, RDBUFF. AP0 is the Cortex-M7's AHB-AP, AP2 the APB-AP of the
 * system debug bus (DBGMCU at 0xE00E1000, as stm32h7x.cfg's examine-end handler uses it).
 *
 * The core's debug registers are translated into the GDB session: DHCSR C_HALT / C_STEP /
 * resume become interrupt / step / continue, S_HALT and S_REGRDY come from the stop state,
 * DCRSR/DCRDR become register reads and writes, AIRCR.SYSRESETREQ resets (halting at the reset
 * vector when DEMCR.VC_CORERESET is set), FPB comparators become hardware breakpoints, DFSR says
 * why the core stopped. DWT comparators are stored but never trigger.
 *
 * Threading: one thread drives a bridge. Library code: never prints; log lines go to the
 * config's callback.
 */
#ifndef FT_DAP_BRIDGE_H
#define FT_DAP_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/transport/gdb.h"

/* What the bridge needs from the core it debugs. Every member returns FT_OK or an error with
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
	bool halted; /* the core's state when the wire starts */
} ft_dap_target;

/* One connection's wire state: TAP controllers, DP, APs, the core-debug translation. */
typedef struct ft_dap_wire ft_dap_wire;

/* A wire for target (copied; its ctx must outlive the wire). Returns NULL without memory. */
ft_dap_wire *ft_dap_wire_new(const ft_dap_target *target);
void ft_dap_wire_free(ft_dap_wire *w);

/* Feeds n bytes of the peer's stream. Answers ('0'/'1' per 'R') go to out, which must hold n
 * bytes; *out_len receives their count. *quit is set when the peer sent 'Q' (the bytes after it
 * are not read). Returns FT_OK, or FT_ERR_PROTOCOL for a byte outside the protocol (diag names
 * it and its offset): the caller closes the connection. Target errors do not end the feed: they
 * are sticky errors the peer reads in CTRL/STAT. */
ft_error ft_dap_wire_feed(ft_dap_wire *w, const uint8_t *in, size_t n, uint8_t *out,
                          size_t *out_len, bool *quit, ft_diag *diag);

/* The target errors met so far (the last one's diag in *last when non-NULL). */
unsigned ft_dap_wire_target_errors(const ft_dap_wire *w, ft_diag *last);

typedef struct ft_dap_bridge ft_dap_bridge;

typedef struct ft_dap_bridge_config {
	const char *host; /* numeric IPv4 address to listen on; NULL: 127.0.0.1 */
	unsigned port;    /* 0: a free port (ft_dap_bridge_port says which) */
	const char *gdb;  /* the GDB server of the board: "gdb://127.0.0.1:PORT" */
	/* Log lines (connections, closes with their reason, target errors). Optional. */
	void (*log)(void *user, const char *message);
	void *user;
} ft_dap_bridge_config;

/* Connects to the GDB server (the core must be halted: QEMU -S) and listens. Returns FT_OK with
 * *out; ft_gdb_open's errors; FT_ERR_INVALID_ARG (bad host); FT_ERR_IO (socket, bind, listen). */
ft_error ft_dap_bridge_open(const ft_dap_bridge_config *config, ft_dap_bridge **out, ft_diag *diag);

/* The TCP port the bridge listens on. */
unsigned ft_dap_bridge_port(const ft_dap_bridge *b);

/* Waits up to timeout_ms for a connection or bytes and serves them: one peer at a time (a
 * second is refused while one is served), every byte answered before returning. A peer that
 * breaks the protocol is disconnected with the reason logged. Returns FT_OK; FT_ERR_IO when the
 * listening socket fails. */
ft_error ft_dap_bridge_serve(ft_dap_bridge *b, int timeout_ms, ft_diag *diag);

/* Closes the peer, the listening socket and the GDB session (without detaching: the core stays
 * as it is). NULL is allowed. */
void ft_dap_bridge_close(ft_dap_bridge *b);

#endif
