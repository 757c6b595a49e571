/* flashtwin against flashtwin-emu, both as users run them: the emulator started per test on a
 * free port with a fresh state directory and instant timing, its ready line parsed for the
 * usbip:// URL, the firmware fixtures (BUILD/fixtures, `make fixtures`) programmed and read back.
 * Scenarios: a clean H743 image (D01, verify), field report A on the H723 (I01, D14: refused,
 * nothing erased; --skip-volatile programs the flash part) and leaving DFU (D13). */
#include "programmer/tests/cli_harness.h"

#include <poll.h>
#include <signal.h>

#define READY_WAIT_MS 10000

static struct {
	pid_t pid;
	int out; /* the emulator's stdout */
	char url[128];
	char ready[512];
} emu;

/* BUILD/NAME: a program or a fixture of this build tree. */
static void build_path(const char *name, char *buf, size_t len)
{
	char build[PATH_MAX];
	build_dir(build, sizeof(build));
	if (snprintf(buf, len, "%s/%s", build, name) >= (int)len)
		CU_FAIL_FATAL("build path too long");
}

/* Reads the emulator's stdout up to the end of the first line; false on EOF or timeout. */
static bool read_line(int fd, char *line, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, READY_WAIT_MS) != 1 || read(fd, line + n, 1) != 1)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return n > 0;
}

