#include "programmer/transport/gdb_stream.h"

#include <ctype.h>
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
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct ft_gdb_stream {
	const ft_gdb_stream_ops *ops;
	void *ctx;
};

/* The file-descriptor backend serves both sockets and terminals: only opening differs. */
typedef struct fd_stream {
	int fd;
	bool is_socket;
	char label[FT_GDB_MAX_PATH + 16];
} fd_stream;

/* ---- connection strings ---- */

bool ft_gdb_is_connection(const char *text)
{
	return text && (strncmp(text, "gdb://", 6) == 0 || strncmp(text, "gdb:/", 5) == 0);
}

/* termios speeds (POSIX.1-2017 <termios.h>, Linux extensions above 38400). */
static const struct {
	uint32_t baud;
	speed_t speed;
} BAUDS[] = {
    {9600, B9600},     {19200, B19200},     {38400, B38400},     {57600, B57600},
    {115200, B115200}, {230400, B230400},   {460800, B460800},   {500000, B500000},
    {921600, B921600}, {1000000, B1000000}, {2000000, B2000000}, {3000000, B3000000},
};

static bool baud_speed(uint32_t baud, speed_t *speed)
{
	for (size_t i = 0; i < sizeof(BAUDS) / sizeof(BAUDS[0]); i++) {
		if (BAUDS[i].baud == baud) {
			*speed = BAUDS[i].speed;
			return true;
		}
	}
	return false;
}

/* Decimal number of at most 10 digits at text[*pos]; advances *pos. */
static bool parse_decimal(const char *text, size_t *pos, uint64_t *value)
{
	size_t start = *pos;
	*value = 0;
	while (isdigit((unsigned char)text[*pos]) && *pos - start < 10)
		*value = *value * 10 + (uint64_t)(text[(*pos)++] - '0');
	return *pos > start && !isdigit((unsigned char)text[*pos]);
}

static ft_error parse_tcp(const char *text, ft_gdb_address *out, ft_diag *diag)
{
	size_t pos = 6; /* after "gdb://" */
	const char *host = text + pos;
	size_t host_len;
	if (*host == '[') {
		const char *end = strchr(host, ']');
		if (!end)
			return ft_diag_set(
			    diag, FT_ERR_FORMAT, text,
			    "offset %zu: '[' opens an IPv6 address that no ']' closes", pos);
		host++;
		host_len = (size_t)(end - host);
		for (size_t i = 0; i < host_len; i++) {
			char c = host[i];
			if (!isxdigit((unsigned char)c) && c != ':' && c != '.' && c != '%')
				return ft_diag_set(diag, FT_ERR_FORMAT, text,
				                   "offset %zu: '%c' in an IPv6 address",
				                   pos + 1 + i, c);
		}
		pos += host_len + 2;
	} else {
		host_len = strcspn(host, ":");
		for (size_t i = 0; i < host_len; i++) {
			char c = host[i];
			if (!isalnum((unsigned char)c) && c != '.' && c != '-')
				return ft_diag_set(
				    diag, FT_ERR_FORMAT, text,
				    "offset %zu: '%c' in a host name (letters, digits, "
				    "'.', '-')",
				    pos + i, isprint((unsigned char)c) ? c : '?');
		}
		pos += host_len;
	}
	if (host_len == 0)
		return ft_diag_set(diag, FT_ERR_FORMAT, text, "offset %zu: host expected", pos);
	if (host_len > FT_GDB_MAX_HOST)
		return ft_diag_set(diag, FT_ERR_RANGE, text, "host of %zu characters, at most %d",
		                   host_len, FT_GDB_MAX_HOST);
	if (text[pos] != ':')
		return ft_diag_set(
		    diag, FT_ERR_FORMAT, text,
		    "offset %zu: ':PORT' expected (gdb://HOST:PORT; OpenOCD and pyOCD "
		    "listen on 3333)",
		    pos);
	pos++;
	uint64_t port;
	if (!parse_decimal(text, &pos, &port))
		return ft_diag_set(diag, FT_ERR_FORMAT, text, "offset %zu: decimal port expected",
		                   pos);
	if (text[pos] != '\0')
		return ft_diag_set(diag, FT_ERR_FORMAT, text,
		                   "offset %zu: unexpected '%c' after the port", pos,
		                   isprint((unsigned char)text[pos]) ? text[pos] : '?');
	if (port == 0 || port > 65535)
		return ft_diag_set(diag, FT_ERR_RANGE, text, "port %llu is not in 1..65535",
		                   (unsigned long long)port);
	out->kind = FT_GDB_STREAM_TCP;
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	out->port = (uint16_t)port;
	return FT_OK;
}

