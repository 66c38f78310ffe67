/*
 * ns_analyze.c - `negsim analyze` (see ns_analyze.h).
 *
 * The two tables are streamed by ns_scan (hyperslabs of rows, row i of
 * /jobs and /outcomes checked to carry the same job_id) through memory
 * compound types holding only the columns used; the optional columns of
 * LLM runs (models, cost, tokens, judge scores) are added to those types
 * only when the file's own types have them (H5Tget_member_index), so one
 * reader serves files with and without them.
 *
 * Every output table is built once as a `table` (named, typed columns and
 * packed rows) and then written twice: as CSV and as a 1-D compound
 * dataset of /analysis, so the two cannot disagree. /analysis is written
 * into a copy of the results file (reflink when the file system has it)
 * that is synced and renamed over the original: a reader sees the old file
 * or the new one, and the run's tables are copied bytes.
 *
 * Speed on large files (bench_1m): the /rounds pass fits two curves per
 * negotiation (gap decay, Faratin beta), millions of them. It reads a
 * chunk, queues the chunk's finished negotiations, fits each distinct new
 * input once (a bounded memo keyed by the exact input bytes) as OpenMP
 * tasks (one ns_fitter per thread), then files the results on one thread
 * in job order. The bootstrap intervals, which need only the first pass,
 * run as tasks of the same team meanwhile. Every number, including what
 * the RNG-driven reservoirs keep, is the same whatever the thread count.
 */
#define _GNU_SOURCE /* copy_file_range */
#include "ns_fs.h"
#include "ns_analyze.h"
#include "ns_config.h"
#include "ns_h5.h"
#include "ns_regress.h"
#include "ns_scan.h"
#include "ns_stats.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <hdf5.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define RES_CAP 100000 /* stored samples per level and metric / regression rows */
#define BY_CAP 20000   /* the same per cell of --by: cells can be many */
#define STR_LEN 33     /* S32 columns plus a NUL */
#define SHORT_LEN 13   /* S8 / S12 columns plus a NUL */
#define MODEL_LEN 65   /* S64 columns (model names, --by values) plus a NUL */
#define CELL_LEN (NS_ANALYZE_MAX_BY * MODEL_LEN + 1)
#define MAX_ROUND 100000 /* rounds beyond this are ignored by the convergence tables */
#define N_AXES 4
#define N_TRAITS 10
#define N_ROLES 3 /* buyer, seller, judge: the agents a job may have a model for */

static const char *const axis_names[N_AXES] = {"buyer_tactic", "buyer_influence",
                                               "seller_tactic", "seller_influence"};
static const char *const trait_names[N_TRAITS] = {
    "buyer_openness",  "buyer_conscientiousness",  "buyer_extraversion",
    "buyer_agreeableness",  "buyer_neuroticism", "seller_openness",
    "seller_conscientiousness", "seller_extraversion", "seller_agreeableness",
    "seller_neuroticism"};
static const char *const role_names[N_ROLES] = {"buyer", "seller", "judge"};
static const char *const model_cols[N_ROLES] = {"buyer_model", "seller_model", "judge_model"};

/* ---- tables: one definition, written as CSV and as an HDF5 dataset ------ */

#define TAB_MAXCOL 48
#define TAB_STR 64 /* string cells: at most 63 bytes, NUL-terminated */

typedef enum { T_STR, T_U64, T_F64 } tkind;

typedef struct tcol {
    const char *name; /* not owned: a literal or an option string */
    tkind kind;
    size_t off;
} tcol;

typedef struct table {
    const char *name; /* file stem and dataset name */
    tcol col[TAB_MAXCOL];
    int ncol, at;     /* columns; next column to fill */
    size_t row;       /* bytes per row */
    unsigned char *buf;
    size_t n, cap;    /* rows */
} table;

static void tab_init(table *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->name = name;
}

static void tab_col(table *t, const char *name, tkind k)
{
    assert(t->ncol < TAB_MAXCOL && t->n == 0);
    t->col[t->ncol].name = name;
    t->col[t->ncol].kind = k;
    t->col[t->ncol++].off = t->row;
    t->row += k == T_STR ? TAB_STR : 8;
}

/* The next cell, in column order; a new zeroed row starts at column 0. */
static unsigned char *tab_next(table *t, tkind k)
{
    if (t->at == 0) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 16;
            t->buf = ns_xrealloc(t->buf, t->cap * t->row);
        }
        memset(t->buf + t->n * t->row, 0, t->row);
        t->n++;
    }
    const tcol *c = &t->col[t->at];
    assert(c->kind == k);
    (void)k;
    t->at = (t->at + 1) % t->ncol;
    return t->buf + (t->n - 1) * t->row + c->off;
}

static void tab_s(table *t, const char *s)
{
    char *dst = (char *)tab_next(t, T_STR);
    size_t n = s ? strnlen(s, TAB_STR - 1) : 0;
    if (n)
        memcpy(dst, s, n); /* the rest of the cell is zero already */
}

static void tab_u(table *t, uint64_t v)
{
    memcpy(tab_next(t, T_U64), &v, sizeof v);
}

static void tab_d(table *t, double v)
{
    memcpy(tab_next(t, T_F64), &v, sizeof v);
}

static void tab_free(table *t)
{
    free(t->buf);
    t->buf = NULL;
    t->n = t->cap = 0;
}

/* CSV: strings as they are (levels and names hold no commas), integers in
 * decimal, doubles as %.10g with "nan" for NaN. */
static void tab_write_csv(const table *t, FILE *f)
{
    for (int c = 0; c < t->ncol; c++)
        fprintf(f, "%s%s", c ? "," : "", t->col[c].name);
    fputc('\n', f);
    for (size_t i = 0; i < t->n; i++) {
        const unsigned char *r = t->buf + i * t->row;
        for (int c = 0; c < t->ncol; c++) {
            const unsigned char *p = r + t->col[c].off;
            if (c)
                fputc(',', f);
            if (t->col[c].kind == T_STR) {
                fputs((const char *)p, f);
            } else if (t->col[c].kind == T_U64) {
                uint64_t v;
                memcpy(&v, p, sizeof v);
                fprintf(f, "%" PRIu64, v);
            } else {
                double v;
                memcpy(&v, p, sizeof v);
                if (isnan(v))
                    fputs("nan", f);
                else
                    fprintf(f, "%.10g", v);
            }
        }
        fputc('\n', f);
    }
}

/* The row type: S64 strings, uint64, float64, packed as in the buffer. */
static hid_t tab_h5type(const table *t)
{
    hid_t ty = H5Tcreate(H5T_COMPOUND, t->row), s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, TAB_STR);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    for (int c = 0; c < t->ncol; c++)
        H5Tinsert(ty, t->col[c].name, t->col[c].off,
                  t->col[c].kind == T_STR   ? s
                  : t->col[c].kind == T_U64 ? H5T_NATIVE_UINT64
                                            : H5T_NATIVE_DOUBLE);
    H5Tclose(s);
    return ty;
}

/* Writes `t` as the 1-D compound dataset t->name of group `g`. */
static ns_status tab_write_h5(const table *t, hid_t g, ns_error *err)
{
    hsize_t dims[1] = {t->n};
    hid_t ty = tab_h5type(t), sp = H5Screate_simple(1, dims, NULL), d = -1;
    ns_status st = NS_OK;
    if (ty < 0 || sp < 0 ||
        (d = H5Dcreate2(g, t->name, ty, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (t->n && H5Dwrite(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->buf) < 0))
        st = ns_h5_fail(err, NS_ERR_HDF5, "cannot write /analysis/%s", t->name);
    if (d >= 0 && H5Dclose(d) < 0 && !st)
        st = ns_h5_fail(err, NS_ERR_HDF5, "cannot write /analysis/%s", t->name);
    if (sp >= 0)
        H5Sclose(sp);
    if (ty >= 0)
        H5Tclose(ty);
    return st;
}

/* ---- rows as read ------------------------------------------------------ */

typedef struct jrow {
    uint64_t job_id;
    double trait[N_TRAITS];
    char axis[N_AXES][STR_LEN];
    char model[N_ROLES][MODEL_LEN];    /* LLM runs only */
    char by[NS_ANALYZE_MAX_BY][MODEL_LEN]; /* --by columns not read otherwise */
} jrow;

typedef struct orow {
    uint64_t job_id;
    int8_t deal;
    int32_t rounds;
    char ending[SHORT_LEN];
    double u_buyer, u_seller, joint, share_buyer, share_seller;
    /* LLM runs only (has_cost) */
    double cost, role_cost[N_ROLES], latency;
    int64_t in_tok, out_tok;
    int32_t requests, cache_hits, retries, repairs, invalid;
    char error[17];
    /* LLM runs with a judge only (has_judge): buyer, seller x influencing, tactic */
    double score[2][2];
} orow;

static const char *const cost_cols[] = {"cost_usd", "buyer_cost_usd", "seller_cost_usd",
                                        "judge_cost_usd", "input_tokens", "output_tokens",
                                        "requests", "cache_hits", "retries", "repairs",
                                        "invalid_outputs", "latency_ms", "error"};
static const char *const score_cols[2][2] = {
    {"buyer_influencing_score", "buyer_tactic_score"},
    {"seller_influencing_score", "seller_tactic_score"}};
static const char *const rounds_llm_cols[] = {"model", "input_tokens", "output_tokens",
                                              "latency_ms", "cached"};

static hid_t str_type(size_t n)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, n);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    return s;
}

static void insert_str(hid_t t, const char *name, size_t off, size_t n)
{
    hid_t s = str_type(n);
    H5Tinsert(t, name, off, s);
    H5Tclose(s);
}

/* Whether the table `name` of `f` has every column in `cols`. */
static int has_columns(hid_t f, const char *name, const char *const *cols, size_t n)
{
    int ok = 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d >= 0) {
        hid_t t = H5Dget_type(d);
        ok = t >= 0 && H5Tget_class(t) == H5T_COMPOUND;
        for (size_t i = 0; ok && i < n; i++)
            ok = H5Tget_member_index(t, cols[i]) >= 0;
        if (t >= 0)
            H5Tclose(t);
        H5Dclose(d);
    }
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

/* Maps the --by columns onto a row type `t` being built: a column already in
 * it is shared, any other is inserted at `by_off` + i * MODEL_LEN; offs[i]
 * gets where column i lands in the row. */
