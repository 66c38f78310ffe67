/*
 * ns_regress.h - regression and curve fitting on plain arrays, all of it
 * done by GSL: ordinary least squares (gsl_multifit_linear_tsvd), logistic
 * regression by iteratively reweighted least squares (gsl_multifit_wlinear),
 * and two nonlinear fits by the trust-region solver of gsl_multifit_nlinear:
 * exponential decay y = a exp(-k x), and the concession exponent beta of
 * Faratin's time-dependent tactic.
 *
 * This module owns the numerics only. It does not read results files, pick
 * columns or print tables; callers hand it arrays and get numbers back.
 *
 * Matrices of predictors are row-major, n rows by k columns, and never
 * include the intercept column: the linear and logistic fits add it, so
 * coefficient 0 is always the intercept and coefficient j (1..k) belongs to
 * predictor column j-1.
 *
 * GSL's default error handler aborts the process. Every function here
 * expects the caller to have called gsl_set_error_handler_off() once at
 * start-up (main() does) and translates GSL's return codes into ns_status.
 * Failures: NS_ERR_INPUT for data that cannot support the fit (too few
 * observations, collinear predictors, non-binary responses, separation,
 * no convergence), NS_ERR_INTERNAL for any other GSL failure.
 */
#ifndef NS_REGRESS_H
#define NS_REGRESS_H

#include <stddef.h>

#include "ns_status.h"

/* A linear or logistic fit. The four arrays have `p` entries each, the
 * intercept first, and are owned by the struct: release them with
 * ns_regress_fit_free. */
typedef struct ns_regress_fit {
    size_t n;         /* observations used */
    size_t p;         /* coefficients, intercept included (k + 1) */
    double *coef;     /* estimates */
    double *se;       /* standard errors */
    double *stat;     /* coef / se: t for OLS, Wald z for logistic */
    double *p_value;  /* two-sided: Student t (n - p df) or standard normal */
    double r2;        /* OLS: coefficient of determination; logistic: NaN */
    double rss;       /* OLS: residual sum of squares; logistic: deviance */
    int iterations;   /* logistic: IRLS iterations taken; OLS: 0 */
} ns_regress_fit;

/* Frees the arrays of `f` and zeroes it; NULL, or a zeroed struct, is a
 * no-op. The struct itself is the caller's. */
void ns_regress_fit_free(ns_regress_fit *f);

/* Ordinary least squares of y (n values) on an intercept and the k columns
 * of x (n x k, row-major), by gsl_multifit_linear_tsvd (the SVD solver that
 * gsl_multifit_linear runs, which also reports the effective rank).
 * Standard errors are sqrt of the diagonal of s^2 (X'X)^-1 with
 * s^2 = RSS / (n - p); t = coef / se; p-values from gsl_cdf_tdist_Q.
 * Needs n > k + 1 and X of full rank, else NS_ERR_INPUT. On success `out`
 * owns new arrays (free with ns_regress_fit_free); on failure it is left
 * zeroed. */
ns_status ns_regress_ols(const double *x, size_t n, size_t k, const double *y,
                         ns_regress_fit *out, ns_error *err);

/* Logistic regression of the 0/1 responses y (n values) on an intercept
 * and the k columns of x, by iteratively reweighted least squares: each
 * step solves the weighted problem with weights mu(1-mu) and working
 * response eta + (y - mu) / (mu(1-mu)) with gsl_multifit_wlinear, starting
 * from all coefficients zero. It stops when no coefficient moves by more
 * than 1e-10 (relative to max(1, |coef|)). Standard errors come from the
 * covariance (X'WX)^-1 of the final weighted fit; Wald p-values from
 * gsl_cdf_ugaussian_Q. `max_iter` <= 0 means 50.
 * Returns NS_ERR_INPUT when a y is not 0 or 1, n <= k + 1, the weights
 * vanish (some fitted probability reaches 0 or 1 to within 1e-10, the mark
 * of complete or quasi-complete separation, where the MLE does not exist),
 * or the coefficients have not settled after `max_iter` steps. Ownership as
 * for ns_regress_ols. */
