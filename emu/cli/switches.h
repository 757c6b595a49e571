/* flashtwin-emu's test switches: fault injection, ROM quirks and option-byte state at power-on,
 * in the vocabulary the conformance suite asks for (conformance/target.h, docs/emulator.md):
 *
 *   --fault NAME[=VALUE]  the DFU bootloader's: disconnect-at-block=N, corrupt-block=N,
 *                         corrupt-double, no-readback-verify, workarea-crash,
 *                         partial-word=pad|skip; the QEMU machine's (--gdb, --boot flash):
 *                         drop-word=ADDR, cut-word=ADDR, watchdog-reset-ms=N, core-sleeps
 *   --quirk NAME=on|off   force a ROM quirk of the part table on or off, whatever the
 *                         revision says (h74x-rev-v-bank2-erase-dnbusy, h7a3-rev-z-descriptor)
 *   --option NAME=VALUE   option bytes programmed before the board starts: rdp=0xAA|0xBB|
 *                         0xCC (any byte; 0xAA is level 0, 0xCC level 2, others level 1),
 *                         wpsn1=MASK, wpsn2=MASK (FLASH_WPSN_PRGx: a 0 bit protects a sector),
 *                         prar1=VALUE, prar2=VALUE (FLASH_PRAR_PRGx: PCROP area and DMEP);
 *                         nor-sr=BYTE: the external NOR's status register 1 written before
 *                         the board starts (block-protect bits, CATALOGUE E10);
 *                         nor-addr=3|4: the W25Q256JV's power-up address mode (SR3 ADP
 *                         written, then the NOR power-cycled so that ADS follows it; E13)
 *
 * Each switch maps onto a knob the models or the QEMU machines already have
 * (ft_dfu_bootloader_config, the flash model's option-byte programming sequence, the machines'
 * fault-* properties); nothing here adds behaviour to a model. Part of the
 * flashtwin-emu command, not library API: the parse functions print nothing and return a message
 * for the caller to print.
 */
#ifndef FT_EMU_SWITCHES_H
#define FT_EMU_SWITCHES_H

#include "models/dfu_bootloader.h"
#include "models/error.h"
#include "models/flash_h7.h"
#include "models/nor_flash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FT_EMU_MAX_QUIRK_SWITCHES 4
#define FT_EMU_SWITCH_NAME        64

typedef struct ft_emu_switches {
	ft_dfu_bootloader_partial_word partial_word;
	bool no_readback_verify;
	unsigned disconnect_at_block;
	unsigned corrupt_block;
	bool corrupt_double;
	ft_dfu_bootloader_workarea workarea;
	size_t quirk_count;
	char quirk_names[FT_EMU_MAX_QUIRK_SWITCHES][FT_EMU_SWITCH_NAME];
	ft_dfu_bootloader_quirk quirks[FT_EMU_MAX_QUIRK_SWITCHES];
	bool set_rdp;
	uint8_t rdp;
	/* option registers (FLASH_WPSN_PRG1/2, FLASH_PRAR_PRG1/2) to program, by offset */
	size_t option_count;
	uint32_t option_offset[4];
	uint32_t option_value[4];
	/* --option nor-sr: the external NOR's status register 1 */
	bool set_nor_sr;
	uint8_t nor_sr;
	/* --option nor-addr: the external NOR's power-up address mode (true: 4-byte, ADP=1) */
	bool set_nor_addr;
	bool nor_addr4;
	/* the QEMU machine's faults (0/false: off) */
	uint32_t drop_word, cut_word;
	unsigned watchdog_reset_ms;
	bool core_sleeps;
} ft_emu_switches;

/* The QEMU machine properties ("fault-drop-word=0x08027800") for the machine faults of s. */
#define FT_EMU_MAX_QEMU_PROPS 4
typedef struct ft_emu_qemu_props {
	char text[FT_EMU_MAX_QEMU_PROPS][48];
	const char *list[FT_EMU_MAX_QEMU_PROPS + 1]; /* NULL-terminated, into text */
} ft_emu_qemu_props;
void ft_emu_switches_qemu(const ft_emu_switches *s, ft_emu_qemu_props *out);

/* Parse one switch's argument into s. On a bad argument return false with why in err. */
bool ft_emu_switch_fault(ft_emu_switches *s, const char *arg, char *err, size_t cap);
bool ft_emu_switch_quirk(ft_emu_switches *s, const char *arg, char *err, size_t cap);
bool ft_emu_switch_option(ft_emu_switches *s, const char *arg, char *err, size_t cap);

/* Copies the fault knobs and quirk overrides into cfg (whose quirk_overrides then point into
 * s, which must outlive the bootloader). */
void ft_emu_switches_apply_dfu(ft_emu_switches *s, ft_dfu_bootloader_config *cfg);

/* Whether any --option value is set (the board's option bytes or NOR registers are programmed
 * at start). */
bool ft_emu_switches_have_options(const ft_emu_switches *s);

/* Programs the --option values through the flash model's option-byte sequence (RM0433 §4.4.4:
 * OPTKEYR keys, OPTSR_PRG and the other *_PRG registers, OPTSTART, wait while OPT_BUSY) and
 * resets the model so that *_CUR shows them, as a power cycle would. FT_OK, or the model's error
 * with diag. */
ft_error ft_emu_switches_apply_flash(const ft_emu_switches *s, ft_flash_h7 *flash, ft_clock *clock,
                                     ft_diag *diag);

/* Writes --option nor-sr and nor-addr into nor as a programmer would, in SPI (1-1-1): each a
 * read of the status register, WREN (06h), its write (nor-sr: WRSR1 01h with the byte;
 * nor-addr: WRSR3 11h with ADP set or cleared, the other SR3 bits kept), then RDSR1 (05h) until
 * WIP clears (the non-volatile write's time on clock); after nor-addr the NOR is power-cycled
 * (ft_nor_reset) so that its address mode follows ADP. FT_OK (also when neither is set), or the
 * model's refusal with diag (a NOR without SR3, e.g. the MX25UM, refuses nor-addr);
 * FT_ERR_TIMEOUT. */
ft_error ft_emu_switches_apply_nor(const ft_emu_switches *s, ft_nor *nor, ft_clock *clock,
                                   ft_diag *diag);

#endif
