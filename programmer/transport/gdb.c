#include "programmer/transport/gdb.h"

#include "programmer/transport/tcp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room in a request for the command, address, length and separators around its data. */
#define REQUEST_HEADROOM 32u
/* Replies: hex of a PacketSize read, a g packet or an O packet; twice the largest packet. */
#define REPLY_CAP (2u * FT_GDB_MAX_PACKET_SIZE + 64u)
typedef enum support {
	SUPPORT_UNKNOWN,
	SUPPORT_YES,
	SUPPORT_NO,
} support;

/* One register of the target description. Registers narrower than a byte (OpenOCD describes
 * primask as 1 bit) take whole bytes in p and g replies, as GDB lays them out. */
typedef struct tdesc_reg {
	uint32_t num;
	uint16_t bytes;
	int ours; /* ft_gdb_reg, or -1 */
} tdesc_reg;

struct ft_gdb {
	ft_gdb_rsp *rsp;
	ft_gdb_options opts;
	ft_gdb_info info;
	tdesc_reg *regs; /* by number */
	size_t reg_count;
	uint8_t *reply;
	size_t reply_len;
	char *request;
	size_t request_cap;
	support binary_write, p_packet, P_packet;
	/* The server offers a target description but refused it in the handshake: it has no target
	 * yet (a Black Magic Probe before vAttach). ft_gdb_vattach reads it. */
	bool tdesc_deferred;
};

static const char *const REG_NAMES[FT_GDB_REG_COUNT] = {
    "r0",   "r1",  "r2",  "r3",      "r4",      "r5",        "r6",      "r7",
    "r8",   "r9",  "r10", "r11",     "r12",     "sp",        "lr",      "pc",
    "xpsr", "msp", "psp", "primask", "basepri", "faultmask", "control",
};

const char *ft_gdb_reg_name(ft_gdb_reg reg)
{
	return (unsigned)reg < FT_GDB_REG_COUNT ? REG_NAMES[reg] : "?";
}

/* The numbering without a target description: gdb/features/arm/arm-m-profile.xml (r0..pc 0..15,
 * xpsr regnum 25) and, in a g packet, the legacy FPA registers f0..f7 (12 bytes each) and fps
 * between them, which GDB's arm-fpa feature pins to 16..24 and QEMU still sends without XML. */
static const tdesc_reg FIXED_LAYOUT[] = {
    {0, 4, FT_GDB_R0},   {1, 4, FT_GDB_R1},    {2, 4, FT_GDB_R2},   {3, 4, FT_GDB_R3},
    {4, 4, FT_GDB_R4},   {5, 4, FT_GDB_R5},    {6, 4, FT_GDB_R6},   {7, 4, FT_GDB_R7},
    {8, 4, FT_GDB_R8},   {9, 4, FT_GDB_R9},    {10, 4, FT_GDB_R10}, {11, 4, FT_GDB_R11},
    {12, 4, FT_GDB_R12}, {13, 4, FT_GDB_SP},   {14, 4, FT_GDB_LR},  {15, 4, FT_GDB_PC},
    {16, 12, -1},        {17, 12, -1},         {18, 12, -1},        {19, 12, -1},
    {20, 12, -1},        {21, 12, -1},         {22, 12, -1},        {23, 12, -1},
    {24, 4, -1},         {25, 4, FT_GDB_XPSR},
};

/* ---- small helpers ---- */

static const char HEX[] = "0123456789abcdef";

static void hex_encode(char *out, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = HEX[data[i] >> 4];
		out[2 * i + 1] = HEX[data[i] & 15];
	}
}

/* Decodes 2*len hex digits; false on a non-hex digit. */
static bool hex_decode(const char *text, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int h = ft_gdb_rsp_hex_digit((unsigned char)text[2 * i]),
		    l = ft_gdb_rsp_hex_digit((unsigned char)text[2 * i + 1]);
		if (h < 0 || l < 0)
			return false;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return true;
}

/* A hex number of 1..8 digits at *p, ending at one of the stop characters; advances *p. */
static bool hex_number(const char **p, const char *end, uint32_t *value)
{
	const char *s = *p;
	uint32_t v = 0;
	size_t n = 0;
	while (s < end && ft_gdb_rsp_hex_digit((unsigned char)*s) >= 0) {
		if (++n > 8)
			return false;
		v = v << 4 | (uint32_t)ft_gdb_rsp_hex_digit((unsigned char)*s++);
	}
	if (n == 0)
		return false;
	*p = s;
	*value = v;
	return true;
}

/* "E" and two hex digits, or "E." and text (GDB manual, "Standard Replies"); a bare "E" too, which
 * Black Magic Probe firmware 1.x answers to a monitor command that failed (gdb_main.c). */
static bool is_error_reply(const char *r, size_t len)
{
	return len >= 1 && r[0] == 'E' &&
	       (len == 1 ||
	        (len == 3 && ft_gdb_rsp_hex_digit((unsigned char)r[1]) >= 0 &&
	         ft_gdb_rsp_hex_digit((unsigned char)r[2]) >= 0) ||
	        r[1] == '.');
}

static const char *who(const ft_gdb *gdb)
{
	return gdb->info.connection;
}

static ft_error server_error(ft_gdb *gdb, const char *request, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_DEVICE, who(gdb), "the GDB server answered %.40s to %s",
	                   (const char *)gdb->reply, request);
}

static ft_error bad_reply(ft_gdb *gdb, const char *request, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_PROTOCOL, who(gdb), "malformed reply to %s: \"%.60s\"",
	                   request, (const char *)gdb->reply);
}

/* Sends request[0..len) and receives the reply into gdb->reply. */
static ft_error exchange(ft_gdb *gdb, const char *request, size_t len, ft_diag *diag)
{
	return ft_gdb_rsp_exchange(gdb->rsp, request, len, gdb->reply, REPLY_CAP, &gdb->reply_len,
	                           diag);
}

static ft_error exchange_text(ft_gdb *gdb, const char *request, ft_diag *diag)
{
	return exchange(gdb, request, strlen(request), diag);
}

