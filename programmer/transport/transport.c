#include "programmer/transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/transport/usb_libusb.h"
#include "programmer/transport/usbip_client.h"

#define ORIGIN "connection string"

/* Standard requests and descriptor types, USB 2.0 §9.4 Tables 9-4 and 9-5. */
#define USB_REQ_GET_DESCRIPTOR    6
#define USB_REQ_SET_CONFIGURATION 9
#define USB_REQ_SET_INTERFACE     11
#define USB_DT_STRING             3

struct ft_transport {
	const ft_transport_ops *ops;
	void *ctx;
};

const char *ft_transfer_status_name(ft_transfer_status status)
{
	switch (status) {
	case FT_TRANSFER_OK: return "ok";
	case FT_TRANSFER_STALL: return "stall";
	case FT_TRANSFER_TIMEOUT: return "timeout";
	case FT_TRANSFER_NO_DEVICE: return "no-device";
	case FT_TRANSFER_IO: return "io";
	}
	return "unknown";
}

ft_error ft_transfer_error(ft_transfer_status status, const ft_diag *backend_diag)
{
	switch (status) {
	case FT_TRANSFER_OK: return FT_OK;
	case FT_TRANSFER_STALL: return FT_ERR_PROTOCOL;
	case FT_TRANSFER_TIMEOUT: return FT_ERR_TIMEOUT;
	case FT_TRANSFER_NO_DEVICE: return FT_ERR_IO;
	case FT_TRANSFER_IO: break;
	}
	if (backend_diag && backend_diag->code != FT_OK)
		return backend_diag->code;
	return FT_ERR_IO;
}

/* Connection-string parsing. */

typedef struct cursor {
	const char *text;
	size_t pos;
	ft_diag *diag;
} cursor;

static ft_error expected(const cursor *c, const char *what)
{
	unsigned char ch = (unsigned char)c->text[c->pos];
	if (ch == '\0')
		return ft_diag_set(c->diag, FT_ERR_FORMAT, ORIGIN,
		                   "expected %s at offset %zu, found the end", what, c->pos);
	return ft_diag_set(c->diag, FT_ERR_FORMAT, ORIGIN, "expected %s at offset %zu, found '%c'",
	                   what, c->pos, ch >= 0x20 && ch < 0x7f ? ch : '?');
}

