#include "programmer/swd/swd.h"

#include "programmer/swd/advice.h"
#include "programmer/swd/h7_flash.h"
#include "programmer/swd/h7_options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DHCSR fields (ARMv7-M ARM C1.6.2). */
#define DHCSR_C_DEBUGEN  (1u << 0)
#define DHCSR_S_HALT     (1u << 17)
#define DHCSR_S_SLEEP    (1u << 18)
#define DHCSR_S_LOCKUP   (1u << 19)
#define DHCSR_S_RESET_ST (1u << 25)
/* AIRCR: VECTKEY 0x05FA in 31:16, SYSRESETREQ b2 (ARMv7-M ARM B3.2.6). */
#define AIRCR_RESET 0x05FA0004u
/* DBGMCU_CR follows DBGMCU_IDCODE; H7: DBGSLEEP_D1 b0, DBGSTOP_D1 b1, DBGSTBY_D1 b2 (RM0433
 * DBGMCU_CR [U: not in devices.md]). */
#define DBGMCU_CR_OFFSET 4u
#define READ_CHUNK       0x4000u

struct ft_swd {
	ft_gdb *gdb;
	ft_swd_options opts;
	ft_swd_info info;
	bool connected;
	bool crc_untrusted; /* the CRC unit disagreed once with a good read-back */
	ft_h7_flash *flash;
	ft_advice advice; /* at most FT_SWD_MAX_ADVICE lines */
};

const char *ft_swd_phase_name(ft_swd_phase phase)
{
	switch (phase) {
	case FT_SWD_PHASE_ERASE: return "erase";
	case FT_SWD_PHASE_PROGRAM: return "program";
	case FT_SWD_PHASE_VERIFY: return "verify";
	case FT_SWD_PHASE_READ: return "read";
	}
	return "?";
}

_Static_assert(FT_SWD_MAX_ADVICE <= FT_ADVICE_MAX_LINES, "advice capacity");

size_t ft_swd_advice_count(const ft_swd *swd)
{
	return ft_advice_count(&swd->advice);
}

const char *ft_swd_advice_at(const ft_swd *swd, size_t index)
{
	return ft_advice_at(&swd->advice, index);
}

static const char *who(const ft_swd *s)
{
	return s->info.connection;
}

static void warn(ft_swd *s, ft_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(ft_swd *s, ft_error code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ft_advice_warnv(s->opts.warning, s->opts.user, who(s), code, fmt, ap);
	va_end(ap);
}

static void report(ft_swd *s, ft_swd_phase phase, uint32_t addr, uint64_t done, uint64_t total)
{
	if (!s->opts.progress)
		return;
	ft_swd_progress p = {phase, addr, done, total};
	s->opts.progress(s->opts.user, &p);
}

/* ---- the memory port of the flash engine ---- */

static ft_error port_read(void *ctx, uint32_t addr, void *buf, size_t len, ft_diag *diag)
{
	return ft_gdb_read_mem(((ft_swd *)ctx)->gdb, addr, buf, len, diag);
}

static ft_error port_write(void *ctx, uint32_t addr, const void *data, size_t len, ft_diag *diag)
{
	return ft_gdb_write_mem(((ft_swd *)ctx)->gdb, addr, data, len, diag);
}

static void port_sleep(void *ctx, uint32_t ms)
{
	ft_swd *s = ctx;
	s->opts.sleep_ms(s->opts.user, ms);
}

/* ---- open, close ---- */

ft_error ft_swd_attach(ft_gdb *gdb, const ft_swd_options *opts, ft_swd **out, ft_diag *diag)
{
	if (!gdb || !out) {
		ft_gdb_close(gdb);
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL client or out");
	}
	*out = NULL;
	ft_swd *s = calloc(1, sizeof(*s));
	if (!s) {
		ft_gdb_close(gdb);
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	}
	s->gdb = gdb;
	if (opts)
		s->opts = *opts;
	if (!s->opts.halt_timeout_ms)
		s->opts.halt_timeout_ms = FT_SWD_DEFAULT_HALT_MS;
	snprintf(s->info.connection, sizeof(s->info.connection), "%s",
	         ft_gdb_get_info(gdb)->connection);
	ft_advice_init(&s->advice, FT_SWD_MAX_ADVICE);
	*out = s;
	return FT_OK;
}

ft_error ft_swd_open(const char *conn, const ft_swd_options *opts, ft_swd **out, ft_diag *diag)
{
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, conn, "NULL out");
	*out = NULL;
	ft_gdb *gdb;
	ft_error err = ft_gdb_open(conn, opts ? &opts->gdb : NULL, &gdb, diag);
	if (err != FT_OK)
		return err;
	return ft_swd_attach(gdb, opts, out, diag);
}

void ft_swd_close(ft_swd *swd)
{
	if (!swd)
		return;
	ft_h7flash_free(swd->flash);
	ft_gdb_close(swd->gdb);
	free(swd);
}

const ft_swd_info *ft_swd_get_info(const ft_swd *swd)
{
	return &swd->info;
}

const ft_gdb_info *ft_swd_gdb_info(const ft_swd *swd)
{
	return ft_gdb_get_info(swd->gdb);
}

ft_gdb *ft_swd_gdb(ft_swd *swd)
{
	return swd->gdb;
}

/* ---- connect ---- */

/* A read the target refused (an "Enn" answer) is not a transport failure. */
static bool refused(ft_error err)
{
	return err == FT_ERR_DEVICE;
}

static ft_error read_u16(ft_swd *s, uint32_t addr, uint32_t *value, ft_diag *diag)
{
	uint8_t b[2];
	ft_error err = ft_gdb_read_mem(s->gdb, addr, b, 2, diag);
	if (err == FT_OK)
		*value = (uint32_t)b[0] | (uint32_t)b[1] << 8;
	return err;
}

