/* Side-by-side comparison of run documents and its Markdown and HTML renderings. */
#include "conformance/diff.h"

#include "conformance/results.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static bool is_evidence(const json_t *doc)
{
	return strcmp(str(doc, "kind"), "evidence") == 0;
}

/* A scenario entry's client label; NULL for none (no device, evidence, older documents). */
static const char *client_of(const json_t *e)
{
	return json_string_value(json_object_get(e, "client"));
}

static bool same_client(const json_t *a, const json_t *b)
{
	const char *ca = client_of(a), *cb = client_of(b);
	return (!ca && !cb) || (ca && cb && strcmp(ca, cb) == 0);
}

/* Whether doc has an entry for id, and whether one with e's client. */
static bool has_id(const json_t *doc, const char *id, const json_t *client_of_this)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "scenarios"), i, e)
	{
		if (strcmp(str(e, "id"), id) == 0 &&
		    (!client_of_this || same_client(e, client_of_this)))
			return true;
	}
	return false;
}

/* One answer row; status per the rules in diff.h. Returns whether it is a difference. */
static bool answer_row(json_t *rows, const char *key, const json_t *va, const json_t *vb,
                       bool a_evidence, bool b_evidence, bool cross_client, const json_t *source)
{
	const char *status;
	bool differs = false;
	if (strncmp(key, "time.", 5) == 0)
		status = "timing";
	else if (va && vb)
		differs = !json_equal(va, vb), status = differs ? "differs" : "same";
	else if (cross_client)
		status = "not-observed";
	else if (va)
		differs = !b_evidence, status = b_evidence ? "not-covered" : "only-a";
	else
		differs = !a_evidence, status = a_evidence ? "not-covered" : "only-b";
	json_t *row = json_pack("{s:s, s:s}", "key", key, "status", status);
	if (row && va)
		json_object_set(row, "a", (json_t *)va);
	if (row && vb)
		json_object_set(row, "b", (json_t *)vb);
	if (row && source)
		json_object_set(row, "source", (json_t *)source);
	json_array_append_new(rows, row);
	return differs;
}

static json_t *compare_scenario(const json_t *sa, const json_t *sb, bool a_ev, bool b_ev)
{
	const json_t *any = sa ? sa : sb;
	const json_t *aa = json_object_get(sa, "answers"), *ab = json_object_get(sb, "answers");
	const json_t *sources = json_object_get(b_ev ? sb : sa, "sources");
	const char *ca = client_of(sa), *cb = client_of(sb);
	bool cross_client = ca && cb && strcmp(ca, cb) != 0;
	json_t *rows = json_array();
	bool differs = !sa || !sb;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)aa, key, v)
	{
		differs |= answer_row(rows, key, v, json_object_get(ab, key), a_ev, b_ev,
		                      cross_client, json_object_get(sources, key));
	}
	json_object_foreach((json_t *)ab, key, v)
	{
		if (!json_object_get(aa, key))
			differs |= answer_row(rows, key, NULL, v, a_ev, b_ev, cross_client,
			                      json_object_get(sources, key));
	}
	const char *oa = sa ? str(sa, "outcome") : "absent";
	const char *ob = sb ? str(sb, "outcome") : "absent";
	bool outcome_differs = !a_ev && !b_ev && strcmp(oa, ob) != 0;
	differs |= outcome_differs;
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b, s:s, s:s, s:b, s:b, s:o}", "id",
	                 str(any, "id"), "title", str(any, "title"), "section", str(any, "section"),
	                 "a_client", ca, "b_client", cb, "clients_differ", cross_client,
	                 "a_outcome", oa, "b_outcome", ob, "differs", differs, "outcome_differs",
	                 outcome_differs, "answers", rows);
}

static json_t *side(const json_t *doc, const char *label)
{
	return json_pack("{s:s, s:s, s:s}", "label", label ? label : "", "kind", str(doc, "kind"),
	                 "target", str(doc, "target"));
}

