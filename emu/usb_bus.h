/* How long a transfer occupies a USB 2.0 full-speed bus: the small model behind the USB/IP
 * server's bus pacing (usbip_server.h) and the DFU benchmark's floor.
 *
 * The model (performance.md §2.2: the USB 2.0 full-speed control and bulk transfer limits as
 * summarised there):
 *   - data moves in packets of at most 64 bytes (the full-speed maximum for control and bulk),
 *     each with 13 bytes of protocol overhead (token, SYNC, PID, CRC, handshake, gaps);
 *   - a control transfer adds 32 bytes for its setup and status stages (the 45 bytes of
 *     overhead of a one-packet control transfer, less its data packet's 13), and has no data
 *     packet when wLength is 0; any other transfer is at least one (possibly empty) packet;
 *   - a 1 ms frame carries 19 full-size packets (19 x 77 = 1463 of its 1500 bytes; the rest is
 *     SOF and a gap too short for another packet), so the bus moves 1463 bus bytes per ms and
 *     payload at most at 19 x 64 B per ms = 1.216 MB/s, the bulk ceiling.
 * Not modelled: NAKed retries (they cost the host bus time but move nothing), bit stuffing,
 * bandwidth other devices take, and isochronous transfers (timed as bulk). */
#ifndef FT_USB_BUS_H
#define FT_USB_BUS_H

#include "models/usb_device.h"

#include <stddef.h>
#include <stdint.h>

/* Payload bytes per second at the full-speed ceiling: 19 packets of 64 bytes per 1 ms frame. */
#define FT_USB_BUS_FS_PAYLOAD_PER_S 1216000u

/* Nanoseconds (rounded up) that a transfer of type with len data bytes holds the full-speed bus. */
uint64_t ft_usb_bus_fs_transfer_ns(ft_usb_xfer_type type, size_t len);

#endif
