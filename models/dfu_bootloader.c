/* The ST system bootloader's USB DFU function: the DFU 1.1 + DfuSe state machine, quirks, exits.
 * Descriptors live in dfu_descriptors.c, memory access in dfu_memory.c.
 *
 * Sources: AN3156 (DfuSe commands), DFU 1.1 §6.1.2 (states, statuses), the ST USB device library
 * usbd_dfu.c (USBLIB: the request rules the ROM is built on), dfu-util dfuse.c (what hosts
 * expect), all as quoted in devices.md §5, emulators.md §5 and programmers.md §1.2-1.3, §1.8.
 *
 * State machine (dispatch on request, then on state; transitions only in the functions named
 * here):
 *   DNLOAD   dfuIDLE/DNLOAD_IDLE -> DNLOAD_SYNC (data or command stored, nothing executed);
 *            wLength 0 -> MANIFEST_SYNC (leave). Other states: STALL, no change (USBLIB).
 *   GETSTATUS in DNLOAD_SYNC executes the DNLOAD (execute_dnload) and answers dfuDNBUSY with the
 *            poll time; every request that comes while the operation runs is NAKed until it
 *            ends (handle); in DNBUSY GETSTATUS then answers the result: DNLOAD_IDLE, or
 *            dfuERROR with the error status (complete_operation); in
 *            MANIFEST_SYNC the ROM jumps before the status stage ends, so the transfer fails:
 *            dfu-util's "Error during download get_status" after :leave (programmers.md §1.8 #4).
 *   UPLOAD   dfuIDLE/UPLOAD_IDLE: block 0 = Get Commands, block >= 2 = memory -> UPLOAD_IDLE
 *            (dfuIDLE after a short frame).
 *   CLRSTATUS dfuERROR -> dfuIDLE/OK; any other state -> dfuERROR/errUNKNOWN (USBLIB
 *            DFU_ClearStatus; this is what the H743 rev V recovery relies on).
 *   ABORT, DETACH  dfuIDLE, DNLOAD_SYNC, DNLOAD_IDLE, MANIFEST_SYNC, UPLOAD_IDLE -> dfuIDLE/OK;
 *            ignored in the other states (USBLIB DFU_Abort; DETACH means nothing in DFU mode [U]).
 *   A malformed DNLOAD/UPLOAD in an allowed state (wBlockNum 1, wLength over wTransferSize, an
 *            unknown command) STALLs and enters dfuERROR/errSTALLEDPKT (DFU 1.1 §6.1.2; USBLIB
 *            does so for UPLOAD block 1) [U for the rest].
 *   An UPLOAD the ROM refuses STALLs and enters dfuERROR with the reason (errTARGET, errVENDOR)
 *            [U: AN3156 gives the codes, not how an IN request reports them].
 * Read protection (RDP level 1, OPTSR_CUR.RDP != 0xAA/0xCC): memory reads and writes and every
 * erase answer errVENDOR and touch nothing (AN3156; devices.md §5.3); Get Commands, Set Address
 * Pointer, Read Unprotect, leave and the option-byte alternate still work [U: the option bytes
 * must stay reachable for RDP to be lowered; CubeProgrammer reads them on protected parts].
 */
#include "models/dfu_bootloader.h"
#include "models/dfu_descriptors.h"
#include "models/dfu_memory.h"
#include "models/usb_std.h"

#include <stdlib.h>
#include <string.h>

/* DFU class requests, DFU 1.1 §3 Table 3.2. */
enum dfu_request {
	DFU_DETACH = 0,
	DFU_DNLOAD = 1,
	DFU_UPLOAD = 2,
	DFU_GETSTATUS = 3,
	DFU_CLRSTATUS = 4,
	DFU_GETSTATE = 5,
	DFU_ABORT = 6,
};

/* bState values, DFU 1.1 §6.1.2. */
enum dfu_state {
	STATE_APP_IDLE = 0,
	STATE_APP_DETACH = 1,
	STATE_IDLE = 2,
	STATE_DNLOAD_SYNC = 3,
	STATE_DNBUSY = 4,
	STATE_DNLOAD_IDLE = 5,
	STATE_MANIFEST_SYNC = 6,
	STATE_MANIFEST = 7,
	STATE_MANIFEST_WAIT_RESET = 8,
	STATE_UPLOAD_IDLE = 9,
	STATE_ERROR = 10,
};

