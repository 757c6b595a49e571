/* flashtwin convert: firmware files rewritten in another format carry the same segments. The
 * outputs are read back through the image readers and compared with the input's segments. */
#include "programmer/image/image.h"
#include "programmer/tests/cli_harness.h"

/* Reads one file into a finished image (NULL on failure, asserted). */
static ft_image *load(const char *path)
{
	ft_image *image = ft_image_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(image);
	ft_diag diag;
	ft_image_input in = {.path = path, .format = FT_IMAGE_AUTO};
	ft_error err = ft_image_add_file(image, &in, &diag);
	if (err == FT_OK)
		err = ft_image_finish(image, &diag);
	FT_ASSERT_HEX(err, FT_OK);
	if (err != FT_OK) {
		ft_image_free(image);
		return NULL;
	}
	return image;
}

/* The byte image b holds at addr, or -1 when no segment of b places one there. */
static int byte_at(const ft_image *b, uint32_t addr)
{
	for (size_t k = 0; k < ft_image_segment_count(b); k++) {
		const ft_segment *y = ft_image_segment_at(b, k);
		if (y->size && addr >= y->addr && addr - y->addr < y->size)
			return y->data[addr - y->addr];
	}
	return -1;
}

/* a and b place the same bytes at the same addresses (line-record formats join contiguous
 * segments, so the segment lists may differ). */
static void assert_same_data(const ft_image *a, const ft_image *b)
{
	uint64_t bytes_a = 0, bytes_b = 0, differing = 0;
	for (size_t i = 0; i < ft_image_segment_count(a); i++) {
		const ft_segment *x = ft_image_segment_at(a, i);
		bytes_a += x->size;
		for (uint32_t k = 0; k < x->size; k++)
			differing += byte_at(b, x->addr + k) != x->data[k];
	}
	for (size_t k = 0; k < ft_image_segment_count(b); k++)
		bytes_b += ft_image_segment_at(b, k)->size;
	FT_ASSERT_HEX(bytes_b, bytes_a);
	FT_ASSERT_HEX(differing, 0);
}

static void convert_and_compare(const char *format, const char *name)
{
	char in[PATH_MAX], out[PATH_MAX];
	snprintf(in, sizeof(in), "%s", scratch("app.elf"));
	snprintf(out, sizeof(out), "%s", scratch(name));
	elf_segment segs[] = {
	    {0x08000000, 0x08000000, 0x1234, 0x1234, 5, {".isr_vector", ".text", NULL}},
	    {0x08001234, 0x24000000, 0x40, 0x80, 6, {".data", NULL}},
	    {0x08001274, 0x24000080, 0, 0x400, 6, {"._user_heap_stack", NULL}},
	    {0x08100000, 0x08100000, 0x300, 0x300, 4, {".bank2", NULL}},
	};
	write_elf(in, segs, 4);
	run("convert", in, "--format", format, "-o", out, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "3 segments");
	ASSERT_CONTAINS(fx.out, "1 empty segment left out");
	ft_image *a = load(in), *b = load(out);
	if (a && b)
		assert_same_data(a, b);
	ft_image_free(a);
	ft_image_free(b);
}

static void test_elf_to_dfuse_reads_back_the_same_segments(void)
{
	convert_and_compare("dfuse", "app.dfu");
	ft_image *b = load(scratch("app.dfu"));
	if (b)
		FT_ASSERT_HEX(ft_image_segment_at(b, 0)->format, FT_IMAGE_DFUSE);
	ft_image_free(b);
}

static void test_elf_to_ihex_reads_back_the_same_segments(void)
{
	convert_and_compare("ihex", "app.hex");
}

static void test_elf_to_srec_reads_back_the_same_segments(void)
{
	convert_and_compare("srec", "app.srec");
}

