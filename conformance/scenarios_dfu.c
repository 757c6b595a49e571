/* CATALOGUE.md §5.2 (DFU bootloader) and the option-byte scenarios that go through the DFU path
 * (§5.6). Two kinds:
 *   - device scenarios drive the board's system bootloader with the programmer's own transport
 *     and DfuSe engine (conformance/device.h), asking the device things a careful programmer
 *     never would (RAM addresses, overwrites, raw request sequences) and recording every answer;
 *   - programmer scenarios run `flashtwin flash` as a user does and read the device back
 *     afterwards to see what really happened.
 * Device answers are checked against the part table (models/parts.c) here and against the
 * evidence from real silicon by the runner.
 */
#include "conformance/device.h"
#include "conformance/dfu_util.h"
#include "conformance/expect.h"
#include "conformance/gen.h"
#include "conformance/scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* DFU 1.1 §3 requests, §6.1.2 states and statuses; DfuSe commands (AN3156 §6). */
#define DFU_DNLOAD        1
#define DFU_UPLOAD        2
#define DFU_GETSTATUS     3
#define DFU_CLRSTATUS     4
#define DFU_GETSTATE      5
#define STATE_DFU_IDLE    2
#define STATE_DFU_ERROR   10
#define STATUS_ERR_TARGET 0x01
#define STATUS_ERR_VERIFY 0x07
#define CMD_SET_ADDRESS   0x21
#define OB_ADDR           0x5200201Cu /* FLASH_OPTSR_CUR, the option-byte alternate */
#define OB_READ_CUBEPROG  308u        /* bytes CubeProgrammer uploads there (evidence) */
#define RDP_LEVEL_0       0xAAu /* OPTSR RDP bits 15:8 (devices.md §4, HAL FLASH_OB_GetRDP) */
#define RDP_LEVEL_2       0xCCu
#define FLASH_BASE        0x08000000u
#define BANK2_BASE        0x08100000u
#define REENUMERATION_MS  5000u /* a reset board is back on the bus within this */

static const char *single_bank(const ft_part *part)
{
	return part->flash.banks < 2 ? "the part has a single flash bank" : NULL;
}

static const char *no_dfu(const ft_part *part)
{
	return part->bootloader->has_usb_dfu ? NULL : "the part has no DfuSe system bootloader";
}

/* Records err against the expected code, with the engine's message. */
static bool expect_error(ft_conform_record *rec, const char *what, ft_error got, ft_error want,
                         const ft_diag *diag)
{
	if (got == FT_OK)
		return ft_conform_record_check(rec, want == FT_OK, what, "ok, expected %s",
		                               ft_error_name(want));
	return ft_conform_record_check(rec, got == want, what, "%s (%s), expected %s",
	                               ft_error_name(got), diag->message, ft_error_name(want));
}

/* The device's state after an operation, recorded under key and checked against want. */
static void expect_state(ft_conform_dfu *d, ft_conform_record *rec, const char *key, unsigned want)
{
	uint8_t state = 0xFF;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_dfuse_get_state(ft_conform_dfu_dev(d), &state, &diag);
	ft_conform_record_str(rec, key, err == FT_OK ? ft_dfu_state_name(state) : "no answer");
	char what[96];
	snprintf(what, sizeof(what), "device state afterwards (%s)", key);
	ft_conform_expect_str(rec, what, err == FT_OK ? ft_dfu_state_name(state) : "no answer",
	                      ft_dfu_state_name(want));
}

static void record_last_status(ft_conform_dfu *d, ft_conform_record *rec, const char *prefix)
{
	ft_dfu_getstatus st = ft_dfuse_last_status(ft_conform_dfu_dev(d));
	char key[96];
	snprintf(key, sizeof(key), "%s.state", prefix);
	ft_conform_record_str(rec, key, ft_dfu_state_name(st.state));
	snprintf(key, sizeof(key), "%s.status", prefix);
	ft_conform_record_str(rec, key, ft_dfu_status_name(st.status));
}

/* Records an operation's result under prefix.result and the device's answer to it. */
static void record_result(ft_conform_dfu *d, ft_conform_record *rec, const char *prefix,
                          ft_error err)
{
	char key[96];
	snprintf(key, sizeof(key), "%s.result", prefix);
	ft_conform_record_str(rec, key, ft_error_name(err));
	record_last_status(d, rec, prefix);
}

/* Expects err to be a failure; the detail is ok_text when it was not, else the message. */
static bool expect_failure(ft_conform_record *rec, const char *what, ft_error err,
                           const char *ok_text, const ft_diag *diag)
{
	return ft_conform_expect_true(rec, what, err != FT_OK,
	                              err == FT_OK ? ok_text : diag->message);
}

/* Reads len bytes at addr back into back (recorded under key) and checks they are all 0xFF. */
static void expect_erased(ft_conform_dfu *d, ft_conform_record *rec, const char *key, uint32_t addr,
                          uint8_t *back, size_t len, const char *what)
{
	if (!ft_conform_dfu_digest(d, key, addr, (uint32_t)len, back, len))
		return;
	size_t blank = 0;
	while (blank < len && back[blank] == 0xFF)
		blank++;
	ft_conform_record_check(rec, blank == len, what, "%zu of %zu bytes are 0xFF", blank, len);
}

/* Erases the sector at FLASH_BASE and writes data there, expecting both to succeed. */
static void program_sector0(ft_conform_dfu *d, ft_conform_record *rec, const uint8_t *data,
                            size_t len, const char *what, ft_diag *diag)
{
	ft_dfuse_dev *dev = ft_conform_dfu_dev(d);
	expect_error(rec, "erase sector 0", ft_dfuse_erase_sector(dev, FLASH_BASE, diag), FT_OK,
	             diag);
	expect_error(rec, what, ft_dfuse_write(dev, FLASH_BASE, data, len, diag), FT_OK, diag);
}

/* Verifies data at FLASH_BASE and expects the verify to find a difference. */
static void expect_verify_fails(ft_conform_dfu *d, ft_conform_record *rec, const uint8_t *data,
                                size_t len, const char *what, ft_diag *diag)
{
	ft_conform_dfu_mark(d, "verify");
	ft_diag_clear(diag);
	ft_error err = ft_dfuse_verify(ft_conform_dfu_dev(d), FLASH_BASE, data, len, diag);
	ft_conform_record_str(rec, "dfu.verify.result", ft_error_name(err));
	expect_failure(rec, what, err, "verify passed", diag);
}

/* Reads the option-byte alternate into buf; returns its length, 0 when the read failed. */
static size_t read_option_bytes(ft_conform_dfu *d, ft_conform_record *rec, const char *what,
                                uint8_t *buf, size_t cap)
{
	size_t len = 0;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_dfuse_read_option_bytes(ft_conform_dfu_dev(d), buf, cap, &len, &diag);
	return expect_error(rec, what, err, FT_OK, &diag) ? len : 0;
}

