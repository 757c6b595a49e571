/* Feature probing: run the binaries with --help and read what they offer. */
#include "conformance/features.h"

#include "conformance/proc.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 10000u

typedef enum feature {
	F_EMULATOR,
	F_EMU_FAULT,
	F_EMU_QUIRK,
	F_EMU_OPTION,
	F_EMU_REVISION,
	F_FLASH,
	F_READ,
	F_ERASE,
	F_INFO,
	F_DFU_UTIL,
	F_SWD,
	F_LOADER,
	F_QEMU,
	F_COUNT,
} feature;

static const char *const names[F_COUNT] = {
    [F_EMULATOR] = "emulator",         [F_EMU_FAULT] = "emu-fault",
    [F_EMU_QUIRK] = "emu-quirk",       [F_EMU_OPTION] = "emu-option",
    [F_EMU_REVISION] = "emu-revision", [F_FLASH] = "flash-command",
    [F_READ] = "read-command",         [F_ERASE] = "erase-command",
    [F_INFO] = "info-command",         [F_SWD] = "swd",
    [F_LOADER] = "external-loader",    [F_QEMU] = "qemu",
    [F_DFU_UTIL] = "dfu-util",
};

/* The emulator's help text names each switch it takes. */
static const struct {
	feature f;
	const char *flag;
} emu_flags[] = {
    {F_EMU_FAULT, "--fault"},
    {F_EMU_QUIRK, "--quirk"},
    {F_EMU_OPTION, "--option"},
    {F_EMU_REVISION, "--revision"},
};

/* flashtwin subcommands whose --help must succeed. */
static const struct {
	feature f;
	const char *command;
} commands[] = {
    {F_FLASH, "flash"},
    {F_READ, "read"},
    {F_ERASE, "erase"},
    {F_INFO, "info"},
};

struct ft_conform_features {
	bool has[F_COUNT];
};

/* Whether the QEMU machines are built: $FT_QEMU, else qemu/qemu-system-arm in the emulator's
 * directory or the nearest of its parents that has one (`make qemu` links
 * BUILD/qemu/qemu-system-arm; emu/qemu_run.h looks the same way). */
static bool qemu_built(const char *emu)
{
	const char *env = getenv("FT_QEMU");
	if (env && env[0])
		return access(env, X_OK) == 0;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	if (!realpath(emu, dir))
		return false;
	do {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", dirname(dir));
		memcpy(dir, parent, sizeof(dir));
		snprintf(path, sizeof(path), "%s/qemu/qemu-system-arm", dir);
		if (access(path, X_OK) == 0)
			return true;
	} while (strcmp(dir, "/") != 0);
	return false;
}

/* Runs argv; true when it exits 0. *help (may be NULL) gets its stdout+stderr. */
static bool probe(const char *const *argv, char **help)
{
	ft_proc_result res;
	if (ft_proc_run(argv, NULL, PROBE_TIMEOUT_MS, &res, NULL) != FT_OK)
		return false;
	bool ok = res.exit_status == 0;
	if (help && ok) {
		size_t n = res.out_len + res.err_len;
		*help = malloc(n + 1);
		if (*help) {
			memcpy(*help, res.out, res.out_len);
			memcpy(*help + res.out_len, res.err, res.err_len);
			(*help)[n] = '\0';
		}
	}
	ft_proc_result_free(&res);
	return ok;
}

ft_conform_features *ft_conform_features_probe(const char *flashtwin, const char *emu,
                                               const char *dfu_util)
{
	ft_conform_features *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *argv[] = {flashtwin, commands[i].command, "--help", NULL};
		char *help = NULL;
		f->has[commands[i].f] = probe(argv, &help);
		/* the debug-port route: flash takes gdb:// connections */
		if (commands[i].f == F_FLASH) {
			f->has[F_SWD] = help && strstr(help, "gdb://") != NULL;
			f->has[F_LOADER] = help && strstr(help, "--loader") != NULL;
		}
		free(help);
	}
	if (emu) {
		const char *argv[] = {emu, "--help", NULL};
		char *help = NULL;
		f->has[F_EMULATOR] = probe(argv, &help);
		for (size_t i = 0; help && i < sizeof(emu_flags) / sizeof(emu_flags[0]); i++)
			f->has[emu_flags[i].f] = strstr(help, emu_flags[i].flag) != NULL;
		f->has[F_QEMU] = help && strstr(help, "--gdb") && qemu_built(emu);
		free(help);
	}
	if (dfu_util) {
		const char *argv[] = {dfu_util, "-V", NULL};
		f->has[F_DFU_UTIL] = probe(argv, NULL);
	}
	return f;
}

void ft_conform_features_free(ft_conform_features *features)
{
	free(features);
}

bool ft_conform_features_has(const ft_conform_features *features, const char *name)
{
	for (size_t i = 0; i < F_COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return features->has[i];
	return false;
}

const char *ft_conform_switch_feature(const char *arg)
{
	for (size_t i = 0; i < sizeof(emu_flags) / sizeof(emu_flags[0]); i++)
		if (strcmp(arg, emu_flags[i].flag) == 0)
			return names[emu_flags[i].f];
	return NULL;
}

json_t *ft_conform_features_json(const ft_conform_features *features)
{
	json_t *obj = json_object();
	for (size_t i = 0; obj && i < F_COUNT; i++)
		if (json_object_set_new(obj, names[i], json_boolean(features->has[i])) != 0) {
			json_decref(obj);
			return NULL;
		}
	return obj;
}
