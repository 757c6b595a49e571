/* A userspace USB/IP client: lists a server's exported devices (OP_REQ_DEVLIST), imports one
 * (OP_REQ_IMPORT) and then runs control transfers on it as CMD_SUBMIT/RET_SUBMIT URBs, without
 * the kernel's vhci-hcd. It is how the programmer reaches emulated boards (flashtwin-emu) and
 * boards exported by a remote `usbipd`.
 *
 * Wire format: Linux Documentation/usb/usbip_protocol.rst, version 0x0111, encoded and decoded by
 * models/usbip_proto (the codec the emulator's server uses too). One URB is in flight at a time;
 * seqnums count up from 1.
 *
 * Trust: the server is a peer. Every reply field is checked before use (version, command code,
 * status, seqnum, actual_length against the request, ISO packet counts, string termination), and
 * every socket operation waits with poll() against a deadline, so a hostile or dead server costs
 * at most the given timeout and an error, never a crash or a hang. After a reply that breaks the
 * protocol the stream cannot be trusted: the client is then "broken" and every later transfer
 * fails at once with the first reason.
 *
 * Threading: a client is used by one thread at a time.
 */
#ifndef FT_USBIP_CLIENT_H
#define FT_USBIP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/usbip_proto.h"
#include "programmer/transport/transport.h"

#define FT_USBIP_MAX_DEVICES       1024 /* a DEVLIST reply announcing more is refused */
#define FT_USBIP_UNLINK_TIMEOUT_MS 1000 /* wait for RET_UNLINK after a timed-out URB */

/* Devices are described by the codec's ft_usbip_device (models/usbip_proto.h): the client
 * decodes every record with it and then replaces bytes outside printable ASCII in path and busid
 * by '?', so the strings are safe to print. interfaces[] is filled by DEVLIST only. */

typedef struct ft_usbip_client ft_usbip_client;

/* Connects to host:port and lists the exported devices into out[0..cap); *count is set to the
 * number the server announced (it may exceed cap). The whole exchange, name resolution aside,
 * takes at most timeout_ms. Returns FT_OK; FT_ERR_NOT_FOUND (host unknown); FT_ERR_IO
 * (connection refused or lost); FT_ERR_TIMEOUT; FT_ERR_PROTOCOL (malformed reply); FT_ERR_DEVICE
 * (the server answered a non-zero status); each with diag. */
ft_error ft_usbip_list(const char *host, uint16_t port, unsigned timeout_ms, ft_usbip_device *out,
                       size_t cap, size_t *count, ft_diag *diag);

/* The same over an already connected stream socket, which the call takes over and closes.
 * label names the server in messages. */
ft_error ft_usbip_list_fd(int fd, const char *label, unsigned timeout_ms, ft_usbip_device *out,
                          size_t cap, size_t *count, ft_diag *diag);

/* Connects to host:port and imports the device busid. An empty or NULL busid means the only
 * device the server exports (found with a DEVLIST on a first connection): none is
 * FT_ERR_NOT_FOUND, several FT_ERR_INVALID_ARG with diag listing their busids. The import
 * takes at most timeout_ms per connection. A refused import is FT_ERR_NOT_FOUND (ST_NA,
 * ST_NODEV), FT_ERR_BUSY (ST_DEV_BUSY) or FT_ERR_DEVICE (ST_DEV_ERR, ST_ERROR, other), with
 * diag naming the status; other returns as for ft_usbip_list; FT_ERR_NO_MEM. On success *out
 * is a client the caller frees with ft_usbip_close. */
ft_error ft_usbip_import(const char *host, uint16_t port, const char *busid, unsigned timeout_ms,
                         ft_usbip_client **out, ft_diag *diag);

/* The same over an already connected stream socket, which the call takes over (closed on
 * failure, owned by the client on success). busid must be given. */
ft_error ft_usbip_import_fd(int fd, const char *label, const char *busid, unsigned timeout_ms,
                            ft_usbip_client **out, ft_diag *diag);

