/* STM32N657 (RM0486), the FSBL of a NUCLEO-N657X0-Q: it runs secure, so every peripheral is used
 * at its secure address (CMSIS stm32n657xx.h *_BASE_S = *_BASE_NS + 0x10000000). No embedded
 * flash; the MX25UM51245G hangs on XSPI2 (devices.md §6.3). */
#include "fw.h"

const fw_part fw_part_info = {
    .name = "STM32N657",
    .idcode_reg = 0x54001000u, /* DBGMCU_BASE_S (APB3 + 0x1000) */
    .uart_base = 0x52001000u,  /* USART1_BASE_S: the NUCLEO-N657X0-Q VCP (UM3417 [U]) */
    .uart_enr = 0x5602826Cu,   /* RCC_BASE_S + APB2ENR 0x26C */
    .uart_en_bit = 1u << 4,    /* RCC_APB2ENR_USART1EN */
    .uid_reg = 0x56009014u,    /* UID_BASE_S (BSEC) */
    .size_reg = 0,
    .sysclk_hz = 800000000u, /* CPU on IC1 from PLL1 */
    .pclk1_hz = 64000000u,   /* USART1 kernel clock: HSI [U] */
    .spi_layout = FW_SPI_OCTOSPI,
    .spi_regs = 0x5802A000u,   /* XSPI2_BASE_S */
    .spi_window = 0x70000000u, /* XSPI2 memory window */
};