static void insert_by(hid_t t, const char *const *by, int n_by, size_t by_off, size_t *offs)
{
    for (int i = 0; i < n_by; i++) {
        int m = H5Tget_member_index(t, by[i]);
        H5Eclear2(H5E_DEFAULT);
        if (m >= 0) {
            offs[i] = H5Tget_member_offset(t, (unsigned)m);
        } else {
            offs[i] = by_off + (size_t)i * MODEL_LEN;
            insert_str(t, by[i], offs[i], MODEL_LEN);
        }
    }
}

/* ---- reservoirs -------------------------------------------------------- */

typedef struct reservoir {
    double *x;
    size_t n, alloc; /* stored values */
    size_t cap;      /* most values kept; 0 means RES_CAP */
    uint64_t seen;   /* values offered */
} reservoir;

/* Algorithm R (Vitter 1985): keeps a uniform sample of `cap` values of
 * width `w` doubles each. */
static void res_push(reservoir *r, const double *v, size_t w, gsl_rng *rng)
{
    size_t cap = r->cap ? r->cap : RES_CAP;
    r->seen++;
    if (r->n < cap) {
        if (r->n == r->alloc) {
            r->alloc = r->alloc ? 2 * r->alloc : 256;
            if (r->alloc > cap)
                r->alloc = cap;
            r->x = ns_xrealloc(r->x, r->alloc * w * sizeof(double));
        }
        memcpy(r->x + r->n * w, v, w * sizeof(double));
        r->n++;
        return;
    }
    uint64_t j = (uint64_t)(gsl_rng_uniform(rng) * (double)r->seen);
    if (j < cap)
        memcpy(r->x + j * w, v, w * sizeof(double));
}

/* ---- per-level accumulators -------------------------------------------- */

/* One measure of one level: exact running mean, a sample for the interval
 * and the tests, and the comparison with `none` of the same axis. */
typedef struct metric {
    uint64_t n;
    double sum;
    reservoir r;
    double mean, lo, hi;       /* mean, bootstrap 95% interval */
    double diff, dlo, dhi;     /* vs none: difference, Welch 95% interval */
    double g, p, q;            /* Hedges' g, Welch p, BH q */
    int has_p;
} metric;

/* own utility, surplus share, joint utility; judge scores (influencing,
 * tactic) of the side using the level */
enum { M_OWN, M_SHARE, M_JOINT, M_INFL, M_TACT, N_MET };

typedef struct level {
    char name[STR_LEN];
    char cell[CELL_LEN];       /* --by values joined by \x1f; "" without --by */
    uint64_t n, deals;
    metric m[N_MET];
    double rate, rate_lo, rate_hi;
    int has_cmp;               /* a comparison with `none` was attempted */
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
    ns_km *km;                 /* the curve itself, for /analysis/survival */
} level;

typedef struct axis {
    const char *name;
    int buyer;                 /* the side using it */
    level *lv;
    size_t n, alloc;
    size_t *idx;               /* level indices sorted by (cell, name) */
    size_t cap;                /* reservoir cap of its levels (0: RES_CAP) */
} axis;

static int level_cmp(const level *l, const char *cell, const char *name)
{
    int c = strcmp(l->cell, cell);
    return c ? c : strcmp(l->name, name);
}

/* Binary search of the sorted index: the position of (cell, name) or where
 * it would go. */
static size_t axis_pos(const axis *a, const char *cell, const char *name, int *found)
{
    size_t lo = 0, hi = a->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = level_cmp(&a->lv[a->idx[mid]], cell, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static level *level_find(const axis *a, const char *cell, const char *name)
{
    int found;
    size_t pos = axis_pos(a, cell, name, &found);
    return found ? &a->lv[a->idx[pos]] : NULL;
}

/* The level (cell, name) of `a`, created on first sight; levels keep the
 * order in which they were first seen. */
static level *axis_level(axis *a, const char *cell, const char *name)
{
    int found;
    size_t pos = axis_pos(a, cell, name, &found);
    if (found)
        return &a->lv[a->idx[pos]];
    if (a->n == a->alloc) {
        a->alloc = a->alloc ? 2 * a->alloc : 8;
        a->lv = ns_xrealloc(a->lv, a->alloc * sizeof *a->lv);
        a->idx = ns_xrealloc(a->idx, a->alloc * sizeof *a->idx);
    }
    memmove(a->idx + pos + 1, a->idx + pos, (a->n - pos) * sizeof *a->idx);
    a->idx[pos] = a->n;
    level *l = &a->lv[a->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->cell, sizeof l->cell, "%s", cell);
    for (int m = 0; m < N_MET; m++)
        l->m[m].r.cap = a->cap;
    l->beta.cap = l->surv.cap = a->cap;
    return l;
}

static void metric_add(metric *m, double v, gsl_rng *rng)
{
    m->n++;
    m->sum += v;
    res_push(&m->r, &v, 1, rng);
}

/* ---- cost and quality per agent model (LLM runs) ----------------------- */

typedef struct costrow {
    int role;                  /* 0 buyer, 1 seller, 2 judge */
    char model[MODEL_LEN];
    uint64_t jobs, deals, share_n, cost_n, errors;
    double share_sum, cost_sum;
    double requests, cache_hits, retries, repairs, invalid; /* job totals, summed */
    uint64_t turns;            /* /rounds rows of this side and model */
    double in_tok, out_tok;    /* ... their tokens */
    reservoir lat;             /* ... their latency_ms */
    double p50, p90, p99;
} costrow;

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
    axis ax[N_AXES];           /* per level */
    axis bx[N_AXES];           /* per --by cell and level (n_by > 0) */
    const char *by[NS_ANALYZE_MAX_BY];
    int n_by;
    char by_list[NS_ANALYZE_MAX_BY * MODEL_LEN]; /* the --by option, split in place */
    size_t by_off_j[NS_ANALYZE_MAX_BY], by_off_id[NS_ANALYZE_MAX_BY]; /* in jrow, idrow */
    int has_models, has_cost, has_judge, has_rllm; /* optional column groups */
    costrow *cost;
    size_t n_cost;
    reservoir reg;             /* rows: 10 traits, deal, buyer share */
    gsl_rng *rng;
    model ols, logit;
    char created[64], spec_name[256], now[32], state[32];
    int max_rounds;            /* T: root attribute, else the largest `rounds` seen */
    int max_seen;
    int has_rounds;            /* the /rounds pass ran */
    uint64_t conv_jobs;        /* negotiations followed through /rounds */
    int h5_written;            /* /analysis was written */
} analysis;

#define REG_W (N_TRAITS + 2)

static hid_t jobs_type(analysis *a)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(jrow));
    H5Tinsert(t, "job_id", HOFFSET(jrow, job_id), H5T_NATIVE_UINT64);
    for (int i = 0; i < N_TRAITS; i++)
        H5Tinsert(t, trait_names[i], HOFFSET(jrow, trait) + (size_t)i * sizeof(double),
                  H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N_AXES; i++)
        insert_str(t, axis_names[i], HOFFSET(jrow, axis) + (size_t)i * STR_LEN, STR_LEN);
    for (int i = 0; a->has_models && i < N_ROLES; i++)
        insert_str(t, model_cols[i], HOFFSET(jrow, model) + (size_t)i * MODEL_LEN, MODEL_LEN);
    insert_by(t, a->by, a->n_by, HOFFSET(jrow, by), a->by_off_j);
    return t;
}

