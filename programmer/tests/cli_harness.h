/* Running the flashtwin command from a test, as a user runs it: a scratch directory, the exit
 * status, stdout, stderr and (when stdout parses) its JSON of the last run, and writers for the
 * input files the tests feed it (ELF, Intel HEX, SREC, raw binary). Included by the
 * test_cli_*.c programs only.
 *
 * The binary is the flashtwin of the same build tree: $FT_BUILD/flashtwin when FT_BUILD is set,
 * else the sibling of this program's tests/ directory (build/san/tests/x -> build/san/flashtwin).
 * Board names resolve through ./boards: tests run from the repository root.
 */
#ifndef FT_CLI_HARNESS_H
#define FT_CLI_HARNESS_H

#include "models/tests/ft_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixture: a scratch directory and the last run ------------------------------------------ */

static struct {
	char dir[64];
	char path[PATH_MAX];
	int status;
	char *out;
	char *err;
	json_t *json;
	const char *cwd; /* where run() starts flashtwin; NULL: here */
} fx;

static inline void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ft-cli-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fx.dir));
}

static inline void teardown(void)
{
	free(fx.out);
	free(fx.err);
	json_decref(fx.json);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx.dir);
	memset(&fx, 0, sizeof(fx));
}

/* A path in the scratch directory (one at a time: the buffer is reused). */
static inline const char *scratch(const char *name)
{
	snprintf(fx.path, sizeof(fx.path), "%s/%s", fx.dir, name);
	return fx.path;
}

static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return strdup("");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int c;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			char *grown = realloc(buf, cap);
			if (!grown)
				break;
			buf = grown;
		}
		buf[len++] = (char)c;
	}
	fclose(f);
	if (!buf)
		return strdup("");
	buf[len] = '\0';
	return buf;
}

/* The build tree: $FT_BUILD, else the parent of this program's tests/ directory. */
static inline void build_dir(char *buf, size_t len)
{
	const char *build = getenv("FT_BUILD");
	if (build && build[0]) {
		snprintf(buf, len, "%s", build);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CU_ASSERT_FATAL(n > 0);
	exe[n] = '\0';
	snprintf(buf, len, "%s", dirname(dirname(exe)));
}

static inline void flashtwin_path(char *buf, size_t len)
{
	char build[1024];
	build_dir(build, sizeof(build));
	if (build[0] != '/') {
		/* run() may start flashtwin elsewhere: make the path absolute */
		char cwd[1024];
		CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
		snprintf(buf, len, "%s/%s/flashtwin", cwd, build);
	} else {
		snprintf(buf, len, "%s/flashtwin", build);
	}
}

/* Runs flashtwin with the NULL-terminated arguments; keeps exit status, stdout, stderr and, when
 * stdout parses, its JSON. */
static inline void run(const char *arg, ...)
{
	char program[PATH_MAX], out_path[128], err_path[128];
	flashtwin_path(program, sizeof(program));
	snprintf(out_path, sizeof(out_path), "%s/stdout", fx.dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", fx.dir);
	char *argv[32] = {program};
	size_t argc = 1;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Only async-signal-safe calls: a test may run a server thread. */
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (fx.cwd && chdir(fx.cwd) != 0)
			_exit(126);
		execv(program, argv);
		_exit(127);
	}
	int wstatus = 0;
	waitpid(pid, &wstatus, 0);
	for (size_t i = 1; i < argc; i++)
		free(argv[i]);
	free(fx.out);
	free(fx.err);
	json_decref(fx.json);
	fx.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	fx.out = slurp(out_path);
	fx.err = slurp(err_path);
	fx.json = json_loads(fx.out, 0, NULL);
	CU_ASSERT_FATAL(fx.status != 127);
}

#define ASSERT_CONTAINS(text, needle)                                                              \
	do {                                                                                       \
		char ft_c_[300];                                                                   \
		snprintf(ft_c_, sizeof(ft_c_), "output contains \"%s\"", (needle));                \
		CU_assertImplementation(strstr((text), (needle)) != NULL, __LINE__, ft_c_,         \
		                        __FILE__, "", CU_FALSE);                                   \
	} while (0)

#define ASSERT_EXIT(expected)                                                                      \
	do {                                                                                       \
		if (fx.status != (expected))                                                       \
			fprintf(stderr, "\nstdout:\n%s\nstderr:\n%s\n", fx.out, fx.err);           \
		FT_ASSERT_HEX(fx.status, (expected));                                              \
	} while (0)

/* Reads stdout as JSON lines (flash --json): fx.json becomes the array of the objects, one per
 * line, so that at("0/event") names the first event. Asserts that every line parses; returns the
 * number of lines. fx.out stays as it was. */
static inline size_t json_lines(void)
{
	json_t *lines = json_array();
	char *text = strdup(fx.out ? fx.out : "");
	char *save = NULL;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; lines && line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		CU_ASSERT(json_is_object(o));
		json_array_append_new(lines, o ? o : json_null());
	}
	free(text);
	json_decref(fx.json);
	fx.json = lines;
	return json_array_size(lines);
}

