/* The USB/IP client against scripted servers: replies written into one end of a socketpair
 * before the client runs (and the client's requests read back from it afterwards), or, where
 * the client opens its own connections or must see a reply come late, a server thread on a
 * 127.0.0.1 listener with port 0. Wire layouts come from Linux
 * Documentation/usb/usbip_protocol.rst and are written out here, not taken from the client. */
#include "models/tests/ft_test.h"
#include "programmer/transport/usbip_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_WAIT_MS 5000 /* a scripted server gives up after this; tests never wait it out */

typedef struct fixture {
	int server;         /* our end of the socketpair */
	int client;         /* the client's end until a call takes it over, else -1 */
	ft_usbip_client *c; /* after a successful import */
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = calloc(1, sizeof(*F));
	int sv[2];
	if (!F || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	F->server = sv[0];
	F->client = sv[1];
}

static void teardown_fixture(void)
{
	ft_usbip_close(F->c);
	if (F->client >= 0)
		close(F->client);
	close(F->server);
	free(F);
	F = NULL;
}

/* Wire building. */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* OP_REP header: version 0x0111, code, status. */
static size_t op_reply(uint8_t *out, uint16_t code, uint32_t status)
{
	put16(out, 0x0111);
	put16(out + 2, code);
	put32(out + 4, status);
	return 8;
}

/* struct usbip_usb_device: path[256], busid[32], busnum, devnum, speed, idVendor, idProduct,
 * bcdDevice, class, subclass, protocol, bConfigurationValue, bNumConfigurations,
 * bNumInterfaces: 312 bytes. */
static size_t device_record(uint8_t *out, const char *busid, uint32_t busnum, uint32_t devnum,
                            uint8_t interfaces)
{
	memset(out, 0, 312);
	snprintf((char *)out, 256, "/sys/devices/flashtwin/%s", busid);
	memcpy(out + 256, busid, strlen(busid));
	put32(out + 288, busnum);
	put32(out + 292, devnum);
	put32(out + 296, 2); /* full speed */
	put16(out + 300, 0x0483);
	put16(out + 302, 0xDF11);
	put16(out + 304, 0x0200);
	out[309] = 1;
	out[310] = 1;
	out[311] = interfaces;
	return 312;
}

/* RET_SUBMIT: command 3, seqnum, devid/direction/ep 0, status, actual_length, start_frame,
 * number_of_packets, error_count, 8 bytes padding. */
static size_t ret_submit(uint8_t *out, uint32_t seqnum, int32_t status, uint32_t actual)
{
	memset(out, 0, 48);
	put32(out, 3);
	put32(out + 4, seqnum);
	put32(out + 20, (uint32_t)status);
	put32(out + 24, actual);
	return 48;
}

static size_t ret_unlink(uint8_t *out, uint32_t seqnum, int32_t status)
{
	memset(out, 0, 48);
	put32(out, 4);
	put32(out + 4, seqnum);
	put32(out + 20, (uint32_t)status);
	return 48;
}

static void send_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* Reads exactly n bytes, giving up after SERVER_WAIT_MS. */
static bool recv_all(int fd, uint8_t *buf, size_t n)
{
	while (n > 0) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, SERVER_WAIT_MS) != 1)
			return false;
		ssize_t r = recv(fd, buf, n, 0);
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}

/* Queues an OK IMPORT reply for busid 1-1 (bus 3, device 7) and imports it. */
static void import_ok(void)
{
	uint8_t reply[320];
	size_t n = op_reply(reply, 0x0003, 0);
	n += device_record(reply + n, "1-1", 3, 7, 1);
	send_all(F->server, reply, n);
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_import_fd(fd, "usbip://test", "1-1", 1000, &F->c, &d), FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(F->c);
	uint8_t req[40];
	CU_ASSERT_FATAL(recv_all(F->server, req, sizeof(req)));
}

static void assert_contains(const char *text, const char *part)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static const uint8_t GET_DEVICE_DESCRIPTOR[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00};

/* Tests over a socketpair. */

