/*
 * ns_plot.c - `negsim plot` (see ns_plot.h).
 *
 * One pass over /jobs + /outcomes (streamed by ns_scan through memory
 * compound types holding only the columns used) gathers per tactic level the
 * deal counts, running mean and variance of the own utility (Welford) and
 * the (round, event) pairs of the survival curves, and per pair of traits
 * the mean buyer surplus share per cell. A second pass over /rounds, joined
 * to /jobs by a cursor (both sorted by job_id), gathers the offer gaps.
 * The numbers go to data files in a mkdtemp folder, a gnuplot script is
 * written next to them and gnuplot (fork/execvp, stdin = the script) draws
 * into DIR/<name>.<format>.tmp; each is renamed once gnuplot succeeded.
 */
#include "ns_fs.h"
#include "ns_plot.h"
#include "ns_h5.h"
#include "ns_scan.h"
#include "ns_stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_cdf.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define STR_LEN 33   /* S32 columns plus a NUL */
#define SHORT_LEN 13 /* S8 / S12 columns plus a NUL */
#define N_TRAITS 10
#define MAX_VALS 16  /* distinct values per trait for the heatmap */
#define N_PAIRS (N_TRAITS * (N_TRAITS - 1) / 2)
#define N_FIGS 5

static const char *const trait_names[N_TRAITS] = {
    "buyer_openness",  "buyer_conscientiousness",  "buyer_extraversion",
    "buyer_agreeableness",  "buyer_neuroticism", "seller_openness",
    "seller_conscientiousness", "seller_extraversion", "seller_agreeableness",
    "seller_neuroticism"};
#define BUYER_AGREE 3
#define SELLER_AGREE 8

static const char *const fig_names[N_FIGS] = {"heatmap_surplus_share", "deal_rate_by_tactic",
                                              "convergence", "survival", "forest_effects"};

/* ---- rows as read ------------------------------------------------------ */

typedef struct jrow {
    uint64_t job_id;
    double trait[N_TRAITS];
    char btac[STR_LEN], stac[STR_LEN];
} jrow;

typedef struct orow {
    uint64_t job_id;
    int8_t deal;
    int32_t rounds;
    char ending[SHORT_LEN];
    double u_buyer, u_seller, share_buyer;
} orow;

typedef struct rrow {
    uint64_t job_id;
    int32_t round;
    char speaker[SHORT_LEN], action[SHORT_LEN];
    double u_buyer;
} rrow;

typedef struct idrow {
    uint64_t job_id;
    char btac[STR_LEN];
} idrow;

static hid_t str_type(size_t n)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, n);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    return s;
}

static hid_t jobs_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(jrow)), s = str_type(STR_LEN);
    H5Tinsert(t, "job_id", HOFFSET(jrow, job_id), H5T_NATIVE_UINT64);
    for (int i = 0; i < N_TRAITS; i++)
        H5Tinsert(t, trait_names[i], HOFFSET(jrow, trait) + (size_t)i * sizeof(double),
                  H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "buyer_tactic", HOFFSET(jrow, btac), s);
    H5Tinsert(t, "seller_tactic", HOFFSET(jrow, stac), s);
    H5Tclose(s);
    return t;
}

static hid_t outcomes_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(orow)), s = str_type(SHORT_LEN);
    H5Tinsert(t, "job_id", HOFFSET(orow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "deal", HOFFSET(orow, deal), H5T_NATIVE_INT8);
    H5Tinsert(t, "rounds", HOFFSET(orow, rounds), H5T_NATIVE_INT32);
    H5Tinsert(t, "ending", HOFFSET(orow, ending), s);
    H5Tinsert(t, "u_buyer", HOFFSET(orow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "u_seller", HOFFSET(orow, u_seller), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "surplus_share_buyer", HOFFSET(orow, share_buyer), H5T_NATIVE_DOUBLE);
    H5Tclose(s);
    return t;
}

static hid_t rounds_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(rrow)), s = str_type(SHORT_LEN);
    H5Tinsert(t, "job_id", HOFFSET(rrow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "round", HOFFSET(rrow, round), H5T_NATIVE_INT32);
    H5Tinsert(t, "speaker", HOFFSET(rrow, speaker), s);
    H5Tinsert(t, "action", HOFFSET(rrow, action), s);
    H5Tinsert(t, "u_buyer", HOFFSET(rrow, u_buyer), H5T_NATIVE_DOUBLE);
    H5Tclose(s);
    return t;
}

static hid_t ids_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(idrow)), s = str_type(STR_LEN);
    H5Tinsert(t, "job_id", HOFFSET(idrow, job_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "buyer_tactic", HOFFSET(idrow, btac), s);
    H5Tclose(s);
    return t;
}

