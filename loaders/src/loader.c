/* The .stldr entry points (devices.md §6.4), written once over the board's driver (loader.h).
 * Addresses are absolute (inside ldr_geo.base .. base + size), as STM32CubeProgrammer passes them.
 *
 * Memory-mapped state each call leaves (the contract a programmer can check after every call):
 *   Init, Read              on: the window reads the flash, as ST's loaders leave it after Init;
 *   Write, SectorErase,
 *   MassErase, Verify,
 *   CheckSum                off: the controller idle, abort done.
 * Write and the erases abort memory-mapped mode first, so they work whatever state they find.
 *
 * Block protection (E10): the flash silently ignores program and erase commands on a protected
 * block, so Write, SectorErase and MassErase return LDR_FAIL without sending them when any
 * block-protect bit is set. Init does not clear the bits: removing a user's write protection is
 * not a loader's decision; the programmer reads the status register and names the fix.
 *
 * Fault variants for the conformance scenarios (CATALOGUE.md §5.4), each a build flag of this
 * same source, 0 or 1:
 *   LDR_FAULT_SYSTICK      E03: Init starts SysTick with its interrupt and moves VTOR to the
 *                          loader's own vector table in RAM, and nothing stops them (field
 *                          report B: HAL_Init in a loader without HAL_SuspendTick);
 *   LDR_FAULT_PAGE_CROSS   E05: Write programs up to the first page boundary and fails when the
 *                          data goes on across it;
 *   LDR_FAULT_MAPPED_LEFT  E06: every call leaves memory-mapped mode on, and Write and the erases
 *                          do not abort it first: they fail on the busy controller;
 *   LDR_FAULT_INIT_HANG    E12: a second Init never returns (as a loader whose first Init turned
 *                          off a clock the second waits for). */
#include "loader.h"

#ifndef LDR_FAULT_SYSTICK
#define LDR_FAULT_SYSTICK 0
#endif
#ifndef LDR_FAULT_PAGE_CROSS
#define LDR_FAULT_PAGE_CROSS 0
#endif
#ifndef LDR_FAULT_MAPPED_LEFT
#define LDR_FAULT_MAPPED_LEFT 0
#endif
#ifndef LDR_FAULT_INIT_HANG
#define LDR_FAULT_INIT_HANG 0
#endif

static const bool fault_systick = LDR_FAULT_SYSTICK;
static const bool fault_page_cross = LDR_FAULT_PAGE_CROSS;
static const bool fault_mapped_left = LDR_FAULT_MAPPED_LEFT;
static const bool fault_init_hang = LDR_FAULT_INIT_HANG;

uint32_t Init(void);
uint32_t Write(uint32_t Address, uint32_t Size, uint8_t *buffer);
uint32_t SectorErase(uint32_t EraseStartAddress, uint32_t EraseEndAddress);
uint32_t MassErase(uint32_t Parallelism);
uint64_t Verify(uint32_t MemoryAddr, uint32_t RAMBufferAddr, uint32_t Size,
                uint32_t missalignement);
int Read(uint32_t Address, uint32_t Size, uint8_t *Buffer);
uint32_t CheckSum(uint32_t StartAddress, uint32_t Size, uint32_t InitVal);

/* Loaded with the image, never zeroed by a C runtime (the build puts zero-initialised objects in
 * .data: -fno-zero-initialized-in-bss). */
static uint32_t init_calls = 0;
static volatile uint32_t fault_ticks = 0;

/* Armv7-M / Armv8-M system control space (ARM DDI0403E B3.2.2, B3.3.2) */
#define SCB_VTOR    0xE000ED08u
#define SYST_CSR    0xE000E010u
#define SYST_RVR    0xE000E014u
#define SYST_CVR    0xE000E018u
#define CSR_ENABLE  (1u << 0)
#define CSR_TICKINT (1u << 1)
#define CSR_CLKSRC  (1u << 2)

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

static void fault_tick(void)
{
	fault_ticks++;
}

static void fault_stop(void)
{
	for (;;) {
	}
}

/* E03's vector table: SysTick counts, anything else stops. VTOR needs 128-byte alignment for 16
 * entries (ARM DDI0403E B3.2.5). */
__attribute__((aligned(128))) static const uintptr_t fault_vectors[16] = {
    0,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    0,
    0,
    0,
    0,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_stop,
    0,
    (uintptr_t)fault_stop,
    (uintptr_t)fault_tick,
};

static void fault_start_systick(void)
{
	REG(SCB_VTOR) = (uint32_t)(uintptr_t)fault_vectors;
	REG(SYST_RVR) = 64000u - 1u; /* 1 ms at the 64 MHz HSI both parts reset to */
	REG(SYST_CVR) = 0;
	REG(SYST_CSR) = CSR_ENABLE | CSR_TICKINT | CSR_CLKSRC;
}

static bool in_device(uint32_t address, uint32_t size)
{
	return address >= ldr_geo.base && size <= ldr_geo.size &&
	       address - ldr_geo.base <= ldr_geo.size - size;
}