static void test_devlist_parses_exported_devices(void)
{
	uint8_t reply[12 + 2 * 312 + 12];
	size_t n = op_reply(reply, 0x0005, 0);
	put32(reply + n, 2);
	n += 4;
	n += device_record(reply + n, "1-1", 1, 2, 1);
	const uint8_t dfu_if[4] = {0xFE, 0x01, 0x02, 0x00};
	memcpy(reply + n, dfu_if, 4);
	n += 4;
	n += device_record(reply + n, "2-4.1", 2, 9, 2);
	const uint8_t two_ifs[8] = {0x02, 0x02, 0x01, 0x00, 0x0A, 0x00, 0x00, 0x00};
	memcpy(reply + n, two_ifs, 8);
	n += 8;
	send_all(F->server, reply, n);

	ft_usbip_device devs[4];
	size_t count;
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_list_fd(fd, "usbip://test", 1000, devs, 4, &count, &d), FT_OK);
	FT_ASSERT_HEX(count, 2);
	CU_ASSERT_STRING_EQUAL(devs[0].busid, "1-1");
	CU_ASSERT_STRING_EQUAL(devs[0].path, "/sys/devices/flashtwin/1-1");
	FT_ASSERT_HEX(devs[0].idVendor, 0x0483);
	FT_ASSERT_HEX(devs[0].idProduct, 0xDF11);
	FT_ASSERT_HEX(devs[0].bcdDevice, 0x0200);
	FT_ASSERT_HEX(devs[0].speed, 2);
	FT_ASSERT_HEX(devs[0].bNumInterfaces, 1);
	FT_ASSERT_HEX(devs[0].interfaces[0].bInterfaceClass, 0xFE);
	FT_ASSERT_HEX(devs[0].interfaces[0].bInterfaceProtocol, 0x02);
	CU_ASSERT_STRING_EQUAL(devs[1].busid, "2-4.1");
	FT_ASSERT_HEX(devs[1].devnum, 9);
	FT_ASSERT_HEX(devs[1].interfaces[1].bInterfaceClass, 0x0A);
	const uint8_t expected_req[8] = {0x01, 0x11, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00};
	uint8_t req[8];
	CU_ASSERT_FATAL(recv_all(F->server, req, sizeof(req)));
	FT_ASSERT_BYTES(req, expected_req, sizeof(req));
}

static void test_devlist_truncated_by_the_server_is_refused(void)
{
	uint8_t reply[12 + 100];
	size_t n = op_reply(reply, 0x0005, 0);
	put32(reply + n, 1);
	n += 4;
	memset(reply + n, 0, 100);
	send_all(F->server, reply, n + 100);
	shutdown(F->server, SHUT_WR);
	ft_usbip_device devs[1];
	size_t count = 99;
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_list_fd(fd, "usbip://test", 1000, devs, 1, &count, &d),
	              FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(count, 0);
	assert_contains(d.message, "after 100 of 312 bytes of DEVLIST device 0");
}

static void test_devlist_with_absurd_device_count_is_refused(void)
{
	uint8_t reply[12];
	size_t n = op_reply(reply, 0x0005, 0);
	put32(reply + n, 0xFFFFFFFF);
	send_all(F->server, reply, sizeof(reply));
	ft_usbip_device devs[1];
	size_t count;
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_list_fd(fd, "usbip://test", 1000, devs, 1, &count, &d),
	              FT_ERR_PROTOCOL);
	assert_contains(d.message, "4294967295 devices");
}

static void test_import_sends_the_busid_and_reads_the_device(void)
{
	import_ok();
	const ft_usbip_device *dev = ft_usbip_client_device(F->c);
	CU_ASSERT_STRING_EQUAL(dev->busid, "1-1");
	FT_ASSERT_HEX(dev->busnum, 3);
	FT_ASSERT_HEX(dev->devnum, 7);
	CU_ASSERT_STRING_EQUAL(ft_usbip_client_describe(F->c), "usbip://test/1-1");
}

static void test_import_failure_status_is_reported(void)
{
	uint8_t reply[8];
	op_reply(reply, 0x0003, 4); /* ST_NODEV */
	send_all(F->server, reply, sizeof(reply));
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_import_fd(fd, "usbip://test", "1-9", 1000, &F->c, &d),
	              FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(F->c);
	assert_contains(d.message, "busid 1-9: ST_NODEV (4)");
}

