/* A scripted GDB server for the RSP client tests: a thread on a 127.0.0.1 listener (port 0)
 * accepts one connection and plays a conversation table, step by step: bytes or packets it
 * expects from the client, bytes or packets it sends. Packet framing here is written from the GDB
 * manual ("Overview": '$' payload '#' two hex digits of the sum modulo 256; "Packet
 * Acknowledgment": '+' / '-'), independently of the client's gdb_rsp.
 *
 * The first mismatch is recorded with its step number and the server hangs up, so the client
 * fails fast; gs_finish returns the recorded failure for the test to assert on. */
#ifndef FT_TESTS_GDB_SCRIPT_H
#define FT_TESTS_GDB_SCRIPT_H

#include "models/tests/ft_test.h"
#include "programmer/tests/loopback.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GS_WAIT_MS 5000 /* a scripted server gives up after this; tests never wait it out */

typedef enum gs_kind {
	GS_EXPECT,     /* raw bytes the client must send next */
	GS_SEND,       /* raw bytes to send */
	GS_PACKET_IN,  /* a packet the client must send; acknowledged with '+' in ack mode */
	GS_PACKET_OUT, /* a packet to send; its '+' is expected in ack mode */
	GS_ACKS_OFF,   /* both sides stop acknowledging (after QStartNoAckMode) */
	GS_WAIT_CLOSE, /* read until the client hangs up (nothing else may come) */
	GS_HANG_UP,    /* close the connection now */
} gs_kind;

typedef struct gs_step {
	gs_kind kind;
	const char *text;
	size_t len; /* 0: strlen(text) */
} gs_step;

#define GS_IN(t)                                                                                   \
	{                                                                                          \
		GS_PACKET_IN, (t), 0                                                               \
	}
#define GS_OUT(t)                                                                                  \
	{                                                                                          \
		GS_PACKET_OUT, (t), 0                                                              \
	}
#define GS_RAW_IN(t)                                                                               \
	{                                                                                          \
		GS_EXPECT, (t), sizeof(t) - 1                                                      \
	}
#define GS_RAW_OUT(t)                                                                              \
	{                                                                                          \
		GS_SEND, (t), sizeof(t) - 1                                                        \
	}
#define GS_ACKS_STOP                                                                               \
	{                                                                                          \
		GS_ACKS_OFF, NULL, 0                                                               \
	}

typedef struct gs_server {
	int listen_fd, fd;
	uint16_t port;
	pthread_t thread;
	const gs_step *steps;
	size_t count;
	bool acks;
	char failure[512];
} gs_server;

/* "$payload#cs" into out (cap bytes); returns the length. */
static inline size_t gs_frame(const char *payload, size_t len, char *out, size_t cap)
{
	unsigned sum = 0;
	if (len + 4 > cap)
		return 0;
	out[0] = '$';
	for (size_t i = 0; i < len; i++) {
		out[1 + i] = payload[i];
		sum += (unsigned char)payload[i];
	}
	snprintf(out + 1 + len, 4, "#%02x", sum & 0xFF);
	return len + 4;
}

static inline bool gs_read_exact(int fd, char *buf, size_t n)
{
	while (n > 0) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, GS_WAIT_MS) != 1)
			return false;
		ssize_t r = recv(fd, buf, n, 0);
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}

static inline void gs_send_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* Printable form of bytes for failure messages. */
static inline void gs_show(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7F)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static inline bool gs_expect_bytes(gs_server *s, size_t step, const char *want, size_t n)
{
	char got[4096];
	if (n > sizeof(got)) {
		snprintf(s->failure, sizeof(s->failure), "step %zu: expectation too long", step);
		return false;
	}
	if (!gs_read_exact(s->fd, got, n)) {
		char w[256];
		gs_show(want, n, w, sizeof(w));
		snprintf(s->failure, sizeof(s->failure),
		         "step %zu: client sent nothing, expected %s", step, w);
		return false;
	}
	if (memcmp(got, want, n) != 0) {
		char w[200], g[200];
		gs_show(want, n, w, sizeof(w));
		gs_show(got, n, g, sizeof(g));
		snprintf(s->failure, sizeof(s->failure), "step %zu: client sent %s, expected %s",
		         step, g, w);
		return false;
	}
	return true;
}

