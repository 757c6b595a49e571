/* libFuzzer target: control transfers as a USB host (or a hostile USB/IP peer) may send them to
 * the DFU bootloader model. Nothing a peer sends may crash the model or break its contract.
 *
 * Input: byte 0 picks the part and revision, byte 1 the knobs; then records of
 *   kind (1 byte): bit 7 set -> raw setup (8 bytes follow); clear -> a DFU class request
 *     bRequest = kind & 7 with wValue and wLength (2 bytes each, LE) following;
 *     bits 4-6: 1 = advance the clock by wValue ms first, 2 = bus reset first, 3 = poll first
 *   then wLength data bytes for an OUT request (zero-padded when the input runs out).
 */
#include "models/clock.h"
#include "models/dfu_bootloader.h"
#include "models/flash_h7.h"
#include "models/parts.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *part;
	uint16_t rev_id;
} boards[] = {
    {"STM32H743ZI", 0x2003}, {"STM32H743ZI", 0x1003}, {"STM32H743ZG", 0x1003},
    {"STM32H723ZG", 0x1001}, {"STM32H7A3ZI", 0x1000}, {"STM32H7A3ZI", 0x1001},
    {"STM32H745ZI", 0x2003}, {"STM32H750VB", 0x2003},
};

typedef struct input {
	const uint8_t *p;
	size_t left;
} input;

static uint8_t take(input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t take16(input *in)
{
	uint16_t lo = take(in);
	return (uint16_t)(lo | take(in) << 8);
}

static void run(ft_usb_device *dev, ft_dfu_bootloader *bl, ft_clock *clock, input *in)
{
	static uint8_t buf[4096];
	while (in->left) {
		uint8_t kind = take(in);
		uint8_t setup[8];
		if (kind & 0x80) {
			for (unsigned i = 0; i < 8; i++)
				setup[i] = take(in);
		} else {
			uint8_t req = kind & 7;
			uint16_t value = take16(in), len = take16(in) & 0x7FF;
			bool in_dir = req == 2 || req == 3 || req == 5;
			uint8_t s[8] = {in_dir ? 0xA1 : 0x21,
			                req,
			                (uint8_t)value,
			                (uint8_t)(value >> 8),
			                0,
			                0,
			                (uint8_t)len,
			                (uint8_t)(len >> 8)};
			memcpy(setup, s, sizeof(s));
			switch (kind >> 4 & 7) {
			case 1: ft_clock_advance(clock, (uint64_t)value * 1000000u); break;
			case 2: ft_usb_device_reset(dev); break;
			case 3: ft_dfu_bootloader_poll(bl); break;
			default: break;
			}
		}
		size_t len = (size_t)(setup[6] | setup[7] << 8);
		if (len > sizeof(buf))
			len = sizeof(buf);
		setup[6] = (uint8_t)len;
		setup[7] = (uint8_t)(len >> 8);
		memset(buf, 0, len);
		if (!(setup[0] & 0x80))
			for (size_t i = 0; i < len; i++)
				buf[i] = take(in);
		size_t actual = 0;
		ft_usb_status r = ft_usb_device_control(dev, setup, buf, len, &actual);
		assert(actual <= len);
		assert(r == FT_USB_OK || actual == 0);
		uint8_t state = 0xFF;
		const uint8_t getstate[8] = {0xA1, 5, 0, 0, 0, 0, 1, 0};
		actual = 0;
		r = ft_usb_device_control(dev, getstate, &state, 1, &actual);
		assert(r != FT_USB_OK || state <= 10);
		if (r == FT_USB_ERROR)
			assert(ft_dfu_bootloader_exit_reason(bl, NULL) !=
			       FT_DFU_BOOTLOADER_EXIT_NONE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input in = {data, size};
	unsigned pick = take(&in) % (sizeof(boards) / sizeof(boards[0]));
	uint8_t knobs = take(&in);
	const ft_part *part = ft_part_find(boards[pick].part);
	assert(part);
	ft_clock *clock = ft_clock_new((knobs & 0x80) ? FT_CLOCK_INSTANT : FT_CLOCK_MANUAL);
	assert(clock);
	ft_flash_h7_config fc = {
	    .geometry = &part->flash,
	    .clock = clock,
	    .fresh = true,
	    .dual_core = part->family == FT_FAMILY_H74X_DUAL_CORE,
	};
	ft_flash_h7 *flash = NULL;
	ft_error err = ft_flash_h7_new(&fc, &flash, NULL);
	assert(err == FT_OK);
	ft_dfu_bootloader_config cfg = {
	    .part = part,
	    .rev_id = boards[pick].rev_id,
	    .flash = flash,
	    .clock = clock,
	    .partial_word = (knobs & 1) ? FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP
	                                : FT_DFU_BOOTLOADER_PARTIAL_WORD_PAD,
	    .no_readback_verify = (knobs & 2) != 0,
	    .workarea =
	        (knobs & 4) ? FT_DFU_BOOTLOADER_WORKAREA_CRASH : FT_DFU_BOOTLOADER_WORKAREA_REFUSE,
	    .disconnect_at_block = (knobs >> 3) & 3,
	    .corrupt_block = (knobs >> 5) & 3,
	    .corrupt_double = (knobs & 0x40) != 0,
	};
	ft_dfu_bootloader *bl = NULL;
	err = ft_dfu_bootloader_new(&cfg, &bl, NULL);
	assert(err == FT_OK);
	ft_usb_device dev = ft_dfu_bootloader_usb_device(bl);
	const uint8_t set_config[8] = {0x00, 9, 1, 0, 0, 0, 0, 0};
	size_t actual = 0;
	ft_usb_status r = ft_usb_device_control(&dev, set_config, NULL, 0, &actual);
	assert(r == FT_USB_OK);
	run(&dev, bl, clock, &in);
	ft_dfu_bootloader_free(bl);
	ft_flash_h7_free(flash);
	ft_clock_free(clock);
	return 0;
}
