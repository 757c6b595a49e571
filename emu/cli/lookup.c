/* Finding the board file a --board argument names. */
#include "emu/cli/emu_cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUFFIX ".board"

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The boards in the first of dirs that exists, sorted, on one line of stderr. */
static void list_boards(char (*dirs)[FT_BOARD_PATH_MAX], size_t count)
{
	for (size_t i = 0; i < count; i++) {
		DIR *dir = opendir(dirs[i]);
		if (!dir)
			continue;
		char *names[256];
		size_t n = 0;
		struct dirent *entry;
		while ((entry = readdir(dir)) && n < sizeof(names) / sizeof(names[0])) {
			size_t len = strlen(entry->d_name);
			if (len > strlen(SUFFIX) &&
			    strcmp(entry->d_name + len - strlen(SUFFIX), SUFFIX) == 0 &&
			    (names[n] = strndup(entry->d_name, len - strlen(SUFFIX))))
				n++;
		}
		closedir(dir);
		qsort(names, n, sizeof(names[0]), compare_names);
		fprintf(stderr, "flashtwin-emu: known boards (in %s):", dirs[i]);
		for (size_t k = 0; k < n; k++) {
			fprintf(stderr, " %s", names[k]);
			free(names[k]);
		}
		fputc('\n', stderr);
		return;
	}
	fputs("flashtwin-emu: no boards directory found (set FLASHTWIN_BOARDS or pass a path)\n",
	      stderr);
}

static int load(const char *path, ft_board *board)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_board_load(path, board, &diag) == FT_OK)
		return FT_EMU_EXIT_OK;
	fprintf(stderr, "flashtwin-emu: %s: %s\n", diag.origin[0] ? diag.origin : path,
	        diag.message);
	return FT_EMU_EXIT_USAGE;
}

int ft_emu_find_board(const char *arg, char *path, size_t len, ft_board *board)
{
	if (ft_board_arg_is_path(arg)) {
		snprintf(path, len, "%s", arg);
		return load(path, board);
	}
	char exe[FT_BOARD_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	char dirs[FT_BOARD_SEARCH_DIRS][FT_BOARD_PATH_MAX];
	size_t count = ft_board_search_dirs(getenv("FLASHTWIN_BOARDS"), n > 0 ? exe : NULL, dirs,
	                                    FT_BOARD_SEARCH_DIRS);
	for (size_t i = 0; i < count; i++) {
		snprintf(path, len, "%s/%s%s", dirs[i], arg, SUFFIX);
		if (access(path, F_OK) == 0)
			return load(path, board);
	}
	fprintf(stderr, "flashtwin-emu: unknown board '%s'\n", arg);
	list_boards(dirs, count);
	return FT_EMU_EXIT_USAGE;
}
