/* The DfuSe engine against a scripted device: every test writes the conversation it expects
 * (setup bytes, OUT data, the device's answer) and the fake transport checks each transfer
 * against the next step. Request codes, states and statuses are written from the DFU 1.1
 * specification and AN3156 here, not taken from the engine's header. */
#include "models/tests/ft_test.h"
#include "programmer/dfuse/engine.h"

#include <stdlib.h>
#include <string.h>

/* DFU 1.1 §3 Table 3.2 and §6.1.2. */
#define DNLOAD      1
#define UPLOAD      2
#define GETSTATUS   3
#define CLRSTATUS   4
#define ABORT       6
#define ST_IDLE     2
#define ST_DNBUSY   4
#define ST_DNIDLE   5
#define ST_MANIFEST 7
#define ST_UPIDLE   9
#define ST_ERROR    10
#define OK          0x00
#define ERR_TARGET  0x01
#define ERR_VENDOR  0x0B
#define ERR_UNKNOWN 0x0E

typedef struct step {
	uint8_t setup[8];
	uint8_t *data; /* OUT: expected bytes; IN: the answer */
	size_t len;
	ft_transfer_status status;
} step;

typedef struct fixture {
	step *steps;
	size_t count, cap, next;
	ft_transport *t;
	ft_dfuse_dev *dev;
	uint64_t slept_ms;
	unsigned sleeps;
	size_t warnings;
	ft_diag warning;
	ft_dfuse_progress progress;
	unsigned progress_calls;
} fixture;

static fixture *F;

static void fail_step(const char *what)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "step %zu: %s", F->next, what);
	CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static ft_transfer_status fake_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                       unsigned timeout_ms, size_t *actual, ft_diag *diag)
{
	fixture *f = ctx;
	char text[160];
	CU_ASSERT(timeout_ms > 0);
	if (f->next >= f->count) {
		snprintf(
		    text, sizeof(text),
		    "transfer past the end of the script: %02x %02x %02x%02x %02x%02x %02x%02x",
		    setup[0], setup[1], setup[3], setup[2], setup[5], setup[4], setup[7], setup[6]);
		fail_step(text);
		return FT_TRANSFER_IO;
	}
	const step *s = &f->steps[f->next];
	if (memcmp(setup, s->setup, 8) != 0) {
		snprintf(text, sizeof(text),
		         "setup %02x %02x %02x%02x %02x%02x %02x%02x, expected %02x %02x %02x%02x "
		         "%02x%02x %02x%02x",
		         setup[0], setup[1], setup[3], setup[2], setup[5], setup[4], setup[7],
		         setup[6], s->setup[0], s->setup[1], s->setup[3], s->setup[2], s->setup[5],
		         s->setup[4], s->setup[7], s->setup[6]);
		fail_step(text);
		f->next = f->count;
		return FT_TRANSFER_IO;
	}
	bool in = setup[0] & 0x80;
	if (!in && (len != s->len || (len && memcmp(data, s->data, len) != 0))) {
		fail_step("OUT data differs from the script");
		f->next = f->count;
		return FT_TRANSFER_IO;
	}
	f->next++;
	if (s->status != FT_TRANSFER_OK) {
		ft_diag_set(diag, FT_ERR_IO, "fake", "scripted %s",
		            ft_transfer_status_name(s->status));
		return s->status;
	}
	if (in) {
		size_t n = s->len < len ? s->len : len;
		memcpy(data, s->data, n);
		*actual = n;
	} else {
		*actual = len;
	}
	return FT_TRANSFER_OK;
}

static void fake_close(void *ctx)
{
	(void)ctx;
}

static const char *fake_describe(void *ctx)
{
	(void)ctx;
	return "fake";
}

static const ft_transport_ops fake_ops = {
    .name = "fake",
    .close = fake_close,
    .control = fake_control,
    .describe = fake_describe,
};

static void fake_sleep(void *user, uint32_t ms)
{
	fixture *f = user;
	f->slept_ms += ms;
	f->sleeps++;
}

static void on_warning(void *user, const ft_diag *w)
{
	fixture *f = user;
	f->warnings++;
	f->warning = *w;
}

static void on_progress(void *user, const ft_dfuse_progress *p)
{
	fixture *f = user;
	f->progress = *p;
	f->progress_calls++;
}

static void setup_fixture(void)
{
	F = calloc(1, sizeof(*F));
	if (!F || !(F->t = ft_transport_new(&fake_ops, F)))
		abort();
}

static void teardown_fixture(void)
{
	ft_dfuse_close(F->dev);
	ft_transport_close(F->t);
	for (size_t i = 0; i < F->count; i++)
		free(F->steps[i].data);
	free(F->steps);
	free(F);
	F = NULL;
}

/* Script building. */

