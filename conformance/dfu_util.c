/* Reading dfu-util's output. */
#include "conformance/dfu_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Walks text line by line: *line and *len the next line (without its newline); false at the
 * end. *cursor starts at text. */
static bool next_line(const char **cursor, const char **line, size_t *len)
{
	const char *p = *cursor;
	if (!p || !*p)
		return false;
	const char *eol = strchr(p, '\n');
	*line = p;
	*len = eol ? (size_t)(eol - p) : strlen(p);
	*cursor = eol ? eol + 1 : p + *len;
	return true;
}

/* The value of `key="..."` in line[0..len) copied into out (cut to cap - 1); false when the key
 * or the closing quote is missing. */
static bool quoted(const char *line, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 2 <= len; i++) {
		if (memcmp(line + i, key, klen) != 0 || line[i + klen] != '=' ||
		    line[i + klen + 1] != '"')
			continue;
		const char *v = line + i + klen + 2;
		const char *end = memchr(v, '"', len - (size_t)(v - line));
		if (!end)
			return false;
		size_t n = (size_t)(end - v);
		if (n >= cap)
			n = cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The unsigned number after `key=` in line[0..len), in base; false when absent. */
static bool number(const char *line, size_t len, const char *key, int base, unsigned *out)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 1 < len; i++) {
		if (memcmp(line + i, key, klen) != 0 || line[i + klen] != '=')
			continue;
		if (i > 0 && line[i - 1] != ' ' && line[i - 1] != ',')
			continue;
		char digits[16];
		size_t n = 0;
		const char *p = line + i + klen + 1;
		while (n < sizeof(digits) - 1 && p + n < line + len &&
		       strchr("0123456789abcdefABCDEF", p[n]) && p[n])
			n++;
		if (n == 0)
			return false;
		memcpy(digits, p, n);
		digits[n] = '\0';
		char *end;
		unsigned long v = strtoul(digits, &end, base);
		if (*end || v > 0xFFFFFFFFul)
			return false;
		*out = (unsigned)v;
		return true;
	}
	return false;
}

size_t ft_conform_dfu_util_list(const char *out, ft_dfuse_device_info *info)
{
	static const char found[] = "Found DFU: [";
	memset(info, 0, sizeof(*info));
	char first_path[64] = "";
	const char *cursor = out, *line;
	size_t len;
	while (next_line(&cursor, &line, &len)) {
		unsigned vid, pid, ver, alt;
		char path[64], name[sizeof(info->alts[0].name)], serial[sizeof(info->serial)];
		/* "Found DFU: [0483:df11] ver=..." */
		if (len < sizeof(found) + 10 || memcmp(line, found, sizeof(found) - 1) != 0)
			continue;
		char ids[11]; /* "0483:df11]" */
		memcpy(ids, line + sizeof(found) - 1, 10);
		ids[10] = '\0';
		if (ids[4] != ':' || ids[9] != ']' || strspn(ids, "0123456789abcdefABCDEF") != 4 ||
		    strspn(ids + 5, "0123456789abcdefABCDEF") != 4 ||
		    sscanf(ids, "%4x:%4x]", &vid, &pid) != 2)
			continue;
		if (!number(line, len, "ver", 16, &ver) || !number(line, len, "alt", 10, &alt) ||
		    !quoted(line, len, "path", path, sizeof(path)) ||
		    !quoted(line, len, "name", name, sizeof(name)) ||
		    !quoted(line, len, "serial", serial, sizeof(serial)) || ver > 0xFFFF ||
		    alt > 0xFF)
			continue;
		if (info->alt_count == 0) {
			info->vid = (uint16_t)vid;
			info->pid = (uint16_t)pid;
			info->bcd_device = (uint16_t)ver;
			memcpy(info->serial, serial, sizeof(serial));
			memcpy(first_path, path, sizeof(path));
		} else if (vid != info->vid || pid != info->pid || strcmp(path, first_path) != 0) {
			continue;
		}
		if (info->alt_count == FT_DFUSE_MAX_ALTS)
			break;
		/* insertion by alternate setting number */
		size_t at = info->alt_count;
		while (at > 0 && info->alts[at - 1].alt > alt) {
			info->alts[at] = info->alts[at - 1];
			at--;
		}
		ft_dfuse_alt *a = &info->alts[at];
		memset(a, 0, sizeof(*a));
		a->alt = (uint8_t)alt;
		memcpy(a->name, name, sizeof(name));
		ft_diag_clear(&a->layout_diag);
		ft_dfuse_layout_parse(a->name, strlen(a->name), &a->layout, &a->layout_diag);
		info->alt_count++;
	}
	return info->alt_count;
}

