/* The fixture the end-to-end emulator tests share: a scratch directory per test, the build tree
 * this program belongs to (build/san/tests/emu_test_x -> build/san, where flashtwin,
 * flashtwin-emu, the loaders and the firmware are), flashtwin-emu started on a fresh state in that
 * directory with its listening port read from its ready line, and the small file and output
 * checks the QEMU tests make. Included by emu/tests/test_*.c programs; every function is static,
 * so each program gets its own copy.
 */
#ifndef FT_EMU_HARNESS_H
#define FT_EMU_HARNESS_H

#include "conformance/proc.h"
#include "emu/qemu_run.h"
#include "models/error.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdint.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates /tmp/ft-NAME-XXXXXX in dir; dir[0] = '\0' when mkdtemp fails. */
static inline void emu_harness_make_dir(const char *name, char *dir, size_t cap)
{
	snprintf(dir, cap, "/tmp/ft-%s-XXXXXX", name);
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

/* Puts the build tree, this program's directory's parent, in build. */
static inline void emu_harness_build_dir(char *build, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", build, cap - 1);
	build[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(build, '/');
		if (slash)
			*slash = '\0';
	}
}

/* Both of the above. */
static inline void emu_harness_setup(const char *name, char *dir, size_t dir_cap, char *build,
                                     size_t build_cap)
{
	emu_harness_make_dir(name, dir, dir_cap);
	emu_harness_build_dir(build, build_cap);
}

static inline int emu_harness_remove_entry(const char *path, const struct stat *sb, int flag,
                                           struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Removes dir and everything in it; kept when dir is "" or FT_KEEP is set (to look at it). */
static inline void emu_harness_cleanup(const char *dir)
{
	if (dir[0] && !getenv("FT_KEEP"))
		nftw(dir, emu_harness_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Starts BUILD/flashtwin-emu --board board --state DIR/state --timing instant followed by extra
 * (NULL-terminated, at most 8 strings; NULL for none), stdout appended to DIR/STEM.out and stderr
 * to DIR/STEM.err, and waits at most wait_ms for a stdout line holding key. Returns true with
 * *emu (stop it with ft_proc_stop) and, when port is not NULL, *port the number after key in that
 * line; false with the reason on stderr (*emu is then NULL or the child to stop). */
static inline bool emu_harness_start(const char *build, const char *dir, const char *board,
                                     const char *const *extra, const char *stem, const char *key,
                                     unsigned wait_ms, ft_proc **emu, unsigned *port)
{
	char path[PATH_MAX], state[128], out[128], err[128], line[512];
	snprintf(path, sizeof(path), "%s/flashtwin-emu", build);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(out, sizeof(out), "%s/%s.out", dir, stem);
	snprintf(err, sizeof(err), "%s/%s.err", dir, stem);
	const char *argv[7 + 8 + 1] = {path,  "--board",  board,    "--state",
	                               state, "--timing", "instant"};
	size_t argc = 7;
	for (size_t i = 0; extra && extra[i]; i++) {
		if (i == 8) {
			fprintf(stderr, "\nemu_harness_start: more than 8 extra arguments\n");
			return false;
		}
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;
	ft_diag diag;
	if (ft_proc_spawn(argv, out, err, emu, &diag) != FT_OK ||
	    ft_proc_wait_line(*emu, key, wait_ms, line, sizeof(line), &diag) != FT_OK) {
		fprintf(stderr, "\nflashtwin-emu: %s: %s\n", diag.origin, diag.message);
		return false;
	}
	if (port)
		*port = (unsigned)strtoul(strstr(line, key) + strlen(key), NULL, 10);
	return true;
}

/* Writes text as the board file DIR/NAME.board, its path in board (fails the test when it cannot
 * be created). */
static inline void emu_harness_write_board(const char *dir, const char *name, const char *text,
                                           char *board, size_t cap)
{
	snprintf(board, cap, "%s/%s.board", dir, name);
	FILE *f = fopen(board, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* Reads the whole file into *bytes (malloc'd, the caller frees) and *len. Returns FT_OK,
 * FT_ERR_NOT_FOUND or FT_ERR_IO (an empty file included), diag saying which. */
static inline ft_error emu_harness_read_file(const char *path, uint8_t **bytes, size_t *len,
                                             ft_diag *diag)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, path, "cannot open");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	*bytes = size > 0 ? malloc((size_t)size) : NULL;
	ft_error err = *bytes && fread(*bytes, 1, (size_t)size, f) == (size_t)size
	                   ? FT_OK
	                   : ft_diag_set(diag, FT_ERR_IO, path, "cannot read");
	*len = err == FT_OK ? (size_t)size : 0;
	fclose(f);
	return err;
}

/* Prints err and diag on stderr unless err is FT_OK. */
static inline void emu_harness_report(ft_error err, const ft_diag *diag)
{
	if (err != FT_OK)
		fprintf(stderr, "  %s: %s: %s\n", ft_error_name(err), diag->origin, diag->message);
}

/* Asserts that the firmware's serial output holds line; prints the output when not. */
static inline void emu_harness_assert_serial(const char *out, const char *line)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "serial output has \"%s\"", line);
	bool found = strstr(out, line) != NULL;
	if (!found)
		fprintf(stderr, "  serial output:\n%s\n", out);
	CU_assertImplementation(found, __LINE__, msg, __FILE__, "", CU_FALSE);
}

/* Starts QEMU with cfg, reads its serial output into out (NUL-terminated) until it exits and
 * takes its exit status into *status (-1 when it did not get that far), each step within
 * timeout_ms. Returns FT_OK or the first ft_qemu_* error (diag says why); prints the output and
 * QEMU's stderr when it failed or exited non-zero. */
static inline ft_error emu_harness_run_qemu(const ft_qemu_config *cfg, int timeout_ms, char *out,
                                            size_t cap, int *status, ft_diag *diag)
{
	ft_qemu *q = NULL;
	*status = -1;
	ft_error err = ft_qemu_start(cfg, &q, diag);
	if (err == FT_OK)
		err = ft_qemu_read_serial(q, NULL, out, cap, NULL, timeout_ms, diag);
	if (err == FT_OK)
		err = ft_qemu_wait(q, timeout_ms, status, diag);
	if (err != FT_OK || *status != 0)
		fprintf(stderr, "  serial:\n%s\n  stderr:\n%s\n", out, q ? ft_qemu_stderr(q) : "");
	ft_qemu_free(q);
	return err;
}

#endif
