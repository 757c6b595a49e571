/* JEDEC serial NOR flash model; the contract is in nor_flash.h.
 *
 * Sources, cited next to each value:
 *   [W25Q]  Winbond W25Q256JV: devices.md §7 (Arm SCP device_nor_w25.h command set, betaflight
 *           flash_w25q256jv.c JEDEC ID, datasheet §7.1.3-7.1.6 and §8.2.5 pages of W25Q256JVEIQ
 *           on datasheetandpdf.com for the status-register bits and write rules).
 *   [W25Q-T] performance.md §4.1: W25Q256JV datasheet timings quoted in a Betaflight-derived
 *           driver ("Values from W25Q256JV Datasheet").
 *   [MX]    Macronix MX25UM51245G: devices.md §6.3 (ST component driver stm32-mx25um51245g
 *           mx25um51245g.h/.c and mx25um51245g_conf_template.h, N6 BSP stm32n6xx_nucleo_xspi.c).
 *   [FR]    flashrom (cros-flashrom writeprotect_ranges.c decode_range_spi25, flashchips.c
 *           W25Q256JV_Q entry): the block-protect range rule and W25Q256JV reg_bits.
 *   [LNX]   Linux drivers/mtd/spi-nor: sfdp.h (JESD216B BFPT and 4BAIT layout), macronix.c
 *           (octal DTR: RDID with address 0 and 4 dummy cycles; ID bytes repeated in DTR).
 * [U] marks a value the sources do not settle; it is a best guess, to be checked on hardware.
 */
#include "models/nor_flash.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOR_MAX_REGS         8
#define NOR_MAX_PAGE         256
#define NOR_MAX_ERASES       4
#define NOR_SFDP_SIZE        256
#define NOR_NO_REG           0xFF
#define NOR_DUMMY_CONFIGURED 0xFF /* dummy cycles come from the part's dummy-cycle field */
#define NOR_NOT_CR2          0xFFFFFFFFu

enum nor_modes {
	SPI = 1u << FT_NOR_MODE_SPI,
	SOPI = 1u << FT_NOR_MODE_SOPI,
	DOPI = 1u << FT_NOR_MODE_DOPI,
	OPI = SOPI | DOPI,
};

typedef enum nor_op {
	OP_READ,
	OP_PROGRAM,
	OP_ERASE,
	OP_CHIP_ERASE,
	OP_WREN,
	OP_WRDI,
	OP_VOLATILE_WREN, /* W25Q 50h: the next status write goes to the volatile copy only */
	OP_READ_REG,
	OP_WRITE_REG,
	OP_READ_ID,
	OP_READ_SFDP,
	OP_ENTER_4B,
	OP_EXIT_4B,
	OP_RESET_ENABLE,
	OP_RESET,
	OP_SUSPEND,
	OP_RESUME,
} nor_op;

typedef enum nor_addr {
	ADDR_NONE,
	ADDR_3,
	ADDR_4,
	ADDR_MODE, /* 3 or 4 bytes by the current address mode (W25Q ADS) */
} nor_addr;

typedef enum nor_regsel {
	REGSEL_FIXED,  /* data byte i goes to register reg + i, for i < span */
	REGSEL_OFFSET, /* register reg + address, address < span (MX OPI WRSR) */
	REGSEL_CR2,    /* the address is a CR2 address (MX RDCR2/WRCR2) */
} nor_regsel;

/* One command as the flash decodes it in the modes listed. Lines are bus widths. A register read
 * may be given more dummy cycles than listed, in whole bytes, because the flash repeats the
 * register (the ST driver clocks 5 where Linux clocks 4 on MX25UM DOPI register reads [MX][LNX]);
 * RDID does not repeat, so there the count is exact. */
typedef struct nor_cmd {
	uint8_t opcode;
	uint8_t modes;
	uint8_t op;   /* nor_op */
	uint8_t addr; /* nor_addr */
	uint8_t addr_lines;
	uint8_t mode_clocks; /* M7-0 clocks after the address (BBh, EBh) */
	uint8_t dummy;       /* cycles, or NOR_DUMMY_CONFIGURED */
	uint8_t data_lines;  /* 0: no data phase */
	uint8_t regsel;      /* nor_regsel */
	uint8_t reg;
	uint8_t span; /* registers reachable from reg; 0 means 1 */
	uint32_t erase_size;
} nor_cmd;

/* A status or configuration register. Bits outside writable are read-only or maintained by the
 * model (WIP, WEL, SUS, ADS). The table order is the layout of the non-volatile buffer: byte i
 * holds register i's non-volatile bits. Append only. */
typedef struct nor_reg {
	const char *name;
	uint32_t cr2_addr; /* REGSEL_CR2 address, NOR_NOT_CR2 for the others */
	uint8_t reset;     /* factory value of non-volatile bits, power-on value of the others */
	uint8_t writable;
	uint8_t set_only; /* OTP bits: a write may set them, never clear them */
	uint8_t nv_mask;  /* bits kept across power cycles */
} nor_reg;

/* A bit field of one register; mask 0 means the part has no such field. */
typedef struct nor_field {
	uint8_t reg;
	uint8_t mask;
} nor_field;

typedef struct nor_erase {
	uint32_t size;
	uint8_t opcode;    /* 3-byte-address (or address-mode) opcode */
	uint8_t opcode_4b; /* dedicated 4-byte-address opcode, 0 if none */
	uint32_t typ_us, max_us;
} nor_erase;

typedef struct nor_fields {
	nor_field wip, wel, bp, tb, cmp, qe, ads, adp;
	nor_field sus_program, sus_erase, p_fail, e_fail;
	nor_field opi, opi_default, dummy; /* MX CR2: SOPI/DOPI, DEFSOPI/DEFDOPI, DC */
} nor_fields;

struct ft_nor_part {
	ft_nor_geometry geo;
	const nor_reg *regs;
	uint8_t reg_count;
	const nor_cmd *cmds;
	size_t cmd_count;
	nor_erase erases[NOR_MAX_ERASES]; /* ascending size; size 0 ends the list */
	uint32_t program_us[2];           /* page program typ, max */
	uint32_t chip_erase_us;           /* typ */
	uint32_t write_reg_us;            /* non-volatile register write, typ */
	nor_fields f;
	uint8_t ear_reg;  /* extended address register, NOR_NO_REG if none */
	uint32_t bp_unit; /* bytes protected by BP = 1 */
	uint8_t sfdp_qer; /* JESD216B BFPT DWORD15 quad-enable requirement */
};

#define OPC(o, m, k)    .opcode = (o), .modes = (m), .op = (k)
#define AD(kind, lines) .addr = (kind), .addr_lines = (lines)
#define DL(lines)       .data_lines = (lines)

/* ---- Winbond W25Q256JV ------------------------------------------------------------------- */

enum { W_SR1, W_SR2, W_SR3, W_EAR, W_REG_COUNT };

static const nor_reg w25q256jv_regs[W_REG_COUNT] = {
    /* SR1: BUSY b0, WEL b1 (model-maintained), BP0-3 b2..5, TB b6, SRP b7; non-volatile.
     * [W25Q §7.1.3-4]. §8.2.5 leaves SRP out of the writable list but flashrom marks SR1 b7
     * SRP read-write [FR]: writable here [U]. */
    [W_SR1] = {"SR1", NOR_NOT_CR2, 0x00, 0xFC, 0x00, 0xFC},
    /* SR2: SRL b0, QE b1, LB1-3 b3..5 (OTP), CMP b6, SUS b7 (model-maintained).
     * QE=1 from the factory on the IQ/JQ parts (flashrom "W25Q256JV_Q (QE=1)") [FR][U].
     * SRL is stored, its lock semantics are not modelled. */
    [W_SR2] = {"SR2", NOR_NOT_CR2, 0x02, 0x7B, 0x38, 0x7B},
    /* SR3: ADS b0 (model-maintained), ADP b1, WPS b2, DRV1-0 b6..5 [W25Q]; factory DRV=11 [U]. */
    [W_SR3] = {"SR3", NOR_NOT_CR2, 0x60, 0x66, 0x00, 0x66},
    /* Extended address register: A31-24 in 3-byte mode, cleared at reset [W25Q][U]. */
    [W_EAR] = {"EAR", NOR_NOT_CR2, 0x00, 0xFF, 0x00, 0x00},
};

/* Command set [W25Q] (Arm SCP device_nor_w25.h). Dummy clocks: 0Bh/3Bh/6Bh 8, EBh M7-0 + 4,
 * 5Ah 8 [W25Q]; BBh M7-0 on 2 lines, no dummy [U]. C5h/C8h/50h/75h/7Ah are "common Winbond" [U]. */
