/* The external-flash controllers of the QEMU machines on the board's NOR flash, driven over QEMU's
 * qtest protocol with the register sequences of HAL_QSPI_* / HAL_OSPI_* / HAL_XSPI_*: QUADSPI
 * (nucleo-h743zi2 with a W25Q256JV), OCTOSPI1 (nucleo-h723zg, W25Q256JV), OCTOSPI2
 * (nucleo-h7a3zi-q, MX25UM51245G) and XSPI2 (nucleo-n657x0-q, its MX25UM51245G). Each machine
 * reads the flash's JEDEC ID, programs a page with automatic polling on the status register,
 * reads it back indirectly and through the memory-mapped window, and keeps it in its state.
 * Both flashes are in their power-on SPI mode and take the same 4-byte-address commands.
 * Registers: CMSIS stm32h743xx.h QUADSPI_TypeDef, stm32h723xx.h OCTOSPI_TypeDef, stm32n657xx.h
 * XSPI_TypeDef (same offsets as OCTOSPI); commands: devices.md §6.3, §7. */
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WREN  0x06u
#define RDSR  0x05u
#define RDID  0x9Fu
#define PP4   0x12u
#define READ4 0x13u

#define CR_EN   (1u << 0)
#define CR_APMS (1u << 22)
#define SR_TCF  (1u << 1)
#define SR_SMF  (1u << 3)
#define SR_BUSY (1u << 5)
#define MS      1000000ull

typedef enum layout { QUADSPI, OCTOSPI } layout;

typedef struct target {
	const char *machine;
	const char *board; /* board file text; NULL: the file named in board_path */
	const char *board_path;
	layout regs_layout;
	uint32_t regs;   /* register block */
	uint32_t window; /* memory-mapped window */
	uint8_t id[3];   /* JEDEC ID */
} target;

static const target h743 = {"nucleo-h743zi2",  NULL,        "boards/custom-h743-w25q256.board",
                            QUADSPI,           0x52005000u, 0x90000000u,
                            {0xEF, 0x40, 0x19}};
static const target h723 = {"nucleo-h723zg",
                            "part = STM32H723ZGT6\nexternal_flash_part = W25Q256JV\n"
                            "external_flash_bus = octospi1\n",
                            NULL,
                            OCTOSPI,
                            0x52005000u,
                            0x90000000u,
                            {0xEF, 0x40, 0x19}};
static const target h7a3 = {"nucleo-h7a3zi-q",
                            "part = STM32H7A3ZIT6Q\nexternal_flash_part = MX25UM51245G\n"
                            "external_flash_bus = octospi2\n",
                            NULL,
                            OCTOSPI,
                            0x5200A000u,
                            0x70000000u,
                            {0xC2, 0x80, 0x3A}};
static const target n657 = {"nucleo-n657x0-q", NULL, NULL, OCTOSPI, 0x4802A000u, 0x70000000u,
                            {0xC2, 0x80, 0x3A}};

static char g_dir[64];
static ft_qemu *q;
static const target *t;
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	q = NULL;
	emu_harness_make_dir("qemu-nor", g_dir, sizeof(g_dir));
}

static void teardown(void)
{
	ft_qemu_free(q);
	emu_harness_cleanup(g_dir);
}

