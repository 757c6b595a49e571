/* The DFU bootloader model programming flash and RAM: DfuSe erase and write as dfu-util drives
 * them, the addresses the ROM refuses (CATALOGUE D03, D04), write without erase (D07), partial
 * flash words under both knobs (D08), bank 2 (D11), the H743 rev V stuck-dfuDNBUSY quirk
 * (programmers.md §1.8 #1), the H7A3 and H723 geometries and the fault knobs. Flash contents are
 * checked through the flash model's peek, never through the bootloader alone. */
#include "models/tests/dfu_test_host.h"

static host h;

static void setup_h743_rev_y(void)
{
	host_init(&h, "STM32H743ZI", 0x1003 /* rev Y */, FT_CLOCK_MANUAL);
}

static void teardown(void)
{
	host_free(&h);
}

static void reinit(const char *part, uint16_t rev)
{
	host_free(&h);
	host_init(&h, part, rev, FT_CLOCK_MANUAL);
}

/* SET_ADDRESS + ABORT, then one data block at wBlockNum 2, polled. */
static uint8_t write_at(uint32_t addr, const uint8_t *data, uint16_t len)
{
	FT_ASSERT_HEX(host_set_address(&h, addr, NULL), S_OK);
	host_to_idle(&h);
	uint8_t state;
	uint8_t status = host_write_block(&h, 2, data, len, &state);
	host_to_idle(&h);
	return status;
}

static void assert_flash(uint32_t addr, const uint8_t *expected, size_t len)
{
	uint8_t buf[1024];
	CU_ASSERT_FATAL(len <= sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_peek(h.flash, addr, buf, len), FT_OK);
	FT_ASSERT_BYTES(buf, expected, len);
}

static void assert_erased(uint32_t addr, size_t len)
{
	uint8_t ff[1024];
	memset(ff, 0xFF, sizeof(ff));
	assert_flash(addr, ff, len);
}

static unsigned word_state(uint32_t addr)
{
	ft_flash_h7_word_state state = FT_FLASH_H7_WORD_ERASED;
	CU_ASSERT_EQUAL(ft_flash_h7_word_state_at(h.flash, addr, &state), FT_OK);
	return state;
}

/* The first GETSTATUS after an erase answers dfuDNBUSY with the erase's time; a GETSTATUS that
 * comes early is held back (NAKed) until the erase is over, then answers OK/dfuDNLOAD-IDLE. */
static void test_erase_answers_dnbusy_then_holds_an_early_poll_until_done(void)
{
	host_boot(&h);
	uint8_t data[1024];
	fill_pattern(data, sizeof(data), 1);
	FT_ASSERT_HEX(write_at(0x08020000, data, sizeof(data)), S_OK);
	assert_flash(0x08020000, data, sizeof(data));

	const uint8_t erase[5] = {0x41, 0x00, 0x00, 0x02, 0x08};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, erase, 5), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	FT_ASSERT_HEX(poll_ms_of(st), 1000); /* DS12110: 128 KB at x64, typical */
	ft_clock_advance(h.clock, 400 * MS);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_NAK);
	ft_clock_advance(h.clock, 599 * MS);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_NAK);
	ft_clock_advance(h.clock, 1 * MS);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNLOAD_IDLE);
	assert_erased(0x08020000, sizeof(data));
	/* the ROM clears SER and relocks the controller after its operation (CR1 0x0C: LOCK bit 0,
	 * PG bit 1, SER bit 2, START bit 7) */
	FT_ASSERT_HEX(host_reg(&h, 0x0C) & 0x87, 1);
}

/* The ROM starts each flash word as the last one ends: a device first called again when the
 * whole block's time has passed (a host that woke up late) has programmed the whole block by
 * then, 32 flash words x 100 us (DS12110 x64 typ) after the DNLOAD's GETSTATUS. */
