/* The DFU bootloader model and the option bytes: read protection (CATALOGUE D05), Read Unprotect
 * (0x92, O04), the option-byte alternate (raw register image from 0x5200201C; writes of the *_PRG
 * registers, OPTSTART, reset) and the H7A3 OTP alternate. Register offsets from RM0433 §4.9 /
 * devices.md §2.1: OPTSR_CUR 0x1C, OPTSR_PRG 0x20 (RDP bits 15:8), BOOT_CUR 0x40, BOOT_PRG 0x44. */
#include "models/tests/dfu_test_host.h"

static host h;

static void setup_h743(void)
{
	host_init(&h, "STM32H743ZI", 0x1003, FT_CLOCK_MANUAL);
}

static void teardown(void)
{
	host_free(&h);
}

static void set_rdp(uint8_t rdp)
{
	host_program_option(&h, 0x20, (host_reg(&h, 0x20) & ~0xFF00u) | (uint32_t)rdp << 8);
}

static uint8_t write_at(uint32_t addr, const uint8_t *data, uint16_t len)
{
	FT_ASSERT_HEX(host_set_address(&h, addr, NULL), S_OK);
	host_to_idle(&h);
	uint8_t status = host_write_block(&h, 2, data, len, NULL);
	host_to_idle(&h);
	return status;
}

/* An UPLOAD of len bytes at addr; returns the transfer status, bStatus in *status. */
static ft_usb_status upload_at(uint32_t addr, uint8_t *buf, uint16_t len, uint8_t *status)
{
	FT_ASSERT_HEX(host_set_address(&h, addr, NULL), S_OK);
	host_to_idle(&h);
	ft_usb_status r = host_upload(&h, 2, buf, len, NULL);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	*status = st[0];
	host_to_idle(&h);
	return r;
}

/* D05: with RDP level 1 the ROM refuses reads, writes and erases with errVENDOR and touches
 * nothing; Set Address Pointer still works. */
static void test_rdp_level_1_refuses_memory_with_errvendor(void)
{
	host_boot(&h);
	uint8_t data[256], buf[256], state, status;
	fill_pattern(data, sizeof(data), 1);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	set_rdp(0x55);
	FT_ASSERT_HEX(host_erase(&h, 0x08000000, &state), S_ERR_VENDOR);
	FT_ASSERT_HEX(state, ST_ERROR);
	host_to_idle(&h);
	const uint8_t mass[1] = {0x41};
	FT_ASSERT_HEX(host_command(&h, mass, 1, &state), S_ERR_VENDOR);
	host_to_idle(&h);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_ERR_VENDOR);
	FT_ASSERT_HEX(write_at(0x24005000, data, sizeof(data)), S_ERR_VENDOR);
	CU_ASSERT_EQUAL(upload_at(0x08000000, buf, sizeof(buf), &status), FT_USB_STALL);
	FT_ASSERT_HEX(status, S_ERR_VENDOR);
	uint8_t back[256];
	CU_ASSERT_EQUAL(ft_flash_h7_peek(h.flash, 0x08000000, back, sizeof(back)), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	/* the option bytes stay readable, so RDP can be lowered */
	CU_ASSERT_EQUAL(host_set_alt(&h, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 128, &status), FT_USB_OK);
	FT_ASSERT_HEX(buf[5], 0x55); /* OPTSR_CUR bits 15:8 */
}

/* O04: 0x92 regresses RDP to level 0, which mass-erases the flash; the ROM answers the first
 * GETSTATUS (dfuDNBUSY) and then resets: dfu-util "Device disconnects, erases flash and resets
 * now". */
static void test_read_unprotect_erases_flash_and_resets(void)
{
	host_boot(&h);
	uint8_t data[256];
	fill_pattern(data, sizeof(data), 2);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x08100000, data, sizeof(data)), S_OK);
	set_rdp(0x55);
	const uint8_t cmd[1] = {0x92};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	CU_ASSERT(poll_ms_of(st) >= 300);
	FT_ASSERT_HEX(h.exits, 0);
	host_wait(&h, poll_ms_of(st));
	FT_ASSERT_HEX(ft_dfu_bootloader_exit_reason(h.bl, NULL), FT_DFU_BOOTLOADER_EXIT_RESET);
	FT_ASSERT_HEX(h.exits, 1);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	ft_flash_h7_options o;
	ft_flash_h7_get_options(h.flash, &o);
	FT_ASSERT_HEX(o.rdp, 0xAA);
	FT_ASSERT_HEX(o.rdp_level, 0);
	uint8_t ff[256], back[256];
	memset(ff, 0xFF, sizeof(ff));
	CU_ASSERT_EQUAL(ft_flash_h7_peek(h.flash, 0x08000000, back, sizeof(back)), FT_OK);
	FT_ASSERT_BYTES(back, ff, sizeof(back));
	CU_ASSERT_EQUAL(ft_flash_h7_peek(h.flash, 0x08100000, back, sizeof(back)), FT_OK);
	FT_ASSERT_BYTES(back, ff, sizeof(back));
	/* the board resets and the ROM starts again, unprotected */
	ft_flash_h7_reset(h.flash);
	ft_dfu_bootloader_free(h.bl);
	host_boot(&h);
	FT_ASSERT_HEX(write_at(0x08000000, data, sizeof(data)), S_OK);
}

