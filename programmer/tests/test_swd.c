/* The SWD engine end to end: the RSP client talks over 127.0.0.1 to the in-test GDB stub
 * (gdb_stub.h), whose target is a real flash_h7 model, RAM and the debug registers. Plans come
 * from the planner over images read by the image readers. Register offsets and bits used to shape
 * the target or check its state are written here from the manuals (devices.md §2), not taken
 * from the code under test. */
#include "models/tests/ft_test.h"
#include "programmer/image/image.h"
#include "programmer/plan.h"
#include "programmer/swd/h7_flash.h"
#include "programmer/swd/swd.h"
#include "programmer/tests/gdb_stub.h"

#include <limits.h>

/* Flash register offsets and bits (devices.md §2.1-2.3). */
#define R_OPTKEYR   0x008u
#define R_CR1       0x00Cu
#define R_SR1       0x010u
#define R_OPTCR     0x018u
#define R_OPTSR_PRG 0x020u
#define R_PRAR_PRG1 0x02Cu
#define R_WPSN_PRG1 0x03Cu
#define R_CR2       0x10Cu
#define R_SR2       0x110u
#define OPTKEY1     0x08192A3Bu
#define OPTKEY2     0x4C5D6E7Fu
#define KEY1        0x45670123u
#define KEY2        0xCDEF89ABu
#define CR_LOCK     0x1u
#define CR_PG       0x2u
#define OPTSTART    0x2u
#define BANK1       0x08000000u
#define BANK2       0x08100000u
#define SECTOR      0x20000u

typedef struct fixture {
	stub stub;
	bool serving;
	ft_swd *swd;
	ft_image *image;
	ft_plan *plan;
	ft_diag diag;
	uint64_t slept_ms;
	unsigned warnings;
	ft_diag warning;
	ft_swd_progress last[4]; /* by phase */
	uint8_t *data;
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
	ft_swd_close(F->swd);
	ft_plan_free(F->plan);
	ft_image_free(F->image);
	stub_free(&F->stub);
	free(F->data);
	free(F);
	F = NULL;
}

static void assert_contains(const char *text, const char *part)
{
	char msg[700];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

/* True when some advice line contains part. */
static bool advised(const char *part)
{
	for (size_t i = 0; i < ft_swd_advice_count(F->swd); i++) {
		if (strstr(ft_swd_advice_at(F->swd, i), part))
			return true;
	}
	return false;
}

static void assert_advised(const char *part)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "advice mentions \"%s\"", part);
	bool ok = advised(part);
	if (!ok) {
		for (size_t i = 0; i < ft_swd_advice_count(F->swd); i++)
			fprintf(stderr, "\n  advice: %s", ft_swd_advice_at(F->swd, i));
	}
	CU_assertImplementation(ok, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static void on_sleep(void *user, uint32_t ms)
{
	fixture *f = user;
	f->slept_ms += ms;
	if (f->stub.cfg.clock == FT_CLOCK_MANUAL)
		stub_advance_ms(&f->stub, ms);
}

static void on_warning(void *user, const ft_diag *w)
{
	fixture *f = user;
	f->warnings++;
	f->warning = *w;
}

static void on_progress(void *user, const ft_swd_progress *p)
{
	fixture *f = user;
	f->last[p->phase] = *p;
}

/* ---- shaping the target (firmware-style register sequences on the model) ---- */

static void stub_with(const stub_config *cfg)
{
	CU_ASSERT_FATAL(stub_init(&F->stub, cfg));
}

static void stub_default(void)
{
	stub_config cfg = {.part = "STM32H743ZI", .clock = FT_CLOCK_INSTANT};
	stub_with(&cfg);
}

static void model_wr(uint32_t offset, uint32_t value)
{
	FT_ASSERT_HEX(ft_flash_h7_reg_write(F->stub.fl, offset, value), FT_OK);
}

static uint32_t model_rd(uint32_t offset)
{
	uint32_t v = 0xDEADBEEF;
	FT_ASSERT_HEX(ft_flash_h7_reg_read(F->stub.fl, offset, &v), FT_OK);
	return v;
}

/* Lets the model finish what it is doing (instant or manual clock alike). */
static void model_settle(void)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t next = ft_flash_h7_next_event_ns(F->stub.fl);
		if (next == UINT64_MAX)
			return;
		uint64_t now = ft_clock_now_ns(F->stub.clock);
		ft_clock_advance(F->stub.clock, next > now ? next - now : 0);
		ft_flash_h7_poll(F->stub.fl);
	}
}

