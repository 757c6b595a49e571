# loopback.sh: runs inside the lab guest (ci/lab/vm.sh) for emu/tests/test_usbip_kernel: attaches
# the loopback device (models/usb_loopback, 1209:0001) that the test serves, waits until the
# kernel has enumerated it, and records what the kernel's USB/IP and USB tools see of it:
# lsusb.log (lsusb -v), port.log (usbip port). Exits non-zero at the first step that fails.
set -e
timeout 30 usbip attach -r 127.0.0.1 -b 1-1
timeout 30 sh -c 'until grep -qx 1209 /sys/bus/usb/devices/*/idVendor; do sleep 0.1; done' \
	2>/dev/null
timeout 30 lsusb -v -d 1209:0001 >lsusb.log 2>&1
timeout 30 usbip port >port.log 2>&1
