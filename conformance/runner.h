/* The conformance runner: selects scenarios (filter, shard), decides which can run on the target
 * (target kind, emu-only, the part, the features the tools offer), runs them in parallel (one
 * emulator instance each on emu: targets), checks device answers against the evidence, then
 * replays every record through CUnit (one suite per catalogue section, one test per scenario,
 * not-runnable scenarios registered as inactive tests) and returns the run as one JSON document.
 *
 * The run document (also what `--json FILE` writes; docs/conformance.md describes it):
 *   {"flashtwin_conform": VERSION, "kind": "run", "target", "target_kind", "client", "board",
 *    "part", "dev_id", "revision", "filter", "shard", "jobs", "features": {...},
 *    "evidence": {"documents", "items"}, "started", "duration_ms",
 *    "counts": {"scenarios", "passed", "failed", "not_runnable"},
 *    "cunit": {"suites", "tests", "run", "failed", "inactive", "asserts", "asserts_failed"},
 *    "scenarios": [{"id", "title", "section", "in_catalogue", "emu_only", "device", "needs",
 *                   "switches", "client", "outcome", "reason", "duration_ms", "checks",
 *                   "answers", "steps"}]}
 * The run's "client" is the label of conformance/client.h its device scenarios carry
 * ("flashtwin-usbip", "flashtwin-libusb", "dfu-util"); a scenario's "client" is that label, or
 * null when the scenario talks to no device.
 *
 * With the dfu-util client, a device scenario runs its run_dfu_util function; one without is
 * not runnable ("needs-client-flashtwin"), and on targets other than usb every device scenario
 * is "needs-target-usb". The scenario's needs are flashtwin features: the dfu-util client needs
 * the "dfu-util" feature instead.
 *
 * Threads: ft_conform_run starts jobs worker threads and joins them before returning. It uses
 * CUnit's registry, which is process-wide: never call it from two threads at once. Library code:
 * never prints; progress goes through on_result.
 */
#ifndef FT_CONFORM_RUNNER_H
#define FT_CONFORM_RUNNER_H

#include <jansson.h>
#include <stdbool.h>

#include "conformance/client.h"
#include "conformance/features.h"
#include "conformance/target.h"
#include "models/error.h"

#define FT_CONFORM_VERSION "0.1.0"

typedef struct ft_conform_run_config {
	ft_conform_target target;
	const char *board_file; /* the target board's file (resolved path); required */
	const char *filter; /* glob list over IDs and titles (scenario.h); NULL: every scenario */
	unsigned jobs;      /* scenarios in parallel; 0 means 1; real targets always use 1 */
	unsigned shard, shards; /* run shard (1-based) of shards; shards 0 or 1: everything */
	const char *flashtwin;  /* the flashtwin binary; required */
	const char *emu;        /* flashtwin-emu; NULL when not built */
	const char *fixtures;   /* the fixtures directory; required */
	const char *evidence;   /* the evidence directory; NULL: none */
	const char *work_dir;   /* NULL: a new directory under $TMPDIR (or /tmp) */
	bool keep_work;         /* keep the work directory (inputs, emulator logs and state) */
	const char *const *emu_extra; /* arguments added to every emulator instance, NULL-ended */
	ft_conform_client client;     /* who talks to the device in device scenarios */
	const char *dfu_util;         /* the dfu-util binary; required for the dfu-util client */
	/* Called once per scenario as it finishes, serialised (never two calls at once), from a
	 * worker thread; scenario is that scenario's entry of the run document. Optional. */
	void (*on_result)(void *user, const json_t *scenario);
	void *user;
} ft_conform_run_config;

/* The selected scenarios and what stops each from running here, without running any:
 * [{"id", "title", "section", "in_catalogue", "status"}] where status is "runnable",
 * "emu-only", "needs-feature-X[,Y]", "needs-target-KIND" or "not-applicable: WHY". Returns FT_OK
 * with *list (a new reference); FT_ERR_NOT_FOUND / FT_ERR_FORMAT for the board file;
 * FT_ERR_NO_MEM. */
ft_error ft_conform_list(const ft_conform_run_config *config, json_t **list, ft_diag *diag);

/* Runs the selected scenarios. Returns FT_OK with *doc, the run document, whatever the
 * scenarios' outcomes; FT_ERR_INVALID_ARG (configuration), FT_ERR_NOT_FOUND (board, part or no
 * scenario selected), FT_ERR_FORMAT (board file or evidence), FT_ERR_IO (work directory),
 * FT_ERR_NO_MEM, FT_ERR_STATE (CUnit could not be set up). */
ft_error ft_conform_run(const ft_conform_run_config *config, json_t **doc, ft_diag *diag);

#endif
