/* A loopback USB device: the smallest complete ft_usb_device model, for testing USB hosts (the
 * USB/IP server, the programmer's transports) without a DFU model behind them.
 *
 * Identity: VID 0x1209 PID 0x0001 (pid.codes test PID), full speed, one configuration (value 1,
 * self-powered, remote wakeup) with two vendor-class interfaces:
 *   interface 0 alt 0: bulk OUT 0x01 and bulk IN 0x81, 64-byte packets
 *   interface 0 alt 1: no endpoints
 *   interface 1 alt 0: class/subclass/protocol 0xff/0x42/0x01, no endpoints
 * Strings: 1 "flashtwin", 2 "loopback", 3 "0001".
 *
 * Behaviour:
 *   - standard requests through ft_usb_std_request;
 *   - vendor requests to the device (bmRequestType 0x40/0xc0), see enum ft_usb_loopback_request;
 *   - bulk OUT appends to a FIFO of FT_USB_LOOPBACK_FIFO_SIZE bytes (NAK when the data does not
 *     fit yet, STALL when it never can); bulk IN takes from it (NAK while it is empty), so an IN
 *     transfer stays pending until OUT data arrives; both STALL while halted, unconfigured or
 *     with interface 0 in alternate setting 1;
 *   - bus reset empties the FIFO and the EP0 buffer and returns to the Default state.
 * Not thread-safe; one host drives it.
 */
#ifndef FT_USB_LOOPBACK_H
#define FT_USB_LOOPBACK_H

#include "models/usb_device.h"

#define FT_USB_LOOPBACK_VID       0x1209
#define FT_USB_LOOPBACK_PID       0x0001
#define FT_USB_LOOPBACK_FIFO_SIZE 4096
#define FT_USB_LOOPBACK_EP0_SIZE  256

/* Vendor requests (bRequest) to the device. */
enum ft_usb_loopback_request {
	FT_USB_LOOPBACK_WRITE = 0x01, /* OUT: store up to EP0_SIZE bytes in the EP0 buffer */
	FT_USB_LOOPBACK_READ = 0x02,  /* IN: the EP0 buffer, truncated to wLength */
	FT_USB_LOOPBACK_STALL = 0x03, /* always STALL */
	FT_USB_LOOPBACK_ERROR = 0x04, /* always a transaction error */
	FT_USB_LOOPBACK_WAIT = 0x05,  /* IN: NAK while the FIFO is empty, then its fill (u16 LE) */
};

typedef struct ft_usb_loopback ft_usb_loopback;

/* A new device in the Default state; NULL when out of memory. */
ft_usb_loopback *ft_usb_loopback_new(void);
void ft_usb_loopback_free(ft_usb_loopback *lb);

/* The device to hand to a host; valid until ft_usb_loopback_free. */
ft_usb_device ft_usb_loopback_device(ft_usb_loopback *lb);

/* How many bus resets the device has seen. */
unsigned ft_usb_loopback_resets(const ft_usb_loopback *lb);

#endif
