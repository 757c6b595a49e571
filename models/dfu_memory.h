/* The memory side of the system bootloader model (models/dfu_bootloader): which addresses the ROM
 * accepts and what they are, UPLOAD reads, and the operations a DNLOAD starts (sector erase, mass
 * erase, program, option-byte change, read unprotect), driven through the flash_h7 register
 * interface exactly as ROM code drives the controller: KEYR/OPTKEYR unlock, CR PG/SER/BER/FW/
 * START, one flash word (16-bit OTP word) at a time, SR.QW polling, error flags cleared in CCR.
 *
 * An operation runs on the virtual clock: ft_dfu_memory_step moves it on as far as the flash
 * model's deadlines allow and never blocks. Only one operation runs at a time.
 *
 * Facts: register offsets and bits from devices.md §2 (CMSIS-H7, RM0433/RM0455), sequences from
 * §3.1 (HAL-H7, OpenOCD stm32h7x.c), accepted windows from the part table.
 * Not thread-safe; library code: never prints or exits.
 */
#ifndef FT_DFU_MEMORY_H
#define FT_DFU_MEMORY_H

#include "models/clock.h"
#include "models/dfu_bootloader.h"
#include "models/error.h"
#include "models/flash_h7.h"
#include "models/parts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DFU bStatus codes, DFU 1.1 §6.1.2 (ST USB library usbd_dfu.h; devices.md §5.3). This module
 * returns a subset; the state machine reports the rest. */
typedef enum ft_dfu_memory_status {
	FT_DFU_MEMORY_OK = 0x00,
	FT_DFU_MEMORY_ERR_TARGET = 0x01,
	FT_DFU_MEMORY_ERR_FILE = 0x02,
	FT_DFU_MEMORY_ERR_WRITE = 0x03,
	FT_DFU_MEMORY_ERR_ERASE = 0x04,
	FT_DFU_MEMORY_ERR_CHECK_ERASED = 0x05,
	FT_DFU_MEMORY_ERR_PROG = 0x06,
	FT_DFU_MEMORY_ERR_VERIFY = 0x07,
	FT_DFU_MEMORY_ERR_ADDRESS = 0x08,
	FT_DFU_MEMORY_ERR_NOTDONE = 0x09,
	FT_DFU_MEMORY_ERR_FIRMWARE = 0x0A,
	FT_DFU_MEMORY_ERR_VENDOR = 0x0B,
	FT_DFU_MEMORY_ERR_USBR = 0x0C,
	FT_DFU_MEMORY_ERR_POR = 0x0D,
	FT_DFU_MEMORY_ERR_UNKNOWN = 0x0E,
	FT_DFU_MEMORY_ERR_STALLEDPKT = 0x0F,
} ft_dfu_memory_status;

/* What a range of addresses is to the ROM. */
typedef enum ft_dfu_memory_area {
	FT_DFU_MEMORY_AREA_NONE,         /* not accepted: errTARGET */
	FT_DFU_MEMORY_AREA_FLASH,        /* a flash bank present on the part */
	FT_DFU_MEMORY_AREA_OTP,          /* user OTP area (H7A3/B3/B0) */
	FT_DFU_MEMORY_AREA_OPTION_BYTES, /* the option-register image at
	                            ft_bootloader_info.option_bytes_addr */
	FT_DFU_MEMORY_AREA_RAM,          /* a RAM window backed by this module */
	FT_DFU_MEMORY_AREA_WORKAREA, /* the ROM's reserved RAM; accepted only with the crash knob */
} ft_dfu_memory_area;

typedef enum ft_dfu_memory_op {
	FT_DFU_MEMORY_OP_ERASE,      /* the sector holding addr */
	FT_DFU_MEMORY_OP_MASS_ERASE, /* every bank present */
	FT_DFU_MEMORY_OP_WRITE,     /* len bytes of data at addr, into whatever memory holds them */
	FT_DFU_MEMORY_OP_UNPROTECT, /* RDP back to level 0: the option change mass-erases the flash
	                             */
} ft_dfu_memory_op;