static hid_t outcomes_type(const analysis *a)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(orow));
    H5Tinsert(t, "job_id", HOFFSET(orow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "deal", HOFFSET(orow, deal), H5T_NATIVE_INT8);
    H5Tinsert(t, "rounds", HOFFSET(orow, rounds), H5T_NATIVE_INT32);
    insert_str(t, "ending", HOFFSET(orow, ending), SHORT_LEN);
    H5Tinsert(t, "u_buyer", HOFFSET(orow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", HOFFSET(orow, u_seller), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "joint_utility", HOFFSET(orow, joint), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "surplus_share_buyer", HOFFSET(orow, share_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "surplus_share_seller", HOFFSET(orow, share_seller), H5T_NATIVE_DOUBLE);
    if (a->has_cost) {
        H5Tinsert(t, "cost_usd", HOFFSET(orow, cost), H5T_NATIVE_DOUBLE);
        for (int r = 0; r < N_ROLES; r++)
            H5Tinsert(t, cost_cols[1 + r], HOFFSET(orow, role_cost) + (size_t)r * sizeof(double),
                      H5T_NATIVE_DOUBLE);
        H5Tinsert(t, "input_tokens", HOFFSET(orow, in_tok), H5T_NATIVE_INT64);
        H5Tinsert(t, "output_tokens", HOFFSET(orow, out_tok), H5T_NATIVE_INT64);
        H5Tinsert(t, "requests", HOFFSET(orow, requests), H5T_NATIVE_INT32);
        H5Tinsert(t, "cache_hits", HOFFSET(orow, cache_hits), H5T_NATIVE_INT32);
        H5Tinsert(t, "retries", HOFFSET(orow, retries), H5T_NATIVE_INT32);
        H5Tinsert(t, "repairs", HOFFSET(orow, repairs), H5T_NATIVE_INT32);
        H5Tinsert(t, "invalid_outputs", HOFFSET(orow, invalid), H5T_NATIVE_INT32);
        H5Tinsert(t, "latency_ms", HOFFSET(orow, latency), H5T_NATIVE_DOUBLE);
        insert_str(t, "error", HOFFSET(orow, error), sizeof(((orow *)0)->error));
    }
    for (int s = 0; a->has_judge && s < 2; s++)
        for (int k = 0; k < 2; k++)
            H5Tinsert(t, score_cols[s][k],
                      HOFFSET(orow, score) + (size_t)(2 * s + k) * sizeof(double),
                      H5T_NATIVE_DOUBLE);
    return t;
}

/* The --by cell of a row: its values at offs[], joined by \x1f. */
static void cell_key(const analysis *a, const void *row, const size_t *offs, char *key)
{
    size_t used = 0;
    key[0] = '\0';
    for (int i = 0; i < a->n_by; i++) {
        int w = snprintf(key + used, CELL_LEN - used, "%s%s", i ? "\x1f" : "",
                         (const char *)row + offs[i]);
        if (w > 0)
            used += (size_t)w < CELL_LEN - used ? (size_t)w : CELL_LEN - used - 1;
    }
}

static costrow *cost_row(analysis *a, int role, const char *name)
{
    for (size_t i = 0; i < a->n_cost; i++)
        if (a->cost[i].role == role && strcmp(a->cost[i].model, name) == 0)
            return &a->cost[i];
    a->cost = ns_xrealloc(a->cost, (a->n_cost + 1) * sizeof *a->cost);
    costrow *c = &a->cost[a->n_cost++];
    memset(c, 0, sizeof *c);
    c->role = role;
    snprintf(c->model, sizeof c->model, "%s", name);
    return c;
}

static void add_cost(analysis *a, const jrow *j, const orow *o)
{
    for (int r = 0; r < N_ROLES; r++) {
        if (!j->model[r][0])
            continue; /* a built-in agent: no model, no cost */
        costrow *c = cost_row(a, r, j->model[r]);
        c->jobs++;
        c->deals += o->deal != 0;
        double share = r == 0 ? o->share_buyer : o->share_seller;
        if (r < 2 && o->deal && isfinite(share)) {
            c->share_n++;
            c->share_sum += share;
        }
        if (isfinite(o->role_cost[r])) {
            c->cost_n++;
            c->cost_sum += o->role_cost[r];
        }
        c->errors += o->error[0] != '\0';
        c->requests += o->requests;
        c->cache_hits += o->cache_hits;
        c->retries += o->retries;
        c->repairs += o->repairs;
        c->invalid += o->invalid;
    }
}

/* One job into the levels of one axis set (`set` is a->ax or a->bx). */
static void add_to_set(analysis *a, axis *set, const char *cell, const jrow *j, const orow *o)
{
    for (int k = 0; k < N_AXES; k++) {
        axis *ax = &set[k];
        level *l = axis_level(ax, cell, j->axis[k]);
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
        metric_add(&l->m[M_OWN], own, a->rng);
        metric_add(&l->m[M_JOINT], joint, a->rng);
        if (o->deal && isfinite(share))
            metric_add(&l->m[M_SHARE], share, a->rng);
        if (a->has_judge) {
            const double *sc = o->score[ax->buyer ? 0 : 1];
            if (isfinite(sc[0]))
                metric_add(&l->m[M_INFL], sc[0], a->rng);
            if (isfinite(sc[1]))
                metric_add(&l->m[M_TACT], sc[1], a->rng);
        }
    }
}

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
    add_to_set(a, a->ax, "", j, o);
    if (a->n_by) {
        char key[CELL_LEN];
        cell_key(a, j, a->by_off_j, key);
        add_to_set(a, a->bx, key, j, o);
    }
    if (a->has_cost && a->has_models)
        add_cost(a, j, o);
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

/* Which optional columns the file has, and whether every --by axis is a
 * string column of /jobs; NS_ERR_USAGE naming the valid ones if not. */
static ns_status detect_columns(analysis *a, hid_t f, ns_error *err)
{
    a->has_models = has_columns(f, "jobs", model_cols, N_ROLES);
    a->has_cost = has_columns(f, "outcomes", cost_cols, sizeof cost_cols / sizeof *cost_cols);
    a->has_judge = has_columns(f, "outcomes", &score_cols[0][0], 4);
    a->has_rllm = has_columns(f, "rounds", rounds_llm_cols,
                              sizeof rounds_llm_cols / sizeof *rounds_llm_cols);
    if (!a->n_by)
        return NS_OK;
    char valid[2048] = "";
    size_t used = 0;
    int bad = -1;
    hid_t d = H5Dopen2(f, "jobs", H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : -1;
    int nm = t >= 0 ? H5Tget_nmembers(t) : 0;
    for (int i = 0; i < nm; i++) {
        hid_t mt = H5Tget_member_type(t, (unsigned)i);
        char *name = H5Tget_member_name(t, (unsigned)i);
        if (mt >= 0 && name && H5Tget_class(mt) == H5T_STRING && used < sizeof valid) {
            int w = snprintf(valid + used, sizeof valid - used, "%s%s", used ? ", " : "", name);
            if (w > 0)
                used += (size_t)w;
        }
        if (mt >= 0)
            H5Tclose(mt);
        H5free_memory(name);
    }
    for (int i = 0; bad < 0 && i < a->n_by; i++) {
        int m = t >= 0 ? H5Tget_member_index(t, a->by[i]) : -1;
        hid_t mt = m >= 0 ? H5Tget_member_type(t, (unsigned)m) : -1;
        if (mt < 0 || H5Tget_class(mt) != H5T_STRING)
            bad = i;
        if (mt >= 0)
            H5Tclose(mt);
    }
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    if (bad >= 0)
        return ns_fail(err, NS_ERR_USAGE, "unknown --by axis '%s' (valid /jobs columns: %s)",
                       a->by[bad], valid);
    return NS_OK;
}

static ns_status scan(analysis *a, hid_t f, ns_error *err)
{
    hid_t jt = jobs_type(a), ot = outcomes_type(a);
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
    /* LLM runs only (has_rllm) */
    char model[MODEL_LEN];
    int32_t in_tok, out_tok;
    double latency;
    int8_t cached;
} rrow;

typedef struct idrow {
    uint64_t job_id;
    char tac[2][STR_LEN];      /* buyer_tactic, seller_tactic */
    char by[NS_ANALYZE_MAX_BY][MODEL_LEN];
} idrow;

static hid_t rounds_type(const analysis *a)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(rrow));
    H5Tinsert(t, "job_id", HOFFSET(rrow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "round", HOFFSET(rrow, round), H5T_NATIVE_INT32);
    insert_str(t, "speaker", HOFFSET(rrow, speaker), SHORT_LEN);
    insert_str(t, "action", HOFFSET(rrow, action), SHORT_LEN);
    H5Tinsert(t, "u_buyer", HOFFSET(rrow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", HOFFSET(rrow, u_seller), H5T_NATIVE_DOUBLE);
    if (a->has_rllm) {
        insert_str(t, "model", HOFFSET(rrow, model), MODEL_LEN);
        H5Tinsert(t, "input_tokens", HOFFSET(rrow, in_tok), H5T_NATIVE_INT32);
        H5Tinsert(t, "output_tokens", HOFFSET(rrow, out_tok), H5T_NATIVE_INT32);
        H5Tinsert(t, "latency_ms", HOFFSET(rrow, latency), H5T_NATIVE_DOUBLE);
        H5Tinsert(t, "cached", HOFFSET(rrow, cached), H5T_NATIVE_INT8);
    }
    return t;
}

static hid_t ids_type(analysis *a)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(idrow));
    H5Tinsert(t, "job_id", HOFFSET(idrow, job_id), H5T_NATIVE_UINT64);
    insert_str(t, "buyer_tactic", HOFFSET(idrow, tac), STR_LEN);
    insert_str(t, "seller_tactic", HOFFSET(idrow, tac) + STR_LEN, STR_LEN);
    insert_by(t, a->by, a->n_by, HOFFSET(idrow, by), a->by_off_id);
    return t;
}

/* One /rounds row of an LLM agent into its model's cost row. */
static void cost_turn(analysis *a, const rrow *r)
{
    int role = strcmp(r->speaker, "buyer") == 0 ? 0 : strcmp(r->speaker, "seller") == 0 ? 1 : -1;
    if (role < 0 || !r->model[0])
        return;
    for (size_t i = 0; i < a->n_cost; i++) {
        costrow *c = &a->cost[i];
        if (c->role != role || strcmp(c->model, r->model) != 0)
            continue;
        c->turns++;
        c->in_tok += r->in_tok;
        c->out_tok += r->out_tok;
        if (isfinite(r->latency))
            res_push(&c->lat, &r->latency, 1, a->rng);
        return;
    }
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
    level *lv[4];        /* buyer_tactic, seller_tactic level, the same of the
                            job's --by cell; NULL: unknown or no --by */
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

/* ---- fit memo: identical fit inputs are fitted once ----------------------- */

/* Built-in tactics repeat themselves: on a large sweep most negotiations
 * hand the fits exactly the same points as an earlier one (bench_1m: 47%
 * of the decay inputs and 27% of the beta inputs are distinct). A fit is a
 * deterministic function of its input bytes (ns_fitter gives a fresh
 * workspace's bits), so its outcome is remembered by those bytes, compared
 * in full (the XXH3 hash only places them), and reused bit for bit. The
 * memo is bounded (MEMO_BYTES); when full it is emptied at the end of a
 * chunk, which costs refits and changes no number. */
#define MEMO_BYTES ((size_t)64 << 20)
#define MEMO_BLOCK ((size_t)1 << 20)

/* A fit's outcome: decay, the class 0..4 (see file_pending); beta, 0
 * fitted, 1 skipped, 2 unfitted, with the estimate. -1: not fitted yet. */
typedef struct fitres {
    int res;
    double beta;
} fitres;

/* key[]: kind (0 decay, 1 beta), n, x[n], y[n], a, r, as doubles. */
typedef struct memo_entry {
    uint64_t hash;
    size_t len;                /* doubles in key */
    fitres val;
    double key[];
} memo_entry;

typedef struct memo {
    memo_entry **slot;         /* open addressing, linear probing */
    size_t cap, used;          /* slots (a power of 2), entries */
    unsigned char **block;     /* the arena the entries live in */
    size_t n_block, block_used, bytes;
} memo;

static void memo_clear(memo *m)
{
    for (size_t i = 0; i < m->n_block; i++)
        free(m->block[i]);
    free(m->block);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static void memo_grow(memo *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1 << 16;
    memo_entry **slot = ns_xcalloc(cap, sizeof *slot);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slot[i])
            continue;
        size_t k = m->slot[i]->hash & (cap - 1);
        while (slot[k])
            k = (k + 1) & (cap - 1);
        slot[k] = m->slot[i];
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
}

/* The entry of key[0..len), created (val.res = -1) when new: *fresh says
 * which. Entries stay put until memo_clear. */
static memo_entry *memo_get(memo *m, const double *key, size_t len, int *fresh)
{
    if (2 * (m->used + 1) > m->cap)
        memo_grow(m);
    uint64_t h = XXH3_64bits(key, len * sizeof *key);
    size_t k = h & (m->cap - 1);
    for (; m->slot[k]; k = (k + 1) & (m->cap - 1)) {
        memo_entry *e = m->slot[k];
        if (e->hash == h && e->len == len && memcmp(e->key, key, len * sizeof *key) == 0) {
            *fresh = 0;
            return e;
        }
    }
    size_t size = (sizeof(memo_entry) + len * sizeof *key + 15) & ~(size_t)15;
    if (m->n_block == 0 || m->block_used + size > MEMO_BLOCK) {
        m->block = ns_xrealloc(m->block, (m->n_block + 1) * sizeof *m->block);
        m->block[m->n_block++] = ns_xmalloc(size > MEMO_BLOCK ? size : MEMO_BLOCK);
        m->block_used = 0;
        m->bytes += size > MEMO_BLOCK ? size : MEMO_BLOCK;
    }
    memo_entry *e = (memo_entry *)(m->block[m->n_block - 1] + m->block_used);
    m->block_used += size;
    e->hash = h;
    e->len = len;
    e->val.res = -1;
    e->val.beta = 0;
    memcpy(e->key, key, len * sizeof *key);
    m->slot[k] = e;
    m->used++;
    *fresh = 1;
    return e;
}

/* ---- the /rounds fits, in parallel -------------------------------------- */

/* The negotiations of one /rounds chunk, queued when they end and fitted
 * together: the fits (a decay per negotiation, a Faratin beta per side)
 * are independent, so the distinct new ones run on OpenMP threads, each
 * with its own ns_fitter; filing the results into the levels (counters,
 * and the beta reservoirs, whose draws use the one RNG) then happens on
 * one thread in job order, interleaved with the chunk's other RNG users
 * exactly as a sequential pass would. No number depends on the thread
 * count. */
typedef struct pending {
    level *lv[4];              /* as in cjob */
    hsize_t at;                /* filed after the chunk's row `at` is read */
    const fitres *fr[3];       /* decay, buyer beta, seller beta: in the memo, */
    fitres imm[3];             /* or, when NULL, decided without a fit here */
} pending;

typedef struct batch {
    pending *p;
    size_t n, cap;
    memo_entry **fit;          /* the new distinct inputs to fit */
    size_t n_fit, fit_cap;
    double *key;               /* scratch for building a key */
    size_t key_cap;
    memo memo;
} batch;

/* Points q->fr[i] at the memo entry of this input, queueing a fit when
 * the input is new. */
static void queue_fit(batch *b, pending *q, int i, int kind, const double *x, const double *y,
                      size_t n, double a, double r)
{
    size_t len = 2 * n + 4;
    if (b->key_cap < len) {
        b->key_cap = 2 * len;
        b->key = ns_xrealloc(b->key, b->key_cap * sizeof *b->key);
    }
    b->key[0] = kind;
    b->key[1] = (double)n;
    memcpy(b->key + 2, x, n * sizeof *x);
    memcpy(b->key + 2 + n, y, n * sizeof *y);
    b->key[2 + 2 * n] = a;
    b->key[3 + 2 * n] = r;
    int fresh;
    memo_entry *e = memo_get(&b->memo, b->key, len, &fresh);
    q->fr[i] = &e->val;
    if (!fresh)
        return;
    if (b->n_fit == b->fit_cap) {
        b->fit_cap = b->fit_cap ? 2 * b->fit_cap : 1024;
        b->fit = ns_xrealloc(b->fit, b->fit_cap * sizeof *b->fit);
    }
    b->fit[b->n_fit++] = e;
}

/* Queues the negotiation followed in `c`, to be filed after row `at`. */
static void cj_finish(analysis *a, cjob *c, batch *b, hsize_t at)
{
    if (!c->active)
        return;
    c->active = 0;
    if (!c->ended)
        cj_close_round(c);
    if (!c->lv[0] && !c->lv[1] && !c->lv[2] && !c->lv[3])
        return;
    a->conv_jobs++;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->p = ns_xrealloc(b->p, b->cap * sizeof *b->p);
    }
    pending *q = &b->p[b->n++];
    memset(q, 0, sizeof *q);
    memcpy(q->lv, c->lv, sizeof q->lv);
    q->at = at;
    if (!c->opened || c->flat || c->gaps.n < 3)
        q->imm[0].res = 3;
    else
        queue_fit(b, q, 0, 0, c->gaps.x, c->gaps.y, c->gaps.n, 0, 0);
    for (int s = 0; s < 2; s++) {
        /* this side's Faratin beta */
        series *o = &c->offers[s];
        double T = (double)a->max_rounds;
        q->imm[1 + s].res = 1; /* skipped, unless fitted */
        if (o->n < 3 || a->max_rounds < 1)
            continue;
        double first = o->y[0], last = o->y[o->n - 1];
        double r = last < first ? last : first;
        int ok = first != r;
        for (size_t i = 0; ok && i < o->n; i++) {
            o->x[i] /= T; /* move number -> tau = t / T */
            ok = o->x[i] > 0 && o->x[i] <= 1;
        }
        if (ok)
            queue_fit(b, q, 1 + s, 1, o->x, o->y, o->n, first, r);
    }
}

/* Runs the fit of memo entry `e` (any thread; writes only e->val). */
static void run_fit(memo_entry *e, ns_fitter *ft)
{
    size_t n = (size_t)e->key[1];
    const double *x = e->key + 2, *y = x + n;
    double a = y[n], r = y[n + 1];
    ns_error err;
    ns_curve_fit fit;
    if (e->key[0] == 0) {
        if (ns_regress_decay_with(ft, x, y, n, &fit, &err) || !isfinite(fit.k) ||
            !isfinite(fit.se_k))
            e->val.res = 4;
        else if (fit.k - 1.96 * fit.se_k > 0)
            e->val.res = 0;
        else if (fit.k + 1.96 * fit.se_k < 0)
            e->val.res = 2;
        else
            e->val.res = 1;
    } else if (ns_regress_faratin_beta_with(ft, x, y, n, a, r, &fit, &err) ||
               !isfinite(fit.k)) {
        e->val.res = 2;
    } else {
        e->val.res = 0;
        e->val.beta = fit.k;
    }
}

/* Files the fitted `q` in its levels: the decay class (0 converging,
 * 1 stalling, 2 diverging, 3 skipped, 4 unfitted) in all four, each side's
 * beta in its level and its cell's. */
static void file_pending(analysis *a, const pending *q)
{
    const fitres *fr[3];
    for (int i = 0; i < 3; i++)
        fr[i] = q->fr[i] ? q->fr[i] : &q->imm[i];
    for (int s = 0; s < 4; s++) {
        uint64_t *cnt[5];
        level *l = q->lv[s];
        if (!l)
            continue;
        cnt[0] = &l->c_conv, cnt[1] = &l->c_stall, cnt[2] = &l->c_div;
        cnt[3] = &l->c_skip, cnt[4] = &l->c_unfit;
        (*cnt[fr[0]->res])++;
    }
    for (int s = 0; s < 2; s++) {
        for (int v = s; v < 4; v += 2) {
            level *l = q->lv[v];
            if (!l)
                continue;
            if (fr[1 + s]->res == 1)
                l->b_skip++;
            else if (fr[1 + s]->res == 2)
                l->b_unfit++;
            else
                res_push(&l->beta, &fr[1 + s]->beta, 1, a->rng);
        }
    }
}

/* Fits the queued new inputs as OpenMP tasks of the team that
 * ns_analyze_run opened (the bootstrap tasks share it); each task uses
 * the fitter of the thread running it (run_fit has no scheduling point,
 * so no other task can take that fitter meanwhile). */
static void fit_batch(batch *b, ns_fitter **ft)
{
    long n = (long)b->n_fit;
#pragma omp taskloop grainsize(64) shared(b, ft)
    for (long i = 0; i < n; i++)
        run_fit(b->fit[i], ft[omp_get_thread_num()]);
    b->n_fit = 0;
}

/* Files the chunk's rows' LLM turns and its queued negotiations in the
 * order a single pass meets them: row i's turn, then what row i ended. */
static void file_chunk(analysis *a, batch *b, const rrow *rows, hsize_t n_rows)
{
    size_t k = 0;
    for (hsize_t i = 0; i < n_rows; i++) {
        if (a->n_cost)
            cost_turn(a, &rows[i]);
        for (; k < b->n && b->p[k].at == i; k++)
            file_pending(a, &b->p[k]);
    }
    for (; k < b->n; k++) /* the last negotiation, after every row */
        file_pending(a, &b->p[k]);
    b->n = 0;
    if (b->memo.bytes > MEMO_BYTES)
        memo_clear(&b->memo); /* nothing points into it any more */
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
    hid_t rt = rounds_type(a), rd = -1;
    hsize_t rn = 0;
    jcursor jc = {.dset = -1, .type = ids_type(a)};
    rrow *rb = NULL;
    cjob cj;
    memset(&cj, 0, sizeof cj);
    batch b = {0};
    int n_ft = omp_get_num_threads();
    ns_fitter **ft = ns_xmalloc((size_t)n_ft * sizeof *ft);
    for (int i = 0; i < n_ft; i++)
        ft[i] = ns_fitter_create();
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
                cj_finish(a, &cj, &b, i);
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
                    cj.lv[0] = level_find(&a->ax[0], "", jr->tac[0]);
                    cj.lv[1] = level_find(&a->ax[2], "", jr->tac[1]);
                    if (a->n_by) {
                        char key[CELL_LEN];
                        cell_key(a, jr, a->by_off_id, key);
                        cj.lv[2] = level_find(&a->bx[0], key, jr->tac[0]);
                        cj.lv[3] = level_find(&a->bx[2], key, jr->tac[1]);
                    }
                }
            }
            if (!st)
                cj_row(&cj, r);
        }
        if (!st) {
            fit_batch(&b, ft);
            file_chunk(a, &b, rb, n);
        }
    }
    if (!st) {
        cj_finish(a, &cj, &b, 0);
        fit_batch(&b, ft);
        file_chunk(a, &b, rb, 0);
    }
    for (int i = 0; i < n_ft; i++)
        ns_fitter_destroy(ft[i]);
    free(ft);
    free(b.p);
    free(b.fit);
    free(b.key);
    memo_clear(&b.memo);
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
/* Medians, quartiles and the Kaplan-Meier curve of each tactic level. */
static ns_status conv_stats_set(analysis *a, axis *set, ns_error *err)
{
    for (int k = 0; k < N_AXES; k += 2) {
        axis *ax = &set[k];
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
            ns_status st = ns_km_compute(t, ev, l->surv.n, &l->km, err);
            km = l->km;
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
        }
    }
    return NS_OK;
}