/* ---- accumulators ------------------------------------------------------ */

typedef struct conv_acc {
    uint64_t n;
    double mean, m2; /* Welford */
} conv_acc;

static void welford(conv_acc *a, double x)
{
    a->n++;
    double d = x - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (x - a->mean);
}

typedef struct level {
    char name[STR_LEN];
    uint64_t n, deals;
    conv_acc own;              /* own utility, 0 without a deal */
    double *time;              /* survival: rounds, event flag */
    int *event;
    size_t n_surv, surv_alloc;
    conv_acc *conv;            /* per round (index round - 1) */
    size_t n_conv;
} level;

typedef struct axis {
    const char *name;
    int buyer;
    level *lv;
    size_t n, alloc;
} axis;

static level *axis_find(axis *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->lv[i].name, name) == 0)
            return &a->lv[i];
    return NULL;
}

static level *axis_level(axis *a, const char *name)
{
    level *l = axis_find(a, name);
    if (l)
        return l;
    if (a->n == a->alloc) {
        a->alloc = a->alloc ? 2 * a->alloc : 8;
        a->lv = ns_xrealloc(a->lv, a->alloc * sizeof *a->lv);
    }
    l = &a->lv[a->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    return l;
}

static int level_cmp(const void *pa, const void *pb)
{
    const level *a = pa, *b = pb;
    int an = strcmp(a->name, "none") == 0, bn = strcmp(b->name, "none") == 0;
    if (an != bn)
        return bn - an;
    return strcmp(a->name, b->name);
}

/* Distinct values of one trait (up to MAX_VALS; more: `many`). */
typedef struct trait_vals {
    double v[MAX_VALS];
    int n, many;
} trait_vals;

typedef struct cell {
    uint64_t n;
    double sum;
} cell;

typedef struct plotter {
    const char *path;
    uint64_t jobs, deals;
    axis ax[2];                         /* buyer_tactic, seller_tactic */
    trait_vals tv[N_TRAITS];
    cell (*heat)[MAX_VALS][MAX_VALS];   /* per trait pair */
    uint64_t conv_jobs, conv_skipped;
} plotter;

static int pair_index(int i, int j) /* i < j */
{
    return i * N_TRAITS - i * (i + 1) / 2 + (j - i - 1);
}

static int trait_slot(trait_vals *t, double v)
{
    if (!isfinite(v))
        return -1;
    for (int k = 0; k < t->n; k++)
        if (t->v[k] == v)
            return k;
    if (t->n == MAX_VALS) {
        t->many = 1;
        return -1;
    }
    t->v[t->n] = v;
    return t->n++;
}

static void surv_push(level *l, double t, int ev)
{
    if (l->n_surv == l->surv_alloc) {
        l->surv_alloc = l->surv_alloc ? 2 * l->surv_alloc : 256;
        l->time = ns_xrealloc(l->time, l->surv_alloc * sizeof *l->time);
        l->event = ns_xrealloc(l->event, l->surv_alloc * sizeof *l->event);
    }
    l->time[l->n_surv] = t;
    l->event[l->n_surv++] = ev;
}

/* ns_scan_fn: adds one job and its outcome. */
static ns_status accumulate(void *ctx, const void *job_row, const void *outcome_row,
                            ns_error *err)
{
    (void)err;
    plotter *p = ctx;
    const jrow *j = job_row;
    const orow *o = outcome_row;
    p->jobs++;
    p->deals += o->deal != 0;
    for (int k = 0; k < 2; k++) {
        level *l = axis_level(&p->ax[k], k == 0 ? j->btac : j->stac);
        double own = k == 0 ? o->u_buyer : o->u_seller;
        if (!o->deal || !isfinite(own))
            own = 0;
        l->n++;
        l->deals += o->deal != 0;
        welford(&l->own, own);
        if (k == 0 && o->rounds >= 0) {
            int ev = strcmp(o->ending, "agreement") == 0 || strcmp(o->ending, "walkaway") == 0;
            surv_push(l, (double)o->rounds, ev);
        }
    }
    int slot[N_TRAITS];
    for (int i = 0; i < N_TRAITS; i++)
        slot[i] = trait_slot(&p->tv[i], j->trait[i]);
    if (!o->deal || !isfinite(o->share_buyer))
        return NS_OK;
    for (int a = 0; a < N_TRAITS; a++)
        for (int b = a + 1; b < N_TRAITS; b++)
            if (slot[a] >= 0 && slot[b] >= 0) {
                cell *c = &p->heat[pair_index(a, b)][slot[a]][slot[b]];
                c->n++;
                c->sum += o->share_buyer;
            }
    return NS_OK;
}

static ns_status scan_outcomes(plotter *p, hid_t f, ns_error *err)
{
    hid_t jt = jobs_type(), ot = outcomes_type();
    uint64_t rows = 0;
    ns_status st = ns_scan_jobs_outcomes(f, p->path, jt, sizeof(jrow), ot, sizeof(orow),
                                         accumulate, p, &rows, err);
    if (!st && rows == 0)
        st = ns_fail(err, NS_ERR_INPUT, "%s has no jobs to plot", p->path);
    H5Tclose(jt);
    H5Tclose(ot);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* ---- the offer gaps (/rounds joined to /jobs) -------------------------- */

typedef struct job_state {
    uint64_t id;
    int active;       /* a job is being followed */
    level *lv;        /* its buyer_tactic level, NULL: skip */
    int round;        /* round of the rows seen last */
    int has_b, has_s, opened, ended;
    double bu, su;    /* u_buyer of each side's latest offer */
    double g0;        /* gap once both had offered */
    double gap;       /* current gap */
} job_state;

static void conv_add(level *l, int round, double x)
{
    if (round < 1 || round > 100000 || !isfinite(x))
        return;
    if ((size_t)round > l->n_conv) {
        l->conv = ns_xrealloc(l->conv, (size_t)round * sizeof *l->conv);
        memset(l->conv + l->n_conv, 0, ((size_t)round - l->n_conv) * sizeof *l->conv);
        l->n_conv = (size_t)round;
    }
    welford(&l->conv[round - 1], x);
}

/* Records the gap at the end of the current round. */
static void js_close_round(job_state *js)
{
    if (js->lv && js->opened && js->round >= 1)
        conv_add(js->lv, js->round, js->gap / js->g0);
}

static void js_finish(plotter *p, job_state *js)
{
    if (!js->active)
        return;
    if (!js->ended)
        js_close_round(js);
    if (js->lv) {
        if (js->opened)
            p->conv_jobs++;
        else
            p->conv_skipped++;
    }
    js->active = 0;
}

static void js_row(job_state *js, const rrow *r)
{
    if (js->ended)
        return;
    if (r->round != js->round) {
        js_close_round(js);
        js->round = r->round;
    }
    int buyer = strcmp(r->speaker, "buyer") == 0;
    if (strcmp(r->action, "offer") == 0 && isfinite(r->u_buyer)) {
        if (buyer) {
            js->bu = r->u_buyer;
            js->has_b = 1;
        } else {
            js->su = r->u_buyer;
            js->has_s = 1;
        }
        if (js->has_b && js->has_s) {
            double g = fabs(js->bu - js->su);
            if (!js->opened) {
                if (g > 1e-12) {
                    js->opened = 1;
                    js->g0 = g;
                } else {
                    js->lv = NULL; /* opened in agreement: nothing to normalise */
                }
            }
            js->gap = g;
        }
    } else if (strcmp(r->action, "accept") == 0 || strcmp(r->action, "walk") == 0) {
        if (strcmp(r->action, "accept") == 0)
            js->gap = 0;
        js_close_round(js);
        js->ended = 1;
    }
}

/* Cursor over /jobs (job_id, buyer_tactic) for the join. */
typedef struct jcursor {
    hid_t dset, type;
    hsize_t rows, start, n, i;
    idrow *buf;
} jcursor;

/* Moves to job `id`; *found 0 when /jobs has no such job. */
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

static ns_status scan_rounds(plotter *p, hid_t f, ns_error *err)
{
    hid_t rt = rounds_type(), rd = -1;
    hsize_t rn = 0;
    jcursor jc = {.dset = -1, .type = ids_type()};
    rrow *rb = NULL;
    job_state js = {0};
    ns_status st = ns_scan_open_table(f, p->path, "rounds", rt, &rd, &rn, err);
    if (!st)
        st = ns_scan_open_table(f, p->path, "jobs", jc.type, &jc.dset, &jc.rows, err);
    if (!st) {
        rb = ns_xmalloc(NS_SCAN_CHUNK_ROWS * sizeof *rb);
        jc.buf = ns_xmalloc(NS_SCAN_CHUNK_ROWS * sizeof *jc.buf);
    }
    for (hsize_t start = 0; !st && start < rn; start += NS_SCAN_CHUNK_ROWS) {
        hsize_t n = rn - start < NS_SCAN_CHUNK_ROWS ? rn - start : NS_SCAN_CHUNK_ROWS;
        if (ns_scan_read_rows(rd, rt, start, n, rb) < 0) {
            st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot read /rounds rows %llu..%llu",
                            p->path, (unsigned long long)start,
                            (unsigned long long)(start + n));
            break;
        }
        for (hsize_t i = 0; !st && i < n; i++) {
            const rrow *r = &rb[i];
            if (!js.active || r->job_id != js.id) {
                if (js.active && r->job_id < js.id) {
                    st = ns_fail(err, NS_ERR_CORRUPT, "%s: /rounds is not sorted by job_id "
                                 "(row %llu)", p->path, (unsigned long long)(start + i));
                    break;
                }
                js_finish(p, &js);
                memset(&js, 0, sizeof js);
                js.active = 1;
                js.id = r->job_id;
                const idrow *jr;
                st = jc_seek(&jc, r->job_id, &jr, p->path, err);
                if (!st && jr)
                    js.lv = axis_find(&p->ax[0], jr->btac);
            }
            js_row(&js, r);
        }
    }
    if (!st)
        js_finish(p, &js);
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

/* ---- data files and the gnuplot script --------------------------------- */

/* A level or trait name as it may appear inside a gnuplot string: letters,
 * digits, '_', '-', '.', ' '; anything else becomes '?'. */
static const char *safe(const char *s, char *buf, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == ' ';
        buf[k++] = ok ? ch : '?';
    }
    buf[k] = '\0';
    return buf;
}

/* A path that may go into a single-quoted gnuplot string. */
static int path_ok(const char *s)
{
    return strpbrk(s, "'\"\\\n\r`") == NULL;
}

static FILE *data_open(const char *tmpdir, const char *name, ns_error *err, ns_status *st)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        *st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot create %s", path);
    return f;
}

