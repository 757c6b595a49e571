/* USB/IP wire format: pure encoders and decoders on byte buffers.
 *
 * Source: Linux Documentation/usb/usbip_protocol.rst, version 0x0111; Linux
 * tools/usb/usbip/libsrc/usbip_common.h for status codes and struct usbip_usb_device.
 * Every header field is big-endian; the 8 setup bytes are raw USB (little-endian words) and are
 * copied, never swapped. Decoders read bytes explicitly and check the length they are given;
 * nothing here allocates, blocks or keeps pointers.
 */
#ifndef FT_USBIP_PROTO_H
#define FT_USBIP_PROTO_H

#include "models/error.h"
#include "models/usb_device.h"

#include <stddef.h>
#include <stdint.h>

#define FT_USBIP_VERSION      0x0111
#define FT_USBIP_DEFAULT_PORT 3240

/* Management phase (OP_*): an 8-byte common header, u16 version, u16 code, u32 status. */
#define FT_USBIP_OP_HEADER_SIZE      8
#define FT_USBIP_OP_REQ_DEVLIST      0x8005
#define FT_USBIP_OP_REP_DEVLIST      0x0005
#define FT_USBIP_OP_REQ_IMPORT       0x8003
#define FT_USBIP_OP_REP_IMPORT       0x0003
#define FT_USBIP_BUSID_SIZE          32
#define FT_USBIP_PATH_SIZE           256
#define FT_USBIP_IMPORT_REQUEST_SIZE (FT_USBIP_OP_HEADER_SIZE + FT_USBIP_BUSID_SIZE)
#define FT_USBIP_DEVICE_SIZE         312 /* struct usbip_usb_device */
#define FT_USBIP_INTERFACE_SIZE      4   /* class, subclass, protocol, padding */
/* OP_REP_DEVLIST: the common header, a u32 number of devices, then per device its record and
 * bNumInterfaces interface entries. */
#define FT_USBIP_DEVLIST_COUNT_SIZE 4
#define FT_USBIP_DEVLIST_REPLY_SIZE (FT_USBIP_OP_HEADER_SIZE + FT_USBIP_DEVLIST_COUNT_SIZE)

/* OP_REP_* status, usbip_common.h. */
enum ft_usbip_op_status {
	FT_USBIP_ST_OK = 0,
	FT_USBIP_ST_NA = 1, /* not available: already imported by another client */
	FT_USBIP_ST_DEV_BUSY = 2,
	FT_USBIP_ST_DEV_ERR = 3,
	FT_USBIP_ST_NODEV = 4, /* no device with that busid */
	FT_USBIP_ST_ERROR = 5,
};

/* Stable name of an OP_REP status ("ST_OK", "ST_NODEV", ...; "unknown" otherwise). */
const char *ft_usbip_op_status_name(uint32_t status);

/* URB phase: every message starts with a 48-byte header. */
#define FT_USBIP_URB_HEADER_SIZE 48
enum ft_usbip_command {
	FT_USBIP_CMD_SUBMIT = 1,
	FT_USBIP_CMD_UNLINK = 2,
	FT_USBIP_RET_SUBMIT = 3,
	FT_USBIP_RET_UNLINK = 4,
};
#define FT_USBIP_DIR_OUT 0
#define FT_USBIP_DIR_IN  1

/* transfer_flags (USBIP_URB_*): SHORT_NOT_OK is what the server acts on; DIR_IN is what Linux
 * vhci sets on IN URBs, and what a client sends to look like it. */
#define FT_USBIP_URB_SHORT_NOT_OK 0x0001
#define FT_USBIP_URB_DIR_IN       0x0200

/* Negative errno values carried in RET_SUBMIT/RET_UNLINK status (Linux asm-generic/errno.h,
 * Documentation/driver-api/usb/error-codes.rst). */
#define FT_USBIP_EPIPE       (-32)  /* endpoint stalled */
#define FT_USBIP_EPROTO      (-71)  /* transaction error */
#define FT_USBIP_ECONNRESET  (-104) /* URB unlinked */
#define FT_USBIP_EINPROGRESS (-115) /* URB submitted, not completed (usbmon's submit status) */
#define FT_USBIP_EREMOTEIO   (-121) /* short transfer with SHORT_NOT_OK */
#define FT_USBIP_ENODEV      (-19)  /* the connection carrying the URB went away */
#define FT_USBIP_ESHUTDOWN   (-108) /* the device or host controller is shutting down */
#define FT_USBIP_ETIMEDOUT   (-110) /* the transfer timed out */

typedef struct ft_usbip_op_header {
	uint16_t version;
	uint16_t code;
	uint32_t status;
} ft_usbip_op_header;

/* One interface of the exported device: its alternate setting 0 class triple. */
typedef struct ft_usbip_interface {
	uint8_t bInterfaceClass;
	uint8_t bInterfaceSubClass;
	uint8_t bInterfaceProtocol;
} ft_usbip_interface;

/* struct usbip_usb_device, decoded; the strings are NUL-terminated here, NUL-padded on the
 * wire. interfaces[] carries bNumInterfaces entries (DEVLIST only). */
