#include "programmer/swd/h7_options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define L74  (1u << FT_FLASH_H74X)
#define L72  (1u << FT_FLASH_H72X)
#define L7A  (1u << FT_FLASH_H7AX)
#define LALL (L74 | L72 | L7A)

/* Register indexes of REGS below. */
enum { OPTSR, PRAR1, SCAR1, WPSN1, BOOT, OTPBL, OPTSR2, PRAR2, SCAR2, WPSN2 };

/* devices.md §2.1: CUR/PRG pairs; bank-2 copies 0x100 above (dual-bank silicon only); OTPBL on
 * H7A3/B3/B0, OPTSR2 on H72x/H73x. */
static const ft_h7_option_reg REGS[] = {
    [OPTSR] = {"OPTSR", 0x1C, 0x20, LALL, false, FT_H7_OPTSR_OPT_BUSY | FT_H7_OPTSR_OPTCHANGEERR},
    [PRAR1] = {"PRAR1", 0x28, 0x2C, LALL, false, 0},
    [SCAR1] = {"SCAR1", 0x30, 0x34, LALL, false, 0},
    [WPSN1] = {"WPSN1", 0x38, 0x3C, LALL, false, 0},
    [BOOT] = {"BOOT", 0x40, 0x44, LALL, false, 0},
    [OTPBL] = {"OTPBL", 0x68, 0x6C, L7A, false, 0},
    [OPTSR2] = {"OPTSR2", 0x70, 0x74, L72, false, 0},
    [PRAR2] = {"PRAR2", 0x128, 0x12C, L74 | L7A, true, 0},
    [SCAR2] = {"SCAR2", 0x130, 0x134, L74 | L7A, true, 0},
    [WPSN2] = {"WPSN2", 0x138, 0x13C, L74 | L7A, true, 0},
};

/* devices.md §2.3 (CMSIS-H7 bit positions) and §4 (meanings). Where a line differs the row says
 * so; bits the reference lists for H743 only are assumed on the other lines too [U]. */
