/* Fuzzes the debug-port bridge's wire (emu/dap_bridge.h): the input is the byte stream of a
 * remote_bitbang peer, fed to a fresh wire whose target is a 4 KiB memory (every address maps
 * into it), a register file and a run state. Bytes below 0xF0 are mapped onto the JTAG commands
 * ('0'..'7', 'R') so most inputs drive the TAPs, the DP and the APs deep; bytes from 0xF0 on go
 * as one of 16 others by their low nibble (resets, LED, sleep, quit, bytes outside the protocol)
 * (hostile input: the feed must refuse it cleanly). Any crash or sanitizer report is a finding. */
#include "emu/dap_bridge.h"

#include <stdlib.h>
#include <string.h>

#include "emu/fuzz/fake_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t commands[] = "01234567R";
	/* resets, LED, sleep, quit, and bytes outside the protocol */
	static const uint8_t others[16] = "rstuBbZzQ\x00\xff!A~#\n";
	static fake f;
	memset(&f, 0, sizeof(f));
	ft_dap_wire *w = ft_dap_wire_new(&(ft_dap_target){&fake_ops, &f, true});
	if (!w)
		return 0;
	uint8_t *in = malloc(size + 1), *out = malloc(size + 1);
	if (in && out) {
		for (size_t i = 0; i < size; i++)
			in[i] = data[i] < 0xF0 ? commands[data[i] % 9]
			                       : (uint8_t)(data[i] & 0x0F) + 'A';
		size_t out_len;
		bool quit;
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_dap_wire_feed(w, in, size, out, &out_len, &quit, &diag) == FT_OK &&
		    out_len > size)
			abort();
	}
	free(in);
	free(out);
	ft_dap_wire_free(w);
	return 0;
}
