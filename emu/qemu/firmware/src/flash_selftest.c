/* Self-programming as an application does it with HAL_FLASHEx_Erase and HAL_FLASH_Program: unlock,
 * erase one sector, program two flash words, read them back, then program the first word a second
 * time with other data, which leaves it with an uncorrectable ECC error: the next read takes a
 * bus fault and sets DBECCERR with the word's address in ECC_FA (RM0433 §4.3.9, §4.7).
 * Registers: RM0433 §4.9 (RM0468, RM0455 same offsets); the bank's block is at +test_regs. */
#include "fw.h"

#define FLASH_BASE    0x52002000u
#define FLASH_KEYR    0x04u
#define FLASH_CR      0x0Cu
#define FLASH_SR      0x10u
#define FLASH_CCR     0x14u
#define FLASH_ECC_FA  0x60u
#define CR_LOCK       (1u << 0)
#define CR_PG         (1u << 1)
#define CR_SER        (1u << 2)
#define SR_QW         (1u << 2)
#define SR_ERRORS     0x07EE0000u /* WRPERR PGSERR STRBERR INCERR OPERR RDPERR RDSERR SNECC DBECC */
#define SR_DBECCERR   (1u << 26)
#define CCR_ALL       0x1FEF0000u
#define KEY1          0x45670123u
#define KEY2          0xCDEF89ABu
#define OP_TIMEOUT_MS 4000u /* sector erase up to 4 s (DS12110 [U]) */

static uint32_t reg(uint32_t off)
{
	return FLASH_BASE + fw_part_info.test_regs + off;
}

static bool wait_done(const char *what)
{
	if (!fw_wait(reg(FLASH_SR), SR_QW, 0, OP_TIMEOUT_MS)) {
		uart_puts(what);
		uart_puts(": QW stuck\n");
		return false;
	}
	uint32_t sr = REG(reg(FLASH_SR));
	if (sr & SR_ERRORS) {
		uart_puts(what);
		uart_puts(": ");
		uart_kv("SR", sr);
		return false;
	}
	REG(reg(FLASH_CCR)) = CCR_ALL;
	return true;
}

static bool program_word(uint32_t addr, uint32_t seed)
{
	const fw_part *p = &fw_part_info;
	REG(reg(FLASH_CR)) = p->cr_psize | CR_PG;
	for (uint32_t i = 0; i < p->word_size / 4; i++)
		REG(addr + 4 * i) = seed + i * 0x01010101u;
	__asm volatile("dsb" ::: "memory");
	bool ok = wait_done("program");
	REG(reg(FLASH_CR)) &= ~CR_PG;
	return ok;
}

static bool check_word(uint32_t addr, uint32_t seed)
{
	for (uint32_t i = 0; i < fw_part_info.word_size / 4; i++)
		if (REG(addr + 4 * i) != seed + i * 0x01010101u)
			return false;
	return true;
}

int main(void)
{
	const fw_part *p = &fw_part_info;
	uint32_t a = p->test_addr, w = p->word_size;

	fw_clock_init();
	uart_init();
	uart_puts("flash self-test on ");
	uart_puts(p->name);
	uart_puts("\n");

	if (REG(reg(FLASH_CR)) & CR_LOCK) {
		REG(reg(FLASH_KEYR)) = KEY1;
		REG(reg(FLASH_KEYR)) = KEY2;
	}
	if (REG(reg(FLASH_CR)) & CR_LOCK) {
		uart_puts("unlock failed\n");
		return 1;
	}
	REG(reg(FLASH_CR)) = p->cr_psize | CR_SER | (p->test_snb << p->cr_snb_shift);
	REG(reg(FLASH_CR)) |= p->cr_start;
	if (!wait_done("erase"))
		return 1;
	REG(reg(FLASH_CR)) &= ~CR_SER;
	for (uint32_t off = 0; off < p->sector_size; off += 4) {
		if (REG(a + off) != 0xFFFFFFFFu) {
			uart_kv("not blank at", a + off);
			return 1;
		}
	}
	uart_puts("erase ok\n");

	if (!program_word(a, 0x11223344u) || !program_word(a + w, 0xA5A5A5A5u))
		return 1;
	if (!check_word(a, 0x11223344u) || !check_word(a + w, 0xA5A5A5A5u)) {
		uart_puts("verify failed\n");
		return 1;
	}
	uart_puts("program ok\n");

	/* the same word again, other data: no error now, an uncorrectable word later */
	program_word(a, 0x0F0F0F0Fu);
	uint32_t faults = fw_bus_faults;
	(void)REG(a);
	uint32_t sr = REG(reg(FLASH_SR));
	uart_puts("reprogram: ");
	uart_puts(fw_bus_faults > faults ? "bus fault" : "no fault");
	uart_puts((sr & SR_DBECCERR) ? ", DBECCERR" : ", no DBECCERR");
	uart_puts(", ECC_FA ");
	uart_hex(REG(reg(FLASH_ECC_FA)));
	uart_puts("\n");
	REG(reg(FLASH_CCR)) = CCR_ALL;
	REG(reg(FLASH_CR)) |= CR_LOCK;
	uart_puts("flash self-test done\n");
	return 0;
}
