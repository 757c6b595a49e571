/* USB/IP wire format against bytes written from usbip_protocol.rst (emulators.md §4.1): field
 * offsets, big-endian headers, raw setup bytes, signed fields, short buffers. */
#include "models/usbip_proto.h"
#include "models/tests/ft_test.h"
#include "models/usb_loopback.h"

#include <string.h>

static void test_cmd_submit_decodes_the_documents_interrupt_in_example(void)
{
	/* "CmdIntrIN: 00000001 00000d05 0001000f 00000001 00000001 00000200 00000040 ffffffff
	 *  00000000 00000004 00000000 00000000" */
	static const uint8_t wire[48] = {
	    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0d, 0x05, 0x00, 0x01, 0x00, 0x0f,
	    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00,
	    0x00, 0x00, 0x00, 0x40, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	ft_usbip_urb_header h;
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(wire, sizeof(wire), &h, NULL), FT_OK);
	FT_ASSERT_HEX(h.command, 1);
	FT_ASSERT_HEX(h.seqnum, 0xd05);
	FT_ASSERT_HEX(h.devid, 0x1000f);
	FT_ASSERT_HEX(h.direction, 1);
	FT_ASSERT_HEX(h.ep, 1);
	FT_ASSERT_HEX(h.u.cmd_submit.transfer_flags, 0x200);
	FT_ASSERT_HEX(h.u.cmd_submit.transfer_buffer_length, 0x40);
	CU_ASSERT_EQUAL(h.u.cmd_submit.start_frame, -1);
	CU_ASSERT_EQUAL(h.u.cmd_submit.number_of_packets, 0);
	CU_ASSERT_EQUAL(h.u.cmd_submit.interval, 4);
	uint8_t again[48];
	FT_ASSERT_HEX(ft_usbip_urb_header_encode(&h, again), 48);
	FT_ASSERT_BYTES(again, wire, sizeof(wire));
}

static void test_setup_bytes_are_copied_not_swapped(void)
{
	ft_usbip_urb_header h = {.command = FT_USBIP_CMD_SUBMIT, .seqnum = 2, .devid = 0x10002};
	static const uint8_t setup[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00};
	memcpy(h.u.cmd_submit.setup, setup, 8);
	h.u.cmd_submit.transfer_buffer_length = 18;
	h.direction = 1;
	uint8_t wire[48];
	ft_usbip_urb_header_encode(&h, wire);
	FT_ASSERT_BYTES(wire + 0x28, setup, 8);
	static const uint8_t length[4] = {0x00, 0x00, 0x00, 0x12};
	FT_ASSERT_BYTES(wire + 0x18, length, 4);
	ft_usbip_urb_header back;
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(wire, 48, &back, NULL), FT_OK);
	FT_ASSERT_BYTES(back.u.cmd_submit.setup, setup, 8);
}

static void test_ret_submit_encodes_status_actual_and_zero_padding(void)
{
	ft_usbip_urb_header h = {.command = FT_USBIP_RET_SUBMIT, .seqnum = 0x1234};
	h.u.ret_submit.status = -32;
	h.u.ret_submit.actual_length = 18;
	uint8_t wire[48];
	memset(wire, 0xaa, sizeof(wire));
	FT_ASSERT_HEX(ft_usbip_urb_header_encode(&h, wire), 48);
	static const uint8_t expected[48] = {
	    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x12, 0x34, 0,    0,    0, 0, 0, 0,
	    0,    0,    0,    0,    0,    0,    0xff, 0xff, 0xff, 0xe0, 0, 0, 0, 0x12,
	};
	FT_ASSERT_BYTES(wire, expected, sizeof(expected));
}

