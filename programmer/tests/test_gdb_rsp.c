/* RSP framing against a scripted server on 127.0.0.1: checksums, escapes, run-length
 * decoding, acknowledgements and retransmission, no-ack mode, timeouts, garbage and
 * notifications; and the connection-string parser. Framing constants come from the GDB manual
 * ("Remote Protocol", Overview and Packet Acknowledgment) and are written out here. */
#include "models/tests/ft_test.h"
#include "programmer/tests/gdb_script.h"
#include "programmer/transport/gdb_rsp.h"

#define SHORT_MS 100 /* timeouts the tests provoke on purpose */

typedef struct fixture {
	gs_server server;
	bool started;
	ft_gdb_rsp *rsp;
	uint8_t reply[256];
	size_t len;
	ft_diag diag;
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = gs_fixture_new(sizeof(*F));
}

static void teardown_fixture(void)
{
	ft_gdb_rsp_free(F->rsp);
	gs_stop(&F->server, F->started);
	free(F);
	F = NULL;
}

/* Starts the script and connects a session to it. */
static void start(const gs_step *steps, size_t count, unsigned timeout_ms)
{
	gs_start(&F->server, steps, count);
	F->started = true;
	char url[64];
	gs_url(&F->server, url, sizeof(url));
	ft_gdb_stream *s;
	FT_ASSERT_HEX(ft_gdb_stream_open(url, 1000, &s, &F->diag), FT_OK);
	ft_gdb_rsp_options o = {timeout_ms, 3};
	FT_ASSERT_HEX(ft_gdb_rsp_new(s, &o, &F->rsp, &F->diag), FT_OK);
}

/* Hangs up and checks the server saw its whole script. */
static void finish(void)
{
	ft_gdb_rsp_free(F->rsp);
	F->rsp = NULL;
	F->started = false;
	const char *failure = gs_finish(&F->server);
	CU_ASSERT_PTR_NULL(failure);
	if (failure)
		fprintf(stderr, "\n  server: %s\n", failure);
}

static ft_error recv_reply(void)
{
	return ft_gdb_rsp_recv(F->rsp, F->reply, sizeof(F->reply), &F->len, 0, &F->diag);
}

/* ---- framing ---- */

