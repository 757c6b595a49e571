/* Time to flash 1 MiB into an emulated STM32H743 over USB/IP: `flashtwin flash` (the binary of
 * this build tree, as a user runs it) against the DFU bootloader model on an instant clock,
 * exported by the USB/IP server on 127.0.0.1 (programmer/tests/dfu_board.h). With
 * --no-poll-wait nothing sleeps, so the figure is the cost of the software path: planning, 1024
 * DfuSe blocks of 1 KiB as control URBs over TCP, the ROM model programming 32 flash words per
 * block through the flash controller model, and the read-back. Each figure is the best of
 * ROUNDS runs, process start included. */
#include "programmer/tests/dfu_board.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IMAGE  (1u << 20)
#define ROUNDS 3
#define REV_Y  0x1003 /* STM32H743 revision Y: no bank-2 erase quirk to recover from */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs flashtwin with args (NULL-terminated, argv[0] filled here), output discarded; returns its
 * exit status or -1. */
static int run(const char *flashtwin, char **args)
{
	args[0] = (char *)flashtwin;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		execv(flashtwin, args);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Best time of ROUNDS flashes with the given extra option (or NULL). */
static double best_time(const char *flashtwin, const char *file, const char *url, const char *extra)
{
	char target[PATH_MAX + 16];
	snprintf(target, sizeof(target), "%s@0x08000000", file);
	double best = -1;
	for (int i = 0; i < ROUNDS; i++) {
		char *args[] = {NULL,        "flash",          target,        "--connect",
		                (char *)url, "--no-poll-wait", (char *)extra, NULL};
		double start = now_s();
		int status = run(flashtwin, args);
		double t = now_s() - start;
		if (status != 0) {
			fprintf(stderr, "bench_flash_dfu: flashtwin flash exited %d\n", status);
			return -1;
		}
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

static void report(const char *label, double seconds)
{
	printf("%-40s %7.3f s  %6.2f MB/s\n", label, seconds, IMAGE / seconds / 1e6);
}

int main(void)
{
	char exe[PATH_MAX], flashtwin[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	/* BUILD/bench/bench_flash_dfu -> BUILD/flashtwin */
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", dirname(dirname(exe)));
	char file[] = "/tmp/ft-bench-XXXXXX";
	int fd = mkstemp(file);
	uint8_t *image = malloc(IMAGE);
	if (fd < 0 || !image)
		return 1;
	for (uint32_t i = 0; i < IMAGE; i++)
		image[i] = (uint8_t)(i * 2654435761u >> 24);
	bool written = write(fd, image, IMAGE) == (ssize_t)IMAGE;
	close(fd);
	free(image);
	dfu_board board;
	if (!written || !dfu_board_start(&board, "STM32H743ZI", REV_Y)) {
		unlink(file);
		return 1;
	}
	double full = best_time(flashtwin, file, board.url, NULL);
	double no_verify = best_time(flashtwin, file, board.url, "--no-verify");
	dfu_board_stop(&board);
	unlink(file);
	if (full < 0 || no_verify < 0)
		return 1;
	printf("flashtwin flash, 1 MiB into an emulated STM32H743 over USB/IP (instant timing):\n");
	report("erase 8 sectors + download + verify", full);
	report("erase 8 sectors + download (--no-verify)", no_verify);
	return 0;
}
