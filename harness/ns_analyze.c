/*
 * ns_analyze.c - `negsim analyze` (see ns_analyze.h).
 *
 * The two tables are streamed by ns_scan (hyperslabs of rows, row i of
 * /jobs and /outcomes checked to carry the same job_id) through memory
 * compound types holding only the columns used.
 */
#include "ns_fs.h"
#include "ns_analyze.h"
#include "ns_h5.h"
#include "ns_regress.h"
#include "ns_scan.h"
#include "ns_stats.h"

#include <errno.h>
#include <gsl/gsl_rng.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RES_CAP 100000 /* stored samples per level and metric / regression rows */
#define STR_LEN 33     /* S32 columns plus a NUL */
#define N_AXES 4
#define N_TRAITS 10

static const char *const axis_names[N_AXES] = {"buyer_tactic", "buyer_influence",
                                               "seller_tactic", "seller_influence"};
static const char *const trait_names[N_TRAITS] = {
    "buyer_openness",  "buyer_conscientiousness",  "buyer_extraversion",
    "buyer_agreeableness",  "buyer_neuroticism", "seller_openness",
    "seller_conscientiousness", "seller_extraversion", "seller_agreeableness",
    "seller_neuroticism"};

/* ---- rows as read ------------------------------------------------------ */

typedef struct jrow {
    uint64_t job_id;
    double trait[N_TRAITS];
    char axis[N_AXES][STR_LEN];
} jrow;

typedef struct orow {
    uint64_t job_id;
    int8_t deal;
    double u_buyer, u_seller, joint, share_buyer, share_seller;
} orow;

static hid_t jobs_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(jrow));
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, STR_LEN);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tinsert(t, "job_id", HOFFSET(jrow, job_id), H5T_NATIVE_UINT64);
    for (int i = 0; i < N_TRAITS; i++)
        H5Tinsert(t, trait_names[i], HOFFSET(jrow, trait) + (size_t)i * sizeof(double),
                  H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N_AXES; i++)
        H5Tinsert(t, axis_names[i], HOFFSET(jrow, axis) + (size_t)i * STR_LEN, s);
    H5Tclose(s);
    return t;
}

