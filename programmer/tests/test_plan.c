/* The planner on the image-layer scenarios of CATALOGUE.md §5.1 and field reports A-E.
 *
 * Parts are test-local literals taken from the reference manuals (memory maps: RM0433 §2.3,
 * RM0468 §2.3, RM0455 §2.3, RM0486 §2.3; bootloader windows: AN2606 and CATALOGUE §6), so the
 * planner is tested on its rules, not on the part table.
 */
#include "models/tests/ft_test.h"
#include "programmer/image/stm32_header.h"
#include "programmer/plan.h"

#include <stdlib.h>
#include <string.h>

/* ---- parts ---------------------------------------------------------------------------------- */

#define KIB 1024u
#define MIB (1024u * 1024u)

static const ft_region h743xi_regions[] = {
    {"ITCM", FT_REGION_ITCM, 0x00000000, 64 * KIB, 0, "RM0433"},
    {"Flash bank 1", FT_REGION_FLASH_BANK, 0x08000000, MIB, 1, "RM0433"},
    {"Flash bank 2", FT_REGION_FLASH_BANK, 0x08100000, MIB, 2, "RM0433"},
    {"System memory", FT_REGION_SYSTEM_MEMORY, 0x1FF00000, 128 * KIB, 0, "RM0433"},
    {"DTCM", FT_REGION_DTCM, 0x20000000, 128 * KIB, 0, "RM0433"},
    {"AXI SRAM", FT_REGION_AXI_SRAM, 0x24000000, 512 * KIB, 0, "RM0433"},
    {"RAM_D2 SRAM1", FT_REGION_AHB_SRAM, 0x30000000, 128 * KIB, 0, "RM0433"},
    {"RAM_D2 SRAM2", FT_REGION_AHB_SRAM, 0x30020000, 128 * KIB, 0, "RM0433"},
    {"RAM_D2 SRAM3", FT_REGION_AHB_SRAM, 0x30040000, 32 * KIB, 0, "RM0433"},
    {"SRAM4", FT_REGION_SRD_SRAM, 0x38000000, 64 * KIB, 0, "RM0433"},
    {"Backup SRAM", FT_REGION_BACKUP_SRAM, 0x38800000, 4 * KIB, 0, "RM0433"},
    {"Peripherals", FT_REGION_PERIPHERAL, 0x40000000, 0x20000000, 0, "RM0433"},
    {"QUADSPI", FT_REGION_EXT_WINDOW, 0x90000000, 0x10000000, 0, "RM0433"},
};

static const ft_bootloader_info h743_bootloader = {
    .has_usb_dfu = true,
    .reserved_count = 2,
    .reserved_ram = {{0x20000000, 0x4100}, {0x24000000, 0x5000}},
    .writable_count = 3,
    .writable = {{0x08000000, 2 * MIB}, {0x20004100, 0x1BF00}, {0x24005000, 0x7B000}},
    .option_bytes_addr = 0x5200201C,
    .option_bytes_size = 308,
};

static const ft_part h743xi = {
    .name = "STM32H743xI",
    .family = FT_FAMILY_H74X,
    .dev_id = 0x450,
    .flash_size_kb = 2048,
    .flash = {FT_FLASH_H74X, 2, 8, 128 * KIB, 32, MIB, {0x08000000, 0x08100000}, true},
    .region_count = sizeof(h743xi_regions) / sizeof(h743xi_regions[0]),
    .regions = h743xi_regions,
    .bootloader = &h743_bootloader,
};

static const ft_region h743xg_regions[] = {
    {"ITCM", FT_REGION_ITCM, 0x00000000, 64 * KIB, 0, "RM0433"},
    {"Flash bank 1", FT_REGION_FLASH_BANK, 0x08000000, 512 * KIB, 1, "RM0433"},
    {"Flash hole", FT_REGION_HOLE, 0x08080000, 512 * KIB, 0, "RM0433"},
    {"Flash bank 2", FT_REGION_FLASH_BANK, 0x08100000, 512 * KIB, 2, "RM0433"},
    {"DTCM", FT_REGION_DTCM, 0x20000000, 128 * KIB, 0, "RM0433"},
};

static const ft_part h743xg = {
    .name = "STM32H743xG",
    .family = FT_FAMILY_H74X,
    .dev_id = 0x450,
    .flash_size_kb = 1024,
    .flash = {FT_FLASH_H74X, 2, 4, 128 * KIB, 32, 512 * KIB, {0x08000000, 0x08100000}, true},
    .region_count = sizeof(h743xg_regions) / sizeof(h743xg_regions[0]),
    .regions = h743xg_regions,
    .bootloader = &h743_bootloader,
};

/* H723xG and H723xE differ only in the flash bank's size. */
#define H723_REGIONS(flash_size)                                                                   \
	{                                                                                          \
		{"ITCM", FT_REGION_ITCM, 0x00000000, 64 * KIB, 0, "RM0468"},                       \
		    {"Flash bank 1", FT_REGION_FLASH_BANK, 0x08000000, (flash_size), 1, "RM0468"}, \
		    {"DTCM", FT_REGION_DTCM, 0x20000000, 128 * KIB, 0, "RM0468"},                  \
		    {"AXI SRAM", FT_REGION_AXI_SRAM, 0x24000000, 320 * KIB, 0, "RM0468"},          \
		    {"AHB SRAM1", FT_REGION_AHB_SRAM, 0x30000000, 16 * KIB, 0, "RM0468"},          \
		    {"AHB SRAM2", FT_REGION_AHB_SRAM, 0x30004000, 16 * KIB, 0, "RM0468"},          \
		    {"SRAM4", FT_REGION_SRD_SRAM, 0x38000000, 16 * KIB, 0, "RM0468"},              \
		    {"Peripherals", FT_REGION_PERIPHERAL, 0x40000000, 0x20000000, 0, "RM0468"},    \
		    {"OCTOSPI2", FT_REGION_EXT_WINDOW, 0x70000000, 0x10000000, 0, "RM0468"},       \
		    {"OCTOSPI1", FT_REGION_EXT_WINDOW, 0x90000000, 0x10000000, 0, "RM0468"},       \
	}

static const ft_region h723xg_regions[] = H723_REGIONS(MIB);
static const ft_region h723xe_regions[] = H723_REGIONS(512 * KIB);

static const ft_bootloader_info h723_bootloader = {
    .has_usb_dfu = true,
    .reserved_count = 1,
    .reserved_ram = {{0x24000000, 0x5000}},
    .writable_count = 3,
    .writable = {{0x08000000, MIB}, {0x20004100, 0x1BF00}, {0x24005000, 0x4B000}},
    .option_bytes_addr = 0x5200201C,
    .option_bytes_size = 88,
};

