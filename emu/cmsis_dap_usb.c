/* The CMSIS-DAP probe as a USB HID device (cmsis_dap_usb.h). */
#include "emu/cmsis_dap_usb.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "emu/cmsis_dap.h"
#include "models/usb_std.h"

#define EP_OUT 0x01
#define EP_IN  0x81
#define REPORT FT_CMSIS_DAP_PACKET

/* HID 1.11: descriptor types (§7.1), class requests (§7.2). */
#define DT_HID        0x21
#define DT_REPORT     0x22
#define HID_SET_IDLE  0x0A
#define HID_SET_PROTO 0x0B
#define HID_DESC_SIZE 9

/* HID 1.11 §6.2.2 items: a vendor-defined collection of one 64-byte input report, one 64-byte
 * output report and a 1-byte feature report, 8-bit values 0..255. */
static const uint8_t report_descriptor[] = {
    0x06, 0x00,   0xFF, /* Usage Page (vendor 0xFF00) */
    0x09, 0x01,         /* Usage (1) */
    0xA1, 0x01,         /* Collection (Application) */
    0x15, 0x00,         /* Logical Minimum (0) */
    0x26, 0xFF,   0x00, /* Logical Maximum (255) */
    0x75, 0x08,         /* Report Size (8) */
    0x95, REPORT,       /* Report Count (64) */
    0x09, 0x01,         /* Usage (1) */
    0x81, 0x02,         /* Input (Data, Var, Abs) */
    0x95, REPORT,       /* Report Count (64) */
    0x09, 0x01,         /* Usage (1) */
    0x91, 0x02,         /* Output (Data, Var, Abs) */
    0x95, 0x01,         /* Report Count (1) */
    0x09, 0x01,         /* Usage (1) */
    0xB1, 0x02,         /* Feature (Data, Var, Abs) */
    0xC0,               /* End Collection */
};

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
    FT_CMSIS_DAP_USB_VID & 0xff,
    FT_CMSIS_DAP_USB_VID >> 8,
    FT_CMSIS_DAP_USB_PID & 0xff,
    FT_CMSIS_DAP_USB_PID >> 8,
    0x00,
    0x01, /* bcdDevice 1.00 */
    1,
    2,
    3, /* iManufacturer, iProduct, iSerialNumber */
    1, /* bNumConfigurations */
};

/* USB 2.0 §9.6.3, §9.6.5, §9.6.6; the HID descriptor after the interface (HID 1.11 §6.2.1). */
#define CONFIG_SIZE (9 + 9 + HID_DESC_SIZE + 7 + 7)
static const uint8_t config_descriptor[CONFIG_SIZE] = {
    9,
    FT_USB_DT_CONFIG,
    CONFIG_SIZE,
    0, /* wTotalLength */
    1,
    1,
    0, /* bNumInterfaces, bConfigurationValue, iConfiguration */
    0x80,
    50, /* bus-powered, 100 mA */
    9,
    FT_USB_DT_INTERFACE,
    0,
    0,
    2, /* interface 0 alt 0, 2 endpoints */
    0x03,
    0x00,
    0x00,
    0, /* HID, no subclass, no protocol */
    HID_DESC_SIZE,
    DT_HID,
    0x11,
    0x01, /* bcdHID 1.11 */
    0,
    1,
    DT_REPORT,
    sizeof(report_descriptor),
    0,
    7,
    FT_USB_DT_ENDPOINT,
    EP_OUT,
    FT_USB_XFER_INTERRUPT,
    REPORT,
    0,
    1,
    7,
    FT_USB_DT_ENDPOINT,
    EP_IN,
    FT_USB_XFER_INTERRUPT,
    REPORT,
    0,
    1,
};
#define HID_DESC_OFFSET 18

struct ft_cmsis_dap_usb {
	ft_usb_std_state std;
	ft_cmsis_dap *dap;
	char serial[33];
	uint8_t resp[REPORT];
	bool resp_ready;
	unsigned refused;
	ft_diag last_refused;
	uint8_t string_scratch[80];
};

static const uint8_t *du_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                    size_t *len)
{
	ft_cmsis_dap_usb *u = ctx;
	(void)langid; /* one language, answered for any */
	static const char *const strings[] = {NULL, "flashtwin", "flashtwin CMSIS-DAP"};
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
		if (index > 3)
			return NULL;
		*len = ft_usb_string_descriptor(index == 3 ? u->serial : strings[index],
		                                u->string_scratch, sizeof(u->string_scratch));
		return u->string_scratch;
	default: return NULL;
	}
}

