/* The USB device interface: setup parsing, descriptor walking and checking, string
 * descriptors, and what the wrappers guarantee hosts. Descriptor bytes follow USB 2.0 §9.6. */
#include "models/tests/ft_test.h"
#include "models/usb_device.h"

#include <string.h>

/* A device made of two byte arrays: a device descriptor and configuration 0. */
typedef struct table_device {
	uint8_t device[18];
	uint8_t config[80];
	size_t config_len;
} table_device;

static const uint8_t *table_descriptor(void *ctx, uint8_t type, uint8_t index, uint16_t langid,
                                       size_t *len)
{
	table_device *t = ctx;
	(void)langid;
	if (type == 1 && index == 0) {
		*len = sizeof(t->device);
		return t->device;
	}
	if (type == 2 && index == 0) {
		*len = t->config_len;
		return t->config;
	}
	return NULL;
}

/* A control op that claims to have moved data while stalling. */
static ft_usb_status stall_with_actual(void *ctx, const uint8_t setup[8], uint8_t *data, size_t len,
                                       size_t *actual)
{
	(void)ctx, (void)setup, (void)data;
	*actual = len;
	return FT_USB_STALL;
}

static const ft_usb_device_ops table_ops = {
    .descriptor = table_descriptor,
    .control = stall_with_actual,
};

static table_device good;

static void setup(void)
{
	static const uint8_t device[18] = {18,   1,    0x00, 0x02, 0,    0, 0, 64, 0x83,
	                                   0x04, 0x11, 0xdf, 0x00, 0x02, 1, 2, 3,  1};
	/* One interface with alternate settings 0 and 1, a bulk IN endpoint in the first. */
	static const uint8_t config[] = {
	    9, 2, 34, 0,    1, 1,  0, 0x80, 50, 9, 4, 0, 0, 1,    0xfe, 0x01, 0x02,
	    0, 7, 5,  0x81, 2, 64, 0, 0,    9,  4, 0, 1, 0, 0xfe, 0x01, 0x02, 0,
	};
	memset(&good, 0, sizeof(good));
	memcpy(good.device, device, sizeof(device));
	memcpy(good.config, config, sizeof(config));
	good.config_len = sizeof(config);
}

static ft_usb_device device_of(table_device *t)
{
	return (ft_usb_device){.ops = &table_ops, .ctx = t, .speed = FT_USB_SPEED_FULL};
}

static void test_setup_parse_reads_little_endian_words(void)
{
	static const uint8_t raw[8] = {0xa1, 0x03, 0x34, 0x12, 0x78, 0x56, 0x06, 0x00};
	ft_usb_setup s = ft_usb_setup_parse(raw);
	FT_ASSERT_HEX(s.bmRequestType, 0xa1);
	FT_ASSERT_HEX(s.bRequest, 0x03);
	FT_ASSERT_HEX(s.wValue, 0x1234);
	FT_ASSERT_HEX(s.wIndex, 0x5678);
	FT_ASSERT_HEX(s.wLength, 6);
	CU_ASSERT(ft_usb_setup_is_in(&s));
}

static void test_desc_next_walks_and_stops_at_malformed(void)
{
	static const uint8_t buf[] = {3, 0x24, 0xaa, 2, 0x24, 0, 0x24, 4, 0x24};
	size_t pos = 0;
	CU_ASSERT_PTR_EQUAL(ft_usb_desc_next(buf, sizeof(buf), &pos), buf);
	FT_ASSERT_HEX(pos, 3);
	CU_ASSERT_PTR_EQUAL(ft_usb_desc_next(buf, sizeof(buf), &pos), buf + 3);
	FT_ASSERT_HEX(pos, 5);
	/* bLength 0 would never advance. */
	CU_ASSERT_PTR_NULL(ft_usb_desc_next(buf, sizeof(buf), &pos));
	FT_ASSERT_HEX(pos, 5);
	/* bLength 4 with 2 bytes left. */
	pos = 7;
	CU_ASSERT_PTR_NULL(ft_usb_desc_next(buf, sizeof(buf), &pos));
	FT_ASSERT_HEX(pos, 7);
	pos = sizeof(buf);
	CU_ASSERT_PTR_NULL(ft_usb_desc_next(buf, sizeof(buf), &pos));
}

static void test_check_accepts_well_formed_descriptors(void)
{
	ft_usb_device dev = device_of(&good);
	ft_diag diag;
	FT_ASSERT_HEX(ft_usb_device_check(&dev, &diag), FT_OK);
}