/* HAL_FLASH_OB_Unlock, write a PRG register, HAL_FLASH_OB_Launch. */
static void model_option(uint32_t prg, uint32_t value)
{
	model_wr(R_OPTKEYR, OPTKEY1);
	model_wr(R_OPTKEYR, OPTKEY2);
	model_wr(prg, value);
	model_wr(R_OPTCR, OPTSTART);
	model_settle();
	model_wr(R_OPTCR, 1);
}

/* HAL_FLASH_Program of whole flash words at addr (bank 1). */
static void model_program(uint32_t addr, const uint8_t *data, size_t len)
{
	model_wr(0x004, KEY1);
	model_wr(0x004, KEY2);
	model_wr(R_CR1, CR_PG);
	size_t done = 0;
	bool fault = false;
	while (done < len) {
		size_t n = 0;
		ft_error err = ft_flash_h7_bus_write_bulk(F->stub.fl, addr + (uint32_t)done,
		                                          data + done, len - done, &n, &fault);
		done += n;
		if (err == FT_ERR_BUSY)
			model_settle();
		else
			FT_ASSERT_HEX(err, FT_OK);
	}
	model_settle();
	model_wr(R_CR1, CR_LOCK);
}

static void serve_and_open(unsigned halt_ms, ft_swd_verify_mode verify, const ft_part *expect)
{
	stub_serve(&F->stub);
	F->serving = true;
	char url[64];
	stub_url(&F->stub, url, sizeof(url));
	ft_swd_options o = {
	    .gdb = {.timeout_ms = 1000},
	    .halt_timeout_ms = halt_ms,
	    .expect = expect,
	    .verify = verify,
	    .sleep_ms = on_sleep,
	    .progress = on_progress,
	    .warning = on_warning,
	    .user = F,
	};
	FT_ASSERT_HEX(ft_swd_open(url, &o, &F->swd, &F->diag), FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(F->swd);
}

static ft_error swd_connect(void)
{
	return ft_swd_connect(F->swd, &F->diag);
}

/* Closes the client and waits for the stub's thread, so the test may inspect the model. */
static void hang_up(void)
{
	ft_swd_close(F->swd);
	F->swd = NULL;
	if (F->serving)
		pthread_join(F->stub.thread, NULL);
	F->stub.thread_started = false;
	F->serving = false;
}

/* ---- images and plans ---- */

static const uint8_t *pattern(size_t len, uint8_t seed)
{
	free(F->data);
	F->data = malloc(len);
	for (size_t i = 0; i < len; i++)
		F->data[i] = (uint8_t)(i * 7 + seed + (i >> 8));
	return F->data;
}

static void image_bin(const char *name, uint32_t addr, const uint8_t *bytes, size_t len)
{
	if (!F->image)
		F->image = ft_image_new();
	FT_ASSERT_HEX(
	    ft_image_add_buffer(F->image, name, FT_IMAGE_BIN, bytes, len, true, addr, &F->diag),
	    FT_OK);
}

/* BUILD/fixtures/<name> for this test program at BUILD/tests/<prog>. */
static void image_fixture(const char *name)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CU_ASSERT_FATAL(n > 0);
	exe[n] = '\0';
	for (int up = 0; up < 2; up++)
		*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof(path), "%s/fixtures/%s", exe, name);
	if (!F->image)
		F->image = ft_image_new();
	ft_image_input in = {.path = path};
	ft_error err = ft_image_add_file(F->image, &in, &F->diag);
	FT_ASSERT_HEX(err, FT_OK);
	CU_ASSERT_FATAL(err == FT_OK); /* make fixtures */
}

