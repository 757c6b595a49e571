/* The flashtwin-emu program, run as users run it: started with --listen 127.0.0.1:0 and a fresh
 * state directory, its ready line parsed, then driven through the programmer's USB/IP client and
 * DfuSe engine. Covers enumeration, erase/write/read-back, state kept across a SIGTERM restart,
 * a second instance on the same state, SIGINT, leaving DFU (exit, --on-leave dfu, and
 * --on-leave boot into the QEMU machine), --boot flash and --gdb, the
 * refusals of bad boards, a --pcap capture that tshark decodes, and the Debian tools as peers:
 * `usbip list -r` lists the emulated device, tshark shows the DFU requests of a whole
 * `flashtwin flash` as the plan has them.
 *
 * The binary is build/<tree>/flashtwin-emu beside this program's tests/ directory. Every wait
 * is bounded; every socket is on 127.0.0.1. */
#include "conformance/proc.h"
#include "emu/tests/emu_harness.h"
#include "models/parts.h"
#include "models/tests/ft_test.h"
#include "programmer/dfuse/engine.h"
#include "programmer/transport/usbip_client.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
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
#define TOOL_WAIT_MS  60000             /* a whole flash of a small image under ASan */
#define USBIP_TOOL    "/usr/sbin/usbip" /* Debian package usbip (ci/packages.txt) */

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
static char g_build[PATH_MAX - 32]; /* the build tree: flashtwin-emu, flashtwin, fixtures/ */

static void setup(void)
{
	g_state[0] = '\0';
	/* build/san/tests/emu_test_emu_dfu -> build/san/flashtwin-emu */
	emu_harness_setup("emu", g_tmp, sizeof(g_tmp), g_build, sizeof(g_build));
	if (!g_tmp[0])
		return;
	snprintf(g_state, sizeof(g_state), "%s/state", g_tmp);
	snprintf(g_stderr, sizeof(g_stderr), "%s/stderr", g_tmp);
	snprintf(g_emu, sizeof(g_emu), "%s/flashtwin-emu", g_build);
}

static void teardown(void)
{
	if (g_state[0])
		emu_harness_cleanup(g_tmp);
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
	const char *argv[24] = {g_emu,     "--board",    board,         "--state",
	                        g_state,   "--listen",   "127.0.0.1:0", "--timing",
	                        "instant", "--on-leave", "exit"};
	size_t argc = 11;
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

static void test_usb_pacing_takes_full_speed_or_off(void)
{
	static const char *const paced[] = {"--usb-pacing", "full-speed", NULL};
	emu_proc p;
	if (!start(&p, BOARD, paced))
		return;
	ft_diag diag;
	ft_diag_clear(&diag);
	session s;
	CU_ASSERT_TRUE(connect_dfu(&p, &s, &diag));
	disconnect(&s);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);

	static const char *const bad[] = {"--usb-pacing", "high-speed", NULL};
	CU_ASSERT_TRUE_FATAL(spawn(&p, BOARD, bad));
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "--usb-pacing: unknown value 'high-speed'"));
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

static void test_usbip_tool_lists_the_emulated_dfu_device(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	char port[8];
	snprintf(port, sizeof(port), "%u", p.port);
	const char *const argv[] = {USBIP_TOOL, "--tcp-port", port, "list",
	                            "-r",       "127.0.0.1",  NULL};
	ft_proc_result res;
	ft_diag diag;
	ft_error err = ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag);
	if (err != FT_OK)
		fprintf(stderr, "\n%s: %s (Debian package usbip, ci/packages.txt)\n", diag.origin,
		        diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	if (err == FT_OK) {
		printf("\n%s", res.out);
		FT_ASSERT_HEX(res.exit_status, 0);
		/* usbip_list.c: "<busid>: <vendor> : <product> (<vid>:<pid>)", the path, the device
		 * class, then one line per interface "<n> - <class> (<cl>/<subcl>/<proto>)". */
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "1-1: "));
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "(0483:df11)")); /* AN2606 DFU */
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "/sys/devices/flashtwin/usb1/1-1"));
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "(00/00/00)")); /* class per interface */
		/* DFU 1.1 §4.2.3: class 0xFE, subclass 0x01, protocol 0x02 (DFU mode) */
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, " 0 - "));
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "(fe/01/02)"));
		CU_ASSERT_PTR_NULL(strstr(res.out, " 1 - "));
	}
	ft_proc_result_free(&res);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "listed 1-1"));
}