static hid_t outcomes_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(orow));
    H5Tinsert(t, "job_id", HOFFSET(orow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "deal", HOFFSET(orow, deal), H5T_NATIVE_INT8);
    H5Tinsert(t, "u_buyer", HOFFSET(orow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", HOFFSET(orow, u_seller), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "joint_utility", HOFFSET(orow, joint), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "surplus_share_buyer", HOFFSET(orow, share_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "surplus_share_seller", HOFFSET(orow, share_seller), H5T_NATIVE_DOUBLE);
    return t;
}

/* ---- reservoirs -------------------------------------------------------- */

typedef struct reservoir {
    double *x;
    size_t n, alloc; /* stored values */
    uint64_t seen;   /* values offered */
} reservoir;

/* Algorithm R (Vitter 1985): keeps a uniform sample of RES_CAP values of
 * width `w` doubles each. */
static void res_push(reservoir *r, const double *v, size_t w, gsl_rng *rng)
{
    r->seen++;
    if (r->n < RES_CAP) {
        if (r->n == r->alloc) {
            r->alloc = r->alloc ? 2 * r->alloc : 256;
            if (r->alloc > RES_CAP)
                r->alloc = RES_CAP;
            r->x = ns_xrealloc(r->x, r->alloc * w * sizeof(double));
        }
        memcpy(r->x + r->n * w, v, w * sizeof(double));
        r->n++;
        return;
    }
    uint64_t j = (uint64_t)(gsl_rng_uniform(rng) * (double)r->seen);
    if (j < RES_CAP)
        memcpy(r->x + j * w, v, w * sizeof(double));
}

/* ---- per-level accumulators -------------------------------------------- */

typedef struct level {
    char name[STR_LEN];
    uint64_t n, deals, n_share;
    double sum_own, sum_share, sum_joint;
    reservoir own, share, joint;
    /* results */
    double rate, rate_lo, rate_hi;
    double own_mean, own_lo, own_hi, share_mean, share_lo, share_hi;
    double joint_mean, joint_lo, joint_hi;
    int has_cmp;               /* a comparison with `none` was attempted */
    int has_p;                 /* ... and gave a p-value */
    double diff, g, p, q;
    char note[128];            /* why a comparison is missing */
} level;

typedef struct axis {
    const char *name;
    int buyer;                 /* the side using it */
    level *lv;
    size_t n, alloc;
} axis;

static level *axis_level(axis *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->lv[i].name, name) == 0)
            return &a->lv[i];
    if (a->n == a->alloc) {
        a->alloc = a->alloc ? 2 * a->alloc : 8;
        a->lv = ns_xrealloc(a->lv, a->alloc * sizeof *a->lv);
    }
    level *l = &a->lv[a->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    return l;
}

/* ---- the regressions --------------------------------------------------- */

typedef struct model {
    const char *name;          /* "ols_surplus_share_buyer", "logit_deal" */
    int fitted;
    char why[1100];            /* when not fitted */
    int kept[N_TRAITS];        /* predictor columns used, in order */
    int n_kept;
    char dropped[N_TRAITS][48];/* name + reason */
    int n_dropped;
    ns_regress_fit fit;
} model;

typedef struct analysis {
    const char *path;
    ns_analyze_options opt;
    uint64_t jobs, deals;
    axis ax[N_AXES];
    reservoir reg;             /* rows: 10 traits, deal, buyer share */
    gsl_rng *rng;
    model ols, logit;
    char created[64], spec_name[256], now[32];
} analysis;

#define REG_W (N_TRAITS + 2)

/* ns_scan_fn: adds one job and its outcome. */
static ns_status accumulate(void *ctx, const void *job_row, const void *outcome_row,
                            ns_error *err)
{
    (void)err;
    analysis *a = ctx;
    const jrow *j = job_row;
    const orow *o = outcome_row;
    a->jobs++;
    a->deals += o->deal != 0;
    for (int k = 0; k < N_AXES; k++) {
        axis *ax = &a->ax[k];
        level *l = axis_level(ax, j->axis[k]);
        double own = ax->buyer ? o->u_buyer : o->u_seller;
        double share = ax->buyer ? o->share_buyer : o->share_seller;
        if (!o->deal || !isfinite(own))
            own = 0;
        double joint = o->deal && isfinite(o->joint) ? o->joint : 0;
        l->n++;
        l->deals += o->deal != 0;
        l->sum_own += own;
        l->sum_joint += joint;
        res_push(&l->own, &own, 1, a->rng);
        res_push(&l->joint, &joint, 1, a->rng);
        if (o->deal && isfinite(share)) {
            l->n_share++;
            l->sum_share += share;
            res_push(&l->share, &share, 1, a->rng);
        }
    }
    double row[REG_W];
    int ok = 1;
    for (int i = 0; i < N_TRAITS; i++) {
        row[i] = j->trait[i];
        ok &= isfinite(row[i]) != 0;
    }
    row[N_TRAITS] = o->deal != 0;
    row[N_TRAITS + 1] = o->share_buyer;
    if (ok)
        res_push(&a->reg, row, REG_W, a->rng);
    return NS_OK;
}

/* ---- reading ----------------------------------------------------------- */

static void attr_str(hid_t loc, const char *obj, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    hid_t at = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    hid_t ft = H5Aget_type(at);
    if (H5Tget_class(ft) == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (H5Tis_variable_str(ft) > 0) {
            char *v = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(at, mt, &v) >= 0)
                snprintf(buf, size, "%s", v ? v : "");
            H5free_memory(v);
        } else {
            size_t n = H5Tget_size(ft);
            char *tmp = ns_xcalloc(1, n + 1);
            H5Tset_size(mt, n);
            if (H5Aread(at, mt, tmp) >= 0)
                snprintf(buf, size, "%s", tmp);
            free(tmp);
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(at);
    H5Eclear2(H5E_DEFAULT);
}

static ns_status scan(analysis *a, hid_t f, ns_error *err)
{
    hid_t jt = jobs_type(), ot = outcomes_type();
    uint64_t rows = 0;
    ns_status st = ns_scan_jobs_outcomes(f, a->path, jt, sizeof(jrow), ot, sizeof(orow),
                                         accumulate, a, &rows, err);
    if (!st && rows == 0)
        st = ns_fail(err, NS_ERR_INPUT, "%s has no jobs to analyze", a->path);
    H5Tclose(jt);
    H5Tclose(ot);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* ---- statistics -------------------------------------------------------- */

static void boot(const analysis *a, const reservoir *r, double *lo, double *hi)
{
    ns_error e;
    *lo = *hi = NAN;
    if (r->n >= 1 && ns_stats_bootstrap_mean_ci(r->x, r->n, a->opt.bootstrap,
                                                (unsigned long)a->opt.seed, 0.95, lo, hi, &e))
        *lo = *hi = NAN;
}

static ns_status level_stats(analysis *a, ns_error *err)
{
    size_t m = 0;
    for (int k = 0; k < N_AXES; k++) {
        axis *ax = &a->ax[k];
        level *none = NULL;
        for (size_t i = 0; i < ax->n; i++)
            if (strcmp(ax->lv[i].name, "none") == 0)
                none = &ax->lv[i];
        for (size_t i = 0; i < ax->n; i++) {
            level *l = &ax->lv[i];
            ns_status st = ns_stats_wilson((long)l->deals, (long)l->n, 0.95, &l->rate_lo,
                                           &l->rate_hi, err);
            if (st)
                return st;
            l->rate = (double)l->deals / (double)l->n;
            l->own_mean = l->sum_own / (double)l->n;
            l->joint_mean = l->sum_joint / (double)l->n;
            l->share_mean = l->n_share ? l->sum_share / (double)l->n_share : NAN;
            boot(a, &l->own, &l->own_lo, &l->own_hi);
            boot(a, &l->joint, &l->joint_lo, &l->joint_hi);
            boot(a, &l->share, &l->share_lo, &l->share_hi);
            l->diff = l->g = l->p = l->q = NAN;
            if (!none || l == none)
                continue;
            l->has_cmp = 1;
            l->diff = l->own_mean - none->own_mean;
            ns_error e;
            ns_welch w;
            if (ns_stats_hedges_g(l->own.x, l->own.n, none->own.x, none->own.n, &l->g, &e))
                l->g = NAN;
            if (ns_stats_welch(l->own.x, l->own.n, none->own.x, none->own.n, &w, &e)) {
                snprintf(l->note, sizeof l->note, "no test: %.100s", e.msg);
            } else {
                l->p = w.p_value;
                l->has_p = 1;
                m++;
            }
        }
    }
    if (m == 0)
        return NS_OK;
    double *p = ns_xmalloc(m * sizeof *p), *q = ns_xmalloc(m * sizeof *q);
    size_t j = 0;
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < a->ax[k].n; i++)
            if (a->ax[k].lv[i].has_p)
                p[j++] = a->ax[k].lv[i].p;
    ns_status st = ns_stats_bh_qvalues(p, m, q, err);
    j = 0;
    for (int k = 0; !st && k < N_AXES; k++)
        for (size_t i = 0; i < a->ax[k].n; i++)
            if (a->ax[k].lv[i].has_p)
                a->ax[k].lv[i].q = q[j++];
    free(p);
    free(q);
    return st;
}

/* Picks the predictor columns of the n rows `x` (row width REG_W) to keep:
 * drops constant columns, then (modified Gram-Schmidt on the centred
 * columns) any column in the span of those kept before it. */
static void choose_columns(model *md, const double *x, size_t n)
{
    double *q = ns_xmalloc(n * N_TRAITS * sizeof *q); /* orthonormal kept columns */
    md->n_kept = md->n_dropped = 0;
    double *v = ns_xmalloc(n * sizeof *v);
    for (int c = 0; c < N_TRAITS; c++) {
        double mean = 0, norm0 = 0, norm = 0;
        for (size_t i = 0; i < n; i++)
            mean += x[i * REG_W + c];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            v[i] = x[i * REG_W + c] - mean;
            norm0 += v[i] * v[i];
        }
        if (n < 2 || norm0 <= 1e-12 * (double)n) {
            snprintf(md->dropped[md->n_dropped++], 48, "%s (constant)", trait_names[c]);
            continue;
        }
        for (int k = 0; k < md->n_kept; k++) {
            double d = 0;
            for (size_t i = 0; i < n; i++)
                d += q[k * n + i] * v[i];
            for (size_t i = 0; i < n; i++)
                v[i] -= d * q[k * n + i];
        }
        for (size_t i = 0; i < n; i++)
            norm += v[i] * v[i];
        if (norm <= 1e-10 * norm0) {
            snprintf(md->dropped[md->n_dropped++], 48, "%s (collinear)", trait_names[c]);
            continue;
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < n; i++)
            q[md->n_kept * n + i] = v[i] / norm;
        md->kept[md->n_kept++] = c;
    }
    free(v);
    free(q);
}

/* Fits one model on the rows of the regression sample selected by
 * `deals_only`; `y_col` is the response column. Failures are recorded. */
static void fit_model(analysis *a, model *md, int deals_only, int y_col, int logistic)
{
    const reservoir *r = &a->reg;
    double *rows = ns_xmalloc((r->n ? r->n : 1) * REG_W * sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const double *row = r->x + i * REG_W;
        if (deals_only && (row[N_TRAITS] == 0 || !isfinite(row[y_col])))
            continue;
        memcpy(rows + n * REG_W, row, REG_W * sizeof *rows);
        n++;
    }
    if (n < 3) {
        snprintf(md->why, sizeof md->why, "too few observations (%zu)", n);
        free(rows);
        return;
    }
    choose_columns(md, rows, n);
    size_t k = (size_t)md->n_kept;
    double *x = ns_xmalloc(n * (k ? k : 1) * sizeof *x), *y = ns_xmalloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < k; c++)
            x[i * k + c] = rows[i * REG_W + md->kept[c]];
        y[i] = rows[i * REG_W + y_col];
    }
    ns_error e;
    ns_status st = logistic ? ns_regress_logistic(x, n, k, y, 0, &md->fit, &e)
                            : ns_regress_ols(x, n, k, y, &md->fit, &e);
    if (st)
        snprintf(md->why, sizeof md->why, "%s", e.msg);
    else
        md->fitted = 1;
    free(x);
    free(y);
    free(rows);
}

