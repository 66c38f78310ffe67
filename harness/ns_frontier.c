/*
 * ns_frontier.c - the Pareto frontier of a scenario, built issue by issue,
 * and its Nash and Kalai-Smorodinsky points (definitions: ns_frontier.h).
 *
 * How: each issue is discretised over its ZOPA into "points", each with
 * the weighted utility it adds for either side; points another point of
 * the same issue dominates are dropped at once. Level i holds the Pareto
 * set of partial outcomes over issues 0..i; level i+1 is every level-i
 * survivor combined with every point of issue i+1, pruned again. Because
 * utilities are additive, a partial outcome dominated on issues 0..i stays
 * dominated whatever the remaining issues add, so pruning loses nothing.
 * Survivors remember only (parent, point); the issue values of the final
 * frontier are recovered by walking parents back through the levels.
 *
 * Pruning sorts candidates by buyer utility descending (seller utility
 * descending on ties) and keeps those whose seller utility is strictly
 * above every one kept before. Comparisons use utilities quantised to
 * 2^-40: sums of the same numbers in different orders differ in the last
 * bits, and without quantising, one agreement reached two ways would show
 * up as two "different" frontier points. Remaining ties (identical
 * quantised utilities) keep the candidate with the smaller (parent, point)
 * pair, which makes the result deterministic.
 */
#include "ns_frontier.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QUANTUM 1099511627776.0 /* 2^40 */
#define GRID_TOL 1e-9           /* as in ns_scenario.c */
#define TIE_TOL 1e-12           /* Nash/KS scores closer than this tie */
#define MAX_CANDIDATES (1 << 21) /* ~120 MB at peak (56 bytes each) */

/* One issue's discretisation: values and the weighted utilities they add. */
typedef struct points {
    int n;
    double *value;
    double *du[2];
} points;

/* A partial outcome over issues 0..level, as the sort sees it. Sorting is
 * most of the cost, so this stays small and utilities live in `level`. */
typedef struct cand {
    int64_t key[2]; /* quantised utilities, see the file comment */
    int parent;     /* index into the previous level, -1 at level 0 */
    int point;      /* index into this issue's points */
} cand;

/* The Pareto set over issues 0..i: who each survivor is, and its exact
 * (unquantised) utilities, from which the next level's sums are made. */
typedef struct level {
    int n;
    cand *c;
    double *u[2];
} level;

/* ------------------------------------------------------------------ */
/* discretisation                                                       */

static void add_point(points *p, const ns_issue *is, double v)
{
    p->value[p->n] = v;
    for (int side = 0; side < 2; side++)
        p->du[side][p->n] = is->side[side].weight * ns_issue_utility(is, side, v);
    p->n++;
}

static void discrete_points(const ns_issue *is, points *p)
{
    for (int k = 0; k < is->n_options; k++)
        if (is->side[0].option_utility[k] >= 0 && is->side[1].option_utility[k] >= 0)
            add_point(p, is, k);
}

/* Grid indices k (value lo + k*step) inside the ZOPA interval; the same
 * interval rule as ns_scenario.c's ZOPA check. Sets *kmin > *kmax when
 * there are none. */
static void numeric_zopa(const ns_issue *is, double *kmin, double *kmax)
{
    double zlo = is->lo, zhi = is->hi;
    for (int side = 0; side < 2; side++) {
        const ns_issue_side *s = &is->side[side];
        if (s->prefer_higher)
            zlo = fmax(zlo, s->reservation);
        else
            zhi = fmin(zhi, s->reservation);
    }
    double top = floor((is->hi - is->lo) / is->step + GRID_TOL);
    *kmin = fmax(0, ceil((zlo - is->lo) / is->step - GRID_TOL));
    *kmax = fmin(top, floor((zhi - is->lo) / is->step + GRID_TOL));
}

/* Every grid value in the ZOPA when there are at most `resolution` of
 * them, else `resolution` of them evenly spaced from one end to the other
 * (each step covers at least one grid value, so none repeats). */
