/* The loopback device model: EP0 vendor requests, the bulk FIFO with its NAKs and STALLs, and
 * bus reset. Request codes come from models/usb_loopback.h's documented behaviour. */
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"

#include <string.h>

static struct {
	ft_usb_loopback *lb;
	ft_usb_device dev;
	uint8_t data[FT_USB_LOOPBACK_FIFO_SIZE + 1];
	size_t actual;
} fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.lb = ft_usb_loopback_new();
	if (fx.lb)
		fx.dev = ft_usb_loopback_device(fx.lb);
}

static void teardown(void)
{
	ft_usb_loopback_free(fx.lb);
}

static ft_usb_status control(uint8_t type, uint8_t req, uint16_t value, uint16_t length)
{
	const uint8_t setup[8] = {type, req, (uint8_t)value,  (uint8_t)(value >> 8),
	                          0,    0,   (uint8_t)length, (uint8_t)(length >> 8)};
	return ft_usb_device_control(&fx.dev, setup, fx.data, length, &fx.actual);
}

static ft_usb_status bulk(uint8_t endpoint, const char *out, size_t len)
{
	if (out)
		memcpy(fx.data, out, len);
	return ft_usb_device_transfer(&fx.dev, endpoint, fx.data, len, &fx.actual);
}

static void configure(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(control(0x00, 9, 1, 0), FT_USB_OK);
}

static void test_identity_is_the_pid_codes_test_pid_at_full_speed(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	ft_diag diag;
	FT_ASSERT_HEX(ft_usb_device_check(&fx.dev, &diag), FT_OK);
	FT_ASSERT_HEX(fx.dev.speed, FT_USB_SPEED_FULL);
	FT_ASSERT_HEX(control(0x80, 6, 0x0100, 18), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[8] | fx.data[9] << 8, 0x1209);
	FT_ASSERT_HEX(fx.data[10] | fx.data[11] << 8, 0x0001);
	FT_ASSERT_HEX(control(0x80, 6, 0x0301, 255), FT_USB_OK);
	static const uint8_t flashtwin[] = {20,  3, 'f', 0, 'l', 0, 'a', 0, 's', 0,
	                                    'h', 0, 't', 0, 'w', 0, 'i', 0, 'n', 0};
	FT_ASSERT_HEX(fx.actual, sizeof(flashtwin));
	FT_ASSERT_BYTES(fx.data, flashtwin, sizeof(flashtwin));
}

static void test_vendor_write_then_read_round_trips(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	memcpy(fx.data, "hello", 5);
	FT_ASSERT_HEX(control(0x40, 0x01, 0, 5), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 5);
	memset(fx.data, 0, 8);
	FT_ASSERT_HEX(control(0xc0, 0x02, 0, 8), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 5);
	FT_ASSERT_BYTES(fx.data, "hello", 5);
	FT_ASSERT_HEX(control(0x40, 0x01, 0, FT_USB_LOOPBACK_EP0_SIZE + 1), FT_USB_STALL);
	FT_ASSERT_HEX(control(0x40, 0x03, 0, 0), FT_USB_STALL);
	FT_ASSERT_HEX(control(0x40, 0x04, 0, 0), FT_USB_ERROR);
	FT_ASSERT_HEX(control(0x41, 0x02, 0, 0), FT_USB_STALL); /* to an interface */
	FT_ASSERT_HEX(control(0x40, 0x77, 0, 0), FT_USB_STALL);
}

static void test_bulk_in_naks_until_out_data_arrives(void)
{
	configure();
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_NAK);
	FT_ASSERT_HEX(control(0xc0, 0x05, 0, 2), FT_USB_NAK);
	FT_ASSERT_HEX(bulk(0x01, "abcdef", 6), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 6);
	FT_ASSERT_HEX(control(0xc0, 0x05, 0, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 6);
	FT_ASSERT_HEX(bulk(0x81, NULL, 4), FT_USB_OK);
	FT_ASSERT_BYTES(fx.data, "abcd", 4);
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 2);
	FT_ASSERT_BYTES(fx.data, "ef", 2);
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_NAK);
}

static void test_bulk_out_naks_while_full_and_stalls_when_it_never_fits(void)
{
	configure();
	memset(fx.data, 'x', FT_USB_LOOPBACK_FIFO_SIZE);
	FT_ASSERT_HEX(bulk(0x01, NULL, FT_USB_LOOPBACK_FIFO_SIZE - 1), FT_USB_OK);
	FT_ASSERT_HEX(bulk(0x01, "yz", 2), FT_USB_NAK);
	FT_ASSERT_HEX(bulk(0x01, NULL, FT_USB_LOOPBACK_FIFO_SIZE + 1), FT_USB_STALL);
	FT_ASSERT_HEX(bulk(0x81, NULL, 1), FT_USB_OK);
	FT_ASSERT_HEX(bulk(0x01, "yz", 2), FT_USB_OK);
}

static void test_bulk_stalls_unconfigured_halted_or_in_alternate_setting_1(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(bulk(0x01, "a", 1), FT_USB_STALL);
	configure();
	const uint8_t halt[8] = {0x02, 0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	FT_ASSERT_HEX(ft_usb_device_control(&fx.dev, halt, fx.data, 0, &fx.actual), FT_USB_OK);
	FT_ASSERT_HEX(bulk(0x01, "a", 1), FT_USB_STALL);
	const uint8_t clear[8] = {0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	FT_ASSERT_HEX(ft_usb_device_control(&fx.dev, clear, fx.data, 0, &fx.actual), FT_USB_OK);
	FT_ASSERT_HEX(bulk(0x01, "a", 1), FT_USB_OK);
	const uint8_t alt1[8] = {0x01, 0x0b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	FT_ASSERT_HEX(ft_usb_device_control(&fx.dev, alt1, fx.data, 0, &fx.actual), FT_USB_OK);
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_STALL);
	FT_ASSERT_HEX(bulk(0x82, NULL, 64), FT_USB_STALL);
}

static void test_reset_empties_buffers_and_counts(void)
{
	configure();
	FT_ASSERT_HEX(bulk(0x01, "abc", 3), FT_USB_OK);
	memcpy(fx.data, "ep0", 3);
	FT_ASSERT_HEX(control(0x40, 0x01, 0, 3), FT_USB_OK);
	ft_usb_device_reset(&fx.dev);
	FT_ASSERT_HEX(ft_usb_loopback_resets(fx.lb), 1);
	FT_ASSERT_HEX(control(0xc0, 0x02, 0, 8), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 0);
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_STALL); /* back in the Default state */
	configure();
	FT_ASSERT_HEX(bulk(0x81, NULL, 64), FT_USB_NAK);
}

static CU_TestInfo tests[] = {
    {"identity_is_the_pid_codes_test_pid_at_full_speed",
     test_identity_is_the_pid_codes_test_pid_at_full_speed},
    {"vendor_write_then_read_round_trips", test_vendor_write_then_read_round_trips},
    {"bulk_in_naks_until_out_data_arrives", test_bulk_in_naks_until_out_data_arrives},
    {"bulk_out_naks_while_full_and_stalls_when_it_never_fits",
     test_bulk_out_naks_while_full_and_stalls_when_it_never_fits},
    {"bulk_stalls_unconfigured_halted_or_in_alternate_setting_1",
     test_bulk_stalls_unconfigured_halted_or_in_alternate_setting_1},
    {"reset_empties_buffers_and_counts", test_reset_empties_buffers_and_counts},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usb_loopback", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
