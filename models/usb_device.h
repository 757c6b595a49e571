/* The interface a USB device model implements, and the wrappers every host calls it through.
 *
 * A USB device model (the DFU bootloader, the test loopback device) fills an ft_usb_device_ops
 * table and hands out an ft_usb_device: the table, its own context pointer and its bus speed.
 * Hosts (the USB/IP server, unit tests) call the model only through the ft_usb_device_*
 * wrappers below, which check what the contract requires of the model.
 *
 * The interface is at transfer level, as USB/IP carries it: one control call is a whole control
 * transfer (setup, data stage and status), one transfer call a whole bulk or interrupt URB.
 * Packets, toggles and addresses are the host controller's business and never reach a model.
 *
 * Threading: a device is driven by one thread at a time, its host's; none of these calls block.
 *
 * Facts: USB 2.0 specification chapter 9 (requests §9.4, descriptors §9.6).
 */
#ifndef FT_USB_DEVICE_H
#define FT_USB_DEVICE_H

#include "models/error.h"

#include <stddef.h>
#include <stdint.h>

/* bmRequestType fields, USB 2.0 §9.3.1 Table 9-2. */
#define FT_USB_DIR_IN          0x80
#define FT_USB_TYPE_MASK       0x60
#define FT_USB_TYPE_STANDARD   0x00
#define FT_USB_TYPE_CLASS      0x20
#define FT_USB_TYPE_VENDOR     0x40
#define FT_USB_RECIP_MASK      0x1f
#define FT_USB_RECIP_DEVICE    0x00
#define FT_USB_RECIP_INTERFACE 0x01
#define FT_USB_RECIP_ENDPOINT  0x02
#define FT_USB_RECIP_OTHER     0x03

/* Standard request codes, USB 2.0 §9.4 Table 9-4. */
enum ft_usb_request {
	FT_USB_REQ_GET_STATUS = 0,
	FT_USB_REQ_CLEAR_FEATURE = 1,
	FT_USB_REQ_SET_FEATURE = 3,
	FT_USB_REQ_SET_ADDRESS = 5,
	FT_USB_REQ_GET_DESCRIPTOR = 6,
	FT_USB_REQ_SET_DESCRIPTOR = 7,
	FT_USB_REQ_GET_CONFIGURATION = 8,
	FT_USB_REQ_SET_CONFIGURATION = 9,
	FT_USB_REQ_GET_INTERFACE = 10,
	FT_USB_REQ_SET_INTERFACE = 11,
	FT_USB_REQ_SYNCH_FRAME = 12,
};

/* Descriptor types, USB 2.0 §9.4 Table 9-5. */
enum ft_usb_descriptor_type {
	FT_USB_DT_DEVICE = 1,
	FT_USB_DT_CONFIG = 2,
	FT_USB_DT_STRING = 3,
	FT_USB_DT_INTERFACE = 4,
	FT_USB_DT_ENDPOINT = 5,
	FT_USB_DT_DEVICE_QUALIFIER = 6,
	FT_USB_DT_OTHER_SPEED_CONFIG = 7,
};

/* Feature selectors, USB 2.0 §9.4 Table 9-6. */
enum ft_usb_feature {
	FT_USB_FEAT_ENDPOINT_HALT = 0,
	FT_USB_FEAT_DEVICE_REMOTE_WAKEUP = 1,
	FT_USB_FEAT_TEST_MODE = 2,
};

/* Descriptor sizes, USB 2.0 §9.6. */
#define FT_USB_DEVICE_DESC_SIZE    18
#define FT_USB_CONFIG_DESC_SIZE    9
#define FT_USB_INTERFACE_DESC_SIZE 9
#define FT_USB_ENDPOINT_DESC_SIZE  7

/* At most this many interfaces per configuration; ft_usb_device_check refuses more. */
#define FT_USB_MAX_INTERFACES 32

/* Bus speed, numbered as Linux `enum usb_device_speed` (include/uapi/linux/usb/ch9.h), the
 * numbering USB/IP carries on the wire. */
