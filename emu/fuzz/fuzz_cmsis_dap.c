/* Fuzzes the CMSIS-DAP probe (emu/cmsis_dap.h): the input is a run of command packets, each a
 * length byte (taken modulo FT_CMSIS_DAP_PACKET + 2, so empty and over-long packets come too)
 * then that many bytes, fed to a fresh probe whose target is fake_target.h's. A packet refused
 * as a protocol error ends the run, as it closes a connection. A response longer than a packet,
 * a crash or a sanitizer report is a finding. */
#include <stdlib.h>
#include <string.h>

#include "emu/cmsis_dap.h"
#include "emu/fuzz/fake_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fake f;
	memset(&f, 0, sizeof(f));
	ft_cmsis_dap *d = ft_cmsis_dap_new(&(ft_dap_target){&fake_ops, &f, true}, "FUZZ");
	if (!d)
		return 0;
	size_t off = 0;
	while (off < size) {
		size_t len = data[off++] % (FT_CMSIS_DAP_PACKET + 2u);
		if (len > size - off)
			len = size - off;
		/* a copy of exactly len bytes, so reading past the packet is caught */
		uint8_t *req = malloc(len ? len : 1);
		if (!req)
			break;
		memcpy(req, data + off, len);
		off += len;
		uint8_t resp[FT_CMSIS_DAP_PACKET];
		size_t resp_len = 0;
		ft_diag diag;
		ft_diag_clear(&diag);
		ft_error err = ft_cmsis_dap_command(d, req, len, resp, &resp_len, &diag);
		free(req);
		if (resp_len > sizeof(resp))
			abort();
		if (err != FT_OK)
			break;
	}
	ft_cmsis_dap_free(d);
	return 0;
}
