/*
 * ns_engine.h - the alternating-offers protocol as an explicit state
 * machine, one turn at a time.
 *
 * A negotiation goes READY -> (WAITING while an agent's move is pending)
 * -> READY ... -> DONE. In each turn the side to move offers, accepts the
 * standing offer (the opponent's latest), or walks away. It ends on
 * acceptance (agreement), walk-away, or when both sides have made
 * max_rounds moves (impasse). A round is one move by each side. Every state
 * change goes through one function (set_state in ns_engine.c).
 *
 * Agents read the negotiation through this struct (read-only). The engine
 * records each turn as a ns_turn_row (and a transcript row) in the block it
 * is given, and the outcome when the negotiation ends.
 *
 * An ns_engine is per thread: it owns the RNG, agent state buffers and the
 * turn history; nothing in it is shared.
 */
#ifndef NS_ENGINE_H
#define NS_ENGINE_H

#include <gsl/gsl_rng.h>

#include "ns_agent.h"
#include "ns_catalog.h"
#include "ns_record.h"
#include "ns_spec.h"

typedef enum ns_ending {
    NS_END_NONE = 0,    /* still running */
    NS_END_AGREEMENT,
    NS_END_WALKAWAY,
    NS_END_IMPASSE,
    NS_END_INVALID,     /* an LLM's replies stayed invalid after repair */
    NS_END_ERROR        /* an LLM could not be reached (see the error column) */
} ns_ending;
/* "", "agreement", "walkaway", "impasse", "invalid_output", "error" */
extern const char *const ns_ending_names[6];

typedef enum ns_neg_state {
    NS_NEG_READY,   /* the side to move can be asked */
    NS_NEG_WAITING, /* the side to move has a move pending */
    NS_NEG_DONE     /* ended; outcome recorded */
} ns_neg_state;

/* A turn as agents see it. */
typedef struct ns_turn {
    int speaker;
    ns_action action;
    double value[NS_MAX_ISSUES];
    double utility[2];
} ns_turn;

typedef struct ns_negotiation {
    /* setup: fixed for the negotiation */
    const ns_job *job;
    const ns_scenario *sc;
    const ns_catalog *cat;
    gsl_rng *rng;          /* the job's stream; agents draw from it in turn */
    int max_rounds;
    int max_turns;         /* 2 * max_rounds */
    /* progress */
    ns_neg_state state;
    int n_turns;
    int to_move;           /* side whose turn it is */
    int last_offer[2];     /* turn index of each side's latest offer, -1 */
    ns_ending ending;
    int closed_by;         /* side that accepted or walked, -1 */
    ns_turn *turns;        /* history, capacity max_turns */
    /* where the rows go: turn k's rows are record->turns[record_turn0 + k]
     * (and, in has_llm blocks, its text via record->llm_turns) */
    const ns_block *record;
    size_t record_turn0;
    size_t record_job;     /* the job's row in record */
    void *host;            /* the runner's context for asynchronous agents
                              (ns_engine_set_host); NULL for built-in runs */
} ns_negotiation;

/* Turn index -> 1-based round number. */
static inline int ns_round_of_turn(int turn) { return turn / 2 + 1; }

typedef struct ns_engine ns_engine;

/* An engine for jobs of this spec (one per thread). */
ns_engine *ns_engine_create(const ns_spec *spec);
void ns_engine_destroy(ns_engine *e); /* NULL is a no-op */

/* Starts job `job` (the engine's single negotiation slot). */
void ns_engine_start(ns_engine *e, const ns_job *job, ns_block *blk);
/* Advances the negotiation by at most one turn, appending what happened to
 * the block passed to start. Returns its state afterwards. */
ns_neg_state ns_engine_step(ns_engine *e);
/* Runs a job with synchronous agents to the end, appending its job,
 * outcome, turn and transcript rows to blk. */
void ns_engine_run(ns_engine *e, const ns_job *job, ns_block *blk);
/* Context asynchronous agents find in neg->host (the LLM session). */
void ns_engine_set_host(ns_engine *e, void *host);
/* The negotiation in progress (for tests and agents). */
const ns_negotiation *ns_engine_negotiation(const ns_engine *e);

#endif