static void test_import_of_a_busy_device_is_busy(void)
{
	uint8_t reply[8];
	op_reply(reply, 0x0003, 2); /* ST_DEV_BUSY */
	send_all(F->server, reply, sizeof(reply));
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_import_fd(fd, "usbip://test", "1-1", 1000, &F->c, &d), FT_ERR_BUSY);
}

static void test_import_answered_with_another_busid_is_refused(void)
{
	uint8_t reply[320];
	size_t n = op_reply(reply, 0x0003, 0);
	n += device_record(reply + n, "1-2", 1, 2, 1);
	send_all(F->server, reply, n);
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_import_fd(fd, "usbip://test", "1-1", 1000, &F->c, &d),
	              FT_ERR_PROTOCOL);
	assert_contains(d.message, "answered with busid 1-2");
}

static void test_other_protocol_version_is_refused(void)
{
	uint8_t reply[8];
	op_reply(reply, 0x0003, 0);
	put16(reply, 0x0106);
	send_all(F->server, reply, sizeof(reply));
	ft_diag d;
	int fd = F->client;
	F->client = -1;
	FT_ASSERT_HEX(ft_usbip_import_fd(fd, "usbip://test", "1-1", 1000, &F->c, &d),
	              FT_ERR_PROTOCOL);
	assert_contains(d.message, "version 0x0106");
}

static void test_control_in_sends_cmd_submit_with_raw_setup(void)
{
	import_ok();
	const uint8_t descriptor[18] = {0x12, 0x01, 0x00, 0x02, 0,    0, 0, 0x40, 0x83,
	                                0x04, 0x11, 0xDF, 0x00, 0x02, 1, 2, 3,    1};
	uint8_t reply[48 + 18];
	ret_submit(reply, 1, 0, 18);
	memcpy(reply + 48, descriptor, 18);
	send_all(F->server, reply, sizeof(reply));
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_OK);
	FT_ASSERT_HEX(actual, 18);
	FT_ASSERT_BYTES(buf, descriptor, 18);

	uint8_t cmd[48];
	CU_ASSERT_FATAL(recv_all(F->server, cmd, sizeof(cmd)));
	FT_ASSERT_HEX(get32(cmd), 1);                        /* USBIP_CMD_SUBMIT */
	FT_ASSERT_HEX(get32(cmd + 4), 1);                    /* seqnum */
	FT_ASSERT_HEX(get32(cmd + 8), 0x30007);              /* devid = busnum << 16 | devnum */
	FT_ASSERT_HEX(get32(cmd + 12), 1);                   /* direction IN */
	FT_ASSERT_HEX(get32(cmd + 16), 0);                   /* endpoint 0 */
	FT_ASSERT_HEX(get32(cmd + 20), 0x200);               /* URB_DIR_IN */
	FT_ASSERT_HEX(get32(cmd + 24), 18);                  /* transfer_buffer_length */
	FT_ASSERT_BYTES(cmd + 40, GET_DEVICE_DESCRIPTOR, 8); /* raw, little-endian words */
}

static void test_control_out_sends_its_payload(void)
{
	import_ok();
	/* DFU_DNLOAD of the DfuSe SET_ADDRESS command. */
	const uint8_t setup[8] = {0x21, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00};
	uint8_t payload[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	uint8_t reply[48];
	ret_submit(reply, 1, 0, 5);
	send_all(F->server, reply, sizeof(reply));
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, setup, payload, 5, 1000, &actual, &d), FT_TRANSFER_OK);
	FT_ASSERT_HEX(actual, 5);
	uint8_t cmd[48 + 5];
	CU_ASSERT_FATAL(recv_all(F->server, cmd, sizeof(cmd)));
	FT_ASSERT_HEX(get32(cmd + 12), 0); /* direction OUT */
	FT_ASSERT_HEX(get32(cmd + 20), 0);
	FT_ASSERT_HEX(get32(cmd + 24), 5);
	FT_ASSERT_BYTES(cmd + 48, payload, 5);
}

