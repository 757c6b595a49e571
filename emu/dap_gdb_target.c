/* The debug port's target through a GDB server (dap_gdb_target.h). */
#include "emu/dap_gdb_target.h"

#include <stdlib.h>

/* SCB AIRCR: VECTKEY 0x05FA in b31:16 with SYSRESETREQ b2 (ARMv7-M ARM B3.2.6). */
#define AIRCR          0xE000ED0Cu
#define AIRCR_SYSRESET ((0x05FAu << 16) | (1u << 2))

/* Quirk qemu-no-bkpt-halt: QEMU's gdbstub does not stop on a BKPT instruction (QEMU 7.2 takes
 * it as a DebugMonitor exception, which escalates to HardFault), where a core under a debugger
 * halts. OpenOCD's flash algorithms end on one. Before every resume the BKPT encodings
 * (0xBExx, ARMv7-M ARM A7.7.17) in the BKPT_WINDOW bytes from PC get hardware breakpoints, taken
 * away at the next stop: the core then halts on the instruction, as silicon does. One on a
 * literal or the second half of a 32-bit instruction is never reached, so it is harmless. */
#define BKPT_WINDOW 512u
#define BKPT_MAX    16u

struct ft_dap_gdb_target {
	ft_gdb *gdb;
	bool running;
	uint32_t bkpt[BKPT_MAX]; /* breakpoints set for the quirk */
	unsigned bkpts;
};

static void catch_bkpts(ft_dap_gdb_target *t)
{
	uint32_t pc;
	uint8_t code[BKPT_WINDOW];
	ft_diag d;
	ft_diag_clear(&d);
	if (ft_gdb_read_reg(t->gdb, FT_GDB_PC, &pc, &d) != FT_OK)
		return; /* nothing to catch: the resume reports what is wrong */
	pc &= ~1u;
	if (pc > UINT32_MAX - BKPT_WINDOW ||
	    ft_gdb_read_mem(t->gdb, pc, code, sizeof(code), &d) != FT_OK)
		return;
	for (unsigned i = 0; i + 1 < sizeof(code) && t->bkpts < BKPT_MAX; i += 2) {
		if (code[i + 1] == 0xBE &&
		    ft_gdb_set_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, pc + i, &d) == FT_OK)
			t->bkpt[t->bkpts++] = pc + i;
	}
}

/* The core stopped for the debugger: the quirk's breakpoints go. */
static void stopped(ft_dap_gdb_target *t)
{
	t->running = false;
	ft_diag d;
	ft_diag_clear(&d);
	for (unsigned i = 0; i < t->bkpts; i++)
		(void)ft_gdb_clear_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, t->bkpt[i], &d);
	t->bkpts = 0;
}

/* The GDB server answers nothing but an interrupt while the core runs: stop it first. */
static ft_error stop_for_access(ft_dap_gdb_target *t, bool *was_running, ft_diag *diag)
{
	*was_running = t->running;
	if (!t->running)
		return FT_OK;
	ft_gdb_stop stop;
	ft_error err = ft_gdb_interrupt(t->gdb, 2000, &stop, diag);
	if (err == FT_OK)
		t->running = false; /* for a moment: the quirk's breakpoints stay */
	return err;
}

static ft_error restart(ft_dap_gdb_target *t, bool was_running, ft_error err, ft_diag *diag)
{
	if (!was_running)
		return err;
	ft_diag d;
	ft_diag_clear(&d);
	ft_error rerr = ft_gdb_resume(t->gdb, &d);
	if (rerr == FT_OK)
		t->running = true;
	else if (err == FT_OK)
		*diag = d;
	return err != FT_OK ? err : rerr;
}

static ft_error gt_read(void *ctx, uint32_t addr, unsigned len, uint32_t *value, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	uint8_t b[4] = {0};
	err = ft_gdb_read_mem(t->gdb, addr, b, len, diag);
	*value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return restart(t, was, err, diag);
}

