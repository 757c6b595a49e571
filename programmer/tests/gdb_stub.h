/* An in-test GDB stub: a GDB remote-protocol server thread on 127.0.0.1 (port 0) whose target is
 * a real models/flash_h7 instance (register block at 0x52002000, the flash array through its bus
 * interface, with QW/BSY timing on the model's clock, write-buffer rules, error flags and ECC),
 * RAM for every volatile region of the part, DBGMCU_IDCODE/DBGMCU_CR, the flash-size register
 * and the Cortex-M debug registers DHCSR and AIRCR. It stands in for QEMU's gdbstub or OpenOCD
 * so the SWD engine runs against the flash model's behaviour through the real RSP client.
 *
 * Facts used here, written out rather than taken from the code under test: Cortex-M DHCSR at
 * 0xE000EDF0 (C_DEBUGEN b0, S_REGRDY b16, S_HALT b17, S_SLEEP b18) and AIRCR at 0xE000ED0C
 * (VECTKEY 0x05FA in b31:16, SYSRESETREQ b2) from the ARMv7-M Architecture Reference Manual
 * C1.6.2 and B3.2.6; DBGMCU at 0x5C001000 (IDCODE) and 0x5C001004 (CR) from devices.md §1.1 and
 * RM0433; register numbering as OpenOCD's target description gives it (xPSR 16, msp 17, psp 18,
 * primask 19 of one bit) or, without a description, GDB's legacy layout (xpsr 25).
 *
 * A bus stall (the model answering FT_ERR_BUSY) lets virtual time pass to the model's next
 * event, as a stalled AHB access would. Clock: instant (everything completes at once) or manual
 * (the client's sleep hook calls stub_advance_ms). Test code, not a product mock: it is built
 * only into test programs and the SWD benchmark. */
#ifndef FT_TESTS_GDB_STUB_H
#define FT_TESTS_GDB_STUB_H

#include "models/clock.h"
#include "models/flash_h7.h"
#include "models/parts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STUB_WAIT_MS   5000 /* the stub gives up on a silent client after this */
#define STUB_MAX_PKT   0x4000
#define STUB_REGS      23
#define STUB_DHCSR     0xE000EDF0u
#define STUB_AIRCR     0xE000ED0Cu
#define STUB_DBGMCU    0x5C001000u
#define STUB_FLASH_REG 0x52002000u

typedef struct stub_config {
	const char *part;       /* part-table spelling, "STM32H743ZI" */
	ft_clock_mode clock;    /* FT_CLOCK_INSTANT or FT_CLOCK_MANUAL */
	size_t packet_size;     /* announced PacketSize; 0 means 0x1000 */
	bool tdesc;             /* serve an OpenOCD-style target description */
	bool never_halt;        /* DHCSR shows a sleeping, running core and 0x03 is ignored */
	bool silent_stop_query; /* '?' is never answered */
	bool no_binary;         /* X is not understood: the client must fall back to M */
	uint32_t idcode;        /* 0: REV_ID 0x2003 (rev V), 0x6 in 15:12 and the part's DEV_ID, as
	                         * a NUCLEO-H743ZI2 reads 0x20036450 (devices.md §1.1) */
	uint32_t flash_size_kb; /* 0: the part's; 0xFFFF to play an erased register */
} stub_config;

typedef struct stub_ram {
	uint32_t start, size;
	uint8_t *bytes;
} stub_ram;

typedef struct stub {
	stub_config cfg;
	const ft_part *part;
	ft_clock *clock;
	ft_flash_h7 *fl;
	stub_ram ram[16];
	size_t ram_count;
	pthread_mutex_t lock;
	uint32_t regs[STUB_REGS];
	uint32_t dbgmcu_cr;
	bool running, acks;
	unsigned resets;       /* SYSRESETREQ writes and monitor resets */
	unsigned flash_writes; /* X/M packets that touched the flash array */
	unsigned bus_stalls;   /* FT_ERR_BUSY answers the stub waited out */
	int listen_fd, fd;
	uint16_t port;
	pthread_t thread;
	bool thread_started;
	char failure[256];
	char *rx;
	char *tx;
	char in[8192]; /* bytes received and not yet consumed */
	size_t in_pos, in_len;
} stub;

static inline void stub_advance_ms(stub *s, uint32_t ms)
{
	pthread_mutex_lock(&s->lock);
	ft_clock_advance(s->clock, (uint64_t)ms * 1000000u);
	pthread_mutex_unlock(&s->lock);
}

