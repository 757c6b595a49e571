/* CATALOGUE.md §5.3 (SWD / flash controller) and §5.6 (option bytes) over the debug port: the
 * flashtwin CLI with -c gdb:// against the board's QEMU machine (flashtwin-emu --gdb: QEMU's
 * gdbstub, the flash controller the flashtwin model), with the machine faults and option bytes
 * each stimulus needs. Every scenario checks the exit status, the diagnostic (text, and JSON
 * where the command has it) and the device afterwards: read back through the debug port, or
 * the board's state files (flash array, per-word ECC state) the machine keeps in the work
 * directory.
 *
 * What QEMU's gdbstub cannot show stays not-runnable with the reason: there is no SWD wire, no
 * access port, supply or clock behind it (S04 SMPS lock-up, S05 AP3, S09 target voltage, S10
 * SWD frequency), and no NRST or SYSRESETREQ failure (S02).
 */
#include "conformance/expect.h"
#include "conformance/gdbcli.h"
#include "conformance/scenario.h"
#include "models/flash_h7.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define FLASH_BASE 0x08000000u
/* The catalogue's address for S06 and S07: in sector 1 of 128 KiB-sector parts. */
#define FAULT_WORD  "0x08027800"
#define FAULT_ADDR  0x08027800u
#define IMAGE_START 0x08020000u /* the S06/S07 image: 0x08020000..0x08027FFF, segment 0 */
#define IMAGE_END   0x08028000u
/* S03: the watchdog's time, in modelled erase and program time (emu/qemu/README.md). */
#define WATCHDOG_MS "1100"
/* FLASH_WPSN_PRG1 with bit 3 clear: sector 3 (H74x/H72x, 128 KiB sectors) or group 3 (H7Ax,
 * sectors 12-15) protected (devices.md §2.4: 0 = protected). */
#define WPSN_BIT 3u
/* FLASH_PRAR_PRG1: PROT_AREA_START b11:0 = 0x006, PROT_AREA_END b27:16 = 0x0FF (256-byte blocks:
 * 0x08000600..0x0800FFFF, CATALOGUE S14), DMEP b31 = 0 (devices.md §2.4). */
#define PCROP_PRAR "0x00FF0006"
/* An RDP byte of level 1 (devices.md §4: neither 0xAA nor 0xCC). */
#define RDP_LEVEL_1 "0xBB"
/* The DEV_TARGET_NOT_HALTED remedy the programmer must name. */
#define UNDER_RESET "connect under reset"

/* ---- helpers -------------------------------------------------------------------------------- */

/* Checks that the flash array at addr (bank 1, unswapped) holds want, or is erased (want
 * NULL). */
static void expect_array(ft_conform_env *env, const char *what, uint32_t addr, const uint8_t *want,
                         size_t len)
{
	ft_conform_state_expect(env, what, "flash.bin", addr - FLASH_BASE, addr, want, len);
}

/* Checks the ECC state of the flash word holding addr (bank 1). */
static void expect_word_state(ft_conform_env *env, const char *what, uint32_t addr,
                              ft_flash_h7_word_state want)
{
	const ft_flash_geometry *g = &ft_conform_env_part(env)->flash;
	uint8_t state;
	if (ft_conform_state_read(env, "flash-ecc.bin", (addr - FLASH_BASE) / g->word_size, &state,
	                          1))
		ft_conform_expect_int(ft_conform_env_record(env), what, state, want);
}

static unsigned sector_of(const ft_conform_env *env, uint32_t addr)
{
	return (addr - FLASH_BASE) / ft_conform_env_part(env)->flash.sector_size;
}

/* device.protection.level of `flashtwin info --json`, -1 when absent. */
static long long rdp_level(const json_t *info)
{
	const json_t *level = json_object_get(
	    json_object_get(json_object_get(info, "device"), "protection"), "level");
	return json_is_integer(level) ? json_integer_value(level) : -1;
}

static const char *no_internal_flash(const ft_part *part)
{
	return part->flash.layout == FT_FLASH_NONE || !part->flash_regs
	           ? "the part has no internal flash controller"
	           : NULL;
}

