/* flashtwin's GDB remote-protocol client and the reference client, Debian's gdb-multiarch, read
 * the same QEMU session of flashtwin-emu --gdb one after the other and must agree: the core
 * registers r0..r15 and xpsr, a RAM range, a flash range, DBGMCU_IDCODE and FLASH_OPTSR_CUR; a
 * write by one client is read back by the other. Our client detaches (D) before gdb connects,
 * so this also checks that QEMU's gdbstub takes a new connection after a clean detach.
 *
 * A detach resumes the core. With erased flash the core would fetch its reset vector from
 * 0xFFFFFFFE and QEMU 7.2 aborts on the lockup ("can't escalate 3 to HardFault"), so our client
 * first parks the core on a Thumb "b ." in RAM: while it spins there no register changes, and
 * what one client wrote is what the other reads.
 *
 * The H743 board gets its flash programmed first (`flashtwin flash` of the h743-clean fixture,
 * which closes without detaching), so the flash range compared is not just erased bytes. The N6
 * board has no internal flash: registers, RAM and DBGMCU_IDCODE.
 *
 * Binaries: build/<tree>/flashtwin-emu and flashtwin beside this program's tests/ directory,
 * GDB_PATH from the gdb-multiarch package (ci/packages.txt). Every wait is bounded; every socket
 * is on 127.0.0.1. */
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"
#include "programmer/transport/gdb.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GDB_PATH     "/usr/bin/gdb-multiarch"
#define START_MS     30000u /* ASan start-up and a new state */
#define STOP_MS      10000u
#define TOOL_MS      120000u /* gdb-multiarch, or a whole flash under ASan */
#define RAM_BYTES    0x100u  /* the pattern compared */
#define PARK_OFF     0x400u  /* where the "b ." goes, past the pattern */
#define FLASH_LEN    0x400u  /* the start of the h743-clean image */
#define THUMB_B_SELF 0xE7FEu /* B <self>: T2 encoding, imm11 = -2 (ARMv7-M ARM A7.7.12) */
#define GDB_WORD_OFF 0x80u   /* where in the pattern gdb writes a word */
#define GDB_WORD     0xC0FFEE11u
#define GDB_R7       0x7E57AB1Eu

typedef struct board_case {
	const char *board;
	uint32_t idcode;    /* DBGMCU_IDCODE */
	uint32_t optsr_cur; /* FLASH_OPTSR_CUR; 0 when the part has no internal flash */
	uint32_t ram;       /* start of a RAM the debugger may write */
	uint32_t flash;     /* start of internal flash; 0 when none */
	const char *image;  /* fixture programmed before the comparison, or NULL */
} board_case;

/* RM0433 §61.5.8 / ref devices.md §1: DBGMCU_IDCODE 0x5C001000; FLASH base 0x52002000 (RM0433
 * §2.3.2) + OPTSR_CUR 0x1C (RM0433 §4.9.9); AXI SRAM 0x24000000, flash bank 1 0x08000000 (CMSIS
 * stm32h743xx.h D1_AXISRAM_BASE, FLASH_BANK1_BASE). */
static const board_case H743 = {"nucleo-h743zi2", 0x5C001000u, 0x5200201Cu,
                                0x24000000u,      0x08000000u, "h743-clean.elf"};
/* ref devices.md §1: DBGMCU NS 0x44001000 (CMSIS-N6 DBGMCU_BASE_NS); AXI SRAM1 secure alias
 * 0x34000000, 1 MB (CMSIS-N6 SRAM1_AXI_BASE_S); the core starts secure. Half a megabyte in, clear
 * of what the boot ROM model uses. */
static const board_case N657 = {"nucleo-n657x0-q", 0x44001000u, 0, 0x34080000u, 0, NULL};

/* What one client read. */
typedef struct reading {
	uint32_t regs[FT_GDB_XPSR + 1]; /* r0..r15, xpsr */
	uint8_t ram[RAM_BYTES];
	uint8_t flash[FLASH_LEN];
	uint32_t idcode, optsr;
} reading;

static char g_dir[64];
static char g_build[PATH_MAX - 32];
static ft_proc *g_emu;

static void setup(void)
{
	g_emu = NULL;
	emu_harness_setup("gdbagree", g_dir, sizeof(g_dir), g_build, sizeof(g_build));
}

