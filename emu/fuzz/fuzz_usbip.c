/* Fuzzes the USB/IP server's connection handling: the input is the byte stream a client sends,
 * delivered over a socketpair to a fresh server exporting the loopback device, then closed.
 * Bit 0 of the first byte prefixes a valid OP_REQ_IMPORT so that most inputs reach the URB
 * phase; the rest of the input follows as is. Replies are read and dropped. Any crash,
 * sanitizer report or hang (the server must close the connection once the input ends) is a
 * finding. */
#include "models/usbip_proto.h"
#include "emu/usbip/usbip_server.h"
#include "models/usb_loopback.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Server turns after the input has ended before the server counts as hung. */
#define MAX_TURNS 10000

static void sink(void *ctx, ft_usbip_log_level level, const char *session, const char *message)
{
	size_t *total = ctx;
	*total += strlen(ft_usbip_log_level_name(level)) + strlen(session) + strlen(message);
}

/* Reads and drops what the server sent; false once the server has closed its end. */
static bool drain(int fd)
{
	static uint8_t scratch[65536];
	for (;;) {
		ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n > 0)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
	}
}

/* Sends all of buf, turning the server whenever the socket is full. */
static bool feed(ft_usbip_server *srv, int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return false;
		if (ft_usbip_server_run_once(srv, 0, NULL) != FT_OK || !drain(fd))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_usb_loopback *lb = ft_usb_loopback_new();
	if (!lb)
		abort();
	ft_usb_device dev = ft_usb_loopback_device(lb);
	size_t logged = 0;
	ft_usbip_server_config cfg = {.session = "fuzz", .log = sink, .log_ctx = &logged};
	ft_usbip_server *srv;
	int sv[2];
	if (ft_usbip_server_new(&cfg, &dev, &srv, NULL) != FT_OK ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    ft_usbip_server_adopt(srv, sv[0], NULL) != FT_OK)
		abort();

	bool connected = true;
	if (size && (data[0] & 1)) {
		uint8_t import[FT_USBIP_IMPORT_REQUEST_SIZE];
		ft_usbip_import_request_encode("1-1", import);
		connected = feed(srv, sv[1], import, sizeof(import));
	}
	if (connected && size > 1)
		connected = feed(srv, sv[1], data + 1, size - 1);
	shutdown(sv[1], SHUT_WR);
	int turns = 0;
	while (connected && turns++ < MAX_TURNS) {
		if (ft_usbip_server_run_once(srv, 0, NULL) != FT_OK)
			abort();
		connected = drain(sv[1]);
	}
	if (connected)
		abort(); /* the server kept a finished connection open */
	close(sv[1]);
	ft_usbip_server_free(srv);
	ft_usb_loopback_free(lb);
	return 0;
}
