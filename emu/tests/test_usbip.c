/* The USB/IP server against a scripted client over loopback TCP: management replies at the
 * protocol's offsets, URBs as conversation tables (what the client sends, what it must get
 * back), unlink, reset, clients that vanish and clients that send garbage.
 *
 * The client runs on the test's thread and turns the server loop while it waits, so every
 * exchange is deterministic. Wire values are written from usbip_protocol.rst (emulators.md §4),
 * not from the server's headers. */
#include "emu/usbip/usbip_server.h"
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Server turns a client waits for a reply before the test gives up (10 ms each at most). */
#define MAX_TURNS 500

/* usbip_protocol.rst. */
#define CMD_SUBMIT   1
#define CMD_UNLINK   2
#define RET_SUBMIT   3
#define RET_UNLINK   4
#define DIR_OUT      0
#define DIR_IN       1
#define DEVID        0x00010002u /* busid 1-1: busnum 1, devnum 2 */
#define SHORT_NOT_OK 0x1

/* The loopback device's descriptors (models/usb_loopback.h). */
static const uint8_t device_descriptor[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09,
                                              0x12, 0x01, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01};
static const uint8_t config_descriptor[50] = {
    0x09, 0x02, 0x32, 0x00, 0x02, 0x01, 0x00, 0xe0, 0x32, /* configuration 1 */
    0x09, 0x04, 0x00, 0x00, 0x02, 0xff, 0x00, 0x00, 0x00, /* interface 0 alt 0 */
    0x07, 0x05, 0x01, 0x02, 0x40, 0x00, 0x00,             /* bulk OUT 1 */
    0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00,             /* bulk IN 1 */
    0x09, 0x04, 0x00, 0x01, 0x00, 0xff, 0x00, 0x00, 0x00, /* interface 0 alt 1 */
    0x09, 0x04, 0x01, 0x00, 0x00, 0xff, 0x42, 0x01, 0x00, /* interface 1 */
};
static const uint8_t string_langids[4] = {0x04, 0x03, 0x09, 0x04};
/* The first 4 bytes of string 1, "flashtwin": bLength 20, STRING, 'f' in UTF-16LE. */
static const uint8_t string_manufacturer_head[4] = {0x14, 0x03, 'f', 0x00};
static const uint8_t string_product[18] = {0x12, 0x03, 'l', 0,   'o', 0,   'o', 0,   'p',
                                           0,    'b',  0,   'a', 0,   'c', 0,   'k', 0};

/* Setup packets, USB 2.0 §9.3: bmRequestType, bRequest, wValue, wIndex, wLength (LE). */
#define GET_DEVICE_DESCRIPTOR(len)                                                                 \
	{                                                                                          \
		0x80, 0x06, 0x00, 0x01, 0x00, 0x00, (len), 0x00                                    \
	}
#define GET_CONFIG_DESCRIPTOR(len)                                                                 \
	{                                                                                          \
		0x80, 0x06, 0x00, 0x02, 0x00, 0x00, (len), 0x00                                    \
	}
#define GET_STRING(index, len)                                                                     \
	{                                                                                          \
		0x80, 0x06, (index), 0x03, 0x09, 0x04, (len), 0x00                                 \
	}
#define SET_CONFIGURATION_1                                                                        \
	{                                                                                          \
		0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00                                     \
	}
#define VENDOR_WRITE(len)                                                                          \
	{                                                                                          \
		0x40, 0x01, 0x00, 0x00, 0x00, 0x00, (len), 0x00                                    \
	}
#define VENDOR_READ(len)                                                                           \
	{                                                                                          \
		0xc0, 0x02, 0x00, 0x00, 0x00, 0x00, (len), 0x00                                    \
	}
#define VENDOR_STALL                                                                               \
	{                                                                                          \
		0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00                                     \
	}
#define VENDOR_ERROR                                                                               \
	{                                                                                          \
		0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00                                     \
	}
#define VENDOR_WAIT                                                                                \
	{                                                                                          \
		0xc0, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00                                     \
	}
/* SET_FEATURE(PORT_RESET) to port 1: USB_RT_PORT 0x23, SET_FEATURE 3, wValue 4 (stub_rx.c). */
#define PORT_RESET                                                                                 \
	{                                                                                          \
		0x23, 0x03, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00                                     \
	}

typedef struct log_line {
	ft_usbip_log_level level;
	char text[320];
} log_line;

typedef struct event {
	ft_usbip_urb_event_kind kind;
	uint32_t seqnum;
	uint8_t endpoint;
	ft_usb_xfer_type type;
	bool has_setup;
	uint8_t setup[8];
	int32_t status;
	uint8_t data[64];
	size_t data_len;
} event;

static struct {
	ft_usb_loopback *lb;
	ft_usb_device dev;
	ft_usbip_server *srv;
	log_line log[64];
	unsigned log_count;
	event events[600];
	unsigned event_count;
	unsigned device_calls; /* control and transfer calls that reached the device */
	uint8_t last_setup[8];
	const char *stop_on; /* log text that sets stop */
	atomic_bool stop;
	ft_clock *clock; /* the paced server's, when a test uses one */
} fx;

/* --- fixture: the loopback device behind a spy that records what reaches it ------------- */

static const uint8_t *spy_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                     size_t *len)
{
	ft_usb_device lb = ft_usb_loopback_device(ctx);
	return lb.ops->descriptor(lb.ctx, type, index, langid, len);
}

static ft_usb_status spy_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                 size_t *actual)
{
	ft_usb_device lb = ft_usb_loopback_device(ctx);
	fx.device_calls++;
	memcpy(fx.last_setup, setup, 8);
	return lb.ops->control(lb.ctx, setup, data, len, actual);
}

static ft_usb_status spy_transfer(void *ctx, uint8_t endpoint, uint8_t *data, size_t len,
                                  size_t *actual)
{
	ft_usb_device lb = ft_usb_loopback_device(ctx);
	fx.device_calls++;
	return lb.ops->transfer(lb.ctx, endpoint, data, len, actual);
}

static void spy_reset(void *ctx)
{
	ft_usb_device lb = ft_usb_loopback_device(ctx);
	lb.ops->reset(lb.ctx);
}

static const ft_usb_device_ops spy_ops = {
    .descriptor = spy_descriptor,
    .control = spy_control,
    .transfer = spy_transfer,
    .reset = spy_reset,
};

static void log_sink(void *ctx, ft_usbip_log_level level, const char *session, const char *msg)
{
	(void)ctx;
	CU_ASSERT_STRING_EQUAL(session, "test-board");
	if (fx.stop_on && strstr(msg, fx.stop_on))
		atomic_store(&fx.stop, true);
	if (fx.log_count == sizeof(fx.log) / sizeof(fx.log[0]))
		return;
	fx.log[fx.log_count].level = level;
	snprintf(fx.log[fx.log_count].text, sizeof(fx.log[0].text), "%s", msg);
	fx.log_count++;
}

