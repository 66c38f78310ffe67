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
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
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
#define SHORT_LEN 13   /* S8 / S12 columns plus a NUL */
#define MAX_ROUND 100000 /* rounds beyond this are ignored by the convergence tables */
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
    int32_t rounds;
    char ending[SHORT_LEN];
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
    H5Tinsert(t, "rounds", HOFFSET(orow, rounds), H5T_NATIVE_INT32);
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, SHORT_LEN);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tinsert(t, "ending", HOFFSET(orow, ending), s);
    H5Tclose(s);
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
    /* convergence (tactic axes only) */
    uint64_t c_conv, c_stall, c_div, c_skip, c_unfit; /* negotiations by decay class */
    uint64_t b_skip, b_unfit;  /* this side's beta: skipped, fit failed */
    reservoir beta;            /* this side's fitted Faratin beta */
    reservoir surv;            /* (rounds, event) pairs for Kaplan-Meier */
    uint64_t agree_n;          /* deals with a round count */
    double agree_sum;
    uint64_t *agree_hist;      /* deals by rounds (index = rounds) */
    size_t agree_len;
    double beta_med, beta_q25, beta_q75, agree_mean, agree_median;
    double *still_open;        /* KM S(r) for r = 1..max_rounds */
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
    int max_rounds;            /* T: root attribute, else the largest `rounds` seen */
    int max_seen;
    int has_rounds;            /* the /rounds pass ran */
    uint64_t conv_jobs;        /* negotiations followed through /rounds */
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
        if ((k == 0 || k == 2) && o->rounds >= 0 && o->rounds <= MAX_ROUND) {
            int ev = strcmp(o->ending, "agreement") == 0 || strcmp(o->ending, "walkaway") == 0;
            double pair[2] = {(double)o->rounds, ev};
            res_push(&l->surv, pair, 2, a->rng);
            if (o->rounds > a->max_seen)
                a->max_seen = o->rounds;
            if (o->deal) {
                if ((size_t)o->rounds >= l->agree_len) {
                    size_t nl = (size_t)o->rounds + 1;
                    l->agree_hist = ns_xrealloc(l->agree_hist, nl * sizeof *l->agree_hist);
                    memset(l->agree_hist + l->agree_len, 0,
                           (nl - l->agree_len) * sizeof *l->agree_hist);
                    l->agree_len = nl;
                }
                l->agree_hist[o->rounds]++;
                l->agree_n++;
                l->agree_sum += o->rounds;
            }
        }
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

/* ---- convergence: /rounds joined to /jobs ------------------------------ */

static int attr_int(hid_t loc, const char *name, int *v)
{
    int ok = 0;
    if (H5Aexists(loc, name) > 0) {
        hid_t at = H5Aopen(loc, name, H5P_DEFAULT);
        if (at >= 0) {
            int32_t x = 0;
            ok = H5Aread(at, H5T_NATIVE_INT32, &x) >= 0;
            if (ok)
                *v = (int)x;
            H5Aclose(at);
        }
    }
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

typedef struct rrow {
    uint64_t job_id;
    int32_t round;
    char speaker[SHORT_LEN], action[SHORT_LEN];
    double u_buyer, u_seller;
} rrow;

typedef struct idrow {
    uint64_t job_id;
    char btac[STR_LEN], stac[STR_LEN];
} idrow;

static hid_t rounds_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(rrow)), s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, SHORT_LEN);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tinsert(t, "job_id", HOFFSET(rrow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "round", HOFFSET(rrow, round), H5T_NATIVE_INT32);
    H5Tinsert(t, "speaker", HOFFSET(rrow, speaker), s);
    H5Tinsert(t, "action", HOFFSET(rrow, action), s);
    H5Tinsert(t, "u_buyer", HOFFSET(rrow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", HOFFSET(rrow, u_seller), H5T_NATIVE_DOUBLE);
    H5Tclose(s);
    return t;
}

static hid_t ids_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(idrow)), s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, STR_LEN);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tinsert(t, "job_id", HOFFSET(idrow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "buyer_tactic", HOFFSET(idrow, btac), s);
    H5Tinsert(t, "seller_tactic", HOFFSET(idrow, stac), s);
    H5Tclose(s);
    return t;
}