static void record_fmt(ft_conform_record *rec, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void record_fmt(ft_conform_record *rec, const char *key, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ft_conform_record_str(rec, key, text);
}

/* The layout strings the board's ROM reports: the part table's, or those of a quirk of its
 * revision that replaces them (h7a3-rev-z-descriptor). */
static const char *const *expected_alt_names(const ft_part *part, char revision)
{
	const ft_bootloader_info *bl = part->bootloader;
	for (size_t q = 0; q < bl->quirk_count; q++) {
		const ft_bootloader_quirk *quirk = &bl->quirks[q];
		if (quirk->alt_names[0] && ft_part_revision_name(part, quirk->rev_id) == revision)
			return quirk->alt_names;
	}
	return bl->alt_names;
}

/* Records and checks a bootloader's identity against the part table: IDs, strings, the DFU
 * functional descriptor, the alternate settings; the flash layout starts at 0x08000000 with the
 * part's sector size. strings: whether the client saw iManufacturer, iProduct and bmAttributes
 * (dfu-util shows none of them). */
static void check_identity(ft_conform_env *env, const ft_dfuse_device_info *info, bool strings)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const ft_part *part = ft_conform_env_part(env);
	const ft_bootloader_info *bl = part->bootloader;
	record_fmt(rec, "dfu.vid_pid", "%04x:%04x", info->vid, info->pid);
	ft_conform_record_check(rec, info->vid == bl->vid && info->pid == bl->pid, "USB IDs",
	                        "%04x:%04x, expected %04x:%04x", info->vid, info->pid, bl->vid,
	                        bl->pid);
	record_fmt(rec, "dfu.bcd_device", "0x%04X", info->bcd_device);
	ft_conform_expect_int(rec, "bcdDevice", info->bcd_device, bl->bcd_device);
	if (strings) {
		ft_conform_record_str(rec, "dfu.manufacturer", info->manufacturer);
		ft_conform_expect_str(rec, "iManufacturer", info->manufacturer, bl->manufacturer);
		ft_conform_record_str(rec, "dfu.product", info->product);
		ft_conform_expect_str(rec, "iProduct", info->product, bl->product);
	}
	ft_conform_record_str(rec, "dfu.serial", info->serial);
	bool hex12 = strlen(info->serial) == 12 && strspn(info->serial, "0123456789ABCDEF") == 12;
	ft_conform_expect_true(rec, "iSerialNumber is 12 upper-case hex digits", hex12,
	                       info->serial);
	record_fmt(rec, "dfu.bcd_dfu", "0x%04X", info->bcd_dfu);
	ft_conform_expect_int(rec, "bcdDFU", info->bcd_dfu, bl->bcd_dfu);
	ft_conform_record_int(rec, "dfu.transfer_size", info->transfer_size_reported);
	ft_conform_expect_int(rec, "wTransferSize", info->transfer_size_reported,
	                      bl->transfer_size);
	if (strings) {
		record_fmt(rec, "dfu.attributes", "0x%02X", info->attributes);
		ft_conform_expect_int(rec, "bitCanDnload and bitCanUpload", info->attributes & 3,
		                      3);
	}
	ft_conform_record_int(rec, "dfu.alt_count", (long long)info->alt_count);
	ft_conform_expect_int(rec, "alternate settings", (long long)info->alt_count, bl->alt_count);
	const char *const *names = expected_alt_names(part, ft_conform_env_revision(env));
	for (size_t i = 0; i < info->alt_count && i < FT_MAX_DFU_ALTS; i++) {
		char key[32], what[64];
		snprintf(key, sizeof(key), "dfu.alt%zu", i);
		ft_conform_record_str(rec, key, info->alts[i].name);
		snprintf(what, sizeof(what), "alternate setting %zu string", i);
		ft_conform_expect_str(rec, what, info->alts[i].name, names[i]);
	}
	const ft_dfuse_alt *flash = info->alt_count ? &info->alts[0] : NULL;
	bool parsed = flash && flash->layout_diag.code == FT_OK && flash->layout.group_count > 0;
	if (ft_conform_expect_true(rec, "flash layout parses", parsed,
	                           parsed ? flash->layout.name : "no usable alternate 0")) {
		const ft_dfuse_group *g = &flash->layout.groups[0];
		record_fmt(rec, "dfu.flash_layout", "0x%08X %u x %u B", (unsigned)g->start,
		           (unsigned)g->count, (unsigned)g->sector_size);
		ft_conform_expect_int(rec, "flash layout start", g->start, FLASH_BASE);
		ft_conform_expect_int(rec, "flash sector size (device-ID table)", g->sector_size,
		                      part->flash.sector_size);
	}
}

/* D01: enumeration, seen through the programmer's engine. */
static void run_d01(ft_conform_env *env)
{
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	check_identity(env, ft_dfuse_info(ft_conform_dfu_dev(d)), true);
	ft_conform_dfu_close(d);
}

/* D03: SET_ADDRESS into RAM_D2. The device answers dfuERROR/errTARGET; the engine clears it with
 * CLRSTATUS, reports the decoded error and never polls forever. */
static void run_d03(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "SET_ADDRESS 0x30000000");
	ft_error err = ft_dfuse_set_address(ft_conform_dfu_dev(d), 0x30000000u, &diag);
	record_result(d, rec, "dfu.set_address", err);
	expect_error(rec, "SET_ADDRESS 0x30000000 is refused", err, FT_ERR_RANGE, &diag);
	ft_dfu_getstatus st = ft_dfuse_last_status(ft_conform_dfu_dev(d));
	ft_conform_expect_str(rec, "device status", ft_dfu_status_name(st.status),
	                      ft_dfu_status_name(STATUS_ERR_TARGET));
	ft_conform_expect_str(rec, "device state", ft_dfu_state_name(st.state),
	                      ft_dfu_state_name(STATE_DFU_ERROR));
	ft_conform_expect_contains(rec, "the error names the status", diag.message, "errTARGET");
	ft_conform_expect_contains(rec, "the error names the address", diag.message, "0x30000000");
	expect_state(d, rec, "dfu.after", STATE_DFU_IDLE);
	ft_conform_dfu_close(d);
}

/* D04: ERASE of AXI SRAM: errTARGET, erase is only valid for flash. */
static void run_d04(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "ERASE 0x24000000");
	ft_error err = ft_dfuse_erase_sector(ft_conform_dfu_dev(d), 0x24000000u, &diag);
	record_result(d, rec, "dfu.erase", err);
	expect_error(rec, "ERASE 0x24000000 is refused", err, FT_ERR_RANGE, &diag);
	ft_conform_expect_str(
	    rec, "device status",
	    ft_dfu_status_name(ft_dfuse_last_status(ft_conform_dfu_dev(d)).status),
	    ft_dfu_status_name(STATUS_ERR_TARGET));
	ft_conform_expect_contains(rec, "the error names the address", diag.message, "0x24000000");
	expect_state(d, rec, "dfu.after", STATE_DFU_IDLE);
	ft_conform_dfu_close(d);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Erases the sector at FLASH_BASE and writes a, then b over it without an erase. Returns the
 * second write's result; diag gets its message. */
static ft_error overwrite(ft_conform_dfu *d, ft_conform_record *rec, const uint8_t *a,
                          const uint8_t *b, size_t len, ft_diag *diag)
{
	ft_dfuse_dev *dev = ft_conform_dfu_dev(d);
	ft_conform_dfu_mark(d, "erase sector 0");
	uint64_t start = now_ms();
	ft_error err = ft_dfuse_erase_sector(dev, FLASH_BASE, diag);
	ft_conform_record_int(rec, "time.dfu.erase_sector0_ms", (long long)(now_ms() - start));
	expect_error(rec, "erase sector 0", err, FT_OK, diag);
	ft_conform_dfu_mark(d, "first write");
	err = ft_dfuse_write(dev, FLASH_BASE, a, len, diag);
	expect_error(rec, "first write", err, FT_OK, diag);
	ft_conform_dfu_mark(d, "second write without erase");
	ft_diag_clear(diag);
	err = ft_dfuse_write(dev, FLASH_BASE, b, len, diag);
	record_result(d, rec, "dfu.overwrite", err);
	return err;
}