static ns_status data_close(FILE *f, const char *tmpdir, const char *name, ns_error *err)
{
    int bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = 1;
    if (bad)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot write %s/%s", tmpdir, name);
    return NS_OK;
}

static const char *pretty_trait(int i, char *buf, size_t size)
{
    const char *n = trait_names[i];
    const char *u = strchr(n, '_');
    snprintf(buf, size, "%.*s %s", (int)(u - n), n, u + 1);
    return buf;
}

/* Chooses the heatmap's pair of traits; *why is a note for the title. */
static void heat_pair(const plotter *p, int *ta, int *tb, char *why, size_t size)
{
    *ta = BUYER_AGREE;
    *tb = SELLER_AGREE;
    why[0] = '\0';
    const trait_vals *a = &p->tv[BUYER_AGREE], *b = &p->tv[SELLER_AGREE];
    if (a->n >= 2 && !a->many && b->n >= 2 && !b->many)
        return;
    for (int i = 0; i < N_TRAITS; i++)
        for (int j = i + 1; j < N_TRAITS; j++)
            if (p->tv[i].n >= 2 && !p->tv[i].many && p->tv[j].n >= 2 && !p->tv[j].many) {
                *ta = i;
                *tb = j;
                snprintf(why, size, " (agreeableness does not vary on both sides: "
                         "showing the first pair of traits that do)");
                return;
            }
    snprintf(why, size, " (no two traits vary in this file)");
}

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static ns_status write_heat(const plotter *p, const char *tmpdir, FILE *gp, ns_error *err)
{
    int ta, tb;
    char why[160], na[64], nb[64];
    heat_pair(p, &ta, &tb, why, sizeof why);
    pretty_trait(ta, na, sizeof na);
    pretty_trait(tb, nb, sizeof nb);
    const trait_vals *a = &p->tv[ta], *b = &p->tv[tb];
    double sa[MAX_VALS], sb[MAX_VALS];
    memcpy(sa, a->v, (size_t)a->n * sizeof(double));
    memcpy(sb, b->v, (size_t)b->n * sizeof(double));
    qsort(sa, (size_t)a->n, sizeof(double), dbl_cmp);
    qsort(sb, (size_t)b->n, sizeof(double), dbl_cmp);
    ns_status st = NS_OK;
    FILE *d = data_open(tmpdir, "heat.dat", err, &st);
    if (!d)
        return st;
    int cells = 0;
    const cell (*h)[MAX_VALS] = (const cell (*)[MAX_VALS])p->heat[pair_index(ta, tb)];
    for (int x = 0; x < a->n; x++)
        for (int y = 0; y < b->n; y++) {
            int ia = 0, ib = 0;
            while (a->v[ia] != sa[x])
                ia++;
            while (b->v[ib] != sb[y])
                ib++;
            const cell *c = &h[ia][ib];
            if (c->n == 0)
                continue;
            double m = c->sum / (double)c->n;
            fprintf(d, "%d %d %.6f \"%.3f (n=%" PRIu64 ")\"\n", x, y, m, m, c->n);
            cells++;
        }
    st = data_close(d, tmpdir, "heat.dat", err);
    if (st)
        return st;
    fprintf(gp, "set title 'Mean buyer surplus share (deals only) by %s x %s%s'\n", na, nb, why);
    fprintf(gp, "set xlabel '%s (trait level, 0-1)'\nset ylabel '%s (trait level, 0-1)'\n",
            na, nb);
    fprintf(gp, "set cblabel 'mean buyer surplus share (fraction of joint utility)'\n");
    fprintf(gp, "set xrange [-0.5:%g]\nset yrange [-0.5:%g]\n", a->n - 0.5, b->n - 0.5);
    fprintf(gp, "set xtics (");
    for (int x = 0; x < a->n; x++)
        fprintf(gp, "%s'%.3g' %d", x ? ", " : "", sa[x], x);
    fprintf(gp, ")\nset ytics (");
    for (int y = 0; y < b->n; y++)
        fprintf(gp, "%s'%.3g' %d", y ? ", " : "", sb[y], y);
    fprintf(gp, ")\nset palette rgbformulae 33,13,10\nunset key\nset tics nomirror\n");
    if (cells)
        fprintf(gp, "plot '%s/heat.dat' using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 "
                "noborder lc palette, '' using 1:2:4 with labels font ',10' tc rgb 'black'\n",
                tmpdir);
    else
        fprintf(gp, "set label 1 'no deals: no surplus shares' at graph 0.5,0.5 center\n"
                "plot 1/0 notitle\nunset label 1\n");
    return NS_OK;
}