/* Lets virtual time pass to the model's next event (a stalled bus access). */
static inline void stub_stall(stub *s)
{
	s->bus_stalls++;
	uint64_t next = ft_flash_h7_next_event_ns(s->fl);
	uint64_t now = ft_clock_now_ns(s->clock);
	if (next != UINT64_MAX && next > now)
		ft_clock_advance(s->clock, next - now);
	ft_flash_h7_poll(s->fl);
}

static inline stub_ram *stub_ram_at(stub *s, uint32_t addr, size_t len)
{
	for (size_t i = 0; i < s->ram_count; i++) {
		stub_ram *r = &s->ram[i];
		if (addr >= r->start && (uint64_t)addr + len <= (uint64_t)r->start + r->size)
			return r;
	}
	return NULL;
}

static inline uint32_t stub_dhcsr(const stub *s)
{
	if (s->cfg.never_halt)
		return 0x00040001u;                    /* S_SLEEP, C_DEBUGEN */
	return s->running ? 0x00000001u : 0x00030003u; /* S_HALT S_REGRDY C_HALT C_DEBUGEN */
}

/* Reads one 32-bit peripheral word; false for an address nothing decodes. */
static inline bool stub_periph_read(stub *s, uint32_t addr, uint32_t *v)
{
	if (addr >= STUB_FLASH_REG && addr < STUB_FLASH_REG + FT_FLASH_H7_REG_SPAN &&
	    s->part->flash_regs)
		return ft_flash_h7_reg_read(s->fl, addr - STUB_FLASH_REG, v) == FT_OK;
	switch (addr) {
	case STUB_DBGMCU:
		*v = s->cfg.idcode ? s->cfg.idcode : (0x2003u << 16 | 0x6000u | s->part->dev_id);
		return true;
	case STUB_DBGMCU + 4: *v = s->dbgmcu_cr; return true;
	case STUB_DHCSR: *v = stub_dhcsr(s); return true;
	case STUB_AIRCR: *v = 0xFA050000u; return true;
	}
	return false;
}

static inline bool stub_periph_write(stub *s, uint32_t addr, uint32_t v)
{
	if (addr >= STUB_FLASH_REG && addr < STUB_FLASH_REG + FT_FLASH_H7_REG_SPAN &&
	    s->part->flash_regs) {
		for (int tries = 0; tries < 1000; tries++) {
			ft_error err = ft_flash_h7_reg_write(s->fl, addr - STUB_FLASH_REG, v);
			if (err != FT_ERR_BUSY)
				return err == FT_OK;
			stub_stall(s);
		}
		return false;
	}
	switch (addr) {
	case STUB_DBGMCU + 4: s->dbgmcu_cr = v; return true;
	case STUB_DHCSR: return true;
	case STUB_AIRCR:
		if ((v >> 16) == 0x05FAu && (v & 4u)) {
			ft_flash_h7_reset(s->fl);
			ft_flash_h7_set_intrusion(s->fl, true);
			s->resets++;
		}
		return true;
	}
	return false;
}

/* The flash-size register (16 bits) and what surrounds it in system memory: zeros. */
static inline bool stub_sysmem_read(stub *s, uint32_t addr, uint8_t *buf, size_t len)
{
	uint32_t reg = s->part->flash_size_reg;
	if (!reg || addr < (reg & ~0xFFu) ||
	    (uint64_t)addr + len > (uint64_t)(reg & ~0xFFu) + 0x100)
		return false;
	uint32_t kb = s->cfg.flash_size_kb ? s->cfg.flash_size_kb : s->part->flash_size_kb;
	for (size_t i = 0; i < len; i++) {
		uint32_t a = addr + (uint32_t)i;
		buf[i] = a == reg ? (uint8_t)kb : a == reg + 1 ? (uint8_t)(kb >> 8) : 0;
	}
	return true;
}

static inline bool stub_mem_read(stub *s, uint32_t addr, uint8_t *buf, size_t len)
{
	stub_ram *r = stub_ram_at(s, addr, len);
	if (r) {
		memcpy(buf, r->bytes + (addr - r->start), len);
		return true;
	}
	if (stub_sysmem_read(s, addr, buf, len))
		return true;
	if (s->fl) {
		for (int tries = 0; tries < 1000; tries++) {
			bool fault = false;
			ft_error err = ft_flash_h7_bus_read(s->fl, addr, buf, len, &fault);
			if (err == FT_ERR_BUSY) {
				stub_stall(s);
				continue;
			}
			if (err == FT_OK)
				return !fault;
			break;
		}
	}
	if (addr % 4 || len % 4)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v;
		if (!stub_periph_read(s, addr + (uint32_t)i, &v))
			return false;
		memcpy(buf + i, &v, 4);
	}
	return true;
}