/* Closes the connection and frees the client. NULL is allowed. */
void ft_usbip_close(ft_usbip_client *client);

/* The imported device, as the server's IMPORT reply described it (interfaces not filled). */
const ft_usbip_device *ft_usbip_client_device(const ft_usbip_client *client);

/* "usbip://HOST:PORT/BUSID" (or the label given to ft_usbip_import_fd plus "/BUSID"). */
const char *ft_usbip_client_describe(const ft_usbip_client *client);

/* One control transfer on EP0, with the contract of ft_transport_ops.control. On timeout the
 * URB is cancelled with CMD_UNLINK and the call waits up to FT_USBIP_UNLINK_TIMEOUT_MS more for
 * RET_UNLINK (dropping the URB's own late RET_SUBMIT); a server that does not answer the unlink
 * leaves the client broken. RET_SUBMIT status 0 is FT_TRANSFER_OK, -EPIPE STALL, -ENODEV and
 * -ESHUTDOWN NO_DEVICE, -ETIMEDOUT TIMEOUT, anything else IO; the server closing the connection
 * between messages is NO_DEVICE, in the middle of one IO (FT_ERR_PROTOCOL). */
ft_transfer_status ft_usbip_control(ft_usbip_client *client, const uint8_t setup[8], uint8_t *data,
                                    size_t len, unsigned timeout_ms, size_t *actual, ft_diag *diag);

/* Resets the device with SET_FEATURE(PORT_RESET) (bmRequestType 0x23, wValue 4), which the
 * Linux stub and usbip servers treat as a port reset. Returns FT_OK or the ft_transfer_error of
 * the failed transfer, with diag. */
ft_error ft_usbip_reset(ft_usbip_client *client, unsigned timeout_ms, ft_diag *diag);

/* Wraps a client as a transport that owns it (closing the transport closes the client).
 * Returns NULL when out of memory; the client is then closed. */
ft_transport *ft_usbip_transport(ft_usbip_client *client);

/* The backend ft_transport_open uses for usbip:// connection strings. */
extern const ft_transport_ops ft_usbip_transport_ops;

/* Wire parsing: pure functions over bytes already received, exposed for tests and the fuzz
 * target. Each returns FT_OK or FT_ERR_PROTOCOL with diag naming the field and the values. */

/* An OP_REP_* header: version must be FT_USBIP_VERSION and code expected_code; *status is the
 * status word (not judged here). */
ft_error ft_usbip_parse_op_reply(const uint8_t hdr[FT_USBIP_OP_HEADER_SIZE], uint16_t expected_code,
                                 uint32_t *status, ft_diag *diag);

/* A struct usbip_usb_device, decoded by the codec, strings made printable; out->interfaces is
 * cleared. */
ft_error ft_usbip_parse_device(const uint8_t buf[FT_USBIP_DEVICE_SIZE], ft_usbip_device *out,
                               ft_diag *diag);

/* A URB-phase reply header, decoded. */
typedef struct ft_usbip_reply {
	uint32_t command; /* FT_USBIP_RET_SUBMIT or FT_USBIP_RET_UNLINK */
	uint32_t seqnum;
	int32_t status;         /* 0 or a negative Linux errno */
	uint32_t actual_length; /* RET_SUBMIT only */
} ft_usbip_reply;

/* A 48-byte reply header: the command must be RET_SUBMIT or RET_UNLINK, and a RET_SUBMIT must
 * carry no ISO packets (number_of_packets 0 or -1). */
ft_error ft_usbip_parse_reply(const uint8_t hdr[FT_USBIP_URB_HEADER_SIZE], ft_usbip_reply *out,
                              ft_diag *diag);

/* Checks a parsed RET_SUBMIT against the URB it must answer: same seqnum, actual_length at most
 * the requested length. */
ft_error ft_usbip_check_ret_submit(const ft_usbip_reply *reply, uint32_t seqnum, size_t requested,
                                   ft_diag *diag);

#endif
