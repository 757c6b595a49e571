#include "emu/usb_bus.h"

/* USB 2.0 full-speed transfer limits, performance.md §2.2. */
#define MAX_PACKET       64u
#define PACKET_OVERHEAD  13u
#define CONTROL_OVERHEAD 32u   /* setup + status stages: 45 - 13 */
#define BUS_BYTES_PER_MS 1463u /* 19 x (64 + 13) */
#define NS_PER_MS        1000000u

uint64_t ft_usb_bus_fs_transfer_ns(ft_usb_xfer_type type, size_t len)
{
	uint64_t packets = (len + MAX_PACKET - 1) / MAX_PACKET;
	uint64_t bytes = len;
	if (type == FT_USB_XFER_CONTROL)
		bytes += CONTROL_OVERHEAD;
	else if (packets == 0)
		packets = 1;
	bytes += packets * PACKET_OVERHEAD;
	return (bytes * NS_PER_MS + BUS_BYTES_PER_MS - 1) / BUS_BYTES_PER_MS;
}
