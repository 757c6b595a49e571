/* flashtwin-conform as a user runs it: the whole suite against every emulated H7 board, listing,
 * sharding, a real target's emu-only scenarios, a deliberately broken emulator that must make the
 * matching scenarios fail, and the HTML report as headless Chromium renders it.
 *
 * The binaries are those of this test's build tree: $FT_BUILD when set, else the parent of this
 * program's tests/ directory (build/san/tests/x -> build/san/flashtwin-conform). Each test runs
 * in its own temporary directory. */
#include "conformance/proc.h"
#include "models/tests/ft_test.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_TIMEOUT_MS 240000u

/* The quirk the broken runs switch off: H743 rev V's bank-2 erase that stays dfuDNBUSY
 * (models/parts.c; evidence h74x-rev-v.json, betaflight-configurator PR 1861). */
#define BREAK_QUIRK "h74x-rev-v-bank2-erase-dnbusy=off"

typedef struct fixture {
	char build[PATH_MAX / 2];
	char dir[PATH_MAX / 2]; /* this test's temporary directory */
	ft_proc_result res;
} fixture;

static fixture fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	const char *env = getenv("FT_BUILD");
	if (env && env[0]) {
		snprintf(fx.build, sizeof(fx.build), "%s", env);
	} else {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		snprintf(fx.build, sizeof(fx.build), "%s", dirname(dirname(exe)));
	}
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ft-conform-test-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fx.dir));
}

static void teardown(void)
{
	ft_proc_result_free(&fx.res);
	char *argv[] = {"rm", "-rf", fx.dir, NULL};
	ft_proc_result r;
	if (ft_proc_run((const char *const *)argv, NULL, 10000, &r, NULL) == FT_OK)
		ft_proc_result_free(&r);
}

/* Runs BUILD/flashtwin-conform with the NULL-terminated arguments; keeps its result in fx.res and
 * returns its exit status. */
static int conform(const char *const *args)
{
	char prog[PATH_MAX];
	snprintf(prog, sizeof(prog), "%s/flashtwin-conform", fx.build);
	const char *argv[48] = {prog};
	size_t n = 1;
	for (size_t i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ft_proc_result_free(&fx.res);
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_proc_run(argv, NULL, RUN_TIMEOUT_MS, &fx.res, &diag) != FT_OK) {
		fprintf(stderr, "%s\n", diag.message);
		return -1;
	}
	return fx.res.exit_status;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void path_in(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", fx.dir, name);
}

static json_t *load(const char *path)
{
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);
	if (!doc)
		fprintf(stderr, "%s: %s\n", path, err.text);
	return doc;
}

static long long count(const json_t *doc, const char *group, const char *key)
{
	return (long long)json_integer_value(json_object_get(json_object_get(doc, group), key));
}

static const json_t *scenario(const json_t *doc, const char *id)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
			return s;
	}
	return NULL;
}

static const char *outcome(const json_t *doc, const char *id)
{
	const char *o = json_string_value(json_object_get(scenario(doc, id), "outcome"));
	return o ? o : "(absent)";
}

/* The last line of the run's stdout: the summary with the counts. */
static void print_summary(void)
{
	size_t len;
	const char *line = ft_proc_last_line(fx.res.out, &len);
	printf("\n    %.*s\n    ", (int)len, line);
}

/* Scenarios every emulated H7 board must pass. */
static const char *const h7_must_pass[] = {
    "I01", "I03", "I04", "I05", "I17", "I21", "D01", "D03", "D04", "D07", "D09", "D13",
    /* over gdb:// against the board's QEMU machine */
    "S01", "S03", "S06", "S07", "S08", "S12", "S13", "S14", "O01", "O02", "O40",
    /* pre-flight of the loader file */
    "E01", "E02", NULL};
/* The board with a W25Q256JV on QUADSPI: the H7 list and the external-loader scenarios. */
static const char *const w25q_must_pass[] = {"E03", "E04", "E05", "E06", "E09",
                                             "E10", "E11", "E13", "E14", NULL};
