/*
 * ns_stats.h - the statistics core used to compare agents over many
 * negotiations: descriptive statistics, a proportion's confidence interval,
 * an effect size, two-sample tests (Welch, two-proportion, Kolmogorov-
 * Smirnov), multiple-testing correction, a bootstrap interval and a
 * survival curve.
 *
 * Every number comes from GSL: gsl_stats_* for moments, gsl_cdf_* for the
 * normal and t distributions, gsl_sort* for ordering and gsl_rng (MT19937)
 * for resampling. This module only assembles the textbook formulas written
 * next to each function. The one exception is the Kolmogorov distribution
 * (the p-value of the Kolmogorov-Smirnov test), which GSL does not have:
 * ns_stats_kolmogorov_q sums its two classical series, documented there.
 * The module owns no global state and does not change GSL's error handler
 * (main() turns it off once); every function checks its inputs itself, so
 * GSL's handler is never reached with bad arguments.
 *
 * It does not read results files or print anything: callers pass plain
 * arrays and get numbers back. Inputs must be finite; a NaN or infinity in
 * the data is an NS_ERR_INPUT, never silently propagated.
 */
#ifndef NS_STATS_H
#define NS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "ns_status.h"

/* ---- descriptive statistics ---------------------------------------------- */

/* Arithmetic mean, sum(x) / n (gsl_stats_mean, which uses a running
 * update for accuracy). Needs n >= 1. */
ns_status ns_stats_mean(const double *x, size_t n, double *out, ns_error *err);

/* Sample variance with the n - 1 denominator,
 * sum((x - mean)^2) / (n - 1) (gsl_stats_variance). Needs n >= 2. */
ns_status ns_stats_variance(const double *x, size_t n, double *out,
                            ns_error *err);

/* Sample standard deviation, sqrt of ns_stats_variance (gsl_stats_sd).
 * Needs n >= 2. Checked against NIST StRD certified values. */
ns_status ns_stats_sd(const double *x, size_t n, double *out, ns_error *err);

/* ---- proportions ----------------------------------------------------------- */

/* Wilson score interval for a binomial proportion k/n at confidence
 * `level` (0.95 for 95%), Wilson (1927), as in Agresti & Coull (1998):
 *   z = Phi^-1(1 - (1 - level)/2)            (gsl_cdf_ugaussian_Pinv)
 *   p = k/n
 *   centre = (p + z^2/(2n)) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))
 *   [lo, hi] = [centre - half, centre + half], clamped to [0, 1]
 * Needs n >= 1, 0 <= k <= n and 0 < level < 1. */
ns_status ns_stats_wilson(long k, long n, double level, double *lo, double *hi,
                          ns_error *err);

/* Two-sided two-proportion z-test of k1/n1 against k2/n2 with the pooled
 * standard error (e.g. Agresti, Categorical Data Analysis, 2nd ed., 3.1.3):
 *   p = (k1 + k2) / (n1 + n2)
 *   z = (k1/n1 - k2/n2) / sqrt(p(1-p)(1/n1 + 1/n2))
 *   p-value = 2 Q(|z|)                       (gsl_cdf_ugaussian_Q)
 * When p is 0 or 1 both samples are identical (all failures or all
 * successes), the statistic is undefined, and the result is z = 0,
 * p-value = 1. `z` may be NULL. Needs n1, n2 >= 1 and 0 <= k <= n. */
ns_status ns_stats_two_prop_z(long k1, long n1, long k2, long n2, double *z,
                              double *p_value, ns_error *err);

/* ---- two continuous samples ----------------------------------------------- */

/* Hedges' g, the standardised mean difference of x minus y with the
 * small-sample correction (Hedges 1981; Borenstein et al., Introduction to
 * Meta-Analysis, 2009, eqs. 4.18-4.23):
 *   s_p = sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))
 *   d   = (mean(x) - mean(y)) / s_p
 *   J   = 1 - 3 / (4(n1 + n2) - 9)   (the usual approximation to the exact
 *                                      gamma-function factor, not the exact
 *                                      form)
 *   g   = J d
 * Needs n1, n2 >= 2 and s_p > 0. */
ns_status ns_stats_hedges_g(const double *x, size_t n1, const double *y,
                            size_t n2, double *g, ns_error *err);

/* Result of a Welch t-test. */
typedef struct ns_welch {
    double t;       /* (mean(x) - mean(y)) / sqrt(s1^2/n1 + s2^2/n2) */
    double df;      /* Welch-Satterthwaite degrees of freedom */
    double p_value; /* two-sided: 2 Q_t(|t|; df) */
} ns_welch;

/* Welch's unequal-variance t-test (Welch 1947; Satterthwaite 1946):
 *   a = s1^2/n1, b = s2^2/n2
 *   t  = (mean(x) - mean(y)) / sqrt(a + b)
 *   df = (a + b)^2 / (a^2/(n1-1) + b^2/(n2-1))
 *   p  = 2 Q_t(|t|; df)                      (gsl_cdf_tdist_Q)
 * Needs n1, n2 >= 2 and a + b > 0 (not both samples constant). */
ns_status ns_stats_welch(const double *x, size_t n1, const double *y,
                         size_t n2, ns_welch *out, ns_error *err);

/* ---- Kolmogorov-Smirnov ------------------------------------------------------- */

