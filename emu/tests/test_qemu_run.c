/* emu/qemu_run: the machine for each part, the qemu-system-arm command line for a board (state,
 * BOOT0, development boot, timing, gdbstub), refusals, and a machine started for a debugger that
 * waits halted with QEMU's gdbstub answering on the given port. */
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static ft_diag diag;
static char g_dir[64];
static ft_qemu *q;

static void setup(void)
{
	ft_diag_clear(&diag);
	q = NULL;
	emu_harness_make_dir("qemu-run", g_dir, sizeof(g_dir));
}

static void teardown(void)
{
	ft_qemu_free(q);
	emu_harness_cleanup(g_dir);
}

static void test_each_family_has_its_machine(void)
{
	CU_ASSERT_STRING_EQUAL(ft_qemu_machine_for_part(ft_part_find("STM32H753ZI")),
	                       "nucleo-h743zi2");
	CU_ASSERT_STRING_EQUAL(ft_qemu_machine_for_part(ft_part_find("H730VB")), "nucleo-h723zg");
	CU_ASSERT_STRING_EQUAL(ft_qemu_machine_for_part(ft_part_find("H7B0VB")), "nucleo-h7a3zi-q");
	CU_ASSERT_STRING_EQUAL(ft_qemu_machine_for_part(ft_part_find("N647X0")), "nucleo-n657x0-q");
	CU_ASSERT_PTR_NULL(ft_qemu_machine_for_part(ft_part_find("H747XI"))); /* dual core */
	CU_ASSERT_PTR_NULL(ft_qemu_machine_for_part(NULL));
}

/* Joins argv with spaces. */
static void joined(const char **argv, int argc, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " " : "", argv[i]);
}

static void test_command_line_carries_the_board_and_the_debugger(void)
{
	ft_qemu_config cfg = {.binary = "qemu-system-arm",
	                      .machine = "nucleo-h743zi2",
	                      .board_path = "b.board",
	                      .state_dir = "st",
	                      .boot0 = 0,
	                      .instant_timing = true,
	                      .gdb = "127.0.0.1:3333",
	                      .mode = FT_QEMU_CONSOLE};
	const char *argv[40];
	char buf[256], line[1024];
	int argc = 0;
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag), FT_OK);
	FT_ASSERT_HEX(argv[argc] == NULL, 1);
	joined(argv, argc, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line,
	                       "qemu-system-arm -machine "
	                       "nucleo-h743zi2,board=b.board,state=st,boot0=off,timing=instant "
	                       "-nodefaults -display none -monitor none -serial mon:stdio "
	                       "-gdb tcp:127.0.0.1:3333 -S");
}

static void test_n6_development_boot_and_qtest_mode(void)
{
	ft_qemu_config cfg = {.binary = "q",
	                      .machine = "nucleo-n657x0-q",
	                      .boot0 = -1,
	                      .dev_boot = true,
	                      .mode = FT_QEMU_QTEST};
	const char *argv[40];
	char buf[256], line[1024];
	int argc = 0;
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag), FT_OK);
	joined(argv, argc, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "q -machine nucleo-n657x0-q,boot1=on,accel=qtest -nodefaults "
	                             "-display none -monitor none -qtest stdio -serial null");
}

/* Test faults reach the machine as -machine properties, after the others. */
static void test_machine_properties_follow_the_machine_options(void)
{
	const char *const props[] = {"fault-drop-word=0x08027800", "fault-core-sleeps=on", NULL};
	ft_qemu_config cfg = {.binary = "q",
	                      .machine = "nucleo-h743zi2",
	                      .boot0 = -1,
	                      .instant_timing = true,
	                      .properties = props};
	const char *argv[40];
	char buf[256], line[1024];
	int argc = 0;
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag), FT_OK);
	joined(argv, argc, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "q -machine nucleo-h743zi2,timing=instant,"
	                             "fault-drop-word=0x08027800,fault-core-sleeps=on -nodefaults "
	                             "-display none -monitor none -serial stdio");
	const char *const comma[] = {"fault-cut-word=1,board=x", NULL};
	cfg.properties = comma;
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag),
	              FT_ERR_INVALID_ARG);
}

