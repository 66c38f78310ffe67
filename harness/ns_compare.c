/*
 * ns_compare.c - `negsim compare`: per-cell regression tests between two
 * results files (see ns_compare.h).
 *
 * Reading: /jobs and /outcomes are parallel tables (row i of both is the
 * same job), streamed together by ns_scan through small memory compound
 * types holding only the columns used, so memory does not grow with the
 * number of jobs, only with the number of cells.
 *
 * Cells are kept in a growing array indexed by a POSIX hsearch_r table
 * (glibc <search.h>) on the joined axis labels; the table is rebuilt,
 * twice as large, when it is half full. For the comparison both cell
 * arrays are sorted by key (qsort) and the candidate's cells are found
 * with bsearch.
 *
 * Moments: each cell keeps a running mean and sum of squared deviations
 * (Welford's update) rather than raw sums of squares: the same one pass,
 * but a constant sample has a variance of exactly 0, where
 * sumsq - n mean^2 would leave rounding noise and a spurious t.
 *
 * Rounds are also counted per cell in a histogram indexed by the number
 * of rounds (grown on demand to the largest value seen), so the
 * Kolmogorov-Smirnov D is exact and memory is cells x max rounds, never
 * jobs.
 */
#define _GNU_SOURCE /* hsearch_r */
#include "ns_compare.h"
#include "ns_h5.h"
#include "ns_results.h"
#include "ns_scan.h"
#include "ns_stats.h"

#include <gsl/gsl_cdf.h>
#include <hdf5.h>
#include <math.h>
#include <search.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_LEN 32 /* NS_NAME_LEN: the S32 columns of /jobs */

/* ---- cells ---------------------------------------------------------------- */

enum { N_AXES = 7 };
static const char *const axis_names[N_AXES] = {
    "scenario",     "buyer_personality", "seller_personality", "buyer_tactic",
    "seller_tactic", "buyer_influence",  "seller_influence",
};

enum { M_DEAL, M_UB, M_US, M_JOINT, M_ROUNDS, M_ROUNDS_KS, N_METRICS };
static const char *const metric_names[N_METRICS] = {
    "deal_rate", "u_buyer", "u_seller", "joint_utility", "rounds", "rounds_ks",
};
#define METRIC_LIST "deal_rate, u_buyer, u_seller, joint_utility, rounds, rounds_ks"
/* Rounds above this are corrupt: the spec caps max_rounds at 500, and the
 * histogram must not be grown to an absurd size by one bad row. */
#define MAX_ROUNDS_HIST 100000
enum { N_MOMENTS = 4 }; /* metrics 1..4 */

typedef struct cell {
    char *key; /* labels joined by '\x1f' */
    char ax[N_AXES][LABEL_LEN];
    long n, deals;
    double mean[N_MOMENTS], m2[N_MOMENTS];
    uint64_t *rounds_hist; /* rounds_hist[r]: jobs that took r rounds */
    size_t hist_len;       /* 1 + the largest rounds seen */
} cell;

typedef struct cellset {
    cell *cells;
    size_t n, cap;
    struct hsearch_data htab;
    size_t hcap; /* 0: no table */
} cellset;

static void cellset_free(cellset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->cells[i].key);
        free(s->cells[i].rounds_hist);
    }
    free(s->cells);
    if (s->hcap)
        hdestroy_r(&s->htab);
    memset(s, 0, sizeof *s);
}

/* (Re)builds the hash table with room for `hcap` entries. */
static void cellset_rehash(cellset *s, size_t hcap)
{
    if (s->hcap)
        hdestroy_r(&s->htab);
    memset(&s->htab, 0, sizeof s->htab);
    if (!hcreate_r(hcap, &s->htab)) {
        fprintf(stderr, "negsim: out of memory (hash table of %zu cells)\n", hcap);
        abort();
    }
    s->hcap = hcap;
    for (size_t i = 0; i < s->n; i++) {
        ENTRY e = {s->cells[i].key, (void *)(uintptr_t)i}, *r;
        hsearch_r(e, ENTER, &r, &s->htab);
    }
}

