/*
 * test_regress.c - the fitting core against values known independently of
 * the code: NIST StRD certified results for least squares (Norris, Longley;
 * data as published in NIST's Norris.dat and Longley.dat), the closed-form
 * MLE of a logistic regression on one binary predictor (a 2x2 table),
 * exponential decay and Faratin concession curves generated exactly (and,
 * for decay, with seeded Gaussian noise), and the error paths: too few
 * points, collinearity, separation, non-binary responses, no convergence.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "ns_regress.h"

#include "ns_test.h"

/* |got - want| <= tol * |want| */
#define CHECK_REL(want, got, tol)                                              \
    CHECK(fabs((double)(got) - (double)(want)) <=                              \
              (tol) * fabs((double)(want)),                                    \
          "%s: expected %.15g, got %.15g (rel tol %g)", #got, (double)(want),  \
          (double)(got), (double)(tol))

#define CHECK_NEAR(want, got, tol)                                             \
    CHECK(fabs((double)(want) - (double)(got)) <= (tol),                       \
          "%s: expected %.15g, got %.15g (tol %g)", #got, (double)(want),      \
          (double)(got), (double)(tol))

/* ---- NIST StRD: Norris ------------------------------------------------------- */

static const double norris_y[36] = {
    0.1,   338.8, 118.1, 888.0, 9.2,   228.1, 668.5, 998.5, 449.1,
    778.9, 559.2, 0.3,   0.1,   778.1, 668.8, 339.3, 448.9, 10.8,
    557.7, 228.3, 998.0, 888.8, 119.6, 0.3,   0.6,   557.6, 339.3,
    888.0, 998.5, 778.9, 10.2,  117.6, 228.9, 668.4, 449.2, 0.2};
static const double norris_x[36] = {
    0.2,   337.4, 118.2, 884.6, 10.1,  226.5, 666.3, 996.3, 448.6,
    777.0, 558.2, 0.4,   0.6,   775.5, 666.9, 338.0, 447.5, 11.6,
    556.0, 228.1, 995.8, 887.6, 120.2, 0.3,   0.3,   556.8, 339.1,
    887.2, 999.0, 779.0, 11.1,  118.3, 229.2, 669.1, 448.9, 0.5};

