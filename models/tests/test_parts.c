/* The part table: lookups by spelling and by ID, memory maps, flash geometry, bootloader facts.
 * Expected values are literals from the reference manuals, CMSIS and the ROM captures
 * (reference/devices.md), never the table's own macros. */
#include "models/parts.h"
#include "models/tests/ft_test.h"

#include <string.h>

/* Fails with the part's name and the condition when cond is false. */
#define PART_CHECK(part, cond)                                                                     \
	do {                                                                                       \
		char pc_m_[256];                                                                   \
		snprintf(pc_m_, sizeof(pc_m_), "%s: %s", (part)->name, #cond);                     \
		CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, pc_m_, __FILE__,    \
		                        "", CU_FALSE);                                             \
	} while (0)

static const ft_part *must_find(const char *spelling)
{
	const ft_part *part = ft_part_find(spelling);
	CU_ASSERT_PTR_NOT_NULL_FATAL(part);
	return part;
}

static ft_region_kind kind_at(const ft_part *part, uint32_t addr)
{
	const ft_region *region = ft_part_region_at(part, addr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(region);
	return region->kind;
}

static void test_find_accepts_every_spelling_of_a_part(void)
{
	static const char *const h723[] = {"STM32H723ZGT6", "stm32h723zg", "H723ZG", "STM32H723xG",
	                                   "h723zgt6tr"};
	for (size_t i = 0; i < sizeof(h723) / sizeof(h723[0]); i++) {
		const ft_part *part = ft_part_find(h723[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(part);
		CU_ASSERT_STRING_EQUAL(part->name, "STM32H723xG");
	}
	static const char *const n657[] = {"STM32N657X0H3Q", "N657X0", "stm32n657"};
	for (size_t i = 0; i < sizeof(n657) / sizeof(n657[0]); i++) {
		const ft_part *part = ft_part_find(n657[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(part);
		CU_ASSERT_STRING_EQUAL(part->name, "STM32N657x0");
	}
	CU_ASSERT_STRING_EQUAL(must_find("STM32H743ZIT6")->name, "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(must_find("stm32h743vi")->name, "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(must_find("H743II")->name, "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(must_find("STM32H743VGT6")->name, "STM32H743xG");
	CU_ASSERT_STRING_EQUAL(must_find("STM32H7A3ZIT6Q")->name, "STM32H7A3xI");
	CU_ASSERT_STRING_EQUAL(must_find("STM32H7B0VBT6")->name, "STM32H7B0xB");
	CU_ASSERT_STRING_EQUAL(must_find("STM32H723VEH6")->name, "STM32H723xE");
	CU_ASSERT_STRING_EQUAL(must_find("STM32H745XIH6")->name, "STM32H745xI");
}

static void test_find_resolves_a_line_sold_in_one_size_without_flash_letter(void)
{
	CU_ASSERT_STRING_EQUAL(must_find("H750")->name, "STM32H750xB");
	CU_ASSERT_STRING_EQUAL(must_find("stm32h753")->name, "STM32H753xI");
	CU_ASSERT_STRING_EQUAL(must_find("STM32N645")->name, "STM32N645x0");
}

static void test_find_rejects_unknown_incomplete_and_malformed_spellings(void)
{
	static const char *const bad[] = {
	    "STM32F407VG",    /* another family */
	    "H743",           /* xG and xI exist: no flash letter, no answer */
	    "STM32H743Z",     /* package but no flash letter */
	    "H723ZX",         /* no such flash letter */
	    "STM32H753ZG",    /* H753 is not sold as xG */
	    "STM32H730ZG",    /* H730 is xB only */
	    "",               /* empty */
	    "STM32",          /* prefix only */
	    "H74",            /* shorter than a line */
	    "STM32H743ZI T6", /* space */
	    "STM32H743ZIT6 ", /* trailing space */
	    "-H743ZI",        /* leading junk */
	    "STM32N657X1",    /* N6 has flash letter 0 only */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const ft_part *part = ft_part_find(bad[i]);
		char msg[128];
		snprintf(msg, sizeof(msg), "ft_part_find(\"%s\") is NULL", bad[i]);
		CU_assertImplementation(part == NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
	}
	CU_ASSERT_PTR_NULL(ft_part_find(NULL));
}

static void test_by_id_picks_the_variant_from_the_flash_size(void)
{
	/* DEV_IDs: OpenOCD stm32h7x.c / RM0433, RM0468, RM0455, RM0486 DBGMCU_IDCODE. */
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x450, 2048)->name, "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x450, 1024)->name, "STM32H743xG");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x450, 128)->name, "STM32H750xB");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x483, 1024)->name, "STM32H723xG");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x483, 512)->name, "STM32H723xE");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x483, 128)->name, "STM32H730xB");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x480, 2048)->name, "STM32H7A3xI");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x480, 1024)->name, "STM32H7A3xG");
	CU_ASSERT_STRING_EQUAL(ft_part_by_id(0x480, 128)->name, "STM32H7B0xB");
	CU_ASSERT_EQUAL(ft_part_by_id(0x486, 0)->family, FT_FAMILY_N6);
	CU_ASSERT_PTR_NULL(ft_part_by_id(0x450, 512));
	CU_ASSERT_PTR_NULL(ft_part_by_id(0x450, 0xFFFF));
	CU_ASSERT_PTR_NULL(ft_part_by_id(0x413, 1024));
	CU_ASSERT_PTR_NULL(ft_part_by_id(0x486, 2048));
}

static void test_xg_parts_have_a_hole_and_bank2_at_0x08100000(void)
{
	static const char *const xg[] = {"STM32H743xG", "STM32H742xG", "STM32H745xG", "STM32H747xG",
	                                 "STM32H7A3xG"};
	for (size_t i = 0; i < sizeof(xg) / sizeof(xg[0]); i++) {
		const ft_part *part = must_find(xg[i]);
		const ft_region *bank1 = ft_part_region_at(part, 0x0807FFFF);
		const ft_region *hole = ft_part_region_at(part, 0x08080000);
		const ft_region *bank2 = ft_part_region_at(part, 0x08100000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bank1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(hole);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bank2);
		FT_ASSERT_HEX(bank1->kind, FT_REGION_FLASH_BANK);
		FT_ASSERT_HEX(bank1->bank, 1);
		FT_ASSERT_HEX(bank1->size, 0x80000);
		FT_ASSERT_HEX(hole->kind, FT_REGION_HOLE);
		FT_ASSERT_HEX(hole->start, 0x08080000);
		FT_ASSERT_HEX(hole->size, 0x80000);
		FT_ASSERT_HEX(bank2->kind, FT_REGION_FLASH_BANK);
		FT_ASSERT_HEX(bank2->bank, 2);
		FT_ASSERT_HEX(bank2->start, 0x08100000);
		FT_ASSERT_HEX(bank2->size, 0x80000);
		FT_ASSERT_HEX(part->flash.bank_base[1], 0x08100000);
		FT_ASSERT_HEX(part->flash.bank_size, 0x80000);
		FT_ASSERT_HEX(part->flash_size_kb, 1024);
		CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x08180000));
	}
}

static void test_xi_banks_are_contiguous(void)
{
	const ft_part *part = must_find("STM32H743ZIT6");
	FT_ASSERT_HEX(ft_part_region_at(part, 0x080FFFFF)->bank, 1);
	FT_ASSERT_HEX(ft_part_region_at(part, 0x08100000)->bank, 2);
	FT_ASSERT_HEX(ft_part_region_at(part, 0x081FFFFF)->bank, 2);
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x08200000));
	FT_ASSERT_HEX(part->flash.sectors_per_bank, 8);
	FT_ASSERT_HEX(part->flash.sector_size, 0x20000);
	FT_ASSERT_HEX(part->flash.word_size, 32);
	FT_ASSERT_HEX(part->flash.layout, FT_FLASH_H74X);
}

static void test_h750_is_one_128k_sector_of_a_dual_bank_die(void)
{
	const ft_part *part = must_find("STM32H750VBT6");
	FT_ASSERT_HEX(part->flash.banks, 1);
	FT_ASSERT_HEX(part->flash.sectors_per_bank, 1);
	FT_ASSERT_HEX(part->flash.bank_size, 0x20000);
	CU_ASSERT_TRUE(part->flash.dual_bank_silicon);
	FT_ASSERT_HEX(part->flash_size_kb, 128);
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x08020000));
}

static void test_h743_memory_map_matches_rm0433(void)
{
	const ft_part *part = must_find("STM32H743ZI");
	static const struct {
		uint32_t addr;
		ft_region_kind kind;
		uint32_t start, size;
	} expect[] = {
	    {0x00000000, FT_REGION_ITCM, 0x00000000, 0x10000},
	    {0x1FF00000, FT_REGION_SYSTEM_MEMORY, 0x1FF00000, 0x20000},
	    {0x1FF1E880, FT_REGION_SYSTEM_MEMORY, 0x1FF00000, 0x20000},
	    {0x2001FFFF, FT_REGION_DTCM, 0x20000000, 0x20000},
	    {0x2407FFFF, FT_REGION_AXI_SRAM, 0x24000000, 0x80000},
	    {0x30000000, FT_REGION_AHB_SRAM, 0x30000000, 0x20000},
	    {0x30020000, FT_REGION_AHB_SRAM, 0x30020000, 0x20000},
	    {0x30047FFF, FT_REGION_AHB_SRAM, 0x30040000, 0x8000},
	    {0x38000000, FT_REGION_SRD_SRAM, 0x38000000, 0x10000},
	    {0x38800FFF, FT_REGION_BACKUP_SRAM, 0x38800000, 0x1000},
	    {0x52002000, FT_REGION_PERIPHERAL, 0x40000000, 0x20000000},
	    {0x5C001000, FT_REGION_PERIPHERAL, 0x40000000, 0x20000000},
	    {0x9FFFFFFF, FT_REGION_EXT_WINDOW, 0x90000000, 0x10000000},
	    {0xE000EDF0, FT_REGION_PERIPHERAL, 0xE0000000, 0x100000},
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		const ft_region *r = ft_part_region_at(part, expect[i].addr);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		FT_ASSERT_HEX(r->kind, expect[i].kind);
		FT_ASSERT_HEX(r->start, expect[i].start);
		FT_ASSERT_HEX(r->size, expect[i].size);
	}
	CU_ASSERT_STRING_EQUAL(ft_part_region_at(part, 0x90000000)->name, "QUADSPI");
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x30048000));
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x24080000));
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x10000000));
	FT_ASSERT_HEX(part->dev_id, 0x450);
	FT_ASSERT_HEX(part->idcode_addr, 0x5C001000);
	FT_ASSERT_HEX(part->flash_size_reg, 0x1FF1E880);
	FT_ASSERT_HEX(part->uid_reg, 0x1FF1E800);
	FT_ASSERT_HEX(part->flash_regs, 0x52002000);
	CU_ASSERT_STRING_EQUAL(part->core, "cortex-m7");
	CU_ASSERT_STRING_EQUAL(part->reference_manual, "RM0433");
}

