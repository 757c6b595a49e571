#include "models/usb_loopback.h"
#include "models/usb_std.h"

#include <stdlib.h>
#include <string.h>

#define EP_BULK_OUT 0x01
#define EP_BULK_IN  0x81

/* USB 2.0 §9.6.1. */
static const uint8_t device_descriptor[FT_USB_DEVICE_DESC_SIZE] = {
    18,
    FT_USB_DT_DEVICE,
    0x00,
    0x02, /* bcdUSB 2.00 */
    0x00,
    0x00,
    0x00, /* class per interface */
    64,   /* bMaxPacketSize0 */
    FT_USB_LOOPBACK_VID & 0xff,
    FT_USB_LOOPBACK_VID >> 8,
    FT_USB_LOOPBACK_PID & 0xff,
    FT_USB_LOOPBACK_PID >> 8,
    0x00,
    0x01, /* bcdDevice 1.00 */
    1,
    2,
    3, /* iManufacturer, iProduct, iSerialNumber */
    1, /* bNumConfigurations */
};

/* USB 2.0 §9.6.3, §9.6.5, §9.6.6. */
static const uint8_t config_descriptor[] = {
    9,
    FT_USB_DT_CONFIG,
    50,
    0, /* wTotalLength */
    2,
    1,
    0,    /* bNumInterfaces, bConfigurationValue, iConfiguration */
    0xe0, /* self-powered, remote wakeup */
    50,   /* 100 mA */
    9,
    FT_USB_DT_INTERFACE,
    0,
    0,
    2,
    0xff,
    0x00,
    0x00,
    0,
    7,
    FT_USB_DT_ENDPOINT,
    EP_BULK_OUT,
    FT_USB_XFER_BULK,
    64,
    0,
    0,
    7,
    FT_USB_DT_ENDPOINT,
    EP_BULK_IN,
    FT_USB_XFER_BULK,
    64,
    0,
    0,
    9,
    FT_USB_DT_INTERFACE,
    0,
    1,
    0,
    0xff,
    0x00,
    0x00,
    0,
    9,
    FT_USB_DT_INTERFACE,
    1,
    0,
    0,
    0xff,
    0x42,
    0x01,
    0,
};

static const char *const strings[] = {NULL, "flashtwin", "loopback", "0001"};

struct ft_usb_loopback {
	ft_usb_std_state std;
	unsigned resets;
	uint8_t ep0[FT_USB_LOOPBACK_EP0_SIZE];
	size_t ep0_len;
	uint8_t fifo[FT_USB_LOOPBACK_FIFO_SIZE];
	size_t fifo_len;
	uint8_t string_scratch[64];
};

static const uint8_t *lb_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                    size_t *len)
{
	ft_usb_loopback *lb = ctx;
	(void)langid; /* one language, answered for any */
	switch (type) {
	case FT_USB_DT_DEVICE:
		*len = sizeof(device_descriptor);
		return index == 0 ? device_descriptor : NULL;
	case FT_USB_DT_CONFIG:
		*len = sizeof(config_descriptor);
		return index == 0 ? config_descriptor : NULL;
	case FT_USB_DT_STRING:
		if (index == 0) {
			/* USB 2.0 §9.6.7: string 0 lists the language IDs; 0x0409 English (US). */
			static const uint8_t langids[] = {4, FT_USB_DT_STRING, 0x09, 0x04};
			*len = sizeof(langids);
			return langids;
		}
		if (index >= sizeof(strings) / sizeof(strings[0]))
			return NULL;
		*len = ft_usb_string_descriptor(strings[index], lb->string_scratch,
		                                sizeof(lb->string_scratch));
		return lb->string_scratch;
	default: return NULL;
	}
}

