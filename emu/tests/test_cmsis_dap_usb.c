/* The CMSIS-DAP probe as a USB HID device (emu/cmsis_dap_usb.h), driven through the device
 * wrappers as the USB/IP server drives it, as Linux's usbhid and pyOCD 0.13's pyusb backend
 * would: descriptors, configuration, then commands as 64-byte OUT reports and responses as IN
 * reports. Request codes from USB 2.0 §9.4 and HID 1.11 §7; command bytes from the CMSIS-DAP
 * reference. The target is never reached by these commands (DAP_Info only). */
#include "emu/cmsis_dap_usb.h"

#include <string.h>

#include "models/tests/ft_test.h"

typedef struct fixture {
	ft_cmsis_dap_usb *u;
	ft_usb_device dev;
	uint8_t buf[256];
	size_t actual;
} fixture;

static fixture fixture_;
static fixture *const fx = &fixture_;

static ft_error f_unused(void *ctx, ft_diag *diag)
{
	(void)ctx;
	return ft_diag_set(diag, FT_ERR_UNSUPPORTED, "test", "the target is not used here");
}

static const ft_dap_target_ops no_target_ops = {
    .halt = f_unused, .resume = f_unused, .step = f_unused};

static void setup(void)
{
	memset(fx, 0, sizeof(*fx));
	fx->u = ft_cmsis_dap_usb_new(&(ft_dap_target){&no_target_ops, NULL, true}, "FT0042");
	if (fx->u)
		fx->dev = ft_cmsis_dap_usb_device(fx->u);
}

static void teardown(void)
{
	ft_cmsis_dap_usb_free(fx->u);
}

static ft_usb_status control(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                             uint16_t length)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx->u);
	uint8_t setup[8] = {type,
	                    req,
	                    (uint8_t)value,
	                    (uint8_t)(value >> 8),
	                    (uint8_t)index,
	                    (uint8_t)(index >> 8),
	                    (uint8_t)length,
	                    (uint8_t)(length >> 8)};
	memset(fx->buf, 0xEE, sizeof(fx->buf));
	return ft_usb_device_control(&fx->dev, setup, fx->buf, length, &fx->actual);
}

static void configure(void)
{
	FT_ASSERT_HEX(control(0x00, 9, 1, 0, 0), FT_USB_OK); /* SET_CONFIGURATION 1 */
}

/* One OUT report: the command zero-padded to 64 bytes. */
static ft_usb_status out_report(const uint8_t *cmd, size_t len)
{
	uint8_t report[64] = {0};
	memcpy(report, cmd, len);
	size_t actual = 0;
	return ft_usb_device_transfer(&fx->dev, 0x01, report, sizeof(report), &actual);
}

static ft_usb_status in_report(void)
{
	memset(fx->buf, 0xEE, sizeof(fx->buf));
	return ft_usb_device_transfer(&fx->dev, 0x81, fx->buf, 64, &fx->actual);
}

static void test_configuration_has_one_hid_interface_with_two_interrupt_endpoints(void)
{
	FT_ASSERT_HEX(control(0x80, 6, 0x0200, 0, 255), FT_USB_OK);
	FT_ASSERT_HEX(fx->actual, 41);
	static const uint8_t iface[] = {9, 4, 0, 0, 2, 0x03, 0x00, 0x00};
	FT_ASSERT_BYTES(fx->buf + 9, iface, sizeof(iface));
	/* HID descriptor (0x21), then OUT 0x01 and IN 0x81, interrupt, 64 bytes */
	FT_ASSERT_HEX(fx->buf[19], 0x21);
	static const uint8_t eps[] = {7, 5, 0x01, 0x03, 64, 0, 1, 7, 5, 0x81, 0x03, 64, 0, 1};
	FT_ASSERT_BYTES(fx->buf + 27, eps, sizeof(eps));
}

static void test_descriptors_pass_the_host_checks(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx->u);
	ft_diag diag;
	ft_diag_clear(&diag);
	FT_ASSERT_HEX(ft_usb_device_check(&fx->dev, &diag), FT_OK);
}

