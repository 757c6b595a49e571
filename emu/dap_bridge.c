/* The debug-port bridge (dap_bridge.h): JTAG TAP controllers and the JTAG-DP's scans in front of
 * the debug port (dap_port.c), on a GDB-backed target (dap_gdb_target.c), and the remote_bitbang
 * TCP server. */
#include "emu/dap_bridge.h"
#include "emu/dap_gdb_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- silicon facts ---- */

/* JTAG-DP IDCODE of the STM32H7 (RM0433 §60.4.5 [U: not in devices.md]; OOCD
 * tcl/target/stm32h7x.cfg _CPUTAPID 0x6ba00477 under JTAG). */
#define DP_JTAG_IDCODE 0x6BA00477u
/* Boundary-scan TAP IDCODE (RM0433 §60.4.1 [U]: 0x06450041; OpenOCD declares the TAP without an
 * expected id, so any value passes). */
#define BS_IDCODE 0x06450041u
#define BS_IRLEN  5u
#define DP_IRLEN  4u
/* JTAG-DP instructions (ADIv5 IHI0031 §3.5.2; OOCD arm_adi_v5.h JTAG_DP_*). */
#define IR_ABORT  0x8u
#define IR_DPACC  0xAu
#define IR_APACC  0xBu
#define IR_IDCODE 0xEu
#define IR_BYPASS 0xFu
#define BS_BYPASS 0x1Fu
/* DPACC/APACC scan: RnW b0, A[3:2] b2:1, data b34:3; the capture holds ACK in b2:0
 * (OK/FAULT 0b010, WAIT 0b001) (ADIv5 §3.4.3). */
#define ACC_BITS 35u
#define ACK_OK   0x2u
/* Bytes the server reads from a peer per poll round (each answered before the next read). */
#define FEED_CHUNK 4096u

/* ---- the JTAG TAP controllers ---- */

typedef enum tap_state {
	TLR,
	RTI,
	SEL_DR,
	CAP_DR,
	SHIFT_DR,
	EXIT1_DR,
	PAUSE_DR,
	EXIT2_DR,
	UPD_DR,
	SEL_IR,
	CAP_IR,
	SHIFT_IR,
	EXIT1_IR,
	PAUSE_IR,
	EXIT2_IR,
	UPD_IR,
} tap_state;

/* IEEE 1149.1 §6.1: the next state for TMS 0 and TMS 1. */
static const uint8_t tap_next[16][2] = {
    [TLR] = {RTI, TLR},
    [RTI] = {RTI, SEL_DR},
    [SEL_DR] = {CAP_DR, SEL_IR},
    [CAP_DR] = {SHIFT_DR, EXIT1_DR},
    [SHIFT_DR] = {SHIFT_DR, EXIT1_DR},
    [EXIT1_DR] = {PAUSE_DR, UPD_DR},
    [PAUSE_DR] = {PAUSE_DR, EXIT2_DR},
    [EXIT2_DR] = {SHIFT_DR, UPD_DR},
    [UPD_DR] = {RTI, SEL_DR},
    [SEL_IR] = {CAP_IR, TLR},
    [CAP_IR] = {SHIFT_IR, EXIT1_IR},
    [SHIFT_IR] = {SHIFT_IR, EXIT1_IR},
    [EXIT1_IR] = {PAUSE_IR, UPD_IR},
    [PAUSE_IR] = {PAUSE_IR, EXIT2_IR},
    [EXIT2_IR] = {SHIFT_IR, UPD_IR},
    [UPD_IR] = {RTI, SEL_DR},
};

/* A shift register of len bits (1..64), bit 0 nearest TDO. */
typedef struct shreg {
	uint64_t bits;
	unsigned len;
} shreg;

/* One TAP: its instruction and the register the scan goes through. */
typedef struct tap {
	uint32_t ir;
	unsigned ir_len;
	shreg sh;
} tap;

enum { TAP_BS, TAP_DP, TAP_COUNT }; /* TDI -> bs -> dp -> TDO */

/* ---- the wire ---- */

struct ft_dap_wire {
	ft_dap_port *port;
	bool tck, tms, tdi;
	tap_state state;
	tap taps[TAP_COUNT];
	uint32_t result; /* the last read, returned by the next DPACC/APACC capture */
};

ft_dap_wire *ft_dap_wire_new(const ft_dap_target *target)
{
	ft_dap_wire *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->port = ft_dap_port_new(target);
	if (!w->port) {
		free(w);
		return NULL;
	}
	w->taps[TAP_BS].ir_len = BS_IRLEN;
	w->taps[TAP_DP].ir_len = DP_IRLEN;
	w->taps[TAP_BS].sh = (shreg){0, 1};
	w->taps[TAP_DP].sh = (shreg){0, 1};
	w->state = TLR;
	w->taps[TAP_BS].ir = 1; /* IDCODE after reset */
	w->taps[TAP_DP].ir = IR_IDCODE;
	return w;
}

