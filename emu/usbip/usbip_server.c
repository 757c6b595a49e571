#include "emu/usbip/usbip_server.h"
#include "models/usbip_proto.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes asked of recv at a time, beyond what the current message still needs. */
#define READ_CHUNK 65536
/* A connection whose unsent replies exceed this is not read from until they drain. */
#define OUTPUT_HIGH_WATER (4u << 20)
/* ft_usbip_server_run's longest wait between checks of its stop flag. */
#define RUN_TICK_MS 100
/* Endpoint table key: number for OUT, 16 + number for IN; EP0 always key 0. */
#define EP_KEYS   32
#define EP_ABSENT 0xff
/* Linux assigns address 1 to the root hub, so the first device on a bus gets devnum 2. */
#define DEVNUM 2

/* SET_FEATURE(PORT_RESET) to a hub port: bmRequestType USB_RT_PORT (class, other), bRequest
 * SET_FEATURE, wValue USB_PORT_FEAT_RESET. Linux drivers/usb/usbip/stub_rx.c treats this URB as
 * a device reset; emulators.md §4.1. */
#define PORT_RESET_REQUEST_TYPE 0x23
#define PORT_FEAT_RESET         4

typedef struct urb {
	struct urb *next;
	uint32_t seqnum;
	uint8_t endpoint; /* address; EP0 is 0x00 or 0x80 by direction */
	ft_usb_xfer_type type;
	uint32_t flags;
	int32_t interval;
	uint8_t setup[8];
	uint32_t length;
	uint8_t data[];
} urb;

typedef enum conn_phase {
	PHASE_OP,  /* management: OP_REQ_DEVLIST or OP_REQ_IMPORT expected */
	PHASE_URB, /* imported: CMD_SUBMIT and CMD_UNLINK */
} conn_phase;

typedef struct conn {
	int fd;
	unsigned id;
	char peer[80];
	conn_phase phase;
	bool draining; /* input is finished: close once the output is sent */
	bool dead;     /* close at the end of this turn */
	uint8_t *in;
	size_t in_len, in_cap;
	size_t need;        /* bytes the message at in[0] needs before it can be handled */
	unsigned messages;  /* messages handled, for diagnostics */
	uint64_t in_offset; /* stream offset of in[0], the message being handled */
	uint8_t *out;
	size_t out_len, out_cap;
	urb *urbs; /* pending, in submission order */
	urb **urbs_tail;
	unsigned urb_count;
	size_t urb_bytes;
} conn;

struct ft_usbip_server {
	ft_usb_device dev;
	char session[64];
	char busid[FT_USBIP_BUSID_SIZE];
	char path[FT_USBIP_PATH_SIZE];
	uint32_t busnum;
	uint8_t ep_type[EP_KEYS];
	ft_usbip_log_fn log;
	void *log_ctx;
	ft_usbip_observer_fn observer;
	void *observer_ctx;
	int listen_fd;
	uint16_t port;
	int wake_fd;
	conn *conns[FT_USBIP_MAX_CONNECTIONS];
	unsigned conn_count;
	conn *attached;
	unsigned next_id;
};

const char *ft_usbip_log_level_name(ft_usbip_log_level level)
{
	switch (level) {
	case FT_USBIP_LOG_ERROR: return "error";
	case FT_USBIP_LOG_WARNING: return "warning";
	case FT_USBIP_LOG_INFO: return "info";
	case FT_USBIP_LOG_DEBUG: return "debug";
	}
	return "unknown";
}

__attribute__((format(printf, 3, 4))) static void
srv_log(const ft_usbip_server *srv, ft_usbip_log_level level, const char *fmt, ...)
{
	if (!srv->log)
		return;
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	srv->log(srv->log_ctx, level, srv->session, message);
}

static uint32_t devid(const ft_usbip_server *srv)
{
	return srv->busnum << 16 | DEVNUM;
}

static unsigned ep_key(uint8_t endpoint)
{
	return (endpoint & 0x0f) == 0 ? 0
	                              : (endpoint & 0x0f) + ((endpoint & FT_USB_DIR_IN) ? 16 : 0);
}

/* --- URB events ------------------------------------------------------------------------- */

