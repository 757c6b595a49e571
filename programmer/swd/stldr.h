/* ST external flash loaders (.stldr, the format STM32CubeProgrammer and ST-LINK Utility load):
 * an ELF32 ARM executable with a `StorageInfo` object describing the memory, entry points that a
 * programmer calls on the target core, and PT_LOAD segments placed at their link address in
 * target RAM (devices.md §6.4, from STM32CubeN6 Middlewares/ST/STM32_ExtMem_Loader).
 *
 * StorageInfo, 200 bytes with natural alignment: DeviceName[100] (NUL-terminated), u16
 * DeviceType, 2 bytes padding, u32 DeviceStartAddress, u32 DeviceSize, u32 PageSize, u8
 * EraseValue, 3 bytes padding, Sectors[10] of {u32 SectorNum, u32 SectorSize} ended by {0, 0}.
 * Entry points (Thumb functions, arguments in R0-R3, result in R0, R0:R1 for Verify):
 *   Init()                                   required; 1 = success, 0 = failure
 *   Write(Address, Size, buffer)             required
 *   SectorErase(StartAddress, EndAddress)    required
 *   MassErase(Parallelism)                   optional: sector erase of the whole device instead
 *   Verify(MemAddr, RAMBufAddr, Size, miss)  optional: (checksum << 32) | first failing address
 *   Read(Address, Size, buffer)              optional
 *   CheckSum(StartAddress, Size, InitVal)    optional
 *
 * Everything in the file is input: bounds-checked (header, program headers, symbol table, string
 * table, StorageInfo within a segment's file bytes) and parsed byte by byte; a malformed file is
 * FT_ERR_FORMAT naming the place. Segments are loaded at p_vaddr (where the loader runs: it has
 * no start-up code to copy anything). ft_stldr_validate then checks the loader contract against a
 * part and the RAM the programmer itself needs, without touching a target.
 */
#ifndef FT_STLDR_H
#define FT_STLDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"

#define FT_STLDR_STORAGE_INFO_SIZE 200u
#define FT_STLDR_MAX_SECTOR_GROUPS 10u
#define FT_STLDR_MAX_SEGMENTS      8u
#define FT_STLDR_MAX_FILE          (16u << 20) /* loaders are a few KiB; refuse absurd files */
#define FT_STLDR_MAX_FUNCTIONS     256u        /* function symbols kept for fault messages */
#define FT_STLDR_MAX_FUNCTION_NAME 48u

/* DeviceType codes (stm32_device_info.h). */
typedef enum ft_stldr_device_type {
	FT_STLDR_MCU_FLASH = 1,
	FT_STLDR_NAND_FLASH = 2,
	FT_STLDR_NOR_FLASH = 3,
	FT_STLDR_SRAM = 4,
	FT_STLDR_PSRAM = 5,
	FT_STLDR_PC_CARD = 6,
	FT_STLDR_SPI_FLASH = 7,
	FT_STLDR_I2C_FLASH = 8,
	FT_STLDR_SDRAM = 9,
	FT_STLDR_I2C_EEPROM = 10,
} ft_stldr_device_type;

/* "NOR_FLASH", "SPI_FLASH", ...; "unknown" otherwise. */
const char *ft_stldr_device_type_name(unsigned type);

typedef struct ft_stldr_storage {
	char name[101]; /* DeviceName up to its NUL; bytes outside printable ASCII as '?' */
	uint16_t type;
	uint32_t start, size, page_size;
	uint8_t erase_value;
	size_t group_count; /* sector groups before the {0, 0} entry (all 10 if none) */
	struct {
		uint32_t count, size;
	} groups[FT_STLDR_MAX_SECTOR_GROUPS];
	bool terminated; /* a {0, 0} entry ended the list */
} ft_stldr_storage;

typedef enum ft_stldr_entry {
	FT_STLDR_INIT,
	FT_STLDR_WRITE,
	FT_STLDR_SECTOR_ERASE,
	FT_STLDR_MASS_ERASE,
	FT_STLDR_VERIFY,
	FT_STLDR_READ,
	FT_STLDR_CHECKSUM,
	FT_STLDR_ENTRY_COUNT,
} ft_stldr_entry;

/* The symbol name ("Init", "SectorErase"); "?" out of range. */
const char *ft_stldr_entry_name(ft_stldr_entry entry);