static void teardown(void)
{
	ft_proc_stop(g_emu, STOP_MS, NULL, NULL);
	g_emu = NULL;
	emu_harness_cleanup(g_dir);
}

/* Starts flashtwin-emu --gdb 127.0.0.1:0 on a fresh state; returns the gdbstub's port or 0. */
static unsigned start_emu(const char *board)
{
	const char *const extra[] = {"--gdb", "127.0.0.1:0", NULL};
	unsigned port = 0;
	return emu_harness_start(g_build, g_dir, board, extra, "emu",
	                         ", gdb at 127.0.0.1:", START_MS, &g_emu, &port)
	           ? port
	           : 0;
}

static bool run_tool(const char *const *argv, ft_proc_result *res)
{
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_MS, res, &diag) != FT_OK) {
		fprintf(stderr, "\n%s: %s\n", argv[0], diag.message);
		return false;
	}
	if (res->exit_status != 0)
		fprintf(stderr, "\n%s: exit %d\n%s\n%s\n", argv[0], res->exit_status,
		        res->out ? res->out : "", res->err ? res->err : "");
	return res->exit_status == 0;
}

static bool flash_image(const board_case *bc, unsigned port)
{
	char flashtwin[PATH_MAX], image[PATH_MAX], url[64];
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	snprintf(image, sizeof(image), "%s/fixtures/%s", g_build, bc->image);
	snprintf(url, sizeof(url), "gdb://127.0.0.1:%u", port);
	const char *const argv[] = {flashtwin, "flash",   image,     "--connect",
	                            url,       "--board", bc->board, NULL};
	ft_proc_result res;
	bool ok = run_tool(argv, &res);
	ft_proc_result_free(&res);
	return ok;
}

static ft_gdb *connect_ours(unsigned port)
{
	char url[64];
	snprintf(url, sizeof(url), "gdb://127.0.0.1:%u", port);
	ft_gdb *gdb = NULL;
	ft_diag diag;
	ft_error err = ft_gdb_open(url, NULL, &gdb, &diag);
	if (err != FT_OK)
		fprintf(stderr, "\nft_gdb_open: %s: %s\n", ft_error_name(err), diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	return err == FT_OK ? gdb : NULL;
}

/* Our session: parks the core, writes a RAM pattern and r0..r12, reads everything, detaches. */
static bool ours_write_and_read(ft_gdb *gdb, const board_case *bc, reading *r)
{
	ft_diag d;
	uint8_t pattern[RAM_BYTES];
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0xA5 ^ (i * 7));
	const uint8_t park[2] = {THUMB_B_SELF & 0xFF, THUMB_B_SELF >> 8};
	bool ok = ft_gdb_write_mem(gdb, bc->ram, pattern, sizeof(pattern), &d) == FT_OK &&
	          ft_gdb_write_mem(gdb, bc->ram + PARK_OFF, park, sizeof(park), &d) == FT_OK &&
	          ft_gdb_write_reg(gdb, FT_GDB_PC, bc->ram + PARK_OFF, &d) == FT_OK;
	for (int reg = FT_GDB_R0; ok && reg <= FT_GDB_R12; reg++)
		ok = ft_gdb_write_reg(gdb, (ft_gdb_reg)reg,
		                      0x11111111u * (uint32_t)(reg + 1) + 0x100u, &d) == FT_OK;
	for (int reg = FT_GDB_R0; ok && reg <= FT_GDB_XPSR; reg++)
		ok = ft_gdb_read_reg(gdb, (ft_gdb_reg)reg, &r->regs[reg], &d) == FT_OK;
	ok = ok && ft_gdb_read_mem(gdb, bc->ram, r->ram, sizeof(r->ram), &d) == FT_OK &&
	     ft_gdb_read_u32(gdb, bc->idcode, &r->idcode, &d) == FT_OK;
	if (ok && bc->flash)
		ok = ft_gdb_read_mem(gdb, bc->flash, r->flash, sizeof(r->flash), &d) == FT_OK &&
		     ft_gdb_read_u32(gdb, bc->optsr_cur, &r->optsr, &d) == FT_OK;
	if (ok)
		ok = ft_gdb_detach(gdb, &d) == FT_OK;
	if (!ok)
		fprintf(stderr, "\nour client: %s: %s\n", ft_error_name(d.code), d.message);
	CU_ASSERT_TRUE(ok);
	FT_ASSERT_BYTES(r->ram, pattern, sizeof(pattern));
	FT_ASSERT_HEX(r->regs[FT_GDB_PC], bc->ram + PARK_OFF);
	return ok;
}

