/* CATALOGUE.md §5.4 (external loaders, QUADSPI NOR) over the debug port: `flashtwin flash
 * --loader FILE.stldr -c gdb://` against the board's QEMU machine, the loader running on the
 * emulated core. The loaders are our open ones (loaders/README.md: W25Q256JV on the H743
 * QUADSPI, MX25UM51245G on the N657 XSPI2) and their fault variants, built with the fixtures;
 * E01/E02 use the fixture loaders of conformance/fixtures and need no device (the loader file is
 * checked before connecting). Every device scenario checks the exit status, the diagnostic and
 * the NOR afterwards: the array the machine keeps in the work directory's state.
 */
#include "conformance/expect.h"
#include "conformance/gdbcli.h"
#include "conformance/scenario.h"
#include "programmer/swd/loader_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define FLASH_BASE 0x08000000u
#define QSPI_BASE  0x90000000u /* QUADSPI window (RM0433 §2.3.2; devices.md §7) */
#define QSPI_STATE "nor-quadspi1.bin"
#define W25Q       "W25Q256JV_custom-h743-w25q256"
#define MX25       "MX25UM51245G_nucleo-n657x0-q"
#define XSPI_BASE  0x70000000u /* XSPI2 window of the N657 (devices.md §6.3) */
#define XSPI_STATE "nor-xspi2.bin"
/* E09: the catalogue's mismatch address. */
#define E09_ADDR 0x90012345u
/* E10: BP3..BP0 set in W25Q256JV SR1 (bits 5..2, datasheet §7.1.3): the whole array protected. */
#define E10_SR "0x3C"
/* E13/E14: 16 MB into the W25Q256JV, beyond what a 24-bit address reaches (devices.md §7). */
#define E13_ADDR (QSPI_BASE + 0x1000000u)
#define E13_LEN  0x300u

/* The path of one of our loaders (build/loaders/NAME.stldr, beside the fixtures). */
static bool loader(ft_conform_env *env, const char *name, char *path, size_t cap)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "../loaders/%s.stldr", name);
	return ft_conform_env_fixture(env, rel, path, cap);
}

/* ---- pre-flight -------------------------------------------------------------------------- */

/* Runs `flashtwin flash` of a 256-byte image for the fixture ramdisk loader (RAM_D2 at
 * 0x30000000) with loader file name, against a port nobody listens on: what the loader check
 * says before connecting. */
static bool preflight(ft_conform_env *env, const char *name, ft_conform_cli_result *r)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char ldr[512], img[512], rel[128], conn[64];
	snprintf(rel, sizeof(rel), "loaders/%s.stldr", name);
	unsigned port = ft_conform_dead_port();
	uint8_t *data = NULL;
	if (!port) {
		ft_conform_record_fail(rec, "no free loopback port");
		return false;
	}
	snprintf(conn, sizeof(conn), "gdb://127.0.0.1:%u", port);
	if (!ft_conform_env_fixture(env, rel, ldr, sizeof(ldr)) ||
	    !(data =
	          ft_conform_cli_image(env, "preflight.elf", 0x30000000u, 256, img, sizeof(img))))
		return false;
	free(data);
	const char *args[] = {"flash",       img,  "--loader", ldr, "--part",
	                      "STM32H743ZI", "-c", conn,       NULL};
	ft_proc_result res;
	if (!ft_conform_env_flashtwin(env, args, &res))
		return false;
	memset(r, 0, sizeof(*r));
	r->status = res.exit_status;
	r->err = strdup(res.err_len ? res.err : "");
	ft_proc_result_free(&res);
	if (!r->err) {
		ft_conform_record_fail(rec, "out of memory");
		return false;
	}
	ft_conform_record_int(rec, "flash.exit_status", r->status);
	/* the check ran first: the refusal is the connection's */
	ft_conform_expect_int(rec, "exit status: connection (the loader was not refused)",
	                      r->status, 3);
	return true;
}

/* E01: StorageInfo.DeviceName differs from the file name: both names, and the CubeProgrammer
 * 2.18 refusal it would meet, said before anything is touched. */