/* An exchange whose only good answer is OK. */
static ft_error expect_ok(ft_gdb *gdb, const char *request, ft_diag *diag)
{
	ft_error err = exchange_text(gdb, request, diag);
	if (err != FT_OK)
		return err;
	if (gdb->reply_len == 2 && memcmp(gdb->reply, "OK", 2) == 0)
		return FT_OK;
	if (gdb->reply_len == 0)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
		                   "the GDB server does not support %s", request);
	if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
		return server_error(gdb, request, diag);
	return bad_reply(gdb, request, diag);
}

static const tdesc_reg *reg_of(const ft_gdb *gdb, ft_gdb_reg reg)
{
	for (size_t i = 0; i < gdb->reg_count; i++) {
		if (gdb->regs[i].ours == (int)reg)
			return &gdb->regs[i];
	}
	return NULL;
}

static const tdesc_reg *reg_by_num(const ft_gdb *gdb, uint32_t num)
{
	for (size_t i = 0; i < gdb->reg_count; i++) {
		if (gdb->regs[i].num == num)
			return &gdb->regs[i];
	}
	return NULL;
}

/* Little-endian value of a register's hex text (target byte order), first 4 bytes. */
static bool reg_value(const char *hex, size_t bytes, uint32_t *value)
{
	uint8_t b[4] = {0};
	size_t n = bytes < 4 ? bytes : 4;
	if (!hex_decode(hex, b, n))
		return false;
	*value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

/* ---- target description ---- */

typedef struct tdesc_parse {
	ft_gdb *gdb;
	size_t docs;
	size_t bytes;
	uint32_t next_num;
	size_t cap;
	ft_diag *diag;
} tdesc_parse;

/* Reads annex with qXfer:features:read into a fresh buffer (NUL-terminated). */
static ft_error fetch_annex(tdesc_parse *tp, const char *annex, char **out, size_t *out_len)
{
	ft_gdb *gdb = tp->gdb;
	*out = NULL;
	size_t len = 0, cap = 0;
	char *doc = NULL;
	size_t chunk = gdb->info.packet_size - REQUEST_HEADROOM;
	for (;;) {
		char request[160];
		int n = snprintf(request, sizeof(request), "qXfer:features:read:%s:%zx,%zx", annex,
		                 len, chunk);
		if (n < 0 || (size_t)n >= sizeof(request)) {
			free(doc);
			return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
			                   "target description names an annex too long to request");
		}
		ft_error err = exchange_text(gdb, request, tp->diag);
		if (err != FT_OK) {
			free(doc);
			return err;
		}
		char kind = gdb->reply_len ? (char)gdb->reply[0] : 0;
		if (kind != 'm' && kind != 'l') {
			free(doc);
			if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
				return server_error(gdb, request, tp->diag);
			return bad_reply(gdb, request, tp->diag);
		}
		size_t data_len;
		err = ft_gdb_rsp_unescape(gdb->reply + 1, gdb->reply_len - 1, &data_len, tp->diag);
		if (err != FT_OK) {
			free(doc);
			return err;
		}
		tp->bytes += data_len;
		if (tp->bytes > FT_GDB_MAX_TDESC_BYTES) {
			free(doc);
			return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
			                   "target description larger than %u bytes",
			                   FT_GDB_MAX_TDESC_BYTES);
		}
		if (len + data_len + 1 > cap) {
			size_t ncap = (len + data_len + 1) * 2;
			char *ndoc = realloc(doc, ncap);
			if (!ndoc) {
				free(doc);
				return ft_diag_set(tp->diag, FT_ERR_NO_MEM, who(gdb),
				                   "out of memory");
			}
			doc = ndoc;
			cap = ncap;
		}
		memcpy(doc + len, gdb->reply + 1, data_len);
		len += data_len;
		doc[len] = '\0';
		/* 'm' with no data would ask for the same offset forever. */
		if (kind == 'l' || data_len == 0)
			break;
	}
	*out = doc;
	*out_len = len;
	return FT_OK;
}

/* Attribute `name` of the tag text t[0..len) into out; false when absent. */
static bool xml_attr(const char *t, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i + nlen + 2 < len; i++) {
		if ((i > 0 && !isspace((unsigned char)t[i - 1])) || strncmp(t + i, name, nlen) != 0)
			continue;
		size_t j = i + nlen;
		while (j < len && isspace((unsigned char)t[j]))
			j++;
		if (j >= len || t[j] != '=')
			continue;
		j++;
		while (j < len && isspace((unsigned char)t[j]))
			j++;
		if (j >= len || (t[j] != '"' && t[j] != '\''))
			return false;
		char quote = t[j++];
		size_t k = j;
		while (k < len && t[k] != quote)
			k++;
		if (k >= len || k - j >= cap)
			return false;
		memcpy(out, t + j, k - j);
		out[k - j] = '\0';
		return true;
	}
	return false;
}

static bool parse_decimal_attr(const char *text, uint32_t max, uint32_t *value)
{
	if (!*text)
		return false;
	uint64_t v = 0;
	for (const char *p = text; *p; p++) {
		if (!isdigit((unsigned char)*p) || (v = v * 10 + (uint64_t)(*p - '0')) > max)
			return false;
	}
	*value = (uint32_t)v;
	return true;
}

static ft_error add_reg(tdesc_parse *tp, const char *tag, size_t len)
{
	ft_gdb *gdb = tp->gdb;
	char name[32], bits_text[12], num_text[12];
	uint32_t bits, num = tp->next_num;
	if (!xml_attr(tag, len, "name", name, sizeof(name)) ||
	    !xml_attr(tag, len, "bitsize", bits_text, sizeof(bits_text)) ||
	    !parse_decimal_attr(bits_text, 4096, &bits) || bits == 0)
		return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
		                   "target description: <reg> without a name or a bitsize: %.80s",
		                   tag);
	if (xml_attr(tag, len, "regnum", num_text, sizeof(num_text)) &&
	    !parse_decimal_attr(num_text, 65535, &num))
		return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
		                   "target description: bad regnum \"%s\" of register %s", num_text,
		                   name);
	if (reg_by_num(gdb, num))
		return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
		                   "target description: register number %u given twice (%s)", num,
		                   name);
	if (gdb->reg_count == tp->cap) {
		if (tp->cap == FT_GDB_MAX_TDESC_REGS)
			return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
			                   "target description with more than %u registers",
			                   FT_GDB_MAX_TDESC_REGS);
		size_t ncap = tp->cap ? tp->cap * 2 : 64;
		tdesc_reg *regs = realloc(gdb->regs, ncap * sizeof(*regs));
		if (!regs)
			return ft_diag_set(tp->diag, FT_ERR_NO_MEM, who(gdb), "out of memory");
		gdb->regs = regs;
		tp->cap = ncap;
	}
	int ours = -1;
	for (int r = 0; r < FT_GDB_REG_COUNT; r++) {
		if (strcasecmp(name, REG_NAMES[r]) == 0 && !reg_of(gdb, (ft_gdb_reg)r))
			ours = r;
	}
	gdb->regs[gdb->reg_count++] = (tdesc_reg){num, (uint16_t)((bits + 7) / 8), ours};
	tp->next_num = num + 1;
	return FT_OK;
}

