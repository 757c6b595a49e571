/* Silicon facts for every supported STM32H7 and STM32N6 part number, in one const table.
 *
 * A part is one flash-size variant of one device line (STM32H743xI, STM32H723xE, STM32N657x0);
 * package letters do not change any fact modelled here, so "STM32H743ZIT6", "stm32h743vi" and
 * "H743II" all resolve to STM32H743xI. Every value in parts.c carries the document it comes from.
 *
 * Everything returned points into static const data: never free it, valid for the whole process.
 */
#ifndef FT_PARTS_H
#define FT_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ft_region_kind {
	FT_REGION_FLASH_BANK,    /* internal flash bank; bank field says which */
	FT_REGION_HOLE,          /* addresses inside the flash range that no bank backs (xG parts) */
	FT_REGION_ITCM,
	FT_REGION_DTCM,
	FT_REGION_AXI_SRAM,
	FT_REGION_AHB_SRAM,      /* D2 / AHB SRAM (RAM_D2) */
	FT_REGION_SRD_SRAM,      /* D3 / SRD SRAM4 */
	FT_REGION_BACKUP_SRAM,
	FT_REGION_OTP,           /* user OTP area (H7A3/B3/B0) */
	FT_REGION_SYSTEM_MEMORY, /* boot ROM and system bootloader */
	FT_REGION_EXT_WINDOW,    /* QUADSPI / OCTOSPI / XSPI / FMC memory-mapped window */
	FT_REGION_PERIPHERAL,
} ft_region_kind;

/* Stable lower-case name of a kind ("flash-bank", "axi-sram"); never NULL ("unknown" for a value
 * outside the enum). */
const char *ft_region_kind_name(ft_region_kind kind);

/* True for the kinds whose contents are lost at reset (every SRAM and TCM). Backup SRAM counts as
 * volatile: it survives a reset only while VBAT holds it, and no programmer can make it persist. */
bool ft_region_kind_is_volatile(ft_region_kind kind);

typedef struct ft_region {
	const char *name;  /* the reference manual's name: "AXI SRAM", "RAM_D2 SRAM1", "QUADSPI" */
	ft_region_kind kind;
	uint32_t start;
	uint32_t size;     /* bytes; start + size never wraps past 2^32 */
	uint8_t bank;      /* 1 or 2 for FT_REGION_FLASH_BANK, else 0 */
	const char *source; /* document the bounds come from */
} ft_region;

/* The three register layouts of the H7 embedded-flash controller. */
typedef enum ft_flash_layout {
	FT_FLASH_NONE,    /* no internal flash (STM32N6) */
	FT_FLASH_H74X,    /* H742/743/745/747/750/753/755/757: RM0433, RM0399 */
	FT_FLASH_H72X,    /* H723/725/730/733/735: RM0468, single bank, OPTSR2 */
	FT_FLASH_H7AX,    /* H7A3/B3/B0: RM0455, 8 KB sectors, 128-bit words, SNB at bit 6 */
} ft_flash_layout;

typedef struct ft_flash_geometry {
	ft_flash_layout layout;
	uint8_t banks;             /* banks present on this part: 0, 1 or 2 */
	uint16_t sectors_per_bank; /* sectors present in each bank of this part */
	uint32_t sector_size;      /* bytes */
	uint8_t word_size;         /* flash-word bytes: 32 or 16 */
	uint32_t bank_size;        /* bytes present in each bank */
	uint32_t bank_base[2];     /* bank 2 is at 0x08100000 even on 1 MB parts; bank_base[1] is
				    * 0x08100000 on every dual-bank die, even where bank 2 is absent
				    * (H750xB, H7B0xB), and 0 on single-bank dies (H72x) */
	bool dual_bank_silicon;    /* the die has a bank-2 register block (KEYR2, CR2, SR2 ...) */
} ft_flash_geometry;

/* An address range [start, start + size). */
typedef struct ft_range {
	uint32_t start;
	uint32_t size;
} ft_range;

#define FT_MAX_DFU_ALTS 4
#define FT_MAX_BOOTLOADER_WINDOWS 6

/* A known deviation of one ROM from the facts in ft_bootloader_info: a named switch with a match
 * rule (rev_id), the symptom and the source. Models apply it only when asked to. */
typedef struct ft_bootloader_quirk {
	const char *name;     /* stable switch name: "h7a3-rev-z-descriptor" */
	uint16_t rev_id;      /* REV_ID of the silicon it was seen on */
	const char *symptom;
	/* Layout strings this ROM reports instead of ft_bootloader_info.alt_names, unused entries
	 * NULL; all NULL when the quirk does not touch the descriptor. */
	const char *alt_names[FT_MAX_DFU_ALTS];
	const char *source;
} ft_bootloader_quirk;

