#include "programmer/swd/loader_run.h"

#include "programmer/swd/advice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cortex-M system registers (ARMv7-M ARM DDI 0403E: B3.2.3 VTOR, B3.2.15 CFSR, B3.2.16 HFSR,
 * B3.2.17 MMFAR, B3.2.18 BFAR, B3.3.3 SYST_CSR, B3.4.4 NVIC_ISER; the same on ARMv8-M). */
#define SYST_CSR    0xE000E010u
#define NVIC_ISER0  0xE000E100u
#define NVIC_ISER_N 8u
#define VTOR        0xE000ED08u
#define CFSR        0xE000ED28u
#define HFSR        0xE000ED2Cu
#define MMFAR       0xE000ED34u
#define BFAR        0xE000ED38u
#define XPSR_THUMB  0x01000000u /* xPSR.T (B1.4.2) */
#define IPSR_MASK   0x1FFu
/* Two Thumb BKPT #0 halfwords (0xBE00, A7.7.17): the return address is halfword-aligned. */
#define BKPT_WORD 0xBE00BE00u
/* PC after a lockup (B1.5.15): the core stopped fetching. */
#define LOCKUP_PC 0xEFFFFFFEu
/* Halting the core after a call timed out. */
#define INTERRUPT_MS 2000u

/* The controllers whose memory-mapped mode a loader may leave on, by device ID: the register
 * holding FMODE and its position (FMODE 3 = memory-mapped on all three). */
typedef struct mapped_ctl {
	uint16_t dev_id;
	const char *name;
	uint32_t reg;  /* address of the register holding FMODE */
	uint8_t shift; /* FMODE position, 2 bits */
} mapped_ctl;

static const mapped_ctl MAPPED_CTLS[] = {
    /* H74x/H75x QUADSPI regs 0x52005000 (devices.md §1.2); FMODE in CCR (0x14) bits 27:26
     * (emulators.md QUADSPI register list) */
    {0x450, "QUADSPI", 0x52005014u, 26},
    /* H72x/H73x, H7A3/B3/B0: OCTOSPI1 0x52005000, OCTOSPI2 0x5200A000 (devices.md §1.4, §1.5);
     * FMODE in CR bits 29:28 (models/xspi.c CR_FMODE_SHIFT) [U: not in devices.md] */
    {0x483, "OCTOSPI1", 0x52005000u, 28},
    {0x483, "OCTOSPI2", 0x5200A000u, 28},
    {0x480, "OCTOSPI1", 0x52005000u, 28},
    {0x480, "OCTOSPI2", 0x5200A000u, 28},
    /* N6 XSPI1/2/3 NS 0x48025000, 0x4802A000, 0x4802D000 (devices.md §1.6); FMODE in CR bits
     * 29:28 as OCTOSPI [U] */
    {0x486, "XSPI1", 0x48025000u, 28},
    {0x486, "XSPI2", 0x4802A000u, 28},
    {0x486, "XSPI3", 0x4802D000u, 28},
};
#define MAPPED_CTL_COUNT (sizeof(MAPPED_CTLS) / sizeof(MAPPED_CTLS[0]))

/* H74x/H75x QUADSPI at 0x52005000 (devices.md §1.2), register map of emulators.md §1.4 (as the
 * pebble and Renode STM32 QUADSPI models; RM0433 QUADSPI chapter): CR 0x00 (EN b0, ABORT b1),
 * SR 0x08 (TCF b1, BUSY b5), FCR 0x0C, DLR 0x10, CCR 0x14 (INSTRUCTION 7:0, IMODE 9:8, DMODE
 * 25:24, FMODE 27:26), DR 0x20. Used to read a NOR's status register 1 (RDSR1 05h, SPI 1-0-0-1;
 * BP3..BP0 b5..b2: devices.md §7) when an erase or write fails. */
#define QSPI_DEV_ID  0x450u
#define QSPI_CR      0x52005000u
#define QSPI_SR      0x52005008u
#define QSPI_FCR     0x5200500Cu
#define QSPI_DLR     0x52005010u
#define QSPI_CCR     0x52005014u
#define QSPI_DR      0x52005020u
#define QSPI_EN      (1u << 0)
#define QSPI_ABORT   (1u << 1)
#define QSPI_TCF     (1u << 1)
#define QSPI_BUSY    (1u << 5)
#define QSPI_FCR_ALL 0x1Bu /* CTOF, CSMF, CTCF, CTEF */
#define QSPI_RDSR1   ((1u << 26) | (1u << 24) | (1u << 8) | 0x05u)
#define QSPI_POLLS   100
#define NOR_SR1_BP   0x3Cu

/* The contract checks, for warning once per (check, entry point). */
enum contract { C_SYSTICK, C_NVIC, C_VTOR, C_MAPPED, C_COUNT };

struct ft_ldrun {
	ft_swd *swd;
	ft_gdb *gdb;
	const ft_stldr *loader;
	const ft_stldr_storage *info;
	const ft_part *part;
	ft_ldrun_options opts;
	ft_ldrun_layout layout;
	bool initialised;
	bool broken;     /* a call failed to come back: the loader's RAM is suspect */
	bool breakpoint; /* Z0 accepted */
	bool reentry;    /* the loader's code was in target RAM before this Init loaded it */
	/* state before Init, for the contract */
	bool have_before;
	uint32_t systick_before, vtor_before, iser_before[NVIC_ISER_N];
	uint32_t warned[C_COUNT]; /* bit per ft_stldr_entry */
	ft_advice advice;         /* at most FT_LDRUN_MAX_ADVICE lines */
};

_Static_assert(FT_LDRUN_MAX_ADVICE <= FT_ADVICE_MAX_LINES, "advice capacity");

size_t ft_ldrun_advice_count(const ft_ldrun *r)
{
	return ft_advice_count(&r->advice);
}

const char *ft_ldrun_advice_at(const ft_ldrun *r, size_t index)
{
	return ft_advice_at(&r->advice, index);
}

const ft_ldrun_layout *ft_ldrun_get_layout(const ft_ldrun *r)
{
	return &r->layout;
}

static const char *who(const ft_ldrun *r)
{
	return ft_stldr_name(r->loader);
}

