/* Standard USB device requests (USB 2.0 §9.4), answered from a device's descriptors, so that a
 * device model implements only its class and vendor requests.
 *
 * The model embeds an ft_usb_std_state in its own state, resets it on bus reset, and from its
 * control op hands every request of type standard to ft_usb_std_request (after intercepting any
 * it wants to answer itself). It reads the state (configuration, alternate settings, halted
 * endpoints) but changes it only through these functions.
 *
 * ft_usb_std_request calls the device's descriptor op, so a model calls it from inside its own
 * control op; it never calls the control op. Nothing here blocks, allocates or keeps pointers.
 */
#ifndef FT_USB_STD_H
#define FT_USB_STD_H

#include "models/usb_device.h"

#include <stdbool.h>
#include <stdint.h>

/* What standard requests change (USB 2.0 §9.1.1 device states, §9.4). */
typedef struct ft_usb_std_state {
	uint8_t address;       /* SET_ADDRESS; 0 in the Default state */
	uint8_t configuration; /* bConfigurationValue; 0 when not configured (Address state) */
	uint8_t alt_setting[FT_USB_MAX_INTERFACES]; /* per interface number, when configured */
	uint32_t halted;    /* ENDPOINT_HALT: bit n for OUT endpoint n, bit 16+n for IN n */
	bool remote_wakeup; /* DEVICE_REMOTE_WAKEUP */
} ft_usb_std_state;

/* The Default state after a bus reset (USB 2.0 §9.1.1.3): everything zero. */
void ft_usb_std_reset(ft_usb_std_state *state);

/* The endpoint (address with FT_USB_DIR_IN for IN) is halted; EP0 never is. A model's transfer
 * op answers FT_USB_STALL for a halted endpoint. */
bool ft_usb_std_halted(const ft_usb_std_state *state, uint8_t endpoint);

/* Answers one standard request, with the same contract as the device's control op (len equals
 * wLength; IN data is written to data, at most len bytes, *actual set).
 * Handles GET_STATUS, CLEAR_FEATURE and SET_FEATURE (ENDPOINT_HALT, DEVICE_REMOTE_WAKEUP when the
 * configuration allows it), SET_ADDRESS, GET_DESCRIPTOR (device recipient, any type the device's
 * descriptor op returns, truncated to wLength), GET_CONFIGURATION, SET_CONFIGURATION,
 * GET_INTERFACE and SET_INTERFACE, validating each against the descriptors and the state as
 * USB 2.0 §9.4 requires. Returns FT_USB_OK, or FT_USB_STALL for a request error: a request
 * that is not of type standard, an unknown or unsupported request (SET_DESCRIPTOR,
 * SYNCH_FRAME, TEST_MODE), a wrong direction, or an interface, alternate setting, endpoint or
 * configuration the descriptors do not declare or the state does not allow. */
ft_usb_status ft_usb_std_request(const ft_usb_device *dev, ft_usb_std_state *state,
                                 const uint8_t setup[8], uint8_t *data, size_t len, size_t *actual);

#endif
