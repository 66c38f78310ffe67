/*
 * test_spec.c - the sweep spec loader and the lazy job grid (ns_spec.h).
 *
 * Checks that good fixtures and every sweeps/ file loads; that ids decode
 * by mixed radix (against levels worked out by hand); that every job of a
 * small grid is a distinct combination; that filters keep exactly the jobs
 * a brute-force reading of the filter rules keeps; that seeds are distinct
 * and have a fixed byte layout; that Sobol designs are GSL's points; that a
 * 10-million-job sweep loads and decodes without being materialised; that
 * the digest follows the spec text; and that every bad fixture fails with
 * NS_ERR_INPUT at the right file:line and with words that explain it.
 *
 * Run from the repository root (ctest does).
 */
#include <dirent.h>
#include <gsl/gsl_qrng.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ns_agent.h"
#include "ns_catalog.h"
#include "ns_llm_config.h"
#include "ns_spec.h"

#include "ns_test.h"

#define CHECK_U64(exp, act, what)                                                  \
    do {                                                                           \
        uint64_t e_ = (exp), a_ = (act);                                           \
        CHECK(e_ == a_, "%s: expected %" PRIu64 ", got %" PRIu64, (what), e_, a_); \
    } while (0)
#define CHECK_DBL(exp, act, what)                                                  \
    do {                                                                           \
        double e_ = (exp), a_ = (act);                                             \
        CHECK(fabs(e_ - a_) < 1e-12, "%s: expected %.15g, got %.15g", (what), e_,  \
              a_);                                                                 \
    } while (0)

#define SPECS "tests/data/specs/"

static ns_spec *load(const char *path)
{
    ns_spec *s = NULL;
    ns_error err = {0};
    ns_status st = ns_spec_load(path, NULL, &s, &err);
    CHECK(st == NS_OK, "%s: expected to load, got %s: %s", path, ns_status_str(st),
          err.msg);
    return st == NS_OK ? s : NULL;
}

static const char *level(const ns_spec *s, int axis, uint64_t j)
{
    static char buf[256];
    return ns_spec_axis_level(s, axis, j, buf, sizeof buf);
}

static int tactic(const ns_spec *s, const char *name)
{
    return ns_catalog_find(ns_spec_catalog(s), NS_TACTIC, name);
}

static int influence(const ns_spec *s, const char *name)
{
    return ns_catalog_find(ns_spec_catalog(s), NS_INFLUENCE, name);
}

/* ------------------------------------------------------------------ */

static void test_defaults(void)
{
    ns_spec *s = load(SPECS "good_minimal.yaml");
    if (!s)
        return;
    CHECK_STR("good_minimal", ns_spec_name(s), "default name is the file stem");
    CHECK_U64(1, ns_spec_seed(s), "default seed");
    CHECK_U64(1, ns_spec_repetitions(s), "default repetitions");
    CHECK_U64(10, (uint64_t)ns_spec_max_rounds(s), "default max_rounds");
    CHECK(ns_spec_transcripts(s) == 1, "transcripts default to true");
    CHECK_STR("results/good_minimal.h5", ns_spec_output(s), "default output");
    CHECK_U64(1, ns_spec_grid_size(s), "grid size");
    CHECK_U64(1, ns_spec_job_count(s), "job count");
    CHECK_STR("", ns_spec_warnings(s), "no warnings");
    CHECK_U64(10, (uint64_t)ns_spec_axis_count(s), "axis count");
    CHECK_U64((uint64_t)ns_spec_scenario(s, 0)->n_issues,
              (uint64_t)ns_spec_max_issues(s), "max issues");
    ns_job job;
    CHECK(ns_spec_job(s, 0, &job) == 1, "job 0 runs");
    CHECK_U64(NS_BUYER, (uint64_t)job.opener, "default opener");
    CHECK_STR("used_car", job.sc->name, "scenario");
    for (int side = 0; side < 2; side++) {
        CHECK_STR("mid", job.side[side].personality, "default personality label");
        for (int t = 0; t < NS_N_TRAITS; t++)
            CHECK_DBL(0.5, job.side[side].trait[t], "default trait is mid");
        CHECK(job.side[side].tactic == 0 && job.side[side].influence == 0,
              "default techniques are none");
        CHECK_STR("builtin", job.side[side].agent, "default agent");
        CHECK(job.side[side].kind == ns_agent_kind_find("builtin"), "agent kind");
    }
    ns_spec_free(s);
    ns_spec_free(NULL);
}

/* good_grid.yaml: sizes 2,4,2,3,2,2,1,2 -> strides 192,48,24,8,4,2,2,1. */
typedef struct expect_job {
    uint64_t id;
    const char *scenario, *bpers, *spers, *btac, *binf, *stac, *sinf;
    uint32_t rep;
    double ba, bn; /* buyer agreeableness, neuroticism */
} expect_job;

