/* What a scenario's run function works with: its record, the board under test, the connection
 * to it, its inputs, and the flashtwin CLI it exercises.
 *
 * The runner creates one environment per scenario run (in the thread that runs it) and frees it
 * afterwards. Helpers that fail for reasons outside the scenario (a missing fixture, a binary
 * that cannot start) record the failure with ft_conform_record_fail and return false/NULL, so a
 * run function stops at the first such return. Library code: never prints.
 */
#ifndef FT_CONFORM_ENV_H
#define FT_CONFORM_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/client.h"
#include "conformance/proc.h"
#include "conformance/record.h"
#include "models/parts.h"

typedef struct ft_conform_env ft_conform_env;

typedef struct ft_conform_env_config {
	ft_conform_record *record; /* required, not owned */
	const ft_part *part;       /* the board's part; required */
	const char *board;         /* board name or path, as flashtwin --board takes it; required */
	const char *connection;    /* the device ("usbip://127.0.0.1:40123/1-1"), NULL when the
	                            * scenario runs without one */
	const char *flashtwin;     /* the flashtwin binary; required */
	const char *fixtures;      /* the directory `make fixtures` fills; required */
	const char *work_dir;      /* an existing directory private to this run; required */
	char revision;             /* the board's silicon revision letter, '\0' when unknown */
	bool emulated;             /* the device is a flashtwin-emu instance (--timing instant) */
	unsigned command_timeout_ms; /* per flashtwin or dfu-util invocation; 0: 60000 */
	ft_conform_client client;    /* who talks to the device (conformance/client.h) */
	const char *dfu_util; /* the dfu-util binary; required for FT_CONFORM_CLIENT_DFU_UTIL */
} ft_conform_env_config;

/* Copies the strings of config. NULL when out of memory or a required field is missing. */
ft_conform_env *ft_conform_env_new(const ft_conform_env_config *config);
void ft_conform_env_free(ft_conform_env *env);

ft_conform_record *ft_conform_env_record(ft_conform_env *env);
const ft_part *ft_conform_env_part(const ft_conform_env *env);
const char *ft_conform_env_board(const ft_conform_env *env);
/* NULL when the scenario runs without a device. */
const char *ft_conform_env_connection(const ft_conform_env *env);
const char *ft_conform_env_work_dir(const ft_conform_env *env);
const char *ft_conform_env_fixtures_dir(const ft_conform_env *env);
/* The board's silicon revision letter, '\0' when unknown. */
char ft_conform_env_revision(const ft_conform_env *env);
/* Whether the device is emulated (its flash operations complete at once). */
bool ft_conform_env_emulated(const ft_conform_env *env);
/* The client the scenario runs with. */
ft_conform_client ft_conform_env_client(const ft_conform_env *env);

/* The path of fixture file name ("h723-eth-d2.elf") into path[0..cap). False (recorded as a
 * failure naming `make fixtures`) when the file is not there. */
bool ft_conform_env_fixture(ft_conform_env *env, const char *name, char *path, size_t cap);

/* Writes a generated input into the work directory as name; its path goes to path[0..cap).
 * False (recorded) when it cannot be written. */
bool ft_conform_env_write(ft_conform_env *env, const char *name, const void *data, size_t len,
                          char *path, size_t cap);

/* Runs `flashtwin ARGS...` (args NULL-terminated, args[0] the subcommand) in the work directory,
 * records it as a step, and fills *res (free it with ft_proc_result_free). False (recorded) when
 * flashtwin could not be started or timed out. */
bool ft_conform_env_flashtwin(ft_conform_env *env, const char *const *args, ft_proc_result *res);

/* Runs `dfu-util -d VID:PID [-S SERIAL] ARGS...` (args NULL-terminated) the same way: the
 * board's bootloader IDs from the part table, the serial number from a "usb:SERIAL" connection.
 * dfu-util prints its progress on stdout and its errors on stderr (res->out, res->err). False
 * (recorded) when dfu-util could not be started or timed out. */
bool ft_conform_env_dfu_util(ft_conform_env *env, const char *const *args, ft_proc_result *res);

/* The same for a command run with --json (the caller puts it in args): returns its stdout parsed
 * (a new reference) and its exit status in *exit_status, or NULL (recorded) when it did not run
 * or printed no JSON object. */
json_t *ft_conform_env_flashtwin_json(ft_conform_env *env, const char *const *args,
                                      int *exit_status);

#endif
