/*
 * ns_agent.h - the one small interface every agent kind sits behind.
 *
 * An agent kind is a table of functions (as GSL's gsl_rng_type is): the
 * engine gives each side a block of `state_size` bytes per negotiation,
 * calls begin() once, then decide() whenever it is that side's turn.
 * decide() reads the negotiation (scenario, history of turns, its own job
 * setup) and either fills *move and returns NS_AGENT_READY, or returns
 * NS_AGENT_PENDING when the move will arrive later (an LLM request in
 * flight); the engine then leaves the negotiation waiting and calls
 * decide() again when polled. Built-in agents are always READY.
 *
 * A move may carry its own message text (LLM agents); when text is NULL
 * the engine renders one from the templates (ns_message.h).
 */
#ifndef NS_AGENT_H
#define NS_AGENT_H

#include <stddef.h>

#include "ns_scenario.h"

typedef enum ns_action { NS_ACT_OFFER = 0, NS_ACT_ACCEPT, NS_ACT_WALK } ns_action;
extern const char *const ns_action_names[3]; /* "offer", "accept", "walk" */

/* Why an agent could not move; the negotiation then ends without a turn. */
typedef enum ns_move_failure {
    NS_MOVE_OK = 0,
    NS_MOVE_INVALID,  /* the model's replies stayed invalid after repair */
    NS_MOVE_ERROR     /* the model could not be reached (a fault class) */
} ns_move_failure;

struct ns_llm_turn_row;

typedef struct ns_move {
    ns_action action;
    double value[NS_MAX_ISSUES];  /* the offer, for NS_ACT_OFFER */
    const char *text;             /* own message, or NULL for a template */
    ns_move_failure failure;      /* NS_MOVE_OK unless the agent gave up */
    /* LLM agents: how the move was obtained (model, tokens, latency,
     * cost), copied into the turn's ns_llm_turn_row; NULL otherwise */
    const struct ns_llm_turn_row *llm;
} ns_move;

enum { NS_AGENT_READY = 0, NS_AGENT_PENDING = 1 };

/* Most state a kind may ask for: the engine keeps two such slots per
 * negotiation (builtin needs about 530 bytes, llm about 270), and an LLM
 * run keeps an engine per open negotiation, thousands at once. */
#define NS_AGENT_STATE_MAX 1024

struct ns_negotiation;

typedef struct ns_agent_kind {
    const char *name;     /* as written in specs: "builtin" */
    size_t state_size;    /* per-negotiation state the engine provides */
    void (*begin)(void *state, const struct ns_negotiation *neg, int side);
    int (*decide)(void *state, const struct ns_negotiation *neg, ns_move *move);
    /* Releases what the state owns; called before the state is reused and
     * when the engine is destroyed. NULL when the state owns nothing. */
    void (*end)(void *state);
} ns_agent_kind;

extern const ns_agent_kind ns_agent_builtin;
extern const ns_agent_kind ns_agent_llm;   /* ns_agent_llm.c */

/* Kind registered under `name`, or NULL. */
const ns_agent_kind *ns_agent_kind_find(const char *name);
/* "builtin" (the names a spec may use), for error messages. */
const char *ns_agent_kind_names(void);

#endif
