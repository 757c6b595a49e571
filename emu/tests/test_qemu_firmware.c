/* The machines run firmware built with arm-none-eabi-gcc (emu/qemu/firmware): a HAL-style start-up
 * reaches main and prints on the virtual COM port; a self-programming application erases,
 * programs and reads back its flash, takes a bus fault on an ECC double error, and leaves its
 * writes in the board's state directory; a NOR reader reads the board's external flash through
 * QUADSPI/OCTOSPI/XSPI, indirectly and memory-mapped. On the N6, the boot ROM loads the firmware
 * as an FSBL from the XSPI2 NOR (flash boot) and does not in development boot.
 *
 * H7 images are programmed into a fresh state the way a debugger does (flash controller registers
 * through QEMU's qtest protocol, the machine not running); N6 images, and data for the NOR
 * readers, the way an external loader does (NOR commands on the board's flash model, the board
 * opened through emu/board_runtime). The machine then boots from that state with BOOT0 low and
 * the test reads its serial port until the firmware exits. Needs build/qemu/qemu-system-arm
 * (`make qemu`) and the firmware under BUILD/qemu-firmware/. */
#include "emu/board_runtime.h"
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"
#include "programmer/image/image.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RM0433 §4.9 (RM0468, RM0455 same offsets); keys §4.5.1 */
#define FLASH_REGS  0x52002000u
#define FLASH_KEYR  0x04u
#define FLASH_CR    0x0Cu
#define FLASH_SR    0x10u
#define FLASH_BANK2 0x100u
#define CR_LOCK     (1u << 0)
#define CR_PG       (1u << 1)
#define SR_QW       (1u << 2)
#define KEY1        0x45670123u
#define KEY2        0xCDEF89ABu
#define BANK2_BASE  0x08100000u
#define FLASH_LIMIT 0x08200000u
#define RUN_TIMEOUT 30000 /* ms; the firmware exits in about a second */

typedef struct machine {
	const char *name;  /* QEMU machine */
	const char *image; /* firmware prefix */
	const char *part;  /* part of the machine's default board */
	unsigned word;     /* flash-word bytes; 0: no embedded flash (N6) */
	/* for the NOR tests: a board with external flash (file text, written as NAME.board) */
	const char *nor_board;
} machine;

static const machine h743 = {"nucleo-h743zi2", "h743", "STM32H743ZIT6", 32,
                             "part = STM32H743ZIT6\nexternal_flash_part = W25Q256JV\n"
                             "external_flash_bus = quadspi1\n"};
static const machine h723 = {"nucleo-h723zg", "h723", "STM32H723ZGT6", 32,
                             "part = STM32H723ZGT6\nexternal_flash_part = W25Q256JV\n"
                             "external_flash_bus = octospi1\n"};
static const machine h7a3 = {"nucleo-h7a3zi-q", "h7a3", "STM32H7A3ZIT6Q", 16,
                             "part = STM32H7A3ZIT6Q\nexternal_flash_part = MX25UM51245G\n"
                             "external_flash_bus = octospi2\n"};
static const machine n657 = {"nucleo-n657x0-q", "n657", "STM32N657X0H3Q", 0,
                             "part = STM32N657X0H3Q\nexternal_flash_part = MX25UM51245G\n"
                             "external_flash_bus = xspi2\n"};

static char g_dir[64];
static char g_state[128];
static char g_board[128]; /* board file of the test, empty: the machine's default board */
static char g_out[8192];
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	g_out[0] = '\0';
	emu_harness_make_dir("qemu-fw", g_dir, sizeof(g_dir));
	snprintf(g_state, sizeof(g_state), "%s/state", g_dir);
	g_board[0] = '\0';
}

static void teardown(void)
{
	emu_harness_cleanup(g_dir);
}

/* BUILD/qemu-firmware/<image>-<program>.<ext> for this program BUILD/tests/<prog>. */
static void firmware_path(const machine *m, const char *program, const char *ext, char *path,
                          size_t cap)
{
	char build[PATH_MAX - 64];
	emu_harness_build_dir(build, sizeof(build));
	snprintf(path, cap, "%s/qemu-firmware/%s-%s.%s", build, m->image, program, ext);
}