/* DfuSe commands, AN3156 (DNLOAD wBlockNum 0; Get Commands is UPLOAD wBlockNum 0). */
#define CMD_GET_COMMANDS   0x00
#define CMD_SET_ADDRESS    0x21
#define CMD_ERASE          0x41
#define CMD_READ_UNPROTECT 0x92

#define GETSTATUS_SIZE 6 /* bStatus, bwPollTimeout[3], bState, iString (DFU 1.1 §6.1.2) */

/* The H7 ROMs list flash, option bytes, OTP in that order (devices.md §5.2). */
#define ALT_OPTION_BYTES 1

#define POINTER_AT_START 0x08000000u /* address pointer before any Set Address [U] */

/* Quirks this model reproduces, by the part table's switch name (ft_bootloader_quirk). A quirk
 * whose only effect is a different descriptor (alt_names set) needs no entry. */
typedef enum quirk_effect {
	QUIRK_BANK2_ERASE_STUCK_DNBUSY, /* after a bank-2 sector erase the state stays dfuDNBUSY
	                                 * until CLRSTATUS (programmers.md §1.8 #1) */
} quirk_effect;

static const struct {
	const char *name;
	quirk_effect effect;
} known_quirks[] = {
    {"h74x-rev-v-bank2-erase-dnbusy", QUIRK_BANK2_ERASE_STUCK_DNBUSY},
};

/* What a DNLOAD asked for, executed at the next GETSTATUS. */
typedef enum pending {
	PENDING_NONE,
	PENDING_SET_ADDRESS,
	PENDING_ERASE,
	PENDING_MASS_ERASE,
	PENDING_UNPROTECT,
	PENDING_WRITE,
} pending;

struct ft_dfu_bootloader {
	const ft_part *part;
	const ft_bootloader_info *info;
	ft_flash_h7 *flash;
	ft_clock *clock;
	ft_dfu_memory *mem;
	ft_usb_device dev;
	ft_usb_std_state std;

	ft_dfu_descriptors *desc;

	uint32_t quirks_active; /* bit i: info->quirks[i] in effect */
	bool bank2_erase_stuck; /* QUIRK_BANK2_ERASE_STUCK_DNBUSY in effect */

	uint8_t state, status;
	ft_dfu_memory_status
	    result; /* of the last DNLOAD, reported by the GETSTATUS after dfuDNBUSY */
	uint32_t pointer;
	pending pending;
	uint32_t pending_addr; /* command argument */
	uint16_t pending_block;
	size_t pending_len;
	uint8_t *buf; /* info->transfer_size bytes of DNLOAD data */

	bool running;          /* a memory operation runs */
	uint64_t due;          /* clock time it next needs a step: its flash's next deadline, read
	                        * when it last stepped (later readings complete what is due) */
	bool stuck_after;      /* the running erase triggers the bank-2 quirk */
	bool stuck;            /* the quirk holds the state in dfuDNBUSY */
	bool reset_after;      /* the running operation ends in a system reset */
	bool discard;          /* a bus reset came during the operation: drop its result */
	uint32_t corrupt_addr; /* nonzero: corrupt this flash word when the operation succeeds */

	unsigned data_blocks; /* data DNLOADs received */
	ft_dfu_bootloader_exit exit;
	uint32_t jump_addr;

	ft_dfu_bootloader_config cfg; /* knobs and callbacks */
};

/* ---- exit names --------------------------------------------------------------------------------
 */

static const char *const exit_names[] = {"none", "jump", "reset", "disconnect", "crash"};

const char *ft_dfu_bootloader_exit_name(ft_dfu_bootloader_exit exit)
{
	unsigned i = (unsigned)exit;
	return i < sizeof(exit_names) / sizeof(exit_names[0]) ? exit_names[i] : "unknown";
}

/* ---- descriptors -------------------------------------------------------------------------- */

static const uint8_t *bl_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                    size_t *len)
{
	ft_dfu_bootloader *bl = ctx;
	(void)langid; /* one language, answered for any */
	return ft_dfu_descriptors_get(bl->desc, type, index, len);
}

/* ---- exits, protection, completion --------------------------------------------------------- */

