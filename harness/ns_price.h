/*
 * ns_price.h - the price table: USD per million input and output tokens
 * per model, which turns a reply's token usage into cost.
 *
 * The shipped table is providers/prices.yaml (ns_price_default_path);
 * a spec may name a second file whose entries replace or add to it
 * (ns_price_overlay). File format:
 *
 *     version: 1                       # optional; 1 is the only version
 *     prices:
 *       "openai:gpt-4o-mini": {input: 0.15, output: 0.60, cached_input: 0.075,
 *                              as_of: "2026-11-21", source: "https://..."}
 *       "openai-compatible:*": {input: 0, output: 0}
 *
 * Each entry is named "provider:model"; a name ending in '*' is a prefix
 * pattern ("openai-compatible:*" matches every model of that provider).
 * input and output (USD per 1M tokens) are required, cached_input
 * (prompt-cache reads) is optional; all must be numbers >= 0. as_of and
 * source are free text for the reader. Errors are "file:line:col: ...".
 * Provider names are not checked here: an entry for a provider negsim
 * does not know is simply never looked up.
 *
 * Overlay replaces an entry whole (an override must give input and output
 * again), so no price is ever half from one file and half from another.
 */
#ifndef NS_PRICE_H
#define NS_PRICE_H

#include "ns_status.h"

typedef struct ns_price_table ns_price_table;

typedef struct ns_price_entry {
    const char *name;         /* "provider:model" or "provider:prefix*" */
    double input_per_m;       /* USD per 1M input tokens */
    double output_per_m;      /* USD per 1M output tokens */
    double cached_input_per_m;/* USD per 1M cached input tokens; < 0 when
                                 the file gives none (billed as input) */
    const char *as_of;        /* "" when not given */
    const char *source;       /* "" when not given */
    const char *file;         /* the file the entry came from */
} ns_price_entry;

/* NEGSIM_DATA_DIR "/providers/prices.yaml": the shipped table. */
const char *ns_price_default_path(void);

/* Loads a price file. *out is freed with ns_price_free. */
ns_status ns_price_load(const char *path, ns_price_table **out, ns_error *err);
/* Lays the entries of a second file over t: same names are replaced, new
 * names added. On error t is unchanged. */
ns_status ns_price_overlay(ns_price_table *t, const char *path, ns_error *err);
void ns_price_free(ns_price_table *t); /* NULL is a no-op */

size_t ns_price_count(const ns_price_table *t);
const ns_price_entry *ns_price_at(const ns_price_table *t, size_t i);

/* The entry for "provider:model": the exact name if present, else the
 * longest prefix pattern that matches ("anthropic:claude-3-5-haiku*"
 * before "anthropic:*"). NULL when none matches: the model has no known
 * price, and the caller decides. negsim's rule is that a run with
 * --budget-usd refuses to start while any model it uses has no price (the
 * cap could not be kept), and that without a budget the run goes on with
 * a warning and records the cost as unknown (NaN), never as 0. Entries are
 * owned by t; look them up once per model, not per call. */
const ns_price_entry *ns_price_lookup(const ns_price_table *t, const char *name);

/* Cost in USD of one call: in_tokens at the input price and out_tokens at
 * the output price. Negative counts (usage not reported) count as 0. */
double ns_price_cost(const ns_price_entry *e, long in_tokens, long out_tokens);
/* As ns_price_cost, with `cached_tokens` of the in_tokens (a subset, as
 * OpenAI and Gemini report them; add Anthropic's cache_read_input_tokens
 * to both counts) billed at the cached-input price when the entry has one. */
double ns_price_cost_cached(const ns_price_entry *e, long in_tokens,
                            long cached_tokens, long out_tokens);

#endif
