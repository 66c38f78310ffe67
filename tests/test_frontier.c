/*
 * test_frontier.c - the Pareto frontier, Nash and Kalai-Smorodinsky points:
 * a one-issue price haggle and a two-issue logrolling case worked out by
 * hand, a brute-force cross-check on many generated three-issue scenarios
 * (every outcome enumerated, Pareto set and argmaxes found naively), the
 * distance function, and the empty ZOPA.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_frontier.h"
#include "ns_scenario.h"

#include "ns_test.h"


#define CHECK_NEAR(want, got, tol)                                             \
    CHECK(fabs((double)(want) - (double)(got)) <= (tol),                       \
          "%s: expected %.12g, got %.12g", #got, (double)(want), (double)(got))

static ns_scenario *load_inline(const char *text)
{
    ns_error err = {0};
    ns_yaml *y = NULL;
    ns_scenario *sc = NULL;
    if (ns_yaml_load_string("inline.yaml", text, &y, &err) == NS_OK)
        ns_scenario_from_node(y, ns_yaml_root(y), &sc, &err);
    ns_yaml_free(y);
    CHECK(sc, "inline scenario loads: %s", err.msg);
    return sc;
}

static double value_at(const ns_frontier *f, int k, int i)
{
    return f->values[k * f->n_issues + i];
}

/* ---- one issue ------------------------------------------------------------ */

/* Price 0..100 on a grid of 1; the ZOPA is 30..70 (41 values). */
#define PRICE_YAML                                                             \
    "name: price_only\n"                                                       \
    "issues:\n"                                                                \
    "  - name: price\n"                                                        \
    "    type: continuous\n"                                                   \
    "    range: [0, 100]\n"                                                    \
    "    step: 1\n"                                                            \
    "    buyer:  {prefer: lower,  target: %d, reservation: 70}\n"              \
    "    seller: {prefer: higher, target: 80, reservation: 30}\n"

static ns_scenario *price_scenario(int buyer_target)
{
    char text[512];
    snprintf(text, sizeof text, PRICE_YAML, buyer_target);
    return load_inline(text);
}

static void test_symmetric_price(void)
{
    ns_scenario *sc = price_scenario(20);
    if (!sc)
        return;
    const ns_frontier *f = sc->frontier;
    /* opposed linear utilities: every ZOPA value is Pareto optimal */
    CHECK(f->n == 41, "frontier: expected the 41 ZOPA values, got %d", f->n);
    CHECK_NEAR(41, f->n_outcomes, 0);
    CHECK(f->n_issues == 1 && f->resolution == 51, "n_issues 1, resolution 51");
    int ok = 1;
    for (int k = 0; k < f->n && ok; k++) {
        double v = 70 - k; /* ascending buyer utility = descending price */
        ok = value_at(f, k, 0) == v && fabs(f->u[0][k] - (70 - v) / 50) < 1e-12 &&
             fabs(f->u[1][k] - (v - 30) / 50) < 1e-12;
        if (!ok)
            CHECK(0, "point %d: expected price %g (%.4f, %.4f), got %g (%.4f, %.4f)", k,
                  v, (70 - v) / 50, (v - 30) / 50, value_at(f, k, 0), f->u[0][k],
                  f->u[1][k]);
    }
    /* symmetric: Nash and KS at the midpoint 50, both sides 0.4 */
    CHECK(f->nash >= 0 && value_at(f, f->nash, 0) == 50, "Nash at 50, got %g",
          f->nash >= 0 ? value_at(f, f->nash, 0) : NAN);
    CHECK(f->ks >= 0 && value_at(f, f->ks, 0) == 50, "KS at 50, got %g",
          f->ks >= 0 ? value_at(f, f->ks, 0) : NAN);
    CHECK_NEAR(0.4, f->u[0][f->nash], 1e-12);
    CHECK_NEAR(0.4, f->u[1][f->nash], 1e-12);

    /* a coarser resolution: 5 evenly spaced ZOPA values 30, 40, ..., 70 */
    ns_error err = {0};
    ns_frontier *g = NULL;
    CHECK(ns_frontier_compute(sc, 5, &g, &err) == NS_OK, "resolution 5: %s", err.msg);
    if (g) {
        CHECK(g->n == 5 && g->n_outcomes == 5 && g->resolution == 5,
              "resolution 5: expected 5 points, got %d", g->n);
        for (int k = 0; k < g->n; k++)
            CHECK_NEAR(70 - 10 * k, value_at(g, k, 0), 0);
        ns_frontier_free(g);
    }
    CHECK(ns_frontier_compute(sc, 1, &g, &err) != NS_OK, "resolution 1 refused");
    ns_scenario_free(sc);
}