/* ---- output ------------------------------------------------------------ */

typedef struct outfile {
    char final[4096], tmp[4200];
    FILE *f;
} outfile;

static ns_status out_open(outfile *o, const char *dir, const char *name, ns_error *err)
{
    int n = snprintf(o->final, sizeof o->final, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof o->final)
        return ns_fail(err, NS_ERR_USAGE, "output folder name too long: %.64s...", dir);
    snprintf(o->tmp, sizeof o->tmp, "%.4095s.tmp", o->final); /* fits: 4095 + 4 < 4200 */
    o->f = fopen(o->tmp, "w");
    if (!o->f)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create %s", o->tmp);
    return NS_OK;
}

static ns_status out_close(outfile *o, ns_error *err)
{
    int werr = ferror(o->f) || fflush(o->f) != 0 || fsync(fileno(o->f)) != 0;
    int saved = errno;
    if (fclose(o->f) != 0 && !werr) {
        werr = 1;
        saved = errno;
    }
    o->f = NULL;
    ns_status st = NS_OK;
    if (werr)
        st = ns_fail_errno(err, NS_ERR_IO, saved, "cannot write %s", o->tmp);
    else if (rename(o->tmp, o->final) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot rename %s to %s", o->tmp, o->final);
    if (st)
        unlink(o->tmp);
    return st;
}

/* A number for CSV: %.10g, "nan" for NaN. */
static void csv_num(FILE *f, double v)
{
    if (isnan(v))
        fputs(",nan", f);
    else
        fprintf(f, ",%.10g", v);
}

static void write_effectiveness_csv(const analysis *a, FILE *f)
{
    fputs("axis,side,level,n,deals,deal_rate,deal_rate_lo,deal_rate_hi,"
          "own_utility_mean,own_utility_lo,own_utility_hi,surplus_share_n,"
          "surplus_share_mean,surplus_share_lo,surplus_share_hi,joint_utility_mean,"
          "joint_utility_lo,joint_utility_hi,diff_vs_none,hedges_g,welch_p,bh_q\n", f);
    for (int k = 0; k < N_AXES; k++) {
        const axis *ax = &a->ax[k];
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            fprintf(f, "%s,%s,%s,%" PRIu64 ",%" PRIu64, ax->name, ax->buyer ? "buyer" : "seller",
                    l->name, l->n, l->deals);
            csv_num(f, l->rate);
            csv_num(f, l->rate_lo);
            csv_num(f, l->rate_hi);
            csv_num(f, l->own_mean);
            csv_num(f, l->own_lo);
            csv_num(f, l->own_hi);
            fprintf(f, ",%" PRIu64, l->n_share);
            csv_num(f, l->share_mean);
            csv_num(f, l->share_lo);
            csv_num(f, l->share_hi);
            csv_num(f, l->joint_mean);
            csv_num(f, l->joint_lo);
            csv_num(f, l->joint_hi);
            csv_num(f, l->diff);
            csv_num(f, l->g);
            csv_num(f, l->p);
            csv_num(f, l->q);
            fputc('\n', f);
        }
    }
}

