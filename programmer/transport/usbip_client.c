#include "programmer/transport/usbip_client.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000 /* connect + import through ft_transport_open */

struct ft_usbip_client {
	int fd;
	uint32_t last_seqnum;
	uint32_t devid;
	ft_usbip_device device;
	char label[320];
	/* FT_TRANSFER_OK while the stream is in step; otherwise what every later call answers. */
	ft_transfer_status broken;
	ft_error broken_code;
	char broken_why[200];
};

/* Copies src into dst[0..cap), cutting what does not fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Pure parsing. */

ft_error ft_usbip_parse_op_reply(const uint8_t hdr[FT_USBIP_OP_HEADER_SIZE], uint16_t expected_code,
                                 uint32_t *status, ft_diag *diag)
{
	ft_usbip_op_header op;
	ft_error err = ft_usbip_op_header_decode(hdr, FT_USBIP_OP_HEADER_SIZE, &op);
	assert(err == FT_OK); /* the array holds a whole header */
	*status = op.status;
	if (op.version != FT_USBIP_VERSION)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, "usbip reply",
		                   "server speaks USB/IP version 0x%04x, expected 0x%04x",
		                   op.version, FT_USBIP_VERSION);
	if (op.code != expected_code)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, "usbip reply",
		                   "reply code 0x%04x, expected 0x%04x", op.code, expected_code);
	return err;
}

/* Replaces every byte outside printable ASCII: the strings come from the peer. */
static void printable(char *text)
{
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || (unsigned char)*text >= 0x7f)
			*text = '?';
}

ft_error ft_usbip_parse_device(const uint8_t buf[FT_USBIP_DEVICE_SIZE], ft_usbip_device *out,
                               ft_diag *diag)
{
	(void)diag; /* every byte pattern is a valid device record; fields are judged by users */
	ft_error err = ft_usbip_device_decode(buf, FT_USBIP_DEVICE_SIZE, out);
	assert(err == FT_OK); /* the array holds a whole record */
	printable(out->path);
	printable(out->busid);
	return err;
}

ft_error ft_usbip_parse_reply(const uint8_t hdr[FT_USBIP_URB_HEADER_SIZE], ft_usbip_reply *out,
                              ft_diag *diag)
{
	memset(out, 0, sizeof(*out));
	ft_usbip_urb_header h;
	ft_diag codec;
	ft_diag_clear(&codec);
	ft_error err = ft_usbip_urb_header_decode(hdr, FT_USBIP_URB_HEADER_SIZE, &h, &codec);
	out->command = h.command;
	out->seqnum = h.seqnum;
	if (err == FT_OK && h.command == FT_USBIP_RET_UNLINK) {
		out->status = h.u.ret_unlink.status;
		return FT_OK;
	}
	if (err != FT_OK || h.command != FT_USBIP_RET_SUBMIT)
		return ft_diag_set(
		    diag, FT_ERR_PROTOCOL, "usbip reply",
		    "command 0x%08x where RET_SUBMIT or RET_UNLINK was due (seqnum %u)",
		    out->command, out->seqnum);
	out->status = h.u.ret_submit.status;
	out->actual_length = h.u.ret_submit.actual_length;
	int32_t packets = h.u.ret_submit.number_of_packets;
	if (packets != 0 && packets != -1)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, "usbip reply",
		                   "RET_SUBMIT seqnum %u carries %d ISO packets on a control URB",
		                   out->seqnum, packets);
	return FT_OK;
}

ft_error ft_usbip_check_ret_submit(const ft_usbip_reply *reply, uint32_t seqnum, size_t requested,
                                   ft_diag *diag)
{
	if (reply->command != FT_USBIP_RET_SUBMIT || reply->seqnum != seqnum)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, "usbip reply",
		                   "%s with seqnum %u while waiting for RET_SUBMIT seqnum %u",
		                   reply->command == FT_USBIP_RET_UNLINK ? "RET_UNLINK"
		                                                         : "RET_SUBMIT",
		                   reply->seqnum, seqnum);
	if (reply->actual_length > requested)
		return ft_diag_set(
		    diag, FT_ERR_PROTOCOL, "usbip reply",
		    "RET_SUBMIT seqnum %u claims actual_length %u, more than the %zu "
		    "bytes requested",
		    seqnum, reply->actual_length, requested);
	return FT_OK;
}