static level *level_find(axis *ax, const char *name)
{
    for (size_t i = 0; i < ax->n; i++)
        if (strcmp(ax->lv[i].name, name) == 0)
            return &ax->lv[i];
    return NULL;
}

/* A growable array of (x, y) points. */
typedef struct series {
    double *x, *y;
    size_t n, cap;
} series;

static void series_push(series *s, double x, double y)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->x = ns_xrealloc(s->x, s->cap * sizeof *s->x);
        s->y = ns_xrealloc(s->y, s->cap * sizeof *s->y);
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* One negotiation being followed through /rounds. The gap is ns_plot.c's:
 * |u_buyer(buyer's latest offer) - u_buyer(seller's latest offer)| at the
 * end of each round, divided by that gap once both had offered; 0 at the
 * round of an accept. The buffers are kept from job to job. */
typedef struct cjob {
    uint64_t id;
    int active;
    level *lv[2];        /* buyer_tactic, seller_tactic level; NULL: unknown */
    int round, has_b, has_s, opened, flat, ended;
    int moves[2];        /* moves made by buyer, seller */
    double bu, su, g0, gap;
    series gaps;         /* (round, normalised gap) */
    series offers[2];    /* per side: (move number, own utility of its offer) */
} cjob;

static void cj_close_round(cjob *c)
{
    if (c->opened && c->round >= 1 && c->round <= MAX_ROUND && isfinite(c->gap / c->g0))
        series_push(&c->gaps, (double)c->round, c->gap / c->g0);
}

static void cj_row(cjob *c, const rrow *r)
{
    if (c->ended)
        return;
    if (r->round != c->round) {
        cj_close_round(c);
        c->round = r->round;
    }
    int side = strcmp(r->speaker, "buyer") == 0 ? 0 : strcmp(r->speaker, "seller") == 0 ? 1 : -1;
    if (side >= 0)
        c->moves[side]++;
    if (strcmp(r->action, "offer") == 0) {
        double own = side == 0 ? r->u_buyer : r->u_seller;
        if (side >= 0 && isfinite(own))
            series_push(&c->offers[side], (double)c->moves[side], own);
        if (side < 0 || !isfinite(r->u_buyer))
            return;
        if (side == 0) {
            c->bu = r->u_buyer;
            c->has_b = 1;
        } else {
            c->su = r->u_buyer;
            c->has_s = 1;
        }
        if (c->has_b && c->has_s) {
            double g = fabs(c->bu - c->su);
            if (!c->opened && !c->flat) {
                if (g > 1e-12) {
                    c->opened = 1;
                    c->g0 = g;
                } else {
                    c->flat = 1; /* opened in agreement: nothing to normalise */
                }
            }
            c->gap = g;
        }
    } else if (strcmp(r->action, "accept") == 0 || strcmp(r->action, "walk") == 0) {
        if (strcmp(r->action, "accept") == 0)
            c->gap = 0;
        cj_close_round(c);
        c->ended = 1;
    }
}