static const nor_cmd w25q256jv_cmds[] = {
    {OPC(0x03, SPI, OP_READ), AD(ADDR_MODE, 1), DL(1)},
    {OPC(0x13, SPI, OP_READ), AD(ADDR_4, 1), DL(1)},
    {OPC(0x0B, SPI, OP_READ), AD(ADDR_MODE, 1), .dummy = 8, DL(1)},
    {OPC(0x0C, SPI, OP_READ), AD(ADDR_4, 1), .dummy = 8, DL(1)},
    {OPC(0x3B, SPI, OP_READ), AD(ADDR_MODE, 1), .dummy = 8, DL(2)},
    {OPC(0x3C, SPI, OP_READ), AD(ADDR_4, 1), .dummy = 8, DL(2)},
    {OPC(0xBB, SPI, OP_READ), AD(ADDR_MODE, 2), .mode_clocks = 4, DL(2)},
    {OPC(0xBC, SPI, OP_READ), AD(ADDR_4, 2), .mode_clocks = 4, DL(2)},
    {OPC(0x6B, SPI, OP_READ), AD(ADDR_MODE, 1), .dummy = 8, DL(4)},
    {OPC(0x6C, SPI, OP_READ), AD(ADDR_4, 1), .dummy = 8, DL(4)},
    {OPC(0xEB, SPI, OP_READ), AD(ADDR_MODE, 4), .mode_clocks = 2, .dummy = 4, DL(4)},
    {OPC(0xEC, SPI, OP_READ), AD(ADDR_4, 4), .mode_clocks = 2, .dummy = 4, DL(4)},
    {OPC(0x02, SPI, OP_PROGRAM), AD(ADDR_MODE, 1), DL(1)},
    {OPC(0x12, SPI, OP_PROGRAM), AD(ADDR_4, 1), DL(1)},
    {OPC(0x32, SPI, OP_PROGRAM), AD(ADDR_MODE, 1), DL(4)},
    {OPC(0x34, SPI, OP_PROGRAM), AD(ADDR_4, 1), DL(4)},
    {OPC(0x20, SPI, OP_ERASE), AD(ADDR_MODE, 1), .erase_size = 4096},
    {OPC(0x21, SPI, OP_ERASE), AD(ADDR_4, 1), .erase_size = 4096},
    {OPC(0x52, SPI, OP_ERASE), AD(ADDR_MODE, 1), .erase_size = 32768},
    {OPC(0xD8, SPI, OP_ERASE), AD(ADDR_MODE, 1), .erase_size = 65536},
    {OPC(0xDC, SPI, OP_ERASE), AD(ADDR_4, 1), .erase_size = 65536},
    {OPC(0x60, SPI, OP_CHIP_ERASE)},
    {OPC(0xC7, SPI, OP_CHIP_ERASE)},
    {OPC(0x06, SPI, OP_WREN)},
    {OPC(0x04, SPI, OP_WRDI)},
    {OPC(0x50, SPI, OP_VOLATILE_WREN)},
    {OPC(0x05, SPI, OP_READ_REG), DL(1), .reg = W_SR1},
    {OPC(0x35, SPI, OP_READ_REG), DL(1), .reg = W_SR2},
    {OPC(0x15, SPI, OP_READ_REG), DL(1), .reg = W_SR3},
    {OPC(0xC8, SPI, OP_READ_REG), DL(1), .reg = W_EAR},
    /* 01h takes SR1 and, with a second byte, SR2 (legacy two-byte form) [U]. */
    {OPC(0x01, SPI, OP_WRITE_REG), DL(1), .reg = W_SR1, .span = 2},
    {OPC(0x31, SPI, OP_WRITE_REG), DL(1), .reg = W_SR2},
    {OPC(0x11, SPI, OP_WRITE_REG), DL(1), .reg = W_SR3},
    {OPC(0xC5, SPI, OP_WRITE_REG), DL(1), .reg = W_EAR},
    {OPC(0x9F, SPI, OP_READ_ID), DL(1)},
    /* SFDP keeps a 3-byte address in 4-byte mode [U]. */
    {OPC(0x5A, SPI, OP_READ_SFDP), AD(ADDR_3, 1), .dummy = 8, DL(1)},
    {OPC(0xB7, SPI, OP_ENTER_4B)},
    {OPC(0xE9, SPI, OP_EXIT_4B)},
    {OPC(0x66, SPI, OP_RESET_ENABLE)},
    {OPC(0x99, SPI, OP_RESET)},
    {OPC(0x75, SPI, OP_SUSPEND)},
    {OPC(0x7A, SPI, OP_RESUME)},
};

/* ---- Macronix MX25UM51245G --------------------------------------------------------------- */

enum { M_SR, M_CR1, M_SCUR, M_CR2_MODE, M_CR2_DQS, M_CR2_DC, M_CR2_PPTSEL, M_CR2_DEF, M_REG_COUNT };

static const nor_reg mx25um51245g_regs[M_REG_COUNT] = {
    /* SR: WIP b0, WEL b1 (model-maintained), BP0-3 0x3C [MX]; SRWD b7 [U]. */
    [M_SR] = {"SR", NOR_NOT_CR2, 0x00, 0xBC, 0x00, 0xBC},
    /* CR1: ODS b2:0, TB 0x08, PBE 0x10 [MX]; factory ODS=111 [U]; TB is OTP [U]. */
    [M_CR1] = {"CR1", NOR_NOT_CR2, 0x07, 0x1F, 0x08, 0x1F},
    /* Security register: PSB 0x04, ESB 0x08, P_FAIL 0x20, E_FAIL 0x40, model-maintained [MX];
     * WRSCUR (2Fh) is not modelled. */
    [M_SCUR] = {"SCUR", NOR_NOT_CR2, 0x00, 0x00, 0x00, 0x00},
    /* CR2, volatile unless noted: 0x00000000 SOPI 0x01 / DOPI 0x02; 0x00000200 DQSPRC/DOS;
     * 0x00000300 DC (0 = 20 cycles ... 7 = 6); 0x00000500 PPTSEL; 0x40000000 DEFSOPI 0x01 /
     * DEFDOPI 0x02, non-volatile, active high as the ST names suggest [MX][U]. */
    [M_CR2_MODE] = {"CR2[0x00000000]", 0x00000000, 0x00, 0x03, 0x00, 0x00},
    [M_CR2_DQS] = {"CR2[0x00000200]", 0x00000200, 0x00, 0x03, 0x00, 0x00},
    [M_CR2_DC] = {"CR2[0x00000300]", 0x00000300, 0x00, 0x07, 0x00, 0x00},
    [M_CR2_PPTSEL] = {"CR2[0x00000500]", 0x00000500, 0x00, 0x01, 0x00, 0x00},
    [M_CR2_DEF] = {"CR2[0x40000000]", 0x40000000, 0x00, 0x03, 0x00, 0x03},
};

/* SPI commands [MX] (FAST_READ 8 dummy: conf DUMMY_CYCLES_READ). There is no EN4B/EX4B in the
 * sources: 3-byte opcodes reach the first 16 MB only. OPI commands are cmd/~cmd on 8 lines with a
 * 4-byte address; register reads and RDID take address 0 and 4 dummy cycles [MX][LNX]; array
 * reads take the CR2 DC count; RDSFDP in OPI 20 dummy cycles [U]. */