static void run_e01(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_cli_result r;
	if (!preflight(env, "ramdisk-misnamed", &r))
		return;
	ft_conform_cli_says(rec, "names StorageInfo's DeviceName", &r,
	                    "StorageInfo.DeviceName \"flashtwin-ramdisk-h743\"");
	ft_conform_cli_says(rec, "names the file", &r, "the file name \"ramdisk-misnamed\"");
	ft_conform_cli_says(rec, "says CubeProgrammer 2.18 refuses it", &r,
	                    "2.18 and later refuse");
	ft_conform_cli_says(rec, "the fix: rename", &r, "rename the file to");
	ft_conform_cli_result_free(&r);
}

/* E02: no MassErase: said, with the sector erase that replaces it. */
static void run_e02(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	ft_conform_cli_result r;
	if (!preflight(env, "ramdisk-no-masserase", &r))
		return;
	ft_conform_cli_says(rec, "names the missing MassErase", &r, "the loader lacks MassErase");
	ft_conform_cli_says(rec, "sector erase instead, with the range", &r,
	                    "erases sectors 0..15 with SectorErase");
	ft_conform_cli_result_free(&r);
}

/* ---- on the emulated board --------------------------------------------------------------- */

/* Flashes the files (NULL-ended, at most 6) through loader name; false when it did not run. */
static bool flash_with(ft_conform_env *env, const char *prefix, const char *name,
                       const char *const *files, ft_conform_cli_result *r)
{
	char ldr[512];
	if (!loader(env, name, ldr, sizeof(ldr)))
		return false;
	const char *args[12] = {"flash"};
	size_t n = 1;
	for (size_t i = 0; files[i] && n < 7; i++)
		args[n++] = files[i];
	args[n++] = "--loader";
	args[n++] = ldr;
	args[n++] = "--no-poll-wait";
	args[n] = NULL;
	return ft_conform_cli_run(env, prefix, NULL, args, true, r);
}

/* An ELF of a self-addressed internal segment (FLASH_BASE, ilen) and an external one (ext,
 * elen), in that order or external first; the bytes into *in and *ex (malloc'd). */
static bool mixed_image(ft_conform_env *env, const char *name, size_t ilen, uint32_t ext,
                        size_t elen, bool ext_first, uint8_t **in, uint8_t **ex, char *path,
                        size_t cap)
{
	*in = malloc(ilen);
	*ex = malloc(elen);
	if (!*in || !*ex) {
		ft_conform_record_fail(ft_conform_env_record(env), "out of memory");
		return false;
	}
	ft_gen_self_addressed(*in, ilen, FLASH_BASE);
	ft_gen_self_addressed(*ex, elen, ext);
	ft_gen_segment i = {FLASH_BASE,     FLASH_BASE,     *in,
	                    (uint32_t)ilen, (uint32_t)ilen, FT_GEN_PF_R | FT_GEN_PF_X,
	                    ".text"};
	ft_gen_segment e = {ext,         ext,         *ex, (uint32_t)elen, (uint32_t)elen,
	                    FT_GEN_PF_R, ".qspi_data"};
	ft_gen_segment segs[2] = {ext_first ? e : i, ext_first ? i : e};
	return ft_conform_cli_elf(env, name, segs, 2, path, cap);
}

static void expect_nor(ft_conform_env *env, const char *what, uint32_t addr, const uint8_t *want,
                       size_t len)
{
	ft_conform_state_expect(env, what, QSPI_STATE, addr - QSPI_BASE, addr, want, len);
}

static void expect_flash(ft_conform_env *env, const char *what, const uint8_t *want, size_t len)
{
	ft_conform_state_expect(env, what, "flash.bin", 0, FLASH_BASE, want, len);
}

/* E03 (field report B): a loader whose Init starts SysTick with its interrupt and moves VTOR
 * into its own RAM image, and an image with internal and external segments. flashtwin programs
 * the internal flash through the flash controller first (no code of its own in target RAM), then
 * runs the loader: the field report's fault (the tick firing into the next loader) cannot
 * happen, and the contract check names what the loader left, with the state and the fix. */