static ft_error parse_doc(tdesc_parse *tp, const char *annex, unsigned depth);

/* Scans doc for <architecture>, <reg> and <xi:include>, in document order. Comments,
 * declarations and processing instructions are skipped; nothing else matters here. */
static ft_error scan_doc(tdesc_parse *tp, const char *annex, const char *doc, size_t len,
                         unsigned depth)
{
	ft_gdb *gdb = tp->gdb;
	size_t i = 0;
	while (i < len) {
		const char *lt = memchr(doc + i, '<', len - i);
		if (!lt)
			break;
		i = (size_t)(lt - doc);
		const char *end_mark = ">";
		if (strncmp(lt, "<!--", 4) == 0)
			end_mark = "-->";
		else if (strncmp(lt, "<?", 2) == 0)
			end_mark = "?>";
		const char *end = strstr(lt + 1, end_mark);
		if (!end)
			return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(gdb),
			                   "target description %s: unterminated tag at byte %zu",
			                   annex, i);
		size_t tag_len = (size_t)(end - lt);
		i = tag_len + (size_t)(lt - doc) + strlen(end_mark);
		if (end_mark[0] != '>')
			continue;
		const char *name = lt + 1;
		size_t name_len = strcspn(name, " \t\r\n/>");
		ft_error err = FT_OK;
		if (name_len == 3 && strncmp(name, "reg", 3) == 0) {
			err = add_reg(tp, lt, tag_len);
		} else if (name_len == 10 && strncmp(name, "xi:include", 10) == 0) {
			char href[96];
			if (!xml_attr(lt, tag_len, "href", href, sizeof(href)))
				return ft_diag_set(
				    tp->diag, FT_ERR_PROTOCOL, who(gdb),
				    "target description %s: xi:include without a usable "
				    "href",
				    annex);
			err = parse_doc(tp, href, depth + 1);
		} else if (name_len == 12 && strncmp(name, "architecture", 12) == 0) {
			const char *text = end + 1;
			size_t text_len = strcspn(text, "<");
			if (text_len >= sizeof(gdb->info.architecture))
				text_len = sizeof(gdb->info.architecture) - 1;
			memcpy(gdb->info.architecture, text, text_len);
			gdb->info.architecture[text_len] = '\0';
		}
		if (err != FT_OK)
			return err;
	}
	return FT_OK;
}

static ft_error parse_doc(tdesc_parse *tp, const char *annex, unsigned depth)
{
	if (depth > FT_GDB_MAX_TDESC_DEPTH || ++tp->docs > FT_GDB_MAX_TDESC_DOCS)
		return ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(tp->gdb),
		                   "target description includes nest deeper than %u or number more "
		                   "than %u documents",
		                   FT_GDB_MAX_TDESC_DEPTH, FT_GDB_MAX_TDESC_DOCS);
	for (const char *p = annex; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return ft_diag_set(
			    tp->diag, FT_ERR_PROTOCOL, who(tp->gdb),
			    "target description includes \"%.60s\", not a plain annex "
			    "name",
			    annex);
	}
	char *doc;
	size_t len = 0;
	ft_error err = fetch_annex(tp, annex, &doc, &len);
	if (err != FT_OK)
		return err;
	if (memchr(doc, '\0', len))
		err = ft_diag_set(tp->diag, FT_ERR_PROTOCOL, who(tp->gdb),
		                  "target description %s contains a NUL byte", annex);
	else
		err = scan_doc(tp, annex, doc, len, depth);
	free(doc);
	return err;
}

static int by_number(const void *a, const void *b)
{
	uint32_t x = ((const tdesc_reg *)a)->num, y = ((const tdesc_reg *)b)->num;
	return x < y ? -1 : x > y;
}

static ft_error use_fixed_layout(ft_gdb *gdb, ft_diag *diag)
{
	free(gdb->regs);
	gdb->regs = malloc(sizeof(FIXED_LAYOUT));
	if (!gdb->regs)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(gdb), "out of memory");
	memcpy(gdb->regs, FIXED_LAYOUT, sizeof(FIXED_LAYOUT));
	gdb->reg_count = sizeof(FIXED_LAYOUT) / sizeof(FIXED_LAYOUT[0]);
	return FT_OK;
}

/* Reads the description; *refused (may be NULL) tells an "Enn" answer to the very first request
 * (the server has no target to describe) from a failure part way. */
static ft_error read_tdesc(ft_gdb *gdb, bool *refused, ft_diag *diag)
{
	free(gdb->regs);
	gdb->regs = NULL;
	gdb->reg_count = 0;
	tdesc_parse tp = {.gdb = gdb, .diag = diag};
	ft_error err = parse_doc(&tp, "target.xml", 0);
	if (refused)
		*refused = err == FT_ERR_DEVICE && tp.docs == 1 && tp.bytes == 0;
	if (err != FT_OK)
		return err;
	if (!reg_of(gdb, FT_GDB_PC) || !reg_of(gdb, FT_GDB_SP))
		return ft_diag_set(diag, FT_ERR_PROTOCOL, who(gdb),
		                   "target description (architecture \"%s\") has no pc or sp: not "
		                   "a Cortex-M target?",
		                   gdb->info.architecture);
	qsort(gdb->regs, gdb->reg_count, sizeof(*gdb->regs), by_number);
	gdb->info.has_tdesc = true;
	return FT_OK;
}

/* ---- handshake ---- */

