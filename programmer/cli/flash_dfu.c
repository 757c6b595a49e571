/* flashtwin flash over USB DFU: the part settled against the DFU descriptor, then erase by
 * address, download, read back through DfuSe UPLOAD and compare, and leave. */
#include "programmer/cli/cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct dfu_flash {
	ft_cli_session session;
	ft_cli_identity id;
} dfu_flash;

static int dfu_check_args(const ft_cli_flash_args *args)
{
	if (args->verify == FT_SWD_VERIFY_CRC)
		return ft_cli_route_only(&args->dev, "--verify crc", FT_CLI_SWD);
	if (args->reset != FT_SWD_RESET_AIRCR)
		return ft_cli_route_only(&args->dev, "--reset", FT_CLI_SWD);
	if (args->loader)
		return ft_cli_route_only(&args->dev, "--loader", FT_CLI_SWD);
	return -1;
}

static int dfu_connect(const ft_cli_flash_args *args, void *ctx)
{
	dfu_flash *d = ctx;
	int status = ft_cli_open_dfu(&d->session, &args->dev, args->json, &d->id);
	d->session.progress.events = args->json ? stdout : NULL;
	return status;
}

static const ft_part *dfu_part(void *ctx, int *status)
{
	dfu_flash *d = ctx;
	*status = FT_EXIT_REFUSED;
	if (!d->id.part) {
		ft_cli_error("flash: cannot tell which part this is; give --part or --board "
		             "(nothing was touched)");
		return NULL;
	}
	if (d->id.given && d->id.agreement == FT_DFUSE_DISAGREES) {
		ft_cli_error("flash: refusing to program a device that does not match %s: erases "
		             "would follow another sector map (nothing was touched); check "
		             "--part/--board, or leave them out to go by the descriptor",
		             d->id.part->name);
		return NULL;
	}
	return d->id.part;
}

static void dfu_print_device(void *ctx, FILE *out)
{
	dfu_flash *d = ctx;
	ft_cli_print_device(out, &d->session, &d->id, false);
}

static json_t *dfu_device_json(void *ctx)
{
	dfu_flash *d = ctx;
	return ft_cli_device_json(&d->session, &d->id);
}

static void dfu_disconnect(void *ctx)
{
	ft_cli_disconnect(&((dfu_flash *)ctx)->session);
}

/* ---- the work --------------------------------------------------------------------------- */

static void device_failed(ft_cli_session *s, const ft_plan *plan, ft_cli_outcome *o,
                          const char *phase, const ft_diag *diag)
{
	o->failed_phase = phase;
	o->error = *diag;
	o->has_address = true;
	o->address = ft_cli_failed_address(s);
	ft_cli_locate(plan, NULL, o->address, o->where, sizeof(o->where));
	ft_cli_device_error(s, diag, o->where);
}

static bool erase(ft_cli_session *s, const ft_plan *plan, ft_cli_outcome *o)
{
	char what[64];
	ft_cli_erase_what(plan, what, sizeof(what));
	ft_cli_progress_begin(&s->progress, "erase", ft_plan_get_totals(plan)->erase_bytes, what);
	for (size_t i = 0; i < ft_plan_erase_count(plan); i++) {
		const ft_plan_erase *e = ft_plan_erase_at(plan, i);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_cli_step_start(s, e->start);
		if (ft_cli_select_alt_for(s, e->start, &diag) != FT_OK ||
		    ft_dfuse_erase_sector(s->dev, e->start, &diag) != FT_OK) {
			device_failed(s, plan, o, "erase", &diag);
			return false;
		}
		char line[96];
		ft_cli_erase_step(e, line, sizeof(line));
		ft_cli_progress_step(&s->progress, e->size, line);
		o->sectors++;
		o->erased += e->size;
	}
	ft_cli_progress_end(&s->progress);
	return true;
}

static bool download(ft_cli_session *s, const ft_plan *plan, ft_cli_outcome *o)
{
	char what[64];
	ft_cli_write_what(plan, what, sizeof(what));
	ft_cli_progress_begin(&s->progress, "download", ft_plan_get_totals(plan)->write_bytes,
	                      what);
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_cli_step_start(s, w->start);
		if (ft_cli_select_alt_for(s, w->start, &diag) != FT_OK ||
		    ft_dfuse_write(s->dev, w->start, w->data, w->size, &diag) != FT_OK) {
			device_failed(s, plan, o, "download", &diag);
			return false;
		}
		char line[96], range[40], size[24];
		ft_cli_range_text(range, sizeof(range), w->start, w->size);
		ft_plan_format_size(w->size, size, sizeof(size));
		snprintf(line, sizeof(line), "%s  %s", range, size);
		ft_cli_progress_step(&s->progress, w->size, line);
		o->written += w->size;
	}
	ft_cli_progress_end(&s->progress);
	return true;
}

