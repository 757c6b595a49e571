/* Run documents: JSON and JUnit writers, the loader for diff. */
#include "conformance/results.h"

#include "conformance/evidence.h"
#include "conformance/scenario.h"

#include <errno.h>
#include <string.h>

ft_error ft_conform_write_json(const json_t *doc, const char *path, ft_diag *diag)
{
	if (json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(errno));
	return FT_OK;
}

void ft_conform_xml_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if (c >= 0x20 || c == '\t' || c == '\n')
				fputc(c, out);
		}
	}
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static bool is_outcome(const json_t *e, const char *outcome)
{
	return strcmp(str(e, "outcome"), outcome) == 0;
}

static void junit_case(FILE *out, const json_t *e)
{
	fprintf(out, "    <testcase classname=\"conform.");
	ft_conform_xml_escape(out, str(e, "section"));
	fputs("\" name=\"", out);
	ft_conform_xml_escape(out, str(e, "id"));
	fputc(' ', out);
	ft_conform_xml_escape(out, str(e, "title"));
	fprintf(out, "\" time=\"%.3f\"",
	        (double)json_integer_value(json_object_get(e, "duration_ms")) / 1000.0);
	if (is_outcome(e, "passed")) {
		fputs("/>\n", out);
		return;
	}
	fputs(">\n", out);
	if (is_outcome(e, "not-runnable")) {
		fputs("      <skipped message=\"", out);
		ft_conform_xml_escape(out, str(e, "reason"));
		fputs("\"/>\n", out);
	} else {
		fputs("      <failure message=\"", out);
		ft_conform_xml_escape(out, str(e, "reason"));
		fputs("\">", out);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(e, "checks"), i, c)
		{
			if (json_is_true(json_object_get(c, "ok")))
				continue;
			ft_conform_xml_escape(out, str(c, "what"));
			fputs(": ", out);
			ft_conform_xml_escape(out, str(c, "detail"));
			fputc('\n', out);
		}
		fputs("</failure>\n", out);
	}
	fputs("    </testcase>\n", out);
}

ft_error ft_conform_write_junit(const json_t *doc, FILE *out, ft_diag *diag)
{
	const json_t *scenarios = json_object_get(doc, "scenarios");
	size_t total = json_array_size(scenarios), failed = 0, skipped = 0, i;
	json_t *e;
	json_array_foreach(scenarios, i, e)
	{
		failed += is_outcome(e, "failed");
		skipped += is_outcome(e, "not-runnable");
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fputs("<testsuites name=\"flashtwin-conform ", out);
	ft_conform_xml_escape(out, str(doc, "target"));
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", total,
	        failed, skipped,
	        (double)json_integer_value(json_object_get(doc, "duration_ms")) / 1000.0);
	for (int sec = 0; sec < FT_CONFORM_SECTION_COUNT; sec++) {
		const char *name = ft_conform_section_name((ft_conform_section)sec);
		size_t n = 0, f = 0, s = 0;
		json_array_foreach(scenarios, i, e)
		{
			if (strcmp(str(e, "section"), name) != 0)
				continue;
			n++;
			f += is_outcome(e, "failed");
			s += is_outcome(e, "not-runnable");
		}
		if (n == 0)
			continue;
		fputs("  <testsuite name=\"", out);
		ft_conform_xml_escape(out, ft_conform_section_title((ft_conform_section)sec));
		fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", n, f, s);
		json_array_foreach(scenarios, i, e)
		{
			if (strcmp(str(e, "section"), name) == 0)
				junit_case(out, e);
		}
		fputs("  </testsuite>\n", out);
	}
	fputs("</testsuites>\n", out);
	if (ferror(out))
		return ft_diag_set(diag, FT_ERR_IO, "junit", "write failed");
	return FT_OK;
}

ft_error ft_conform_write_junit_file(const json_t *doc, const char *path, ft_diag *diag)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(errno));
	ft_error err = ft_conform_write_junit(doc, f, diag);
	if (fclose(f) != 0 && err == FT_OK)
		err = ft_diag_set(diag, FT_ERR_IO, path, "cannot write: %s", strerror(errno));
	return err;
}

/* An evidence document in the run shape. */
static json_t *evidence_as_run(const json_t *ev, const char *path)
{
	const json_t *applies = json_object_get(ev, "applies_to");
	json_t *scenarios = json_array();
	size_t i, k;
	json_t *s, *item;
	json_array_foreach(json_object_get(ev, "scenarios"), i, s)
	{
		json_t *answers = json_object(), *sources = json_object();
		json_array_foreach(json_object_get(s, "items"), k, item)
		{
			json_object_set(answers, str(item, "key"), json_object_get(item, "value"));
			json_object_set(sources, str(item, "key"), json_object_get(item, "source"));
		}
		const ft_conform_scenario *sc = ft_conform_scenario_find(str(s, "id"));
		json_array_append_new(
		    scenarios,
		    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:[]}", "id", str(s, "id"), "title",
		              sc ? sc->title : "", "section",
		              sc ? ft_conform_section_name(sc->section) : "", "outcome", "evidence",
		              "answers", answers, "sources", sources, "checks"));
	}
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o}", "kind", "evidence", "target",
	                 str(ev, "title"), "file", path, "dev_id",
	                 json_string_value(json_object_get(applies, "dev_id")), "revision",
	                 json_string_value(json_object_get(applies, "revision")), "scenarios",
	                 scenarios);
}

ft_error ft_conform_load(const char *path, json_t **doc, ft_diag *diag)
{
	*doc = NULL;
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		return ft_diag_set(diag, errno == ENOENT ? FT_ERR_IO : FT_ERR_FORMAT, path,
		                   "line %d: %s", jerr.line, jerr.text);
	const char *kind = json_string_value(json_object_get(root, "kind"));
	if (kind && strcmp(kind, "run") == 0 && json_is_array(json_object_get(root, "scenarios"))) {
		*doc = root;
		return FT_OK;
	}
	if (kind && strcmp(kind, "evidence") == 0) {
		ft_error err = ft_conform_evidence_validate(root, path, diag);
		if (err == FT_OK) {
			*doc = evidence_as_run(root, path);
			if (!*doc)
				err = ft_diag_set(diag, FT_ERR_NO_MEM, path, "out of memory");
		}
		json_decref(root);
		return err;
	}
	json_decref(root);
	return ft_diag_set(diag, FT_ERR_FORMAT, path,
	                   "neither a flashtwin-conform run (\"kind\": \"run\") nor evidence");
}
