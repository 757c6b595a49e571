/* A test firmware for the QEMU machines (emu/qemu/firmware style: the same start-up, VCP and
 * part table) linked with a loader's objects: it calls the .stldr entry points as a programmer
 * would and prints each result on the VCP as "key value" lines, for emu/tests/test_qemu_loaders.c
 * to assert on, together with the NOR contents the machine leaves in the board's state. No
 * loader runner is involved: this tests the loaders' driver code on the emulated controllers.
 *
 * Sequence (addresses relative to the window): MassErase; SectorErase 0x1000..0x1FFF; Write of
 * PATTERN_LEN bytes at PATTERN_AT (crossing three page boundaries); Read back; Verify (good,
 * then with one byte changed); CheckSum; a 64 KB block written then erased by SectorErase of the
 * whole block; a second Init. The memory-mapped state is read from the controller's BUSY bit
 * after Init and Write. PATTERN_AT..+PATTERN_LEN is left programmed. */
#include "fw.h"

#include "loaders/src/loader.h"

uint32_t Init(void);
uint32_t Write(uint32_t Address, uint32_t Size, uint8_t *buffer);
uint32_t SectorErase(uint32_t EraseStartAddress, uint32_t EraseEndAddress);
uint32_t MassErase(uint32_t Parallelism);
uint64_t Verify(uint32_t MemoryAddr, uint32_t RAMBufferAddr, uint32_t Size,
                uint32_t missalignement);
int Read(uint32_t Address, uint32_t Size, uint8_t *Buffer);
uint32_t CheckSum(uint32_t StartAddress, uint32_t Size, uint32_t InitVal);

#define PATTERN_AT  0x10F0u
#define PATTERN_LEN 600u /* a multiple of 4: Verify counts words */
#define BAD_BYTE    300u
#define BLOCK_AT    0x20000u
#define BLOCK_LEN   0x10000u

static uint8_t pattern[PATTERN_LEN];
static uint8_t back[PATTERN_LEN];

/* BUSY in the controller's SR: QUADSPI SR 0x08, OCTOSPI/XSPI SR 0x020, bit 5 (RM0433 §23.5.2,
 * RM0486) */
static uint32_t controller_busy(void)
{
	const fw_part *p = &fw_part_info;
	uint32_t sr = p->spi_regs + (p->spi_layout == FW_SPI_QUADSPI ? 0x08u : 0x20u);
	return (REG(sr) >> 5) & 1u;
}

/* Reads PATTERN_LEN bytes at at: 1 when all are erased. */
static void report_erased(const char *key, uint32_t at)
{
	uint32_t ok = Read(at, PATTERN_LEN, back) == 1;
	for (uint32_t i = 0; ok && i < PATTERN_LEN; i++)
		ok = back[i] == 0xFF;
	uart_kv(key, ok);
}

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("loader selftest on ");
	uart_puts(fw_part_info.name);
	uart_puts("\n");
	uint32_t base = ldr_geo.base;
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		pattern[i] = (uint8_t)(i * 7u + 3u);

	uart_kv("init", Init());
	uart_kv("mapped after init", controller_busy());
	uart_kv("mass erase", MassErase(0));
	uart_kv("sector erase", SectorErase(base + 0x1000u, base + 0x1FFFu));
	uart_kv("write", Write(base + PATTERN_AT, PATTERN_LEN, pattern));
	uart_kv("mapped after write", controller_busy());
	uart_kv("read", (uint32_t)Read(base + PATTERN_AT, PATTERN_LEN, back));
	uint32_t same = 1;
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		same &= back[i] == pattern[i];
	uart_kv("read matches", same);

	uint64_t v = Verify(base + PATTERN_AT, (uint32_t)(uintptr_t)pattern, PATTERN_LEN / 4u, 0);
	uart_kv("verify failed at", (uint32_t)v);
	uart_kv("verify sum", (uint32_t)(v >> 32));
	pattern[BAD_BYTE] ^= 0x5Au;
	v = Verify(base + PATTERN_AT, (uint32_t)(uintptr_t)pattern, PATTERN_LEN / 4u, 0);
	pattern[BAD_BYTE] ^= 0x5Au;
	uart_kv("verify bad failed at", (uint32_t)v);
	uart_kv("checksum", CheckSum(base + PATTERN_AT, PATTERN_LEN, 0x100u));

	uart_kv("block write",
	        Write(base + BLOCK_AT + BLOCK_LEN - PATTERN_LEN, PATTERN_LEN, pattern));
	uart_kv("block erase", SectorErase(base + BLOCK_AT, base + BLOCK_AT + BLOCK_LEN - 1u));
	report_erased("block erased", base + BLOCK_AT + BLOCK_LEN - PATTERN_LEN);
	uart_kv("init again", Init());
	return 0;
}
