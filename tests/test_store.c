/*
 * test_store.c - the HDF5 results file: tables, attributes and scenario
 * groups as written by ns_store, read back through HDF5 itself; chunks
 * deflated by the store's thread pool (several in flight, flushes and
 * thread changes midway) give the same tables, chunk for chunk, as chunks
 * deflated on the writer thread; the same rows through the journal (a
 * resumed run) give identical tables; blocks without texts; and the
 * readers behind `negsim info`, `show` and `export`. LLM runs
 * (test_llm): every LLM column read back through HDF5 equals the rows
 * appended, texts from the arena are cut at a UTF-8 boundary and flagged,
 * the text column is UTF-8, pool and journal give the same tables, h5py
 * reads the file (tests/read_results.py), show and export print them.
 */
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_engine.h"
#include "ns_frontier.h"
#include "ns_journal.h"
#include "ns_results.h"
#include "ns_store.h"

#include "ns_test.h"

enum { N_BLOCKS = 18, BLOCK_IDS = 600 };

static char dir[64];
static ns_block blocks[N_BLOCKS];
static uint64_t n_jobs, n_turns;

/* ---- synthetic rows ---------------------------------------------------- */

/* Jobs whose id is a multiple of 3 are used_car (1 issue), the others
 * supplier_contract (5 issues; issue 3, payment_terms, is discrete). */
static int is_car(uint64_t id) { return id % 3 == 0; }
static int turns_of(uint64_t id) { return (int)(id % 10); }
static double value_of(uint64_t id, int t, int i)
{
    if (is_car(id))
        return i == 0 ? 9000.0 + 50.0 * t : NAN;
    if (i == 3)
        return (double)(t % 4); /* option index */
    return i < 5 ? 0.1 * (double)id + t / 3.0 + i : NAN;
}

static void text_of(uint64_t id, int t, char *out, size_t size)
{
    if (id == 7 && t == 1)
        snprintf(out, size, "He said \"deal\", then left");
    else
        snprintf(out, size, "message %d of job %" PRIu64, t, id);
}

/* Texts are filled when the block has them (b->has_texts); otherwise they
 * stay uninitialised, as the engine leaves them. */
static void add_job_turns(ns_block *b, uint64_t id, int garbage, int turns);
static void add_job(ns_block *b, uint64_t id, int garbage)
{
    add_job_turns(b, id, garbage, turns_of(id));
}

static void add_job_turns(ns_block *b, uint64_t id, int garbage, int turns)
{
    size_t k = ns_block_add_job(b);
    ns_job_row *j = &b->jobs[k];
    ns_outcome_row *o = &b->outcomes[k];
    j->job_id = o->job_id = id;
    j->seed = UINT64_MAX - id; /* needs all 64 bits */
    j->repetition = (uint32_t)(id % 2);
    j->scenario_index = is_car(id) ? 0 : 1;
    NS_SET(j->scenario, is_car(id) ? "used_car" : "supplier_contract");
    NS_SET(j->opener, id % 2 ? "seller" : "buyer");
    for (int s = 0; s < 2; s++) {
        NS_SET(j->agent[s], "builtin");
        NS_SET(j->personality[s], s ? "cooperative" : "grid");
        NS_SET(j->tactic[s], s ? "anchoring" : "boulware");
        NS_SET(j->influence[s], "none");
        for (int t = 0; t < NS_N_TRAITS; t++)
            j->trait[s][t] = 0.1 * t + 0.05 * s;
    }
    o->deal = (int8_t)(turns % 2);
    NS_SET(o->ending, o->deal ? "agreement" : "walkaway");
    NS_SET(o->closed_by, "seller");
    o->rounds = (turns + 1) / 2;
    o->turns = turns;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        o->value[i] = o->deal ? value_of(id, turns - 1, i) : NAN;
    o->utility[0] = 1.0 / 3.0 + (double)id * 1e-7;
    o->utility[1] = 2.0 / 3.0;
    o->joint_utility = o->utility[0] + o->utility[1];
    o->nash_product = o->utility[0] * o->utility[1];
    o->pareto_distance = o->deal ? 0.1 : NAN;
    o->nash_distance = o->deal ? 0.2 : NAN;
    o->surplus_share[0] = o->surplus_share[1] = o->deal ? 0.5 : NAN;
    for (int t = 0; t < turns; t++) {
        size_t r = ns_block_add_turn(b);
        ns_turn_row *u = &b->turns[r];
        u->job_id = id;
        u->round = t / 2 + 1;
        u->turn = t;
        NS_SET(u->speaker, t % 2 ? "seller" : "buyer");
        NS_SET(u->action, t == turns - 1 && o->deal ? "accept" : "offer");
        for (int i = 0; i < NS_MAX_ISSUES; i++)
            u->value[i] = value_of(id, t, i);
        u->utility[0] = t / 10.0;
        u->utility[1] = 1.0 - t / 10.0;
        /* an LLM block has no texts[] rows: its texts are in the arena */
        if (!b->has_texts || b->has_llm)
            continue;
        /* the engine's renderer zero-pads texts; `garbage` checks the store
         * does not depend on it */
        ns_transcript_row *x = &b->texts[r];
        memset(x, garbage ? 0x5a : 0, sizeof *x);
        x->job_id = id;
        x->turn = t;
        NS_SET(x->speaker, u->speaker);
        text_of(id, t, x->text, sizeof x->text);
    }
}

/* Blocks of BLOCK_IDS grid indices; ids that are 5 mod 7 are "filtered". */
static void make_blocks(int garbage, int texts)
{
    n_jobs = n_turns = 0;
    for (int b = 0; b < N_BLOCKS; b++) {
        ns_block_free(&blocks[b]);
        ns_block_init(&blocks[b]);
        blocks[b].has_texts = texts;
        uint64_t first = (uint64_t)b * BLOCK_IDS;
        ns_block_reset(&blocks[b], first, first + BLOCK_IDS);
        for (uint64_t id = first; id < first + BLOCK_IDS; id++)
            if (id % 7 != 5) {
                add_job(&blocks[b], id, garbage);
                n_jobs++;
                n_turns += (uint64_t)turns_of(id);
            }
    }
}

/* ---- specs ------------------------------------------------------------- */

static ns_spec *load_spec(const char *name, int transcripts)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f, "name: %s\nseed: 18446744073709551557\nmax_rounds: 10\n"
               "scenarios: [used_car, supplier_contract]\n"
               "output:\n  transcripts: %s\n", name, transcripts ? "true" : "false");
    fclose(f);
    ns_spec *spec = NULL;
    ns_error err = {0};
    ns_status st = ns_spec_load(path, NEGSIM_DATA_DIR, &spec, &err);
    CHECK_ST(st, NS_OK, err);
    return spec;
}

/* How a store is written: compression threads from the start, after
 * which block a flush comes (partial chunks, later rewritten whole; a
 * second flush right after has nothing new), and after which block the
 * thread count changes to `then`. -1: never. */
typedef struct plan {
    int threads, flush_a, flush_b, change_after, then;
} plan;

static const plan plain = {0, 7, -1, -1, 0};

/* Writes the blocks straight into a store at `path` as `pl` says; the
 * store's statistics go to *stats when not NULL. */
static int write_store_with(const ns_spec *spec, const char *path, plan pl,
                            ns_store_stats *stats)
{
    ns_store *st = NULL;
    ns_error err = {0};
    ns_status s = ns_store_create(path, spec, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return -1;
    s = ns_store_set_threads(st, pl.threads, &err);
    CHECK_ST(s, NS_OK, err);
    ns_run_progress p = {.state = "running", .threads = 2};
    for (int b = 0; b < N_BLOCKS && !s; b++) {
        s = ns_store_append(st, &blocks[b], &err);
        if ((b == pl.flush_a || b == pl.flush_b) && !s)
            s = ns_store_flush(st, &p, &err);
        if (b == pl.flush_b && !s)
            s = ns_store_flush(st, &p, &err);
        if (b == pl.change_after && !s)
            s = ns_store_set_threads(st, pl.then, &err);
    }
    CHECK_ST(s, NS_OK, err);
    if (stats)
        ns_store_get_stats(st, stats);
    p.state = "complete";
    p.jobs_done = n_jobs;
    p.next_index = (uint64_t)N_BLOCKS * BLOCK_IDS;
    p.jobs_planned = n_jobs;
    p.wall_seconds = 1.5;
    s = ns_store_close(st, &p, &err);
    CHECK_ST(s, NS_OK, err);
    return s ? -1 : 0;
}

static int write_store(const ns_spec *spec, const char *path)
{
    return write_store_with(spec, path, plain, NULL);
}

/* ---- reading back with HDF5 -------------------------------------------- */

static hsize_t rows_of(hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return (hsize_t)-1;
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Sclose(sp);
    H5Dclose(d);
    return n;
}

/* Reads members `names` (doubles, or strings of `str_size` when > 0) of
 * table `name` into out[row * n + k]. */
static int read_doubles(hid_t f, const char *name, const char *const *names, int n,
                        double *out)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)n * sizeof(double));
    for (int k = 0; k < n; k++)
        H5Tinsert(t, names[k], (size_t)k * sizeof(double), H5T_NATIVE_DOUBLE);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

