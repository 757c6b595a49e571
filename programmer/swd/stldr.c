#include "programmer/swd/stldr.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ELF 1.2 book I and ARM IHI 0044 (ELF for the ARM architecture). */
#define STLDR_MAX_PHDRS 64u
#define STLDR_MAX_SYMS  65536u
#define SYMBOL_STORAGE  "StorageInfo"
#define PF_EXEC         1u

struct ft_stldr {
	char *name;
	uint8_t *bytes;
	size_t len;
	ft_stldr_storage storage;
	uint32_t storage_addr;
	bool has_entry[FT_STLDR_ENTRY_COUNT];
	uint32_t entry[FT_STLDR_ENTRY_COUNT];
	size_t segment_count;
	ft_stldr_segment segments[FT_STLDR_MAX_SEGMENTS];
	size_t function_count; /* function symbols, for naming fault addresses */
	struct {
		uint32_t addr, size; /* Thumb bit cleared */
		char name[FT_STLDR_MAX_FUNCTION_NAME];
	} functions[FT_STLDR_MAX_FUNCTIONS];
};

static const char *const ENTRY_NAMES[FT_STLDR_ENTRY_COUNT] = {
    "Init", "Write", "SectorErase", "MassErase", "Verify", "Read", "CheckSum",
};

static const bool ENTRY_REQUIRED[FT_STLDR_ENTRY_COUNT] = {true, true, true};

const char *ft_stldr_entry_name(ft_stldr_entry entry)
{
	return (unsigned)entry < FT_STLDR_ENTRY_COUNT ? ENTRY_NAMES[entry] : "?";
}

