#include "programmer/dfuse/layout.h"

#include <string.h>

typedef struct cursor {
	const char *text;
	size_t len;
	size_t pos;
	ft_diag *diag;
} cursor;

static int peek(const cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->text[c->pos] : -1;
}

static ft_error expected(cursor *c, const char *what)
{
	int ch = peek(c);
	if (ch < 0)
		return ft_diag_set(c->diag, FT_ERR_FORMAT, "DfuSe layout string",
				   "expected %s at offset %zu, found the end", what, c->pos);
	return ft_diag_set(c->diag, FT_ERR_FORMAT, "DfuSe layout string",
			   "expected %s at offset %zu, found '%c'", what, c->pos,
			   ch >= 0x20 && ch < 0x7f ? ch : '?');
}

static bool accept(cursor *c, char ch)
{
	if (peek(c) != ch)
		return false;
	c->pos++;
	return true;
}

/* Decimal or 0x-prefixed hexadecimal number bounded by 32 bits. */
static ft_error number(cursor *c, bool hex, uint32_t *value, const char *what)
{
	uint64_t v = 0;
	size_t digits = 0;
	unsigned base = hex ? 16 : 10;
	for (;;) {
		int ch = peek(c);
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (hex && ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (hex && ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			break;
		v = v * base + d;
		if (v > UINT32_MAX)
			return ft_diag_set(c->diag, FT_ERR_FORMAT, "DfuSe layout string",
					   "%s at offset %zu does not fit in 32 bits", what, c->pos);
		c->pos++;
		digits++;
	}
	if (digits == 0)
		return expected(c, what);
	*value = (uint32_t)v;
	return FT_OK;
}

static ft_error group(cursor *c, uint64_t start, ft_dfuse_group *g)
{
	if (start > UINT32_MAX)
		return ft_diag_set(c->diag, FT_ERR_RANGE, "DfuSe layout string",
				   "sector group at offset %zu starts past 0xFFFFFFFF", c->pos);
	uint32_t count, size;
	ft_error err = number(c, false, &count, "a sector count");
	if (err)
		return err;
	if (!accept(c, '*'))
		return expected(c, "'*'");
	err = number(c, false, &size, "a sector size");
	if (err)
		return err;
	uint64_t scale = 1;
	int mult = peek(c);
	if (mult == 'K' || mult == 'M' || mult == 'B' || mult == ' ') {
		scale = mult == 'K' ? 1024u : mult == 'M' ? 1024u * 1024u : 1u;
		c->pos++;
	}
	int type = peek(c);
	if (type < 'a' || type > 'g')
		return expected(c, "a memory type letter a-g");
	c->pos++;
	uint64_t sector = (uint64_t)size * scale;
	if (count == 0 || sector == 0 || sector > UINT32_MAX)
		return ft_diag_set(c->diag, FT_ERR_FORMAT, "DfuSe layout string",
				   "sector group ending at offset %zu has %u sectors of %llu bytes", c->pos,
				   count, (unsigned long long)sector);
	if (start + (uint64_t)count * sector > (uint64_t)UINT32_MAX + 1)
		return ft_diag_set(c->diag, FT_ERR_RANGE, "DfuSe layout string",
				   "sector group ending at offset %zu runs past 0xFFFFFFFF", c->pos);
	*g = (ft_dfuse_group){(uint32_t)start, count, (uint32_t)sector, (uint8_t)(type & 7)};
	return FT_OK;
}

ft_error ft_dfuse_layout_parse(const char *text, size_t len, ft_dfuse_layout *out, ft_diag *diag)
{
	cursor c = {text, len, 0, diag};
	memset(out, 0, sizeof(*out));
	if (!accept(&c, '@'))
		return expected(&c, "'@'");
	size_t name_start = c.pos;
	while (peek(&c) >= 0 && peek(&c) != '/')
		c.pos++;
	size_t name_len = c.pos - name_start;
	while (name_len > 0 && text[name_start + name_len - 1] == ' ')
		name_len--;
	if (name_len >= sizeof(out->name))
		return ft_diag_set(diag, FT_ERR_FORMAT, "DfuSe layout string",
				   "name is %zu bytes, at most %zu allowed", name_len,
				   sizeof(out->name) - 1);
	memcpy(out->name, text + name_start, name_len);

	while (peek(&c) >= 0) {
		if (!accept(&c, '/'))
			return expected(&c, "'/'");
		if (!accept(&c, '0') || !(accept(&c, 'x') || accept(&c, 'X')))
			return expected(&c, "an address '0x...'");
		uint32_t addr32;
		ft_error err = number(&c, true, &addr32, "an address");
		if (err)
			return err;
		if (!accept(&c, '/'))
			return expected(&c, "'/' after the address");
		uint64_t addr = addr32;
		do {
			if (out->group_count == FT_DFUSE_MAX_GROUPS)
				return ft_diag_set(diag, FT_ERR_FORMAT, "DfuSe layout string",
						   "more than %d sector groups", FT_DFUSE_MAX_GROUPS);
			ft_dfuse_group *g = &out->groups[out->group_count];
			err = group(&c, addr, g);
			if (err)
				return err;
			out->group_count++;
			addr = (uint64_t)g->start + (uint64_t)g->count * g->sector_size;
		} while (accept(&c, ','));
	}
	if (out->group_count == 0)
		return expected(&c, "'/0xADDRESS/'");
	return FT_OK;
}

const ft_dfuse_group *ft_dfuse_layout_find(const ft_dfuse_layout *layout, uint32_t addr)
{
	for (size_t i = 0; i < layout->group_count; i++) {
		const ft_dfuse_group *g = &layout->groups[i];
		if (addr >= g->start && (uint64_t)addr - g->start < (uint64_t)g->count * g->sector_size)
			return g;
	}
	return NULL;
}

uint64_t ft_dfuse_layout_size(const ft_dfuse_layout *layout)
{
	uint64_t total = 0;
	for (size_t i = 0; i < layout->group_count; i++)
		total += (uint64_t)layout->groups[i].count * layout->groups[i].sector_size;
	return total;
}