static void test_send_frames_payload_with_its_checksum(void)
{
	/* 'O' 0x4f + 'K' 0x4b = 0x9a; "qSupported" sums to 0x437 -> 0x37. */
	static const gs_step script[] = {
	    GS_RAW_IN("$OK#9a"),
	    GS_RAW_OUT("+"),
	    GS_RAW_IN("$qSupported#37"),
	    GS_RAW_OUT("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "OK", 2, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "qSupported", 10, &F->diag), FT_OK);
	finish();
}

static void test_send_escapes_dollar_hash_brace_and_star(void)
{
	/* Each of $ # } * becomes '}' and the byte XOR 0x20: 0x04 0x03 0x5d 0x0a. The checksum
	 * covers the escaped bytes: a=0x61 }=0x7d 04 b=0x62 } 03 c=0x63 } 5d d=0x64 } 0a ->
	 * 0x61+0x62+0x63+0x64 + 4*0x7d + 0x04+0x03+0x5d+0x0a = 0x3ec -> 0xec. */
	static const gs_step script[] = {
	    GS_RAW_IN("$a}\x04"
	              "b}\x03"
	              "c}]d}\x0a#ec"),
	    GS_RAW_OUT("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "a$b#c}d*", 8, &F->diag), FT_OK);
	finish();
}

static void test_recv_acknowledges_and_returns_payload(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$OK#9a"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	FT_ASSERT_HEX(F->len, 2);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "OK");
	finish();
}

static void test_recv_expands_run_length_encoding(void)
{
	/* Manual example: "0* " is "0000" (' ' = 32: 32 - 29 = 3 more). '%' (37) gives 8 more. */
	static const gs_step script[] = {
	    GS_OUT("0* 1*%"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "0000111111111");
	finish();
}

static void test_recv_rejects_run_with_nothing_to_repeat(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$* 0#7a"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "nothing to repeat");
	finish();
}

static void test_unescape_restores_binary_bytes(void)
{
	uint8_t buf[] = {'a', '}', 0x04, '}', 0x03, '}', 0x5d, '}', 0x0a, 'z'};
	size_t n;
	FT_ASSERT_HEX(ft_gdb_rsp_unescape(buf, sizeof(buf), &n, &F->diag), FT_OK);
	FT_ASSERT_HEX(n, 6);
	FT_ASSERT_BYTES(buf, "a$#}*z", 6);
	uint8_t tail[] = {'a', '}'};
	FT_ASSERT_HEX(ft_gdb_rsp_unescape(tail, 2, &n, &F->diag), FT_ERR_PROTOCOL);
}

static void test_recv_skips_garbage_and_stray_acks(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("+++noise\r\n$OK#9a"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "OK");
	FT_ASSERT_HEX(ft_gdb_rsp_get_stats(F->rsp)->garbage, 10);
	finish();
}

static void test_recv_gives_up_on_endless_garbage(void)
{
	static char noise[5000];
	memset(noise, 'x', sizeof(noise));
	const gs_step script[] = {
	    {GS_SEND, noise, sizeof(noise)},
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "garbage");
	FT_ASSERT_HEX(ft_gdb_rsp_is_broken(F->rsp), true);
	finish();
}

static void test_recv_skips_notification_packets(void)
{
	/* '%' packets are not acknowledged (manual, Notification Packets). */
	static const gs_step script[] = {
	    GS_RAW_OUT("%Stop:T05#00"),
	    GS_OUT("S05"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "S05");
	FT_ASSERT_HEX(ft_gdb_rsp_get_stats(F->rsp)->notifications, 1);
	finish();
}

static void test_recv_restarts_at_dollar_inside_packet(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$OK$OK#9a"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "OK");
	finish();
}

static void test_recv_refuses_reply_longer_than_buffer_and_stays_in_step(void)
{
	static char big[600];
	memset(big, 'a', sizeof(big) - 1);
	const gs_step script[] = {
	    {GS_PACKET_OUT, big, sizeof(big) - 1},
	    GS_OUT("OK"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "more than the 255 expected");
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "OK");
	finish();
}

/* ---- acknowledgements ---- */

static void test_send_retransmits_after_nack(void)
{
	static const gs_step script[] = {
	    GS_RAW_IN("$OK#9a"),
	    GS_RAW_OUT("-"),
	    GS_RAW_IN("$OK#9a"),
	    GS_RAW_OUT("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "OK", 2, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_gdb_rsp_get_stats(F->rsp)->retransmits, 1);
	finish();
}

static void test_send_gives_up_after_retries(void)
{
	static const gs_step script[] = {
	    GS_RAW_IN("$OK#9a"), GS_RAW_OUT("-"), GS_RAW_IN("$OK#9a"), GS_RAW_OUT("-"),
	    GS_RAW_IN("$OK#9a"), GS_RAW_OUT("-"), GS_RAW_IN("$OK#9a"), GS_RAW_OUT("-"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "OK", 2, &F->diag), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "rejected the packet 4 times");
	finish();
}

static void test_send_takes_reply_without_ack_as_acknowledged(void)
{
	static const gs_step script[] = {
	    GS_RAW_IN("$?#3f"),
	    GS_RAW_OUT("$S05#b8"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(
	    ft_gdb_rsp_exchange(F->rsp, "?", 1, F->reply, sizeof(F->reply), &F->len, &F->diag),
	    FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "S05");
	finish();
}

static void test_recv_nacks_bad_checksum_and_takes_retransmission(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$OK#00"),
	    GS_RAW_IN("-"),
	    GS_RAW_OUT("$OK#9a"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "OK");
	FT_ASSERT_HEX(ft_gdb_rsp_get_stats(F->rsp)->nacks_sent, 1);
	finish();
}

static void test_recv_counts_non_hex_checksum_as_bad(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$OK#zz"),
	    GS_RAW_IN("-"),
	    GS_RAW_OUT("$OK#9A"),
	    GS_RAW_IN("+"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	finish();
}

static void test_noack_mode_sends_and_expects_no_acks(void)
{
	static const gs_step script[] = {
	    GS_IN("QStartNoAckMode"),   GS_OUT("OK"),       GS_ACKS_STOP, GS_RAW_IN("$m0,4#fd"),
	    GS_RAW_OUT("$00000000#80"), GS_RAW_IN("$?#3f"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_exchange(F->rsp, "QStartNoAckMode", 15, F->reply, sizeof(F->reply),
	                                  &F->len, &F->diag),
	              FT_OK);
	ft_gdb_rsp_set_ack_mode(F->rsp, false);
	FT_ASSERT_HEX(
	    ft_gdb_rsp_exchange(F->rsp, "m0,4", 4, F->reply, sizeof(F->reply), &F->len, &F->diag),
	    FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "00000000");
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "?", 1, &F->diag), FT_OK);
	finish();
}

static void test_bad_checksum_without_acks_breaks_the_session(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$OK#00"),
	};
	start(script, GS_COUNT(script), 1000);
	ft_gdb_rsp_set_ack_mode(F->rsp, false);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "no-ack mode");
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "?", 1, &F->diag), FT_ERR_STATE);
	gs_assert_contains(F->diag.message, "unusable since");
	finish();
}

/* ---- time and the end of the stream ---- */

static void test_recv_timeout_with_nothing_received_keeps_session(void)
{
	static const gs_step script[] = {
	    GS_IN("?"),
	    GS_OUT("S05"),
	};
	start(script, GS_COUNT(script), SHORT_MS);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_TIMEOUT);
	FT_ASSERT_HEX(ft_gdb_rsp_is_broken(F->rsp), false);
	FT_ASSERT_HEX(
	    ft_gdb_rsp_exchange(F->rsp, "?", 1, F->reply, sizeof(F->reply), &F->len, &F->diag),
	    FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "S05");
	finish();
}

static void test_timeout_inside_a_packet_breaks_the_session(void)
{
	static const gs_step script[] = {
	    GS_RAW_OUT("$S0"),
	    {GS_WAIT_CLOSE, NULL, 0},
	};
	start(script, GS_COUNT(script), SHORT_MS);
	FT_ASSERT_HEX(recv_reply(), FT_ERR_TIMEOUT);
	gs_assert_contains(F->diag.message, "middle of a packet");
	FT_ASSERT_HEX(ft_gdb_rsp_interrupt(F->rsp, &F->diag), FT_ERR_STATE);
	finish();
}

static void test_exchange_timeout_breaks_the_session(void)
{
	static const gs_step script[] = {
	    GS_IN("?"),
	    {GS_WAIT_CLOSE, NULL, 0},
	};
	start(script, GS_COUNT(script), SHORT_MS);
	FT_ASSERT_HEX(
	    ft_gdb_rsp_exchange(F->rsp, "?", 1, F->reply, sizeof(F->reply), &F->len, &F->diag),
	    FT_ERR_TIMEOUT);
	FT_ASSERT_HEX(ft_gdb_rsp_is_broken(F->rsp), true);
	finish();
}

static void test_missing_ack_times_out(void)
{
	static const gs_step script[] = {
	    GS_RAW_IN("$?#3f"),
	    {GS_WAIT_CLOSE, NULL, 0},
	};
	start(script, GS_COUNT(script), SHORT_MS);
	FT_ASSERT_HEX(ft_gdb_rsp_send(F->rsp, "?", 1, &F->diag), FT_ERR_TIMEOUT);
	gs_assert_contains(F->diag.message, "no acknowledgement");
	finish();
}

static void test_server_hanging_up_is_an_io_error(void)
{
	static const gs_step script[] = {
	    GS_IN("?"),
	    {GS_HANG_UP, NULL, 0},
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(
	    ft_gdb_rsp_exchange(F->rsp, "?", 1, F->reply, sizeof(F->reply), &F->len, &F->diag),
	    FT_ERR_IO);
	gs_assert_contains(F->diag.message, "closed the connection");
	finish();
}

static void test_interrupt_sends_a_lone_etx(void)
{
	static const gs_step script[] = {
	    GS_RAW_IN("\x03"),
	    GS_OUT("T02"),
	};
	start(script, GS_COUNT(script), 1000);
	FT_ASSERT_HEX(ft_gdb_rsp_interrupt(F->rsp, &F->diag), FT_OK);
	FT_ASSERT_HEX(recv_reply(), FT_OK);
	CU_ASSERT_STRING_EQUAL((char *)F->reply, "T02");
	finish();
}

/* ---- connection strings ---- */

static void test_parse_tcp_and_serial_addresses(void)
{
	ft_gdb_address a;
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://localhost:3333", &a, &F->diag), FT_OK);
	FT_ASSERT_HEX(a.kind, FT_GDB_STREAM_TCP);
	CU_ASSERT_STRING_EQUAL(a.host, "localhost");
	FT_ASSERT_HEX(a.port, 3333);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://[::1]:1234", &a, &F->diag), FT_OK);
	CU_ASSERT_STRING_EQUAL(a.host, "::1");
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb:/dev/ttyACM0", &a, &F->diag), FT_OK);
	FT_ASSERT_HEX(a.kind, FT_GDB_STREAM_SERIAL);
	CU_ASSERT_STRING_EQUAL(a.path, "/dev/ttyACM0");
	FT_ASSERT_HEX(a.baud, 115200);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb:/dev/ttyUSB1,921600", &a, &F->diag), FT_OK);
	FT_ASSERT_HEX(a.baud, 921600);
	CU_ASSERT(ft_gdb_is_connection("gdb://x:1"));
	CU_ASSERT(ft_gdb_is_connection("gdb:/dev/x"));
	CU_ASSERT(!ft_gdb_is_connection("usbip://x"));
}

static void test_parse_rejects_bad_addresses_with_offsets(void)
{
	ft_gdb_address a;
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://localhost", &a, &F->diag), FT_ERR_FORMAT);
	gs_assert_contains(F->diag.message, "offset 15");
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://host:0", &a, &F->diag), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://host:65536", &a, &F->diag), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://ho st:1", &a, &F->diag), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://[::1:1", &a, &F->diag), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb://h:1x", &a, &F->diag), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb:ttyACM0", &a, &F->diag), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_gdb_parse_address("gdb:/dev/tty,12345", &a, &F->diag), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_gdb_parse_address("usb", &a, &F->diag), FT_ERR_UNSUPPORTED);
}

static void test_open_reports_refused_connection(void)
{
	/* A listener that is closed again leaves a port nobody serves. */
	gs_server s;
	gs_start(&s, NULL, 0);
	uint16_t port = s.port;
	char url[64];
	gs_url(&s, url, sizeof(url));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(fd);
	gs_finish(&s);
	ft_gdb_stream *st = NULL;
	FT_ASSERT_HEX(ft_gdb_stream_open(url, 1000, &st, &F->diag), FT_ERR_IO);
	gs_assert_contains(F->diag.message, "GDB server running");
	CU_ASSERT_PTR_NULL(st);
}

static CU_TestInfo tests[] = {
    {"send_frames_payload_with_its_checksum", test_send_frames_payload_with_its_checksum},
    {"send_escapes_dollar_hash_brace_and_star", test_send_escapes_dollar_hash_brace_and_star},
    {"recv_acknowledges_and_returns_payload", test_recv_acknowledges_and_returns_payload},
    {"recv_expands_run_length_encoding", test_recv_expands_run_length_encoding},
    {"recv_rejects_run_with_nothing_to_repeat", test_recv_rejects_run_with_nothing_to_repeat},
    {"unescape_restores_binary_bytes", test_unescape_restores_binary_bytes},
    {"recv_skips_garbage_and_stray_acks", test_recv_skips_garbage_and_stray_acks},
    {"recv_gives_up_on_endless_garbage", test_recv_gives_up_on_endless_garbage},
    {"recv_skips_notification_packets", test_recv_skips_notification_packets},
    {"recv_restarts_at_dollar_inside_packet", test_recv_restarts_at_dollar_inside_packet},
    {"recv_refuses_reply_longer_than_buffer_and_stays_in_step",
     test_recv_refuses_reply_longer_than_buffer_and_stays_in_step},
    {"send_retransmits_after_nack", test_send_retransmits_after_nack},
    {"send_gives_up_after_retries", test_send_gives_up_after_retries},
    {"send_takes_reply_without_ack_as_acknowledged",
     test_send_takes_reply_without_ack_as_acknowledged},
    {"recv_nacks_bad_checksum_and_takes_retransmission",
     test_recv_nacks_bad_checksum_and_takes_retransmission},
    {"recv_counts_non_hex_checksum_as_bad", test_recv_counts_non_hex_checksum_as_bad},
    {"noack_mode_sends_and_expects_no_acks", test_noack_mode_sends_and_expects_no_acks},
    {"bad_checksum_without_acks_breaks_the_session",
     test_bad_checksum_without_acks_breaks_the_session},
    {"recv_timeout_with_nothing_received_keeps_session",
     test_recv_timeout_with_nothing_received_keeps_session},
    {"timeout_inside_a_packet_breaks_the_session", test_timeout_inside_a_packet_breaks_the_session},
    {"exchange_timeout_breaks_the_session", test_exchange_timeout_breaks_the_session},
    {"missing_ack_times_out", test_missing_ack_times_out},
    {"server_hanging_up_is_an_io_error", test_server_hanging_up_is_an_io_error},
    {"interrupt_sends_a_lone_etx", test_interrupt_sends_a_lone_etx},
    {"parse_tcp_and_serial_addresses", test_parse_tcp_and_serial_addresses},
    {"parse_rejects_bad_addresses_with_offsets", test_parse_rejects_bad_addresses_with_offsets},
    {"open_reports_refused_connection", test_open_reports_refused_connection},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"gdb_rsp", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
