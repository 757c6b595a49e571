/* The STM32 serial-memory controllers that drive an external NOR flash (models/nor_flash.h):
 * QUADSPI (H74x/H75x, RM0433 §23), OCTOSPI (H72x/H73x, H7Ax/H7Bx, RM0468 §24, RM0455 §24) and
 * XSPI (N6, RM0486). One model serves the three register layouts: QUADSPI keeps the instruction
 * and the functional mode in CCR; OCTOSPI and XSPI have them in IR and CR, with per-phase DTR,
 * 8-line modes and 2-byte instructions. Offsets and bits: CMSIS stm32h743xx.h QUADSPI_TypeDef,
 * stm32h723xx.h OCTOSPI_TypeDef, stm32n657xx.h XSPI_TypeDef.
 *
 * Modelled, as firmware and HAL_QSPI/HAL_OSPI/HAL_XSPI see them:
 *   indirect write  FMODE 00: the command starts when its last register is written (IR or CCR
 *                   without address, AR with one) or, with a data phase, when DLR + 1 bytes
 *                   have been written to DR; the flash then gets one transaction with them all;
 *   indirect read   FMODE 01: starts like a write; the flash's bytes are read from DR (1, 2 or
 *                   4 at a time); FTF while bytes wait, BUSY until the last is read;
 *   auto-polling    FMODE 10: the status read repeats until (status & PSMKR) matches PSMAR (all
 *                   unmasked bits, or any with PMM), then SMF; with APMS it stops (TCF, not
 *                   BUSY). The flash's busy time comes from the NOR model's clock, so polling
 *                   ends when the flash's operation does; a poll happens at every SR read and
 *                   at ft_xspi_poll (the interval PIR is not timed);
 *   memory-mapped   FMODE 11: reads of the window (ft_xspi_window_read) return the flash's array
 *                   when the configured read command is one the flash accepts in its current
 *                   mode (checked with a one-byte transaction on entry); BUSY stays set until
 *                   ABORT. Memory-mapped writes (OCTOSPI/XSPI WCCR) are not modelled;
 *   SR/FCR          TEF (a command the flash refused, see below), TCF, FTF, SMF, FLEVEL, BUSY;
 *                   FCR clears; ABORT (CR bit 1) stops any operation and self-clears;
 *   interrupt       ft_xspi_irq: TEF/TCF/FTF/SMF/TOF with their CR enables.
 * A transaction the flash ignores (wrong lines, no WREN, protected ...) completes on the bus as
 * on silicon (TCF), with read data 0xFF; ft_xspi_last_error says why. TEF is set only for what
 * the controller itself refuses: a command while EN is clear, a data phase longer than the model
 * buffers (FT_XSPI_MAX_TRANSFER), phases whose DTR settings disagree. Not modelled: the FIFO
 * threshold timing, DMA requests, the timeout counter (TOF never sets), dual-flash mode, the
 * prescaler and clock modes, HyperBus, delay blocks and the OCTOSPI I/O manager.
 *
 * The model keeps no time of its own: the NOR model reads its clock. Not thread-safe. Library
 * code: never prints or exits.
 */
#ifndef FT_XSPI_H
#define FT_XSPI_H

#include "models/error.h"
#include "models/nor_flash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register block span for every layout. */
#define FT_XSPI_REG_SPAN 0x400u
/* The longest data phase buffered (bytes): indirect reads are done in one flash transaction. */
#define FT_XSPI_MAX_TRANSFER (1u << 16)

typedef enum ft_xspi_variant {
	FT_XSPI_QUADSPI, /* STM32H74x/H75x QUADSPI */
	FT_XSPI_OCTOSPI, /* STM32H72x/H73x, H7Ax/H7Bx OCTOSPI1/2 */
	FT_XSPI_XSPI,    /* STM32N6 XSPI1/2/3 */
} ft_xspi_variant;

typedef struct ft_xspi ft_xspi;

/* Creates a controller in its reset state. nor (not owned, may be NULL: nothing on the bus, every
 * read returns 0xFF) must outlive it. Returns FT_OK and *out, FT_ERR_INVALID_ARG (NULL out, a
 * variant outside the enum) or FT_ERR_NO_MEM. */
ft_error ft_xspi_new(ft_xspi_variant variant, ft_nor *nor, ft_xspi **out, ft_diag *diag);

/* Frees the controller; NULL is ignored. The flash is left as it is. */
void ft_xspi_free(ft_xspi *x);

/* System reset: registers to their reset values, any operation dropped (the flash is not reset:
 * its power is not cycled). */
void ft_xspi_reset(ft_xspi *x);

/* Register access at offset (< FT_XSPI_REG_SPAN, aligned to size) of size 1, 2 or 4 bytes; only
 * DR takes 1- and 2-byte accesses as such, other registers act on the containing word. Reserved
 * offsets read 0 and ignore writes. Returns FT_OK, FT_ERR_INVALID_ARG (NULL, size) or
 * FT_ERR_RANGE (offset). */
ft_error ft_xspi_reg_read(ft_xspi *x, uint32_t offset, unsigned size, uint32_t *value);
ft_error ft_xspi_reg_write(ft_xspi *x, uint32_t offset, unsigned size, uint32_t value);

/* Name of the register at offset ("CCR", "DR"), NULL for a reserved offset. */
const char *ft_xspi_reg_name(const ft_xspi *x, uint32_t offset);

/* Repeats an automatic-polling read if one is in progress (SR reads do it too). */
void ft_xspi_poll(ft_xspi *x);

/* The level of the controller's interrupt line. */
bool ft_xspi_irq(const ft_xspi *x);

/* True in memory-mapped mode with a read command the flash accepts: window reads then return
 * its array. *generation (may be NULL) counts the entries into that state, so a host that caches
 * the array (QEMU maps it as RAM) knows when the contents may have changed since it last looked.
 */
bool ft_xspi_mapped(const ft_xspi *x, uint32_t *generation);

/* A read of the memory-mapped window at offset. Returns FT_OK (buf filled), FT_ERR_STATE (not in
 * memory-mapped mode, or its read command is refused by the flash: buf reads 0xFF, diag says
 * why), FT_ERR_RANGE (past the flash), FT_ERR_BUSY (the flash is programming or erasing: 0xFF),
 * FT_ERR_INVALID_ARG (NULL). */
ft_error ft_xspi_window_read(ft_xspi *x, uint32_t offset, void *buf, size_t len, ft_diag *diag);

/* Why the flash ignored the last transaction it ignored, or why the controller refused the last
 * command (code FT_OK when none has been). Valid until the next call on x. */
const ft_diag *ft_xspi_last_error(const ft_xspi *x);

#endif
