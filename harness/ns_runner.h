/*
 * ns_runner.h - `negsim run`: fans a spec's jobs out over OpenMP worker
 * threads, funnels their results through one writer thread into the
 * journal (the commit log) and the HDF5 store, and makes the results file
 * appear atomically. Handles --resume, --force, --limit and Ctrl-C.
 */
#ifndef NS_RUNNER_H
#define NS_RUNNER_H

#include <stdint.h>

#include "ns_spec.h"
#include "ns_status.h"

typedef struct ns_run_options {
    const char *output;        /* results file; NULL: the spec's output.file */
    int threads;               /* 0: OpenMP's default */
    int resume;                /* continue an unfinished run */
    int force;                 /* replace an existing results file */
    uint64_t limit;            /* at most this many jobs now; 0: all */
    int quiet;                 /* no progress output */
    uint64_t block_size;       /* grid indices per work block; 0: automatic */
    double commit_interval;    /* seconds between journal syncs; 0: 1 s */
    /* LLM sweeps only */
    int no_cache;              /* --no-cache: neither read nor write the cache */
    const char *cache_path;    /* NULL: $NEGSIM_CACHE or the default */
    double budget_usd;         /* --budget-usd; <= 0: no cap */
} ns_run_options;

typedef struct ns_run_summary {
    const char *output;        /* the results file written */
    uint64_t jobs_planned;     /* jobs in the grid after filters */
    uint64_t jobs_before;      /* already done before this session (resume) */
    uint64_t jobs;             /* jobs run in this session */
    uint64_t deals, walkaways, impasses; /* over all jobs in the file */
    double mean_rounds;        /* over all jobs in the file */
    double wall_seconds;       /* this session */
    int threads;
    int complete;              /* the grid is finished */
    int already_complete;      /* --resume found nothing to do */
    int interrupted;           /* stopped by a signal */
    int llm;                   /* an LLM sweep */
    double spent_usd;          /* LLM: paid in this session */
    int budget_stopped;        /* LLM: the budget ended the session */
} ns_run_summary;

/* Runs (or resumes) the sweep. NS_ERR_INTERRUPTED after a clean stop on
 * SIGINT/SIGTERM: what finished is saved and --resume continues. */
ns_status ns_run(const ns_spec *spec, const ns_run_options *opt,
                 ns_run_summary *sum, ns_error *err);

/* Asks a running ns_run to stop cleanly (async-signal-safe). */
void ns_run_request_stop(void);

#endif
