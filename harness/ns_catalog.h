/*
 * ns_catalog.h - the behaviour catalogues under personalities/: Big Five
 * archetypes, negotiation tactics, influence techniques, and the
 * behavioural model that turns traits plus techniques into the parameters
 * of the built-in agent.
 *
 * Files (all YAML, all documented where they stand):
 *   personalities/archetypes.yaml  named trait vectors
 *   personalities/tactics.yaml     tactics: description, effects, phrases
 *   personalities/influence.yaml   Cialdini techniques: same shape
 *   personalities/model.yaml       named levels (low/mid/high), and for
 *                                  every agent parameter and every
 *                                  susceptibility: base, range, trait
 *                                  coefficients, and the reason ("why")
 *
 * Model: a parameter p is  clamp(base + sum_t coef_t * (trait_t - 0.5),
 * range)  (for scale: log parameters the sum is taken on log(p)). Then the
 * agent's own tactic and influence technique apply their `self` effects at
 * full strength, and when the opponent's first message shows its technique,
 * the technique's `opponent` effects apply to this agent scaled by this
 * agent's susceptibility to that technique (0..1).
 *
 * Index 0 of both technique lists is always "none", the control level.
 * The catalogue is read-only after loading and shared by all threads.
 */
#ifndef NS_CATALOG_H
#define NS_CATALOG_H

#include "ns_scenario.h"
#include "ns_status.h"

enum { NS_O, NS_C, NS_E, NS_A, NS_N, NS_N_TRAITS };
/* "openness", "conscientiousness", "extraversion", "agreeableness",
 * "neuroticism" */
extern const char *const ns_trait_names[NS_N_TRAITS];
int ns_trait_index(const char *name); /* -1 when unknown */

/* Parameters of the built-in behavioural agent (see ns_agent_builtin.c). */
typedef enum ns_param {
    NS_P_ASPIRATION,    /* utility of the opening demand, (0,1] */
    NS_P_FLOOR,         /* utility it concedes down to by its deadline */
    NS_P_BETA,          /* Faratin concession exponent: <1 Boulware, >1 conceder */
    NS_P_DEADLINE,      /* fraction of the turn limit at which it reaches floor */
    NS_P_IMITATION,     /* weight of tit-for-tat imitation vs. the time curve */
    NS_P_LOGROLLING,    /* willingness to trade across issues, 0..1 */
    NS_P_WALKAWAY,      /* chance per stalled turn of walking away */
    NS_P_ANCHOR,        /* 1: open at the extreme of the range, not the target */
    NS_P_ACCEPT_MARGIN, /* accepts offers this much below its own next offer */
    NS_N_PARAMS
} ns_param;
extern const char *const ns_param_names[NS_N_PARAMS];
int ns_param_index(const char *name); /* -1 when unknown */

typedef enum ns_tech_kind { NS_TACTIC = 0, NS_INFLUENCE = 1 } ns_tech_kind;
#define NS_MAX_TECHNIQUES 24 /* per kind, "none" included */

typedef struct ns_agent_params {
    double p[NS_N_PARAMS];
    /* susceptibility[kind][index] in [0,1] to the opponent's technique */
    double susceptibility[2][NS_MAX_TECHNIQUES];
} ns_agent_params;

typedef enum ns_effect_op {
    NS_EFFECT_ADD,   /* p += value * m */
    NS_EFFECT_SCALE, /* p *= 1 + (value - 1) * m */
    NS_EFFECT_SET    /* p += (value - p) * m */
} ns_effect_op;

typedef struct ns_effect {
    ns_param param;
    ns_effect_op op;
    double value;
} ns_effect;

#define NS_MAX_EFFECTS 8
#define NS_MAX_PHRASES 4

typedef struct ns_technique {
    char name[NS_NAME_LEN];
    ns_tech_kind kind;
    char *description;  /* for LLM prompts and docs (owned) */
    int n_self;
    ns_effect self[NS_MAX_EFFECTS];         /* on the agent using it, m = 1 */
    int n_opponent;
    ns_effect opponent[NS_MAX_EFFECTS];     /* on the opponent, m = susceptibility */
    int n_phrases;
    char phrases[NS_MAX_PHRASES][128];      /* message openers */
} ns_technique;

typedef struct ns_personality {
    char name[NS_NAME_LEN];
    double trait[NS_N_TRAITS];
    char *description; /* owned */
} ns_personality;

typedef struct ns_catalog ns_catalog;

/* Loads the four files from `dir` (normally "personalities"). */
ns_status ns_catalog_load(const char *dir, ns_catalog **out, ns_error *err);
void ns_catalog_free(ns_catalog *c); /* NULL is a no-op */

/* Technique lookup: index (0 = "none"), or -1 when unknown. */
int ns_catalog_find(const ns_catalog *c, ns_tech_kind kind, const char *name);
int ns_catalog_count(const ns_catalog *c, ns_tech_kind kind); /* with none */
const ns_technique *ns_catalog_technique(const ns_catalog *c, ns_tech_kind kind,
                                         int index);
/* "a, b, c" list of valid names, for error messages. */
const char *ns_catalog_names(const ns_catalog *c, ns_tech_kind kind);

const ns_personality *ns_catalog_archetype(const ns_catalog *c, const char *name);
int ns_catalog_archetype_count(const ns_catalog *c);
const ns_personality *ns_catalog_archetype_at(const ns_catalog *c, int i);
const char *ns_catalog_archetype_names(const ns_catalog *c);

/* Named trait level ("low", "mid", "high") -> value; 0 when unknown. */
int ns_catalog_level(const ns_catalog *c, const char *name, double *value);

/* All four files' text, concatenated with headers, for the results file. */
const char *ns_catalog_source(const ns_catalog *c);

/* Parameters of an agent with these traits using this tactic and
 * influence technique (indices; 0 = none), before any opponent effect. */
void ns_catalog_agent_params(const ns_catalog *c, const double trait[NS_N_TRAITS],
                             int tactic, int influence, ns_agent_params *out);
/* Applies the opponent's techniques to p, scaled by p's susceptibilities. */
void ns_catalog_apply_opponent(const ns_catalog *c, ns_agent_params *p,
                               int opp_tactic, int opp_influence);

#endif