static void observer(void *ctx, const ft_usbip_urb_event *ev)
{
	(void)ctx;
	if (fx.event_count == sizeof(fx.events) / sizeof(fx.events[0]))
		return;
	event *e = &fx.events[fx.event_count++];
	e->kind = ev->kind;
	e->seqnum = ev->seqnum;
	e->endpoint = ev->endpoint;
	e->type = ev->type;
	e->has_setup = ev->setup != NULL;
	if (ev->setup)
		memcpy(e->setup, ev->setup, 8);
	e->status = ev->status;
	e->data_len = ev->data_len;
	if (ev->data)
		memcpy(e->data, ev->data,
		       ev->data_len < sizeof(e->data) ? ev->data_len : sizeof(e->data));
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.lb = ft_usb_loopback_new();
	if (!fx.lb)
		return;
	fx.dev = (ft_usb_device){.ops = &spy_ops, .ctx = fx.lb, .speed = FT_USB_SPEED_FULL};
	ft_usbip_server_config cfg = {
	    .session = "test-board",
	    .log = log_sink,
	    .observer = observer,
	};
	ft_usbip_server_new(&cfg, &fx.dev, &fx.srv, NULL);
}

static void teardown(void)
{
	ft_usbip_server_free(fx.srv);
	ft_usb_loopback_free(fx.lb);
	ft_clock_free(fx.clock);
}

/* Replaces the fixture's server by one that paces URBs at USB full speed on a manual clock. */
static void use_paced_server(void)
{
	ft_usbip_server_free(fx.srv);
	fx.srv = NULL;
	fx.clock = ft_clock_new(FT_CLOCK_MANUAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.clock);
	ft_usbip_server_config cfg = {.session = "test-board",
	                              .log = log_sink,
	                              .observer = observer,
	                              .pacing = FT_USBIP_PACING_FULL_SPEED,
	                              .clock = fx.clock};
	FT_ASSERT_HEX(ft_usbip_server_new(&cfg, &fx.dev, &fx.srv, NULL), FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
}

/* The newest log line at level that contains text, or NULL. */
static const char *logged(ft_usbip_log_level level, const char *text)
{
	for (unsigned i = fx.log_count; i-- > 0;)
		if (fx.log[i].level == level && strstr(fx.log[i].text, text))
			return fx.log[i].text;
	return NULL;
}

static void turn(int timeout_ms)
{
	CU_ASSERT_EQUAL(ft_usbip_server_run_once(fx.srv, timeout_ms, NULL), FT_OK);
}

/* --- the scripted client ---------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_port = htons(ft_usbip_server_port(fx.srv))};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return fd;
}

/* Sends everything, turning the server while the socket is full. false when the server has
 * closed the connection. */
static bool client_send(int fd, const void *buf, size_t len)
{
	size_t sent = 0;
	for (int t = 0; t < MAX_TURNS && sent < len; t++) {
		ssize_t n =
		    send(fd, (const uint8_t *)buf + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		turn(10);
	}
	return sent == len;
}

/* Receives exactly len bytes, turning the server while waiting. */
static bool client_recv(int fd, void *buf, size_t len)
{
	size_t got = 0;
	for (int t = 0; t < MAX_TURNS && got < len; t++) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return false;
		turn(10);
	}
	return got == len;
}

/* The server closed the connection: end of stream or reset, after any data. */
static bool client_sees_close(int fd)
{
	uint8_t scratch[4096];
	for (int t = 0; t < MAX_TURNS; t++) {
		ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		if (n < 0)
			turn(10);
	}
	return false;
}

/* Nothing arrives while the server takes a few turns. */
static bool client_hears_nothing(int fd)
{
	for (int t = 0; t < 5; t++)
		turn(0);
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Turns the server until it has logged text at level. */
static bool server_logs(ft_usbip_log_level level, const char *text)
{
	for (int t = 0; t < MAX_TURNS && !logged(level, text); t++)
		turn(10);
	return logged(level, text) != NULL;
}

static void import_request(uint8_t out[40], const char *busid)
{
	static const uint8_t head[8] = {0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0};
	memset(out, 0, 40);
	memcpy(out, head, sizeof(head));
	memcpy(out + 8, busid, strlen(busid));
}

/* A client that has imported 1-1. */
static int client_import(void)
{
	int fd = client_connect();
	uint8_t req[40], rep[320];
	import_request(req, "1-1");
	CU_ASSERT_FATAL(client_send(fd, req, sizeof(req)));
	CU_ASSERT_FATAL(client_recv(fd, rep, sizeof(rep)));
	FT_ASSERT_HEX(be32(rep + 4), 0); /* status ST_OK */
	return fd;
}

/* --- conversation tables ---------------------------------------------------------------- */

typedef enum step_kind {
	SUBMIT,        /* client sends CMD_SUBMIT (with data when OUT) */
	UNLINK,        /* client sends CMD_UNLINK of .unlink */
	EXPECT_SUBMIT, /* client reads RET_SUBMIT .seqnum with .status and .data */
	EXPECT_UNLINK, /* client reads RET_UNLINK .seqnum with .status */
} step_kind;

typedef struct step {
	step_kind kind;
	uint32_t seqnum;
	uint32_t direction; /* SUBMIT */
	uint32_t ep;
	uint32_t flags;
	uint8_t setup[8];
	uint32_t length;  /* transfer_buffer_length */
	const char *data; /* OUT data sent, or IN data expected; data_len bytes */
	size_t data_len;
	int32_t status;  /* EXPECT_*: status */
	uint32_t actual; /* EXPECT_SUBMIT: actual_length */
	uint32_t unlink; /* UNLINK: the seqnum to unlink */
} step;

static void check(size_t index, const char *what, unsigned long long actual,
                  unsigned long long expected, unsigned line)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "step %zu: %s = 0x%llx, expected 0x%llx", index, what, actual,
	         expected);
	CU_assertImplementation(actual == expected, line, msg, __FILE__, "", CU_FALSE);
}
#define CHECK(i, what, a, e)                                                                       \
	check((i), (what), (unsigned long long)(a), (unsigned long long)(e), __LINE__)

static void send_step(int fd, const step *s)
{
	uint8_t msg[48 + 256] = {0};
	put32(msg, s->kind == SUBMIT ? CMD_SUBMIT : CMD_UNLINK);
	put32(msg + 4, s->seqnum);
	put32(msg + 8, DEVID);
	size_t len = 48;
	if (s->kind == SUBMIT) {
		put32(msg + 12, s->direction);
		put32(msg + 16, s->ep);
		put32(msg + 20, s->flags);
		put32(msg + 24, s->length);
		put32(msg + 36, 0); /* interval */
		memcpy(msg + 40, s->setup, 8);
		if (s->direction == DIR_OUT && s->data_len) {
			memcpy(msg + 48, s->data, s->data_len);
			len += s->data_len;
		}
	} else {
		put32(msg + 20, s->unlink);
	}
	CU_ASSERT(client_send(fd, msg, len));
}

