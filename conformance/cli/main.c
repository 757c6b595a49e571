/* flashtwin-conform: runs the conformance scenarios against an emulated or a real board, and
 * compares two result files. docs/conformance.md is the user's guide. */
#include "conformance/diff.h"
#include "conformance/results.h"
#include "conformance/runner.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_PASSED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define MAX_EMU_ARGS 16

static const char usage[] =
    "usage: flashtwin-conform [--target TARGET] [--board BOARD] [--filter GLOB[,GLOB...]]\n"
    "                         [--list] [--jobs N] [--shard I/N] [--json FILE] [--junit FILE]\n"
    "                         [--evidence DIR | --no-evidence] [--work-dir DIR] [--keep-work]\n"
    "                         [--emu-arg ARG]... [--flashtwin PATH] [--emu PATH]\n"
    "                         [--client flashtwin|dfu-util] [--dfu-util PATH]\n"
    "                         [--fixtures DIR] [--quiet]\n"
    "       flashtwin-conform diff A.json B.json [MORE.json...] [--html FILE] [--md FILE]\n"
    "\n"
    "Runs the conformance scenarios of CATALOGUE.md against a board and reports each one as\n"
    "passed, failed or not runnable (with what it needs).\n"
    "\n"
    "  --target emu:BOARD        an emulated board: one flashtwin-emu per scenario (default\n"
    "                            emu:nucleo-h743zi2)\n"
    "  --target usb[:SERIAL]     a real board in DFU mode (BOOT0 = 1) on this machine\n"
    "  --target usbip://H:P/BUS  a board exported over USB/IP\n"
    "  --target gdb://HOST:PORT  a debug port\n"
    "  --board BOARD             the board attached to a real target (boards/BOARD.board)\n"
    "  --filter GLOB             scenarios whose ID or title matches (I0*, D03, *leave*)\n"
    "  --list                    list the selected scenarios with their status, run nothing\n"
    "  --jobs N                  scenarios in parallel, one emulator each (emu: only)\n"
    "  --shard I/N               run the I-th of N interleaved shards (CI matrices)\n"
    "  --json FILE, --junit FILE write the results as JSON / JUnit XML\n"
    "  --evidence DIR            check device answers against real-silicon evidence (default:\n"
    "                            conformance/evidence of the source tree)\n"
    "  --emu-arg ARG             pass ARG to every flashtwin-emu (repeatable)\n"
    "  --client CLIENT           who talks to the device: flashtwin (default; over the\n"
    "                            target's transport) or dfu-util (usb targets; the scenarios\n"
    "                            that have a dfu-util version: D01 D03 D13 D30 O30)\n"
    "  --dfu-util PATH           the dfu-util binary (default: dfu-util from PATH)\n"
    "\n"
    "  diff A.json B.json        compare two result files (or a result file and an evidence\n"
    "                            file) per scenario and client; --html/--md write a report;\n"
    "                            MORE.json files (runs with other clients) join B's side\n"
    "\n"
    "exit status: 0 no scenario failed, 1 a scenario failed (or diff: the files differ),\n"
    "2 bad usage or input\n";

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("flashtwin-conform: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void diag_error(const ft_diag *diag)
{
	if (diag->origin[0])
		error("%s: %s", diag->origin, diag->message);
	else
		error("%s", diag->message);
}

/* The directory of this executable. */
static void exe_dir(char *buf, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(buf, cap, ".");
		return;
	}
	exe[n] = '\0';
	snprintf(buf, cap, "%s", dirname(exe));
}

/* Finds rel ("boards/x.board", "conformance/evidence") in ., then up to three directories above
 * the executable (build/ and build/san/ sit below the source tree). */
static bool find_in_tree(const char *rel, char *out, size_t cap)
{
	if (access(rel, F_OK) == 0) {
		snprintf(out, cap, "%s", rel);
		return true;
	}
	char dir[PATH_MAX / 2];
	exe_dir(dir, sizeof(dir));
	for (int up = 0; up < 4; up++) {
		snprintf(out, cap, "%s/%s", dir, rel);
		if (access(out, F_OK) == 0)
			return true;
		char *parent = dirname(dir);
		memmove(dir, parent, strlen(parent) + 1);
	}
	return false;
}