static ns_status write_deal(const plotter *p, const char *tmpdir, FILE *gp, ns_error *err)
{
    ns_status st = NS_OK;
    FILE *d = data_open(tmpdir, "deal.dat", err, &st);
    if (!d)
        return st;
    int pos = 0;
    char nm[STR_LEN];
    for (int k = 0; k < 2 && !st; k++) {
        for (size_t i = 0; i < p->ax[k].n && !st; i++) {
            const level *l = &p->ax[k].lv[i];
            double lo, hi;
            st = ns_stats_wilson((long)l->deals, (long)l->n, 0.95, &lo, &hi, err);
            fprintf(d, "%d %.6f %.6f %.6f \"%s (n=%" PRIu64 ")\"\n", pos++,
                    (double)l->deals / (double)l->n, lo, hi, safe(l->name, nm, sizeof nm), l->n);
        }
        fprintf(d, "\n\n");
        pos++;
    }
    ns_status cst = data_close(d, tmpdir, "deal.dat", err);
    if (st || cst)
        return st ? st : cst;
    fprintf(gp, "set title 'Deal rate by tactic (bars: 95%% Wilson intervals)'\n"
            "set xlabel 'tactic level (number of negotiations)'\n"
            "set ylabel 'deal rate (share of negotiations that agreed)'\n"
            "set yrange [0:1.05]\nset xrange [-0.7:%g]\nset xtics rotate by -30 nomirror\n"
            "set boxwidth 0.7\nset key top right\nset grid ytics\n", pos - 1.3);
    fprintf(gp, "plot '%s/deal.dat' index 0 using 1:2:xtic(5) with boxes fs solid 0.6 "
            "lc rgb '#4477aa' title 'buyer_tactic', '' index 0 using 1:2:3:4 with yerrorbars "
            "pt 0 lc rgb 'black' notitle, '' index 1 using 1:2:xtic(5) with boxes fs solid 0.6 "
            "lc rgb '#ee7733' title 'seller_tactic', '' index 1 using 1:2:3:4 with yerrorbars "
            "pt 0 lc rgb 'black' notitle\n", tmpdir);
    return NS_OK;
}