static ft_error plan_for(const char *part_name)
{
	FT_ASSERT_HEX(ft_image_finish(F->image, &F->diag), FT_OK);
	size_t n = ft_image_segment_count(F->image);
	const ft_segment *list[16];
	for (size_t i = 0; i < n && i < 16; i++)
		list[i] = ft_image_segment_at(F->image, i);
	ft_plan_options o = {.transport = FT_ROUTE_SWD};
	ft_error err = ft_plan_build(ft_part_find(part_name), list, n, &o, &F->plan, &F->diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(F->plan);
	return err;
}

static void assert_model_bytes(uint32_t addr, const uint8_t *expected, size_t len)
{
	uint8_t *got = malloc(len);
	FT_ASSERT_HEX(ft_flash_h7_peek(F->stub.fl, addr, got, len), FT_OK);
	FT_ASSERT_BYTES(got, expected, len);
	free(got);
}

/* ---- connect ---- */

static void test_connect_identifies_h743_and_reads_rdp(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	const ft_swd_info *info = ft_swd_get_info(F->swd);
	CU_ASSERT_STRING_EQUAL(info->part->name, "STM32H743xI");
	FT_ASSERT_HEX(info->idcode, 0x20036450);
	FT_ASSERT_HEX(info->dev_id, 0x450);
	FT_ASSERT_HEX(info->revision, 'V');
	FT_ASSERT_HEX(info->flash_size_kb, 2048);
	FT_ASSERT_HEX(info->rdp, 0xAA);
	FT_ASSERT_HEX(info->rdp_level, 0);
	FT_ASSERT_HEX(info->dhcsr_valid, true);
	FT_ASSERT_HEX(info->dhcsr & (1u << 17), 1u << 17);
	FT_ASSERT_HEX(info->pc, 0x08000100);
	FT_ASSERT_HEX(info->has_flash, true);
	hang_up();
}

static void test_connect_without_description_reads_pc_by_fixed_numbers(void)
{
	stub_config cfg = {
	    .part = "STM32H723ZG", .clock = FT_CLOCK_INSTANT, .tdesc = false, .packet_size = 0x100};
	stub_with(&cfg);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	CU_ASSERT_STRING_EQUAL(ft_swd_get_info(F->swd)->part->name, "STM32H723xG");
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->pc, 0x08000100);
	FT_ASSERT_HEX(ft_swd_gdb_info(F->swd)->regnum[FT_GDB_XPSR], 25);
	hang_up();
}

static void test_erased_flash_size_register_assumes_largest_with_warning(void)
{
	stub_config cfg = {.part = "STM32H743ZI",
	                   .clock = FT_CLOCK_INSTANT,
	                   .tdesc = true,
	                   .flash_size_kb = 0xFFFF};
	stub_with(&cfg);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->flash_size_assumed, true);
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->flash_size_kb, 2048);
	FT_ASSERT_HEX(F->warnings, 1);
	assert_contains(F->warning.message, "reads erased");
	hang_up();
}

static void test_connect_refuses_a_board_of_another_part(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, ft_part_find("STM32H723ZG"));
	FT_ASSERT_HEX(swd_connect(), FT_ERR_STATE);
	assert_contains(F->diag.message, "STM32H723xG");
	assert_contains(F->diag.message, "DEV_ID 0x450");
	hang_up();
}

static void test_core_that_will_not_halt_fails_with_the_remedy(void)
{
	stub_config cfg = {
	    .part = "STM32H725ZG", .clock = FT_CLOCK_INSTANT, .tdesc = true, .never_halt = true};
	stub_with(&cfg);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_ERR_STATE);
	assert_contains(F->diag.message, "did not halt within 100 ms");
	assert_contains(F->diag.message, "nothing was erased or written");
	assert_advised("DHCSR=0x00040001");
	assert_advised("S_SLEEP=1");
	assert_advised("DBGMCU_CR=0x00000000");
	assert_advised("connect under reset");
	assert_advised("SMPS");
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_query_stop(ft_swd_gdb(F->swd), &stop, &F->diag), FT_ERR_STATE);
	hang_up();
	FT_ASSERT_HEX(F->stub.flash_writes, 0);
}

