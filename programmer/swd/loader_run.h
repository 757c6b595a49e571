/* Running an ST external loader (.stldr, programmer/swd/stldr.h) on the target core through the
 * debug port: the loader's code placed at its link address (never relocated), each entry point
 * called with its arguments in R0-R3 and returning through LR to a BKPT word, the result read from
 * R0 (R0:R1 for Verify). What the runner uses in target RAM, in the RAM region of the loader's
 * code, above its footprint (ft_ldrun_layout):
 *
 *   [end of the loader, 8-aligned]  BKPT word 0xBE00BE00 (LR = its address | 1), 8 bytes
 *   then the stack                  FT_LDRUN_STACK_SIZE bytes; SP starts at its top
 *   then the buffer                 data for Write/Read/Verify: up to FT_LDRUN_MAX_BUFFER bytes,
 *                                   a multiple of StorageInfo's PageSize, ending in the region
 *
 * How a call ends (devices.md §6.4, CubeProgrammer's RAM-algorithm sequence): the core halts at
 * the BKPT word. A real core halts on the BKPT instruction itself (halting debug); QEMU's gdbstub
 * does not stop on BKPT instructions, so a software breakpoint (Z0) is set on the same word too.
 * Each call waits a bounded time: its budget from StorageInfo (below) or options.call_timeout_ms.
 * A call that does not come back is interrupted; a call that stops anywhere but the BKPT word is a
 * fault: either way the runner reads PC, LR, xPSR, CFSR, HFSR, MMFAR, BFAR, VTOR and the stacked
 * exception frame, names the exception, the faulting address and the loader function it lies in
 * (symbol table), and refuses further calls (the loader's RAM can no longer be trusted).
 *
 * The loader contract is checked after each call against the state before Init (a firmware that
 * was running may have left its own): SysTick enabled (SYST_CSR), interrupts enabled in the NVIC
 * (ISER), VTOR moved, a QUADSPI/OCTOSPI/XSPI left in memory-mapped mode after Write or an erase.
 * Each is a warning naming the loader and the call (CATALOGUE E03, E06), given once per call kind.
 *
 * Errors: FT_ERR_REFUSED (nothing touched: the loader does not fit, overlaps options.reserved, or
 * a range is outside the loader's device), FT_ERR_STATE (not initialised, or a call already
 * failed), FT_ERR_DEVICE (a call returned failure, or faulted; diag says which call, where and
 * why; ft_ldrun_advice_* the register decode), FT_ERR_TIMEOUT (a call did not return; the core is
 * halted and the advice says where it was), FT_ERR_VERIFY (first differing address and bytes),
 * the transport's errors. Blocking: every call bounded as above. Not thread-safe. The runner does
 * not own the session or the loader; both must outlive it.
 */
#ifndef FT_LOADER_RUN_H
#define FT_LOADER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"
#include "programmer/plan.h"
#include "programmer/swd/stldr.h"
#include "programmer/swd/swd.h"

#define FT_LDRUN_STACK_SIZE 0x1000u  /* ST's loaders run on a few hundred bytes of stack */
#define FT_LDRUN_MAX_BUFFER 0x10000u /* bytes handed to one Write/Read/Verify call */
#define FT_LDRUN_MAX_ADVICE 10u

/* Call budgets, ms: a base per call (starting and stopping the core through a probe or an
 * emulator) plus the device's worst case, scaled from StorageInfo. Datasheet maxima [U]
 * (devices.md §7, §6.3): W25Q256JV tPP 3 ms per page, tSE 400 ms per 4 KiB, tBE2 2 s per 64 KiB,
 * tCE 400 s per 32 MiB; MX25UM51245G 64 KiB erase 1 s, bulk erase 460 s per 64 MiB. */
#define FT_LDRUN_BASE_MS 1000u
#define FT_LDRUN_INIT_MS 5000u
#define FT_LDRUN_PAGE_MS 5u /* per PageSize written */
/* One SectorErase call covers the sectors up to the next boundary of this size: the largest
 * erase of the W25Q256JV (D8h/DCh) and the MX25UM51245G (DC23h), 64 KB, takes 150 ms where
 * sixteen 4 KB erases take 800 ms (typical, W25Q256JV datasheet tBE2, tSE). */
#define FT_LDRUN_ERASE_RUN         0x10000u
#define FT_LDRUN_SECTOR_MS_PER_KIB 32u /* sector erase, at least FT_LDRUN_SECTOR_MIN_MS */
#define FT_LDRUN_SECTOR_MIN_MS     400u
#define FT_LDRUN_MASS_MS_PER_MIB   15000u
#define FT_LDRUN_READ_MS_PER_KIB   2u

/* Where the runner puts its own things for a loader (all in the region of its code). */
typedef struct ft_ldrun_layout {
	const ft_region *region;       /* the RAM region holding the loader's code */
	uint32_t load_start, load_end; /* the loader's footprint (ft_stldr_footprint) */
	uint32_t breakpoint;           /* the BKPT word; LR = breakpoint | 1 */
	uint32_t stack_top;            /* initial SP (8-aligned); the stack lies below it */
	uint32_t buffer, buffer_size;  /* a multiple of PageSize, > 0 */
	ft_range work[2];              /* breakpoint+stack, buffer: for ft_stldr_validate */
} ft_ldrun_layout;

/* Computes the layout of loader on part without touching a target. Returns FT_OK;
 * FT_ERR_REFUSED when the code is not in one RAM region of the part or no PageSize multiple of
 * buffer fits above it (diag says how much room there is). */