/* The S06/S07 image must fall inside bank 1 (1 MiB and 2 MiB H7 parts: it does). */
static const char *too_small(const ft_part *part)
{
	const char *why = no_internal_flash(part);
	if (why)
		return why;
	return part->flash.bank_size < IMAGE_END - FLASH_BASE ? "bank 1 ends before 0x08028000"
	                                                      : NULL;
}

/* ---- §5.3 ------------------------------------------------------------------------------------ */

/* The refusal of a core that will not halt, with the remedy (S01, O01). */
static void expect_not_halting(ft_conform_record *rec, const ft_conform_cli_result *r)
{
	ft_conform_expect_true(rec, "refused (exit status 1 or 3)",
	                       r->status == 1 || r->status == 3, r->err);
	ft_conform_cli_says(rec, "names the core that did not halt", r, "did not halt");
	ft_conform_cli_says(rec, "decodes DHCSR: the core sleeps", r, "S_SLEEP=1");
	ft_conform_cli_says(rec, "decodes DBGMCU_CR: low-power debug off", r, "DBGSLEEP_D1=0");
	ft_conform_cli_says(rec, "names the remedy", r, UNDER_RESET);
}

/* S01: the firmware sleeps with DBGMCU_CR = 0 (--fault core-sleeps: DHCSR reads S_SLEEP and
 * halt requests do not take): flash is refused before anything, with DHCSR, DBGMCU_CR and the
 * connect-under-reset remedy; the array is untouched. */
static void run_s01(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t *data = ft_conform_cli_image(env, "s01.elf", FLASH_BASE, 1024, path, sizeof(path));
	ft_conform_cli_result r;
	if (!data || !ft_conform_cli_run(env, "flash", NULL, ARGS("flash", path), false, &r)) {
		free(data);
		return;
	}
	expect_not_halting(rec, &r);
	ft_conform_cli_says(rec, "nothing erased or written", &r, "nothing was erased or written");
	expect_array(env, "flash untouched", FLASH_BASE, NULL, 1024);
	ft_conform_cli_result_free(&r);
	free(data);
}

/* The S03 image: the fewest whole sectors whose erase ends before the watchdog and whose
 * programming runs past it by a tenth, in the model's datasheet times at x64 parallelism. */
static size_t watchdog_image_len(const ft_part *part)
{
	const ft_flash_geometry *g = &part->flash;
	uint64_t limit = strtoull(WATCHDOG_MS, NULL, 10) * 1000000u;
	uint64_t erase = ft_flash_h7_duration_ns(g, FT_FLASH_H7_OP_SECTOR_ERASE, 3);
	uint64_t word = ft_flash_h7_duration_ns(g, FT_FLASH_H7_OP_PROGRAM, 3);
	for (uint32_t k = 1; k <= g->sectors_per_bank; k++) {
		uint64_t program = (uint64_t)k * (g->sector_size / g->word_size) * word;
		if (k * erase < limit && k * erase + program > limit + limit / 10)
			return (size_t)k * g->sector_size;
	}
	return 0;
}

static const char *no_watchdog_image(const ft_part *part)
{
	const char *why = no_internal_flash(part);
	if (why)
		return why;
	return watchdog_image_len(part) ? NULL
	                                : "no image size puts the watchdog inside programming";
}

/* S03: an IWDG-like reset after WATCHDOG_MS of modelled flash time, i.e. while the words are
 * being programmed (--fault watchdog-reset-ms): "target reset during programming", the sectors
 * already erased named; the flash holds the start of the image only. A second run programs it
 * all (the watchdog fires once). */
