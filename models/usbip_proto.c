#include "models/usbip_proto.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Two's complement reinterpretation, defined for every value (a cast is implementation-defined
 * above INT32_MAX). */
static int32_t as_s32(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - 0x80000000u) - INT32_MAX - 1;
}

/* A C string into a fixed, NUL-padded field, always leaving a final NUL. */
static void put_string(uint8_t *field, size_t size, const char *s)
{
	memset(field, 0, size);
	size_t n = strnlen(s, size - 1);
	memcpy(field, s, n);
}

/* A NUL-padded field into a C string of size + 1 bytes. */
static void get_string(char *s, const uint8_t *field, size_t size)
{
	size_t n = strnlen((const char *)field, size);
	memcpy(s, field, n);
	s[n] = '\0';
}

const char *ft_usbip_op_status_name(uint32_t status)
{
	switch (status) {
	case FT_USBIP_ST_OK: return "ST_OK";
	case FT_USBIP_ST_NA: return "ST_NA";
	case FT_USBIP_ST_DEV_BUSY: return "ST_DEV_BUSY";
	case FT_USBIP_ST_DEV_ERR: return "ST_DEV_ERR";
	case FT_USBIP_ST_NODEV: return "ST_NODEV";
	case FT_USBIP_ST_ERROR: return "ST_ERROR";
	}
	return "unknown";
}

size_t ft_usbip_op_header_encode(uint16_t code, uint32_t status, uint8_t *out)
{
	put16(out, FT_USBIP_VERSION);
	put16(out + 2, code);
	put32(out + 4, status);
	return FT_USBIP_OP_HEADER_SIZE;
}

size_t ft_usbip_import_request_encode(const char *busid, uint8_t *out)
{
	ft_usbip_op_header_encode(FT_USBIP_OP_REQ_IMPORT, 0, out);
	put_string(out + FT_USBIP_OP_HEADER_SIZE, FT_USBIP_BUSID_SIZE, busid);
	return FT_USBIP_IMPORT_REQUEST_SIZE;
}

size_t ft_usbip_devlist_reply_encode(uint32_t count, uint8_t *out)
{
	ft_usbip_op_header_encode(FT_USBIP_OP_REP_DEVLIST, FT_USBIP_ST_OK, out);
	put32(out + FT_USBIP_OP_HEADER_SIZE, count);
	return FT_USBIP_DEVLIST_REPLY_SIZE;
}

/* struct usbip_usb_device field offsets. */
enum {
	DEV_PATH = 0,
	DEV_BUSID = 256,
	DEV_BUSNUM = 288,
	DEV_DEVNUM = 292,
	DEV_SPEED = 296,
	DEV_ID_VENDOR = 300,
	DEV_ID_PRODUCT = 302,
	DEV_BCD_DEVICE = 304,
	DEV_CLASS = 306,
	DEV_SUBCLASS = 307,
	DEV_PROTOCOL = 308,
	DEV_CONFIGURATION_VALUE = 309,
	DEV_NUM_CONFIGURATIONS = 310,
	DEV_NUM_INTERFACES = 311,
};

size_t ft_usbip_device_encode(const ft_usbip_device *dev, uint8_t *out)
{
	put_string(out + DEV_PATH, FT_USBIP_PATH_SIZE, dev->path);
	put_string(out + DEV_BUSID, FT_USBIP_BUSID_SIZE, dev->busid);
	put32(out + DEV_BUSNUM, dev->busnum);
	put32(out + DEV_DEVNUM, dev->devnum);
	put32(out + DEV_SPEED, dev->speed);
	put16(out + DEV_ID_VENDOR, dev->idVendor);
	put16(out + DEV_ID_PRODUCT, dev->idProduct);
	put16(out + DEV_BCD_DEVICE, dev->bcdDevice);
	out[DEV_CLASS] = dev->bDeviceClass;
	out[DEV_SUBCLASS] = dev->bDeviceSubClass;
	out[DEV_PROTOCOL] = dev->bDeviceProtocol;
	out[DEV_CONFIGURATION_VALUE] = dev->bConfigurationValue;
	out[DEV_NUM_CONFIGURATIONS] = dev->bNumConfigurations;
	out[DEV_NUM_INTERFACES] = dev->bNumInterfaces;
	return FT_USBIP_DEVICE_SIZE;
}

size_t ft_usbip_interface_encode(const ft_usbip_interface *intf, uint8_t *out)
{
	out[0] = intf->bInterfaceClass;
	out[1] = intf->bInterfaceSubClass;
	out[2] = intf->bInterfaceProtocol;
	out[3] = 0;
	return FT_USBIP_INTERFACE_SIZE;
}

