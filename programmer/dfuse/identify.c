#include "programmer/dfuse/identify.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *ft_dfuse_agreement_name(ft_dfuse_agreement agreement)
{
	switch (agreement) {
	case FT_DFUSE_AGREES: return "agrees";
	case FT_DFUSE_KNOWN_QUIRK: return "known-quirk";
	case FT_DFUSE_DISAGREES: return "disagrees";
	}
	return "unknown";
}

static bool same_layout(const ft_dfuse_layout *a, const ft_dfuse_layout *b)
{
	if (strcmp(a->name, b->name) != 0 || a->group_count != b->group_count)
		return false;
	for (size_t i = 0; i < a->group_count; i++) {
		const ft_dfuse_group *x = &a->groups[i], *y = &b->groups[i];
		if (x->start != y->start || x->count != y->count ||
		    x->sector_size != y->sector_size || x->type != y->type)
			return false;
	}
	return true;
}

/* The index of the first alternate setting of the device that differs from names[0..count),
 * count when none does. A name that does not parse differs from everything. */
static size_t first_difference(const ft_dfuse_device_info *info, const char *const *names,
                               size_t count)
{
	size_t n = info->alt_count < count ? info->alt_count : count;
	for (size_t i = 0; i < n; i++) {
		ft_dfuse_layout want;
		const ft_dfuse_alt *a = &info->alts[i];
		if (a->layout_diag.code != FT_OK ||
		    ft_dfuse_layout_parse(names[i], strlen(names[i]), &want, NULL) != FT_OK ||
		    !same_layout(&a->layout, &want))
			return i;
	}
	return n;
}

static bool matches(const ft_dfuse_device_info *info, const char *const *names, size_t count)
{
	return info->alt_count == count && first_difference(info, names, count) == count;
}

static size_t quirk_alt_count(const ft_bootloader_quirk *q)
{
	size_t n = 0;
	while (n < FT_MAX_DFU_ALTS && q->alt_names[n])
		n++;
	return n;
}

/* "256 x 2 KiB at 0x08000000, ..." */
static void groups_text(const ft_dfuse_layout *layout, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < layout->group_count && used < len; i++) {
		const ft_dfuse_group *g = &layout->groups[i];
		bool kib = g->sector_size % 1024 == 0;
		int n = snprintf(out + used, len - used, "%s%u x %u %s at 0x%08X", i ? ", " : "",
		                 g->count, kib ? g->sector_size / 1024 : g->sector_size,
		                 kib ? "KiB" : "B", g->start);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

static void describe_difference(const ft_dfuse_device_info *info, const ft_part *part, char *text,
                                size_t len)
{
	const ft_bootloader_info *bl = part->bootloader;
	if (!bl->has_usb_dfu) {
		snprintf(text, len, "%s has no system-bootloader DFU (%s)", part->name, bl->source);
		return;
	}
	if (info->vid != bl->vid || info->pid != bl->pid) {
		snprintf(text, len,
		         "the device is %04x:%04x; the system bootloader of %s is %04x:%04x",
		         info->vid, info->pid, part->name, bl->vid, bl->pid);
		return;
	}
	size_t i = first_difference(info, bl->alt_names, bl->alt_count);
	if (i == bl->alt_count || i == info->alt_count) {
		snprintf(
		    text, len,
		    "the device has %zu alternate settings; the system bootloader of %s has %u",
		    info->alt_count, part->name, bl->alt_count);
		return;
	}
	const ft_dfuse_alt *a = &info->alts[i];
	char said[160] = "", want[160] = "";
	ft_dfuse_layout table;
	memset(&table, 0, sizeof(table));
	if (ft_dfuse_layout_parse(bl->alt_names[i], strlen(bl->alt_names[i]), &table, NULL) ==
	    FT_OK)
		groups_text(&table, want, sizeof(want));
	if (a->layout_diag.code != FT_OK) {
		snprintf(text, len, "alt %u \"%s\" is not a DfuSe layout; %s reports \"%s\"",
		         a->alt, a->name, part->name, bl->alt_names[i]);
		return;
	}
	groups_text(&a->layout, said, sizeof(said));
	if (i == 0 && part->flash.banks > 0) {
		const ft_flash_geometry *g = &part->flash;
		snprintf(text, len,
		         "the descriptor says %s; %s has %u bank%s of %u x %u KiB sectors at "
		         "0x%08X (part table)",
		         said, part->name, g->banks, g->banks > 1 ? "s" : "", g->sectors_per_bank,
		         g->sector_size / 1024, g->bank_base[0]);
		return;
	}
	snprintf(text, len, "alt %u \"%s\" says %s; the part table has \"%s\" %s for %s", a->alt,
	         a->layout.name, said, table.name, want, part->name);
}

ft_dfuse_agreement ft_dfuse_compare_part(const ft_dfuse_device_info *info, const ft_part *part,
                                         const ft_bootloader_quirk **quirk, char *text, size_t len)
{
	const ft_bootloader_info *bl = part->bootloader;
	if (quirk)
		*quirk = NULL;
	text[0] = '\0';
	bool usb = bl->has_usb_dfu && info->vid == bl->vid && info->pid == bl->pid;
	if (usb && matches(info, bl->alt_names, bl->alt_count))
		return FT_DFUSE_AGREES;
	describe_difference(info, part, text, len);
	for (size_t q = 0; usb && q < bl->quirk_count; q++) {
		const ft_bootloader_quirk *k = &bl->quirks[q];
		size_t n = quirk_alt_count(k);
		if (n > 0 && matches(info, k->alt_names, n)) {
			if (quirk)
				*quirk = k;
			return FT_DFUSE_KNOWN_QUIRK;
		}
	}
	return FT_DFUSE_DISAGREES;
}

size_t ft_dfuse_identify(const ft_dfuse_device_info *info, ft_dfuse_candidate *out, size_t cap)
{
	size_t count = 0;
	char text[8];
	for (int pass = 0; pass < 2; pass++) {
		ft_dfuse_agreement wanted = pass == 0 ? FT_DFUSE_AGREES : FT_DFUSE_KNOWN_QUIRK;
		for (size_t i = 0; i < ft_part_count(); i++) {
			const ft_part *part = ft_part_at(i);
			const ft_bootloader_quirk *quirk;
			if (ft_dfuse_compare_part(info, part, &quirk, text, sizeof(text)) != wanted)
				continue;
			if (count < cap)
				out[count] = (ft_dfuse_candidate){part, wanted, quirk};
			count++;
		}
	}
	return count;
}
