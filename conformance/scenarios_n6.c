/* CATALOGUE.md §5.5: STM32N6 scenarios. N01 is a pre-flight (`flashtwin check`); the others
 * program the NUCLEO-N657X0-Q's MX25UM51245G on XSPI2 over gdb:// through our open loader
 * (loaders/README.md) on the emulated N657 (the QEMU machine with its gdbstub), checking the exit
 * status, the diagnostic and the NOR array the machine keeps in the work directory's state.
 *
 * The board runs in development boot (flashtwin-emu --boot dev: BOOT1 high, the boot ROM waits
 * for the debugger), as programming the N6 requires. What the emulated board cannot show stays
 * not-runnable with the reason: the boot ROM closing debug access to external memory in flash
 * boot (N03), the SWD clock (N06).
 */
#include "conformance/expect.h"
#include "conformance/gdbcli.h"
#include "conformance/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define XSPI_BASE  0x70000000u /* XSPI2 window (devices.md §6.3) */
#define XSPI_STATE "nor-xspi2.bin"
#define APP_ADDR   0x70100000u /* Appli-trusted.bin (CATALOGUE D, devices.md §6) */
#define NN_ADDR    0x71000000u /* the network weights */
#define NN_LEN     0x2000u
#define MX25       "../loaders/MX25UM51245G_nucleo-n657x0-q.stldr"

/* N01: field report D. A load-and-run ELF for an N657 (ITCM, AXISRAM, XSPI2 weights) and no
 * loader: refused with the fix list, nothing attempted. */
static void run_n01(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	char elf[512];
	if (!ft_conform_env_fixture(env, "n6-lrun.elf", elf, sizeof(elf)))
		return;
	int exit_status = -1;
	json_t *p = ft_conform_env_flashtwin_json(
	    env, ARGS("check", elf, "--part", "STM32N657X0", "--json"), &exit_status);
	if (!p)
		return;
	ft_conform_record_plan(rec, "check", p, exit_status);
	ft_conform_expect_int(rec, "exit status", exit_status, 1);
	ft_conform_expect_contains(rec, "conclusion names the missing internal flash",
	                           ft_conform_json_str(p, "conclusion"), "no internal flash");
	ft_conform_expect_segment(rec, p, 0x71000000u, "PT_LOAD[4] .nn_weights", "refuse",
	                          "ext-needs-loader", "ext-window");
	ft_conform_expect_segment(rec, p, 0, "PT_LOAD[0] .itcm_text", "volatile", "volatile",
	                          "itcm");
	char *advice = json_dumps(json_object_get(p, "advice"), 0);
	ft_conform_expect_contains(rec, "advice: development boot", advice, "BOOT1=1");
	ft_conform_expect_contains(rec, "advice: external loader", advice, "MX25UM51245G");
	ft_conform_expect_contains(rec, "advice: signed images", advice, "FSBL-trusted.bin");
	free(advice);
	ft_conform_expect_erase(rec, p, 0, NULL);
	json_decref(p);
}

/* A file of the fixtures as bytes (malloc'd, *len), or NULL (recorded). */
static uint8_t *slurp(ft_conform_env *env, const char *name, char *path, size_t cap, size_t *len)
{
	if (!ft_conform_env_fixture(env, name, path, cap))
		return NULL;
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long n = -1;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n)) != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	if (f)
		fclose(f);
	if (!data)
		ft_conform_record_fail(ft_conform_env_record(env), "cannot read %s", path);
	*len = data ? (size_t)n : 0;
	return data;
}

/* The development-boot images: FSBL-trusted.bin @0x70000000, Appli-trusted.bin @0x70100000
 * (loaders/README.md), and generated weights at 0x71000000 + offset. */
typedef struct n6_images {
	char fsbl[600], app[600], nn[512];
	uint8_t *fsbl_data, *app_data, *nn_data;
	size_t fsbl_len, app_len;
	uint32_t nn_addr;
} n6_images;

static void n6_images_free(n6_images *im)
{
	free(im->fsbl_data);
	free(im->app_data);
	free(im->nn_data);
}

static bool n6_images_make(ft_conform_env *env, const char *nn_name, uint32_t offset, n6_images *im)
{
	memset(im, 0, sizeof(*im));
	char path[512];
	im->fsbl_data =
	    slurp(env, "../loaders/n6/FSBL-trusted.bin", path, sizeof(path), &im->fsbl_len);
	snprintf(im->fsbl, sizeof(im->fsbl), "%s@0x%08X", path, XSPI_BASE);
	im->app_data = im->fsbl_data ? slurp(env, "../loaders/n6/Appli-trusted.bin", path,
	                                     sizeof(path), &im->app_len)
	                             : NULL;
	snprintf(im->app, sizeof(im->app), "%s@0x%08X", path, APP_ADDR);
	im->nn_addr = NN_ADDR + offset;
	im->nn_data = im->app_data ? ft_conform_cli_image(env, nn_name, im->nn_addr, NN_LEN, im->nn,
	                                                  sizeof(im->nn))
	                           : NULL;
	return im->nn_data != NULL;
}

