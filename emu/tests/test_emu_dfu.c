/* The flashtwin-emu program, run as users run it: started with --listen 127.0.0.1:0 and a fresh
 * state directory, its ready line parsed, then driven through the programmer's USB/IP client and
 * DfuSe engine. Covers enumeration, erase/write/read-back, state kept across a SIGTERM restart,
 * a second instance on the same state, SIGINT, leaving DFU (exit and --on-leave dfu), the
 * refusals of bad boards, and a --pcap capture that tshark decodes.
 *
 * The binary is build/<tree>/flashtwin-emu beside this program's tests/ directory. Every wait
 * is bounded; every socket is on 127.0.0.1. */
#include "models/parts.h"
#include "models/tests/ft_test.h"
#include "programmer/dfuse/engine.h"
#include "programmer/transport/usbip_client.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOARD         "nucleo-h743zi2"
#define FLASH_BASE    0x08000000u /* RM0433 §2.3.2 */
#define SECTOR1       0x08020000u /* 128 KB sectors, RM0433 §4.3.4 */
#define ST_VID        0x0483u     /* AN2606 DFU: 0483:df11 */
#define ST_DFU_PID    0xdf11u
#define START_WAIT_MS 30000 /* ASan start-up and a new 2 MB state */
#define EXIT_WAIT_MS  30000
#define IO_TIMEOUT_MS 10000

typedef struct emu_proc {
	pid_t pid;
	int out; /* read end of its stdout */
	char ready[512];
	char host[64];
	unsigned port;
	char state[PATH_MAX];
} emu_proc;

static char g_tmp[64];
static char g_state[128];
static char g_stderr[128];
static char g_emu[PATH_MAX];

