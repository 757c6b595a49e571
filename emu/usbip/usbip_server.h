/* A USB/IP server exporting one ft_usb_device (Linux Documentation/usb/usbip_protocol.rst,
 * version 0x0111), so that `usbip list -r` and `usbip attach -r`, or a userspace USB/IP client,
 * reach an emulated device.
 *
 * What it serves, per connection:
 *   - OP_REQ_DEVLIST: the one device, then the connection is closed (one request per connection,
 *     as usbipd does);
 *   - OP_REQ_IMPORT of the configured busid: OP_REP_IMPORT, then the connection carries URBs.
 *     One client is attached at a time: an IMPORT while another connection holds the device
 *     gets status ST_NA (1), an unknown busid ST_NODEV (4), and the connection is closed;
 *   - CMD_SUBMIT: any number of URBs in flight, answered by RET_SUBMIT with their seqnum. Each
 *     endpoint (EP0 in both directions counts as one) completes its URBs in submission order;
 *     a URB the device NAKs stays pending, and so do the later ones on its endpoint, while
 *     other endpoints go on. The 8 setup bytes reach the device unchanged. SET_FEATURE
 *     (PORT_RESET) to the port (bmRequestType 0x23, bRequest 3, wValue 4), the device reset a
 *     client sends as the Linux stub driver expects it, resets the device and completes with 0;
 *   - CMD_UNLINK: RET_UNLINK with -ECONNRESET (-104) when the URB was still pending (it then
 *     never gets a RET_SUBMIT), 0 when it had completed or is unknown. A URB the device has
 *     answered but whose bus time (pacing, below) is not over completes at once and gets 0.
 * Bus pacing (optional, FT_USBIP_PACING_FULL_SPEED): the device sits on a USB full-speed bus
 * that carries one transfer at a time. A URB is offered to the device only while the bus is
 * free; once the device answers it, the transfer holds the bus for ft_usb_bus_fs_transfer_ns
 * (emu/usb_bus.h) of the data moved (OUT: the data sent; IN: the data returned), on the
 * configured clock, and its RET_SUBMIT waits until that time has passed. A NAK takes no bus
 * time. So a client sees the transfer times of a real full-speed device, and a device model
 * that keeps time (the DFU bootloader's flash operations) sees requests as far apart as on a
 * real bus.
 * Device statuses map to RET_SUBMIT status: FT_USB_OK 0 (or -EREMOTEIO when the URB asked for
 * SHORT_NOT_OK and got less), FT_USB_STALL -EPIPE, FT_USB_ERROR -EPROTO.
 *
 * A peer cannot crash the server or reach the device with a malformed request: a wrong
 * version, an unknown code or command, a truncated message, a devid, direction, endpoint or
 * length that does not fit the device, isochronous packets, or more than the limits below in
 * flight close that connection with a WARNING that names the message and the reason, before
 * the device sees anything of that message. A client that disappears (EOF, EPIPE,
 * ECONNRESET) loses its connection and its pending URBs; the device keeps its state and the
 * server accepts the next client.
 *
 * Threading: single-threaded. The thread that calls ft_usbip_server_run_once/_run owns the
 * server and the device; only ft_usbip_server_wake may be called from other threads or
 * signal handlers. The server never prints: it logs to the sink in its configuration and
 * reports every URB to an optional observer (for a usbmon pcap writer).
 */
#ifndef FT_USBIP_SERVER_H
#define FT_USBIP_SERVER_H

#include "models/clock.h"
#include "models/error.h"
#include "models/usb_device.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Limits per connection; a client exceeding one is disconnected. */
#define FT_USBIP_MAX_TRANSFER        (1u << 20) /* transfer_buffer_length of one URB */
#define FT_USBIP_MAX_URBS_IN_FLIGHT  256
#define FT_USBIP_MAX_BYTES_IN_FLIGHT (16u << 20)
/* Connections open at once, attached or not; more are closed on accept. */
#define FT_USBIP_MAX_CONNECTIONS 16

typedef enum ft_usbip_log_level {
	FT_USBIP_LOG_ERROR,   /* the server itself failed: a socket call it cannot do without */
	FT_USBIP_LOG_WARNING, /* a client misbehaved or vanished; its connection was dropped */
	FT_USBIP_LOG_INFO,  /* a connection opened or closed; the device listed, imported, reset */
	FT_USBIP_LOG_DEBUG, /* unlinks and other per-URB events worth a trace */
} ft_usbip_log_level;

/* "error", "warning", "info", "debug"; never NULL. */
const char *ft_usbip_log_level_name(ft_usbip_log_level level);

/* Log sink: called synchronously from the server's thread. session is the configured session
 * id; message has no trailing newline or period. Both are valid only during the call. */
typedef void (*ft_usbip_log_fn)(void *ctx, ft_usbip_log_level level, const char *session,
                                const char *message);

typedef enum ft_usbip_urb_event_kind {
	FT_USBIP_URB_SUBMITTED, /* a valid CMD_SUBMIT, with its OUT data, before the device sees it
	                         */
	FT_USBIP_URB_COMPLETED, /* a RET_SUBMIT or unlink, with its IN data */
} ft_usbip_urb_event_kind;

