/*
 * test_agent.c - the built-in behavioural agent (ns_agent_builtin.c) and
 * the agent-kind registry (ns_agent.c).
 *
 * The agent is driven through a negotiation built by hand here (no
 * engine): the test plays the other side with chosen offers, or lets two
 * built-in agents play each other. Most checks use the test catalogue
 * tests/data/catalog/fixed/, whose agents all start from a = 1, r = 0.2,
 * beta = 1, d = 1, no imitation, no logrolling, no walk-away, margin 0,
 * and whose tactics each change one parameter, so targets can be worked
 * out by hand:  U(t) = 1 - 0.8 * min(1, t / (d T))^(1/beta).
 *
 * Scenario "one" (built by hand): a single issue x in [-50, 150], step
 * 0.01; the buyer wants it high (target 100, reservation 0), the seller
 * low (target 0, reservation 100). So the buyer's utility is x/100 on
 * [0, 100] and x < 0 is unacceptable to it. Scenario "two": issues a and b
 * like x, buyer weights 0.25 and 0.75.
 */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_agent.h"
#include "ns_catalog.h"
#include "ns_engine.h"
#include "ns_scenario.h"

#include "ns_test.h"


/* Offers are rounded to the 0.01 grid in the offerer's favour, so an
 * offer's utility lies in [U, U + 1e-4]. */
#define NEAR_U(expected, actual, what)                                        \
    CHECK((actual) >= (expected) - 1e-9 && (actual) <= (expected) + 1.01e-4,   \
          "%s: expected utility %.6f, got %.6f", (what), (double)(expected),   \
          (double)(actual))

#define NEAR(expected, actual, tol, what)                                     \
    CHECK(fabs((expected) - (actual)) <= (tol), "%s: expected %.6f, got %.6f", \
          (what), (double)(expected), (double)(actual))

/* ------------------------------------------------------------- scenarios */

static void make_issue(ns_issue *is, const char *name, double buyer_weight,
                       double seller_weight)
{
    memset(is, 0, sizeof *is);
    snprintf(is->name, sizeof is->name, "%s", name);
    is->type = NS_ISSUE_CONTINUOUS;
    is->lo = -50;
    is->hi = 150;
    is->step = 0.01;
    is->decimals = 2;
    snprintf(is->phrase, sizeof is->phrase, "{value}");
    is->side[NS_BUYER] = (ns_issue_side){.weight = buyer_weight, .prefer_higher = 1,
                                         .target = 100, .reservation = 0};
    is->side[NS_SELLER] = (ns_issue_side){.weight = seller_weight, .prefer_higher = 0,
                                          .target = 0, .reservation = 100};
}

static void make_one(ns_scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "one");
    sc->n_issues = 1;
    make_issue(&sc->issue[0], "x", 1.0, 1.0);
    ns_scenario_compile(sc);
}

static void make_two(ns_scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "two");
    sc->n_issues = 2;
    make_issue(&sc->issue[0], "a", 0.25, 0.5);
    make_issue(&sc->issue[1], "b", 0.75, 0.5);
    ns_scenario_compile(sc);
}

/* ------------------------------------------------- a negotiation by hand */

typedef struct sim {
    ns_job job;
    ns_negotiation neg;
    ns_turn turns[128];
    _Alignas(16) unsigned char state[2][8192];
} sim;

