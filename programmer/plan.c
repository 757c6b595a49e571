#include "programmer/plan.h"

#include "programmer/image/stm32_header.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ADVICE 6

struct ft_plan {
	const ft_part *part;
	ft_plan_options options;
	ft_plan_external external; /* options.external points here when given */
	ft_plan_status status;
	ft_plan_totals totals;
	char conclusion[400];
	size_t segment_count;
	ft_plan_segment *segments;
	size_t erase_count;
	ft_plan_erase *erases;
	size_t write_count;
	ft_plan_write *writes;
	size_t verify_count;
	ft_range *verifies;
	size_t advice_count;
	char advice[MAX_ADVICE][320];
};

const char *ft_route_name(ft_route transport)
{
	return transport == FT_ROUTE_DFU ? "dfu" : "swd";
}

bool ft_route_parse(const char *text, ft_route *transport)
{
	if (!text || !transport)
		return false;
	if (strcasecmp(text, "dfu") == 0)
		*transport = FT_ROUTE_DFU;
	else if (strcasecmp(text, "swd") == 0)
		*transport = FT_ROUTE_SWD;
	else
		return false;
	return true;
}

const char *ft_verdict_name(ft_verdict verdict)
{
	switch (verdict) {
	case FT_VERDICT_PROGRAM: return "program";
	case FT_VERDICT_VOLATILE: return "volatile";
	case FT_VERDICT_SKIP: return "skip";
	case FT_VERDICT_REFUSE: return "refuse";
	}
	return "unknown";
}

const char *ft_plan_rule_name(ft_plan_rule rule)
{
	switch (rule) {
	case FT_RULE_NONE: return "none";
	case FT_RULE_EMPTY: return "empty";
	case FT_RULE_ELF_HEADERS: return "elf-headers";
	case FT_RULE_VOLATILE: return "volatile";
	case FT_RULE_VOLATILE_SKIPPED: return "volatile-skipped";
	case FT_RULE_DFU_VOLATILE: return "dfu-volatile";
	case FT_RULE_DFU_WORK_AREA: return "dfu-work-area";
	case FT_RULE_DFU_NOT_WRITABLE: return "dfu-not-writable";
	case FT_RULE_DFU_UNAVAILABLE: return "dfu-unavailable";
	case FT_RULE_BIN_IN_RAM: return "bin-in-ram";
	case FT_RULE_EXCEEDS_FLASH: return "exceeds-flash";
	case FT_RULE_FLASH_HOLE: return "flash-hole";
	case FT_RULE_EXT_NEEDS_LOADER: return "ext-needs-loader";
	case FT_RULE_EXT_LOADER: return "ext-loader";
	case FT_RULE_EXT_OVER_DFU: return "ext-over-dfu";
	case FT_RULE_OTP: return "otp";
	case FT_RULE_SYSTEM_MEMORY: return "system-memory";
	case FT_RULE_PERIPHERAL: return "peripheral";
	case FT_RULE_UNMAPPED: return "unmapped";
	case FT_RULE_CROSSES_REGIONS: return "crosses-regions";
	case FT_RULE_OVERLAP: return "overlap";
	}
	return "unknown";
}

const char *ft_plan_status_name(ft_plan_status status)
{
	switch (status) {
	case FT_PLAN_OK: return "ok";
	case FT_PLAN_REFUSED: return "refused";
	case FT_PLAN_EMPTY: return "empty";
	}
	return "unknown";
}

void ft_plan_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB"};
	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	double value = (double)bytes / 1024.0;
	size_t unit = 0;
	while (value >= 1024.0 && unit + 1 < sizeof(units) / sizeof(units[0])) {
		value /= 1024.0;
		unit++;
	}
	uint64_t whole = 1024;
	for (size_t i = 0; i < unit; i++)
		whole *= 1024;
	if (bytes % whole == 0)
		snprintf(buf, len, "%.0f %s", value, units[unit]);
	else
		snprintf(buf, len, "%.1f %s", value, units[unit]);
}

/* Appends to a NUL-terminated buffer of len bytes; truncates, never overflows. */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t len, const char *fmt,
                                                         ...)
{
	size_t used = strnlen(buf, len);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* "0x24000000-0x24004FFF": inclusive bounds, as the reference manuals write them. */
static void append_range(char *buf, size_t len, uint32_t start, uint64_t size)
{
	append(buf, len, "0x%08X-0x%08X", start, (uint32_t)(start + size - 1));
}

static void append_size(char *buf, size_t len, uint64_t bytes)
{
	char text[32];
	ft_plan_format_size(bytes, text, sizeof(text));
	append(buf, len, "%s", text);
}

static uint64_t end_of(uint32_t start, uint64_t size)
{
	return (uint64_t)start + size;
}

static bool ranges_overlap(uint32_t a, uint64_t a_size, uint32_t b, uint64_t b_size)
{
	return a < end_of(b, b_size) && b < end_of(a, a_size);
}

static bool range_inside(uint32_t start, uint64_t size, uint32_t outer, uint64_t outer_size)
{
	return start >= outer && end_of(start, size) <= end_of(outer, outer_size);
}

/* ---- the part ------------------------------------------------------------------------------ */

static const char *family_text(const ft_part *part)
{
	return part->family == FT_FAMILY_N6 ? "STM32N6" : "STM32H7";
}

static bool is_flash(const ft_region *region)
{
	return region && region->kind == FT_REGION_FLASH_BANK;
}

static bool is_ram(const ft_region *region)
{
	return region && ft_region_kind_is_volatile(region->kind);
}

/* End (exclusive) of the last flash bank, 0 without internal flash. */
static uint64_t flash_end(const ft_part *part)
{
	uint64_t end = 0;
	for (size_t i = 0; i < part->region_count; i++)
		if (is_flash(&part->regions[i]) &&
		    end_of(part->regions[i].start, part->regions[i].size) > end)
			end = end_of(part->regions[i].start, part->regions[i].size);
	return end;
}

static uint64_t flash_bytes(const ft_part *part)
{
	uint64_t total = 0;
	for (size_t i = 0; i < part->region_count; i++)
		if (is_flash(&part->regions[i]))
			total += part->regions[i].size;
	return total;
}

static const ft_region *first_flash(const ft_part *part)
{
	for (size_t i = 0; i < part->region_count; i++)
		if (is_flash(&part->regions[i]))
			return &part->regions[i];
	return NULL;
}

static const ft_region *region_containing(const ft_part *part, uint32_t addr)
{
	for (size_t i = 0; i < part->region_count; i++)
		if (addr >= part->regions[i].start &&
		    addr < end_of(part->regions[i].start, part->regions[i].size))
			return &part->regions[i];
	return NULL;
}

/* Start of the first region above addr, or 2^32. */
static uint64_t next_region_start(const ft_part *part, uint32_t addr)
{
	uint64_t next = 1ull << 32;
	for (size_t i = 0; i < part->region_count; i++)
		if (part->regions[i].start > addr && part->regions[i].start < next)
			next = part->regions[i].start;
	return next;
}

/* A RAM region's name as people say it: the kind, since table names vary ("ITCM" vs "ITCMRAM"). */
static const char *ram_words(ft_region_kind kind)
{
	switch (kind) {
	case FT_REGION_ITCM: return "ITCM RAM";
	case FT_REGION_DTCM: return "DTCM RAM";
	case FT_REGION_AXI_SRAM: return "AXI SRAM";
	case FT_REGION_AHB_SRAM: return "AHB SRAM";
	case FT_REGION_SRD_SRAM: return "SRD SRAM";
	case FT_REGION_BACKUP_SRAM: return "backup SRAM";
	default: return "RAM";
	}
}

/* The MEMORY name STM32CubeMX linker scripts give an H7 RAM (STM32H7xx_FLASH.ld), used in
 * example fixes and next to the table's name; NULL where we do not know one. The D1/D2/D3 names
 * exist on the parts with those power domains (H74x/H75x, H72x/H73x) [U: other generators and
 * the H7A3/B3 CD/SRD scripts name them differently]. */
static const char *cubemx_memory(const ft_part *part, ft_region_kind kind)
{
	bool d_domains = part->family == FT_FAMILY_H74X ||
	                 part->family == FT_FAMILY_H74X_DUAL_CORE || part->family == FT_FAMILY_H72X;
	switch (kind) {
	case FT_REGION_ITCM: return part->family == FT_FAMILY_N6 ? NULL : "ITCMRAM";
	case FT_REGION_DTCM: return part->family == FT_FAMILY_N6 ? NULL : "DTCMRAM";
	case FT_REGION_AXI_SRAM: return d_domains ? "RAM_D1" : NULL;
	case FT_REGION_AHB_SRAM: return d_domains ? "RAM_D2" : NULL;
	case FT_REGION_SRD_SRAM: return d_domains ? "RAM_D3" : NULL;
	default: return NULL;
	}
}

/* A linker-script MEMORY name for region: CubeMX's where known, else the table's name made an
 * identifier ("AXI SRAM1 (secure)" -> "AXI_SRAM1_secure"). */
static void linker_memory_name(const ft_part *part, const ft_region *region, char *buf, size_t len)
{
	const char *known = cubemx_memory(part, region->kind);
	if (known) {
		snprintf(buf, len, "%s", known);
		return;
	}
	size_t n = 0;
	for (const char *c = region->name; *c && n + 1 < len; c++) {
		bool word = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		            (*c >= '0' && *c <= '9');
		if (word)
			buf[n++] = *c;
		else if (n && buf[n - 1] != '_')
			buf[n++] = '_';
	}
	while (n && buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
}

/* ---- the bootloader ------------------------------------------------------------------------ */

static bool dfu_available(const ft_part *part)
{
	return part->bootloader && part->bootloader->has_usb_dfu;
}

static bool dfu_writable(const ft_part *part, uint32_t start, uint32_t size)
{
	const ft_bootloader_info *bl = part->bootloader;
	for (uint8_t i = 0; i < bl->writable_count; i++)
		if (range_inside(start, size, bl->writable[i].start, bl->writable[i].size))
			return true;
	return false;
}

static const ft_range *dfu_reserved_overlap(const ft_part *part, uint32_t start, uint32_t size)
{
	const ft_bootloader_info *bl = part->bootloader;
	for (uint8_t i = 0; i < bl->reserved_count; i++)
		if (ranges_overlap(start, size, bl->reserved_ram[i].start,
		                   bl->reserved_ram[i].size))
			return &bl->reserved_ram[i];
	return NULL;
}

/* "the system bootloader only accepts flash, option bytes and RAM A-B, C-D (E-F is used by the
 * bootloader)", from the part's bootloader table. */
static void append_dfu_accepts(char *buf, size_t len, const ft_part *part, bool with_reserved)
{
	const ft_bootloader_info *bl = part->bootloader;
	append(buf, len, "the system bootloader only accepts %s",
	       first_flash(part) ? "flash" : "its own windows");
	if (bl->option_bytes_addr)
		append(buf, len, ", option bytes");
	bool first = true;
	for (uint8_t i = 0; i < bl->writable_count; i++) {
		if (!is_ram(region_containing(part, bl->writable[i].start)))
			continue;
		append(buf, len, first ? " and RAM " : ", ");
		append_range(buf, len, bl->writable[i].start, bl->writable[i].size);
		first = false;
	}
	if (with_reserved && bl->reserved_count) {
		append(buf, len, " (");
		for (uint8_t i = 0; i < bl->reserved_count; i++) {
			append(buf, len, i ? ", " : "");
			append_range(buf, len, bl->reserved_ram[i].start, bl->reserved_ram[i].size);
		}
		append(buf, len, " %s used by the bootloader)",
		       bl->reserved_count > 1 ? "are" : "is");
	}
}

/* ---- pieces and their rules ---------------------------------------------------------------- */

typedef struct piece_rule {
	ft_verdict verdict;
	ft_plan_rule rule;
} piece_rule;

/* The flash address range of the family: two 1 MB banks from 0x08000000 (RM0433 §4.3.1,
 * FLASH_END 0x081FFFFF; devices.md §1.2). An address there past a smaller part's flash is flash
 * the part lacks (an image for a bigger part, a CM4 image for bank 2), not a typo. */
#define H7_FLASH_SPAN (2u * 1024 * 1024)

static piece_rule unmapped_rule(const ft_part *part, const ft_plan_piece *piece)
{
	uint64_t end = flash_end(part);
	const ft_region *flash = first_flash(part);
	if (flash && piece->start >= flash->start && piece->start < end)
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_FLASH_HOLE};
	if (flash && piece->start >= end &&
	    (piece->start < end + flash_bytes(part) ||
	     piece->start < (uint64_t)flash->start + H7_FLASH_SPAN))
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_EXCEEDS_FLASH};
	return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_UNMAPPED};
}

