/* Evidence documents: loading, validation, matching, checking records against them. */
#include "conformance/evidence.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_conform_evidence {
	json_t *docs; /* array of documents */
};

ft_error ft_conform_evidence_validate(const json_t *doc, const char *name, ft_diag *diag)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	if (!json_is_object(doc) || !kind || strcmp(kind, "evidence") != 0)
		return ft_diag_set(diag, FT_ERR_FORMAT, name,
		                   "not an evidence document (\"kind\": "
		                   "\"evidence\" missing)");
	const json_t *applies = json_object_get(doc, "applies_to");
	if (!json_is_string(json_object_get(applies, "dev_id")))
		return ft_diag_set(diag, FT_ERR_FORMAT, name, "applies_to.dev_id missing");
	const json_t *scenarios = json_object_get(doc, "scenarios");
	if (!json_is_array(scenarios))
		return ft_diag_set(diag, FT_ERR_FORMAT, name, "scenarios must be an array");
	size_t i, j;
	json_t *s, *item;
	json_array_foreach(scenarios, i, s)
	{
		if (!json_is_string(json_object_get(s, "id")) ||
		    !json_is_array(json_object_get(s, "items")))
			return ft_diag_set(diag, FT_ERR_FORMAT, name,
			                   "scenarios[%zu] needs an id and items", i);
		json_array_foreach(json_object_get(s, "items"), j, item)
		{
			if (!json_is_string(json_object_get(item, "key")) ||
			    !json_object_get(item, "value") ||
			    !json_is_string(json_object_get(item, "source")))
				return ft_diag_set(
				    diag, FT_ERR_FORMAT, name,
				    "scenarios[%zu].items[%zu] needs key, value and source", i, j);
		}
	}
	return FT_OK;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

ft_error ft_conform_evidence_load(const char *dir, ft_conform_evidence **out, ft_diag *diag)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return ft_diag_set(diag, FT_ERR_IO, dir, "cannot open: %s", strerror(errno));
	char *names[256];
	size_t count = 0;
	struct dirent *e;
	ft_error err = FT_OK;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (count == sizeof(names) / sizeof(names[0])) {
			err = ft_diag_set(diag, FT_ERR_RANGE, dir, "more than 256 evidence files");
			break;
		}
		names[count] = strdup(e->d_name);
		if (!names[count]) {
			err = ft_diag_set(diag, FT_ERR_NO_MEM, dir, "out of memory");
			break;
		}
		count++;
	}
	closedir(d);
	qsort(names, count, sizeof(names[0]), compare_names);
	ft_conform_evidence *ev = calloc(1, sizeof(*ev));
	if (err == FT_OK && (!ev || !(ev->docs = json_array())))
		err = ft_diag_set(diag, FT_ERR_NO_MEM, dir, "out of memory");
	for (size_t i = 0; i < count && err == FT_OK; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		json_error_t jerr;
		json_t *doc = json_load_file(path, 0, &jerr);
		if (!doc) {
			err = ft_diag_set(diag, FT_ERR_FORMAT, path, "line %d: %s", jerr.line,
			                  jerr.text);
			break;
		}
		err = ft_conform_evidence_validate(doc, path, diag);
		if (err == FT_OK && json_object_set_new(doc, "file", json_string(names[i])) != 0)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, path, "out of memory");
		if (err == FT_OK && json_array_append_new(ev->docs, doc) != 0)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, path, "out of memory");
		else if (err != FT_OK)
			json_decref(doc);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	if (err != FT_OK) {
		ft_conform_evidence_free(ev);
		return err;
	}
	*out = ev;
	return FT_OK;
}

void ft_conform_evidence_free(ft_conform_evidence *ev)
{
	if (!ev)
		return;
	json_decref(ev->docs);
	free(ev);
}

size_t ft_conform_evidence_documents(const ft_conform_evidence *ev)
{
	return json_array_size(ev->docs);
}

size_t ft_conform_evidence_items(const ft_conform_evidence *ev)
{
	size_t n = 0, i, j;
	json_t *doc, *s;
	json_array_foreach(ev->docs, i, doc)
	{
		json_array_foreach(json_object_get(doc, "scenarios"), j, s)
		{
			n += json_array_size(json_object_get(s, "items"));
		}
	}
	return n;
}

bool ft_conform_evidence_applies(const json_t *doc, const ft_part *part, char revision)
{
	const json_t *applies = json_object_get(doc, "applies_to");
	const char *dev_id = json_string_value(json_object_get(applies, "dev_id"));
	if (!dev_id || strtoul(dev_id, NULL, 0) != part->dev_id)
		return false;
	const char *rev = json_string_value(json_object_get(applies, "revision"));
	return !rev || (revision && rev[0] == revision && !rev[1]);
}

size_t ft_conform_evidence_check(const ft_conform_evidence *ev, const ft_part *part, char revision,
                                 ft_conform_record *rec, bool observed_only)
{
	size_t added = 0, i, j, k;
	json_t *doc, *s, *item;
	json_array_foreach(ev->docs, i, doc)
	{
		if (!ft_conform_evidence_applies(doc, part, revision))
			continue;
		json_array_foreach(json_object_get(doc, "scenarios"), j, s)
		{
			if (strcmp(json_string_value(json_object_get(s, "id")),
			           ft_conform_record_id(rec)) != 0)
				continue;
			json_array_foreach(json_object_get(s, "items"), k, item)
			{
				const char *key = json_string_value(json_object_get(item, "key"));
				if (strncmp(key, "time.", 5) == 0)
					continue; /* timings are compared in reports, not checked */
				const json_t *want = json_object_get(item, "value");
				const json_t *got = ft_conform_record_answer(rec, key);
				if (!got && observed_only)
					continue;
				char *want_text = json_dumps(want, JSON_ENCODE_ANY);
				char *got_text = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
				char what[256];
				snprintf(what, sizeof(what), "evidence: %s = %s", key,
				         want_text ? want_text : "?");
				ft_conform_record_check(
				    rec, got && json_equal(got, want), what, "%s (%s)",
				    got_text ? got_text : "not observed",
				    json_string_value(json_object_get(item, "source")));
				free(want_text);
				free(got_text);
				added++;
			}
		}
	}
	return added;
}