static ft_error parse_serial(const char *text, ft_gdb_address *out, ft_diag *diag)
{
	const char *path = text + 4; /* after "gdb:" */
	size_t len = strcspn(path, ",");
	if (len > FT_GDB_MAX_PATH)
		return ft_diag_set(diag, FT_ERR_RANGE, text,
		                   "device path of %zu characters, at most %d", len,
		                   FT_GDB_MAX_PATH);
	for (size_t i = 0; i < len; i++) {
		if (!isgraph((unsigned char)path[i]))
			return ft_diag_set(
			    diag, FT_ERR_FORMAT, text,
			    "offset %zu: control character or space in the device path", 4 + i);
	}
	out->kind = FT_GDB_STREAM_SERIAL;
	memcpy(out->path, path, len);
	out->path[len] = '\0';
	out->baud = FT_GDB_DEFAULT_BAUD;
	if (path[len] == ',') {
		size_t pos = 4 + len + 1;
		uint64_t baud;
		if (!parse_decimal(text, &pos, &baud) || text[pos] != '\0')
			return ft_diag_set(diag, FT_ERR_FORMAT, text,
			                   "offset %zu: decimal baud rate expected after ','",
			                   4 + len + 1);
		speed_t speed;
		if (baud > UINT32_MAX || !baud_speed((uint32_t)baud, &speed))
			return ft_diag_set(
			    diag, FT_ERR_RANGE, text,
			    "baud rate %llu is not one the host offers (9600..3000000)",
			    (unsigned long long)baud);
		out->baud = (uint32_t)baud;
	}
	return FT_OK;
}

ft_error ft_gdb_parse_address(const char *text, ft_gdb_address *out, ft_diag *diag)
{
	if (!text || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL connection string");
	memset(out, 0, sizeof(*out));
	if (strncmp(text, "gdb://", 6) == 0)
		return parse_tcp(text, out, diag);
	if (strncmp(text, "gdb:/", 5) == 0)
		return parse_serial(text, out, diag);
	if (strncmp(text, "gdb:", 4) == 0)
		return ft_diag_set(diag, FT_ERR_FORMAT, text,
		                   "offset 4: gdb://HOST:PORT or gdb:/ABSOLUTE/DEVICE expected");
	return ft_diag_set(diag, FT_ERR_UNSUPPORTED, text, "not a GDB connection string");
}

/* ---- time and waiting ---- */

uint64_t ft_gdb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is ready for events. FT_OK, FT_ERR_TIMEOUT, or FT_ERR_IO with errno set. */
static ft_error wait_fd(int fd, short events, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = ft_gdb_now_ms();
		if (now >= deadline_ms)
			return FT_ERR_TIMEOUT;
		uint64_t left = deadline_ms - now;
		struct pollfd p = {fd, events, 0};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FT_ERR_IO;
		if (n > 0)
			return FT_OK;
	}
}

/* ---- the fd backend ---- */

static ft_error fd_write(void *ctx, const uint8_t *buf, size_t len, uint64_t deadline_ms,
                         ft_diag *diag)
{
	fd_stream *st = ctx;
	while (len > 0) {
		ssize_t w =
		    st->is_socket ? send(st->fd, buf, len, MSG_NOSIGNAL) : write(st->fd, buf, len);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno == EPIPE || errno == ECONNRESET)
				return ft_diag_set(diag, FT_ERR_IO, st->label,
				                   "the GDB server closed the connection");
			return ft_diag_set(diag, FT_ERR_IO, st->label, "write: %s",
			                   strerror(errno));
		}
		ft_error err = wait_fd(st->fd, POLLOUT, deadline_ms);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, st->label,
			                   "the GDB server took no data in time (%zu bytes left)",
			                   len);
		if (err != FT_OK)
			return ft_diag_set(diag, err, st->label, "poll: %s", strerror(errno));
	}
	return FT_OK;
}

