/* The debug port (dap_port.h): DP registers, two MEM-APs, the core-debug translation. */
#include "emu/dap_port.h"

#include <stdlib.h>

/* ---- silicon facts ---- */

/* DP registers by A[3:2] (ADIv5 §2.3) and CTRL/STAT bits (ADIv5 §2.3.2). */
#define DP_CTRL_STAT     0x4u
#define DP_SELECT        0x8u
#define DP_RDBUFF        0xCu
#define CS_STICKYORUN    (1u << 1)
#define CS_STICKYCMP     (1u << 4)
#define CS_STICKYERR     (1u << 5)
#define CS_CDBGRSTREQ    (1u << 26)
#define CS_CDBGPWRUPREQ  (1u << 28)
#define CS_CSYSPWRUPREQ  (1u << 30)
#define CS_STICKY        (CS_STICKYORUN | CS_STICKYCMP | CS_STICKYERR)
#define ABORT_STKCMPCLR  (1u << 1)
#define ABORT_STKERRCLR  (1u << 2)
#define ABORT_ORUNERRCLR (1u << 4)
#define CS_WRITABLE      (CS_CDBGRSTREQ | CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ | 0x0FFF0F0Cu)
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

typedef struct mem_ap {
	uint32_t csw, tar;
} mem_ap;