static void advise_not_halting(ft_swd *s, bool have_dhcsr, uint32_t dhcsr, bool have_cr,
                               uint32_t dbgmcu_cr)
{
	if (have_dhcsr)
		ft_advice_add(
		    &s->advice,
		    "DHCSR=0x%08x: C_DEBUGEN=%u S_HALT=%u S_SLEEP=%u S_LOCKUP=%u S_RESET_ST=%u%s",
		    dhcsr, dhcsr & DHCSR_C_DEBUGEN ? 1 : 0, dhcsr & DHCSR_S_HALT ? 1 : 0,
		    dhcsr & DHCSR_S_SLEEP ? 1 : 0, dhcsr & DHCSR_S_LOCKUP ? 1 : 0,
		    dhcsr & DHCSR_S_RESET_ST ? 1 : 0,
		    dhcsr & DHCSR_S_SLEEP ? " (the core sleeps: WFI/WFE)" : "");
	if (have_cr)
		ft_advice_add(
		    &s->advice, "DBGMCU_CR=0x%08x: DBGSLEEP_D1=%u DBGSTOP_D1=%u DBGSTBY_D1=%u%s",
		    dbgmcu_cr, dbgmcu_cr & 1u, dbgmcu_cr >> 1 & 1u, dbgmcu_cr >> 2 & 1u,
		    (dbgmcu_cr & 7u) != 7u ? " (debug is cut in the low-power modes left at 0)"
		                           : "");
	ft_advice_add(
	    &s->advice,
	    "likely: the firmware sleeps or stops with the DBGMCU low-power debug bits clear, "
	    "has taken PA13/PA14 (SWDIO/SWCLK) for other uses, or an SMPS part (H725/H735) "
	    "locked up after a supply configuration that does not match the board");
	ft_advice_add(
	    &s->advice,
	    "fix: connect under reset (NRST held while the probe attaches: OpenOCD "
	    "`reset_config srst_only connect_assert_srst`, pyOCD `-O connect_mode=under-reset`), "
	    "or set BOOT0=1 and power-cycle so the system bootloader runs, then retry");
	ft_advice_add(&s->advice, "nothing was erased or written");
}

/* Finds the part from DBGMCU_IDCODE, trying each address the part table knows. */
static ft_error identify_device(ft_swd *s, ft_diag *diag)
{
	char notes[200] = "";
	size_t used = 0;
	uint32_t tried[8];
	size_t ntried = 0;
	for (size_t i = 0; i < ft_part_count(); i++) {
		const ft_part *p = ft_part_at(i);
		bool seen = false;
		for (size_t t = 0; t < ntried; t++)
			seen = seen || tried[t] == p->idcode_addr;
		if (seen || ntried == sizeof(tried) / sizeof(tried[0]))
			continue;
		tried[ntried++] = p->idcode_addr;
		uint32_t v;
		ft_error err = ft_gdb_read_u32(s->gdb, p->idcode_addr, &v, diag);
		if (err != FT_OK && !refused(err))
			return err;
		if (err == FT_OK) {
			for (size_t j = 0; j < ft_part_count(); j++) {
				const ft_part *q = ft_part_at(j);
				if (q->dev_id == (v & 0xFFFu) && q->idcode_addr == p->idcode_addr) {
					s->info.idcode = v;
					s->info.dev_id = (uint16_t)(v & 0xFFFu);
					s->info.rev_id = (uint16_t)(v >> 16);
					return FT_OK;
				}
			}
		}
		if (used < sizeof(notes))
			used += err == FT_OK ? (size_t)snprintf(notes + used, sizeof(notes) - used,
			                                        "%s0x%08x reads 0x%08x",
			                                        used ? ", " : "", p->idcode_addr, v)
			                     : (size_t)snprintf(notes + used, sizeof(notes) - used,
			                                        "%s0x%08x unreadable",
			                                        used ? ", " : "", p->idcode_addr);
	}
	if (s->opts.expect) {
		warn(s, FT_ERR_NOT_FOUND,
		     "no DBGMCU_IDCODE identifies the target (%s); going on as %s", notes,
		     s->opts.expect->name);
		s->info.dev_id = s->opts.expect->dev_id;
		return FT_OK;
	}
	return ft_diag_set(diag, FT_ERR_NOT_FOUND, who(s),
	                   "not an STM32H7 or STM32N6: DBGMCU_IDCODE %s", notes);
}

static ft_error identify(ft_swd *s, ft_diag *diag)
{
	ft_error err = identify_device(s, diag);
	if (err != FT_OK)
		return err;
	const ft_part *line = NULL;
	uint32_t largest = 0;
	for (size_t i = 0; i < ft_part_count(); i++) {
		const ft_part *p = ft_part_at(i);
		if (p->dev_id != s->info.dev_id)
			continue;
		line = line ? line : p;
		largest = p->flash_size_kb > largest ? p->flash_size_kb : largest;
	}
	uint32_t kb = 0;
	if (line && line->flash_size_reg) {
		err = read_u16(s, line->flash_size_reg, &kb, diag);
		if (err != FT_OK && !refused(err))
			return err;
		if (err != FT_OK || kb == 0xFFFF || kb == 0) {
			/* HAL takes an erased register for the largest size (devices.md §1.2). */
			warn(s, FT_ERR_FORMAT,
			     "flash-size register 0x%08x %s; assuming %u KB, the largest of DEV_ID "
			     "0x%03x",
			     line->flash_size_reg, err == FT_OK ? "reads erased" : "is unreadable",
			     largest, s->info.dev_id);
			s->info.flash_size_assumed = true;
			kb = largest;
		}
	}
	s->info.flash_size_kb = kb;
	const ft_part *part = ft_part_by_id(s->info.dev_id, kb);
	const ft_part *expect = s->opts.expect;
	if (expect && (expect->dev_id != s->info.dev_id ||
	               (!s->info.flash_size_assumed && expect->flash_size_kb != kb)))
		return ft_diag_set(diag, FT_ERR_STATE, who(s),
		                   "the board says %s (DEV_ID 0x%03x, %u KB) but the target is %s "
		                   "(DEV_ID 0x%03x, %u KB flash); nothing was touched",
		                   expect->name, expect->dev_id, expect->flash_size_kb,
		                   part ? part->name : "unknown", s->info.dev_id, kb);
	if (expect)
		part = expect;
	if (!part)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, who(s),
		                   "DEV_ID 0x%03x with %u KB flash is not in the part table",
		                   s->info.dev_id, kb);
	s->info.part = part;
	s->info.revision = ft_part_revision_name(part, s->info.rev_id);
	return FT_OK;
}

static ft_error read_rdp(ft_swd *s, ft_diag *diag)
{
	const ft_part *part = s->info.part;
	s->info.has_flash = part->flash.layout != FT_FLASH_NONE && part->flash_regs;
	if (!s->info.has_flash)
		return FT_OK;
	ft_error err =
	    ft_gdb_read_u32(s->gdb, part->flash_regs + FT_H7_OPTSR_CUR, &s->info.optsr, diag);
	if (err != FT_OK) {
		ft_advice_add(
		    &s->advice,
		    "could not read FLASH_OPTSR_CUR at 0x%08x: the option bytes (RDP) are "
		    "unknown, so nothing will be written",
		    part->flash_regs + FT_H7_OPTSR_CUR);
		return err;
	}
	s->info.rdp = (uint8_t)(s->info.optsr >> 8);
	s->info.rdp_level = ft_h7_rdp_level(s->info.rdp);
	return FT_OK;
}