static ft_error fd_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ms,
                        ft_diag *diag)
{
	fd_stream *st = ctx;
	*got = 0;
	for (;;) {
		ssize_t r = read(st->fd, buf, cap);
		if (r > 0) {
			*got = (size_t)r;
			return FT_OK;
		}
		/* A terminal whose device went away reads 0 like a closed socket (USB unplug). */
		if (r == 0)
			return ft_diag_set(diag, FT_ERR_IO, st->label,
			                   "the GDB server closed the connection");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ft_diag_set(diag, FT_ERR_IO, st->label, "read: %s",
			                   errno == ECONNRESET
			                       ? "connection reset by the GDB server"
			                       : strerror(errno));
		ft_error err = wait_fd(st->fd, POLLIN, deadline_ms);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, st->label,
			                   "no data from the GDB server in time");
		if (err != FT_OK)
			return ft_diag_set(diag, err, st->label, "poll: %s", strerror(errno));
	}
}

static void fd_close(void *ctx)
{
	fd_stream *st = ctx;
	close(st->fd);
	free(st);
}

static const char *fd_describe(void *ctx)
{
	return ((fd_stream *)ctx)->label;
}

static const ft_gdb_stream_ops TCP_OPS = {
    .name = "tcp",
    .write = fd_write,
    .read = fd_read,
    .close = fd_close,
    .describe = fd_describe,
};

static const ft_gdb_stream_ops SERIAL_OPS = {
    .name = "serial",
    .write = fd_write,
    .read = fd_read,
    .close = fd_close,
    .describe = fd_describe,
};

static ft_error wrap_fd(int fd, bool is_socket, const char *label, ft_gdb_stream **out,
                        ft_diag *diag)
{
	*out = NULL;
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		ft_error err =
		    ft_diag_set(diag, FT_ERR_IO, label, "fcntl O_NONBLOCK: %s", strerror(errno));
		close(fd);
		return err;
	}
	fd_stream *st = calloc(1, sizeof(*st));
	if (!st) {
		close(fd);
		return ft_diag_set(diag, FT_ERR_NO_MEM, label, "out of memory");
	}
	st->fd = fd;
	st->is_socket = is_socket;
	snprintf(st->label, sizeof(st->label), "%s", label);
	*out = ft_gdb_stream_new(is_socket ? &TCP_OPS : &SERIAL_OPS, st);
	if (!*out) {
		fd_close(st);
		return ft_diag_set(diag, FT_ERR_NO_MEM, label, "out of memory");
	}
	return FT_OK;
}

ft_error ft_gdb_stream_from_fd(int fd, const char *label, ft_gdb_stream **out, ft_diag *diag)
{
	if (!out || fd < 0 || !label)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, label, "bad stream arguments");
	struct stat sb;
	bool is_socket = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
	return wrap_fd(fd, is_socket, label, out, diag);
}

/* Connects to host:port before deadline_ms, trying each resolved address in turn. */
static ft_error connect_tcp(const ft_gdb_address *addr, const char *label, uint64_t deadline_ms,
                            int *out, ft_diag *diag)
{
	*out = -1;
	char service[8];
	snprintf(service, sizeof(service), "%u", addr->port);
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(addr->host, service, &hints, &res);
	if (gai != 0)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, label, "cannot resolve %s: %s",
		                   addr->host, gai_strerror(gai));
	int last_errno = ECONNREFUSED;
	bool timed_out = false;
	for (struct addrinfo *ai = res; ai && !timed_out; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			ft_error w = wait_fd(fd, POLLOUT, deadline_ms);
			int soerr = w == FT_ERR_TIMEOUT ? ETIMEDOUT : errno;
			if (w == FT_OK) {
				socklen_t sl = sizeof(soerr);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
					soerr = errno;
			}
			timed_out = w == FT_ERR_TIMEOUT;
			rc = soerr ? -1 : 0;
			errno = soerr;
		}
		/* Packets are small and latency-bound: no Nagle delay (OpenOCD sets it too). */
		int one = 1;
		if (rc == 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
			freeaddrinfo(res);
			*out = fd;
			return FT_OK;
		}
		last_errno = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (timed_out)
		return ft_diag_set(diag, FT_ERR_TIMEOUT, label, "connecting timed out");
	return ft_diag_set(diag, FT_ERR_IO, label, "cannot connect: %s%s", strerror(last_errno),
	                   last_errno == ECONNREFUSED ? " (is the GDB server running and listening "
	                                                "on that port?)"
	                                              : "");
}