static void test_dual_core_parts_add_the_cm4_view(void)
{
	const ft_part *part = must_find("STM32H747XIH6");
	FT_ASSERT_HEX(part->family, FT_FAMILY_H74X_DUAL_CORE);
	CU_ASSERT_STRING_EQUAL(part->core, "cortex-m7+cortex-m4");
	CU_ASSERT_STRING_EQUAL(part->reference_manual, "RM0399");
	FT_ASSERT_HEX(kind_at(part, 0x10000000), FT_REGION_AHB_SRAM);
	FT_ASSERT_HEX(kind_at(part, 0x30040000), FT_REGION_AHB_SRAM);
	FT_ASSERT_HEX(part->dev_id, 0x450);
}

static void test_h723_d2_ram_is_two_16k_blocks(void)
{
	const ft_part *part = must_find("STM32H723ZGT6");
	uint32_t d2 = 0;
	for (size_t i = 0; i < part->region_count; i++) {
		if (part->regions[i].kind == FT_REGION_AHB_SRAM)
			d2 += part->regions[i].size;
	}
	FT_ASSERT_HEX(d2, 0x8000);
	const ft_region *sram1 = ft_part_region_at(part, 0x30000000);
	const ft_region *sram2 = ft_part_region_at(part, 0x30004000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sram1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sram2);
	FT_ASSERT_HEX(sram1->size, 0x4000);
	FT_ASSERT_HEX(sram2->start, 0x30004000);
	FT_ASSERT_HEX(sram2->size, 0x4000);
	/* H743-layout addresses above 32 KB of D2 RAM do not exist on H723 (CATALOGUE §2A). */
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x30008000));
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x30040000));
	FT_ASSERT_HEX(kind_at(part, 0x2404FFFF), FT_REGION_AXI_SRAM);
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x24050000));
	FT_ASSERT_HEX(kind_at(part, 0x70000000), FT_REGION_EXT_WINDOW);
	FT_ASSERT_HEX(kind_at(part, 0x90000000), FT_REGION_EXT_WINDOW);
}

