/*
 * ns_runner.c - the batch runner: work distribution, the single writer,
 * commit points, resume and the atomic publication of the results file.
 *
 * Threads. The calling thread starts one writer thread, then enters an
 * OpenMP parallel loop over blocks of grid indices (dynamic schedule, one
 * block per iteration). Each worker has its own engine; a finished block
 * is parked in a ring of slots, slot (b mod S) for block b. The writer
 * takes blocks strictly in grid order from the ring, appends each to the
 * journal and to the HDF5 store, and frees the slot for block b+S. Because
 * the lowest unwritten block always has its slot free, the ring cannot
 * deadlock, and memory is bounded by S blocks whatever the grid size.
 *
 * Files. FILE is only ever replaced by rename(2), so it always opens:
 *   1. a fresh run publishes an empty FILE (state "running") first;
 *   2. results go to FILE.journal (commit log, fdatasync'd every
 *      commit_interval seconds) and to the scratch store FILE.partial;
 *   3. at the end, or on a clean stop, FILE.partial is synced and renamed
 *      over FILE; when the grid is complete the journal is removed.
 * A kill at any moment leaves FILE openable and the journal holding every
 * committed block. --resume rebuilds FILE.partial from the journal (cutting
 * a torn tail) and continues from the first block not in it. Jobs are
 * written in grid order and depend only on (spec, id), so a resumed run's
 * tables equal an uninterrupted run's.
 */
#include "ns_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns_fs.h"
#include "ns_engine.h"
#include "ns_journal.h"
#include "ns_llm.h"
#include "ns_llm_runner.h"
#include "ns_progress.h"
#include "ns_record.h"
#include "ns_results.h"
#include "ns_store.h"

static volatile sig_atomic_t stop_requested;

void ns_run_request_stop(void) { stop_requested = 1; }

/* ---- file helpers ------------------------------------------------------ */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static ns_status fsync_path(const char *path, int directory, ns_error *err)
{
    int fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "%s: cannot open to sync", path);
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return ns_fail_errno(err, NS_ERR_IO, saved, "%s: fsync failed", path);
    return NS_OK;
}

static void parent_dir(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, size, ".");
    else if (slash == path)
        snprintf(out, size, "/");
    else
        snprintf(out, size, "%.*s", (int)(slash - path), path);
}

