/* flashtwin-emu test switches onto the models' knobs. */
#include "emu/cli/switches.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* FLASH register offsets from the block base and bits (RM0433 §4.9; devices.md §2.1, §2.3). */
#define REG_OPTKEYR     0x08u
#define REG_OPTCR       0x18u
#define REG_OPTSR_CUR   0x1Cu
#define REG_OPTSR_PRG   0x20u
#define REG_PRAR_PRG1   0x2Cu /* devices.md §2.1 register table */
#define REG_WPSN_PRG1   0x3Cu
#define REG_BANK2       0x100u /* bank-2 copies: PRAR_PRG2 0x12C, WPSN_PRG2 0x13C */
#define OPTCR_OPTLOCK   (1u << 0)
#define OPTCR_OPTSTART  (1u << 1)
#define OPTSR_OPT_BUSY  (1u << 0)
#define OPTSR_RDP_SHIFT 8
#define OPTSR_RDP_MASK  (0xFFu << OPTSR_RDP_SHIFT)
#define OPTKEY1         0x08192A3Bu /* HAL FLASH_OPT_KEY1 */
#define OPTKEY2         0x4C5D6E7Fu /* HAL FLASH_OPT_KEY2 */
#define MAX_POLLS       10000

/* Splits "NAME=VALUE" (or "NAME") into name and value (NULL without '='). */
static bool split(const char *arg, char *name, size_t cap, const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (len == 0 || len >= cap)
		return false;
	memcpy(name, arg, len);
	name[len] = '\0';
	*value = eq ? eq + 1 : NULL;
	return true;
}

static bool number(const char *text, unsigned long max, unsigned long *out)
{
	if (!text || !*text)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool ft_emu_switch_fault(ft_emu_switches *s, const char *arg, char *err, size_t cap)
{
	char name[FT_EMU_SWITCH_NAME];
	const char *value = NULL;
	unsigned long n;
	if (!split(arg, name, sizeof(name), &value))
		goto bad;
	if (strcmp(name, "disconnect-at-block") == 0 && number(value, 65535, &n) && n > 0)
		s->disconnect_at_block = (unsigned)n;
	else if (strcmp(name, "corrupt-block") == 0 && number(value, 65535, &n) && n > 0)
		s->corrupt_block = (unsigned)n;
	else if (strcmp(name, "corrupt-double") == 0 && !value)
		s->corrupt_double = true;
	else if (strcmp(name, "no-readback-verify") == 0 && !value)
		s->no_readback_verify = true;
	else if (strcmp(name, "workarea-crash") == 0 && !value)
		s->workarea = FT_DFU_BOOTLOADER_WORKAREA_CRASH;
	else if (strcmp(name, "partial-word") == 0 && value && strcmp(value, "pad") == 0)
		s->partial_word = FT_DFU_BOOTLOADER_PARTIAL_WORD_PAD;
	else if (strcmp(name, "partial-word") == 0 && value && strcmp(value, "skip") == 0)
		s->partial_word = FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP;
	else if (strcmp(name, "drop-word") == 0 && number(value, UINT32_MAX, &n) && n > 0)
		s->drop_word = (uint32_t)n;
	else if (strcmp(name, "cut-word") == 0 && number(value, UINT32_MAX, &n) && n > 0)
		s->cut_word = (uint32_t)n;
	else if (strcmp(name, "watchdog-reset-ms") == 0 && number(value, 3600000, &n) && n > 0)
		s->watchdog_reset_ms = (unsigned)n;
	else if (strcmp(name, "core-sleeps") == 0 && !value)
		s->core_sleeps = true;
	else
		goto bad;
	return true;
bad:
	snprintf(err, cap,
	         "--fault '%s': expected disconnect-at-block=N, corrupt-block=N, corrupt-double, "
	         "no-readback-verify, workarea-crash, partial-word=pad|skip, drop-word=ADDR, "
	         "cut-word=ADDR, watchdog-reset-ms=N or core-sleeps",
	         arg);
	return false;
}

void ft_emu_switches_qemu(const ft_emu_switches *s, ft_emu_qemu_props *out)
{
	size_t n = 0;
	if (s->drop_word)
		snprintf(out->text[n++], sizeof(out->text[0]), "fault-drop-word=0x%08X",
		         (unsigned)s->drop_word);
	if (s->cut_word)
		snprintf(out->text[n++], sizeof(out->text[0]), "fault-cut-word=0x%08X",
		         (unsigned)s->cut_word);
	if (s->watchdog_reset_ms)
		snprintf(out->text[n++], sizeof(out->text[0]), "fault-watchdog-ms=%u",
		         s->watchdog_reset_ms);
	if (s->core_sleeps)
		snprintf(out->text[n++], sizeof(out->text[0]), "fault-core-sleeps=on");
	for (size_t i = 0; i < n; i++)
		out->list[i] = out->text[i];
	out->list[n] = NULL;
}

bool ft_emu_switch_quirk(ft_emu_switches *s, const char *arg, char *err, size_t cap)
{
	char name[FT_EMU_SWITCH_NAME];
	const char *value = NULL;
	if (s->quirk_count == FT_EMU_MAX_QUIRK_SWITCHES) {
		snprintf(err, cap, "--quirk: at most %d", FT_EMU_MAX_QUIRK_SWITCHES);
		return false;
	}
	if (!split(arg, name, sizeof(name), &value) || !value ||
	    (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)) {
		snprintf(err, cap, "--quirk '%s': expected NAME=on or NAME=off", arg);
		return false;
	}
	size_t i = s->quirk_count++;
	memcpy(s->quirk_names[i], name, sizeof(name));
	s->quirks[i].enabled = strcmp(value, "on") == 0;
	return true;
}

bool ft_emu_switch_option(ft_emu_switches *s, const char *arg, char *err, size_t cap)
{
	char name[FT_EMU_SWITCH_NAME];
	const char *value = NULL;
	unsigned long n;
	static const struct {
		const char *name;
		uint32_t offset;
	} regs[] = {
	    {"wpsn1", REG_WPSN_PRG1},
	    {"wpsn2", REG_BANK2 + REG_WPSN_PRG1},
	    {"prar1", REG_PRAR_PRG1},
	    {"prar2", REG_BANK2 + REG_PRAR_PRG1},
	};
	if (!split(arg, name, sizeof(name), &value))
		name[0] = '\0';
	if (strcmp(name, "nor-sr") == 0 && number(value, 0xFF, &n)) {
		s->set_nor_sr = true;
		s->nor_sr = (uint8_t)n;
		return true;
	}
	if (strcmp(name, "nor-addr") == 0 && value &&
	    (strcmp(value, "3") == 0 || strcmp(value, "4") == 0)) {
		s->set_nor_addr = true;
		s->nor_addr4 = value[0] == '4';
		return true;
	}
	if (strcmp(name, "rdp") == 0 && number(value, 0xFF, &n)) {
		s->set_rdp = true;
		s->rdp = (uint8_t)n;
		return true;
	}
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		if (strcmp(name, regs[i].name) != 0 || !number(value, UINT32_MAX, &n))
			continue;
		size_t k = 0;
		while (k < s->option_count && s->option_offset[k] != regs[i].offset)
			k++;
		if (k == sizeof(s->option_offset) / sizeof(s->option_offset[0]))
			break;
		s->option_offset[k] = regs[i].offset;
		s->option_value[k] = (uint32_t)n;
		s->option_count = k == s->option_count ? k + 1 : s->option_count;
		return true;
	}
	snprintf(
	    err, cap,
	    "--option '%s': expected rdp=BYTE (0xAA level 0, 0xCC level 2, other "
	    "values level 1), wpsn1=MASK, wpsn2=MASK, prar1=VALUE, prar2=VALUE, nor-sr=BYTE or "
	    "nor-addr=3|4",
	    arg);
	return false;
}