static const char *term_name(const model *md, size_t j)
{
    return j == 0 ? "intercept" : trait_names[md->kept[j - 1]];
}

static void write_regression_csv(const analysis *a, FILE *f)
{
    fputs("model,term,status,n,coef,se,stat,p_value,r2\n", f);
    const model *ms[2] = {&a->ols, &a->logit};
    for (int m = 0; m < 2; m++) {
        const model *md = ms[m];
        if (!md->fitted) {
            fprintf(f, "%s,,not fitted,0,nan,nan,nan,nan,nan\n", md->name);
            continue;
        }
        for (size_t j = 0; j < md->fit.p; j++) {
            fprintf(f, "%s,%s,fitted,%zu", md->name, term_name(md, j), md->fit.n);
            csv_num(f, md->fit.coef[j]);
            csv_num(f, md->fit.se[j]);
            csv_num(f, md->fit.stat[j]);
            csv_num(f, md->fit.p_value[j]);
            csv_num(f, md->fit.r2);
            fputc('\n', f);
        }
        for (int d = 0; d < md->n_dropped; d++) {
            char name[48];
            snprintf(name, sizeof name, "%s", md->dropped[d]);
            char *sp = strchr(name, ' ');
            if (sp)
                *sp = '\0';
            fprintf(f, "%s,%s,dropped %s,%zu,nan,nan,nan,nan,nan\n", md->name, name,
                    strstr(md->dropped[d], "constant") ? "constant" : "collinear",
                    md->fit.n);
        }
    }
}

