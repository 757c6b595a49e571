/* The H7 machines run firmware built with arm-none-eabi-gcc (emu/qemu/firmware): a HAL-style
 * start-up reaches main and prints on the virtual COM port, and a self-programming application
 * erases, programs and reads back its flash, takes a bus fault on an ECC double error, and leaves
 * its writes in the board's state directory.
 *
 * Each test programs its image into a fresh state the way a debugger does (flash controller
 * registers through QEMU's qtest protocol, the machine not running), then boots the machine from
 * that state with BOOT0 low and reads the serial port until the firmware exits. Needs
 * build/qemu/qemu-system-arm (`make qemu`) and the firmware under BUILD/qemu-firmware/. */
#include "emu/board_runtime.h"
#include "emu/qemu_run.h"
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
	unsigned word;     /* flash-word bytes */
} machine;

static const machine h743 = {"nucleo-h743zi2", "h743", "STM32H743ZIT6", 32};
static const machine h723 = {"nucleo-h723zg", "h723", "STM32H723ZGT6", 32};
static const machine h7a3 = {"nucleo-h7a3zi-q", "h7a3", "STM32H7A3ZIT6Q", 16};

static char g_dir[64];
static char g_state[128];
static char g_out[8192];
static ft_diag diag;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void setup(void)
{
	ft_diag_clear(&diag);
	g_out[0] = '\0';
	snprintf(g_dir, sizeof(g_dir), "/tmp/ft-qemu-fw-XXXXXX");
	if (!mkdtemp(g_dir))
		g_dir[0] = '\0';
	snprintf(g_state, sizeof(g_state), "%s/state", g_dir);
}

static void teardown(void)
{
	if (g_dir[0])
		nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* BUILD/qemu-firmware/<image>-<program>.elf for this program BUILD/tests/<prog>. */
static void firmware_path(const machine *m, const char *program, char *path, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	snprintf(path, cap, "%s/qemu-firmware/%s-%s.elf", exe, m->image, program);
}

static void report(ft_error err)
{
	if (err != FT_OK)
		fprintf(stderr, "  %s: %s: %s\n", ft_error_name(err), diag.origin, diag.message);
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

/* Programs BUILD/qemu-firmware/<machine>-<program>.elf, boots it and reads its serial output
 * into g_out until it exits; returns its exit status, or -1 (the reason on stderr). */
static int run_firmware(const machine *m, const char *program)
{
	char elf[2 * PATH_MAX];
	firmware_path(m, program, elf, sizeof(elf));
	ft_error err = program_image(m, elf);
	report(err);
	if (err != FT_OK)
		return -1;
	ft_qemu_config cfg = {.machine = m->name,
	                      .state_dir = g_state,
	                      .boot0 = 0,
	                      .semihosting = true,
	                      .mode = FT_QEMU_RUN};
	ft_qemu *q = NULL;
	int status = -1;
	err = ft_qemu_start(&cfg, &q, &diag);
	if (err == FT_OK)
		err = ft_qemu_read_serial(q, NULL, g_out, sizeof(g_out), NULL, RUN_TIMEOUT, &diag);
	if (err == FT_OK)
		err = ft_qemu_wait(q, RUN_TIMEOUT, &status, &diag);
	report(err);
	if (err != FT_OK || status != 0)
		fprintf(stderr, "  serial:\n%s\n  stderr:\n%s\n", g_out, ft_qemu_stderr(q));
	ft_qemu_free(q);
	return err == FT_OK ? status : -1;
}

static void assert_line(const char *line)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "serial output has \"%s\"", line);
	CU_assertImplementation(strstr(g_out, line) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static void check_hello(const machine *m, const char *idcode, const char *size_kb)
{
	FT_ASSERT_HEX(run_firmware(m, "hello"), 0);
	char banner[64];
	snprintf(banner, sizeof(banner), "hello from STM32%.4s\n", m->part + 5);
	assert_line(banner);
	assert_line(idcode);
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
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_firmware", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
