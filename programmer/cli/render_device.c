/* A connected DFU device for people and for programs: identity, DFU functional descriptor,
 * alternate settings with their parsed layouts, and the part (info in full, flash in short). */
#include "programmer/cli/cli.h"

#include <string.h>

static void access_words(uint8_t type, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", type & FT_DFUSE_READABLE ? "read " : "",
	         type & FT_DFUSE_ERASABLE ? "erase " : "",
	         type & FT_DFUSE_WRITEABLE ? "write" : "");
	size_t n = strlen(buf);
	if (n && buf[n - 1] == ' ')
		buf[n - 1] = '\0';
}

static void bcd_text(uint16_t bcd, char *buf, size_t len)
{
	snprintf(buf, len, "%x.%02x (0x%04X)", bcd >> 8, bcd & 0xFF, bcd);
}

/* "from the descriptor, which 12 parts share (...)" and friends. */
static void part_source(const ft_cli_identity *id, char *buf, size_t len)
{
	if (id->given) {
		snprintf(buf, len, "as given; the descriptor %s",
		         id->agreement == FT_DFUSE_AGREES ? "agrees"
		         : id->agreement == FT_DFUSE_KNOWN_QUIRK
		             ? "shows a known ROM quirk (the part table is used)"
		             : "disagrees");
		return;
	}
	if (id->candidate_count <= 1) {
		snprintf(buf, len, "from the descriptor%s",
		         id->quirk ? ", which shows a known ROM quirk (the part table is used)"
		                   : "");
		return;
	}
	char names[600];
	ft_cli_candidates_text(id, names, sizeof(names));
	snprintf(buf, len,
	         "from the descriptor, which %zu parts share (%s); it cannot tell them apart: "
	         "give --part or --board",
	         id->candidate_count, names);
}

void ft_cli_print_device(FILE *out, const ft_cli_session *s, const ft_cli_identity *id, bool full)
{
	const ft_dfuse_device_info *info = ft_dfuse_info(s->dev);
	fprintf(out, "%-10s%s\n", "device", info->transport);
	fprintf(out, "%-10s%s \"%s\", serial %s\n", "product", info->manufacturer, info->product,
	        info->serial[0] ? info->serial : "(none)");
	if (full) {
		char dfu[32];
		bcd_text(info->bcd_dfu, dfu, sizeof(dfu));
		fprintf(out, "%-10s%04x:%04x, bcdDevice 0x%04X, configuration %u, interface %u\n",
		        "usb", info->vid, info->pid, info->bcd_device, info->configuration,
		        info->interface);
		fprintf(out, "%-10sversion %s, wTransferSize %u, detach timeout %u ms\n", "dfu",
		        dfu, info->transfer_size_reported, info->detach_timeout_ms);
		fprintf(out, "%-10s%s%s%s%s\n", "", info->attributes & 1 ? "can-download " : "",
		        info->attributes & 2 ? "can-upload " : "",
		        info->attributes & 4 ? "manifestation-tolerant " : "",
		        info->attributes & 8 ? "will-detach" : "");
		for (size_t i = 0; i < info->alt_count; i++) {
			const ft_dfuse_alt *a = &info->alts[i];
			char label[16];
			snprintf(label, sizeof(label), "alt %u", a->alt);
			fprintf(out, "%-10s%s\n", label, a->name);
			if (a->layout_diag.code != FT_OK) {
				fprintf(out, "%-10snot a DfuSe layout: %s\n", "",
				        a->layout_diag.message);
				continue;
			}
			for (size_t g = 0; g < a->layout.group_count; g++) {
				const ft_dfuse_group *gr = &a->layout.groups[g];
				char range[40], size[24], access[24];
				uint64_t bytes = (uint64_t)gr->count * gr->sector_size;
				ft_cli_range_text(range, sizeof(range), gr->start,
				                  bytes > UINT32_MAX ? UINT32_MAX
				                                     : (uint32_t)bytes);
				ft_plan_format_size(gr->sector_size, size, sizeof(size));
				access_words(gr->type, access, sizeof(access));
				fprintf(out, "%-10s%s  %u x %s  %s\n", "", range, gr->count, size,
				        access);
			}
		}
	}
	if (!id->part) {
		fprintf(out, "%-10sunknown: %s\n", "part", id->disagreement);
		return;
	}
	char source[900];
	part_source(id, source, sizeof(source));
	fprintf(out, "%-10s%s (id 0x%03X), %s\n", "part", id->part->name, id->part->dev_id, source);
	if (id->agreement != FT_DFUSE_AGREES)
		fprintf(out, "%-10s%s\n", "", id->disagreement);
}