static const nor_cmd mx25um51245g_cmds[] = {
    {OPC(0x03, SPI, OP_READ), AD(ADDR_3, 1), DL(1)},
    {OPC(0x13, SPI, OP_READ), AD(ADDR_4, 1), DL(1)},
    {OPC(0x0B, SPI, OP_READ), AD(ADDR_3, 1), .dummy = 8, DL(1)},
    {OPC(0x0C, SPI, OP_READ), AD(ADDR_4, 1), .dummy = 8, DL(1)},
    {OPC(0x02, SPI, OP_PROGRAM), AD(ADDR_3, 1), DL(1)},
    {OPC(0x12, SPI, OP_PROGRAM), AD(ADDR_4, 1), DL(1)},
    {OPC(0x20, SPI, OP_ERASE), AD(ADDR_3, 1), .erase_size = 4096},
    {OPC(0x21, SPI, OP_ERASE), AD(ADDR_4, 1), .erase_size = 4096},
    {OPC(0xD8, SPI, OP_ERASE), AD(ADDR_3, 1), .erase_size = 65536},
    {OPC(0xDC, SPI, OP_ERASE), AD(ADDR_4, 1), .erase_size = 65536},
    {OPC(0x60, SPI, OP_CHIP_ERASE)},
    {OPC(0xC7, SPI, OP_CHIP_ERASE)}, /* [U] */
    {OPC(0x05, SPI, OP_READ_REG), DL(1), .reg = M_SR},
    {OPC(0x15, SPI, OP_READ_REG), DL(1), .reg = M_CR1},
    {OPC(0x2B, SPI, OP_READ_REG), DL(1), .reg = M_SCUR},
    {OPC(0x71, SPI, OP_READ_REG), AD(ADDR_4, 1), DL(1), .regsel = REGSEL_CR2},
    /* WRSR in SPI: SR then CR1 (the ST driver sends both) [MX]. */
    {OPC(0x01, SPI, OP_WRITE_REG), DL(1), .reg = M_SR, .span = 2},
    {OPC(0x72, SPI, OP_WRITE_REG), AD(ADDR_4, 1), DL(1), .regsel = REGSEL_CR2},
    {OPC(0x9F, SPI, OP_READ_ID), DL(1)},
    {OPC(0x5A, SPI, OP_READ_SFDP), AD(ADDR_3, 1), .dummy = 8, DL(1)}, /* [U] */

    {OPC(0xEC, SOPI, OP_READ), AD(ADDR_4, 8), .dummy = NOR_DUMMY_CONFIGURED, DL(8)},
    {OPC(0xEE, DOPI, OP_READ), AD(ADDR_4, 8), .dummy = NOR_DUMMY_CONFIGURED, DL(8)},
    {OPC(0x12, OPI, OP_PROGRAM), AD(ADDR_4, 8), DL(8)},
    {OPC(0x21, OPI, OP_ERASE), AD(ADDR_4, 8), .erase_size = 4096},
    {OPC(0xDC, OPI, OP_ERASE), AD(ADDR_4, 8), .erase_size = 65536},
    {OPC(0x60, OPI, OP_CHIP_ERASE)},
    {OPC(0x05, OPI, OP_READ_REG), AD(ADDR_4, 8), .dummy = 4, DL(8), .reg = M_SR},
    {OPC(0x15, OPI, OP_READ_REG), AD(ADDR_4, 8), .dummy = 4, DL(8), .reg = M_CR1},
    {OPC(0x2B, OPI, OP_READ_REG), AD(ADDR_4, 8), .dummy = 4, DL(8), .reg = M_SCUR},
    {OPC(0x71, OPI, OP_READ_REG), AD(ADDR_4, 8), .dummy = 4, DL(8), .regsel = REGSEL_CR2},
    /* OPI WRSR: address 0 writes SR, address 1 CR1 (ST WriteCfgRegister uses address 1) [MX]. */
    {OPC(0x01, OPI, OP_WRITE_REG), AD(ADDR_4, 8), DL(8), .regsel = REGSEL_OFFSET, .reg = M_SR,
     .span = 2},
    {OPC(0x72, OPI, OP_WRITE_REG), AD(ADDR_4, 8), DL(8), .regsel = REGSEL_CR2},
    {OPC(0x9F, OPI, OP_READ_ID), AD(ADDR_4, 8), .dummy = 4, DL(8)},
    {OPC(0x5A, OPI, OP_READ_SFDP), AD(ADDR_4, 8), .dummy = 20, DL(8)},

    {OPC(0x06, SPI | OPI, OP_WREN)},
    {OPC(0x04, SPI | OPI, OP_WRDI)},
    {OPC(0x66, SPI | OPI, OP_RESET_ENABLE)},
    {OPC(0x99, SPI | OPI, OP_RESET)},
    {OPC(0xB0, SPI | OPI, OP_SUSPEND)},
    {OPC(0x30, SPI | OPI, OP_RESUME)},
};

static const ft_nor_part nor_parts[] = {
    {
        .geo =
            {
                .name = "W25Q256JV",
                .size = 32u << 20, /* 131072 pages x 256 B, 8192 x 4 KB, 512 x 64 KB [W25Q] */
                .page_size = 256,
                .sector_size = 4096,
                .block_size = 65536,
                .jedec_id = {0xEF, 0x40, 0x19}, /* [W25Q] betaflight JEDEC_ID 0xEF4019 */
                .nv_size = W_REG_COUNT,
                .source = "devices.md §7; W25Q256JV datasheet (W25Q256JVEIQ pages); flashrom",
            },
        .regs = w25q256jv_regs,
        .reg_count = W_REG_COUNT,
        .cmds = w25q256jv_cmds,
        .cmd_count = sizeof(w25q256jv_cmds) / sizeof(w25q256jv_cmds[0]),
        /* typ / max [W25Q-T]: tSE 50/400 ms, tBE1 120/1600 ms, tBE2 150/2000 ms */
        .erases = {{4096, 0x20, 0x21, 50000, 400000},
                   {32768, 0x52, 0x00, 120000, 1600000},
                   {65536, 0xD8, 0xDC, 150000, 2000000}},
        .program_us = {700, 3000}, /* tPP [W25Q-T] */
        .chip_erase_us = 80000000, /* tCE 80 s typ, 400 s max [W25Q-T] */
        .write_reg_us = 10000,     /* tW [W25Q-T] */
        .f =
            {
                .wip = {W_SR1, 0x01},
                .wel = {W_SR1, 0x02},
                .bp = {W_SR1, 0x3C},
                .tb = {W_SR1, 0x40},
                .cmp = {W_SR2, 0x40},
                .qe = {W_SR2, 0x02},
                .ads = {W_SR3, 0x01},
                .adp = {W_SR3, 0x02},
                .sus_program = {W_SR2, 0x80},
                .sus_erase = {W_SR2, 0x80},
            },
        .ear_reg = W_EAR,
        .bp_unit = 65536, /* BP=1 protects one 64 KB block, doubling per step [FR][U] */
        .sfdp_qer = 5,    /* QE = SR2 bit 1, SR2 read with 35h [LNX sfdp.h QER 101b] [U] */
    },
    {
        .geo =
            {
                .name = "MX25UM51245G",
                .size = 64u << 20, /* 1024 x 64 KB, 16384 x 4 KB, 256-byte page [MX] */
                .page_size = 256,
                .sector_size = 4096,
                .block_size = 65536,
                .jedec_id = {0xC2, 0x80, 0x3A}, /* [MX] Macronix Linux patch "mx25um51245g" */
                .nv_size = M_REG_COUNT,
                .source = "devices.md §6.3; ST stm32-mx25um51245g driver; N6 Nucleo BSP",
            },
        .regs = mx25um51245g_regs,
        .reg_count = M_REG_COUNT,
        .cmds = mx25um51245g_cmds,
        .cmd_count = sizeof(mx25um51245g_cmds) / sizeof(mx25um51245g_cmds[0]),
        /* max from the ST driver (4 KB 400 ms, 64 KB 1 s, bulk 460 s) [MX]; typical values
         * were not retrieved: 25 ms, 220 ms, 150 s are Macronix family figures [U]. */
        .erases = {{4096, 0x20, 0x21, 25000, 400000}, {65536, 0xD8, 0xDC, 220000, 1000000}},
        .program_us = {150, 750},   /* [U] */
        .chip_erase_us = 150000000, /* typ [U]; the ST driver allows 460 s [MX] */
        .write_reg_us = 40000,      /* ST WRITE_REG_MAX_TIME, a maximum: no typical found [MX][U] */
        .f =
            {
                .wip = {M_SR, 0x01},
                .wel = {M_SR, 0x02},
                .bp = {M_SR, 0x3C},
                .tb = {M_CR1, 0x08},
                .sus_program = {M_SCUR, 0x04},
                .sus_erase = {M_SCUR, 0x08},
                .p_fail = {M_SCUR, 0x20},
                .e_fail = {M_SCUR, 0x40},
                .opi = {M_CR2_MODE, 0x03},
                .opi_default = {M_CR2_DEF, 0x03},
                .dummy = {M_CR2_DC, 0x07},
            },
        .ear_reg = NOR_NO_REG,
        .bp_unit = 65536, /* Macronix BP table: 2^(BP-1) blocks [FR][U] */
        .sfdp_qer = 0,    /* no QE bit */
    },
};

#define NOR_PART_COUNT (sizeof(nor_parts) / sizeof(nor_parts[0]))

/* ---- State ------------------------------------------------------------------------------- */

