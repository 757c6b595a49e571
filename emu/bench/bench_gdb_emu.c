/* `flashtwin flash -c gdb://` of a 1 MiB image into the internal flash of an emulated
 * nucleo-h743zi2, with verify, against flashtwin-emu --gdb (QEMU's gdbstub on the flashtwin
 * machine, whose flash controller is models/flash_h7), both programs of this build tree run as
 * users run them:
 *
 *   instant: flashtwin-emu --timing instant, flashtwin --no-poll-wait: the software path end to
 *            end (process start, planning, 8 sector erases, 1 MiB of flash words through the
 *            flash controller registers over RSP, the read-back), in MB/s (1 MB = 10^6 bytes).
 *            Best of ROUNDS.
 *   real:    flashtwin-emu --timing real (the QEMU machine's flash takes datasheet time on the
 *            host's clock), flashtwin polling FLASH_SR as it does on silicon: the measured time
 *            against the modelled floor, what the flash cannot go below:
 *              erases  sectors x the model's sector-erase time (ft_flash_h7_duration_ns at x64,
 *                      the PSIZE programmer/swd/h7_flash writes),
 *              program flash words written x the model's flash-word time.
 *            The debug path has no bus floor worth counting (loopback TCP; a probe's SWD clock
 *            is not modelled), so unlike bench_dfu_emu there is no USB term. The counts come
 *            from flashtwin's --json result. Target: measured / floor <= TARGET_RATIO.
 *   external: the same 1 MiB at 0x90000000 into the W25Q256JV of custom-h743-w25q256 through
 *            the board's loader (W25Q256JV_custom-h743-w25q256.stldr, run on the emulated core
 *            by the loader runner), instant and real. The floor is what the NOR model cannot go
 *            below: the range erased in 64 KB blocks (the largest erase the loader uses; the
 *            4 KB-sector figure is printed beside it) plus one page program per 256 bytes, at
 *            the model's typical durations (ft_nor_erase_us, ft_nor_page_program_us).
 *
 * Each run starts the emulator on a free loopback port with a fresh state directory. A missed
 * target is reported, not failed; a failed flash fails the bench. The host's load average is
 * printed before and after: real-time ratios mean little on a saturated host. */
#include "emu/bench/bench_harness.h"
#include "models/flash_h7.h"
#include "models/nor_flash.h"
#include "models/parts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOARD        "nucleo-h743zi2"
#define PART         "STM32H743ZI"
#define EXT_BOARD    "custom-h743-w25q256"
#define EXT_NOR      "W25Q256JV"
#define IMAGE_SIZE   (1u << 20)
#define FLASH_BASE   0x08000000u /* RM0433 §2.3.2 */
#define QSPI_BASE    0x90000000u /* RM0433 §2.3.2: QUADSPI bank 1 window */
#define SWD_PSIZE    3u          /* x64: what programmer/swd/h7_flash writes to CR.PSIZE */
#define ROUNDS       3
#define TARGET_MBPS  5.0
#define TARGET_RATIO 1.50

/* Where one measurement programs the image. */
typedef struct bench_target {
	const char *name; /* "internal", "external" */
	const char *board;
	uint32_t base;
} bench_target;

static const bench_target internal = {"internal", BOARD, FLASH_BASE};
static const bench_target external = {"external", EXT_BOARD, QSPI_BASE};

/* Starts flashtwin-emu --gdb with the timing; fills url from its ready line. */
static bool start_emu(const bench_paths *p, const bench_target *t, const char *timing, unsigned run,
                      ft_proc **emu, char *url, size_t cap)
{
	const char *const extra[] = {"--gdb", "127.0.0.1:0", "--timing", timing, NULL};
	static const char key[] = ", gdb at ";
	char line[512];
	if (!bench_start_emu(p, t->board, run, extra, key, emu, line, sizeof(line)))
		return false;
	const char *at = strstr(line, key) + strlen(key);
	snprintf(url, cap, "gdb://%.*s", (int)strcspn(at, " "), at);
	return true;
}

/* One flashtwin flash of the image against a new emulator; false when anything failed. The
 * external target's loader comes from its board file. */
static bool flash_once(const bench_paths *p, const bench_target *t, const char *timing,
                       unsigned run, flash_run *r)
{
	ft_proc *emu = NULL;
	char url[128], label[64];
	if (!start_emu(p, t, timing, run, &emu, url, sizeof(url))) {
		ft_proc_stop(emu, BENCH_STOP_MS, NULL, NULL);
		return false;
	}
	snprintf(label, sizeof(label), "%s, %s", t->name, timing);
	return bench_flash(p, emu, url, t->board, t->base, strcmp(timing, "instant") == 0, label,
	                   r);
}

