/* STM32H7 option bytes as data: the option registers (each a *_CUR register showing what is in
 * effect and a *_PRG register taking the next value, both in the flash register block) and their
 * fields, with the layouts (ft_flash_layout) each exists on. Pure tables and arithmetic: no I/O.
 * Facts: devices.md §2.1 (offsets), §2.3 (bit fields), §4 (meanings); RM0433/RM0455/RM0468.
 *
 * Not covered: the dual-core lines' BOOT4/BOOT7 split and BCM4/BCM7/IWDG2 bits (RM0399).
 * Everything returned points into static const data.
 */
#ifndef FT_H7_OPTIONS_H
#define FT_H7_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"

/* Offsets in the flash register block (devices.md §2.1). */
#define FT_H7_OPTKEYR   0x08u
#define FT_H7_OPTCR     0x18u
#define FT_H7_OPTCCR    0x24u
#define FT_H7_OPTSR_CUR 0x1Cu

/* OPTSR bits that are not option values (devices.md §2.3: "CUR only"). */
#define FT_H7_OPTSR_OPT_BUSY     (1u << 0)
#define FT_H7_OPTSR_OPTCHANGEERR (1u << 30)

typedef struct ft_h7_option_reg {
	const char *name;     /* "OPTSR", "PRAR1", "BOOT" (CMSIS names without _CUR/_PRG) */
	uint16_t cur, prg;    /* offsets from the flash register base */
	uint8_t layouts;      /* bit (1 << ft_flash_layout) for each layout that has it */
	bool bank2;           /* exists only on dual-bank silicon */
	uint32_t status_bits; /* CUR bits that report status and are never written to PRG */
} ft_h7_option_reg;

typedef struct ft_h7_option_field {
	const char *name; /* "RDP", "BOOT_ADD0", "WRPSN1" */
	uint8_t reg;      /* index into the register table */
	uint8_t shift, width;
	uint8_t layouts; /* subset of its register's */
	const char *meaning;
} ft_h7_option_field;

size_t ft_h7_option_reg_count(void);
const ft_h7_option_reg *ft_h7_option_reg_at(size_t index); /* NULL past the end */
/* A register by name ("WPSN1", "PRAR2"), NULL when there is none of that name. */
const ft_h7_option_reg *ft_h7_option_reg_find(const char *name);
/* True when part has the register (its layout, and bank 2 only on dual-bank silicon). */
bool ft_h7_option_reg_present(const ft_h7_option_reg *reg, const ft_part *part);

size_t ft_h7_option_field_count(void);
const ft_h7_option_field *ft_h7_option_field_at(size_t index); /* NULL past the end */
bool ft_h7_option_field_present(const ft_h7_option_field *field, const ft_part *part);
/* A field of part by name, case-insensitive; NULL when the part has no such field. */
const ft_h7_option_field *ft_h7_option_field_find(const char *name, const ft_part *part);

/* The field's value in a register value, and a register value with the field replaced (value is
 * masked to the field's width). */
uint32_t ft_h7_option_field_get(const ft_h7_option_field *field, uint32_t reg_value);
uint32_t ft_h7_option_field_put(const ft_h7_option_field *field, uint32_t reg_value,
                                uint32_t value);

/* Parses "NAME=VALUE" (VALUE decimal or 0x-prefixed hex) for part. Returns FT_OK with *field and
 * *value; FT_ERR_FORMAT (no '=', a bad number); FT_ERR_NOT_FOUND (no such field on this part;
 * diag lists the part's fields); FT_ERR_RANGE (value wider than the field). */
ft_error ft_h7_option_parse(const char *assignment, const ft_part *part,
                            const ft_h7_option_field **field, uint32_t *value, ft_diag *diag);

/* RDP byte to level: 0xAA level 0, 0xCC level 2, anything else level 1 (devices.md §4). */
unsigned ft_h7_rdp_level(uint8_t rdp);

#endif