static const ft_part h723xg = {
    .name = "STM32H723xG",
    .family = FT_FAMILY_H72X,
    .dev_id = 0x483,
    .flash_size_kb = 1024,
    .flash = {FT_FLASH_H72X, 1, 8, 128 * KIB, 32, MIB, {0x08000000, 0x08100000}, false},
    .region_count = sizeof(h723xg_regions) / sizeof(h723xg_regions[0]),
    .regions = h723xg_regions,
    .bootloader = &h723_bootloader,
};

static const ft_part h723xe = {
    .name = "STM32H723xE",
    .family = FT_FAMILY_H72X,
    .dev_id = 0x483,
    .flash_size_kb = 512,
    .flash = {FT_FLASH_H72X, 1, 4, 128 * KIB, 32, 512 * KIB, {0x08000000, 0x08100000}, false},
    .region_count = sizeof(h723xe_regions) / sizeof(h723xe_regions[0]),
    .regions = h723xe_regions,
    .bootloader = &h723_bootloader,
};

static const ft_region h7a3xi_regions[] = {
    {"Flash bank 1", FT_REGION_FLASH_BANK, 0x08000000, MIB, 1, "RM0455"},
    {"Flash bank 2", FT_REGION_FLASH_BANK, 0x08100000, MIB, 2, "RM0455"},
    {"User OTP", FT_REGION_OTP, 0x08FFF000, 1 * KIB, 0, "RM0455"},
    {"AXI SRAM1", FT_REGION_AXI_SRAM, 0x24000000, 256 * KIB, 0, "RM0455"},
};

static const ft_part h7a3xi = {
    .name = "STM32H7A3xI",
    .family = FT_FAMILY_H7AX,
    .dev_id = 0x480,
    .flash_size_kb = 2048,
    .flash = {FT_FLASH_H7AX, 2, 128, 8 * KIB, 16, MIB, {0x08000000, 0x08100000}, true},
    .region_count = sizeof(h7a3xi_regions) / sizeof(h7a3xi_regions[0]),
    .regions = h7a3xi_regions,
    .bootloader = &h743_bootloader,
};

static const ft_region n657_regions[] = {
    {"ITCM", FT_REGION_ITCM, 0x00000000, 256 * KIB, 0, "RM0486"},
    {"Boot ROM", FT_REGION_SYSTEM_MEMORY, 0x08000000, 128 * KIB, 0, "RM0486"},
    {"AXISRAM1", FT_REGION_AXI_SRAM, 0x34000000, MIB, 0, "RM0486"},
    {"AXISRAM2", FT_REGION_AXI_SRAM, 0x34100000, MIB, 0, "RM0486"},
    {"XSPI2", FT_REGION_EXT_WINDOW, 0x70000000, 0x10000000, 0, "RM0486"},
    {"XSPI3", FT_REGION_EXT_WINDOW, 0x80000000, 0x10000000, 0, "RM0486"},
    {"XSPI1", FT_REGION_EXT_WINDOW, 0x90000000, 0x10000000, 0, "RM0486"},
};

static const ft_part n657 = {
    .name = "STM32N657x0",
    .family = FT_FAMILY_N6,
    .dev_id = 0x486,
    .region_count = sizeof(n657_regions) / sizeof(n657_regions[0]),
    .regions = n657_regions,
};

/* ---- fixture -------------------------------------------------------------------------------- */

#define MAX_SEGMENTS 8

static struct {
	ft_segment segments[MAX_SEGMENTS];
	const ft_segment *list[MAX_SEGMENTS];
	uint8_t *data[MAX_SEGMENTS];
	size_t count;
	ft_plan *plan;
	ft_diag diag;
} fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
}

static void teardown(void)
{
	ft_plan_free(fx.plan);
	for (size_t i = 0; i < fx.count; i++)
		free(fx.data[i]);
	memset(&fx, 0, sizeof(fx));
}

/* An ELF PT_LOAD with p_paddr = p_vaddr = addr, filled with fill + offset. */
static ft_segment *add_segment(uint32_t addr, uint32_t size)
{
	CU_ASSERT_FATAL(fx.count < MAX_SEGMENTS);
	size_t i = fx.count++;
	ft_segment *seg = &fx.segments[i];
	if (size) {
		fx.data[i] = malloc(size);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fx.data[i]);
		for (uint32_t k = 0; k < size; k++)
			fx.data[i][k] = (uint8_t)(0x11 * (i + 1) + k);
	}
	*seg = (ft_segment){.addr = addr,
	                    .size = size,
	                    .mem_size = size,
	                    .run_addr = addr,
	                    .data = fx.data[i],
	                    .file = "app.elf",
	                    .format = FT_IMAGE_ELF,
	                    .index = (int)i,
	                    .elf_flags = 6};
	fx.list[i] = seg;
	return seg;
}

static ft_error build(const ft_part *part, ft_route transport, bool skip_volatile)
{
	ft_plan_options options = {.transport = transport, .skip_volatile = skip_volatile};
	ft_error err = ft_plan_build(part, fx.list, fx.count, &options, &fx.plan, &fx.diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.plan);
	return err;
}

static const ft_plan_segment *verdict_of(size_t i)
{
	const ft_plan_segment *ps = ft_plan_segment_at(fx.plan, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	return ps;
}

#define ASSERT_CONTAINS(text, needle)                                                              \
	do {                                                                                       \
		char ft_c_[600];                                                                   \
		snprintf(ft_c_, sizeof(ft_c_), "\"%s\" contains \"%s\"", (text), (needle));        \
		CU_assertImplementation(strstr((text), (needle)) != NULL, __LINE__, ft_c_,         \
		                        __FILE__, "", CU_FALSE);                                   \
	} while (0)

#define ASSERT_RULE(i, want_verdict, want_rule)                                                    \
	do {                                                                                       \
		CU_ASSERT_STRING_EQUAL(ft_verdict_name(verdict_of(i)->verdict),                    \
		                       ft_verdict_name(want_verdict));                             \
		CU_ASSERT_STRING_EQUAL(ft_plan_rule_name(verdict_of(i)->rule),                     \
		                       ft_plan_rule_name(want_rule));                              \
	} while (0)

static void assert_nothing_to_do(void)
{
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 0);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 0);
	FT_ASSERT_HEX(ft_plan_verify_count(fx.plan), 0);
}