typedef enum ft_usb_speed {
	FT_USB_SPEED_LOW = 1,
	FT_USB_SPEED_FULL = 2,
	FT_USB_SPEED_HIGH = 3,
	FT_USB_SPEED_SUPER = 5,
} ft_usb_speed;

/* Transfer type, as bmAttributes bits 1:0 of an endpoint descriptor (USB 2.0 Table 9-13). */
typedef enum ft_usb_xfer_type {
	FT_USB_XFER_CONTROL = 0,
	FT_USB_XFER_ISOCHRONOUS = 1,
	FT_USB_XFER_BULK = 2,
	FT_USB_XFER_INTERRUPT = 3,
} ft_usb_xfer_type;

/* How a transfer ended, as the device saw it. A host maps it to its own status (USB/IP: 0,
 * -EPIPE, -EPROTO); a NAK never reaches the host's caller, the host retries instead. */
typedef enum ft_usb_status {
	FT_USB_OK = 0, /* completed; *actual bytes moved */
	FT_USB_STALL,  /* the endpoint answered STALL: a request error on EP0 (USB 2.0 §9.2.7),
	                  a halted endpoint elsewhere */
	FT_USB_NAK,    /* not ready: nothing was consumed or produced and no state changed; the
	                  host offers the same transfer again later */
	FT_USB_ERROR,  /* transaction error (CRC, bit stuffing, no handshake): the data is lost */
} ft_usb_status;

/* Stable lower-case name ("ok", "stall", "nak", "error"); never NULL. */
const char *ft_usb_status_name(ft_usb_status status);

/* The eight setup bytes of a control transfer, decoded (USB 2.0 §9.3, little-endian words).
 * Hosts pass the raw bytes to models unchanged; this is for reading them. */
typedef struct ft_usb_setup {
	uint8_t bmRequestType;
	uint8_t bRequest;
	uint16_t wValue;
	uint16_t wIndex;
	uint16_t wLength;
} ft_usb_setup;

ft_usb_setup ft_usb_setup_parse(const uint8_t raw[8]);

/* The data stage of a control transfer goes device-to-host. */
static inline int ft_usb_setup_is_in(const ft_usb_setup *setup)
{
	return (setup->bmRequestType & FT_USB_DIR_IN) != 0;
}

/* The operations of a USB device model. The host calls them only through the wrappers below,
 * one call at a time, from the thread that drives the device; the only nesting is a model's
 * own control op reaching its descriptor op through ft_usb_std_request. ctx is the model's own
 * pointer from ft_usb_device. */
typedef struct ft_usb_device_ops {
	/* Returns the descriptor of the given type and index (for strings, in language langid;
	 * other types get langid 0) and sets *len to its length, or returns NULL when the device
	 * has no such descriptor. Called by the host to describe the device (device descriptor,
	 * configuration descriptors by index 0..bNumConfigurations-1) and by ft_usb_std_request
	 * for GET_DESCRIPTOR. A configuration descriptor is returned whole, wTotalLength bytes.
	 * The bytes belong to the model and must stay valid and unchanged until the next call of
	 * any op of this device. Required. */
	const uint8_t *(*descriptor)(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
	                             size_t *len);

	/* Performs one whole control transfer on EP0. setup is the 8 raw setup bytes as the host
	 * sent them. len is the data stage length and equals wLength. For an OUT transfer data
	 * holds the len bytes the host sent; for an IN transfer the model writes at most len bytes
	 * to data. *actual is 0 on entry; the model sets it to the bytes it produced (IN) or
	 * accepted (OUT), never more than len. data is non-NULL when len > 0.
	 * Returns FT_USB_OK, FT_USB_STALL for a request the device refuses, FT_USB_NAK to be asked
	 * again later (then it must not have changed any state), or FT_USB_ERROR.
	 * A model usually hands standard requests to ft_usb_std_request (models/usb_std.h) and
	 * answers its class and vendor requests itself. Required. */
	ft_usb_status (*control)(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
	                         size_t *actual);

	/* Performs one bulk or interrupt transfer on the endpoint with address endpoint (number,
	 * with FT_USB_DIR_IN set for IN). Called only for endpoints the device's configuration
	 * descriptors declare. OUT: data holds len bytes from the host; IN: the model writes at
	 * most len bytes. *actual is 0 on entry and is set as for control. Returns FT_USB_OK,
	 * FT_USB_STALL (halted endpoint), FT_USB_NAK (no data yet, or no room: the host offers the
	 * same transfer again later, after any other transfer has completed or when its own loop
	 * turns), or FT_USB_ERROR.
	 * Optional: a device with only EP0 (a DFU function) leaves it NULL, and the wrapper
	 * answers FT_USB_STALL. */
	ft_usb_status (*transfer)(void *ctx, uint8_t endpoint, uint8_t *data, size_t len,
	                          size_t *actual);

	/* USB bus reset (USB 2.0 §7.1.7.5): the device returns to the Default state, forgets its
	 * address, configuration and alternate settings and drops anything in flight. Called when
	 * the host resets the port. Optional. */
	void (*reset)(void *ctx);
} ft_usb_device_ops;

