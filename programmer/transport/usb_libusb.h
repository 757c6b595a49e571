/* The libusb-1.0 transport: STM32 system-bootloader DFU devices on the host's USB.
 *
 * Matching: VID:PID 0483:df11 (the ST system bootloader in DFU mode, devices.md §5.1) and, when
 * given, the serial number. Every matching device is opened to read its serial; a device that
 * cannot be opened (permissions, another driver) is counted and named in the error when nothing
 * usable matches. More than one usable match without a serial is an error listing the serials.
 *
 * Each transport owns its own libusb context (no process-wide state). A host without USB
 * support (no usbfs, a container) makes libusb_init or enumeration fail: that is reported as
 * FT_ERR_UNSUPPORTED or FT_ERR_NOT_FOUND with a message saying so, never a crash.
 */
#ifndef FT_USB_LIBUSB_H
#define FT_USB_LIBUSB_H

#include "models/error.h"
#include "programmer/transport/transport.h"

#define FT_USB_STM32_DFU_VID 0x0483
#define FT_USB_STM32_DFU_PID 0xDF11

/* Opens the one STM32 DFU device, or the one whose serial number is serial (NULL or "" for
 * any). Returns FT_OK with *out a transport the caller closes; FT_ERR_UNSUPPORTED when libusb
 * cannot start on this host; FT_ERR_NOT_FOUND when no usable device matches (diag counts the
 * ones that could not be opened and why); FT_ERR_INVALID_ARG when several match (diag lists
 * their serials); FT_ERR_IO; FT_ERR_NO_MEM. */
ft_error ft_usb_libusb_open(const char *serial, ft_transport **out, ft_diag *diag);

/* The backend ft_transport_open uses for usb and usb:SERIAL. Its list op reports every STM32
 * DFU device with its serial (empty when it could not be opened). */
extern const ft_transport_ops ft_usb_libusb_transport_ops;

#endif