/* DHCSR says the core runs: halt it (CATALOGUE §2 E, S01, S04). */
static ft_error halt_core(ft_swd *s, uint32_t dhcsr, ft_diag *diag)
{
	uint32_t cr = 0;
	bool have_cr =
	    s->info.part && ft_gdb_read_u32(s->gdb, s->info.part->idcode_addr + DBGMCU_CR_OFFSET,
	                                    &cr, NULL) == FT_OK;
	ft_gdb_stop stop;
	ft_error err = ft_gdb_interrupt(s->gdb, s->opts.halt_timeout_ms, &stop, diag);
	if (err == FT_OK) {
		err = ft_gdb_read_u32(s->gdb, FT_SWD_DHCSR, &dhcsr, diag);
		if (err == FT_OK && (dhcsr & DHCSR_S_HALT))
			return FT_OK;
		if (err != FT_OK && !refused(err))
			return err;
	} else if (err != FT_ERR_TIMEOUT) {
		return err;
	}
	advise_not_halting(s, true, dhcsr, have_cr, cr);
	return ft_diag_set(diag, FT_ERR_STATE, who(s),
	                   "the core did not halt within %u ms of an interrupt request; nothing "
	                   "was erased or written",
	                   s->opts.halt_timeout_ms);
}

/* Black Magic Probe (blackmagic-debug src/gdb_main.c, command.c): until a target is attached it
 * answers '?' with "W00", refuses target access with "EFF" and the target description with
 * "E01"; `monitor swdp_scan` (older firmware knows only this name, newer keeps it as an alias of
 * swd_scan) prints "Target voltage: ..." and the target table or "SWD scan failed!" / "No usable
 * targets found.", and `vAttach;1` attaches the first target of the table, answering T05. */
#define BMP_SCAN      "swdp_scan"
#define BMP_TARGET    1u
#define BMP_SCAN_TEXT 1024u

/* Adds each line of text as advice, prefixed. */
static void advise_lines(ft_swd *s, const char *prefix, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		if (n > 0)
			ft_advice_add(&s->advice, "%s%.*s", prefix, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void advise_bmp_scan(ft_swd *s)
{
	ft_advice_add(
	    &s->advice,
	    "check: the target is powered (the probe powers it only after `monitor tpwr enable`), "
	    "SWDIO, SWCLK, GND and VTref are wired, and the core is not held in reset or asleep "
	    "without debug (then `monitor connect_rst enable` scans under reset)");
	ft_advice_add(&s->advice, "nothing was erased or written");
}

/* The server reported no target ('?' answered W): scan and attach as a Black Magic Probe needs. */
static ft_error attach_scanned(ft_swd *s, ft_gdb_stop *stop, ft_diag *diag)
{
	char text[BMP_SCAN_TEXT];
	size_t len = 0;
	ft_error err = ft_gdb_monitor(s->gdb, BMP_SCAN, text, sizeof(text), &len, diag);
	if (err == FT_ERR_UNSUPPORTED)
		return ft_diag_set(diag, FT_ERR_STATE, who(s),
		                   "the GDB server reports the target gone (%s) and has no monitor "
		                   "command to find it again",
		                   stop->reply);
	if (err != FT_OK && err != FT_ERR_DEVICE)
		return err;
	if (err == FT_ERR_DEVICE || strstr(text, "failed") || strstr(text, "No usable targets")) {
		advise_lines(s, "monitor " BMP_SCAN ": ", text);
		advise_bmp_scan(s);
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, who(s),
		                   "the probe found no target on SWD (monitor " BMP_SCAN ")");
	}
	err = ft_gdb_vattach(s->gdb, BMP_TARGET, stop, diag);
	if (err == FT_ERR_DEVICE || err == FT_ERR_UNSUPPORTED) {
		advise_lines(s, "monitor " BMP_SCAN ": ", text);
		advise_bmp_scan(s);
		return ft_diag_set(
		    diag, FT_ERR_NOT_FOUND, who(s),
		    "the probe scanned SWD but could not attach target %u (vAttach;%u)", BMP_TARGET,
		    BMP_TARGET);
	}
	if (err != FT_OK)
		return err;
	s->info.scanned = true;
	return FT_OK;
}

ft_error ft_swd_connect(ft_swd *s, ft_diag *diag)
{
	ft_advice_clear(&s->advice);
	s->connected = false;
	ft_h7flash_free(s->flash);
	s->flash = NULL;
	char connection[sizeof(s->info.connection)];
	memcpy(connection, s->info.connection, sizeof(connection));
	memset(&s->info, 0, sizeof(s->info));
	memcpy(s->info.connection, connection, sizeof(connection));
	ft_gdb_stop stop;
	ft_error err = ft_gdb_query_stop(s->gdb, &stop, diag);
	if (err == FT_ERR_TIMEOUT) {
		advise_not_halting(s, false, 0, false, 0);
		return ft_diag_set(
		    diag, err, who(s),
		    "the GDB server did not report the core's state (no answer to '?'): "
		    "it may be failing to halt the core; nothing was erased or written");
	}
	if (err == FT_OK && stop.kind == FT_GDB_STOP_EXITED)
		err = attach_scanned(s, &stop, diag);
	if (err != FT_OK)
		return err;
	if (stop.kind != FT_GDB_STOP_SIGNAL)
		return ft_diag_set(diag, FT_ERR_STATE, who(s),
		                   "the GDB server reports the target gone (%s)", stop.reply);
	err = identify(s, diag);
	if (err != FT_OK)
		return err;
	uint32_t dhcsr;
	err = ft_gdb_read_u32(s->gdb, FT_SWD_DHCSR, &dhcsr, diag);
	if (err != FT_OK && !refused(err))
		return err;
	if (err == FT_OK) {
		s->info.dhcsr_valid = true;
		/* C_DEBUGEN clear: the server does not model DHCSR (QEMU reads 0); trust RSP. */
		if ((dhcsr & DHCSR_C_DEBUGEN) && !(dhcsr & DHCSR_S_HALT)) {
			err = halt_core(s, dhcsr, diag);
			if (err != FT_OK)
				return err;
			ft_gdb_read_u32(s->gdb, FT_SWD_DHCSR, &dhcsr, NULL);
		}
		s->info.dhcsr = dhcsr;
	}
	err = ft_gdb_read_reg(s->gdb, FT_GDB_PC, &s->info.pc, diag);
	if (err != FT_OK && err != FT_ERR_UNSUPPORTED && !refused(err))
		return err;
	err = read_rdp(s, diag);
	if (err != FT_OK)
		return err;
	if (s->info.has_flash) {
		ft_h7_port port = {s, port_read, port_write, s->opts.sleep_ms ? port_sleep : NULL};
		err = ft_h7flash_new(s->info.part, &port, &s->flash, diag);
		if (err != FT_OK)
			return err;
	}
	ft_diag_clear(diag);
	s->connected = true;
	return FT_OK;
}

/* ---- checks before anything is touched ---- */

static ft_error require_connected(ft_swd *s, ft_diag *diag)
{
	ft_advice_clear(&s->advice);
	if (!s->connected)
		return ft_diag_set(diag, FT_ERR_STATE, who(s),
		                   "not connected to a halted core (ft_swd_connect first)");
	return FT_OK;
}

static bool in_flash(const ft_swd *s, uint32_t addr, uint64_t len)
{
	const ft_flash_geometry *g = &s->info.part->flash;
	for (unsigned b = 0; b < g->banks; b++) {
		uint64_t lo = g->bank_base[b], hi = lo + g->bank_size;
		if (addr < hi && addr + len > lo)
			return true;
	}
	return false;
}

/* RDP forbids every debugger access to user flash from level 1 on (devices.md §4). */
static ft_error require_flash_access(ft_swd *s, const char *what, ft_diag *diag)
{
	if (!s->info.has_flash)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(s),
		                   "%s has no internal flash (%s needs an external loader)",
		                   s->info.part->name, what);
	if (s->info.rdp_level == 0)
		return FT_OK;
	if (s->info.rdp_level == 2) {
		ft_advice_add(
		    &s->advice,
		    "RDP level 2 is permanent: the debug port cannot reach the flash and no "
		    "option change can undo it");
		return ft_diag_set(diag, FT_ERR_PROTECTED, who(s),
		                   "%s refused: read protection level 2 (RDP=0x%02x); nothing was "
		                   "erased or written",
		                   what, s->info.rdp);
	}
	ft_advice_add(
	    &s->advice,
	    "FLASH_OPTSR_CUR=0x%08x: RDP=0x%02x is level 1: with a debugger connected the "
	    "user flash can be neither read nor written",
	    s->info.optsr, s->info.rdp);
	ft_advice_add(
	    &s->advice,
	    "fix: `flashtwin ob -c %s RDP=0xAA --allow-regression` regresses to level 0; the "
	    "flash controller first mass-erases the user flash (and PCROP/secure areas whose "
	    "DMEP/DMES bit is set); power-cycle afterwards",
	    who(s));
	ft_advice_add(&s->advice, "nothing was erased or written");
	return ft_diag_set(diag, FT_ERR_PROTECTED, who(s),
	                   "%s refused: read protection level 1 (RDP=0x%02x); nothing was erased "
	                   "or written",
	                   what, s->info.rdp);
}