/* The URB a reply answers was submitted IN: the last SUBMIT before it with its seqnum. */
static bool submitted_in(const step *steps, size_t reply, uint32_t seqnum)
{
	for (size_t i = reply; i-- > 0;)
		if (steps[i].kind == SUBMIT && steps[i].seqnum == seqnum)
			return steps[i].direction == DIR_IN;
	return false;
}

/* Plays the steps in order: requests go out as they come, so consecutive requests are
 * pipelined; each expected reply is read in its turn and must be the next on the wire. */
static void run_chat(int fd, const step *steps, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const step *s = &steps[i];
		if (s->kind == SUBMIT || s->kind == UNLINK) {
			send_step(fd, s);
			continue;
		}
		uint8_t hdr[48];
		if (!client_recv(fd, hdr, sizeof(hdr))) {
			CHECK(i, "reply received", 0, 1);
			return;
		}
		CHECK(i, "command", be32(hdr), s->kind == EXPECT_SUBMIT ? RET_SUBMIT : RET_UNLINK);
		CHECK(i, "seqnum", be32(hdr + 4), s->seqnum);
		CHECK(i, "devid direction ep", be32(hdr + 8) | be32(hdr + 12) | be32(hdr + 16), 0);
		CHECK(i, "status", (int32_t)be32(hdr + 20), s->status);
		if (s->kind == EXPECT_UNLINK)
			continue;
		uint32_t actual = be32(hdr + 24);
		CHECK(i, "actual_length", actual, s->actual);
		if (submitted_in(steps, i, s->seqnum) && actual <= 256) {
			uint8_t data[256];
			CU_ASSERT_FATAL(client_recv(fd, data, actual));
			CHECK(i, "IN data length", actual, s->data_len);
			FT_ASSERT_BYTES(data, s->data, s->data_len < actual ? s->data_len : actual);
		}
	}
}
#define RUN_CHAT(fd, steps) run_chat((fd), (steps), sizeof(steps) / sizeof((steps)[0]))

/* Rows of a conversation table. */
#define CTRL_IN(seq, len, ...)                                                                     \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_IN, .length = (len),             \
		.setup = __VA_ARGS__                                                               \
	}
#define CTRL_IN_SHORT_NOT_OK(seq, len, ...)                                                        \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_IN, .flags = SHORT_NOT_OK,       \
		.length = (len), .setup = __VA_ARGS__                                              \
	}
#define CTRL_OUT(seq, text, ...)                                                                   \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_OUT, .length = sizeof(text) - 1, \
		.data = (text), .data_len = sizeof(text) - 1, .setup = __VA_ARGS__                 \
	}
#define CTRL_NODATA(seq, ...)                                                                      \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_OUT, .setup = __VA_ARGS__        \
	}
#define BULK_IN(seq, ep_, len)                                                                     \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_IN, .ep = (ep_), .length = (len) \
	}
#define BULK_OUT(seq, ep_, text)                                                                   \
	{                                                                                          \
		.kind = SUBMIT, .seqnum = (seq), .direction = DIR_OUT, .ep = (ep_),                \
		.length = sizeof(text) - 1, .data = (text), .data_len = sizeof(text) - 1           \
	}
#define UNLINK_OF(seq, target)                                                                     \
	{                                                                                          \
		.kind = UNLINK, .seqnum = (seq), .unlink = (target)                                \
	}
/* A RET_SUBMIT without IN data. */
#define RET(seq, st, act)                                                                          \
	{                                                                                          \
		.kind = EXPECT_SUBMIT, .seqnum = (seq), .status = (st), .actual = (act)            \
	}
/* A RET_SUBMIT with n bytes of IN data. */
#define RET_DATA(seq, st, bytes, n)                                                                \
	{                                                                                          \
		.kind = EXPECT_SUBMIT, .seqnum = (seq), .status = (st), .actual = (n),             \
		.data = (const char *)(bytes), .data_len = (n)                                     \
	}
#define RET_TEXT(seq, text) RET_DATA(seq, 0, text, sizeof(text) - 1)
#define RET_UNLINK_OF(seq, st)                                                                     \
	{                                                                                          \
		.kind = EXPECT_UNLINK, .seqnum = (seq), .status = (st)                             \
	}

/* --- management phase ------------------------------------------------------------------- */

static void test_devlist_reply_describes_device_at_protocol_offsets(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_connect();
	static const uint8_t req[8] = {0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0};
	CU_ASSERT_FATAL(client_send(fd, req, sizeof(req)));
	uint8_t rep[12 + 312 + 2 * 4];
	CU_ASSERT_FATAL(client_recv(fd, rep, sizeof(rep)));
	FT_ASSERT_HEX(be16(rep + 0x00), 0x0111);
	FT_ASSERT_HEX(be16(rep + 0x02), 0x0005);
	FT_ASSERT_HEX(be32(rep + 0x04), 0);
	FT_ASSERT_HEX(be32(rep + 0x08), 1); /* one device */
	CU_ASSERT_STRING_EQUAL((const char *)rep + 0x0c, "/sys/devices/flashtwin/usb1/1-1");
	CU_ASSERT_STRING_EQUAL((const char *)rep + 0x10c, "1-1");
	FT_ASSERT_HEX(be32(rep + 0x12c), 1);      /* busnum */
	FT_ASSERT_HEX(be32(rep + 0x130), 2);      /* devnum */
	FT_ASSERT_HEX(be32(rep + 0x134), 2);      /* speed: full */
	FT_ASSERT_HEX(be16(rep + 0x138), 0x1209); /* idVendor */
	FT_ASSERT_HEX(be16(rep + 0x13a), 0x0001); /* idProduct */
	FT_ASSERT_HEX(be16(rep + 0x13c), 0x0100); /* bcdDevice */
	static const uint8_t tail[] = {
	    0x00, 0x00, 0x00, /* device class, subclass, protocol */
	    0x01, 0x01, 0x02, /* bConfigurationValue, bNumConfigurations, bNumInterfaces */
	    0xff, 0x00, 0x00, 0x00, 0xff, 0x42, 0x01, 0x00, /* interfaces 0 and 1 */
	};
	FT_ASSERT_BYTES(rep + 0x13e, tail, sizeof(tail));
	CU_ASSERT(client_sees_close(fd));
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_INFO, "listed 1-1"));
	close(fd);
}