static void assert_erase(size_t i, unsigned bank, unsigned sector, uint32_t start, uint32_t size)
{
	const ft_plan_erase *e = ft_plan_erase_at(fx.plan, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	FT_ASSERT_HEX(e->bank, bank);
	FT_ASSERT_HEX(e->sector, sector);
	FT_ASSERT_HEX(e->start, start);
	FT_ASSERT_HEX(e->size, size);
}

static void assert_write(size_t i, uint32_t start, uint32_t size, uint32_t padding)
{
	const ft_plan_write *w = ft_plan_write_at(fx.plan, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	FT_ASSERT_HEX(w->start, start);
	FT_ASSERT_HEX(w->size, size);
	FT_ASSERT_HEX(w->padding, padding);
}

static const ft_section lwip_sections[] = {
    {".RxDecripSection", 0x30000000, 0x60, false},
    {".TxDecripSection", 0x30000060, 0x60, false},
};

static const ft_section text_sections[] = {
    {".isr_vector", 0x08000000, 0x298, false},
    {".text", 0x08000298, 0x9D68, false},
};

/* Field report A: flash image plus Ethernet descriptors in RAM_D2 on an H723, over DFU. */
static void add_report_a_image(void)
{
	ft_segment *text = add_segment(0x08000000, 40 * KIB);
	text->sections = text_sections;
	text->section_count = 2;
	text->elf_flags = 5;
	ft_segment *lwip = add_segment(0x30000000, 0x300);
	lwip->sections = lwip_sections;
	lwip->section_count = 2;
}

/* ---- I01-I07: RAM segments --------------------------------------------------------------------
 */

static void test_ram_d2_segment_is_refused_over_dfu_and_nothing_erased(void)
{
	add_report_a_image();
	FT_ASSERT_HEX(build(&h723xg, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_get_status(fx.plan), FT_PLAN_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_PROGRAM, FT_RULE_NONE);
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text, "flash bank 1 sector 0");
	ASSERT_RULE(1, FT_VERDICT_REFUSE, FT_RULE_DFU_VOLATILE);
	CU_ASSERT_STRING_EQUAL(verdict_of(1)->region->name, "AHB SRAM1");
	CU_ASSERT_STRING_EQUAL(verdict_of(1)->region_text, "RAM_D2 / AHB SRAM1 (volatile)");
	const char *reason = verdict_of(1)->reason;
	ASSERT_CONTAINS(reason, "the system bootloader only accepts flash, option bytes and RAM "
	                        "0x20004100-0x2001FFFF, 0x24005000-0x2404FFFF");
	ASSERT_CONTAINS(reason, "(0x24000000-0x24004FFF is used by the bootloader)");
	const char *fix = verdict_of(1)->fix;
	ASSERT_CONTAINS(fix, "declare the output section (NOLOAD) in the linker script");
	ASSERT_CONTAINS(fix,
	                ".lwip_sec (NOLOAD) : { *(.RxDecripSection) *(.TxDecripSection) } >RAM_D2");
	ASSERT_CONTAINS(fix, "--skip-volatile");
	assert_nothing_to_do();
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "refused: 1 of 2 segments");
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "nothing will be erased");
	ASSERT_CONTAINS(fx.diag.message, "refused");
}

static void test_skip_volatile_programs_only_flash_over_dfu(void)
{
	add_report_a_image();
	FT_ASSERT_HEX(build(&h723xg, FT_ROUTE_DFU, true), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_PROGRAM, FT_RULE_NONE);
	ASSERT_RULE(1, FT_VERDICT_SKIP, FT_RULE_VOLATILE_SKIPPED);
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 1);
	assert_erase(0, 1, 0, 0x08000000, 0x20000);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 1);
	assert_write(0, 0x08000000, 40 * KIB, 0);
	FT_ASSERT_BYTES(ft_plan_write_at(fx.plan, 0)->data, fx.data[0], 40 * KIB);
	FT_ASSERT_HEX(ft_plan_verify_count(fx.plan), 1);
	FT_ASSERT_HEX(ft_plan_verify_at(fx.plan, 0)->start, 0x08000000);
	FT_ASSERT_HEX(ft_plan_verify_at(fx.plan, 0)->size, 40 * KIB);
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "1 skipped");
}

static void test_ram_segment_over_swd_is_written_with_warning_but_not_verified(void)
{
	add_report_a_image();
	FT_ASSERT_HEX(build(&h723xg, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(1, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_CONTAINS(verdict_of(1)->reason, "lost at reset");
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 2);
	assert_write(1, 0x30000000, 0x300, 0);
	CU_ASSERT_FALSE(ft_plan_write_at(fx.plan, 1)->persistent);
	CU_ASSERT_TRUE(ft_plan_write_at(fx.plan, 0)->persistent);
	FT_ASSERT_HEX(ft_plan_verify_count(fx.plan), 1);
	FT_ASSERT_HEX(ft_plan_verify_at(fx.plan, 0)->start, 0x08000000);
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 1);
	FT_ASSERT_HEX(ft_plan_get_totals(fx.plan)->ram, 1);
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "1 to RAM only, lost at reset");
}

static void test_dtcm_progbits_buffer_is_refused_over_dfu_naming_dtcm(void)
{
	static const ft_section dtcm[] = {{".DTCMRAM", 0x20000000, 21208, false}};
	add_segment(0x08000000, 0x1000);
	ft_segment *buffer = add_segment(0x20000000, 21208);
	buffer->sections = dtcm;
	buffer->section_count = 1;
	memset(fx.data[1], 0, 21208);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(1, FT_VERDICT_REFUSE, FT_RULE_DFU_WORK_AREA);
	CU_ASSERT_STRING_EQUAL(verdict_of(1)->region_text, "DTCM (volatile)");
	ASSERT_CONTAINS(verdict_of(1)->reason,
	                "overlaps system-bootloader work area 0x20000000-0x200040FF (DTCM RAM)");
	ASSERT_CONTAINS(verdict_of(1)->reason, "RAM 0x20004100-0x2001FFFF");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(1)->reason, "used by the bootloader"));
	ASSERT_CONTAINS(verdict_of(1)->fix, ".DTCMRAM (NOLOAD) : { *(.DTCMRAM) } >DTCMRAM");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(1)->fix, "initial values"));
	assert_nothing_to_do();
}

static void test_axi_sram_segment_in_bootloader_work_area_is_refused(void)
{
	add_segment(0x24000000, 0x40);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_DFU_WORK_AREA);
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "overlaps system-bootloader work area 0x24000000-0x24004FFF");
	ASSERT_CONTAINS(verdict_of(0)->fix, "(NOLOAD)");
	ASSERT_CONTAINS(verdict_of(0)->fix, "initial values");
}

static void test_ram_inside_bootloader_window_is_still_refused_as_volatile(void)
{
	add_segment(0x20010000, 0x100);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_DFU_VOLATILE);
	ASSERT_CONTAINS(verdict_of(0)->reason, "would write it, but RAM is lost at reset");
}

static void test_zero_filesz_segments_are_ignored_and_never_erased(void)
{
	add_segment(0x08000000, 0x100);
	ft_segment *bss = add_segment(0x2002DB48, 0);
	bss->mem_size = 0x600;
	ft_segment *noload = add_segment(0x081958E8, 0);
	noload->run_addr = 0x2007E000;
	ft_segment *sdram = add_segment(0xC0000000, 0);
	sdram->mem_size = 0x177000;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_OK);
	for (size_t i = 1; i <= 3; i++) {
		ASSERT_RULE(i, FT_VERDICT_SKIP, FT_RULE_EMPTY);
		ASSERT_CONTAINS(verdict_of(i)->note, "ignored, nothing erased or written");
		CU_ASSERT_STRING_EQUAL(verdict_of(i)->reason, "");
	}
	ASSERT_CONTAINS(verdict_of(1)->note, "memsz 0x600");
	/* 0x081958E8 is bank 2 sector 4: it must not be erased for a segment with no bytes */
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 1);
	assert_erase(0, 1, 0, 0x08000000, 0x20000);
	FT_ASSERT_HEX(ft_plan_get_totals(fx.plan)->skip, 3);
}