static uint32_t sector_start(const ft_swd *s, unsigned bank, unsigned sector)
{
	const ft_flash_geometry *g = &s->info.part->flash;
	return g->bank_base[bank - 1] + sector * g->sector_size;
}

/* ---- naming segments ---- */

static const ft_plan_segment *segment_at(const ft_plan *plan, uint32_t start, uint32_t end)
{
	for (size_t i = 0; plan && i < ft_plan_segment_count(plan); i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		for (size_t j = 0; j < ps->piece_count; j++) {
			const ft_plan_piece *pc = &ps->pieces[j];
			if ((uint64_t)pc->start + pc->size > start && pc->start <= end)
				return ps;
		}
	}
	return NULL;
}

static const char *section_at(const ft_segment *seg, uint32_t addr)
{
	for (size_t i = 0; i < seg->section_count; i++) {
		const ft_section *sc = &seg->sections[i];
		if (!sc->nobits && addr >= sc->addr && addr - sc->addr < sc->size)
			return sc->name;
	}
	return NULL;
}

/* "segment 0 (app.elf PT_LOAD[0] 0x08000000..0x080003ff: .isr_vector .text)" */
static void describe_segment(const ft_plan_segment *ps, char *out, size_t cap)
{
	const ft_segment *seg = ps->segment;
	char origin[160];
	ft_segment_origin(seg, origin, sizeof(origin));
	int n = snprintf(out, cap, "segment %zu (%s", ps->index, origin);
	size_t used = n < 0 ? cap : (size_t)n;
	if (used < cap && seg->size)
		used += (size_t)snprintf(out + used, cap - used, " 0x%08x..0x%08x", seg->addr,
		                         seg->addr + seg->size - 1);
	for (size_t i = 0; i < seg->section_count && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? " " : ": ",
		                         seg->sections[i].name);
	if (used < cap)
		snprintf(out + used, cap - used, ")");
}

/* ---- write protection ---- */

/* Whether sector of bank is write-protected by WPSN_CUR (0 bit = protected; H7Ax one bit per
 * group of 4 sectors; devices.md §2.3). */
static bool wrp_protected(const ft_swd *s, uint32_t wpsn, unsigned sector)
{
	unsigned bit = s->info.part->flash.layout == FT_FLASH_H7AX ? sector / 4 : sector;
	return bit < 32 && !(wpsn >> bit & 1u);
}

/* The CUR value of option register name ("WPSN1", "PRAR2"). */
static ft_error read_option(ft_swd *s, const char *name, uint32_t *value, ft_diag *diag)
{
	const ft_h7_option_reg *reg = ft_h7_option_reg_find(name);
	return ft_gdb_read_u32(s->gdb, s->info.part->flash_regs + reg->cur, value, diag);
}

static ft_error read_wpsn(ft_swd *s, unsigned bank, uint32_t *wpsn, ft_diag *diag)
{
	return read_option(s, bank == 1 ? "WPSN1" : "WPSN2", wpsn, diag);
}

/* Refuses when sector of bank is write-protected, naming what needed it. */
static ft_error check_sector_wrp(ft_swd *s, unsigned bank, unsigned sector, uint32_t wpsn,
                                 const ft_plan *plan, ft_diag *diag)
{
	if (!wrp_protected(s, wpsn, sector))
		return FT_OK;
	const ft_flash_geometry *g = &s->info.part->flash;
	uint32_t start = sector_start(s, bank, sector);
	bool groups = g->layout == FT_FLASH_H7AX;
	unsigned bit = groups ? sector / 4 : sector;
	const ft_plan_segment *ps = segment_at(plan, start, start + g->sector_size - 1);
	if (ps) {
		char seg[240];
		describe_segment(ps, seg, sizeof(seg));
		ft_advice_add(&s->advice, "needed by %s", seg);
	}
	ft_advice_add(&s->advice,
	              "WPSN_CUR%u=0x%08x: bit %u is 0, so %s %u%s of bank %u %s write-protected",
	              bank, wpsn, bit, groups ? "sectors" : "sector", groups ? bit * 4 : sector,
	              groups ? "..+3" : "", bank, groups ? "are" : "is");
	ft_advice_add(&s->advice,
	              "fix: `flashtwin ob -c %s WRPSN%u=0x%x` clears the protection (a 1 bit "
	              "unprotects)",
	              who(s), bank, groups ? 0xFFFFFFFFu : (1u << g->sectors_per_bank) - 1u);
	ft_advice_add(&s->advice, "nothing was erased or written");
	return ft_diag_set(diag, FT_ERR_PROTECTED, who(s),
	                   "bank %u sector %u (0x%08x..0x%08x) is write-protected (WPSN_CUR%u bit "
	                   "%u); nothing was erased or written",
	                   bank, sector, start, start + g->sector_size - 1, bank, bit);
}

