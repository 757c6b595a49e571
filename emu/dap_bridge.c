/* The debug-port bridge (dap_bridge.h): JTAG TAP controllers, the JTAG-DP, two MEM-APs, the
 * core-debug translation, a GDB-backed target and the remote_bitbang TCP server. */
#include "emu/dap_bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- silicon facts ---- */

/* JTAG-DP IDCODE of the STM32H7 (RM0433 §60.4.5 [U: not in devices.md]; OOCD
 * tcl/target/stm32h7x.cfg _CPUTAPID 0x6ba00477 under JTAG). */
#define DP_JTAG_IDCODE 0x6BA00477u
/* Boundary-scan TAP IDCODE (RM0433 §60.4.1 [U]: 0x06450041; OpenOCD declares the TAP without an
 * expected id, so any value passes). */
#define BS_IDCODE 0x06450041u
#define BS_IRLEN  5u
#define DP_IRLEN  4u
/* JTAG-DP instructions (ADIv5 IHI0031 §3.5.2; OOCD arm_adi_v5.h JTAG_DP_*). */
#define IR_ABORT  0x8u
#define IR_DPACC  0xAu
#define IR_APACC  0xBu
#define IR_IDCODE 0xEu
#define IR_BYPASS 0xFu
#define BS_BYPASS 0x1Fu
/* DPACC/APACC scan: RnW b0, A[3:2] b2:1, data b34:3; the capture holds ACK in b2:0
 * (OK/FAULT 0b010, WAIT 0b001) (ADIv5 §3.4.3). */
#define ACC_BITS 35u
#define ACK_OK   0x2u
/* DP registers by A[3:2] (ADIv5 §2.3) and CTRL/STAT bits (ADIv5 §2.3.2). */
#define DP_CTRL_STAT    0x4u
#define DP_SELECT       0x8u
#define DP_RDBUFF       0xCu
#define CS_STICKYORUN   (1u << 1)
#define CS_STICKYCMP    (1u << 4)
#define CS_STICKYERR    (1u << 5)
#define CS_CDBGRSTREQ   (1u << 26)
#define CS_CDBGPWRUPREQ (1u << 28)
#define CS_CSYSPWRUPREQ (1u << 30)
#define CS_STICKY       (CS_STICKYORUN | CS_STICKYCMP | CS_STICKYERR)
#define CS_WRITABLE     (CS_CDBGRSTREQ | CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ | 0x0FFF0F0Cu)
/* MEM-AP registers (ADIv5 §7.2) and CSW fields. */
#define AP_CSW         0x00u
#define AP_TAR         0x04u
#define AP_DRW         0x0Cu
#define AP_BD0         0x10u
#define AP_CFG         0xF4u
#define AP_BASE        0xF8u
#define AP_IDR         0xFCu
#define CSW_SIZE       0x7u
#define CSW_ADDRINC    (3u << 4)
#define CSW_INC_SINGLE (1u << 4)
#define CSW_DEVICEEN   (1u << 6)
#define TAR_INC_WRAP   0x3FFu /* auto-increment is guaranteed within 1 KiB (ADIv5 §7.2.2) */
/* AP identification (RM0433 §60.4.7/§60.4.8 [U]): AP0 AHB-AP of the CM7, AP2 APB-AP of the
 * system debug bus; IDR revision/designer ARM/class MEM-AP/type. */
#define AP0_IDR  0x84770001u
#define AP2_IDR  0x54770002u
#define AP0_BASE 0xE00FE003u /* ROM table, present (RM0433 §60.5.1 [U]) */
#define AP2_BASE 0xE00E0003u
/* AP2 sees DBGMCU at 0xE00E1000; the core at 0x5C001000 (ref devices.md §1.1; OOCD
 * tcl/target/stm32h7x.cfg stm32h7x_dbgmcu_mmw). */
#define AP2_DBGMCU  0xE00E1000u
#define CORE_DBGMCU 0x5C001000u
#define DBGMCU_SPAN 0x1000u
/* Core debug (ARMv7-M ARM C1.6): DHCSR, DCRSR, DCRDR, DEMCR; SCB AIRCR (B3.2.6), DFSR (C1.6.1). */
#define DHCSR          0xE000EDF0u
#define DCRSR          0xE000EDF4u
#define DCRDR          0xE000EDF8u
#define DEMCR          0xE000EDFCu
#define AIRCR          0xE000ED0Cu
#define DFSR           0xE000ED30u
#define DBGKEY         0xA05Fu
#define C_DEBUGEN      (1u << 0)
#define C_HALT         (1u << 1)
#define C_STEP         (1u << 2)
#define C_MASKINTS     (1u << 3)
#define C_SNAPSTALL    (1u << 5)
#define S_REGRDY       (1u << 16)
#define S_HALT         (1u << 17)
#define S_RETIRE_ST    (1u << 24)
#define S_RESET_ST     (1u << 25)
#define DCRSR_REGWNR   (1u << 16)
#define DCRSR_REGSEL   0x7Fu
#define REGSEL_SPECIAL 0x14u /* CONTROL[31:24] FAULTMASK[23:16] BASEPRI[15:8] PRIMASK[7:0] */
#define VC_CORERESET   (1u << 0)
#define VECTKEY        0x05FAu
#define AIRCR_RESETS   0x5u /* SYSRESETREQ b2, VECTRESET b0 */
#define DFSR_HALTED    (1u << 0)
#define DFSR_BKPT      (1u << 1)
#define DFSR_VCATCH    (1u << 3)
/* ITM, DWT, FPB (ARMv7-M ARM C1.7-C1.11). FPB version 2 (REV 1) with 8 code comparators on the
 * Cortex-M7 (Cortex-M7 TRM §3.4 [U]): a comparator holds BPADDR with enable in bit 0. DWT with 4
 * comparators (Cortex-M7 TRM §3.3 [U]). */
