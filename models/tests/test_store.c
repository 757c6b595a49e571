/* The board store: regions created erased and kept across opens, one process per store, a
 * directory that reopens consistently after a process is killed anywhere, refused inputs. */
#include "models/error.h"
#include "models/store.h"
#include "models/tests/ft_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOARD "nucleo-h743zi2"
#define KIB   1024u

/* Fixture: a fresh temporary directory per test; the store lives in its subdirectory "state",
 * which does not exist at the start. When mkdtemp fails, g_dir stays empty and every open of the
 * test fails with FT_ERR_INVALID_ARG. */
static char g_tmp[64];
static char g_dir[128];

static void fixture_setup(void)
{
	g_dir[0] = '\0';
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/ft-store-XXXXXX");
	if (mkdtemp(g_tmp))
		snprintf(g_dir, sizeof(g_dir), "%s/state", g_tmp);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void fixture_teardown(void)
{
	if (g_dir[0])
		remove_tree(g_tmp);
}

static ft_store *open_ok(const char *board)
{
	ft_store *st = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_store_open(g_dir, board, &st, &diag);
	if (err != FT_OK)
		fprintf(stderr, "\nft_store_open: %s: %s: %s\n", ft_error_name(err), diag.origin,
		        diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	return st;
}

static uint8_t *map_ok(ft_store *st, const char *name, size_t size, uint8_t fill, bool fresh)
{
	uint8_t *mem = NULL;
	bool was_fresh = !fresh;
	ft_diag diag;
	ft_error err = ft_store_map(st, name, size, fill, &mem, &was_fresh, &diag);
	if (err != FT_OK)
		fprintf(stderr, "\nft_store_map %s: %s: %s\n", name, diag.origin, diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	FT_ASSERT_HEX(was_fresh, fresh);
	return mem;
}

static void assert_filled(const uint8_t *mem, size_t size, uint8_t fill)
{
	uint8_t *expected = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expected);
	memset(expected, fill, size);
	FT_ASSERT_BYTES(mem, expected, size);
	free(expected);
}

static void store_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", g_dir, file);
}

static void write_file(const char *file, const char *text)
{
	char path[256];
	store_path(path, sizeof(path), file);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static bool file_exists(const char *file)
{
	char path[256];
	store_path(path, sizeof(path), file);
	return access(path, F_OK) == 0;
}

/* Counts entries of the store directory whose name starts with PREFIX (when not NULL) and ends
 * with SUFFIX (when not NULL). */
static unsigned count_entries(const char *prefix, const char *suffix)
{
	DIR *d = opendir(g_dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		bool pre = !prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0;
		bool suf = !suffix || (len >= strlen(suffix) &&
		                       strcmp(e->d_name + len - strlen(suffix), suffix) == 0);
		n += pre && suf;
	}
	closedir(d);
	return n;
}

/* Opens the store and expects CODE with the diagnostic's origin and message containing the
 * given texts (NULL: not checked). */
static void expect_open_error(const char *board, ft_error code, const char *origin_has,
                              const char *message_has)
{
	ft_store *st = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	FT_ASSERT_HEX(ft_store_open(g_dir, board, &st, &diag), code);
	FT_ASSERT_HEX(diag.code, code);
	CU_ASSERT_PTR_NULL(st);
	if (origin_has && !strstr(diag.origin, origin_has))
		CU_FAIL("diagnostic origin lacks the expected text");
	if (message_has && !strstr(diag.message, message_has))
		CU_FAIL("diagnostic message lacks the expected text");
	ft_store_close(st, NULL);
}

static void test_first_open_creates_directory_and_erased_regions(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(file_exists("manifest"));
	uint8_t *flash = map_ok(st, "flash", 128 * KIB, 0xff, true);
	assert_filled(flash, 128 * KIB, 0xff);
	uint8_t *ecc = map_ok(st, "flash-ecc", 4 * KIB, 0x00, true);
	assert_filled(ecc, 4 * KIB, 0x00);
	const uint8_t factory[8] = {0xf0, 0xaa, 0xc6, 0x1a, 0x00, 0xff, 0x01, 0x80};
	uint8_t *ob = NULL;
	bool fresh = false;
	FT_ASSERT_HEX(
	    ft_store_map_image(st, "option_bytes", sizeof(factory), factory, &ob, &fresh, NULL),
	    FT_OK);
	CU_ASSERT(fresh);
	FT_ASSERT_BYTES(ob, factory, sizeof(factory));
	FT_ASSERT_HEX(ft_store_close(st, NULL), FT_OK);
}

static void test_reopen_keeps_bytes_and_is_not_fresh(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t *flash = map_ok(st, "flash", 64 * KIB, 0xff, true);
	uint8_t pattern[64 * KIB];
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
	memcpy(flash, pattern, sizeof(pattern));
	FT_ASSERT_HEX(ft_store_sync(st, NULL), FT_OK);
	FT_ASSERT_HEX(ft_store_close(st, NULL), FT_OK);

	st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	flash = map_ok(st, "flash", 64 * KIB, 0xff, false);
	FT_ASSERT_BYTES(flash, pattern, sizeof(pattern));
	FT_ASSERT_HEX(ft_store_close(st, NULL), FT_OK);
}

static void test_second_map_in_one_session_returns_same_memory(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t *first = map_ok(st, "nor0", 8 * KIB, 0xff, true);
	first[3] = 0x5a;
	uint8_t *second = map_ok(st, "nor0", 8 * KIB, 0x00, false);
	CU_ASSERT_PTR_EQUAL(second, first);
	FT_ASSERT_HEX(second[3], 0x5a);
	FT_ASSERT_HEX(second[4], 0xff);
	ft_store_close(st, NULL);
}

static void test_region_size_mismatch_is_refused(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	map_ok(st, "flash", 16 * KIB, 0xff, true);
	uint8_t *mem = NULL;
	bool fresh = false;
	ft_diag diag;
	FT_ASSERT_HEX(ft_store_map(st, "flash", 32 * KIB, 0xff, &mem, &fresh, &diag),
	              FT_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(mem);
	ft_store_close(st, NULL);

	st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	FT_ASSERT_HEX(ft_store_map(st, "flash", 8 * KIB, 0xff, &mem, &fresh, &diag), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "16384"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "8192"));
	/* The region was neither truncated nor extended. */
	struct stat sb;
	char path[256];
	store_path(path, sizeof(path), "flash.bin");
	FT_ASSERT_HEX(stat(path, &sb), 0);
	FT_ASSERT_HEX(sb.st_size, 16 * KIB);
	ft_store_close(st, NULL);
}

static void test_other_board_is_refused(void)
{
	ft_store_close(open_ok(BOARD), NULL);
	expect_open_error("nucleo-h723zg", FT_ERR_STATE, g_dir, "nucleo-h743zi2");
	expect_open_error("nucleo-h723zg", FT_ERR_STATE, NULL, "nucleo-h723zg");
}

static void test_other_store_version_is_refused(void)
{
	ft_store_close(open_ok(BOARD), NULL);
	write_file("manifest", "flashtwin-store 2\nboard " BOARD "\nend\n");
	expect_open_error(BOARD, FT_ERR_UNSUPPORTED, "manifest line 1", "version 2");
}

/* Forks a child that tries to open the store and reports the result through a pipe. */
static ft_error open_in_child(ft_diag *diag)
{
	int fds[2];
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		ft_store *st = NULL;
		ft_diag d;
		ft_diag_clear(&d);
		d.code = ft_store_open(g_dir, BOARD, &st, &d);
		ft_store_close(st, NULL);
		_exit(write(fds[1], &d, sizeof(d)) == (ssize_t)sizeof(d) ? 0 : 1);
	}
	close(fds[1]);
	ft_diag_clear(diag);
	ssize_t n = read(fds[0], diag, sizeof(*diag));
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	FT_ASSERT_HEX(n, sizeof(*diag));
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return diag->code;
}

static void test_open_in_another_process_is_busy(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	ft_diag diag;
	FT_ASSERT_HEX(open_in_child(&diag), FT_ERR_BUSY);
	char pid[32];
	snprintf(pid, sizeof(pid), "process %ld", (long)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, g_dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, pid));
	ft_store_close(st, NULL);
	FT_ASSERT_HEX(open_in_child(&diag), FT_OK);
}

