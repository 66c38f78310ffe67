/*
 * test_journal.c - the commit log: blocks replay exactly and in order,
 * has_texts included (a block without texts has its text rows unfilled:
 * none are written, which valgrind would catch, and none come back), and
 * LLM blocks (has_llm) with their LLM rows and arena byte for byte: UTF-8
 * texts longer than any column kept whole, judge summaries, NaN scores,
 * their texts[] rows never read; a
 * torn or damaged tail is cut off at the first bad record and appending
 * continues cleanly after it; another spec's or another build's journal
 * is refused with a message that says which; gaps are rejected.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "ns_journal.h"

#include "ns_test.h"

enum { N_BLOCKS = 10, DIGEST = 0x5eed };

static char dir[64];
static ns_block blocks[N_BLOCKS];

/* ---- synthetic blocks -------------------------------------------------- */

/* The texts are filled only when the block has them: otherwise they stay
 * as ns_block_add_turn leaves them, uninitialised, as the engine does. */
static void fill_job(ns_block *b, uint64_t id, unsigned *rng)
{
    size_t k = ns_block_add_job(b);
    ns_job_row *j = &b->jobs[k];
    ns_outcome_row *o = &b->outcomes[k];
    j->job_id = id;
    j->seed = id * 0x9e3779b97f4a7c15ull;
    j->repetition = (uint32_t)(id % 3);
    NS_SET(j->scenario, id % 2 ? "used_car" : "supplier_contract");
    NS_SET(j->opener, "buyer");
    NS_SET(j->personality[0], "grid");
    for (int t = 0; t < NS_N_TRAITS; t++)
        j->trait[1][t] = (double)rand_r(rng) / RAND_MAX;
    o->job_id = id;
    o->deal = (int8_t)(id % 2);
    NS_SET(o->ending, o->deal ? "agreement" : "impasse");
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        o->value[i] = i < 3 ? 1000.0 + id + i / 7.0 : NAN;
    int turns = (int)(id % 5);
    o->turns = turns;
    for (int t = 0; t < turns; t++) {
        size_t r = ns_block_add_turn(b);
        b->turns[r].job_id = id;
        b->turns[r].turn = t;
        b->turns[r].utility[0] = 1.0 / (t + 1);
        NS_SET(b->turns[r].speaker, t % 2 ? "seller" : "buyer");
        if (!b->has_texts)
            continue;
        ns_transcript_row *x = &b->texts[r];
        memset(x, 0, sizeof *x);
        x->job_id = id;
        x->turn = t;
        NS_SET(x->speaker, b->turns[r].speaker);
        int len = rand_r(rng) % NS_TEXT_LEN; /* 0 .. 255 characters */
        for (int c = 0; c < len; c++)
            x->text[c] = (char)('a' + (c + t) % 26);
    }
}

/* The LLM rows of the job just added (its turns are the last `turns`
 * rows): models, usage, an error on some jobs, judge scores and summaries
 * (NaN and none on others), each turn's text in the arena: multi-byte
 * UTF-8, one text longer than NS_LLM_TEXT_LEN (the journal keeps it
 * whole). The texts[] rows stay uninitialised, as the engine leaves them
 * in LLM blocks. */
