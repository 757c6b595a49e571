/* A writer of USB captures in the pcap format with the Linux usbmon link type
 * (LINKTYPE_USB_LINUX_MMAPPED, 220), the format `tcpdump -i usbmon0` writes and Wireshark/tshark
 * decode, DFU requests included (the usbdfu dissector, once the capture shows the DFU interface's
 * configuration descriptor).
 *
 * File, every field little-endian (the pcap magic says so; usbmon headers are in the capturing
 * host's order, and flashtwin's hosts are little-endian): the classic pcap header (magic
 * 0xA1B2C3D4, version 2.4, snaplen FT_PCAP_SNAPLEN, link type 220), then one record per URB
 * event: the 16-byte record header (ts_sec, ts_usec, incl_len, orig_len) and the 64-byte usbmon
 * header (Linux Documentation/usb/usbmon.rst, "struct usbmon_packet"):
 *     0 id (u64)      8 type 'S'/'C'   9 xfer_type (0 iso, 1 interrupt, 2 control, 3 bulk)
 *    10 epnum (number | 0x80 for IN)  11 devnum   12 busnum (u16)
 *    14 flag_setup (0: setup bytes present, '-': none)
 *    15 flag_data (0: data follows, '<': IN submit, '>': OUT completion, '=': no data)
 *    16 ts_sec (s64)  24 ts_usec (s32)  28 status (s32: -EINPROGRESS on submit)
 *    32 length (u32: requested on submit, actual on completion)  36 len_cap (u32: bytes that
 *       follow)  40 setup[8] (control submits)  48 interval  52 start_frame  56 xfer_flags
 *    60 ndesc
 * followed by len_cap data bytes (OUT data on submit, IN data on completion).
 *
 * Every record is flushed to the operating system as it is written, so a capture is complete up
 * to the last event even when the process is killed, and can be read while it grows.
 *
 * Threading: one thread writes a capture. Library code: never prints or exits.
 */
#ifndef FT_PCAP_H
#define FT_PCAP_H

#include "emu/usbip/usbip_server.h"
#include "models/error.h"

#include <stddef.h>
#include <stdint.h>

#define FT_PCAP_LINKTYPE_USB_LINUX_MMAPPED 220u
#define FT_PCAP_USBMON_HEADER_SIZE         64u
/* Largest record written; longer data is cut (len_cap < length), as a usbmon capture cuts it. */
#define FT_PCAP_SNAPLEN (256u * 1024u)

typedef struct ft_pcap ft_pcap;

/* Creates (or truncates) the file at path and writes the pcap header. Returns FT_OK with *out, to
 * be closed with ft_pcap_close; FT_ERR_INVALID_ARG (NULL); FT_ERR_IO (cannot create or write,
 * with errno's text) or FT_ERR_NO_MEM. */
ft_error ft_pcap_open(const char *path, ft_pcap **out, ft_diag *diag);

/* Writes the usbmon record of one URB event, time-stamped ts_ns (nanoseconds since the Unix
 * epoch). A submit is an 'S' record (with the setup bytes of a control URB and the data of an
 * OUT URB), a completion a 'C' record (with the data of an IN URB and the URB's status). The id
 * is the URB's seqnum. Returns FT_OK or FT_ERR_IO; after a failure every later write fails with
 * the same error (see ft_pcap_error). */
ft_error ft_pcap_write_urb(ft_pcap *pcap, const ft_usbip_urb_event *event, uint64_t ts_ns);

/* An ft_usbip_observer_fn: ctx is an ft_pcap; writes the event time-stamped with the host's
 * wall clock. Failures are kept for ft_pcap_error. */
void ft_pcap_usbip_observer(void *ctx, const ft_usbip_urb_event *event);

/* FT_OK, or the first write failure (diag filled with it). */
ft_error ft_pcap_error(const ft_pcap *pcap, ft_diag *diag);

/* Records written so far. */
uint64_t ft_pcap_records(const ft_pcap *pcap);

/* Flushes and closes the file and frees pcap. Returns FT_OK (also for NULL), the first write
 * failure, or FT_ERR_IO when closing fails. */
ft_error ft_pcap_close(ft_pcap *pcap, ft_diag *diag);

#endif
