/* CATALOGUE.md §5.2: DFU-bootloader scenarios (placeholder while the device helpers land). */
#include "conformance/scenario.h"

const ft_conform_scenario ft_conform_dfu_scenarios[] = {
    {.id = "D01",
     .title = "dfu-descriptor-h743",
     .section = FT_CONFORM_SECTION_DFU,
     .in_catalogue = true,
     .targets = FT_CONFORM_ON_DFU,
     .device = true},
};
const size_t ft_conform_dfu_scenario_count =
    sizeof(ft_conform_dfu_scenarios) / sizeof(ft_conform_dfu_scenarios[0]);
