/* The system bootloader's USB descriptors and strings (see dfu_descriptors.h). */
#include "models/dfu_descriptors.h"
#include "models/usb_device.h"

#include <stdio.h>
#include <stdlib.h>

/* bcdUSB 2.00: lsusb of the G0 ROM of the same generation ("DFU in FS Mode", bcdDevice 2.00);
 * the older F4 ROM reported 1.00 [U for H7]. */
#define BCD_USB            0x0200
#define EP0_SIZE           64   /* bMaxPacketSize0 in every ROM capture */
#define CONFIG_ATTRIBUTES  0xC0 /* self-powered (F4/G0 ROM lsusb) [U for H7] */
#define CONFIG_MAX_POWER   0x32 /* 100 mA (F4 ROM lsusb) [U for H7] */
#define DFU_CLASS          0xFE /* application specific */
#define DFU_SUBCLASS       0x01
#define DFU_PROTOCOL_DFU   0x02 /* DFU mode (DFU 1.1 §4.2.3) */
#define DFU_FUNCTIONAL     0x21 /* DFU functional descriptor type (DFU 1.1 §4.1.3) */
#define DFU_FUNCTIONAL_LEN 9
/* CanDnload|CanUpload|WillDetach: USBLIB USBD_DFU_BM_ATTRIBUTES [U: ROM value not captured] */
#define DFU_ATTRIBUTES      0x0B
#define DFU_DETACH_TIMEOUT  0x00FF /* ms; USBLIB USBD_DFU_DETACH_TIMEOUT [U] */
#define STRING_MANUFACTURER 1
#define STRING_PRODUCT      2
#define STRING_SERIAL       3
#define STRING_FIRST_ALT    4 /* iInterface of alternate n is 4 + n (F4 ROM lsusb) */
#define LANGID_EN_US        0x0409

#define IDCODE_RESERVED_BITS 0x6000u /* DBGMCU_IDCODE[15:12] as read on H74x, see build_serial */

#define MAX_CONFIG_LEN                                                                             \
	(FT_USB_CONFIG_DESC_SIZE + FT_MAX_DFU_ALTS * FT_USB_INTERFACE_DESC_SIZE +                  \
	 DFU_FUNCTIONAL_LEN)