static bool slurp(const char *path, void *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	bool ok = fread(buf, 1, len, f) == len && fgetc(f) == EOF;
	fclose(f);
	return ok;
}

/* The value of "NAME 0xHEX ..." in gdb's `info registers` output, or false. */
static bool gdb_register(const char *out, const char *name, uint32_t *value)
{
	size_t n = strlen(name);
	for (const char *line = out; line && *line; line = strchr(line, '\n'), line += !!line) {
		if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '\t')) {
			const char *v = line + n + strspn(line + n, " \t");
			if (strncmp(v, "0x", 2) != 0)
				return false;
			*value = (uint32_t)strtoul(v, NULL, 16);
			return true;
		}
	}
	return false;
}

/* The value of a "KEY XXXXXXXX" line our printf commands produce. */
static bool gdb_printed(const char *out, const char *key, uint32_t *value)
{
	const char *at = strstr(out, key);
	if (!at)
		return false;
	*value = (uint32_t)strtoul(at + strlen(key), NULL, 16);
	return true;
}

/* gdb-multiarch -batch: reads what ours read, then writes a RAM word and r7; detaches at exit. */
static bool gdb_read_and_write(unsigned port, const board_case *bc, reading *r)
{
	char target[64], ram_path[128], flash_path[128], dump_ram[192], dump_flash[192];
	char idcode[96], optsr[96], poke[96], r7[64];
	snprintf(target, sizeof(target), "target remote 127.0.0.1:%u", port);
	snprintf(ram_path, sizeof(ram_path), "%s/gdb-ram.bin", g_dir);
	snprintf(flash_path, sizeof(flash_path), "%s/gdb-flash.bin", g_dir);
	snprintf(dump_ram, sizeof(dump_ram), "dump binary memory %s 0x%08x 0x%08x", ram_path,
	         bc->ram, bc->ram + RAM_BYTES);
	snprintf(dump_flash, sizeof(dump_flash), "dump binary memory %s 0x%08x 0x%08x", flash_path,
	         bc->flash, bc->flash + FLASH_LEN);
	snprintf(idcode, sizeof(idcode), "printf \"idcode %%08x\\n\", *(unsigned int *)0x%08x",
	         bc->idcode);
	snprintf(optsr, sizeof(optsr), "printf \"optsr %%08x\\n\", *(unsigned int *)0x%08x",
	         bc->optsr_cur);
	snprintf(poke, sizeof(poke), "set {unsigned int}0x%08x = 0x%08x", bc->ram + GDB_WORD_OFF,
	         GDB_WORD);
	snprintf(r7, sizeof(r7), "set $r7 = 0x%08x", GDB_R7);
	const char *argv[32] = {GDB_PATH,
	                        "-batch",
	                        "-nx",
	                        "-ex",
	                        "set pagination off",
	                        "-ex",
	                        target,
	                        "-ex",
	                        "info registers",
	                        "-ex",
	                        dump_ram,
	                        "-ex",
	                        idcode};
	size_t argc = 13;
	if (bc->flash) {
		const char *more[] = {"-ex", dump_flash, "-ex", optsr};
		memcpy(&argv[argc], more, sizeof(more));
		argc += 4;
	}
	const char *writes[] = {"-ex", poke, "-ex", r7, NULL};
	memcpy(&argv[argc], writes, sizeof(writes));
	ft_proc_result res;
	bool ok = run_tool(argv, &res);
	const char *out = res.out ? res.out : "";
	for (int reg = FT_GDB_R0; ok && reg <= FT_GDB_XPSR; reg++) {
		if (!gdb_register(out, ft_gdb_reg_name((ft_gdb_reg)reg), &r->regs[reg])) {
			fprintf(stderr, "\nno %s in gdb's output:\n%s\n", ft_gdb_reg_name(reg),
			        out);
			ok = false;
		}
	}
	ok = ok && gdb_printed(out, "idcode ", &r->idcode) && slurp(ram_path, r->ram, RAM_BYTES);
	if (ok && bc->flash)
		ok =
		    gdb_printed(out, "optsr ", &r->optsr) && slurp(flash_path, r->flash, FLASH_LEN);
	if (!ok)
		fprintf(stderr, "\ngdb-multiarch said:\n%s\n%s\n", out, res.err ? res.err : "");
	ft_proc_result_free(&res);
	return ok;
}