static void numeric_points(const ns_issue *is, int resolution, points *p)
{
    double kmin, kmax;
    numeric_zopa(is, &kmin, &kmax);
    if (kmin > kmax)
        return;
    double span = kmax - kmin;
    if (span + 1 <= resolution) {
        for (double k = kmin; k <= kmax; k++)
            add_point(p, is, is->lo + k * is->step);
        return;
    }
    for (int j = 0; j < resolution; j++) {
        double k = kmin + nearbyint(j * span / (resolution - 1));
        add_point(p, is, is->lo + k * is->step);
    }
}

static void make_points(const ns_issue *is, int resolution, points *p)
{
    int cap = resolution > NS_MAX_OPTIONS ? resolution : NS_MAX_OPTIONS;
    p->n = 0;
    p->value = ns_xmalloc((size_t)cap * sizeof *p->value);
    p->du[0] = ns_xmalloc((size_t)cap * sizeof *p->du[0]);
    p->du[1] = ns_xmalloc((size_t)cap * sizeof *p->du[1]);
    if (is->type == NS_ISSUE_DISCRETE)
        discrete_points(is, p);
    else
        numeric_points(is, resolution, p);
}

static void free_points(points *p)
{
    free(p->value);
    free(p->du[0]);
    free(p->du[1]);
}

/* ------------------------------------------------------------------ */
/* Pareto pruning                                                       */

static int cmp_int64_desc(int64_t a, int64_t b) { return (a < b) - (a > b); }
static int cmp_int_asc(int a, int b) { return (a > b) - (a < b); }

/* Sorting pointers rather than the candidates themselves: glibc's qsort
 * moves 8-byte elements with plain word copies but larger ones through a
 * generic copy, which made the whole computation about twice as slow. */
static int cmp_cand(const void *pa, const void *pb)
{
    const cand *a = *(const cand *const *)pa, *b = *(const cand *const *)pb;
    int c = cmp_int64_desc(a->key[0], b->key[0]);
    if (!c)
        c = cmp_int64_desc(a->key[1], b->key[1]);
    if (!c)
        c = cmp_int_asc(a->parent, b->parent);
    if (!c)
        c = cmp_int_asc(a->point, b->point);
    return c;
}

/* Keeps the non-dominated candidates, in place; returns how many. They
 * come out sorted by buyer utility descending. */
static int prune(cand *c, int n)
{
    const cand **order = ns_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    for (int k = 0; k < n; k++)
        order[k] = &c[k];
    qsort(order, (size_t)n, sizeof *order, cmp_cand);
    cand *kept = ns_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *kept);
    int64_t best_s = -1;
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (order[k]->key[1] > best_s) {
            best_s = order[k]->key[1];
            kept[m++] = *order[k];
        }
    }
    memcpy(c, kept, (size_t)m * sizeof *c);
    free(kept);
    free(order);
    return m;
}

/* Utilities here are sums of weight * utility, never negative, so adding
 * one half and truncating rounds to the nearest multiple of 2^-40. */
static int64_t quantise(double u)
{
    assert(u >= 0);
    return (int64_t)(u * QUANTUM + 0.5);
}

static void set_cand(cand *c, double ub, double us, int parent, int point)
{
    c->key[0] = quantise(ub);
    c->key[1] = quantise(us);
    c->parent = parent;
    c->point = point;
}

/* Drops the points of one issue that another point of it dominates: a
 * partial outcome using a dominated point is dominated by the same one
 * using the dominating point, so such points can never reach the
 * frontier. Keeps the others in the order the sort leaves them. */
static void prune_points(points *p)
{
    if (p->n < 2)
        return;
    cand *c = ns_xmalloc((size_t)p->n * sizeof *c);
    for (int b = 0; b < p->n; b++)
        set_cand(&c[b], p->du[0][b], p->du[1][b], -1, b);
    int n = prune(c, p->n);
    points kept = {n, ns_xmalloc((size_t)n * sizeof *kept.value),
                   {ns_xmalloc((size_t)n * sizeof *kept.du[0]),
                    ns_xmalloc((size_t)n * sizeof *kept.du[1])}};
    for (int k = 0; k < n; k++) {
        int b = c[k].point;
        kept.value[k] = p->value[b];
        kept.du[0][k] = p->du[0][b];
        kept.du[1][k] = p->du[1][b];
    }
    free_points(p);
    *p = kept;
    free(c);
}

