/*
 * ns_plan.c - sampling-based cost estimates for `negsim plan`, and the
 * printed description of a spec's grid shared by plan and validate.
 */
#include "ns_plan.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <zlib.h>

#include "ns_engine.h"
#include "ns_llm.h"
#include "ns_price.h"
#include "ns_progress.h"
#include "ns_prompt.h"
#include "ns_record.h"
#include "ns_reply.h"

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

/* ---- LLM sweeps: calls, tokens and cost ---------------------------------- */

typedef struct llm_use {
    const ns_llm_model *model;
    int role;                  /* 0 buyer, 1 seller, 2 judge */
    double jobs;               /* sampled jobs using it */
    double calls, in_tokens;   /* summed over those jobs */
} llm_use;

static llm_use *use_of(llm_use *u, int *n, const ns_llm_model *m, int role)
{
    for (int i = 0; i < *n; i++)
        if (u[i].model == m && u[i].role == role)
            return &u[i];
    u[*n] = (llm_use){.model = m, .role = role};
    return &u[(*n)++];
}

/* A negotiation that runs every turn: offers at the issues' midpoints. */
static void fake_negotiation(ns_negotiation *n, const ns_spec *spec, const ns_job *job,
                             ns_turn *turns)
{
    memset(n, 0, sizeof *n);
    n->job = job;
    n->sc = job->sc;
    n->cat = ns_spec_catalog(spec);
    n->max_rounds = ns_spec_max_rounds(spec);
    n->max_turns = 2 * n->max_rounds;
    n->turns = turns;
    n->closed_by = -1;
    for (int k = 0; k < n->max_turns; k++) {
        ns_turn *t = &turns[k];
        t->speaker = (job->opener + k) % 2;
        t->action = NS_ACT_OFFER;
        for (int i = 0; i < job->sc->n_issues; i++)
            t->value[i] = ns_issue_snap(&job->sc->issue[i],
                                        (job->sc->issue[i].lo + job->sc->issue[i].hi) / 2);
        for (int s = 0; s < 2; s++)
            t->utility[s] = ns_scenario_utility(job->sc, s, t->value);
    }
}

static void at_turn(ns_negotiation *n, int k)
{
    n->n_turns = k;
    n->to_move = (n->job->opener + k) % 2;
    n->last_offer[0] = n->last_offer[1] = -1;
    for (int j = 0; j < k; j++)
        n->last_offer[n->turns[j].speaker] = j;
}

/* Bytes of the two rendered prompts; 0 when a template cannot render. */
static double prompt_bytes(const ns_llm_assets *a, int sys, int turn, const ns_prompt_vars *v)
{
    char *s1 = NULL, *s2 = NULL;
    ns_error e;
    double bytes = 0;
    if (ns_template_render(a->tpl[sys], ns_prompt_lookup, (void *)v, &s1, &e) == NS_OK &&
        ns_template_render(a->tpl[turn], ns_prompt_lookup, (void *)v, &s2, &e) == NS_OK)
        bytes = (double)(strlen(s1) + strlen(s2));
    free(s1);
    free(s2);
    return bytes;
}

/* The request's fixed part: the answer's schema and the wire format's
 * own fields. */
static double schema_bytes(const ns_scenario *sc)
{
    json_t *schema = sc ? ns_reply_move_schema(sc) : ns_reply_judge_schema();
    char *text = json_dumps(schema, JSON_COMPACT);
    double n = text ? (double)strlen(text) : 0;
    free(text);
    json_decref(schema);
    return n + 300;
}

static void sample_job(const ns_spec *spec, const ns_llm_assets *a, const ns_job *job,
                       llm_use *uses, int *n_uses, const char *const *texts, ns_turn *turns)
{
    const ns_llm_config *cfg = ns_spec_llm(spec);
    ns_negotiation neg;
    fake_negotiation(&neg, spec, job, turns);
    for (int side = 0; side < 2; side++) {
        if (!job->side[side].llm)
            continue;
        llm_use *u = use_of(uses, n_uses, job->side[side].llm, side);
        double fixed = schema_bytes(job->sc);
        u->jobs++;
        for (int k = 0; k < neg.max_turns; k++) {
            if ((job->opener + k) % 2 != side)
                continue;
            at_turn(&neg, k);
            ns_prompt_vars v;
            ns_prompt_vars_init(&v);
            ns_prompt_vars_fill(&v, a->markers, &neg, side, cfg->window, texts);
            u->in_tokens += (prompt_bytes(a, NS_PROMPT_SYSTEM, NS_PROMPT_TURN, &v) + fixed) / 4;
            u->calls++;
            ns_prompt_vars_free(&v);
        }
    }
    if (cfg->has_judge) {
        llm_use *u = use_of(uses, n_uses, &cfg->judge, 2);
        at_turn(&neg, neg.max_turns);
        neg.ending = NS_END_IMPASSE;
        ns_prompt_vars v;
        ns_prompt_vars_init(&v);
        ns_prompt_vars_fill_judge(&v, a->markers, &neg, texts, cfg->judge_language);
        u->in_tokens += (prompt_bytes(a, NS_PROMPT_JUDGE_SYSTEM, NS_PROMPT_JUDGE_TURN, &v) +
                         schema_bytes(NULL)) / 4;
        u->calls++;
        u->jobs++;
        ns_prompt_vars_free(&v);
    }
}

