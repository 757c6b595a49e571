/* The runner: selection, runnability, worker threads, evidence checks, the CUnit replay. */
#include "conformance/runner.h"

#include "conformance/env.h"
#include "conformance/evidence.h"
#include "conformance/scenario.h"
#include "models/board.h"

#include <CUnit/CUnit.h>
#include <CUnit/TestRun.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 64

typedef struct job {
	const ft_conform_scenario *s;
	char blocked[256]; /* why it cannot run here; empty when it can */
	json_t *result;    /* its entry of the run document */
} job;

typedef struct run {
	const ft_conform_run_config *cfg;
	const ft_part *part;
	char revision;
	char external_flash[32]; /* the board file's external_flash_part, "" when none */
	ft_conform_features *features;
	ft_conform_evidence *evidence;
	job *jobs;
	size_t count;
	size_t next;
	char work_dir[512];
	pthread_mutex_t lock;
} run;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The board's part and silicon revision: the board file's, else (emulated boards) the board
 * runtime's default, the last revision of the part table (emu/board_runtime.h). A real board
 * whose file names no revision has an unknown one. */
static ft_error board_part(const ft_conform_run_config *cfg, const ft_part **part, char *revision,
                           char *external_flash, size_t cap, ft_diag *diag)
{
	ft_board board;
	ft_error err = ft_board_load(cfg->board_file, &board, diag);
	if (err != FT_OK)
		return err;
	*part = ft_part_find(board.part);
	if (!*part)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, cfg->board_file, "unknown part \"%s\"",
		                   board.part);
	*revision = board.revision;
	snprintf(external_flash, cap, "%s", board.external_flash_part);
	if (!*revision && cfg->target.kind == FT_CONFORM_TARGET_EMU && (*part)->revision_count > 0)
		*revision = (*part)->revisions[(*part)->revision_count - 1].name;
	return FT_OK;
}

/* Fills j->blocked when scenario s cannot run on this target; features may be NULL (listing
 * without probing is not done: callers probe first). */
static void judge(const run *r, job *j)
{
	const ft_conform_scenario *s = j->s;
	const ft_conform_target *t = &r->cfg->target;
	j->blocked[0] = '\0';
	if (!(s->targets & ft_conform_target_bit(t->kind))) {
		snprintf(j->blocked, sizeof(j->blocked), "needs-target-%s",
		         s->targets & FT_CONFORM_ON_GDB && !(s->targets & FT_CONFORM_ON_DFU)
		             ? "gdb"
		             : "dfu");
		return;
	}
	if (s->emu_only && t->kind != FT_CONFORM_TARGET_EMU) {
		snprintf(j->blocked, sizeof(j->blocked), "emu-only");
		return;
	}
	bool dfu_util = s->device && r->cfg->client == FT_CONFORM_CLIENT_DFU_UTIL;
	const char *client_block =
	    s->device ? ft_conform_client_blocked(r->cfg->client, t->kind) : NULL;
	if (dfu_util && !s->run_dfu_util)
		client_block = "needs-client-flashtwin";
	if (client_block) {
		snprintf(j->blocked, sizeof(j->blocked), "%s", client_block);
		return;
	}
	if (s->external_flash && strcmp(s->external_flash, r->external_flash) != 0) {
		snprintf(j->blocked, sizeof(j->blocked),
		         "not-applicable: needs a board with a %s external flash",
		         s->external_flash);
		return;
	}
	const char *why = s->unsupported ? s->unsupported(r->part) : NULL;
	if (why) {
		snprintf(j->blocked, sizeof(j->blocked), "not-applicable: %s", why);
		return;
	}
	/* Missing features, in the order: device, switches, needs. */
	const char *missing[3 * FT_CONFORM_MAX_LIST];
	size_t n = 0;
	bool emu = t->kind == FT_CONFORM_TARGET_EMU;
	if (s->device && emu && !ft_conform_features_has(r->features, "emulator"))
		missing[n++] = "emulator";
	if (s->device && s->gdb && emu && !ft_conform_features_has(r->features, "qemu"))
		missing[n++] = "qemu";
	for (size_t i = 0; emu && i < FT_CONFORM_MAX_LIST && s->switches[i]; i++) {
		const char *f = ft_conform_switch_feature(s->switches[i]);
		if (f && !ft_conform_features_has(r->features, f))
			missing[n++] = f;
	}
	/* needs are flashtwin's features; dfu-util needs itself */
	for (size_t i = 0; !dfu_util && i < FT_CONFORM_MAX_LIST && s->needs[i]; i++)
		if (!ft_conform_features_has(r->features, s->needs[i]))
			missing[n++] = s->needs[i];
	if (dfu_util && !ft_conform_features_has(r->features, "dfu-util"))
		missing[n++] = "dfu-util";
	if (n == 0 && !s->run)
		missing[n++] = "a-run-function";
	if (n == 0)
		return;
	size_t used = (size_t)snprintf(j->blocked, sizeof(j->blocked), "needs-feature-");
	for (size_t i = 0; i < n && used < sizeof(j->blocked); i++) {
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(missing[k], missing[i]) == 0;
		if (!dup)
			used += (size_t)snprintf(j->blocked + used, sizeof(j->blocked) - used,
			                         "%s%s", i ? "," : "", missing[i]);
	}
}