static void observe(const ft_usbip_server *srv, ft_usbip_urb_event_kind kind, const urb *u,
                    int32_t status, const uint8_t *data, size_t data_len)
{
	if (!srv->observer)
		return;
	ft_usbip_urb_event ev = {
	    .kind = kind,
	    .seqnum = u->seqnum,
	    .busnum = srv->busnum,
	    .devnum = DEVNUM,
	    .endpoint = u->endpoint,
	    .type = u->type,
	    .setup = u->type == FT_USB_XFER_CONTROL ? u->setup : NULL,
	    .transfer_flags = u->flags,
	    .interval = u->interval,
	    .length = u->length,
	    .status = status,
	    .data = data_len ? data : NULL,
	    .data_len = data_len,
	};
	srv->observer(srv->observer_ctx, &ev);
}

/* --- connection buffers ----------------------------------------------------------------- */

static bool reserve(uint8_t **buf, size_t *cap, size_t want)
{
	if (want <= *cap)
		return true;
	size_t cap2 = *cap ? *cap : 4096;
	while (cap2 < want)
		cap2 *= 2;
	uint8_t *p = realloc(*buf, cap2);
	if (!p)
		return false;
	*buf = p;
	*cap = cap2;
	return true;
}

/* Queues reply bytes; on allocation failure the connection is dropped, never half a reply
 * sent. */
static void emit(ft_usbip_server *srv, conn *c, const void *bytes, size_t len)
{
	if (c->dead || len == 0)
		return;
	if (!reserve(&c->out, &c->out_cap, c->out_len + len)) {
		srv_log(srv, FT_USBIP_LOG_ERROR, "client #%u (%s): out of memory for replies",
		        c->id, c->peer);
		c->dead = true;
		return;
	}
	memcpy(c->out + c->out_len, bytes, len);
	c->out_len += len;
}

