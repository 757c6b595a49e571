#include "models/board.h"

#include "models/nor_flash.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_FILE   (64 * 1024)
#define UID_DIGITS 24

static const char *const bus_names[] = {
    [FT_BOARD_BUS_NONE] = "none",         [FT_BOARD_BUS_QUADSPI1] = "quadspi1",
    [FT_BOARD_BUS_QUADSPI2] = "quadspi2", [FT_BOARD_BUS_OCTOSPI1] = "octospi1",
    [FT_BOARD_BUS_OCTOSPI2] = "octospi2", [FT_BOARD_BUS_XSPI1] = "xspi1",
    [FT_BOARD_BUS_XSPI2] = "xspi2",       [FT_BOARD_BUS_XSPI3] = "xspi3",
};

/* Region names of models/parts.c (RM0433 §2.3.2 QUADSPI; RM0468/RM0455 OCTOSPI1/2; RM0486 XSPI1-3;
 * devices.md §1). */
static const char *const bus_windows[] = {
    [FT_BOARD_BUS_NONE] = NULL,           [FT_BOARD_BUS_QUADSPI1] = "QUADSPI",
    [FT_BOARD_BUS_QUADSPI2] = "QUADSPI",  [FT_BOARD_BUS_OCTOSPI1] = "OCTOSPI1",
    [FT_BOARD_BUS_OCTOSPI2] = "OCTOSPI2", [FT_BOARD_BUS_XSPI1] = "XSPI1",
    [FT_BOARD_BUS_XSPI2] = "XSPI2",       [FT_BOARD_BUS_XSPI3] = "XSPI3",
};

#define BUS_COUNT (sizeof(bus_names) / sizeof(bus_names[0]))

const char *ft_board_bus_name(ft_board_bus bus)
{
	return (size_t)bus < BUS_COUNT ? bus_names[bus] : "none";
}

const char *ft_board_bus_window(ft_board_bus bus)
{
	return (size_t)bus < BUS_COUNT ? bus_windows[bus] : NULL;
}

/* A value: [start, start + len), trimmed, non-empty, without NUL bytes. */
typedef struct board_value {
	const char *start;
	size_t len;
} board_value;

/* Stores a value into the board; returns FT_OK or an FT_ERR_FORMAT diagnostic for origin. */
typedef ft_error (*board_setter)(ft_board *board, const char *key, board_value v,
                                 const char *origin, ft_diag *diag);

typedef struct board_key {
	const char *key;
	board_setter set;
} board_key;

static ft_error set_text(ft_board *board, const char *key, board_value v, size_t offset,
                         size_t size, const char *origin, ft_diag *diag)
{
	if (v.len >= size)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s is longer than %zu characters",
		                   key, size - 1);
	char *field = (char *)board + offset;
	memcpy(field, v.start, v.len);
	field[v.len] = '\0';
	return FT_OK;
}

#define TEXT_SETTER(field)                                                                         \
	static ft_error set_##field(ft_board *board, const char *key, board_value v,               \
	                            const char *origin, ft_diag *diag)                             \
	{                                                                                          \
		return set_text(board, key, v, offsetof(ft_board, field), sizeof(board->field),    \
		                origin, diag);                                                     \
	}
TEXT_SETTER(part)
TEXT_SETTER(description)
TEXT_SETTER(loader)
TEXT_SETTER(external_flash)

static ft_error set_external_flash_part(ft_board *board, const char *key, board_value v,
                                        const char *origin, ft_diag *diag)
{
	char spelling[64];
	if (v.len >= sizeof(spelling))
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s is longer than %zu characters",
		                   key, sizeof(spelling) - 1);
	memcpy(spelling, v.start, v.len);
	spelling[v.len] = '\0';
	const ft_nor_part *part = ft_nor_part_find(spelling);
	if (!part) {
		char known[128] = "";
		for (size_t i = 0; i < ft_nor_part_count(); i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			         i ? ", " : "", ft_nor_part_geometry(ft_nor_part_at(i))->name);
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "unknown %s '%s' (known: %s)", key,
		                   spelling, known);
	}
	snprintf(board->external_flash_part, sizeof(board->external_flash_part), "%s",
	         ft_nor_part_geometry(part)->name);
	return FT_OK;
}

static bool value_is(board_value v, const char *word)
{
	return strlen(word) == v.len && memcmp(word, v.start, v.len) == 0;
}

static ft_error set_external_flash_bus(ft_board *board, const char *key, board_value v,
                                       const char *origin, ft_diag *diag)
{
	for (size_t b = 1; b < BUS_COUNT; b++) {
		if (value_is(v, bus_names[b])) {
			board->external_flash_bus = (ft_board_bus)b;
			return FT_OK;
		}
	}
	char known[128] = "";
	for (size_t b = 1; b < BUS_COUNT; b++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
		         b > 1 ? ", " : "", bus_names[b]);
	return ft_diag_set(diag, FT_ERR_FORMAT, origin, "unknown %s '%.*s' (known: %s)", key,
	                   (int)(v.len > 40 ? 40 : v.len), v.start, known);
}