/* The buyer's target 40 lies inside the ZOPA: prices 30..39 give the buyer
 * no more than 40 does but the seller less, so they drop out. */
static void test_clamped_price(void)
{
    ns_scenario *sc = price_scenario(40);
    if (!sc)
        return;
    const ns_frontier *f = sc->frontier;
    CHECK(f->n == 31, "frontier: expected prices 40..70 (31), got %d", f->n);
    CHECK_NEAR(41, f->n_outcomes, 0);
    if (f->n == 31) {
        CHECK_NEAR(70, value_at(f, 0, 0), 0);
        CHECK_NEAR(40, value_at(f, 30, 0), 0);
    }
    /* Nash maximises (70-v)/30 * (v-30)/50, i.e. (70-v)(v-30): v = 50,
     * utilities 2/3 and 2/5 */
    CHECK_NEAR(50, value_at(f, f->nash, 0), 0);
    CHECK_NEAR(2.0 / 3, f->u[0][f->nash], 1e-12);
    CHECK_NEAR(0.4, f->u[1][f->nash], 1e-12);
    /* KS: best_b = 1 (at 40), best_s = 0.8 (at 70); equal normalised gains
     * (70-v)/30 = (v-30)/40 at v = 52.86; on the grid min(.) is 0.55 at 52
     * and 17/30 = 0.567 at 53, so 53 */
    CHECK_NEAR(53, value_at(f, f->ks, 0), 0);
    double rb = f->u[0][f->ks] / 1.0, rs = f->u[1][f->ks] / 0.8;
    CHECK(fabs(rb - rs) < 0.03, "KS gains nearly equal: %.4f vs %.4f", rb, rs);
    ns_scenario_free(sc);
}

/* ---- two issues: logrolling by hand --------------------------------------- */

/* x matters 0.8 to the buyer and 0.2 to the seller, y the other way round.
 *   ub = 0.4(2-x) + 0.1(2-y)   us = 0.1x + 0.4y
 * All nine outcomes (x,y): ub/us
 *   (0,0) 1.0/0.0  (0,1) 0.9/0.4  (0,2) 0.8/0.8
 *   (1,0) 0.6/0.1  (1,1) 0.5/0.5  (1,2) 0.4/0.9
 *   (2,0) 0.2/0.2  (2,1) 0.1/0.6  (2,2) 0.0/1.0
 * Pareto: (2,2) (1,2) (0,2) (0,1) (0,0); (0,2) beats the compromise (1,1)
 * for both sides, and is the Nash (0.64) and KS (min 0.8) point. */
static const char *logroll_yaml =
    "name: logroll\n"
    "issues:\n"
    "  - name: x\n"
    "    type: integer\n"
    "    range: [0, 2]\n"
    "    buyer:  {weight: 0.8, prefer: lower,  target: 0, reservation: 2}\n"
    "    seller: {weight: 0.2, prefer: higher, target: 2, reservation: 0}\n"
    "  - name: y\n"
    "    type: integer\n"
    "    range: [0, 2]\n"
    "    buyer:  {weight: 0.2, prefer: lower,  target: 0, reservation: 2}\n"
    "    seller: {weight: 0.8, prefer: higher, target: 2, reservation: 0}\n";

static ns_scenario *logroll_scenario(void) { return load_inline(logroll_yaml); }

static void test_logrolling(void)
{
    ns_scenario *sc = logroll_scenario();
    if (!sc)
        return;
    const ns_frontier *f = sc->frontier;
    static const double want[5][4] = {/* x, y, ub, us */
                                      {2, 2, 0.0, 1.0},
                                      {1, 2, 0.4, 0.9},
                                      {0, 2, 0.8, 0.8},
                                      {0, 1, 0.9, 0.4},
                                      {0, 0, 1.0, 0.0}};
    CHECK(f->n == 5, "frontier: expected 5 points, got %d", f->n);
    CHECK_NEAR(9, f->n_outcomes, 0);
    for (int k = 0; k < 5 && k < f->n; k++) {
        CHECK(value_at(f, k, 0) == want[k][0] && value_at(f, k, 1) == want[k][1],
              "point %d: expected (%g,%g), got (%g,%g)", k, want[k][0], want[k][1],
              value_at(f, k, 0), value_at(f, k, 1));
        CHECK_NEAR(want[k][2], f->u[0][k], 1e-12);
        CHECK_NEAR(want[k][3], f->u[1][k], 1e-12);
    }
    CHECK(f->nash == 2, "Nash: expected point 2 (0,2), got %d", f->nash);
    CHECK(f->ks == 2, "KS: expected point 2 (0,2), got %d", f->ks);
    ns_scenario_free(sc);
}

