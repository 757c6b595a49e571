/* The DfuSe writer and reader: the byte layout of UM0391 (prefix 11 bytes, target prefix 274,
 * element header 8, DFU suffix 16), the suffix CRC as dfu-util computes it, a writer -> reader
 * round trip, and refusal of every size, count and offset that does not fit the file. Offsets are
 * written as literals from UM0391. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/tests/ft_test.h"
#include "programmer/image/dfuse_write.h"
#include "programmer/image/image.h"

/* UM0391 offsets in the fixture file: target 0 at 11, its elements at 285 (+24 for the second),
 * target 1 at 11 + 274 + 24 + 12 = 321. */
#define PREFIX_IMAGE_SIZE 6
#define PREFIX_TARGETS    10
#define T0                11
#define T1                321
#define T_ALT             6
#define T_NAMED           7
#define T_NAME            11
#define T_SIZE            266
#define T_ELEMENTS        270
#define T0_E0             285
#define T0_E1             309

static ft_image *image;
static ft_diag diag;
static uint8_t *file;
static size_t file_len;

static const uint8_t flash[16] = {0x00, 0x00, 0x02, 0x20, 0x41, 0x01, 0x00, 0x08,
                                  0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
static const uint8_t more[4] = {0xaa, 0xbb, 0xcc, 0xdd};
static const uint8_t opt[3] = {0xf0, 0x0f, 0x5a};

/* alt 0: 0x08000000+16, 0x08020000+4 (plus an empty segment, left out); alt 1: 0x1ff00000+3. */
static const ft_segment fixture[] = {
    {.addr = 0x08000000, .size = 16, .data = flash, .dfu_alt = 0},
    {.addr = 0x1ff00000, .size = 3, .data = opt, .dfu_alt = 1, .dfu_target_name = "@Option Bytes"},
    {.addr = 0x08010000, .size = 0, .data = NULL, .dfu_alt = 0},
    {.addr = 0x08020000, .size = 4, .data = more, .dfu_alt = 0},
};

static const ft_dfuse_file_options ids = {0x0483, 0xdf11, 0x2200, "ST..."};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the suffix CRC after a test changed the file. */
static void reseal(uint8_t *bytes, size_t len)
{
	put32(bytes + len - 4, ft_dfuse_file_crc32(bytes, len - 4));
}

static void setup(void)
{
	image = ft_image_new();
	ft_diag_clear(&diag);
	file = NULL;
	file_len = 0;
	ft_dfuse_file_encode(fixture, 4, &ids, &file, &file_len, &diag);
}

static void teardown(void)
{
	ft_image_free(image);
	free(file);
}

static ft_error add(const uint8_t *bytes, size_t len)
{
	return ft_image_add_buffer(image, "fw.dfu", FT_IMAGE_DFUSE, bytes, len, false, 0, &diag);
}

/* Patches nothing; expects the (already patched, resealed) fixture to fail at offset. */
static void expect_error(size_t offset, const char *what)
{
	char origin[64];
	snprintf(origin, sizeof(origin), "fw.dfu offset 0x%zx", offset);
	FT_ASSERT_HEX(add(file, file_len), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, origin);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, what));
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
	FT_ASSERT_HEX(ft_image_file_count(image), 0);
}

static void test_crc_is_jamcrc_as_dfu_util_computes_it(void)
{
	FT_ASSERT_HEX(ft_dfuse_file_crc32((const uint8_t *)"123456789", 9), 0x340bc6d9);
	FT_ASSERT_HEX(ft_dfuse_file_crc32(NULL, 0), 0xffffffff);
}