static void warn(ft_ldrun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(ft_ldrun *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ft_advice_warnv(r->opts.warning, r->opts.user, who(r), FT_OK, fmt, ap);
	va_end(ap);
}

static void report(ft_ldrun *r, ft_swd_phase phase, uint32_t addr, uint64_t done, uint64_t total)
{
	if (!r->opts.progress)
		return;
	ft_swd_progress p = {phase, addr, done, total};
	r->opts.progress(r->opts.user, &p);
}

static bool overlaps(uint32_t a, uint64_t an, uint32_t b, uint64_t bn)
{
	return an && bn && a < (uint64_t)b + bn && b < (uint64_t)a + an;
}

/* ---- layout ---- */

ft_error ft_ldrun_layout_for(const ft_stldr *loader, const ft_part *part, ft_ldrun_layout *out,
                             ft_diag *diag)
{
	memset(out, 0, sizeof(*out));
	const char *name = ft_stldr_name(loader);
	ft_stldr_footprint(loader, &out->load_start, &out->load_end);
	const ft_region *region = ft_part_region_at(part, out->load_start);
	if (!region || !ft_region_kind_is_volatile(region->kind) ||
	    (uint64_t)out->load_end > (uint64_t)region->start + region->size)
		return ft_diag_set(diag, FT_ERR_REFUSED, name,
		                   "the loader's code 0x%08x..0x%08x is not inside one RAM region "
		                   "of %s: it cannot run there (a loader is never relocated)",
		                   out->load_start, out->load_end - 1, part->name);
	out->region = region;
	uint64_t region_end = (uint64_t)region->start + region->size;
	uint64_t bp = ((uint64_t)out->load_end + 7u) & ~7ull;
	uint64_t top = bp + 8u + FT_LDRUN_STACK_SIZE;
	uint32_t page = ft_stldr_storage_info(loader)->page_size;
	uint64_t room = region_end > top ? region_end - top : 0;
	if (room > FT_LDRUN_MAX_BUFFER)
		room = FT_LDRUN_MAX_BUFFER;
	if (page && page <= FT_LDRUN_MAX_BUFFER)
		room -= room % page;
	if (room < 4u || (page && room < page))
		return ft_diag_set(
		    diag, FT_ERR_REFUSED, name,
		    "%s has 0x%llx bytes above the loader (ending 0x%08x) for the "
		    "breakpoint word, a 0x%x-byte stack and a buffer of at least one "
		    "page (0x%x from StorageInfo)",
		    region->name, (unsigned long long)(region_end > bp ? region_end - bp : 0),
		    out->load_end, FT_LDRUN_STACK_SIZE, page);
	out->breakpoint = (uint32_t)bp;
	out->stack_top = (uint32_t)top;
	out->buffer = (uint32_t)top;
	out->buffer_size = (uint32_t)room;
	out->work[0] = (ft_range){out->breakpoint, 8u + FT_LDRUN_STACK_SIZE};
	out->work[1] = (ft_range){out->buffer, out->buffer_size};
	return FT_OK;
}

void ft_ldrun_plan_external(const ft_stldr *loader, ft_plan_external *out)
{
	const ft_stldr_storage *info = ft_stldr_storage_info(loader);
	memset(out, 0, sizeof(*out));
	out->name = ft_stldr_name(loader);
	out->start = info->start;
	out->size = info->size;
	out->group_count = info->group_count;
	for (size_t g = 0; g < info->group_count && g < FT_PLAN_MAX_SECTOR_GROUPS; g++) {
		out->groups[g].count = info->groups[g].count;
		out->groups[g].size = info->groups[g].size;
	}
}

ft_error ft_ldrun_check_reserved(const ft_stldr *loader, const ft_ldrun_layout *layout,
                                 const ft_range *reserved, size_t count, ft_diag *diag)
{
	for (size_t i = 0; i < count; i++) {
		const ft_range *res = &reserved[i];
		bool code = overlaps(res->start, res->size, layout->load_start,
		                     (uint64_t)layout->load_end - layout->load_start);
		bool work =
		    overlaps(res->start, res->size, layout->work[0].start, layout->work[0].size) ||
		    overlaps(res->start, res->size, layout->work[1].start, layout->work[1].size);
		if (code || work)
			return ft_diag_set(
			    diag, FT_ERR_REFUSED, ft_stldr_name(loader),
			    "the image writes RAM at 0x%08x..0x%08x, where the loader %s "
			    "(0x%08x..0x%08x%s): running it would overwrite the image's RAM "
			    "contents; nothing was touched",
			    res->start, (uint32_t)((uint64_t)res->start + res->size - 1),
			    code ? "is linked" : "runner keeps its breakpoint, stack and buffer",
			    code ? layout->load_start : layout->breakpoint,
			    code ? layout->load_end - 1 : layout->buffer + layout->buffer_size - 1,
			    code ? ", never relocated" : "");
	}
	return FT_OK;
}

ft_error ft_ldrun_new(ft_swd *swd, const ft_stldr *loader, const ft_ldrun_options *opts,
                      ft_ldrun **out, ft_diag *diag)
{
	*out = NULL;
	const ft_swd_info *info = ft_swd_get_info(swd);
	if (!info->part)
		return ft_diag_set(diag, FT_ERR_STATE, ft_stldr_name(loader),
		                   "the debug-port session is not connected");
	ft_ldrun_layout layout;
	ft_error err = ft_ldrun_layout_for(loader, info->part, &layout, diag);
	if (err != FT_OK)
		return err;
	if (opts) {
		err = ft_ldrun_check_reserved(loader, &layout, opts->reserved, opts->reserved_count,
		                              diag);
		if (err != FT_OK)
			return err;
	}
	ft_ldrun *r = calloc(1, sizeof(*r));
	if (!r)
		return ft_diag_set(diag, FT_ERR_NO_MEM, ft_stldr_name(loader), "out of memory");
	r->swd = swd;
	r->gdb = ft_swd_gdb(swd);
	r->loader = loader;
	r->info = ft_stldr_storage_info(loader);
	r->part = info->part;
	if (opts)
		r->opts = *opts;
	r->opts.reserved = NULL; /* checked above; the caller's array need not outlive this */
	r->opts.reserved_count = 0;
	r->layout = layout;
	ft_advice_init(&r->advice, FT_LDRUN_MAX_ADVICE);
	*out = r;
	return FT_OK;
}

void ft_ldrun_free(ft_ldrun *r)
{
	if (!r)
		return;
	if (r->breakpoint)
		ft_gdb_clear_breakpoint(r->gdb, FT_GDB_BP_SOFTWARE, r->layout.breakpoint, NULL);
	free(r);
}

/* ---- budgets ---- */

static unsigned budget(const ft_ldrun *r, unsigned device_ms)
{
	if (r->opts.call_timeout_ms)
		return r->opts.call_timeout_ms;
	uint64_t ms = (uint64_t)FT_LDRUN_BASE_MS + device_ms;
	return ms > 3600000u ? 3600000u : (unsigned)ms;
}

static unsigned write_budget(const ft_ldrun *r, uint32_t len)
{
	uint32_t page = r->info->page_size ? r->info->page_size : 256u;
	return budget(r, (len / page + 1u) * FT_LDRUN_PAGE_MS);
}

/* An erase of size bytes in sectors StorageInfo sectors: each sector may take its minimum (a
 * loader that erases sector by sector), the whole the per-KiB figure. */
static unsigned sector_budget(const ft_ldrun *r, uint32_t size, uint32_t sectors)
{
	uint32_t ms = size / 1024u * FT_LDRUN_SECTOR_MS_PER_KIB;
	uint32_t least = sectors * FT_LDRUN_SECTOR_MIN_MS;
	return budget(r, ms < least ? least : ms);
}

static unsigned read_budget(const ft_ldrun *r, uint32_t len)
{
	return budget(r, (len / 1024u + 1u) * FT_LDRUN_READ_MS_PER_KIB);
}

/* ---- the fault explained ---- */

static const char *exception_name(uint32_t ipsr)
{
	switch (ipsr) {
	case 0: return "thread mode";
	case 2: return "NMI";
	case 3: return "HardFault";
	case 4: return "MemManage fault";
	case 5: return "BusFault";
	case 6: return "UsageFault";
	case 7: return "SecureFault";
	case 11: return "SVCall";
	case 12: return "DebugMonitor";
	case 14: return "PendSV";
	case 15: return "SysTick";
	default: return ipsr >= 16 ? "interrupt" : "reserved exception";
	}
}

/* CFSR bits by name (B3.2.15): MMFSR 7:0, BFSR 15:8, UFSR 31:16. */
static void describe_cfsr(uint32_t cfsr, char *buf, size_t cap)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} bits[] = {
	    {0, "IACCVIOL"},     {1, "DACCVIOL"},    {3, "MUNSTKERR"},  {4, "MSTKERR"},
	    {5, "MLSPERR"},      {7, "MMARVALID"},   {8, "IBUSERR"},    {9, "PRECISERR"},
	    {10, "IMPRECISERR"}, {11, "UNSTKERR"},   {12, "STKERR"},    {13, "LSPERR"},
	    {15, "BFARVALID"},   {16, "UNDEFINSTR"}, {17, "INVSTATE"},  {18, "INVPC"},
	    {19, "NOCP"},        {20, "STKOF"},      {24, "UNALIGNED"}, {25, "DIVBYZERO"},
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (cfsr & (1u << bits[i].bit) && used < cap)
			used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? " " : "",
			                         bits[i].name);
	if (!used)
		snprintf(buf, cap, "no fault bit");
}