/* ---- failures during an operation ---- */

/* What erases finished before a failure: the user must know their contents are gone. */
static void advise_erased(ft_swd *s, const ft_plan_erase *done, size_t count)
{
	if (count == 0) {
		ft_advice_add(&s->advice, "nothing was erased before the failure");
		return;
	}
	ft_advice_add(
	    &s->advice,
	    "already erased (old contents gone): bank %u sector %u .. bank %u sector %u (%zu "
	    "sector%s)",
	    done[0].bank, done[0].sector, done[count - 1].bank, done[count - 1].sector, count,
	    count == 1 ? "" : "s");
}

/* After a failed erase or program: the flags in full, and what WRPERR may come from. */
static void explain_failure(ft_swd *s, const ft_plan *plan)
{
	const ft_h7flash_failure *f = ft_h7flash_last_failure(s->flash);
	if (f->sr) {
		char flags[300];
		if (ft_h7flash_describe_sr(s->info.part->flash.layout, f->sr, flags, sizeof(flags)))
			ft_advice_add(&s->advice, "FLASH_SR%u=0x%08x: %s", f->bank, f->sr, flags);
	}
	const ft_plan_segment *ps =
	    f->size ? segment_at(plan, f->start, f->start + f->size - 1) : NULL;
	if (ps) {
		char seg[240];
		describe_segment(ps, seg, sizeof(seg));
		const char *section = section_at(ps->segment, f->start);
		ft_advice_add(&s->advice, "%s 0x%08x..0x%08x belongs to %s%s%s", f->op, f->start,
		              f->start + f->size - 1, seg, section ? ", section " : "",
		              section ? section : "");
	}
	if ((f->sr & (1u << 17)) && f->bank) {
		/* WPSN was checked before: PCROP or secure-only areas remain (devices.md §2.4). */
		uint32_t prar = 0, scar = 0;
		if (read_option(s, f->bank == 2 ? "PRAR2" : "PRAR1", &prar, NULL) == FT_OK &&
		    read_option(s, f->bank == 2 ? "SCAR2" : "SCAR1", &scar, NULL) == FT_OK)
			ft_advice_add(
			    &s->advice,
			    "PRAR_CUR%u=0x%08x (PCROP: PROT_AREA_START%u=0x%03x, "
			    "PROT_AREA_END%u=0x%03x in 256-byte blocks, DMEP%u=%u), "
			    "SCAR_CUR%u=0x%08x "
			    "(secure blocks %u..%u): a sector holding such an area cannot be "
			    "erased [U]; only an RDP level 1 -> 0 regression with DMEP%u=1 "
			    "(DMES for the secure area) removes it",
			    f->bank, prar, f->bank, prar & 0xFFFu, f->bank, prar >> 16 & 0xFFFu,
			    f->bank, prar >> 31, f->bank, scar, scar & 0xFFFu, scar >> 16 & 0xFFFu,
			    f->bank);
	}
}

/* ---- erase and program ---- */

static ft_error unlock_bank(ft_swd *s, unsigned bank, ft_diag *diag)
{
	ft_error err = ft_h7flash_unlock(s->flash, bank, diag);
	if (err == FT_ERR_LOCKED)
		ft_advice_add(
		    &s->advice,
		    "a GDB server that drops debugger writes to device registers looks the same: "
		    "QEMU 7.2's gdbstub writes memory with address_space_write_rom, which skips "
		    "I/O regions");
	return err;
}

typedef struct job {
	ft_swd *s;
	uint32_t base;
	uint64_t before, total;
} job;

static void program_progress(void *user, size_t done)
{
	job *j = user;
	report(j->s, FT_SWD_PHASE_PROGRAM, j->base, j->before + done, j->total);
}

/* Checks WRP and erases the listed sectors, banks unlocked here. */
static ft_error erase_sectors(ft_swd *s, const ft_plan_erase *erases, size_t count,
                              const ft_plan *plan, ft_diag *diag)
{
	uint32_t wpsn[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
	bool read[2] = {false, false};
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++) {
		unsigned b = erases[i].bank;
		if (!read[b - 1]) {
			ft_error err = read_wpsn(s, b, &wpsn[b - 1], diag);
			if (err != FT_OK)
				return err;
			read[b - 1] = true;
		}
		ft_error err = check_sector_wrp(s, b, erases[i].sector, wpsn[b - 1], plan, diag);
		if (err != FT_OK)
			return err;
		total += erases[i].size;
	}
	for (unsigned b = 1; b <= 2; b++) {
		if (read[b - 1]) {
			ft_error err = unlock_bank(s, b, diag);
			if (err != FT_OK)
				return err;
		}
	}
	uint64_t done = 0;
	for (size_t i = 0; i < count; i++) {
		ft_error err =
		    ft_h7flash_erase_sector(s->flash, erases[i].bank, erases[i].sector, diag);
		if (err != FT_OK) {
			explain_failure(s, plan);
			advise_erased(s, erases, i);
			return err;
		}
		done += erases[i].size;
		report(s, FT_SWD_PHASE_ERASE, erases[i].start, done, total);
	}
	return FT_OK;
}

static bool plan_touches_flash(const ft_swd *s, const ft_plan *plan)
{
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++)
		if (ft_plan_erase_at(plan, i)->bank)
			return true;
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (!w->external && in_flash(s, w->start, w->size))
			return true;
	}
	return false;
}

static ft_error check_plan(ft_swd *s, const ft_plan *plan, ft_diag *diag)
{
	if (!plan || ft_plan_transport(plan) != FT_ROUTE_SWD)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, who(s),
		                   "the plan was not made for the swd route");
	if (ft_plan_get_status(plan) != FT_PLAN_OK)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, who(s),
		                   "the plan is not programmable: %s", ft_plan_conclusion(plan));
	const ft_part *pp = ft_plan_part(plan), *tp = s->info.part;
	if (pp != tp &&
	    (pp->dev_id != tp->dev_id || memcmp(&pp->flash, &tp->flash, sizeof(pp->flash)) != 0))
		return ft_diag_set(
		    diag, FT_ERR_STATE, who(s),
		    "the plan was made for %s but the target is %s; nothing was touched", pp->name,
		    tp->name);
	return FT_OK;
}

static ft_error verify_range(ft_swd *s, const ft_plan *plan, uint32_t addr, const uint8_t *expected,
                             size_t len, uint64_t *done, uint64_t total, ft_diag *diag);