static void leave_bus(ft_dfu_bootloader *bl, ft_dfu_bootloader_exit reason, uint32_t jump_addr)
{
	if (bl->exit != FT_DFU_BOOTLOADER_EXIT_NONE)
		return;
	bl->exit = reason;
	bl->jump_addr = jump_addr;
	if (bl->cfg.on_exit)
		bl->cfg.on_exit(bl->cfg.exit_user, reason, jump_addr);
}

static bool read_protected(ft_dfu_bootloader *bl)
{
	ft_flash_h7_options options;
	ft_flash_h7_get_options(bl->flash, &options);
	return options.rdp_level >= 1;
}

static bool option_alt_selected(const ft_dfu_bootloader *bl)
{
	return bl->info->option_bytes_addr != 0 && bl->std.alt_setting[0] == ALT_OPTION_BYTES;
}

/* The operation has finished: fix the state the next GETSTATUS reports, or leave the bus. */
static void complete_operation(ft_dfu_bootloader *bl, ft_dfu_memory_status result)
{
	bl->running = false;
	if (bl->reset_after) {
		leave_bus(bl, FT_DFU_BOOTLOADER_EXIT_RESET, 0);
		return;
	}
	if (bl->discard) {
		bl->discard = false;
		bl->state = STATE_IDLE;
		bl->status = FT_DFU_MEMORY_OK;
		return;
	}
	if (result == FT_DFU_MEMORY_OK && bl->corrupt_addr != 0 &&
	    ft_flash_h7_inject_ecc_error(bl->flash, bl->corrupt_addr, bl->cfg.corrupt_double) !=
	        FT_OK)
		result = FT_DFU_MEMORY_ERR_UNKNOWN;
	bl->corrupt_addr = 0;
	bl->result = result;
	bl->stuck = result == FT_DFU_MEMORY_OK && bl->stuck_after;
}

/* Steps one operation may take in one call: a block of 64 flash words of 16 bytes (H7A3, 1 KiB
 * per block) with room to spare; a bound, not a limit any operation reaches. */
#define MAX_STEPS_PER_CALL 1024

/* Moves a running operation on as far as the clock has passed; every entry point calls it
 * first, and it steps at least once (a step may start the operation or retry a write the bus
 * stalled). The ROM waits for each flash word in a loop and starts the next as the last one
 * ends, so each step that fell due runs with the clock held at its deadline: a late call (the
 * host's wake-up latency, a request that came later) does not delay the words that follow. */
static void advance(ft_dfu_bootloader *bl)
{
	for (unsigned i = 0; bl->running && bl->exit == FT_DFU_BOOTLOADER_EXIT_NONE; i++) {
		if (i == MAX_STEPS_PER_CALL || (i > 0 && bl->due > ft_clock_now_ns(bl->clock)))
			return;
		ft_clock_hold(bl->clock, bl->due);
		bool more = ft_dfu_memory_step(bl->mem);
		bl->due = more ? ft_dfu_memory_next_event_ns(bl->mem) : UINT64_MAX;
		ft_clock_release(bl->clock);
		if (!more)
			complete_operation(bl, ft_dfu_memory_result(bl->mem));
	}
}

static ft_dfu_memory_status start_operation(ft_dfu_bootloader *bl, ft_dfu_memory_op op,
                                            uint32_t addr, const uint8_t *data, size_t len)
{
	ft_dfu_memory_status status = ft_dfu_memory_start(bl->mem, op, addr, data, len);
	if (status == FT_DFU_MEMORY_OK) {
		bl->running = true;
		bl->due = ft_dfu_memory_next_event_ns(bl->mem);
	}
	return status;
}

/* Executes the stored DNLOAD at the first GETSTATUS after it (AN3156; dfu-util expects this
 * GETSTATUS to answer dfuDNBUSY). Returns the status the operation failed to start with, or OK:
 * a started operation reports its own result when it finishes. */