/* D07: programming over programmed flash words. The ROM reads back what it wrote and answers
 * errVERIFY (or errPROG); it must never report success. */
static void run_d07(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	uint8_t a[32], b[32];
	memset(a, 0x5A, sizeof(a));
	memset(b, 0xA5, sizeof(b));
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = overwrite(d, rec, a, b, sizeof(a), &diag);
	expect_failure(rec, "the overwrite is reported as an error", err, "reported success",
	               &diag);
	const char *status = ft_dfu_status_name(ft_dfuse_last_status(ft_conform_dfu_dev(d)).status);
	bool known = strcmp(status, "errVERIFY") == 0 || strcmp(status, "errPROG") == 0;
	ft_conform_expect_true(rec, "device status is errVERIFY or errPROG", known, status);
	expect_state(d, rec, "dfu.after", STATE_DFU_IDLE);
	ft_conform_dfu_close(d);
}

/* Reads one 6-byte GETSTATUS answer as "STATE STATUS" into text. */
static void raw_status(ft_conform_dfu *d, char *text, size_t cap, uint8_t *state)
{
	uint8_t buf[6] = {0};
	size_t got = 0;
	ft_transfer_status st = ft_conform_dfu_request(d, false, DFU_GETSTATUS, 0, buf, 6, &got);
	if (st != FT_TRANSFER_OK || got != 6) {
		snprintf(text, cap, "no answer (%s)", ft_transfer_status_name(st));
		*state = 0xFF;
		return;
	}
	snprintf(text, cap, "%s %s", ft_dfu_state_name(buf[4]), ft_dfu_status_name(buf[0]));
	*state = buf[4];
}

/* D09: after errTARGET the device stays in dfuERROR, GETSTATUS after GETSTATUS, until
 * CLRSTATUS; then dfuIDLE/OK (regression guard for hosts that poll forever). Raw requests: the
 * first GETSTATUS after a DfuSe command executes it (dfuDNBUSY), the next ones see the result. */
static void run_d09(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	uint8_t cmd[5] = {CMD_SET_ADDRESS, 0x00, 0x00, 0x00, 0x30}; /* LE 0x30000000 */
	ft_conform_dfu_mark(d, "raw SET_ADDRESS 0x30000000");
	ft_transfer_status st = ft_conform_dfu_request(d, true, DFU_DNLOAD, 0, cmd, 5, NULL);
	ft_conform_expect_str(rec, "DNLOAD of the command", ft_transfer_status_name(st), "ok");
	char text[96];
	uint8_t state;
	static const char *const keys[] = {"dfu.recovery.execute", "dfu.recovery.first",
	                                   "dfu.recovery.second"};
	static const char *const want[] = {"dfuDNBUSY OK", "dfuERROR errTARGET",
	                                   "dfuERROR errTARGET"};
	for (size_t i = 0; i < 3; i++) {
		raw_status(d, text, sizeof(text), &state);
		ft_conform_record_str(rec, keys[i], text);
		ft_conform_expect_str(rec, keys[i], text, want[i]);
	}
	uint8_t s = 0xFF;
	size_t got = 0;
	ft_conform_dfu_request(d, false, DFU_GETSTATE, 0, &s, 1, &got);
	ft_conform_record_str(rec, "dfu.recovery.getstate", got == 1 ? ft_dfu_state_name(s) : "-");
	ft_conform_expect_str(rec, "GETSTATE", got == 1 ? ft_dfu_state_name(s) : "-",
	                      ft_dfu_state_name(STATE_DFU_ERROR));
	st = ft_conform_dfu_request(d, true, DFU_CLRSTATUS, 0, NULL, 0, NULL);
	ft_conform_expect_str(rec, "CLRSTATUS", ft_transfer_status_name(st), "ok");
	raw_status(d, text, sizeof(text), &state);
	ft_conform_record_str(rec, "dfu.recovery.after_clrstatus", text);
	ft_conform_expect_str(rec, "after CLRSTATUS", text, "dfuIDLE OK");
	ft_conform_dfu_close(d);
}

/* Records under key the GETSTATUS answer after each CLRSTATUS that follows the mark in the
 * sequence (before the next mark): how a host's recovery went, as the device answered it. */
static void record_clrstatus_answers(ft_conform_record *rec, const char *mark, const char *key)
{
	const json_t *seq = ft_conform_record_answer(rec, "dfu.sequence");
	ft_conform_record_json(rec, key, json_array());
	bool in_phase = false, after_clr = false;
	size_t i;
	json_t *e;
	json_array_foreach(seq, i, e)
	{
		const char *text = json_string_value(e);
		if (!text)
			continue;
		if (strncmp(text, "-- ", 3) == 0)
			in_phase = strcmp(text, mark) == 0;
		else if (in_phase && strcmp(text, "CLRSTATUS") == 0)
			after_clr = true;
		else if (in_phase && after_clr && strncmp(text, "GETSTATUS ", 10) == 0) {
			ft_conform_record_append(rec, key, text + 10);
			after_clr = false;
		}
	}
}

/* D11: erase of a bank-2 sector works (regression for "erasing sector 0008 failed"). On H743
 * rev V the ROM stays dfuDNBUSY; the engine recovers with CLRSTATUS, says so and checks the
 * sector is blank. */
static void run_d11(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	ft_dfuse_dev *dev = ft_conform_dfu_dev(d);
	uint8_t pattern[32], back[1024];
	ft_gen_self_addressed(pattern, sizeof(pattern), BANK2_BASE);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "write 32 B at 0x08100000");
	expect_error(rec, "write into bank 2", ft_dfuse_write(dev, BANK2_BASE, pattern, 32, &diag),
	             FT_OK, &diag);
	ft_conform_dfu_mark(d, "erase 0x08100000");
	ft_error err = ft_dfuse_erase_sector(dev, BANK2_BASE, &diag);
	ft_conform_record_str(rec, "dfu.bank2_erase.result", ft_error_name(err));
	expect_error(rec, "erase of bank 2 sector 0", err, FT_OK, &diag);
	record_clrstatus_answers(rec, "-- erase 0x08100000", "dfu.bank2_erase.clrstatus_answers");
	ft_conform_dfu_mark(d, "read back");
	expect_erased(d, rec, "readback.bank2", BANK2_BASE, back, sizeof(back),
	              "bank 2 sector 0 reads erased");
	ft_conform_dfu_close(d);
}

/* D13: leaving DFU after a download. The device resets instead of answering the last
 * GETSTATUS; that is success, not "Error during download get_status". */
static void run_d13(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "leave at 0x08000000");
	ft_error err = ft_dfuse_leave(ft_conform_dfu_dev(d), FLASH_BASE, &diag);
	ft_conform_record_str(rec, "dfu.leave.result", ft_error_name(err));
	expect_error(rec, "leave reports success", err, FT_OK, &diag);
	bool gone = ft_dfuse_is_gone(ft_conform_dfu_dev(d));
	ft_conform_record_bool(rec, "dfu.leave.gone", gone);
	ft_conform_expect_true(rec, "the device has left DFU mode", gone,
	                       gone ? "gone" : "still answering");
	ft_conform_dfu_close(d);
}