static void check_job(const ns_spec *s, const expect_job *e)
{
    ns_job j;
    char what[64];
    snprintf(what, sizeof what, "job %" PRIu64, e->id);
    CHECK(ns_spec_job(s, e->id, &j) == 1, "%s runs", what);
    CHECK_U64(e->id, j.id, what);
    CHECK_STR(e->scenario, j.sc->name, what);
    CHECK_STR(e->bpers, j.side[NS_BUYER].personality, what);
    CHECK_STR(e->spers, j.side[NS_SELLER].personality, what);
    CHECK_U64((uint64_t)tactic(s, e->btac), (uint64_t)j.side[NS_BUYER].tactic, what);
    CHECK_U64((uint64_t)influence(s, e->binf), (uint64_t)j.side[NS_BUYER].influence, what);
    CHECK_U64((uint64_t)tactic(s, e->stac), (uint64_t)j.side[NS_SELLER].tactic, what);
    CHECK_U64((uint64_t)influence(s, e->sinf), (uint64_t)j.side[NS_SELLER].influence,
              what);
    CHECK_U64(e->rep, j.repetition, what);
    CHECK_U64(e->rep % 2 ? NS_SELLER : NS_BUYER, (uint64_t)j.opener, "alternate opener");
    CHECK_DBL(e->ba, j.side[NS_BUYER].trait[NS_A], what);
    CHECK_DBL(e->bn, j.side[NS_BUYER].trait[NS_N], what);
    CHECK_DBL(0.5, j.side[NS_BUYER].trait[NS_O], what);
    const ns_personality *arch = ns_catalog_archetype(ns_spec_catalog(s), e->spers);
    for (int t = 0; arch && t < NS_N_TRAITS; t++)
        CHECK_DBL(arch->trait[t], j.side[NS_SELLER].trait[t], "archetype traits");
}