/* Starts flashtwin-emu for board with state in the scratch directory; asserts it gets ready. */
static void start_emu(const char *board)
{
	char program[PATH_MAX], state[PATH_MAX], err_path[PATH_MAX];
	build_path("flashtwin-emu", program, sizeof(program));
	snprintf(state, sizeof(state), "%s/state-%s", fx.dir, board);
	snprintf(err_path, sizeof(err_path), "%s/emu.err", fx.dir);
	int pipe_fd[2];
	CU_ASSERT_FATAL(pipe(pipe_fd) == 0);
	char *argv[] = {program,       "--board",  (char *)board, "--state", state, "--listen",
	                "127.0.0.1:0", "--timing", "instant",     "--boot",  "dfu", "--on-leave", "exit", NULL};
	fflush(NULL);
	emu.pid = fork();
	CU_ASSERT_FATAL(emu.pid >= 0);
	if (emu.pid == 0) {
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (err < 0 || dup2(pipe_fd[1], 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		close(pipe_fd[0]);
		execv(program, argv);
		_exit(127);
	}
	close(pipe_fd[1]);
	emu.out = pipe_fd[0];
	bool ready = read_line(emu.out, emu.ready, sizeof(emu.ready));
	const char *url = strstr(emu.ready, "usbip://");
	if (!ready || !url)
		fprintf(stderr, "\nflashtwin-emu did not get ready: \"%s\"\n", emu.ready);
	CU_ASSERT_FATAL(ready && url);
	size_t n = strcspn(url, " ");
	snprintf(emu.url, sizeof(emu.url), "%.*s", (int)n, url);
}

/* Waits for the emulator to exit (after leaving DFU) or stops it; returns its exit status. */
static int stop_emu(bool wait_for_exit)
{
	if (emu.pid <= 0)
		return -1;
	if (!wait_for_exit)
		kill(emu.pid, SIGTERM);
	int status = 0;
	waitpid(emu.pid, &status, 0);
	emu.pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void emu_setup(void)
{
	setup();
	memset(&emu, 0, sizeof(emu));
	emu.out = -1;
}

static void emu_teardown(void)
{
	stop_emu(false);
	if (emu.out >= 0)
		close(emu.out);
	teardown();
}

static void fixture(const char *name, char *buf, size_t len)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "fixtures/%s", name);
	build_path(rel, buf, len);
	if (access(buf, R_OK) != 0)
		CU_FAIL_FATAL("fixture missing: run make fixtures");
}

/* The device's bytes at addr equal the fixture file's (a raw binary of that address). */
static void assert_holds(uint32_t addr, const char *bin_fixture)
{
	char bin[PATH_MAX], out[PATH_MAX], a[16], l[16];
	fixture(bin_fixture, bin, sizeof(bin));
	char *want = slurp(bin);
	FILE *f = fopen(bin, "rb");
	long size = 0;
	if (f && fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (f)
		fclose(f);
	CU_ASSERT_FATAL(size > 0);
	snprintf(out, sizeof(out), "%s/back.bin", fx.dir);
	snprintf(a, sizeof(a), "0x%08X", addr);
	snprintf(l, sizeof(l), "%ld", size);
	run("read", "--connect", emu.url, "--no-poll-wait", a, l, "-o", out, NULL);
	ASSERT_EXIT(0);
	char *got = slurp(out);
	CU_ASSERT(memcmp(want, got, (size_t)size) == 0);
	free(want);
	free(got);
}

static void test_clean_h743_image_flashes_and_verifies_on_the_emulator(void)
{
	start_emu("nucleo-h743zi2");
	char elf[PATH_MAX];
	fixture("h743-clean.elf", elf, sizeof(elf));
	run("flash", elf, "--connect", emu.url, "--no-poll-wait", "--board", "nucleo-h743zi2",
	    NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "as given; the descriptor agrees");
	ASSERT_CONTAINS(fx.out, "verified  288 B read back, identical");
	assert_holds(0x08000000, "h743-clean.bin");
}

/* I01, D14: the image with LwIP descriptors in RAM_D2 is refused and erases nothing: the
 * different image programmed before it is still in flash. */
static void test_report_a_is_refused_on_the_emulated_h723_and_erases_nothing(void)
{
	start_emu("nucleo-h723zg");
	char clean[PATH_MAX], bad[PATH_MAX];
	fixture("h743-clean.elf", clean, sizeof(clean));
	fixture("h723-eth-d2.elf", bad, sizeof(bad));
	run("flash", clean, "--connect", emu.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	run("flash", bad, "--connect", emu.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "STM32H723xG");
	ASSERT_CONTAINS(fx.out, ".RxDecripSection .TxDecripSection .RxArraySection");
	ASSERT_CONTAINS(fx.out, "nothing will be erased");
	assert_holds(0x08000000, "h743-clean.bin");
}

static void test_report_a_with_skip_volatile_programs_its_flash_part(void)
{
	start_emu("nucleo-h723zg");
	char bad[PATH_MAX];
	fixture("h723-eth-d2.elf", bad, sizeof(bad));
	run("flash", bad, "--connect", emu.url, "--no-poll-wait", "--skip-volatile", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "identical");
	assert_holds(0x08000000, "h723-eth-d2.bin");
}

/* D13: leaving DFU succeeds though the device leaves the bus; the emulator reports the jump. */
static void test_leave_makes_the_emulator_jump_to_the_vector_table(void)
{
	start_emu("nucleo-h743zi2");
	char dfu[PATH_MAX];
	fixture("h743-clean.dfu", dfu, sizeof(dfu));
	run("flash", dfu, "--connect", emu.url, "--no-poll-wait", "--leave", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "left      DFU mode");
	char line[512];
	CU_ASSERT(read_line(emu.out, line, sizeof(line)));
	ASSERT_CONTAINS(line, "left DFU (jump)");
	ASSERT_CONTAINS(line, "0x08000000");
	FT_ASSERT_HEX(stop_emu(true), 0);
}

static CU_TestInfo tests[] = {
    {"clean_h743_image_flashes_and_verifies_on_the_emulator",
     test_clean_h743_image_flashes_and_verifies_on_the_emulator},
    {"report_a_is_refused_on_the_emulated_h723_and_erases_nothing",
     test_report_a_is_refused_on_the_emulated_h723_and_erases_nothing},
    {"report_a_with_skip_volatile_programs_its_flash_part",
     test_report_a_with_skip_volatile_programs_its_flash_part},
    {"leave_makes_the_emulator_jump_to_the_vector_table",
     test_leave_makes_the_emulator_jump_to_the_vector_table},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_emu", NULL, NULL, emu_setup, emu_teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
