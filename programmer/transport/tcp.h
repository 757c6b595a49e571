/* Deadline-bounded descriptor I/O shared by the socket transports (usbip_client, gdb_stream):
 * the monotonic millisecond clock every deadline is counted in, a wait for a descriptor to become
 * ready, and a TCP connect (name resolution, a non-blocking connect per resolved address within
 * one deadline, TCP_NODELAY).
 *
 * Blocking: each call returns by its deadline (name resolution aside, which getaddrinfo bounds).
 * Nothing here keeps state; every function may be called from any thread.
 */
#ifndef FT_TCP_H
#define FT_TCP_H

#include <stdint.h>

#include "models/error.h"

/* Milliseconds of the host's monotonic clock (CLOCK_MONOTONIC): the time base of every
 * deadline_ms in the transports. */
uint64_t ft_tcp_now_ms(void);

/* Waits until fd (any descriptor poll() accepts: a socket, a terminal) reports one of events
 * (POLLIN, POLLOUT) or deadline_ms passes; EINTR is retried. Returns FT_OK; FT_ERR_TIMEOUT;
 * FT_ERR_IO with errno set by poll(). Fills no diagnostic: the caller knows what it waited for. */
ft_error ft_tcp_wait(int fd, short events, uint64_t deadline_ms);

/* Puts fd (a descriptor handed in from outside) in non-blocking mode, as every wait here
 * expects. Returns FT_OK, or FT_ERR_IO with diag naming label. */
ft_error ft_tcp_set_nonblocking(int fd, const char *label, ft_diag *diag);

/* Resolves host (a name, an IPv4 or an IPv6 address without brackets) and port, and connects a
 * stream socket to each resolved address in turn until one accepts, all before deadline_ms.
 * label names the peer in diag's origin ("gdb://host:3333"). refused_hint (may be NULL) is
 * appended to the message when the peer refused the connection ("is the GDB server running?").
 * Returns FT_OK with *out: a connected socket, non-blocking, close-on-exec, TCP_NODELAY set (the
 * protocols here are request/reply: no Nagle delay), which the caller closes. Otherwise *out is -1
 * and: FT_ERR_NOT_FOUND (the name does not resolve); FT_ERR_TIMEOUT (no address answered in
 * time); FT_ERR_IO (refused, unreachable: "cannot connect to HOST port PORT: REASON"). */
ft_error ft_tcp_connect(const char *host, uint16_t port, uint64_t deadline_ms, const char *label,
                        const char *refused_hint, int *out, ft_diag *diag);

#endif