static void run_s03(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	size_t len = watchdog_image_len(ft_conform_env_part(env));
	char path[512];
	uint8_t *data = ft_conform_cli_image(env, "s03.elf", FLASH_BASE, len, path, sizeof(path));
	ft_conform_cli_result r;
	if (!data || !ft_conform_cli_run(env, "flash", NULL, ARGS("flash", path), true, &r)) {
		free(data);
		return;
	}
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "names the reset", &r, "target reset during programming");
	ft_conform_cli_says(rec, "names the relocked controller", &r, "FLASH_CR1 locked again");
	ft_conform_cli_says(rec, "names the watchdog", &r, "IWDG");
	ft_conform_cli_says(rec, "lists the sectors erased (to erase again)", &r,
	                    "already erased (old contents gone): bank 1 sector 0");
	const json_t *result = json_object_get(r.json, "result");
	ft_conform_expect_str(rec, "JSON failed_phase", ft_conform_json_str(result, "failed_phase"),
	                      "program");
	ft_conform_expect_str(rec, "JSON error.code",
	                      ft_conform_json_str(json_object_get(result, "error"), "code"),
	                      "state");
	uint32_t ws = ft_conform_env_part(env)->flash.word_size;
	expect_array(env, "the first flash word holds the image", FLASH_BASE, data, ws);
	expect_array(env, "the last flash word was never programmed",
	             FLASH_BASE + (uint32_t)len - ws, NULL, ws);
	ft_conform_cli_result_free(&r);
	if (ft_conform_cli_run(env, "reflash", NULL, ARGS("flash", path), false, &r)) {
		ft_conform_expect_int(rec, "a second run programs and verifies", r.status, 0);
		expect_array(env, "flash holds the whole image", FLASH_BASE, data, len);
	}
	ft_conform_cli_result_free(&r);
	free(data);
}

/* S06: one flash word (0x08027800) dropped by the machine: verify names the address, the bytes,
 * the segment, its section and the sector; the word stays erased while its neighbours hold the
 * image. */
static void run_s06(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t *data = ft_conform_cli_image(env, "s06.elf", IMAGE_START, IMAGE_END - IMAGE_START,
	                                     path, sizeof(path));
	ft_conform_cli_result r;
	if (!data || !ft_conform_cli_run(env, "flash", NULL, ARGS("flash", path), true, &r)) {
		free(data);
		return;
	}
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	/* self-addressed: the word at 0x08027800 starts with 0x00 (its address, little-endian) */
	ft_conform_cli_says(rec, "names the address and bytes", &r,
	                    "data mismatch at " FAULT_WORD " (0xff, expected 0x00)");
	ft_conform_cli_says(rec, "names the segment", &r, "belongs to segment 0");
	ft_conform_cli_says(rec, "names the section", &r, "section .text");
	ft_conform_cli_saysf(rec, "names the sector", &r, "bank 1 sector %u",
	                     sector_of(env, FAULT_ADDR));
	const json_t *result = json_object_get(r.json, "result");
	ft_conform_expect_str(rec, "JSON failed_phase", ft_conform_json_str(result, "failed_phase"),
	                      "verify");
	ft_conform_expect_str(rec, "JSON verify", ft_conform_json_str(result, "verify"), "failed");
	ft_conform_expect_str(rec, "JSON error.code",
	                      ft_conform_json_str(json_object_get(result, "error"), "code"),
	                      "verify");
	uint32_t ws = ft_conform_env_part(env)->flash.word_size;
	expect_array(env, "the dropped word is erased", FAULT_ADDR, NULL, ws);
	expect_word_state(env, "the dropped word's ECC state: erased", FAULT_ADDR,
	                  FT_FLASH_H7_WORD_ERASED);
	expect_array(env, "the word before holds the image", FAULT_ADDR - ws,
	             data + (FAULT_ADDR - ws - IMAGE_START), ws);
	expect_array(env, "the word after holds the image", FAULT_ADDR + ws,
	             data + (FAULT_ADDR + ws - IMAGE_START), ws);
	ft_conform_cli_result_free(&r);
	free(data);
}

/* S07: the program of the word at 0x08027800 cut part-way (--fault cut-word): its ECC is broken.
 * Verify, and a later read, name the ECC double error and the sector to erase, not a generic
 * read failure. */
