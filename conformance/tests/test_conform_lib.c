/* The conformance library without a device: the scenario registry and its selection, records
 * and their outcome rules, generated inputs (read back with libelf and by hand), evidence
 * matching, the diff rules and its client dimension, the JUnit and report writers, target
 * strings, client labels, reading dfu-util's output and a child's output. */
#include "conformance/client.h"
#include "conformance/device.h"
#include "conformance/dfu_util.h"
#include "conformance/diff.h"
#include "conformance/evidence.h"
#include "conformance/gen.h"
#include "conformance/proc.h"
#include "conformance/record.h"
#include "conformance/results.h"
#include "conformance/scenario.h"
#include "conformance/target.h"
#include "models/tests/ft_test.h"

#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- registry and selection ---- */

static void test_scenario_ids_are_unique_and_runnable_or_gated(void)
{
	size_t n = ft_conform_scenario_count();
	CU_ASSERT(n >= 60);
	for (size_t i = 0; i < n; i++) {
		const ft_conform_scenario *s = ft_conform_scenario_at(i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(strlen(s->id) == 3);
		CU_ASSERT(s->title && s->title[0]);
		CU_ASSERT(s->targets != 0);
		/* a scenario without a run function must say what it waits for */
		CU_ASSERT(s->run || s->needs[0]);
		CU_ASSERT_PTR_EQUAL(ft_conform_scenario_find(s->id), s);
		for (size_t j = i + 1; j < n; j++)
			CU_ASSERT(strcmp(s->id, ft_conform_scenario_at(j)->id) != 0);
	}
	CU_ASSERT_PTR_NULL(ft_conform_scenario_at(n));
	CU_ASSERT_PTR_NULL(ft_conform_scenario_find("Z99"));
}

static void test_catalogue_scenarios_of_the_dfu_path_are_registered(void)
{
	/* CATALOGUE.md §5.1, §5.2 and §5.6 IDs */
	static const char *const ids[] = {"I01", "I02", "I03", "I04", "I05", "I06", "I07", "I09",
	                                  "I11", "I13", "I14", "I15", "I17", "I18", "I20", "I21",
	                                  "I24", "D01", "D03", "D04", "D05", "D07", "D08", "D09",
	                                  "D10", "D11", "D13", "D14", "O01", "O02", "O04"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const ft_conform_scenario *s = ft_conform_scenario_find(ids[i]);
		CU_ASSERT_PTR_NOT_NULL(s);
		if (s)
			CU_ASSERT(s->in_catalogue);
	}
}

static void test_glob_matches_ids_titles_and_lists(void)
{
	CU_ASSERT(ft_conform_glob_match("I0*", "I01"));
	CU_ASSERT(ft_conform_glob_match("i0?", "I07"));
	CU_ASSERT(!ft_conform_glob_match("I0?", "I10"));
	CU_ASSERT(ft_conform_glob_match("D[0-1][3-4]", "D13"));
	CU_ASSERT(!ft_conform_glob_match("D[!1]3", "D13"));
	CU_ASSERT(ft_conform_glob_match("*leave*", "dfu-leave"));
	CU_ASSERT(ft_conform_glob_match("X*,D01", "D01"));
	CU_ASSERT(!ft_conform_glob_match("X*,D01", "D011"));
	CU_ASSERT(ft_conform_glob_match("*", ""));
	CU_ASSERT(!ft_conform_glob_match(",", "D01"));
}

static void test_shards_cover_each_position_exactly_once(void)
{
	for (unsigned shards = 1; shards <= 5; shards++) {
		for (size_t i = 0; i < 40; i++) {
			unsigned hits = 0;
			for (unsigned k = 1; k <= shards; k++)
				hits += ft_conform_in_shard(i, k, shards);
			FT_ASSERT_HEX(hits, 1);
		}
	}
}

static void test_target_strings_parse_and_real_targets_need_a_board(void)
{
	ft_conform_target t;
	ft_diag diag;
	FT_ASSERT_HEX(ft_conform_target_parse("emu:nucleo-h743zi2", NULL, &t, &diag), FT_OK);
	FT_ASSERT_HEX(t.kind, FT_CONFORM_TARGET_EMU);
	CU_ASSERT_STRING_EQUAL(t.board, "nucleo-h743zi2");
	FT_ASSERT_HEX(ft_conform_target_parse("usb:200364500000", "nucleo-h743zi2", &t, &diag),
	              FT_OK);
	FT_ASSERT_HEX(t.kind, FT_CONFORM_TARGET_USB);
	CU_ASSERT_STRING_EQUAL(t.connection, "usb:200364500000");
	FT_ASSERT_HEX(ft_conform_target_parse("usbip://10.0.0.2:3240/1-1", "b", &t, &diag), FT_OK);
	FT_ASSERT_HEX(t.kind, FT_CONFORM_TARGET_USBIP);
	FT_ASSERT_HEX(ft_conform_target_parse("usb", NULL, &t, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "--board"));
	FT_ASSERT_HEX(ft_conform_target_parse("emu:", NULL, &t, &diag), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_conform_target_parse("serial:/dev/ttyACM0", "b", &t, &diag),
	              FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_conform_target_parse("emu:a", "b", &t, &diag), FT_ERR_INVALID_ARG);
}

/* ---- records ---- */

static void test_record_without_a_check_fails(void)
{
	ft_conform_record *rec = ft_conform_record_new("I01");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	FT_ASSERT_HEX(ft_conform_record_outcome(rec), FT_CONFORM_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ft_conform_record_reason(rec), "no check"));
	ft_conform_record_check(rec, true, "exit status", "1, expected 1");
	FT_ASSERT_HEX(ft_conform_record_outcome(rec), FT_CONFORM_PASSED);
	CU_ASSERT_PTR_NULL(ft_conform_record_reason(rec));
	ft_conform_record_check(rec, false, "plan status", "\"ok\", expected \"refused\"");
	FT_ASSERT_HEX(ft_conform_record_outcome(rec), FT_CONFORM_FAILED);
	CU_ASSERT_STRING_EQUAL(ft_conform_record_reason(rec), "plan status");
	ft_conform_record_free(rec);
}

