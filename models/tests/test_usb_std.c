/* Standard requests answered from descriptors (USB 2.0 §9.4), against the loopback device's
 * descriptors and a fresh state per test. Request codes and setup bytes are written out from
 * the specification's tables 9-2 to 9-6. */
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"
#include "models/usb_std.h"

#include <string.h>

static struct {
	ft_usb_loopback *lb;
	ft_usb_device dev;
	ft_usb_std_state st;
	uint8_t data[256];
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

/* One request: bmRequestType, bRequest, wValue, wIndex, wLength; OUT data from fx.data. */
static ft_usb_status request(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                             uint16_t length)
{
	const uint8_t setup[8] = {type,
	                          req,
	                          (uint8_t)value,
	                          (uint8_t)(value >> 8),
	                          (uint8_t)index,
	                          (uint8_t)(index >> 8),
	                          (uint8_t)length,
	                          (uint8_t)(length >> 8)};
	CU_ASSERT_FATAL(length <= sizeof(fx.data));
	return ft_usb_std_request(&fx.dev, &fx.st, setup, fx.data, length, &fx.actual);
}

static void configure(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x00, 9, 1, 0, 0), FT_USB_OK);
}

static void test_get_descriptor_truncates_to_wlength(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x80, 6, 0x0100, 0, 8), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 8);
	static const uint8_t head[8] = {18, 1, 0x00, 0x02, 0, 0, 0, 64};
	FT_ASSERT_BYTES(fx.data, head, 8);
	FT_ASSERT_HEX(request(0x80, 6, 0x0100, 0, 64), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 18);
}

static void test_get_descriptor_returns_whole_configuration(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x80, 6, 0x0200, 0, 255), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 50);
	FT_ASSERT_HEX(fx.data[2] | fx.data[3] << 8, 50);
}

static void test_get_descriptor_passes_language_id_and_stalls_when_absent(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x80, 6, 0x0302, 0x0409, 255), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 18); /* "loopback" */
	FT_ASSERT_HEX(request(0x80, 6, 0x0304, 0x0409, 255), FT_USB_STALL);
	/* A full-speed-only device has no device qualifier (USB 2.0 §9.6.2). */
	FT_ASSERT_HEX(request(0x80, 6, 0x0600, 0, 10), FT_USB_STALL);
	FT_ASSERT_HEX(request(0x81, 6, 0x0100, 0, 18), FT_USB_STALL);
}

static void test_set_configuration_accepts_declared_values_only(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x00, 9, 2, 0, 0), FT_USB_STALL);
	FT_ASSERT_HEX(fx.st.configuration, 0);
	FT_ASSERT_HEX(request(0x00, 9, 1, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(request(0x80, 8, 0, 0, 1), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 1);
	FT_ASSERT_HEX(fx.data[0], 1);
	FT_ASSERT_HEX(request(0x00, 9, 0, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(fx.st.configuration, 0);
}

static void test_interface_requests_need_a_configuration(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x01, 11, 1, 0, 0), FT_USB_STALL);
	FT_ASSERT_HEX(request(0x81, 10, 0, 0, 1), FT_USB_STALL);
	FT_ASSERT_HEX(request(0x81, 0, 0, 0, 2), FT_USB_STALL);
}

static void test_set_interface_selects_declared_alternate_settings(void)
{
	configure();
	FT_ASSERT_HEX(request(0x01, 11, 1, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(fx.st.alt_setting[0], 1);
	FT_ASSERT_HEX(request(0x81, 10, 0, 0, 1), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0], 1);
	static const uint16_t refused[][2] = {{2, 0}, {1, 1}, {0, 2}, {0x100, 0}, {0, 40}};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		FT_ASSERT_HEX(request(0x01, 11, refused[i][0], refused[i][1], 0), FT_USB_STALL);
	FT_ASSERT_HEX(fx.st.alt_setting[0], 1);
	/* SET_CONFIGURATION returns every interface to alternate setting 0. */
	configure();
	FT_ASSERT_HEX(fx.st.alt_setting[0], 0);
}

static void test_endpoint_halt_is_set_reported_and_cleared(void)
{
	configure();
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x81, 0), FT_USB_OK);
	CU_ASSERT(ft_usb_std_halted(&fx.st, 0x81));
	CU_ASSERT(!ft_usb_std_halted(&fx.st, 0x01));
	FT_ASSERT_HEX(request(0x82, 0, 0, 0x81, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 1);
	FT_ASSERT_HEX(request(0x02, 1, 0, 0x81, 0), FT_USB_OK);
	CU_ASSERT(!ft_usb_std_halted(&fx.st, 0x81));
	FT_ASSERT_HEX(request(0x82, 0, 0, 0x81, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 0);
	/* EP0: accepted, never halted (USB 2.0 §9.4.5). */
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x80, 0), FT_USB_OK);
	CU_ASSERT(!ft_usb_std_halted(&fx.st, 0x80));
}

static void test_endpoint_requests_need_an_active_endpoint(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x81, 0), FT_USB_STALL); /* Address state */
	configure();
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x82, 0), FT_USB_STALL); /* not declared */
	FT_ASSERT_HEX(request(0x02, 3, 1, 0x81, 0), FT_USB_STALL); /* not a feature of it */
	FT_ASSERT_HEX(request(0x01, 11, 1, 0, 0), FT_USB_OK);      /* alt 1 has no endpoints */
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x81, 0), FT_USB_STALL);
	FT_ASSERT_HEX(request(0x82, 0, 0, 0x81, 2), FT_USB_STALL);
}