static void test_import_reply_carries_status_ok_and_device(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_connect();
	uint8_t req[40], rep[320];
	import_request(req, "1-1");
	CU_ASSERT_FATAL(client_send(fd, req, sizeof(req)));
	CU_ASSERT_FATAL(client_recv(fd, rep, sizeof(rep)));
	FT_ASSERT_HEX(be16(rep), 0x0111);
	FT_ASSERT_HEX(be16(rep + 2), 0x0003);
	FT_ASSERT_HEX(be32(rep + 4), 0);
	CU_ASSERT_STRING_EQUAL((const char *)rep + 8 + 0x100, "1-1");
	FT_ASSERT_HEX(be32(rep + 8 + 0x128), 2);      /* speed */
	FT_ASSERT_HEX(be16(rep + 8 + 0x12c), 0x1209); /* idVendor */
	FT_ASSERT_HEX(rep[8 + 0x137], 2);             /* bNumInterfaces */
	CU_ASSERT(client_hears_nothing(fd));          /* no interface list after an import reply */
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_INFO, "imported 1-1"));
	close(fd);
}

static void test_second_import_while_attached_is_refused_with_st_na(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int a = client_import();
	int b = client_connect();
	uint8_t req[40], rep[8];
	import_request(req, "1-1");
	CU_ASSERT_FATAL(client_send(b, req, sizeof(req)));
	CU_ASSERT_FATAL(client_recv(b, rep, sizeof(rep)));
	static const uint8_t refused[8] = {0x01, 0x11, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01};
	FT_ASSERT_BYTES(rep, refused, sizeof(refused));
	CU_ASSERT(client_sees_close(b));
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_WARNING, "refused: attached to client #1"));
	static const step still_attached[] = {
	    CTRL_IN(1, 18, GET_DEVICE_DESCRIPTOR(18)),
	    RET_DATA(1, 0, device_descriptor, 18),
	};
	RUN_CHAT(a, still_attached);
	close(a);
	close(b);
}

static void test_import_of_unknown_busid_is_refused_with_st_nodev(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_connect();
	uint8_t req[40], rep[8];
	import_request(req, "2-1");
	CU_ASSERT_FATAL(client_send(fd, req, sizeof(req)));
	CU_ASSERT_FATAL(client_recv(fd, rep, sizeof(rep)));
	FT_ASSERT_HEX(be32(rep + 4), 4);
	CU_ASSERT(client_sees_close(fd));
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_WARNING, "unknown busid \"2-1\""));
	close(fd);
}

/* --- URBs ------------------------------------------------------------------------------- */

static void test_descriptors_are_read_through_submit(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN(1, 18, GET_DEVICE_DESCRIPTOR(18)),   RET_DATA(1, 0, device_descriptor, 18),
	    CTRL_IN(2, 9, GET_CONFIG_DESCRIPTOR(9)),     RET_DATA(2, 0, config_descriptor, 9),
	    CTRL_IN(3, 255, GET_CONFIG_DESCRIPTOR(255)), RET_DATA(3, 0, config_descriptor, 50),
	    CTRL_IN(4, 255, GET_STRING(0, 255)),         RET_DATA(4, 0, string_langids, 4),
	    CTRL_IN(5, 255, GET_STRING(2, 255)),         RET_DATA(5, 0, string_product, 18),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_pipelined_urbs_are_each_answered_by_seqnum(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN(0x101, 8, GET_DEVICE_DESCRIPTOR(8)),
	    CTRL_OUT(0x102, "abc", VENDOR_WRITE(3)),
	    CTRL_IN(0x103, 3, VENDOR_READ(3)),
	    CTRL_NODATA(0x104, VENDOR_STALL),
	    CTRL_IN(0x105, 4, GET_STRING(1, 4)),
	    RET_DATA(0x101, 0, device_descriptor, 8),
	    RET(0x102, 0, 3),
	    RET_TEXT(0x103, "abc"),
	    RET(0x104, -32, 0),
	    RET_DATA(0x105, 0, string_manufacturer_head, 4),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_setup_bytes_reach_device_unchanged(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN(7, 3, {0xc0, 0x02, 0xef, 0xbe, 0x34, 0x12, 0x03, 0x00}),
	    RET(7, 0, 0),
	};
	RUN_CHAT(fd, chat);
	static const uint8_t expected[8] = {0xc0, 0x02, 0xef, 0xbe, 0x34, 0x12, 0x03, 0x00};
	FT_ASSERT_BYTES(fx.last_setup, expected, 8);
	close(fd);
}

static void test_stall_and_transaction_error_map_to_negative_errno(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_NODATA(1, VENDOR_STALL),        RET(1, -32, 0), /* -EPIPE */
	    CTRL_NODATA(2, VENDOR_ERROR),        RET(2, -71, 0), /* -EPROTO */
	    CTRL_IN(3, 255, GET_STRING(9, 255)), RET(3, -32, 0),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_short_in_with_short_not_ok_reports_eremoteio(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN_SHORT_NOT_OK(1, 64, GET_DEVICE_DESCRIPTOR(64)),
	    RET_DATA(1, -121, device_descriptor, 18), /* -EREMOTEIO */
	    CTRL_IN(2, 64, GET_DEVICE_DESCRIPTOR(64)),
	    RET_DATA(2, 0, device_descriptor, 18),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_ep0_urbs_complete_in_order_behind_a_nak(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	/* WAIT NAKs until the bulk FIFO has data; the descriptor request behind it on EP0 must
	 * wait too, while the bulk OUT on its own endpoint goes first. */
	static const step chat[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	    CTRL_IN(2, 2, VENDOR_WAIT),
	    CTRL_IN(3, 18, GET_DEVICE_DESCRIPTOR(18)),
	    BULK_OUT(4, 1, "xyz"),
	    RET(4, 0, 3),
	    RET_DATA(2, 0, "\x03\x00", 2),
	    RET_DATA(3, 0, device_descriptor, 18),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_bulk_in_stays_pending_until_out_data_arrives(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step before[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	    BULK_IN(2, 1, 64),
	};
	RUN_CHAT(fd, before);
	CU_ASSERT(client_hears_nothing(fd));
	static const step after[] = {
	    BULK_OUT(3, 1, "hello"),
	    RET(3, 0, 5),
	    RET_TEXT(2, "hello"),
	};
	RUN_CHAT(fd, after);
	close(fd);
}

static void test_unlink_of_pending_urb_answers_econnreset_and_drops_it(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	    BULK_IN(2, 1, 64),
	    UNLINK_OF(3, 2),
	    RET_UNLINK_OF(3, -104), /* -ECONNRESET */
	    /* Had URB 2 survived, it would take this data before URB 5. */
	    BULK_OUT(4, 1, "xy"),
	    BULK_IN(5, 1, 64),
	    RET(4, 0, 2),
	    RET_TEXT(5, "xy"),
	};
	RUN_CHAT(fd, chat);
	CU_ASSERT(client_hears_nothing(fd));
	close(fd);
}

static void test_unlink_of_completed_urb_answers_zero(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN(1, 18, GET_DEVICE_DESCRIPTOR(18)),
	    RET_DATA(1, 0, device_descriptor, 18),
	    UNLINK_OF(2, 1),
	    RET_UNLINK_OF(2, 0),
	};
	RUN_CHAT(fd, chat);
	close(fd);
}

static void test_port_reset_request_resets_device_and_completes(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_OUT(1, "abc", VENDOR_WRITE(3)),
	    RET(1, 0, 3),
	    CTRL_NODATA(2, PORT_RESET),
	    RET(2, 0, 0),
	    /* The reset emptied the EP0 buffer. */
	    CTRL_IN(3, 3, VENDOR_READ(3)),
	    RET(3, 0, 0),
	};
	RUN_CHAT(fd, chat);
	FT_ASSERT_HEX(ft_usb_loopback_resets(fx.lb), 1);
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_INFO, "reset 1-1"));
	close(fd);
}