/* Selection in catalogue order, scenarios that leave DFU last on real targets. */
static ft_error select_jobs(run *r, ft_diag *diag)
{
	size_t total = ft_conform_scenario_count();
	r->jobs = calloc(total ? total : 1, sizeof(job));
	if (!r->jobs)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	const ft_conform_run_config *cfg = r->cfg;
	size_t matched = 0;
	bool real = cfg->target.kind != FT_CONFORM_TARGET_EMU;
	for (int pass = 0; pass < 2; pass++) {
		matched = 0;
		for (size_t i = 0; i < total; i++) {
			const ft_conform_scenario *s = ft_conform_scenario_at(i);
			if (cfg->filter && !ft_conform_glob_match(cfg->filter, s->id) &&
			    !ft_conform_glob_match(cfg->filter, s->title))
				continue;
			if (!ft_conform_in_shard(matched++, cfg->shard, cfg->shards))
				continue;
			if ((real && s->leaves_dfu) != (pass == 1))
				continue;
			r->jobs[r->count].s = s;
			judge(r, &r->jobs[r->count]);
			r->count++;
		}
	}
	if (r->count == 0)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, "--filter",
		                   "no scenario matches \"%s\"%s", cfg->filter ? cfg->filter : "*",
		                   cfg->shards > 1 ? " in this shard" : "");
	return FT_OK;
}

static json_t *string_list(const char *const *list)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < FT_CONFORM_MAX_LIST && list[i]; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* The label of the scenario's client (conformance/client.h): a debug-port scenario on an
 * emulated target talks to the board's QEMU gdbstub, whatever the target's own transport. */
static const char *scenario_client(const ft_conform_run_config *cfg, const ft_conform_scenario *s)
{
	return ft_conform_client_label(cfg->client,
	                               s->gdb ? FT_CONFORM_TARGET_GDB : cfg->target.kind);
}

/* How a scenario reaches the device: "gdb" (the debug port), "dfu" (USB DFU) or NULL (none). */
static const char *route(const ft_conform_scenario *s)
{
	return !s->device ? NULL : s->gdb ? "gdb" : "dfu";
}

/* The scenario's static facts, its client and its route as the start of its document entry. */
static json_t *scenario_json(const run *r, const ft_conform_scenario *s)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:o, s:s?, s:s?}", "id", s->id,
	                 "title", s->title, "section", ft_conform_section_name(s->section),
	                 "in_catalogue", s->in_catalogue, "emu_only", s->emu_only, "device",
	                 s->device, "needs", string_list(s->needs), "switches",
	                 string_list(s->switches), "client",
	                 s->device ? scenario_client(r->cfg, s) : NULL, "route", route(s));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs scenario j->s with its own directory and, when it needs one, its own emulator. */
