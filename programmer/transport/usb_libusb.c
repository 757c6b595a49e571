#include "programmer/transport/usb_libusb.h"

#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGIN         "usb"
#define MAX_CANDIDATES 16
#define STRING_TIMEOUT 1000 /* ms, libusb_get_string_descriptor_ascii has its own bound */

typedef struct usb_ctx {
	libusb_context *libusb;
	libusb_device_handle *handle;
	int claimed; /* interface number, or -1 */
	char label[200];
} usb_ctx;

/* A DFU device seen during enumeration. */
typedef struct candidate {
	libusb_device_handle *handle; /* NULL when it could not be opened */
	int open_error;
	uint8_t bus, address;
	uint16_t bcd_device;
	uint8_t speed;
	char serial[FT_TRANSPORT_MAX_SERIAL + 1];
} candidate;

typedef struct scan {
	candidate found[MAX_CANDIDATES];
	size_t count;      /* entries in found */
	size_t total;      /* DFU devices seen, may exceed MAX_CANDIDATES */
	size_t unopenable; /* of those, how many could not be opened */
	int last_open_error;
} scan;

static ft_error start(libusb_context **libusb, ft_diag *diag)
{
	*libusb = NULL;
	int rc = libusb_init(libusb);
	if (rc != LIBUSB_SUCCESS)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, ORIGIN,
		                   "libusb_init failed (%s): this host has no usable USB support; "
		                   "emulated boards are reached with usbip://HOST:PORT",
		                   libusb_error_name(rc));
	return FT_OK;
}

static void drop_scan(scan *s)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->found[i].handle)
			libusb_close(s->found[i].handle);
	s->count = 0;
}

/* Finds every 0483:df11 device, opening each to read its serial. */
static ft_error enumerate(libusb_context *libusb, scan *s, ft_diag *diag)
{
	memset(s, 0, sizeof(*s));
	libusb_device **list;
	ssize_t n = libusb_get_device_list(libusb, &list);
	if (n < 0)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, ORIGIN,
		                   "cannot enumerate USB devices (%s)", libusb_error_name((int)n));
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor desc;
		if (libusb_get_device_descriptor(list[i], &desc) != LIBUSB_SUCCESS)
			continue;
		if (desc.idVendor != FT_USB_STM32_DFU_VID || desc.idProduct != FT_USB_STM32_DFU_PID)
			continue;
		s->total++;
		if (s->count == MAX_CANDIDATES)
			continue;
		candidate *c = &s->found[s->count++];
		memset(c, 0, sizeof(*c));
		c->bus = libusb_get_bus_number(list[i]);
		c->address = libusb_get_device_address(list[i]);
		c->bcd_device = desc.bcdDevice;
		c->speed = (uint8_t)libusb_get_device_speed(list[i]);
		c->open_error = libusb_open(list[i], &c->handle);
		if (c->open_error != LIBUSB_SUCCESS) {
			c->handle = NULL;
			s->unopenable++;
			s->last_open_error = c->open_error;
			continue;
		}
		if (desc.iSerialNumber != 0) {
			unsigned char buf[FT_TRANSPORT_MAX_SERIAL + 1];
			int len = libusb_get_string_descriptor_ascii(c->handle, desc.iSerialNumber,
			                                             buf, sizeof(buf));
			if (len > 0)
				snprintf(c->serial, sizeof(c->serial), "%.*s", len,
				         (const char *)buf);
		}
	}
	libusb_free_device_list(list, 1);
	return FT_OK;
}

static void join_serials(const scan *s, const char *want, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->count; i++) {
		const candidate *c = &s->found[i];
		if (!c->handle || (want && strcmp(c->serial, want) != 0))
			continue;
		int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "",
		                 c->serial[0] ? c->serial : "(no serial)");
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

static ft_error choose(const scan *s, const char *serial, size_t *chosen, ft_diag *diag)
{
	size_t matches = 0;
	for (size_t i = 0; i < s->count; i++) {
		const candidate *c = &s->found[i];
		if (c->handle && (!serial || strcmp(c->serial, serial) == 0)) {
			if (matches == 0)
				*chosen = i;
			matches++;
		}
	}
	char names[200];
	if (matches == 0) {
		char unopened[160] = "";
		if (s->unopenable)
			snprintf(unopened, sizeof(unopened),
			         "; %zu could not be opened (%s: check permissions or udev rules)",
			         s->unopenable, libusb_error_name(s->last_open_error));
		join_serials(s, NULL, names, sizeof(names));
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, ORIGIN,
		                   "no STM32 DFU device (%04x:%04x)%s%s found%s%s%s",
		                   FT_USB_STM32_DFU_VID, FT_USB_STM32_DFU_PID,
		                   serial ? " with serial " : "", serial ? serial : "",
		                   names[0] ? "; present: " : "", names, unopened);
	}
	if (matches > 1) {
		join_serials(s, serial, names, sizeof(names));
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, ORIGIN,
		                   "%zu STM32 DFU devices match (serials %s); choose one with "
		                   "usb:SERIAL",
		                   matches, names);
	}
	return FT_OK;
}