/* The text after prefix on the first line starting with it, as a number in base. */
static bool after(const char *out, const char *prefix, int base, unsigned *value)
{
	size_t plen = strlen(prefix);
	const char *cursor = out, *line;
	size_t len;
	while (next_line(&cursor, &line, &len)) {
		if (len <= plen || memcmp(line, prefix, plen) != 0)
			continue;
		char digits[16];
		size_t n = len - plen < sizeof(digits) - 1 ? len - plen : sizeof(digits) - 1;
		memcpy(digits, line + plen, n);
		digits[n] = '\0';
		char *end;
		unsigned long v = strtoul(digits, &end, base);
		if (end == digits || v > 0xFFFFul)
			continue;
		*value = (unsigned)v;
		return true;
	}
	return false;
}

bool ft_conform_dfu_util_session(const char *out, ft_dfuse_device_info *info)
{
	unsigned bcd = 0, size = 0;
	bool has_bcd = after(out, "Device DFU version ", 16, &bcd);
	bool has_size = after(out, "Device returned transfer size ", 10, &size);
	if (has_bcd)
		info->bcd_dfu = (uint16_t)bcd;
	if (has_size)
		info->transfer_size_reported = (uint16_t)size;
	return has_bcd && has_size;
}

/* Whether line[0..len) is "DFU state(10) = dfuERROR, status(1) = File is not ...". */
static bool status_line(const char *line, size_t len, uint8_t *state, uint8_t *status)
{
	char text[96];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
	memcpy(text, line, n);
	text[n] = '\0';
	unsigned st, ss;
	int end = 0;
	if (sscanf(text, "DFU state(%u) = %*[^,], status(%u)%n", &st, &ss, &end) != 2 || end == 0 ||
	    st > 0xFF || ss > 0xFF)
		return false;
	*state = (uint8_t)st;
	*status = (uint8_t)ss;
	return true;
}

bool ft_conform_dfu_util_status(const char *out, int index, uint8_t *state, uint8_t *status)
{
	long count = 0;
	const char *cursor = out, *line;
	size_t len;
	uint8_t st, ss;
	while (next_line(&cursor, &line, &len))
		count += status_line(line, len, &st, &ss);
	long want = index >= 0 ? index : count + index;
	if (want < 0 || want >= count)
		return false;
	cursor = out;
	for (long seen = 0; next_line(&cursor, &line, &len);) {
		if (!status_line(line, len, &st, &ss))
			continue;
		if (seen++ == want) {
			*state = st;
			*status = ss;
			return true;
		}
	}
	return false;
}

bool ft_conform_dfu_util_error(const char *err, char *line_out, size_t cap)
{
	static const char prefix[] = "dfu-util: ";
	const size_t plen = sizeof(prefix) - 1;
	bool found = false;
	line_out[0] = '\0';
	const char *cursor = err, *line;
	size_t len;
	while (next_line(&cursor, &line, &len)) {
		if (len < plen || memcmp(line, prefix, plen) != 0)
			continue;
		size_t n = len - plen < cap - 1 ? len - plen : cap - 1;
		memcpy(line_out, line + plen, n);
		line_out[n] = '\0';
		found = true;
	}
	return found;
}
