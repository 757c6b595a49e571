/* Transport wrappers: connection strings, string descriptors, the checks the wrappers make for
 * every backend, and what libusb does on a host without USB (this build machine has none). */
#include "models/tests/ft_test.h"
#include "programmer/transport/transport.h"
#include "programmer/transport/usb_libusb.h"

#include <stdlib.h>
#include <string.h>

typedef struct fixture {
	unsigned controls;
	uint8_t last_setup[8];
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = calloc(1, sizeof(*F));
	if (!F)
		abort();
}

static void teardown_fixture(void)
{
	free(F);
	F = NULL;
}

static void assert_contains(const char *text, const char *part)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "\"%s\" contains \"%s\"", text, part);
	CU_assertImplementation(strstr(text, part) != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
}

static void test_connection_strings_parse_into_fields(void)
{
	ft_transport_address a;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_parse("usb", &a, &d), FT_OK);
	FT_ASSERT_HEX(a.kind, FT_TRANSPORT_USB);
	CU_ASSERT_STRING_EQUAL(a.serial, "");
	FT_ASSERT_HEX(ft_transport_parse("usb:200364500000", &a, &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(a.serial, "200364500000");
	FT_ASSERT_HEX(ft_transport_parse("usbip://127.0.0.1:3241/1-1.2", &a, &d), FT_OK);
	FT_ASSERT_HEX(a.kind, FT_TRANSPORT_USBIP);
	CU_ASSERT_STRING_EQUAL(a.host, "127.0.0.1");
	FT_ASSERT_HEX(a.port, 3241);
	CU_ASSERT_STRING_EQUAL(a.busid, "1-1.2");
	FT_ASSERT_HEX(ft_transport_parse("usbip://lab-board.local", &a, &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(a.host, "lab-board.local");
	FT_ASSERT_HEX(a.port, 3240);
	CU_ASSERT_STRING_EQUAL(a.busid, "");
	FT_ASSERT_HEX(ft_transport_parse("usbip://[::1]:4000/2-1", &a, &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(a.host, "::1");
	FT_ASSERT_HEX(a.port, 4000);
	FT_ASSERT_HEX(ft_transport_parse("usbip://host/3-2", &a, &d), FT_OK);
	FT_ASSERT_HEX(a.port, 3240);
	CU_ASSERT_STRING_EQUAL(a.busid, "3-2");
}

static void test_malformed_connection_strings_name_the_offset(void)
{
	ft_transport_address a;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_parse("usb:", &a, &d), FT_ERR_FORMAT);
	assert_contains(d.message, "offset 4");
	FT_ASSERT_HEX(ft_transport_parse("usb:two words", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h/", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:3240:1", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h_x", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://[::1", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h/1-1 ", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("USB", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse("", &a, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_transport_parse(NULL, &a, &d), FT_ERR_INVALID_ARG);
}

static void test_connection_string_fields_are_bounded(void)
{
	ft_transport_address a;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:0", &a, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:65536", &a, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:65535", &a, &d), FT_OK);
	FT_ASSERT_HEX(ft_transport_parse("usbip://h:0000000000000003240", &a, &d), FT_ERR_RANGE);
	char text[400];
	/* busid: 31 characters fit the wire's char[32], 32 do not. */
	snprintf(text, sizeof(text), "usbip://h/%031d", 1);
	FT_ASSERT_HEX(ft_transport_parse(text, &a, &d), FT_OK);
	snprintf(text, sizeof(text), "usbip://h/%032d", 1);
	FT_ASSERT_HEX(ft_transport_parse(text, &a, &d), FT_ERR_RANGE);
	/* serial: 126 characters fit a string descriptor, 127 do not. */
	memcpy(text, "usb:", 4);
	memset(text + 4, 'S', 127);
	text[4 + 126] = '\0';
	FT_ASSERT_HEX(ft_transport_parse(text, &a, &d), FT_OK);
	text[4 + 126] = 'S';
	text[4 + 127] = '\0';
	FT_ASSERT_HEX(ft_transport_parse(text, &a, &d), FT_ERR_RANGE);
	assert_contains(d.message, "127 characters, at most 126");
	memcpy(text, "usbip://", 8);
	memset(text + 8, 'h', 254);
	text[8 + 254] = '\0';
	FT_ASSERT_HEX(ft_transport_parse(text, &a, &d), FT_ERR_RANGE);
}

static void test_other_schemes_are_not_usb_transports(void)
{
	ft_transport_address a;
	ft_diag d;
	FT_ASSERT_HEX(ft_transport_parse("gdb://127.0.0.1:3333", &a, &d), FT_ERR_UNSUPPORTED);
	assert_contains(d.message, "debug-port");
	FT_ASSERT_HEX(ft_transport_parse("gdb:/dev/ttyACM0", &a, &d), FT_ERR_UNSUPPORTED);
	FT_ASSERT_HEX(ft_transport_parse("serial:///dev/ttyUSB0", &a, &d), FT_ERR_UNSUPPORTED);
	ft_transport *t = (ft_transport *)&a; /* must be reset to NULL on failure */
	FT_ASSERT_HEX(ft_transport_open("gdb://x:1", &t, &d), FT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(t);
}

static void test_string_descriptors_decode_to_ascii(void)
{
	const uint8_t desc[] = {12, 3, 'D', 0, 'F', 0, 'U', 0, 0xE9, 0x00, 0x3A, 0x04};
	char out[16];
	ft_diag d;
	FT_ASSERT_HEX(ft_usb_string_decode(desc, sizeof(desc), out, sizeof(out), &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(out, "DFU??");
	/* Cut to the output buffer, NUL-terminated. */
	FT_ASSERT_HEX(ft_usb_string_decode(desc, sizeof(desc), out, 3, &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(out, "DF");
	/* bLength shorter than what arrived: only bLength counts. */
	const uint8_t shorter[] = {6, 3, 'A', 0, 'B', 0, 'C', 0};
	FT_ASSERT_HEX(ft_usb_string_decode(shorter, sizeof(shorter), out, sizeof(out), &d), FT_OK);
	CU_ASSERT_STRING_EQUAL(out, "AB");
	const uint8_t longer[] = {10, 3, 'A', 0};
	FT_ASSERT_HEX(ft_usb_string_decode(longer, sizeof(longer), out, sizeof(out), &d),
	              FT_ERR_FORMAT);
	const uint8_t odd[] = {5, 3, 'A', 0, 'B'};
	FT_ASSERT_HEX(ft_usb_string_decode(odd, sizeof(odd), out, sizeof(out), &d), FT_ERR_FORMAT);
	const uint8_t wrong_type[] = {4, 2, 'A', 0};
	FT_ASSERT_HEX(ft_usb_string_decode(wrong_type, sizeof(wrong_type), out, sizeof(out), &d),
	              FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_usb_string_decode(desc, 1, out, sizeof(out), &d), FT_ERR_FORMAT);
}

/* A minimal backend that records control transfers and answers them. */
static ft_transfer_status recorder_control(void *ctx, const uint8_t setup[8], uint8_t *data,
                                           size_t len, unsigned timeout_ms, size_t *actual,
                                           ft_diag *diag)
{
	(void)ctx;
	(void)timeout_ms;
	(void)diag;
	F->controls++;
	memcpy(F->last_setup, setup, 8);
	/* A GET_DESCRIPTOR(string) answer that claims more than was asked. */
	if (setup[0] == 0x80 && len > 0) {
		memset(data, 0, len);
		data[0] = 4;
		data[1] = setup[3];
		*actual = len + 100;
		return FT_TRANSFER_OK;
	}
	if (setup[1] == 11 && setup[2] == 9)
		return FT_TRANSFER_STALL;
	return FT_TRANSFER_OK;
}

static void recorder_close(void *ctx)
{
	(void)ctx;
}

static const char *recorder_describe(void *ctx)
{
	(void)ctx;
	return "recorder";
}

static const ft_transport_ops recorder_ops = {
    .name = "recorder",
    .close = recorder_close,
    .control = recorder_control,
    .describe = recorder_describe,
};

static void test_wrappers_check_arguments_and_clamp_answers(void)
{
	ft_transport *t = ft_transport_new(&recorder_ops, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	ft_diag d;
	size_t actual = 99;
	uint8_t buf[8];
	const uint8_t setup8[8] = {0x80, 0x06, 0x00, 0x03, 0x00, 0x00, 0x08, 0x00};
	/* len must equal wLength; timeout 0 ("forever") is refused; neither reaches the backend. */
	FT_ASSERT_HEX(ft_transport_control(t, setup8, buf, 7, 100, &actual, &d), FT_TRANSFER_IO);
	FT_ASSERT_HEX(d.code, FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(actual, 0);
	FT_ASSERT_HEX(ft_transport_control(t, setup8, buf, 8, 0, &actual, &d), FT_TRANSFER_IO);
	FT_ASSERT_HEX(ft_transport_control(t, setup8, NULL, 8, 100, &actual, &d), FT_TRANSFER_IO);
	FT_ASSERT_HEX(F->controls, 0);
	/* A backend claiming more than len is clamped. */
	FT_ASSERT_HEX(ft_transport_control(t, setup8, buf, 8, 100, &actual, &d), FT_TRANSFER_OK);
	FT_ASSERT_HEX(actual, 8);
	/* Without a set_interface op, the standard request goes through control. */
	FT_ASSERT_HEX(ft_transport_set_interface(t, 0, 1, 100, &d), FT_OK);
	const uint8_t set_interface[8] = {0x01, 0x0B, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	FT_ASSERT_BYTES(F->last_setup, set_interface, 8);
	FT_ASSERT_HEX(ft_transport_set_interface(t, 0, 9, 100, &d), FT_ERR_PROTOCOL);
	assert_contains(d.message, "SET_INTERFACE 0 alt 9");
	FT_ASSERT_HEX(ft_transport_set_configuration(t, 1, 100, &d), FT_OK);
	const uint8_t set_configuration[8] = {0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	FT_ASSERT_BYTES(F->last_setup, set_configuration, 8);
	FT_ASSERT_HEX(ft_transport_reset(t, &d), FT_ERR_UNSUPPORTED);
	/* A descriptor of the wrong type is a protocol error. */
	uint8_t desc[32];
	size_t len;
	FT_ASSERT_HEX(
	    ft_transport_get_descriptor(t, 3, 1, 0x0409, desc, sizeof(desc), &len, 100, &d), FT_OK);
	FT_ASSERT_HEX(len, sizeof(desc));
	const uint8_t get_string[8] = {0x80, 0x06, 0x01, 0x03, 0x09, 0x04, 0x20, 0x00};
	FT_ASSERT_BYTES(F->last_setup, get_string, 8);
	ft_transport_close(t);
}

static void test_usb_without_a_device_fails_cleanly(void)
{
	/* This host has no USB: libusb either cannot start or finds nothing. Either way the
	 * answer is an error that says what was looked for, never a crash. */
	ft_transport *t = NULL;
	ft_diag d;
	ft_error err = ft_transport_open("usb", &t, &d);
	CU_ASSERT(err == FT_ERR_NOT_FOUND || err == FT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(t);
	if (err == FT_ERR_NOT_FOUND)
		assert_contains(d.message, "no STM32 DFU device (0483:df11) found");
	else
		assert_contains(d.message, "libusb");
	err = ft_usb_libusb_open("200364500000", &t, &d);
	CU_ASSERT(err == FT_ERR_NOT_FOUND || err == FT_ERR_UNSUPPORTED);
	if (err == FT_ERR_NOT_FOUND)
		assert_contains(d.message, "with serial 200364500000");
	ft_transport_device devs[2];
	size_t count = 99;
	err = ft_transport_list("usb", devs, 2, &count, &d);
	CU_ASSERT(err == FT_OK || err == FT_ERR_UNSUPPORTED);
	FT_ASSERT_HEX(count, 0);
}

static CU_TestInfo tests[] = {
    {"connection_strings_parse_into_fields", test_connection_strings_parse_into_fields},
    {"malformed_connection_strings_name_the_offset",
     test_malformed_connection_strings_name_the_offset},
    {"connection_string_fields_are_bounded", test_connection_string_fields_are_bounded},
    {"other_schemes_are_not_usb_transports", test_other_schemes_are_not_usb_transports},
    {"string_descriptors_decode_to_ascii", test_string_descriptors_decode_to_ascii},
    {"wrappers_check_arguments_and_clamp_answers", test_wrappers_check_arguments_and_clamp_answers},
    {"usb_without_a_device_fails_cleanly", test_usb_without_a_device_fails_cleanly},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"transport", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