/* The DFU requests of a capture, counted from tshark's decoding. */
typedef struct dfu_requests {
	unsigned dnload_data;     /* DNLOAD with wBlockNum >= 2 */
	unsigned long data_bytes; /* their wLength */
	unsigned upload;
	unsigned long upload_bytes; /* UPLOAD wLength */
	unsigned getstatus;
	unsigned erase; /* DfuSe commands: DNLOAD block 0, 0x41 + LE32 address (AN3156 §6) */
	uint32_t erase_addr[8];
	unsigned set_address; /* 0x21 + LE32 address */
	uint32_t first_set_address;
	unsigned other_commands;
} dfu_requests;

static uint32_t le32_hex(const char *hex)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned byte = 0;
		sscanf(hex + 2 * i, "%2x", &byte);
		v = v << 8 | byte;
	}
	return v;
}

/* Splits one "command\tblock\tlength\tdata" line (empty fields kept) into its fields. */
static void split_fields(const char *line, size_t len, char fields[4][16])
{
	memset(fields, 0, 4 * sizeof(fields[0]));
	for (size_t f = 0, i = 0; i < len && f < 4; i++) {
		size_t used = strlen(fields[f]);
		if (line[i] == '\t')
			f++;
		else if (used + 1 < sizeof(fields[0]))
			fields[f][used] = line[i];
	}
}

/* Counts the requests of tshark's field lines (DFU 1.1 §3: DNLOAD 1, UPLOAD 2, GETSTATUS 3). */
static void count_requests(const char *text, dfu_requests *r)
{
	memset(r, 0, sizeof(*r));
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		char f[4][16];
		split_fields(line, len, f);
		unsigned command = (unsigned)strtoul(f[0], NULL, 10);
		unsigned block = (unsigned)strtoul(f[1], NULL, 10);
		unsigned length = (unsigned)strtoul(f[2], NULL, 10);
		bool dfuse = command == 1 && block == 0 && strlen(f[3]) == 10;
		if (command == 1 && block >= 2) {
			r->dnload_data++;
			r->data_bytes += length;
		} else if (dfuse && strncmp(f[3], "41", 2) == 0) {
			if (r->erase < 8)
				r->erase_addr[r->erase] = le32_hex(f[3] + 2);
			r->erase++;
		} else if (dfuse && strncmp(f[3], "21", 2) == 0) {
			if (r->set_address++ == 0)
				r->first_set_address = le32_hex(f[3] + 2);
		} else if (command == 1) {
			r->other_commands++;
		} else if (command == 2) {
			r->upload++;
			r->upload_bytes += length;
		} else if (command == 3) {
			r->getstatus++;
		}
		line += len + (line[len] == '\n');
	}
}

static uint32_t json_hex(json_t *obj, const char *key)
{
	const char *text = json_string_value(json_object_get(obj, key));
	return text ? (uint32_t)strtoul(text, NULL, 16) : 0xFFFFFFFFu;
}