static piece_rule volatile_rule(const ft_part *part, const ft_segment *segment,
                                const ft_plan_piece *piece, const ft_plan_options *options)
{
	if (segment->format == FT_IMAGE_BIN)
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_BIN_IN_RAM};
	if (options->skip_volatile)
		return (piece_rule){FT_VERDICT_SKIP, FT_RULE_VOLATILE_SKIPPED};
	if (options->transport == FT_ROUTE_SWD)
		return (piece_rule){FT_VERDICT_VOLATILE, FT_RULE_VOLATILE};
	if (!dfu_available(part))
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_UNAVAILABLE};
	if (dfu_reserved_overlap(part, piece->start, piece->size))
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_WORK_AREA};
	return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_VOLATILE};
}

static piece_rule rule_of_piece(const ft_part *part, const ft_segment *segment,
                                const ft_plan_piece *piece, const ft_plan_options *options)
{
	const ft_region *region = piece->region;
	bool dfu = options->transport == FT_ROUTE_DFU;
	const ft_plan_external *ext = options->external;
	if (!dfu && ext && ranges_overlap(piece->start, piece->size, ext->start, ext->size))
		return range_inside(piece->start, piece->size, ext->start, ext->size)
		           ? (piece_rule){FT_VERDICT_PROGRAM, FT_RULE_EXT_LOADER}
		           : (piece_rule){FT_VERDICT_REFUSE, FT_RULE_EXT_NEEDS_LOADER};
	if (!region)
		return unmapped_rule(part, piece);
	if (ft_region_kind_is_volatile(region->kind))
		return volatile_rule(part, segment, piece, options);
	switch (region->kind) {
	case FT_REGION_FLASH_BANK:
		if (!dfu)
			return (piece_rule){FT_VERDICT_PROGRAM, FT_RULE_NONE};
		if (!dfu_available(part))
			return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_UNAVAILABLE};
		if (!dfu_writable(part, piece->start, piece->size))
			return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_NOT_WRITABLE};
		return (piece_rule){FT_VERDICT_PROGRAM, FT_RULE_NONE};
	case FT_REGION_HOLE:
		if (piece->start >= flash_end(part))
			return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_EXCEEDS_FLASH};
		return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_FLASH_HOLE};
	case FT_REGION_EXT_WINDOW:
		if (dfu && !dfu_available(part))
			return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_DFU_UNAVAILABLE};
		return (piece_rule){FT_VERDICT_REFUSE,
		                    dfu ? FT_RULE_EXT_OVER_DFU : FT_RULE_EXT_NEEDS_LOADER};
	case FT_REGION_OTP: return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_OTP};
	case FT_REGION_SYSTEM_MEMORY: return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_SYSTEM_MEMORY};
	default: return (piece_rule){FT_VERDICT_REFUSE, FT_RULE_PERIPHERAL};
	}
}

static void set_sectors(const ft_part *part, ft_plan_piece *piece)
{
	const ft_flash_geometry *geo = &part->flash;
	uint8_t bank = piece->region->bank;
	/* The table gives every flash bank region its bank number and a sector size: our data. */
	assert(bank >= 1 && bank <= 2 && geo->sector_size);
	uint32_t base = geo->bank_base[bank - 1];
	piece->first_sector = (uint16_t)((piece->start - base) / geo->sector_size);
	piece->last_sector = (uint16_t)((piece->start + piece->size - 1 - base) / geo->sector_size);
}

/* Splits [addr, addr + size) at region boundaries. Returns false when more than
 * FT_PLAN_MAX_PIECES would be needed. */
static bool split_pieces(const ft_part *part, ft_plan_segment *ps)
{
	const ft_segment *seg = ps->segment;
	uint64_t pos = seg->addr, end = end_of(seg->addr, seg->size);
	ps->piece_count = 0;
	while (pos < end) {
		if (ps->piece_count == FT_PLAN_MAX_PIECES)
			return false;
		ft_plan_piece *piece = &ps->pieces[ps->piece_count++];
		memset(piece, 0, sizeof(*piece));
		piece->start = (uint32_t)pos;
		piece->region = region_containing(part, (uint32_t)pos);
		uint64_t stop = piece->region ? end_of(piece->region->start, piece->region->size)
		                              : next_region_start(part, (uint32_t)pos);
		if (stop > end)
			stop = end;
		piece->size = (uint32_t)(stop - pos);
		if (is_flash(piece->region))
			set_sectors(part, piece);
		pos = stop;
	}
	return true;
}

/* ---- texts --------------------------------------------------------------------------------- */