const char *ft_stldr_device_type_name(unsigned type)
{
	static const char *const names[] = {
	    NULL,      "MCU_FLASH", "NAND_FLASH", "NOR_FLASH", "SRAM",       "PSRAM",
	    "PC_CARD", "SPI_FLASH", "I2C_FLASH",  "SDRAM",     "I2C_EEPROM",
	};
	return type > 0 && type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

const char *ft_stldr_check_name(ft_stldr_check check)
{
	switch (check) {
	case FT_STLDR_CHECK_NAME: return "name";
	case FT_STLDR_CHECK_NO_MASS_ERASE: return "no-mass-erase";
	case FT_STLDR_CHECK_SECTORS: return "sectors";
	case FT_STLDR_CHECK_GEOMETRY: return "geometry";
	case FT_STLDR_CHECK_WORK_AREA: return "work-area";
	case FT_STLDR_CHECK_NOT_IN_RAM: return "not-in-ram";
	case FT_STLDR_CHECK_ENTRY_OUTSIDE: return "entry-outside";
	case FT_STLDR_CHECK_DEVICE_WINDOW: return "device-window";
	}
	return "unknown";
}

static ft_error fail(const ft_stldr *l, ft_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ft_error fail(const ft_stldr *l, ft_diag *diag, const char *fmt, ...)
{
	char text[sizeof(diag->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ft_diag_set(diag, FT_ERR_FORMAT, l->name, "%s", text);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- parsing ---- */

static ft_error read_segments(ft_stldr *l, Elf *elf, ft_diag *diag)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0 || n == 0 || n > STLDR_MAX_PHDRS)
		return fail(l, diag, "no usable program headers (%s)", elf_errmsg(-1));
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return fail(l, diag, "program header %zu unreadable", i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_offset > l->len || ph.p_filesz > l->len - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz > 0x100000000ull ||
		    ph.p_paddr + ph.p_memsz > 0x100000000ull)
			return fail(
			    l, diag,
			    "PT_LOAD[%zu] (offset 0x%llx, %llu bytes at 0x%08llx) lies outside "
			    "the file or the 4 GiB address space",
			    i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
			    (unsigned long long)ph.p_vaddr);
		if (l->segment_count == FT_STLDR_MAX_SEGMENTS)
			return fail(l, diag, "more than %u PT_LOAD segments: not a flash loader",
			            FT_STLDR_MAX_SEGMENTS);
		ft_stldr_segment *s = &l->segments[l->segment_count++];
		s->addr = (uint32_t)ph.p_vaddr;
		s->lma = (uint32_t)ph.p_paddr;
		s->size = (uint32_t)ph.p_filesz;
		s->mem_size = (uint32_t)ph.p_memsz;
		s->flags = (uint32_t)ph.p_flags;
		s->index = (int)i;
		s->data = l->bytes + ph.p_offset;
	}
	if (l->segment_count == 0)
		return fail(l, diag, "no PT_LOAD segment: nothing to load");
	return FT_OK;
}

/* The file bytes of [addr, addr + len) inside one segment, or NULL. */
static const uint8_t *bytes_at(const ft_stldr *l, uint32_t addr, uint32_t len)
{
	for (size_t i = 0; i < l->segment_count; i++) {
		const ft_stldr_segment *s = &l->segments[i];
		if (addr >= s->addr && len <= s->size && addr - s->addr <= s->size - len)
			return s->data + (addr - s->addr);
	}
	return NULL;
}

/* Function symbols (local ones too: a fault is often in a static helper); names cut to fit. */
static void keep_function(ft_stldr *l, const char *name, uint32_t value, uint32_t size)
{
	if (l->function_count == FT_STLDR_MAX_FUNCTIONS || !name[0])
		return;
	size_t n = l->function_count++;
	l->functions[n].addr = value & ~1u;
	l->functions[n].size = size;
	snprintf(l->functions[n].name, sizeof(l->functions[n].name), "%s", name);
}

static ft_error read_symbols(ft_stldr *l, Elf *elf, ft_diag *diag)
{
	Elf_Scn *scn = NULL;
	bool found_table = false, found_storage = false;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		found_table = true;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || sh.sh_entsize == 0 || sh.sh_size / sh.sh_entsize > STLDR_MAX_SYMS ||
		    data->d_size < sh.sh_size)
			return fail(l, diag, "symbol table unreadable or absurd");
		size_t count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 1; i < count; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				return fail(l, diag, "symbol %zu unreadable", i);
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC)
				keep_function(l, name, (uint32_t)sym.st_value,
				              (uint32_t)sym.st_size);
			if (!name || GELF_ST_BIND(sym.st_info) == STB_LOCAL)
				continue;
			if (strcmp(name, SYMBOL_STORAGE) == 0) {
				if (sym.st_size && sym.st_size < FT_STLDR_STORAGE_INFO_SIZE)
					return fail(
					    l, diag,
					    "StorageInfo is %llu bytes, not the %u of ST's struct",
					    (unsigned long long)sym.st_size,
					    FT_STLDR_STORAGE_INFO_SIZE);
				l->storage_addr = (uint32_t)sym.st_value;
				found_storage = true;
				continue;
			}
			for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++) {
				if (strcmp(name, ENTRY_NAMES[e]) != 0)
					continue;
				if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !(sym.st_value & 1u))
					return fail(
					    l, diag,
					    "%s at 0x%08llx is not a Thumb function (Cortex-M runs "
					    "Thumb code only)",
					    name, (unsigned long long)sym.st_value);
				l->has_entry[e] = true;
				l->entry[e] = (uint32_t)sym.st_value;
			}
		}
	}
	if (!found_table)
		return fail(l, diag,
		            "no symbol table: a .stldr names StorageInfo and its entry "
		            "points by symbol (was it stripped?)");
	if (!found_storage)
		return fail(l, diag, "no StorageInfo symbol: not an ST external loader");
	for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++) {
		if (ENTRY_REQUIRED[e] && !l->has_entry[e])
			return fail(l, diag,
			            "no %s entry point: a loader needs Init, Write and "
			            "SectorErase",
			            ENTRY_NAMES[e]);
	}
	return FT_OK;
}

static void decode_storage(ft_stldr *l, const uint8_t *p)
{
	ft_stldr_storage *st = &l->storage;
	size_t n = 0;
	while (n < 100 && p[n]) {
		st->name[n] = p[n] >= 0x20 && p[n] < 0x7F ? (char)p[n] : '?';
		n++;
	}
	st->name[n] = '\0';
	st->type = (uint16_t)(p[100] | p[101] << 8);
	st->start = le32(p + 104);
	st->size = le32(p + 108);
	st->page_size = le32(p + 112);
	st->erase_value = p[116];
	for (size_t g = 0; g < FT_STLDR_MAX_SECTOR_GROUPS; g++) {
		uint32_t count = le32(p + 120 + 8 * g), size = le32(p + 124 + 8 * g);
		if (count == 0 && size == 0) {
			st->terminated = true;
			break;
		}
		st->groups[g].count = count;
		st->groups[g].size = size;
		st->group_count++;
	}
}

