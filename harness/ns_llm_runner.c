/*
 * ns_llm_runner.c - the LLM event loop (see ns_llm_runner.h).
 *
 * Data:
 *   open_job   one open negotiation: its engine, its own small block of
 *              rows, and the host its LLM agents report to. Engines and
 *              blocks are kept and reused when the job finishes.
 *   pblock     a ring block being produced: how many of its jobs are
 *              started and outstanding, and the finished jobs' blocks by
 *              position, so they can be concatenated in job order.
 * The loop: open jobs while there is room, step the ones an answer woke,
 * poll the session, and repeat. A job is stepped only from the loop, never
 * from inside a callback, so the engine is never re-entered.
 */
#include "ns_llm_runner.h"

#include <stdlib.h>
#include <string.h>

#include "ns_agent_llm.h"
#include "ns_engine.h"
#include "ns_progress.h"

typedef struct open_job {
    ns_engine *eng;
    ns_block *mini;            /* the job's rows; handed to its pblock when done */
    ns_llm_host host;
    ns_job job;
    uint64_t block;            /* the pblock it belongs to */
    int in_use, queued;
    struct open_job *next_run; /* runnable list */
    struct loop *loop;
} open_job;

typedef struct pblock {
    uint64_t b;
    ns_block *out;             /* the ring slot's block */
    uint64_t first, end;       /* grid ids */
    uint64_t next;             /* next id to open */
    size_t outstanding;        /* opened, not finished */
    int broken;                /* a job was abandoned: never complete */
    ns_block **done;           /* by id - first */
} pblock;

/* Arena bytes a job's block starts with: room for every message of a
 * negotiation at a typical length and the judge's summaries, so that
 * reused blocks rarely grow, and trimmed back to this when one did:
 * memory stays flat however many jobs pass through. */
#define TEXT_BYTES_PER_TURN 512
#define JUDGE_TEXT_BYTES 4096

typedef struct loop {
    const ns_spec *spec;
    ns_llm *llm;
    const ns_block_sink *sink;
    const ns_llm_config *cfg;
    int has_judge, transcripts;
    /* open jobs */
    open_job *jobs;
    size_t n_jobs_cap, n_open;
    open_job **idle;            /* stack of the jobs not in use */
    size_t n_idle;
    open_job *run_head;
    /* blocks in production: ring of n_slots entries by b % n_slots */
    pblock *pb;
    uint64_t n_slots;
    uint64_t lowest;           /* lowest block not yet released */
    uint64_t next_block;       /* next block to acquire */
    uint64_t end_block;
    /* spare per-job blocks */
    ns_block **spare;
    size_t n_spare, cap_spare;
    int stopping;
    ns_llm_run_stats *stats;
    ns_status failed;
    ns_error *err;
} loop;

/* ---- per-job blocks ------------------------------------------------------- */

static size_t job_text_bytes(const loop *L)
{
    return 2 * (size_t)ns_spec_max_rounds(L->spec) * TEXT_BYTES_PER_TURN + JUDGE_TEXT_BYTES;
}

static ns_block *mini_get(loop *L)
{
    ns_block *b = L->n_spare ? L->spare[--L->n_spare] : NULL;
    if (!b) {
        b = ns_xcalloc(1, sizeof *b);
        ns_block_init(b);
        b->has_texts = L->transcripts;
        b->has_llm = 1;
        /* one negotiation: at most 2 * max_rounds turns */
        ns_block_reserve(b, 1, 2 * (size_t)ns_spec_max_rounds(L->spec), job_text_bytes(L));
    }
    ns_block_reset(b, 0, 0);
    return b;
}

static void mini_put(loop *L, ns_block *b)
{
    ns_block_reset(b, 0, 0);
    ns_block_trim_arena(b, job_text_bytes(L));
    if (L->n_spare == L->cap_spare) {
        L->cap_spare = L->cap_spare ? 2 * L->cap_spare : 64;
        L->spare = ns_xrealloc(L->spare, L->cap_spare * sizeof *L->spare);
    }
    L->spare[L->n_spare++] = b;
}


/* ---- blocks in production ------------------------------------------------ */

static pblock *pb_of(loop *L, uint64_t b) { return &L->pb[b % L->n_slots]; }

static int pb_complete(const pblock *p)
{
    return !p->broken && p->next >= p->end && p->outstanding == 0;
}

/* Releases, in order, every block from the lowest that is complete. A
 * broken block stays: the session ends before it. */
static void release_complete(loop *L)
{
    while (L->lowest < L->next_block) {
        pblock *p = pb_of(L, L->lowest);
        if (!pb_complete(p))
            return;
        for (uint64_t k = 0; k < p->end - p->first; k++)
            if (p->done[k]) {
                ns_block_append(p->out, p->done[k]);
                mini_put(L, p->done[k]);
                p->done[k] = NULL;
            }
        L->sink->release(L->sink->ctx, p->b, 1);
        L->lowest++;
    }
}

