/* The part table: one row per flash-size variant of every supported STM32H7 and STM32N6 line.
 *
 * Variants are data. Each family's memory map is written once as region rows; the flash rows sit
 * between ITCM and system memory, so a (family, flash size) map is "ITCM, flash rows of that
 * size, the family's rows above flash". Each (family, size) pair has one region array, one
 * geometry and one bootloader record, shared by every line sold in that size; a row of the part
 * table is a name, the family's identity and the variant.
 *
 * Sources: CMSIS = STMicroelectronics cmsis_device_h7 / cmsis-device-n6 (v1.1.0) headers; OOCD =
 * OpenOCD src/flash/nor/stm32h7x.c; STLINK = stlink-org/stlink config/chips/H7*.chip; SVD-H7B0 =
 * RM0455 field text from the H7B0 SVD; ref = /work/shared/reference/devices.md, which quotes the
 * others and the forum captures. [U] = the reference marks the fact uncertain, or it is derived
 * here by analogy; the comment says which.
 */
#include "models/parts.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define KB(n)               (1024u * (uint32_t)(n))
#define MB(n)               (KB(n) * 1024u)
#define COUNT_OF(type, ...) (sizeof((type[]){__VA_ARGS__}) / sizeof(type))
#define ARRAY_LEN(a)        (sizeof(a) / sizeof((a)[0]))

#define REGION(name_, kind_, start_, size_, source_)                                               \
	{                                                                                          \
		.name = (name_), .kind = (kind_), .start = (start_), .size = (size_),              \
		.source = (source_)                                                                \
	}
#define FLASH_BANK_REGION(bank_, start_, size_, source_)                                           \
	{                                                                                          \
		.name = "Flash bank " #bank_, .kind = FT_REGION_FLASH_BANK, .start = (start_),     \
		.size = (size_), .bank = (bank_), .source = (source_)                              \
	}
#define REGIONS(array_) .region_count = ARRAY_LEN(array_), .regions = (array_)

/* [start, end] as the sources write it (end inclusive). */
#define RANGE_TO(start_, end_)                                                                     \
	{                                                                                          \
		.start = (start_), .size = (end_) - (start_) + 1u                                  \
	}
#define WRITABLE(...) .writable_count = COUNT_OF(ft_range, __VA_ARGS__), .writable = {__VA_ARGS__}
#define RESERVED(...)                                                                              \
	.reserved_count = COUNT_OF(ft_range, __VA_ARGS__), .reserved_ram = {__VA_ARGS__}
#define ALTS(...)      .alt_count = COUNT_OF(const char *, __VA_ARGS__), .alt_names = {__VA_ARGS__}
#define QUIRKS(array_) .quirk_count = ARRAY_LEN(array_), .quirks = (array_)
#define REVISIONS(...)                                                                             \
	.revision_count = COUNT_OF(ft_revision, __VA_ARGS__), .revisions = {__VA_ARGS__}

/* ---- H7 flash ------------------------------------------------------------------------------ */

#define H7_BANK1_BASE 0x08000000u /* CMSIS FLASH_BANK1_BASE (h743, h723, h7a3) */
#define H7_BANK2_BASE 0x08100000u /* CMSIS FLASH_BANK2_BASE (h743, h7a3) */

/* ref §1.2: xG = 2 x 512 KB and bank 2 keeps its base; OOCD: "the second bank starts always from
 * 0x08100000"; CMSIS stm32h745xg_flash_CM4.ld (ORIGIN 0x08100000, LENGTH 512K); RM0433 Rev 7
 * Table 16 shows the gap (community.st.com thread 205304). */
#define SRC_HALF_BANKS "RM0433/RM0399/RM0455 xG: 2 x 512 KB, bank 2 at 0x08100000 (OOCD stm32h7x.c)"

/* One bank of size_ bytes: H750xB, every H72x, H7B0xB. */
#define FLASH_ONE_BANK(size_, source_) FLASH_BANK_REGION(1, H7_BANK1_BASE, size_, source_)
/* Two contiguous 1 MB banks: every xI part. */
#define FLASH_TWO_BANKS(source_)                                                                   \
	FLASH_BANK_REGION(1, H7_BANK1_BASE, MB(1), source_),                                       \
	    FLASH_BANK_REGION(2, H7_BANK2_BASE, MB(1), source_)
/* Two 512 KB banks with the unbacked upper half of bank 1's range between them: every xG part. */
#define FLASH_TWO_HALF_BANKS                                                                       \
	FLASH_BANK_REGION(1, H7_BANK1_BASE, KB(512), SRC_HALF_BANKS),                              \
	    REGION("Flash hole between bank 1 and bank 2", FT_REGION_HOLE,                         \
	           H7_BANK1_BASE + KB(512), KB(512), SRC_HALF_BANKS),                              \
	    FLASH_BANK_REGION(2, H7_BANK2_BASE, KB(512), SRC_HALF_BANKS)

/* H74x/H75x (RM0433, RM0399): 128 KB sectors, 256-bit flash words, dual-bank die; ref §1.2
 * (CMSIS h743 FLASH_SECTOR_SIZE 0x20000, FLASH_NB_32BITWORD_IN_FLASHWORD 8, DUAL_BANK). H750xB
 * is one 128 KB sector in bank 1 of the same die (OOCD: 128 KB => has_dual_bank = false). */
#define H74X_GEOMETRY(banks_, sectors_)                                                            \
	{                                                                                          \
		.layout = FT_FLASH_H74X, .banks = (banks_), .sectors_per_bank = (sectors_),        \
		.sector_size = KB(128), .word_size = 32, .bank_size = KB(128) * (sectors_),        \
		.bank_base = {H7_BANK1_BASE, H7_BANK2_BASE}, .dual_bank_silicon = true             \
	}

/* H72x/H73x (RM0468): single bank of 8 x 128 KB at most, 256-bit words, no FLASH_BANK2 and no
 * DUAL_BANK in CMSIS h723 (ref §1.4). */
#define H72X_GEOMETRY(sectors_)                                                                    \
	{                                                                                          \
		.layout = FT_FLASH_H72X, .banks = 1, .sectors_per_bank = (sectors_),               \
		.sector_size = KB(128), .word_size = 32, .bank_size = KB(128) * (sectors_),        \
		.bank_base = {H7_BANK1_BASE, 0}, .dual_bank_silicon = false                        \
	}

