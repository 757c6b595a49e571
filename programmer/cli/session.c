/* The connection to a DFU device shared by flash, read, erase and info: opening it, the
 * engine's callbacks (progress, warnings, polling), placing a failure, naming the part. */
#include "programmer/cli/cli.h"

#include <string.h>

static void on_progress(void *user, const ft_dfuse_progress *progress)
{
	ft_cli_session *s = user;
	s->last_done = (uint32_t)progress->done;
	ft_cli_progress_report(&s->progress, progress->done);
}

static void on_warning(void *user, const ft_diag *warning)
{
	ft_cli_session *s = user;
	ft_cli_progress_interrupt(&s->progress);
	ft_cli_warning("%s: %s", warning->origin, warning->message);
}

/* --no-poll-wait: an emulated board in instant timing has finished by the next GETSTATUS. */
static void no_sleep(void *user, uint32_t ms)
{
	(void)user;
	(void)ms;
}

static int connect_failed(const ft_cli_session *s, const char *what, const ft_diag *diag, bool json,
                          int status)
{
	if (json) {
		ft_diag shown;
		ft_diag_set(&shown, diag->code, diag->origin, "%s %s: %s", what, s->conn,
		            diag->message);
		ft_cli_render_error_json(stdout, s->command, NULL, &shown, status);
	}
	ft_cli_error("%s: %s %s: %s", s->command, what, s->conn, diag->message);
	return status;
}

static int open_dfu(ft_cli_session *s, bool json)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_dfuse_open(s->transport, &s->options, &s->dev, &diag) != FT_OK)
		return connect_failed(s, "no usable DFU device at", &diag, json, FT_EXIT_CONNECT);
	return FT_EXIT_OK;
}

int ft_cli_connect(ft_cli_session *s, const char *command, const char *conn, bool no_poll_wait,
                   bool json)
{
	memset(s, 0, sizeof(*s));
	s->command = command;
	s->conn = conn;
	ft_cli_progress_init(&s->progress);
	s->options.progress = on_progress;
	s->options.warning = on_warning;
	s->options.user = s;
	if (no_poll_wait)
		s->options.sleep_ms = no_sleep;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_transport_address addr;
	if (ft_transport_parse(conn, &addr, &diag) != FT_OK)
		return connect_failed(s, "bad connection string", &diag, json, FT_EXIT_USAGE);
	ft_error err = ft_transport_open(conn, &s->transport, &diag);
	if (err != FT_OK) {
		if (err == FT_ERR_IO && addr.kind == FT_TRANSPORT_USBIP)
			snprintf(diag.message + strlen(diag.message),
			         sizeof(diag.message) - strlen(diag.message),
			         " (is flashtwin-emu or usbipd serving there?)");
		return connect_failed(s, "cannot connect to", &diag, json, FT_EXIT_CONNECT);
	}
	int status = open_dfu(s, json);
	if (status != FT_EXIT_OK) {
		ft_transport_close(s->transport);
		s->transport = NULL;
	}
	return status;
}

int ft_cli_force_layouts(ft_cli_session *s, bool json)
{
	ft_dfuse_close(s->dev);
	s->dev = NULL;
	s->options.force = true;
	return open_dfu(s, json);
}

void ft_cli_disconnect(ft_cli_session *s)
{
	ft_cli_progress_end(&s->progress);
	ft_dfuse_close(s->dev);
	ft_transport_close(s->transport);
	s->dev = NULL;
	s->transport = NULL;
}

ft_error ft_cli_select_alt_for(ft_cli_session *s, uint32_t addr, ft_diag *diag)
{
	int alt = ft_dfuse_find_alt(s->dev, addr);
	if (alt < 0 || (size_t)alt == ft_dfuse_current_alt(s->dev))
		return FT_OK;
	return ft_dfuse_select_alt(s->dev, (size_t)alt, diag);
}

void ft_cli_step_start(ft_cli_session *s, uint32_t addr)
{
	s->step_address = addr;
	s->last_done = 0;
}

uint32_t ft_cli_failed_address(const ft_cli_session *s)
{
	return s->step_address + s->last_done;
}

void ft_cli_device_error(ft_cli_session *s, const ft_diag *diag, const char *where)
{
	ft_cli_progress_interrupt(&s->progress);
	ft_diag shown = *diag;
	if (where && where[0]) {
		size_t used = strlen(shown.message);
		snprintf(shown.message + used, sizeof(shown.message) - used, " (%s)", where);
	}
	ft_cli_diag(NULL, &shown);
}

/* ---- which part ------------------------------------------------------------------------- */

void ft_cli_identify(const ft_cli_session *s, const ft_part *given, ft_cli_identity *out)
{
	memset(out, 0, sizeof(*out));
	const ft_dfuse_device_info *info = ft_dfuse_info(s->dev);
	out->candidate_count = ft_dfuse_identify(info, out->candidates, FT_CLI_MAX_CANDIDATES);
	if (given) {
		out->part = given;
		out->given = true;
		out->agreement = ft_dfuse_compare_part(info, given, &out->quirk, out->disagreement,
		                                       sizeof(out->disagreement));
		return;
	}
	if (out->candidate_count == 0) {
		out->agreement = FT_DFUSE_DISAGREES;
		const ft_dfuse_alt *a = info->alt_count ? &info->alts[0] : NULL;
		snprintf(out->disagreement, sizeof(out->disagreement),
		         "no part of the table reports %04x:%04x with alt 0 \"%s\"", info->vid,
		         info->pid, a ? a->name : "");
		return;
	}
	const ft_dfuse_candidate *c = &out->candidates[0];
	out->part = c->part;
	out->agreement = c->agreement;
	out->quirk = c->quirk;
	if (c->quirk)
		ft_dfuse_compare_part(info, c->part, NULL, out->disagreement,
		                      sizeof(out->disagreement));
}

int ft_cli_settle_part(ft_cli_session *s, const ft_part *given, bool json, ft_cli_identity *id)
{
	ft_cli_identify(s, given, id);
	ft_cli_identity_warn(id);
	if (id->agreement == FT_DFUSE_KNOWN_QUIRK)
		return ft_cli_force_layouts(s, json);
	return FT_EXIT_OK;
}

void ft_cli_identity_warn(const ft_cli_identity *id)
{
	switch (id->agreement) {
	case FT_DFUSE_AGREES: return;
	case FT_DFUSE_KNOWN_QUIRK:
		ft_cli_warning("%s; this is the %s ROM quirk (%s): using the part table",
		               id->disagreement, id->quirk->name, id->quirk->source);
		return;
	case FT_DFUSE_DISAGREES:
		if (id->part)
			ft_cli_warning("the device does not look like %s: %s", id->part->name,
			               id->disagreement);
		else
			ft_cli_warning("cannot tell the part: %s", id->disagreement);
		return;
	}
}

void ft_cli_candidates_text(const ft_cli_identity *id, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	size_t shown = id->candidate_count < FT_CLI_MAX_CANDIDATES ? id->candidate_count
	                                                           : FT_CLI_MAX_CANDIDATES;
	for (size_t i = 0; i < shown && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                 id->candidates[i].part->name);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}
