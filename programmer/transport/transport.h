/* USB transports: how the programmer reaches a USB device, real or emulated.
 *
 * A transport carries whole control transfers to one opened USB device: setup, data stage and
 * status in one call, the level both libusb and USB/IP work at. Each backend fills an
 * ft_transport_ops table; callers never touch the table and go through the ft_transport_*
 * wrappers below, which check arguments, fill in optional operations and keep the backend's
 * contract. Backends:
 *
 *   usb                      libusb-1.0, the one STM32 DFU device (0483:df11) on the host
 *   usb:SERIAL               libusb-1.0, the DFU device with that serial number
 *   usbip://HOST[:PORT][/BUSID]   a USB/IP server (port 3240 by default); BUSID may be left out
 *                            when the server exports exactly one device
 *
 * HOST is a name, an IPv4 address or a bracketed IPv6 address ("usbip://[::1]:3240/1-1").
 *
 * Threading: a transport is used by one thread at a time. Every call blocks for at most the
 * timeout it is given (control) or the backend's documented bound (open, list, reset).
 * Ownership: ft_transport_open and ft_transport_new return a transport the caller frees with
 * ft_transport_close.
 */
#ifndef FT_TRANSPORT_H
#define FT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

/* Connection-string field limits. A USB string descriptor holds at most 126 UTF-16 units
 * (bLength is a byte: (255 - 2) / 2); a USB/IP busid travels in a char[32] with its NUL
 * (Linux Documentation/usb/usbip_protocol.rst, OP_REQ_IMPORT). */
#define FT_TRANSPORT_MAX_SERIAL 126
#define FT_TRANSPORT_MAX_HOST   253
#define FT_TRANSPORT_MAX_BUSID  31 /* FT_USBIP_BUSID_SIZE - 1 (models/usbip_proto.h) */

/* How a control transfer ended. Not an ft_error: a STALL is a normal answer of a USB device
 * (a request error, USB 2.0 §9.2.7), which the caller decodes in its own protocol's terms. */
typedef enum ft_transfer_status {
	FT_TRANSFER_OK = 0,    /* completed; *actual bytes moved */
	FT_TRANSFER_STALL,     /* the device answered STALL */
	FT_TRANSFER_TIMEOUT,   /* no answer within timeout_ms; the transfer was cancelled */
	FT_TRANSFER_NO_DEVICE, /* the device is gone (unplugged, reset, server closed the link) */
	FT_TRANSFER_IO,        /* anything else: host error, malformed reply; diag says which */
} ft_transfer_status;

/* Stable lower-case name ("ok", "stall", "timeout", "no-device", "io"); never NULL. */
const char *ft_transfer_status_name(ft_transfer_status status);

typedef enum ft_transport_kind {
	FT_TRANSPORT_USB,   /* libusb-1.0 */
	FT_TRANSPORT_USBIP, /* userspace USB/IP client */
} ft_transport_kind;

/* A parsed connection string. Empty strings mean "not given". */
typedef struct ft_transport_address {
	ft_transport_kind kind;
	char serial[FT_TRANSPORT_MAX_SERIAL + 1]; /* usb: the device's serial number */
	char host[FT_TRANSPORT_MAX_HOST + 1];     /* usbip: without the IPv6 brackets */
	uint16_t port;                            /* usbip: never 0 once parsed */
	char busid[FT_TRANSPORT_MAX_BUSID + 1];   /* usbip: the exported device */
} ft_transport_address;

/* Parses a connection string (see the top of this file). Every field is bounds-checked: a
 * serial of printable ASCII without spaces, a host of letters, digits, '.', '-' (or, in
 * brackets, hex digits, ':', '.', '%'), a decimal port 1..65535, a busid of letters, digits,
 * '.', '-', ':', '_'. Returns FT_OK; FT_ERR_FORMAT with diag naming the offset and what was
 * expected; FT_ERR_RANGE for a field that is too long or a port out of range;
 * FT_ERR_UNSUPPORTED for a scheme that is not a USB transport (gdb://, anything else).
 * *out is unspecified on failure. */
ft_error ft_transport_parse(const char *text, ft_transport_address *out, ft_diag *diag);