static const volatile uint8_t *window(uint32_t address)
{
	return (const volatile uint8_t *)(uintptr_t)address;
}

/* Before an indirect command: memory-mapped mode off (E06 forgets). */
static bool to_indirect(void)
{
	return fault_mapped_left || ldr_dev_mapped(false);
}

/* The state a call leaves; ok is the call's result so far. */
static uint32_t finish(bool ok, bool mapped)
{
	bool left = ldr_dev_mapped(mapped || fault_mapped_left);
	return ok && left ? LDR_OK : LDR_FAIL;
}

uint32_t Init(void)
{
	init_calls++;
	if (fault_init_hang && init_calls > 1)
		fault_stop();
	bool ok = ldr_dev_init();
	if (ok && fault_systick)
		fault_start_systick();
	return finish(ok, true);
}

uint32_t Write(uint32_t Address, uint32_t Size, uint8_t *buffer)
{
	bool ok = in_device(Address, Size) && to_indirect() && !ldr_dev_protected();
	uint32_t done = 0;
	while (ok && done < Size) {
		uint32_t offset = Address - ldr_geo.base + done;
		uint32_t chunk = ldr_geo.page - offset % ldr_geo.page;
		if (chunk > Size - done)
			chunk = Size - done;
		ok = ldr_dev_program(offset, buffer + done, chunk);
		done += chunk;
		if (fault_page_cross && done < Size)
			ok = false;
	}
	return finish(ok, false);
}

/* Erases every sector from the one holding start to the one holding end, by whole blocks where
 * a block lies entirely inside that span. */
uint32_t SectorErase(uint32_t EraseStartAddress, uint32_t EraseEndAddress)
{
	bool ok = EraseEndAddress >= EraseStartAddress && in_device(EraseStartAddress, 1) &&
	          in_device(EraseEndAddress, 1) && to_indirect() && !ldr_dev_protected();
	uint32_t offset = (EraseStartAddress - ldr_geo.base) / ldr_geo.sector * ldr_geo.sector;
	uint32_t last = (EraseEndAddress - ldr_geo.base) / ldr_geo.sector * ldr_geo.sector;
	while (ok && offset <= last) {
		uint32_t unit =
		    offset % ldr_geo.block == 0 && last - offset >= ldr_geo.block - ldr_geo.sector
		        ? ldr_geo.block
		        : ldr_geo.sector;
		ok = ldr_dev_erase(offset, unit);
		if (last - offset < unit)
			break;
		offset += unit;
	}
	return finish(ok, false);
}

uint32_t MassErase(uint32_t Parallelism)
{
	(void)Parallelism;
	bool ok = to_indirect() && !ldr_dev_protected() && ldr_dev_chip_erase();
	return finish(ok, false);
}

static uint32_t byte_sum(uint32_t address, uint32_t size, uint32_t sum)
{
	for (uint32_t i = 0; i < size; i++)
		sum += window(address)[i];
	return sum;
}

/* Size counts words; missalignement holds the offset of the first meaningful byte in bits 3:0
 * and the padding after the last in bits 19:16 (devices.md §6.4). The bytes in between are
 * compared and summed. Returns (sum << 32) | first differing address, low word 0 when all match;
 * a call that cannot read the window returns the start address as failing. */
uint64_t Verify(uint32_t MemoryAddr, uint32_t RAMBufferAddr, uint32_t Size, uint32_t missalignement)
{
	uint32_t first = missalignement & 0xFu, pad = (missalignement >> 16) & 0xFu;
	uint32_t bytes = Size * 4u;
	if (Size > ldr_geo.size / 4u || first + pad > bytes)
		return MemoryAddr;
	uint32_t start = MemoryAddr + first, len = bytes - first - pad;
	if (!in_device(start, len) || !ldr_dev_mapped(true)) {
		finish(false, false);
		return start;
	}
	const volatile uint8_t *ram = (const volatile uint8_t *)(uintptr_t)(RAMBufferAddr + first);
	uint32_t failed = 0;
	for (uint32_t i = 0; i < len && !failed; i++)
		if (window(start)[i] != ram[i])
			failed = start + i;
	uint64_t sum = byte_sum(start, len, 0);
	finish(true, false);
	return sum << 32 | failed;
}

int Read(uint32_t Address, uint32_t Size, uint8_t *Buffer)
{
	bool ok = in_device(Address, Size) && ldr_dev_mapped(true);
	for (uint32_t i = 0; ok && i < Size; i++)
		Buffer[i] = window(Address)[i];
	return (int)finish(ok, true);
}

uint32_t CheckSum(uint32_t StartAddress, uint32_t Size, uint32_t InitVal)
{
	if (!in_device(StartAddress, Size) || !ldr_dev_mapped(true))
		return InitVal;
	uint32_t sum = byte_sum(StartAddress, Size, InitVal);
	finish(true, false);
	return sum;
}
