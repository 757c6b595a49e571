/* The firmware fixtures (conformance/fixtures, built by `make fixtures`) have the program headers
 * that conformance/fixtures/README.md documents, and their HEX, SREC and BIN forms carry the same
 * bytes. A toolchain or linker-script change that moves a segment fails here first.
 *
 * The fixtures are found beside the test program's build tree: BUILD/tests/<prog> reads
 * BUILD/fixtures/. */
#include "models/tests/ft_test.h"

#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ELF p_flags (System V ABI: PF_R 4, PF_W 2, PF_X 1). */
#define SEG_R  4u
#define SEG_RW 6u
#define SEG_RX 5u

typedef struct load_shape {
	uint32_t paddr, vaddr, filesz, memsz, flags;
	const char *sections; /* non-empty SHF_ALLOC sections inside, in header order */
} load_shape;

typedef struct fixture_shape {
	const char *name;
	size_t load_count;
	load_shape loads[5];
	uint32_t bin_base; /* load address of the .bin's first byte */
	uint32_t bin_size;
} fixture_shape;

/* The README table. */
static const fixture_shape h723_eth_d2 = {
    "h723-eth-d2",
    4,
    {{0x08000000, 0x08000000, 0x14c, 0x14c, SEG_RX, ".isr_vector .text"},
     {0x0800014c, 0x24000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x08000150, 0x24000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"},
     {0x30000000, 0x30000000, 0x300, 0x300, SEG_RW,
      ".RxDecripSection .TxDecripSection .RxArraySection"}},
    0x08000000,
    0x150,
};

static const fixture_shape h723_eth_d2_fixed = {
    "h723-eth-d2-fixed",
    4,
    {{0x08000000, 0x08000000, 0x14c, 0x14c, SEG_RX, ".isr_vector .text"},
     {0x0800014c, 0x24000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x08000150, 0x24000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"},
     {0x30000000, 0x30000000, 0x0, 0x300, SEG_RW,
      ".RxDecripSection .TxDecripSection .RxArraySection"}},
    0x08000000,
    0x150,
};

static const fixture_shape h743_dtcm = {
    "h743-dtcm",
    5,
    {{0x08000000, 0x08000000, 0x138, 0x138, SEG_RX, ".isr_vector .text"},
     {0x08000138, 0x24000040, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x0800013c, 0x24000048, 0x0, 0x600, SEG_RW, "._user_heap_stack"},
     {0x20000000, 0x20000000, 0x52d8, 0x52d8, SEG_RW, ".DTCMRAM"},
     {0x24000000, 0x24000000, 0x40, 0x40, SEG_RW, ".RamData"}},
    0x08000000,
    0x13c,
};

static const fixture_shape h743_clean = {
    "h743-clean",
    3,
    {{0x08000000, 0x08000000, 0x114, 0x114, SEG_RX, ".isr_vector .text"},
     {0x08000114, 0x24000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x08000118, 0x24000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"}},
    0x08000000,
    0x118,
};

static const fixture_shape h743_qspi = {
    "h743-qspi",
    4,
    {{0x08000000, 0x08000000, 0x120, 0x120, SEG_RX, ".isr_vector .text"},
     {0x08000120, 0x24000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x08000124, 0x24000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"},
     {0x90000000, 0x90000000, 0x20000, 0x20000, SEG_R, ".qspi"}},
    0x08000000,
    0x124,
};

static const fixture_shape h7a3_clean = {
    "h7a3-clean",
    3,
    {{0x08000000, 0x08000000, 0x114, 0x114, SEG_RX, ".isr_vector .text"},
     {0x08000114, 0x24000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x08000118, 0x24000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"}},
    0x08000000,
    0x118,
};

/* GNU ld puts the ELF and program headers into the 0x400 bytes below the code (the space of the
 * STM32 image header), so PT_LOAD[0] starts at the header address with bytes no section covers. */
static const fixture_shape n6_fsbl = {
    "n6-fsbl",
    3,
    {{0x34180000, 0x34180000, 0x538, 0x538, SEG_RX, ".isr_vector .text"},
     {0x34180538, 0x341c0000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x3418053c, 0x341c0008, 0x0, 0x600, SEG_RW, "._user_heap_stack"}},
    0x34180400,
    0x13c,
};

static const fixture_shape n6_app = {
    "n6-app",
    3,
    {{0x70100000, 0x70100000, 0x538, 0x538, SEG_RX, ".isr_vector .text"},
     {0x70100538, 0x34000000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x7010053c, 0x34000008, 0x0, 0x600, SEG_RW, "._user_heap_stack"}},
    0x70100400,
    0x13c,
};

static const fixture_shape n6_lrun = {
    "n6-lrun",
    5,
    {{0x00000000, 0x00000000, 0x28, 0x28, SEG_RX, ".itcm_text"},
     {0x34000400, 0x34000400, 0x150, 0x150, SEG_RX, ".isr_vector .text"},
     {0x34000550, 0x34100000, 0x4, 0x8, SEG_RW, ".data .bss"},
     {0x34000554, 0x34100008, 0x0, 0x600, SEG_RW, "._user_heap_stack"},
     {0x71000000, 0x71000000, 0x10000, 0x10000, SEG_R, ".nn_weights"}},
    0x34000400,
    0x154,
};

static const fixture_shape *const all_fixtures[] = {
    &h723_eth_d2, &h723_eth_d2_fixed, &h743_dtcm, &h743_clean, &h743_qspi,
    &h7a3_clean,  &n6_fsbl,           &n6_app,    &n6_lrun,
};

#define REPORT_E_BIN_SIZE    0x5DA88u /* "segment[0]: address= 0x0, size= 0x5DA88" */
#define REPORT_E_TABLE_BYTES 0x5D000u /* ASSET_BYTES of h725-app in fixtures.mk */

/* BUILD/fixtures/<name>.<ext> for the test program BUILD/tests/<prog> (from /proc/self/exe). */
static bool fixture_path(const char *name, const char *ext, char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return false;
		*slash = '\0';
	}
	int written = snprintf(path, len, "%s/fixtures/%s.%s", exe, name, ext);
	return written > 0 && (size_t)written < len;
}

typedef struct file_bytes {
	uint8_t *data;
	size_t size;
} file_bytes;

/* Reads a fixture file whole; a missing file fails the test with its path. */
static bool read_fixture(const char *name, const char *ext, file_bytes *out)
{
	char path[PATH_MAX + 64], msg[PATH_MAX + 128];
	out->data = NULL;
	out->size = 0;
	FILE *f = fixture_path(name, ext, path, sizeof(path)) ? fopen(path, "rb") : NULL;
	snprintf(msg, sizeof(msg), "open %s.%s in the build tree's fixtures/ (make fixtures)", name,
	         ext);
	CU_assertImplementation(f != NULL, __LINE__, msg, __FILE__, "", CU_FALSE);
	if (!f)
		return false;
	bool ok = fseek(f, 0, SEEK_END) == 0;
	long size = ok ? ftell(f) : -1;
	ok = size > 0 && fseek(f, 0, SEEK_SET) == 0;
	out->data = ok ? malloc((size_t)size) : NULL;
	ok = out->data && fread(out->data, 1, (size_t)size, f) == (size_t)size;
	fclose(f);
	CU_assertImplementation(ok, __LINE__, path, __FILE__, "", CU_FALSE);
	if (!ok) {
		free(out->data);
		out->data = NULL;
		return false;
	}
	out->size = (size_t)size;
	return true;
}

/* FT_ASSERT_HEX with a description built at run time ("h743-dtcm.elf PT_LOAD[3] p_paddr"). */
#define EXPECT_HEX(what, actual, expected) expect_hex(__LINE__, (what), (actual), (expected))

static void expect_hex(unsigned line, const char *what, unsigned long long actual,
                       unsigned long long expected)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s = 0x%llx, expected 0x%llx", what, actual, expected);
	CU_assertImplementation(actual == expected, line, msg, __FILE__, "", CU_FALSE);
}

/* An ELF fixture held in memory with its PT_LOAD headers. */
typedef struct loaded_elf {
	file_bytes file;
	Elf *elf;
	size_t load_count;
	GElf_Phdr loads[8];
} loaded_elf;

static bool open_elf(const char *name, loaded_elf *out)
{
	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE || !read_fixture(name, "elf", &out->file))
		return false;
	out->elf = elf_memory((char *)out->file.data, out->file.size);
	size_t phnum = 0;
	bool ok =
	    out->elf && elf_kind(out->elf) == ELF_K_ELF && elf_getphdrnum(out->elf, &phnum) == 0;
	for (size_t i = 0; ok && i < phnum; i++) {
		GElf_Phdr ph;
		ok = gelf_getphdr(out->elf, (int)i, &ph) != NULL;
		if (ok && ph.p_type == PT_LOAD && out->load_count < 8)
			out->loads[out->load_count++] = ph;
		ok = ok && ph.p_offset + ph.p_filesz <= out->file.size;
	}
	CU_assertImplementation(ok, __LINE__, "fixture ELF and its program headers read", __FILE__,
	                        "", CU_FALSE);
	return ok;
}

static void close_elf(loaded_elf *le)
{
	if (le->elf)
		elf_end(le->elf);
	free(le->file.data);
}

/* Names of the non-empty SHF_ALLOC sections inside a segment, as readelf's section-to-segment
 * mapping lists them. */
static void segment_sections(const loaded_elf *le, const GElf_Phdr *ph, char *out, size_t len)
{
	size_t shstrndx = 0;
	out[0] = '\0';
	if (elf_getshdrstrndx(le->elf, &shstrndx) != 0)
		return;
	size_t used = 0;
	for (Elf_Scn *scn = elf_nextscn(le->elf, NULL); scn; scn = elf_nextscn(le->elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0)
			continue;
		bool inside = sh.sh_addr >= ph->p_vaddr &&
		              sh.sh_addr + sh.sh_size <= ph->p_vaddr + ph->p_memsz;
		if (sh.sh_type != SHT_NOBITS)
			inside = inside && sh.sh_offset >= ph->p_offset &&
			         sh.sh_offset + sh.sh_size <= ph->p_offset + ph->p_filesz;
		const char *name = elf_strptr(le->elf, shstrndx, sh.sh_name);
		if (inside && name && used < len)
			used +=
			    (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", name);
	}
}

/* The bytes an ELF places at [addr, addr+len), from its PT_LOAD file contents; NULL when a PT_LOAD
 * does not cover the whole range. */
static const uint8_t *elf_bytes_at(const loaded_elf *le, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < le->load_count; i++) {
		const GElf_Phdr *ph = &le->loads[i];
		if (addr >= ph->p_paddr && addr + len <= ph->p_paddr + ph->p_filesz)
			return le->file.data + ph->p_offset + (addr - ph->p_paddr);
	}
	return NULL;
}

/* Sum of the sizes of the PROGBITS SHF_ALLOC sections: the bytes objcopy writes to HEX/SREC. */
static uint64_t progbits_bytes(const loaded_elf *le)
{
	uint64_t total = 0;
	for (Elf_Scn *scn = elf_nextscn(le->elf, NULL); scn; scn = elf_nextscn(le->elf, scn)) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS)
			total += sh.sh_size;
	}
	return total;
}

static void check_load_shapes(const fixture_shape *want)
{
	loaded_elf le;
	if (open_elf(want->name, &le)) {
		char what[128];
		snprintf(what, sizeof(what), "%s.elf PT_LOAD count", want->name);
		EXPECT_HEX(what, le.load_count, want->load_count);
		for (size_t i = 0; i < le.load_count && i < want->load_count; i++) {
			const GElf_Phdr *ph = &le.loads[i];
			const load_shape *w = &want->loads[i];
			snprintf(what, sizeof(what), "%s.elf PT_LOAD[%zu] p_paddr", want->name, i);
			EXPECT_HEX(what, ph->p_paddr, w->paddr);
			snprintf(what, sizeof(what), "%s.elf PT_LOAD[%zu] p_vaddr", want->name, i);
			EXPECT_HEX(what, ph->p_vaddr, w->vaddr);
			snprintf(what, sizeof(what), "%s.elf PT_LOAD[%zu] p_filesz", want->name, i);
			EXPECT_HEX(what, ph->p_filesz, w->filesz);
			snprintf(what, sizeof(what), "%s.elf PT_LOAD[%zu] p_memsz", want->name, i);
			EXPECT_HEX(what, ph->p_memsz, w->memsz);
			snprintf(what, sizeof(what), "%s.elf PT_LOAD[%zu] p_flags", want->name, i);
			EXPECT_HEX(what, ph->p_flags, w->flags);
			char sections[256], msg[512];
			segment_sections(&le, ph, sections, sizeof(sections));
			snprintf(msg, sizeof(msg),
			         "%s.elf PT_LOAD[%zu] sections \"%s\", expected \"%s\"", want->name,
			         i, sections, w->sections);
			CU_assertImplementation(strcmp(sections, w->sections) == 0, __LINE__, msg,
			                        __FILE__, "", CU_FALSE);
		}
	}
	close_elf(&le);
}

static void test_h723_eth_d2_loads_descriptors_into_d2_sram(void)
{
	check_load_shapes(&h723_eth_d2);
}

static void test_h723_eth_d2_fixed_gives_d2_sections_no_file_bytes(void)
{
	check_load_shapes(&h723_eth_d2_fixed);
}

static void test_h743_dtcm_loads_dtcm_and_bootloader_work_area(void)
{
	check_load_shapes(&h743_dtcm);
}

static void test_h743_clean_loads_flash_only(void)
{
	check_load_shapes(&h743_clean);
}

static void test_h743_qspi_loads_quadspi_window(void)
{
	check_load_shapes(&h743_qspi);
}

static void test_h7a3_clean_loads_flash_only(void)
{
	check_load_shapes(&h7a3_clean);
}

static void test_n6_fsbl_is_linked_for_axisram2(void)
{
	check_load_shapes(&n6_fsbl);
}

static void test_n6_app_executes_in_place_from_xspi2(void)
{
	check_load_shapes(&n6_app);
}

static void test_n6_lrun_loads_itcm_axisram_and_weights(void)
{
	check_load_shapes(&n6_lrun);
}

static unsigned hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return 16;
}

/* Decodes count hex byte pairs; false on a non-hex digit. */
static bool hex_bytes(const char *text, size_t count, uint8_t *out)
{
	for (size_t i = 0; i < count; i++) {
		unsigned hi = hex_nibble(text[2 * i]), lo = hex_nibble(text[2 * i + 1]);
		if (hi > 15 || lo > 15)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* What one text form holds: its data records checked against the ELF. */
typedef struct record_tally {
	uint64_t data_bytes; /* bytes in data records */
	uint64_t mismatched; /* data records not matching the ELF at their address */
	uint64_t malformed;  /* lines that are not well-formed records */
	uint64_t other_srec; /* S1/S2 data records, S7/S8 terminations (GDB-server style is S3) */
	uint64_t records_in[2]; /* data records at 0x08000000.. and at 0x90000000.. */
} record_tally;

static void tally_data(record_tally *t, const loaded_elf *le, uint64_t addr, const uint8_t *data,
                       size_t len)
{
	t->data_bytes += len;
	const uint8_t *want = elf_bytes_at(le, addr, len);
	if (!want || memcmp(want, data, len) != 0)
		t->mismatched++;
	if (addr >= 0x08000000 && addr < 0x08200000)
		t->records_in[0]++;
	if (addr >= 0x90000000 && addr < 0xA0000000)
		t->records_in[1]++;
}

/* Intel HEX: types 00 data, 01 end, 04 extended linear address, 05 start linear address. */
static void tally_ihex(const file_bytes *text, const loaded_elf *le, record_tally *t)
{
	uint32_t upper = 0;
	const char *p = (const char *)text->data, *end = p + text->size;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		uint8_t rec[300];
		size_t count = (n - 1) / 2;
		if (n < 11 || p[0] != ':' || (n - 1) % 2 || count > sizeof(rec) ||
		    !hex_bytes(p + 1, count, rec) || rec[0] + 5u != count) {
			t->malformed++;
		} else {
			uint8_t sum = 0;
			for (size_t i = 0; i < count; i++)
				sum = (uint8_t)(sum + rec[i]);
			uint32_t offset = (uint32_t)rec[1] << 8 | rec[2];
			if (sum != 0)
				t->malformed++;
			else if (rec[3] == 0x00)
				tally_data(t, le, (uint64_t)upper + offset, rec + 4, rec[0]);
			else if (rec[3] == 0x04)
				upper = ((uint32_t)rec[4] << 8 | rec[5]) << 16;
		}
		p = eol ? eol + 1 : end;
	}
}

/* Motorola SREC: S0 header, S3 data with a 4-byte address, S5 count, S7 termination. */
static void tally_srec(const file_bytes *text, const loaded_elf *le, record_tally *t)
{
	const char *p = (const char *)text->data, *end = p + text->size;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		uint8_t rec[300];
		size_t count = (n - 2) / 2;
		if (n < 4 || p[0] != 'S' || n % 2 || count > sizeof(rec) ||
		    !hex_bytes(p + 2, count, rec) || rec[0] + 1u != count) {
			t->malformed++;
		} else {
			uint8_t sum = 0;
			for (size_t i = 0; i < count; i++)
				sum = (uint8_t)(sum + rec[i]);
			if (sum != 0xFF) {
				t->malformed++;
			} else if (p[1] == '3' && count >= 6) {
				uint32_t addr = (uint32_t)rec[1] << 24 | (uint32_t)rec[2] << 16 |
				                (uint32_t)rec[3] << 8 | rec[4];
				tally_data(t, le, addr, rec + 5, count - 6);
			} else if (p[1] != '0' && p[1] != '5' && p[1] != '7') {
				t->other_srec++;
			}
		}
		p = eol ? eol + 1 : end;
	}
}

static void test_hex_forms_carry_every_loaded_byte_including_ram(void)
{
	for (size_t i = 0; i < sizeof(all_fixtures) / sizeof(all_fixtures[0]); i++) {
		const fixture_shape *fx = all_fixtures[i];
		loaded_elf le;
		file_bytes text;
		if (open_elf(fx->name, &le) && read_fixture(fx->name, "hex", &text)) {
			record_tally t = {0};
			tally_ihex(&text, &le, &t);
			char what[128];
			snprintf(what, sizeof(what), "%s.hex data bytes", fx->name);
			EXPECT_HEX(what, t.data_bytes, progbits_bytes(&le));
			snprintf(what, sizeof(what), "%s.hex records differing from the ELF",
			         fx->name);
			EXPECT_HEX(what, t.mismatched, 0);
			snprintf(what, sizeof(what), "%s.hex malformed lines", fx->name);
			EXPECT_HEX(what, t.malformed, 0);
			free(text.data);
		}
		close_elf(&le);
	}
}

static void test_srec_forms_are_s3_and_carry_every_loaded_byte(void)
{
	for (size_t i = 0; i < sizeof(all_fixtures) / sizeof(all_fixtures[0]); i++) {
		const fixture_shape *fx = all_fixtures[i];
		loaded_elf le;
		file_bytes text;
		if (open_elf(fx->name, &le) && read_fixture(fx->name, "srec", &text)) {
			record_tally t = {0};
			tally_srec(&text, &le, &t);
			char what[128];
			snprintf(what, sizeof(what), "%s.srec data bytes", fx->name);
			EXPECT_HEX(what, t.data_bytes, progbits_bytes(&le));
			snprintf(what, sizeof(what), "%s.srec records differing from the ELF",
			         fx->name);
			EXPECT_HEX(what, t.mismatched, 0);
			snprintf(what, sizeof(what), "%s.srec malformed lines", fx->name);
			EXPECT_HEX(what, t.malformed, 0);
			snprintf(what, sizeof(what), "%s.srec S1/S2/S8/S9 records", fx->name);
			EXPECT_HEX(what, t.other_srec, 0);
			free(text.data);
		}
		close_elf(&le);
	}
}

/* Field report B: one SREC with internal-flash and QUADSPI-window records. */
static void test_qspi_srec_merges_internal_and_external_records(void)
{
	loaded_elf le;
	file_bytes text;
	if (open_elf("h743-qspi", &le) && read_fixture("h743-qspi", "srec", &text)) {
		record_tally t = {0};
		tally_srec(&text, &le, &t);
		CU_ASSERT(t.records_in[0] > 0);
		CU_ASSERT(t.records_in[1] > 0);
		free(text.data);
	}
	close_elf(&le);
}

static void test_bin_forms_hold_the_flash_image(void)
{
	for (size_t i = 0; i < sizeof(all_fixtures) / sizeof(all_fixtures[0]); i++) {
		const fixture_shape *fx = all_fixtures[i];
		loaded_elf le;
		file_bytes bin;
		if (open_elf(fx->name, &le) && read_fixture(fx->name, "bin", &bin)) {
			char what[128];
			snprintf(what, sizeof(what), "%s.bin size", fx->name);
			EXPECT_HEX(what, bin.size, fx->bin_size);
			size_t mismatched = 0;
			for (size_t at = 0; at < bin.size; at += 4) {
				size_t n = bin.size - at < 4 ? bin.size - at : 4;
				const uint8_t *want = elf_bytes_at(&le, fx->bin_base + at, n);
				mismatched += !want || memcmp(want, bin.data + at, n) != 0;
			}
			snprintf(what, sizeof(what), "%s.bin words differing from the ELF",
			         fx->name);
			EXPECT_HEX(what, mismatched, 0);
			free(bin.data);
		}
		close_elf(&le);
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Field report E: firmware.bin of 0x5DA88 bytes, linked for 0x08000000, whose table words each
 * hold their own flash address; the tail is 0xFF. */
static void test_h725_bin_has_report_e_size_and_names_its_addresses(void)
{
	file_bytes bin;
	if (!read_fixture("h725-app", "bin", &bin))
		return;
	FT_ASSERT_HEX(bin.size, REPORT_E_BIN_SIZE);
	if (bin.size == REPORT_E_BIN_SIZE) {
		FT_ASSERT_HEX(le32(bin.data), 0x24050000); /* MSP: end of RAM_D1, 320 KB */
		FT_ASSERT_HEX(le32(bin.data + 4) & 0xFFF00001u,
		              0x08000001); /* Thumb reset in flash */
		size_t table = 0;
		while (table + 4 <= bin.size && le32(bin.data + table) != 0x08000000u + table)
			table += 4;
		size_t run = 0;
		while (table + run + 4 <= bin.size &&
		       le32(bin.data + table + run) == 0x08000000u + table + run)
			run += 4;
		FT_ASSERT_HEX(run, REPORT_E_TABLE_BYTES);
		FT_ASSERT_HEX(bin.data[REPORT_E_BIN_SIZE - 1], 0xFF);
	}
	free(bin.data);
}

/* DfuSe file (UM0391): prefix "DfuSe" 01 DFUImageSize bTargets; per target "Target" alt, named,
 * name[255], dwTargetSize, dwNbElements; per element address, size, data; then the 16-byte DFU
 * suffix whose last 4 bytes are the CRC-32 (reflected 0xEDB88320, initial 0xFFFFFFFF, no final
 * XOR) of everything before them. */
static uint32_t dfu_crc(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? crc >> 1 ^ 0xEDB88320u : crc >> 1;
	}
	return crc;
}

/* The bytes in a fixture's ELF PT_LOADs that carry file bytes. */
static uint64_t loaded_bytes(const loaded_elf *le)
{
	uint64_t total = 0;
	for (size_t i = 0; i < le->load_count; i++)
		total += le->loads[i].p_filesz;
	return total;
}

static void check_dfu_form(const char *name)
{
	loaded_elf le;
	file_bytes dfu;
	if (!open_elf(name, &le) || !read_fixture(name, "dfu", &dfu)) {
		close_elf(&le);
		return;
	}
	char what[128];
	const uint8_t *p = dfu.data;
	size_t size = dfu.size;
	bool framed = size >= 11 + 274 + 16 && memcmp(p, "DfuSe\x01", 6) == 0 &&
	              le32(p + 6) == size - 16 && p[10] == 1 && memcmp(p + 11, "Target", 6) == 0 &&
	              memcmp(p + size - 8, "UFD\x10", 4) == 0;
	snprintf(what, sizeof(what), "%s.dfu prefix, one target and suffix", name);
	CU_assertImplementation(framed, __LINE__, what, __FILE__, "", CU_FALSE);
	if (framed) {
		snprintf(what, sizeof(what), "%s.dfu suffix CRC", name);
		EXPECT_HEX(what, le32(p + size - 4), dfu_crc(p, size - 4));
		uint32_t elements = le32(p + 11 + 270);
		size_t at = 11 + 274;
		uint64_t data_bytes = 0, mismatched = 0;
		for (uint32_t e = 0; e < elements && at + 8 <= size - 16; e++) {
			uint32_t addr = le32(p + at), len = le32(p + at + 4);
			at += 8;
			if (len > size - 16 - at)
				break;
			const uint8_t *want = elf_bytes_at(&le, addr, len);
			mismatched += !want || memcmp(want, p + at, len) != 0;
			data_bytes += len;
			at += len;
		}
		snprintf(what, sizeof(what), "%s.dfu element bytes", name);
		EXPECT_HEX(what, data_bytes, loaded_bytes(&le));
		snprintf(what, sizeof(what), "%s.dfu elements differing from the ELF", name);
		EXPECT_HEX(what, mismatched, 0);
		snprintf(what, sizeof(what), "%s.dfu bytes after the last element", name);
		EXPECT_HEX(what, size - 16 - at, 0);
	}
	free(dfu.data);
	close_elf(&le);
}

static void test_dfu_forms_hold_the_flash_segments(void)
{
	check_dfu_form("h723-eth-d2-fixed");
	check_dfu_form("h743-clean");
	check_dfu_form("h7a3-clean");
}

static CU_TestInfo tests[] = {
    {"h723_eth_d2_loads_descriptors_into_d2_sram", test_h723_eth_d2_loads_descriptors_into_d2_sram},
    {"h723_eth_d2_fixed_gives_d2_sections_no_file_bytes",
     test_h723_eth_d2_fixed_gives_d2_sections_no_file_bytes},
    {"h743_dtcm_loads_dtcm_and_bootloader_work_area",
     test_h743_dtcm_loads_dtcm_and_bootloader_work_area},
    {"h743_clean_loads_flash_only", test_h743_clean_loads_flash_only},
    {"h743_qspi_loads_quadspi_window", test_h743_qspi_loads_quadspi_window},
    {"h7a3_clean_loads_flash_only", test_h7a3_clean_loads_flash_only},
    {"n6_fsbl_is_linked_for_axisram2", test_n6_fsbl_is_linked_for_axisram2},
    {"n6_app_executes_in_place_from_xspi2", test_n6_app_executes_in_place_from_xspi2},
    {"n6_lrun_loads_itcm_axisram_and_weights", test_n6_lrun_loads_itcm_axisram_and_weights},
    {"hex_forms_carry_every_loaded_byte_including_ram",
     test_hex_forms_carry_every_loaded_byte_including_ram},
    {"srec_forms_are_s3_and_carry_every_loaded_byte",
     test_srec_forms_are_s3_and_carry_every_loaded_byte},
    {"qspi_srec_merges_internal_and_external_records",
     test_qspi_srec_merges_internal_and_external_records},
    {"bin_forms_hold_the_flash_image", test_bin_forms_hold_the_flash_image},
    {"h725_bin_has_report_e_size_and_names_its_addresses",
     test_h725_bin_has_report_e_size_and_names_its_addresses},
    {"dfu_forms_hold_the_flash_segments", test_dfu_forms_hold_the_flash_segments},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"fixtures", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