/* Verifies one write with the flash CRC unit; a disagreement is settled by reading back. */
static ft_error verify_crc(ft_swd *s, const ft_plan *plan, const ft_plan_write *w, uint64_t *done,
                           uint64_t total, ft_diag *diag)
{
	uint32_t crc;
	ft_error err = ft_h7flash_crc(s->flash, w->start, w->size, &crc, diag);
	if (err != FT_OK)
		return err;
	uint32_t want = ft_h7flash_crc_expected(w->data, w->size);
	if (crc == want) {
		*done += w->size;
		report(s, FT_SWD_PHASE_VERIFY, w->start, *done, total);
		return FT_OK;
	}
	err = verify_range(s, plan, w->start, w->data, w->size, done, total, diag);
	if (err == FT_OK) {
		s->crc_untrusted = true;
		warn(s, FT_ERR_VERIFY,
		     "the flash CRC unit gave 0x%08x for 0x%08x..0x%08x, expected 0x%08x, but the "
		     "read-back matches: the CRC parameters are a community measurement [U]; "
		     "reading "
		     "back from now on",
		     crc, w->start, w->start + w->size - 1, want);
	}
	return err;
}

static ft_error verify_plan(ft_swd *s, const ft_plan *plan, ft_diag *diag)
{
	uint64_t total = 0, done = 0;
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		total += w->persistent && !w->external ? w->size : 0;
	}
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (!w->persistent || w->external)
			continue;
		bool crc = s->opts.verify == FT_SWD_VERIFY_CRC && !s->crc_untrusted && w->bank &&
		           w->size % 4 == 0;
		ft_error err =
		    crc ? verify_crc(s, plan, w, &done, total, diag)
		        : verify_range(s, plan, w->start, w->data, w->size, &done, total, diag);
		if (err != FT_OK)
			return err;
	}
	return FT_OK;
}

ft_error ft_swd_flash_plan(ft_swd *s, const ft_plan *plan, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK)
		err = check_plan(s, plan, diag);
	if (err == FT_OK && plan_touches_flash(s, plan))
		err = require_flash_access(s, "programming", diag);
	if (err != FT_OK)
		return err;
	/* erases of bank 0 and external writes belong to the external loader (loader_run.h) */
	size_t ne = 0;
	ft_plan_erase *erases = calloc(ft_plan_erase_count(plan) + 1, sizeof(*erases));
	if (!erases)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(s), "out of memory");
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++)
		if (ft_plan_erase_at(plan, i)->bank)
			erases[ne++] = *ft_plan_erase_at(plan, i);
	err = erase_sectors(s, erases, ne, plan, diag);
	uint64_t total = 0, before = 0;
	for (size_t i = 0; i < ft_plan_write_count(plan); i++)
		total += ft_plan_write_at(plan, i)->external ? 0 : ft_plan_write_at(plan, i)->size;
	for (size_t i = 0; err == FT_OK && i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		if (w->external)
			continue;
		if (w->bank) {
			job j = {s, w->start, before, total};
			err = unlock_bank(s, w->bank, diag);
			if (err == FT_OK)
				err = ft_h7flash_program(s->flash, w->start, w->data, w->size,
				                         program_progress, &j, diag);
			if (err != FT_OK) {
				explain_failure(s, plan);
				advise_erased(s, erases, ne);
			}
		} else {
			err = ft_gdb_write_mem(s->gdb, w->start, w->data, w->size, diag);
			if (err == FT_OK)
				report(s, FT_SWD_PHASE_PROGRAM, w->start, before + w->size, total);
		}
		before += w->size;
	}
	free(erases);
	if (s->flash) {
		ft_error lock = ft_h7flash_lock_all(s->flash, err == FT_OK ? diag : NULL);
		if (err == FT_OK)
			err = lock;
	}
	if (err == FT_OK && s->opts.verify != FT_SWD_VERIFY_NONE)
		err = verify_plan(s, plan, diag);
	return err;
}

/* Sectors of [addr, addr + len) bank by bank, as plan erases. */
static ft_error sectors_of(ft_swd *s, uint32_t addr, uint32_t len, ft_plan_erase **out,
                           size_t *count, ft_diag *diag)
{
	const ft_flash_geometry *g = &s->info.part->flash;
	*out = NULL;
	*count = 0;
	uint64_t end = (uint64_t)addr + len;
	for (uint64_t a = addr; a < end;) {
		unsigned bank = ft_h7flash_bank_of(s->flash, (uint32_t)a);
		if (!bank) {
			free(*out);
			*out = NULL;
			return ft_diag_set(diag, FT_ERR_RANGE, who(s),
			                   "0x%08llx is not in the internal flash of %s",
			                   (unsigned long long)a, s->info.part->name);
		}
		unsigned sector = (unsigned)((a - g->bank_base[bank - 1]) / g->sector_size);
		ft_plan_erase *grown = realloc(*out, (*count + 1) * sizeof(**out));
		if (!grown) {
			free(*out);
			*out = NULL;
			return ft_diag_set(diag, FT_ERR_NO_MEM, who(s), "out of memory");
		}
		*out = grown;
		uint32_t start = sector_start(s, bank, sector);
		(*out)[(*count)++] =
		    (ft_plan_erase){(uint8_t)bank, (uint16_t)sector, start, g->sector_size};
		a = (uint64_t)start + g->sector_size;
	}
	return FT_OK;
}

ft_error ft_swd_erase(ft_swd *s, uint32_t addr, uint32_t len, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK)
		err = require_flash_access(s, "erasing", diag);
	if (err == FT_OK && len == 0)
		err = ft_diag_set(diag, FT_ERR_INVALID_ARG, who(s), "nothing to erase (length 0)");
	if (err != FT_OK)
		return err;
	ft_plan_erase *erases;
	size_t count;
	err = sectors_of(s, addr, len, &erases, &count, diag);
	if (err != FT_OK)
		return err;
	err = erase_sectors(s, erases, count, NULL, diag);
	free(erases);
	ft_error lock = ft_h7flash_lock_all(s->flash, err == FT_OK ? diag : NULL);
	return err != FT_OK ? err : lock;
}

ft_error ft_swd_mass_erase(ft_swd *s, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK)
		err = require_flash_access(s, "mass erase", diag);
	if (err != FT_OK)
		return err;
	const ft_flash_geometry *g = &s->info.part->flash;
	for (unsigned b = 1; err == FT_OK && b <= g->banks; b++) {
		uint32_t wpsn;
		err = read_wpsn(s, b, &wpsn, diag);
		for (unsigned sc = 0; err == FT_OK && sc < g->sectors_per_bank; sc++)
			err = check_sector_wrp(s, b, sc, wpsn, NULL, diag);
	}
	for (unsigned b = 1; err == FT_OK && b <= g->banks; b++) {
		err = unlock_bank(s, b, diag);
		if (err == FT_OK)
			err = ft_h7flash_erase_bank(s->flash, b, diag);
		if (err != FT_OK)
			explain_failure(s, NULL);
		else
			report(s, FT_SWD_PHASE_ERASE, g->bank_base[b - 1],
			       (uint64_t)b * g->bank_size, (uint64_t)g->banks * g->bank_size);
	}
	ft_error lock = ft_h7flash_lock_all(s->flash, err == FT_OK ? diag : NULL);
	return err != FT_OK ? err : lock;
}