static void test_h72x_flash_is_one_bank_of_128k_sectors(void)
{
	const ft_part *xg = must_find("H723ZG");
	const ft_part *xe = must_find("H723ZE");
	const ft_part *xb = must_find("H730VB");
	FT_ASSERT_HEX(xg->flash.layout, FT_FLASH_H72X);
	FT_ASSERT_HEX(xg->flash.banks, 1);
	FT_ASSERT_HEX(xg->flash.sectors_per_bank, 8);
	FT_ASSERT_HEX(xe->flash.sectors_per_bank, 4);
	FT_ASSERT_HEX(xe->flash.bank_size, 0x80000);
	FT_ASSERT_HEX(xb->flash.sectors_per_bank, 1);
	CU_ASSERT_FALSE(xg->flash.dual_bank_silicon);
	FT_ASSERT_HEX(xg->flash.bank_base[1], 0);
	CU_ASSERT_PTR_NULL(ft_part_region_at(xg, 0x08100000));
	CU_ASSERT_PTR_NULL(ft_part_region_at(xe, 0x08080000));
	FT_ASSERT_HEX(xg->dev_id, 0x483);
	FT_ASSERT_HEX(xg->flash_size_reg, 0x1FF1E880);
}

static void test_h7a3_has_8k_sectors_16_byte_words_and_otp(void)
{
	const ft_part *part = must_find("STM32H7A3ZIT6Q");
	FT_ASSERT_HEX(part->flash.layout, FT_FLASH_H7AX);
	FT_ASSERT_HEX(part->flash.banks, 2);
	FT_ASSERT_HEX(part->flash.sectors_per_bank, 128);
	FT_ASSERT_HEX(part->flash.sector_size, 0x2000);
	FT_ASSERT_HEX(part->flash.word_size, 16);
	FT_ASSERT_HEX(part->flash.bank_size, 0x100000);
	FT_ASSERT_HEX(part->flash_size_reg, 0x08FFF80C);
	FT_ASSERT_HEX(part->uid_reg, 0x08FFF800);
	FT_ASSERT_HEX(part->dev_id, 0x480);
	const ft_region *otp = ft_part_region_at(part, 0x08FFF3FF);
	CU_ASSERT_PTR_NOT_NULL_FATAL(otp);
	FT_ASSERT_HEX(otp->kind, FT_REGION_OTP);
	FT_ASSERT_HEX(otp->start, 0x08FFF000);
	FT_ASSERT_HEX(otp->size, 0x400);
	CU_ASSERT_PTR_NULL(ft_part_region_at(part, 0x08FFF400));
	FT_ASSERT_HEX(kind_at(part, 0x240FFFFF), FT_REGION_AXI_SRAM);
	FT_ASSERT_HEX(kind_at(part, 0x3001FFFF), FT_REGION_AHB_SRAM);
	FT_ASSERT_HEX(kind_at(part, 0x38007FFF), FT_REGION_SRD_SRAM);
	FT_ASSERT_HEX(kind_at(part, 0x70000000), FT_REGION_EXT_WINDOW);
	FT_ASSERT_HEX(kind_at(part, 0x90000000), FT_REGION_EXT_WINDOW);

	const ft_part *xg = must_find("H7A3ZG");
	FT_ASSERT_HEX(xg->flash.sectors_per_bank, 64);
	const ft_part *h7b0 = must_find("STM32H7B0VBT6");
	FT_ASSERT_HEX(h7b0->flash.banks, 1);
	FT_ASSERT_HEX(h7b0->flash.sectors_per_bank, 16);
	FT_ASSERT_HEX(h7b0->flash.bank_size, 0x20000);
}