static void test_ret_submit_longer_than_requested_is_refused(void)
{
	import_ok();
	uint8_t reply[48 + 19] = {0};
	ret_submit(reply, 1, 0, 19);
	send_all(F->server, reply, sizeof(reply));
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	FT_ASSERT_HEX(d.code, FT_ERR_PROTOCOL);
	assert_contains(d.message, "actual_length 19, more than the 18 bytes requested");
	FT_ASSERT_HEX(actual, 0);
	/* The stream is out of step: later transfers fail at once with the first reason. */
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	assert_contains(d.message, "connection unusable since");
}

static void test_seqnum_mismatch_is_refused(void)
{
	import_ok();
	uint8_t reply[48 + 18] = {0};
	ret_submit(reply, 7, 0, 18);
	send_all(F->server, reply, sizeof(reply));
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	FT_ASSERT_HEX(d.code, FT_ERR_PROTOCOL);
	assert_contains(d.message, "seqnum 7 while waiting for RET_SUBMIT seqnum 1");
}

static void test_unknown_reply_command_is_refused(void)
{
	import_ok();
	uint8_t reply[48];
	ret_submit(reply, 1, 0, 0);
	put32(reply, 0x00000001); /* a CMD_SUBMIT coming back */
	send_all(F->server, reply, sizeof(reply));
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	assert_contains(d.message, "command 0x00000001");
}

static void test_server_closing_mid_reply_is_a_clean_error(void)
{
	import_ok();
	uint8_t reply[48];
	ret_submit(reply, 1, 0, 18);
	send_all(F->server, reply, 20);
	shutdown(F->server, SHUT_WR);
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	FT_ASSERT_HEX(d.code, FT_ERR_PROTOCOL);
	assert_contains(d.message, "after 20 of 48 bytes");
}

static void test_server_closing_mid_payload_is_a_clean_error(void)
{
	import_ok();
	uint8_t reply[48 + 4] = {0};
	ret_submit(reply, 1, 0, 18);
	send_all(F->server, reply, sizeof(reply));
	shutdown(F->server, SHUT_WR);
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_IO);
	FT_ASSERT_HEX(d.code, FT_ERR_PROTOCOL);
	assert_contains(d.message, "after 4 of 18 bytes of the RET_SUBMIT data");
}

static void test_server_closing_between_replies_means_no_device(void)
{
	import_ok();
	shutdown(F->server, SHUT_WR);
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
	              FT_TRANSFER_NO_DEVICE);
}

static void test_urb_status_maps_to_transfer_status(void)
{
	import_ok();
	const int32_t statuses[4] = {-32 /* EPIPE */, -19 /* ENODEV */, -110 /* ETIMEDOUT */,
	                             -71 /* EPROTO */};
	const ft_transfer_status expected[4] = {FT_TRANSFER_STALL, FT_TRANSFER_NO_DEVICE,
	                                        FT_TRANSFER_TIMEOUT, FT_TRANSFER_IO};
	for (uint32_t i = 0; i < 4; i++) {
		uint8_t reply[48];
		ret_submit(reply, i + 1, statuses[i], 0);
		send_all(F->server, reply, sizeof(reply));
		uint8_t buf[18];
		size_t actual;
		ft_diag d;
		FT_ASSERT_HEX(
		    ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
		    expected[i]);
	}
}

/* A server thread for the exchanges that cannot be queued in advance. */

typedef struct server {
	int listener;
	uint16_t port;
	pthread_t thread;
	void (*script)(struct server *s);
	int sock; /* socketpair scripts: the server end */
	char failure[160];
} server;

static void server_fail(server *s, const char *what)
{
	if (!s->failure[0])
		snprintf(s->failure, sizeof(s->failure), "server: %s", what);
}

static void *server_main(void *arg)
{
	server *s = arg;
	s->script(s);
	return NULL;
}

static int server_accept(server *s)
{
	struct pollfd p = {s->listener, POLLIN, 0};
	if (poll(&p, 1, SERVER_WAIT_MS) != 1) {
		server_fail(s, "no connection");
		return -1;
	}
	return accept(s->listener, NULL, NULL);
}