/* The cell of these axis labels, created when new. */
static cell *cellset_get(cellset *s, const char (*ax)[LABEL_LEN])
{
    char key[N_AXES * LABEL_LEN + N_AXES];
    size_t k = 0;
    for (int a = 0; a < N_AXES; a++) {
        size_t l = strnlen(ax[a], LABEL_LEN - 1);
        memcpy(key + k, ax[a], l);
        k += l;
        key[k++] = '\x1f';
    }
    key[k ? k - 1 : 0] = '\0';
    ENTRY q = {key, NULL}, *r = NULL;
    if (hsearch_r(q, FIND, &r, &s->htab) && r)
        return &s->cells[(uintptr_t)r->data];
    if (s->n + 1 > s->hcap / 2)
        cellset_rehash(s, s->hcap * 2);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->cells = ns_xrealloc(s->cells, s->cap * sizeof *s->cells);
    }
    cell *c = &s->cells[s->n];
    memset(c, 0, sizeof *c);
    c->key = ns_xstrdup(key);
    for (int a = 0; a < N_AXES; a++) {
        memcpy(c->ax[a], ax[a], LABEL_LEN);
        c->ax[a][LABEL_LEN - 1] = '\0';
    }
    ENTRY e = {c->key, (void *)(uintptr_t)s->n};
    if (!hsearch_r(e, ENTER, &r, &s->htab)) {
        fprintf(stderr, "negsim: hash table full\n");
        abort();
    }
    s->n++;
    return c;
}

static void cell_add(cell *c, int deal, int rounds, const double v[N_MOMENTS])
{
    size_t r = (size_t)rounds; /* checked by the caller: 0..MAX_ROUNDS_HIST */
    if (r >= c->hist_len) {
        size_t len = r + 1 > 2 * c->hist_len ? r + 1 : 2 * c->hist_len;
        c->rounds_hist = ns_xrealloc(c->rounds_hist, len * sizeof *c->rounds_hist);
        memset(c->rounds_hist + c->hist_len, 0, (len - c->hist_len) * sizeof *c->rounds_hist);
        c->hist_len = len;
    }
    c->rounds_hist[r]++;
    c->n++;
    c->deals += deal != 0;
    for (int m = 0; m < N_MOMENTS; m++) {
        double d = v[m] - c->mean[m];
        c->mean[m] += d / (double)c->n;
        c->m2[m] += d * (v[m] - c->mean[m]);
    }
}

static int cell_cmp(const void *a, const void *b)
{
    return strcmp(((const cell *)a)->key, ((const cell *)b)->key);
}

/* ---- reading a file ------------------------------------------------------ */

typedef struct jrow {
    uint64_t job_id;
    char ax[N_AXES][LABEL_LEN];
} jrow;

typedef struct orow {
    uint64_t job_id;
    int deal;
    int rounds;
    double u_buyer, u_seller, joint;
} orow;

static hid_t jrow_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(jrow));
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, LABEL_LEN);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tinsert(t, "job_id", offsetof(jrow, job_id), H5T_NATIVE_UINT64);
    for (int a = 0; a < N_AXES; a++)
        H5Tinsert(t, axis_names[a], offsetof(jrow, ax) + (size_t)a * LABEL_LEN, s);
    H5Tclose(s);
    return t;
}