/* Socket I/O with deadlines. */

typedef enum io_result {
	IO_OK,
	IO_EOF,     /* the peer closed the connection */
	IO_TIMEOUT, /* the deadline passed */
	IO_ERROR,   /* errno says why */
} io_result;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is ready for events or the deadline passes. */
static io_result wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return IO_TIMEOUT;
		uint64_t left = deadline - now;
		struct pollfd p = {fd, events, 0};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return IO_ERROR;
		if (n > 0)
			return IO_OK;
	}
}

/* Reads exactly n bytes; *got says how many arrived before a failure. */
static io_result read_exact(int fd, uint8_t *buf, size_t n, uint64_t deadline, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = recv(fd, buf + *got, n - *got, 0);
		if (r > 0) {
			*got += (size_t)r;
			continue;
		}
		if (r == 0)
			return IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? IO_EOF : IO_ERROR;
		io_result w = wait_fd(fd, POLLIN, deadline);
		if (w != IO_OK)
			return w;
	}
	return IO_OK;
}

/* Sends two buffers (a header and its payload; b may be empty) as one stream write where the
 * socket allows, so that an OUT URB leaves in one segment. */
static io_result write_two(int fd, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                           uint64_t deadline)
{
	struct iovec iov[2] = {{(void *)a, a_len}, {(void *)b, b_len}};
	struct iovec *v = iov;
	int count = b_len ? 2 : 1;
	while (count > 0) {
		struct msghdr msg = {0};
		msg.msg_iov = v;
		msg.msg_iovlen = (size_t)count;
		ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EPIPE || errno == ECONNRESET))
			return IO_EOF;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
		if (r < 0) {
			io_result w = wait_fd(fd, POLLOUT, deadline);
			if (w != IO_OK)
				return w;
			continue;
		}
		size_t sent = (size_t)r;
		while (count > 0 && sent >= v->iov_len) {
			sent -= v->iov_len;
			v++;
			count--;
		}
		if (count > 0) {
			v->iov_base = (uint8_t *)v->iov_base + sent;
			v->iov_len -= sent;
		}
	}
	return IO_OK;
}

static io_result write_all(int fd, const uint8_t *buf, size_t n, uint64_t deadline)
{
	return write_two(fd, buf, n, NULL, 0, deadline);
}

/* The diag for a failed read of `what` (n bytes wanted, got received). */
static ft_error read_failed(ft_diag *diag, const char *label, io_result r, const char *what,
                            size_t got, size_t n)
{
	switch (r) {
	case IO_EOF:
		if (got == 0)
			return ft_diag_set(diag, FT_ERR_IO, label,
			                   "server closed the connection before %s", what);
		return ft_diag_set(diag, FT_ERR_PROTOCOL, label,
		                   "server closed the connection after %zu of %zu bytes of %s", got,
		                   n, what);
	case IO_TIMEOUT:
		return ft_diag_set(diag, FT_ERR_TIMEOUT, label,
		                   "no complete %s in time (%zu of %zu bytes)", what, got, n);
	case IO_ERROR:
		return ft_diag_set(diag, FT_ERR_IO, label, "reading %s: %s", what, strerror(errno));
	case IO_OK: break;
	}
	return FT_OK;
}

static ft_error write_failed(ft_diag *diag, const char *label, io_result r, const char *what)
{
	switch (r) {
	case IO_EOF:
		return ft_diag_set(diag, FT_ERR_IO, label,
		                   "server closed the connection; %s not sent", what);
	case IO_TIMEOUT:
		return ft_diag_set(diag, FT_ERR_TIMEOUT, label, "%s not sent in time", what);
	case IO_ERROR:
		return ft_diag_set(diag, FT_ERR_IO, label, "sending %s: %s", what, strerror(errno));
	case IO_OK: break;
	}
	return FT_OK;
}

static ft_error set_nonblocking(int fd, const char *label, ft_diag *diag)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return ft_diag_set(diag, FT_ERR_IO, label, "fcntl O_NONBLOCK: %s", strerror(errno));
	return FT_OK;
}

