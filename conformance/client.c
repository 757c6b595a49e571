/* Client names and labels. */
#include "conformance/client.h"

#include <string.h>

static const char *const names[] = {
    [FT_CONFORM_CLIENT_FLASHTWIN] = "flashtwin",
    [FT_CONFORM_CLIENT_DFU_UTIL] = "dfu-util",
};

const char *ft_conform_client_name(ft_conform_client client)
{
	return (unsigned)client < sizeof(names) / sizeof(names[0]) ? names[client] : "unknown";
}

bool ft_conform_client_parse(const char *name, ft_conform_client *out)
{
	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (ft_conform_client)i;
			return true;
		}
	}
	return false;
}

const char *ft_conform_client_label(ft_conform_client client, ft_conform_target_kind kind)
{
	if (client == FT_CONFORM_CLIENT_DFU_UTIL)
		return "dfu-util";
	switch (kind) {
	case FT_CONFORM_TARGET_USB: return "flashtwin-libusb";
	case FT_CONFORM_TARGET_GDB: return "flashtwin-gdb";
	case FT_CONFORM_TARGET_EMU: /* the emulator's connection is usbip:// */
	case FT_CONFORM_TARGET_USBIP: return "flashtwin-usbip";
	}
	return "unknown";
}

const char *ft_conform_client_blocked(ft_conform_client client, ft_conform_target_kind kind)
{
	/* dfu-util reaches devices through libusb only: a board on this machine's USB. */
	if (client == FT_CONFORM_CLIENT_DFU_UTIL && kind != FT_CONFORM_TARGET_USB)
		return "needs-target-usb";
	return NULL;
}
