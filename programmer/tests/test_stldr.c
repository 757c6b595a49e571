/* The .stldr parser and the loader-contract checks, on loaders built by fixtures.mk with
 * arm-none-eabi-gcc from conformance/fixtures/src/loader_ramdisk.c (StorageInfo and entry points
 * as devices.md §6.4 describes ST's), and on copies of them damaged byte by byte at offsets the
 * ELF specification gives (ELF 1.2 book I: e_shoff 32, e_shnum 48, program headers of 32 bytes
 * with p_vaddr at 8, p_filesz at 16). */
#include "models/tests/ft_test.h"
#include "programmer/swd/stldr.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
	ft_stldr *loader;
	uint8_t *bytes;
	size_t len;
	ft_diag diag;
	ft_stldr_finding findings[16];
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = calloc(1, sizeof(*F));
	if (!F)
		abort();
}

static void teardown_fixture(void)
{
	ft_stldr_free(F->loader);
	free(F->bytes);
	free(F);
	F = NULL;
}

static void assert_contains(const char *text, const char *part)
{
	char msg[700];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

/* BUILD/fixtures/loaders/<name> for this program at BUILD/tests/<prog>. */
static void loader_path(const char *name, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		abort();
	exe[n] = '\0';
	for (int up = 0; up < 2; up++)
		*strrchr(exe, '/') = '\0';
	snprintf(out, cap, "%s/fixtures/loaders/%s", exe, name);
}

static ft_error load(const char *name)
{
	char path[PATH_MAX + 64];
	loader_path(name, path, sizeof(path));
	return ft_stldr_load_file(path, &F->loader, &F->diag);
}

/* Reads a fixture into F->bytes for damaging. */
static void read_bytes(const char *name)
{
	char path[PATH_MAX + 64];
	loader_path(name, path, sizeof(path));
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	F->len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	F->bytes = malloc(F->len);
	CU_ASSERT_FATAL(fread(F->bytes, 1, F->len, f) == F->len);
	fclose(f);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const ft_stldr_finding *finding(size_t count, ft_stldr_check check)
{
	for (size_t i = 0; i < count && i < 16; i++) {
		if (F->findings[i].check == check)
			return &F->findings[i];
	}
	return NULL;
}

/* The finding of that check, failing the test (and returning an empty one) when there is none. */
static const ft_stldr_finding *expect_finding(size_t count, ft_stldr_check check)
{
	static const ft_stldr_finding none = {0};
	const ft_stldr_finding *f = finding(count, check);
	char msg[96];
	snprintf(msg, sizeof(msg), "a %s finding", ft_stldr_check_name(check));
	CU_assertImplementation(f != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
	return f ? f : &none;
}

static size_t fatal_count(size_t count)
{
	size_t n = 0;
	for (size_t i = 0; i < count && i < 16; i++)
		n += F->findings[i].fatal;
	return n;
}

static void test_reads_storage_info_entry_points_and_segments(void)
{
	FT_ASSERT_HEX(load("flashtwin-ramdisk-h743.stldr"), FT_OK);
	const ft_stldr_storage *st = ft_stldr_storage_info(F->loader);
	CU_ASSERT_STRING_EQUAL(st->name, "flashtwin-ramdisk-h743");
	FT_ASSERT_HEX(st->type, 4);
	CU_ASSERT_STRING_EQUAL(ft_stldr_device_type_name(st->type), "SRAM");
	FT_ASSERT_HEX(st->start, 0x30000000);
	FT_ASSERT_HEX(st->size, 0x10000);
	FT_ASSERT_HEX(st->page_size, 0x100);
	FT_ASSERT_HEX(st->erase_value, 0xFF);
	FT_ASSERT_HEX(st->group_count, 1);
	FT_ASSERT_HEX(st->groups[0].count, 16);
	FT_ASSERT_HEX(st->groups[0].size, 0x1000);
	FT_ASSERT_HEX(st->terminated, true);
	for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++) {
		uint32_t a = 0;
		CU_ASSERT(ft_stldr_entry_address(F->loader, (ft_stldr_entry)e, &a));
		FT_ASSERT_HEX(a & 1u, 1u);                   /* Thumb */
		FT_ASSERT_HEX(a & 0xFFF00000u, 0x24000000u); /* linked into AXI SRAM */
	}
	uint32_t init;
	ft_stldr_entry_address(F->loader, FT_STLDR_INIT, &init);
	FT_ASSERT_HEX(init, 0x24000005); /* the first function, one word above the base */
	FT_ASSERT_HEX(ft_stldr_segment_count(F->loader), 2);
	const ft_stldr_segment *code = ft_stldr_segment_at(F->loader, 0);
	FT_ASSERT_HEX(code->addr, 0x24000004);
	FT_ASSERT_HEX(code->flags, 5); /* R X */
	FT_ASSERT_HEX(code->storage_only, false);
	CU_ASSERT(code->mem_size > code->size); /* .bss */
	FT_ASSERT_HEX(ft_stldr_segment_at(F->loader, 1)->storage_only, true);
	uint32_t lo, hi;
	ft_stldr_footprint(F->loader, &lo, &hi);
	FT_ASSERT_HEX(lo, 0x24000004);
	FT_ASSERT_HEX(hi, code->addr + code->mem_size);
}

static void test_clean_loader_has_no_fatal_finding(void)
{
	FT_ASSERT_HEX(load("flashtwin-ramdisk-h743.stldr"), FT_OK);
	ft_stldr_context ctx = {.part = ft_part_find("STM32H743ZI")};
	size_t n = ft_stldr_validate(F->loader, &ctx, F->findings, 16);
	FT_ASSERT_HEX(fatal_count(n), 0);
	FT_ASSERT_HEX(n, 1);
	/* Its "device" is RAM_D2, not an external window: said, not refused. */
	CU_ASSERT_PTR_NOT_NULL(finding(n, FT_STLDR_CHECK_DEVICE_WINDOW));
}

static void test_name_mismatch_names_both(void)
{
	FT_ASSERT_HEX(load("ramdisk-misnamed.stldr"), FT_OK);
	size_t n = ft_stldr_validate(F->loader, NULL, F->findings, 16);
	const ft_stldr_finding *f = expect_finding(n, FT_STLDR_CHECK_NAME);
	FT_ASSERT_HEX(f->fatal, false);
	assert_contains(f->message, "\"flashtwin-ramdisk-h743\" differs from the file name "
	                            "\"ramdisk-misnamed\"");
	assert_contains(f->fix, "flashtwin-ramdisk-h743.stldr");
}

static void test_missing_mass_erase_falls_back_to_sector_erase(void)
{
	FT_ASSERT_HEX(load("ramdisk-no-masserase.stldr"), FT_OK);
	uint32_t a;
	CU_ASSERT(!ft_stldr_entry_address(F->loader, FT_STLDR_MASS_ERASE, &a));
	size_t n = ft_stldr_validate(F->loader, NULL, F->findings, 16);
	const ft_stldr_finding *f = expect_finding(n, FT_STLDR_CHECK_NO_MASS_ERASE);
	FT_ASSERT_HEX(f->fatal, false);
	assert_contains(f->message, "lacks MassErase");
	assert_contains(f->fix, "sectors 0..15");
	CU_ASSERT_PTR_NULL(finding(n, FT_STLDR_CHECK_NAME));
}

static void test_overlap_with_the_programmers_work_area_is_fatal(void)
{
	FT_ASSERT_HEX(load("flashtwin-ramdisk-h743.stldr"), FT_OK);
	const ft_range work = {0x24000000, 0x1000};
	ft_stldr_context ctx = {
	    .part = ft_part_find("STM32H743ZI"), .work_areas = &work, .work_area_count = 1};
	size_t n = ft_stldr_validate(F->loader, &ctx, F->findings, 16);
	const ft_stldr_finding *f = expect_finding(n, FT_STLDR_CHECK_WORK_AREA);
	FT_ASSERT_HEX(f->fatal, true);
	assert_contains(f->message, "0x24000004..");
	assert_contains(f->message, "work area 0x24000000..0x24000fff");
	assert_contains(f->fix, "link address");
}

static void test_loader_linked_outside_ram_is_fatal(void)
{
	read_bytes("flashtwin-ramdisk-h743.stldr");
	uint32_t phoff = get32(F->bytes + 28);
	put32(F->bytes + phoff + 8, 0x08000004); /* PT_LOAD[0] p_vaddr into flash */
	FT_ASSERT_HEX(ft_stldr_load_buffer("flashtwin-ramdisk-h743.stldr", F->bytes, F->len,
	                                   &F->loader, &F->diag),
	              FT_OK);
	ft_stldr_context ctx = {.part = ft_part_find("STM32H743ZI")};
	size_t n = ft_stldr_validate(F->loader, &ctx, F->findings, 16);
	const ft_stldr_finding *f = expect_finding(n, FT_STLDR_CHECK_NOT_IN_RAM);
	FT_ASSERT_HEX(f->fatal, true);
	CU_ASSERT_PTR_NOT_NULL(finding(n, FT_STLDR_CHECK_ENTRY_OUTSIDE));
}

static void test_storage_info_outside_file_bytes_is_refused(void)
{
	read_bytes("flashtwin-ramdisk-h743.stldr");
	uint32_t phoff = get32(F->bytes + 28);
	put32(F->bytes + phoff + 32 + 16, 100); /* PT_LOAD[1] p_filesz: half of StorageInfo */
	FT_ASSERT_HEX(ft_stldr_load_buffer("x.stldr", F->bytes, F->len, &F->loader, &F->diag),
	              FT_ERR_FORMAT);
	assert_contains(F->diag.message, "StorageInfo at 0x");
	CU_ASSERT_PTR_NULL(F->loader);
}

static void test_stripped_loader_is_refused(void)
{
	read_bytes("flashtwin-ramdisk-h743.stldr");
	memset(F->bytes + 32, 0, 4); /* e_shoff */
	memset(F->bytes + 48, 0, 4); /* e_shnum, e_shstrndx */
	FT_ASSERT_HEX(ft_stldr_load_buffer("x.stldr", F->bytes, F->len, &F->loader, &F->diag),
	              FT_ERR_FORMAT);
	assert_contains(F->diag.message, "no symbol table");
}

static void test_segment_past_the_file_is_refused(void)
{
	read_bytes("flashtwin-ramdisk-h743.stldr");
	uint32_t phoff = get32(F->bytes + 28);
	put32(F->bytes + phoff + 16, 0x7FFFFFFF); /* p_filesz */
	put32(F->bytes + phoff + 20, 0x7FFFFFFF); /* p_memsz */
	FT_ASSERT_HEX(ft_stldr_load_buffer("x.stldr", F->bytes, F->len, &F->loader, &F->diag),
	              FT_ERR_FORMAT);
	assert_contains(F->diag.message, "PT_LOAD[0]");
}

static void test_truncated_and_foreign_files_are_refused(void)
{
	read_bytes("flashtwin-ramdisk-h743.stldr");
	FT_ASSERT_HEX(ft_stldr_load_buffer("x.stldr", F->bytes, 60, &F->loader, &F->diag),
	              FT_ERR_FORMAT);
	static const uint8_t text[] = "not an elf at all";
	FT_ASSERT_HEX(ft_stldr_load_buffer("y.stldr", text, sizeof(text), &F->loader, &F->diag),
	              FT_ERR_FORMAT);
	assert_contains(F->diag.message, "not an ELF");
	FT_ASSERT_HEX(ft_stldr_load_file("/nonexistent/z.stldr", &F->loader, &F->diag),
	              FT_ERR_NOT_FOUND);
}

static CU_TestInfo tests[] = {
    {"reads_storage_info_entry_points_and_segments",
     test_reads_storage_info_entry_points_and_segments},
    {"clean_loader_has_no_fatal_finding", test_clean_loader_has_no_fatal_finding},
    {"name_mismatch_names_both", test_name_mismatch_names_both},
    {"missing_mass_erase_falls_back_to_sector_erase",
     test_missing_mass_erase_falls_back_to_sector_erase},
    {"overlap_with_the_programmers_work_area_is_fatal",
     test_overlap_with_the_programmers_work_area_is_fatal},
    {"loader_linked_outside_ram_is_fatal", test_loader_linked_outside_ram_is_fatal},
    {"storage_info_outside_file_bytes_is_refused", test_storage_info_outside_file_bytes_is_refused},
    {"stripped_loader_is_refused", test_stripped_loader_is_refused},
    {"segment_past_the_file_is_refused", test_segment_past_the_file_is_refused},
    {"truncated_and_foreign_files_are_refused", test_truncated_and_foreign_files_are_refused},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"stldr", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
