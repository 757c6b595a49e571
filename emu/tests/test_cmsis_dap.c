/* The CMSIS-DAP probe (emu/cmsis_dap.h) against a scripted target: a 256-byte RAM at 0x24000000,
 * bus faults everywhere else. Each test is a conversation: command bytes in, response bytes
 * expected, as pyOCD's cmsis_dap_core.py builds and reads them. Command IDs and bit positions
 * are the CMSIS-DAP reference's; DP/AP addresses and CSW bits ADIv5's; DEMCR ARMv7-M's. */
#include "emu/cmsis_dap.h"

#include <stdlib.h>
#include <string.h>

#include "models/tests/ft_test.h"

#define RAM      0x24000000u
#define RAM_SIZE 256u

typedef struct fake {
	uint8_t ram[RAM_SIZE];
	unsigned resets;
	bool reset_halted;
} fake;

typedef struct fixture {
	fake target;
	ft_cmsis_dap *dap;
	uint8_t resp[FT_CMSIS_DAP_PACKET];
	size_t resp_len;
	ft_diag diag;
} fixture;

static fixture fixture_;
static fixture *const fx = &fixture_;

static ft_error f_read(void *ctx, uint32_t addr, unsigned len, uint32_t *value, ft_diag *diag)
{
	fake *f = ctx;
	if (addr - RAM >= RAM_SIZE)
		return ft_diag_set(diag, FT_ERR_DEVICE, "fake", "bus fault at 0x%08x", addr);
	*value = 0;
	for (unsigned i = 0; i < len; i++)
		*value |= (uint32_t)f->ram[addr - RAM + i] << (8 * i);
	return FT_OK;
}

static ft_error f_write(void *ctx, uint32_t addr, unsigned len, uint32_t value, ft_diag *diag)
{
	fake *f = ctx;
	if (addr - RAM >= RAM_SIZE)
		return ft_diag_set(diag, FT_ERR_DEVICE, "fake", "bus fault at 0x%08x", addr);
	for (unsigned i = 0; i < len; i++)
		f->ram[addr - RAM + i] = (uint8_t)(value >> (8 * i));
	return FT_OK;
}

static ft_error f_ok(void *ctx, ft_diag *diag)
{
	(void)ctx;
	(void)diag;
	return FT_OK;
}

static ft_error f_poll(void *ctx, bool *halted, ft_diag *diag)
{
	(void)ctx;
	(void)diag;
	*halted = true;
	return FT_OK;
}

static ft_error f_read_reg(void *ctx, ft_gdb_reg reg, uint32_t *value, ft_diag *diag)
{
	(void)ctx;
	(void)diag;
	*value = (uint32_t)reg;
	return FT_OK;
}

static ft_error f_write_reg(void *ctx, ft_gdb_reg reg, uint32_t value, ft_diag *diag)
{
	(void)ctx;
	(void)reg;
	(void)value;
	(void)diag;
	return FT_OK;
}

static ft_error f_reset(void *ctx, bool halt, ft_diag *diag)
{
	fake *f = ctx;
	(void)diag;
	f->resets++;
	f->reset_halted = halt;
	return FT_OK;
}

static ft_error f_breakpoint(void *ctx, uint32_t addr, bool set, ft_diag *diag)
{
	(void)ctx;
	(void)addr;
	(void)set;
	(void)diag;
	return FT_OK;
}

static const ft_dap_target_ops fake_ops = {f_read, f_write,    f_ok,        f_ok,    f_ok,
                                           f_poll, f_read_reg, f_write_reg, f_reset, f_breakpoint};

static void setup(void)
{
	memset(fx, 0, sizeof(*fx));
	fx->dap = ft_cmsis_dap_new(&(ft_dap_target){&fake_ops, &fx->target, true}, "FT0001");
}

static void teardown(void)
{
	ft_cmsis_dap_free(fx->dap);
}

/* Sends a command; returns its result and leaves the response in fx. */
static ft_error send(const uint8_t *req, size_t len)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx->dap);
	ft_diag_clear(&fx->diag);
	memset(fx->resp, 0xEE, sizeof(fx->resp));
	return ft_cmsis_dap_command(fx->dap, req, len, fx->resp, &fx->resp_len, &fx->diag);
}

/* A command that must succeed with exactly the response given. */
#define EXCHANGE(req, want)                                                                        \
	do {                                                                                       \
		static const uint8_t req_[] = req;                                                 \
		static const uint8_t want_[] = want;                                               \
		FT_ASSERT_HEX(send(req_, sizeof(req_)), FT_OK);                                    \
		FT_ASSERT_HEX(fx->resp_len, sizeof(want_));                                        \
		FT_ASSERT_BYTES(fx->resp, want_, sizeof(want_));                                   \
	} while (0)
#define B(...)                                                                                     \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

/* DAP_Transfer (0x05) requests: APnDP b0, RnW b1, A[3:2] b3:2. */
#define DP_W_SELECT 0x08
#define DP_R_CTRL   0x06
#define AP_W_CSW    0x01
#define AP_W_TAR    0x05
#define AP_W_DRW    0x0D
#define AP_R_DRW    0x0F
/* CSW: 32-bit, AddrInc single, DbgSwEnable/Prot (ADIv5 §7.2.1). */
#define CSW_WORD_INC 0x12, 0x00, 0x00, 0x23