static void expect(uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                   const uint8_t *data, size_t len, ft_transfer_status status)
{
	if (F->count == F->cap) {
		F->cap = F->cap ? 2 * F->cap : 64;
		F->steps = realloc(F->steps, F->cap * sizeof(*F->steps));
		CU_ASSERT_PTR_NOT_NULL_FATAL(F->steps);
	}
	step *s = &F->steps[F->count++];
	const uint8_t setup[8] = {type,
	                          req,
	                          (uint8_t)value,
	                          (uint8_t)(value >> 8),
	                          (uint8_t)index,
	                          (uint8_t)(index >> 8),
	                          (uint8_t)length,
	                          (uint8_t)(length >> 8)};
	memcpy(s->setup, setup, 8);
	s->data = len ? malloc(len) : NULL;
	if (len)
		memcpy(s->data, data, len);
	s->len = len;
	s->status = status;
}

static void expect_status(uint8_t status, uint32_t poll_ms, uint8_t state)
{
	const uint8_t answer[6] = {
	    status, (uint8_t)poll_ms, (uint8_t)(poll_ms >> 8), (uint8_t)(poll_ms >> 16), state, 0};
	expect(0xA1, GETSTATUS, 0, 0, 6, answer, 6, FT_TRANSFER_OK);
}

static void expect_status_fails(ft_transfer_status status)
{
	expect(0xA1, GETSTATUS, 0, 0, 6, NULL, 0, status);
}

static void expect_bare(uint8_t req)
{
	expect(0x21, req, 0, 0, 0, NULL, 0, FT_TRANSFER_OK);
}

static void expect_command(const uint8_t *bytes, size_t len)
{
	expect(0x21, DNLOAD, 0, 0, (uint16_t)len, bytes, len, FT_TRANSFER_OK);
}

/* A DfuSe command as the ROM runs it: dfuDNBUSY with a poll timeout, then dfuDNLOAD-IDLE. */
static void expect_special(uint8_t code, uint32_t addr, bool has_addr, uint32_t poll_ms)
{
	const uint8_t bytes[5] = {code, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
	                          (uint8_t)(addr >> 24)};
	expect_command(bytes, has_addr ? 5 : 1);
	expect_status(OK, poll_ms, ST_DNBUSY);
	expect_status(OK, 0, ST_DNIDLE);
}

static void expect_set_address(uint32_t addr)
{
	expect_special(0x21, addr, true, 0);
}

static void expect_abort_to_idle(void)
{
	expect_bare(ABORT);
	expect_status(OK, 0, ST_IDLE);
}

static void expect_dnload_block(uint16_t block, const uint8_t *data, size_t len)
{
	expect(0x21, DNLOAD, block, 0, (uint16_t)len, data, len, FT_TRANSFER_OK);
	expect_status(OK, 5, ST_DNBUSY);
	expect_status(OK, 0, ST_DNIDLE);
}

static void expect_upload_block(uint16_t block, const uint8_t *answer, size_t len)
{
	expect(0xA1, UPLOAD, block, 0, (uint16_t)len, answer, len, FT_TRANSFER_OK);
}

static void expect_get_descriptor(uint8_t type, uint8_t index, uint16_t langid, uint16_t length,
                                  const uint8_t *answer, size_t len)
{
	expect(0x80, 6, (uint16_t)(type << 8 | index), langid, length, answer, len, FT_TRANSFER_OK);
}

static void expect_string(uint8_t index, const char *text)
{
	uint8_t desc[255];
	size_t n = strlen(text);
	desc[0] = (uint8_t)(2 + 2 * n);
	desc[1] = 3;
	for (size_t i = 0; i < n; i++) {
		desc[2 + 2 * i] = (uint8_t)text[i];
		desc[3 + 2 * i] = 0;
	}
	expect_get_descriptor(3, index, 0x0409, 255, desc, desc[0]);
}

static void expect_set_interface(uint8_t alt)
{
	expect(0x01, 11, alt, 0, 0, NULL, 0, FT_TRANSFER_OK);
}

/* The STM32H743 ROM as devices.md §5.1-5.2 describe it: 0483:df11 bcdDevice 0x0200, one
 * configuration, DFU interface 0 with alternate settings 0 (internal flash) and 1 (option
 * bytes), functional descriptor bmAttributes 0x0B [U], wTransferSize 1024, bcdDFU 0x011A. */
static const uint8_t H743_DEVICE[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x83,
                                        0x04, 0x11, 0xDF, 0x00, 0x02, 0x01, 0x02, 0x03, 0x01};
