/* Test firmware for the flashtwin QEMU machines (emu/qemu): a HAL-style start-up (supply, voltage
 * scaling, HSE bypass, PLL, flash latency, clock switch, SysTick), the ST-LINK virtual COM port
 * and the tests' main programs. Register addresses and bits are the reference manuals' (RM0433,
 * RM0468, RM0455) as CMSIS names them; what differs between parts is data (fw_part), one table
 * per part linked into its images. Bare metal, no C library. */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

typedef struct fw_part {
	const char *name;
	uint32_t idcode_reg; /* DBGMCU_IDCODE */
	uint32_t uid_reg;    /* UID_BASE */
	uint32_t size_reg;   /* FLASHSIZE_BASE, 0 without embedded flash */
	/* the ST-LINK virtual COM port */
	uint32_t uart_base;
	uint32_t uart_enr; /* RCC enable register and bit of its clock */
	uint32_t uart_en_bit;
	/* start-up */
	uint32_t supply;   /* PWR_CR3 supply bits HAL_PWREx_ConfigSupply writes */
	bool smps;         /* SMPS part: supply lock test of the SMPS HAL */
	uint32_t vos;      /* PWR_D3CR/SRDCR VOS field value */
	uint32_t pll1divr; /* RCC_PLL1DIVR for the target SYSCLK from HSE 8 MHz */
	uint32_t acr;      /* FLASH_ACR: LATENCY and WRHIGHFREQ for that SYSCLK */
	uint32_t sysclk_hz;
	uint32_t pclk1_hz; /* USART3 kernel clock */
	/* flash controller (CR layout) and the sector the self-program test uses */
	uint32_t cr_start, cr_snb_shift, cr_psize;
	uint32_t word_size; /* flash-word bytes */
	uint32_t test_addr; /* first byte of the test sector */
	uint32_t test_regs; /* register block of its bank: 0 (bank 1) or 0x100 (bank 2) */
	uint32_t test_snb;  /* its sector number in that bank */
	uint32_t sector_size;
	/* external-memory controller of the board's NOR flash */
	enum { FW_SPI_QUADSPI, FW_SPI_OCTOSPI } spi_layout; /* XSPI has the OCTOSPI layout */
	uint32_t spi_regs, spi_window;
} fw_part;

extern const fw_part fw_part_info;

/* start-up of the family (system_h7.c, system_n6.c) */
void fw_clock_init(void);
void fw_uart_pins(void); /* GPIO clocks and alternate functions of the VCP pins */

/* SysTick and waits (tick.c) */
void fw_systick_start(uint32_t core_hz);
uint32_t fw_ticks(void); /* SysTick milliseconds since fw_systick_start */
void fw_delay_ms(uint32_t ms);
/* Waits until (REG(addr) & mask) == value, up to timeout_ms; false on timeout. */
bool fw_wait(uint32_t addr, uint32_t mask, uint32_t value, uint32_t timeout_ms);
/* Reports a start-up failure on the VCP and exits with status 2. */
void fw_fail(const char *what) __attribute__((noreturn));

/* the virtual COM port (uart.c) */
void uart_init(void);
void uart_puts(const char *s);
void uart_hex(uint32_t v); /* "0x%08x" */
void uart_dec(uint32_t v);
void uart_kv(const char *key, uint32_t v); /* "key 0x%08x\n" */

/* faults and exit (startup.c) */
extern volatile uint32_t fw_bus_faults; /* precise bus faults taken and skipped */
extern volatile uint32_t fw_bus_fault_addr;
void fw_exit(int status) __attribute__((noreturn)); /* semihosting SYS_EXIT */

int main(void);

#endif
