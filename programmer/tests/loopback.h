/* A TCP listener on 127.0.0.1 at a port the kernel picks, for the in-test servers (gdb_script.h,
 * gdb_stub.h, test_usbip_client.c) and the benchmarks that talk to one, so that tests run in
 * parallel without choosing ports. Test code, included by test and benchmark programs only. */
#ifndef FT_TESTS_LOOPBACK_H
#define FT_TESTS_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* Returns the listening socket (close-on-exec, a backlog of 4) with *port set, or -1 with errno
 * set. A listener closed again leaves a port that refuses connections. */
static inline int loopback_listen(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

#endif