static const uint8_t H743_CONFIG[36] = {
    0x09, 0x02, 0x24, 0x00, 0x01, 0x01, 0x00, 0xC0, 0x32, /* configuration 1 */
    0x09, 0x04, 0x00, 0x00, 0x00, 0xFE, 0x01, 0x02, 0x04, /* interface 0 alt 0, iInterface 4 */
    0x09, 0x04, 0x00, 0x01, 0x00, 0xFE, 0x01, 0x02, 0x05, /* interface 0 alt 1, iInterface 5 */
    0x09, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x04, 0x1A, 0x01, /* DFU functional */
};

static void expect_enumeration_h743(void)
{
	static const uint8_t langids[4] = {0x04, 0x03, 0x09, 0x04};
	expect_get_descriptor(1, 0, 0, 18, H743_DEVICE, sizeof(H743_DEVICE));
	expect_get_descriptor(2, 0, 0, 9, H743_CONFIG, 9);
	expect_get_descriptor(2, 0, 0, sizeof(H743_CONFIG), H743_CONFIG, sizeof(H743_CONFIG));
	expect_get_descriptor(3, 0, 0, 255, langids, sizeof(langids));
	expect_string(1, "STMicroelectronics");
	expect_string(2, "DFU in FS Mode");
	expect_string(3, "200364500000");
	expect_string(4, "@Internal Flash   /0x08000000/16*128Kg");
	expect_string(5, "@Option Bytes   /0x5200201C/01*128 e");
	expect(0x00, 9, 1, 0, 0, NULL, 0, FT_TRANSFER_OK); /* SET_CONFIGURATION 1 */
	expect_set_interface(0);
}

static void expect_open_h743(void)
{
	expect_enumeration_h743();
	expect_status(OK, 0, ST_IDLE);
}

static ft_error open_with(const ft_dfuse_options *extra, ft_diag *diag)
{
	ft_dfuse_options opts = extra ? *extra : (ft_dfuse_options){0};
	opts.sleep_ms = fake_sleep;
	opts.warning = on_warning;
	opts.progress = on_progress;
	opts.user = F;
	return ft_dfuse_open(F->t, &opts, &F->dev, diag);
}

static void open_h743(void)
{
	expect_open_h743();
	ft_diag d;
	FT_ASSERT_HEX(open_with(NULL, &d), FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(F->dev);
}

/* Every scripted step was used, and nothing more. */
static void assert_script_done(void)
{
	FT_ASSERT_HEX(F->next, F->count);
}

static void assert_contains(const char *text, const char *part)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
}

/* Tests. */

static void test_open_enumerates_h743_alternates_and_layouts(void)
{
	open_h743();
	const ft_dfuse_device_info *info = ft_dfuse_info(F->dev);
	FT_ASSERT_HEX(info->vid, 0x0483);
	FT_ASSERT_HEX(info->pid, 0xDF11);
	FT_ASSERT_HEX(info->bcd_device, 0x0200);
	CU_ASSERT_STRING_EQUAL(info->manufacturer, "STMicroelectronics");
	CU_ASSERT_STRING_EQUAL(info->product, "DFU in FS Mode");
	CU_ASSERT_STRING_EQUAL(info->serial, "200364500000");
	FT_ASSERT_HEX(info->interface, 0);
	FT_ASSERT_HEX(info->attributes, 0x0B);
	FT_ASSERT_HEX(info->transfer_size_reported, 1024);
	FT_ASSERT_HEX(info->transfer_size, 1024);
	FT_ASSERT_HEX(info->bcd_dfu, 0x011A);
	FT_ASSERT_HEX(info->alt_count, 2);
	const ft_dfuse_alt *flash = &info->alts[0], *ob = &info->alts[1];
	FT_ASSERT_HEX(flash->layout_diag.code, FT_OK);
	CU_ASSERT_STRING_EQUAL(flash->layout.name, "Internal Flash");
	FT_ASSERT_HEX(flash->layout.groups[0].start, 0x08000000);
	FT_ASSERT_HEX(flash->layout.groups[0].count, 16);
	FT_ASSERT_HEX(flash->layout.groups[0].sector_size, 0x20000);
	FT_ASSERT_HEX(ob->alt, 1);
	CU_ASSERT_STRING_EQUAL(ob->layout.name, "Option Bytes");
	FT_ASSERT_HEX(ob->layout.groups[0].start, 0x5200201C);
	FT_ASSERT_HEX(ob->layout.groups[0].sector_size, 128);
	FT_ASSERT_HEX(ft_dfuse_find_alt(F->dev, 0x08100000), 0);
	FT_ASSERT_HEX(ft_dfuse_find_alt(F->dev, 0x52002020), 1);
	FT_ASSERT_HEX(ft_dfuse_find_alt(F->dev, 0x24000000), (unsigned long long)-1);
	FT_ASSERT_HEX(ft_dfuse_current_alt(F->dev), 0);
	assert_script_done();
}

