/* What the tools under test can do today, probed once per run, so that a scenario needing a
 * missing feature is reported as "needs-feature-X" instead of failing or passing.
 *
 * Feature names (scenario.h needs lists):
 *   emulator         flashtwin-emu runs (--help exits 0)
 *   emu-fault, emu-quirk, emu-option, emu-revision
 *                    flashtwin-emu --help lists --fault, --quirk, --option, --revision
 *   flash-command, read-command, erase-command, info-command
 *                    `flashtwin flash|read|erase|info --help` exits 0
 *   dfu-util         `dfu-util -V` exits 0 (probed only when a run's client is dfu-util)
 *   swd              `flashtwin flash --help` takes gdb:// connections (the debug port)
 *   qemu             flashtwin-emu --help lists --gdb and the QEMU machines are built
 *                    ($FT_QEMU, or qemu/qemu-system-arm beside the emulator: `make qemu`)
 *   external-loader  `flashtwin flash --help` takes --loader (.stldr run on the target)
 *   option-byte-programming, n6-fsbl-noncacheable-fixture
 *                    not provided by any tool yet: always missing
 *
 * Probing runs the binaries (a few ms each). Library code: never prints.
 */
#ifndef FT_CONFORM_FEATURES_H
#define FT_CONFORM_FEATURES_H

#include <jansson.h>
#include <stdbool.h>

typedef struct ft_conform_features ft_conform_features;

/* Probes flashtwin (required), the emulator and dfu-util (NULL: none). NULL when out of
 * memory. */
ft_conform_features *ft_conform_features_probe(const char *flashtwin, const char *emu,
                                               const char *dfu_util);
void ft_conform_features_free(ft_conform_features *features);

bool ft_conform_features_has(const ft_conform_features *features, const char *name);

/* The feature a switch argument ("--fault", "--quirk", "--option", "--revision") needs, or NULL
 * for a value. */
const char *ft_conform_switch_feature(const char *arg);

/* {"name": true|false, ...} for every probed feature; a new reference or NULL. */
json_t *ft_conform_features_json(const ft_conform_features *features);

#endif