/* The board file: a path (with '/' or ".board"), $FLASHTWIN_BOARDS/NAME.board, or boards/ of
 * the tree. */
static bool board_file(const char *board, char *out, size_t cap)
{
	size_t len = strlen(board);
	if (strchr(board, '/') || (len > 6 && strcmp(board + len - 6, ".board") == 0)) {
		snprintf(out, cap, "%s", board);
		return access(out, R_OK) == 0;
	}
	const char *env = getenv("FLASHTWIN_BOARDS");
	if (env && env[0]) {
		snprintf(out, cap, "%s/%s.board", env, board);
		if (access(out, R_OK) == 0)
			return true;
	}
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "boards/%s.board", board);
	return find_in_tree(rel, out, cap);
}

static bool parse_uint(const char *text, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (!text[0] || *end || v == 0 || v > 1024)
		return false;
	*out = (unsigned)v;
	return true;
}

typedef struct progress {
	bool quiet;
} progress;

/* "dfu-set-address-ram" with " [dfu-util]" after it when a scenario's client is not flashtwin
 * (the default client, whose transport the target names). */
static void title_with_client(const json_t *e, char *buf, size_t cap)
{
	const char *title = json_string_value(json_object_get(e, "title"));
	const char *client = json_string_value(json_object_get(e, "client"));
	if (client && strncmp(client, "flashtwin", 9) != 0)
		snprintf(buf, cap, "%s [%s]", title ? title : "", client);
	else
		snprintf(buf, cap, "%s", title ? title : "");
}

static void on_result(void *user, const json_t *e)
{
	const progress *p = user;
	const char *outcome = json_string_value(json_object_get(e, "outcome"));
	bool failed = outcome && strcmp(outcome, "failed") == 0;
	if (p->quiet && !failed)
		return;
	const char *mark = !outcome                     ? "????"
	                   : !strcmp(outcome, "passed") ? "PASS"
	                   : failed                     ? "FAIL"
	                                                : "SKIP";
	const char *reason = json_string_value(json_object_get(e, "reason"));
	char title[160];
	title_with_client(e, title, sizeof(title));
	printf("%s %-4s %-48.48s %5lld ms%s%s\n", mark, json_string_value(json_object_get(e, "id")),
	       title, (long long)json_integer_value(json_object_get(e, "duration_ms")),
	       reason ? "  " : "", reason ? reason : "");
	fflush(stdout);
}

static void print_list(const json_t *list)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		printf("%-4s %-7s %-48.48s %s%s\n", json_string_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "section")),
		       json_string_value(json_object_get(e, "title")),
		       json_string_value(json_object_get(e, "status")),
		       json_is_true(json_object_get(e, "in_catalogue")) ? "" : " (added)");
	}
}

static long long count(const json_t *doc, const char *key)
{
	return (long long)json_integer_value(json_object_get(json_object_get(doc, "counts"), key));
}