static ns_status write_conv(const plotter *p, const char *tmpdir, FILE *gp, ns_error *err)
{
    ns_status st = NS_OK;
    FILE *d = data_open(tmpdir, "conv.dat", err, &st);
    if (!d)
        return st;
    const axis *ax = &p->ax[0];
    int blocks = 0;
    for (size_t i = 0; i < ax->n; i++) {
        const level *l = &ax->lv[i];
        for (size_t r = 0; r < l->n_conv; r++) {
            const conv_acc *c = &l->conv[r];
            if (c->n == 0)
                continue;
            double half = c->n >= 2 ? 1.96 * sqrt(c->m2 / (double)(c->n - 1) / (double)c->n) : 0;
            fprintf(d, "%zu %.6f %.6f %.6f %" PRIu64 "\n", r + 1, c->mean, c->mean - half,
                    c->mean + half, c->n);
        }
        fprintf(d, "%s\n\n\n", l->n_conv ? "" : "0 NaN NaN NaN 0");
        blocks++;
    }
    st = data_close(d, tmpdir, "conv.dat", err);
    if (st)
        return st;
    fprintf(gp, "set title 'Offer gap by round per buyer_tactic (%" PRIu64 " negotiations; "
            "band: 95%% normal interval)'\n"
            "set xlabel 'round'\n"
            "set ylabel 'normalised gap (utility gap / gap after both opened)'\n"
            "set yrange [0:*]\nset xrange [0.5:*]\nset key top right\nset grid\n",
            p->conv_jobs);
    char nm[STR_LEN];
    fprintf(gp, "plot ");
    for (int i = 0; i < blocks; i++)
        fprintf(gp, "'%s/conv.dat' index %d using 1:3:4 with filledcurves fs transparent "
                "solid 0.2 noborder lc %d notitle, ", tmpdir, i, i + 1);
    for (int i = 0; i < blocks; i++)
        fprintf(gp, "%s'%s/conv.dat' index %d using 1:2 with linespoints lw 2 pt 7 ps 0.6 "
                "lc %d title '%s'", i ? ", " : "", tmpdir, i, i + 1,
                safe(ax->lv[i].name, nm, sizeof nm));
    fprintf(gp, "\n");
    return NS_OK;
}