static ns_status conv_stats(analysis *a, ns_error *err)
{
    ns_status st = conv_stats_set(a, a->ax, err);
    if (!st && a->n_by)
        st = conv_stats_set(a, a->bx, err);
    return st;
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

/* m against the same metric of `none`: the difference of the exact means,
 * Hedges' g and Welch's test on the samples, and the Welch 95% interval of
 * the difference, diff -/+ t(0.975; df) sqrt(s1^2/n1 + s2^2/n2) with the
 * Welch-Satterthwaite df (gsl_cdf_tdist_Pinv). Fills `note` (may be NULL)
 * when the test cannot be made. */
static void metric_compare(metric *m, const metric *none, char *note, size_t note_size)
{
    ns_error e;
    ns_welch w;
    m->diff = m->n && none->n ? m->mean - none->mean : NAN;
    if (ns_stats_hedges_g(m->r.x, m->r.n, none->r.x, none->r.n, &m->g, &e))
        m->g = NAN;
    if (ns_stats_welch(m->r.x, m->r.n, none->r.x, none->r.n, &w, &e)) {
        if (note)
            snprintf(note, note_size, "no test: %.100s", e.msg);
        return;
    }
    m->p = w.p_value;
    m->has_p = 1;
    double v1 = gsl_stats_variance(m->r.x, 1, m->r.n);
    double v2 = gsl_stats_variance(none->r.x, 1, none->r.n);
    double se = sqrt(v1 / (double)m->r.n + v2 / (double)none->r.n);
    double tq = gsl_cdf_tdist_Pinv(0.975, w.df);
    m->dlo = m->diff - tq * se;
    m->dhi = m->diff + tq * se;
}

/* Benjamini-Hochberg q-values of metric `mi` across every level of `set`. */
static ns_status set_qvalues(axis *set, int mi, ns_error *err)
{
    size_t m = 0;
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < set[k].n; i++)
            m += set[k].lv[i].m[mi].has_p != 0;
    if (m == 0)
        return NS_OK;
    double *p = ns_xmalloc(m * sizeof *p), *q = ns_xmalloc(m * sizeof *q);
    size_t j = 0;
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < set[k].n; i++)
            if (set[k].lv[i].m[mi].has_p)
                p[j++] = set[k].lv[i].m[mi].p;
    ns_status st = ns_stats_bh_qvalues(p, m, q, err);
    j = 0;
    for (int k = 0; !st && k < N_AXES; k++)
        for (size_t i = 0; i < set[k].n; i++)
            if (set[k].lv[i].m[mi].has_p)
                set[k].lv[i].m[mi].q = q[j++];
    free(p);
    free(q);
    return st;
}