static void sim_start(sim *s, const ns_scenario *sc, const ns_catalog *cat, gsl_rng *rng,
                      int max_rounds, int opener, const int tactic[2],
                      const int influence[2])
{
    memset(s, 0, sizeof *s);
    s->job.sc = sc;
    s->job.opener = opener;
    for (int side = 0; side < 2; side++) {
        ns_side_setup *ss = &s->job.side[side];
        snprintf(ss->personality, sizeof ss->personality, "plain");
        for (int t = 0; t < NS_N_TRAITS; t++)
            ss->trait[t] = 0.5;
        ss->tactic = tactic[side];
        ss->influence = influence[side];
        snprintf(ss->agent, sizeof ss->agent, "builtin");
        ss->kind = &ns_agent_builtin;
    }
    ns_negotiation *n = &s->neg;
    n->job = &s->job;
    n->sc = sc;
    n->cat = cat;
    n->rng = rng;
    n->max_rounds = max_rounds;
    n->max_turns = 2 * max_rounds;
    n->state = NS_NEG_READY;
    n->to_move = opener;
    n->last_offer[0] = n->last_offer[1] = -1;
    n->closed_by = -1;
    n->turns = s->turns;
    for (int side = 0; side < 2; side++)
        ns_agent_builtin.begin(s->state[side], n, side);
}

/* Records a turn as the engine would: snapped values, both utilities. */
static void sim_push(sim *s, int speaker, ns_action action, const double *v)
{
    ns_negotiation *n = &s->neg;
    ns_turn *t = &s->turns[n->n_turns];
    t->speaker = speaker;
    t->action = action;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        t->value[i] = i < n->sc->n_issues ? ns_issue_snap(&n->sc->issue[i], v[i]) : 0;
    t->utility[0] = ns_scenario_utility(n->sc, NS_BUYER, t->value);
    t->utility[1] = ns_scenario_utility(n->sc, NS_SELLER, t->value);
    if (action == NS_ACT_OFFER)
        n->last_offer[speaker] = n->n_turns;
    n->n_turns++;
    n->to_move = 1 - speaker;
}

/* The test plays side `speaker` and offers x on every issue. */
static void sim_offer_x(sim *s, int speaker, double x)
{
    double v[NS_MAX_ISSUES];
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        v[i] = x;
    sim_push(s, speaker, NS_ACT_OFFER, v);
}

/* The agent on `side` moves; an offer is recorded. */
static ns_move sim_agent(sim *s, int side)
{
    ns_move m;
    memset(&m, 0, sizeof m);
    int r = ns_agent_builtin.decide(s->state[side], &s->neg, &m);
    CHECK(r == NS_AGENT_READY, "the built-in agent was not ready");
    CHECK(m.text == NULL, "the built-in agent wrote its own text");
    if (m.action == NS_ACT_OFFER)
        sim_push(s, side, NS_ACT_OFFER, m.value);
    return m;
}

static double buyer_u(const sim *s, const ns_move *m)
{
    return ns_scenario_utility(s->neg.sc, NS_BUYER, m->value);
}

typedef struct setup {
    const ns_catalog *cat;
    gsl_rng *rng;
    ns_scenario one, two;
} setup;

static int tac(const setup *su, const char *name)
{
    int i = ns_catalog_find(su->cat, NS_TACTIC, name);
    if (i < 0) {
        fprintf(stderr, "test catalogue lacks tactic %s\n", name);
        exit(1);
    }
    return i;
}

/* The buyer (agent, opener, tactic `tactic`) against a seller that always
 * offers x = -50 (unacceptable to the buyer): returns the utility of the
 * buyer's offer at each own move t < T in u[]. */
static void curve(setup *su, int tactic, int T, double *u)
{
    sim *s = malloc(sizeof *s);
    const int tactics[2] = {tactic, 0}, none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, T, NS_BUYER, tactics, none);
    for (int t = 0; t < T; t++) {
        ns_move m = sim_agent(s, NS_BUYER);
        CHECK(m.action == NS_ACT_OFFER, "t=%d: expected an offer, got action %d", t,
              (int)m.action);
        u[t] = buyer_u(s, &m);
        sim_offer_x(s, NS_SELLER, -50);
    }
    free(s);
}

/* ------------------------------------------------------------------ tests */