/* H7A3/B3/B0 (RM0455): 8 KB sectors, 128 per bank on xI, 128-bit words (CMSIS h7a3
 * FLASH_SECTOR_TOTAL 128, FLASH_SECTOR_SIZE 0x2000, FLASH_NB_32BITWORD_IN_FLASHWORD 4); SVD-H7B0:
 * "Bank 1 is limited to 16 and 64 sectors on STM32H7B0 and STM32H7A3xG devices" (ref §1.5).
 * H7B0 is taken to be the dual-bank die with bank 2 absent [U: inferred from that text and from
 * STLINK H7Ax_H7Bx.chip "flags dualbank" for the whole 0x480 family]. */
#define H7AX_GEOMETRY(banks_, sectors_)                                                            \
	{                                                                                          \
		.layout = FT_FLASH_H7AX, .banks = (banks_), .sectors_per_bank = (sectors_),        \
		.sector_size = KB(8), .word_size = 16, .bank_size = KB(8) * (sectors_),            \
		.bank_base = {H7_BANK1_BASE, H7_BANK2_BASE}, .dual_bank_silicon = true             \
	}

/* ---- H7 memory maps ------------------------------------------------------------------------ */

#define H7_ITCM                                                                                    \
	REGION(                                                                                    \
	    "ITCM", FT_REGION_ITCM, 0x00000000u, KB(64),                                           \
	    "CMSIS D1_ITCMRAM_BASE (h743, h723) / CD_ITCMRAM_BASE (h7a3): 64 KB (ref §1.2, 1.4, " \
	    "1.5)")

#define H7_SYSMEM_AND_DTCM                                                                         \
	REGION("System memory", FT_REGION_SYSTEM_MEMORY, 0x1FF00000u, KB(128),                     \
	       "STLINK H74x_H75x/H72x_H73x/H7Ax_H7Bx.chip bootrom_base 0x1ff00000 size 0x20000; "  \
	       "CMSIS D1_AXIICP_BASE"),                                                            \
	    REGION("DTCM", FT_REGION_DTCM, 0x20000000u, KB(128),                                   \
	           "CMSIS D1_DTCMRAM_BASE: 128 KB (ref §1.2, 1.4, 1.5; STLINK sram_size 0x20000)")

#define H7_BACKUP_AND_PERIPHERALS                                                                  \
	REGION("Backup SRAM", FT_REGION_BACKUP_SRAM, 0x38800000u, KB(4),                           \
	       "CMSIS D3_BKPSRAM_BASE / SRD_BKPSRAM_BASE: 4 KB (ref §1.2, 1.4, 1.5)"),             \
	    REGION("Peripherals", FT_REGION_PERIPHERAL, 0x40000000u, 0x20000000u,                  \
	           "Armv7-M peripheral region 0x40000000-0x5FFFFFFF holding the D1/D2/D3 buses "   \
	           "(CMSIS PERIPH_BASE; FLASH_R_BASE 0x52002000, DBGMCU 0x5C001000)")

#define H7_OCTOSPI_WINDOWS                                                                         \
	REGION("OCTOSPI2", FT_REGION_EXT_WINDOW, 0x70000000u, MB(256),                             \
	       "CMSIS OCTOSPI2_BASE (h723, h7a3; ref §1.4, 1.5); 256 MB [U: window size]"),        \
	    REGION("OCTOSPI1", FT_REGION_EXT_WINDOW, 0x90000000u, MB(256),                         \
	           "CMSIS OCTOSPI1_BASE (h723, h7a3; ref §1.4, 1.5); 256 MB [U: window size]")

/* FMC windows with the default bank mapping (FMC_BCR1.BMAP = 00): NOR/PSRAM/SRAM bank 1 and the
 * two SDRAM banks, 4 x 64 MB each (RM0433/RM0468/RM0455 FMC chapter, "FMC memory banks"; BMAP 01
 * swaps SDRAM to 0x60000000/0x70000000, as embassy-stm32 fmc FmcBankMapping documents) [U: not in
 * devices.md]. Boards put SDRAM frame buffers there (H743I-EVAL, H747I-DISCO, H750B-DK,
 * H7B3I-DK: SDRAM at 0xD0000000). */
#define H7_FMC_NOR_WINDOW                                                                          \
	REGION("FMC NOR/PSRAM bank 1", FT_REGION_EXT_WINDOW, 0x60000000u, MB(256),                 \
	       "RM0433/RM0468/RM0455 FMC bank 1, BMAP = 00 (4 x 64 MB) [U]")
#define H7_FMC_SDRAM_WINDOWS                                                                       \
	REGION("FMC SDRAM bank 1", FT_REGION_EXT_WINDOW, 0xC0000000u, MB(256),                     \
	       "RM0433/RM0468/RM0455 FMC SDRAM bank 1, BMAP = 00 (4 x 64 MB) [U]"),                \
	    REGION("FMC SDRAM bank 2", FT_REGION_EXT_WINDOW, 0xD0000000u, MB(256),                 \
	           "RM0433/RM0468/RM0455 FMC SDRAM bank 2, BMAP = 00 (4 x 64 MB) [U]")

#define CORTEX_M7_PPB                                                                              \
	REGION("Cortex-M7 private peripheral bus", FT_REGION_PERIPHERAL, 0xE0000000u, MB(1),       \
	       "Armv7-M ARM B3.1 system address map: PPB 0xE0000000-0xE00FFFFF")

/* H742/H743/H750/H753 (RM0433) and, with the CM4 alias below, H745/H747/H755/H757 (RM0399).
 * H742 is taken to have the H743 RAM [U: ref §1.2 groups it with H743 without detail]. */
