/* JEDEC serial NOR flash, parametrised by a part table (W25Q256JV, MX25UM51245G).
 *
 * The model is driven one bus transaction at a time through ft_nor_transfer: a controller model
 * (QUADSPI, OCTOSPI, XSPI) or a test describes the phases it clocked (instruction, address,
 * alternate bytes, dummy cycles, data), their bus widths and STR/DTR, and the model answers as the
 * silicon would. A transaction whose phases do not match what the flash expects in its current
 * protocol (SPI 1-x-x, octal STR "SOPI" 8S-8S-8S, octal DTR "DOPI" 8D-8D-8D), or that the flash
 * would refuse (no WREN, block-protected, busy, QE clear ...), is ignored as on silicon: nothing
 * changes and data-in bytes read 0xFF (the real bus floats; the bytes are undefined). The return
 * code and the ft_diag say why, so a controller model can log it and a test can assert it.
 *
 * Time comes from an ft_clock. Page program, erase and non-volatile register writes set WIP (and
 * keep WEL set) until their datasheet duration has passed; the array and register changes become
 * visible when the operation completes, so a reset or power loss while busy leaves the old
 * contents. While WIP is set, only register reads, program/erase suspend and reset are accepted.
 *
 * Backing store: the array and the non-volatile register bytes live in caller buffers when given
 * (memory-mapped state files), else the model allocates them. Neither is ever resized or freed by
 * the model when the caller owns it.
 *
 * Not modelled (documented so nobody relies on it): continuous-read/XIP mode bits (M7-0 are
 * accepted and ignored), deep power-down, OTP/security registers, individual block locks (W25Q
 * WPS=1), the /WP pin (taken as high), the Status Register Lock (SRL) semantics, tRST and tSUS
 * latencies (both instant), DQS and preamble behaviour.
 *
 * Not thread-safe: a board runs its models on one thread.
 */
#ifndef FT_NOR_FLASH_H
#define FT_NOR_FLASH_H

#include "models/clock.h"
#include "models/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One part of the table; static const data, valid for the whole process, never freed. */
typedef struct ft_nor_part ft_nor_part;
typedef struct ft_nor ft_nor;

typedef struct ft_nor_geometry {
	const char *name;     /* canonical part number: "W25Q256JV" */
	uint32_t size;        /* array bytes */
	uint32_t page_size;   /* page-program buffer; data past its end wraps to its start */
	uint32_t sector_size; /* smallest erase unit (4 KB) */
	uint32_t block_size;  /* 64 KB block-erase unit */
	uint8_t jedec_id[3];  /* RDID (9Fh) bytes: manufacturer, memory type, capacity */
	size_t nv_size;       /* bytes of non-volatile register state (ft_nor_backing.nv) */
	const char *source;   /* documents the facts come from */
} ft_nor_geometry;

size_t ft_nor_part_count(void);
/* index < ft_nor_part_count(), else NULL. */
const ft_nor_part *ft_nor_part_at(size_t index);
/* Case-insensitive; ordering suffixes are ignored ("w25q256jveiq", "MX25UM51245GXDI00").
 * Returns NULL when no part matches. */
const ft_nor_part *ft_nor_part_find(const char *spelling);
const ft_nor_geometry *ft_nor_part_geometry(const ft_nor_part *part);

/* The typical time, in microseconds, the model keeps WIP set for a page program
 * (ft_nor_page_program_us) or for an erase of erase_size bytes (ft_nor_erase_us: one of the
 * part's erase units, 4/32/64 KB, or geometry.size for a chip erase; 0 when the part has no
 * erase of that size). What a benchmark's floor is computed from. */
uint32_t ft_nor_page_program_us(const ft_nor_part *part);
uint32_t ft_nor_erase_us(const ft_nor_part *part, uint32_t erase_size);

/* The protocol the flash currently decodes instructions in. */
typedef enum ft_nor_mode {
	FT_NOR_MODE_SPI,  /* 1-line 8-bit instruction, STR */
	FT_NOR_MODE_SOPI, /* 8-line 2-byte instruction (cmd, ~cmd), STR */
	FT_NOR_MODE_DOPI, /* 8-line 2-byte instruction (cmd, ~cmd), DTR */
} ft_nor_mode;

/* Stable name: "spi", "sopi", "dopi"; never NULL. */
const char *ft_nor_mode_name(ft_nor_mode mode);

typedef struct ft_nor_backing {
	uint8_t *array; /* geometry.size bytes, or NULL: the model allocates and owns it */
	uint8_t *nv;    /* geometry.nv_size bytes, or NULL: the model allocates and owns it */
	bool fresh;     /* true: initialise the caller's buffers to factory state (array 0xFF,
	                 * registers at their defaults); false: they hold a previous session's state.
	                 * Buffers the model allocates always start fresh. */
} ft_nor_backing;

