#!/usr/bin/env bash
# vm.sh PORT SCRIPT OUTDIR: boots the lab guest with the host's USB/IP server at 127.0.0.1:PORT
# and runs SCRIPT (an absolute host path) as a shell script inside it.
#
# The guest is Debian's x86-64 kernel (ci/lab/image.sh) under qemu-system-x86_64 with TCG (KVM
# hangs on these machines) and no network device. It sees this machine's root file system
# read-only over virtio 9p, and OUTDIR read-write at the same path; the script runs with OUTDIR as
# its working directory, in a chroot of that root, so it uses this machine's usbip, lsusb,
# dfu-util and our build tree. Guest TCP 127.0.0.1:(3240+k), k < FT_LAB_CONNECTIONS (default 2),
# reaches 127.0.0.1:PORT through the k-th virtio-serial port: QEMU opens all those connections
# when it starts, and each carries one USB/IP session (an attach, or one list).
#
# Writes into OUTDIR: console.log (serial console), script.log (the script's output),
# guest-ready, guest-status, dmesg.txt (ci/lab/init), vm-seconds (wall time of the boot and run).
# Exit status: the script's, or 124 when the guest ran out of time (FT_LAB_TIMEOUT seconds for
# the whole boot, default 420), or 125 when the guest did not get to run the script.
set -euo pipefail
port=${1:?usage: vm.sh PORT SCRIPT OUTDIR}
script=$(realpath "${2:?usage: vm.sh PORT SCRIPT OUTDIR}")
out=$(realpath "${3:?usage: vm.sh PORT SCRIPT OUTDIR}")
here=$(cd "$(dirname "$0")" && pwd)
limit=${FT_LAB_TIMEOUT:-420}
connections=${FT_LAB_CONNECTIONS:-2}
case $out$script in
*[[:space:]]*) echo "vm.sh: paths with white space are not supported" >&2; exit 2 ;;
esac

read -r vmlinuz initrd < <("$here/image.sh")
rm -f "$out"/{console.log,script.log,guest-ready,guest-status,dmesg.txt,vm-seconds}

serial=()
for ((k = 0; k < connections; k++)); do
	serial+=(-chardev "socket,id=usbip$k,host=127.0.0.1,port=$port"
		-device "virtserialport,bus=vser.0,chardev=usbip$k,name=usbip$k")
done

guest_args="ftlab_out=$out ftlab_script=$script ftlab_timeout=$((limit - 20))"
start=$(date +%s.%N)
status=0
# The guest's own timeout is shorter, so that it can still save its kernel log. no_timer_check:
# under TCG on a loaded host the kernel's IO-APIC timer check can miss its ticks and panic
# ("IO-APIC + timer doesn't work!") before init runs.
timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 \
	-nodefaults -display none -no-reboot -serial "file:$out/console.log" \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 no_timer_check $guest_args" \
	-fsdev local,id=host,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=host,mount_tag=host \
	-fsdev local,id=out,path="$out",security_model=none \
	-device virtio-9p-pci,fsdev=out,mount_tag=out \
	-device virtio-serial-pci,id=vser "${serial[@]}" || status=$?
echo "$(date +%s.%N) $start" | awk '{printf "%.1f\n", $1 - $2}' >"$out/vm-seconds"

if [[ -f $out/guest-status ]]; then
	exit "$(cat "$out/guest-status")"
elif ((status == 124 || status == 137)); then
	echo "vm.sh: the guest ran out of time ($limit s); see $out/console.log" >&2
	exit 124
fi
echo "vm.sh: the guest did not run the script (qemu exit $status); see $out/console.log" >&2
exit 125