static ft_usb_status vendor_request(ft_usb_loopback *lb, const ft_usb_setup *s, uint8_t *data,
                                    size_t len, size_t *actual)
{
	bool in = ft_usb_setup_is_in(s);
	switch (s->bRequest) {
	case FT_USB_LOOPBACK_WRITE:
		if (in || len > sizeof(lb->ep0))
			return FT_USB_STALL;
		if (len)
			memcpy(lb->ep0, data, len);
		lb->ep0_len = len;
		*actual = len;
		return FT_USB_OK;
	case FT_USB_LOOPBACK_READ:
		if (!in)
			return FT_USB_STALL;
		*actual = lb->ep0_len < len ? lb->ep0_len : len;
		if (*actual)
			memcpy(data, lb->ep0, *actual);
		return FT_USB_OK;
	case FT_USB_LOOPBACK_STALL: return FT_USB_STALL;
	case FT_USB_LOOPBACK_ERROR: return FT_USB_ERROR;
	case FT_USB_LOOPBACK_WAIT:
		if (!in || len < 2)
			return FT_USB_STALL;
		if (lb->fifo_len == 0)
			return FT_USB_NAK;
		data[0] = (uint8_t)lb->fifo_len;
		data[1] = (uint8_t)(lb->fifo_len >> 8);
		*actual = 2;
		return FT_USB_OK;
	default: return FT_USB_STALL;
	}
}

static ft_usb_status lb_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                size_t *actual)
{
	ft_usb_loopback *lb = ctx;
	ft_usb_setup s = ft_usb_setup_parse(setup);
	switch (s.bmRequestType & FT_USB_TYPE_MASK) {
	case FT_USB_TYPE_STANDARD: {
		ft_usb_device dev = ft_usb_loopback_device(lb);
		return ft_usb_std_request(&dev, &lb->std, setup, data, len, actual);
	}
	case FT_USB_TYPE_VENDOR:
		if ((s.bmRequestType & FT_USB_RECIP_MASK) != FT_USB_RECIP_DEVICE)
			return FT_USB_STALL;
		return vendor_request(lb, &s, data, len, actual);
	default: return FT_USB_STALL;
	}
}

static ft_usb_status lb_transfer(void *ctx, uint8_t endpoint, uint8_t *data, size_t len,
                                 size_t *actual)
{
	ft_usb_loopback *lb = ctx;
	if (lb->std.configuration != 1 || lb->std.alt_setting[0] != 0 ||
	    ft_usb_std_halted(&lb->std, endpoint))
		return FT_USB_STALL;
	switch (endpoint) {
	case EP_BULK_OUT:
		if (len > sizeof(lb->fifo))
			return FT_USB_STALL;
		if (len > sizeof(lb->fifo) - lb->fifo_len)
			return FT_USB_NAK;
		if (len)
			memcpy(lb->fifo + lb->fifo_len, data, len);
		lb->fifo_len += len;
		*actual = len;
		return FT_USB_OK;
	case EP_BULK_IN:
		if (lb->fifo_len == 0)
			return FT_USB_NAK;
		*actual = lb->fifo_len < len ? lb->fifo_len : len;
		memcpy(data, lb->fifo, *actual);
		memmove(lb->fifo, lb->fifo + *actual, lb->fifo_len - *actual);
		lb->fifo_len -= *actual;
		return FT_USB_OK;
	default: return FT_USB_STALL;
	}
}

static void lb_reset(void *ctx)
{
	ft_usb_loopback *lb = ctx;
	ft_usb_std_reset(&lb->std);
	lb->ep0_len = 0;
	lb->fifo_len = 0;
	lb->resets++;
}

static const ft_usb_device_ops loopback_ops = {
    .descriptor = lb_descriptor,
    .control = lb_control,
    .transfer = lb_transfer,
    .reset = lb_reset,
};

ft_usb_loopback *ft_usb_loopback_new(void)
{
	return calloc(1, sizeof(ft_usb_loopback));
}

void ft_usb_loopback_free(ft_usb_loopback *lb)
{
	free(lb);
}

ft_usb_device ft_usb_loopback_device(ft_usb_loopback *lb)
{
	ft_usb_device dev = {.ops = &loopback_ops, .ctx = lb, .speed = FT_USB_SPEED_FULL};
	return dev;
}

unsigned ft_usb_loopback_resets(const ft_usb_loopback *lb)
{
	return lb->resets;
}