/* "RAM_D2 / AHB SRAM1 (volatile)", "QUADSPI window (external memory)", "flash bank 2". */
static void append_region_words(char *buf, size_t len, const ft_part *part, const ft_region *region)
{
	const char *qualifier = NULL;
	switch (region->kind) {
	case FT_REGION_FLASH_BANK: append(buf, len, "flash bank %u", region->bank); return;
	case FT_REGION_HOLE: append(buf, len, "no flash (bank hole)"); return;
	case FT_REGION_EXT_WINDOW:
		append(buf, len, "%s window (external memory)", region->name);
		return;
	case FT_REGION_OTP: qualifier = "OTP"; break;
	case FT_REGION_SYSTEM_MEMORY: qualifier = "system memory"; break;
	case FT_REGION_PERIPHERAL: qualifier = "peripheral"; break;
	case FT_REGION_AXI_SRAM:
	case FT_REGION_AHB_SRAM:
	case FT_REGION_SRD_SRAM: {
		const char *memory = cubemx_memory(part, region->kind);
		if (memory && !strstr(region->name, memory))
			append(buf, len, "%s / ", memory);
		break;
	}
	default: break;
	}
	if (!qualifier && ft_region_kind_is_volatile(region->kind))
		qualifier = "volatile";
	size_t name_len = strlen(region->name);
	if (!qualifier)
		append(buf, len, "%s", region->name);
	else if (name_len && region->name[name_len - 1] == ')')
		append(buf, len, "%.*s, %s)", (int)(name_len - 1), region->name, qualifier);
	else
		append(buf, len, "%s (%s)", region->name, qualifier);
}

/* "flash bank 1 sectors 0-1", "flash bank 1 sector 7 + bank 2 sector 0", "unmapped". */
static void describe_region(const ft_part *part, ft_plan_segment *ps)
{
	char *buf = ps->region_text;
	size_t len = sizeof(ps->region_text);
	buf[0] = '\0';
	for (size_t i = 0; i < ps->piece_count; i++) {
		const ft_plan_piece *piece = &ps->pieces[i];
		append(buf, len, i ? " + " : "");
		if (!piece->region) {
			append(buf, len, "unmapped");
		} else if (is_flash(piece->region)) {
			append(buf, len, "%sbank %u sector%s %u", i ? "" : "flash ",
			       piece->region->bank,
			       piece->first_sector == piece->last_sector ? "" : "s",
			       piece->first_sector);
			if (piece->last_sector != piece->first_sector)
				append(buf, len, "-%u", piece->last_sector);
		} else {
			append_region_words(buf, len, part, piece->region);
		}
	}
}

static bool is_code(const ft_plan_segment *ps)
{
	const ft_segment *seg = ps->segment;
	return (seg->elf_flags & 1u) /* PF_X */ ||
	       (ps->region && ps->region->kind == FT_REGION_ITCM);
}

static bool all_zero(const ft_segment *seg)
{
	for (uint32_t i = 0; i < seg->size; i++)
		if (seg->data[i])
			return false;
	return true;
}

static bool is_lwip_section(const char *name)
{
	/* STM32CubeMX LwIP Ethernet DMA descriptors and buffers (ethernetif.c section attributes).
	 */
	return strcmp(name, ".RxDecripSection") == 0 || strcmp(name, ".TxDecripSection") == 0 ||
	       strcmp(name, ".RxArraySection") == 0;
}