static void test_check_names_each_malformed_descriptor(void)
{
	static const struct {
		size_t offset; /* in the configuration when >= 100: offset - 100 */
		uint8_t value;
		const char *message;
	} breaks[] = {
	    {0, 17, "not an 18-byte device descriptor"},
	    {1, 2, "not an 18-byte device descriptor"},
	    {7, 7, "bMaxPacketSize0 7"},
	    {17, 0, "bNumConfigurations 0"},
	    {100 + 1, 4, "header is not a 9-byte configuration descriptor"},
	    {100 + 2, 35, "wTotalLength 35 but 34 bytes returned"},
	    {100 + 4, 33, "bNumInterfaces 33 exceeds 32"},
	    {100 + 9, 8, "interface descriptor at byte 9 is 8 bytes"},
	    {100 + 11, 1, "interface 1 at byte 9, bNumInterfaces 1"},
	    {100 + 20, 0x80, "endpoint descriptor at byte 18 is malformed"},
	    {100 + 18, 6, "endpoint descriptor at byte 18 is malformed"},
	    {100 + 25, 10, "descriptor at byte 25 overruns"},
	    {100 + 12, 2, "interface 0 has no alternate setting 0"},
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		table_device t = good;
		if (breaks[i].offset >= 100)
			t.config[breaks[i].offset - 100] = breaks[i].value;
		else
			t.device[breaks[i].offset] = breaks[i].value;
		ft_usb_device dev = device_of(&t);
		ft_diag diag;
		ft_diag_clear(&diag);
		FT_ASSERT_HEX(ft_usb_device_check(&dev, &diag), FT_ERR_FORMAT);
		if (!strstr(diag.message, breaks[i].message))
			printf("\n  break %zu: %s: %s", i, diag.origin, diag.message);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, breaks[i].message));
	}
}

static void test_check_refuses_missing_configuration_and_ops(void)
{
	table_device t = good;
	t.device[17] = 2; /* configuration 1 does not exist */
	ft_usb_device dev = device_of(&t);
	ft_diag diag;
	FT_ASSERT_HEX(ft_usb_device_check(&dev, &diag), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "configuration descriptor 1");
	CU_ASSERT_STRING_EQUAL(diag.message, "missing");
	ft_usb_device_ops no_control = {.descriptor = table_descriptor};
	ft_usb_device bare = {.ops = &no_control, .ctx = &t};
	FT_ASSERT_HEX(ft_usb_device_check(&bare, &diag), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_usb_device_check(NULL, &diag), FT_ERR_INVALID_ARG);
}

static void test_string_descriptor_is_utf16le_and_truncated_to_fit(void)
{
	uint8_t out[300];
	static const uint8_t ab[] = {8, 3, 'A', 0, 'B', 0, '?', 0};
	FT_ASSERT_HEX(ft_usb_string_descriptor("AB\xc3", out, sizeof(out)), 8);
	FT_ASSERT_BYTES(out, ab, sizeof(ab));
	FT_ASSERT_HEX(ft_usb_string_descriptor("ABC", out, 5), 4);
	FT_ASSERT_HEX(out[0], 4);
	FT_ASSERT_HEX(ft_usb_string_descriptor("", out, sizeof(out)), 2);
	FT_ASSERT_HEX(ft_usb_string_descriptor("A", out, 1), 0);
	char lng[200];
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	/* bLength is one byte: at most 126 characters. */
	FT_ASSERT_HEX(ft_usb_string_descriptor(lng, out, sizeof(out)), 254);
	FT_ASSERT_HEX(out[0], 254);
}

static void test_wrappers_fill_in_for_models(void)
{
	ft_usb_device dev = device_of(&good);
	static const uint8_t setup[8] = {0xc0, 0x01, 0, 0, 0, 0, 4, 0};
	uint8_t data[4];
	size_t actual = 99;
	/* A failed transfer moved nothing, whatever the model said. */
	FT_ASSERT_HEX(ft_usb_device_control(&dev, setup, data, 4, &actual), FT_USB_STALL);
	FT_ASSERT_HEX(actual, 0);
	actual = 99;
	FT_ASSERT_HEX(ft_usb_device_transfer(&dev, 0x81, data, 4, &actual), FT_USB_STALL);
	FT_ASSERT_HEX(actual, 0);
	ft_usb_device_reset(&dev);
	size_t len = 99;
	CU_ASSERT_PTR_NULL(ft_usb_device_descriptor(&dev, 3, 1, 0x0409, &len));
	FT_ASSERT_HEX(len, 0);
	CU_ASSERT_STRING_EQUAL(ft_usb_status_name(FT_USB_NAK), "nak");
	CU_ASSERT_STRING_EQUAL(ft_usb_status_name(FT_USB_ERROR), "error");
}

static CU_TestInfo tests[] = {
    {"setup_parse_reads_little_endian_words", test_setup_parse_reads_little_endian_words},
    {"desc_next_walks_and_stops_at_malformed", test_desc_next_walks_and_stops_at_malformed},
    {"check_accepts_well_formed_descriptors", test_check_accepts_well_formed_descriptors},
    {"check_names_each_malformed_descriptor", test_check_names_each_malformed_descriptor},
    {"check_refuses_missing_configuration_and_ops",
     test_check_refuses_missing_configuration_and_ops},
    {"string_descriptor_is_utf16le_and_truncated_to_fit",
     test_string_descriptor_is_utf16le_and_truncated_to_fit},
    {"wrappers_fill_in_for_models", test_wrappers_fill_in_for_models},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usb_device", NULL, NULL, setup, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