/* Connects a TCP socket to host:port within deadline. */
static ft_error connect_tcp(const char *host, uint16_t port, uint64_t deadline, const char *label,
                            int *out, ft_diag *diag)
{
	*out = -1;
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, service, &hints, &res);
	if (gai != 0)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, label, "cannot resolve %s: %s", host,
		                   gai_strerror(gai));
	int last_errno = 0;
	bool timed_out = false;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			io_result w = wait_fd(fd, POLLOUT, deadline);
			if (w == IO_OK) {
				int soerr = 0;
				socklen_t sl = sizeof(soerr);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
					soerr = errno;
				rc = soerr ? -1 : 0;
				errno = soerr;
			} else {
				timed_out = w == IO_TIMEOUT;
				rc = -1;
				errno = timed_out ? ETIMEDOUT : errno;
			}
		}
		if (rc == 0) {
			int one = 1;
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
				last_errno = errno;
				close(fd);
				continue;
			}
			freeaddrinfo(res);
			*out = fd;
			return FT_OK;
		}
		last_errno = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (timed_out)
		return ft_diag_set(diag, FT_ERR_TIMEOUT, label,
		                   "connecting to %s port %u timed out", host, port);
	return ft_diag_set(diag, FT_ERR_IO, label, "cannot connect to %s port %u: %s", host, port,
	                   strerror(last_errno));
}

static void make_label(char *out, size_t cap, const char *host, uint16_t port)
{
	if (strchr(host, ':'))
		snprintf(out, cap, "usbip://[%s]:%u", host, port);
	else
		snprintf(out, cap, "usbip://%s:%u", host, port);
}

/* Sends an OP_REQ_* and reads and checks the OP_REP header; *status is its status word. */
static ft_error op_exchange(int fd, const char *label, const uint8_t *req, size_t req_len,
                            uint16_t reply_code, uint64_t deadline, uint32_t *status, ft_diag *diag)
{
	const char *what =
	    reply_code == FT_USBIP_OP_REP_DEVLIST ? "OP_REQ_DEVLIST" : "OP_REQ_IMPORT";
	io_result r = write_all(fd, req, req_len, deadline);
	if (r != IO_OK)
		return write_failed(diag, label, r, what);
	uint8_t hdr[FT_USBIP_OP_HEADER_SIZE];
	size_t got;
	r = read_exact(fd, hdr, sizeof(hdr), deadline, &got);
	if (r != IO_OK)
		return read_failed(diag, label, r, "the reply header", got, sizeof(hdr));
	ft_diag parse;
	ft_diag_clear(&parse);
	if (ft_usbip_parse_op_reply(hdr, reply_code, status, &parse))
		return ft_diag_set(diag, FT_ERR_PROTOCOL, label, "%s: %s", what, parse.message);
	return FT_OK;
}

