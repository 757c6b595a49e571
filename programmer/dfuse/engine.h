/* The DfuSe host engine: talks to an ST system bootloader (or any DfuSe device) through a
 * transport and offers what the programmer's flash, read and info commands need: enumeration of
 * the DFU interface and its alternate settings with their memory layouts, erase, write, read,
 * verify, option bytes, read-unprotect and leave.
 *
 * Protocol: USB DFU 1.1 (requests DNLOAD 1, UPLOAD 2, GETSTATUS 3, CLRSTATUS 4, GETSTATE 5,
 * ABORT 6; states and status codes §6.1.2) with ST's DfuSe extensions (AN3156, UM0424): DNLOAD
 * with wBlockNum 0 carries a command (0x21 SET_ADDRESS + LE32 address, 0x41 ERASE_PAGE + LE32
 * address, 0x41 alone MASS_ERASE, 0x92 READ_UNPROTECT), executed on the following GETSTATUS,
 * which must answer dfuDNBUSY; data goes with wBlockNum >= 2 at
 * address pointer + (wBlockNum - 2) * wTransferSize, both ways. Facts: devices.md §5.
 *
 * What this engine does differently from dfu-util (programmers.md §1.8), on purpose:
 *  - Every wait is bounded. Polling sleeps bwPollTimeout through the caller's sleep function, but
 *    the total per command is capped (FT_DFUSE_CAP_* below) and so is the number of polls that
 *    report bwPollTimeout 0.
 *  - A command that stays in dfuDNBUSY past its cap is recovered with CLRSTATUS, the procedure
 *    STM32CubeProgrammer 2.2.1 adopted for the STM32H7 rev V ROM whose bank-2 erase never leaves
 *    dfuDNBUSY (dfu-util ticket #88): CLRSTATUS answers (errUNKNOWN, dfuERROR), a second one
 *    (OK, dfuIDLE). A recovered erase is reported through the warning callback, never silently,
 *    and the sector is then read back to check it is blank.
 *  - A device that answers dfuERROR is returned to dfuIDLE with CLRSTATUS before the error is
 *    reported, and the error names the command, its address, the state and the status
 *    ("device answered dfuERROR/errTARGET to SET_ADDRESS 0x30000000").
 *  - Leaving DFU mode succeeds when the device resets before answering the last GETSTATUS.
 *
 * Threading and blocking: a device handle is used by one thread at a time. Calls block on the
 * transport (each control transfer bounded by options.control_timeout_ms) and in the sleep
 * function (bounded by the caps). Ownership: the engine does not own the transport; close the
 * handle with ft_dfuse_close before closing the transport.
 */
#ifndef FT_DFUSE_ENGINE_H
#define FT_DFUSE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/dfuse/layout.h"
#include "programmer/transport/transport.h"

/* DFU states, DFU 1.1 §6.1.2 (numbering as in ST's usbd_dfu.h). */
typedef enum ft_dfu_state {
	FT_DFU_APP_IDLE = 0,
	FT_DFU_APP_DETACH = 1,
	FT_DFU_IDLE = 2,
	FT_DFU_DNLOAD_SYNC = 3,
	FT_DFU_DNBUSY = 4,
	FT_DFU_DNLOAD_IDLE = 5,
	FT_DFU_MANIFEST_SYNC = 6,
	FT_DFU_MANIFEST = 7,
	FT_DFU_MANIFEST_WAIT_RESET = 8,
	FT_DFU_UPLOAD_IDLE = 9,
	FT_DFU_ERROR = 10,
} ft_dfu_state;

