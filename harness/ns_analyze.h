/*
 * ns_analyze.h - `negsim analyze`: what the tactics, influence techniques
 * and personalities of a finished sweep did, from its results file.
 *
 * Reads /jobs and /outcomes together (parallel tables, row i is the same
 * job) in hyperslabs of at most 65536 rows and accumulates, per level of
 * each of the four axes buyer_tactic, buyer_influence, seller_tactic and
 * seller_influence: jobs, deals (Wilson 95% interval), and exact running
 * means of the own utility of the side using the level, its surplus share
 * (deals only) and the joint utility. Memory grows with the number of
 * distinct levels, not jobs, except for the samples the bootstrap, the
 * Welch test, Hedges' g and the regressions need: those are reservoir
 * samples (gsl_rng, seeded) of at most 100,000 values per level and metric
 * and 100,000 jobs for the regressions, exact whenever a level (or the
 * file) has no more; the report says so.
 *
 * With --by, the same per-level tables again per cell of the chosen /jobs
 * string columns (reservoirs of at most 20,000 values per cell, level and
 * metric). LLM runs' optional columns (models, cost, tokens, latency,
 * judge scores) add a judge table and a cost-and-quality table when the
 * file has them.
 *
 * Outputs, each written to NAME.tmp and renamed: DIR/report.md,
 * DIR/effectiveness.csv, regression.csv, convergence.csv (and judge.csv,
 * cost.csv, effectiveness_by.csv, convergence_by.csv when present); the
 * headline tables (tactic axes against `none`) go to `out` as aligned
 * text. The same tables go into the results file as the group /analysis
 * (docs/hdf5-layout.md), written into a copy that replaces the file by
 * rename(2), never in place; skipped, with a warning, while the file's
 * /run state is "running". Statistics are ns_stats / ns_regress (GSL);
 * the caller must have called gsl_set_error_handler_off().
 */
#ifndef NS_ANALYZE_H
#define NS_ANALYZE_H

#include <stdint.h>
#include <stdio.h>

#include "ns_status.h"

/* Most /jobs columns --by may name. */
#define NS_ANALYZE_MAX_BY 4

typedef struct ns_analyze_options {
    const char *out_dir; /* NULL: FILE without .h5 (FILE.analysis when
                            FILE does not end in .h5) */
    unsigned bootstrap;  /* resamples, default 1000 (0 means default) */
    uint64_t seed;       /* default 1 */
    const char *by;      /* NULL, or comma-separated string columns of /jobs:
                            the tables again per cell of their values */
    int no_h5;           /* 1: do not write /analysis into the file */
    FILE *warnings;      /* where a warning goes (NULL: dropped) */
} ns_analyze_options;

/* Analyzes results file `results_path` (see above). `opt` may be NULL for
 * the defaults. NS_ERR_IO / NS_ERR_CORRUPT when the file cannot be read,
 * NS_ERR_INPUT when it has no jobs, NS_ERR_USAGE for a --by that is not a
 * string column of /jobs, NS_ERR_IO / NS_ERR_HDF5 when an output or
 * /analysis cannot be written (the results file is then unchanged). A regression that cannot be fitted is reported in the outputs,
 * not returned as a failure. */
ns_status ns_analyze_run(const char *results_path, const ns_analyze_options *opt,
                         FILE *out, ns_error *err);

#endif