static void test_time_curves(setup *su)
{
    double lin[10], bw[10], cc[10], hasty[10];
    curve(su, 0, 10, lin);
    curve(su, tac(su, "boulware"), 10, bw);
    curve(su, tac(su, "conceder"), 10, cc);
    curve(su, tac(su, "hasty"), 10, hasty);
    /* linear: 1 - 0.8 t/10 */
    NEAR_U(1.0, lin[0], "linear t=0");
    NEAR_U(0.84, lin[2], "linear t=2");
    NEAR_U(0.6, lin[5], "linear t=5");
    NEAR_U(0.28, lin[9], "linear t=9");
    /* Boulware, beta 0.5: 1 - 0.8 (t/10)^2 */
    NEAR_U(0.968, bw[2], "boulware t=2");
    NEAR_U(0.8, bw[5], "boulware t=5");
    NEAR_U(0.352, bw[9], "boulware t=9");
    /* Conceder, beta 2: 1 - 0.8 sqrt(t/10) */
    NEAR_U(0.6422291236000336, cc[2], "conceder t=2");
    NEAR_U(0.4343145750507620, cc[5], "conceder t=5");
    NEAR_U(0.2410573417513896, cc[9], "conceder t=9");
    /* deadline 0.5: reaches the floor 0.2 at t = 5 and stays there */
    NEAR_U(0.68, hasty[2], "hasty t=2");
    NEAR_U(0.2, hasty[5], "hasty t=5");
    NEAR_U(0.2, hasty[9], "hasty t=9");

    /* Boulware concedes later than linear, linear later than conceder;
     * all start at the aspiration and never raise their demands. */
    for (int t = 1; t < 10; t++) {
        CHECK(bw[t] > lin[t] && lin[t] > cc[t], "t=%d: boulware %.4f, linear %.4f, "
              "conceder %.4f not in order", t, bw[t], lin[t], cc[t]);
        CHECK(bw[t] <= bw[t - 1] && lin[t] <= lin[t - 1] && cc[t] <= cc[t - 1],
              "t=%d: a demand went up", t);
    }
}

/* The buyer (linear) moves at t = 0..4 against -50 offers; then the seller
 * offers x and the buyer decides at its move t = 5 (target 0.6). */
static ns_move respond_at(setup *su, int tactic, int T, int at, double x)
{
    sim *s = malloc(sizeof *s);
    const int tactics[2] = {tactic, 0}, none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, T, NS_BUYER, tactics, none);
    for (int t = 0; t < at; t++) {
        sim_agent(s, NS_BUYER);
        sim_offer_x(s, NS_SELLER, t == at - 1 ? x : -50);
    }
    ns_move m = sim_agent(s, NS_BUYER);
    free(s);
    return m;
}

static void test_acceptance(setup *su)
{
    ns_move m = respond_at(su, 0, 10, 5, 60.01);
    CHECK(m.action == NS_ACT_ACCEPT, "0.6001 >= target 0.6 not accepted");
    CHECK(m.value[0] == ns_issue_snap(&su->one.issue[0], 60.01),
          "accepted values are not the standing offer's");
    m = respond_at(su, 0, 10, 5, 60.0);
    CHECK(m.action == NS_ACT_ACCEPT, "an offer equal to the target was not accepted");
    m = respond_at(su, 0, 10, 5, 59.99);
    CHECK(m.action == NS_ACT_OFFER, "0.5999 < target 0.6 accepted");

    /* AC_next, swept: accept exactly when the offer is at least as good as
     * the agent's own next offer; otherwise its counter-offer is better
     * for it than what it was offered. */
    int wrong = 0;
    for (double x = 50; x <= 70; x += 0.25) {
        m = respond_at(su, 0, 10, 5, x);
        double ux = x / 100;
        if (m.action == NS_ACT_ACCEPT)
            wrong += ux < 0.6 - 1e-9;
        else
            wrong += m.action != NS_ACT_OFFER || ux >= 0.6 + 1e-9 || m.value[0] / 100 <= ux;
    }
    CHECK(wrong == 0, "%d offers decided against AC_next", wrong);

    /* accept_margin 0.05: accepts down to 0.55 at t = 5 */
    m = respond_at(su, tac(su, "lenient"), 10, 5, 55.5);
    CHECK(m.action == NS_ACT_ACCEPT, "lenient: 0.555 not accepted with margin 0.05");
    m = respond_at(su, tac(su, "lenient"), 10, 5, 54.5);
    CHECK(m.action == NS_ACT_OFFER, "lenient: 0.545 accepted with margin 0.05");

    /* The last move (t = T-1 = 9, target 0.28) takes anything >= floor 0.2
     * that is acceptable; at t = 8 (target 0.36) it does not. */
    m = respond_at(su, 0, 10, 9, 25);
    CHECK(m.action == NS_ACT_ACCEPT, "last move: 0.25 >= floor not accepted");
    m = respond_at(su, 0, 10, 8, 25);
    CHECK(m.action == NS_ACT_OFFER, "t=8: 0.25 < target 0.36 accepted");
    m = respond_at(su, 0, 10, 9, 15);
    CHECK(m.action == NS_ACT_OFFER, "last move: 0.15 < floor accepted");
    /* never an offer outside its own acceptable region, even last */
    m = respond_at(su, tac(su, "lenient"), 10, 9, -1);
    CHECK(m.action == NS_ACT_OFFER, "an unacceptable offer was accepted");
}

