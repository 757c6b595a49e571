/* Resolving what the user names: parts (with the closest names when unknown) and board files. */
#include "programmer/cli/cli.h"

#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAME 64

static bool same_char(char a, char b)
{
	return toupper((unsigned char)a) == toupper((unsigned char)b) || b == 'x' || b == 'X';
}

size_t ft_cli_distance(const char *a, const char *b)
{
	size_t n = strnlen(a, MAX_NAME), m = strnlen(b, MAX_NAME);
	size_t d[MAX_NAME + 1][MAX_NAME + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			size_t cost = same_char(a[i - 1], b[j - 1]) ? 0 : 1;
			size_t best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && same_char(a[i - 1], b[j - 2]) &&
			    same_char(a[i - 2], b[j - 1]) && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

/* "stm32h743zit6" -> "H743ZIT6": the part number without the STM32 prefix, upper case. */
static void core_name(const char *spelling, char *out, size_t len)
{
	if (strncasecmp(spelling, "STM32", 5) == 0)
		spelling += 5;
	size_t i = 0;
	for (; spelling[i] && i + 1 < len; i++)
		out[i] = (char)toupper((unsigned char)spelling[i]);
	out[i] = '\0';
}

const ft_part *ft_cli_find_part(const char *spelling)
{
	const ft_part *part = ft_part_find(spelling);
	if (part)
		return part;
	char want[MAX_NAME];
	core_name(spelling, want, sizeof(want));
	size_t best = (size_t)-1;
	for (size_t i = 0; i < ft_part_count(); i++) {
		char name[MAX_NAME];
		core_name(ft_part_at(i)->name, name, sizeof(name));
		/* compare as many characters as the table's name has: package letters do not count
		 */
		char head[MAX_NAME];
		snprintf(head, sizeof(head), "%.*s", (int)strlen(name), want);
		size_t d = ft_cli_distance(head, name);
		if (d < best)
			best = d;
	}
	fprintf(stderr, "flashtwin: unknown part '%s'", spelling);
	if (best <= 2) {
		fputs("; did you mean", stderr);
		for (size_t i = 0, shown = 0; i < ft_part_count() && shown < 4; i++) {
			char name[MAX_NAME], head[MAX_NAME];
			core_name(ft_part_at(i)->name, name, sizeof(name));
			snprintf(head, sizeof(head), "%.*s", (int)strlen(name), want);
			if (ft_cli_distance(head, name) == best)
				fprintf(stderr, "%s %s", shown++ ? "," : "", ft_part_at(i)->name);
		}
		fputc('?', stderr);
	}
	fputs(" ('flashtwin parts' lists them)\n", stderr);
	return NULL;
}

/* Directories that may hold boards/, in search order; returns how many were written. */
static size_t board_dirs(char dirs[][PATH_MAX], size_t max)
{
	size_t n = 0;
	const char *env = getenv("FLASHTWIN_BOARDS");
	if (env && env[0] && n < max)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	if (n < max)
		snprintf(dirs[n++], PATH_MAX, "boards");
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return n;
	exe[len] = '\0';
	/* build/flashtwin and build/san/flashtwin sit one and two levels below the source tree */
	char *dir = dirname(exe);
	for (int up = 0; up < 3 && n < max; up++) {
		snprintf(dirs[n++], PATH_MAX, "%s/boards", dir);
		dir = dirname(dir);
	}
	return n;
}

static void list_boards(char dirs[][PATH_MAX], size_t count, const char *name)
{
	char best_name[MAX_NAME] = "";
	size_t best = (size_t)-1;
	fputs("flashtwin: known boards:", stderr);
	for (size_t i = 0; i < count; i++) {
		DIR *dir = opendir(dirs[i]);
		if (!dir)
			continue;
		struct dirent *entry;
		while ((entry = readdir(dir))) {
			size_t len = strlen(entry->d_name);
			if (len <= 6 || len - 6 >= MAX_NAME ||
			    strcmp(entry->d_name + len - 6, ".board") != 0)
				continue;
			fprintf(stderr, " %.*s", (int)(len - 6), entry->d_name);
			char board[MAX_NAME];
			snprintf(board, sizeof(board), "%.*s", (int)(len - 6), entry->d_name);
			size_t d = ft_cli_distance(name, board);
			if (d < best) {
				best = d;
				snprintf(best_name, sizeof(best_name), "%s", board);
			}
		}
		closedir(dir);
		break; /* the first directory that exists is the one searched */
	}
	fputc('\n', stderr);
	if (best <= 3)
		fprintf(stderr, "flashtwin: did you mean '%s'?\n", best_name);
}

bool ft_cli_find_board(const char *name, char *path, size_t len, ft_board *board)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	size_t nlen = strlen(name);
	if (strchr(name, '/') || (nlen > 6 && strcmp(name + nlen - 6, ".board") == 0)) {
		snprintf(path, len, "%s", name);
		if (ft_board_load(path, board, &diag) == FT_OK)
			return true;
		ft_cli_diag(path, &diag);
		return false;
	}
	char dirs[5][PATH_MAX];
	size_t count = board_dirs(dirs, 5);
	for (size_t i = 0; i < count; i++) {
		snprintf(path, len, "%s/%s.board", dirs[i], name);
		ft_error err = ft_board_load(path, board, &diag);
		if (err == FT_OK)
			return true;
		if (err != FT_ERR_NOT_FOUND) {
			ft_cli_diag(path, &diag);
			return false;
		}
	}
	ft_cli_error("unknown board '%s' (no %s.board in $FLASHTWIN_BOARDS, ./boards or the "
	             "boards/ of this build)",
	             name, name);
	list_boards(dirs, count, name);
	return false;
}

const ft_part *ft_cli_resolve_part(const char *part, const char *board)
{
	if (part)
		return ft_cli_find_part(part);
	char path[PATH_MAX];
	ft_board b;
	if (!ft_cli_find_board(board, path, sizeof(path), &b))
		return NULL;
	const ft_part *found = ft_part_find(b.part);
	if (!found)
		ft_cli_error(
		    "%s: part '%s' is not in the part table ('flashtwin parts' lists them)", path,
		    b.part);
	return found;
}