static void test_data_image_is_written_at_its_load_address(void)
{
	static const ft_section data[] = {{".data", 0x0800A000, 0x1C, false}};
	ft_segment *seg = add_segment(0x0800A000, 0x1C);
	seg->run_addr = 0x24000000;
	seg->sections = data;
	seg->section_count = 1;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_PROGRAM, FT_RULE_NONE);
	ASSERT_CONTAINS(verdict_of(0)->note, "runs at 0x24000000");
	assert_write(0, 0x0800A000, 0x20, 4);
}

/* .data AT> a RAM: the segment is the initial values the startup code copies to run_addr, so
 * (NOLOAD) would lose them; the load region has to move to flash instead. */
static void test_ram_loaded_data_image_is_not_told_to_become_noload(void)
{
	static const ft_section data[] = {{".data", 0x24010000, 0x40, false}};
	ft_segment *seg = add_segment(0x24010000, 0x40);
	seg->run_addr = 0x20000000;
	seg->sections = data;
	seg->section_count = 1;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_CONTAINS(verdict_of(0)->fix, "initial values of data that runs at 0x20000000");
	ASSERT_CONTAINS(verdict_of(0)->fix, "AT> FLASH instead of AT> RAM_D1");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->fix, "NOLOAD"));
}

/* A segment whose file bytes are only the ELF headers (ld mapped them into a PT_LOAD of NOBITS
 * sections) carries nothing of the program: nothing is erased or written for it. */
static void test_segment_of_only_elf_headers_is_skipped(void)
{
	add_segment(0x08000000, 0xF4)->headers_only = true;
	add_segment(0x08020000, 0x100)->elf_flags = 5;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_SKIP, FT_RULE_ELF_HEADERS);
	ASSERT_CONTAINS(verdict_of(0)->note, "only the ELF header and program headers");
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->reason, "");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 1);
	assert_erase(0, 1, 1, 0x08020000, 0x20000);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 1);
	assert_write(0, 0x08020000, 0x100, 0);
	FT_ASSERT_HEX(ft_plan_get_totals(fx.plan)->skip, 1);
}

static void test_itcm_code_is_refused_over_dfu(void)
{
	static const ft_section itcm[] = {{".itcm_text", 0x00000000, 0x800, false}};
	ft_segment *seg = add_segment(0x00000000, 0x800);
	seg->sections = itcm;
	seg->section_count = 1;
	seg->elf_flags = 5;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_DFU_VOLATILE);
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text, "ITCM (volatile)");
	ASSERT_CONTAINS(verdict_of(0)->reason, "ITCM RAM is volatile");
	ASSERT_CONTAINS(
	    verdict_of(0)->reason,
	    "(0x20000000-0x200040FF, 0x24000000-0x24004FFF are used by the bootloader)");
	ASSERT_CONTAINS(verdict_of(0)->fix, "AT> FLASH");
}

static void test_itcm_code_over_swd_warns_debugger_only(void)
{
	ft_segment *seg = add_segment(0x00000000, 0x800);
	seg->elf_flags = 5;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_CONTAINS(verdict_of(0)->reason, "code copied to ITCM RAM by the debugger only");
	ASSERT_CONTAINS(verdict_of(0)->fix, "add AT> FLASH");
	ASSERT_CONTAINS(verdict_of(0)->fix, "startup code");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 0);
	FT_ASSERT_HEX(ft_plan_verify_count(fx.plan), 0);
}

/* ---- I09: overlaps -----------------------------------------------------------------------------
 */

static void test_overlapping_segments_with_different_bytes_are_refused(void)
{
	add_segment(0x08000000, 0x2000);
	add_segment(0x08001000, 0x1000);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_OVERLAP);
	ASSERT_RULE(1, FT_VERDICT_REFUSE, FT_RULE_OVERLAP);
	ASSERT_CONTAINS(verdict_of(1)->reason,
	                "segments 0 and 1 overlap at 0x08001000-0x08001FFF with different content");
	assert_nothing_to_do();
}

static void test_overlapping_segments_with_same_bytes_are_written_once(void)
{
	add_segment(0x08000000, 0x2000);
	add_segment(0x08001000, 0x1000);
	memcpy(fx.data[1], fx.data[0] + 0x1000, 0x1000);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_CONTAINS(verdict_of(1)->note, "same bytes as segment 0");
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 1);
	assert_write(0, 0x08000000, 0x2000, 0);
}

/* ---- I11, I13-I15: flash geometry --------------------------------------------------------------
 */

static void test_image_larger_than_h723xe_flash_exceeds_flash(void)
{
	add_segment(0x08000000, 700 * KIB);
	FT_ASSERT_HEX(build(&h723xe, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXCEEDS_FLASH);
	ASSERT_CONTAINS(verdict_of(0)->reason, "exceeds flash (512 KiB, FLASH_SIZE=0x200)");
	ASSERT_CONTAINS(verdict_of(0)->reason, "188 KiB past the last flash byte 0x0807FFFF");
	ASSERT_CONTAINS(verdict_of(0)->fix, "STM32H723xE has 512 KiB");
	assert_nothing_to_do();
}

static void test_address_just_past_flash_end_exceeds_flash(void)
{
	add_segment(0x08090000, 0x100);
	FT_ASSERT_HEX(build(&h723xe, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXCEEDS_FLASH);
	ASSERT_CONTAINS(verdict_of(0)->reason, "exceeds flash (512 KiB, FLASH_SIZE=0x200)");
}

/* A CM4 image linked for bank 2 (0x08100000) on a part with less flash: flash it lacks, not an
 * address one digit off. */
static void test_bank2_address_on_a_smaller_part_exceeds_flash(void)
{
	add_segment(0x08100000, 0x100);
	FT_ASSERT_HEX(build(&h723xe, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXCEEDS_FLASH);
	ASSERT_CONTAINS(verdict_of(0)->reason, "exceeds flash (512 KiB, FLASH_SIZE=0x200)");
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "0x08100000 is 512 KiB beyond the end of flash (last byte 0x0807FFFF)");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->reason, "did you mean"));
}

