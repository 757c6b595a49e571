# steps.sh: sourced by the lab's guest scripts (clients.sh, bench-clients.sh).
#
# step NAME EXPECT COMMAND...: runs COMMAND, at most 120 s, its output into NAME.log, and appends
# "NAME EXPECT STATUS SECONDS" to steps.txt, EXPECT being "ok", "fail" (a step that shows a
# refusal) or "any" (its log tells). Returns COMMAND's status.
step() {
	name=$1 expect=$2
	shift 2
	start=$(date +%s.%N)
	timeout -k 5 120 "$@" >"$name.log" 2>&1
	status=$?
	end=$(date +%s.%N)
	secs=$(echo "$end $start" | awk '{printf "%.2f", $1 - $2}')
	echo "$name $expect $status $secs" >>steps.txt
	return $status
}

# attach_board BUSID VID: steps "attach" (usbip attach of BUSID through the relay on guest port
# 3240) and, when it worked, "enumerate" (until a device with idVendor VID, 4 hex digits, shows
# in sysfs).
attach_board() {
	step attach ok usbip attach -r 127.0.0.1 -b "$1" &&
		step enumerate ok sh -c \
			"until grep -qx $2 /sys/bus/usb/devices/*/idVendor; do sleep 0.1; done"
}
