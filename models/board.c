#include "models/board.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_FILE (64 * 1024)

typedef struct board_key {
	const char *key;
	size_t offset;
	size_t size;
} board_key;

static const board_key keys[] = {
    {"part", offsetof(ft_board, part), sizeof(((ft_board *)0)->part)},
    {"description", offsetof(ft_board, description), sizeof(((ft_board *)0)->description)},
    {"external_flash", offsetof(ft_board, external_flash), sizeof(((ft_board *)0)->external_flash)},
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Shrinks [*start, *end) past blanks at both ends. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_blank(**start))
		(*start)++;
	while (*end > *start && is_blank((*end)[-1]))
		(*end)--;
}

static ft_error parse_line(const char *name, unsigned line, const char *start, const char *end,
                           ft_board *board, bool *seen, ft_diag *diag)
{
	char origin[192];
	snprintf(origin, sizeof(origin), "%s line %u", name, line);
	trim(&start, &end);
	if (start == end || *start == '#')
		return FT_OK;
	const char *eq = memchr(start, '=', (size_t)(end - start));
	if (!eq)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "expected KEY = VALUE");
	const char *key_end = eq, *value = eq + 1;
	trim(&start, &key_end);
	trim(&value, &end);
	size_t key_len = (size_t)(key_end - start), value_len = (size_t)(end - value);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (strlen(keys[k].key) != key_len || memcmp(keys[k].key, start, key_len) != 0)
			continue;
		if (seen[k])
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s given twice",
			                   keys[k].key);
		if (value_len == 0)
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s has no value",
			                   keys[k].key);
		if (value_len >= keys[k].size)
			return ft_diag_set(diag, FT_ERR_FORMAT, origin,
			                   "%s is longer than %zu characters", keys[k].key,
			                   keys[k].size - 1);
		if (memchr(value, '\0', value_len))
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "NUL byte in %s",
			                   keys[k].key);
		char *field = (char *)board + keys[k].offset;
		memcpy(field, value, value_len);
		field[value_len] = '\0';
		seen[k] = true;
		return FT_OK;
	}
	return ft_diag_set(diag, FT_ERR_FORMAT, origin,
	                   "unknown key '%.*s' (known: part, description, external_flash)",
	                   (int)(key_len > 40 ? 40 : key_len), start);
}

ft_error ft_board_parse(const char *name, const char *text, size_t len, ft_board *board,
                        ft_diag *diag)
{
	if (!text || !board)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "ft_board_parse: missing argument");
	memset(board, 0, sizeof(*board));
	name = name ? name : "board";
	bool seen[sizeof(keys) / sizeof(keys[0])] = {false};
	const char *pos = text, *end = text + len;
	unsigned line = 0;
	while (pos < end) {
		const char *eol = memchr(pos, '\n', (size_t)(end - pos));
		const char *stop = eol ? eol : end;
		ft_error err = parse_line(name, ++line, pos, stop, board, seen, diag);
		if (err != FT_OK)
			return err;
		pos = eol ? eol + 1 : end;
	}
	if (!board->part[0])
		return ft_diag_set(diag, FT_ERR_FORMAT, name, "no 'part = ...' line");
	return FT_OK;
}

ft_error ft_board_load(const char *path, ft_board *board, ft_diag *diag)
{
	if (!path || !board)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, path,
		                   "ft_board_load: missing argument");
	FILE *file = fopen(path, "rb");
	if (!file)
		return ft_diag_set(diag, errno == ENOENT ? FT_ERR_NOT_FOUND : FT_ERR_IO, path, "%s",
		                   strerror(errno));
	char buf[MAX_FILE + 1];
	size_t len = fread(buf, 1, sizeof(buf), file);
	bool failed = ferror(file);
	fclose(file);
	if (failed)
		return ft_diag_set(diag, FT_ERR_IO, path, "read failed");
	if (len > MAX_FILE)
		return ft_diag_set(diag, FT_ERR_IO, path, "larger than %d bytes: not a board file",
		                   MAX_FILE);
	return ft_board_parse(path, buf, len, board, diag);
}
