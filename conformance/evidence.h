/* Evidence from real silicon: what real boards have been observed to answer, each item with its
 * public source. Files live in conformance/evidence/ as JSON (format in its README.md):
 *
 *   {"kind": "evidence", "title": "...",
 *    "applies_to": {"dev_id": "0x450", "revision": "V"},      revision optional
 *    "scenarios": [{"id": "D01", "items": [
 *        {"key": "dfu.product", "value": "DFU in FS Mode",
 *         "source": "https://...", "seen": "the log line or listing it comes from"}]}]}
 *
 * Keys and values are those a scenario records (conformance/record.h), so the suite checks an
 * emulator run against every item that applies to its part and revision, and `flashtwin-conform
 * diff RUN.json EVIDENCE.json` compares the two like two runs.
 *
 * Loaded documents are immutable: safe to share between runner threads. Library code: never
 * prints.
 */
#ifndef FT_CONFORM_EVIDENCE_H
#define FT_CONFORM_EVIDENCE_H

#include <jansson.h>
#include <stddef.h>

#include "conformance/record.h"
#include "models/error.h"
#include "models/parts.h"

typedef struct ft_conform_evidence ft_conform_evidence;

/* Loads every *.json of dir (sorted by name). Returns FT_OK with *out (possibly empty);
 * FT_ERR_IO (dir unreadable), FT_ERR_FORMAT (a file that is not an evidence document: origin
 * names the file and the item), FT_ERR_NO_MEM. */
ft_error ft_conform_evidence_load(const char *dir, ft_conform_evidence **out, ft_diag *diag);
void ft_conform_evidence_free(ft_conform_evidence *ev);

/* Number of documents and items loaded. */
size_t ft_conform_evidence_documents(const ft_conform_evidence *ev);
size_t ft_conform_evidence_items(const ft_conform_evidence *ev);

/* Whether a document's applies_to matches the part and revision letter ('\0': unknown, then
 * only documents without a revision match). */
bool ft_conform_evidence_applies(const json_t *doc, const ft_part *part, char revision);

/* Adds one check to rec per item for rec's scenario in every applying document: the recorded
 * answer under the item's key must equal the item's value ("evidence: dfu.product = \"DFU in FS
 * Mode\" (https://...)"); an answer the run did not record fails, unless observed_only is set
 * (a client that cannot see every fact, such as dfu-util, which never shows the product
 * string): then only the answers the record has are checked. Timings (keys under "time.") are
 * left to the reports: an emulator in instant timing cannot match them. Returns the number of
 * checks added. */
size_t ft_conform_evidence_check(const ft_conform_evidence *ev, const ft_part *part, char revision,
                                 ft_conform_record *rec, bool observed_only);

/* Checks that doc is an evidence document (see above). FT_OK or FT_ERR_FORMAT with diag. */
ft_error ft_conform_evidence_validate(const json_t *doc, const char *name, ft_diag *diag);

#endif
