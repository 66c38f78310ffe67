/*
 * ns_results.h - reading results files: run information, one negotiation
 * as a transcript (negsim show), and the tables as CSV (negsim export).
 * Reads go through HDF5 hyperslabs in bounded chunks, so memory does not
 * grow with the number of jobs.
 */
#ifndef NS_RESULTS_H
#define NS_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include "ns_status.h"

typedef struct ns_results_info {
    char state[16];         /* "running", "interrupted", "complete" */
    char version[32];       /* negsim version that wrote it */
    uint64_t digest;        /* ns_spec_digest of the spec it ran */
    uint64_t jobs_done;
    uint64_t next_index;
    uint64_t jobs_planned;
    double wall_seconds;
} ns_results_info;

/* Reads the /run attributes. NS_ERR_CORRUPT when the file is not a negsim
 * results file; NS_ERR_IO when it cannot be opened. */
ns_status ns_results_info_read(const char *path, ns_results_info *info,
                               ns_error *err);
/* Prints job `job_id` as a readable transcript with offers and utilities;
 * for LLM runs also each turn's model, tokens, latency, cost and cache
 * flag with its full text, and the job's cost, usage, error and judge
 * scores and summaries. */
ns_status ns_results_show_job(const char *path, uint64_t job_id, FILE *out,
                              ns_error *err);
/* Writes DIR/jobs.csv, outcomes.csv, rounds.csv, transcripts.csv (and
 * creates DIR). Existing CSV files are replaced atomically per file. */
ns_status ns_results_export_csv(const char *path, const char *dir, ns_error *err);

#endif