/* The output-section name an example fix uses for the segment's PROGBITS sections. */
static void example_section_name(const ft_plan *plan, const ft_plan_segment *ps, char *buf,
                                 size_t len)
{
	const ft_segment *seg = ps->segment;
	size_t progbits = 0;
	const char *only = NULL;
	bool lwip = false;
	for (size_t i = 0; i < seg->section_count; i++) {
		if (seg->sections[i].nobits)
			continue;
		progbits++;
		only = seg->sections[i].name;
		lwip |= is_lwip_section(only);
	}
	if (lwip) {
		snprintf(buf, len, ".lwip_sec");
	} else if (progbits == 1) {
		snprintf(buf, len, "%s", only);
	} else {
		char memory[48];
		linker_memory_name(plan->part, ps->region, memory, sizeof(memory));
		snprintf(buf, len, ".%s_noload", memory);
		for (char *c = buf + 1; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
}

static size_t progbits_count(const ft_segment *seg)
{
	size_t n = 0;
	for (size_t i = 0; i < seg->section_count; i++)
		n += !seg->sections[i].nobits;
	return n;
}

/* N6 FSBL load region in AXISRAM2: the boot ROM copies the signed FSBL to 0x34180000 and the
 * template links code at 0x34180400, RAM up to 0x341FFFFF (STM32CubeN6
 * STM32N657X0HXQ_AXISRAM2_fsbl.ld; devices.md §6.1). */
#define N6_FSBL_START 0x34180000u
#define N6_FSBL_SIZE  0x80000u

static bool in_n6_fsbl_region(const ft_part *part, uint32_t start, uint32_t size)
{
	return part->family == FT_FAMILY_N6 &&
	       ranges_overlap(start, size ? size : 1, N6_FSBL_START, N6_FSBL_SIZE);
}

/* How to keep a RAM segment out of the image, in linker-script terms when sections are known. */
static void volatile_fix(const ft_plan *plan, ft_plan_segment *ps)
{
	char *fix = ps->fix;
	size_t len = sizeof(ps->fix);
	const ft_segment *seg = ps->segment;
	char memory[48];
	linker_memory_name(plan->part, ps->region, memory, sizeof(memory));
	/* where code or data loaded elsewhere runs: the startup copy's destination */
	const ft_region *run_region = region_containing(plan->part, seg->run_addr);
	char run_memory[48];
	if (run_region && seg->run_addr != seg->addr)
		linker_memory_name(plan->part, run_region, run_memory, sizeof(run_memory));
	else
		snprintf(run_memory, sizeof(run_memory), "%s", memory);
	bool flash = first_flash(plan->part) != NULL;
	/* where initial values live: internal flash, or external flash on parts without it */
	const char *store = flash ? "AT> FLASH" : "AT> the external-flash region";
	if (in_n6_fsbl_region(plan->part, seg->addr, seg->size) &&
	    (is_code(ps) || seg->run_addr != seg->addr)) {
		/* FSBL code and the .data image are what the boot ROM loads (devices.md §6.1):
		 * (NOLOAD) or another AT> would break the FSBL. Plain RAM contents there (VMA =
		 * LMA, I24 .noncacheable) take the (NOLOAD) fix below. */
		append(
		    fix, len,
		    "sign the FSBL (STM32_SigningTool_CLI -bin FILE.bin -nk -of 0x80000000 -t fsbl "
		    "-hv 2.3 --align) and program the signed .bin at 0x70000000, where the boot "
		    "ROM loads it from, through the external loader; or re-run with "
		    "--skip-volatile");
		return;
	}
	if (is_code(ps) && flash) {
		append(
		    fix, len,
		    "add AT> FLASH to the output section so the code is stored in flash, and copy "
		    "it to %s in the startup code (as for .data), or re-run with --skip-volatile",
		    run_memory);
		return;
	}
	if (is_code(ps)) {
		append(fix, len,
		       "store the code in external flash (%s, copied to %s in the startup code) or "
		       "ship it inside a signed FSBL image, or re-run with --skip-volatile",
		       store, run_memory);
		return;
	}
	if (seg->format == FT_IMAGE_ELF && seg->run_addr != seg->addr) {
		/* the load image of initialised data (.data AT> a RAM): (NOLOAD) would drop the
		 * initial values the startup code copies to run_addr */
		append(fix, len,
		       "these are the initial values of data that runs at 0x%08X, loaded into %s: "
		       "keep the startup copy but store them persistently (%s instead of AT> %s), "
		       "or re-run with --skip-volatile",
		       seg->run_addr, ram_words(ps->region->kind), store, memory);
		return;
	}
	if (seg->format == FT_IMAGE_ELF && progbits_count(seg) == 0) {
		append(fix, len,
		       "declare the output sections placed at 0x%08X (NOLOAD) in the linker script "
		       "(or %s with a startup copy if they need initial values), or re-run "
		       "with --skip-volatile",
		       seg->addr, store);
		return;
	}
	if (seg->format != FT_IMAGE_ELF) {
		append(fix, len,
		       "remove the RAM records: rebuild the file from an ELF whose RAM output "
		       "sections are (NOLOAD), or re-run with --skip-volatile");
		return;
	}
	char name[64];
	example_section_name(plan, ps, name, sizeof(name));
	append(fix, len,
	       "declare the output section (NOLOAD) in the linker script, e.g. %s (NOLOAD) : {",
	       name);
	for (size_t i = 0; i < seg->section_count; i++)
		if (!seg->sections[i].nobits)
			append(fix, len, " *(%s)", seg->sections[i].name);
	append(fix, len, " } >%s", memory);
	if (!all_zero(seg))
		append(fix, len, " (or %s with a startup copy if it needs its initial values)",
		       store);
	append(fix, len, ", or re-run with --skip-volatile");
}

static void volatile_reason(const ft_plan *plan, ft_plan_segment *ps, const ft_plan_piece *piece)
{
	char *reason = ps->reason;
	size_t len = sizeof(ps->reason);
	bool code = is_code(ps);
	if (ps->rule == FT_RULE_VOLATILE_SKIPPED) {
		append(reason, len, "%s is volatile: skipped as asked (--skip-volatile)",
		       ram_words(piece->region->kind));
	} else if (ps->rule == FT_RULE_VOLATILE) {
		if (code)
			append(
			    reason, len,
			    "code copied to %s by the debugger only: RAM is volatile, the code is "
			    "gone after reset; not verified",
			    ram_words(piece->region->kind));
		else
			append(reason, len,
			       "%s is volatile: written over SWD for this session only, lost at "
			       "reset; "
			       "not verified",
			       ram_words(piece->region->kind));
	} else if (ps->rule == FT_RULE_DFU_WORK_AREA) {
		const ft_range *work = dfu_reserved_overlap(plan->part, piece->start, piece->size);
		append(reason, len, "overlaps system-bootloader work area ");
		if (work)
			append_range(reason, len, work->start, work->size);
		append(reason, len, " (%s): the bootloader refuses it or corrupts its own RAM; ",
		       ram_words(piece->region->kind));
		append_dfu_accepts(reason, len, plan->part, false);
	} else if (dfu_writable(plan->part, piece->start, piece->size)) {
		append(reason, len,
		       "%s is volatile: the system bootloader would write it, but RAM is lost at "
		       "reset, so nothing persistent is programmed",
		       ram_words(piece->region->kind));
	} else {
		append_dfu_accepts(reason, len, plan->part, true);
		append(reason, len, "; %s is volatile, its contents are lost at reset anyway",
		       ram_words(piece->region->kind));
	}
	if (in_n6_fsbl_region(plan->part, piece->start, piece->size))
		append(
		    reason, len,
		    "; it lies in the FSBL load region 0x34180000-0x341FFFFF, which the boot ROM "
		    "fills from a signed FSBL image: produce the FSBL as a signed .bin");
	if (ps->rule != FT_RULE_VOLATILE_SKIPPED)
		volatile_fix(plan, ps);
}

/* A likely typo: an address one hex digit away from flash or an external window (a digit
 * dropped, added or mistyped), e.g. 0x09000000 for QUADSPI's 0x90000000. */
typedef struct suggestion {
	uint32_t addr;
	const ft_region *region;
	int score;    /* lower is better */
	bool shifted; /* a digit dropped or added, rather than one mistyped */
} suggestion;

#define SUGGEST_MAX_OFFSET H7_FLASH_SPAN

static void consider(const ft_part *part, uint32_t addr, uint32_t size, uint32_t candidate,
                     int category, suggestion *best)
{
	if (candidate == addr)
		return;
	const ft_region *region = region_containing(part, candidate);
	/* only memory an image is programmed into: a RAM "correction" would be refused anyway */
	if (!region || !(is_flash(region) || region->kind == FT_REGION_EXT_WINDOW))
		return;
	/* A mistyped linker ORIGIN puts an image near a region's start; an address deep inside a
	 * 256 MiB window that differs in one digit is a coincidence, not a suggestion. */
	if (candidate - region->start >= SUGGEST_MAX_OFFSET)
		return;
	int score = category * 8;
	if (!range_inside(candidate, size ? size : 1, region->start, region->size))
		score += 4;
	if (candidate != region->start)
		score += 1;
	if (!best->region || score < best->score ||
	    (score == best->score &&
	     (candidate > addr ? candidate - addr : addr - candidate) <
	         (best->addr > addr ? best->addr - addr : addr - best->addr))) {
		best->addr = candidate;
		best->region = region;
		best->score = score;
		best->shifted = category == 0;
	}
}

static bool suggest_address(const ft_part *part, uint32_t addr, uint32_t size, suggestion *best)
{
	char hex[9];
	snprintf(hex, sizeof(hex), "%08X", addr);
	memset(best, 0, sizeof(*best));
	for (int i = 0; i <= 8; i++) {
		/* a '0' dropped at position i: insert it and drop the (zero) leading digit */
		char longer[24];
		snprintf(longer, sizeof(longer), "%.*s0%s", i, hex, hex + i);
		if (longer[0] == '0')
			consider(part, addr, size, (uint32_t)strtoul(longer + 1, NULL, 16), 0,
			         best);
		/* a digit added at position i: remove it */
		if (i < 8) {
			char shorter[24];
			snprintf(shorter, sizeof(shorter), "0%.*s%s", i, hex, hex + i + 1);
			consider(part, addr, size, (uint32_t)strtoul(shorter, NULL, 16), 0, best);
		}
	}
	for (int i = 0; i < 8; i++) {
		int shift = 4 * (7 - i);
		for (uint32_t digit = 0; digit < 16; digit++) {
			uint32_t candidate = (addr & ~(0xFu << shift)) | (digit << shift);
			consider(part, addr, size, candidate, 1, best);
		}
	}
	return best->region != NULL;
}

static void append_region_name_for_suggestion(char *buf, size_t len, const ft_region *region)
{
	if (is_flash(region))
		append(buf, len, "flash bank %u", region->bank);
	else if (region->kind == FT_REGION_EXT_WINDOW)
		append(buf, len, "%s window", region->name);
	else
		append(buf, len, "%s", region->name);
}

static void unmapped_texts(const ft_plan *plan, ft_plan_segment *ps, const ft_plan_piece *piece)
{
	const ft_part *part = plan->part;
	append(ps->reason, sizeof(ps->reason), "no memory of %s at ", part->name);
	append_range(ps->reason, sizeof(ps->reason), piece->start, piece->size);
	suggestion best;
	if (piece->start == ps->segment->addr &&
	    suggest_address(part, piece->start, ps->segment->size, &best)) {
		append(ps->reason, sizeof(ps->reason), "; did you mean 0x%08X (", best.addr);
		append_region_name_for_suggestion(ps->reason, sizeof(ps->reason), best.region);
		append(ps->reason, sizeof(ps->reason), ")? %s",
		       best.shifted ? "a hex digit dropped or added" : "one hex digit differs");
		append(
		    ps->fix, sizeof(ps->fix),
		    "correct the load address (the linker script's MEMORY ORIGIN, or --address): "
		    "0x%08X is ",
		    best.addr);
		if (best.addr == best.region->start)
			append(ps->fix, sizeof(ps->fix), "the start of the ");
		else
			append(ps->fix, sizeof(ps->fix), "in the ");
		append_region_name_for_suggestion(ps->fix, sizeof(ps->fix), best.region);
	} else {
		append(ps->fix, sizeof(ps->fix),
		       "check the load address against the memory map (flashtwin parts %s)",
		       part->name);
	}
}

static void exceeds_flash_texts(const ft_plan *plan, ft_plan_segment *ps)
{
	const ft_part *part = plan->part;
	uint64_t end = flash_end(part);
	uint64_t seg_end = end_of(ps->segment->addr, ps->segment->size);
	char *reason = ps->reason;
	size_t len = sizeof(ps->reason);
	append(reason, len, "exceeds flash (");
	append_size(reason, len, flash_bytes(part));
	append(reason, len, ", FLASH_SIZE=0x%X): ", part->flash_size_kb);
	if (ps->segment->addr < end) {
		append(reason, len, "0x%08X..0x%08X ends ", ps->segment->addr,
		       (uint32_t)(seg_end - 1));
		append_size(reason, len, seg_end - end);
		append(reason, len, " past the last flash byte 0x%08X", (uint32_t)(end - 1));
	} else if (ps->segment->addr == end) {
		append(reason, len, "0x%08X starts right after the last flash byte 0x%08X",
		       ps->segment->addr, (uint32_t)(end - 1));
	} else {
		append(reason, len, "0x%08X is ", ps->segment->addr);
		append_size(reason, len, ps->segment->addr - end);
		append(reason, len, " beyond the end of flash (last byte 0x%08X)",
		       (uint32_t)(end - 1));
	}
	append(ps->fix, sizeof(ps->fix), "%s has ", part->name);
	append_size(ps->fix, sizeof(ps->fix), flash_bytes(part));
	append(ps->fix, sizeof(ps->fix),
	       ": make the image fit (check the FLASH LENGTH in the linker script), or select the "
	       "part you have (--part)");
}

static void hole_texts(const ft_plan *plan, ft_plan_segment *ps, const ft_plan_piece *piece)
{
	const ft_part *part = plan->part;
	const ft_flash_geometry *geo = &part->flash;
	append(ps->reason, sizeof(ps->reason), "no flash at ");
	append_range(ps->reason, sizeof(ps->reason), piece->start, piece->size);
	append(ps->reason, sizeof(ps->reason), " on %s: each bank has ", part->name);
	append_size(ps->reason, sizeof(ps->reason), geo->bank_size);
	if (geo->banks > 1)
		append(ps->reason, sizeof(ps->reason), " and bank 2 starts at 0x%08X",
		       geo->bank_base[1]);
	append(ps->fix, sizeof(ps->fix), "link what follows bank 1 ");
	if (geo->banks > 1)
		append(ps->fix, sizeof(ps->fix),
		       "at 0x%08X (a second FLASH region in the linker "
		       "script) ",
		       geo->bank_base[1]);
	append(ps->fix, sizeof(ps->fix), "or select the part you have (--part)");
}

static void bin_in_ram_texts(const ft_plan *plan, ft_plan_segment *ps, const ft_plan_piece *piece)
{
	const ft_part *part = plan->part;
	const ft_region *flash = first_flash(part);
	append(ps->reason, sizeof(ps->reason), "%s on %s, not flash; ",
	       ram_words(piece->region->kind), family_text(part));
	if (flash) {
		append(ps->reason, sizeof(ps->reason), "did you mean 0x%08X?", flash->start);
		append(ps->fix, sizeof(ps->fix),
		       "pass --address 0x%08X (start of flash bank %u), or name the file "
		       "FILE.bin@0x%08X",
		       flash->start, flash->bank, flash->start);
		return;
	}
	append(ps->reason, sizeof(ps->reason),
	       "%s has no internal flash; did you mean an external-memory window (", part->name);
	bool first = true;
	for (size_t i = 0; i < part->region_count; i++) {
		if (part->regions[i].kind != FT_REGION_EXT_WINDOW)
			continue;
		append(ps->reason, sizeof(ps->reason), "%s%s 0x%08X", first ? "" : ", ",
		       part->regions[i].name, part->regions[i].start);
		first = false;
	}
	append(ps->reason, sizeof(ps->reason), ")?");
	append(ps->fix, sizeof(ps->fix),
	       "pass --address with the external-flash address the image is linked for, and an "
	       "external loader");
}

/* Reason and fix for the rule of the piece that decided the segment's verdict. */
static void ext_needs_loader_texts(const ft_plan *plan, ft_plan_segment *ps,
                                   const ft_plan_piece *piece)
{
	const ft_plan_external *ext = plan->options.external;
	const char *name = piece->region ? piece->region->name : "unmapped";
	if (!ext) {
		append(ps->reason, sizeof(ps->reason),
		       "segment in the %s window (external memory) requires an external loader; "
		       "none was given",
		       name);
		append(ps->fix, sizeof(ps->fix),
		       "pass an external loader (--loader FILE.stldr), or name one in the board "
		       "file (loader = NAME)");
		return;
	}
	append(ps->reason, sizeof(ps->reason), "segment at ");
	append_range(ps->reason, sizeof(ps->reason), piece->start, piece->size);
	append(ps->reason, sizeof(ps->reason), " (%s) is not inside the device of loader %s (",
	       name, ext->name);
	append_range(ps->reason, sizeof(ps->reason), ext->start, ext->size);
	append(ps->reason, sizeof(ps->reason), ", StorageInfo)");
	append(ps->fix, sizeof(ps->fix),
	       "use the loader of the memory at this address, or check the linker script");
}

static void rule_texts(const ft_plan *plan, ft_plan_segment *ps, const ft_plan_piece *piece)
{
	const ft_part *part = plan->part;
	char *reason = ps->reason, *fix = ps->fix;
	size_t rlen = sizeof(ps->reason), flen = sizeof(ps->fix);
	const char *name = piece->region ? piece->region->name : "";
	switch (ps->rule) {
	case FT_RULE_NONE:
	case FT_RULE_EMPTY:
	case FT_RULE_ELF_HEADERS:
	case FT_RULE_OVERLAP:
	case FT_RULE_CROSSES_REGIONS: return;
	case FT_RULE_VOLATILE:
	case FT_RULE_VOLATILE_SKIPPED:
	case FT_RULE_DFU_VOLATILE:
	case FT_RULE_DFU_WORK_AREA: volatile_reason(plan, ps, piece); return;
	case FT_RULE_DFU_NOT_WRITABLE:
		append(reason, rlen, "the system bootloader does not accept writes at ");
		append_range(reason, rlen, piece->start, piece->size);
		append(reason, rlen, "; ");
		append_dfu_accepts(reason, rlen, part, true);
		append(fix, flen, "program it over the debug port (--transport swd)");
		return;
	case FT_RULE_DFU_UNAVAILABLE:
		append(reason, rlen,
		       "%s has no system-bootloader USB DFU that writes memory (id 0x%03X)",
		       part->name, part->dev_id);
		append(fix, flen, "program it over the debug port (--transport swd)");
		return;
	case FT_RULE_BIN_IN_RAM: bin_in_ram_texts(plan, ps, piece); return;
	case FT_RULE_EXCEEDS_FLASH: exceeds_flash_texts(plan, ps); return;
	case FT_RULE_FLASH_HOLE: hole_texts(plan, ps, piece); return;
	case FT_RULE_EXT_NEEDS_LOADER: ext_needs_loader_texts(plan, ps, piece); return;
	case FT_RULE_EXT_LOADER: return;
	case FT_RULE_EXT_OVER_DFU:
		append(reason, rlen,
		       "the system bootloader cannot program external memory (%s window); only the "
		       "STM32H7R/S bootloader can",
		       name);
		append(fix, flen,
		       "program it over the debug port with an external loader (--transport swd "
		       "--loader FILE.stldr), or from the application");
		return;
	case FT_RULE_OTP:
		append(reason, rlen,
		       "%s is one-time programmable: flashtwin never programs OTP from an image",
		       name);
		append(fix, flen, "remove the OTP bytes from the image");
		return;
	case FT_RULE_SYSTEM_MEMORY:
		append(reason, rlen, "%s is system memory (boot ROM): read-only", name);
		append(fix, flen, "remove these bytes from the image; check the linker script");
		return;
	case FT_RULE_PERIPHERAL:
		append(reason, rlen, "%s is register space, not memory", name);
		if (part->bootloader && part->bootloader->option_bytes_addr &&
		    ranges_overlap(piece->start, piece->size, part->bootloader->option_bytes_addr,
		                   part->bootloader->option_bytes_size))
			append(reason, rlen, "; option bytes are never programmed from an image");
		append(fix, flen, "remove these bytes from the image");
		return;
	case FT_RULE_UNMAPPED: unmapped_texts(plan, ps, piece); return;
	}
}

/* ---- one segment --------------------------------------------------------------------------- */

static void note(ft_plan_segment *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(ft_plan_segment *ps, const char *fmt, ...)
{
	if (ps->note[0])
		append(ps->note, sizeof(ps->note), "; ");
	size_t used = strlen(ps->note);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->note + used, sizeof(ps->note) - used, fmt, ap);
	va_end(ap);
}

static void classify(const ft_plan *plan, ft_plan_segment *ps)
{
	const ft_segment *seg = ps->segment;
	const ft_part *part = plan->part;
	ps->region = region_containing(part, seg->addr);
	if (seg->format == FT_IMAGE_ELF && seg->run_addr != seg->addr)
		note(ps, "runs at 0x%08X", seg->run_addr);
	if (seg->size == 0 || seg->headers_only) {
		ps->verdict = FT_VERDICT_SKIP;
		ps->rule = seg->size ? FT_RULE_ELF_HEADERS : FT_RULE_EMPTY;
		ps->piece_count = 1;
		ps->pieces[0] = (ft_plan_piece){.start = seg->addr, .region = ps->region};
		if (ps->region)
			append_region_words(ps->region_text, sizeof(ps->region_text), part,
			                    ps->region);
		else
			append(ps->region_text, sizeof(ps->region_text), "unmapped");
		if (seg->size)
			note(ps,
			     "its 0x%X file bytes are only the ELF header and program headers, "
			     "which "
			     "the linker mapped into this PT_LOAD: not program data, nothing "
			     "erased or "
			     "written",
			     seg->size);
		else
			note(ps,
			     "no file bytes (filesz 0, memsz 0x%X): ignored, nothing erased or "
			     "written",
			     seg->mem_size);
		return;
	}
	if (end_of(seg->addr, seg->size) > (1ull << 32)) {
		ps->verdict = FT_VERDICT_REFUSE;
		ps->rule = FT_RULE_UNMAPPED;
		ps->piece_count = 0;
		append(ps->region_text, sizeof(ps->region_text), "unmapped");
		append(ps->reason, sizeof(ps->reason),
		       "0x%08X + 0x%X runs past the end of the 32-bit address space", seg->addr,
		       seg->size);
		append(ps->fix, sizeof(ps->fix), "check the load address and size");
		return;
	}
	if (!split_pieces(part, ps)) {
		ps->verdict = FT_VERDICT_REFUSE;
		ps->rule = FT_RULE_CROSSES_REGIONS;
		describe_region(part, ps);
		append(ps->reason, sizeof(ps->reason), "spans more than %d memory regions",
		       FT_PLAN_MAX_PIECES);
		append(ps->fix, sizeof(ps->fix),
		       "split the output section so each part lies in one memory region");
		return;
	}
	describe_region(part, ps);
	piece_rule rules[FT_PLAN_MAX_PIECES] = {{0}};
	size_t decisive = 0;
	bool uniform = true;
	for (size_t i = 0; i < ps->piece_count; i++) {
		rules[i] = rule_of_piece(part, seg, &ps->pieces[i], &plan->options);
		if (rules[i].verdict != rules[0].verdict || rules[i].rule != rules[0].rule)
			uniform = false;
		if (rules[i].verdict == FT_VERDICT_REFUSE &&
		    rules[decisive].verdict != FT_VERDICT_REFUSE)
			decisive = i;
	}
	if (uniform) {
		ps->verdict = rules[0].verdict;
		ps->rule = rules[0].rule;
		if (ps->piece_count > 1 && ps->verdict != FT_VERDICT_REFUSE)
			note(ps, "split at 0x%08X: spans %zu regions", ps->pieces[1].start,
			     ps->piece_count);
		if (ps->rule == FT_RULE_EXT_LOADER)
			note(ps, "through external loader %s", plan->options.external->name);
		rule_texts(plan, ps, &ps->pieces[0]);
		return;
	}
	const ft_plan_piece *piece = &ps->pieces[decisive];
	ps->verdict = FT_VERDICT_REFUSE;
	if (rules[decisive].verdict != FT_VERDICT_REFUSE) {
		ps->rule = FT_RULE_CROSSES_REGIONS;
		append(ps->reason, sizeof(ps->reason),
		       "crosses from one kind of memory into another at 0x%08X (%s); a segment is "
		       "programmed whole or not at all",
		       ps->pieces[1].start, ps->region_text);
		append(ps->fix, sizeof(ps->fix),
		       "split the output section so each part lies in one memory region");
		return;
	}
	ps->rule = rules[decisive].rule;
	if (decisive == 0)
		note(ps, "spans %zu regions", ps->piece_count);
	else if (ps->rule != FT_RULE_EXCEEDS_FLASH) {
		append(ps->reason, sizeof(ps->reason), "crosses into ");
		if (piece->region)
			append_region_words(ps->reason, sizeof(ps->reason), part, piece->region);
		else
			append(ps->reason, sizeof(ps->reason), "unmapped space");
		append(ps->reason, sizeof(ps->reason),
		       " at 0x%08X, so the whole segment is refused: ", piece->start);
	}
	rule_texts(plan, ps, piece);
}

/* Two writable segments claiming the same bytes: identical bytes are fine, different bytes refuse
 * both (the image readers already check this across files; the planner does not rely on it). */
static void check_overlaps(ft_plan *plan)
{
	for (size_t i = 0; i < plan->segment_count; i++) {
		ft_plan_segment *a = &plan->segments[i];
		if (a->verdict != FT_VERDICT_PROGRAM && a->verdict != FT_VERDICT_VOLATILE)
			continue;
		for (size_t j = i + 1; j < plan->segment_count; j++) {
			ft_plan_segment *b = &plan->segments[j];
			if (b->verdict != FT_VERDICT_PROGRAM && b->verdict != FT_VERDICT_VOLATILE)
				continue;
			const ft_segment *sa = a->segment, *sb = b->segment;
			if (!ranges_overlap(sa->addr, sa->size, sb->addr, sb->size))
				continue;
			uint32_t start = sa->addr > sb->addr ? sa->addr : sb->addr;
			uint64_t end = end_of(sa->addr, sa->size) < end_of(sb->addr, sb->size)
			                   ? end_of(sa->addr, sa->size)
			                   : end_of(sb->addr, sb->size);
			if (memcmp(sa->data + (start - sa->addr), sb->data + (start - sb->addr),
			           (size_t)(end - start)) == 0) {
				note(b, "same bytes as segment %zu at 0x%08X-0x%08X: written once",
				     i, start, (uint32_t)(end - 1));
				continue;
			}
			ft_plan_segment *pair[2] = {a, b};
			for (int k = 0; k < 2; k++) {
				ft_plan_segment *ps = pair[k];
				ps->verdict = FT_VERDICT_REFUSE;
				ps->rule = FT_RULE_OVERLAP;
				ps->reason[0] = ps->fix[0] = '\0';
				append(ps->reason, sizeof(ps->reason),
				       "segments %zu and %zu overlap at ", i, j);
				append_range(ps->reason, sizeof(ps->reason), start, end - start);
				append(ps->reason, sizeof(ps->reason), " with different content");
				append(ps->fix, sizeof(ps->fix),
				       "remove one of them: two builds or files for the same "
				       "addresses?");
			}
		}
	}
}

/* ---- erase, write, verify ------------------------------------------------------------------ */

typedef struct span {
	uint32_t start, size; /* the piece */
	uint32_t pad_start;   /* padded to flash words in flash */
	uint64_t pad_end;
	size_t segment;
	const ft_plan_piece *piece;
	bool external; /* through the loader */
} span;

static int compare_spans(const void *pa, const void *pb)
{
	const span *a = pa, *b = pb;
	if (a->pad_start != b->pad_start)
		return a->pad_start < b->pad_start ? -1 : 1;
	return a->segment < b->segment ? -1 : a->segment > b->segment;
}

static int compare_writes(const void *pa, const void *pb)
{
	const ft_plan_write *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int compare_erases(const void *pa, const void *pb)
{
	const ft_plan_erase *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

static size_t collect_spans(const ft_plan *plan, span *spans)
{
	uint32_t word = plan->part->flash.word_size;
	size_t n = 0;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_plan_segment *ps = &plan->segments[i];
		if (ps->verdict != FT_VERDICT_PROGRAM && ps->verdict != FT_VERDICT_VOLATILE)
			continue;
		for (size_t k = 0; k < ps->piece_count; k++) {
			const ft_plan_piece *piece = &ps->pieces[k];
			span *s = &spans[n++];
			s->start = piece->start;
			s->size = piece->size;
			s->segment = i;
			s->piece = piece;
			s->pad_start = piece->start;
			s->pad_end = end_of(piece->start, piece->size);
			s->external = ps->rule == FT_RULE_EXT_LOADER;
			if (is_flash(piece->region)) {
				assert(word);
				s->pad_start -= piece->start % word;
				s->pad_end = (s->pad_end + word - 1) / word * word;
			}
		}
	}
	qsort(spans, n, sizeof(*spans), compare_spans);
	return n;
}

/* Fills one write from spans[first..last]: 0xFF, then each piece's bytes. */
static ft_error fill_write(ft_plan *plan, const span *spans, size_t first, size_t last,
                           uint64_t end)
{
	ft_plan_write *w = &plan->writes[plan->write_count];
	uint32_t start = spans[first].pad_start;
	uint32_t size = (uint32_t)(end - start);
	uint8_t *data = malloc(size ? size : 1);
	uint8_t *covered = calloc(size ? size : 1, 1);
	if (!data || !covered) {
		free(data);
		free(covered);
		return FT_ERR_NO_MEM;
	}
	memset(data, 0xFF, size);
	for (size_t i = first; i <= last; i++) {
		const ft_segment *seg = plan->segments[spans[i].segment].segment;
		memcpy(data + (spans[i].start - start), seg->data + (spans[i].start - seg->addr),
		       spans[i].size);
		memset(covered + (spans[i].start - start), 1, spans[i].size);
	}
	uint32_t padding = 0;
	for (uint32_t i = 0; i < size; i++)
		padding += !covered[i];
	free(covered);
	const ft_region *region = spans[first].piece->region;
	bool external = spans[first].external;
	*w = (ft_plan_write){.start = start,
	                     .size = size,
	                     .data = data,
	                     .region = region,
	                     .bank = is_flash(region) && !external ? region->bank : 0,
	                     .persistent = is_flash(region) || external,
	                     .external = external,
	                     .padding = padding};
	plan->write_count++;
	return FT_OK;
}

static void note_shared_word(ft_plan *plan, const span *a, const span *b, uint32_t word)
{
	if (a->segment == b->segment)
		return;
	uint32_t shared = b->pad_start > a->pad_start ? b->pad_start : a->pad_start;
	shared -= shared % word;
	note(&plan->segments[a->segment],
	     "shares the flash word at 0x%08X with segment %zu: merged into one flash-word write",
	     shared, b->segment);
	note(&plan->segments[b->segment],
	     "shares the flash word at 0x%08X with segment %zu: merged into one flash-word write",
	     shared, a->segment);
}

/* Groups spans whose padded ranges overlap or touch within one region into one write. */
static ft_error build_writes(ft_plan *plan)
{
	size_t pieces = 0;
	for (size_t i = 0; i < plan->segment_count; i++)
		pieces += plan->segments[i].piece_count;
	span *spans = calloc(pieces ? pieces : 1, sizeof(*spans));
	plan->writes = calloc(pieces ? pieces : 1, sizeof(*plan->writes));
	if (!spans || !plan->writes) {
		free(spans);
		return FT_ERR_NO_MEM;
	}
	size_t n = collect_spans(plan, spans);
	uint32_t word = plan->part->flash.word_size;
	ft_error err = FT_OK;
	for (size_t first = 0; first < n && err == FT_OK;) {
		size_t last = first;
		uint64_t end = spans[first].pad_end;
		while (last + 1 < n &&
		       spans[last + 1].piece->region == spans[first].piece->region &&
		       spans[last + 1].external == spans[first].external &&
		       spans[last + 1].pad_start <= end) {
			if (spans[last + 1].pad_start < end && is_flash(spans[first].piece->region))
				note_shared_word(plan, &spans[last], &spans[last + 1], word);
			last++;
			if (spans[last].pad_end > end)
				end = spans[last].pad_end;
		}
		err = fill_write(plan, spans, first, last, end);
		first = last + 1;
	}
	free(spans);
	qsort(plan->writes, plan->write_count, sizeof(*plan->writes), compare_writes);
	return err;
}

/* The sector of the external device holding addr (inside the device): index, start, size.
 * false when the sector groups end before it. */
static bool ext_sector(const ft_plan_external *ext, uint32_t addr, uint32_t *index, uint32_t *start,
                       uint32_t *size)
{
	uint64_t at = ext->start;
	uint32_t n = 0;
	for (size_t g = 0; g < ext->group_count; g++) {
		uint64_t group_bytes = (uint64_t)ext->groups[g].count * ext->groups[g].size;
		if (ext->groups[g].size && addr < at + group_bytes) {
			uint32_t k = (uint32_t)((addr - at) / ext->groups[g].size);
			*index = n + k;
			*start = (uint32_t)(at + (uint64_t)k * ext->groups[g].size);
			*size = ext->groups[g].size;
			return true;
		}
		at += group_bytes;
		n += ext->groups[g].count;
	}
	return false;
}

static void add_erase(ft_plan *plan, ft_plan_erase e)
{
	for (size_t i = 0; i < plan->erase_count; i++)
		if (plan->erases[i].start == e.start)
			return;
	plan->erases[plan->erase_count++] = e;
}

/* The external sectors a piece touches; counts them when plan->erases is NULL. */
static size_t ext_erases(ft_plan *plan, const ft_plan_piece *piece)
{
	const ft_plan_external *ext = plan->options.external;
	size_t n = 0;
	uint64_t end = end_of(piece->start, piece->size);
	for (uint64_t a = piece->start; a < end; n++) {
		uint32_t index, start, size;
		if (!ext_sector(ext, (uint32_t)a, &index, &start, &size)) {
			/* past the sector table: one erase unit for the rest (the loader's check
			 * FT_STLDR_CHECK_SECTORS already warned) */
			start = (uint32_t)a;
			size = (uint32_t)(end - a);
			index = UINT16_MAX;
		}
		if (plan->erases)
			add_erase(plan,
			          (ft_plan_erase){
			              .bank = 0,
			              .sector = (uint16_t)(index > UINT16_MAX ? UINT16_MAX : index),
			              .start = start,
			              .size = size});
		a = (uint64_t)start + size;
	}
	return n;
}

static ft_error build_erases(ft_plan *plan)
{
	const ft_flash_geometry *geo = &plan->part->flash;
	size_t cap = 0;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_plan_segment *ps = &plan->segments[i];
		for (size_t k = 0; ps->verdict == FT_VERDICT_PROGRAM && k < ps->piece_count; k++)
			cap +=
			    ps->rule == FT_RULE_EXT_LOADER
			        ? ext_erases(plan, &ps->pieces[k])
			        : (size_t)(ps->pieces[k].last_sector - ps->pieces[k].first_sector) +
			              1;
	}
	plan->erases = calloc(cap ? cap : 1, sizeof(*plan->erases));
	if (!plan->erases)
		return FT_ERR_NO_MEM;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_plan_segment *ps = &plan->segments[i];
		for (size_t k = 0; ps->verdict == FT_VERDICT_PROGRAM && k < ps->piece_count; k++) {
			const ft_plan_piece *piece = &ps->pieces[k];
			if (ps->rule == FT_RULE_EXT_LOADER) {
				ext_erases(plan, piece);
				continue;
			}
			uint8_t bank = piece->region->bank;
			for (uint32_t s = piece->first_sector; s <= piece->last_sector; s++)
				add_erase(plan, (ft_plan_erase){
				                    .bank = bank,
				                    .sector = (uint16_t)s,
				                    .start = geo->bank_base[bank - 1] +
				                             s * geo->sector_size,
				                    .size = geo->sector_size,
				                });
		}
	}
	qsort(plan->erases, plan->erase_count, sizeof(*plan->erases), compare_erases);
	return FT_OK;
}

static ft_error build_verifies(ft_plan *plan)
{
	plan->verifies = calloc(plan->write_count ? plan->write_count : 1, sizeof(*plan->verifies));
	if (!plan->verifies)
		return FT_ERR_NO_MEM;
	for (size_t i = 0; i < plan->write_count; i++)
		if (plan->writes[i].persistent)
			plan->verifies[plan->verify_count++] =
			    (ft_range){plan->writes[i].start, plan->writes[i].size};
	return FT_OK;
}

static void drop_work(ft_plan *plan)
{
	for (size_t i = 0; i < plan->write_count; i++)
		free((void *)plan->writes[i].data);
	plan->write_count = plan->erase_count = plan->verify_count = 0;
}

/* ---- the plan as a whole ------------------------------------------------------------------- */

static void add_advice(ft_plan *plan, const char *text)
{
	if (plan->advice_count < MAX_ADVICE)
		snprintf(plan->advice[plan->advice_count++], sizeof(plan->advice[0]), "%s", text);
}

static void tally(ft_plan *plan)
{
	ft_plan_totals *t = &plan->totals;
	t->segments = plan->segment_count;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_plan_segment *ps = &plan->segments[i];
		switch (ps->verdict) {
		case FT_VERDICT_PROGRAM: t->program++; break;
		case FT_VERDICT_VOLATILE: t->ram++; break;
		case FT_VERDICT_SKIP: t->skip++; break;
		case FT_VERDICT_REFUSE: t->refuse++; break;
		}
		if (ps->verdict == FT_VERDICT_PROGRAM || ps->verdict == FT_VERDICT_VOLATILE)
			t->image_bytes += ps->segment->size;
	}
	for (size_t i = 0; i < plan->write_count; i++) {
		t->write_bytes += plan->writes[i].size;
		t->padding_bytes += plan->writes[i].padding;
	}
	for (size_t i = 0; i < plan->erase_count; i++)
		t->erase_bytes += plan->erases[i].size;
	t->sectors = plan->erase_count;
}

