/*
 * test_stats.c - the statistics core against certified or hand-worked
 * values: NIST StRD univariate datasets Lew and Mavro for mean and sd,
 * closed-form Wilson intervals, Hedges' g, Welch t-tests whose df is an
 * integer (so the t tail has a closed form), a two-proportion z-test, a
 * hand-worked Benjamini-Hochberg example, bootstrap properties, a
 * hand-worked Kaplan-Meier curve with Greenwood variances, and the
 * Kolmogorov distribution against its classic tabulated critical values
 * with a hand-worked two-sample Kolmogorov-Smirnov D.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "ns_stats.h"

#include "ns_test.h"

#define CHECK_NEAR(want, got, tol)                                             \
    CHECK(fabs((double)(want) - (double)(got)) <= (tol),                       \
          "%s: expected %.15g, got %.15g", #got, (double)(want), (double)(got))

/* Relative tolerance, for certified values of any magnitude. */
#define CHECK_REL(want, got, rtol)                                             \
    CHECK(fabs((double)(want) - (double)(got)) <=                              \
              (rtol) * fabs((double)(want)),                                   \
          "%s: expected %.15g, got %.15g", #got, (double)(want), (double)(got))

/* ---- NIST StRD univariate summary statistics -------------------------------
 * Data and certified values from NIST's Statistical Reference Datasets
 * (https://www.itl.nist.gov/div898/strd/univ/), the same arrays GSL's own
 * statistics/test_nist.c checks. Lew: lower difficulty, 200 values;
 * Mavro: lower difficulty, 50 values. Certified values carry 15 digits;
 * we ask for 1e-12 relative, well inside double precision for these. */

static const double lew[200] = {
    -213, -564,  -35,  -15,  141,  115, -420, -360,  203, -338, -431,  194,
    -220, -513,  154, -125, -559,   92,  -21, -579,  -52,   99, -543, -175,
     162, -457, -346,  204, -300, -474,  164, -107, -572,   -8,   83, -541,
    -224,  180, -420, -374,  201, -236, -531,   83,   27, -564, -112,  131,
    -507, -254,  199, -311, -495,  143,  -46, -579,  -90,  136, -472, -338,
     202, -287, -477,  169, -124, -568,   17,   48, -568, -135,  162, -430,
    -422,  172,  -74, -577,  -13,   92, -534, -243,  194, -355, -465,  156,
     -81, -578,  -64,  139, -449, -384,  193, -198, -538,  110,  -44, -577,
      -6,   66, -552, -164,  161, -460, -344,  205, -281, -504,  134,  -28,
    -576, -118,  156, -437, -381,  200, -220, -540,   83,   11, -568, -160,
     172, -414, -408,  188, -125, -572,  -32,  139, -492, -321,  205, -262,
    -504,  142,  -83, -574,    0,   48, -571, -106,  137, -501, -266,  190,
    -391, -406,  194, -186, -553,   83,  -13, -577,  -49,  103, -515, -280,
     201,  300, -506,  131,  -45, -578,  -80,  138, -462, -361,  201, -211,
    -554,   32,   74, -533, -235,  187, -372, -442,  182, -147, -566,   25,
      68, -535, -244,  194, -351, -463,  174, -125, -570,   15,   72, -550,
    -190,  172, -424, -385,  198, -218, -536,   96
};

static const double mavro[50] = {
    2.00180, 2.00170, 2.00180, 2.00190, 2.00180, 2.00170, 2.00150,
    2.00140, 2.00150, 2.00150, 2.00170, 2.00180, 2.00180, 2.00190,
    2.00190, 2.00210, 2.00200, 2.00160, 2.00140, 2.00130, 2.00130,
    2.00150, 2.00150, 2.00160, 2.00150, 2.00140, 2.00130, 2.00140,
    2.00150, 2.00140, 2.00150, 2.00160, 2.00150, 2.00160, 2.00190,
    2.00200, 2.00200, 2.00210, 2.00220, 2.00230, 2.00240, 2.00250,
    2.00270, 2.00260, 2.00260, 2.00260, 2.00270, 2.00260, 2.00250,
    2.00240
};

static void test_nist(void)
{
    ns_error err = {0};
    double m = 0, sd = 0, var = 0;

    CHECK_ST(ns_stats_mean(lew, 200, &m, &err), NS_OK, err);
    CHECK_ST(ns_stats_sd(lew, 200, &sd, &err), NS_OK, err);
    CHECK_ST(ns_stats_variance(lew, 200, &var, &err), NS_OK, err);
    CHECK_REL(-177.435, m, 1e-12);
    CHECK_REL(277.332168044316, sd, 1e-12);
    CHECK_REL(277.332168044316 * 277.332168044316, var, 1e-12);

    CHECK_ST(ns_stats_mean(mavro, 50, &m, &err), NS_OK, err);
    CHECK_ST(ns_stats_sd(mavro, 50, &sd, &err), NS_OK, err);
    CHECK_REL(2.00185600000000, m, 1e-12);
    /* Mavro's sd is tiny against its mean, so cancellation costs digits;
     * GSL's own test allows 1e-10 relative here for the same reason. */
    CHECK_REL(0.000429123454003053, sd, 1e-10);
}

static void test_descriptive_errors(void)
{
    ns_error err = {0};
    double out = 0, one = 1.0, bad[2] = {1.0, NAN};
    CHECK_ST(ns_stats_mean(&one, 0, &out, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_sd(&one, 1, &out, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_variance(&one, 1, &out, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_mean(bad, 2, &out, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_mean(&one, 1, &out, &err), NS_OK, err);
    CHECK_NEAR(1.0, out, 0.0);
}

/* ---- Wilson ------------------------------------------------------------------
 * With z = 1.959963984540054 (z^2 = 3.841458820694124):
 *   0/10:  lo = 0, hi = z^2 / (10 + z^2) = 0.277532799862889
 *   10/10: lo = 10 / (10 + z^2) = 0.722467200137111, hi = 1
 *   5/10:  centre 0.5, half = z/(1 + z^2/10) sqrt(0.025 + z^2/400)
 *          -> [0.236593090512564, 0.763406909487436] */
static void test_wilson(void)
{
    ns_error err = {0};
    double lo = -1, hi = -1;
    CHECK_ST(ns_stats_wilson(0, 10, 0.95, &lo, &hi, &err), NS_OK, err);
    CHECK_NEAR(0.0, lo, 1e-15);
    CHECK_NEAR(0.277532799862889, hi, 1e-12);
    CHECK_ST(ns_stats_wilson(10, 10, 0.95, &lo, &hi, &err), NS_OK, err);
    CHECK_NEAR(0.722467200137111, lo, 1e-12);
    CHECK_NEAR(1.0, hi, 1e-15);
    CHECK_ST(ns_stats_wilson(5, 10, 0.95, &lo, &hi, &err), NS_OK, err);
    CHECK_NEAR(0.236593090512564, lo, 1e-12);
    CHECK_NEAR(0.763406909487436, hi, 1e-12);
    CHECK(lo >= 0.0 && hi <= 1.0, "interval inside [0, 1]");

    CHECK_ST(ns_stats_wilson(11, 10, 0.95, &lo, &hi, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_wilson(0, 0, 0.95, &lo, &hi, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_wilson(1, 10, 1.0, &lo, &hi, &err), NS_ERR_INPUT, err);
}

/* ---- Hedges' g ---------------------------------------------------------------
 * x = 1..5 (mean 3, var 2.5), y = 3..7 (mean 5, var 2.5): s_p = sqrt(2.5),
 * d = -2/sqrt(2.5), J = 1 - 3/(4*10 - 9) = 28/31, g = -(28/31) 2/sqrt(2.5)
 * = -1.142500315931802. */
static void test_hedges(void)
{
    ns_error err = {0};
    const double x[] = {1, 2, 3, 4, 5}, y[] = {3, 4, 5, 6, 7};
    const double c[] = {4, 4, 4};
    double g = 0;
    CHECK_ST(ns_stats_hedges_g(x, 5, y, 5, &g, &err), NS_OK, err);
    CHECK_NEAR(-28.0 / 31.0 * 2.0 / sqrt(2.5), g, 1e-14);
    CHECK_NEAR(-1.142500315931802, g, 1e-12);
    CHECK_ST(ns_stats_hedges_g(y, 5, x, 5, &g, &err), NS_OK, err);
    CHECK_NEAR(1.142500315931802, g, 1e-12);
    CHECK_ST(ns_stats_hedges_g(c, 3, c, 3, &g, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_hedges_g(x, 1, y, 5, &g, &err), NS_ERR_INPUT, err);
}

/* ---- Welch -------------------------------------------------------------------
 * (a) x = 1..5, y = 2,4,..,10: a = 2.5/5, b = 10/5, t = -3/sqrt(2.5),
 *     df = 2.5^2 / (0.5^2/4 + 2^2/4) = 100/17.
 * (b) x = {0, 2}, y = {1, 3}: a = b = 1, t = -1/sqrt(2), df = 2; for
 *     df = 2 the two-sided tail is 1 - |t|/sqrt(t^2 + 2) = 1 - sqrt(0.2).
 * (c) x = {5, 5}, y = {1, 3}: a = 0, b = 1, t = 3, df = 1 (Cauchy); the
 *     two-sided tail is 1 - 2 atan(3)/pi = 0.204832764699133. */
static void test_welch(void)
{
    ns_error err = {0};
    ns_welch w;
    const double x1[] = {1, 2, 3, 4, 5}, y1[] = {2, 4, 6, 8, 10};
    CHECK_ST(ns_stats_welch(x1, 5, y1, 5, &w, &err), NS_OK, err);
    CHECK_NEAR(-3.0 / sqrt(2.5), w.t, 1e-14);
    CHECK_NEAR(100.0 / 17.0, w.df, 1e-13);
    CHECK(w.p_value > 0.05 && w.p_value < 0.2, "p in range: %g", w.p_value);

    const double x2[] = {0, 2}, y2[] = {1, 3};
    CHECK_ST(ns_stats_welch(x2, 2, y2, 2, &w, &err), NS_OK, err);
    CHECK_NEAR(-1.0 / sqrt(2.0), w.t, 1e-15);
    CHECK_NEAR(2.0, w.df, 1e-14);
    CHECK_NEAR(1.0 - sqrt(0.2), w.p_value, 1e-12);

    const double x3[] = {5, 5}, y3[] = {1, 3};
    CHECK_ST(ns_stats_welch(x3, 2, y3, 2, &w, &err), NS_OK, err);
    CHECK_NEAR(3.0, w.t, 1e-15);
    CHECK_NEAR(1.0, w.df, 1e-15);
    CHECK_NEAR(0.204832764699133, w.p_value, 1e-12);

    CHECK_ST(ns_stats_welch(x3, 2, x3, 2, &w, &err), NS_ERR_INPUT, err);
}

/* ---- two-proportion z --------------------------------------------------------
 * 30/100 vs 50/100: pooled p = 0.4, se = sqrt(0.4*0.6*0.02),
 * z = -0.2/se = -2.886751345948129, p = erfc(|z|/sqrt 2) = 0.003892417122779. */
static void test_two_prop(void)
{
    ns_error err = {0};
    double z = 0, p = 0;
    CHECK_ST(ns_stats_two_prop_z(30, 100, 50, 100, &z, &p, &err), NS_OK, err);
    CHECK_NEAR(-2.886751345948129, z, 1e-12);
    CHECK_NEAR(0.003892417122779, p, 1e-13);
    CHECK_ST(ns_stats_two_prop_z(50, 100, 30, 100, &z, &p, &err), NS_OK, err);
    CHECK_NEAR(2.886751345948129, z, 1e-12);
    CHECK_ST(ns_stats_two_prop_z(5, 10, 5, 10, NULL, &p, &err), NS_OK, err);
    CHECK_NEAR(1.0, p, 1e-15);
    CHECK_ST(ns_stats_two_prop_z(0, 10, 0, 20, &z, &p, &err), NS_OK, err);
    CHECK(z == 0.0 && p == 1.0, "all failures: z %g p %g", z, p);
    CHECK_ST(ns_stats_two_prop_z(3, 2, 0, 20, &z, &p, &err), NS_ERR_INPUT, err);
}

/* ---- Benjamini-Hochberg ------------------------------------------------------
 * (a) p = {0.01, 0.04, 0.03, 0.005}, m = 4. Sorted 0.005, 0.01, 0.03, 0.04;
 *     m p/j = 0.02, 0.02, 0.04, 0.04, already monotone, so
 *     q = {0.02, 0.04, 0.04, 0.02} in input order.
 * (b) p = {0.9, 0.021, 0.02}: sorted 0.02, 0.021, 0.9; m p/j = 0.06,
 *     0.0315, 0.9; the running minimum from the top lowers the first to
 *     0.0315: q = {0.9, 0.0315, 0.0315}.
 * (c) ties: p = {0.03, 0.03, 0.03}: every q = 0.03. */
static void test_bh(void)
{
    ns_error err = {0};
    const double pa[] = {0.01, 0.04, 0.03, 0.005};
    const double qa[] = {0.02, 0.04, 0.04, 0.02};
    double q[4];
    CHECK_ST(ns_stats_bh_qvalues(pa, 4, q, &err), NS_OK, err);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(qa[i], q[i], 1e-15);

    const double pb[] = {0.9, 0.021, 0.02};
    CHECK_ST(ns_stats_bh_qvalues(pb, 3, q, &err), NS_OK, err);
    CHECK_NEAR(0.9, q[0], 1e-15);
    CHECK_NEAR(0.0315, q[1], 1e-15);
    CHECK_NEAR(0.0315, q[2], 1e-15);

    const double pc[] = {0.03, 0.03, 0.03};
    CHECK_ST(ns_stats_bh_qvalues(pc, 3, q, &err), NS_OK, err);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(0.03, q[i], 1e-15);

    const double one[] = {1.0, 1.0};
    CHECK_ST(ns_stats_bh_qvalues(one, 2, q, &err), NS_OK, err);
    CHECK(q[0] == 1.0 && q[1] == 1.0, "capped at 1: %g %g", q[0], q[1]);

    const double bad[] = {0.5, 1.5};
    CHECK_ST(ns_stats_bh_qvalues(bad, 2, q, &err), NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_bh_qvalues(NULL, 0, NULL, &err), NS_OK, err);
}

/* ---- bootstrap -------------------------------------------------------------- */

static double *gaussian_sample(size_t n, unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = 10.0 + gsl_ran_gaussian(r, 2.0);
    gsl_rng_free(r);
    return x;
}

static void test_bootstrap(void)
{
    ns_error err = {0};
    double *small = gaussian_sample(30, 7), *big = gaussian_sample(3000, 8);
    double lo1, hi1, lo2, hi2, m;

    CHECK_ST(ns_stats_bootstrap_mean_ci(small, 30, 2000, 42, 0.95, &lo1, &hi1,
                                        &err), NS_OK, err);
    ns_stats_mean(small, 30, &m, &err);
    CHECK(lo1 < m && m < hi1, "small: %g in [%g, %g]", m, lo1, hi1);
    /* The percentile interval's width should be near 2 * 1.96 * 2/sqrt(30)
     * = 1.43; a loose band guards against gross errors only. */
    CHECK(hi1 - lo1 > 0.8 && hi1 - lo1 < 2.2, "small width %g", hi1 - lo1);

    CHECK_ST(ns_stats_bootstrap_mean_ci(big, 3000, 2000, 42, 0.95, &lo2, &hi2,
                                        &err), NS_OK, err);
    ns_stats_mean(big, 3000, &m, &err);
    CHECK(lo2 < m && m < hi2, "big: %g in [%g, %g]", m, lo2, hi2);
    CHECK(hi2 - lo2 < (hi1 - lo1) / 5.0, "width shrinks: %g vs %g",
          hi2 - lo2, hi1 - lo1);

    /* Same seed: same bits. Another seed: a different interval. */
    double lo3, hi3;
    CHECK_ST(ns_stats_bootstrap_mean_ci(small, 30, 2000, 42, 0.95, &lo3, &hi3,
                                        &err), NS_OK, err);
    CHECK(memcmp(&lo1, &lo3, sizeof lo1) == 0 &&
          memcmp(&hi1, &hi3, sizeof hi1) == 0,
          "deterministic: [%.17g, %.17g] vs [%.17g, %.17g]", lo1, hi1, lo3,
          hi3);
    CHECK_ST(ns_stats_bootstrap_mean_ci(small, 30, 2000, 43, 0.95, &lo3, &hi3,
                                        &err), NS_OK, err);
    CHECK(lo1 != lo3 || hi1 != hi3, "seed changes the interval");

    /* A constant sample has a zero-width interval at its value. */
    const double c[] = {3, 3, 3, 3};
    CHECK_ST(ns_stats_bootstrap_mean_ci(c, 4, 100, 1, 0.95, &lo3, &hi3, &err),
             NS_OK, err);
    CHECK(lo3 == 3.0 && hi3 == 3.0, "constant: [%g, %g]", lo3, hi3);

    CHECK_ST(ns_stats_bootstrap_mean_ci(c, 0, 100, 1, 0.95, &lo3, &hi3, &err),
             NS_ERR_INPUT, err);
    CHECK_ST(ns_stats_bootstrap_mean_ci(c, 4, 1, 1, 0.95, &lo3, &hi3, &err),
             NS_ERR_INPUT, err);
    free(small);
    free(big);
}

/* ---- Kaplan-Meier ------------------------------------------------------------
 * times {3, 1, 2, 5, 2, 4}, events {1, 1, 1, 1, 0, 0} (given unsorted):
 *   t=1: n=6 d=1  S = 5/6        sum = 1/30        var = (25/36)/30
 *   t=2: n=5 d=1  S = 2/3        sum = 1/30+1/20   var = (4/9)(1/12) = 1/27
 *        (the subject censored at 2 still counts at risk at 2)
 *   t=3: n=3 d=1  S = 4/9        sum = 1/12+1/6    var = (16/81)/4 = 4/81
 *   t=4: censored only, no row
 *   t=5: n=1 d=1  S = 0          var NaN */
static void test_km(void)
{
    ns_error err = {0};
    const double t[] = {3, 1, 2, 5, 2, 4};
    const int e[] = {1, 1, 1, 1, 0, 0};
    ns_km *km = NULL;
    CHECK_ST(ns_km_compute(t, e, 6, &km, &err), NS_OK, err);
    if (!km)
        return;
    CHECK(km->n == 4, "rows: expected 4, got %zu", km->n);
    if (km->n == 4) {
        const double wt[] = {1, 2, 3, 5}, ws[] = {5.0 / 6, 2.0 / 3, 4.0 / 9, 0};
        const double wv[] = {25.0 / 36 / 30, 1.0 / 27, 4.0 / 81};
        const long wn[] = {6, 5, 3, 1};
        for (int j = 0; j < 4; j++) {
            CHECK_NEAR(wt[j], km->time[j], 0.0);
            CHECK(km->n_risk[j] == wn[j], "n_risk[%d]: expected %ld, got %ld",
                  j, wn[j], km->n_risk[j]);
            CHECK(km->n_event[j] == 1, "n_event[%d] = %ld", j,
                  km->n_event[j]);
            CHECK_NEAR(ws[j], km->surv[j], 1e-15);
        }
        for (int j = 0; j < 3; j++)
            CHECK_NEAR(wv[j], km->var[j], 1e-15);
        CHECK(isnan(km->var[3]), "var after S = 0 is NaN, got %g",
              km->var[3]);
    }
    ns_km_free(km);

    /* Tied events: 4 subjects, two die at 1, one censored at 1, one dies
     * at 2: S(1) = 1 - 2/4 = 0.5, var = 0.25 * 2/(4*2) = 0.0625. */
    const double t2[] = {1, 1, 1, 2};
    const int e2[] = {1, 0, 1, 1};
    CHECK_ST(ns_km_compute(t2, e2, 4, &km, &err), NS_OK, err);
    if (km) {
        CHECK(km->n == 2 && km->n_event[0] == 2 && km->n_risk[1] == 1,
              "tied rows: n %zu", km->n);
        CHECK_NEAR(0.5, km->surv[0], 1e-15);
        CHECK_NEAR(0.0625, km->var[0], 1e-15);
    }
    ns_km_free(km);

    /* No events: an empty curve. Bad input: an error and no curve. */
    const int none[] = {0, 0};
    CHECK_ST(ns_km_compute(t2, none, 2, &km, &err), NS_OK, err);
    CHECK(km && km->n == 0, "no events gives no rows");
    ns_km_free(km);
    const double neg[] = {1, -1};
    CHECK_ST(ns_km_compute(neg, e2, 2, &km, &err), NS_ERR_INPUT, err);
    CHECK(km == NULL, "no curve on error");
    ns_km_free(NULL);
}

/* The Kolmogorov tail against the classic asymptotic critical values
 * (Smirnov 1948, as tabulated e.g. in Massey 1951 and every KS table:
 * K_0.80 = 1.0727, K_0.90 = 1.2238, K_0.95 = 1.3581, K_0.99 = 1.6276,
 * K_0.999 = 1.9495) and the median 0.8276; P(K <= 1) = 0.7300. */
static void test_kolmogorov(void)
{
    const double lam[] = {0.8276, 1.0, 1.0727, 1.2238, 1.3581, 1.6276, 1.9495};
    const double q[] = {0.5, 0.27, 0.20, 0.10, 0.05, 0.01, 0.001};
    for (size_t i = 0; i < sizeof lam / sizeof lam[0]; i++)
        CHECK_NEAR(q[i], ns_stats_kolmogorov_q(lam[i]), 1e-4 * (q[i] < 0.05 ? 0.5 : 1.0));
    /* the brief's rounded values */
    CHECK_NEAR(0.05, ns_stats_kolmogorov_q(1.358), 2e-4);
    CHECK_NEAR(0.01, ns_stats_kolmogorov_q(1.628), 1e-4);
    CHECK_NEAR(0.10, ns_stats_kolmogorov_q(1.224), 2e-4);
    /* limits, and the two series agree where the code switches between
     * them (1.18): a wrong term in either would show as a jump */
    CHECK(ns_stats_kolmogorov_q(0.0) == 1.0, "Q(0) = %g", ns_stats_kolmogorov_q(0.0));
    CHECK(ns_stats_kolmogorov_q(-1.0) == 1.0, "Q(-1) = %g", ns_stats_kolmogorov_q(-1.0));
    CHECK_NEAR(1.0, ns_stats_kolmogorov_q(0.2), 1e-12);
    CHECK_NEAR(0.0, ns_stats_kolmogorov_q(6.0), 1e-30);
    /* (the slope there is about -0.6, so 2e-9 apart they differ by ~1.2e-9) */
    CHECK_NEAR(ns_stats_kolmogorov_q(1.18 - 1e-9), ns_stats_kolmogorov_q(1.18 + 1e-9), 2e-9);
    double prev = 1.0;
    int mono = 1;
    for (double l = 0.05; l < 4.0; l += 0.01) {
        double v = ns_stats_kolmogorov_q(l);
        mono &= v <= prev && v >= 0.0;
        prev = v;
    }
    CHECK(mono, "Q is not non-increasing in [0, 1] on (0, 4)");
    /* large lambda: the first term alone, 2 exp(-2 lambda^2) */
    CHECK_REL(2.0 * exp(-2.0 * 9.0), ns_stats_kolmogorov_q(3.0), 1e-9);
}

/* A two-sample D worked by hand. x = {1, 2, 2, 3, 5}, y = {2, 3, 3, 4, 4, 6}:
 *   v      1    2     3    4     5     6
 *   F1    1/5  3/5   4/5  4/5    1     1
 *   F2     0   1/6   3/6  5/6   5/6    1
 *   |.|   .2  13/30  .3   1/30  1/6    0    -> D = 13/30 at v = 2
 * ne = 30/11, lambda = (sqrt(30/11) + 0.12 + 0.11/sqrt(30/11)) 13/30
 *    = (1.651446 + 0.12 + 0.066608) 0.433333 = 0.796490. */
static void test_ks_two_sample(void)
{
    ns_error err = {0};
    const uint64_t hx[] = {0, 1, 2, 1, 0, 1, 0}, hy[] = {0, 0, 1, 2, 2, 0, 1};
    ns_ks ks;
    ns_status st = ns_stats_ks_two_sample_counts(hx, hy, 7, &ks, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_NEAR(13.0 / 30.0, ks.d, 1e-15);
    CHECK_NEAR(30.0 / 11.0, ks.ne, 1e-15);
    CHECK_NEAR(0.796490, ks.lambda, 1e-6);
    CHECK_NEAR(ns_stats_kolmogorov_q(ks.lambda), ks.p_value, 0);
    CHECK(ks.p_value > 0.5 && ks.p_value < 0.6, "p = %g: lambda is just below the median 0.8276",
          ks.p_value);
    /* symmetric in the samples */
    ns_ks ks2;
    st = ns_stats_ks_two_sample_counts(hy, hx, 7, &ks2, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_NEAR(ks.d, ks2.d, 0);
    /* the same distribution at another scale: D = 0, p = 1 */
    const uint64_t h1[] = {3, 0, 6, 9}, h2[] = {1, 0, 2, 3};
    st = ns_stats_ks_two_sample_counts(h1, h2, 4, &ks, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_NEAR(0.0, ks.d, 1e-15);
    CHECK_NEAR(1.0, ks.p_value, 0);
    /* disjoint supports: D = 1; n1 = n2 = 50, ne = 25, lambda = 5.142 */
    const uint64_t lo[] = {50, 0}, hi[] = {0, 50};
    st = ns_stats_ks_two_sample_counts(lo, hi, 2, &ks, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_NEAR(1.0, ks.d, 0);
    CHECK_NEAR(5.142, ks.lambda, 1e-12);
    CHECK(ks.p_value < 1e-20, "disjoint samples: p = %g", ks.p_value);
    /* an empty sample is an input error */
    const uint64_t zero[] = {0, 0};
    st = ns_stats_ks_two_sample_counts(lo, zero, 2, &ks, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    st = ns_stats_ks_two_sample_counts(NULL, lo, 2, &ks, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
}

int main(void)
{
    gsl_set_error_handler_off();
    test_nist();
    test_descriptive_errors();
    test_wilson();
    test_hedges();
    test_welch();
    test_two_prop();
    test_bh();
    test_bootstrap();
    test_km();
    test_kolmogorov();
    test_ks_two_sample();
    return ns_test_report("test_stats");
}