static void test_second_open_in_same_process_is_busy(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	expect_open_error(BOARD, FT_ERR_BUSY, g_dir, g_dir);
	ft_store_close(st, NULL);
	ft_store_close(open_ok(BOARD), NULL);
}

static void test_killed_holder_does_not_block(void)
{
	int fds[2];
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		ft_store *st = NULL;
		if (ft_store_open(g_dir, BOARD, &st, NULL) != FT_OK)
			_exit(1);
		char ok = 'o';
		if (write(fds[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	char ok = 0;
	FT_ASSERT_HEX(read(fds[0], &ok, 1), 1);
	close(fds[0]);
	char holder[32];
	snprintf(holder, sizeof(holder), "process %ld", (long)pid);
	expect_open_error(BOARD, FT_ERR_BUSY, NULL, holder);
	kill(pid, SIGKILL);
	int status = 0;
	FT_ASSERT_HEX(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The dead holder's PID is still in the lock file; flock went with the process. */
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL(st);
	ft_store_close(st, NULL);
}

/* The kill test's regions: sizes 4 KiB to 228 KiB, each with its own fill byte. */
#define KILL_RUNS    24
#define KILL_REGIONS 12

static size_t kill_region_size(unsigned i)
{
	return 4 * KIB * (1 + 5 * i);
}

static void kill_region_name(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "r%02u", i);
}

/* The child: opens the store and creates the regions, one byte on the pipe after the open and
 * after each region. */
static void kill_child(int out)
{
	ft_store *st = NULL;
	if (ft_store_open(g_dir, BOARD, &st, NULL) != FT_OK)
		_exit(1);
	char tick = 't';
	if (write(out, &tick, 1) != 1)
		_exit(1);
	for (unsigned i = 0; i < KILL_REGIONS; i++) {
		char name[8];
		uint8_t *mem;
		bool fresh;
		kill_region_name(name, sizeof(name), i);
		if (ft_store_map(st, name, kill_region_size(i), (uint8_t)(0xa0 + i), &mem, &fresh,
		                 NULL) != FT_OK ||
		    write(out, &tick, 1) != 1)
			_exit(1);
	}
	ft_store_close(st, NULL);
	_exit(0);
}

/* Reopens after a kill: no temporary is left, every region file is one the manifest names, and
 * every region is either absent (created now, fresh) or complete with its fill. Returns the
 * number of regions the killed child had completed. */
static unsigned check_after_kill(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	FT_ASSERT_HEX(count_entries(".tmp-", NULL), 0);
	unsigned files = count_entries(NULL, ".bin"), complete = 0;
	for (unsigned i = 0; i < KILL_REGIONS; i++) {
		char name[8];
		uint8_t *mem = NULL;
		bool fresh = false;
		kill_region_name(name, sizeof(name), i);
		FT_ASSERT_HEX(ft_store_map(st, name, kill_region_size(i), (uint8_t)(0xa0 + i), &mem,
		                           &fresh, NULL),
		              FT_OK);
		if (!mem)
			break;
		complete += !fresh;
		assert_filled(mem, kill_region_size(i), (uint8_t)(0xa0 + i));
	}
	FT_ASSERT_HEX(files, complete);
	ft_store_close(st, NULL);
	return complete;
}

static void test_kill_at_any_point_leaves_consistent_store(void)
{
	/* Kill points: after the child reported k of its KILL_REGIONS + 1 steps, plus a
	 * pseudo-random delay below the time one region takes to create (a few fsyncs), so kills
	 * land before, inside and after the open and every region creation. Fixed seed:
	 * reproducible order. */
	unsigned seed = 0x5eed;
	unsigned partial = 0;
	for (unsigned run = 0; run < KILL_RUNS; run++) {
		int fds[2];
		CU_ASSERT_FATAL(pipe(fds) == 0);
		unsigned steps = (unsigned)rand_r(&seed) % (KILL_REGIONS + 2);
		long delay_ns = (long)(rand_r(&seed) % 1000) * 1000;
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			kill_child(fds[1]);
		}
		close(fds[1]);
		char tick;
		for (unsigned i = 0; i < steps && read(fds[0], &tick, 1) == 1; i++)
			;
		struct timespec pause_ts = {0, delay_ns};
		nanosleep(&pause_ts, NULL);
		kill(pid, SIGKILL);
		close(fds[0]);
		int status = 0;
		FT_ASSERT_HEX(waitpid(pid, &status, 0), pid);
		/* A child that finished first must have succeeded. */
		CU_ASSERT(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
		unsigned complete = check_after_kill();
		partial += complete > 0 && complete < KILL_REGIONS;
		/* Two runs in three start from nothing; the third reopens a complete store. */
		if (run % 3 != 2)
			remove_tree(g_dir);
	}
	CU_ASSERT(partial > 0);
}

static void test_leftovers_of_killed_creation_are_removed(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	map_ok(st, "flash", 4 * KIB, 0xff, true);
	ft_store_close(st, NULL);
	write_file(".tmp-nor0.bin", "half");
	write_file(".tmp-manifest", "flashtwin-store 1\nbo");
	write_file("nor0.bin", "complete but never in the manifest");
	write_file("notes.txt", "not ours");

	st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(!file_exists(".tmp-nor0.bin"));
	CU_ASSERT(!file_exists(".tmp-manifest"));
	CU_ASSERT(!file_exists("nor0.bin"));
	CU_ASSERT(file_exists("notes.txt"));
	CU_ASSERT(file_exists("flash.bin"));
	assert_filled(map_ok(st, "nor0", 4 * KIB, 0xff, true), 4 * KIB, 0xff);
	ft_store_close(st, NULL);
}

static void test_invalid_region_names_are_refused(void)
{
	char longest[65], too_long[66];
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'n', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	const char *const bad[] = {
	    "", "Flash", "a/b", "..", ".tmp-x", "a b", "nor0.bin", "\xc3\xa9", too_long,
	};
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *mem = NULL;
		bool fresh = false;
		ft_diag diag;
		FT_ASSERT_HEX(ft_store_map(st, bad[i], 4 * KIB, 0xff, &mem, &fresh, &diag),
		              FT_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NULL(mem);
	}
	FT_ASSERT_HEX(count_entries(NULL, ".bin"), 0);
	map_ok(st, longest, 1, 0, true);
	map_ok(st, "a-b_9", 1, 0, true);
	ft_store_close(st, NULL);
}

static void test_invalid_sizes_are_refused(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	uint8_t *mem = NULL;
	bool fresh = false;
	FT_ASSERT_HEX(ft_store_map(st, "zero", 0, 0xff, &mem, &fresh, NULL), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_store_map(st, "huge", ((size_t)1 << 30) + 1, 0xff, &mem, &fresh, NULL),
	              FT_ERR_RANGE);
	CU_ASSERT_PTR_NULL(mem);
	FT_ASSERT_HEX(count_entries(NULL, ".bin"), 0);
	/* The bound itself is allowed; fill 0 only reserves blocks, it writes no data. */
	mem = map_ok(st, "max", (size_t)1 << 30, 0x00, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	FT_ASSERT_HEX(mem[((size_t)1 << 30) - 1], 0);
	ft_store_close(st, NULL);
}

static void test_region_count_is_bounded(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	char name[8];
	for (unsigned i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		map_ok(st, name, 1, 0xff, true);
	}
	uint8_t *mem = NULL;
	bool fresh = false;
	FT_ASSERT_HEX(ft_store_map(st, "one-more", 1, 0xff, &mem, &fresh, NULL), FT_ERR_RANGE);
	ft_store_close(st, NULL);
	st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL(st);
	ft_store_close(st, NULL);
}

static void test_missing_manifest_is_reported(void)
{
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	map_ok(st, "flash", 4 * KIB, 0xff, true);
	ft_store_close(st, NULL);
	char path[256];
	store_path(path, sizeof(path), "manifest");
	FT_ASSERT_HEX(unlink(path), 0);
	expect_open_error(BOARD, FT_ERR_FORMAT, "manifest", "manifest was lost");
	CU_ASSERT(file_exists("flash.bin"));
}

static void test_corrupt_manifest_is_reported(void)
{
	static const struct {
		const char *text;
		const char *origin;
	} cases[] = {
	    {"garbage\n", "manifest line 1"},
	    {"", "manifest line 1"},
	    {"flashtwin-store 1\nboard " BOARD "\n", "manifest line 3"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 4096\nend", "manifest line 4"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 4x96\nend\n", "manifest line 3"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 0\nend\n", "manifest line 3"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash  4096\nend\n", "manifest line 3"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 4096\nregion flash 4096\nend\n",
	     "manifest line 4"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 4096\nend\nmore\n",
	     "manifest line 4"},
	    {"flashtwin-store x\nboard " BOARD "\nend\n", "manifest line 1"},
	    {"flashtwin-store 1\nboard\nend\n", "manifest line 2"},
	    /* Well formed, but region nor0 has no file / flash has the wrong size. */
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 4096\nregion nor0 4096\nend\n",
	     "nor0.bin"},
	    {"flashtwin-store 1\nboard " BOARD "\nregion flash 8192\nend\n", "flash.bin"},
	};
	ft_store *st = open_ok(BOARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	map_ok(st, "flash", 4 * KIB, 0xff, true);
	ft_store_close(st, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("manifest", cases[i].text);
		expect_open_error(BOARD, FT_ERR_FORMAT, cases[i].origin, NULL);
	}
	/* A NUL byte. */
	char path[256];
	store_path(path, sizeof(path), "manifest");
	int fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	FT_ASSERT_HEX(write(fd, "flashtwin-store 1\n\0", 19), 19);
	close(fd);
	expect_open_error(BOARD, FT_ERR_FORMAT, "manifest", "NUL");
}

static void test_bad_directories_are_refused(void)
{
	char path[PATH_MAX + 8];
	ft_store *st = NULL;
	ft_diag diag;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[PATH_MAX] = '\0';
	FT_ASSERT_HEX(ft_store_open(path, BOARD, &st, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "too long"));
	FT_ASSERT_HEX(ft_store_open("", BOARD, &st, NULL), FT_ERR_INVALID_ARG);
	/* Short enough as a path, but one component is beyond NAME_MAX (255 on ext4). */
	int n = snprintf(path, sizeof(path), "%s/", g_tmp);
	memset(path + n, 'c', 300);
	path[n + 300] = '\0';
	FT_ASSERT_HEX(ft_store_open(path, BOARD, &st, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "too long"));

	snprintf(path, sizeof(path), "%s/missing/state", g_tmp);
	FT_ASSERT_HEX(ft_store_open(path, BOARD, &st, &diag), FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.origin, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "parent"));

	snprintf(path, sizeof(path), "%s/file", g_tmp);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	FT_ASSERT_HEX(ft_store_open(path, BOARD, &st, NULL), FT_ERR_INVALID_ARG);

	/* A directory with someone's files and no manifest is not taken over, and gets no lock. */
	FT_ASSERT_HEX(ft_store_open(g_tmp, BOARD, &st, &diag), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "not a flashtwin store"));
	snprintf(path, sizeof(path), "%s/lock", g_tmp);
	CU_ASSERT(access(path, F_OK) != 0);
	CU_ASSERT_PTR_NULL(st);
}

static void test_invalid_board_names_are_refused(void)
{
	ft_store *st = NULL;
	FT_ASSERT_HEX(ft_store_open(g_dir, "", &st, NULL), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_store_open(g_dir, "board\nregion x 1", &st, NULL), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_store_open(g_dir, "a b", &st, NULL), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT(access(g_dir, F_OK) != 0);
	ft_store_close(open_ok("NUCLEO-H7A3ZI-Q.rev2"), NULL);
}

static CU_TestInfo tests[] = {
    {"first_open_creates_directory_and_erased_regions",
     test_first_open_creates_directory_and_erased_regions},
    {"reopen_keeps_bytes_and_is_not_fresh", test_reopen_keeps_bytes_and_is_not_fresh},
    {"second_map_in_one_session_returns_same_memory",
     test_second_map_in_one_session_returns_same_memory},
    {"region_size_mismatch_is_refused", test_region_size_mismatch_is_refused},
    {"other_board_is_refused", test_other_board_is_refused},
    {"other_store_version_is_refused", test_other_store_version_is_refused},
    {"open_in_another_process_is_busy", test_open_in_another_process_is_busy},
    {"second_open_in_same_process_is_busy", test_second_open_in_same_process_is_busy},
    {"killed_holder_does_not_block", test_killed_holder_does_not_block},
    {"kill_at_any_point_leaves_consistent_store", test_kill_at_any_point_leaves_consistent_store},
    {"leftovers_of_killed_creation_are_removed", test_leftovers_of_killed_creation_are_removed},
    {"invalid_region_names_are_refused", test_invalid_region_names_are_refused},
    {"invalid_sizes_are_refused", test_invalid_sizes_are_refused},
    {"region_count_is_bounded", test_region_count_is_bounded},
    {"missing_manifest_is_reported", test_missing_manifest_is_reported},
    {"corrupt_manifest_is_reported", test_corrupt_manifest_is_reported},
    {"bad_directories_are_refused", test_bad_directories_are_refused},
    {"invalid_board_names_are_refused", test_invalid_board_names_are_refused},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"store", NULL, NULL, fixture_setup, fixture_teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