__attribute__((format(printf, 4, 5))) static void
drop(ft_usbip_server *srv, conn *c, ft_usbip_log_level level, const char *fmt, ...)
{
	if (c->dead)
		return;
	char reason[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	srv_log(srv, level, "client #%u (%s): closing: %s", c->id, c->peer, reason);
	c->dead = true;
}

/* A peer's protocol error: the connection goes, naming the message that broke the rule. */
static void reject(ft_usbip_server *srv, conn *c, const ft_diag *d)
{
	drop(srv, c, FT_USBIP_LOG_WARNING, "message %u at byte %llu: %s", c->messages + 1,
	     (unsigned long long)c->in_offset, d->message);
}

static void conn_free(ft_usbip_server *srv, conn *c)
{
	unsigned dropped = 0;
	while (c->urbs) {
		urb *u = c->urbs;
		c->urbs = u->next;
		observe(srv, FT_USBIP_URB_COMPLETED, u, FT_USBIP_ENODEV, NULL, 0);
		free(u);
		dropped++;
	}
	if (dropped)
		srv_log(srv, FT_USBIP_LOG_DEBUG, "client #%u: discarded %u pending URBs", c->id,
		        dropped);
	if (srv->attached == c) {
		srv->attached = NULL;
		srv_log(srv, FT_USBIP_LOG_INFO, "client #%u released %s", c->id, srv->busid);
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static ft_error conn_add(ft_usbip_server *srv, int fd, const char *peer, ft_diag *diag)
{
	if (srv->conn_count == FT_USBIP_MAX_CONNECTIONS) {
		close(fd);
		return ft_diag_set(diag, FT_ERR_BUSY, peer, "%d connections already open",
		                   FT_USBIP_MAX_CONNECTIONS);
	}
	conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return ft_diag_set(diag, FT_ERR_NO_MEM, peer, "no memory for a connection");
	}
	c->fd = fd;
	c->id = ++srv->next_id;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->phase = PHASE_OP;
	c->need = FT_USBIP_OP_HEADER_SIZE;
	c->urbs_tail = &c->urbs;
	srv->conns[srv->conn_count++] = c;
	srv_log(srv, FT_USBIP_LOG_INFO, "client #%u (%s) connected", c->id, c->peer);
	return FT_OK;
}

/* --- management phase ------------------------------------------------------------------- */

static void send_devlist(ft_usbip_server *srv, conn *c)
{
	ft_usbip_device d;
	ft_usbip_device_describe(&srv->dev, srv->path, srv->busid, srv->busnum, DEVNUM, &d);
	uint8_t buf[FT_USBIP_DEVLIST_REPLY_SIZE + FT_USBIP_DEVICE_SIZE +
	            FT_USB_MAX_INTERFACES * FT_USBIP_INTERFACE_SIZE];
	size_t n = ft_usbip_devlist_reply_encode(1, buf);
	n += ft_usbip_device_encode(&d, buf + n);
	for (unsigned i = 0; i < d.bNumInterfaces; i++)
		n += ft_usbip_interface_encode(&d.interfaces[i], buf + n);
	emit(srv, c, buf, n);
	srv_log(srv, FT_USBIP_LOG_INFO, "client #%u listed %s", c->id, srv->busid);
}

/* Refuses an import with status; the reply ends after the common header. */
static void refuse_import(ft_usbip_server *srv, conn *c, uint32_t status)
{
	uint8_t buf[FT_USBIP_OP_HEADER_SIZE];
	emit(srv, c, buf, ft_usbip_op_header_encode(FT_USBIP_OP_REP_IMPORT, status, buf));
	c->draining = true;
}

static void import_device(ft_usbip_server *srv, conn *c, const char *busid)
{
	if (strcmp(busid, srv->busid) != 0) {
		srv_log(srv, FT_USBIP_LOG_WARNING,
		        "client #%u (%s): import of unknown busid \"%s\" refused", c->id, c->peer,
		        busid);
		refuse_import(srv, c, FT_USBIP_ST_NODEV);
		return;
	}
	if (srv->attached) {
		srv_log(srv, FT_USBIP_LOG_WARNING,
		        "client #%u (%s): import of %s refused: attached to client #%u", c->id,
		        c->peer, busid, srv->attached->id);
		refuse_import(srv, c, FT_USBIP_ST_NA);
		return;
	}
	ft_usbip_device d;
	ft_usbip_device_describe(&srv->dev, srv->path, srv->busid, srv->busnum, DEVNUM, &d);
	uint8_t buf[FT_USBIP_OP_HEADER_SIZE + FT_USBIP_DEVICE_SIZE];
	size_t n = ft_usbip_op_header_encode(FT_USBIP_OP_REP_IMPORT, FT_USBIP_ST_OK, buf);
	n += ft_usbip_device_encode(&d, buf + n);
	emit(srv, c, buf, n);
	srv->attached = c;
	c->phase = PHASE_URB;
	srv_log(srv, FT_USBIP_LOG_INFO, "client #%u (%s) imported %s", c->id, c->peer, busid);
}

/* Handles the management message at msg (len bytes received so far); returns its size, or 0
 * when more bytes are needed (c->need set) or the connection is finished with. */
static size_t handle_op(ft_usbip_server *srv, conn *c, const uint8_t *msg, size_t len)
{
	ft_usbip_op_header op;
	ft_diag d;
	if (ft_usbip_op_header_decode(msg, len, &op) != FT_OK) {
		c->need = FT_USBIP_OP_HEADER_SIZE;
		return 0;
	}
	if (op.version != FT_USBIP_VERSION) {
		ft_diag_set(&d, FT_ERR_PROTOCOL, NULL, "version 0x%04x, expected 0x%04x",
		            op.version, FT_USBIP_VERSION);
		reject(srv, c, &d);
		return 0;
	}
	switch (op.code) {
	case FT_USBIP_OP_REQ_DEVLIST:
		send_devlist(srv, c);
		c->draining = true;
		return FT_USBIP_OP_HEADER_SIZE;
	case FT_USBIP_OP_REQ_IMPORT: {
		if (len < FT_USBIP_IMPORT_REQUEST_SIZE) {
			c->need = FT_USBIP_IMPORT_REQUEST_SIZE;
			return 0;
		}
		char busid[FT_USBIP_BUSID_SIZE + 1];
		if (ft_usbip_import_busid_decode(msg + FT_USBIP_OP_HEADER_SIZE,
		                                 len - FT_USBIP_OP_HEADER_SIZE, busid,
		                                 &d) != FT_OK) {
			reject(srv, c, &d);
			return 0;
		}
		import_device(srv, c, busid);
		return FT_USBIP_IMPORT_REQUEST_SIZE;
	}
	default:
		ft_diag_set(&d, FT_ERR_PROTOCOL, NULL, "unknown operation code 0x%04x", op.code);
		reject(srv, c, &d);
		return 0;
	}
}

/* --- URB phase -------------------------------------------------------------------------- */

static bool is_port_reset(const uint8_t setup[8])
{
	ft_usb_setup s = ft_usb_setup_parse(setup);
	return s.bmRequestType == PORT_RESET_REQUEST_TYPE && s.bRequest == FT_USB_REQ_SET_FEATURE &&
	       s.wValue == PORT_FEAT_RESET;
}

/* Checks a CMD_SUBMIT header against the protocol, the device and the limits, before any of
 * its data is read. Returns FT_OK or FT_ERR_PROTOCOL with the reason in diag. */
static ft_error check_submit(const ft_usbip_server *srv, const conn *c,
                             const ft_usbip_urb_header *h, ft_diag *diag)
{
	uint32_t length = h->u.cmd_submit.transfer_buffer_length;
	if (h->devid != devid(srv))
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL, "devid 0x%08x, imported 0x%08x",
		                   h->devid, devid(srv));
	if (h->direction != FT_USBIP_DIR_OUT && h->direction != FT_USBIP_DIR_IN)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL, "direction %u", h->direction);
	if (h->ep > 15)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL, "endpoint %u", h->ep);
	/* Linux sends 0 for a non-isochronous URB, the protocol document -1. */
	if (h->u.cmd_submit.number_of_packets != 0 && h->u.cmd_submit.number_of_packets != -1)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL,
		                   "number_of_packets %d: isochronous transfers are not supported",
		                   h->u.cmd_submit.number_of_packets);
	if (length > FT_USBIP_MAX_TRANSFER)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL,
		                   "transfer_buffer_length %u exceeds %u", length,
		                   FT_USBIP_MAX_TRANSFER);
	if (h->ep == 0) {
		ft_usb_setup s = ft_usb_setup_parse(h->u.cmd_submit.setup);
		if (s.wLength != length)
			return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL,
			                   "control transfer_buffer_length %u, wLength %u", length,
			                   s.wLength);
		/* A request without data stage may come on either pipe (usbcore sends it OUT). */
		if (s.wLength && ft_usb_setup_is_in(&s) != (h->direction == FT_USBIP_DIR_IN))
			return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL,
			                   "direction %s, bmRequestType 0x%02x",
			                   h->direction ? "in" : "out", s.bmRequestType);
	} else {
		uint8_t address = (uint8_t)(h->ep | (h->direction ? FT_USB_DIR_IN : 0));
		if (srv->ep_type[ep_key(address)] == EP_ABSENT)
			return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL,
			                   "endpoint 0x%02x is not in the device's descriptors",
			                   address);
	}
	if (c->urb_count >= FT_USBIP_MAX_URBS_IN_FLIGHT)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL, "more than %d URBs in flight",
		                   FT_USBIP_MAX_URBS_IN_FLIGHT);
	if (c->urb_bytes + length > FT_USBIP_MAX_BYTES_IN_FLIGHT)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, NULL, "more than %u bytes in flight",
		                   FT_USBIP_MAX_BYTES_IN_FLIGHT);
	return FT_OK;
}