/* Features of a qSupported reply: "name=value", "name+", "name-", "name?" separated by ';'. */
static void parse_supported(ft_gdb *gdb, bool *tdesc, bool *noack)
{
	const char *p = (const char *)gdb->reply, *end = p + gdb->reply_len;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		size_t n = (size_t)(stop - p);
		if (n > 11 && strncmp(p, "PacketSize=", 11) == 0) {
			const char *v = p + 11;
			uint32_t size;
			if (hex_number(&v, stop, &size) && v == stop) {
				if (size < FT_GDB_MIN_PACKET_SIZE)
					size = FT_GDB_MIN_PACKET_SIZE;
				if (size > FT_GDB_MAX_PACKET_SIZE)
					size = FT_GDB_MAX_PACKET_SIZE;
				gdb->info.packet_size = size;
			}
		} else if (n == 20 && strncmp(p, "qXfer:features:read+", 20) == 0) {
			*tdesc = true;
		} else if (n == 16 && strncmp(p, "QStartNoAckMode+", 16) == 0) {
			*noack = true;
		}
		p = stop + 1;
	}
}

static ft_error handshake(ft_gdb *gdb, ft_diag *diag)
{
	ft_error err = exchange_text(gdb, "qSupported:swbreak+;hwbreak+;xmlRegisters=arm", diag);
	/* QEMU pauses a running machine when a debugger connects and says so unasked ("T02thread:
	 * 01;") before it reads anything: that stop reply is not the answer to qSupported. */
	ft_gdb_stop unasked;
	if (err == FT_OK && ft_gdb_parse_stop(NULL, (const char *)gdb->reply, gdb->reply_len,
	                                      &unasked, NULL) == FT_OK)
		err = ft_gdb_rsp_recv(gdb->rsp, gdb->reply, REPLY_CAP, &gdb->reply_len, 0, diag);
	if (err == FT_ERR_TIMEOUT || err == FT_ERR_IO)
		return ft_diag_set(
		    diag, err, who(gdb),
		    "no answer to qSupported (%s): is a GDB server listening there? "
		    "OpenOCD and pyOCD serve GDB on port 3333 (not telnet 4444 or Tcl "
		    "6666); QEMU on the port of its -gdb option",
		    ft_error_name(err));
	if (err != FT_OK)
		return err;
	snprintf(gdb->info.supported, sizeof(gdb->info.supported), "%s", (const char *)gdb->reply);
	bool tdesc = false, noack = false;
	parse_supported(gdb, &tdesc, &noack);
	gdb->request_cap = gdb->info.packet_size + REQUEST_HEADROOM;
	gdb->request = malloc(gdb->request_cap);
	if (!gdb->request)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(gdb), "out of memory");
	if (noack && !gdb->opts.keep_acks) {
		err = expect_ok(gdb, "QStartNoAckMode", diag);
		if (err == FT_OK) {
			ft_gdb_rsp_set_ack_mode(gdb->rsp, false);
			gdb->info.no_ack = true;
		} else if (err != FT_ERR_DEVICE && err != FT_ERR_UNSUPPORTED) {
			return err;
		}
	}
	if (!tdesc)
		return use_fixed_layout(gdb, diag);
	bool refused;
	err = read_tdesc(gdb, &refused, diag);
	if (err == FT_ERR_DEVICE && refused) {
		gdb->tdesc_deferred = true;
		ft_diag_clear(diag);
		return use_fixed_layout(gdb, diag);
	}
	return err;
}

static void fill_reg_info(ft_gdb *gdb)
{
	for (int r = 0; r < FT_GDB_REG_COUNT; r++) {
		const tdesc_reg *t = reg_of(gdb, (ft_gdb_reg)r);
		gdb->info.regnum[r] = t ? (int)t->num : -1;
		gdb->info.reg_bytes[r] = t ? t->bytes : 0;
	}
}

ft_error ft_gdb_attach(ft_gdb_stream *stream, const ft_gdb_options *opts, ft_gdb **out,
                       ft_diag *diag)
{
	if (!stream || !out) {
		ft_gdb_stream_close(stream);
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL stream or out");
	}
	*out = NULL;
	ft_gdb *gdb = calloc(1, sizeof(*gdb));
	uint8_t *reply = malloc(REPLY_CAP);
	if (!gdb || !reply) {
		free(gdb);
		free(reply);
		ft_error err = ft_diag_set(diag, FT_ERR_NO_MEM, ft_gdb_stream_describe(stream),
		                           "out of memory");
		ft_gdb_stream_close(stream);
		return err;
	}
	gdb->reply = reply;
	if (opts)
		gdb->opts = *opts;
	snprintf(gdb->info.connection, sizeof(gdb->info.connection), "%s",
	         ft_gdb_stream_describe(stream));
	gdb->info.packet_size = FT_GDB_DEFAULT_PACKET_SIZE;
	ft_gdb_rsp_options ro = {gdb->opts.timeout_ms, gdb->opts.retries};
	ft_error err = ft_gdb_rsp_new(stream, &ro, &gdb->rsp, diag);
	if (err == FT_OK)
		err = handshake(gdb, diag);
	if (err != FT_OK) {
		ft_gdb_close(gdb);
		return err;
	}
	fill_reg_info(gdb);
	*out = gdb;
	return FT_OK;
}

ft_error ft_gdb_open(const char *conn, const ft_gdb_options *opts, ft_gdb **out, ft_diag *diag)
{
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, conn, "NULL out");
	*out = NULL;
	unsigned connect_ms =
	    opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : FT_GDB_DEFAULT_CONNECT_MS;
	ft_gdb_stream *stream;
	ft_error err = ft_gdb_stream_open(conn, connect_ms, &stream, diag);
	if (err != FT_OK)
		return err;
	return ft_gdb_attach(stream, opts, out, diag);
}

void ft_gdb_close(ft_gdb *gdb)
{
	if (!gdb)
		return;
	ft_gdb_rsp_free(gdb->rsp);
	free(gdb->regs);
	free(gdb->reply);
	free(gdb->request);
	free(gdb);
}

const ft_gdb_info *ft_gdb_get_info(const ft_gdb *gdb)
{
	return &gdb->info;
}

