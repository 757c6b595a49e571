/* One emulated board, opened: its board file, part, silicon revision, unique ID and BOOT0 level,
 * its persistent state directory, its virtual clock, and the device models over that state (the
 * embedded flash and every external NOR flash). flashtwin-emu and the QEMU machines both host a
 * board through this module, so they read and write the same state the same way.
 *
 * Opening a board (ft_board_runtime_open):
 *   1. reads and parses the board file (models/board.h);
 *   2. resolves its part (ft_part_find), its silicon revision (the board's `revision` letter, or
 *      the last revision in the part table when the board gives none), its 96-bit UID (the
 *      board's `uid`, or one derived from the board name: see ft_board_runtime_derive_uid) and
 *      its external NOR flash with the memory window of the controller it hangs on;
 *   3. opens the state directory with models/store (creating it when missing) under the board's
 *      name, and maps its regions, each created with complete factory bytes the first time:
 *        "flash"          the embedded flash array (ft_flash_h7_array_size), erased 0xFF
 *        "flash-ecc"      one ECC-state byte per flash word (ft_flash_h7_ecc_state_size), erased
 *        "option-bytes"   the option-byte blob (ft_flash_h7_option_bytes_size), factory values
 *        "nor-BUS"        each NOR array (BUS = ft_board_bus_name: "nor-quadspi1"), erased 0xFF
 *        "nor-BUS-nv"     each NOR's non-volatile register bytes, factory values
 *      Parts without internal flash (STM32N6) have no flash regions;
 *   4. creates the clock and the models over the mapped regions. Because every region is created
 *      whole, the models always open what the regions hold (fresh = false), and a process killed
 *      at any point leaves a state that opens.
 * The store's lock makes a state directory usable by one open board at a time, in any process.
 *
 * Names: the board's name is the board file's base name without ".board"
 * ("boards/nucleo-h743zi2.board" is "nucleo-h743zi2"), unless the configuration gives one. The
 * store records it: a state directory belongs to one board.
 *
 * Ownership and threading: the runtime owns the clock, the models and the store; pointers it
 * returns stay valid until ft_board_runtime_close. Not thread-safe: one thread drives a board (as
 * the models require). Every call may block on file I/O (open, sync, close). Library code: never
 * prints or exits; no globals.
 */
#ifndef FT_BOARD_RUNTIME_H
#define FT_BOARD_RUNTIME_H

#include "models/board.h"
#include "models/clock.h"
#include "models/error.h"
#include "models/flash_h7.h"
#include "models/nor_flash.h"
#include "models/parts.h"
#include "models/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* External NOR flashes one board may carry. */
#define FT_BOARD_RUNTIME_MAX_NOR 1

typedef struct ft_board_runtime ft_board_runtime;

typedef struct ft_board_runtime_config {
	const char *board_path; /* required: the board file */
	const char *board_name; /* NULL: from board_path (see above) */
	const char *state_dir;  /* required: see ft_store_open (only its last component is made) */
	ft_clock_mode clock_mode;
} ft_board_runtime_config;

/* An external NOR flash and where the part sees it. */
typedef struct ft_board_runtime_nor {
	ft_board_bus bus;     /* which controller and chip select */
	const char *region;   /* the store region of its array ("nor-quadspi1") */
	uint32_t window_base; /* the controller's memory-mapped window (0x90000000 for QUADSPI) */
	uint32_t window_size; /* bytes of that window */
	ft_nor *nor;          /* the model; owned by the runtime */
} ft_board_runtime_nor;

/* Opens the board (see above). On success *out is a runtime the caller closes with
 * ft_board_runtime_close. Returns:
 *   FT_OK
 *   FT_ERR_INVALID_ARG  NULL config, out, board_path or state_dir; a clock mode outside the enum;
 *                       a board name the store does not accept ([A-Za-z0-9._-], 1 to 64)
 *   FT_ERR_NOT_FOUND    the board file does not exist; its part is unknown; its revision letter
 *                       is not one of the part's
 *   FT_ERR_FORMAT       the board file is malformed (origin names the line); a state region is
 *                       inconsistent or holds a state the models refuse
 *   FT_ERR_UNSUPPORTED  the part has no window for the board's external-flash bus
 *   FT_ERR_RANGE        the external flash is larger than its window
 *   FT_ERR_BUSY         another open board (this process or another) holds the state directory;
 *                       the message names it and the holder's PID
 *   FT_ERR_STATE        the state directory belongs to another board
 *   and any other error of ft_board_load, ft_store_open, ft_store_map (FT_ERR_IO, FT_ERR_NO_MEM,
 *   FT_ERR_UNSUPPORTED for a store of another version), with diag saying which.
 * On failure *out is NULL and nothing stays open. */
ft_error ft_board_runtime_open(const ft_board_runtime_config *config, ft_board_runtime **out,
                               ft_diag *diag);

/* Writes the state to the disk and waits for it (ft_store_sync). FT_OK or FT_ERR_IO. */
ft_error ft_board_runtime_sync(ft_board_runtime *rt, ft_diag *diag);

/* Syncs, frees the models and the clock, closes the store (releasing its lock) and frees rt,
 * whatever the result. Returns FT_OK (also for NULL) or the sync's FT_ERR_IO. */
ft_error ft_board_runtime_close(ft_board_runtime *rt, ft_diag *diag);

/* The board's name, its parsed file and its part. */
const char *ft_board_runtime_name(const ft_board_runtime *rt);
const ft_board *ft_board_runtime_board(const ft_board_runtime *rt);
const ft_part *ft_board_runtime_part(const ft_board_runtime *rt);

/* The silicon revision: REV_ID (DBGMCU_IDCODE[31:16]) and its letter. */
uint16_t ft_board_runtime_rev_id(const ft_board_runtime *rt);
char ft_board_runtime_revision(const ft_board_runtime *rt);

/* The 96-bit unique ID, words at UID_BASE + 0, + 4, + 8. */
void ft_board_runtime_uid(const ft_board_runtime *rt, uint32_t uid[3]);

/* The UID of a board whose file gives none: each word is the 32-bit FNV-1a hash of "uidN:" and
 * the name (N = 0, 1, 2), so boards differ and a board keeps its UID across runs. Not a real
 * lot/wafer code. */
void ft_board_runtime_derive_uid(const char *board_name, uint32_t uid[3]);

/* The BOOT0 pin level at power-on (the board file's boot0, 0 when it gives none). */
bool ft_board_runtime_boot0(const ft_board_runtime *rt);

/* True when this open created the state (the directory had no flash or NOR regions yet). */
bool ft_board_runtime_state_is_new(const ft_board_runtime *rt);

ft_clock *ft_board_runtime_clock(ft_board_runtime *rt);

/* The embedded flash model; NULL on parts without internal flash (STM32N6). */
ft_flash_h7 *ft_board_runtime_flash(ft_board_runtime *rt);

/* External NOR flashes: count, and the one at index (< count, else NULL). */
size_t ft_board_runtime_nor_count(const ft_board_runtime *rt);
const ft_board_runtime_nor *ft_board_runtime_nor_at(const ft_board_runtime *rt, size_t index);

/* The store, for hosts that keep more regions in the board's state (names other than the ones
 * above). */
ft_store *ft_board_runtime_store(ft_board_runtime *rt);

#endif