static bool is_alnum(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool serial_char(int ch)
{
	return ch > 0x20 && ch < 0x7f;
}

static bool host_char(int ch)
{
	return is_alnum(ch) || ch == '.' || ch == '-';
}

static bool ipv6_char(int ch)
{
	return is_alnum(ch) || ch == ':' || ch == '.' || ch == '%';
}

static bool busid_char(int ch)
{
	return is_alnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '_';
}

/* Copies the run of accepted characters at the cursor into out[0..cap). */
static ft_error field(cursor *c, bool (*accept)(int), char *out, size_t cap, const char *what)
{
	size_t start = c->pos;
	while (c->text[c->pos] != '\0' && accept((unsigned char)c->text[c->pos]))
		c->pos++;
	size_t n = c->pos - start;
	if (n == 0)
		return expected(c, what);
	if (n >= cap)
		return ft_diag_set(c->diag, FT_ERR_RANGE, ORIGIN,
		                   "%s at offset %zu is %zu characters, at most %zu allowed", what,
		                   start, n, cap - 1);
	memcpy(out, c->text + start, n);
	out[n] = '\0';
	return FT_OK;
}

static ft_error port_number(cursor *c, uint16_t *port)
{
	size_t start = c->pos;
	unsigned long v = 0;
	while (c->text[c->pos] >= '0' && c->text[c->pos] <= '9') {
		v = v * 10 + (unsigned long)(c->text[c->pos] - '0');
		c->pos++;
		if (c->pos - start > 5)
			break;
	}
	if (c->pos == start)
		return expected(c, "a port number");
	if (c->pos - start > 5 || v == 0 || v > 65535)
		return ft_diag_set(c->diag, FT_ERR_RANGE, ORIGIN,
		                   "port at offset %zu is not in 1..65535", start);
	*port = (uint16_t)v;
	return FT_OK;
}

static ft_error parse_usbip(cursor *c, ft_transport_address *out)
{
	ft_error err;
	if (c->text[c->pos] == '[') {
		c->pos++;
		err = field(c, ipv6_char, out->host, sizeof(out->host), "an IPv6 address");
		if (err)
			return err;
		if (c->text[c->pos] != ']')
			return expected(c, "']'");
		c->pos++;
	} else {
		err = field(c, host_char, out->host, sizeof(out->host), "a host name or address");
		if (err)
			return err;
	}
	out->port = FT_USBIP_DEFAULT_PORT;
	if (c->text[c->pos] == ':') {
		c->pos++;
		err = port_number(c, &out->port);
		if (err)
			return err;
	}
	if (c->text[c->pos] == '/') {
		c->pos++;
		err = field(c, busid_char, out->busid, sizeof(out->busid), "a USB/IP busid");
		if (err)
			return err;
	}
	if (c->text[c->pos] != '\0')
		return expected(c, c->text[c->pos] == ':' ? "the end (port given twice?)"
		                                          : "':PORT', '/BUSID' or the end");
	return FT_OK;
}

ft_error ft_transport_parse(const char *text, ft_transport_address *out, ft_diag *diag)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, ORIGIN, "no connection string");
	cursor c = {text, 0, diag};
	if (strcmp(text, "usb") == 0) {
		out->kind = FT_TRANSPORT_USB;
		return FT_OK;
	}
	if (strncmp(text, "usb:", 4) == 0) {
		out->kind = FT_TRANSPORT_USB;
		c.pos = 4;
		ft_error err =
		    field(&c, serial_char, out->serial, sizeof(out->serial), "a serial number");
		if (err)
			return err;
		if (text[c.pos] != '\0')
			return expected(&c, "the end of the serial number");
		return FT_OK;
	}
	if (strncmp(text, "usbip://", 8) == 0) {
		out->kind = FT_TRANSPORT_USBIP;
		c.pos = 8;
		return parse_usbip(&c, out);
	}
	if (strncmp(text, "gdb:", 4) == 0)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, ORIGIN,
		                   "\"%.64s\" is a debug-port connection; USB DFU needs usb, "
		                   "usb:SERIAL or usbip://HOST:PORT/BUSID",
		                   text);
	if (strstr(text, "://"))
		return ft_diag_set(
		    diag, FT_ERR_UNSUPPORTED, ORIGIN,
		    "unknown scheme in \"%.64s\"; USB transports are usb, usb:SERIAL and "
		    "usbip://HOST:PORT/BUSID",
		    text);
	return ft_diag_set(diag, FT_ERR_FORMAT, ORIGIN,
	                   "\"%.64s\" is not a connection string; expected usb, usb:SERIAL or "
	                   "usbip://HOST:PORT/BUSID",
	                   text);
}

/* Backend registry: one row per ft_transport_kind. */
static const ft_transport_ops *backend(ft_transport_kind kind)
{
	return kind == FT_TRANSPORT_USBIP ? &ft_usbip_transport_ops : &ft_usb_libusb_transport_ops;
}

ft_transport *ft_transport_new(const ft_transport_ops *ops, void *ctx)
{
	ft_transport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ops = ops;
	t->ctx = ctx;
	return t;
}

ft_error ft_transport_open(const char *conn, ft_transport **out, ft_diag *diag)
{
	*out = NULL;
	ft_transport_address addr;
	ft_error err = ft_transport_parse(conn, &addr, diag);
	if (err)
		return err;
	const ft_transport_ops *ops = backend(addr.kind);
	ft_diag local;
	ft_diag_clear(&local);
	void *ctx = NULL;
	err = ops->open(&addr, &ctx, diag ? diag : &local);
	if (err)
		return err;
	ft_transport *t = ft_transport_new(ops, ctx);
	if (!t) {
		ops->close(ctx);
		return ft_diag_set(diag, FT_ERR_NO_MEM, conn, "out of memory");
	}
	*out = t;
	return FT_OK;
}

ft_error ft_transport_list(const char *conn, ft_transport_device *out, size_t cap, size_t *count,
                           ft_diag *diag)
{
	*count = 0;
	ft_transport_address addr;
	ft_error err = ft_transport_parse(conn, &addr, diag);
	if (err)
		return err;
	const ft_transport_ops *ops = backend(addr.kind);
	if (!ops->list)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, conn, "%s cannot list devices",
		                   ops->name);
	ft_diag local;
	ft_diag_clear(&local);
	return ops->list(&addr, out, cap, count, diag ? diag : &local);
}