#define SRC_H74X_RAM "CMSIS stm32h743xx.h / stm32h747xx.h (ref §1.2)"
#define H74X_ABOVE_FLASH                                                                           \
	H7_SYSMEM_AND_DTCM,                                                                        \
	    REGION("AXI SRAM", FT_REGION_AXI_SRAM, 0x24000000u, KB(512),                           \
	           "CMSIS D1_AXISRAM_BASE: 512 KB (ref §1.2)"),                                    \
	    REGION("RAM_D2 SRAM1", FT_REGION_AHB_SRAM, 0x30000000u, KB(128), SRC_H74X_RAM),        \
	    REGION("RAM_D2 SRAM2", FT_REGION_AHB_SRAM, 0x30020000u, KB(128), SRC_H74X_RAM),        \
	    REGION("RAM_D2 SRAM3", FT_REGION_AHB_SRAM, 0x30040000u, KB(32), SRC_H74X_RAM),         \
	    REGION("RAM_D3 SRAM4", FT_REGION_SRD_SRAM, 0x38000000u, KB(64),                        \
	           "CMSIS D3_SRAM_BASE: 64 KB (ref §1.2)"),                                        \
	    H7_BACKUP_AND_PERIPHERALS, H7_FMC_NOR_WINDOW,                                          \
	    REGION("QUADSPI", FT_REGION_EXT_WINDOW, 0x90000000u, MB(256),                          \
	           "CMSIS QSPI_BASE 0x90000000 (ref §1.2); 256 MB window"),                        \
	    H7_FMC_SDRAM_WINDOWS, CORTEX_M7_PPB

/* The CM4 of the dual-core lines sees RAM_D2 SRAM1-3 at 0x10000000 (ref §1.3). */
#define H74X_CM4_D2_ALIAS                                                                          \
	REGION("RAM_D2 SRAM1-3 (CM4 alias)", FT_REGION_AHB_SRAM, 0x10000000u, KB(288),             \
	       "CMSIS stm32h747xx.h D2_AXISRAM_BASE \"up to 288KB\" (ref §1.2, 1.3) [U: size]")

static const ft_region h74x_xi_regions[] = {
    H7_ITCM,
    FLASH_TWO_BANKS("CMSIS h743 FLASH_BANK1_BASE/FLASH_BANK2_BASE, 2 x 8 x 128 KB (ref §1.2)"),
    H74X_ABOVE_FLASH,
};
static const ft_region h74x_xg_regions[] = {H7_ITCM, FLASH_TWO_HALF_BANKS, H74X_ABOVE_FLASH};
static const ft_region h74x_xb_regions[] = {
    H7_ITCM,
    FLASH_ONE_BANK(KB(128), "OOCD stm32h7x.c: 128 KB parts are single bank (H750xB, ref §1.2)"),
    H74X_ABOVE_FLASH,
};
static const ft_region h74x_dual_core_xi_regions[] = {
    H7_ITCM,
    FLASH_TWO_BANKS("CMSIS h747 FLASH_BANK1_BASE/FLASH_BANK2_BASE, 2 x 8 x 128 KB (ref §1.3)"),
    H74X_CM4_D2_ALIAS,
    H74X_ABOVE_FLASH,
};
static const ft_region h74x_dual_core_xg_regions[] = {
    H7_ITCM,
    FLASH_TWO_HALF_BANKS,
    H74X_CM4_D2_ALIAS,
    H74X_ABOVE_FLASH,
};

/* H723/H725/H730/H733/H735 (RM0468), CMSIS stm32h723xx.h (ref §1.4). */
#define SRC_H72X_RAM "CMSIS stm32h723xx.h (ref §1.4)"
#define H72X_ABOVE_FLASH                                                                           \
	H7_SYSMEM_AND_DTCM,                                                                        \
	    REGION("AXI SRAM1", FT_REGION_AXI_SRAM, 0x24000000u, KB(128), SRC_H72X_RAM),           \
	    REGION(                                                                                \
	        "AXI SRAM2", FT_REGION_AXI_SRAM, 0x24020000u, KB(192),                             \
	        "CMSIS stm32h723xx.h (ref §1.4); all AXI with OPTSR2.TCM_AXI_SHARED = 00, up to " \
	        "192 KB of it moves to ITCM otherwise [U: factory default 00]"),                   \
	    REGION("AHB SRAM1", FT_REGION_AHB_SRAM, 0x30000000u, KB(16), SRC_H72X_RAM),            \
	    REGION("AHB SRAM2", FT_REGION_AHB_SRAM, 0x30004000u, KB(16), SRC_H72X_RAM),            \
	    REGION("SRAM4", FT_REGION_SRD_SRAM, 0x38000000u, KB(16), SRC_H72X_RAM),                \
	    H7_BACKUP_AND_PERIPHERALS, H7_FMC_NOR_WINDOW, H7_OCTOSPI_WINDOWS,                      \
	    H7_FMC_SDRAM_WINDOWS, CORTEX_M7_PPB

#define SRC_H72X_FLASH                                                                             \
	"CMSIS h723 FLASH_BANK1_BASE, FLASH_END 0x080FFFFF, 128 KB sectors (ref §1.4)"
static const ft_region h72x_xg_regions[] = {
    H7_ITCM,
    FLASH_ONE_BANK(MB(1), SRC_H72X_FLASH),
    H72X_ABOVE_FLASH,
};
static const ft_region h72x_xe_regions[] = {
    H7_ITCM,
    FLASH_ONE_BANK(KB(512), SRC_H72X_FLASH " [U: xE = 512 KB by the standard suffix]"),
    H72X_ABOVE_FLASH,
};
static const ft_region h72x_xb_regions[] = {
    H7_ITCM,
    FLASH_ONE_BANK(KB(128), SRC_H72X_FLASH "; H730xB value line = 128 KB (ref §1.4)"),
    H72X_ABOVE_FLASH,
};

/* H7A3/H7B3/H7B0 (RM0455), CMSIS stm32h7a3xx.h (ref §1.5). */
#define SRC_H7AX_RAM "CMSIS stm32h7a3xx.h (ref §1.5)"
#define H7AX_OTP                                                                                   \
	REGION("OTP", FT_REGION_OTP, 0x08FFF000u, KB(1),                                           \
	       "CMSIS h7a3 FLASH_OTP_BASE/FLASH_OTP_END 0x08FFF000-0x08FFF3FF (ref §1.5)")
