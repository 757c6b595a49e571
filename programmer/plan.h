/* The planner: segments x a part's memory map x a transport -> a plan, or a refusal.
 *
 * Every segment gets a verdict and the region it falls in, with the rule it meets or breaks, the
 * reason in words and a fix. A programmable plan carries the sectors to erase (computed from each
 * byte's address within its bank, never from an assumed sector index), the writes (flash-word
 * padded with 0xFF, segments sharing a flash word merged into one write), and the ranges to
 * verify. A plan that refuses any segment carries no erase and no write at all, so nothing can be
 * erased for it: the engines take their work from these lists only.
 *
 * Nothing here touches a device, prints or allocates anything the caller must manage beyond the
 * plan itself. A plan refers to the part and the segments it was built from (it keeps pointers to
 * them and to their sections): they must outlive it. Not thread-safe; one plan per caller.
 */
#ifndef FT_PLAN_H
#define FT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"
#include "programmer/image/image.h"

/* The programming route a plan is made for: which path the bytes take to the device. */
typedef enum ft_route {
	FT_ROUTE_DFU, /* the ST system bootloader over USB DFU (DfuSe) */
	FT_ROUTE_SWD, /* the debug port: the core's bus, the flash controller, RAM */
} ft_route;

/* Stable lower-case name ("dfu", "swd"); never NULL. */
const char *ft_route_name(ft_route transport);

/* Parses "dfu" or "swd" (case-insensitive). false on anything else. */
bool ft_route_parse(const char *text, ft_route *transport);

#define FT_PLAN_MAX_SECTOR_GROUPS 10

/* External memory an external loader programs (its StorageInfo): segments inside
 * [start, start + size) are programmed through it, over SWD only. */
typedef struct ft_plan_external {
	const char *name; /* the loader, for texts; must outlive the plan */
	uint32_t start, size;
	size_t group_count; /* sector groups from start on: count sectors of size bytes each */
	struct {
		uint32_t count, size;
	} groups[FT_PLAN_MAX_SECTOR_GROUPS];
} ft_plan_external;

typedef struct ft_plan_options {
	ft_route transport;
	/* The device of the loader given (NULL: none; external windows then need a loader). Copied
	 * into the plan. */
	const ft_plan_external *external;
	/* Program what persists and skip what does not: segments in RAM become "skip" instead of
	 * "refuse" (DFU) or "volatile" (SWD). */
	bool skip_volatile;
} ft_plan_options;

typedef enum ft_verdict {
	FT_VERDICT_PROGRAM,  /* written to persistent memory, then verified */
	FT_VERDICT_VOLATILE, /* SWD only: written to RAM for this session, lost at reset, a warning
	                      */
	FT_VERDICT_SKIP,     /* nothing written: no file bytes (or only ELF headers), or volatile
	                      * under skip_volatile */
	FT_VERDICT_REFUSE,   /* cannot be programmed as asked; the whole plan is refused */
} ft_verdict;

/* Stable lower-case name ("program", "volatile", "skip", "refuse"); never NULL. */
const char *ft_verdict_name(ft_verdict verdict);

/* The rule a segment meets or breaks: a stable identifier for tests and JSON. */
typedef enum ft_plan_rule {
	FT_RULE_NONE,             /* programmable, nothing to say */
	FT_RULE_EMPTY,            /* no file bytes (p_filesz 0): ignored */
	FT_RULE_ELF_HEADERS,      /* file bytes that are only the ELF headers: ignored */
	FT_RULE_VOLATILE,         /* RAM over SWD: written, lost at reset */
	FT_RULE_VOLATILE_SKIPPED, /* RAM, skipped on request */
	FT_RULE_DFU_VOLATILE,     /* RAM over DFU: the bootloader refuses it or cannot keep it */
	FT_RULE_DFU_WORK_AREA,    /* RAM the system bootloader uses itself */
	FT_RULE_DFU_NOT_WRITABLE, /* outside every window the bootloader accepts */
	FT_RULE_DFU_UNAVAILABLE,  /* the part has no system-bootloader DFU that writes memory */
	FT_RULE_BIN_IN_RAM,       /* a raw binary aimed at RAM: almost surely a wrong address */
	FT_RULE_EXCEEDS_FLASH,    /* past the end of the part's flash */
	FT_RULE_FLASH_HOLE,       /* inside the flash range where no bank is (xG parts) */
	FT_RULE_EXT_NEEDS_LOADER, /* external-memory window over SWD without a loader */
	FT_RULE_EXT_LOADER,       /* inside the device of the loader given: programmed through it */
	FT_RULE_EXT_OVER_DFU,     /* external-memory window over DFU: impossible */
	FT_RULE_OTP,              /* one-time-programmable area: never from an image */
	FT_RULE_SYSTEM_MEMORY,    /* boot ROM: read-only */
	FT_RULE_PERIPHERAL,       /* registers, not memory */
	FT_RULE_UNMAPPED,         /* nothing at that address */
	FT_RULE_CROSSES_REGIONS,  /* one segment spans regions with different rules */
	FT_RULE_OVERLAP,          /* two segments claim the same bytes with different contents */
} ft_plan_rule;

/* Stable lower-case name ("dfu-volatile", "exceeds-flash"); never NULL. */
const char *ft_plan_rule_name(ft_plan_rule rule);