static void test_info_reports_swd_only_and_a_64_byte_packet(void)
{
	EXCHANGE(B(0x00, 0xF0), B(0x00, 0x01, 0x01));
	EXCHANGE(B(0x00, 0xFF), B(0x00, 0x02, 0x40, 0x00));
	EXCHANGE(B(0x00, 0xFE), B(0x00, 0x01, 0x01));
	EXCHANGE(B(0x00, 0x03), B(0x00, 0x07, 'F', 'T', '0', '0', '0', '1', 0x00));
	EXCHANGE(B(0x00, 0x09), B(0x00, 0x00)); /* not provided */
}

static void test_connect_picks_swd_and_refuses_jtag(void)
{
	EXCHANGE(B(0x02, 0x00), B(0x02, 0x01));
	EXCHANGE(B(0x02, 0x01), B(0x02, 0x01));
	EXCHANGE(B(0x02, 0x02), B(0x02, 0x00));
}

static void test_dp_address_0_reads_the_h7_sw_dpidr(void)
{
	EXCHANGE(B(0x05, 0x00, 0x01, 0x02), B(0x05, 0x01, 0x01, 0x77, 0x24, 0xA0, 0x6B));
}

static void test_word_written_through_the_ahb_ap_reaches_target_memory(void)
{
	EXCHANGE(B(0x05, 0x00, 0x04, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, CSW_WORD_INC, AP_W_TAR,
	           0x10, 0x00, 0x00, 0x24, AP_W_DRW, 0xEF, 0xBE, 0xAD, 0xDE),
	         B(0x05, 0x04, 0x01));
	FT_ASSERT_BYTES(fx->target.ram + 0x10, "\xEF\xBE\xAD\xDE", 4);
	EXCHANGE(B(0x05, 0x00, 0x02, AP_W_TAR, 0x10, 0x00, 0x00, 0x24, AP_R_DRW),
	         B(0x05, 0x02, 0x01, 0xEF, 0xBE, 0xAD, 0xDE));
}

static void test_block_read_follows_the_auto_incremented_address(void)
{
	for (unsigned i = 0; i < 16; i++)
		fx->target.ram[i] = (uint8_t)(0xA0 + i);
	EXCHANGE(B(0x05, 0x00, 0x03, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, CSW_WORD_INC, AP_W_TAR,
	           0x00, 0x00, 0x00, 0x24),
	         B(0x05, 0x03, 0x01));
	EXCHANGE(B(0x06, 0x00, 0x03, 0x00, AP_R_DRW),
	         B(0x06, 0x03, 0x00, 0x01, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
	           0xA9, 0xAA, 0xAB));
}

static void test_bus_fault_answers_fault_until_abort_clears_the_sticky_error(void)
{
	EXCHANGE(B(0x05, 0x00, 0x03, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, CSW_WORD_INC, AP_W_TAR,
	           0x00, 0x00, 0x00, 0x60),
	         B(0x05, 0x03, 0x01));
	EXCHANGE(B(0x05, 0x00, 0x02, AP_R_DRW, AP_R_DRW), B(0x05, 0x00, 0x04));
	FT_ASSERT_HEX(ft_cmsis_dap_target_errors(fx->dap, NULL), 1);
	/* CTRL/STAT shows STICKYERR (b5); a refused AP access is FAULT too */
	EXCHANGE(B(0x05, 0x00, 0x01, DP_R_CTRL), B(0x05, 0x01, 0x01, 0x20, 0x00, 0x00, 0x00));
	EXCHANGE(B(0x05, 0x00, 0x01, AP_W_TAR, 0x00, 0x00, 0x00, 0x24), B(0x05, 0x00, 0x04));
	EXCHANGE(B(0x08, 0x00, 0x04, 0x00, 0x00, 0x00), B(0x08, 0x00)); /* STKERRCLR */
	EXCHANGE(B(0x05, 0x00, 0x02, AP_W_TAR, 0x00, 0x00, 0x00, 0x24, AP_R_DRW),
	         B(0x05, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00));
}

static void test_value_match_read_reports_a_mismatch_after_its_retries(void)
{
	fx->target.ram[0] = 0x05;
	EXCHANGE(B(0x04, 0x00, 0x00, 0x00, 0x03, 0x00), B(0x04, 0x00)); /* match retry 3 */
	EXCHANGE(B(0x05, 0x00, 0x03, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, 0x02, 0x00, 0x00, 0x23,
	           AP_W_TAR, 0x00, 0x00, 0x00, 0x24),
	         B(0x05, 0x03, 0x01));
	/* mask 0x0F (request b5), then DRW read matching 0x05 (b4) and one matching 0x06 */
	EXCHANGE(B(0x05, 0x00, 0x02, 0x20, 0x0F, 0x00, 0x00, 0x00, AP_R_DRW | 0x10, 0x05, 0x00,
	           0x00, 0x00),
	         B(0x05, 0x02, 0x01));
	EXCHANGE(B(0x05, 0x00, 0x01, AP_R_DRW | 0x10, 0x06, 0x00, 0x00, 0x00), B(0x05, 0x00, 0x11));
}