static const ft_h7_option_field FIELDS[] = {
    {"BOR_LEV", OPTSR, 2, 2, LALL,
     "brown-out reset level: 0 off (1.6 V), 1 2.1 V, 2 2.4 V, 3 2.7 V"},
    {"IWDG1_SW", OPTSR, 4, 1, LALL, "1: independent watchdog started by software; 0: by hardware"},
    {"NRST_STOP_D1", OPTSR, 6, 1, LALL, "1: no reset when D1 enters Stop"},
    {"NRST_STBY_D1", OPTSR, 7, 1, LALL, "1: no reset when D1 enters Standby"},
    {"RDP", OPTSR, 8, 8, LALL,
     "read protection: 0xAA level 0, 0xCC level 2 (permanent), other "
     "level 1"},
    {"VDDMMC_HSLV", OPTSR, 16, 1, L7A, "VDDMMC high-speed low-voltage I/O"},
    {"FZ_IWDG_STOP", OPTSR, 17, 1, LALL, "0: IWDG frozen in Stop"},
    {"FZ_IWDG_SDBY", OPTSR, 18, 1, LALL, "0: IWDG frozen in Standby"},
    {"ST_RAM_SIZE", OPTSR, 19, 2, LALL, "RAM reserved for ST secure code"},
    {"SECURITY", OPTSR, 21, 1, LALL, "secure access mode"},
    {"NRST_STOP_D2", OPTSR, 24, 1, L72, "1: no reset when D2 enters Stop"},
    {"NRST_STBY_D2", OPTSR, 25, 1, L72, "1: no reset when D2 enters Standby"},
    {"IO_HSLV", OPTSR, 29, 1, LALL, "I/O high-speed at low voltage"},
    {"SWAP_BANK_OPT", OPTSR, 31, 1, L74 | L7A, "1: banks 1 and 2 swapped after the next reset"},
    {"PROT_AREA_START1", PRAR1, 0, 12, LALL, "PCROP area start, bank 1 (256-byte blocks)"},
    {"PROT_AREA_END1", PRAR1, 16, 12, LALL, "PCROP area end, bank 1 (start > end: none)"},
    {"DMEP1", PRAR1, 31, 1, LALL, "1: erase the PCROP area on RDP regression or bank erase"},
    {"SEC_AREA_START1", SCAR1, 0, 12, LALL, "secure-only area start, bank 1 (256-byte blocks)"},
    {"SEC_AREA_END1", SCAR1, 16, 12, LALL, "secure-only area end, bank 1"},
    {"DMES1", SCAR1, 31, 1, LALL, "1: erase the secure-only area on RDP regression"},
    {"WRPSN1", WPSN1, 0, 8, L74 | L72,
     "write protection of bank 1, bit n sector n, 0 = "
     "protected"},
    {"WRPSN1", WPSN1, 0, 32, L7A,
     "write protection of bank 1, bit n sectors 4n..4n+3, 0 = "
     "protected"},
    {"BOOT_ADD0", BOOT, 0, 16, LALL, "boot address bits 31:16 with BOOT0 = 0"},
    {"BOOT_ADD1", BOOT, 16, 16, LALL, "boot address bits 31:16 with BOOT0 = 1"},
    {"LOCKBL", OTPBL, 0, 16, L7A, "OTP block lock, one bit per 64-byte block"},
    {"TCM_AXI_SHARED", OPTSR2, 0, 2, L72, "ITCM/AXI SRAM sharing"},
    {"CPUFREQ_BOOST", OPTSR2, 2, 1, L72, "CPU frequency boost"},
    {"PROT_AREA_START2", PRAR2, 0, 12, L74 | L7A, "PCROP area start, bank 2"},
    {"PROT_AREA_END2", PRAR2, 16, 12, L74 | L7A, "PCROP area end, bank 2"},
    {"DMEP2", PRAR2, 31, 1, L74 | L7A, "1: erase the bank-2 PCROP area on regression"},
    {"SEC_AREA_START2", SCAR2, 0, 12, L74 | L7A, "secure-only area start, bank 2"},
    {"SEC_AREA_END2", SCAR2, 16, 12, L74 | L7A, "secure-only area end, bank 2"},
    {"DMES2", SCAR2, 31, 1, L74 | L7A, "1: erase the bank-2 secure-only area on regression"},
    {"WRPSN2", WPSN2, 0, 8, L74, "write protection of bank 2, bit n sector n, 0 = protected"},
    {"WRPSN2", WPSN2, 0, 32, L7A, "write protection of bank 2, bit n sectors 4n..4n+3"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

size_t ft_h7_option_reg_count(void)
{
	return COUNT(REGS);
}

const ft_h7_option_reg *ft_h7_option_reg_at(size_t index)
{
	return index < COUNT(REGS) ? &REGS[index] : NULL;
}

const ft_h7_option_reg *ft_h7_option_reg_find(const char *name)
{
	for (size_t i = 0; i < COUNT(REGS); i++) {
		if (strcmp(REGS[i].name, name) == 0)
			return &REGS[i];
	}
	return NULL;
}

bool ft_h7_option_reg_present(const ft_h7_option_reg *reg, const ft_part *part)
{
	if (!reg || !part || part->flash.layout == FT_FLASH_NONE)
		return false;
	return (reg->layouts >> part->flash.layout & 1u) &&
	       (!reg->bank2 || part->flash.dual_bank_silicon);
}

size_t ft_h7_option_field_count(void)
{
	return COUNT(FIELDS);
}

const ft_h7_option_field *ft_h7_option_field_at(size_t index)
{
	return index < COUNT(FIELDS) ? &FIELDS[index] : NULL;
}

bool ft_h7_option_field_present(const ft_h7_option_field *field, const ft_part *part)
{
	return field && ft_h7_option_reg_present(&REGS[field->reg], part) &&
	       (field->layouts >> part->flash.layout & 1u);
}

const ft_h7_option_field *ft_h7_option_field_find(const char *name, const ft_part *part)
{
	for (size_t i = 0; i < COUNT(FIELDS); i++) {
		if (strcasecmp(FIELDS[i].name, name) == 0 &&
		    ft_h7_option_field_present(&FIELDS[i], part))
			return &FIELDS[i];
	}
	return NULL;
}

static uint32_t field_mask(const ft_h7_option_field *field)
{
	return field->width >= 32 ? 0xFFFFFFFFu : (1u << field->width) - 1u;
}

uint32_t ft_h7_option_field_get(const ft_h7_option_field *field, uint32_t reg_value)
{
	return reg_value >> field->shift & field_mask(field);
}

uint32_t ft_h7_option_field_put(const ft_h7_option_field *field, uint32_t reg_value, uint32_t value)
{
	uint32_t mask = field_mask(field) << field->shift;
	return (reg_value & ~mask) | ((value << field->shift) & mask);
}

ft_error ft_h7_option_parse(const char *assignment, const ft_part *part,
                            const ft_h7_option_field **field, uint32_t *value, ft_diag *diag)
{
	const char *eq = assignment ? strchr(assignment, '=') : NULL;
	if (!eq || eq == assignment)
		return ft_diag_set(diag, FT_ERR_FORMAT, assignment,
		                   "option byte assignment NAME=VALUE expected (RDP=0xAA, "
		                   "BOOT_ADD0=0x0800)");
	char name[32];
	size_t n = (size_t)(eq - assignment);
	if (n >= sizeof(name))
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, assignment,
		                   "no option byte of that name");
	memcpy(name, assignment, n);
	name[n] = '\0';
	*field = ft_h7_option_field_find(name, part);
	if (!*field) {
		char names[240] = "";
		size_t used = 0;
		for (size_t i = 0; i < COUNT(FIELDS) && used + 20 < sizeof(names); i++) {
			if (ft_h7_option_field_present(&FIELDS[i], part))
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
				                         used ? " " : "", FIELDS[i].name);
		}
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, assignment,
		                   "%s has no option byte %s; it has: %s",
		                   part ? part->name : "(no part)", name, names);
	}
	const char *text = eq + 1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (!isdigit((unsigned char)*text) || *end != '\0' || errno == ERANGE)
		return ft_diag_set(diag, FT_ERR_FORMAT, assignment,
		                   "value of %s is not a decimal or 0x-prefixed number", name);
	if (v > field_mask(*field))
		return ft_diag_set(diag, FT_ERR_RANGE, assignment,
		                   "%s is %u bits wide: 0x%llx does not fit", (*field)->name,
		                   (*field)->width, v);
	*value = (uint32_t)v;
	return FT_OK;
}

unsigned ft_h7_rdp_level(uint8_t rdp)
{
	return rdp == 0xAA ? 0 : rdp == 0xCC ? 2 : 1;
}