const ft_gdb_rsp_stats *ft_gdb_get_stats(const ft_gdb *gdb)
{
	return ft_gdb_rsp_get_stats(gdb->rsp);
}

/* ---- stop replies ---- */

/* One "n:r;" pair of a T packet, or a named reason ("swbreak:;", "watch:addr;"). */
static bool parse_t_pair(const ft_gdb *gdb, const char *key, size_t key_len, const char *val,
                         size_t val_len, ft_gdb_stop *out)
{
	if (key_len == 7 && strncmp(key, "swbreak", 7) == 0) {
		out->swbreak = true;
		return true;
	}
	if (key_len == 7 && strncmp(key, "hwbreak", 7) == 0) {
		out->hwbreak = true;
		return true;
	}
	if ((key_len == 5 && strncmp(key, "watch", 5) == 0) ||
	    (key_len == 6 && (strncmp(key, "rwatch", 6) == 0 || strncmp(key, "awatch", 6) == 0))) {
		const char *v = val;
		out->watch = true;
		return hex_number(&v, val + val_len, &out->watch_addr) && v == val + val_len;
	}
	const char *k = key;
	uint32_t num;
	if (!hex_number(&k, key + key_len, &num) || k != key + key_len)
		return true; /* thread:, core:, library and the like: not ours */
	const tdesc_reg *t = gdb ? reg_by_num(gdb, num) : NULL;
	if (!t || t->ours < 0)
		return true;
	if (val_len != 2u * t->bytes)
		return false;
	uint32_t value;
	if (!reg_value(val, t->bytes, &value))
		return memchr(val, 'x', val_len) != NULL; /* "xxxxxxxx": unavailable */
	out->regs[t->ours] = value;
	out->regs_valid |= 1u << t->ours;
	return true;
}

ft_error ft_gdb_parse_stop(const ft_gdb *gdb, const char *reply, size_t len, ft_gdb_stop *out,
                           ft_diag *diag)
{
	const char *origin = gdb ? gdb->info.connection : "gdb stop reply";
	memset(out, 0, sizeof(*out));
	size_t keep = len < sizeof(out->reply) - 1 ? len : sizeof(out->reply) - 1;
	memcpy(out->reply, reply, keep);
	for (size_t i = 0; i < keep; i++)
		out->reply[i] = isprint((unsigned char)out->reply[i]) ? out->reply[i] : '?';
	uint8_t sig;
	if (len < 3 || !strchr("STWX", reply[0]) || !hex_decode(reply + 1, &sig, 1))
		return ft_diag_set(diag, FT_ERR_PROTOCOL, origin, "not a stop reply: \"%s\"",
		                   out->reply);
	out->signal = sig;
	out->kind = reply[0] == 'W'   ? FT_GDB_STOP_EXITED
	            : reply[0] == 'X' ? FT_GDB_STOP_TERMINATED
	                              : FT_GDB_STOP_SIGNAL;
	const char *p = reply + 3, *end = reply + len;
	if (reply[0] != 'T') /* S, W, X: ";process:pid" may follow; nothing we need */
		return FT_OK;
	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *semi = colon ? memchr(colon, ';', (size_t)(end - colon)) : NULL;
		if (!colon || !semi)
			return ft_diag_set(diag, FT_ERR_PROTOCOL, origin,
			                   "T stop reply with a field that is not \"n:r;\": \"%s\"",
			                   out->reply);
		if (!parse_t_pair(gdb, p, (size_t)(colon - p), colon + 1,
		                  (size_t)(semi - colon - 1), out))
			return ft_diag_set(diag, FT_ERR_PROTOCOL, origin,
			                   "T stop reply with a malformed value: \"%s\"",
			                   out->reply);
		p = semi + 1;
	}
	return FT_OK;
}

ft_error ft_gdb_query_stop(ft_gdb *gdb, ft_gdb_stop *out, ft_diag *diag)
{
	ft_error err = exchange_text(gdb, "?", diag);
	if (err != FT_OK)
		return err;
	return ft_gdb_parse_stop(gdb, (const char *)gdb->reply, gdb->reply_len, out, diag);
}

/* An O packet: "O" and hex text; "OK" is not one. */
static bool is_output_packet(const ft_gdb *gdb)
{
	return gdb->reply_len >= 1 && gdb->reply[0] == 'O' &&
	       !(gdb->reply_len == 2 && gdb->reply[1] == 'K') && gdb->reply_len % 2 == 1;
}

/* Decodes the O packet in gdb->reply in place; returns its text length or -1. */
static long decode_output(ft_gdb *gdb)
{
	size_t n = (gdb->reply_len - 1) / 2;
	if (!hex_decode((const char *)gdb->reply + 1, gdb->reply, n))
		return -1;
	return (long)n;
}

ft_error ft_gdb_wait_stop(ft_gdb *gdb, unsigned timeout_ms, ft_gdb_stop *out, ft_diag *diag)
{
	uint64_t deadline = ft_tcp_now_ms() + timeout_ms;
	for (;;) {
		uint64_t now = ft_tcp_now_ms();
		unsigned left = now >= deadline ? 1u : (unsigned)(deadline - now);
		ft_error err =
		    ft_gdb_rsp_recv(gdb->rsp, gdb->reply, REPLY_CAP, &gdb->reply_len, left, diag);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, who(gdb),
			                   "the target did not stop within %u ms", timeout_ms);
		if (err != FT_OK)
			return err;
		if (!is_output_packet(gdb))
			return ft_gdb_parse_stop(gdb, (const char *)gdb->reply, gdb->reply_len, out,
			                         diag);
		long n = decode_output(gdb);
		if (n < 0)
			return bad_reply(gdb, "a running target (O packet)", diag);
		if (gdb->opts.output && n > 0)
			gdb->opts.output(gdb->opts.user, (const char *)gdb->reply, (size_t)n);
	}
}

ft_error ft_gdb_interrupt(ft_gdb *gdb, unsigned timeout_ms, ft_gdb_stop *out, ft_diag *diag)
{
	ft_error err = ft_gdb_rsp_interrupt(gdb->rsp, diag);
	if (err != FT_OK)
		return err;
	err = ft_gdb_wait_stop(gdb, timeout_ms, out, diag);
	if (err == FT_ERR_TIMEOUT) {
		ft_diag_set(diag, err, who(gdb),
		            "the target did not stop within %u ms of an interrupt request",
		            timeout_ms);
		ft_gdb_rsp_break(gdb->rsp, diag);
	}
	return err;
}