#define ITM_BASE     0xE0000000u
#define DWT_BASE     0xE0001000u
#define FPB_BASE     0xE0002000u
#define SCS_BASE     0xE000E000u
#define ROM_BASE     (AP0_BASE & ~0xFFFu)
#define BLOCK        0x1000u
#define FPB_COMPS    8u
#define FP_CTRL_REV1 (1u << 28)
#define FP_CTRL_KEY  (1u << 1)
#define FP_COMP0     0x008u
#define DWT_NUMCOMP  (4u << 28)
#define DWT_WORDS    64u
/* CoreSight component and peripheral IDs of the ROM table (CoreSight Arch. §B2; ARM JEP106 0x3B
 * continuation 4; part 0x4C7 "Cortex-M7 ROM table" [U]). */
#define ROM_MEMTYPE 0xFCCu
#define ROM_PIDR4   0xFD0u
#define ROM_PIDR0   0xFE0u
#define ROM_CIDR0   0xFF0u

/* Bytes the server reads from a peer per poll round (each answered before the next read). */
#define FEED_CHUNK 4096u

/* ---- the JTAG TAP controllers ---- */

typedef enum tap_state {
	TLR,
	RTI,
	SEL_DR,
	CAP_DR,
	SHIFT_DR,
	EXIT1_DR,
	PAUSE_DR,
	EXIT2_DR,
	UPD_DR,
	SEL_IR,
	CAP_IR,
	SHIFT_IR,
	EXIT1_IR,
	PAUSE_IR,
	EXIT2_IR,
	UPD_IR,
} tap_state;

/* IEEE 1149.1 §6.1: the next state for TMS 0 and TMS 1. */
static const uint8_t tap_next[16][2] = {
    [TLR] = {RTI, TLR},
    [RTI] = {RTI, SEL_DR},
    [SEL_DR] = {CAP_DR, SEL_IR},
    [CAP_DR] = {SHIFT_DR, EXIT1_DR},
    [SHIFT_DR] = {SHIFT_DR, EXIT1_DR},
    [EXIT1_DR] = {PAUSE_DR, UPD_DR},
    [PAUSE_DR] = {PAUSE_DR, EXIT2_DR},
    [EXIT2_DR] = {SHIFT_DR, UPD_DR},
    [UPD_DR] = {RTI, SEL_DR},
    [SEL_IR] = {CAP_IR, TLR},
    [CAP_IR] = {SHIFT_IR, EXIT1_IR},
    [SHIFT_IR] = {SHIFT_IR, EXIT1_IR},
    [EXIT1_IR] = {PAUSE_IR, UPD_IR},
    [PAUSE_IR] = {PAUSE_IR, EXIT2_IR},
    [EXIT2_IR] = {SHIFT_IR, UPD_IR},
    [UPD_IR] = {RTI, SEL_DR},
};

/* A shift register of len bits (1..64), bit 0 nearest TDO. */
typedef struct shreg {
	uint64_t bits;
	unsigned len;
} shreg;

/* One TAP: its instruction and the register the scan goes through. */
typedef struct tap {
	uint32_t ir;
	unsigned ir_len;
	shreg sh;
} tap;

enum { TAP_BS, TAP_DP, TAP_COUNT }; /* TDI -> bs -> dp -> TDO */

/* ---- the wire ---- */

typedef struct mem_ap {
	uint32_t csw, tar;
} mem_ap;

struct ft_dap_wire {
	ft_dap_target target;
	bool tck, tms, tdi;
	tap_state state;
	tap taps[TAP_COUNT];
	/* JTAG-DP */
	uint32_t ctrl_stat, select;
	uint32_t result; /* the last read, returned by the next DPACC/APACC capture */
	mem_ap ap[3];    /* AP0 and AP2 are modelled; AP1 reads as absent */
	/* core debug */
	bool halted, reset_seen;
	uint32_t dhcsr_ctrl, dcrdr, demcr, dfsr;
	uint32_t fp_enable, fp_comp[FPB_COMPS];
	uint32_t bp_active[FPB_COMPS]; /* address set at the target, when bp_on */
	bool bp_on[FPB_COMPS];
	uint32_t dwt[DWT_WORDS];
	unsigned target_errors;
	ft_diag last_error;
};

ft_dap_wire *ft_dap_wire_new(const ft_dap_target *target)
{
	ft_dap_wire *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->target = *target;
	w->halted = target->halted;
	/* a core halted by the debugger before us: debug enabled, halt requested */
	w->dhcsr_ctrl = w->halted ? C_DEBUGEN | C_HALT : 0;
	w->dfsr = w->halted ? DFSR_HALTED : 0;
	w->taps[TAP_BS].ir_len = BS_IRLEN;
	w->taps[TAP_DP].ir_len = DP_IRLEN;
	w->taps[TAP_BS].sh = (shreg){0, 1};
	w->taps[TAP_DP].sh = (shreg){0, 1};
	w->state = TLR;
	w->taps[TAP_BS].ir = 1; /* IDCODE after reset */
	w->taps[TAP_DP].ir = IR_IDCODE;
	return w;
}

