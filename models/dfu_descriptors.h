/* The USB identity of the system bootloader model (models/dfu_bootloader): the device,
 * configuration and string descriptors as the ST ROM reports them, built once from the part
 * table. One configuration, one DFU-mode interface (class 0xFE/0x01/0x02) with one alternate
 * setting per memory, whose iInterface string is the DfuSe layout string, then the DFU functional
 * descriptor. Strings: 1 iManufacturer, 2 iProduct, 3 iSerialNumber, 4 + n alternate n.
 *
 * Facts: USB 2.0 §9.6, DFU 1.1 §4.2, the ROM captures in devices.md §5.1-5.2; every value not
 * captured on an H7 ROM is marked [U] in dfu_descriptors.c. Library code: never prints or exits.
 */
#ifndef FT_DFU_DESCRIPTORS_H
#define FT_DFU_DESCRIPTORS_H

#include "models/parts.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ft_dfu_descriptors ft_dfu_descriptors;

/* Builds the descriptors of part (which must have has_usb_dfu) at revision rev_id. alt_names:
 * the layout strings to report (the part table's, or a quirk's), info->alt_count entries, kept
 * by pointer (static data). uid: the 96-bit unique ID, used for the serial number where the ROM
 * derives it from the UID. Returns NULL when out of memory. */
ft_dfu_descriptors *ft_dfu_descriptors_new(const ft_part *part, uint16_t rev_id,
                                           const uint32_t uid[3],
                                           const char *const alt_names[FT_MAX_DFU_ALTS]);
void ft_dfu_descriptors_free(ft_dfu_descriptors *desc);

/* The descriptor of a type and index (langid ignored: one language), with *len set, or NULL.
 * The bytes stay valid until the next call on desc (the ft_usb_device_ops.descriptor contract).
 */
const uint8_t *ft_dfu_descriptors_get(ft_dfu_descriptors *desc, uint8_t type, uint8_t index,
                                      size_t *len);

#endif