static void test_silent_stop_query_is_a_bounded_failure(void)
{
	stub_config cfg = {.part = "STM32H743ZI",
	                   .clock = FT_CLOCK_INSTANT,
	                   .tdesc = true,
	                   .silent_stop_query = true};
	stub_with(&cfg);
	stub_serve(&F->stub);
	F->serving = true;
	char url[64];
	stub_url(&F->stub, url, sizeof(url));
	ft_swd_options o = {.gdb = {.timeout_ms = 100}};
	FT_ASSERT_HEX(ft_swd_open(url, &o, &F->swd, &F->diag), FT_OK);
	FT_ASSERT_HEX(swd_connect(), FT_ERR_TIMEOUT);
	assert_contains(F->diag.message, "no answer to '?'");
	assert_advised("connect under reset");
	hang_up();
}

/* ---- flashing ---- */

static void test_flash_clean_h743_image_reads_back_and_relocks(void)
{
	stub_default();
	image_fixture("h743-clean.elf");
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	for (size_t i = 0; i < ft_plan_write_count(F->plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(F->plan, i);
		uint8_t *back = malloc(w->size);
		FT_ASSERT_HEX(ft_swd_read(F->swd, w->start, back, w->size, &F->diag), FT_OK);
		FT_ASSERT_BYTES(back, w->data, w->size);
		free(back);
	}
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_VERIFY].done, F->last[FT_SWD_PHASE_VERIFY].total);
	hang_up();
	FT_ASSERT_HEX(model_rd(R_SR1), 0);
	FT_ASSERT_HEX(model_rd(R_CR1) & CR_LOCK, CR_LOCK);
	FT_ASSERT_HEX(model_rd(R_CR2) & CR_LOCK, CR_LOCK);
	const ft_plan_write *w0 = ft_plan_write_at(F->plan, 0);
	assert_model_bytes(w0->start, w0->data, w0->size);
	ft_flash_h7_word_state st;
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(F->stub.fl, w0->start, &st), FT_OK);
	FT_ASSERT_HEX(st, FT_FLASH_H7_WORD_PROGRAMMED);
}

static void test_flash_spanning_both_banks_pads_the_last_word(void)
{
	stub_default();
	size_t len1 = 2 * SECTOR + 0x1005; /* three sectors, ends mid-word */
	uint8_t *a = malloc(len1);
	memcpy(a, pattern(len1, 1), len1);
	image_bin("low.bin", BANK1, a, len1);
	const uint8_t *b = pattern(0x800, 9);
	image_bin("high.bin", BANK2 + 0x100, b, 0x800);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	FT_ASSERT_HEX(ft_plan_erase_count(F->plan), 4);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_ERASE].total, 4 * SECTOR);
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_PROGRAM].done, F->last[FT_SWD_PHASE_PROGRAM].total);
	hang_up();
	assert_model_bytes(BANK1, a, len1);
	static const uint8_t ff[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	assert_model_bytes(BANK1 + (uint32_t)len1, ff, 32 - len1 % 32);
	ft_flash_h7_word_state st;
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(F->stub.fl, BANK1 + (uint32_t)len1, &st), FT_OK);
	FT_ASSERT_HEX(st, FT_FLASH_H7_WORD_PROGRAMMED);
	assert_model_bytes(BANK2 + 0x100, b, 0x800);
	FT_ASSERT_HEX(model_rd(R_SR2), 0);
	free(a);
}

static void test_flash_polls_qw_through_real_erase_and_program_times(void)
{
	/* Manual clock: the model's BSY/QW last their datasheet time, which passes only through
	 * our sleep hook (and bus stalls): the engine must poll, not assume. */
	stub_config cfg = {.part = "STM32H743ZI", .clock = FT_CLOCK_MANUAL, .tdesc = true};
	stub_with(&cfg);
	image_bin("app.bin", BANK1, pattern(0x4000, 3), 0x4000);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	/* A 128 KB sector erase takes about a second (DS12110 typical, devices.md §3.3). */
	CU_ASSERT(F->slept_ms >= 500);
	CU_ASSERT(F->slept_ms < FT_H7_ERASE_SECTOR_MS);
	hang_up();
	assert_model_bytes(BANK1, F->data, 0x4000);
}

