/* Interoperability with the Linux kernel's USB/IP client: a guest of Debian's kernel (the lab,
 * ci/lab/vm.sh) runs `usbip attach` against the server this test turns, vhci-hcd enumerates the
 * loopback device, and lsusb reads its descriptors and strings through the kernel's USB core.
 * This machine's kernel has no USB support; the guest's has.
 *
 * The guest's script is ci/lab/loopback.sh; its files land in BUILD/lab/usbip-kernel/ for the
 * test program BUILD/tests/<prog>, run from the top of the source tree. Expected values are the
 * loopback device's documented identity (models/usb_loopback.h), written as literals. */
#include "emu/usbip/usbip_server.h"
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"

#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Seconds before the test stops waiting for the guest; vm.sh bounds the guest itself at 420. */
#define GUEST_LIMIT_S 450

/* Linux vhci_hcd logs this at KERN_ERR on every reset of a full-speed device (vhci_hcd.c
 * vhci_hub_control: only high and low speed have a case); not an error of the device. */
#define VHCI_FULL_SPEED_NOISE "vhci_hcd: vhci_device speed not set"

static struct {
	ft_usb_loopback *lb;
	ft_usb_device dev;
	ft_usbip_server *srv;
	unsigned imports; /* "imported" messages from the server's log */
	char out[PATH_MAX];
} fx;

static void count_imports(void *ctx, ft_usbip_log_level level, const char *session,
                          const char *message)
{
	(void)ctx;
	(void)level;
	(void)session;
	if (strstr(message, "imported 1-1"))
		fx.imports++;
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.lb = ft_usb_loopback_new();
	if (!fx.lb)
		return;
	fx.dev = ft_usb_loopback_device(fx.lb);
	ft_usbip_server_config cfg = {.session = "kernel-test", .log = count_imports};
	ft_usbip_server_new(&cfg, &fx.dev, &fx.srv, NULL);
}

static void teardown(void)
{
	ft_usbip_server_free(fx.srv);
	ft_usb_loopback_free(fx.lb);
}

/* BUILD/lab/usbip-kernel for the test program BUILD/tests/<prog>, created; false on failure. */
static bool make_out_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return false;
		*slash = '\0';
	}
	int len = snprintf(fx.out, sizeof(fx.out), "%s/lab", exe);
	if (len < 0 || (size_t)len + sizeof("/usbip-kernel") > sizeof(fx.out))
		return false;
	mkdir(fx.out, 0755);
	strcat(fx.out, "/usbip-kernel");
	mkdir(fx.out, 0755);
	return access(fx.out, W_OK) == 0;
}

/* Runs vm.sh against the server, turning the server loop until the guest is done. Returns its
 * wait status, or -1 when it could not be run or did not finish. */
static int run_guest(void)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", ft_usbip_server_port(fx.srv));
	char *argv[] = {"ci/lab/vm.sh", port, "ci/lab/loopback.sh", fx.out, NULL};
	pid_t pid;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int status = -1;
	do {
		ft_usbip_server_run_once(fx.srv, 100, NULL);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < GUEST_LIMIT_S);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static char *slurp(const char *name)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", fx.out, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static const size_t max = 1 << 20;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Whether text has a line whose first words, after leading blanks, are those of words (runs of
 * blanks compare equal): lsusb pads its columns, and may name a vendor after its ID. */
static bool has_line(const char *text, const char *words)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		const char *a = line, *b = words;
		for (;;) {
			a += strspn(a, " \t");
			b += strspn(b, " ");
			size_t la = strcspn(a, " \t\n"), lb = strcspn(b, " ");
			if (la != lb || strncmp(a, b, la) != 0)
				break;
			a += la;
			b += lb;
			if (*b == '\0')
				return true;
		}
	}
	return false;
}

static void test_kernel_attaches_and_enumerates_loopback_device(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	CU_ASSERT_FATAL(make_out_dir());
	int status = run_guest();
	CU_ASSERT_FATAL(status != -1);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	FT_ASSERT_HEX(fx.imports, 1);

	char *lsusb = slurp("lsusb.log");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lsusb);
	static const char *const expected[] = {
	    "idVendor 0x1209",
	    "idProduct 0x0001",
	    "bcdUSB 2.00",
	    "bMaxPacketSize0 64",
	    "iManufacturer 1 flashtwin",
	    "iProduct 2 loopback",
	    "iSerial 3 0001",
	    "bNumInterfaces 2",
	    "bmAttributes 0xe0",
	    "bEndpointAddress 0x01 EP 1 OUT",
	    "bEndpointAddress 0x81 EP 1 IN",
	    "wMaxPacketSize 0x0040 1x 64 bytes",
	    "bAlternateSetting 1",
	    "bInterfaceSubClass 66",
	    "bInterfaceProtocol 1",
	};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char msg[128];
		snprintf(msg, sizeof(msg), "lsusb -v shows \"%s\"", expected[i]);
		CU_assertImplementation(has_line(lsusb, expected[i]), __LINE__, msg, __FILE__, "",
		                        CU_FALSE);
	}
	free(lsusb);

	char *port = slurp("port.log");
	CU_ASSERT_PTR_NOT_NULL_FATAL(port);
	CU_ASSERT(has_line(port, "1-1 -> usbip://127.0.0.1:3240/1-1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(port, "Full Speed(12Mbps)"));
	free(port);

	/* dmesg -r: "<N>[time] text"; levels 0..3 are emerg, alert, crit, err. */
	char *dmesg = slurp("dmesg.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dmesg);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(dmesg, "New USB device found, idVendor=1209, idProduct=0001"));
	for (char *save, *line = strtok_r(dmesg, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool error = line[0] == '<' && line[1] >= '0' && line[1] <= '3' && line[2] == '>';
		char msg[256];
		snprintf(msg, sizeof(msg), "kernel error: %.200s", line);
		CU_assertImplementation(!error || strstr(line, VHCI_FULL_SPEED_NOISE), __LINE__,
		                        msg, __FILE__, "", CU_FALSE);
	}
	free(dmesg);
}

static CU_TestInfo tests[] = {
    {"kernel_attaches_and_enumerates_loopback_device",
     test_kernel_attaches_and_enumerates_loopback_device},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usbip_kernel", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