/* Makes `from` durable, then atomically puts it in place of `to`. */
static ns_status publish(const char *from, const char *to, ns_error *err)
{
    ns_status st = fsync_path(from, 0, err);
    if (st)
        return st;
    if (rename(from, to) != 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot rename %s to %s", from, to);
    char dir[PATH_MAX];
    parent_dir(to, dir, sizeof dir);
    return fsync_path(dir, 1, err);
}

static ns_status make_parent_dirs(const char *path, ns_error *err)
{
    char dir[PATH_MAX];
    parent_dir(path, dir, sizeof dir);
    return ns_fs_mkdirs(dir, err);
}

/* ---- the run state ---------------------------------------------------- */

enum { SLOT_EMPTY, SLOT_READY, SLOT_CANCELLED };

typedef struct slot {
    uint64_t block;     /* the block this slot holds or waits for */
    int state;
    ns_block blk;
} slot;

typedef struct run {
    const ns_spec *spec;
    const ns_run_options *opt;
    char path[PATH_MAX], journal_path[PATH_MAX + 16], partial_path[PATH_MAX + 16];
    ns_store *store;
    ns_journal *journal;
    ns_run_progress progress;
    /* work range */
    uint64_t begin, end, block_size, first_block, n_blocks;
    /* ring */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *slots;
    uint64_t n_slots;
    int writer_done;
    /* writer results */
    ns_status writer_status;
    ns_error writer_err;
    uint64_t jobs_session, deals, walkaways, impasses, rounds_sum;
    double wall_before;
    /* LLM sweeps */
    ns_llm *llm;
    ns_llm_run_stats llm_stats;
} run;

static void count_outcomes(run *r, const ns_block *b)
{
    for (size_t k = 0; k < b->n_jobs; k++) {
        const ns_outcome_row *o = &b->outcomes[k];
        r->deals += o->deal;
        r->walkaways += o->ending[0] == 'w';
        r->impasses += o->ending[0] == 'i';
        r->rounds_sum += (uint64_t)o->rounds;
    }
}

static ns_status replay_block(void *ctx, const ns_block *b, ns_error *err)
{
    run *r = ctx;
    count_outcomes(r, b);
    r->progress.jobs_done += b->n_jobs;
    r->progress.next_index = b->end_index;
    return ns_store_append(r->store, b, err);
}

/* ---- the writer --------------------------------------------------------- */

static ns_status write_block(run *r, const ns_block *b, ns_error *err)
{
    ns_status st = ns_journal_append(r->journal, b, err);
    if (!st)
        st = ns_store_append(r->store, b, err);
    if (st)
        return st;
    count_outcomes(r, b);
    r->jobs_session += b->n_jobs;
    r->progress.jobs_done += b->n_jobs;
    r->progress.next_index = b->end_index;
    return NS_OK;
}

static void *writer_main(void *arg)
{
    run *r = arg;
    /* an LLM run's progress is drawn by its event loop, which knows what
     * the run is waiting for */
    ns_progress *bar = ns_progress_create(r->progress.jobs_planned - r->progress.jobs_done,
                                          r->opt->quiet || r->llm);
    double interval = r->opt->commit_interval > 0 ? r->opt->commit_interval : 1.0;
    double last_commit = ns_now();
    ns_status st = NS_OK;
    for (uint64_t b = r->first_block; b < r->first_block + r->n_blocks; b++) {
        slot *s = &r->slots[b % r->n_slots];
        pthread_mutex_lock(&r->mu);
        while (s->state == SLOT_EMPTY)
            pthread_cond_wait(&r->cv, &r->mu);
        int cancelled = s->state == SLOT_CANCELLED;
        pthread_mutex_unlock(&r->mu);
        if (cancelled)
            break;
        st = write_block(r, &s->blk, &r->writer_err);
        pthread_mutex_lock(&r->mu);
        s->block = b + r->n_slots;
        s->state = SLOT_EMPTY;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (st)
            break;
        if (ns_now() - last_commit >= interval) {
            if ((st = ns_journal_commit(r->journal, &r->writer_err)))
                break;
            last_commit = ns_now();
        }
        ns_progress_update(bar, r->jobs_session);
    }
    if (!st)
        st = ns_journal_commit(r->journal, &r->writer_err);
    ns_progress_finish(bar, r->jobs_session);
    pthread_mutex_lock(&r->mu);
    r->writer_status = st;
    r->writer_done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the workers -------------------------------------------------------- */

/* Waits until slot b is free for block b; 0 when the writer has stopped. */
static int acquire_slot(run *r, uint64_t b)
{
    slot *s = &r->slots[b % r->n_slots];
    pthread_mutex_lock(&r->mu);
    while (!(s->block == b && s->state == SLOT_EMPTY) && !r->writer_done)
        pthread_cond_wait(&r->cv, &r->mu);
    int ok = !r->writer_done;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static void release_slot(run *r, uint64_t b, int state)
{
    pthread_mutex_lock(&r->mu);
    r->slots[b % r->n_slots].state = state;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void run_block(const ns_spec *spec, ns_engine *eng, ns_block *blk,
                      uint64_t first, uint64_t end)
{
    ns_job job;
    ns_block_reset(blk, first, end);
    for (uint64_t id = first; id < end; id++)
        if (ns_spec_job(spec, id, &job))
            ns_engine_run(eng, &job, blk);
}

/* ---- the LLM producer's view of the ring -------------------------------- */

static ns_block *sink_try_acquire(void *ctx, uint64_t b)
{
    run *r = ctx;
    slot *s = &r->slots[b % r->n_slots];
    pthread_mutex_lock(&r->mu);
    int ok = s->block == b && s->state == SLOT_EMPTY && !r->writer_done;
    pthread_mutex_unlock(&r->mu);
    return ok ? &s->blk : NULL;
}

static void sink_release(void *ctx, uint64_t b, int ready)
{
    release_slot(ctx, b, ready ? SLOT_READY : SLOT_CANCELLED);
}

static int sink_writer_stopped(void *ctx)
{
    run *r = ctx;
    pthread_mutex_lock(&r->mu);
    int done = r->writer_done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

/* Jobs this session will run: what is left of the grid, or --limit. */
static uint64_t session_jobs(const run *r)
{
    uint64_t left = r->progress.jobs_planned - r->progress.jobs_done;
    return r->opt->limit && r->opt->limit < left ? r->opt->limit : left;
}

static ns_status run_llm(run *r, ns_error *err)
{
    ns_block_sink sink = {
        .ctx = r,
        .try_acquire = sink_try_acquire,
        .release = sink_release,
        .writer_stopped = sink_writer_stopped,
        .first_block = r->first_block,
        .n_blocks = r->n_blocks,
        .block_size = r->block_size,
        .begin = r->begin,
        .end = r->end,
        .jobs = session_jobs(r),
    };
    ns_status st = ns_llm_produce(r->spec, r->llm, &sink, &stop_requested, r->opt->quiet,
                                  &r->llm_stats, err);
    /* An early end leaves the writer waiting for the next block: tell it
     * that block will not come. */
    uint64_t b = r->llm_stats.next_block;
    if (b < r->first_block + r->n_blocks && acquire_slot(r, b))
        release_slot(r, b, SLOT_CANCELLED);
    return st;
}

static void run_workers(run *r, int threads)
{
    long long nb = (long long)r->n_blocks;
#pragma omp parallel num_threads(threads)
    {
        ns_engine *eng = ns_engine_create(r->spec);
#pragma omp for schedule(dynamic, 1)
        for (long long i = 0; i < nb; i++) {
            uint64_t b = r->first_block + (uint64_t)i;
            if (!acquire_slot(r, b))
                continue;
            if (stop_requested || !eng) {
                release_slot(r, b, SLOT_CANCELLED);
                continue;
            }
            uint64_t first = b * r->block_size;
            uint64_t end = first + r->block_size < r->end ? first + r->block_size : r->end;
            if (first < r->begin)
                first = r->begin;
            run_block(r->spec, eng, &r->slots[b % r->n_slots].blk, first, end);
            release_slot(r, b, SLOT_READY);
        }
        ns_engine_destroy(eng);
    }
}

/* ---- set-up: fresh run or resume ------------------------------------- */

static void set_paths(run *r, const char *path)
{
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->journal_path, sizeof r->journal_path, "%s.journal", path);
    snprintf(r->partial_path, sizeof r->partial_path, "%s.partial", path);
}

static ns_status start_fresh(run *r, ns_error *err)
{
    ns_status st = make_parent_dirs(r->path, err);
    if (st)
        return st;
    /* Publish an empty, valid results file first: from here on FILE
     * always opens, whatever happens to this process. */
    ns_run_progress p0 = r->progress;
    p0.state = "running";
    if ((st = ns_store_create(r->partial_path, r->spec, &r->store, err)))
        return st;
    if ((st = ns_store_close(r->store, &p0, err))) {
        r->store = NULL;
        return st;
    }
    r->store = NULL;
    if ((st = publish(r->partial_path, r->path, err)))
        return st;
    if ((st = ns_journal_create(r->journal_path, ns_spec_digest(r->spec), &r->journal, err)))
        return st;
    if ((st = ns_store_create(r->partial_path, r->spec, &r->store, err)))
        return st;
    return ns_store_set_threads(r->store, r->progress.threads, err);
}

static ns_status start_resume(run *r, ns_error *err)
{
    if (!file_exists(r->journal_path))
        return ns_fail(err, NS_ERR_CORRUPT,
                       "%s: the run is unfinished but its journal %s is missing; "
                       "use --force to start over",
                       r->path, r->journal_path);
    ns_status st = ns_store_create(r->partial_path, r->spec, &r->store, err);
    if (!st)
        st = ns_store_set_threads(r->store, r->progress.threads, err);
    if (st)
        return st;
    uint64_t end_index = 0;
    st = ns_journal_resume(r->journal_path, ns_spec_digest(r->spec), replay_block, r,
                           &end_index, &r->journal, err);
    r->progress.next_index = end_index;
    return st;
}

/* Decides between a fresh run, a resume, nothing to do, or refusing. */
static ns_status open_outputs(run *r, ns_run_summary *sum, ns_error *err)
{
    const ns_run_options *o = r->opt;
    if (file_exists(r->path) && !o->force) {
        if (!o->resume)
            return ns_fail(err, NS_ERR_EXISTS,
                           "%s exists; use --resume to continue it or --force to "
                           "replace it",
                           r->path);
        ns_results_info info;
        ns_status st = ns_results_info_read(r->path, &info, err);
        if (st)
            return st;
        if (info.digest != ns_spec_digest(r->spec))
            return ns_fail(err, NS_ERR_MISMATCH,
                           "%s was written by a different spec (or scenarios or "
                           "catalogues changed since); use --force to start over",
                           r->path);
        if (strcmp(info.state, "complete") == 0) {
            sum->already_complete = 1;
            sum->jobs_before = info.jobs_done;
            return NS_OK;
        }
        r->wall_before = info.wall_seconds;
        return start_resume(r, err);
    }
    if (!o->force && !o->resume && file_exists(r->journal_path))
        return ns_fail(err, NS_ERR_EXISTS,
                       "%s holds an unfinished run's journal; use --resume to "
                       "continue it or --force to discard it",
                       r->journal_path);
    if (o->resume && !o->force && file_exists(r->journal_path))
        return start_resume(r, err);
    unlink(r->journal_path);
    return start_fresh(r, err);
}

/* Grid index after `n` more kept jobs from `from` (filters make it differ
 * from from + n). */
static uint64_t end_after_jobs(const ns_spec *spec, uint64_t from, uint64_t n)
{
    uint64_t grid = ns_spec_grid_size(spec), id = from, kept = 0;
    ns_job job;
    while (id < grid && kept < n)
        kept += (uint64_t)ns_spec_job(spec, id++, &job);
    return id;
}

static uint64_t choose_block_size(const run *r, int threads)
{
    if (r->opt->block_size)
        return r->opt->block_size;
    if (r->llm)
        return 16; /* jobs take seconds: commit small blocks often */
    /* Large enough to amortise the hand-offs, small enough that every
     * thread gets several blocks of a small sweep. */
    uint64_t span = r->end - r->begin, bs = 256;
    while (bs > 8 && span / bs < (uint64_t)threads * 8)
        bs /= 2;
    return bs;
}

static ns_status run_range(run *r, int threads, ns_error *err)
{
    r->block_size = choose_block_size(r, threads);
    r->first_block = r->begin / r->block_size;
    r->n_blocks = r->end > r->begin ? (r->end - 1) / r->block_size + 1 - r->first_block : 0;
    r->n_slots = 4 * (uint64_t)threads;
    if (r->llm) /* as many blocks in production as keep max_open jobs open */
        r->n_slots = (uint64_t)ns_llm_config_of(r->llm)->max_open / r->block_size + 2;
    r->slots = ns_xcalloc(r->n_slots, sizeof *r->slots);
    for (uint64_t k = 0; k < r->n_slots; k++) {
        /* slot k first waits for the first block b >= first_block, b = k (mod S) */
        uint64_t b = r->first_block + (k + r->n_slots - r->first_block % r->n_slots) % r->n_slots;
        r->slots[k].block = b;
        ns_block_init(&r->slots[k].blk);
        r->slots[k].blk.has_texts = ns_spec_transcripts(r->spec);
        r->slots[k].blk.has_llm = ns_spec_has_llm(r->spec);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, r) != 0)
        return ns_fail(err, NS_ERR_INTERNAL, "cannot start the writer thread");
    ns_status pst = NS_OK;
    ns_error perr;
    if (r->llm)
        pst = run_llm(r, &perr);
    else
        run_workers(r, threads);
    /* Workers are done; if the writer still waits (no stop, all blocks
     * ready) it finishes by itself. */
    pthread_join(writer, NULL);
    for (uint64_t k = 0; k < r->n_slots; k++)
        ns_block_free(&r->slots[k].blk);
    free(r->slots);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    if (r->writer_status) {
        *err = r->writer_err;
        return r->writer_status;
    }
    if (pst)
        *err = perr;
    return pst;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    /* a second Ctrl-C kills at once; the journal still protects */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

static ns_status finish_files(run *r, int complete, ns_error *err)
{
    r->progress.state = complete ? "complete" : "interrupted";
    ns_status st = ns_store_close(r->store, &r->progress, err);
    r->store = NULL;
    if (!st)
        st = publish(r->partial_path, r->path, err);
    if (!st && complete) {
        ns_journal_close(r->journal);
        r->journal = NULL;
        unlink(r->journal_path);
    }
    return st;
}

ns_status ns_run(const ns_spec *spec, const ns_run_options *opt, ns_run_summary *sum,
                 ns_error *err)
{
    memset(sum, 0, sizeof *sum);
    run r;
    memset(&r, 0, sizeof r);
    r.spec = spec;
    r.opt = opt;
    set_paths(&r, opt->output ? opt->output : ns_spec_output(spec));
    sum->output = opt->output ? opt->output : ns_spec_output(spec);
    int threads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    r.progress.threads = threads;
    r.progress.jobs_planned = ns_spec_job_count(spec);
    sum->jobs_planned = r.progress.jobs_planned;
    sum->threads = threads;

    /* An LLM sweep checks keys, prices, prompts and the cache before it
     * touches any file, so a missing key costs nothing. */
    ns_status st = NS_OK;
    sum->llm = ns_spec_has_llm(spec);
    if (sum->llm) {
        ns_llm_options lo = {.no_cache = opt->no_cache,
                             .cache_path = opt->cache_path,
                             .budget_usd = opt->budget_usd,
                             .seed = ns_spec_seed(spec)};
        if ((st = ns_llm_create(spec, &lo, &r.llm, err)))
            goto out;
    }
    st = open_outputs(&r, sum, err);
    if (st || sum->already_complete)
        goto out;
    sum->jobs_before = r.progress.jobs_done;
    r.begin = r.progress.next_index;
    r.end = opt->limit ? end_after_jobs(spec, r.begin, opt->limit) : ns_spec_grid_size(spec);

    stop_requested = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = ns_now();
    st = run_range(&r, threads, err);
    sum->wall_seconds = ns_now() - t0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    r.progress.wall_seconds = r.wall_before + sum->wall_seconds;
    if (st)
        goto out;
    int complete = r.progress.next_index >= ns_spec_grid_size(spec) ||
                   r.progress.jobs_done >= r.progress.jobs_planned;
    if (complete)
        r.progress.next_index = ns_spec_grid_size(spec);
    st = finish_files(&r, complete, err);
    sum->complete = complete;
    sum->interrupted = stop_requested && !complete;
    sum->spent_usd = r.llm_stats.spent_usd;
    sum->budget_stopped = r.llm_stats.budget_stopped && !complete;
    if (!st && sum->budget_stopped)
        st = ns_fail(err, NS_ERR_BUDGET,
                     "budget reached: $%.4f spent in this session; %llu jobs saved in %s; "
                     "run again with --resume (and a larger --budget-usd) to continue",
                     r.llm_stats.spent_usd, (unsigned long long)r.progress.jobs_done,
                     r.path);
    else if (!st && sum->interrupted)
        st = ns_fail(err, NS_ERR_INTERRUPTED,
                     "interrupted: %llu jobs saved in %s; run again with --resume "
                     "to continue",
                     (unsigned long long)r.progress.jobs_done, r.path);
out:
    sum->jobs = r.jobs_session;
    sum->deals = r.deals;
    sum->walkaways = r.walkaways;
    sum->impasses = r.impasses;
    uint64_t all = r.progress.jobs_done;
    sum->mean_rounds = all ? (double)r.rounds_sum / (double)all : 0;
    ns_store_abandon(r.store);
    ns_journal_close(r.journal);
    ns_llm_destroy(r.llm);
    return st;
}