/* Whether option bytes are to be programmed. */
static bool flash_options(const ft_emu_switches *s)
{
	return s->set_rdp || s->option_count > 0;
}

bool ft_emu_switches_have_options(const ft_emu_switches *s)
{
	return flash_options(s) || s->set_nor_sr || s->set_nor_addr;
}

void ft_emu_switches_apply_dfu(ft_emu_switches *s, ft_dfu_bootloader_config *cfg)
{
	cfg->partial_word = s->partial_word;
	cfg->no_readback_verify = s->no_readback_verify;
	cfg->disconnect_at_block = s->disconnect_at_block;
	cfg->corrupt_block = s->corrupt_block;
	cfg->corrupt_double = s->corrupt_double;
	cfg->workarea = s->workarea;
	for (size_t i = 0; i < s->quirk_count; i++)
		s->quirks[i].name = s->quirk_names[i];
	cfg->quirk_overrides = s->quirk_count ? s->quirks : NULL;
	cfg->quirk_override_count = s->quirk_count;
}

/* Lets the flash model reach its next event: a manual clock is moved there, a real one waited
 * for (at most 10 ms at a time); an instant clock is there already. */
static void wait_event(ft_flash_h7 *flash, ft_clock *clock)
{
	uint64_t next = ft_flash_h7_next_event_ns(flash);
	uint64_t now = ft_clock_now_ns(clock);
	if (next != UINT64_MAX && next > now) {
		ft_clock_advance(clock, next - now);
		now = ft_clock_now_ns(clock);
		if (next > now) {
			uint64_t ns = next - now < 10000000u ? next - now : 10000000u;
			struct timespec ts = {0, (long)ns};
			nanosleep(&ts, NULL);
		}
	}
	ft_flash_h7_poll(flash);
}

/* Writes a register, retrying while the model holds the bus (an option change in progress). */
static ft_error write_reg(ft_flash_h7 *flash, ft_clock *clock, uint32_t off, uint32_t value)
{
	for (int i = 0; i < MAX_POLLS; i++) {
		ft_error err = ft_flash_h7_reg_write(flash, off, value);
		if (err != FT_ERR_BUSY)
			return err;
		wait_event(flash, clock);
	}
	return FT_ERR_TIMEOUT;
}

