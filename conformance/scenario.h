/* Conformance scenarios: one const table, named by the IDs of shared/CATALOGUE.md §5.
 *
 * A scenario is a target (the board under test, or none for image-layer checks), an input (a
 * fixture of conformance/fixtures or bytes the scenario generates), a programmer invocation (the
 * flashtwin CLI as a user runs it, or the programmer library driving the device directly), and
 * the expected outcome: exit status, diagnostic fields, device state read back. Each table row
 * says where the scenario can run (target kinds), what it needs (feature names the runner probes
 * for), whether only an emulator can host it (power loss, injected corruption, RDP states no one
 * should set on a real board) and the emulator switches it starts flashtwin-emu with.
 *
 * Scenario sources: scenarios_image.c (§5.1), scenarios_dfu.c (§5.2, §5.6 over DFU),
 * scenarios_swd.c (§5.3 and §5.6 over the debug port), scenarios_extldr.c (§5.4),
 * scenarios_n6.c (§5.5).
 * IDs outside the catalogue (I30.., D30.., O30..) are scenarios users expect that the catalogue
 * lacks; in_catalogue is false for them.
 *
 * The table is static const data: valid for the whole process, never freed.
 */
#ifndef FT_CONFORM_SCENARIO_H
#define FT_CONFORM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/env.h"
#include "models/parts.h"

/* Catalogue sections (§5.1-§5.6). */
typedef enum ft_conform_section {
	FT_CONFORM_SECTION_IMAGE,
	FT_CONFORM_SECTION_DFU,
	FT_CONFORM_SECTION_SWD,
	FT_CONFORM_SECTION_EXTLDR,
	FT_CONFORM_SECTION_N6,
	FT_CONFORM_SECTION_OPTION,
	FT_CONFORM_SECTION_COUNT,
} ft_conform_section;

/* "image", "dfu", "swd", "extldr", "n6", "option"; "unknown" outside the enum. */
const char *ft_conform_section_name(ft_conform_section section);
/* "5.1 Image-layer scenarios" ... */
const char *ft_conform_section_title(ft_conform_section section);

/* Target kinds (conformance/target.h), as a bit set. */
#define FT_CONFORM_ON_EMU   0x1u
#define FT_CONFORM_ON_USB   0x2u
#define FT_CONFORM_ON_USBIP 0x4u
#define FT_CONFORM_ON_GDB   0x8u
#define FT_CONFORM_ON_DFU   (FT_CONFORM_ON_EMU | FT_CONFORM_ON_USB | FT_CONFORM_ON_USBIP)
#define FT_CONFORM_ON_ANY   (FT_CONFORM_ON_DFU | FT_CONFORM_ON_GDB)

#define FT_CONFORM_MAX_LIST 8

typedef struct ft_conform_scenario {
	const char *id;    /* "I01"; stable, tests name it */
	const char *title; /* the catalogue's name: "elf-ptload-ram-d2-dfu" */
	ft_conform_section section;
	bool in_catalogue;
	unsigned targets; /* FT_CONFORM_ON_* where it can run */
	bool device;      /* talks to the board: an emulator instance per run on emu: targets */
	bool emu_only;    /* destructive or impossible on silicon */
	bool leaves_dfu;  /* ends the board's DFU session: on silicon it runs last */
	/* Talks to the debug port: on emu: targets its emulator runs the board in QEMU with the
	 * gdbstub (flashtwin-emu --gdb) and the connection is gdb://; otherwise USB/IP DFU. */
	bool gdb;
	/* Features the run needs besides the device (conformance/features.h names), NULL-ended. */
	const char *const needs[FT_CONFORM_MAX_LIST];
	/* Arguments added to flashtwin-emu for this scenario ("--fault", "corrupt-block=2"), in the
	 * vocabulary of conformance/target.h, NULL-ended. */
	const char *const switches[FT_CONFORM_MAX_LIST];
	/* The external NOR the board must carry (its board file's external_flash_part:
	 * "W25Q256JV"), or NULL: on another board the scenario is not applicable. Optional. */
	const char *external_flash;
	/* Why the target's part cannot host it ("needs a dual-bank part"), or NULL. Optional. */
	const char *(*unsupported)(const ft_part *part);
	/* Runs the scenario with flashtwin as the client (for scenarios without a device: the only
	 * run): checks and answers go to ft_conform_env_record(env). */
	void (*run)(ft_conform_env *env);
	/* The same scenario with dfu-util as the client (conformance/client.h), or NULL when it has
	 * no dfu-util version. Answers that mean the same device fact use the keys run records, so
	 * that the two clients compare point by point; dfu-util's own output goes under
	 * "dfu_util.". Optional. */
	void (*run_dfu_util)(ft_conform_env *env);
} ft_conform_scenario;

/* Every scenario, in catalogue order (section, then ID). */
size_t ft_conform_scenario_count(void);
const ft_conform_scenario *ft_conform_scenario_at(size_t index); /* NULL past the end */
const ft_conform_scenario *ft_conform_scenario_find(const char *id);

/* Shell-style glob match of a pattern against an ID or title: '*' any run, '?' one character,
 * '[...]' a set; case-insensitive. A pattern list separated by ',' matches when one does. */
bool ft_conform_glob_match(const char *patterns, const char *text);

/* Whether the scenario at position index of n selected ones belongs to shard (1-based) of
 * shards: round-robin, so every shard gets scenarios of every section. */
bool ft_conform_in_shard(size_t index, unsigned shard, unsigned shards);

/* Section tables, defined by the scenario sources. */
extern const ft_conform_scenario ft_conform_image_scenarios[];
extern const size_t ft_conform_image_scenario_count;
extern const ft_conform_scenario ft_conform_dfu_scenarios[];
extern const size_t ft_conform_dfu_scenario_count;
extern const ft_conform_scenario ft_conform_swd_scenarios[];
extern const size_t ft_conform_swd_scenario_count;
extern const ft_conform_scenario ft_conform_swd_option_scenarios[];
extern const size_t ft_conform_swd_option_scenario_count;
extern const ft_conform_scenario ft_conform_extldr_scenarios[];
extern const size_t ft_conform_extldr_scenario_count;
extern const ft_conform_scenario ft_conform_n6_scenarios[];
extern const size_t ft_conform_n6_scenario_count;
extern const ft_conform_scenario ft_conform_option_scenarios[];
extern const size_t ft_conform_option_scenario_count;

#endif
