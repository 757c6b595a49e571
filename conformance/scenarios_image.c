/* CATALOGUE.md §5.1: image-layer scenarios. Each runs `flashtwin check --json` (the pre-flight a
 * programming command runs before erasing anything) on a fixture or a generated input, for the
 * part the catalogue names, and asserts on the exit status, the verdict and rule of the segments
 * concerned, the diagnostic texts (reason, fix, sections) and the erase/write/verify lists. No
 * device is involved, so these run on every target and give the same answers everywhere.
 */
#include "conformance/expect.h"
#include "conformance/gen.h"
#include "conformance/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs `flashtwin ARGS` (which include check and --json), records the plan under prefix and
 * checks the exit status. Returns the plan (the caller frees it) or NULL (recorded). */
static json_t *plan(ft_conform_env *env, const char *prefix, const char *const *args, int want_exit)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	int exit_status = -1;
	json_t *p = ft_conform_env_flashtwin_json(env, args, &exit_status);
	if (!p)
		return NULL;
	ft_conform_record_plan(rec, prefix, p, exit_status);
	char what[96];
	snprintf(what, sizeof(what), "%s: exit status", prefix);
	ft_conform_expect_int(rec, what, exit_status, want_exit);
	return p;
}

/* The sections of a plan segment as one space-separated string in buf. */
static const char *section_names(const json_t *seg, char *buf, size_t cap)
{
	size_t used = 0, i;
	json_t *s;
	buf[0] = '\0';
	json_array_foreach(json_object_get(seg, "sections"), i, s)
	{
		int n = snprintf(buf + used, cap - used, "%s%s", used ? " " : "",
		                 ft_conform_json_str(s, "name"));
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static void expect_seg_text(ft_conform_record *rec, const json_t *p, uint32_t start,
                            const char *field, const char *needle)
{
	char what[96];
	snprintf(what, sizeof(what), "segment 0x%08X %s names it", (unsigned)start, field);
	const json_t *seg = ft_conform_plan_segment(p, start);
	char buf[512];
	const char *text = strcmp(field, "sections") == 0 ? section_names(seg, buf, sizeof(buf))
	                                                  : ft_conform_json_str(seg, field);
	ft_conform_expect_contains(rec, what, text, needle);
}

static void expect_nothing_erased(ft_conform_record *rec, const json_t *p)
{
	ft_conform_expect_erase(rec, p, 0, NULL);
	const json_t *work = json_object_get(p, "work");
	ft_conform_expect_int(rec, "writes planned",
	                      (long long)json_array_size(json_object_get(work, "write")), 0);
}

/* Writes a generated ELF into the work directory; false (recorded) on failure. */
static bool write_elf(ft_conform_env *env, const char *name, const ft_gen_segment *segs,
                      size_t count, char *path, size_t cap)
{
	uint8_t *elf;
	size_t len;
	ft_diag diag;
	if (ft_gen_elf(segs, count, &elf, &len, &diag) != FT_OK) {
		ft_conform_record_fail(ft_conform_env_record(env), "generating %s: %s", name,
		                       diag.message);
		return false;
	}
	bool ok = ft_conform_env_write(env, name, elf, len, path, cap);
	free(elf);
	return ok;
}

static bool write_hex(ft_conform_env *env, const char *name, const ft_gen_hex_record *records,
                      size_t count, char *path, size_t cap)
{
	char *text;
	size_t len;
	ft_diag diag;
	if (ft_gen_hex(records, count, &text, &len, &diag) != FT_OK) {
		ft_conform_record_fail(ft_conform_env_record(env), "generating %s: %s", name,
		                       diag.message);
		return false;
	}
	bool ok = ft_conform_env_write(env, name, text, len, path, cap);
	free(text);
	return ok;
}

/* I01: field report A. The RAM_D2 descriptors segment is refused before anything is erased;
 * with --skip-volatile the flash part is planned alone. */
static void run_i01(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "h723-eth-d2.elf", elf, sizeof(elf)))
		return;
	json_t *p = plan(env, "check", ARGS("check", elf, "--part", "STM32H723ZG", "--json"), 1);
	if (p) {
		ft_conform_expect_str(rec, "plan status", ft_conform_json_str(p, "status"),
		                      "refused");
		ft_conform_expect_segment(rec, p, 0x30000000u, "PT_LOAD[3]", "refuse",
		                          "dfu-volatile", "ahb-sram");
		expect_seg_text(rec, p, 0x30000000u, "sections", ".RxDecripSection");
		expect_seg_text(rec, p, 0x30000000u, "sections", ".TxDecripSection");
		expect_seg_text(rec, p, 0x30000000u, "region_text", "RAM_D2");
		expect_seg_text(rec, p, 0x30000000u, "reason", "0x20004100-0x2001FFFF");
		expect_seg_text(rec, p, 0x30000000u, "fix", "(NOLOAD)");
		expect_nothing_erased(rec, p);
	}
	json_decref(p);
	p = plan(env, "check.skip_volatile",
	         ARGS("check", elf, "--part", "STM32H723ZG", "--skip-volatile", "--json"), 0);
	if (p) {
		ft_conform_expect_segment(rec, p, 0x30000000u, "PT_LOAD[3]", "skip",
		                          "volatile-skipped", "ahb-sram");
		ft_conform_expect_segment(rec, p, 0x08000000u, "PT_LOAD[0]", "program", "none",
		                          "flash-bank");
		static const unsigned sector0[][2] = {{1, 0}};
		ft_conform_expect_erase(rec, p, 1, sector0);
	}
	json_decref(p);
}