static void setup(void)
{
	g_state[0] = '\0';
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/ft-emu-XXXXXX");
	if (!mkdtemp(g_tmp))
		return;
	snprintf(g_state, sizeof(g_state), "%s/state", g_tmp);
	snprintf(g_stderr, sizeof(g_stderr), "%s/stderr", g_tmp);
	char self[PATH_MAX - 32]; /* room for "/flashtwin-emu" in g_emu */
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	/* build/san/tests/emu_test_emu_dfu -> build/san/flashtwin-emu */
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(g_emu, sizeof(g_emu), "%s/flashtwin-emu", self);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void teardown(void)
{
	if (g_state[0])
		nftw(g_tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* What the emulator wrote on stderr (static buffer), for failure messages and assertions. */
static const char *emu_stderr(void)
{
	static char text[8192];
	text[0] = '\0';
	FILE *f = fopen(g_stderr, "r");
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

/* Reads one line of the emulator's stdout into buf within timeout_ms; false on EOF or timeout. */
static bool read_line(emu_proc *p, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (len + 1 < cap) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		struct pollfd pfd = {.fd = p->out, .events = POLLIN};
		if (poll(&pfd, 1, (int)(timeout_ms - spent)) <= 0)
			continue;
		char c;
		ssize_t n = read(p->out, &c, 1);
		if (n <= 0)
			break;
		if (c == '\n') {
			buf[len] = '\0';
			return true;
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	return false;
}

/* Starts flashtwin-emu with --state g_state --listen 127.0.0.1:0 --timing instant and the given
 * extra arguments (NULL-terminated list). Returns false when it could not be started. */
static bool spawn(emu_proc *p, const char *board, const char *const *extra)
{
	memset(p, 0, sizeof(*p));
	p->out = -1;
	const char *argv[24] = {g_emu,      "--board",     board,      "--state", g_state,
	                        "--listen", "127.0.0.1:0", "--timing", "instant"};
	size_t argc = 9;
	for (size_t i = 0; extra && extra[i] && argc + 1 < sizeof(argv) / sizeof(argv[0]); i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	int fds[2];
	if (pipe(fds) != 0)
		return false;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		int err = open(g_stderr, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fds[1], STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(g_emu, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	p->out = fds[0];
	return true;
}

/* Waits for the process to exit; returns its exit status, or -1 after timeout_ms (it is then
 * killed) or when it died of a signal. */
static int wait_exit(emu_proc *p, int timeout_ms)
{
	int status = 0;
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			if (p->out >= 0)
				close(p->out);
			p->out = -1;
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	p->pid = 0;
	return -1;
}

/* Starts the emulator and parses its ready line. On failure records why and returns false (the
 * process, if any, is reaped). */
static bool start(emu_proc *p, const char *board, const char *const *extra)
{
	if (!spawn(p, board, extra)) {
		CU_FAIL("cannot start flashtwin-emu");
		return false;
	}
	char board_name[64], url_host[64], busid[16];
	if (read_line(p, p->ready, sizeof(p->ready), START_WAIT_MS) &&
	    sscanf(
	        p->ready,
	        "flashtwin-emu: %63s (%*[^)]) ready at usbip://%63[^:]:%u/%15s (state %4095[^)])",
	        board_name, url_host, &p->port, busid, p->state) == 5) {
		snprintf(p->host, sizeof(p->host), "%s", url_host);
		return true;
	}
	fprintf(stderr, "\nno ready line (got '%s'); stderr:\n%s\n", p->ready, emu_stderr());
	CU_FAIL("flashtwin-emu did not print its ready line");
	wait_exit(p, 1000);
	return false;
}

static int stop(emu_proc *p, int signo)
{
	kill(p->pid, signo);
	return wait_exit(p, EXIT_WAIT_MS);
}

/* No real time passes between polls: the emulator runs with --timing instant. */
static void no_sleep(void *user, uint32_t ms)
{
	(void)user, (void)ms;
}

typedef struct session {
	ft_transport *t;
	ft_dfuse_dev *dev;
} session;

static bool connect_dfu(const emu_proc *p, session *s, ft_diag *diag)
{
	s->t = NULL;
	s->dev = NULL;
	ft_usbip_client *client = NULL;
	if (ft_usbip_import(p->host, (uint16_t)p->port, "1-1", IO_TIMEOUT_MS, &client, diag) !=
	    FT_OK)
		return false;
	s->t = ft_usbip_transport(client);
	if (!s->t)
		return false;
	ft_dfuse_options opts = {.sleep_ms = no_sleep, .control_timeout_ms = IO_TIMEOUT_MS};
	if (ft_dfuse_open(s->t, &opts, &s->dev, diag) != FT_OK) {
		ft_transport_close(s->t);
		s->t = NULL;
		return false;
	}
	return true;
}

static void disconnect(session *s)
{
	ft_dfuse_close(s->dev);
	ft_transport_close(s->t);
	s->dev = NULL;
	s->t = NULL;
}

#define ASSERT_OK(call)                                                                            \
	do {                                                                                       \
		ft_error err_ = (call);                                                            \
		if (err_ != FT_OK)                                                                 \
			fprintf(stderr, "\n%s: %s: %s\n", #call, diag.origin, diag.message);       \
		FT_ASSERT_HEX(err_, FT_OK);                                                        \
	} while (0)

static void pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 7 + seed + (i >> 8)) & 0xFF);
}

/* ---- tests ---- */

static void test_ready_line_gives_board_part_url_and_state(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ready, "flashtwin-emu: nucleo-h743zi2 (STM32H743xI rev V) "
	                                       "ready at usbip://127.0.0.1:"));
	CU_ASSERT_STRING_EQUAL(p.host, "127.0.0.1");
	CU_ASSERT(p.port > 0 && p.port < 65536);
	char real[PATH_MAX];
	CU_ASSERT_PTR_NOT_NULL(realpath(g_state, real));
	CU_ASSERT_STRING_EQUAL(p.state, real);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_enumeration_shows_the_part_tables_alternate_settings(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev) {
		const ft_dfuse_device_info *info = ft_dfuse_info(s.dev);
		const ft_bootloader_info *rom = ft_part_find("STM32H743ZI")->bootloader;
		FT_ASSERT_HEX(info->vid, ST_VID);
		FT_ASSERT_HEX(info->pid, ST_DFU_PID);
		FT_ASSERT_HEX(info->alt_count, rom->alt_count);
		for (size_t i = 0; i < info->alt_count && i < rom->alt_count; i++)
			CU_ASSERT_STRING_EQUAL(info->alts[i].name, rom->alt_names[i]);
		CU_ASSERT_STRING_EQUAL(info->product, rom->product);
	} else {
		fprintf(stderr, "\n%s: %s\n", diag.origin, diag.message);
	}
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_erase_write_64k_reads_back_identical(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev) {
		static uint8_t data[64 * 1024], back[64 * 1024];
		pattern(data, sizeof(data), 1);
		ASSERT_OK(ft_dfuse_erase_range(s.dev, FLASH_BASE, sizeof(data), &diag));
		ASSERT_OK(ft_dfuse_write(s.dev, FLASH_BASE, data, sizeof(data), &diag));
		ASSERT_OK(ft_dfuse_read(s.dev, FLASH_BASE, back, sizeof(back), &diag));
		FT_ASSERT_BYTES(back, data, sizeof(data));
	}
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_flash_survives_sigterm_and_restart(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	static uint8_t data[8192], back[8192];
	pattern(data, sizeof(data), 99);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev) {
		ASSERT_OK(ft_dfuse_erase_range(s.dev, SECTOR1, sizeof(data), &diag));
		ASSERT_OK(ft_dfuse_write(s.dev, SECTOR1, data, sizeof(data), &diag));
	}
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);

	if (!start(&p, BOARD, NULL))
		return;
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "saved state"));
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev) {
		ASSERT_OK(ft_dfuse_read(s.dev, SECTOR1, back, sizeof(back), &diag));
		FT_ASSERT_BYTES(back, data, sizeof(data));
	}
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_second_instance_on_the_same_state_is_refused(void)
{
	emu_proc first, second;
	if (!start(&first, BOARD, NULL))
		return;
	CU_ASSERT_TRUE_FATAL(spawn(&second, BOARD, NULL));
	char line[256];
	CU_ASSERT_FALSE(read_line(&second, line, sizeof(line), START_WAIT_MS));
	FT_ASSERT_HEX(wait_exit(&second, EXIT_WAIT_MS), 1);
	const char *err = emu_stderr();
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use by process"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, g_state));
	FT_ASSERT_HEX(stop(&first, SIGTERM), 0);
}

static void test_port_in_use_exits_one(void)
{
	emu_proc first, second;
	if (!start(&first, BOARD, NULL))
		return;
	char listen[64], other_state[192];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", first.port);
	snprintf(other_state, sizeof(other_state), "%s/other", g_tmp);
	/* later options win: another state directory, the first instance's port */
	const char *const extra[] = {"--state", other_state, "--listen", listen, NULL};
	CU_ASSERT_TRUE_FATAL(spawn(&second, BOARD, extra));
	FT_ASSERT_HEX(wait_exit(&second, EXIT_WAIT_MS), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "USB/IP server"));
	FT_ASSERT_HEX(stop(&first, SIGTERM), 0);
}

