/* Scenario records, kept as jansson values from the start so that writing them is a copy. */
#include "conformance/record.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_conform_record {
	char *id;
	json_t *checks;  /* array of {"what", "ok", "detail"} */
	json_t *answers; /* object */
	json_t *steps;   /* array of {"command", "exit_status", "duration_ms"} */
	char *fail_reason;
	char *not_runnable;
	bool no_mem;
	uint64_t duration_ns;
};

static const char *const outcome_names[] = {
    [FT_CONFORM_PASSED] = "passed",
    [FT_CONFORM_FAILED] = "failed",
    [FT_CONFORM_NOT_RUNNABLE] = "not-runnable",
};

const char *ft_conform_outcome_name(ft_conform_outcome outcome)
{
	if ((unsigned)outcome >= sizeof(outcome_names) / sizeof(outcome_names[0]))
		return "unknown";
	return outcome_names[outcome];
}

bool ft_conform_outcome_parse(const char *name, ft_conform_outcome *out)
{
	for (size_t i = 0; name && i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++) {
		if (strcmp(name, outcome_names[i]) == 0) {
			*out = (ft_conform_outcome)i;
			return true;
		}
	}
	return false;
}

ft_conform_record *ft_conform_record_new(const char *id)
{
	ft_conform_record *rec = calloc(1, sizeof(*rec));
	if (!rec)
		return NULL;
	rec->id = strdup(id);
	rec->checks = json_array();
	rec->answers = json_object();
	rec->steps = json_array();
	if (!rec->id || !rec->checks || !rec->answers || !rec->steps) {
		ft_conform_record_free(rec);
		return NULL;
	}
	return rec;
}

void ft_conform_record_free(ft_conform_record *rec)
{
	if (!rec)
		return;
	free(rec->id);
	json_decref(rec->checks);
	json_decref(rec->answers);
	json_decref(rec->steps);
	free(rec->fail_reason);
	free(rec->not_runnable);
	free(rec);
}

const char *ft_conform_record_id(const ft_conform_record *rec)
{
	return rec->id;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vformat(const char *fmt, va_list ap)
{
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		return NULL;
	return text;
}

/* Appends item (a new reference, may be NULL) to array, remembering a failure. */
static void append(ft_conform_record *rec, json_t *array, json_t *item)
{
	if (!item || json_array_append_new(array, item) != 0)
		rec->no_mem = true;
}

bool ft_conform_record_check(ft_conform_record *rec, bool ok, const char *what, const char *fmt,
                             ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = vformat(fmt, ap);
	va_end(ap);
	append(rec, rec->checks,
	       detail ? json_pack("{s:s, s:b, s:s}", "what", what, "ok", ok, "detail", detail)
	              : NULL);
	free(detail);
	return ok;
}

static void set_reason(ft_conform_record *rec, char **slot, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void set_reason(ft_conform_record *rec, char **slot, const char *fmt, va_list ap)
{
	if (*slot)
		return;
	*slot = vformat(fmt, ap);
	if (!*slot)
		rec->no_mem = true;
}

void ft_conform_record_fail(ft_conform_record *rec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reason(rec, &rec->fail_reason, fmt, ap);
	va_end(ap);
}

void ft_conform_record_not_runnable(ft_conform_record *rec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reason(rec, &rec->not_runnable, fmt, ap);
	va_end(ap);
}

void ft_conform_record_json(ft_conform_record *rec, const char *key, json_t *value)
{
	if (!value || json_object_set_new(rec->answers, key, value) != 0)
		rec->no_mem = true;
}

void ft_conform_record_str(ft_conform_record *rec, const char *key, const char *value)
{
	ft_conform_record_json(rec, key, value ? json_string(value) : json_null());
}

void ft_conform_record_int(ft_conform_record *rec, const char *key, long long value)
{
	ft_conform_record_json(rec, key, json_integer(value));
}

void ft_conform_record_bool(ft_conform_record *rec, const char *key, bool value)
{
	ft_conform_record_json(rec, key, json_boolean(value));
}

void ft_conform_record_hex(ft_conform_record *rec, const char *key, uint32_t value)
{
	char text[16];
	snprintf(text, sizeof(text), "0x%08X", (unsigned)value);
	ft_conform_record_str(rec, key, text);
}

void ft_conform_record_append(ft_conform_record *rec, const char *key, const char *value)
{
	json_t *array = json_object_get(rec->answers, key);
	if (!json_is_array(array)) {
		array = json_array();
		ft_conform_record_json(rec, key, array);
		if (!json_object_get(rec->answers, key))
			return;
	}
	append(rec, array, json_string(value));
}

const json_t *ft_conform_record_answer(const ft_conform_record *rec, const char *key)
{
	return json_object_get(rec->answers, key);
}

static json_int_t ms_of(uint64_t ns)
{
	return (json_int_t)((ns + 500000u) / 1000000u);
}

void ft_conform_record_step(ft_conform_record *rec, const char *command, int exit_status,
                            uint64_t elapsed_ns)
{
	append(rec, rec->steps,
	       json_pack("{s:s, s:i, s:I}", "command", command, "exit_status", exit_status,
	                 "duration_ms", ms_of(elapsed_ns)));
}

void ft_conform_record_set_duration(ft_conform_record *rec, uint64_t elapsed_ns)
{
	rec->duration_ns = elapsed_ns;
}

/* The detail of the first failed check, or NULL. */
static const char *first_failure(const ft_conform_record *rec)
{
	size_t i;
	json_t *check;
	json_array_foreach(rec->checks, i, check)
	{
		if (!json_is_true(json_object_get(check, "ok")))
			return json_string_value(json_object_get(check, "what"));
	}
	return NULL;
}

ft_conform_outcome ft_conform_record_outcome(const ft_conform_record *rec)
{
	if (rec->not_runnable)
		return FT_CONFORM_NOT_RUNNABLE;
	if (rec->no_mem || rec->fail_reason || first_failure(rec) ||
	    json_array_size(rec->checks) == 0)
		return FT_CONFORM_FAILED;
	return FT_CONFORM_PASSED;
}

const char *ft_conform_record_reason(const ft_conform_record *rec)
{
	if (rec->not_runnable)
		return rec->not_runnable;
	if (rec->no_mem)
		return "out of memory while recording";
	if (rec->fail_reason)
		return rec->fail_reason;
	const char *failed = first_failure(rec);
	if (failed)
		return failed;
	if (json_array_size(rec->checks) == 0)
		return "the scenario made no check";
	return NULL;
}

size_t ft_conform_record_check_count(const ft_conform_record *rec)
{
	return json_array_size(rec->checks);
}

void ft_conform_record_check_at(const ft_conform_record *rec, size_t index, bool *ok,
                                const char **what, const char **detail)
{
	json_t *check = json_array_get(rec->checks, index);
	*ok = json_is_true(json_object_get(check, "ok"));
	*what = json_string_value(json_object_get(check, "what"));
	*detail = json_string_value(json_object_get(check, "detail"));
}

json_t *ft_conform_record_to_json(const ft_conform_record *rec)
{
	const char *reason = ft_conform_record_reason(rec);
	return json_pack("{s:s, s:s, s:s?, s:I, s:O, s:O, s:O}", "id", rec->id, "outcome",
	                 ft_conform_outcome_name(ft_conform_record_outcome(rec)), "reason", reason,
	                 "duration_ms", ms_of(rec->duration_ns), "checks", rec->checks, "answers",
	                 rec->answers, "steps", rec->steps);
}