/* "Write+0x1a" or "0x24000123 (outside the loader's functions)". */
static void where(const ft_ldrun *r, uint32_t addr, char *buf, size_t cap)
{
	const char *fn;
	uint32_t off;
	if (ft_stldr_function_at(r->loader, addr, &fn, &off))
		snprintf(buf, cap, "0x%08x in %s+0x%x", addr & ~1u, fn, off);
	else if (addr >= r->layout.load_start && addr < r->layout.load_end)
		snprintf(buf, cap, "0x%08x inside the loader", addr & ~1u);
	else
		snprintf(buf, cap, "0x%08x, outside the loader", addr & ~1u);
}

typedef struct call {
	ft_stldr_entry entry;
	uint32_t args[4];
	size_t argc;
	unsigned budget_ms;
	char text[96]; /* "Write(0x90000000, 0x100, 0x24001000)" */
} call;

/* Reads the core's state after a call that did not end at the BKPT word and explains it in diag
 * (the conclusion) and the advice. */
static ft_error explain_stop(ft_ldrun *r, const call *c, bool timed_out, ft_error code,
                             ft_diag *diag)
{
	uint32_t pc = 0, lr = 0, sp = 0, xpsr = 0, cfsr = 0, hfsr = 0, mmfar = 0, bfar = 0,
	         vtor = 0;
	bool regs = ft_gdb_read_reg(r->gdb, FT_GDB_PC, &pc, NULL) == FT_OK;
	ft_gdb_read_reg(r->gdb, FT_GDB_LR, &lr, NULL);
	ft_gdb_read_reg(r->gdb, FT_GDB_SP, &sp, NULL);
	ft_gdb_read_reg(r->gdb, FT_GDB_XPSR, &xpsr, NULL);
	bool scb = ft_gdb_read_u32(r->gdb, CFSR, &cfsr, NULL) == FT_OK &&
	           ft_gdb_read_u32(r->gdb, HFSR, &hfsr, NULL) == FT_OK;
	ft_gdb_read_u32(r->gdb, MMFAR, &mmfar, NULL);
	ft_gdb_read_u32(r->gdb, BFAR, &bfar, NULL);
	bool have_vtor = ft_gdb_read_u32(r->gdb, VTOR, &vtor, NULL) == FT_OK;
	uint32_t ipsr = xpsr & IPSR_MASK;
	char at[96], cause[200] = "";
	/* The stacked frame of the exception being handled: r0-r3, r12, lr, pc, xpsr (B1.5.6). */
	uint32_t frame_pc = 0, frame_lr = 0;
	bool frame = ipsr && ft_gdb_read_u32(r->gdb, sp + 24u, &frame_pc, NULL) == FT_OK &&
	             ft_gdb_read_u32(r->gdb, sp + 20u, &frame_lr, NULL) == FT_OK;
	bool lockup = pc == LOCKUP_PC || (pc | 1u) == 0xFFFFFFFFu;
	if (lockup) {
		snprintf(cause, sizeof(cause),
		         "the core locked up (a fault while taking a fault: is the vector table "
		         "at VTOR usable?)");
	} else if (ipsr) {
		where(r, frame ? frame_pc : pc, at, sizeof(at));
		snprintf(cause, sizeof(cause), "%s (exception %u) taken at %s",
		         exception_name(ipsr), ipsr, frame ? at : "an unknown address");
	} else if (regs) {
		where(r, pc, at, sizeof(at));
		snprintf(cause, sizeof(cause), "still running at %s", at);
	}
	const char *name = ft_stldr_entry_name(c->entry);
	bool reentry = timed_out && c->entry == FT_STLDR_INIT && r->reentry;
	if (timed_out)
		ft_diag_set(diag, code, who(r),
		            "loader %s: %s did not return within %u ms%s; the core was halted: %s",
		            who(r), c->text, c->budget_ms,
		            reentry ? ": Init hung on re-entry; loader not re-entrant" : "",
		            cause[0] ? cause : "state unreadable");
	else
		ft_diag_set(diag, code, who(r), "loader %s: %s stopped outside its return: %s",
		            who(r), c->text, cause[0] ? cause : "state unreadable");
	if (regs)
		ft_advice_add(&r->advice, "core: PC=0x%08x LR=0x%08x SP=0x%08x xPSR=0x%08x (%s)",
		              pc, lr, sp, xpsr, exception_name(ipsr));
	if (frame) {
		char f[96];
		where(r, frame_pc, f, sizeof(f));
		ft_advice_add(&r->advice, "stacked frame at SP: PC=%s, LR=0x%08x", f, frame_lr);
	}
	if (scb) {
		char bits[200];
		describe_cfsr(cfsr, bits, sizeof(bits));
		ft_advice_add(&r->advice, "CFSR=0x%08x (%s), HFSR=0x%08x%s%s%s", cfsr, bits, hfsr,
		              hfsr & (1u << 30) ? " (FORCED: escalated to HardFault)" : "",
		              hfsr & (1u << 1) ? " (VECTTBL: vector fetch failed)" : "",
		              hfsr & (1u << 31) ? " (DEBUGEVT)" : "");
		if (cfsr & (1u << 15))
			ft_advice_add(&r->advice, "BFAR=0x%08x: the data address of the bus fault",
			              bfar);
		if (cfsr & (1u << 7))
			ft_advice_add(&r->advice,
			              "MMFAR=0x%08x: the data address of the MemManage fault",
			              mmfar);
	}
	if (have_vtor)
		ft_advice_add(&r->advice, "VTOR=0x%08x%s", vtor,
		              vtor >= r->layout.load_start && vtor < r->layout.load_end
		                  ? " (inside the loader's image)"
		                  : "");
	if (reentry)
		ft_advice_add(
		    &r->advice,
		    "the loader's code was already in target RAM: a session since the last "
		    "power-on ran it, and its first Init left state a reload and a reset do not "
		    "undo (a clock or supply it turned off); fix: power-cycle the board, then "
		    "make Init re-entrant (CATALOGUE E12)");
	else if (timed_out && !ipsr && !lockup)
		ft_advice_add(
		    &r->advice,
		    "fix: %s must return within its budget (%u ms, from StorageInfo: page size "
		    "0x%x, sector sizes); a loop waiting for the memory's busy flag that never "
		    "clears, or a clock the loader expects but did not start, looks like this",
		    name, c->budget_ms, r->info->page_size);
	else
		ft_advice_add(
		    &r->advice,
		    "fix: debug %s at the address above (arm-none-eabi-addr2line -e %s); the "
		    "loader must not take faults or rely on interrupts",
		    name, who(r));
	r->broken = true;
	return code;
}

