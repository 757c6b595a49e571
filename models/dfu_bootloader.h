/* The ST system bootloader's USB DFU function (AN2606, AN3156) on STM32H74x/75x, H745/747/755/757,
 * H72x/73x and H7A3/B3/B0, as an ft_usb_device (models/usb_device.h).
 *
 * Identity and descriptors come from the part table (ft_part.bootloader): 0483:df11, bcdDevice,
 * "STMicroelectronics", "DFU in FS Mode", one configuration with one DFU interface whose alternate
 * settings carry the DfuSe layout strings, a DFU functional descriptor (wTransferSize, bcdDFU
 * 0x011A). Full speed. Standard requests go through models/usb_std; the DFU class requests
 * (DETACH, DNLOAD, UPLOAD, GETSTATUS, CLRSTATUS, GETSTATE, ABORT) and the DfuSe commands (Get
 * Commands, Set Address Pointer 0x21, Erase 0x41, Mass Erase, Read Unprotect 0x92, leave) are
 * answered here, as dfu-util and STM32CubeProgrammer expect them (reference emulators.md §5,
 * programmers.md §1.2-1.3):
 *   - a DNLOAD is executed at the first GETSTATUS after it, which answers dfuDNBUSY with a
 *     nonzero bwPollTimeout: the time left in the flash operation on the shared ft_clock,
 *     rounded down to whole ms (in FT_CLOCK_INSTANT mode, the datasheet duration), at least
 *     1 ms [U].
 *   - while a flash operation runs, every request answers FT_USB_NAK: the ROM serves no request
 *     until its erase or program returns (USBLIB runs them from the USB interrupt) [U]. A host
 *     that polls when bwPollTimeout has passed thus gets its GETSTATUS answered the moment the
 *     operation ends, with the result. Completions are driven by the clock: any call (a
 *     request, ft_dfu_bootloader_poll) first completes what the clock has passed, each flash
 *     word started at the deadline of the one before it.
 *   - memory is programmed only through the flash_h7 register interface, as the ROM does
 *     (KEYR, CR PG/SER/BER/FW/START, whole flash-word stores, SR/QW polling, CCR, OPTKEYR/OPTCR).
 * The state machine, the descriptors, the accepted addresses, the error mapping and every [U]
 * choice are documented in dfu_bootloader.c, dfu_descriptors.c and dfu_memory.c.
 *
 * Leaving DFU: after a zero-length DNLOAD (leave), a Read Unprotect, an option-byte write, a
 * disconnect fault or a crash of the ROM, the device is gone: it fires the exit callback once,
 * every later control transfer ends in FT_USB_ERROR (no handshake: the device is off the bus) and
 * ft_dfu_bootloader_exit_reason says why. The host takes it off the bus; for
 * FT_DFU_BOOTLOADER_EXIT_RESET it performs the system reset (ft_flash_h7_reset, boot from the
 * pins), for FT_DFU_BOOTLOADER_EXIT_JUMP it starts the code at the jump address.
 *
 * Not thread-safe: one host thread drives the device. Callbacks run inside a control transfer and
 * must not call back into this device. Library code: never prints or exits.
 */
#ifndef FT_DFU_BOOTLOADER_H
#define FT_DFU_BOOTLOADER_H

#include "models/clock.h"
#include "models/error.h"
#include "models/flash_h7.h"
#include "models/parts.h"
#include "models/usb_device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the ROM does with a flash word (16-bit OTP word) that a DNLOAD covers only in part, at
 * its head or its tail. The ROM's behaviour is not documented [U] (devices.md §5.3; CATALOGUE
 * D08), so both are offered. */
typedef enum ft_dfu_bootloader_partial_word {
	FT_DFU_BOOTLOADER_PARTIAL_WORD_PAD = 0, /* knob A: store the bytes and force-write (CR.FW),
	                                         * the missing bytes become 0xFF; OTP: the halfword
	                                         * is padded with 0xFF */
	FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP,    /* knob B: the partial word is not written at all */
} ft_dfu_bootloader_partial_word;