static ns_status write_surv(const plotter *p, const char *tmpdir, FILE *gp, ns_error *err)
{
    ns_status st = NS_OK;
    FILE *d = data_open(tmpdir, "surv.dat", err, &st);
    if (!d)
        return st;
    const axis *ax = &p->ax[0];
    for (size_t i = 0; i < ax->n && !st; i++) {
        const level *l = &ax->lv[i];
        double tmax = 0;
        for (size_t k = 0; k < l->n_surv; k++)
            if (l->time[k] > tmax)
                tmax = l->time[k];
        fprintf(d, "0 1\n");
        double last = 1;
        if (l->n_surv) {
            ns_km *km = NULL;
            st = ns_km_compute(l->time, l->event, l->n_surv, &km, err);
            for (size_t k = 0; !st && k < km->n; k++) {
                fprintf(d, "%g %.6f\n", km->time[k], km->surv[k]);
                last = km->surv[k];
            }
            ns_km_free(km);
        }
        fprintf(d, "%g %.6f\n\n\n", tmax, last);
    }
    ns_status cst = data_close(d, tmpdir, "surv.dat", err);
    if (st || cst)
        return st ? st : cst;
    fprintf(gp, "set title 'Negotiations still open by round per buyer_tactic "
            "(Kaplan-Meier; impasses censored at their last round)'\n"
            "set xlabel 'round'\nset ylabel 'still open (estimated share of negotiations)'\n"
            "set yrange [0:1.05]\nset xrange [0:*]\nset key top right\nset grid\n");
    char nm[STR_LEN];
    fprintf(gp, "plot ");
    for (size_t i = 0; i < ax->n; i++)
        fprintf(gp, "%s'%s/surv.dat' index %zu using 1:2 with steps lw 2 lc %zu title '%s'",
                i ? ", " : "", tmpdir, i, i + 1, safe(ax->lv[i].name, nm, sizeof nm));
    fprintf(gp, "\n");
    return NS_OK;
}