/* I02: the same image over SWD: the RAM segment is written for the session with a warning and
 * only persistent ranges are verified. */
static void run_i02(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "h723-eth-d2.elf", elf, sizeof(elf)))
		return;
	json_t *p =
	    plan(env, "check",
	         ARGS("check", elf, "--part", "STM32H723ZG", "--transport", "swd", "--json"), 0);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x30000000u, "PT_LOAD[3]", "volatile", "volatile",
	                          "ahb-sram");
	expect_seg_text(rec, p, 0x30000000u, "reason", "lost at reset");
	const json_t *verify = json_object_get(json_object_get(p, "work"), "verify");
	bool ram_verified = false;
	size_t i;
	json_t *v;
	json_array_foreach(verify, i, v)
	{
		if (strtoul(ft_conform_json_str(v, "start"), NULL, 0) >= 0x30000000u)
			ram_verified = true;
	}
	ft_conform_expect_true(rec, "verify covers persistent ranges only", !ram_verified,
	                       ram_verified ? "a RAM range is verified" : "flash ranges only");
	json_decref(p);
}

/* I03, I04: field report C / the H750 DTCM case. h743-dtcm.elf carries .DTCMRAM at 0x20000000
 * (below the bootloader's DTCM window) and .RamData at 0x24000000 (its work area). */
static json_t *dtcm_plan(ft_conform_env *env)
{
	char elf[512];
	if (!ft_conform_env_fixture(env, "h743-dtcm.elf", elf, sizeof(elf)))
		return NULL;
	return plan(env, "check", ARGS("check", elf, "--part", "STM32H743ZI", "--json"), 1);
}

static void run_i03(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	json_t *p = dtcm_plan(env);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x20000000u, "PT_LOAD[3]", "refuse", "dfu-work-area",
	                          "dtcm");
	expect_seg_text(rec, p, 0x20000000u, "sections", ".DTCMRAM");
	expect_seg_text(rec, p, 0x20000000u, "region_text", "DTCM");
	expect_seg_text(rec, p, 0x20000000u, "reason", "0x20004100-0x2001FFFF");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

static void run_i04(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	json_t *p = dtcm_plan(env);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x24000000u, "PT_LOAD[4]", "refuse", "dfu-work-area",
	                          "axi-sram");
	expect_seg_text(rec, p, 0x24000000u, "reason", "work area 0x24000000-0x24004FFF");
	expect_seg_text(rec, p, 0x24000000u, "sections", ".RamData");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

/* I05: zero-filesz segments cause no transaction: the fixture's heap/stack and NOBITS RAM_D2
 * segments, then the catalogue's shape (bss, NOLOAD AT> FLASH into bank 2, SDRAM). */