/* The block to open jobs from next, acquiring a new one when needed;
 * NULL when none is available now. */
static pblock *opening_block(loop *L)
{
    if (L->next_block > L->lowest) {
        pblock *p = pb_of(L, L->next_block - 1);
        if (p->next < p->end)
            return p;
    }
    if (L->next_block >= L->end_block || L->next_block - L->lowest >= L->n_slots)
        return NULL;
    ns_block *out = L->sink->try_acquire(L->sink->ctx, L->next_block);
    if (!out)
        return NULL;
    uint64_t b = L->next_block++;
    pblock *p = pb_of(L, b);
    p->b = b;
    p->out = out;
    p->first = b * L->sink->block_size;
    p->end = p->first + L->sink->block_size;
    if (p->first < L->sink->begin)
        p->first = L->sink->begin;
    if (p->end > L->sink->end)
        p->end = L->sink->end;
    p->next = p->first;
    p->outstanding = 0;
    p->broken = 0;
    /* The ring's block starts empty each time: a slot that once held a
     * block of long negotiations would otherwise keep that high-water
     * mark, and over a long run every slot would reach it (memory would
     * creep up with the number of jobs done). */
    int has_texts = out->has_texts, has_llm = out->has_llm;
    ns_block_free(out);
    ns_block_init(out);
    out->has_texts = has_texts;
    out->has_llm = has_llm;
    ns_block_reset(out, p->first, p->end);
    memset(p->done, 0, L->sink->block_size * sizeof *p->done);
    return p;
}

/* ---- jobs ---------------------------------------------------------------------- */

static void wake(ns_llm_host *h)
{
    open_job *oj = (open_job *)((char *)h - offsetof(open_job, host));
    loop *L = oj->loop;
    if (oj->queued)
        return;
    oj->queued = 1;
    oj->next_run = L->run_head;
    L->run_head = oj;
}

static void finish_job(loop *L, open_job *oj)
{
    pblock *p = pb_of(L, oj->block);
    p->outstanding--;
    if (oj->host.budget_refused) {
        /* not recorded: the job runs again on --resume */
        p->broken = 1;
        L->stopping = 1;
        L->stats->abandoned++;
        mini_put(L, oj->mini);
    } else {
        ns_llm_host_finish(&oj->host);
        p->done[oj->job.id - p->first] = oj->mini;
        L->stats->jobs++;
    }
    oj->mini = NULL;
    oj->in_use = 0;
    L->idle[L->n_idle++] = oj;
    L->n_open--;
    release_complete(L);
}

/* Steps a job until it waits for an answer or is finished. */
static void advance(loop *L, open_job *oj)
{
    ns_neg_state st;
    while ((st = ns_engine_step(oj->eng)) == NS_NEG_READY)
        ;
    if (st == NS_NEG_WAITING)
        return;
    const ns_negotiation *neg = ns_engine_negotiation(oj->eng);
    int judged = neg->ending == NS_END_AGREEMENT || neg->ending == NS_END_WALKAWAY ||
                 neg->ending == NS_END_IMPASSE;
    if (L->has_judge && judged && !oj->host.budget_refused && !oj->host.judge_done) {
        if (oj->host.judge_pending)
            return;
        ns_error e;
        if (ns_llm_judge_ask(&oj->host, neg, &e) == NS_OK)
            return; /* finished when the judgement arrives */
    }
    finish_job(L, oj);
}


static ns_status open_job_start(loop *L, pblock *p, uint64_t id, open_job *oj)
{
    if (!oj->eng) {
        oj->eng = ns_engine_create(L->spec);
        if (!oj->eng)
            return ns_fail(L->err, NS_ERR_NOMEM, "cannot create an engine");
    }
    oj->loop = L;
    oj->in_use = 1;
    oj->queued = 0;
    oj->block = p->b;
    oj->mini = mini_get(L);
    ns_spec_job(L->spec, id, &oj->job);
    memset(&oj->host, 0, sizeof oj->host);
    oj->host.llm = L->llm;
    oj->host.blk = oj->mini;
    oj->host.job_row = oj->mini->n_jobs; /* the row start() adds */
    oj->host.wake = wake;
    ns_engine_set_host(oj->eng, &oj->host);
    ns_engine_start(oj->eng, &oj->job, oj->mini);
    p->outstanding++;
    L->n_open++;
    advance(L, oj);
    return NS_OK;
}

/* Opens jobs while there is room and a block to take them from. */
static ns_status open_jobs(loop *L)
{
    while (!L->stopping && L->n_open < L->n_jobs_cap) {
        pblock *p = opening_block(L);
        if (!p)
            return NS_OK;
        uint64_t id = p->next++;
        ns_job probe;
        if (!ns_spec_job(L->spec, id, &probe)) {
            release_complete(L); /* a block of filtered ids completes at once */
            continue;
        }
        /* n_open < n_jobs_cap, so a job is idle */
        ns_status st = open_job_start(L, p, id, L->idle[--L->n_idle]);
        if (st)
            return st;
    }
    return NS_OK;
}