void ft_transport_close(ft_transport *t)
{
	if (!t)
		return;
	t->ops->close(t->ctx);
	free(t);
}

const char *ft_transport_describe(const ft_transport *t)
{
	const char *d = t->ops->describe(t->ctx);
	return d ? d : t->ops->name;
}

ft_transfer_status ft_transport_control(ft_transport *t, const uint8_t setup[8], uint8_t *data,
                                        size_t len, unsigned timeout_ms, size_t *actual,
                                        ft_diag *diag)
{
	*actual = 0;
	size_t wlength = (size_t)setup[6] | (size_t)setup[7] << 8;
	if (len != wlength || (len > 0 && !data) || timeout_ms == 0) {
		ft_diag_set(diag, FT_ERR_INVALID_ARG, ft_transport_describe(t),
		            "control transfer with len %zu, wLength %zu, timeout %u ms", len,
		            wlength, timeout_ms);
		return FT_TRANSFER_IO;
	}
	ft_diag local;
	ft_diag_clear(&local);
	ft_diag *d = diag ? diag : &local;
	size_t got = 0;
	ft_transfer_status st = t->ops->control(t->ctx, setup, data, len, timeout_ms, &got, d);
	if (st == FT_TRANSFER_OK)
		*actual = got <= len ? got : len;
	return st;
}

static void put_setup(uint8_t setup[8], uint8_t type, uint8_t request, uint16_t value,
                      uint16_t index, uint16_t length)
{
	setup[0] = type;
	setup[1] = request;
	setup[2] = (uint8_t)value;
	setup[3] = (uint8_t)(value >> 8);
	setup[4] = (uint8_t)index;
	setup[5] = (uint8_t)(index >> 8);
	setup[6] = (uint8_t)length;
	setup[7] = (uint8_t)(length >> 8);
}

/* Fills diag for a transfer that did not complete, keeping the backend's detail. */
static ft_error transfer_failed(ft_transport *t, ft_transfer_status st, ft_diag *diag,
                                const char *what)
{
	ft_error code = ft_transfer_error(st, diag);
	char detail[sizeof(diag->message)];
	snprintf(detail, sizeof(detail), "%s", diag->message);
	if (st == FT_TRANSFER_STALL)
		return ft_diag_set(diag, code, ft_transport_describe(t), "device stalled %s", what);
	if (st == FT_TRANSFER_TIMEOUT)
		return ft_diag_set(diag, code, ft_transport_describe(t), "%s timed out", what);
	if (st == FT_TRANSFER_NO_DEVICE)
		return ft_diag_set(diag, code, ft_transport_describe(t),
		                   "device gone during %s%s%s", what, detail[0] ? ": " : "",
		                   detail);
	return ft_diag_set(diag, code, ft_transport_describe(t), "%s failed: %s", what, detail);
}

/* A standard request without data stage. */
static ft_error standard_out(ft_transport *t, uint8_t type, uint8_t request, uint16_t value,
                             uint16_t index, unsigned timeout_ms, const char *what, ft_diag *d)
{
	uint8_t setup[8];
	put_setup(setup, type, request, value, index, 0);
	size_t actual;
	ft_transfer_status st = ft_transport_control(t, setup, NULL, 0, timeout_ms, &actual, d);
	if (st != FT_TRANSFER_OK)
		return transfer_failed(t, st, d, what);
	return FT_OK;
}

ft_error ft_transport_set_configuration(ft_transport *t, uint8_t value, unsigned timeout_ms,
                                        ft_diag *diag)
{
	ft_diag local;
	ft_diag_clear(&local);
	ft_diag *d = diag ? diag : &local;
	if (t->ops->set_configuration)
		return t->ops->set_configuration(t->ctx, value, d);
	char what[48];
	snprintf(what, sizeof(what), "SET_CONFIGURATION %u", value);
	return standard_out(t, 0x00 /* OUT, standard, device */, USB_REQ_SET_CONFIGURATION, value,
	                    0, timeout_ms, what, d);
}

