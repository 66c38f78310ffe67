/*
 * ns_regress.c - linear, logistic and nonlinear fits on plain arrays, every
 * solve and every distribution done by GSL (see ns_regress.h for the
 * contracts).
 *
 * Design: each public function validates its input, builds GSL matrices
 * and vectors, runs one GSL solver, and copies the answer into a plain
 * result struct, so no GSL type crosses the module boundary. All GSL
 * objects of a call are released at one cleanup label, except the
 * nonlinear fits' solver workspaces: those live in an ns_fitter, kept by
 * the caller across fits (analyze runs millions of tiny fits, where
 * allocating a workspace per fit dominated the time).
 */
#include "ns_regress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_machine.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#define NS_IRLS_TOL 1e-10       /* coefficient change that counts as settled */
#define NS_IRLS_MIN_WEIGHT 1e-10 /* mu(1-mu) below this: separation */
#define NS_NLIN_MAXITER 200

void ns_regress_fit_free(ns_regress_fit *f)
{
    if (!f)
        return;
    free(f->coef);
    free(f->se);
    free(f->stat);
    free(f->p_value);
    memset(f, 0, sizeof *f);
}

/* Allocates the arrays of `f` for p coefficients. */
static void fit_alloc(ns_regress_fit *f, size_t n, size_t p)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    f->p = p;
    f->coef = ns_xcalloc(p, sizeof(double));
    f->se = ns_xcalloc(p, sizeof(double));
    f->stat = ns_xcalloc(p, sizeof(double));
    f->p_value = ns_xcalloc(p, sizeof(double));
}

/* The n x (k+1) design matrix: a column of ones, then x. */
static gsl_matrix *design_matrix(const double *x, size_t n, size_t k)
{
    gsl_matrix *X = gsl_matrix_alloc(n, k + 1);
    if (!X)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        gsl_matrix_set(X, i, 0, 1.0);
        for (size_t j = 0; j < k; j++)
            gsl_matrix_set(X, i, j + 1, x[i * k + j]);
    }
    return X;
}

