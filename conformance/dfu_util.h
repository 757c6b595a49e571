/* What dfu-util tells its user, read back from its output: the conformance suite's dfu-util
 * client (conformance/client.h) asserts on dfu-util's real output, unmodified.
 *
 * The shapes read are those of dfu-util 0.11 (Debian bookworm), unchanged since 0.9:
 *   dfu-util -l, stdout, one line per alternate setting:
 *     Found DFU: [0483:df11] ver=0200, devnum=2, cfg=1, intf=0, path="1-1", alt=0,
 *     name="@Internal Flash   /0x08000000/16*128Kg", serial="200364500000"
 *   a transfer (-D, -U), stdout:
 *     Device DFU version 011a
 *     DFU state(10) = dfuERROR, status(1) = File is not targeted for use by this device
 *     Device returned transfer size 1024
 *   its errors and warnings, stderr: "dfu-util: SET_ADDRESS not correctly executed"
 * Lines are read as text of any length; whatever does not match is skipped, so garbage never
 * fills a field. Pure functions. Library code: never prints.
 */
#ifndef FT_CONFORM_DFU_UTIL_H
#define FT_CONFORM_DFU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programmer/dfuse/engine.h"

/* Fills, from `dfu-util -l` output (NUL-terminated), info's vid, pid, bcd_device, serial and
 * alternate settings (ordered by bAlternateSetting, whatever order dfu-util listed them in;
 * names as printed, layouts parsed, layout_diag saying why one does not parse). Only lines of
 * the first device listed count (same VID:PID and path). The rest of info is zeroed. Returns the
 * number of alternate settings found, 0 when no line matched. */
size_t ft_conform_dfu_util_list(const char *out, ft_dfuse_device_info *info);

/* Sets info's bcd_dfu ("Device DFU version") and transfer_size_reported ("Device returned
 * transfer size") from a transfer's output. Returns whether both were there. */
bool ft_conform_dfu_util_session(const char *out, ft_dfuse_device_info *info);

/* The state and status of the index-th "DFU state(S) = ..., status(T) = ..." line (0 the first;
 * -1 the last, -2 the one before). False when there is no such line. */
bool ft_conform_dfu_util_status(const char *out, int index, uint8_t *state, uint8_t *status);

/* The last line of err starting "dfu-util: ", without that prefix and cut to cap - 1 bytes,
 * into line. False (line empty) when there is none. */
bool ft_conform_dfu_util_error(const char *err, char *line, size_t cap);

#endif