static ft_error list_on(int fd, const char *label, uint64_t deadline, ft_usbip_device *out,
                        size_t cap, size_t *count, ft_diag *diag)
{
	ft_error err = set_nonblocking(fd, label, diag);
	if (err)
		return err;
	uint8_t req[FT_USBIP_OP_HEADER_SIZE];
	ft_usbip_op_header_encode(FT_USBIP_OP_REQ_DEVLIST, FT_USBIP_ST_OK, req);
	uint32_t status;
	err = op_exchange(fd, label, req, sizeof(req), FT_USBIP_OP_REP_DEVLIST, deadline, &status,
	                  diag);
	if (err)
		return err;
	if (status != FT_USBIP_ST_OK)
		return ft_diag_set(diag, FT_ERR_DEVICE, label,
		                   "server refused OP_REQ_DEVLIST with status %s (%u)",
		                   ft_usbip_op_status_name(status), status);
	uint8_t word[FT_USBIP_DEVLIST_COUNT_SIZE];
	size_t got;
	io_result r = read_exact(fd, word, sizeof(word), deadline, &got);
	if (r != IO_OK)
		return read_failed(diag, label, r, "the DEVLIST device count", got, sizeof(word));
	uint32_t ndev;
	err = ft_usbip_devlist_count_decode(word, sizeof(word), &ndev);
	assert(err == FT_OK);
	if (ndev > FT_USBIP_MAX_DEVICES)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, label,
		                   "DEVLIST announces %u devices, at most %d accepted", ndev,
		                   FT_USBIP_MAX_DEVICES);
	for (uint32_t i = 0; i < ndev; i++) {
		uint8_t dev[FT_USBIP_DEVICE_SIZE];
		char what[48];
		snprintf(what, sizeof(what), "DEVLIST device %u", i);
		r = read_exact(fd, dev, sizeof(dev), deadline, &got);
		if (r != IO_OK)
			return read_failed(diag, label, r, what, got, sizeof(dev));
		ft_usbip_device info;
		err = ft_usbip_parse_device(dev, &info, diag);
		if (err)
			return err;
		uint8_t ifs[FT_USBIP_INTERFACE_SIZE * 255];
		size_t ifs_len = (size_t)FT_USBIP_INTERFACE_SIZE * info.bNumInterfaces;
		r = read_exact(fd, ifs, ifs_len, deadline, &got);
		if (r != IO_OK)
			return read_failed(diag, label, r, "the DEVLIST interface list", got,
			                   ifs_len);
		err = ft_usbip_devlist_interfaces_decode(ifs, ifs_len, &info);
		assert(err == FT_OK);
		if (i < cap)
			out[i] = info;
	}
	*count = ndev;
	return FT_OK;
}

ft_error ft_usbip_list_fd(int fd, const char *label, unsigned timeout_ms, ft_usbip_device *out,
                          size_t cap, size_t *count, ft_diag *diag)
{
	*count = 0;
	ft_error err = list_on(fd, label, now_ms() + timeout_ms, out, cap, count, diag);
	close(fd);
	return err;
}

ft_error ft_usbip_list(const char *host, uint16_t port, unsigned timeout_ms, ft_usbip_device *out,
                       size_t cap, size_t *count, ft_diag *diag)
{
	*count = 0;
	char label[300];
	make_label(label, sizeof(label), host, port);
	int fd;
	ft_error err = connect_tcp(host, port, now_ms() + timeout_ms, label, &fd, diag);
	if (err)
		return err;
	return ft_usbip_list_fd(fd, label, timeout_ms, out, cap, count, diag);
}

static ft_error import_status_error(uint32_t status, const char *label, const char *busid,
                                    ft_diag *diag)
{
	ft_error code = status == FT_USBIP_ST_NA || status == FT_USBIP_ST_NODEV ? FT_ERR_NOT_FOUND
	                : status == FT_USBIP_ST_DEV_BUSY                        ? FT_ERR_BUSY
	                                                                        : FT_ERR_DEVICE;
	return ft_diag_set(diag, code, label, "server refused to import busid %s: %s (%u)", busid,
	                   ft_usbip_op_status_name(status), status);
}

static ft_error import_on(int fd, const char *label, const char *busid, uint64_t deadline,
                          ft_usbip_device *info, ft_diag *diag)
{
	ft_error err = set_nonblocking(fd, label, diag);
	if (err)
		return err;
	uint8_t req[FT_USBIP_IMPORT_REQUEST_SIZE];
	ft_usbip_import_request_encode(busid, req);
	uint32_t status;
	err = op_exchange(fd, label, req, sizeof(req), FT_USBIP_OP_REP_IMPORT, deadline, &status,
	                  diag);
	if (err)
		return err;
	if (status != FT_USBIP_ST_OK)
		return import_status_error(status, label, busid, diag);
	uint8_t dev[FT_USBIP_DEVICE_SIZE];
	size_t got;
	io_result r = read_exact(fd, dev, sizeof(dev), deadline, &got);
	if (r != IO_OK)
		return read_failed(diag, label, r, "the IMPORT device record", got, sizeof(dev));
	err = ft_usbip_parse_device(dev, info, diag);
	if (err)
		return err;
	if (strcmp(info->busid, busid) != 0)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, label,
		                   "asked to import busid %s, server answered with busid %s", busid,
		                   info->busid);
	return FT_OK;
}