/* ---- the contract ---- */

static void read_state(ft_ldrun *r, uint32_t *systick, uint32_t *vtor, uint32_t iser[NVIC_ISER_N])
{
	*systick = *vtor = 0;
	memset(iser, 0, NVIC_ISER_N * sizeof(*iser));
	ft_gdb_read_u32(r->gdb, SYST_CSR, systick, NULL);
	ft_gdb_read_u32(r->gdb, VTOR, vtor, NULL);
	ft_gdb_read_mem(r->gdb, NVIC_ISER0, iser, NVIC_ISER_N * sizeof(*iser), NULL);
}

static bool first_warning(ft_ldrun *r, enum contract check, ft_stldr_entry entry)
{
	uint32_t bit = 1u << entry;
	bool first = !(r->warned[check] & bit);
	r->warned[check] |= bit;
	return first;
}

/* The memory controller of the part found in memory-mapped mode (FMODE = 3) from index *next on,
 * or NULL; *next moves past it. */
static const char *mapped_on(ft_ldrun *r, size_t *next)
{
	for (; *next < MAPPED_CTL_COUNT; (*next)++) {
		const mapped_ctl *m = &MAPPED_CTLS[*next];
		uint32_t v;
		if (m->dev_id == r->part->dev_id &&
		    ft_gdb_read_u32(r->gdb, m->reg, &v, NULL) == FT_OK &&
		    ((v >> m->shift) & 3u) == 3u)
			return MAPPED_CTLS[(*next)++].name;
	}
	return NULL;
}

static void check_contract(ft_ldrun *r, const call *c)
{
	if (!r->have_before)
		return;
	const char *name = ft_stldr_entry_name(c->entry);
	uint32_t systick, vtor, iser[NVIC_ISER_N];
	read_state(r, &systick, &vtor, iser);
	/* SYST_CSR.ENABLE b0, TICKINT b1 (B3.3.3) */
	if ((systick & 1u) && !(r->systick_before & 1u) && first_warning(r, C_SYSTICK, c->entry))
		warn(r,
		     "loader %s left SysTick running after %s (SYST_CSR=0x%08x): its interrupt "
		     "fires into whatever runs next in that RAM; fix: program internal and "
		     "external images in separate sessions, and stop the tick in the loader "
		     "(HAL_SuspendTick) before it returns (CATALOGUE E03)",
		     who(r), name, systick);
	for (unsigned i = 0; i < NVIC_ISER_N; i++) {
		uint32_t added = iser[i] & ~r->iser_before[i];
		if (!added)
			continue;
		if (first_warning(r, C_NVIC, c->entry))
			warn(
			    r,
			    "loader %s left interrupts enabled in the NVIC after %s "
			    "(ISER%u=0x%08x, "
			    "first IRQ %u): a loader must not rely on interrupts nor leave them on "
			    "(CATALOGUE E03)",
			    who(r), name, i, iser[i], i * 32u + (unsigned)__builtin_ctz(added));
		break;
	}
	if (vtor != r->vtor_before && first_warning(r, C_VTOR, c->entry))
		warn(r,
		     "loader %s moved VTOR from 0x%08x to 0x%08x in %s: exceptions after it go "
		     "to the loader's RAM image, which the next program overwrites (CATALOGUE "
		     "E03)",
		     who(r), r->vtor_before, vtor, name);
	if (c->entry != FT_STLDR_WRITE && c->entry != FT_STLDR_SECTOR_ERASE &&
	    c->entry != FT_STLDR_MASS_ERASE)
		return;
	size_t next = 0;
	for (const char *ctl; (ctl = mapped_on(r, &next)) != NULL;)
		if (first_warning(r, C_MAPPED, c->entry))
			warn(r,
			     "loader %s left %s in memory-mapped mode (FMODE=3) after %s: the next "
			     "Write or SectorErase must abort it first, or the controller stays "
			     "busy; fix: abort memory-mapped mode (HAL_XSPI_Abort) at the start of "
			     "Write and the erases (CATALOGUE E06)",
			     who(r), ctl, name);
}

/* ---- one call ---- */