static void test_grid(void)
{
    ns_spec *s = load(SPECS "good_grid.yaml");
    if (!s)
        return;
    /* built-in sides: one model level each, so ids are as with 8 axes */
    static const char *const names[10] = {
        "scenario", "buyer.model", "seller.model", "buyer.personality",
        "seller.personality", "buyer.tactic", "buyer.influence", "seller.tactic",
        "seller.influence", "repetition"};
    static const uint64_t sizes[10] = {2, 1, 1, 4, 2, 3, 2, 2, 1, 2};
    uint64_t product = 1;
    for (int a = 0; a < 10; a++) {
        ns_axis_info ai = ns_spec_axis(s, a);
        CHECK_STR(names[a], ai.name, "axis name");
        CHECK_U64(sizes[a], ai.n_levels, names[a]);
        product *= ai.n_levels;
    }
    CHECK_U64(384, product, "product of axis sizes");
    CHECK_U64(product, ns_spec_grid_size(s), "grid size");
    CHECK_U64(product, ns_spec_job_count(s), "job count without filters");
    CHECK_STR("grid_fixture", ns_spec_name(s), "name");
    CHECK_U64(7, ns_spec_seed(s), "seed");
    CHECK_U64(12, (uint64_t)ns_spec_max_rounds(s), "max_rounds");
    CHECK(ns_spec_transcripts(s) == 0, "transcripts: false");
    CHECK_STR("results/grid_fixture.h5", ns_spec_output(s), "output.file");

    /* Trait labels list traits in O,C,E,A,N order, the last varying
     * fastest, whatever order the spec lists them in. */
    CHECK_STR("A=low,N=0.2", level(s, 3, 0), "buyer personality level 0");
    CHECK_STR("A=low,N=0.8", level(s, 3, 1), "buyer personality level 1");
    CHECK_STR("A=high,N=0.2", level(s, 3, 2), "buyer personality level 2");
    CHECK_STR("A=high,N=0.8", level(s, 3, 3), "buyer personality level 3");
    CHECK_STR("competitive", level(s, 4, 1), "seller personality level 1");
    CHECK_STR("conceder", level(s, 5, 2), "buyer tactic level 2");
    CHECK_STR("reciprocity", level(s, 8, 0), "seller influence level 0");
    CHECK_STR("1", level(s, 9, 1), "repetition level 1");
    CHECK_STR("supplier_contract", level(s, 0, 1), "scenario level 1");

    double lo, hi;
    ns_catalog_level(ns_spec_catalog(s), "low", &lo);
    ns_catalog_level(ns_spec_catalog(s), "high", &hi);
    const expect_job jobs[] = {
        /* 0: every index 0 */
        {0, "used_car", "A=low,N=0.2", "cooperative", "none", "none", "none",
         "reciprocity", 0, lo, 0.2},
        /* 100 = 0*192 + 2*48 + 0*24 + 0*8 + 1*4 + 0*2 + 0 */
        {100, "used_car", "A=high,N=0.2", "cooperative", "none", "scarcity", "none",
         "reciprocity", 0, hi, 0.2},
        /* 237 = 1*192 + 0*48 + 1*24 + 2*8 + 1*4 + 0*2 + 1 */
        {237, "supplier_contract", "A=low,N=0.2", "competitive", "conceder",
         "scarcity", "none", "reciprocity", 1, lo, 0.2},
        /* 383 = 1*192 + 3*48 + 1*24 + 2*8 + 1*4 + 1*2 + 1: the last id */
        {383, "supplier_contract", "A=high,N=0.8", "competitive", "conceder",
         "scarcity", "anchoring", "reciprocity", 1, hi, 0.8},
        /* 57 = 0*192 + 1*48 + 0*24 + 1*8 + 0*4 + 0*2 + 1 */
        {57, "used_car", "A=low,N=0.8", "cooperative", "boulware", "none", "none",
         "reciprocity", 1, lo, 0.8},
    };
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++)
        check_job(s, &jobs[i]);
    ns_spec_free(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every job of the grid is a different combination, and seeds differ. */
static void test_distinct(void)
{
    ns_spec *s = load(SPECS "good_grid.yaml");
    if (!s)
        return;
    uint64_t n = ns_spec_grid_size(s);
    char **keys = calloc(n, sizeof *keys);
    uint64_t *seeds = calloc(n, sizeof *seeds);
    int all_run = 1;
    for (uint64_t id = 0; id < n; id++) {
        ns_job j;
        all_run &= ns_spec_job(s, id, &j);
        char buf[256];
        snprintf(buf, sizeof buf, "%d|%s|%s|%d|%d|%d|%d|%u", j.scenario_index,
                 j.side[0].personality, j.side[1].personality, j.side[0].tactic,
                 j.side[0].influence, j.side[1].tactic, j.side[1].influence,
                 j.repetition);
        keys[id] = strdup(buf);
        seeds[id] = j.seed;
        if (j.seed != ns_job_seed(7, id))
            all_run = 0;
    }
    CHECK(all_run, "every job runs and carries ns_job_seed(master, id)");
    qsort(keys, n, sizeof *keys, cmp_str);
    qsort(seeds, n, sizeof *seeds, cmp_u64);
    uint64_t dup_keys = 0, dup_seeds = 0;
    for (uint64_t i = 1; i < n; i++) {
        dup_keys += strcmp(keys[i - 1], keys[i]) == 0;
        dup_seeds += seeds[i - 1] == seeds[i];
    }
    CHECK_U64(0, dup_keys, "jobs decoding to the same combination");
    CHECK_U64(0, dup_seeds, "jobs sharing a seed");
    for (uint64_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(seeds);
    ns_spec_free(s);
}

/* The seed layout is part of the results format: pin it. */
static void test_seed_layout(void)
{
    unsigned char b[16];
    uint64_t master = UINT64_C(20261121), id = UINT64_C(0x0102030405060708);
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(master >> (8 * i));
        b[8 + i] = (unsigned char)(id >> (8 * i));
    }
    CHECK_U64(XXH64(b, 16, 0), ns_job_seed(master, id),
              "seed = XXH64(le64(master) || le64(id), 0)");
    CHECK(ns_job_seed(1, 0) != ns_job_seed(1, 1), "ids give different seeds");
    CHECK(ns_job_seed(1, 5) != ns_job_seed(2, 5), "master seeds give different seeds");
    CHECK(ns_job_seed(1, 2) != ns_job_seed(2, 1), "the two values are not symmetric");
    CHECK_U64(ns_job_seed(3, 4), ns_job_seed(3, 4), "seeds are stable");
}

/* The filter rules of good_filters.yaml, read independently of ns_spec:
 * brute force over every id. */
static void test_filters(void)
{
    ns_spec *s = load(SPECS "good_filters.yaml");
    if (!s)
        return;
    int boulware = tactic(s, "boulware"), scarcity = influence(s, "scarcity");
    uint64_t n = ns_spec_grid_size(s), kept = 0, disagree = 0;
    for (uint64_t id = 0; id < n; id++) {
        ns_job j;
        int run = ns_spec_job(s, id, &j);
        int ex1 = j.side[0].tactic == boulware && j.side[1].tactic == boulware;
        int ex2 = !strcmp(j.side[0].personality, "A=high,N=0.8") &&
                  !strcmp(j.side[1].personality, "competitive") && j.repetition == 1;
        int inc = !strcmp(j.sc->name, "used_car") ||
                  (!strcmp(j.sc->name, "supplier_contract") &&
                   j.side[0].influence == scarcity && j.side[1].influence == 0);
        int expect = !ex1 && !ex2 && inc;
        kept += (uint64_t)expect;
        if (expect != run && disagree++ < 5)
            fprintf(stderr, "  job %" PRIu64 ": filters say %d, brute force %d\n", id,
                    run, expect);
    }
    CHECK_U64(0, disagree, "jobs where ns_spec_job disagrees with brute force");
    CHECK_U64(kept, ns_spec_job_count(s), "job count under filters");
    CHECK(kept > 0 && kept < n, "the filters keep some jobs and drop others");
    ns_spec_free(s);
}

/* Sobol points are GSL's, in order; uniform points are in [0,1] and the
 * same on every load; a filter on sampled levels drops what it names. */
static void test_samples(void)
{
    ns_spec *s = load(SPECS "good_sample.yaml");
    ns_spec *again = load(SPECS "good_sample.yaml");
    if (!s || !again) {
        ns_spec_free(s);
        ns_spec_free(again);
        return;
    }
    CHECK_U64(16 * 8, ns_spec_grid_size(s), "grid size");
    CHECK_U64(14 * 8, ns_spec_job_count(s), "job count without sobol#0 and sobol#3");
    gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, 2);
    uint64_t bad_sobol = 0, bad_uniform = 0, bad_filter = 0, same = 0;
    double first_uniform = -1;
    for (uint64_t k = 0; k < 16; k++) {
        double x[2];
        gsl_qrng_get(q, x);
        for (uint64_t m = 0; m < 8; m++) {
            uint64_t id = k * 8 + m; /* buyer personality stride is 8 */
            ns_job j, j2;
            int run = ns_spec_job(s, id, &j);
            ns_spec_job(again, id, &j2);
            const double *bt = j.side[NS_BUYER].trait, *st = j.side[NS_SELLER].trait;
            if (bt[NS_A] != x[0] || bt[NS_N] != x[1] || bt[NS_O] != 0.5 ||
                bt[NS_C] != 0.5 || bt[NS_E] != 0.5)
                bad_sobol++;
            char label[32];
            snprintf(label, sizeof label, "sobol#%" PRIu64, k);
            if (strcmp(label, j.side[NS_BUYER].personality) != 0)
                bad_sobol++;
            snprintf(label, sizeof label, "uniform#%" PRIu64, m);
            if (strcmp(label, j.side[NS_SELLER].personality) != 0)
                bad_uniform++;
            for (int t = 0; t < NS_N_TRAITS; t++) {
                if (!(st[t] >= 0 && st[t] <= 1) || st[t] != j2.side[NS_SELLER].trait[t])
                    bad_uniform++;
                if (first_uniform < 0)
                    first_uniform = st[t];
                else
                    same += st[t] == first_uniform;
            }
            if (run != (k != 0 && k != 3))
                bad_filter++;
        }
        CHECK(x[0] >= 0 && x[0] <= 1 && x[1] >= 0 && x[1] <= 1, "sobol in [0,1]");
    }
    gsl_qrng_free(q);
    CHECK_U64(0, bad_sobol, "jobs whose buyer is not the next gsl_qrng_sobol point");
    CHECK_U64(0, bad_uniform, "uniform points outside [0,1] or not reproducible");
    CHECK(same < 8 * 16 * 5 - 1, "uniform points vary");
    CHECK_U64(0, bad_filter, "jobs where the sobol#0/sobol#3 filter is wrong");
    ns_spec_free(s);
    ns_spec_free(again);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Ten million jobs: size and count at once, decode the last id, never
 * touch the rest. */
static void test_large(void)
{
    double t0 = now();
    ns_spec *s = load("sweeps/large_10m.yaml");
    if (!s)
        return;
    uint64_t n = ns_spec_grid_size(s), count = ns_spec_job_count(s);
    double t1 = now();
    CHECK_U64(10000000, n, "sweeps/large_10m.yaml grid size");
    CHECK_U64(n, count, "large_10m job count (no filters)");
    CHECK(t1 - t0 < 5.0, "loading and counting 10M jobs took %.2f s", t1 - t0);
    ns_job j;
    uint64_t last = n - 1;
    CHECK(ns_spec_job(s, last, &j) == 1, "last id runs");
    CHECK_U64(last, j.id, "last id");
    CHECK_U64((uint64_t)ns_spec_scenario_count(s) - 1, (uint64_t)j.scenario_index,
              "last id has the last scenario");
    CHECK_U64(ns_spec_repetitions(s) - 1, j.repetition, "last id: last repetition");
    for (int a = 1; a < 9; a++) {
        ns_axis_info ai = ns_spec_axis(s, a);
        CHECK_STR(level(s, a, ai.n_levels - 1),
                  a == 1 || a == 2 ? j.side[a - 1].agent
                  : a == 3 || a == 4 ? j.side[a - 3].personality
                  : a == 5 ? ns_catalog_technique(ns_spec_catalog(s), NS_TACTIC, j.side[0].tactic)->name
                  : a == 6 ? ns_catalog_technique(ns_spec_catalog(s), NS_INFLUENCE, j.side[0].influence)->name
                  : a == 7 ? ns_catalog_technique(ns_spec_catalog(s), NS_TACTIC, j.side[1].tactic)->name
                  : ns_catalog_technique(ns_spec_catalog(s), NS_INFLUENCE, j.side[1].influence)->name,
                  ai.name);
    }
    /* 100,000 ids spread over the grid: decoding is cheap wherever the id
     * lies (a few milliseconds here; the bound leaves room for valgrind). */
    double t2 = now();
    uint64_t odd = 0;
    for (uint64_t id = 0; id < n; id += 100) {
        ns_spec_job(s, id, &j);
        odd += j.seed & 1;
    }
    double t3 = now();
    CHECK(odd > 0 && t3 - t2 < 30.0, "decoding 100k ids took %.2f s", t3 - t2);
    ns_spec_free(s);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc((size_t)n + 1, 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        buf[0] = '\0';
    fclose(f);
    return buf;
}

static uint64_t digest_of_text(const char *text)
{
    char path[] = "/tmp/negsim_test_spec_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    ns_spec *s = NULL;
    ns_error err = {0};
    /* The copy lives in /tmp, away from the data: name the data folder. */
    ns_status st = ns_spec_load(path, ".", &s, &err);
    CHECK(st == NS_OK, "temporary spec loads: %s", err.msg);
    uint64_t d = s ? ns_spec_digest(s) : 0;
    ns_spec_free(s);
    unlink(path);
    return d;
}

static void test_digest(void)
{
    char *text = read_text(SPECS "good_grid.yaml");
    CHECK(text != NULL, "read good_grid.yaml");
    if (!text)
        return;
    uint64_t a = digest_of_text(text), b = digest_of_text(text);
    CHECK(a != 0 && a == b, "same text, same digest (%016" PRIx64 " vs %016" PRIx64 ")",
          a, b);
    size_t n = strlen(text);
    char *more = malloc(n + 64);
    memcpy(more, text, n);
    strcpy(more + n, "# one more comment\n");
    uint64_t c = digest_of_text(more);
    CHECK(c != 0 && c != a, "a changed spec text changes the digest");
    ns_spec *s = load(SPECS "good_grid.yaml");
    CHECK(s && ns_spec_digest(s) == a, "the digest does not depend on the path");
    CHECK_STR(text, s ? ns_spec_text(s) : NULL, "ns_spec_text is the file's text");
    ns_spec_free(s);
    free(more);
    free(text);
}

/* Scenario paths, inline scenarios, and the empty-ZOPA warning. */
static void test_paths(void)
{
    ns_spec *s = load(SPECS "good_paths.yaml");
    if (!s)
        return;
    static const char *const names[4] = {"empty_zopa", "supplier_contract",
                                         "office_lease", "inline_car"};
    CHECK_U64(4, (uint64_t)ns_spec_scenario_count(s), "scenario count");
    int max = 0;
    for (int i = 0; i < 4 && i < ns_spec_scenario_count(s); i++) {
        CHECK_STR(names[i], ns_spec_scenario(s, i)->name, "scenario name");
        if (ns_spec_scenario(s, i)->n_issues > max)
            max = ns_spec_scenario(s, i)->n_issues;
    }
    CHECK_U64((uint64_t)max, (uint64_t)ns_spec_max_issues(s), "max issues");
    const char *w = ns_spec_warnings(s);
    CHECK(strstr(w, "empty_zopa.yaml: empty ZOPA: ") != NULL, "ZOPA warning, got '%s'", w);
    int lines = 0;
    for (const char *p = w; *p; p++)
        lines += *p == '\n';
    CHECK_U64(1, (uint64_t)lines, "one warning line");
    ns_spec_free(s);
}

static void test_long_labels(void)
{
    ns_spec *s = load(SPECS "good_long_labels.yaml");
    if (!s)
        return;
    CHECK_U64(32, ns_spec_grid_size(s), "grid size");
    CHECK_STR("O=0.25,C=0.25,E=0.25,A=0.25,N=0.25", level(s, 3, 0), "full label");
    CHECK_STR("O=0.75,C=0.75,E=0.75,A=0.75,N=0.25", level(s, 3, 30), "full label");
    ns_job j;
    ns_spec_job(s, 30, &j);
    CHECK_STR("grid#30", j.side[NS_BUYER].personality, "too long for the row: grid#K");
    CHECK_DBL(0.75, j.side[NS_BUYER].trait[NS_O], "trait O");
    CHECK_DBL(0.25, j.side[NS_BUYER].trait[NS_N], "trait N");
    CHECK_U64(NS_SELLER, (uint64_t)j.opener, "opener: seller");
    ns_spec_free(s);
}

/* An LLM spec: the model axis, the judge, endpoints and their limits. */
static void test_llm(void)
{
    ns_spec *s = load(SPECS "good_llm.yaml");
    if (!s)
        return;
    CHECK(ns_spec_has_llm(s) == 1, "has_llm");
    CHECK_U64(2 * 2 * 2, ns_spec_grid_size(s), "models x tactics x repetitions");
    CHECK_STR("buyer.model", ns_spec_axis(s, 1).name, "axis 1");
    CHECK_STR("local:llama-3.1-8b", level(s, 1, 1), "model level 1");
    CHECK_STR("builtin", level(s, 2, 0), "built-in seller's model level");
    ns_job j;
    /* model varies slower than tactic and repetition: id 4 is model 1 */
    ns_spec_job(s, 4, &j);
    CHECK_STR("local:llama-3.1-8b", j.side[NS_BUYER].model, "job 4's buyer model");
    CHECK_STR("llama-3.1-8b", j.side[NS_BUYER].llm->id, "model id after the colon");
    CHECK_STR("", j.side[NS_SELLER].model, "built-in seller has no model");
    CHECK(j.side[NS_SELLER].llm == NULL, "built-in seller: no llm");
    const ns_llm_config *c = ns_spec_llm(s);
    CHECK(c->has_judge && strcmp(c->judge.full, "anthropic:claude-3-5-haiku-latest") == 0,
          "judge model");
    CHECK_STR("German", c->judge_language, "judge language");
    CHECK_U64(4, (uint64_t)c->window, "window");
    CHECK_U64(300, (uint64_t)c->max_tokens, "max_tokens");
    CHECK_DBL(0.2, c->temperature, "temperature");
    CHECK_U64(1, (uint64_t)c->n_fallbacks, "fallbacks");
    int local = j.side[NS_BUYER].llm->endpoint;
    CHECK(c->endpoint[local].provider == NS_PROVIDER_OPENAI_COMPATIBLE, "local's kind");
    CHECK_STR("http://127.0.0.1:8000/v1", c->endpoint[local].base_url, "local's base_url");
    CHECK_STR("LOCAL_KEY", c->endpoint[local].key_env, "local's key variable");
    ns_spec_job(s, 0, &j);
    const ns_llm_endpoint *oa = &c->endpoint[j.side[NS_BUYER].llm->endpoint];
    CHECK_STR("OPENAI_API_KEY", oa->key_env, "openai's default key variable");
    CHECK_U64(8, (uint64_t)oa->http.max_inflight, "openai max_inflight");
    CHECK_DBL(60, oa->http.requests_per_minute, "openai requests_per_minute");
    CHECK(strncmp(oa->base_url, "https://", 8) == 0, "openai's default base URL");
    ns_spec_free(s);
}

/* One fixture per error: NS_ERR_INPUT, located at file:line, with words
 * that say what was wrong and what was expected. line 0: the error comes
 * from another file (its module's location). */
typedef struct bad_case {
    const char *file;
    const char *where;   /* message prefix; NULL: SPECS file ":" line ":" */
    int line;
    const char *words[3];
} bad_case;

static const bad_case bad_cases[] = {
    {"bad_unknown_key.yaml", NULL, 3, {"unknown key 'repetition'", "repetitions"}},
    {"bad_unknown_trait.yaml", NULL, 6,
     {"unknown trait 'agreeablness'",
      "(expected one of: openness, conscientiousness, extraversion, agreeableness, "
      "neuroticism)"}},
    {"bad_level_range.yaml", NULL, 6, {"neuroticism level 1.5", "outside [0,1]"}},
    {"bad_level_name.yaml", NULL, 6, {"unknown level 'medium'", "low, mid, high"}},
    {"bad_empty_axis.yaml", NULL, 4, {"buyer.tactics", "empty list"}},
    {"bad_missing_scenario.yaml", NULL, 4,
     {"unknown scenario 'used_cars'", "scenarios/used_cars.yaml", "used_car"}},
    {"bad_missing_scenario_path.yaml", NULL, 4,
     {"not found", SPECS "extra/no_such_scenario.yaml"}},
    {"bad_unknown_tactic.yaml", NULL, 4,
     {"unknown tactic 'bulware'", "expected one of: none", "boulware"}},
    {"bad_unknown_influence.yaml", NULL, 4,
     {"unknown influence technique 'boulware'", "scarcity"}},
    {"bad_unknown_archetype.yaml", NULL, 5, {"unknown archetype 'grumpy'", "cooperative"}},
    {"bad_agent_kind.yaml", NULL, 4, {"unknown agent kind 'gpt-9'", "builtin, llm"}},
    {"bad_llm_no_model.yaml", NULL, 4, {"agent llm needs a model"}},
    {"bad_llm_model_builtin.yaml", NULL, 5, {"only an agent: llm side has a model"}},
    {"bad_llm_model_form.yaml", NULL, 5, {"model 'gpt-4o-mini'", "ENDPOINT:MODEL"}},
    {"bad_llm_endpoint.yaml", NULL, 5, {"unknown endpoint 'vllm'", "llm.providers"}},
    {"bad_llm_kind.yaml", NULL, 6, {"unknown provider kind 'openai-compatibel'"}},
    {"bad_llm_base_url.yaml", NULL, 5, {"needs a base_url"}},
    {"bad_llm_limit.yaml", NULL, 5, {"max_inflight must be between 1"}},
    {"bad_llm_judge.yaml", NULL, 4, {"missing key 'model'"}},
    {"bad_personality_two.yaml", NULL, 6, {"exactly one of traits, archetypes, sample"}},
    {"bad_sample_n.yaml", NULL, 5, {"sample n must be between 1 and 1000000", "found 0"}},
    {"bad_sample_design.yaml", NULL, 6, {"unknown design 'halton'", "sobol, uniform"}},
    {"bad_filter_key.yaml", NULL, 7, {"unknown key 'buyer.tactics'", "buyer.tactic"}},
    {"bad_filter_value.yaml", NULL, 7,
     {"'conceder' is not a level of buyer.tactic", "none, boulware"}},
    {"bad_filter_sample.yaml", NULL, 8,
     {"'sobol#16' is not a level of buyer.personality", "sobol#0, sobol#1",
      "(16 levels)"}},
    {"bad_filter_repetition.yaml", NULL, 6, {"repetition 2", "0 to 1"}},
    {"bad_max_rounds.yaml", NULL, 3, {"max_rounds must be between 1 and 500", "found 0"}},
    {"bad_repetitions.yaml", NULL, 3, {"repetitions must be between 1", "found -1"}},
    {"bad_seed_negative.yaml", NULL, 2, {"seed", "whole number from 0", "'-5'"}},
    {"bad_duplicate_level.yaml", NULL, 7,
     {"duplicate level 'boulware'", "already listed at line 6, column 7"}},
    {"bad_duplicate_value.yaml", NULL, 7,
     {"duplicate level '0.2'", "same as 'low' at line 7, column 23"}},
    {"bad_duplicate_scenario.yaml", NULL, 4, {"duplicate level 'used_car'"}},
    {"bad_grid_too_large.yaml", NULL, 7, {"more than 2^63 jobs", "buyer.personality"}},
    {"bad_opener.yaml", NULL, 3, {"unknown opener 'random'", "alternate"}},
    {"bad_side_key.yaml", NULL, 4, {"unknown key 'tactic'", "tactics"}},
    {"bad_output_key.yaml", NULL, 4, {"unknown key 'path'", "file, transcripts"}},
    {"bad_no_scenarios.yaml", NULL, 2, {"missing key 'scenarios'"}},
    {"bad_empty_filter.yaml", NULL, 4, {"filters.exclude: entry 1 is empty"}},
    {"bad_empty_value.yaml", NULL, 4, {"'tactics' has no value"}},
    {"bad_inline_scenario.yaml", NULL, 9, {"range"}},
    {"bad_scenario_file.yaml", SPECS "../scenarios/bad_range.yaml:", 0, {"range"}},
    {"bad_yaml_syntax.yaml", SPECS "bad_yaml_syntax.yaml:", 0, {"invalid YAML"}},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char path[256], prefix[300];
        snprintf(path, sizeof path, SPECS "%s", c->file);
        if (c->where)
            snprintf(prefix, sizeof prefix, "%s", c->where);
        else
            snprintf(prefix, sizeof prefix, "%s:%d:", path, c->line);
        ns_spec *s = NULL;
        ns_error err = {0};
        ns_status st = ns_spec_load(path, NULL, &s, &err);
        CHECK(st == NS_ERR_INPUT, "%s: expected %s, got %s (%s)", c->file,
              ns_status_str(NS_ERR_INPUT), ns_status_str(st), err.msg);
        CHECK(s == NULL, "%s: no spec on failure", c->file);
        ns_spec_free(s);
        CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0,
              "%s: expected the message to start with '%s', got '%s'", c->file, prefix,
              err.msg);
        for (int w = 0; w < 3 && c->words[w]; w++)
            CHECK(strstr(err.msg, c->words[w]) != NULL,
                  "%s: expected the message to contain '%s', got '%s'", c->file,
                  c->words[w], err.msg);
    }
}