/* GET_DESCRIPTOR to interface 0: its HID or report descriptor (HID 1.11 §7.1.1). */
static ft_usb_status interface_descriptor(const ft_usb_setup *s, uint8_t *data, size_t len,
                                          size_t *actual)
{
	const uint8_t *d;
	size_t n;
	if (s->wIndex != 0 || !ft_usb_setup_is_in(s))
		return FT_USB_STALL;
	switch (s->wValue >> 8) {
	case DT_HID: d = config_descriptor + HID_DESC_OFFSET, n = HID_DESC_SIZE; break;
	case DT_REPORT: d = report_descriptor, n = sizeof(report_descriptor); break;
	default: return FT_USB_STALL;
	}
	*actual = n < len ? n : len;
	memcpy(data, d, *actual);
	return FT_USB_OK;
}

static ft_usb_status du_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                size_t *actual)
{
	ft_cmsis_dap_usb *u = ctx;
	ft_usb_setup s = ft_usb_setup_parse(setup);
	unsigned recipient = s.bmRequestType & FT_USB_RECIP_MASK;
	switch (s.bmRequestType & FT_USB_TYPE_MASK) {
	case FT_USB_TYPE_STANDARD:
		if (recipient == FT_USB_RECIP_INTERFACE && s.bRequest == FT_USB_REQ_GET_DESCRIPTOR)
			return interface_descriptor(&s, data, len, actual);
		ft_usb_device dev = ft_cmsis_dap_usb_device(u);
		return ft_usb_std_request(&dev, &u->std, setup, data, len, actual);
	case FT_USB_TYPE_CLASS:
		if (recipient != FT_USB_RECIP_INTERFACE || s.wIndex != 0 ||
		    ft_usb_setup_is_in(&s) || len != 0)
			return FT_USB_STALL;
		return s.bRequest == HID_SET_IDLE || s.bRequest == HID_SET_PROTO ? FT_USB_OK
		                                                                 : FT_USB_STALL;
	default: return FT_USB_STALL;
	}
}

static ft_usb_status du_transfer(void *ctx, uint8_t endpoint, uint8_t *data, size_t len,
                                 size_t *actual)
{
	ft_cmsis_dap_usb *u = ctx;
	if (u->std.configuration != 1 || ft_usb_std_halted(&u->std, endpoint))
		return FT_USB_STALL;
	if (endpoint == EP_IN) {
		if (!u->resp_ready)
			return FT_USB_NAK;
		*actual = len < REPORT ? len : REPORT;
		memcpy(data, u->resp, *actual);
		u->resp_ready = false;
		return FT_USB_OK;
	}
	if (u->resp_ready)
		return FT_USB_NAK;
	if (len == 0 || len > REPORT)
		return FT_USB_STALL;
	size_t resp_len = 0;
	ft_diag diag;
	ft_diag_clear(&diag);
	memset(u->resp, 0, sizeof(u->resp));
	if (ft_cmsis_dap_command(u->dap, data, len, u->resp, &resp_len, &diag) != FT_OK) {
		u->refused++;
		u->last_refused = diag;
		return FT_USB_STALL;
	}
	u->resp_ready = resp_len > 0;
	*actual = len;
	return FT_USB_OK;
}

static void du_reset(void *ctx)
{
	ft_cmsis_dap_usb *u = ctx;
	ft_usb_std_reset(&u->std);
	u->resp_ready = false;
}

static const ft_usb_device_ops cmsis_dap_usb_ops = {
    .descriptor = du_descriptor,
    .control = du_control,
    .transfer = du_transfer,
    .reset = du_reset,
};

ft_cmsis_dap_usb *ft_cmsis_dap_usb_new(const ft_dap_target *target, const char *serial)
{
	ft_cmsis_dap_usb *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->dap = ft_cmsis_dap_new(target, serial);
	if (!u->dap) {
		free(u);
		return NULL;
	}
	strncpy(u->serial, serial, sizeof(u->serial) - 1);
	return u;
}

void ft_cmsis_dap_usb_free(ft_cmsis_dap_usb *u)
{
	if (u)
		ft_cmsis_dap_free(u->dap);
	free(u);
}

ft_usb_device ft_cmsis_dap_usb_device(ft_cmsis_dap_usb *u)
{
	ft_usb_device dev = {.ops = &cmsis_dap_usb_ops, .ctx = u, .speed = FT_USB_SPEED_FULL};
	return dev;
}

unsigned ft_cmsis_dap_usb_refused(const ft_cmsis_dap_usb *u, ft_diag *last)
{
	if (last)
		*last = u->last_refused;
	return u->refused;
}

unsigned ft_cmsis_dap_usb_target_errors(const ft_cmsis_dap_usb *u, ft_diag *last)
{
	return ft_cmsis_dap_target_errors(u->dap, last);
}
