/* A CMSIS-DAP probe in front of the emulated debug port (dap_port.h): the command set of
 * CMSIS-DAP v1 over SWD (Arm CMSIS-DAP "Commands" reference), one command packet in, its response
 * out, transport-free. It is what pyOCD (and OpenOCD's cmsis-dap adapter) speak to a probe; a
 * transport front end (USB HID reports, pyOCD 0.13's WebSocket backend) carries the packets.
 *
 * Served: DAP_Info (vendor, product, serial, protocol version, capabilities SWD only, packet
 * count 1, packet size FT_CMSIS_DAP_PACKET), DAP_HostStatus, DAP_Connect (default or SWD; JTAG is
 * refused with port 0), DAP_Disconnect, DAP_TransferConfigure, DAP_Transfer (value match and
 * match mask included), DAP_TransferBlock, DAP_TransferAbort (no response), DAP_WriteABORT,
 * DAP_Delay, DAP_ResetTarget (no device-specific sequence), DAP_SWJ_Pins (nRESET low then high
 * resets the system), DAP_SWJ_Clock, DAP_SWJ_Sequence, DAP_SWD_Configure. Anything else, JTAG
 * commands and vendor commands included, is answered with the single byte 0xFF
 * (ID_DAP_Invalid), as the reference firmware does.
 *
 * The SW-DP: DP address 0 reads DPIDR and writes ABORT, address 8 reads RESEND (the last read);
 * the rest is dap_port's. AP reads are not posted here: DAP_Transfer returns each read's own
 * value, as the firmware does after its RDBUFF read. An AP access refused or failed by a sticky
 * error is answered FAULT and ends the transfer.
 *
 * Threading: one thread drives a probe. Never prints.
 */
#ifndef FT_CMSIS_DAP_H
#define FT_CMSIS_DAP_H

#include <stddef.h>
#include <stdint.h>

#include "emu/dap_port.h"
#include "models/error.h"

/* Largest command and response (a full-speed USB HID report). */
#define FT_CMSIS_DAP_PACKET 64u

typedef struct ft_cmsis_dap ft_cmsis_dap;

/* A probe for target (copied; its ctx must outlive the probe) reporting serial (copied, at most
 * 32 characters kept) in DAP_Info. Returns NULL without memory. */
ft_cmsis_dap *ft_cmsis_dap_new(const ft_dap_target *target, const char *serial);
void ft_cmsis_dap_free(ft_cmsis_dap *d);

/* Executes the command in req[0..len) and writes its response to resp (FT_CMSIS_DAP_PACKET
 * bytes), its length to *resp_len (0 for DAP_TransferAbort). Returns FT_OK; FT_ERR_PROTOCOL
 * when the command is longer than a packet, shorter than its own fields say, or asks for more
 * than a response holds (diag names the command and the offset): the caller closes the
 * connection. Target errors do not fail a command: they are FAULT answers and sticky errors. */
ft_error ft_cmsis_dap_command(ft_cmsis_dap *d, const uint8_t *req, size_t len, uint8_t *resp,
                              size_t *resp_len, ft_diag *diag);

/* The target errors met so far (the last one's diag in *last when non-NULL). */
unsigned ft_cmsis_dap_target_errors(const ft_cmsis_dap *d, ft_diag *last);

#endif