static void test_tit_for_tat(setup *su)
{
    sim *s = malloc(sizeof *s);
    const int tactics[2] = {tac(su, "tft"), 0}, none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, tactics, none);
    ns_move m = sim_agent(s, NS_BUYER);
    NEAR_U(1.0, buyer_u(s, &m), "tft t=0");
    sim_offer_x(s, NS_SELLER, 10);
    /* one opponent offer: no concession to mirror yet, time curve 0.92 */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.92, buyer_u(s, &m), "tft t=1");
    sim_offer_x(s, NS_SELLER, 20); /* concedes 0.1 in the buyer's utility */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.82, buyer_u(s, &m), "tft t=2 mirrors a 0.1 concession");
    sim_offer_x(s, NS_SELLER, 20); /* holds firm */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.82, buyer_u(s, &m), "tft t=3 holds when the opponent holds");
    sim_offer_x(s, NS_SELLER, 35); /* concedes 0.15 */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.67, buyer_u(s, &m), "tft t=4 mirrors a 0.15 concession");
    sim_offer_x(s, NS_SELLER, 30); /* takes 0.05 back */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.67, buyer_u(s, &m), "tft t=5 does not raise its demand");
    free(s);

    /* Concessions still outside the agent's acceptable region count too:
     * the seller moves from x = -40 to -30, 0.1 in the buyer's utility
     * before clamping, and the buyer answers with 0.92 - 0.1 = 0.82. */
    s = malloc(sizeof *s);
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, tactics, none);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, -40);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, -30);
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.82, buyer_u(s, &m), "tft mirrors a concession below the reservation");
    free(s);

    /* the same history against a linear agent follows the clock instead:
     * at t = 2 its target is 0.84, not 0.82 */
    s = malloc(sizeof *s);
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, none, none);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, 10);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, 20);
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.84, buyer_u(s, &m), "linear agent ignores the concession");
    free(s);
}

