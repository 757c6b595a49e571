/* The loader runner against the in-test GDB stub (gdb_stub.h): the stub runs no code, so a
 * resumed core only stops when interrupted. That is enough to check what the runner puts where
 * before a call (segments at their link address, the BKPT word, R0-R3, SP, LR, PC, xPSR), that a
 * call which does not come back is interrupted within its budget and explained, and the
 * refusals that come before anything is touched. Running loaders for real: emu/tests/
 * test_emu_loader.c (QEMU). */
#include "models/tests/ft_test.h"
#include "programmer/swd/loader_run.h"
#include "programmer/tests/gdb_stub.h"

#include <CUnit/CUnit.h>
#include <limits.h>

/* The fixture loader's link address and StorageInfo (conformance/fixtures: loader_h743.ld,
 * loader_ramdisk.c). */
#define LOAD_BASE 0x24000004u
#define PAGE      0x100u
#define BKPT      0xBE00BE00u
/* gdb_stub numbering (GDB's m-profile: r0-r15, xpsr 25) as the stub keeps registers. */
#define REG_SP   13
#define REG_LR   14
#define REG_PC   15
#define REG_XPSR 16

typedef struct fixture {
	stub stub;
	ft_swd *swd;
	ft_stldr *loader;
	ft_ldrun *run;
	ft_diag diag;
} fixture;

static fixture *F;

static void setup(void)
{
	F = calloc(1, sizeof(*F));
	if (!F)
		abort();
}

static void teardown(void)
{
	ft_ldrun_free(F->run);
	ft_swd_close(F->swd);
	ft_stldr_free(F->loader);
	stub_free(&F->stub);
	free(F);
	F = NULL;
}

static void assert_contains(const char *text, const char *part)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "text contains \"%s\"", part);
	if (!strstr(text, part))
		fprintf(stderr, "\n  in: %s\n", text);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static void loader_path(const char *name, char *out, size_t cap)
{
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		abort();
	exe[n] = '\0';
	for (int up = 0; up < 2; up++)
		*strrchr(exe, '/') = '\0';
	snprintf(out, cap, "%s/fixtures/loaders/%s.stldr", exe, name);
}

static void no_sleep(void *user, uint32_t ms)
{
	(void)user, (void)ms;
}

