/* Programming 1 MiB of STM32H743 flash through the GDB remote protocol: the RSP client, the SWD
 * flash engine and the in-test GDB stub (programmer/tests/gdb_stub.h) serving a flash_h7 model
 * with an instant clock, over loopback TCP. The figures are the ceiling of the debug-port route to
 * an emulated board: the protocol and engine cost, with no flash time and no probe latency. */
#include "programmer/image/image.h"
#include "programmer/plan.h"
#include "programmer/swd/swd.h"
#include "programmer/tests/gdb_stub.h"

#include <stdio.h>
#include <time.h>

#define IMAGE_BYTES (1u << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void no_sleep(void *user, uint32_t ms)
{
	(void)user;
	(void)ms;
}

typedef struct phases {
	double start, erased, programmed;
} phases;

static void on_progress(void *user, const ft_swd_progress *p)
{
	phases *ph = user;
	if (p->done != p->total)
		return;
	if (p->phase == FT_SWD_PHASE_ERASE)
		ph->erased = now_s();
	else if (p->phase == FT_SWD_PHASE_PROGRAM)
		ph->programmed = now_s();
}

/* One full flash (erase, program, verify) of 1 MiB; prints its figures. */
static int run(const char *label, size_t packet_size, ft_swd_verify_mode verify,
               const ft_plan *plan)
{
	stub st;
	stub_config cfg = {.part = "STM32H743ZI",
	                   .clock = FT_CLOCK_INSTANT,
	                   .tdesc = true,
	                   .packet_size = packet_size};
	if (!stub_init(&st, &cfg))
		return 1;
	stub_serve(&st);
	char url[64];
	stub_url(&st, url, sizeof(url));
	phases ph = {0};
	ft_swd_options o = {
	    .verify = verify, .sleep_ms = no_sleep, .progress = on_progress, .user = &ph};
	ft_swd *swd;
	ft_diag d;
	ft_error err = ft_swd_open(url, &o, &swd, &d);
	if (err == FT_OK)
		err = ft_swd_connect(swd, &d);
	ph.start = now_s();
	if (err == FT_OK)
		err = ft_swd_flash_plan(swd, plan, &d);
	double end = now_s();
	if (err != FT_OK) {
		fprintf(stderr, "%s: %s: %s\n", label, ft_error_name(err), d.message);
		ft_swd_close(swd);
		stub_free(&st);
		return 1;
	}
	const ft_gdb_rsp_stats *rs = ft_gdb_get_stats(ft_swd_gdb(swd));
	double mib = IMAGE_BYTES / 1048576.0;
	printf("%-28s program %6.1f MiB/s  verify %6.1f MiB/s  total %6.1f MiB/s  "
	       "(%llu packets out, %.1f MiB on the wire)\n",
	       label, mib / (ph.programmed - ph.erased), mib / (end - ph.programmed),
	       mib / (end - ph.start), (unsigned long long)rs->packets_sent,
	       (double)(rs->bytes_sent + rs->bytes_received) / 1048576.0);
	ft_swd_close(swd);
	stub_free(&st);
	return 0;
}

int main(void)
{
	uint8_t *bytes = malloc(IMAGE_BYTES);
	ft_image *image = ft_image_new();
	if (!bytes || !image)
		return 1;
	for (size_t i = 0; i < IMAGE_BYTES; i++)
		bytes[i] = (uint8_t)(i * 2654435761u >> 13);
	ft_diag d;
	if (ft_image_add_buffer(image, "bench.bin", FT_IMAGE_BIN, bytes, IMAGE_BYTES, true,
	                        0x08000000, &d) != FT_OK ||
	    ft_image_finish(image, &d) != FT_OK)
		return 1;
	const ft_segment *seg = ft_image_segment_at(image, 0);
	ft_plan_options po = {.transport = FT_ROUTE_SWD};
	ft_plan *plan;
	if (ft_plan_build(ft_part_find("STM32H743ZI"), &seg, 1, &po, &plan, &d) != FT_OK)
		return 1;
	int status = 0;
	status |= run("PacketSize 0x1000 (QEMU)", 0x1000, FT_SWD_VERIFY_READBACK, plan);
	status |= run("PacketSize 0x3fff (OpenOCD)", 0x3FFF, FT_SWD_VERIFY_READBACK, plan);
	status |= run("PacketSize 0x3fff, CRC verify", 0x3FFF, FT_SWD_VERIFY_CRC, plan);
	status |= run("PacketSize 0x5dc (BMP)", 0x5DC, FT_SWD_VERIFY_READBACK, plan);
	ft_plan_free(plan);
	ft_image_free(image);
	free(bytes);
	return status;
}
