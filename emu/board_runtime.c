#include "emu/board_runtime.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_SUFFIX ".board"

struct ft_board_runtime {
	char name[FT_STORE_NAME_MAX + 1];
	ft_board board;
	const ft_part *part;
	uint16_t rev_id;
	char revision;
	uint32_t uid[3];
	bool state_is_new;
	ft_store *store;
	ft_clock *clock;
	ft_flash_h7 *flash;
	size_t nor_count;
	ft_board_runtime_nor nors[FT_BOARD_RUNTIME_MAX_NOR];
	char nor_region[FT_BOARD_RUNTIME_MAX_NOR][FT_STORE_NAME_MAX + 1];
};

void ft_board_runtime_derive_uid(const char *board_name, uint32_t uid[3])
{
	for (unsigned w = 0; w < 3; w++) {
		char salted[FT_STORE_NAME_MAX + 16];
		snprintf(salted, sizeof(salted), "uid%u:%s", w, board_name);
		uint32_t h = 2166136261u; /* FNV-1a 32-bit offset basis and prime */
		for (const char *c = salted; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		uid[w] = h;
	}
}

/* "dir/nucleo-h743zi2.board" -> "nucleo-h743zi2". */
static ft_error name_from_path(const char *path, char *name, size_t cap, ft_diag *diag)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	size_t suffix = strlen(BOARD_SUFFIX);
	if (len > suffix && strcmp(base + len - suffix, BOARD_SUFFIX) == 0)
		len -= suffix;
	if (len == 0 || len >= cap)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, path,
		                   "cannot name the board after this file (1 to %zu characters)",
		                   cap - 1);
	memcpy(name, base, len);
	name[len] = '\0';
	return FT_OK;
}

static ft_error resolve_revision(ft_board_runtime *rt, const char *origin, ft_diag *diag)
{
	const ft_part *part = rt->part;
	if (!rt->board.revision) {
		/* the table lists revisions in silicon order: the last one is the current one */
		rt->rev_id = part->revisions[part->revision_count - 1].rev_id;
		rt->revision = part->revisions[part->revision_count - 1].name;
		return FT_OK;
	}
	char known[2 * FT_MAX_REVISIONS + 1] = "";
	for (size_t i = 0; i < part->revision_count; i++) {
		if (part->revisions[i].name == rt->board.revision) {
			rt->rev_id = part->revisions[i].rev_id;
			rt->revision = part->revisions[i].name;
			return FT_OK;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%c", i ? " " : "",
		         part->revisions[i].name);
	}
	return ft_diag_set(diag, FT_ERR_NOT_FOUND, origin,
	                   "revision %c is not a revision of %s (known: %s)", rt->board.revision,
	                   part->name, known);
}