static void test_sigint_stops_with_status_zero(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	FT_ASSERT_HEX(stop(&p, SIGINT), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "SIGINT: stopping"));
}

static void test_leaving_dfu_reports_the_jump_and_exits_zero(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev)
		ASSERT_OK(ft_dfuse_leave(s.dev, FLASH_BASE, &diag));
	char line[256];
	CU_ASSERT_TRUE(read_line(&p, line, sizeof(line), EXIT_WAIT_MS));
	CU_ASSERT_STRING_EQUAL(line, "flashtwin-emu: nucleo-h743zi2 left DFU (jump), would run the "
	                             "code at 0x08000000");
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 0);
	disconnect(&s);
}

static void test_on_leave_dfu_serves_dfu_again_on_the_same_port(void)
{
	static const char *const extra[] = {"--on-leave", "dfu", NULL};
	emu_proc p;
	if (!start(&p, BOARD, extra))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev)
		ASSERT_OK(ft_dfuse_leave(s.dev, FLASH_BASE, &diag));
	disconnect(&s);
	/* the device comes back on the same port after its reset: retry a bounded number of times
	 */
	bool back = false;
	for (int attempt = 0; attempt < 100 && !back; attempt++) {
		back = connect_dfu(&p, &s, &diag);
		if (!back)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	CU_ASSERT_TRUE(back);
	disconnect(&s);
	CU_ASSERT_EQUAL(kill(p.pid, 0), 0); /* still running */
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "resetting into DFU again"));
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_unknown_board_lists_the_boards_and_exits_two(void)
{
	emu_proc p;
	CU_ASSERT_TRUE_FATAL(spawn(&p, "nucleo-h999", NULL));
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 2);
	const char *err = emu_stderr();
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown board 'nucleo-h999'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nucleo-h743zi2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "custom-h743-w25q256"));
}