#define H7AX_ABOVE_FLASH                                                                           \
	H7AX_OTP, H7_SYSMEM_AND_DTCM,                                                              \
	    REGION("AXI SRAM1", FT_REGION_AXI_SRAM, 0x24000000u, KB(256), SRC_H7AX_RAM),           \
	    REGION("AXI SRAM2", FT_REGION_AXI_SRAM, 0x24040000u, KB(384), SRC_H7AX_RAM),           \
	    REGION("AXI SRAM3", FT_REGION_AXI_SRAM, 0x240A0000u, KB(384), SRC_H7AX_RAM),           \
	    REGION("AHB SRAM1", FT_REGION_AHB_SRAM, 0x30000000u, KB(64), SRC_H7AX_RAM),            \
	    REGION("AHB SRAM2", FT_REGION_AHB_SRAM, 0x30010000u, KB(64), SRC_H7AX_RAM),            \
	    REGION("SRD SRAM", FT_REGION_SRD_SRAM, 0x38000000u, KB(32), SRC_H7AX_RAM),             \
	    H7_BACKUP_AND_PERIPHERALS, H7_FMC_NOR_WINDOW, H7_OCTOSPI_WINDOWS,                      \
	    H7_FMC_SDRAM_WINDOWS, CORTEX_M7_PPB

static const ft_region h7ax_xi_regions[] = {
    H7_ITCM,
    FLASH_TWO_BANKS("CMSIS h7a3 FLASH_BANK1_BASE/FLASH_BANK2_BASE, 2 x 128 x 8 KB (ref §1.5)"),
    H7AX_ABOVE_FLASH,
};
static const ft_region h7ax_xg_regions[] = {H7_ITCM, FLASH_TWO_HALF_BANKS, H7AX_ABOVE_FLASH};
static const ft_region h7ax_xb_regions[] = {
    H7_ITCM,
    FLASH_ONE_BANK(KB(128), "SVD-H7B0: bank 1 limited to 16 sectors on STM32H7B0 (ref §1.5)"),
    H7AX_ABOVE_FLASH,
};

/* ---- N6 memory map (RM0486; CMSIS-N6 stm32n6{45,47,55,57}xx.h v1.1.0; ref §1.6) ------------- */

/* Every N6 memory's secure alias is its non-secure address + 0x10000000 (CMSIS-N6 *_BASE_S
 * against *_BASE_NS: ITCM, BOOTROM, DTCM, SRAMx_AXI, CACHEAXI_RAM, VENC_RAM, SRAMx_AHB, BKPSRAM).
 */
#define N6_SECURE_ALIAS 0x10000000u

#define N6_CODE(suffix_, alias_)                                                                   \
	REGION(                                                                                    \
	    "ITCM" suffix_, FT_REGION_ITCM, 0x00000000u + (alias_), KB(256),                       \
	    "CMSIS-N6 ITCM_BASE_NS/_S: 64 KB, up to 256 KB with FLEXRAM; the window is 256 KB"),   \
	    REGION("Boot ROM" suffix_, FT_REGION_SYSTEM_MEMORY, 0x08000000u + (alias_), KB(128),   \
	           "CMSIS-N6 BOOTROM_BASE_NS/_S: 128 KB boot ROM")

#define SRC_N6_AXI "CMSIS-N6 SRAMx_AXI_BASE_NS/_S, SRAMx_AXI_SIZE"
#define N6_DTCM_AND_AXI(suffix_, alias_)                                                           \
	REGION(                                                                                    \
	    "DTCM" suffix_, FT_REGION_DTCM, 0x20000000u + (alias_), KB(256),                       \
	    "CMSIS-N6 DTCM_BASE_NS/_S: 128 KB, up to 256 KB with FLEXRAM; the window is 256 KB"),  \
	    REGION("AXI SRAM1" suffix_, FT_REGION_AXI_SRAM, 0x24000000u + (alias_), MB(1),         \
	           SRC_N6_AXI " (up to 400 KB of it is FLEXRAM)"),                                 \
	    REGION("AXI SRAM2" suffix_, FT_REGION_AXI_SRAM, 0x24100000u + (alias_), MB(1),         \
	           SRC_N6_AXI),                                                                    \
	    REGION("AXI SRAM3" suffix_, FT_REGION_AXI_SRAM, 0x24200000u + (alias_), KB(448),       \
	           SRC_N6_AXI),                                                                    \
	    REGION("AXI SRAM4" suffix_, FT_REGION_AXI_SRAM, 0x24270000u + (alias_), KB(448),       \
	           SRC_N6_AXI),                                                                    \
	    REGION("AXI SRAM5" suffix_, FT_REGION_AXI_SRAM, 0x242E0000u + (alias_), KB(448),       \
	           SRC_N6_AXI),                                                                    \
	    REGION("AXI SRAM6" suffix_, FT_REGION_AXI_SRAM, 0x24350000u + (alias_), KB(448),       \
	           SRC_N6_AXI)

/* Only the NPU lines (N647, N657) define CACHEAXI_RAM_BASE (ref §1.6 variant matrix). */
#define N6_NPU_CACHE_RAM(suffix_, alias_)                                                          \
	REGION("NPU cache RAM" suffix_, FT_REGION_AXI_SRAM, 0x243C0000u + (alias_), KB(256),       \
	       "CMSIS-N6 stm32n647xx.h/stm32n657xx.h CACHEAXI_RAM_BASE_NS/_S, CACHEAXI_RAM_SIZE")

#define N6_VENC_AHB_BACKUP(suffix_, alias_)                                                        \
	REGION("VENC RAM" suffix_, FT_REGION_AXI_SRAM, 0x24400000u + (alias_), KB(128),            \
	       "CMSIS-N6 VENC_RAM_BASE_NS/_S, VENC_RAM_SIZE"),                                     \
	    REGION("AHB SRAM1" suffix_, FT_REGION_AHB_SRAM, 0x28000000u + (alias_), KB(16),        \
	           "CMSIS-N6 SRAM1_AHB_BASE_NS/_S, SRAM1_AHB_SIZE"),                               \
	    REGION("AHB SRAM2" suffix_, FT_REGION_AHB_SRAM, 0x28004000u + (alias_), KB(16),        \
	           "CMSIS-N6 SRAM2_AHB_BASE_NS/_S, SRAM2_AHB_SIZE"),                               \
	    REGION("Backup SRAM" suffix_, FT_REGION_BACKUP_SRAM, 0x2C000000u + (alias_), KB(8),    \
	           "CMSIS-N6 BKPSRAM_BASE_NS/_S, BKPSRAM_SIZE")

