/* The GDB client's target operations against scripted servers: the handshake as QEMU, OpenOCD and
 * a server without target description answer it, registers, memory chunking and binary writes,
 * stop replies, monitor commands and breakpoints. Packet texts follow the GDB manual ("Packets",
 * "Stop Reply Packets", "General Query Packets", "Target Descriptions") and the register
 * numbering of gdb/features/arm/arm-m-profile.xml; they are written out here. */
#include "models/tests/ft_test.h"
#include "programmer/tests/gdb_script.h"
#include "programmer/transport/gdb.h"

#define SHORT_MS 100

typedef struct fixture {
	gs_server server;
	bool started;
	ft_gdb *gdb;
	ft_diag diag;
	char output[256];
	size_t output_len;
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = gs_fixture_new(sizeof(*F));
}

static void teardown_fixture(void)
{
	ft_gdb_close(F->gdb);
	gs_stop(&F->server, F->started);
	free(F);
	F = NULL;
}

static void on_output(void *user, const char *text, size_t len)
{
	fixture *f = user;
	size_t room = sizeof(f->output) - 1 - f->output_len;
	size_t n = len < room ? len : room;
	memcpy(f->output + f->output_len, text, n);
	f->output_len += n;
	f->output[f->output_len] = '\0';
}

static ft_error open_script(const gs_step *steps, size_t count, unsigned timeout_ms)
{
	gs_start(&F->server, steps, count);
	F->started = true;
	char url[64];
	gs_url(&F->server, url, sizeof(url));
	ft_gdb_options o = {.timeout_ms = timeout_ms, .output = on_output, .user = F};
	return ft_gdb_open(url, &o, &F->gdb, &F->diag);
}

static void finish(void)
{
	ft_gdb_close(F->gdb);
	F->gdb = NULL;
	F->started = false;
	const char *failure = gs_finish(&F->server);
	CU_ASSERT_PTR_NULL(failure);
	if (failure)
		fprintf(stderr, "\n  server: %s\n", failure);
}

#define QSUPPORTED "qSupported:swbreak+;hwbreak+;xmlRegisters=arm"

/* A server with PacketSize 0x40, no-ack mode and no target description. */
#define SMALL_SERVER                                                                               \
	GS_IN(QSUPPORTED), GS_OUT("PacketSize=40;QStartNoAckMode+;swbreak+"),                      \
	    GS_IN("QStartNoAckMode"), GS_OUT("OK"), GS_ACKS_STOP

/* ---- handshake ---- */