/* Appends the comparison of sa and sb (either may be NULL) to rows; counts a difference. */
static void add_row(json_t *rows, size_t *differing, const json_t *sa, const json_t *sb, bool a_ev,
                    bool b_ev)
{
	json_t *row = compare_scenario(sa, sb, a_ev, b_ev);
	*differing += json_is_true(json_object_get(row, "differs"));
	json_array_append_new(rows, row);
}

/* The rows of one scenario ID (diff.h: entries of the same client pair up; the rest of each
 * side is compared with every unpaired entry of the other side). */
static void compare_id(json_t *rows, size_t *differing, const char *id, const json_t *a,
                       const json_t *b, bool a_ev, bool b_ev)
{
	const json_t *sa = json_object_get(a, "scenarios"), *sb = json_object_get(b, "scenarios");
	bool a_unpaired = false, b_unpaired = false;
	size_t i, k;
	json_t *ea, *eb;
	json_array_foreach(sa, i, ea)
	{
		if (strcmp(str(ea, "id"), id) != 0)
			continue;
		bool paired = false;
		json_array_foreach(sb, k, eb)
		{
			if (strcmp(str(eb, "id"), id) == 0 && same_client(ea, eb)) {
				add_row(rows, differing, ea, eb, a_ev, b_ev);
				paired = true;
			}
		}
		a_unpaired |= !paired;
	}
	json_array_foreach(sb, k, eb)
	{
		b_unpaired |= strcmp(str(eb, "id"), id) == 0 && !has_id(a, id, eb);
	}
	json_array_foreach(sa, i, ea)
	{
		if (strcmp(str(ea, "id"), id) != 0 || has_id(b, id, ea))
			continue;
		if (!b_unpaired) {
			if (!b_ev) /* against evidence, only what it covers */
				add_row(rows, differing, ea, NULL, a_ev, b_ev);
			continue;
		}
		json_array_foreach(sb, k, eb)
		{
			if (strcmp(str(eb, "id"), id) == 0 && !has_id(a, id, eb))
				add_row(rows, differing, ea, eb, a_ev, b_ev);
		}
	}
	json_array_foreach(sb, k, eb)
	{
		if (!a_unpaired && !a_ev && strcmp(str(eb, "id"), id) == 0 && !has_id(a, id, eb))
			add_row(rows, differing, NULL, eb, a_ev, b_ev);
	}
}

/* Whether an entry before position index of doc's scenarios has id. */
static bool seen_before(const json_t *doc, size_t index, const char *id)
{
	for (size_t i = 0; i < index; i++)
		if (strcmp(str(json_array_get(json_object_get(doc, "scenarios"), i), "id"), id) ==
		    0)
			return true;
	return false;
}

json_t *ft_conform_diff(const json_t *a, const char *label_a, const json_t *b, const char *label_b)
{
	bool a_ev = is_evidence(a), b_ev = is_evidence(b);
	json_t *scenarios = json_array();
	size_t differing = 0, i;
	json_t *e;
	/* A's order, then what only B has */
	json_array_foreach(json_object_get(a, "scenarios"), i, e)
	{
		if (!seen_before(a, i, str(e, "id")))
			compare_id(scenarios, &differing, str(e, "id"), a, b, a_ev, b_ev);
	}
	json_array_foreach(json_object_get(b, "scenarios"), i, e)
	{
		if (!has_id(a, str(e, "id"), NULL) && !seen_before(b, i, str(e, "id")))
			compare_id(scenarios, &differing, str(e, "id"), a, b, a_ev, b_ev);
	}
	size_t total = json_array_size(scenarios);
	return json_pack("{s:o, s:o, s:{s:I, s:I, s:I}, s:o}", "a", side(a, label_a), "b",
	                 side(b, label_b), "counts", "scenarios", (json_int_t)total, "differing",
	                 (json_int_t)differing, "same", (json_int_t)(total - differing),
	                 "scenarios", scenarios);
}

