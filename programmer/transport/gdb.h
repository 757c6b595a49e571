/* A GDB remote-protocol client for one Cortex-M target: what a programmer needs from QEMU's
 * gdbstub, OpenOCD, pyOCD or a Black Magic Probe. Packets (GDB manual, "Remote Protocol"):
 *
 *   qSupported          features and PacketSize, which bounds every request we send
 *   QStartNoAckMode     asked for when offered (unless options.keep_acks)
 *   qXfer:features:read the target description: register numbers by name, xi:include followed;
 *                       without one the numbering of GDB's arm-m-profile.xml applies: r0..r12,
 *                       sp, lr, pc as 0..15, xpsr as 25, with the legacy f0..f7/fps (16..24) in g;
 *                       refused outright ("Enn": no target yet), it is read after vAttach
 *   vAttach             attach to a target the server scanned (Black Magic Probe)
 *   ?                   the stop reason (S/T packets; W/X when the target is gone)
 *   g/G, p/P            registers (p/P preferred; g/G where a server lacks them)
 *   m, M/X              memory, chunked by PacketSize; X (binary) until the server answers it
 *                       empty, then M (hex)
 *   c, s, 0x03          resume, single step, interrupt; O packets (console output) on the way
 *                       to a stop reply go to options.output
 *   Z0/Z1, z0/z1        software and hardware breakpoints
 *   qRcmd               monitor commands ("reset halt" on OpenOCD/pyOCD, "system_reset" on QEMU)
 *   D                   detach (the target resumes)
 *
 * Register numbers differ between servers (xPSR is 16 on OpenOCD and pyOCD, 25 on QEMU and in
 * GDB's own m-profile description), which is why the description is read rather than assumed.
 *
 * A stop reply that arrives before the answer to qSupported is skipped: QEMU sends one unasked
 * when a debugger connects to a running machine (it pauses it).
 *
 * Errors: a server's "Enn" is FT_ERR_DEVICE naming the request; an empty reply to a request the
 * server should know is FT_ERR_UNSUPPORTED; a malformed reply is FT_ERR_PROTOCOL; timeouts are
 * FT_ERR_TIMEOUT. Every reply is parsed with bounds checks. A request whose reply did not arrive
 * leaves the session broken (see gdb_rsp.h). Every error fills diag with origin = the connection
 * and a message naming the request.
 *
 * Threading: one thread at a time. Blocking: each call waits at most options.timeout_ms per
 * exchange, except the waits that take their own timeout.
 */
#ifndef FT_GDB_H
#define FT_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/transport/gdb_rsp.h"
#include "programmer/transport/gdb_stream.h"

#define FT_GDB_DEFAULT_CONNECT_MS 5000u
/* PacketSize assumed when the server announces none (GDB's historical default), and the
 * range an announced one is clamped to: a server announcing 2 GiB must not make us allocate it. */
#define FT_GDB_DEFAULT_PACKET_SIZE 399u
#define FT_GDB_MIN_PACKET_SIZE     64u
#define FT_GDB_MAX_PACKET_SIZE     65536u
/* Target descriptions: total bytes over every document, documents, include depth, registers. */
#define FT_GDB_MAX_TDESC_BYTES 262144u
#define FT_GDB_MAX_TDESC_DOCS  16u
#define FT_GDB_MAX_TDESC_DEPTH 4u
#define FT_GDB_MAX_TDESC_REGS  512u
/* Largest monitor output gathered from O packets. */
#define FT_GDB_MAX_MONITOR_OUTPUT 16384u

/* The Cortex-M registers the programmer uses, by name (not by any server's number). */
typedef enum ft_gdb_reg {
	FT_GDB_R0 = 0,
	FT_GDB_R1,
	FT_GDB_R2,
	FT_GDB_R3,
	FT_GDB_R4,
	FT_GDB_R5,
	FT_GDB_R6,
	FT_GDB_R7,
	FT_GDB_R8,
	FT_GDB_R9,
	FT_GDB_R10,
	FT_GDB_R11,
	FT_GDB_R12,
	FT_GDB_SP,
	FT_GDB_LR,
	FT_GDB_PC,
	FT_GDB_XPSR,
	FT_GDB_MSP,
	FT_GDB_PSP,
	FT_GDB_PRIMASK,
	FT_GDB_BASEPRI,
	FT_GDB_FAULTMASK,
	FT_GDB_CONTROL,
	FT_GDB_REG_COUNT,
} ft_gdb_reg;

/* The name as target descriptions spell it ("r0", "sp", "xpsr", "primask"); "?" out of range. */
const char *ft_gdb_reg_name(ft_gdb_reg reg);