static void test_not_runnable_is_never_passed_whatever_its_checks(void)
{
	ft_conform_record *rec = ft_conform_record_new("D05");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	ft_conform_record_check(rec, true, "x", "y");
	ft_conform_record_not_runnable(rec, "needs-feature-%s", "emu-option");
	FT_ASSERT_HEX(ft_conform_record_outcome(rec), FT_CONFORM_NOT_RUNNABLE);
	CU_ASSERT_STRING_EQUAL(ft_conform_record_reason(rec), "needs-feature-emu-option");
	json_t *j = ft_conform_record_to_json(rec);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "outcome")), "not-runnable");
	json_decref(j);
	ft_conform_record_free(rec);
}

static void test_record_answers_keep_types_and_append(void)
{
	ft_conform_record *rec = ft_conform_record_new("D01");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	ft_conform_record_hex(rec, "a.addr", 0x5200201Cu);
	ft_conform_record_int(rec, "a.n", 1024);
	ft_conform_record_append(rec, "a.seq", "GETSTATUS dfuIDLE OK");
	ft_conform_record_append(rec, "a.seq", "CLRSTATUS");
	CU_ASSERT_STRING_EQUAL(json_string_value(ft_conform_record_answer(rec, "a.addr")),
	                       "0x5200201C");
	FT_ASSERT_HEX(json_integer_value(ft_conform_record_answer(rec, "a.n")), 1024);
	FT_ASSERT_HEX(json_array_size(ft_conform_record_answer(rec, "a.seq")), 2);
	ft_conform_record_fail(rec, "emulator did not start");
	ft_conform_record_fail(rec, "second reason");
	CU_ASSERT_STRING_EQUAL(ft_conform_record_reason(rec), "emulator did not start");
	ft_conform_record_free(rec);
}

/* ---- generated inputs ---- */