/* A value as text: strings as they are, everything else as compact JSON; "-" when absent. */
static char *value_text(const json_t *v)
{
	if (!v)
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return text ? text : strdup("?");
}

/* Whether an answer row's status counts as a difference. */
static bool row_differs(const json_t *row)
{
	const char *st = str(row, "status");
	return !strcmp(st, "differs") || !strcmp(st, "only-a") || !strcmp(st, "only-b");
}

/* The clients of a row as text: "dfu-util" when both sides have that one, "flashtwin-usbip /
 * dfu-util" when they differ ("-" for a side without), "" when neither has one. */
static void client_text(const json_t *row, char *buf, size_t cap)
{
	const char *ca = json_string_value(json_object_get(row, "a_client"));
	const char *cb = json_string_value(json_object_get(row, "b_client"));
	if (!ca && !cb)
		snprintf(buf, cap, "%s", "");
	else if (ca && cb && strcmp(ca, cb) == 0)
		snprintf(buf, cap, "%s", ca);
	else
		snprintf(buf, cap, "%s / %s", ca ? ca : "-", cb ? cb : "-");
}

/* Markdown table cell: pipes escaped, newlines as spaces. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void md_value(FILE *out, const json_t *v)
{
	char *text = value_text(v);
	fputc('`', out);
	md_cell(out, text ? text : "?");
	fputc('`', out);
	free(text);
}

ft_error ft_conform_render_markdown(const json_t *diff, FILE *out, ft_diag *diag)
{
	const json_t *a = json_object_get(diff, "a"), *b = json_object_get(diff, "b");
	const json_t *counts = json_object_get(diff, "counts");
	fprintf(out, "# flashtwin-conform: %s vs %s\n\n", str(a, "label"), str(b, "label"));
	fprintf(out, "- A: `%s` (%s: %s)\n- B: `%s` (%s: %s)\n\n", str(a, "label"), str(a, "kind"),
	        str(a, "target"), str(b, "label"), str(b, "kind"), str(b, "target"));
	fprintf(out, "**%lld of %lld scenarios differ.**\n\n",
	        (long long)json_integer_value(json_object_get(counts, "differing")),
	        (long long)json_integer_value(json_object_get(counts, "scenarios")));
	fputs("| | ID | scenario | client | A | B |\n|---|---|---|---|---|---|\n", out);
	size_t i, k;
	json_t *s, *row;
	char clients[160];
	json_array_foreach(json_object_get(diff, "scenarios"), i, s)
	{
		bool d = json_is_true(json_object_get(s, "differs"));
		fprintf(out, "| %s | %s | ", d ? "**differs**" : "same", str(s, "id"));
		md_cell(out, str(s, "title"));
		client_text(s, clients, sizeof(clients));
		fputs(" | ", out);
		md_cell(out, clients);
		fprintf(out, " | %s | %s |\n", str(s, "a_outcome"), str(s, "b_outcome"));
	}
	json_array_foreach(json_object_get(diff, "scenarios"), i, s)
	{
		if (!json_is_true(json_object_get(s, "differs")))
			continue;
		fprintf(out, "\n## %s ", str(s, "id"));
		md_cell(out, str(s, "title"));
		client_text(s, clients, sizeof(clients));
		if (clients[0]) {
			fputs(" [", out);
			md_cell(out, clients);
			fputs("]", out);
		}
		fprintf(out,
		        ": differs\n\noutcome: A %s, B %s%s\n\n| | answer | A | B |\n"
		        "|---|---|---|---|\n",
		        str(s, "a_outcome"), str(s, "b_outcome"),
		        json_is_true(json_object_get(s, "outcome_differs")) ? " (**differs**)"
		                                                            : "");
		json_array_foreach(json_object_get(s, "answers"), k, row)
		{
			const char *st = str(row, "status");
			bool d = !strcmp(st, "differs") || !strcmp(st, "only-a") ||
			         !strcmp(st, "only-b");
			fprintf(out, "| %s%s%s | `%s` | ", d ? "**" : "", st, d ? "**" : "",
			        str(row, "key"));
			md_value(out, json_object_get(row, "a"));
			fputs(" | ", out);
			md_value(out, json_object_get(row, "b"));
			fputs(" |\n", out);
		}
	}
	if (ferror(out))
		return ft_diag_set(diag, FT_ERR_IO, "markdown", "write failed");
	return FT_OK;
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>flashtwin-conform diff</title>\n<style>\n"
    "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
    "th{background:#eee}\n"
    "tr.scenario.differs>td{background:#fde2e2}\n"
    "tr.scenario.same>td{background:#e6f4e6}\n"
    ".mark{font-weight:bold}\n"
    "tr.scenario.differs .mark{color:#a00}\n"
    "td.answers{background:#fff;padding:0 0 0 2em}\n"
    "td.answers table{margin:4px 0}\n"
    "summary{cursor:pointer;color:#444}\n"
    "tr.answer.differs td,tr.answer.only-a td,tr.answer.only-b td{background:#fbd0d0}\n"
    "tr.answer.timing td,tr.answer.not-covered td,tr.answer.not-observed td{color:#777}\n"
    "code{font-family:monospace;white-space:pre-wrap;word-break:break-all}\n"
    "</style>\n</head>\n<body>\n";

static void html_value(FILE *out, const json_t *v)
{
	char *text = value_text(v);
	fputs("<code>", out);
	ft_conform_xml_escape(out, text ? text : "?");
	fputs("</code>", out);
	free(text);
}

static void html_answers(FILE *out, const json_t *s)
{
	size_t k, total = json_array_size(json_object_get(s, "answers")), differing = 0;
	json_t *row;
	json_array_foreach(json_object_get(s, "answers"), k, row)
	{
		differing += row_differs(row);
	}
	bool open = json_is_true(json_object_get(s, "differs"));
	fprintf(out,
	        "<tr class=\"answers\"><td class=\"answers\" colspan=\"6\"><details%s>"
	        "<summary>%zu answers, %zu differ</summary><table>"
	        "<tr><th>answer</th><th>status</th><th>A</th><th>B</th><th>source</th></tr>\n",
	        open ? " open" : "", total, differing);
	json_array_foreach(json_object_get(s, "answers"), k, row)
	{
		fputs("<tr class=\"answer ", out);
		ft_conform_xml_escape(out, str(row, "status"));
		fputs("\"><td><code>", out);
		ft_conform_xml_escape(out, str(row, "key"));
		fputs("</code></td><td>", out);
		ft_conform_xml_escape(out, str(row, "status"));
		fputs("</td><td>", out);
		html_value(out, json_object_get(row, "a"));
		fputs("</td><td>", out);
		html_value(out, json_object_get(row, "b"));
		fputs("</td><td>", out);
		const char *src = str(row, "source");
		if (strncmp(src, "http", 4) == 0) {
			fputs("<a href=\"", out);
			ft_conform_xml_escape(out, src);
			fputs("\">", out);
			ft_conform_xml_escape(out, src);
			fputs("</a>", out);
		} else {
			ft_conform_xml_escape(out, src);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table></details></td></tr>\n", out);
}

/* A row's anchor: "scenario-ID", then "-CLIENT" for A's client and for B's when it differs. */
static void html_anchor(FILE *out, const json_t *row)
{
	const char *ca = json_string_value(json_object_get(row, "a_client"));
	const char *cb = json_string_value(json_object_get(row, "b_client"));
	fputs("scenario-", out);
	ft_conform_xml_escape(out, str(row, "id"));
	if (ca) {
		fputc('-', out);
		ft_conform_xml_escape(out, ca);
	}
	if (cb && (!ca || strcmp(ca, cb) != 0)) {
		fputc('-', out);
		ft_conform_xml_escape(out, cb);
	}
}