static void test_record_crossing_sector_boundary_erases_both_sectors(void)
{
	add_segment(0x0801FFF0, 0x20)->format = FT_IMAGE_IHEX;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_OK);
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text, "flash bank 1 sectors 0-1");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 2);
	assert_erase(0, 1, 0, 0x08000000, 0x20000);
	assert_erase(1, 1, 1, 0x08020000, 0x20000);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 1);
	assert_write(0, 0x0801FFE0, 0x40, 0x20);
	const uint8_t *data = ft_plan_write_at(fx.plan, 0)->data;
	static const uint8_t ff[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	FT_ASSERT_BYTES(data, ff, 16);
	FT_ASSERT_BYTES(data + 0x10, fx.data[0], 0x20);
	FT_ASSERT_BYTES(data + 0x30, ff, 16);
}

static void test_unaligned_tail_is_padded_to_the_flash_word_with_ff(void)
{
	add_segment(0x08000000, 0xA3F4)->format = FT_IMAGE_IHEX;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	assert_write(0, 0x08000000, 0xA400, 12);
	static const uint8_t ff[12] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	FT_ASSERT_BYTES(ft_plan_write_at(fx.plan, 0)->data + 0xA3F4, ff, 12);
	FT_ASSERT_HEX(ft_plan_verify_at(fx.plan, 0)->size, 0xA400);
	FT_ASSERT_HEX(ft_plan_get_totals(fx.plan)->padding_bytes, 12);
}

static void test_two_records_in_one_flash_word_become_one_write(void)
{
	add_segment(0x0801DFE0, 2)->format = FT_IMAGE_IHEX;
	add_segment(0x0801DFF0, 4)->format = FT_IMAGE_IHEX;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 1);
	assert_write(0, 0x0801DFE0, 32, 26);
	uint8_t expected[32];
	memset(expected, 0xFF, sizeof(expected));
	memcpy(expected, fx.data[0], 2);
	memcpy(expected + 16, fx.data[1], 4);
	FT_ASSERT_BYTES(ft_plan_write_at(fx.plan, 0)->data, expected, 32);
	ASSERT_CONTAINS(verdict_of(0)->note,
	                "shares the flash word at 0x0801DFE0 with segment 1: merged");
	ASSERT_CONTAINS(verdict_of(1)->note, "with segment 0");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 1);
	assert_erase(0, 1, 0, 0x08000000, 0x20000);
}

static void test_segment_across_both_banks_is_split_and_erased_by_address(void)
{
	add_segment(0x080FF000, 0x2000);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_PROGRAM, FT_RULE_NONE);
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text,
	                       "flash bank 1 sector 7 + bank 2 sector 0");
	ASSERT_CONTAINS(verdict_of(0)->note, "split at 0x08100000");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 2);
	assert_erase(0, 1, 7, 0x080E0000, 0x20000);
	assert_erase(1, 2, 0, 0x08100000, 0x20000);
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 2);
	FT_ASSERT_HEX(ft_plan_write_at(fx.plan, 0)->bank, 1);
	FT_ASSERT_HEX(ft_plan_write_at(fx.plan, 1)->bank, 2);
}

static void test_bank2_of_xg_part_is_erased_from_its_own_base(void)
{
	add_segment(0x08120000, 0x100);
	FT_ASSERT_HEX(build(&h743xg, FT_ROUTE_DFU, false), FT_OK);
	assert_erase(0, 2, 1, 0x08120000, 0x20000);
}

static void test_flash_running_into_xg_bank_hole_is_refused(void)
{
	add_segment(0x08070000, 0x20000);
	FT_ASSERT_HEX(build(&h743xg, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_FLASH_HOLE);
	ASSERT_CONTAINS(verdict_of(0)->reason, "crosses into no flash (bank hole) at 0x08080000");
	ASSERT_CONTAINS(verdict_of(0)->reason, "bank 2 starts at 0x08100000");
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text,
	                       "flash bank 1 sector 3 + no flash (bank hole)");
}

static void test_h7a3_pads_to_16_byte_words_and_8k_sectors(void)
{
	add_segment(0x08002008, 8);
	FT_ASSERT_HEX(build(&h7a3xi, FT_ROUTE_SWD, false), FT_OK);
	assert_write(0, 0x08002000, 16, 8);
	assert_erase(0, 1, 1, 0x08002000, 0x2000);
}

static void test_otp_bytes_are_refused(void)
{
	add_segment(0x08FFF000, 0x10);
	FT_ASSERT_HEX(build(&h7a3xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_OTP);
	ASSERT_CONTAINS(verdict_of(0)->reason, "one-time programmable");
}

/* ---- I17, I18, I20, I21: raw binaries and external memory --------------------------------- */

static void test_raw_binary_at_zero_is_itcm_not_flash(void)
{
	ft_segment *bin = add_segment(0x00000000, 0x5DA88);
	bin->format = FT_IMAGE_BIN;
	bin->file = "firmware.bin";
	bin->index = -1;
	FT_ASSERT_HEX(build(&h723xg, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_BIN_IN_RAM);
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "ITCM RAM on STM32H7, not flash; did you mean 0x08000000?");
	ASSERT_CONTAINS(verdict_of(0)->fix, "--address 0x08000000");
}

static void test_raw_binary_in_ram_is_refused_even_when_skipping_volatile(void)
{
	add_segment(0x00000000, 0x100)->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, true), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_BIN_IN_RAM);
}

static void test_srec_with_external_records_is_refused_before_any_erase(void)
{
	ft_segment *internal = add_segment(0x08000000, 40 * KIB);
	ft_segment *external = add_segment(0x90000000, 0x4F0E8);
	const ft_segment *both[] = {internal, external};
	for (int i = 0; i < 2; i++) {
		ft_segment *seg = (ft_segment *)both[i];
		seg->format = FT_IMAGE_SREC;
		seg->file = "app.srec";
		seg->index = -1;
		seg->elf_flags = 0;
	}
	internal->first_line = 2;
	internal->last_line = 1281;
	external->first_line = 1282;
	external->last_line = 11448;
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_PROGRAM, FT_RULE_NONE);
	ASSERT_RULE(1, FT_VERDICT_REFUSE, FT_RULE_EXT_NEEDS_LOADER);
	CU_ASSERT_STRING_EQUAL(verdict_of(1)->region_text, "QUADSPI window (external memory)");
	ASSERT_CONTAINS(
	    verdict_of(1)->reason,
	    "segment in the QUADSPI window (external memory) requires an external loader");
	ASSERT_CONTAINS(verdict_of(1)->fix, "pass an external loader (--loader FILE.stldr)");
	assert_nothing_to_do();
}

static void test_external_window_over_dfu_is_impossible(void)
{
	add_segment(0x90000000, 128 * KIB);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXT_OVER_DFU);
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "the system bootloader cannot program external memory");
	ASSERT_CONTAINS(verdict_of(0)->reason, "STM32H7R/S");
	ASSERT_CONTAINS(verdict_of(0)->fix, "--transport swd");
}

