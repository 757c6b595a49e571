#include "emu/qemu_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_BINARY      "qemu/qemu-system-arm"
#define MAX_ARGS         40
#define ARG_BUF          1024
#define STDERR_CAP       8192
#define LINE_CAP         4096
#define QTEST_TIMEOUT_MS 10000

struct ft_qemu {
	pid_t pid;
	bool exited;
	int status;
	ft_qemu_mode mode;
	int in_fd;  /* qtest: our end of the socket that is QEMU's stdin and stdout; -1 in run
	             * mode or once shut down */
	int out_fd; /* QEMU's stdout (a pipe in run mode, a dup of in_fd in qtest mode); -1 once
	             * at EOF */
	int err_fd; /* QEMU's stderr; -1 once at EOF */
	char line[LINE_CAP]; /* qtest: stdout bytes not yet consumed as lines */
	size_t line_len;
	char err[STDERR_CAP];
	size_t err_len;
};

/* The family each machine models (emu/qemu/overlay/hw/arm/flashtwin/ft_nucleo.c). */
static const struct {
	ft_family family;
	const char *machine;
} machines[] = {
    {FT_FAMILY_H74X, "nucleo-h743zi2"},
    {FT_FAMILY_H72X, "nucleo-h723zg"},
    {FT_FAMILY_H7AX, "nucleo-h7a3zi-q"},
    {FT_FAMILY_N6, "nucleo-n657x0-q"},
};

const char *ft_qemu_machine_for_part(const ft_part *part)
{
	if (!part)
		return NULL;
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (machines[i].family == part->family)
			return machines[i].machine;
	return NULL;
}

ft_error ft_qemu_find_binary(char *path, size_t cap, ft_diag *diag)
{
	const char *env = getenv("FT_QEMU");
	if (env && *env) {
		if (strlen(env) >= cap)
			return ft_diag_set(diag, FT_ERR_RANGE, "FT_QEMU", "path too long");
		if (access(env, X_OK) != 0)
			return ft_diag_set(diag, FT_ERR_NOT_FOUND, env,
			                   "FT_QEMU names no executable: %s", strerror(errno));
		strcpy(path, env);
		return FT_OK;
	}
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, "/proc/self/exe", "%s", strerror(errno));
	dir[n] = '\0';
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		*slash = '\0';
		char candidate[PATH_MAX + sizeof(QEMU_BINARY) + 1];
		snprintf(candidate, sizeof(candidate), "%s/%s", dir, QEMU_BINARY);
		if (access(candidate, X_OK) == 0) {
			if (strlen(candidate) >= cap)
				return ft_diag_set(diag, FT_ERR_RANGE, candidate, "path too long");
			strcpy(path, candidate);
			return FT_OK;
		}
	}
	return ft_diag_set(diag, FT_ERR_NOT_FOUND, QEMU_BINARY,
	                   "no qemu-system-arm beside this program or above it: run `make qemu`, "
	                   "or set FT_QEMU");
}

/* Appends to argv; false when it is full (one slot stays for the NULL). */
static bool push(const char **argv, size_t cap, int *argc, const char *arg)
{
	if ((size_t)*argc + 1 >= cap)
		return false;
	argv[(*argc)++] = arg;
	argv[*argc] = NULL;
	return true;
}

/* Appends a formatted string to buf at *used and returns it, or NULL when it does not fit. */
static const char *put(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *put(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *used)
		return NULL;
	const char *s = buf + *used;
	*used += (size_t)n + 1;
	return s;
}