/* The upper tail of the asymptotic Kolmogorov distribution,
 *   Q(lambda) = P(K > lambda) = 2 sum_{k>=1} (-1)^{k-1} exp(-2 k^2 lambda^2)
 * (Kolmogorov 1933; Smirnov 1948), the limit law of sqrt(n) D_n. GSL has
 * no Kolmogorov distribution, so this sums the series itself. The
 * alternating series needs many terms as lambda -> 0, so below
 * lambda = 1.18 the equivalent theta-function form of the CDF is summed
 * instead (Feller 1948; as in Marsaglia, Tsang & Wang 2003):
 *   1 - Q(lambda) = sqrt(2 pi) / lambda
 *                   sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 lambda^2))
 * Both converge to double precision within a handful of terms on their
 * side of the switch. Q(lambda) = 1 for lambda <= 0. Classic critical
 * values: Q(1.224) = 0.10, Q(1.358) = 0.05, Q(1.628) = 0.01. */
double ns_stats_kolmogorov_q(double lambda);

/* Result of a two-sample Kolmogorov-Smirnov test. */
typedef struct ns_ks {
    double d;       /* max |F1(x) - F2(x)| over the two ECDFs, in [0, 1] */
    double ne;      /* effective sample size n1 n2 / (n1 + n2) */
    double lambda;  /* (sqrt(ne) + 0.12 + 0.11/sqrt(ne)) d */
    double p_value; /* ns_stats_kolmogorov_q(lambda) */
} ns_ks;

/* Two-sample Kolmogorov-Smirnov test of two samples of small whole
 * numbers (rounds), given as counts: h1[v] and h2[v] are how many values
 * of each sample equal v, for v = 0 .. len-1 (the same support for both;
 * pad the shorter histogram with zeros). D is computed exactly from the
 * two empirical CDFs, F_i(v) = sum_{u<=v} h_i[u] / n_i, so memory is
 * bounded by the support, not by the sample sizes. The p-value is the
 * asymptotic Kolmogorov tail with Stephens' (1970) effective-n
 * correction, as in Numerical Recipes (3rd ed., 14.3.3):
 *   ne = n1 n2 / (n1 + n2),
 *   lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) D,  p = Q(lambda).
 * The Kolmogorov distribution assumes continuous data. With ties, as
 * rounds always have, D can only take fewer, smaller values and the test
 * is conservative: the true p-value is at most the one returned, so a
 * rejection is trustworthy and a non-rejection may miss a small shift.
 * Needs both samples non-empty (n1, n2 >= 1) and h1, h2 non-NULL. */
ns_status ns_stats_ks_two_sample_counts(const uint64_t *h1,
                                        const uint64_t *h2,
                                        size_t len, ns_ks *out,
                                        ns_error *err);

/* ---- multiple testing ------------------------------------------------------ */

/* Benjamini-Hochberg adjusted p-values (q-values) of m p-values
 * (Benjamini & Hochberg 1995; as R's p.adjust(method = "BH")): with
 * p_(1) <= ... <= p_(m) the sorted p-values (gsl_sort_index),
 *   q_(i) = min(1, min_{j >= i} m p_(j) / j)
 * so q is monotone in p and capped at 1. q[i] belongs to p[i] (input
 * order is kept). Each p must lie in [0, 1]. m = 0 is allowed and does
 * nothing. The caller owns both arrays; they may not overlap. */
ns_status ns_stats_bh_qvalues(const double *p, size_t m, double *q,
                              ns_error *err);

/* ---- bootstrap --------------------------------------------------------------- */

/* Percentile bootstrap interval of the mean (Efron & Tibshirani, An
 * Introduction to the Bootstrap, 1993, ch. 13): draw `resamples` samples
 * of size n with replacement from x (gsl_rng_taus2 seeded with `seed`,
 * indices from gsl_rng_uniform_int), take each one's mean, sort them
 * (gsl_sort) and return the (1-level)/2 and 1-(1-level)/2 quantiles
 * (gsl_stats_quantile_from_sorted_data, linear interpolation between order
 * statistics). The same x, seed and resamples give the same bits.
 * Needs n >= 1, resamples >= 2 and 0 < level < 1. */
ns_status ns_stats_bootstrap_mean_ci(const double *x, size_t n,
                                     size_t resamples, unsigned long seed,
                                     double level, double *lo, double *hi,
                                     ns_error *err);

/* ---- survival ------------------------------------------------------------- */

/* A Kaplan-Meier curve: one row per distinct time at which at least one
 * event happened, in increasing time order. */
typedef struct ns_km {
    size_t n;        /* rows */
    double *time;    /* event time t_j */
    long *n_risk;    /* n_j: subjects with time >= t_j */
    long *n_event;   /* d_j: events at t_j */
    double *surv;    /* S(t_j) = prod_{i <= j} (1 - d_i / n_i) */
    double *var;     /* Greenwood: S(t_j)^2 sum_{i <= j} d_i/(n_i (n_i - d_i));
                        NaN once S reaches 0 (the sum divides by zero) */
} ns_km;

/* Kaplan-Meier product-limit estimate (Kaplan & Meier 1958) with
 * Greenwood's (1926) variance, from n (time, event) pairs: event[i] != 0
 * means subject i had the event at time[i], 0 means it was censored then.
 * A subject censored at t_j counts as at risk at t_j (the usual
 * convention: censoring happens just after the events at that time).
 * Times must be finite and >= 0; n >= 1. On success *out is a new curve
 * the caller frees with ns_km_free; with no events it has n = 0. */
ns_status ns_km_compute(const double *time, const int *event, size_t n,
                        ns_km **out, ns_error *err);
void ns_km_free(ns_km *km); /* NULL is a no-op */

#endif
