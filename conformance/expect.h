/* Assertions the scenarios share, each recorded as one check of a record with what was seen and
 * what was expected, and the answers a `flashtwin check --json` plan contributes to a record.
 *
 * Every function returns whether the expectation held. Texts may be NULL (a JSON null); a NULL
 * never contains anything and equals only an expected NULL. Library code: never prints.
 */
#ifndef FT_CONFORM_EXPECT_H
#define FT_CONFORM_EXPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conformance/record.h"

bool ft_conform_expect_int(ft_conform_record *rec, const char *what, long long got, long long want);
bool ft_conform_expect_str(ft_conform_record *rec, const char *what, const char *got,
                           const char *want);
/* Case-sensitive substring. */
bool ft_conform_expect_contains(ft_conform_record *rec, const char *what, const char *text,
                                const char *needle);
bool ft_conform_expect_true(ft_conform_record *rec, const char *what, bool cond,
                            const char *detail);

/* The JSON string member key of obj, or NULL (absent, null or not a string). */
const char *ft_conform_json_str(const json_t *obj, const char *key);

/* The segment of a plan whose load address is start (segments[].start), or NULL. */
const json_t *ft_conform_plan_segment(const json_t *plan, uint32_t start);

/* Records a plan's answers under prefix: PREFIX.exit_status, .status, .segments (one string per
 * segment: "0x30000000+0x300 refuse dfu-volatile ahb-sram"), .erase ("bank 1 sector 0"), .write
 * ("0x08000000-0x0800015F pad 16") and .verify. */
void ft_conform_record_plan(ft_conform_record *rec, const char *prefix, const json_t *plan,
                            int exit_status);

/* Checks a segment's verdict and rule ("refuse", "dfu-volatile") and, when region_kind is not
 * NULL, its region kind ("ahb-sram"). label names the segment in the check ("PT_LOAD[3]"). */
bool ft_conform_expect_segment(ft_conform_record *rec, const json_t *plan, uint32_t start,
                               const char *label, const char *verdict, const char *rule,
                               const char *region_kind);

/* Checks the count of plan.work.erase entries and, for each of the given sectors (bank, sector
 * pairs), that it is listed. */
bool ft_conform_expect_erase(ft_conform_record *rec, const json_t *plan, size_t count,
                             const unsigned (*sectors)[2]);

#endif
