/* STM32H723 (RM0468): devices.md §1.1, §1.4; CMSIS stm32h723xx.h. Single bank: the test uses
 * sector 7. 400 MHz from HSE 8 MHz (PLL1 N=100 P=2). */
#include "fw.h"

const fw_part fw_part_info = {
    .name = "STM32H723",
    .idcode_reg = 0x5C001000u, /* DBGMCU_IDCODE (devices.md §1.1) */
    .uart_base = 0x40004800u,  /* USART3 */
    .uart_enr = 0x580244E8u,   /* RCC_APB1LENR */
    .uart_en_bit = 1u << 18,   /* USART3EN */
    .uid_reg = 0x1FF1E800u,
    .size_reg = 0x1FF1E880u,
    .supply = 0x2u, /* PWR_LDO_SUPPLY */
    .smps = false,
    .vos = 3u,
    .pll1divr = (100u - 1) | (2u - 1) << 9 | (4u - 1) << 16 | (2u - 1) << 24,
    .acr = 4u | 2u << 4,
    .sysclk_hz = 400000000u,
    .pclk1_hz = 100000000u,
    .cr_start = 1u << 7,
    .cr_snb_shift = 8,
    .cr_psize = 3u << 4,
    .word_size = 32,
    .test_addr = 0x080E0000u, /* sector 7 */
    .test_regs = 0,
    .test_snb = 7,
    .sector_size = 0x20000,
    .spi_layout = FW_SPI_OCTOSPI, /* OCTOSPI1: OCTOSPI1_R_BASE, OCTOSPI1_BASE */
    .spi_regs = 0x52005000u,
    .spi_window = 0x90000000u,
};
