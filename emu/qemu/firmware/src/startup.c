/* Vector table, reset, SysTick and BusFault handlers, semihosting exit. A BusFault handler that
 * skips the faulting load lets the ECC test observe the fault and carry on. */
#include "fw.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void BusFault_Handler(void);

volatile uint32_t fw_bus_faults;
volatile uint32_t fw_bus_fault_addr;

#define SCB_VTOR          0xE000ED08u
#define SCB_CPACR         0xE000ED88u
#define SCB_SHCSR         0xE000ED24u
#define SCB_CFSR          0xE000ED28u
#define SCB_BFAR          0xE000ED38u
#define SHCSR_BUSFAULTENA (1u << 17)
#define CFSR_BFARVALID    (1u << 15)
#define CFSR_BFSR_MASK    0x0000FF00u

__attribute__((section(".isr_vector"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Default_Handler, /* NMI */
    (uintptr_t)Default_Handler, /* HardFault */
    (uintptr_t)Default_Handler, /* MemManage */
    (uintptr_t)BusFault_Handler,
    (uintptr_t)Default_Handler, /* UsageFault */
    0,
    0,
    0,
    0,
    (uintptr_t)Default_Handler, /* SVCall */
    (uintptr_t)Default_Handler, /* DebugMonitor */
    0,
    (uintptr_t)Default_Handler, /* PendSV */
    (uintptr_t)SysTick_Handler,
};

void Reset_Handler(void)
{
	/* CMSIS SystemInit: full access to CP10/CP11 (the FPU), vectors where the image is */
	REG(SCB_CPACR) |= 0xFu << 20;
	REG(SCB_VTOR) = (uint32_t)(uintptr_t)vectors;
	const uint32_t *src = _sidata;
	for (uint32_t *dst = _sdata; dst < _edata; dst++)
		*dst = *src++;
	for (uint32_t *dst = _sbss; dst < _ebss; dst++)
		*dst = 0;
	REG(SCB_SHCSR) |= SHCSR_BUSFAULTENA;
	fw_exit(main());
}

void Default_Handler(void)
{
	uart_puts("fault: unexpected exception\n");
	fw_exit(3);
}

/* Called with the exception frame; returns past the faulting 16- or 32-bit instruction. */
void bus_fault_skip(uint32_t *frame);
void bus_fault_skip(uint32_t *frame)
{
	uint32_t cfsr = REG(SCB_CFSR);
	uint16_t insn = *(const uint16_t *)(uintptr_t)frame[6];
	frame[6] += (insn & 0xF800u) >= 0xE800u ? 4 : 2;
	fw_bus_fault_addr = (cfsr & CFSR_BFARVALID) ? REG(SCB_BFAR) : 0;
	REG(SCB_CFSR) = cfsr & CFSR_BFSR_MASK; /* write 1 to clear */
	fw_bus_faults++;
}

__attribute__((naked)) void BusFault_Handler(void)
{
	__asm volatile("tst lr, #4\n"
	               "ite eq\n"
	               "mrseq r0, msp\n"
	               "mrsne r0, psp\n"
	               "b bus_fault_skip\n");
}

void fw_exit(int status)
{
	/* SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit (0x20026) for success, else
	 * ADP_Stopped_RunTimeErrorUnknown (0x20023): QEMU exits 0 or 1 */
	register uint32_t op __asm("r0") = 0x18;
	register uint32_t reason __asm("r1") = status == 0 ? 0x20026u : 0x20023u;
	__asm volatile("bkpt 0xAB" : : "r"(op), "r"(reason) : "memory");
	for (;;) {
	}
}