/* A signed difference (kind 0, 4 decimals), an effect size (1, 3
 * decimals) or a p/q-value (2, 3 significant digits); "-" for NaN. */
static const char *fmt_num(char *buf, size_t size, double v, int kind)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (kind == 0)
        snprintf(buf, size, "%+.4f", v);
    else if (kind == 1)
        snprintf(buf, size, "%+.3f", v);
    else
        snprintf(buf, size, "%.3g", v);
    return buf;
}

static void md_num(FILE *f, double v, int kind)
{
    char buf[32];
    fprintf(f, " | %s", fmt_num(buf, sizeof buf, v, kind));
}

/* Whether some reservoir saw more values than it kept. */
static int sampled(const analysis *a)
{
    if (a->reg.seen > a->reg.n)
        return 1;
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < a->ax[k].n; i++) {
            const level *l = &a->ax[k].lv[i];
            if (l->own.seen > l->own.n || l->share.seen > l->share.n ||
                l->joint.seen > l->joint.n)
                return 1;
        }
    return 0;
}

static void write_report(const analysis *a, FILE *f)
{
    fprintf(f, "# negsim analysis\n\n");
    fprintf(f, "- file: `%s`\n", a->path);
    if (a->spec_name[0])
        fprintf(f, "- sweep: %s%s%s\n", a->spec_name, a->created[0] ? ", run " : "", a->created);
    fprintf(f, "- jobs: %" PRIu64 ", deals: %" PRIu64 " (%.1f%%)\n", a->jobs, a->deals,
            100.0 * (double)a->deals / (double)a->jobs);
    fprintf(f, "- analysed: %s\n\n", a->now);
    fprintf(f, "## Method\n\n"
            "- Own utility: the utility of the side using the level (`u_buyer` or "
            "`u_seller`), 0 without a deal. Surplus share: that side's share of the joint "
            "utility, deals only (NaN rows skipped). Joint utility: 0 without a deal.\n"
            "- Deal rate: Wilson 95%% score interval. Means are exact (running sums over all "
            "jobs); their 95%% intervals are percentile bootstraps with %u resamples, "
            "seed %" PRIu64 " (MT19937).\n"
            "- Versus `none` of the same axis: difference in mean own utility, Hedges' g and "
            "a two-sided Welch t-test; q: Benjamini-Hochberg across all comparisons of the "
            "four tables.\n"
            "- Bootstrap, Welch and Hedges' g use a uniform reservoir sample of at most "
            "%d values per level and metric; the regressions one of at most %d jobs. %s\n"
            "- Regressions: constant trait columns are dropped, then any column in the span "
            "of the intercept and the columns kept before it (Gram-Schmidt); a kept column "
            "then also stands for the columns collinear with it.\n\n",
            a->opt.bootstrap, a->opt.seed, RES_CAP, RES_CAP,
            sampled(a) ? "This file exceeds that: those statistics use the samples."
                       : "This file does not exceed that: every job is used.");
    for (int k = 0; k < N_AXES; k++) {
        const axis *ax = &a->ax[k];
        fprintf(f, "## %s (%s utility)\n\n", ax->name, ax->buyer ? "buyer" : "seller");
        fprintf(f, "| level | n | deal rate [95%% CI] | own utility [95%% CI] | surplus share "
                "[95%% CI] | joint utility [95%% CI] | diff vs none | g | p | q |\n");
        fprintf(f, "|---|---:|---|---|---|---|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            fprintf(f, "| %s | %" PRIu64 " | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | ", l->name,
                    l->n, l->rate, l->rate_lo, l->rate_hi, l->own_mean, l->own_lo, l->own_hi);
            if (l->n_share)
                fprintf(f, "%.3f [%.3f, %.3f]", l->share_mean, l->share_lo, l->share_hi);
            else
                fputs("–", f);
            fprintf(f, " | %.3f [%.3f, %.3f]", l->joint_mean, l->joint_lo, l->joint_hi);
            md_num(f, l->diff, 0);
            md_num(f, l->g, 1);
            md_num(f, l->p, 2);
            md_num(f, l->q, 2);
            fputs(" |\n", f);
        }
        for (size_t i = 0; i < ax->n; i++)
            if (ax->lv[i].note[0])
                fprintf(f, "\n%s: %s\n", ax->lv[i].name, ax->lv[i].note);
        int has_none = 0;
        for (size_t i = 0; i < ax->n; i++)
            has_none |= strcmp(ax->lv[i].name, "none") == 0;
        if (!has_none)
            fprintf(f, "\nNo `none` level on this axis: no comparisons.\n");
        fputc('\n', f);
    }
    fprintf(f, "## Personality\n\n");
    const model *ms[2] = {&a->ols, &a->logit};
    const char *titles[2] = {"OLS of the buyer's surplus share (deals only) on both sides' "
                             "Big Five traits",
                             "Logistic regression (IRLS) of deal on both sides' Big Five traits"};
    for (int m = 0; m < 2; m++) {
        const model *md = ms[m];
        fprintf(f, "### %s\n\n", titles[m]);
        if (md->n_dropped) {
            fprintf(f, "Dropped predictors:");
            for (int d = 0; d < md->n_dropped; d++)
                fprintf(f, "%s %s", d ? "," : "", md->dropped[d]);
            fprintf(f, ".\n\n");
        }
        if (!md->fitted) {
            fprintf(f, "Not fitted: %s.\n\n", md->why);
            continue;
        }
        if (m == 0)
            fprintf(f, "n = %zu, R² = %.4f\n\n", md->fit.n, md->fit.r2);
        else
            fprintf(f, "n = %zu, deviance = %.4f, %d IRLS iterations\n\n", md->fit.n,
                    md->fit.rss, md->fit.iterations);
        fprintf(f, "| term | coef | se | %s | p |\n|---|---:|---:|---:|---:|\n",
                m == 0 ? "t" : "z");
        for (size_t j = 0; j < md->fit.p; j++)
            fprintf(f, "| %s | %.4g | %.4g | %.3f | %.3g |\n", term_name(md, j),
                    md->fit.coef[j], md->fit.se[j], md->fit.stat[j], md->fit.p_value[j]);
        fputc('\n', f);
    }
}