static void run_i05(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char path[512];
	if (!ft_conform_env_fixture(env, "h723-eth-d2-fixed.elf", path, sizeof(path)))
		return;
	json_t *p =
	    plan(env, "check.fixture", ARGS("check", path, "--part", "STM32H723ZG", "--json"), 0);
	if (p) {
		ft_conform_expect_segment(rec, p, 0x30000000u, "PT_LOAD[3] (NOBITS)", "skip",
		                          "empty", NULL);
		ft_conform_expect_segment(rec, p, 0x08000150u, "PT_LOAD[2] (heap/stack)", "skip",
		                          "empty", NULL);
		static const unsigned sector0[][2] = {{1, 0}};
		ft_conform_expect_erase(rec, p, 1, sector0);
	}
	json_decref(p);

	uint8_t text[0x400];
	ft_gen_self_addressed(text, sizeof(text), 0x08000000u);
	const ft_gen_segment segs[] = {
	    {0x08000000u, 0x08000000u, text, sizeof(text), sizeof(text), FT_GEN_PF_R | FT_GEN_PF_X,
	     ".text"},
	    {0x2002DB48u, 0x2002DB48u, NULL, 0, 0x600, FT_GEN_PF_R | FT_GEN_PF_W, ".bss"},
	    {0x081958E8u, 0x2007E000u, NULL, 0, 0x100, FT_GEN_PF_R | FT_GEN_PF_W, ".noinit"},
	    {0xC0000000u, 0xC0000000u, NULL, 0, 0x177000, FT_GEN_PF_R | FT_GEN_PF_W, ".sdram"},
	};
	if (!write_elf(env, "i05-zero-filesz.elf", segs, 4, path, sizeof(path)))
		return;
	p = plan(env, "check.generated", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (p) {
		ft_conform_expect_segment(rec, p, 0x2002DB48u, "PT_LOAD[1] .bss", "skip", "empty",
		                          NULL);
		ft_conform_expect_segment(rec, p, 0x081958E8u, "PT_LOAD[2] NOLOAD AT> FLASH",
		                          "skip", "empty", NULL);
		ft_conform_expect_segment(rec, p, 0xC0000000u, "PT_LOAD[3] SDRAM", "skip", "empty",
		                          NULL);
		static const unsigned sector0[][2] = {{1, 0}};
		ft_conform_expect_erase(rec, p, 1, sector0);
	}
	json_decref(p);
}

/* I06: .data has VMA 0x24000000 and LMA in flash: the write goes to the LMA and the plan says
 * where it runs. */
static void run_i06(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "h743-clean.elf", elf, sizeof(elf)))
		return;
	json_t *p = plan(env, "check", ARGS("check", elf, "--part", "STM32H743ZI", "--json"), 0);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x08000114u, "PT_LOAD[1] .data", "program", "none",
	                          "flash-bank");
	expect_seg_text(rec, p, 0x08000114u, "note", "runs at 0x24000000");
	const json_t *writes = json_object_get(json_object_get(p, "work"), "write");
	bool ram = false;
	size_t i;
	json_t *w;
	json_array_foreach(writes, i, w)
	{
		if (strtoul(ft_conform_json_str(w, "start"), NULL, 0) >= 0x20000000u)
			ram = true;
	}
	ft_conform_expect_true(rec, "writes go to the load address only", !ram,
	                       ram ? "a write goes to RAM" : "flash only");
	json_decref(p);
}

/* I07: code linked into ITCM without AT> FLASH: refused over DFU, volatile over SWD. */
static void run_i07(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t text[0x100], itcm[0x800];
	ft_gen_self_addressed(text, sizeof(text), 0x08000000u);
	ft_gen_self_addressed(itcm, sizeof(itcm), 0);
	const ft_gen_segment segs[] = {
	    {0x08000000u, 0x08000000u, text, sizeof(text), sizeof(text), FT_GEN_PF_R | FT_GEN_PF_X,
	     ".text"},
	    {0x00000000u, 0x00000000u, itcm, sizeof(itcm), sizeof(itcm), FT_GEN_PF_R | FT_GEN_PF_X,
	     ".itcm_text"},
	};
	char path[512];
	if (!write_elf(env, "i07-itcm.elf", segs, 2, path, sizeof(path)))
		return;
	json_t *p =
	    plan(env, "check.dfu", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 1);
	if (p) {
		ft_conform_expect_segment(rec, p, 0, "PT_LOAD[1] .itcm_text", "refuse",
		                          "dfu-volatile", "itcm");
		expect_seg_text(rec, p, 0, "region_text", "ITCM");
		expect_nothing_erased(rec, p);
	}
	json_decref(p);
	p = plan(env, "check.swd",
	         ARGS("check", path, "--part", "STM32H743ZI", "--transport", "swd", "--json"), 0);
	if (p) {
		ft_conform_expect_segment(rec, p, 0, "PT_LOAD[1] .itcm_text", "volatile",
		                          "volatile", "itcm");
		expect_seg_text(rec, p, 0, "reason", "ITCM");
		expect_seg_text(rec, p, 0, "fix", "AT>");
	}
	json_decref(p);
}