static void test_tshark_shows_the_dfu_requests_of_a_whole_flash(void)
{
	char file[160], elf[PATH_MAX], flashtwin[PATH_MAX];
	snprintf(file, sizeof(file), "%s/flash.pcap", g_tmp);
	snprintf(elf, sizeof(elf), "%s/fixtures/h743-clean.elf", g_build);
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	const char *const extra[] = {"--pcap", file, NULL};
	emu_proc p;
	if (!start(&p, BOARD, extra))
		return;
	char url[128];
	snprintf(url, sizeof(url), "usbip://%s:%u", p.host, p.port);
	const char *const argv[] = {flashtwin, "flash",   elf,   "--connect",
	                            url,       "--board", BOARD, "--no-poll-wait",
	                            "--json",  NULL};
	ft_proc_result res;
	ft_diag diag;
	FT_ASSERT_HEX(ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag), FT_OK);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
	if (res.exit_status != 0)
		fprintf(stderr, "\nflashtwin flash: exit %d\n%s\n", res.exit_status,
		        res.err ? res.err : diag.message);
	FT_ASSERT_HEX(res.exit_status, 0);
	/* flash --json: the last line is the result event, the whole report */
	size_t len;
	const char *last = ft_proc_last_line(res.out, &len);
	json_t *plan = json_loadb(last, len, 0, NULL);
	ft_proc_result_free(&res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
	json_t *work = json_object_get(plan, "work");
	json_t *erase = json_object_get(work, "erase");
	json_t *write = json_object_get(work, "write");
	json_t *result = json_object_get(plan, "result");
	size_t sectors = json_array_size(erase);
	FT_ASSERT_HEX(sectors, 1); /* h743-clean: 280 bytes in sector 0 */
	FT_ASSERT_HEX(json_integer_value(json_object_get(result, "sectors")), sectors);

	const char *fields = tshark(file, "-d usb.product==0x0483df11,usbdfu -Y usbdfu.command "
	                                  "-T fields -e usbdfu.command -e usbdfu.block_number "
	                                  "-e usbdfu.length -e usb.data_fragment");
	CU_ASSERT_NOT_EQUAL(fields[0], '\0');
	dfu_requests r;
	count_requests(fields, &r);
	/* one DfuSe erase per planned sector, at the sector's address */
	FT_ASSERT_HEX(r.erase, sectors);
	for (size_t i = 0; i < sectors && i < 8; i++)
		FT_ASSERT_HEX(r.erase_addr[i], json_hex(json_array_get(erase, i), "start"));
	/* the data blocks carry the plan's writes; each was set up by a set-address */
	json_int_t written = json_integer_value(json_object_get(result, "written_bytes"));
	FT_ASSERT_HEX(r.data_bytes, written);
	CU_ASSERT(r.dnload_data >= json_array_size(write));
	CU_ASSERT(r.set_address >= json_array_size(write));
	FT_ASSERT_HEX(r.first_set_address, json_hex(json_array_get(write, 0), "start"));
	/* verify: the written bytes read back */
	CU_ASSERT(r.upload >= 1);
	CU_ASSERT(r.upload_bytes >=
	          (unsigned long)json_integer_value(json_object_get(result, "verified_bytes")));
	/* every DNLOAD is followed by GETSTATUS polls until it is done */
	CU_ASSERT(r.getstatus >= r.dnload_data + r.erase + r.set_address);
	FT_ASSERT_HEX(r.other_commands, 0);
	json_decref(plan);

	const char *summary = tshark(file, "-d usb.product==0x0483df11,usbdfu -Y usbdfu");
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "Download Block Number=0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "Download Block Number=2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "Get Status"));
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "Upload Block Number=2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "State: dfuDownloadBusy"));
}

/* Full-speed bus time in us of a control transfer with len data bytes (performance.md §2.2): 32
 * bytes of setup and status stages, each data packet (64 bytes at most) 13 bytes more than its
 * data, 1463 bus bytes per 1 ms frame (19 packets of 64 + 13 bytes). */
static double fs_control_us(unsigned len)
{
	return (32.0 + len + 13.0 * ((len + 63) / 64)) * 1000.0 / 1463.0;
}

