/* STM32H7A3 (RM0455): devices.md §1.1, §1.5, §2.3; CMSIS stm32h7a3xx.h. SMPS part
 * (NUCLEO-H7A3ZI-Q): direct SMPS supply. 280 MHz from HSE 8 MHz (PLL1 N=70 P=2), 6 wait states [U].
 * CR layout: FW b4, START b5, SNB b12:6, no PSIZE; 128-bit flash words, 8 KB sectors. */
#include "fw.h"

const fw_part fw_part_info = {
    .name = "STM32H7A3",
    .idcode_reg = 0x5C001000u, /* DBGMCU_IDCODE (devices.md §1.1) */
    .uart_base = 0x40004800u,  /* USART3 */
    .uart_enr = 0x580244E8u,   /* RCC_APB1LENR */
    .uart_en_bit = 1u << 18,   /* USART3EN */
    .uid_reg = 0x08FFF800u,
    .size_reg = 0x08FFF80Cu,
    .supply = 0x4u, /* PWR_DIRECT_SMPS_SUPPLY = SMPSEN */
    .smps = true,
    .vos = 3u, /* PWR_REGULATOR_VOLTAGE_SCALE0 */
    .pll1divr = (70u - 1) | (2u - 1) << 9 | (4u - 1) << 16 | (2u - 1) << 24,
    .acr = 6u | 3u << 4,
    .sysclk_hz = 280000000u,
    .pclk1_hz = 140000000u,
    .cr_start = 1u << 5,
    .cr_snb_shift = 6,
    .cr_psize = 0,
    .word_size = 16,
    .test_addr = 0x08100000u, /* bank 2, sector 0 */
    .test_regs = 0x100,
    .test_snb = 0,
    .sector_size = 0x2000,
    .spi_layout = FW_SPI_OCTOSPI, /* OCTOSPI2: OCTOSPI2_R_BASE, OCTOSPI2_BASE */
    .spi_regs = 0x5200A000u,
    .spi_window = 0x70000000u,
};
