#include "hw.h"

#define GPIO_MODER   0x00u
#define GPIO_OSPEEDR 0x08u
#define GPIO_AFRL    0x20u

bool ldr_wait(uint32_t addr, uint32_t mask, uint32_t value)
{
	for (uint32_t i = 0; i < LDR_SPIN_LIMIT; i++)
		if ((REG(addr) & mask) == value)
			return true;
	return false;
}

bool ldr_wait_any(uint32_t addr, uint32_t mask)
{
	for (uint32_t i = 0; i < LDR_SPIN_LIMIT; i++)
		if (REG(addr) & mask)
			return true;
	return false;
}

void ldr_spin(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++) {
	}
}

void ldr_pin_af(uint32_t gpio, unsigned pin, unsigned af)
{
	uint32_t afr = gpio + GPIO_AFRL + 4u * (pin / 8u), shift = 4u * (pin % 8u);
	REG(afr) = (REG(afr) & ~(0xFu << shift)) | (uint32_t)af << shift;
	REG(gpio + GPIO_OSPEEDR) |= 3u << (2u * pin);
	REG(gpio + GPIO_MODER) = (REG(gpio + GPIO_MODER) & ~(3u << (2u * pin))) | 2u << (2u * pin);
}

/* GCC expects a freestanding program to provide memset (it zeroes structures with it). */
void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