static void test_generated_elf_has_the_requested_program_headers(void)
{
	uint8_t text[40];
	ft_gen_self_addressed(text, sizeof(text), 0x08000000u);
	const ft_gen_segment segs[] = {
	    {0x08000000u, 0x08000000u, text, sizeof(text), sizeof(text), FT_GEN_PF_R | FT_GEN_PF_X,
	     ".text"},
	    {0x0800A000u, 0x24000000u, NULL, 0, 0x600, FT_GEN_PF_R | FT_GEN_PF_W, ".bss"},
	};
	uint8_t *buf;
	size_t len;
	FT_ASSERT_HEX(ft_gen_elf(segs, 2, &buf, &len, NULL), FT_OK);
	CU_ASSERT_FATAL(elf_version(EV_CURRENT) != EV_NONE);
	Elf *e = elf_memory((char *)buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	size_t nph = 0;
	CU_ASSERT(elf_getphdrnum(e, &nph) == 0);
	FT_ASSERT_HEX(nph, 2);
	GElf_Phdr ph;
	CU_ASSERT_PTR_NOT_NULL_FATAL(gelf_getphdr(e, 0, &ph));
	FT_ASSERT_HEX(ph.p_type, PT_LOAD);
	FT_ASSERT_HEX(ph.p_paddr, 0x08000000u);
	FT_ASSERT_HEX(ph.p_filesz, sizeof(text));
	FT_ASSERT_BYTES(buf + ph.p_offset, text, sizeof(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(gelf_getphdr(e, 1, &ph));
	FT_ASSERT_HEX(ph.p_paddr, 0x0800A000u);
	FT_ASSERT_HEX(ph.p_vaddr, 0x24000000u);
	FT_ASSERT_HEX(ph.p_filesz, 0);
	FT_ASSERT_HEX(ph.p_memsz, 0x600);
	size_t shstrndx;
	CU_ASSERT(elf_getshdrstrndx(e, &shstrndx) == 0);
	Elf_Scn *scn = elf_getscn(e, 2);
	GElf_Shdr sh;
	CU_ASSERT_PTR_NOT_NULL_FATAL(gelf_getshdr(scn, &sh));
	CU_ASSERT_STRING_EQUAL(elf_strptr(e, shstrndx, sh.sh_name), ".bss");
	FT_ASSERT_HEX(sh.sh_type, SHT_NOBITS);
	elf_end(e);
	free(buf);
	FT_ASSERT_HEX(ft_gen_elf(segs, 0, &buf, &len, NULL), FT_ERR_INVALID_ARG);
}

/* Intel HEX: each record's bytes sum to 0 mod 256, type 04 precedes a new upper address. */
static void test_generated_hex_has_valid_checksums_and_extended_addresses(void)
{
	const uint8_t data[4] = {0xDE, 0xAD, 0xBE, 0xEF};
	const ft_gen_hex_record r[] = {{0x0801FFFEu, data, 4}, {0x08020010u, data, 2}};
	char *text;
	size_t len;
	FT_ASSERT_HEX(ft_gen_hex(r, 2, &text, &len, NULL), FT_OK);
	CU_ASSERT_STRING_EQUAL(text, ":020000040801F1\n"
	                             ":04FFFE00DEADBEEFC7\n"
	                             ":020000040802F0\n"
	                             ":02001000DEAD63\n"
	                             ":00000001FF\n");
	free(text);
}

static void test_crc32_check_value(void)
{
	FT_ASSERT_HEX(ft_conform_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

/* flash --json's report and the scenarios' last_line answers are a program's last line. */
static void test_last_line_skips_trailing_newlines(void)
{
	size_t len = 99;
	const char *line =
	    ft_proc_last_line("{\"event\":\"plan\"}\n{\"event\":\"result\"}\n\n", &len);
	CU_ASSERT_EQUAL(len, 18);
	CU_ASSERT_NSTRING_EQUAL(line, "{\"event\":\"result\"}", 18);
	line = ft_proc_last_line("one line, no newline", &len);
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_NSTRING_EQUAL(line, "one line, no newline", 20);
	line = ft_proc_last_line("\n\n", &len);
	FT_ASSERT_HEX(len, 0);
	line = ft_proc_last_line(NULL, &len);
	FT_ASSERT_HEX(len, 0);
	CU_ASSERT_PTR_NOT_NULL(line);
}

/* ---- evidence ---- */

static json_t *evidence_doc(const char *revision)
{
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:[{s:s, s:s, s:s}, {s:s, s:i, "
	                        "s:s}]}]}",
	                        "kind", "evidence", "title", "t", "applies_to", "dev_id", "0x450",
	                        "scenarios", "id", "D01", "items", "key", "dfu.product", "value",
	                        "DFU in FS Mode", "source", "https://example.org/log", "key",
	                        "time.dfu.ms", "value", 1000, "source", "log");
	if (revision)
		json_object_set_new(json_object_get(doc, "applies_to"), "revision",
		                    json_string(revision));
	return doc;
}

static void test_evidence_applies_by_device_id_and_revision(void)
{
	const ft_part *h743 = ft_part_find("STM32H743ZI");
	const ft_part *h723 = ft_part_find("STM32H723ZG");
	json_t *any = evidence_doc(NULL), *rev_v = evidence_doc("V");
	CU_ASSERT(ft_conform_evidence_applies(any, h743, 'V'));
	CU_ASSERT(ft_conform_evidence_applies(any, h743, '\0'));
	CU_ASSERT(!ft_conform_evidence_applies(any, h723, 'Z'));
	CU_ASSERT(ft_conform_evidence_applies(rev_v, h743, 'V'));
	CU_ASSERT(!ft_conform_evidence_applies(rev_v, h743, 'Y'));
	CU_ASSERT(!ft_conform_evidence_applies(rev_v, h743, '\0'));
	json_decref(any);
	json_decref(rev_v);
}

static void test_evidence_without_a_source_is_refused(void)
{
	json_t *doc = evidence_doc(NULL);
	ft_diag diag;
	FT_ASSERT_HEX(ft_conform_evidence_validate(doc, "x.json", &diag), FT_OK);
	json_t *item = json_array_get(
	    json_object_get(json_array_get(json_object_get(doc, "scenarios"), 0), "items"), 0);
	json_object_del(item, "source");
	FT_ASSERT_HEX(ft_conform_evidence_validate(doc, "x.json", &diag), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "source"));
	json_decref(doc);
}

/* conformance/evidence of the source tree above this program (BUILD/tests/prog, BUILD possibly
 * two levels deep). */
static void evidence_dir(char *path, size_t cap)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = '\0';
		snprintf(path, cap, "%s/conformance/evidence", exe);
		if (access(path, R_OK) == 0)
			return;
	}
	snprintf(path, cap, "conformance/evidence");
}

/* The evidence directory of the source tree: every file validates, every item has a source. */
static void test_shipped_evidence_loads(void)
{
	ft_conform_evidence *ev = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	char dir[600];
	evidence_dir(dir, sizeof(dir));
	ft_error err = ft_conform_evidence_load(dir, &ev, &diag);
	if (err != FT_OK)
		fprintf(stderr, "evidence: %s: %s\n", diag.origin, diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	if (ev) {
		CU_ASSERT(ft_conform_evidence_documents(ev) >= 5);
		CU_ASSERT(ft_conform_evidence_items(ev) >= 20);
	}
	ft_conform_evidence_free(ev);
}

/* ---- diff and writers ---- */

static json_t *run_doc(const char *outcome, const char *serial, long long poll)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:{s:s, s:I}, s:[]}]}", "kind", "run",
	                 "target", "emu:nucleo-h743zi2", "scenarios", "id", "D01", "title",
	                 "dfu-descriptor-h743", "section", "dfu", "outcome", outcome, "answers",
	                 "dfu.serial", serial, "time.dfu.ms", (json_int_t)poll, "checks");
}