size_t ft_usbip_urb_header_encode(const ft_usbip_urb_header *hdr, uint8_t *out)
{
	memset(out, 0, FT_USBIP_URB_HEADER_SIZE);
	put32(out, hdr->command);
	put32(out + 4, hdr->seqnum);
	put32(out + 8, hdr->devid);
	put32(out + 12, hdr->direction);
	put32(out + 16, hdr->ep);
	uint8_t *body = out + 20;
	switch (hdr->command) {
	case FT_USBIP_CMD_SUBMIT:
		put32(body, hdr->u.cmd_submit.transfer_flags);
		put32(body + 4, hdr->u.cmd_submit.transfer_buffer_length);
		put32(body + 8, (uint32_t)hdr->u.cmd_submit.start_frame);
		put32(body + 12, (uint32_t)hdr->u.cmd_submit.number_of_packets);
		put32(body + 16, (uint32_t)hdr->u.cmd_submit.interval);
		memcpy(body + 20, hdr->u.cmd_submit.setup, 8);
		break;
	case FT_USBIP_RET_SUBMIT:
		put32(body, (uint32_t)hdr->u.ret_submit.status);
		put32(body + 4, hdr->u.ret_submit.actual_length);
		put32(body + 8, (uint32_t)hdr->u.ret_submit.start_frame);
		put32(body + 12, (uint32_t)hdr->u.ret_submit.number_of_packets);
		put32(body + 16, (uint32_t)hdr->u.ret_submit.error_count);
		break;
	case FT_USBIP_CMD_UNLINK: put32(body, hdr->u.cmd_unlink.seqnum); break;
	case FT_USBIP_RET_UNLINK: put32(body, (uint32_t)hdr->u.ret_unlink.status); break;
	default: assert(!"unknown USB/IP command to encode");
	}
	return FT_USBIP_URB_HEADER_SIZE;
}

ft_error ft_usbip_op_header_decode(const uint8_t *buf, size_t len, ft_usbip_op_header *out)
{
	if (len < FT_USBIP_OP_HEADER_SIZE)
		return FT_ERR_RANGE;
	out->version = get16(buf);
	out->code = get16(buf + 2);
	out->status = get32(buf + 4);
	return FT_OK;
}

ft_error ft_usbip_import_busid_decode(const uint8_t *buf, size_t len,
                                      char busid[FT_USBIP_BUSID_SIZE + 1], ft_diag *diag)
{
	if (len < FT_USBIP_BUSID_SIZE)
		return FT_ERR_RANGE;
	if (strnlen((const char *)buf, FT_USBIP_BUSID_SIZE) == FT_USBIP_BUSID_SIZE)
		return ft_diag_set(diag, FT_ERR_FORMAT, NULL,
		                   "busid is not NUL-terminated within %d bytes",
		                   FT_USBIP_BUSID_SIZE);
	get_string(busid, buf, FT_USBIP_BUSID_SIZE);
	return FT_OK;
}

ft_error ft_usbip_device_decode(const uint8_t *buf, size_t len, ft_usbip_device *out)
{
	if (len < FT_USBIP_DEVICE_SIZE)
		return FT_ERR_RANGE;
	memset(out, 0, sizeof(*out));
	get_string(out->path, buf + DEV_PATH, FT_USBIP_PATH_SIZE);
	get_string(out->busid, buf + DEV_BUSID, FT_USBIP_BUSID_SIZE);
	out->busnum = get32(buf + DEV_BUSNUM);
	out->devnum = get32(buf + DEV_DEVNUM);
	out->speed = get32(buf + DEV_SPEED);
	out->idVendor = get16(buf + DEV_ID_VENDOR);
	out->idProduct = get16(buf + DEV_ID_PRODUCT);
	out->bcdDevice = get16(buf + DEV_BCD_DEVICE);
	out->bDeviceClass = buf[DEV_CLASS];
	out->bDeviceSubClass = buf[DEV_SUBCLASS];
	out->bDeviceProtocol = buf[DEV_PROTOCOL];
	out->bConfigurationValue = buf[DEV_CONFIGURATION_VALUE];
	out->bNumConfigurations = buf[DEV_NUM_CONFIGURATIONS];
	out->bNumInterfaces = buf[DEV_NUM_INTERFACES];
	return FT_OK;
}

ft_error ft_usbip_interface_decode(const uint8_t *buf, size_t len, ft_usbip_interface *out)
{
	if (len < FT_USBIP_INTERFACE_SIZE)
		return FT_ERR_RANGE;
	out->bInterfaceClass = buf[0];
	out->bInterfaceSubClass = buf[1];
	out->bInterfaceProtocol = buf[2];
	return FT_OK;
}

