/* Cost of the board store on a 64 MiB NOR array (MX25UM51245G size): creating it erased (0xFF,
 * every byte written and fsync'd) versus zero-filled (blocks reserved, nothing written), the disk
 * space each takes, reopening and mapping an existing array, and a full sync after dirtying it. */
#include "models/store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NOR_SIZE ((size_t)64 << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int fail(const char *what, ft_error err, const ft_diag *diag)
{
	fprintf(stderr, "bench_store: %s: %s: %s: %s\n", what, ft_error_name(err), diag->origin,
	        diag->message);
	return 1;
}

/* Disk space the region file of NAME takes, in MiB. */
static double disk_mib(const char *dir, const char *name)
{
	char path[256];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	if (stat(path, &sb) != 0)
		return -1;
	return (double)sb.st_blocks * 512 / (1 << 20);
}

static int run(const char *dir)
{
	ft_store *st;
	ft_diag diag;
	uint8_t *mem;
	bool fresh;
	const double mib = (double)NOR_SIZE / (1 << 20);
	ft_error err = ft_store_open(dir, "bench", &st, &diag);
	if (err != FT_OK)
		return fail("open", err, &diag);
	static const struct {
		const char *name;
		uint8_t fill;
	} kinds[] = {{"nor_ff", 0xff}, {"nor_00", 0x00}};
	for (size_t i = 0; i < 2; i++) {
		double t0 = now_s();
		err = ft_store_map(st, kinds[i].name, NOR_SIZE, kinds[i].fill, &mem, &fresh, &diag);
		if (err != FT_OK)
			return fail("map", err, &diag);
		double t = now_s() - t0;
		printf("store create %.0f MiB fill 0x%02x: %8.1f ms  %8.0f MB/s  disk %.1f MiB\n",
		       mib, kinds[i].fill, t * 1e3, (double)NOR_SIZE / t / 1e6,
		       disk_mib(dir, kinds[i].name));
	}
	err = ft_store_close(st, &diag);
	if (err != FT_OK)
		return fail("close", err, &diag);

	double t0 = now_s();
	err = ft_store_open(dir, "bench", &st, &diag);
	if (err == FT_OK)
		err = ft_store_map(st, "nor_ff", NOR_SIZE, 0xff, &mem, &fresh, &diag);
	if (err != FT_OK)
		return fail("reopen", err, &diag);
	printf("store reopen + map existing %.0f MiB: %8.3f ms\n", mib, (now_s() - t0) * 1e3);

	t0 = now_s();
	volatile uint8_t sum = 0;
	for (size_t off = 0; off < NOR_SIZE; off += 4096)
		sum += mem[off];
	double t = now_s() - t0;
	printf("store read every page of %.0f MiB (page cache warm): %8.1f ms  %8.0f MB/s\n", mib,
	       t * 1e3, (double)NOR_SIZE / t / 1e6);

	memset(mem, 0x5a, NOR_SIZE);
	t0 = now_s();
	err = ft_store_sync(st, &diag);
	if (err != FT_OK)
		return fail("sync", err, &diag);
	t = now_s() - t0;
	printf("store sync of %.0f MiB dirty: %8.1f ms  %8.0f MB/s\n", mib, t * 1e3,
	       (double)NOR_SIZE / t / 1e6);
	err = ft_store_close(st, &diag);
	return err == FT_OK ? 0 : fail("close", err, &diag);
}

int main(void)
{
	char tmp[] = "/tmp/ft-bench-store-XXXXXX";
	if (!mkdtemp(tmp)) {
		perror("bench_store: mkdtemp");
		return 1;
	}
	char dir[64];
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	int status = run(dir);
	nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}
