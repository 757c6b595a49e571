# clients.sh: runs inside the lab guest (ci/lab/vm.sh), in the board's output directory, as
# POSIX sh in a chroot of this machine's root. Attaches the emulated board over USB/IP and points
# unmodified USB host software at it, one step after the other on the one attached device.
#
# Reads ./lab.env (ci/lab/board.sh writes it): BOARD, BUSID, FLASHTWIN and FLASHTWIN_CONFORM
# (the binaries), CONFORM_FILTER and CONFORM_DFU_UTIL, and the inputs image.bin and image2.bin
# (images of one size to program at the start of flash, with dfu-util and with flashtwin) and
# ram.bin (bytes aimed at RAM the ROM does not accept).
# Writes, per step, NAME.log (its output) and a line "NAME EXPECT STATUS SECONDS" in steps.txt,
# EXPECT being "ok", "fail" (steps that show a refusal) or "any" (the log tells); and what the
# clients read: upload.bin, ft-read.bin, option-bytes.bin, conform-usb.json and
# conform-dfu-util.json.
# Every command is bounded by `timeout` (steps.sh); a step that fails does not stop the ones after
# it, so one boot reports everything.
. ./lab.env
. "$(dirname "$0")/steps.sh"

: >steps.txt
attach_board "$BUSID" 0483
step lsusb ok lsusb -v -d 0483:df11
step dfu-list ok dfu-util -l

# DfuSe mode: erase the sectors the image covers, program, then read the same range back.
size=$(stat -c %s image.bin)
step download ok dfu-util -a 0 -s 0x08000000 -D image.bin
rm -f upload.bin
step upload ok dfu-util -a 0 -s "0x08000000:$size" -U upload.bin
step compare ok cmp image.bin upload.bin

# flashtwin over its usb (libusb) transport, on the same kernel path: what it identifies, a
# second image programmed (erase, write, verify), then read back.
step ft-info ok "$FLASHTWIN" info --connect usb --board "$BOARD"
step ft-flash ok "$FLASHTWIN" flash image2.bin --address 0x08000000 --connect usb --board "$BOARD"
rm -f ft-read.bin
step ft-read ok "$FLASHTWIN" read --connect usb 0x08000000 "$size" -o ft-read.bin
step ft-compare ok cmp image2.bin ft-read.bin

# Alternate setting 1: the option bytes, at the address its layout string names; dfu-util
# limits the upload to the size the layout gives.
ob=$(sed -n 's|.*alt=1, name="@[^/]*/\(0x[0-9A-Fa-f]*\)/.*|\1|p' dfu-list.log | head -n 1)
rm -f option-bytes.bin
step option-bytes ok dfu-util -a 1 -s "${ob:-0x5200201C}" -U option-bytes.bin

# RAM_D2 (0x30000000) is outside the ROM's windows. dfu-util refuses addresses its layout string
# does not list unless told "force"; then the ROM's answer to SET_ADDRESS is errTARGET, which
# dfu-util shows as the device's state when it next opens it.
step ram-reject fail dfu-util -a 0 -s 0x30000000:force -D ram.bin
rm -f probe.bin
step error-state ok dfu-util -a 0 -s 0x08000000:16 -U probe.bin

# The conformance scenarios with flashtwin over libusb as the client (the device target "usb",
# as on a real board), then those that have a dfu-util version with dfu-util as the client;
# conform.sh runs them on this machine over usbip:// and compares the three clients.
step conform-usb any "$FLASHTWIN_CONFORM" --target usb --board "$BOARD" \
	--filter "$CONFORM_FILTER" --json conform-usb.json --flashtwin "$FLASHTWIN"
# Last: its D13 leaves DFU mode with dfu-util's ":leave" (jump to the application), after which
# the device is gone. The ROM resets without answering the GETSTATUS that follows, which
# dfu-util reports as "Error during download get_status".
step conform-dfu-util any "$FLASHTWIN_CONFORM" --target usb --board "$BOARD" \
	--client dfu-util --filter "$CONFORM_DFU_UTIL" --json conform-dfu-util.json \
	--flashtwin "$FLASHTWIN" --work-dir "$PWD/conform-dfu-util-work" --keep-work
sleep 1
lsusb >lsusb-after-leave.log 2>&1
exit 0