static void test_anchoring(setup *su)
{
    sim *s = malloc(sizeof *s);
    const int anchor[2] = {tac(su, "anchoring"), 0}, none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, anchor, none);
    ns_move m = sim_agent(s, NS_BUYER);
    CHECK(m.action == NS_ACT_OFFER && m.value[0] == 150,
          "anchoring buyer opened at %g, expected the extreme 150", m.value[0]);
    /* The seller (susceptibility 0.5 to anchoring: aspiration 1 - 0.1 * 0.5
     * = 0.95) opens at 0.95 instead of 1: x = 5. */
    m = sim_agent(s, NS_SELLER);
    NEAR(5.0, m.value[0], 1.01e-2, "seller's opening after an anchor");
    /* The buyer's second offer follows its curve again: 0.92 -> x = 92. */
    m = sim_agent(s, NS_BUYER);
    NEAR_U(0.92, buyer_u(s, &m), "anchoring buyer, second offer");
    /* Seller t = 1: 0.95 - (0.95 - 0.2) * 0.1 = 0.875 (x = 12.5): the
     * effect applied once (twice would give 0.83). */
    m = sim_agent(s, NS_SELLER);
    NEAR(12.5, m.value[0], 1.01e-2, "seller t=1 after an anchor");
    free(s);

    /* Without anchoring the opening is the target (x = 100 for the buyer),
     * and the seller opens at its own target (x = 0). */
    s = malloc(sizeof *s);
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, none, none);
    m = sim_agent(s, NS_BUYER);
    CHECK(m.value[0] == 100, "plain buyer opened at %g, expected 100", m.value[0]);
    m = sim_agent(s, NS_SELLER);
    CHECK(fabs(m.value[0]) < 1e-9, "plain seller opened at %g, expected 0", m.value[0]);
    free(s);

    /* charm lowers the seller's floor by 0.1 * 0.5: r = 0.15, so at its
     * t = 5 of 10 its target is 1 - 0.85 * 0.5 = 0.575 (x = 42.5). */
    s = malloc(sizeof *s);
    const int charm[2] = {ns_catalog_find(su->cat, NS_INFLUENCE, "charm"), 0};
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, none, charm);
    for (int t = 0; t < 5; t++) {
        sim_offer_x(s, NS_BUYER, 150); /* the test plays the buyer */
        sim_agent(s, NS_SELLER);
    }
    sim_offer_x(s, NS_BUYER, 150);
    m = sim_agent(s, NS_SELLER);
    NEAR(42.5, m.value[0], 1.01e-2, "seller t=5 facing charm");
    free(s);
}

static void test_anchoring_multi_issue(setup *su, const ns_catalog *shipped,
                                       const ns_scenario *supplier)
{
    for (int opener = 0; opener < 2; opener++) {
        sim *s = malloc(sizeof *s);
        int anchor[2] = {0, 0};
        const int none[2] = {0, 0};
        anchor[opener] = ns_catalog_find(shipped, NS_TACTIC, "anchoring");
        sim_start(s, supplier, shipped, su->rng, 20, opener, anchor, none);
        ns_move m = sim_agent(s, opener);
        int at_extreme = m.action == NS_ACT_OFFER;
        for (int i = 0; i < supplier->n_issues; i++)
            at_extreme &= m.value[i] == ns_issue_extreme(&supplier->issue[i], opener);
        CHECK(at_extreme, "%s's anchored opening is not at every issue's extreme",
              ns_side_names[opener]);
        free(s);
    }
}

static void test_logrolling(setup *su)
{
    sim *s = malloc(sizeof *s);
    const int logroll[2] = {tac(su, "logroll"), 0}, none[2] = {0, 0};
    sim_start(s, &su->two, su->cat, su->rng, 10, NS_BUYER, logroll, none);
    double u[10], a[10], b[10];
    for (int t = 0; t < 10; t++) {
        ns_move m = sim_agent(s, NS_BUYER);
        u[t] = buyer_u(s, &m);
        a[t] = m.value[0];
        b[t] = m.value[1];
        sim_offer_x(s, NS_SELLER, -50);
    }
    /* t = 1, U = 0.92: give 0.08 away on a (weight 0.25): a at
     * 1 - 0.08/0.25 = 0.68, b kept at 1 */
    NEAR(68, a[1], 1.01e-2, "logrolling t=1, issue a");
    NEAR(100, b[1], 1.01e-2, "logrolling t=1, issue b");
    /* t = 5, U = 0.6: a given away entirely (0.25), then 0.15 of b's 0.75:
     * b at 0.8 */
    NEAR(0, a[5], 1.01e-2, "logrolling t=5, issue a");
    NEAR(80, b[5], 1.01e-2, "logrolling t=5, issue b");
    NEAR_U(0.6, u[5], "logrolling t=5, total utility");
    free(s);

    /* without logrolling both issues sit at the target level 0.6 */
    s = malloc(sizeof *s);
    sim_start(s, &su->two, su->cat, su->rng, 10, NS_BUYER, none, none);
    for (int t = 0; t < 5; t++) {
        sim_agent(s, NS_BUYER);
        sim_offer_x(s, NS_SELLER, -50);
    }
    ns_move m = sim_agent(s, NS_BUYER);
    NEAR(60, m.value[0], 1.01e-2, "uniform t=5, issue a");
    NEAR(60, m.value[1], 1.01e-2, "uniform t=5, issue b");
    free(s);
}