typedef struct ft_stldr_segment {
	uint32_t addr;     /* p_vaddr: where it is placed and runs */
	uint32_t lma;      /* p_paddr, for messages when it differs */
	uint32_t size;     /* p_filesz: bytes to write */
	uint32_t mem_size; /* p_memsz: the RAM it occupies (.bss included) */
	uint32_t flags;    /* p_flags: PF_X 1, PF_W 2, PF_R 4 */
	int index;         /* program-header index */
	bool storage_only; /* holds StorageInfo and no entry point: not loaded to the target */
	const uint8_t *data;
} ft_stldr_segment;

typedef struct ft_stldr ft_stldr;

/* Reads a loader file. name (for messages and the DeviceName check) is the path. Returns FT_OK
 * with *out; FT_ERR_NOT_FOUND / FT_ERR_IO for the file; FT_ERR_FORMAT for a malformed ELF, a
 * missing or short StorageInfo, a required entry point missing or not a Thumb function;
 * FT_ERR_RANGE for a file over FT_STLDR_MAX_FILE; FT_ERR_NO_MEM. */
ft_error ft_stldr_load_file(const char *path, ft_stldr **out, ft_diag *diag);

/* The same from memory (fuzz targets, tests); the bytes are copied. */
ft_error ft_stldr_load_buffer(const char *name, const uint8_t *bytes, size_t len, ft_stldr **out,
                              ft_diag *diag);

void ft_stldr_free(ft_stldr *loader);

const char *ft_stldr_name(const ft_stldr *loader); /* the path as given */
const ft_stldr_storage *ft_stldr_storage_info(const ft_stldr *loader);

/* The entry point's address with the Thumb bit as the symbol has it (set); false when the
 * loader does not have it. */
bool ft_stldr_entry_address(const ft_stldr *loader, ft_stldr_entry entry, uint32_t *addr);

/* The function symbol (STT_FUNC, local ones included) whose [value, value + size) holds addr
 * (Thumb bit ignored; a symbol of size 0 covers one halfword): its name and addr's offset in it.
 * false when none does (the first FT_STLDR_MAX_FUNCTIONS symbols are kept). */
bool ft_stldr_function_at(const ft_stldr *loader, uint32_t addr, const char **name,
                          uint32_t *offset);

size_t ft_stldr_segment_count(const ft_stldr *loader);
const ft_stldr_segment *ft_stldr_segment_at(const ft_stldr *loader, size_t index);

/* The RAM the loaded segments occupy: lowest address to the end of the highest (mem_size). */
void ft_stldr_footprint(const ft_stldr *loader, uint32_t *start, uint32_t *end);

/* ---- the loader contract ---- */

typedef enum ft_stldr_check {
	FT_STLDR_CHECK_NAME,          /* E01: DeviceName differs from the file name */
	FT_STLDR_CHECK_NO_MASS_ERASE, /* E02: no MassErase: whole-device erase by sectors */
	FT_STLDR_CHECK_SECTORS,       /* the sector table does not add up to DeviceSize */
	FT_STLDR_CHECK_GEOMETRY,      /* page size, erase value, device type out of reason */
	FT_STLDR_CHECK_WORK_AREA,     /* E04: overlaps RAM the programmer uses */
	FT_STLDR_CHECK_NOT_IN_RAM,    /* a segment is not in one RAM region of the part */
	FT_STLDR_CHECK_ENTRY_OUTSIDE, /* an entry point outside the loaded executable bytes */
	FT_STLDR_CHECK_DEVICE_WINDOW, /* DeviceStartAddress is not in an external window */
} ft_stldr_check;

/* Stable lower-case name ("name", "no-mass-erase", "work-area"); never NULL. */
const char *ft_stldr_check_name(ft_stldr_check check);

typedef struct ft_stldr_finding {
	ft_stldr_check check;
	bool fatal; /* the loader must not be run (false: a warning, worked around) */
	char message[320];
	char fix[320]; /* empty when there is nothing to do */
} ft_stldr_finding;

typedef struct ft_stldr_context {
	const ft_part *part;        /* NULL: no RAM and window checks */
	const ft_range *work_areas; /* RAM the programmer needs for itself (stack, buffers, the
	                             * breakpoint word), work_area_count entries */
	size_t work_area_count;
} ft_stldr_context;

/* Checks the contract; writes up to cap findings to out and returns how many there are (which
 * may exceed cap). A loader with no fatal finding may be run. ctx may be NULL. */
size_t ft_stldr_validate(const ft_stldr *loader, const ft_stldr_context *ctx, ft_stldr_finding *out,
                         size_t cap);

#endif