ft_error ft_qemu_argv(const ft_qemu_config *config, const char **argv, size_t cap, int *argc,
                      char *buf, size_t buf_cap, ft_diag *diag)
{
	if (!config || !config->machine || !config->binary || !argv || !argc || !buf)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qemu", "machine and binary required");
	if (config->boot0 < -1 || config->boot0 > 1)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qemu",
		                   "boot0 %d: expected -1, 0 or 1", config->boot0);
	char props[512] = "";
	size_t plen = 0;
	for (size_t i = 0; config->properties && config->properties[i]; i++) {
		const char *p = config->properties[i];
		if (strchr(p, ','))
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, p,
			                   "a machine property cannot hold a comma");
		int n = snprintf(props + plen, sizeof(props) - plen, ",%s", p);
		if (n < 0 || (size_t)n >= sizeof(props) - plen)
			return ft_diag_set(diag, FT_ERR_RANGE, "qemu",
			                   "machine properties too long");
		plen += (size_t)n;
	}
	*argc = 0;
	size_t used = 0;
	const char *machine = put(
	    buf, buf_cap, &used, "%s%s%s%s%s%s%s%s%s%s", config->machine,
	    config->board_path ? ",board=" : "", config->board_path ? config->board_path : "",
	    config->state_dir ? ",state=" : "", config->state_dir ? config->state_dir : "",
	    config->boot0 == 0   ? ",boot0=off"
	    : config->boot0 == 1 ? ",boot0=on"
	                         : "",
	    config->dev_boot ? ",boot1=on" : "", config->instant_timing ? ",timing=instant" : "",
	    config->mode == FT_QEMU_QTEST ? ",accel=qtest" : "", props);
	const char *gdb = NULL;
	if (config->gdb) {
		const char *colon = strrchr(config->gdb, ':');
		if (!colon || !colon[1])
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, config->gdb,
			                   "gdb address must be HOST:PORT");
		gdb = put(buf, buf_cap, &used, "tcp:%s", config->gdb);
	}
	if (!machine || (config->gdb && !gdb))
		return ft_diag_set(diag, FT_ERR_RANGE, "qemu", "argument buffer too small");

	bool ok = push(argv, cap, argc, config->binary) && push(argv, cap, argc, "-machine") &&
	          push(argv, cap, argc, machine) && push(argv, cap, argc, "-nodefaults") &&
	          push(argv, cap, argc, "-display") && push(argv, cap, argc, "none") &&
	          push(argv, cap, argc, "-monitor") && push(argv, cap, argc, "none");
	if (config->mode == FT_QEMU_QTEST) {
		ok = ok && push(argv, cap, argc, "-qtest") && push(argv, cap, argc, "stdio") &&
		     push(argv, cap, argc, "-serial") && push(argv, cap, argc, "null");
	} else if (config->mode == FT_QEMU_CONSOLE) {
		ok = ok && push(argv, cap, argc, "-serial") && push(argv, cap, argc, "mon:stdio");
	} else {
		ok = ok && push(argv, cap, argc, "-serial") && push(argv, cap, argc, "stdio");
	}
	if (config->semihosting)
		ok = ok && push(argv, cap, argc, "-semihosting-config") &&
		     push(argv, cap, argc, "enable=on,target=native");
	if (gdb)
		ok = ok && push(argv, cap, argc, "-gdb") && push(argv, cap, argc, gdb) &&
		     push(argv, cap, argc, "-S");
	for (size_t i = 0; config->extra && config->extra[i]; i++)
		ok = ok && push(argv, cap, argc, config->extra[i]);
	if (!ok)
		return ft_diag_set(diag, FT_ERR_RANGE, "qemu", "argument vector too small");
	return FT_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Keeps the end of what QEMU writes to stderr. */
static void take_stderr(ft_qemu *q, const char *bytes, size_t n)
{
	if (n >= sizeof(q->err) - 1) {
		bytes += n - (sizeof(q->err) - 1);
		n = sizeof(q->err) - 1;
	}
	if (q->err_len + n >= sizeof(q->err)) {
		size_t drop = q->err_len + n - (sizeof(q->err) - 1);
		memmove(q->err, q->err + drop, q->err_len - drop);
		q->err_len -= drop;
	}
	memcpy(q->err + q->err_len, bytes, n);
	q->err_len += n;
	q->err[q->err_len] = '\0';
}