/* Marks segments that carry only StorageInfo: the programmer reads them, the target needs not. */
static void mark_storage_segments(ft_stldr *l)
{
	for (size_t i = 0; i < l->segment_count; i++) {
		ft_stldr_segment *s = &l->segments[i];
		bool holds_storage =
		    l->storage_addr >= s->addr && l->storage_addr - s->addr < s->mem_size;
		bool holds_entry = false;
		for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++) {
			uint32_t a = l->entry[e] & ~1u;
			holds_entry = holds_entry || (l->has_entry[e] && a >= s->addr &&
			                              a - s->addr < s->mem_size);
		}
		s->storage_only = holds_storage && !holds_entry;
	}
}

ft_error ft_stldr_load_buffer(const char *name, const uint8_t *bytes, size_t len, ft_stldr **out,
                              ft_diag *diag)
{
	*out = NULL;
	if (!name || (!bytes && len))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name, "NULL name or bytes");
	if (len > FT_STLDR_MAX_FILE)
		return ft_diag_set(diag, FT_ERR_RANGE, name, "%zu bytes: not a flash loader", len);
	ft_stldr *l = calloc(1, sizeof(*l));
	if (l) {
		l->name = strdup(name);
		l->bytes = malloc(len ? len : 1);
	}
	if (!l || !l->name || !l->bytes) {
		ft_stldr_free(l);
		return ft_diag_set(diag, FT_ERR_NO_MEM, name, "out of memory");
	}
	memcpy(l->bytes, bytes, len);
	l->len = len;
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)l->bytes, len);
	ft_error err = FT_OK;
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		err = fail(l, diag, "not an ELF file (a .stldr is an ELF executable)");
	else if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	         eh.e_machine != EM_ARM || eh.e_type != ET_EXEC)
		err = fail(l, diag,
		           "not a 32-bit little-endian ARM executable (class %u, data %u, "
		           "machine %u, type %u)",
		           eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA], eh.e_machine, eh.e_type);
	if (err == FT_OK)
		err = read_segments(l, elf, diag);
	if (err == FT_OK)
		err = read_symbols(l, elf, diag);
	if (elf)
		elf_end(elf);
	if (err == FT_OK) {
		const uint8_t *p = bytes_at(l, l->storage_addr, FT_STLDR_STORAGE_INFO_SIZE);
		if (!p)
			err = fail(
			    l, diag,
			    "StorageInfo at 0x%08x: its %u bytes are not inside a segment's file "
			    "bytes",
			    l->storage_addr, FT_STLDR_STORAGE_INFO_SIZE);
		else
			decode_storage(l, p);
	}
	if (err != FT_OK) {
		ft_stldr_free(l);
		return err;
	}
	mark_storage_segments(l);
	*out = l;
	return FT_OK;
}

ft_error ft_stldr_load_file(const char *path, ft_stldr **out, ft_diag *diag)
{
	*out = NULL;
	if (!path)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL path");
	FILE *f = fopen(path, "rb");
	if (!f)
		return ft_diag_set(diag, errno == ENOENT ? FT_ERR_NOT_FOUND : FT_ERR_IO, path,
		                   "cannot open the loader: %s", strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > FT_STLDR_MAX_FILE) {
		fclose(f);
		return ft_diag_set(diag, FT_ERR_RANGE, path, "not a flash loader (size %lld)",
		                   (long long)st.st_size);
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(f);
		return ft_diag_set(diag, FT_ERR_NO_MEM, path, "out of memory");
	}
	size_t got = fread(buf, 1, len, f);
	fclose(f);
	ft_error err = got == len ? ft_stldr_load_buffer(path, buf, len, out, diag)
	                          : ft_diag_set(diag, FT_ERR_IO, path, "short read");
	free(buf);
	return err;
}

void ft_stldr_free(ft_stldr *loader)
{
	if (!loader)
		return;
	free(loader->name);
	free(loader->bytes);
	free(loader);
}