/* The FMC banks, default mapping (BMAP = 00): boards link SDRAM frame buffers at 0xD0000000, so
 * an image's NOBITS or PROGBITS section there must land in a named window, not in "unmapped". */
static void test_h7_fmc_windows_are_mapped(void)
{
	static const char *const lines[] = {"H743ZI", "H750VB", "H747XI", "H723ZG", "H7A3ZI"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const ft_part *part = must_find(lines[i]);
		static const uint32_t starts[] = {0x60000000, 0xC0000000, 0xD0000000};
		for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
			const ft_region *r = ft_part_region_at(part, starts[k] + 0x0FFFFFFF);
			CU_ASSERT_PTR_NOT_NULL_FATAL(r);
			FT_ASSERT_HEX(r->kind, FT_REGION_EXT_WINDOW);
			FT_ASSERT_HEX(r->start, starts[k]);
			FT_ASSERT_HEX(r->size, 0x10000000);
			CU_ASSERT_PTR_NOT_NULL(strstr(r->name, "FMC"));
		}
	}
	CU_ASSERT_STRING_EQUAL(ft_part_region_at(must_find("H743ZI"), 0xD0000000)->name,
	                       "FMC SDRAM bank 2");
}

static void test_n6_has_no_internal_flash(void)
{
	static const char *const lines[] = {"N645", "N647", "N655", "N657"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const ft_part *part = must_find(lines[i]);
		FT_ASSERT_HEX(part->flash.layout, FT_FLASH_NONE);
		FT_ASSERT_HEX(part->flash.banks, 0);
		FT_ASSERT_HEX(part->flash_size_kb, 0);
		FT_ASSERT_HEX(part->flash_size_reg, 0);
		FT_ASSERT_HEX(part->flash_regs, 0);
		for (size_t r = 0; r < part->region_count; r++) {
			PART_CHECK(part, part->regions[r].kind != FT_REGION_FLASH_BANK);
			PART_CHECK(part, part->regions[r].kind != FT_REGION_HOLE);
		}
		FT_ASSERT_HEX(kind_at(part, 0x08000000), FT_REGION_SYSTEM_MEMORY);
		FT_ASSERT_HEX(kind_at(part, 0x00000000), FT_REGION_ITCM);
		FT_ASSERT_HEX(kind_at(part, 0x34180400), FT_REGION_AXI_SRAM);
		FT_ASSERT_HEX(kind_at(part, 0x44001000), FT_REGION_PERIPHERAL);
		FT_ASSERT_HEX(kind_at(part, 0x70000000), FT_REGION_EXT_WINDOW);
		FT_ASSERT_HEX(kind_at(part, 0x80000000), FT_REGION_EXT_WINDOW);
		FT_ASSERT_HEX(kind_at(part, 0x90000000), FT_REGION_EXT_WINDOW);
		FT_ASSERT_HEX(kind_at(part, 0x60000000), FT_REGION_EXT_WINDOW);
		FT_ASSERT_HEX(part->dev_id, 0x486);
		FT_ASSERT_HEX(part->idcode_addr, 0x44001000);
		FT_ASSERT_HEX(part->uid_reg, 0x46009014);
		CU_ASSERT_STRING_EQUAL(part->core, "cortex-m55");
		CU_ASSERT_FALSE(part->bootloader->has_usb_dfu);
	}
}