static void start(const target *which)
{
	char state[128], board[128];
	t = which;
	snprintf(state, sizeof(state), "%s/state", g_dir);
	ft_qemu_config cfg = {.machine = t->machine,
	                      .state_dir = state,
	                      .boot0 = 0,
	                      .board_path = t->board_path,
	                      .mode = FT_QEMU_QTEST};
	if (t->board) {
		snprintf(board, sizeof(board), "%s/test.board", g_dir);
		FILE *f = fopen(board, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs(t->board, f);
		fclose(f);
		cfg.board_path = board;
	}
	ft_error err = ft_qemu_start(&cfg, &q, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  qemu: %s: %s\n", diag.origin, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
}

static void restart(void)
{
	CU_ASSERT_EQUAL_FATAL(ft_qemu_wait(q, 10000, NULL, &diag), FT_OK);
	ft_qemu_free(q);
	q = NULL;
	start(t);
}

static uint32_t rd(uint32_t addr, unsigned size)
{
	char cmd[48], reply[64];
	snprintf(cmd, sizeof(cmd), "read%c 0x%08x", size == 1 ? 'b' : 'l', addr);
	ft_error err = ft_qemu_qtest(q, cmd, reply, sizeof(reply), 10000, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  %s: %s\n", cmd, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	return (uint32_t)strtoul(reply, NULL, 0);
}

static void wr(uint32_t addr, uint32_t value, unsigned size)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "write%c 0x%08x 0x%x", size == 1 ? 'b' : 'l', addr, value);
	ft_error err = ft_qemu_qtest(q, cmd, NULL, 0, 10000, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  %s: %s\n", cmd, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
}

/* Register offsets of the two layouts. */
static uint32_t reg(const char *name)
{
	static const struct {
		const char *name;
		uint32_t quadspi, octospi;
	} map[] = {
	    {"CR", 0x00, 0x000},   {"SR", 0x08, 0x020},    {"FCR", 0x0C, 0x024},
	    {"DLR", 0x10, 0x040},  {"CCR", 0x14, 0x100},   {"AR", 0x18, 0x048},
	    {"DR", 0x20, 0x050},   {"PSMKR", 0x24, 0x080}, {"PSMAR", 0x28, 0x088},
	    {"TCR", 0xFFF, 0x108}, {"IR", 0xFFF, 0x110},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0)
			return t->regs +
			       (t->regs_layout == QUADSPI ? map[i].quadspi : map[i].octospi);
	CU_FAIL_FATAL("unknown register");
	return 0;
}

/* One command on single lines: functional mode, instruction, optional 4-byte address, data
 * bytes (0: none). Written in HAL's order, so the last write starts it. */
static void command(unsigned fmode, uint32_t instruction, bool address, uint32_t addr,
                    uint32_t data_len, uint32_t cr_extra)
{
	if (data_len)
		wr(reg("DLR"), data_len - 1, 4);
	if (t->regs_layout == QUADSPI) {
		/* IMODE b9:8, ADMODE b11:10, ADSIZE b13:12, DMODE b25:24, FMODE b27:26 */
		wr(reg("CR"), CR_EN | cr_extra, 4);
		uint32_t ccr = instruction | 1u << 8 | (uint32_t)fmode << 26 |
		               (address ? (1u << 10 | 3u << 12) : 0) | (data_len ? 1u << 24 : 0);
		wr(reg("CCR"), ccr, 4);
	} else {
		/* CR FMODE b29:28; CCR IMODE b2:0, ADMODE b10:8, ADSIZE b13:12, DMODE b26:24 */
		wr(reg("CR"), CR_EN | cr_extra | (uint32_t)fmode << 28, 4);
		uint32_t ccr =
		    1u | (address ? (1u << 8 | 3u << 12) : 0) | (data_len ? 1u << 24 : 0);
		wr(reg("CCR"), ccr, 4);
		wr(reg("TCR"), 0, 4);
		wr(reg("IR"), instruction, 4);
	}
	if (address)
		wr(reg("AR"), addr, 4);
}

static void read_id(uint8_t id[3])
{
	command(1, RDID, false, 0, 3, 0);
	for (int i = 0; i < 3; i++)
		id[i] = (uint8_t)rd(reg("DR"), 1);
}

static void program(uint32_t addr, const uint8_t *bytes, uint32_t len)
{
	command(0, WREN, false, 0, 0, 0);
	FT_ASSERT_HEX(rd(reg("SR"), 4) & SR_TCF, SR_TCF);
	wr(reg("FCR"), SR_TCF, 4);
	command(0, PP4, true, addr, len, 0);
	for (uint32_t i = 0; i < len; i++)
		wr(reg("DR"), bytes[i], 1);
	FT_ASSERT_HEX(rd(reg("SR"), 4) & (SR_TCF | SR_BUSY), SR_TCF);
	wr(reg("FCR"), SR_TCF, 4);
}

/* HAL_xSPI_AutoPolling on WIP (mask 01h, match 00h), stopping at the match. Returns how many
 * milliseconds of virtual time it took. */
static unsigned wait_ready(void)
{
	wr(reg("PSMKR"), 0x01, 4);
	wr(reg("PSMAR"), 0x00, 4);
	command(2, RDSR, false, 0, 1, CR_APMS);
	unsigned ms = 0;
	while ((rd(reg("SR"), 4) & SR_SMF) == 0 && ms < 100) {
		CU_ASSERT_EQUAL_FATAL(ft_qemu_clock_step(q, MS, &diag), FT_OK);
		ms++;
	}
	FT_ASSERT_HEX(rd(reg("SR"), 4) & (SR_SMF | SR_BUSY), SR_SMF);
	wr(reg("FCR"), SR_SMF | SR_TCF, 4);
	return ms;
}

static void read_back(uint32_t addr, uint8_t *out, uint32_t len)
{
	command(1, READ4, true, addr, len, 0);
	for (uint32_t i = 0; i < len; i++)
		out[i] = (uint8_t)rd(reg("DR"), 1);
}

/* HAL_QSPI_MemoryMapped: CCR with FMODE 11 enters the mode. HAL_OSPI_Command(READ_CFG) then
 * HAL_OSPI_MemoryMapped: CCR/TCR/IR first, CR with FMODE 11 last. */
static void enter_memory_mapped(void)
{
	if (t->regs_layout == QUADSPI) {
		wr(reg("CCR"), READ4 | 1u << 8 | 1u << 10 | 3u << 12 | 1u << 24 | 3u << 26, 4);
	} else {
		wr(reg("CCR"), 1u | 1u << 8 | 3u << 12 | 1u << 24, 4);
		wr(reg("TCR"), 0, 4);
		wr(reg("IR"), READ4, 4);
		wr(reg("CR"), CR_EN | 3u << 28, 4);
	}
	FT_ASSERT_HEX(rd(reg("SR"), 4) & SR_BUSY, SR_BUSY);
}

static const uint8_t page[8] = {0x46, 0x54, 0x57, 0x49, 0x4E, 0x21, 0x00, 0xA5};

static void check_read_id(const target *which)
{
	start(which);
	uint8_t id[3];
	read_id(id);
	FT_ASSERT_BYTES(id, t->id, 3);
}

/* The page program takes the flash's time on the virtual clock: polling sees WIP first. */
static void check_program_poll_read(const target *which)
{
	start(which);
	program(0x10000, page, sizeof(page));
	CU_ASSERT(wait_ready() >= 1);
	uint8_t back[sizeof(page)];
	read_back(0x10000, back, sizeof(back));
	FT_ASSERT_BYTES(back, page, sizeof(page));
}

static void check_memory_mapped(const target *which)
{
	start(which);
	program(0x20000, page, sizeof(page));
	wait_ready();
	FT_ASSERT_HEX(rd(t->window + 0x20000, 4), 0xFFFFFFFFu); /* not mapped: no data */
	enter_memory_mapped();
	FT_ASSERT_HEX(rd(t->window + 0x20000, 4), 0x49575446u);
	FT_ASSERT_HEX(rd(t->window + 0x20004, 1), 0x4E);
}

static void check_persistence(const target *which)
{
	start(which);
	program(0x30000, page, sizeof(page));
	wait_ready();
	restart();
	uint8_t back[sizeof(page)];
	read_back(0x30000, back, sizeof(back));
	FT_ASSERT_BYTES(back, page, sizeof(page));
}

static void test_quadspi_reads_the_w25q256_id(void)
{
	check_read_id(&h743);
}
static void test_quadspi_programs_polls_and_reads_back(void)
{
	check_program_poll_read(&h743);
}
static void test_quadspi_window_serves_the_flash_in_memory_mapped_mode(void)
{
	check_memory_mapped(&h743);
}
static void test_octospi1_reads_the_w25q256_id(void)
{
	check_read_id(&h723);
}
static void test_octospi1_programs_polls_and_reads_back(void)
{
	check_program_poll_read(&h723);
}
static void test_octospi1_window_serves_the_flash_in_memory_mapped_mode(void)
{
	check_memory_mapped(&h723);
}
static void test_octospi2_reads_the_mx25um_id(void)
{
	check_read_id(&h7a3);
}
static void test_octospi2_programs_polls_and_reads_back(void)
{
	check_program_poll_read(&h7a3);
}
static void test_octospi2_window_serves_the_flash_in_memory_mapped_mode(void)
{
	check_memory_mapped(&h7a3);
}
static void test_xspi2_reads_the_mx25um_id(void)
{
	check_read_id(&n657);
}
static void test_xspi2_programs_polls_and_reads_back(void)
{
	check_program_poll_read(&n657);
}
static void test_xspi2_window_serves_the_flash_in_memory_mapped_mode(void)
{
	check_memory_mapped(&n657);
}
static void test_programmed_nor_survives_a_restart(void)
{
	check_persistence(&h743);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_quadspi_reads_the_w25q256_id", test_quadspi_reads_the_w25q256_id},
	    {"test_quadspi_programs_polls_and_reads_back",
	     test_quadspi_programs_polls_and_reads_back},
	    {"test_quadspi_window_serves_the_flash_in_memory_mapped_mode",
	     test_quadspi_window_serves_the_flash_in_memory_mapped_mode},
	    {"test_octospi1_reads_the_w25q256_id", test_octospi1_reads_the_w25q256_id},
	    {"test_octospi1_programs_polls_and_reads_back",
	     test_octospi1_programs_polls_and_reads_back},
	    {"test_octospi1_window_serves_the_flash_in_memory_mapped_mode",
	     test_octospi1_window_serves_the_flash_in_memory_mapped_mode},
	    {"test_octospi2_reads_the_mx25um_id", test_octospi2_reads_the_mx25um_id},
	    {"test_octospi2_programs_polls_and_reads_back",
	     test_octospi2_programs_polls_and_reads_back},
	    {"test_octospi2_window_serves_the_flash_in_memory_mapped_mode",
	     test_octospi2_window_serves_the_flash_in_memory_mapped_mode},
	    {"test_xspi2_reads_the_mx25um_id", test_xspi2_reads_the_mx25um_id},
	    {"test_xspi2_programs_polls_and_reads_back", test_xspi2_programs_polls_and_reads_back},
	    {"test_xspi2_window_serves_the_flash_in_memory_mapped_mode",
	     test_xspi2_window_serves_the_flash_in_memory_mapped_mode},
	    {"test_programmed_nor_survives_a_restart", test_programmed_nor_survives_a_restart},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_nor", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