static const char *transport_words(ft_route transport)
{
	return transport == FT_ROUTE_DFU ? "USB DFU" : "SWD";
}

/* The file the segments came from, when they all came from one; else NULL. */
static const char *single_file(const ft_plan *plan)
{
	const char *file = NULL;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const char *f = plan->segments[i].segment->file;
		if (!f || (file && strcmp(file, f) != 0))
			return NULL;
		file = f;
	}
	return file;
}

static void conclude(ft_plan *plan)
{
	const ft_plan_totals *t = &plan->totals;
	const ft_part *part = plan->part;
	char *c = plan->conclusion;
	size_t len = sizeof(plan->conclusion);
	const char *via = transport_words(plan->options.transport);
	if (plan->status == FT_PLAN_REFUSED && t->program == 0 && !first_flash(part)) {
		const char *file = single_file(plan);
		append(
		    c, len,
		    "refused: %s contains no segment in programmable memory of %s (id 0x%03X: no "
		    "internal flash); nothing will be erased",
		    file ? file : "the image", part->name, part->dev_id);
	} else if (plan->status == FT_PLAN_REFUSED) {
		append(c, len,
		       "refused: %zu of %zu segment%s cannot be programmed over %s on %s; nothing "
		       "will be erased",
		       t->refuse, t->segments, t->segments == 1 ? "" : "s", via, part->name);
	} else if (plan->status == FT_PLAN_EMPTY) {
		if (t->segments == 0)
			append(c, len, "nothing to program: the image has no segments");
		else
			append(c, len,
			       "nothing to program: %zu segment%s skipped (no file bytes or "
			       "volatile); nothing will be erased",
			       t->skip, t->skip == 1 ? "" : "s");
	} else {
		append(c, len, "programmable over %s: %zu segment%s (", via, t->program + t->ram,
		       t->program + t->ram == 1 ? "" : "s");
		append_size(c, len, t->image_bytes);
		append(c, len, "):");
		if (t->sectors) {
			append(c, len, " erase %zu sector%s (", t->sectors,
			       t->sectors == 1 ? "" : "s");
			append_size(c, len, t->erase_bytes);
			append(c, len, "),");
		}
		append(c, len, " write ");
		append_size(c, len, t->write_bytes);
		if (t->padding_bytes) {
			append(c, len, " (");
			append_size(c, len, t->padding_bytes);
			append(c, len, " of 0xFF padding)");
		}
		if (t->ram)
			append(c, len, "; %zu to RAM only, lost at reset", t->ram);
		if (t->skip)
			append(c, len, "; %zu skipped", t->skip);
	}
}