typedef struct ft_gdb_options {
	unsigned timeout_ms;         /* per exchange; 0 means FT_GDB_RSP_DEFAULT_TIMEOUT_MS */
	unsigned retries;            /* 0 means FT_GDB_RSP_DEFAULT_RETRIES */
	unsigned connect_timeout_ms; /* ft_gdb_open's TCP connect; 0: FT_GDB_DEFAULT_CONNECT_MS */
	bool keep_acks; /* stay in acknowledgement mode even when the server offers no-ack */
	/* Console output of the target or the server: O packets met while waiting for a stop or a
	 * monitor command's end. text is not NUL-terminated. Optional. */
	void (*output)(void *user, const char *text, size_t len);
	void *user;
} ft_gdb_options;

/* What the handshake found. */
typedef struct ft_gdb_info {
	char connection[FT_GDB_MAX_PATH + 16]; /* the stream's description */
	char supported[512];                   /* the qSupported reply as received (truncated) */
	size_t packet_size;    /* PacketSize, clamped; FT_GDB_DEFAULT_PACKET_SIZE when absent */
	bool no_ack;           /* QStartNoAckMode accepted */
	bool has_tdesc;        /* register numbers come from the server's target description */
	char architecture[32]; /* <architecture> of the description, "" when none */
	/* Each register's number on this server, -1 when it has none, and its width. */
	int regnum[FT_GDB_REG_COUNT];
	uint16_t reg_bytes[FT_GDB_REG_COUNT]; /* bytes in p/g replies (a 1-bit primask takes 1) */
} ft_gdb_info;

typedef enum ft_gdb_stop_kind {
	FT_GDB_STOP_SIGNAL,     /* S or T: halted; signal says why (5 SIGTRAP, 2 SIGINT, ...) */
	FT_GDB_STOP_EXITED,     /* W: the process exited (QEMU: the machine was shut down) */
	FT_GDB_STOP_TERMINATED, /* X: terminated by a signal */
} ft_gdb_stop_kind;

/* A stop reply (GDB manual, "Stop Reply Packets"). */
typedef struct ft_gdb_stop {
	ft_gdb_stop_kind kind;
	uint8_t signal;      /* S/T/X: the signal; W: the exit status */
	uint32_t regs_valid; /* bit r set: regs[r] came with a T packet */
	uint32_t regs[FT_GDB_REG_COUNT];
	bool swbreak, hwbreak; /* the T packet named the reason */
	bool watch;
	uint32_t watch_addr;
	char reply[96]; /* the packet as received, truncated, for messages */
} ft_gdb_stop;

typedef struct ft_gdb ft_gdb;

/* Opens conn (see gdb_stream.h) and runs the handshake: qSupported, QStartNoAckMode when offered,
 * the target description when offered. opts may be NULL; it is copied. Returns FT_OK with *out;
 * the errors of ft_gdb_stream_open; FT_ERR_TIMEOUT / FT_ERR_IO when the server does not answer
 * (the hint says a GDB server is expected there); FT_ERR_PROTOCOL for a malformed description. */
ft_error ft_gdb_open(const char *conn, const ft_gdb_options *opts, ft_gdb **out, ft_diag *diag);

/* The handshake over an already opened stream, which the client takes over (also on failure). */
ft_error ft_gdb_attach(ft_gdb_stream *stream, const ft_gdb_options *opts, ft_gdb **out,
                       ft_diag *diag);

/* Frees the client and closes the connection, sending nothing. NULL is allowed. */
void ft_gdb_close(ft_gdb *gdb);

const ft_gdb_info *ft_gdb_get_info(const ft_gdb *gdb);
const ft_gdb_rsp_stats *ft_gdb_get_stats(const ft_gdb *gdb);

/* Parses a stop reply of len bytes with this server's register numbers (gdb may be NULL: T
 * registers are then ignored). FT_OK, or FT_ERR_PROTOCOL for a packet that is not a well-formed
 * S, T, W or X. */
ft_error ft_gdb_parse_stop(const ft_gdb *gdb, const char *reply, size_t len, ft_gdb_stop *out,
                           ft_diag *diag);

/* '?': why the target is stopped. */
ft_error ft_gdb_query_stop(ft_gdb *gdb, ft_gdb_stop *out, ft_diag *diag);

/* Waits up to timeout_ms for a stop reply after a resume or an interrupt, passing O packets to
 * options.output. FT_ERR_TIMEOUT leaves the session usable (the target is still running). Other
 * replies are FT_ERR_PROTOCOL. */