ft_error ft_gdb_resume(ft_gdb *gdb, ft_diag *diag)
{
	return ft_gdb_rsp_send(gdb->rsp, "c", 1, diag);
}

ft_error ft_gdb_step(ft_gdb *gdb, ft_gdb_stop *out, ft_diag *diag)
{
	ft_error err = ft_gdb_rsp_send(gdb->rsp, "s", 1, diag);
	if (err == FT_OK)
		err = ft_gdb_wait_stop(gdb,
		                       gdb->opts.timeout_ms ? gdb->opts.timeout_ms
		                                            : FT_GDB_RSP_DEFAULT_TIMEOUT_MS,
		                       out, diag);
	return err;
}

/* ---- registers ---- */

static ft_error no_such_reg(ft_gdb *gdb, ft_gdb_reg reg, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
	                   "the GDB server reports no register %s", ft_gdb_reg_name(reg));
}

/* 'g': every register in one reply, left in gdb->reply. */
static ft_error exchange_g(ft_gdb *gdb, ft_diag *diag)
{
	ft_error err = exchange_text(gdb, "g", diag);
	if (err == FT_OK && is_error_reply((const char *)gdb->reply, gdb->reply_len))
		return server_error(gdb, "g", diag);
	return err;
}

ft_error ft_gdb_read_regs(ft_gdb *gdb, uint32_t values[FT_GDB_REG_COUNT], uint32_t *valid,
                          ft_diag *diag)
{
	*valid = 0;
	ft_error err = exchange_g(gdb, diag);
	if (err != FT_OK)
		return err;
	const char *hex = (const char *)gdb->reply;
	size_t pos = 0;
	for (size_t i = 0; i < gdb->reg_count && pos < gdb->reply_len; i++) {
		const tdesc_reg *t = &gdb->regs[i];
		size_t n = 2u * t->bytes;
		if (pos + n > gdb->reply_len)
			break; /* servers may stop after the registers they have */
		uint32_t v;
		if (t->ours >= 0 && reg_value(hex + pos, t->bytes, &v)) {
			values[t->ours] = v;
			*valid |= 1u << t->ours;
		} else if (t->ours >= 0 && !memchr(hex + pos, 'x', n)) {
			return bad_reply(gdb, "g", diag);
		}
		pos += n;
	}
	if (!(*valid & 1u << FT_GDB_PC))
		return bad_reply(gdb, "g (no pc in it)", diag);
	return FT_OK;
}

ft_error ft_gdb_read_reg(ft_gdb *gdb, ft_gdb_reg reg, uint32_t *value, ft_diag *diag)
{
	const tdesc_reg *t = (unsigned)reg < FT_GDB_REG_COUNT ? reg_of(gdb, reg) : NULL;
	if (!t)
		return no_such_reg(gdb, reg, diag);
	if (gdb->p_packet != SUPPORT_NO) {
		char request[16];
		snprintf(request, sizeof(request), "p%x", t->num);
		ft_error err = exchange_text(gdb, request, diag);
		if (err != FT_OK)
			return err;
		if (gdb->reply_len > 0) {
			gdb->p_packet = SUPPORT_YES;
			if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
				return server_error(gdb, request, diag);
			if (gdb->reply_len != 2u * t->bytes)
				return bad_reply(gdb, request, diag);
			if (memchr(gdb->reply, 'x', gdb->reply_len))
				return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
				                   "register %s is unavailable",
				                   ft_gdb_reg_name(reg));
			if (!reg_value((const char *)gdb->reply, t->bytes, value))
				return bad_reply(gdb, request, diag);
			return FT_OK;
		}
		gdb->p_packet = SUPPORT_NO;
	}
	uint32_t values[FT_GDB_REG_COUNT], valid;
	ft_error err = ft_gdb_read_regs(gdb, values, &valid, diag);
	if (err != FT_OK)
		return err;
	if (!(valid & 1u << reg))
		return no_such_reg(gdb, reg, diag);
	*value = values[reg];
	return FT_OK;
}

/* Writes value as the little-endian hex of a register of `bytes` (zero-extended). */
static void reg_hex(char *out, uint16_t bytes, uint32_t value)
{
	for (size_t i = 0; i < bytes; i++) {
		uint8_t b = i < 4 ? (uint8_t)(value >> (8 * i)) : 0;
		out[2 * i] = HEX[b >> 4];
		out[2 * i + 1] = HEX[b & 15];
	}
}

/* g, patch one register, G. */
static ft_error write_reg_g(ft_gdb *gdb, const tdesc_reg *t, ft_gdb_reg reg, uint32_t value,
                            ft_diag *diag)
{
	ft_error err = exchange_g(gdb, diag);
	if (err != FT_OK)
		return err;
	size_t pos = 0;
	for (size_t i = 0; i < gdb->reg_count && gdb->regs[i].num != t->num; i++)
		pos += 2u * gdb->regs[i].bytes;
	if (pos + 2u * t->bytes > gdb->reply_len)
		return no_such_reg(gdb, reg, diag);
	if (gdb->reply_len + 1 > gdb->info.packet_size)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
		                   "writing %s needs P or a G packet of %zu bytes; the server has "
		                   "neither P nor room (PacketSize %zu)",
		                   ft_gdb_reg_name(reg), gdb->reply_len + 1, gdb->info.packet_size);
	gdb->request[0] = 'G';
	memcpy(gdb->request + 1, gdb->reply, gdb->reply_len);
	reg_hex(gdb->request + 1 + pos, t->bytes, value);
	gdb->request[1 + gdb->reply_len] = '\0';
	return expect_ok(gdb, gdb->request, diag);
}

