/* Byte streams for the GDB remote serial protocol: a TCP connection to a GDB server (QEMU's
 * gdbstub, OpenOCD, pyOCD, st-util) or a serial port (the Black Magic Probe's CDC ACM port).
 *
 * Connection strings:
 *   gdb://HOST:PORT          TCP; HOST is a name, an IPv4 address or a bracketed IPv6 address
 *                            ("gdb://[::1]:3333"); PORT 1..65535 is required (servers differ:
 *                            OpenOCD and pyOCD 3333, QEMU whatever -gdb tcp::N says)
 *   gdb:/dev/ttyACM0[,BAUD]  a serial device by absolute path, put in raw mode (termios
 *                            cfmakeraw, 8N1, CLOCAL, no flow control); BAUD defaults to 115200,
 *                            which USB CDC ACM devices such as the Black Magic Probe ignore
 *
 * Each backend fills an ft_gdb_stream_ops table; callers go through the ft_gdb_stream_* wrappers.
 * A stream moves bytes only: framing, checksums and acknowledgements are gdb_rsp's.
 *
 * Time: every wait is bounded by a deadline in milliseconds of the host's monotonic clock
 * (ft_gdb_now_ms), so a dead or silent peer costs at most the caller's timeout.
 * Threading: a stream is used by one thread at a time. Ownership: whoever opens a stream closes it
 * with ft_gdb_stream_close (gdb_rsp takes over the stream it is given).
 */
#ifndef FT_GDB_STREAM_H
#define FT_GDB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

#define FT_GDB_MAX_HOST     253 /* a DNS name (RFC 1035 §2.3.4) */
#define FT_GDB_MAX_PATH     255
#define FT_GDB_DEFAULT_BAUD 115200u

typedef enum ft_gdb_stream_kind {
	FT_GDB_STREAM_TCP,
	FT_GDB_STREAM_SERIAL,
} ft_gdb_stream_kind;

/* A parsed connection string. */
typedef struct ft_gdb_address {
	ft_gdb_stream_kind kind;
	char host[FT_GDB_MAX_HOST + 1]; /* tcp: without the IPv6 brackets */
	uint16_t port;                  /* tcp: never 0 once parsed */
	char path[FT_GDB_MAX_PATH + 1]; /* serial: absolute device path */
	uint32_t baud;                  /* serial */
} ft_gdb_address;

/* True when text names a GDB connection ("gdb://" or "gdb:/"), so a caller can pick this
 * transport before parsing. */
bool ft_gdb_is_connection(const char *text);

/* Parses a connection string (see the top of this file). Returns FT_OK; FT_ERR_FORMAT with diag
 * naming the offset and what was expected; FT_ERR_RANGE for a host or path that is too long, a
 * port out of 1..65535 or a baud rate the host does not offer; FT_ERR_UNSUPPORTED for another
 * scheme. *out is unspecified on failure. */
ft_error ft_gdb_parse_address(const char *text, ft_gdb_address *out, ft_diag *diag);

/* Milliseconds of the host's monotonic clock: the time base of every deadline here. */
uint64_t ft_gdb_now_ms(void);

/* The operations of a backend; ctx is the backend's own pointer. diag is never NULL when passed
 * to an op. Ops never print. */
typedef struct ft_gdb_stream_ops {
	/* Backend name for messages ("tcp", "serial"). Required. */
	const char *name;

	/* Sends all len (> 0) bytes, waiting while the peer is slow until deadline_ms. Returns
	 * FT_OK; FT_ERR_TIMEOUT when not everything left by the deadline; FT_ERR_IO when the peer
	 * closed the connection or the system refused (diag says which). Required. */
	ft_error (*write)(void *ctx, const uint8_t *buf, size_t len, uint64_t deadline_ms,
	                  ft_diag *diag);

	/* Receives what is available: waits until at least one byte arrives or deadline_ms
	 * passes, then stores 1..cap bytes (cap > 0) and sets *got. Returns FT_OK (*got > 0);
	 * FT_ERR_TIMEOUT (*got 0) when nothing arrived in time; FT_ERR_IO when the peer closed
	 * the connection or the system refused. Required. */
	ft_error (*read)(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ms,
	                 ft_diag *diag);

	/* Releases ctx. Called exactly once, by ft_gdb_stream_close. Required. */
	void (*close)(void *ctx);

	/* What the stream is connected to, for messages: "gdb://127.0.0.1:3333",
	 * "gdb:/dev/ttyACM0". Owned by the backend, valid as long as ctx. Required. */
	const char *(*describe)(void *ctx);
} ft_gdb_stream_ops;

typedef struct ft_gdb_stream ft_gdb_stream;

/* Parses conn and connects: TCP within timeout_ms (name resolution aside), or opens and
 * configures the serial device. Returns FT_OK with *out; the parse errors above;
 * FT_ERR_NOT_FOUND (unknown host, no such device); FT_ERR_IO (refused, permission denied, not a
 * terminal); FT_ERR_TIMEOUT; FT_ERR_NO_MEM; each with diag. */
ft_error ft_gdb_stream_open(const char *conn, unsigned timeout_ms, ft_gdb_stream **out,
                            ft_diag *diag);

/* Wraps a connected stream socket or an open terminal (made non-blocking here); the stream owns
 * fd and closes it. label names the peer in messages (copied). Returns FT_OK with *out, or
 * FT_ERR_IO / FT_ERR_NO_MEM (fd is then closed). */
ft_error ft_gdb_stream_from_fd(int fd, const char *label, ft_gdb_stream **out, ft_diag *diag);

/* Wraps a backend context (fuzz targets, test doubles). ops must outlive the stream; close
 * calls ops->close(ctx). Returns NULL when out of memory (ctx is then not closed). */
ft_gdb_stream *ft_gdb_stream_new(const ft_gdb_stream_ops *ops, void *ctx);

/* Closes and frees. NULL is allowed. */
void ft_gdb_stream_close(ft_gdb_stream *s);

/* See the ops. The wrappers accept len 0 (nothing is sent) and check cap > 0. diag may be
 * NULL. */
ft_error ft_gdb_stream_write(ft_gdb_stream *s, const uint8_t *buf, size_t len, uint64_t deadline_ms,
                             ft_diag *diag);
ft_error ft_gdb_stream_read(ft_gdb_stream *s, uint8_t *buf, size_t cap, size_t *got,
                            uint64_t deadline_ms, ft_diag *diag);
const char *ft_gdb_stream_describe(const ft_gdb_stream *s);

#endif
