/* The client dimension of a conformance run: which host software talks to the board's
 * bootloader in a device scenario, so that a behaviour that differs between clients shows when
 * two runs are compared (conformance/diff.h).
 *
 * A run has one client (flashtwin-conform --client):
 *   flashtwin   the flashtwin CLI and library over the transport the target names: its userspace
 *               USB/IP client for emu: and usbip:// targets ("flashtwin-usbip"), libusb for usb
 *               targets ("flashtwin-libusb"), the GDB remote protocol for gdb:// ("flashtwin-gdb")
 *   dfu-util    dfu-util, unmodified, over libusb: usb targets only ("dfu-util")
 * Each scenario record names its client by those labels; scenarios that talk to no device have
 * none (JSON null).
 *
 * Pure functions on static data. Library code: never prints.
 */
#ifndef FT_CONFORM_CLIENT_H
#define FT_CONFORM_CLIENT_H

#include <stdbool.h>

#include "conformance/target.h"

typedef enum ft_conform_client {
	FT_CONFORM_CLIENT_FLASHTWIN, /* the default */
	FT_CONFORM_CLIENT_DFU_UTIL,
} ft_conform_client;

/* "flashtwin", "dfu-util" (what --client takes); "unknown" outside the enum. */
const char *ft_conform_client_name(ft_conform_client client);

/* Parses those names; false for anything else. */
bool ft_conform_client_parse(const char *name, ft_conform_client *out);

/* The label a device scenario's record carries for client on a target of kind:
 * "flashtwin-usbip", "flashtwin-libusb", "flashtwin-gdb" or "dfu-util". */
const char *ft_conform_client_label(ft_conform_client client, ft_conform_target_kind kind);

/* Why client cannot reach a target of kind ("needs-target-usb"), or NULL when it can. */
const char *ft_conform_client_blocked(ft_conform_client client, ft_conform_target_kind kind);

#endif