/* The N6: no internal flash, no DFU; the loader scenarios on its MX25UM51245G. */
static const char *const n6_must_pass[] = {"I01", "E01", "E02", "E12", "N01", "N02", "N05", NULL};

/* The whole suite against one emulated board with --jobs 2: nothing fails, what cannot run is
 * not-runnable (never passed), every scenario of the must-pass lists (NULL-ended; more NULL)
 * passed, CUnit agrees with the counts, and, with evidence, the answers the evidence covers were
 * checked. */
static void run_board(const char *board, long long min_passed, const char *const *must_pass,
                      const char *const *more, bool evidence)
{
	char target[128], json[PATH_MAX], junit[PATH_MAX];
	snprintf(target, sizeof(target), "emu:%s", board);
	path_in(json, sizeof(json), "run.json");
	path_in(junit, sizeof(junit), "run.xml");
	int status = conform(
	    ARGS("--target", target, "--jobs", "2", "--quiet", "--json", json, "--junit", junit));
	print_summary();
	if (status != 0)
		fprintf(stderr, "%s%s", fx.res.out, fx.res.err);
	FT_ASSERT_HEX(status, 0);
	json_t *doc = load(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	long long total = count(doc, "counts", "scenarios");
	long long passed = count(doc, "counts", "passed");
	long long blocked = count(doc, "counts", "not_runnable");
	FT_ASSERT_HEX(count(doc, "counts", "failed"), 0);
	CU_ASSERT(passed >= min_passed);
	FT_ASSERT_HEX(passed + blocked, total);
	FT_ASSERT_HEX(count(doc, "cunit", "run"), passed);
	FT_ASSERT_HEX(count(doc, "cunit", "inactive"), blocked);
	FT_ASSERT_HEX(count(doc, "cunit", "failed"), 0);
	for (const char *const *list = must_pass; list; list = list == must_pass ? more : NULL) {
		for (size_t i = 0; list[i]; i++) {
			const char *o = outcome(doc, list[i]);
			if (strcmp(o, "passed") != 0)
				fprintf(stderr, "%s: %s %s\n", board, list[i], o);
			CU_ASSERT_STRING_EQUAL(o, "passed");
		}
	}
	CU_ASSERT(!evidence || count(doc, "evidence", "items") > 0);
	json_decref(doc);
	FILE *f = fopen(junit, "r");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f)
		fclose(f);
}

static void test_suite_passes_on_emulated_nucleo_h743zi2(void)
{
	run_board("nucleo-h743zi2", 48, h7_must_pass, NULL, true);
}

static void test_suite_passes_on_emulated_nucleo_h753zi(void)
{
	run_board("nucleo-h753zi", 48, h7_must_pass, NULL, true);
}

static void test_suite_passes_on_emulated_nucleo_h723zg(void)
{
	run_board("nucleo-h723zg", 48, h7_must_pass, NULL, true);
}

static void test_suite_passes_on_emulated_nucleo_h7a3zi_q(void)
{
	run_board("nucleo-h7a3zi-q", 48, h7_must_pass, NULL, true);
}

static void test_suite_passes_on_emulated_custom_h743_w25q256(void)
{
	run_board("custom-h743-w25q256", 55, h7_must_pass, w25q_must_pass, true);
}

static void test_suite_passes_on_emulated_nucleo_n657x0_q(void)
{
	run_board("nucleo-n657x0-q", 16, n6_must_pass, NULL, false);
}

