/*
 * ns_llm_runner.h - the producer side of `negsim run` for sweeps with LLM
 * agents: one event loop keeps up to llm.max_open negotiations open at
 * once, each an engine whose LLM side waits on its model's answer, and
 * hands finished blocks of jobs, in any order, to the runner's ring, whose
 * writer thread stores them in grid order (ns_runner.c).
 *
 * Blocks. Jobs are opened block by block in grid order, and a block is
 * opened only once its ring slot is free, so memory is bounded by the ring
 * whatever the grid size. A finished negotiation's rows wait in a small
 * per-job block until the whole block is done; then they are concatenated
 * in job order into the ring slot.
 *
 * Stopping. On a stop request, or when the budget refuses a call, no new
 * job is opened, calls not yet on the wire are cancelled, and the loop
 * drains what is in flight. Jobs that could not finish (a call refused or
 * cancelled) are not recorded, so their blocks, and every block after the
 * first such one, stay pending for --resume; the response cache makes the
 * calls they had already made free to repeat.
 */
#ifndef NS_LLM_RUNNER_H
#define NS_LLM_RUNNER_H

#include <signal.h>
#include <stdint.h>

#include "ns_llm.h"
#include "ns_record.h"
#include "ns_spec.h"

/* The runner's ring as the producer sees it. */
typedef struct ns_block_sink {
    void *ctx;
    /* The slot's block for block b when its slot is free now, else NULL
     * (never blocks). */
    ns_block *(*try_acquire)(void *ctx, uint64_t b);
    /* Hands block b to the writer (ready 1) or tells it that b will not
     * come (ready 0: the writer stops there). */
    void (*release)(void *ctx, uint64_t b, int ready);
    /* 1 when the writer has stopped (a write failed). */
    int (*writer_stopped)(void *ctx);
    uint64_t first_block, n_blocks, block_size;
    uint64_t begin, end;       /* grid range of this session */
    uint64_t jobs;             /* jobs in that range (after filters) */
} ns_block_sink;

typedef struct ns_llm_run_stats {
    uint64_t jobs;             /* negotiations finished and handed over */
    uint64_t abandoned;        /* opened but not finished (stop, budget) */
    double spent_usd;          /* paid this session (cache hits are free) */
    int budget_stopped;        /* the budget ended the session */
    uint64_t next_block;       /* blocks below it were released (ready or
                                  not); the caller cancels this one when the
                                  session ends early */
} ns_llm_run_stats;

/* Runs the session's jobs through `llm` until done or stopped (*stop set
 * asynchronously by a signal handler). `quiet` silences progress. */
ns_status ns_llm_produce(const ns_spec *spec, ns_llm *llm, const ns_block_sink *sink,
                         volatile sig_atomic_t *stop, int quiet, ns_llm_run_stats *stats,
                         ns_error *err);

#endif