static void print_usd(FILE *out, double usd)
{
    fprintf(out, usd < 1 ? "$%.4f" : usd < 1000 ? "$%.2f" : "$%.0f", usd);
}

ns_status ns_plan_llm(const ns_spec *spec, uint64_t sample, FILE *out, ns_error *err)
{
    static const char *const roles[3] = {"buyer", "seller", "judge"};
    const ns_llm_config *cfg = ns_spec_llm(spec);
    ns_llm_assets a;
    ns_status st = ns_llm_assets_load(spec, &a, err);
    if (st) {
        ns_llm_assets_free(&a);
        return st;
    }
    int max_turns = 2 * ns_spec_max_rounds(spec);
    char **texts = ns_xcalloc((size_t)max_turns + 1, sizeof *texts);
    for (int k = 0; k < max_turns; k++) {
        texts[k] = ns_xmalloc(NS_PLAN_MESSAGE_BYTES + 1);
        memset(texts[k], 'x', NS_PLAN_MESSAGE_BYTES);
        texts[k][NS_PLAN_MESSAGE_BYTES] = '\0';
    }
    ns_turn *turns = ns_xcalloc((size_t)max_turns + 1, sizeof *turns);
    llm_use uses[2 * 64 + 2];
    int n_uses = 0;
    uint64_t grid = ns_spec_grid_size(spec), jobs = ns_spec_job_count(spec), sampled = 0;
    uint64_t stride = sample && grid / sample ? grid / sample : 1;
    ns_job job;
    for (uint64_t id = 0; id < grid && sampled < sample; id += stride)
        if (ns_spec_job(spec, id, &job) && n_uses < 2 * 64) {
            sample_job(spec, &a, &job, uses, &n_uses, (const char *const *)texts, turns);
            sampled++;
        }
    fprintf(out, "LLM estimate: upper bound, every negotiation running all %d rounds;\n"
            "  prompts rendered for %llu sample jobs, earlier messages taken as %d bytes,\n"
            "  input tokens = request bytes / 4, answers taken as %d tokens (worst case:\n"
            "  max_tokens = %d). A negotiation ending at round r costs about r/%d of this.\n",
            ns_spec_max_rounds(spec), (unsigned long long)sampled, NS_PLAN_MESSAGE_BYTES,
            NS_PLAN_ANSWER_TOKENS, cfg->max_tokens, ns_spec_max_rounds(spec));
    double total = 0, total_worst = 0, calls_total = 0;
    for (int i = 0; i < n_uses; i++) {
        const llm_use *u = &uses[i];
        /* the sample's share of jobs using this model, scaled to the sweep */
        double share = (double)jobs * u->jobs / (double)sampled;
        double calls = u->calls / u->jobs * share;
        double in = u->in_tokens / u->jobs * share;
        double out_typ = calls * NS_PLAN_ANSWER_TOKENS, out_max = calls * cfg->max_tokens;
        const ns_price_entry *p = ns_llm_price(&a, cfg, u->model);
        double usd = p ? ns_price_cost(p, (long)in, (long)out_typ) : NAN;
        double worst = p ? ns_price_cost(p, (long)in, (long)out_max) : NAN;
        fprintf(out, "  %-6s %-36s %8.0f jobs %10.0f calls %12.0f tokens in  ", roles[u->role],
                u->model->full, share, calls, in);
        if (p) {
            print_usd(out, usd);
            fprintf(out, " (worst ");
            print_usd(out, worst);
            fprintf(out, ")\n");
        } else {
            fprintf(out, "no price in the table\n");
        }
        total += usd;
        total_worst += worst;
        calls_total += calls;
    }
    fprintf(out, "  total: %.0f calls, ", calls_total);
    if (isnan(total)) {
        fprintf(out, "cost unknown (a model has no price)\n");
    } else {
        print_usd(out, total);
        fprintf(out, " (worst ");
        print_usd(out, total_worst);
        fprintf(out, "); the response cache makes repeated calls free\n");
    }
    for (int k = 0; k < max_turns; k++)
        free(texts[k]);
    free(texts);
    free(turns);
    ns_llm_assets_free(&a);
    return NS_OK;
}
