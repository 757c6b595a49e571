/* flashtwin's open external-flash loaders: the ST .stldr entry points (loader.c, written once)
 * over one device driver per board (w25q256_h743.c, mx25um_n657.c). Bare metal, no C library, no
 * interrupts: code built with arm-none-eabi-gcc, run on the target core by a programmer that
 * calls one entry point at a time (devices.md §6.4).
 *
 * The driver owns the controller, the pins and the flash protocol; loader.c owns the contract:
 * address checks against the window, page splitting, the erase-unit choice, the memory-mapped
 * state each entry point leaves, Verify/CheckSum/Read through the window, and the fault variants
 * of the E-scenarios (LDR_FAULT_* build flags, CATALOGUE.md §5.4). Offsets passed to the driver
 * are flash offsets (address - base), already checked to lie in the device. */
#ifndef LDR_LOADER_H
#define LDR_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#define LDR_OK   1u /* ST "external loader part 2": LOADER_OK 0x1, LOADER_FAIL 0x0 */
#define LDR_FAIL 0u

/* ST's StorageInfo, 200 bytes with natural alignment (devices.md §6.4; stm32_device_info.h). */
#define LDR_NOR_FLASH 3u /* stm32_device_info.h: NOR_FLASH 3 */
struct StorageInfo {
	char DeviceName[100];
	uint16_t DeviceType;
	uint32_t DeviceStartAddress;
	uint32_t DeviceSize;
	uint32_t PageSize;
	uint8_t EraseValue;
	struct {
		uint32_t SectorNum;
		uint32_t SectorSize;
	} Sectors[10];
};

/* The device as the code needs it at run time: StorageInfo sits in a segment the programmer
 * reads but does not load, so the driver repeats these values for loader.c. */
typedef struct ldr_geometry {
	uint32_t base;   /* memory-mapped window = DeviceStartAddress */
	uint32_t size;   /* DeviceSize */
	uint32_t page;   /* page-program buffer */
	uint32_t sector; /* smallest erase unit */
	uint32_t block;  /* large erase unit, used when a whole aligned block is to be erased */
} ldr_geometry;

extern const ldr_geometry ldr_geo;

/* ---- the driver (one per board) ----
 * Every function returns true on success. A false return means the loader call fails; nothing
 * is retried. Waits on the controller (transfer complete, FIFO) are bounded and fail when they
 * run out; waits on the flash's own busy time are not: a programmer bounds every call. */

/* Clocks, pins and controller; resets the flash from any protocol it may be in (SPI, octal STR,
 * octal DTR), checks its JEDEC ID and puts it in the loader's protocol. Block protection is
 * reported (ldr_dev_protected), never cleared. Leaves memory-mapped mode off. */
bool ldr_dev_init(void);

/* True when the flash's block-protect bits are not all zero (the erase/program would be ignored
 * by the flash for some range). */
bool ldr_dev_protected(void);

/* Erases the unit of size bytes (ldr_geo.sector or ldr_geo.block) at offset, aligned to it, and
 * waits for the flash to finish. */
bool ldr_dev_erase(uint32_t offset, uint32_t size);

/* Chip erase, waiting for the flash to finish. */
bool ldr_dev_chip_erase(void);

/* Programs len (1..ldr_geo.page) bytes at offset, all within one page, and waits. */
bool ldr_dev_program(uint32_t offset, const uint8_t *data, uint32_t len);

/* Enters memory-mapped mode (the window at ldr_geo.base then reads the flash), or aborts it and
 * leaves the controller idle. Idempotent. */
bool ldr_dev_mapped(bool on);

#endif