/* ---- distance ------------------------------------------------------------- */

static void test_distance(void)
{
    ns_scenario *sc = logroll_scenario();
    if (!sc)
        return;
    const ns_frontier *f = sc->frontier;
    CHECK_NEAR(0.0, ns_frontier_distance(f, 0.8, 0.8), 1e-12);
    CHECK_NEAR(sqrt(0.08), ns_frontier_distance(f, 1.0, 1.0), 1e-12);   /* to (.8,.8) */
    CHECK_NEAR(sqrt(0.97), ns_frontier_distance(f, 0.0, 0.0), 1e-12);   /* to (.4,.9) */
    CHECK_NEAR(sqrt(0.17), ns_frontier_distance(f, 0.5, 0.5), 1e-12);   /* to (.4,.9) */
    CHECK_NEAR(0.1, ns_frontier_distance(f, 0.0, 0.9), 1e-12);          /* to (0,1) */
    CHECK(isnan(ns_frontier_distance(NULL, 0.5, 0.5)), "NULL frontier: NAN");
    ns_scenario_free(sc);
}

static void test_empty(void)
{
    ns_error err = {0};
    ns_scenario *sc = NULL;
    ns_status st =
        ns_scenario_load_file("tests/data/scenarios/empty_zopa.yaml", &sc, &err);
    CHECK(st == NS_OK, "empty_zopa loads: %s", err.msg);
    if (!sc)
        return;
    const ns_frontier *f = sc->frontier;
    CHECK(f && f->n == 0 && f->nash == -1 && f->ks == -1 && f->n_outcomes == 0,
          "empty ZOPA: expected n=0 nash=ks=-1 n_outcomes=0, got n=%d nash=%d ks=%d %g",
          f ? f->n : -1, f ? f->nash : -9, f ? f->ks : -9, f ? f->n_outcomes : -1);
    CHECK(isnan(ns_frontier_distance(f, 0.5, 0.5)), "empty frontier: distance NAN");
    ns_scenario_free(sc);
}

/* ---- brute force ------------------------------------------------------------ */

static unsigned long long lcg_state = 12345;
static double rnd(void) /* uniform in [0,1) */
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}
static int rnd_int(int n) { return (int)(rnd() * n); }

static const char *const opts[5] = {"a", "b", "c", "d", "e"};

/* A reservation strictly worse than the target for a side preferring
 * `higher`, drawn within [lo, hi]. */
static void numeric_side(char *buf, size_t size, double lo, double hi, int higher,
                         double weight, int whole)
{
    double a = lo + rnd() * (hi - lo) * 0.45, b = hi - rnd() * (hi - lo) * 0.45;
    if (whole) {
        a = ceil(a);
        b = floor(b);
    }
    snprintf(buf, size, "{weight: %.3f, prefer: %s, target: %g, reservation: %g}", weight,
             higher ? "higher" : "lower", higher ? b : a, higher ? a : b);
}