static ft_error run_call(ft_ldrun *r, call *c, uint64_t *result, ft_diag *diag)
{
	ft_advice_clear(&r->advice);
	if (r->broken)
		return ft_diag_set(diag, FT_ERR_STATE, who(r),
		                   "loader %s: an earlier call did not return; reconnect (the "
		                   "target's RAM is suspect)",
		                   who(r));
	uint32_t entry;
	if (!ft_stldr_entry_address(r->loader, c->entry, &entry))
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(r), "loader %s has no %s", who(r),
		                   ft_stldr_entry_name(c->entry));
	ft_error err = FT_OK;
	for (size_t i = 0; err == FT_OK && i < c->argc; i++)
		err = ft_gdb_write_reg(r->gdb, (ft_gdb_reg)(FT_GDB_R0 + i), c->args[i], diag);
	if (err == FT_OK)
		err = ft_gdb_write_reg(r->gdb, FT_GDB_SP, r->layout.stack_top, diag);
	if (err == FT_OK)
		err = ft_gdb_write_reg(r->gdb, FT_GDB_LR, r->layout.breakpoint | 1u, diag);
	if (err == FT_OK)
		err = ft_gdb_write_reg(r->gdb, FT_GDB_PC, entry & ~1u, diag);
	if (err == FT_OK)
		err = ft_gdb_write_reg(r->gdb, FT_GDB_XPSR, XPSR_THUMB, diag);
	if (err == FT_OK)
		err = ft_gdb_resume(r->gdb, diag);
	if (err != FT_OK)
		return err;
	ft_gdb_stop stop;
	ft_diag wait;
	ft_error w = ft_gdb_wait_stop(r->gdb, c->budget_ms, &stop, &wait);
	if (w == FT_ERR_TIMEOUT) {
		w = ft_gdb_interrupt(r->gdb, INTERRUPT_MS, &stop, &wait);
		if (w != FT_OK) {
			r->broken = true;
			return ft_diag_set(diag, FT_ERR_TIMEOUT, who(r),
			                   "loader %s: %s did not return within %u ms and the core "
			                   "ignored the halt request: %s",
			                   who(r), c->text, c->budget_ms, wait.message);
		}
		return explain_stop(r, c, true, FT_ERR_TIMEOUT, diag);
	}
	if (w != FT_OK) {
		*diag = wait;
		r->broken = true;
		return w;
	}
	if (stop.kind != FT_GDB_STOP_SIGNAL) {
		r->broken = true;
		return ft_diag_set(diag, FT_ERR_DEVICE, who(r),
		                   "loader %s: the target went away during %s (%s)", who(r),
		                   c->text, stop.reply);
	}
	uint32_t pc;
	err = ft_gdb_read_reg(r->gdb, FT_GDB_PC, &pc, diag);
	if (err != FT_OK)
		return err;
	if ((pc & ~1u) != r->layout.breakpoint)
		return explain_stop(r, c, false, FT_ERR_DEVICE, diag);
	uint32_t r0, r1 = 0;
	err = ft_gdb_read_reg(r->gdb, FT_GDB_R0, &r0, diag);
	if (err == FT_OK && c->entry == FT_STLDR_VERIFY)
		err = ft_gdb_read_reg(r->gdb, FT_GDB_R1, &r1, diag);
	if (err != FT_OK)
		return err;
	*result = (uint64_t)r1 << 32 | r0;
	check_contract(r, c);
	return FT_OK;
}

static void call_text(call *c)
{
	size_t used =
	    (size_t)snprintf(c->text, sizeof(c->text), "%s(", ft_stldr_entry_name(c->entry));
	for (size_t i = 0; i < c->argc && used < sizeof(c->text); i++)
		used += (size_t)snprintf(c->text + used, sizeof(c->text) - used, "%s0x%x",
		                         i ? ", " : "", c->args[i]);
	if (used < sizeof(c->text))
		snprintf(c->text + used, sizeof(c->text) - used, ")");
}

/* Runs entry with args; a result of 0 (LOADER_FAIL) is FT_ERR_DEVICE with diag set to what. */
static ft_error run(ft_ldrun *r, ft_stldr_entry entry, const uint32_t *args, size_t argc,
                    unsigned budget_ms, uint64_t *result, ft_diag *diag)
{
	call c = {.entry = entry, .argc = argc, .budget_ms = budget_ms};
	for (size_t i = 0; i < argc; i++)
		c.args[i] = args[i];
	call_text(&c);
	uint64_t res = 0;
	ft_error err = run_call(r, &c, &res, diag);
	if (result)
		*result = res;
	if (err == FT_OK && entry != FT_STLDR_VERIFY && entry != FT_STLDR_CHECKSUM &&
	    (uint32_t)res == 0)
		return ft_diag_set(diag, FT_ERR_DEVICE, who(r),
		                   "loader %s: %s returned 0 (LOADER_FAIL)", who(r), c.text);
	return err;
}

static ft_error require_init(ft_ldrun *r, ft_diag *diag)
{
	ft_advice_clear(&r->advice);
	if (!r->initialised)
		return ft_diag_set(diag, FT_ERR_STATE, who(r), "loader %s: Init has not run",
		                   who(r));
	return FT_OK;
}

static ft_error require_inside(ft_ldrun *r, uint32_t addr, uint64_t len, const char *what,
                               ft_diag *diag)
{
	if (len && addr >= r->info->start &&
	    (uint64_t)addr + len <= (uint64_t)r->info->start + r->info->size)
		return FT_OK;
	return ft_diag_set(
	    diag, FT_ERR_REFUSED, who(r),
	    "%s 0x%08x..0x%08llx is not inside the device of loader %s "
	    "(0x%08x..0x%08llx, StorageInfo); nothing was touched",
	    what, addr, (unsigned long long)addr + (len ? len : 1) - 1, who(r), r->info->start,
	    (unsigned long long)r->info->start + (r->info->size ? r->info->size : 1) - 1);
}

/* ---- operations ---- */

/* Bytes at the start of the loader's first segment compared with target RAM before loading:
 * code, which a run does not change (its .data may). */
#define REENTRY_PROBE 256u

/* Whether target RAM already holds the start of the loader's code. */
static bool already_loaded(ft_ldrun *r)
{
	for (size_t i = 0; i < ft_stldr_segment_count(r->loader); i++) {
		const ft_stldr_segment *s = ft_stldr_segment_at(r->loader, i);
		if (s->storage_only || !s->size)
			continue;
		uint8_t now[REENTRY_PROBE];
		size_t n = s->size < sizeof(now) ? s->size : sizeof(now);
		return ft_gdb_read_mem(r->gdb, s->addr, now, n, NULL) == FT_OK &&
		       memcmp(now, s->data, n) == 0;
	}
	return false;
}