/* The headline: each tactic axis against none, aligned. */
static void print_headline(const analysis *a, FILE *out)
{
    fprintf(out, "%s: %" PRIu64 " jobs, %" PRIu64 " deals\n", a->path, a->jobs, a->deals);
    for (int k = 0; k < N_AXES; k += 2) {
        const axis *ax = &a->ax[k];
        fprintf(out, "\n%s (own utility = u_%s)\n", ax->name, ax->buyer ? "buyer" : "seller");
        fprintf(out, "  %-20s %8s %7s %17s %8s %9s %7s %9s\n", "level", "n", "deals",
                "own utility", "", "vs none", "g", "q");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            char ci[40], d[16], g[16], q[16];
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", l->own_lo, l->own_hi);
            fmt_num(d, sizeof d, l->diff, 0);
            fmt_num(g, sizeof g, l->g, 1);
            fmt_num(q, sizeof q, l->q, 2);
            fprintf(out, "  %-20s %8" PRIu64 " %6.1f%% %8.4f %17s %9s %7s %9s\n", l->name,
                    l->n, 100 * l->rate, l->own_mean, ci, d, g, q);
        }
    }
}

static ns_status write_outputs(const analysis *a, const char *dir, FILE *out, ns_error *err)
{
    ns_status st = ns_fs_mkdirs(dir, err);
    outfile o;
    if (!st && !(st = out_open(&o, dir, "effectiveness.csv", err))) {
        write_effectiveness_csv(a, o.f);
        st = out_close(&o, err);
    }
    if (!st && !(st = out_open(&o, dir, "regression.csv", err))) {
        write_regression_csv(a, o.f);
        st = out_close(&o, err);
    }
    if (!st && !(st = out_open(&o, dir, "report.md", err))) {
        write_report(a, o.f);
        st = out_close(&o, err);
    }
    if (!st && out) {
        print_headline(a, out);
        fprintf(out, "\nreport: %s/report.md\n", dir);
        if (ferror(out))
            st = ns_fail(err, NS_ERR_IO, "cannot write the summary");
    }
    return st;
}

