/*
 * ns_scenario.h - a bilateral multi-issue negotiation scenario: its issues,
 * both sides' preferences over them, and the utility functions that follow.
 *
 * Utilities are linear additive and normalised to [0,1] for each side:
 *   U_s(x) = sum_i w_{s,i} * u_{s,i}(x_i),   sum_i w_{s,i} = 1
 * Continuous and integer issues: u = (x - reservation) / (target - reservation)
 * clamped to [0,1]; a value worse than the reservation is unacceptable to
 * that side. Discrete issues: the side ranks the options best first; the
 * target (first) has utility 1, the reservation option 0, options between
 * are spaced evenly by rank and options ranked below the reservation are
 * unacceptable. The disagreement (no deal) utility is 0 for both sides.
 * The ZOPA is the set of outcomes acceptable to both sides, issue by issue.
 *
 * A loaded scenario owns its texts and its Pareto frontier (ns_frontier.h),
 * which is computed once at load, and holds its message templates compiled
 * for ns_message.c (ns_scenario_compile). Scenarios are read-only after
 * loading and shared by all threads.
 */
#ifndef NS_SCENARIO_H
#define NS_SCENARIO_H

#include "ns_status.h"
#include "ns_yaml.h"

#define NS_MAX_ISSUES 8
#define NS_MAX_OPTIONS 16
#define NS_NAME_LEN 32
#define NS_PHRASE_LEN 96   /* ns_issue.phrase, with its NUL */
/* A compiled phrase: at most 13 {value}s (7 characters each) fit a phrase,
 * and its text can grow to 16 times a unit when it is all "{unit}"s. */
#define NS_PHRASE_VALUES (NS_PHRASE_LEN / 7)
#define NS_PHRASE_TEXT (NS_PHRASE_LEN / 6 * 16)
/* Compiled texts are zero-padded by this much past their end, so the
 * renderer may copy whole 64-byte blocks from anywhere in them. */
#define NS_TEXT_SLACK 64

enum { NS_BUYER = 0, NS_SELLER = 1 };
extern const char *const ns_side_names[2]; /* "buyer", "seller" */

typedef enum ns_issue_type {
    NS_ISSUE_CONTINUOUS,
    NS_ISSUE_INTEGER,
    NS_ISSUE_DISCRETE
} ns_issue_type;

/* One side's preferences over one issue. */
typedef struct ns_issue_side {
    double weight;       /* normalised: one side's weights sum to 1 */
    int prefer_higher;   /* continuous/integer: 1 when larger is better */
    double target;       /* value with utility 1 (discrete: option index) */
    double reservation;  /* worst acceptable value, utility 0 (discrete: index) */
    /* discrete only: utility of each option, -1 when unacceptable */
    double option_utility[NS_MAX_OPTIONS];
    double span;         /* target - reservation (ns_scenario_compile) */
} ns_issue_side;

typedef struct ns_issue {
    char name[NS_NAME_LEN];
    char unit[16];
    ns_issue_type type;
    double lo, hi;      /* domain; discrete: 0 .. n_options-1 */
    double step;        /* offers are rounded to multiples of step (from lo) */
    int decimals;       /* digits after the point in messages */
    int n_options;
    char options[NS_MAX_OPTIONS][NS_NAME_LEN];
    /* Message fragment with {value} and {unit} placeholders, e.g.
     * "delivery in {value} {unit}". Default "{value} {unit}". */
    char phrase[NS_PHRASE_LEN];
    ns_issue_side side[2];

    /* Compiled by ns_scenario_compile from the fields above; what
     * ns_message.c renders from. The phrase as the literal text around
     * its {value}s, {unit} filled in: piece k (piece_len[k] bytes at
     * text + piece_off[k]) comes before the k-th value, piece n_values
     * after the last. An empty unit drops the blank before it: done here
     * when that blank is literal text; when it could only be the last
     * byte of value k, the renderer drops it, drops[k] times. */
    int n_values;
    unsigned char drops[NS_PHRASE_VALUES];
    unsigned short piece_off[NS_PHRASE_VALUES + 1], piece_len[NS_PHRASE_VALUES + 1];
    char text[NS_PHRASE_TEXT + NS_TEXT_SLACK];
    unsigned char option_len[NS_MAX_OPTIONS]; /* strlen of each option name */
    /* the last grid index, floor((hi - lo) / step + 1e-9) (continuous and
     * integer issues): the grid is lo + k * step for k = 0 .. top_k */
    double top_k;
} ns_issue;

