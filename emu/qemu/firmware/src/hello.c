/* Start-up to main, then the virtual COM port: the part, DBGMCU_IDCODE, the flash-size register,
 * the unique ID, and a SysTick-timed delay. */
#include "fw.h"

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("hello from ");
	uart_puts(fw_part_info.name);
	uart_puts("\n");
	uart_kv("idcode", REG(fw_part_info.idcode_reg));
	if (fw_part_info.size_reg)
		uart_kv("flash-size-kb", *(volatile uint16_t *)(uintptr_t)fw_part_info.size_reg);
	uart_kv("uid0", REG(fw_part_info.uid_reg));
	uart_kv("uid1", REG(fw_part_info.uid_reg + 4));
	uart_kv("uid2", REG(fw_part_info.uid_reg + 8));
	uint32_t start = fw_ticks();
	fw_delay_ms(10);
	uart_puts(fw_ticks() - start >= 10 ? "systick ok\n" : "systick stopped\n");
	return 0;
}