/* DFU status codes, DFU 1.1 §6.1.2. */
typedef enum ft_dfu_status {
	FT_DFU_STATUS_OK = 0x00,
	FT_DFU_ERR_TARGET = 0x01,
	FT_DFU_ERR_FILE = 0x02,
	FT_DFU_ERR_WRITE = 0x03,
	FT_DFU_ERR_ERASE = 0x04,
	FT_DFU_ERR_CHECK_ERASED = 0x05,
	FT_DFU_ERR_PROG = 0x06,
	FT_DFU_ERR_VERIFY = 0x07,
	FT_DFU_ERR_ADDRESS = 0x08,
	FT_DFU_ERR_NOTDONE = 0x09,
	FT_DFU_ERR_FIRMWARE = 0x0A,
	FT_DFU_ERR_VENDOR = 0x0B,
	FT_DFU_ERR_USBR = 0x0C,
	FT_DFU_ERR_POR = 0x0D,
	FT_DFU_ERR_UNKNOWN = 0x0E,
	FT_DFU_ERR_STALLEDPKT = 0x0F,
} ft_dfu_status;

/* Names as the DFU specification spells them ("dfuDNLOAD-IDLE", "errTARGET"); a value outside
 * the enum gives "state?" / "status?". Never NULL. */
const char *ft_dfu_state_name(unsigned state);
const char *ft_dfu_status_name(unsigned status);

/* A GETSTATUS answer (DFU 1.1 §6.1.2: bStatus, bwPollTimeout LE24 in ms, bState, iString). */
typedef struct ft_dfu_getstatus {
	uint8_t status;
	uint32_t poll_timeout_ms;
	uint8_t state;
	uint8_t istring;
} ft_dfu_getstatus;

/* Decodes a GETSTATUS payload; len must be 6. FT_OK or FT_ERR_FORMAT. */
ft_error ft_dfu_parse_getstatus(const uint8_t *buf, size_t len, ft_dfu_getstatus *out,
                                ft_diag *diag);

/* Caps on the total time a command may stay dfuDNBUSY, in ms of requested sleep. Sources:
 * devices.md §3.3 (DS12110 H743 flash timings; most marked [U]), §3.1 (OpenOCD's timeouts).
 *  - ERASE_PAGE: a 128 KB sector erases in 2.2 s max at x32 parallelism and about 4 s at x8
 *    [U]; 2.5 times the worst figure, which is also OpenOCD's 10 s per sector.
 *  - MASS_ERASE, READ_UNPROTECT: a bank erase takes 16 s max at x32 [U]; two banks, with
 *    margin, bounded by HAL's 50 s FLASH_TIMEOUT_VALUE plus 10 s.
 *  - SET_ADDRESS and data blocks: a 1024-byte block is 32 flash words of about 200 us max each
 *    [U]; 2 s leaves room for slow hosts and USB/IP round trips.
 *  - Option-byte write: OPTSTART and the option reload [U duration]; 10 s. */
#define FT_DFUSE_CAP_ERASE_PAGE_MS 10000u
#define FT_DFUSE_CAP_MASS_ERASE_MS 60000u
#define FT_DFUSE_CAP_COMMAND_MS    2000u
#define FT_DFUSE_CAP_DOWNLOAD_MS   2000u
#define FT_DFUSE_CAP_OPTION_MS     10000u
/* Polls answering dfuDNBUSY with bwPollTimeout 0 allowed per command (dfu-util stops at 100 for
 * the Black Magic Probe; each poll is a full control transfer, so 1000 is ample). */
#define FT_DFUSE_ZERO_POLL_LIMIT 1000u
/* STALLed GETSTATUS polls tolerated per command while busy (dfu-util: STM32L4 ROMs stall the
 * pipe during erase, retried up to 3 times with the last poll timeout). */
#define FT_DFUSE_STALL_LIMIT 3u
/* Largest block the engine moves per control transfer (dfu-util's Linux usbfs limit). */
#define FT_DFUSE_MAX_TRANSFER 4096u
#define FT_DFUSE_MAX_ALTS     16

typedef enum ft_dfuse_phase {
	FT_DFUSE_PHASE_ERASE,
	FT_DFUSE_PHASE_DOWNLOAD,
	FT_DFUSE_PHASE_UPLOAD,
	FT_DFUSE_PHASE_VERIFY,
} ft_dfuse_phase;