/* D31 (added): Get Commands (UPLOAD block 0) lists 0x00, 0x21, 0x41, 0x92 (AN3156). */
static void run_d31(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	uint8_t buf[16] = {0};
	size_t got = 0;
	ft_transfer_status st =
	    ft_conform_dfu_request(d, false, DFU_UPLOAD, 0, buf, sizeof(buf), &got);
	char text[64] = "";
	for (size_t i = 0; i < got && i < sizeof(buf); i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%02X", i ? " " : "",
		         buf[i]);
	ft_conform_record_str(rec, "dfu.commands", st == FT_TRANSFER_OK ? text : "no answer");
	ft_conform_expect_str(rec, "Get Commands", text, "00 21 41 92");
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "back to dfuIDLE");
	expect_error(rec, "recover to dfuIDLE", ft_dfuse_recover_idle(ft_conform_dfu_dev(d), &diag),
	             FT_OK, &diag);
	ft_conform_dfu_close(d);
}

/* D32 (added): a fresh board's flash uploads as erased, in wTransferSize blocks. */
static void run_d32(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	static uint8_t back[4096];
	expect_erased(d, rec, "readback.flash_start", FLASH_BASE, back, sizeof(back),
	              "flash reads erased");
	ft_conform_dfu_close(d);
}

/* D33 (added): the RAM windows the ROM accepts take a DNLOAD and read back the same. */
static void run_d33(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	static const uint32_t windows[] = {0x20004100u, 0x24005000u};
	for (size_t i = 0; i < 2; i++) {
		uint8_t data[256], back[256];
		ft_gen_self_addressed(data, sizeof(data), windows[i]);
		ft_diag diag;
		ft_diag_clear(&diag);
		char what[96], key[64];
		snprintf(what, sizeof(what), "write 256 B at 0x%08X", (unsigned)windows[i]);
		ft_conform_dfu_mark(d, what);
		ft_error err =
		    ft_dfuse_write(ft_conform_dfu_dev(d), windows[i], data, sizeof(data), &diag);
		if (!expect_error(rec, what, err, FT_OK, &diag))
			continue;
		snprintf(key, sizeof(key), "readback.ram_%08X", (unsigned)windows[i]);
		if (ft_conform_dfu_digest(d, key, windows[i], sizeof(back), back, sizeof(back))) {
			snprintf(what, sizeof(what), "0x%08X reads back what was written",
			         (unsigned)windows[i]);
			bool same = memcmp(back, data, sizeof(data)) == 0;
			ft_conform_expect_true(rec, what, same, same ? "same bytes" : "different");
		}
	}
	ft_conform_dfu_close(d);
}

/* O30 (added): the option-byte alternate reads whole, and so does the 308-byte register image
 * STM32CubeProgrammer uploads from 0x5200201C (community.st.com thread 221810). */
static void run_o30(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const ft_bootloader_info *bl = ft_conform_env_part(env)->bootloader;
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	if (ft_conform_dfu_select(d, OB_ADDR)) {
		uint8_t buf[512];
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_conform_dfu_mark(d, "read the alternate's size");
		ft_error err = ft_dfuse_read(ft_conform_dfu_dev(d), OB_ADDR, buf,
		                             bl->option_bytes_size, &diag);
		ft_conform_record_str(rec, "ob.read_alt.result", ft_error_name(err));
		expect_error(rec, "read of the option-byte alternate", err, FT_OK, &diag);
		ft_conform_dfu_mark(d, "read 308 B");
		ft_diag_clear(&diag);
		err = ft_dfuse_read(ft_conform_dfu_dev(d), OB_ADDR, buf, OB_READ_CUBEPROG, &diag);
		ft_conform_record_str(rec, "ob.read_308.result", ft_error_name(err));
		if (err != FT_OK)
			ft_conform_record_str(rec, "ob.read_308.error", diag.message);
	}
	ft_conform_dfu_close(d);
}

/* O31 (added): a factory board's option bytes: RDP level 0 (0xAA) in FLASH_OPTSR_CUR. */
static void run_o31(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const ft_bootloader_info *bl = ft_conform_env_part(env)->bootloader;
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	uint8_t buf[512];
	size_t len = read_option_bytes(d, rec, "read the option bytes", buf, sizeof(buf));
	if (len >= 4) {
		ft_conform_record_int(rec, "ob.size", (long long)len);
		ft_conform_expect_int(rec, "option-byte alternate size", (long long)len,
		                      bl->option_bytes_size);
		uint32_t optsr = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
		                 (uint32_t)buf[3] << 24;
		ft_conform_record_hex(rec, "ob.optsr_cur", optsr);
		record_fmt(rec, "ob.rdp", "0x%02X", (unsigned)(optsr >> 8 & 0xFFu));
		ft_conform_expect_int(rec, "RDP (OPTSR_CUR bits 15:8)", optsr >> 8 & 0xFFu,
		                      RDP_LEVEL_0);
	}
	ft_conform_dfu_close(d);
}

/* ---- scenarios that need emulator switches (conformance/target.h vocabulary) ---- */

/* D05: RDP level 1. Erase and write are refused with errVENDOR. */
static void run_d05(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "erase sector 0 under RDP level 1");
	ft_error err = ft_dfuse_erase_sector(ft_conform_dfu_dev(d), FLASH_BASE, &diag);
	record_result(d, rec, "dfu.erase", err);
	expect_error(rec, "erase is refused as protected", err, FT_ERR_PROTECTED, &diag);
	ft_conform_expect_contains(rec, "the error names errVENDOR", diag.message, "errVENDOR");
	ft_conform_dfu_close(d);
}

/* D35 (added): D07 with a ROM that does not read back (--fault no-readback-verify): the write
 * "succeeds" and only the host's verify catches the corrupted words. */
static void run_d35(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	uint8_t a[32], b[32];
	memset(a, 0x5A, sizeof(a));
	memset(b, 0xA5, sizeof(b));
	ft_diag diag;
	ft_diag_clear(&diag);
	overwrite(d, rec, a, b, sizeof(a), &diag);
	expect_verify_fails(d, rec, b, sizeof(b), "verify catches the overwritten words", &diag);
	ft_conform_dfu_close(d);
}

/* D37 (added): an ECC error injected into a programmed block (--fault corrupt-block=1
 * --fault corrupt-double) is found by the read-back. */
static void run_d37(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	static uint8_t data[1024];
	ft_gen_self_addressed(data, sizeof(data), FLASH_BASE);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "erase and write 1 KiB");
	program_sector0(d, rec, data, sizeof(data), "write 1 KiB", &diag);
	expect_verify_fails(d, rec, data, sizeof(data), "verify reports the corrupted word", &diag);
	ft_conform_dfu_close(d);
}

/* D38 (added): a DNLOAD into the ROM's own work RAM with the crash knob (--fault
 * workarea-crash): the device stops answering and the host reports a failure at once instead
 * of waiting on it. */