typedef struct ft_dfu_memory_config {
	const ft_part *part; /* required; H7 flash layout */
	ft_flash_h7 *flash;  /* required, not owned */
	ft_clock *clock;     /* required, not owned */
	uint8_t *const *ram; /* FT_MAX_BOOTLOADER_WINDOWS entries or NULL, as
	                        ft_dfu_bootloader_config.ram */
	ft_dfu_bootloader_partial_word partial_word;
	bool no_readback_verify;
	bool workarea_accepted; /* FT_DFU_BOOTLOADER_WORKAREA_CRASH: the reserved RAM counts as
	                           writable */
} ft_dfu_memory_config;

typedef struct ft_dfu_memory ft_dfu_memory;

/* Returns FT_OK and *out, FT_ERR_INVALID_ARG (missing field, part without H7 flash or without
 * USB DFU) or FT_ERR_NO_MEM; diag (may be NULL) says which. */
ft_error ft_dfu_memory_new(const ft_dfu_memory_config *config, ft_dfu_memory **out, ft_diag *diag);
void ft_dfu_memory_free(ft_dfu_memory *mem);

/* What [addr, addr + len) is when wholly inside one memory the ROM accepts, FT_DFU_MEMORY_AREA_NONE
 * otherwise (also for len 0 or a range past 4 GiB): a writable window of the part table; with
 * ob_image (the option-byte alternate is selected) the whole option-register image, which is
 * larger than the alternate on dual-bank dies (see OB_IMAGE_DUAL_BANK); for a write (DNLOAD),
 * with the crash knob, the ROM's reserved RAM. */
ft_dfu_memory_area ft_dfu_memory_area_of(const ft_dfu_memory *mem, uint32_t addr, size_t len,
                                         bool write, bool ob_image);

/* Reads len bytes at addr for an UPLOAD (ob_image as above). Returns FT_DFU_MEMORY_OK and buf
 * filled, errTARGET (not accepted), errVERIFY (an uncorrectable ECC error on the way) or
 * errVENDOR (a PCROP or secure-only area refused the read) [U: the ROM's codes for read faults
 * are not documented]. */
ft_dfu_memory_status ft_dfu_memory_read(ft_dfu_memory *mem, uint32_t addr, uint8_t *buf, size_t len,
                                        bool ob_image);

/* Starts an operation; len <= the part's wTransferSize. Returns FT_DFU_MEMORY_OK when it started
 * (it may have finished already: see ft_dfu_memory_step), or the status that refuses it with
 * nothing touched: errTARGET for an address the operation does not accept (erase: outside the
 * flash banks; write: not wholly in one writable window or in the work area). Must not be called
 * while an operation runs (asserted). */
ft_dfu_memory_status ft_dfu_memory_start(ft_dfu_memory *mem, ft_dfu_memory_op op, uint32_t addr,
                                         const uint8_t *data, size_t len);

/* Moves the operation on as far as the clock allows. Returns true while it is still running. */
bool ft_dfu_memory_step(ft_dfu_memory *mem);

/* The clock time at which the running operation can move on (the flash model's next completion),
 * UINT64_MAX when none runs. */
uint64_t ft_dfu_memory_next_event_ns(ft_dfu_memory *mem);

/* The result of the last operation once it has finished: FT_DFU_MEMORY_OK or the error it
 * ended with (mapping in dfu_memory.c). */
ft_dfu_memory_status ft_dfu_memory_result(const ft_dfu_memory *mem);

/* bwPollTimeout for the operation: the milliseconds left on the clock (rounded down), or, when
 * the clock leaves nothing to wait (FT_CLOCK_INSTANT, or an operation without flash work), its
 * datasheet duration; always 1..0xFFFFFF. */
uint32_t ft_dfu_memory_poll_ms(ft_dfu_memory *mem);

/* The bytes backing [addr, addr + len) inside one RAM window, or NULL. */
uint8_t *ft_dfu_memory_ram(ft_dfu_memory *mem, uint32_t addr, size_t len);

#endif