/* Flashes the three images through our MX25UM51245G loader. */
static bool flash_n6(ft_conform_env *env, const char *prefix, const n6_images *im,
                     ft_conform_cli_result *r)
{
	char ldr[512];
	if (!ft_conform_env_fixture(env, MX25, ldr, sizeof(ldr)))
		return false;
	return ft_conform_cli_run(
	    env, prefix, NULL,
	    ARGS("flash", im->fsbl, im->app, im->nn, "--loader", ldr, "--no-poll-wait"), true, r);
}

static void expect_n6_images(ft_conform_env *env, const n6_images *im)
{
	ft_conform_state_expect(env, "the NOR holds the FSBL at 0x70000000", XSPI_STATE, 0,
	                        XSPI_BASE, im->fsbl_data, im->fsbl_len);
	ft_conform_state_expect(env, "the NOR holds the application at 0x70100000", XSPI_STATE,
	                        APP_ADDR - XSPI_BASE, APP_ADDR, im->app_data, im->app_len);
	ft_conform_state_expect(env, "the NOR holds the weights", XSPI_STATE,
	                        im->nn_addr - XSPI_BASE, im->nn_addr, im->nn_data, NN_LEN);
}

/* N02: the signed-image layout of development boot programmed and verified through the loader;
 * the headed FSBL draws no header warning. */
static void run_n02(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	n6_images im;
	ft_conform_cli_result r = {0};
	if (!n6_images_make(env, "n02-weights.elf", 0, &im) || !flash_n6(env, "flash", &im, &r))
		goto out;
	ft_conform_expect_int(rec, "exit status: programmed", r.status, 0);
	ft_conform_expect_str(rec, "JSON status", ft_conform_json_str(r.json, "status"), "ok");
	ft_conform_expect_true(rec, "no header warning for the FSBL",
	                       strstr(r.err, "header") == NULL, r.err);
	ft_conform_cli_says(rec, "verified through the loader", &r, "read back through");
	expect_n6_images(env, &im);
out:
	ft_conform_cli_result_free(&r);
	n6_images_free(&im);
}

/* N05: the first session's Init leaves the NOR in octal STR mode, as a warm reset after the FSBL
 * leaves it: our loader's Init resets the flash in every protocol (octal DTR, octal STR, SPI), so
 * the second session on the same power-up programs, and the NOR holds its images. */
static void run_n05(ft_conform_env *env)
{
	ft_conform_record *rec = ft_conform_env_record(env);
	n6_images a, b;
	memset(&b, 0, sizeof(b));
	ft_conform_cli_result r = {0};
	if (!n6_images_make(env, "n05-weights-a.elf", 0, &a) || !flash_n6(env, "flash_1", &a, &r))
		goto out;
	ft_conform_expect_int(rec, "first session: programmed", r.status, 0);
	ft_conform_cli_result_free(&r);
	if (!n6_images_make(env, "n05-weights-b.elf", NN_LEN, &b) ||
	    !flash_n6(env, "flash_2", &b, &r))
		goto out;
	ft_conform_expect_int(rec, "second session, NOR left in octal mode: programmed", r.status,
	                      0);
	expect_n6_images(env, &b);
out:
	ft_conform_cli_result_free(&r);
	n6_images_free(&a);
	n6_images_free(&b);
}

static const char *no_closed_debug(const ft_part *part)
{
	(void)part;
	return "the emulated N657's boot ROM leaves debug access to the XSPI open in flash boot "
	       "(BOOT1=0)";
}

static const char *no_swd_clock(const ft_part *part)
{
	(void)part;
	return "QEMU's gdbstub has no SWD clock to fault";
}

#define N6_GDB(id_, title_, run_, why_)                                                            \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_N6,                      \
		.in_catalogue = true, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,            \
		.device = true, .gdb = true, .emu_only = true,                                     \
		.needs = {"swd", "external-loader"}, .switches = {"--boot", "dev"},                \
		.external_flash = "MX25UM51245G", .unsupported = why_, .run = run_                 \
	}

const ft_conform_scenario ft_conform_n6_scenarios[] = {
    {.id = "N01",
     .title = "n6-no-loader (field report D)",
     .section = FT_CONFORM_SECTION_N6,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_n01},
    N6_GDB("N02", "n6-signed-images-ok", run_n02, NULL),
    N6_GDB("N03", "n6-not-dev-boot", NULL, no_closed_debug),
    N6_GDB("N05", "n6-flashable-after-por-only", run_n05, NULL),
    N6_GDB("N06", "n6-swd-8mhz", NULL, no_swd_clock),
};
const size_t ft_conform_n6_scenario_count =
    sizeof(ft_conform_n6_scenarios) / sizeof(ft_conform_n6_scenarios[0]);
