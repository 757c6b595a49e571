/* The scenario registry: the section tables in catalogue order, glob filters, shards. */
#include "conformance/scenario.h"

#include <ctype.h>
#include <string.h>

static const char *const section_names[FT_CONFORM_SECTION_COUNT] = {
    [FT_CONFORM_SECTION_IMAGE] = "image", [FT_CONFORM_SECTION_DFU] = "dfu",
    [FT_CONFORM_SECTION_SWD] = "swd",     [FT_CONFORM_SECTION_EXTLDR] = "extldr",
    [FT_CONFORM_SECTION_N6] = "n6",       [FT_CONFORM_SECTION_OPTION] = "option",
};

/* CATALOGUE.md §5 headings. */
static const char *const section_titles[FT_CONFORM_SECTION_COUNT] = {
    [FT_CONFORM_SECTION_IMAGE] = "5.1 Image-layer scenarios",
    [FT_CONFORM_SECTION_DFU] = "5.2 DFU-bootloader scenarios",
    [FT_CONFORM_SECTION_SWD] = "5.3 SWD / flash-controller scenarios",
    [FT_CONFORM_SECTION_EXTLDR] = "5.4 External-loader / QSPI / XSPI scenarios",
    [FT_CONFORM_SECTION_N6] = "5.5 STM32N6-specific scenarios",
    [FT_CONFORM_SECTION_OPTION] = "5.6 Option-byte scenarios",
};

const char *ft_conform_section_name(ft_conform_section section)
{
	return (unsigned)section < FT_CONFORM_SECTION_COUNT ? section_names[section] : "unknown";
}

const char *ft_conform_section_title(ft_conform_section section)
{
	return (unsigned)section < FT_CONFORM_SECTION_COUNT ? section_titles[section] : "unknown";
}

typedef struct table {
	const ft_conform_scenario *rows;
	const size_t *count;
} table;

static const table tables[] = {
    {ft_conform_image_scenarios, &ft_conform_image_scenario_count},
    {ft_conform_dfu_scenarios, &ft_conform_dfu_scenario_count},
    {ft_conform_swd_scenarios, &ft_conform_swd_scenario_count},
    {ft_conform_extldr_scenarios, &ft_conform_extldr_scenario_count},
    {ft_conform_n6_scenarios, &ft_conform_n6_scenario_count},
    {ft_conform_option_scenarios, &ft_conform_option_scenario_count},
    {ft_conform_swd_option_scenarios, &ft_conform_swd_option_scenario_count},
};

size_t ft_conform_scenario_count(void)
{
	size_t n = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		n += *tables[t].count;
	return n;
}

const ft_conform_scenario *ft_conform_scenario_at(size_t index)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		if (index < *tables[t].count)
			return &tables[t].rows[index];
		index -= *tables[t].count;
	}
	return NULL;
}

const ft_conform_scenario *ft_conform_scenario_find(const char *id)
{
	const ft_conform_scenario *s;
	for (size_t i = 0; (s = ft_conform_scenario_at(i)) != NULL; i++)
		if (strcasecmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* Matches one '[...]' set at *pat against c; advances *pat past it. A malformed set (no ']')
 * matches the '[' literally. */
static bool match_set(const char **pat, char c)
{
	const char *p = *pat + 1;
	bool negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	bool hit = false;
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			if (tolower((unsigned char)c) >= tolower((unsigned char)p[0]) &&
			    tolower((unsigned char)c) <= tolower((unsigned char)p[2]))
				hit = true;
			p += 3;
		} else {
			if (tolower((unsigned char)c) == tolower((unsigned char)*p))
				hit = true;
			p++;
		}
	}
	if (*p != ']') {
		*pat += 1;
		return c == '[';
	}
	*pat = p + 1;
	return hit != negate;
}

/* Glob over pat[0..plen) and text; iterative with one backtrack point per '*'. */
static bool glob_one(const char *pat, size_t plen, const char *text)
{
	const char *end = pat + plen;
	const char *star = NULL, *star_text = NULL;
	while (*text) {
		if (pat < end && *pat == '*') {
			star = ++pat;
			star_text = text;
			continue;
		}
		if (pat < end && *pat == '[') {
			const char *p = pat;
			if (match_set(&p, *text) && p <= end) {
				pat = p;
				text++;
				continue;
			}
		} else if (pat < end && (*pat == '?' || tolower((unsigned char)*pat) ==
		                                            tolower((unsigned char)*text))) {
			pat++;
			text++;
			continue;
		}
		if (!star)
			return false;
		pat = star;
		text = ++star_text;
	}
	while (pat < end && *pat == '*')
		pat++;
	return pat == end;
}

bool ft_conform_glob_match(const char *patterns, const char *text)
{
	const char *p = patterns;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len > 0 && glob_one(p, len, text))
			return true;
		if (!comma)
			return false;
		p = comma + 1;
	}
}

bool ft_conform_in_shard(size_t index, unsigned shard, unsigned shards)
{
	return shards <= 1 || index % shards == (size_t)(shard - 1);
}