static void test_open_brings_device_from_dfuerror_and_upload_idle_to_idle(void)
{
	expect_enumeration_h743();
	expect_status(ERR_TARGET, 0, ST_ERROR);
	expect_bare(CLRSTATUS);
	expect_status(OK, 0, ST_UPIDLE);
	expect_bare(ABORT);
	expect_status(OK, 0, ST_IDLE);
	ft_diag d;
	FT_ASSERT_HEX(open_with(NULL, &d), FT_OK);
	assert_script_done();
}

static void test_erase_write_verify_sends_the_dfuse_sequence(void)
{
	open_h743();
	uint8_t image[1536];
	fill_pattern(image, sizeof(image), 3);
	/* ERASE_PAGE 0x41 + LE32 address, the ROM busy for its bwPollTimeout of 1000 ms. */
	expect_special(0x41, 0x08000000, true, 1000);
	/* One SET_ADDRESS per block, wBlockNum 2 (dfu-util's way). */
	expect_set_address(0x08000000);
	expect_dnload_block(2, image, 1024);
	expect_set_address(0x08000400);
	expect_dnload_block(2, image + 1024, 512);
	/* Read back: SET_ADDRESS, ABORT to dfuIDLE, UPLOAD blocks 2 and 3, ABORT. */
	expect_set_address(0x08000000);
	expect_abort_to_idle();
	expect_upload_block(2, image, 1024);
	expect_upload_block(3, image + 1024, 512);
	expect_abort_to_idle();

	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_range(F->dev, 0x08000000, sizeof(image), &d), FT_OK);
	FT_ASSERT_HEX(F->progress.phase, FT_DFUSE_PHASE_ERASE);
	FT_ASSERT_HEX(F->progress.done, 0x20000);
	FT_ASSERT_HEX(F->progress.total, 0x20000);
	FT_ASSERT_HEX(F->slept_ms, 1000);
	FT_ASSERT_HEX(ft_dfuse_write(F->dev, 0x08000000, image, sizeof(image), &d), FT_OK);
	FT_ASSERT_HEX(F->progress.phase, FT_DFUSE_PHASE_DOWNLOAD);
	FT_ASSERT_HEX(F->progress.address, 0x08000400);
	FT_ASSERT_HEX(F->progress.done, sizeof(image));
	FT_ASSERT_HEX(ft_dfuse_verify(F->dev, 0x08000000, image, sizeof(image), &d), FT_OK);
	FT_ASSERT_HEX(F->progress.phase, FT_DFUSE_PHASE_VERIFY);
	FT_ASSERT_HEX(F->progress.done, sizeof(image));
	FT_ASSERT_HEX(F->warnings, 0);
	assert_script_done();
}

static void test_contiguous_blocks_use_one_set_address(void)
{
	expect_open_h743();
	ft_dfuse_options opts = {.contiguous_blocks = true};
	ft_diag d;
	FT_ASSERT_HEX(open_with(&opts, &d), FT_OK);
	uint8_t image[2100];
	fill_pattern(image, sizeof(image), 11);
	expect_set_address(0x08020000);
	expect_dnload_block(2, image, 1024);
	expect_dnload_block(3, image + 1024, 1024);
	expect_dnload_block(4, image + 2048, 52);
	FT_ASSERT_HEX(ft_dfuse_write(F->dev, 0x08020000, image, sizeof(image), &d), FT_OK);
	assert_script_done();
}

static void test_verify_names_the_first_differing_byte(void)
{
	open_h743();
	uint8_t image[64], device[64];
	fill_pattern(image, sizeof(image), 1);
	memcpy(device, image, sizeof(device));
	device[0x25] ^= 0x40;
	expect_set_address(0x08000000);
	expect_abort_to_idle();
	expect_upload_block(2, device, sizeof(device));
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_verify(F->dev, 0x08000000, image, sizeof(image), &d), FT_ERR_VERIFY);
	assert_contains(d.message, "0x08000025 reads");
	assert_script_done();
}

static void test_set_address_errtarget_clears_status_and_names_state(void)
{
	expect_open_h743();
	ft_dfuse_options opts = {.force = true};
	ft_diag d;
	FT_ASSERT_HEX(open_with(&opts, &d), FT_OK);
	uint8_t data[0x300] = {0};
	/* D03: the bootloader refuses RAM_D2 with dfuERROR/errTARGET. */
	const uint8_t cmd[5] = {0x21, 0x00, 0x00, 0x00, 0x30};
	expect_command(cmd, 5);
	expect_status(ERR_TARGET, 0, ST_ERROR);
	expect_bare(CLRSTATUS);
	expect_status(OK, 0, ST_IDLE);
	FT_ASSERT_HEX(ft_dfuse_write(F->dev, 0x30000000, data, sizeof(data), &d), FT_ERR_RANGE);
	assert_contains(d.message, "device answered dfuERROR/errTARGET to SET_ADDRESS 0x30000000");
	assert_contains(d.origin, "fake alt 0");
	FT_ASSERT_HEX(ft_dfuse_last_status(F->dev).status, ERR_TARGET);
	CU_ASSERT_FALSE(ft_dfuse_is_gone(F->dev));
	assert_script_done();
}