/* STM32N6 has no internal flash: programming means external NOR through a loader, from
 * development boot, with signed images (CATALOGUE field report D; devices.md §6.1). */
static void advise_no_flash(ft_plan *plan)
{
	const ft_part *part = plan->part;
	if (first_flash(part) || plan->status == FT_PLAN_OK)
		return;
	char text[320];
	snprintf(text, sizeof(text),
	         "%s has no internal flash: firmware lives in external NOR flash, which needs an "
	         "external loader; RAM and TCM contents are lost at reset",
	         part->name);
	add_advice(plan, text);
	if (part->family != FT_FAMILY_N6)
		return;
	add_advice(plan, "1) set BOOT1=1 (development boot) and power-cycle before programming");
	add_advice(plan,
	           "2) pass the external loader of the board's NOR flash (--loader "
	           "FILE.stldr, e.g. MX25UM51245G_STM32N6570-NUCLEO.stldr on NUCLEO-N657X0-Q)");
	/* only for images linked to load into RAM: a signed image at its XSPI address needs no
	 * advice to be one */
	bool loads_into_ram = false;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_plan_segment *ps = &plan->segments[i];
		loads_into_ram |=
		    ps->segment->size && !ps->segment->headers_only && is_ram(ps->region);
	}
	if (loads_into_ram)
		add_advice(
		    plan,
		    "3) program signed images rather than a load-and-run ELF: "
		    "FSBL-trusted.bin @0x70000000, Appli-trusted.bin @0x70100000, data such as "
		    "network weights at their XSPI address (sign with STM32_SigningTool_CLI "
		    "... -align)");
}