static void run_d38(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", true);
	if (!d)
		return;
	uint8_t data[64];
	ft_gen_self_addressed(data, sizeof(data), 0x24000000u);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "write 64 B at 0x24000000");
	ft_error err =
	    ft_dfuse_write(ft_conform_dfu_dev(d), 0x24000000u, data, sizeof(data), &diag);
	ft_conform_record_str(rec, "dfu.workarea.result", ft_error_name(err));
	expect_failure(rec, "the write fails", err, "reported success", &diag);
	uint8_t state = 0;
	ft_diag_clear(&diag);
	/* an I/O error or a disconnect, depending on when the host asks: not recorded */
	ft_conform_dfu_quiet(d, true);
	err = ft_dfuse_get_state(ft_conform_dfu_dev(d), &state, &diag);
	ft_conform_dfu_quiet(d, false);
	ft_conform_record_str(rec, "dfu.workarea.after",
	                      err == FT_OK ? ft_dfu_state_name(state) : "no answer");
	ft_conform_expect_true(rec, "the device answers nothing afterwards", err != FT_OK,
	                       err == FT_OK ? ft_dfu_state_name(state) : diag.message);
	ft_conform_dfu_close(d);
}

/* O04: RDP level 1 -> 0 with READ_UNPROTECT: the device mass-erases, regresses and resets
 * (--option rdp=0xBB, --on-leave dfu serves DFU again); afterwards RDP reads 0xAA and the flash
 * is blank. */
static void run_o04(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	uint8_t buf[512];
	if (read_option_bytes(d, rec, "read the option bytes before", buf, sizeof(buf)) >= 2) {
		record_fmt(rec, "ob.rdp_before", "0x%02X", buf[1]);
		ft_conform_expect_true(rec, "RDP level 1 before",
		                       buf[1] != RDP_LEVEL_0 && buf[1] != RDP_LEVEL_2,
		                       "OPTSR_CUR RDP byte");
	}
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "READ_UNPROTECT");
	ft_error err = ft_dfuse_read_unprotect(ft_conform_dfu_dev(d), &diag);
	ft_conform_record_str(rec, "dfu.unprotect.result", ft_error_name(err));
	expect_error(rec, "READ_UNPROTECT", err, FT_OK, &diag);
	ft_conform_dfu_close(d);
	d = ft_conform_dfu_reopen(env, "dfu.after_reset", REENUMERATION_MS);
	if (!d)
		return;
	if (read_option_bytes(d, rec, "read the option bytes after the reset", buf, sizeof(buf)) >=
	    2) {
		record_fmt(rec, "ob.rdp", "0x%02X", buf[1]);
		ft_conform_expect_int(rec, "RDP after the regression", buf[1], RDP_LEVEL_0);
	}
	static uint8_t back[1024];
	expect_erased(d, rec, "readback.flash_start", FLASH_BASE, back, sizeof(back),
	              "flash is blank after the regression");
	ft_conform_dfu_close(d);
}

/* ---- programmer scenarios: `flashtwin flash` as a user runs it ---- */

/* Replaces every occurrence of from in text[0..cap) by to (cut at cap). */
static void replace_all(char *text, size_t cap, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);
	if (flen == 0)
		return;
	char *at = text;
	while ((at = strstr(at, from)) != NULL) {
		size_t rest = strlen(at + flen);
		if ((size_t)(at - text) + tlen + rest + 1 > cap)
			return;
		memmove(at + tlen, at + flen, rest + 1);
		memcpy(at, to, tlen);
		at += tlen;
	}
}

/* Runs `flashtwin flash FILE... --connect CONN --board BOARD [extra]` and records its exit status
 * and last line of stderr under prefix. Returns the exit status, -1 when it did not run. */
static int flash(ft_conform_env *env, const char *prefix, const char *const *files,
                 const char *const *extra)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const char *args[24];
	size_t n = 0;
	args[n++] = "flash";
	for (size_t i = 0; files[i] && n < 8; i++)
		args[n++] = files[i];
	args[n++] = "--connect";
	args[n++] = ft_conform_env_connection(env);
	args[n++] = "--board";
	args[n++] = ft_conform_env_board(env);
	if (ft_conform_env_emulated(env))
		args[n++] = "--no-poll-wait";
	for (size_t i = 0; extra && extra[i] && n < 22; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	ft_proc_result res;
	if (!ft_conform_env_flashtwin(env, args, &res))
		return -1;
	char key[96];
	snprintf(key, sizeof(key), "%s.exit_status", prefix);
	ft_conform_record_int(rec, key, res.exit_status);
	size_t len;
	const char *last = ft_proc_last_line(res.err_len ? res.err : res.out, &len);
	char line[320];
	snprintf(line, sizeof(line), "%.*s", (int)len, last);
	/* what changes from run to run: the emulator's port, the directories */
	replace_all(line, sizeof(line), ft_conform_env_connection(env), "<device>");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/", ft_conform_env_fixtures_dir(env));
	replace_all(line, sizeof(line), dir, "");
	snprintf(dir, sizeof(dir), "%s/", ft_conform_env_work_dir(env));
	replace_all(line, sizeof(line), dir, "");
	snprintf(key, sizeof(key), "%s.last_line", prefix);
	ft_conform_record_str(rec, key, line);
	int status = res.exit_status;
	ft_proc_result_free(&res);
	return status;
}

/* Reads a whole fixture file into a malloc'd buffer; NULL (recorded) on failure. */
static uint8_t *read_fixture(ft_conform_env *env, const char *name, size_t *len)
{
	char path[512];
	if (!ft_conform_env_fixture(env, name, path, sizeof(path)))
		return NULL;
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size = -1;
	if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
		buf = malloc((size_t)size + 1);
	if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	if (!buf)
		ft_conform_record_fail(ft_conform_env_record(env), "cannot read %s", path);
	*len = buf ? (size_t)size : 0;
	return buf;
}

/* Reads len bytes at addr after the programmer ran and compares them with want. */
static void expect_flash(ft_conform_env *env, const char *key, uint32_t addr, const uint8_t *want,
                         size_t len, const char *what)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "readback", false);
	if (!d)
		return;
	uint8_t *back = malloc(len);
	if (back && ft_conform_dfu_digest(d, key, addr, (uint32_t)len, back, len)) {
		size_t i = 0;
		while (i < len && back[i] == want[i])
			i++;
		ft_conform_record_check(rec, i == len, what,
		                        i == len ? "0x%zx bytes at 0x%08X as expected"
		                                 : "first difference at byte 0x%zx of 0x%08X",
		                        i == len ? len : i, (unsigned)addr);
	}
	free(back);
	ft_conform_dfu_close(d);
}

/* D30 (added): program h743-clean.elf with flashtwin flash; the flash then holds exactly the
 * image's bytes (h743-clean.bin is its flash part from 0x08000000). */
static void run_d30(ft_conform_env *env)
{
	char elf[512];
	size_t len;
	if (!ft_conform_env_fixture(env, "h743-clean.elf", elf, sizeof(elf)))
		return;
	uint8_t *image = read_fixture(env, "h743-clean.bin", &len);
	if (!image)
		return;
	int status = flash(env, "flash", ARGS(elf), NULL);
	ft_conform_expect_int(ft_conform_env_record(env), "flashtwin flash exit status", status, 0);
	expect_flash(env, "readback.image", FLASH_BASE, image, len, "flash holds the image");
	free(image);
}

/* D14: an image with a flash and a RAM segment is refused before anything is erased: what was
 * in sector 0 before is still there afterwards (the real tool erased sector 0 first, field
 * report C). */