static hid_t orow_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(orow));
    H5Tinsert(t, "job_id", offsetof(orow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "deal", offsetof(orow, deal), H5T_NATIVE_INT);
    H5Tinsert(t, "rounds", offsetof(orow, rounds), H5T_NATIVE_INT);
    H5Tinsert(t, "u_buyer", offsetof(orow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", offsetof(orow, u_seller), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "joint_utility", offsetof(orow, joint), H5T_NATIVE_DOUBLE);
    return t;
}

typedef struct read_ctx {
    const char *path;
    cellset *s;
} read_ctx;

static ns_status add_row(void *ctx, const void *job_row, const void *outcome_row, ns_error *err)
{
    const read_ctx *rc = ctx;
    const jrow *j = job_row;
    const orow *o = outcome_row;
    double v[N_MOMENTS] = {o->u_buyer, o->u_seller, o->joint, (double)o->rounds};
    for (int m = 0; m < N_MOMENTS; m++)
        if (!isfinite(v[m]))
            return ns_fail(err, NS_ERR_CORRUPT, "%s: job %llu has a non-finite %s", rc->path,
                           (unsigned long long)j->job_id, metric_names[m + 1]);
    if (o->rounds < 0 || o->rounds > MAX_ROUNDS_HIST)
        return ns_fail(err, NS_ERR_CORRUPT, "%s: job %llu has %d rounds", rc->path,
                       (unsigned long long)j->job_id, o->rounds);
    cell_add(cellset_get(rc->s, j->ax), o->deal, o->rounds, v);
    return NS_OK;
}

/* Aggregates every job of `path` into cells. */
static ns_status read_cells(const char *path, cellset *s, ns_error *err)
{
    memset(s, 0, sizeof *s);
    ns_results_info info;
    ns_status st = ns_results_info_read(path, &info, err); /* checks the file */
    if (st)
        return st;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return ns_h5_fail(err, NS_ERR_IO, "cannot open %s", path);
    hid_t jt = jrow_type(), ot = orow_type();
    cellset_rehash(s, 1024);
    read_ctx rc = {path, s};
    st = ns_scan_jobs_outcomes(f, path, jt, sizeof(jrow), ot, sizeof(orow), add_row, &rc, NULL,
                               err);
    H5Tclose(jt);
    H5Tclose(ot);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    if (st == NS_OK)
        qsort(s->cells, s->n, sizeof *s->cells, cell_cmp); /* the hash indexes go stale */
    return st;
}

/* ---- comparability --------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct levels of axis `a`, sorted; *n of them. Caller frees. */
static const char **levels(const cellset *s, int a, size_t *n)
{
    const char **v = ns_xmalloc((s->n ? s->n : 1) * sizeof *v);
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->cells[i].ax[a];
    qsort(v, s->n, sizeof *v, str_cmp);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
            v[k++] = v[i];
    *n = k;
    return v;
}

/* First element of sorted x (nx) absent from sorted y (ny), or NULL. */
static const char *first_missing(const char **x, size_t nx, const char **y, size_t ny)
{
    for (size_t i = 0; i < nx; i++)
        if (!bsearch(&x[i], y, ny, sizeof *y, str_cmp))
            return x[i];
    return NULL;
}

static void cell_label(const cell *c, char *buf, size_t size)
{
    snprintf(buf, size, "%s; buyer %s/%s/%s; seller %s/%s/%s", c->ax[0], c->ax[1], c->ax[3],
             c->ax[5], c->ax[2], c->ax[4], c->ax[6]);
}

/* NS_ERR_MISMATCH naming the axis that differs, when the cell sets do. */
static ns_status check_comparable(const cellset *b, const cellset *c, ns_error *err)
{
    int same = b->n == c->n;
    for (size_t i = 0; same && i < b->n; i++)
        same = strcmp(b->cells[i].key, c->cells[i].key) == 0;
    if (same)
        return NS_OK;
    for (int a = 0; a < N_AXES; a++) {
        size_t nb, nc;
        const char **lb = levels(b, a, &nb), **lc = levels(c, a, &nc);
        const char *only_b = first_missing(lb, nb, lc, nc);
        const char *only_c = first_missing(lc, nc, lb, nb);
        ns_status st = NS_OK;
        if (only_b || only_c) {
            char lv[160];
            if (only_b && only_c)
                snprintf(lv, sizeof lv, "level '%s' only in the baseline, '%s' only in the "
                         "candidate", only_b, only_c);
            else
                snprintf(lv, sizeof lv, "level '%s' only in the %s", only_b ? only_b : only_c,
                         only_b ? "baseline" : "candidate");
            st = ns_fail(err, NS_ERR_MISMATCH, "not comparable: axis %s differs (%s)",
                         axis_names[a], lv);
        }
        free(lb);
        free(lc);
        if (st)
            return st;
    }
    /* same levels on every axis, other combinations (the specs' filters) */
    const cellset *x = b, *y = c;
    const char *which = "baseline";
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < x->n; i++)
            if (!bsearch(&x->cells[i], y->cells, y->n, sizeof *y->cells, cell_cmp)) {
                char lab[512];
                cell_label(&x->cells[i], lab, sizeof lab);
                return ns_fail(err, NS_ERR_MISMATCH,
                               "not comparable: same axis levels but other combinations "
                               "(filters differ); cell [%s] only in the %s", lab, which);
            }
        x = c;
        y = b;
        which = "candidate";
    }
    return ns_fail(err, NS_ERR_INTERNAL, "cell sets differ but no differing cell found");
}

/* ---- tests ------------------------------------------------------------------ */