static int all_finite(const double *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* ---- ordinary least squares ------------------------------------------------ */

ns_status ns_regress_ols(const double *x, size_t n, size_t k, const double *y,
                         ns_regress_fit *out, ns_error *err)
{
    const size_t p = k + 1;
    ns_status st = NS_OK;
    gsl_matrix *X = NULL, *cov = NULL;
    gsl_vector *c = NULL;
    gsl_multifit_linear_workspace *w = NULL;
    double chisq = 0.0, tss = 0.0, mean = 0.0;
    size_t rank = 0;

    memset(out, 0, sizeof *out);
    if (n <= p)
        return ns_fail(err, NS_ERR_INPUT,
                       "least squares: %zu observations for %zu coefficients "
                       "(need more observations than coefficients)", n, p);
    if ((k && !all_finite(x, n * k)) || !all_finite(y, n))
        return ns_fail(err, NS_ERR_INPUT,
                       "least squares: data contain NaN or infinity");

    X = design_matrix(x, n, k);
    c = gsl_vector_alloc(p);
    cov = gsl_matrix_alloc(p, p);
    w = gsl_multifit_linear_alloc(n, p);
    if (!X || !c || !cov || !w) {
        st = ns_fail(err, NS_ERR_NOMEM, "least squares: out of memory");
        goto done;
    }
    gsl_vector_const_view yv = gsl_vector_const_view_array(y, n);
    int gs = gsl_multifit_linear_tsvd(X, &yv.vector, GSL_DBL_EPSILON, c, cov,
                                      &chisq, &rank, w);
    if (gs) {
        st = ns_fail(err, NS_ERR_INTERNAL, "least squares: GSL: %s",
                     gsl_strerror(gs));
        goto done;
    }
    /* A rank below p means some predictor is a combination of the others:
     * the minimum-norm solution GSL returns would be one of infinitely many. */
    if (rank < p) {
        st = ns_fail(err, NS_ERR_INPUT,
                     "least squares: predictors are collinear (rank %zu of %zu)",
                     rank, p);
        goto done;
    }

    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        tss += (y[i] - mean) * (y[i] - mean);

    fit_alloc(out, n, p);
    const double dof = (double)(n - p);
    for (size_t j = 0; j < p; j++) {
        /* gsl_multifit_linear's covariance is already s^2 (X'X)^-1. */
        out->coef[j] = gsl_vector_get(c, j);
        out->se[j] = sqrt(gsl_matrix_get(cov, j, j));
        out->stat[j] = out->coef[j] / out->se[j];
        out->p_value[j] = 2.0 * gsl_cdf_tdist_Q(fabs(out->stat[j]), dof);
    }
    out->rss = chisq;
    out->r2 = tss > 0.0 ? 1.0 - chisq / tss : NAN;

done:
    gsl_multifit_linear_free(w);
    gsl_matrix_free(cov);
    gsl_vector_free(c);
    gsl_matrix_free(X);
    return st;
}

/* ---- logistic regression ---------------------------------------------------- */

/* One IRLS step's weights and working response at linear predictor eta.
 * Returns 0 when some weight has vanished (separation). */
static int irls_weights(const gsl_vector *eta, const double *y,
                        gsl_vector *wt, gsl_vector *z)
{
    for (size_t i = 0; i < eta->size; i++) {
        double e = gsl_vector_get(eta, i);
        double mu = 1.0 / (1.0 + exp(-e));
        double v = mu * (1.0 - mu);
        if (!(v >= NS_IRLS_MIN_WEIGHT))
            return 0;
        gsl_vector_set(wt, i, v);
        gsl_vector_set(z, i, e + (y[i] - mu) / v);
    }
    return 1;
}

/* Binomial deviance at linear predictor eta, computed stably. */
static double logistic_deviance(const gsl_vector *eta, const double *y)
{
    double d = 0.0;
    for (size_t i = 0; i < eta->size; i++) {
        double e = gsl_vector_get(eta, i);
        /* -log-likelihood term: log(1 + exp(e)) - y e */
        double l1pe = e > 0 ? e + log1p(exp(-e)) : log1p(exp(e));
        d += 2.0 * (l1pe - y[i] * e);
    }
    return d;
}

ns_status ns_regress_logistic(const double *x, size_t n, size_t k,
                              const double *y, int max_iter,
                              ns_regress_fit *out, ns_error *err)
{
    const size_t p = k + 1;
    ns_status st = NS_OK;
    gsl_matrix *X = NULL, *cov = NULL;
    gsl_vector *b = NULL, *bnew = NULL, *eta = NULL, *wt = NULL, *z = NULL;
    gsl_multifit_linear_workspace *w = NULL;
    double chisq = 0.0;
    int iter = 0, settled = 0;

    memset(out, 0, sizeof *out);
    if (max_iter <= 0)
        max_iter = 50;
    if (n <= p)
        return ns_fail(err, NS_ERR_INPUT,
                       "logistic regression: %zu observations for %zu "
                       "coefficients", n, p);
    if (k && !all_finite(x, n * k))
        return ns_fail(err, NS_ERR_INPUT,
                       "logistic regression: predictors contain NaN or infinity");
    for (size_t i = 0; i < n; i++)
        if (y[i] != 0.0 && y[i] != 1.0)
            return ns_fail(err, NS_ERR_INPUT,
                           "logistic regression: response %zu is %g, not 0 or 1",
                           i, y[i]);

    X = design_matrix(x, n, k);
    cov = gsl_matrix_alloc(p, p);
    b = gsl_vector_calloc(p);
    bnew = gsl_vector_alloc(p);
    eta = gsl_vector_alloc(n);
    wt = gsl_vector_alloc(n);
    z = gsl_vector_alloc(n);
    w = gsl_multifit_linear_alloc(n, p);
    if (!X || !cov || !b || !bnew || !eta || !wt || !z || !w) {
        st = ns_fail(err, NS_ERR_NOMEM, "logistic regression: out of memory");
        goto done;
    }

    while (!settled && iter < max_iter) {
        iter++;
        gsl_blas_dgemv(CblasNoTrans, 1.0, X, b, 0.0, eta);
        if (!irls_weights(eta, y, wt, z)) {
            st = ns_fail(err, NS_ERR_INPUT,
                         "logistic regression: fitted probabilities reached 0 "
                         "or 1 at step %d (the outcome is separated by the "
                         "predictors; no finite estimate exists)", iter);
            goto done;
        }
        int gs = gsl_multifit_wlinear(X, wt, z, bnew, cov, &chisq, w);
        if (gs) {
            st = ns_fail(err, NS_ERR_INTERNAL, "logistic regression: GSL: %s",
                         gsl_strerror(gs));
            goto done;
        }
        settled = 1;
        for (size_t j = 0; j < p; j++) {
            double bj = gsl_vector_get(bnew, j);
            if (!isfinite(bj)) {
                st = ns_fail(err, NS_ERR_INPUT,
                             "logistic regression: coefficients diverged");
                goto done;
            }
            if (fabs(bj - gsl_vector_get(b, j)) > NS_IRLS_TOL * GSL_MAX(1.0, fabs(bj)))
                settled = 0;
        }
        gsl_vector_memcpy(b, bnew);
    }
    if (!settled) {
        st = ns_fail(err, NS_ERR_INPUT,
                     "logistic regression: no convergence after %d iterations",
                     max_iter);
        goto done;
    }

    /* The covariance of the last weighted fit is (X'WX)^-1 at weights from
     * the previous coefficients, which agree with the final ones to 1e-10. */
    fit_alloc(out, n, p);
    for (size_t j = 0; j < p; j++) {
        out->coef[j] = gsl_vector_get(b, j);
        out->se[j] = sqrt(gsl_matrix_get(cov, j, j));
        out->stat[j] = out->coef[j] / out->se[j];
        out->p_value[j] = 2.0 * gsl_cdf_ugaussian_Q(fabs(out->stat[j]));
    }
    gsl_blas_dgemv(CblasNoTrans, 1.0, X, b, 0.0, eta);
    out->rss = logistic_deviance(eta, y);
    out->r2 = NAN;
    out->iterations = iter;

done:
    gsl_multifit_linear_free(w);
    gsl_vector_free(z);
    gsl_vector_free(wt);
    gsl_vector_free(eta);
    gsl_vector_free(bnew);
    gsl_vector_free(b);
    gsl_matrix_free(cov);
    gsl_matrix_free(X);
    return st;
}

/* ---- nonlinear fits ----------------------------------------------------------- */

/* Workspaces by problem size, a covariance matrix per p, and scratch
 * arrays; see ns_regress.h. Index [p - 1]: the fits have p = 1 or 2. */
struct ns_fitter {
    gsl_multifit_nlinear_workspace *ws[2][NS_FITTER_CACHE_N + 1]; /* by n */
    gsl_multifit_nlinear_workspace *big[2]; /* the last n > NS_FITTER_CACHE_N */
    size_t big_n[2];
    gsl_matrix *cov[2];
    double *scratch;                        /* 2 * scratch_n doubles */
    size_t scratch_n;
};

ns_fitter *ns_fitter_create(void)
{
    return ns_xcalloc(1, sizeof(ns_fitter));
}

void ns_fitter_destroy(ns_fitter *ft)
{
    if (!ft)
        return;
    for (int p = 0; p < 2; p++) {
        for (size_t n = 0; n <= NS_FITTER_CACHE_N; n++)
            if (ft->ws[p][n])
                gsl_multifit_nlinear_free(ft->ws[p][n]);
        if (ft->big[p])
            gsl_multifit_nlinear_free(ft->big[p]);
        if (ft->cov[p])
            gsl_matrix_free(ft->cov[p]);
    }
    free(ft->scratch);
    free(ft);
}

/* The workspace for n points and p parameters, allocated on first use;
 * NULL when GSL cannot allocate it. */
static gsl_multifit_nlinear_workspace *fitter_ws(ns_fitter *ft, size_t n, size_t p)
{
    gsl_multifit_nlinear_workspace **slot;
    if (n <= NS_FITTER_CACHE_N) {
        slot = &ft->ws[p - 1][n];
    } else {
        slot = &ft->big[p - 1];
        if (*slot && ft->big_n[p - 1] != n) {
            gsl_multifit_nlinear_free(*slot);
            *slot = NULL;
        }
        ft->big_n[p - 1] = n;
    }
    if (!*slot) {
        gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
        *slot = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, n, p);
    }
    return *slot;
}

