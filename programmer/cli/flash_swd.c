/* flashtwin flash over the debug port: the part identified (or checked) through DBGMCU_IDCODE,
 * then the whole plan carried out by the SWD engine (checks, erase, program, verify: one call
 * that refuses before touching anything), and a reset to start the firmware. */
#include "programmer/cli/cli.h"

#include <string.h>

typedef struct swd_flash {
	ft_cli_swd s;
	char what[3][192]; /* erase, program and verify lines of the progress display */
} swd_flash;

static int swd_check_args(const ft_cli_flash_args *args)
{
	if (args->has_leave_address) {
		ft_cli_error(
		    "flash: over the debug port the firmware starts by a reset from its boot "
		    "address: give --reset-run (or --leave without an address)");
		return FT_EXIT_USAGE;
	}
	return -1;
}

static int swd_connect(const ft_cli_flash_args *args, void *ctx)
{
	ft_cli_swd *s = &((swd_flash *)ctx)->s;
	ft_cli_swd_config cfg = {.verify = args->verify, .reset = args->reset};
	int status = ft_cli_swd_connect(s, &args->dev, &cfg, args->json);
	s->json = false; /* from here on, failures are part of flash's own report */
	s->progress.events = args->json ? stdout : NULL;
	return status;
}

/* ft_swd_connect identified the part, or refused a target unlike --part/--board. */
static const ft_part *swd_part(void *ctx, int *status)
{
	*status = FT_EXIT_OK;
	return ft_swd_get_info(((swd_flash *)ctx)->s.swd)->part;
}

static void swd_print_device(void *ctx, FILE *out)
{
	ft_cli_print_swd(out, &((swd_flash *)ctx)->s, false);
}

static json_t *swd_device_json(void *ctx)
{
	return ft_cli_swd_json(&((swd_flash *)ctx)->s);
}

static void swd_disconnect(void *ctx)
{
	ft_cli_swd_disconnect(&((swd_flash *)ctx)->s);
}

/* ---- the work --------------------------------------------------------------------------- */

/* Bytes of RAM writes among the first written bytes of the plan (writes go in plan order). */
static uint64_t volatile_written(const ft_plan *plan, uint64_t written)
{
	uint64_t at = 0, ram = 0;
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		at += w->size;
		if (!w->persistent && at <= written)
			ram += w->size;
	}
	return ram;
}

/* The phase a failure belongs to: the one last reported, or the next when that one had
 * finished; "check" when it came before anything was reported. */
static const char *failed_phase(const ft_cli_swd *s, const ft_plan *plan)
{
	const ft_plan_totals *t = ft_plan_get_totals(plan);
	switch (s->phase) {
	case FT_SWD_PHASE_ERASE:
		return s->done[FT_SWD_PHASE_ERASE] < t->erase_bytes ? "erase" : "program";
	case FT_SWD_PHASE_PROGRAM:
		return s->done[FT_SWD_PHASE_PROGRAM] < t->write_bytes ? "program" : "verify";
	case FT_SWD_PHASE_VERIFY: return "verify";
	default: return "check";
	}
}

static void failed(swd_flash *f, ft_cli_outcome *o, const char *phase, ft_error err,
                   const ft_diag *diag)
{
	o->failed_phase = phase;
	o->error = *diag;
	o->advice_count = ft_swd_advice_count(f->s.swd);
	for (size_t i = 0; i < o->advice_count; i++)
		snprintf(o->advice[i], sizeof(o->advice[i]), "%s", ft_swd_advice_at(f->s.swd, i));
	o->failure_status = ft_cli_swd_failed(&f->s, err, diag);
}

static void reset_run(swd_flash *f, const ft_cli_flash_args *args, ft_cli_outcome *o)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_swd_reset_run(f->s.swd, &diag);
	if (err != FT_OK) {
		failed(f, o, "reset", err, &diag);
		return;
	}
	o->started = true;
	snprintf(o->start_text, sizeof(o->start_text),
	         "reset     %s; the core runs the firmware from its boot address",
	         args->reset == FT_SWD_RESET_MONITOR ? "by the server's 'monitor reset run'"
	                                             : "through AIRCR.SYSRESETREQ");
}

/* What the external phases cover, for their first lines. */
static void external_what(swd_flash *f, const ft_plan *plan, const ft_stldr *loader)
{
	size_t sectors = 0, writes = 0;
	uint64_t erase = 0, write = 0;
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++)
		if (!ft_plan_erase_at(plan, i)->bank) {
			sectors++;
			erase += ft_plan_erase_at(plan, i)->size;
		}
	for (size_t i = 0; i < ft_plan_write_count(plan); i++)
		if (ft_plan_write_at(plan, i)->external) {
			writes++;
			write += ft_plan_write_at(plan, i)->size;
		}
	char e[24], w[24];
	ft_plan_format_size(erase, e, sizeof(e));
	ft_plan_format_size(write, w, sizeof(w));
	/* DeviceName, not the path, which the summary's loader line gives whole */
	const char *name = ft_stldr_storage_info(loader)->name;
	snprintf(f->what[0], sizeof(f->what[0]), "%zu external sector%s (%s) by %s", sectors,
	         sectors == 1 ? "" : "s", e, name);
	snprintf(f->what[1], sizeof(f->what[1]), "%s in %zu write%s by %s", w, writes,
	         writes == 1 ? "" : "s", name);
	snprintf(f->what[2], sizeof(f->what[2]), "%s read back through %s", w, name);
}