static void run_scenario(run *r, job *j, ft_conform_record *rec)
{
	const ft_conform_run_config *cfg = r->cfg;
	const ft_conform_scenario *s = j->s;
	char dir[640];
	snprintf(dir, sizeof(dir), "%s/%s", r->work_dir, s->id);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		ft_conform_record_fail(rec, "cannot create %s: %s", dir, strerror(errno));
		return;
	}
	ft_conform_emu *emu = NULL;
	const char *connection = NULL;
	if (s->device && cfg->target.kind == FT_CONFORM_TARGET_EMU) {
		ft_conform_emu_config ec = {
		    .program = cfg->emu,
		    .board = cfg->target.board,
		    .dir = dir,
		    .switches = s->switches,
		    .extra = cfg->emu_extra,
		    .gdb = s->gdb,
		};
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_conform_emu_start(&ec, &emu, &diag) != FT_OK) {
			ft_conform_record_fail(rec, "emulator did not start: %s", diag.message);
			return;
		}
		ft_conform_record_step(rec, ft_conform_emu_command(emu), 0, 0);
		connection = ft_conform_emu_url(emu);
	} else if (s->device) {
		connection = cfg->target.connection;
	}
	ft_conform_env_config ecfg = {
	    .record = rec,
	    .part = r->part,
	    .board = cfg->target.board,
	    .connection = connection,
	    .flashtwin = cfg->flashtwin,
	    .fixtures = cfg->fixtures,
	    .work_dir = dir,
	    .revision = r->revision,
	    .emulated = cfg->target.kind == FT_CONFORM_TARGET_EMU,
	    .client = cfg->client,
	    .dfu_util = cfg->dfu_util,
	};
	bool dfu_util = s->device && cfg->client == FT_CONFORM_CLIENT_DFU_UTIL;
	void (*run_fn)(ft_conform_env *) = dfu_util ? s->run_dfu_util : s->run;
	ft_conform_env *env = ft_conform_env_new(&ecfg);
	if (!env)
		ft_conform_record_fail(rec, "out of memory");
	else
		run_fn(env);
	ft_conform_env_free(env);
	if (emu) {
		int status = 0;
		ft_conform_emu_stop(emu, &status, NULL);
		char line[64];
		snprintf(line, sizeof(line), "stop flashtwin-emu (SIGTERM)");
		ft_conform_record_step(rec, line, status, 0);
	}
	if (r->evidence && ft_conform_record_outcome(rec) != FT_CONFORM_NOT_RUNNABLE)
		ft_conform_evidence_check(r->evidence, r->part, r->revision, rec, dfu_util);
	if (!cfg->keep_work)
		remove_tree(dir);
}

static void finish_job(run *r, job *j, ft_conform_record *rec)
{
	json_t *entry = scenario_json(r, j->s);
	json_t *body = rec ? ft_conform_record_to_json(rec) : NULL;
	if (entry && body) {
		json_object_del(body, "id");
		json_object_update(entry, body);
	} else if (entry) {
		json_object_set_new(entry, "outcome", json_string("failed"));
		json_object_set_new(entry, "reason", json_string("out of memory while recording"));
		json_object_set_new(entry, "checks", json_array());
		json_object_set_new(entry, "answers", json_object());
		json_object_set_new(entry, "steps", json_array());
	}
	json_decref(body);
	pthread_mutex_lock(&r->lock);
	j->result = entry;
	if (entry && r->cfg->on_result)
		r->cfg->on_result(r->cfg->user, entry);
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	run *r = arg;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		size_t i = r->next < r->count ? r->next++ : r->count;
		pthread_mutex_unlock(&r->lock);
		if (i == r->count)
			return NULL;
		job *j = &r->jobs[i];
		ft_conform_record *rec = ft_conform_record_new(j->s->id);
		uint64_t start = now_ns();
		if (rec && j->blocked[0])
			ft_conform_record_not_runnable(rec, "%s", j->blocked);
		else if (rec)
			run_scenario(r, j, rec);
		if (rec)
			ft_conform_record_set_duration(rec, now_ns() - start);
		finish_job(r, j, rec);
		ft_conform_record_free(rec);
	}
}

