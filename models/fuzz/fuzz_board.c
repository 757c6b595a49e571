/* Board files are user input: any bytes must parse or fail with a diagnostic, never crash. */
#include "models/board.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ft_board board;
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_board_parse("fuzz.board", (const char *)data, size, &board, &diag) == FT_OK) {
		/* every field is NUL-terminated within its bounds */
		if (memchr(board.part, '\0', sizeof(board.part)) == NULL ||
		    memchr(board.description, '\0', sizeof(board.description)) == NULL ||
		    memchr(board.external_flash, '\0', sizeof(board.external_flash)) == NULL ||
		    memchr(board.external_flash_part, '\0', sizeof(board.external_flash_part)) ==
		        NULL)
			__builtin_trap();
		/* an external flash is a known part on a named bus, or absent altogether */
		if ((board.external_flash_part[0] != '\0') !=
		        (board.external_flash_bus != FT_BOARD_BUS_NONE) ||
		    (board.external_flash_bus != FT_BOARD_BUS_NONE &&
		     !ft_board_bus_window(board.external_flash_bus)))
			__builtin_trap();
		if (board.revision && (board.revision < 'A' || board.revision > 'Z'))
			__builtin_trap();
		if (!board.has_uid && (board.uid[0] | board.uid[1] | board.uid[2]))
			__builtin_trap();
	}
	return 0;
}
