/* Shared scenario assertions and plan answers. */
#include "conformance/expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ft_conform_expect_int(ft_conform_record *rec, const char *what, long long got, long long want)
{
	return ft_conform_record_check(rec, got == want, what, "%lld, expected %lld", got, want);
}

bool ft_conform_expect_str(ft_conform_record *rec, const char *what, const char *got,
                           const char *want)
{
	bool ok = (!got && !want) || (got && want && strcmp(got, want) == 0);
	return ft_conform_record_check(rec, ok, what, "\"%s\", expected \"%s\"",
	                               got ? got : "(null)", want ? want : "(null)");
}

bool ft_conform_expect_contains(ft_conform_record *rec, const char *what, const char *text,
                                const char *needle)
{
	bool ok = text && strstr(text, needle);
	return ft_conform_record_check(rec, ok, what, "\"%.300s\" %s \"%s\"",
	                               text ? text : "(null)", ok ? "contains" : "does not contain",
	                               needle);
}

bool ft_conform_expect_true(ft_conform_record *rec, const char *what, bool cond, const char *detail)
{
	return ft_conform_record_check(rec, cond, what, "%s", detail);
}

const char *ft_conform_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static uint32_t hex_value(const json_t *obj, const char *key)
{
	const char *text = ft_conform_json_str(obj, key);
	return text ? (uint32_t)strtoul(text, NULL, 0) : 0;
}

const json_t *ft_conform_plan_segment(const json_t *plan, uint32_t start)
{
	size_t i;
	json_t *seg;
	json_array_foreach(json_object_get(plan, "segments"), i, seg)
	{
		if (hex_value(seg, "start") == start)
			return seg;
	}
	return NULL;
}

static const char *region_kind(const json_t *seg)
{
	const char *kind = ft_conform_json_str(json_object_get(seg, "region"), "kind");
	return kind ? kind : "unmapped";
}

void ft_conform_record_plan(ft_conform_record *rec, const char *prefix, const json_t *plan,
                            int exit_status)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.exit_status", prefix);
	ft_conform_record_int(rec, key, exit_status);
	snprintf(key, sizeof(key), "%s.status", prefix);
	ft_conform_record_str(rec, key, ft_conform_json_str(plan, "status"));

	char item[256];
	size_t i;
	json_t *e;
	snprintf(key, sizeof(key), "%s.segments", prefix);
	ft_conform_record_json(rec, key, json_array());
	json_array_foreach(json_object_get(plan, "segments"), i, e)
	{
		snprintf(item, sizeof(item), "%s+0x%llx %s %s %s", ft_conform_json_str(e, "start"),
		         (long long)json_integer_value(json_object_get(e, "size")),
		         ft_conform_json_str(e, "verdict"), ft_conform_json_str(e, "rule"),
		         region_kind(e));
		ft_conform_record_append(rec, key, item);
	}
	const json_t *work = json_object_get(plan, "work");
	snprintf(key, sizeof(key), "%s.erase", prefix);
	ft_conform_record_json(rec, key, json_array());
	json_array_foreach(json_object_get(work, "erase"), i, e)
	{
		snprintf(item, sizeof(item), "bank %lld sector %lld",
		         (long long)json_integer_value(json_object_get(e, "bank")),
		         (long long)json_integer_value(json_object_get(e, "sector")));
		ft_conform_record_append(rec, key, item);
	}
	static const char *const ranges[] = {"write", "verify"};
	for (size_t r = 0; r < 2; r++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, ranges[r]);
		ft_conform_record_json(rec, key, json_array());
		json_array_foreach(json_object_get(work, ranges[r]), i, e)
		{
			json_t *pad = json_object_get(e, "padding");
			int n =
			    snprintf(item, sizeof(item), "%s-%s", ft_conform_json_str(e, "start"),
			             ft_conform_json_str(e, "end"));
			if (pad && json_integer_value(pad) > 0)
				snprintf(item + n, sizeof(item) - (size_t)n, " pad %lld",
				         (long long)json_integer_value(pad));
			ft_conform_record_append(rec, key, item);
		}
	}
}

bool ft_conform_expect_segment(ft_conform_record *rec, const json_t *plan, uint32_t start,
                               const char *label, const char *verdict, const char *rule,
                               const char *region)
{
	const json_t *seg = ft_conform_plan_segment(plan, start);
	char what[160];
	snprintf(what, sizeof(what), "%s at 0x%08X is planned", label, (unsigned)start);
	if (!ft_conform_record_check(rec, seg != NULL, what, "%s", seg ? "found" : "no segment"))
		return false;
	snprintf(what, sizeof(what), "%s verdict", label);
	bool ok = ft_conform_expect_str(rec, what, ft_conform_json_str(seg, "verdict"), verdict);
	snprintf(what, sizeof(what), "%s rule", label);
	ok &= ft_conform_expect_str(rec, what, ft_conform_json_str(seg, "rule"), rule);
	if (region) {
		snprintf(what, sizeof(what), "%s region kind", label);
		ok &= ft_conform_expect_str(rec, what, region_kind(seg), region);
	}
	return ok;
}

bool ft_conform_expect_erase(ft_conform_record *rec, const json_t *plan, size_t count,
                             const unsigned (*sectors)[2])
{
	const json_t *erase = json_object_get(json_object_get(plan, "work"), "erase");
	bool ok = ft_conform_expect_int(rec, "sectors to erase", (long long)json_array_size(erase),
	                                (long long)count);
	for (size_t s = 0; s < count && sectors; s++) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach(erase, i, e)
		{
			if (json_integer_value(json_object_get(e, "bank")) == sectors[s][0] &&
			    json_integer_value(json_object_get(e, "sector")) == sectors[s][1])
				found = true;
		}
		char what[64];
		snprintf(what, sizeof(what), "bank %u sector %u erased", sectors[s][0],
		         sectors[s][1]);
		ok &= ft_conform_expect_true(rec, what, found, found ? "listed" : "not listed");
	}
	return ok;
}