void ft_dap_wire_free(ft_dap_wire *w)
{
	free(w);
}

unsigned ft_dap_wire_target_errors(const ft_dap_wire *w, ft_diag *last)
{
	if (last)
		*last = w->last_error;
	return w->target_errors;
}

/* A failed target access: a sticky error on the DP, the diag kept for the log. */
static void target_failed(ft_dap_wire *w, const ft_diag *d)
{
	w->ctrl_stat |= CS_STICKYERR;
	w->target_errors++;
	w->last_error = *d;
}

#define CALL(w, op, ...)                                                                           \
	do {                                                                                       \
		ft_diag call_diag_;                                                                \
		ft_diag_clear(&call_diag_);                                                        \
		if ((w)->target.ops->op((w)->target.ctx, __VA_ARGS__, &call_diag_) != FT_OK)       \
			target_failed((w), &call_diag_);                                           \
	} while (0)

static void target_halt(ft_dap_wire *w)
{
	ft_diag d;
	ft_diag_clear(&d);
	if (w->target.ops->halt(w->target.ctx, &d) != FT_OK)
		target_failed(w, &d);
	else
		w->halted = true;
}

static void target_run(ft_dap_wire *w, bool step)
{
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = step ? w->target.ops->step(w->target.ctx, &d)
	                    : w->target.ops->resume(w->target.ctx, &d);
	if (err != FT_OK)
		target_failed(w, &d);
	else
		w->halted = step;
}

/* A running core may have stopped at a breakpoint. */
static void poll_core(ft_dap_wire *w)
{
	if (w->halted)
		return;
	bool halted = false;
	ft_diag d;
	ft_diag_clear(&d);
	if (w->target.ops->poll(w->target.ctx, &halted, &d) != FT_OK) {
		target_failed(w, &d);
		return;
	}
	if (halted) {
		w->halted = true;
		w->dhcsr_ctrl |= C_HALT;
		w->dfsr |= DFSR_BKPT;
	}
}

/* DCRSR.REGSEL -> a register by name (ARMv7-M ARM C1.6.3); FT_GDB_REG_COUNT: none we carry (the
 * FP registers read as 0). */
static ft_gdb_reg regsel_reg(uint32_t sel)
{
	if (sel <= 15)
		return (ft_gdb_reg)sel; /* r0..r12, sp, lr, DebugReturnAddress (pc) */
	switch (sel) {
	case 16: return FT_GDB_XPSR;
	case 17: return FT_GDB_MSP;
	case 18: return FT_GDB_PSP;
	default: return FT_GDB_REG_COUNT;
	}
}

static const ft_gdb_reg special_regs[4] = {FT_GDB_PRIMASK, FT_GDB_BASEPRI, FT_GDB_FAULTMASK,
                                           FT_GDB_CONTROL};

static uint32_t read_reg(ft_dap_wire *w, ft_gdb_reg reg)
{
	uint32_t v = 0;
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = w->target.ops->read_reg(w->target.ctx, reg, &v, &d);
	if (err != FT_OK && err != FT_ERR_UNSUPPORTED)
		target_failed(w, &d);
	return err == FT_OK ? v : 0;
}

static void write_reg(ft_dap_wire *w, ft_gdb_reg reg, uint32_t v)
{
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = w->target.ops->write_reg(w->target.ctx, reg, v, &d);
	if (err != FT_OK && err != FT_ERR_UNSUPPORTED)
		target_failed(w, &d);
}

static void dcrsr_write(ft_dap_wire *w, uint32_t v)
{
	uint32_t sel = v & DCRSR_REGSEL;
	bool wr = (v & DCRSR_REGWNR) != 0;
	if (sel == REGSEL_SPECIAL) {
		if (wr) {
			for (unsigned i = 0; i < 4; i++)
				write_reg(w, special_regs[i], (w->dcrdr >> (8 * i)) & 0xFFu);
		} else {
			w->dcrdr = 0;
			for (unsigned i = 0; i < 4; i++)
				w->dcrdr |= (read_reg(w, special_regs[i]) & 0xFFu) << (8 * i);
		}
		return;
	}
	ft_gdb_reg reg = regsel_reg(sel);
	if (reg == FT_GDB_REG_COUNT) {
		if (!wr)
			w->dcrdr = 0;
		return;
	}
	if (wr)
		write_reg(w, reg, w->dcrdr);
	else
		w->dcrdr = read_reg(w, reg);
}

static void dhcsr_write(ft_dap_wire *w, uint32_t v)
{
	if (v >> 16 != DBGKEY)
		return; /* writes without the key are ignored (ARMv7-M ARM C1.6.2) */
	w->dhcsr_ctrl = v & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS | C_SNAPSTALL);
	poll_core(w);
	if ((v & C_HALT) && !w->halted) {
		target_halt(w);
		w->dfsr |= DFSR_HALTED;
	} else if (!(v & C_HALT) && w->halted) {
		target_run(w, (v & C_STEP) && (v & C_DEBUGEN));
		if (w->halted)
			w->dfsr |= DFSR_HALTED;
	}
}