static void test_writer_lays_out_prefix_target_element_and_suffix(void)
{
	static const uint8_t data[4] = {0xde, 0xad, 0xbe, 0xef};
	ft_segment seg = {.addr = 0x08000000, .size = 4, .data = data};
	uint8_t *out = NULL;
	size_t len = 0;
	FT_ASSERT_HEX(ft_dfuse_file_encode(&seg, 1, &ids, &out, &len, &diag), FT_OK);
	CU_ASSERT_FATAL(out != NULL);
	FT_ASSERT_HEX(len, 11 + 274 + 8 + 4 + 16);
	FT_ASSERT_BYTES(out, "DfuSe\x01", 6);
	FT_ASSERT_HEX(get32(out + 6), 11 + 274 + 12); /* DFUImageSize: without the suffix */
	FT_ASSERT_HEX(out[10], 1);
	FT_ASSERT_BYTES(out + T0, "Target\x00", 7);
	FT_ASSERT_HEX(get32(out + T0 + T_NAMED), 1);
	FT_ASSERT_BYTES(out + T0 + T_NAME, "ST...\0", 6);
	FT_ASSERT_HEX(get32(out + T0 + T_SIZE), 12);
	FT_ASSERT_HEX(get32(out + T0 + T_ELEMENTS), 1);
	FT_ASSERT_HEX(get32(out + T0_E0), 0x08000000);
	FT_ASSERT_HEX(get32(out + T0_E0 + 4), 4);
	FT_ASSERT_BYTES(out + T0_E0 + 8, data, 4);
	/* Suffix: bcdDevice, idProduct, idVendor, bcdDFU, "UFD", bLength, dwCRC. The CRC was
	 * computed independently (zlib.crc32(file[:-4]) ^ 0xffffffff). */
	FT_ASSERT_BYTES(out + len - 16, "\x00\x22\x11\xdf\x83\x04\x1a\x01UFD\x10", 12);
	FT_ASSERT_HEX(get32(out + len - 4), 0x52a27682);
	free(out);
}

