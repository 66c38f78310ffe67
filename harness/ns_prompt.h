/*
 * ns_prompt.h - the variables that prompt templates (ns_template.h) are
 * rendered with: one negotiation, seen by one side (negotiator prompts) or
 * by the judge after it ended. Every variable is documented in
 * docs/prompts.md.
 *
 * Values are put into words here, from the scenario (issues, the side's
 * private targets and reservation values, context), the job (traits,
 * tactic, influence technique), the catalogue (technique descriptions),
 * the BFI trait markers (personalities/bfi_markers.yaml) and the turns so
 * far. Which variables exist is fixed: ns_prompt_var_names() lists them
 * per prompt kind, for ns_template_check before a run starts.
 *
 * Message texts live outside the negotiation (in the block's transcript
 * rows, or in the LLM agent's own state), so the fill functions take an
 * array `texts` parallel to neg->turns; a NULL array or a NULL entry means
 * "render the text from the turn" (ns_message_render), which is what the
 * transcript holds for built-in agents.
 *
 * Numbers are written plainly ("20000", "11.20": the issue's decimals, no
 * thousands separators), because the model has to write them back as JSON
 * numbers.
 */
#ifndef NS_PROMPT_H
#define NS_PROMPT_H

#include <stddef.h>

#include "ns_engine.h"
#include "ns_status.h"

/* ------------------------------------------------------------ BFI markers */

typedef enum ns_trait_level { NS_LEVEL_LOW, NS_LEVEL_MODERATE, NS_LEVEL_HIGH } ns_trait_level;
extern const char *const ns_trait_level_names[3]; /* "low", "moderate", "high" */

typedef struct ns_prompt_markers ns_prompt_markers;

/* Loads personalities/bfi_markers.yaml (a marker phrase per trait and
 * level, and the level thresholds); errors are "file:line:col: ...". */
ns_status ns_prompt_markers_load(const char *path, ns_prompt_markers **out,
                                 ns_error *err);
void ns_prompt_markers_free(ns_prompt_markers *m); /* NULL is a no-op */
/* Level of a trait value: high at or above the file's `high` threshold,
 * low at or below its `low` one, moderate between. */
ns_trait_level ns_prompt_level(const ns_prompt_markers *m, double value);
/* The marker phrase of trait `trait` (NS_O..NS_N) at that level (owned). */
const char *ns_prompt_marker(const ns_prompt_markers *m, int trait,
                             ns_trait_level level);
/* The file's text as read (owned), for the results file. */
const char *ns_prompt_markers_source(const ns_prompt_markers *m);

/* -------------------------------------------------------------- variables */

typedef enum ns_prompt_kind { NS_PROMPT_NEGOTIATOR, NS_PROMPT_JUDGE } ns_prompt_kind;

/* Every variable; the names are these in lower case without NS_PV_. */
typedef enum ns_prompt_var {
    /* both kinds */
    NS_PV_PRODUCT, NS_PV_SCENARIO_TITLE, NS_PV_CONTEXT, NS_PV_ISSUES,
    NS_PV_MAX_ROUNDS,
    /* negotiator */
    NS_PV_ROLE, NS_PV_OPPONENT_ROLE, NS_PV_OFFER_FORMAT, NS_PV_TARGETS,
    NS_PV_PERSONALITY, NS_PV_TACTIC, NS_PV_TACTIC_DESCRIPTION, NS_PV_INFLUENCE,
    NS_PV_INFLUENCE_DESCRIPTION, NS_PV_ROUND, NS_PV_MOVES_LEFT, NS_PV_HISTORY,
    NS_PV_STANDING_OFFER,
    /* judge */
    NS_PV_LANGUAGE, NS_PV_ROUNDS, NS_PV_TRANSCRIPT, NS_PV_OUTCOME,
    NS_PV_BUYER_PERSONALITY, NS_PV_BUYER_TACTIC, NS_PV_BUYER_TACTIC_DESCRIPTION,
    NS_PV_BUYER_INFLUENCE, NS_PV_BUYER_INFLUENCE_DESCRIPTION,
    NS_PV_SELLER_PERSONALITY, NS_PV_SELLER_TACTIC, NS_PV_SELLER_TACTIC_DESCRIPTION,
    NS_PV_SELLER_INFLUENCE, NS_PV_SELLER_INFLUENCE_DESCRIPTION,
    NS_PV_COUNT
} ns_prompt_var;

/* Name of each variable, indexed by ns_prompt_var. */
extern const char *const ns_prompt_var_name[NS_PV_COUNT];

/* Values by variable; NULL where the last fill did not set one (a judge
 * variable after a negotiator fill, say), which ns_template_render then
 * reports as an error. Start from ns_prompt_vars_init (or all zero); a
 * fill replaces every value; ns_prompt_vars_free releases them and leaves
 * the struct as after init. */
typedef struct ns_prompt_vars {
    char *value[NS_PV_COUNT];
} ns_prompt_vars;

void ns_prompt_vars_init(ns_prompt_vars *v);
void ns_prompt_vars_free(ns_prompt_vars *v);

/* The negotiator variables for `side` (NS_BUYER or NS_SELLER) at the
 * current state of `neg`: `history` holds its last `window` turns (all of
 * them when window < 0), `round` and `moves_left` refer to the side's
 * next move. texts: see the top of this file. */
void ns_prompt_vars_fill(ns_prompt_vars *v, const ns_prompt_markers *m,
                         const ns_negotiation *neg, int side, int window,
                         const char *const *texts);

/* The judge variables for a finished negotiation (every turn in
 * `transcript`); language NULL means "English". */
void ns_prompt_vars_fill_judge(ns_prompt_vars *v, const ns_prompt_markers *m,
                               const ns_negotiation *neg, const char *const *texts,
                               const char *language);

/* Value of variable `name`, or NULL (unknown or not set). */
const char *ns_prompt_get(const ns_prompt_vars *v, const char *name);
/* ns_template_lookup_fn over a const ns_prompt_vars *ctx:
 *   ns_template_render(t, ns_prompt_lookup, &vars, &text, &err) */
const char *ns_prompt_lookup(void *ctx, const char *name);

/* The variables a template of this kind may use (for ns_template_check);
 * static storage. */
const char *const *ns_prompt_var_names(ns_prompt_kind kind, size_t *n);

#endif
