/*
 * ns_plot.h - `negsim plot`: five figures of a results file, drawn by the
 * external gnuplot program (Debian package gnuplot-nox).
 *
 * Figures, each written to DIR/<name>.<format> through <name>.<format>.tmp
 * and a rename:
 *   heatmap_surplus_share  mean buyer surplus share (deals only) over buyer
 *                          x seller agreeableness (or, when one of those has
 *                          a single level, the first pair of traits that
 *                          vary; the title says which)
 *   deal_rate_by_tactic    deal rate per buyer_tactic and seller_tactic
 *                          level, Wilson 95% intervals
 *   convergence            mean normalised offer gap by round per
 *                          buyer_tactic level, 95% normal band
 *   survival               Kaplan-Meier "still open" by round per
 *                          buyer_tactic level (impasse censored)
 *   forest_effects         difference in mean own utility vs `none` per
 *                          tactic level, 95% Welch intervals
 *
 * /jobs and /outcomes are streamed together in hyperslabs of 65536 rows,
 * /rounds likewise, joined to /jobs by job_id (both are sorted by it).
 * Memory grows with the number of levels and rounds, except for the
 * survival curves, which keep one (round, event) pair per job (12 bytes).
 *
 * gnuplot is started with fork/execvp of the fixed program name (or
 * opt->gnuplot), never through a shell; its script and data files live in
 * a mkdtemp folder under /tmp that is removed afterwards. Paths reach
 * gnuplot only as quoted strings inside that script: an output folder
 * containing a quote, backslash or line break is refused (NS_ERR_USAGE).
 * The caller must have called gsl_set_error_handler_off().
 */
#ifndef NS_PLOT_H
#define NS_PLOT_H

#include <stdio.h>

#include "ns_status.h"

typedef struct ns_plot_options {
    const char *out_dir; /* NULL: FILE without .h5 (FILE.plots when FILE
                            does not end in .h5) */
    const char *format;  /* "png" (default), "svg", "pdf" */
    const char *gnuplot; /* program, NULL: "gnuplot" from PATH */
} ns_plot_options;

/* Draws the figures of `results_path` (see above); `opt` may be NULL for
 * the defaults. Prints one line per figure written to `out` (may be NULL).
 * NS_ERR_IO / NS_ERR_CORRUPT when the file cannot be read, NS_ERR_INPUT
 * when it has no jobs, NS_ERR_USAGE for a bad format or output path,
 * NS_ERR_IO when gnuplot is missing ("gnuplot not found: install the
 * Debian package gnuplot-nox"), fails, or an output cannot be written. */
ns_status ns_plot_run(const char *results_path, const ns_plot_options *opt, FILE *out,
                      ns_error *err);

#endif