static void test_product_string_contains_cmsis_dap(void)
{
	FT_ASSERT_HEX(control(0x80, 6, 0x0302, 0x0409, 255), FT_USB_OK);
	char ascii[64] = "";
	for (size_t i = 2; i + 1 < fx->actual && i / 2 < sizeof(ascii); i += 2)
		ascii[i / 2 - 1] = (char)fx->buf[i];
	CU_ASSERT_STRING_EQUAL(ascii, "flashtwin CMSIS-DAP");
}

static void test_report_descriptor_is_served_to_the_interface(void)
{
	FT_ASSERT_HEX(control(0x81, 6, 0x2200, 0, 255), FT_USB_OK);
	CU_ASSERT(fx->actual > 3);
	static const uint8_t vendor_page[] = {0x06, 0x00, 0xFF};
	FT_ASSERT_BYTES(fx->buf, vendor_page, sizeof(vendor_page));
	FT_ASSERT_HEX(fx->buf[fx->actual - 1], 0xC0);                    /* End Collection */
	FT_ASSERT_HEX(control(0x21, 0x0A, 0, 0, 0), FT_USB_OK);          /* SET_IDLE */
	FT_ASSERT_HEX(control(0xA1, 0x01, 0x0100, 0, 64), FT_USB_STALL); /* GET_REPORT */
}

static void test_command_report_is_answered_by_the_next_in_report(void)
{
	configure();
	FT_ASSERT_HEX(in_report(), FT_USB_NAK);
	static const uint8_t packet_size[] = {0x00, 0xFF};
	FT_ASSERT_HEX(out_report(packet_size, sizeof(packet_size)), FT_USB_OK);
	FT_ASSERT_HEX(in_report(), FT_USB_OK);
	FT_ASSERT_HEX(fx->actual, 64);
	static const uint8_t want[8] = {0x00, 0x02, 0x40, 0x00, 0, 0, 0, 0};
	FT_ASSERT_BYTES(fx->buf, want, sizeof(want));
	FT_ASSERT_HEX(in_report(), FT_USB_NAK);
}

static void test_next_command_waits_until_the_response_is_read(void)
{
	configure();
	static const uint8_t caps[] = {0x00, 0xF0};
	FT_ASSERT_HEX(out_report(caps, sizeof(caps)), FT_USB_OK);
	FT_ASSERT_HEX(out_report(caps, sizeof(caps)), FT_USB_NAK);
	FT_ASSERT_HEX(in_report(), FT_USB_OK);
	FT_ASSERT_HEX(out_report(caps, sizeof(caps)), FT_USB_OK);
}

static void test_transfer_cut_short_stalls_and_is_counted(void)
{
	configure();
	/* DAP_Transfer of 200 writes: the zero padding ends inside the 13th */
	static const uint8_t cmd[] = {0x05, 0x00, 0xC8};
	FT_ASSERT_HEX(out_report(cmd, sizeof(cmd)), FT_USB_STALL);
	ft_diag last;
	FT_ASSERT_HEX(ft_cmsis_dap_usb_refused(fx->u, &last), 1);
	FT_ASSERT_HEX(last.code, FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(in_report(), FT_USB_NAK);
}

static void test_endpoints_stall_until_configured(void)
{
	static const uint8_t caps[] = {0x00, 0xF0};
	FT_ASSERT_HEX(out_report(caps, sizeof(caps)), FT_USB_STALL);
	FT_ASSERT_HEX(in_report(), FT_USB_STALL);
}

static CU_TestInfo tests[] = {
    {"configuration_has_one_hid_interface_with_two_interrupt_endpoints",
     test_configuration_has_one_hid_interface_with_two_interrupt_endpoints},
    {"descriptors_pass_the_host_checks", test_descriptors_pass_the_host_checks},
    {"product_string_contains_cmsis_dap", test_product_string_contains_cmsis_dap},
    {"report_descriptor_is_served_to_the_interface",
     test_report_descriptor_is_served_to_the_interface},
    {"command_report_is_answered_by_the_next_in_report",
     test_command_report_is_answered_by_the_next_in_report},
    {"next_command_waits_until_the_response_is_read",
     test_next_command_waits_until_the_response_is_read},
    {"transfer_cut_short_stalls_and_is_counted", test_transfer_cut_short_stalls_and_is_counted},
    {"endpoints_stall_until_configured", test_endpoints_stall_until_configured},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cmsis_dap_usb", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