static void test_external_base_with_digit_dropped_suggests_quadspi(void)
{
	add_segment(0x09000000, 0x1000);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_UNMAPPED);
	CU_ASSERT_STRING_EQUAL(verdict_of(0)->region_text, "unmapped");
	ASSERT_CONTAINS(verdict_of(0)->reason, "no memory of STM32H743xI at 0x09000000-0x09000FFF");
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "did you mean 0x90000000 (QUADSPI window)? a hex digit dropped or added");
	ASSERT_CONTAINS(verdict_of(0)->fix, "0x90000000 is the start of the QUADSPI window");
}

static void test_flash_address_off_by_one_digit_suggests_flash(void)
{
	add_segment(0x08800000, 0x100);
	FT_ASSERT_HEX(build(&h723xg, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_UNMAPPED);
	ASSERT_CONTAINS(verdict_of(0)->reason,
	                "did you mean 0x08000000 (flash bank 1)? one hex digit differs");
}

static void test_n6_addresses_on_h7_get_no_far_fetched_suggestion(void)
{
	add_segment(0x34000400, 0x100);
	add_segment(0x71000000, 0x100);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_UNMAPPED);
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->reason, "did you mean"));
	CU_ASSERT_PTR_NULL(strstr(verdict_of(1)->reason, "did you mean"));
}

static void test_unmapped_address_far_from_anything_has_no_suggestion(void)
{
	add_segment(0xE1234560, 0x10);
	FT_ASSERT_HEX(build(&h7a3xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_UNMAPPED);
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->reason, "did you mean"));
	ASSERT_CONTAINS(verdict_of(0)->fix, "flashtwin parts STM32H7A3xI");
}

/* ---- STM32N6: field report D, N01, I24 ------------------------------------------------------- */

static void test_n6_image_without_loader_is_refused_with_fix_list(void)
{
	add_segment(0x00000000, 0x10000)->elf_flags = 5;
	add_segment(0x34000400, 0x1000);
	add_segment(0x71000000, 0x2000);
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_RULE(1, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_RULE(2, FT_VERDICT_REFUSE, FT_RULE_EXT_NEEDS_LOADER);
	CU_ASSERT_STRING_EQUAL(verdict_of(2)->region_text, "XSPI2 window (external memory)");
	ASSERT_CONTAINS(verdict_of(0)->fix, "signed FSBL image");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->fix, "AT> FLASH"));
	const char *conclusion = ft_plan_conclusion(fx.plan);
	ASSERT_CONTAINS(conclusion, "app.elf contains no segment in programmable memory of "
	                            "STM32N657x0 (id 0x486: no internal flash)");
	FT_ASSERT_HEX(ft_plan_advice_count(fx.plan), 4);
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 0), "STM32N657x0 has no internal flash");
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 1), "BOOT1=1");
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 2), "--loader");
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 3), "FSBL-trusted.bin @0x70000000");
	assert_nothing_to_do();
}

/* A headed FSBL at the XSPI2 boot address: 0x400 bytes of STM32 header v2.3, then a payload
 * whose reset vector (0x34180401, Thumb) lies in it as the boot ROM places it (devices.md §6.2). */
static ft_segment *add_headed_fsbl(void)
{
	ft_segment *seg = add_segment(0x70000000, 0x800);
	uint8_t *data = fx.data[fx.count - 1];
	static const uint8_t reset[4] = {0x01, 0x04, 0x18, 0x34};
	memcpy(data + 0x404, reset, sizeof(reset));
	FT_ASSERT_HEX(ft_stm32_header_build_fsbl(data + 0x400, 0x400, data, NULL), FT_OK);
	return seg;
}

/* A signed image at its XSPI address is already the right artefact: the advice keeps BOOT1 and
 * the loader, not "program signed images rather than a load-and-run ELF". */
static void test_n6_signed_image_in_xspi_gets_no_load_and_run_advice(void)
{
	add_headed_fsbl()->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXT_NEEDS_LOADER);
	FT_ASSERT_HEX(ft_plan_advice_count(fx.plan), 3);
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 1), "BOOT1=1");
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 2), "--loader");
}

/* Field report D's last step: bytes at 0x70000000 without the header program fine and never
 * boot; the plan says so and names the signing tool. */
static void test_n6_unsigned_fsbl_at_boot_address_gets_the_signing_fix(void)
{
	add_segment(0x70000000, 0x800)->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_advice_count(fx.plan), 5);
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 3),
	                "segment 0 at 0x70000000: no valid STM32 header v2.3 (STM32 header 0x00 "
	                "magic");
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 4),
	                "STM32_SigningTool_CLI -bin FILE.bin -nk -of 0x80000000 -t fsbl -hv 2.3 "
	                "-align");
}

static void test_n6_fsbl_with_a_wrong_checksum_names_the_header_field(void)
{
	add_headed_fsbl();
	fx.data[0][0x500] ^= 0xFF;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_advice_count(fx.plan), 5);
	ASSERT_CONTAINS(ft_plan_advice_at(fx.plan, 3), "STM32 header 0x64 checksum");
}

/* An application update at 0x70100000 leaves the FSBL alone: nothing to check. */
static void test_n6_app_alone_gets_no_header_advice(void)
{
	add_segment(0x70100000, 0x800)->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_advice_count(fx.plan), 3);
}

static void test_n6_raw_binary_at_zero_points_at_external_windows(void)
{
	add_segment(0x00000000, 0x100)->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_BIN_IN_RAM);
	ASSERT_CONTAINS(verdict_of(0)->reason, "ITCM RAM on STM32N6, not flash");
	ASSERT_CONTAINS(verdict_of(0)->reason, "XSPI2 0x70000000");
}

static void test_n6_progbits_in_fsbl_ram_is_flagged(void)
{
	static const ft_section nc[] = {{".noncacheable", 0x341C0000, 0x100, false}};
	ft_segment *seg = add_segment(0x341C0000, 0x100);
	seg->sections = nc;
	seg->section_count = 1;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_CONTAINS(verdict_of(0)->reason, "FSBL load region 0x34180000-0x341FFFFF");
	ASSERT_CONTAINS(verdict_of(0)->fix, ".noncacheable (NOLOAD)");
	CU_ASSERT_STRING_EQUAL(
	    ft_plan_conclusion(fx.plan),
	    "programmable over SWD: 1 segment (256 B): write 256 B; 1 to RAM only, "
	    "lost at reset");
}

/* The .data image inside the FSBL (LMA in the FSBL region, run elsewhere) is part of what the
 * boot ROM loads: the fix is the signed FSBL, never (NOLOAD). */
static void test_n6_fsbl_data_image_gets_the_signing_fix(void)
{
	static const ft_section data[] = {{".data", 0x341B5394, 0x618, false}};
	ft_segment *seg = add_segment(0x341B5394, 0x618);
	seg->run_addr = 0x340C0000;
	seg->sections = data;
	seg->section_count = 1;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_SWD, false), FT_OK);
	ASSERT_RULE(0, FT_VERDICT_VOLATILE, FT_RULE_VOLATILE);
	ASSERT_CONTAINS(verdict_of(0)->fix, "sign the FSBL");
	ASSERT_CONTAINS(verdict_of(0)->fix, "signed .bin at 0x70000000");
	CU_ASSERT_PTR_NULL(strstr(verdict_of(0)->fix, "NOLOAD"));
}