/* ---- CUnit replay ------------------------------------------------------------------------ */

/* CUnit calls test functions without arguments, so the replay reaches the run's results through
 * this pointer, set only while ft_conform_run's CUnit phase runs (CUnit's own registry is
 * process-wide state already; ft_conform_run is documented as not reentrant). */
static _Thread_local const run *replaying;

static void replay(void)
{
	const CU_pTest test = CU_get_current_test();
	const run *r = replaying;
	for (size_t i = 0; r && test && i < r->count; i++) {
		const json_t *e = r->jobs[i].result;
		const char *id = json_string_value(json_object_get(e, "id"));
		size_t len = id ? strlen(id) : 0;
		if (!id || strncmp(test->pName, id, len) != 0 || test->pName[len] != ' ')
			continue;
		size_t k;
		json_t *c;
		json_array_foreach(json_object_get(e, "checks"), k, c)
		{
			char msg[512];
			snprintf(msg, sizeof(msg), "%s: %s",
			         json_string_value(json_object_get(c, "what")),
			         json_string_value(json_object_get(c, "detail")));
			CU_assertImplementation(json_is_true(json_object_get(c, "ok")), 0, msg, id,
			                        "", CU_FALSE);
		}
		const char *outcome = json_string_value(json_object_get(e, "outcome"));
		if (outcome && strcmp(outcome, "failed") == 0) {
			const char *reason = json_string_value(json_object_get(e, "reason"));
			CU_assertImplementation(CU_FALSE, 0, reason ? reason : "failed", id, "",
			                        CU_FALSE);
		}
		return;
	}
	CU_assertImplementation(CU_FALSE, 0, "no record for this test", "runner", "", CU_FALSE);
}

/* Registers a suite per section and a test per scenario, runs them (CUnit's core runner, which
 * prints nothing) and stores the summary in *summary. */
static ft_error cunit_replay(run *r, json_t **summary, ft_diag *diag)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return ft_diag_set(diag, FT_ERR_STATE, "CUnit", "%s", CU_get_error_msg());
	ft_error err = FT_OK;
	CU_set_fail_on_inactive(CU_FALSE);
	for (int sec = 0; sec < FT_CONFORM_SECTION_COUNT && err == FT_OK; sec++) {
		CU_pSuite suite = NULL;
		for (size_t i = 0; i < r->count && err == FT_OK; i++) {
			const job *j = &r->jobs[i];
			if ((int)j->s->section != sec)
				continue;
			if (!suite)
				suite = CU_add_suite(
				    ft_conform_section_title((ft_conform_section)sec), NULL, NULL);
			char name[256];
			snprintf(name, sizeof(name), "%s %s", j->s->id, j->s->title);
			CU_pTest test = suite ? CU_add_test(suite, name, replay) : NULL;
			if (!test) {
				err = ft_diag_set(diag, FT_ERR_STATE, "CUnit", "%s",
				                  CU_get_error_msg());
				break;
			}
			const char *outcome =
			    json_string_value(json_object_get(j->result, "outcome"));
			if (outcome && strcmp(outcome, "not-runnable") == 0)
				CU_set_test_active(test, CU_FALSE);
		}
	}
	if (err == FT_OK) {
		replaying = r;
		CU_ErrorCode ran = CU_run_all_tests();
		replaying = NULL;
		if (ran != CUE_SUCCESS)
			err = ft_diag_set(diag, FT_ERR_STATE, "CUnit", "%s", CU_get_error_msg());
	}
	if (err == FT_OK) {
		const CU_RunSummary *sum = CU_get_run_summary();
		*summary = json_pack(
		    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "suites",
		    (json_int_t)CU_get_registry()->uiNumberOfSuites, "tests",
		    (json_int_t)CU_get_registry()->uiNumberOfTests, "run",
		    (json_int_t)sum->nTestsRun, "failed", (json_int_t)sum->nTestsFailed, "inactive",
		    (json_int_t)sum->nTestsInactive, "asserts", (json_int_t)sum->nAsserts,
		    "asserts_failed", (json_int_t)sum->nAssertsFailed);
		if (!*summary)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, "CUnit", "out of memory");
	}
	CU_cleanup_registry();
	return err;
}