static void test_late_call_runs_each_flash_word_from_the_end_of_the_last(void)
{
	host_boot(&h);
	uint8_t data[1024], st[6];
	fill_pattern(data, sizeof(data), 3);
	FT_ASSERT_HEX(host_erase(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 2, data, sizeof(data)), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	ft_clock_advance(h.clock, 3199999);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_NAK);
	ft_clock_advance(h.clock, 1);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNLOAD_IDLE);
	assert_flash(0x08000000, data, sizeof(data));
}

/* DfuSe addressing: block n lands at (n - 2) x wTransferSize + pointer (AN3156). */
static void test_blocks_2_3_4_from_one_pointer_read_back_identical(void)
{
	host_boot(&h);
	static uint8_t data[3][1024], back[1024];
	FT_ASSERT_HEX(host_erase(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	for (uint16_t b = 0; b < 3; b++) {
		uint8_t st[6], state;
		fill_pattern(data[b], 1024, b + 2);
		CU_ASSERT_EQUAL(host_dnload(&h, b + 2, data[b], 1024), FT_USB_OK);
		CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
		FT_ASSERT_HEX(st[4], ST_DNBUSY);
		/* 32 flash words x 100 us (DS12110 x64 typ), rounded down: polled on time, the
		 * GETSTATUS waits out the last 200 us */
		FT_ASSERT_HEX(poll_ms_of(st), 3);
		host_wait(&h, poll_ms_of(st));
		CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_NAK);
		ft_clock_advance(h.clock, 200000);
		CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
		state = st[4];
		FT_ASSERT_HEX(st[0], S_OK);
		FT_ASSERT_HEX(state, ST_DNLOAD_IDLE);
	}
	host_to_idle(&h);
	for (uint16_t b = 0; b < 3; b++) {
		size_t actual = 0;
		CU_ASSERT_EQUAL(host_upload(&h, b + 2, back, 1024, &actual), FT_USB_OK);
		FT_ASSERT_HEX(actual, 1024);
		FT_ASSERT_BYTES(back, data[b], 1024);
		assert_flash(0x08000000 + 1024u * b, data[b], 1024);
	}
	FT_ASSERT_HEX(word_state(0x08000BE0), FT_FLASH_H7_WORD_PROGRAMMED);
	assert_erased(0x08000C00, 32);
	FT_ASSERT_HEX(host_reg(&h, 0x0C) & 0x3, 1); /* PG cleared, LOCK set */
}

/* D03: D2 SRAM is not a window the ROM accepts; CLRSTATUS recovers. */
static void test_set_address_in_d2_sram_is_errtarget_until_clrstatus(void)
{
	host_boot(&h);
	const uint8_t cmd[5] = {0x21, 0x00, 0x00, 0x00, 0x30};
	static const step conversation[] = {
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
	    {1, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_ERR_TARGET, ST_ERROR},
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_ERR_TARGET, ST_ERROR},
	    {0, RT_CLASS_OUT, REQ_CLRSTATUS, 0, FT_USB_OK, -1, -1},
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_IDLE},
	};
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 5), FT_USB_OK);
	host_converse(&h, conversation, sizeof(conversation) / sizeof(conversation[0]));
	/* the pointer kept its value: an upload still reads flash at 0x08000000 */
	uint8_t buf[32];
	CU_ASSERT_EQUAL(host_upload(&h, 2, buf, sizeof(buf), NULL), FT_USB_OK);
}

/* D04: erase is for flash only; the ROM's work area and accepted RAM alike answer errTARGET. */
static void test_erase_outside_flash_is_errtarget(void)
{
	host_boot(&h);
	uint8_t state;
	FT_ASSERT_HEX(host_erase(&h, 0x24000000, &state), S_ERR_TARGET);
	FT_ASSERT_HEX(state, ST_ERROR);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_erase(&h, 0x24005000, &state), S_ERR_TARGET);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x24000000, &state), S_ERR_TARGET);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x20000000, &state), S_ERR_TARGET);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x1FF00000, &state), S_ERR_TARGET);
}

