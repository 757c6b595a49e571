/* Child processes: posix_spawn with close-on-exec pipes, a poll loop against a deadline. */
#include "conformance/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct ft_proc {
	pid_t pid;
	char *out_path;
	bool reaped;
	int status;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* A growing output buffer, capped at FT_PROC_MAX_OUTPUT. */
typedef struct sink {
	char *buf;
	size_t len, cap;
	bool truncated;
	bool failed; /* out of memory */
} sink;

static void sink_add(sink *s, const char *data, size_t n)
{
	if (s->len + n > FT_PROC_MAX_OUTPUT) {
		s->truncated = true;
		n = FT_PROC_MAX_OUTPUT - s->len;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *grown = realloc(s->buf, cap);
		if (!grown) {
			s->failed = true;
			return;
		}
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static ft_error spawn(const char *const *argv, const char *cwd, int in_fd, int out_fd, int err_fd,
                      pid_t *pid, ft_diag *diag)
{
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return ft_diag_set(diag, FT_ERR_NO_MEM, argv[0], "cannot set up the child");
	posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	int rc = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return ft_diag_set(diag, FT_ERR_IO, argv[0], "cannot start: %s", strerror(rc));
	return FT_OK;
}

static int open_devnull(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

ft_error ft_proc_run(const char *const *argv, const char *cwd, unsigned timeout_ms,
                     ft_proc_result *res, ft_diag *diag)
{
	if (!argv || !argv[0] || !res || timeout_ms == 0)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_proc_run: bad arguments");
	memset(res, 0, sizeof(*res));
	res->exit_status = 127;
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	int in_fd = open_devnull();
	if (in_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		ft_error e = ft_diag_set(diag, FT_ERR_IO, argv[0], "cannot create pipes: %s",
		                         strerror(errno));
		int fds[] = {in_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]};
		for (size_t i = 0; i < 5; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return e;
	}
	uint64_t start = now_ns();
	pid_t pid;
	ft_error err = spawn(argv, cwd, in_fd, out_pipe[1], err_pipe[1], &pid, diag);
	close(in_fd);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (err != FT_OK) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		return err;
	}
	sink sinks[2] = {{0}, {0}};
	struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000u;
	int open_count = 2;
	while (open_count > 0) {
		uint64_t now = now_ns();
		if (now >= deadline) {
			res->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		int wait_ms = (int)((deadline - now + 999999u) / 1000000u);
		int n = poll(fds, 2, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[16384];
			ssize_t got = read(fds[i].fd, buf, sizeof(buf));
			if (got > 0) {
				sink_add(&sinks[i], buf, (size_t)got);
			} else if (got == 0 || errno != EINTR) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_count--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->elapsed_ns = now_ns() - start;
	res->exit_status = decode_status(status);
	res->truncated = sinks[0].truncated || sinks[1].truncated;
	char *texts[2];
	for (int i = 0; i < 2; i++) {
		texts[i] = sinks[i].buf ? sinks[i].buf : calloc(1, 1);
		if (sinks[i].failed || !texts[i]) {
			free(sinks[0].buf);
			free(sinks[1].buf);
			if (!sinks[i].buf)
				free(texts[i]);
			memset(res, 0, sizeof(*res));
			return ft_diag_set(diag, FT_ERR_NO_MEM, argv[0],
			                   "out of memory for its output");
		}
	}
	res->out = texts[0];
	res->out_len = sinks[0].len;
	res->err = texts[1];
	res->err_len = sinks[1].len;
	return FT_OK;
}

void ft_proc_result_free(ft_proc_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
}

const char *ft_proc_last_line(const char *text, size_t *len)
{
	if (!text)
		text = "";
	size_t end = strlen(text);
	while (end > 0 && text[end - 1] == '\n')
		end--;
	size_t start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	*len = end - start;
	return text + start;
}

ft_error ft_proc_spawn(const char *const *argv, const char *out_path, const char *err_path,
                       ft_proc **out, ft_diag *diag)
{
	if (!argv || !argv[0] || !out_path || !err_path || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_proc_spawn: bad arguments");
	*out = NULL;
	ft_proc *p = calloc(1, sizeof(*p));
	char *path = strdup(out_path);
	if (!p || !path) {
		free(p);
		free(path);
		return ft_diag_set(diag, FT_ERR_NO_MEM, argv[0], "out of memory");
	}
	p->out_path = path;
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	int in_fd = open_devnull();
	int out_fd = open(out_path, flags, 0644);
	int err_fd = open(err_path, flags, 0644);
	ft_error err = FT_OK;
	if (in_fd < 0 || out_fd < 0 || err_fd < 0)
		err = ft_diag_set(diag, FT_ERR_IO, out_fd < 0 ? out_path : err_path,
		                  "cannot open for the child's output: %s", strerror(errno));
	else
		err = spawn(argv, NULL, in_fd, out_fd, err_fd, &p->pid, diag);
	int fds[] = {in_fd, out_fd, err_fd};
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (err != FT_OK) {
		free(p->out_path);
		free(p);
		return err;
	}
	*out = p;
	return FT_OK;
}

pid_t ft_proc_pid(const ft_proc *p)
{
	return p->pid;
}

/* Reaps the child if it has exited; true when it has. */
static bool reap(ft_proc *p)
{
	if (p->reaped)
		return true;
	int status;
	pid_t r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid) {
		p->reaped = true;
		p->status = decode_status(status);
	}
	return p->reaped;
}

/* Looks for a line holding needle in the file; true and line filled when found. */
static bool find_line(const char *path, const char *needle, char *line, size_t cap, bool *io_error)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*io_error = true;
		return false;
	}
	char buf[1024];
	bool found = false;
	while (!found && fgets(buf, sizeof(buf), f)) {
		size_t n = strlen(buf);
		if (n == 0 || buf[n - 1] != '\n')
			break; /* an incomplete last line: wait for the rest */
		if (strstr(buf, needle)) {
			buf[n - 1] = '\0';
			snprintf(line, cap, "%s", buf);
			found = true;
		}
	}
	fclose(f);
	return found;
}

ft_error ft_proc_wait_line(ft_proc *p, const char *needle, unsigned timeout_ms, char *line,
                           size_t cap, ft_diag *diag)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	unsigned pause = 1;
	for (;;) {
		bool io_error = false;
		if (find_line(p->out_path, needle, line, cap, &io_error))
			return FT_OK;
		if (io_error)
			return ft_diag_set(diag, FT_ERR_IO, p->out_path, "cannot read: %s",
			                   strerror(errno));
		if (reap(p)) {
			/* the line may have come between the read and the exit */
			if (find_line(p->out_path, needle, line, cap, &io_error))
				return FT_OK;
			return ft_diag_set(diag, FT_ERR_STATE, p->out_path,
			                   "the process exited (status %d) before printing \"%s\"",
			                   p->status, needle);
		}
		if (now_ns() >= deadline)
			return ft_diag_set(diag, FT_ERR_TIMEOUT, p->out_path,
			                   "no line with \"%s\" within %u ms", needle, timeout_ms);
		sleep_ms(pause);
		if (pause < 20)
			pause *= 2;
	}
}

ft_error ft_proc_stop(ft_proc *p, unsigned grace_ms, int *exit_status, ft_diag *diag)
{
	if (!p)
		return FT_OK;
	ft_error err = FT_OK;
	if (!reap(p)) {
		kill(p->pid, SIGTERM);
		uint64_t deadline = now_ns() + (uint64_t)grace_ms * 1000000u;
		while (!reap(p) && now_ns() < deadline)
			sleep_ms(2);
		if (!p->reaped) {
			kill(p->pid, SIGKILL);
			int status;
			pid_t r;
			while ((r = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
				;
			if (r == p->pid)
				p->status = decode_status(status);
			else
				err = ft_diag_set(diag, FT_ERR_IO, NULL, "waitpid %d: %s",
				                  (int)p->pid, strerror(errno));
			p->reaped = true;
		}
	}
	if (exit_status)
		*exit_status = p->status;
	free(p->out_path);
	free(p);
	return err;
}