/* Two scratch arrays of n doubles each, kept for the next fit. */
static double *fitter_scratch(ns_fitter *ft, size_t n)
{
    if (ft->scratch_n < n) {
        free(ft->scratch);
        ft->scratch = ns_xmalloc(2 * n * sizeof(double));
        ft->scratch_n = n;
    }
    return ft->scratch;
}

/* The data a residual function sees. The solver evaluates the Jacobian at
 * the point whose residuals it evaluated last (the start, then each
 * accepted step), so f leaves its exp / pow terms in `term`, tagged with
 * the parameter they belong to, and df reuses them when the parameter is
 * the same: identical numbers, one transcendental call fewer per point. */
typedef struct curve_data {
    const double *x, *y;
    size_t n;
    double a, r;     /* Faratin: start and floor */
    const double *lx;/* Faratin: log x, computed once per fit */
    double *term;    /* n values: exp(-k x_i) (decay), x_i^e (Faratin) */
    double term_at;  /* the k or e they were computed for */
    int has_term;
} curve_data;

/* Decay: f_i = a exp(-k x_i) - y_i over parameters (a, k). */
static int decay_f(const gsl_vector *prm, void *data, gsl_vector *f)
{
    curve_data *d = data;
    double a = gsl_vector_get(prm, 0), k = gsl_vector_get(prm, 1);
    for (size_t i = 0; i < d->n; i++) {
        double e = exp(-k * d->x[i]);
        d->term[i] = e;
        f->data[i * f->stride] = a * e - d->y[i];
    }
    d->term_at = k;
    d->has_term = 1;
    return GSL_SUCCESS;
}

