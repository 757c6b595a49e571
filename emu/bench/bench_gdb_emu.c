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
#include "conformance/proc.h"
#include "models/flash_h7.h"
#include "models/nor_flash.h"
#include "models/parts.h"

#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
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
#define READY_MS     30000u
#define FLASH_MS     600000u
#define STOP_MS      10000u
#define TARGET_MBPS  5.0
#define TARGET_RATIO 1.50

typedef struct paths {
	char emu[PATH_MAX];
	char flashtwin[PATH_MAX];
	char dir[64];
	char image[128];
} paths;

/* Where one measurement programs the image. */
typedef struct bench_target {
	const char *name; /* "internal", "external" */
	const char *board;
	uint32_t base;
} bench_target;

static const bench_target internal = {"internal", BOARD, FLASH_BASE};
static const bench_target external = {"external", EXT_BOARD, QSPI_BASE};

/* What one flash did, from flashtwin's --json result. */
typedef struct flash_run {
	double seconds; /* flashtwin's wall time, process start to exit */
	long sectors;
	long written;
	long verified;
} flash_run;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static bool write_image(const paths *p)
{
	uint8_t *bytes = malloc(IMAGE_SIZE);
	FILE *f = fopen(p->image, "wb");
	bool ok = bytes && f;
	if (ok) {
		uint32_t x = 0x2545F491u; /* xorshift32: no 0xFF flash words to skip */
		for (uint32_t i = 0; i < IMAGE_SIZE; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			bytes[i] = (uint8_t)x;
		}
		ok = fwrite(bytes, 1, IMAGE_SIZE, f) == IMAGE_SIZE;
	}
	if (f && fclose(f) != 0)
		ok = false;
	free(bytes);
	return ok;
}

/* Starts flashtwin-emu --gdb with the timing; fills url from its ready line. */
static bool start_emu(const paths *p, const bench_target *t, const char *timing, unsigned run,
                      ft_proc **emu, char *url, size_t cap)
{
	char state[160], out[160], err[160], line[512];
	snprintf(state, sizeof(state), "%s/state-%u", p->dir, run);
	snprintf(out, sizeof(out), "%s/emu-%u.out", p->dir, run);
	snprintf(err, sizeof(err), "%s/emu-%u.err", p->dir, run);
	const char *const argv[] = {p->emu,  "--board",     t->board,   "--state", state,
	                            "--gdb", "127.0.0.1:0", "--timing", timing,    NULL};
	static const char key[] = ", gdb at ";
	ft_diag diag;
	if (ft_proc_spawn(argv, out, err, emu, &diag) != FT_OK ||
	    ft_proc_wait_line(*emu, key, READY_MS, line, sizeof(line), &diag) != FT_OK) {
		fprintf(stderr, "bench_gdb_emu: flashtwin-emu: %s: %s\n", diag.origin,
		        diag.message);
		return false;
	}
	const char *at = strstr(line, key) + strlen(key);
	snprintf(url, cap, "gdb://%.*s", (int)strcspn(at, " "), at);
	return true;
}

static long json_long(json_t *obj, const char *key)
{
	return (long)json_integer_value(json_object_get(obj, key));
}

/* One flashtwin flash of the image against a new emulator; false when anything failed. The
 * external target's loader comes from its board file. */
static bool flash_once(const paths *p, const bench_target *t, const char *timing, unsigned run,
                       flash_run *r)
{
	ft_proc *emu = NULL;
	char url[128];
	if (!start_emu(p, t, timing, run, &emu, url, sizeof(url))) {
		ft_proc_stop(emu, STOP_MS, NULL, NULL);
		return false;
	}
	char target[160];
	snprintf(target, sizeof(target), "%s@0x%08X", p->image, t->base);
	bool instant = strcmp(timing, "instant") == 0;
	const char *const argv[] = {p->flashtwin, "flash",  target,
	                            "--connect",  url,      "--board",
	                            t->board,     "--json", instant ? "--no-poll-wait" : NULL,
	                            NULL};
	ft_proc_result res;
	ft_diag diag;
	bool ok = ft_proc_run(argv, NULL, FLASH_MS, &res, &diag) == FT_OK;
	int emu_status = -1;
	ft_proc_stop(emu, STOP_MS, &emu_status, NULL);
	if (!ok) {
		fprintf(stderr, "bench_gdb_emu: flashtwin: %s\n", diag.message);
		return false;
	}
	size_t len;
	const char *last = ft_proc_last_line(res.out, &len); /* the result event: the report */
	json_t *doc = json_loadb(last, len, 0, NULL);
	json_t *result = json_object_get(doc, "result");
	const char *verify = json_string_value(json_object_get(result, "verify"));
	ok = res.exit_status == 0 && emu_status == 0 && verify && strcmp(verify, "identical") == 0;
	if (!ok)
		fprintf(
		    stderr,
		    "bench_gdb_emu: flash (%s, %s) failed: flashtwin exit %d, emulator %d\n%s%s",
		    t->name, timing, res.exit_status, emu_status, res.out ? res.out : "",
		    res.err ? res.err : "");
	r->seconds = (double)res.elapsed_ns / 1e9;
	r->sectors = json_long(result, "sectors");
	r->written = json_long(result, "written_bytes");
	r->verified = json_long(result, "verified_bytes");
	json_decref(doc);
	ft_proc_result_free(&res);
	return ok;
}

static void report_load(const char *when)
{
	double load[1];
	if (getloadavg(load, 1) == 1)
		printf("host     %ld CPUs, load average %.2f (1 min) %s\n",
		       sysconf(_SC_NPROCESSORS_ONLN), load[0], when);
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
static bool measure(const paths *p, const bench_target *t, unsigned *run,
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
	paths p;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || !ft_part_find(PART) || !ft_nor_part_find(EXT_NOR))
		return 1;
	exe[n] = '\0';
	/* BUILD/bench/bench_gdb_emu -> BUILD */
	const char *build = dirname(dirname(exe));
	snprintf(p.emu, sizeof(p.emu), "%s/flashtwin-emu", build);
	snprintf(p.flashtwin, sizeof(p.flashtwin), "%s/flashtwin", build);
	snprintf(p.dir, sizeof(p.dir), "/tmp/ft-bench-gdb-XXXXXX");
	if (!mkdtemp(p.dir))
		return 1;
	snprintf(p.image, sizeof(p.image), "%s/image.bin", p.dir);
	printf("flashtwin flash -c gdb://, 1 MiB image with verify, into flashtwin-emu --gdb (QEMU "
	       "gdbstub): internal at 0x%08X of %s (%s); external at 0x%08X of %s (%s, its "
	       "board's loader)\n",
	       FLASH_BASE, BOARD, PART, QSPI_BASE, EXT_BOARD, EXT_NOR);
	fflush(stdout);
	report_load("before");
	unsigned run = 0;
	bool ok = write_image(&p) && measure(&p, &internal, &run, report_real_internal) &&
	          measure(&p, &external, &run, report_real_external);
	report_load("after");
	nftw(p.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return ok ? 0 : 1;
}