static void test_handshake_follows_qemu_description_includes(void)
{
	/* QEMU 7.2 gdbstub: target.xml includes the core feature, whose xpsr is regnum 25
	 * (gdb/features/arm/arm-m-profile.xml), then m-system registers numbered on. */
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;vContSupported+"),
	    GS_IN("QStartNoAckMode"),
	    GS_OUT("OK"),
	    GS_ACKS_STOP,
	    GS_IN("qXfer:features:read:target.xml:0,fe0"),
	    GS_OUT("l<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target>"
	           "<architecture>arm</architecture><xi:include href=\"arm-m-profile.xml\"/>"
	           "<!-- <reg name=\"pc\" bitsize=\"8\"/> --><xi:include href=\"system.xml\"/>"
	           "</target>"),
	    GS_IN("qXfer:features:read:arm-m-profile.xml:0,fe0"),
	    GS_OUT("m<?xml version=\"1.0\"?><feature name=\"org.gnu.gdb.arm.m-profile\">"
	           "<reg name=\"r0\" bitsize=\"32\"/><reg name=\"r1\" bitsize=\"32\"/>"
	           "<reg name=\"r2\" bitsize=\"32\"/><reg name=\"r3\" bitsize=\"32\"/>"
	           "<reg name=\"r4\" bitsize=\"32\"/><reg name=\"r5\" bitsize=\"32\"/>"
	           "<reg name=\"r6\" bitsize=\"32\"/><reg name=\"r7\" bitsize=\"32\"/>"),
	    GS_IN("qXfer:features:read:arm-m-profile.xml:127,fe0"),
	    GS_OUT("l<reg name=\"r8\" bitsize=\"32\"/><reg name=\"r9\" bitsize=\"32\"/>"
	           "<reg name=\"r10\" bitsize=\"32\"/><reg name=\"r11\" bitsize=\"32\"/>"
	           "<reg name=\"r12\" bitsize=\"32\"/>"
	           "<reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\"/>"
	           "<reg name=\"lr\" bitsize=\"32\"/><reg name=\"pc\" bitsize=\"32\" "
	           "type=\"code_ptr\"/><reg name=\"xpsr\" bitsize=\"32\" regnum=\"25\"/>"
	           "</feature>"),
	    GS_IN("qXfer:features:read:system.xml:0,fe0"),
	    GS_OUT("l<feature name='org.gnu.gdb.arm.m-system'><reg name='msp' bitsize='32' "
	           "regnum='26'/><reg name='psp' bitsize='32'/></feature>"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	const ft_gdb_info *info = ft_gdb_get_info(F->gdb);
	FT_ASSERT_HEX(info->packet_size, 0x1000);
	FT_ASSERT_HEX(info->no_ack, true);
	FT_ASSERT_HEX(info->has_tdesc, true);
	CU_ASSERT_STRING_EQUAL(info->architecture, "arm");
	FT_ASSERT_HEX(info->regnum[FT_GDB_R0], 0);
	FT_ASSERT_HEX(info->regnum[FT_GDB_PC], 15);
	FT_ASSERT_HEX(info->regnum[FT_GDB_XPSR], 25);
	FT_ASSERT_HEX(info->regnum[FT_GDB_MSP], 26);
	FT_ASSERT_HEX(info->regnum[FT_GDB_PSP], 27);
	FT_ASSERT_HEX(info->regnum[FT_GDB_PRIMASK], -1);
	finish();
}

/* OpenOCD numbers every register and describes primask as one bit (one byte in replies). */
#define OPENOCD_SERVER                                                                             \
	GS_IN(QSUPPORTED),                                                                         \
	    GS_OUT("PacketSize=3fff;qXfer:memory-map:read-;qXfer:features:read+;"                  \
	           "QStartNoAckMode+"),                                                            \
	    GS_IN("QStartNoAckMode"), GS_OUT("OK"), GS_ACKS_STOP,                                  \
	    GS_IN("qXfer:features:read:target.xml:0,3fdf"),                                        \
	    GS_OUT("l<target version=\"1.0\"><architecture>arm</architecture>"                     \
	           "<feature name=\"org.gnu.gdb.arm.m-profile\">"                                  \
	           "<reg name=\"r0\" bitsize=\"32\" regnum=\"0\"/>"                                \
	           "<reg name=\"r1\" bitsize=\"32\" regnum=\"1\"/>"                                \
	           "<reg name=\"sp\" bitsize=\"32\" regnum=\"13\"/>"                               \
	           "<reg name=\"pc\" bitsize=\"32\" regnum=\"15\"/>"                               \
	           "<reg name=\"xPSR\" bitsize=\"32\" regnum=\"16\"/></feature>"                   \
	           "<feature name=\"org.gnu.gdb.arm.m-system\">"                                   \
	           "<reg name=\"msp\" bitsize=\"32\" regnum=\"17\"/>"                              \
	           "<reg name=\"primask\" bitsize=\"1\" regnum=\"19\"/></feature></target>")

static void test_handshake_takes_openocd_register_numbers(void)
{
	static const gs_step script[] = {OPENOCD_SERVER};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	const ft_gdb_info *info = ft_gdb_get_info(F->gdb);
	FT_ASSERT_HEX(info->packet_size, 0x3fff);
	FT_ASSERT_HEX(info->regnum[FT_GDB_XPSR], 16);
	FT_ASSERT_HEX(info->regnum[FT_GDB_MSP], 17);
	FT_ASSERT_HEX(info->regnum[FT_GDB_PRIMASK], 19);
	FT_ASSERT_HEX(info->reg_bytes[FT_GDB_PRIMASK], 1);
	FT_ASSERT_HEX(info->regnum[FT_GDB_LR], -1);
	finish();
}

static void test_g_packet_follows_description_layout(void)
{
	/* r0 r1 sp pc xPSR msp primask: 6 words and one byte. */
	static const gs_step script[] = {
	    OPENOCD_SERVER,
	    GS_IN("g"),
	    GS_OUT("01000000020000000000022404010008000000010000022401"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint32_t v[FT_GDB_REG_COUNT], valid;
	FT_ASSERT_HEX(ft_gdb_read_regs(F->gdb, v, &valid, &F->diag), FT_OK);
	FT_ASSERT_HEX(v[FT_GDB_R1], 2);
	FT_ASSERT_HEX(v[FT_GDB_SP], 0x24020000);
	FT_ASSERT_HEX(v[FT_GDB_PC], 0x08000104);
	FT_ASSERT_HEX(v[FT_GDB_XPSR], 0x01000000);
	FT_ASSERT_HEX(v[FT_GDB_MSP], 0x24020000);
	FT_ASSERT_HEX(v[FT_GDB_PRIMASK], 1);
	FT_ASSERT_HEX(valid & (1u << FT_GDB_LR), 0);
	finish();
}

static void test_without_description_xpsr_follows_the_fpa_registers(void)
{
	/* No XML: r0..pc, eight 12-byte f registers and fps, then xpsr (GDB's legacy layout). */
	static char g[2 * (16 * 4 + 8 * 12 + 4 + 4) + 1];
	memset(g, '0', sizeof(g) - 1);
	memcpy(g + 2 * 15 * 4, "04010008", 8);                /* pc */
	memcpy(g + 2 * (16 * 4 + 8 * 12 + 4), "00000001", 8); /* xpsr */
	const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT(""),
	    GS_IN("g"),
	    GS_OUT(g),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	const ft_gdb_info *info = ft_gdb_get_info(F->gdb);
	FT_ASSERT_HEX(info->has_tdesc, false);
	FT_ASSERT_HEX(info->packet_size, FT_GDB_DEFAULT_PACKET_SIZE);
	FT_ASSERT_HEX(info->regnum[FT_GDB_XPSR], 25);
	uint32_t v[FT_GDB_REG_COUNT], valid;
	FT_ASSERT_HEX(ft_gdb_read_regs(F->gdb, v, &valid, &F->diag), FT_OK);
	FT_ASSERT_HEX(v[FT_GDB_PC], 0x08000104);
	FT_ASSERT_HEX(v[FT_GDB_XPSR], 0x01000000);
	finish();
}

static void test_packet_size_is_clamped(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("PacketSize=7fffffff"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_get_info(F->gdb)->packet_size, FT_GDB_MAX_PACKET_SIZE);
	finish();
}

static void test_silent_server_gets_a_hint_about_ports(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    {GS_WAIT_CLOSE, NULL, 0},
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), SHORT_MS), FT_ERR_TIMEOUT);
	gs_assert_contains(F->diag.message, "port 3333");
	CU_ASSERT_PTR_NULL(F->gdb);
	finish();
}