void ft_dap_wire_free(ft_dap_wire *w)
{
	if (w)
		ft_dap_port_free(w->port);
	free(w);
}

unsigned ft_dap_wire_target_errors(const ft_dap_wire *w, ft_diag *last)
{
	return ft_dap_port_target_errors(w->port, last);
}

/* Update-DR of the DP TAP: one DPACC/APACC/ABORT transaction. */
static void dp_update(ft_dap_wire *w)
{
	tap *t = &w->taps[TAP_DP];
	if (t->ir != IR_DPACC && t->ir != IR_APACC)
		return; /* ABORT: transactions finish at once, nothing to abort */
	uint64_t bits = t->sh.bits;
	bool rnw = bits & 1u;
	uint32_t a = (uint32_t)((bits >> 1) & 3u) << 2;
	uint32_t data = (uint32_t)(bits >> 3);
	uint32_t v;
	if (t->ir == IR_DPACC)
		v = ft_dap_port_dp(w->port, a, rnw, data);
	else if (!ft_dap_port_ap(w->port, a, rnw, data, &v))
		return; /* AP transactions are dropped until the sticky error is cleared */
	if (rnw)
		w->result = v;
}

static void capture_dr(ft_dap_wire *w)
{
	tap *bs = &w->taps[TAP_BS];
	bs->sh = bs->ir == BS_BYPASS ? (shreg){0, 1} : (shreg){BS_IDCODE, 32};
	tap *dp = &w->taps[TAP_DP];
	switch (dp->ir) {
	case IR_IDCODE: dp->sh = (shreg){DP_JTAG_IDCODE, 32}; break;
	case IR_DPACC:
	case IR_APACC:
	case IR_ABORT: dp->sh = (shreg){((uint64_t)w->result << 3) | ACK_OK, ACC_BITS}; break;
	default: dp->sh = (shreg){0, 1}; break; /* BYPASS and the unused codes */
	}
}

/* One bit through the chain: TDI in above the boundary-scan TAP, TDO out of the DP's bit 0. */
static void shift(ft_dap_wire *w)
{
	tap *bs = &w->taps[TAP_BS], *dp = &w->taps[TAP_DP];
	uint64_t between = bs->sh.bits & 1u;
	dp->sh.bits = (dp->sh.bits >> 1) | (between << (dp->sh.len - 1));
	bs->sh.bits = (bs->sh.bits >> 1) | ((uint64_t)w->tdi << (bs->sh.len - 1));
}

static void tap_reset(ft_dap_wire *w)
{
	w->taps[TAP_BS].ir = 1;
	w->taps[TAP_DP].ir = IR_IDCODE;
}

/* A rising TCK edge. */
static void clock(ft_dap_wire *w)
{
	if (w->state == SHIFT_DR || w->state == SHIFT_IR)
		shift(w);
	w->state = (tap_state)tap_next[w->state][w->tms];
	switch (w->state) {
	case TLR: tap_reset(w); break;
	case CAP_DR: capture_dr(w); break;
	case CAP_IR:
		for (unsigned i = 0; i < TAP_COUNT; i++) /* IR capture 0b..01 (IEEE 1149.1 §7.1) */
			w->taps[i].sh = (shreg){1, w->taps[i].ir_len};
		break;
	case UPD_DR: dp_update(w); break;
	case UPD_IR:
		for (unsigned i = 0; i < TAP_COUNT; i++)
			w->taps[i].ir = (uint32_t)w->taps[i].sh.bits;
		break;
	default: break;
	}
}

static bool tdo(const ft_dap_wire *w)
{
	return (w->state == SHIFT_DR || w->state == SHIFT_IR) && (w->taps[TAP_DP].sh.bits & 1u);
}

ft_error ft_dap_wire_feed(ft_dap_wire *w, const uint8_t *in, size_t n, uint8_t *out,
                          size_t *out_len, bool *quit, ft_diag *diag)
{
	*out_len = 0;
	*quit = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (c >= '0' && c <= '7') {
			bool tck = (c - '0') & 4;
			w->tms = (c - '0') & 2;
			w->tdi = (c - '0') & 1;
			if (tck && !w->tck)
				clock(w);
			w->tck = tck;
		} else if (c == 'R') {
			out[(*out_len)++] = tdo(w) ? '1' : '0';
		} else if (c >= 'r' && c <= 'u') {
			if ((c - 'r') & 2) { /* TRST */
				w->state = TLR;
				tap_reset(w);
			}
		} else if (c == 'Q') {
			*quit = true;
			return FT_OK;
		} else if (c != 'B' && c != 'b' && c != 'Z' && c != 'z') {
			return ft_diag_set(
			    diag, FT_ERR_PROTOCOL, "remote_bitbang",
			    "byte 0x%02x at offset %zu is not a remote_bitbang command", c, i);
		}
	}
	return FT_OK;
}

/* ---- the server ---- */