static void discrete_side(char *buf, size_t size, double weight)
{
    int order[5] = {0, 1, 2, 3, 4};
    for (int k = 4; k > 0; k--) { /* Fisher-Yates */
        int j = rnd_int(k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    snprintf(buf, size, "{weight: %.3f, ranking: [%s, %s, %s, %s, %s], reservation: %s}",
             weight, opts[order[0]], opts[order[1]], opts[order[2]], opts[order[3]],
             opts[order[4]], opts[order[1 + rnd_int(4)]]);
}

/* Price 0..100 step 5 (21 values), days 1..12, an option a..e; each side's
 * directions, targets, reservations, rankings and weights drawn at random
 * (a shared direction on price or days happens too). */
static ns_scenario *random_scenario(int seed_index)
{
    char side[2][3][160], text[2048];
    for (int s = 0; s < 2; s++) {
        int opposed = rnd() < 0.8;
        int higher = s == 0 ? 0 : opposed;
        numeric_side(side[s][0], sizeof side[s][0], 0, 100, higher, 0.05 + rnd(), 0);
        numeric_side(side[s][1], sizeof side[s][1], 1, 12, rnd() < 0.5,
                     0.05 + rnd(), 1);
        discrete_side(side[s][2], sizeof side[s][2], 0.05 + rnd());
    }
    snprintf(text, sizeof text,
             "name: random_%d\n"
             "resolution: 101\n"
             "issues:\n"
             "  - {name: price, type: continuous, range: [0, 100], step: 5,\n"
             "     buyer: %s,\n     seller: %s}\n"
             "  - {name: days, type: integer, range: [1, 12],\n"
             "     buyer: %s,\n     seller: %s}\n"
             "  - {name: option, type: discrete, options: [a, b, c, d, e],\n"
             "     buyer: %s,\n     seller: %s}\n",
             seed_index, side[0][0], side[1][0], side[0][1], side[1][1], side[0][2],
             side[1][2]);
    return load_inline(text);
}

typedef struct outcome {
    double v[3];
    double u[2];
} outcome;

/* Every outcome on the full grid that both sides accept. */
static int enumerate(const ns_scenario *sc, outcome *out)
{
    int n = 0;
    for (int p = 0; p <= 20; p++)
        for (int d = 1; d <= 12; d++)
            for (int o = 0; o < 5; o++) {
                outcome x = {{p * 5.0, d, o}, {0, 0}};
                if (!ns_scenario_acceptable(sc, NS_BUYER, x.v) ||
                    !ns_scenario_acceptable(sc, NS_SELLER, x.v))
                    continue;
                x.u[0] = ns_scenario_utility(sc, NS_BUYER, x.v);
                x.u[1] = ns_scenario_utility(sc, NS_SELLER, x.v);
                out[n++] = x;
            }
    return n;
}

static int dominated(const outcome *a, const outcome *all, int n)
{
    for (int k = 0; k < n; k++) {
        const outcome *b = &all[k];
        if (b->u[0] >= a->u[0] && b->u[1] >= a->u[1] &&
            (b->u[0] > a->u[0] || b->u[1] > a->u[1]))
            return 1;
    }
    return 0;
}

static int by_ub(const void *pa, const void *pb)
{
    const outcome *a = pa, *b = pb;
    return (a->u[0] > b->u[0]) - (a->u[0] < b->u[0]);
}

/* The naive Pareto set, one entry per distinct utility pair, by u_b. */
static int naive_pareto(const outcome *all, int n, outcome *out)
{
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (dominated(&all[k], all, n))
            continue;
        int dup = 0;
        for (int j = 0; j < m; j++)
            dup |= out[j].u[0] == all[k].u[0] && out[j].u[1] == all[k].u[1];
        if (!dup)
            out[m++] = all[k];
    }
    qsort(out, (size_t)m, sizeof *out, by_ub);
    return m;
}

static void naive_nash_ks(const outcome *p, int m, double *nash, double *ks)
{
    double best_b = 0, best_s = 0;
    for (int k = 0; k < m; k++) {
        best_b = fmax(best_b, p[k].u[0]);
        best_s = fmax(best_s, p[k].u[1]);
    }
    *nash = *ks = -1;
    for (int k = 0; k < m; k++) {
        *nash = fmax(*nash, p[k].u[0] * p[k].u[1]);
        double rb = best_b > 0 ? p[k].u[0] / best_b : 1,
               rs = best_s > 0 ? p[k].u[1] / best_s : 1;
        *ks = fmax(*ks, fmin(rb, rs));
    }
}

/* Frontier equals the naive Pareto set; each point's values reproduce its
 * utilities and are acceptable; Nash and KS reach the naive maxima. */
static int compare_with_naive(const ns_scenario *sc, const outcome *p, int m)
{
    const ns_frontier *f = sc->frontier;
    if (f->n != m) {
        CHECK(0, "%s: frontier has %d points, brute force %d", sc->name, f->n, m);
        return 0;
    }
    for (int k = 0; k < m; k++) {
        const double *v = &f->values[k * f->n_issues];
        double ub = ns_scenario_utility(sc, NS_BUYER, v),
               us = ns_scenario_utility(sc, NS_SELLER, v);
        int ok = fabs(f->u[0][k] - p[k].u[0]) < 1e-12 &&
                 fabs(f->u[1][k] - p[k].u[1]) < 1e-12 && fabs(ub - f->u[0][k]) < 1e-12 &&
                 fabs(us - f->u[1][k]) < 1e-12 &&
                 ns_scenario_acceptable(sc, NS_BUYER, v) &&
                 ns_scenario_acceptable(sc, NS_SELLER, v);
        if (!ok) {
            CHECK(0,
                  "%s: point %d: frontier (%.6f, %.6f) at (%g, %g, %g), brute force "
                  "(%.6f, %.6f)",
                  sc->name, k, f->u[0][k], f->u[1][k], v[0], v[1], v[2], p[k].u[0],
                  p[k].u[1]);
            return 0;
        }
    }
    double nash, ks;
    naive_nash_ks(p, m, &nash, &ks);
    double fb = f->u[0][f->n - 1], fs = f->u[1][0];
    double fks = fmin(fb > 0 ? f->u[0][f->ks] / fb : 1, fs > 0 ? f->u[1][f->ks] / fs : 1);
    int ok = fabs(f->u[0][f->nash] * f->u[1][f->nash] - nash) < 1e-12 &&
             fabs(fks - ks) < 1e-12;
    CHECK(ok, "%s: Nash product %.9f vs %.9f, KS score %.9f vs %.9f", sc->name,
          f->u[0][f->nash] * f->u[1][f->nash], nash, fks, ks);
    return ok;
}

static void test_brute_force(void)
{
    enum { N_SCENARIOS = 60 };
    outcome *all = malloc(21 * 12 * 5 * sizeof *all),
            *pareto = malloc(21 * 12 * 5 * sizeof *all);
    int agreed = 0, nonempty = 0, big = 0;
    for (int r = 0; r < N_SCENARIOS; r++) {
        ns_scenario *sc = random_scenario(r);
        if (!sc)
            continue;
        int n = enumerate(sc, all);
        int m = naive_pareto(all, n, pareto);
        CHECK(sc->frontier->n_outcomes == n,
              "%s: n_outcomes %.0f, brute force counts %d acceptable outcomes", sc->name,
              sc->frontier->n_outcomes, n);
        CHECK((n == 0) == sc->zopa_empty, "%s: zopa_empty %d with %d outcomes", sc->name,
              sc->zopa_empty, n);
        if (m > 0 && compare_with_naive(sc, pareto, m))
            agreed++;
        nonempty += m > 0;
        big += m >= 10;
        if (m == 0)
            CHECK(sc->frontier->n == 0 && sc->frontier->nash == -1, "%s: empty frontier",
                  sc->name);
        ns_scenario_free(sc);
    }
    CHECK(agreed == nonempty, "brute force agreed on %d of %d scenarios", agreed,
          nonempty);
    /* the generator must exercise real frontiers, not only trivial ones */
    CHECK(nonempty >= N_SCENARIOS / 2 && big >= 10,
          "generator: %d non-empty, %d with >= 10 frontier points", nonempty, big);
    free(all);
    free(pareto);
}

/* ---- order ------------------------------------------------------------------ */

static void test_shipped_order(void)
{
    const char *files[] = {"scenarios/used_car.yaml", "scenarios/supplier_contract.yaml",
                           "scenarios/office_lease.yaml"};
    for (int k = 0; k < 3; k++) {
        ns_error err = {0};
        ns_scenario *sc = NULL;
        if (ns_scenario_load_file(files[k], &sc, &err) != NS_OK) {
            CHECK(0, "%s: %s", files[k], err.msg);
            continue;
        }
        const ns_frontier *f = sc->frontier;
        int sorted = f->n > 0;
        for (int j = 1; j < f->n; j++)
            sorted &= f->u[0][j] > f->u[0][j - 1] && f->u[1][j] < f->u[1][j - 1];
        CHECK(sorted, "%s: buyer utility ascending, seller descending", files[k]);
        ns_scenario_free(sc);
    }
}

int main(void)
{
    test_symmetric_price();
    test_clamped_price();
    test_logrolling();
    test_distance();
    test_empty();
    test_brute_force();
    test_shipped_order();
    return ns_test_report("test_frontier");
}