/* A DNLOAD into the ROM's own work RAM (ft_bootloader_info.reserved_ram; CATALOGUE §2C).
 *   REFUSE (default): errTARGET, like any address the ROM does not accept.
 *   CRASH: accepted; executing it overwrites the ROM's data and the device stops answering
 *          (FT_DFU_BOOTLOADER_EXIT_CRASH). */
typedef enum ft_dfu_bootloader_workarea {
	FT_DFU_BOOTLOADER_WORKAREA_REFUSE = 0,
	FT_DFU_BOOTLOADER_WORKAREA_CRASH,
} ft_dfu_bootloader_workarea;

/* Why the device left the bus. */
typedef enum ft_dfu_bootloader_exit {
	FT_DFU_BOOTLOADER_EXIT_NONE = 0,   /* still in DFU mode */
	FT_DFU_BOOTLOADER_EXIT_JUMP,       /* leave: jump to the address pointer */
	FT_DFU_BOOTLOADER_EXIT_RESET,      /* system reset after Read Unprotect or an option-byte
	                                    * write [U for the latter] */
	FT_DFU_BOOTLOADER_EXIT_DISCONNECT, /* fault knob: the device dropped off at a data block */
	FT_DFU_BOOTLOADER_EXIT_CRASH,      /* fault knob: a write into the ROM's work RAM */
} ft_dfu_bootloader_exit;

/* Stable lower-case name ("jump", "reset"); "unknown" for a value outside the enum. */
const char *ft_dfu_bootloader_exit_name(ft_dfu_bootloader_exit exit);

/* Forces one of the part's quirks (ft_bootloader_info.quirks, by name) on or off, whatever the
 * revision says. */
typedef struct ft_dfu_bootloader_quirk {
	const char *name;
	bool enabled;
} ft_dfu_bootloader_quirk;

/* One control transfer as the device saw it, for conformance records. data/len are the data
 * stage (OUT: what the host sent; IN: what the device answered, actual bytes), valid only
 * during the callback. */
typedef struct ft_dfu_bootloader_trace {
	uint64_t time_ns; /* clock time when the request arrived */
	uint8_t setup[8];
	const uint8_t *data;
	size_t len;    /* wLength */
	size_t actual; /* bytes moved */
	ft_usb_status result;
	uint8_t state_before, status_before; /* bState/bStatus (DFU 1.1 §6.1.2 codes) before */
	uint8_t state_after, status_after;   /* and after it */
} ft_dfu_bootloader_trace;

typedef struct ft_dfu_bootloader_config {
	const ft_part *part; /* required; its bootloader must have has_usb_dfu (not N6) */
	uint16_t rev_id;     /* required: one of part->revisions; selects the quirks */
	ft_flash_h7 *flash;  /* required, not owned: the part's flash model */
	ft_clock *clock;     /* required, not owned: the flash model's clock */
	uint32_t uid[3];     /* the 96-bit unique ID (UID_BASE words 0..2): H72x/H7Ax serial */
	/* Backing for each RAM window of part->bootloader->writable, by the same index: NULL to
	 * have the model allocate it (zero-filled); otherwise at least that window's size bytes,
	 * not owned (a host may share them with QEMU). Entries of non-RAM windows are ignored. */
	uint8_t *ram[FT_MAX_BOOTLOADER_WINDOWS];
	const ft_dfu_bootloader_quirk *quirk_overrides; /* quirk_override_count entries */
	size_t quirk_override_count;

	/* Knobs (CATALOGUE §6); zero is the default behaviour. */
	ft_dfu_bootloader_partial_word partial_word;
	bool no_readback_verify;      /* the ROM does not read back what it programmed, so
	                               * programming over programmed words corrupts them silently
	                               * (D07 variant); by default it verifies: errVERIFY */
	unsigned disconnect_at_block; /* N > 0: the N-th data DNLOAD (wBlockNum >= 2, counted from
	                               * 1) is never answered: FT_DFU_BOOTLOADER_EXIT_DISCONNECT */
	unsigned corrupt_block;       /* N > 0: once the N-th data DNLOAD has been programmed into
	                               * flash, the ECC of its first flash word is corrupted */
	bool corrupt_double;          /* ... with a double (uncorrectable) error, else single */
	ft_dfu_bootloader_workarea workarea;

	/* Called once when the device leaves the bus, from inside the control transfer that
	 * caused it (or from ft_dfu_bootloader_poll/_exit_reason when time completed it). jump_addr
	 * is the address pointer for FT_DFU_BOOTLOADER_EXIT_JUMP, else 0. Optional. */
	void (*on_exit)(void *user, ft_dfu_bootloader_exit reason, uint32_t jump_addr);
	void *exit_user;
	/* Called after every control transfer the device handles. Optional. */
	void (*trace)(void *user, const ft_dfu_bootloader_trace *record);
	void *trace_user;
} ft_dfu_bootloader_config;