static void test_n6_secure_aliases_are_named_and_npu_ram_depends_on_line(void)
{
	const ft_part *n657 = must_find("STM32N657X0H3Q");
	const ft_region *s = ft_part_region_at(n657, 0x34000000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->name, "AXI SRAM1 (secure)");
	CU_ASSERT_STRING_EQUAL(ft_part_region_at(n657, 0x24000000)->name, "AXI SRAM1");
	FT_ASSERT_HEX(kind_at(n657, 0x18000000), FT_REGION_SYSTEM_MEMORY);
	FT_ASSERT_HEX(kind_at(n657, 0x54001000), FT_REGION_PERIPHERAL);
	FT_ASSERT_HEX(kind_at(n657, 0x243C0000), FT_REGION_AXI_SRAM);
	FT_ASSERT_HEX(kind_at(n657, 0x3C001FFF), FT_REGION_BACKUP_SRAM);
	/* No NPU on N645/N655, so no NPU cache RAM (CMSIS-N6 CACHEAXI_RAM_BASE absent). */
	CU_ASSERT_PTR_NULL(ft_part_region_at(must_find("N645"), 0x243C0000));
	CU_ASSERT_PTR_NULL(ft_part_region_at(must_find("N655"), 0x343C0000));
}

static void check_regions(const ft_part *part)
{
	PART_CHECK(part, part->region_count > 0);
	uint64_t previous_end = 0;
	unsigned bank_regions = 0;
	for (size_t i = 0; i < part->region_count; i++) {
		const ft_region *r = &part->regions[i];
		uint64_t end = (uint64_t)r->start + r->size;
		PART_CHECK(part, r->name && r->name[0] && r->source && r->source[0]);
		PART_CHECK(part, r->size > 0);
		PART_CHECK(part, end <= 0x100000000ull);
		PART_CHECK(part, r->start >= previous_end);
		previous_end = end;
		PART_CHECK(part, ft_part_region_at(part, r->start) == r);
		PART_CHECK(part, ft_part_region_at(part, (uint32_t)(end - 1)) == r);
		if (r->kind == FT_REGION_FLASH_BANK) {
			bank_regions++;
			PART_CHECK(part, r->bank == 1 || r->bank == 2);
			PART_CHECK(part, r->start == part->flash.bank_base[r->bank - 1]);
			PART_CHECK(part, r->size == part->flash.bank_size);
		} else {
			PART_CHECK(part, r->bank == 0);
		}
		if (r->kind == FT_REGION_HOLE) {
			PART_CHECK(part,
			           r->start == part->flash.bank_base[0] + part->flash.bank_size);
			PART_CHECK(part, end == part->flash.bank_base[1]);
		}
	}
	PART_CHECK(part, bank_regions == part->flash.banks);
}

static void check_flash(const ft_part *part)
{
	const ft_flash_geometry *g = &part->flash;
	if (g->layout == FT_FLASH_NONE) {
		PART_CHECK(part, g->banks == 0 && part->flash_size_kb == 0);
		PART_CHECK(part, part->flash_regs == 0 && part->flash_size_reg == 0);
		return;
	}
	PART_CHECK(part, g->banks == 1 || g->banks == 2);
	PART_CHECK(part, (uint32_t)g->banks * g->bank_size == part->flash_size_kb * 1024u);
	PART_CHECK(part, (uint32_t)g->sectors_per_bank * g->sector_size == g->bank_size);
	PART_CHECK(part, g->bank_base[0] == 0x08000000);
	PART_CHECK(part, g->bank_base[1] == (g->dual_bank_silicon ? 0x08100000u : 0u));
	PART_CHECK(part, g->banks == 1 || g->dual_bank_silicon);
	PART_CHECK(part, g->word_size == (g->layout == FT_FLASH_H7AX ? 16 : 32));
	PART_CHECK(part, g->sector_size == (g->layout == FT_FLASH_H7AX ? 0x2000u : 0x20000u));
	const ft_region *regs = ft_part_region_at(part, part->flash_regs);
	PART_CHECK(part, regs && regs->kind == FT_REGION_PERIPHERAL);
}