ft_error ft_usbip_import_fd(int fd, const char *label, const char *busid, unsigned timeout_ms,
                            ft_usbip_client **out, ft_diag *diag)
{
	*out = NULL;
	if (!busid || busid[0] == '\0' || strlen(busid) > FT_TRANSPORT_MAX_BUSID) {
		close(fd);
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, label,
		                   "a busid of 1 to %d characters is required",
		                   FT_TRANSPORT_MAX_BUSID);
	}
	ft_usbip_device info;
	ft_error err = import_on(fd, label, busid, now_ms() + timeout_ms, &info, diag);
	if (err) {
		close(fd);
		return err;
	}
	ft_usbip_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return ft_diag_set(diag, FT_ERR_NO_MEM, label, "out of memory");
	}
	c->fd = fd;
	c->device = info;
	c->devid = info.busnum << 16 | (info.devnum & 0xFFFF);
	snprintf(c->label, sizeof(c->label), "%s/%s", label, busid);
	*out = c;
	return FT_OK;
}

/* Finds the busid of the only exported device. */
static ft_error only_busid(const char *host, uint16_t port, unsigned timeout_ms, const char *label,
                           char busid[FT_TRANSPORT_MAX_BUSID + 1], ft_diag *diag)
{
	ft_usbip_device devs[4];
	size_t count;
	ft_error err = ft_usbip_list(host, port, timeout_ms, devs, 4, &count, diag);
	if (err)
		return err;
	if (count == 0)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, label, "server exports no device");
	if (count > 1) {
		char names[160] = "";
		size_t used = 0;
		for (size_t i = 0; i < count && i < 4; i++) {
			int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
			                 devs[i].busid);
			if (n < 0 || (size_t)n >= sizeof(names) - used)
				break;
			used += (size_t)n;
		}
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, label,
		                   "server exports %zu devices (%s%s); name one as %s/BUSID", count,
		                   names, count > 4 ? ", ..." : "", label);
	}
	copy_text(busid, FT_TRANSPORT_MAX_BUSID + 1, devs[0].busid);
	return FT_OK;
}

ft_error ft_usbip_import(const char *host, uint16_t port, const char *busid, unsigned timeout_ms,
                         ft_usbip_client **out, ft_diag *diag)
{
	*out = NULL;
	char label[300];
	make_label(label, sizeof(label), host, port);
	char chosen[FT_TRANSPORT_MAX_BUSID + 1];
	if (!busid || busid[0] == '\0') {
		ft_error err = only_busid(host, port, timeout_ms, label, chosen, diag);
		if (err)
			return err;
		busid = chosen;
	}
	int fd;
	ft_error err = connect_tcp(host, port, now_ms() + timeout_ms, label, &fd, diag);
	if (err)
		return err;
	return ft_usbip_import_fd(fd, label, busid, timeout_ms, out, diag);
}

void ft_usbip_close(ft_usbip_client *client)
{
	if (!client)
		return;
	close(client->fd);
	free(client);
}

const ft_usbip_device *ft_usbip_client_device(const ft_usbip_client *client)
{
	return &client->device;
}

const char *ft_usbip_client_describe(const ft_usbip_client *client)
{
	return client->label;
}

/* URB phase. */

static uint32_t next_seqnum(ft_usbip_client *c)
{
	c->last_seqnum++;
	if (c->last_seqnum == 0)
		c->last_seqnum = 1;
	return c->last_seqnum;
}

/* Marks the stream as out of step: every later transfer answers status at once. */
static ft_transfer_status break_client(ft_usbip_client *c, ft_transfer_status status,
                                       const ft_diag *why, ft_diag *diag)
{
	c->broken = status;
	c->broken_code = why->code;
	copy_text(c->broken_why, sizeof(c->broken_why), why->message);
	if (diag)
		*diag = *why;
	return status;
}

static ft_transfer_status io_status(io_result r, size_t got)
{
	if (r == IO_EOF && got == 0)
		return FT_TRANSFER_NO_DEVICE;
	if (r == IO_TIMEOUT)
		return FT_TRANSFER_TIMEOUT;
	return FT_TRANSFER_IO;
}