static ft_error set_revision(ft_board *board, const char *key, board_value v, const char *origin,
                             ft_diag *diag)
{
	if (v.len != 1 || !isalpha((unsigned char)v.start[0]))
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "%s must be one letter (the silicon revision, e.g. V)", key);
	board->revision = (char)toupper((unsigned char)v.start[0]);
	return FT_OK;
}

static ft_error set_uid(ft_board *board, const char *key, board_value v, const char *origin,
                        ft_diag *diag)
{
	unsigned digits = 0;
	uint32_t uid[3] = {0};
	for (size_t i = 0; i < v.len; i++) {
		char c = v.start[i];
		if (c == ' ' || c == '\t')
			continue;
		if (!isxdigit((unsigned char)c) || digits == UID_DIGITS)
			return ft_diag_set(diag, FT_ERR_FORMAT, origin,
			                   "%s must be %d hex digits (three 32-bit words, word 0 "
			                   "first)",
			                   key, UID_DIGITS);
		unsigned nibble = isdigit((unsigned char)c)
		                      ? (unsigned)(c - '0')
		                      : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
		uid[digits / 8] = (uid[digits / 8] << 4) | nibble;
		digits++;
	}
	if (digits != UID_DIGITS)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "%s has %u hex digits; it needs %d (three 32-bit words, word 0 "
		                   "first)",
		                   key, digits, UID_DIGITS);
	memcpy(board->uid, uid, sizeof(uid));
	board->has_uid = true;
	return FT_OK;
}

static ft_error set_boot0(ft_board *board, const char *key, board_value v, const char *origin,
                          ft_diag *diag)
{
	if (!value_is(v, "0") && !value_is(v, "1"))
		return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s must be 0 or 1", key);
	board->boot0 = v.start[0] == '1';
	board->has_boot0 = true;
	return FT_OK;
}

static const board_key keys[] = {
    {"part", set_part},
    {"description", set_description},
    {"external_flash", set_external_flash},
    {"external_flash_part", set_external_flash_part},
    {"external_flash_bus", set_external_flash_bus},
    {"revision", set_revision},
    {"uid", set_uid},
    {"boot0", set_boot0},
    {"loader", set_loader},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

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
	for (size_t k = 0; k < KEY_COUNT; k++) {
		if (strlen(keys[k].key) != key_len || memcmp(keys[k].key, start, key_len) != 0)
			continue;
		if (seen[k])
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s given twice",
			                   keys[k].key);
		if (value_len == 0)
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "%s has no value",
			                   keys[k].key);
		if (memchr(value, '\0', value_len))
			return ft_diag_set(diag, FT_ERR_FORMAT, origin, "NUL byte in %s",
			                   keys[k].key);
		seen[k] = true;
		return keys[k].set(board, keys[k].key, (board_value){value, value_len}, origin,
		                   diag);
	}
	char known[256] = "";
	for (size_t k = 0; k < KEY_COUNT; k++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
		         k ? ", " : "", keys[k].key);
	return ft_diag_set(diag, FT_ERR_FORMAT, origin, "unknown key '%.*s' (known: %s)",
	                   (int)(key_len > 40 ? 40 : key_len), start, known);
}

ft_error ft_board_parse(const char *name, const char *text, size_t len, ft_board *board,
                        ft_diag *diag)
{
	if (!text || !board)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "ft_board_parse: missing argument");
	memset(board, 0, sizeof(*board));
	name = name ? name : "board";
	bool seen[KEY_COUNT] = {false};
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
	if (!board->external_flash_part[0] != (board->external_flash_bus == FT_BOARD_BUS_NONE))
		return ft_diag_set(diag, FT_ERR_FORMAT, name,
		                   "external_flash_part and external_flash_bus go together: "
		                   "give both or neither");
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

bool ft_board_arg_is_path(const char *arg)
{
	size_t len = strlen(arg), suffix = strlen(".board");
	return strchr(arg, '/') || (len > suffix && strcmp(arg + len - suffix, ".board") == 0);
}

size_t ft_board_search_dirs(const char *env_dir, const char *exe_path,
                            char (*dirs)[FT_BOARD_PATH_MAX], size_t max)
{
	if (max > FT_BOARD_SEARCH_DIRS)
		max = FT_BOARD_SEARCH_DIRS;
	size_t n = 0;
	if (env_dir && env_dir[0] && n < max)
		snprintf(dirs[n++], FT_BOARD_PATH_MAX, "%s", env_dir);
	if (n < max)
		snprintf(dirs[n++], FT_BOARD_PATH_MAX, "boards");
	const char *slash = exe_path ? strrchr(exe_path, '/') : NULL;
	if (!slash)
		return n;
	/* the executable's directory, then up to two parents: cut at the last '/' each time */
	size_t len = (size_t)(slash - exe_path);
	for (int up = 0; up < 3 && n < max; up++) {
		snprintf(dirs[n++], FT_BOARD_PATH_MAX, "%.*s/boards", (int)len, exe_path);
		while (len > 0 && exe_path[len - 1] != '/')
			len--;
		if (len == 0)
			break;
		len--; /* drop the '/' itself */
	}
	return n;
}