/* ---- entry point ------------------------------------------------------- */

static void analysis_free(analysis *a)
{
    for (int k = 0; k < N_AXES; k++) {
        for (size_t i = 0; i < a->ax[k].n; i++) {
            free(a->ax[k].lv[i].own.x);
            free(a->ax[k].lv[i].share.x);
            free(a->ax[k].lv[i].joint.x);
        }
        free(a->ax[k].lv);
    }
    free(a->reg.x);
    ns_regress_fit_free(&a->ols.fit);
    ns_regress_fit_free(&a->logit.fit);
    if (a->rng)
        gsl_rng_free(a->rng);
}

ns_status ns_analyze_run(const char *results_path, const ns_analyze_options *opt, FILE *out,
                         ns_error *err)
{
    analysis *a = ns_xcalloc(1, sizeof *a);
    a->path = results_path;
    if (opt)
        a->opt = *opt;
    if (a->opt.bootstrap == 0)
        a->opt.bootstrap = 1000;
    if (a->opt.seed == 0)
        a->opt.seed = 1;
    if (a->opt.bootstrap < 2) {
        free(a);
        return ns_fail(err, NS_ERR_USAGE, "--bootstrap needs at least 2 resamples");
    }
    for (int k = 0; k < N_AXES; k++) {
        a->ax[k].name = axis_names[k];
        a->ax[k].buyer = k < 2;
    }
    a->ols.name = "ols_surplus_share_buyer";
    a->logit.name = "logit_deal";

    char dir[4096];
    size_t len = strlen(results_path);
    if (a->opt.out_dir)
        snprintf(dir, sizeof dir, "%s", a->opt.out_dir);
    else if (len > 3 && strcmp(results_path + len - 3, ".h5") == 0)
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 3), results_path);
    else
        snprintf(dir, sizeof dir, "%s.analysis", results_path);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(a->now, sizeof a->now, "%Y-%m-%dT%H:%M:%SZ", &tm);

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ns_status st = NS_OK;
    struct stat sb;
    hid_t f = -1;
    if (stat(results_path, &sb) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot open %s", results_path);
    else if (H5Fis_hdf5(results_path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        st = ns_fail(err, NS_ERR_CORRUPT, "%s is not an HDF5 file", results_path);
    } else {
        f = H5Fopen(results_path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0)
            st = ns_h5_fail(err, NS_ERR_IO, "cannot open %s", results_path);
    }
    if (!st) {
        attr_str(f, ".", "spec_name", a->spec_name, sizeof a->spec_name);
        attr_str(f, ".", "created", a->created, sizeof a->created);
        a->rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(a->rng, (unsigned long)a->opt.seed);
        st = scan(a, f, err);
        H5Fclose(f);
    }
    if (!st)
        st = level_stats(a, err);
    if (!st) {
        fit_model(a, &a->ols, 1, N_TRAITS + 1, 0);
        fit_model(a, &a->logit, 0, N_TRAITS, 1);
        st = write_outputs(a, dir, out, err);
    }
    analysis_free(a);
    free(a);
    return st;
}