static void test_description_without_pc_is_refused(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("qXfer:features:read+"),
	    GS_IN("qXfer:features:read:target.xml:0,16f"),
	    GS_OUT("l<target><architecture>riscv</architecture><feature name=\"x\">"
	           "<reg name=\"x1\" bitsize=\"32\"/></feature></target>"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "not a Cortex-M");
	finish();
}

static void test_description_include_loop_is_bounded(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("qXfer:features:read+"),
	    GS_IN("qXfer:features:read:target.xml:0,16f"),
	    GS_OUT("l<xi:include href=\"a.xml\"/>"),
	    GS_IN("qXfer:features:read:a.xml:0,16f"),
	    GS_OUT("l<xi:include href=\"a.xml\"/>"),
	    GS_IN("qXfer:features:read:a.xml:0,16f"),
	    GS_OUT("l<xi:include href=\"a.xml\"/>"),
	    GS_IN("qXfer:features:read:a.xml:0,16f"),
	    GS_OUT("l<xi:include href=\"a.xml\"/>"),
	    GS_IN("qXfer:features:read:a.xml:0,16f"),
	    GS_OUT("l<xi:include href=\"a.xml\"/>"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_ERR_PROTOCOL);
	gs_assert_contains(F->diag.message, "nest deeper");
	finish();
}