typedef enum nor_job_kind { JOB_NONE, JOB_PROGRAM, JOB_ERASE, JOB_WRITE_REGS } nor_job_kind;

/* An operation the flash runs on its own. Its effect is applied when it completes. */
typedef struct nor_job {
	nor_job_kind kind;
	uint64_t ns;   /* active: deadline on the clock; suspended: time still to run */
	uint32_t addr; /* program: page base; erase: first byte */
	uint32_t len;  /* erase: bytes */
	uint8_t latch[NOR_MAX_PAGE];     /* program: page buffer, 0xFF where no byte was sent */
	uint8_t reg_value[NOR_MAX_REGS]; /* register write: new values */
	uint8_t reg_mask;                /* register write: which registers */
} nor_job;

struct ft_nor {
	const ft_nor_part *part;
	ft_clock *clock;
	uint8_t *array;
	uint8_t *nv;
	bool own_array, own_nv;
	uint8_t reg[NOR_MAX_REGS]; /* current values, volatile bits included */
	nor_job active;
	nor_job suspended;
	bool reset_armed;    /* RSTEN was the previous command */
	bool volatile_armed; /* 50h was the previous command */
	uint8_t sfdp[NOR_SFDP_SIZE];
};

/* ---- Registers and fields ---------------------------------------------------------------- */

static unsigned field_get(const ft_nor *nor, nor_field f)
{
	if (!f.mask)
		return 0;
	return (unsigned)(nor->reg[f.reg] & f.mask) >> __builtin_ctz(f.mask);
}

static void field_put(ft_nor *nor, nor_field f, unsigned value)
{
	if (!f.mask)
		return;
	uint8_t bits = (uint8_t)((value << __builtin_ctz(f.mask)) & f.mask);
	nor->reg[f.reg] = (uint8_t)((nor->reg[f.reg] & ~f.mask) | bits);
}

static ft_nor_mode mode_of(const ft_nor *nor)
{
	unsigned v = field_get(nor, nor->part->f.opi);
	if (v & 0x02) /* DOPI wins when both bits are set [U] */
		return FT_NOR_MODE_DOPI;
	return v ? FT_NOR_MODE_SOPI : FT_NOR_MODE_SPI;
}

/* MX CR2 0x300 DC: 0 = 20 cycles, each step 2 fewer, 7 = 6 [MX]. */
static unsigned configured_dummy(const ft_nor *nor)
{
	return 20 - 2 * field_get(nor, nor->part->f.dummy);
}

/* The protected range [*start, *start + *len): BP=0 none, BP all ones everything, else
 * bp_unit << (BP - 1) capped at the array; TB=1 counts from the bottom; CMP=1 protects the
 * complement [FR] (W25Q256JV "Status Register Memory Protection" table not retrieved) [U]. */
static void protected_range(const ft_nor *nor, uint64_t *start, uint64_t *len)
{
	const ft_nor_part *p = nor->part;
	uint64_t size = p->geo.size;
	unsigned bp = field_get(nor, p->f.bp);
	unsigned bp_max = p->f.bp.mask >> __builtin_ctz(p->f.bp.mask);
	uint64_t n = 0;
	if (bp == bp_max)
		n = size;
	else if (bp)
		n = (uint64_t)p->bp_unit << (bp - 1);
	if (n > size)
		n = size;
	bool top = field_get(nor, p->f.tb) == 0;
	if (field_get(nor, p->f.cmp)) {
		n = size - n;
		top = !top;
	}
	*len = n;
	*start = top ? size - n : 0;
}

static bool is_protected(const ft_nor *nor, uint32_t addr, uint32_t len)
{
	uint64_t start, n;
	protected_range(nor, &start, &n);
	return n && addr < start + n && start < (uint64_t)addr + len;
}

/* ---- Operations on the clock ------------------------------------------------------------- */

static void apply_job(ft_nor *nor, const nor_job *job)
{
	const ft_nor_part *p = nor->part;
	switch (job->kind) {
	case JOB_PROGRAM: {
		/* NOR programming only clears bits. */
		uint8_t *dst = nor->array + job->addr;
		const uint8_t *src = job->latch;
		for (uint32_t i = 0, n = p->geo.page_size; i < n; i++)
			dst[i] &= src[i];
		break;
	}
	case JOB_ERASE: memset(nor->array + job->addr, 0xFF, job->len); break;
	case JOB_WRITE_REGS:
		for (uint8_t i = 0; i < p->reg_count; i++) {
			if (!(job->reg_mask & (1u << i)))
				continue;
			uint8_t w = p->regs[i].writable;
			nor->reg[i] = (uint8_t)((nor->reg[i] & ~w) | (job->reg_value[i] & w));
			nor->nv[i] = nor->reg[i] & p->regs[i].nv_mask;
		}
		break;
	case JOB_NONE: break;
	}
}

/* Completes the active operation once its deadline has passed: WIP and WEL clear together. */
static void settle(ft_nor *nor)
{
	if (nor->active.kind == JOB_NONE || ft_clock_now_ns(nor->clock) < nor->active.ns)
		return;
	apply_job(nor, &nor->active);
	nor->active.kind = JOB_NONE;
	field_put(nor, nor->part->f.wip, 0);
	field_put(nor, nor->part->f.wel, 0);
}

/* nor->active is filled in except for its deadline. */
static void start_job(ft_nor *nor, uint32_t duration_us)
{
	nor->active.ns = ft_clock_deadline_ns(nor->clock, (uint64_t)duration_us * 1000u);
	field_put(nor, nor->part->f.wip, 1);
}

/* A program or erase that starts clears the previous one's failure flags [U]. */
static void clear_fail_flags(ft_nor *nor)
{
	field_put(nor, nor->part->f.p_fail, 0);
	field_put(nor, nor->part->f.e_fail, 0);
}

static void power_on(ft_nor *nor)
{
	const ft_nor_part *p = nor->part;
	nor->active.kind = JOB_NONE;
	nor->suspended.kind = JOB_NONE;
	nor->reset_armed = false;
	nor->volatile_armed = false;
	for (uint8_t i = 0; i < p->reg_count; i++) {
		uint8_t nvm = p->regs[i].nv_mask;
		nor->reg[i] = (uint8_t)((p->regs[i].reset & ~nvm) | (nor->nv[i] & nvm));
	}
	/* W25Q: ADP selects the power-up address mode [W25Q]. */
	field_put(nor, p->f.ads, field_get(nor, p->f.adp));
	/* MX: DEFDOPI/DEFSOPI select the power-up protocol, else SPI [MX][U]. */
	unsigned def = field_get(nor, p->f.opi_default);
	field_put(nor, p->f.opi, (def & 0x02) ? 0x02 : def);
}

/* ---- SFDP (JESD216B layout as read by Linux sfdp.c [LNX]) -------------------------------- */

#define SFDP_BFPT_OFFSET  0x30
#define SFDP_BFPT_DWORDS  16
#define SFDP_4BAIT_OFFSET 0x70
#define SFDP_4BAIT_DWORDS 2

static void put_le32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static const nor_cmd *find_cmd(const ft_nor_part *p, unsigned modes, uint8_t opcode)
{
	for (size_t i = 0; i < p->cmd_count; i++)
		if (p->cmds[i].opcode == opcode && (p->cmds[i].modes & modes))
			return &p->cmds[i];
	return NULL;
}

/* BFPT fast-read half-word: dummy clocks b4:0, mode clocks b7:5, opcode b15:8; 0 if absent. */
static uint32_t sfdp_fast_read(const ft_nor_part *p, uint8_t opcode)
{
	const nor_cmd *c = find_cmd(p, SPI, opcode);
	if (!c)
		return 0;
	return (uint32_t)c->dummy | (uint32_t)c->mode_clocks << 5 | (uint32_t)opcode << 8;
}

/* Encodes a typical time as (count - 1) | unit index << count_bits with the smallest unit
 * (ascending, in µs) that fits the count field. */
static uint32_t sfdp_time(uint64_t us, const uint64_t *units, unsigned n_units, unsigned count_bits)
{
	for (unsigned u = 0; u < n_units; u++) {
		uint64_t count = (us + units[u] - 1) / units[u];
		if (count == 0)
			count = 1;
		if (count <= (1u << count_bits))
			return (uint32_t)(count - 1) | (uint32_t)u << count_bits;
	}
	return ((1u << count_bits) - 1) | ((n_units - 1) << count_bits);
}

/* Max = 2 * (N + 1) * typ. */
static uint32_t sfdp_multiplier(uint64_t typ_us, uint64_t max_us)
{
	uint64_t n = (max_us + 2 * typ_us - 1) / (2 * typ_us);
	return n == 0 ? 0 : n > 16 ? 15 : (uint32_t)(n - 1);
}