ft_error ft_usbip_devlist_count_decode(const uint8_t *buf, size_t len, uint32_t *count)
{
	if (len < FT_USBIP_DEVLIST_COUNT_SIZE)
		return FT_ERR_RANGE;
	*count = get32(buf);
	return FT_OK;
}

ft_error ft_usbip_devlist_interfaces_decode(const uint8_t *buf, size_t len, ft_usbip_device *dev)
{
	size_t count = dev->bNumInterfaces;
	if (len < count * FT_USBIP_INTERFACE_SIZE)
		return FT_ERR_RANGE;
	for (size_t i = 0; i < count && i < FT_USB_MAX_INTERFACES; i++)
		ft_usbip_interface_decode(buf + i * FT_USBIP_INTERFACE_SIZE,
		                          FT_USBIP_INTERFACE_SIZE, &dev->interfaces[i]);
	return FT_OK;
}

ft_error ft_usbip_urb_header_decode(const uint8_t *buf, size_t len, ft_usbip_urb_header *out,
                                    ft_diag *diag)
{
	if (len < FT_USBIP_URB_HEADER_SIZE)
		return FT_ERR_RANGE;
	memset(out, 0, sizeof(*out));
	out->command = get32(buf);
	out->seqnum = get32(buf + 4);
	out->devid = get32(buf + 8);
	out->direction = get32(buf + 12);
	out->ep = get32(buf + 16);
	const uint8_t *body = buf + 20;
	switch (out->command) {
	case FT_USBIP_CMD_SUBMIT:
		out->u.cmd_submit.transfer_flags = get32(body);
		out->u.cmd_submit.transfer_buffer_length = get32(body + 4);
		out->u.cmd_submit.start_frame = as_s32(get32(body + 8));
		out->u.cmd_submit.number_of_packets = as_s32(get32(body + 12));
		out->u.cmd_submit.interval = as_s32(get32(body + 16));
		memcpy(out->u.cmd_submit.setup, body + 20, 8);
		return FT_OK;
	case FT_USBIP_RET_SUBMIT:
		out->u.ret_submit.status = as_s32(get32(body));
		out->u.ret_submit.actual_length = get32(body + 4);
		out->u.ret_submit.start_frame = as_s32(get32(body + 8));
		out->u.ret_submit.number_of_packets = as_s32(get32(body + 12));
		out->u.ret_submit.error_count = as_s32(get32(body + 16));
		return FT_OK;
	case FT_USBIP_CMD_UNLINK: out->u.cmd_unlink.seqnum = get32(body); return FT_OK;
	case FT_USBIP_RET_UNLINK: out->u.ret_unlink.status = as_s32(get32(body)); return FT_OK;
	default:
		return ft_diag_set(diag, FT_ERR_FORMAT, NULL, "unknown command 0x%08x",
		                   out->command);
	}
}

void ft_usbip_device_describe(const ft_usb_device *dev, const char *path, const char *busid,
                              uint32_t busnum, uint32_t devnum, ft_usbip_device *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->busid, sizeof(out->busid), "%s", busid);
	out->busnum = busnum;
	out->devnum = devnum;
	out->speed = dev->speed;

	size_t len;
	const uint8_t *d = ft_usb_device_descriptor(dev, FT_USB_DT_DEVICE, 0, 0, &len);
	assert(d && len == FT_USB_DEVICE_DESC_SIZE);
	/* USB 2.0 §9.6.1 offsets; little-endian words. */
	out->bDeviceClass = d[4];
	out->bDeviceSubClass = d[5];
	out->bDeviceProtocol = d[6];
	out->idVendor = (uint16_t)(d[8] | d[9] << 8);
	out->idProduct = (uint16_t)(d[10] | d[11] << 8);
	out->bcdDevice = (uint16_t)(d[12] | d[13] << 8);
	out->bNumConfigurations = d[17];

	const uint8_t *cfg = ft_usb_device_descriptor(dev, FT_USB_DT_CONFIG, 0, 0, &len);
	assert(cfg && len >= FT_USB_CONFIG_DESC_SIZE);
	out->bNumInterfaces = cfg[4];
	out->bConfigurationValue = cfg[5];
	size_t pos = 0;
	const uint8_t *desc;
	while ((desc = ft_usb_desc_next(cfg, len, &pos))) {
		if (desc[1] != FT_USB_DT_INTERFACE || desc[0] < FT_USB_INTERFACE_DESC_SIZE ||
		    desc[3] != 0 || desc[2] >= FT_USB_MAX_INTERFACES)
			continue;
		out->interfaces[desc[2]].bInterfaceClass = desc[5];
		out->interfaces[desc[2]].bInterfaceSubClass = desc[6];
		out->interfaces[desc[2]].bInterfaceProtocol = desc[7];
	}
}