static ft_dfu_memory_status execute_dnload(ft_dfu_bootloader *bl)
{
	bool ob_alt = option_alt_selected(bl);
	switch (bl->pending) {
	case PENDING_NONE: break;
	case PENDING_SET_ADDRESS: {
		uint32_t a = bl->pending_addr;
		if (ft_dfu_memory_area_of(bl->mem, a, 1, false, ob_alt) ==
		        FT_DFU_MEMORY_AREA_NONE &&
		    ft_dfu_memory_area_of(bl->mem, a, 1, true, ob_alt) == FT_DFU_MEMORY_AREA_NONE)
			return FT_DFU_MEMORY_ERR_TARGET;
		bl->pointer = a;
		return FT_DFU_MEMORY_OK;
	}
	case PENDING_ERASE:
	case PENDING_MASS_ERASE: {
		if (read_protected(bl))
			return FT_DFU_MEMORY_ERR_VENDOR;
		bool sector = bl->pending == PENDING_ERASE;
		uint32_t bank2 = bl->part->flash.bank_base[1];
		bl->stuck_after =
		    sector && bl->bank2_erase_stuck && bank2 != 0 && bl->pending_addr >= bank2;
		return start_operation(
		    bl, sector ? FT_DFU_MEMORY_OP_ERASE : FT_DFU_MEMORY_OP_MASS_ERASE,
		    bl->pending_addr, NULL, 0);
	}
	case PENDING_UNPROTECT:
		bl->reset_after = true;
		return start_operation(bl, FT_DFU_MEMORY_OP_UNPROTECT, 0, NULL, 0);
	case PENDING_WRITE: {
		uint64_t addr =
		    bl->pointer + (uint64_t)(bl->pending_block - 2) * bl->info->transfer_size;
		if (addr + bl->pending_len > (uint64_t)UINT32_MAX + 1)
			return FT_DFU_MEMORY_ERR_TARGET;
		uint32_t a = (uint32_t)addr;
		ft_dfu_memory_area kind =
		    ft_dfu_memory_area_of(bl->mem, a, bl->pending_len, true, ob_alt);
		if (kind == FT_DFU_MEMORY_AREA_WORKAREA) {
			leave_bus(bl, FT_DFU_BOOTLOADER_EXIT_CRASH, 0);
			return FT_DFU_MEMORY_OK;
		}
		if (kind != FT_DFU_MEMORY_AREA_OPTION_BYTES && read_protected(bl))
			return FT_DFU_MEMORY_ERR_VENDOR;
		if (kind == FT_DFU_MEMORY_AREA_NONE)
			return FT_DFU_MEMORY_ERR_TARGET;
		bl->reset_after = kind == FT_DFU_MEMORY_AREA_OPTION_BYTES;
		if (kind == FT_DFU_MEMORY_AREA_FLASH && bl->cfg.corrupt_block != 0 &&
		    bl->data_blocks == bl->cfg.corrupt_block)
			bl->corrupt_addr = a & ~(uint32_t)(bl->part->flash.word_size - 1);
		return start_operation(bl, FT_DFU_MEMORY_OP_WRITE, a, bl->buf, bl->pending_len);
	}
	}
	return FT_DFU_MEMORY_OK;
}

/* ---- class requests ----------------------------------------------------------------------- */

static ft_usb_status stall_error(ft_dfu_bootloader *bl, ft_dfu_memory_status status)
{
	bl->state = STATE_ERROR;
	bl->status = status;
	return FT_USB_STALL;
}

static ft_usb_status reply(uint8_t *data, size_t len, size_t *actual, const uint8_t *bytes,
                           size_t n)
{
	*actual = n < len ? n : len;
	if (*actual)
		memcpy(data, bytes, *actual);
	return FT_USB_OK;
}

