/*
 * ns_spec.h - the sweep spec: a YAML file naming scenarios, both sides'
 * personality, tactic and influence axes, agent kinds, repetitions, seed,
 * round limit, filters and output options (docs/sweep-spec.md). Loading
 * validates everything (with file:line:column errors) and resolves names
 * against scenarios/ and the catalogues in personalities/.
 *
 * The job grid is the Cartesian product of the axes, in this order (the
 * last varies fastest):
 *   scenario x buyer model x seller model x buyer personality x seller
 *   personality x buyer tactic x buyer influence x seller tactic x seller
 *   influence x repetition
 * A built-in side's model axis has the one level "builtin", so ids of
 * specs without LLM agents are those of the original eight axes.
 * A job's id is its index in that product (mixed radix), so ids are stable
 * and a job is decoded from its id alone: the grid is never materialised.
 * Filters (include/exclude) drop indices; dropped ids simply never run.
 * Each job's seed is XXH64(master seed, id): results depend on nothing but
 * the spec and the id, whatever the thread count or order.
 *
 * A loaded spec is read-only and shared by all threads.
 */
#ifndef NS_SPEC_H
#define NS_SPEC_H

#include <stdint.h>
#include <stdio.h>

#include "ns_catalog.h"
#include "ns_record.h"
#include "ns_scenario.h"
#include "ns_status.h"

struct ns_agent_kind;
struct ns_llm_model;
struct ns_llm_config;

typedef struct ns_side_setup {
    char personality[NS_NAME_LEN];  /* level label: "A=low,N=0.2", archetype, "sobol#17", "grid#K" */
    double trait[NS_N_TRAITS];
    int tactic;                     /* catalogue index, 0 = none */
    int influence;                  /* catalogue index, 0 = none */
    char agent[NS_NAME_LEN];        /* agent kind name, e.g. "builtin" */
    const struct ns_agent_kind *kind;
    char model[NS_MODEL_LEN];       /* "endpoint:model" of an llm side, else "" */
    const struct ns_llm_model *llm; /* that model's settings, NULL when built-in */
} ns_side_setup;

typedef struct ns_job {
    uint64_t id;
    uint64_t seed;
    int scenario_index;
    const ns_scenario *sc;
    uint32_t repetition;            /* 0-based */
    int opener;                     /* NS_BUYER or NS_SELLER */
    ns_side_setup side[2];
} ns_job;

/* One axis of the grid, for plan/validate output and the results file. */
typedef struct ns_axis_info {
    const char *name;     /* "scenario", "buyer.personality", ... */
    uint64_t n_levels;
} ns_axis_info;

typedef struct ns_spec ns_spec;

/* Loads and validates a spec. Scenario files and catalogues are resolved
 * relative to `data_dir` (the folder holding scenarios/ and personalities/;
 * NULL means: the spec's folder's parent if it has them, else the current
 * directory, else the installed NEGSIM_DATA_DIR). */
ns_status ns_spec_load(const char *path, const char *data_dir, ns_spec **out,
                       ns_error *err);
void ns_spec_free(ns_spec *s); /* NULL is a no-op */

uint64_t ns_spec_grid_size(const ns_spec *s);   /* product, before filters */
/* Jobs after filters; scans the grid once when there are filters. */
uint64_t ns_spec_job_count(const ns_spec *s);
/* Decodes grid index `id` into *job. Returns 1, or 0 when a filter drops
 * it (job is then still filled, for diagnostics). */
int ns_spec_job(const ns_spec *s, uint64_t id, ns_job *job);

int ns_spec_axis_count(const ns_spec *s);
ns_axis_info ns_spec_axis(const ns_spec *s, int i);
/* Name of level j of axis i, written into buf. */
const char *ns_spec_axis_level(const ns_spec *s, int i, uint64_t j, char *buf,
                               size_t size);

const ns_catalog *ns_spec_catalog(const ns_spec *s);
int ns_spec_scenario_count(const ns_spec *s);
const ns_scenario *ns_spec_scenario(const ns_spec *s, int i);
int ns_spec_max_issues(const ns_spec *s);   /* K: value columns in tables */

const char *ns_spec_name(const ns_spec *s);
const char *ns_spec_path(const ns_spec *s);
const char *ns_spec_text(const ns_spec *s);  /* the spec file's text */
uint64_t ns_spec_seed(const ns_spec *s);
int ns_spec_max_rounds(const ns_spec *s);
uint32_t ns_spec_repetitions(const ns_spec *s);
int ns_spec_transcripts(const ns_spec *s);   /* record message texts? */
const char *ns_spec_output(const ns_spec *s); /* default results path */
/* Digest of everything that determines the results (spec text, scenario
 * sources, catalogue text, negsim's format version): --resume refuses a
 * journal or file whose digest differs. */
uint64_t ns_spec_digest(const ns_spec *s);

/* 1 when a side is an LLM agent or a judge is set: the run needs the
 * network, keys and the LLM columns (ns_llm_config.h). */
int ns_spec_has_llm(const ns_spec *s);
/* The llm: and judge: settings (defaults when the spec has none). */
const struct ns_llm_config *ns_spec_llm(const ns_spec *s);
/* The folder holding scenarios/, personalities/ and prompts/ that the
 * spec was resolved against. */
const char *ns_spec_data_dir(const ns_spec *s);
/* The model axis of a side (*n = 0 for a built-in side). */
const struct ns_llm_model *ns_spec_side_models(const ns_spec *s, int side, int *n);

/* Non-fatal findings (e.g. a scenario with an empty ZOPA), one per line;
 * "" when none. */
const char *ns_spec_warnings(const ns_spec *s);

/* Seed of job `id` under master seed `seed` (XXH64 of both). */
uint64_t ns_job_seed(uint64_t master_seed, uint64_t id);

#endif