static void run_s07(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512], out[512];
	uint8_t *data = ft_conform_cli_image(env, "s07.elf", IMAGE_START, IMAGE_END - IMAGE_START,
	                                     path, sizeof(path));
	ft_conform_cli_result r;
	if (!data || !ft_conform_cli_run(env, "flash", NULL, ARGS("flash", path), true, &r)) {
		free(data);
		return;
	}
	unsigned sector = sector_of(env, FAULT_ADDR);
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "names the ECC double error and the word", &r,
	                    "ECC double error at " FAULT_WORD);
	ft_conform_cli_saysf(rec, "names the sector to erase", &r, "erase bank 1 sector %u",
	                     sector);
	ft_conform_cli_says(rec, "decodes FLASH_SR", &r, "DBECCERR");
	const json_t *result = json_object_get(r.json, "result");
	ft_conform_expect_str(rec, "JSON failed_phase", ft_conform_json_str(result, "failed_phase"),
	                      "verify");
	ft_conform_expect_contains(rec, "JSON error.message names the ECC error",
	                           ft_conform_json_str(json_object_get(result, "error"), "message"),
	                           "ECC double error");
	expect_word_state(env, "the cut word's ECC state: double error", FAULT_ADDR,
	                  FT_FLASH_H7_WORD_DOUBLE_ERROR);
	ft_conform_cli_result_free(&r);
	snprintf(out, sizeof(out), "%s/s07-read.bin", ft_conform_env_work_dir(env));
	if (ft_conform_cli_run(env, "read", NULL, ARGS("read", FAULT_WORD, "32", "-o", out), false,
	                       &r)) {
		ft_conform_expect_int(rec, "a later read fails", r.status, 1);
		ft_conform_cli_says(rec, "the read names the ECC double error", &r,
		                    "ECC double error at " FAULT_WORD);
		ft_conform_cli_saysf(rec, "the read names the sector to erase", &r,
		                     "erase bank 1 sector %u", sector);
	}
	ft_conform_cli_result_free(&r);
	free(data);
}

/* S08: three downloads while the debug port is unreachable fail at once and leave nothing
 * queued: the flash keeps image A until one download of B, after reconnecting, replaces it. */
static void run_s08(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char a_path[512], b_path[512], dead[64], out[512];
	uint8_t *a =
	    ft_conform_cli_image(env, "s08-a.elf", FLASH_BASE, 1024, a_path, sizeof(a_path));
	uint8_t *b = a ? ft_conform_cli_image(env, "s08-b.elf", FLASH_BASE + 0x400, 1024, b_path,
	                                      sizeof(b_path))
	               : NULL;
	unsigned port = ft_conform_dead_port();
	ft_conform_cli_result r = {0};
	if (!b || !port) {
		if (a && b)
			ft_conform_record_fail(rec, "no free loopback port");
		goto out;
	}
	snprintf(dead, sizeof(dead), "gdb://127.0.0.1:%u", port);
	if (!ft_conform_cli_run(env, "flash_a", NULL, ARGS("flash", a_path), false, &r))
		goto out;
	ft_conform_expect_int(rec, "image A programmed", r.status, 0);
	for (int i = 0; i < 3; i++) {
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "disconnected_%d", i + 1);
		ft_conform_cli_result_free(&r);
		if (!ft_conform_cli_run(env, prefix, dead, ARGS("flash", b_path), false, &r))
			goto out;
		ft_conform_expect_int(rec, "a download without the port fails: connection",
		                      r.status, 3);
	}
	expect_array(env, "nothing replayed: flash holds image A", FLASH_BASE, a, 1024);
	expect_array(env, "nothing replayed: image B's range erased", FLASH_BASE + 0x400, NULL,
	             1024);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "flash_b", NULL, ARGS("flash", b_path), false, &r))
		goto out;
	ft_conform_expect_int(rec, "one download of B after reconnecting", r.status, 0);
	ft_conform_cli_result_free(&r);
	snprintf(out, sizeof(out), "%s/s08-read.bin", ft_conform_env_work_dir(env));
	if (ft_conform_cli_run(env, "read", NULL, ARGS("read", "0x08000400", "1024", "-o", out),
	                       false, &r)) {
		ft_conform_expect_int(rec, "read back over the debug port", r.status, 0);
		uint8_t back[1024];
		FILE *f = fopen(out, "rb");
		size_t n = f ? fread(back, 1, sizeof(back), f) : 0;
		if (f)
			fclose(f);
		ft_conform_expect_true(rec, "the read-back holds image B",
		                       n == sizeof(back) && memcmp(back, b, n) == 0, out);
	}
	/* the one download erased sector 0 again: image A is gone, as a fresh flash would be */
	expect_array(env, "B's download erased A's words", FLASH_BASE, NULL, 1024);