static ns_status write_forest(const plotter *p, const char *tmpdir, FILE *gp, FILE *out,
                              ns_error *err)
{
    ns_status st = NS_OK;
    FILE *d = data_open(tmpdir, "forest.dat", err, &st);
    if (!d)
        return st;
    int y = 0, rows = 0;
    char nm[STR_LEN];
    for (int k = 0; k < 2; k++) {
        const axis *ax = &p->ax[k];
        const level *none = axis_find((axis *)ax, "none");
        for (size_t i = 0; i < ax->n; i++) {
            const level *l = &ax->lv[i];
            if (l == none)
                continue;
            double v1 = l->own.n >= 2 ? l->own.m2 / (double)(l->own.n - 1) : NAN;
            double v0 = none && none->own.n >= 2 ? none->own.m2 / (double)(none->own.n - 1) : NAN;
            double a = v1 / (double)l->own.n, b = none ? v0 / (double)none->own.n : NAN;
            if (!none || !(a + b > 0) || !isfinite(a + b)) {
                if (out)
                    fprintf(out, "forest_effects: %s %s left out (%s)\n", ax->name, l->name,
                            none ? "fewer than 2 jobs or no variance" : "no 'none' level");
                continue;
            }
            double df = (a + b) * (a + b) /
                        (a * a / (double)(l->own.n - 1) + b * b / (double)(none->own.n - 1));
            double diff = l->own.mean - none->own.mean;
            double t = gsl_cdf_tdist_Pinv(0.975, df);
            double half = t * sqrt(a + b);
            if (!isfinite(half))
                continue;
            fprintf(d, "%.6f %d %.6f %.6f \"%s: %s (n=%" PRIu64 ")\"\n", diff, y--,
                    diff - half, diff + half, ax->name, safe(l->name, nm, sizeof nm), l->own.n);
            rows++;
        }
        fprintf(d, "\n\n");
        y--;
    }
    st = data_close(d, tmpdir, "forest.dat", err);
    if (st)
        return st;
    fprintf(gp, "set title \"Effect on the side's own utility vs 'none' "
            "(mean difference, 95%% Welch interval)\"\n"
            "set xlabel 'difference in mean own utility (utility points, 0-1 scale; "
            "no deal counts as 0)'\nset ylabel ''\nset key bottom right\n"
            "set yrange [%d:1]\nset grid xtics\n"
            "set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb 'gray40'\n", y);
    if (rows)
        fprintf(gp, "plot '%s/forest.dat' index 0 using 1:2:3:4:ytic(5) with xerrorbars "
                "pt 7 ps 1.2 lw 2 lc rgb '#4477aa' title 'buyer_tactic', '' index 1 "
                "using 1:2:3:4:ytic(5) with xerrorbars pt 7 ps 1.2 lw 2 lc rgb '#ee7733' "
                "title 'seller_tactic'\n", tmpdir);
    else
        fprintf(gp, "set label 1 'no tactic level can be compared with none' at graph 0.5,0.5 "
                "center\nplot 1/0 notitle\nunset label 1\n");
    fprintf(gp, "unset arrow 1\n");
    return NS_OK;
}

/* ---- running gnuplot ----------------------------------------------------- */

static const char *term_for(const char *fmt)
{
    if (strcmp(fmt, "png") == 0)
        return "pngcairo size 1200,800 noenhanced font 'sans,12'";
    if (strcmp(fmt, "svg") == 0)
        return "svg size 1200,800 noenhanced font 'sans,12' background rgb 'white'";
    if (strcmp(fmt, "pdf") == 0)
        return "pdfcairo size 10in,6.7in noenhanced font 'sans,10'";
    return NULL;
}