/* Level i from level i-1 (or from nothing when i == 0). */
static ns_status extend(const level *prev, const points *p, level *out,
                        const ns_scenario *sc, ns_error *err)
{
    int np = prev ? prev->n : 1;
    if ((double)np * p->n > MAX_CANDIDATES)
        return ns_fail(err, NS_ERR_INPUT, "scenario '%s': the Pareto frontier needs "
                       "%.0f candidate outcomes at one step (limit %d); lower its "
                       "resolution", sc->name, (double)np * p->n, MAX_CANDIDATES);
    out->c = ns_xmalloc((size_t)np * (size_t)p->n * sizeof *out->c);
    int n = 0;
    for (int a = 0; a < np; a++) {
        double ub = prev ? prev->u[0][a] : 0, us = prev ? prev->u[1][a] : 0;
        for (int b = 0; b < p->n; b++)
            set_cand(&out->c[n++], ub + p->du[0][b], us + p->du[1][b], prev ? a : -1, b);
    }
    out->n = prune(out->c, n);
    /* survivors are usually a small fraction: give the rest back, since
     * every level is kept until the values are recovered */
    out->c = ns_xrealloc(out->c, (size_t)(out->n > 0 ? out->n : 1) * sizeof *out->c);
    /* the same sums again, for the survivors only, unquantised */
    for (int side = 0; side < 2; side++) {
        out->u[side] =
            ns_xmalloc((size_t)(out->n > 0 ? out->n : 1) * sizeof *out->u[side]);
        for (int k = 0; k < out->n; k++) {
            const cand *c = &out->c[k];
            out->u[side][k] =
                (prev ? prev->u[side][c->parent] : 0) + p->du[side][c->point];
        }
    }
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* result                                                               */

static ns_frontier *new_frontier(const ns_scenario *sc, int resolution, int n)
{
    ns_frontier *f = ns_xcalloc(1, sizeof *f);
    f->n = n;
    f->n_issues = sc->n_issues;
    f->resolution = resolution;
    f->nash = f->ks = -1;
    if (n > 0) {
        f->u[0] = ns_xmalloc((size_t)n * sizeof *f->u[0]);
        f->u[1] = ns_xmalloc((size_t)n * sizeof *f->u[1]);
        f->values = ns_xmalloc((size_t)n * (size_t)sc->n_issues * sizeof *f->values);
    }
    return f;
}

/* Copies the last level into f in ascending buyer utility, walking each
 * survivor's parents back to recover its issue values. */
static void fill_points(ns_frontier *f, const level *lv, const points *pts)
{
    int last = f->n_issues - 1;
    for (int k = 0; k < f->n; k++) {
        int j = f->n - 1 - k;
        const cand *c = &lv[last].c[j];
        f->u[0][k] = lv[last].u[0][j];
        f->u[1][k] = lv[last].u[1][j];
        for (int i = last; i >= 0; i--) {
            f->values[k * f->n_issues + i] = pts[i].value[c->point];
            if (i > 0)
                c = &lv[i - 1].c[c->parent];
        }
    }
}

/* Nash: largest product; ties go to the more balanced split. */
static int pick_nash(const ns_frontier *f)
{
    int best = 0;
    for (int k = 1; k < f->n; k++) {
        double p = f->u[0][k] * f->u[1][k], bp = f->u[0][best] * f->u[1][best];
        double gap = fabs(f->u[0][k] - f->u[1][k]);
        double bgap = fabs(f->u[0][best] - f->u[1][best]);
        if (p > bp + TIE_TOL || (p >= bp - TIE_TOL && gap < bgap - TIE_TOL))
            best = k;
    }
    return best;
}

/* A side whose best frontier utility is 0 gets 0 everywhere on the
 * frontier: every point gives it its best, so its ratio counts as 1. */
static double ks_ratio(double u, double best) { return best > 0 ? u / best : 1.0; }

/* Kalai-Smorodinsky: largest smaller normalised gain; ties by larger sum. */
static int pick_ks(const ns_frontier *f)
{
    double best_b = f->u[0][f->n - 1], best_s = f->u[1][0];
    int best = -1;
    double br = 0, bsum = 0;
    for (int k = 0; k < f->n; k++) {
        double r = fmin(ks_ratio(f->u[0][k], best_b), ks_ratio(f->u[1][k], best_s));
        double sum = f->u[0][k] + f->u[1][k];
        if (best < 0 || r > br + TIE_TOL || (r >= br - TIE_TOL && sum > bsum + TIE_TOL)) {
            best = k;
            br = r;
            bsum = sum;
        }
    }
    return best;
}

ns_status ns_frontier_compute(const ns_scenario *sc, int resolution,
                              ns_frontier **out, ns_error *err)
{
    if (resolution < 2)
        return ns_fail(err, NS_ERR_INPUT, "scenario '%s': frontier resolution must be "
                       ">= 2, found %d", sc->name, resolution);
    if (sc->n_issues < 1 || sc->n_issues > NS_MAX_ISSUES)
        return ns_fail(err, NS_ERR_INTERNAL, "scenario '%s' has %d issues", sc->name,
                       sc->n_issues);
    points pts[NS_MAX_ISSUES];
    level lv[NS_MAX_ISSUES] = {{0, NULL, {NULL, NULL}}};
    double n_outcomes = 1;
    for (int i = 0; i < sc->n_issues; i++) {
        make_points(&sc->issue[i], resolution, &pts[i]);
        n_outcomes *= pts[i].n; /* counted before pruning: the whole space */
        prune_points(&pts[i]);
    }
    ns_status st = NS_OK;
    for (int i = 0; i < sc->n_issues && n_outcomes > 0 && !st; i++)
        st = extend(i ? &lv[i - 1] : NULL, &pts[i], &lv[i], sc, err);
    if (!st) {
        ns_frontier *f =
            new_frontier(sc, resolution, n_outcomes > 0 ? lv[sc->n_issues - 1].n : 0);
        f->n_outcomes = n_outcomes;
        if (f->n > 0) {
            fill_points(f, lv, pts);
            f->nash = pick_nash(f);
            f->ks = pick_ks(f);
        }
        *out = f;
    }
    for (int i = 0; i < sc->n_issues; i++) {
        free(lv[i].c);
        free(lv[i].u[0]);
        free(lv[i].u[1]);
        free_points(&pts[i]);
    }
    return st;
}

void ns_frontier_free(ns_frontier *f)
{
    if (!f)
        return;
    free(f->u[0]);
    free(f->u[1]);
    free(f->values);
    free(f);
}

/* The squared distance to the nearest point, scanning from the points
 * nearest in buyer utility outwards. The points are sorted by buyer
 * utility, so on each side of ub the term db * db only grows; once it
 * reaches the best d2 so far, no point further out can be nearer (adding
 * ds * ds >= 0 never rounds below db * db, and the same holds with the
 * roles swapped). The minimum is the same value a scan of every point
 * finds, whatever the order it is found in; an outcome is typically close
 * to the frontier, so a handful of points are looked at instead of all. */
double ns_frontier_distance(const ns_frontier *f, double ub, double us)
{
    if (!f || f->n == 0)
        return NAN;
    const double *u0 = f->u[0], *u1 = f->u[1];
    double best = INFINITY;
    if (!(isfinite(ub) && isfinite(us))) {
        /* NaN or infinite: the plain scan, whose answer is then INFINITY
         * or NaN-free as before */
        for (int k = 0; k < f->n; k++) {
            double db = u0[k] - ub, ds = u1[k] - us;
            double d2 = db * db + ds * ds;
            if (d2 < best)
                best = d2;
        }
        return sqrt(best);
    }
    int lo = 0, hi = f->n; /* first point with u0 >= ub */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (u0[mid] < ub)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Seller utility falls as buyer utility rises along the frontier, so
     * once a scan has passed us (going right: u1 <= us; going left:
     * u1 >= us), ds * ds only grows from there too. */
    for (int k = lo; k < f->n; k++) {
        double db = u0[k] - ub, db2 = db * db;
        double ds = u1[k] - us, ds2 = ds * ds;
        if (db2 >= best || (ds <= 0 && ds2 >= best))
            break;
        double d2 = db2 + ds2;
        if (d2 < best)
            best = d2;
    }
    for (int k = lo - 1; k >= 0; k--) {
        double db = u0[k] - ub, db2 = db * db;
        double ds = u1[k] - us, ds2 = ds * ds;
        if (db2 >= best || (ds >= 0 && ds2 >= best))
            break;
        double d2 = db2 + ds2;
        if (d2 < best)
            best = d2;
    }
    return sqrt(best);
}
