# emu.sh: sourced by board.sh and bench.sh (bash).
#
# start_emu BUILD BOARD_FILE STATE LOG TIMING: starts BUILD/flashtwin-emu for the board with the
# state directory STATE on a free loopback port, in TIMING (instant or real), stdout and stderr
# into LOG; waits at most 30 s for its ready line and sets EMU_PID, EMU_URL
# (usbip://127.0.0.1:PORT/BUSID), EMU_PORT and EMU_BUSID. Returns 1, with the emulator stopped,
# when it did not come up.
start_emu() {
	"$1/flashtwin-emu" --board "$2" --state "$3" --listen 127.0.0.1:0 --timing "$5" \
		--on-leave exit >"$4" 2>&1 &
	EMU_PID=$!
	EMU_URL=
	local i
	for ((i = 0; i < 300; i++)); do
		EMU_URL=$(grep -o -m 1 'usbip://127\.0\.0\.1:[0-9]*/[0-9][0-9.-]*' "$4" || true)
		[[ -n $EMU_URL ]] && break
		kill -0 "$EMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z $EMU_URL ]]; then
		stop_emu
		return 1
	fi
	EMU_PORT=${EMU_URL#usbip://127.0.0.1:}
	EMU_PORT=${EMU_PORT%%/*}
	EMU_BUSID=${EMU_URL##*/}
}

# stop_emu: stops the emulator start_emu started (SIGTERM: it writes its state and exits), if it
# still runs.
stop_emu() {
	kill "$EMU_PID" 2>/dev/null || true
	wait "$EMU_PID" 2>/dev/null || true
}