static void test_releasing_nreset_resets_and_vector_catch_halts(void)
{
	/* DEMCR (0xE000EDFC) VC_CORERESET b0 */
	EXCHANGE(B(0x05, 0x00, 0x04, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, 0x02, 0x00, 0x00, 0x23,
	           AP_W_TAR, 0xFC, 0xED, 0x00, 0xE0, AP_W_DRW, 0x01, 0x00, 0x00, 0x00),
	         B(0x05, 0x04, 0x01));
	EXCHANGE(B(0x10, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00), B(0x10, 0x7F));
	FT_ASSERT_HEX(fx->target.resets, 0);
	EXCHANGE(B(0x10, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00), B(0x10, 0xFF));
	FT_ASSERT_HEX(fx->target.resets, 1);
	FT_ASSERT_HEX(fx->target.reset_halted, true);
}

static void test_scs_id_registers_name_a_cortex_m_system_control_space(void)
{
	/* SCS PIDR0 (0xE000EFE0): part 0x0C; CIDR1 (0xE000EFF4): class 0xE (ARMv7-M ARM C1.1.2) */
	EXCHANGE(B(0x05, 0x00, 0x06, DP_W_SELECT, 0, 0, 0, 0, AP_W_CSW, 0x02, 0x00, 0x00, 0x23,
	           AP_W_TAR, 0xE0, 0xEF, 0x00, 0xE0, AP_R_DRW, AP_W_TAR, 0xF4, 0xEF, 0x00, 0xE0,
	           AP_R_DRW),
	         B(0x05, 0x06, 0x01, 0x0C, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x00));
	FT_ASSERT_HEX(ft_cmsis_dap_target_errors(fx->dap, NULL), 0);
}

static void test_jtag_and_unknown_commands_answer_invalid(void)
{
	EXCHANGE(B(0x16, 0x00), B(0xFF));
	EXCHANGE(B(0x42), B(0xFF));
	static const uint8_t abort_[] = {0x07}; /* DAP_TransferAbort has no response */
	FT_ASSERT_HEX(send(abort_, sizeof(abort_)), FT_OK);
	FT_ASSERT_HEX(fx->resp_len, 0);
}

static void test_transfer_cut_inside_its_data_is_a_protocol_error(void)
{
	static const uint8_t req[] = {0x05, 0x00, 0x02, AP_W_TAR, 0x00, 0x00};
	FT_ASSERT_HEX(send(req, sizeof(req)), FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->diag.message, "command 0x05 ends at byte 6"));
}

static void test_block_read_larger_than_a_response_is_a_protocol_error(void)
{
	static const uint8_t req[] = {0x06, 0x00, 0x10, 0x00, AP_R_DRW};
	FT_ASSERT_HEX(send(req, sizeof(req)), FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->diag.message, "more than a 64-byte response"));
}

static void test_command_longer_than_a_packet_is_a_protocol_error(void)
{
	uint8_t req[FT_CMSIS_DAP_PACKET + 1] = {0x00, 0xF0};
	FT_ASSERT_HEX(send(req, sizeof(req)), FT_ERR_PROTOCOL);
}

static CU_TestInfo tests[] = {
    {"test_info_reports_swd_only_and_a_64_byte_packet",
     test_info_reports_swd_only_and_a_64_byte_packet},
    {"test_connect_picks_swd_and_refuses_jtag", test_connect_picks_swd_and_refuses_jtag},
    {"test_dp_address_0_reads_the_h7_sw_dpidr", test_dp_address_0_reads_the_h7_sw_dpidr},
    {"test_word_written_through_the_ahb_ap_reaches_target_memory",
     test_word_written_through_the_ahb_ap_reaches_target_memory},
    {"test_block_read_follows_the_auto_incremented_address",
     test_block_read_follows_the_auto_incremented_address},
    {"test_bus_fault_answers_fault_until_abort_clears_the_sticky_error",
     test_bus_fault_answers_fault_until_abort_clears_the_sticky_error},
    {"test_value_match_read_reports_a_mismatch_after_its_retries",
     test_value_match_read_reports_a_mismatch_after_its_retries},
    {"test_releasing_nreset_resets_and_vector_catch_halts",
     test_releasing_nreset_resets_and_vector_catch_halts},
    {"test_scs_id_registers_name_a_cortex_m_system_control_space",
     test_scs_id_registers_name_a_cortex_m_system_control_space},
    {"test_jtag_and_unknown_commands_answer_invalid",
     test_jtag_and_unknown_commands_answer_invalid},
    {"test_transfer_cut_inside_its_data_is_a_protocol_error",
     test_transfer_cut_inside_its_data_is_a_protocol_error},
    {"test_block_read_larger_than_a_response_is_a_protocol_error",
     test_block_read_larger_than_a_response_is_a_protocol_error},
    {"test_command_longer_than_a_packet_is_a_protocol_error",
     test_command_longer_than_a_packet_is_a_protocol_error},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cmsis_dap", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