static void test_bad_settings_are_refused(void)
{
	const char *argv[40];
	char buf[64];
	int argc;
	ft_qemu_config cfg = {.binary = "q", .machine = "nucleo-h743zi2", .boot0 = 2};
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag),
	              FT_ERR_INVALID_ARG);
	cfg.boot0 = -1;
	cfg.gdb = "localhost";
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, sizeof(buf), &diag),
	              FT_ERR_INVALID_ARG);
	cfg.gdb = NULL;
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 4, &argc, buf, sizeof(buf), &diag), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_qemu_argv(&cfg, argv, 40, &argc, buf, 8, &diag), FT_ERR_RANGE);
}

static void test_a_board_the_machine_refuses_is_reported_at_start(void)
{
	char board[128], state[128];
	snprintf(board, sizeof(board), "%s/n6.board", g_dir);
	snprintf(state, sizeof(state), "%s/state", g_dir);
	FILE *f = fopen(board, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("part = STM32N657X0H3Q\n", f);
	fclose(f);
	ft_qemu_config cfg = {.machine = "nucleo-h743zi2",
	                      .board_path = board,
	                      .state_dir = state,
	                      .boot0 = -1,
	                      .mode = FT_QEMU_QTEST};
	FT_ASSERT_HEX(ft_qemu_start(&cfg, &q, &diag), FT_ERR_DEVICE);
	CU_ASSERT_PTR_NULL(q);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "STM32N657"));
}

/* A port nobody listens on now (bound, then released). */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		return -1;
	close(s);
	return ntohs(a.sin_port);
}

/* Sends one GDB remote packet and returns the reply's payload in out ("" on failure). */
static void gdb_exchange(int s, const char *payload, char *out, size_t cap)
{
	unsigned sum = 0;
	for (const char *p = payload; *p; p++)
		sum += (unsigned char)*p;
	char pkt[128];
	int n = snprintf(pkt, sizeof(pkt), "$%s#%02x", payload, sum & 0xFFu);
	out[0] = '\0';
	if (send(s, pkt, (size_t)n, 0) != n)
		return;
	char buf[512];
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		struct pollfd pfd = {.fd = s, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			return;
		ssize_t r = recv(s, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			return;
		got += (size_t)r;
		buf[got] = '\0';
		char *start = strchr(buf, '$'), *end = start ? strchr(start, '#') : NULL;
		if (end) {
			snprintf(out, cap, "%.*s", (int)(end - start - 1), start + 1);
			return;
		}
	}
}

/* --gdb: QEMU starts halted (-S) with its gdbstub; a debugger's "?" gets a stop reply. */
static void test_debug_port_waits_halted_for_a_debugger(void)
{
	char state[128], addr[32], reply[256];
	snprintf(state, sizeof(state), "%s/state", g_dir);
	int port = free_port();
	CU_ASSERT_FATAL(port > 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ft_qemu_config cfg = {.machine = "nucleo-h743zi2",
	                      .state_dir = state,
	                      .boot0 = 0,
	                      .gdb = addr,
	                      .mode = FT_QEMU_RUN};
	FT_ASSERT_HEX(ft_qemu_start(&cfg, &q, &diag), FT_OK);
	int s = -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int i = 0; i < 100 && s < 0; i++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(s);
			s = -1;
			poll(NULL, 0, 50);
		}
	}
	CU_ASSERT_FATAL(s >= 0);
	gdb_exchange(s, "?", reply, sizeof(reply));
	CU_ASSERT(reply[0] == 'S' || reply[0] == 'T');
	close(s);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_each_family_has_its_machine", test_each_family_has_its_machine},
	    {"test_command_line_carries_the_board_and_the_debugger",
	     test_command_line_carries_the_board_and_the_debugger},
	    {"test_n6_development_boot_and_qtest_mode", test_n6_development_boot_and_qtest_mode},
	    {"test_machine_properties_follow_the_machine_options",
	     test_machine_properties_follow_the_machine_options},
	    {"test_bad_settings_are_refused", test_bad_settings_are_refused},
	    {"test_a_board_the_machine_refuses_is_reported_at_start",
	     test_a_board_the_machine_refuses_is_reported_at_start},
	    {"test_debug_port_waits_halted_for_a_debugger",
	     test_debug_port_waits_halted_for_a_debugger},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_run", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
