/* Image reader throughput and memory: a generated 32 MiB Intel HEX and a 32 MiB ELF (target:
 * at least 100 MB/s of input), and an Intel HEX with two records 3 GiB apart, whose peak memory
 * must stay small (proportional to the data, not to the address span).
 *
 * Each case runs in its own child process so that its peak RSS (getrusage ru_maxrss) is its own.
 * Exits non-zero only when the sparse case grows memory by more than SPARSE_LIMIT_KB; speed is
 * printed, never judged, since the machine is shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "programmer/image/image.h"
#include "programmer/tests/elf_builder.h"

#define INPUT_BYTES     (32u << 20)
#define REPEATS         3
#define SPARSE_LIMIT_KB (8 * 1024)

static long peak_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *hex_record(char *p, unsigned count, unsigned offset, unsigned type,
                        const uint8_t *data)
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t head[4] = {(uint8_t)count, (uint8_t)(offset >> 8), (uint8_t)offset, (uint8_t)type};
	unsigned sum = 0;
	*p++ = ':';
	for (unsigned i = 0; i < 4 + count; i++) {
		uint8_t b = i < 4 ? head[i] : data[i - 4];
		sum += b;
		*p++ = digits[b >> 4];
		*p++ = digits[b & 15];
	}
	uint8_t c = (uint8_t)-sum;
	*p++ = digits[c >> 4];
	*p++ = digits[c & 15];
	*p++ = '\n';
	return p;
}

/* Intel HEX as objcopy writes it: 16-byte data records from 0x08000000, an 04 record at every
 * 64 KiB, until the text reaches INPUT_BYTES. */
static uint8_t *make_hex(size_t *len)
{
	char *text = malloc(INPUT_BYTES + 64), *p = text;
	if (!text)
		return NULL;
	uint32_t addr = 0x08000000, rng = 1;
	uint8_t data[16];
	while ((size_t)(p - text) < INPUT_BYTES - 128) {
		if ((addr & 0xffff) == 0) {
			uint8_t ulba[2] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16)};
			p = hex_record(p, 2, 0, 4, ulba);
		}
		for (int i = 0; i < 16; i++) {
			rng = rng * 1103515245u + 12345u;
			data[i] = (uint8_t)(rng >> 16);
		}
		p = hex_record(p, 16, addr & 0xffff, 0, data);
		addr += 16;
	}
	p = hex_record(p, 0, 0, 1, NULL);
	*len = (size_t)(p - text);
	return (uint8_t *)text;
}

/* One PT_LOAD of flash (.isr_vector, .text) filling the file up to INPUT_BYTES. */
static uint8_t *make_elf(size_t *len)
{
	size_t cap = INPUT_BYTES;
	uint8_t *elf = calloc(1, cap);
	if (!elf)
		return NULL;
	uint32_t off = 0x100, size = INPUT_BYTES - 0x1000;
	for (uint32_t i = 0; i < size; i++)
		elf[off + i] = (uint8_t)(i * 2654435761u >> 24);
	eb_phdr ph = {EB_PT_LOAD, off, 0x08000000, 0x08000000, size, size, EB_PF_R | EB_PF_X};
	eb_shdr sh[2] = {
	    {".isr_vector", EB_SHT_PROGBITS, EB_SHF_ALLOC, 0x08000000, off, 0x400, 0},
	    {".text", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_EXECINSTR, 0x08000400, off + 0x400,
	     size - 0x400, 0},
	};
	*len = eb_build(elf, cap, 0x08000401, &ph, 1, sh, 2, off + size);
	return elf;
}

static uint8_t *make_sparse_hex(size_t *len)
{
	static const char text[] = ":020000040000FA\n:02010000AABB98\n"
	                           ":02000004C0003A\n:02010000CCDD54\n:00000001FF\n";
	uint8_t *copy = malloc(sizeof(text));
	if (copy)
		memcpy(copy, text, sizeof(text) - 1);
	*len = sizeof(text) - 1;
	return copy;
}

typedef struct bench_case {
	const char *name;
	ft_image_format format;
	uint8_t *(*make)(size_t *len);
	int repeats;
} bench_case;

/* Runs in the child: prints one line, returns the exit status. */
static int run_case(const bench_case *c)
{
	size_t len = 0;
	uint8_t *input = c->make(&len);
	if (!input || !len) {
		fprintf(stderr, "%s: cannot build the input\n", c->name);
		return 1;
	}
	long base_kb = peak_kb();
	double best = 1e9;
	uint64_t data = 0;
	size_t segments = 0;
	for (int r = 0; r < c->repeats; r++) {
		ft_image *image = ft_image_new();
		ft_diag diag;
		double t0 = now_s();
		ft_error err =
		    ft_image_add_buffer(image, c->name, c->format, input, len, false, 0, &diag);
		if (err == FT_OK)
			err = ft_image_finish(image, &diag);
		double t = now_s() - t0;
		if (err != FT_OK) {
			fprintf(stderr, "%s: %s: %s %s\n", c->name, ft_error_name(err), diag.origin,
			        diag.message);
			return 1;
		}
		best = t < best ? t : best;
		segments = ft_image_segment_count(image);
		data = 0;
		for (size_t i = 0; i < segments; i++)
			data += ft_image_segment_at(image, i)->size;
		ft_image_free(image);
	}
	long grew_kb = peak_kb() - base_kb;
	printf("%-22s input %7.2f MB  data %7.2f MB  %3zu segment%s  %8.1f MB/s  peak RSS %6.1f MB "
	       "(+%.1f MB while reading)\n",
	       c->name, len / 1e6, data / 1e6, segments, segments == 1 ? " " : "s",
	       len / 1e6 / best, peak_kb() / 1024.0, grew_kb / 1024.0);
	free(input);
	if (c->make == make_sparse_hex && grew_kb > SPARSE_LIMIT_KB) {
		printf("  FAIL: two records 3 GiB apart grew memory by %ld KB (limit %d KB)\n",
		       grew_kb, SPARSE_LIMIT_KB);
		return 1;
	}
	return 0;
}

int main(void)
{
	static const bench_case cases[] = {
	    {"sparse.hex (3 GiB gap)", FT_IMAGE_IHEX, make_sparse_hex, 1},
	    {"32MiB.hex", FT_IMAGE_IHEX, make_hex, REPEATS},
	    {"32MiB.elf", FT_IMAGE_ELF, make_elf, REPEATS},
	};
	int status = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			int rc = run_case(&cases[i]);
			fflush(stdout);
			_exit(rc);
		}
		int ws = 0;
		if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
			status = 1;
	}
	return status;
}
