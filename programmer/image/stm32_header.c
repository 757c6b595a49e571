#include "programmer/image/stm32_header.h"

#include <string.h>

#define OFF_MAGIC     0x00u
#define OFF_SIGNATURE 0x04u
#define SIGNATURE_LEN 96u
#define OFF_CHECKSUM  0x64u
#define OFF_VERSION   0x68u
#define OFF_LENGTH    0x6Cu
#define OFF_ENTRY     0x70u
#define OFF_LOAD      0x78u
#define OFF_IMAGE_VER 0x80u
#define OFF_FLAGS     0x84u
#define OFF_TYPE      0x8Cu
#define NO_LOAD       0xFFFFFFFFu
#define ORIGIN        "STM32 header"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t byte_sum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

ft_error ft_stm32_header_check(const uint8_t *bytes, size_t len, ft_stm32_header *out,
                               ft_diag *diag)
{
	if (!bytes || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, ORIGIN, "NULL argument");
	memset(out, 0, sizeof(*out));
	if (len < 4 || (out->magic = get32(bytes + OFF_MAGIC)) != FT_STM32_HEADER_MAGIC)
		return ft_diag_set(
		    diag, FT_ERR_FORMAT, ORIGIN " 0x00 magic",
		    "no \"STM2\" magic: the boot ROM finds no image and does not boot");
	if (len < FT_STM32_HEADER_SIZE)
		return ft_diag_set(diag, FT_ERR_FORMAT, ORIGIN,
		                   "only %zu bytes: the header and its padding take 0x%x", len,
		                   FT_STM32_HEADER_SIZE);
	out->checksum = get32(bytes + OFF_CHECKSUM);
	out->version = get32(bytes + OFF_VERSION);
	out->length = get32(bytes + OFF_LENGTH);
	out->entry = get32(bytes + OFF_ENTRY);
	out->load = get32(bytes + OFF_LOAD);
	out->image_version = get32(bytes + OFF_IMAGE_VER);
	out->flags = get32(bytes + OFF_FLAGS);
	out->type = get32(bytes + OFF_TYPE);
	out->signature_zero = true;
	for (size_t i = 0; i < SIGNATURE_LEN; i++)
		out->signature_zero &= bytes[OFF_SIGNATURE + i] == 0;
	if (out->version != FT_STM32_HEADER_V23)
		return ft_diag_set(diag, FT_ERR_FORMAT, ORIGIN " 0x68 version",
		                   "version bytes %02x %02x %02x %02x, not 00 03 02 00 (v2.3): the "
		                   "STM32N6 boot ROM reads header v2.3",
		                   bytes[OFF_VERSION], bytes[OFF_VERSION + 1],
		                   bytes[OFF_VERSION + 2], bytes[OFF_VERSION + 3]);
	if (out->length == 0 || out->length > FT_STM32_N6_IMAGE_MAX - FT_STM32_HEADER_SIZE)
		return ft_diag_set(
		    diag, FT_ERR_FORMAT, ORIGIN " 0x6C length",
		    "payload length 0x%x: the boot ROM loads 1 to 0x%x bytes after the "
		    "header",
		    out->length, FT_STM32_N6_IMAGE_MAX - FT_STM32_HEADER_SIZE);
	if (out->length > len - FT_STM32_HEADER_SIZE)
		return ft_diag_set(diag, FT_ERR_FORMAT, ORIGIN " 0x6C length",
		                   "payload length 0x%x but only 0x%zx bytes follow the header",
		                   out->length, len - FT_STM32_HEADER_SIZE);
	uint32_t entry = out->entry & ~1u;
	if (!(out->entry & 1u) || entry < FT_STM32_N6_FSBL_RUN ||
	    entry - FT_STM32_N6_FSBL_RUN >= out->length)
		return ft_diag_set(
		    diag, FT_ERR_FORMAT, ORIGIN " 0x70 entry",
		    "entry point 0x%08x is not a Thumb address inside the payload as "
		    "the boot ROM places it (0x%08x..0x%08x)",
		    out->entry, FT_STM32_N6_FSBL_RUN, FT_STM32_N6_FSBL_RUN + out->length - 1);
	uint32_t sum = byte_sum(bytes + FT_STM32_HEADER_SIZE, out->length);
	if (sum != out->checksum)
		return ft_diag_set(
		    diag, FT_ERR_VERIFY, ORIGIN " 0x64 checksum",
		    "checksum 0x%08x but the payload's byte sum is 0x%08x: the boot ROM "
		    "refuses the image",
		    out->checksum, sum);
	return FT_OK;
}

ft_error ft_stm32_header_build_fsbl(const uint8_t *payload, size_t len, uint8_t *out, ft_diag *diag)
{
	if (!payload || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, ORIGIN, "NULL argument");
	if (len < 8 || len > FT_STM32_N6_IMAGE_MAX - FT_STM32_HEADER_SIZE)
		return ft_diag_set(diag, FT_ERR_RANGE, ORIGIN,
		                   "payload of %zu bytes: a vector table of 8 bytes at least, 0x%x "
		                   "at most",
		                   len, FT_STM32_N6_IMAGE_MAX - FT_STM32_HEADER_SIZE);
	memset(out, 0, FT_STM32_HEADER_SIZE);
	put32(out + OFF_MAGIC, FT_STM32_HEADER_MAGIC);
	put32(out + OFF_CHECKSUM, byte_sum(payload, len));
	put32(out + OFF_VERSION, FT_STM32_HEADER_V23);
	put32(out + OFF_LENGTH, (uint32_t)len);
	put32(out + OFF_ENTRY, get32(payload + 4));
	put32(out + OFF_LOAD, NO_LOAD);
	put32(out + OFF_TYPE, FT_STM32_HEADER_FSBL);
	return FT_OK;
}