typedef struct test {
    size_t cell; /* index into the baseline's sorted cells */
    int metric;
    double base, cand; /* the metric's value; for rounds_ks the median rounds */
    double effect;     /* compared with --min-effect: candidate - baseline, or
                          for rounds_ks the KS distance D */
    double p, q;
} test;

/* Welch's t test from moments (the formulas of ns_stats_welch). Both
 * samples constant: p = 1 when the means agree, 0 when they differ. */
static double welch_p(long n1, double mean1, double m2_1, long n2, double mean2, double m2_2)
{
    double a = m2_1 / (double)(n1 - 1) / (double)n1, b = m2_2 / (double)(n2 - 1) / (double)n2;
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    if (a + b <= 0)
        return mean1 == mean2 ? 1.0 : 0.0;
    double t = (mean1 - mean2) / sqrt(a + b);
    double df = (a + b) * (a + b) /
                (a * a / (double)(n1 - 1) + b * b / (double)(n2 - 1));
    double p = 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
    return p > 1.0 ? 1.0 : p < 0.0 ? 0.0 : p;
}

/* Lower median of a rounds histogram of n jobs: the smallest r with at
 * least half of the jobs at or below it. */
static double hist_median(const cell *c)
{
    uint64_t cum = 0;
    for (size_t r = 0; r < c->hist_len; r++) {
        cum += c->rounds_hist[r];
        if (2 * cum >= (uint64_t)c->n)
            return (double)r;
    }
    return NAN; /* not reached for a cell with jobs */
}

/* Two-sample KS test on the rounds of two cells, their histograms padded
 * to a common support (len >= 1: every cell holds at least one job). */
static ns_status rounds_ks(const cell *x, const cell *y, test *t, ns_error *err)
{
    size_t len = x->hist_len > y->hist_len ? x->hist_len : y->hist_len;
    uint64_t *hx = ns_xcalloc(len, sizeof *hx), *hy = ns_xcalloc(len, sizeof *hy);
    memcpy(hx, x->rounds_hist, x->hist_len * sizeof *hx);
    memcpy(hy, y->rounds_hist, y->hist_len * sizeof *hy);
    ns_ks ks;
    ns_status st = ns_stats_ks_two_sample_counts(hx, hy, len, &ks, err);
    free(hx);
    free(hy);
    if (st)
        return st;
    t->base = hist_median(x);
    t->cand = hist_median(y);
    t->effect = ks.d;
    t->p = ks.p_value;
    return NS_OK;
}

static int test_cmp_q(const void *x, const void *y)
{
    const test *a = x, *b = y;
    if (a->q != b->q)
        return a->q < b->q ? -1 : 1;
    if (a->cell != b->cell)
        return a->cell < b->cell ? -1 : 1;
    return a->metric - b->metric;
}

static ns_status parse_metrics(const char *list, int use[N_METRICS], ns_error *err)
{
    if (!list) {
        for (int m = 0; m < N_METRICS; m++)
            use[m] = 1;
        return NS_OK;
    }
    for (int m = 0; m < N_METRICS; m++)
        use[m] = 0;
    int any = 0;
    const char *p = list;
    while (*p) {
        size_t l = strcspn(p, ",");
        int found = 0;
        for (int m = 0; m < N_METRICS; m++)
            if (l == strlen(metric_names[m]) && strncmp(p, metric_names[m], l) == 0)
                found = use[m] = any = 1;
        if (!found && l > 0)
            return ns_fail(err, NS_ERR_USAGE,
                           "unknown metric '%.*s' (known: " METRIC_LIST ")", (int)l, p);
        p += l;
        if (*p == ',')
            p++;
    }
    if (!any)
        return ns_fail(err, NS_ERR_USAGE, "--metrics names no metric");
    return NS_OK;
}

void ns_compare_options_default(ns_compare_options *opt)
{
    opt->alpha = 0.05;
    opt->min_effect = 0.0;
    opt->metrics = NULL;
}