/* Draws taken from rng by one decide(): compares the next value with a
 * reference stream from the same seed. */
static int draws_taken(gsl_rng *rng, unsigned long seed)
{
    gsl_rng *ref = gsl_rng_alloc(gsl_rng_taus2);
    gsl_rng_set(ref, seed);
    double next = gsl_rng_uniform(rng);
    int n = -1;
    for (int k = 0; k < 4 && n < 0; k++)
        if (gsl_rng_uniform(ref) == next)
            n = k;
    gsl_rng_free(ref);
    return n;
}

/* The buyer moves at t = 0, 1, 2; the seller offers x1 then x2 before the
 * buyer's t = 2; returns the draws that t = 2 took and its action. */
static int stall_case(setup *su, int tactic, double x1, double x2, ns_action *action)
{
    const unsigned long seed = 12345;
    sim *s = malloc(sizeof *s);
    const int tactics[2] = {tactic, 0}, none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, tactics, none);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, x1);
    sim_agent(s, NS_BUYER);
    sim_offer_x(s, NS_SELLER, x2);
    gsl_rng_set(su->rng, seed);
    ns_move m = sim_agent(s, NS_BUYER);
    *action = m.action;
    free(s);
    return draws_taken(su->rng, seed);
}

static void test_walkaway(setup *su)
{
    const unsigned long seed = 777;
    ns_action act;
    /* the opening move: nothing to judge, no draw */
    sim *s = malloc(sizeof *s);
    const int none[2] = {0, 0};
    sim_start(s, &su->one, su->cat, su->rng, 10, NS_BUYER, none, none);
    gsl_rng_set(su->rng, seed);
    sim_agent(s, NS_BUYER);
    CHECK(draws_taken(su->rng, seed) == 0, "the opening move drew a number");
    free(s);

    int walker = tac(su, "walker");
    /* stalled (no concession) below the floor 0.2: exactly one draw */
    CHECK(stall_case(su, 0, 10, 10, &act) == 1, "stalled below the floor: not one draw");
    CHECK(act == NS_ACT_OFFER, "walkaway 0 walked");
    CHECK(stall_case(su, walker, 10, 10, &act) == 1, "walker: not one draw");
    CHECK(act == NS_ACT_WALK, "walkaway 1, stalled below the floor: did not walk");
    /* a concession of 0.004 still counts as stalled, 0.006 does not */
    CHECK(stall_case(su, walker, 10, 10.4, &act) == 1 && act == NS_ACT_WALK,
          "a 0.004 concession did not count as a stall");
    CHECK(stall_case(su, walker, 10, 10.6, &act) == 0 && act == NS_ACT_OFFER,
          "a 0.006 concession counted as a stall");
    /* conceding opponent, still below the floor: no draw */
    CHECK(stall_case(su, walker, 5, 15, &act) == 0 && act == NS_ACT_OFFER,
          "a conceding opponent triggered a draw");
    /* stalled but at or above the floor: no draw */
    CHECK(stall_case(su, walker, 30, 30, &act) == 0 && act == NS_ACT_OFFER,
          "stalled above the floor triggered a draw");
    CHECK(stall_case(su, walker, 20, 20, &act) == 0, "stalled at the floor drew");
    /* an opponent conceding while still unacceptable to the agent (x from
     * -30 to -20: utility 0 both times once clamped) is not stalled */
    CHECK(stall_case(su, walker, -30, -20, &act) == 0 && act == NS_ACT_OFFER,
          "a concession below the reservation counted as a stall");
    CHECK(stall_case(su, walker, -30, -30, &act) == 1 && act == NS_ACT_WALK,
          "no concession below the reservation did not count as a stall");
}

