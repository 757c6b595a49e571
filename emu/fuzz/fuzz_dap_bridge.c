/* Fuzzes the debug-port bridge's wire (emu/dap_bridge.h): the input is the byte stream of a
 * remote_bitbang peer, fed to a fresh wire whose target is a 4 KiB memory (every address maps
 * into it), a register file and a run state. Bytes below 0xF0 are mapped onto the JTAG commands
 * ('0'..'7', 'R') so most inputs drive the TAPs, the DP and the APs deep; bytes from 0xF0 on go
 * as one of 16 others by their low nibble (resets, LED, sleep, quit, bytes outside the protocol)
 * (hostile input: the feed must refuse it cleanly). Any crash or sanitizer report is a finding. */
#include "emu/dap_bridge.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BYTES 4096u

typedef struct fake {
	uint8_t mem[MEM_BYTES];
	uint32_t regs[FT_GDB_REG_COUNT];
	bool running;
	unsigned calls;
} fake;

/* Every tenth call fails, so sticky errors and their clearing are reached too. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t commands[] = "01234567R";
	/* resets, LED, sleep, quit, and bytes outside the protocol */
	static const uint8_t others[16] = "rstuBbZzQ\x00\xff!A~#\n";
	static fake f;
	memset(&f, 0, sizeof(f));
	ft_dap_wire *w = ft_dap_wire_new(&(ft_dap_target){&fake_ops, &f, true});
	if (!w)
		return 0;
	uint8_t *in = malloc(size + 1), *out = malloc(size + 1);
	if (in && out) {
		for (size_t i = 0; i < size; i++)
			in[i] = data[i] < 0xF0 ? commands[data[i] % 9]
			                       : (uint8_t)(data[i] & 0x0F) + 'A';
		size_t out_len;
		bool quit;
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_dap_wire_feed(w, in, size, out, &out_len, &quit, &diag) == FT_OK &&
		    out_len > size)
			abort();
	}
	free(in);
	free(out);
	ft_dap_wire_free(w);
	return 0;
}