static ft_usb_status dnload(ft_dfu_bootloader *bl, const ft_usb_setup *s, const uint8_t *data,
                            size_t len, size_t *actual)
{
	if (bl->state != STATE_IDLE && bl->state != STATE_DNLOAD_IDLE)
		return FT_USB_STALL;
	if (len > bl->info->transfer_size)
		return stall_error(bl, FT_DFU_MEMORY_ERR_STALLEDPKT);
	if (len == 0) {
		bl->state = STATE_MANIFEST_SYNC;
		return FT_USB_OK;
	}
	bl->pending_len = len;
	if (s->wValue == 0) {
		uint32_t arg = len == 5 ? (uint32_t)data[1] | (uint32_t)data[2] << 8 |
		                              (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24
		                        : 0;
		if (data[0] == CMD_SET_ADDRESS && len == 5)
			bl->pending = PENDING_SET_ADDRESS;
		else if (data[0] == CMD_ERASE && len == 5)
			bl->pending = PENDING_ERASE;
		else if (data[0] == CMD_ERASE && len == 1)
			bl->pending = PENDING_MASS_ERASE;
		else if (data[0] == CMD_READ_UNPROTECT && len == 1)
			bl->pending = PENDING_UNPROTECT;
		else
			return stall_error(bl, FT_DFU_MEMORY_ERR_STALLEDPKT);
		bl->pending_addr = arg;
	} else if (s->wValue == 1) {
		return stall_error(bl, FT_DFU_MEMORY_ERR_STALLEDPKT);
	} else {
		bl->data_blocks++;
		if (bl->data_blocks == bl->cfg.disconnect_at_block) {
			leave_bus(bl, FT_DFU_BOOTLOADER_EXIT_DISCONNECT, 0);
			return FT_USB_ERROR;
		}
		memcpy(bl->buf, data, len);
		bl->pending = PENDING_WRITE;
		bl->pending_block = s->wValue;
	}
	bl->state = STATE_DNLOAD_SYNC;
	*actual = len;
	return FT_USB_OK;
}

static ft_usb_status upload(ft_dfu_bootloader *bl, const ft_usb_setup *s, uint8_t *data, size_t len,
                            size_t *actual)
{
	static const uint8_t commands[] = {CMD_GET_COMMANDS, CMD_SET_ADDRESS, CMD_ERASE,
	                                   CMD_READ_UNPROTECT};
	if (bl->state != STATE_IDLE && bl->state != STATE_UPLOAD_IDLE)
		return FT_USB_STALL;
	if (len > bl->info->transfer_size || s->wValue == 1)
		return stall_error(bl, FT_DFU_MEMORY_ERR_STALLEDPKT);
	if (len == 0) {
		bl->state = STATE_IDLE;
		return FT_USB_OK;
	}
	if (s->wValue == 0) {
		reply(data, len, actual, commands, sizeof(commands));
		bl->state = *actual < len ? STATE_IDLE : STATE_UPLOAD_IDLE;
		return FT_USB_OK;
	}
	uint64_t addr = bl->pointer + (uint64_t)(s->wValue - 2) * bl->info->transfer_size;
	if (addr + len > (uint64_t)UINT32_MAX + 1)
		return stall_error(bl, FT_DFU_MEMORY_ERR_TARGET);
	bool ob_alt = option_alt_selected(bl);
	ft_dfu_memory_area kind =
	    ft_dfu_memory_area_of(bl->mem, (uint32_t)addr, len, false, ob_alt);
	if (kind != FT_DFU_MEMORY_AREA_OPTION_BYTES && read_protected(bl))
		return stall_error(bl, FT_DFU_MEMORY_ERR_VENDOR);
	ft_dfu_memory_status status =
	    ft_dfu_memory_read(bl->mem, (uint32_t)addr, data, len, ob_alt);
	if (status != FT_DFU_MEMORY_OK)
		return stall_error(bl, status);
	*actual = len;
	bl->state = STATE_UPLOAD_IDLE;
	return FT_USB_OK;
}

static ft_usb_status getstatus(ft_dfu_bootloader *bl, uint8_t *data, size_t len, size_t *actual)
{
	uint32_t poll_ms = 0;
	switch (bl->state) {
	case STATE_DNLOAD_SYNC: {
		bl->reset_after = bl->stuck_after = false;
		ft_dfu_memory_status status = execute_dnload(bl);
		bl->pending = PENDING_NONE;
		if (bl->exit != FT_DFU_BOOTLOADER_EXIT_NONE)
			return FT_USB_ERROR;
		bl->state = STATE_DNBUSY;
		poll_ms = bl->running ? ft_dfu_memory_poll_ms(bl->mem) : 1;
		if (!bl->running)
			complete_operation(bl, status);
		else
			advance(bl);
		/* The answer says OK/dfuDNBUSY whatever happened: the result comes with the next
		 * GETSTATUS. A reset the clock has already completed (FT_CLOCK_INSTANT) takes the
		 * device off the bus once this answer is out. */
		const uint8_t busy[GETSTATUS_SIZE] = {
		    FT_DFU_MEMORY_OK,         (uint8_t)poll_ms, (uint8_t)(poll_ms >> 8),
		    (uint8_t)(poll_ms >> 16), STATE_DNBUSY,     0};
		return reply(data, len, actual, busy, sizeof(busy));
	}
	case STATE_DNBUSY: /* the operation is over: handle() holds requests back while it runs */
		if (bl->stuck) {
			poll_ms = ft_dfu_memory_poll_ms(bl->mem);
		} else {
			bl->status = bl->result;
			bl->state =
			    bl->result == FT_DFU_MEMORY_OK ? STATE_DNLOAD_IDLE : STATE_ERROR;
		}
		break;
	case STATE_MANIFEST_SYNC:
		bl->state = STATE_MANIFEST;
		leave_bus(bl, FT_DFU_BOOTLOADER_EXIT_JUMP, bl->pointer);
		return FT_USB_ERROR;
	default: break;
	}
	uint8_t answer[GETSTATUS_SIZE] = {bl->status,
	                                  (uint8_t)poll_ms,
	                                  (uint8_t)(poll_ms >> 8),
	                                  (uint8_t)(poll_ms >> 16),
	                                  bl->state,
	                                  0};
	return reply(data, len, actual, answer, sizeof(answer));
}

static void to_idle(ft_dfu_bootloader *bl)
{
	bl->state = STATE_IDLE;
	bl->status = FT_DFU_MEMORY_OK;
	bl->pending = PENDING_NONE;
	bl->stuck = false;
}

static ft_usb_status abort_request(ft_dfu_bootloader *bl)
{
	switch (bl->state) {
	case STATE_IDLE:
	case STATE_DNLOAD_SYNC:
	case STATE_DNLOAD_IDLE:
	case STATE_MANIFEST_SYNC:
	case STATE_UPLOAD_IDLE: to_idle(bl); break;
	default: break;
	}
	return FT_USB_OK;
}

static ft_usb_status clrstatus(ft_dfu_bootloader *bl)
{
	if (bl->state == STATE_ERROR) {
		to_idle(bl);
	} else {
		bl->state = STATE_ERROR;
		bl->status = FT_DFU_MEMORY_ERR_UNKNOWN;
		bl->pending = PENDING_NONE;
		bl->stuck = false;
	}
	return FT_USB_OK;
}

static ft_usb_status class_request(ft_dfu_bootloader *bl, const ft_usb_setup *s, uint8_t *data,
                                   size_t len, size_t *actual)
{
	bool in = ft_usb_setup_is_in(s);
	if (bl->std.configuration == 0 ||
	    (s->bmRequestType & FT_USB_RECIP_MASK) != FT_USB_RECIP_INTERFACE || s->wIndex != 0)
		return FT_USB_STALL;
	switch (s->bRequest) {
	case DFU_DNLOAD: return in ? FT_USB_STALL : dnload(bl, s, data, len, actual);
	case DFU_UPLOAD: return in ? upload(bl, s, data, len, actual) : FT_USB_STALL;
	case DFU_GETSTATUS: return in ? getstatus(bl, data, len, actual) : FT_USB_STALL;
	case DFU_CLRSTATUS: return in ? FT_USB_STALL : clrstatus(bl);
	case DFU_GETSTATE: return in ? reply(data, len, actual, &bl->state, 1) : FT_USB_STALL;
	case DFU_ABORT:
	case DFU_DETACH: return in ? FT_USB_STALL : abort_request(bl);
	default: return FT_USB_STALL;
	}
}

static ft_usb_status handle(ft_dfu_bootloader *bl, const uint8_t setup[8], uint8_t *data,
                            size_t len, size_t *actual)
{
	advance(bl);
	if (bl->exit != FT_DFU_BOOTLOADER_EXIT_NONE)
		return FT_USB_ERROR;
	/* The ROM is inside its erase or program loop. The ST USB device library runs it from the
	 * USB interrupt once the GETSTATUS that answered dfuDNBUSY has been sent (USBLIB
	 * USBD_DFU_EP0_TxReady calls the media Erase/Write), so the next request, whichever it is,
	 * is not served until the loop returns: the host sees its data or status stage NAKed, and a
	 * GETSTATUS then gets the result. [U: that the ROM's USB stack behaves as USBLIB here; an
	 * early GETSTATUS on silicon has not been captured] */
	if (bl->running)
		return FT_USB_NAK;
	ft_usb_setup s = ft_usb_setup_parse(setup);
	switch (s.bmRequestType & FT_USB_TYPE_MASK) {
	case FT_USB_TYPE_STANDARD:
		return ft_usb_std_request(&bl->dev, &bl->std, setup, data, len, actual);
	case FT_USB_TYPE_CLASS: return class_request(bl, &s, data, len, actual);
	default: return FT_USB_STALL;
	}
}

static ft_usb_status bl_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                size_t *actual)
{
	ft_dfu_bootloader *bl = ctx;
	ft_dfu_bootloader_trace record = {
	    .time_ns = ft_clock_now_ns(bl->clock),
	    .data = data,
	    .len = len,
	    .state_before = bl->state,
	    .status_before = bl->status,
	};
	memcpy(record.setup, setup, sizeof(record.setup));
	ft_usb_status result = handle(bl, setup, data, len, actual);
	if (result != FT_USB_OK)
		*actual = 0;
	if (bl->cfg.trace) {
		record.actual = *actual;
		record.result = result;
		record.state_after = bl->state;
		record.status_after = bl->status;
		bl->cfg.trace(bl->cfg.trace_user, &record);
	}
	return result;
}