bool ft_stldr_function_at(const ft_stldr *loader, uint32_t addr, const char **name,
                          uint32_t *offset)
{
	addr &= ~1u;
	for (size_t i = 0; i < loader->function_count; i++) {
		uint32_t start = loader->functions[i].addr, size = loader->functions[i].size;
		if (addr >= start && addr - start < (size ? size : 2u)) {
			*name = loader->functions[i].name;
			*offset = addr - start;
			return true;
		}
	}
	return false;
}

const char *ft_stldr_name(const ft_stldr *loader)
{
	return loader->name;
}

const ft_stldr_storage *ft_stldr_storage_info(const ft_stldr *loader)
{
	return &loader->storage;
}

bool ft_stldr_entry_address(const ft_stldr *loader, ft_stldr_entry entry, uint32_t *addr)
{
	if ((unsigned)entry >= FT_STLDR_ENTRY_COUNT || !loader->has_entry[entry])
		return false;
	*addr = loader->entry[entry];
	return true;
}

size_t ft_stldr_segment_count(const ft_stldr *loader)
{
	return loader->segment_count;
}

const ft_stldr_segment *ft_stldr_segment_at(const ft_stldr *loader, size_t index)
{
	return index < loader->segment_count ? &loader->segments[index] : NULL;
}

void ft_stldr_footprint(const ft_stldr *loader, uint32_t *start, uint32_t *end)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < loader->segment_count; i++) {
		const ft_stldr_segment *s = &loader->segments[i];
		if (s->storage_only)
			continue;
		lo = s->addr < lo ? s->addr : lo;
		hi = (uint64_t)s->addr + s->mem_size > hi ? (uint64_t)s->addr + s->mem_size : hi;
	}
	*start = lo == UINT64_MAX ? 0 : (uint32_t)lo;
	*end = (uint32_t)(hi > 0xFFFFFFFFu ? 0xFFFFFFFFu : hi);
}

/* ---- the contract ---- */

typedef struct findings {
	ft_stldr_finding *out;
	size_t cap, count;
} findings;

static void add(findings *f, ft_stldr_check check, bool fatal, const char *fix, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

static void add(findings *f, ft_stldr_check check, bool fatal, const char *fix, const char *fmt,
                ...)
{
	if (f->count < f->cap) {
		ft_stldr_finding *x = &f->out[f->count];
		x->check = check;
		x->fatal = fatal;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->message, sizeof(x->message), fmt, ap);
		va_end(ap);
		snprintf(x->fix, sizeof(x->fix), "%s", fix ? fix : "");
	}
	f->count++;
}

/* The file name without directories and without a ".stldr" ending. */
static void base_name(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;
	size_t n = strlen(b);
	if (n > 6 && strcmp(b + n - 6, ".stldr") == 0)
		n -= 6;
	snprintf(out, cap, "%.*s", (int)n, b);
}

static void check_storage(const ft_stldr *l, findings *f)
{
	const ft_stldr_storage *st = &l->storage;
	char file[128];
	base_name(l->name, file, sizeof(file));
	if (strcmp(file, st->name) != 0) {
		char fix[320];
		snprintf(fix, sizeof(fix),
		         "rename the file to \"%.100s.stldr\" or set DeviceName to "
		         "\"%.100s\"",
		         st->name, file);
		add(f, FT_STLDR_CHECK_NAME, false, fix,
		    "StorageInfo.DeviceName \"%.100s\" differs from the file name \"%.100s\" "
		    "(STM32CubeProgrammer 2.18 and later refuse such a loader)",
		    st->name, file);
	}
	uint64_t covered = 0, sectors = 0;
	for (size_t g = 0; g < st->group_count; g++) {
		covered += (uint64_t)st->groups[g].count * st->groups[g].size;
		sectors += st->groups[g].count;
	}
	if (covered != st->size || st->group_count == 0)
		add(f, FT_STLDR_CHECK_SECTORS, true, "make Sectors[] add up to DeviceSize",
		    "the sector table covers %llu bytes in %llu sectors but DeviceSize is %u",
		    (unsigned long long)covered, (unsigned long long)sectors, st->size);
	if (!l->has_entry[FT_STLDR_MASS_ERASE]) {
		char fix[320];
		snprintf(fix, sizeof(fix),
		         "none needed: flashtwin erases sectors 0..%llu with "
		         "SectorErase",
		         sectors ? (unsigned long long)sectors - 1 : 0ull);
		add(f, FT_STLDR_CHECK_NO_MASS_ERASE, false, fix,
		    "the loader lacks MassErase: a whole-device erase goes sector by sector");
	}
	if (st->page_size == 0 || st->page_size > st->size)
		add(f, FT_STLDR_CHECK_GEOMETRY, true, NULL,
		    "PageSize %u does not fit DeviceSize %u", st->page_size, st->size);
	if ((uint64_t)st->start + st->size > 0x100000000ull)
		add(f, FT_STLDR_CHECK_GEOMETRY, true, NULL,
		    "DeviceStartAddress 0x%08x + DeviceSize 0x%08x runs past 4 GiB", st->start,
		    st->size);
	if (!strcmp(ft_stldr_device_type_name(st->type), "unknown"))
		add(f, FT_STLDR_CHECK_GEOMETRY, false, NULL,
		    "DeviceType %u is not one of ST's codes", st->type);
}

