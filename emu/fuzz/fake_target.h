/* The target both debug-port fuzz targets drive (fuzz_dap_bridge, fuzz_cmsis_dap): a 4 KiB memory
 * (every address maps into it), a register file and a run state; every tenth call fails, so
 * sticky errors and their clearing are reached too. Included once per fuzz program. */
#ifndef FT_FUZZ_FAKE_TARGET_H
#define FT_FUZZ_FAKE_TARGET_H

#include <stdlib.h>

#include "emu/dap_port.h"

#define MEM_BYTES 4096u

typedef struct fake {
	uint8_t mem[MEM_BYTES];
	uint32_t regs[FT_GDB_REG_COUNT];
	bool running;
	unsigned calls;
} fake;

static ft_error outcome(fake *f, ft_diag *diag)
{
	return ++f->calls % 10 == 0 ? ft_diag_set(diag, FT_ERR_DEVICE, "fake", "bus fault") : FT_OK;
}

static ft_error f_read(void *ctx, uint32_t addr, unsigned len, uint32_t *value, ft_diag *diag)
{
	fake *f = ctx;
	*value = 0;
	for (unsigned i = 0; i < len; i++)
		*value |= (uint32_t)f->mem[(addr + i) % MEM_BYTES] << (8 * i);
	return outcome(f, diag);
}

static ft_error f_write(void *ctx, uint32_t addr, unsigned len, uint32_t value, ft_diag *diag)
{
	fake *f = ctx;
	for (unsigned i = 0; i < len; i++)
		f->mem[(addr + i) % MEM_BYTES] = (uint8_t)(value >> (8 * i));
	return outcome(f, diag);
}

static ft_error f_halt(void *ctx, ft_diag *diag)
{
	fake *f = ctx;
	f->running = false;
	return outcome(f, diag);
}

static ft_error f_resume(void *ctx, ft_diag *diag)
{
	fake *f = ctx;
	f->running = true;
	return outcome(f, diag);
}

static ft_error f_step(void *ctx, ft_diag *diag)
{
	fake *f = ctx;
	f->regs[FT_GDB_PC] += 2;
	return outcome(f, diag);
}

static ft_error f_poll(void *ctx, bool *halted, ft_diag *diag)
{
	fake *f = ctx;
	if (f->calls % 7 == 0)
		f->running = false; /* a breakpoint now and then */
	*halted = !f->running;
	return outcome(f, diag);
}

static ft_error f_read_reg(void *ctx, ft_gdb_reg reg, uint32_t *value, ft_diag *diag)
{
	fake *f = ctx;
	if (reg >= FT_GDB_REG_COUNT)
		abort(); /* the bridge only asks for registers by name */
	*value = f->regs[reg];
	return outcome(f, diag);
}

static ft_error f_write_reg(void *ctx, ft_gdb_reg reg, uint32_t value, ft_diag *diag)
{
	fake *f = ctx;
	if (reg >= FT_GDB_REG_COUNT)
		abort();
	f->regs[reg] = value;
	return outcome(f, diag);
}

static ft_error f_reset(void *ctx, bool halt, ft_diag *diag)
{
	fake *f = ctx;
	f->running = !halt;
	return outcome(f, diag);
}

static ft_error f_breakpoint(void *ctx, uint32_t addr, bool set, ft_diag *diag)
{
	(void)addr, (void)set;
	return outcome(ctx, diag);
}

static const ft_dap_target_ops fake_ops = {f_read, f_write,    f_halt,      f_resume, f_step,
                                           f_poll, f_read_reg, f_write_reg, f_reset,  f_breakpoint};

#endif