/* One device a backend can reach, as its listing reports it. */
typedef struct ft_transport_device {
	char id[64];                              /* usbip: the busid; usb: "bus B address A" */
	char serial[FT_TRANSPORT_MAX_SERIAL + 1]; /* empty when the listing cannot know it */
	uint16_t vid, pid, bcd_device;
	uint32_t speed; /* Linux enum usb_device_speed: 1 low, 2 full, 3 high, 5 super; 0 unknown */
	bool dfu;       /* has a DFU-mode interface (class 0xFE, subclass 0x01, protocol 0x02,
	                 * DFU 1.1 §4.2.3); the usb backend lists only such devices */
} ft_transport_device;

/* The operations of a backend. ctx is the backend's own pointer, returned by open. The wrappers
 * call each op only with the arguments its comment promises, one call at a time. A backend
 * reports failures through its return value and diag (never NULL when passed to an op) and
 * never prints. */
typedef struct ft_transport_ops {
	/* Scheme this backend serves, for messages ("usb", "usbip"). Required. */
	const char *name;

	/* Opens the device addr names (addr->kind is this backend's) and returns its context in
	 * *ctx. Blocks for the backend's connect bound. Returns FT_OK; FT_ERR_NOT_FOUND when no
	 * device matches; FT_ERR_INVALID_ARG when several match and addr does not say which (diag
	 * lists them); FT_ERR_IO, FT_ERR_TIMEOUT, FT_ERR_PROTOCOL or FT_ERR_UNSUPPORTED (no USB
	 * support on the host) with diag. Required for backends reached through ft_transport_open;
	 * transports made with ft_transport_new do not use it. */
	ft_error (*open)(const ft_transport_address *addr, void **ctx, ft_diag *diag);

	/* Lists the devices reachable at addr (for usbip, the server's DEVLIST; for usb, the STM32
	 * DFU devices) into out[0..cap) and sets *count to how many there are, which may exceed
	 * cap. Returns FT_OK or an error as open does. Optional (FT_ERR_UNSUPPORTED without it). */
	ft_error (*list)(const ft_transport_address *addr, ft_transport_device *out, size_t cap,
	                 size_t *count, ft_diag *diag);

	/* Closes the device and frees ctx. Called exactly once, by ft_transport_close. Required. */
	void (*close)(void *ctx);

	/* Performs one control transfer. setup holds the 8 raw setup bytes (USB 2.0 §9.3; the
	 * words are little-endian and are sent unchanged). len equals wLength. For an OUT transfer
	 * (bmRequestType bit 7 clear) data holds len bytes to send; for IN the backend writes at
	 * most len bytes to data. data is non-NULL when len > 0. timeout_ms > 0: the call returns
	 * within about that time, cancelling the transfer on timeout. *actual is 0 on entry and is
	 * set to the bytes moved, never more than len. Returns FT_TRANSFER_OK, _STALL, _TIMEOUT,
	 * _NO_DEVICE, or _IO with diag saying what failed (diag->code is FT_ERR_IO for a host
	 * failure, FT_ERR_PROTOCOL for a malformed answer). Required. */
	ft_transfer_status (*control)(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
	                              unsigned timeout_ms, size_t *actual, ft_diag *diag);

	/* Makes configuration value (bConfigurationValue) the active one. Called once after
	 * enumeration, before set_interface: over USB/IP nobody else configures the device, while a
	 * host stack may have done it already (then nothing is sent). Returns FT_OK, or an ft_error
	 * with diag. Optional: without it the wrapper sends the standard SET_CONFIGURATION request
	 * (USB 2.0 §9.4.7) through control. */
	ft_error (*set_configuration)(void *ctx, uint8_t value, ft_diag *diag);

	/* Selects alternate setting alt of interface (claiming the interface first where the host
	 * needs that). Called before any class request to that interface. Returns FT_OK, or an
	 * ft_error with diag. Optional: without it the wrapper sends the standard SET_INTERFACE
	 * request (USB 2.0 §9.4.10) through control. */
	ft_error (*set_interface)(void *ctx, uint8_t interface, uint8_t alt, ft_diag *diag);

	/* Resets the device's port (USB 2.0 §7.1.7.5). After a reset the device may re-enumerate
	 * and vanish from this transport; control then answers FT_TRANSFER_NO_DEVICE. Returns
	 * FT_OK or an ft_error with diag. Optional (FT_ERR_UNSUPPORTED without it). */
	ft_error (*reset)(void *ctx, ft_diag *diag);

	/* A short description of the opened device for messages, e.g.
	 * "usbip://127.0.0.1:3240/1-1" or "usb 0483:df11 serial 200364500000 (bus 1 address 4)".
	 * The string belongs to the backend and lives as long as ctx. Required. */
	const char *(*describe)(void *ctx);
} ft_transport_ops;