static void queue_submit(ft_usbip_server *srv, conn *c, const ft_usbip_urb_header *h,
                         const uint8_t *payload)
{
	uint32_t length = h->u.cmd_submit.transfer_buffer_length;
	urb *u = malloc(sizeof(*u) + length);
	if (!u) {
		drop(srv, c, FT_USBIP_LOG_ERROR, "no memory for a %u-byte URB", length);
		return;
	}
	u->next = NULL;
	u->seqnum = h->seqnum;
	u->endpoint = (uint8_t)(h->ep | (h->direction ? FT_USB_DIR_IN : 0));
	u->type = (ft_usb_xfer_type)srv->ep_type[ep_key(u->endpoint)];
	u->flags = h->u.cmd_submit.transfer_flags;
	u->interval = h->u.cmd_submit.interval;
	memcpy(u->setup, h->u.cmd_submit.setup, 8);
	u->length = length;
	bool out = h->direction == FT_USBIP_DIR_OUT;
	if (out && length)
		memcpy(u->data, payload, length);
	*c->urbs_tail = u;
	c->urbs_tail = &u->next;
	c->urb_count++;
	c->urb_bytes += length;
	observe(srv, FT_USBIP_URB_SUBMITTED, u, FT_USBIP_EINPROGRESS, u->data, out ? length : 0);
}

/* Removes the URB *link points to from the pending list; the caller frees it. */
static urb *unqueue(conn *c, urb **link)
{
	urb *u = *link;
	*link = u->next;
	if (c->urbs_tail == &u->next)
		c->urbs_tail = link;
	c->urb_count--;
	c->urb_bytes -= u->length;
	return u;
}

static void send_ret_unlink(ft_usbip_server *srv, conn *c, uint32_t seqnum, int32_t status)
{
	ft_usbip_urb_header r = {.command = FT_USBIP_RET_UNLINK, .seqnum = seqnum};
	r.u.ret_unlink.status = status;
	uint8_t buf[FT_USBIP_URB_HEADER_SIZE];
	emit(srv, c, buf, ft_usbip_urb_header_encode(&r, buf));
}