#define N6_PERIPHERALS_AND_WINDOWS                                                                 \
	REGION("Peripherals", FT_REGION_PERIPHERAL, 0x40000000u, 0x10000000u,                      \
	       "CMSIS-N6 PERIPH_BASE_NS (DBGMCU 0x44001000, XSPI regs 0x4802x000); ends at the "   \
	       "secure alias"),                                                                    \
	    REGION("Peripherals (secure)", FT_REGION_PERIPHERAL, 0x50000000u, 0x10000000u,         \
	           "CMSIS-N6 PERIPH_BASE_S"),                                                      \
	    REGION("FMC NOR/PSRAM bank 1", FT_REGION_EXT_WINDOW, 0x60000000u, MB(256),             \
	           "CMSIS-N6 FMC_BANK1_1..4 (4 x 64 MB)"),                                         \
	    REGION("XSPI2", FT_REGION_EXT_WINDOW, 0x70000000u, MB(256),                            \
	           "CMSIS-N6 XSPI2_BASE (ref §1.6) [U: 256 MB window]"),                           \
	    REGION("XSPI3", FT_REGION_EXT_WINDOW, 0x80000000u, MB(256),                            \
	           "CMSIS-N6 XSPI3_BASE (ref §1.6) [U: 256 MB window]"),                           \
	    REGION("XSPI1", FT_REGION_EXT_WINDOW, 0x90000000u, MB(256),                            \
	           "CMSIS-N6 XSPI1_BASE (ref §1.6) [U: 256 MB window]"),                           \
	    REGION("FMC SDRAM bank 1", FT_REGION_EXT_WINDOW, 0xC0000000u, MB(256),                 \
	           "CMSIS-N6 FMC_BANK5_1..4 (4 x 64 MB)"),                                         \
	    REGION("FMC SDRAM bank 2", FT_REGION_EXT_WINDOW, 0xD0000000u, MB(256),                 \
	           "CMSIS-N6 FMC_BANK6_1..4 (4 x 64 MB)"),                                         \
	    REGION("Cortex-M55 private peripheral bus", FT_REGION_PERIPHERAL, 0xE0000000u, MB(1),  \
	           "Armv8-M ARM system address map: PPB 0xE0000000-0xE00FFFFF")

static const ft_region n6_npu_regions[] = {
    N6_CODE("", 0),
    N6_CODE(" (secure)", N6_SECURE_ALIAS),
    N6_DTCM_AND_AXI("", 0),
    N6_NPU_CACHE_RAM("", 0),
    N6_VENC_AHB_BACKUP("", 0),
    N6_DTCM_AND_AXI(" (secure)", N6_SECURE_ALIAS),
    N6_NPU_CACHE_RAM(" (secure)", N6_SECURE_ALIAS),
    N6_VENC_AHB_BACKUP(" (secure)", N6_SECURE_ALIAS),
    N6_PERIPHERALS_AND_WINDOWS,
};
static const ft_region n6_regions[] = {
    N6_CODE("", 0),
    N6_CODE(" (secure)", N6_SECURE_ALIAS),
    N6_DTCM_AND_AXI("", 0),
    N6_VENC_AHB_BACKUP("", 0),
    N6_DTCM_AND_AXI(" (secure)", N6_SECURE_ALIAS),
    N6_VENC_AHB_BACKUP(" (secure)", N6_SECURE_ALIAS),
    N6_PERIPHERALS_AND_WINDOWS,
};

/* ---- System bootloader (AN2606, AN3156; ref §5) -------------------------------------------- */

#define H7_DFU_IDENTITY                                                                            \
	.has_usb_dfu = true, .vid = 0x0483, /* ST; ref §5.1 (dfu-util listings) */                \
	    .pid = 0xDF11,                  /* DfuSe mode; ref §5.1 */                            \
	    .bcd_device = 0x0200,           /* dfu-util "ver=0200" [U: one capture shows 2200] */  \
	    .bcd_dfu = 0x011A,              /* CubeProgrammer log "FW version : 0x011a" */         \
	    .transfer_size = 1024,          /* "Device returned transfer size 1024" (NuttX) */     \
	    .manufacturer = "STMicroelectronics", /* ref §5.1 */                                  \
	    .product = "DFU in FS Mode"           /* CubeProgrammer "Product ID" */

/* ROM RAM on every H7: CATALOGUE §2A "0x24000000-0x24004FFF is used by the bootloader", and DTCM
 * below 0x20004100 (stm32flash dev_table usable RAM 0x20004100-0x20020000, ref §1.2). Measured on
 * H74x; H72x and H7Ax are assumed to match [U]. */
#define H7_RESERVED_RAM                                                                            \
	RESERVED(RANGE_TO(0x20000000u, 0x200040FFu), RANGE_TO(0x24000000u, 0x24004FFFu))
#define H7_DTCM_WINDOW RANGE_TO(0x20004100u, 0x2001FFFFu) /* CATALOGUE §2A; stm32flash */
#define H7_OB_ADDR     0x5200201Cu /* FLASH_OPTSR_CUR; ref §4, §5.2 option-byte alternate */

#define H7_BANK1_WINDOW(size_)                                                                     \
	{                                                                                          \
		.start = H7_BANK1_BASE, .size = (size_)                                            \
	}
#define H7_BANK2_WINDOW(size_)                                                                     \
	{                                                                                          \
		.start = H7_BANK2_BASE, .size = (size_)                                            \
	}

/* H74x/H75x: ref §5.2 (NuttX weact-stm32h750 docs, plugdata Daisy exporter); the 128 KB H750
 * reports the same 16*128Kg layout. The dual-core lines share DEV_ID 0x450 and are taken to run
 * the same ROM [U]. Writable: the banks present, RAM 0x20004100-0x2001FFFF and
 * 0x24005000-0x2407FFFF (CATALOGUE §2A), the option bytes. */
#define H74X_BOOT(...)                                                                             \
	H7_DFU_IDENTITY,                                                                           \
	    ALTS("@Internal Flash   /0x08000000/16*128Kg",                                         \
	         "@Option Bytes   /0x5200201C/01*128 e"),                                          \
	    H7_RESERVED_RAM,                                                                       \
	    WRITABLE(__VA_ARGS__, H7_DTCM_WINDOW, RANGE_TO(0x24005000u, 0x2407FFFFu),              \
	             {.start = H7_OB_ADDR, .size = 128}),                                          \
	    .option_bytes_addr = H7_OB_ADDR, .option_bytes_size = 128, /* "01*128 e" */            \
	    .source = "AN2606/AN3156; ref §5.1, §5.2; CATALOGUE §2A"