ft_error ft_ldrun_init(ft_ldrun *r, ft_diag *diag)
{
	ft_advice_clear(&r->advice);
	r->initialised = false;
	r->broken = false;
	r->reentry = already_loaded(r);
	ft_error err = FT_OK;
	for (size_t i = 0; err == FT_OK && i < ft_stldr_segment_count(r->loader); i++) {
		const ft_stldr_segment *s = ft_stldr_segment_at(r->loader, i);
		if (!s->storage_only && s->size)
			err = ft_gdb_write_mem(r->gdb, s->addr, s->data, s->size, diag);
	}
	if (err == FT_OK)
		err = ft_gdb_write_u32(r->gdb, r->layout.breakpoint, BKPT_WORD, diag);
	if (err != FT_OK)
		return err;
	if (!r->breakpoint)
		r->breakpoint = ft_gdb_set_breakpoint(r->gdb, FT_GDB_BP_SOFTWARE,
		                                      r->layout.breakpoint, NULL) == FT_OK;
	read_state(r, &r->systick_before, &r->vtor_before, r->iser_before);
	r->have_before = true;
	err = run(r, FT_STLDR_INIT, NULL, 0, budget(r, FT_LDRUN_INIT_MS), NULL, diag);
	r->initialised = err == FT_OK;
	return err;
}

/* The sector holding addr from StorageInfo's groups: start and size; false past the table. */
static bool sector_of(const ft_stldr_storage *info, uint32_t addr, uint32_t *start, uint32_t *size)
{
	uint64_t at = info->start;
	for (size_t g = 0; g < info->group_count; g++) {
		uint64_t span = (uint64_t)info->groups[g].count * info->groups[g].size;
		if (info->groups[g].size && addr >= at && addr < at + span) {
			*size = info->groups[g].size;
			*start = (uint32_t)(at + (addr - at) / *size * *size);
			return true;
		}
		at += span;
	}
	return false;
}

/* Waits for (SR & bit) == want on the QUADSPI, at most QSPI_POLLS reads. */
static bool qspi_wait(ft_ldrun *r, uint32_t bit, uint32_t want)
{
	uint32_t sr = 0;
	for (int i = 0; i < QSPI_POLLS; i++)
		if (ft_gdb_read_u32(r->gdb, QSPI_SR, &sr, NULL) != FT_OK || (sr & bit) == want)
			return (sr & bit) == want;
	return false;
}

/* The NOR's status register 1 read through the QUADSPI the loader set up (indirect read of one
 * byte after an abort); false on other parts, with the controller off, or when it does not
 * answer. Only after a failed call: it leaves the controller idle in indirect mode. */
static bool nor_status(ft_ldrun *r, uint8_t *sr)
{
	uint32_t cr = 0;
	return r->part->dev_id == QSPI_DEV_ID &&
	       ft_gdb_read_u32(r->gdb, QSPI_CR, &cr, NULL) == FT_OK && (cr & QSPI_EN) &&
	       ft_gdb_write_u32(r->gdb, QSPI_CR, cr | QSPI_ABORT, NULL) == FT_OK &&
	       qspi_wait(r, QSPI_BUSY, 0) &&
	       ft_gdb_write_u32(r->gdb, QSPI_FCR, QSPI_FCR_ALL, NULL) == FT_OK &&
	       ft_gdb_write_u32(r->gdb, QSPI_DLR, 0, NULL) == FT_OK &&
	       ft_gdb_write_u32(r->gdb, QSPI_CCR, QSPI_RDSR1, NULL) == FT_OK &&
	       qspi_wait(r, QSPI_TCF, QSPI_TCF) &&
	       ft_gdb_read_mem(r->gdb, QSPI_DR, sr, 1, NULL) == FT_OK &&
	       ft_gdb_write_u32(r->gdb, QSPI_FCR, QSPI_FCR_ALL, NULL) == FT_OK;
}

/* One SectorErase call over [start, start + size), which holds sectors StorageInfo sectors. */
static ft_error erase_one(ft_ldrun *r, uint32_t start, uint32_t size, uint32_t sectors,
                          ft_diag *diag)
{
	uint32_t args[2] = {start, start + size - 1u};
	ft_error err =
	    run(r, FT_STLDR_SECTOR_ERASE, args, 2, sector_budget(r, size, sectors), NULL, diag);
	if (err != FT_ERR_DEVICE && err != FT_ERR_TIMEOUT)
		return err;
	/* a controller still in memory-mapped mode stays busy: the erase fails or spins (E06) */
	size_t next = 0;
	const char *ctl = mapped_on(r, &next);
	if (ctl)
		ft_advice_add(
		    &r->advice,
		    "%s was in memory-mapped mode (FMODE=3) around the failed SectorErase, left on "
		    "by Init or an earlier call and not aborted by the loader first: "
		    "Init/SectorErase sequencing (CATALOGUE E06)",
		    ctl);
	else if (err == FT_ERR_DEVICE && ft_advice_count(&r->advice) == 0) {
		uint8_t sr = 0;
		if (nor_status(r, &sr) && (sr & NOR_SR1_BP))
			ft_advice_add(
			    &r->advice,
			    "external NOR block-protect bits set (SR=0x%02X: BP3..BP0=0x%x): the "
			    "flash ignores erase and program; fix: clear them (WREN, WRSR 01h) "
			    "where the design allows it: a loader does not (CATALOGUE E10)",
			    sr, (sr & NOR_SR1_BP) >> 2);
		else
			ft_advice_add(
			    &r->advice,
			    "the sectors 0x%08x..0x%08x (%u of StorageInfo) did not erase: "
			    "external NOR block-protect bits set in its status register answer "
			    "so%s (CATALOGUE E10)",
			    start, start + size - 1u, sectors,
			    r->part->flash.layout == FT_FLASH_NONE
			        ? "; on an N6, is BOOT1=1 (development boot)?"
			        : "");
	}
	return err;
}