static void handle_unlink(ft_usbip_server *srv, conn *c, const ft_usbip_urb_header *h)
{
	uint32_t target = h->u.cmd_unlink.seqnum;
	for (urb **link = &c->urbs; *link; link = &(*link)->next) {
		if ((*link)->seqnum != target)
			continue;
		urb *u = unqueue(c, link);
		observe(srv, FT_USBIP_URB_COMPLETED, u, FT_USBIP_ECONNRESET, NULL, 0);
		free(u);
		send_ret_unlink(srv, c, h->seqnum, FT_USBIP_ECONNRESET);
		srv_log(srv, FT_USBIP_LOG_DEBUG, "client #%u unlinked pending URB %u", c->id,
		        target);
		return;
	}
	send_ret_unlink(srv, c, h->seqnum, 0);
	srv_log(srv, FT_USBIP_LOG_DEBUG, "client #%u unlinked URB %u, not pending", c->id, target);
}

/* Handles the URB-phase message at msg; returns its size, or 0 as handle_op. */
static size_t handle_urb_message(ft_usbip_server *srv, conn *c, const uint8_t *msg, size_t len)
{
	ft_usbip_urb_header h;
	ft_diag d;
	ft_error err = ft_usbip_urb_header_decode(msg, len, &h, &d);
	if (err == FT_ERR_RANGE) {
		c->need = FT_USBIP_URB_HEADER_SIZE;
		return 0;
	}
	if (err != FT_OK) {
		reject(srv, c, &d);
		return 0;
	}
	switch (h.command) {
	case FT_USBIP_CMD_SUBMIT: {
		if (check_submit(srv, c, &h, &d) != FT_OK) {
			reject(srv, c, &d);
			return 0;
		}
		size_t size = FT_USBIP_URB_HEADER_SIZE;
		if (h.direction == FT_USBIP_DIR_OUT)
			size += h.u.cmd_submit.transfer_buffer_length;
		if (len < size) {
			c->need = size;
			return 0;
		}
		queue_submit(srv, c, &h, msg + FT_USBIP_URB_HEADER_SIZE);
		return size;
	}
	case FT_USBIP_CMD_UNLINK:
		if (h.devid != devid(srv)) {
			ft_diag_set(&d, FT_ERR_PROTOCOL, NULL, "devid 0x%08x, imported 0x%08x",
			            h.devid, devid(srv));
			reject(srv, c, &d);
			return 0;
		}
		handle_unlink(srv, c, &h);
		return FT_USBIP_URB_HEADER_SIZE;
	default:
		ft_diag_set(&d, FT_ERR_PROTOCOL, NULL, "command %u is not a request", h.command);
		reject(srv, c, &d);
		return 0;
	}
}