/* D07: flash words are write-once; the ROM's read-back catches the corruption. */
static void test_write_without_erase_fails_with_errverify(void)
{
	host_boot(&h);
	uint8_t a[1024], b[1024];
	fill_pattern(a, sizeof(a), 3);
	fill_pattern(b, sizeof(b), 4);
	FT_ASSERT_HEX(write_at(0x08040000, a, sizeof(a)), S_OK);
	FT_ASSERT_HEX(host_set_address(&h, 0x08040000, NULL), S_OK);
	host_to_idle(&h);
	uint8_t state;
	FT_ASSERT_HEX(host_write_block(&h, 2, b, sizeof(b), &state), S_ERR_VERIFY);
	FT_ASSERT_HEX(state, ST_ERROR);
	CU_ASSERT(word_state(0x08040000) != FT_FLASH_H7_WORD_PROGRAMMED);
}

/* D07, silent variant: without the read-back the ROM reports OK over corrupted words. */
static void test_write_without_erase_is_silent_without_readback(void)
{
	h.cfg.no_readback_verify = true;
	host_boot(&h);
	uint8_t a[64], b[64];
	fill_pattern(a, sizeof(a), 5);
	fill_pattern(b, sizeof(b), 6);
	FT_ASSERT_HEX(write_at(0x08040000, a, sizeof(a)), S_OK);
	FT_ASSERT_HEX(write_at(0x08040000, b, sizeof(b)), S_OK);
	CU_ASSERT(word_state(0x08040000) != FT_FLASH_H7_WORD_PROGRAMMED);
}

/* D08 knob A: a 0x3F4-byte block ends inside a flash word; the ROM force-writes it, 0xFF padded. */
static void test_partial_tail_word_is_padded_under_knob_a(void)
{
	host_boot(&h);
	uint8_t data[0x3F4], ff[12];
	fill_pattern(data, sizeof(data), 7);
	memset(ff, 0xFF, sizeof(ff));
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	assert_flash(0x08000000, data, sizeof(data));
	assert_flash(0x080003F4, ff, sizeof(ff));
	FT_ASSERT_HEX(word_state(0x080003E0), FT_FLASH_H7_WORD_PROGRAMMED);
	/* the word is now closed: completing it later fails */
	FT_ASSERT_HEX(write_at(0x080003F4, data, 12), S_ERR_VERIFY);
}

/* D08 knob B: the partial word is left unwritten; a host that pads itself completes it. */
static void test_partial_tail_word_is_left_unwritten_under_knob_b(void)
{
	h.cfg.partial_word = FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP;
	host_boot(&h);
	uint8_t data[0x400];
	fill_pattern(data, sizeof(data), 8);
	FT_ASSERT_HEX(write_at(0x08000000, data, 0x3F4), S_OK);
	assert_flash(0x08000000, data, 0x3E0);
	FT_ASSERT_HEX(word_state(0x080003C0), FT_FLASH_H7_WORD_PROGRAMMED);
	FT_ASSERT_HEX(word_state(0x080003E0), FT_FLASH_H7_WORD_ERASED);
	assert_erased(0x080003E0, 32);
	memset(data + 0x3F4, 0xFF, 12);
	FT_ASSERT_HEX(write_at(0x080003E0, data + 0x3E0, 32), S_OK);
	assert_flash(0x08000000, data, sizeof(data));
}

/* A block that starts inside a flash word: knob A pads the head as well. */
static void test_unaligned_head_is_padded_under_knob_a(void)
{
	host_boot(&h);
	uint8_t data[48], ff[16];
	fill_pattern(data, sizeof(data), 9);
	memset(ff, 0xFF, sizeof(ff));
	FT_ASSERT_HEX(write_at(0x08000010, data, sizeof(data)), S_OK);
	assert_flash(0x08000000, ff, 16);
	assert_flash(0x08000010, data, sizeof(data));
}

