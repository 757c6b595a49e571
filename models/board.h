/* Board files: which part a board carries, as a tiny key = value text file.
 *
 *     # NUCLEO-H743ZI2 (MB1364)
 *     part = STM32H743ZIT6
 *     description = NUCLEO-H743ZI2 (MB1364), no external flash
 *
 * One key per line; '#' starts a comment line; blank lines are ignored; spaces around '=' and at
 * both ends of a value are dropped. Keys: part (required: any spelling ft_part_find accepts),
 * description, external_flash (free text, shown to people). Unknown keys, a repeated key, a line
 * without '=' or a value too long for its field are format errors naming the line. docs/boards.md
 * describes the format; boards/ holds the files flashtwin ships.
 *
 * Parsing is pure: no allocation, no I/O. ft_board_load reads a file (at most 64 KiB).
 */
#ifndef FT_BOARD_H
#define FT_BOARD_H

#include <stddef.h>

#include "models/error.h"

typedef struct ft_board {
	char part[64];           /* the part spelling as written; resolve with ft_part_find */
	char description[160];   /* empty when absent */
	char external_flash[96]; /* empty when absent */
} ft_board;

/* Parses len bytes of text (need not be NUL-terminated). name stands for the file in diagnostics.
 * Returns FT_OK, or FT_ERR_FORMAT with diag naming "NAME line N"; *board is zeroed first and
 * holds what was parsed up to an error. FT_ERR_INVALID_ARG when text or board is NULL. */
ft_error ft_board_parse(const char *name, const char *text, size_t len, ft_board *board,
                        ft_diag *diag);

/* Reads and parses the file at path. FT_ERR_NOT_FOUND when it does not exist, FT_ERR_IO when it
 * cannot be read or is larger than 64 KiB, else as ft_board_parse. */
ft_error ft_board_load(const char *path, ft_board *board, ft_diag *diag);

#endif