static void check_bootloader(const ft_part *part)
{
	const ft_bootloader_info *b = part->bootloader;
	PART_CHECK(part, b != NULL);
	if (!b)
		return;
	PART_CHECK(part, b->source && b->source[0]);
	if (!b->has_usb_dfu) {
		PART_CHECK(part, b->alt_count == 0 && b->writable_count == 0);
		return;
	}
	PART_CHECK(part, b->alt_count >= 2 && b->alt_count <= FT_MAX_DFU_ALTS);
	for (size_t i = 0; i < b->alt_count; i++)
		PART_CHECK(part, b->alt_names[i] && b->alt_names[i][0] == '@');
	PART_CHECK(part, b->writable_count > 0 && b->writable_count <= FT_MAX_BOOTLOADER_WINDOWS);
	uint64_t previous_end = 0;
	bool option_bytes_writable = false;
	for (size_t i = 0; i < b->writable_count; i++) {
		const ft_range *w = &b->writable[i];
		PART_CHECK(part, w->size > 0 && w->start >= previous_end);
		previous_end = (uint64_t)w->start + w->size;
		/* regions cover every byte of a window, none of them a hole or system memory */
		for (uint64_t addr = w->start; addr < previous_end;) {
			const ft_region *r = ft_part_region_at(part, (uint32_t)addr);
			PART_CHECK(part, r && r->kind != FT_REGION_HOLE &&
			                     r->kind != FT_REGION_SYSTEM_MEMORY);
			if (!r)
				break;
			addr = (uint64_t)r->start + r->size;
		}
		for (size_t j = 0; j < b->reserved_count; j++) {
			const ft_range *r = &b->reserved_ram[j];
			PART_CHECK(part, w->start + w->size <= r->start ||
			                     r->start + r->size <= w->start);
		}
		if (w->start == b->option_bytes_addr && w->size == b->option_bytes_size)
			option_bytes_writable = true;
	}
	PART_CHECK(part, option_bytes_writable);
	for (size_t i = 0; i < part->region_count; i++) {
		const ft_region *r = &part->regions[i];
		if (r->kind != FT_REGION_FLASH_BANK)
			continue;
		bool listed = false;
		for (size_t j = 0; j < b->writable_count; j++)
			listed |=
			    b->writable[j].start == r->start && b->writable[j].size == r->size;
		PART_CHECK(part, listed);
	}
	for (size_t q = 0; q < b->quirk_count; q++)
		PART_CHECK(part, ft_part_revision_name(part, b->quirks[q].rev_id) != '?');
}