/* USB reset: USB state back to Default, DFU back to dfuIDLE (USBLIB re-initialises the class);
 * an operation in progress runs to its end first, its result dropped. */
static void bl_reset(void *ctx)
{
	ft_dfu_bootloader *bl = ctx;
	if (bl->exit != FT_DFU_BOOTLOADER_EXIT_NONE)
		return;
	ft_usb_std_reset(&bl->std);
	if (bl->running)
		bl->discard = true;
	else
		to_idle(bl);
}

static const ft_usb_device_ops bl_ops = {
    .descriptor = bl_descriptor,
    .control = bl_control,
    .transfer = NULL,
    .reset = bl_reset,
};

/* ---- lifecycle ---------------------------------------------------------------------------- */

static bool known_effect(const char *name, quirk_effect *effect)
{
	for (size_t i = 0; i < sizeof(known_quirks) / sizeof(known_quirks[0]); i++) {
		if (strcmp(known_quirks[i].name, name) == 0) {
			*effect = known_quirks[i].effect;
			return true;
		}
	}
	return false;
}

/* Decides which of the part's quirks are in effect: revision match, then the overrides. */
static ft_error select_quirks(ft_dfu_bootloader *bl, const ft_dfu_bootloader_config *cfg,
                              const char *alt_names[FT_MAX_DFU_ALTS], ft_diag *diag)
{
	const ft_bootloader_info *info = bl->info;
	for (size_t o = 0; o < cfg->quirk_override_count; o++) {
		const ft_dfu_bootloader_quirk *ov = &cfg->quirk_overrides[o];
		unsigned i = 0;
		while (i < info->quirk_count &&
		       (!ov->name || strcmp(info->quirks[i].name, ov->name)))
			i++;
		if (i == info->quirk_count)
			return ft_diag_set(diag, FT_ERR_NOT_FOUND, bl->part->name,
			                   "no quirk \"%s\" on this part",
			                   ov->name ? ov->name : "");
	}
	for (unsigned i = 0; i < info->quirk_count; i++) {
		const ft_bootloader_quirk *q = &info->quirks[i];
		bool on = q->rev_id == cfg->rev_id;
		for (size_t o = 0; o < cfg->quirk_override_count; o++)
			if (strcmp(cfg->quirk_overrides[o].name, q->name) == 0)
				on = cfg->quirk_overrides[o].enabled;
		if (!on)
			continue;
		bl->quirks_active |= 1u << i;
		quirk_effect effect;
		if (known_effect(q->name, &effect))
			bl->bank2_erase_stuck = effect == QUIRK_BANK2_ERASE_STUCK_DNBUSY;
		else if (!q->alt_names[0])
			return ft_diag_set(diag, FT_ERR_UNSUPPORTED, bl->part->name,
			                   "quirk \"%s\" is not reproduced by this model", q->name);
		for (unsigned a = 0; a < FT_MAX_DFU_ALTS; a++)
			if (q->alt_names[a])
				alt_names[a] = q->alt_names[a];
	}
	return FT_OK;
}

