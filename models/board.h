/* Board files: what a board carries, as a tiny key = value text file.
 *
 *     # NUCLEO-H743ZI2 (MB1364)
 *     part = STM32H743ZIT6
 *     description = NUCLEO-H743ZI2 (MB1364), no external flash
 *     revision = V
 *     boot0 = 1
 *
 * One key per line; '#' starts a comment line; blank lines are ignored; spaces around '=' and at
 * both ends of a value are dropped. Keys:
 *   part                 required: any spelling ft_part_find accepts (resolved by the user)
 *   description          free text, shown to people
 *   external_flash       free text, shown to people
 *   external_flash_part  a serial NOR part ft_nor_part_find knows ("W25Q256JV")
 *   external_flash_bus   the controller and chip select it hangs on (ft_board_bus names:
 *                        "quadspi1"); given together with external_flash_part
 *   revision             silicon revision letter ("V"), A to Z
 *   uid                  the 96-bit unique ID as 24 hex digits, word 0 (UID_BASE + 0) first;
 *                        blanks between digits are ignored ("0032001F 3138510B 39363432")
 *   boot0                level of the BOOT0 pin at power-on: 0 or 1
 *   loader               the external loader (.stldr) of the board's external flash, a file
 *                        name or NAME (NAME.stldr); flashtwin looks for it next to the board
 *                        file, then in the loaders/ of its build
 * Whether a revision is one of the part's is for the user to check (the part is resolved there).
 * Unknown keys, a repeated key, a line without '=', an empty value, a value too long for its
 * field or not of its form are format errors naming the line. docs/boards.md describes the format;
 * boards/ holds the files flashtwin ships.
 *
 * Parsing is pure: no allocation, no I/O. ft_board_load reads a file (at most 64 KiB).
 */
#ifndef FT_BOARD_H
#define FT_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"

/* Where an external NOR flash hangs: a memory controller and, for QUADSPI dual-flash, which of
 * its two chip selects. */
typedef enum ft_board_bus {
	FT_BOARD_BUS_NONE = 0,
	FT_BOARD_BUS_QUADSPI1, /* H74x/H75x QUADSPI, flash 1 (BK1) */
	FT_BOARD_BUS_QUADSPI2, /* H74x/H75x QUADSPI, flash 2 (BK2) */
	FT_BOARD_BUS_OCTOSPI1, /* H72x/H73x, H7Ax/H7Bx */
	FT_BOARD_BUS_OCTOSPI2,
	FT_BOARD_BUS_XSPI1, /* N6 */
	FT_BOARD_BUS_XSPI2,
	FT_BOARD_BUS_XSPI3,
} ft_board_bus;

/* The board-file spelling ("quadspi1"); "none" for FT_BOARD_BUS_NONE or a value outside the enum.
 */
const char *ft_board_bus_name(ft_board_bus bus);

/* The name of the controller's memory-mapped window in the part table (ft_region.name of an
 * FT_REGION_EXT_WINDOW region: "QUADSPI", "OCTOSPI1", "XSPI2"); NULL for FT_BOARD_BUS_NONE or a
 * value outside the enum. Both QUADSPI chip selects share the one window. */
const char *ft_board_bus_window(ft_board_bus bus);

typedef struct ft_board {
	char part[64];                /* the part spelling as written; resolve with ft_part_find */
	char description[160];        /* empty when absent */
	char external_flash[96];      /* empty when absent */
	char external_flash_part[32]; /* canonical NOR part name; empty when absent */
	char loader[96];              /* the external loader's file; empty when absent */
	ft_board_bus external_flash_bus; /* FT_BOARD_BUS_NONE when absent */
	char revision;                   /* upper-case letter; '\0' when absent */
	bool has_uid;
	uint32_t uid[3]; /* the words at UID_BASE + 0, + 4, + 8; zero when absent */
	bool has_boot0;
	bool boot0; /* false when absent */
} ft_board;

/* Parses len bytes of text (need not be NUL-terminated). name stands for the file in diagnostics.
 * Returns FT_OK, or FT_ERR_FORMAT with diag naming "NAME line N"; *board is zeroed first and
 * holds what was parsed up to an error. FT_ERR_INVALID_ARG when text or board is NULL. */
ft_error ft_board_parse(const char *name, const char *text, size_t len, ft_board *board,
                        ft_diag *diag);

/* Bytes of one directory path from ft_board_search_dirs. */
#define FT_BOARD_PATH_MAX 4096
/* Entries ft_board_search_dirs writes at most. */
#define FT_BOARD_SEARCH_DIRS 5

/* True when a --board argument names a file rather than a board: it contains a '/' or ends in
 * ".board". */
bool ft_board_arg_is_path(const char *arg);

/* The directories a board NAME (not a path) is looked for in, as NAME.board, in this order:
 * env_dir (the value of $FLASHTWIN_BOARDS; skipped when NULL or empty), "boards" (relative to the
 * working directory), then the boards/ directory beside the executable exe_path and one and two
 * levels above it (skipped when exe_path is NULL or has no '/'), so that build/flashtwin-emu and
 * build/san/flashtwin-emu find the source tree's boards/. Writes at most max (and at most
 * FT_BOARD_SEARCH_DIRS) entries, cutting paths to FT_BOARD_PATH_MAX - 1 bytes; returns how many. */
size_t ft_board_search_dirs(const char *env_dir, const char *exe_path,
                            char (*dirs)[FT_BOARD_PATH_MAX], size_t max);

/* Reads and parses the file at path. FT_ERR_NOT_FOUND when it does not exist, FT_ERR_IO when it
 * cannot be read or is larger than 64 KiB, else as ft_board_parse. */
ft_error ft_board_load(const char *path, ft_board *board, ft_diag *diag);

#endif