/* Reads until the client hangs up; anything it sends instead is a failure. */
static inline bool gs_wait_close(gs_server *s, const char *where, size_t i)
{
	char c;
	struct pollfd p = {s->fd, POLLIN, 0};
	if (poll(&p, 1, GS_WAIT_MS) == 1 && recv(s->fd, &c, 1, 0) > 0) {
		char shown[16];
		gs_show(&c, 1, shown, sizeof(shown));
		snprintf(s->failure, sizeof(s->failure),
		         "%s %zu: client sent %s, expected it to hang up", where, i, shown);
		return false;
	}
	return true;
}

static inline bool gs_run_step(gs_server *s, size_t i)
{
	const gs_step *st = &s->steps[i];
	size_t len = st->len ? st->len : (st->text ? strlen(st->text) : 0);
	char framed[4096];
	switch (st->kind) {
	case GS_EXPECT: return gs_expect_bytes(s, i, st->text, len);
	case GS_SEND: gs_send_all(s->fd, st->text, len); return true;
	case GS_PACKET_IN: {
		size_t n = gs_frame(st->text, len, framed, sizeof(framed));
		if (!gs_expect_bytes(s, i, framed, n))
			return false;
		if (s->acks)
			gs_send_all(s->fd, "+", 1);
		return true;
	}
	case GS_PACKET_OUT: {
		size_t n = gs_frame(st->text, len, framed, sizeof(framed));
		gs_send_all(s->fd, framed, n);
		return !s->acks || gs_expect_bytes(s, i, "+", 1);
	}
	case GS_ACKS_OFF: s->acks = false; return true;
	case GS_WAIT_CLOSE: return gs_wait_close(s, "at step", i);
	case GS_HANG_UP: return false;
	}
	return false;
}

static inline void *gs_thread(void *arg)
{
	gs_server *s = arg;
	struct pollfd p = {s->listen_fd, POLLIN, 0};
	if (poll(&p, 1, GS_WAIT_MS) != 1 || (s->fd = accept(s->listen_fd, NULL, NULL)) < 0) {
		snprintf(s->failure, sizeof(s->failure), "no client connected");
		return NULL;
	}
	for (size_t i = 0; i < s->count; i++) {
		if (!gs_run_step(s, i))
			break;
	}
	/* Hold the connection until the client is done; it must send nothing more. */
	if (!s->failure[0] && (s->count == 0 || s->steps[s->count - 1].kind < GS_WAIT_CLOSE))
		gs_wait_close(s, "after step", s->count);
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	return NULL;
}

/* Starts the server; the test then connects to gdb://127.0.0.1:<s->port>. */
static inline void gs_start(gs_server *s, const gs_step *steps, size_t count)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->steps = steps;
	s->count = count;
	s->acks = true;
	s->listen_fd = loopback_listen(&s->port);
	if (s->listen_fd < 0 || pthread_create(&s->thread, NULL, gs_thread, s) != 0)
		abort();
}

static inline void gs_url(const gs_server *s, char *out, size_t cap)
{
	snprintf(out, cap, "gdb://127.0.0.1:%u", s->port);
}

/* Waits for the server thread (the client must have closed its connection) and returns the
 * recorded failure, or NULL when the whole script played. */
static inline const char *gs_finish(gs_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	return s->failure[0] ? s->failure : NULL;
}

#define GS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- what the fixtures of the tests that use a script share ---- */

/* A zeroed fixture of size bytes, for setup; aborts when out of memory. */
static inline void *gs_fixture_new(size_t size)
{
	void *f = calloc(1, size);
	if (!f)
		abort();
	return f;
}

/* For teardown: waits for the server when the test started it. */
static inline void gs_stop(gs_server *s, bool started)
{
	if (started)
		gs_finish(s);
}

/* Asserts that text contains part, saying both when it does not. */
static inline void gs_assert_contains(const char *text, const char *part)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

#endif