static ns_status level_stats_set(analysis *a, axis *set, ns_error *err)
{
    for (int k = 0; k < N_AXES; k++) {
        axis *ax = &set[k];
        for (size_t i = 0; i < ax->n; i++) {
            level *l = &ax->lv[i];
            ns_status st = ns_stats_wilson((long)l->deals, (long)l->n, 0.95, &l->rate_lo,
                                           &l->rate_hi, err);
            if (st)
                return st;
            l->rate = (double)l->deals / (double)l->n;
            for (int mi = 0; mi < N_MET; mi++) {
                metric *m = &l->m[mi];
                m->mean = m->n ? m->sum / (double)m->n : NAN;
                m->diff = m->dlo = m->dhi = m->g = m->p = m->q = NAN;
            }
            const level *none = level_find(ax, l->cell, "none");
            if (!none || none == l)
                continue;
            l->has_cmp = 1;
            for (int mi = 0; mi < N_MET; mi++)
                if (mi != M_JOINT)
                    metric_compare(&l->m[mi], &none->m[mi], mi == M_OWN ? l->note : NULL,
                                   sizeof l->note);
        }
    }
    ns_status st = NS_OK;
    for (int mi = 0; !st && mi < N_MET; mi++)
        if (mi != M_JOINT)
            st = set_qvalues(set, mi, err);
    return st;
}

/* The bootstrap intervals of every metric of both sets. Each resamples
 * its own reservoir with its own generator seeded by --seed, so they are
 * independent and run on OpenMP threads, the largest first. */
static int boot_cmp(const void *x, const void *y)
{
    const metric *m1 = *(metric *const *)x, *m2 = *(metric *const *)y;
    return m1->r.n < m2->r.n ? 1 : m1->r.n > m2->r.n ? -1 : 0;
}

static void boot_all(analysis *a)
{
    size_t n = 0, cap = 0;
    metric **job = NULL;
    for (int set = 0; set < 2; set++)
        for (int k = 0; k < N_AXES; k++) {
            axis *ax = set ? &a->bx[k] : &a->ax[k];
            for (size_t i = 0; i < ax->n; i++)
                for (int mi = 0; mi < N_MET; mi++) {
                    if (n == cap) {
                        cap = cap ? 2 * cap : 64;
                        job = ns_xrealloc(job, cap * sizeof *job);
                    }
                    job[n++] = &ax->lv[i].m[mi];
                }
        }
    if (n)
        qsort(job, n, sizeof *job, boot_cmp); /* order: speed only */
    for (size_t i = 0; i < n; i++) {
        metric *m = job[i];
#pragma omp task firstprivate(m) shared(a)
        boot(a, &m->r, &m->lo, &m->hi);
    }
    free(job);
}

static ns_status level_stats(analysis *a, ns_error *err)
{
    ns_status st = level_stats_set(a, a->ax, err);
    if (!st && a->n_by)
        st = level_stats_set(a, a->bx, err);
    return st;
}

/* Latency percentiles of each model's turns (gsl_sort, then
 * gsl_stats_quantile_from_sorted_data: linear interpolation). */
static void cost_stats(analysis *a)
{
    for (size_t i = 0; i < a->n_cost; i++) {
        costrow *c = &a->cost[i];
        c->p50 = c->p90 = c->p99 = NAN;
        if (!c->lat.n)
            continue;
        gsl_sort(c->lat.x, 1, c->lat.n);
        c->p50 = gsl_stats_quantile_from_sorted_data(c->lat.x, 1, c->lat.n, 0.50);
        c->p90 = gsl_stats_quantile_from_sorted_data(c->lat.x, 1, c->lat.n, 0.90);
        c->p99 = gsl_stats_quantile_from_sorted_data(c->lat.x, 1, c->lat.n, 0.99);
    }
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

/* ---- the output tables ------------------------------------------------- */

/* Value i of a --by cell key. */
static void cell_part(const char *cell, int i, char *out, size_t size)
{
    const char *p = cell;
    for (int k = 0; k < i && p; k++) {
        p = strchr(p, '\x1f');
        if (p)
            p++;
    }
    const char *e = p ? strchr(p, '\x1f') : NULL;
    snprintf(out, size, "%.*s", p ? (int)(e ? (size_t)(e - p) : strlen(p)) : 0, p ? p : "");
}

static void by_cols(const analysis *a, table *t, int with_by)
{
    for (int i = 0; with_by && i < a->n_by; i++)
        tab_col(t, a->by[i], T_STR);
}

static void by_vals(const analysis *a, table *t, const level *l, int with_by)
{
    for (int i = 0; with_by && i < a->n_by; i++) {
        char v[MODEL_LEN];
        cell_part(l->cell, i, v, sizeof v);
        tab_s(t, v);
    }
}

static void metric_vals(table *t, const metric *m, int with_n)
{
    if (with_n)
        tab_u(t, m->n);
    tab_d(t, m->mean);
    tab_d(t, m->lo);
    tab_d(t, m->hi);
}

/* effectiveness.csv's columns, in their historical order; new ones at the
 * end. With --by the cell's columns come first (effectiveness_by). */
static void build_effectiveness(const analysis *a, table *t, int with_by)
{
    static const char *const cols[] = {
        "axis", "side", "level", "n", "deals", "deal_rate", "deal_rate_lo", "deal_rate_hi",
        "own_utility_mean", "own_utility_lo", "own_utility_hi", "surplus_share_n",
        "surplus_share_mean", "surplus_share_lo", "surplus_share_hi", "joint_utility_mean",
        "joint_utility_lo", "joint_utility_hi", "diff_vs_none", "hedges_g", "welch_p", "bh_q",
        "diff_lo", "diff_hi", "share_diff_vs_none", "share_diff_lo", "share_diff_hi",
        "share_hedges_g", "share_welch_p", "share_bh_q"};
    static const tkind kinds[] = {T_STR, T_STR, T_STR, T_U64, T_U64, T_F64, T_F64, T_F64,
                                  T_F64, T_F64, T_F64, T_U64, T_F64, T_F64, T_F64, T_F64,
                                  T_F64, T_F64, T_F64, T_F64, T_F64, T_F64, T_F64, T_F64,
                                  T_F64, T_F64, T_F64, T_F64, T_F64, T_F64};
    tab_init(t, with_by ? "effectiveness_by" : "effectiveness");
    by_cols(a, t, with_by);
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], kinds[c]);
    const axis *set = with_by ? a->bx : a->ax;
    for (int k = 0; k < N_AXES; k++) {
        const axis *ax = &set[k];
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            const metric *own = &l->m[M_OWN], *sh = &l->m[M_SHARE];
            by_vals(a, t, l, with_by);
            tab_s(t, ax->name);
            tab_s(t, ax->buyer ? "buyer" : "seller");
            tab_s(t, l->name);
            tab_u(t, l->n);
            tab_u(t, l->deals);
            tab_d(t, l->rate);
            tab_d(t, l->rate_lo);
            tab_d(t, l->rate_hi);
            metric_vals(t, own, 0);
            metric_vals(t, sh, 1);
            metric_vals(t, &l->m[M_JOINT], 0);
            tab_d(t, own->diff);
            tab_d(t, own->g);
            tab_d(t, own->p);
            tab_d(t, own->q);
            tab_d(t, own->dlo);
            tab_d(t, own->dhi);
            tab_d(t, sh->diff);
            tab_d(t, sh->dlo);
            tab_d(t, sh->dhi);
            tab_d(t, sh->g);
            tab_d(t, sh->p);
            tab_d(t, sh->q);
        }
    }
}

