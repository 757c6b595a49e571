#include "conformance/gdbcli.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conformance/expect.h"

void ft_conform_cli_result_free(ft_conform_cli_result *r)
{
	free(r->err);
	free(r->out);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Replaces every occurrence of from in text (in place; to is never longer). */
static void squeeze(char *text, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);
	for (char *at = text; flen && (at = strstr(at, from)) != NULL; at += tlen) {
		memmove(at + tlen, at + flen, strlen(at + flen) + 1);
		memcpy(at, to, tlen);
	}
}

bool ft_conform_cli_run(ft_conform_env *env, const char *prefix, const char *conn,
                        const char *const *args, bool json, ft_conform_cli_result *out)
{
	memset(out, 0, sizeof(*out));
	const char *argv[24];
	size_t n = 0;
	for (; args[n] && n < 16; n++)
		argv[n] = args[n];
	if (!conn)
		conn = ft_conform_env_connection(env);
	argv[n++] = "-c";
	argv[n++] = conn;
	argv[n++] = "--board";
	argv[n++] = ft_conform_env_board(env);
	argv[n++] = "--timeout";
	argv[n++] = FT_CONFORM_RSP_TIMEOUT_MS;
	if (json)
		argv[n++] = "--json";
	argv[n] = NULL;
	ft_proc_result res;
	if (!ft_conform_env_flashtwin(env, argv, &res))
		return false;
	ft_conform_record *rec = ft_conform_env_record(env);
	out->status = res.exit_status;
	out->err = strdup(res.err_len ? res.err : "");
	out->out = strdup(res.out_len ? res.out : "");
	if (json && res.out_len) {
		/* `flash --json` streams events with the result last (docs/cli.md); the other
		 * commands print one object */
		size_t len = res.out_len;
		const char *text =
		    strcmp(args[0], "flash") == 0 ? ft_proc_last_line(res.out, &len) : res.out;
		out->json = json_loadb(text, len, 0, NULL);
	}
	ft_proc_result_free(&res);
	if (!out->err || !out->out) {
		ft_conform_record_fail(rec, "out of memory");
		return false;
	}
	squeeze(out->err, conn, "<device>");
	char key[96], line[320] = "";
	snprintf(key, sizeof(key), "%s.exit_status", prefix);
	ft_conform_record_int(rec, key, out->status);
	const char *first = strstr(out->err, "flashtwin: ");
	if (first)
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(first, "\n"), first);
	snprintf(key, sizeof(key), "%s.error", prefix);
	ft_conform_record_str(rec, key, line);
	return true;
}

bool ft_conform_cli_says(ft_conform_record *rec, const char *what, const ft_conform_cli_result *r,
                         const char *needle)
{
	return ft_conform_expect_contains(rec, what, r->err, needle);
}

bool ft_conform_cli_saysf(ft_conform_record *rec, const char *what, const ft_conform_cli_result *r,
                          const char *fmt, ...)
{
	char needle[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(needle, sizeof(needle), fmt, ap);
	va_end(ap);
	return ft_conform_cli_says(rec, what, r, needle);
}

bool ft_conform_cli_elf(ft_conform_env *env, const char *name, const ft_gen_segment *segs,
                        size_t count, char *path, size_t cap)
{
	uint8_t *elf = NULL;
	size_t elf_len = 0;
	ft_diag diag;
	ft_diag_clear(&diag);
	bool ok = ft_gen_elf(segs, count, &elf, &elf_len, &diag) == FT_OK;
	if (!ok)
		ft_conform_record_fail(ft_conform_env_record(env), "generating %s: %s", name,
		                       diag.message);
	ok = ok && ft_conform_env_write(env, name, elf, elf_len, path, cap);
	free(elf);
	return ok;
}

uint8_t *ft_conform_cli_image(ft_conform_env *env, const char *name, uint32_t addr, size_t len,
                              char *path, size_t cap)
{
	uint8_t *data = malloc(len);
	if (!data) {
		ft_conform_record_fail(ft_conform_env_record(env), "out of memory");
		return NULL;
	}
	ft_gen_self_addressed(data, len, addr);
	ft_gen_segment seg = {
	    addr, addr, data, (uint32_t)len, (uint32_t)len, FT_GEN_PF_R | FT_GEN_PF_X, ".text"};
	if (!ft_conform_cli_elf(env, name, &seg, 1, path, cap)) {
		free(data);
		return NULL;
	}
	return data;
}

void ft_conform_state_path(ft_conform_env *env, const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/state/%s", ft_conform_env_work_dir(env), name);
}

/* Reads (buf) or writes (data) len bytes at offset of the state file name. */
static bool state_io(ft_conform_env *env, const char *name, size_t offset, uint8_t *buf,
                     const uint8_t *data, size_t len)
{
	char path[640];
	ft_conform_state_path(env, name, path, sizeof(path));
	FILE *f = fopen(path, data ? "r+b" : "rb");
	bool ok = f && fseek(f, (long)offset, SEEK_SET) == 0 &&
	          (data ? fwrite(data, 1, len, f) : fread(buf, 1, len, f)) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		ft_conform_record_fail(ft_conform_env_record(env), "cannot %s %s at 0x%zx",
		                       data ? "write" : "read", path, offset);
	return ok;
}

bool ft_conform_state_read(ft_conform_env *env, const char *name, size_t offset, uint8_t *buf,
                           size_t len)
{
	return state_io(env, name, offset, buf, NULL, len);
}

bool ft_conform_state_write(ft_conform_env *env, const char *name, size_t offset,
                            const uint8_t *buf, size_t len)
{
	return state_io(env, name, offset, NULL, buf, len);
}

void ft_conform_state_expect(ft_conform_env *env, const char *what, const char *name, size_t offset,
                             uint32_t addr, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	if (!got || !ft_conform_state_read(env, name, offset, got, len)) {
		if (!got)
			ft_conform_record_fail(ft_conform_env_record(env), "out of memory");
		free(got);
		return;
	}
	size_t i = 0;
	while (i < len && got[i] == (want ? want[i] : 0xFF))
		i++;
	ft_conform_record *rec = ft_conform_env_record(env);
	if (i == len)
		ft_conform_record_check(rec, true, what, "0x%zx bytes at 0x%08X as expected", len,
		                        (unsigned)addr);
	else
		ft_conform_record_check(rec, false, what, "0x%08X reads 0x%02X, expected 0x%02X",
		                        (unsigned)(addr + i), got[i], want ? want[i] : 0xFFu);
	free(got);
}

unsigned ft_conform_dead_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