static void test_n6_over_dfu_has_no_memory_writing_bootloader(void)
{
	add_segment(0x34000400, 0x100);
	add_segment(0x70000000, 0x100)->format = FT_IMAGE_BIN;
	FT_ASSERT_HEX(build(&n657, FT_ROUTE_DFU, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_DFU_UNAVAILABLE);
	ASSERT_CONTAINS(verdict_of(0)->fix, "--transport swd");
	/* not "only the STM32H7R/S bootloader can": the N6 has no memory-writing DFU at all */
	ASSERT_RULE(1, FT_VERDICT_REFUSE, FT_RULE_DFU_UNAVAILABLE);
	ASSERT_CONTAINS(verdict_of(1)->reason, "no system-bootloader USB DFU");
}

/* ---- the plan as a whole ------------------------------------------------------------------- */

static void test_only_skipped_segments_make_an_empty_plan(void)
{
	add_segment(0x20010000, 0x100);
	add_segment(0x2002DB48, 0);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, true), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_get_status(fx.plan), FT_PLAN_EMPTY);
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "nothing to program: 2 segments skipped");
	assert_nothing_to_do();
}

static void test_empty_segment_list_makes_an_empty_plan(void)
{
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	FT_ASSERT_HEX(ft_plan_get_status(fx.plan), FT_PLAN_EMPTY);
	ASSERT_CONTAINS(ft_plan_conclusion(fx.plan), "the image has no segments");
}

static void test_programmable_plan_concludes_with_totals(void)
{
	add_segment(0x08000000, 0x1000);
	add_segment(0x08100000, 0x10);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_DFU, false), FT_OK);
	const ft_plan_totals *t = ft_plan_get_totals(fx.plan);
	FT_ASSERT_HEX(t->program, 2);
	FT_ASSERT_HEX(t->sectors, 2);
	FT_ASSERT_HEX(t->erase_bytes, 0x40000);
	FT_ASSERT_HEX(t->write_bytes, 0x1020);
	FT_ASSERT_HEX(t->padding_bytes, 0x10);
	CU_ASSERT_STRING_EQUAL(ft_plan_conclusion(fx.plan),
	                       "programmable over USB DFU: 2 segments (4.0 KiB): erase 2 sectors "
	                       "(256 KiB), write 4.0 KiB (16 B of 0xFF padding)");
}

static void test_segment_wrapping_past_4_gib_is_refused(void)
{
	add_segment(0xFFFFFF00, 0x200);
	FT_ASSERT_HEX(build(&h743xi, FT_ROUTE_SWD, false), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_UNMAPPED);
}