static ft_error check_config(const ft_dfu_bootloader_config *cfg, ft_diag *diag)
{
	if (!cfg || !cfg->part || !cfg->flash || !cfg->clock)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "dfu bootloader config",
		                   "part, flash and clock are required");
	if (!cfg->part->bootloader->has_usb_dfu || cfg->part->flash.layout == FT_FLASH_NONE)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, cfg->part->name,
		                   "no USB DFU system bootloader modelled: %s",
		                   cfg->part->bootloader->source);
	if (ft_part_revision_name(cfg->part, cfg->rev_id) == '?')
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, cfg->part->name,
		                   "REV_ID 0x%04x is not a revision of this part", cfg->rev_id);
	if (cfg->partial_word > FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP ||
	    cfg->workarea > FT_DFU_BOOTLOADER_WORKAREA_CRASH)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "dfu bootloader config",
		                   "partial_word or workarea knob out of range");
	if (cfg->quirk_override_count && !cfg->quirk_overrides)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "dfu bootloader config",
		                   "quirk_overrides missing");
	return FT_OK;
}

ft_error ft_dfu_bootloader_new(const ft_dfu_bootloader_config *config, ft_dfu_bootloader **out,
                               ft_diag *diag)
{
	ft_error err = check_config(config, diag);
	if (err != FT_OK)
		return err;
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "dfu bootloader", "out is NULL");
	ft_dfu_bootloader *bl = calloc(1, sizeof(*bl));
	if (!bl)
		return ft_diag_set(diag, FT_ERR_NO_MEM, config->part->name, "bootloader state");
	bl->cfg = *config;
	bl->part = config->part;
	bl->info = config->part->bootloader;
	bl->flash = config->flash;
	bl->clock = config->clock;
	const char *alt_names[FT_MAX_DFU_ALTS];
	memcpy(alt_names, bl->info->alt_names, sizeof(alt_names));
	err = select_quirks(bl, config, alt_names, diag);
	if (err != FT_OK)
		goto fail;
	ft_dfu_memory_config mc = {
	    .part = bl->part,
	    .flash = bl->flash,
	    .clock = bl->clock,
	    .ram = config->ram,
	    .partial_word = config->partial_word,
	    .no_readback_verify = config->no_readback_verify,
	    .workarea_accepted = config->workarea == FT_DFU_BOOTLOADER_WORKAREA_CRASH,
	};
	err = ft_dfu_memory_new(&mc, &bl->mem, diag);
	if (err != FT_OK)
		goto fail;
	bl->buf = malloc(bl->info->transfer_size);
	bl->desc = ft_dfu_descriptors_new(bl->part, config->rev_id, config->uid, alt_names);
	if (!bl->buf || !bl->desc) {
		err = ft_diag_set(diag, FT_ERR_NO_MEM, bl->part->name, "bootloader buffers");
		goto fail;
	}
	bl->dev = (ft_usb_device){.ops = &bl_ops, .ctx = bl, .speed = FT_USB_SPEED_FULL};
	ft_usb_std_reset(&bl->std);
	to_idle(bl);
	bl->pointer = POINTER_AT_START;
	ft_flash_h7_set_intrusion(bl->flash, true);
	*out = bl;
	return FT_OK;