static const json_t *diff_row(const json_t *diff, const char *key)
{
	const json_t *s = json_array_get(json_object_get(diff, "scenarios"), 0);
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(s, "answers"), i, row)
	{
		if (strcmp(json_string_value(json_object_get(row, "key")), key) == 0)
			return row;
	}
	return NULL;
}

static void test_diff_marks_differing_answers_but_never_timings(void)
{
	json_t *a = run_doc("passed", "200364500000", 3), *b = run_doc("passed", "200364500000", 9);
	json_t *d = ft_conform_diff(a, "a.json", b, "b.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	FT_ASSERT_HEX(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "differing")), 0);
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(diff_row(d, "time.dfu.ms"), "status")), "timing");
	json_decref(d);
	json_decref(b);
	b = run_doc("failed", "100364500000", 3);
	d = ft_conform_diff(a, "a.json", b, "b.json");
	FT_ASSERT_HEX(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "differing")), 1);
	const json_t *s = json_array_get(json_object_get(d, "scenarios"), 0);
	CU_ASSERT(json_is_true(json_object_get(s, "outcome_differs")));
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(diff_row(d, "dfu.serial"), "status")), "differs");
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static void test_diff_against_evidence_ignores_what_it_does_not_cover(void)
{
	json_t *a = run_doc("passed", "200364500000", 3);
	json_t *ev = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:{s:s}, s:{s:s}}]}", "kind",
	                       "evidence", "target", "t", "scenarios", "id", "D01", "title", "",
	                       "outcome", "evidence", "answers", "dfu.product", "DFU in FS Mode",
	                       "sources", "dfu.product", "https://example.org");
	json_t *d = ft_conform_diff(a, "run.json", ev, "ev.json");
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(diff_row(d, "dfu.serial"), "status")), "not-covered");
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(diff_row(d, "dfu.product"), "status")), "only-b");
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(diff_row(d, "dfu.product"), "source")),
	    "https://example.org");
	json_decref(d);
	json_decref(a);
	json_decref(ev);
}