/* The basic header of a URB this client sends: EP0, the device imported. */
static ft_usbip_urb_header urb_header(const ft_usbip_client *c, uint32_t command, uint32_t seqnum,
                                      bool in)
{
	ft_usbip_urb_header h;
	memset(&h, 0, sizeof(h));
	h.command = command;
	h.seqnum = seqnum;
	h.devid = c->devid;
	h.direction = in ? FT_USBIP_DIR_IN : FT_USBIP_DIR_OUT;
	h.ep = 0;
	return h;
}

/* Reads one reply header and, for an IN RET_SUBMIT, its payload into data (at most len bytes,
 * checked). Returns FT_TRANSFER_OK or the status to break with, *why filled. */
static ft_transfer_status read_reply(ft_usbip_client *c, uint64_t deadline, bool in, uint8_t *data,
                                     size_t len, ft_usbip_reply *reply, size_t *header_got,
                                     ft_diag *why)
{
	uint8_t hdr[FT_USBIP_URB_HEADER_SIZE];
	io_result r = read_exact(c->fd, hdr, sizeof(hdr), deadline, header_got);
	if (r != IO_OK) {
		read_failed(why, c->label, r, "the reply header", *header_got, sizeof(hdr));
		return io_status(r, *header_got);
	}
	ft_diag parse;
	ft_diag_clear(&parse);
	if (ft_usbip_parse_reply(hdr, reply, &parse)) {
		ft_diag_set(why, FT_ERR_PROTOCOL, c->label, "%s", parse.message);
		return FT_TRANSFER_IO;
	}
	if (reply->command != FT_USBIP_RET_SUBMIT || !in || reply->actual_length == 0)
		return FT_TRANSFER_OK;
	if (reply->actual_length > len) {
		ft_diag_set(why, FT_ERR_PROTOCOL, c->label,
		            "RET_SUBMIT seqnum %u claims actual_length %u, more than the %zu bytes "
		            "requested",
		            reply->seqnum, reply->actual_length, len);
		return FT_TRANSFER_IO;
	}
	size_t got;
	r = read_exact(c->fd, data, reply->actual_length, deadline, &got);
	if (r != IO_OK) {
		read_failed(why, c->label, r, "the RET_SUBMIT data", got, reply->actual_length);
		if (r == IO_EOF)
			why->code = FT_ERR_PROTOCOL;
		return r == IO_TIMEOUT ? FT_TRANSFER_TIMEOUT : FT_TRANSFER_IO;
	}
	return FT_TRANSFER_OK;
}

/* Cancels URB seqnum after its timeout: CMD_UNLINK, then RET_UNLINK, dropping the URB's own
 * RET_SUBMIT if it crosses the unlink. Returns FT_TRANSFER_OK when the stream is back in
 * step. */
static ft_transfer_status unlink_urb(ft_usbip_client *c, uint32_t seqnum, bool in, uint8_t *data,
                                     size_t len, ft_diag *why)
{
	uint32_t useq = next_seqnum(c);
	ft_usbip_urb_header h = urb_header(c, FT_USBIP_CMD_UNLINK, useq, in);
	h.u.cmd_unlink.seqnum = seqnum;
	uint8_t hdr[FT_USBIP_URB_HEADER_SIZE];
	ft_usbip_urb_header_encode(&h, hdr);
	uint64_t deadline = now_ms() + FT_USBIP_UNLINK_TIMEOUT_MS;
	io_result r = write_all(c->fd, hdr, sizeof(hdr), deadline);
	if (r != IO_OK) {
		write_failed(why, c->label, r, "CMD_UNLINK");
		return io_status(r, 0);
	}
	/* At most two replies can be due: the URB's late RET_SUBMIT and the RET_UNLINK. */
	for (int i = 0; i < 2; i++) {
		ft_usbip_reply reply;
		size_t got;
		ft_transfer_status st = read_reply(c, deadline, in, data, len, &reply, &got, why);
		if (st == FT_TRANSFER_TIMEOUT) {
			ft_diag_set(why, FT_ERR_TIMEOUT, c->label,
			            "server answered neither URB %u nor its CMD_UNLINK", seqnum);
			return FT_TRANSFER_IO;
		}
		if (st != FT_TRANSFER_OK)
			return st;
		if (reply.command == FT_USBIP_RET_UNLINK && reply.seqnum == useq)
			return FT_TRANSFER_OK;
		if (reply.command != FT_USBIP_RET_SUBMIT || reply.seqnum != seqnum || i > 0)
			break;
	}
	ft_diag_set(why, FT_ERR_PROTOCOL, c->label,
	            "unexpected reply while waiting for RET_UNLINK seqnum %u", useq);
	return FT_TRANSFER_IO;
}

