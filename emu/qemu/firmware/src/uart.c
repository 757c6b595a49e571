/* The ST-LINK virtual COM port, 115200 8N1 from its kernel clock: the part's USART (USART3 on the
 * Nucleo-144 H7 boards, USART1 on the NUCLEO-N657X0-Q). Registers: RM0433 §48.8, the same on
 * H72x/H7Ax/N6 (CMSIS USART_TypeDef). */
#include "fw.h"

#define USART_CR1 0x00u
#define USART_BRR 0x0Cu
#define USART_ISR 0x1Cu
#define USART_TDR 0x28u
#define CR1_UE    (1u << 0)
#define CR1_TE    (1u << 3)
#define ISR_TXE   (1u << 7)
#define ISR_TEACK (1u << 21)

void uart_init(void)
{
	const fw_part *p = &fw_part_info;
	fw_uart_pins();
	REG(p->uart_enr) |= p->uart_en_bit;
	REG(p->uart_base + USART_BRR) = (p->pclk1_hz + 57600u) / 115200u;
	REG(p->uart_base + USART_CR1) = CR1_UE | CR1_TE;
	fw_wait(p->uart_base + USART_ISR, ISR_TEACK, ISR_TEACK, 10); /* UART_CheckIdleState */
}

static void put(char c)
{
	fw_wait(fw_part_info.uart_base + USART_ISR, ISR_TXE, ISR_TXE, 10);
	REG(fw_part_info.uart_base + USART_TDR) = (uint8_t)c;
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