/* D11: bank 2 erases like bank 1 on H743 rev Y and on the dual-core H745. */
static void check_bank2_erase(void)
{
	uint8_t data[256], state;
	fill_pattern(data, sizeof(data), 10);
	FT_ASSERT_HEX(write_at(0x08100000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x081E0000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(host_erase(&h, 0x08100000, &state), S_OK);
	FT_ASSERT_HEX(state, ST_DNLOAD_IDLE);
	assert_erased(0x08100000, sizeof(data));
	assert_flash(0x081E0000, data, sizeof(data));
	host_to_idle(&h);
	FT_ASSERT_HEX(host_erase(&h, 0x081FFFFF, &state), S_OK); /* sector 15 */
	assert_erased(0x081E0000, sizeof(data));
	/* the bank-2 register block did the work: CR2 (0x10C) left clean and relocked */
	FT_ASSERT_HEX(host_reg(&h, 0x10C) & 0x87, 1);
}

static void test_bank2_erase_works_on_h743_rev_y(void)
{
	host_boot(&h);
	CU_ASSERT_FALSE(ft_dfu_bootloader_quirk_active(h.bl, "h74x-rev-v-bank2-erase-dnbusy"));
	check_bank2_erase();
}

static void test_bank2_erase_works_on_h745(void)
{
	reinit("STM32H745ZI", 0x2003);
	host_boot(&h);
	check_bank2_erase();
}

/* programmers.md §1.8 #1: H743 rev V stays in dfuDNBUSY after a bank-2 erase; CubeProgrammer's
 * recovery is CLRSTATUS (errUNKNOWN/dfuERROR), CLRSTATUS again (OK/dfuIDLE). */
static const step rev_v_conversation[] = {
    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
    {1000, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
    {1000, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
    {60000, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
    {0, RT_CLASS_OUT, REQ_ABORT, 0, FT_USB_OK, -1, -1},
    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_DNBUSY},
    {0, RT_CLASS_OUT, REQ_CLRSTATUS, 0, FT_USB_OK, -1, -1},
    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_ERR_UNKNOWN, ST_ERROR},
    {0, RT_CLASS_OUT, REQ_CLRSTATUS, 0, FT_USB_OK, -1, -1},
    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_IDLE},
};

static void test_rev_v_bank2_erase_sticks_in_dnbusy_until_two_clrstatus(void)
{
	reinit("STM32H743ZI", 0x2003);
	host_boot(&h);
	CU_ASSERT_TRUE(ft_dfu_bootloader_quirk_active(h.bl, "h74x-rev-v-bank2-erase-dnbusy"));
	uint8_t data[64];
	fill_pattern(data, sizeof(data), 11);
	FT_ASSERT_HEX(write_at(0x08120000, data, sizeof(data)), S_OK);
	const uint8_t erase[5] = {0x41, 0x00, 0x00, 0x12, 0x08};
	CU_ASSERT_EQUAL(host_dnload(&h, 0, erase, 5), FT_USB_OK);
	host_converse(&h, rev_v_conversation,
	              sizeof(rev_v_conversation) / sizeof(rev_v_conversation[0]));
	assert_erased(0x08120000, sizeof(data)); /* the erase itself was done */
	/* bank 1 is not affected */
	uint8_t state;
	FT_ASSERT_HEX(host_erase(&h, 0x08000000, &state), S_OK);
	FT_ASSERT_HEX(state, ST_DNLOAD_IDLE);
}

static void test_rev_v_quirk_follows_overrides(void)
{
	reinit("STM32H743ZI", 0x2003);
	const ft_dfu_bootloader_quirk off = {"h74x-rev-v-bank2-erase-dnbusy", false};
	h.cfg.quirk_overrides = &off;
	h.cfg.quirk_override_count = 1;
	host_boot(&h);
	uint8_t state;
	FT_ASSERT_HEX(host_erase(&h, 0x08100000, &state), S_OK);
	FT_ASSERT_HEX(state, ST_DNLOAD_IDLE);

	reinit("STM32H743ZI", 0x1003);
	const ft_dfu_bootloader_quirk on = {"h74x-rev-v-bank2-erase-dnbusy", true};
	h.cfg.quirk_overrides = &on;
	h.cfg.quirk_override_count = 1;
	host_boot(&h);
	const uint8_t erase[5] = {0x41, 0x00, 0x00, 0x10, 0x08};
	CU_ASSERT_EQUAL(host_dnload(&h, 0, erase, 5), FT_USB_OK);
	host_converse(&h, rev_v_conversation,
	              sizeof(rev_v_conversation) / sizeof(rev_v_conversation[0]));
}

/* AN2662 §4.5: "No error is returned when performing erase operations on write protected
 * sectors"; programming one is refused (WRPERR -> errWRITE). WPSN_PRG1 is at 0x3C, 0 = protected
 * (devices.md §2.3). */
static void test_write_protected_sector_erase_is_silent_and_write_fails(void)
{
	uint8_t data[64], state;
	fill_pattern(data, sizeof(data), 12);
	host_boot(&h);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	host_program_option(&h, 0x3C, 0xFE);
	FT_ASSERT_HEX(host_erase(&h, 0x08000000, &state), S_OK);
	FT_ASSERT_HEX(state, ST_DNLOAD_IDLE);
	assert_flash(0x08000000, data, sizeof(data));
	host_to_idle(&h);
	FT_ASSERT_HEX(write_at(0x08001000, data, sizeof(data)), S_ERR_WRITE);
	assert_erased(0x08001000, sizeof(data));
}

static void test_mass_erase_clears_both_banks(void)
{
	host_boot(&h);
	uint8_t data[64];
	fill_pattern(data, sizeof(data), 13);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x08100000, data, sizeof(data)), S_OK);
	const uint8_t cmd[1] = {0x41};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	CU_ASSERT(poll_ms_of(st) >= 1000);
	ft_clock_advance(h.clock, poll_ms_of(st) * MS);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNLOAD_IDLE);
	assert_erased(0x08000000, sizeof(data));
	assert_erased(0x08100000, sizeof(data));
}