/* ---- memory ---- */

static void test_read_mem_chunks_by_packet_size(void)
{
	/* PacketSize 0x40: a reply holds (0x40 - 4) / 2 = 30 bytes of hex. */
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("m20000000,1e"),
	    GS_OUT("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"),
	    GS_IN("m2000001e,9"),
	    GS_OUT("1e1f2021"), /* a short answer: the rest is asked for again */
	    GS_IN("m20000022,5"),
	    GS_OUT("223*\"27"), /* run-length: '"' (34) repeats '3' five more times */
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint8_t buf[39];
	FT_ASSERT_HEX(ft_gdb_read_mem(F->gdb, 0x20000000, buf, sizeof(buf), &F->diag), FT_OK);
	for (unsigned i = 0; i < 34; i++)
		FT_ASSERT_HEX(buf[i], i);
	static const uint8_t tail[] = {0x22, 0x33, 0x33, 0x33, 0x27};
	FT_ASSERT_BYTES(buf + 34, tail, 5);
	finish();
}

static void test_read_mem_error_names_the_range(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("m8000000,4"),
	    GS_OUT("E0e"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint32_t v;
	FT_ASSERT_HEX(ft_gdb_read_u32(F->gdb, 0x08000000, &v, &F->diag), FT_ERR_DEVICE);
	gs_assert_contains(F->diag.message, "0x08000000..0x08000003");
	gs_assert_contains(F->diag.message, "E0e");
	finish();
}

static void test_read_mem_rejects_too_long_reply(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("m0,2"),
	    GS_OUT("00112233"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint8_t buf[2];
	FT_ASSERT_HEX(ft_gdb_read_mem(F->gdb, 0, buf, 2, &F->diag), FT_ERR_PROTOCOL);
	finish();
}

static void test_write_mem_sends_escaped_binary_in_chunks(void)
{
	/* A 0x40 packet leaves 0x40 - 32 = 32 bytes of escaped data per X. Bytes '#' (0x23) and
	 * '}' (0x7d) cost two each, so the first X carries 30 data bytes. */
	static uint8_t data[40];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0x40 + i);
	data[0] = 0x23;
	data[1] = 0x7d;
	static char x1[64], x2[32];
	size_t n1 = (size_t)snprintf(x1, sizeof(x1), "X24000000,1e:}\x03}]");
	memcpy(x1 + n1, data + 2, 28);
	n1 += 28;
	size_t n2 = (size_t)snprintf(x2, sizeof(x2), "X2400001e,a:");
	memcpy(x2 + n2, data + 30, 10);
	n2 += 10;
	const gs_step script[] = {
	    SMALL_SERVER,           {GS_PACKET_IN, x1, n1}, GS_OUT("OK"),
	    {GS_PACKET_IN, x2, n2}, GS_OUT("OK"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_write_mem(F->gdb, 0x24000000, data, sizeof(data), &F->diag), FT_OK);
	finish();
}

static void test_write_mem_falls_back_to_hex_when_x_is_unknown(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER, GS_IN("X24000000,4:ABCD"), GS_OUT(""),   GS_IN("M24000000,4:41424344"),
	    GS_OUT("OK"), GS_IN("M24000004,2:4546"), GS_OUT("OK"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_write_mem(F->gdb, 0x24000000, "ABCD", 4, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_gdb_write_mem(F->gdb, 0x24000004, "EF", 2, &F->diag), FT_OK);
	finish();
}

static void test_write_mem_error_is_a_device_error(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("X8000000,1:Z"),
	    GS_OUT("E01"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_write_mem(F->gdb, 0x08000000, "Z", 1, &F->diag), FT_ERR_DEVICE);
	gs_assert_contains(F->diag.message, "writing 0x08000000");
	finish();
}

static void test_memory_range_past_4gib_is_refused(void)
{
	static const gs_step script[] = {SMALL_SERVER};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint8_t b[8];
	FT_ASSERT_HEX(ft_gdb_read_mem(F->gdb, 0xFFFFFFFC, b, 8, &F->diag), FT_ERR_RANGE);
	finish();
}

/* ---- registers ---- */

static void test_registers_use_p_and_p_packets(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,         GS_IN("pf"),  GS_OUT("00010008"),
	    GS_IN("P0=78563412"), GS_OUT("OK"), GS_IN("p19"),
	    GS_OUT("xxxxxxxx"),   GS_IN("pd"),  GS_OUT("E01"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint32_t v;
	FT_ASSERT_HEX(ft_gdb_read_reg(F->gdb, FT_GDB_PC, &v, &F->diag), FT_OK);
	FT_ASSERT_HEX(v, 0x08000100);
	FT_ASSERT_HEX(ft_gdb_write_reg(F->gdb, FT_GDB_R0, 0x12345678, &F->diag), FT_OK);
	FT_ASSERT_HEX(ft_gdb_read_reg(F->gdb, FT_GDB_XPSR, &v, &F->diag), FT_ERR_UNSUPPORTED);
	FT_ASSERT_HEX(ft_gdb_read_reg(F->gdb, FT_GDB_SP, &v, &F->diag), FT_ERR_DEVICE);
	FT_ASSERT_HEX(ft_gdb_read_reg(F->gdb, FT_GDB_MSP, &v, &F->diag), FT_ERR_UNSUPPORTED);
	finish();
}

static void test_registers_fall_back_to_g_and_g_packets(void)
{
	static char g[2 * (16 * 4) + 1], G[2 * (16 * 4) + 2];
	memset(g, '0', sizeof(g) - 1);
	memcpy(g + 8 * 13, "00000224", 8);
	G[0] = 'G';
	memcpy(G + 1, g, sizeof(g) - 1);
	memcpy(G + 1 + 8 * 1, "efbeadde", 8);
	const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("PacketSize=100"),
	    GS_IN("pd"),
	    GS_OUT(""),
	    GS_IN("g"),
	    GS_OUT(g),
	    GS_IN("P1=efbeadde"),
	    GS_OUT(""),
	    GS_IN("g"),
	    GS_OUT(g),
	    GS_IN(G),
	    GS_OUT("OK"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	uint32_t v;
	FT_ASSERT_HEX(ft_gdb_read_reg(F->gdb, FT_GDB_SP, &v, &F->diag), FT_OK);
	FT_ASSERT_HEX(v, 0x24020000);
	FT_ASSERT_HEX(ft_gdb_write_reg(F->gdb, FT_GDB_R1, 0xDEADBEEF, &F->diag), FT_OK);
	finish();
}

/* ---- running and stopping ---- */

static void test_stop_reply_carries_registers_and_reason(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("?"),
	    GS_OUT("T05thread:1;f:04010008;19:00000001;d:00000224;swbreak:;"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_query_stop(F->gdb, &stop, &F->diag), FT_OK);
	FT_ASSERT_HEX(stop.kind, FT_GDB_STOP_SIGNAL);
	FT_ASSERT_HEX(stop.signal, 5);
	FT_ASSERT_HEX(stop.swbreak, true);
	FT_ASSERT_HEX(stop.regs[FT_GDB_PC], 0x08000104);
	FT_ASSERT_HEX(stop.regs[FT_GDB_XPSR], 0x01000000);
	FT_ASSERT_HEX(stop.regs[FT_GDB_SP], 0x24020000);
	FT_ASSERT_HEX(stop.regs_valid, (1u << FT_GDB_PC) | (1u << FT_GDB_XPSR) | (1u << FT_GDB_SP));
	finish();
}

static void test_parse_stop_accepts_exit_and_refuses_garbage(void)
{
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "W00", 3, &stop, &F->diag), FT_OK);
	FT_ASSERT_HEX(stop.kind, FT_GDB_STOP_EXITED);
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "X0b;process:1", 13, &stop, &F->diag), FT_OK);
	FT_ASSERT_HEX(stop.kind, FT_GDB_STOP_TERMINATED);
	FT_ASSERT_HEX(stop.signal, 11);
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "S5", 2, &stop, &F->diag), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "OK", 2, &stop, &F->diag), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "T05f:0401", 9, &stop, &F->diag), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(ft_gdb_parse_stop(NULL, "T05watch:zz;", 12, &stop, &F->diag),
	              FT_ERR_PROTOCOL);
}