/* The part of one segment that lies in one region (or in one unmapped gap). */
typedef struct ft_plan_piece {
	uint32_t start;
	uint32_t size;
	const ft_region *region; /* NULL: no region of the part maps these bytes */
	uint16_t first_sector;   /* flash banks only: sectors by address within region->bank */
	uint16_t last_sector;
} ft_plan_piece;

#define FT_PLAN_MAX_PIECES 8

typedef struct ft_plan_segment {
	const ft_segment *segment;
	size_t index; /* position in the list given to ft_plan_build */
	ft_verdict verdict;
	ft_plan_rule rule;
	const ft_region *region; /* region of the first byte; NULL when unmapped */
	size_t piece_count;      /* 1 unless the segment spans several regions */
	ft_plan_piece pieces[FT_PLAN_MAX_PIECES];
	char region_text[160]; /* "flash bank 1 sectors 0-1", "RAM_D2 SRAM1 (volatile)" */
	char reason[400];      /* empty when there is nothing to say */
	char fix[400];         /* empty when nothing needs fixing */
	char note[240];        /* informational: "runs at 0x24000000", merges, splits */
} ft_plan_segment;

typedef struct ft_plan_erase {
	uint8_t bank;    /* 1 or 2; 0: a sector of the external loader's device */
	uint16_t sector; /* index within the bank (or the device), from the address */
	uint32_t start;
	uint32_t size;
} ft_plan_erase;

typedef struct ft_plan_write {
	uint32_t start;      /* flash-word aligned in flash */
	uint32_t size;       /* a whole number of flash words in flash */
	const uint8_t *data; /* size bytes, owned by the plan; padding is 0xFF */
	const ft_region *region;
	uint8_t bank;     /* 1 or 2 in flash, 0 elsewhere */
	bool persistent;  /* false for RAM writes (verdict volatile): never verified */
	bool external;    /* through the external loader (rule ext-loader) */
	uint32_t padding; /* bytes of 0xFF the plan added to fill flash words */
} ft_plan_write;

typedef enum ft_plan_status {
	FT_PLAN_OK,      /* something to program and nothing refused */
	FT_PLAN_REFUSED, /* at least one segment refused: no erase, no write */
	FT_PLAN_EMPTY,   /* nothing refused, but nothing would be written either */
} ft_plan_status;

/* Stable lower-case name ("ok", "refused", "empty"); never NULL. */
const char *ft_plan_status_name(ft_plan_status status);

typedef struct ft_plan_totals {
	size_t segments; /* segments by verdict: program + ram + skip + refuse = segments */
	size_t program, ram, skip, refuse;
	uint64_t image_bytes; /* file bytes of the segments written (program and volatile) */
	uint64_t write_bytes; /* bytes of every write, padding included */
	uint64_t padding_bytes;
	uint64_t erase_bytes;
	size_t sectors;
} ft_plan_totals;

typedef struct ft_plan ft_plan;

/* Builds the plan for segments[0..count) on part over options->transport.
 *
 * Returns FT_OK with *plan set when the plan is programmable (status ok).
 * Returns FT_ERR_REFUSED with *plan set when a segment is refused or nothing would be written
 * (status refused or empty); diag carries the conclusion. The plan still says why, per segment.
 * Returns FT_ERR_INVALID_ARG (NULL part, options or plan, or NULL segments with count > 0) or
 * FT_ERR_NO_MEM with *plan NULL. The caller frees the plan with ft_plan_free. */
ft_error ft_plan_build(const ft_part *part, const ft_segment *const *segments, size_t count,
                       const ft_plan_options *options, ft_plan **plan, ft_diag *diag);

void ft_plan_free(ft_plan *plan);

const ft_part *ft_plan_part(const ft_plan *plan);
ft_route ft_plan_transport(const ft_plan *plan);
ft_plan_status ft_plan_get_status(const ft_plan *plan);
const ft_plan_totals *ft_plan_get_totals(const ft_plan *plan);

/* One line: "programmable over dfu: ...", "refused: ...; nothing will be erased". */
const char *ft_plan_conclusion(const ft_plan *plan);

/* Per segment, in the order given to ft_plan_build (index < count). */
size_t ft_plan_segment_count(const ft_plan *plan);
const ft_plan_segment *ft_plan_segment_at(const ft_plan *plan, size_t index);

/* Sectors to erase, by bank then address; empty unless the status is ok. */
size_t ft_plan_erase_count(const ft_plan *plan);
const ft_plan_erase *ft_plan_erase_at(const ft_plan *plan, size_t index);

/* Writes in address order, after padding and merging; empty unless the status is ok. */
size_t ft_plan_write_count(const ft_plan *plan);
const ft_plan_write *ft_plan_write_at(const ft_plan *plan, size_t index);

/* Ranges to read back after writing: the persistent writes. Empty unless the status is ok. */
size_t ft_plan_verify_count(const ft_plan *plan);
const ft_range *ft_plan_verify_at(const ft_plan *plan, size_t index);

/* Plan-wide advice beyond any one segment (the STM32N6 fix list, ...), in order. */
size_t ft_plan_advice_count(const ft_plan *plan);
const char *ft_plan_advice_at(const ft_plan *plan, size_t index);

/* Writes a byte count for people: "768 B", "60.2 KiB", "2 MiB". At most len bytes with NUL. */
void ft_plan_format_size(uint64_t bytes, char *buf, size_t len);

#endif
