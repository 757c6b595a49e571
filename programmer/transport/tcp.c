#include "programmer/transport/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t ft_tcp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

ft_error ft_tcp_wait(int fd, short events, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = ft_tcp_now_ms();
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

ft_error ft_tcp_set_nonblocking(int fd, const char *label, ft_diag *diag)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return ft_diag_set(diag, FT_ERR_IO, label, "fcntl O_NONBLOCK: %s", strerror(errno));
	return FT_OK;
}

/* Connects fd to one address before deadline_ms; 0, or the errno that says why not. */
static int connect_one(int fd, const struct addrinfo *ai, uint64_t deadline_ms)
{
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	ft_error w = ft_tcp_wait(fd, POLLOUT, deadline_ms);
	if (w == FT_ERR_TIMEOUT)
		return ETIMEDOUT;
	if (w != FT_OK)
		return errno;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return errno;
	return soerr;
}

ft_error ft_tcp_connect(const char *host, uint16_t port, uint64_t deadline_ms, const char *label,
                        const char *refused_hint, int *out, ft_diag *diag)
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
	int last_errno = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai && last_errno != ETIMEDOUT; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int one = 1;
		last_errno = connect_one(fd, ai, deadline_ms);
		if (last_errno == 0 &&
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			last_errno = errno;
		if (last_errno == 0) {
			freeaddrinfo(res);
			*out = fd;
			return FT_OK;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (last_errno == ETIMEDOUT)
		return ft_diag_set(diag, FT_ERR_TIMEOUT, label,
		                   "connecting to %s port %u timed out", host, port);
	bool hint = refused_hint && last_errno == ECONNREFUSED;
	return ft_diag_set(diag, FT_ERR_IO, label, "cannot connect to %s port %u: %s%s%s", host,
	                   port, strerror(last_errno), hint ? " " : "", hint ? refused_hint : "");
}