static ft_error usb_open(const ft_transport_address *addr, void **out, ft_diag *diag)
{
	*out = NULL;
	const char *serial = addr->serial[0] ? addr->serial : NULL;
	usb_ctx *u = calloc(1, sizeof(*u));
	if (!u)
		return ft_diag_set(diag, FT_ERR_NO_MEM, ORIGIN, "out of memory");
	u->claimed = -1;
	ft_error err = start(&u->libusb, diag);
	if (err) {
		free(u);
		return err;
	}
	scan *s = calloc(1, sizeof(*s));
	if (!s) {
		libusb_exit(u->libusb);
		free(u);
		return ft_diag_set(diag, FT_ERR_NO_MEM, ORIGIN, "out of memory");
	}
	size_t chosen = 0;
	err = enumerate(u->libusb, s, diag);
	if (!err)
		err = choose(s, serial, &chosen, diag);
	if (err) {
		drop_scan(s);
		free(s);
		libusb_exit(u->libusb);
		free(u);
		return err;
	}
	candidate *c = &s->found[chosen];
	u->handle = c->handle;
	c->handle = NULL;
	snprintf(u->label, sizeof(u->label), "usb %04x:%04x serial %s (bus %u address %u)",
	         FT_USB_STM32_DFU_VID, FT_USB_STM32_DFU_PID, c->serial[0] ? c->serial : "none",
	         c->bus, c->address);
	drop_scan(s);
	free(s);
	*out = u;
	return FT_OK;
}

static ft_error usb_list(const ft_transport_address *addr, ft_transport_device *out, size_t cap,
                         size_t *count, ft_diag *diag)
{
	(void)addr;
	*count = 0;
	libusb_context *libusb;
	ft_error err = start(&libusb, diag);
	if (err)
		return err;
	scan *s = calloc(1, sizeof(*s));
	if (!s) {
		libusb_exit(libusb);
		return ft_diag_set(diag, FT_ERR_NO_MEM, ORIGIN, "out of memory");
	}
	err = enumerate(libusb, s, diag);
	for (size_t i = 0; !err && i < s->count && i < cap; i++) {
		const candidate *c = &s->found[i];
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].id, sizeof(out[i].id), "bus %u address %u", c->bus, c->address);
		snprintf(out[i].serial, sizeof(out[i].serial), "%s", c->serial);
		out[i].vid = FT_USB_STM32_DFU_VID;
		out[i].pid = FT_USB_STM32_DFU_PID;
		out[i].bcd_device = c->bcd_device;
		/* libusb_speed: 1 low, 2 full, 3 high, 4 super; Linux numbers super as 5. */
		out[i].speed = c->speed == LIBUSB_SPEED_SUPER ? 5u : c->speed;
		out[i].dfu = true; /* 0483:df11 is the ROM in DFU mode */
	}
	if (!err)
		*count = s->count;
	drop_scan(s);
	free(s);
	libusb_exit(libusb);
	return err;
}

static void usb_close(void *ctx)
{
	usb_ctx *u = ctx;
	if (u->claimed >= 0)
		(void)libusb_release_interface(u->handle,
		                               u->claimed); /* closing releases it anyway */
	libusb_close(u->handle);
	libusb_exit(u->libusb);
	free(u);
}

static ft_transfer_status usb_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                      unsigned timeout_ms, size_t *actual, ft_diag *diag)
{
	usb_ctx *u = ctx;
	uint16_t value = (uint16_t)(setup[2] | setup[3] << 8);
	uint16_t index = (uint16_t)(setup[4] | setup[5] << 8);
	int rc = libusb_control_transfer(u->handle, setup[0], setup[1], value, index, data,
	                                 (uint16_t)len, timeout_ms);
	if (rc >= 0) {
		*actual = (size_t)rc;
		return FT_TRANSFER_OK;
	}
	switch (rc) {
	case LIBUSB_ERROR_PIPE: return FT_TRANSFER_STALL;
	case LIBUSB_ERROR_TIMEOUT: return FT_TRANSFER_TIMEOUT;
	case LIBUSB_ERROR_NO_DEVICE:
		ft_diag_set(diag, FT_ERR_IO, u->label, "device gone (%s)", libusb_error_name(rc));
		return FT_TRANSFER_NO_DEVICE;
	default:
		ft_diag_set(diag, FT_ERR_IO, u->label, "libusb_control_transfer: %s",
		            libusb_error_name(rc));
		return FT_TRANSFER_IO;
	}
}