/* "erase", "download", "upload", "verify". */
const char *ft_dfuse_phase_name(ft_dfuse_phase phase);

typedef struct ft_dfuse_progress {
	ft_dfuse_phase phase;
	uint32_t address; /* start of the piece just finished */
	uint64_t done;    /* bytes finished in this call, including that piece */
	uint64_t total;   /* bytes this call handles */
} ft_dfuse_progress;

typedef struct ft_dfuse_options {
	/* Sleeps ms milliseconds between status polls. NULL: the host's clock (nanosleep). Tests
	 * and the emulator's instant mode pass their own so that no real time passes. */
	void (*sleep_ms)(void *user, uint32_t ms);
	/* Called after each erased sector, downloaded, uploaded or verified block. Optional. */
	void (*progress)(void *user, const ft_dfuse_progress *progress);
	/* Called for something handled but unexpected (a recovered ROM quirk); warning->code says
	 * what kind, message what happened and what was done. Optional. */
	void (*warning)(void *user, const ft_diag *warning);
	void *user;
	/* Per control transfer; 0 means 5000 ms (dfu-util's DFU_TIMEOUT). */
	unsigned control_timeout_ms;
	/* Bytes per DNLOAD/UPLOAD block; 0 means wTransferSize from the functional descriptor
	 * (capped at FT_DFUSE_MAX_TRANSFER). */
	uint16_t transfer_size;
	/* Write with one SET_ADDRESS per run and wBlockNum 2, 3, ... (DfuSe addressing) instead of
	 * one SET_ADDRESS per block (dfu-util's way, the default). Uploads always number blocks.
	 * Both need the block size to equal the device's wTransferSize, because the device computes
	 * addresses with its own; otherwise the engine falls back to one SET_ADDRESS per block. */
	bool contiguous_blocks;
	/* Send addresses outside the selected alternate setting's layout, or to groups without the
	 * needed access bit, as given instead of refusing them before touching the device. */
	bool force;
} ft_dfuse_options;

/* One alternate setting of the DFU interface. */
typedef struct ft_dfuse_alt {
	uint8_t alt;         /* bAlternateSetting */
	char name[128];      /* its iInterface string, as reported */
	ft_diag layout_diag; /* code FT_OK when layout holds the parsed name; else why not */
	ft_dfuse_layout layout;
} ft_dfuse_alt;

typedef struct ft_dfuse_device_info {
	char transport[192]; /* ft_transport_describe */
	uint16_t vid, pid, bcd_device;
	char manufacturer[128], product[128], serial[128];
	uint8_t configuration; /* bConfigurationValue */
	uint8_t interface;     /* bInterfaceNumber of the DFU-mode interface */
	/* DFU functional descriptor (DFU 1.1 §4.1.3). bmAttributes bit 0 bitCanDnload, 1
	 * bitCanUpload, 2 bitManifestationTolerant, 3 bitWillDetach. */
	uint8_t attributes;
	uint16_t detach_timeout_ms;
	uint16_t transfer_size_reported; /* wTransferSize */
	uint16_t transfer_size;          /* what the engine uses per block */
	uint16_t bcd_dfu;                /* 0x011A for DfuSe */
	size_t alt_count;
	ft_dfuse_alt alts[FT_DFUSE_MAX_ALTS];
} ft_dfuse_device_info;

/* What a configuration descriptor says about the DFU interface (pure parse, exposed for tests
 * and the fuzz target). */
typedef struct ft_dfuse_config {
	uint8_t configuration;
	uint8_t interface;
	size_t alt_count;
	struct {
		uint8_t alt;
		uint8_t istring;
	} alts[FT_DFUSE_MAX_ALTS];
	uint8_t attributes;
	uint16_t detach_timeout_ms;
	uint16_t transfer_size;
	uint16_t bcd_dfu; /* 0x0100 when the functional descriptor is the 7-byte DFU 1.0 one */
} ft_dfuse_config;