/* ---- Setting up and tearing down ---------------------------------------------------------- */

static ft_error prepare(run *r, const ft_conform_run_config *cfg, bool probe, ft_diag *diag)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	if (!cfg->board_file || !cfg->flashtwin || !cfg->fixtures)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "board file, flashtwin and fixtures are required");
	if (cfg->client == FT_CONFORM_CLIENT_DFU_UTIL && !cfg->dfu_util)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--client",
		                   "the dfu-util client needs the dfu-util binary");
	ft_error err = board_part(cfg, &r->part, &r->revision, r->external_flash,
	                          sizeof(r->external_flash), diag);
	if (err != FT_OK)
		return err;
	if (probe) {
		r->features = ft_conform_features_probe(
		    cfg->flashtwin, cfg->target.kind == FT_CONFORM_TARGET_EMU ? cfg->emu : NULL,
		    cfg->client == FT_CONFORM_CLIENT_DFU_UTIL ? cfg->dfu_util : NULL);
		if (!r->features)
			return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	}
	return select_jobs(r, diag);
}

static void release(run *r)
{
	for (size_t i = 0; r->jobs && i < r->count; i++)
		json_decref(r->jobs[i].result);
	free(r->jobs);
	ft_conform_features_free(r->features);
	ft_conform_evidence_free(r->evidence);
}

ft_error ft_conform_list(const ft_conform_run_config *config, json_t **list, ft_diag *diag)
{
	run r;
	ft_error err = prepare(&r, config, true, diag);
	json_t *a = err == FT_OK ? json_array() : NULL;
	if (err == FT_OK && !a)
		err = ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	for (size_t i = 0; err == FT_OK && i < r.count; i++) {
		const job *j = &r.jobs[i];
		json_t *e = json_pack(
		    "{s:s, s:s, s:s, s:b, s:s}", "id", j->s->id, "title", j->s->title, "section",
		    ft_conform_section_name(j->s->section), "in_catalogue", j->s->in_catalogue,
		    "status", j->blocked[0] ? j->blocked : "runnable");
		if (!e || json_array_append_new(a, e) != 0)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	}
	release(&r);
	if (err != FT_OK) {
		json_decref(a);
		return err;
	}
	*list = a;
	return FT_OK;
}

