/* QEMU speed on nucleo-h743zi2 with the flashtwin models: boot-to-main time (process start to the
 * firmware's first serial line, HAL-style start-up included; median of several boots) and MIPS of
 * a CoreMark-like loop (emu/qemu/firmware/src/bench.c). The loop's instruction count comes from a
 * second run under -icount shift=0 (one instruction per virtual nanosecond, which the firmware
 * reads back through SysTick); its host time from the serial markers around it in a normal run.
 * Needs build/qemu/qemu-system-arm (`make qemu`) and BUILD/qemu-firmware/h743-bench.elf. */
#include "emu/board_runtime.h"
#include "emu/qemu_run.h"
#include "programmer/image/image.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MACHINE    "nucleo-h743zi2"
#define SYSCLK_HZ  400000000.0 /* the machine's core clock (ft_nucleo.c) */
#define BOOTS      5
#define TIMEOUT_MS 120000
/* RM0433 §4.9: KEYR1, CR1 PG | PSIZE x64 */
#define KEYR1 0x04u
#define CR1   0x0Cu
#define CR_PG (3u << 4 | 1u << 1)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const ft_diag *d)
{
	fprintf(stderr, "bench_qemu: %s: %s: %s\n", what, d->origin, d->message);
	return 1;
}

/* Programs the image's flash bytes through the flash model (as a debugger's flash loader would),
 * flash words padded with 0xFF. */
static ft_error program(ft_board_runtime *rt, const ft_image *image, ft_diag *diag)
{
	ft_flash_h7 *fl = ft_board_runtime_flash(rt);
	ft_flash_h7_reg_write(fl, KEYR1, 0x45670123u);
	ft_flash_h7_reg_write(fl, KEYR1, 0xCDEF89ABu);
	ft_flash_h7_reg_write(fl, CR1, CR_PG);
	for (size_t i = 0; i < ft_image_segment_count(image); i++) {
		const ft_segment *seg = ft_image_segment_at(image, i);
		if (seg->size == 0 || seg->addr < 0x08000000u || seg->addr >= 0x08100000u)
			continue;
		uint32_t first = seg->addr & ~31u, end = (seg->addr + seg->size + 31u) & ~31u;
		uint8_t *buf = malloc(end - first);
		if (!buf)
			return ft_diag_set(diag, FT_ERR_NO_MEM, "bench", "image buffer");
		memset(buf, 0xFF, end - first);
		memcpy(buf + (seg->addr - first), seg->data, seg->size);
		size_t done = 0;
		bool fault = false;
		ft_error err = FT_ERR_BUSY;
		while (err == FT_ERR_BUSY) { /* instant clock: each poll completes the queue */
			size_t n = 0;
			err = ft_flash_h7_bus_write_bulk(fl, first + (uint32_t)done, buf + done,
			                                 end - first - done, &n, &fault);
			done += n;
			ft_flash_h7_poll(fl);
		}
		free(buf);
		if (err != FT_OK || fault)
			return ft_diag_set(diag, FT_ERR_DEVICE, "bench",
			                   "programming 0x%08x failed", first);
	}
	ft_flash_h7_poll(fl);
	return FT_OK;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Reads serial output until marker; the host time it appeared, or a negative value. */
static double wait_for(ft_qemu *q, const char *marker, char *out, size_t cap, ft_diag *diag)
{
	if (ft_qemu_read_serial(q, marker, out, cap, NULL, TIMEOUT_MS, diag) != FT_OK)
		return -1;
	return now_s();
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	char dir[] = "/tmp/ft-bench-qemu-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_qemu: mkdtemp");
		return 1;
	}
	char board[PATH_MAX], state[PATH_MAX], elf[PATH_MAX], exe[PATH_MAX];
	snprintf(board, sizeof(board), "%s/" MACHINE ".board", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	FILE *f = fopen(board, "w");
	if (!f) {
		perror("bench_qemu: board file");
		return 1;
	}
	fputs("part = STM32H743ZIT6\nrevision = V\n", f);
	fclose(f);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < 2; i++) { /* BUILD/bench/bench_qemu -> BUILD */
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	snprintf(elf, sizeof(elf), "%.*s/qemu-firmware/h743-bench.elf", (int)(sizeof(elf) - 40),
	         exe);

	ft_diag diag;
	ft_diag_clear(&diag);
	ft_image *image = ft_image_new();
	ft_image_input in = {.path = elf, .format = FT_IMAGE_ELF};
	if (!image || ft_image_add_file(image, &in, &diag) != FT_OK ||
	    ft_image_finish(image, &diag) != FT_OK)
		return fail("firmware", &diag);
	ft_board_runtime_config rcfg = {
	    .board_path = board, .state_dir = state, .clock_mode = FT_CLOCK_INSTANT};
	ft_board_runtime *rt = NULL;
	if (ft_board_runtime_open(&rcfg, &rt, &diag) != FT_OK)
		return fail("board", &diag);
	ft_error err = program(rt, image, &diag);
	ft_board_runtime_close(rt, NULL);
	ft_image_free(image);
	if (err != FT_OK)
		return fail("programming", &diag);

	ft_qemu_config cfg = {.machine = MACHINE,
	                      .board_path = board,
	                      .state_dir = state,
	                      .boot0 = 0,
	                      .semihosting = true,
	                      .mode = FT_QEMU_RUN};
	static char out[4096];
	double boots[BOOTS];
	for (int i = 0; i < BOOTS; i++) {
		ft_qemu *q = NULL;
		out[0] = '\0';
		double t0 = now_s();
		if (ft_qemu_start(&cfg, &q, &diag) != FT_OK)
			return fail("qemu", &diag);
		double t1 = wait_for(q, "main reached\n", out, sizeof(out), &diag);
		ft_qemu_free(q);
		if (t1 < 0)
			return fail("boot", &diag);
		boots[i] = (t1 - t0) * 1e3;
	}
	qsort(boots, BOOTS, sizeof(boots[0]), compare);

	ft_qemu *q = NULL;
	out[0] = '\0';
	if (ft_qemu_start(&cfg, &q, &diag) != FT_OK)
		return fail("qemu", &diag);
	double start = wait_for(q, "loop start\n", out, sizeof(out), &diag);
	double end = start < 0 ? -1 : wait_for(q, "loop end\n", out, sizeof(out), &diag);
	ft_qemu_free(q);
	if (end < 0)
		return fail("loop", &diag);

	static const char *const icount[] = {"-icount", "shift=0,sleep=off", NULL};
	cfg.extra = icount;
	q = NULL;
	out[0] = '\0';
	if (ft_qemu_start(&cfg, &q, &diag) != FT_OK ||
	    ft_qemu_read_serial(q, NULL, out, sizeof(out), NULL, TIMEOUT_MS, &diag) != FT_OK)
		return fail("icount run", &diag);
	ft_qemu_free(q);
	const char *c = strstr(out, "cycles 0x");
	if (!c) {
		fprintf(stderr, "bench_qemu: no cycle count in: %s\n", out);
		return 1;
	}
	double instructions = (double)strtoul(c + 7, NULL, 16) * 1e9 / SYSCLK_HZ;
	double seconds = end - start;

	printf("qemu %s boot-to-main: %.1f ms median of %d (min %.1f, max %.1f), HAL-style "
	       "start-up included\n",
	       MACHINE, boots[BOOTS / 2], BOOTS, boots[0], boots[BOOTS - 1]);
	printf("qemu %s CoreMark-like loop: %.0f M instructions in %.3f s = %.0f MIPS\n", MACHINE,
	       instructions / 1e6, seconds, instructions / seconds / 1e6);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
