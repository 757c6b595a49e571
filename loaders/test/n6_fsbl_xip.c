/* The N6 development-boot fixtures' FSBL (CATALOGUE N02): the boot ROM copies it from XSPI2
 * offset 0 to AXISRAM2 and starts it; it says so on the VCP, brings the MX25UM51245G up with the
 * open loader's own driver (octal STR, memory-mapped: loaders/src/mx25um_n657.c) and starts the
 * application that executes in place at 0x70100400, behind its STM32 header at 0x70100000, as
 * CubeN6's Template_FSBL_XIP does (devices.md §6.1). */
#include "fw.h"

#include "loaders/src/loader.h"

#define APP_VECTORS 0x70100400u /* stm32n657xx_XIP.icf: header at 0x70100000, code at +0x400 */
#define SCB_VTOR    0xE000ED08u
#define SYST_CSR    0xE000E010u

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("fsbl: started by the boot ROM\n");
	if (!ldr_dev_init() || !ldr_dev_mapped(true))
		fw_fail("fsbl: XSPI2 NOR not ready");
	const volatile uint32_t *app = (const volatile uint32_t *)(uintptr_t)APP_VECTORS;
	uart_kv("fsbl: application reset vector", app[1]);
	if ((app[1] & ~1u) - APP_VECTORS >= 0x4000000u - 0x100400u)
		fw_fail("fsbl: no application at 0x70100400");
	REG(SYST_CSR) = 0; /* the application starts its own tick */
	REG(SCB_VTOR) = APP_VECTORS;
	__asm volatile("msr msp, %0\n"
	               "bx %1\n"
	               :
	               : "r"(app[0]), "r"(app[1])
	               : "memory");
	return 1;
}