/* Stub, connected session, loader. */
static void connect_with(const char *loader)
{
	stub_config cfg = {.part = "STM32H743ZI", .clock = FT_CLOCK_INSTANT};
	CU_ASSERT_FATAL(stub_init(&F->stub, &cfg));
	stub_serve(&F->stub);
	char url[64], path[PATH_MAX];
	stub_url(&F->stub, url, sizeof(url));
	ft_swd_options o = {.gdb = {.timeout_ms = 1000}, .sleep_ms = no_sleep};
	FT_ASSERT_HEX(ft_swd_open(url, &o, &F->swd, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_swd_connect(F->swd, &F->diag), FT_OK);
	loader_path(loader, path, sizeof(path));
	FT_ASSERT_HEX(ft_stldr_load_file(path, &F->loader, &F->diag), FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(F->loader);
}

static uint32_t ram_u32(uint32_t addr)
{
	stub_ram *r = stub_ram_at(&F->stub, addr, 4);
	if (!r) {
		CU_FAIL("no stub RAM there");
		return 0;
	}
	const uint8_t *p = r->bytes + (addr - r->start);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_layout_puts_breakpoint_stack_and_buffer_above_the_loader(void)
{
	char path[PATH_MAX];
	loader_path("flashtwin-ramdisk-h743", path, sizeof(path));
	FT_ASSERT_HEX(ft_stldr_load_file(path, &F->loader, &F->diag), FT_OK);
	ft_ldrun_layout l;
	FT_ASSERT_HEX(ft_ldrun_layout_for(F->loader, ft_part_find("STM32H743ZI"), &l, &F->diag),
	              FT_OK);
	FT_ASSERT_HEX(l.load_start, LOAD_BASE);
	CU_ASSERT(l.breakpoint >= l.load_end && l.breakpoint % 8 == 0);
	FT_ASSERT_HEX(l.stack_top, l.breakpoint + 8 + 0x1000);
	FT_ASSERT_HEX(l.buffer, l.stack_top);
	FT_ASSERT_HEX(l.buffer_size, 0x10000); /* AXI SRAM (512 KiB at 0x24000000) has room */
	FT_ASSERT_HEX(l.buffer_size % PAGE, 0);
	FT_ASSERT_HEX(l.work[0].start, l.breakpoint);
	FT_ASSERT_HEX(l.work[1].start, l.buffer);
}

static void test_call_that_never_returns_is_interrupted_and_explained(void)
{
	connect_with("flashtwin-ramdisk-h743");
	ft_ldrun_options o = {.call_timeout_ms = 200};
	FT_ASSERT_HEX(ft_ldrun_new(F->swd, F->loader, &o, &F->run, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_init(F->run, &F->diag), FT_ERR_TIMEOUT);
	assert_contains(F->diag.message, "Init() did not return within 200 ms");
	assert_contains(F->diag.message, "in Init+0x0");
	const ft_ldrun_layout layout = *ft_ldrun_get_layout(F->run), *l = &layout;
	uint32_t init;
	CU_ASSERT_FATAL(ft_stldr_entry_address(F->loader, FT_STLDR_INIT, &init));
	ft_ldrun_free(F->run); /* before its session: it clears its breakpoint */
	F->run = NULL;
	ft_swd_close(F->swd);
	F->swd = NULL;
	stub_stop(&F->stub);
	/* what the call began with, as the stub's core was left */
	FT_ASSERT_HEX(F->stub.regs[REG_PC], init & ~1u);
	FT_ASSERT_HEX(F->stub.regs[REG_LR], l->breakpoint | 1u);
	FT_ASSERT_HEX(F->stub.regs[REG_SP], l->stack_top);
	FT_ASSERT_HEX(F->stub.regs[REG_XPSR], 0x01000000u);
	FT_ASSERT_HEX(ram_u32(l->breakpoint), BKPT);
	/* the loader's code at its link address, byte for byte */
	const ft_stldr_segment *seg = ft_stldr_segment_at(F->loader, 0);
	stub_ram *r = stub_ram_at(&F->stub, seg->addr, seg->size);
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r)
		FT_ASSERT_BYTES(r->bytes + (seg->addr - r->start), seg->data, seg->size);
}

static void test_call_after_a_failed_init_is_refused(void)
{
	connect_with("flashtwin-ramdisk-h743");
	ft_ldrun_options o = {.call_timeout_ms = 100};
	FT_ASSERT_HEX(ft_ldrun_new(F->swd, F->loader, &o, &F->run, &F->diag), FT_OK);
	/* Init times out on the stub; the state check refuses the next call */
	FT_ASSERT_HEX(ft_ldrun_init(F->run, &F->diag), FT_ERR_TIMEOUT);
	FT_ASSERT_HEX(ft_ldrun_erase(F->run, 0x30000000, 1, &F->diag), FT_ERR_STATE);
	assert_contains(F->diag.message, "Init has not run");
}

/* CATALOGUE E12: an Init that hangs with the loader's code already in RAM (an earlier session
 * ran it) is named a hang on re-entry, with the power-cycle fix; the first one is not. */
static void test_init_hanging_with_the_loader_already_in_ram_is_a_reentry(void)
{
	connect_with("flashtwin-ramdisk-h743");
	ft_ldrun_options o = {.call_timeout_ms = 100};
	FT_ASSERT_HEX(ft_ldrun_new(F->swd, F->loader, &o, &F->run, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_init(F->run, &F->diag), FT_ERR_TIMEOUT);
	CU_ASSERT_PTR_NULL(strstr(F->diag.message, "re-entry"));
	FT_ASSERT_HEX(ft_ldrun_init(F->run, &F->diag), FT_ERR_TIMEOUT);
	assert_contains(F->diag.message, "Init hung on re-entry; loader not re-entrant");
	bool power_cycle = false;
	for (size_t i = 0; i < ft_ldrun_advice_count(F->run); i++)
		power_cycle |=
		    strstr(ft_ldrun_advice_at(F->run, i), "power-cycle the board") != NULL;
	CU_ASSERT_TRUE(power_cycle);
}

static void test_operation_before_init_is_refused_untouched(void)
{
	connect_with("flashtwin-ramdisk-h743");
	FT_ASSERT_HEX(ft_ldrun_new(F->swd, F->loader, NULL, &F->run, &F->diag), FT_OK);
	uint8_t b[4] = {0};
	/* before Init: refused as not initialised, nothing run */
	FT_ASSERT_HEX(ft_ldrun_write(F->run, 0x30000000, b, 4, &F->diag), FT_ERR_STATE);
	FT_ASSERT_HEX(F->stub.regs[REG_PC], 0x08000100u);
}

static void test_image_ram_under_the_buffer_is_refused(void)
{
	connect_with("flashtwin-ramdisk-h743");
	ft_ldrun_layout l;
	FT_ASSERT_HEX(ft_ldrun_layout_for(F->loader, ft_part_find("STM32H743ZI"), &l, &F->diag),
	              FT_OK);
	ft_range ram = {l.buffer + 0x100, 0x10};
	ft_ldrun_options o = {.reserved = &ram, .reserved_count = 1};
	FT_ASSERT_HEX(ft_ldrun_new(F->swd, F->loader, &o, &F->run, &F->diag), FT_ERR_REFUSED);
	assert_contains(F->diag.message, "breakpoint, stack and buffer");
	assert_contains(F->diag.message, "nothing was touched");
}

static void test_function_symbols_name_addresses_inside_the_loader(void)
{
	char path[PATH_MAX];
	loader_path("flashtwin-ramdisk-h743", path, sizeof(path));
	FT_ASSERT_HEX(ft_stldr_load_file(path, &F->loader, &F->diag), FT_OK);
	uint32_t write;
	CU_ASSERT_FATAL(ft_stldr_entry_address(F->loader, FT_STLDR_WRITE, &write));
	const char *name = NULL;
	uint32_t off = 0;
	CU_ASSERT_TRUE(ft_stldr_function_at(F->loader, (write & ~1u) + 6, &name, &off));
	CU_ASSERT_STRING_EQUAL(name ? name : "", "Write");
	FT_ASSERT_HEX(off, 6);
	CU_ASSERT_FALSE(ft_stldr_function_at(F->loader, 0x08000000, &name, &off));
}

static CU_TestInfo tests[] = {
    {"layout_puts_breakpoint_stack_and_buffer_above_the_loader",
     test_layout_puts_breakpoint_stack_and_buffer_above_the_loader},
    {"call_that_never_returns_is_interrupted_and_explained",
     test_call_that_never_returns_is_interrupted_and_explained},
    {"init_hanging_with_the_loader_already_in_ram_is_a_reentry",
     test_init_hanging_with_the_loader_already_in_ram_is_a_reentry},
    {"call_after_a_failed_init_is_refused", test_call_after_a_failed_init_is_refused},
    {"operation_before_init_is_refused_untouched", test_operation_before_init_is_refused_untouched},
    {"image_ram_under_the_buffer_is_refused", test_image_ram_under_the_buffer_is_refused},
    {"function_symbols_name_addresses_inside_the_loader",
     test_function_symbols_name_addresses_inside_the_loader},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"loader_run", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