static ft_error gt_write(void *ctx, uint32_t addr, unsigned len, uint32_t value, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
	                (uint8_t)(value >> 24)};
	err = ft_gdb_write_mem(t->gdb, addr, b, len, diag);
	return restart(t, was, err, diag);
}

static ft_error gt_halt(void *ctx, ft_diag *diag)
{
	bool was;
	ft_error err = stop_for_access(ctx, &was, diag);
	if (err == FT_OK)
		stopped(ctx);
	return err;
}

static ft_error gt_resume(void *ctx, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	if (t->running)
		return FT_OK;
	catch_bkpts(t);
	ft_error err = ft_gdb_resume(t->gdb, diag);
	if (err == FT_OK)
		t->running = true;
	return err;
}

static ft_error gt_step(void *ctx, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	ft_error err = gt_halt(t, diag);
	ft_gdb_stop stop;
	return err != FT_OK ? err : ft_gdb_step(t->gdb, &stop, diag);
}

static ft_error gt_poll(void *ctx, bool *halted, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	if (t->running) {
		ft_gdb_stop stop;
		ft_error err = ft_gdb_wait_stop(t->gdb, 0, &stop, diag);
		if (err == FT_OK)
			stopped(t);
		else if (err != FT_ERR_TIMEOUT)
			return err;
	}
	*halted = !t->running;
	return FT_OK;
}

static ft_error gt_read_reg(void *ctx, ft_gdb_reg reg, uint32_t *value, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = ft_gdb_read_reg(t->gdb, reg, value, diag);
	return restart(t, was, err, diag);
}

static ft_error gt_write_reg(void *ctx, ft_gdb_reg reg, uint32_t value, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = ft_gdb_write_reg(t->gdb, reg, value, diag);
	return restart(t, was, err, diag);
}

/* SYSRESETREQ through the GDB server (flashtwin's QEMU overlay routes debugger writes to AIRCR;
 * docs/gdb.md); QEMU keeps a stopped machine stopped across the reset. */
static ft_error gt_reset(void *ctx, bool halt, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	ft_error err = gt_halt(t, diag);
	if (err == FT_OK)
		err = ft_gdb_write_u32(t->gdb, AIRCR, AIRCR_SYSRESET, diag);
	if (err == FT_OK && !halt)
		err = gt_resume(t, diag);
	return err;
}

static ft_error gt_breakpoint(void *ctx, uint32_t addr, bool set, ft_diag *diag)
{
	ft_dap_gdb_target *t = ctx;
	bool was;
	ft_error err = stop_for_access(t, &was, diag);
	if (err != FT_OK)
		return err;
	err = set ? ft_gdb_set_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, addr, diag)
	          : ft_gdb_clear_breakpoint(t->gdb, FT_GDB_BP_HARDWARE, addr, diag);
	return restart(t, was, err, diag);
}

static const ft_dap_target_ops gdb_target_ops = {
    .read = gt_read,
    .write = gt_write,
    .halt = gt_halt,
    .resume = gt_resume,
    .step = gt_step,
    .poll = gt_poll,
    .read_reg = gt_read_reg,
    .write_reg = gt_write_reg,
    .reset = gt_reset,
    .breakpoint = gt_breakpoint,
};

ft_error ft_dap_gdb_target_open(const char *gdb, ft_dap_gdb_target **out, ft_diag *diag)
{
	*out = NULL;
	ft_dap_gdb_target *t = calloc(1, sizeof(*t));
	if (!t)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "debug-port target", "out of memory");
	ft_error err = ft_gdb_open(gdb, NULL, &t->gdb, diag);
	if (err != FT_OK) {
		free(t);
		return err;
	}
	*out = t;
	return FT_OK;
}

ft_dap_target ft_dap_gdb_target_get(ft_dap_gdb_target *t)
{
	return (ft_dap_target){&gdb_target_ops, t, !t->running};
}

void ft_dap_gdb_target_close(ft_dap_gdb_target *t)
{
	if (!t)
		return;
	ft_gdb_close(t->gdb);
	free(t);
}