ns_status ns_regress_logistic(const double *x, size_t n, size_t k,
                              const double *y, int max_iter,
                              ns_regress_fit *out, ns_error *err);

/* A one- or two-parameter nonlinear fit. */
typedef struct ns_curve_fit {
    size_t n;        /* observations used */
    double a, se_a;  /* decay: amplitude; Faratin: unused (0) */
    double k, se_k;  /* decay: rate k; Faratin: beta */
    double rss;      /* residual sum of squares at the solution */
    int iterations;  /* trust-region iterations taken */
} ns_curve_fit;

/* A reusable set of solver workspaces for the nonlinear fits below.
 * gsl_multifit_nlinear allocates a workspace per problem size (n points,
 * p parameters); a caller that runs many small fits (one per negotiation)
 * keeps one fitter and passes it to the *_with functions, which then
 * allocate nothing per fit once every size has been seen. The solver
 * re-initialises a workspace completely at the start of each fit, so a
 * reused workspace gives bit-for-bit the answer of a fresh one.
 * Workspaces are kept per (n, p) for n <= NS_FITTER_CACHE_N, and one per p
 * beyond that (replaced when n changes). A fitter is not thread-safe: give
 * each thread its own. */
typedef struct ns_fitter ns_fitter;

#define NS_FITTER_CACHE_N 256

/* A new, empty fitter (aborts on out-of-memory like ns_xmalloc). */
ns_fitter *ns_fitter_create(void);

/* Frees the fitter and every workspace it holds; NULL is a no-op. */
void ns_fitter_destroy(ns_fitter *ft);

/* Fits y = a exp(-k x) to n points by gsl_multifit_nlinear (trust region,
 * Levenberg-Marquardt steps) with an analytic Jacobian. The starting point
 * is the straight-line fit of log y on x over the positive y (gsl_fit_linear),
 * or a = max |y|, k = 0 when fewer than two are positive. Standard errors
 * are sqrt of the diagonal of s^2 (J'J)^-1 at the solution, s^2 = RSS/(n-2);
 * with noiseless data they are (near) zero. Needs n >= 3 and at least two
 * distinct x, else NS_ERR_INPUT; NS_ERR_INPUT also when the solver does not
 * converge in 200 iterations. */
ns_status ns_regress_decay(const double *x, const double *y, size_t n,
                           ns_curve_fit *out, ns_error *err);

/* ns_regress_decay with the workspaces of `ft` (same results). */
ns_status ns_regress_decay_with(ns_fitter *ft, const double *x, const double *y,
                                size_t n, ns_curve_fit *out, ns_error *err);

/* Fits Faratin's time-dependent concession exponent: given the own
 * utilities u[i] of a negotiator's offers at normalised times tau[i] = t/T
 * in (0, 1], its known starting utility `a` and floor (reservation) `r`,
 * finds beta in  u = a - (a - r) tau^(1/beta)  by gsl_multifit_nlinear on
 * theta = log beta (so beta stays positive), from beta = 1. Boulware
 * tactics have beta < 1, conceders beta > 1. out->k is beta and out->se_k
 * its standard error by the delta method (beta * se(theta), with
 * s^2 = RSS/(n-1)); out->a and out->se_a are 0. Needs a != r, every tau in
 * (0, 1], and at least one tau < 1 (at tau = 1 every beta fits), else
 * NS_ERR_INPUT; NS_ERR_INPUT also when the solver does not converge. */
ns_status ns_regress_faratin_beta(const double *tau, const double *u,
                                  size_t n, double a, double r,
                                  ns_curve_fit *out, ns_error *err);

/* ns_regress_faratin_beta with the workspaces of `ft` (same results). */
ns_status ns_regress_faratin_beta_with(ns_fitter *ft, const double *tau,
                                       const double *u, size_t n, double a,
                                       double r, ns_curve_fit *out,
                                       ns_error *err);

#endif