/* Writes the non-volatile register bytes of a factory-new part (what a fresh backing's nv buffer
 * is initialised to) into nv[0..geometry.nv_size): for a host that creates the backing itself, e.g.
 * a board store that must create a region with its complete factory bytes. */
void ft_nor_factory_nv(const ft_nor_part *part, uint8_t *nv);

/* Creates a flash in its power-on state. clock must outlive the flash; backing may be NULL (both
 * buffers allocated). Returns FT_OK and *out, FT_ERR_INVALID_ARG for a NULL part/clock/out, or
 * FT_ERR_NO_MEM. */
ft_error ft_nor_new(const ft_nor_part *part, ft_clock *clock, const ft_nor_backing *backing,
                    ft_nor **out, ft_diag *diag);
/* Frees the model and the buffers it allocated; NULL is a no-op. */
void ft_nor_free(ft_nor *nor);

const ft_nor_part *ft_nor_part_of(const ft_nor *nor);
ft_nor_mode ft_nor_mode_of(const ft_nor *nor);

/* One chip-select-low-to-high transaction. A phase is absent when its line count is 0 (address:
 * has_address false; data: data_len 0). Dummy and alternate-byte cycles are counted in clock
 * cycles, which is what the flash sees: the sum must match the command's mode-bit clocks plus its
 * dummy cycles (for MX25UM OPI reads, the count configured in CR2 0x300). */
typedef struct ft_nor_xfer {
	uint16_t instruction;      /* SPI: the opcode; OPI: (cmd << 8) | (~cmd & 0xFF) */
	uint8_t instruction_bytes; /* 1, or 2 for the octal cmd/~cmd form */
	uint8_t instruction_lines; /* 1, 2, 4 or 8; 0 means no instruction phase */
	bool dtr;                  /* double transfer rate on every phase */
	bool has_address;
	uint8_t address_bytes; /* 3 or 4 */
	uint8_t address_lines;
	uint32_t address;
	uint8_t alternate_bytes; /* 0..4: mode bits (M7-0) sent by the controller, ignored */
	uint8_t alternate_lines;
	uint32_t alternate;
	uint8_t dummy_cycles;
	uint8_t data_lines;
	bool data_in;  /* true: flash -> host (read); false: host -> flash */
	uint8_t *data; /* data_len bytes, may be NULL when data_len is 0 */
	size_t data_len;
} ft_nor_xfer;

/* Runs one transaction. Returns FT_OK when the flash acted on it (data-in bytes filled). Otherwise
 * the flash ignored it, data-in bytes read 0xFF, diag says why, and the code is:
 *   FT_ERR_INVALID_ARG  xfer malformed (line count not 0/1/2/4/8, NULL data with a length ...)
 *   FT_ERR_PROTOCOL     phases do not match the command in the current mode: wrong lines,
 *                       STR/DTR, instruction form, address bytes, dummy cycles, data direction
 *   FT_ERR_UNSUPPORTED  opcode unknown in the current mode, or not modelled
 *   FT_ERR_BUSY         WIP set and the command is not a register read, suspend or reset
 *   FT_ERR_STATE        WEL clear (no WREN), QE clear for a quad command, not allowed while
 *                       suspended, RST without RSTEN, resume with nothing suspended
 *   FT_ERR_PROTECTED    block-protect bits cover the target
 *   FT_ERR_RANGE        no register at that MX25UM CR2 address / register offset */
ft_error ft_nor_transfer(ft_nor *nor, const ft_nor_xfer *xfer, ft_diag *diag);

/* Memory-mapped read: copies len bytes from address (wrapping at the end of the array) without
 * protocol checks; the controller model is responsible for the read command it would clock.
 * Returns FT_OK, or FT_ERR_BUSY with buf filled with 0xFF while WIP is set, FT_ERR_INVALID_ARG
 * for a NULL buf with len > 0. */
ft_error ft_nor_read_mapped(ft_nor *nor, uint32_t address, uint8_t *buf, size_t len, ft_diag *diag);

/* Direct read-only view of the array (geometry.size bytes), valid until ft_nor_free. Completes
 * an operation whose time has run out first; after that the contents change only inside calls
 * into the model (ft_nor_array, ft_nor_transfer, ft_nor_read_mapped, ft_nor_reset). */
const uint8_t *ft_nor_array(ft_nor *nor);

/* Power cycle: an operation in progress or suspended is abandoned (array untouched), volatile
 * registers reload from the non-volatile ones, WEL clears, W25Q address mode follows ADP and the
 * extended address register clears, MX25UM returns to SPI unless DEFDOPI/DEFSOPI say otherwise. */
void ft_nor_reset(ft_nor *nor);

#endif
