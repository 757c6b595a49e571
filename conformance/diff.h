/* Two run documents side by side (an emulator run and a real-board run, two emulator runs, or a
 * run and an evidence document): per scenario, both outcomes and every recorded answer, with the
 * differences marked, as data, Markdown, or one self-contained HTML page.
 *
 * Rules:
 *   - rows are keyed by scenario ID and client (conformance/client.h: "flashtwin-usbip",
 *     "flashtwin-libusb", "dfu-util", none): per ID, the entries of the same client on both
 *     sides form a row; each entry left without one is compared with every entry of the same ID
 *     left on the other side, so D03 under flashtwin-usbip and D03 under dfu-util sit side by
 *     side; a side may hold several clients of one ID (a document merged from runs);
 *   - against an evidence document only the scenarios the evidence covers are listed,
 *     otherwise a scenario missing on one side is a difference;
 *   - outcomes differ when both sides are runs and their outcomes differ;
 *   - an answer is "same", "differs" (both present, unequal JSON), "only-a"/"only-b" (a
 *     difference), "not-covered" (present in the run, absent from the evidence: neutral),
 *     "not-observed" (present on one side only, the two sides' clients differ: a client sees
 *     what its interface shows, so neutral) or "timing" (keys under "time.": shown, never a
 *     difference);
 *   - a row differs when its outcomes or any of its answers differ.
 *
 * The diff document:
 *   {"a": {"label", "kind", "target"}, "b": {...},
 *    "counts": {"scenarios", "differing", "same"},
 *    "scenarios": [{"id", "title", "section", "a_client", "b_client", "clients_differ",
 *                   "a_outcome", "b_outcome", "differs", "outcome_differs",
 *                   "answers": [{"key", "a", "b", "status", "source"}]}]}
 * where a_client/b_client are absent for a side without a client, counts count rows, a/b are
 * the values (absent when missing) and source the evidence item's source.
 *
 * Library code: never prints (the renderers write to the FILE they are given).
 */
#ifndef FT_CONFORM_DIFF_H
#define FT_CONFORM_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "models/error.h"

/* Compares a and b (documents from ft_conform_load or ft_conform_run); labels name them in
 * reports (file names). Returns the diff document (a new reference) or NULL when out of memory. */
json_t *ft_conform_diff(const json_t *a, const char *label_a, const json_t *b, const char *label_b);

/* Markdown: a summary line, a table of every row (ID, scenario, client, both outcomes; differing
 * ones marked "**differs**"), then per differing row a table of its answers. FT_OK or
 * FT_ERR_IO. */
ft_error ft_conform_render_markdown(const json_t *diff, FILE *out, ft_diag *diag);

/* One HTML5 page with inline CSS and no script or external resource: the summary, the list of
 * differing rows (ul id "differing", links to them), then one table row per diff row (id
 * "scenario-ID", followed by "-CLIENT" for A's client and B's when it differs; class "scenario
 * differs" or "scenario same", a visible "≠ differs" or "= same" mark, the client column)
 * followed by its answers in a <details> element, open when it differs.
 * FT_OK or FT_ERR_IO. */
ft_error ft_conform_render_html(const json_t *diff, FILE *out, ft_diag *diag);

/* Either renderer into a file (html true: HTML). */
ft_error ft_conform_render_file(const json_t *diff, const char *path, bool html, ft_diag *diag);

#endif
