/*
 * test_store.c - the HDF5 results file: tables, attributes and scenario
 * groups as written by ns_store, read back through HDF5 itself; chunks
 * deflated by the store's thread pool (several in flight, flushes and
 * thread changes midway) give the same tables, chunk for chunk, as chunks
 * deflated on the writer thread; the same rows through the journal (a
 * resumed run) give identical tables; blocks without texts; and the
 * readers behind `negsim info`, `show` and `export`.
 */
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static void add_job(ns_block *b, uint64_t id, int garbage)
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
    int turns = turns_of(id);
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
        ns_transcript_row *x = &b->texts[r];
        u->job_id = x->job_id = id;
        u->round = t / 2 + 1;
        u->turn = x->turn = t;
        NS_SET(u->speaker, t % 2 ? "seller" : "buyer");
        NS_SET(u->action, t == turns - 1 && o->deal ? "accept" : "offer");
        for (int i = 0; i < NS_MAX_ISSUES; i++)
            u->value[i] = value_of(id, t, i);
        u->utility[0] = t / 10.0;
        u->utility[1] = 1.0 - t / 10.0;
        if (!b->has_texts)
            continue;
        /* the engine's renderer zero-pads texts; `garbage` checks the store
         * does not depend on it */
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
        test_no_transcripts(); /* remakes the blocks, without texts */
        ns_spec_free(spec);
    }
    for (int b = 0; b < N_BLOCKS; b++)
        ns_block_free(&blocks[b]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return ns_test_report("test_store");
}