/* Reads flash --json's stream: fx.json becomes its last line, the result event that carries the
 * whole report (asserted). Returns the number of lines. */
static inline size_t json_result(void)
{
	size_t n = json_lines();
	json_t *last = json_incref(json_array_get(fx.json, n ? n - 1 : 0));
	json_decref(fx.json);
	fx.json = last;
	const char *event = json_string_value(json_object_get(fx.json, "event"));
	CU_ASSERT_STRING_EQUAL(event ? event : "", "result");
	return n;
}

/* The string at a JSON path written "segments/1/rule" (numbers index arrays); "" if absent. */
static inline json_t *at(const char *path)
{
	json_t *node = fx.json;
	char copy[128];
	snprintf(copy, sizeof(copy), "%s", path);
	for (char *save = NULL, *key = strtok_r(copy, "/", &save); node && key;
	     key = strtok_r(NULL, "/", &save)) {
		if (json_is_array(node))
			node = json_array_get(node, strtoul(key, NULL, 10));
		else
			node = json_object_get(node, key);
	}
	return node;
}

static inline const char *str_at(const char *path)
{
	const char *s = json_string_value(at(path));
	return s ? s : "";
}

static inline long long int_at(const char *path)
{
	return json_integer_value(at(path));
}

/* ---- input files ------------------------------------------------------------------------------
 */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

typedef struct elf_segment {
	uint32_t paddr, vaddr, filesz, memsz, flags;
	const char *sections[3]; /* PROGBITS sections sharing filesz evenly */
} elf_segment;

/* A little-endian ELF32 ARM executable: PT_LOADs with their bytes, SHF_ALLOC sections covering
 * them, and .shstrtab (ELF spec, "Object files" chapter; ARM ELF e_machine 40). */
