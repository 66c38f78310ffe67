/*
 * ns_plan.h - what a sweep will cost before it runs: `negsim plan`.
 *
 * Estimates come from measurement, not from constants: a sample of jobs
 * spread evenly over the grid is run in memory on one thread (timed), and
 * its rows are compressed with zlib at the store's deflate level to
 * estimate bytes on disk per job.
 */
#ifndef NS_PLAN_H
#define NS_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "ns_spec.h"
#include "ns_status.h"

typedef struct ns_plan_estimate {
    uint64_t jobs;            /* after filters */
    uint64_t sampled;         /* jobs run to estimate */
    double seconds_per_job;   /* one thread, engine and rendering */
    double output_seconds_per_job; /* deflating its rows, one thread */
    double mean_turns;        /* messages per job in the sample */
    double raw_bytes_per_job; /* table bytes before compression */
    double disk_bytes_per_job;/* after zlib at the store's level */
} ns_plan_estimate;

ns_status ns_plan_estimate_run(const ns_spec *spec, uint64_t sample,
                               ns_plan_estimate *out, ns_error *err);
/* An LLM sweep's calls, tokens and cost, estimated without sending
 * anything, and printed with the method (docs/llm.md, "Planning"):
 * prompts are rendered from the templates for a sample of up to
 * `sample` jobs at every turn their LLM sides would take if the
 * negotiation ran all max_rounds (the upper bound on calls), with every
 * earlier message assumed NS_PLAN_MESSAGE_BYTES long; input tokens are
 * request bytes / 4; each answer is assumed NS_PLAN_ANSWER_TOKENS tokens
 * (and at worst max_tokens); a judge, when set, is one call per job
 * over the whole transcript. Prices come from the price table. */
#define NS_PLAN_MESSAGE_BYTES 300
#define NS_PLAN_ANSWER_TOKENS 120
ns_status ns_plan_llm(const ns_spec *spec, uint64_t sample, FILE *out, ns_error *err);

/* Prints the plan (axes, sizes, estimates for `threads`) as text. */
void ns_plan_print(const ns_spec *spec, const ns_plan_estimate *est, int threads,
                   FILE *out);

#endif
