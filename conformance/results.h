/* Run documents on disk: the JSON file, the JUnit XML file, and loading a document back (a run,
 * or an evidence document seen as a run) for `flashtwin-conform diff`.
 *
 * JUnit: one <testsuites> with one <testsuite> per catalogue section and one <testcase> per
 * scenario (classname "conform.SECTION", name "ID title", time in seconds); a failed scenario
 * has a <failure> with its reason and failed checks, a not-runnable one a <skipped> with why, so
 * CI viewers never count it as passed. Library code: never prints.
 */
#ifndef FT_CONFORM_RESULTS_H
#define FT_CONFORM_RESULTS_H

#include <jansson.h>
#include <stdio.h>

#include "models/error.h"

/* Writes doc as indented JSON to path. FT_OK or FT_ERR_IO with diag. */
ft_error ft_conform_write_json(const json_t *doc, const char *path, ft_diag *diag);

/* Writes the JUnit XML of a run document to out. FT_OK or FT_ERR_IO. */
ft_error ft_conform_write_junit(const json_t *doc, FILE *out, ft_diag *diag);

/* The same into a file. */
ft_error ft_conform_write_junit_file(const json_t *doc, const char *path, ft_diag *diag);

/* Loads a run document or an evidence document (conformance/evidence.h) from path. An evidence
 * document is returned in the run shape: "kind": "evidence", its title as "target", and per
 * scenario "outcome": "evidence", "answers" {key: value} and "sources" {key: source}. Returns
 * FT_OK with *doc; FT_ERR_IO; FT_ERR_FORMAT (not JSON, or neither kind). */
ft_error ft_conform_load(const char *path, json_t **doc, ft_diag *diag);

/* Writes s with the XML special characters escaped (&, <, >, ", ') and control characters other
 * than tab and newline dropped. */
void ft_conform_xml_escape(FILE *out, const char *s);

#endif