static ft_error make_work_dir(run *r, ft_diag *diag)
{
	if (r->cfg->work_dir) {
		snprintf(r->work_dir, sizeof(r->work_dir), "%s", r->cfg->work_dir);
		if (mkdir(r->work_dir, 0755) != 0 && errno != EEXIST)
			return ft_diag_set(diag, FT_ERR_IO, r->work_dir, "cannot create: %s",
			                   strerror(errno));
		return FT_OK;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(r->work_dir, sizeof(r->work_dir), "%s/flashtwin-conform-XXXXXX",
	         tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(r->work_dir))
		return ft_diag_set(diag, FT_ERR_IO, r->work_dir, "cannot create: %s",
		                   strerror(errno));
	return FT_OK;
}

static void utc_now(char *buf, size_t cap)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The run document around the finished jobs. */
static json_t *document(const run *r, json_t *cunit, const char *started, uint64_t elapsed_ns)
{
	const ft_conform_run_config *cfg = r->cfg;
	json_t *scenarios = json_array();
	size_t passed = 0, failed = 0, blocked = 0;
	for (size_t i = 0; scenarios && i < r->count; i++) {
		const json_t *e = r->jobs[i].result;
		const char *o = json_string_value(json_object_get(e, "outcome"));
		passed += o && strcmp(o, "passed") == 0;
		failed += !o || strcmp(o, "failed") == 0;
		blocked += o && strcmp(o, "not-runnable") == 0;
		json_array_append(scenarios, (json_t *)e);
	}
	char dev_id[8], rev[2] = {r->revision, '\0'}, shard[32];
	snprintf(dev_id, sizeof(dev_id), "0x%03X", r->part->dev_id);
	snprintf(shard, sizeof(shard), "%u/%u", cfg->shards > 1 ? cfg->shard : 1,
	         cfg->shards > 1 ? cfg->shards : 1);
	json_t *ev = json_pack(
	    "{s:I, s:I}", "documents",
	    (json_int_t)(r->evidence ? ft_conform_evidence_documents(r->evidence) : 0), "items",
	    (json_int_t)(r->evidence ? ft_conform_evidence_items(r->evidence) : 0));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:o, s:o, s:s, s:I, "
	    "s:{s:I, s:I, s:I, s:I}, s:o, s:o}",
	    "flashtwin_conform", FT_CONFORM_VERSION, "kind", "run", "target", cfg->target.spec,
	    "target_kind", ft_conform_target_kind_name(cfg->target.kind), "client",
	    ft_conform_client_label(cfg->client, cfg->target.kind), "board", cfg->target.board,
	    "part", r->part->name, "dev_id", dev_id, "revision", r->revision ? rev : NULL, "filter",
	    cfg->filter ? cfg->filter : "*", "shard", shard, "jobs",
	    (json_int_t)(cfg->jobs ? cfg->jobs : 1), "features",
	    ft_conform_features_json(r->features), "evidence", ev, "started", started,
	    "duration_ms", (json_int_t)((elapsed_ns + 500000u) / 1000000u), "counts", "scenarios",
	    (json_int_t)r->count, "passed", (json_int_t)passed, "failed", (json_int_t)failed,
	    "not_runnable", (json_int_t)blocked, "cunit", cunit, "scenarios", scenarios);
}

ft_error ft_conform_run(const ft_conform_run_config *config, json_t **doc, ft_diag *diag)
{
	*doc = NULL;
	run r;
	ft_error err = prepare(&r, config, true, diag);
	if (err == FT_OK && config->evidence)
		err = ft_conform_evidence_load(config->evidence, &r.evidence, diag);
	if (err == FT_OK)
		err = make_work_dir(&r, diag);
	if (err != FT_OK) {
		release(&r);
		return err;
	}
	char started[32];
	utc_now(started, sizeof(started));
	uint64_t start = now_ns();
	pthread_mutex_init(&r.lock, NULL);
	unsigned jobs = config->jobs ? config->jobs : 1;
	if (config->target.kind != FT_CONFORM_TARGET_EMU)
		jobs = 1;
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	if (jobs > r.count)
		jobs = (unsigned)r.count;
	pthread_t threads[MAX_JOBS];
	unsigned started_threads = 0;
	for (unsigned t = 1; t < jobs; t++)
		if (pthread_create(&threads[started_threads], NULL, worker, &r) == 0)
			started_threads++;
	worker(&r); /* the calling thread is one of the workers */
	for (unsigned t = 0; t < started_threads; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&r.lock);
	if (!config->work_dir && !config->keep_work)
		remove_tree(r.work_dir);

	json_t *cunit = NULL;
	for (size_t i = 0; i < r.count; i++)
		if (!r.jobs[i].result)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	if (err == FT_OK)
		err = cunit_replay(&r, &cunit, diag);
	if (err == FT_OK) {
		*doc = document(&r, cunit, started, now_ns() - start);
		if (!*doc)
			err = ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "out of memory");
	} else {
		json_decref(cunit);
	}
	release(&r);
	return err;
}