ns_status ns_compare_run(const char *baseline, const char *candidate,
                         const ns_compare_options *opt, FILE *out, int *changed,
                         ns_error *err)
{
    ns_compare_options o;
    if (opt)
        o = *opt;
    else
        ns_compare_options_default(&o);
    *changed = 0;
    if (!(o.alpha > 0 && o.alpha <= 1))
        return ns_fail(err, NS_ERR_USAGE, "--alpha must lie in (0, 1], not %g", o.alpha);
    if (!(o.min_effect >= 0 && isfinite(o.min_effect)))
        return ns_fail(err, NS_ERR_USAGE, "--min-effect must be >= 0, not %g", o.min_effect);
    int use[N_METRICS];
    ns_status st = parse_metrics(o.metrics, use, err);
    if (st)
        return st;

    cellset b, c;
    memset(&c, 0, sizeof c);
    st = read_cells(baseline, &b, err);
    if (st == NS_OK)
        st = read_cells(candidate, &c, err);
    if (st == NS_OK)
        st = check_comparable(&b, &c, err);
    if (st) {
        cellset_free(&b);
        cellset_free(&c);
        return st;
    }

    /* Same keys in the same sorted order: cell i of b is cell i of c. */
    test *t = ns_xmalloc((b.n ? b.n : 1) * N_METRICS * sizeof *t);
    size_t m = 0, untestable = 0;
    for (size_t i = 0; i < b.n && st == NS_OK; i++) {
        const cell *x = &b.cells[i], *y = &c.cells[i];
        for (int k = 0; k < N_METRICS && st == NS_OK; k++) {
            if (!use[k])
                continue;
            test *tt = &t[m];
            tt->cell = i;
            tt->metric = k;
            if (k == M_DEAL) {
                tt->base = (double)x->deals / (double)x->n;
                tt->cand = (double)y->deals / (double)y->n;
                st = ns_stats_two_prop_z(x->deals, x->n, y->deals, y->n, NULL, &tt->p, err);
                tt->effect = tt->cand - tt->base;
            } else if (k == M_ROUNDS_KS) {
                st = rounds_ks(x, y, tt, err);
            } else {
                if (x->n < 2 || y->n < 2) {
                    untestable++;
                    continue;
                }
                tt->base = x->mean[k - 1];
                tt->cand = y->mean[k - 1];
                tt->p = welch_p(x->n, x->mean[k - 1], x->m2[k - 1], y->n, y->mean[k - 1],
                                y->m2[k - 1]);
                tt->effect = tt->cand - tt->base;
            }
            m++;
        }
    }
    double *p = ns_xmalloc((m ? m : 1) * sizeof *p), *q = ns_xmalloc((m ? m : 1) * sizeof *q);
    for (size_t i = 0; i < m; i++)
        p[i] = t[i].p;
    if (st == NS_OK)
        st = ns_stats_bh_qvalues(p, m, q, err);
    size_t nchanged = 0;
    if (st == NS_OK) {
        for (size_t i = 0; i < m; i++) {
            t[i].q = q[i];
            if (q[i] <= o.alpha && fabs(t[i].effect) >= o.min_effect)
                t[nchanged++] = t[i]; /* compact the changed tests in front */
        }
        qsort(t, nchanged, sizeof *t, test_cmp_q);
        if (nchanged) {
            fprintf(out, "| cell | metric | baseline | candidate | difference | q |\n");
            fprintf(out, "|---|---|---:|---:|---:|---:|\n");
            for (size_t i = 0; i < nchanged; i++) {
                char lab[512];
                cell_label(&b.cells[t[i].cell], lab, sizeof lab);
                char eff[32];
                if (t[i].metric == M_ROUNDS_KS)
                    snprintf(eff, sizeof eff, "D = %.3g", t[i].effect);
                else
                    snprintf(eff, sizeof eff, "%+.4g", t[i].effect);
                fprintf(out, "| %s | %s | %.4g | %.4g | %s | %.3g |\n", lab,
                        metric_names[t[i].metric], t[i].base, t[i].cand, eff, t[i].q);
            }
            fprintf(out, "\n");
        }
        fprintf(out, "%zu of %zu tests changed at FDR %g", nchanged, m, o.alpha);
        if (o.min_effect > 0)
            fprintf(out, " (|difference| >= %g%s)", o.min_effect,
                    use[M_ROUNDS_KS] ? "; KS distance D for rounds_ks" : "");
        fprintf(out, "\n");
        if (untestable)
            fprintf(out, "%zu cell/metric pairs not tested: fewer than 2 jobs in a cell\n",
                     untestable);
        *changed = nchanged > 0;
    }
    free(p);
    free(q);
    free(t);
    cellset_free(&b);
    cellset_free(&c);
    return st;
}