/* ---- read and verify ---- */

/* A read of flash the target faulted: ECC or protection flags say why; a double ECC error
 * becomes the conclusion in diag (CATALOGUE S07: not a generic read failure). */
static void explain_read_fault(ft_swd *s, uint32_t addr, ft_diag *diag)
{
	unsigned bank = s->flash ? ft_h7flash_bank_of(s->flash, addr) : 0;
	uint32_t sr, word;
	char flags[300];
	const ft_flash_geometry *g = &s->info.part->flash;
	if (!bank || ft_h7flash_read_sr(s->flash, bank, &sr, NULL) != FT_OK ||
	    !ft_h7flash_describe_sr(g->layout, sr, flags, sizeof(flags)))
		return;
	ft_advice_add(&s->advice, "FLASH_SR%u=0x%08x: %s", bank, sr, flags);
	/* SNECCERR b25, DBECCERR b26 (devices.md §2.3). */
	if (!(sr & (3u << 25)) || ft_h7flash_ecc_address(s->flash, bank, &word, NULL) != FT_OK)
		return;
	unsigned sector = (word - g->bank_base[bank - 1]) / g->sector_size;
	ft_advice_add(&s->advice,
	              "ECC_FA%u names the flash word at 0x%08x; fix: erase bank %u sector %u and "
	              "program it again",
	              bank, word, bank, sector);
	if (sr & (1u << 26)) {
		char read[sizeof(diag->message)];
		snprintf(read, sizeof(read), "%s", diag->message);
		ft_diag_set(
		    diag, diag->code, who(s),
		    "ECC double error at 0x%08x (DBECCERR, a flash word left half-programmed "
		    "or programmed twice); erase bank %u sector %u: %s",
		    word, bank, sector, read);
	}
}

static ft_error read_chunks(ft_swd *s, uint32_t addr, uint8_t *buf, size_t len, ft_swd_phase phase,
                            uint64_t *done, uint64_t total, ft_diag *diag)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < READ_CHUNK ? len - off : READ_CHUNK;
		ft_error err = ft_gdb_read_mem(s->gdb, addr + (uint32_t)off, buf + off, n, diag);
		if (err != FT_OK) {
			if (refused(err))
				explain_read_fault(s, addr + (uint32_t)off, diag);
			return err;
		}
		off += n;
		*done += n;
		report(s, phase, addr + (uint32_t)off - (uint32_t)n, *done, total);
	}
	return FT_OK;
}

static ft_error verify_range(ft_swd *s, const ft_plan *plan, uint32_t addr, const uint8_t *expected,
                             size_t len, uint64_t *done, uint64_t total, ft_diag *diag)
{
	uint8_t *buf = malloc(READ_CHUNK);
	if (!buf)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(s), "out of memory");
	ft_error err = FT_OK;
	for (size_t off = 0; err == FT_OK && off < len;) {
		size_t n = len - off < READ_CHUNK ? len - off : READ_CHUNK;
		uint32_t at = addr + (uint32_t)off;
		err = read_chunks(s, at, buf, n, FT_SWD_PHASE_VERIFY, done, total, diag);
		for (size_t i = 0; err == FT_OK && i < n; i++) {
			if (buf[i] == expected[off + i])
				continue;
			uint32_t bad = at + (uint32_t)i;
			const ft_plan_segment *ps = segment_at(plan, bad, bad);
			if (ps) {
				char seg[240];
				describe_segment(ps, seg, sizeof(seg));
				const char *section = section_at(ps->segment, bad);
				ft_advice_add(&s->advice, "0x%08x belongs to %s%s%s", bad, seg,
				              section ? ", section " : "", section ? section : "");
			}
			unsigned bank = s->flash ? ft_h7flash_bank_of(s->flash, bad) : 0;
			if (bank)
				ft_advice_add(&s->advice, "bank %u sector %u", bank,
				              (bad - s->info.part->flash.bank_base[bank - 1]) /
				                  s->info.part->flash.sector_size);
			err = ft_diag_set(diag, FT_ERR_VERIFY, who(s),
			                  "data mismatch at 0x%08x (0x%02x, expected 0x%02x)", bad,
			                  buf[i], expected[off + i]);
		}
		off += n;
	}
	free(buf);
	return err;
}

ft_error ft_swd_read(ft_swd *s, uint32_t addr, void *buf, size_t len, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK && s->info.has_flash && in_flash(s, addr, len))
		err = require_flash_access(s, "reading flash", diag);
	if (err != FT_OK)
		return err;
	uint64_t done = 0;
	return read_chunks(s, addr, buf, len, FT_SWD_PHASE_READ, &done, len, diag);
}

ft_error ft_swd_verify(ft_swd *s, uint32_t addr, const void *expected, size_t len, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK && s->info.has_flash && in_flash(s, addr, len))
		err = require_flash_access(s, "verifying flash", diag);
	if (err != FT_OK)
		return err;
	uint64_t done = 0;
	return verify_range(s, NULL, addr, expected, len, &done, len, diag);
}

/* ---- option bytes ---- */

ft_error ft_swd_ob_read(ft_swd *s, ft_swd_option_bytes *out, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err == FT_OK && !s->info.has_flash)
		err = ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(s),
		                  "%s has no H7 flash option bytes", s->info.part->name);
	if (err != FT_OK)
		return err;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ft_h7_option_reg_count(); i++) {
		const ft_h7_option_reg *reg = ft_h7_option_reg_at(i);
		if (!ft_h7_option_reg_present(reg, s->info.part) ||
		    out->count == FT_SWD_MAX_OPTION_REGS)
			continue;
		uint32_t v;
		err = ft_gdb_read_u32(s->gdb, s->info.part->flash_regs + reg->cur, &v, diag);
		if (err != FT_OK) {
			ft_advice_add(&s->advice, "could not read FLASH_%s_CUR at 0x%08x%s",
			              reg->name, s->info.part->flash_regs + reg->cur,
			              refused(err) ? " (the access faulted: is the core halted?)"
			                           : "");
			return err;
		}
		out->regs[out->count].name = reg->name;
		out->regs[out->count].offset = reg->cur;
		out->regs[out->count].value = v;
		out->count++;
	}
	return FT_OK;
}

static bool ob_reg_value(const ft_swd_option_bytes *ob, const char *reg_name, uint32_t *value)
{
	for (size_t i = 0; i < ob->count; i++) {
		if (strcmp(ob->regs[i].name, reg_name) == 0) {
			*value = ob->regs[i].value;
			return true;
		}
	}
	return false;
}