static void test_real_timing_paces_the_transfers_at_full_speed(void)
{
	char file[160], elf[PATH_MAX], flashtwin[PATH_MAX];
	snprintf(file, sizeof(file), "%s/real.pcap", g_tmp);
	snprintf(elf, sizeof(elf), "%s/fixtures/h743-clean.elf", g_build);
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	/* later options win: real timing, whose default is full-speed pacing */
	const char *const extra[] = {"--timing", "real", "--pcap", file, NULL};
	emu_proc p;
	if (!start(&p, BOARD, extra))
		return;
	char url[128];
	snprintf(url, sizeof(url), "usbip://%s:%u", p.host, p.port);
	const char *const argv[] = {flashtwin, "flash",   elf,   "--connect",
	                            url,       "--board", BOARD, NULL};
	ft_proc_result res;
	ft_diag diag;
	FT_ASSERT_HEX(ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag), FT_OK);
	FT_ASSERT_HEX(res.exit_status, 0);
	ft_proc_result_free(&res);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);

	/* submit and completion of each DFU request, paired by URB id */
	const char *fields = tshark(file, "-d usb.product==0x0483df11,usbdfu -Y usbdfu -T fields "
	                                  "-e frame.time_relative -e usb.urb_type -e usb.urb_id "
	                                  "-e usbdfu.command -e usbdfu.block_number "
	                                  "-e usbdfu.length");
	double submitted = 0, min_data = 1e9, min_status = 1e9;
	unsigned command = 0, length = 0, data_blocks = 0, statuses = 0;
	char id[32] = "";
	for (const char *line = fields; *line;) {
		double t = 0;
		char type[8] = "", urb[32] = "";
		unsigned cmd = 0, block = 0, len = 0;
		int n =
		    sscanf(line, "%lf\t%7s\t%31s\t%u\t%u\t%u", &t, type, urb, &cmd, &block, &len);
		if (n >= 3 && strcmp(type, "'S'") == 0) {
			submitted = t;
			snprintf(id, sizeof(id), "%s", urb);
			command = n >= 4 ? cmd : 0;
			length = n >= 6 && cmd == 1 && block >= 2 ? len : 0;
		} else if (n >= 3 && strcmp(type, "'C'") == 0 && strcmp(urb, id) == 0) {
			double us = (t - submitted) * 1e6;
			if (length && us - fs_control_us(length) < min_data)
				min_data = us - fs_control_us(length);
			data_blocks += length != 0;
			if (command == 3 && us < min_status)
				min_status = us;
			statuses += command == 3;
			id[0] = '\0';
		}
		line += strcspn(line, "\n");
		line += *line == '\n';
	}
	CU_ASSERT(data_blocks >= 1);
	CU_ASSERT(statuses >= 1);
	/* no transfer completes before its bus time (1 us: the capture's resolution) */
	if (min_data < -1.0 || min_status < fs_control_us(6) - 1.0)
		fprintf(stderr, "\ndata block %.1f us over its bus time, GETSTATUS %.1f us\n",
		        min_data, min_status);
	CU_ASSERT(min_data >= -1.0);
	CU_ASSERT(min_status >= fs_control_us(6) - 1.0);
}

/* ---- the flash contents in QEMU ---- */

/* Reads lines until one contains needle (copied into line); false on EOF or timeout. */
static bool wait_for_line(emu_proc *p, const char *needle, char *line, size_t cap)
{
	while (read_line(p, line, cap, START_WAIT_MS)) {
		if (strstr(line, needle))
			return true;
	}
	fprintf(stderr, "\n'%s' not seen (last: '%s'); stderr:\n%s\n", needle, line, emu_stderr());
	return false;
}

/* Programs the QEMU test firmware that says hello on the VCP through flashtwin flash over the
 * emulator p, with --leave. */
static void flash_hello(const emu_proc *p)
{
	char elf[PATH_MAX], flashtwin[PATH_MAX], url[128];
	snprintf(elf, sizeof(elf), "%s/qemu-firmware/h743-hello.elf", g_build);
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	snprintf(url, sizeof(url), "usbip://%s:%u", p->host, p->port);
	const char *const argv[] = {flashtwin, "flash",   elf,   "--connect",
	                            url,       "--board", BOARD, "--no-poll-wait",
	                            "--leave", NULL};
	ft_proc_result res;
	ft_diag diag;
	FT_ASSERT_HEX(ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag), FT_OK);
	if (res.exit_status != 0)
		fprintf(stderr, "\nflashtwin flash: exit %d\n%s\n", res.exit_status,
		        res.err ? res.err : diag.message);
	FT_ASSERT_HEX(res.exit_status, 0);
	ft_proc_result_free(&res);
}

