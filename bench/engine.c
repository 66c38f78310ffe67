/*
 * bench/engine.c - the engine-only benchmark behind `bench engine_1t`:
 * runs the jobs of a spec on one thread through ns_engine_run, messages
 * rendered, nothing written, and prints the median rate of several runs.
 *
 * Usage: negsim_bench SPEC [JOBS [RUNS]]
 */
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "ns_engine.h"
#include "ns_progress.h"
#include "ns_spec.h"

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc < 2) {
        fprintf(stderr, "usage: %s SPEC [JOBS [RUNS]]\n", argv[0]);
        return 2;
    }
    uint64_t jobs = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    ns_spec *spec;
    ns_error err = {0};
    if (ns_spec_load(argv[1], NULL, &spec, &err)) {
        fprintf(stderr, "negsim_bench: %s\n", err.msg);
        return 2;
    }
    ns_engine *eng = ns_engine_create(spec);
    ns_block blk;
    ns_block_init(&blk);
    double rate[100];
    uint64_t grid = ns_spec_grid_size(spec), turns = 0, done = 0;
    for (int r = 0; r < runs; r++) {
        ns_job job;
        done = turns = 0;
        double t0 = ns_now();
        /* blocks of 256 jobs, as the runner hands them out */
        for (uint64_t id = 0; done < jobs; id = (id + 1) % grid) {
            if (blk.n_jobs == 256) {
                turns += blk.n_turns;
                ns_block_reset(&blk, id, id);
            }
            if (ns_spec_job(spec, id, &job)) {
                ns_engine_run(eng, &job, &blk);
                done++;
            }
        }
        turns += blk.n_turns;
        ns_block_reset(&blk, 0, 0);
        rate[r] = (double)done / (ns_now() - t0);
    }
    gsl_sort(rate, 1, (size_t)runs);
    printf("bench engine_1t %.0f negotiations/s\n",
           gsl_stats_median_from_sorted_data(rate, 1, (size_t)runs));
    fprintf(stderr, "engine: %d runs of %llu jobs, %.1f turns/job, rates %.0f..%.0f/s\n", runs,
            (unsigned long long)done, (double)turns / (double)done, rate[0], rate[runs - 1]);
    ns_block_free(&blk);
    ns_engine_destroy(eng);
    ns_spec_free(spec);
    return 0;
}
