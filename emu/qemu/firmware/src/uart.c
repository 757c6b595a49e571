/* The ST-LINK virtual COM port of the Nucleo-144 H7 boards: USART3 on PD8/PD9 (UM2407), 115200 8N1
 * from PCLK1. RM0433 §48.8 registers; CMSIS stm32h743xx.h bits. */
#include "fw.h"

#define USART3_BASE   0x40004800u
#define USART_CR1     (USART3_BASE + 0x00)
#define USART_BRR     (USART3_BASE + 0x0C)
#define USART_ISR     (USART3_BASE + 0x1C)
#define USART_TDR     (USART3_BASE + 0x28)
#define CR1_UE        (1u << 0)
#define CR1_TE        (1u << 3)
#define ISR_TXE       (1u << 7)
#define ISR_TEACK     (1u << 21)
#define RCC_APB1LENR  0x580244E8u
#define RCC_USART3EN  (1u << 18)
#define RCC_AHB4ENR   0x580244E0u
#define RCC_GPIODEN   (1u << 3)
#define GPIOD_MODER   0x58020C00u
#define GPIOD_AFRH    0x58020C24u

void uart_init(void)
{
	REG(RCC_AHB4ENR) |= RCC_GPIODEN;
	REG(RCC_APB1LENR) |= RCC_USART3EN;
	/* PD8/PD9 alternate function 7 */
	REG(GPIOD_MODER) = (REG(GPIOD_MODER) & ~(0xFu << 16)) | (0xAu << 16);
	REG(GPIOD_AFRH) = (REG(GPIOD_AFRH) & ~0xFFu) | 0x77u;
	REG(USART_BRR) = (fw_part_info.pclk1_hz + 57600u) / 115200u;
	REG(USART_CR1) = CR1_UE | CR1_TE;
	fw_wait(USART_ISR, ISR_TEACK, ISR_TEACK, 10); /* UART_CheckIdleState */
}

static void put(char c)
{
	fw_wait(USART_ISR, ISR_TXE, ISR_TXE, 10);
	REG(USART_TDR) = (uint8_t)c;
}

void uart_puts(const char *s)
{
	while (*s)
		put(*s++);
}

void uart_hex(uint32_t v)
{
	uart_puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		put("0123456789abcdef"[(v >> shift) & 0xFu]);
}

void uart_dec(uint32_t v)
{
	char buf[11];
	int i = (int)sizeof(buf);
	buf[--i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	uart_puts(buf + i);
}

void uart_kv(const char *key, uint32_t v)
{
	uart_puts(key);
	uart_puts(" ");
	uart_hex(v);
	uart_puts("\n");
}