static void fill_llm(ns_block *b, uint64_t id, int turns)
{
    ns_llm_job_row *l = &b->llm_jobs[b->n_jobs - 1];
    NS_SET(l->model[0], "openai:gpt-4o-mini");
    NS_SET(l->model[1], id % 2 ? "anthropic:claude-3-5-haiku-latest" : "");
    l->cost_usd = 1e-4 * (double)id;
    l->side_cost_usd[0] = l->cost_usd / 3;
    l->input_tokens = 1000 * (int64_t)id + 7;
    l->requests = turns;
    l->latency_ms = turns ? 123.25 + (double)id : NAN;
    if (id % 3 == 0) {
        NS_SET(l->error, "rate_limit");
        NS_SET(l->error_message, "Rate limit reached, \"retry\" later");
    }
    for (int s = 0; s < 2; s++) {
        int judged = id % 4 != 2;
        l->influencing_score[s] = judged ? 1.0 + (double)((id + (uint64_t)s) % 10) : NAN;
        l->tactic_score[s] = judged ? 10.0 - (double)s : NAN;
        if (!judged)
            continue;
        char sum[160];
        int n = snprintf(sum, sizeof sum, "Die %s verhandelte zäh – 価格は妥当 (job %" PRIu64
                         ").", s ? "Verkäuferin" : "Käuferin", id);
        l->summary_off[s] = ns_block_add_text(b, sum, (size_t)n);
        l->summary_len[s] = (uint32_t)n;
    }
    for (int t = 0; t < turns; t++) {
        ns_llm_turn_row *lt = &b->llm_turns[b->n_turns - (size_t)turns + (size_t)t];
        NS_SET(lt->model, t % 2 ? "" : "openai:gpt-4o-mini");
        lt->input_tokens = 500 + t;
        lt->cached = (int8_t)(t == 1);
        lt->latency_ms = t == 1 ? 0 : 88.5;
        if (!b->has_texts)
            continue;
        char text[96];
        int n = snprintf(text, sizeof text, "Preis %d €, Lieferung in %d Wochen? 👍 \"ok\"",
                         1000 + t, t);
        if (id % 10 == 2 && t == 0) {
            /* longer than any column: 9000 bytes of "é€" pairs */
            size_t len = 9000;
            char *big = malloc(len);
            for (size_t c = 0; c < len; c += 5)
                memcpy(big + c, "é€", 5);
            lt->text_off = ns_block_add_text(b, big, len);
            lt->text_len = (uint32_t)len;
            free(big);
            continue;
        }
        lt->text_off = ns_block_add_text(b, text, (size_t)n);
        lt->text_len = (uint32_t)n;
    }
}

/* Block i covers grid indices [10 i, 10 i + 10) with some jobs filtered
 * out; blocks 3 and 5 are empty (every job filtered), which must still
 * replay. Blocks 4 and 5 have no texts (has_texts 0), the others do.
 * Blocks 8 and 9 are LLM blocks, 8 without texts. */
enum { NO_TEXTS = 4, EMPTY_NO_TEXTS = 5, LLM_NO_TEXTS = 8, LLM_FIRST = 8 };
static void make_blocks(void)
{
    unsigned rng = 42;
    for (int i = 0; i < N_BLOCKS; i++) {
        ns_block *b = &blocks[i];
        ns_block_init(b);
        b->has_texts = i != NO_TEXTS && i != EMPTY_NO_TEXTS && i != LLM_NO_TEXTS;
        b->has_llm = i >= LLM_FIRST;
        ns_block_reset(b, 10u * i, 10u * i + 10);
        if (i == 3 || i == EMPTY_NO_TEXTS)
            continue;
        for (uint64_t id = b->first_index; id < b->end_index; id++)
            if (id % 4 != 1) {
                int has_texts = b->has_texts;
                b->has_texts &= !b->has_llm; /* LLM blocks: texts[] unfilled */
                fill_job(b, id, &rng);
                b->has_texts = has_texts;
                if (b->has_llm)
                    fill_llm(b, id, (int)(id % 5));
            }
    }
}