/* I09: two segments claim 0x08001000-0x08001FFF with different bytes: an input error naming the
 * overlap; with identical bytes they merge with a note. */
static void run_i09(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	static uint8_t a[0x2000], b[0x1000];
	ft_gen_self_addressed(a, sizeof(a), 0x08000000u);
	memset(b, 0x5A, sizeof(b));
	ft_gen_segment segs[] = {
	    {0x08000000u, 0x08000000u, a, sizeof(a), sizeof(a), FT_GEN_PF_R | FT_GEN_PF_X, ".text"},
	    {0x08001000u, 0x08001000u, b, sizeof(b), sizeof(b), FT_GEN_PF_R, ".rodata"},
	};
	char path[512];
	if (!write_elf(env, "i09-overlap.elf", segs, 2, path, sizeof(path)))
		return;
	int exit_status = -1;
	json_t *p = ft_conform_env_flashtwin_json(
	    env, ARGS("check", path, "--part", "STM32H743ZI", "--json"), &exit_status);
	if (p) {
		ft_conform_record_int(rec, "check.different.exit_status", exit_status);
		const char *code = ft_conform_json_str(json_object_get(p, "error"), "code");
		const char *msg = ft_conform_json_str(json_object_get(p, "error"), "message");
		ft_conform_record_str(rec, "check.different.error", code);
		ft_conform_expect_int(rec, "different bytes: exit status", exit_status, 2);
		ft_conform_expect_str(rec, "different bytes: error code", code, "overlap");
		ft_conform_expect_contains(rec, "different bytes: message names the range", msg,
		                           "0x08001000");
	}
	json_decref(p);
	segs[1].data = a + 0x1000;
	if (!write_elf(env, "i09-identical.elf", segs, 2, path, sizeof(path)))
		return;
	p = plan(env, "check.identical", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (p) {
		char notes[1024];
		json_t *n = json_object_get(p, "image_notes");
		char *joined = json_dumps(n, 0);
		snprintf(notes, sizeof(notes), "%s", joined ? joined : "");
		free(joined);
		ft_conform_expect_contains(rec, "identical bytes: merged with a note", notes,
		                           "0x08001000");
	}
	json_decref(p);
}

/* I11: 700 KiB for a 512 KiB STM32H723xE. */
static void run_i11(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	size_t size = 700u * 1024u;
	uint8_t *data = malloc(size);
	if (!data) {
		ft_conform_record_fail(rec, "out of memory");
		return;
	}
	ft_gen_self_addressed(data, size, 0x08000000u);
	const ft_gen_segment segs[] = {{0x08000000u, 0x08000000u, data, (uint32_t)size,
	                                (uint32_t)size, FT_GEN_PF_R | FT_GEN_PF_X, ".text"}};
	char path[512];
	bool ok = write_elf(env, "i11-700k.elf", segs, 1, path, sizeof(path));
	free(data);
	if (!ok)
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H723VE", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x08000000u, "PT_LOAD[0]", "refuse", "exceeds-flash",
	                          NULL);
	expect_seg_text(rec, p, 0x08000000u, "reason", "512 KiB");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

/* Sum of the padding of every planned write. */
static long long plan_padding(const json_t *p)
{
	return json_integer_value(json_object_get(json_object_get(p, "totals"), "padding_bytes"));
}

static long long plan_write_bytes(const json_t *p)
{
	return json_integer_value(json_object_get(json_object_get(p, "totals"), "write_bytes"));
}

/* I13: one 0x20-byte HEX record at 0x0801FFF0 crosses from sector 0 into sector 1. */
static void run_i13(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[0x20];
	ft_gen_self_addressed(data, sizeof(data), 0x0801FFF0u);
	const ft_gen_hex_record r[] = {{0x0801FFF0u, data, sizeof(data)}};
	char path[512];
	if (!write_hex(env, "i13-cross.hex", r, 1, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (!p)
		return;
	static const unsigned sectors[][2] = {{1, 0}, {1, 1}};
	ft_conform_expect_erase(rec, p, 2, sectors);
	ft_conform_expect_int(rec, "bytes written (two 32-byte flash words)", plan_write_bytes(p),
	                      64);
	json_decref(p);
}

/* I14: the last record ends at 0x0800A3F4, inside a flash word: padded to 0x0800A3FF. */
static void run_i14(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	static uint8_t data[0x3F4];
	ft_gen_self_addressed(data, sizeof(data), 0x0800A000u);
	ft_gen_hex_record r[0x3F4 / 0x20 + 1];
	size_t n = 0;
	for (uint32_t off = 0; off < sizeof(data); off += 0x20, n++) {
		uint32_t len = sizeof(data) - off < 0x20 ? (uint32_t)sizeof(data) - off : 0x20;
		r[n] = (ft_gen_hex_record){0x0800A000u + off, data + off, (uint8_t)len};
	}
	char path[512];
	if (!write_hex(env, "i14-tail.hex", r, n, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (!p)
		return;
	const json_t *w = json_array_get(json_object_get(json_object_get(p, "work"), "write"), 0);
	ft_conform_expect_str(rec, "write ends at the flash-word boundary",
	                      ft_conform_json_str(w, "end"), "0x0800A3FF");
	ft_conform_expect_int(rec, "0xFF padding bytes", plan_padding(p), 0xC);
	json_decref(p);
}

/* I15: two records in the same 32-byte flash word become one flash-word write. */
static void run_i15(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	const uint8_t a[2] = {0x11, 0x22}, b[4] = {0x33, 0x44, 0x55, 0x66};
	const ft_gen_hex_record r[] = {{0x0801DFE0u, a, 2}, {0x0801DFF0u, b, 4}};
	char path[512];
	if (!write_hex(env, "i15-same-word.hex", r, 2, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (!p)
		return;
	const json_t *writes = json_object_get(json_object_get(p, "work"), "write");
	ft_conform_expect_int(rec, "flash-word writes", (long long)json_array_size(writes), 1);
	const json_t *w = json_array_get(writes, 0);
	ft_conform_expect_str(rec, "the one write starts at the flash word",
	                      ft_conform_json_str(w, "start"), "0x0801DFE0");
	ft_conform_expect_int(rec, "bytes written", plan_write_bytes(p), 32);
	json_decref(p);
}

/* I17: field report E's firmware.bin. Without an address: refused as input; at 0x0: ITCM; at
 * 0x08000000: sectors 0-2. */
static void run_i17(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char bin[512];
	if (!ft_conform_env_fixture(env, "h725-app.bin", bin, sizeof(bin)))
		return;
	int exit_status = -1;
	json_t *p = ft_conform_env_flashtwin_json(
	    env, ARGS("check", bin, "--part", "STM32H725ZG", "--json"), &exit_status);
	if (p) {
		const char *msg = ft_conform_json_str(json_object_get(p, "error"), "message");
		ft_conform_record_int(rec, "check.no_address.exit_status", exit_status);
		ft_conform_record_str(rec, "check.no_address.message", msg);
		ft_conform_expect_int(rec, "no address: exit status", exit_status, 2);
		ft_conform_expect_contains(rec, "no address: message asks for one", msg,
		                           "--address");
	}
	json_decref(p);
	p = plan(env, "check.address_0",
	         ARGS("check", bin, "--part", "STM32H725ZG", "--address", "0x0", "--json"), 1);
	if (p) {
		ft_conform_expect_segment(rec, p, 0, "firmware.bin at 0x0", "refuse", "bin-in-ram",
		                          "itcm");
		expect_seg_text(rec, p, 0, "reason", "ITCM");
		expect_seg_text(rec, p, 0, "reason", "0x08000000");
	}
	json_decref(p);
	p = plan(env, "check.address_flash",
	         ARGS("check", bin, "--part", "STM32H725ZG", "--address", "0x08000000", "--json"),
	         0);
	if (p) {
		static const unsigned sectors[][2] = {{1, 0}, {1, 1}, {1, 2}};
		ft_conform_expect_erase(rec, p, 3, sectors);
	}
	json_decref(p);
}

/* I20, I21: h743-qspi.elf has 128 KiB in the QUADSPI window. */
static void run_i20(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "h743-qspi.elf", elf, sizeof(elf)))
		return;
	json_t *p =
	    plan(env, "check",
	         ARGS("check", elf, "--part", "STM32H743ZI", "--transport", "swd", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x90000000u, "PT_LOAD[3] .qspi", "refuse",
	                          "ext-needs-loader", "ext-window");
	expect_seg_text(rec, p, 0x90000000u, "reason", "external loader");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

static void run_i21(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "h743-qspi.elf", elf, sizeof(elf)))
		return;
	json_t *p = plan(env, "check", ARGS("check", elf, "--part", "STM32H743ZI", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x90000000u, "PT_LOAD[3] .qspi", "refuse", "ext-over-dfu",
	                          "ext-window");
	expect_seg_text(rec, p, 0x90000000u, "reason", "cannot program external memory");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

/* I30 (added): the same image as ELF, HEX, SREC and BIN@0x08000000 gives the same work. */
static void run_i30(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	static const char *const forms[] = {"elf", "hex", "srec", "bin"};
	char *work[4] = {NULL};
	for (size_t f = 0; f < 4; f++) {
		char name[64], path[512], prefix[32];
		snprintf(name, sizeof(name), "h743-clean.%s", forms[f]);
		snprintf(prefix, sizeof(prefix), "check.%s", forms[f]);
		if (!ft_conform_env_fixture(env, name, path, sizeof(path)))
			break;
		const char *address = f == 3 ? "0x08000000" : NULL;
		json_t *p = plan(env, prefix,
		                 address ? ARGS("check", path, "--part", "STM32H743ZI", "--address",
		                                address, "--json")
		                         : ARGS("check", path, "--part", "STM32H743ZI", "--json"),
		                 0);
		if (!p)
			break;
		work[f] = json_dumps(json_object_get(p, "work"), JSON_SORT_KEYS);
		json_decref(p);
	}
	for (size_t f = 1; f < 4; f++) {
		char what[64];
		snprintf(what, sizeof(what), "%s plans the same work as elf", forms[f]);
		bool same = work[0] && work[f] && strcmp(work[0], work[f]) == 0;
		ft_conform_expect_true(rec, what, same,
		                       same ? "same erase, write and verify"
		                            : "different work lists");
	}
	for (size_t f = 0; f < 4; f++)
		free(work[f]);
}

/* I31 (added): field report C, "the .hex fails too": objcopy's HEX carries the RAM sections. */
static void run_i31(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char hex[512];
	if (!ft_conform_env_fixture(env, "h743-dtcm.hex", hex, sizeof(hex)))
		return;
	json_t *p = plan(env, "check", ARGS("check", hex, "--part", "STM32H743ZI", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x20000000u, "records at 0x20000000", "refuse",
	                          "dfu-work-area", "dtcm");
	ft_conform_expect_segment(rec, p, 0x24000000u, "records at 0x24000000", "refuse",
	                          "dfu-work-area", "axi-sram");
	expect_seg_text(rec, p, 0x20000000u, "origin", "lines");
	expect_nothing_erased(rec, p);
	json_decref(p);
}

/* I32 (added): an external base typed as 0x09000000 (CATALOGUE §3 taxonomy). */
static void run_i32(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[0x20];
	ft_gen_self_addressed(data, sizeof(data), 0x09000000u);
	const ft_gen_hex_record r[] = {{0x09000000u, data, sizeof(data)}};
	char path[512];
	if (!write_hex(env, "i32-typo.hex", r, 1, path, sizeof(path)))
		return;
	json_t *p =
	    plan(env, "check",
	         ARGS("check", path, "--part", "STM32H743ZI", "--transport", "swd", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x09000000u, "records at 0x09000000", "refuse",
	                          "unmapped", NULL);
	expect_seg_text(rec, p, 0x09000000u, "reason", "0x90000000");
	json_decref(p);
}

/* I33 (added): an xG part's bank hole; I34: a segment across the bank boundary is split. */
static void run_i33(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[0x2000];
	ft_gen_self_addressed(data, sizeof(data), 0x0807F000u);
	const ft_gen_segment segs[] = {
	    {0x0807F000u, 0x0807F000u, data, sizeof(data), sizeof(data), FT_GEN_PF_R, ".rodata"}};
	char path[512];
	if (!write_elf(env, "i33-hole.elf", segs, 1, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H743ZG", "--json"), 1);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x0807F000u, "PT_LOAD[0]", "refuse", "flash-hole", NULL);
	expect_nothing_erased(rec, p);
	json_decref(p);
}

static void run_i34(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[0x2000];
	ft_gen_self_addressed(data, sizeof(data), 0x080FF000u);
	const ft_gen_segment segs[] = {
	    {0x080FF000u, 0x080FF000u, data, sizeof(data), sizeof(data), FT_GEN_PF_R, ".rodata"}};
	char path[512];
	if (!write_elf(env, "i34-banks.elf", segs, 1, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H743ZI", "--json"), 0);
	if (!p)
		return;
	ft_conform_expect_segment(rec, p, 0x080FF000u, "PT_LOAD[0]", "program", "none",
	                          "flash-bank");
	static const unsigned sectors[][2] = {{1, 7}, {2, 0}};
	ft_conform_expect_erase(rec, p, 2, sectors);
	json_decref(p);
}

/* I35 (added): STM32H7A3: 8 KiB sectors and 16-byte flash words, so 8 bytes at 0x08002000 erase
 * sector 1 only and are padded to 16 bytes, not 32. */
static void run_i35(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	uint8_t data[8];
	ft_gen_self_addressed(data, sizeof(data), 0x08002000u);
	const ft_gen_hex_record r[] = {{0x08002000u, data, sizeof(data)}};
	char path[512];
	if (!write_hex(env, "i35-h7a3.hex", r, 1, path, sizeof(path)))
		return;
	json_t *p = plan(env, "check", ARGS("check", path, "--part", "STM32H7A3ZI", "--json"), 0);
	if (!p)
		return;
	static const unsigned sector1[][2] = {{1, 1}};
	ft_conform_expect_erase(rec, p, 1, sector1);
	const json_t *e = json_array_get(json_object_get(json_object_get(p, "work"), "erase"), 0);
	ft_conform_expect_int(rec, "sector size", json_integer_value(json_object_get(e, "size")),
	                      8192);
	ft_conform_expect_int(rec, "bytes written (one 16-byte flash word)", plan_write_bytes(p),
	                      16);
	json_decref(p);
}

const ft_conform_scenario ft_conform_image_scenarios[] = {
    {.id = "I01",
     .title = "elf-ptload-ram-d2-dfu (field report A)",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i01},
    {.id = "I02",
     .title = "elf-ptload-ram-d2-swd",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i02},
    {.id = "I03",
     .title = "elf-dtcm-progbits-dfu (H750 case)",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i03},
    {.id = "I04",
     .title = "elf-axi-sram-bootloader-workarea",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i04},
    {.id = "I05",
     .title = "elf-zero-filesz-segments",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i05},
    {.id = "I06",
     .title = "elf-data-vma-ne-lma",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i06},
    {.id = "I07",
     .title = "elf-itcm-code",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i07},
    {.id = "I09",
     .title = "elf-overlapping-segments",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i09},
    {.id = "I11",
     .title = "elf-too-big-h723xE",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i11},
    {.id = "I13",
     .title = "hex-record-crosses-sector",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i13},
    {.id = "I14",
     .title = "hex-tail-not-flashword-aligned",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i14},
    {.id = "I15",
     .title = "hex-two-records-same-flashword",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i15},
    {.id = "I17",
     .title = "bin-without-address",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i17},
    {.id = "I18",
     .title = "srec-merged-internal-external",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .needs = {"external-loader"}},
    {.id = "I20",
     .title = "elf-ext-region-without-loader",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i20},
    {.id = "I21",
     .title = "elf-ext-region-over-dfu",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i21},
    {.id = "I24",
     .title = "n6-fsbl-noncacheable-progbits",
     .section = FT_CONFORM_SECTION_IMAGE,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .needs = {"external-loader", "n6-fsbl-noncacheable-fixture"}},
    {.id = "I30",
     .title = "formats-plan-alike (ELF/HEX/SREC/BIN)",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i30},
    {.id = "I31",
     .title = "hex-carries-ram-records (field report C)",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i31},
    {.id = "I32",
     .title = "hex-mistyped-external-base",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i32},
    {.id = "I33",
     .title = "elf-into-xg-bank-hole",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i33},
    {.id = "I34",
     .title = "elf-across-bank-boundary",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i34},
    {.id = "I35",
     .title = "h7a3-8k-sectors-16-byte-words",
     .section = FT_CONFORM_SECTION_IMAGE,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_i35},
};
const size_t ft_conform_image_scenario_count =
    sizeof(ft_conform_image_scenarios) / sizeof(ft_conform_image_scenarios[0]);
