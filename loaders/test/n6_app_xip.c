/* The N6 development-boot fixtures' application (CATALOGUE N02): linked to execute in place from
 * the XSPI2 window at 0x70100400 (loaders/ld/n6_app_xip.ld), started by the FSBL
 * (n6_fsbl_xip.c) with the clocks it set up; it reports where it runs and ends the run. */
#include "fw.h"

int main(void)
{
	uart_init();
	uart_kv("app: running in place at", (uint32_t)(uintptr_t)main);
	return 0;
}