static void test_every_part_satisfies_the_table_invariants(void)
{
	CU_ASSERT_FATAL(ft_part_count() >= 27);
	for (size_t i = 0; i < ft_part_count(); i++) {
		const ft_part *part = ft_part_at(i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(part);
		PART_CHECK(part, strlen(part->name) == 11 && strncmp(part->name, "STM32", 5) == 0 &&
		                     part->name[9] == 'x');
		PART_CHECK(part, ft_part_find(part->name) == part);
		PART_CHECK(part,
		           part->revision_count >= 1 && part->revision_count <= FT_MAX_REVISIONS);
		PART_CHECK(part, part->core && part->reference_manual);
		const ft_region *idcode = ft_part_region_at(part, part->idcode_addr);
		PART_CHECK(part, idcode && idcode->kind == FT_REGION_PERIPHERAL);
		check_regions(part);
		check_flash(part);
		check_bootloader(part);
		PART_CHECK(part, ft_part_by_id(part->dev_id, part->flash_size_kb) != NULL);
	}
	CU_ASSERT_PTR_NULL(ft_part_at(ft_part_count()));
}

static void test_bootloader_strings_are_exact(void)
{
	const ft_bootloader_info *h743 = must_find("STM32H743ZIT6")->bootloader;
	CU_ASSERT_TRUE(h743->has_usb_dfu);
	FT_ASSERT_HEX(h743->vid, 0x0483);
	FT_ASSERT_HEX(h743->pid, 0xDF11);
	FT_ASSERT_HEX(h743->bcd_device, 0x0200);
	FT_ASSERT_HEX(h743->bcd_dfu, 0x011A);
	FT_ASSERT_HEX(h743->transfer_size, 1024);
	CU_ASSERT_STRING_EQUAL(h743->manufacturer, "STMicroelectronics");
	CU_ASSERT_STRING_EQUAL(h743->product, "DFU in FS Mode");
	FT_ASSERT_HEX(h743->alt_count, 2);
	CU_ASSERT_STRING_EQUAL(h743->alt_names[0], "@Internal Flash   /0x08000000/16*128Kg");
	CU_ASSERT_STRING_EQUAL(h743->alt_names[1], "@Option Bytes   /0x5200201C/01*128 e");
	/* three spaces before the slash, as dfu-util prints "Internal Flash   " */
	FT_ASSERT_BYTES(h743->alt_names[0], "@Internal Flash   /", 19);
	FT_ASSERT_HEX(h743->option_bytes_addr, 0x5200201C);
	FT_ASSERT_HEX(h743->option_bytes_size, 128);

	/* the 128 KB H750 reports the 2 MB layout */
	const ft_bootloader_info *h750 = must_find("STM32H750VBT6")->bootloader;
	CU_ASSERT_STRING_EQUAL(h750->alt_names[0], "@Internal Flash   /0x08000000/16*128Kg");

	const ft_bootloader_info *h723 = must_find("STM32H723ZET6")->bootloader;
	FT_ASSERT_HEX(h723->alt_count, 2);
	CU_ASSERT_STRING_EQUAL(h723->alt_names[0], "@Internal Flash   /0x08000000/8*128Kg");
	CU_ASSERT_STRING_EQUAL(h723->alt_names[1], "@Option Bytes   /0x5200201C/01*88 e");
	FT_ASSERT_HEX(h723->option_bytes_size, 88);

	const ft_bootloader_info *h7a3 = must_find("STM32H7A3ZIT6Q")->bootloader;
	FT_ASSERT_HEX(h7a3->alt_count, 3);
	CU_ASSERT_STRING_EQUAL(h7a3->alt_names[0], "@Internal Flash   /0x08000000/256*08Kg");
	CU_ASSERT_STRING_EQUAL(h7a3->alt_names[1], "@Option Bytes   /0x5200201C/01*297 e");
	CU_ASSERT_STRING_EQUAL(h7a3->alt_names[2], "@OTP Memory   /0x08FFF000/01*1024 e");
	FT_ASSERT_HEX(h7a3->option_bytes_size, 297);
}

static int in_windows(const ft_bootloader_info *b, uint32_t addr)
{
	for (size_t i = 0; i < b->writable_count; i++) {
		if (addr >= b->writable[i].start &&
		    addr - b->writable[i].start < b->writable[i].size)
			return 1;
	}
	return 0;
}

static void test_bootloader_windows_follow_the_rom_rules(void)
{
	/* CATALOGUE §2A: flash, option bytes and RAM 0x20004100-0x2001FFFF, 0x24005000-0x2407FFFF;
	 * 0x24000000-0x24004FFF is the ROM's work area. */
	const ft_bootloader_info *b = must_find("STM32H743ZIT6")->bootloader;
	CU_ASSERT_TRUE(in_windows(b, 0x08000000));
	CU_ASSERT_TRUE(in_windows(b, 0x081FFFFF));
	CU_ASSERT_TRUE(in_windows(b, 0x20004100));
	CU_ASSERT_TRUE(in_windows(b, 0x2001FFFF));
	CU_ASSERT_TRUE(in_windows(b, 0x24005000));
	CU_ASSERT_TRUE(in_windows(b, 0x2407FFFF));
	CU_ASSERT_TRUE(in_windows(b, 0x5200201C));
	CU_ASSERT_FALSE(in_windows(b, 0x200040FF));
	CU_ASSERT_FALSE(in_windows(b, 0x24004FFF));
	CU_ASSERT_FALSE(in_windows(b, 0x30000000));
	CU_ASSERT_FALSE(in_windows(b, 0x38000000));
	CU_ASSERT_FALSE(in_windows(b, 0x00000000));
	bool work_area_reserved = false;
	for (size_t i = 0; i < b->reserved_count; i++)
		work_area_reserved |=
		    b->reserved_ram[i].start == 0x24000000 && b->reserved_ram[i].size == 0x5000;
	CU_ASSERT_TRUE(work_area_reserved);

	const ft_bootloader_info *xg = must_find("STM32H743VGT6")->bootloader;
	CU_ASSERT_TRUE(in_windows(xg, 0x0807FFFF));
	CU_ASSERT_FALSE(in_windows(xg, 0x08080000));
	CU_ASSERT_TRUE(in_windows(xg, 0x08100000));
	CU_ASSERT_FALSE(in_windows(xg, 0x08180000));

	const ft_bootloader_info *h7a3 = must_find("STM32H7A3ZIT6Q")->bootloader;
	CU_ASSERT_TRUE(in_windows(h7a3, 0x08FFF000));
	CU_ASSERT_TRUE(in_windows(h7a3, 0x240FFFFF));
	const ft_bootloader_info *h723 = must_find("STM32H723ZGT6")->bootloader;
	CU_ASSERT_FALSE(in_windows(h723, 0x24050000));
	CU_ASSERT_FALSE(in_windows(h723, 0x30000000));
}

static void test_known_rom_quirks_are_named_switches(void)
{
	const ft_bootloader_info *h7a3 = must_find("STM32H7B3ZIT6")->bootloader;
	FT_ASSERT_HEX(h7a3->quirk_count, 1);
	CU_ASSERT_STRING_EQUAL(h7a3->quirks[0].name, "h7a3-rev-z-descriptor");
	CU_ASSERT_STRING_EQUAL(h7a3->quirks[0].alt_names[0],
	                       "@Internal Flash  /0x08000000/256*02Kg");
	CU_ASSERT_STRING_EQUAL(h7a3->quirks[0].alt_names[1], "@Option Bytes  /0x1FF8000/01*128 e");
	CU_ASSERT_STRING_EQUAL(h7a3->quirks[0].alt_names[2], "@OTP Memory  /0x1FF7000/01*1024 e");
	CU_ASSERT_PTR_NULL(h7a3->quirks[0].alt_names[3]);

	const ft_bootloader_info *h743 = must_find("STM32H743ZIT6")->bootloader;
	FT_ASSERT_HEX(h743->quirk_count, 1);
	FT_ASSERT_HEX(h743->quirks[0].rev_id, 0x2003);
	CU_ASSERT_PTR_NULL(h743->quirks[0].alt_names[0]);
	/* no bank 2 on H750, so no bank-2 erase quirk */
	FT_ASSERT_HEX(must_find("STM32H750VBT6")->bootloader->quirk_count, 0);
}

static void test_revision_names_follow_rev_id(void)
{
	const ft_part *h743 = must_find("H743ZI");
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x1000), 'A');
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x1001), 'Z');
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x1003), 'Y');
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x2001), 'X');
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x2003), 'V');
	CU_ASSERT_EQUAL(ft_part_revision_name(h743, 0x2002), '?');
	CU_ASSERT_EQUAL(ft_part_revision_name(must_find("H723ZG"), 0x1001), 'Z');
	CU_ASSERT_EQUAL(ft_part_revision_name(must_find("H723ZG"), 0x1003), '?');
	CU_ASSERT_EQUAL(ft_part_revision_name(NULL, 0x1000), '?');
}