/* Handles every complete message in the input buffer, then keeps the incomplete rest. */
static void handle_input(ft_usbip_server *srv, conn *c)
{
	size_t used = 0;
	while (!c->dead && !c->draining) {
		const uint8_t *msg = c->in + used;
		size_t len = c->in_len - used;
		size_t n = c->phase == PHASE_OP ? handle_op(srv, c, msg, len)
		                                : handle_urb_message(srv, c, msg, len);
		if (n == 0)
			break;
		used += n;
		c->messages++;
		c->in_offset += n;
		c->need = c->phase == PHASE_OP ? FT_USBIP_OP_HEADER_SIZE : FT_USBIP_URB_HEADER_SIZE;
	}
	if (used) {
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
}

static int32_t urb_status(const urb *u, ft_usb_status status, size_t actual)
{
	switch (status) {
	case FT_USB_OK:
		if ((u->flags & FT_USBIP_URB_SHORT_NOT_OK) && (u->endpoint & FT_USB_DIR_IN) &&
		    actual < u->length)
			return FT_USBIP_EREMOTEIO;
		return 0;
	case FT_USB_STALL: return FT_USBIP_EPIPE;
	case FT_USB_ERROR: return FT_USBIP_EPROTO;
	case FT_USB_NAK: break;
	}
	assert(!"a NAKed URB does not complete");
	return FT_USBIP_EPROTO;
}

/* Offers one URB to the device. */
static ft_usb_status run_urb(ft_usbip_server *srv, conn *c, urb *u, size_t *actual)
{
	if (u->type != FT_USB_XFER_CONTROL)
		return ft_usb_device_transfer(&srv->dev, u->endpoint, u->data, u->length, actual);
	if (is_port_reset(u->setup)) {
		ft_usb_device_reset(&srv->dev);
		*actual = 0;
		srv_log(srv, FT_USBIP_LOG_INFO, "client #%u reset %s", c->id, srv->busid);
		return FT_USB_OK;
	}
	return ft_usb_device_control(&srv->dev, u->setup, u->data, u->length, actual);
}

static void complete(ft_usbip_server *srv, conn *c, urb *u, int32_t status, size_t actual)
{
	bool in = (u->endpoint & FT_USB_DIR_IN) != 0;
	ft_usbip_urb_header r = {.command = FT_USBIP_RET_SUBMIT, .seqnum = u->seqnum};
	r.u.ret_submit.status = status;
	r.u.ret_submit.actual_length = (uint32_t)actual;
	uint8_t buf[FT_USBIP_URB_HEADER_SIZE];
	emit(srv, c, buf, ft_usbip_urb_header_encode(&r, buf));
	if (in)
		emit(srv, c, u->data, actual);
	observe(srv, FT_USBIP_URB_COMPLETED, u, status, u->data, in ? actual : 0);
}

/* Offers every pending URB to the device, in order per endpoint: a NAK holds back the later
 * URBs of its endpoint. Repeats while completions may have made a held URB ready. */
static void serve_urbs(ft_usbip_server *srv, conn *c)
{
	bool progress = true;
	while (progress && c->urbs && !c->dead) {
		progress = false;
		uint32_t blocked = 0;
		urb **link = &c->urbs;
		while (*link && !c->dead) {
			urb *u = *link;
			uint32_t bit = 1u << ep_key(u->endpoint);
			size_t actual = 0;
			ft_usb_status st = FT_USB_NAK;
			if (!(blocked & bit))
				st = run_urb(srv, c, u, &actual);
			if (st == FT_USB_NAK) {
				blocked |= bit;
				link = &u->next;
				continue;
			}
			unqueue(c, link);
			complete(srv, c, u, urb_status(u, st, actual), actual);
			free(u);
			progress = true;
		}
	}
}

/* --- socket I/O ------------------------------------------------------------------------- */

static void flush_output(ft_usbip_server *srv, conn *c)
{
	size_t sent = 0;
	while (sent < c->out_len && !c->dead) {
		ssize_t n =
		    send(c->fd, c->out + sent, c->out_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			sent += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			drop(srv, c, FT_USBIP_LOG_WARNING, "client vanished: send: %s",
			     strerror(errno));
		}
	}
	if (sent) {
		memmove(c->out, c->out + sent, c->out_len - sent);
		c->out_len -= sent;
	}
}

static void read_input(ft_usbip_server *srv, conn *c)
{
	size_t want = c->need > c->in_len ? c->need - c->in_len : 0;
	if (want < READ_CHUNK)
		want = READ_CHUNK;
	if (!reserve(&c->in, &c->in_cap, c->in_len + want)) {
		drop(srv, c, FT_USBIP_LOG_ERROR, "no memory for input");
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, want, MSG_DONTWAIT);
	if (n > 0) {
		c->in_len += (size_t)n;
		handle_input(srv, c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		drop(srv, c, FT_USBIP_LOG_WARNING, "client vanished: recv: %s", strerror(errno));
		return;
	}
	/* End of stream. */
	if (c->in_len)
		drop(srv, c, FT_USBIP_LOG_WARNING,
		     "client vanished mid-message: %zu of %zu bytes of message %u received",
		     c->in_len, c->need, c->messages + 1);
	else if (c->urb_count)
		drop(srv, c, FT_USBIP_LOG_WARNING, "client vanished with %u URBs in flight",
		     c->urb_count);
	else
		c->draining = true;
}

static void accept_clients(ft_usbip_server *srv)
{
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t addr_len = sizeof(addr);
		int fd = accept4(srv->listen_fd, (struct sockaddr *)&addr, &addr_len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				srv_log(srv, FT_USBIP_LOG_ERROR, "accept: %s", strerror(errno));
			return;
		}
		char host[INET6_ADDRSTRLEN], serv[8], peer[80];
		if (getnameinfo((struct sockaddr *)&addr, addr_len, host, sizeof(host), serv,
		                sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(peer, sizeof(peer), "%s:%s", host, serv);
		else
			snprintf(peer, sizeof(peer), "unnamed peer");
		/* URBs are small request/response messages: Nagle would delay every reply. */
		int one = 1;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			srv_log(srv, FT_USBIP_LOG_WARNING, "%s: TCP_NODELAY: %s", peer,
			        strerror(errno));
		ft_diag d;
		if (conn_add(srv, fd, peer, &d) != FT_OK)
			srv_log(srv, FT_USBIP_LOG_WARNING, "%s: refused: %s", peer, d.message);
	}
}

/* --- public API ------------------------------------------------------------------------- */

/* "<bus>-<port>[.<port>...]" with bus 1..65535; the bus number goes into devid. */
static bool parse_busid(const char *busid, uint32_t *busnum)
{
	if (strlen(busid) >= FT_USBIP_BUSID_SIZE)
		return false;
	char *end;
	errno = 0;
	unsigned long bus = strtoul(busid, &end, 10);
	if (errno || end == busid || *end != '-' || bus == 0 || bus > 0xffff || busid[0] == '+' ||
	    busid[0] == '-' || busid[0] == ' ')
		return false;
	const char *p = end + 1;
	bool digit = false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.' && digit)
			digit = false;
		else
			return false;
	}
	if (!digit)
		return false;
	*busnum = (uint32_t)bus;
	return true;
}

/* Records the type of every endpoint any configuration declares. */
static void map_endpoints(ft_usbip_server *srv)
{
	memset(srv->ep_type, EP_ABSENT, sizeof(srv->ep_type));
	srv->ep_type[0] = FT_USB_XFER_CONTROL;
	size_t len;
	const uint8_t *d = ft_usb_device_descriptor(&srv->dev, FT_USB_DT_DEVICE, 0, 0, &len);
	unsigned configs = d[17];
	for (unsigned i = 0; i < configs; i++) {
		const uint8_t *cfg =
		    ft_usb_device_descriptor(&srv->dev, FT_USB_DT_CONFIG, (uint8_t)i, 0, &len);
		size_t pos = 0;
		const uint8_t *desc;
		while ((desc = ft_usb_desc_next(cfg, len, &pos))) {
			if (desc[1] != FT_USB_DT_ENDPOINT || desc[0] < FT_USB_ENDPOINT_DESC_SIZE)
				continue;
			ft_usb_xfer_type type = desc[3] & 0x03;
			/* Isochronous endpoints stay absent: the server has no ISO support. */
			if (type == FT_USB_XFER_BULK || type == FT_USB_XFER_INTERRUPT)
				srv->ep_type[ep_key(desc[2])] = (uint8_t)type;
		}
	}
}

static ft_error open_listener(ft_usbip_server *srv, const char *address, uint16_t port,
                              ft_diag *diag)
{
	struct addrinfo hints = {
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	};
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	struct addrinfo *ai;
	int rc = getaddrinfo(address, service, &hints, &ai);
	if (rc != 0)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, address, "not a numeric address: %s",
		                   gai_strerror(rc));
	char origin[96];
	snprintf(origin, sizeof(origin), "%s port %u", address, port);
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(ai);
		return ft_diag_set(diag, FT_ERR_IO, origin, "socket: %s", strerror(errno));
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 8) != 0) {
		int e = errno;
		freeaddrinfo(ai);
		close(fd);
		return ft_diag_set(diag, FT_ERR_IO, origin, "cannot listen: %s", strerror(e));
	}
	freeaddrinfo(ai);
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
		int e = errno;
		close(fd);
		return ft_diag_set(diag, FT_ERR_IO, origin, "getsockname: %s", strerror(e));
	}
	srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                              : ((struct sockaddr_in *)&bound)->sin_port);
	srv->listen_fd = fd;
	return FT_OK;
}