static void test_observer_sees_each_urb_submitted_and_completed(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step chat[] = {
	    CTRL_OUT(1, "abc", VENDOR_WRITE(3)),
	    RET(1, 0, 3),
	    CTRL_IN(2, 8, VENDOR_READ(8)),
	    RET_TEXT(2, "abc"),
	};
	RUN_CHAT(fd, chat);
	FT_ASSERT_HEX(fx.event_count, 4);
	static const struct {
		ft_usbip_urb_event_kind kind;
		uint32_t seqnum;
		uint8_t endpoint;
		int32_t status;
		size_t data_len;
	} expected[] = {
	    {FT_USBIP_URB_SUBMITTED, 1, 0x00, -115, 3},
	    {FT_USBIP_URB_COMPLETED, 1, 0x00, 0, 0},
	    {FT_USBIP_URB_SUBMITTED, 2, 0x80, -115, 0},
	    {FT_USBIP_URB_COMPLETED, 2, 0x80, 0, 3},
	};
	static const uint8_t write_setup[8] = VENDOR_WRITE(3);
	for (unsigned i = 0; i < 4 && i < fx.event_count; i++) {
		const event *e = &fx.events[i];
		FT_ASSERT_HEX(e->kind, expected[i].kind);
		FT_ASSERT_HEX(e->seqnum, expected[i].seqnum);
		FT_ASSERT_HEX(e->endpoint, expected[i].endpoint);
		FT_ASSERT_HEX(e->type, FT_USB_XFER_CONTROL);
		CU_ASSERT(e->has_setup);
		FT_ASSERT_HEX(e->status, expected[i].status);
		FT_ASSERT_HEX(e->data_len, expected[i].data_len);
		if (e->data_len)
			FT_ASSERT_BYTES(e->data, "abc", 3);
	}
	FT_ASSERT_BYTES(fx.events[0].setup, write_setup, 8);
	close(fd);
}

/* --- clients that go away --------------------------------------------------------------- */

static void test_client_vanishing_mid_message_keeps_device_and_server(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int a = client_import();
	static const step prepare[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	    CTRL_OUT(2, "keep", VENDOR_WRITE(4)),
	    RET(2, 0, 4),
	};
	RUN_CHAT(a, prepare);
	/* A bulk OUT of 100 bytes of which only 10 arrive. */
	uint8_t partial[48 + 10] = {0};
	put32(partial, CMD_SUBMIT);
	put32(partial + 4, 3);
	put32(partial + 8, DEVID);
	put32(partial + 16, 1);
	put32(partial + 24, 100);
	CU_ASSERT(client_send(a, partial, sizeof(partial)));
	unsigned calls = fx.device_calls;
	close(a);
	CU_ASSERT(server_logs(FT_USBIP_LOG_WARNING, "vanished mid-message: 58 of 148 bytes"));
	FT_ASSERT_HEX(fx.device_calls, calls);

	int b = client_import();
	static const step resume[] = {
	    CTRL_IN(1, 4, VENDOR_READ(4)),
	    RET_TEXT(1, "keep"),
	    BULK_OUT(2, 1, "z"),
	    BULK_IN(3, 1, 64),
	    RET(2, 0, 1),
	    RET_TEXT(3, "z"),
	};
	RUN_CHAT(b, resume);
	close(b);
}

static void test_client_vanishing_with_pending_urb_releases_device(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int a = client_import();
	static const step pending[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	    BULK_IN(2, 1, 64),
	};
	RUN_CHAT(a, pending);
	CU_ASSERT(client_hears_nothing(a));
	close(a);
	CU_ASSERT(server_logs(FT_USBIP_LOG_WARNING, "vanished with 1 URBs in flight"));
	const event *last = &fx.events[fx.event_count - 1];
	FT_ASSERT_HEX(last->kind, FT_USBIP_URB_COMPLETED);
	FT_ASSERT_HEX(last->seqnum, 2);
	FT_ASSERT_HEX(last->status, -19); /* -ENODEV */

	int b = client_import();
	static const step resume[] = {
	    BULK_OUT(1, 1, "q"),
	    BULK_IN(2, 1, 64),
	    RET(1, 0, 1),
	    RET_TEXT(2, "q"),
	};
	RUN_CHAT(b, resume);
	close(b);
}

static void test_client_resetting_connection_with_unread_replies_is_dropped(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int a = client_import();
	uint8_t msg[48] = {0};
	put32(msg, CMD_SUBMIT);
	put32(msg + 8, DEVID);
	put32(msg + 12, DIR_IN);
	put32(msg + 24, 255);
	static const uint8_t get_config[8] = GET_CONFIG_DESCRIPTOR(255);
	memcpy(msg + 40, get_config, 8);
	for (uint32_t seq = 1; seq <= 64; seq++) {
		put32(msg + 4, seq);
		CU_ASSERT(client_send(a, msg, sizeof(msg)));
	}
	for (int t = 0; t < 5; t++)
		turn(0);
	/* Closing with replies unread makes the kernel reset the connection (RFC 2525 §2.17). */
	close(a);
	CU_ASSERT(server_logs(FT_USBIP_LOG_WARNING, "client vanished"));
	int b = client_import();
	static const step resume[] = {
	    CTRL_IN(1, 18, GET_DEVICE_DESCRIPTOR(18)),
	    RET_DATA(1, 0, device_descriptor, 18),
	};
	RUN_CHAT(b, resume);
	close(b);
}

