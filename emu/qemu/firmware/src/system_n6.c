/* STM32N6: the clock start-up of the NUCLEO-N657X0-Q FSBL template (SystemClock_Config with
 * HAL_PWREx_ControlVoltageScaling and HAL_RCC_OscConfig/ClockConfig reduced to their register
 * accesses and polls): overdrive, PLL1 from the 64 MHz HSI to 1600 MHz, IC1 = PLL1 / 2 (800 MHz)
 * for the CPU, CPU and system bus switched to their IC dividers. RCC control bits are set and
 * cleared through RCC_CSR (+0x800) and RCC_CCR (+0x1000). CMSIS stm32n657xx.h offsets and bits. */
#include "fw.h"

#define PWR_BASE      0x56024800u /* PWR_BASE_S */
#define PWR_VOSCR     (PWR_BASE + 0x20)
#define VOSCR_VOS     (1u << 0)
#define VOSCR_VOSRDY  (1u << 1)
#define RCC_BASE      0x56028000u /* RCC_BASE_S */
#define RCC_SR        (RCC_BASE + 0x004)
#define RCC_CFGR1     (RCC_BASE + 0x020)
#define RCC_PLL1CFGR1 (RCC_BASE + 0x080)
#define RCC_PLL1CFGR3 (RCC_BASE + 0x088)
#define RCC_IC1CFGR   (RCC_BASE + 0x0C4)
#define RCC_CSR       (RCC_BASE + 0x800)
#define RCC_CCR       (RCC_BASE + 0x1000)
#define RCC_DIVENSR   (RCC_BASE + 0xA40)
#define RCC_AHB4ENSR  (RCC_BASE + 0xA5C)
#define PLL1ON        (1u << 8) /* RCC_CR / RCC_SR PLL1RDY at the same position */
#define CPUSW(v)      ((uint32_t)(v) << 16)
#define CPUSWS(v)     ((uint32_t)(v) << 20)
#define SYSSW(v)      ((uint32_t)(v) << 24)
#define SYSSWS(v)     ((uint32_t)(v) << 28)
#define SW_IC         3u /* CPUSW: IC1; SYSSW: IC2/IC6/IC11 */
#define TIMEOUT_MS    100u

void fw_clock_init(void)
{
	fw_systick_start(64000000u);

	REG(PWR_VOSCR) |= VOSCR_VOS; /* PWR_REGULATOR_VOLTAGE_SCALE0 (overdrive) */
	if (!fw_wait(PWR_VOSCR, VOSCR_VOSRDY, VOSCR_VOSRDY, TIMEOUT_MS))
		fw_fail("VOSRDY timeout");

	REG(RCC_CCR) = PLL1ON;
	if (!fw_wait(RCC_SR, PLL1ON, 0, TIMEOUT_MS))
		fw_fail("PLL1 did not stop");
	/* PLL1SEL HSI (0), DIVM 4, DIVN 100: 64 / 4 * 100 = 1600 MHz; PDIV1 = PDIV2 = 1, PDIVEN */
	REG(RCC_PLL1CFGR1) = (4u << 20) | (100u << 8);
	REG(RCC_PLL1CFGR3) = (1u << 30) | (1u << 27) | (1u << 24);
	REG(RCC_CSR) = PLL1ON;
	if (!fw_wait(RCC_SR, PLL1ON, PLL1ON, TIMEOUT_MS))
		fw_fail("PLL1RDY timeout");

	REG(RCC_IC1CFGR) = (0u << 28) | ((2u - 1) << 16); /* IC1SEL PLL1, IC1INT /2 */
	REG(RCC_DIVENSR) = 1u;                            /* IC1ENS */
	REG(RCC_CFGR1) = (REG(RCC_CFGR1) & ~(CPUSW(3) | SYSSW(3))) | CPUSW(SW_IC) | SYSSW(SW_IC);
	if (!fw_wait(RCC_CFGR1, CPUSWS(3) | SYSSWS(3), CPUSWS(SW_IC) | SYSSWS(SW_IC), TIMEOUT_MS))
		fw_fail("clock switch to IC1 not confirmed");

	fw_systick_start(fw_part_info.sysclk_hz);
}

/* USART1 on PE5 (TX) / PE6 (RX), alternate function 7 [U: UM3417 pin table not read] */
void fw_uart_pins(void)
{
	REG(RCC_AHB4ENSR) = 1u << 4;                                              /* GPIOEEN */
	uint32_t gpioe = 0x56021000u;                                             /* GPIOE_BASE_S */
	REG(gpioe + 0x00) = (REG(gpioe + 0x00) & ~(0xFu << 10)) | (0xAu << 10);   /* MODER 5,6 AF */
	REG(gpioe + 0x20) = (REG(gpioe + 0x20) & ~(0xFFu << 20)) | (0x77u << 20); /* AFRL AF7 */
}