static void test_bin_fills_the_gap_between_segments(void)
{
	write_bin(scratch("a.bin"), 16);
	char a[PATH_MAX + 16], b[PATH_MAX + 16], out[PATH_MAX];
	snprintf(a, sizeof(a), "%s@0x08000000", scratch("a.bin"));
	snprintf(b, sizeof(b), "%s@0x08000020", scratch("a.bin"));
	snprintf(out, sizeof(out), "%s", scratch("out.bin"));
	run("convert", a, b, "--format", "bin", "-o", out, NULL);
	ASSERT_EXIT(0);
	uint8_t buf[64];
	FILE *f = fopen(out, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	FT_ASSERT_HEX(n, 0x30);
	FT_ASSERT_HEX(buf[1], 7);
	FT_ASSERT_HEX(buf[0x10], 0xFF);
	FT_ASSERT_HEX(buf[0x21], 7);
}

/* Field report A as a raw binary would be 640 MiB of 0xFF between flash and RAM_D2. */
static void test_bin_spanning_flash_and_ram_is_refused(void)
{
	write_report_a(scratch("report-a.elf"));
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s", scratch("out.bin"));
	run("convert", scratch("report-a.elf"), "--format", "bin", "-o", out, NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "0x08000000 to 0x300002FF");
	CU_ASSERT(access(out, F_OK) != 0);
}

static void test_raw_binary_input_takes_the_address_option(void)
{
	write_bin(scratch("a.bin"), 100);
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s", scratch("a.srec"));
	run("convert", scratch("a.bin"), "--address", "0x08020000", "--format", "srec", "-o", out,
	    NULL);
	ASSERT_EXIT(0);
	ft_image *b = load(out);
	if (b) {
		FT_ASSERT_HEX(ft_image_segment_at(b, 0)->addr, 0x08020000);
		FT_ASSERT_HEX(ft_image_segment_at(b, 0)->size, 100);
	}
	ft_image_free(b);
}

/* An N6 FSBL as the boot ROM reads it: header v2.3 (devices.md §6.2; offsets as literals), then
 * the raw binary from offset 0x400. */
static void test_stm32_header_puts_an_n6_fsbl_header_before_the_binary(void)
{
	write_bin(scratch("fsbl.bin"), 0x40);
	char in[PATH_MAX + 16], out[PATH_MAX];
	snprintf(in, sizeof(in), "%s@0x34180400", scratch("fsbl.bin"));
	snprintf(out, sizeof(out), "%s", scratch("FSBL-trusted.bin"));
	run("convert", in, "--format", "bin", "--stm32-header", "-o", out, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "with STM32 header v2.3");
	uint8_t buf[0x500];
	FILE *f = fopen(out, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	FT_ASSERT_HEX(n, 0x440);
	static const uint8_t magic[4] = {'S', 'T', 'M', '2'}, version[4] = {0, 3, 2, 0};
	FT_ASSERT_BYTES(buf, magic, 4);
	FT_ASSERT_BYTES(buf + 0x68, version, 4);
	FT_ASSERT_HEX(buf[0x6C], 0x40);
	uint32_t sum = 0;
	for (size_t i = 0x400; i < n; i++)
		sum += buf[i];
	FT_ASSERT_HEX((uint32_t)buf[0x64] | (uint32_t)buf[0x65] << 8 | (uint32_t)buf[0x66] << 16 |
	                  (uint32_t)buf[0x67] << 24,
	              sum);
	FT_ASSERT_HEX(buf[0x401], 7); /* write_bin's bytes */
	run("convert", in, "--format", "ihex", "--stm32-header", "-o", out, NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--format bin");
}

static void test_convert_usage_errors(void)
{
	write_bin(scratch("a.bin"), 16);
	run("convert", scratch("a.bin"), "--format", "dfuse", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "-o OUT");
	run("convert", scratch("a.bin"), "--format", "elf", "-o", "x", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "unknown format 'elf'");
	run("convert", scratch("a.bin"), "--format", "dfuse", "-o", "x", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--address");
	run("convert", "--help", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "dfuse|bin|ihex|srec");
}

static CU_TestInfo tests[] = {
    {"stm32_header_puts_an_n6_fsbl_header_before_the_binary",
     test_stm32_header_puts_an_n6_fsbl_header_before_the_binary},
    {"elf_to_dfuse_reads_back_the_same_segments", test_elf_to_dfuse_reads_back_the_same_segments},
    {"elf_to_ihex_reads_back_the_same_segments", test_elf_to_ihex_reads_back_the_same_segments},
    {"elf_to_srec_reads_back_the_same_segments", test_elf_to_srec_reads_back_the_same_segments},
    {"bin_fills_the_gap_between_segments", test_bin_fills_the_gap_between_segments},
    {"bin_spanning_flash_and_ram_is_refused", test_bin_spanning_flash_and_ram_is_refused},
    {"raw_binary_input_takes_the_address_option", test_raw_binary_input_takes_the_address_option},
    {"convert_usage_errors", test_convert_usage_errors},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_convert", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