static void test_sequential_clients_each_import_in_turn(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	for (uint32_t i = 0; i < 5; i++) {
		int fd = client_import();
		static const step chat[] = {
		    CTRL_IN(9, 18, GET_DEVICE_DESCRIPTOR(18)),
		    RET_DATA(9, 0, device_descriptor, 18),
		};
		RUN_CHAT(fd, chat);
		shutdown(fd, SHUT_WR);
		CU_ASSERT(client_sees_close(fd));
		close(fd);
	}
	unsigned released = 0;
	for (unsigned i = 0; i < fx.log_count; i++)
		released += strstr(fx.log[i].text, "released 1-1") != NULL;
	FT_ASSERT_HEX(released, 5);
}

/* --- hostile input ---------------------------------------------------------------------- */

typedef struct hostile {
	const char *name;
	bool import;        /* sent after a successful import, as a URB header */
	const uint8_t *raw; /* management phase: these bytes */
	size_t raw_len;
	uint32_t command, devid, direction, ep, length;
	int32_t packets;
	uint8_t setup[8];
	size_t send_len; /* URB phase: bytes of the 48-byte header (+ length if OUT) sent */
	const char *reason;
} hostile;

static const uint8_t op_wrong_version[] = {0x01, 0x10, 0x80, 0x05, 0, 0, 0, 0};
static const uint8_t op_unknown_code[] = {0x01, 0x11, 0x80, 0x01, 0, 0, 0, 0};
static const uint8_t op_truncated[] = {0x01, 0x11, 0x80};
static const uint8_t import_unterminated[40] = {
    0x01, 0x11, 0x80, 0x03, 0,   0,   0,   0,   '1', '1', '1', '1', '1', '1',
    '1',  '1',  '1',  '1',  '1', '1', '1', '1', '1', '1', '1', '1', '1', '1',
    '1',  '1',  '1',  '1',  '1', '1', '1', '1', '1', '1', '1', '1'};
static const uint8_t import_truncated[] = {0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '1', '-'};

static const hostile hostiles[] = {
    {"wrong version", .raw = op_wrong_version, .raw_len = sizeof(op_wrong_version),
     .reason = "version 0x0110, expected 0x0111"},
    {"unknown op code", .raw = op_unknown_code, .raw_len = sizeof(op_unknown_code),
     .reason = "unknown operation code 0x8001"},
    {"truncated op header", .raw = op_truncated, .raw_len = sizeof(op_truncated),
     .reason = "mid-message: 3 of 8 bytes"},
    {"busid without NUL", .raw = import_unterminated, .raw_len = sizeof(import_unterminated),
     .reason = "not NUL-terminated"},
    {"truncated import", .raw = import_truncated, .raw_len = sizeof(import_truncated),
     .reason = "mid-message: 10 of 40 bytes"},
    {"unknown command", true, .command = 5, .devid = DEVID, .send_len = 48,
     .reason = "unknown command 0x00000005"},
    {"reply sent as request", true, .command = RET_SUBMIT, .devid = DEVID, .send_len = 48,
     .reason = "command 3 is not a request"},
    {"devid mismatch", true, .command = CMD_SUBMIT, .devid = 0x00010003, .direction = DIR_IN,
     .ep = 1, .length = 64, .send_len = 48, .reason = "devid 0x00010003, imported 0x00010002"},
    {"unlink devid mismatch", true, .command = CMD_UNLINK, .devid = 0x00020002, .send_len = 48,
     .reason = "devid 0x00020002"},
    {"direction 2", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = 2, .ep = 1,
     .send_len = 48, .reason = "direction 2"},
    {"endpoint 16", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_IN, .ep = 16,
     .send_len = 48, .reason = "endpoint 16"},
    {"iso packets on bulk", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_IN,
     .ep = 1, .length = 64, .packets = 4, .send_len = 48, .reason = "number_of_packets 4"},
    {"absurd length", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_OUT, .ep = 1,
     .length = 0x7fffffff, .send_len = 48, .reason = "transfer_buffer_length 2147483647 exceeds"},
    {"control direction mismatch", true, .command = CMD_SUBMIT, .devid = DEVID,
     .direction = DIR_OUT, .length = 18, .setup = GET_DEVICE_DESCRIPTOR(18), .send_len = 48 + 18,
     .reason = "direction out, bmRequestType 0x80"},
    {"control length mismatch", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_IN,
     .length = 64, .setup = GET_DEVICE_DESCRIPTOR(18), .send_len = 48,
     .reason = "transfer_buffer_length 64, wLength 18"},
    {"endpoint not declared", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_IN,
     .ep = 2, .length = 64, .send_len = 48,
     .reason = "endpoint 0x82 is not in the device's descriptors"},
    {"truncated URB header", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_IN,
     .ep = 1, .length = 64, .send_len = 20, .reason = "mid-message: 20 of 48 bytes"},
    {"truncated OUT data", true, .command = CMD_SUBMIT, .devid = DEVID, .direction = DIR_OUT,
     .ep = 1, .length = 100, .send_len = 58, .reason = "mid-message: 58 of 148 bytes"},
};

static void test_hostile_messages_close_only_their_connection(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	uint8_t msg[48 + 18];
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		const hostile *h = &hostiles[i];
		int fd = h->import ? client_import() : client_connect();
		unsigned calls = fx.device_calls;
		if (h->import) {
			memset(msg, 0, sizeof(msg));
			put32(msg, h->command);
			put32(msg + 4, 1);
			put32(msg + 8, h->devid);
			put32(msg + 12, h->direction);
			put32(msg + 16, h->ep);
			put32(msg + 24, h->length);
			put32(msg + 32, (uint32_t)h->packets);
			memcpy(msg + 40, h->setup, 8);
			client_send(fd, msg, h->send_len < sizeof(msg) ? h->send_len : sizeof(msg));
		} else {
			client_send(fd, h->raw, h->raw_len);
		}
		shutdown(fd, SHUT_WR);
		bool closed = client_sees_close(fd);
		close(fd);
		const char *line = logged(FT_USBIP_LOG_WARNING, h->reason);
		printf("\n  %-28s %s", h->name, line ? line : "(no such warning)");
		CU_ASSERT(closed);
		CU_ASSERT_PTR_NOT_NULL(line);
		FT_ASSERT_HEX(fx.device_calls, calls);
	}
	/* The server still serves, and the device was never reset or written. */
	int fd = client_import();
	static const step chat[] = {
	    CTRL_IN(1, 18, GET_DEVICE_DESCRIPTOR(18)),
	    RET_DATA(1, 0, device_descriptor, 18),
	};
	RUN_CHAT(fd, chat);
	FT_ASSERT_HEX(ft_usb_loopback_resets(fx.lb), 0);
	close(fd);
}