/* The STM32N6 boot ROM reads the FSBL's STM32 header v2.3 at offset 0 of the XSPI2 NOR (devices.md
 * §6.1, §6.2): bytes there without a valid header program fine and then do not boot (CATALOGUE
 * field report D, "programs OK, does not boot"). */
#define N6_BOOT_FLASH 0x70000000u

static void advise_n6_header(ft_plan *plan)
{
	if (plan->part->family != FT_FAMILY_N6)
		return;
	for (size_t i = 0; i < plan->segment_count; i++) {
		const ft_segment *seg = plan->segments[i].segment;
		if (!seg->size || seg->addr > N6_BOOT_FLASH ||
		    N6_BOOT_FLASH - seg->addr >= seg->size)
			continue;
		uint32_t at = N6_BOOT_FLASH - seg->addr;
		ft_stm32_header header;
		ft_diag why;
		ft_diag_clear(&why);
		if (ft_stm32_header_check(seg->data + at, seg->size - at, &header, &why) == FT_OK)
			continue;
		char text[320];
		snprintf(text, sizeof(text),
		         "segment %zu at 0x%08x: no valid STM32 header v2.3 (%.60s: %.150s)",
		         plan->segments[i].index, N6_BOOT_FLASH, why.origin, why.message);
		add_advice(plan, text);
		add_advice(plan,
		           "the boot ROM does not start an FSBL without its header: sign it, "
		           "STM32_SigningTool_CLI -bin FILE.bin -nk -of 0x80000000 -t fsbl -hv 2.3 "
		           "-align (the payload then starts at +0x400)");
		return;
	}
}