/* Waits up to timeout_ms for stdout bytes (stderr is drained meanwhile). Returns the bytes read
 * into buf, 0 at stdout EOF, -1 on timeout. */
static ssize_t read_stdout(ft_qemu *q, char *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (q->out_fd < 0)
			return 0;
		struct pollfd fds[2] = {{.fd = q->out_fd, .events = POLLIN},
		                        {.fd = q->err_fd, .events = POLLIN}};
		int64_t left = deadline - now_ms();
		if (left < 0)
			return -1;
		int r = poll(fds, q->err_fd >= 0 ? 2 : 1, (int)left);
		if (r < 0 && errno != EINTR)
			return 0;
		if (r <= 0)
			continue;
		if (q->err_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
			char tmp[1024];
			ssize_t n = read(q->err_fd, tmp, sizeof(tmp));
			if (n > 0)
				take_stderr(q, tmp, (size_t)n);
			else if (n == 0 || errno != EINTR)
				close_fd(&q->err_fd);
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(q->out_fd, buf, cap);
			if (n > 0)
				return n;
			if (n == 0 || errno != EINTR) {
				close_fd(&q->out_fd);
				return 0;
			}
		}
	}
}

static ft_error gone(ft_qemu *q, ft_diag *diag)
{
	ft_qemu_wait(q, 1000, NULL, NULL);
	return ft_diag_set(diag, FT_ERR_IO, "qemu", "QEMU exited (status %d): %s", q->status,
	                   q->err_len ? q->err : "no message");
}

ft_error ft_qemu_start(const ft_qemu_config *config, ft_qemu **out, ft_diag *diag)
{
	if (!config || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qemu", "NULL argument");
	*out = NULL;
	char binary[PATH_MAX];
	ft_qemu_config cfg = *config;
	if (!cfg.binary) {
		ft_error err = ft_qemu_find_binary(binary, sizeof(binary), diag);
		if (err != FT_OK)
			return err;
		cfg.binary = binary;
	}
	const char *argv[MAX_ARGS];
	char buf[ARG_BUF];
	int argc;
	ft_error err = ft_qemu_argv(&cfg, argv, MAX_ARGS, &argc, buf, sizeof(buf), diag);
	if (err != FT_OK)
		return err;

	ft_qemu *q = calloc(1, sizeof(*q));
	if (!q)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "qemu", "session");
	q->mode = cfg.mode;
	q->in_fd = q->out_fd = q->err_fd = -1;
	/* qtest: a socket pair is QEMU's stdin and stdout, so commands go out with MSG_NOSIGNAL
	 * (a QEMU that died cannot kill us with SIGPIPE); run mode: stdout is a pipe and stdin
	 * is at EOF */
	int io[2] = {-1, -1}, errp[2] = {-1, -1};
	int made = cfg.mode == FT_QEMU_QTEST
	               ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io)
	               : pipe2(io, O_CLOEXEC);
	if (made || pipe2(errp, O_CLOEXEC)) {
		err = ft_diag_set(diag, FT_ERR_IO, "qemu", "pipe: %s", strerror(errno));
		goto fail;
	}
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		err = ft_diag_set(diag, FT_ERR_IO, "/dev/null", "%s", strerror(errno));
		goto fail;
	}
	q->pid = fork();
	if (q->pid < 0) {
		err = ft_diag_set(diag, FT_ERR_IO, "qemu", "fork: %s", strerror(errno));
		close(devnull);
		goto fail;
	}
	if (q->pid == 0) {
		/* child: only async-signal-safe calls until exec */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (cfg.mode != FT_QEMU_CONSOLE) {
			int in = cfg.mode == FT_QEMU_QTEST ? io[1] : devnull;
			if (dup2(in, 0) < 0 || dup2(io[1], 1) < 0 || dup2(errp[1], 2) < 0)
				_exit(127);
		}
		execv(cfg.binary, (char *const *)argv);
		_exit(127);
	}
	close(devnull);
	close(io[1]);
	close(errp[1]);
	q->err_fd = errp[0];
	if (cfg.mode == FT_QEMU_CONSOLE) {
		close(io[0]);
		close_fd(&q->err_fd);
	} else if (cfg.mode == FT_QEMU_RUN) {
		q->out_fd = io[0];
	} else {
		q->in_fd = io[0];
		q->out_fd = fcntl(io[0], F_DUPFD_CLOEXEC, 0);
		if (q->out_fd < 0) {
			err = ft_diag_set(diag, FT_ERR_IO, "qemu", "dup: %s", strerror(errno));
			ft_qemu_free(q);
			return err;
		}
		/* a command every qtest build answers: proves the machine came up */
		err = ft_qemu_qtest(q, "endianness", NULL, 0, QTEST_TIMEOUT_MS, diag);
		if (err != FT_OK) {
			if (err == FT_ERR_IO)
				err = ft_diag_set(diag, FT_ERR_DEVICE, cfg.machine, "%s",
				                  q->err_len ? q->err : "QEMU exited at start");
			ft_qemu_free(q);
			return err;
		}
	}
	*out = q;
	return FT_OK;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&io[i]);
		close_fd(&errp[i]);
	}
	free(q);
	return err;
}