static uint32_t dhcsr_read(ft_dap_wire *w)
{
	poll_core(w);
	uint32_t v = w->dhcsr_ctrl | S_REGRDY | (w->halted ? S_HALT : S_RETIRE_ST) |
	             (w->reset_seen ? S_RESET_ST : 0);
	w->reset_seen = false; /* S_RESET_ST clears on read */
	return v;
}

static void aircr_write(ft_dap_wire *w, uint32_t v)
{
	if (v >> 16 != VECTKEY || !(v & AIRCR_RESETS)) {
		CALL(w, write, AIRCR, 4, v);
		return;
	}
	bool halt = (w->demcr & VC_CORERESET) != 0;
	ft_diag d;
	ft_diag_clear(&d);
	if (w->target.ops->reset(w->target.ctx, halt, &d) != FT_OK) {
		target_failed(w, &d);
		return;
	}
	w->reset_seen = true;
	w->halted = halt;
	w->dhcsr_ctrl &= C_DEBUGEN | (halt ? C_HALT : 0);
	if (halt)
		w->dfsr |= DFSR_VCATCH;
}

/* The breakpoints the FPB asks for, made so at the target. */
static void sync_breakpoints(ft_dap_wire *w)
{
	for (unsigned i = 0; i < FPB_COMPS; i++) {
		bool on = w->fp_enable && (w->fp_comp[i] & 1u);
		uint32_t addr = w->fp_comp[i] & ~1u;
		if (w->bp_on[i] && (!on || w->bp_active[i] != addr)) {
			CALL(w, breakpoint, w->bp_active[i], false);
			w->bp_on[i] = false;
		}
		if (on && !w->bp_on[i]) {
			CALL(w, breakpoint, addr, true);
			w->bp_on[i] = true;
			w->bp_active[i] = addr;
		}
	}
}

/* ROM table of AP0 (CoreSight Arch. §D6): entries to SCS, ITM, DWT, FPB, then IDs. */
static uint32_t rom_read(uint32_t off)
{
	static const uint32_t components[] = {SCS_BASE, ITM_BASE, DWT_BASE, FPB_BASE};
	if (off / 4 < sizeof(components) / sizeof(components[0]))
		return (components[off / 4] - ROM_BASE) | 3u; /* present, 32-bit format */
	static const uint8_t pidr[4] = {0xC7, 0xB4, 0x0B, 0x00};
	static const uint8_t cidr[4] = {0x0D, 0x10, 0x05, 0xB1};
	if (off == ROM_MEMTYPE)
		return 1; /* system memory present */
	if (off == ROM_PIDR4)
		return 0x04;
	if (off >= ROM_PIDR0 && off < ROM_PIDR0 + 16)
		return pidr[(off - ROM_PIDR0) / 4];
	if (off >= ROM_CIDR0)
		return cidr[(off - ROM_CIDR0) / 4];
	return 0;
}

/* A register the bridge keeps itself (AP0 view): true when addr is one, *value read. */
static bool local_read(ft_dap_wire *w, uint32_t addr, uint32_t *value)
{
	switch (addr) {
	case DHCSR: *value = dhcsr_read(w); return true;
	case DCRSR: *value = 0; return true;
	case DCRDR: *value = w->dcrdr; return true;
	case DEMCR: *value = w->demcr; return true;
	case DFSR: *value = w->dfsr; return true;
	}
	if (addr - FPB_BASE < BLOCK) {
		uint32_t off = addr - FPB_BASE;
		if (off == 0)
			*value = FP_CTRL_REV1 | (FPB_COMPS << 4) | w->fp_enable;
		else if (off >= FP_COMP0 && off < FP_COMP0 + 4 * FPB_COMPS)
			*value = w->fp_comp[(off - FP_COMP0) / 4];
		else
			*value = 0;
		return true;
	}
	if (addr - DWT_BASE < BLOCK) {
		uint32_t off = addr - DWT_BASE;
		*value = off == 0 ? DWT_NUMCOMP : off / 4 < DWT_WORDS ? w->dwt[off / 4] : 0;
		return true;
	}
	if (addr - ITM_BASE < BLOCK) {
		*value = 0;
		return true;
	}
	if (addr - ROM_BASE < BLOCK) {
		*value = rom_read(addr - ROM_BASE);
		return true;
	}
	return false;
}

static bool local_write(ft_dap_wire *w, uint32_t addr, uint32_t v)
{
	switch (addr) {
	case DHCSR: dhcsr_write(w, v); return true;
	case DCRSR: dcrsr_write(w, v); return true;
	case DCRDR: w->dcrdr = v; return true;
	case DEMCR: w->demcr = v; return true;
	case DFSR: w->dfsr &= ~v; return true; /* write-1-to-clear */
	case AIRCR: aircr_write(w, v); return true;
	}
	if (addr - FPB_BASE < BLOCK) {
		uint32_t off = addr - FPB_BASE;
		if (off == 0 && (v & FP_CTRL_KEY))
			w->fp_enable = v & 1u;
		else if (off >= FP_COMP0 && off < FP_COMP0 + 4 * FPB_COMPS)
			w->fp_comp[(off - FP_COMP0) / 4] = v;
		sync_breakpoints(w);
		return true;
	}
	if (addr - DWT_BASE < BLOCK) {
		uint32_t off = addr - DWT_BASE;
		if (off != 0 && off / 4 < DWT_WORDS)
			w->dwt[off / 4] = v;
		return true;
	}
	return addr - ITM_BASE < BLOCK || addr - ROM_BASE < BLOCK;
}