ft_error ft_ldrun_layout_for(const ft_stldr *loader, const ft_part *part, ft_ldrun_layout *out,
                             ft_diag *diag);

/* Whether target RAM the image needs (reserved[0..count)) overlaps the loader's code or what
 * layout keeps for the runner. FT_OK, or FT_ERR_REFUSED naming the range and what it meets (a
 * loader is never relocated). Touches nothing: the programmer checks it before any erase. */
ft_error ft_ldrun_check_reserved(const ft_stldr *loader, const ft_ldrun_layout *layout,
                                 const ft_range *reserved, size_t count, ft_diag *diag);

typedef struct ft_ldrun_options {
	/* Target RAM the runner must leave alone: the image's RAM segments. Overlap with the loader
	 * or the layout is FT_ERR_REFUSED at ft_ldrun_new. */
	const ft_range *reserved;
	size_t reserved_count;
	unsigned call_timeout_ms; /* every call's budget; 0: the budgets above */
	/* Phases and counts as ft_swd_options.progress (bytes of the external device); optional. */
	void (*progress)(void *user, const ft_swd_progress *progress);
	/* Contract warnings (SysTick, NVIC, VTOR, memory-mapped mode), E02's sector-by-sector mass
	 * erase; optional. */
	void (*warning)(void *user, const ft_diag *warning);
	void *user;
} ft_ldrun_options;

typedef struct ft_ldrun ft_ldrun;

/* A runner for loader over a connected session (ft_swd_connect done). opts may be NULL. Checks
 * the layout against opts->reserved; touches nothing. Returns FT_OK with *out; FT_ERR_STATE (not
 * connected); FT_ERR_REFUSED (see ft_ldrun_layout_for, overlaps); FT_ERR_NO_MEM. */
ft_error ft_ldrun_new(ft_swd *swd, const ft_stldr *loader, const ft_ldrun_options *opts,
                      ft_ldrun **out, ft_diag *diag);

/* Clears the breakpoint (best effort) and frees. The core stays halted. NULL is allowed. */
void ft_ldrun_free(ft_ldrun *r);

const ft_ldrun_layout *ft_ldrun_get_layout(const ft_ldrun *r);

/* Lines explaining the last failure (register decode, fault, fix); cleared by each call below. */
size_t ft_ldrun_advice_count(const ft_ldrun *r);
const char *ft_ldrun_advice_at(const ft_ldrun *r, size_t index);

/* Writes the loader's segments at their link addresses and the BKPT word, records the state the
 * contract checks compare with, and calls Init(). Must come first; may be repeated (reloads).
 * When the start of the loader's code was already in target RAM (a session since power-on ran
 * it), an Init that does not return is reported as a hang on re-entry (CATALOGUE E12) with the
 * power-cycle fix. */
ft_error ft_ldrun_init(ft_ldrun *r, ft_diag *diag);

/* SectorErase() for every sector (StorageInfo's sector groups) that [addr, addr + len) touches:
 * one call per run of sectors that ends at the range's end or at an FT_LDRUN_ERASE_RUN boundary of
 * the address, so a loader can use its block erase; progress reports phase erase per sector. */
ft_error ft_ldrun_erase(ft_ldrun *r, uint32_t addr, uint32_t len, ft_diag *diag);

/* MassErase(0) when the loader has it; else every sector by SectorErase (with a warning: E02). */
ft_error ft_ldrun_mass_erase(ft_ldrun *r, ft_diag *diag);

/* Write() in chunks through the buffer (chunks end on buffer-size boundaries of the device
 * address, so a chunk never crosses more pages than it must). A failed Write is FT_ERR_DEVICE
 * "loader Write failed at ADDR": the first byte of the chunk that does not read back as
 * written. Progress: phase program. */
ft_error ft_ldrun_write(ft_ldrun *r, uint32_t addr, const uint8_t *data, size_t len, ft_diag *diag);

/* Read() through the buffer when the loader has it, else the debugger reads the memory-mapped
 * window that Init left on. Progress: phase read. */
ft_error ft_ldrun_read(ft_ldrun *r, uint32_t addr, void *buf, size_t len, ft_diag *diag);

/* Reads back (as ft_ldrun_read) and compares: FT_ERR_VERIFY names the first differing address
 * and both bytes. Progress: phase verify. */
ft_error ft_ldrun_verify(ft_ldrun *r, uint32_t addr, const uint8_t *expected, size_t len,
                         ft_diag *diag);

/* The loader's own Verify(MemAddr, buffer, words, missalignment) over expected, chunk by chunk;
 * its (checksum << 32) | first failing address decoded: FT_ERR_VERIFY "loader Verify reports a
 * mismatch at ADDR". FT_ERR_UNSUPPORTED when the loader has no Verify. */
ft_error ft_ldrun_verify_call(ft_ldrun *r, uint32_t addr, const uint8_t *expected, size_t len,
                              ft_diag *diag);

/* The external part of a plan made with this loader (ft_plan_options.external): its external
 * erases, its external writes, then read-back verify unless verify is false. Internal erases and
 * writes are left to ft_swd_flash_plan. Init must have been called. */
ft_error ft_ldrun_flash_plan(ft_ldrun *r, const ft_plan *plan, bool verify, ft_diag *diag);

/* The plan's external description for this loader: StorageInfo's start, size and sectors. */
void ft_ldrun_plan_external(const ft_stldr *loader, ft_plan_external *out);

#endif