bool ft_swd_ob_field(const ft_swd *s, const ft_swd_option_bytes *ob, const char *name,
                     uint32_t *value)
{
	const ft_h7_option_field *f =
	    s->info.part ? ft_h7_option_field_find(name, s->info.part) : NULL;
	uint32_t reg;
	if (!f || !ob_reg_value(ob, ft_h7_option_reg_at(f->reg)->name, &reg))
		return false;
	*value = ft_h7_option_field_get(f, reg);
	return true;
}

/* Why a PROT_AREA or DMEP field of an active PCROP area did not change (RM0433 §4.5 [U], the
 * rule models/flash_h7.c applies). */
static void explain_area_change(ft_swd *s, const ft_swd_option_bytes *ob, const char *field)
{
	size_t len = strlen(field);
	if (len == 0 || (strncmp(field, "PROT_AREA_", 10) != 0 && strncmp(field, "DMEP", 4) != 0))
		return;
	char name[8];
	snprintf(name, sizeof(name), "PRAR%c", field[len - 1]);
	uint32_t prar = 0;
	if (!ob_reg_value(ob, name, &prar) || (prar & 0xFFFu) > (prar >> 16 & 0xFFFu))
		return;
	ft_advice_add(
	    &s->advice,
	    "why: the PCROP area of bank %c is active (PROT_AREA_START%c=0x%03x, "
	    "PROT_AREA_END%c=0x%03x, DMEP%c=%u): its bounds move or go only with an RDP level "
	    "1 -> 0 regression while DMEP%c=1, which erases the area [U]",
	    field[len - 1], field[len - 1], prar & 0xFFFu, field[len - 1], prar >> 16 & 0xFFFu,
	    field[len - 1], prar >> 31, field[len - 1]);
}

/* Refuses RDP changes the flags do not allow; sets *regression. */
static ft_error check_rdp_change(ft_swd *s, uint32_t new_rdp, unsigned flags, bool *regression,
                                 ft_diag *diag)
{
	unsigned from = s->info.rdp_level, to = ft_h7_rdp_level((uint8_t)new_rdp);
	*regression = from >= 1 && to == 0;
	if (to == 2 && !(flags & FT_SWD_OB_ALLOW_LEVEL2)) {
		ft_advice_add(
		    &s->advice,
		    "RDP level 2 cannot be undone: the debug port and the system bootloader are "
		    "closed for good; pass the explicit level-2 permission if that is meant");
		return ft_diag_set(diag, FT_ERR_REFUSED, who(s),
		                   "RDP=0x%02x (level 2, permanent) refused; nothing was written",
		                   new_rdp);
	}
	if (*regression && !(flags & FT_SWD_OB_ALLOW_REGRESSION)) {
		ft_advice_add(
		    &s->advice,
		    "regressing RDP from level %u to 0 mass-erases the whole user flash first",
		    from);
		return ft_diag_set(
		    diag, FT_ERR_REFUSED, who(s),
		    "RDP level %u -> 0 erases all user flash: allow the regression to "
		    "go on; nothing was written",
		    from);
	}
	return FT_OK;
}

ft_error ft_swd_ob_set(ft_swd *s, const char *const *assignments, size_t count, unsigned flags,
                       ft_diag *diag)
{
	ft_swd_option_bytes ob;
	ft_error err = ft_swd_ob_read(s, &ob, diag);
	if (err != FT_OK)
		return err;
	const ft_h7_option_field *fields[16];
	uint32_t values[16];
	if (count == 0 || count > 16)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, who(s),
		                   "between 1 and 16 option assignments, not %zu", count);
	ft_h7flash_option_write writes[FT_SWD_MAX_OPTION_REGS];
	size_t nwrites = 0;
	bool regression = false;
	for (size_t i = 0; i < count; i++) {
		err =
		    ft_h7_option_parse(assignments[i], s->info.part, &fields[i], &values[i], diag);
		if (err == FT_OK && strcmp(fields[i]->name, "RDP") == 0)
			err = check_rdp_change(s, values[i], flags, &regression, diag);
		if (err != FT_OK)
			return err;
		const ft_h7_option_reg *reg = ft_h7_option_reg_at(fields[i]->reg);
		size_t w = 0;
		while (w < nwrites && writes[w].prg != reg->prg)
			w++;
		if (w == nwrites) {
			uint32_t cur = 0;
			ob_reg_value(&ob, reg->name, &cur);
			writes[nwrites++] =
			    (ft_h7flash_option_write){reg->prg, cur & ~reg->status_bits};
		}
		writes[w].value = ft_h7_option_field_put(fields[i], writes[w].value, values[i]);
	}
	err = ft_h7flash_options_program(s->flash, writes, nwrites,
	                                 regression ? FT_H7_OPTION_REGRESS_MS : FT_H7_OPTION_MS,
	                                 diag);
	/* OPTCHANGEERR (FT_ERR_DEVICE): say field by field what stayed, and why */
	if (err != FT_OK && err != FT_ERR_DEVICE)
		return err;
	ft_diag refusal = *diag;
	ft_swd_option_bytes after;
	ft_error read = ft_swd_ob_read(s, &after, diag);
	if (read != FT_OK)
		return err != FT_OK ? err : read;
	uint32_t optsr;
	if (ob_reg_value(&after, "OPTSR", &optsr)) {
		s->info.optsr = optsr;
		s->info.rdp = (uint8_t)(optsr >> 8);
		s->info.rdp_level = ft_h7_rdp_level(s->info.rdp);
	}
	size_t mismatches = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t got = 0;
		if (ft_swd_ob_field(s, &after, fields[i]->name, &got) && got == values[i])
			continue;
		ft_advice_add(&s->advice, "%s: expected 0x%x, found 0x%x after the change",
		              fields[i]->name, values[i], got);
		explain_area_change(s, &after, fields[i]->name);
		mismatches++;
	}
	if (err != FT_OK) {
		*diag = refusal;
		return err;
	}
	if (mismatches)
		return ft_diag_set(diag, FT_ERR_VERIFY, who(s),
		                   "%zu option byte%s did not take the value written", mismatches,
		                   mismatches == 1 ? "" : "s");
	return FT_OK;
}

/* ---- reset ---- */

ft_error ft_swd_reset_run(ft_swd *s, ft_diag *diag)
{
	ft_error err = require_connected(s, diag);
	if (err != FT_OK)
		return err;
	if (s->opts.reset == FT_SWD_RESET_MONITOR) {
		const char *cmd = s->opts.reset_command ? s->opts.reset_command : "reset run";
		err = ft_gdb_monitor(s->gdb, cmd, NULL, 0, NULL, diag);
	} else {
		err = ft_gdb_write_u32(s->gdb, FT_SWD_AIRCR, AIRCR_RESET, diag);
	}
	if (err == FT_OK)
		err = ft_gdb_detach(s->gdb, diag);
	s->connected = false;
	return err;
}