static void run_d14(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const char *name =
	    ft_conform_env_part(env)->dev_id == 0x483 ? "h723-eth-d2.elf" : "h743-dtcm.elf";
	char elf[512];
	if (!ft_conform_env_fixture(env, name, elf, sizeof(elf)))
		return;
	uint8_t before[256];
	ft_gen_self_addressed(before, sizeof(before), FLASH_BASE);
	ft_conform_dfu *d = ft_conform_dfu_open(env, "dfu", false);
	if (!d)
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_conform_dfu_mark(d, "put a known pattern in sector 0");
	program_sector0(d, rec, before, sizeof(before), "write the pattern", &diag);
	ft_conform_dfu_close(d);
	int status = flash(env, "flash", ARGS(elf), NULL);
	ft_conform_expect_int(rec, "flashtwin flash refuses the image", status, 1);
	expect_flash(env, "readback.sector0", FLASH_BASE, before, sizeof(before),
	             "nothing was erased or written");
}

/* D08: the last block ends inside a flash word (0x3F4 bytes from 0x0800A000): the programmer
 * pads it, so the flash holds the data and 0xFF up to the word's end whatever the ROM does with
 * partial words (D39 runs the same with the ROM skipping them). */
static void run_d08(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	static uint8_t data[0x3F4], want[0x400];
	ft_gen_self_addressed(data, sizeof(data), 0x0800A000u);
	memcpy(want, data, sizeof(data));
	memset(want + sizeof(data), 0xFF, sizeof(want) - sizeof(data));
	ft_gen_hex_record r[0x3F4 / 0x20 + 1];
	size_t n = 0;
	for (uint32_t off = 0; off < sizeof(data); off += 0x20, n++) {
		uint32_t len = sizeof(data) - off < 0x20 ? (uint32_t)sizeof(data) - off : 0x20;
		r[n] = (ft_gen_hex_record){0x0800A000u + off, data + off, (uint8_t)len};
	}
	char *text;
	size_t text_len;
	ft_diag diag;
	if (ft_gen_hex(r, n, &text, &text_len, &diag) != FT_OK) {
		ft_conform_record_fail(rec, "generating the HEX: %s", diag.message);
		return;
	}
	char path[512];
	bool ok = ft_conform_env_write(env, "d08-tail.hex", text, text_len, path, sizeof(path));
	free(text);
	if (!ok)
		return;
	int status = flash(env, "flash", ARGS(path), NULL);
	ft_conform_expect_int(rec, "flashtwin flash exit status", status, 0);
	expect_flash(env, "readback.tail", 0x0800A000u, want, sizeof(want),
	             "data, then 0xFF to the end of the flash word");
}

/* D36 (added): the device drops off the bus at the third data block (--fault
 * disconnect-at-block=3): flashtwin flash fails within its bounds and says the device is gone. */
static void run_d36(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char bin[512];
	if (!ft_conform_env_fixture(env, "h725-app.bin", bin, sizeof(bin)))
		return;
	int status = flash(env, "flash", ARGS(bin), ARGS("--address", "0x08000000"));
	ft_conform_expect_true(rec, "flashtwin flash fails", status != 0 && status != -1,
	                       status == 0 ? "exit 0" : "non-zero exit");
	ft_conform_expect_contains(
	    rec, "the error names the block that failed",
	    json_string_value(ft_conform_record_answer(rec, "flash.last_line")), "DNLOAD");
}

/* ---- the same scenarios with dfu-util as the client (conformance/client.h) ----
 * dfu-util runs unmodified against a board on this machine's USB (the lab's guest, a real
 * board). Device facts go under the keys the flashtwin versions record, so the two clients
 * compare point by point; what dfu-util itself says goes under dfu_util.STEP. */

/* dfu-util 0.11's messages (dfu.c, dfuse.c, main.c). */
#define DFU_UTIL_DOWNLOADED         "File downloaded successfully"
#define DFU_UTIL_SET_ADDRESS_FAILED "SET_ADDRESS not correctly executed"
#define DFU_UTIL_CLEARING           "Clearing status"
#define DFU_UTIL_LEAVE              "Submitting leave request"
#define DFU_UTIL_LEAVE_GET_STATUS   "Error during download get_status"
#define DFU_UTIL_EXIT_IO            74 /* EX_IOERR: how dfu-util ends on a device error */

/* Checks that dfu-util's output text says needle; the detail quotes its end, where dfu-util
 * says what happened (its start is a banner). */
static bool dfu_util_said(ft_conform_record *rec, const char *what, const char *text,
                          const char *needle)
{
	size_t len = text ? strlen(text) : 0;
	if (text && !strstr(text, needle) && len > 240)
		text += len - 240;
	return ft_conform_expect_contains(rec, what, text, needle);
}

/* Runs dfu-util ARGS as step name and records its exit status (dfu_util.NAME.exit_status) and
 * the last message it printed on stderr (dfu_util.NAME.message). Its output stays in *res (free
 * it). Returns the exit status; -1 (recorded, *res empty) when it did not run. */
static int dfu_util_step(ft_conform_env *env, const char *name, const char *const *args,
                         ft_proc_result *res)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	if (!ft_conform_env_dfu_util(env, args, res)) {
		memset(res, 0, sizeof(*res));
		return -1;
	}
	char key[96], message[256];
	snprintf(key, sizeof(key), "dfu_util.%s.exit_status", name);
	ft_conform_record_int(rec, key, res->exit_status);
	if (ft_conform_dfu_util_error(res->err, message, sizeof(message))) {
		snprintf(key, sizeof(key), "dfu_util.%s.message", name);
		ft_conform_record_str(rec, key, message);
	}
	return res->exit_status;
}

/* The same, for a step that must succeed; false (checked) when it did not. */
static bool dfu_util_ok(ft_conform_env *env, const char *name, const char *const *args,
                        ft_proc_result *res)
{
	int status = dfu_util_step(env, name, args, res);
	char what[96];
	snprintf(what, sizeof(what), "dfu-util %s exit status", name);
	return status >= 0 && ft_conform_expect_int(ft_conform_env_record(env), what, status, 0);
}

/* Reads the file name of the work directory that dfu-util -U wrote; NULL (checked) when it is
 * missing or not len bytes long. */