ft_error ft_gdb_wait_stop(ft_gdb *gdb, unsigned timeout_ms, ft_gdb_stop *out, ft_diag *diag);

/* Sends the interrupt byte and waits up to timeout_ms for the stop reply. On FT_ERR_TIMEOUT the
 * target ignored the interrupt: a late stop reply would be taken for the answer to the next
 * request, so the session is broken. */
ft_error ft_gdb_interrupt(ft_gdb *gdb, unsigned timeout_ms, ft_gdb_stop *out, ft_diag *diag);

/* 'c': resumes; returns once the server acknowledged (no reply until the target stops). */
ft_error ft_gdb_resume(ft_gdb *gdb, ft_diag *diag);

/* 's': one instruction; waits up to the session timeout for the stop reply. */
ft_error ft_gdb_step(ft_gdb *gdb, ft_gdb_stop *out, ft_diag *diag);

/* Registers. FT_ERR_UNSUPPORTED when this server has no such register. */
ft_error ft_gdb_read_reg(ft_gdb *gdb, ft_gdb_reg reg, uint32_t *value, ft_diag *diag);
ft_error ft_gdb_write_reg(ft_gdb *gdb, ft_gdb_reg reg, uint32_t value, ft_diag *diag);
/* 'g': every register the server reports in one packet; bit r of *valid set for each. */
ft_error ft_gdb_read_regs(ft_gdb *gdb, uint32_t values[FT_GDB_REG_COUNT], uint32_t *valid,
                          ft_diag *diag);

/* Memory, any length, chunked. A failed chunk is FT_ERR_DEVICE naming its address; chunks before
 * it were transferred. addr + len must not pass 4 GiB (FT_ERR_RANGE). */
ft_error ft_gdb_read_mem(ft_gdb *gdb, uint32_t addr, void *buf, size_t len, ft_diag *diag);
ft_error ft_gdb_write_mem(ft_gdb *gdb, uint32_t addr, const void *data, size_t len, ft_diag *diag);
/* One 32-bit little-endian word (addr need not be aligned; servers split as they must). */
ft_error ft_gdb_read_u32(ft_gdb *gdb, uint32_t addr, uint32_t *value, ft_diag *diag);
ft_error ft_gdb_write_u32(ft_gdb *gdb, uint32_t addr, uint32_t value, ft_diag *diag);

typedef enum ft_gdb_breakpoint_type {
	FT_GDB_BP_SOFTWARE = 0, /* Z0: the server patches a BKPT instruction in */
	FT_GDB_BP_HARDWARE = 1, /* Z1: an FPB comparator; needed in flash or ROM */
} ft_gdb_breakpoint_type;

/* Z/z with kind 2 (a 16-bit Thumb BKPT, GDB manual "ARM Breakpoint Kinds"). */
ft_error ft_gdb_set_breakpoint(ft_gdb *gdb, ft_gdb_breakpoint_type type, uint32_t addr,
                               ft_diag *diag);
ft_error ft_gdb_clear_breakpoint(ft_gdb *gdb, ft_gdb_breakpoint_type type, uint32_t addr,
                                 ft_diag *diag);

/* qRcmd: runs a monitor command; the server's output (O packets and a final hex reply) goes to
 * out[0..cap) NUL-terminated and truncated (out may be NULL with cap 0); *len (may be NULL) is
 * the length kept. FT_ERR_UNSUPPORTED when the server has no monitor commands, FT_ERR_DEVICE for
 * an "Enn" answer (OpenOCD: the command failed). */
ft_error ft_gdb_monitor(ft_gdb *gdb, const char *command, char *out, size_t cap, size_t *len,
                        ft_diag *diag);

/* vAttach;pid: attaches to a target the server found (a Black Magic Probe numbers the targets of
 * `monitor swdp_scan` from 1) and fills *out from its stop reply. A server that offers a target
 * description but refused it in the handshake (no target yet: ft_gdb_info.has_tdesc false) is
 * asked again now, and register numbers follow it from here on. Returns FT_OK;
 * FT_ERR_UNSUPPORTED (empty reply); FT_ERR_DEVICE ("Enn": no such target, or it would not
 * attach); FT_ERR_PROTOCOL (not a stop reply, a malformed description). */
ft_error ft_gdb_vattach(ft_gdb *gdb, uint32_t pid, ft_gdb_stop *out, ft_diag *diag);

/* 'D': detaches; the target resumes. The connection stays open for ft_gdb_close. A server that
 * refuses a bare D with E22 (QEMU left in multiprocess mode by an earlier client) is asked again
 * with "D;1". */
ft_error ft_gdb_detach(ft_gdb *gdb, ft_diag *diag);

#endif