static void test_binary_writes_fall_back_to_hex(void)
{
	stub_config cfg = {.part = "STM32H7A3ZI",
	                   .clock = FT_CLOCK_INSTANT,
	                   .tdesc = true,
	                   .no_binary = true,
	                   .packet_size = 0x200};
	stub_with(&cfg);
	image_bin("app.bin", BANK1 + 0x2000, pattern(0x3000, 5), 0x3000);
	FT_ASSERT_HEX(plan_for("STM32H7A3ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	hang_up();
	assert_model_bytes(BANK1 + 0x2000, F->data, 0x3000);
}

static void test_crc_verify_agrees_with_the_flash_crc_unit(void)
{
	stub_default();
	image_bin("app.bin", BANK1, pattern(0x8000, 2), 0x8000);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_CRC, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	FT_ASSERT_HEX(F->warnings, 0);
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_VERIFY].done, 0x8000);
	hang_up();
}

static ft_error gdb_port_read(void *ctx, uint32_t addr, void *buf, size_t len, ft_diag *diag)
{
	return ft_gdb_read_mem(ctx, addr, buf, len, diag);
}

static ft_error gdb_port_write(void *ctx, uint32_t addr, const void *data, size_t len,
                               ft_diag *diag)
{
	return ft_gdb_write_mem(ctx, addr, data, len, diag);
}

static void test_partial_tail_is_force_written(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_erase(F->swd, BANK1, 1, &F->diag), FT_OK);
	ft_h7_port port = {ft_swd_gdb(F->swd), gdb_port_read, gdb_port_write, NULL};
	ft_h7_flash *fl;
	FT_ASSERT_HEX(ft_h7flash_new(ft_swd_get_info(F->swd)->part, &port, &fl, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_h7flash_unlock(fl, 1, &F->diag), FT_OK);
	const uint8_t *d = pattern(40, 4); /* one 32-byte word and 8 bytes of the next */
	FT_ASSERT_HEX(ft_h7flash_program(fl, BANK1, d, 40, NULL, NULL, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_h7flash_lock_all(fl, &F->diag), FT_OK);
	ft_h7flash_free(fl);
	hang_up();
	uint8_t want[64];
	memset(want, 0xFF, sizeof(want));
	memcpy(want, d, 40);
	assert_model_bytes(BANK1, want, sizeof(want));
	ft_flash_h7_word_state st;
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(F->stub.fl, BANK1 + 32, &st), FT_OK);
	FT_ASSERT_HEX(st, FT_FLASH_H7_WORD_PROGRAMMED);
	FT_ASSERT_HEX(model_rd(R_SR1), 0);
}

static void test_plan_for_another_part_is_refused(void)
{
	stub_default();
	image_bin("app.bin", BANK1, pattern(64, 1), 64);
	FT_ASSERT_HEX(plan_for("STM32H723ZG"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_ERR_STATE);
	assert_contains(F->diag.message, "made for STM32H723xG");
	hang_up();
	FT_ASSERT_HEX(F->stub.flash_writes, 0);
}

/* ---- protection ---- */

static void test_rdp_level1_is_reported_before_anything_is_written(void)
{
	stub_default();
	static const uint8_t marker[32] = {0xC0, 0xDE};
	model_program(BANK1, marker, sizeof(marker));
	model_option(R_OPTSR_PRG, (model_rd(R_OPTSR_PRG) & ~0xFF00u) | 0x5500u);
	image_bin("app.bin", BANK1, pattern(256, 1), 256);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->rdp_level, 1);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_ERR_PROTECTED);
	assert_contains(F->diag.message, "read protection level 1 (RDP=0x55)");
	assert_advised("RDP=0xAA --allow-regression");
	assert_advised("mass-erases");
	uint8_t buf[4];
	FT_ASSERT_HEX(ft_swd_read(F->swd, BANK1, buf, 4, &F->diag), FT_ERR_PROTECTED);
	FT_ASSERT_HEX(ft_swd_erase(F->swd, BANK1, 4, &F->diag), FT_ERR_PROTECTED);
	hang_up();
	FT_ASSERT_HEX(F->stub.flash_writes, 0);
	assert_model_bytes(BANK1, marker, sizeof(marker));
}