static int decay_df(const gsl_vector *prm, void *data, gsl_matrix *J)
{
    const curve_data *d = data;
    double a = gsl_vector_get(prm, 0), k = gsl_vector_get(prm, 1);
    int reuse = d->has_term && d->term_at == k;
    for (size_t i = 0; i < d->n; i++) {
        double e = reuse ? d->term[i] : exp(-k * d->x[i]);
        double *row = J->data + i * J->tda;
        row[0] = e;
        row[1] = -a * d->x[i] * e;
    }
    return GSL_SUCCESS;
}

/* Faratin: f_i = a - (a - r) tau_i^(exp(-theta)) - u_i over theta = log beta. */
static int faratin_f(const gsl_vector *prm, void *data, gsl_vector *f)
{
    curve_data *d = data;
    double e = exp(-gsl_vector_get(prm, 0));
    for (size_t i = 0; i < d->n; i++) {
        double t = pow(d->x[i], e);
        d->term[i] = t;
        f->data[i * f->stride] = d->a - (d->a - d->r) * t - d->y[i];
    }
    d->term_at = e;
    d->has_term = 1;
    return GSL_SUCCESS;
}

static int faratin_df(const gsl_vector *prm, void *data, gsl_matrix *J)
{
    const curve_data *d = data;
    double e = exp(-gsl_vector_get(prm, 0));
    int reuse = d->has_term && d->term_at == e;
    for (size_t i = 0; i < d->n; i++) {
        double t = reuse ? d->term[i] : pow(d->x[i], e);
        /* d/dtheta of -(a-r) t^e with de/dtheta = -e */
        J->data[i * J->tda] = (d->a - d->r) * t * d->lx[i] * e;
    }
    return GSL_SUCCESS;
}