/* H7A3: 8 KB sectors and 16-byte flash words (RM0455; devices.md §1.5). */
static void test_h7a3_erases_8k_sectors_and_programs_16_byte_words(void)
{
	reinit("STM32H7A3ZI", 0x1000);
	host_boot(&h);
	uint8_t data[1024], state;
	fill_pattern(data, sizeof(data), 14);
	FT_ASSERT_HEX(write_at(0x08002000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x08004000, data, 0x3F8), S_OK);
	assert_flash(0x08004000, data, 0x3F8);
	assert_erased(0x080043F8, 8); /* the 16-byte word, padded */
	FT_ASSERT_HEX(host_erase(&h, 0x08002000, &state), S_OK);
	assert_erased(0x08002000, sizeof(data));
	assert_flash(0x08004000, data, 0x3F8);
	host_to_idle(&h);
	FT_ASSERT_HEX(write_at(0x081FE000, data, 64), S_OK); /* bank 2, last sector */
	FT_ASSERT_HEX(host_erase(&h, 0x081FE000, &state), S_OK);
	assert_erased(0x081FE000, 64);
}

/* H723: one bank of 1 MB; 0x08100000 is nothing. */
static void test_h723_has_a_single_bank(void)
{
	reinit("STM32H723ZG", 0x1001);
	host_boot(&h);
	uint8_t data[1024], state;
	fill_pattern(data, sizeof(data), 15);
	FT_ASSERT_HEX(write_at(0x080FFC00, data, sizeof(data)), S_OK);
	assert_flash(0x080FFC00, data, sizeof(data));
	FT_ASSERT_HEX(host_erase(&h, 0x080E0000, &state), S_OK);
	assert_erased(0x080FFC00, sizeof(data));
	host_to_idle(&h);
	FT_ASSERT_HEX(host_erase(&h, 0x08100000, &state), S_ERR_TARGET);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_set_address(&h, 0x08100000, &state), S_ERR_TARGET);
}

