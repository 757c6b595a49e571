/* SysTick at 1 kHz (HAL_InitTick), bounded waits, and the fatal-error exit. */
#include "fw.h"

#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u

static volatile uint32_t ticks;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
	ticks++;
}

uint32_t fw_ticks(void)
{
	return ticks;
}

void fw_delay_ms(uint32_t ms)
{
	uint32_t start = ticks;
	while (ticks - start < ms) {
	}
}

/* Before SysTick runs, a bounded spin (what HAL's tick would count with the HSI). */
static bool tick_running;

bool fw_wait(uint32_t addr, uint32_t mask, uint32_t value, uint32_t timeout_ms)
{
	uint32_t start = ticks;
	for (uint32_t spin = 0; (REG(addr) & mask) != value; spin++) {
		if (tick_running ? ticks - start > timeout_ms : spin > timeout_ms * 10000u)
			return false;
	}
	return true;
}

void fw_systick_start(uint32_t hz)
{
	REG(SYST_RVR) = hz / 1000u - 1u;
	REG(SYST_CVR) = 0;
	REG(SYST_CSR) = 7; /* processor clock, interrupt, enable */
	tick_running = true;
}

void fw_fail(const char *what)
{
	uart_init();
	uart_puts("clock: ");
	uart_puts(what);
	uart_puts("\n");
	fw_exit(2);
}