static void test_write_outside_the_layout_is_refused_before_sending(void)
{
	open_h743();
	uint8_t data[16] = {0};
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_write(F->dev, 0x30000000, data, sizeof(data), &d), FT_ERR_RANGE);
	assert_contains(d.message, "0x30000000 is outside alt 0 \"Internal Flash\"");
	assert_contains(d.message, "0x08000000 16*128K rew");
	/* The last sector's end is inside, one byte more is not. */
	FT_ASSERT_HEX(ft_dfuse_write(F->dev, 0x081FFFF8, data, sizeof(data), &d), FT_ERR_RANGE);
	assert_contains(d.message, "0x08200000 is outside");
	assert_script_done();
}

static void test_erase_under_rdp_reports_errvendor_as_protection(void)
{
	open_h743();
	const uint8_t cmd[5] = {0x41, 0x00, 0x00, 0x00, 0x08};
	expect_command(cmd, 5);
	expect_status(ERR_VENDOR, 0, ST_ERROR);
	expect_bare(CLRSTATUS);
	expect_status(OK, 0, ST_IDLE);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08000000, &d), FT_ERR_PROTECTED);
	assert_contains(d.message, "dfuERROR/errVENDOR to ERASE_PAGE 0x08000000");
	assert_contains(d.message, "read-out protection");
	assert_script_done();
}

static void test_upload_stalled_under_rdp_is_decoded_from_getstatus(void)
{
	open_h743();
	expect_set_address(0x08000000);
	expect_abort_to_idle();
	expect(0xA1, UPLOAD, 2, 0, 256, NULL, 0, FT_TRANSFER_STALL);
	expect_status(ERR_VENDOR, 0, ST_ERROR);
	expect_bare(CLRSTATUS);
	expect_status(OK, 0, ST_IDLE);
	uint8_t buf[256];
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_read(F->dev, 0x08000000, buf, sizeof(buf), &d), FT_ERR_PROTECTED);
	assert_contains(d.message, "dfuERROR/errVENDOR to UPLOAD block 2");
	assert_script_done();
}

/* H7 rev V: ERASE_PAGE in bank 2 stays dfuDNBUSY with bwPollTimeout 1000 (programmers.md §1.8
 * #1). The erase cap is 10 s; then CLRSTATUS twice and a blank check of the sector. */
static void script_stuck_bank2_erase(void)
{
	const uint8_t cmd[5] = {0x41, 0x00, 0x00, 0x10, 0x08};
	expect_command(cmd, 5);
	for (int i = 0; i < 11; i++)
		expect_status(OK, 1000, ST_DNBUSY);
	expect_bare(CLRSTATUS);
	expect_status(ERR_UNKNOWN, 0, ST_ERROR);
	expect_bare(CLRSTATUS);
	expect_status(OK, 0, ST_IDLE);
	expect_set_address(0x08100000);
	expect_abort_to_idle();
}

static void test_stuck_dnbusy_is_capped_then_recovered_with_clrstatus(void)
{
	open_h743();
	script_stuck_bank2_erase();
	uint8_t blank[1024];
	memset(blank, 0xFF, sizeof(blank));
	for (uint16_t block = 2; block < 2 + 128; block++)
		expect_upload_block(block, blank, sizeof(blank));
	expect_abort_to_idle();
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08100000, &d), FT_OK);
	FT_ASSERT_HEX(F->slept_ms, 10000);
	FT_ASSERT_HEX(F->warnings, 1);
	FT_ASSERT_HEX(F->warning.code, FT_ERR_TIMEOUT);
	assert_contains(F->warning.message, "ERASE_PAGE 0x08100000");
	assert_contains(F->warning.message, "stayed dfuDNBUSY for 10000 ms");
	assert_contains(F->warning.message, "recovered with CLRSTATUS");
	assert_contains(F->warning.message, "stm32h7-stuck-dnbusy");
	assert_script_done();
}

static void test_recovered_erase_that_is_not_blank_fails(void)
{
	open_h743();
	script_stuck_bank2_erase();
	uint8_t block[1024];
	memset(block, 0xFF, sizeof(block));
	block[5] = 0x00;
	expect_upload_block(2, block, sizeof(block));
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08100000, &d), FT_ERR_VERIFY);
	assert_contains(d.message, "blank check: 0x08100005 reads 0x00");
	FT_ASSERT_HEX(F->warnings, 1);
	assert_script_done();
}