fail:
	ft_dfu_bootloader_free(bl);
	return err;
}

void ft_dfu_bootloader_free(ft_dfu_bootloader *bl)
{
	if (!bl)
		return;
	ft_dfu_descriptors_free(bl->desc);
	ft_dfu_memory_free(bl->mem);
	free(bl->buf);
	free(bl);
}

ft_usb_device ft_dfu_bootloader_usb_device(ft_dfu_bootloader *bl)
{
	return bl->dev;
}

uint64_t ft_dfu_bootloader_poll(ft_dfu_bootloader *bl)
{
	advance(bl);
	return bl->running && bl->exit == FT_DFU_BOOTLOADER_EXIT_NONE ? bl->due : UINT64_MAX;
}

ft_dfu_bootloader_exit ft_dfu_bootloader_exit_reason(ft_dfu_bootloader *bl, uint32_t *jump_addr)
{
	advance(bl);
	if (jump_addr)
		*jump_addr = bl->exit == FT_DFU_BOOTLOADER_EXIT_JUMP ? bl->jump_addr : 0;
	return bl->exit;
}

bool ft_dfu_bootloader_quirk_active(const ft_dfu_bootloader *bl, const char *name)
{
	for (unsigned i = 0; i < bl->info->quirk_count; i++)
		if ((bl->quirks_active & (1u << i)) && name &&
		    strcmp(bl->info->quirks[i].name, name) == 0)
			return true;
	return false;
}

uint8_t *ft_dfu_bootloader_ram(ft_dfu_bootloader *bl, uint32_t addr, size_t len)
{
	return ft_dfu_memory_ram(bl->mem, addr, len);
}