/* The bytes the plan writes to [v->start, v->start + v->size). */
static void expected_bytes(const ft_plan *plan, const ft_range *v, uint8_t *out)
{
	memset(out, 0xFF, v->size);
	for (size_t i = 0; i < ft_plan_write_count(plan); i++) {
		const ft_plan_write *w = ft_plan_write_at(plan, i);
		uint64_t lo = w->start > v->start ? w->start : v->start;
		uint64_t hi_w = (uint64_t)w->start + w->size, hi_v = (uint64_t)v->start + v->size;
		uint64_t hi = hi_w < hi_v ? hi_w : hi_v;
		if (lo < hi)
			memcpy(out + (lo - v->start), w->data + (lo - w->start), (size_t)(hi - lo));
	}
}

static void compare(const ft_plan *plan, const ft_range *v, const uint8_t *want, const uint8_t *got,
                    ft_cli_outcome *o)
{
	for (uint32_t i = 0; i < v->size; i++) {
		if (want[i] == got[i])
			continue;
		if (o->mismatch_count < FT_CLI_MAX_MISMATCHES) {
			ft_cli_mismatch *m = &o->mismatches[o->mismatch_count];
			m->addr = v->start + i;
			m->expected = want[i];
			m->actual = got[i];
			ft_cli_locate(plan, NULL, m->addr, m->where, sizeof(m->where));
		}
		o->mismatch_count++;
	}
}

static bool verify(ft_cli_session *s, const ft_plan *plan, ft_cli_outcome *o)
{
	size_t count = ft_plan_verify_count(plan);
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += ft_plan_verify_at(plan, i)->size;
	char what[64];
	ft_cli_verify_what(plan, what, sizeof(what));
	ft_cli_progress_begin(&s->progress, "verify", total, what);
	for (size_t i = 0; i < count; i++) {
		const ft_range *v = ft_plan_verify_at(plan, i);
		uint8_t *want = malloc(v->size ? v->size : 1), *got = malloc(v->size ? v->size : 1);
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_error err = !want || !got
		                   ? ft_diag_set(&diag, FT_ERR_NO_MEM, NULL, "out of memory")
		                   : FT_OK;
		ft_cli_step_start(s, v->start);
		if (!err)
			err = ft_cli_select_alt_for(s, v->start, &diag);
		if (!err)
			err = ft_dfuse_read(s->dev, v->start, got, v->size, &diag);
		if (!err) {
			size_t before = o->mismatch_count;
			expected_bytes(plan, v, want);
			compare(plan, v, want, got, o);
			o->verified += v->size;
			char line[96], range[40];
			ft_cli_range_text(range, sizeof(range), v->start, v->size);
			snprintf(line, sizeof(line), "%s  %s", range,
			         o->mismatch_count == before ? "identical" : "DIFFERS");
			ft_cli_progress_step(&s->progress, v->size, line);
		}
		free(want);
		free(got);
		if (err) {
			device_failed(s, plan, o, "verify", &diag);
			return false;
		}
	}
	ft_cli_progress_end(&s->progress);
	return o->mismatch_count == 0;
}

static bool leave(ft_cli_session *s, const ft_cli_flash_args *args, const ft_plan *plan,
                  ft_cli_outcome *o)
{
	o->start_address = args->has_leave_address ? args->leave_address : ft_cli_vector_base(plan);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_cli_step_start(s, o->start_address);
	if (ft_dfuse_leave(s->dev, o->start_address, &diag) != FT_OK) {
		device_failed(s, plan, o, "leave", &diag);
		return false;
	}
	o->started = true;
	o->has_start_address = true;
	snprintf(o->start_text, sizeof(o->start_text),
	         "left      DFU mode; the device starts from the vector table at 0x%08X",
	         o->start_address);
	return true;
}

static void dfu_program(void *ctx, const ft_cli_flash_args *args, const ft_plan *plan,
                        ft_cli_outcome *o)
{
	ft_cli_session *s = &((dfu_flash *)ctx)->session;
	if (!erase(s, plan, o) || !download(s, plan, o))
		return;
	if (!args->no_verify && !verify(s, plan, o)) {
		if (!o->failed_phase)
			o->failed_phase = "verify";
		return;
	}
	if (args->leave)
		leave(s, args, plan, o);
}

const ft_cli_flash_route ft_cli_flash_dfu = {
    .route = FT_ROUTE_DFU,
    .ctx_size = sizeof(dfu_flash),
    .check_args = dfu_check_args,
    .connect = dfu_connect,
    .part = dfu_part,
    .print_device = dfu_print_device,
    .device_json = dfu_device_json,
    .program = dfu_program,
    .disconnect = dfu_disconnect,
};