ft_error ft_ldrun_erase(ft_ldrun *r, uint32_t addr, uint32_t len, ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err == FT_OK)
		err = require_inside(r, addr, len, "erase", diag);
	if (err != FT_OK)
		return err;
	uint64_t end = (uint64_t)addr + len, first = addr, total = 0, done = 0;
	for (uint64_t a = first; a < end;) {
		uint32_t start, size;
		if (!sector_of(r->info, (uint32_t)a, &start, &size))
			return ft_diag_set(diag, FT_ERR_FORMAT, who(r),
			                   "loader %s: StorageInfo's sectors do not cover 0x%08x",
			                   who(r), (uint32_t)a);
		total += size;
		a = (uint64_t)start + size;
	}
	for (uint64_t a = first; err == FT_OK && a < end;) {
		uint32_t start, size, next, next_size, sectors = 1;
		sector_of(r->info, (uint32_t)a, &start, &size);
		uint64_t stop = (uint64_t)start + size;
		for (; stop < end && stop % FT_LDRUN_ERASE_RUN &&
		       sector_of(r->info, (uint32_t)stop, &next, &next_size);
		     sectors++)
			stop = (uint64_t)next + next_size;
		err = erase_one(r, start, (uint32_t)(stop - start), sectors, diag);
		/* progress and the CLI's sector count go by StorageInfo sectors */
		for (a = start; err == FT_OK && a < stop; a += size) {
			sector_of(r->info, (uint32_t)a, &next, &size);
			done += size;
			report(r, FT_SWD_PHASE_ERASE, next, done, total);
		}
	}
	return err;
}

ft_error ft_ldrun_mass_erase(ft_ldrun *r, ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err != FT_OK)
		return err;
	uint32_t entry;
	if (!ft_stldr_entry_address(r->loader, FT_STLDR_MASS_ERASE, &entry)) {
		warn(r,
		     "loader %s has no MassErase: erasing the device sector by sector (CATALOGUE "
		     "E02)",
		     who(r));
		return ft_ldrun_erase(r, r->info->start, r->info->size, diag);
	}
	uint32_t arg = 0;
	uint64_t mib = ((uint64_t)r->info->size + (1u << 20) - 1) >> 20;
	err = run(r, FT_STLDR_MASS_ERASE, &arg, 1,
	          budget(r, (unsigned)(mib * FT_LDRUN_MASS_MS_PER_MIB)), NULL, diag);
	if (err == FT_OK)
		report(r, FT_SWD_PHASE_ERASE, r->info->start, r->info->size, r->info->size);
	return err;
}

/* Bytes of the chunk at addr: up to the next buffer-size boundary of the device address. */
static uint32_t chunk_at(const ft_ldrun *r, uint32_t addr, size_t left)
{
	uint32_t n = r->layout.buffer_size - (addr - r->info->start) % r->layout.buffer_size;
	return left < n ? (uint32_t)left : n;
}

static ft_error read_chunk(ft_ldrun *r, uint32_t addr, uint8_t *buf, uint32_t n, ft_diag *diag)
{
	if (!ft_stldr_entry_address(r->loader, FT_STLDR_READ, &(uint32_t){0}))
		return ft_gdb_read_mem(r->gdb, addr, buf, n, diag);
	uint32_t args[3] = {addr, n, r->layout.buffer};
	ft_error err = run(r, FT_STLDR_READ, args, 3, read_budget(r, n), NULL, diag);
	return err == FT_OK ? ft_gdb_read_mem(r->gdb, r->layout.buffer, buf, n, diag) : err;
}

/* After a failed Write: the first byte of the chunk that does not read back as written. */
static void locate_write_failure(ft_ldrun *r, uint32_t addr, const uint8_t *data, uint32_t n,
                                 ft_diag *diag)
{
	uint8_t *back = malloc(n);
	uint32_t bad = addr;
	ft_diag ignored;
	if (back && !r->broken && read_chunk(r, addr, back, n, &ignored) == FT_OK)
		for (uint32_t i = 0; i < n; i++)
			if (back[i] != data[i]) {
				bad = addr + i;
				break;
			}
	free(back);
	ft_advice_clear(&r->advice);
	ft_diag_set(diag, FT_ERR_DEVICE, who(r),
	            "loader %s: Write failed at 0x%08x (Write(0x%08x, 0x%x) returned 0; page size "
	            "0x%x from StorageInfo)",
	            who(r), bad, addr, n, r->info->page_size);
	ft_advice_add(
	    &r->advice,
	    "the bytes before 0x%08x read back as written; the page at 0x%08x is where it "
	    "stopped",
	    bad, r->info->page_size ? bad - (bad - r->info->start) % r->info->page_size : bad);
	ft_advice_add(
	    &r->advice,
	    "a loader whose Write stops at a page boundary does not split writes into pages "
	    "of PageSize (CATALOGUE E05)");
}

static ft_error write_range(ft_ldrun *r, uint32_t addr, const uint8_t *data, size_t len,
                            uint64_t *done, uint64_t total, ft_diag *diag)
{
	ft_error err = FT_OK;
	/* the phase starts before the first Write, so a failure in it is the program phase's */
	report(r, FT_SWD_PHASE_PROGRAM, addr, *done, total);
	for (size_t off = 0; err == FT_OK && off < len;) {
		uint32_t at = addr + (uint32_t)off, n = chunk_at(r, at, len - off);
		err = ft_gdb_write_mem(r->gdb, r->layout.buffer, data + off, n, diag);
		uint32_t args[3] = {at, n, r->layout.buffer};
		if (err == FT_OK)
			err = run(r, FT_STLDR_WRITE, args, 3, write_budget(r, n), NULL, diag);
		if (err == FT_ERR_DEVICE && !r->broken)
			locate_write_failure(r, at, data + off, n, diag);
		if (err != FT_OK)
			return err;
		off += n;
		*done += n;
		report(r, FT_SWD_PHASE_PROGRAM, at, *done, total);
	}
	return err;
}

ft_error ft_ldrun_write(ft_ldrun *r, uint32_t addr, const uint8_t *data, size_t len, ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err == FT_OK)
		err = require_inside(r, addr, len, "write", diag);
	uint64_t done = 0;
	return err == FT_OK ? write_range(r, addr, data, len, &done, len, diag) : err;
}

static ft_error read_range(ft_ldrun *r, ft_swd_phase phase, uint32_t addr, uint8_t *buf, size_t len,
                           uint64_t *done, uint64_t total, ft_diag *diag)
{
	ft_error err = FT_OK;
	/* the phase starts before the first Write, so a failure in it is the program phase's */
	report(r, FT_SWD_PHASE_PROGRAM, addr, *done, total);
	for (size_t off = 0; err == FT_OK && off < len;) {
		uint32_t at = addr + (uint32_t)off, n = chunk_at(r, at, len - off);
		err = read_chunk(r, at, buf + off, n, diag);
		off += n;
		*done += n;
		if (err == FT_OK)
			report(r, phase, at, *done, total);
	}
	return err;
}

ft_error ft_ldrun_read(ft_ldrun *r, uint32_t addr, void *buf, size_t len, ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err == FT_OK)
		err = require_inside(r, addr, len, "read", diag);
	uint64_t done = 0;
	return err == FT_OK ? read_range(r, FT_SWD_PHASE_READ, addr, buf, len, &done, len, diag)
	                    : err;
}

