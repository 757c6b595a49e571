# loopback.sh: runs inside the lab guest (ci/lab/vm.sh) for emu/tests/test_usbip_kernel: attaches
# the loopback device (models/usb_loopback, 1209:0001) that the test serves, waits until the
# kernel has enumerated it, and records what the kernel's USB/IP and USB tools see of it:
# lsusb.log (lsusb -v), port.log (usbip port). Exits non-zero at the first step that fails.
. "$(dirname "$0")/steps.sh"

: >steps.txt
attach_board 1-1 1209 && step lsusb ok lsusb -v -d 1209:0001 && step port ok usbip port