static int read_u64(hid_t f, const char *name, const char *member, uint64_t *out)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(uint64_t));
    H5Tinsert(t, member, 0, H5T_NATIVE_UINT64);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

/* Reads fixed-size string member `member` (size bytes) of every row, as
 * NUL-padded strings, the way h5py and numpy read the file's NULLTERM
 * ones. */
static char *read_strings(hid_t f, const char *name, const char *member, size_t size)
{
    hsize_t n = rows_of(f, name);
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, size);
    H5Tset_strpad(s, H5T_STR_NULLPAD);
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    H5Tinsert(t, member, 0, s);
    char *out = calloc(n ? n : 1, size);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    H5Tclose(s);
    if (rc < 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int attr_string(hid_t loc, const char *obj, const char *name, char *buf, size_t size)
{
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a), mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft));
    char *v = NULL;
    herr_t rc = H5Aread(a, mt, &v);
    if (rc >= 0) {
        snprintf(buf, size, "%s", v ? v : "");
        H5free_memory(v);
    }
    H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

static double attr_double(hid_t loc, const char *obj, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a);
    }
    return v;
}

static uint64_t attr_u64(hid_t loc, const char *obj, const char *name)
{
    uint64_t v = 0;
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_UINT64, &v);
        H5Aclose(a);
    }
    return v;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- tests ------------------------------------------------------------- */

static void check_tables(hid_t f, const ns_spec *spec)
{
    CHECK(rows_of(f, "jobs") == n_jobs, "/jobs: expected %" PRIu64 " rows, got %llu", n_jobs,
          (unsigned long long)rows_of(f, "jobs"));
    CHECK(rows_of(f, "outcomes") == n_jobs, "/outcomes: expected %" PRIu64 " rows", n_jobs);
    CHECK(rows_of(f, "rounds") == n_turns, "/rounds: expected %" PRIu64 " rows, got %llu",
          n_turns, (unsigned long long)rows_of(f, "rounds"));
    CHECK(rows_of(f, "transcripts") == n_turns, "/transcripts: expected %" PRIu64 " rows",
          n_turns);

    /* K = 5 value columns: v4 exists, v5 does not */
    hid_t d = H5Dopen2(f, "rounds", H5P_DEFAULT), t = H5Dget_type(d);
    CHECK(ns_spec_max_issues(spec) == 5, "K: expected 5, got %d", ns_spec_max_issues(spec));
    CHECK(H5Tget_member_index(t, "v4") >= 0 && H5Tget_member_index(t, "v5") < 0,
          "/rounds should have exactly v0..v4");
    CHECK(H5Tget_size(t) == 8 + 4 + 4 + 8 + 8 + 5 * 8 + 2 * 8,
          "/rounds rows are packed: expected 88 bytes, got %zu", H5Tget_size(t));
    H5Tclose(t);
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);

    uint64_t *ids = malloc(n_turns * sizeof *ids);
    double *vals = malloc(n_turns * 4 * sizeof *vals);
    const char *const cols[4] = {"v0", "v3", "v4", "u_seller"};
    int ok_ids = read_u64(f, "rounds", "job_id", ids) == 0;
    int ok_vals = read_doubles(f, "rounds", cols, 4, vals) == 0;
    CHECK(ok_ids && ok_vals, "cannot read /rounds columns");
    size_t r = 0, bad = 0;
    for (int b = 0; ok_ids && ok_vals && b < N_BLOCKS; b++)
        for (size_t k = 0; k < blocks[b].n_turns; k++, r++) {
            const ns_turn_row *u = &blocks[b].turns[k];
            if (ids[r] != u->job_id || !same_double(vals[4 * r], u->value[0]) ||
                !same_double(vals[4 * r + 1], u->value[3]) ||
                !same_double(vals[4 * r + 2], u->value[4]) ||
                !same_double(vals[4 * r + 3], u->utility[1])) {
                if (bad++ < 3)
                    fprintf(stderr, "row %zu: expected job %" PRIu64 " v0 %.17g v4 %.17g, "
                            "got job %" PRIu64 " v0 %.17g v4 %.17g\n", r, u->job_id,
                            u->value[0], u->value[4], ids[r], vals[4 * r], vals[4 * r + 2]);
            }
        }
    CHECK(bad == 0, "/rounds: %zu rows differ from the rows appended", bad);
    free(ids);
    free(vals);

    char *texts = read_strings(f, "transcripts", "text", NS_TEXT_LEN);
    char *speakers = read_strings(f, "rounds", "speaker", 8);
    CHECK(texts && speakers, "cannot read string columns");
    r = bad = 0;
    for (int b = 0; texts && speakers && b < N_BLOCKS; b++)
        for (size_t k = 0; k < blocks[b].n_turns; k++, r++) {
            char want[NS_TEXT_LEN];
            memset(want, 0, sizeof want);
            text_of(blocks[b].texts[k].job_id, blocks[b].texts[k].turn, want, sizeof want);
            if (memcmp(texts + r * NS_TEXT_LEN, want, NS_TEXT_LEN) != 0 ||
                memcmp(speakers + r * 8, blocks[b].turns[k].speaker, 8) != 0)
                if (bad++ < 3)
                    fprintf(stderr, "row %zu: expected \"%s\", got \"%.40s\"\n", r, want,
                            texts + r * NS_TEXT_LEN);
        }
    CHECK(bad == 0, "/transcripts and /rounds strings: %zu rows differ (NUL padding "
          "included)", bad);
    free(texts);
    free(speakers);

    uint64_t seed0 = 0;
    hid_t one = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(one, "seed", 0, H5T_NATIVE_UINT64);
    d = H5Dopen2(f, "jobs", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d), ms;
    hsize_t start = 0, count = 1;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
    ms = H5Screate_simple(1, &count, NULL);
    H5Dread(d, one, ms, fs, H5P_DEFAULT, &seed0);
    CHECK(seed0 == UINT64_MAX, "/jobs seed of job 0: expected %" PRIu64 ", got %" PRIu64,
          UINT64_MAX, seed0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Tclose(one);
}

static void check_metadata(hid_t f, const ns_spec *spec)
{
    char buf[4096];
    CHECK(attr_string(f, ".", "value_columns", buf, sizeof buf) == 0 &&
          strcmp(buf, "used_car: v0=price; supplier_contract: v0=unit_price, v1=volume, "
                      "v2=delivery_time, v3=payment_terms, v4=warranty") == 0,
          "value_columns: got \"%s\"", buf);
    CHECK(attr_string(f, ".", "spec", buf, sizeof buf) == 0 &&
          strcmp(buf, ns_spec_text(spec)) == 0, "spec attribute differs from the spec text");
    CHECK(attr_string(f, ".", "negsim_version", buf, sizeof buf) == 0 && buf[0],
          "negsim_version missing");
    CHECK(attr_string(f, ".", "created", buf, sizeof buf) == 0 && strlen(buf) == 20 &&
          buf[10] == 'T' && buf[19] == 'Z', "created: expected ISO-8601 UTC, got \"%s\"", buf);
    CHECK(attr_u64(f, ".", "master_seed") == 18446744073709551557ull,
          "master_seed: got %" PRIu64, attr_u64(f, ".", "master_seed"));
    CHECK(attr_u64(f, ".", "spec_digest") == ns_spec_digest(spec), "spec_digest differs");
    CHECK(attr_string(f, "run", "state", buf, sizeof buf) == 0 && strcmp(buf, "complete") == 0,
          "/run state: expected complete, got \"%s\"", buf);
    CHECK(attr_u64(f, "run", "jobs_done") == n_jobs, "/run jobs_done");
    CHECK(attr_double(f, "run", "wall_seconds") == 1.5, "/run wall_seconds");

    const ns_scenario *sc = ns_spec_scenario(spec, 1);
    CHECK(attr_string(f, "scenarios/supplier_contract", "title", buf, sizeof buf) == 0 &&
          strcmp(buf, sc->title) == 0, "scenario title: got \"%s\"", buf);
    CHECK(rows_of(f, "scenarios/supplier_contract/issues") == 5, "issues: expected 5 rows");
    CHECK(rows_of(f, "scenarios/supplier_contract/frontier") == (hsize_t)sc->frontier->n,
          "frontier: expected %d rows", sc->frontier->n);
    char *names = read_strings(f, "scenarios/supplier_contract/issues", "name", NS_NAME_LEN);
    char *opts = read_strings(f, "scenarios/supplier_contract/issues", "options",
                              NS_MAX_OPTIONS * NS_NAME_LEN);
    CHECK(names && strcmp(names + 3 * NS_NAME_LEN, "payment_terms") == 0,
          "issue 3: expected payment_terms");
    CHECK(opts && strcmp(opts + 3 * NS_MAX_OPTIONS * NS_NAME_LEN, "upfront,net30,net60,net90") == 0,
          "payment_terms options: got \"%s\"", opts ? opts + 3 * NS_MAX_OPTIONS * NS_NAME_LEN : "");
    free(names);
    free(opts);
    double nash_u = attr_double(f, "scenarios/supplier_contract", "nash_u_buyer");
    CHECK(sc->frontier->nash >= 0 && nash_u == sc->frontier->u[0][sc->frontier->nash],
          "nash_u_buyer: got %g", nash_u);
}

