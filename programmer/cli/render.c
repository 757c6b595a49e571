/* A plan for people (a table with reasons and fixes under each row) and for programs (one JSON
 * object, docs/check-json.md). */
#include "programmer/cli/cli.h"

#include <jansson.h>
#include <string.h>

#define WRAP 100

/* ---- text ---------------------------------------------------------------------------------- */

static const char *transport_words(ft_route transport)
{
	return transport == FT_ROUTE_DFU ? "USB DFU" : "SWD";
}

void ft_cli_range_text(char *buf, size_t len, uint32_t start, uint32_t size)
{
	if (size)
		snprintf(buf, len, "0x%08X-0x%08X", start, (uint32_t)(start + size - 1));
	else
		snprintf(buf, len, "0x%08X (empty)", start);
}

/* "label   text" wrapped at WRAP columns, continuation lines aligned under the text. */
static void print_wrapped(FILE *out, const char *indent, const char *label, const char *text)
{
	size_t lead = strlen(indent) + 10;
	fprintf(out, "%s%-10s", indent, label);
	size_t column = lead;
	const char *p = text;
	while (*p) {
		const char *word_end = strchr(p, ' ');
		size_t word = word_end ? (size_t)(word_end - p) : strlen(p);
		if (column > lead && column + 1 + word > WRAP) {
			fprintf(out, "\n%*s", (int)lead, "");
			column = lead;
		} else if (column > lead) {
			fputc(' ', out);
			column++;
		}
		fwrite(p, 1, word, out);
		column += word;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

static void sections_text(const ft_segment *seg, char *buf, size_t len)
{
	buf[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < seg->section_count && used + 1 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s", i ? " " : "",
		                         seg->sections[i].name,
		                         seg->sections[i].nobits ? "(nobits)" : "");
}

typedef struct row {
	char origin[200];
	char range[40];
	char size[24];
} row;

static void make_row(const ft_plan_segment *ps, row *r)
{
	const ft_segment *seg = ps->segment;
	ft_segment_origin(seg, r->origin, sizeof(r->origin));
	ft_cli_range_text(r->range, sizeof(r->range), seg->addr, seg->size);
	ft_plan_format_size(seg->size, r->size, sizeof(r->size));
}

static void print_segments(FILE *out, const ft_plan *plan)
{
	size_t count = ft_plan_segment_count(plan);
	int w_origin = 6, w_range = 13, w_size = 4, w_region = 6;
	for (size_t i = 0; i < count; i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		row r;
		make_row(ps, &r);
		w_origin = (int)strlen(r.origin) > w_origin ? (int)strlen(r.origin) : w_origin;
		w_range = (int)strlen(r.range) > w_range ? (int)strlen(r.range) : w_range;
		w_size = (int)strlen(r.size) > w_size ? (int)strlen(r.size) : w_size;
		int region = (int)strlen(ps->region_text);
		w_region = region > w_region ? region : w_region;
	}
	fprintf(out, "  #  %-*s  %-*s  %*s  %-*s  %s\n", w_origin, "origin", w_range,
	        "address range", w_size, "size", w_region, "region", "verdict");
	for (size_t i = 0; i < count; i++) {
		const ft_plan_segment *ps = ft_plan_segment_at(plan, i);
		row r;
		make_row(ps, &r);
		const char *verdict = ft_verdict_name(ps->verdict);
		fprintf(out, "%3zu  %-*s  %-*s  %*s  %-*s  %s\n", i, w_origin, r.origin, w_range,
		        r.range, w_size, r.size, w_region, ps->region_text,
		        ps->verdict == FT_VERDICT_REFUSE ? "REFUSE" : verdict);
		char sections[600];
		sections_text(ps->segment, sections, sizeof(sections));
		if (sections[0])
			print_wrapped(out, "     ", "sections", sections);
		if (ps->reason[0])
			print_wrapped(out, "     ", "reason", ps->reason);
		if (ps->fix[0])
			print_wrapped(out, "     ", "fix", ps->fix);
		if (ps->note[0])
			print_wrapped(out, "     ", "note", ps->note);
	}
}

static void print_work(FILE *out, const ft_plan *plan)
{
	char range[40], size[24];
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++) {
		const ft_plan_erase *e = ft_plan_erase_at(plan, i);
		ft_cli_range_text(range, sizeof(range), e->start, e->size);
		ft_plan_format_size(e->size, size, sizeof(size));
		char where[24] = "external"; /* bank 0: the loader's device (ft_plan_erase) */
		if (e->bank)
			snprintf(where, sizeof(where), "bank %u", e->bank);
		fprintf(out, "%-8s%s sector %-3u %s  %s\n", i ? "" : "erase", where, e->sector,
		        range, size);
	}
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		ft_cli_range_text(range, sizeof(range), w->start, w->size);
		ft_plan_format_size(w->size, size, sizeof(size));
		fprintf(out, "%-8s%s  %s", i ? "" : "write", range, size);
		if (w->padding)
			fprintf(out, " (%u B of 0xFF padding)", w->padding);
		if (!w->persistent)
			fprintf(out, " to %s, lost at reset", w->region ? w->region->name : "RAM");
		fputc('\n', out);
	}
	for (size_t i = 0; i < ft_plan_verify_count(plan); i++) {
		const ft_range *v = ft_plan_verify_at(plan, i);
		ft_cli_range_text(range, sizeof(range), v->start, v->size);
		fprintf(out, "%-8s%s\n", i ? "" : "verify", range);
	}
}

