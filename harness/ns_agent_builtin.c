/*
 * ns_agent_builtin.c - the built-in behavioural agent (kind "builtin"): a
 * time- and behaviour-dependent concession strategy after Faratin, Sierra &
 * Jennings (1998), with AC_next acceptance (Baarslag, Hindriks & Jonker
 * 2014), logrolling across issues and a stochastic walk-away. Its
 * parameters come from the catalogue's behavioural model
 * (ns_catalog_agent_params); docs/model.md has the formulas and their
 * sources.
 *
 * Each decide() call, for side s at its own move t (0-based) of T =
 * max_rounds:
 *   1. the first time the opponent has moved, its tactic and influence
 *      technique act on this agent's parameters (once);
 *   2. target U = time curve a - (a - r) * min(1, t/(d T))^(1/beta),
 *      blended with relative tit-for-tat (mirror the opponent's last
 *      concession, measured in this agent's utility without the clamp at
 *      its reservation) by `imitation`, and never above the previous
 *      target;
 *   3. accept the standing offer when it is acceptable and worth at least
 *      U - accept_margin (on the last move: at least the floor r);
 *   4. walk away with probability `walkaway` when the opponent has stalled
 *      below the floor;
 *   5. otherwise offer: per-issue utility levels blending a uniform split
 *      with a greedy logrolling split, turned into values by the scenario.
 *
 * Randomness: the agent draws from neg->rng only in step 4, at most one
 * gsl_rng_uniform per call, and only when the stall condition holds. Every
 * other step is deterministic, so a job's transcript depends only on its
 * seed, and adding a draw anywhere else would change every stored result.
 *
 * State lives in the engine's per-negotiation block: no allocation.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "ns_agent.h"
#include "ns_catalog.h"
#include "ns_engine.h"

/* An opponent concession at or below this (in this agent's utility) counts
 * as no concession when deciding whether the talks have stalled. */
#define STALL_DELTA 0.005
/* Slack on utility comparisons, so that a value rebuilt from a grid does
 * not miss a threshold it meets by rounding noise. */
#define UTIL_EPS 1e-9

typedef struct builtin_state {
    ns_agent_params params;
    int side;
    int influenced;        /* opponent effects applied (done once) */
    int moves;             /* own moves so far */
    double prev_target;    /* target utility of the previous own offer */
    int order[NS_MAX_ISSUES]; /* issues by own weight, lowest first */
    /* concession_utility of the opponent's offer at turn cu_turn (-1:
     * none yet): its latest offer now is its previous one at this side's
     * next move, so each offer is valued once instead of twice */
    int cu_turn;
    double cu_value;
} builtin_state;

/* fmin, without the call into libm when neither operand is NaN; then it
 * is what glibc's is (x86-64 minsd: on equal operands, signed zeros
 * included, the second), so the result is the same to the bit. */
