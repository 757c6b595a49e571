# pyocd.sh: runs inside the lab guest (ci/lab/vm.sh) for emu/tests/test_pyocd: attaches the
# CMSIS-DAP probe that `flashtwin-emu --cmsis-dap` exports (emu/cmsis_dap_usb, 1209:0002) and runs
# Debian's pyOCD 0.13, unmodified, against it: list.log (pyocd-gdbserver -l), read32.log
# (pyocd-tool read32 of DBGMCU_IDCODE). Exits non-zero at the first step that fails.
# pyocd-gdbserver itself is not run: Debian's 0.13.1 dies on Python 3.11 right after "GDB server
# started" (gdb_server.py calls Thread.isAlive, removed in Python 3.9; docs/gdb.md).
. "$(dirname "$0")/steps.sh"

: >steps.txt
attach_board 1-1 1209 &&
	step list ok pyocd-gdbserver -l &&
	step read32 ok pyocd-tool -t cortex_m read32 0x5C001000