static void test_write_protected_sector_is_refused_before_any_erase(void)
{
	stub_default();
	static const uint8_t marker[32] = {0x5A, 0xA5};
	model_program(BANK1, marker, sizeof(marker));
	model_option(R_WPSN_PRG1, 0xF7); /* sector 3 protected */
	image_bin("app.bin", BANK1, pattern(4 * SECTOR, 1), 4 * SECTOR);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_ERR_PROTECTED);
	assert_contains(F->diag.message, "bank 1 sector 3 (0x08060000..0x0807ffff)");
	assert_advised("needed by segment 0 (app.bin");
	assert_advised("WPSN_CUR1=0x000000f7");
	assert_advised("WRPSN1=0xff");
	hang_up();
	assert_model_bytes(BANK1, marker, sizeof(marker)); /* sector 0 not erased */
}

static void test_pcrop_sector_erase_gives_wrperr_with_sector_and_segment(void)
{
	/* PCROP over the first two 256-byte blocks of sector 1 (PROT_AREA_START 0x200, END 0x201,
	 * in blocks from the bank base): WPSN allows the erase, the controller refuses it. */
	stub_default();
	model_option(R_PRAR_PRG1, 0x02010200u);
	image_bin("app.bin", BANK1, pattern(2 * SECTOR, 1), 2 * SECTOR);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_ERR_DEVICE);
	assert_contains(F->diag.message, "bank 1 sector 1");
	assert_contains(F->diag.message, "WRPERR");
	assert_advised("FLASH_SR1=0x00020000: WRPERR (write protection");
	assert_advised("belongs to segment 0 (app.bin");
	assert_advised("already erased (old contents gone): bank 1 sector 0");
	assert_advised("PRAR_CUR1=0x02010200");
	hang_up();
	FT_ASSERT_HEX(model_rd(R_CR1) & CR_LOCK, CR_LOCK);
}

static void test_double_ecc_error_read_names_the_flash_word(void)
{
	stub_default();
	static uint8_t words[64];
	memset(words, 0x11, sizeof(words));
	model_program(BANK1 + SECTOR, words, sizeof(words));
	FT_ASSERT_HEX(ft_flash_h7_inject_ecc_error(F->stub.fl, BANK1 + SECTOR + 32, true), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	uint8_t buf[64];
	FT_ASSERT_HEX(ft_swd_read(F->swd, BANK1 + SECTOR, buf, 64, &F->diag), FT_ERR_DEVICE);
	assert_advised("DBECCERR");
	assert_advised("flash word at 0x08020020");
	assert_advised("erase bank 1 sector 1");
	hang_up();
}

static void test_verify_names_the_first_difference(void)
{
	stub_default();
	static const uint8_t words[32] = {1, 2, 3, 4};
	model_program(BANK1, words, sizeof(words));
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	uint8_t expect[32] = {1, 2, 3, 4};
	expect[5] = 0xE8;
	FT_ASSERT_HEX(ft_swd_verify(F->swd, BANK1, expect, 32, &F->diag), FT_ERR_VERIFY);
	assert_contains(F->diag.message, "0x08000005 (0x00, expected 0xe8)");
	assert_advised("bank 1 sector 0");
	hang_up();
}

static void test_erase_range_and_mass_erase(void)
{
	stub_default();
	static const uint8_t words[32] = {7};
	model_program(BANK1 + 2 * SECTOR, words, sizeof(words));
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_erase(F->swd, BANK1 + SECTOR + 5, SECTOR, &F->diag), FT_OK);
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_ERASE].total, 2 * SECTOR);
	FT_ASSERT_HEX(ft_swd_erase(F->swd, 0x24000000, 4, &F->diag), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_swd_mass_erase(F->swd, &F->diag), FT_OK);
	hang_up();
	uint8_t ff[32];
	memset(ff, 0xFF, sizeof(ff));
	assert_model_bytes(BANK1 + 2 * SECTOR, ff, sizeof(ff));
}

/* ---- option bytes, reset, RAM ---- */