static void test_region_kinds_have_names_and_volatility(void)
{
	static const struct {
		ft_region_kind kind;
		const char *name;
		bool is_volatile;
	} kinds[] = {
	    {FT_REGION_FLASH_BANK, "flash-bank", false},
	    {FT_REGION_HOLE, "hole", false},
	    {FT_REGION_ITCM, "itcm", true},
	    {FT_REGION_DTCM, "dtcm", true},
	    {FT_REGION_AXI_SRAM, "axi-sram", true},
	    {FT_REGION_AHB_SRAM, "ahb-sram", true},
	    {FT_REGION_SRD_SRAM, "srd-sram", true},
	    {FT_REGION_BACKUP_SRAM, "backup-sram", true},
	    {FT_REGION_OTP, "otp", false},
	    {FT_REGION_SYSTEM_MEMORY, "system-memory", false},
	    {FT_REGION_EXT_WINDOW, "ext-window", false},
	    {FT_REGION_PERIPHERAL, "peripheral", false},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		CU_ASSERT_STRING_EQUAL(ft_region_kind_name(kinds[i].kind), kinds[i].name);
		CU_ASSERT_EQUAL(ft_region_kind_is_volatile(kinds[i].kind), kinds[i].is_volatile);
	}
	CU_ASSERT_STRING_EQUAL(ft_region_kind_name((ft_region_kind)99), "unknown");
	CU_ASSERT_FALSE(ft_region_kind_is_volatile((ft_region_kind)99));
	CU_ASSERT_PTR_NULL(ft_part_region_at(NULL, 0x08000000));
}

static CU_TestInfo tests[] = {
    {"find_accepts_every_spelling_of_a_part", test_find_accepts_every_spelling_of_a_part},
    {"find_resolves_a_line_sold_in_one_size_without_flash_letter",
     test_find_resolves_a_line_sold_in_one_size_without_flash_letter},
    {"find_rejects_unknown_incomplete_and_malformed_spellings",
     test_find_rejects_unknown_incomplete_and_malformed_spellings},
    {"by_id_picks_the_variant_from_the_flash_size",
     test_by_id_picks_the_variant_from_the_flash_size},
    {"xg_parts_have_a_hole_and_bank2_at_0x08100000",
     test_xg_parts_have_a_hole_and_bank2_at_0x08100000},
    {"xi_banks_are_contiguous", test_xi_banks_are_contiguous},
    {"h750_is_one_128k_sector_of_a_dual_bank_die", test_h750_is_one_128k_sector_of_a_dual_bank_die},
    {"h743_memory_map_matches_rm0433", test_h743_memory_map_matches_rm0433},
    {"dual_core_parts_add_the_cm4_view", test_dual_core_parts_add_the_cm4_view},
    {"h723_d2_ram_is_two_16k_blocks", test_h723_d2_ram_is_two_16k_blocks},
    {"h72x_flash_is_one_bank_of_128k_sectors", test_h72x_flash_is_one_bank_of_128k_sectors},
    {"h7a3_has_8k_sectors_16_byte_words_and_otp", test_h7a3_has_8k_sectors_16_byte_words_and_otp},
    {"h7_fmc_windows_are_mapped", test_h7_fmc_windows_are_mapped},
    {"n6_has_no_internal_flash", test_n6_has_no_internal_flash},
    {"n6_secure_aliases_are_named_and_npu_ram_depends_on_line",
     test_n6_secure_aliases_are_named_and_npu_ram_depends_on_line},
    {"every_part_satisfies_the_table_invariants", test_every_part_satisfies_the_table_invariants},
    {"bootloader_strings_are_exact", test_bootloader_strings_are_exact},
    {"bootloader_windows_follow_the_rom_rules", test_bootloader_windows_follow_the_rom_rules},
    {"known_rom_quirks_are_named_switches", test_known_rom_quirks_are_named_switches},
    {"revision_names_follow_rev_id", test_revision_names_follow_rev_id},
    {"region_kinds_have_names_and_volatility", test_region_kinds_have_names_and_volatility},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"parts", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