ft_error ft_qemu_qtest(ft_qemu *q, const char *command, char *reply, size_t reply_cap,
                       int timeout_ms, ft_diag *diag)
{
	if (!q || !command)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qtest", "NULL argument");
	if (q->mode != FT_QEMU_QTEST || q->in_fd < 0)
		return ft_diag_set(diag, FT_ERR_STATE, "qtest", "not a qtest session");
	size_t len = strlen(command);
	char msg[512];
	if (len + 2 > sizeof(msg))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qtest", "command too long");
	memcpy(msg, command, len);
	msg[len++] = '\n';
	for (size_t done = 0; done < len;) {
		ssize_t n = send(q->in_fd, msg + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return gone(q, diag);
		done += (size_t)n;
	}
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(q->line, '\n', q->line_len);
		if (nl) {
			*nl = '\0';
			size_t used = (size_t)(nl - q->line) + 1;
			char text[LINE_CAP];
			memcpy(text, q->line, used);
			memmove(q->line, q->line + used, q->line_len - used);
			q->line_len -= used;
			if (strncmp(text, "IRQ", 3) == 0)
				continue;
			if (strncmp(text, "OK", 2) != 0)
				return ft_diag_set(diag, FT_ERR_DEVICE, command,
				                   "QEMU answered: %s", text);
			if (reply)
				snprintf(reply, reply_cap, "%s",
				         text[2] == ' ' ? text + 3 : text + 2);
			return FT_OK;
		}
		if (q->line_len == sizeof(q->line))
			return ft_diag_set(diag, FT_ERR_PROTOCOL, command, "reply line too long");
		int64_t left = deadline - now_ms();
		ssize_t n = read_stdout(q, q->line + q->line_len, sizeof(q->line) - q->line_len,
		                        left > 0 ? (int)left : 0);
		if (n < 0)
			return ft_diag_set(diag, FT_ERR_TIMEOUT, command, "no reply in %d ms",
			                   timeout_ms);
		if (n == 0)
			return gone(q, diag);
		q->line_len += (size_t)n;
	}
}

static ft_error parse_number(const char *text, const char *command, uint64_t *value, ft_diag *diag)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || end == text || *end)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, command, "reply \"%s\" is not a number",
		                   text);
	*value = v;
	return FT_OK;
}

ft_error ft_qemu_readl(ft_qemu *q, uint32_t addr, uint32_t *value, ft_diag *diag)
{
	char cmd[32], reply[64];
	snprintf(cmd, sizeof(cmd), "readl 0x%08x", addr);
	ft_error err = ft_qemu_qtest(q, cmd, reply, sizeof(reply), QTEST_TIMEOUT_MS, diag);
	uint64_t v = 0;
	if (err == FT_OK)
		err = parse_number(reply, cmd, &v, diag);
	if (err == FT_OK && value)
		*value = (uint32_t)v;
	return err;
}