static void test_unlink_messages_carry_seqnum_and_status(void)
{
	ft_usbip_urb_header cmd = {.command = FT_USBIP_CMD_UNLINK, .seqnum = 7, .devid = 0x10002};
	cmd.u.cmd_unlink.seqnum = 5;
	uint8_t wire[48];
	ft_usbip_urb_header_encode(&cmd, wire);
	static const uint8_t cmd_head[24] = {0, 0, 0, 2, 0, 0, 0, 7, 0, 1, 0, 2,
	                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
	FT_ASSERT_BYTES(wire, cmd_head, sizeof(cmd_head));
	static const uint8_t ret[48] = {0, 0, 0, 4, 0, 0, 0, 7, 0,    0,    0,    0,
	                                0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x98};
	ft_usbip_urb_header h;
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(ret, sizeof(ret), &h, NULL), FT_OK);
	FT_ASSERT_HEX(h.command, FT_USBIP_RET_UNLINK);
	CU_ASSERT_EQUAL(h.u.ret_unlink.status, -104);
	ft_usbip_urb_header_encode(&h, wire);
	FT_ASSERT_BYTES(wire, ret, sizeof(ret));
}

static void test_signed_fields_cover_the_whole_range(void)
{
	static const uint8_t wire[48] = {0,           0,    0,           3,    [20] = 0x80, 0,
	                                 0,           0,    [28] = 0x7f, 0xff, 0xff,        0xff,
	                                 [32] = 0xff, 0xff, 0xff,        0xff};
	ft_usbip_urb_header h;
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(wire, sizeof(wire), &h, NULL), FT_OK);
	CU_ASSERT_EQUAL(h.u.ret_submit.status, INT32_MIN);
	CU_ASSERT_EQUAL(h.u.ret_submit.start_frame, INT32_MAX);
	CU_ASSERT_EQUAL(h.u.ret_submit.number_of_packets, -1);
}

static void test_unknown_command_is_a_format_error(void)
{
	static const uint8_t wire[48] = {0, 0, 0, 9};
	ft_usbip_urb_header h;
	ft_diag diag;
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(wire, sizeof(wire), &h, &diag), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.message, "unknown command 0x00000009");
}

static void test_decoders_refuse_short_buffers(void)
{
	static const uint8_t zeros[FT_USBIP_DEVICE_SIZE] = {0};
	ft_usbip_op_header op;
	ft_usbip_urb_header h;
	ft_usbip_device d;
	ft_usbip_interface intf;
	char busid[FT_USBIP_BUSID_SIZE + 1];
	FT_ASSERT_HEX(ft_usbip_op_header_decode(zeros, 7, &op), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_usbip_urb_header_decode(zeros, 47, &h, NULL), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_usbip_device_decode(zeros, 311, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_usbip_interface_decode(zeros, 3, &intf), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_usbip_import_busid_decode(zeros, 31, busid, NULL), FT_ERR_RANGE);
}

static void test_op_headers_and_import_request_encode_version_0111(void)
{
	uint8_t wire[40];
	FT_ASSERT_HEX(ft_usbip_op_header_encode(FT_USBIP_OP_REP_IMPORT, FT_USBIP_ST_NA, wire), 8);
	static const uint8_t refused[8] = {0x01, 0x11, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01};
	FT_ASSERT_BYTES(wire, refused, 8);
	FT_ASSERT_HEX(ft_usbip_import_request_encode("1-1", wire), 40);
	static const uint8_t head[12] = {0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '1', '-', '1', 0};
	FT_ASSERT_BYTES(wire, head, sizeof(head));
	char busid[FT_USBIP_BUSID_SIZE + 1];
	FT_ASSERT_HEX(ft_usbip_import_busid_decode(wire + 8, 32, busid, NULL), FT_OK);
	CU_ASSERT_STRING_EQUAL(busid, "1-1");
	ft_usbip_op_header op;
	FT_ASSERT_HEX(ft_usbip_op_header_decode(wire, 8, &op), FT_OK);
	FT_ASSERT_HEX(op.version, 0x0111);
	FT_ASSERT_HEX(op.code, 0x8003);
}

static void test_busid_filling_all_32_bytes_is_a_format_error(void)
{
	uint8_t field[32];
	memset(field, '1', sizeof(field));
	char busid[FT_USBIP_BUSID_SIZE + 1];
	ft_diag diag;
	FT_ASSERT_HEX(ft_usbip_import_busid_decode(field, sizeof(field), busid, &diag),
	              FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "not NUL-terminated"));
}