static void test_too_many_urbs_in_flight_close_the_connection(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_import();
	static const step configure[] = {
	    CTRL_NODATA(1, SET_CONFIGURATION_1),
	    RET(1, 0, 0),
	};
	RUN_CHAT(fd, configure);
	uint8_t msg[48] = {0};
	put32(msg, CMD_SUBMIT);
	put32(msg + 8, DEVID);
	put32(msg + 12, DIR_IN);
	put32(msg + 16, 1);
	put32(msg + 24, 64);
	for (uint32_t seq = 2; seq < 2 + 257; seq++) {
		put32(msg + 4, seq);
		if (!client_send(fd, msg, sizeof(msg)))
			break;
	}
	CU_ASSERT(client_sees_close(fd));
	CU_ASSERT_PTR_NOT_NULL(logged(FT_USBIP_LOG_WARNING, "more than 256 URBs in flight"));
	close(fd);
}

/* --- driving the server ----------------------------------------------------------------- */

static void test_adopted_socket_is_served_like_an_accepted_one(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_EQUAL_FATAL(ft_usbip_server_adopt(fx.srv, sv[0], NULL), FT_OK);
	static const uint8_t req[8] = {0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0};
	CU_ASSERT(client_send(sv[1], req, sizeof(req)));
	uint8_t rep[12 + 312 + 8];
	CU_ASSERT(client_recv(sv[1], rep, sizeof(rep)));
	FT_ASSERT_HEX(be32(rep + 8), 1);
	CU_ASSERT(client_sees_close(sv[1]));
	close(sv[1]);
}

static void test_connections_beyond_the_limit_are_refused(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int peers[16];
	for (int i = 0; i < 16; i++) {
		int sv[2];
		CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		CU_ASSERT_EQUAL(ft_usbip_server_adopt(fx.srv, sv[0], NULL), FT_OK);
		peers[i] = sv[1];
	}
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ft_diag diag;
	FT_ASSERT_HEX(ft_usbip_server_adopt(fx.srv, sv[0], &diag), FT_ERR_BUSY);
	CU_ASSERT(client_sees_close(sv[1])); /* the server closed the refused end */
	close(sv[1]);
	/* A connection that ends frees its place. */
	close(peers[0]);
	for (int t = 0; t < 3; t++)
		turn(0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_EQUAL(ft_usbip_server_adopt(fx.srv, sv[0], NULL), FT_OK);
	close(sv[1]);
	for (int i = 1; i < 16; i++)
		close(peers[i]);
}

static void test_run_returns_once_stop_is_set(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	int fd = client_connect();
	static const uint8_t req[8] = {0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0};
	CU_ASSERT(client_send(fd, req, sizeof(req)));
	fx.stop_on = "listed 1-1"; /* the log sink sets stop when the list is served */
	CU_ASSERT_EQUAL(ft_usbip_server_run(fx.srv, &fx.stop, NULL), FT_OK);
	CU_ASSERT(atomic_load(&fx.stop));
	uint8_t rep[12];
	CU_ASSERT(client_recv(fd, rep, sizeof(rep)));
	FT_ASSERT_HEX(be16(rep + 2), 0x0005);
	close(fd);
}

static void test_wake_makes_a_blocking_turn_return(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	ft_usbip_server_wake(fx.srv);
	/* With no limit, only the wake can end this turn; a lost wake hangs the test. */
	alarm(30);
	CU_ASSERT_EQUAL(ft_usbip_server_run_once(fx.srv, -1, NULL), FT_OK);
	alarm(0);
}

/* A device whose configuration descriptor stops after its 9-byte header. */
static const uint8_t *truncated_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                           size_t *len)
{
	(void)ctx, (void)index, (void)langid;
	*len = type == FT_USB_DT_DEVICE ? sizeof(device_descriptor) : 9;
	return type == FT_USB_DT_DEVICE ? device_descriptor : config_descriptor;
}

static void test_new_refuses_bad_busid_taken_port_and_bad_descriptors(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.srv);
	ft_usbip_server *srv = NULL;
	ft_diag diag;
	static const char *const bad_busids[] = {
	    "x", "0-1", "1-", "1-1.", "-1", "65536-1", "1_1", "1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1"};
	for (size_t i = 0; i < sizeof(bad_busids) / sizeof(bad_busids[0]); i++) {
		ft_usbip_server_config cfg = {.busid = bad_busids[i]};
		FT_ASSERT_HEX(ft_usbip_server_new(&cfg, &fx.dev, &srv, &diag), FT_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NULL(srv);
	}
	ft_usbip_server_config taken = {.port = ft_usbip_server_port(fx.srv)};
	FT_ASSERT_HEX(ft_usbip_server_new(&taken, &fx.dev, &srv, &diag), FT_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "cannot listen"));

	ft_usbip_server_config v6 = {.address = "::1", .busid = "3-1.2"};
	ft_error err = ft_usbip_server_new(&v6, &fx.dev, &srv, &diag);
	/* A machine without IPv6 cannot bind ::1; anything else must work. */
	CU_ASSERT(err == FT_OK || err == FT_ERR_IO);
	if (err == FT_OK)
		CU_ASSERT(ft_usbip_server_port(srv) != 0);
	ft_usbip_server_free(srv);
	srv = NULL;

	ft_usb_device no_control_op = {.ops = &(ft_usb_device_ops){.descriptor = spy_descriptor},
	                               .ctx = fx.lb};
	FT_ASSERT_HEX(ft_usbip_server_new(NULL, &no_control_op, &srv, &diag), FT_ERR_INVALID_ARG);

	ft_usb_device truncated = {.ops = &(ft_usb_device_ops){.descriptor = truncated_descriptor,
	                                                       .control = spy_control}};
	FT_ASSERT_HEX(ft_usbip_server_new(NULL, &truncated, &srv, &diag), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "configuration descriptor 0");
	CU_ASSERT_PTR_NULL(srv);
}

/* --- full-speed bus pacing ---------------------------------------------------------------- */

/* Full-speed bus time of bus_bytes (performance.md §2.2): 19 packets of 64 + 13 bytes fill a
 * 1 ms frame, so 1463 bus bytes per ms; a control transfer's setup and status stages take 32
 * bytes, each data packet (up to 64 bytes) 13 more than its data. Rounded up to the ns. */
#define FS_NS(bus_bytes) (((bus_bytes)*1000000ull + 1462) / 1463)
/* 100 bytes: two data packets. */
#define DATA_100                                                                                   \
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop" \
	"qrs"                                                                                      \
	"tuvwxyzAB"

/* Turns the server until it has taken count URBs in (the observer saw them submitted): the
 * client's small sends may reach it one by one. */
