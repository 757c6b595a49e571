/* libFuzzer target: a hostile DFU device. The input scripts the device's side of every control
 * transfer (one byte picks the outcome, IN transfers then take a length byte and that many
 * bytes); the engine enumerates it and runs erase, write, verify, option bytes and leave. The
 * descriptor and GETSTATUS parsers also get the raw input. Nothing a device answers may crash
 * the engine, and every wait must stay bounded (the sleep function only counts). */
#include "programmer/dfuse/engine.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct stream {
	const uint8_t *data;
	size_t size, pos;
	uint64_t slept_ms;
} stream;

static int next_byte(stream *s)
{
	return s->pos < s->size ? s->data[s->pos++] : -1;
}

static ft_transfer_status fuzz_control(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                       unsigned timeout_ms, size_t *actual, ft_diag *diag)
{
	(void)timeout_ms;
	(void)diag;
	stream *s = ctx;
	int pick = next_byte(s);
	if (pick < 0)
		return FT_TRANSFER_NO_DEVICE;
	/* Mostly OK, so that the engine gets far. */
	switch (pick & 0x0F) {
	case 0x0D: return FT_TRANSFER_STALL;
	case 0x0E: return FT_TRANSFER_TIMEOUT;
	case 0x0F: return FT_TRANSFER_IO;
	default: break;
	}
	if (!(setup[0] & 0x80)) {
		*actual = len;
		return FT_TRANSFER_OK;
	}
	int n = next_byte(s);
	if (n < 0)
		return FT_TRANSFER_NO_DEVICE;
	size_t want = (size_t)n;
	if (len > 255 && (pick & 0x10))
		want = len; /* whole blocks for uploads */
	if (want > len)
		want = len;
	for (size_t i = 0; i < want; i++) {
		int b = next_byte(s);
		data[i] = (uint8_t)(b < 0 ? 0xFF : b);
	}
	*actual = want;
	return FT_TRANSFER_OK;
}

static void fuzz_close(void *ctx)
{
	(void)ctx;
}

static const char *fuzz_describe(void *ctx)
{
	(void)ctx;
	return "fuzz";
}

static const ft_transport_ops fuzz_ops = {
    .name = "fuzz",
    .close = fuzz_close,
    .control = fuzz_control,
    .describe = fuzz_describe,
};

static void count_sleep(void *user, uint32_t ms)
{
	stream *s = user;
	s->slept_ms += ms;
}

static void parsers(const uint8_t *data, size_t size)
{
	ft_dfuse_config cfg;
	ft_diag diag;
	if (ft_dfuse_parse_config(data, size, &cfg, &diag) == FT_OK)
		assert(cfg.alt_count >= 1 && cfg.alt_count <= FT_DFUSE_MAX_ALTS);
	ft_dfu_getstatus st;
	(void)ft_dfu_parse_getstatus(data, size < 6 ? size : 6, &st, &diag);
	char text[64];
	if (ft_usb_string_decode(data, size, text, sizeof(text), &diag) == FT_OK)
		assert(strlen(text) < sizeof(text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parsers(data, size);
	stream s = {data, size, 0, 0};
	ft_transport *t = ft_transport_new(&fuzz_ops, &s);
	if (!t)
		return 0;
	ft_dfuse_options opts = {.sleep_ms = count_sleep, .user = &s, .force = (size & 1) != 0};
	ft_dfuse_dev *dev;
	ft_diag diag;
	if (ft_dfuse_open(t, &opts, &dev, &diag) == FT_OK) {
		uint8_t image[3000], buf[512];
		memset(image, 0x5A, sizeof(image));
		size_t len;
		(void)ft_dfuse_erase_range(dev, 0x08000000, sizeof(image), &diag);
		(void)ft_dfuse_write(dev, 0x08000000, image, sizeof(image), &diag);
		(void)ft_dfuse_verify(dev, 0x08000000, image, sizeof(image), &diag);
		(void)ft_dfuse_read_option_bytes(dev, buf, sizeof(buf), &len, &diag);
		(void)ft_dfuse_mass_erase(dev, &diag);
		(void)ft_dfuse_leave(dev, 0x08000000, &diag);
		ft_dfuse_close(dev);
	}
	/* Bounded: every command's sleeps are capped (the largest cap, a few commands). */
	assert(s.slept_ms <= 20ull * FT_DFUSE_CAP_MASS_ERASE_MS);
	ft_transport_close(t);
	return 0;
}