void ft_cli_render_plan_text(FILE *out, const ft_cli_check_input *input, const ft_plan *plan)
{
	const ft_part *part = ft_plan_part(plan);
	fprintf(out, "flashtwin %s:", input->command);
	for (size_t i = 0; i < input->files->count; i++)
		fprintf(out, " %s", input->files->paths[i]);
	fprintf(out, " -> %s (id 0x%03X)", part->name, part->dev_id);
	if (input->board)
		fprintf(out, " on %s", input->board);
	fprintf(out, " over %s\n\n", transport_words(ft_plan_transport(plan)));
	print_segments(out, plan);
	if (ft_plan_erase_count(plan) || ft_plan_write_count(plan)) {
		fputc('\n', out);
		print_work(out, plan);
	}
	if (ft_plan_advice_count(plan)) {
		fputc('\n', out);
		for (size_t i = 0; i < ft_plan_advice_count(plan); i++)
			print_wrapped(out, "", i ? "" : "advice", ft_plan_advice_at(plan, i));
	}
	for (size_t i = 0; i < ft_image_note_count(input->image); i++)
		print_wrapped(out, "", "note", ft_image_note_at(input->image, i));
	fprintf(out, "\n%s\n", ft_plan_conclusion(plan));
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Builders that tolerate NULL children: an allocation failure anywhere leaves a NULL that
 * json_object_set_new ignores (returning -1), and the caller checks the root once. */
json_t *ft_cli_json_hex(uint32_t value)
{
	char text[16];
	snprintf(text, sizeof(text), "0x%08X", value);
	return json_string(text);
}

static json_t *text_or_null(const char *text)
{
	return text && text[0] ? json_string(text) : json_null();
}

static bool set(json_t *object, const char *key, json_t *value)
{
	return json_object_set_new(object, key, value) == 0;
}

/* Adds start, end (inclusive, null when empty) and size to object. */
static bool set_range(json_t *object, uint32_t start, uint32_t size)
{
	return set(object, "start", ft_cli_json_hex(start)) &&
	       set(object, "end",
	           size ? ft_cli_json_hex((uint32_t)(start + size - 1)) : json_null()) &&
	       set(object, "size", json_integer(size));
}

static json_t *range_json(uint32_t start, uint32_t size)
{
	json_t *o = json_object();
	if (o && !set_range(o, start, size)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *region_json(const ft_region *region)
{
	if (!region)
		return json_null();
	json_t *o = range_json(region->start, region->size);
	bool ok = o && set(o, "name", json_string(region->name)) &&
	          set(o, "kind", json_string(ft_region_kind_name(region->kind))) &&
	          set(o, "volatile", json_boolean(ft_region_kind_is_volatile(region->kind))) &&
	          set(o, "bank", region->bank ? json_integer(region->bank) : json_null());
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *sections_json(const ft_segment *seg)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < seg->section_count; i++) {
		const ft_section *s = &seg->sections[i];
		json_t *o = range_json(s->addr, s->size);
		if (!o || !set(o, "name", json_string(s->name)) ||
		    !set(o, "nobits", json_boolean(s->nobits)) ||
		    json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *pieces_json(const ft_plan_segment *ps)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ps->piece_count; i++) {
		const ft_plan_piece *p = &ps->pieces[i];
		json_t *o = range_json(p->start, p->size);
		bool flash = p->region && p->region->kind == FT_REGION_FLASH_BANK;
		if (!o || !set(o, "region", region_json(p->region)) ||
		    !set(o, "sectors",
		         flash ? json_pack("[II]", (json_int_t)p->first_sector,
		                           (json_int_t)p->last_sector)
		               : json_null()) ||
		    json_array_append_new(a, o) != 0) {
			json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *segment_json(const ft_plan_segment *ps)
{
	const ft_segment *seg = ps->segment;
	char origin[200];
	ft_segment_origin(seg, origin, sizeof(origin));
	json_t *o = json_object();
	bool lines = seg->first_line != 0;
	bool ok =
	    o && set(o, "index", json_integer((json_int_t)ps->index)) &&
	    set_range(o, seg->addr, seg->size) && set(o, "origin", json_string(origin)) &&
	    set(o, "file", text_or_null(seg->file)) &&
	    set(o, "format", json_string(ft_image_format_name(seg->format))) &&
	    set(o, "file_index", seg->index >= 0 ? json_integer(seg->index) : json_null()) &&
	    set(o, "lines",
	        lines ? json_pack("[II]", (json_int_t)seg->first_line, (json_int_t)seg->last_line)
	              : json_null()) &&
	    set(o, "mem_size", json_integer(seg->mem_size)) &&
	    set(o, "run_addr", ft_cli_json_hex(seg->run_addr)) &&
	    set(o, "sections", sections_json(seg)) && set(o, "region", region_json(ps->region)) &&
	    set(o, "region_text", json_string(ps->region_text)) &&
	    set(o, "pieces", pieces_json(ps)) &&
	    set(o, "verdict", json_string(ft_verdict_name(ps->verdict))) &&
	    set(o, "rule", json_string(ft_plan_rule_name(ps->rule))) &&
	    set(o, "reason", text_or_null(ps->reason)) && set(o, "fix", text_or_null(ps->fix)) &&
	    set(o, "note", text_or_null(ps->note));
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *erase_json(const ft_plan_erase *e)
{
	json_t *o = range_json(e->start, e->size);
	bool ok =
	    o && set(o, "bank", json_integer(e->bank)) && set(o, "sector", json_integer(e->sector));
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *write_json(const ft_plan_write *w)
{
	json_t *o = range_json(w->start, w->size);
	bool ok = o && set(o, "bank", w->bank ? json_integer(w->bank) : json_null()) &&
	          set(o, "region", text_or_null(w->region ? w->region->name : NULL)) &&
	          set(o, "persistent", json_boolean(w->persistent)) &&
	          set(o, "padding", json_integer(w->padding));
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *work_json(const ft_plan *plan)
{
	json_t *erase = json_array(), *write = json_array(), *verify = json_array();
	bool ok = erase && write && verify;
	for (size_t i = 0; ok && i < ft_plan_erase_count(plan); i++)
		ok = json_array_append_new(erase, erase_json(ft_plan_erase_at(plan, i))) == 0;
	for (size_t i = 0; ok && i < ft_plan_write_count(plan); i++)
		ok = json_array_append_new(write, write_json(ft_plan_write_at(plan, i))) == 0;
	for (size_t i = 0; ok && i < ft_plan_verify_count(plan); i++) {
		const ft_range *v = ft_plan_verify_at(plan, i);
		ok = json_array_append_new(verify, range_json(v->start, v->size)) == 0;
	}
	if (!ok) {
		json_decref(erase);
		json_decref(write);
		json_decref(verify);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:o}", "erase", erase, "write", write, "verify", verify);
}

static json_t *totals_json(const ft_plan *plan)
{
	const ft_plan_totals *t = ft_plan_get_totals(plan);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "segments",
	                 (json_int_t)t->segments, "program", (json_int_t)t->program, "volatile",
	                 (json_int_t)t->ram, "skip", (json_int_t)t->skip, "refuse",
	                 (json_int_t)t->refuse, "image_bytes", (json_int_t)t->image_bytes,
	                 "write_bytes", (json_int_t)t->write_bytes, "padding_bytes",
	                 (json_int_t)t->padding_bytes, "erase_bytes", (json_int_t)t->erase_bytes,
	                 "sectors", (json_int_t)t->sectors);
}

static json_t *strings_json(size_t count, const char *(*at)(const void *, size_t),
                            const void *owner)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < count; i++)
		if (json_array_append_new(a, json_string(at(owner, i))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static const char *advice_at(const void *plan, size_t i)
{
	return ft_plan_advice_at(plan, i);
}

static const char *note_at(const void *image, size_t i)
{
	return ft_image_note_at(image, i);
}

static json_t *files_json(const ft_cli_check_input *input)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < input->files->count; i++)
		if (json_array_append_new(a, json_string(input->files->paths[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

bool ft_cli_dump_json(FILE *out, json_t *root)
{
	if (!root)
		return false;
	bool ok = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0;
	fputc('\n', out);
	json_decref(root);
	return ok;
}

static json_t *part_json(const ft_part *part)
{
	char id[8];
	snprintf(id, sizeof(id), "0x%03X", part->dev_id);
	return json_pack("{s:s, s:s, s:I}", "name", part->name, "dev_id", id, "flash_size_kb",
	                 (json_int_t)part->flash_size_kb);
}

json_t *ft_cli_plan_json(const ft_cli_check_input *input, const ft_plan *plan)
{
	ft_plan_status status = ft_plan_get_status(plan);
	json_t *root = json_object();
	json_t *segments = json_array();
	bool ok = root && segments;
	for (size_t i = 0; ok && i < ft_plan_segment_count(plan); i++)
		ok =
		    json_array_append_new(segments, segment_json(ft_plan_segment_at(plan, i))) == 0;
	ok =
	    ok && set(root, "flashtwin", json_string(FT_CLI_VERSION)) &&
	    set(root, "command", json_string(input->command)) &&
	    set(root, "status", json_string(ft_plan_status_name(status))) &&
	    set(root, "exit_status",
	        json_integer(status == FT_PLAN_OK ? FT_EXIT_OK : FT_EXIT_REFUSED)) &&
	    set(root, "conclusion", json_string(ft_plan_conclusion(plan))) &&
	    set(root, "part", part_json(ft_plan_part(plan))) &&
	    set(root, "board", text_or_null(input->board)) &&
	    set(root, "transport", json_string(ft_route_name(ft_plan_transport(plan)))) &&
	    set(root, "files", files_json(input)) &&
	    set(root, "address",
	        input->files->has_address ? ft_cli_json_hex(input->files->address) : json_null()) &&
	    set(root, "segments", json_incref(segments)) && set(root, "work", work_json(plan)) &&
	    set(root, "totals", totals_json(plan)) &&
	    set(root, "advice", strings_json(ft_plan_advice_count(plan), advice_at, plan)) &&
	    set(root, "image_notes",
	        strings_json(ft_image_note_count(input->image), note_at, input->image));
	json_decref(segments);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *ft_cli_error_json(const char *command, const char *file, const ft_diag *diag,
                          int exit_status)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:o, s:o, s:s}}", "flashtwin",
	                 FT_CLI_VERSION, "command", command, "status", "error", "exit_status",
	                 exit_status, "error", "code", ft_error_name(diag->code), "file",
	                 text_or_null(file), "origin", text_or_null(diag->origin), "message",
	                 diag->message);
}

void ft_cli_report_json(FILE *out, const char *command, json_t *root)
{
	if (strcmp(command, "flash") == 0)
		ft_cli_event(out, "result", root);
	else
		ft_cli_dump_json(out, root);
}

void ft_cli_render_error_json(FILE *out, const char *command, const char *file, const ft_diag *diag,
                              int exit_status)
{
	ft_cli_report_json(out, command, ft_cli_error_json(command, file, diag, exit_status));
}