/* The LLM judge's scores of the side using each level (has_judge). */
static void build_judge(const analysis *a, table *t)
{
    static const char *const cols[] = {"axis", "side", "level", "score", "n", "mean", "lo",
                                       "hi", "diff_vs_none", "diff_lo", "diff_hi", "hedges_g",
                                       "welch_p", "bh_q"};
    tab_init(t, "judge");
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], c < 4 ? T_STR : c == 4 ? T_U64 : T_F64);
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < a->ax[k].n; i++)
            for (int mi = M_INFL; mi <= M_TACT; mi++) {
                const level *l = &a->ax[k].lv[i];
                const metric *m = &l->m[mi];
                tab_s(t, a->ax[k].name);
                tab_s(t, a->ax[k].buyer ? "buyer" : "seller");
                tab_s(t, l->name);
                tab_s(t, mi == M_INFL ? "influencing_effectiveness" : "tactic_effectiveness");
                metric_vals(t, m, 1);
                tab_d(t, m->diff);
                tab_d(t, m->dlo);
                tab_d(t, m->dhi);
                tab_d(t, m->g);
                tab_d(t, m->p);
                tab_d(t, m->q);
            }
}

static const char *term_name(const model *md, size_t j)
{
    return j == 0 ? "intercept" : trait_names[md->kept[j - 1]];
}

/* Coefficients with 95% intervals: coef -/+ t(0.975; n - p) se for OLS,
 * coef -/+ z(0.975) se for the logistic model's Wald interval. */
static void build_regression(const analysis *a, table *t)
{
    static const char *const cols[] = {"model", "term", "status", "n", "coef", "se", "stat",
                                       "p_value", "r2", "ci_lo", "ci_hi"};
    tab_init(t, "regression");
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], c < 3 ? T_STR : c == 3 ? T_U64 : T_F64);
    const model *ms[2] = {&a->ols, &a->logit};
    for (int m = 0; m < 2; m++) {
        const model *md = ms[m];
        if (!md->fitted) {
            tab_s(t, md->name);
            tab_s(t, "");
            tab_s(t, "not fitted");
            tab_u(t, 0);
            for (int c = 0; c < 7; c++)
                tab_d(t, NAN);
            continue;
        }
        double q = m == 0 ? gsl_cdf_tdist_Pinv(0.975, (double)(md->fit.n - md->fit.p))
                          : gsl_cdf_ugaussian_Pinv(0.975);
        for (size_t j = 0; j < md->fit.p; j++) {
            tab_s(t, md->name);
            tab_s(t, term_name(md, j));
            tab_s(t, "fitted");
            tab_u(t, md->fit.n);
            tab_d(t, md->fit.coef[j]);
            tab_d(t, md->fit.se[j]);
            tab_d(t, md->fit.stat[j]);
            tab_d(t, md->fit.p_value[j]);
            tab_d(t, md->fit.r2);
            tab_d(t, md->fit.coef[j] - q * md->fit.se[j]);
            tab_d(t, md->fit.coef[j] + q * md->fit.se[j]);
        }
        for (int d = 0; d < md->n_dropped; d++) {
            char name[48];
            snprintf(name, sizeof name, "%s", md->dropped[d]);
            char *sp = strchr(name, ' ');
            if (sp)
                *sp = '\0';
            tab_s(t, md->name);
            tab_s(t, name);
            tab_s(t, strstr(md->dropped[d], "constant") ? "dropped constant"
                                                        : "dropped collinear");
            tab_u(t, md->fit.n);
            for (int c = 0; c < 7; c++)
                tab_d(t, NAN);
        }
    }
}

static void build_convergence(const analysis *a, table *t, int with_by)
{
    static const char *const cols[] = {
        "axis", "level", "n", "negotiations_fitted", "converging", "stalling", "diverging",
        "skipped", "unfitted", "share_converging", "share_stalling", "share_diverging",
        "beta_n", "beta_median", "beta_q25", "beta_q75", "deals", "rounds_to_agreement_mean",
        "rounds_to_agreement_median", "round", "still_open"};
    static const tkind kinds[] = {T_STR, T_STR, T_U64, T_U64, T_U64, T_U64, T_U64,
                                  T_U64, T_U64, T_F64, T_F64, T_F64, T_U64, T_F64,
                                  T_F64, T_F64, T_U64, T_F64, T_F64, T_U64, T_F64};
    tab_init(t, with_by ? "convergence_by" : "convergence");
    by_cols(a, t, with_by);
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], kinds[c]);
    const axis *set = with_by ? a->bx : a->ax;
    for (int k = 0; k < N_AXES; k += 2) {
        const axis *ax = &set[k];
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            for (int r = 1; r <= a->max_rounds; r++) {
                by_vals(a, t, l, with_by);
                tab_s(t, ax->name);
                tab_s(t, l->name);
                tab_u(t, l->n);
                tab_u(t, l->c_conv + l->c_stall + l->c_div);
                tab_u(t, l->c_conv);
                tab_u(t, l->c_stall);
                tab_u(t, l->c_div);
                tab_u(t, l->c_skip);
                tab_u(t, l->c_unfit);
                tab_d(t, share(l->c_conv, l));
                tab_d(t, share(l->c_stall, l));
                tab_d(t, share(l->c_div, l));
                tab_u(t, l->beta.seen);
                tab_d(t, l->beta_med);
                tab_d(t, l->beta_q25);
                tab_d(t, l->beta_q75);
                tab_u(t, l->agree_n);
                tab_d(t, l->agree_mean);
                tab_d(t, l->agree_median);
                tab_u(t, (uint64_t)r);
                tab_d(t, l->still_open[r - 1]);
            }
        }
    }
}

/* Kaplan-Meier rows of each tactic level: the event times only. */
static void build_survival(const analysis *a, table *t)
{
    static const char *const cols[] = {"axis", "level", "round", "n_risk", "n_event",
                                       "still_open", "se"};
    tab_init(t, "survival");
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], c < 2 ? T_STR : c < 5 ? T_U64 : T_F64);
    for (int k = 0; k < N_AXES; k += 2)
        for (size_t i = 0; i < a->ax[k].n; i++) {
            const level *l = &a->ax[k].lv[i];
            for (size_t j = 0; l->km && j < l->km->n; j++) {
                tab_s(t, a->ax[k].name);
                tab_s(t, l->name);
                tab_u(t, (uint64_t)l->km->time[j]);
                tab_u(t, (uint64_t)l->km->n_risk[j]);
                tab_u(t, (uint64_t)l->km->n_event[j]);
                tab_d(t, l->km->surv[j]);
                tab_d(t, sqrt(l->km->var[j]));
            }
        }
}

static double ratio(double x, double n)
{
    return n > 0 ? x / n : NAN;
}

static void build_cost(const analysis *a, table *t)
{
    static const char *const cols[] = {
        "role", "model", "jobs", "deals", "deal_rate", "surplus_share_mean", "cost_total_usd",
        "cost_mean_usd", "cost_per_deal_usd", "input_tokens_mean", "output_tokens_mean",
        "turns", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "requests_mean",
        "cache_hit_rate", "retries_mean", "repairs_mean", "invalid_outputs_mean", "errors"};
    tab_init(t, "cost");
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        tab_col(t, cols[c], c < 2 ? T_STR : c < 4 || c == 11 || c == 20 ? T_U64 : T_F64);
    for (size_t i = 0; i < a->n_cost; i++) {
        const costrow *c = &a->cost[i];
        double jobs = (double)c->jobs;
        tab_s(t, role_names[c->role]);
        tab_s(t, c->model);
        tab_u(t, c->jobs);
        tab_u(t, c->deals);
        tab_d(t, ratio((double)c->deals, jobs));
        tab_d(t, ratio(c->share_sum, (double)c->share_n));
        tab_d(t, c->cost_sum);
        tab_d(t, ratio(c->cost_sum, (double)c->cost_n));
        tab_d(t, ratio(c->cost_sum, (double)c->deals));
        tab_d(t, c->turns ? c->in_tok / jobs : NAN);
        tab_d(t, c->turns ? c->out_tok / jobs : NAN);
        tab_u(t, c->turns);
        tab_d(t, c->p50);
        tab_d(t, c->p90);
        tab_d(t, c->p99);
        tab_d(t, ratio(c->requests, jobs));
        tab_d(t, ratio(c->cache_hits, c->requests));
        tab_d(t, ratio(c->retries, jobs));
        tab_d(t, ratio(c->repairs, jobs));
        tab_d(t, ratio(c->invalid, jobs));
        tab_u(t, c->errors);
    }
}

/* Every table of this analysis, in output order. */
enum { TB_EFF, TB_REG, TB_CONV, TB_SURV, TB_JUDGE, TB_COST, TB_EFF_BY, TB_CONV_BY, N_TB };

typedef struct tables {
    table t[N_TB];
    int on[N_TB];
} tables;

static void build_tables(const analysis *a, tables *ts)
{
    memset(ts, 0, sizeof *ts);
    build_effectiveness(a, &ts->t[TB_EFF], 0);
    build_regression(a, &ts->t[TB_REG]);
    build_convergence(a, &ts->t[TB_CONV], 0);
    build_survival(a, &ts->t[TB_SURV]);
    ts->on[TB_EFF] = ts->on[TB_REG] = ts->on[TB_CONV] = ts->on[TB_SURV] = 1;
    if ((ts->on[TB_JUDGE] = a->has_judge))
        build_judge(a, &ts->t[TB_JUDGE]);
    if ((ts->on[TB_COST] = a->has_cost && a->has_models))
        build_cost(a, &ts->t[TB_COST]);
    if ((ts->on[TB_EFF_BY] = ts->on[TB_CONV_BY] = a->n_by > 0)) {
        build_effectiveness(a, &ts->t[TB_EFF_BY], 1);
        build_convergence(a, &ts->t[TB_CONV_BY], 1);
    }
}

