/* The flashtwin-emu command: what its source files share. Nothing here is library API.
 *
 * Exit statuses (docs/emulator.md): 0 stopped by SIGINT/SIGTERM or after the board left DFU,
 * 1 the board could not run (state directory busy or of another board, socket, I/O),
 * 2 bad usage, board or board file, or a boot mode the board cannot do.
 */
#ifndef FT_EMU_CLI_H
#define FT_EMU_CLI_H

#include "models/board.h"

#include <stddef.h>

#define FT_EMU_VERSION "0.1.0"

enum {
	FT_EMU_EXIT_OK = 0,
	FT_EMU_EXIT_FAILED = 1,
	FT_EMU_EXIT_USAGE = 2,
};

/* Resolves a --board argument: a path to a board file (see ft_board_arg_is_path), or a NAME looked
 * for as NAME.board in the directories of ft_board_search_dirs ($FLASHTWIN_BOARDS, ./boards, the
 * boards/ directories beside and above this executable). On success writes the file's path (at
 * most len bytes) and fills *board, and returns FT_EMU_EXIT_OK; otherwise prints why on stderr
 * (for an unknown name, the boards it knows) and returns FT_EMU_EXIT_USAGE. */
int ft_emu_find_board(const char *arg, char *path, size_t len, ft_board *board);

#endif