/* Runs the trust-region solver from `start` (length p) on fdf with the
 * workspaces of `ft`; on success writes the solution into `sol`, the
 * standard errors (s^2 = RSS/(n-p)) into `se`, the RSS and the iteration
 * count. */
static ns_status nlinear_solve(ns_fitter *ft, gsl_multifit_nlinear_fdf *fdf,
                               const double *start, size_t p, double *sol, double *se,
                               double *rss, int *iters, const char *what, ns_error *err)
{
    gsl_multifit_nlinear_workspace *w = fitter_ws(ft, fdf->n, p);
    if (!ft->cov[p - 1])
        ft->cov[p - 1] = gsl_matrix_alloc(p, p);
    gsl_matrix *cov = ft->cov[p - 1];
    if (!w || !cov)
        return ns_fail(err, NS_ERR_NOMEM, "%s: out of memory", what);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(start, p);
    int gs = gsl_multifit_nlinear_init(&x0.vector, fdf, w);
    int info = 0;
    double chisq0 = 1.0;
    if (!gs)
        gsl_blas_ddot(gsl_multifit_nlinear_residual(w),
                      gsl_multifit_nlinear_residual(w), &chisq0);
    /* When the start fits exactly, every trial step is a 0/0 reduction
     * ratio: the trust region shrinks forever and the driver never reports
     * convergence. The start is the answer. */
    if (!gs && chisq0 > 0.0)
        gs = gsl_multifit_nlinear_driver(NS_NLIN_MAXITER, 1e-12, 1e-12, 1e-12,
                                         NULL, NULL, &info, w);
    if (gs == GSL_EMAXITER)
        return ns_fail(err, NS_ERR_INPUT, "%s: no convergence after %d iterations",
                       what, NS_NLIN_MAXITER);
    if (gs)
        return ns_fail(err, NS_ERR_INPUT, "%s: the solver failed: %s", what,
                       gsl_strerror(gs));
    gsl_vector *fres = gsl_multifit_nlinear_residual(w);
    gsl_vector *sx = gsl_multifit_nlinear_position(w);
    double chisq = 0.0;
    gsl_blas_ddot(fres, fres, &chisq);
    for (size_t j = 0; j < p; j++)
        if (!isfinite(gsl_vector_get(sx, j)))
            return ns_fail(err, NS_ERR_INPUT, "%s: the estimate diverged", what);
    gs = gsl_multifit_nlinear_covar(gsl_multifit_nlinear_jac(w), 0.0, cov);
    if (gs)
        return ns_fail(err, NS_ERR_INTERNAL, "%s: covariance: %s", what,
                       gsl_strerror(gs));
    /* With n == p there is no residual degree of freedom to estimate s^2. */
    double s2 = fdf->n > p ? chisq / (double)(fdf->n - p) : NAN;
    for (size_t j = 0; j < p; j++) {
        sol[j] = gsl_vector_get(sx, j);
        se[j] = sqrt(s2 * gsl_matrix_get(cov, j, j));
    }
    *rss = chisq;
    *iters = (int)gsl_multifit_nlinear_niter(w);
    return NS_OK;
}