static void test_device_record_fields_sit_at_the_documented_offsets(void)
{
	ft_usbip_device d = {
	    .path = "/sys/devices/x",
	    .busid = "3-2",
	    .busnum = 3,
	    .devnum = 7,
	    .speed = 2,
	    .idVendor = 0x0483,
	    .idProduct = 0xdf11,
	    .bcdDevice = 0x0200,
	    .bDeviceClass = 0xef,
	    .bDeviceSubClass = 0x02,
	    .bDeviceProtocol = 0x01,
	    .bConfigurationValue = 1,
	    .bNumConfigurations = 1,
	    .bNumInterfaces = 1,
	};
	uint8_t wire[312];
	memset(wire, 0xaa, sizeof(wire));
	FT_ASSERT_HEX(ft_usbip_device_encode(&d, wire), 312);
	/* OP_REP_DEVLIST offsets minus its 12-byte head: path 0x0C, busid 0x10C, ... */
	CU_ASSERT_STRING_EQUAL((const char *)wire, "/sys/devices/x");
	FT_ASSERT_HEX(wire[0xff], 0); /* NUL-padded */
	CU_ASSERT_STRING_EQUAL((const char *)wire + 0x100, "3-2");
	static const uint8_t tail[] = {
	    0,    0,    0,    3,    0,    0,    0,    7,    0,    0, 0, 2,
	    0x04, 0x83, 0xdf, 0x11, 0x02, 0x00, 0xef, 0x02, 0x01, 1, 1, 1,
	};
	FT_ASSERT_BYTES(wire + 0x120, tail, sizeof(tail));
	ft_usbip_device back;
	FT_ASSERT_HEX(ft_usbip_device_decode(wire, sizeof(wire), &back), FT_OK);
	CU_ASSERT_STRING_EQUAL(back.path, d.path);
	CU_ASSERT_STRING_EQUAL(back.busid, d.busid);
	FT_ASSERT_HEX(back.idProduct, 0xdf11);
	FT_ASSERT_HEX(back.bcdDevice, 0x0200);
	FT_ASSERT_HEX(back.bNumInterfaces, 1);
	ft_usbip_interface intf = {0xfe, 0x01, 0x02}, intf_back;
	FT_ASSERT_HEX(ft_usbip_interface_encode(&intf, wire), 4);
	static const uint8_t intf_wire[4] = {0xfe, 0x01, 0x02, 0x00};
	FT_ASSERT_BYTES(wire, intf_wire, 4);
	FT_ASSERT_HEX(ft_usbip_interface_decode(wire, 4, &intf_back), FT_OK);
	FT_ASSERT_HEX(intf_back.bInterfaceSubClass, 0x01);
}

static void test_describe_reads_identity_and_interfaces_from_descriptors(void)
{
	ft_usb_loopback *lb = ft_usb_loopback_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
	ft_usb_device dev = ft_usb_loopback_device(lb);
	ft_usbip_device d;
	ft_usbip_device_describe(&dev, "/p", "1-1", 1, 2, &d);
	CU_ASSERT_STRING_EQUAL(d.busid, "1-1");
	FT_ASSERT_HEX(d.speed, 2);
	FT_ASSERT_HEX(d.idVendor, 0x1209);
	FT_ASSERT_HEX(d.idProduct, 0x0001);
	FT_ASSERT_HEX(d.bcdDevice, 0x0100);
	FT_ASSERT_HEX(d.bConfigurationValue, 1);
	FT_ASSERT_HEX(d.bNumConfigurations, 1);
	FT_ASSERT_HEX(d.bNumInterfaces, 2);
	FT_ASSERT_HEX(d.interfaces[0].bInterfaceClass, 0xff);
	FT_ASSERT_HEX(d.interfaces[0].bInterfaceSubClass, 0x00);
	FT_ASSERT_HEX(d.interfaces[1].bInterfaceSubClass, 0x42);
	FT_ASSERT_HEX(d.interfaces[1].bInterfaceProtocol, 0x01);
	ft_usb_loopback_free(lb);
}

