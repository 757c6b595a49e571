/* Raw binary reader: the whole file is one segment at an address the user gives ("FILE@ADDR" or
 * --address), because the file itself carries none (CATALOGUE §4.5: no silent default). */
#include <stdlib.h>
#include <string.h>

#include "programmer/image/reader.h"

static ft_error bin_read(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	if (!src->has_address)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, src->name,
		                   "raw binary needs an address: FILE@ADDR or --address");
	if ((uint64_t)src->address + src->len > (1ull << 32))
		return ft_diag_set(diag, FT_ERR_RANGE, src->name,
		                   "%zu bytes at 0x%08x would run past 4 GiB", src->len,
		                   (unsigned)src->address);
	uint8_t *data = malloc(src->len);
	if (!data)
		return ft_diag_set(diag, FT_ERR_NO_MEM, src->name, "out of memory");
	memcpy(data, src->bytes, src->len);
	ft_segment proto = {
	    .addr = src->address,
	    .size = (uint32_t)src->len,
	    .mem_size = (uint32_t)src->len,
	    .run_addr = src->address,
	    .index = -1,
	    .dfu_target = -1,
	};
	return ft_image_sink_segment(sink, &proto, data, diag);
}

static const char *const bin_extensions[] = {".bin", NULL};

const ft_image_reader ft_image_reader_bin = {
    .format = FT_IMAGE_BIN,
    .extensions = bin_extensions,
    .probe = NULL,
    .read = bin_read,
};