ft_error ft_transport_set_interface(ft_transport *t, uint8_t interface, uint8_t alt,
                                    unsigned timeout_ms, ft_diag *diag)
{
	ft_diag local;
	ft_diag_clear(&local);
	ft_diag *d = diag ? diag : &local;
	if (t->ops->set_interface)
		return t->ops->set_interface(t->ctx, interface, alt, d);
	char what[48];
	snprintf(what, sizeof(what), "SET_INTERFACE %u alt %u", interface, alt);
	return standard_out(t, 0x01 /* OUT, standard, interface */, USB_REQ_SET_INTERFACE, alt,
	                    interface, timeout_ms, what, d);
}

ft_error ft_transport_reset(ft_transport *t, ft_diag *diag)
{
	if (!t->ops->reset)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, ft_transport_describe(t),
		                   "%s cannot reset the device", t->ops->name);
	ft_diag local;
	ft_diag_clear(&local);
	return t->ops->reset(t->ctx, diag ? diag : &local);
}

ft_error ft_transport_get_descriptor(ft_transport *t, uint8_t type, uint8_t index, uint16_t langid,
                                     uint8_t *buf, size_t cap, size_t *len, unsigned timeout_ms,
                                     ft_diag *diag)
{
	*len = 0;
	ft_diag local;
	ft_diag_clear(&local);
	ft_diag *d = diag ? diag : &local;
	if (cap > 0xFFFF)
		cap = 0xFFFF;
	uint8_t setup[8];
	put_setup(setup, 0x80 /* IN, standard, device */, USB_REQ_GET_DESCRIPTOR,
	          (uint16_t)(type << 8 | index), langid, (uint16_t)cap);
	size_t actual;
	char what[64];
	snprintf(what, sizeof(what), "GET_DESCRIPTOR type %u index %u", type, index);
	ft_transfer_status st = ft_transport_control(t, setup, buf, cap, timeout_ms, &actual, d);
	if (st == FT_TRANSFER_STALL)
		return ft_diag_set(d, FT_ERR_UNSUPPORTED, ft_transport_describe(t),
		                   "device stalled %s: it has no such descriptor", what);
	if (st != FT_TRANSFER_OK)
		return transfer_failed(t, st, d, what);
	if (actual < 2 || buf[1] != type)
		return ft_diag_set(d, FT_ERR_PROTOCOL, ft_transport_describe(t),
		                   "%s answered %zu bytes%s", what, actual,
		                   actual >= 2 ? " of another descriptor type" : "");
	*len = actual;
	return FT_OK;
}

ft_error ft_usb_string_decode(const uint8_t *desc, size_t len, char *out, size_t cap, ft_diag *diag)
{
	out[0] = '\0';
	if (len < 2 || desc[0] > len || desc[0] < 2 || (desc[0] & 1) || desc[1] != USB_DT_STRING)
		return ft_diag_set(diag, FT_ERR_FORMAT, "USB string descriptor",
		                   "malformed: %zu bytes, bLength %u, bDescriptorType %u", len,
		                   len > 0 ? desc[0] : 0, len > 1 ? desc[1] : 0);
	size_t n = 0;
	for (size_t i = 2; i + 1 < desc[0] && n + 1 < cap; i += 2) {
		unsigned unit = desc[i] | (unsigned)desc[i + 1] << 8;
		if (unit == 0)
			break;
		out[n++] = unit >= 0x20 && unit < 0x7f ? (char)unit : '?';
	}
	out[n] = '\0';
	return FT_OK;
}

ft_error ft_transport_get_string(ft_transport *t, uint8_t index, uint16_t langid, char *out,
                                 size_t cap, unsigned timeout_ms, ft_diag *diag)
{
	out[0] = '\0';
	uint8_t buf[255];
	size_t len;
	ft_error err = ft_transport_get_descriptor(t, USB_DT_STRING, index, langid, buf,
	                                           sizeof(buf), &len, timeout_ms, diag);
	if (err)
		return err;
	ft_diag parse;
	ft_diag_clear(&parse);
	if (ft_usb_string_decode(buf, len, out, cap, &parse))
		return ft_diag_set(diag, FT_ERR_PROTOCOL, ft_transport_describe(t),
		                   "string descriptor %u: %s", index, parse.message);
	return FT_OK;
}