static void tables_free(tables *ts)
{
    for (int i = 0; i < N_TB; i++)
        tab_free(&ts->t[i]);
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

/* " | diff [lo, hi]" of a comparison with none; "-" without one. */
static void md_diff(FILE *f, const metric *m)
{
    char d[32], lo[32], hi[32];
    fmt_num(d, sizeof d, m->diff, 0);
    if (isnan(m->dlo))
        fprintf(f, " | %s", d);
    else
        fprintf(f, " | %s [%s, %s]", d, fmt_num(lo, sizeof lo, m->dlo, 0),
                fmt_num(hi, sizeof hi, m->dhi, 0));
}

/* Whether some reservoir saw more values than it kept. */
static int sampled(const analysis *a)
{
    if (a->reg.seen > a->reg.n)
        return 1;
    for (int k = 0; k < N_AXES; k++)
        for (size_t i = 0; i < a->ax[k].n; i++) {
            const level *l = &a->ax[k].lv[i];
            for (int m = 0; m < N_MET; m++)
                if (l->m[m].r.seen > l->m[m].r.n)
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
            "- Versus `none` of the same axis: difference in mean own utility with its Welch 95%% "
            "interval (t quantile at the Welch-Satterthwaite df), Hedges' g and a two-sided "
            "Welch t-test; q: Benjamini-Hochberg across all comparisons of the four tables. "
            "`effectiveness.csv` has the same for the surplus share (`share_*` columns, their "
            "own q family).\n"
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
                "[95%% CI] | joint utility [95%% CI] | diff vs none [95%% CI] | g | p | q |\n");
        fprintf(f, "|---|---:|---|---|---|---|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            const metric *own = &l->m[M_OWN], *sh = &l->m[M_SHARE], *jo = &l->m[M_JOINT];
            fprintf(f, "| %s | %" PRIu64 " | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | ", l->name,
                    l->n, l->rate, l->rate_lo, l->rate_hi, own->mean, own->lo, own->hi);
            if (sh->n)
                fprintf(f, "%.3f [%.3f, %.3f]", sh->mean, sh->lo, sh->hi);
            else
                fputs("–", f);
            fprintf(f, " | %.3f [%.3f, %.3f]", jo->mean, jo->lo, jo->hi);
            md_diff(f, own);
            md_num(f, own->g, 1);
            md_num(f, own->p, 2);
            md_num(f, own->q, 2);
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
        double q = m == 0 ? gsl_cdf_tdist_Pinv(0.975, (double)(md->fit.n - md->fit.p))
                          : gsl_cdf_ugaussian_Pinv(0.975);
        fprintf(f, "| term | coef [95%% CI] | se | %s | p |\n|---|---:|---:|---:|---:|\n",
                m == 0 ? "t" : "z");
        for (size_t j = 0; j < md->fit.p; j++)
            fprintf(f, "| %s | %.4g [%.4g, %.4g] | %.4g | %.3f | %.3g |\n", term_name(md, j),
                    md->fit.coef[j], md->fit.coef[j] - q * md->fit.se[j],
                    md->fit.coef[j] + q * md->fit.se[j], md->fit.se[j], md->fit.stat[j],
                    md->fit.p_value[j]);
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
            const metric *own = &l->m[M_OWN];
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", own->lo, own->hi);
            fmt_num(d, sizeof d, own->diff, 0);
            fmt_num(g, sizeof g, own->g, 1);
            fmt_num(q, sizeof q, own->q, 2);
            fprintf(out, "  %-20s %8" PRIu64 " %6.1f%% %8.4f %17s %9s %7s %9s\n", l->name,
                    l->n, 100 * l->rate, own->mean, ci, d, g, q);
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

static void write_judge_report(const analysis *a, FILE *f)
{
    if (!a->has_judge)
        return;
    fprintf(f, "## LLM judge scores\n\n"
            "Scores (1-10) of the side using the level: how effective its influencing and its "
            "tactic were, as judged by the LLM judge; jobs without a score are left out. Mean "
            "with bootstrap 95%% interval; versus `none` as for own utility (q: "
            "Benjamini-Hochberg per score across the four axes). All figures in `judge.csv`.\n\n");
    for (int mi = M_INFL; mi <= M_TACT; mi++) {
        fprintf(f, "### %s\n\n| axis | level | n | mean [95%% CI] | diff vs none [95%% CI] | g "
                "| p | q |\n|---|---|---:|---|---|---:|---:|---:|\n",
                mi == M_INFL ? "influencing_effectiveness" : "tactic_effectiveness");
        for (int k = 0; k < N_AXES; k++)
            for (size_t i = 0; i < a->ax[k].n; i++) {
                const metric *m = &a->ax[k].lv[i].m[mi];
                fprintf(f, "| %s | %s | %" PRIu64 " | ", a->ax[k].name, a->ax[k].lv[i].name,
                        m->n);
                if (m->n)
                    fprintf(f, "%.3f [%.3f, %.3f]", m->mean, m->lo, m->hi);
                else
                    fputs("–", f);
                md_diff(f, m);
                md_num(f, m->g, 1);
                md_num(f, m->p, 2);
                md_num(f, m->q, 2);
                fputs(" |\n", f);
            }
        fputc('\n', f);
    }
}

/* " | v" with `prec` digits (negative: -prec significant digits). */
static void md_val(FILE *f, double v, int prec)
{
    if (isnan(v))
        fputs(" | –", f);
    else if (prec >= 0)
        fprintf(f, " | %.*f", prec, v);
    else
        fprintf(f, " | %.*g", -prec, v);
}

static void write_cost_report(const analysis *a, const table *t, FILE *f)
{
    if (!a->has_cost || !a->has_models)
        return;
    fprintf(f, "## Cost and quality\n\n"
            "Per agent model and role (buyer and seller: that side's `*_cost_usd`; judge: "
            "`judge_cost_usd`). Cost per negotiation: mean over its jobs; per deal: total "
            "cost / deals. Tokens per negotiation and latency percentiles (gsl_sort, "
            "gsl_stats_quantile_from_sorted_data) from that side's turns in `/rounds` (judge "
            "calls have no turns: –), latency from a sample of at most %d turns per row. Cache "
            "hit rate (cache hits / requests), repairs and invalid outputs are the job's "
            "totals, all agents together. Built-in agents (no model) are not listed. All "
            "figures in `cost.csv`.\n\n"
            "| role | model | jobs | deal rate | surplus share | cost / negotiation (USD) | "
            "cost / deal (USD) | tokens in / out | latency p50 / p90 / p99 (ms) | cache hits | "
            "repairs | invalid |\n|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|\n",
            RES_CAP);
    (void)t;
    for (size_t i = 0; i < a->n_cost; i++) {
        const costrow *c = &a->cost[i];
        double jobs = (double)c->jobs;
        fprintf(f, "| %s | %s | %" PRIu64, role_names[c->role], c->model, c->jobs);
        md_val(f, ratio((double)c->deals, jobs), 3);
        md_val(f, ratio(c->share_sum, (double)c->share_n), 3);
        md_val(f, ratio(c->cost_sum, (double)c->cost_n), -6);
        md_val(f, ratio(c->cost_sum, (double)c->deals), -6);
        if (c->turns)
            fprintf(f, " | %.1f / %.1f", c->in_tok / jobs, c->out_tok / jobs);
        else
            fputs(" | –", f);
        if (c->lat.n)
            fprintf(f, " | %.0f / %.0f / %.0f", c->p50, c->p90, c->p99);
        else
            fputs(" | –", f);
        md_val(f, ratio(c->cache_hits, c->requests), 3);
        md_val(f, ratio(c->repairs, jobs), 3);
        md_val(f, ratio(c->invalid, jobs), 3);
        fputs(" |\n", f);
    }
    fputc('\n', f);
}

static void write_by_report(const analysis *a, FILE *f)
{
    if (!a->n_by)
        return;
    fprintf(f, "## By ");
    for (int i = 0; i < a->n_by; i++)
        fprintf(f, "%s%s", i ? " × " : "", a->by[i]);
    fprintf(f, "\n\nThe tables above per cell of these `/jobs` columns: comparisons with the "
            "`none` level of the same axis and cell, q across the cells' comparisons; "
            "samples of at most %d values per cell, level and metric. Every column, and "
            "convergence per cell, in `effectiveness_by.csv` and `convergence_by.csv`.\n\n",
            BY_CAP);
    for (int k = 0; k < N_AXES; k++) {
        const axis *ax = &a->bx[k];
        fprintf(f, "### %s\n\n|", ax->name);
        for (int i = 0; i < a->n_by; i++)
            fprintf(f, " %s |", a->by[i]);
        fprintf(f, " level | n | deal rate | own utility [95%% CI] | surplus share | diff vs "
                "none [95%% CI] | q |\n|");
        for (int i = 0; i < a->n_by; i++)
            fputs("---|", f);
        fputs("---|---:|---:|---|---:|---|---:|\n", f);
        for (size_t j = 0; j < ax->n; j++) {
            const level *l = &ax->lv[ax->idx[j]]; /* sorted by cell, then level */
            fputc('|', f);
            for (int i = 0; i < a->n_by; i++) {
                char v[MODEL_LEN];
                cell_part(l->cell, i, v, sizeof v);
                fprintf(f, " %s |", v);
            }
            fprintf(f, " %s | %" PRIu64 " | %.3f | %.3f [%.3f, %.3f]", l->name, l->n, l->rate,
                    l->m[M_OWN].mean, l->m[M_OWN].lo, l->m[M_OWN].hi);
            md_val(f, l->m[M_SHARE].mean, 3);
            md_diff(f, &l->m[M_OWN]);
            md_num(f, l->m[M_OWN].q, 2);
            fputs(" |\n", f);
        }
        fputc('\n', f);
    }
}

static ns_status write_table_csv(const table *t, const char *dir, ns_error *err)
{
    char name[80];
    outfile o;
    snprintf(name, sizeof name, "%s.csv", t->name);
    ns_status st = out_open(&o, dir, name, err);
    if (!st) {
        tab_write_csv(t, o.f);
        st = out_close(&o, err);
    }
    return st;
}

static ns_status write_outputs(const analysis *a, const tables *ts, const char *dir, FILE *out,
                               ns_error *err)
{
    ns_status st = ns_fs_mkdirs(dir, err);
    for (int i = 0; !st && i < N_TB; i++)
        if (ts->on[i] && i != TB_SURV)
            st = write_table_csv(&ts->t[i], dir, err);
    outfile o;
    if (!st && !(st = out_open(&o, dir, "report.md", err))) {
        write_report(a, o.f);
        write_judge_report(a, o.f);
        write_cost_report(a, &ts->t[TB_COST], o.f);
        write_convergence_report(a, o.f);
        write_by_report(a, o.f);
        if (a->h5_written)
            fprintf(o.f, "The tables are also in the results file, group `/analysis` (see "
                    "docs/hdf5-layout.md).\n");
        st = out_close(&o, err);
    }
    if (!st && out) {
        print_headline(a, out);
        print_convergence(a, out);
        fprintf(out, "\nreport: %s/report.md\n", dir);
        if (a->h5_written)
            fprintf(out, "tables: %s, group /analysis\n", a->path);
        if (ferror(out))
            st = ns_fail(err, NS_ERR_IO, "cannot write the summary");
    }
    return st;
}

/* ---- /analysis: written into a copy, renamed over the file --------------- */

/* Copies all of `src` into the empty `dst`: a reflink (FICLONE: shared
 * extents, no data copied) when the file system has them, else
 * copy_file_range, else read/write. */
static int copy_fd(int src, int dst, off_t size)
{
    if (ioctl(dst, FICLONE, src) == 0)
        return 0;
    off_t done = 0;
    while (done < size) {
        ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)(size - done), 0);
        if (n <= 0) {
            if (n < 0 && done == 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL))
                break; /* not supported here: read and write */
            return n < 0 ? -1 : (errno = EIO, -1);
        }
        done += n;
    }
    if (done == size)
        return 0;
    if (lseek(src, 0, SEEK_SET) < 0 || lseek(dst, 0, SEEK_SET) < 0 || ftruncate(dst, 0) < 0)
        return -1;
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(dst, buf + w, (size_t)(n - w));
            if (k < 0 && errno != EINTR)
                return -1;
            w += k > 0 ? k : 0;
        }
    }
}