/* devices.md §4: CubeProgrammer reads 308 bytes from 0x5200201C on H743: the raw register
 * image; the alternate itself is 128 bytes. */
static void test_option_alternate_reads_the_register_image(void)
{
	host_boot(&h);
	uint8_t buf[308], status;
	CU_ASSERT_EQUAL(host_set_alt(&h, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 128, &status), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 308, &status), FT_USB_OK);
	for (uint32_t off = 0x1C; off < 0x1C + 308; off += 4) {
		uint32_t v = host_reg(&h, off);
		const uint8_t *p = buf + (off - 0x1C);
		FT_ASSERT_HEX(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, v);
	}
	FT_ASSERT_HEX(buf[5], 0xAA); /* RDP level 0 */
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 128, &status), FT_USB_OK);
	/* past the image, or the full image with the flash alternate selected */
	uint8_t big[309];
	CU_ASSERT_EQUAL(upload_at(0x5200201C, big, 309, &status), FT_USB_STALL);
	FT_ASSERT_HEX(status, S_ERR_TARGET);
	CU_ASSERT_EQUAL(host_set_alt(&h, 0), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 308, &status), FT_USB_STALL);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 128, &status), FT_USB_OK);
}

/* A DNLOAD of the image writes the *_PRG registers and launches OPTSTART; the ROM resets once
 * the change is done [U]. BOOT_PRG is at image offset 0x44 - 0x1C = 0x28. */