ft_error ft_qemu_writel(ft_qemu *q, uint32_t addr, uint32_t value, ft_diag *diag)
{
	char cmd[48];
	snprintf(cmd, sizeof(cmd), "writel 0x%08x 0x%08x", addr, value);
	return ft_qemu_qtest(q, cmd, NULL, 0, QTEST_TIMEOUT_MS, diag);
}

ft_error ft_qemu_clock_step(ft_qemu *q, uint64_t ns, ft_diag *diag)
{
	char cmd[48];
	snprintf(cmd, sizeof(cmd), "clock_step %llu", (unsigned long long)ns);
	return ft_qemu_qtest(q, cmd, NULL, 0, QTEST_TIMEOUT_MS, diag);
}

ft_error ft_qemu_read_serial(ft_qemu *q, const char *until, char *out, size_t cap, size_t *len,
                             int timeout_ms, ft_diag *diag)
{
	if (!q || !out || cap == 0)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qemu serial", "NULL argument");
	size_t used = strnlen(out, cap - 1);
	int64_t deadline = now_ms() + timeout_ms;
	ft_error err = FT_OK;
	for (;;) {
		out[used] = '\0';
		if (until && strstr(out, until))
			break;
		int64_t left = deadline - now_ms();
		char tmp[1024];
		ssize_t n = read_stdout(q, tmp, sizeof(tmp), left > 0 ? (int)left : 0);
		if (n < 0) {
			err =
			    ft_diag_set(diag, FT_ERR_TIMEOUT, "qemu serial", "%s not seen in %d ms",
			                until ? until : "exit", timeout_ms);
			break;
		}
		if (n == 0) {
			if (until)
				err = ft_diag_set(diag, FT_ERR_IO, "qemu serial",
				                  "QEMU closed its serial port before \"%s\": %s",
				                  until, q->err_len ? q->err : "no message");
			break;
		}
		size_t take = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;
		memcpy(out + used, tmp, take);
		used += take;
	}
	out[used] = '\0';
	if (len)
		*len = used;
	return err;
}

ft_error ft_qemu_wait(ft_qemu *q, int timeout_ms, int *status, ft_diag *diag)
{
	if (!q)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "qemu", "NULL session");
	if (q->mode == FT_QEMU_QTEST && !q->exited && q->in_fd >= 0) {
		/* QEMU ignores EOF on the qtest chardev; SIGTERM is a clean shutdown (the machine
		 * closes its board state) */
		kill(q->pid, SIGTERM);
		close_fd(&q->in_fd);
	}
	int64_t deadline = now_ms() + timeout_ms;
	while (!q->exited) {
		int st;
		pid_t r = waitpid(q->pid, &st, WNOHANG);
		if (r == q->pid) {
			q->exited = true;
			q->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (now_ms() >= deadline)
			return ft_diag_set(diag, FT_ERR_TIMEOUT, "qemu",
			                   "still running after %d ms", timeout_ms);
		char tmp[1024];
		if (q->out_fd >= 0)
			read_stdout(q, tmp, sizeof(tmp), 10); /* keep the pipes from filling */
		else
			poll(NULL, 0, 10);
	}
	if (status)
		*status = q->status;
	return FT_OK;
}

void ft_qemu_terminate(ft_qemu *q)
{
	if (q && !q->exited)
		kill(q->pid, SIGTERM);
}

const char *ft_qemu_stderr(ft_qemu *q)
{
	return q ? q->err : "";
}

void ft_qemu_free(ft_qemu *q)
{
	if (!q)
		return;
	if (!q->exited) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
	}
	close_fd(&q->in_fd);
	close_fd(&q->out_fd);
	close_fd(&q->err_fd);
	free(q);
}