struct ns_frontier;

typedef struct ns_scenario {
    char name[NS_NAME_LEN];  /* identifier used in specs and results */
    char title[96];
    char product[64];        /* what is traded, for messages: "used car" */
    char *context;           /* briefing an LLM agent is given (owned) */
    char *source;            /* the YAML text it was read from (owned) */
    char path[256];          /* file it came from, or the spec path */
    int n_issues;
    ns_issue issue[NS_MAX_ISSUES];
    int resolution;          /* grid points per continuous issue (frontier) */
    int zopa_empty;          /* 1 when no outcome is acceptable to both */
    char zopa_note[160];     /* why the ZOPA is empty (which issue) */
    struct ns_frontier *frontier; /* owned; computed at load */

    /* Compiled by ns_scenario_compile: when every phrase has one {value}
     * and no blank for the renderer to drop (body_plain = 1), the text
     * between two values of an offer (one phrase's tail, ", " or " and ",
     * the next phrase's head) is a constant; run k (body_len[k] bytes at
     * body + body_off[k]) comes before issue k's value, run n_issues
     * after the last. */
    int body_plain;
    unsigned short body_off[NS_MAX_ISSUES + 1], body_len[NS_MAX_ISSUES + 1];
    char body[NS_MAX_ISSUES * (NS_PHRASE_TEXT + 5) + NS_TEXT_SLACK];
} ns_scenario;

/* Loads scenarios/NAME.yaml style files. Errors carry file:line:col. */
ns_status ns_scenario_load_file(const char *path, ns_scenario **out, ns_error *err);
/* Builds a scenario from a mapping node inside another document (an inline
 * scenario in a sweep spec); errors point into that document. */
ns_status ns_scenario_from_node(const ns_yaml *y, struct fy_node *node,
                                ns_scenario **out, ns_error *err);
void ns_scenario_free(ns_scenario *sc); /* NULL is a no-op */
/* Fills in the compiled fields of sc and of its issues from the others.
 * The loaders call it; code that builds or changes a scenario by hand must
 * call it before using it (the functions below read top_k and span, the
 * renderer the compiled texts). An empty phrase counts as "{value} {unit}". */
void ns_scenario_compile(ns_scenario *sc);

/* Index of the issue called `name`, or -1. */
int ns_scenario_issue_index(const ns_scenario *sc, const char *name);

/* Per-issue utility in [0,1] (clamped) and acceptability for `side`. */
double ns_issue_utility(const ns_issue *is, int side, double v);
int ns_issue_acceptable(const ns_issue *is, int side, double v);
/* Value of the issue that gives `side` utility u in [0,1], snapped to the
 * issue's step (continuous), to an integer, or to the acceptable option
 * whose utility is closest to u from above (discrete). */
double ns_issue_value_for_utility(const ns_issue *is, int side, double u);
/* Rounds v to the issue's grid (step / integer / option) within [lo,hi]. */
double ns_issue_snap(const ns_issue *is, double v);
/* The value in [lo,hi] most favourable to `side` (the anchoring extreme). */
double ns_issue_extreme(const ns_issue *is, int side);

/* Whole-outcome utility of `side` for values v[0..n_issues-1]. */
double ns_scenario_utility(const ns_scenario *sc, int side, const double *v);
/* 1 when every issue value is acceptable to `side`. */
int ns_scenario_acceptable(const ns_scenario *sc, int side, const double *v);

#endif