/* Every fixture named good_* and every shipped sweep loads; the demo is
 * the size its comments promise. */
static void test_all_good(void)
{
    static const char *const dirs[2] = {SPECS, "sweeps/"};
    int n_sweeps = 0;
    for (int d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        CHECK(dir != NULL, "open %s", dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
                continue;
            if (d == 0 && strncmp(e->d_name, "good_", 5) != 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s%s", dirs[d], e->d_name);
            ns_spec *s = load(path);
            if (s) {
                CHECK(ns_spec_job_count(s) > 0, "%s has jobs", path);
                CHECK_U64(0, strlen(ns_spec_warnings(s)) * (d == 1),
                          "warnings in a shipped sweep");
            }
            n_sweeps += d == 1;
            ns_spec_free(s);
        }
        if (dir)
            closedir(dir);
    }
    CHECK(n_sweeps >= 5, "sweeps/ holds the example sweeps (found %d)", n_sweeps);

    ns_spec *demo = load("sweeps/demo.yaml");
    if (demo) {
        uint64_t n = ns_spec_job_count(demo);
        CHECK(n >= 20000 && n <= 60000, "demo runs 20k-60k jobs, has %" PRIu64, n);
        CHECK_U64(25920, n, "demo job count, as its comments say");
        CHECK_U64(27648, ns_spec_grid_size(demo), "demo grid size");
        CHECK_U64(3, (uint64_t)ns_spec_scenario_count(demo), "demo covers 3 scenarios");
        CHECK_STR("results/demo.h5", ns_spec_output(demo), "demo output");
        /* The worked example of docs/sweep-spec.md. */
        ns_job j;
        ns_spec_job(demo, 1000, &j);
        CHECK_STR("used_car", j.sc->name, "demo job 1000 scenario");
        CHECK_STR("A=low,N=low", j.side[0].personality, "demo job 1000 buyer");
        CHECK_STR("A=low,N=high", j.side[1].personality, "demo job 1000 seller");
        CHECK_U64((uint64_t)tactic(demo, "conceder"), (uint64_t)j.side[0].tactic,
                  "demo job 1000 buyer tactic");
        CHECK_U64((uint64_t)influence(demo, "reciprocity"), (uint64_t)j.side[0].influence,
                  "demo job 1000 buyer influence");
        CHECK_U64((uint64_t)tactic(demo, "deadline_pressure"), (uint64_t)j.side[1].tactic,
                  "demo job 1000 seller tactic");
        CHECK_U64((uint64_t)influence(demo, "authority"), (uint64_t)j.side[1].influence,
                  "demo job 1000 seller influence");
        CHECK_U64(0, j.repetition, "demo job 1000 repetition");
    }
    ns_spec_free(demo);
}

/* An explicit data folder is used as given; a wrong one fails cleanly. */
static void test_data_dir(void)
{
    ns_spec *s = NULL;
    ns_error err = {0};
    ns_status st = ns_spec_load(SPECS "good_minimal.yaml", ".", &s, &err);
    CHECK(st == NS_OK, "data dir '.': %s", err.msg);
    ns_spec_free(s);
    s = NULL;
    st = ns_spec_load(SPECS "good_minimal.yaml", "/nonexistent-negsim", &s, &err);
    CHECK(st != NS_OK && s == NULL, "a data dir without personalities/ fails");
    CHECK(strstr(err.msg, "/nonexistent-negsim") != NULL,
          "the error names the folder: '%s'", err.msg);
    st = ns_spec_load(SPECS "no_such_spec.yaml", NULL, &s, &err);
    CHECK(st == NS_ERR_INPUT && strstr(err.msg, "no_such_spec.yaml"),
          "a missing spec file is named: '%s'", err.msg);
}

int main(void)
{
    test_defaults();
    test_grid();
    test_distinct();
    test_seed_layout();
    test_filters();
    test_samples();
    test_large();
    test_digest();
    test_paths();
    test_long_labels();
    test_llm();
    test_bad();
    test_all_good();
    test_data_dir();
    return ns_test_report("test_spec");
}