static void test_option_write_changes_boot_add0_and_resets(void)
{
	host_boot(&h);
	uint8_t image[128], status, st[6];
	CU_ASSERT_EQUAL(host_set_alt(&h, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, image, sizeof(image), &status), FT_USB_OK);
	image[0x28] = 0x01;
	image[0x29] = 0x08;  /* BOOT_ADD0 = 0x0801: boot from 0x08010000 */
	image[0x04] ^= 0xFF; /* an OPTSR_CUR byte: read-only, ignored */
	FT_ASSERT_HEX(host_set_address(&h, 0x5200201C, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 2, image, sizeof(image)), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	FT_ASSERT_HEX(poll_ms_of(st), 300);
	host_wait(&h, 300);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	FT_ASSERT_HEX(h.exit_reason, FT_DFU_BOOTLOADER_EXIT_RESET);
	ft_flash_h7_options o;
	ft_flash_h7_get_options(h.flash, &o);
	FT_ASSERT_HEX(o.boot_add0, 0x0801);
	FT_ASSERT_HEX(o.rdp, 0xAA);
	FT_ASSERT_HEX(host_reg(&h, 0x40) & 0xFFFF, 0x0801);
	FT_ASSERT_HEX(host_reg(&h, 0x18) & 1, 1); /* OPTCR relocked */
}

/* H723: single bank, the 88-byte alternate is all there is. */
static void test_h723_option_alternate_is_88_bytes(void)
{
	host_free(&h);
	host_init(&h, "STM32H723ZG", 0x1001, FT_CLOCK_MANUAL);
	host_boot(&h);
	uint8_t buf[89], status;
	CU_ASSERT_EQUAL(host_set_alt(&h, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 88, &status), FT_USB_OK);
	FT_ASSERT_HEX(buf[5], 0xAA);
	CU_ASSERT_EQUAL(upload_at(0x5200201C, buf, 89, &status), FT_USB_STALL);
	FT_ASSERT_HEX(status, S_ERR_TARGET);
}

/* H7A3: the OTP alternate programs 16-bit words with OPTCR.PG_OTP (HAL-H7); a partial halfword is
 * padded with 0xFF under knob A. */
static void test_h7a3_otp_programs_halfwords(void)
{
	host_free(&h);
	host_init(&h, "STM32H7A3ZI", 0x1000, FT_CLOCK_MANUAL);
	host_boot(&h);
	uint8_t data[16], back[20], status;
	fill_pattern(data, sizeof(data), 3);
	CU_ASSERT_EQUAL(host_set_alt(&h, 2), FT_USB_OK);
	FT_ASSERT_HEX(write_at(0x08FFF000, data, sizeof(data)), S_OK);
	FT_ASSERT_HEX(write_at(0x08FFF010, data, 3), S_OK);
	CU_ASSERT_EQUAL(ft_flash_h7_peek(h.flash, 0x08FFF000, back, sizeof(back)), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	FT_ASSERT_BYTES(back + 16, data, 3);
	FT_ASSERT_HEX(back[19], 0xFF);
	ft_flash_h7_word_state ws = FT_FLASH_H7_WORD_ERASED;
	CU_ASSERT_EQUAL(ft_flash_h7_word_state_at(h.flash, 0x08FFF012, &ws), FT_OK);
	FT_ASSERT_HEX(ws, FT_FLASH_H7_WORD_PROGRAMMED);
	CU_ASSERT_EQUAL(upload_at(0x08FFF000, back, 16, &status), FT_USB_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	uint8_t state;
	FT_ASSERT_HEX(host_erase(&h, 0x08FFF000, &state),
	              S_ERR_TARGET);                    /* OTP: 'e', not erasable */
	FT_ASSERT_HEX(host_reg(&h, 0x18) & 0x21, 0x01); /* PG_OTP cleared, OPTLOCK set */
}

/* An uncorrectable OTP word: the upload stalls with errVERIFY and the ROM clears the ECC flags it
 * raised in bank 1's SR (0x10, SNECCERR bit 25, DBECCERR bit 26). */
static void test_h7a3_otp_ecc_error_stalls_upload(void)
{
	host_free(&h);
	host_init(&h, "STM32H7A3ZI", 0x1000, FT_CLOCK_MANUAL);
	host_boot(&h);
	uint8_t data[16], back[16], status;
	fill_pattern(data, sizeof(data), 4);
	CU_ASSERT_EQUAL(host_set_alt(&h, 2), FT_USB_OK);
	FT_ASSERT_HEX(write_at(0x08FFF100, data, sizeof(data)), S_OK);
	CU_ASSERT_EQUAL(ft_flash_h7_inject_ecc_error(h.flash, 0x08FFF104, true), FT_OK);
	CU_ASSERT_EQUAL(upload_at(0x08FFF100, back, sizeof(back), &status), FT_USB_STALL);
	FT_ASSERT_HEX(status, S_ERR_VERIFY);
	FT_ASSERT_HEX(host_reg(&h, 0x10) & (3u << 25), 0);
}

/* With an instant clock the option change is over before the first GETSTATUS returns: the
 * answer still goes out (dfuDNBUSY, the nominal duration), then the device is gone. */
static void test_instant_read_unprotect_answers_once_then_resets(void)
{
	host_free(&h);
	host_init(&h, "STM32H743ZI", 0x1003, FT_CLOCK_INSTANT);
	host_boot(&h);
	set_rdp(0x55);
	const uint8_t cmd[1] = {0x92};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 1), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	FT_ASSERT_HEX(poll_ms_of(st), 300 + 6500); /* option change + bank erase of 1 MB */
	FT_ASSERT_HEX(h.exit_reason, FT_DFU_BOOTLOADER_EXIT_RESET);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	ft_flash_h7_options o;
	ft_flash_h7_get_options(h.flash, &o);
	FT_ASSERT_HEX(o.rdp_level, 0);
}

static CU_TestInfo tests[] = {
    {"rdp_level_1_refuses_memory_with_errvendor", test_rdp_level_1_refuses_memory_with_errvendor},
    {"read_unprotect_erases_flash_and_resets", test_read_unprotect_erases_flash_and_resets},
    {"option_alternate_reads_the_register_image", test_option_alternate_reads_the_register_image},
    {"option_write_changes_boot_add0_and_resets", test_option_write_changes_boot_add0_and_resets},
    {"h723_option_alternate_is_88_bytes", test_h723_option_alternate_is_88_bytes},
    {"h7a3_otp_programs_halfwords", test_h7a3_otp_programs_halfwords},
    {"h7a3_otp_ecc_error_stalls_upload", test_h7a3_otp_ecc_error_stalls_upload},
    {"instant_read_unprotect_answers_once_then_resets",
     test_instant_read_unprotect_answers_once_then_resets},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfu_bootloader_options", NULL, NULL, setup_h743, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