out:
	ft_conform_cli_result_free(&r);
	free(a);
	free(b);
}

/* The first sector WPSN_BIT protects: sector 3, or group 3 (sectors 12..15) on H7Ax. */
static unsigned protected_sector(const ft_part *part)
{
	return part->flash.layout == FT_FLASH_H7AX ? 4 * WPSN_BIT : WPSN_BIT;
}

/* S12: WRP on sector 3 (--option wpsn1): an image over sectors 2 and 3 is refused before any
 * erase, naming the sector, the option and its removal; sector 2's earlier contents stay. */
static void run_s12(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const ft_flash_geometry *g = &ft_conform_env_part(env)->flash;
	unsigned prot = protected_sector(ft_conform_env_part(env));
	uint32_t before = FLASH_BASE + (prot - 1) * g->sector_size;
	char first[512], both[512];
	uint8_t *a =
	    ft_conform_cli_image(env, "s12-before.elf", before, 1024, first, sizeof(first));
	uint8_t *b = a ? ft_conform_cli_image(env, "s12.elf", before + g->sector_size - 1024, 2048,
	                                      both, sizeof(both))
	               : NULL;
	ft_conform_cli_result r = {0};
	if (!b || !ft_conform_cli_run(env, "flash_before", NULL, ARGS("flash", first), false, &r))
		goto out;
	ft_conform_expect_int(rec, "the sector before the protected one programs", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "flash", NULL, ARGS("flash", both), true, &r))
		goto out;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_saysf(rec, "names the protected sector", &r, "sector %u", prot);
	ft_conform_cli_says(rec, "names the option", &r, "WRPSN");
	ft_conform_cli_saysf(rec, "names the segment", &r, "segment 0");
	ft_conform_expect_contains(
	    rec, "JSON error names the write protection",
	    ft_conform_json_str(json_object_get(json_object_get(r.json, "result"), "error"),
	                        "message"),
	    "protect");
	expect_array(env, "nothing erased: the sector before keeps its contents", before, a, 1024);
out:
	ft_conform_cli_result_free(&r);
	free(a);
	free(b);
}

/* S13: RDP level 1 (--option rdp=0xBB): read and flash are refused with the RDP level and the
 * regression remedy; no output file is written, nothing is read. */
static void run_s13(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char out[512];
	snprintf(out, sizeof(out), "%s/s13-read.bin", ft_conform_env_work_dir(env));
	ft_conform_cli_result r;
	if (!ft_conform_cli_run(env, "read", NULL, ARGS("read", "0x08000000", "256", "-o", out),
	                        false, &r))
		return;
	ft_conform_expect_int(rec, "read refused", r.status, 1);
	ft_conform_cli_says(rec, "names RDP level 1", &r, "read protection level 1");
	ft_conform_cli_says(rec, "names the regression remedy", &r, "RDP=0xAA");
	ft_conform_cli_says(rec, "says the regression mass-erases", &r, "mass-erases");
	ft_conform_expect_true(rec, "no output written", access(out, F_OK) != 0, out);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "info", NULL, ARGS("info"), true, &r))
		return;
	ft_conform_expect_int(rec, "info answers", r.status, 0);
	ft_conform_expect_int(rec, "info shows RDP level 1", rdp_level(r.json), 1);
	ft_conform_cli_result_free(&r);
}

/* S14: a PCROP area over 0x08000600..0x0800FFFF (--option prar1, DMEP1=0): erasing sector 0
 * fails with WRPERR, naming PROT_AREA_START/END and the DMEP requirement. */
