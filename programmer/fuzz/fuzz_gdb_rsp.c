/* libFuzzer target: a hostile GDB server. The input (after one control byte) is everything the
 * server sends, served through an in-memory gdb_stream in pieces of a size the control byte picks;
 * the client runs the handshake (target description included) and then every target operation
 * in turn. The stop-reply parser and the unescaper get the same bytes. Nothing a server sends may
 * crash the client, make it read past a buffer or loop without consuming input. */
#include "programmer/transport/gdb.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct feed {
	const uint8_t *data;
	size_t size, pos, piece;
} feed;

static ft_error feed_write(void *ctx, const uint8_t *buf, size_t len, uint64_t deadline_ms,
                           ft_diag *diag)
{
	(void)ctx;
	(void)buf;
	(void)len;
	(void)deadline_ms;
	(void)diag;
	return FT_OK;
}

/* The end of the input is the server hanging up: no call can wait on it. */
static ft_error feed_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ms,
                          ft_diag *diag)
{
	feed *f = ctx;
	(void)deadline_ms;
	if (f->pos == f->size)
		return ft_diag_set(diag, FT_ERR_IO, "fuzz", "the GDB server closed the connection");
	size_t n = f->size - f->pos;
	n = n < f->piece ? n : f->piece;
	n = n < cap ? n : cap;
	memcpy(buf, f->data + f->pos, n);
	f->pos += n;
	*got = n;
	return FT_OK;
}

static void feed_close(void *ctx)
{
	(void)ctx;
}

static const char *feed_describe(void *ctx)
{
	(void)ctx;
	return "fuzz";
}

static const ft_gdb_stream_ops FEED_OPS = {
    .name = "fuzz",
    .write = feed_write,
    .read = feed_read,
    .close = feed_close,
    .describe = feed_describe,
};

static void output(void *user, const char *text, size_t len)
{
	(void)user;
	assert(len <= 2 * FT_GDB_MAX_PACKET_SIZE);
	(void)text;
}

static void operations(ft_gdb *gdb)
{
	ft_diag diag;
	ft_gdb_stop stop;
	uint8_t buf[300];
	uint32_t v, regs[FT_GDB_REG_COUNT], valid;
	char out[64];
	size_t len;
	(void)ft_gdb_query_stop(gdb, &stop, &diag);
	(void)ft_gdb_read_mem(gdb, 0x08000000, buf, sizeof(buf), &diag);
	memset(buf, '$', sizeof(buf));
	(void)ft_gdb_write_mem(gdb, 0x24000000, buf, sizeof(buf), &diag);
	(void)ft_gdb_read_reg(gdb, FT_GDB_PC, &v, &diag);
	(void)ft_gdb_write_reg(gdb, FT_GDB_XPSR, 0x01000000, &diag);
	(void)ft_gdb_read_regs(gdb, regs, &valid, &diag);
	if (ft_gdb_monitor(gdb, "reset halt", out, sizeof(out), &len, &diag) == FT_OK)
		assert(len < sizeof(out) && strlen(out) == len);
	(void)ft_gdb_set_breakpoint(gdb, FT_GDB_BP_HARDWARE, 0x24000000, &diag);
	(void)ft_gdb_resume(gdb, &diag);
	(void)ft_gdb_wait_stop(gdb, 1, &stop, &diag);
	(void)ft_gdb_interrupt(gdb, 1, &stop, &diag);
	(void)ft_gdb_step(gdb, &stop, &diag);
	(void)ft_gdb_detach(gdb, &diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1u << 20)
		return 0;
	ft_diag diag;
	ft_gdb_stop stop;
	(void)ft_gdb_parse_stop(NULL, (const char *)data + 1, size - 1, &stop, &diag);
	uint8_t *copy = malloc(size);
	size_t n;
	memcpy(copy, data, size);
	if (ft_gdb_rsp_unescape(copy, size, &n, &diag) == FT_OK)
		assert(n <= size);
	free(copy);

	feed f = {data + 1, size - 1, 0, (size_t)(data[0] & 0x3F) + 1};
	ft_gdb_stream *s = ft_gdb_stream_new(&FEED_OPS, &f);
	if (!s)
		return 0;
	ft_gdb_options o = {.timeout_ms = 1, .keep_acks = data[0] & 0x40, .output = output};
	ft_gdb *gdb;
	if (ft_gdb_attach(s, &o, &gdb, &diag) == FT_OK) {
		const ft_gdb_info *info = ft_gdb_get_info(gdb);
		assert(info->packet_size >= FT_GDB_MIN_PACKET_SIZE &&
		       info->packet_size <= FT_GDB_MAX_PACKET_SIZE);
		operations(gdb);
		ft_gdb_close(gdb);
	}
	return 0;
}