typedef struct ft_transport ft_transport;

/* Parses conn and opens it through the backend its scheme names. See ops->open for the
 * returns; parse errors are those of ft_transport_parse. FT_ERR_NO_MEM when out of memory. */
ft_error ft_transport_open(const char *conn, ft_transport **out, ft_diag *diag);

/* Lists the devices reachable through conn (see ops->list). For usbip the busid part of conn
 * is ignored. */
ft_error ft_transport_list(const char *conn, ft_transport_device *out, size_t cap, size_t *count,
                           ft_diag *diag);

/* Wraps an already opened backend context: how backends' own constructors (and test fakes)
 * make a transport. ops must stay valid for the transport's life; ft_transport_close calls
 * ops->close(ctx). Returns NULL when out of memory (ctx is then not closed). */
ft_transport *ft_transport_new(const ft_transport_ops *ops, void *ctx);

/* Closes the device and frees the transport. NULL is allowed. */
void ft_transport_close(ft_transport *t);

/* The backend's description of the device (see ops->describe); never NULL. */
const char *ft_transport_describe(const ft_transport *t);

/* One control transfer (see ops->control). The wrapper checks that len equals wLength, that
 * data is non-NULL when len > 0 and that timeout_ms > 0 (there is no "wait forever"); a
 * violation is a caller bug and returns FT_TRANSFER_IO with diag code FT_ERR_INVALID_ARG.
 * *actual is always set (0 unless FT_TRANSFER_OK). diag may be NULL. */
ft_transfer_status ft_transport_control(ft_transport *t, const uint8_t setup[8], uint8_t *data,
                                        size_t len, unsigned timeout_ms, size_t *actual,
                                        ft_diag *diag);

/* Selects a configuration (see ops->set_configuration). A STALL of the standard request is
 * FT_ERR_PROTOCOL. */
ft_error ft_transport_set_configuration(ft_transport *t, uint8_t value, unsigned timeout_ms,
                                        ft_diag *diag);

/* Selects an alternate setting (see ops->set_interface). A STALL of the standard request is
 * FT_ERR_PROTOCOL. */
ft_error ft_transport_set_interface(ft_transport *t, uint8_t interface, uint8_t alt,
                                    unsigned timeout_ms, ft_diag *diag);

/* Resets the device's port (see ops->reset). */
ft_error ft_transport_reset(ft_transport *t, ft_diag *diag);

/* The ft_error for a transfer that did not complete: STALL is FT_ERR_PROTOCOL, TIMEOUT
 * FT_ERR_TIMEOUT, NO_DEVICE FT_ERR_IO, IO the code the backend put in its diag (FT_ERR_IO when
 * that is not an error). FT_TRANSFER_OK gives FT_OK. */
ft_error ft_transfer_error(ft_transfer_status status, const ft_diag *backend_diag);

/* Reads a descriptor with GET_DESCRIPTOR (USB 2.0 §9.4.3) into buf[0..cap), cap <= 0xFFFF,
 * and sets *len to the bytes received. Checks that the answer is at least 2 bytes and that its
 * bDescriptorType is type. Returns FT_OK; FT_ERR_UNSUPPORTED when the device STALLs the request
 * (a request error: it has no such descriptor); FT_ERR_PROTOCOL for a malformed answer;
 * otherwise the ft_transfer_error of the failed transfer; each with diag. */
ft_error ft_transport_get_descriptor(ft_transport *t, uint8_t type, uint8_t index, uint16_t langid,
                                     uint8_t *buf, size_t cap, size_t *len, unsigned timeout_ms,
                                     ft_diag *diag);

/* Reads string descriptor index in language langid and decodes it into out (see
 * ft_usb_string_decode). Returns as ft_transport_get_descriptor. */
ft_error ft_transport_get_string(ft_transport *t, uint8_t index, uint16_t langid, char *out,
                                 size_t cap, unsigned timeout_ms, ft_diag *diag);

/* Decodes a string descriptor (USB 2.0 §9.6.7: bLength, bDescriptorType 3, UTF-16LE) of len
 * bytes into a NUL-terminated string in out[0..cap), cap >= 1: ASCII stays, every other code
 * unit becomes '?', a NUL unit ends the string, and text that does not fit is cut. Returns
 * FT_OK, or FT_ERR_FORMAT when len < 2, bLength > len, bLength is odd or the type is not 3. */
ft_error ft_usb_string_decode(const uint8_t *desc, size_t len, char *out, size_t cap,
                              ft_diag *diag);

#endif