ft_error ft_usbip_server_new(const ft_usbip_server_config *cfg, const ft_usb_device *dev,
                             ft_usbip_server **out, ft_diag *diag)
{
	static const ft_usbip_server_config defaults = {0};
	if (!cfg)
		cfg = &defaults;
	*out = NULL;
	ft_error err = ft_usb_device_check(dev, diag);
	if (err != FT_OK)
		return err;
	const char *busid = cfg->busid ? cfg->busid : "1-1";
	uint32_t busnum;
	if (!parse_busid(busid, &busnum))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "busid",
		                   "\"%s\" is not <bus>-<port>[.<port>...] with bus 1..65535",
		                   busid);
	ft_usbip_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "no memory for a USB/IP server");
	srv->dev = *dev;
	snprintf(srv->session, sizeof(srv->session), "%s", cfg->session ? cfg->session : "usbip");
	snprintf(srv->busid, sizeof(srv->busid), "%s", busid);
	srv->busnum = busnum;
	snprintf(srv->path, sizeof(srv->path), "/sys/devices/flashtwin/usb%u/%s", busnum, busid);
	srv->log = cfg->log;
	srv->log_ctx = cfg->log_ctx;
	srv->observer = cfg->observer;
	srv->observer_ctx = cfg->observer_ctx;
	srv->listen_fd = -1;
	map_endpoints(srv);
	srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->wake_fd < 0) {
		err = ft_diag_set(diag, FT_ERR_IO, NULL, "eventfd: %s", strerror(errno));
		free(srv);
		return err;
	}
	err = open_listener(srv, cfg->address ? cfg->address : "127.0.0.1", cfg->port, diag);
	if (err != FT_OK) {
		close(srv->wake_fd);
		free(srv);
		return err;
	}
	srv_log(srv, FT_USBIP_LOG_INFO, "exporting %s on port %u", srv->busid, srv->port);
	*out = srv;
	return FT_OK;
}