static void test_norris(void)
{
    ns_error err = {0};
    ns_regress_fit f;
    ns_status st = ns_regress_ols(norris_x, 36, 1, norris_y, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    CHECK(f.n == 36 && f.p == 2, "n %zu p %zu", f.n, f.p);
    CHECK_REL(-0.262323073774029, f.coef[0], 1e-7);
    CHECK_REL(1.00211681802045, f.coef[1], 1e-7);
    CHECK_REL(0.232818234301152, f.se[0], 1e-7);
    CHECK_REL(0.429796848199937E-03, f.se[1], 1e-7);
    CHECK_REL(0.999993745883712, f.r2, 1e-7);
    CHECK_REL(26.6173985294224, f.rss, 1e-7);
    for (int j = 0; j < 2; j++) {
        CHECK_REL(f.coef[j] / f.se[j], f.stat[j], 1e-12);
        CHECK(f.p_value[j] >= 0.0 && f.p_value[j] <= 1.0, "p %g", f.p_value[j]);
    }
    /* t(B0) = -1.127 on 34 df: far from significant; t(B1) ~ 2332: p ~ 0. */
    CHECK(f.p_value[0] > 0.2 && f.p_value[0] < 0.35, "p(B0) %g", f.p_value[0]);
    CHECK(f.p_value[1] < 1e-12, "p(B1) %g", f.p_value[1]);
    ns_regress_fit_free(&f);
    ns_regress_fit_free(&f); /* a zeroed struct frees as a no-op */
}

/* ---- NIST StRD: Longley ------------------------------------------------------ */

static const double longley_x[16 * 6] = {
    83.0,  234289, 2356, 1590, 107608, 1947,
    88.5,  259426, 2325, 1456, 108632, 1948,
    88.2,  258054, 3682, 1616, 109773, 1949,
    89.5,  284599, 3351, 1650, 110929, 1950,
    96.2,  328975, 2099, 3099, 112075, 1951,
    98.1,  346999, 1932, 3594, 113270, 1952,
    99.0,  365385, 1870, 3547, 115094, 1953,
    100.0, 363112, 3578, 3350, 116219, 1954,
    101.2, 397469, 2904, 3048, 117388, 1955,
    104.6, 419180, 2822, 2857, 118734, 1956,
    108.4, 442769, 2936, 2798, 120445, 1957,
    110.8, 444546, 4681, 2637, 121950, 1958,
    112.6, 482704, 3813, 2552, 123366, 1959,
    114.2, 502601, 3931, 2514, 125368, 1960,
    115.7, 518173, 4806, 2572, 127852, 1961,
    116.9, 554894, 4007, 2827, 130081, 1962};
static const double longley_y[16] = {60323, 61122, 60171, 61187, 63221, 63639,
                                     64989, 63761, 66019, 67857, 68169, 66513,
                                     68655, 69564, 69331, 70551};

static void test_longley(void)
{
    static const double b[7] = {-3482258.63459582,      15.0618722713733,
                                -0.358191792925910E-01, -2.02022980381683,
                                -1.03322686717359,      -0.511041056535807E-01,
                                1829.15146461355};
    static const double sd[7] = {890420.383607373,      84.9149257747669,
                                 0.334910077722432E-01, 0.488399681651699,
                                 0.214274163161675,     0.226073200069370,
                                 455.478499142212};
    ns_error err = {0};
    ns_regress_fit f;
    ns_status st = ns_regress_ols(longley_x, 16, 6, longley_y, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    CHECK(f.p == 7, "p %zu", f.p);
    /* Longley is ill-conditioned (the point of the data set); NIST certifies
     * 15 digits, and a tolerance of 1e-6 leaves room across BLAS builds
     * (here they agree to better than 1e-9). */
    for (int j = 0; j < 7; j++) {
        CHECK_REL(b[j], f.coef[j], 1e-6);
        CHECK_REL(sd[j], f.se[j], 1e-6);
    }
    CHECK_REL(0.995479004577296, f.r2, 1e-6);
    CHECK_REL(836424.055505915, f.rss, 1e-6);
    ns_regress_fit_free(&f);
}

static void test_ols_errors(void)
{
    ns_error err = {0};
    ns_regress_fit f;
    /* Exact line: y = 1 + 2x; and too few points for two coefficients. */
    double x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7};
    CHECK_ST(ns_regress_ols(x, 2, 1, y, &f, &err), NS_ERR_INPUT, err);
    CHECK(f.coef == NULL, "no arrays on failure");
    ns_status st = ns_regress_ols(x, 4, 1, y, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (!st) {
        CHECK_NEAR(1.0, f.coef[0], 1e-12);
        CHECK_NEAR(2.0, f.coef[1], 1e-12);
        CHECK_NEAR(1.0, f.r2, 1e-12);
        ns_regress_fit_free(&f);
    }
    /* The second column is twice the first. */
    double xc[5 * 2] = {1, 2, 2, 4, 3, 6, 4, 8, 5, 10};
    double yc[5] = {1, 2, 2, 5, 4};
    CHECK_ST(ns_regress_ols(xc, 5, 2, yc, &f, &err), NS_ERR_INPUT, err);
    double xn[4] = {0, 1, NAN, 3};
    CHECK_ST(ns_regress_ols(xn, 4, 1, y, &f, &err), NS_ERR_INPUT, err);
}

/* ---- logistic regression ------------------------------------------------------ */

/* One binary predictor: with s0/f0 successes/failures at x = 0 and s1/f1 at
 * x = 1, the MLE is intercept = log(s0/f0), slope = log(s1/f1) - log(s0/f0),
 * with SE(intercept) = sqrt(1/s0 + 1/f0) and SE(slope) = sqrt of the sum of
 * the reciprocals of all four cells. */
static void test_logistic_2x2(void)
{
    enum { S0 = 12, F0 = 28, S1 = 25, F1 = 15, N = S0 + F0 + S1 + F1 };
    double x[N], y[N];
    int i = 0;
    for (int c = 0; c < S0; c++, i++) x[i] = 0, y[i] = 1;
    for (int c = 0; c < F0; c++, i++) x[i] = 0, y[i] = 0;
    for (int c = 0; c < S1; c++, i++) x[i] = 1, y[i] = 1;
    for (int c = 0; c < F1; c++, i++) x[i] = 1, y[i] = 0;

    ns_error err = {0};
    ns_regress_fit f;
    ns_status st = ns_regress_logistic(x, N, 1, y, 0, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    double b0 = log((double)S0 / F0), b1 = log((double)S1 / F1) - b0;
    CHECK_REL(b0, f.coef[0], 1e-9);
    CHECK_REL(b1, f.coef[1], 1e-9);
    CHECK_REL(sqrt(1.0 / S0 + 1.0 / F0), f.se[0], 1e-8);
    CHECK_REL(sqrt(1.0 / S0 + 1.0 / F0 + 1.0 / S1 + 1.0 / F1), f.se[1], 1e-8);
    CHECK_REL(f.coef[1] / f.se[1], f.stat[1], 1e-12);
    CHECK(f.p_value[1] > 0.0 && f.p_value[1] < 0.01, "p(slope) %g", f.p_value[1]);
    CHECK(isnan(f.r2), "r2 is NaN for logistic");
    CHECK(f.iterations > 1 && f.iterations < 50, "iterations %d", f.iterations);
    /* Deviance: -2 times the log-likelihood at the cell proportions. */
    double ll = S0 * log(S0 / 40.0) + F0 * log(F0 / 40.0) +
                S1 * log(S1 / 40.0) + F1 * log(F1 / 40.0);
    CHECK_REL(-2.0 * ll, f.rss, 1e-9);
    ns_regress_fit_free(&f);

    /* One iteration is not enough to settle. */
    CHECK_ST(ns_regress_logistic(x, N, 1, y, 1, &f, &err), NS_ERR_INPUT, err);
    CHECK(f.coef == NULL, "no arrays on failure");
}

static void test_logistic_errors(void)
{
    ns_error err = {0};
    ns_regress_fit f;
    /* Complete separation: y = (x > 5). */
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i + 1;
        y[i] = i + 1 > 5;
    }
    CHECK_ST(ns_regress_logistic(x, 10, 1, y, 0, &f, &err), NS_ERR_INPUT, err);
    y[3] = 0.5;
    CHECK_ST(ns_regress_logistic(x, 10, 1, y, 0, &f, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_regress_logistic(x, 2, 1, y, 0, &f, &err), NS_ERR_INPUT, err);
}

/* ---- exponential decay --------------------------------------------------------- */

static void test_decay(void)
{
    enum { N = 40 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = 0.25 * i;
        y[i] = 5.0 * exp(-0.7 * x[i]);
    }
    ns_error err = {0};
    ns_curve_fit f;
    ns_status st = ns_regress_decay(x, y, N, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (!st) {
        CHECK_REL(0.7, f.k, 1e-9);
        CHECK_REL(5.0, f.a, 1e-9);
        CHECK(f.se_k < 1e-8, "se_k %g on exact data", f.se_k);
        CHECK(f.n == N, "n %zu", f.n);
    }

    /* Gaussian noise, sd 0.05, from a fixed seed. */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20260521);
    for (int i = 0; i < N; i++)
        y[i] = 5.0 * exp(-0.7 * x[i]) + gsl_ran_gaussian(rng, 0.05);
    gsl_rng_free(rng);
    st = ns_regress_decay(x, y, N, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (!st) {
        CHECK(f.se_k > 0.0 && f.se_k < 0.05, "se_k %g", f.se_k);
        CHECK(fabs(f.k - 0.7) <= 3.0 * f.se_k, "k %.6g not within 3 SE (%.3g) of 0.7",
              f.k, f.se_k);
        CHECK(fabs(f.a - 5.0) <= 3.0 * f.se_a, "a %.6g not within 3 SE (%.3g) of 5",
              f.a, f.se_a);
    }

    CHECK_ST(ns_regress_decay(x, y, 2, &f, &err), NS_ERR_INPUT, err);
    double same[3] = {1, 1, 1};
    CHECK_ST(ns_regress_decay(same, y, 3, &f, &err), NS_ERR_INPUT, err);
}

/* ---- Faratin concession exponent --------------------------------------------- */

static void faratin_case(double beta)
{
    enum { N = 20 };
    const double a = 0.95, r = 0.35;
    double tau[N], u[N];
    for (int i = 0; i < N; i++) {
        tau[i] = (i + 1) / (double)N;
        u[i] = a - (a - r) * pow(tau[i], 1.0 / beta);
    }
    ns_error err = {0};
    ns_curve_fit f;
    ns_status st = ns_regress_faratin_beta(tau, u, N, a, r, &f, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    CHECK_REL(beta, f.k, 1e-8);
    CHECK(f.se_k < 1e-6, "se(beta) %g on exact data", f.se_k);
}

static void test_faratin(void)
{
    faratin_case(0.3);
    faratin_case(3.0);
    faratin_case(1.0);

    ns_error err = {0};
    ns_curve_fit f;
    double tau[3] = {0.2, 0.5, 1.0}, u[3] = {0.9, 0.8, 0.4};
    CHECK_ST(ns_regress_faratin_beta(tau, u, 3, 0.5, 0.5, &f, &err),
             NS_ERR_INPUT, err);
    double t0[3] = {0.0, 0.5, 1.0};
    CHECK_ST(ns_regress_faratin_beta(t0, u, 3, 1.0, 0.4, &f, &err),
             NS_ERR_INPUT, err);
    double t1[2] = {1.0, 1.0};
    CHECK_ST(ns_regress_faratin_beta(t1, u, 2, 1.0, 0.4, &f, &err),
             NS_ERR_INPUT, err);
}

/* ---- reused workspaces ------------------------------------------------------ */

/* Both fits bit for bit: every field, doubles compared as bytes. */
static int same_fit(const ns_curve_fit *x, const ns_curve_fit *y)
{
    return x->n == y->n && x->iterations == y->iterations &&
           memcmp(&x->a, &y->a, sizeof x->a) == 0 &&
           memcmp(&x->se_a, &y->se_a, sizeof x->se_a) == 0 &&
           memcmp(&x->k, &y->k, sizeof x->k) == 0 &&
           memcmp(&x->se_k, &y->se_k, sizeof x->se_k) == 0 &&
           memcmp(&x->rss, &y->rss, sizeof x->rss) == 0;
}

/* One fitter through many fits of mixed kinds and sizes (sizes repeat, so
 * workspaces are reused after fits of other data; some sizes exceed the
 * per-size cache; some fits fail in between) must give exactly what a
 * fresh workspace gives for each. */
static void test_fitter_reuse(void)
{
    enum { MAXN = NS_FITTER_CACHE_N + 40 };
    static const size_t sizes[] = {3, 5, 12, 5, 3, 40, 12, NS_FITTER_CACHE_N,
                                   NS_FITTER_CACHE_N + 1, NS_FITTER_CACHE_N + 40,
                                   NS_FITTER_CACHE_N + 1, 12, 3};
    double x[MAXN], y[MAXN], tau[MAXN], u[MAXN];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    ns_fitter *ft = ns_fitter_create();
    ns_error err = {0};
    int compared = 0, iterated = 0;
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        size_t n = sizes[c];
        double k = 0.1 + gsl_rng_uniform(rng), beta = 0.2 + 3.0 * gsl_rng_uniform(rng);
        for (size_t i = 0; i < n; i++) {
            x[i] = (double)(i + 1);
            y[i] = 2.0 * exp(-k * x[i]) + gsl_ran_gaussian(rng, 0.02);
            tau[i] = (double)(i + 1) / (double)n;
            u[i] = 0.9 - 0.5 * pow(tau[i], 1.0 / beta) + gsl_ran_gaussian(rng, 0.01);
        }
        ns_curve_fit fresh, reused;
        ns_status s1 = ns_regress_decay(x, y, n, &fresh, &err);
        ns_status s2 = ns_regress_decay_with(ft, x, y, n, &reused, &err);
        CHECK(s1 == s2, "decay n=%zu: status %d fresh, %d reused", n, s1, s2);
        CHECK(same_fit(&fresh, &reused),
              "decay n=%zu: fresh k=%.17g se=%.17g it=%d, reused k=%.17g se=%.17g it=%d",
              n, fresh.k, fresh.se_k, fresh.iterations, reused.k, reused.se_k,
              reused.iterations);
        compared += s1 == NS_OK;
        iterated += fresh.iterations > 1;
        s1 = ns_regress_faratin_beta(tau, u, n, 0.9, 0.4, &fresh, &err);
        s2 = ns_regress_faratin_beta_with(ft, tau, u, n, 0.9, 0.4, &reused, &err);
        CHECK(s1 == s2, "beta n=%zu: status %d fresh, %d reused", n, s1, s2);
        CHECK(same_fit(&fresh, &reused),
              "beta n=%zu: fresh %.17g (%d it), reused %.17g (%d it)", n, fresh.k,
              fresh.iterations, reused.k, reused.iterations);
        compared += s1 == NS_OK;
        iterated += fresh.iterations > 1;
        /* a failing fit in between leaves nothing behind */
        double flat[3] = {1, 1, 1};
        CHECK_ST(ns_regress_decay_with(ft, flat, y, 3, &reused, &err), NS_ERR_INPUT, err);
    }
    /* the comparisons were of real solves, not of failures */
    CHECK(compared == 2 * (int)(sizeof sizes / sizeof *sizes), "%d fits succeeded", compared);
    CHECK(iterated > 10, "only %d fits iterated", iterated);
    ns_fitter_destroy(ft);
    ns_fitter_destroy(NULL);
    gsl_rng_free(rng);
}

int main(void)
{
    gsl_set_error_handler_off();
    test_norris();
    test_longley();
    test_ols_errors();
    test_logistic_2x2();
    test_logistic_errors();
    test_decay();
    test_faratin();
    test_fitter_reuse();
    return ns_test_report("test_regress");
}