/* Two built-in agents to the end; counts protocol and model violations. */
typedef struct run_stats {
    int deals, walks, impasses, bad_offers, bad_accepts, nonmonotone;
} run_stats;

static void play(sim *s, run_stats *st, int check_monotone)
{
    ns_negotiation *n = &s->neg;
    double last_u[2] = {2, 2};
    while (n->n_turns < n->max_turns) {
        int side = n->to_move;
        ns_move m;
        memset(&m, 0, sizeof m);
        ns_agent_builtin.decide(s->state[side], n, &m);
        if (m.action == NS_ACT_WALK) {
            st->walks++;
            return;
        }
        if (m.action == NS_ACT_ACCEPT) {
            const ns_turn *o = n->n_turns ? &n->turns[n->n_turns - 1] : NULL;
            st->bad_accepts += !o || o->speaker == side ||
                               !ns_scenario_acceptable(n->sc, side, o->value);
            st->deals++;
            return;
        }
        st->bad_offers += !ns_scenario_acceptable(n->sc, side, m.value);
        sim_push(s, side, NS_ACT_OFFER, m.value);
        double u = n->turns[n->n_turns - 1].utility[side];
        /* after the (possibly anchored) opening, demands never rise */
        if (check_monotone && last_u[side] <= 1 && u > last_u[side] + 1e-9 &&
            n->n_turns > 2)
            st->nonmonotone++;
        last_u[side] = u;
    }
    st->impasses++;
}

static void test_full_runs(setup *su, const ns_catalog *cat, const ns_scenario *sc,
                           int check_monotone)
{
    run_stats st = {0};
    int nt = ns_catalog_count(cat, NS_TACTIC), ni = ns_catalog_count(cat, NS_INFLUENCE);
    sim *s = malloc(sizeof *s);
    unsigned long seed = 1;
    for (int bt = 0; bt < nt; bt++)
        for (int bi = 0; bi < ni; bi++)
            for (int xt = 0; xt < nt; xt++)
                for (int xi = 0; xi < ni; xi += 3) {
                    const int tactics[2] = {bt, xt}, influence[2] = {bi, xi};
                    gsl_rng_set(su->rng, seed++);
                    sim_start(s, sc, cat, su->rng, 20, (int)(seed & 1), tactics, influence);
                    play(s, &st, check_monotone);
                }
    free(s);
    int total = st.deals + st.walks + st.impasses;
    CHECK(st.bad_offers == 0, "%s: %d offers unacceptable to their own offerer", sc->name,
          st.bad_offers);
    CHECK(st.bad_accepts == 0, "%s: %d acceptances of unacceptable or absent offers",
          sc->name, st.bad_accepts);
    CHECK(st.nonmonotone == 0, "%s: %d offers raised a demand", sc->name, st.nonmonotone);
    /* both scenarios have a ZOPA: most pairs should find it */
    CHECK(st.deals > total / 2, "%s: only %d deals in %d negotiations", sc->name, st.deals,
          total);
    printf("  %s: %d negotiations, %d deals, %d walk-aways, %d impasses\n", sc->name, total,
           st.deals, st.walks, st.impasses);
}