static void server_start_tcp(server *s, void (*script)(server *))
{
	memset(s, 0, sizeof(*s));
	s->script = script;
	s->listener = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(s->listener >= 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	CU_ASSERT_FATAL(bind(s->listener, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(s->listener, 4) == 0);
	socklen_t len = sizeof(a);
	CU_ASSERT_FATAL(getsockname(s->listener, (struct sockaddr *)&a, &len) == 0);
	s->port = ntohs(a.sin_port);
	CU_ASSERT_FATAL(pthread_create(&s->thread, NULL, server_main, s) == 0);
}

static void server_finish(server *s)
{
	pthread_join(s->thread, NULL);
	if (s->listener > 0)
		close(s->listener);
	CU_ASSERT_STRING_EQUAL(s->failure, "");
}

/* Answers one DEVLIST connection with the given busids. */
static void serve_devlist(server *s, int fd, const char *const *busids, size_t n)
{
	uint8_t req[8];
	if (!recv_all(fd, req, sizeof(req)) || get32(req) != 0x01118005u) {
		server_fail(s, "bad OP_REQ_DEVLIST");
		return;
	}
	uint8_t reply[12 + 4 * 316];
	size_t len = op_reply(reply, 0x0005, 0);
	put32(reply + len, (uint32_t)n);
	len += 4;
	for (size_t i = 0; i < n; i++) {
		len += device_record(reply + len, busids[i], 1, (uint32_t)(2 + i), 1);
		const uint8_t dfu_if[4] = {0xFE, 0x01, 0x02, 0x00};
		memcpy(reply + len, dfu_if, 4);
		len += 4;
	}
	send_all(fd, reply, len);
}

static void script_only_device(server *s)
{
	static const char *const busids[1] = {"1-1"};
	int fd = server_accept(s);
	if (fd < 0)
		return;
	serve_devlist(s, fd, busids, 1);
	close(fd);
	fd = server_accept(s);
	if (fd < 0)
		return;
	uint8_t req[40];
	if (!recv_all(fd, req, sizeof(req)) || get32(req) != 0x01118003u ||
	    strcmp((const char *)req + 8, "1-1") != 0) {
		server_fail(s, "bad OP_REQ_IMPORT");
	} else {
		uint8_t reply[320];
		size_t len = op_reply(reply, 0x0003, 0);
		len += device_record(reply + len, "1-1", 1, 2, 1);
		send_all(fd, reply, len);
	}
	/* Hold the connection until the client closes it. */
	uint8_t byte;
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, SERVER_WAIT_MS) == 1 && recv(fd, &byte, 1, 0) != 0)
		server_fail(s, "unexpected URB");
	close(fd);
}

static void test_default_busid_is_the_only_exported_device(void)
{
	server s;
	server_start_tcp(&s, script_only_device);
	char conn[64];
	snprintf(conn, sizeof(conn), "usbip://127.0.0.1:%u", s.port);
	ft_transport *t = NULL;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_open(conn, &t, &d), FT_OK);
	char expected[80];
	snprintf(expected, sizeof(expected), "usbip://127.0.0.1:%u/1-1", s.port);
	if (t)
		CU_ASSERT_STRING_EQUAL(ft_transport_describe(t), expected);
	ft_transport_close(t);
	server_finish(&s);
}

static void script_two_devices(server *s)
{
	static const char *const busids[2] = {"1-1", "1-2"};
	int fd = server_accept(s);
	if (fd < 0)
		return;
	serve_devlist(s, fd, busids, 2);
	close(fd);
}

static void test_two_exported_devices_need_a_busid(void)
{
	server s;
	server_start_tcp(&s, script_two_devices);
	char conn[64];
	snprintf(conn, sizeof(conn), "usbip://127.0.0.1:%u", s.port);
	ft_transport *t = NULL;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_open(conn, &t, &d), FT_ERR_INVALID_ARG);
	assert_contains(d.message, "2 devices (1-1, 1-2)");
	server_finish(&s);
}

static void test_list_through_the_transport_api(void)
{
	server s;
	server_start_tcp(&s, script_two_devices);
	char conn[64];
	snprintf(conn, sizeof(conn), "usbip://127.0.0.1:%u", s.port);
	ft_transport_device devs[4];
	size_t count;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_list(conn, devs, 4, &count, &d), FT_OK);
	FT_ASSERT_HEX(count, 2);
	CU_ASSERT_STRING_EQUAL(devs[1].id, "1-2");
	FT_ASSERT_HEX(devs[1].pid, 0xDF11);
	server_finish(&s);
}