ft_error ft_plan_build(const ft_part *part, const ft_segment *const *segments, size_t count,
                       const ft_plan_options *options, ft_plan **out, ft_diag *diag)
{
	if (out)
		*out = NULL;
	if (!part || !options || !out || (count && !segments))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "ft_plan_build: missing argument");
	for (size_t i = 0; i < count; i++)
		if (!segments[i] || (segments[i]->size && !segments[i]->data))
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
			                   "ft_plan_build: segment %zu has no data", i);
	ft_plan *plan = calloc(1, sizeof(*plan));
	if (!plan || !(plan->segments = calloc(count ? count : 1, sizeof(*plan->segments)))) {
		free(plan);
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory building the plan");
	}
	plan->part = part;
	plan->options = *options;
	if (options->external) {
		plan->external = *options->external;
		plan->options.external = &plan->external;
	}
	plan->segment_count = count;
	for (size_t i = 0; i < count; i++) {
		plan->segments[i].segment = segments[i];
		plan->segments[i].index = i;
		classify(plan, &plan->segments[i]);
	}
	check_overlaps(plan);
	ft_error err = build_writes(plan);
	if (err == FT_OK)
		err = build_erases(plan);
	if (err == FT_OK)
		err = build_verifies(plan);
	if (err != FT_OK) {
		ft_plan_free(plan);
		return ft_diag_set(diag, err, NULL, "out of memory building the plan");
	}
	bool refused = false;
	for (size_t i = 0; i < count; i++)
		refused |= plan->segments[i].verdict == FT_VERDICT_REFUSE;
	if (refused)
		plan->status = FT_PLAN_REFUSED;
	else if (plan->write_count == 0)
		plan->status = FT_PLAN_EMPTY;
	else
		plan->status = FT_PLAN_OK;
	if (plan->status != FT_PLAN_OK)
		drop_work(plan);
	tally(plan);
	conclude(plan);
	advise_no_flash(plan);
	advise_n6_header(plan);
	*out = plan;
	if (plan->status == FT_PLAN_OK)
		return FT_OK;
	return ft_diag_set(diag, FT_ERR_REFUSED, NULL, "%s", plan->conclusion);
}

void ft_plan_free(ft_plan *plan)
{
	if (!plan)
		return;
	drop_work(plan);
	free(plan->writes);
	free(plan->erases);
	free(plan->verifies);
	free(plan->segments);
	free(plan);
}

const ft_part *ft_plan_part(const ft_plan *plan)
{
	return plan->part;
}

ft_route ft_plan_transport(const ft_plan *plan)
{
	return plan->options.transport;
}

ft_plan_status ft_plan_get_status(const ft_plan *plan)
{
	return plan->status;
}

const ft_plan_totals *ft_plan_get_totals(const ft_plan *plan)
{
	return &plan->totals;
}

const char *ft_plan_conclusion(const ft_plan *plan)
{
	return plan->conclusion;
}

size_t ft_plan_segment_count(const ft_plan *plan)
{
	return plan->segment_count;
}

const ft_plan_segment *ft_plan_segment_at(const ft_plan *plan, size_t index)
{
	return index < plan->segment_count ? &plan->segments[index] : NULL;
}

size_t ft_plan_erase_count(const ft_plan *plan)
{
	return plan->erase_count;
}

const ft_plan_erase *ft_plan_erase_at(const ft_plan *plan, size_t index)
{
	return index < plan->erase_count ? &plan->erases[index] : NULL;
}

size_t ft_plan_write_count(const ft_plan *plan)
{
	return plan->write_count;
}

const ft_plan_write *ft_plan_write_at(const ft_plan *plan, size_t index)
{
	return index < plan->write_count ? &plan->writes[index] : NULL;
}

size_t ft_plan_verify_count(const ft_plan *plan)
{
	return plan->verify_count;
}

const ft_range *ft_plan_verify_at(const ft_plan *plan, size_t index)
{
	return index < plan->verify_count ? &plan->verifies[index] : NULL;
}

size_t ft_plan_advice_count(const ft_plan *plan)
{
	return plan->advice_count;
}

const char *ft_plan_advice_at(const ft_plan *plan, size_t index)
{
	return index < plan->advice_count ? plan->advice[index] : NULL;
}