static const ft_region *find_window(const ft_part *part, const char *name)
{
	for (size_t i = 0; i < part->region_count; i++) {
		const ft_region *r = &part->regions[i];
		if (r->kind == FT_REGION_EXT_WINDOW && strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static ft_error open_flash(ft_board_runtime *rt, ft_diag *diag)
{
	const ft_flash_geometry *geo = &rt->part->flash;
	bool dual_core = rt->part->family == FT_FAMILY_H74X_DUAL_CORE;
	size_t ob_size = ft_flash_h7_option_bytes_size();
	/* The factory option bytes are what a fresh model writes into its blob: a throwaway model
	 * over heap buffers makes them, so the region is created whole (store.h). */
	uint8_t *factory = malloc(ob_size);
	if (!factory)
		return ft_diag_set(diag, FT_ERR_NO_MEM, rt->name, "option-byte image");
	ft_flash_h7_config cfg = {.geometry = geo,
	                          .clock = rt->clock,
	                          .option_bytes = factory,
	                          .fresh = true,
	                          .dual_core = dual_core};
	ft_flash_h7 *scratch = NULL;
	ft_error err = ft_flash_h7_new(&cfg, &scratch, diag);
	ft_flash_h7_free(scratch);

	uint8_t *array = NULL, *ecc = NULL, *ob = NULL;
	bool fresh_array = false, fresh_ecc = false, fresh_ob = false;
	if (err == FT_OK)
		err = ft_store_map(rt->store, "flash", ft_flash_h7_array_size(geo), 0xFF, &array,
		                   &fresh_array, diag);
	if (err == FT_OK)
		err = ft_store_map(rt->store, "flash-ecc", ft_flash_h7_ecc_state_size(geo),
		                   FT_FLASH_H7_WORD_ERASED, &ecc, &fresh_ecc, diag);
	if (err == FT_OK)
		err = ft_store_map_image(rt->store, "option-bytes", ob_size, factory, &ob,
		                         &fresh_ob, diag);
	free(factory);
	if (err != FT_OK)
		return err;
	rt->state_is_new = fresh_array;
	cfg = (ft_flash_h7_config){.geometry = geo,
	                           .clock = rt->clock,
	                           .array = array,
	                           .ecc_state = ecc,
	                           .option_bytes = ob,
	                           .fresh = false,
	                           .dual_core = dual_core};
	return ft_flash_h7_new(&cfg, &rt->flash, diag);
}

static ft_error open_nor(ft_board_runtime *rt, const char *origin, ft_diag *diag)
{
	const ft_board *b = &rt->board;
	const ft_nor_part *part = ft_nor_part_find(b->external_flash_part);
	assert(part); /* the parser accepted the name, so the table knows it */
	const ft_nor_geometry *geo = ft_nor_part_geometry(part);
	const char *window_name = ft_board_bus_window(b->external_flash_bus);
	const ft_region *window = find_window(rt->part, window_name);
	if (!window)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, origin,
		                   "%s has no %s: external_flash_bus = %s does not fit this part",
		                   rt->part->name, window_name,
		                   ft_board_bus_name(b->external_flash_bus));
	if (geo->size > window->size)
		return ft_diag_set(diag, FT_ERR_RANGE, origin,
		                   "%s (%u bytes) is larger than the %s window (%u bytes)",
		                   geo->name, (unsigned)geo->size, window_name,
		                   (unsigned)window->size);

	size_t i = rt->nor_count;
	char *region = rt->nor_region[i];
	snprintf(region, sizeof(rt->nor_region[i]), "nor-%s",
	         ft_board_bus_name(b->external_flash_bus));
	char nv_region[FT_STORE_NAME_MAX + 1];
	snprintf(nv_region, sizeof(nv_region), "%s-nv", region);
	uint8_t factory_nv[64];
	if (geo->nv_size > sizeof(factory_nv))
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, geo->name,
		                   "%zu bytes of NOR registers; at most %zu handled", geo->nv_size,
		                   sizeof(factory_nv));
	ft_nor_factory_nv(part, factory_nv);
	uint8_t *array = NULL, *nv = NULL;
	bool fresh_array = false, fresh_nv = false;
	ft_error err = ft_store_map(rt->store, region, geo->size, 0xFF, &array, &fresh_array, diag);
	if (err == FT_OK)
		err = ft_store_map_image(rt->store, nv_region, geo->nv_size, factory_nv, &nv,
		                         &fresh_nv, diag);
	if (err != FT_OK)
		return err;
	if (fresh_array)
		rt->state_is_new = true;
	ft_nor_backing backing = {.array = array, .nv = nv, .fresh = false};
	ft_nor *nor = NULL;
	err = ft_nor_new(part, rt->clock, &backing, &nor, diag);
	if (err != FT_OK)
		return err;
	rt->nors[i] = (ft_board_runtime_nor){.bus = b->external_flash_bus,
	                                     .region = region,
	                                     .window_base = window->start,
	                                     .window_size = window->size,
	                                     .nor = nor};
	rt->nor_count++;
	return FT_OK;
}

static ft_error open_models(ft_board_runtime *rt, const ft_board_runtime_config *config,
                            ft_diag *diag)
{
	ft_error err = ft_board_load(config->board_path, &rt->board, diag);
	if (err != FT_OK)
		return err;
	const char *origin = config->board_path;
	rt->part = ft_part_find(rt->board.part);
	if (!rt->part)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, origin, "unknown part '%s'",
		                   rt->board.part);
	err = resolve_revision(rt, origin, diag);
	if (err != FT_OK)
		return err;
	if (rt->board.has_uid)
		memcpy(rt->uid, rt->board.uid, sizeof(rt->uid));
	else
		ft_board_runtime_derive_uid(rt->name, rt->uid);

	rt->clock = ft_clock_new(config->clock_mode);
	if (!rt->clock)
		return ft_diag_set(diag, FT_ERR_NO_MEM, rt->name, "clock");
	err = ft_store_open(config->state_dir, rt->name, &rt->store, diag);
	if (err != FT_OK)
		return err;
	if (rt->part->flash.layout != FT_FLASH_NONE) {
		err = open_flash(rt, diag);
		if (err != FT_OK)
			return err;
	}
	if (rt->board.external_flash_bus != FT_BOARD_BUS_NONE)
		return open_nor(rt, origin, diag);
	return FT_OK;
}