static uint8_t *read_upload(ft_conform_env *env, const char *name, size_t len)
{
	char path[640];
	snprintf(path, sizeof(path), "%s/%s", ft_conform_env_work_dir(env), name);
	FILE *f = fopen(path, "rb");
	uint8_t *buf = f ? malloc(len + 1) : NULL;
	size_t got = buf ? fread(buf, 1, len + 1, f) : 0;
	if (f)
		fclose(f);
	char what[96];
	snprintf(what, sizeof(what), "dfu-util wrote %s", name);
	if (!ft_conform_record_check(ft_conform_env_record(env), got == len, what,
	                             "%zu bytes, expected %zu", got, len)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* D01 with dfu-util: `dfu-util -l` gives the IDs, serial and alternate settings; a 16-byte
 * upload shows the DFU version and wTransferSize it got from the functional descriptor. */
static void run_d01_dfu_util(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_proc_result res;
	ft_dfuse_device_info info;
	bool ran = dfu_util_ok(env, "list", ARGS("-l"), &res);
	size_t alts = ran ? ft_conform_dfu_util_list(res.out, &info) : 0;
	ft_proc_result_free(&res);
	if (!ran || !ft_conform_expect_true(rec, "dfu-util -l lists the device", alts > 0,
	                                    "no \"Found DFU\" line"))
		return;
	ran = dfu_util_ok(env, "upload", ARGS("-a", "0", "-s", "0x08000000:16", "-U", "d01.bin"),
	                  &res);
	bool seen = ran && ft_conform_dfu_util_session(res.out, &info);
	ft_proc_result_free(&res);
	if (!ran)
		return;
	ft_conform_expect_true(
	    rec, "dfu-util shows bcdDFU and wTransferSize", seen,
	    "\"Device DFU version\" or \"Device returned transfer size\" missing");
	check_identity(env, &info, false);
}

/* D03 with dfu-util: it sends SET_ADDRESS 0x30000000 only when told "force"; the ROM's
 * errTARGET makes it stop ("SET_ADDRESS not correctly executed"), and its next run finds the
 * device in dfuERROR/errTARGET and clears it. */
static void run_d03_dfu_util(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[256];
	ft_gen_self_addressed(data, sizeof(data), 0x30000000u);
	char path[512];
	if (!ft_conform_env_write(env, "ram.bin", data, sizeof(data), path, sizeof(path)))
		return;
	ft_proc_result res;
	int status = dfu_util_step(env, "set_address",
	                           ARGS("-a", "0", "-s", "0x30000000:force", "-D", path), &res);
	if (status < 0)
		return;
	ft_conform_expect_true(rec, "dfu-util fails", status != 0, "exit 0");
	dfu_util_said(rec, "dfu-util reports the refused SET_ADDRESS", res.err,
	              DFU_UTIL_SET_ADDRESS_FAILED);
	ft_proc_result_free(&res);
	status = dfu_util_step(env, "next_run",
	                       ARGS("-a", "0", "-s", "0x08000000:16", "-U", "probe.bin"), &res);
	if (status < 0)
		return;
	uint8_t state = 0xFF, st = 0xFF;
	bool found = ft_conform_dfu_util_status(res.out, 0, &state, &st);
	ft_conform_record_str(rec, "dfu.set_address.state",
	                      found ? ft_dfu_state_name(state) : "no answer");
	ft_conform_record_str(rec, "dfu.set_address.status",
	                      found ? ft_dfu_status_name(st) : "no answer");
	ft_conform_expect_str(rec, "device status", found ? ft_dfu_status_name(st) : "no answer",
	                      ft_dfu_status_name(STATUS_ERR_TARGET));
	ft_conform_expect_str(rec, "device state", found ? ft_dfu_state_name(state) : "no answer",
	                      ft_dfu_state_name(STATE_DFU_ERROR));
	dfu_util_said(rec, "dfu-util clears the error", res.out, DFU_UTIL_CLEARING);
	found = ft_conform_dfu_util_status(res.out, -1, &state, &st);
	ft_conform_record_str(rec, "dfu.after", found ? ft_dfu_state_name(state) : "no answer");
	ft_conform_expect_str(rec, "device state afterwards (dfu.after)",
	                      found ? ft_dfu_state_name(state) : "no answer",
	                      ft_dfu_state_name(STATE_DFU_IDLE));
	ft_conform_expect_int(rec, "dfu-util next_run exit status", status, 0);
	ft_proc_result_free(&res);
}

/* Polls `dfu-util -l` until it lists no DFU device, at most wait_ms; whether it got there. */
static bool dfu_util_device_gone(ft_conform_env *env, unsigned wait_ms)
{
	uint64_t deadline = now_ms() + wait_ms;
	for (;;) {
		ft_proc_result res;
		if (dfu_util_step(env, "list_after", ARGS("-l"), &res) < 0)
			return false;
		ft_dfuse_device_info info;
		bool listed = ft_conform_dfu_util_list(res.out, &info) > 0;
		ft_proc_result_free(&res);
		if (!listed)
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 200 * 1000000L}, NULL);
	}
}

/* D13 with dfu-util: a 1 KiB DfuSe download with ":leave". The ROM resets instead of answering
 * the GETSTATUS after the leave request, which dfu-util reports as "Error during download
 * get_status" (exit 74) although the board left DFU as asked: a real board's behaviour. */
static void run_d13_dfu_util(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[1024];
	ft_gen_self_addressed(data, sizeof(data), FLASH_BASE);
	char path[512];
	if (!ft_conform_env_write(env, "leave.bin", data, sizeof(data), path, sizeof(path)))
		return;
	ft_proc_result res;
	int status = dfu_util_step(env, "leave",
	                           ARGS("-a", "0", "-s", "0x08000000:leave", "-D", path), &res);
	if (status < 0)
		return;
	dfu_util_said(rec, "dfu-util downloads the file", res.out, DFU_UTIL_DOWNLOADED);
	dfu_util_said(rec, "dfu-util asks the device to leave", res.out, DFU_UTIL_LEAVE);
	dfu_util_said(rec, "the ROM resets before its last GETSTATUS (dfu-util's error)", res.err,
	              DFU_UTIL_LEAVE_GET_STATUS);
	ft_conform_expect_int(rec, "dfu-util leave exit status", status, DFU_UTIL_EXIT_IO);
	ft_proc_result_free(&res);
	bool gone = dfu_util_device_gone(env, REENUMERATION_MS);
	ft_conform_record_bool(rec, "dfu.leave.gone", gone);
	ft_conform_expect_true(rec, "the device has left DFU mode", gone,
	                       gone ? "gone" : "dfu-util -l still lists it");
}

/* D30 with dfu-util: h743-clean.bin (h743-clean.elf's flash bytes) downloaded in DfuSe mode at
 * 0x08000000 (dfu-util erases the sectors it covers first), uploaded again and compared. */
static void run_d30_dfu_util(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char bin[512];
	size_t len;
	if (!ft_conform_env_fixture(env, "h743-clean.bin", bin, sizeof(bin)))
		return;
	uint8_t *image = read_fixture(env, "h743-clean.bin", &len);
	if (!image)
		return;
	ft_proc_result res;
	if (dfu_util_ok(env, "download", ARGS("-a", "0", "-s", "0x08000000", "-D", bin), &res))
		dfu_util_said(rec, "dfu-util downloads the file", res.out, DFU_UTIL_DOWNLOADED);
	ft_proc_result_free(&res);
	char range[32];
	snprintf(range, sizeof(range), "0x%08X:%zu", FLASH_BASE, len);
	uint8_t *back = NULL;
	if (dfu_util_ok(env, "upload", ARGS("-a", "0", "-s", range, "-U", "readback.bin"), &res))
		back = read_upload(env, "readback.bin", len);
	ft_proc_result_free(&res);
	if (back) {
		ft_conform_record_digest(rec, "readback.image", FLASH_BASE, back, len);
		size_t i = 0;
		while (i < len && back[i] == image[i])
			i++;
		ft_conform_record_check(rec, i == len, "flash holds the image",
		                        i == len ? "0x%zx bytes at 0x%08X as expected"
		                                 : "first difference at byte 0x%zx of 0x%08X",
		                        i == len ? len : i, (unsigned)FLASH_BASE);
	}
	free(back);
	free(image);
}

/* The size of file name in the work directory, -1 when it cannot be read. */
static long file_size(ft_conform_env *env, const char *name)
{
	char path[640];
	snprintf(path, sizeof(path), "%s/%s", ft_conform_env_work_dir(env), name);
	FILE *f = fopen(path, "rb");
	long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (f)
		fclose(f);
	return size;
}