static unsigned log2_u32(uint32_t v)
{
	return 31u - (unsigned)__builtin_clz(v);
}

static void sfdp_build(const ft_nor_part *p, uint8_t *out)
{
	static const uint64_t erase_units[] = {1000, 16000, 128000, 1000000};
	static const uint64_t program_units[] = {8, 64};
	static const uint64_t chip_units[] = {16000, 256000, 4000000, 64000000};
	static const uint8_t fourbait_ops[] = {0x13, 0x0C, 0x3C, 0xBC, 0x6C,
	                                       0xEC, 0x12, 0x34, 0x3E};
	uint32_t dw[SFDP_BFPT_DWORDS] = {0};

	memset(out, 0xFF, NOR_SFDP_SIZE);
	const uint8_t header[] = {'S',
	                          'F',
	                          'D',
	                          'P',
	                          6,
	                          1,
	                          1,
	                          0xFF, /* JESD216B, 2 headers */
	                          0x00,
	                          6,
	                          1,
	                          SFDP_BFPT_DWORDS,
	                          SFDP_BFPT_OFFSET,
	                          0,
	                          0,
	                          0xFF,
	                          0x84,
	                          0,
	                          1,
	                          SFDP_4BAIT_DWORDS,
	                          SFDP_4BAIT_OFFSET,
	                          0,
	                          0,
	                          0xFF};
	memcpy(out, header, sizeof(header));

	bool three = false, four = find_cmd(p, SPI, 0xB7) != NULL;
	for (size_t i = 0; i < p->cmd_count; i++) {
		if (!(p->cmds[i].modes & SPI))
			continue;
		three |= p->cmds[i].addr == ADDR_3 || p->cmds[i].addr == ADDR_MODE;
		four |= p->cmds[i].addr == ADDR_4;
	}
	/* DWORD1: 4 KB erase b1:0 = 01 + opcode b15:8, write granularity >= 64 B b2, unused
	 * b7:5 and b31:23 ones, fast-read support bits, address bytes b18:17. */
	dw[0] = 0xFF8000E4u | 0x01 | (uint32_t)p->erases[0].opcode << 8 |
	        (uint32_t)(three && four ? 1
	                   : four        ? 2
	                                 : 0)
	            << 17;
	dw[0] |= find_cmd(p, SPI, 0x3B) ? 1u << 16 : 0;
	dw[0] |= find_cmd(p, SPI, 0xBB) ? 1u << 20 : 0;
	dw[0] |= find_cmd(p, SPI, 0xEB) ? 1u << 21 : 0;
	dw[0] |= find_cmd(p, SPI, 0x6B) ? 1u << 22 : 0;
	/* DWORD2: density in bits - 1, or 2^N with b31 set above 2 Gbit. */
	uint64_t bits = (uint64_t)p->geo.size * 8;
	dw[1] = bits <= (1ull << 31) ? (uint32_t)(bits - 1)
	                             : 0x80000000u | (log2_u32((uint32_t)(bits >> 32)) + 32);
	dw[2] = sfdp_fast_read(p, 0xEB) | sfdp_fast_read(p, 0x6B) << 16;
	dw[3] = sfdp_fast_read(p, 0x3B) | sfdp_fast_read(p, 0xBB) << 16;
	dw[4] = 0xFFFFFFEEu; /* no 2-2-2, no 4-4-4 */
	dw[5] = 0x0000FFFFu;
	dw[6] = 0x0000FFFFu;
	/* DWORD8-9: erase types, size 2^N b7:0 and opcode b15:8; DWORD10 their typical times. */
	uint32_t erase_mult = 0;
	for (unsigned i = 0; i < NOR_MAX_ERASES && p->erases[i].size; i++) {
		const nor_erase *e = &p->erases[i];
		dw[7 + i / 2] |= (log2_u32(e->size) | (uint32_t)e->opcode << 8) << (16 * (i % 2));
		dw[9] |= sfdp_time(e->typ_us, erase_units, 4, 5) << (4 + 7 * i);
		uint32_t m = sfdp_multiplier(e->typ_us, e->max_us);
		erase_mult = m > erase_mult ? m : erase_mult;
	}
	dw[9] |= erase_mult;
	/* DWORD11: program multiplier b3:0, page size 2^N b7:4, tPP b13:8, chip erase b30:24. */
	dw[10] = 0x80000000u | sfdp_multiplier(p->program_us[0], p->program_us[1]) |
	         (log2_u32(p->geo.page_size) << 4) |
	         (sfdp_time(p->program_us[0], program_units, 2, 5) << 8) |
	         (sfdp_time(p->chip_erase_us, chip_units, 4, 5) << 24);
	/* DWORD12-13: suspend supported (b31 = 0), opcodes; latencies not encoded [U]. */
	const nor_cmd *sus =
	    find_cmd(p, SPI, 0x75) ? find_cmd(p, SPI, 0x75) : find_cmd(p, SPI, 0xB0);
	const nor_cmd *res =
	    find_cmd(p, SPI, 0x7A) ? find_cmd(p, SPI, 0x7A) : find_cmd(p, SPI, 0x30);
	dw[11] = sus ? 0 : 0x80000000u;
	if (sus && res)
		dw[12] = res->opcode | (uint32_t)sus->opcode << 8 | (uint32_t)res->opcode << 16 |
		         (uint32_t)sus->opcode << 24;
	/* DWORD14: deep power-down not modelled (b31), WIP polled with 05h (b2). */
	dw[13] = 0x80000004u;
	dw[14] = (uint32_t)p->sfdp_qer << 20;
	/* DWORD16: enter 4-byte b31:24 (b0 B7h, b2 extended address register, b5 dedicated 4-byte
	 * opcodes), exit b23:14 (b0 E9h, b2 EAR, b6 soft reset, b7 power cycle), soft reset b13:8
	 * (b4: 66h + 99h), b7 reserved. */
	bool b7 = find_cmd(p, SPI, 0xB7) != NULL, ear = p->ear_reg != NOR_NO_REG;
	uint32_t enter = (b7 ? 0x01u : 0) | (ear ? 0x04u : 0) | (four ? 0x20u : 0);
	uint32_t exit = b7 ? 0x01u | 0x40 | 0x80 | (ear ? 0x04u : 0) : 0;
	dw[15] = enter << 24 | exit << 14 | 0x10u << 8 | 0x80;
	for (unsigned i = 0; i < SFDP_BFPT_DWORDS; i++)
		put_le32(out + SFDP_BFPT_OFFSET + 4 * i, dw[i]);

	/* 4-byte address instruction table: DWORD1 support bits, DWORD2 erase-type opcodes. */
	uint32_t fb = 0, fb_erase = 0xFFFFFFFFu;
	for (unsigned i = 0; i < sizeof(fourbait_ops); i++)
		if (find_cmd(p, SPI, fourbait_ops[i]))
			fb |= 1u << i;
	for (unsigned i = 0; i < NOR_MAX_ERASES && p->erases[i].size; i++) {
		if (!p->erases[i].opcode_4b)
			continue;
		fb |= 1u << (9 + i);
		fb_erase &= ~(0xFFu << (8 * i));
		fb_erase |= (uint32_t)p->erases[i].opcode_4b << (8 * i);
	}
	put_le32(out + SFDP_4BAIT_OFFSET, fb);
	put_le32(out + SFDP_4BAIT_OFFSET + 4, fb_erase);
}

/* ---- Part table API ---------------------------------------------------------------------- */

size_t ft_nor_part_count(void)
{
	return NOR_PART_COUNT;
}

const ft_nor_part *ft_nor_part_at(size_t index)
{
	return index < NOR_PART_COUNT ? &nor_parts[index] : NULL;
}

const ft_nor_part *ft_nor_part_find(const char *spelling)
{
	if (!spelling)
		return NULL;
	for (size_t i = 0; i < NOR_PART_COUNT; i++) {
		const char *name = nor_parts[i].geo.name;
		if (strncasecmp(spelling, name, strlen(name)) == 0)
			return &nor_parts[i];
	}
	return NULL;
}

const ft_nor_geometry *ft_nor_part_geometry(const ft_nor_part *part)
{
	return &part->geo;
}

uint32_t ft_nor_page_program_us(const ft_nor_part *part)
{
	return part->program_us[0];
}

