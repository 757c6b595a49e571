/* flashtwin parts: the part table, or one part's memory map, flash geometry and bootloader. */
#include "programmer/cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

static const char help[] =
    "usage: flashtwin parts [PART] [--json]\n"
    "\n"
    "Without PART, lists every part flashtwin knows: name, device ID, flash size, banks x\n"
    "sectors x sector size and flash-word size. With PART (any spelling: STM32H743ZIT6, h723zg),\n"
    "shows that part's memory map (each region with its kind and bounds), its flash geometry and\n"
    "what its system bootloader accepts over USB DFU.\n"
    "\n"
    "  --json             print the same as JSON (docs/cli.md)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 2 unknown part or usage\n";

static const char *layout_name(ft_flash_layout layout)
{
	switch (layout) {
	case FT_FLASH_NONE: return "none";
	case FT_FLASH_H74X: return "h74x";
	case FT_FLASH_H72X: return "h72x";
	case FT_FLASH_H7AX: return "h7ax";
	}
	return "unknown";
}

/* "2 x 8 x 128 KiB", or "-" without internal flash. */
static void geometry_text(const ft_part *part, char *buf, size_t len)
{
	const ft_flash_geometry *g = &part->flash;
	if (!g->banks) {
		snprintf(buf, len, "-");
		return;
	}
	char sector[24];
	ft_plan_format_size(g->sector_size, sector, sizeof(sector));
	snprintf(buf, len, "%u x %u x %s", g->banks, g->sectors_per_bank, sector);
}

static void print_list(void)
{
	printf("%-14s %-6s %-9s %-22s %s\n", "part", "dev id", "flash", "banks x sectors x size",
	       "word");
	for (size_t i = 0; i < ft_part_count(); i++) {
		const ft_part *p = ft_part_at(i);
		char flash[24], geometry[48], word[16];
		if (p->flash_size_kb)
			ft_plan_format_size((uint64_t)p->flash_size_kb * 1024, flash,
			                    sizeof(flash));
		else
			snprintf(flash, sizeof(flash), "none");
		geometry_text(p, geometry, sizeof(geometry));
		if (p->flash.word_size)
			snprintf(word, sizeof(word), "%u B", p->flash.word_size);
		else
			snprintf(word, sizeof(word), "-");
		printf("%-14s 0x%03X  %-9s %-22s %s\n", p->name, p->dev_id, flash, geometry, word);
	}
}

static void print_ranges(const char *label, const ft_range *ranges, size_t count)
{
	printf("  %-17s", label);
	if (!count)
		printf(" none");
	for (size_t i = 0; i < count; i++)
		printf("%s 0x%08X-0x%08X", i ? "," : "", ranges[i].start,
		       (uint32_t)(ranges[i].start + ranges[i].size - 1));
	putchar('\n');
}