static void report_instant(const bench_target *t, const flash_run *best)
{
	double mbps = IMAGE_SIZE / best->seconds / 1e6;
	printf("%-8s instant  %.3f s end to end (best of %d), %.2f MB/s (1 MB = 10^6 B); target >= "
	       "%.1f MB/s: %s\n",
	       t->name, best->seconds, ROUNDS, mbps, TARGET_MBPS,
	       mbps >= TARGET_MBPS ? "met" : "MISSED");
}

static void report_ratio(const bench_target *t, const flash_run *r, double floor)
{
	double ratio = r->seconds / floor;
	printf("%-8s real     measured %.2f s (%.3f MB/s), floor %.2f s, ratio %.3f; target <= "
	       "%.2f: %s\n",
	       t->name, r->seconds, IMAGE_SIZE / r->seconds / 1e6, floor, ratio, TARGET_RATIO,
	       ratio <= TARGET_RATIO ? "met" : "MISSED");
}

/* Internal flash: sector erases and flash-word programs at the flash model's durations. */
static void report_real_internal(const bench_target *t, const flash_run *r)
{
	const ft_flash_geometry *geo = &ft_part_find(PART)->flash;
	double erase_s =
	    1e-9 * (double)ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_SECTOR_ERASE, SWD_PSIZE);
	double word_s =
	    1e-9 * (double)ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_PROGRAM, SWD_PSIZE);
	long words = (r->written + geo->word_size - 1) / geo->word_size;
	double erases = (double)r->sectors * erase_s, program = (double)words * word_s;
	report_ratio(t, r, erases + program);
	printf("                  floor = erase %ld x %.3f s (%.2f s) + program %ld flash words x "
	       "%.0f us (%.2f s); verified %ld B\n",
	       r->sectors, erase_s, erases, words, word_s * 1e6, program, r->verified);
}

/* External NOR: the erased range in 64 KB blocks and 256-byte page programs at the NOR model's
 * typical durations. The plan counts the range in the loader's 4 KB sectors. */
static void report_real_external(const bench_target *t, const flash_run *r)
{
	const ft_nor_part *nor = ft_nor_part_find(EXT_NOR);
	const ft_nor_geometry *geo = ft_nor_part_geometry(nor);
	double sector_s = 1e-6 * ft_nor_erase_us(nor, geo->sector_size);
	double block_s = 1e-6 * ft_nor_erase_us(nor, geo->block_size);
	double page_s = 1e-6 * ft_nor_page_program_us(nor);
	long erased = r->sectors * (long)geo->sector_size;
	long blocks = (erased + geo->block_size - 1) / geo->block_size;
	long pages = (r->written + geo->page_size - 1) / geo->page_size;
	double erases = (double)blocks * block_s, program = (double)pages * page_s;
	report_ratio(t, r, erases + program);
	printf("                  floor = erase %ld x 64 KB x %.3f s (%.2f s; in %ld 4 KB sectors "
	       "%.2f s) + program %ld pages x %.0f us (%.2f s); verified %ld B\n",
	       blocks, block_s, erases, r->sectors, (double)r->sectors * sector_s, pages,
	       page_s * 1e6, program, r->verified);
}

/* Best of ROUNDS instant runs, then one real run; false when a flash failed. */
static bool measure(const bench_paths *p, const bench_target *t, unsigned *run,
                    void (*report_real)(const bench_target *, const flash_run *))
{
	flash_run best = {0}, real = {0};
	bool ok = true;
	for (unsigned i = 0; ok && i < ROUNDS; i++) {
		flash_run r;
		ok = flash_once(p, t, "instant", (*run)++, &r);
		if (ok && (i == 0 || r.seconds < best.seconds))
			best = r;
	}
	if (ok)
		report_instant(t, &best);
	fflush(stdout);
	ok = ok && flash_once(p, t, "real", (*run)++, &real);
	if (ok)
		report_real(t, &real);
	fflush(stdout);
	return ok;
}

int main(void)
{
	bench_paths p;
	if (!ft_part_find(PART) || !ft_nor_part_find(EXT_NOR) ||
	    !bench_paths_init(&p, "bench_gdb_emu", "gdb"))
		return 1;
	printf("flashtwin flash -c gdb://, 1 MiB image with verify, into flashtwin-emu --gdb (QEMU "
	       "gdbstub): internal at 0x%08X of %s (%s); external at 0x%08X of %s (%s, its "
	       "board's loader)\n",
	       FLASH_BASE, BOARD, PART, QSPI_BASE, EXT_BOARD, EXT_NOR);
	fflush(stdout);
	bench_report_load("before");
	unsigned run = 0;
	bool ok = bench_write_image(&p, IMAGE_SIZE) &&
	          measure(&p, &internal, &run, report_real_internal) &&
	          measure(&p, &external, &run, report_real_external);
	bench_report_load("after");
	bench_paths_free(&p);
	return ok ? 0 : 1;
}