/* Parses a whole configuration descriptor set (len bytes, at least wTotalLength). Finds the
 * first interface of class 0xFE subclass 0x01 protocol 0x02 (DFU mode, DFU 1.1 §4.2.3), its
 * alternate settings and the DFU functional descriptor (type 0x21) that follows them. Returns
 * FT_OK; FT_ERR_FORMAT with diag naming the byte for a malformed descriptor, a missing
 * functional descriptor, duplicate or too many (> FT_DFUSE_MAX_ALTS) alternate settings;
 * FT_ERR_STATE when only a run-time DFU interface (protocol 0x01) is present; FT_ERR_NOT_FOUND
 * when there is no DFU interface. */
ft_error ft_dfuse_parse_config(const uint8_t *buf, size_t len, ft_dfuse_config *out, ft_diag *diag);

typedef struct ft_dfuse_dev ft_dfuse_dev;

/* Enumerates the device on t (device, configuration and string descriptors; the layout of each
 * alternate setting), selects its configuration and alternate setting 0 and brings the device
 * to dfuIDLE (ft_dfuse_recover_idle). opts may be NULL for the defaults; it is copied. Returns
 * FT_OK with *out; the errors of ft_dfuse_parse_config and of the transport (see
 * ft_transfer_error); FT_ERR_FORMAT for a malformed device descriptor or wTransferSize 0 without
 * an override; FT_ERR_STATE when the device is in run-time mode; FT_ERR_NO_MEM. An alternate
 * setting whose name does not parse as a layout is not an error here (see
 * ft_dfuse_alt.layout_diag). */
ft_error ft_dfuse_open(ft_transport *t, const ft_dfuse_options *opts, ft_dfuse_dev **out,
                       ft_diag *diag);

/* Frees the handle; sends nothing. NULL is allowed. */
void ft_dfuse_close(ft_dfuse_dev *dev);

/* Everything enumeration found; valid until ft_dfuse_close. */
const ft_dfuse_device_info *ft_dfuse_info(const ft_dfuse_dev *dev);

/* The index in info->alts of the selected alternate setting. */
size_t ft_dfuse_current_alt(const ft_dfuse_dev *dev);

/* The index in info->alts of the first alternate setting whose layout holds addr, or -1. */
int ft_dfuse_find_alt(const ft_dfuse_dev *dev, uint32_t addr);

/* The GETSTATUS answer behind the last result: after a device error, the error the device
 * reported (before CLRSTATUS cleared it); otherwise the last answer. */
ft_dfu_getstatus ft_dfuse_last_status(const ft_dfuse_dev *dev);

/* True once the device has left DFU mode or vanished (leave, READ_UNPROTECT, an option-byte
 * write that reset it, a transfer answered NO_DEVICE). Every operation then fails with
 * FT_ERR_STATE: reopen the device after it re-enumerates. */
bool ft_dfuse_is_gone(const ft_dfuse_dev *dev);

/* Common returns of the operations below: FT_OK; FT_ERR_STATE when the device is gone;
 * FT_ERR_RANGE for addresses the selected layout does not allow (nothing is sent; see
 * options.force) and for errTARGET/errADDRESS; FT_ERR_PROTECTED for errVENDOR (read-out
 * protection); FT_ERR_VERIFY for errVERIFY; FT_ERR_DEVICE for other error statuses;
 * FT_ERR_TIMEOUT for a capped wait; FT_ERR_PROTOCOL for an answer DFU does not allow (a wrong
 * state, a short block, a STALL); FT_ERR_IO for a failed transfer. Every error fills diag
 * with origin = the transport and the alternate setting, and a message naming the command, its
 * address and the device's state/status. */

/* Selects alternate setting index (into info->alts). */
ft_error ft_dfuse_select_alt(ft_dfuse_dev *dev, size_t index, ft_diag *diag);