static int same_block(const ns_block *a, const ns_block *b)
{
    if (a->first_index != b->first_index || a->end_index != b->end_index ||
        a->n_jobs != b->n_jobs || a->n_turns != b->n_turns || a->has_texts != b->has_texts ||
        a->has_llm != b->has_llm)
        return 0;
    if (a->has_llm)
        return (a->n_jobs == 0 ||
                memcmp(a->llm_jobs, b->llm_jobs, a->n_jobs * sizeof *a->llm_jobs) == 0) &&
               (a->n_turns == 0 ||
                memcmp(a->llm_turns, b->llm_turns, a->n_turns * sizeof *a->llm_turns) == 0) &&
               a->arena_len == b->arena_len &&
               (a->arena_len == 0 || memcmp(a->arena, b->arena, a->arena_len) == 0) &&
               memcmp(a->jobs, b->jobs, a->n_jobs * sizeof *a->jobs) == 0 &&
               memcmp(a->outcomes, b->outcomes, a->n_jobs * sizeof *a->outcomes) == 0 &&
               memcmp(a->turns, b->turns, a->n_turns * sizeof *a->turns) == 0;
    if (a->n_jobs && (memcmp(a->jobs, b->jobs, a->n_jobs * sizeof *a->jobs) ||
                      memcmp(a->outcomes, b->outcomes, a->n_jobs * sizeof *a->outcomes)))
        return 0;
    if (a->n_turns && memcmp(a->turns, b->turns, a->n_turns * sizeof *a->turns))
        return 0;
    for (size_t k = 0; a->has_texts && k < a->n_turns; k++)
        if (memcmp(&a->texts[k], &b->texts[k], offsetof(ns_transcript_row, text) +
                   NS_TEXT_LEN))
            return 0;
    return 1;
}

/* ---- replay capture ---------------------------------------------------- */

typedef struct capture {
    int n;
    int mismatches;
    int fail_at; /* return an error from this call (-1: never) */
} capture;

static ns_status on_block(void *ctx, const ns_block *b, ns_error *err)
{
    capture *c = ctx;
    if (c->n == c->fail_at)
        return ns_fail(err, NS_ERR_HDF5, "replay target failed");
    if (c->n >= N_BLOCKS || !same_block(b, &blocks[c->n])) {
        c->mismatches++;
        fprintf(stderr, "replayed block %d differs from block appended\n", c->n);
    }
    c->n++;
    return NS_OK;
}

/* ---- file helpers ------------------------------------------------------ */

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