static void test_set_interface_clears_halt_of_its_endpoints(void)
{
	configure();
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x01, 0), FT_USB_OK);
	CU_ASSERT(ft_usb_std_halted(&fx.st, 0x01));
	FT_ASSERT_HEX(request(0x01, 11, 0, 0, 0), FT_USB_OK);
	CU_ASSERT(!ft_usb_std_halted(&fx.st, 0x01));
}

static void test_device_status_reports_self_powered_and_remote_wakeup(void)
{
	configure();
	FT_ASSERT_HEX(request(0x80, 0, 0, 0, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.actual, 2);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 0x0001);
	FT_ASSERT_HEX(request(0x00, 3, 1, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(request(0x80, 0, 0, 0, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 0x0003);
	FT_ASSERT_HEX(request(0x00, 1, 1, 0, 0), FT_USB_OK);
	CU_ASSERT(!fx.st.remote_wakeup);
	FT_ASSERT_HEX(request(0x00, 3, 2, 0, 0), FT_USB_STALL); /* TEST_MODE */
	FT_ASSERT_HEX(request(0x81, 0, 0, 0, 2), FT_USB_OK);    /* interface status */
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 0);
}

/* The loopback's descriptors with configuration attributes 0x80: bus-powered, no remote
 * wakeup. */
static const uint8_t *bus_powered_descriptor(void *ctx, uint8_t type, uint8_t index,
                                             uint16_t langid, size_t *len)
{
	static uint8_t config[64];
	ft_usb_device lb = ft_usb_loopback_device(ctx);
	const uint8_t *desc = lb.ops->descriptor(lb.ctx, type, index, langid, len);
	if (!desc || type != 2 || *len > sizeof(config))
		return desc;
	memcpy(config, desc, *len);
	config[7] = 0x80;
	return config;
}

static void test_remote_wakeup_and_self_powered_follow_configuration_attributes(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	static const ft_usb_device_ops ops = {.descriptor = bus_powered_descriptor};
	fx.dev.ops = &ops;
	configure();
	FT_ASSERT_HEX(request(0x00, 3, 1, 0, 0), FT_USB_STALL);
	CU_ASSERT(!fx.st.remote_wakeup);
	FT_ASSERT_HEX(request(0x80, 0, 0, 0, 2), FT_USB_OK);
	FT_ASSERT_HEX(fx.data[0] | fx.data[1] << 8, 0x0000);
}

static void test_set_address_accepts_0_to_127(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.lb);
	FT_ASSERT_HEX(request(0x00, 5, 42, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(fx.st.address, 42);
	FT_ASSERT_HEX(request(0x00, 5, 128, 0, 0), FT_USB_STALL);
	FT_ASSERT_HEX(fx.st.address, 42);
}

static void test_wrong_direction_and_other_requests_stall(void)
{
	configure();
	static const uint8_t refused[][3] = {
	    {0x00, 0, 0},  /* GET_STATUS without IN */
	    {0x80, 9, 1},  /* SET_CONFIGURATION as IN */
	    {0x00, 6, 1},  /* GET_DESCRIPTOR as OUT */
	    {0x00, 7, 1},  /* SET_DESCRIPTOR */
	    {0x82, 12, 0}, /* SYNCH_FRAME */
	    {0x40, 9, 1},  /* vendor type */
	    {0x20, 9, 1},  /* class type */
	    {0x00, 99, 0}, /* unknown request */
	    {0x83, 0, 0},  /* GET_STATUS to "other" */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ft_usb_status st = request(refused[i][0], refused[i][1], refused[i][2], 0x81, 2);
		if (st != FT_USB_STALL)
			printf("\n  request %zu answered %s", i, ft_usb_status_name(st));
		FT_ASSERT_HEX(st, FT_USB_STALL);
	}
}

static void test_reset_returns_to_the_default_state(void)
{
	configure();
	FT_ASSERT_HEX(request(0x00, 5, 9, 0, 0), FT_USB_OK);
	FT_ASSERT_HEX(request(0x02, 3, 0, 0x81, 0), FT_USB_OK);
	ft_usb_std_reset(&fx.st);
	FT_ASSERT_HEX(fx.st.configuration, 0);
	FT_ASSERT_HEX(fx.st.address, 0);
	CU_ASSERT(!ft_usb_std_halted(&fx.st, 0x81));
}

static CU_TestInfo tests[] = {
    {"get_descriptor_truncates_to_wlength", test_get_descriptor_truncates_to_wlength},
    {"get_descriptor_returns_whole_configuration", test_get_descriptor_returns_whole_configuration},
    {"get_descriptor_passes_language_id_and_stalls_when_absent",
     test_get_descriptor_passes_language_id_and_stalls_when_absent},
    {"set_configuration_accepts_declared_values_only",
     test_set_configuration_accepts_declared_values_only},
    {"interface_requests_need_a_configuration", test_interface_requests_need_a_configuration},
    {"set_interface_selects_declared_alternate_settings",
     test_set_interface_selects_declared_alternate_settings},
    {"endpoint_halt_is_set_reported_and_cleared", test_endpoint_halt_is_set_reported_and_cleared},
    {"endpoint_requests_need_an_active_endpoint", test_endpoint_requests_need_an_active_endpoint},
    {"set_interface_clears_halt_of_its_endpoints", test_set_interface_clears_halt_of_its_endpoints},
    {"device_status_reports_self_powered_and_remote_wakeup",
     test_device_status_reports_self_powered_and_remote_wakeup},
    {"remote_wakeup_and_self_powered_follow_configuration_attributes",
     test_remote_wakeup_and_self_powered_follow_configuration_attributes},
    {"set_address_accepts_0_to_127", test_set_address_accepts_0_to_127},
    {"wrong_direction_and_other_requests_stall", test_wrong_direction_and_other_requests_stall},
    {"reset_returns_to_the_default_state", test_reset_returns_to_the_default_state},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usb_std", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