/* Writes with fn into memory and returns the text (caller frees). */
static char *render(ft_error (*fn)(const json_t *, FILE *, ft_diag *), const json_t *doc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	FT_ASSERT_HEX(fn(doc, f, NULL), FT_OK);
	fclose(f);
	return text;
}

static void test_reports_mark_the_differing_scenario_and_escape_text(void)
{
	json_t *a = run_doc("passed", "<2003>", 3), *b = run_doc("failed", "&1003", 3);
	json_t *d = ft_conform_diff(a, "a.json", b, "b.json");
	char *html = render(ft_conform_render_html, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr id=\"scenario-D01\" class=\"scenario differs\">"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "&lt;2003&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "&amp;1003"));
	CU_ASSERT_PTR_NULL(strstr(html, "<script"));
	char *md = render(ft_conform_render_markdown, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| **differs** | D01 |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "**1 of 1 scenarios differ.**"));
	free(html);
	free(md);
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static void test_junit_skips_not_runnable_and_fails_failed(void)
{
	json_t *doc = json_pack(
	    "{s:s, s:s, s:I, s:[{s:s, s:s, s:s, s:s, s:s, s:I, s:[]}, {s:s, s:s, s:s, s:s, s:s, "
	    "s:I, s:[{s:s, s:b, s:s}]}]}",
	    "kind", "run", "target", "emu:b", "duration_ms", (json_int_t)10, "scenarios", "id",
	    "D05", "title", "dfu-rdp-l1", "section", "dfu", "outcome", "not-runnable", "reason",
	    "needs-feature-emu-option", "duration_ms", (json_int_t)0, "checks", "id", "D07",
	    "title", "dfu-write-without-erase", "section", "dfu", "outcome", "failed", "reason",
	    "the overwrite <is> reported", "duration_ms", (json_int_t)12, "checks", "what",
	    "the overwrite <is> reported", "ok", 0, "detail", "reported success");
	char *xml = render(ft_conform_write_junit, doc);
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "tests=\"2\" failures=\"1\" skipped=\"1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<skipped message=\"needs-feature-emu-option\"/>"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(xml, "<failure message=\"the overwrite &lt;is&gt; reported\">"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "classname=\"conform.dfu\" name=\"D07 "));
	free(xml);
	json_decref(doc);
}

/* ---- clients ---- */

static void test_client_labels_follow_the_target_transport(void)
{
	ft_conform_client c = FT_CONFORM_CLIENT_DFU_UTIL;
	CU_ASSERT(ft_conform_client_parse("flashtwin", &c));
	FT_ASSERT_HEX(c, FT_CONFORM_CLIENT_FLASHTWIN);
	CU_ASSERT(ft_conform_client_parse("dfu-util", &c));
	FT_ASSERT_HEX(c, FT_CONFORM_CLIENT_DFU_UTIL);
	CU_ASSERT(!ft_conform_client_parse("dfu_util", &c));
	CU_ASSERT_STRING_EQUAL(
	    ft_conform_client_label(FT_CONFORM_CLIENT_FLASHTWIN, FT_CONFORM_TARGET_EMU),
	    "flashtwin-usbip");
	CU_ASSERT_STRING_EQUAL(
	    ft_conform_client_label(FT_CONFORM_CLIENT_FLASHTWIN, FT_CONFORM_TARGET_USBIP),
	    "flashtwin-usbip");
	CU_ASSERT_STRING_EQUAL(
	    ft_conform_client_label(FT_CONFORM_CLIENT_FLASHTWIN, FT_CONFORM_TARGET_USB),
	    "flashtwin-libusb");
	CU_ASSERT_STRING_EQUAL(
	    ft_conform_client_label(FT_CONFORM_CLIENT_DFU_UTIL, FT_CONFORM_TARGET_USB), "dfu-util");
	CU_ASSERT_PTR_NULL(
	    ft_conform_client_blocked(FT_CONFORM_CLIENT_DFU_UTIL, FT_CONFORM_TARGET_USB));
	CU_ASSERT_STRING_EQUAL(
	    ft_conform_client_blocked(FT_CONFORM_CLIENT_DFU_UTIL, FT_CONFORM_TARGET_EMU),
	    "needs-target-usb");
	CU_ASSERT_PTR_NULL(
	    ft_conform_client_blocked(FT_CONFORM_CLIENT_FLASHTWIN, FT_CONFORM_TARGET_EMU));
}