/* 16 MB: what a 24-bit (3-byte) flash address reaches (devices.md §7, W25Q256JV). */
#define ADDR3_REACH 0x1000000u

/* After a read-back mismatch in the chunk at addr (n bytes) at 16 MB or more into the device:
 * when the chunk 16 MB lower reads back as the expected bytes, the data aliased there, as a
 * loader using 3-byte addresses makes it do; advice says so. */
static void advise_3byte_alias(ft_ldrun *r, uint32_t addr, const uint8_t *expected, uint32_t n)
{
	if (addr - r->info->start < ADDR3_REACH)
		return;
	uint8_t *alias = malloc(n);
	ft_diag ignored;
	if (alias && !r->broken && read_chunk(r, addr - ADDR3_REACH, alias, n, &ignored) == FT_OK &&
	    memcmp(alias, expected, n) == 0)
		ft_advice_add(
		    &r->advice,
		    "the loader may be using 3-byte addressing: data above 16 MB aliases to "
		    "0x%08x, where 0x%08x..0x%08x reads back as the data written to 0x%08x",
		    r->info->start, addr - ADDR3_REACH, addr - ADDR3_REACH + n - 1u, addr);
	free(alias);
}

static ft_error verify_range(ft_ldrun *r, uint32_t addr, const uint8_t *expected, size_t len,
                             uint64_t *done, uint64_t total, ft_diag *diag)
{
	uint8_t *buf = malloc(r->layout.buffer_size);
	if (!buf)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(r), "out of memory");
	ft_error err = FT_OK;
	/* the phase starts before the first Write, so a failure in it is the program phase's */
	report(r, FT_SWD_PHASE_PROGRAM, addr, *done, total);
	for (size_t off = 0; err == FT_OK && off < len;) {
		uint32_t at = addr + (uint32_t)off, n = chunk_at(r, at, len - off);
		err = read_range(r, FT_SWD_PHASE_VERIFY, at, buf, n, done, total, diag);
		for (uint32_t i = 0; err == FT_OK && i < n; i++)
			if (buf[i] != expected[off + i])
				err =
				    ft_diag_set(diag, FT_ERR_VERIFY, who(r),
				                "data mismatch at 0x%08x (0x%02x, expected 0x%02x) "
				                "in the device of loader %s",
				                at + i, buf[i], expected[off + i], who(r));
		if (err == FT_ERR_VERIFY) {
			ft_advice_clear(&r->advice);
			advise_3byte_alias(r, at, expected + off, n);
		}
		off += n;
	}
	free(buf);
	return err;
}

ft_error ft_ldrun_verify(ft_ldrun *r, uint32_t addr, const uint8_t *expected, size_t len,
                         ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err == FT_OK)
		err = require_inside(r, addr, len, "verify", diag);
	uint64_t done = 0;
	return err == FT_OK ? verify_range(r, addr, expected, len, &done, len, diag) : err;
}

ft_error ft_ldrun_verify_call(ft_ldrun *r, uint32_t addr, const uint8_t *expected, size_t len,
                              ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	if (err == FT_OK)
		err = require_inside(r, addr, len, "verify", diag);
	if (err == FT_OK && !ft_stldr_entry_address(r->loader, FT_STLDR_VERIFY, &(uint32_t){0}))
		err = ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(r), "loader %s has no Verify",
		                  who(r));
	uint64_t done = 0;
	for (size_t off = 0; err == FT_OK && off < len;) {
		uint32_t at = addr + (uint32_t)off, n = chunk_at(r, at, len - off);
		err = ft_gdb_write_mem(r->gdb, r->layout.buffer, expected + off, n, diag);
		/* Size counts words; the low nibble of missalignement is what the last word lacks
		 * (devices.md §6.4) */
		uint32_t words = (n + 3u) / 4u;
		uint32_t args[4] = {at, r->layout.buffer, words, words * 4u - n};
		uint64_t res = 0;
		if (err == FT_OK)
			err = run(r, FT_STLDR_VERIFY, args, 4, read_budget(r, n), &res, diag);
		uint32_t bad = (uint32_t)res;
		if (err == FT_OK && bad)
			err = ft_diag_set(
			    diag, FT_ERR_VERIFY, who(r),
			    "loader %s: Verify reports a mismatch at 0x%08x (checksum "
			    "0x%08x of the bytes up to it; result 0x%016llx = checksum "
			    "<< 32 | first failing address)",
			    who(r), bad, (uint32_t)(res >> 32), (unsigned long long)res);
		off += n;
		done += n;
		if (err == FT_OK)
			report(r, FT_SWD_PHASE_VERIFY, at, done, len);
	}
	return err;
}

ft_error ft_ldrun_flash_plan(ft_ldrun *r, const ft_plan *plan, bool verify, ft_diag *diag)
{
	ft_error err = require_init(r, diag);
	uint64_t erase_total = 0, write_total = 0, done = 0;
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++) {
		const ft_plan_erase *e = ft_plan_erase_at(plan, i);
		if (!e->bank && err == FT_OK)
			err = require_inside(r, e->start, e->size, "erase", diag);
		erase_total += e->bank ? 0 : e->size;
	}
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (w->external && err == FT_OK)
			err = require_inside(r, w->start, w->size, "write", diag);
		write_total += w->external ? w->size : 0;
	}
	for (size_t i = 0; err == FT_OK && i < ft_plan_erase_count(plan);) {
		const ft_plan_erase *e = ft_plan_erase_at(plan, i);
		if (e->bank) {
			i++;
			continue;
		}
		/* the following external sectors that continue this one, up to a run boundary */
		size_t last = i;
		uint64_t stop = (uint64_t)e->start + e->size;
		for (const ft_plan_erase *n;
		     last + 1 < ft_plan_erase_count(plan) && stop % FT_LDRUN_ERASE_RUN &&
		     !(n = ft_plan_erase_at(plan, last + 1))->bank && n->start == stop;
		     last++)
			stop += n->size;
		err = erase_one(r, e->start, (uint32_t)(stop - e->start), (uint32_t)(last - i + 1),
		                diag);
		for (; err == FT_OK && i <= last; i++) {
			e = ft_plan_erase_at(plan, i);
			done += e->size;
			report(r, FT_SWD_PHASE_ERASE, e->start, done, erase_total);
		}
	}
	done = 0;
	for (size_t i = 0; err == FT_OK && i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (w->external)
			err = write_range(r, w->start, w->data, w->size, &done, write_total, diag);
	}
	done = 0;
	for (size_t i = 0; verify && err == FT_OK && i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (w->external)
			err = verify_range(r, w->start, w->data, w->size, &done, write_total, diag);
	}
	return err;
}
