/* usbmon pcap captures: the file and record headers byte for byte (usbmon.rst, pcap-savefile(5)),
 * and a capture of a DFU conversation with the real bootloader model that tshark decodes as USB
 * control transfers and, with `-d usb.product==0x0483df11,usbdfu`, DFU requests. tshark is a
 * declared dependency (ci/packages.txt): a missing tshark fails the test. */
#include "emu/pcap.h"
#include "models/dfu_bootloader.h"
#include "models/tests/ft_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Offsets of struct usbmon_packet (Documentation/usb/usbmon.rst) after the 16-byte pcap record
 * header. */
#define REC          16
#define MON_ID       (REC + 0)
#define MON_TYPE     (REC + 8)
#define MON_XFER     (REC + 9)
#define MON_EPNUM    (REC + 10)
#define MON_DEVNUM   (REC + 11)
#define MON_BUSNUM   (REC + 12)
#define MON_FSETUP   (REC + 14)
#define MON_FDATA    (REC + 15)
#define MON_TS_SEC   (REC + 16)
#define MON_TS_USEC  (REC + 24)
#define MON_STATUS   (REC + 28)
#define MON_LENGTH   (REC + 32)
#define MON_LEN_CAP  (REC + 36)
#define MON_SETUP    (REC + 40)
#define MON_INTERVAL (REC + 48)
#define MON_FLAGS    (REC + 56)
#define MON_DATA     (REC + 64)
#define EINPROGRESS_ (-115)
#define EPIPE_       (-32)

static char g_dir[64];
static char g_file[96];
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	snprintf(g_dir, sizeof(g_dir), "/tmp/ft-pcap-XXXXXX");
	if (!mkdtemp(g_dir))
		g_dir[0] = '\0';
	snprintf(g_file, sizeof(g_file), "%s/usb.pcap", g_dir);
}