static inline bool stub_mem_write(stub *s, uint32_t addr, const uint8_t *data, size_t len)
{
	stub_ram *r = stub_ram_at(s, addr, len);
	if (r) {
		memcpy(r->bytes + (addr - r->start), data, len);
		return true;
	}
	if (s->fl) {
		size_t done_total = 0;
		for (int tries = 0; tries < 100000 && done_total < len; tries++) {
			size_t done = 0;
			bool fault = false;
			ft_error err = ft_flash_h7_bus_write_bulk(
			    s->fl, addr + (uint32_t)done_total, data + done_total, len - done_total,
			    &done, &fault);
			done_total += done;
			if (err == FT_ERR_BUSY) {
				stub_stall(s);
				continue;
			}
			if (err == FT_ERR_RANGE && done_total == 0)
				break; /* not flash */
			if (err != FT_OK || fault)
				return false;
		}
		if (done_total > 0) {
			s->flash_writes++;
			return done_total == len;
		}
	}
	if (addr % 4 || len % 4)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v;
		memcpy(&v, data + i, 4);
		if (!stub_periph_write(s, addr + (uint32_t)i, v))
			return false;
	}
	return true;
}

/* ---- packets ---- */

static inline int stub_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool stub_getc(stub *s, char *c)
{
	if (s->in_pos == s->in_len) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, STUB_WAIT_MS) != 1)
			return false;
		ssize_t r = recv(s->fd, s->in, sizeof(s->in), 0);
		if (r <= 0)
			return false;
		s->in_pos = 0;
		s->in_len = (size_t)r;
	}
	*c = s->in[s->in_pos++];
	return true;
}