/* One URB event, in the terms a usbmon record needs. Pointers are valid only during the call. */
typedef struct ft_usbip_urb_event {
	ft_usbip_urb_event_kind kind;
	uint32_t seqnum; /* the client's URB id */
	uint32_t busnum;
	uint32_t devnum;
	uint8_t endpoint;      /* address: number, FT_USB_DIR_IN for IN */
	ft_usb_xfer_type type; /* control, bulk or interrupt */
	const uint8_t *setup;  /* the 8 setup bytes for control, else NULL */
	uint32_t transfer_flags;
	int32_t interval;
	uint32_t length;     /* transfer_buffer_length */
	int32_t status;      /* SUBMITTED: FT_USBIP_EINPROGRESS; COMPLETED: the RET_SUBMIT status,
	                        FT_USBIP_ECONNRESET when unlinked, FT_USBIP_ENODEV when its
	                        connection went away */
	const uint8_t *data; /* OUT data when SUBMITTED, IN data when COMPLETED; else NULL */
	size_t data_len;
} ft_usbip_urb_event;

typedef void (*ft_usbip_observer_fn)(void *ctx, const ft_usbip_urb_event *event);

typedef enum ft_usbip_pacing {
	FT_USBIP_PACING_NONE = 0,   /* a URB completes as soon as the device answers it */
	FT_USBIP_PACING_FULL_SPEED, /* USB full-speed bus time, see above */
} ft_usbip_pacing;

typedef struct ft_usbip_server_config {
	const char *address; /* numeric IPv4 or IPv6 address to listen on; NULL: "127.0.0.1" */
	uint16_t port;       /* 0: any free port, see ft_usbip_server_port; usually
	                        FT_USBIP_DEFAULT_PORT (usbip_proto.h) */
	const char *busid;   /* "<bus>-<port>[.<port>...]", bus 1..65535; NULL: "1-1" */
	const char *session; /* board or session id for log messages; NULL: "usbip" */
	ft_usbip_log_fn log; /* NULL: no logging */
	void *log_ctx;
	ft_usbip_observer_fn observer; /* NULL: none */
	void *observer_ctx;
	ft_usbip_pacing pacing; /* 0: none */
	ft_clock *clock; /* the time pacing runs on; required with pacing, not owned, must outlive
	                  * the server (FT_CLOCK_INSTANT: transfers take no time; FT_CLOCK_MANUAL:
	                  * a test steps it) */
} ft_usbip_server_config;

typedef struct ft_usbip_server ft_usbip_server;

/* Creates a server listening on cfg->address:cfg->port and exporting dev, which must stay valid
 * until ft_usbip_server_free. cfg may be NULL for the defaults; its strings are copied.
 * Returns FT_OK with *out set, or FT_ERR_INVALID_ARG (malformed busid or address, an unknown
 * pacing, pacing without a clock), FT_ERR_FORMAT (the device's descriptors fail
 * ft_usb_device_check), FT_ERR_IO (the socket cannot be created, bound or listened on, e.g. the
 * port is taken) or FT_ERR_NO_MEM, with diag saying which. Does not block. */
ft_error ft_usbip_server_new(const ft_usbip_server_config *cfg, const ft_usb_device *dev,
                             ft_usbip_server **out, ft_diag *diag);

/* Closes every connection (pending URBs are discarded) and the listening socket. NULL is a
 * no-op. The device is not reset. */
void ft_usbip_server_free(ft_usbip_server *srv);

/* The TCP port the server listens on (the one picked when the configuration said 0). */
uint16_t ft_usbip_server_port(const ft_usbip_server *srv);

/* Serves fd, an already connected stream socket (a socketpair end, an inherited socket), as a
 * newly accepted client. The server owns fd from this call on, also when it fails.
 * Returns FT_OK, FT_ERR_BUSY (FT_USBIP_MAX_CONNECTIONS open) or FT_ERR_NO_MEM, or FT_ERR_IO
 * when fd cannot be made non-blocking. */
ft_error ft_usbip_server_adopt(ft_usbip_server *srv, int fd, ft_diag *diag);

/* Waits at most timeout_ms (-1: no limit, 0: not at all) for a socket event or a wake, then
 * accepts, reads, answers and writes what it can, retries every pending URB, and returns.
 * A device that gets data for a NAKed URB from outside the server calls ft_usbip_server_wake
 * (or its host calls run_once again). Returns FT_OK, whatever clients did, or FT_ERR_IO when
 * poll fails, with diag. */
ft_error ft_usbip_server_run_once(ft_usbip_server *srv, int timeout_ms, ft_diag *diag);

/* The same with the timeout in nanoseconds (-1: no limit), for hosts whose models need waking
 * at sub-millisecond deadlines. With pacing, either returns by the time the transfer on the bus
 * is due to complete, whatever the timeout. */
ft_error ft_usbip_server_run_once_ns(ft_usbip_server *srv, int64_t timeout_ns, ft_diag *diag);

/* Calls ft_usbip_server_run_once until *stop is true, checking it at least every 100 ms and
 * at once after ft_usbip_server_wake. Returns FT_OK when stopped, or the first error. */
ft_error ft_usbip_server_run(ft_usbip_server *srv, const atomic_bool *stop, ft_diag *diag);

/* Makes a blocked or next ft_usbip_server_run_once return promptly. Safe from any thread and
 * from signal handlers. */
void ft_usbip_server_wake(ft_usbip_server *srv);

#endif