ft_error ft_gdb_write_reg(ft_gdb *gdb, ft_gdb_reg reg, uint32_t value, ft_diag *diag)
{
	const tdesc_reg *t = (unsigned)reg < FT_GDB_REG_COUNT ? reg_of(gdb, reg) : NULL;
	if (!t || t->bytes > 16)
		return no_such_reg(gdb, reg, diag);
	if (gdb->P_packet != SUPPORT_NO) {
		char request[64];
		int n = snprintf(request, sizeof(request), "P%x=", t->num);
		reg_hex(request + n, t->bytes, value);
		request[n + 2 * t->bytes] = '\0';
		ft_error err = expect_ok(gdb, request, diag);
		if (err != FT_ERR_UNSUPPORTED) {
			if (err == FT_OK)
				gdb->P_packet = SUPPORT_YES;
			return err;
		}
		gdb->P_packet = SUPPORT_NO;
	}
	return write_reg_g(gdb, t, reg, value, diag);
}

/* ---- memory ---- */

static ft_error check_range(ft_gdb *gdb, uint32_t addr, size_t len, ft_diag *diag)
{
	if ((uint64_t)addr + len > 0x100000000ull)
		return ft_diag_set(diag, FT_ERR_RANGE, who(gdb),
		                   "0x%08x + %zu bytes runs past the 4 GiB address space", addr,
		                   len);
	return FT_OK;
}

ft_error ft_gdb_read_mem(ft_gdb *gdb, uint32_t addr, void *buf, size_t len, ft_diag *diag)
{
	if (!gdb || (len > 0 && !buf))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad memory read arguments");
	ft_error err = check_range(gdb, addr, len, diag);
	if (err != FT_OK)
		return err;
	/* The hex reply of a chunk must fit a packet of PacketSize. */
	size_t chunk = (gdb->info.packet_size - 4) / 2;
	uint8_t *out = buf;
	while (len > 0) {
		size_t n = len < chunk ? len : chunk;
		char request[32];
		snprintf(request, sizeof(request), "m%x,%zx", addr, n);
		err = exchange_text(gdb, request, diag);
		if (err != FT_OK)
			return err;
		if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
			return ft_diag_set(diag, FT_ERR_DEVICE, who(gdb),
			                   "reading 0x%08x..0x%08x failed: the GDB server answered "
			                   "%.8s (not readable: unmapped, bus fault or protected)",
			                   addr, (uint32_t)(addr + n - 1),
			                   (const char *)gdb->reply);
		if (gdb->reply_len == 0 || gdb->reply_len % 2 != 0 || gdb->reply_len > 2 * n)
			return bad_reply(gdb, request, diag);
		size_t got = gdb->reply_len / 2;
		if (!hex_decode((const char *)gdb->reply, out, got))
			return bad_reply(gdb, request, diag);
		/* A short answer: the server read what it could (GDB manual, 'm'). */
		out += got;
		addr += (uint32_t)got;
		len -= got;
	}
	return FT_OK;
}

/* Builds "X<addr>,<n>:" with as much of data as fits PacketSize once escaped; returns the
 * request length and sets *taken. */
static size_t build_x(ft_gdb *gdb, uint32_t addr, const uint8_t *data, size_t len, size_t *taken)
{
	/* Every packet byte counts against PacketSize after escaping: '#', '$', '}' and '*'
	 * cost two (gdb_rsp escapes them). */
	size_t budget = gdb->info.packet_size - REQUEST_HEADROOM, cost = 0, n = 0;
	while (n < len) {
		uint8_t c = data[n];
		size_t w = (c == '#' || c == '$' || c == '}' || c == '*') ? 2 : 1;
		if (cost + w > budget)
			break;
		cost += w;
		n++;
	}
	int h = snprintf(gdb->request, gdb->request_cap, "X%x,%zx:", addr, n);
	memcpy(gdb->request + h, data, n);
	*taken = n;
	return (size_t)h + n;
}

static size_t build_m(ft_gdb *gdb, uint32_t addr, const uint8_t *data, size_t len, size_t *taken)
{
	size_t budget = (gdb->info.packet_size - REQUEST_HEADROOM) / 2;
	size_t n = len < budget ? len : budget;
	int h = snprintf(gdb->request, gdb->request_cap, "M%x,%zx:", addr, n);
	hex_encode(gdb->request + h, data, n);
	*taken = n;
	return (size_t)h + 2 * n;
}

ft_error ft_gdb_write_mem(ft_gdb *gdb, uint32_t addr, const void *data, size_t len, ft_diag *diag)
{
	if (!gdb || (len > 0 && !data))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad memory write arguments");
	ft_error err = check_range(gdb, addr, len, diag);
	if (err != FT_OK)
		return err;
	const uint8_t *p = data;
	while (len > 0) {
		size_t n, req_len;
		bool binary = gdb->binary_write != SUPPORT_NO;
		req_len = binary ? build_x(gdb, addr, p, len, &n) : build_m(gdb, addr, p, len, &n);
		err = exchange(gdb, gdb->request, req_len, diag);
		if (err != FT_OK)
			return err;
		if (binary && gdb->reply_len == 0 && gdb->binary_write == SUPPORT_UNKNOWN) {
			gdb->binary_write = SUPPORT_NO; /* no X: this chunk again as M */
			continue;
		}
		if (gdb->reply_len == 2 && memcmp(gdb->reply, "OK", 2) == 0) {
			if (binary)
				gdb->binary_write = SUPPORT_YES;
			p += n;
			addr += (uint32_t)n;
			len -= n;
			continue;
		}
		if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
			return ft_diag_set(diag, FT_ERR_DEVICE, who(gdb),
			                   "writing 0x%08x..0x%08x failed: the GDB server answered "
			                   "%.8s (not writable: unmapped, bus fault or protected)",
			                   addr, (uint32_t)(addr + n - 1),
			                   (const char *)gdb->reply);
		return bad_reply(gdb, binary ? "X" : "M", diag);
	}
	return FT_OK;
}

ft_error ft_gdb_read_u32(ft_gdb *gdb, uint32_t addr, uint32_t *value, ft_diag *diag)
{
	uint8_t b[4];
	ft_error err = ft_gdb_read_mem(gdb, addr, b, 4, diag);
	if (err == FT_OK)
		*value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		         (uint32_t)b[3] << 24;
	return err;
}

ft_error ft_gdb_write_u32(ft_gdb *gdb, uint32_t addr, uint32_t value, ft_diag *diag)
{
	uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
	                (uint8_t)(value >> 24)};
	return ft_gdb_write_mem(gdb, addr, b, 4, diag);
}

/* ---- breakpoints, monitor, detach ---- */