static void run_s14(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_cli_result r;
	if (!ft_conform_cli_run(env, "erase", NULL, ARGS("erase", "--sector", "0x08000000"), false,
	                        &r))
		return;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "decodes WRPERR", &r, "WRPERR");
	ft_conform_cli_says(rec, "names PROT_AREA_START", &r, "PROT_AREA_START1=0x006");
	ft_conform_cli_says(rec, "names PROT_AREA_END", &r, "PROT_AREA_END1=0x0ff");
	ft_conform_cli_says(rec, "explains the DMEP requirement", &r, "regression with DMEP1=1");
	ft_conform_cli_says(rec, "nothing erased", &r, "nothing was erased");
	ft_conform_cli_result_free(&r);
}

static const char *no_swd_wire(const ft_part *part)
{
	(void)part;
	return "QEMU's gdbstub has no SWD wire, access port, supply or clock to fault";
}

static const char *no_reset_line(const ft_part *part)
{
	(void)part;
	return "QEMU's gdbstub resets through the machine: no NRST or SYSRESETREQ to fail";
}

#define SWD_GDB(id_, title_, run_, unsupported_, ...)                                              \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_SWD,                     \
		.in_catalogue = true, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,            \
		.device = true, .gdb = true, .emu_only = true, .needs = {"swd"},                   \
		.switches = {__VA_ARGS__}, .unsupported = unsupported_, .run = run_                \
	}
#define SWD_NONE(id_, title_, why_)                                                                \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_SWD,                     \
		.in_catalogue = true, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,            \
		.device = true, .gdb = true, .needs = {"swd"}, .unsupported = why_                 \
	}

const ft_conform_scenario ft_conform_swd_scenarios[] = {
    SWD_GDB("S01", "swd-target-stop-no-dbgmcu", run_s01, no_internal_flash, "--fault",
            "core-sleeps"),
    SWD_NONE("S02", "swd-sysresetreq-fails", no_reset_line),
    SWD_GDB("S03", "swd-not-halted-during-flash", run_s03, no_watchdog_image, "--fault",
            "watchdog-reset-ms=" WATCHDOG_MS),
    SWD_NONE("S04", "swd-smps-ldo-lockup-h725", no_swd_wire),
    SWD_NONE("S05", "swd-bcm7-off-h755", no_swd_wire),
    SWD_GDB("S06", "swd-verify-mismatch-injected", run_s06, too_small, "--fault",
            "drop-word=" FAULT_WORD),
    SWD_GDB("S07", "swd-ecc-after-interrupt", run_s07, too_small, "--fault",
            "cut-word=" FAULT_WORD),
    {.id = "S08",
     .title = "swd-no-queued-replay",
     .section = FT_CONFORM_SECTION_SWD,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,
     .device = true,
     .gdb = true,
     .needs = {"swd"},
     .unsupported = no_internal_flash,
     .run = run_s08},
    SWD_NONE("S09", "swd-low-vtarget", no_swd_wire),
    SWD_NONE("S10", "swd-freq-too-high", no_swd_wire),
    SWD_GDB("S12", "swd-wrp-sector", run_s12, no_internal_flash, "--option", "wpsn1=0xFFFFFFF7"),
    SWD_GDB("S13", "swd-rdp-l1", run_s13, no_internal_flash, "--option", "rdp=" RDP_LEVEL_1),
    SWD_GDB("S14", "swd-pcrop-area", run_s14, no_internal_flash, "--option", "prar1=" PCROP_PRAR),
};
const size_t ft_conform_swd_scenario_count =
    sizeof(ft_conform_swd_scenarios) / sizeof(ft_conform_swd_scenarios[0]);

/* ---- §5.6 over the debug port ---------------------------------------------------------------- */

/* O01 (field report E): the option bytes asked for while the core sleeps (--fault core-sleeps):
 * the refusal names the core that did not halt and the remedy, not a bare "upload failed". */
static void run_o01(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_cli_result r;
	if (!ft_conform_cli_run(env, "ob", NULL, ARGS("ob"), false, &r))
		return;
	expect_not_halting(rec, &r);
	ft_conform_cli_result_free(&r);
}