static ft_error open_serial(const ft_gdb_address *addr, const char *label, int *out, ft_diag *diag)
{
	*out = -1;
	int fd = open(addr->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return ft_diag_set(diag, e == ENOENT ? FT_ERR_NOT_FOUND : FT_ERR_IO, label,
		                   "cannot open %s: %s%s", addr->path, strerror(e),
		                   e == EACCES ? " (add yourself to the dialout group)" : "");
	}
	struct termios tio;
	speed_t speed = B115200;
	baud_speed(addr->baud, &speed);
	if (tcgetattr(fd, &tio) != 0) {
		ft_error err = ft_diag_set(diag, FT_ERR_IO, label, "%s is not a terminal: %s",
		                           addr->path, strerror(errno));
		close(fd);
		return err;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
	    tcsetattr(fd, TCSANOW, &tio) != 0) {
		ft_error err = ft_diag_set(diag, FT_ERR_IO, label, "configuring %s: %s", addr->path,
		                           strerror(errno));
		close(fd);
		return err;
	}
	/* Bytes a previous session left in the driver would read as a reply. */
	tcflush(fd, TCIOFLUSH);
	*out = fd;
	return FT_OK;
}

ft_error ft_gdb_stream_open(const char *conn, unsigned timeout_ms, ft_gdb_stream **out,
                            ft_diag *diag)
{
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, conn, "NULL out");
	*out = NULL;
	ft_gdb_address addr;
	ft_error err = ft_gdb_parse_address(conn, &addr, diag);
	if (err != FT_OK)
		return err;
	char label[FT_GDB_MAX_PATH + 16];
	int fd;
	if (addr.kind == FT_GDB_STREAM_TCP) {
		if (strchr(addr.host, ':'))
			snprintf(label, sizeof(label), "gdb://[%s]:%u", addr.host, addr.port);
		else
			snprintf(label, sizeof(label), "gdb://%s:%u", addr.host, addr.port);
		err = connect_tcp(&addr, label, ft_gdb_now_ms() + timeout_ms, &fd, diag);
	} else {
		snprintf(label, sizeof(label), "gdb:%s", addr.path);
		err = open_serial(&addr, label, &fd, diag);
	}
	if (err != FT_OK)
		return err;
	return wrap_fd(fd, addr.kind == FT_GDB_STREAM_TCP, label, out, diag);
}

/* ---- wrappers ---- */

ft_gdb_stream *ft_gdb_stream_new(const ft_gdb_stream_ops *ops, void *ctx)
{
	ft_gdb_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ops = ops;
	s->ctx = ctx;
	return s;
}

void ft_gdb_stream_close(ft_gdb_stream *s)
{
	if (!s)
		return;
	s->ops->close(s->ctx);
	free(s);
}

ft_error ft_gdb_stream_write(ft_gdb_stream *s, const uint8_t *buf, size_t len, uint64_t deadline_ms,
                             ft_diag *diag)
{
	ft_diag local;
	if (!s || (len > 0 && !buf))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad stream write arguments");
	if (len == 0)
		return FT_OK;
	return s->ops->write(s->ctx, buf, len, deadline_ms, diag ? diag : &local);
}

ft_error ft_gdb_stream_read(ft_gdb_stream *s, uint8_t *buf, size_t cap, size_t *got,
                            uint64_t deadline_ms, ft_diag *diag)
{
	ft_diag local;
	if (!s || !buf || cap == 0 || !got)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad stream read arguments");
	*got = 0;
	ft_error err = s->ops->read(s->ctx, buf, cap, got, deadline_ms, diag ? diag : &local);
	if (err == FT_OK && (*got == 0 || *got > cap))
		return ft_diag_set(diag, FT_ERR_IO, s->ops->describe(s->ctx),
		                   "stream backend %s returned %zu bytes for a %zu-byte read",
		                   s->ops->name, *got, cap);
	return err;
}

const char *ft_gdb_stream_describe(const ft_gdb_stream *s)
{
	return s ? s->ops->describe(s->ctx) : "(no stream)";
}