/* Frees everything; the models go before the store, as they may still complete an operation into
 * its mapped regions. Returns the store's close result. */
static ft_error destroy(ft_board_runtime *rt, ft_diag *diag)
{
	for (size_t i = 0; i < rt->nor_count; i++)
		ft_nor_free(rt->nors[i].nor);
	ft_flash_h7_free(rt->flash);
	ft_error err = ft_store_close(rt->store, diag);
	ft_clock_free(rt->clock);
	free(rt);
	return err;
}

ft_error ft_board_runtime_open(const ft_board_runtime_config *config, ft_board_runtime **out,
                               ft_diag *diag)
{
	ft_diag_clear(diag);
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_board_runtime_open: no out");
	*out = NULL;
	if (!config || !config->board_path || !config->state_dir)
		return ft_diag_set(
		    diag, FT_ERR_INVALID_ARG, NULL,
		    "ft_board_runtime_open: board file and state directory required");
	if (config->clock_mode != FT_CLOCK_MANUAL && config->clock_mode != FT_CLOCK_INSTANT &&
	    config->clock_mode != FT_CLOCK_REAL)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "clock mode %d",
		                   (int)config->clock_mode);
	ft_board_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return ft_diag_set(diag, FT_ERR_NO_MEM, config->board_path, "board runtime");
	ft_error err;
	if (config->board_name) {
		size_t len = strlen(config->board_name);
		err =
		    len == 0 || len >= sizeof(rt->name)
		        ? ft_diag_set(diag, FT_ERR_INVALID_ARG, config->board_name,
		                      "board names have 1 to %zu characters", sizeof(rt->name) - 1)
		        : FT_OK;
		if (err == FT_OK)
			memcpy(rt->name, config->board_name, len + 1);
	} else {
		err = name_from_path(config->board_path, rt->name, sizeof(rt->name), diag);
	}
	if (err == FT_OK)
		err = open_models(rt, config, diag);
	if (err != FT_OK) {
		destroy(rt, NULL); /* only factory bytes were written: nothing to report */
		return err;
	}
	*out = rt;
	return FT_OK;
}

ft_error ft_board_runtime_sync(ft_board_runtime *rt, ft_diag *diag)
{
	return ft_store_sync(rt->store, diag);
}

ft_error ft_board_runtime_close(ft_board_runtime *rt, ft_diag *diag)
{
	return rt ? destroy(rt, diag) : FT_OK;
}

const char *ft_board_runtime_name(const ft_board_runtime *rt)
{
	return rt->name;
}

const ft_board *ft_board_runtime_board(const ft_board_runtime *rt)
{
	return &rt->board;
}

const ft_part *ft_board_runtime_part(const ft_board_runtime *rt)
{
	return rt->part;
}

uint16_t ft_board_runtime_rev_id(const ft_board_runtime *rt)
{
	return rt->rev_id;
}

char ft_board_runtime_revision(const ft_board_runtime *rt)
{
	return rt->revision;
}

void ft_board_runtime_uid(const ft_board_runtime *rt, uint32_t uid[3])
{
	memcpy(uid, rt->uid, sizeof(rt->uid));
}

bool ft_board_runtime_boot0(const ft_board_runtime *rt)
{
	return rt->board.boot0;
}

bool ft_board_runtime_state_is_new(const ft_board_runtime *rt)
{
	return rt->state_is_new;
}

ft_clock *ft_board_runtime_clock(ft_board_runtime *rt)
{
	return rt->clock;
}

ft_flash_h7 *ft_board_runtime_flash(ft_board_runtime *rt)
{
	return rt->flash;
}

size_t ft_board_runtime_nor_count(const ft_board_runtime *rt)
{
	return rt->nor_count;
}

const ft_board_runtime_nor *ft_board_runtime_nor_at(const ft_board_runtime *rt, size_t index)
{
	return index < rt->nor_count ? &rt->nors[index] : NULL;
}

ft_store *ft_board_runtime_store(ft_board_runtime *rt)
{
	return rt->store;
}