static void test_option_bytes_set_boot_add0_and_read_back(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	const char *set[] = {"BOOT_ADD0=0x2400"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, set, 1, 0, &F->diag), FT_OK);
	ft_swd_option_bytes ob;
	FT_ASSERT_HEX(ft_swd_ob_read(F->swd, &ob, &F->diag), FT_OK);
	uint32_t v;
	CU_ASSERT(ft_swd_ob_field(F->swd, &ob, "BOOT_ADD0", &v));
	FT_ASSERT_HEX(v, 0x2400);
	CU_ASSERT(ft_swd_ob_field(F->swd, &ob, "boot_add1", &v));
	FT_ASSERT_HEX(v, 0x1FF0);
	CU_ASSERT(ft_swd_ob_field(F->swd, &ob, "RDP", &v));
	FT_ASSERT_HEX(v, 0xAA);
	CU_ASSERT(!ft_swd_ob_field(F->swd, &ob, "TCM_AXI_SHARED", &v)); /* H72x only */
	hang_up();
	ft_flash_h7_options o;
	ft_flash_h7_get_options(F->stub.fl, &o);
	FT_ASSERT_HEX(o.boot_add0, 0x2400);
	FT_ASSERT_HEX(model_rd(R_OPTCR) & 1u, 1u); /* relocked */
}

static void test_option_bytes_refuse_unknown_fields_and_wide_values(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	const char *unknown[] = {"TCM_AXI_SHARED=1"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, unknown, 1, 0, &F->diag), FT_ERR_NOT_FOUND);
	assert_contains(F->diag.message, "BOOT_ADD0");
	const char *wide[] = {"BOR_LEV=4"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, wide, 1, 0, &F->diag), FT_ERR_RANGE);
	const char *bad[] = {"RDP"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, bad, 1, 0, &F->diag), FT_ERR_FORMAT);
	hang_up();
}

static void test_option_change_refused_by_the_controller_is_reported(void)
{
	/* Moving an active PCROP area without an RDP regression ends in OPTCHANGEERR
	 * (devices.md §3.1: the check after OPT_BUSY). */
	stub_default();
	model_option(R_PRAR_PRG1, 0x02010200u);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	const char *set[] = {"PROT_AREA_END1=0x300"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, set, 1, 0, &F->diag), FT_ERR_DEVICE);
	assert_contains(F->diag.message, "OPTCHANGEERR");
	ft_swd_option_bytes ob;
	FT_ASSERT_HEX(ft_swd_ob_read(F->swd, &ob, &F->diag), FT_OK);
	uint32_t v;
	CU_ASSERT(ft_swd_ob_field(F->swd, &ob, "PROT_AREA_END1", &v));
	FT_ASSERT_HEX(v, 0x201);
	hang_up();
	FT_ASSERT_HEX(model_rd(R_OPTCR) & 1u, 1u);
}

static void test_rdp_changes_need_explicit_permission(void)
{
	stub_default();
	static const uint8_t words[32] = {0x42};
	model_program(BANK1, words, sizeof(words));
	model_option(R_OPTSR_PRG, (model_rd(R_OPTSR_PRG) & ~0xFF00u) | 0x5500u);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	const char *l2[] = {"RDP=0xCC"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, l2, 1, FT_SWD_OB_ALLOW_REGRESSION, &F->diag),
	              FT_ERR_REFUSED);
	const char *l0[] = {"RDP=0xAA"};
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, l0, 1, 0, &F->diag), FT_ERR_REFUSED);
	assert_contains(F->diag.message, "erases all user flash");
	FT_ASSERT_HEX(ft_swd_ob_set(F->swd, l0, 1, FT_SWD_OB_ALLOW_REGRESSION, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->rdp_level, 0);
	hang_up();
	uint8_t ff[32];
	memset(ff, 0xFF, sizeof(ff));
	assert_model_bytes(BANK1, ff, sizeof(ff));
}

static void test_reset_run_writes_sysresetreq_and_detaches(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_reset_run(F->swd, &F->diag), FT_OK);
	uint8_t b[4];
	FT_ASSERT_HEX(ft_swd_read(F->swd, 0x24000000, b, 4, &F->diag), FT_ERR_STATE);
	hang_up();
	FT_ASSERT_HEX(F->stub.resets, 1);
	FT_ASSERT_HEX(F->stub.running, true);
}