/* Seen on H743 rev V with bank 2 present (performance.md §2.1). */
static const ft_bootloader_quirk h74x_quirks[] = {{
    .name = "h74x-rev-v-bank2-erase-dnbusy",
    .rev_id = 0x2003, /* rev V; OOCD revision table */
    .symptom = "after erasing a bank-2 sector (8-15) the ROM stays in dfuDNBUSY past its "
               "bwPollTimeout; a first CLRSTATUS answers errUNKNOWN/dfuERROR, a second "
               "OK/dfuIDLE",
    .source = "betaflight-configurator PR 1861 and issue 5348",
}};

static const ft_bootloader_info h74x_xi_boot = {
    H74X_BOOT(H7_BANK1_WINDOW(MB(1)), H7_BANK2_WINDOW(MB(1))),
    QUIRKS(h74x_quirks),
};
static const ft_bootloader_info h74x_xg_boot = {
    H74X_BOOT(H7_BANK1_WINDOW(KB(512)), H7_BANK2_WINDOW(KB(512))),
    QUIRKS(h74x_quirks),
};
static const ft_bootloader_info h74x_xb_boot = {H74X_BOOT(H7_BANK1_WINDOW(KB(128)))};
static const ft_bootloader_info h74x_dual_core_xi_boot = {
    H74X_BOOT(H7_BANK1_WINDOW(MB(1)), H7_BANK2_WINDOW(MB(1))),
};
static const ft_bootloader_info h74x_dual_core_xg_boot = {
    H74X_BOOT(H7_BANK1_WINDOW(KB(512)), H7_BANK2_WINDOW(KB(512))),
};

/* H72x/H73x: strings from a Manta M8P v2 board (katapult flash script, ref §5.2) [U: board MCU
 * identity], the same on every flash size [U: by analogy with H750]. The AXI window is the H74x
 * rule applied to the 320 KB of AXI SRAM [U]. */
#define H72X_BOOT(size_)                                                                           \
	H7_DFU_IDENTITY,                                                                           \
	    ALTS("@Internal Flash   /0x08000000/8*128Kg", "@Option Bytes   /0x5200201C/01*88 e"),  \
	    H7_RESERVED_RAM,                                                                       \
	    WRITABLE(H7_BANK1_WINDOW(size_), H7_DTCM_WINDOW, RANGE_TO(0x24005000u, 0x2404FFFFu),   \
	             {.start = H7_OB_ADDR, .size = 88}),                                           \
	    .option_bytes_addr = H7_OB_ADDR, .option_bytes_size = 88, /* "01*88 e" */              \
	    .source = "AN2606/AN3156; ref §5.1, §5.2 (H723); windows by analogy with H74x [U]"

static const ft_bootloader_info h72x_xg_boot = {H72X_BOOT(MB(1))};
static const ft_bootloader_info h72x_xe_boot = {H72X_BOOT(KB(512))};
static const ft_bootloader_info h72x_xb_boot = {H72X_BOOT(KB(128))};

/* H7A3/B3/B0: the newer ROM's strings (ModRetro M64 README, STM32H7A3ZIT6; ref §5.2), the same on
 * every flash size [U]. The AXI window is the H74x rule applied to the 1 MB of AXI SRAM [U]. */
/* "@OTP Memory   /0x08FFF000/01*1024 e" */
#define H7AX_OTP_WINDOW RANGE_TO(0x08FFF000u, 0x08FFF3FFu)
#define H7AX_BOOT(...)                                                                             \
	H7_DFU_IDENTITY,                                                                           \
	    ALTS("@Internal Flash   /0x08000000/256*08Kg", "@Option Bytes   /0x5200201C/01*297 e", \
	         "@OTP Memory   /0x08FFF000/01*1024 e"),                                           \
	    H7_RESERVED_RAM,                                                                       \
	    WRITABLE(__VA_ARGS__, H7AX_OTP_WINDOW, H7_DTCM_WINDOW,                                 \
	             RANGE_TO(0x24005000u, 0x240FFFFFu), {.start = H7_OB_ADDR, .size = 297}),      \
	    .option_bytes_addr = H7_OB_ADDR, .option_bytes_size = 297, /* "01*297 e" */            \
	    .source = "AN2606/AN3156; ref §5.1, §5.2 (H7A3); windows by analogy with H74x [U]",    \
	    QUIRKS(h7ax_quirks)

/* ref §5.2: the early rev Z ROM reported wrong layouts (community.st.com "H7A3ZI returns
 * incorrect DFU memory descriptor"; H7B3I-EVAL thread). */
static const ft_bootloader_quirk h7ax_quirks[] = {{
    .name = "h7a3-rev-z-descriptor",
    .rev_id = 0x1001, /* rev Z [U: OOCD lists only rev A 0x1000 for 0x480; Z = 0x1001 as on
                         0x450 and 0x483] */
    .symptom = "the descriptor claims 256 pages of 2 KB and puts the option bytes and OTP at "
               "0x1FF8000/0x1FF7000; tools that trust it mis-size flash",
    .alt_names = {"@Internal Flash  /0x08000000/256*02Kg", "@Option Bytes  /0x1FF8000/01*128 e",
                  "@OTP Memory  /0x1FF7000/01*1024 e"},
    .source = "community.st.com \"H7A3ZI returns incorrect DFU memory descriptor\"",
}};

static const ft_bootloader_info h7ax_xi_boot = {
    H7AX_BOOT(H7_BANK1_WINDOW(MB(1)), H7_BANK2_WINDOW(MB(1))),
};
static const ft_bootloader_info h7ax_xg_boot = {
    H7AX_BOOT(H7_BANK1_WINDOW(KB(512)), H7_BANK2_WINDOW(KB(512))),
};
static const ft_bootloader_info h7ax_xb_boot = {H7AX_BOOT(H7_BANK1_WINDOW(KB(128)))};