ft_error ft_emu_switches_apply_flash(const ft_emu_switches *s, ft_flash_h7 *flash, ft_clock *clock,
                                     ft_diag *diag)
{
	if (!flash_options(s))
		return FT_OK;
	uint32_t optsr = 0;
	ft_error err = ft_flash_h7_reg_read(flash, REG_OPTSR_PRG, &optsr);
	if (err == FT_OK)
		err = write_reg(flash, clock, REG_OPTKEYR, OPTKEY1);
	if (err == FT_OK)
		err = write_reg(flash, clock, REG_OPTKEYR, OPTKEY2);
	if (err == FT_OK && s->set_rdp)
		err = write_reg(flash, clock, REG_OPTSR_PRG,
		                (optsr & ~OPTSR_RDP_MASK) | (uint32_t)s->rdp << OPTSR_RDP_SHIFT);
	for (size_t i = 0; err == FT_OK && i < s->option_count; i++)
		err = write_reg(flash, clock, s->option_offset[i], s->option_value[i]);
	if (err == FT_OK)
		err = write_reg(flash, clock, REG_OPTCR, OPTCR_OPTSTART);
	uint32_t cur = OPTSR_OPT_BUSY;
	for (int i = 0; err == FT_OK && (cur & OPTSR_OPT_BUSY) && i < MAX_POLLS; i++) {
		wait_event(flash, clock);
		err = ft_flash_h7_reg_read(flash, REG_OPTSR_CUR, &cur);
	}
	if (err == FT_OK && (cur & OPTSR_OPT_BUSY))
		err = FT_ERR_TIMEOUT;
	if (err == FT_OK)
		err = write_reg(flash, clock, REG_OPTCR, OPTCR_OPTLOCK);
	if (err != FT_OK)
		return ft_diag_set(diag, err, "--option", "programming the option bytes: %s",
		                   ft_error_name(err));
	ft_flash_h7_reset(flash);
	return FT_OK;
}

/* One SPI (1-1-1) command without address: opcode, then len data bytes in or out. */
static ft_error nor_command(ft_nor *nor, uint8_t opcode, bool in, uint8_t *data, size_t len,
                            ft_diag *diag)
{
	ft_nor_xfer x = {.instruction = opcode,
	                 .instruction_bytes = 1,
	                 .instruction_lines = 1,
	                 .data_lines = len ? 1 : 0,
	                 .data_in = in,
	                 .data = data,
	                 .data_len = len};
	return ft_nor_transfer(nor, &x, diag);
}

/* A non-volatile status register write as a programmer does it, in SPI (1-1-1): RDSR (rd), WREN
 * (06h), WRSR (wr) with the bits in mask replaced by value, then RDSR1 (05h) until WIP (SR1
 * bit 0) clears; JEDEC WREN/RDSR1, W25Q256JV RDSR3/WRSR3 (devices.md §7). what names the
 * switch in a timeout. */
static ft_error write_status(ft_nor *nor, ft_clock *clock, uint8_t rd, uint8_t wr, uint8_t mask,
                             uint8_t value, const char *what, ft_diag *diag)
{
	uint8_t sr = 0;
	ft_error err = nor_command(nor, rd, true, &sr, 1, diag);
	sr = (uint8_t)((sr & ~mask) | (value & mask));
	if (err == FT_OK)
		err = nor_command(nor, 0x06, false, NULL, 0, diag);
	if (err == FT_OK)
		err = nor_command(nor, wr, false, &sr, 1, diag);
	for (int i = 0; err == FT_OK && i < MAX_POLLS; i++) {
		err = nor_command(nor, 0x05, true, &sr, 1, diag);
		if (err != FT_OK || !(sr & 1u))
			return err;
		if (ft_clock_mode_of(clock) == FT_CLOCK_MANUAL)
			ft_clock_advance(clock, 1000000u);
		else {
			struct timespec ts = {0, 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return err == FT_OK
	           ? ft_diag_set(diag, FT_ERR_TIMEOUT, what, "the NOR stayed busy after WRSR")
	           : err;
}

ft_error ft_emu_switches_apply_nor(const ft_emu_switches *s, ft_nor *nor, ft_clock *clock,
                                   ft_diag *diag)
{
	ft_error err = FT_OK;
	/* SR1: RDSR1 05h, WRSR1 01h (devices.md §7) */
	if (s->set_nor_sr)
		err =
		    write_status(nor, clock, 0x05, 0x01, 0xFF, s->nor_sr, "--option nor-sr", diag);
	/* W25Q256JV SR3: RDSR3 15h, WRSR3 11h, ADP bit 1 = power-up 4-byte mode (devices.md §7) */
	if (err == FT_OK && s->set_nor_addr) {
		err = write_status(nor, clock, 0x15, 0x11, 0x02, s->nor_addr4 ? 0x02 : 0x00,
		                   "--option nor-addr", diag);
		/* ADS follows ADP at power-up only: the board starts after a power cycle */
		if (err == FT_OK)
			ft_nor_reset(nor);
	}
	return err;
}
