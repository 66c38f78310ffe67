/*
 * ns_compare.h - comparing two results files cell by cell, for nightly
 * regression gating (`negsim compare BASELINE CANDIDATE`).
 *
 * A cell is one combination of the axis values of /jobs except the
 * repetition: scenario, buyer and seller personality label, buyer and
 * seller tactic, buyer and seller influence. Each file is aggregated per
 * cell in one streaming pass over /jobs and /outcomes (bounded chunks):
 * jobs, deals, the running mean and sum of squared deviations (Welford)
 * of u_buyer, u_seller, joint_utility and rounds, and a histogram of
 * rounds (memory: cells x largest rounds, whatever the number of jobs).
 *
 * Two files are comparable when they have the same set of cells; when
 * they do not, the comparison is refused with NS_ERR_MISMATCH and the
 * message names the axis whose levels differ.
 *
 * Per cell and metric:
 *   deal_rate       two-proportion z test (ns_stats_two_prop_z);
 *   u_buyer, u_seller, joint_utility, rounds
 *                   Welch's t test from the moments;
 *   rounds_ks       two-sample Kolmogorov-Smirnov test on the whole
 *                   distribution of rounds (ns_stats_ks_two_sample_counts):
 *                   D exact from the two histograms' ECDFs, p from the
 *                   asymptotic Kolmogorov distribution with Stephens'
 *                   effective-n correction. Rounds are whole numbers, so
 *                   the test is conservative (ties): it catches a change
 *                   in spread or shape that leaves the mean alone, but may
 *                   miss a small one.
 * Benjamini-Hochberg across all tests of all metrics together
 * (ns_stats_bh_qvalues). A change is q <= alpha and |effect| >=
 * min_effect, where the effect is candidate - baseline, and for rounds_ks
 * the KS distance D (in [0, 1]); the table then shows the median rounds
 * of each file and "D = ...".
 */
#ifndef NS_COMPARE_H
#define NS_COMPARE_H

#include <stdio.h>

#include "ns_status.h"

typedef struct ns_compare_options {
    double alpha;        /* FDR level, default 0.05 */
    double min_effect;   /* default 0: smallest |difference| that counts */
    const char *metrics; /* comma list, NULL: all of deal_rate, u_buyer,
                            u_seller, joint_utility, rounds, rounds_ks */
} ns_compare_options;

/* alpha 0.05, min_effect 0, metrics NULL. */
void ns_compare_options_default(ns_compare_options *opt);

/* Compares `candidate` against `baseline`, prints a markdown table of the
 * changed cells and metrics (sorted by q) and a one-line summary
 * ("N of M tests changed at FDR 0.05") to `out`, and sets *changed to 1
 * when any test changed, else 0. `opt` NULL means the defaults.
 * Errors: NS_ERR_USAGE (bad option or metric name), NS_ERR_IO /
 * NS_ERR_CORRUPT / NS_ERR_HDF5 (unreadable file), NS_ERR_MISMATCH (the
 * files' cells differ: another scenario set or other axis levels). */
ns_status ns_compare_run(const char *baseline, const char *candidate,
                         const ns_compare_options *opt, FILE *out,
                         int *changed, ns_error *err);

#endif