/* A device as a host holds it. The model that returns one keeps ownership of ctx; the host
 * must stop calling the device before the model is freed. */
typedef struct ft_usb_device {
	const ft_usb_device_ops *ops;
	void *ctx;
	ft_usb_speed speed;
} ft_usb_device;

/* Wrappers: the only way hosts call a device. */

/* The descriptor, or NULL when the device has none (see ops->descriptor). */
const uint8_t *ft_usb_device_descriptor(const ft_usb_device *dev, uint8_t type, uint8_t index,
                                        uint16_t langid, size_t *len);

/* One control transfer; len must equal wLength of setup. Sets *actual (0 unless FT_USB_OK). */
ft_usb_status ft_usb_device_control(const ft_usb_device *dev, const uint8_t setup[8], uint8_t *data,
                                    size_t len, size_t *actual);

/* One bulk or interrupt transfer; FT_USB_STALL when the device has no transfer op. Sets
 * *actual (0 unless FT_USB_OK). */
ft_usb_status ft_usb_device_transfer(const ft_usb_device *dev, uint8_t endpoint, uint8_t *data,
                                     size_t len, size_t *actual);

/* Bus reset; nothing when the device has no reset op. */
void ft_usb_device_reset(const ft_usb_device *dev);

/* Descriptor walking. */

/* The descriptor starting at *pos in buf[0..len): returns it and advances *pos past it, or
 * returns NULL, leaving *pos, when *pos == len (the end) or when the descriptor there is
 * malformed (bLength < 2 or running past len). After a walk, *pos != len means malformed. */
const uint8_t *ft_usb_desc_next(const uint8_t *buf, size_t len, size_t *pos);

/* Checks what hosts and ft_usb_std_request rely on: a device descriptor of 18 bytes with a
 * valid bMaxPacketSize0 and at least one configuration; for each configuration index, a
 * descriptor whose wTotalLength equals the bytes returned, whose descriptors all fit, whose
 * interface and endpoint descriptors are long enough, whose bNumInterfaces is at most
 * FT_USB_MAX_INTERFACES and whose interface numbers are below it, each with alternate setting 0.
 * Returns FT_OK, FT_ERR_INVALID_ARG (dev or its descriptor op missing) or FT_ERR_FORMAT with
 * diag naming the descriptor and byte. */
ft_error ft_usb_device_check(const ft_usb_device *dev, ft_diag *diag);

/* Encodes text (ASCII; other bytes become '?') as a string descriptor (USB 2.0 §9.6.7,
 * UTF-16LE) into out, truncating the text to fit cap and the 255-byte descriptor limit.
 * Returns the descriptor length (at least 2 when cap >= 2, else 0). */
size_t ft_usb_string_descriptor(const char *text, uint8_t *out, size_t cap);

#endif
