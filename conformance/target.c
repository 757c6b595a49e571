/* Target strings and emulator instances. */
#include "conformance/target.h"

#include "conformance/proc.h"
#include "conformance/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_START_TIMEOUT_MS 10000u
#define STOP_GRACE_MS            2000u
#define MAX_EMU_ARGS             64

const char *ft_conform_target_kind_name(ft_conform_target_kind kind)
{
	switch (kind) {
	case FT_CONFORM_TARGET_EMU: return "emu";
	case FT_CONFORM_TARGET_USB: return "usb";
	case FT_CONFORM_TARGET_USBIP: return "usbip";
	case FT_CONFORM_TARGET_GDB: return "gdb";
	}
	return "unknown";
}

unsigned ft_conform_target_bit(ft_conform_target_kind kind)
{
	switch (kind) {
	case FT_CONFORM_TARGET_EMU: return FT_CONFORM_ON_EMU;
	case FT_CONFORM_TARGET_USB: return FT_CONFORM_ON_USB;
	case FT_CONFORM_TARGET_USBIP: return FT_CONFORM_ON_USBIP;
	case FT_CONFORM_TARGET_GDB: return FT_CONFORM_ON_GDB;
	}
	return 0;
}

static bool copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

ft_error ft_conform_target_parse(const char *spec, const char *board, ft_conform_target *out,
                                 ft_diag *diag)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !copy(out->spec, sizeof(out->spec), spec))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--target", "missing or too long");
	if (strncmp(spec, "emu:", 4) == 0) {
		out->kind = FT_CONFORM_TARGET_EMU;
		if (!spec[4] || !copy(out->board, sizeof(out->board), spec + 4))
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--target",
			                   "emu:BOARD needs a board name");
		if (board && strcmp(board, out->board) != 0)
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--board",
			                   "%s disagrees with --target %s", board, spec);
		return FT_OK;
	}
	if (strcmp(spec, "usb") == 0 || strncmp(spec, "usb:", 4) == 0)
		out->kind = FT_CONFORM_TARGET_USB;
	else if (strncmp(spec, "usbip://", 8) == 0)
		out->kind = FT_CONFORM_TARGET_USBIP;
	else if (strncmp(spec, "gdb://", 6) == 0 || strncmp(spec, "gdb:", 4) == 0)
		out->kind = FT_CONFORM_TARGET_GDB;
	else
		return ft_diag_set(
		    diag, FT_ERR_INVALID_ARG, "--target",
		    "\"%s\": expected emu:BOARD, usb[:SERIAL], usbip://HOST:PORT/BUSID "
		    "or gdb://HOST:PORT",
		    spec);
	if (!board || !board[0])
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--board",
		                   "a real target (%s) needs --board BOARD", spec);
	if (!copy(out->board, sizeof(out->board), board))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "--board", "too long");
	copy(out->connection, sizeof(out->connection), spec);
	return FT_OK;
}

struct ft_conform_emu {
	ft_proc *proc;
	char url[256];
	char command[1024];
};

/* Appends a NULL-ended list to argv. */
static bool add_args(const char **argv, size_t *n, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++) {
		if (*n >= MAX_EMU_ARGS)
			return false;
		argv[(*n)++] = list[i];
	}
	return true;
}

/* The last lines of a file (at most cap - 1 bytes), for error messages. */
static void tail(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		long from = size > (long)cap - 1 ? size - ((long)cap - 1) : 0;
		if (fseek(f, from, SEEK_SET) == 0) {
			size_t n = fread(buf, 1, cap - 1, f);
			buf[n] = '\0';
			while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
				buf[--n] = '\0';
		}
	}
	fclose(f);
}

ft_error ft_conform_emu_start(const ft_conform_emu_config *config, ft_conform_emu **out,
                              ft_diag *diag)
{
	if (!config || !config->program || !config->board || !config->dir || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "emulator", "missing configuration");
	*out = NULL;
	char state[512], out_path[512], err_path[512];
	snprintf(state, sizeof(state), "%s/state", config->dir);
	snprintf(out_path, sizeof(out_path), "%s/emu.out", config->dir);
	snprintf(err_path, sizeof(err_path), "%s/emu.err", config->dir);
	const char *argv[MAX_EMU_ARGS + 1];
	size_t n = 0;
	const char *const base[] = {config->program, "--board",  config->board, "--state",
	                            state,           "--timing", "instant",     NULL};
	const char *const usb[] = {"--listen",   "127.0.0.1:0", "--boot", "dfu",
	                           "--on-leave", "exit",        NULL};
	const char *const gdb[] = {"--gdb", "127.0.0.1:0", NULL};
	if (!add_args(argv, &n, base) || !add_args(argv, &n, config->gdb ? gdb : usb) ||
	    !add_args(argv, &n, config->switches) || !add_args(argv, &n, config->extra))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "emulator", "more than %d arguments",
		                   MAX_EMU_ARGS);
	argv[n] = NULL;
	ft_conform_emu *emu = calloc(1, sizeof(*emu));
	if (!emu)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "emulator", "out of memory");
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof(emu->command); i++) {
		int w = snprintf(emu->command + used, sizeof(emu->command) - used, "%s%s",
		                 i ? " " : "", argv[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	ft_error err = ft_proc_spawn(argv, out_path, err_path, &emu->proc, diag);
	if (err != FT_OK) {
		free(emu);
		return err;
	}
	char line[512];
	unsigned timeout =
	    config->start_timeout_ms ? config->start_timeout_ms : DEFAULT_START_TIMEOUT_MS;
	/* the ready lines (docs/emulator.md): "... ready at usbip://HOST:PORT/BUSID (state DIR)",
	 * "... running flash in QEMU MACHINE, gdb at HOST:PORT (state DIR)" */
	const char *mark = config->gdb ? "gdb at " : "usbip://";
	err = ft_proc_wait_line(emu->proc, mark, timeout, line, sizeof(line), diag);
	if (err == FT_OK) {
		const char *at = strstr(line, mark) + (config->gdb ? strlen(mark) : 0);
		size_t len = strcspn(at, " \t\"',;");
		int w = snprintf(emu->url, sizeof(emu->url), "%s%.*s", config->gdb ? "gdb://" : "",
		                 (int)len, at);
		if (w < 0 || (size_t)w >= sizeof(emu->url))
			err = ft_diag_set(diag, FT_ERR_FORMAT, "emulator", "ready line too long");
	} else {
		char why[240];
		tail(err_path, why, sizeof(why));
		ft_diag last = *diag;
		ft_diag_set(diag, last.code, "emulator", "%s: %s%s%s", emu->command, last.message,
		            why[0] ? "; stderr: " : "", why);
	}
	if (err != FT_OK) {
		ft_proc_stop(emu->proc, STOP_GRACE_MS, NULL, NULL);
		free(emu);
		return err;
	}
	*out = emu;
	return FT_OK;
}

const char *ft_conform_emu_url(const ft_conform_emu *emu)
{
	return emu->url;
}

const char *ft_conform_emu_command(const ft_conform_emu *emu)
{
	return emu->command;
}

ft_error ft_conform_emu_stop(ft_conform_emu *emu, int *exit_status, ft_diag *diag)
{
	if (!emu)
		return FT_OK;
	ft_error err = ft_proc_stop(emu->proc, STOP_GRACE_MS, exit_status, diag);
	free(emu);
	return err;
}