static void print_part(const ft_part *p)
{
	printf("%s  %s, dev id 0x%03X, %s\n", p->name, p->core, p->dev_id, p->reference_manual);
	printf("  revisions        ");
	for (size_t i = 0; i < p->revision_count; i++)
		printf(" %c=0x%04X", p->revisions[i].name, p->revisions[i].rev_id);
	printf("\n  registers         IDCODE 0x%08X", p->idcode_addr);
	if (p->flash_size_reg)
		printf(", FLASH_SIZE 0x%08X (%u KiB)", p->flash_size_reg, p->flash_size_kb);
	printf(", UID 0x%08X", p->uid_reg);
	if (p->flash_regs)
		printf(", FLASH 0x%08X", p->flash_regs);
	putchar('\n');

	const ft_flash_geometry *g = &p->flash;
	printf("\nflash\n");
	if (!g->banks) {
		printf("  none: no internal flash\n");
	} else {
		char sector[24], bank[24];
		ft_plan_format_size(g->sector_size, sector, sizeof(sector));
		ft_plan_format_size(g->bank_size, bank, sizeof(bank));
		printf("  %u bank%s of %s at", g->banks, g->banks > 1 ? "s" : "", bank);
		for (unsigned b = 0; b < g->banks; b++)
			printf("%s 0x%08X", b ? "," : "", g->bank_base[b]);
		printf("; %u sectors of %s per bank; %u-byte flash words; layout %s%s\n",
		       g->sectors_per_bank, sector, g->word_size, layout_name(g->layout),
		       g->dual_bank_silicon ? ", dual-bank die" : "");
	}

	printf("\nmemory map\n");
	for (size_t i = 0; i < p->region_count; i++) {
		const ft_region *r = &p->regions[i];
		char size[24];
		ft_plan_format_size(r->size, size, sizeof(size));
		printf("  0x%08X-0x%08X  %-10s %-14s %s\n", r->start,
		       (uint32_t)(r->start + r->size - 1), size, ft_region_kind_name(r->kind),
		       r->name);
	}

	const ft_bootloader_info *bl = p->bootloader;
	printf("\nsystem bootloader\n");
	if (!bl || !bl->has_usb_dfu) {
		printf("  no USB DFU that writes memory%s%s\n", bl && bl->source ? ": " : "",
		       bl && bl->source ? bl->source : "");
		return;
	}
	printf("  USB %04x:%04x bcdDevice 0x%04X, DFU 0x%04X, wTransferSize %u, \"%s\" / \"%s\"\n",
	       bl->vid, bl->pid, bl->bcd_device, bl->bcd_dfu, bl->transfer_size,
	       bl->manufacturer ? bl->manufacturer : "", bl->product ? bl->product : "");
	for (uint8_t i = 0; i < bl->alt_count; i++)
		printf("  alt %u             %s\n", i, bl->alt_names[i]);
	print_ranges("accepts", bl->writable, bl->writable_count);
	print_ranges("work area (RAM)", bl->reserved_ram, bl->reserved_count);
	if (bl->option_bytes_addr)
		printf("  option bytes      0x%08X, %u bytes\n", bl->option_bytes_addr,
		       bl->option_bytes_size);
	for (uint8_t i = 0; i < bl->quirk_count; i++)
		printf("  quirk             %s (rev 0x%04X): %s\n", bl->quirks[i].name,
		       bl->quirks[i].rev_id, bl->quirks[i].symptom);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *hex(uint32_t value)
{
	char text[16];
	snprintf(text, sizeof(text), "0x%08X", value);
	return json_string(text);
}

static json_t *ranges_json(const ft_range *ranges, size_t count)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < count; i++)
		if (json_array_append_new(a, json_pack("{s:o, s:o, s:I}", "start",
		                                       hex(ranges[i].start), "end",
		                                       hex(ranges[i].start + ranges[i].size - 1),
		                                       "size", (json_int_t)ranges[i].size)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *summary_json(const ft_part *p)
{
	char id[8];
	snprintf(id, sizeof(id), "0x%03X", p->dev_id);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "name", p->name, "dev_id", id,
	                 "core", p->core ? p->core : "", "flash_size_kb",
	                 (json_int_t)p->flash_size_kb, "banks", (json_int_t)p->flash.banks,
	                 "sectors_per_bank", (json_int_t)p->flash.sectors_per_bank, "sector_size",
	                 (json_int_t)p->flash.sector_size, "word_size",
	                 (json_int_t)p->flash.word_size);
}

static json_t *detail_json(const ft_part *p)
{
	json_t *o = summary_json(p);
	json_t *regions = json_array();
	for (size_t i = 0; o && regions && i < p->region_count; i++) {
		const ft_region *r = &p->regions[i];
		json_t *region = json_pack(
		    "{s:s, s:s, s:b, s:o, s:o, s:I, s:o}", "name", r->name, "kind",
		    ft_region_kind_name(r->kind), "volatile", ft_region_kind_is_volatile(r->kind),
		    "start", hex(r->start), "end", hex(r->start + r->size - 1), "size",
		    (json_int_t)r->size, "bank", r->bank ? json_integer(r->bank) : json_null());
		if (json_array_append_new(regions, region) != 0) {
			json_decref(regions);
			regions = NULL;
		}
	}
	const ft_bootloader_info *bl = p->bootloader;
	json_t *boot = NULL;
	if (bl && bl->has_usb_dfu) {
		json_t *alts = json_array();
		for (uint8_t i = 0; alts && i < bl->alt_count; i++)
			json_array_append_new(alts, json_string(bl->alt_names[i]));
		boot = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I}", "usb_dfu", 1,
		                 "vid", (json_int_t)bl->vid, "pid", (json_int_t)bl->pid,
		                 "transfer_size", (json_int_t)bl->transfer_size, "alt_names", alts,
		                 "writable", ranges_json(bl->writable, bl->writable_count),
		                 "reserved_ram", ranges_json(bl->reserved_ram, bl->reserved_count),
		                 "option_bytes_addr",
		                 bl->option_bytes_addr ? hex(bl->option_bytes_addr) : json_null(),
		                 "option_bytes_size", (json_int_t)bl->option_bytes_size);
	} else {
		boot = json_pack("{s:b}", "usb_dfu", 0);
	}
	char layout[8];
	snprintf(layout, sizeof(layout), "%s", layout_name(p->flash.layout));
	if (!o || json_object_set_new(o, "regions", regions) != 0 ||
	    json_object_set_new(o, "bootloader", boot) != 0 ||
	    json_object_set_new(o, "flash_layout", json_string(layout)) != 0 ||
	    json_object_set_new(o, "bank_size", json_integer(p->flash.bank_size)) != 0 ||
	    json_object_set_new(o, "reference_manual",
	                        json_string(p->reference_manual ? p->reference_manual : "")) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int print_json(json_t *root)
{
	if (!root || json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		json_decref(root);
		ft_cli_error("parts: cannot write JSON (out of memory?)");
		return FT_EXIT_USAGE;
	}
	putchar('\n');
	json_decref(root);
	return FT_EXIT_OK;
}

static json_t *list_json(void)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ft_part_count(); i++)
		if (json_array_append_new(a, summary_json(ft_part_at(i))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a ? json_pack("{s:s, s:o}", "command", "parts", "parts", a) : NULL;
}

int ft_cli_parts(int argc, char **argv)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'h': fputs(help, stdout); return FT_EXIT_OK;
		default:
			ft_cli_error("parts: unknown option '%s' (try 'flashtwin parts --help')",
			             argv[optind - 1]);
			return FT_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		ft_cli_error("parts: at most one PART (got '%s' and '%s')", argv[optind],
		             argv[optind + 1]);
		return FT_EXIT_USAGE;
	}
	if (argc - optind == 0) {
		if (json)
			return print_json(list_json());
		print_list();
		return FT_EXIT_OK;
	}
	const ft_part *part = ft_cli_find_part(argv[optind]);
	if (!part)
		return FT_EXIT_USAGE;
	if (json)
		return print_json(detail_json(part));
	print_part(part);
	return FT_EXIT_OK;
}