static void run_woken(loop *L)
{
    while (L->run_head) {
        open_job *oj = L->run_head;
        L->run_head = oj->next_run;
        oj->queued = 0;
        if (oj->in_use)
            advance(L, oj);
    }
}

/* Gives up the blocks that will not complete, so the writer stops there. */
static void release_unfinished(loop *L)
{
    for (uint64_t b = L->lowest; b < L->next_block; b++) {
        pblock *p = pb_of(L, b);
        for (uint64_t k = 0; k < p->end - p->first; k++)
            if (p->done[k]) {
                mini_put(L, p->done[k]);
                p->done[k] = NULL;
            }
        L->sink->release(L->sink->ctx, b, 0);
    }
    L->lowest = L->next_block;
}

static void loop_free(loop *L)
{
    for (size_t i = 0; i < L->n_jobs_cap; i++) {
        ns_engine_destroy(L->jobs[i].eng);
        if (L->jobs[i].mini) {
            ns_block_free(L->jobs[i].mini);
            free(L->jobs[i].mini);
        }
    }
    free(L->jobs);
    free(L->idle);
    for (uint64_t k = 0; k < L->n_slots; k++)
        free(L->pb[k].done);
    free(L->pb);
    for (size_t i = 0; i < L->n_spare; i++) {
        ns_block_free(L->spare[i]);
        free(L->spare[i]);
    }
    free(L->spare);
}

ns_status ns_llm_produce(const ns_spec *spec, ns_llm *llm, const ns_block_sink *sink,
                         volatile sig_atomic_t *stop, int quiet, ns_llm_run_stats *stats,
                         ns_error *err)
{
    loop L;
    memset(&L, 0, sizeof L);
    memset(stats, 0, sizeof *stats);
    L.spec = spec;
    L.llm = llm;
    L.sink = sink;
    L.cfg = ns_llm_config_of(llm);
    L.has_judge = L.cfg->has_judge;
    L.transcripts = ns_spec_transcripts(spec);
    L.stats = stats;
    L.err = err;
    L.n_jobs_cap = (size_t)L.cfg->max_open;
    L.jobs = ns_xcalloc(L.n_jobs_cap, sizeof *L.jobs);
    L.idle = ns_xmalloc(L.n_jobs_cap * sizeof *L.idle);
    for (size_t i = 0; i < L.n_jobs_cap; i++)
        L.idle[L.n_idle++] = &L.jobs[L.n_jobs_cap - 1 - i]; /* jobs[0] on top */
    /* enough blocks in production to keep max_open jobs open */
    L.n_slots = (uint64_t)L.cfg->max_open / sink->block_size + 2;
    L.pb = ns_xcalloc(L.n_slots, sizeof *L.pb);
    for (uint64_t k = 0; k < L.n_slots; k++)
        L.pb[k].done = ns_xcalloc(sink->block_size, sizeof *L.pb[k].done);
    L.lowest = L.next_block = sink->first_block;
    L.end_block = sink->first_block + sink->n_blocks;

    ns_progress *bar = ns_progress_create(sink->jobs, quiet);
    double last_commit = ns_now(), last_note = 0;
    ns_status st = NS_OK;
    for (;;) {
        if (!L.stopping && (*stop || sink->writer_stopped(sink->ctx) ||
                            ns_llm_budget_exhausted(llm))) {
            L.stopping = 1;
            ns_llm_cancel_queued(llm);
        }
        if ((st = open_jobs(&L)))
            break;
        run_woken(&L);
        if (L.n_open == 0 && (L.stopping || L.lowest >= L.end_block))
            break;
        ns_llm_poll(llm, 50);
        run_woken(&L);
        double now = ns_now();
        if (now - last_commit >= 1.0) {
            if ((st = ns_llm_commit(llm, err)))
                break;
            last_commit = now;
        }
        if (now - last_note >= 0.5) {
            char note[192];
            ns_llm_status_line(llm, note, sizeof note);
            ns_progress_set_note(bar, note);
            last_note = now;
        }
        ns_progress_update(bar, stats->jobs);
    }
    if (st) {
        /* drop what is open; its blocks never reach the writer */
        for (size_t i = 0; i < L.n_jobs_cap; i++)
            if (L.jobs[i].in_use) {
                L.jobs[i].in_use = 0;
                stats->abandoned++;
            }
    }
    release_complete(&L);
    release_unfinished(&L);
    ns_progress_set_note(bar, "");
    ns_progress_finish(bar, stats->jobs);
    stats->spent_usd = ns_llm_spent(llm);
    stats->next_block = L.next_block;
    stats->budget_stopped = ns_llm_budget_exhausted(llm);
    ns_error e;
    ns_status cst = ns_llm_commit(llm, &e);
    if (!st && cst) {
        *err = e;
        st = cst;
    }
    loop_free(&L);
    return st;
}