static ft_error breakpoint(ft_gdb *gdb, char op, ft_gdb_breakpoint_type type, uint32_t addr,
                           ft_diag *diag)
{
	char request[32];
	snprintf(request, sizeof(request), "%c%d,%x,2", op, (int)type, addr);
	return expect_ok(gdb, request, diag);
}

ft_error ft_gdb_set_breakpoint(ft_gdb *gdb, ft_gdb_breakpoint_type type, uint32_t addr,
                               ft_diag *diag)
{
	return breakpoint(gdb, 'Z', type, addr, diag);
}

ft_error ft_gdb_clear_breakpoint(ft_gdb *gdb, ft_gdb_breakpoint_type type, uint32_t addr,
                                 ft_diag *diag)
{
	return breakpoint(gdb, 'z', type, addr, diag);
}

/* Appends text to out[0..cap) keeping it NUL-terminated; control characters other than tab and
 * line ends (a NUL from the server included) become '?'. */
static void append_output(char *out, size_t cap, size_t *kept, const uint8_t *text, size_t n)
{
	if (cap == 0)
		return;
	size_t room = cap - 1 - *kept;
	size_t take = n < room ? n : room;
	for (size_t i = 0; i < take; i++) {
		uint8_t c = text[i];
		out[*kept + i] =
		    (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F ? '?' : (char)c;
	}
	*kept += take;
	out[*kept] = '\0';
}

ft_error ft_gdb_monitor(ft_gdb *gdb, const char *command, char *out, size_t cap, size_t *len,
                        ft_diag *diag)
{
	if (!gdb || !command || (cap > 0 && !out))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad monitor arguments");
	size_t kept = 0;
	if (len)
		*len = 0;
	if (cap > 0)
		out[0] = '\0';
	size_t clen = strlen(command);
	if (6 + 2 * clen + 1 > gdb->request_cap)
		return ft_diag_set(diag, FT_ERR_RANGE, who(gdb),
		                   "monitor command of %zu characters does not fit a packet", clen);
	memcpy(gdb->request, "qRcmd,", 6);
	hex_encode(gdb->request + 6, (const uint8_t *)command, clen);
	ft_error err = exchange(gdb, gdb->request, 6 + 2 * clen, diag);
	size_t total = 0;
	while (err == FT_OK && is_output_packet(gdb)) {
		long n = decode_output(gdb);
		if (n < 0)
			return bad_reply(gdb, "qRcmd (O packet)", diag);
		total += (size_t)n;
		if (total > FT_GDB_MAX_MONITOR_OUTPUT)
			return ft_diag_set(diag, FT_ERR_PROTOCOL, who(gdb),
			                   "monitor %s: more than %u bytes of output", command,
			                   FT_GDB_MAX_MONITOR_OUTPUT);
		append_output(out, cap, &kept, gdb->reply, (size_t)n);
		err = ft_gdb_rsp_recv(gdb->rsp, gdb->reply, REPLY_CAP, &gdb->reply_len, 0, diag);
		if (err != FT_OK) {
			ft_gdb_rsp_break(gdb->rsp, diag);
			return err;
		}
	}
	if (err != FT_OK)
		return err;
	if (len)
		*len = kept;
	if (gdb->reply_len == 2 && memcmp(gdb->reply, "OK", 2) == 0)
		return FT_OK;
	if (gdb->reply_len == 0)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
		                   "the GDB server has no monitor commands (qRcmd)");
	if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
		return ft_diag_set(diag, FT_ERR_DEVICE, who(gdb),
		                   "monitor %s failed: the GDB server answered %.8s", command,
		                   (const char *)gdb->reply);
	/* The last output, hex-encoded, in place of OK. */
	if (gdb->reply_len % 2 != 0 ||
	    !hex_decode((const char *)gdb->reply, gdb->reply, gdb->reply_len / 2))
		return bad_reply(gdb, "qRcmd", diag);
	append_output(out, cap, &kept, gdb->reply, gdb->reply_len / 2);
	if (len)
		*len = kept;
	return FT_OK;
}

ft_error ft_gdb_vattach(ft_gdb *gdb, uint32_t pid, ft_gdb_stop *out, ft_diag *diag)
{
	char request[24];
	snprintf(request, sizeof(request), "vAttach;%x", pid);
	ft_error err = exchange_text(gdb, request, diag);
	if (err != FT_OK)
		return err;
	if (gdb->reply_len == 0)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, who(gdb),
		                   "the GDB server does not support %s", request);
	if (is_error_reply((const char *)gdb->reply, gdb->reply_len))
		return ft_diag_set(diag, FT_ERR_DEVICE, who(gdb),
		                   "the GDB server could not attach to target %u: it answered %.8s",
		                   (unsigned)pid, (const char *)gdb->reply);
	err = ft_gdb_parse_stop(gdb, (const char *)gdb->reply, gdb->reply_len, out, diag);
	if (err != FT_OK || !gdb->tdesc_deferred)
		return err;
	/* the stop reply's registers were numbered as assumed before: parse it again after */
	size_t stop_len = gdb->reply_len;
	char *stop = malloc(stop_len + 1);
	if (!stop)
		return ft_diag_set(diag, FT_ERR_NO_MEM, who(gdb), "out of memory");
	memcpy(stop, gdb->reply, stop_len + 1);
	err = read_tdesc(gdb, NULL, diag);
	if (err == FT_OK) {
		gdb->tdesc_deferred = false;
		fill_reg_info(gdb);
		err = ft_gdb_parse_stop(gdb, stop, stop_len, out, diag);
	}
	free(stop);
	return err;
}

ft_error ft_gdb_detach(ft_gdb *gdb, ft_diag *diag)
{
	ft_error err = expect_ok(gdb, "D", diag);
	/* QEMU 7.2 keeps multiprocess mode on from an earlier client that asked for it (gdbstub.c
	 * handle_query_supported sets it, nothing clears it) and then refuses a bare D with E22
	 * (EINVAL): it wants the process, 1 being the first, as GDB sends it ("D;1"). */
	if (err == FT_ERR_DEVICE && gdb->reply_len == 3 && memcmp(gdb->reply, "E22", 3) == 0)
		err = expect_ok(gdb, "D;1", diag);
	return err;
}