typedef struct ft_dfu_bootloader ft_dfu_bootloader;

/* Creates the bootloader in the state after the ROM has started: USB Default state, dfuIDLE,
 * status OK, address pointer 0x08000000 [U]. Marks the flash model as accessed by boot code
 * (ft_flash_h7_set_intrusion true: the core booted from system memory). Returns FT_OK and *out,
 * or FT_ERR_INVALID_ARG (a required field missing, rev_id not a revision of the part, a knob
 * out of its enum), FT_ERR_UNSUPPORTED (the part has no USB DFU bootloader, or an active quirk
 * is not one this model reproduces), FT_ERR_NOT_FOUND (an override names a quirk the part does
 * not declare) or FT_ERR_NO_MEM; diag (may be NULL) says which. */
ft_error ft_dfu_bootloader_new(const ft_dfu_bootloader_config *config, ft_dfu_bootloader **out,
                               ft_diag *diag);

/* Frees the model and the RAM it allocated. NULL is ignored. The host must have stopped calling
 * its ft_usb_device. */
void ft_dfu_bootloader_free(ft_dfu_bootloader *bl);

/* The device to hand to a host (USB/IP server, tests); valid until ft_dfu_bootloader_free. */
ft_usb_device ft_dfu_bootloader_usb_device(ft_dfu_bootloader *bl);

/* Moves a running operation on as far as the clock allows and returns the clock time (ns) at
 * which it next needs a call, UINT64_MAX when nothing runs. The ROM programs one flash word after
 * the other, each waited for: a host that keeps time (FT_CLOCK_REAL, or a test stepping a manual
 * clock) calls this at the returned time so that a held-back GETSTATUS is answered as the
 * operation ends; a call that comes late still starts each word at the deadline of the one
 * before it. A host that only sends requests still gets every operation done. */
uint64_t ft_dfu_bootloader_poll(ft_dfu_bootloader *bl);

/* Whether the device has left the bus, and why; FT_DFU_BOOTLOADER_EXIT_NONE while it is in DFU
 * mode. First completes what the clock has passed, so a host that polls it sees a reset that ends
 * an option-byte change without sending a request. *jump_addr (may be NULL) receives the jump
 * address for FT_DFU_BOOTLOADER_EXIT_JUMP, else 0. */
ft_dfu_bootloader_exit ft_dfu_bootloader_exit_reason(ft_dfu_bootloader *bl, uint32_t *jump_addr);

/* Whether the named quirk is in effect on this device (revision match or override). */
bool ft_dfu_bootloader_quirk_active(const ft_dfu_bootloader *bl, const char *name);

/* The bytes backing [addr, addr + len) of one RAM window the ROM accepts writes into, or NULL
 * when the range is not wholly inside one. */
uint8_t *ft_dfu_bootloader_ram(ft_dfu_bootloader *bl, uint32_t addr, size_t len);

#endif
