/* The connection to a target's debug port shared by flash, read, erase, info and ob: opening it
 * through the GDB server, the engine's callbacks (progress, warnings), and failures reported
 * with the engine's advice and what they mean for the device. */
#include "programmer/cli/cli.h"

#include <string.h>

/* A phase's first line: what the command set, else its size. */
static void begin_phase(ft_cli_swd *s, ft_swd_phase phase, uint64_t total)
{
	char size[24];
	ft_plan_format_size(total, size, sizeof(size));
	ft_cli_progress_begin(&s->progress, ft_swd_phase_name(phase), total,
	                      s->what[phase] ? s->what[phase] : size);
	s->phase = (int)phase;
}

/* Erase reports come one per sector: plain output lists them as DFU's erase does. */
static void erase_step(ft_cli_swd *s, const ft_swd_progress *p)
{
	for (size_t i = 0; s->plan && i < ft_plan_erase_count(s->plan); i++) {
		const ft_plan_erase *e = ft_plan_erase_at(s->plan, i);
		if (e->start != p->address)
			continue;
		char line[96];
		ft_cli_erase_step(e, line, sizeof(line));
		ft_cli_progress_step(&s->progress, p->done - s->progress.base, line);
		return;
	}
	ft_cli_progress_report(&s->progress, p->done - s->progress.base);
}

static void on_progress(void *user, const ft_swd_progress *p)
{
	ft_cli_swd *s = user;
	if (s->phase != (int)p->phase) {
		ft_cli_progress_end(&s->progress);
		begin_phase(s, p->phase, p->total);
	}
	s->done[p->phase] = p->done;
	s->reports[p->phase]++;
	if (p->phase == FT_SWD_PHASE_ERASE)
		erase_step(s, p);
	else
		ft_cli_progress_report(&s->progress, p->done);
}

static void on_warning(void *user, const ft_diag *warning)
{
	ft_cli_swd *s = user;
	ft_cli_progress_interrupt(&s->progress);
	ft_cli_warning("%s: %s", warning->origin, warning->message);
}

/* --no-poll-wait: an emulated target in instant timing has finished by the next poll. */
static void no_sleep(void *user, uint32_t ms)
{
	(void)user;
	(void)ms;
}

void ft_cli_swd_progress_done(ft_cli_swd *s)
{
	ft_cli_progress_end(&s->progress);
	s->phase = -1;
}

json_t *ft_cli_swd_advice_json(const ft_cli_swd *s)
{
	json_t *list = json_array();
	size_t swd = s->swd ? ft_swd_advice_count(s->swd) : 0;
	size_t run = s->run ? ft_ldrun_advice_count(s->run) : 0;
	for (size_t i = 0; list && i < swd + run; i++) {
		const char *line =
		    i < swd ? ft_swd_advice_at(s->swd, i) : ft_ldrun_advice_at(s->run, i - swd);
		if (json_array_append_new(list, json_string(line)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* What a failure means for the device, after the engine's own words. */
static const char *meaning(ft_error err)
{
	switch (ft_cli_exit_status(err)) {
	case FT_EXIT_CONNECT: return "the connection to the GDB server failed";
	case FT_EXIT_USAGE: return NULL;
	default: break;
	}
	switch (err) {
	case FT_ERR_DEVICE: return "device failure: the target reported an error";
	case FT_ERR_VERIFY: return "device failure: the target does not hold what was written";
	case FT_ERR_TIMEOUT: return "device failure: the target did not finish in time";
	case FT_ERR_LOCKED: return "device failure: the flash controller stayed locked";
	default: return NULL; /* a refusal: the engine says nothing was touched */
	}
}

int ft_cli_swd_failed(ft_cli_swd *s, ft_error err, const ft_diag *diag)
{
	ft_cli_swd_progress_done(s);
	int status = ft_cli_exit_status(err);
	ft_cli_diag(NULL, diag);
	for (size_t i = 0; s->swd && i < ft_swd_advice_count(s->swd); i++)
		fprintf(stderr, "flashtwin:   %s\n", ft_swd_advice_at(s->swd, i));
	for (size_t i = 0; s->run && i < ft_ldrun_advice_count(s->run); i++)
		fprintf(stderr, "flashtwin:   %s\n", ft_ldrun_advice_at(s->run, i));
	const char *what = meaning(err);
	if (what)
		ft_cli_error("%s: %s", s->command, what);
	if (s->json) {
		json_t *root = ft_cli_error_json(s->command, NULL, diag, status);
		if (root)
			json_object_set_new(root, "advice", ft_cli_swd_advice_json(s));
		ft_cli_report_json(stdout, s->command, root);
	}
	return status;
}

int ft_cli_swd_connect(ft_cli_swd *s, const ft_cli_device_args *dev, const ft_cli_swd_config *cfg,
                       bool json)
{
	memset(s, 0, sizeof(*s));
	s->command = dev->command;
	s->conn = dev->conn;
	s->json = json;
	s->phase = -1;
	ft_cli_progress_init(&s->progress);
	s->options.gdb.timeout_ms = dev->timeout_ms;
	s->options.expect = dev->given;
	s->options.verify = cfg->verify;
	s->options.reset = cfg->reset;
	s->options.reset_command = "reset run"; /* OpenOCD and pyOCD (docs/gdb.md) */
	s->options.sleep_ms = dev->no_poll_wait ? no_sleep : NULL;
	s->options.progress = on_progress;
	s->options.warning = on_warning;
	s->options.user = s;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_swd_open(dev->conn, &s->options, &s->swd, &diag);
	if (err != FT_OK) {
		int status =
		    err == FT_ERR_FORMAT || err == FT_ERR_RANGE || err == FT_ERR_UNSUPPORTED
		        ? FT_EXIT_USAGE
		        : FT_EXIT_CONNECT;
		ft_diag shown;
		ft_diag_set(&shown, err, diag.origin, "%s %s: %s",
		            status == FT_EXIT_USAGE ? "bad connection string" : "cannot connect to",
		            dev->conn, diag.message);
		if (json)
			ft_cli_render_error_json(stdout, s->command, NULL, &shown, status);
		ft_cli_error("%s: %s", s->command, shown.message);
		return status;
	}
	err = ft_swd_connect(s->swd, &diag);
	if (err != FT_OK) {
		int status = ft_cli_swd_failed(s, err, &diag);
		ft_cli_swd_disconnect(s);
		return status;
	}
	return FT_EXIT_OK;
}

void ft_cli_swd_disconnect(ft_cli_swd *s)
{
	ft_cli_swd_progress_done(s);
	ft_swd_close(s->swd);
	s->swd = NULL;
}