static inline void stub_send_raw(stub *s, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(s->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

static inline void stub_reply_n(stub *s, const char *payload, size_t n)
{
	unsigned sum = 0;
	s->tx[0] = '$';
	memcpy(s->tx + 1, payload, n);
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)payload[i];
	snprintf(s->tx + 1 + n, 4, "#%02x", sum & 0xFF);
	stub_send_raw(s, s->tx, n + 4);
	if (s->acks) {
		char c;
		stub_getc(s, &c); /* '+' */
	}
}

static inline void stub_reply(stub *s, const char *payload)
{
	stub_reply_n(s, payload, strlen(payload));
}

/* Next packet into s->rx (NUL-terminated, '}' escapes kept); *len its length. A lone 0x03
 * comes back as the one-byte packet "\x03". */
static inline bool stub_read_packet(stub *s, size_t *len)
{
	char c;
	do {
		if (!stub_getc(s, &c))
			return false;
		if (c == 0x03) {
			s->rx[0] = 0x03;
			s->rx[1] = '\0';
			*len = 1;
			return true;
		}
	} while (c != '$');
	size_t n = 0;
	unsigned sum = 0;
	for (;;) {
		if (!stub_getc(s, &c))
			return false;
		if (c == '#')
			break;
		if (n + 1 >= STUB_MAX_PKT + 64)
			return false;
		s->rx[n++] = c;
		sum += (unsigned char)c;
	}
	char cs[2];
	if (!stub_getc(s, &cs[0]) || !stub_getc(s, &cs[1]))
		return false;
	if ((unsigned)(stub_hex(cs[0]) << 4 | stub_hex(cs[1])) != (sum & 0xFF)) {
		snprintf(s->failure, sizeof(s->failure), "bad checksum from the client");
		return false;
	}
	if (s->acks)
		stub_send_raw(s, "+", 1);
	s->rx[n] = '\0';
	*len = n;
	return true;
}

static inline bool stub_parse_hex32(const char **p, uint32_t *v)
{
	uint32_t x = 0;
	int n = 0;
	while (stub_hex(**p) >= 0 && n < 8) {
		x = x << 4 | (uint32_t)stub_hex(**p);
		(*p)++;
		n++;
	}
	*v = x;
	return n > 0;
}

static const char STUB_TDESC[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target version=\"1.0\">"
    "<architecture>arm</architecture><feature name=\"org.gnu.gdb.arm.m-profile\">"
    "<reg name=\"r0\" bitsize=\"32\" regnum=\"0\"/><reg name=\"r1\" bitsize=\"32\" regnum=\"1\"/>"
    "<reg name=\"r2\" bitsize=\"32\" regnum=\"2\"/><reg name=\"r3\" bitsize=\"32\" regnum=\"3\"/>"
    "<reg name=\"r4\" bitsize=\"32\" regnum=\"4\"/><reg name=\"r5\" bitsize=\"32\" regnum=\"5\"/>"
    "<reg name=\"r6\" bitsize=\"32\" regnum=\"6\"/><reg name=\"r7\" bitsize=\"32\" regnum=\"7\"/>"
    "<reg name=\"r8\" bitsize=\"32\" regnum=\"8\"/><reg name=\"r9\" bitsize=\"32\" regnum=\"9\"/>"
    "<reg name=\"r10\" bitsize=\"32\" regnum=\"10\"/><reg name=\"r11\" bitsize=\"32\" "
    "regnum=\"11\"/><reg name=\"r12\" bitsize=\"32\" regnum=\"12\"/><reg name=\"sp\" "
    "bitsize=\"32\" regnum=\"13\"/><reg name=\"lr\" bitsize=\"32\" regnum=\"14\"/><reg "
    "name=\"pc\" bitsize=\"32\" regnum=\"15\"/><reg name=\"xPSR\" bitsize=\"32\" regnum=\"16\"/>"
    "</feature><feature name=\"org.gnu.gdb.arm.m-system\"><reg name=\"msp\" bitsize=\"32\" "
    "regnum=\"17\"/><reg name=\"psp\" bitsize=\"32\" regnum=\"18\"/><reg name=\"primask\" "
    "bitsize=\"1\" regnum=\"19\"/><reg name=\"basepri\" bitsize=\"8\" regnum=\"20\"/><reg "
    "name=\"faultmask\" bitsize=\"1\" regnum=\"21\"/><reg name=\"control\" bitsize=\"2\" "
    "regnum=\"22\"/></feature></target>";

/* Our register index of server register number num, and its byte width; -1 when none. */
static inline int stub_reg_index(const stub *s, uint32_t num, size_t *bytes)
{
	*bytes = 4;
	if (s->cfg.tdesc) {
		if (num >= STUB_REGS)
			return -1;
		if (num >= 19)
			*bytes = 1;
		return (int)num;
	}
	if (num < 16)
		return (int)num;
	return num == 25 ? 16 : -1;
}

static inline size_t stub_put_reg(char *out, uint32_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned)(v >> (8 * i)) & 0xFFu);
	return 2 * bytes;
}

static inline void stub_reply_regs(stub *s)
{
	char *out = s->tx + 8; /* room for the frame start */
	size_t n = 0;
	if (s->cfg.tdesc) {
		for (uint32_t i = 0; i < STUB_REGS; i++)
			n += stub_put_reg(out + n, s->regs[i], i >= 19 ? 1 : 4);
	} else {
		for (uint32_t i = 0; i < 16; i++)
			n += stub_put_reg(out + n, s->regs[i], 4);
		memset(out + n, '0', 2 * (8 * 12 + 4)); /* f0..f7, fps */
		n += 2 * (8 * 12 + 4);
		n += stub_put_reg(out + n, s->regs[16], 4);
	}
	char *copy = malloc(n);
	memcpy(copy, out, n);
	stub_reply_n(s, copy, n);
	free(copy);
}

static inline void stub_handle_memory_read(stub *s, const char *p)
{
	uint32_t addr, len;
	if (!stub_parse_hex32(&p, &addr) || *p++ != ',' || !stub_parse_hex32(&p, &len) ||
	    len > STUB_MAX_PKT / 2) {
		stub_reply(s, "E16");
		return;
	}
	uint8_t *buf = malloc(len ? len : 1);
	char *hex = malloc(2 * (size_t)len + 1);
	static const char digits[] = "0123456789abcdef";
	if (stub_mem_read(s, addr, buf, len)) {
		for (uint32_t i = 0; i < len; i++) {
			hex[2 * i] = digits[buf[i] >> 4];
			hex[2 * i + 1] = digits[buf[i] & 15];
		}
		stub_reply_n(s, hex, 2 * (size_t)len);
	} else {
		stub_reply(s, "E01");
	}
	free(buf);
	free(hex);
}