static inline double fmin2(double x, double y)
{
    if (x == x && y == y)
        return x < y ? x : y;
    return fmin(x, y);
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Issue indices sorted by this side's weight, lowest first (ties by index):
 * the order in which greedy logrolling gives issues away. */
static void sort_by_weight(const ns_scenario *sc, int side, int order[NS_MAX_ISSUES])
{
    for (int i = 0; i < sc->n_issues; i++) {
        double w = sc->issue[i].side[side].weight;
        int k = i;
        while (k > 0 && sc->issue[order[k - 1]].side[side].weight > w) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
}

static void builtin_begin(void *state, const ns_negotiation *neg, int side)
{
    builtin_state *st = state;
    const ns_side_setup *me = &neg->job->side[side];
    ns_catalog_agent_params(neg->cat, me->trait, me->tactic, me->influence, &st->params);
    st->side = side;
    st->influenced = 0;
    st->moves = 0;
    st->prev_target = st->params.p[NS_P_ASPIRATION];
    sort_by_weight(neg->sc, side, st->order);
    st->cu_turn = -1;
    st->cu_value = 0;
}

/* pow(x, y), remembered per thread: the same (tau, 1/beta) pairs come
 * back in every job that shares a parameter set (repetitions are the
 * fastest axis of the grid; in the supplier benchmark 96% of the calls
 * hit), and pow was the largest single cost of a move. Keyed by both
 * operands' bits, so a hit is the value pow returned for exactly these
 * operands. An all-zero slot is empty: the key (+0, +0) is never stored.
 * Kept because it pays: calling pow each time measured about 13% slower
 * on `bench engine_1t`. */
#define POW_MEMO_BITS 10
typedef struct pow_memo {
    uint64_t x, y;
    double r;
} pow_memo;
static _Thread_local pow_memo pow_memo_tab[1u << POW_MEMO_BITS];

static double pow_memoized(double x, double y)
{
    uint64_t bx, by;
    memcpy(&bx, &x, sizeof bx);
    memcpy(&by, &y, sizeof by);
    if ((bx | by) == 0)
        return pow(x, y);
    /* the top bits of a product depend on every bit of the operands
     * (values such as 0.05, 0.1 and 0.2 differ only in their exponent) */
    uint64_t h = (bx ^ (by >> 32 | by << 32)) * 0x9E3779B97F4A7C15ull;
    h = (h ^ h >> 31) * 0xC2B2AE3D27D4EB4Full;
    pow_memo *m = &pow_memo_tab[h >> (64 - POW_MEMO_BITS)];
    if (m->x == bx && m->y == by)
        return m->r;
    double r = pow(x, y);
    m->x = bx;
    m->y = by;
    m->r = r;
    return r;
}

/* Faratin et al.'s polynomial time-dependent tactic, in utility. */
static double time_target(const double *p, double r, int t, int T)
{
    double a = p[NS_P_ASPIRATION];
    double tau = (double)t / (p[NS_P_DEADLINE] * (T > 0 ? T : 1));
    if (tau >= 1)
        return r;
    return a - (a - r) * pow_memoized(tau, 1.0 / p[NS_P_BETA]);
}

/* This side's utility of v for measuring concessions: like
 * ns_scenario_utility, but not clamped at 0 below the reservation. An
 * opponent that concedes while its offers are still unacceptable to this
 * side is conceding all the same; with clamped utilities its concession
 * would read as 0, tit-for-tat would not answer it and the walk-away rule
 * would call it stalled. (Faratin et al.'s relative tit-for-tat works on
 * the offer values themselves for the same reason.) Discrete options below
 * the reservation all count as -1, having no order among them. */
static double concession_utility(const ns_scenario *sc, int side, const double *v)
{
    double u = 0;
    for (int i = 0; i < sc->n_issues; i++) {
        const ns_issue *is = &sc->issue[i];
        const ns_issue_side *p = &is->side[side];
        double ui;
        if (is->type == NS_ISSUE_DISCRETE) {
            ui = v[i] > -0.5 && v[i] < is->n_options - 0.5
                     ? p->option_utility[(int)(v[i] + 0.5)]
                     : -1;
        } else {
            ui = (v[i] - p->reservation) / p->span;
        }
        u += p->weight * (ui < 1 ? ui : 1);
    }
    return u;
}

/* concession_utility of the offer at turn k, from the cache when it was the
 * one valued last (turns never change once made: the same value). */
static double offer_concession_utility(builtin_state *st, const ns_negotiation *neg, int k)
{
    if (k != st->cu_turn) {
        st->cu_turn = k;
        st->cu_value = concession_utility(neg->sc, st->side, neg->turns[k].value);
    }
    return st->cu_value;
}

/* Turn index of side `who`'s offer before its latest one, or -1. */
static int previous_offer(const ns_negotiation *neg, int who)
{
    for (int k = neg->last_offer[who] - 1; k >= 0; k--)
        if (neg->turns[k].speaker == who && neg->turns[k].action == NS_ACT_OFFER)
            return k;
    return -1;
}

/* The opponent's offer this side may accept now, or NULL. */
static const ns_turn *standing_offer(const ns_negotiation *neg, int side)
{
    if (neg->n_turns == 0)
        return NULL;
    const ns_turn *t = &neg->turns[neg->n_turns - 1];
    return t->speaker != side && t->action == NS_ACT_OFFER ? t : NULL;
}

/* Greedy logrolling levels g_i for target U: start from the best outcome
 * (all 1) and give away utility on the issues this side weighs least until
 * sum_i w_i g_i = U. */
static void greedy_levels(const ns_scenario *sc, int side, const int *order,
                          double U, double *g)
{
    double need = 1.0 - U;
    for (int i = 0; i < sc->n_issues; i++)
        g[i] = 1.0;
    for (int k = 0; k < sc->n_issues && need > 0; k++) {
        int i = order[k];
        double w = sc->issue[i].side[side].weight;
        double take = need < w ? need : w;
        g[i] = w > 0 ? 1.0 - take / w : 0.0;
        need -= take;
    }
}

static void make_offer(const builtin_state *st, const ns_negotiation *neg, int t,
                       double U, double *value)
{
    const ns_scenario *sc = neg->sc;
    int s = st->side;
    /* Anchoring: the first offer asks for the extreme of every range. */
    if (t == 0 && st->params.p[NS_P_ANCHOR] >= 0.5) {
        for (int i = 0; i < sc->n_issues; i++)
            value[i] = ns_issue_extreme(&sc->issue[i], s);
        return;
    }
    double L = st->params.p[NS_P_LOGROLLING], g[NS_MAX_ISSUES];
    greedy_levels(sc, s, st->order, U, g);
    for (int i = 0; i < sc->n_issues; i++)
        value[i] = ns_issue_value_for_utility(&sc->issue[i], s, (1 - L) * U + L * g[i]);
}

static int builtin_decide(void *state, const ns_negotiation *neg, ns_move *move)
{
    builtin_state *st = state;
    const double *p = st->params.p;
    int s = st->side, opp = 1 - s, t = st->moves++;
    move->text = NULL;

    /* 1. The opponent's techniques show in its first message. */
    if (!st->influenced && neg->last_offer[opp] >= 0) {
        const ns_side_setup *o = &neg->job->side[opp];
        ns_catalog_apply_opponent(neg->cat, &st->params, o->tactic, o->influence);
        st->influenced = 1;
    }
    double a = p[NS_P_ASPIRATION], r = fmin2(p[NS_P_FLOOR], a);

    /* 2. Target: time curve, blended with tit-for-tat, never rising. */
    double U = time_target(p, r, t, neg->max_rounds);
    int latest = neg->last_offer[opp], prev = latest >= 0 ? previous_offer(neg, opp) : -1;
    /* the opponent's last concession, in this agent's (unclamped) utility */
    double delta = 0;
    if (prev >= 0) {
        /* prev first: it is the offer valued at the last move */
        double u_prev = offer_concession_utility(st, neg, prev);
        delta = offer_concession_utility(st, neg, latest) - u_prev;
    }
    if (prev >= 0 && t > 0) {
        double tft = clampd(st->prev_target - delta, r, a);
        U = (1 - p[NS_P_IMITATION]) * U + p[NS_P_IMITATION] * tft;
    }
    if (t > 0)
        U = fmin2(U, st->prev_target);

    /* 3. AC_next, and on the last move anything at or above the floor. */
    const ns_turn *o = standing_offer(neg, s);
    if (o && ns_scenario_acceptable(neg->sc, s, o->value)) {
        double uo = o->utility[s];
        if (uo >= U - p[NS_P_ACCEPT_MARGIN] - UTIL_EPS ||
            (t >= neg->max_rounds - 1 && uo >= r - UTIL_EPS)) {
            move->action = NS_ACT_ACCEPT;
            memcpy(move->value, o->value, sizeof move->value);
            return NS_AGENT_READY;
        }
    }

    /* 4. Walk away from a stalled opponent below the floor (the only draw). */
    if (prev >= 0 && delta <= STALL_DELTA && neg->turns[latest].utility[s] < r &&
        gsl_rng_uniform(neg->rng) < p[NS_P_WALKAWAY]) {
        move->action = NS_ACT_WALK;
        return NS_AGENT_READY;
    }

    /* 5. Offer. */
    move->action = NS_ACT_OFFER;
    make_offer(st, neg, t, U, move->value);
    st->prev_target = U;
    return NS_AGENT_READY;
}

const ns_agent_kind ns_agent_builtin = {
    .name = "builtin",
    .state_size = sizeof(builtin_state),
    .begin = builtin_begin,
    .decide = builtin_decide,
};
