/* USB/IP server cost per URB over loopback TCP, client and server on one thread: sequential
 * control OUT round trips (the shape of DFU_DNLOAD + wait), then bulk OUT/IN echo. For scale,
 * a real full-speed bus carries at most about 0.83 MB/s of 64-byte control data and 1.2 MB/s
 * of bulk (performance.md §2.2). */
#include "models/usbip_proto.h"
#include "emu/usbip/usbip_server.h"
#include "models/usb_loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEVID 0x00010002u

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool send_all(ft_usbip_server *srv, int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			return false;
		} else if (ft_usbip_server_run_once(srv, 0, NULL) != FT_OK) {
			return false;
		}
	}
	return true;
}

static bool recv_all(ft_usbip_server *srv, int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			return false;
		} else if (ft_usbip_server_run_once(srv, 0, NULL) != FT_OK) {
			return false;
		}
	}
	return true;
}

/* One URB: sends CMD_SUBMIT (with data when OUT), reads RET_SUBMIT (and IN data). */
static bool urb(ft_usbip_server *srv, int fd, uint32_t seq, bool in, uint32_t ep,
                const uint8_t setup[8], uint8_t *data, uint32_t len)
{
	static uint8_t msg[FT_USBIP_URB_HEADER_SIZE + 65536];
	ft_usbip_urb_header h = {.command = FT_USBIP_CMD_SUBMIT,
	                         .seqnum = seq,
	                         .devid = DEVID,
	                         .direction = in ? FT_USBIP_DIR_IN : FT_USBIP_DIR_OUT,
	                         .ep = ep};
	h.u.cmd_submit.transfer_buffer_length = len;
	if (setup)
		memcpy(h.u.cmd_submit.setup, setup, 8);
	size_t n = ft_usbip_urb_header_encode(&h, msg);
	if (!in) {
		memcpy(msg + n, data, len);
		n += len;
	}
	uint8_t ret[FT_USBIP_URB_HEADER_SIZE];
	ft_usbip_urb_header r;
	if (!send_all(srv, fd, msg, n) || !recv_all(srv, fd, ret, sizeof(ret)) ||
	    ft_usbip_urb_header_decode(ret, sizeof(ret), &r, NULL) != FT_OK ||
	    r.u.ret_submit.status != 0)
		return false;
	return !in || recv_all(srv, fd, data, r.u.ret_submit.actual_length);
}

int main(void)
{
	ft_usb_loopback *lb = ft_usb_loopback_new();
	ft_usb_device dev = ft_usb_loopback_device(lb);
	ft_usbip_server *srv;
	ft_diag diag;
	if (!lb || ft_usbip_server_new(NULL, &dev, &srv, &diag) != FT_OK) {
		fprintf(stderr, "bench_usbip: cannot start server: %s\n", diag.message);
		return 1;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_port = htons(ft_usbip_server_port(srv))};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	uint8_t import[FT_USBIP_IMPORT_REQUEST_SIZE],
	    reply[FT_USBIP_OP_HEADER_SIZE + FT_USBIP_DEVICE_SIZE];
	ft_usbip_import_request_encode("1-1", import);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    !send_all(srv, fd, import, sizeof(import)) ||
	    !recv_all(srv, fd, reply, sizeof(reply))) {
		fprintf(stderr, "bench_usbip: cannot import\n");
		return 1;
	}

	static uint8_t data[4096];
	static const uint8_t set_config[8] = {0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	/* Vendor WRITE of 256 bytes, the loopback's EP0 buffer size. */
	static const uint8_t write256[8] = {0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
	uint32_t seq = 1;
	if (!urb(srv, fd, seq++, false, 0, set_config, data, 0))
		return 1;

	const unsigned controls = 20000;
	double t0 = now_s();
	for (unsigned i = 0; i < controls; i++)
		if (!urb(srv, fd, seq++, false, 0, write256, data, 256))
			return 1;
	double dt = now_s() - t0;
	printf("control OUT 256 B, sequential: %u URBs in %.3f s = %.0f URB/s, %.2f MB/s\n",
	       controls, dt, controls / dt, controls * 256.0 / dt / 1e6);

	const unsigned rounds = 5000;
	t0 = now_s();
	for (unsigned i = 0; i < rounds; i++)
		if (!urb(srv, fd, seq++, false, 1, NULL, data, sizeof(data)) ||
		    !urb(srv, fd, seq++, true, 1, NULL, data, sizeof(data)))
			return 1;
	dt = now_s() - t0;
	printf("bulk OUT+IN echo 4096 B, sequential: %u round trips in %.3f s = %.2f MB/s each "
	       "way\n",
	       rounds, dt, rounds * 4096.0 / dt / 1e6);

	close(fd);
	ft_usbip_server_free(srv);
	ft_usb_loopback_free(lb);
	return 0;
}
