/* Interoperability: the Linux `usbip` tool (Debian package usbip) lists the exported device.
 * `usbip attach` needs the kernel's vhci-hcd, which the build machines lack, so only `list -r`
 * is checked here. The tool is a declared dependency (ci/packages.txt): a missing binary fails. */
#include "emu/usbip/usbip_server.h"
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Turns of the server loop the tool gets before the test gives up on it (20 ms each). */
#define MAX_TURNS 1000

static struct {
	ft_usb_loopback *lb;
	ft_usb_device dev;
	ft_usbip_server *srv;
} fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.lb = ft_usb_loopback_new();
	if (!fx.lb)
		return;
	fx.dev = ft_usb_loopback_device(fx.lb);
	ft_usbip_server_config cfg = {.session = "tool-test"};
	ft_usbip_server_new(&cfg, &fx.dev, &fx.srv, NULL);
}

static void teardown(void)
{
	ft_usbip_server_free(fx.srv);
	ft_usb_loopback_free(fx.lb);
}

/* The usbip binary: on PATH, or in the sbin directories where Debian installs it. */
static bool find_usbip(char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", env ? env : "");
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/usbip", dir);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* Runs argv with stdout and stderr into out, turning the server loop until it exits.
 * Returns its wait status, or -1 when it could not be run or did not finish. */
static int run_tool(char *const argv[], char *out, size_t size)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return -1;
	}
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	size_t used = 0;
	int status = -1;
	bool exited = false, eof = false;
	for (int turn = 0; turn < MAX_TURNS && !(exited && eof); turn++) {
		ft_usbip_server_run_once(fx.srv, 20, NULL);
		ssize_t n;
		while ((n = read(pipefd[0], out + used, size - 1 - used)) > 0)
			used += (size_t)n;
		if (n == 0 || used == size - 1)
			eof = true;
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return status;
}

static void test_usbip_list_remote_shows_exported_device(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	char tool[512];
	if (!find_usbip(tool, sizeof(tool))) {
		CU_FAIL("usbip not installed (Debian package usbip, listed in ci/packages.txt)");
		return;
	}
	char port[8];
	snprintf(port, sizeof(port), "%u", ft_usbip_server_port(fx.srv));
	char *argv[] = {tool, "--tcp-port", port, "list", "-r", "127.0.0.1", NULL};
	char out[8192];
	int status = run_tool(argv, out, sizeof(out));
	printf("\n%s", out);
	CU_ASSERT_FATAL(status != -1);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* usbip_list.c prints "<busid>: <vendor> : <product> (<vid>:<pid>)", then the path, then
	 * the device class and one line per interface "<n> - <class>". */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "1-1: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(1209:0001)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/sys/devices/flashtwin/usb1/1-1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(00/00/00)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " 0 - "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(ff/00/00)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " 1 - "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(ff/42/01)"));
	CU_ASSERT_PTR_NULL(strstr(out, " 2 - "));
}

static CU_TestInfo tests[] = {
    {"usbip_list_remote_shows_exported_device", test_usbip_list_remote_shows_exported_device},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usbip_tool", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
