/* CATALOGUE.md §5.4-§5.5: external-loader and STM32N6 scenarios. Most need what no tool offers
 * yet (the external-loader runner): they are registered with those needs so --list shows them
 * and no run counts them as passed. N01 is a pre-flight and runs today. The SWD scenarios (§5.3)
 * and the option-byte scenarios over the debug port live in scenarios_swd.c, those over DFU
 * (§5.6) in scenarios_dfu.c.
 */
#include "conformance/expect.h"
#include "conformance/scenario.h"

#include <stdlib.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

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

#define EXTLDR(id_, title_, ...)                                                                   \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_EXTLDR,                  \
		.in_catalogue = true, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,            \
		.device = true, .needs = {                                                         \
			"swd",                                                                     \
			"external-loader",                                                         \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}
#define N6(id_, title_, ...)                                                                       \
	{                                                                                          \
		.id = id_, .title = title_, .section = FT_CONFORM_SECTION_N6,                      \
		.in_catalogue = true, .targets = FT_CONFORM_ON_EMU | FT_CONFORM_ON_GDB,            \
		.device = true, .needs = {                                                         \
			"swd",                                                                     \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

const ft_conform_scenario ft_conform_other_scenarios[] = {
    EXTLDR("E01", "extldr-name-mismatch", NULL),
    EXTLDR("E02", "extldr-missing-masserase", NULL),
    EXTLDR("E03", "extldr-irq-left-enabled (field report B)", "qemu"),
    EXTLDR("E04", "extldr-load-address-conflict", "qemu"),
    EXTLDR("E05", "extldr-partial-write", "qemu"),
    EXTLDR("E06", "extldr-memory-mapped-left", "qemu"),
    EXTLDR("E09", "extldr-verify-decode", "qemu"),
    EXTLDR("E10", "ext-bp-bits-set", "qemu"),
    EXTLDR("E11", "ext-mixed-order", "qemu"),
    EXTLDR("E12", "extldr-init-second-call-hang (N6)", "qemu"),
    {.id = "N01",
     .title = "n6-no-loader (field report D)",
     .section = FT_CONFORM_SECTION_N6,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_ANY,
     .run = run_n01},
    N6("N02", "n6-signed-images-ok", "external-loader", "qemu"),
    N6("N03", "n6-not-dev-boot", "qemu"),
    N6("N05", "n6-flashable-after-por-only", "external-loader", "qemu"),
    N6("N06", "n6-swd-8mhz", "qemu"),
};
const size_t ft_conform_other_scenario_count =
    sizeof(ft_conform_other_scenarios) / sizeof(ft_conform_other_scenarios[0]);