/* O02: with a PCROP area active (--option prar1, DMEP1=0), moving it is refused (OPTCHANGEERR):
 * each option byte is listed expected/found, with why; the option bytes in effect keep it. */
static void run_o02(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_cli_result r;
	if (!ft_conform_cli_run(env, "ob_set", NULL,
	                        ARGS("ob", "PROT_AREA_START1=0xFFF", "PROT_AREA_END1=0"), false,
	                        &r))
		return;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "names OPTCHANGEERR", &r, "OPTCHANGEERR");
	ft_conform_cli_says(rec, "lists PROT_AREA_START1 expected/found", &r,
	                    "PROT_AREA_START1: expected 0xfff, found 0x6");
	ft_conform_cli_says(rec, "lists PROT_AREA_END1 expected/found", &r,
	                    "PROT_AREA_END1: expected 0x0, found 0xff");
	ft_conform_cli_says(rec, "says why (DMEP, RDP regression)", &r,
	                    "RDP level 1 -> 0 regression while DMEP1=1");
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "ob_show", NULL, ARGS("ob"), true, &r))
		return;
	char *text = json_dumps(r.json, JSON_COMPACT);
	ft_conform_expect_contains(rec, "the PCROP area stays (PRAR_CUR1)", text, "0x00FF0006");
	free(text);
	ft_conform_cli_result_free(&r);
}

/* O04 over the debug port: RDP 0 -> 1 -> 0 on a programmed board. The regression is refused
 * without --allow-regression, then mass-erases: RDP reads 0xAA and the flash is blank. */
static void run_o40(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t *data = ft_conform_cli_image(env, "o40.elf", FLASH_BASE, 1024, path, sizeof(path));
	ft_conform_cli_result r = {0};
	if (!data || !ft_conform_cli_run(env, "flash", NULL, ARGS("flash", path), false, &r))
		goto out;
	ft_conform_expect_int(rec, "programmed at level 0", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "ob_level1", NULL, ARGS("ob", "RDP=" RDP_LEVEL_1), false, &r))
		goto out;
	ft_conform_expect_int(rec, "RDP level 1 set", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "ob_regress_unconfirmed", NULL, ARGS("ob", "RDP=0xAA"), false,
	                        &r))
		goto out;
	ft_conform_expect_true(rec, "the regression needs confirmation", r.status != 0, r.err);
	ft_conform_cli_says(rec, "says the regression mass-erases", &r, "erase");
	expect_array(env, "nothing erased without confirmation", FLASH_BASE, data, 1024);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "ob_regress", NULL,
	                        ARGS("ob", "RDP=0xAA", "--allow-regression"), false, &r))
		goto out;
	ft_conform_expect_int(rec, "the confirmed regression", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!ft_conform_cli_run(env, "info", NULL, ARGS("info"), true, &r))
		goto out;
	ft_conform_expect_int(rec, "RDP level 0 afterwards", rdp_level(r.json), 0);
	expect_array(env, "flash blank after the regression", FLASH_BASE, NULL, 1024);
out:
	ft_conform_cli_result_free(&r);
	free(data);
}

#define OB_GDB(id_, title_, catalogue_, run_, ...)                                                 \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_OPTION,                  \
		.in_catalogue = catalogue_, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,      \
		.device = true, .gdb = true, .emu_only = true, .needs = {"swd"},                   \
		.switches = {__VA_ARGS__}, .unsupported = no_internal_flash, .run = run_           \
	}

const ft_conform_scenario ft_conform_swd_option_scenarios[] = {
    OB_GDB("O01", "ob-read-fails-not-halted (field report E)", true, run_o01, "--fault",
           "core-sleeps"),
    OB_GDB("O02", "ob-program-verify-mismatch", true, run_o02, "--option", "prar1=" PCROP_PRAR),
    OB_GDB("O40", "ob-rdp-regression-over-gdb (O04 on the debug port)", false, run_o40, NULL),
};
const size_t ft_conform_swd_option_scenario_count =
    sizeof(ft_conform_swd_option_scenarios) / sizeof(ft_conform_swd_option_scenarios[0]);