/* A word-aligned register access of the bridge's own, or a bus access through the target. */
static uint32_t bus_read(ft_dap_wire *w, unsigned apsel, uint32_t addr, unsigned len)
{
	uint32_t v = 0;
	if (apsel == 2) {
		if (addr - AP2_DBGMCU < DBGMCU_SPAN)
			CALL(w, read, addr - AP2_DBGMCU + CORE_DBGMCU, len, &v);
		return v; /* the rest of the debug bus (SWO, TPIU, funnel) reads as 0 */
	}
	uint32_t word;
	if (local_read(w, addr & ~3u, &word))
		return (word >> (8 * (addr & 3u))) & (len == 4 ? ~0u : (1u << (8 * len)) - 1u);
	CALL(w, read, addr, len, &v);
	return v;
}

static void bus_write(ft_dap_wire *w, unsigned apsel, uint32_t addr, unsigned len, uint32_t v)
{
	if (apsel == 2) {
		if (addr - AP2_DBGMCU < DBGMCU_SPAN)
			CALL(w, write, addr - AP2_DBGMCU + CORE_DBGMCU, len, v);
		return;
	}
	/* the bridge's registers take word writes; narrower ones land in their lane */
	if (len == 4 && local_write(w, addr, v))
		return;
	uint32_t word;
	if (len != 4 && local_read(w, addr & ~3u, &word)) {
		unsigned shift = 8 * (addr & 3u);
		uint32_t mask = ((1u << (8 * len)) - 1u) << shift;
		local_write(w, addr & ~3u, (word & ~mask) | ((v << shift) & mask));
		return;
	}
	CALL(w, write, addr, len, v);
}

/* DRW: the access at TAR in CSW's size, data in the byte lanes of TAR (ADIv5 §7.2.3). */
static uint32_t drw_access(ft_dap_wire *w, unsigned apsel, bool rnw, uint32_t data)
{
	mem_ap *ap = &w->ap[apsel];
	unsigned size = ap->csw & CSW_SIZE;
	unsigned len = size >= 2 ? 4u : 1u << size;
	uint32_t addr = ap->tar & ~(len - 1u);
	unsigned shift = 8 * (addr & 3u);
	uint32_t lane = len == 4 ? ~0u : (1u << (8 * len)) - 1u;
	uint32_t out = 0;
	if (rnw)
		out = bus_read(w, apsel, addr, len) << shift;
	else
		bus_write(w, apsel, addr, len, (data >> shift) & lane);
	if ((ap->csw & CSW_ADDRINC) == CSW_INC_SINGLE)
		ap->tar = (ap->tar & ~TAR_INC_WRAP) | ((ap->tar + len) & TAR_INC_WRAP);
	return out;
}

static uint32_t ap_access(ft_dap_wire *w, uint32_t reg, bool rnw, uint32_t data)
{
	unsigned apsel = w->select >> 24;
	if (apsel != 0 && apsel != 2)
		return 0; /* no AP there: IDR reads 0 (ADIv5 §10.1) */
	mem_ap *ap = &w->ap[apsel];
	switch (reg) {
	case AP_CSW:
		if (!rnw) {
			unsigned size = data & CSW_SIZE;
			/* packed transfers are not modelled: AddrInc reads back off */
			uint32_t inc = data & CSW_ADDRINC;
			ap->csw = (data & ~(CSW_SIZE | CSW_ADDRINC | 0xF80u)) |
			          (size > 2 ? 2u : size) | (inc == CSW_INC_SINGLE ? inc : 0);
		}
		return ap->csw | CSW_DEVICEEN;
	case AP_TAR:
		if (!rnw)
			ap->tar = data;
		return ap->tar;
	case AP_DRW: return drw_access(w, apsel, rnw, data);
	case AP_CFG: return 0; /* little-endian, 32-bit addresses */
	case AP_BASE: return apsel == 0 ? AP0_BASE : AP2_BASE;
	case AP_IDR: return apsel == 0 ? AP0_IDR : AP2_IDR;
	}
	if (reg >= AP_BD0 && reg < AP_BD0 + 16) {
		uint32_t addr = (ap->tar & ~0xFu) | (reg - AP_BD0);
		if (rnw)
			return bus_read(w, apsel, addr, 4);
		bus_write(w, apsel, addr, 4, data);
	}
	return 0;
}

static uint32_t dp_access(ft_dap_wire *w, uint32_t a, bool rnw, uint32_t data)
{
	switch (a) {
	case DP_CTRL_STAT:
		if (!rnw) {
			w->ctrl_stat &= ~(data & CS_STICKY); /* JTAG-DP: write 1 to clear */
			w->ctrl_stat = (w->ctrl_stat & ~CS_WRITABLE) | (data & CS_WRITABLE);
		}
		/* every request acknowledged at once: ACK = REQ << 1 */
		return w->ctrl_stat |
		       ((w->ctrl_stat & (CS_CDBGRSTREQ | CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ)) << 1);
	case DP_SELECT:
		if (!rnw)
			w->select = data;
		return w->select;
	case DP_RDBUFF: return w->result;
	default: return 0;
	}
}

