/* The debug port's target (dap_port.h) on an emulated board: the core behind a GDB server
 * (QEMU's gdbstub), reached with our GDB client. Memory accesses while the core runs stop it,
 * access, resume it; a reset is a write of AIRCR.SYSRESETREQ through the gdbstub (flashtwin's
 * QEMU overlay routes debugger writes to AIRCR; docs/gdb.md). Quirk qemu-no-bkpt-halt: see the
 * .c. Shared by the debug port's front ends (the remote_bitbang bridge, the CMSIS-DAP probe).
 *
 * Threading: one thread drives a target. Never prints.
 */
#ifndef FT_DAP_GDB_TARGET_H
#define FT_DAP_GDB_TARGET_H

#include "emu/dap_port.h"
#include "models/error.h"

typedef struct ft_dap_gdb_target ft_dap_gdb_target;

/* Connects to the GDB server gdb ("gdb://127.0.0.1:PORT"); the core must be halted (QEMU -S).
 * Returns FT_OK with *out, FT_ERR_NO_MEM, or ft_gdb_open's errors. */
ft_error ft_dap_gdb_target_open(const char *gdb, ft_dap_gdb_target **out, ft_diag *diag);

/* The target to give a debug port; valid until ft_dap_gdb_target_close. */
ft_dap_target ft_dap_gdb_target_get(ft_dap_gdb_target *t);

/* Closes the GDB session without detaching (the core stays as it is). NULL is allowed. */
void ft_dap_gdb_target_close(ft_dap_gdb_target *t);

#endif