static void test_devlist_head_carries_the_device_count(void)
{
	uint8_t wire[12];
	FT_ASSERT_HEX(ft_usbip_devlist_reply_encode(2, wire), 12);
	/* version 0x0111, OP_REP_DEVLIST 0x0005, status 0, number of devices 2 */
	static const uint8_t expected[12] = {0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 2};
	FT_ASSERT_BYTES(wire, expected, sizeof(expected));
	uint32_t count = 0;
	FT_ASSERT_HEX(ft_usbip_devlist_count_decode(wire + 8, 4, &count), FT_OK);
	FT_ASSERT_HEX(count, 2);
	FT_ASSERT_HEX(ft_usbip_devlist_count_decode(wire + 8, 3, &count), FT_ERR_RANGE);
}

static void test_devlist_interfaces_fill_the_device_record(void)
{
	ft_usbip_device d;
	memset(&d, 0, sizeof(d));
	d.bNumInterfaces = 2;
	static const uint8_t wire[8] = {0xfe, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00};
	FT_ASSERT_HEX(ft_usbip_devlist_interfaces_decode(wire, 7, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_usbip_devlist_interfaces_decode(wire, 8, &d), FT_OK);
	FT_ASSERT_HEX(d.interfaces[0].bInterfaceClass, 0xfe);
	FT_ASSERT_HEX(d.interfaces[0].bInterfaceProtocol, 0x02);
	FT_ASSERT_HEX(d.interfaces[1].bInterfaceClass, 0x0a);
}

static void test_devlist_keeps_the_first_interfaces_of_a_long_list(void)
{
	ft_usbip_device d;
	memset(&d, 0, sizeof(d));
	d.bNumInterfaces = 255;
	uint8_t wire[255 * 4];
	for (size_t i = 0; i < 255; i++) {
		wire[4 * i] = (uint8_t)i;
		wire[4 * i + 1] = wire[4 * i + 2] = wire[4 * i + 3] = 0;
	}
	FT_ASSERT_HEX(ft_usbip_devlist_interfaces_decode(wire, sizeof(wire), &d), FT_OK);
	FT_ASSERT_HEX(d.interfaces[31].bInterfaceClass, 31);
}

static void test_op_status_names_follow_usbip_common(void)
{
	CU_ASSERT_STRING_EQUAL(ft_usbip_op_status_name(0), "ST_OK");
	CU_ASSERT_STRING_EQUAL(ft_usbip_op_status_name(1), "ST_NA");
	CU_ASSERT_STRING_EQUAL(ft_usbip_op_status_name(4), "ST_NODEV");
	CU_ASSERT_STRING_EQUAL(ft_usbip_op_status_name(99), "unknown");
}

static CU_TestInfo tests[] = {
    {"cmd_submit_decodes_the_documents_interrupt_in_example",
     test_cmd_submit_decodes_the_documents_interrupt_in_example},
    {"setup_bytes_are_copied_not_swapped", test_setup_bytes_are_copied_not_swapped},
    {"ret_submit_encodes_status_actual_and_zero_padding",
     test_ret_submit_encodes_status_actual_and_zero_padding},
    {"unlink_messages_carry_seqnum_and_status", test_unlink_messages_carry_seqnum_and_status},
    {"signed_fields_cover_the_whole_range", test_signed_fields_cover_the_whole_range},
    {"unknown_command_is_a_format_error", test_unknown_command_is_a_format_error},
    {"decoders_refuse_short_buffers", test_decoders_refuse_short_buffers},
    {"op_headers_and_import_request_encode_version_0111",
     test_op_headers_and_import_request_encode_version_0111},
    {"busid_filling_all_32_bytes_is_a_format_error",
     test_busid_filling_all_32_bytes_is_a_format_error},
    {"device_record_fields_sit_at_the_documented_offsets",
     test_device_record_fields_sit_at_the_documented_offsets},
    {"describe_reads_identity_and_interfaces_from_descriptors",
     test_describe_reads_identity_and_interfaces_from_descriptors},
    {"devlist_head_carries_the_device_count", test_devlist_head_carries_the_device_count},
    {"devlist_interfaces_fill_the_device_record",
     test_devlist_interfaces_fill_the_device_record},
    {"devlist_keeps_the_first_interfaces_of_a_long_list",
     test_devlist_keeps_the_first_interfaces_of_a_long_list},
    {"op_status_names_follow_usbip_common", test_op_status_names_follow_usbip_common},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"usbip_proto", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