static ft_error usb_error(usb_ctx *u, int rc, const char *what, ft_diag *diag)
{
	ft_error code = rc == LIBUSB_ERROR_BUSY ? FT_ERR_BUSY : FT_ERR_IO;
	return ft_diag_set(diag, code, u->label, "%s: %s%s", what, libusb_error_name(rc),
	                   rc == LIBUSB_ERROR_BUSY ? " (another program holds the interface)" : "");
}

static ft_error usb_set_configuration(void *ctx, uint8_t value, ft_diag *diag)
{
	usb_ctx *u = ctx;
	int current = -1;
	int rc = libusb_get_configuration(u->handle, &current);
	if (rc != LIBUSB_SUCCESS)
		return usb_error(u, rc, "reading the configuration", diag);
	if (current == value)
		return FT_OK;
	rc = libusb_set_configuration(u->handle, value);
	if (rc != LIBUSB_SUCCESS)
		return usb_error(u, rc, "selecting the configuration", diag);
	return FT_OK;
}

static ft_error usb_set_interface(void *ctx, uint8_t interface, uint8_t alt, ft_diag *diag)
{
	usb_ctx *u = ctx;
	if (u->claimed != interface) {
		if (u->claimed >= 0) {
			int rc = libusb_release_interface(u->handle, u->claimed);
			if (rc != LIBUSB_SUCCESS && rc != LIBUSB_ERROR_NOT_FOUND)
				return usb_error(u, rc, "releasing the interface", diag);
			u->claimed = -1;
		}
		int rc = libusb_set_auto_detach_kernel_driver(u->handle, 1);
		if (rc != LIBUSB_SUCCESS && rc != LIBUSB_ERROR_NOT_SUPPORTED)
			return usb_error(u, rc, "detaching the kernel driver", diag);
		rc = libusb_claim_interface(u->handle, interface);
		if (rc != LIBUSB_SUCCESS)
			return usb_error(u, rc, "claiming the DFU interface", diag);
		u->claimed = interface;
	}
	int rc = libusb_set_interface_alt_setting(u->handle, interface, alt);
	if (rc != LIBUSB_SUCCESS)
		return usb_error(u, rc, "selecting the alternate setting", diag);
	return FT_OK;
}

static ft_error usb_reset(void *ctx, ft_diag *diag)
{
	usb_ctx *u = ctx;
	int rc = libusb_reset_device(u->handle);
	/* NOT_FOUND: the device re-enumerated as another device; this handle is now dead, which
	 * the contract allows (control answers NO_DEVICE). */
	if (rc == LIBUSB_SUCCESS || rc == LIBUSB_ERROR_NOT_FOUND)
		return FT_OK;
	return usb_error(u, rc, "port reset", diag);
}

static const char *usb_describe(void *ctx)
{
	return ((usb_ctx *)ctx)->label;
}

const ft_transport_ops ft_usb_libusb_transport_ops = {
    .name = "usb",
    .open = usb_open,
    .list = usb_list,
    .close = usb_close,
    .control = usb_control,
    .set_configuration = usb_set_configuration,
    .set_interface = usb_set_interface,
    .reset = usb_reset,
    .describe = usb_describe,
};

ft_error ft_usb_libusb_open(const char *serial, ft_transport **out, ft_diag *diag)
{
	*out = NULL;
	ft_transport_address addr;
	memset(&addr, 0, sizeof(addr));
	addr.kind = FT_TRANSPORT_USB;
	if (serial) {
		if (strlen(serial) > FT_TRANSPORT_MAX_SERIAL)
			return ft_diag_set(diag, FT_ERR_RANGE, ORIGIN, "serial longer than %d",
			                   FT_TRANSPORT_MAX_SERIAL);
		snprintf(addr.serial, sizeof(addr.serial), "%s", serial);
	}
	ft_diag local;
	ft_diag_clear(&local);
	void *ctx;
	ft_error err = usb_open(&addr, &ctx, diag ? diag : &local);
	if (err)
		return err;
	*out = ft_transport_new(&ft_usb_libusb_transport_ops, ctx);
	if (!*out) {
		usb_close(ctx);
		return ft_diag_set(diag, FT_ERR_NO_MEM, ORIGIN, "out of memory");
	}
	return FT_OK;
}
