/* STM32H743 (RM0433): devices.md §1.1, §1.2, §2.3; CMSIS stm32h743xx.h. 400 MHz at VOS1 from
 * HSE 8 MHz: PLL1 N=100 P=2 Q=4 R=2, 4 wait states with WRHIGHFREQ 2 (RM0433 Table 17 [U]). */
#include "fw.h"

const fw_part fw_part_info = {
    .name = "STM32H743",
    .idcode_reg = 0x5C001000u, /* DBGMCU_IDCODE (devices.md §1.1) */
    .uart_base = 0x40004800u,  /* USART3 */
    .uart_enr = 0x580244E8u,   /* RCC_APB1LENR */
    .uart_en_bit = 1u << 18,   /* USART3EN */
    .uid_reg = 0x1FF1E800u,
    .size_reg = 0x1FF1E880u,
    .supply = 0x2u, /* PWR_LDO_SUPPLY = LDOEN */
    .smps = false,
    .vos = 3u, /* PWR_REGULATOR_VOLTAGE_SCALE1 */
    .pll1divr = (100u - 1) | (2u - 1) << 9 | (4u - 1) << 16 | (2u - 1) << 24,
    .acr = 4u | 2u << 4,
    .sysclk_hz = 400000000u,
    .pclk1_hz = 100000000u,
    .cr_start = 1u << 7, /* FLASH_CR_START */
    .cr_snb_shift = 8,   /* FLASH_CR_SNB b10:8 */
    .cr_psize = 3u << 4, /* FLASH_CR_PSIZE x64 */
    .word_size = 32,
    .test_addr = 0x08100000u, /* bank 2, sector 0 */
    .test_regs = 0x100,
    .test_snb = 0,
    .sector_size = 0x20000,
    .spi_layout = FW_SPI_QUADSPI, /* QUADSPI: QSPI_R_BASE, QSPI_BASE */
    .spi_regs = 0x52005000u,
    .spi_window = 0x90000000u,
};