static void test_determinism(setup *su, const ns_catalog *cat, const ns_scenario *sc)
{
    sim *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    const int tactics[2] = {ns_catalog_find(cat, NS_TACTIC, "boulware"),
                            ns_catalog_find(cat, NS_TACTIC, "tit_for_tat")};
    const int influence[2] = {ns_catalog_find(cat, NS_INFLUENCE, "scarcity"), 0};
    run_stats st = {0};
    gsl_rng_set(su->rng, 99);
    sim_start(a, sc, cat, su->rng, 20, NS_SELLER, tactics, influence);
    play(a, &st, 0);
    gsl_rng_set(su->rng, 99);
    sim_start(b, sc, cat, su->rng, 20, NS_SELLER, tactics, influence);
    play(b, &st, 0);
    CHECK(a->neg.n_turns == b->neg.n_turns &&
              memcmp(a->turns, b->turns, sizeof(ns_turn) * (size_t)a->neg.n_turns) == 0,
          "two runs with the same seed differ");
    free(a);
    free(b);
}

static void test_registry(void)
{
    CHECK(ns_agent_kind_find("builtin") == &ns_agent_builtin, "builtin not registered");
    CHECK(ns_agent_kind_find("nope") == NULL, "an unknown kind was found");
    CHECK(strcmp(ns_agent_builtin.name, "builtin") == 0, "kind name");
    /* every name listed for error messages resolves */
    char names[256];
    snprintf(names, sizeof names, "%s", ns_agent_kind_names());
    int n = 0;
    for (char *tok = strtok(names, ", "); tok; tok = strtok(NULL, ", "), n++)
        CHECK(ns_agent_kind_find(tok) != NULL, "listed kind '%s' not found", tok);
    CHECK(n >= 2, "builtin and llm listed, found %d", n);
    /* every listed kind fits the engine's state slots */
    snprintf(names, sizeof names, "%s", ns_agent_kind_names());
    for (char *tok = strtok(names, ", "); tok; tok = strtok(NULL, ", ")) {
        const ns_agent_kind *k = ns_agent_kind_find(tok);
        CHECK(k && k->state_size <= NS_AGENT_STATE_MAX, "kind '%s': state of %zu bytes",
              tok, k ? k->state_size : 0);
    }
    CHECK(ns_agent_kind_find("llm") == &ns_agent_llm, "llm registered");
    CHECK(strcmp(ns_action_names[NS_ACT_OFFER], "offer") == 0 &&
              strcmp(ns_action_names[NS_ACT_ACCEPT], "accept") == 0 &&
              strcmp(ns_action_names[NS_ACT_WALK], "walk") == 0,
          "action names");
    CHECK(ns_agent_builtin.state_size <= sizeof(((sim *)0)->state[0]),
          "state_size %zu too large", ns_agent_builtin.state_size);
}

int main(void)
{
    setup su;
    ns_error err = {0};
    ns_catalog *fixed = NULL, *shipped = NULL;
    ns_scenario *supplier = NULL, *used_car = NULL;
    if (ns_catalog_load("tests/data/catalog/fixed", &fixed, &err) ||
        ns_catalog_load("personalities", &shipped, &err) ||
        ns_scenario_load_file("scenarios/supplier_contract.yaml", &supplier, &err) ||
        ns_scenario_load_file("scenarios/used_car.yaml", &used_car, &err)) {
        fprintf(stderr, "test_agent: setup failed: %s\n", err.msg);
        return 1;
    }
    su.cat = fixed;
    su.rng = gsl_rng_alloc(gsl_rng_taus2);
    make_one(&su.one);
    make_two(&su.two);

    test_registry();
    test_time_curves(&su);
    test_acceptance(&su);
    test_tit_for_tat(&su);
    test_anchoring(&su);
    test_anchoring_multi_issue(&su, shipped, supplier);
    test_logrolling(&su);
    test_walkaway(&su);
    test_full_runs(&su, shipped, supplier, 0);
    test_full_runs(&su, shipped, used_car, 1);
    test_full_runs(&su, fixed, &su.two, 0);
    test_determinism(&su, shipped, supplier);

    gsl_rng_free(su.rng);
    ns_scenario_free(supplier);
    ns_scenario_free(used_car);
    ns_catalog_free(fixed);
    ns_catalog_free(shipped);
    return ns_test_report("test_agent");
}