/* The N6 boot ROM does offer USB DFU (serial boot on USB1 OTG HS, ref §6.1), but it loads a
 * signed FSBL into RAM with STM32MP-style phase alternates rather than programming flash, and
 * none of its descriptors (IDs, strings, alternates) has been captured. Modelling it as the H7
 * DfuSe ROM would invent facts, so it is left out. */
static const ft_bootloader_info n6_boot = {
    .has_usb_dfu = false,
    .source = "ref §6.1: boot-ROM DFU loads an FSBL into RAM; descriptors not captured",
};

/* ---- Families and parts -------------------------------------------------------------------- */

#define H7_FLASH_IDS(dev_id_)                                                                      \
	.dev_id = (dev_id_), .idcode_addr = 0x5C001000u, /* OOCD DBGMCU_IDCODE_REGISTER */         \
	    .flash_regs = 0x52002000u                    /* CMSIS FLASH_R_BASE; ref §2 */

/* H74x/H75x single and dual core: DEV_ID 0x450 and its revisions (OOCD revs table, ref §1.1);
 * flash size and UID registers (CMSIS FLASHSIZE_BASE, UID_BASE; ref §1.2; the CM4 of dual-core
 * parts cannot read the flash-size register). */
#define H74X_COMMON_IDS                                                                            \
	H7_FLASH_IDS(0x450),                                                                       \
	    REVISIONS({0x1000, 'A'}, {0x1001, 'Z'}, {0x1003, 'Y'}, {0x2001, 'X'}, {0x2003, 'V'}),  \
	    .flash_size_reg = 0x1FF1E880u, .uid_reg = 0x1FF1E800u
#define H74X_IDS                                                                                   \
	H74X_COMMON_IDS, .core = "cortex-m7", .family = FT_FAMILY_H74X, .reference_manual = "RM0433"
#define H74X_DUAL_CORE_IDS                                                                         \
	H74X_COMMON_IDS, .core = "cortex-m7+cortex-m4", .family = FT_FAMILY_H74X_DUAL_CORE,        \
	                 .reference_manual = "RM0399"
/* H72x/H73x: DEV_ID 0x483, revisions A/Z (OOCD); same flash-size and UID registers as H74x
 * (CMSIS h723; ref §1.4). */
#define H72X_IDS                                                                                   \
	H7_FLASH_IDS(0x483), .core = "cortex-m7", REVISIONS({0x1000, 'A'}, {0x1001, 'Z'}),         \
	                     .flash_size_reg = 0x1FF1E880u, .uid_reg = 0x1FF1E800u,                \
	                     .family = FT_FAMILY_H72X, .reference_manual = "RM0468"
/* H7A3/B3/B0: DEV_ID 0x480, rev A (OOCD), rev Z [U: see h7ax_quirks]; flash size and UID in the
 * flash information block (CMSIS h7a3 FLASHSIZE_BASE, UID_BASE; OOCD fsize_addr; ref §1.5). */
#define H7AX_IDS                                                                                   \
	H7_FLASH_IDS(0x480), .core = "cortex-m7", REVISIONS({0x1000, 'A'}, {0x1001, 'Z'}),         \
	                     .flash_size_reg = 0x08FFF80Cu, .uid_reg = 0x08FFF800u,                \
	                     .family = FT_FAMILY_H7AX, .reference_manual = "RM0455"
/* N6: DEV_ID 0x486 read from DBGMCU_IDCODE at DBGMCU_BASE_NS = APB3 + 0x1000, REV_ID 0x1000
 * (CMSIS-N6; CubeN6 OpenBootloader "Revision ID /0x1000") [U: letter A by ST's convention]; no
 * flash, no flash-size register; UID_BASE_NS 0x46009014 (ref §1.1, §1.6). */
#define N6_IDS                                                                                     \
	.dev_id = 0x486, .idcode_addr = 0x44001000u, .core = "cortex-m55", .revision_count = 1,    \
	.revisions = {{0x1000, 'A'}}, .uid_reg = 0x46009014u, .flash = {.layout = FT_FLASH_NONE},  \
	.bootloader = &n6_boot, .family = FT_FAMILY_N6, .reference_manual = "RM0486"

/* Flash-size register values (KB) per suffix letter: I 2048, G 1024, E 512, B 128 (ref §1.2,
 * §1.4, §1.5). */