static void test_on_leave_boot_runs_the_programmed_firmware_in_qemu(void)
{
	static const char *const extra[] = {"--on-leave", "boot", NULL};
	emu_proc p;
	if (!start(&p, BOARD, extra))
		return;
	flash_hello(&p);
	char line[512];
	CU_ASSERT_TRUE(
	    wait_for_line(&p, "running flash in QEMU nucleo-h743zi2", line, sizeof(line)));
	CU_ASSERT_TRUE(wait_for_line(&p, "hello from STM32H743", line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(emu_stderr(), "resetting into the flash contents"));
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_boot_flash_runs_the_saved_flash_with_the_uart_on_stdout(void)
{
	emu_proc p;
	if (!start(&p, BOARD, NULL))
		return;
	flash_hello(&p);
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 0); /* --on-leave exit */
	static const char *const extra[] = {"--boot", "flash", NULL};
	if (!spawn(&p, BOARD, extra)) {
		CU_FAIL("cannot start flashtwin-emu");
		return;
	}
	char line[512];
	CU_ASSERT_TRUE(read_line(&p, line, sizeof(line), START_WAIT_MS));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "flashtwin-emu: nucleo-h743zi2 (STM32H743xI) running "
	                                    "flash in QEMU nucleo-h743zi2 (state /"));
	CU_ASSERT_TRUE(wait_for_line(&p, "hello from STM32H743", line, sizeof(line)));
	FT_ASSERT_HEX(stop(&p, SIGINT), 0);
}

static void test_gdb_port_zero_gives_the_listening_port_on_the_ready_line(void)
{
	static const char *const extra[] = {"--gdb", "127.0.0.1:0", NULL};
	emu_proc p;
	if (!spawn(&p, BOARD, extra)) {
		CU_FAIL("cannot start flashtwin-emu");
		return;
	}
	char line[512];
	unsigned port = 0;
	CU_ASSERT_TRUE(read_line(&p, line, sizeof(line), START_WAIT_MS));
	const char *at = strstr(line, ", gdb at 127.0.0.1:");
	CU_ASSERT_PTR_NOT_NULL(at);
	if (at)
		port = (unsigned)strtoul(at + strlen(", gdb at 127.0.0.1:"), NULL, 10);
	CU_ASSERT(port > 0 && port < 65536);
	/* the core is halted until a debugger continues it: nothing on the UART */
	CU_ASSERT_FALSE(read_line(&p, line, sizeof(line), 500));
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
}

static void test_gdb_with_boot_dfu_is_refused_with_status_two(void)
{
	static const char *const extra[] = {"--gdb", "127.0.0.1:0", "--boot", "dfu", NULL};
	emu_proc p;
	if (!spawn(&p, BOARD, extra)) {
		CU_FAIL("cannot start flashtwin-emu");
		return;
	}
	FT_ASSERT_HEX(wait_exit(&p, EXIT_WAIT_MS), 2);
}

/* Starts flashtwin-emu --gdb 127.0.0.1:0 and returns the gdbstub's port from its ready line, or
 * 0 (the process is then reaped). */
static unsigned start_gdb(emu_proc *p)
{
	static const char *const extra[] = {"--gdb", "127.0.0.1:0", NULL};
	static const char key[] = ", gdb at 127.0.0.1:";
	if (!spawn(p, BOARD, extra)) {
		CU_FAIL("cannot start flashtwin-emu");
		return 0;
	}
	char line[512];
	const char *at = read_line(p, line, sizeof(line), START_WAIT_MS) ? strstr(line, key) : NULL;
	unsigned port = at ? (unsigned)strtoul(at + strlen(key), NULL, 10) : 0;
	if (port == 0 || port > 65535) {
		fprintf(stderr, "\nno gdb ready line (got '%s'); stderr:\n%s\n", line,
		        emu_stderr());
		CU_FAIL("flashtwin-emu --gdb did not print its ready line");
		wait_exit(p, 1000);
		return 0;
	}
	return port;
}

/* Runs flashtwin with argv[1...] (argv[0] is filled in); returns its exit status. */
static int run_flashtwin(const char **argv)
{
	char flashtwin[PATH_MAX];
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	argv[0] = flashtwin;
	ft_proc_result res;
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag) != FT_OK) {
		fprintf(stderr, "\nflashtwin: %s\n", diag.message);
		return -1;
	}
	int status = res.exit_status;
	if (status != 0)
		fprintf(stderr, "\nflashtwin %s: exit %d\n%s\n", argv[1], status,
		        res.err ? res.err : "");
	ft_proc_result_free(&res);
	return status;
}