/* RET_SUBMIT status: 0 or a negative Linux errno (usbip_protocol.rst). */
static ft_transfer_status urb_status(int32_t status)
{
	switch (status) {
	case 0: return FT_TRANSFER_OK;
	case FT_USBIP_EPIPE: return FT_TRANSFER_STALL;
	case FT_USBIP_ENODEV:
	case FT_USBIP_ESHUTDOWN: return FT_TRANSFER_NO_DEVICE;
	case FT_USBIP_ETIMEDOUT: return FT_TRANSFER_TIMEOUT;
	default: return FT_TRANSFER_IO;
	}
}

ft_transfer_status ft_usbip_control(ft_usbip_client *c, const uint8_t setup[8], uint8_t *data,
                                    size_t len, unsigned timeout_ms, size_t *actual, ft_diag *diag)
{
	*actual = 0;
	ft_diag why;
	ft_diag_clear(&why);
	if (c->broken != FT_TRANSFER_OK) {
		ft_diag_set(diag, c->broken_code, c->label, "connection unusable since: %s",
		            c->broken_why);
		return c->broken;
	}
	size_t wlength = (size_t)setup[6] | (size_t)setup[7] << 8;
	if (len != wlength || (len > 0 && !data) || timeout_ms == 0) {
		ft_diag_set(diag, FT_ERR_INVALID_ARG, c->label,
		            "control transfer with len %zu, wLength %zu, timeout %u ms", len,
		            wlength, timeout_ms);
		return FT_TRANSFER_IO;
	}
	bool in = (setup[0] & 0x80) != 0;
	uint32_t seqnum = next_seqnum(c);
	ft_usbip_urb_header h = urb_header(c, FT_USBIP_CMD_SUBMIT, seqnum, in);
	h.u.cmd_submit.transfer_flags = in ? FT_USBIP_URB_DIR_IN : 0;
	h.u.cmd_submit.transfer_buffer_length = (uint32_t)len;
	/* start_frame, number_of_packets (0: not ISO, as Linux vhci sends it), interval: 0 */
	memcpy(h.u.cmd_submit.setup, setup, 8);
	uint8_t hdr[FT_USBIP_URB_HEADER_SIZE];
	ft_usbip_urb_header_encode(&h, hdr);
	uint64_t deadline = now_ms() + timeout_ms;
	io_result r = write_two(c->fd, hdr, sizeof(hdr), data, in ? 0 : len, deadline);
	if (r != IO_OK) {
		write_failed(&why, c->label, r, "CMD_SUBMIT");
		return break_client(c, io_status(r, 0), &why, diag);
	}
	ft_usbip_reply reply;
	size_t got;
	ft_transfer_status st = read_reply(c, deadline, in, data, len, &reply, &got, &why);
	if (st == FT_TRANSFER_TIMEOUT && got == 0) {
		st = unlink_urb(c, seqnum, in, data, len, &why);
		if (st != FT_TRANSFER_OK)
			return break_client(c, st, &why, diag);
		ft_diag_set(diag, FT_ERR_TIMEOUT, c->label,
		            "no RET_SUBMIT for seqnum %u within %u ms; URB unlinked", seqnum,
		            timeout_ms);
		return FT_TRANSFER_TIMEOUT;
	}
	if (st != FT_TRANSFER_OK)
		return break_client(c, st == FT_TRANSFER_TIMEOUT ? FT_TRANSFER_IO : st, &why, diag);
	if (ft_usbip_check_ret_submit(&reply, seqnum, len, &why)) {
		copy_text(why.origin, sizeof(why.origin), c->label);
		return break_client(c, FT_TRANSFER_IO, &why, diag);
	}
	st = urb_status(reply.status);
	if (st == FT_TRANSFER_OK) {
		*actual = reply.actual_length;
		return FT_TRANSFER_OK;
	}
	ft_diag_set(diag, ft_transfer_error(st, NULL), c->label,
	            "RET_SUBMIT seqnum %u status %d (%s)", seqnum, reply.status,
	            reply.status < 0 && reply.status > -4096 ? strerror(-reply.status)
	                                                     : "not an errno");
	return st;
}