/* --list names every scenario once with its status, and runs nothing. */
static void test_list_gives_every_scenario_a_status(void)
{
	FT_ASSERT_HEX(conform(ARGS("--list")), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.out, "I01  image   elf-ptload-ram-d2-dfu"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.out, "needs-feature-n6-fsbl-noncacheable-fixture"));
	/* the loader scenarios name the board they need */
	const char *e05 = strstr(fx.res.out, "E05 ");
	const char *why = e05 ? strstr(e05, "needs a board with a W25Q256JV external flash") : NULL;
	CU_ASSERT(why && why < strchr(e05, '\n'));
	/* the debug-port scenarios that QEMU's gdbstub cannot host say why */
	const char *s09 = strstr(fx.res.out, "S09 ");
	CU_ASSERT(s09 && strstr(s09, "not-applicable: QEMU's gdbstub has no SWD wire") <
	                     strchr(s09, '\n'));
	CU_ASSERT(strstr(fx.res.out, "needs-feature-flash-command") ||
	          strstr(fx.res.out, "D14  dfu     dfu-atomic-plan"));
	const char *d05 = strstr(fx.res.out, "D05 ");
	CU_ASSERT(d05 && strncmp(strchr(d05, '\n') - 8, "runnable", 8) == 0);
}

/* On real silicon, emu-only scenarios are listed as such and never run. */
static void test_real_target_lists_emu_only_scenarios(void)
{
	FT_ASSERT_HEX(conform(ARGS("--target", "usbip://127.0.0.1:9/1-1", "--board",
	                           "nucleo-h743zi2", "--list")),
	              0);
	const char *d05 = strstr(fx.res.out, "D05 ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d05);
	CU_ASSERT_PTR_NOT_NULL(strstr(d05, "emu-only"));
	CU_ASSERT(strstr(d05, "emu-only") < strchr(d05, '\n'));
	FT_ASSERT_HEX(conform(ARGS("--target", "usb")), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.err, "--board"));
}

/* Every device scenario's record names its client, image scenarios none; the dfu-util client
 * reaches only a usb target and runs only the scenarios that have a dfu-util version. */
static void test_records_name_the_client_and_dfu_util_needs_a_usb_target(void)
{
	char json[PATH_MAX];
	path_in(json, sizeof(json), "run.json");
	FT_ASSERT_HEX(conform(ARGS("--filter", "I01,D03", "--json", json)), 0);
	json_t *doc = load(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "client")),
	                       "flashtwin-usbip");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(scenario(doc, "D03"), "client")),
	                       "flashtwin-usbip");
	const json_t *i01 = scenario(doc, "I01");
	CU_ASSERT(i01 && json_is_null(json_object_get(i01, "client")));
	CU_ASSERT_PTR_NULL(strstr(fx.res.out, "[flashtwin")); /* the default is not shown */
	json_decref(doc);

	FT_ASSERT_HEX(conform(ARGS("--client", "dfu-util", "--filter", "I01,D03", "--json", json)),
	              0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.out, "dfu-set-address-ram [dfu-util]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.out, ", client dfu-util: 2 scenarios"));
	doc = load(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(outcome(doc, "D03"), "not-runnable");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(scenario(doc, "D03"), "reason")),
	                       "needs-target-usb");
	CU_ASSERT_STRING_EQUAL(outcome(doc, "I01"), "passed");
	json_decref(doc);

	FT_ASSERT_HEX(
	    conform(ARGS("--target", "usb", "--board", "nucleo-h743zi2", "--client", "dfu-util",
	                 "--dfu-util", "/bin/true", "--filter", "D0[34]", "--list")),
	    0);
	const char *d03 = strstr(fx.res.out, "D03 "), *d04 = strstr(fx.res.out, "D04 ");
	CU_ASSERT_FATAL(d03 && d04);
	CU_ASSERT(strncmp(strchr(d03, '\n') - 8, "runnable", 8) == 0);
	CU_ASSERT(strncmp(strchr(d04, '\n') - 22, "needs-client-flashtwin", 22) == 0);
	FT_ASSERT_HEX(conform(ARGS("--client", "dfu_util")), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.err, "--client"));
}