/* Fits and files the negotiation followed in `c`. */
static void cj_finish(analysis *a, cjob *c)
{
    if (!c->active)
        return;
    c->active = 0;
    if (!c->ended)
        cj_close_round(c);
    if (!c->lv[0] && !c->lv[1])
        return;
    a->conv_jobs++;
    int cls; /* 0 converging, 1 stalling, 2 diverging, 3 skipped, 4 unfitted */
    ns_error e;
    ns_curve_fit fit;
    if (!c->opened || c->flat || c->gaps.n < 3)
        cls = 3;
    else if (ns_regress_decay(c->gaps.x, c->gaps.y, c->gaps.n, &fit, &e) ||
             !isfinite(fit.k) || !isfinite(fit.se_k))
        cls = 4;
    else if (fit.k - 1.96 * fit.se_k > 0)
        cls = 0;
    else if (fit.k + 1.96 * fit.se_k < 0)
        cls = 2;
    else
        cls = 1;
    for (int s = 0; s < 2; s++) {
        level *l = c->lv[s];
        if (!l)
            continue;
        uint64_t *cnt[5] = {&l->c_conv, &l->c_stall, &l->c_div, &l->c_skip, &l->c_unfit};
        (*cnt[cls])++;
        /* this side's Faratin beta */
        series *o = &c->offers[s];
        double T = (double)a->max_rounds;
        if (o->n < 3 || a->max_rounds < 1) {
            l->b_skip++;
            continue;
        }
        double first = o->y[0], last = o->y[o->n - 1];
        double r = last < first ? last : first;
        int ok = first != r;
        for (size_t i = 0; ok && i < o->n; i++) {
            o->x[i] /= T; /* move number -> tau = t / T */
            ok = o->x[i] > 0 && o->x[i] <= 1;
        }
        if (!ok) {
            l->b_skip++;
            continue;
        }
        if (ns_regress_faratin_beta(o->x, o->y, o->n, first, r, &fit, &e) || !isfinite(fit.k)) {
            l->b_unfit++;
            continue;
        }
        res_push(&l->beta, &fit.k, 1, a->rng);
    }
}

/* Moves the /jobs cursor to job `id`; *found NULL when there is none. */
typedef struct jcursor {
    hid_t dset, type;
    hsize_t rows, start, n, i;
    idrow *buf;
} jcursor;

static ns_status jc_seek(jcursor *c, uint64_t id, const idrow **found, const char *path,
                         ns_error *err)
{
    *found = NULL;
    for (;;) {
        while (c->i < c->n && c->buf[c->i].job_id < id)
            c->i++;
        if (c->i < c->n) {
            if (c->buf[c->i].job_id == id)
                *found = &c->buf[c->i];
            return NS_OK;
        }
        c->start += c->n;
        if (c->start >= c->rows)
            return NS_OK;
        c->n = c->rows - c->start < NS_SCAN_CHUNK_ROWS ? c->rows - c->start : NS_SCAN_CHUNK_ROWS;
        c->i = 0;
        if (ns_scan_read_rows(c->dset, c->type, c->start, c->n, c->buf) < 0)
            return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot read /jobs rows %llu..%llu", path,
                              (unsigned long long)c->start,
                              (unsigned long long)(c->start + c->n));
    }
}