/* Runs `prog` with stdin = script, stdout to /dev/null, stderr to errfile. */
static ns_status run_gnuplot(const char *prog, const char *script, const char *errfile,
                             ns_error *err)
{
    int ep[2];
    if (pipe(ep) != 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create a pipe");
    if (fcntl(ep[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(ep[1], F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot set up a pipe");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot start %s", prog);
    }
    if (pid == 0) {
        close(ep[0]);
        int in = open(script, O_RDONLY);
        int nul = open("/dev/null", O_WRONLY);
        int er = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = 0;
        if (in < 0 || nul < 0 || er < 0 || dup2(in, 0) < 0 || dup2(nul, 1) < 0 ||
            dup2(er, 2) < 0)
            e = errno ? errno : EIO;
        if (!e) {
            char *const argv[] = {(char *)prog, NULL};
            execvp(prog, argv);
            e = errno;
        }
        ssize_t w = write(ep[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(ep[1]);
    int child_err = 0;
    ssize_t got;
    do
        got = read(ep[0], &child_err, sizeof child_err);
    while (got < 0 && errno == EINTR);
    close(ep[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof child_err) {
        if (child_err == ENOENT || child_err == EACCES || child_err == ENOTDIR)
            return ns_fail(err, NS_ERR_IO, "gnuplot not found: install the Debian package "
                           "gnuplot-nox (cannot run '%s': %s)", prog, strerror(child_err));
        return ns_fail_errno(err, NS_ERR_IO, child_err, "cannot run gnuplot '%s'", prog);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char msg[600] = "";
        FILE *ef = fopen(errfile, "r");
        if (ef) {
            size_t n = fread(msg, 1, sizeof msg - 1, ef);
            msg[n] = '\0';
            fclose(ef);
            for (char *q = msg; *q; q++)
                if (*q == '\n')
                    *q = ' ';
        }
        return ns_fail(err, NS_ERR_IO, "gnuplot '%s' failed (%s %d): %s", prog,
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg);
    }
    return NS_OK;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4400];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static ns_status draw(const plotter *p, const char *dir, const char *fmt, const char *prog,
                      FILE *out, ns_error *err)
{
    char tmpdir[] = "/tmp/negsim-plot.XXXXXX";
    if (!mkdtemp(tmpdir))
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create a temporary folder in /tmp");
    char script[256], errfile[256], final[N_FIGS][4200], tmp[N_FIGS][4300];
    snprintf(script, sizeof script, "%s/plot.gp", tmpdir);
    snprintf(errfile, sizeof errfile, "%s/gnuplot.err", tmpdir);
    for (int i = 0; i < N_FIGS; i++) {
        snprintf(final[i], sizeof final[i], "%s/%s.%s", dir, fig_names[i], fmt);
        snprintf(tmp[i], sizeof tmp[i], "%.4199s.tmp", final[i]); /* fits: 4199 + 4 < 4300 */
    }
    ns_status st = NS_OK;
    FILE *gp = fopen(script, "w");
    if (!gp)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot create %s", script);
    typedef ns_status (*writer)(const plotter *, const char *, FILE *, ns_error *);
    static const writer writers[N_FIGS - 1] = {write_heat, write_deal, write_conv, write_surv};
    if (!st)
        fprintf(gp, "set terminal %s\nset encoding utf8\n", term_for(fmt));
    for (int i = 0; !st && i < N_FIGS; i++) {
        fprintf(gp, "reset\nset output '%s'\n", tmp[i]);
        st = i < N_FIGS - 1 ? writers[i](p, tmpdir, gp, err)
                            : write_forest(p, tmpdir, gp, out, err);
        fprintf(gp, "unset output\n");
    }
    if (gp) {
        int bad = ferror(gp) != 0;
        if (fclose(gp) != 0)
            bad = 1;
        if (!st && bad)
            st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot write %s", script);
    }
    if (!st)
        st = run_gnuplot(prog, script, errfile, err);
    for (int i = 0; !st && i < N_FIGS; i++) {
        struct stat sb;
        if (stat(tmp[i], &sb) != 0 || sb.st_size == 0)
            st = ns_fail(err, NS_ERR_IO, "gnuplot wrote no %s", tmp[i]);
    }
    for (int i = 0; !st && i < N_FIGS; i++) {
        if (rename(tmp[i], final[i]) != 0)
            st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot rename %s to %s", tmp[i],
                               final[i]);
        else if (out)
            fprintf(out, "wrote %s\n", final[i]);
    }
    for (int i = 0; i < N_FIGS; i++)
        unlink(tmp[i]);
    remove_tree(tmpdir);
    return st;
}

/* ---- entry point --------------------------------------------------------- */

static void plotter_free(plotter *p)
{
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < p->ax[k].n; i++) {
            free(p->ax[k].lv[i].time);
            free(p->ax[k].lv[i].event);
            free(p->ax[k].lv[i].conv);
        }
        free(p->ax[k].lv);
    }
    free(p->heat);
}

ns_status ns_plot_run(const char *results_path, const ns_plot_options *opt, FILE *out,
                      ns_error *err)
{
    const char *fmt = opt && opt->format ? opt->format : "png";
    const char *prog = opt && opt->gnuplot && opt->gnuplot[0] ? opt->gnuplot : "gnuplot";
    if (!term_for(fmt))
        return ns_fail(err, NS_ERR_USAGE, "unknown plot format '%s' (png, svg or pdf)", fmt);
    char dir[4096];
    size_t len = strlen(results_path);
    if (opt && opt->out_dir)
        snprintf(dir, sizeof dir, "%s", opt->out_dir);
    else if (len > 3 && strcmp(results_path + len - 3, ".h5") == 0)
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 3), results_path);
    else
        snprintf(dir, sizeof dir, "%s.plots", results_path);
    if (!dir[0] || !path_ok(dir))
        return ns_fail(err, NS_ERR_USAGE, "cannot plot into '%s': the output folder's path "
                       "may not be empty or contain quotes, backslashes or line breaks", dir);

    plotter *p = ns_xcalloc(1, sizeof *p);
    p->path = results_path;
    p->ax[0].name = "buyer_tactic";
    p->ax[0].buyer = 1;
    p->ax[1].name = "seller_tactic";
    p->heat = ns_xcalloc(N_PAIRS, sizeof *p->heat);

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
        st = scan_outcomes(p, f, err);
        for (int k = 0; !st && k < 2; k++)
            qsort(p->ax[k].lv, p->ax[k].n, sizeof *p->ax[k].lv, level_cmp);
        if (!st)
            st = scan_rounds(p, f, err);
        H5Fclose(f);
    }
    if (!st)
        st = ns_fs_mkdirs(dir, err);
    if (!st)
        st = draw(p, dir, fmt, prog, out, err);
    plotter_free(p);
    free(p);
    return st;
}