/* The scenario field key, escaped for HTML, then the literal markup that follows it. */
static void html_field(FILE *out, const json_t *scenario, const char *key, const char *after)
{
	ft_conform_xml_escape(out, str(scenario, key));
	fputs(after, out);
}

ft_error ft_conform_render_html(const json_t *diff, FILE *out, ft_diag *diag)
{
	const json_t *a = json_object_get(diff, "a"), *b = json_object_get(diff, "b");
	const json_t *counts = json_object_get(diff, "counts");
	fputs(html_head, out);
	fputs("<h1>flashtwin-conform: ", out);
	ft_conform_xml_escape(out, str(a, "label"));
	fputs(" vs ", out);
	ft_conform_xml_escape(out, str(b, "label"));
	fputs("</h1>\n<ul>\n", out);
	const json_t *sides[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		fprintf(out, "<li>%c: <code>", i ? 'B' : 'A');
		ft_conform_xml_escape(out, str(sides[i], "label"));
		fputs("</code> (", out);
		ft_conform_xml_escape(out, str(sides[i], "kind"));
		fputs(": ", out);
		ft_conform_xml_escape(out, str(sides[i], "target"));
		fputs(")</li>\n", out);
	}
	fprintf(out,
	        "</ul>\n<p id=\"summary\"><strong>%lld of %lld scenarios differ.</strong></p>\n",
	        (long long)json_integer_value(json_object_get(counts, "differing")),
	        (long long)json_integer_value(json_object_get(counts, "scenarios")));
	fputs("<h2>Differing scenarios</h2>\n<ul id=\"differing\">\n", out);
	size_t i;
	json_t *s;
	size_t listed = 0;
	char clients[160];
	json_array_foreach(json_object_get(diff, "scenarios"), i, s)
	{
		if (!json_is_true(json_object_get(s, "differs")))
			continue;
		listed++;
		fputs("<li><a href=\"#", out);
		html_anchor(out, s);
		fputs("\">", out);
		html_field(out, s, "id", " ");
		html_field(out, s, "title", "");
		client_text(s, clients, sizeof(clients));
		if (clients[0]) {
			fputs(" [", out);
			ft_conform_xml_escape(out, clients);
			fputc(']', out);
		}
		fputs("</a>: A ", out);
		html_field(out, s, "a_outcome", ", B ");
		html_field(out, s, "b_outcome", "</li>\n");
	}
	if (!listed)
		fputs("<li>none</li>\n", out);
	fputs("</ul>\n<h2>Every scenario</h2>\n", out);
	fputs("<table id=\"scenarios\">\n<tr><th>mark</th><th>ID</th><th>scenario</th>"
	      "<th>client</th><th>A</th><th>B</th></tr>\n",
	      out);
	json_array_foreach(json_object_get(diff, "scenarios"), i, s)
	{
		bool d = json_is_true(json_object_get(s, "differs"));
		fputs("<tr id=\"", out);
		html_anchor(out, s);
		fprintf(out, "\" class=\"scenario %s\"><td class=\"mark\">%s</td><td>",
		        d ? "differs" : "same", d ? "&#8800; differs" : "= same");
		html_field(out, s, "id", "</td><td>");
		html_field(out, s, "title", "</td><td>");
		client_text(s, clients, sizeof(clients));
		ft_conform_xml_escape(out, clients);
		fputs("</td><td>", out);
		html_field(out, s, "a_outcome", "</td><td>");
		html_field(out, s, "b_outcome", "</td></tr>\n");
		html_answers(out, s);
	}
	fputs("</table>\n</body>\n</html>\n", out);
	if (ferror(out))
		return ft_diag_set(diag, FT_ERR_IO, "html", "write failed");
	return FT_OK;
}

ft_error ft_conform_render_file(const json_t *diff, const char *path, bool html, ft_diag *diag)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(errno));
	ft_error err = html ? ft_conform_render_html(diff, f, diag)
	                    : ft_conform_render_markdown(diff, f, diag);
	if (fclose(f) != 0 && err == FT_OK)
		err = ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(errno));
	return err;
}
