/* Register helpers the loaders' drivers share: bounded waits on a status register, GPIO alternate
 * functions (the STM32 GPIO block is the same on H7 and N6: RM0433 §11.4, RM0486 GPIO chapter,
 * CMSIS GPIO_TypeDef MODER 00, OSPEEDR 08, AFR 20/24). */
#ifndef LDR_HW_H
#define LDR_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Controller waits: far longer than any transfer takes at the slowest clock the loaders use. */
#define LDR_SPIN_LIMIT 1000000u

/* True once (REG(addr) & mask) == value, false after LDR_SPIN_LIMIT reads. */
bool ldr_wait(uint32_t addr, uint32_t mask, uint32_t value);

/* True once any bit of mask is set in REG(addr), false after LDR_SPIN_LIMIT reads. */
bool ldr_wait_any(uint32_t addr, uint32_t mask);

/* Busy-waits about n loop iterations (no timer: the loaders touch no SysTick). */
void ldr_spin(uint32_t n);

/* Pin `pin` of the GPIO block at gpio to alternate function af, very high speed. */
void ldr_pin_af(uint32_t gpio, unsigned pin, unsigned af);

void *memset(void *dst, int c, size_t n);

#endif