static void test_ram_segments_are_written_not_verified(void)
{
	stub_default();
	image_bin("app.bin", BANK1, pattern(64, 1), 64);
	/* A raw binary in RAM is refused as a likely wrong address; HEX carries its own. */
	static const char hex[] = ":020000042400D6\n:03000000A1B2C3E7\n:00000001FF\n";
	static const uint8_t ram[3] = {0xA1, 0xB2, 0xC3};
	FT_ASSERT_HEX(ft_image_add_buffer(F->image, "ram.hex", FT_IMAGE_IHEX, (const uint8_t *)hex,
	                                  sizeof(hex) - 1, false, 0, &F->diag),
	              FT_OK);
	FT_ASSERT_HEX(plan_for("STM32H743ZI"), FT_OK);
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	FT_ASSERT_HEX(swd_connect(), FT_OK);
	FT_ASSERT_HEX(ft_swd_flash_plan(F->swd, F->plan, &F->diag), FT_OK);
	uint8_t back[3];
	FT_ASSERT_HEX(ft_swd_read(F->swd, 0x24000000, back, sizeof(back), &F->diag), FT_OK);
	FT_ASSERT_BYTES(back, ram, sizeof(ram));
	FT_ASSERT_HEX(F->last[FT_SWD_PHASE_VERIFY].total, 64);
	hang_up();
}

static void test_operations_need_a_connect(void)
{
	stub_default();
	serve_and_open(100, FT_SWD_VERIFY_READBACK, NULL);
	uint8_t b[4];
	FT_ASSERT_HEX(ft_swd_read(F->swd, 0x24000000, b, 4, &F->diag), FT_ERR_STATE);
	assert_contains(F->diag.message, "ft_swd_connect first");
	hang_up();
}

static CU_TestInfo tests[] = {
    {"connect_identifies_h743_and_reads_rdp", test_connect_identifies_h743_and_reads_rdp},
    {"connect_without_description_reads_pc_by_fixed_numbers",
     test_connect_without_description_reads_pc_by_fixed_numbers},
    {"erased_flash_size_register_assumes_largest_with_warning",
     test_erased_flash_size_register_assumes_largest_with_warning},
    {"connect_refuses_a_board_of_another_part", test_connect_refuses_a_board_of_another_part},
    {"core_that_will_not_halt_fails_with_the_remedy",
     test_core_that_will_not_halt_fails_with_the_remedy},
    {"silent_stop_query_is_a_bounded_failure", test_silent_stop_query_is_a_bounded_failure},
    {"flash_clean_h743_image_reads_back_and_relocks",
     test_flash_clean_h743_image_reads_back_and_relocks},
    {"flash_spanning_both_banks_pads_the_last_word",
     test_flash_spanning_both_banks_pads_the_last_word},
    {"flash_polls_qw_through_real_erase_and_program_times",
     test_flash_polls_qw_through_real_erase_and_program_times},
    {"binary_writes_fall_back_to_hex", test_binary_writes_fall_back_to_hex},
    {"crc_verify_agrees_with_the_flash_crc_unit", test_crc_verify_agrees_with_the_flash_crc_unit},
    {"partial_tail_is_force_written", test_partial_tail_is_force_written},
    {"plan_for_another_part_is_refused", test_plan_for_another_part_is_refused},
    {"rdp_level1_is_reported_before_anything_is_written",
     test_rdp_level1_is_reported_before_anything_is_written},
    {"write_protected_sector_is_refused_before_any_erase",
     test_write_protected_sector_is_refused_before_any_erase},
    {"pcrop_sector_erase_gives_wrperr_with_sector_and_segment",
     test_pcrop_sector_erase_gives_wrperr_with_sector_and_segment},
    {"double_ecc_error_read_names_the_flash_word", test_double_ecc_error_read_names_the_flash_word},
    {"verify_names_the_first_difference", test_verify_names_the_first_difference},
    {"erase_range_and_mass_erase", test_erase_range_and_mass_erase},
    {"option_bytes_set_boot_add0_and_read_back", test_option_bytes_set_boot_add0_and_read_back},
    {"option_bytes_refuse_unknown_fields_and_wide_values",
     test_option_bytes_refuse_unknown_fields_and_wide_values},
    {"option_change_refused_by_the_controller_is_reported",
     test_option_change_refused_by_the_controller_is_reported},
    {"rdp_changes_need_explicit_permission", test_rdp_changes_need_explicit_permission},
    {"reset_run_writes_sysresetreq_and_detaches", test_reset_run_writes_sysresetreq_and_detaches},
    {"ram_segments_are_written_not_verified", test_ram_segments_are_written_not_verified},
    {"operations_need_a_connect", test_operations_need_a_connect},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"swd", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
