/* The flashtwin command: what its source files share. Nothing here is library API.
 *
 * Exit statuses (docs/cli.md): 0 done / programmable, 1 refused, 2 bad input or usage.
 */
#ifndef FT_CLI_H
#define FT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "models/error.h"
#include "models/parts.h"
#include "models/board.h"
#include "programmer/image/image.h"
#include "programmer/plan.h"

#define FT_CLI_VERSION "0.1.0"

enum {
	FT_EXIT_OK = 0,
	FT_EXIT_REFUSED = 1,
	FT_EXIT_USAGE = 2,
};

/* Subcommands: argv[0] is the subcommand's name; each returns an exit status. */
int ft_cli_check(int argc, char **argv);
int ft_cli_parts(int argc, char **argv);

/* "flashtwin: MESSAGE" on stderr. */
void ft_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A library diagnostic as "flashtwin: FILE: ORIGIN: MESSAGE" on stderr; the origin is left out
 * when empty, and its leading "FILE " is not repeated. */
void ft_cli_diag(const char *file, const ft_diag *diag);

/* Resolves a part spelling. On failure prints "unknown part" with the closest names of the table
 * and returns NULL. */
const ft_part *ft_cli_find_part(const char *spelling);

/* The board's file: boards/NAME.board, looked for in $FLASHTWIN_BOARDS, ./boards and the boards/
 * directory above the executable; NAME may also be a path to a .board file. On success writes the
 * path used (at most len bytes) and fills *board; otherwise prints why, with the known names,
 * and returns false. */
bool ft_cli_find_board(const char *name, char *path, size_t len, ft_board *board);

/* Damerau-Levenshtein distance between a and b, case-insensitive; 'x' or 'X' in b matches any one
 * character (the table's "STM32H743xI" stands for every package letter). */
size_t ft_cli_distance(const char *a, const char *b);

/* What a check rendered in text or JSON needs besides the plan. */
typedef struct ft_cli_check_input {
	const char *const *files;
	size_t file_count;
	const char *board; /* NULL without --board */
	bool has_address;
	uint32_t address;
	const ft_image *image;
} ft_cli_check_input;

void ft_cli_render_plan_text(FILE *out, const ft_cli_check_input *input, const ft_plan *plan);
/* Returns false when out of memory (nothing written). */
bool ft_cli_render_plan_json(FILE *out, const ft_cli_check_input *input, const ft_plan *plan);
/* A check that failed before planning, as the same JSON object with "status": "error". */
void ft_cli_render_error_json(FILE *out, const char *command, const char *file,
                              const ft_diag *diag);

#endif