static void test_busy_forever_with_zero_poll_timeout_fails_bounded(void)
{
	open_h743();
	const uint8_t cmd[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	expect_command(cmd, 5);
	for (int i = 0; i < 1001; i++)
		expect_status(OK, 0, ST_DNBUSY);
	/* CLRSTATUS is not allowed in dfuDNBUSY: this device stalls it and stays busy. */
	for (int round = 0; round < 3; round++) {
		expect(0x21, CLRSTATUS, 0, 0, 0, NULL, 0, FT_TRANSFER_STALL);
		expect_status(OK, 0, ST_DNBUSY);
	}
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_set_address(F->dev, 0x08000000, &d), FT_ERR_TIMEOUT);
	assert_contains(d.message, "SET_ADDRESS 0x08000000");
	assert_contains(d.message, "bwPollTimeout 0 on 1001 polls");
	assert_contains(d.message, "did not bring it back to dfuIDLE");
	FT_ASSERT_HEX(F->slept_ms, 0);
	FT_ASSERT_HEX(F->warnings, 0);
	assert_script_done();
}

static void test_stall_during_poll_is_retried(void)
{
	open_h743();
	const uint8_t cmd[5] = {0x41, 0x00, 0x00, 0x02, 0x08};
	expect_command(cmd, 5);
	expect_status(OK, 100, ST_DNBUSY);
	expect_status_fails(FT_TRANSFER_STALL);
	expect_status(OK, 0, ST_DNIDLE);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08020000, &d), FT_OK);
	/* The stall waits the last poll timeout again (dfu-util's STM32L4 workaround). */
	FT_ASSERT_HEX(F->slept_ms, 200);
	assert_script_done();
}

static void test_repeated_stalls_during_poll_fail_bounded(void)
{
	open_h743();
	const uint8_t cmd[5] = {0x41, 0x00, 0x00, 0x02, 0x08};
	expect_command(cmd, 5);
	expect_status(OK, 100, ST_DNBUSY);
	for (int i = 0; i < 4; i++)
		expect_status_fails(FT_TRANSFER_STALL);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08020000, &d), FT_ERR_PROTOCOL);
	assert_contains(d.message, "device stalled GETSTATUS after ERASE_PAGE 0x08020000");
	assert_script_done();
}

static void test_first_getstatus_after_command_must_be_busy(void)
{
	open_h743();
	const uint8_t cmd[1] = {0x41};
	expect_command(cmd, 1);
	expect_status(OK, 0, ST_DNIDLE);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_mass_erase(F->dev, &d), FT_ERR_PROTOCOL);
	assert_contains(d.message, "dfuDNLOAD-IDLE/OK to the first GETSTATUS after MASS_ERASE");
	assert_script_done();
}

static void test_leave_with_the_device_vanishing_is_success(void)
{
	open_h743();
	expect_set_address(0x08000000);
	expect(0x21, DNLOAD, 2, 0, 0, NULL, 0, FT_TRANSFER_OK);
	expect_status_fails(FT_TRANSFER_NO_DEVICE);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_leave(F->dev, 0x08000000, &d), FT_OK);
	CU_ASSERT_TRUE(ft_dfuse_is_gone(F->dev));
	/* Nothing more is sent to a device that has gone. */
	FT_ASSERT_HEX(ft_dfuse_erase_sector(F->dev, 0x08000000, &d), FT_ERR_STATE);
	assert_script_done();
}

static void test_leave_answered_with_manifest_is_success(void)
{
	open_h743();
	expect_set_address(0x08000000);
	expect(0x21, DNLOAD, 2, 0, 0, NULL, 0, FT_TRANSFER_OK);
	expect_status(OK, 0, ST_MANIFEST);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_leave(F->dev, 0x08000000, &d), FT_OK);
	CU_ASSERT_TRUE(ft_dfuse_is_gone(F->dev));
	assert_script_done();
}

static void test_read_unprotect_leaves_the_device_gone(void)
{
	open_h743();
	const uint8_t cmd[1] = {0x92};
	expect_command(cmd, 1);
	expect_status(OK, 100, ST_DNBUSY);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_read_unprotect(F->dev, &d), FT_OK);
	CU_ASSERT_TRUE(ft_dfuse_is_gone(F->dev));
	assert_script_done();
}