#define VARIANT(flash_kb_, geometry_, prefix_)                                                     \
	.flash_size_kb = (flash_kb_), .flash = geometry_, REGIONS(prefix_##_regions),              \
	.bootloader = &prefix_##_boot
#define H74X_XI           VARIANT(2048, H74X_GEOMETRY(2, 8), h74x_xi)
#define H74X_XG           VARIANT(1024, H74X_GEOMETRY(2, 4), h74x_xg)
#define H74X_XB           VARIANT(128, H74X_GEOMETRY(1, 1), h74x_xb)
#define H74X_DUAL_CORE_XI VARIANT(2048, H74X_GEOMETRY(2, 8), h74x_dual_core_xi)
#define H74X_DUAL_CORE_XG VARIANT(1024, H74X_GEOMETRY(2, 4), h74x_dual_core_xg)
#define H72X_XG           VARIANT(1024, H72X_GEOMETRY(8), h72x_xg)
#define H72X_XE           VARIANT(512, H72X_GEOMETRY(4), h72x_xe)
#define H72X_XB           VARIANT(128, H72X_GEOMETRY(1), h72x_xb)
#define H7AX_XI           VARIANT(2048, H7AX_GEOMETRY(2, 128), h7ax_xi)
#define H7AX_XG           VARIANT(1024, H7AX_GEOMETRY(2, 64), h7ax_xg)
#define H7AX_XB           VARIANT(128, H7AX_GEOMETRY(1, 16), h7ax_xb)

/* Names are "STM32" + four-character line + 'x' + flash letter; ft_part_find relies on it.
 * Which line/size pairs ST sells: the CubeMX MCU list (every H7 order code, e.g. STM32H743ZGTx,
 * STM32H753ZITx; find_string id 1341296613). Pairs not sold are left out and noted. Within one
 * (DEV_ID, size) the line on the reference board comes first, for ft_part_by_id. */
static const ft_part parts[] = {
    /* RM0433. H742/H743 are sold as xG and xI, H753 as xI only, H750 as xB only. */
    {.name = "STM32H743xI", H74X_IDS, H74X_XI},
    {.name = "STM32H743xG", H74X_IDS, H74X_XG},
    {.name = "STM32H742xI", H74X_IDS, H74X_XI},
    {.name = "STM32H742xG", H74X_IDS, H74X_XG},
    {.name = "STM32H753xI", H74X_IDS, H74X_XI},
    {.name = "STM32H750xB", H74X_IDS, H74X_XB},
    /* RM0399. H745/H747 are sold as xG and xI, H755/H757 as xI only. */
    {.name = "STM32H745xI", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XI},
    {.name = "STM32H745xG", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XG},
    {.name = "STM32H747xI", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XI},
    {.name = "STM32H747xG", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XG},
    {.name = "STM32H755xI", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XI},
    {.name = "STM32H757xI", H74X_DUAL_CORE_IDS, H74X_DUAL_CORE_XI},
    /* RM0468. H723/H725 are sold as xE and xG, H733/H735 as xG only, H730 as xB only. */
    {.name = "STM32H723xG", H72X_IDS, H72X_XG},
    {.name = "STM32H723xE", H72X_IDS, H72X_XE},
    {.name = "STM32H725xG", H72X_IDS, H72X_XG},
    {.name = "STM32H725xE", H72X_IDS, H72X_XE},
    {.name = "STM32H733xG", H72X_IDS, H72X_XG},
    {.name = "STM32H735xG", H72X_IDS, H72X_XG},
    {.name = "STM32H730xB", H72X_IDS, H72X_XB},
    /* RM0455. H7A3 is sold as xG and xI, H7B3 as xI only, H7B0 as xB only. */
    {.name = "STM32H7A3xI", H7AX_IDS, H7AX_XI},
    {.name = "STM32H7A3xG", H7AX_IDS, H7AX_XG},
    {.name = "STM32H7B3xI", H7AX_IDS, H7AX_XI},
    {.name = "STM32H7B0xB", H7AX_IDS, H7AX_XB},
    /* RM0486. No internal flash: flash letter 0. */
    {.name = "STM32N657x0", N6_IDS, REGIONS(n6_npu_regions)},
    {.name = "STM32N647x0", N6_IDS, REGIONS(n6_npu_regions)},
    {.name = "STM32N655x0", N6_IDS, REGIONS(n6_regions)},
    {.name = "STM32N645x0", N6_IDS, REGIONS(n6_regions)},
};

#define PREFIX_LEN 5 /* "STM32" */
#define LINE_LEN   4 /* "H743", "H7A3", "N657" */

static const char *region_kind_names[] = {
    [FT_REGION_FLASH_BANK] = "flash-bank",
    [FT_REGION_HOLE] = "hole",
    [FT_REGION_ITCM] = "itcm",
    [FT_REGION_DTCM] = "dtcm",
    [FT_REGION_AXI_SRAM] = "axi-sram",
    [FT_REGION_AHB_SRAM] = "ahb-sram",
    [FT_REGION_SRD_SRAM] = "srd-sram",
    [FT_REGION_BACKUP_SRAM] = "backup-sram",
    [FT_REGION_OTP] = "otp",
    [FT_REGION_SYSTEM_MEMORY] = "system-memory",
    [FT_REGION_EXT_WINDOW] = "ext-window",
    [FT_REGION_PERIPHERAL] = "peripheral",
};

const char *ft_region_kind_name(ft_region_kind kind)
{
	if ((unsigned)kind >= ARRAY_LEN(region_kind_names) || !region_kind_names[kind])
		return "unknown";
	return region_kind_names[kind];
}

bool ft_region_kind_is_volatile(ft_region_kind kind)
{
	switch (kind) {
	case FT_REGION_ITCM:
	case FT_REGION_DTCM:
	case FT_REGION_AXI_SRAM:
	case FT_REGION_AHB_SRAM:
	case FT_REGION_SRD_SRAM:
	case FT_REGION_BACKUP_SRAM: return true;
	case FT_REGION_FLASH_BANK:
	case FT_REGION_HOLE:
	case FT_REGION_OTP:
	case FT_REGION_SYSTEM_MEMORY:
	case FT_REGION_EXT_WINDOW:
	case FT_REGION_PERIPHERAL: return false;
	}
	return false;
}

size_t ft_part_count(void)
{
	return ARRAY_LEN(parts);
}

const ft_part *ft_part_at(size_t index)
{
	return index < ARRAY_LEN(parts) ? &parts[index] : NULL;
}

static bool all_alnum(const char *s)
{
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s))
			return false;
	}
	return true;
}

const ft_part *ft_part_find(const char *spelling)
{
	if (!spelling)
		return NULL;
	if (strncasecmp(spelling, "STM32", PREFIX_LEN) == 0)
		spelling += PREFIX_LEN;
	if (strlen(spelling) < LINE_LEN || !all_alnum(spelling))
		return NULL;
	/* After the line: one package character, then the flash letter, then ignored suffixes. */
	const char *rest = spelling + LINE_LEN;
	bool has_flash_letter = strlen(rest) >= 2;
	const ft_part *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		const char *line = parts[i].name + PREFIX_LEN;
		char flash_letter = line[LINE_LEN + 1];
		if (strncasecmp(spelling, line, LINE_LEN) != 0)
			continue;
		if (has_flash_letter && toupper((unsigned char)rest[1]) != flash_letter)
			continue;
		found = &parts[i];
		matches++;
	}
	return matches == 1 ? found : NULL;
}

const ft_part *ft_part_by_id(uint16_t dev_id, uint32_t flash_size_kb)
{
	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		if (parts[i].dev_id == dev_id && parts[i].flash_size_kb == flash_size_kb)
			return &parts[i];
	}
	return NULL;
}

const ft_region *ft_part_region_at(const ft_part *part, uint32_t addr)
{
	if (!part)
		return NULL;
	for (size_t i = 0; i < part->region_count; i++) {
		const ft_region *r = &part->regions[i];
		if (addr >= r->start && addr - r->start < r->size)
			return r;
	}
	return NULL;
}

char ft_part_revision_name(const ft_part *part, uint16_t rev_id)
{
	if (!part)
		return '?';
	for (size_t i = 0; i < part->revision_count; i++) {
		if (part->revisions[i].rev_id == rev_id)
			return part->revisions[i].name;
	}
	return '?';
}