ft_error ft_usbip_reset(ft_usbip_client *client, unsigned timeout_ms, ft_diag *diag)
{
	/* SET_FEATURE(PORT_RESET) to a hub port: bmRequestType USB_RT_PORT 0x23, bRequest 3,
	 * wValue 4 (USB 2.0 §11.24.2; special-cased by Linux drivers/usb/usbip/stub_rx.c). */
	static const uint8_t setup[8] = {0x23, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00};
	size_t actual;
	ft_diag local;
	ft_diag_clear(&local);
	ft_diag *d = diag ? diag : &local;
	ft_transfer_status st = ft_usbip_control(client, setup, NULL, 0, timeout_ms, &actual, d);
	return ft_transfer_error(st, d);
}

/* The transport backend. */

static ft_error tp_open(const ft_transport_address *addr, void **ctx, ft_diag *diag)
{
	ft_usbip_client *c;
	ft_error err =
	    ft_usbip_import(addr->host, addr->port, addr->busid, CONNECT_TIMEOUT_MS, &c, diag);
	*ctx = err ? NULL : c;
	return err;
}

static ft_error tp_list(const ft_transport_address *addr, ft_transport_device *out, size_t cap,
                        size_t *count, ft_diag *diag)
{
	ft_usbip_device *infos = calloc(cap ? cap : 1, sizeof(*infos));
	if (!infos)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "usbip", "out of memory");
	ft_error err =
	    ft_usbip_list(addr->host, addr->port, CONNECT_TIMEOUT_MS, infos, cap, count, diag);
	for (size_t i = 0; !err && i < *count && i < cap; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].id, sizeof(out[i].id), "%s", infos[i].busid);
		out[i].vid = infos[i].idVendor;
		out[i].pid = infos[i].idProduct;
		out[i].bcd_device = infos[i].bcdDevice;
		out[i].speed = infos[i].speed;
		for (size_t k = 0; k < infos[i].bNumInterfaces && k < FT_USB_MAX_INTERFACES; k++) {
			const ft_usbip_interface *f = &infos[i].interfaces[k];
			/* DFU 1.1 §4.2.3: application-specific class, DFU subclass, DFU mode */
			out[i].dfu |= f->bInterfaceClass == 0xFE && f->bInterfaceSubClass == 0x01 &&
			              f->bInterfaceProtocol == 0x02;
		}
	}
	free(infos);
	return err;
}

static void tp_close(void *ctx)
{
	ft_usbip_close(ctx);
}

static ft_transfer_status tp_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                     unsigned timeout_ms, size_t *actual, ft_diag *diag)
{
	return ft_usbip_control(ctx, setup, data, len, timeout_ms, actual, diag);
}

static ft_error tp_reset(void *ctx, ft_diag *diag)
{
	return ft_usbip_reset(ctx, CONNECT_TIMEOUT_MS, diag);
}

static const char *tp_describe(void *ctx)
{
	return ft_usbip_client_describe(ctx);
}

const ft_transport_ops ft_usbip_transport_ops = {
    .name = "usbip",
    .open = tp_open,
    .list = tp_list,
    .close = tp_close,
    .control = tp_control,
    /* The standard requests travel as control URBs. */
    .set_configuration = NULL,
    .set_interface = NULL,
    .reset = tp_reset,
    .describe = tp_describe,
};

ft_transport *ft_usbip_transport(ft_usbip_client *client)
{
	ft_transport *t = ft_transport_new(&ft_usbip_transport_ops, client);
	if (!t)
		ft_usbip_close(client);
	return t;
}