uint32_t ft_nor_erase_us(const ft_nor_part *part, uint32_t erase_size)
{
	if (erase_size == part->geo.size)
		return part->chip_erase_us;
	for (size_t i = 0; i < NOR_MAX_ERASES && part->erases[i].size; i++)
		if (part->erases[i].size == erase_size)
			return part->erases[i].typ_us;
	return 0;
}

const char *ft_nor_mode_name(ft_nor_mode mode)
{
	switch (mode) {
	case FT_NOR_MODE_SPI: return "spi";
	case FT_NOR_MODE_SOPI: return "sopi";
	case FT_NOR_MODE_DOPI: return "dopi";
	}
	return "unknown";
}

/* ---- Lifetime ---------------------------------------------------------------------------- */

void ft_nor_factory_nv(const ft_nor_part *part, uint8_t *nv)
{
	for (uint8_t i = 0; i < part->reg_count; i++)
		nv[i] = part->regs[i].reset & part->regs[i].nv_mask;
}

ft_error ft_nor_new(const ft_nor_part *part, ft_clock *clock, const ft_nor_backing *backing,
                    ft_nor **out, ft_diag *diag)
{
	if (!part || !clock || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "nor", "NULL part, clock or out");
	assert(part->reg_count <= NOR_MAX_REGS && part->geo.page_size <= NOR_MAX_PAGE);
	*out = NULL;
	ft_nor *nor = calloc(1, sizeof(*nor));
	if (!nor)
		return ft_diag_set(diag, FT_ERR_NO_MEM, part->geo.name, "no memory for the model");
	nor->part = part;
	nor->clock = clock;
	bool fresh = !backing || backing->fresh;
	nor->array = backing ? backing->array : NULL;
	nor->nv = backing ? backing->nv : NULL;
	bool fresh_array = fresh || !nor->array, fresh_nv = fresh || !nor->nv;
	if (!nor->array) {
		nor->array = malloc(part->geo.size);
		nor->own_array = true;
	}
	if (!nor->nv) {
		nor->nv = malloc(part->geo.nv_size);
		nor->own_nv = true;
	}
	if (!nor->array || !nor->nv) {
		ft_nor_free(nor);
		return ft_diag_set(diag, FT_ERR_NO_MEM, part->geo.name, "no memory for %u bytes",
		                   (unsigned)part->geo.size);
	}
	if (fresh_array)
		memset(nor->array, 0xFF, part->geo.size);
	if (fresh_nv)
		ft_nor_factory_nv(part, nor->nv);
	sfdp_build(part, nor->sfdp);
	power_on(nor);
	*out = nor;
	return FT_OK;
}

void ft_nor_free(ft_nor *nor)
{
	if (!nor)
		return;
	if (nor->own_array)
		free(nor->array);
	if (nor->own_nv)
		free(nor->nv);
	free(nor);
}

const ft_nor_part *ft_nor_part_of(const ft_nor *nor)
{
	return nor->part;
}

ft_nor_mode ft_nor_mode_of(const ft_nor *nor)
{
	return mode_of(nor);
}

const uint8_t *ft_nor_array(ft_nor *nor)
{
	settle(nor);
	return nor->array;
}

void ft_nor_reset(ft_nor *nor)
{
	/* An operation whose time has already run out completed before the power cycle. */
	settle(nor);
	power_on(nor);
}

/* ---- Transactions ------------------------------------------------------------------------ */

/* What one transaction is being decoded as, for the handlers and the diagnostics. */
typedef struct nor_ctx {
	ft_nor *nor;
	const ft_nor_xfer *x;
	const nor_cmd *c;
	ft_nor_mode mode;
	bool decoded; /* the instruction form matched the mode: name it in diagnostics */
	ft_diag *diag;
} nor_ctx;

/* Fills the diag, origin "<part> <mode> <instruction>", and returns code. Formatting happens
 * only on failure: a transfer that succeeds costs no string work. */
__attribute__((format(printf, 3, 4))) static ft_error nor_fail(nor_ctx *k, ft_error code,
                                                               const char *fmt, ...)
{
	if (!k->diag)
		return code;
	char origin[64], message[sizeof(k->diag->message)];
	const char *name = k->nor->part->geo.name, *mode = ft_nor_mode_name(k->mode);
	if (!k->decoded)
		snprintf(origin, sizeof(origin), "%s %s", name, mode);
	else if (k->mode == FT_NOR_MODE_SPI)
		snprintf(origin, sizeof(origin), "%s %s 0x%02X", name, mode, k->x->instruction);
	else
		snprintf(origin, sizeof(origin), "%s %s 0x%04X", name, mode, k->x->instruction);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return ft_diag_set(k->diag, code, origin, "%s", message);
}

static bool valid_lines(uint8_t lines)
{
	return lines == 0 || lines == 1 || lines == 2 || lines == 4 || lines == 8;
}

static ft_error check_shape(const ft_nor *nor, const ft_nor_xfer *x, ft_diag *diag)
{
	const char *name = nor->part->geo.name;
	if (!valid_lines(x->instruction_lines) || !valid_lines(x->address_lines) ||
	    !valid_lines(x->alternate_lines) || !valid_lines(x->data_lines))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name, "line counts must be 0/1/2/4/8");
	if (x->instruction_bytes < 1 || x->instruction_bytes > 2 ||
	    (x->instruction_bytes == 1 && x->instruction > 0xFF))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "instruction 0x%X does not fit %u byte(s)", x->instruction,
		                   x->instruction_bytes);
	if (x->has_address && (x->address_bytes < 1 || x->address_bytes > 4 || !x->address_lines))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "address phase needs 1-4 bytes on 1/2/4/8 lines");
	if (x->alternate_bytes > 4 || (x->alternate_bytes && !x->alternate_lines))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "alternate phase needs 0-4 bytes on 1/2/4/8 lines");
	if (x->data_len && (!x->data || !x->data_lines))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "%zu data bytes need a buffer and 1/2/4/8 lines", x->data_len);
	return FT_OK;
}

/* The instruction form the current mode expects. */
static ft_error decode_instruction(nor_ctx *k)
{
	const ft_nor_xfer *x = k->x;
	const char *name = k->nor->part->geo.name;
	bool octal = k->mode != FT_NOR_MODE_SPI, dtr = k->mode == FT_NOR_MODE_DOPI;
	unsigned lines = octal ? 8 : 1, bytes = octal ? 2 : 1;
	if (x->instruction_lines == 0)
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "no instruction phase: continuous-read (XIP) mode is not modelled");
	if (x->instruction_lines != lines || x->instruction_bytes != bytes || x->dtr != dtr)
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "instruction 0x%X ignored: in %s mode the flash expects a %u-byte "
		                "instruction on %u line(s) %s, got %u byte(s) on %u line(s) %s",
		                x->instruction, ft_nor_mode_name(k->mode), bytes, lines,
		                dtr ? "DTR" : "STR", x->instruction_bytes, x->instruction_lines,
		                x->dtr ? "DTR" : "STR");
	uint8_t opcode = (uint8_t)(octal ? x->instruction >> 8 : x->instruction);
	k->decoded = true;
	if (octal && (x->instruction & 0xFF) != (uint8_t)~opcode)
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "octal instruction extension 0x%02X is not the inverse of 0x%02X "
		                "(expected 0x%02X)",
		                x->instruction & 0xFF, opcode, (uint8_t)~opcode);
	k->c = find_cmd(k->nor->part, 1u << k->mode, opcode);
	if (!k->c)
		return nor_fail(k, FT_ERR_UNSUPPORTED,
		                "opcode 0x%02X is not a %s command in %s mode (or is not modelled)",
		                opcode, name, ft_nor_mode_name(k->mode));
	return FT_OK;
}

static unsigned address_bytes(const ft_nor *nor, const nor_cmd *c)
{
	switch ((nor_addr)c->addr) {
	case ADDR_NONE: return 0;
	case ADDR_3: return 3;
	case ADDR_4: return 4;
	case ADDR_MODE: return field_get(nor, nor->part->f.ads) ? 4 : 3;
	}
	return 0;
}

static bool is_read_op(nor_op op)
{
	return op == OP_READ || op == OP_READ_REG || op == OP_READ_ID || op == OP_READ_SFDP;
}

