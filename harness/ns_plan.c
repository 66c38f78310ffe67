/*
 * ns_plan.c - sampling-based cost estimates for `negsim plan`, and the
 * printed description of a spec's grid shared by plan and validate.
 */
#include "ns_plan.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <zlib.h>

#include "ns_engine.h"
#include "ns_progress.h"
#include "ns_record.h"

/* Must match the deflate level the store uses (ns_store.c). */
#define NS_PLAN_DEFLATE_LEVEL 1

static size_t compressed_size(const void *data, size_t n)
{
    if (n == 0)
        return 0;
    uLongf cap = compressBound((uLong)n);
    unsigned char *buf = ns_xmalloc(cap);
    size_t out = compress2(buf, &cap, data, (uLong)n, NS_PLAN_DEFLATE_LEVEL) == Z_OK ? cap : n;
    free(buf);
    return out;
}

ns_status ns_plan_estimate_run(const ns_spec *spec, uint64_t sample,
                               ns_plan_estimate *out, ns_error *err)
{
    memset(out, 0, sizeof *out);
    out->jobs = ns_spec_job_count(spec);
    uint64_t grid = ns_spec_grid_size(spec);
    if (out->jobs == 0 || grid == 0)
        return NS_OK;
    ns_engine *eng = ns_engine_create(spec);
    if (!eng)
        return ns_fail(err, NS_ERR_NOMEM, "cannot create an engine");
    ns_block blk;
    ns_block_init(&blk);
    blk.has_texts = ns_spec_transcripts(spec);
    uint64_t stride = grid / sample ? grid / sample : 1;
    ns_job job;
    double t0 = ns_now();
    for (uint64_t id = 0; id < grid && out->sampled < sample; id += stride)
        if (ns_spec_job(spec, id, &job)) {
            ns_engine_run(eng, &job, &blk);
            out->sampled++;
        }
    double dt = ns_now() - t0;
    /* Rows are compressed as raw memory below; the tail padding of a
     * transcript row is never written (the store copies fields, not rows),
     * so give it a defined value first. */
    size_t text_end = offsetof(ns_transcript_row, text) + sizeof blk.texts[0].text;
    for (size_t k = 0; blk.has_texts && k < blk.n_turns; k++)
        memset((char *)&blk.texts[k] + text_end, 0, sizeof blk.texts[k] - text_end);
    if (out->sampled) {
        double n = (double)out->sampled;
        int transcripts = ns_spec_transcripts(spec);
        size_t raw = blk.n_jobs * (sizeof *blk.jobs + sizeof *blk.outcomes) +
                     blk.n_turns * (sizeof *blk.turns + (transcripts ? sizeof *blk.texts : 0));
        double c0 = ns_now();
        size_t disk = compressed_size(blk.jobs, blk.n_jobs * sizeof *blk.jobs) +
                      compressed_size(blk.outcomes, blk.n_jobs * sizeof *blk.outcomes) +
                      compressed_size(blk.turns, blk.n_turns * sizeof *blk.turns) +
                      (transcripts ? compressed_size(blk.texts, blk.n_turns * sizeof *blk.texts) : 0);
        out->output_seconds_per_job = (ns_now() - c0) / n;
        out->seconds_per_job = dt / n;
        out->mean_turns = (double)blk.n_turns / n;
        out->raw_bytes_per_job = (double)raw / n;
        out->disk_bytes_per_job = (double)disk / n;
    }
    ns_block_free(&blk);
    ns_engine_destroy(eng);
    return NS_OK;
}

static void print_bytes(FILE *out, double b)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    fprintf(out, "%.1f %s", b, unit[u]);
}

static void print_duration(FILE *out, double s)
{
    if (s < 120)
        fprintf(out, "%.1f s", s);
    else if (s < 7200)
        fprintf(out, "%.1f min", s / 60);
    else if (s < 3 * 86400)
        fprintf(out, "%.1f h", s / 3600);
    else
        fprintf(out, "%.1f days", s / 86400);
}

void ns_plan_print(const ns_spec *spec, const ns_plan_estimate *est, int threads,
                   FILE *out)
{
    fprintf(out, "spec:        %s (%s)\n", ns_spec_name(spec), ns_spec_path(spec));
    fprintf(out, "output:      %s\n", ns_spec_output(spec));
    fprintf(out, "seed:        %llu\n", (unsigned long long)ns_spec_seed(spec));
    fprintf(out, "max rounds:  %d\n", ns_spec_max_rounds(spec));
    fprintf(out, "axes:\n");
    for (int i = 0; i < ns_spec_axis_count(spec); i++) {
        ns_axis_info a = ns_spec_axis(spec, i);
        fprintf(out, "  %-20s %8llu  ", a.name, (unsigned long long)a.n_levels);
        char buf[128];
        uint64_t show = a.n_levels < 6 ? a.n_levels : 5;
        for (uint64_t j = 0; j < show; j++)
            fprintf(out, "%s%s", j ? ", " : "", ns_spec_axis_level(spec, i, j, buf, sizeof buf));
        if (show < a.n_levels)
            fprintf(out, ", ... (%llu more)", (unsigned long long)(a.n_levels - show));
        fputc('\n', out);
    }
    fprintf(out, "grid size:   %llu\n", (unsigned long long)ns_spec_grid_size(spec));
    fprintf(out, "jobs:        %llu (after filters)\n", (unsigned long long)ns_spec_job_count(spec));
    if (!est || !est->sampled)
        return;
    double jobs = (double)est->jobs;
    fprintf(out, "estimates:   from %llu sample jobs run just now\n",
            (unsigned long long)est->sampled);
    fprintf(out, "  run time:  ");
    /* CPU per job = the engine's time plus the output's (compression
     * dominates it), both measured on the sample; all of it spreads over
     * the cores the workers, the writer and its compression pool share. */
    int cores = omp_get_num_procs();
    int usable = threads + 1 < cores ? threads + 1 : cores;
    double cpu = est->seconds_per_job + est->output_seconds_per_job;
    print_duration(out, jobs * cpu / usable);
    fprintf(out, " with %d worker thread%s on %d core%s (per job: engine %.1f us, "
            "output %.1f us)\n",
            threads, threads == 1 ? "" : "s", cores, cores == 1 ? "" : "s",
            1e6 * est->seconds_per_job, 1e6 * est->output_seconds_per_job);
    fprintf(out, "  output:    ");
    print_bytes(out, jobs * est->disk_bytes_per_job);
    fprintf(out, " on disk (");
    print_bytes(out, jobs * est->raw_bytes_per_job);
    fprintf(out, " before compression)\n");
}
