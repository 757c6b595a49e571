/* The CMSIS-DAP probe (cmsis_dap.h) as a USB device: a CMSIS-DAP v1 probe, the kind Debian's
 * pyOCD 0.13 finds over pyusb (a HID interface, a product string containing "CMSIS-DAP":
 * pyocd/probe/pydapaccess/interface/pyusb_backend.py), served like any device model
 * (models/usb_device.h), over USB/IP to a host kernel.
 *
 * Identity: VID 0x1209 PID 0x0002 [U: pid.codes test range, not allocated to us], full speed, one
 * configuration (value 1, bus-powered, 100 mA) with one HID interface (class 3, no boot
 * protocol): interrupt OUT 0x01 and interrupt IN 0x81, 64-byte packets, every 1 ms. Strings:
 * 1 "flashtwin", 2 "flashtwin CMSIS-DAP", 3 the serial.
 *
 * Behaviour:
 *   - standard requests through ft_usb_std_request; GET_DESCRIPTOR to the interface for its HID
 *     (0x21) and report (0x22) descriptors (HID 1.11 §7.1); HID class requests SET_IDLE and
 *     SET_PROTOCOL are accepted, GET_REPORT/SET_REPORT and the rest STALL (the probe's reports
 *     go through the interrupt endpoints);
 *   - an OUT report is one command (trailing padding ignored); its response is the next IN
 *     report, padded with zeros to 64 bytes. One command at a time (DAP_Info packet count 1):
 *     an OUT while a response waits is NAKed, an IN with none waiting is NAKed;
 *   - a command the probe refuses (FT_ERR_PROTOCOL) STALLs its OUT transfer and is counted,
 *     its diag kept (ft_cmsis_dap_usb_refused); the probe goes on;
 *   - bus reset drops a waiting response and returns to the Default state.
 * Not thread-safe; one host drives it. Never prints.
 */
#ifndef FT_CMSIS_DAP_USB_H
#define FT_CMSIS_DAP_USB_H

#include "emu/dap_port.h"
#include "models/usb_device.h"

#define FT_CMSIS_DAP_USB_VID 0x1209
#define FT_CMSIS_DAP_USB_PID 0x0002

typedef struct ft_cmsis_dap_usb ft_cmsis_dap_usb;

/* A probe for target (copied; its ctx must outlive the probe) with serial (copied, at most 32
 * characters kept), in the Default state. NULL when out of memory. */
ft_cmsis_dap_usb *ft_cmsis_dap_usb_new(const ft_dap_target *target, const char *serial);
void ft_cmsis_dap_usb_free(ft_cmsis_dap_usb *u);

/* The device to hand to a host; valid until ft_cmsis_dap_usb_free. */
ft_usb_device ft_cmsis_dap_usb_device(ft_cmsis_dap_usb *u);

/* Commands refused as protocol errors so far (the last one's diag in *last when non-NULL). */
unsigned ft_cmsis_dap_usb_refused(const ft_cmsis_dap_usb *u, ft_diag *last);

/* Target errors the probe's debug port met so far (as ft_cmsis_dap_target_errors). */
unsigned ft_cmsis_dap_usb_target_errors(const ft_cmsis_dap_usb *u, ft_diag *last);

#endif