/* Phases after the instruction, against the command table. */
static ft_error check_phases(nor_ctx *k)
{
	const ft_nor_xfer *x = k->x;
	const nor_cmd *c = k->c;
	const ft_nor *nor = k->nor;
	unsigned abytes = address_bytes(nor, c);
	if (!abytes && x->has_address)
		return nor_fail(k, FT_ERR_PROTOCOL, "command takes no address");
	if (abytes && !x->has_address)
		return nor_fail(k, FT_ERR_PROTOCOL, "command needs an address");
	if (abytes && x->address_lines != c->addr_lines)
		return nor_fail(k, FT_ERR_PROTOCOL, "address expected on %u line(s), got %u",
		                c->addr_lines, x->address_lines);
	if (abytes && x->address_bytes != abytes)
		return nor_fail(k, FT_ERR_PROTOCOL, "%u address bytes expected%s, got %u", abytes,
		                c->addr == ADDR_MODE ? (abytes == 4 ? " (4-byte address mode)"
		                                                    : " (3-byte address mode)")
		                                     : "",
		                x->address_bytes);

	unsigned per_cycle = x->dtr ? 2 : 1;
	unsigned alt_bits = 8u * x->alternate_bytes;
	unsigned alt_width = x->alternate_lines * per_cycle;
	if (alt_bits % (alt_width ? alt_width : 1))
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "%u alternate byte(s) do not fill whole cycles on %u line(s)",
		                x->alternate_bytes, x->alternate_lines);
	unsigned cycles = x->dummy_cycles + (alt_width ? alt_bits / alt_width : 0);
	unsigned want =
	    c->mode_clocks + (c->dummy == NOR_DUMMY_CONFIGURED ? configured_dummy(nor) : c->dummy);
	bool repeats = c->op == OP_READ_REG;
	bool whole_bytes = cycles > want && (cycles - want) * c->data_lines * per_cycle % 8 == 0;
	if (cycles != want && !(repeats && whole_bytes))
		return nor_fail(k, FT_ERR_PROTOCOL, "%u dummy/mode cycles expected%s, got %u", want,
		                c->dummy == NOR_DUMMY_CONFIGURED ? " (CR2 0x300 DC setting)" : "",
		                cycles);

	if (x->data_len && !c->data_lines)
		return nor_fail(k, FT_ERR_PROTOCOL, "command takes no data");
	if (x->data_len && x->data_lines != c->data_lines)
		return nor_fail(k, FT_ERR_PROTOCOL, "data expected on %u line(s), got %u",
		                c->data_lines, x->data_lines);
	if (x->data_len && x->data_in != is_read_op((nor_op)c->op))
		return nor_fail(k, FT_ERR_PROTOCOL, "data direction must be %s",
		                is_read_op((nor_op)c->op) ? "flash to host" : "host to flash");
	return FT_OK;
}

/* The array address a command reaches: in 3-byte form the top byte comes from the extended
 * address register when the part has one and the command follows the address mode, else it is 0
 * (the access aliases into the first 16 MB); anything past the array wraps [U]. */
static uint32_t array_address(const ft_nor *nor, const nor_cmd *c, uint32_t address)
{
	const ft_nor_part *p = nor->part;
	uint32_t a = address;
	if (address_bytes(nor, c) == 3) {
		a &= 0xFFFFFF;
		if (c->addr == ADDR_MODE && p->ear_reg != NOR_NO_REG)
			a |= (uint32_t)nor->reg[p->ear_reg] << 24;
	}
	return a % p->geo.size;
}

static void copy_out(const ft_nor *nor, uint32_t addr, uint8_t *buf, size_t len)
{
	uint32_t size = nor->part->geo.size;
	while (len) {
		size_t n = size - addr < len ? size - addr : len;
		memcpy(buf, nor->array + addr, n);
		buf += n;
		len -= n;
		addr = 0;
	}
}

static ft_error need_wel(nor_ctx *k, const char *what)
{
	if (field_get(k->nor, k->nor->part->f.wel))
		return FT_OK;
	return nor_fail(k, FT_ERR_STATE, "%s ignored: WEL=0 (no WRITE ENABLE 06h before it)", what);
}

static ft_error refuse_protected(nor_ctx *k, nor_field flag, const char *what, uint32_t addr,
                                 uint32_t len)
{
	uint64_t start, n;
	protected_range(k->nor, &start, &n);
	field_put(k->nor, flag, 1);
	return nor_fail(k, FT_ERR_PROTECTED,
	                "%s of 0x%08X..0x%08X ignored: block protection covers 0x%08llX..0x%08llX",
	                what, addr, addr + len - 1, (unsigned long long)start,
	                (unsigned long long)(start + n - 1));
}

static ft_error do_program(nor_ctx *k)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	const ft_nor_xfer *x = k->x;
	if (!x->data_len)
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "page program without data bytes is not executed");
	ft_error err = need_wel(k, "page program");
	if (err)
		return err;
	uint32_t addr = array_address(nor, k->c, x->address), page = p->geo.page_size;
	uint32_t base = addr - addr % page;
	if (nor->suspended.kind == JOB_PROGRAM ||
	    (nor->suspended.kind == JOB_ERASE && base < nor->suspended.addr + nor->suspended.len &&
	     nor->suspended.addr < base + page))
		return nor_fail(
		    k, FT_ERR_STATE,
		    "page program ignored: a program is suspended, or the page is in the "
		    "suspended erase");
	if (is_protected(nor, base, page))
		return refuse_protected(k, p->f.p_fail, "page program", base, page);
	/* Bytes past the page end wrap to its start; with more than a page, the last ones win. */
	nor->active.kind = JOB_PROGRAM;
	nor->active.addr = base;
	memset(nor->active.latch, 0xFF, page);
	size_t first = x->data_len > page ? x->data_len - page : 0, n = x->data_len - first;
	size_t at = (addr + first) % page, head = n < page - at ? n : page - at;
	memcpy(nor->active.latch + at, x->data + first, head);
	memcpy(nor->active.latch, x->data + first + head, n - head);
	clear_fail_flags(nor);
	start_job(nor, p->program_us[0]);
	return FT_OK;
}

static const nor_erase *erase_type(const ft_nor_part *p, uint32_t size)
{
	for (unsigned i = 0; i < NOR_MAX_ERASES && p->erases[i].size; i++)
		if (p->erases[i].size == size)
			return &p->erases[i];
	return NULL;
}

static ft_error do_erase(nor_ctx *k, bool chip)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	ft_error err = need_wel(k, chip ? "chip erase" : "erase");
	if (err)
		return err;
	uint32_t size = chip ? p->geo.size : k->c->erase_size;
	uint32_t addr = chip ? 0 : array_address(nor, k->c, k->x->address);
	addr -= addr % size;
	/* Chip erase runs only when no block is protected [W25Q][U]. */
	if (is_protected(nor, addr, size))
		return refuse_protected(k, p->f.e_fail, chip ? "chip erase" : "erase", addr, size);
	nor->active.kind = JOB_ERASE;
	nor->active.addr = addr;
	nor->active.len = size;
	const nor_erase *e = chip ? NULL : erase_type(p, size);
	assert(chip || e); /* every erase command's size is in the part's erase list */
	clear_fail_flags(nor);
	start_job(nor, chip ? p->chip_erase_us : e->typ_us);
	return FT_OK;
}

/* The register a register command addresses, or NOR_NO_REG with diag filled. */
static uint8_t select_reg(nor_ctx *k)
{
	const ft_nor_part *p = k->nor->part;
	const nor_cmd *c = k->c;
	uint32_t a = k->x->address;
	switch ((nor_regsel)c->regsel) {
	case REGSEL_FIXED: return c->reg;
	case REGSEL_OFFSET:
		if (a < (c->span ? c->span : 1u))
			return (uint8_t)(c->reg + a);
		break;
	case REGSEL_CR2:
		for (uint8_t i = 0; i < p->reg_count; i++)
			if (p->regs[i].cr2_addr == a)
				return i;
		break;
	}
	nor_fail(k, FT_ERR_RANGE, "no register at address 0x%08X", a);
	return NOR_NO_REG;
}

static ft_error do_read_reg(nor_ctx *k)
{
	uint8_t r = select_reg(k);
	if (r == NOR_NO_REG)
		return FT_ERR_RANGE;
	/* The register repeats for as long as the host clocks (in DTR each byte is doubled). */
	for (size_t i = 0; i < k->x->data_len; i++)
		k->x->data[i] = k->nor->reg[r];
	return FT_OK;
}

