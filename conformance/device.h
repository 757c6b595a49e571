/* The DFU device of a scenario, reached through the programmer's own library (transport + DfuSe
 * engine), with every request and every GETSTATUS answer recorded: the raw device answers two
 * runs are compared on.
 *
 * Recorded under the prefix given to ft_conform_dfu_open (answers, conformance/record.h):
 *   PREFIX.sequence      the requests and answers in order: "DNLOAD cmd 21 0x30000000",
 *                        "GETSTATUS dfuERROR errTARGET", "CLRSTATUS", "UPLOAD blk 2 1024 B",
 *                        "-- label" between phases (ft_conform_dfu_mark); data blocks are
 *                        counted, not listed one by one; at most FT_CONFORM_MAX_SEQUENCE entries
 *   time.PREFIX.poll_ms  every nonzero bwPollTimeout, in order
 *   time.PREFIX.ms       wall time from open to close
 * The engine's warnings go to PREFIX.warnings.
 *
 * Polling sleeps: an emulated board runs with --timing instant, so the engine's sleeps are
 * skipped; a real board gets real sleeps. Used by one thread. Library code: never prints.
 */
#ifndef FT_CONFORM_DEVICE_H
#define FT_CONFORM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/env.h"
#include "programmer/dfuse/engine.h"

#define FT_CONFORM_MAX_SEQUENCE 400

typedef struct ft_conform_dfu ft_conform_dfu;

/* Opens the scenario's connection and the DfuSe engine on it (options: force = the engine sends
 * what the layout would refuse, so scenarios can ask the device itself). Failure is recorded
 * (ft_conform_record_fail) and returns NULL. */
ft_conform_dfu *ft_conform_dfu_open(ft_conform_env *env, const char *prefix, bool force);

/* The same for a device that has just reset (left DFU and re-entered it): tries again for up to
 * wait_ms while it is off the bus, and records only the last failure. */
ft_conform_dfu *ft_conform_dfu_reopen(ft_conform_env *env, const char *prefix, unsigned wait_ms);

/* Closes the engine and the transport; records the time. NULL is ignored. */
void ft_conform_dfu_close(ft_conform_dfu *d);

ft_dfuse_dev *ft_conform_dfu_dev(ft_conform_dfu *d);

/* Stops (quiet true) or resumes recording requests in the sequence: for requests whose outcome
 * depends on host timing (what a vanished device answers: an I/O error or a disconnect). */
void ft_conform_dfu_quiet(ft_conform_dfu *d, bool quiet);

/* Adds "-- label" to the sequence. */
void ft_conform_dfu_mark(ft_conform_dfu *d, const char *label);

/* One raw control transfer on the DFU interface (wIndex = its interface number): bRequest,
 * wValue, data of len bytes (OUT when out is true). Recorded like the engine's. Returns the
 * transfer status; *actual (may be NULL) the bytes moved. */
ft_transfer_status ft_conform_dfu_request(ft_conform_dfu *d, bool out, uint8_t request,
                                          uint16_t value, uint8_t *data, size_t len,
                                          size_t *actual);

/* Selects the alternate setting whose layout holds addr. False (no such alternate, or the
 * selection failed) with a check recorded. */
bool ft_conform_dfu_select(ft_conform_dfu *d, uint32_t addr);

/* Reads [addr, addr + len) and records "CRC32 0x........ over 0x.... bytes" under key (the
 * CRC of ft_conform_crc32). Returns whether the read worked (a failed read is recorded under
 * the key as "read failed: ..."). buf (may be NULL) receives the bytes when cap >= len. */
bool ft_conform_dfu_digest(ft_conform_dfu *d, const char *key, uint32_t addr, uint32_t len,
                           uint8_t *buf, size_t cap);

/* Records "CRC32 0x........ over 0x.... bytes at 0x........" of data (len bytes read at addr)
 * under key: the answer ft_conform_dfu_digest records, for bytes another client read. */
void ft_conform_record_digest(ft_conform_record *rec, const char *key, uint32_t addr,
                              const uint8_t *data, size_t len);

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, init and final XOR 0xFFFFFFFF: "123456789" gives
 * 0xCBF43926). */
uint32_t ft_conform_crc32(const uint8_t *data, size_t len);

#endif