static void test_dfu_util_versions_exist_for_the_lab_scenarios(void)
{
	static const char *const ids[] = {"D01", "D03", "D13", "D30", "O30"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const ft_conform_scenario *s = ft_conform_scenario_find(ids[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(s->device && s->run_dfu_util != NULL);
	}
	size_t n = ft_conform_scenario_count();
	for (size_t i = 0; i < n; i++) {
		const ft_conform_scenario *s = ft_conform_scenario_at(i);
		CU_ASSERT(!s->run_dfu_util || s->device); /* a client only talks to a device */
	}
}

/* ---- dfu-util's output ---- */

/* dfu-util 0.11 -l against an H743 ROM (the lab's dfu-list.log): alt 1 listed first. */
static const char dfu_util_list[] =
    "dfu-util 0.11\n\nCopyright 2005-2009 Weston Schmidt, Harald Welte and OpenMoko Inc.\n"
    "Found Runtime: [1209:0001] ver=0100, devnum=3, cfg=1, intf=0, path=\"1-2\", alt=0, "
    "name=\"UNKNOWN\", serial=\"X\"\n"
    "Found DFU: [0483:df11] ver=0200, devnum=2, cfg=1, intf=0, path=\"1-1\", alt=1, "
    "name=\"@Option Bytes   /0x5200201C/01*128 e\", serial=\"200364500000\"\n"
    "Found DFU: [0483:df11] ver=0200, devnum=2, cfg=1, intf=0, path=\"1-1\", alt=0, "
    "name=\"@Internal Flash   /0x08000000/16*128Kg\", serial=\"200364500000\"\n"
    "Found DFU: [0483:df11] ver=0200, devnum=5, cfg=1, intf=0, path=\"1-3\", alt=0, "
    "name=\"@Internal Flash   /0x08000000/8*128Kg\", serial=\"100364500000\"\n"
    "Found DFU: [0483:df11] ver=0200, devnum=2, cfg=1, intf=0, path=\"1-1\", alt=2, name=\"@cut";

static void test_dfu_util_list_gives_the_first_device_by_alt_setting(void)
{
	ft_dfuse_device_info info;
	FT_ASSERT_HEX(ft_conform_dfu_util_list(dfu_util_list, &info), 2);
	FT_ASSERT_HEX(info.vid, 0x0483);
	FT_ASSERT_HEX(info.pid, 0xDF11);
	FT_ASSERT_HEX(info.bcd_device, 0x0200);
	CU_ASSERT_STRING_EQUAL(info.serial, "200364500000");
	FT_ASSERT_HEX(info.alts[0].alt, 0);
	CU_ASSERT_STRING_EQUAL(info.alts[0].name, "@Internal Flash   /0x08000000/16*128Kg");
	FT_ASSERT_HEX(info.alts[0].layout_diag.code, FT_OK);
	FT_ASSERT_HEX(info.alts[0].layout.groups[0].sector_size, 128u * 1024u);
	FT_ASSERT_HEX(info.alts[1].alt, 1);
	FT_ASSERT_HEX(info.alts[1].layout.groups[0].start, 0x5200201Cu);
	FT_ASSERT_HEX(ft_conform_dfu_util_list("no device\n", &info), 0);
	FT_ASSERT_HEX(ft_conform_dfu_util_list("", &info), 0);
}

/* dfu-util 0.11 opening a board left in dfuERROR by a refused SET_ADDRESS (the lab's
 * error-state.log), and the message it ends with when a download fails. */
static const char dfu_util_recovery[] =
    "Opening DFU capable USB device...\nDevice ID 0483:df11\nDevice DFU version 011a\n"
    "Determining device status...\n"
    "DFU state(10) = dfuERROR, status(1) = File is not targeted for use by this device\n"
    "Clearing status\nDetermining device status...\n"
    "DFU state(2) = dfuIDLE, status(0) = No error condition is present\n"
    "DFU mode device DFU version 011a\nDevice returned transfer size 1024\n";

static void test_dfu_util_status_lines_session_and_error(void)
{
	uint8_t state = 0, status = 0xFF;
	CU_ASSERT(ft_conform_dfu_util_status(dfu_util_recovery, 0, &state, &status));
	FT_ASSERT_HEX(state, 10);
	FT_ASSERT_HEX(status, 1);
	CU_ASSERT(ft_conform_dfu_util_status(dfu_util_recovery, -1, &state, &status));
	FT_ASSERT_HEX(state, 2);
	FT_ASSERT_HEX(status, 0);
	CU_ASSERT(!ft_conform_dfu_util_status(dfu_util_recovery, 2, &state, &status));
	CU_ASSERT(!ft_conform_dfu_util_status(dfu_util_recovery, -3, &state, &status));
	CU_ASSERT(
	    !ft_conform_dfu_util_status("DFU state(999) = x, status(1) = y\n", 0, &state, &status));
	ft_dfuse_device_info info;
	memset(&info, 0, sizeof(info));
	CU_ASSERT(ft_conform_dfu_util_session(dfu_util_recovery, &info));
	FT_ASSERT_HEX(info.bcd_dfu, 0x011A);
	FT_ASSERT_HEX(info.transfer_size_reported, 1024);
	CU_ASSERT(!ft_conform_dfu_util_session("Device DFU version 011a\n", &info));
	char line[24];
	CU_ASSERT(ft_conform_dfu_util_error("dfu-util: Warning: Invalid DFU suffix signature\n"
	                                    "dfu-util: SET_ADDRESS not correctly executed\n",
	                                    line, sizeof(line)));
	CU_ASSERT_STRING_EQUAL(line, "SET_ADDRESS not correct"); /* cut to the buffer */
	CU_ASSERT(!ft_conform_dfu_util_error("Upload done.\n", line, sizeof(line)));
	CU_ASSERT_STRING_EQUAL(line, "");
}

/* ---- the client dimension of diff ---- */

static json_t *client_entry(const char *id, const char *client, const char *outcome,
                            const char *status, const char *only_key)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:[]}", "id", id, "title", "t",
	                      "section", "dfu", "outcome", outcome, "answers",
	                      "dfu.set_address.status", status, "checks");
	if (client)
		json_object_set_new(e, "client", json_string(client));
	if (only_key)
		json_object_set_new(json_object_get(e, "answers"), only_key, json_integer(1));
	return e;
}