static void test_resume_then_wait_passes_console_output(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("c"),
	    GS_OUT("O68656c6c6f0a"), /* "hello\n" */
	    GS_OUT("T05"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_resume(F->gdb, &F->diag), FT_OK);
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_wait_stop(F->gdb, 1000, &stop, &F->diag), FT_OK);
	CU_ASSERT_STRING_EQUAL(F->output, "hello\n");
	FT_ASSERT_HEX(stop.signal, 5);
	finish();
}

static void test_step_waits_for_the_stop_reply(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("s"),
	    GS_OUT("S05"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_step(F->gdb, &stop, &F->diag), FT_OK);
	FT_ASSERT_HEX(stop.signal, 5);
	finish();
}

static void test_ignored_interrupt_times_out_and_breaks_session(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("c"),
	    GS_RAW_IN("\x03"),
	    {GS_WAIT_CLOSE, NULL, 0},
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_resume(F->gdb, &F->diag), FT_OK);
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_wait_stop(F->gdb, SHORT_MS, &stop, &F->diag), FT_ERR_TIMEOUT);
	FT_ASSERT_HEX(ft_gdb_interrupt(F->gdb, SHORT_MS, &stop, &F->diag), FT_ERR_TIMEOUT);
	gs_assert_contains(F->diag.message, "interrupt request");
	uint32_t v;
	FT_ASSERT_HEX(ft_gdb_read_u32(F->gdb, 0, &v, &F->diag), FT_ERR_STATE);
	finish();
}