/* H743xG: 2 x 512 KB with a hole between the banks. */
static void test_h743xg_hole_between_banks_is_errtarget(void)
{
	reinit("STM32H743ZG", 0x1003);
	host_boot(&h);
	uint8_t data[64], state;
	fill_pattern(data, sizeof(data), 16);
	FT_ASSERT_HEX(host_set_address(&h, 0x08080000, &state), S_ERR_TARGET);
	host_to_idle(&h);
	FT_ASSERT_HEX(write_at(0x0807FFC0, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x08100000, data, sizeof(data)), S_OK);
	/* a block running off the end of bank 1 into the hole */
	FT_ASSERT_HEX(host_set_address(&h, 0x0807FFE0, NULL), S_OK);
	host_to_idle(&h);
	FT_ASSERT_HEX(host_write_block(&h, 2, data, sizeof(data), &state), S_ERR_TARGET);
}

/* RAM windows are kept in the model's RAM (or the host's buffer) and read back. */
static void test_ram_window_writes_land_in_the_ram_model(void)
{
	static uint8_t dtcm[0x20000 - 0x4100];
	const ft_bootloader_info *info = h.part->bootloader;
	for (unsigned i = 0; i < info->writable_count; i++)
		if (info->writable[i].start == 0x20004100)
			h.cfg.ram[i] = dtcm;
	host_boot(&h);
	uint8_t data[1024], back[1024];
	fill_pattern(data, sizeof(data), 17);
	FT_ASSERT_HEX(write_at(0x24005000, data, sizeof(data)), S_OK);
	uint8_t *ram = ft_dfu_bootloader_ram(h.bl, 0x24005000, sizeof(data));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	FT_ASSERT_BYTES(ram, data, sizeof(data));
	FT_ASSERT_HEX(write_at(0x20004100, data, sizeof(data)), S_OK);
	FT_ASSERT_BYTES(dtcm, data, sizeof(data));
	CU_ASSERT_PTR_EQUAL(ft_dfu_bootloader_ram(h.bl, 0x20004100, 4), dtcm);
	FT_ASSERT_HEX(host_set_address(&h, 0x24005000, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_upload(&h, 2, back, sizeof(back), NULL), FT_USB_OK);
	FT_ASSERT_BYTES(back, data, sizeof(back));
	CU_ASSERT_PTR_NULL(ft_dfu_bootloader_ram(h.bl, 0x24000000, 4));
	CU_ASSERT_PTR_NULL(ft_dfu_bootloader_ram(h.bl, 0x2407FFFF, 2));
}

/* CATALOGUE §6 knob: the device drops off the bus at data block N. */
static void test_disconnect_at_block_drops_the_device(void)
{
	h.cfg.disconnect_at_block = 2;
	host_boot(&h);
	uint8_t data[1024];
	fill_pattern(data, sizeof(data), 18);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(host_set_address(&h, 0x08000400, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 2, data, sizeof(data)), FT_USB_ERROR);
	FT_ASSERT_HEX(h.exit_reason, FT_DFU_BOOTLOADER_EXIT_DISCONNECT);
	FT_ASSERT_HEX(ft_dfu_bootloader_exit_reason(h.bl, NULL), FT_DFU_BOOTLOADER_EXIT_DISCONNECT);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	assert_erased(0x08000400, sizeof(data));
}

/* CATALOGUE §6 knob: a corrupted word after programming; the host's read-back catches it. */
static void test_corrupted_word_is_caught_by_upload(void)
{
	h.cfg.corrupt_block = 1;
	h.cfg.corrupt_double = true;
	host_boot(&h);
	uint8_t data[256], back[256];
	fill_pattern(data, sizeof(data), 19);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(word_state(0x08000000), FT_FLASH_H7_WORD_DOUBLE_ERROR);
	FT_ASSERT_HEX(word_state(0x08000020), FT_FLASH_H7_WORD_PROGRAMMED);
	FT_ASSERT_HEX(host_set_address(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_upload(&h, 2, back, sizeof(back), NULL), FT_USB_STALL);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_ERR_VERIFY);
	FT_ASSERT_HEX(st[4], ST_ERROR);
}

/* CATALOGUE §2C knob: a write into 0x24000000-0x24004FFF wrecks the ROM. */
static void test_workarea_write_crashes_with_the_knob(void)
{
	h.cfg.workarea = FT_DFU_BOOTLOADER_WORKAREA_CRASH;
	host_boot(&h);
	uint8_t data[28] = {0};
	FT_ASSERT_HEX(host_set_address(&h, 0x24000000, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 2, data, sizeof(data)), FT_USB_OK);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	FT_ASSERT_HEX(h.exit_reason, FT_DFU_BOOTLOADER_EXIT_CRASH);
}

static CU_TestInfo tests[] = {
    {"erase_answers_dnbusy_then_holds_an_early_poll_until_done",
     test_erase_answers_dnbusy_then_holds_an_early_poll_until_done},
    {"late_call_runs_each_flash_word_from_the_end_of_the_last",
     test_late_call_runs_each_flash_word_from_the_end_of_the_last},
    {"blocks_2_3_4_from_one_pointer_read_back_identical",
     test_blocks_2_3_4_from_one_pointer_read_back_identical},
    {"set_address_in_d2_sram_is_errtarget_until_clrstatus",
     test_set_address_in_d2_sram_is_errtarget_until_clrstatus},
    {"erase_outside_flash_is_errtarget", test_erase_outside_flash_is_errtarget},
    {"write_without_erase_fails_with_errverify", test_write_without_erase_fails_with_errverify},
    {"write_without_erase_is_silent_without_readback",
     test_write_without_erase_is_silent_without_readback},
    {"partial_tail_word_is_padded_under_knob_a", test_partial_tail_word_is_padded_under_knob_a},
    {"partial_tail_word_is_left_unwritten_under_knob_b",
     test_partial_tail_word_is_left_unwritten_under_knob_b},
    {"unaligned_head_is_padded_under_knob_a", test_unaligned_head_is_padded_under_knob_a},
    {"bank2_erase_works_on_h743_rev_y", test_bank2_erase_works_on_h743_rev_y},
    {"bank2_erase_works_on_h745", test_bank2_erase_works_on_h745},
    {"rev_v_bank2_erase_sticks_in_dnbusy_until_two_clrstatus",
     test_rev_v_bank2_erase_sticks_in_dnbusy_until_two_clrstatus},
    {"rev_v_quirk_follows_overrides", test_rev_v_quirk_follows_overrides},
    {"write_protected_sector_erase_is_silent_and_write_fails",
     test_write_protected_sector_erase_is_silent_and_write_fails},
    {"mass_erase_clears_both_banks", test_mass_erase_clears_both_banks},
    {"h7a3_erases_8k_sectors_and_programs_16_byte_words",
     test_h7a3_erases_8k_sectors_and_programs_16_byte_words},
    {"h723_has_a_single_bank", test_h723_has_a_single_bank},
    {"h743xg_hole_between_banks_is_errtarget", test_h743xg_hole_between_banks_is_errtarget},
    {"ram_window_writes_land_in_the_ram_model", test_ram_window_writes_land_in_the_ram_model},
    {"disconnect_at_block_drops_the_device", test_disconnect_at_block_drops_the_device},
    {"corrupted_word_is_caught_by_upload", test_corrupted_word_is_caught_by_upload},
    {"workarea_write_crashes_with_the_knob", test_workarea_write_crashes_with_the_knob},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfu_bootloader_flash", NULL,     NULL,
	                      setup_h743_rev_y,       teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