static ft_error do_write_reg(nor_ctx *k, bool volatile_write)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	const ft_nor_xfer *x = k->x;
	if (!x->data_len)
		return nor_fail(k, FT_ERR_PROTOCOL,
		                "register write without data bytes is not executed");
	uint8_t first = select_reg(k);
	if (first == NOR_NO_REG)
		return FT_ERR_RANGE;
	if (!volatile_write && !field_get(nor, p->f.wel))
		return nor_fail(k, FT_ERR_STATE,
		                "%s write ignored: WEL=0 (no WRITE ENABLE 06h before it)",
		                p->regs[first].name);
	/* DTR carries bytes in pairs; a register takes the first of its pair [U]. */
	size_t stride = x->dtr ? 2 : 1, count = (x->data_len + stride - 1) / stride;
	size_t span = k->c->regsel == REGSEL_FIXED && k->c->span ? k->c->span : 1;
	if (count > span)
		count = span;
	nor_job job = {.kind = JOB_WRITE_REGS};
	bool non_volatile = false;
	for (size_t i = 0; i < count; i++) {
		uint8_t r = (uint8_t)(first + i);
		const nor_reg *d = &p->regs[r];
		uint8_t v = x->data[i * stride];
		job.reg_value[r] = (uint8_t)((nor->reg[r] & ~d->writable) | (v & d->writable) |
		                             (nor->reg[r] & d->set_only));
		job.reg_mask |= (uint8_t)(1u << r);
		non_volatile |= d->nv_mask != 0;
	}
	if (non_volatile && !volatile_write && nor->suspended.kind != JOB_NONE)
		return nor_fail(k, FT_ERR_STATE,
		                "%s write ignored: non-volatile, and an operation is suspended",
		                p->regs[first].name);
	if (non_volatile && !volatile_write) {
		nor->active = job;
		start_job(nor, p->write_reg_us);
		return FT_OK;
	}
	/* Volatile registers (and 50h writes) change at once; WEL clears as after any write [U]. */
	for (uint8_t r = 0; r < p->reg_count; r++)
		if (job.reg_mask & (1u << r))
			nor->reg[r] = (uint8_t)((nor->reg[r] & ~p->regs[r].writable) |
			                        (job.reg_value[r] & p->regs[r].writable));
	if (!volatile_write)
		field_put(nor, p->f.wel, 0);
	return FT_OK;
}

static ft_error do_read_id(nor_ctx *k)
{
	const ft_nor_xfer *x = k->x;
	const uint8_t *id = k->nor->part->geo.jedec_id;
	/* In DTR each ID byte is held for a whole clock, so it arrives twice [LNX]. Bytes past the
	 * ID read 0xFF [U]. */
	size_t per = x->dtr ? 2 : 1;
	for (size_t i = 0; i < x->data_len; i++)
		x->data[i] = i / per < 3 ? id[i / per] : 0xFF;
	return FT_OK;
}

static ft_error do_read_sfdp(nor_ctx *k)
{
	const ft_nor_xfer *x = k->x;
	/* Bytes past the SFDP area read 0xFF [U]. */
	for (size_t i = 0; i < x->data_len; i++) {
		uint64_t a = (uint64_t)x->address + i;
		x->data[i] = a < NOR_SFDP_SIZE ? k->nor->sfdp[a] : 0xFF;
	}
	return FT_OK;
}

/* tSUS is taken as instant [U]. */
static ft_error do_suspend(nor_ctx *k)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	nor_job_kind kind = nor->active.kind;
	if ((kind != JOB_PROGRAM && kind != JOB_ERASE) || nor->suspended.kind != JOB_NONE)
		return nor_fail(k, FT_ERR_STATE,
		                "suspend ignored: no program or erase in progress to suspend");
	uint64_t now = ft_clock_now_ns(nor->clock);
	nor->suspended = nor->active;
	nor->suspended.ns = nor->active.ns > now ? nor->active.ns - now : 0;
	nor->active.kind = JOB_NONE;
	field_put(nor, p->f.wip, 0);
	field_put(nor, kind == JOB_PROGRAM ? p->f.sus_program : p->f.sus_erase, 1);
	return FT_OK;
}

static ft_error do_resume(nor_ctx *k)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	if (nor->suspended.kind == JOB_NONE)
		return nor_fail(k, FT_ERR_STATE, "resume ignored: nothing is suspended");
	nor->active = nor->suspended;
	nor->active.ns = ft_clock_deadline_ns(nor->clock, nor->suspended.ns);
	nor->suspended.kind = JOB_NONE;
	field_put(nor, p->f.sus_program, 0);
	field_put(nor, p->f.sus_erase, 0);
	field_put(nor, p->f.wip, 1);
	return FT_OK;
}

static ft_error execute(nor_ctx *k)
{
	ft_nor *nor = k->nor;
	const ft_nor_part *p = nor->part;
	const ft_nor_xfer *x = k->x;
	nor_op op = (nor_op)k->c->op;

	/* RSTEN and 50h arm only the command that immediately follows them. */
	bool reset_armed = nor->reset_armed, volatile_armed = nor->volatile_armed;
	nor->reset_armed = false;
	nor->volatile_armed = false;

	if (nor->active.kind != JOB_NONE && op != OP_READ_REG && op != OP_SUSPEND &&
	    op != OP_RESET_ENABLE && op != OP_RESET)
		return nor_fail(k, FT_ERR_BUSY, "ignored: WIP=1, the flash is busy with a %s",
		                nor->active.kind == JOB_PROGRAM ? "page program"
		                : nor->active.kind == JOB_ERASE ? "erase"
		                                                : "register write");
	if (nor->suspended.kind != JOB_NONE && (op == OP_ERASE || op == OP_CHIP_ERASE))
		return nor_fail(k, FT_ERR_STATE,
		                "erase ignored while a program or erase is suspended");
	bool quad = k->c->addr_lines == 4 || k->c->data_lines == 4;
	if (quad && p->f.qe.mask && !field_get(nor, p->f.qe))
		return nor_fail(k, FT_ERR_STATE,
		                "quad command ignored: QE=0 in the status register");

	switch (op) {
	case OP_READ:
		copy_out(nor, array_address(nor, k->c, x->address), x->data, x->data_len);
		return FT_OK;
	case OP_PROGRAM: return do_program(k);
	case OP_ERASE: return do_erase(k, false);
	case OP_CHIP_ERASE: return do_erase(k, true);
	case OP_WREN: field_put(nor, p->f.wel, 1); return FT_OK;
	case OP_WRDI: field_put(nor, p->f.wel, 0); return FT_OK;
	case OP_VOLATILE_WREN: nor->volatile_armed = true; return FT_OK;
	case OP_READ_REG: return do_read_reg(k);
	case OP_WRITE_REG: return do_write_reg(k, volatile_armed);
	case OP_READ_ID: return do_read_id(k);
	case OP_READ_SFDP: return do_read_sfdp(k);
	case OP_ENTER_4B: field_put(nor, p->f.ads, 1); return FT_OK;
	case OP_EXIT_4B: field_put(nor, p->f.ads, 0); return FT_OK;
	case OP_RESET_ENABLE: nor->reset_armed = true; return FT_OK;
	case OP_RESET:
		if (!reset_armed)
			return nor_fail(
			    k, FT_ERR_STATE,
			    "reset ignored: RESET ENABLE 66h must come right before it");
		power_on(nor);
		return FT_OK;
	case OP_SUSPEND: return do_suspend(k);
	case OP_RESUME: return do_resume(k);
	}
	assert(!"command table holds an unknown op");
	return FT_ERR_UNSUPPORTED;
}

ft_error ft_nor_transfer(ft_nor *nor, const ft_nor_xfer *xfer, ft_diag *diag)
{
	if (!nor || !xfer)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "nor", "NULL flash or transfer");
	ft_error err = check_shape(nor, xfer, diag);
	if (err)
		return err;
	settle(nor);
	nor_ctx k = {.nor = nor, .x = xfer, .mode = mode_of(nor), .diag = diag};
	err = decode_instruction(&k);
	if (!err)
		err = check_phases(&k);
	if (!err)
		err = execute(&k);
	if (err && xfer->data_in && xfer->data_len)
		memset(xfer->data, 0xFF, xfer->data_len);
	return err;
}

ft_error ft_nor_read_mapped(ft_nor *nor, uint32_t address, uint8_t *buf, size_t len, ft_diag *diag)
{
	if (!nor || (!buf && len))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "nor", "NULL flash or buffer");
	settle(nor);
	if (nor->active.kind != JOB_NONE) {
		if (len)
			memset(buf, 0xFF, len);
		return ft_diag_set(diag, FT_ERR_BUSY, nor->part->geo.name,
		                   "memory-mapped read of 0x%08X while WIP=1 reads undefined data",
		                   address);
	}
	copy_out(nor, address % nor->part->geo.size, buf, len);
	return FT_OK;
}