static void flip_byte(const char *path, off_t at)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return;
    fseeko(f, at, SEEK_SET);
    int c = fgetc(f);
    fseeko(f, at, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

/* Writes blocks [0, n) and records where each record starts. */
static void write_journal(const char *path, int n, off_t starts[N_BLOCKS + 1])
{
    ns_journal *j = NULL;
    ns_error err = {0};
    ns_status st = ns_journal_create(path, DIGEST, &j, &err);
    CHECK_ST(st, NS_OK, err);
    if (st != NS_OK)
        return;
    starts[0] = file_size(path);
    for (int i = 0; i < n; i++) {
        st = ns_journal_append(j, &blocks[i], &err);
        CHECK_ST(st, NS_OK, err);
        st = ns_journal_commit(j, &err);
        CHECK_ST(st, NS_OK, err);
        starts[i + 1] = file_size(path);
    }
    ns_journal_close(j);
}

/* Resumes `path`, expecting `want` blocks replayed and end index `end`;
 * returns the journal (or NULL). */
static ns_journal *resume_expect(const char *path, int want, const char *what)
{
    capture c = {.fail_at = -1};
    uint64_t end = 99;
    ns_journal *j = NULL;
    ns_error err = {0};
    ns_status st = ns_journal_resume(path, DIGEST, on_block, &c, &end, &j, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(c.n == want, "%s: expected %d blocks replayed, got %d", what, want, c.n);
    CHECK(c.mismatches == 0, "%s: %d replayed blocks differ", what, c.mismatches);
    uint64_t want_end = want ? blocks[want - 1].end_index : 0;
    CHECK(end == want_end, "%s: expected end index %" PRIu64 ", got %" PRIu64,
          what, want_end, end);
    return j;
}

/* ---- tests ------------------------------------------------------------- */

static void test_roundtrip(void)
{
    char path[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/a.journal", dir);
    write_journal(path, N_BLOCKS, starts);
    ns_journal *j = resume_expect(path, N_BLOCKS, "clean journal");
    CHECK(file_size(path) == starts[N_BLOCKS], "clean journal: expected size %lld, got %lld",
          (long long)starts[N_BLOCKS], (long long)file_size(path));
    ns_journal_close(j);
    /* A block without texts writes its rows and no text bytes at all; an
     * LLM block its rows, its LLM rows and its arena, nothing else. */
    for (int i = 0; i < N_BLOCKS; i++) {
        const ns_block *b = &blocks[i];
        long long fixed = 56 + (long long)(b->n_jobs * (sizeof(ns_job_row) +
                                                        sizeof(ns_outcome_row)) +
                                           b->n_turns * sizeof(ns_turn_row));
        long long got = (long long)(starts[i + 1] - starts[i]);
        if (b->has_llm) {
            long long want = fixed + (long long)(b->n_jobs * sizeof(ns_llm_job_row) +
                                                 b->n_turns * sizeof(ns_llm_turn_row) +
                                                 b->arena_len);
            CHECK(got == want, "LLM block %d: expected a %lld-byte record, got %lld", i,
                  want, got);
        } else if (b->has_texts && b->n_turns)
            CHECK(got > fixed, "block %d: expected texts after %lld bytes, record has %lld",
                  i, fixed, got);
        else
            CHECK(got == fixed, "block %d (has_texts %d, %zu turns): expected a %lld-byte "
                  "record, got %lld", i, b->has_texts, b->n_turns, fixed, got);
    }
    CHECK(blocks[NO_TEXTS].n_turns > 0, "block %d should have turns", NO_TEXTS);
    /* the LLM blocks hold what they should test: a text longer than the
     * store's column (kept whole here), summaries, NaN scores */
    const ns_block *lb = &blocks[N_BLOCKS - 1];
    int long_text = 0, nan_score = 0;
    for (size_t k = 0; k < lb->n_turns; k++)
        long_text |= lb->llm_turns[k].text_len > NS_LLM_TEXT_LEN;
    for (size_t k = 0; k < lb->n_jobs; k++)
        nan_score |= isnan(lb->llm_jobs[k].tactic_score[1]);
    CHECK(long_text && nan_score && lb->arena_len > 9000,
          "LLM block: long text %d, NaN score %d, arena %zu bytes", long_text, nan_score,
          lb->arena_len);
    /* An empty journal replays nothing and ends at index 0. */
    write_journal(path, 0, starts);
    ns_journal_close(resume_expect(path, 0, "empty journal"));
}

/* Cuts the last record at random offsets: only complete records survive,
 * the file is cut back to them, and the lost block can be appended again. */
static void test_torn_tail(void)
{
    char path[128], work[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/b.journal", dir);
    snprintf(work, sizeof work, "%s/b.work", dir);
    write_journal(path, N_BLOCKS, starts);
    unsigned rng = 7;
    off_t last = starts[N_BLOCKS - 1], end = starts[N_BLOCKS];
    off_t cuts[8] = {last + 1, last + 55, last + 56, end - 1};
    for (int k = 4; k < 8; k++)
        cuts[k] = last + 1 + rand_r(&rng) % (end - last - 1);
    for (int k = 0; k < 8; k++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %lld of [%lld, %lld)",
                 (long long)cuts[k], (long long)last, (long long)end);
        copy_file(path, work);
        CHECK(truncate(work, cuts[k]) == 0, "truncate %s", work);
        ns_journal *j = resume_expect(work, N_BLOCKS - 1, what);
        CHECK(file_size(work) == last, "%s: expected the file cut to %lld, got %lld",
              what, (long long)last, (long long)file_size(work));
        if (!j)
            continue;
        ns_error err = {0};
        ns_status st = ns_journal_append(j, &blocks[N_BLOCKS - 1], &err);
        CHECK_ST(st, NS_OK, err);
        st = ns_journal_commit(j, &err);
        CHECK_ST(st, NS_OK, err);
        ns_journal_close(j);
        ns_journal_close(resume_expect(work, N_BLOCKS, "after re-append"));
    }
}

/* A flipped byte in record 2's payload fails its checksum: records 0 and 1
 * survive, and 2 onwards (valid as they may be) are cut. */
static void test_damaged_record(void)
{
    char path[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/c.journal", dir);
    int offsets[3] = {56 + 3, 56 + 700, -1}; /* in the rows; the record's last byte */
    for (int k = 0; k < 3; k++) {
        write_journal(path, N_BLOCKS, starts);
        off_t at = offsets[k] < 0 ? starts[3] - 1 : starts[2] + offsets[k];
        flip_byte(path, at);
        ns_journal_close(resume_expect(path, 2, "flipped payload byte"));
        CHECK(file_size(path) == starts[2], "flipped byte: expected the file cut to %lld, got %lld",
              (long long)starts[2], (long long)file_size(path));
    }
    /* A flipped byte in a record header (n_jobs) is caught too. */
    write_journal(path, N_BLOCKS, starts);
    flip_byte(path, starts[1] + 32);
    ns_journal_close(resume_expect(path, 1, "flipped header byte"));
}

/* A crash inside ns_journal_create leaves a short header: the journal is
 * then empty (nothing was committed yet) and is completed in place. */
static void test_torn_header(void)
{
    char path[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/h.journal", dir);
    int cuts[3] = {0, 10, 63};
    for (int k = 0; k < 3; k++) {
        write_journal(path, 2, starts);
        CHECK(truncate(path, cuts[k]) == 0, "truncate");
        ns_journal *j = resume_expect(path, 0, "torn header");
        CHECK(file_size(path) == starts[0], "torn header: expected a full header (%lld "
              "bytes), got %lld", (long long)starts[0], (long long)file_size(path));
        ns_error err = {0};
        ns_status st = j ? ns_journal_append(j, &blocks[0], &err) : NS_ERR_INTERNAL;
        CHECK_ST(st, NS_OK, err);
        ns_journal_close(j);
        ns_journal_close(resume_expect(path, 1, "after torn header"));
    }
    /* a short file that is not the start of this spec's header is refused */
    write_journal(path, 0, starts);
    CHECK(truncate(path, 40) == 0, "truncate");
    ns_journal *j = NULL;
    uint64_t end = 0;
    ns_error err = {0};
    ns_status st = ns_journal_resume(path, DIGEST + 1, NULL, NULL, &end, &j, &err);
    CHECK_ST(st, NS_ERR_MISMATCH, err);
    CHECK(strstr(err.msg, "different spec") != NULL, "torn header of another spec: %s",
          err.msg);
    /* ... and one that does not start like a journal is not a journal */
    FILE *f = fopen(path, "r+b");
    if (f) {
        fputs("NSJRNLxx", f);
        fclose(f);
    }
    st = ns_journal_resume(path, DIGEST, NULL, NULL, &end, &j, &err);
    CHECK_ST(st, NS_ERR_CORRUPT, err);
    CHECK(strstr(err.msg, "not a negsim journal") != NULL, "torn garbage: %s", err.msg);
}

/* A journal from a build with another record layout (here: another
 * sizeof ns_job_row, its header checksum valid) says so, whatever its
 * digest. */
static void test_other_layout(const char *path)
{
    char other[128];
    snprintf(other, sizeof other, "%s/layout.journal", dir);
    copy_file(path, other);
    unsigned char h[72]; /* format 2: the checksum is the last 8 bytes */
    FILE *f = fopen(other, "r+b");
    CHECK(f && fread(h, 1, sizeof h, f) == sizeof h, "read header");
    if (!f)
        return;
    uint32_t rows;
    memcpy(&rows, h + 24, sizeof rows); /* job_row_size */
    rows += 8;
    memcpy(h + 24, &rows, sizeof rows);
    uint64_t sum = XXH64(h, sizeof h - 8, 0);
    memcpy(h + sizeof h - 8, &sum, sizeof sum);
    fseek(f, 0, SEEK_SET);
    fwrite(h, 1, sizeof h, f);
    fclose(f);
    for (int d = 0; d < 2; d++) {
        ns_journal *j = NULL;
        uint64_t end = 0;
        ns_error err = {0};
        ns_status st = ns_journal_resume(other, DIGEST + (uint64_t)d, NULL, NULL, &end, &j,
                                         &err);
        CHECK_ST(st, NS_ERR_MISMATCH, err);
        CHECK(strstr(err.msg, "written by a negsim build with a different record layout") &&
                  !strstr(err.msg, "different spec"),
              "another layout: expected a message that says so, got \"%s\"", err.msg);
        ns_journal_close(j);
    }
}

static void test_refusals(void)
{
    char path[128], other[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/d.journal", dir);
    snprintf(other, sizeof other, "%s/not-a-journal", dir);
    write_journal(path, 2, starts);
    ns_journal *j = NULL;
    uint64_t end = 0;
    ns_error err = {0};

    ns_status st = ns_journal_resume(path, DIGEST + 1, NULL, NULL, &end, &j, &err);
    CHECK_ST(st, NS_ERR_MISMATCH, err);
    CHECK(j == NULL, "a refused journal is not returned");
    CHECK(file_size(path) == starts[2], "a refused journal is left alone");
    CHECK(strstr(err.msg, "written by a different spec (or its scenarios/catalogues "
                          "changed); use --force to start over") != NULL,
          "another spec: expected a message that says so, got \"%s\"", err.msg);
    CHECK(strstr(err.msg, "layout") == NULL, "another spec is not a layout mismatch: %s",
          err.msg);
    test_other_layout(path);

    FILE *f = fopen(other, "w");
    fputs("hello, this is not a journal at all, but it is long enough to hold a header\n", f);
    fclose(f);
    st = ns_journal_resume(other, DIGEST, NULL, NULL, &end, &j, &err);
    CHECK_ST(st, NS_ERR_CORRUPT, err);
    CHECK(strstr(err.msg, "not a negsim journal") != NULL,
          "expected a clear message, got \"%s\"", err.msg);

    flip_byte(path, 20); /* the header's digest: its checksum catches it */
    st = ns_journal_resume(path, DIGEST, NULL, NULL, &end, &j, &err);
    CHECK_ST(st, NS_ERR_CORRUPT, err);

    st = ns_journal_resume("/nonexistent/x.journal", DIGEST, NULL, NULL, &end, &j,
                           &err);
    CHECK_ST(st, NS_ERR_NOTFOUND, err);
}

/* Appends that skip or repeat indices are refused and leave no trace; an
 * error from the replay target stops the replay and is passed on. */
static void test_gaps_and_errors(void)
{
    char path[128];
    off_t starts[N_BLOCKS + 1];
    snprintf(path, sizeof path, "%s/e.journal", dir);
    write_journal(path, 2, starts);
    ns_journal *j = resume_expect(path, 2, "before gaps");
    if (!j)
        return;
    ns_error err = {0};
    ns_status st = ns_journal_append(j, &blocks[3], &err); /* skips block 2 */
    CHECK_ST(st, NS_ERR_INTERNAL, err);
    st = ns_journal_append(j, &blocks[1], &err); /* repeats block 1 */
    CHECK_ST(st, NS_ERR_INTERNAL, err);
    CHECK(file_size(path) == starts[2], "refused appends wrote nothing");
    st = ns_journal_append(j, &blocks[2], &err);
    CHECK_ST(st, NS_OK, err);
    ns_journal_close(j);

    capture c = {.fail_at = 1};
    uint64_t end = 0;
    st = ns_journal_resume(path, DIGEST, on_block, &c, &end, &j, &err);
    CHECK_ST(st, NS_ERR_HDF5, err);
    CHECK(j == NULL, "no journal after a failed replay");
    ns_journal_close(j);
    ns_journal_close(resume_expect(path, 3, "after failed replay"));
}

int main(void)
{
    strcpy(dir, "/tmp/test_journal.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_blocks();
    test_roundtrip();
    test_torn_tail();
    test_damaged_record();
    test_torn_header();
    test_refusals();
    test_gaps_and_errors();
    for (int i = 0; i < N_BLOCKS; i++)
        ns_block_free(&blocks[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return ns_test_report("test_journal");
}