static void test_option_bytes_read_through_the_option_alt(void)
{
	open_h743();
	uint8_t ob[128];
	fill_pattern(ob, sizeof(ob), 0x55);
	expect_set_interface(1);
	expect_set_address(0x5200201C);
	expect_abort_to_idle();
	expect_upload_block(2, ob, sizeof(ob));
	expect_abort_to_idle();
	expect_set_interface(0);
	uint8_t buf[308];
	size_t len;
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_read_option_bytes(F->dev, buf, sizeof(buf), &len, &d), FT_OK);
	FT_ASSERT_HEX(len, 128);
	FT_ASSERT_BYTES(buf, ob, sizeof(ob));
	FT_ASSERT_HEX(ft_dfuse_current_alt(F->dev), 0);
	assert_script_done();
}

static void test_option_bytes_write_tolerates_the_reset(void)
{
	open_h743();
	uint8_t ob[128];
	fill_pattern(ob, sizeof(ob), 0xAA);
	expect_set_interface(1);
	expect_set_address(0x5200201C);
	expect(0x21, DNLOAD, 2, 0, sizeof(ob), ob, sizeof(ob), FT_TRANSFER_OK);
	expect_status_fails(FT_TRANSFER_NO_DEVICE);
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_write_option_bytes(F->dev, ob, sizeof(ob), &d), FT_OK);
	CU_ASSERT_TRUE(ft_dfuse_is_gone(F->dev));
	assert_script_done();
}

static void test_short_upload_block_is_a_protocol_error(void)
{
	open_h743();
	uint8_t half[512] = {0};
	expect_set_address(0x08000000);
	expect_abort_to_idle();
	expect(0xA1, UPLOAD, 2, 0, 1024, half, sizeof(half), FT_TRANSFER_OK);
	uint8_t buf[1024];
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_read(F->dev, 0x08000000, buf, sizeof(buf), &d), FT_ERR_PROTOCOL);
	assert_contains(d.message, "UPLOAD block 2 (1024 bytes at 0x08000000) returned 512 bytes");
	/* The next operation first brings the device back to dfuIDLE. */
	expect_status(OK, 0, ST_UPIDLE);
	expect_bare(ABORT);
	expect_status(OK, 0, ST_IDLE);
	expect_set_address(0x08000000);
	FT_ASSERT_HEX(ft_dfuse_set_address(F->dev, 0x08000000, &d), FT_OK);
	assert_script_done();
}

static void test_run_time_interface_is_refused(void)
{
	uint8_t cfg[27];
	memcpy(cfg, H743_CONFIG, 18);
	cfg[2] = sizeof(cfg);
	cfg[16] = 0x01; /* bInterfaceProtocol 1: run-time */
	memcpy(cfg + 18, H743_CONFIG + 27, 9);
	ft_dfuse_config parsed;
	ft_diag d;
	FT_ASSERT_HEX(ft_dfuse_parse_config(cfg, sizeof(cfg), &parsed, &d), FT_ERR_STATE);
	assert_contains(d.message, "run-time");
}

static void test_malformed_configuration_descriptors_are_refused(void)
{
	ft_dfuse_config parsed;
	ft_diag d;
	uint8_t cfg[sizeof(H743_CONFIG)];
	FT_ASSERT_HEX(ft_dfuse_parse_config(H743_CONFIG, sizeof(H743_CONFIG), &parsed, &d), FT_OK);
	FT_ASSERT_HEX(parsed.alt_count, 2);
	FT_ASSERT_HEX(parsed.alts[1].istring, 5);
	FT_ASSERT_HEX(parsed.transfer_size, 1024);
	/* Truncated: wTotalLength larger than what arrived. */
	FT_ASSERT_HEX(ft_dfuse_parse_config(H743_CONFIG, 30, &parsed, &d), FT_ERR_FORMAT);
	/* A zero bLength would loop forever in a naive walker. */
	memcpy(cfg, H743_CONFIG, sizeof(cfg));
	cfg[18] = 0;
	FT_ASSERT_HEX(ft_dfuse_parse_config(cfg, sizeof(cfg), &parsed, &d), FT_ERR_FORMAT);
	assert_contains(d.message, "byte 18");
	/* A descriptor running past the end. */
	memcpy(cfg, H743_CONFIG, sizeof(cfg));
	cfg[27] = 10;
	FT_ASSERT_HEX(ft_dfuse_parse_config(cfg, sizeof(cfg), &parsed, &d), FT_ERR_FORMAT);
	/* The same alternate setting twice. */
	memcpy(cfg, H743_CONFIG, sizeof(cfg));
	cfg[21] = 0;
	FT_ASSERT_HEX(ft_dfuse_parse_config(cfg, sizeof(cfg), &parsed, &d), FT_ERR_FORMAT);
	/* No functional descriptor. */
	memcpy(cfg, H743_CONFIG, sizeof(cfg));
	cfg[2] = 27;
	FT_ASSERT_HEX(ft_dfuse_parse_config(cfg, 27, &parsed, &d), FT_ERR_FORMAT);
	assert_contains(d.message, "functional");
}