static void test_missing_arguments_are_invalid(void)
{
	ft_plan *plan = (ft_plan *)1;
	ft_plan_options options = {0};
	FT_ASSERT_HEX(ft_plan_build(NULL, NULL, 0, &options, &plan, &fx.diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(plan);
	FT_ASSERT_HEX(ft_plan_build(&h743xi, NULL, 1, &options, &plan, &fx.diag),
	              FT_ERR_INVALID_ARG);
}

static void test_names_and_sizes_are_stable(void)
{
	char text[32];
	ft_plan_format_size(768, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "768 B");
	ft_plan_format_size(61645, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "60.2 KiB");
	ft_plan_format_size(2 * MIB, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "2 MiB");
	ft_route t;
	CU_ASSERT_TRUE(ft_route_parse("SWD", &t));
	FT_ASSERT_HEX(t, FT_ROUTE_SWD);
	CU_ASSERT_FALSE(ft_route_parse("uart", &t));
	CU_ASSERT_STRING_EQUAL(ft_plan_rule_name(FT_RULE_DFU_WORK_AREA), "dfu-work-area");
	CU_ASSERT_STRING_EQUAL(ft_plan_rule_name(FT_RULE_ELF_HEADERS), "elf-headers");
	CU_ASSERT_STRING_EQUAL(ft_verdict_name(FT_VERDICT_VOLATILE), "volatile");
	CU_ASSERT_STRING_EQUAL(ft_plan_status_name(FT_PLAN_EMPTY), "empty");
}

/* A W25Q256-like device at the QUADSPI window: 32 MiB in 64 KiB sectors. */
static ft_error build_with_loader(const ft_part *part)
{
	ft_plan_external ext = {.name = "W25Q256_H743.stldr",
	                        .start = 0x90000000,
	                        .size = 0x2000000,
	                        .group_count = 1,
	                        .groups = {{512, 0x10000}}};
	ft_plan_options options = {.transport = FT_ROUTE_SWD, .external = &ext};
	ft_error err = ft_plan_build(part, fx.list, fx.count, &options, &fx.plan, &fx.diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.plan);
	return err;
}

static void test_qspi_segment_inside_the_loaders_device_is_programmed_through_it(void)
{
	add_segment(0x08000000, 0x400);
	add_segment(0x9000FF00, 0x200); /* crosses from external sector 0 into sector 1 */
	FT_ASSERT_HEX(build_with_loader(&h743xi), FT_OK);
	ASSERT_RULE(1, FT_VERDICT_PROGRAM, FT_RULE_EXT_LOADER);
	ASSERT_CONTAINS(verdict_of(1)->note, "through external loader W25Q256_H743.stldr");
	FT_ASSERT_HEX(ft_plan_write_count(fx.plan), 2);
	const ft_plan_write *w = ft_plan_write_at(fx.plan, 1);
	FT_ASSERT_HEX(w->start, 0x9000FF00);
	FT_ASSERT_HEX(w->size, 0x200); /* no flash-word padding outside internal flash */
	CU_ASSERT_TRUE(w->external && w->persistent);
	FT_ASSERT_HEX(w->bank, 0);
	CU_ASSERT_FALSE(ft_plan_write_at(fx.plan, 0)->external);
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 3);
	const ft_plan_erase *e1 = ft_plan_erase_at(fx.plan, 1), *e2 = ft_plan_erase_at(fx.plan, 2);
	FT_ASSERT_HEX(e1->bank, 0);
	FT_ASSERT_HEX(e1->start, 0x90000000);
	FT_ASSERT_HEX(e1->size, 0x10000);
	FT_ASSERT_HEX(e2->sector, 1);
	FT_ASSERT_HEX(e2->start, 0x90010000);
	FT_ASSERT_HEX(ft_plan_verify_count(fx.plan), 2);
}

static void test_segment_past_the_loaders_device_is_refused_naming_it(void)
{
	add_segment(0x91FFFF00, 0x200); /* the last 0x100 bytes lie past 32 MiB */
	FT_ASSERT_HEX(build_with_loader(&h743xi), FT_ERR_REFUSED);
	ASSERT_RULE(0, FT_VERDICT_REFUSE, FT_RULE_EXT_NEEDS_LOADER);
	ASSERT_CONTAINS(verdict_of(0)->reason, "is not inside the device of loader W25Q256_H743");
	FT_ASSERT_HEX(ft_plan_erase_count(fx.plan), 0);
}

static CU_TestInfo tests[] = {
    {"qspi_segment_inside_the_loaders_device_is_programmed_through_it",
     test_qspi_segment_inside_the_loaders_device_is_programmed_through_it},
    {"segment_past_the_loaders_device_is_refused_naming_it",
     test_segment_past_the_loaders_device_is_refused_naming_it},
    {"ram_d2_segment_is_refused_over_dfu_and_nothing_erased",
     test_ram_d2_segment_is_refused_over_dfu_and_nothing_erased},
    {"skip_volatile_programs_only_flash_over_dfu", test_skip_volatile_programs_only_flash_over_dfu},
    {"ram_segment_over_swd_is_written_with_warning_but_not_verified",
     test_ram_segment_over_swd_is_written_with_warning_but_not_verified},
    {"dtcm_progbits_buffer_is_refused_over_dfu_naming_dtcm",
     test_dtcm_progbits_buffer_is_refused_over_dfu_naming_dtcm},
    {"axi_sram_segment_in_bootloader_work_area_is_refused",
     test_axi_sram_segment_in_bootloader_work_area_is_refused},
    {"ram_inside_bootloader_window_is_still_refused_as_volatile",
     test_ram_inside_bootloader_window_is_still_refused_as_volatile},
    {"zero_filesz_segments_are_ignored_and_never_erased",
     test_zero_filesz_segments_are_ignored_and_never_erased},
    {"data_image_is_written_at_its_load_address", test_data_image_is_written_at_its_load_address},
    {"ram_loaded_data_image_is_not_told_to_become_noload",
     test_ram_loaded_data_image_is_not_told_to_become_noload},
    {"segment_of_only_elf_headers_is_skipped", test_segment_of_only_elf_headers_is_skipped},
    {"itcm_code_is_refused_over_dfu", test_itcm_code_is_refused_over_dfu},
    {"itcm_code_over_swd_warns_debugger_only", test_itcm_code_over_swd_warns_debugger_only},
    {"overlapping_segments_with_different_bytes_are_refused",
     test_overlapping_segments_with_different_bytes_are_refused},
    {"overlapping_segments_with_same_bytes_are_written_once",
     test_overlapping_segments_with_same_bytes_are_written_once},
    {"image_larger_than_h723xe_flash_exceeds_flash",
     test_image_larger_than_h723xe_flash_exceeds_flash},
    {"address_just_past_flash_end_exceeds_flash", test_address_just_past_flash_end_exceeds_flash},
    {"bank2_address_on_a_smaller_part_exceeds_flash",
     test_bank2_address_on_a_smaller_part_exceeds_flash},
    {"record_crossing_sector_boundary_erases_both_sectors",
     test_record_crossing_sector_boundary_erases_both_sectors},
    {"unaligned_tail_is_padded_to_the_flash_word_with_ff",
     test_unaligned_tail_is_padded_to_the_flash_word_with_ff},
    {"two_records_in_one_flash_word_become_one_write",
     test_two_records_in_one_flash_word_become_one_write},
    {"segment_across_both_banks_is_split_and_erased_by_address",
     test_segment_across_both_banks_is_split_and_erased_by_address},
    {"bank2_of_xg_part_is_erased_from_its_own_base",
     test_bank2_of_xg_part_is_erased_from_its_own_base},
    {"flash_running_into_xg_bank_hole_is_refused", test_flash_running_into_xg_bank_hole_is_refused},
    {"h7a3_pads_to_16_byte_words_and_8k_sectors", test_h7a3_pads_to_16_byte_words_and_8k_sectors},
    {"otp_bytes_are_refused", test_otp_bytes_are_refused},
    {"raw_binary_at_zero_is_itcm_not_flash", test_raw_binary_at_zero_is_itcm_not_flash},
    {"raw_binary_in_ram_is_refused_even_when_skipping_volatile",
     test_raw_binary_in_ram_is_refused_even_when_skipping_volatile},
    {"srec_with_external_records_is_refused_before_any_erase",
     test_srec_with_external_records_is_refused_before_any_erase},
    {"external_window_over_dfu_is_impossible", test_external_window_over_dfu_is_impossible},
    {"external_base_with_digit_dropped_suggests_quadspi",
     test_external_base_with_digit_dropped_suggests_quadspi},
    {"flash_address_off_by_one_digit_suggests_flash",
     test_flash_address_off_by_one_digit_suggests_flash},
    {"n6_addresses_on_h7_get_no_far_fetched_suggestion",
     test_n6_addresses_on_h7_get_no_far_fetched_suggestion},
    {"unmapped_address_far_from_anything_has_no_suggestion",
     test_unmapped_address_far_from_anything_has_no_suggestion},
    {"n6_image_without_loader_is_refused_with_fix_list",
     test_n6_image_without_loader_is_refused_with_fix_list},
    {"n6_signed_image_in_xspi_gets_no_load_and_run_advice",
     test_n6_signed_image_in_xspi_gets_no_load_and_run_advice},
    {"n6_unsigned_fsbl_at_boot_address_gets_the_signing_fix",
     test_n6_unsigned_fsbl_at_boot_address_gets_the_signing_fix},
    {"n6_fsbl_with_a_wrong_checksum_names_the_header_field",
     test_n6_fsbl_with_a_wrong_checksum_names_the_header_field},
    {"n6_app_alone_gets_no_header_advice", test_n6_app_alone_gets_no_header_advice},
    {"n6_raw_binary_at_zero_points_at_external_windows",
     test_n6_raw_binary_at_zero_points_at_external_windows},
    {"n6_progbits_in_fsbl_ram_is_flagged", test_n6_progbits_in_fsbl_ram_is_flagged},
    {"n6_fsbl_data_image_gets_the_signing_fix", test_n6_fsbl_data_image_gets_the_signing_fix},
    {"n6_over_dfu_has_no_memory_writing_bootloader",
     test_n6_over_dfu_has_no_memory_writing_bootloader},
    {"only_skipped_segments_make_an_empty_plan", test_only_skipped_segments_make_an_empty_plan},
    {"empty_segment_list_makes_an_empty_plan", test_empty_segment_list_makes_an_empty_plan},
    {"programmable_plan_concludes_with_totals", test_programmable_plan_concludes_with_totals},
    {"segment_wrapping_past_4_gib_is_refused", test_segment_wrapping_past_4_gib_is_refused},
    {"missing_arguments_are_invalid", test_missing_arguments_are_invalid},
    {"names_and_sizes_are_stable", test_names_and_sizes_are_stable},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"plan", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