static int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
	    {"target", required_argument, NULL, 't'},
	    {"board", required_argument, NULL, 'b'},
	    {"filter", required_argument, NULL, 'f'},
	    {"list", no_argument, NULL, 'l'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"shard", required_argument, NULL, 's'},
	    {"json", required_argument, NULL, 'J'},
	    {"junit", required_argument, NULL, 'U'},
	    {"evidence", required_argument, NULL, 'e'},
	    {"no-evidence", no_argument, NULL, 'E'},
	    {"work-dir", required_argument, NULL, 'w'},
	    {"keep-work", no_argument, NULL, 'k'},
	    {"emu-arg", required_argument, NULL, 'a'},
	    {"flashtwin", required_argument, NULL, 'F'},
	    {"emu", required_argument, NULL, 'M'},
	    {"fixtures", required_argument, NULL, 'X'},
	    {"client", required_argument, NULL, 'C'},
	    {"dfu-util", required_argument, NULL, 'D'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *target = "emu:nucleo-h743zi2", *board = NULL, *json_path = NULL,
	           *junit_path = NULL, *evidence = NULL, *flashtwin = NULL, *emu = NULL,
	           *fixtures = NULL;
	bool list = false, no_evidence = false;
	const char *emu_args[MAX_EMU_ARGS + 1];
	size_t emu_argc = 0;
	progress prog = {false};
	ft_conform_run_config cfg = {0};
	int c;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'b': board = optarg; break;
		case 'f': cfg.filter = optarg; break;
		case 'l': list = true; break;
		case 'j':
			if (!parse_uint(optarg, &cfg.jobs)) {
				error("--jobs: expected a count from 1 to 1024, got \"%s\"",
				      optarg);
				return EXIT_USAGE;
			}
			break;
		case 's': {
			unsigned i, n;
			char extra;
			if (sscanf(optarg, "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i == 0 ||
			    i > n) {
				error("--shard: expected I/N with 1 <= I <= N, got \"%s\"", optarg);
				return EXIT_USAGE;
			}
			cfg.shard = i;
			cfg.shards = n;
			break;
		}
		case 'J': json_path = optarg; break;
		case 'U': junit_path = optarg; break;
		case 'e': evidence = optarg; break;
		case 'E': no_evidence = true; break;
		case 'w': cfg.work_dir = optarg; break;
		case 'k': cfg.keep_work = true; break;
		case 'a':
			if (emu_argc == MAX_EMU_ARGS) {
				error("--emu-arg: at most %d", MAX_EMU_ARGS);
				return EXIT_USAGE;
			}
			emu_args[emu_argc++] = optarg;
			break;
		case 'F': flashtwin = optarg; break;
		case 'M': emu = optarg; break;
		case 'X': fixtures = optarg; break;
		case 'C':
			if (!ft_conform_client_parse(optarg, &cfg.client)) {
				error("--client: expected flashtwin or dfu-util, got \"%s\"",
				      optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D': cfg.dfu_util = optarg; break;
		case 'q': prog.quiet = true; break;
		case 'h': fputs(usage, stdout); return EXIT_PASSED;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		error("unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	emu_args[emu_argc] = NULL;
	cfg.emu_extra = emu_args;
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_conform_target_parse(target, board, &cfg.target, &diag) != FT_OK) {
		diag_error(&diag);
		return EXIT_USAGE;
	}
	char board_path[PATH_MAX], dir[PATH_MAX / 2], ft_path[PATH_MAX], emu_path[PATH_MAX],
	    fix_path[PATH_MAX], ev_path[PATH_MAX];
	if (!board_file(cfg.target.board, board_path, sizeof(board_path))) {
		error("unknown board \"%s\" (no %s.board in $FLASHTWIN_BOARDS or boards/)",
		      cfg.target.board, cfg.target.board);
		return EXIT_USAGE;
	}
	exe_dir(dir, sizeof(dir));
	snprintf(ft_path, sizeof(ft_path), "%s/flashtwin", dir);
	snprintf(emu_path, sizeof(emu_path), "%s/flashtwin-emu", dir);
	snprintf(fix_path, sizeof(fix_path), "%s/fixtures", dir);
	cfg.board_file = board_path;
	cfg.flashtwin = flashtwin ? flashtwin : ft_path;
	cfg.emu = emu ? emu : access(emu_path, X_OK) == 0 ? emu_path : NULL;
	cfg.fixtures = fixtures ? fixtures : fix_path;
	if (cfg.client == FT_CONFORM_CLIENT_DFU_UTIL && !cfg.dfu_util)
		cfg.dfu_util = "dfu-util";
	if (!no_evidence)
		cfg.evidence = evidence ? evidence
		               : find_in_tree("conformance/evidence", ev_path, sizeof(ev_path))
		                   ? ev_path
		                   : NULL;
	if (list) {
		json_t *l;
		if (ft_conform_list(&cfg, &l, &diag) != FT_OK) {
			diag_error(&diag);
			return EXIT_USAGE;
		}
		print_list(l);
		json_decref(l);
		return EXIT_PASSED;
	}
	cfg.on_result = on_result;
	cfg.user = &prog;
	json_t *doc;
	if (ft_conform_run(&cfg, &doc, &diag) != FT_OK) {
		diag_error(&diag);
		return EXIT_USAGE;
	}
	int status = count(doc, "failed") ? EXIT_FAILED : EXIT_PASSED;
	if (json_path && ft_conform_write_json(doc, json_path, &diag) != FT_OK) {
		diag_error(&diag);
		status = EXIT_USAGE;
	}
	if (junit_path && ft_conform_write_junit_file(doc, junit_path, &diag) != FT_OK) {
		diag_error(&diag);
		status = EXIT_USAGE;
	}
	const json_t *cu = json_object_get(doc, "cunit");
	char client[64] = "";
	if (cfg.client != FT_CONFORM_CLIENT_FLASHTWIN)
		snprintf(client, sizeof(client), ", client %s", ft_conform_client_name(cfg.client));
	printf("flashtwin-conform: %s (%s)%s: %lld scenarios: %lld passed, %lld failed, %lld not "
	       "runnable (CUnit: %lld run, %lld failed, %lld inactive) in %.1f s\n",
	       cfg.target.spec, json_string_value(json_object_get(doc, "part")), client,
	       count(doc, "scenarios"), count(doc, "passed"), count(doc, "failed"),
	       count(doc, "not_runnable"),
	       (long long)json_integer_value(json_object_get(cu, "run")),
	       (long long)json_integer_value(json_object_get(cu, "failed")),
	       (long long)json_integer_value(json_object_get(cu, "inactive")),
	       (double)json_integer_value(json_object_get(doc, "duration_ms")) / 1000.0);
	json_decref(doc);
	return status;
}

static int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
	    {"html", required_argument, NULL, 'H'},
	    {"md", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *html = NULL, *md = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'H': html = optarg; break;
		case 'm': md = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_PASSED;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		error("diff takes two files or more: A.json B.json [MORE.json...]");
		return EXIT_USAGE;
	}
	const char *pa = argv[optind];
	ft_diag diag;
	ft_diag_clear(&diag);
	json_t *a = NULL, *b = NULL;
	if (ft_conform_load(pa, &a, &diag) != FT_OK ||
	    ft_conform_load(argv[optind + 1], &b, &diag) != FT_OK) {
		diag_error(&diag);
		json_decref(a);
		return EXIT_USAGE;
	}
	/* B's side: B.json, then the scenarios of every further run (other clients of the same
	 * board, kept apart by their client); labelled "B.json + C.json". */
	char label_b[PATH_MAX];
	snprintf(label_b, sizeof(label_b), "%s", argv[optind + 1]);
	for (int i = optind + 2; i < argc; i++) {
		json_t *more = NULL;
		if (ft_conform_load(argv[i], &more, &diag) != FT_OK ||
		    json_array_extend(json_object_get(b, "scenarios"),
		                      json_object_get(more, "scenarios")) != 0) {
			if (more)
				error("%s: cannot add its scenarios", argv[i]);
			else
				diag_error(&diag);
			json_decref(more);
			json_decref(a);
			json_decref(b);
			return EXIT_USAGE;
		}
		json_decref(more);
		size_t used = strlen(label_b);
		snprintf(label_b + used, sizeof(label_b) - used, " + %s", argv[i]);
	}
	json_t *d = ft_conform_diff(a, pa, b, label_b);
	json_decref(a);
	json_decref(b);
	if (!d) {
		error("out of memory");
		return EXIT_USAGE;
	}
	int status = EXIT_PASSED;
	if (ft_conform_render_markdown(d, stdout, &diag) != FT_OK ||
	    (html && ft_conform_render_file(d, html, true, &diag) != FT_OK) ||
	    (md && ft_conform_render_file(d, md, false, &diag) != FT_OK)) {
		diag_error(&diag);
		status = EXIT_USAGE;
	} else if (json_integer_value(json_object_get(json_object_get(d, "counts"), "differing"))) {
		status = EXIT_FAILED;
	}
	json_decref(d);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