static void run_e03(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t *in = NULL, *ex = NULL;
	ft_conform_cli_result r = {0};
	if (!mixed_image(env, "e03.elf", 1024, QSPI_BASE, 0x300, false, &in, &ex, path,
	                 sizeof(path)) ||
	    !flash_with(env, "flash", W25Q "-e03", ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status: programmed", r.status, 0);
	ft_conform_cli_says(rec, "SysTick left running, with SYST_CSR", &r,
	                    "left SysTick running after Init (SYST_CSR=0x");
	ft_conform_cli_says(rec, "VTOR moved into the loader", &r, "moved VTOR from 0x");
	ft_conform_cli_says(rec, "blames the loader contract", &r, "HAL_SuspendTick");
	ft_conform_cli_says(rec, "suggests separate sessions", &r, "separate sessions");
	expect_flash(env, "internal flash holds its segment", in, 1024);
	expect_nor(env, "the NOR holds the external segment", QSPI_BASE, ex, 0x300);
out:
	ft_conform_cli_result_free(&r);
	free(in);
	free(ex);
}

/* E04: the image needs the RAM the loader is linked at (AXI SRAM 0x24000000): refused before
 * anything is touched, never relocated. */
static void run_e04(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t ram[0x400], *in = NULL, *ex = NULL;
	ft_conform_cli_result r = {0};
	ft_gen_self_addressed(ram, sizeof(ram), 0x24000000u);
	if (!mixed_image(env, "e04-parts.elf", 1024, QSPI_BASE, 0x100, false, &in, &ex, path,
	                 sizeof(path)))
		goto out;
	ft_gen_segment segs[3] = {
	    {FLASH_BASE, FLASH_BASE, in, 1024, 1024, FT_GEN_PF_R | FT_GEN_PF_X, ".text"},
	    {0x24000000u, 0x24000000u, ram, sizeof(ram), sizeof(ram), FT_GEN_PF_R | FT_GEN_PF_W,
	     ".ram_data"},
	    {QSPI_BASE, QSPI_BASE, ex, 0x100, 0x100, FT_GEN_PF_R, ".qspi_data"}};
	if (!ft_conform_cli_elf(env, "e04.elf", segs, 3, path, sizeof(path)) ||
	    !flash_with(env, "flash", W25Q, ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status: refused", r.status, 1);
	ft_conform_cli_says(rec, "names the overlap with the image's RAM", &r, "0x24000000");
	ft_conform_cli_says(rec, "never relocated", &r, "relocat");
	expect_flash(env, "nothing written: internal flash erased", NULL, 1024);
	expect_nor(env, "nothing written: the NOR erased", QSPI_BASE, NULL, 0x100);
out:
	ft_conform_cli_result_free(&r);
	free(in);
	free(ex);
}

/* E05: Write fails where it crosses the first 256-byte page: the address and StorageInfo's page
 * size named; the page before it programmed, the rest not. */
static void run_e05(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	ft_conform_cli_result r = {0};
	uint8_t *ex = ft_conform_cli_image(env, "e05.elf", QSPI_BASE, 0x300, path, sizeof(path));
	if (!ex || !flash_with(env, "flash", W25Q "-e05", ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "names the address and the page size", &r,
	                    "Write failed at 0x90000100");
	ft_conform_cli_says(rec, "page size from StorageInfo", &r,
	                    "page size 0x100 from StorageInfo");
	const json_t *result = json_object_get(r.json, "result");
	ft_conform_expect_str(rec, "JSON failed_phase", ft_conform_json_str(result, "failed_phase"),
	                      "program");
	expect_nor(env, "the first page programmed", QSPI_BASE, ex, 0x100);
	expect_nor(env, "nothing from 0x90000100 on", QSPI_BASE + 0x100, NULL, 0x200);
out:
	ft_conform_cli_result_free(&r);
	free(ex);
}

/* E06: a loader that leaves memory-mapped mode on and does not abort it before erasing: the
 * failure names the mode and the Init/SectorErase sequencing, not the flash. */
static void run_e06(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	ft_conform_cli_result r = {0};
	uint8_t *ex = ft_conform_cli_image(env, "e06.elf", QSPI_BASE, 0x300, path, sizeof(path));
	if (!ex || !flash_with(env, "flash", W25Q "-e06", ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "the failing call", &r, "SectorErase(0x90000000, 0x90000fff)");
	ft_conform_cli_says(rec, "names memory-mapped mode", &r,
	                    "QUADSPI was in memory-mapped mode (FMODE=3)");
	ft_conform_cli_says(rec, "names the sequencing", &r, "left on by Init");
	expect_nor(env, "nothing written", QSPI_BASE, NULL, 0x300);
out:
	ft_conform_cli_result_free(&r);
	free(ex);
}

static void no_sleep(void *user, uint32_t ms)
{
	(void)user, (void)ms;
}

/* E09: a NOR cell at 0x90012345 changes after a verified flash (the state file written behind
 * the programmer's back); the loader's own Verify, called through the runner, reports the
 * address decoded from (checksum << 32) | address, and the read-back verify agrees. */
static void run_e09(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	enum { LEN = 0x1000 };
	uint32_t base = E09_ADDR & ~(uint32_t)(LEN - 1);
	char path[512], ldr[512];
	ft_conform_cli_result r = {0};
	ft_swd *swd = NULL;
	ft_stldr *l = NULL;
	ft_ldrun *run = NULL;
	uint8_t *ex = ft_conform_cli_image(env, "e09.elf", base, LEN, path, sizeof(path));
	if (!ex || !loader(env, W25Q, ldr, sizeof(ldr)) ||
	    !flash_with(env, "flash", W25Q, ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "programmed and verified", r.status, 0);
	uint8_t disturbed = (uint8_t)~ex[E09_ADDR - base];
	if (!ft_conform_state_write(env, QSPI_STATE, E09_ADDR - QSPI_BASE, &disturbed, 1))
		goto out;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_swd_options so = {.gdb = {.timeout_ms = (unsigned)atoi(FT_CONFORM_RSP_TIMEOUT_MS)},
	                     .sleep_ms = no_sleep,
	                     .expect = ft_conform_env_part(env)};
	ft_error err = ft_swd_open(ft_conform_env_connection(env), &so, &swd, &diag);
	if (err == FT_OK)
		err = ft_swd_connect(swd, &diag);
	if (err == FT_OK)
		err = ft_stldr_load_file(ldr, &l, &diag);
	if (err == FT_OK)
		err = ft_ldrun_new(swd, l, NULL, &run, &diag);
	if (err == FT_OK)
		err = ft_ldrun_init(run, &diag);
	if (err != FT_OK) {
		ft_conform_record_fail(rec, "loader session: %s", diag.message);
		goto out;
	}
	err = ft_ldrun_verify_call(run, base, ex, LEN, &diag);
	ft_conform_record_str(rec, "verify_call.error", diag.message);
	ft_conform_expect_int(rec, "the loader's Verify: mismatch", err, FT_ERR_VERIFY);
	ft_conform_expect_contains(rec, "decodes the address", diag.message,
	                           "Verify reports a mismatch at 0x90012345");
	err = ft_ldrun_verify(run, base, ex, LEN, &diag);
	ft_conform_expect_int(rec, "read-back verify: mismatch", err, FT_ERR_VERIFY);
	ft_conform_expect_contains(rec, "read-back names the same address", diag.message,
	                           "mismatch at 0x90012345");
out:
	ft_ldrun_free(run);
	ft_stldr_free(l);
	ft_swd_close(swd);
	ft_conform_cli_result_free(&r);
	free(ex);
}

/* E10: BP3..BP0 set in the NOR's status register (--option nor-sr=0x3C): SectorErase returns
 * LOADER_FAIL before anything is written, and the diagnostic names the block protection. */
static void run_e10(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	ft_conform_cli_result r = {0};
	uint8_t *ex = ft_conform_cli_image(env, "e10.elf", QSPI_BASE, 0x300, path, sizeof(path));
	if (!ex || !flash_with(env, "flash", W25Q, ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_says(rec, "the failing call", &r,
	                    "SectorErase(0x90000000, 0x90000fff) returned 0");
	ft_conform_cli_says(rec, "names the block protection", &r, "block-protect bits");
	ft_conform_cli_says(rec, "names the NOR's status register", &r,
	                    "external NOR block-protect bits set (SR=" E10_SR);
	expect_nor(env, "nothing written", QSPI_BASE, NULL, 0x300);
out:
	ft_conform_cli_result_free(&r);
	free(ex);
}

/* E11: the external segment first in the file, the internal one after it: both programmed and
 * verified, each region's work reported. */
static void run_e11(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	uint8_t *in = NULL, *ex = NULL;
	ft_conform_cli_result r = {0};
	if (!mixed_image(env, "e11.elf", 2048, QSPI_BASE + 0x10000, 0x1800, true, &in, &ex, path,
	                 sizeof(path)) ||
	    !flash_with(env, "flash", W25Q, ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status: programmed", r.status, 0);
	ft_conform_cli_says(rec, "internal erase reported", &r, "bank 1 sector 0");
	ft_conform_cli_says(rec, "external erase reported, by the loader", &r,
	                    "external sector 16");
	ft_conform_cli_says(rec, "external verify reported", &r, "read back through");
	ft_conform_expect_str(rec, "JSON status", ft_conform_json_str(r.json, "status"), "ok");
	expect_flash(env, "internal flash holds its segment", in, 2048);
	expect_nor(env, "the NOR holds the external segment", QSPI_BASE + 0x10000, ex, 0x1800);
out:
	ft_conform_cli_result_free(&r);
	free(in);
	free(ex);
}

/* E12 (N6): a loader whose second Init never returns (its first Init changed state the second
 * waits for, kept in its RAM). flashtwin loads the loader's image again before every Init, so two
 * sessions on one power-up each start from the loaded state: both program, and the NOR holds the
 * second image. */
static void run_e12(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char a[512], b[512];
	ft_conform_cli_result r = {0};
	uint8_t *da = ft_conform_cli_image(env, "e12-a.elf", XSPI_BASE, 0x400, a, sizeof(a));
	uint8_t *db =
	    da ? ft_conform_cli_image(env, "e12-b.elf", XSPI_BASE + 0x200, 0x400, b, sizeof(b))
	       : NULL;
	if (!db || !flash_with(env, "flash_1", MX25 "-e12", ARGS(a), &r))
		goto out;
	ft_conform_expect_int(rec, "first session: programmed", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!flash_with(env, "flash_2", MX25 "-e12", ARGS(b), &r))
		goto out;
	ft_conform_expect_int(rec, "second session: Init ran again from a fresh load", r.status, 0);
	ft_conform_state_expect(env, "the NOR holds the second image", XSPI_STATE, 0x200,
	                        XSPI_BASE + 0x200, db, 0x400);
out:
	ft_conform_cli_result_free(&r);
	free(da);
	free(db);
}

/* E13 (added): a loader programming with the 3-byte-address opcodes (the -e3b variant: 02h, 20h;
 * its reads are 4-byte, so the read-back sees the true location) on a
 * W25Q256JV in 3-byte mode (--option nor-addr=3): a segment at 0x91000000 lands at 0x90000000
 * (A24 from the extended address register, 0 after reset) and the read-back verify names
 * 0x91000000; our loader (4-byte opcodes) then programs the same image where it belongs. */
static void run_e13(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	ft_conform_cli_result r = {0}, r2 = {0};
	uint8_t *ex = ft_conform_cli_image(env, "e13.elf", E13_ADDR, E13_LEN, path, sizeof(path));
	if (!ex || !flash_with(env, "flash-3b", W25Q "-e3b", ARGS(path), &r))
		goto out;
	size_t bad = 0;
	while (bad < E13_LEN && ex[bad] == 0xFF)
		bad++;
	ft_conform_expect_int(rec, "exit status", r.status, 1);
	ft_conform_cli_saysf(rec, "read-back names the address above 16 MB", &r,
	                     "data mismatch at 0x%08x", (unsigned)(E13_ADDR + bad));
	ft_conform_cli_says(rec, "names the likely cause", &r,
	                    "the loader may be using 3-byte addressing");
	expect_nor(env, "the data aliased to 0x90000000", QSPI_BASE, ex, E13_LEN);
	expect_nor(env, "nothing at 0x91000000", E13_ADDR, NULL, E13_LEN);
	if (!flash_with(env, "flash", W25Q, ARGS(path), &r2))
		goto out;
	ft_conform_expect_int(rec, "our loader: exit status", r2.status, 0);
	expect_nor(env, "our loader: the data at 0x91000000", E13_ADDR, ex, E13_LEN);
out:
	ft_conform_cli_result_free(&r);
	ft_conform_cli_result_free(&r2);
	free(ex);
}

/* E14 (added): the same image with our loader on a W25Q256JV that powers up in 4-byte mode
 * (--option nor-addr=4, SR3 ADP=1): programmed at 0x91000000, nothing at 0x90000000. */
static void run_e14(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	ft_conform_cli_result r = {0};
	uint8_t *ex = ft_conform_cli_image(env, "e14.elf", E13_ADDR, E13_LEN, path, sizeof(path));
	if (!ex || !flash_with(env, "flash", W25Q, ARGS(path), &r))
		goto out;
	ft_conform_expect_int(rec, "exit status", r.status, 0);
	expect_nor(env, "the data at 0x91000000", E13_ADDR, ex, E13_LEN);
	expect_nor(env, "nothing at 0x90000000", QSPI_BASE, NULL, E13_LEN);
out:
	ft_conform_cli_result_free(&r);
	free(ex);
}

#define PREFLIGHT(id_, title_, run_)                                                               \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_EXTLDR,                  \
		.in_catalogue = true, .targets = FT_CONFORM_ON_ANY,                                \
		.needs = {"flash-command", "external-loader"}, .run = run_                         \
	}
#define EXT_GDB(id_, title_, catalogue_, nor_, run_, ...)                                          \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_EXTLDR,                  \
		.in_catalogue = catalogue_, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,      \
		.device = true, .gdb = true, .emu_only = true,                                     \
		.needs = {"swd", "external-loader"}, .switches = {__VA_ARGS__},                    \
		.external_flash = nor_, .run = run_                                                \
	}

const ft_conform_scenario ft_conform_extldr_scenarios[] = {
    PREFLIGHT("E01", "extldr-name-mismatch", run_e01),
    PREFLIGHT("E02", "extldr-missing-masserase", run_e02),
    EXT_GDB("E03", "extldr-irq-left-enabled (field report B)", true, "W25Q256JV", run_e03, NULL),
    EXT_GDB("E04", "extldr-load-address-conflict", true, "W25Q256JV", run_e04, NULL),
    EXT_GDB("E05", "extldr-partial-write", true, "W25Q256JV", run_e05, NULL),
    EXT_GDB("E06", "extldr-memory-mapped-left", true, "W25Q256JV", run_e06, NULL),
    EXT_GDB("E09", "extldr-verify-decode", true, "W25Q256JV", run_e09, NULL),
    EXT_GDB("E10", "ext-bp-bits-set", true, "W25Q256JV", run_e10, "--option", "nor-sr=" E10_SR),
    EXT_GDB("E11", "ext-mixed-order", true, "W25Q256JV", run_e11, NULL),
    EXT_GDB("E13", "extldr-3byte-above-16mb", false, "W25Q256JV", run_e13, "--option",
            "nor-addr=3"),
    EXT_GDB("E14", "extldr-4byte-power-up", false, "W25Q256JV", run_e14, "--option", "nor-addr=4"),
    EXT_GDB("E12", "extldr-init-second-call-hang (N6)", true, "MX25UM51245G", run_e12, "--boot",
            "dev"),
};
const size_t ft_conform_extldr_scenario_count =
    sizeof(ft_conform_extldr_scenarios) / sizeof(ft_conform_extldr_scenarios[0]);