static void test_refused_connection_is_an_io_error(void)
{
	/* A port that was just free: bind, read it, close. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	socklen_t len = sizeof(a);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	ft_usbip_client *c = NULL;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_import("127.0.0.1", ntohs(a.sin_port), "1-1", 1000, &c, &d),
	              FT_ERR_IO);
	assert_contains(d.message, "cannot connect to 127.0.0.1");
	CU_ASSERT_PTR_NULL(c);
}

/* Late replies on the socketpair: the thread reads the client's URBs and answers them. */

static void script_unlink_then_answer(server *s)
{
	uint8_t cmd[48], reply[48 + 18] = {0};
	/* URB 1 is never answered; its CMD_UNLINK (seqnum 2) is. */
	if (!recv_all(s->sock, cmd, 48) || get32(cmd) != 1 || get32(cmd + 4) != 1) {
		server_fail(s, "bad CMD_SUBMIT 1");
		return;
	}
	if (!recv_all(s->sock, cmd, 48) || get32(cmd) != 2 || get32(cmd + 4) != 2 ||
	    get32(cmd + 20) != 1) {
		server_fail(s, "bad CMD_UNLINK");
		return;
	}
	ret_unlink(reply, 2, -104 /* ECONNRESET: unlinked */);
	send_all(s->sock, reply, 48);
	/* URB 3 completes normally. */
	if (!recv_all(s->sock, cmd, 48) || get32(cmd) != 1 || get32(cmd + 4) != 3) {
		server_fail(s, "bad CMD_SUBMIT 3");
		return;
	}
	ret_submit(reply, 3, 0, 18);
	send_all(s->sock, reply, sizeof(reply));
}

static void script_late_reply_crosses_unlink(server *s)
{
	uint8_t cmd[48], reply[48 + 48 + 18] = {0};
	if (!recv_all(s->sock, cmd, 48) || !recv_all(s->sock, cmd, 48) || get32(cmd) != 2) {
		server_fail(s, "bad CMD_SUBMIT/CMD_UNLINK");
		return;
	}
	/* The URB completed while the unlink travelled: its RET_SUBMIT, then RET_UNLINK 0. */
	ret_submit(reply, 1, 0, 18);
	ret_unlink(reply + 48 + 18, 2, 0);
	send_all(s->sock, reply, sizeof(reply));
}

static void run_timeout_case(void (*script)(server *), bool second_transfer)
{
	import_ok();
	server s;
	memset(&s, 0, sizeof(s));
	s.sock = F->server;
	s.script = script;
	CU_ASSERT_FATAL(pthread_create(&s.thread, NULL, server_main, &s) == 0);
	uint8_t buf[18];
	size_t actual;
	ft_diag d;
	FT_ASSERT_HEX(ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 50, &actual, &d),
	              FT_TRANSFER_TIMEOUT);
	assert_contains(d.message, "no RET_SUBMIT for seqnum 1 within 50 ms; URB unlinked");
	if (second_transfer)
		FT_ASSERT_HEX(
		    ft_usbip_control(F->c, GET_DEVICE_DESCRIPTOR, buf, 18, 1000, &actual, &d),
		    FT_TRANSFER_OK);
	pthread_join(s.thread, NULL);
	CU_ASSERT_STRING_EQUAL(s.failure, "");
}

static void test_timeout_unlinks_the_urb_and_keeps_the_link(void)
{
	run_timeout_case(script_unlink_then_answer, true);
}

static void test_reply_crossing_the_unlink_is_dropped(void)
{
	run_timeout_case(script_late_reply_crosses_unlink, false);
}

/* Pure parsers. */