struct ft_dap_bridge {
	ft_dap_bridge_config config;
	ft_dap_gdb_target *target;
	int listen_fd, peer_fd;
	unsigned port;
	ft_dap_wire *wire;
	unsigned peers; /* connections served, for log lines */
};

static void blog(const ft_dap_bridge *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void blog(const ft_dap_bridge *b, const char *fmt, ...)
{
	if (!b->config.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->config.log(b->config.user, line);
}

ft_error ft_dap_bridge_open(const ft_dap_bridge_config *config, ft_dap_bridge **out, ft_diag *diag)
{
	*out = NULL;
	const char *host = config->host ? config->host : "127.0.0.1";
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)config->port)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || config->port > 65535 || !config->gdb)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "debug-port bridge",
		                   "listen on %s:%u for gdb %s: expected a numeric IPv4 address, a "
		                   "port and a GDB server",
		                   host, config->port, config->gdb ? config->gdb : "(none)");
	ft_dap_bridge *b = calloc(1, sizeof(*b));
	if (!b)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "debug-port bridge", "out of memory");
	b->config = *config;
	b->listen_fd = b->peer_fd = -1;
	ft_error err = ft_dap_gdb_target_open(config->gdb, &b->target, diag);
	if (err != FT_OK) {
		free(b);
		return err;
	}
	int one = 1;
	socklen_t len = sizeof(sa);
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 ||
	    setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(b->listen_fd, 1) != 0 ||
	    getsockname(b->listen_fd, (struct sockaddr *)&sa, &len) != 0) {
		ft_diag_set(diag, FT_ERR_IO, "debug-port bridge", "listen on %s:%u: %s", host,
		            config->port, strerror(errno));
		ft_dap_bridge_close(b);
		return FT_ERR_IO;
	}
	b->port = ntohs(sa.sin_port);
	*out = b;
	return FT_OK;
}

unsigned ft_dap_bridge_port(const ft_dap_bridge *b)
{
	return b->port;
}

static void drop_peer(ft_dap_bridge *b, const char *why)
{
	ft_diag last;
	unsigned errors = b->wire ? ft_dap_wire_target_errors(b->wire, &last) : 0;
	blog(b, "connection %u closed: %s (%u target errors%s%s)", b->peers, why, errors,
	     errors ? "; last: " : "", errors ? last.message : "");
	close(b->peer_fd);
	b->peer_fd = -1;
	ft_dap_wire_free(b->wire);
	b->wire = NULL;
}

static void accept_peer(ft_dap_bridge *b)
{
	int fd = accept(b->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	if (b->peer_fd >= 0) {
		blog(b, "a second connection refused while connection %u is served", b->peers);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ft_dap_target target = ft_dap_gdb_target_get(b->target);
	b->wire = ft_dap_wire_new(&target);
	if (!b->wire) {
		close(fd);
		blog(b, "connection refused: out of memory");
		return;
	}
	b->peer_fd = fd;
	b->peers++;
	blog(b, "connection %u from a remote_bitbang peer", b->peers);
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void serve_peer(ft_dap_bridge *b)
{
	uint8_t in[FEED_CHUNK], out[FEED_CHUNK];
	ssize_t n = recv(b->peer_fd, in, sizeof(in), 0);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		drop_peer(b, n == 0 ? "the peer closed it" : strerror(errno));
		return;
	}
	size_t out_len;
	bool quit;
	ft_diag d;
	ft_diag_clear(&d);
	if (ft_dap_wire_feed(b->wire, in, (size_t)n, out, &out_len, &quit, &d) != FT_OK) {
		drop_peer(b, d.message);
		return;
	}
	if (!send_all(b->peer_fd, out, out_len))
		drop_peer(b, "sending to the peer failed");
	else if (quit)
		drop_peer(b, "the peer quit");
}

ft_error ft_dap_bridge_serve(ft_dap_bridge *b, int timeout_ms, ft_diag *diag)
{
	struct pollfd p[2] = {{b->listen_fd, POLLIN, 0}, {b->peer_fd, POLLIN, 0}};
	int r = poll(p, b->peer_fd >= 0 ? 2 : 1, timeout_ms);
	if (r < 0 && errno != EINTR)
		return ft_diag_set(diag, FT_ERR_IO, "debug-port bridge", "poll: %s",
		                   strerror(errno));
	if (r <= 0)
		return FT_OK;
	if (p[0].revents & (POLLERR | POLLNVAL))
		return ft_diag_set(diag, FT_ERR_IO, "debug-port bridge",
		                   "the listening socket failed");
	if (b->peer_fd >= 0 && p[1].revents)
		serve_peer(b);
	if (p[0].revents & POLLIN)
		accept_peer(b);
	return FT_OK;
}

void ft_dap_bridge_close(ft_dap_bridge *b)
{
	if (!b)
		return;
	if (b->peer_fd >= 0)
		close(b->peer_fd);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	ft_dap_wire_free(b->wire);
	ft_dap_gdb_target_close(b->target);
	free(b);
}