static json_t *client_doc(json_t *e1, json_t *e2)
{
	json_t *doc = json_pack("{s:s, s:s, s:[]}", "kind", "run", "target", "t", "scenarios");
	json_array_append_new(json_object_get(doc, "scenarios"), e1);
	if (e2)
		json_array_append_new(json_object_get(doc, "scenarios"), e2);
	return doc;
}

static const json_t *row_for(const json_t *diff, const char *a_client, const char *b_client)
{
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(diff, "scenarios"), i, row)
	{
		const char *ca = json_string_value(json_object_get(row, "a_client"));
		const char *cb = json_string_value(json_object_get(row, "b_client"));
		if (ca && cb && strcmp(ca, a_client) == 0 && strcmp(cb, b_client) == 0)
			return row;
	}
	return NULL;
}

static void test_diff_puts_each_client_of_a_scenario_beside_the_other_side(void)
{
	json_t *a = client_doc(
	    client_entry("D03", "flashtwin-usbip", "passed", "errTARGET", "dfu.only_flashtwin"),
	    NULL);
	json_t *b = client_doc(
	    client_entry("D03", "flashtwin-libusb", "passed", "errTARGET", "dfu.only_flashtwin"),
	    client_entry("D03", "dfu-util", "failed", "errUNKNOWN", "dfu_util.exit_status"));
	json_t *d = ft_conform_diff(a, "usbip.json", b, "guest.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	FT_ASSERT_HEX(json_array_size(json_object_get(d, "scenarios")), 2);
	FT_ASSERT_HEX(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "differing")), 1);
	const json_t *libusb = row_for(d, "flashtwin-usbip", "flashtwin-libusb");
	const json_t *dfu_util = row_for(d, "flashtwin-usbip", "dfu-util");
	CU_ASSERT_FATAL(libusb && dfu_util);
	CU_ASSERT(json_is_false(json_object_get(libusb, "differs")));
	CU_ASSERT(json_is_true(json_object_get(dfu_util, "differs")));
	CU_ASSERT(json_is_true(json_object_get(dfu_util, "outcome_differs")));
	/* a fact one client cannot observe is no difference; the device state is */
	const json_t *rows = json_object_get(dfu_util, "answers");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		const char *key = json_string_value(json_object_get(r, "key"));
		const char *st = json_string_value(json_object_get(r, "status"));
		bool device_state = strcmp(key, "dfu.set_address.status") == 0;
		CU_ASSERT_STRING_EQUAL(st, device_state ? "differs" : "not-observed");
	}
	char *md = render(ft_conform_render_markdown, d);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(md, "| same | D03 | t | flashtwin-usbip / flashtwin-libusb |"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(md, "| **differs** | D03 | t | flashtwin-usbip / dfu-util |"));
	char *html = render(ft_conform_render_html, d);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(html, "<tr id=\"scenario-D03-flashtwin-usbip-dfu-util\" class=\"scenario "
	                 "differs\">"));
	free(md);
	free(html);
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static void test_diff_pairs_the_same_client_exactly(void)
{
	json_t *a = client_doc(client_entry("D03", "flashtwin-usbip", "passed", "errTARGET", NULL),
	                       client_entry("D03", "dfu-util", "passed", "errTARGET", NULL));
	json_t *b = client_doc(client_entry("D03", "dfu-util", "passed", "errTARGET", NULL),
	                       client_entry("D03", "flashtwin-usbip", "passed", "errTARGET", NULL));
	json_t *d = ft_conform_diff(a, "a.json", b, "b.json");
	FT_ASSERT_HEX(json_array_size(json_object_get(d, "scenarios")), 2);
	CU_ASSERT_PTR_NOT_NULL(row_for(d, "dfu-util", "dfu-util"));
	CU_ASSERT_PTR_NOT_NULL(row_for(d, "flashtwin-usbip", "flashtwin-usbip"));
	FT_ASSERT_HEX(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "differing")), 0);
	json_decref(d);
	json_decref(b);
	/* a client only one side ran is a difference of its own */
	b = client_doc(client_entry("D03", "flashtwin-usbip", "passed", "errTARGET", NULL), NULL);
	d = ft_conform_diff(a, "a.json", b, "b.json");
	FT_ASSERT_HEX(json_array_size(json_object_get(d, "scenarios")), 2);
	FT_ASSERT_HEX(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "differing")), 1);
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static CU_TestInfo tests[] = {
    {"scenario_ids_are_unique_and_runnable_or_gated",
     test_scenario_ids_are_unique_and_runnable_or_gated},
    {"catalogue_scenarios_of_the_dfu_path_are_registered",
     test_catalogue_scenarios_of_the_dfu_path_are_registered},
    {"glob_matches_ids_titles_and_lists", test_glob_matches_ids_titles_and_lists},
    {"shards_cover_each_position_exactly_once", test_shards_cover_each_position_exactly_once},
    {"target_strings_parse_and_real_targets_need_a_board",
     test_target_strings_parse_and_real_targets_need_a_board},
    {"record_without_a_check_fails", test_record_without_a_check_fails},
    {"not_runnable_is_never_passed_whatever_its_checks",
     test_not_runnable_is_never_passed_whatever_its_checks},
    {"record_answers_keep_types_and_append", test_record_answers_keep_types_and_append},
    {"generated_elf_has_the_requested_program_headers",
     test_generated_elf_has_the_requested_program_headers},
    {"generated_hex_has_valid_checksums_and_extended_addresses",
     test_generated_hex_has_valid_checksums_and_extended_addresses},
    {"crc32_check_value", test_crc32_check_value},
    {"last_line_skips_trailing_newlines", test_last_line_skips_trailing_newlines},
    {"evidence_applies_by_device_id_and_revision", test_evidence_applies_by_device_id_and_revision},
    {"evidence_without_a_source_is_refused", test_evidence_without_a_source_is_refused},
    {"shipped_evidence_loads", test_shipped_evidence_loads},
    {"diff_marks_differing_answers_but_never_timings",
     test_diff_marks_differing_answers_but_never_timings},
    {"diff_against_evidence_ignores_what_it_does_not_cover",
     test_diff_against_evidence_ignores_what_it_does_not_cover},
    {"reports_mark_the_differing_scenario_and_escape_text",
     test_reports_mark_the_differing_scenario_and_escape_text},
    {"junit_skips_not_runnable_and_fails_failed", test_junit_skips_not_runnable_and_fails_failed},
    {"client_labels_follow_the_target_transport", test_client_labels_follow_the_target_transport},
    {"dfu_util_versions_exist_for_the_lab_scenarios",
     test_dfu_util_versions_exist_for_the_lab_scenarios},
    {"dfu_util_list_gives_the_first_device_by_alt_setting",
     test_dfu_util_list_gives_the_first_device_by_alt_setting},
    {"dfu_util_status_lines_session_and_error", test_dfu_util_status_lines_session_and_error},
    {"diff_puts_each_client_of_a_scenario_beside_the_other_side",
     test_diff_puts_each_client_of_a_scenario_beside_the_other_side},
    {"diff_pairs_the_same_client_exactly", test_diff_pairs_the_same_client_exactly},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"conform_lib", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
