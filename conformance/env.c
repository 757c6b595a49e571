/* The scenario environment: paths, the record, and the flashtwin invocations. */
#include "conformance/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_COMMAND_TIMEOUT_MS 60000u
#define MAX_ARGS                   32

struct ft_conform_env {
	ft_conform_record *record;
	const ft_part *part;
	char *board;
	char *connection;
	char *flashtwin;
	char *fixtures;
	char *work_dir;
	char revision;
	bool emulated;
	unsigned command_timeout_ms;
	ft_conform_client client;
	char *dfu_util;
};

ft_conform_env *ft_conform_env_new(const ft_conform_env_config *config)
{
	if (!config || !config->record || !config->part || !config->board || !config->flashtwin ||
	    !config->fixtures || !config->work_dir ||
	    (config->client == FT_CONFORM_CLIENT_DFU_UTIL && !config->dfu_util))
		return NULL;
	ft_conform_env *env = calloc(1, sizeof(*env));
	if (!env)
		return NULL;
	env->record = config->record;
	env->part = config->part;
	env->board = strdup(config->board);
	env->connection = config->connection ? strdup(config->connection) : NULL;
	env->flashtwin = strdup(config->flashtwin);
	env->fixtures = strdup(config->fixtures);
	env->work_dir = strdup(config->work_dir);
	env->revision = config->revision;
	env->emulated = config->emulated;
	env->command_timeout_ms =
	    config->command_timeout_ms ? config->command_timeout_ms : DEFAULT_COMMAND_TIMEOUT_MS;
	env->client = config->client;
	env->dfu_util = config->dfu_util ? strdup(config->dfu_util) : NULL;
	if (!env->board || (config->connection && !env->connection) || !env->flashtwin ||
	    !env->fixtures || !env->work_dir || (config->dfu_util && !env->dfu_util)) {
		ft_conform_env_free(env);
		return NULL;
	}
	return env;
}

void ft_conform_env_free(ft_conform_env *env)
{
	if (!env)
		return;
	free(env->board);
	free(env->connection);
	free(env->flashtwin);
	free(env->fixtures);
	free(env->work_dir);
	free(env->dfu_util);
	free(env);
}

ft_conform_record *ft_conform_env_record(ft_conform_env *env)
{
	return env->record;
}

const ft_part *ft_conform_env_part(const ft_conform_env *env)
{
	return env->part;
}

const char *ft_conform_env_board(const ft_conform_env *env)
{
	return env->board;
}

const char *ft_conform_env_connection(const ft_conform_env *env)
{
	return env->connection;
}

const char *ft_conform_env_work_dir(const ft_conform_env *env)
{
	return env->work_dir;
}

const char *ft_conform_env_fixtures_dir(const ft_conform_env *env)
{
	return env->fixtures;
}

char ft_conform_env_revision(const ft_conform_env *env)
{
	return env->revision;
}

bool ft_conform_env_emulated(const ft_conform_env *env)
{
	return env->emulated;
}

ft_conform_client ft_conform_env_client(const ft_conform_env *env)
{
	return env->client;
}

bool ft_conform_env_fixture(ft_conform_env *env, const char *name, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s", env->fixtures, name);
	if (n < 0 || (size_t)n >= cap || access(path, R_OK) != 0) {
		ft_conform_record_fail(env->record,
		                       "fixture %s/%s is missing (run `make fixtures`)",
		                       env->fixtures, name);
		return false;
	}
	return true;
}

bool ft_conform_env_write(ft_conform_env *env, const char *name, const void *data, size_t len,
                          char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s", env->work_dir, name);
	FILE *f = (n < 0 || (size_t)n >= cap) ? NULL : fopen(path, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		ft_conform_record_fail(env->record, "cannot write the input %s/%s: %s",
		                       env->work_dir, name, strerror(errno));
	return ok;
}

/* "flashtwin check a.elf --json" for the report: argv[0] shown as name, arguments with spaces
 * quoted. */
static void command_line(const char *name, const char *const *argv, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; argv[i] && used < cap; i++) {
		const char *arg = i == 0 ? name : argv[i];
		bool quote = strchr(arg, ' ') != NULL;
		int n = snprintf(buf + used, cap - used, "%s%s%s%s", i ? " " : "", quote ? "'" : "",
		                 arg, quote ? "'" : "");
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Runs PROGRAM LEAD... ARGS... (both NULL-terminated; lead may be NULL) in the work directory and
 * records it as a step, PROGRAM shown as name. */
static bool run_tool(ft_conform_env *env, const char *program, const char *name,
                     const char *const *lead, const char *const *args, ft_proc_result *res)
{
	const char *argv[MAX_ARGS + 2];
	size_t n = 0;
	argv[n++] = program;
	for (int part = 0; part < 2; part++) {
		const char *const *list = part == 0 ? lead : args;
		for (size_t i = 0; list && list[i]; i++) {
			if (n > MAX_ARGS) {
				ft_conform_record_fail(env->record, "more than %d %s arguments",
				                       MAX_ARGS, name);
				return false;
			}
			argv[n++] = list[i];
		}
	}
	argv[n] = NULL;
	char line[1024];
	command_line(name, argv, line, sizeof(line));
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_proc_run(argv, env->work_dir, env->command_timeout_ms, res, &diag) != FT_OK) {
		ft_conform_record_fail(env->record, "%s: %s", line, diag.message);
		return false;
	}
	ft_conform_record_step(env->record, line, res->exit_status, res->elapsed_ns);
	if (res->timed_out) {
		ft_conform_record_fail(env->record, "%s did not finish within %u ms", line,
		                       env->command_timeout_ms);
		ft_proc_result_free(res);
		return false;
	}
	return true;
}

bool ft_conform_env_flashtwin(ft_conform_env *env, const char *const *args, ft_proc_result *res)
{
	return run_tool(env, env->flashtwin, "flashtwin", NULL, args, res);
}

bool ft_conform_env_dfu_util(ft_conform_env *env, const char *const *args, ft_proc_result *res)
{
	if (!env->dfu_util) {
		ft_conform_record_fail(env->record, "no dfu-util binary configured");
		return false;
	}
	const ft_bootloader_info *bl = env->part->bootloader;
	char ids[16];
	snprintf(ids, sizeof(ids), "%04x:%04x", (unsigned)bl->vid, (unsigned)bl->pid);
	const char *serial = env->connection && strncmp(env->connection, "usb:", 4) == 0
	                         ? env->connection + 4
	                         : NULL;
	const char *lead[] = {"-d", ids, serial ? "-S" : NULL, serial, NULL};
	return run_tool(env, env->dfu_util, "dfu-util", lead, args, res);
}

json_t *ft_conform_env_flashtwin_json(ft_conform_env *env, const char *const *args,
                                      int *exit_status)
{
	ft_proc_result res;
	if (!ft_conform_env_flashtwin(env, args, &res))
		return NULL;
	*exit_status = res.exit_status;
	json_error_t error;
	json_t *root = json_loads(res.out, 0, &error);
	if (!json_is_object(root)) {
		ft_conform_record_fail(
		    env->record,
		    "flashtwin %s printed no JSON object (exit %d, line %d: %s); "
		    "stderr: %.200s",
		    args[0], res.exit_status, error.line, error.text, res.err);
		json_decref(root);
		root = NULL;
	}
	ft_proc_result_free(&res);
	return root;
}
