/* What the debug-port scenarios (scenarios_swd.c, scenarios_extldr.c, scenarios_n6.c) share: the
 * flashtwin CLI run against the scenario's gdb:// connection with the board and a generous RSP
 * timeout, its stderr kept with the connection replaced by "<device>"; generated ELF inputs; the
 * board's state files (flash array, ECC states, NOR arrays) the emulator keeps in the work
 * directory.
 *
 * Failures outside the scenario (a binary that does not start, a state file that cannot be read)
 * are recorded with ft_conform_record_fail and returned as false/NULL, so a run function stops at
 * the first. Library code: never prints.
 */
#ifndef FT_CONFORM_GDBCLI_H
#define FT_CONFORM_GDBCLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/env.h"
#include "conformance/gen.h"

/* Each GDB server reply may take this long (flashtwin --timeout; its default is 3000): QEMU under
 * sanitizers on a loaded machine answers slower than a probe. */
#define FT_CONFORM_RSP_TIMEOUT_MS "30000"

typedef struct ft_conform_cli_result {
	int status;
	char *err;    /* stderr, the connection replaced by "<device>"; malloc'd */
	char *out;    /* stdout; malloc'd */
	/* with json set: stdout parsed, or its last line when that is an event (`flash --json`
	 * streams events, the result last); else NULL */
	json_t *json;
} ft_conform_cli_result;

void ft_conform_cli_result_free(ft_conform_cli_result *r);

/* Runs `flashtwin ARGS... -c CONN --board BOARD --timeout MS [--json]` (args NULL-ended, at most
 * 16) against conn (NULL: the scenario's device) and records PREFIX.exit_status and PREFIX.error
 * (the first "flashtwin: " line of stderr). False (recorded) when flashtwin did not run. */
bool ft_conform_cli_run(ft_conform_env *env, const char *prefix, const char *conn,
                        const char *const *args, bool json, ft_conform_cli_result *out);

/* Checks that r's stderr contains needle (printf format for the f form). */
bool ft_conform_cli_says(ft_conform_record *rec, const char *what, const ft_conform_cli_result *r,
                         const char *needle);
bool ft_conform_cli_saysf(ft_conform_record *rec, const char *what, const ft_conform_cli_result *r,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An ELF of the given segments (their data as given) written into the work directory as name,
 * its path into path[0..cap). False (recorded) when it cannot be generated or written. */
bool ft_conform_cli_elf(ft_conform_env *env, const char *name, const ft_gen_segment *segs,
                        size_t count, char *path, size_t cap);

/* An ELF with one segment of len self-addressed bytes (ft_gen_self_addressed) at addr in section
 * .text, written as name; the bytes are returned (malloc'd) or NULL (recorded). */
uint8_t *ft_conform_cli_image(ft_conform_env *env, const char *name, uint32_t addr, size_t len,
                              char *path, size_t cap);

/* The path of the board's state file name ("flash.bin", "nor-quadspi1.bin") in the scenario's
 * emulator state directory, into path[0..cap). */
void ft_conform_state_path(ft_conform_env *env, const char *name, char *path, size_t cap);

/* len bytes at offset of the state file name. False (recorded) when it cannot be read. */
bool ft_conform_state_read(ft_conform_env *env, const char *name, size_t offset, uint8_t *buf,
                           size_t len);

/* Writes len bytes at offset of the state file name: the emulator maps its state files shared,
 * so the board sees them at once (a cell disturbed behind the programmer's back). False
 * (recorded) when it cannot be written. */
bool ft_conform_state_write(ft_conform_env *env, const char *name, size_t offset,
                            const uint8_t *buf, size_t len);

/* Checks that the state file name holds want at offset (or is erased, 0xFF, for want NULL);
 * addr is the device address of offset, for the check's text. */
void ft_conform_state_expect(ft_conform_env *env, const char *what, const char *name, size_t offset,
                             uint32_t addr, const uint8_t *want, size_t len);

/* A loopback port nobody listens on (bound, read and closed again), or 0. */
unsigned ft_conform_dead_port(void);

#endif