/* The ST system bootloader as seen over USB DFU (AN2606, AN3156). When has_usb_dfu is false the
 * other fields are zero and source says why. */
typedef struct ft_bootloader_info {
	bool has_usb_dfu;
	uint16_t vid, pid, bcd_device, bcd_dfu;
	uint16_t transfer_size;          /* wTransferSize */
	const char *manufacturer;        /* iManufacturer string */
	const char *product;             /* iProduct string */
	uint8_t alt_count;
	const char *alt_names[FT_MAX_DFU_ALTS]; /* DfuSe layout strings, exact spacing */
	uint8_t reserved_count;
	ft_range reserved_ram[FT_MAX_BOOTLOADER_WINDOWS];  /* RAM the ROM uses for itself */
	uint8_t writable_count;
	ft_range writable[FT_MAX_BOOTLOADER_WINDOWS];      /* windows it accepts DNLOAD into */
	uint32_t option_bytes_addr;      /* start of the option-byte alternate, 0 if none */
	uint16_t option_bytes_size;
	const char *source;
	uint8_t quirk_count;
	const ft_bootloader_quirk *quirks; /* quirk_count entries; NULL when there are none */
} ft_bootloader_info;

typedef enum ft_family {
	FT_FAMILY_H74X,  /* H742/H743/H750/H753 */
	FT_FAMILY_H74X_DUAL_CORE, /* H745/H747/H755/H757 */
	FT_FAMILY_H72X,
	FT_FAMILY_H7AX,
	FT_FAMILY_N6,
} ft_family;

#define FT_MAX_REVISIONS 6

typedef struct ft_revision {
	uint16_t rev_id;
	char name; /* 'A', 'Z', 'Y', 'X', 'V' */
} ft_revision;

typedef struct ft_part {
	const char *name;          /* canonical: "STM32H743xI" */
	ft_family family;
	const char *core;          /* "cortex-m7", "cortex-m7+cortex-m4", "cortex-m55" */
	uint16_t dev_id;           /* DBGMCU_IDCODE[11:0] */
	uint32_t idcode_addr;      /* where DBGMCU_IDCODE reads from the core */
	uint8_t revision_count;
	ft_revision revisions[FT_MAX_REVISIONS];
	uint32_t flash_size_kb;    /* value of the flash-size register; 0 without internal flash */
	uint32_t flash_size_reg;   /* address of the flash-size register, 0 if none */
	uint32_t uid_reg;          /* address of the 96-bit unique ID */
	uint32_t flash_regs;       /* flash controller register base, 0 if none */
	ft_flash_geometry flash;
	size_t region_count;
	const ft_region *regions;  /* sorted by start, non-overlapping */
	const ft_bootloader_info *bootloader; /* never NULL */
	const char *reference_manual; /* "RM0433" */
} ft_part;

/* Number of parts in the table, and the part at index i; NULL when index >= ft_part_count(). */
size_t ft_part_count(void);
const ft_part *ft_part_at(size_t index);

/* Finds a part by any spelling of its number: "STM32H723ZGT6", "stm32h723zg", "H723ZG",
 * "STM32H723xG", "STM32N657X0H3Q". Case-insensitive; the "STM32" prefix is optional; the line
 * ("H723", "H7A3", "N657") is followed by one package character, then the flash-size letter
 * (B, E, G, I; 0 on N6), then any letters and digits (package, temperature, packing), which are
 * ignored. A spelling that stops before the flash letter ("H750", "stm32n657", "H743Z") resolves
 * only when the line comes in one size. Returns NULL for NULL, an unknown line or flash letter,
 * a character other than a letter or digit, or a missing flash letter where the line has several
 * sizes ("H743"). */
const ft_part *ft_part_find(const char *spelling);

/* Finds the part a connected device is, from DBGMCU_IDCODE[11:0] and the flash-size register
 * (KB), matched exactly (callers map the erased values 0xFFFF/0x0000 themselves). Where several
 * lines share an ID and size (H743xI, H753xI, H745xI), returns the first in the table: the table
 * lists the line of the reference board first (H743, H723, H7A3, N657). N6 parts have no
 * flash-size register: pass 0. Returns NULL when no part matches. */
const ft_part *ft_part_by_id(uint16_t dev_id, uint32_t flash_size_kb);

/* The region of part containing addr, or NULL when addr is in none (or part is NULL). */
const ft_region *ft_part_region_at(const ft_part *part, uint32_t addr);

/* Revision letter for a REV_ID of this part, or '?' when the table does not know it (or part is
 * NULL). */
char ft_part_revision_name(const ft_part *part, uint16_t rev_id);

#endif
