/* What the end-to-end emulator benchmarks share: the binaries of this build tree, a scratch
 * directory with a pseudo-random image, flashtwin-emu started on a fresh state per run, and one
 * `flashtwin flash --json` against it read back from its result event. Included by the
 * emu/bench/bench_*_emu.c programs; every function is static. Messages go to stderr prefixed
 * with the benchmark's name.
 */
#ifndef FT_BENCH_HARNESS_H
#define FT_BENCH_HARNESS_H

#include "conformance/proc.h"

#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_READY_MS 30000u
#define BENCH_FLASH_MS 600000u /* a real-time flash: about half a minute expected */
#define BENCH_STOP_MS  10000u

typedef struct bench_paths {
	const char *name; /* the benchmark's, for messages */
	char emu[PATH_MAX];
	char flashtwin[PATH_MAX];
	char dir[64];
	char image[128];
	uint8_t *bytes; /* the image (bench_write_image), or NULL */
} bench_paths;

/* What one flash did, from flashtwin's --json result event. */
typedef struct flash_run {
	double seconds; /* flashtwin's wall time, process start to exit */
	long sectors;
	long written;
	long verified;
} flash_run;

/* Finds the binaries beside this program's directory (BUILD/bench/x -> BUILD) and creates
 * /tmp/ft-bench-SHORT-XXXXXX; false when either fails. */
static inline bool bench_paths_init(bench_paths *p, const char *name, const char *short_name)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	const char *build = dirname(dirname(exe));
	snprintf(p->emu, sizeof(p->emu), "%s/flashtwin-emu", build);
	snprintf(p->flashtwin, sizeof(p->flashtwin), "%s/flashtwin", build);
	snprintf(p->dir, sizeof(p->dir), "/tmp/ft-bench-%s-XXXXXX", short_name);
	if (!mkdtemp(p->dir))
		return false;
	snprintf(p->image, sizeof(p->image), "%s/image.bin", p->dir);
	return true;
}

static inline int bench_remove_entry(const char *path, const struct stat *sb, int flag,
                                     struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Frees the image and removes the scratch directory. */
static inline void bench_paths_free(bench_paths *p)
{
	free(p->bytes);
	p->bytes = NULL;
	nftw(p->dir, bench_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fills p->bytes with size pseudo-random bytes (xorshift32: incompressible, no 0xFF flash words
 * to skip) and writes them to p->image. */
static inline bool bench_write_image(bench_paths *p, size_t size)
{
	p->bytes = malloc(size);
	FILE *f = fopen(p->image, "wb");
	bool ok = p->bytes && f;
	if (ok) {
		uint32_t x = 0x2545F491u;
		for (size_t i = 0; i < size; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p->bytes[i] = (uint8_t)x;
		}
		ok = fwrite(p->bytes, 1, size, f) == size;
	}
	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

/* Starts flashtwin-emu --board board --state DIR/state-RUN followed by extra (NULL-terminated, at
 * most 12 strings), output in DIR/emu-RUN.out/.err, and waits for a stdout line holding key,
 * copied into line. False with the reason on stderr (*emu is then NULL or the child to stop). */
static inline bool bench_start_emu(const bench_paths *p, const char *board, unsigned run,
                                   const char *const *extra, const char *key, ft_proc **emu,
                                   char *line, size_t cap)
{
	char state[160], out[160], err[160];
	snprintf(state, sizeof(state), "%s/state-%u", p->dir, run);
	snprintf(out, sizeof(out), "%s/emu-%u.out", p->dir, run);
	snprintf(err, sizeof(err), "%s/emu-%u.err", p->dir, run);
	const char *argv[5 + 12 + 1] = {p->emu, "--board", board, "--state", state};
	size_t argc = 5;
	for (size_t i = 0; extra[i]; i++) {
		if (i == 12)
			return false;
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;
	ft_diag diag;
	if (ft_proc_spawn(argv, out, err, emu, &diag) != FT_OK ||
	    ft_proc_wait_line(*emu, key, BENCH_READY_MS, line, cap, &diag) != FT_OK) {
		fprintf(stderr, "%s: flashtwin-emu: %s: %s\n", p->name, diag.origin, diag.message);
		return false;
	}
	return true;
}

static inline long bench_json_long(json_t *obj, const char *key)
{
	return (long)json_integer_value(json_object_get(obj, key));
}

/* Runs `flashtwin flash IMAGE@base --connect url --board board --json` (with --no-poll-wait when
 * instant), then stops emu; *r from the result event. True when both exited 0 and the verify was
 * identical; false with flashtwin's output on stderr, label naming the run. */
static inline bool bench_flash(const bench_paths *p, ft_proc *emu, const char *url,
                               const char *board, uint32_t base, bool instant, const char *label,
                               flash_run *r)
{
	char target[160];
	snprintf(target, sizeof(target), "%s@0x%08X", p->image, base);
	const char *const argv[] = {p->flashtwin, "flash",  target,
	                            "--connect",  url,      "--board",
	                            board,        "--json", instant ? "--no-poll-wait" : NULL,
	                            NULL};
	ft_proc_result res;
	ft_diag diag;
	bool ok = ft_proc_run(argv, NULL, BENCH_FLASH_MS, &res, &diag) == FT_OK;
	int emu_status = -1;
	ft_proc_stop(emu, BENCH_STOP_MS, &emu_status, NULL);
	if (!ok) {
		fprintf(stderr, "%s: flashtwin: %s\n", p->name, diag.message);
		return false;
	}
	size_t len;
	const char *last = ft_proc_last_line(res.out, &len); /* the result event: the report */
	json_t *doc = json_loadb(last, len, 0, NULL);
	json_t *result = json_object_get(doc, "result");
	const char *verify = json_string_value(json_object_get(result, "verify"));
	ok = res.exit_status == 0 && emu_status == 0 && verify && strcmp(verify, "identical") == 0;
	if (!ok)
		fprintf(stderr, "%s: flash (%s) failed: flashtwin exit %d, emulator %d\n%s%s",
		        p->name, label, res.exit_status, emu_status, res.out ? res.out : "",
		        res.err ? res.err : "");
	r->seconds = (double)res.elapsed_ns / 1e9;
	r->sectors = bench_json_long(result, "sectors");
	r->written = bench_json_long(result, "written_bytes");
	r->verified = bench_json_long(result, "verified_bytes");
	json_decref(doc);
	ft_proc_result_free(&res);
	return ok;
}

/* Prints the host's CPU count and 1-minute load average, when (before/after) the runs. */
static inline void bench_report_load(const char *when)
{
	double load[1];
	if (getloadavg(load, 1) == 1)
		printf("host     %ld CPUs, load average %.2f (1 min) %s\n",
		       sysconf(_SC_NPROCESSORS_ONLN), load[0], when);
}

#endif