/* Appending the blocks directly and replaying them from a journal give the
 * same table bytes, even when the engine's text rows carry garbage after
 * the NUL (the journal drops it; the store must too). */
static ns_status replay_into(void *ctx, const ns_block *b, ns_error *err)
{
    return ns_store_append(ctx, b, err);
}

static int same_dataset(hid_t fa, hid_t fb, const char *name)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name, H5P_DEFAULT);
    hid_t t = H5Dget_type(da);
    hsize_t na = rows_of(fa, name), nb = rows_of(fb, name);
    size_t sz = H5Tget_size(t);
    char *a = calloc(na + 1, sz), *b = calloc(nb + 1, sz);
    int same = na == nb && H5Dread(da, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) >= 0 &&
               H5Dread(db, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0 &&
               memcmp(a, b, na * sz) == 0;
    free(a);
    free(b);
    H5Tclose(t);
    H5Dclose(da);
    H5Dclose(db);
    return same;
}

static void test_resume_equivalence(const ns_spec *spec, const char *direct, int threads)
{
    char jpath[128], rpath[128];
    snprintf(jpath, sizeof jpath, "%s/r.journal", dir);
    snprintf(rpath, sizeof rpath, "%s/resumed.h5", dir);
    ns_journal *j = NULL;
    ns_error err = {0};
    ns_status s = ns_journal_create(jpath, ns_spec_digest(spec), &j, &err);
    for (int b = 0; b < N_BLOCKS && !s; b++)
        s = ns_journal_append(j, &blocks[b], &err);
    ns_journal_close(j);
    CHECK_ST(s, NS_OK, err);
    ns_store *st = NULL;
    s = ns_store_create(rpath, spec, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return;
    s = ns_store_set_threads(st, threads, &err);
    CHECK_ST(s, NS_OK, err);
    uint64_t end = 0;
    j = NULL;
    s = ns_journal_resume(jpath, ns_spec_digest(spec), replay_into, st, &end, &j, &err);
    CHECK_ST(s, NS_OK, err);
    ns_journal_close(j);
    ns_run_progress p = {.state = "complete", .jobs_done = n_jobs};
    s = ns_store_close(st, &p, &err);
    CHECK_ST(s, NS_OK, err);
    hid_t fa = H5Fopen(direct, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(rpath, H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *tables[] = {"jobs", "outcomes", "rounds", "transcripts"};
    for (int i = 0; i < 4; i++)
        CHECK(fa >= 0 && fb >= 0 && same_dataset(fa, fb, tables[i]),
              "/%s differs between direct appends and journal replay (%d threads)",
              tables[i], threads);
    H5Fclose(fa);
    H5Fclose(fb);
}

/* The stored chunks of table `name` are the same in both files: the same
 * bytes, deflated or not (filter mask), at the same offsets. */
static int same_chunks(hid_t fa, hid_t fb, const char *name)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name, H5P_DEFAULT);
    hid_t pl = H5Dget_create_plist(da);
    hsize_t rows = rows_of(fa, name), cr = 0;
    H5Pget_chunk(pl, 1, &cr);
    H5Pclose(pl);
    int same = da >= 0 && db >= 0 && cr > 0 && rows == rows_of(fb, name);
    for (hsize_t off = 0; same && off < rows; off += cr) {
        hsize_t sa = 0, sb = 0;
        uint32_t ma = 9, mb = 9;
        H5Dget_chunk_storage_size(da, &off, &sa);
        H5Dget_chunk_storage_size(db, &off, &sb);
        unsigned char *a = malloc(sa + 1), *b = malloc(sb + 1);
        same = sa > 0 && sa == sb && H5Dread_chunk(da, H5P_DEFAULT, &off, &ma, a) >= 0 &&
               H5Dread_chunk(db, H5P_DEFAULT, &off, &mb, b) >= 0 && ma == mb &&
               memcmp(a, b, sa) == 0;
        if (!same)
            fprintf(stderr, "/%s chunk at row %llu: %llu bytes, mask %u vs %llu bytes, "
                    "mask %u\n", name, (unsigned long long)off, (unsigned long long)sa, ma,
                    (unsigned long long)sb, mb);
        free(a);
        free(b);
    }
    H5Dclose(da);
    H5Dclose(db);
    return same;
}

/* Chunks deflated by the pool - several in flight, the writer waiting for
 * buffers, flushes and thread changes midway - give the same tables and
 * the same stored chunks as chunks deflated on the writer thread. */
static void test_threads(const ns_spec *spec, const char *direct)
{
    static const plan plans[] = {
        {2, -1, -1, -1, 0}, /* no flush at all */
        {1, 3, 12, -1, 0},  /* one thread, two buffers: the writer waits */
        {3, 4, -1, 9, 1},   /* fewer threads midway */
        {0, 6, -1, 5, 4},   /* from the writer thread to a pool midway */
    };
    const char *const tables[] = {"jobs", "outcomes", "rounds", "transcripts"};
    int most_in_flight = 0;
    for (size_t k = 0; k < sizeof plans / sizeof plans[0]; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/threads%zu.h5", dir, k);
        ns_store_stats stats;
        memset(&stats, 0, sizeof stats);
        if (write_store_with(spec, path, plans[k], &stats) != 0)
            continue;
        int n = plans[k].change_after >= 0 ? plans[k].then : plans[k].threads;
        CHECK(stats.threads == n, "plan %zu: %d threads, expected %d", k, stats.threads, n);
        CHECK(stats.pool_deflate_seconds > 0 && stats.chunks > 10,
              "plan %zu: the pool deflated nothing (%" PRIu64 " chunks, %.3f s)", k,
              stats.chunks, stats.pool_deflate_seconds);
        /* two buffers per thread, and the one its table just handed off */
        int bound = 2 * (plans[k].threads > plans[k].then ? plans[k].threads : plans[k].then) + 1;
        CHECK(stats.max_in_flight <= bound, "plan %zu: %d chunks in flight, at most %d", k,
              stats.max_in_flight, bound);
        if (stats.max_in_flight > most_in_flight)
            most_in_flight = stats.max_in_flight;
        hid_t fa = H5Fopen(direct, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t fb = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        for (int i = 0; i < 4; i++) {
            CHECK(fa >= 0 && fb >= 0 && same_dataset(fa, fb, tables[i]),
                  "plan %zu: /%s differs from the table deflated on the writer thread", k,
                  tables[i]);
            CHECK(fa >= 0 && fb >= 0 && same_chunks(fa, fb, tables[i]),
                  "plan %zu: /%s is stored in other chunks than on the writer thread", k,
                  tables[i]);
        }
        H5Fclose(fa);
        H5Fclose(fb);
    }
    /* a timing matter, but the writer fills a chunk far faster than a
     * thread deflates one */
    CHECK(most_in_flight >= 2, "never more than %d chunk in flight", most_in_flight);
}

/* Every table is deflated: the message tables to a fraction of their
 * size; and strings are NUL-terminated, so h5dump stops at the NUL. */
static void check_storage(hid_t f)
{
    const char *const tables[] = {"jobs", "outcomes", "rounds", "transcripts"};
    for (int i = 0; i < 4; i++) {
        hid_t d = H5Dopen2(f, tables[i], H5P_DEFAULT), pl = H5Dget_create_plist(d);
        hid_t t = H5Dget_type(d);
        unsigned flags, cd[4];
        size_t ncd = 4;
        H5Z_filter_t filt = H5Pget_nfilters(pl) == 1
                                ? H5Pget_filter2(pl, 0, &flags, &ncd, cd, 0, NULL, NULL)
                                : H5Z_FILTER_ERROR;
        CHECK(filt == H5Z_FILTER_DEFLATE && ncd >= 1 && cd[0] == 1,
              "/%s: expected deflate level 1", tables[i]);
        double raw = (double)rows_of(f, tables[i]) * (double)H5Tget_size(t);
        double stored = (double)H5Dget_storage_size(d);
        CHECK(stored < raw / 4, "/%s: %.0f bytes stored for %.0f raw", tables[i], stored, raw);
        int m = H5Tget_member_index(t, i == 3 ? "text" : i == 2 ? "speaker" : "ending");
        hid_t mt = m >= 0 ? H5Tget_member_type(t, (unsigned)m) : H5I_INVALID_HID;
        CHECK(i == 0 || (mt >= 0 && H5Tget_strpad(mt) == H5T_STR_NULLTERM),
              "/%s strings should be NULLTERM", tables[i]);
        if (mt >= 0)
            H5Tclose(mt);
        H5Tclose(t);
        H5Pclose(pl);
        H5Dclose(d);
    }
    H5Eclear2(H5E_DEFAULT);
}

/* A block without texts in a store that records transcripts would put
 * /transcripts out of step with /rounds: refused, and the refusal sticks. */
static void test_texts_required(const ns_spec *spec)
{
    char path[128];
    snprintf(path, sizeof path, "%s/notexts.h5", dir);
    ns_store *st = NULL;
    ns_error err = {0};
    ns_status s = ns_store_create(path, spec, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return;
    ns_block b;
    ns_block_init(&b);
    ns_block_reset(&b, 0, 10);
    b.has_texts = 0;
    add_job(&b, 1, 0); /* one turn, its text row uninitialised */
    s = ns_store_append(st, &b, &err);
    CHECK_ST(s, NS_ERR_INTERNAL, err);
    CHECK(strstr(err.msg, "without texts") != NULL, "message: %s", err.msg);
    ns_error again = {0};
    s = ns_store_append(st, &blocks[0], &again);
    CHECK(s == NS_ERR_INTERNAL && strcmp(again.msg, err.msg) == 0,
          "a failure sticks: got %s (%s)", ns_status_str(s), again.msg);
    s = ns_store_flush(st, NULL, &again);
    CHECK_ST(s, NS_ERR_INTERNAL, again);
    s = ns_store_close(st, NULL, &again);
    CHECK_ST(s, NS_ERR_INTERNAL, again);
    /* no turns, no texts needed */
    ns_block_reset(&b, 0, 10);
    s = ns_store_create(path, spec, &st, &err);
    if (!s)
        s = ns_store_append(st, &b, &err);
    CHECK_ST(s, NS_OK, err);
    ns_store_abandon(st);
    ns_block_free(&b);
}

static char *show(const char *path, uint64_t id, ns_status want)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ns_error err = {0};
    ns_status s = ns_results_show_job(path, id, f, &err);
    fclose(f);
    CHECK(s == want, "show job %" PRIu64 ": expected %s, got %s (%s)", id, ns_status_str(want),
          ns_status_str(s), err.msg);
    return out;
}

static void test_show(const char *path)
{
    /* job 7: supplier_contract, 7 turns, a deal; job 3: used_car */
    char *out = show(path, 7, NS_OK);
    CHECK(strstr(out, "job 7: scenario supplier_contract") != NULL,
          "show 7: header missing in:\n%s", out);
    CHECK(strstr(out, "tactic boulware") && strstr(out, "agreeableness 0.30"),
          "show 7: side setup missing in:\n%s", out);
    CHECK(strstr(out, "payment_terms net60") != NULL,
          "show 7: turn 2 offers payment_terms option 2 (net60):\n%s", out);
    CHECK(strstr(out, "He said \"deal\", then left") != NULL, "show 7: message text missing");
    CHECK(strstr(out, "outcome: agreement by seller after 4 rounds, 7 turns") &&
              strstr(out, "agreed: unit_price 2.7 EUR"), "show 7: outcome missing:\n%s", out);
    free(out);
    out = show(path, 3, NS_OK);
    CHECK(strstr(out, "price 9050 EUR") != NULL, "show 3: expected the offer "
          "\"price 9050 EUR\" in:\n%s", out);
    free(out);
    /* the first job, the last job, a filtered id, ids beyond the run */
    free(show(path, 0, NS_OK));
    free(show(path, (uint64_t)N_BLOCKS * BLOCK_IDS - 2, NS_OK)); /* -1 is filtered */
    free(show(path, 12, NS_ERR_NOTFOUND));
    free(show(path, (uint64_t)N_BLOCKS * BLOCK_IDS, NS_ERR_NOTFOUND));
    free(show(path, UINT64_MAX, NS_ERR_NOTFOUND));
}

/* Splits a CSV line in place (RFC 4180 quoting); returns the field count. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line, *w;
    while (n < max) {
        fields[n++] = w = p;
        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"')
                    *w++ = *p++;
                else if (*p == '"')
                    break;
                else
                    *w++ = *p;
            }
            if (*p)
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n')
                *w++ = *p++;
        }
        char c = *p;
        *w = '\0';
        if (c != ',')
            break;
        p++;
    }
    return n;
}

static void test_export(const char *path)
{
    char out[128], csv[160];
    snprintf(out, sizeof out, "%s/csv", dir);
    ns_error err = {0};
    ns_status s = ns_results_export_csv(path, out, &err);
    CHECK_ST(s, NS_OK, err);
    snprintf(csv, sizeof csv, "%s/outcomes.csv", out);
    FILE *f = fopen(csv, "r");
    CHECK(f != NULL, "no %s", csv);
    if (!f)
        return;
    static char line[8192];
    char *fields[64];
    CHECK(fgets(line, sizeof line, f) && strncmp(line, "job_id,deal,ending,closed_by,rounds,"
                                                 "turns,v0,v1,v2,v3,v4,u_buyer,", 46) == 0,
          "outcomes.csv header: %s", line);
    size_t rows = 0, bad = 0;
    for (int b = 0; b < N_BLOCKS; b++)
        for (size_t k = 0; k < blocks[b].n_jobs; k++, rows++) {
            const ns_outcome_row *o = &blocks[b].outcomes[k];
            if (!fgets(line, sizeof line, f) || csv_split(line, fields, 64) != 19) {
                bad++;
                continue;
            }
            double v0 = strtod(fields[6], NULL), ub = strtod(fields[11], NULL);
            if (strtoull(fields[0], NULL, 10) != o->job_id || !same_double(v0, o->value[0]) ||
                !same_double(ub, o->utility[0]) || strcmp(fields[2], o->ending) != 0)
                if (bad++ < 3)
                    fprintf(stderr, "outcomes.csv row %zu: expected %.17g %.17g, got %s %s\n",
                            rows, o->value[0], o->utility[0], fields[6], fields[11]);
        }
    CHECK(bad == 0, "outcomes.csv: %zu of %zu rows do not round-trip", bad, rows);
    CHECK(!fgets(line, sizeof line, f), "outcomes.csv has extra rows");
    fclose(f);

    snprintf(csv, sizeof csv, "%s/transcripts.csv", out);
    f = fopen(csv, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, ",\"He said \"\"deal\"\", then left\"\n") != NULL;
    CHECK(found, "transcripts.csv: the text with a comma and quotes is not quoted per RFC 4180");
    if (f)
        fclose(f);
    snprintf(csv, sizeof csv, "%s/jobs.csv", out);
    f = fopen(csv, "r");
    CHECK(f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f) &&
              strncmp(line, "0,18446744073709551615,0,0,used_car,buyer,builtin,", 50) == 0,
          "jobs.csv first row: %s", line);
    if (f)
        fclose(f);
}

static void test_info(const char *path)
{
    ns_results_info info;
    ns_error err = {0};
    ns_status s = ns_results_info_read(path, &info, &err);
    CHECK_ST(s, NS_OK, err);
    CHECK(strcmp(info.state, "complete") == 0 && info.jobs_done == n_jobs &&
              info.next_index == (uint64_t)N_BLOCKS * BLOCK_IDS && info.wall_seconds == 1.5,
          "info: state %s, jobs_done %" PRIu64, info.state, info.jobs_done);

    char other[128];
    snprintf(other, sizeof other, "%s/plain.h5", dir);
    hid_t f = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    s = ns_results_info_read(other, &info, &err);
    CHECK_ST(s, NS_ERR_CORRUPT, err);
    CHECK(strstr(err.msg, "not a negsim results file") != NULL, "message: %s", err.msg);
    s = ns_results_show_job(other, 0, stdout, &err);
    CHECK_ST(s, NS_ERR_CORRUPT, err);
    snprintf(other, sizeof other, "%s/plain.txt", dir);
    FILE *t = fopen(other, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    s = ns_results_info_read(other, &info, &err);
    CHECK_ST(s, NS_ERR_CORRUPT, err);
    snprintf(other, sizeof other, "%s/missing.h5", dir);
    s = ns_results_info_read(other, &info, &err);
    CHECK_ST(s, NS_ERR_IO, err);
}

/* Transcripts off: blocks come without texts (their text rows are not
 * even initialised) and /transcripts stays empty, directly and through
 * the journal. */
static void test_no_transcripts(void)
{
    ns_spec *spec = load_spec("quiet", 0);
    if (!spec)
        return;
    make_blocks(0, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/quiet.h5", dir);
    plan pl = {2, 7, -1, -1, 0};
    if (write_store_with(spec, path, pl, NULL) == 0) {
        test_resume_equivalence(spec, path, 1);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        CHECK(rows_of(f, "transcripts") == 0, "transcripts off: /transcripts has rows");
        CHECK(rows_of(f, "rounds") == n_turns, "transcripts off: /rounds still complete");
        H5Fclose(f);
        char *out = show(path, 7, NS_OK);
        CHECK(strstr(out, "payment_terms net60") && !strstr(out, "He said"),
              "show without transcripts:\n%s", out);
        free(out);
    }
    ns_spec_free(spec);
}

static void test_order_checked(const ns_spec *spec)
{
    char path[128];
    snprintf(path, sizeof path, "%s/order.h5", dir);
    ns_store *st = NULL;
    ns_error err = {0};
    ns_status s = ns_store_create(path, spec, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return;
    s = ns_store_append(st, &blocks[1], &err);
    CHECK_ST(s, NS_OK, err);
    s = ns_store_append(st, &blocks[0], &err); /* earlier ids after later ones */
    CHECK_ST(s, NS_ERR_INTERNAL, err);
    ns_store_abandon(st);
    ns_store_abandon(NULL);
    /* a store that cannot be created says why */
    s = ns_store_create("/nonexistent/dir/x.h5", spec, &st, &err);
    CHECK_ST(s, NS_ERR_HDF5, err);
    CHECK(strstr(err.msg, "/nonexistent/dir/x.h5") != NULL, "message: %s", err.msg);
}

/* ---- LLM runs ----------------------------------------------------------- */

enum { LLM_BLOCKS = 4, LLM_IDS = 50, LONG_JOB = 57, LLM_TEXT_BUF = 9216 };
static ns_block lblocks[LLM_BLOCKS];
static uint64_t l_jobs, l_turns;

/* Job LONG_JOB has 70 turns, more than an LLM /transcripts chunk holds. */
static int llm_turns_of(uint64_t id) { return id == LONG_JOB ? 70 : (int)(id % 6); }

/* The turn's text into buf (LLM_TEXT_BUF bytes); returns its length,
 * and in *cut / *flag what the /transcripts column must hold: the lengths
 * of the long texts are worked out by hand from their bytes. */
static size_t llm_text(uint64_t id, int t, char *buf, size_t *cut, int *flag)
{
    size_t n;
    *flag = 0;
    if (id % 10 == 3 && t == 0) {
        /* "é€" (2 + 3 bytes) repeated to 9000 bytes: 1638 pairs end at
         * byte 8190, where an "é" starts: the column keeps 8190 bytes */
        for (n = 0; n < 9000; n += 5)
            memcpy(buf + n, "é€", 5);
        *cut = 8190;
        *flag = 1;
        return n;
    }
    if (id % 10 == 4 && t <= 1) {
        /* 8191 ASCII bytes fit (with the NUL); 8192 are cut to 8191 */
        n = t == 0 ? 8191 : 8192;
        memset(buf, 'x', n);
        *cut = 8191;
        *flag = t == 1;
        return n;
    }
    if (id % 10 == 5 && t == 0) {
        /* a 4-byte character at bytes 8189..8192 is dropped whole */
        memset(buf, 'a', 8189);
        memcpy(buf + 8189, "👍b", 5);
        *cut = 8189;
        *flag = 1;
        return 8194;
    }
    if (id == 8 && t == 1)
        n = (size_t)sprintf(buf, "Line one, \"quoted\"\nline two €");
    else
        n = (size_t)sprintf(buf, "Angebot %d: %d € — d'accord? 👍 (job %" PRIu64 ")", t,
                            1000 + t, id);
    *cut = n;
    return n;
}

/* Judge summary of side s: none without a judge (id % 4 == 2); job 51's
 * is 2100 bytes of "ü" (2 bytes), cut to 2046 in its 2048-byte column. */
static size_t llm_summary(uint64_t id, int s, char *buf, size_t *cut)
{
    size_t n = 0;
    if (id % 4 == 2)
        n = 0;
    else if (id == 51 && s == 1)
        for (; n < 2100; n += 2)
            memcpy(buf + n, "ü", 2);
    else
        n = (size_t)sprintf(buf, "Die %s verhandelte zäh – 価格は妥当 (job %" PRIu64 ").",
                            s ? "Verkäuferin" : "Käuferin", id);
    *cut = id == 51 && s == 1 ? 2046 : n;
    return n;
}

static void add_llm_job(ns_block *b, uint64_t id)
{
    int turns = llm_turns_of(id);
    b->has_texts = 0; /* an LLM block's texts[] rows stay unfilled */
    add_job_turns(b, id, 1, turns);
    b->has_texts = 1;
    NS_SET(b->jobs[b->n_jobs - 1].agent[0], "llm");
    ns_llm_job_row *l = &b->llm_jobs[b->n_jobs - 1];
    NS_SET(l->model[0], "openai:gpt-4o-mini");
    NS_SET(l->model[1], id % 2 ? "anthropic:claude-3-5-haiku-latest" : "");
    NS_SET(l->model[2], id % 4 == 2 ? "" : "gemini:gemini-2.0-flash");
    l->cost_usd = 1e-4 * (double)id + 1.0 / 3.0;
    for (int s = 0; s < 3; s++)
        l->side_cost_usd[s] = l->cost_usd / (2.0 + s);
    l->input_tokens = 3000000000ll + (int64_t)id; /* needs 64 bits */
    l->output_tokens = 40 * (int64_t)turns;
    l->requests = turns;
    l->cache_hits = turns / 3;
    l->retries = (int32_t)(id % 3);
    l->repairs = (int32_t)(id % 2);
    l->invalid_outputs = id % 7 == 0;
    l->latency_ms = turns ? 250.5 + (double)id : NAN;
    if (id % 5 == 0) {
        NS_SET(l->error, "timeout");
        NS_SET(l->error_message, "upstream timed out, \"gateway\" said so");
    }
    char buf[LLM_TEXT_BUF];
    for (int s = 0; s < 2; s++) {
        int judged = id % 4 != 2;
        l->influencing_score[s] = judged ? 1.0 + (double)((id + (uint64_t)s) % 10) : NAN;
        l->tactic_score[s] = judged ? 10.0 - (double)s : NAN;
        size_t cut, n = llm_summary(id, s, buf, &cut);
        l->summary_off[s] = ns_block_add_text(b, buf, n);
        l->summary_len[s] = (uint32_t)n;
    }
    for (int t = 0; t < turns; t++) {
        ns_llm_turn_row *lt = &b->llm_turns[b->n_turns - (size_t)turns + (size_t)t];
        NS_SET(lt->model, t % 4 == 3 ? "" : "openai:gpt-4o-mini");
        lt->input_tokens = 500 + t;
        lt->output_tokens = 40 + t;
        lt->latency_ms = t == 1 ? 0 : 80.0 + t;
        lt->cost_usd = 1e-6 * (t + 1);
        lt->cached = (int8_t)(t == 1);
        lt->attempts = (int8_t)(1 + t % 3);
        lt->repaired = (int8_t)(t == 2);
        size_t cut;
        int flag;
        size_t n = llm_text(id, t, buf, &cut, &flag);
        lt->text_off = ns_block_add_text(b, buf, n);
        lt->text_len = (uint32_t)n;
    }
}

static void make_llm_blocks(void)
{
    l_jobs = l_turns = 0;
    for (int b = 0; b < LLM_BLOCKS; b++) {
        ns_block *blk = &lblocks[b];
        ns_block_init(blk);
        blk->has_llm = 1;
        ns_block_reset(blk, (uint64_t)b * LLM_IDS, (uint64_t)(b + 1) * LLM_IDS);
        for (uint64_t id = blk->first_index; id < blk->end_index; id++)
            if (id % 7 != 5) {
                add_llm_job(blk, id);
                l_jobs++;
                l_turns += (uint64_t)llm_turns_of(id);
            }
    }
}

static int write_llm_store(const ns_spec *spec, const char *path, plan pl)
{
    ns_store *st = NULL;
    ns_error err = {0};
    ns_status s = ns_store_create_ex(path, spec, 1, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return -1;
    s = ns_store_set_threads(st, pl.threads, &err);
    ns_run_progress p = {.state = "running"};
    for (int b = 0; b < LLM_BLOCKS && !s; b++) {
        s = ns_store_append(st, &lblocks[b], &err);
        if (b == pl.flush_a && !s)
            s = ns_store_flush(st, &p, &err);
    }
    CHECK_ST(s, NS_OK, err);
    p.state = "complete";
    p.jobs_done = l_jobs;
    p.next_index = (uint64_t)LLM_BLOCKS * LLM_IDS;
    s = ns_store_close(st, &p, &err);
    CHECK_ST(s, NS_OK, err);
    return s ? -1 : 0;
}

/* Reads column `name` of table `tab` in memory type `mt` (size bytes per
 * row); NULL when it cannot. */
static unsigned char *read_column(hid_t f, const char *tab, const char *name, hid_t mt,
                                  size_t size)
{
    hsize_t n = rows_of(f, tab);
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    H5Tinsert(t, name, 0, mt);
    unsigned char *out = calloc(n ? n : 1, size);
    hid_t d = H5Dopen2(f, tab, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    H5Eclear2(H5E_DEFAULT);
    if (rc < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* A column and the struct field it must equal, byte for byte. */
enum { S_JOB, S_OUT, S_TURN, S_LJOB, S_LTURN };
typedef struct lcol {
    const char *table, *name;
    int src;
    size_t off, size;
    char kind; /* 'u' unsigned, 'i' signed, 'f' double, 's' string */
} lcol;

#define LC(tab, name, src, T, field, kind) \
    {tab, name, src, offsetof(T, field), sizeof(((T *)0)->field), kind}
static const lcol llm_cols[] = {
    LC("jobs", "job_id", S_JOB, ns_job_row, job_id, 'u'),
    LC("jobs", "seed", S_JOB, ns_job_row, seed, 'u'),
    LC("jobs", "buyer_agent", S_JOB, ns_job_row, agent[0], 's'),
    LC("jobs", "seller_influence", S_JOB, ns_job_row, influence[1], 's'),
    LC("jobs", "buyer_model", S_LJOB, ns_llm_job_row, model[0], 's'),
    LC("jobs", "seller_model", S_LJOB, ns_llm_job_row, model[1], 's'),
    LC("jobs", "judge_model", S_LJOB, ns_llm_job_row, model[2], 's'),
    LC("outcomes", "job_id", S_OUT, ns_outcome_row, job_id, 'u'),
    LC("outcomes", "ending", S_OUT, ns_outcome_row, ending, 's'),
    LC("outcomes", "v3", S_OUT, ns_outcome_row, value[3], 'f'),
    LC("outcomes", "surplus_share_seller", S_OUT, ns_outcome_row, surplus_share[1], 'f'),
    LC("outcomes", "cost_usd", S_LJOB, ns_llm_job_row, cost_usd, 'f'),
    LC("outcomes", "buyer_cost_usd", S_LJOB, ns_llm_job_row, side_cost_usd[0], 'f'),
    LC("outcomes", "seller_cost_usd", S_LJOB, ns_llm_job_row, side_cost_usd[1], 'f'),
    LC("outcomes", "judge_cost_usd", S_LJOB, ns_llm_job_row, side_cost_usd[2], 'f'),
    LC("outcomes", "input_tokens", S_LJOB, ns_llm_job_row, input_tokens, 'i'),
    LC("outcomes", "output_tokens", S_LJOB, ns_llm_job_row, output_tokens, 'i'),
    LC("outcomes", "requests", S_LJOB, ns_llm_job_row, requests, 'i'),
    LC("outcomes", "cache_hits", S_LJOB, ns_llm_job_row, cache_hits, 'i'),
    LC("outcomes", "retries", S_LJOB, ns_llm_job_row, retries, 'i'),
    LC("outcomes", "repairs", S_LJOB, ns_llm_job_row, repairs, 'i'),
    LC("outcomes", "invalid_outputs", S_LJOB, ns_llm_job_row, invalid_outputs, 'i'),
    LC("outcomes", "latency_ms", S_LJOB, ns_llm_job_row, latency_ms, 'f'),
    LC("outcomes", "error", S_LJOB, ns_llm_job_row, error, 's'),
    LC("outcomes", "error_message", S_LJOB, ns_llm_job_row, error_message, 's'),
    LC("outcomes", "buyer_influencing_score", S_LJOB, ns_llm_job_row, influencing_score[0], 'f'),
    LC("outcomes", "buyer_tactic_score", S_LJOB, ns_llm_job_row, tactic_score[0], 'f'),
    LC("outcomes", "seller_influencing_score", S_LJOB, ns_llm_job_row, influencing_score[1], 'f'),
    LC("outcomes", "seller_tactic_score", S_LJOB, ns_llm_job_row, tactic_score[1], 'f'),
    LC("rounds", "job_id", S_TURN, ns_turn_row, job_id, 'u'),
    LC("rounds", "turn", S_TURN, ns_turn_row, turn, 'i'),
    LC("rounds", "action", S_TURN, ns_turn_row, action, 's'),
    LC("rounds", "v4", S_TURN, ns_turn_row, value[4], 'f'),
    LC("rounds", "u_seller", S_TURN, ns_turn_row, utility[1], 'f'),
    LC("rounds", "model", S_LTURN, ns_llm_turn_row, model, 's'),
    LC("rounds", "input_tokens", S_LTURN, ns_llm_turn_row, input_tokens, 'i'),
    LC("rounds", "output_tokens", S_LTURN, ns_llm_turn_row, output_tokens, 'i'),
    LC("rounds", "latency_ms", S_LTURN, ns_llm_turn_row, latency_ms, 'f'),
    LC("rounds", "cost_usd", S_LTURN, ns_llm_turn_row, cost_usd, 'f'),
    LC("rounds", "cached", S_LTURN, ns_llm_turn_row, cached, 'i'),
    LC("rounds", "attempts", S_LTURN, ns_llm_turn_row, attempts, 'i'),
    LC("rounds", "repaired", S_LTURN, ns_llm_turn_row, repaired, 'i'),
    LC("transcripts", "job_id", S_TURN, ns_turn_row, job_id, 'u'),
    LC("transcripts", "turn", S_TURN, ns_turn_row, turn, 'i'),
    LC("transcripts", "speaker", S_TURN, ns_turn_row, speaker, 's'),
};

static hid_t mem_type_of(const lcol *c)
{
    if (c->kind == 's') {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, c->size);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
        return t;
    }
    if (c->kind == 'f')
        return H5Tcopy(H5T_NATIVE_DOUBLE);
    switch (c->size) {
    case 1: return H5Tcopy(H5T_NATIVE_INT8);
    case 4: return H5Tcopy(H5T_NATIVE_INT32);
    default: return H5Tcopy(c->kind == 'u' ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64);
    }
}

/* The source bytes of row r of the column's table. */
static const unsigned char *llm_src(const lcol *c, size_t r)
{
    int per_job = c->src == S_JOB || c->src == S_OUT || c->src == S_LJOB;
    for (int b = 0; b < LLM_BLOCKS; b++) {
        const ns_block *blk = &lblocks[b];
        size_t n = per_job ? blk->n_jobs : blk->n_turns;
        if (r >= n) {
            r -= n;
            continue;
        }
        const void *base = c->src == S_JOB    ? (const void *)&blk->jobs[r]
                           : c->src == S_OUT  ? (const void *)&blk->outcomes[r]
                           : c->src == S_TURN ? (const void *)&blk->turns[r]
                           : c->src == S_LJOB ? (const void *)&blk->llm_jobs[r]
                                              : (const void *)&blk->llm_turns[r];
        return (const unsigned char *)base + c->off;
    }
    return NULL;
}

static void check_llm_columns(hid_t f)
{
    for (size_t i = 0; i < sizeof llm_cols / sizeof llm_cols[0]; i++) {
        const lcol *c = &llm_cols[i];
        hid_t mt = mem_type_of(c);
        unsigned char *col = read_column(f, c->table, c->name, mt, c->size);
        H5Tclose(mt);
        CHECK(col != NULL, "/%s: cannot read column %s", c->table, c->name);
        if (!col)
            continue;
        hsize_t n = rows_of(f, c->table);
        size_t bad = 0;
        for (hsize_t r = 0; r < n; r++) {
            const unsigned char *want = llm_src(c, (size_t)r);
            if (!want || memcmp(col + r * c->size, want, c->size) != 0)
                if (bad++ < 2)
                    fprintf(stderr, "/%s %s row %llu differs from the row appended\n",
                            c->table, c->name, (unsigned long long)r);
        }
        CHECK(bad == 0, "/%s column %s: %zu of %llu rows differ", c->table, c->name, bad,
              (unsigned long long)n);
        free(col);
    }
}

/* The arena columns: texts (UTF-8, cut, flagged) and judge summaries. */
static void check_llm_texts(hid_t f)
{
    hid_t s8 = H5Tcopy(H5T_C_S1);
    H5Tset_size(s8, NS_LLM_TEXT_LEN);
    H5Tset_strpad(s8, H5T_STR_NULLPAD);
    H5Tset_cset(s8, H5T_CSET_UTF8);
    unsigned char *texts = read_column(f, "transcripts", "text", s8, NS_LLM_TEXT_LEN);
    unsigned char *flags = read_column(f, "transcripts", "text_truncated", H5T_NATIVE_INT8, 1);
    H5Tset_size(s8, NS_LLM_SUMMARY_LEN);
    unsigned char *sums[2] = {
        read_column(f, "outcomes", "buyer_judge_summary", s8, NS_LLM_SUMMARY_LEN),
        read_column(f, "outcomes", "seller_judge_summary", s8, NS_LLM_SUMMARY_LEN)};
    H5Tclose(s8);
    CHECK(texts && flags && sums[0] && sums[1], "cannot read the LLM text columns");
    static char buf[LLM_TEXT_BUF], want[NS_LLM_TEXT_LEN];
    size_t r = 0, j = 0, bad = 0, cut_flags = 0;
    for (int b = 0; texts && flags && b < LLM_BLOCKS; b++)
        for (size_t k = 0; k < lblocks[b].n_turns; k++, r++) {
            size_t cut;
            int flag;
            llm_text(lblocks[b].turns[k].job_id, lblocks[b].turns[k].turn, buf, &cut, &flag);
            memset(want, 0, sizeof want);
            memcpy(want, buf, cut);
            cut_flags += flag;
            if (memcmp(texts + r * NS_LLM_TEXT_LEN, want, NS_LLM_TEXT_LEN) != 0 ||
                flags[r] != flag)
                if (bad++ < 3)
                    fprintf(stderr, "/transcripts row %zu: expected %zu bytes, flag %d; got "
                            "%zu bytes, flag %d\n", r, cut, flag,
                            strnlen((char *)texts + r * NS_LLM_TEXT_LEN, NS_LLM_TEXT_LEN),
                            flags[r]);
        }
    CHECK(bad == 0 && r == l_turns, "/transcripts texts: %zu of %zu rows differ", bad, r);
    CHECK(cut_flags >= 3, "the test data should cut texts (%zu cut)", cut_flags);
    bad = 0;
    for (int b = 0; sums[0] && sums[1] && b < LLM_BLOCKS; b++)
        for (size_t k = 0; k < lblocks[b].n_jobs; k++, j++)
            for (int s = 0; s < 2; s++) {
                size_t cut;
                llm_summary(lblocks[b].jobs[k].job_id, s, buf, &cut);
                memset(want, 0, NS_LLM_SUMMARY_LEN);
                memcpy(want, buf, cut);
                if (memcmp(sums[s] + j * NS_LLM_SUMMARY_LEN, want, NS_LLM_SUMMARY_LEN) != 0)
                    if (bad++ < 3)
                        fprintf(stderr, "summary %d of row %zu differs\n", s, j);
            }
    CHECK(bad == 0, "judge summaries: %zu differ", bad);
    free(texts);
    free(flags);
    free(sums[0]);
    free(sums[1]);
}

/* Column order, widths and character sets of the LLM tables. */
static void check_llm_types(hid_t f)
{
    static const char *const after[][3] = {
        {"jobs", "seller_influence", "buyer_model"},
        {"outcomes", "surplus_share_seller", "cost_usd"},
        {"outcomes", "seller_tactic_score", "buyer_judge_summary"},
        {"rounds", "u_seller", "model"},
        {"transcripts", "text", "text_truncated"}};
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        hid_t d = H5Dopen2(f, after[i][0], H5P_DEFAULT), t = H5Dget_type(d);
        int a = H5Tget_member_index(t, after[i][1]), b = H5Tget_member_index(t, after[i][2]);
        CHECK(a >= 0 && b == a + 1, "/%s: %s should follow %s (%d, %d)", after[i][0],
              after[i][2], after[i][1], a, b);
        H5Tclose(t);
        H5Dclose(d);
    }
    hid_t d = H5Dopen2(f, "transcripts", H5P_DEFAULT), t = H5Dget_type(d);
    int k = H5Tget_member_index(t, "text");
    hid_t mt = H5Tget_member_type(t, (unsigned)k);
    CHECK(H5Tget_size(mt) == NS_LLM_TEXT_LEN && H5Tget_cset(mt) == H5T_CSET_UTF8 &&
              H5Tget_strpad(mt) == H5T_STR_NULLTERM,
          "/transcripts text: %zu bytes, cset %d", H5Tget_size(mt), (int)H5Tget_cset(mt));
    CHECK(H5Tget_nmembers(t) == 5, "/transcripts has %d columns", H5Tget_nmembers(t));
    H5Tclose(mt);
    H5Tclose(t);
    H5Dclose(d);
    CHECK(rows_of(f, "jobs") == l_jobs && rows_of(f, "rounds") == l_turns &&
              rows_of(f, "transcripts") == l_turns, "LLM tables: wrong row counts");
    int llm = 0;
    hid_t a = H5Aopen(f, "llm", H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_INT, &llm);
        H5Aclose(a);
    }
    CHECK(llm == 1, "root attribute llm: %d", llm);
    H5Eclear2(H5E_DEFAULT);
}

static void test_llm_show(const char *path)
{
    char *out = show(path, 3, NS_OK);
    CHECK(strstr(out, "agent llm (openai:gpt-4o-mini)") && strstr(out, "judge  gemini:"),
          "show 3: models missing:\n%.600s", out);
    CHECK(strstr(out, "model openai:gpt-4o-mini, tokens 500 in / 40 out, latency 80 ms, "
                      "cost $0.000001") != NULL, "show 3: turn 0 accounting:\n%.600s", out);
    CHECK(strstr(out, "é€é€") && strstr(out, "[cut to the column's width]") &&
              strstr(out, "Angebot 1: 1001 € — d'accord? 👍 (job 3)"),
          "show 3: texts missing");
    CHECK(strstr(out, "cached") != NULL, "show 3: the cached turn is not marked");
    CHECK(strstr(out, "requests 3 (cache hits 1), retries 0, repairs 1") &&
              strstr(out, "judge on the buyer: influencing 4.0, tactic 10.0") &&
              strstr(out, "Die Käuferin verhandelte zäh – 価格は妥当 (job 3)."),
          "show 3: job accounting or judge missing:\n%s", strstr(out, "outcome:"));
    free(out);
    out = show(path, 10, NS_OK); /* no judge (NaN scores), an error */
    CHECK(strstr(out, "error timeout: upstream timed out, \"gateway\" said so") &&
              strstr(out, "judge on the seller: influencing n/a, tactic n/a"),
          "show 10: error / NaN scores:\n%s", strstr(out, "outcome:"));
    free(out);
    out = show(path, 48, NS_OK); /* 0 turns: no requests, latency n/a */
    CHECK(strstr(out, "mean latency n/a") != NULL, "show 48: latency:\n%s", out);
    free(out);
    out = show(path, LONG_JOB, NS_OK);
    CHECK(strstr(out, "Angebot 69: 1069 €") != NULL, "show %d: the 70th turn's text is "
          "missing (texts past the first chunk)", LONG_JOB);
    free(out);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    fclose(f);
    return s;
}

static void test_llm_export(const char *path)
{
    char out[128], csv[160];
    snprintf(out, sizeof out, "%s/llmcsv", dir);
    ns_error err = {0};
    ns_status s = ns_results_export_csv(path, out, &err);
    CHECK_ST(s, NS_OK, err);
    snprintf(csv, sizeof csv, "%s/outcomes.csv", out);
    char *o = slurp(csv);
    CHECK(o && strstr(o, ",surplus_share_seller,cost_usd,buyer_cost_usd,seller_cost_usd,"
                         "judge_cost_usd,input_tokens,output_tokens,requests,cache_hits,"
                         "retries,repairs,invalid_outputs,latency_ms,error,error_message,"
                         "buyer_influencing_score,buyer_tactic_score,seller_influencing_score,"
                         "seller_tactic_score,buyer_judge_summary,seller_judge_summary\n"),
          "outcomes.csv header lacks the LLM columns");
    CHECK(o && strstr(o, ",timeout,\"upstream timed out, \"\"gateway\"\" said so\",") &&
              strstr(o, ",3000000010,"), "outcomes.csv: LLM values of job 10 missing");
    free(o);
    snprintf(csv, sizeof csv, "%s/transcripts.csv", out);
    o = slurp(csv);
    CHECK(o && strstr(o, "job_id,turn,speaker,text,text_truncated\n") &&
              strstr(o, "8,1,seller,\"Line one, \"\"quoted\"\"\nline two €\",0\n"),
          "transcripts.csv: the text with a newline, comma and quotes is not quoted whole");
    free(o);
}

static ns_status replay_llm(void *ctx, const ns_block *b, ns_error *err)
{
    return ns_store_append(ctx, b, err);
}

/* An LLM store written directly, through a pool, and from the journal. */
static void test_llm(const ns_spec *spec)
{
    make_llm_blocks();
    char path[128], pooled[128], jpath[128], rpath[128];
    snprintf(path, sizeof path, "%s/llm.h5", dir);
    snprintf(pooled, sizeof pooled, "%s/llm-pool.h5", dir);
    snprintf(jpath, sizeof jpath, "%s/llm.journal", dir);
    snprintf(rpath, sizeof rpath, "%s/llm-resumed.h5", dir);
    plan direct = {0, 1, -1, -1, 0}, pool = {2, -1, -1, -1, 0};
    if (write_llm_store(spec, path, direct) != 0 || write_llm_store(spec, pooled, pool) != 0)
        return;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    check_llm_types(f);
    check_llm_columns(f);
    check_llm_texts(f);
    H5Fclose(f);

    /* journal round trip: the same tables as the direct appends */
    ns_journal *j = NULL;
    ns_error err = {0};
    ns_status s = ns_journal_create(jpath, ns_spec_digest(spec), &j, &err);
    for (int b = 0; b < LLM_BLOCKS && !s; b++)
        s = ns_journal_append(j, &lblocks[b], &err);
    ns_journal_close(j);
    CHECK_ST(s, NS_OK, err);
    ns_store *st = NULL;
    s = ns_store_create_ex(rpath, spec, 1, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (!s) {
        uint64_t end = 0;
        s = ns_journal_resume(jpath, ns_spec_digest(spec), replay_llm, st, &end, &j, &err);
        CHECK_ST(s, NS_OK, err);
        ns_journal_close(j);
        ns_run_progress p = {.state = "complete", .jobs_done = l_jobs};
        s = ns_store_close(st, &p, &err);
        CHECK_ST(s, NS_OK, err);
    }
    hid_t fa = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(pooled, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fc = H5Fopen(rpath, H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *const tables[] = {"jobs", "outcomes", "rounds", "transcripts"};
    for (int i = 0; i < 4; i++) {
        CHECK(same_dataset(fa, fb, tables[i]) && same_chunks(fa, fb, tables[i]),
              "LLM /%s: pooled chunks differ from the writer thread's", tables[i]);
        CHECK(same_dataset(fa, fc, tables[i]), "LLM /%s differs after journal replay",
              tables[i]);
    }
    H5Fclose(fa);
    H5Fclose(fb);
    H5Fclose(fc);

    test_llm_show(path);
    test_llm_export(path);
    /* h5py reads it as an analysis script would (tests/read_results.py) */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/read_results.py '%s'", path);
    CHECK(system(cmd) == 0, "tests/read_results.py cannot read the LLM file");
}

/* An LLM store refuses built-in blocks and arena offsets out of range; a
 * built-in store refuses LLM blocks. */
static void test_llm_refusals(const ns_spec *spec)
{
    char path[128];
    snprintf(path, sizeof path, "%s/llm-bad.h5", dir);
    ns_error err = {0};
    ns_store *st = NULL;
    ns_status s = ns_store_create_ex(path, spec, 1, &st, &err);
    CHECK_ST(s, NS_OK, err);
    if (s)
        return;
    s = ns_store_append(st, &blocks[0], &err); /* built-in rows */
    CHECK_ST(s, NS_ERR_INTERNAL, err);
    CHECK(strstr(err.msg, "lacks LLM rows") != NULL, "message: %s", err.msg);
    ns_store_abandon(st);
    s = ns_store_create_ex(path, spec, 1, &st, &err);
    ns_block *b = &lblocks[0];
    size_t keep = b->arena_len;
    b->arena_len = b->llm_turns[b->n_turns - 1].text_off; /* the last text falls out */
    if (!s)
        s = ns_store_append(st, b, &err);
    b->arena_len = keep;
    CHECK_ST(s, NS_ERR_INTERNAL, err);
    CHECK(strstr(err.msg, "outside the block's arena") != NULL, "message: %s", err.msg);
    ns_store_abandon(st);
    s = ns_store_create(path, spec, &st, &err);
    if (!s)
        s = ns_store_append(st, b, &err);
    CHECK_ST(s, NS_ERR_INTERNAL, err);
    CHECK(strstr(err.msg, "has LLM rows") != NULL, "message: %s", err.msg);
    ns_store_abandon(st);
}

/* The engine (record_turn) puts each turn's text into the arena of an LLM
 * block: the same text, byte for byte, that it renders into the texts[]
 * rows of a built-in block, and the same turn rows. */
static void test_engine_arena(const ns_spec *spec)
{
    ns_engine *e = ns_engine_create(spec);
    ns_block base, llm;
    ns_block_init(&base);
    ns_block_init(&llm);
    base.has_texts = llm.has_texts = llm.has_llm = 1;
    ns_block_reset(&base, 0, 40);
    ns_block_reset(&llm, 0, 40);
    uint64_t grid = ns_spec_grid_size(spec);
    for (uint64_t id = 0; id < 40 && id < grid; id++) {
        ns_job job;
        if (!ns_spec_job(spec, id, &job))
            continue;
        ns_engine_run(e, &job, &base);
        ns_engine_run(e, &job, &llm);
    }
    CHECK(base.n_turns >= grid && llm.n_turns == base.n_turns, "engine: %zu vs %zu turns",
          base.n_turns, llm.n_turns);
    size_t bad = 0, end = 0;
    for (size_t k = 0; k < base.n_turns && k < llm.n_turns; k++) {
        const char *want = base.texts[k].text;
        const ns_llm_turn_row *lt = &llm.llm_turns[k];
        if (lt->text_len != strlen(want) || lt->text_off != end ||
            memcmp(llm.arena + lt->text_off, want, lt->text_len) != 0 ||
            memcmp(&base.turns[k], &llm.turns[k], sizeof base.turns[k]) != 0)
            if (bad++ < 3)
                fprintf(stderr, "turn %zu: arena text \"%.*s\", rendered \"%s\"\n", k,
                        (int)lt->text_len, llm.arena + lt->text_off, want);
        end += lt->text_len;
    }
    CHECK(bad == 0 && llm.arena_len == end, "engine: %zu arena texts differ from the "
          "rendered ones", bad);
    ns_block_free(&base);
    ns_block_free(&llm);
    ns_engine_destroy(e);
}

int main(void)
{
    strcpy(dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    ns_spec *spec = load_spec("store", 1);
    if (spec) {
        char path[128];
        snprintf(path, sizeof path, "%s/direct.h5", dir);
        make_blocks(1, 1);
        if (write_store(spec, path) == 0) {
            hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
            check_tables(f, spec);
            check_metadata(f, spec);
            check_storage(f);
            H5Fclose(f);
            test_threads(spec, path);
            test_resume_equivalence(spec, path, 0);
            test_resume_equivalence(spec, path, 2);
            test_show(path);
            test_export(path);
            test_info(path);
        }
        test_texts_required(spec);
        test_order_checked(spec);
        test_llm(spec);
        test_engine_arena(spec);
        test_llm_refusals(spec);
        test_no_transcripts(); /* remakes the blocks, without texts */
        ns_spec_free(spec);
    }
    for (int b = 0; b < N_BLOCKS; b++)
        ns_block_free(&blocks[b]);
    for (int b = 0; b < LLM_BLOCKS; b++)
        ns_block_free(&lblocks[b]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return ns_test_report("test_store");
}