static herr_t attr_write_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), at = -1;
    herr_t rc = -1;
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    if ((at = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(at, t, &v);
    if (at >= 0 && H5Aclose(at) < 0)
        rc = -1;
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

static herr_t attr_write_u64(hid_t loc, const char *name, uint64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR), at = H5Acreate2(loc, name, H5T_STD_U64LE, sp,
                                                      H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = at >= 0 ? H5Awrite(at, H5T_NATIVE_UINT64, &v) : -1;
    if (at >= 0 && H5Aclose(at) < 0)
        rc = -1;
    H5Sclose(sp);
    return rc;
}

/* Replaces /analysis of the open (read-write) copy `f`. */
static ns_status fill_group(const analysis *a, const tables *ts, hid_t f, const char *tmp,
                            ns_error *err)
{
    if (H5Lexists(f, "analysis", H5P_DEFAULT) > 0 && H5Ldelete(f, "analysis", H5P_DEFAULT) < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot remove the old /analysis", tmp);
    H5Eclear2(H5E_DEFAULT);
    hid_t g = H5Gcreate2(f, "analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot create /analysis", tmp);
    ns_status st = NS_OK;
    for (int i = 0; !st && i < N_TB; i++)
        if (ts->on[i])
            st = tab_write_h5(&ts->t[i], g, err);
    char by[sizeof a->by_list + 8] = "";
    for (int i = 0; i < a->n_by; i++)
        snprintf(by + strlen(by), sizeof by - strlen(by), "%s%s", i ? "," : "", a->by[i]);
    if (!st && (attr_write_str(g, "negsim_version", NS_VERSION) < 0 ||
                attr_write_u64(g, "bootstrap", a->opt.bootstrap) < 0 ||
                attr_write_u64(g, "seed", a->opt.seed) < 0 ||
                attr_write_str(g, "created", a->now) < 0 || attr_write_str(g, "by", by) < 0))
        st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write the /analysis attributes", tmp);
    if (H5Gclose(g) < 0 && !st)
        st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write /analysis", tmp);
    return st;
}

static ns_status fsync_dir(const char *dir, ns_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot sync folder %s", dir);
    }
    close(fd);
    return NS_OK;
}

/* Writes /analysis into a copy of the results file beside it, syncs it and
 * renames it over the file; on any failure the copy is removed and the
 * file is as it was. Refuses when the file changed since it was read. */
static ns_status write_analysis_group(const analysis *a, const tables *ts,
                                      const struct stat *seen, ns_error *err)
{
    char dir[4096], tmp[4200];
    const char *slash = strrchr(a->path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == a->path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - a->path), a->path);
    snprintf(tmp, sizeof tmp, "%s/.%s.analyze.XXXXXX", dir, slash ? slash + 1 : a->path);
    int src = open(a->path, O_RDONLY);
    if (src < 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot open %s", a->path);
    int dst = mkstemp(tmp);
    if (dst < 0) {
        int e = errno;
        close(src);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot create a copy of %s in %s", a->path,
                             dir);
    }
    ns_status st = NS_OK;
    if (copy_fd(src, dst, seen->st_size) != 0 || fchmod(dst, seen->st_mode & 07777) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot copy %s to %s", a->path, tmp);
    close(src);
    if (!st) {
        hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
        if (f < 0)
            st = ns_h5_fail(err, NS_ERR_HDF5, "cannot open %s", tmp);
        else {
            st = fill_group(a, ts, f, tmp, err);
            if (H5Fclose(f) < 0 && !st)
                st = ns_h5_fail(err, NS_ERR_HDF5, "cannot close %s", tmp);
        }
    }
    if (!st && fsync(dst) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot sync %s", tmp);
    if (close(dst) != 0 && !st)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot write %s", tmp);
    struct stat now;
    /* a run that published the file meanwhile must not be undone */
    if (!st && (stat(a->path, &now) != 0 || now.st_ino != seen->st_ino ||
                now.st_size != seen->st_size || now.st_mtim.tv_sec != seen->st_mtim.tv_sec ||
                now.st_mtim.tv_nsec != seen->st_mtim.tv_nsec))
        st = ns_fail(err, NS_ERR_IO, "%s changed while it was analysed; /analysis not written",
                     a->path);
    if (!st && rename(tmp, a->path) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot rename %s to %s", tmp, a->path);
    if (st) {
        unlink(tmp);
        return st;
    }
    return fsync_dir(dir, err);
}

/* ---- entry point ------------------------------------------------------- */

static void set_free(axis *set)
{
    for (int k = 0; k < N_AXES; k++) {
        for (size_t i = 0; i < set[k].n; i++) {
            level *l = &set[k].lv[i];
            for (int m = 0; m < N_MET; m++)
                free(l->m[m].r.x);
            free(l->beta.x);
            free(l->surv.x);
            free(l->agree_hist);
            free(l->still_open);
            ns_km_free(l->km);
        }
        free(set[k].lv);
        free(set[k].idx);
    }
}

static void analysis_free(analysis *a)
{
    set_free(a->ax);
    set_free(a->bx);
    for (size_t i = 0; i < a->n_cost; i++)
        free(a->cost[i].lat.x);
    free(a->cost);
    free(a->reg.x);
    ns_regress_fit_free(&a->ols.fit);
    ns_regress_fit_free(&a->logit.fit);
    if (a->rng)
        gsl_rng_free(a->rng);
}

/* Splits the --by list; NS_ERR_USAGE for an empty name, a repeat or too
 * many. Whether each is a /jobs column is checked once the file is open. */
static ns_status parse_by(analysis *a, ns_error *err)
{
    if (!a->opt.by)
        return NS_OK;
    if (strlen(a->opt.by) >= sizeof a->by_list)
        return ns_fail(err, NS_ERR_USAGE, "--by list too long");
    snprintf(a->by_list, sizeof a->by_list, "%s", a->opt.by);
    char *save = NULL;
    for (char *p = a->by_list;; p = NULL) {
        char *tok = strtok_r(p, ",", &save);
        if (!tok)
            break;
        if (a->n_by == NS_ANALYZE_MAX_BY)
            return ns_fail(err, NS_ERR_USAGE, "--by takes at most %d axes", NS_ANALYZE_MAX_BY);
        for (int i = 0; i < a->n_by; i++)
            if (strcmp(a->by[i], tok) == 0)
                return ns_fail(err, NS_ERR_USAGE, "--by names '%s' twice", tok);
        a->by[a->n_by++] = tok;
    }
    if (a->n_by == 0)
        return ns_fail(err, NS_ERR_USAGE, "--by needs at least one /jobs column");
    return NS_OK;
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
    ns_status st = parse_by(a, err);
    if (st) {
        free(a);
        return st;
    }
    for (int k = 0; k < N_AXES; k++) {
        a->ax[k].name = a->bx[k].name = axis_names[k];
        a->ax[k].buyer = a->bx[k].buyer = k < 2;
        a->bx[k].cap = BY_CAP;
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
        attr_str(f, "run", "state", a->state, sizeof a->state);
        a->rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(a->rng, (unsigned long)a->opt.seed);
        st = detect_columns(a, f, err);
        if (!st)
            st = scan(a, f, err);
        if (!st && (!attr_int(f, "max_rounds", &a->max_rounds) || a->max_rounds < 1))
            a->max_rounds = a->max_seen;
        /* One OpenMP team for the two heavy parts: the bootstrap tasks
         * (they need only the first pass) run while the /rounds pass
         * reads, and its fit tasks fill the gaps; the pass waits for its
         * own fits at the end of each chunk, all wait for all at the end
         * of the region. */
#pragma omp parallel if (!st)
#pragma omp single
        {
            if (!st) {
                boot_all(a);
                st = scan_rounds(a, f, err);
            }
        }
        H5Fclose(f);
    }
    if (!st)
        st = level_stats(a, err);
    if (!st)
        st = conv_stats(a, err);
    if (!st) {
        ns_status st_h5 = NS_OK;
        ns_error err_h5 = {0};
        tables ts;
        cost_stats(a);
        fit_model(a, &a->ols, 1, N_TRAITS + 1, 0);
        fit_model(a, &a->logit, 0, N_TRAITS, 1);
        build_tables(a, &ts);
        if (strcmp(a->state, "running") == 0) {
            if (a->opt.warnings)
                fprintf(a->opt.warnings, "warning: %s is being written by a run (state "
                        "running): /analysis not written; report and CSV files only\n",
                        results_path);
        } else if (!a->opt.no_h5) {
            st_h5 = write_analysis_group(a, &ts, &sb, &err_h5);
            a->h5_written = st_h5 == NS_OK;
        }
        st = write_outputs(a, &ts, dir, out, err);
        if (!st && st_h5) {
            st = st_h5;
            if (err)
                *err = err_h5;
        }
        tables_free(&ts);
    }
    analysis_free(a);
    free(a);
    return st;
}
