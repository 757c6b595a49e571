/* Which part a DfuSe device is, from what it says about itself.
 *
 * The ST system bootloader gives no device ID over USB DFU: DfuSe has no command that reads
 * DBGMCU_IDCODE, and the flash-size register lies outside every window the ROM uploads from
 * (CATALOGUE §2A: CubeProgrammer's FSIZE read "fails over DFU" on H7A3). What tells parts apart
 * is the USB identity and the alternate settings' layout strings, which the part table records
 * per bootloader (ft_bootloader_info.alt_names), together with the strings known ROM quirks
 * report instead (ft_bootloader_quirk.alt_names). Lines that share a ROM (H743xI, H743xG, H753xI,
 * H745xI, ...) report the same strings: the device then matches several parts and only the user
 * can say which (--part, --board).
 *
 * Layouts are compared parsed (ft_dfuse_layout_parse): names without their trailing spaces and
 * every group's start, count, sector size and access bits; the spacing ROM versions differ in
 * does not matter. Pure functions over const data: no I/O, no allocation.
 */
#ifndef FT_DFUSE_IDENTIFY_H
#define FT_DFUSE_IDENTIFY_H

#include <stddef.h>

#include "models/parts.h"
#include "programmer/dfuse/engine.h"

typedef enum ft_dfuse_agreement {
	FT_DFUSE_AGREES,      /* USB identity and every alternate setting as the part table says */
	FT_DFUSE_KNOWN_QUIRK, /* the strings of a known ROM quirk of the part: the descriptor is
	                       * wrong and the part table is right */
	FT_DFUSE_DISAGREES,   /* neither: another part, or a ROM the table does not know */
} ft_dfuse_agreement;

/* Stable lower-case name ("agrees", "known-quirk", "disagrees"); never NULL. */
const char *ft_dfuse_agreement_name(ft_dfuse_agreement agreement);

typedef struct ft_dfuse_candidate {
	const ft_part *part;
	ft_dfuse_agreement agreement;     /* AGREES or KNOWN_QUIRK */
	const ft_bootloader_quirk *quirk; /* the quirk for KNOWN_QUIRK, else NULL */
} ft_dfuse_candidate;

/* Compares the device with the part's bootloader facts. *quirk (may be NULL) receives the quirk
 * for FT_DFUSE_KNOWN_QUIRK, else NULL. text (len > 0) receives, for anything but AGREES, what
 * disagrees in words, e.g. "the descriptor says 256 x 2 KiB at 0x08000000; STM32H7A3xI has
 * 2 banks of 128 x 8 KiB (part table)"; it is empty for AGREES. */
ft_dfuse_agreement ft_dfuse_compare_part(const ft_dfuse_device_info *info, const ft_part *part,
                                         const ft_bootloader_quirk **quirk, char *text, size_t len);

/* Every part of the table the device may be: those it agrees with, in table order (the table
 * lists each ROM's reference-board line first), then those whose known quirk it reproduces.
 * Writes at most cap candidates to out and returns how many there are (possibly more than
 * cap); 0 when no part matches. */
size_t ft_dfuse_identify(const ft_dfuse_device_info *info, ft_dfuse_candidate *out, size_t cap);

#endif
