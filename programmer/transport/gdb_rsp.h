/* GDB remote serial protocol framing (GDB manual, "Remote Protocol": Overview, Packet
 * Acknowledgment, Interrupts, Notification Packets) over an ft_gdb_stream.
 *
 * A packet is '$' payload '#' and two hex digits of the payload bytes' sum modulo 256. In a
 * payload '}' escapes the next byte (sent XOR 0x20); we escape '$', '#', '}' and '*' in
 * everything we send, which binary X packets need and no text packet contains. Replies may be
 * run-length encoded: "c*N" repeats c a further N - 29 times (N printable); this layer expands
 * runs as GDB's read_frame does, while escapes in a reply are left for the caller to undo with
 * ft_gdb_rsp_unescape, because only binary replies (qXfer) carry them.
 *
 * Acknowledgement mode (the initial state): each packet is answered '+' (good) or '-' (bad
 * checksum: send it again). We retransmit after '-' and ask for retransmission of a corrupt
 * reply, at most `retries` times each. After QStartNoAckMode is accepted the caller switches
 * acknowledgements off (ft_gdb_rsp_set_ack_mode); a corrupt reply is then a protocol error.
 * Notification packets ('%' ... '#' cs) are skipped: we run in all-stop mode. Bytes outside a
 * packet (stray acknowledgements, console noise) are skipped, up to FT_GDB_RSP_GARBAGE_LIMIT.
 *
 * Trust: the server is a peer. Every reply is bounded by the caller's buffer and by a deadline;
 * a hostile server costs at most the timeout and an error, never a crash or a hang. After a reply
 * timed out or broke the framing, a later reply could be taken for the answer to a later request,
 * so ft_gdb_rsp_exchange then marks the session broken: every later call fails with the first
 * reason.
 *
 * Threading: one thread at a time. Ownership: the session owns its stream.
 */
#ifndef FT_GDB_RSP_H
#define FT_GDB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "programmer/transport/gdb_stream.h"

#define FT_GDB_RSP_DEFAULT_TIMEOUT_MS 3000u
#define FT_GDB_RSP_DEFAULT_RETRIES    3u
/* Bytes outside any packet skipped while waiting for one before the stream is called garbage. */
#define FT_GDB_RSP_GARBAGE_LIMIT 4096u
/* The interrupt request: a lone ETX byte outside any packet (GDB manual, "Interrupts"). */
#define FT_GDB_RSP_INTERRUPT 0x03

typedef struct ft_gdb_rsp_options {
	unsigned timeout_ms; /* per packet exchange; 0 means FT_GDB_RSP_DEFAULT_TIMEOUT_MS */
	unsigned retries;    /* retransmissions either way; 0 means FT_GDB_RSP_DEFAULT_RETRIES */
} ft_gdb_rsp_options;

/* Counters, for benchmarks and tests. */
typedef struct ft_gdb_rsp_stats {
	uint64_t packets_sent, packets_received;
	uint64_t bytes_sent, bytes_received; /* on the wire, framing included */
	uint64_t retransmits;                /* our packets sent again after a '-' */
	uint64_t nacks_sent;                 /* '-' we sent for a corrupt reply */
	uint64_t notifications;              /* '%' packets skipped */
	uint64_t garbage;                    /* bytes skipped outside packets */
} ft_gdb_rsp_stats;

typedef struct ft_gdb_rsp ft_gdb_rsp;

/* Starts a session on stream, in acknowledgement mode. The session owns the stream from here on,
 * also when this fails. opts may be NULL. Returns FT_OK with *out, or FT_ERR_NO_MEM. */
ft_error ft_gdb_rsp_new(ft_gdb_stream *stream, const ft_gdb_rsp_options *opts, ft_gdb_rsp **out,
                        ft_diag *diag);

/* Closes the stream and frees the session. NULL is allowed. */
void ft_gdb_rsp_free(ft_gdb_rsp *rsp);

/* The stream's description ("gdb://127.0.0.1:3333"). */
const char *ft_gdb_rsp_describe(const ft_gdb_rsp *rsp);

/* Sends one packet with payload[0..len) (escaped here) and, in acknowledgement mode, waits for
 * '+', sending the packet again after each '-' up to `retries` times. A '$' where the '+' should
 * be is taken as the acknowledgement (some stubs skip it) and left for the next receive. Returns
 * FT_OK; FT_ERR_TIMEOUT (no acknowledgement in time); FT_ERR_PROTOCOL (too many '-', or garbage
 * instead of an acknowledgement); FT_ERR_IO; FT_ERR_STATE when the session is broken. */
ft_error ft_gdb_rsp_send(ft_gdb_rsp *rsp, const void *payload, size_t len, ft_diag *diag);

/* Receives the next packet within timeout_ms (0 means the session's timeout), with runs expanded,
 * into buf[0..cap) (cap >= 1) followed by a NUL; *len excludes the NUL. Acknowledges it in
 * acknowledgement mode; a corrupt packet is answered '-' and awaited again up to `retries` times.
 * Returns FT_OK; FT_ERR_TIMEOUT (the session stays usable when no byte of a packet had arrived);
 * FT_ERR_PROTOCOL (bad checksum without acknowledgements or too often, a run without a preceding
 * character or with a bad count, a packet longer than cap - 1: it is read to its end and
 * dropped, garbage); FT_ERR_IO; FT_ERR_STATE (broken). A timeout or protocol error in the middle
 * of a packet breaks the session. */
ft_error ft_gdb_rsp_recv(ft_gdb_rsp *rsp, uint8_t *buf, size_t cap, size_t *len,
                         unsigned timeout_ms, ft_diag *diag);

/* Sends a request and receives its reply within the session's timeout. A failure after the
 * request was sent breaks the session (the reply may still be on its way). Returns as send and
 * recv. */
ft_error ft_gdb_rsp_exchange(ft_gdb_rsp *rsp, const void *payload, size_t len, uint8_t *buf,
                             size_t cap, size_t *reply_len, ft_diag *diag);

/* Sends the interrupt byte (0x03). The stop reply, if the target halts, is a normal packet for
 * ft_gdb_rsp_recv. Returns FT_OK, FT_ERR_IO, FT_ERR_TIMEOUT or FT_ERR_STATE. */
ft_error ft_gdb_rsp_interrupt(ft_gdb_rsp *rsp, ft_diag *diag);

/* Acknowledgement mode: true at the start; set false once the server accepted QStartNoAckMode. */
void ft_gdb_rsp_set_ack_mode(ft_gdb_rsp *rsp, bool acks);
bool ft_gdb_rsp_ack_mode(const ft_gdb_rsp *rsp);

/* Marks the session broken with the given reason (callers that detect a desynchronised
 * conversation themselves: an unsolicited reply, a target that ignores an interrupt). Every
 * later call returns FT_ERR_STATE citing it. */
void ft_gdb_rsp_break(ft_gdb_rsp *rsp, const ft_diag *reason);
bool ft_gdb_rsp_is_broken(const ft_gdb_rsp *rsp);

const ft_gdb_rsp_stats *ft_gdb_rsp_get_stats(const ft_gdb_rsp *rsp);

/* Undoes '}' escapes in place (binary replies); returns the new length. A '}' as the last byte is
 * FT_ERR_PROTOCOL. */
ft_error ft_gdb_rsp_unescape(uint8_t *buf, size_t len, size_t *out_len, ft_diag *diag);

#endif