static bool has_external(const ft_plan *plan)
{
	for (size_t i = 0; i < ft_plan_write_count(plan); i++)
		if (ft_plan_write_at(plan, i)->external)
			return true;
	return false;
}

/* The plan's external part, after the internal one: the loader runs on the target. */
static void external_program(swd_flash *f, const ft_cli_flash_args *args, const ft_plan *plan,
                             ft_cli_outcome *o)
{
	ft_cli_swd *s = &f->s;
	uint64_t erased = o->erased, written = o->written, verified = o->verified;
	size_t sectors = o->sectors;
	ft_cli_loader_text(args->stldr, o->loader_text, sizeof(o->loader_text));
	external_what(f, plan, args->stldr);
	memset(s->done, 0, sizeof(s->done));
	memset(s->reports, 0, sizeof(s->reports));
	ft_ldrun *run;
	int status = ft_cli_loader_start(s, args->stldr, plan, &run);
	if (status != FT_EXIT_OK) {
		o->failed_phase = "loader init";
		o->failure_status = status;
		return;
	}
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_ldrun_flash_plan(run, plan, args->verify != FT_SWD_VERIFY_NONE, &diag);
	o->sectors = sectors + s->reports[FT_SWD_PHASE_ERASE];
	o->erased = erased + s->done[FT_SWD_PHASE_ERASE];
	o->written = written + s->done[FT_SWD_PHASE_PROGRAM];
	o->verified = verified + s->done[FT_SWD_PHASE_VERIFY];
	if (err != FT_OK) {
		o->failed_phase =
		    s->phase >= 0 ? ft_swd_phase_name((ft_swd_phase)s->phase) : "erase";
		o->error = diag;
		o->advice_count = ft_ldrun_advice_count(run);
		for (size_t i = 0; i < o->advice_count && i < FT_SWD_MAX_ADVICE; i++)
			snprintf(o->advice[i], sizeof(o->advice[i]), "%s",
			         ft_ldrun_advice_at(run, i));
		o->failure_status = ft_cli_swd_failed(s, err, &diag);
	}
	ft_cli_loader_stop(s, run);
	ft_cli_swd_progress_done(s);
}

static void swd_program(void *ctx, const ft_cli_flash_args *args, const ft_plan *plan,
                        ft_cli_outcome *o)
{
	swd_flash *f = ctx;
	ft_cli_swd *s = &f->s;
	s->plan = plan;
	ft_cli_erase_what(plan, f->what[0], sizeof(f->what[0]));
	ft_cli_write_what(plan, f->what[1], sizeof(f->what[1]));
	ft_cli_verify_what(plan, f->what[2], sizeof(f->what[2]));
	s->what[FT_SWD_PHASE_ERASE] = f->what[0];
	s->what[FT_SWD_PHASE_PROGRAM] = f->what[1];
	s->what[FT_SWD_PHASE_VERIFY] = f->what[2];
	bool crc = args->verify == FT_SWD_VERIFY_CRC;
	if (crc)
		s->what[FT_SWD_PHASE_VERIFY] = "by the flash CRC unit";
	o->verified_by = crc ? "by the flash CRC unit" : "read back";
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_swd_flash_plan(s->swd, plan, &diag);
	o->sectors = s->reports[FT_SWD_PHASE_ERASE];
	o->erased = s->done[FT_SWD_PHASE_ERASE];
	o->written = s->done[FT_SWD_PHASE_PROGRAM];
	o->volatile_bytes = volatile_written(plan, o->written);
	o->verified = s->done[FT_SWD_PHASE_VERIFY];
	if (err != FT_OK) {
		failed(f, o, failed_phase(s, plan), err, &diag);
		return;
	}
	ft_cli_swd_progress_done(s);
	if (args->stldr && has_external(plan)) {
		external_program(f, args, plan, o);
		if (o->failed_phase)
			return;
	}
	if (args->leave)
		reset_run(f, args, o);
}

const ft_cli_flash_route ft_cli_flash_swd = {
    .route = FT_ROUTE_SWD,
    .ctx_size = sizeof(swd_flash),
    .check_args = swd_check_args,
    .connect = swd_connect,
    .part = swd_part,
    .print_device = swd_print_device,
    .device_json = swd_device_json,
    .program = swd_program,
    .disconnect = swd_disconnect,
};