/* DFU requests: GETSTATUS (*out filled), GETSTATE, CLRSTATUS, ABORT. These send exactly one
 * request and judge nothing beyond the transfer itself. */
ft_error ft_dfuse_get_status(ft_dfuse_dev *dev, ft_dfu_getstatus *out, ft_diag *diag);
ft_error ft_dfuse_get_state(ft_dfuse_dev *dev, uint8_t *state, ft_diag *diag);
ft_error ft_dfuse_clear_status(ft_dfuse_dev *dev, ft_diag *diag);
ft_error ft_dfuse_abort(ft_dfuse_dev *dev, ft_diag *diag);

/* Brings the device to dfuIDLE from any DFU-mode state: dfuERROR -> CLRSTATUS; dfuDNLOAD-IDLE
 * and dfuUPLOAD-IDLE -> ABORT; busy states -> wait their poll timeout, then CLRSTATUS. At most
 * 8 steps. appIDLE/appDETACH (run-time mode) and the manifestation states are FT_ERR_STATE. */
ft_error ft_dfuse_recover_idle(ft_dfuse_dev *dev, ft_diag *diag);

/* DfuSe commands, each followed by the bounded poll loop. */
ft_error ft_dfuse_set_address(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag);
/* Erases the sector holding addr. */
ft_error ft_dfuse_erase_sector(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag);
/* Erases every sector of the selected layout that [addr, addr + len) touches (the layout is
 * required even with force), reporting FT_DFUSE_PHASE_ERASE progress in bytes of sectors. */
ft_error ft_dfuse_erase_range(ft_dfuse_dev *dev, uint32_t addr, uint32_t len, ft_diag *diag);
ft_error ft_dfuse_mass_erase(ft_dfuse_dev *dev, ft_diag *diag);
/* READ_UNPROTECT: the device mass-erases, regresses RDP and resets (AN3156); the device is
 * gone afterwards. */
ft_error ft_dfuse_read_unprotect(ft_dfuse_dev *dev, ft_diag *diag);

/* Writes len bytes at addr (the flash must be erased; the planner pads flash words). */
ft_error ft_dfuse_write(ft_dfuse_dev *dev, uint32_t addr, const uint8_t *data, size_t len,
                        ft_diag *diag);
/* Reads len bytes at addr into buf (SET_ADDRESS, ABORT, UPLOAD blocks, ABORT). */
ft_error ft_dfuse_read(ft_dfuse_dev *dev, uint32_t addr, uint8_t *buf, size_t len, ft_diag *diag);
/* Reads back and compares; the first difference is FT_ERR_VERIFY naming the address and both
 * bytes. Progress phase FT_DFUSE_PHASE_VERIFY. */
ft_error ft_dfuse_verify(ft_dfuse_dev *dev, uint32_t addr, const uint8_t *expected, size_t len,
                         ft_diag *diag);

/* Leaves DFU mode: SET_ADDRESS addr (where the device jumps: the vector table), a zero-length
 * DNLOAD, one GETSTATUS. Success when that GETSTATUS answers a manifestation or busy state, or
 * when the device resets before answering (NO_DEVICE, IO, TIMEOUT); the device is gone after
 * success. dfuERROR is reported as usual. */
ft_error ft_dfuse_leave(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag);

/* Option bytes through the alternate setting named "Option Bytes": reads its whole layout
 * (cap must hold it; *len is set), or writes data at its start. A write may make the device
 * reload its option bytes and reset, which counts as success (the device is then gone).
 * FT_ERR_UNSUPPORTED when the device has no such alternate setting. The previously selected
 * alternate setting is selected again afterwards unless the device is gone. */
ft_error ft_dfuse_read_option_bytes(ft_dfuse_dev *dev, uint8_t *buf, size_t cap, size_t *len,
                                    ft_diag *diag);
ft_error ft_dfuse_write_option_bytes(ft_dfuse_dev *dev, const uint8_t *data, size_t len,
                                     ft_diag *diag);

#endif