void ft_usbip_server_free(ft_usbip_server *srv)
{
	if (!srv)
		return;
	for (unsigned i = 0; i < srv->conn_count; i++)
		conn_free(srv, srv->conns[i]);
	close(srv->listen_fd);
	close(srv->wake_fd);
	free(srv);
}

uint16_t ft_usbip_server_port(const ft_usbip_server *srv)
{
	return srv->port;
}

ft_error ft_usbip_server_adopt(ft_usbip_server *srv, int fd, ft_diag *diag)
{
	char peer[32];
	snprintf(peer, sizeof(peer), "fd %d", fd);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		return ft_diag_set(diag, FT_ERR_IO, peer, "cannot make non-blocking: %s",
		                   strerror(e));
	}
	return conn_add(srv, fd, peer, diag);
}

void ft_usbip_server_wake(ft_usbip_server *srv)
{
	/* Only fails when the counter would overflow, and then a wake is pending anyway. */
	(void)eventfd_write(srv->wake_fd, 1);
}

/* One connection's turn after poll: read (when poll was asked for input and has some, or an
 * end or error to tell), answer, write. Returns false when the connection is to close. */
static bool service(ft_usbip_server *srv, conn *c, const struct pollfd *pfd)
{
	if ((pfd->events & POLLIN) && (pfd->revents & (POLLIN | POLLHUP | POLLERR)))
		read_input(srv, c);
	if (srv->attached == c)
		serve_urbs(srv, c);
	flush_output(srv, c);
	if (c->dead)
		return false;
	if (c->draining && c->out_len == 0) {
		srv_log(srv, FT_USBIP_LOG_INFO, "client #%u disconnected", c->id);
		return false;
	}
	return true;
}

ft_error ft_usbip_server_run_once(ft_usbip_server *srv, int timeout_ms, ft_diag *diag)
{
	struct pollfd fds[2 + FT_USBIP_MAX_CONNECTIONS];
	fds[0] = (struct pollfd){.fd = srv->wake_fd, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
	unsigned n = srv->conn_count;
	for (unsigned i = 0; i < n; i++) {
		conn *c = srv->conns[i];
		short events = 0;
		if (!c->draining && c->out_len < OUTPUT_HIGH_WATER)
			events |= POLLIN;
		if (c->out_len)
			events |= POLLOUT;
		fds[2 + i] = (struct pollfd){.fd = c->fd, .events = events};
	}
	if (poll(fds, 2 + n, timeout_ms) < 0) {
		if (errno == EINTR)
			return FT_OK;
		srv_log(srv, FT_USBIP_LOG_ERROR, "poll: %s", strerror(errno));
		return ft_diag_set(diag, FT_ERR_IO, NULL, "poll: %s", strerror(errno));
	}
	if (fds[0].revents & POLLIN) {
		eventfd_t count;
		(void)eventfd_read(srv->wake_fd, &count); /* EAGAIN only: nothing to clear */
	}
	/* Connections first, so that one accepted now is not looked at before its first poll. */
	unsigned kept = 0;
	for (unsigned i = 0; i < n; i++) {
		conn *c = srv->conns[i];
		if (service(srv, c, &fds[2 + i]))
			srv->conns[kept++] = c;
		else
			conn_free(srv, c);
	}
	/* conns[n..] stay untouched: only accept_clients adds, after this loop. */
	assert(srv->conn_count == n);
	srv->conn_count = kept;
	if (fds[1].revents & POLLIN)
		accept_clients(srv);
	return FT_OK;
}

ft_error ft_usbip_server_run(ft_usbip_server *srv, const atomic_bool *stop, ft_diag *diag)
{
	while (!atomic_load(stop)) {
		ft_error err = ft_usbip_server_run_once(srv, RUN_TICK_MS, diag);
		if (err != FT_OK)
			return err;
	}
	return FT_OK;
}