static void test_reply_parser_checks_command_and_iso_packets(void)
{
	uint8_t hdr[48];
	ft_usbip_reply r;
	ft_diag d;
	ret_submit(hdr, 5, -32, 0);
	FT_ASSERT_HEX(ft_usbip_parse_reply(hdr, &r, &d), FT_OK);
	FT_ASSERT_HEX(r.command, 3);
	FT_ASSERT_HEX(r.seqnum, 5);
	FT_ASSERT_HEX((uint32_t)r.status, (uint32_t)-32);
	put32(hdr + 32, 0xFFFFFFFF); /* number_of_packets -1: not ISO */
	FT_ASSERT_HEX(ft_usbip_parse_reply(hdr, &r, &d), FT_OK);
	put32(hdr + 32, 3);
	FT_ASSERT_HEX(ft_usbip_parse_reply(hdr, &r, &d), FT_ERR_PROTOCOL);
	assert_contains(d.message, "3 ISO packets");
	ret_submit(hdr, 5, 0, 8);
	FT_ASSERT_HEX(ft_usbip_parse_reply(hdr, &r, &d), FT_OK);
	FT_ASSERT_HEX(ft_usbip_check_ret_submit(&r, 5, 8, &d), FT_OK);
	FT_ASSERT_HEX(ft_usbip_check_ret_submit(&r, 5, 7, &d), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(ft_usbip_check_ret_submit(&r, 6, 8, &d), FT_ERR_PROTOCOL);
}

static void test_device_record_strings_are_bounded(void)
{
	uint8_t rec[312];
	memset(rec, 'A', sizeof(rec)); /* no NUL anywhere */
	rec[256] = 0x07;               /* a control character in the busid */
	ft_usbip_device info;
	FT_ASSERT_HEX(ft_usbip_parse_device(rec, &info, NULL), FT_OK);
	/* the whole field, and no more: path[256] and busid[32] on the wire */
	FT_ASSERT_HEX(strlen(info.path), 256);
	FT_ASSERT_HEX(strlen(info.busid), 32);
	FT_ASSERT_HEX(info.busid[0], '?');
}

static CU_TestInfo tests[] = {
    {"devlist_parses_exported_devices", test_devlist_parses_exported_devices},
    {"devlist_truncated_by_the_server_is_refused", test_devlist_truncated_by_the_server_is_refused},
    {"devlist_with_absurd_device_count_is_refused",
     test_devlist_with_absurd_device_count_is_refused},
    {"import_sends_the_busid_and_reads_the_device",
     test_import_sends_the_busid_and_reads_the_device},
    {"import_failure_status_is_reported", test_import_failure_status_is_reported},
    {"import_of_a_busy_device_is_busy", test_import_of_a_busy_device_is_busy},
    {"import_answered_with_another_busid_is_refused",
     test_import_answered_with_another_busid_is_refused},
    {"other_protocol_version_is_refused", test_other_protocol_version_is_refused},
    {"control_in_sends_cmd_submit_with_raw_setup", test_control_in_sends_cmd_submit_with_raw_setup},
    {"control_out_sends_its_payload", test_control_out_sends_its_payload},
    {"ret_submit_longer_than_requested_is_refused",
     test_ret_submit_longer_than_requested_is_refused},
    {"seqnum_mismatch_is_refused", test_seqnum_mismatch_is_refused},
    {"unknown_reply_command_is_refused", test_unknown_reply_command_is_refused},
    {"server_closing_mid_reply_is_a_clean_error", test_server_closing_mid_reply_is_a_clean_error},
    {"server_closing_mid_payload_is_a_clean_error",
     test_server_closing_mid_payload_is_a_clean_error},
    {"server_closing_between_replies_means_no_device",
     test_server_closing_between_replies_means_no_device},
    {"urb_status_maps_to_transfer_status", test_urb_status_maps_to_transfer_status},
    {"default_busid_is_the_only_exported_device", test_default_busid_is_the_only_exported_device},
    {"two_exported_devices_need_a_busid", test_two_exported_devices_need_a_busid},
    {"list_through_the_transport_api", test_list_through_the_transport_api},
    {"refused_connection_is_an_io_error", test_refused_connection_is_an_io_error},
    {"timeout_unlinks_the_urb_and_keeps_the_link", test_timeout_unlinks_the_urb_and_keeps_the_link},
    {"reply_crossing_the_unlink_is_dropped", test_reply_crossing_the_unlink_is_dropped},
    {"reply_parser_checks_command_and_iso_packets",
     test_reply_parser_checks_command_and_iso_packets},
    {"device_record_strings_are_bounded", test_device_record_strings_are_bounded},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usbip_client", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