static void assert_agree(const reading *ours, const reading *gdb, const board_case *bc)
{
	for (int reg = FT_GDB_R0; reg <= FT_GDB_XPSR; reg++) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s: ours 0x%08x, gdb-multiarch 0x%08x",
		         ft_gdb_reg_name((ft_gdb_reg)reg), ours->regs[reg], gdb->regs[reg]);
		CU_assertImplementation(ours->regs[reg] == gdb->regs[reg], __LINE__, msg, __FILE__,
		                        "", CU_FALSE);
	}
	FT_ASSERT_BYTES(gdb->ram, ours->ram, RAM_BYTES);
	FT_ASSERT_HEX(gdb->idcode, ours->idcode);
	if (bc->flash) {
		static const uint8_t erased[4] = {0xFF, 0xFF, 0xFF, 0xFF};
		/* the fixture's initial stack pointer, not erased flash */
		CU_ASSERT(memcmp(ours->flash, erased, sizeof(erased)) != 0);
		FT_ASSERT_BYTES(gdb->flash, ours->flash, FLASH_LEN);
		FT_ASSERT_HEX(gdb->optsr, ours->optsr);
	}
}

static void agree_on(const board_case *bc)
{
	CU_ASSERT_FATAL(g_dir[0] != '\0');
	if (access(GDB_PATH, X_OK) != 0) {
		CU_FAIL("gdb-multiarch is not installed (ci/packages.txt lists it: make deps)");
		return;
	}
	unsigned port = start_emu(bc->board);
	CU_ASSERT_FATAL(port > 0 && port < 65536);
	if (bc->image)
		CU_ASSERT_FATAL(flash_image(bc, port));

	reading ours = {0}, theirs = {0};
	ft_gdb *gdb = connect_ours(port);
	if (!gdb)
		return;
	bool ok = ours_write_and_read(gdb, bc, &ours);
	ft_gdb_close(gdb);
	CU_ASSERT_FATAL(ok);
	CU_ASSERT_FATAL(gdb_read_and_write(port, bc, &theirs));
	assert_agree(&ours, &theirs, bc);

	/* gdb detached at its exit: a third session reads what gdb wrote */
	gdb = connect_ours(port);
	if (!gdb)
		return;
	uint32_t word = 0, r7 = 0, r0 = 0;
	ft_diag d;
	FT_ASSERT_HEX(ft_gdb_read_u32(gdb, bc->ram + GDB_WORD_OFF, &word, &d), FT_OK);
	FT_ASSERT_HEX(ft_gdb_read_reg(gdb, FT_GDB_R7, &r7, &d), FT_OK);
	FT_ASSERT_HEX(ft_gdb_read_reg(gdb, FT_GDB_R0, &r0, &d), FT_OK);
	FT_ASSERT_HEX(word, GDB_WORD);
	FT_ASSERT_HEX(r7, GDB_R7);
	FT_ASSERT_HEX(r0, ours.regs[FT_GDB_R0]); /* still parked: nothing else changed */
	ft_error err = ft_gdb_detach(gdb, &d);
	if (err != FT_OK)
		fprintf(stderr, "\ndetach: %s\n", d.message);
	FT_ASSERT_HEX(err, FT_OK);
	ft_gdb_close(gdb);

	int status = -1;
	ft_proc_stop(g_emu, STOP_MS, &status, NULL);
	g_emu = NULL;
	FT_ASSERT_HEX(status, 0);
}

static void test_h743_registers_ram_flash_and_idcode_agree_with_gdb_multiarch(void)
{
	agree_on(&H743);
}

static void test_n657_registers_ram_and_idcode_agree_with_gdb_multiarch(void)
{
	agree_on(&N657);
}

static CU_TestInfo tests[] = {
    {"h743_registers_ram_flash_and_idcode_agree_with_gdb_multiarch",
     test_h743_registers_ram_flash_and_idcode_agree_with_gdb_multiarch},
    {"n657_registers_ram_and_idcode_agree_with_gdb_multiarch",
     test_n657_registers_ram_and_idcode_agree_with_gdb_multiarch},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"gdb_agreement", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