static bool server_takes_urbs(unsigned count)
{
	for (int t = 0; t < MAX_TURNS; t++) {
		unsigned submitted = 0;
		for (unsigned i = 0; i < fx.event_count; i++)
			submitted += fx.events[i].kind == FT_USBIP_URB_SUBMITTED;
		if (submitted >= count)
			return true;
		turn(10);
	}
	return false;
}

static void test_paced_urb_completes_after_its_full_speed_bus_time(void)
{
	use_paced_server();
	int fd = client_import();
	static const step submit[] = {CTRL_OUT(1, DATA_100, VENDOR_WRITE(100))};
	RUN_CHAT(fd, submit);
	CU_ASSERT_FATAL(server_takes_urbs(1));
	CU_ASSERT(client_hears_nothing(fd));
	FT_ASSERT_HEX(fx.device_calls, 1); /* the device has answered; the bus still has it */
	ft_clock_advance(fx.clock, FS_NS(32 + 100 + 2 * 13) - 1);
	CU_ASSERT(client_hears_nothing(fd));
	ft_clock_advance(fx.clock, 1);
	static const step reply[] = {RET(1, 0, 100)};
	RUN_CHAT(fd, reply);
	close(fd);
}

static void test_paced_urbs_take_the_bus_one_after_another(void)
{
	use_paced_server();
	int fd = client_import();
	static const step submit[] = {
	    CTRL_OUT(1, "abc", VENDOR_WRITE(3)),
	    CTRL_IN(2, 3, VENDOR_READ(3)),
	};
	RUN_CHAT(fd, submit);
	CU_ASSERT_FATAL(server_takes_urbs(2));
	CU_ASSERT(client_hears_nothing(fd));
	FT_ASSERT_HEX(fx.device_calls, 1); /* the read waits for the bus */
	ft_clock_advance(fx.clock, FS_NS(32 + 3 + 13));
	static const step first[] = {RET(1, 0, 3)};
	RUN_CHAT(fd, first);
	FT_ASSERT_HEX(fx.device_calls, 2);
	ft_clock_advance(fx.clock, FS_NS(32 + 3 + 13) - 1);
	CU_ASSERT(client_hears_nothing(fd));
	ft_clock_advance(fx.clock, 1);
	static const step second[] = {RET_TEXT(2, "abc")};
	RUN_CHAT(fd, second);
	close(fd);
}

static void test_unlink_of_a_urb_on_the_bus_completes_it_and_answers_zero(void)
{
	use_paced_server();
	int fd = client_import();
	static const step chat[] = {
	    CTRL_OUT(1, "abc", VENDOR_WRITE(3)),
	    UNLINK_OF(2, 1),
	    RET(1, 0, 3),
	    RET_UNLINK_OF(2, 0),
	};
	RUN_CHAT(fd, chat);
	FT_ASSERT_HEX(ft_clock_now_ns(fx.clock), 0);
	close(fd);
}

static void test_pacing_without_a_clock_is_refused(void)
{
	ft_usbip_server *srv = NULL;
	ft_diag diag;
	ft_usbip_server_config cfg = {.pacing = FT_USBIP_PACING_FULL_SPEED};
	FT_ASSERT_HEX(ft_usbip_server_new(&cfg, &fx.dev, &srv, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(srv);
}

static CU_TestInfo tests[] = {
    {"devlist_reply_describes_device_at_protocol_offsets",
     test_devlist_reply_describes_device_at_protocol_offsets},
    {"import_reply_carries_status_ok_and_device", test_import_reply_carries_status_ok_and_device},
    {"second_import_while_attached_is_refused_with_st_na",
     test_second_import_while_attached_is_refused_with_st_na},
    {"import_of_unknown_busid_is_refused_with_st_nodev",
     test_import_of_unknown_busid_is_refused_with_st_nodev},
    {"descriptors_are_read_through_submit", test_descriptors_are_read_through_submit},
    {"pipelined_urbs_are_each_answered_by_seqnum", test_pipelined_urbs_are_each_answered_by_seqnum},
    {"setup_bytes_reach_device_unchanged", test_setup_bytes_reach_device_unchanged},
    {"stall_and_transaction_error_map_to_negative_errno",
     test_stall_and_transaction_error_map_to_negative_errno},
    {"short_in_with_short_not_ok_reports_eremoteio",
     test_short_in_with_short_not_ok_reports_eremoteio},
    {"ep0_urbs_complete_in_order_behind_a_nak", test_ep0_urbs_complete_in_order_behind_a_nak},
    {"bulk_in_stays_pending_until_out_data_arrives",
     test_bulk_in_stays_pending_until_out_data_arrives},
    {"unlink_of_pending_urb_answers_econnreset_and_drops_it",
     test_unlink_of_pending_urb_answers_econnreset_and_drops_it},
    {"unlink_of_completed_urb_answers_zero", test_unlink_of_completed_urb_answers_zero},
    {"port_reset_request_resets_device_and_completes",
     test_port_reset_request_resets_device_and_completes},
    {"observer_sees_each_urb_submitted_and_completed",
     test_observer_sees_each_urb_submitted_and_completed},
    {"client_vanishing_mid_message_keeps_device_and_server",
     test_client_vanishing_mid_message_keeps_device_and_server},
    {"client_vanishing_with_pending_urb_releases_device",
     test_client_vanishing_with_pending_urb_releases_device},
    {"client_resetting_connection_with_unread_replies_is_dropped",
     test_client_resetting_connection_with_unread_replies_is_dropped},
    {"sequential_clients_each_import_in_turn", test_sequential_clients_each_import_in_turn},
    {"hostile_messages_close_only_their_connection",
     test_hostile_messages_close_only_their_connection},
    {"too_many_urbs_in_flight_close_the_connection",
     test_too_many_urbs_in_flight_close_the_connection},
    {"adopted_socket_is_served_like_an_accepted_one",
     test_adopted_socket_is_served_like_an_accepted_one},
    {"connections_beyond_the_limit_are_refused", test_connections_beyond_the_limit_are_refused},
    {"run_returns_once_stop_is_set", test_run_returns_once_stop_is_set},
    {"wake_makes_a_blocking_turn_return", test_wake_makes_a_blocking_turn_return},
    {"new_refuses_bad_busid_taken_port_and_bad_descriptors",
     test_new_refuses_bad_busid_taken_port_and_bad_descriptors},
    {"paced_urb_completes_after_its_full_speed_bus_time",
     test_paced_urb_completes_after_its_full_speed_bus_time},
    {"paced_urbs_take_the_bus_one_after_another", test_paced_urbs_take_the_bus_one_after_another},
    {"unlink_of_a_urb_on_the_bus_completes_it_and_answers_zero",
     test_unlink_of_a_urb_on_the_bus_completes_it_and_answers_zero},
    {"pacing_without_a_clock_is_refused", test_pacing_without_a_clock_is_refused},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usbip", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