static void teardown(void)
{
	unlink(g_file);
	if (g_dir[0])
		rmdir(g_dir);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the whole capture into a static buffer; *len is its size (0 when it cannot be read). */
static const uint8_t *slurp(size_t *len)
{
	static uint8_t buf[1 << 16];
	*len = 0;
	FILE *f = fopen(g_file, "rb");
	if (f) {
		*len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	return buf;
}

static void test_file_header_announces_usbmon_mmapped(void)
{
	ft_pcap *p = NULL;
	FT_ASSERT_HEX(ft_pcap_open(g_file, &p, &diag), FT_OK);
	FT_ASSERT_HEX(ft_pcap_close(p, &diag), FT_OK);
	size_t len;
	const uint8_t *b = slurp(&len);
	FT_ASSERT_HEX(len, 24);
	static const uint8_t want[24] = {0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0,    0, 0, 0,
	                                 0,    0,    0,    0,    0, 0, 4, 0, 0xDC, 0, 0, 0};
	FT_ASSERT_BYTES(b, want, sizeof(want));
}

static void test_control_out_submit_carries_setup_and_data(void)
{
	ft_pcap *p = NULL;
	FT_ASSERT_HEX(ft_pcap_open(g_file, &p, &diag), FT_OK);
	static const uint8_t setup_bytes[8] = {0x21, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00};
	static const uint8_t data[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	ft_usbip_urb_event ev = {.kind = FT_USBIP_URB_SUBMITTED,
	                         .seqnum = 7,
	                         .busnum = 1,
	                         .devnum = 2,
	                         .endpoint = 0x00,
	                         .type = FT_USB_XFER_CONTROL,
	                         .setup = setup_bytes,
	                         .transfer_flags = 0x200,
	                         .length = 5,
	                         .status = EINPROGRESS_,
	                         .data = data,
	                         .data_len = 5};
	FT_ASSERT_HEX(ft_pcap_write_urb(p, &ev, 1700000000123456789ull), FT_OK);
	FT_ASSERT_HEX(ft_pcap_records(p), 1);
	FT_ASSERT_HEX(ft_pcap_close(p, &diag), FT_OK);
	size_t len;
	const uint8_t *b = slurp(&len);
	FT_ASSERT_HEX(len, 24 + 16 + 64 + 5);
	b += 24;
	FT_ASSERT_HEX(le32(b + 0), 1700000000u); /* ts_sec */
	FT_ASSERT_HEX(le32(b + 4), 123456u);     /* ts_usec */
	FT_ASSERT_HEX(le32(b + 8), 64 + 5);      /* incl_len */
	FT_ASSERT_HEX(le32(b + 12), 64 + 5);     /* orig_len */
	FT_ASSERT_HEX(le32(b + MON_ID), 7);
	FT_ASSERT_HEX(le32(b + MON_ID + 4), 0);
	FT_ASSERT_HEX(b[MON_TYPE], 'S');
	FT_ASSERT_HEX(b[MON_XFER], 2); /* control */
	FT_ASSERT_HEX(b[MON_EPNUM], 0x00);
	FT_ASSERT_HEX(b[MON_DEVNUM], 2);
	FT_ASSERT_HEX(b[MON_BUSNUM] | b[MON_BUSNUM + 1] << 8, 1);
	FT_ASSERT_HEX(b[MON_FSETUP], 0);
	FT_ASSERT_HEX(b[MON_FDATA], 0);
	FT_ASSERT_HEX(le32(b + MON_TS_SEC), 1700000000u);
	FT_ASSERT_HEX(le32(b + MON_TS_SEC + 4), 0);
	FT_ASSERT_HEX(le32(b + MON_TS_USEC), 123456u);
	FT_ASSERT_HEX((int32_t)le32(b + MON_STATUS), EINPROGRESS_);
	FT_ASSERT_HEX(le32(b + MON_LENGTH), 5);
	FT_ASSERT_HEX(le32(b + MON_LEN_CAP), 5);
	FT_ASSERT_BYTES(b + MON_SETUP, setup_bytes, 8);
	FT_ASSERT_HEX(le32(b + MON_FLAGS), 0x200);
	FT_ASSERT_BYTES(b + MON_DATA, data, 5);
}

static void test_in_submit_has_no_data_and_completion_carries_it(void)
{
	ft_pcap *p = NULL;
	FT_ASSERT_HEX(ft_pcap_open(g_file, &p, &diag), FT_OK);
	static const uint8_t setup_bytes[8] = {0xA1, 0x03, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00};
	static const uint8_t answer[6] = {0x00, 0x01, 0x00, 0x00, 0x05, 0x00};
	ft_usbip_urb_event ev = {.kind = FT_USBIP_URB_SUBMITTED,
	                         .seqnum = 9,
	                         .endpoint = 0x80,
	                         .type = FT_USB_XFER_CONTROL,
	                         .setup = setup_bytes,
	                         .length = 6,
	                         .status = EINPROGRESS_};
	FT_ASSERT_HEX(ft_pcap_write_urb(p, &ev, 0), FT_OK);
	ev.kind = FT_USBIP_URB_COMPLETED;
	ev.status = 0;
	ev.data = answer;
	ev.data_len = 6;
	FT_ASSERT_HEX(ft_pcap_write_urb(p, &ev, 0), FT_OK);
	FT_ASSERT_HEX(ft_pcap_close(p, &diag), FT_OK);
	size_t len;
	const uint8_t *b = slurp(&len);
	FT_ASSERT_HEX(len, 24 + 80 + 80 + 6);
	const uint8_t *s = b + 24, *c = b + 24 + 80;
	FT_ASSERT_HEX(s[MON_EPNUM], 0x80);
	FT_ASSERT_HEX(s[MON_FDATA], '<');
	FT_ASSERT_HEX(le32(s + MON_LENGTH), 6);
	FT_ASSERT_HEX(le32(s + MON_LEN_CAP), 0);
	FT_ASSERT_HEX(c[MON_TYPE], 'C');
	FT_ASSERT_HEX(c[MON_FSETUP], '-');
	FT_ASSERT_HEX(c[MON_FDATA], 0);
	FT_ASSERT_HEX(le32(c + MON_STATUS), 0);
	FT_ASSERT_HEX(le32(c + MON_LENGTH), 6);
	FT_ASSERT_HEX(le32(c + MON_LEN_CAP), 6);
	FT_ASSERT_BYTES(c + MON_DATA, answer, 6);
}

static void test_stalled_out_completion_reports_status_and_no_length(void)
{
	ft_pcap *p = NULL;
	FT_ASSERT_HEX(ft_pcap_open(g_file, &p, &diag), FT_OK);
	ft_usbip_urb_event ev = {.kind = FT_USBIP_URB_COMPLETED,
	                         .seqnum = 3,
	                         .type = FT_USB_XFER_CONTROL,
	                         .length = 16,
	                         .status = EPIPE_};
	FT_ASSERT_HEX(ft_pcap_write_urb(p, &ev, 0), FT_OK);
	FT_ASSERT_HEX(ft_pcap_close(p, &diag), FT_OK);
	size_t len;
	const uint8_t *b = slurp(&len);
	FT_ASSERT_HEX(len, 24 + 80);
	FT_ASSERT_HEX((int32_t)le32(b + 24 + MON_STATUS), EPIPE_);
	FT_ASSERT_HEX(le32(b + 24 + MON_LENGTH), 0);
	FT_ASSERT_HEX(b[24 + MON_FDATA], '>');
}

static void test_unwritable_path_is_an_io_error(void)
{
	ft_pcap *p = (ft_pcap *)&diag;
	FT_ASSERT_HEX(ft_pcap_open("/nonexistent/dir/x.pcap", &p, &diag), FT_ERR_IO);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(diag.origin, "/nonexistent/dir/x.pcap");
	FT_ASSERT_HEX(ft_pcap_close(NULL, &diag), FT_OK);
}

/* A DFU conversation with the bootloader model, recorded as the USB/IP server would record it. */
typedef struct session {
	ft_pcap *pcap;
	ft_usb_device dev;
	uint32_t seqnum;
} session;

static ft_usb_status control(session *s, const uint8_t setup_bytes[8], uint8_t *data)
{
	size_t len = setup_bytes[6] | (size_t)setup_bytes[7] << 8;
	bool in = setup_bytes[0] & 0x80;
	ft_usbip_urb_event ev = {.kind = FT_USBIP_URB_SUBMITTED,
	                         .seqnum = ++s->seqnum,
	                         .busnum = 1,
	                         .devnum = 2,
	                         .endpoint = in ? 0x80 : 0x00,
	                         .type = FT_USB_XFER_CONTROL,
	                         .setup = setup_bytes,
	                         .length = (uint32_t)len,
	                         .status = EINPROGRESS_,
	                         .data = in ? NULL : data,
	                         .data_len = in ? 0 : len};
	uint64_t t = 1700000000000000000ull + s->seqnum * 1000000ull;
	ft_pcap_write_urb(s->pcap, &ev, t);
	size_t actual = 0;
	ft_usb_status st = ft_usb_device_control(&s->dev, setup_bytes, data, len, &actual);
	ev.kind = FT_USBIP_URB_COMPLETED;
	ev.status = st == FT_USB_OK ? 0 : EPIPE_;
	ev.data = in ? data : NULL;
	ev.data_len = in ? actual : 0;
	FT_ASSERT_HEX(ft_pcap_write_urb(s->pcap, &ev, t + 500000), FT_OK);
	return st;
}

static void record_dfu_session(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	const ft_part *part = ft_part_find("STM32H743ZI");
	ft_flash_h7_config fcfg = {.geometry = &part->flash, .clock = clock, .fresh = true};
	ft_flash_h7 *fl = NULL;
	FT_ASSERT_HEX(ft_flash_h7_new(&fcfg, &fl, &diag), FT_OK);
	ft_dfu_bootloader_config bcfg = {
	    .part = part, .rev_id = 0x2003, .flash = fl, .clock = clock, .uid = {1, 2, 3}};
	ft_dfu_bootloader *bl = NULL;
	FT_ASSERT_HEX(ft_dfu_bootloader_new(&bcfg, &bl, &diag), FT_OK);
	session s = {.dev = ft_dfu_bootloader_usb_device(bl)};
	FT_ASSERT_HEX(ft_pcap_open(g_file, &s.pcap, &diag), FT_OK);
	uint8_t buf[512];
	/* USB 2.0 §9.4: GET_DESCRIPTOR device, configuration; SET_CONFIGURATION 1 */
	static const uint8_t get_device[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 18, 0};
	static const uint8_t get_config[8] = {0x80, 0x06, 0x00, 0x02, 0x00, 0x00, 0xFF, 0x00};
	static const uint8_t set_config[8] = {0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
	/* DFU 1.1 §6: DNLOAD (1) block 0 = DfuSe SET_ADDRESS, GETSTATUS (3) twice */
	static const uint8_t dnload[8] = {0x21, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00};
	static const uint8_t getstatus[8] = {0xA1, 0x03, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00};
	FT_ASSERT_HEX(control(&s, get_device, buf), FT_USB_OK);
	FT_ASSERT_HEX(control(&s, get_config, buf), FT_USB_OK);
	FT_ASSERT_HEX(control(&s, set_config, buf), FT_USB_OK);
	uint8_t set_address[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	FT_ASSERT_HEX(control(&s, dnload, set_address), FT_USB_OK);
	FT_ASSERT_HEX(control(&s, getstatus, buf), FT_USB_OK);
	FT_ASSERT_HEX(control(&s, getstatus, buf), FT_USB_OK);
	FT_ASSERT_HEX(ft_pcap_records(s.pcap), 12);
	FT_ASSERT_HEX(ft_pcap_close(s.pcap, &diag), FT_OK);
	ft_dfu_bootloader_free(bl);
	ft_flash_h7_free(fl);
	ft_clock_free(clock);
}

/* Runs tshark on the capture with the given options; returns its stdout (static buffer), empty
 * when it could not run or failed. */
static const char *tshark(const char *options)
{
	static char out[8192];
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "tshark -r '%s' %s 2>/dev/null", g_file, options);
	out[0] = '\0';
	FILE *f = popen(cmd, "r");
	if (!f)
		return out;
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	int status = pclose(f);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		out[0] = '\0';
	return out;
}

static bool have_tshark(void)
{
	int status = system("tshark --version >/dev/null 2>&1");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void test_tshark_decodes_a_dfu_session(void)
{
	if (!have_tshark()) {
		CU_FAIL("tshark is not installed (ci/packages.txt lists it: run make deps)");
		return;
	}
	record_dfu_session();
	const char *all = tshark("-Y usb -T fields -e usb.urb_type -e usb.transfer_type");
	CU_ASSERT_NOT_EQUAL(all[0], '\0');
	FT_ASSERT_HEX(count_lines(all), 12);
	CU_ASSERT_PTR_NOT_NULL(strstr(all, "'S'\t0x02"));
	CU_ASSERT_PTR_NOT_NULL(strstr(all, "'C'\t0x02"));
	const char *requests = tshark("-Y usb.setup.bRequest -T fields -e usb.setup.bRequest");
	CU_ASSERT_NOT_EQUAL(requests[0], '\0');
	FT_ASSERT_HEX(count_lines(requests), 6);
	/* Wireshark 4.0 maps only some VID:PIDs to its DFU dissector; ST's 0483:df11 is named */
	const char *dfu = tshark("-d usb.product==0x0483df11,usbdfu -Y usbdfu -T fields "
	                         "-e usbdfu.command -e usbdfu.state");
	CU_ASSERT_NOT_EQUAL(dfu[0], '\0');
	/* DNLOAD (1) and GETSTATUS (3) requests; the GETSTATUS answers carry bState dfuDNBUSY (4)
	 * then dfuDNLOAD-IDLE (5) */
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "1\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "3\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "\t4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dfu, "\t5"));
}

static CU_TestInfo tests[] = {
    {"file_header_announces_usbmon_mmapped", test_file_header_announces_usbmon_mmapped},
    {"control_out_submit_carries_setup_and_data", test_control_out_submit_carries_setup_and_data},
    {"in_submit_has_no_data_and_completion_carries_it",
     test_in_submit_has_no_data_and_completion_carries_it},
    {"stalled_out_completion_reports_status_and_no_length",
     test_stalled_out_completion_reports_status_and_no_length},
    {"unwritable_path_is_an_io_error", test_unwritable_path_is_an_io_error},
    {"tshark_decodes_a_dfu_session", test_tshark_decodes_a_dfu_session},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"pcap", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
