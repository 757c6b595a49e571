/* What one scenario run leaves behind: its outcome, the checks it made, the raw answers it saw
 * (exit statuses, diagnostic fields, DFU status/state sequences, bwPollTimeouts, descriptor
 * strings, read-back digests, timings) and the commands it ran. Two records of the same scenario
 * compare point by point through their answers (conformance/diff.h).
 *
 * Answers are keyed by dotted names ("check.exit_status", "dfu.product", "readback.crc32").
 * Keys under "time." hold durations: reports show them but never count them as differences.
 * Values are JSON (strings, integers, booleans, arrays of strings); addresses are strings
 * "0x08000000".
 *
 * Outcome: not-runnable when ft_conform_record_not_runnable was called (the checks are then
 * ignored and it never counts as passed); failed when a check failed, ft_conform_record_fail was
 * called, or the run made no check at all; passed otherwise.
 *
 * A record is filled by one thread. Allocation failures are remembered and make the outcome
 * failed ("out of memory"), so callers need not check each call. Library code: never prints.
 */
#ifndef FT_CONFORM_RECORD_H
#define FT_CONFORM_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ft_conform_outcome {
	FT_CONFORM_PASSED,
	FT_CONFORM_FAILED,
	FT_CONFORM_NOT_RUNNABLE,
} ft_conform_outcome;

/* "passed", "failed", "not-runnable"; "unknown" outside the enum. */
const char *ft_conform_outcome_name(ft_conform_outcome outcome);

/* Parses those names; false for anything else. */
bool ft_conform_outcome_parse(const char *name, ft_conform_outcome *out);

typedef struct ft_conform_record ft_conform_record;

/* A new, empty record for scenario id; NULL when out of memory. */
ft_conform_record *ft_conform_record_new(const char *id);
void ft_conform_record_free(ft_conform_record *rec);

const char *ft_conform_record_id(const ft_conform_record *rec);

/* Records a check: what was checked ("exit status") and, formatted, what was seen against what
 * was expected ("1, expected 1"). Returns ok, so a scenario can stop early on a failed
 * precondition. */
bool ft_conform_record_check(ft_conform_record *rec, bool ok, const char *what, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

/* The run could not go on (an emulator did not start, an input could not be built): failed,
 * with this reason. The first reason is kept. */
void ft_conform_record_fail(ft_conform_record *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The scenario cannot run here (a missing feature, an emu-only scenario on silicon). */
void ft_conform_record_not_runnable(ft_conform_record *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Answers; a later value replaces an earlier one under the same key. */
void ft_conform_record_str(ft_conform_record *rec, const char *key, const char *value);
void ft_conform_record_int(ft_conform_record *rec, const char *key, long long value);
void ft_conform_record_bool(ft_conform_record *rec, const char *key, bool value);
/* "0x%08X" */
void ft_conform_record_hex(ft_conform_record *rec, const char *key, uint32_t value);
/* Appends value to the array under key (created on first use). */
void ft_conform_record_append(ft_conform_record *rec, const char *key, const char *value);
/* A JSON value the record takes over (NULL is ignored: counted as out of memory). */
void ft_conform_record_json(ft_conform_record *rec, const char *key, json_t *value);

/* The answer under key, borrowed; NULL when absent. */
const json_t *ft_conform_record_answer(const ft_conform_record *rec, const char *key);

/* A command the scenario ran, for the report: its argument line, exit status and duration. */
void ft_conform_record_step(ft_conform_record *rec, const char *command, int exit_status,
                            uint64_t elapsed_ns);

/* Total run time, set by the runner. */
void ft_conform_record_set_duration(ft_conform_record *rec, uint64_t elapsed_ns);

ft_conform_outcome ft_conform_record_outcome(const ft_conform_record *rec);

/* Why it failed (the first failed check or the fail reason) or why it cannot run; NULL when it
 * passed. Valid while rec lives. */
const char *ft_conform_record_reason(const ft_conform_record *rec);

/* Checks, in the order made. */
size_t ft_conform_record_check_count(const ft_conform_record *rec);
/* The check at index (< count): *ok, *what and *detail (borrowed). */
void ft_conform_record_check_at(const ft_conform_record *rec, size_t index, bool *ok,
                                const char **what, const char **detail);

/* The record as a JSON object {"id", "outcome", "reason", "duration_ms", "checks": [{"what",
 * "ok", "detail"}], "answers": {...}, "steps": [{"command", "exit_status", "duration_ms"}]};
 * a new reference, NULL when out of memory. */
json_t *ft_conform_record_to_json(const ft_conform_record *rec);

#endif