static inline void write_elf(const char *path, const elf_segment *segs, size_t count)
{
	enum { EHDR = 52, PHDR = 32, SHDR = 40 };
	uint8_t *buf = calloc(1, 1 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	char strtab[512] = "";
	size_t strtab_len = 1;
	uint32_t offset = EHDR + PHDR * (uint32_t)count;
	uint8_t shdrs[16][SHDR];
	memset(shdrs, 0, sizeof(shdrs));
	size_t shnum = 1;
	for (size_t i = 0; i < count; i++) {
		const elf_segment *s = &segs[i];
		uint8_t *ph = buf + EHDR + PHDR * i;
		offset = (offset + 3) & ~3u;
		put32(ph + 0, 1); /* PT_LOAD */
		put32(ph + 4, offset);
		put32(ph + 8, s->vaddr);
		put32(ph + 12, s->paddr);
		put32(ph + 16, s->filesz);
		put32(ph + 20, s->memsz);
		put32(ph + 24, s->flags);
		put32(ph + 28, 4);
		for (uint32_t k = 0; k < s->filesz; k++)
			buf[offset + k] = (uint8_t)(0x5A ^ k ^ i);
		size_t n = 0;
		while (n < 3 && s->sections[n])
			n++;
		for (size_t k = 0; k < n; k++) {
			uint32_t part = s->filesz / (uint32_t)n;
			uint32_t size = k + 1 == n ? s->filesz - part * (uint32_t)k : part;
			uint8_t *sh = shdrs[shnum++];
			put32(sh + 0, (uint32_t)strtab_len);
			put32(sh + 4, 1); /* SHT_PROGBITS */
			put32(sh + 8,
			      (s->flags & 1) ? 6 : 3); /* SHF_ALLOC | SHF_EXECINSTR / WRITE */
			put32(sh + 12, s->vaddr + part * (uint32_t)k);
			put32(sh + 16, offset + part * (uint32_t)k);
			put32(sh + 20, size);
			put32(sh + 32, 4);
			strcpy(strtab + strtab_len, s->sections[k]);
			strtab_len += strlen(s->sections[k]) + 1;
		}
		offset += s->filesz;
	}
	uint8_t *sh = shdrs[shnum++];
	put32(sh + 0, (uint32_t)strtab_len);
	strcpy(strtab + strtab_len, ".shstrtab");
	strtab_len += strlen(".shstrtab") + 1;
	put32(sh + 4, 3); /* SHT_STRTAB */
	put32(sh + 16, offset);
	put32(sh + 20, (uint32_t)strtab_len);
	put32(sh + 32, 1);
	memcpy(buf + offset, strtab, strtab_len);
	offset = (uint32_t)((offset + strtab_len + 3) & ~3u);
	memcpy(buf + offset, shdrs, SHDR * shnum);
	static const uint8_t ident[16] = {0x7F, 'E', 'L', 'F', 1, 1, 1};
	memcpy(buf, ident, sizeof(ident));
	put16(buf + 16, 2);  /* ET_EXEC */
	put16(buf + 18, 40); /* EM_ARM */
	put32(buf + 20, 1);
	put32(buf + 24, segs[0].vaddr | 1);
	put32(buf + 28, EHDR);
	put32(buf + 32, offset);
	put32(buf + 36, 0x05000200);
	put16(buf + 40, EHDR);
	put16(buf + 42, PHDR);
	put16(buf + 44, (uint16_t)count);
	put16(buf + 46, SHDR);
	put16(buf + 48, (uint16_t)shnum);
	put16(buf + 50, (uint16_t)(shnum - 1));
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(buf, 1, offset + SHDR * shnum, f);
	fclose(f);
	free(buf);
}

/* Intel HEX: 16-byte data records, extended linear address records, EOF. */
static inline void write_ihex(const char *path, uint32_t addr, uint32_t len)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	uint32_t upper = 0xFFFFFFFF;
	for (uint32_t pos = 0; pos < len;) {
		uint32_t a = addr + pos;
		if (a >> 16 != upper) {
			upper = a >> 16;
			uint8_t sum = (uint8_t)(2 + 4 + (upper >> 8) + upper);
			fprintf(f, ":02000004%04X%02X\n", upper, (uint8_t)-sum);
		}
		uint32_t n = len - pos < 16 ? len - pos : 16;
		if ((a & 0xFFFF) + n > 0x10000)
			n = 0x10000 - (a & 0xFFFF);
		uint8_t sum = (uint8_t)(n + (a >> 8) + a);
		fprintf(f, ":%02X%04X00", n, a & 0xFFFF);
		for (uint32_t k = 0; k < n; k++) {
			uint8_t b = (uint8_t)(pos + k);
			sum = (uint8_t)(sum + b);
			fprintf(f, "%02X", b);
		}
		fprintf(f, "%02X\n", (uint8_t)-sum);
		pos += n;
	}
	fprintf(f, ":00000001FF\n");
	fclose(f);
}

/* Motorola SREC: S0 header, S3 records of 16 bytes for each (addr, len) block, S7. */
static inline void write_srec(const char *path, const uint32_t *blocks, size_t count)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "S00600004844521B\n");
	for (size_t b = 0; b < count; b++) {
		for (uint32_t pos = 0; pos < blocks[2 * b + 1]; pos += 16) {
			uint32_t a = blocks[2 * b] + pos;
			uint32_t n = blocks[2 * b + 1] - pos < 16 ? blocks[2 * b + 1] - pos : 16;
			uint8_t sum = (uint8_t)(n + 5 + (a >> 24) + (a >> 16) + (a >> 8) + a);
			fprintf(f, "S3%02X%08X", n + 5, a);
			for (uint32_t k = 0; k < n; k++) {
				sum = (uint8_t)(sum + (uint8_t)k);
				fprintf(f, "%02X", (uint8_t)k);
			}
			fprintf(f, "%02X\n", (uint8_t)~sum);
		}
	}
	fprintf(f, "S70500000000FA\n");
	fclose(f);
}

static inline void write_bin(const char *path, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (size_t i = 0; i < len; i++)
		fputc((int)(i * 7), f);
	fclose(f);
}

/* Field report A: code in flash, LwIP descriptors in RAM_D2 without NOLOAD. */
static inline void write_report_a(const char *path)
{
	elf_segment segs[] = {
	    {0x08000000, 0x08000000, 0x4000, 0x4000, 5, {".isr_vector", ".text", NULL}},
	    {0x30000000, 0x30000000, 0x300, 0x300, 6, {".RxDecripSection", ".TxDecripSection"}},
	};
	write_elf(path, segs, 2);
}

#endif