/* Two shards of the image scenarios run disjoint sets whose union is the whole. */
static void test_shards_split_the_run(void)
{
	char a[PATH_MAX], b[PATH_MAX], all[PATH_MAX];
	path_in(a, sizeof(a), "a.json");
	path_in(b, sizeof(b), "b.json");
	path_in(all, sizeof(all), "all.json");
	FT_ASSERT_HEX(conform(ARGS("--filter", "I*", "--shard", "1/2", "--json", a)), 0);
	FT_ASSERT_HEX(conform(ARGS("--filter", "I*", "--shard", "2/2", "--json", b)), 0);
	FT_ASSERT_HEX(conform(ARGS("--filter", "I*", "--json", all)), 0);
	json_t *da = load(a), *db = load(b), *dall = load(all);
	CU_ASSERT_FATAL(da && db && dall);
	long long na = count(da, "counts", "scenarios"), nb = count(db, "counts", "scenarios");
	CU_ASSERT(na > 0 && nb > 0);
	FT_ASSERT_HEX(na + nb, count(dall, "counts", "scenarios"));
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(dall, "scenarios"), i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));
		CU_ASSERT((scenario(da, id) != NULL) != (scenario(db, id) != NULL));
	}
	FT_ASSERT_HEX(conform(ARGS("--shard", "3/2")), 2);
	json_decref(da);
	json_decref(db);
	json_decref(dall);
}

/* Breaking an emulator behaviour makes the matching scenarios fail and only those: a ROM quirk
 * switched off (D11 no longer matches the evidence), a ROM that stops reading back (D07). */
static void test_breaking_the_emulator_fails_the_matching_scenarios(void)
{
	char good[PATH_MAX], quirk[PATH_MAX], verify[PATH_MAX];
	path_in(good, sizeof(good), "good.json");
	path_in(quirk, sizeof(quirk), "quirk.json");
	path_in(verify, sizeof(verify), "verify.json");
	FT_ASSERT_HEX(conform(ARGS("--filter", "D*", "--jobs", "2", "--json", good)), 0);
	FT_ASSERT_HEX(conform(ARGS("--filter", "D*", "--jobs", "2", "--json", quirk,
	                           "--emu-arg=--quirk", "--emu-arg=" BREAK_QUIRK)),
	              1);
	FT_ASSERT_HEX(conform(ARGS("--filter", "D*", "--jobs", "2", "--json", verify,
	                           "--emu-arg=--fault", "--emu-arg=no-readback-verify")),
	              1);
	json_t *dg = load(good), *dq = load(quirk), *dv = load(verify);
	CU_ASSERT_FATAL(dg && dq && dv);
	CU_ASSERT_STRING_EQUAL(outcome(dq, "D11"), "failed");
	CU_ASSERT_STRING_EQUAL(outcome(dv, "D07"), "failed");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(dg, "scenarios"), i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *o = json_string_value(json_object_get(s, "outcome"));
		if (strcmp(id, "D11") != 0)
			CU_ASSERT_STRING_EQUAL(outcome(dq, id), o);
		/* D35 asks for the same fault itself; only D07 expects the read-back */
		if (strcmp(id, "D07") != 0)
			CU_ASSERT_STRING_EQUAL(outcome(dv, id), o);
	}
	json_decref(dg);
	json_decref(dq);
	json_decref(dv);
}

/* The row of scenario id in a DOM dump, up to the end of its first cell. */
static const char *row_of(const char *dom, const char *id, char *buf, size_t cap)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "<tr id=\"scenario-%s\"", id);
	const char *row = strstr(dom, needle);
	if (!row)
		return NULL;
	const char *end = strstr(row, "</td>");
	size_t len = end ? (size_t)(end - row) : strlen(row);
	snprintf(buf, cap, "%.*s", (int)len, row);
	return buf;
}

/* diff --html of a good and a broken run, loaded in headless Chromium: the page a reader sees
 * marks D11 as differing, lists it first, and shows the untouched scenarios as the same. */
