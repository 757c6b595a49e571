# bench-clients.sh: runs inside the lab guest for ci/lab/bench.sh, like clients.sh (same lab.env
# and steps.txt): flashes the same image.bin at the start of flash three times on the one
# attached board, with dfu-util -D (erase, write), flashtwin flash --no-verify (the same work)
# and flashtwin flash (erase, write, read back and compare), both over libusb.
. ./lab.env
. "$(dirname "$0")/steps.sh"

: >steps.txt
attach_board "$BUSID" 0483 || exit 1
step dfu-util ok dfu-util -a 0 -s 0x08000000 -D image.bin
step flashtwin-no-verify ok "$FLASHTWIN" flash image.bin --address 0x08000000 --connect usb \
	--board "$BOARD" --no-verify
step flashtwin ok "$FLASHTWIN" flash image.bin --address 0x08000000 --connect usb \
	--board "$BOARD"