static void report(ft_error err)
{
	emu_harness_report(err, &diag);
}

/* Waits for the bank's write queue to drain, moving the virtual clock as the CPU would. */
static ft_error wait_queue(ft_qemu *q, uint32_t regs)
{
	for (int i = 0; i < 10000; i++) {
		uint32_t sr;
		ft_error err = ft_qemu_readl(q, FLASH_REGS + regs + FLASH_SR, &sr, &diag);
		if (err != FT_OK || !(sr & SR_QW))
			return err;
		err = ft_qemu_clock_step(q, 100000, &diag);
		if (err != FT_OK)
			return err;
	}
	return ft_diag_set(&diag, FT_ERR_TIMEOUT, "flash", "QW stays set");
}

/* Programs one flash word (word bytes at addr, 0xFF-padded by the caller). */
static ft_error program_word(ft_qemu *q, uint32_t addr, const uint8_t *bytes, unsigned word)
{
	uint32_t regs = addr >= BANK2_BASE ? FLASH_BANK2 : 0;
	char cmd[256];
	int n = snprintf(cmd, sizeof(cmd), "write 0x%08x 0x%x 0x", addr, word);
	for (unsigned i = 0; i < word; i++)
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "%02x", bytes[i]);
	uint32_t cr = 0;
	ft_error err = ft_qemu_readl(q, FLASH_REGS + regs + FLASH_CR, &cr, &diag);
	/* a key written while unlocked would lock the bank until reset (RM0433 §4.5.1) */
	if (err == FT_OK && (cr & CR_LOCK))
		err = ft_qemu_writel(q, FLASH_REGS + regs + FLASH_KEYR, KEY1, &diag);
	if (err == FT_OK && (cr & CR_LOCK))
		err = ft_qemu_writel(q, FLASH_REGS + regs + FLASH_KEYR, KEY2, &diag);
	if (err == FT_OK)
		err = ft_qemu_writel(q, FLASH_REGS + regs + FLASH_CR, CR_PG, &diag);
	if (err == FT_OK)
		err = ft_qemu_qtest(q, cmd, NULL, 0, 10000, &diag);
	if (err == FT_OK)
		err = wait_queue(q, regs);
	if (err == FT_OK)
		err = ft_qemu_writel(q, FLASH_REGS + regs + FLASH_CR, 0, &diag);
	return err;
}

/* Programs every flash byte of the image into a new state, as a debugger would. */
static ft_error program_image(const machine *m, const char *elf)
{
	ft_qemu_config cfg = {
	    .machine = m->name, .state_dir = g_state, .boot0 = 0, .mode = FT_QEMU_QTEST};
	ft_image *image = ft_image_new();
	ft_image_input in = {.path = elf, .format = FT_IMAGE_ELF};
	ft_error err = image ? ft_image_add_file(image, &in, &diag) : FT_ERR_NO_MEM;
	if (err == FT_OK)
		err = ft_image_finish(image, &diag);
	ft_qemu *q = NULL;
	if (err == FT_OK)
		err = ft_qemu_start(&cfg, &q, &diag);
	for (size_t i = 0; err == FT_OK && i < ft_image_segment_count(image); i++) {
		const ft_segment *seg = ft_image_segment_at(image, i);
		if (seg->size == 0 || seg->addr < 0x08000000u || seg->addr >= FLASH_LIMIT)
			continue;
		uint32_t first = seg->addr / m->word * m->word;
		for (uint32_t w = first; err == FT_OK && w < seg->addr + seg->size; w += m->word) {
			uint8_t bytes[32];
			memset(bytes, 0xFF, sizeof(bytes));
			for (unsigned b = 0; b < m->word; b++)
				if (w + b >= seg->addr && w + b < seg->addr + seg->size)
					bytes[b] = seg->data[w + b - seg->addr];
			err = program_word(q, w, bytes, m->word);
		}
	}
	if (q && ft_qemu_wait(q, 10000, NULL, NULL) != FT_OK && err == FT_OK)
		err = ft_diag_set(&diag, FT_ERR_TIMEOUT, "qemu", "did not quit");
	ft_qemu_free(q);
	ft_image_free(image);
	return err;
}

