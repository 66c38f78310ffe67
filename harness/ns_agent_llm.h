/*
 * ns_agent_llm.h - the `llm` agent kind and the judge: negotiation moves
 * and evaluations asked of a language model through the run's LLM session
 * (ns_llm.h).
 *
 * An LLM side's decide() renders the system and turn prompts for the side
 * to move (ns_prompt, ns_template), asks its model with the move schema
 * (ns_reply), and returns NS_AGENT_PENDING. When the answer arrives (from
 * inside ns_llm_poll) it is parsed and validated against the scenario; an
 * invalid answer gets one repair request that says what was wrong, and a
 * second invalid answer ends the negotiation as invalid_output. A fault
 * (after the session's retries and fallbacks) ends it as error, with the
 * class and message in the job's accounting row. Either way the host's
 * wake() is called, and the runner steps the engine again: decide() then
 * hands over the move.
 *
 * The host is the runner's per-negotiation context: the engine hands it to
 * the agents as neg->host (ns_engine_set_host).
 */
#ifndef NS_AGENT_LLM_H
#define NS_AGENT_LLM_H

#include "ns_agent.h"
#include "ns_engine.h"
#include "ns_llm.h"

typedef struct ns_llm_host {
    ns_llm *llm;
    ns_block *blk;              /* the negotiation's rows (arena for summaries) */
    size_t job_row;             /* its row in blk */
    void (*wake)(struct ns_llm_host *h); /* an answer (or failure) arrived */
    /* accounting the runner turns into the job's ns_llm_job_row */
    double latency_sum_ms;
    int latency_n;
    int judge_pending;          /* the judge has been asked, no answer yet */
    int judge_done;
    int budget_refused;         /* a call was refused for the budget: the job
                                   must not be recorded */
} ns_llm_host;

/* The job's accounting row. */
static inline ns_llm_job_row *ns_llm_host_row(ns_llm_host *h)
{
    return &h->blk->llm_jobs[h->job_row];
}

/* Asks the judge about the finished negotiation neg (transcript, both
 * sides' assignments). NS_OK with judge_pending set, or an error when the
 * prompt cannot be built (recorded in the row; judge_done is then set). */
ns_status ns_llm_judge_ask(ns_llm_host *h, const ns_negotiation *neg, ns_error *err);

/* Fills latency_ms (mean over network calls) from the host's sums. */
void ns_llm_host_finish(ns_llm_host *h);

#endif