/* Update-DR of the DP TAP: one DPACC/APACC/ABORT transaction. */
static void dp_update(ft_dap_wire *w)
{
	tap *t = &w->taps[TAP_DP];
	if (t->ir != IR_DPACC && t->ir != IR_APACC)
		return; /* ABORT: transactions finish at once, nothing to abort */
	uint64_t bits = t->sh.bits;
	bool rnw = bits & 1u;
	uint32_t a = (uint32_t)((bits >> 1) & 3u) << 2;
	uint32_t data = (uint32_t)(bits >> 3);
	uint32_t v;
	if (t->ir == IR_DPACC) {
		v = dp_access(w, a, rnw, data);
	} else {
		if (w->ctrl_stat & CS_STICKYERR)
			return; /* AP transactions are dropped until the error is cleared */
		v = ap_access(w, (w->select & 0xF0u) | a, rnw, data);
	}
	if (rnw)
		w->result = v;
}

static void capture_dr(ft_dap_wire *w)
{
	tap *bs = &w->taps[TAP_BS];
	bs->sh = bs->ir == BS_BYPASS ? (shreg){0, 1} : (shreg){BS_IDCODE, 32};
	tap *dp = &w->taps[TAP_DP];
	switch (dp->ir) {
	case IR_IDCODE: dp->sh = (shreg){DP_JTAG_IDCODE, 32}; break;
	case IR_DPACC:
	case IR_APACC:
	case IR_ABORT: dp->sh = (shreg){((uint64_t)w->result << 3) | ACK_OK, ACC_BITS}; break;
	default: dp->sh = (shreg){0, 1}; break; /* BYPASS and the unused codes */
	}
}

/* One bit through the chain: TDI in above the boundary-scan TAP, TDO out of the DP's bit 0. */
static void shift(ft_dap_wire *w)
{
	tap *bs = &w->taps[TAP_BS], *dp = &w->taps[TAP_DP];
	uint64_t between = bs->sh.bits & 1u;
	dp->sh.bits = (dp->sh.bits >> 1) | (between << (dp->sh.len - 1));
	bs->sh.bits = (bs->sh.bits >> 1) | ((uint64_t)w->tdi << (bs->sh.len - 1));
}

static void tap_reset(ft_dap_wire *w)
{
	w->taps[TAP_BS].ir = 1;
	w->taps[TAP_DP].ir = IR_IDCODE;
}

/* A rising TCK edge. */
static void clock(ft_dap_wire *w)
{
	if (w->state == SHIFT_DR || w->state == SHIFT_IR)
		shift(w);
	w->state = (tap_state)tap_next[w->state][w->tms];
	switch (w->state) {
	case TLR: tap_reset(w); break;
	case CAP_DR: capture_dr(w); break;
	case CAP_IR:
		for (unsigned i = 0; i < TAP_COUNT; i++) /* IR capture 0b..01 (IEEE 1149.1 §7.1) */
			w->taps[i].sh = (shreg){1, w->taps[i].ir_len};
		break;
	case UPD_DR: dp_update(w); break;
	case UPD_IR:
		for (unsigned i = 0; i < TAP_COUNT; i++)
			w->taps[i].ir = (uint32_t)w->taps[i].sh.bits;
		break;
	default: break;
	}
}

static bool tdo(const ft_dap_wire *w)
{
	return (w->state == SHIFT_DR || w->state == SHIFT_IR) && (w->taps[TAP_DP].sh.bits & 1u);
}

ft_error ft_dap_wire_feed(ft_dap_wire *w, const uint8_t *in, size_t n, uint8_t *out,
                          size_t *out_len, bool *quit, ft_diag *diag)
{
	*out_len = 0;
	*quit = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (c >= '0' && c <= '7') {
			bool tck = (c - '0') & 4;
			w->tms = (c - '0') & 2;
			w->tdi = (c - '0') & 1;
			if (tck && !w->tck)
				clock(w);
			w->tck = tck;
		} else if (c == 'R') {
			out[(*out_len)++] = tdo(w) ? '1' : '0';
		} else if (c >= 'r' && c <= 'u') {
			if ((c - 'r') & 2) { /* TRST */
				w->state = TLR;
				tap_reset(w);
			}
		} else if (c == 'Q') {
			*quit = true;
			return FT_OK;
		} else if (c != 'B' && c != 'b' && c != 'Z' && c != 'z') {
			return ft_diag_set(
			    diag, FT_ERR_PROTOCOL, "remote_bitbang",
			    "byte 0x%02x at offset %zu is not a remote_bitbang command", c, i);
		}
	}
	return FT_OK;
}

/* ---- the target: a GDB server ---- */

/* Quirk qemu-no-bkpt-halt: QEMU's gdbstub does not stop on a BKPT instruction (QEMU 7.2 takes
 * it as a DebugMonitor exception, which escalates to HardFault), where a core under a debugger
 * halts. OpenOCD's flash algorithms end on one. Before every resume the BKPT encodings
 * (0xBExx, ARMv7-M ARM A7.7.17) in the BKPT_WINDOW bytes from PC get hardware breakpoints, taken
 * away at the next stop: the core then halts on the instruction, as silicon does. One on a
 * literal or the second half of a 32-bit instruction is never reached, so it is harmless. */
#define BKPT_WINDOW 512u
#define BKPT_MAX    16u

typedef struct gdb_target {
	ft_gdb *gdb;
	bool running;
	uint32_t bkpt[BKPT_MAX]; /* breakpoints set for the quirk */
	unsigned bkpts;
} gdb_target;