/* O30 with dfu-util: alternate setting 1 uploads whole at the address its layout names (a
 * check); the 308 bytes STM32CubeProgrammer reads are recorded, as the flashtwin version does,
 * not checked (dfu-util asks for the length it is given; without one it stops at the layout's
 * end). */
static void run_o30_dfu_util(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const ft_bootloader_info *bl = ft_conform_env_part(env)->bootloader;
	char range[32];
	snprintf(range, sizeof(range), "0x%08X:%u", OB_ADDR, (unsigned)bl->option_bytes_size);
	ft_proc_result res;
	uint8_t *ob = NULL;
	if (dfu_util_ok(env, "read_alt", ARGS("-a", "1", "-s", range, "-U", "ob.bin"), &res))
		ob = read_upload(env, "ob.bin", bl->option_bytes_size);
	ft_conform_record_str(rec, "ob.read_alt.result", ob ? "ok" : "failed");
	free(ob);
	ft_proc_result_free(&res);
	snprintf(range, sizeof(range), "0x%08X:%u", OB_ADDR, OB_READ_CUBEPROG);
	int status =
	    dfu_util_step(env, "read_308", ARGS("-a", "1", "-s", range, "-U", "ob308.bin"), &res);
	ft_proc_result_free(&res);
	long got = status == 0 ? file_size(env, "ob308.bin") : -1;
	ft_conform_record_int(rec, "dfu_util.read_308.bytes", got);
	/* A refusal reads differently per client (flashtwin names its error, dfu-util a libusb
	 * stall); only the success is the same fact. */
	if (got == OB_READ_CUBEPROG)
		ft_conform_record_str(rec, "ob.read_308.result", "ok");
}

#define DFU_DEVICE .section = FT_CONFORM_SECTION_DFU, .targets = FT_CONFORM_ON_DFU, .device = true
#define OB_DEVICE  .section = FT_CONFORM_SECTION_OPTION, .targets = FT_CONFORM_ON_DFU, .device = true

const ft_conform_scenario ft_conform_dfu_scenarios[] = {
    {.id = "D01",
     .title = "dfu-descriptor-h743",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = no_dfu,
     .run = run_d01,
     .run_dfu_util = run_d01_dfu_util},
    {.id = "D03",
     .title = "dfu-set-address-ram",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = no_dfu,
     .run = run_d03,
     .run_dfu_util = run_d03_dfu_util},
    {.id = "D04",
     .title = "dfu-erase-non-flash",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = no_dfu,
     .run = run_d04},
    {.id = "D05",
     .title = "dfu-rdp-l1",
     DFU_DEVICE,
     .in_catalogue = true,
     .emu_only = true,
     .switches = {"--option", "rdp=0xBB"},
     .unsupported = no_dfu,
     .run = run_d05},
    {.id = "D07",
     .title = "dfu-write-without-erase",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = no_dfu,
     .run = run_d07},
    {.id = "D08",
     .title = "dfu-partial-flashword",
     DFU_DEVICE,
     .in_catalogue = true,
     .needs = {"flash-command"},
     .unsupported = no_dfu,
     .run = run_d08},
    {.id = "D09",
     .title = "dfu-error-recovery",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = no_dfu,
     .run = run_d09},
    {.id = "D10",
     .title = "dfu-dual-bank-f767-index",
     DFU_DEVICE,
     .in_catalogue = true,
     .needs = {"part-stm32f767"}},
    {.id = "D11",
     .title = "dfu-bank2-erase-h745",
     DFU_DEVICE,
     .in_catalogue = true,
     .unsupported = single_bank,
     .run = run_d11},
    {.id = "D13",
     .title = "dfu-leave",
     DFU_DEVICE,
     .in_catalogue = true,
     .leaves_dfu = true,
     .unsupported = no_dfu,
     .run = run_d13,
     .run_dfu_util = run_d13_dfu_util},
    {.id = "D14",
     .title = "dfu-atomic-plan",
     DFU_DEVICE,
     .in_catalogue = true,
     .needs = {"flash-command"},
     .unsupported = no_dfu,
     .run = run_d14},
    {.id = "D30",
     .title = "dfu-program-and-read-back",
     DFU_DEVICE,
     .needs = {"flash-command"},
     .unsupported = no_dfu,
     .run = run_d30,
     .run_dfu_util = run_d30_dfu_util},
    {.id = "D31", .title = "dfu-get-commands", DFU_DEVICE, .unsupported = no_dfu, .run = run_d31},
    {.id = "D32",
     .title = "dfu-upload-erased-flash",
     DFU_DEVICE,
     .unsupported = no_dfu,
     .run = run_d32},
    {.id = "D33", .title = "dfu-ram-windows", DFU_DEVICE, .unsupported = no_dfu, .run = run_d33},
    {.id = "D35",
     .title = "dfu-write-without-erase-silent",
     DFU_DEVICE,
     .emu_only = true,
     .switches = {"--fault", "no-readback-verify"},
     .unsupported = no_dfu,
     .run = run_d35},
    {.id = "D36",
     .title = "dfu-disconnect-mid-download",
     DFU_DEVICE,
     .emu_only = true,
     .switches = {"--fault", "disconnect-at-block=3"},
     .needs = {"flash-command"},
     .unsupported = no_dfu,
     .run = run_d36},
    {.id = "D37",
     .title = "dfu-ecc-error-injected",
     DFU_DEVICE,
     .emu_only = true,
     .switches = {"--fault", "corrupt-block=1", "--fault", "corrupt-double"},
     .unsupported = no_dfu,
     .run = run_d37},
    {.id = "D38",
     .title = "dfu-bootloader-workarea-crash",
     DFU_DEVICE,
     .emu_only = true,
     .switches = {"--fault", "workarea-crash"},
     .unsupported = no_dfu,
     .run = run_d38},
    {.id = "D39",
     .title = "dfu-partial-flashword-rom-skips",
     DFU_DEVICE,
     .emu_only = true,
     .switches = {"--fault", "partial-word=skip"},
     .needs = {"flash-command"},
     .unsupported = no_dfu,
     .run = run_d08},
};
const size_t ft_conform_dfu_scenario_count =
    sizeof(ft_conform_dfu_scenarios) / sizeof(ft_conform_dfu_scenarios[0]);

/* §5.6 over USB DFU (O01 and O02 go through the debug port: scenarios_swd.c). */
const ft_conform_scenario ft_conform_option_scenarios[] = {
    {.id = "O04",
     .title = "ob-rdp-regression",
     OB_DEVICE,
     .in_catalogue = true,
     .emu_only = true,
     .switches = {"--option", "rdp=0xBB", "--on-leave", "dfu"},
     .unsupported = no_dfu,
     .run = run_o04},
    {.id = "O30",
     .title = "ob-read-cubeprogrammer-size",
     OB_DEVICE,
     .unsupported = no_dfu,
     .run = run_o30,
     .run_dfu_util = run_o30_dfu_util},
    {.id = "O31",
     .title = "ob-factory-rdp-level-0",
     OB_DEVICE,
     .unsupported = no_dfu,
     .run = run_o31},
};
const size_t ft_conform_option_scenario_count =
    sizeof(ft_conform_option_scenarios) / sizeof(ft_conform_option_scenarios[0]);
