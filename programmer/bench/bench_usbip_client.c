/* USB/IP client round trips over loopback TCP: how many 1024-byte control URBs per second the
 * client sustains against a server that answers at once. This is the ceiling of DfuSe
 * UPLOAD/DNLOAD throughput to an emulated board (each DfuSe block is one URB, plus GETSTATUS
 * polls for downloads). */
#include "programmer/tests/loopback.h"
#include "programmer/transport/usbip_client.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK  1024
#define ROUNDS 20000

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int read_all(int fd, uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(fd, buf, n, 0);
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Answers the IMPORT of busid 1-1, then every CMD_SUBMIT with a full-length RET_SUBMIT. */
static void *serve(void *arg)
{
	int listener = *(int *)arg;
	int fd = accept(listener, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t req[40], reply[8 + 312] = {0};
	if (read_all(fd, req, sizeof(req)) == 0) {
		reply[0] = 0x01, reply[1] = 0x11, reply[3] = 0x03;
		memcpy(reply + 8 + 256, "1-1", 3);
		write_all(fd, reply, sizeof(reply));
	}
	uint8_t cmd[48 + BLOCK], ret[48 + BLOCK];
	memset(ret, 0xA5, sizeof(ret));
	while (read_all(fd, cmd, 48) == 0) {
		uint32_t len = get32(cmd + 24);
		int in = get32(cmd + 12) == 1;
		if (len > BLOCK || (!in && read_all(fd, cmd + 48, len) != 0))
			break;
		memset(ret, 0, 48);
		put32(ret, 3);
		put32(ret + 4, get32(cmd + 4));
		put32(ret + 24, len);
		if (write_all(fd, ret, 48 + (in ? len : 0)) != 0)
			break;
	}
	close(fd);
	return NULL;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(ft_usbip_client *c, const uint8_t setup[8], const char *label)
{
	static uint8_t buf[BLOCK];
	double start = seconds();
	for (int i = 0; i < ROUNDS; i++) {
		size_t actual;
		ft_diag diag;
		if (ft_usbip_control(c, setup, buf, BLOCK, 1000, &actual, &diag) !=
		        FT_TRANSFER_OK ||
		    actual != BLOCK) {
			fprintf(stderr, "bench_usbip_client: %s\n", diag.message);
			return 1;
		}
	}
	double elapsed = seconds() - start;
	printf("%-28s %8.0f URB/s  %7.1f MB/s  (%d x %d bytes)\n", label, ROUNDS / elapsed,
	       ROUNDS * (double)BLOCK / elapsed / 1e6, ROUNDS, BLOCK);
	return 0;
}

int main(void)
{
	uint16_t port = 0;
	int listener = loopback_listen(&port);
	if (listener < 0) {
		perror("bench_usbip_client: listener");
		return 1;
	}
	pthread_t thread;
	if (pthread_create(&thread, NULL, serve, &listener) != 0)
		return 1;
	ft_usbip_client *c;
	ft_diag diag;
	if (ft_usbip_import("127.0.0.1", port, "1-1", 1000, &c, &diag) != FT_OK) {
		fprintf(stderr, "bench_usbip_client: %s\n", diag.message);
		return 1;
	}
	/* DFU UPLOAD and DNLOAD of one 1024-byte block (wBlockNum 2). */
	static const uint8_t upload[8] = {0xA1, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04};
	static const uint8_t dnload[8] = {0x21, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04};
	int status = run(c, upload, "control IN (UPLOAD-like)") ||
	             run(c, dnload, "control OUT (DNLOAD-like)");
	ft_usbip_close(c);
	pthread_join(thread, NULL);
	close(listener);
	return status;
}