static void test_round_trip_keeps_addresses_alts_and_names(void)
{
	CU_ASSERT_FATAL(file != NULL);
	FT_ASSERT_HEX(add(file, file_len), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	const ft_segment *a = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(a->addr, 0x08000000);
	FT_ASSERT_HEX(a->size, 16);
	FT_ASSERT_BYTES(a->data, flash, 16);
	FT_ASSERT_HEX(a->dfu_alt, 0);
	FT_ASSERT_HEX(a->dfu_target, 0);
	FT_ASSERT_HEX(a->index, 0);
	FT_ASSERT_HEX(a->format, FT_IMAGE_DFUSE);
	CU_ASSERT_STRING_EQUAL(a->dfu_target_name, "ST...");
	const ft_segment *b = ft_image_segment_at(image, 1);
	FT_ASSERT_HEX(b->addr, 0x08020000);
	FT_ASSERT_BYTES(b->data, more, 4);
	FT_ASSERT_HEX(b->index, 1);
	const ft_segment *c = ft_image_segment_at(image, 2);
	FT_ASSERT_HEX(c->addr, 0x1ff00000);
	FT_ASSERT_BYTES(c->data, opt, 3);
	FT_ASSERT_HEX(c->dfu_alt, 1);
	FT_ASSERT_HEX(c->dfu_target, 1);
	CU_ASSERT_STRING_EQUAL(c->dfu_target_name, "@Option Bytes");
	char origin[64];
	ft_segment_origin(b, origin, sizeof(origin));
	CU_ASSERT_STRING_EQUAL(origin, "fw.dfu target 0 element 1");
	const ft_image_file *f = ft_image_file_at(image, 0);
	CU_ASSERT(f->has_dfu_ids);
	FT_ASSERT_HEX(f->dfu_vendor, 0x0483);
	FT_ASSERT_HEX(f->dfu_product, 0xdf11);
	FT_ASSERT_HEX(f->dfu_device, 0x2200);
}

static void test_written_file_is_detected_and_read_back(void)
{
	char path[] = "/tmp/ft_dfuse_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	FT_ASSERT_HEX(ft_dfuse_file_write(fixture, 4, NULL, path, &diag), FT_OK);
	ft_image_input in = {path, FT_IMAGE_AUTO, false, 0};
	FT_ASSERT_HEX(ft_image_add_file(image, &in, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_file_at(image, 0)->format, FT_IMAGE_DFUSE);
	FT_ASSERT_HEX(ft_image_file_at(image, 0)->dfu_vendor, 0xffff);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	CU_ASSERT_PTR_NULL(ft_image_segment_at(image, 0)->dfu_target_name);
	unlink(path);
}

static void test_writer_refuses_what_a_dfuse_file_cannot_hold(void)
{
	uint8_t *out = NULL;
	size_t len = 0;
	ft_segment empty = {.addr = 0x08000000};
	FT_ASSERT_HEX(ft_dfuse_file_encode(&empty, 1, NULL, &out, &len, &diag), FT_ERR_INVALID_ARG);
	ft_segment nodata = {.addr = 0x08000000, .size = 4};
	FT_ASSERT_HEX(ft_dfuse_file_encode(&nodata, 1, NULL, &out, &len, &diag),
	              FT_ERR_INVALID_ARG);
	ft_segment wraps = {.addr = 0xfffffffe, .size = 4, .data = more};
	FT_ASSERT_HEX(ft_dfuse_file_encode(&wraps, 1, NULL, &out, &len, &diag), FT_ERR_INVALID_ARG);
	char name[300];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ft_dfuse_file_options longname = {0xffff, 0xffff, 0xffff, name};
	ft_segment ok = {.addr = 0x08000000, .size = 4, .data = more};
	FT_ASSERT_HEX(ft_dfuse_file_encode(&ok, 1, &longname, &out, &len, &diag),
	              FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(out);
}

static void test_zero_size_element_is_kept_with_a_note(void)
{
	/* Target 1's only element loses its 3 bytes: dwElementSize 0, dwTargetSize 8. */
	size_t e = T1 + 274;
	put32(file + e + 4, 0);
	put32(file + T1 + T_SIZE, 8);
	memmove(file + e + 8, file + e + 11, file_len - (e + 11));
	file_len -= 3;
	put32(file + PREFIX_IMAGE_SIZE, (uint32_t)file_len - 16);
	reseal(file, file_len);
	FT_ASSERT_HEX(add(file, file_len), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 2);
	FT_ASSERT_HEX(s->size, 0);
	CU_ASSERT_PTR_NULL(s->data);
	CU_ASSERT_PTR_NOT_NULL(strstr(ft_image_note_at(image, 0), "fw.dfu target 1 element 0"));
}

static void test_bad_crc_is_refused(void)
{
	file[T0_E0 + 8] ^= 1;
	expect_error(file_len - 4, "dwCRC");
}

static void test_missing_suffix_is_refused(void)
{
	file[file_len - 8] = 'X';
	expect_error(file_len - 8, "\"UFD\"");
}

static void test_suffix_length_other_than_16_is_refused(void)
{
	file[file_len - 5] = 32;
	reseal(file, file_len);
	expect_error(file_len - 5, "bLength 32");
}

static void test_plain_dfu_version_is_refused(void)
{
	file[file_len - 10] = 0x00;
	reseal(file, file_len);
	expect_error(file_len - 10, "bcdDFU 0x0100");
}

static void test_prefix_version_other_than_1_is_refused(void)
{
	file[5] = 2;
	reseal(file, file_len);
	expect_error(5, "bVersion 0x02");
}

static void test_image_size_disagreeing_with_file_is_refused(void)
{
	put32(file + PREFIX_IMAGE_SIZE, get32(file + PREFIX_IMAGE_SIZE) + 1);
	reseal(file, file_len);
	expect_error(PREFIX_IMAGE_SIZE, "DFUImageSize");
}

static void test_no_target_is_refused(void)
{
	file[PREFIX_TARGETS] = 0;
	reseal(file, file_len);
	expect_error(PREFIX_TARGETS, "bTargets 0");
}

static void test_more_targets_than_bytes_is_refused(void)
{
	file[PREFIX_TARGETS] = 200;
	reseal(file, file_len);
	expect_error(PREFIX_TARGETS, "bTargets 200 needs at least");
}

static void test_fewer_targets_than_bytes_is_refused(void)
{
	file[PREFIX_TARGETS] = 1;
	reseal(file, file_len);
	expect_error(T1, "bytes after the last target");
}

static void test_bad_target_signature_is_refused(void)
{
	file[T1 + 3] = 'x';
	reseal(file, file_len);
	expect_error(T1, "not \"Target\"");
}

static void test_two_targets_on_one_alternate_setting_are_refused(void)
{
	file[T1 + T_ALT] = 0;
	reseal(file, file_len);
	expect_error(T1 + T_ALT, "bAlternateSetting 0 is already target 0's");
}

static void test_target_size_past_the_image_is_refused(void)
{
	put32(file + T0 + T_SIZE, 0xffffffff);
	reseal(file, file_len);
	expect_error(T0 + T_SIZE, "dwTargetSize 0xffffffff runs past the image");
}

static void test_absurd_element_count_is_refused(void)
{
	put32(file + T0 + T_ELEMENTS, 0xffffffff);
	reseal(file, file_len);
	expect_error(T0 + T_ELEMENTS, "dwNbElements 4294967295");
}

static void test_element_size_past_its_target_is_refused(void)
{
	put32(file + T0_E0 + 4, 0xffffffff);
	reseal(file, file_len);
	expect_error(T0_E0 + 4, "dwElementSize 0xffffffff runs past dwTargetSize");
}

static void test_element_wrapping_past_4gib_is_refused(void)
{
	put32(file + T0_E0, 0xfffffff8);
	reseal(file, file_len);
	expect_error(T0_E0, "runs past 4 GiB");
}

static void test_bytes_left_in_a_target_are_refused(void)
{
	put32(file + T0 + T_ELEMENTS, 1);
	reseal(file, file_len);
	expect_error(T0_E1, "0xc bytes of dwTargetSize after its last element");
}

static void test_every_truncation_is_refused_or_read(void)
{
	/* Raw prefixes, and prefixes of the body given a fresh valid suffix, so that the parser
	 * past the CRC check sees every cut too. */
	uint8_t *cut = malloc(file_len + 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
	for (size_t len = 0; len <= file_len; len++) {
		for (int sealed = 0; sealed < 2; sealed++) {
			size_t n = len;
			memcpy(cut, file, len);
			if (sealed) {
				size_t body = len < file_len - 16 ? len : file_len - 16;
				memcpy(cut + body, file + file_len - 16, 16);
				n = body + 16;
				reseal(cut, n);
			}
			ft_image *img = ft_image_new();
			CU_ASSERT_PTR_NOT_NULL_FATAL(img);
			ft_diag d;
			ft_error err = ft_image_add_buffer(img, "cut.dfu", FT_IMAGE_DFUSE, cut, n,
			                                   false, 0, &d);
			CU_ASSERT(err == FT_OK || err == FT_ERR_FORMAT);
			CU_ASSERT(err == FT_OK ? n == file_len : ft_image_segment_count(img) == 0);
			ft_image_free(img);
		}
	}
	free(cut);
}

static CU_TestInfo tests[] = {
    {"crc_is_jamcrc_as_dfu_util_computes_it", test_crc_is_jamcrc_as_dfu_util_computes_it},
    {"writer_lays_out_prefix_target_element_and_suffix",
     test_writer_lays_out_prefix_target_element_and_suffix},
    {"round_trip_keeps_addresses_alts_and_names", test_round_trip_keeps_addresses_alts_and_names},
    {"written_file_is_detected_and_read_back", test_written_file_is_detected_and_read_back},
    {"writer_refuses_what_a_dfuse_file_cannot_hold",
     test_writer_refuses_what_a_dfuse_file_cannot_hold},
    {"zero_size_element_is_kept_with_a_note", test_zero_size_element_is_kept_with_a_note},
    {"bad_crc_is_refused", test_bad_crc_is_refused},
    {"missing_suffix_is_refused", test_missing_suffix_is_refused},
    {"suffix_length_other_than_16_is_refused", test_suffix_length_other_than_16_is_refused},
    {"plain_dfu_version_is_refused", test_plain_dfu_version_is_refused},
    {"prefix_version_other_than_1_is_refused", test_prefix_version_other_than_1_is_refused},
    {"image_size_disagreeing_with_file_is_refused",
     test_image_size_disagreeing_with_file_is_refused},
    {"no_target_is_refused", test_no_target_is_refused},
    {"more_targets_than_bytes_is_refused", test_more_targets_than_bytes_is_refused},
    {"fewer_targets_than_bytes_is_refused", test_fewer_targets_than_bytes_is_refused},
    {"bad_target_signature_is_refused", test_bad_target_signature_is_refused},
    {"two_targets_on_one_alternate_setting_are_refused",
     test_two_targets_on_one_alternate_setting_are_refused},
    {"target_size_past_the_image_is_refused", test_target_size_past_the_image_is_refused},
    {"absurd_element_count_is_refused", test_absurd_element_count_is_refused},
    {"element_size_past_its_target_is_refused", test_element_size_past_its_target_is_refused},
    {"element_wrapping_past_4gib_is_refused", test_element_wrapping_past_4gib_is_refused},
    {"bytes_left_in_a_target_are_refused", test_bytes_left_in_a_target_are_refused},
    {"every_truncation_is_refused_or_read", test_every_truncation_is_refused_or_read},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_dfuse", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
