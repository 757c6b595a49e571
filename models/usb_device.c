#include "models/usb_device.h"

#include <assert.h>
#include <stdio.h>

const char *ft_usb_status_name(ft_usb_status status)
{
	switch (status) {
	case FT_USB_OK: return "ok";
	case FT_USB_STALL: return "stall";
	case FT_USB_NAK: return "nak";
	case FT_USB_ERROR: return "error";
	}
	return "unknown";
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

ft_usb_setup ft_usb_setup_parse(const uint8_t raw[8])
{
	ft_usb_setup s = {
	    .bmRequestType = raw[0],
	    .bRequest = raw[1],
	    .wValue = le16(&raw[2]),
	    .wIndex = le16(&raw[4]),
	    .wLength = le16(&raw[6]),
	};
	return s;
}

const uint8_t *ft_usb_device_descriptor(const ft_usb_device *dev, uint8_t type, uint8_t index,
                                        uint16_t langid, size_t *len)
{
	*len = 0;
	const uint8_t *desc = dev->ops->descriptor(dev->ctx, type, index, langid, len);
	if (!desc)
		*len = 0;
	return desc;
}

/* The model contract: a completed transfer moved at most len bytes, anything else moved none. */
static ft_usb_status checked_result(ft_usb_status status, size_t len, size_t *actual)
{
	if (status != FT_USB_OK)
		*actual = 0;
	assert(*actual <= len);
	(void)len; /* read only by the assert */
	return status;
}

ft_usb_status ft_usb_device_control(const ft_usb_device *dev, const uint8_t setup[8], uint8_t *data,
                                    size_t len, size_t *actual)
{
	assert(len == ft_usb_setup_parse(setup).wLength);
	*actual = 0;
	ft_usb_status status = dev->ops->control(dev->ctx, setup, data, len, actual);
	return checked_result(status, len, actual);
}

ft_usb_status ft_usb_device_transfer(const ft_usb_device *dev, uint8_t endpoint, uint8_t *data,
                                     size_t len, size_t *actual)
{
	*actual = 0;
	if (!dev->ops->transfer)
		return FT_USB_STALL;
	ft_usb_status status = dev->ops->transfer(dev->ctx, endpoint, data, len, actual);
	return checked_result(status, len, actual);
}

void ft_usb_device_reset(const ft_usb_device *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev->ctx);
}

const uint8_t *ft_usb_desc_next(const uint8_t *buf, size_t len, size_t *pos)
{
	if (*pos >= len || len - *pos < 2)
		return NULL;
	const uint8_t *desc = buf + *pos;
	if (desc[0] < 2 || desc[0] > len - *pos)
		return NULL;
	*pos += desc[0];
	return desc;
}

static ft_error check_config(const ft_usb_device *dev, uint8_t index, ft_diag *diag)
{
	char origin[64];
	snprintf(origin, sizeof(origin), "configuration descriptor %u", index);
	size_t len;
	const uint8_t *cfg = ft_usb_device_descriptor(dev, FT_USB_DT_CONFIG, index, 0, &len);
	if (!cfg)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "missing");
	if (len < FT_USB_CONFIG_DESC_SIZE || cfg[0] != FT_USB_CONFIG_DESC_SIZE ||
	    cfg[1] != FT_USB_DT_CONFIG)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "header is not a 9-byte configuration descriptor");
	if (le16(&cfg[2]) != len)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "wTotalLength %u but %zu bytes returned", le16(&cfg[2]), len);
	unsigned num_interfaces = cfg[4];
	if (num_interfaces > FT_USB_MAX_INTERFACES)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "bNumInterfaces %u exceeds %d",
		                   num_interfaces, FT_USB_MAX_INTERFACES);
	uint32_t has_alt0 = 0;
	size_t pos = 0;
	const uint8_t *desc;
	while ((desc = ft_usb_desc_next(cfg, len, &pos))) {
		size_t at = pos - desc[0];
		if (desc[1] == FT_USB_DT_INTERFACE) {
			if (desc[0] < FT_USB_INTERFACE_DESC_SIZE)
				return ft_diag_set(diag, FT_ERR_FORMAT, origin,
				                   "interface descriptor at byte %zu is %u bytes",
				                   at, desc[0]);
			if (desc[2] >= num_interfaces)
				return ft_diag_set(diag, FT_ERR_FORMAT, origin,
				                   "interface %u at byte %zu, bNumInterfaces %u",
				                   desc[2], at, num_interfaces);
			if (desc[3] == 0)
				has_alt0 |= 1u << desc[2];
		} else if (desc[1] == FT_USB_DT_ENDPOINT) {
			if (desc[0] < FT_USB_ENDPOINT_DESC_SIZE || (desc[2] & 0x0f) == 0)
				return ft_diag_set(diag, FT_ERR_FORMAT, origin,
				                   "endpoint descriptor at byte %zu is malformed",
				                   at);
		}
	}
	if (pos != len)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "descriptor at byte %zu overruns",
		                   pos);
	for (unsigned i = 0; i < num_interfaces; i++)
		if (!(has_alt0 & 1u << i))
			return ft_diag_set(diag, FT_ERR_FORMAT, origin,
			                   "interface %u has no alternate setting 0", i);
	return FT_OK;
}

ft_error ft_usb_device_check(const ft_usb_device *dev, ft_diag *diag)
{
	if (!dev || !dev->ops || !dev->ops->descriptor || !dev->ops->control)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "USB device without descriptor or control op");
	size_t len;
	const uint8_t *d = ft_usb_device_descriptor(dev, FT_USB_DT_DEVICE, 0, 0, &len);
	if (!d || len != FT_USB_DEVICE_DESC_SIZE || d[0] != FT_USB_DEVICE_DESC_SIZE ||
	    d[1] != FT_USB_DT_DEVICE)
		return ft_diag_set(diag, FT_ERR_FORMAT, "device descriptor",
		                   "not an 18-byte device descriptor");
	/* USB 2.0 §9.6.1: bMaxPacketSize0 is 8, 16, 32 or 64. */
	if (d[7] != 8 && d[7] != 16 && d[7] != 32 && d[7] != 64)
		return ft_diag_set(diag, FT_ERR_FORMAT, "device descriptor", "bMaxPacketSize0 %u",
		                   d[7]);
	unsigned num_configs = d[17];
	if (num_configs == 0)
		return ft_diag_set(diag, FT_ERR_FORMAT, "device descriptor",
		                   "bNumConfigurations 0");
	for (unsigned i = 0; i < num_configs; i++) {
		ft_error err = check_config(dev, (uint8_t)i, diag);
		if (err != FT_OK)
			return err;
	}
	return FT_OK;
}

size_t ft_usb_string_descriptor(const char *text, uint8_t *out, size_t cap)
{
	if (cap < 2)
		return 0;
	if (cap > 255)
		cap = 255;
	size_t n = 0;
	while (text[n] && 2 + 2 * (n + 1) <= cap) {
		unsigned char c = (unsigned char)text[n];
		out[2 + 2 * n] = c < 0x80 ? c : '?';
		out[3 + 2 * n] = 0;
		n++;
	}
	out[0] = (uint8_t)(2 + 2 * n);
	out[1] = FT_USB_DT_STRING;
	return 2 + 2 * n;
}
