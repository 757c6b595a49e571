/* libFuzzer target: a hostile USB/IP server. The input is everything the server sends; it is
 * written into one end of a socketpair (then closed), and the client imports a device, runs
 * control transfers or lists devices on the other end. The pure reply parsers get the same
 * bytes. Nothing the server sends may crash the client or make it read past a buffer. */
#include "programmer/transport/usbip_client.h"

#include <assert.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parsers(const uint8_t *data, size_t size)
{
	ft_diag diag;
	uint32_t status;
	if (size >= FT_USBIP_OP_HEADER_SIZE)
		(void)ft_usbip_parse_op_reply(data, FT_USBIP_OP_REP_IMPORT, &status, &diag);
	if (size >= FT_USBIP_DEVICE_SIZE) {
		ft_usbip_device info;
		if (ft_usbip_parse_device(data, &info, &diag) == FT_OK)
			assert(strlen(info.path) < sizeof(info.path) &&
			       strlen(info.busid) < sizeof(info.busid));
	}
	if (size >= FT_USBIP_URB_HEADER_SIZE) {
		ft_usbip_reply reply;
		if (ft_usbip_parse_reply(data, &reply, &diag) == FT_OK &&
		    ft_usbip_check_ret_submit(&reply, 1, 64, &diag) == FT_OK)
			assert(reply.actual_length <= 64);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	parsers(data + 1, size - 1);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	/* The whole reply stream is queued before the client runs; the socket buffer holds it. */
	size_t off = 1;
	while (off < size) {
		ssize_t w = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(sv[0], SHUT_WR);
	ft_diag diag;
	if (data[0] & 1) {
		ft_usbip_device devs[4];
		size_t count;
		(void)ft_usbip_list_fd(sv[1], "fuzz", 100, devs, 4, &count, &diag);
	} else {
		ft_usbip_client *c;
		if (ft_usbip_import_fd(sv[1], "fuzz", "1-1", 100, &c, &diag) == FT_OK) {
			static const uint8_t in_setup[8] = {0xA1, 0x03, 0, 0, 0, 0, 0x06, 0x00};
			static const uint8_t out_setup[8] = {0x21, 0x01, 0, 0, 0, 0, 0x05, 0x00};
			uint8_t buf[6], cmd[5] = {0x21, 0, 0, 0, 0x08};
			for (int i = 0; i < 4; i++) {
				size_t actual;
				ft_transfer_status st;
				if (i & 1)
					st = ft_usbip_control(c, out_setup, cmd, 5, 100, &actual,
					                      &diag);
				else
					st = ft_usbip_control(c, in_setup, buf, 6, 100, &actual,
					                      &diag);
				assert(st != FT_TRANSFER_OK || actual <= 6);
			}
			ft_usbip_close(c);
		}
	}
	close(sv[0]);
	return 0;
}