static ns_status scan_rounds(analysis *a, hid_t f, ns_error *err)
{
    if (H5Lexists(f, "rounds", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return NS_OK; /* no per-move table: the section says so */
    }
    hid_t rt = rounds_type(), rd = -1;
    hsize_t rn = 0;
    jcursor jc = {.dset = -1, .type = ids_type()};
    rrow *rb = NULL;
    cjob cj;
    memset(&cj, 0, sizeof cj);
    ns_status st = ns_scan_open_table(f, a->path, "rounds", rt, &rd, &rn, err);
    if (!st)
        st = ns_scan_open_table(f, a->path, "jobs", jc.type, &jc.dset, &jc.rows, err);
    if (!st) {
        rb = ns_xmalloc(NS_SCAN_CHUNK_ROWS * sizeof *rb);
        jc.buf = ns_xmalloc(NS_SCAN_CHUNK_ROWS * sizeof *jc.buf);
        a->has_rounds = 1;
    }
    for (hsize_t start = 0; !st && start < rn; start += NS_SCAN_CHUNK_ROWS) {
        hsize_t n = rn - start < NS_SCAN_CHUNK_ROWS ? rn - start : NS_SCAN_CHUNK_ROWS;
        if (ns_scan_read_rows(rd, rt, start, n, rb) < 0) {
            st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot read /rounds rows %llu..%llu",
                            a->path, (unsigned long long)start,
                            (unsigned long long)(start + n));
            break;
        }
        for (hsize_t i = 0; !st && i < n; i++) {
            const rrow *r = &rb[i];
            if (!cj.active || r->job_id != cj.id) {
                if (cj.active && r->job_id < cj.id) {
                    st = ns_fail(err, NS_ERR_CORRUPT, "%s: /rounds is not sorted by job_id "
                                 "(row %llu)", a->path, (unsigned long long)(start + i));
                    break;
                }
                cj_finish(a, &cj);
                series g = cj.gaps, o0 = cj.offers[0], o1 = cj.offers[1];
                memset(&cj, 0, sizeof cj);
                cj.gaps = g;
                cj.offers[0] = o0;
                cj.offers[1] = o1;
                cj.gaps.n = cj.offers[0].n = cj.offers[1].n = 0;
                cj.active = 1;
                cj.id = r->job_id;
                const idrow *jr;
                st = jc_seek(&jc, r->job_id, &jr, a->path, err);
                if (!st && jr) {
                    cj.lv[0] = level_find(&a->ax[0], jr->btac);
                    cj.lv[1] = level_find(&a->ax[2], jr->stac);
                }
            }
            if (!st)
                cj_row(&cj, r);
        }
    }
    if (!st)
        cj_finish(a, &cj);
    free(cj.gaps.x);
    free(cj.gaps.y);
    for (int s = 0; s < 2; s++) {
        free(cj.offers[s].x);
        free(cj.offers[s].y);
    }
    free(rb);
    free(jc.buf);
    if (rd >= 0)
        H5Dclose(rd);
    if (jc.dset >= 0)
        H5Dclose(jc.dset);
    H5Tclose(rt);
    H5Tclose(jc.type);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* Medians, quartiles and the Kaplan-Meier curve of each tactic level. */
static ns_status conv_stats(analysis *a, ns_error *err)
{
    for (int k = 0; k < N_AXES; k += 2) {
        axis *ax = &a->ax[k];
        for (size_t i = 0; i < ax->n; i++) {
            level *l = &ax->lv[i];
            l->beta_med = l->beta_q25 = l->beta_q75 = NAN;
            if (l->beta.n) {
                gsl_sort(l->beta.x, 1, l->beta.n);
                l->beta_med = gsl_stats_median_from_sorted_data(l->beta.x, 1, l->beta.n);
                l->beta_q25 = gsl_stats_quantile_from_sorted_data(l->beta.x, 1, l->beta.n, 0.25);
                l->beta_q75 = gsl_stats_quantile_from_sorted_data(l->beta.x, 1, l->beta.n, 0.75);
            }
            l->agree_mean = l->agree_median = NAN;
            if (l->agree_n) {
                l->agree_mean = l->agree_sum / (double)l->agree_n;
                /* median of the histogram: the mean of the order statistics
                 * (n-1)/2 and n/2 (0-based) */
                uint64_t lo = (l->agree_n - 1) / 2, hi = l->agree_n / 2, seen = 0;
                double vlo = NAN, vhi = NAN;
                for (size_t r = 0; r < l->agree_len; r++) {
                    uint64_t c = l->agree_hist[r];
                    if (isnan(vlo) && lo < seen + c)
                        vlo = (double)r;
                    if (isnan(vhi) && hi < seen + c)
                        vhi = (double)r;
                    seen += c;
                }
                l->agree_median = (vlo + vhi) / 2;
            }
            size_t T = a->max_rounds > 0 ? (size_t)a->max_rounds : 0;
            l->still_open = ns_xcalloc(T ? T : 1, sizeof *l->still_open);
            for (size_t r = 0; r < T; r++)
                l->still_open[r] = 1;
            if (l->surv.n == 0 || T == 0)
                continue;
            double *t = ns_xmalloc(l->surv.n * sizeof *t);
            int *ev = ns_xmalloc(l->surv.n * sizeof *ev);
            for (size_t j = 0; j < l->surv.n; j++) {
                t[j] = l->surv.x[2 * j];
                ev[j] = l->surv.x[2 * j + 1] != 0;
            }
            ns_km *km = NULL;
            ns_status st = ns_km_compute(t, ev, l->surv.n, &km, err);
            free(t);
            free(ev);
            if (st)
                return st;
            size_t j = 0;
            double s = 1;
            for (size_t r = 1; r <= T; r++) {
                while (j < km->n && km->time[j] <= (double)r)
                    s = km->surv[j++];
                l->still_open[r - 1] = s;
            }
            ns_km_free(km);
        }
    }
    return NS_OK;
}

static double share(uint64_t k, const level *l)
{
    uint64_t n = l->c_conv + l->c_stall + l->c_div;
    return n ? (double)k / (double)n : NAN;
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

static void write_convergence_csv(const analysis *a, FILE *f)
{
    fputs("axis,level,n,negotiations_fitted,converging,stalling,diverging,skipped,unfitted,"
          "share_converging,share_stalling,share_diverging,beta_n,beta_median,beta_q25,"
          "beta_q75,deals,rounds_to_agreement_mean,rounds_to_agreement_median,round,"
          "still_open\n", f);
    for (int k = 0; k < N_AXES; k += 2) {
        const axis *ax = &a->ax[k];
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            for (int r = 1; r <= a->max_rounds; r++) {
                fprintf(f, "%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                        ",%" PRIu64 ",%" PRIu64, ax->name, l->name, l->n,
                        l->c_conv + l->c_stall + l->c_div, l->c_conv, l->c_stall, l->c_div,
                        l->c_skip, l->c_unfit);
                csv_num(f, share(l->c_conv, l));
                csv_num(f, share(l->c_stall, l));
                csv_num(f, share(l->c_div, l));
                fprintf(f, ",%" PRIu64, l->beta.seen);
                csv_num(f, l->beta_med);
                csv_num(f, l->beta_q25);
                csv_num(f, l->beta_q75);
                fprintf(f, ",%" PRIu64, l->agree_n);
                csv_num(f, l->agree_mean);
                csv_num(f, l->agree_median);
                fprintf(f, ",%d", r);
                csv_num(f, l->still_open[r - 1]);
                fputc('\n', f);
            }
        }
    }
}

/* The still-open fraction at a few rounds, as "r1 0.97, ...". */
static void km_points(const analysis *a, const level *l, char *buf, size_t size)
{
    int T = a->max_rounds, pts[4] = {1, (T + 3) / 4, (T + 1) / 2, T};
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 4 && T > 0; i++) {
        if (i && pts[i] <= pts[i - 1])
            continue;
        int w = snprintf(buf + used, size - used, "%sr%d %.3f", used ? ", " : "", pts[i],
                         l->still_open[pts[i] - 1]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

static void write_convergence_report(const analysis *a, FILE *f)
{
    fprintf(f, "## Convergence\n\n");
    if (!a->has_rounds) {
        fprintf(f, "This file has no `/rounds` table: no convergence analysis.\n\n");
        return;
    }
    fprintf(f, "- Offer gap: |u_buyer of the buyer's latest offer - u_buyer of the seller's "
            "latest offer| at the end of each round, divided by that gap once both had "
            "offered (as `negsim plot`); 0 at the round of an accept. Per negotiation with at "
            "least 3 gap points, gap(round) = a·exp(-k·round) is fitted (nonlinear least "
            "squares): converging when k - 1.96·se(k) > 0, diverging when k + 1.96·se(k) < 0, "
            "else stalling. Skipped: fewer than 3 points or opened in agreement; unfitted: "
            "the fit failed. Shares are of the fitted negotiations.\n"
            "- Concession exponent beta: per negotiation and side, u = a - (a - r)·τ^(1/β) "
            "fitted to the side's own utility of its offers at τ = t/T (t: its move number, "
            "T = max_rounds = %d), a = its first offer, r = its last offer (skipped when not "
            "lower, or with fewer than 3 offers). Boulware β < 1, conceder β > 1. Median and "
            "interquartile range over a reservoir sample of at most %d per level.\n"
            "- Rounds to agreement: deals only. Still open: Kaplan-Meier fraction of "
            "negotiations not yet ended after each round (event: agreement or walk-away at its "
            "round; impasse censored), from a sample of at most %d per level; all rounds in "
            "`convergence.csv`.\n"
            "- %" PRIu64 " negotiations followed through `/rounds`.\n\n",
            a->max_rounds, RES_CAP, RES_CAP, a->conv_jobs);
    for (int k = 0; k < N_AXES; k += 2) {
        const axis *ax = &a->ax[k];
        fprintf(f, "### %s\n\n", ax->name);
        fprintf(f, "| level | n | fitted | converging | stalling | diverging | skipped | "
                "unfitted | β median [IQR] (n) | rounds to agreement mean / median | "
                "still open |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            char km[128];
            km_points(a, l, km, sizeof km);
            fprintf(f, "| %s | %" PRIu64 " | %" PRIu64 " | %.3f | %.3f | %.3f | %" PRIu64
                    " | %" PRIu64 " | ", l->name, l->n, l->c_conv + l->c_stall + l->c_div,
                    share(l->c_conv, l), share(l->c_stall, l), share(l->c_div, l), l->c_skip,
                    l->c_unfit);
            if (l->beta.n)
                fprintf(f, "%.3f [%.3f, %.3f] (%" PRIu64 ")", l->beta_med, l->beta_q25,
                        l->beta_q75, l->beta.seen);
            else
                fputs("–", f);
            if (l->agree_n)
                fprintf(f, " | %.2f / %.1f", l->agree_mean, l->agree_median);
            else
                fputs(" | –", f);
            fprintf(f, " | %s |\n", km);
        }
        fputc('\n', f);
    }
}

static void print_convergence(const analysis *a, FILE *out)
{
    if (!a->has_rounds)
        return;
    fprintf(out, "\nconvergence (shares of fitted negotiations; beta: median concession "
            "exponent of that side)\n");
    for (int k = 0; k < N_AXES; k += 2) {
        const axis *ax = &a->ax[k];
        fprintf(out, "  %-20s %8s %6s %6s %6s %8s %9s\n", ax->name, "fitted", "conv",
                "stall", "div", "beta", "rounds");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            fprintf(out, "  %-20s %8" PRIu64 " %6.3f %6.3f %6.3f %8.3f %9.2f\n", l->name,
                    l->c_conv + l->c_stall + l->c_div, share(l->c_conv, l),
                    share(l->c_stall, l), share(l->c_div, l), l->beta_med, l->agree_mean);
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
        write_convergence_report(a, o.f);
        st = out_close(&o, err);
    }
    if (!st && !(st = out_open(&o, dir, "convergence.csv", err))) {
        write_convergence_csv(a, o.f);
        st = out_close(&o, err);
    }
    if (!st && out) {
        print_headline(a, out);
        print_convergence(a, out);
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
            free(a->ax[k].lv[i].beta.x);
            free(a->ax[k].lv[i].surv.x);
            free(a->ax[k].lv[i].agree_hist);
            free(a->ax[k].lv[i].still_open);
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
        if (!st && (!attr_int(f, "max_rounds", &a->max_rounds) || a->max_rounds < 1))
            a->max_rounds = a->max_seen;
        if (!st)
            st = scan_rounds(a, f, err);
        H5Fclose(f);
    }
    if (!st)
        st = level_stats(a, err);
    if (!st)
        st = conv_stats(a, err);
    if (!st) {
        fit_model(a, &a->ols, 1, N_TRAITS + 1, 0);
        fit_model(a, &a->logit, 0, N_TRAITS, 1);
        st = write_outputs(a, dir, out, err);
    }
    analysis_free(a);
    free(a);
    return st;
}