static void test_getstatus_payload_decoding(void)
{
	const uint8_t answer[6] = {0x0B, 0xE8, 0x03, 0x01, 0x0A, 0x00};
	ft_dfu_getstatus st;
	FT_ASSERT_HEX(ft_dfu_parse_getstatus(answer, 6, &st, NULL), FT_OK);
	FT_ASSERT_HEX(st.status, ERR_VENDOR);
	FT_ASSERT_HEX(st.poll_timeout_ms, 0x103E8);
	FT_ASSERT_HEX(st.state, ST_ERROR);
	FT_ASSERT_HEX(ft_dfu_parse_getstatus(answer, 5, &st, NULL), FT_ERR_FORMAT);
}

static void test_state_and_status_names_follow_the_specification(void)
{
	CU_ASSERT_STRING_EQUAL(ft_dfu_state_name(ST_ERROR), "dfuERROR");
	CU_ASSERT_STRING_EQUAL(ft_dfu_state_name(ST_DNIDLE), "dfuDNLOAD-IDLE");
	CU_ASSERT_STRING_EQUAL(ft_dfu_state_name(0), "appIDLE");
	CU_ASSERT_STRING_EQUAL(ft_dfu_state_name(11), "state?");
	CU_ASSERT_STRING_EQUAL(ft_dfu_status_name(ERR_TARGET), "errTARGET");
	CU_ASSERT_STRING_EQUAL(ft_dfu_status_name(ERR_VENDOR), "errVENDOR");
	CU_ASSERT_STRING_EQUAL(ft_dfu_status_name(0x0F), "errSTALLEDPKT");
	CU_ASSERT_STRING_EQUAL(ft_dfu_status_name(0x10), "status?");
	CU_ASSERT_STRING_EQUAL(ft_dfuse_phase_name(FT_DFUSE_PHASE_VERIFY), "verify");
}

static CU_TestInfo tests[] = {
    {"open_enumerates_h743_alternates_and_layouts",
     test_open_enumerates_h743_alternates_and_layouts},
    {"open_brings_device_from_dfuerror_and_upload_idle_to_idle",
     test_open_brings_device_from_dfuerror_and_upload_idle_to_idle},
    {"erase_write_verify_sends_the_dfuse_sequence",
     test_erase_write_verify_sends_the_dfuse_sequence},
    {"contiguous_blocks_use_one_set_address", test_contiguous_blocks_use_one_set_address},
    {"verify_names_the_first_differing_byte", test_verify_names_the_first_differing_byte},
    {"set_address_errtarget_clears_status_and_names_state",
     test_set_address_errtarget_clears_status_and_names_state},
    {"write_outside_the_layout_is_refused_before_sending",
     test_write_outside_the_layout_is_refused_before_sending},
    {"erase_under_rdp_reports_errvendor_as_protection",
     test_erase_under_rdp_reports_errvendor_as_protection},
    {"upload_stalled_under_rdp_is_decoded_from_getstatus",
     test_upload_stalled_under_rdp_is_decoded_from_getstatus},
    {"stuck_dnbusy_is_capped_then_recovered_with_clrstatus",
     test_stuck_dnbusy_is_capped_then_recovered_with_clrstatus},
    {"recovered_erase_that_is_not_blank_fails", test_recovered_erase_that_is_not_blank_fails},
    {"busy_forever_with_zero_poll_timeout_fails_bounded",
     test_busy_forever_with_zero_poll_timeout_fails_bounded},
    {"stall_during_poll_is_retried", test_stall_during_poll_is_retried},
    {"repeated_stalls_during_poll_fail_bounded", test_repeated_stalls_during_poll_fail_bounded},
    {"first_getstatus_after_command_must_be_busy", test_first_getstatus_after_command_must_be_busy},
    {"leave_with_the_device_vanishing_is_success", test_leave_with_the_device_vanishing_is_success},
    {"leave_answered_with_manifest_is_success", test_leave_answered_with_manifest_is_success},
    {"read_unprotect_leaves_the_device_gone", test_read_unprotect_leaves_the_device_gone},
    {"option_bytes_read_through_the_option_alt", test_option_bytes_read_through_the_option_alt},
    {"option_bytes_write_tolerates_the_reset", test_option_bytes_write_tolerates_the_reset},
    {"short_upload_block_is_a_protocol_error", test_short_upload_block_is_a_protocol_error},
    {"run_time_interface_is_refused", test_run_time_interface_is_refused},
    {"malformed_configuration_descriptors_are_refused",
     test_malformed_configuration_descriptors_are_refused},
    {"getstatus_payload_decoding", test_getstatus_payload_decoding},
    {"state_and_status_names_follow_the_specification",
     test_state_and_status_names_follow_the_specification},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfuse_engine", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
