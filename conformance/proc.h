/* Child processes for the conformance runner: the `flashtwin` and `flashtwin-emu` binaries run
 * exactly as a user runs them.
 *
 * Two shapes:
 *   - ft_proc_run: run to completion with a deadline, capturing stdout and stderr in memory;
 *   - ft_proc_spawn: start a long-running child (an emulator) whose stdout and stderr go to
 *     files, wait for a line of its stdout, stop it.
 *
 * Every descriptor the parent opens is close-on-exec, so children started concurrently from
 * several runner threads never inherit each other's pipes. Safe to call from several threads at
 * once (each call owns its descriptors and children). Library code: never prints or exits.
 */
#ifndef FT_PROC_H
#define FT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "models/error.h"

/* What a finished child left. out/err are NUL-terminated heap copies of its stdout and stderr
 * (each at most FT_PROC_MAX_OUTPUT bytes; the rest is read and dropped, truncated says so). */
typedef struct ft_proc_result {
	int exit_status; /* 0..255; 128 + N when killed by signal N */
	bool timed_out;  /* the deadline passed and the child was killed (SIGKILL) */
	bool truncated;  /* an output went past FT_PROC_MAX_OUTPUT */
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
	uint64_t elapsed_ns; /* from spawn to reaping, CLOCK_MONOTONIC */
} ft_proc_result;

#define FT_PROC_MAX_OUTPUT (8u << 20)

/* Runs argv (argv[0] is a path, or a name looked up in PATH; NULL-terminated) in cwd (NULL: the
 * caller's), with stdin from /dev/null, and waits at most timeout_ms for it to exit. Returns
 * FT_OK with *res filled, also when the child failed or timed out (res says so); FT_ERR_IO when
 * the child could not be started (diag names argv[0] and the reason; *res is then zeroed, its
 * exit_status 127); FT_ERR_NO_MEM; FT_ERR_INVALID_ARG for NULL arguments or timeout_ms 0. Free
 * *res with ft_proc_result_free. */
ft_error ft_proc_run(const char *const *argv, const char *cwd, unsigned timeout_ms,
                     ft_proc_result *res, ft_diag *diag);

/* Frees out and err; res may be NULL. */
void ft_proc_result_free(ft_proc_result *res);

/* The last line of text (a child's stdout or stderr), trailing newlines ignored: returns where
 * it starts in text and sets *len to its length without the newline; "" (length 0) when text is
 * NULL or holds no line. */
const char *ft_proc_last_line(const char *text, size_t *len);

typedef struct ft_proc ft_proc;

/* Starts argv (as ft_proc_run) with stdout appended to out_path and stderr to err_path (both
 * created when missing). Returns FT_OK and *out, FT_ERR_IO (cannot create the files or start the
 * child), FT_ERR_NO_MEM or FT_ERR_INVALID_ARG; diag says which. */
ft_error ft_proc_spawn(const char *const *argv, const char *out_path, const char *err_path,
                       ft_proc **out, ft_diag *diag);

/* The child's process ID. */
pid_t ft_proc_pid(const ft_proc *p);

/* Waits at most timeout_ms for the child's stdout file to hold a line containing needle and
 * copies that line (without its newline, cut to cap - 1 bytes) into line. Returns FT_OK;
 * FT_ERR_TIMEOUT; FT_ERR_STATE when the child exited first (diag gives its exit status);
 * FT_ERR_IO when the file cannot be read. */
ft_error ft_proc_wait_line(ft_proc *p, const char *needle, unsigned timeout_ms, char *line,
                           size_t cap, ft_diag *diag);

/* Stops the child: SIGTERM, up to grace_ms for it to exit, then SIGKILL; reaps it and frees p.
 * *exit_status (may be NULL) gets its status as in ft_proc_result (128 + N for signal N). A child
 * that already exited is only reaped. Returns FT_OK, or FT_ERR_IO when waitpid fails. NULL p is
 * FT_OK. */
ft_error ft_proc_stop(ft_proc *p, unsigned grace_ms, int *exit_status, ft_diag *diag);

#endif