ns_status ns_regress_decay_with(ns_fitter *ft, const double *x, const double *y,
                                size_t n, ns_curve_fit *out, ns_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 3)
        return ns_fail(err, NS_ERR_INPUT,
                       "decay fit: %zu points (need at least 3)", n);
    if (!all_finite(x, n) || !all_finite(y, n))
        return ns_fail(err, NS_ERR_INPUT, "decay fit: data contain NaN or infinity");
    int distinct = 0;
    for (size_t i = 1; i < n && !distinct; i++)
        distinct = x[i] != x[0];
    if (!distinct)
        return ns_fail(err, NS_ERR_INPUT, "decay fit: every x is the same");

    /* Start from the log-linear fit over the positive y: close to the
     * answer when the noise is small, and never a bad place to begin. */
    double *lx = fitter_scratch(ft, n), *ly = lx + n;
    size_t m = 0;
    double ymax = 0.0;
    for (size_t i = 0; i < n; i++) {
        ymax = GSL_MAX(ymax, fabs(y[i]));
        if (y[i] > 0.0) {
            lx[m] = x[i];
            ly[m] = log(y[i]);
            m++;
        }
    }
    double start[2] = {ymax > 0.0 ? ymax : 1.0, 0.0};
    double c0, c1, cov00, cov01, cov11, sumsq;
    if (m >= 2 && gsl_fit_linear(lx, 1, ly, 1, m, &c0, &c1, &cov00, &cov01,
                                 &cov11, &sumsq) == GSL_SUCCESS &&
        isfinite(c0) && isfinite(c1)) {
        start[0] = exp(c0);
        start[1] = -c1;
    }

    curve_data d = {.x = x, .y = y, .n = n, .term = lx}; /* lx is free again */
    gsl_multifit_nlinear_fdf fdf = {
        .f = decay_f, .df = decay_df, .fvv = NULL, .n = n, .p = 2, .params = &d};
    double sol[2], se[2];
    ns_status st = nlinear_solve(ft, &fdf, start, 2, sol, se, &out->rss,
                                 &out->iterations, "decay fit", err);
    if (st) {
        memset(out, 0, sizeof *out);
        return st;
    }
    out->n = n;
    out->a = sol[0];
    out->se_a = se[0];
    out->k = sol[1];
    out->se_k = se[1];
    return NS_OK;
}

ns_status ns_regress_decay(const double *x, const double *y, size_t n,
                           ns_curve_fit *out, ns_error *err)
{
    ns_fitter *ft = ns_fitter_create();
    ns_status st = ns_regress_decay_with(ft, x, y, n, out, err);
    ns_fitter_destroy(ft);
    return st;
}

ns_status ns_regress_faratin_beta_with(ns_fitter *ft, const double *tau,
                                       const double *u, size_t n, double a,
                                       double r, ns_curve_fit *out,
                                       ns_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return ns_fail(err, NS_ERR_INPUT, "concession fit: no offers");
    if (!isfinite(a) || !isfinite(r) || a == r)
        return ns_fail(err, NS_ERR_INPUT,
                       "concession fit: start %g and floor %g must differ", a, r);
    if (!all_finite(u, n))
        return ns_fail(err, NS_ERR_INPUT,
                       "concession fit: utilities contain NaN or infinity");
    int informative = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(tau[i] > 0.0 && tau[i] <= 1.0))
            return ns_fail(err, NS_ERR_INPUT,
                           "concession fit: time %zu is %g, not in (0, 1]", i,
                           tau[i]);
        informative |= tau[i] < 1.0;
    }
    if (!informative)
        return ns_fail(err, NS_ERR_INPUT,
                       "concession fit: every offer is at the deadline, where "
                       "any beta fits");

    double *lx = fitter_scratch(ft, n);
    for (size_t i = 0; i < n; i++)
        lx[i] = log(tau[i]);
    curve_data d = {.x = tau, .y = u, .n = n, .a = a, .r = r, .lx = lx, .term = lx + n};
    gsl_multifit_nlinear_fdf fdf = {
        .f = faratin_f, .df = faratin_df, .fvv = NULL, .n = n, .p = 1, .params = &d};
    double start = 0.0, theta = 0.0, se_theta = 0.0; /* set on success */
    ns_status st = nlinear_solve(ft, &fdf, &start, 1, &theta, &se_theta, &out->rss,
                                 &out->iterations, "concession fit", err);
    if (st) {
        memset(out, 0, sizeof *out);
        return st;
    }
    out->n = n;
    out->k = exp(theta);
    out->se_k = out->k * se_theta; /* delta method: d beta / d theta = beta */
    return NS_OK;
}

ns_status ns_regress_faratin_beta(const double *tau, const double *u,
                                  size_t n, double a, double r,
                                  ns_curve_fit *out, ns_error *err)
{
    ns_fitter *ft = ns_fitter_create();
    ns_status st = ns_regress_faratin_beta_with(ft, tau, u, n, a, r, out, err);
    ns_fitter_destroy(ft);
    return st;
}