static void test_n6_refuses_boot_dfu_with_status_two(void)
{
	static const char *const extra[] = {"--boot", "dfu", NULL};
	emu_proc p;
	CU_ASSERT_TRUE_FATAL(spawn(&p, "nucleo-n657x0-q", extra));
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "has no USB DFU"));
	struct stat st;
	CU_ASSERT_NOT_EQUAL(stat(g_state, &st), 0); /* no state was created */
}

/* Runs tshark on file with options; returns its stdout (static buffer), empty on failure. */
static const char *tshark(const char *file, const char *options)
{
	static char out[1 << 16];
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "tshark -r '%s' %s 2>/dev/null", file, options);
	out[0] = '\0';
	FILE *f = popen(cmd, "r");
	if (!f)
		return out;
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	int status = pclose(f);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		out[0] = '\0';
	return out;
}

static void test_pcap_capture_decodes_in_tshark(void)
{
	char file[160];
	snprintf(file, sizeof(file), "%s/usb.pcap", g_tmp);
	const char *const extra[] = {"--pcap", file, NULL};
	emu_proc p;
	if (!start(&p, BOARD, extra))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	if (s.dev) {
		uint8_t data[1024], back[1024];
		pattern(data, sizeof(data), 5);
		ASSERT_OK(ft_dfuse_erase_range(s.dev, FLASH_BASE, sizeof(data), &diag));
		ASSERT_OK(ft_dfuse_write(s.dev, FLASH_BASE, data, sizeof(data), &diag));
		ASSERT_OK(ft_dfuse_read(s.dev, FLASH_BASE, back, sizeof(back), &diag));
	}
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);

	const char *usb = tshark(file, "-Y usb.setup.bRequest -T fields -e usb.setup.bRequest");
	CU_ASSERT_NOT_EQUAL(usb[0], '\0');
	CU_ASSERT_PTR_NOT_NULL(strstr(usb, "6\n")); /* GET_DESCRIPTOR */
	const char *dfu = tshark(file, "-d usb.product==0x0483df11,usbdfu -Y usbdfu.command "
	                               "-T fields -e usbdfu.command");
	CU_ASSERT_NOT_EQUAL(dfu[0], '\0');
	/* DFU 1.1 §3: DNLOAD 1, UPLOAD 2, GETSTATUS 3 */
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "3\n"));
}

static CU_TestInfo tests[] = {
    {"ready_line_gives_board_part_url_and_state", test_ready_line_gives_board_part_url_and_state},
    {"enumeration_shows_the_part_tables_alternate_settings",
     test_enumeration_shows_the_part_tables_alternate_settings},
    {"erase_write_64k_reads_back_identical", test_erase_write_64k_reads_back_identical},
    {"flash_survives_sigterm_and_restart", test_flash_survives_sigterm_and_restart},
    {"second_instance_on_the_same_state_is_refused",
     test_second_instance_on_the_same_state_is_refused},
    {"port_in_use_exits_one", test_port_in_use_exits_one},
    {"sigint_stops_with_status_zero", test_sigint_stops_with_status_zero},
    {"leaving_dfu_reports_the_jump_and_exits_zero",
     test_leaving_dfu_reports_the_jump_and_exits_zero},
    {"on_leave_dfu_serves_dfu_again_on_the_same_port",
     test_on_leave_dfu_serves_dfu_again_on_the_same_port},
    {"unknown_board_lists_the_boards_and_exits_two",
     test_unknown_board_lists_the_boards_and_exits_two},
    {"n6_refuses_boot_dfu_with_status_two", test_n6_refuses_boot_dfu_with_status_two},
    {"pcap_capture_decodes_in_tshark", test_pcap_capture_decodes_in_tshark},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	/* a write to an emulator that has just exited must fail, not kill the test */
	signal(SIGPIPE, SIG_IGN);
	CU_SuiteInfo suite = {"emu_dfu", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