struct ft_dap_port {
	ft_dap_target target;
	uint32_t ctrl_stat, select;
	uint32_t result; /* the last read: RDBUFF */
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

ft_dap_port *ft_dap_port_new(const ft_dap_target *target)
{
	ft_dap_port *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->target = *target;
	p->halted = target->halted;
	/* a core halted by the debugger before us: debug enabled, halt requested */
	p->dhcsr_ctrl = p->halted ? C_DEBUGEN | C_HALT : 0;
	p->dfsr = p->halted ? DFSR_HALTED : 0;
	return p;
}

void ft_dap_port_free(ft_dap_port *p)
{
	free(p);
}

unsigned ft_dap_port_target_errors(const ft_dap_port *p, ft_diag *last)
{
	if (last)
		*last = p->last_error;
	return p->target_errors;
}

/* A failed target access: a sticky error on the DP, the diag kept for the log. */
static void target_failed(ft_dap_port *p, const ft_diag *d)
{
	p->ctrl_stat |= CS_STICKYERR;
	p->target_errors++;
	p->last_error = *d;
}

#define CALL(p, op, ...)                                                                           \
	do {                                                                                       \
		ft_diag call_diag_;                                                                \
		ft_diag_clear(&call_diag_);                                                        \
		if ((p)->target.ops->op((p)->target.ctx, __VA_ARGS__, &call_diag_) != FT_OK)       \
			target_failed((p), &call_diag_);                                           \
	} while (0)

static void target_halt(ft_dap_port *p)
{
	ft_diag d;
	ft_diag_clear(&d);
	if (p->target.ops->halt(p->target.ctx, &d) != FT_OK)
		target_failed(p, &d);
	else
		p->halted = true;
}

static void target_run(ft_dap_port *p, bool step)
{
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = step ? p->target.ops->step(p->target.ctx, &d)
	                    : p->target.ops->resume(p->target.ctx, &d);
	if (err != FT_OK)
		target_failed(p, &d);
	else
		p->halted = step;
}

/* A running core may have stopped at a breakpoint. */
static void poll_core(ft_dap_port *p)
{
	if (p->halted)
		return;
	bool halted = false;
	ft_diag d;
	ft_diag_clear(&d);
	if (p->target.ops->poll(p->target.ctx, &halted, &d) != FT_OK) {
		target_failed(p, &d);
		return;
	}
	if (halted) {
		p->halted = true;
		p->dhcsr_ctrl |= C_HALT;
		p->dfsr |= DFSR_BKPT;
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

static uint32_t read_reg(ft_dap_port *p, ft_gdb_reg reg)
{
	uint32_t v = 0;
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = p->target.ops->read_reg(p->target.ctx, reg, &v, &d);
	if (err != FT_OK && err != FT_ERR_UNSUPPORTED)
		target_failed(p, &d);
	return err == FT_OK ? v : 0;
}

static void write_reg(ft_dap_port *p, ft_gdb_reg reg, uint32_t v)
{
	ft_diag d;
	ft_diag_clear(&d);
	ft_error err = p->target.ops->write_reg(p->target.ctx, reg, v, &d);
	if (err != FT_OK && err != FT_ERR_UNSUPPORTED)
		target_failed(p, &d);
}

static void dcrsr_write(ft_dap_port *p, uint32_t v)
{
	uint32_t sel = v & DCRSR_REGSEL;
	bool wr = (v & DCRSR_REGWNR) != 0;
	if (sel == REGSEL_SPECIAL) {
		if (wr) {
			for (unsigned i = 0; i < 4; i++)
				write_reg(p, special_regs[i], (p->dcrdr >> (8 * i)) & 0xFFu);
		} else {
			p->dcrdr = 0;
			for (unsigned i = 0; i < 4; i++)
				p->dcrdr |= (read_reg(p, special_regs[i]) & 0xFFu) << (8 * i);
		}
		return;
	}
	ft_gdb_reg reg = regsel_reg(sel);
	if (reg == FT_GDB_REG_COUNT) {
		if (!wr)
			p->dcrdr = 0;
		return;
	}
	if (wr)
		write_reg(p, reg, p->dcrdr);
	else
		p->dcrdr = read_reg(p, reg);
}

static void dhcsr_write(ft_dap_port *p, uint32_t v)
{
	if (v >> 16 != DBGKEY)
		return; /* writes without the key are ignored (ARMv7-M ARM C1.6.2) */
	p->dhcsr_ctrl = v & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS | C_SNAPSTALL);
	poll_core(p);
	if ((v & C_HALT) && !p->halted) {
		target_halt(p);
		p->dfsr |= DFSR_HALTED;
	} else if (!(v & C_HALT) && p->halted) {
		target_run(p, (v & C_STEP) && (v & C_DEBUGEN));
		if (p->halted)
			p->dfsr |= DFSR_HALTED;
	}
}

static uint32_t dhcsr_read(ft_dap_port *p)
{
	poll_core(p);
	uint32_t v = p->dhcsr_ctrl | S_REGRDY | (p->halted ? S_HALT : S_RETIRE_ST) |
	             (p->reset_seen ? S_RESET_ST : 0);
	p->reset_seen = false; /* S_RESET_ST clears on read */
	return v;
}

/* A system reset, as AIRCR.SYSRESETREQ or nRESET makes it: the core halts at the reset vector
 * when DEMCR.VC_CORERESET is set (ARMv7-M ARM C1.6.5). */
static void system_reset(ft_dap_port *p)
{
	bool halt = (p->demcr & VC_CORERESET) != 0;
	ft_diag d;
	ft_diag_clear(&d);
	if (p->target.ops->reset(p->target.ctx, halt, &d) != FT_OK) {
		target_failed(p, &d);
		return;
	}
	p->reset_seen = true;
	p->halted = halt;
	p->dhcsr_ctrl &= C_DEBUGEN | (halt ? C_HALT : 0);
	if (halt)
		p->dfsr |= DFSR_VCATCH;
}

static void aircr_write(ft_dap_port *p, uint32_t v)
{
	if (v >> 16 != VECTKEY || !(v & AIRCR_RESETS)) {
		CALL(p, write, AIRCR, 4, v);
		return;
	}
	system_reset(p);
}

/* The breakpoints the FPB asks for, made so at the target. */
static void sync_breakpoints(ft_dap_port *p)
{
	for (unsigned i = 0; i < FPB_COMPS; i++) {
		bool on = p->fp_enable && (p->fp_comp[i] & 1u);
		uint32_t addr = p->fp_comp[i] & ~1u;
		if (p->bp_on[i] && (!on || p->bp_active[i] != addr)) {
			CALL(p, breakpoint, p->bp_active[i], false);
			p->bp_on[i] = false;
		}
		if (on && !p->bp_on[i]) {
			CALL(p, breakpoint, addr, true);
			p->bp_on[i] = true;
			p->bp_active[i] = addr;
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

/* The CoreSight ID registers (PIDR4 0xFD0, PIDR0-3 0xFE0, CIDR0-3 0xFF0 of each 4 KiB block) of
 * the Cortex-M7's SCS, ITM, DWT and FPB: class 0xE (generic IP), designer ARM (JEP106 0x3B,
 * continuation 4), parts SCS 0x00C, ITM 0x001, DWT 0x002, FPB 0x00E, revision 0 (ARMv7-M ARM
 * C1.1.2; Cortex-M7 TRM §3.4 [U]). A debugger walking the ROM table (pyOCD) finds the core by
 * them. True when addr is one, *value read. */
static bool component_id(uint32_t addr, uint32_t *value)
{
	static const struct {
		uint32_t base, part;
	} parts[] = {{SCS_BASE, 0x00C}, {ITM_BASE, 0x001}, {DWT_BASE, 0x002}, {FPB_BASE, 0x00E}};
	static const uint8_t cidr[4] = {0x0D, 0xE0, 0x05, 0xB1};
	uint32_t off = addr & (BLOCK - 1u);
	if (off < ROM_PIDR4)
		return false;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (addr - off != parts[i].base)
			continue;
		uint32_t part = parts[i].part;
		const uint8_t pidr[4] = {(uint8_t)part, (uint8_t)(0xB0u | (part >> 8)), 0x0B, 0x00};
		if (off >= ROM_CIDR0)
			*value = cidr[(off - ROM_CIDR0) / 4];
		else if (off >= ROM_PIDR0)
			*value = pidr[(off - ROM_PIDR0) / 4];
		else
			*value = off == ROM_PIDR4 ? 0x04 : 0; /* PIDR5-7 read 0 */
		return true;
	}
	return false;
}

/* A register the bridge keeps itself (AP0 view): true when addr is one, *value read. */
static bool local_read(ft_dap_port *p, uint32_t addr, uint32_t *value)
{
	if (component_id(addr, value))
		return true;
	switch (addr) {
	case DHCSR: *value = dhcsr_read(p); return true;
	case DCRSR: *value = 0; return true;
	case DCRDR: *value = p->dcrdr; return true;
	case DEMCR: *value = p->demcr; return true;
	case DFSR: *value = p->dfsr; return true;
	}
	if (addr - FPB_BASE < BLOCK) {
		uint32_t off = addr - FPB_BASE;
		if (off == 0)
			*value = FP_CTRL_REV1 | (FPB_COMPS << 4) | p->fp_enable;
		else if (off >= FP_COMP0 && off < FP_COMP0 + 4 * FPB_COMPS)
			*value = p->fp_comp[(off - FP_COMP0) / 4];
		else
			*value = 0;
		return true;
	}
	if (addr - DWT_BASE < BLOCK) {
		uint32_t off = addr - DWT_BASE;
		*value = off == 0 ? DWT_NUMCOMP : off / 4 < DWT_WORDS ? p->dwt[off / 4] : 0;
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

static bool local_write(ft_dap_port *p, uint32_t addr, uint32_t v)
{
	switch (addr) {
	case DHCSR: dhcsr_write(p, v); return true;
	case DCRSR: dcrsr_write(p, v); return true;
	case DCRDR: p->dcrdr = v; return true;
	case DEMCR: p->demcr = v; return true;
	case DFSR: p->dfsr &= ~v; return true; /* write-1-to-clear */
	case AIRCR: aircr_write(p, v); return true;
	}
	if (addr - FPB_BASE < BLOCK) {
		uint32_t off = addr - FPB_BASE;
		if (off == 0 && (v & FP_CTRL_KEY))
			p->fp_enable = v & 1u;
		else if (off >= FP_COMP0 && off < FP_COMP0 + 4 * FPB_COMPS)
			p->fp_comp[(off - FP_COMP0) / 4] = v;
		sync_breakpoints(p);
		return true;
	}
	if (addr - DWT_BASE < BLOCK) {
		uint32_t off = addr - DWT_BASE;
		if (off != 0 && off / 4 < DWT_WORDS)
			p->dwt[off / 4] = v;
		return true;
	}
	return addr - ITM_BASE < BLOCK || addr - ROM_BASE < BLOCK;
}

/* A word-aligned register access of the bridge's own, or a bus access through the target. */
static uint32_t bus_read(ft_dap_port *p, unsigned apsel, uint32_t addr, unsigned len)
{
	uint32_t v = 0;
	if (apsel == 2) {
		if (addr - AP2_DBGMCU < DBGMCU_SPAN)
			CALL(p, read, addr - AP2_DBGMCU + CORE_DBGMCU, len, &v);
		return v; /* the rest of the debug bus (SWO, TPIU, funnel) reads as 0 */
	}
	uint32_t word;
	if (local_read(p, addr & ~3u, &word))
		return (word >> (8 * (addr & 3u))) & (len == 4 ? ~0u : (1u << (8 * len)) - 1u);
	CALL(p, read, addr, len, &v);
	return v;
}

static void bus_write(ft_dap_port *p, unsigned apsel, uint32_t addr, unsigned len, uint32_t v)
{
	if (apsel == 2) {
		if (addr - AP2_DBGMCU < DBGMCU_SPAN)
			CALL(p, write, addr - AP2_DBGMCU + CORE_DBGMCU, len, v);
		return;
	}
	/* the bridge's registers take word writes; narrower ones land in their lane */
	if (len == 4 && local_write(p, addr, v))
		return;
	uint32_t word;
	if (len != 4 && local_read(p, addr & ~3u, &word)) {
		unsigned shift = 8 * (addr & 3u);
		uint32_t mask = ((1u << (8 * len)) - 1u) << shift;
		local_write(p, addr & ~3u, (word & ~mask) | ((v << shift) & mask));
		return;
	}
	CALL(p, write, addr, len, v);
}

/* DRW: the access at TAR in CSW's size, data in the byte lanes of TAR (ADIv5 §7.2.3). */
static uint32_t drw_access(ft_dap_port *p, unsigned apsel, bool rnw, uint32_t data)
{
	mem_ap *ap = &p->ap[apsel];
	unsigned size = ap->csw & CSW_SIZE;
	unsigned len = size >= 2 ? 4u : 1u << size;
	uint32_t addr = ap->tar & ~(len - 1u);
	unsigned shift = 8 * (addr & 3u);
	uint32_t lane = len == 4 ? ~0u : (1u << (8 * len)) - 1u;
	uint32_t out = 0;
	if (rnw)
		out = bus_read(p, apsel, addr, len) << shift;
	else
		bus_write(p, apsel, addr, len, (data >> shift) & lane);
	if ((ap->csw & CSW_ADDRINC) == CSW_INC_SINGLE)
		ap->tar = (ap->tar & ~TAR_INC_WRAP) | ((ap->tar + len) & TAR_INC_WRAP);
	return out;
}

static uint32_t ap_access(ft_dap_port *p, uint32_t reg, bool rnw, uint32_t data)
{
	unsigned apsel = p->select >> 24;
	if (apsel != 0 && apsel != 2)
		return 0; /* no AP there: IDR reads 0 (ADIv5 §10.1) */
	mem_ap *ap = &p->ap[apsel];
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
	case AP_DRW: return drw_access(p, apsel, rnw, data);
	case AP_CFG: return 0; /* little-endian, 32-bit addresses */
	case AP_BASE: return apsel == 0 ? AP0_BASE : AP2_BASE;
	case AP_IDR: return apsel == 0 ? AP0_IDR : AP2_IDR;
	}
	if (reg >= AP_BD0 && reg < AP_BD0 + 16) {
		uint32_t addr = (ap->tar & ~0xFu) | (reg - AP_BD0);
		if (rnw)
			return bus_read(p, apsel, addr, 4);
		bus_write(p, apsel, addr, 4, data);
	}
	return 0;
}

static uint32_t dp_access(ft_dap_port *p, uint32_t a, bool rnw, uint32_t data)
{
	switch (a) {
	case DP_CTRL_STAT:
		if (!rnw) {
			p->ctrl_stat &= ~(data & CS_STICKY); /* JTAG-DP: write 1 to clear */
			p->ctrl_stat = (p->ctrl_stat & ~CS_WRITABLE) | (data & CS_WRITABLE);
		}
		/* every request acknowledged at once: ACK = REQ << 1 */
		return p->ctrl_stat |
		       ((p->ctrl_stat & (CS_CDBGRSTREQ | CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ)) << 1);
	case DP_SELECT:
		if (!rnw)
			p->select = data;
		return p->select;
	case DP_RDBUFF: return p->result;
	default: return 0;
	}
}

uint32_t ft_dap_port_dp(ft_dap_port *p, uint32_t addr, bool rnw, uint32_t data)
{
	uint32_t v = dp_access(p, addr & 0xCu, rnw, data);
	if (rnw)
		p->result = v;
	return v;
}

bool ft_dap_port_ap(ft_dap_port *p, uint32_t addr, bool rnw, uint32_t data, uint32_t *value)
{
	if (p->ctrl_stat & CS_STICKYERR)
		return false;
	*value = ap_access(p, (p->select & 0xF0u) | (addr & 0xCu), rnw, data);
	if (rnw)
		p->result = *value;
	return true;
}

bool ft_dap_port_sticky_error(const ft_dap_port *p)
{
	return (p->ctrl_stat & CS_STICKYERR) != 0;
}

void ft_dap_port_abort(ft_dap_port *p, uint32_t abort)
{
	/* ABORT: STKCMPCLR b1, STKERRCLR b2, ORUNERRCLR b4 (ADIv5 §2.3.1); DAPABORT has nothing to
	 * abort, every transaction finishing at once */
	if (abort & ABORT_STKCMPCLR)
		p->ctrl_stat &= ~CS_STICKYCMP;
	if (abort & ABORT_STKERRCLR)
		p->ctrl_stat &= ~CS_STICKYERR;
	if (abort & ABORT_ORUNERRCLR)
		p->ctrl_stat &= ~CS_STICKYORUN;
}

void ft_dap_port_reset(ft_dap_port *p)
{
	system_reset(p);
}