static inline void stub_handle_memory_write(stub *s, char kind, const char *p, size_t len)
{
	const char *end = s->rx + len;
	uint32_t addr, n;
	if (!stub_parse_hex32(&p, &addr) || *p++ != ',' || !stub_parse_hex32(&p, &n) ||
	    *p++ != ':') {
		stub_reply(s, "E16");
		return;
	}
	uint8_t *data = malloc(n ? n : 1);
	size_t got = 0;
	while (p < end && got < n) {
		if (kind == 'X') {
			char c = *p++;
			if (c == '}' && p < end)
				c = (char)(*p++ ^ 0x20);
			data[got++] = (uint8_t)c;
		} else {
			int h = stub_hex(p[0]), l = p + 1 < end ? stub_hex(p[1]) : -1;
			if (h < 0 || l < 0)
				break;
			data[got++] = (uint8_t)(h << 4 | l);
			p += 2;
		}
	}
	if (got != n || p != end)
		stub_reply(s, "E16");
	else
		stub_reply(s, stub_mem_write(s, addr, data, n) ? "OK" : "E01");
	free(data);
}

static inline void stub_handle_query(stub *s, const char *pkt)
{
	if (strncmp(pkt, "qSupported", 10) == 0) {
		char r[128];
		snprintf(r, sizeof(r), "PacketSize=%zx;QStartNoAckMode+%s",
		         s->cfg.packet_size ? s->cfg.packet_size : (size_t)0x1000,
		         s->cfg.tdesc ? ";qXfer:features:read+" : "");
		stub_reply(s, r);
	} else if (strncmp(pkt, "qXfer:features:read:target.xml:", 31) == 0) {
		const char *p = pkt + 31;
		uint32_t off, len;
		if (!stub_parse_hex32(&p, &off) || *p++ != ',' || !stub_parse_hex32(&p, &len)) {
			stub_reply(s, "E16");
			return;
		}
		size_t total = sizeof(STUB_TDESC) - 1;
		size_t n = off < total ? total - off : 0;
		if (n > len)
			n = len;
		char *r = malloc(n + 1);
		r[0] = off + n < total ? 'm' : 'l';
		memcpy(r + 1, STUB_TDESC + (off < total ? off : total), n);
		stub_reply_n(s, r, n + 1);
		free(r);
	} else if (strncmp(pkt, "qRcmd,", 6) == 0) {
		char cmd[64] = {0};
		const char *h = pkt + 6;
		for (size_t i = 0;
		     i + 1 < sizeof(cmd) && stub_hex(h[0]) >= 0 && stub_hex(h[1]) >= 0; i++, h += 2)
			cmd[i] = (char)(stub_hex(h[0]) << 4 | stub_hex(h[1]));
		if (strncmp(cmd, "reset", 5) == 0) {
			ft_flash_h7_reset(s->fl);
			ft_flash_h7_set_intrusion(s->fl, true);
			s->resets++;
			stub_reply(s, "OK");
		} else {
			stub_reply(s, "E01");
		}
	} else {
		stub_reply(s, "");
	}
}

