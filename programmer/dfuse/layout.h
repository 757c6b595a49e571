/* DfuSe memory-layout strings: the interface name a DfuSe alternate setting reports
 * ("@Internal Flash   /0x08000000/16*128Kg") parsed into address ranges of equal sectors.
 *
 * Syntax (UM0424 §4.3.2, as dfu-util and the ST ROMs use it):
 *   '@' NAME ( '/' 0xADDR '/' GROUP ( ',' GROUP )* )+
 *   GROUP = COUNT '*' SIZE [MULT] TYPE     MULT = 'B' | 'K' | 'M' | ' '     TYPE = 'a'..'g'
 * TYPE & 7 is a bit set: 1 readable, 2 erasable, 4 writeable. The H7 ROM's "01*128 e" puts a
 * space where the multiplier goes: a space means bytes. A group's sectors follow each other;
 * each '/0xADDR/' starts a new run at that address.
 *
 * Parsing is pure and bounded: the text comes from a USB device and is checked byte by byte.
 */
#ifndef FT_DFUSE_LAYOUT_H
#define FT_DFUSE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

#define FT_DFUSE_READABLE 1u
#define FT_DFUSE_ERASABLE 2u
#define FT_DFUSE_WRITEABLE 4u

#define FT_DFUSE_MAX_GROUPS 16
#define FT_DFUSE_MAX_NAME 64

typedef struct ft_dfuse_group {
	uint32_t start;       /* address of the first sector */
	uint32_t count;       /* number of sectors, >= 1 */
	uint32_t sector_size; /* bytes, >= 1 */
	uint8_t type;         /* FT_DFUSE_READABLE | ERASABLE | WRITEABLE */
} ft_dfuse_group;

typedef struct ft_dfuse_layout {
	char name[FT_DFUSE_MAX_NAME]; /* as reported, trailing spaces removed */
	size_t group_count;
	ft_dfuse_group groups[FT_DFUSE_MAX_GROUPS];
} ft_dfuse_layout;

/* Parses text (len bytes, need not be NUL-terminated) into *out. Returns FT_OK, or FT_ERR_FORMAT
 * with diag naming the byte offset and what was expected there; *out is then unspecified. A
 * layout whose ranges wrap past 4 GiB is FT_ERR_RANGE. */
ft_error ft_dfuse_layout_parse(const char *text, size_t len, ft_dfuse_layout *out, ft_diag *diag);

/* The group holding addr, or NULL. */
const ft_dfuse_group *ft_dfuse_layout_find(const ft_dfuse_layout *layout, uint32_t addr);

/* Total bytes described by the layout. */
uint64_t ft_dfuse_layout_size(const ft_dfuse_layout *layout);

#endif
