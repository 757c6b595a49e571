/* An H743 application with constant data in the W25Q256JV (field report B's layout): code in
 * internal flash, a 64 KiB table in the .qspi section at 0x90000000 whose words each hold their
 * own address (conformance/fixtures/src/assets.S). At reset it brings QUADSPI up in memory-mapped
 * mode with the open loader's own driver (loaders/src/w25q256_h743.c), as a CubeMX project's
 * MX_QUADSPI_Init + BSP_QSPI_EnableMemoryMappedMode do, checks every word through the window and
 * ends the run with the count of wrong words as its status. The end-to-end test programs it over
 * gdb:// through the board's loader and boots it (emu/tests/test_emu_extflash.c). */
#include "fw.h"

#include "loaders/src/loader.h"

#define QSPI_WORDS (0x10000u / 4u) /* ASSET_BYTES in loaders.mk */

extern const uint32_t fixture_assets[];

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("app: started from internal flash\n");
	if (!ldr_dev_init() || !ldr_dev_mapped(true))
		fw_fail("app: QUADSPI NOR not ready");
	uint32_t wrong = 0;
	for (uint32_t i = 0; i < QSPI_WORDS; i++)
		wrong += fixture_assets[i] != (uint32_t)(uintptr_t)&fixture_assets[i];
	uart_kv("app: qspi words read", QSPI_WORDS);
	uart_kv("app: qspi words wrong", wrong);
	uart_kv("app: qspi word at 0x9000fffc", fixture_assets[QSPI_WORDS - 1]);
	return wrong ? 1 : 0;
}