static void test_html_report_in_chromium_marks_the_differing_scenarios(void)
{
	char good[PATH_MAX], bad[PATH_MAX], html[PATH_MAX], md[PATH_MAX], profile[PATH_MAX];
	path_in(good, sizeof(good), "good.json");
	path_in(bad, sizeof(bad), "bad.json");
	path_in(html, sizeof(html), "report.html");
	path_in(md, sizeof(md), "report.md");
	path_in(profile, sizeof(profile), "chromium-profile");
	FT_ASSERT_HEX(conform(ARGS("--filter", "D*,O*", "--json", good)), 0);
	FT_ASSERT_HEX(conform(ARGS("--filter", "D*,O*", "--json", bad, "--emu-arg=--quirk",
	                           "--emu-arg=" BREAK_QUIRK)),
	              1);
	FT_ASSERT_HEX(conform(ARGS("diff", good, bad, "--html", html, "--md", md)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.res.out, "**1 of "));
	char url[PATH_MAX + 16], user_dir[PATH_MAX + 32];
	snprintf(url, sizeof(url), "file://%s", html);
	snprintf(user_dir, sizeof(user_dir), "--user-data-dir=%s", profile);
	const char *argv[] = {"chromium",
	                      "--headless",
	                      "--no-sandbox",
	                      "--disable-gpu",
	                      "--disable-quic",
	                      "--no-first-run",
	                      "--disable-background-networking",
	                      "--disable-component-update",
	                      "--disable-sync",
	                      user_dir,
	                      "--dump-dom",
	                      url,
	                      NULL};
	ft_proc_result dom;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_proc_run(argv, fx.dir, 60000, &dom, &diag);
	if (err != FT_OK)
		fprintf(stderr, "chromium (ci/packages.txt) did not start: %s\n", diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	if (err != FT_OK)
		return;
	FT_ASSERT_HEX(dom.exit_status, 0);
	char buf[512];
	/* rows are keyed by scenario and client: both runs are flashtwin over usbip:// */
	const char *d11 = row_of(dom.out, "D11-flashtwin-usbip", buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(d11);
	if (d11) {
		CU_ASSERT_PTR_NOT_NULL(strstr(d11, "class=\"scenario differs\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(d11, "differs"));
	}
	const char *d01 = row_of(dom.out, "D01-flashtwin-usbip", buf, sizeof(buf));
	CU_ASSERT(d01 && strstr(d01, "class=\"scenario same\""));
	const char *list = strstr(dom.out, "<ul id=\"differing\">");
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	const char *list_end = strstr(list, "</ul>");
	const char *link = strstr(list, "href=\"#scenario-D11-flashtwin-usbip\"");
	CU_ASSERT(link && link < list_end);
	const char *d01_link = strstr(list, "href=\"#scenario-D01-flashtwin-usbip\"");
	CU_ASSERT(!d01_link || d01_link > list_end);
	ft_proc_result_free(&dom);
}

static CU_TestInfo tests[] = {
    {"suite_passes_on_emulated_nucleo_h743zi2", test_suite_passes_on_emulated_nucleo_h743zi2},
    {"suite_passes_on_emulated_nucleo_h753zi", test_suite_passes_on_emulated_nucleo_h753zi},
    {"suite_passes_on_emulated_nucleo_h723zg", test_suite_passes_on_emulated_nucleo_h723zg},
    {"suite_passes_on_emulated_nucleo_h7a3zi_q", test_suite_passes_on_emulated_nucleo_h7a3zi_q},
    {"suite_passes_on_emulated_custom_h743_w25q256",
     test_suite_passes_on_emulated_custom_h743_w25q256},
    {"suite_passes_on_emulated_nucleo_n657x0_q", test_suite_passes_on_emulated_nucleo_n657x0_q},
    {"list_gives_every_scenario_a_status", test_list_gives_every_scenario_a_status},
    {"real_target_lists_emu_only_scenarios", test_real_target_lists_emu_only_scenarios},
    {"records_name_the_client_and_dfu_util_needs_a_usb_target",
     test_records_name_the_client_and_dfu_util_needs_a_usb_target},
    {"shards_split_the_run", test_shards_split_the_run},
    {"breaking_the_emulator_fails_the_matching_scenarios",
     test_breaking_the_emulator_fails_the_matching_scenarios},
    {"html_report_in_chromium_marks_the_differing_scenarios",
     test_html_report_in_chromium_marks_the_differing_scenarios},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"conform_suite", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