static void check_entries(const ft_stldr *l, findings *f)
{
	for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++) {
		if (!l->has_entry[e])
			continue;
		uint32_t a = l->entry[e] & ~1u;
		bool inside = false;
		for (size_t i = 0; i < l->segment_count; i++) {
			const ft_stldr_segment *s = &l->segments[i];
			inside = inside ||
			         ((s->flags & PF_EXEC) && a >= s->addr && a - s->addr < s->size);
		}
		if (!inside)
			add(f, FT_STLDR_CHECK_ENTRY_OUTSIDE, true, NULL,
			    "%s at 0x%08x is not inside the loaded executable code", ENTRY_NAMES[e],
			    l->entry[e]);
	}
}

static void check_placement(const ft_stldr *l, const ft_stldr_context *ctx, findings *f)
{
	for (size_t i = 0; i < l->segment_count; i++) {
		const ft_stldr_segment *s = &l->segments[i];
		if (s->storage_only)
			continue;
		uint64_t end = (uint64_t)s->addr + s->mem_size;
		const ft_region *r = ctx->part ? ft_part_region_at(ctx->part, s->addr) : NULL;
		if (ctx->part && (!r || !ft_region_kind_is_volatile(r->kind) ||
		                  end > (uint64_t)r->start + r->size))
			add(f, FT_STLDR_CHECK_NOT_IN_RAM, true,
			    "link the loader into one RAM region of the part",
			    "PT_LOAD[%d] 0x%08x..0x%08llx is not inside one RAM region of %s (%s)",
			    s->index, s->addr, (unsigned long long)end - 1, ctx->part->name,
			    r ? r->name : "unmapped");
		for (size_t w = 0; w < ctx->work_area_count; w++) {
			const ft_range *wa = &ctx->work_areas[w];
			if (s->addr < (uint64_t)wa->start + wa->size && end > wa->start)
				add(f, FT_STLDR_CHECK_WORK_AREA, true,
				    "a loader runs only at its link address: relink it elsewhere "
				    "or "
				    "give the programmer another work area",
				    "PT_LOAD[%d] 0x%08x..0x%08llx overlaps the programmer's work "
				    "area "
				    "0x%08x..0x%08llx; flashtwin does not relocate a loader",
				    s->index, s->addr, (unsigned long long)end - 1, wa->start,
				    (unsigned long long)wa->start + wa->size - 1);
		}
	}
	const ft_region *dev = ctx->part ? ft_part_region_at(ctx->part, l->storage.start) : NULL;
	if (ctx->part && (!dev || dev->kind != FT_REGION_EXT_WINDOW))
		add(f, FT_STLDR_CHECK_DEVICE_WINDOW, false, NULL,
		    "DeviceStartAddress 0x%08x is not in an external-memory window of %s (%s): "
		    "images for it are not planned as external",
		    l->storage.start, ctx->part->name, dev ? dev->name : "unmapped");
}

size_t ft_stldr_validate(const ft_stldr *loader, const ft_stldr_context *ctx, ft_stldr_finding *out,
                         size_t cap)
{
	findings f = {out, out ? cap : 0, 0};
	ft_stldr_context none = {0};
	check_storage(loader, &f);
	check_entries(loader, &f);
	check_placement(loader, ctx ? ctx : &none, &f);
	return f.count;
}