static void catch_bkpts(gdb_target *t)
{
	uint32_t pc;
	uint8_t code[BKPT_WINDOW];
	ft_diag d;
	ft_diag_clear(&d);
	if (ft_gdb_read_reg(t->gdb, FT_GDB_PC, &pc, &d) != FT_OK)
		return; /* nothing to catch: the resume reports what is wrong */
	pc &= ~1u;
	if (pc > UINT32_MAX - BKPT_WINDOW ||
	    ft_gdb_read_mem(t->gdb, pc, code, sizeof(code), &d) != FT_OK)
		return;
	for (unsigned i = 0; i + 1 < sizeof(code) && t->bkpts < BKPT_MAX; i += 2) {
		if (code[i + 1] == 0xBE &&
		    ft_gdb_set_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, pc + i, &d) == FT_OK)
			t->bkpt[t->bkpts++] = pc + i;
	}
}

/* The core stopped for the debugger: the quirk's breakpoints go. */
static void stopped(gdb_target *t)
{
	t->running = false;
	ft_diag d;
	ft_diag_clear(&d);
	for (unsigned i = 0; i < t->bkpts; i++)
		(void)ft_gdb_clear_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, t->bkpt[i], &d);
	t->bkpts = 0;
}

/* The GDB server answers nothing but an interrupt while the core runs: stop it first. */
static ft_error stop_for_access(gdb_target *t, bool *was_running, ft_diag *diag)
{
	*was_running = t->running;
	if (!t->running)
		return FT_OK;
	ft_gdb_stop stop;
	ft_error err = ft_gdb_interrupt(t->gdb, 2000, &stop, diag);
	if (err == FT_OK)
		t->running = false; /* for a moment: the quirk's breakpoints stay */
	return err;
}

static ft_error restart(gdb_target *t, bool was_running, ft_error err, ft_diag *diag)
{
	if (!was_running)
		return err;
	ft_diag d;
	ft_diag_clear(&d);
	ft_error rerr = ft_gdb_resume(t->gdb, &d);
	if (rerr == FT_OK)
		t->running = true;
	else if (err == FT_OK)
		*diag = d;
	return err != FT_OK ? err : rerr;
}

static ft_error gt_read(void *ctx, uint32_t addr, unsigned len, uint32_t *value, ft_diag *diag)
{
	gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	uint8_t b[4] = {0};
	err = ft_gdb_read_mem(t->gdb, addr, b, len, diag);
	*value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return restart(t, was, err, diag);
}

static ft_error gt_write(void *ctx, uint32_t addr, unsigned len, uint32_t value, ft_diag *diag)
{
	gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
	                (uint8_t)(value >> 24)};
	err = ft_gdb_write_mem(t->gdb, addr, b, len, diag);
	return restart(t, was, err, diag);
}

static ft_error gt_halt(void *ctx, ft_diag *diag)
{
	bool was;
	ft_error err = stop_for_access(ctx, &was, diag);
	if (err == FT_OK)
		stopped(ctx);
	return err;
}

static ft_error gt_resume(void *ctx, ft_diag *diag)
{
	gdb_target *t = ctx;
	if (t->running)
		return FT_OK;
	catch_bkpts(t);
	ft_error err = ft_gdb_resume(t->gdb, diag);
	if (err == FT_OK)
		t->running = true;
	return err;
}

static ft_error gt_step(void *ctx, ft_diag *diag)
{
	gdb_target *t = ctx;
	ft_error err = gt_halt(t, diag);
	ft_gdb_stop stop;
	return err != FT_OK ? err : ft_gdb_step(t->gdb, &stop, diag);
}

static ft_error gt_poll(void *ctx, bool *halted, ft_diag *diag)
{
	gdb_target *t = ctx;
	if (t->running) {
		ft_gdb_stop stop;
		ft_error err = ft_gdb_wait_stop(t->gdb, 0, &stop, diag);
		if (err == FT_OK)
			stopped(t);
		else if (err != FT_ERR_TIMEOUT)
			return err;
	}
	*halted = !t->running;
	return FT_OK;
}

static ft_error gt_read_reg(void *ctx, ft_gdb_reg reg, uint32_t *value, ft_diag *diag)
{
	gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = ft_gdb_read_reg(t->gdb, reg, value, diag);
	return restart(t, was, err, diag);
}

static ft_error gt_write_reg(void *ctx, ft_gdb_reg reg, uint32_t value, ft_diag *diag)
{
	gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = ft_gdb_write_reg(t->gdb, reg, value, diag);
	return restart(t, was, err, diag);
}

/* SYSRESETREQ through the GDB server (flashtwin's QEMU overlay routes debugger writes to AIRCR;
 * docs/gdb.md); QEMU keeps a stopped machine stopped across the reset. */
static ft_error gt_reset(void *ctx, bool halt, ft_diag *diag)
{
	gdb_target *t = ctx;
	ft_error err = gt_halt(t, diag);
	if (err == FT_OK)
		err = ft_gdb_write_u32(t->gdb, AIRCR, (VECTKEY << 16) | 0x4u, diag);
	if (err == FT_OK && !halt)
		err = gt_resume(t, diag);
	return err;
}

static ft_error gt_breakpoint(void *ctx, uint32_t addr, bool set, ft_diag *diag)
{
	gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = set ? ft_gdb_set_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, addr, diag)
	          : ft_gdb_clear_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, addr, diag);
	return restart(t, was, err, diag);
}