static inline void stub_handle(stub *s, size_t len)
{
	const char *pkt = s->rx;
	const char *p = pkt + 1;
	switch (pkt[0]) {
	case 0x03:
		if (s->running && !s->cfg.never_halt) {
			s->running = false;
			stub_reply(s, "T02");
		}
		return;
	case 'q': stub_handle_query(s, pkt); return;
	case 'Q':
		if (strcmp(pkt, "QStartNoAckMode") == 0) {
			stub_reply(s, "OK");
			s->acks = false;
		} else {
			stub_reply(s, "");
		}
		return;
	case '?':
		if (!s->cfg.silent_stop_query)
			stub_reply(s, "S05");
		return;
	case 'g': stub_reply_regs(s); return;
	case 'p': {
		uint32_t num;
		size_t bytes;
		int i = stub_parse_hex32(&p, &num) ? stub_reg_index(s, num, &bytes) : -1;
		if (i < 0) {
			stub_reply(s, "E45");
			return;
		}
		char r[16];
		r[stub_put_reg(r, s->regs[i], bytes)] = '\0';
		stub_reply(s, r);
		return;
	}
	case 'P': {
		uint32_t num;
		size_t bytes;
		int i =
		    stub_parse_hex32(&p, &num) && *p++ == '=' ? stub_reg_index(s, num, &bytes) : -1;
		if (i < 0) {
			stub_reply(s, "E45");
			return;
		}
		uint32_t v = 0;
		for (size_t b = 0; b < bytes && stub_hex(p[0]) >= 0 && stub_hex(p[1]) >= 0;
		     b++, p += 2)
			v |= (uint32_t)(stub_hex(p[0]) << 4 | stub_hex(p[1])) << (8 * b);
		s->regs[i] = v;
		stub_reply(s, "OK");
		return;
	}
	case 'm': stub_handle_memory_read(s, p); return;
	case 'M': stub_handle_memory_write(s, 'M', p, len); return;
	case 'X':
		if (s->cfg.no_binary)
			stub_reply(s, "");
		else
			stub_handle_memory_write(s, 'X', p, len);
		return;
	case 'c': s->running = true; return;
	case 's': stub_reply(s, "T05"); return;
	case 'Z':
	case 'z': stub_reply(s, "OK"); return;
	case 'D':
		s->running = true;
		stub_reply(s, "OK");
		return;
	default: stub_reply(s, ""); return;
	}
}

static inline void *stub_thread(void *arg)
{
	stub *s = arg;
	struct pollfd p = {s->listen_fd, POLLIN, 0};
	if (poll(&p, 1, STUB_WAIT_MS) != 1 || (s->fd = accept(s->listen_fd, NULL, NULL)) < 0) {
		snprintf(s->failure, sizeof(s->failure), "no client connected");
		return NULL;
	}
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	size_t len;
	while (stub_read_packet(s, &len)) {
		pthread_mutex_lock(&s->lock);
		stub_handle(s, len);
		pthread_mutex_unlock(&s->lock);
	}
	close(s->fd);
	return NULL;
}

/* Creates the target (fresh flash, factory option bytes, halted core) without serving yet, so
 * the test can shape it through s->fl first. Returns false when the part is unknown. */
static inline bool stub_init(stub *s, const stub_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->part = ft_part_find(cfg->part);
	if (!s->part)
		return false;
	pthread_mutex_init(&s->lock, NULL);
	s->clock = ft_clock_new(cfg->clock);
	s->rx = malloc(STUB_MAX_PKT + 64);
	s->tx = malloc(2 * STUB_MAX_PKT + 64);
	if (s->part->flash.layout != FT_FLASH_NONE) {
		ft_flash_h7_config fc = {&s->part->flash,
		                         s->clock,
		                         NULL,
		                         NULL,
		                         NULL,
		                         true,
		                         s->part->family == FT_FAMILY_H74X_DUAL_CORE};
		if (ft_flash_h7_new(&fc, &s->fl, NULL) != FT_OK)
			return false;
		ft_flash_h7_set_intrusion(s->fl, true);
	}
	for (size_t i = 0; i < s->part->region_count && s->ram_count < 16; i++) {
		const ft_region *r = &s->part->regions[i];
		if (!ft_region_kind_is_volatile(r->kind))
			continue;
		s->ram[s->ram_count].start = r->start;
		s->ram[s->ram_count].size = r->size;
		s->ram[s->ram_count].bytes = calloc(1, r->size);
		s->ram_count++;
	}
	s->regs[13] = 0x24080000u; /* sp */
	s->regs[15] = 0x08000100u; /* pc */
	s->regs[16] = 0x01000000u; /* xPSR: Thumb */
	s->acks = true;
	s->listen_fd = -1;
	s->fd = -1;
	return true;
}

/* Starts serving one connection on 127.0.0.1, port s->port. */
static inline void stub_serve(stub *s)
{
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s->listen_fd, 1) != 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&a, &al) != 0)
		abort();
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, stub_thread, s) != 0)
		abort();
	s->thread_started = true;
}

static inline void stub_url(const stub *s, char *out, size_t cap)
{
	snprintf(out, cap, "gdb://127.0.0.1:%u", s->port);
}

/* Waits for the served connection to end (the client must have closed it) and frees all. */
static inline void stub_free(stub *s)
{
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	ft_flash_h7_free(s->fl);
	ft_clock_free(s->clock);
	for (size_t i = 0; i < s->ram_count; i++)
		free(s->ram[i].bytes);
	free(s->rx);
	free(s->tx);
	if (s->part)
		pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

#endif