static uint8_t *slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static uint8_t buf[64 * 1024];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* Over QEMU's gdbstub, flashtwin's debug-port route unlocks the flash controller and programs
 * through the flash model (QEMU 7.2 alone drops a debugger's register writes: patches/0002);
 * the bytes land in the board state, which the DFU bootloader then reads back. */
static void test_gdb_flash_lands_in_the_state_and_dfu_reads_it_back(void)
{
	char elf[PATH_MAX], bin[PATH_MAX], out[160], url[128], size[16];
	snprintf(elf, sizeof(elf), "%s/fixtures/h743-clean.elf", g_build);
	snprintf(bin, sizeof(bin), "%s/fixtures/h743-clean.bin", g_build);
	snprintf(out, sizeof(out), "%s/readback.bin", g_tmp);
	size_t want_len = 0;
	uint8_t want[1024];
	const uint8_t *image = slurp_file(bin, &want_len);
	CU_ASSERT_FATAL(image && want_len > 0 && want_len <= sizeof(want));
	memcpy(want, image, want_len);
	snprintf(size, sizeof(size), "%zu", want_len);

	emu_proc p;
	unsigned port = start_gdb(&p);
	if (!port)
		return;
	snprintf(url, sizeof(url), "gdb://127.0.0.1:%u", port);
	const char *flash[] = {NULL, "flash", elf, "--connect", url, "--board", BOARD, NULL};
	FT_ASSERT_HEX(run_flashtwin(flash), 0);
	const char *read[] = {NULL, "read", "--connect", url, "0x08000000", size, "-o", out, NULL};
	FT_ASSERT_HEX(run_flashtwin(read), 0);
	size_t got_len = 0;
	const uint8_t *got = slurp_file(out, &got_len);
	FT_ASSERT_HEX(got_len, want_len);
	if (got && got_len == want_len)
		FT_ASSERT_BYTES(got, want, want_len);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);

	static const char *const dfu[] = {"--boot", "dfu", NULL};
	if (!start(&p, BOARD, dfu))
		return;
	unlink(out);
	snprintf(url, sizeof(url), "usbip://%s:%u", p.host, p.port);
	FT_ASSERT_HEX(run_flashtwin(read), 0);
	got = slurp_file(out, &got_len);
	FT_ASSERT_HEX(got_len, want_len);
	if (got && got_len == want_len)
		FT_ASSERT_BYTES(got, want, want_len);
	FT_ASSERT_HEX(stop(&p, SIGTERM), 0);
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
    {"usb_pacing_takes_full_speed_or_off", test_usb_pacing_takes_full_speed_or_off},
    {"usbip_tool_lists_the_emulated_dfu_device", test_usbip_tool_lists_the_emulated_dfu_device},
    {"tshark_shows_the_dfu_requests_of_a_whole_flash",
     test_tshark_shows_the_dfu_requests_of_a_whole_flash},
    {"real_timing_paces_the_transfers_at_full_speed",
     test_real_timing_paces_the_transfers_at_full_speed},
    {"on_leave_boot_runs_the_programmed_firmware_in_qemu",
     test_on_leave_boot_runs_the_programmed_firmware_in_qemu},
    {"boot_flash_runs_the_saved_flash_with_the_uart_on_stdout",
     test_boot_flash_runs_the_saved_flash_with_the_uart_on_stdout},
    {"gdb_port_zero_gives_the_listening_port_on_the_ready_line",
     test_gdb_port_zero_gives_the_listening_port_on_the_ready_line},
    {"gdb_with_boot_dfu_is_refused_with_status_two",
     test_gdb_with_boot_dfu_is_refused_with_status_two},
    {"gdb_flash_lands_in_the_state_and_dfu_reads_it_back",
     test_gdb_flash_lands_in_the_state_and_dfu_reads_it_back},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	/* a write to an emulator that has just exited must fail, not kill the test */
	signal(SIGPIPE, SIG_IGN);
	CU_SuiteInfo suite = {"emu_dfu", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