static const ft_dap_target_ops gdb_target_ops = {
    .read = gt_read,
    .write = gt_write,
    .halt = gt_halt,
    .resume = gt_resume,
    .step = gt_step,
    .poll = gt_poll,
    .read_reg = gt_read_reg,
    .write_reg = gt_write_reg,
    .reset = gt_reset,
    .breakpoint = gt_breakpoint,
};

/* ---- the server ---- */

struct ft_dap_bridge {
	ft_dap_bridge_config config;
	gdb_target target;
	int listen_fd, peer_fd;
	unsigned port;
	ft_dap_wire *wire;
	unsigned peers; /* connections served, for log lines */
};

static void blog(const ft_dap_bridge *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void blog(const ft_dap_bridge *b, const char *fmt, ...)
{
	if (!b->config.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->config.log(b->config.user, line);
}

ft_error ft_dap_bridge_open(const ft_dap_bridge_config *config, ft_dap_bridge **out, ft_diag *diag)
{
	*out = NULL;
	const char *host = config->host ? config->host : "127.0.0.1";
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)config->port)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || config->port > 65535 || !config->gdb)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "debug-port bridge",
		                   "listen on %s:%u for gdb %s: expected a numeric IPv4 address, a "
		                   "port and a GDB server",
		                   host, config->port, config->gdb ? config->gdb : "(none)");
	ft_dap_bridge *b = calloc(1, sizeof(*b));
	if (!b)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "debug-port bridge", "out of memory");
	b->config = *config;
	b->listen_fd = b->peer_fd = -1;
	ft_error err = ft_gdb_open(config->gdb, NULL, &b->target.gdb, diag);
	if (err != FT_OK) {
		free(b);
		return err;
	}
	int one = 1;
	socklen_t len = sizeof(sa);
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 ||
	    setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(b->listen_fd, 1) != 0 ||
	    getsockname(b->listen_fd, (struct sockaddr *)&sa, &len) != 0) {
		ft_diag_set(diag, FT_ERR_IO, "debug-port bridge", "listen on %s:%u: %s", host,
		            config->port, strerror(errno));
		ft_dap_bridge_close(b);
		return FT_ERR_IO;
	}
	b->port = ntohs(sa.sin_port);
	*out = b;
	return FT_OK;
}

unsigned ft_dap_bridge_port(const ft_dap_bridge *b)
{
	return b->port;
}

static void drop_peer(ft_dap_bridge *b, const char *why)
{
	ft_diag last;
	unsigned errors = b->wire ? ft_dap_wire_target_errors(b->wire, &last) : 0;
	blog(b, "connection %u closed: %s (%u target errors%s%s)", b->peers, why, errors,
	     errors ? "; last: " : "", errors ? last.message : "");
	close(b->peer_fd);
	b->peer_fd = -1;
	ft_dap_wire_free(b->wire);
	b->wire = NULL;
}

static void accept_peer(ft_dap_bridge *b)
{
	int fd = accept(b->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	if (b->peer_fd >= 0) {
		blog(b, "a second connection refused while connection %u is served", b->peers);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b->wire =
	    ft_dap_wire_new(&(ft_dap_target){&gdb_target_ops, &b->target, !b->target.running});
	if (!b->wire) {
		close(fd);
		blog(b, "connection refused: out of memory");
		return;
	}
	b->peer_fd = fd;
	b->peers++;
	blog(b, "connection %u from a remote_bitbang peer", b->peers);
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void serve_peer(ft_dap_bridge *b)
{
	uint8_t in[FEED_CHUNK], out[FEED_CHUNK];
	ssize_t n = recv(b->peer_fd, in, sizeof(in), 0);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		drop_peer(b, n == 0 ? "the peer closed it" : strerror(errno));
		return;
	}
	size_t out_len;
	bool quit;
	ft_diag d;
	ft_diag_clear(&d);
	if (ft_dap_wire_feed(b->wire, in, (size_t)n, out, &out_len, &quit, &d) != FT_OK) {
		drop_peer(b, d.message);
		return;
	}
	if (!send_all(b->peer_fd, out, out_len))
		drop_peer(b, "sending to the peer failed");
	else if (quit)
		drop_peer(b, "the peer quit");
}

ft_error ft_dap_bridge_serve(ft_dap_bridge *b, int timeout_ms, ft_diag *diag)
{
	struct pollfd p[2] = {{b->listen_fd, POLLIN, 0}, {b->peer_fd, POLLIN, 0}};
	int r = poll(p, b->peer_fd >= 0 ? 2 : 1, timeout_ms);
	if (r < 0 && errno != EINTR)
		return ft_diag_set(diag, FT_ERR_IO, "debug-port bridge", "poll: %s", strerror(errno));
	if (r <= 0)
		return FT_OK;
	if (p[0].revents & (POLLERR | POLLNVAL))
		return ft_diag_set(diag, FT_ERR_IO, "debug-port bridge", "the listening socket failed");
	if (b->peer_fd >= 0 && p[1].revents)
		serve_peer(b);
	if (p[0].revents & POLLIN)
		accept_peer(b);
	return FT_OK;
}

void ft_dap_bridge_close(ft_dap_bridge *b)
{
	if (!b)
		return;
	if (b->peer_fd >= 0)
		close(b->peer_fd);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	ft_dap_wire_free(b->wire);
	ft_gdb_close(b->target.gdb);
	free(b);
}