struct ft_dfu_descriptors {
	const ft_bootloader_info *info;
	const char *alt_names[FT_MAX_DFU_ALTS];
	uint8_t device[FT_USB_DEVICE_DESC_SIZE];
	uint8_t config[MAX_CONFIG_LEN];
	size_t config_len;
	char serial[13];
	uint8_t scratch[2 + 2 * 127]; /* the string descriptor last asked for */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void build_device(ft_dfu_descriptors *desc)
{
	const ft_bootloader_info *info = desc->info;
	uint8_t *d = desc->device;
	d[0] = FT_USB_DEVICE_DESC_SIZE;
	d[1] = FT_USB_DT_DEVICE;
	put16(d + 2, BCD_USB);
	d[4] = d[5] = d[6] = 0; /* class per interface */
	d[7] = EP0_SIZE;
	put16(d + 8, info->vid);
	put16(d + 10, info->pid);
	put16(d + 12, info->bcd_device);
	d[14] = STRING_MANUFACTURER;
	d[15] = STRING_PRODUCT;
	d[16] = STRING_SERIAL;
	d[17] = 1; /* bNumConfigurations */
}

static void build_config(ft_dfu_descriptors *desc)
{
	const ft_bootloader_info *info = desc->info;
	uint8_t *c = desc->config;
	size_t n = FT_USB_CONFIG_DESC_SIZE;
	for (uint8_t alt = 0; alt < info->alt_count; alt++, n += FT_USB_INTERFACE_DESC_SIZE) {
		uint8_t *i = c + n;
		i[0] = FT_USB_INTERFACE_DESC_SIZE;
		i[1] = FT_USB_DT_INTERFACE;
		i[2] = 0; /* bInterfaceNumber */
		i[3] = alt;
		i[4] = 0; /* bNumEndpoints: EP0 only */
		i[5] = DFU_CLASS;
		i[6] = DFU_SUBCLASS;
		i[7] = DFU_PROTOCOL_DFU;
		i[8] = (uint8_t)(STRING_FIRST_ALT + alt);
	}
	uint8_t *f = c + n;
	f[0] = DFU_FUNCTIONAL_LEN;
	f[1] = DFU_FUNCTIONAL;
	f[2] = DFU_ATTRIBUTES;
	put16(f + 3, DFU_DETACH_TIMEOUT);
	put16(f + 5, info->transfer_size);
	put16(f + 7, info->bcd_dfu);
	n += DFU_FUNCTIONAL_LEN;
	c[0] = FT_USB_CONFIG_DESC_SIZE;
	c[1] = FT_USB_DT_CONFIG;
	put16(c + 2, (uint16_t)n);
	c[4] = 1; /* bNumInterfaces */
	c[5] = 1; /* bConfigurationValue */
	c[6] = 0; /* iConfiguration */
	c[7] = CONFIG_ATTRIBUTES;
	c[8] = CONFIG_MAX_POWER;
	desc->config_len = n;
}

/* The serial number string the ROM reports, built the way the ST USB library's Get_SerialNum
 * does: 8 hex digits of word0 + word2, then the top 4 hex digits of word1.
 *   H74x/H75x (DEV_ID 0x450): the words come from DBGMCU at 0x5C001000 instead of the UID
 *     ("pulling these values from 0x5C001000 instead of 0x1FF1E800", devices.md §5.1): IDCODE,
 *     then DBGMCU_CR and a reserved word, both 0 after reset [U]; 0x20036450 -> "200364500000"
 *     matches the captures of rev V and rev Y parts. IDCODE bits 15:12 are reserved and read
 *     0x6 (the full IDCODE 0x20036450 of a NUCLEO-H743ZI2, devices.md §1.1) [U].
 *   H72x and H7Ax: the 96-bit UID ("3560376F3431"-style serials) [U: derivation inferred].
 */
static void build_serial(ft_dfu_descriptors *desc, const ft_part *part, uint16_t rev_id,
                         const uint32_t uid[3])
{
	uint32_t w0 = uid[0], w1 = uid[1], w2 = uid[2];
	if (part->family == FT_FAMILY_H74X || part->family == FT_FAMILY_H74X_DUAL_CORE) {
		w0 = (uint32_t)rev_id << 16 | IDCODE_RESERVED_BITS | part->dev_id;
		w1 = w2 = 0;
	}
	snprintf(desc->serial, sizeof(desc->serial), "%08X%04X", (unsigned)(w0 + w2),
	         (unsigned)(w1 >> 16));
}

ft_dfu_descriptors *ft_dfu_descriptors_new(const ft_part *part, uint16_t rev_id,
                                           const uint32_t uid[3],
                                           const char *const alt_names[FT_MAX_DFU_ALTS])
{
	ft_dfu_descriptors *desc = calloc(1, sizeof(*desc));
	if (!desc)
		return NULL;
	desc->info = part->bootloader;
	for (unsigned a = 0; a < FT_MAX_DFU_ALTS; a++)
		desc->alt_names[a] = alt_names[a];
	build_device(desc);
	build_config(desc);
	build_serial(desc, part, rev_id, uid);
	return desc;
}

void ft_dfu_descriptors_free(ft_dfu_descriptors *desc)
{
	free(desc);
}

static const char *string_text(const ft_dfu_descriptors *desc, uint8_t index)
{
	switch (index) {
	case STRING_MANUFACTURER: return desc->info->manufacturer;
	case STRING_PRODUCT: return desc->info->product;
	case STRING_SERIAL: return desc->serial;
	default: break;
	}
	if (index >= STRING_FIRST_ALT && index - STRING_FIRST_ALT < desc->info->alt_count)
		return desc->alt_names[index - STRING_FIRST_ALT];
	return NULL;
}

const uint8_t *ft_dfu_descriptors_get(ft_dfu_descriptors *desc, uint8_t type, uint8_t index,
                                      size_t *len)
{
	switch (type) {
	case FT_USB_DT_DEVICE: *len = sizeof(desc->device); return index == 0 ? desc->device : NULL;
	case FT_USB_DT_CONFIG: *len = desc->config_len; return index == 0 ? desc->config : NULL;
	case FT_USB_DT_STRING: break;
	default: return NULL;
	}
	if (index == 0) {
		/* USB 2.0 §9.6.7: string 0 lists the language IDs. */
		desc->scratch[0] = 4;
		desc->scratch[1] = FT_USB_DT_STRING;
		put16(desc->scratch + 2, LANGID_EN_US);
		*len = 4;
		return desc->scratch;
	}
	const char *text = string_text(desc, index);
	if (!text)
		return NULL;
	*len = ft_usb_string_descriptor(text, desc->scratch, sizeof(desc->scratch));
	return desc->scratch;
}