typedef struct ft_usbip_device {
	char path[FT_USBIP_PATH_SIZE + 1];
	char busid[FT_USBIP_BUSID_SIZE + 1];
	uint32_t busnum;
	uint32_t devnum;
	uint32_t speed; /* Linux enum usb_device_speed, as ft_usb_speed */
	uint16_t idVendor;
	uint16_t idProduct;
	uint16_t bcdDevice;
	uint8_t bDeviceClass;
	uint8_t bDeviceSubClass;
	uint8_t bDeviceProtocol;
	uint8_t bConfigurationValue;
	uint8_t bNumConfigurations;
	uint8_t bNumInterfaces;
	ft_usbip_interface interfaces[FT_USB_MAX_INTERFACES];
} ft_usbip_device;

/* The 48-byte URB header: the basic header, then the body of its command. */
typedef struct ft_usbip_urb_header {
	uint32_t command; /* enum ft_usbip_command */
	uint32_t seqnum;
	uint32_t devid; /* (busnum << 16) | devnum in requests, 0 in replies */
	uint32_t direction;
	uint32_t ep; /* endpoint number, without the direction bit */
	union {
		struct {
			uint32_t transfer_flags;
			uint32_t transfer_buffer_length;
			int32_t start_frame;
			int32_t number_of_packets; /* 0 (Linux) or -1 (the document) if not ISO */
			int32_t interval;
			uint8_t setup[8];
		} cmd_submit;
		struct {
			int32_t status; /* 0 or a negative errno */
			uint32_t actual_length;
			int32_t start_frame;
			int32_t number_of_packets;
			int32_t error_count;
		} ret_submit;
		struct {
			uint32_t seqnum; /* the URB to unlink */
		} cmd_unlink;
		struct {
			int32_t status; /* FT_USBIP_ECONNRESET, or 0 if it had completed */
		} ret_unlink;
	} u;
} ft_usbip_urb_header;

/* Encoders write exactly the stated size into out and return it. */

/* OP common header with version FT_USBIP_VERSION: FT_USBIP_OP_HEADER_SIZE bytes. */
size_t ft_usbip_op_header_encode(uint16_t code, uint32_t status, uint8_t *out);

/* OP_REQ_IMPORT: FT_USBIP_IMPORT_REQUEST_SIZE bytes; busid is truncated to 31 characters. */
size_t ft_usbip_import_request_encode(const char *busid, uint8_t *out);

/* OP_REP_DEVLIST up to its first device record: the common header with status ST_OK and the
 * number of devices, FT_USBIP_DEVLIST_REPLY_SIZE bytes. */
size_t ft_usbip_devlist_reply_encode(uint32_t count, uint8_t *out);

/* struct usbip_usb_device: FT_USBIP_DEVICE_SIZE bytes, strings NUL-padded. */
size_t ft_usbip_device_encode(const ft_usbip_device *dev, uint8_t *out);

/* One interface entry: FT_USBIP_INTERFACE_SIZE bytes. */
size_t ft_usbip_interface_encode(const ft_usbip_interface *intf, uint8_t *out);

/* URB header: FT_USBIP_URB_HEADER_SIZE bytes; the body is the one of hdr->command, every other
 * byte (padding, unused fields) is zero. hdr->command must be one of enum ft_usbip_command. */
size_t ft_usbip_urb_header_encode(const ft_usbip_urb_header *hdr, uint8_t *out);

/* Decoders return FT_ERR_RANGE (nothing decoded) when len is shorter than the message part,
 * else FT_OK, or FT_ERR_FORMAT where stated. diag may be NULL. */

ft_error ft_usbip_op_header_decode(const uint8_t *buf, size_t len, ft_usbip_op_header *out);

/* OP_REQ_IMPORT after its common header: the busid field (FT_USBIP_BUSID_SIZE bytes) into busid,
 * NUL-terminated. FT_ERR_FORMAT when the field is not NUL-terminated within its 32 bytes. */
ft_error ft_usbip_import_busid_decode(const uint8_t *buf, size_t len,
                                      char busid[FT_USBIP_BUSID_SIZE + 1], ft_diag *diag);

/* struct usbip_usb_device; interfaces are not part of it and are left zero. */
ft_error ft_usbip_device_decode(const uint8_t *buf, size_t len, ft_usbip_device *out);

ft_error ft_usbip_interface_decode(const uint8_t *buf, size_t len, ft_usbip_interface *out);

/* The number of devices that follows an OP_REP_DEVLIST common header (FT_USBIP_DEVLIST_COUNT_SIZE
 * bytes at buf). */
ft_error ft_usbip_devlist_count_decode(const uint8_t *buf, size_t len, uint32_t *count);

/* The interface entries that follow a DEVLIST device record: dev->bNumInterfaces entries of
 * FT_USBIP_INTERFACE_SIZE bytes (len must hold them all); the first FT_USB_MAX_INTERFACES are
 * kept in dev->interfaces, the others are read past. */
ft_error ft_usbip_devlist_interfaces_decode(const uint8_t *buf, size_t len, ft_usbip_device *dev);

/* FT_ERR_FORMAT with diag when the command is none of enum ft_usbip_command. */
ft_error ft_usbip_urb_header_decode(const uint8_t *buf, size_t len, ft_usbip_urb_header *out,
                                    ft_diag *diag);

/* The exported device's record from its descriptors: identity from the device descriptor,
 * bConfigurationValue, bNumInterfaces and each interface's alternate setting 0 class triple
 * from configuration index 0, bNumConfigurations from the device descriptor. path and busid
 * are copied (truncated to the field sizes). The device must have passed
 * ft_usb_device_check. */
void ft_usbip_device_describe(const ft_usb_device *dev, const char *path, const char *busid,
                              uint32_t busnum, uint32_t devnum, ft_usbip_device *out);

#endif