/* ---- monitor, breakpoints, detach ---- */

static void test_monitor_gathers_output_packets(void)
{
	/* qRcmd,<hex of "reset halt">; OpenOCD answers with O packets, then OK. */
	static const gs_step script[] = {
	    SMALL_SERVER,
	    GS_IN("qRcmd,72657365742068616c74"),
	    GS_OUT("O7461726765742068616c7465640a"), /* "target halted\n" */
	    GS_OUT("OK"),
	    GS_IN("qRcmd,68656c70"),
	    GS_OUT("6f6b0a"), /* the last output in place of OK: "ok\n" */
	    GS_IN("qRcmd,78"),
	    GS_OUT(""),
	    GS_IN("qRcmd,79"),
	    GS_OUT("E01"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	char out[64];
	size_t len;
	FT_ASSERT_HEX(ft_gdb_monitor(F->gdb, "reset halt", out, sizeof(out), &len, &F->diag),
	              FT_OK);
	CU_ASSERT_STRING_EQUAL(out, "target halted\n");
	FT_ASSERT_HEX(len, 14);
	FT_ASSERT_HEX(ft_gdb_monitor(F->gdb, "help", out, 3, &len, &F->diag), FT_OK);
	CU_ASSERT_STRING_EQUAL(out, "ok");
	FT_ASSERT_HEX(ft_gdb_monitor(F->gdb, "x", NULL, 0, NULL, &F->diag), FT_ERR_UNSUPPORTED);
	FT_ASSERT_HEX(ft_gdb_monitor(F->gdb, "y", NULL, 0, NULL, &F->diag), FT_ERR_DEVICE);
	finish();
}

/* QEMU pauses a running machine when a debugger connects and sends "T02thread:01;" unasked; here
 * it comes after the qSupported request, where the client must not take it for the answer. */
static void test_stop_reply_before_the_qsupported_answer_is_skipped(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("T02thread:01;"),
	    GS_OUT("PacketSize=1000;vContSupported+;multiprocess+"),
	    GS_IN("m20000000,4"),
	    GS_OUT("78563412"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_get_info(F->gdb)->packet_size, 0x1000);
	uint32_t v = 0;
	FT_ASSERT_HEX(ft_gdb_read_u32(F->gdb, 0x20000000, &v, &F->diag), FT_OK);
	FT_ASSERT_HEX(v, 0x12345678);
	finish();
}

/* QEMU 7.2 stays in multiprocess mode after a client that asked for it, and wants D;pid. */
static void test_detach_refused_with_e22_is_sent_again_with_the_process(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER, GS_IN("D"), GS_OUT("E22"), GS_IN("D;1"), GS_OUT("OK"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_detach(F->gdb, &F->diag), FT_OK);
	finish();
}

/* A Black Magic Probe refuses the description until a target is attached: the handshake goes on
 * with the fixed numbering, vAttach reads the description and the stop reply follows it. */
static void test_description_refused_before_vattach_is_read_after_it(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED),
	    GS_OUT("PacketSize=400;qXfer:memory-map:read+;qXfer:features:read+"),
	    GS_IN("qXfer:features:read:target.xml:0,3e0"),
	    GS_OUT("E01"),
	    GS_IN("vAttach;1"),
	    GS_OUT("T05f:00000008;10:00000001;"),
	    GS_IN("qXfer:features:read:target.xml:0,3e0"),
	    GS_OUT("l<target><feature name=\"org.gnu.gdb.arm.m-profile\">"
	           "<reg name=\"r0\" bitsize=\"32\" regnum=\"0\"/>"
	           "<reg name=\"sp\" bitsize=\"32\" regnum=\"13\"/>"
	           "<reg name=\"lr\" bitsize=\"32\"/><reg name=\"pc\" bitsize=\"32\"/>"
	           "<reg name=\"xpsr\" bitsize=\"32\"/></feature></target>"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_get_info(F->gdb)->has_tdesc, false);
	FT_ASSERT_HEX(ft_gdb_get_info(F->gdb)->regnum[FT_GDB_XPSR], 25);
	ft_gdb_stop stop;
	FT_ASSERT_HEX(ft_gdb_vattach(F->gdb, 1, &stop, &F->diag), FT_OK);
	const ft_gdb_info *info = ft_gdb_get_info(F->gdb);
	FT_ASSERT_HEX(info->has_tdesc, true);
	FT_ASSERT_HEX(info->regnum[FT_GDB_XPSR], 16);
	FT_ASSERT_HEX(stop.kind, FT_GDB_STOP_SIGNAL);
	FT_ASSERT_HEX(stop.signal, 5);
	FT_ASSERT_HEX(stop.regs_valid & (1u << FT_GDB_XPSR), 1u << FT_GDB_XPSR);
	FT_ASSERT_HEX(stop.regs[FT_GDB_XPSR], 0x01000000);
	FT_ASSERT_HEX(stop.regs[FT_GDB_PC], 0x08000000);
	finish();
}

static void test_breakpoints_and_detach(void)
{
	static const gs_step script[] = {
	    SMALL_SERVER, GS_IN("Z0,24000000,2"), GS_OUT("OK"), GS_IN("Z1,8000100,2"),
	    GS_OUT(""),   GS_IN("z0,24000000,2"), GS_OUT("OK"), GS_IN("D"),
	    GS_OUT("OK"),
	};
	FT_ASSERT_HEX(open_script(script, GS_COUNT(script), 1000), FT_OK);
	FT_ASSERT_HEX(ft_gdb_set_breakpoint(F->gdb, FT_GDB_BP_SOFTWARE, 0x24000000, &F->diag),
	              FT_OK);
	FT_ASSERT_HEX(ft_gdb_set_breakpoint(F->gdb, FT_GDB_BP_HARDWARE, 0x08000100, &F->diag),
	              FT_ERR_UNSUPPORTED);
	FT_ASSERT_HEX(ft_gdb_clear_breakpoint(F->gdb, FT_GDB_BP_SOFTWARE, 0x24000000, &F->diag),
	              FT_OK);
	FT_ASSERT_HEX(ft_gdb_detach(F->gdb, &F->diag), FT_OK);
	finish();
}

static CU_TestInfo tests[] = {
    {"handshake_follows_qemu_description_includes",
     test_handshake_follows_qemu_description_includes},
    {"handshake_takes_openocd_register_numbers", test_handshake_takes_openocd_register_numbers},
    {"g_packet_follows_description_layout", test_g_packet_follows_description_layout},
    {"without_description_xpsr_follows_the_fpa_registers",
     test_without_description_xpsr_follows_the_fpa_registers},
    {"packet_size_is_clamped", test_packet_size_is_clamped},
    {"silent_server_gets_a_hint_about_ports", test_silent_server_gets_a_hint_about_ports},
    {"description_without_pc_is_refused", test_description_without_pc_is_refused},
    {"description_include_loop_is_bounded", test_description_include_loop_is_bounded},
    {"read_mem_chunks_by_packet_size", test_read_mem_chunks_by_packet_size},
    {"read_mem_error_names_the_range", test_read_mem_error_names_the_range},
    {"read_mem_rejects_too_long_reply", test_read_mem_rejects_too_long_reply},
    {"write_mem_sends_escaped_binary_in_chunks", test_write_mem_sends_escaped_binary_in_chunks},
    {"write_mem_falls_back_to_hex_when_x_is_unknown",
     test_write_mem_falls_back_to_hex_when_x_is_unknown},
    {"write_mem_error_is_a_device_error", test_write_mem_error_is_a_device_error},
    {"memory_range_past_4gib_is_refused", test_memory_range_past_4gib_is_refused},
    {"registers_use_p_and_p_packets", test_registers_use_p_and_p_packets},
    {"registers_fall_back_to_g_and_g_packets", test_registers_fall_back_to_g_and_g_packets},
    {"stop_reply_carries_registers_and_reason", test_stop_reply_carries_registers_and_reason},
    {"parse_stop_accepts_exit_and_refuses_garbage",
     test_parse_stop_accepts_exit_and_refuses_garbage},
    {"resume_then_wait_passes_console_output", test_resume_then_wait_passes_console_output},
    {"step_waits_for_the_stop_reply", test_step_waits_for_the_stop_reply},
    {"ignored_interrupt_times_out_and_breaks_session",
     test_ignored_interrupt_times_out_and_breaks_session},
    {"monitor_gathers_output_packets", test_monitor_gathers_output_packets},
    {"breakpoints_and_detach", test_breakpoints_and_detach},
    {"stop_reply_before_the_qsupported_answer_is_skipped",
     test_stop_reply_before_the_qsupported_answer_is_skipped},
    {"detach_refused_with_e22_is_sent_again_with_the_process",
     test_detach_refused_with_e22_is_sent_again_with_the_process},
    {"description_refused_before_vattach_is_read_after_it",
     test_description_refused_before_vattach_is_read_after_it},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"gdb", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