static bool set(json_t *o, const char *key, json_t *value)
{
	return json_object_set_new(o, key, value) == 0;
}

static json_t *layout_json(const ft_dfuse_alt *a)
{
	if (a->layout_diag.code != FT_OK)
		return json_null();
	json_t *groups = json_array();
	for (size_t g = 0; groups && g < a->layout.group_count; g++) {
		const ft_dfuse_group *gr = &a->layout.groups[g];
		uint64_t end = (uint64_t)gr->start + (uint64_t)gr->count * gr->sector_size - 1;
		json_t *o = json_pack(
		    "{s:o, s:o, s:I, s:I, s:b, s:b, s:b}", "start", ft_cli_json_hex(gr->start),
		    "end", ft_cli_json_hex((uint32_t)end), "count", (json_int_t)gr->count,
		    "sector_size", (json_int_t)gr->sector_size, "readable",
		    (gr->type & FT_DFUSE_READABLE) != 0, "erasable",
		    (gr->type & FT_DFUSE_ERASABLE) != 0, "writeable",
		    (gr->type & FT_DFUSE_WRITEABLE) != 0);
		if (json_array_append_new(groups, o) != 0) {
			json_decref(groups);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o}", "name", a->layout.name, "groups", groups);
}

static json_t *alts_json(const ft_dfuse_device_info *info)
{
	json_t *alts = json_array();
	for (size_t i = 0; alts && i < info->alt_count; i++) {
		const ft_dfuse_alt *a = &info->alts[i];
		json_t *o =
		    json_pack("{s:i, s:s, s:o, s:o}", "alt", a->alt, "name", a->name, "layout",
		              layout_json(a), "layout_error",
		              a->layout_diag.code != FT_OK ? json_string(a->layout_diag.message)
		                                           : json_null());
		if (json_array_append_new(alts, o) != 0) {
			json_decref(alts);
			return NULL;
		}
	}
	return alts;
}

json_t *ft_cli_device_json(const ft_cli_session *s, const ft_cli_identity *id)
{
	const ft_dfuse_device_info *info = ft_dfuse_info(s->dev);
	char vid[8], pid[8], bcd[8], dfu[8];
	snprintf(vid, sizeof(vid), "%04x", info->vid);
	snprintf(pid, sizeof(pid), "%04x", info->pid);
	snprintf(bcd, sizeof(bcd), "%04x", info->bcd_device);
	snprintf(dfu, sizeof(dfu), "%04x", info->bcd_dfu);
	json_t *candidates = json_array();
	size_t shown = id->candidate_count < FT_CLI_MAX_CANDIDATES ? id->candidate_count
	                                                           : FT_CLI_MAX_CANDIDATES;
	for (size_t i = 0; candidates && i < shown; i++)
		json_array_append_new(candidates, json_string(id->candidates[i].part->name));
	json_t *part = json_object();
	bool ok =
	    part && set(part, "name", id->part ? json_string(id->part->name) : json_null()) &&
	    set(part, "source", json_string(id->given ? "given" : "descriptor")) &&
	    set(part, "agreement", json_string(ft_dfuse_agreement_name(id->agreement))) &&
	    set(part, "quirk", id->quirk ? json_string(id->quirk->name) : json_null()) &&
	    set(part, "disagreement",
	        id->agreement != FT_DFUSE_AGREES ? json_string(id->disagreement) : json_null()) &&
	    set(part, "candidates", candidates);
	if (!ok) {
		json_decref(part);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:{s:b, s:b, "
	                 "s:b, s:b}, s:o, s:o}",
	                 "connection", s->conn, "transport", info->transport, "vid", vid, "pid",
	                 pid, "bcd_device", bcd, "manufacturer", info->manufacturer, "product",
	                 info->product, "serial", info->serial, "dfu_version", dfu, "transfer_size",
	                 (json_int_t)info->transfer_size_reported, "detach_timeout_ms",
	                 (json_int_t)info->detach_timeout_ms, "attributes", "can_download",
	                 (info->attributes & 1) != 0, "can_upload", (info->attributes & 2) != 0,
	                 "manifestation_tolerant", (info->attributes & 4) != 0, "will_detach",
	                 (info->attributes & 8) != 0, "alternate_settings", alts_json(info), "part",
	                 part);
}