/* Writes the test's board file (text) as NAME.board, NAME the machine, so QEMU and the runtime
 * name the board alike. */
static void use_board(const machine *m, const char *text)
{
	emu_harness_write_board(g_dir, m->name, text, g_board, sizeof(g_board));
}

/* Programs bytes into the board's NOR flash as an external loader does: WREN, then 4-byte page
 * program (12h) per 256-byte page, 1-1-1, on the NOR model of the opened board. */
static ft_error nor_program(uint32_t addr, const uint8_t *bytes, size_t len)
{
	ft_board_runtime_config cfg = {
	    .board_path = g_board, .state_dir = g_state, .clock_mode = FT_CLOCK_INSTANT};
	ft_board_runtime *rt = NULL;
	ft_error err = ft_board_runtime_open(&cfg, &rt, &diag);
	if (err == FT_OK && ft_board_runtime_nor_count(rt) == 0)
		err = ft_diag_set(&diag, FT_ERR_NOT_FOUND, g_board, "no NOR flash on the board");
	ft_nor *nor = err == FT_OK ? ft_board_runtime_nor_at(rt, 0)->nor : NULL;
	for (size_t done = 0; err == FT_OK && done < len;) {
		uint32_t at = addr + (uint32_t)done;
		size_t chunk = 256 - at % 256;
		chunk = chunk < len - done ? chunk : len - done;
		ft_nor_xfer wren = {
		    .instruction = 0x06, .instruction_bytes = 1, .instruction_lines = 1};
		ft_nor_xfer pp = {.instruction = 0x12,
		                  .instruction_bytes = 1,
		                  .instruction_lines = 1,
		                  .has_address = true,
		                  .address_bytes = 4,
		                  .address_lines = 1,
		                  .address = at,
		                  .data_lines = 1,
		                  .data = (uint8_t *)bytes + done,
		                  .data_len = chunk};
		err = ft_nor_transfer(nor, &wren, &diag);
		if (err == FT_OK)
			err = ft_nor_transfer(nor, &pp, &diag);
		done += chunk;
	}
	if (nor)
		(void)ft_nor_array(nor); /* completes the last page program */
	if (rt)
		ft_board_runtime_close(rt, NULL);
	return err;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* STM32 header v2.3 (devices.md §6.2) in front of an unsigned FSBL payload: magic, payload
 * checksum, version 2.3, length, entry (the payload's reset vector), no load address, FSBL
 * type. Writes N6_HEADER + len bytes into out. */
#define N6_HEADER 0x400u
static void n6_fsbl_image(const uint8_t *payload, size_t len, uint32_t entry, uint8_t *out,
                          bool corrupt)
{
	memset(out, 0, N6_HEADER);
	memcpy(out, "STM2", 4);
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += payload[i];
	put32(out + 0x64, sum + (corrupt ? 1 : 0));
	put32(out + 0x68, 0x00020300u); /* bytes 00 03 02 00 */
	put32(out + 0x6C, (uint32_t)len);
	put32(out + 0x70, entry);
	put32(out + 0x78, 0xFFFFFFFFu);
	put32(out + 0x8C, 0x10);
	memcpy(out + N6_HEADER, payload, len);
}

/* Puts BUILD/qemu-firmware/n657-<program>.bin, headed, at the start of the XSPI2 NOR. */
static ft_error n6_program_fsbl(const char *program, bool corrupt)
{
	char bin[2 * PATH_MAX];
	firmware_path(&n657, program, "bin", bin, sizeof(bin));
	uint8_t *payload = NULL, *image = NULL;
	size_t len = 0;
	ft_error err = emu_harness_read_file(bin, &payload, &len, &diag);
	if (err == FT_OK && (!payload || len < 8))
		err = ft_diag_set(&diag, FT_ERR_FORMAT, bin, "no vector table");
	if (err == FT_OK && !(image = malloc(N6_HEADER + len)))
		err = FT_ERR_NO_MEM;
	if (err == FT_OK && payload) {
		uint32_t entry = (uint32_t)payload[4] | (uint32_t)payload[5] << 8 |
		                 (uint32_t)payload[6] << 16 | (uint32_t)payload[7] << 24;
		n6_fsbl_image(payload, len, entry, image, corrupt);
		err = nor_program(0, image, N6_HEADER + len);
	}
	free(payload);
	free(image);
	return err;
}

/* Programs the machine's image of program (the H7 flash through qtest, the N6 NOR as an FSBL),
 * boots it and reads its serial output into g_out until it exits; returns its exit status, or
 * -1 (the reason on stderr). */
static int run_firmware(const machine *m, const char *program)
{
	char elf[2 * PATH_MAX];
	firmware_path(m, program, "elf", elf, sizeof(elf));
	ft_error err;
	if (m->word) {
		err = program_image(m, elf);
	} else {
		if (!g_board[0])
			use_board(m, m->nor_board);
		err = n6_program_fsbl(program, false);
	}
	report(err);
	if (err != FT_OK)
		return -1;
	ft_qemu_config cfg = {.machine = m->name,
	                      .state_dir = g_state,
	                      .boot0 = 0,
	                      .board_path = g_board[0] ? g_board : NULL,
	                      .semihosting = true,
	                      .mode = FT_QEMU_RUN};
	int status = -1;
	err = emu_harness_run_qemu(&cfg, RUN_TIMEOUT, g_out, sizeof(g_out), &status, &diag);
	report(err);
	return err == FT_OK ? status : -1;
}

static void assert_line(const char *line)
{
	emu_harness_assert_serial(g_out, line);
}

static void check_hello(const machine *m, const char *idcode, const char *size_kb)
{
	FT_ASSERT_HEX(run_firmware(m, "hello"), 0);
	char banner[64];
	snprintf(banner, sizeof(banner), "hello from STM32%.4s\n", m->part + 5);
	assert_line(banner);
	assert_line(idcode);
	if (size_kb)
		assert_line(size_kb);
	assert_line("systick ok\n");
}

/* IDCODE = REV_ID << 16 | DEV_ID (devices.md §1.1) for the default boards' revisions; flash-size
 * register in KB. */
static void test_h743_hal_startup_reaches_main_and_prints_ids(void)
{
	check_hello(&h743, "idcode 0x20030450\n", "flash-size-kb 0x00000800\n");
}

static void test_h723_hal_startup_reaches_main_and_prints_ids(void)
{
	check_hello(&h723, "idcode 0x10010483\n", "flash-size-kb 0x00000400\n");
}

static void test_h7a3_smps_startup_reaches_main_and_prints_ids(void)
{
	check_hello(&h7a3, "idcode 0x10000480\n", "flash-size-kb 0x00000800\n");
}

/* The N6 boot ROM copies the FSBL from XSPI2 into AXISRAM2 and starts it (flash boot). */
static void test_n657_boot_rom_starts_the_fsbl_which_reaches_main(void)
{
	check_hello(&n657, "idcode 0x10000486\n", NULL);
}

/* The default board's UID is derived from its name (ft_board_runtime_derive_uid). */
static void test_uid_registers_show_the_board_uid(void)
{
	FT_ASSERT_HEX(run_firmware(&h743, "hello"), 0);
	uint32_t uid[3];
	ft_board_runtime_derive_uid("nucleo-h743zi2", uid);
	for (int i = 0; i < 3; i++) {
		char line[40];
		snprintf(line, sizeof(line), "uid%d 0x%08x\n", i, uid[i]);
		assert_line(line);
	}
}

static void check_self_program(const machine *m, const char *ecc_line)
{
	FT_ASSERT_HEX(run_firmware(m, "flash_selftest"), 0);
	assert_line("erase ok\n");
	assert_line("program ok\n");
	assert_line(ecc_line);
	assert_line("flash self-test done\n");
}

/* ECC_FA holds the flash-word index in the bank: word 0 of bank 2, or sector 7's first word
 * (0xE0000 / 32 = 0x7000) on the single-bank H723. */
static void test_h743_self_program_takes_a_bus_fault_on_ecc_double_error(void)
{
	check_self_program(&h743, "reprogram: bus fault, DBECCERR, ECC_FA 0x00000000\n");
}

static void test_h723_self_program_takes_a_bus_fault_on_ecc_double_error(void)
{
	check_self_program(&h723, "reprogram: bus fault, DBECCERR, ECC_FA 0x00007000\n");
}

static void test_h7a3_self_program_takes_a_bus_fault_on_ecc_double_error(void)
{
	check_self_program(&h7a3, "reprogram: bus fault, DBECCERR, ECC_FA 0x00000000\n");
}

/* After QEMU exits, the board state holds what the firmware programmed: the second flash word of
 * bank 2 (0xA5A5A5A5 + i * 0x01010101) and the first one in a double-error state. */
static void test_self_programmed_words_persist_in_the_state_directory(void)
{
	FT_ASSERT_HEX(run_firmware(&h743, "flash_selftest"), 0);
	char board[PATH_MAX];
	snprintf(board, sizeof(board), "%s/nucleo-h743zi2.board", g_dir);
	FILE *f = fopen(board, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("part = STM32H743ZIT6\nrevision = V\n", f);
	fclose(f);
	ft_board_runtime_config cfg = {
	    .board_path = board, .state_dir = g_state, .clock_mode = FT_CLOCK_INSTANT};
	ft_board_runtime *rt = NULL;
	ft_error err = ft_board_runtime_open(&cfg, &rt, &diag);
	report(err);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	uint32_t words[8];
	FT_ASSERT_HEX(ft_flash_h7_peek(ft_board_runtime_flash(rt), BANK2_BASE + 32, words, 32),
	              FT_OK);
	for (unsigned i = 0; i < 8; i++)
		FT_ASSERT_HEX(words[i], 0xA5A5A5A5u + i * 0x01010101u);
	ft_flash_h7_word_state state;
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(ft_board_runtime_flash(rt), BANK2_BASE, &state),
	              FT_OK);
	FT_ASSERT_HEX(state, FT_FLASH_H7_WORD_DOUBLE_ERROR);
	ft_board_runtime_close(rt, NULL);
}

/* What the NOR readers find: data programmed at the start of the flash, and the flash's ID. */
static void check_nor_read(const machine *m, const char *id)
{
	static const uint8_t data[8] = {0x46, 0x54, 0x57, 0x49, 0x4E, 0x20, 0x4E, 0x4F};
	use_board(m, m->nor_board);
	ft_error err = nor_program(0, data, sizeof(data));
	report(err);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	FT_ASSERT_HEX(run_firmware(m, "nor_read"), 0);
	assert_line(id);
	assert_line("window+0 0x49575446\n");
	assert_line("window+4 0x4f4e204e\n");
}

static void test_h743_firmware_reads_the_quadspi_nor(void)
{
	check_nor_read(&h743, "nor id 0x00ef4019\n");
}

static void test_h723_firmware_reads_the_octospi1_nor(void)
{
	check_nor_read(&h723, "nor id 0x00ef4019\n");
}

static void test_h7a3_firmware_reads_the_octospi2_nor(void)
{
	check_nor_read(&h7a3, "nor id 0x00c2803a\n");
}

/* On the N6 the FSBL itself sits at the start of XSPI2: the window begins with its header. */
static void test_n657_fsbl_reads_its_own_header_through_xspi2(void)
{
	FT_ASSERT_HEX(run_firmware(&n657, "nor_read"), 0);
	assert_line("nor id 0x00c2803a\n");
	assert_line("window+0 0x324d5453\n"); /* "STM2" */
}

/* The ROM's copy in AXISRAM2 (0x34180000), seen over qtest after reset: header and image in flash
 * boot; nothing in development boot (BOOT1 high) or for an image whose checksum is wrong. */
static uint32_t n6_boot_and_peek(bool dev_boot, bool corrupt)
{
	use_board(&n657, n657.nor_board);
	ft_error err = n6_program_fsbl("hello", corrupt);
	report(err);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	ft_qemu_config cfg = {.machine = n657.name,
	                      .state_dir = g_state,
	                      .board_path = g_board,
	                      .boot0 = 0,
	                      .dev_boot = dev_boot,
	                      .mode = FT_QEMU_QTEST};
	ft_qemu *q = NULL;
	uint32_t v = 0xDEADBEEFu;
	err = ft_qemu_start(&cfg, &q, &diag);
	if (err == FT_OK)
		err = ft_qemu_readl(q, 0x34180000u, &v, &diag);
	report(err);
	ft_qemu_free(q);
	CU_ASSERT_EQUAL(err, FT_OK);
	return v;
}

static void test_n657_flash_boot_copies_the_headed_fsbl_to_axisram2(void)
{
	FT_ASSERT_HEX(n6_boot_and_peek(false, false), 0x324D5453u);
}

static void test_n657_development_boot_copies_nothing(void)
{
	FT_ASSERT_HEX(n6_boot_and_peek(true, false), 0);
}

static void test_n657_boot_rom_refuses_a_wrong_checksum(void)
{
	FT_ASSERT_HEX(n6_boot_and_peek(false, true), 0);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_h743_hal_startup_reaches_main_and_prints_ids",
	     test_h743_hal_startup_reaches_main_and_prints_ids},
	    {"test_h723_hal_startup_reaches_main_and_prints_ids",
	     test_h723_hal_startup_reaches_main_and_prints_ids},
	    {"test_h7a3_smps_startup_reaches_main_and_prints_ids",
	     test_h7a3_smps_startup_reaches_main_and_prints_ids},
	    {"test_uid_registers_show_the_board_uid", test_uid_registers_show_the_board_uid},
	    {"test_h743_self_program_takes_a_bus_fault_on_ecc_double_error",
	     test_h743_self_program_takes_a_bus_fault_on_ecc_double_error},
	    {"test_h723_self_program_takes_a_bus_fault_on_ecc_double_error",
	     test_h723_self_program_takes_a_bus_fault_on_ecc_double_error},
	    {"test_h7a3_self_program_takes_a_bus_fault_on_ecc_double_error",
	     test_h7a3_self_program_takes_a_bus_fault_on_ecc_double_error},
	    {"test_self_programmed_words_persist_in_the_state_directory",
	     test_self_programmed_words_persist_in_the_state_directory},
	    {"test_n657_boot_rom_starts_the_fsbl_which_reaches_main",
	     test_n657_boot_rom_starts_the_fsbl_which_reaches_main},
	    {"test_h743_firmware_reads_the_quadspi_nor", test_h743_firmware_reads_the_quadspi_nor},
	    {"test_h723_firmware_reads_the_octospi1_nor",
	     test_h723_firmware_reads_the_octospi1_nor},
	    {"test_h7a3_firmware_reads_the_octospi2_nor",
	     test_h7a3_firmware_reads_the_octospi2_nor},
	    {"test_n657_fsbl_reads_its_own_header_through_xspi2",
	     test_n657_fsbl_reads_its_own_header_through_xspi2},
	    {"test_n657_flash_boot_copies_the_headed_fsbl_to_axisram2",
	     test_n657_flash_boot_copies_the_headed_fsbl_to_axisram2},
	    {"test_n657_development_boot_copies_nothing",
	     test_n657_development_boot_copies_nothing},
	    {"test_n657_boot_rom_refuses_a_wrong_checksum",
	     test_n657_boot_rom_refuses_a_wrong_checksum},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_firmware", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
