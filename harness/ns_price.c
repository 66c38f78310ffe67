/*
 * ns_price.c - loading the price table (providers/prices.yaml and an
 * optional overlay) through ns_yaml, lookup by name or prefix pattern, and
 * the cost arithmetic.
 *
 * The table is a small array (tens of entries) searched linearly: lookups
 * happen once per model when a run is set up, not per request. Strings of
 * an entry are copied out of the YAML document, which is freed after each
 * load.
 */
#include "ns_price.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_yaml.h"

#ifndef NEGSIM_DATA_DIR
#define NEGSIM_DATA_DIR "."
#endif

struct ns_price_table {
    ns_price_entry *e;
    size_t n, cap;
};

const char *ns_price_default_path(void)
{
    return NEGSIM_DATA_DIR "/providers/prices.yaml";
}

static void entry_clear(ns_price_entry *e)
{
    free((char *)e->name);
    free((char *)e->as_of);
    free((char *)e->source);
    free((char *)e->file);
}

void ns_price_free(ns_price_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_clear(&t->e[i]);
    free(t->e);
    free(t);
}

size_t ns_price_count(const ns_price_table *t) { return t->n; }

const ns_price_entry *ns_price_at(const ns_price_table *t, size_t i)
{
    return i < t->n ? &t->e[i] : NULL;
}

/* Adds e to t, replacing an entry of the same name (whose strings are
 * freed); t takes e's strings. */
static void table_put(ns_price_table *t, ns_price_entry e)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, e.name) == 0) {
            entry_clear(&t->e[i]);
            t->e[i] = e;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->e = ns_xrealloc(t->e, t->cap * sizeof *t->e);
    }
    t->e[t->n++] = e;
}

/* "provider:model" with both parts non-empty, no white space, and '*'
 * only as the last character. */
static const char *name_problem(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon[1] == '\0')
        return "expected 'provider:model'";
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n')
            return "white space in the name";
        if (*p == '*' && p[1] != '\0')
            return "'*' may only end a name (a prefix pattern)";
    }
    if (strchr(s, '*') && strchr(s, '*') < colon)
        return "'*' may only stand in the model part";
    return NULL;
}

static ns_status price_field(const ns_yaml *y, struct fy_node *map, const char *key,
                             int required, const char *what, double *out,
                             ns_error *err)
{
    ns_status st = ns_yaml_get_number(y, map, key, required, what, out, err);
    if (st)
        return st;
    struct fy_node *n = ns_yaml_get(map, key);
    if (n && *out < 0)
        return ns_yaml_fail(y, n, err, "%s: %s must be >= 0 (USD per million tokens)",
                            what, key);
    return NS_OK;
}

static ns_status parse_entry(const ns_yaml *y, struct fy_node *k, struct fy_node *v,
                             ns_price_entry *out, ns_error *err)
{
    static const char *const keys[] = {"input", "output", "cached_input", "as_of",
                                       "source", NULL};
    const char *name = ns_yaml_scalar(k);
    if (!name)
        return ns_yaml_fail(y, k, err, "prices: entry names must be text");
    const char *problem = name_problem(name);
    if (problem)
        return ns_yaml_fail(y, k, err, "price '%s': %s", name, problem);
    char what[160];
    snprintf(what, sizeof what, "price '%s'", name);
    double in = 0, outp = 0, cached = -1;
    const char *as_of = "", *source = "";
    ns_status st;
    if ((st = ns_yaml_expect_map(y, v, what, err)) ||
        (st = ns_yaml_check_keys(y, v, keys, what, err)) ||
        (st = price_field(y, v, "input", 1, what, &in, err)) ||
        (st = price_field(y, v, "output", 1, what, &outp, err)) ||
        (st = price_field(y, v, "cached_input", 0, what, &cached, err)) ||
        (st = ns_yaml_get_string(y, v, "as_of", 0, what, &as_of, err)) ||
        (st = ns_yaml_get_string(y, v, "source", 0, what, &source, err)))
        return st;
    *out = (ns_price_entry){
        .name = ns_xstrdup(name),
        .input_per_m = in,
        .output_per_m = outp,
        .cached_input_per_m = cached,
        .as_of = ns_xstrdup(as_of),
        .source = ns_xstrdup(source),
        .file = ns_xstrdup(ns_yaml_path(y)),
    };
    return NS_OK;
}

/* Parses `path` into `into` (entries replace same names). */
static ns_status load_into(ns_price_table *into, const char *path, ns_error *err)
{
    static const char *const top[] = {"version", "prices", NULL};
    ns_yaml *y;
    ns_status st = ns_yaml_load_file(path, &y, err);
    if (st)
        return st;
    struct fy_node *root = ns_yaml_root(y), *prices;
    long long version = 1;
    if ((st = ns_yaml_expect_map(y, root, "the file", err)) ||
        (st = ns_yaml_check_keys(y, root, top, "the file", err)) ||
        (st = ns_yaml_get_integer(y, root, "version", 0, "the file", &version, err)))
        goto out;
    if (version != 1) {
        st = ns_yaml_fail(y, ns_yaml_get(root, "version"), err,
                          "version %lld is not known to this negsim (expected 1)",
                          version);
        goto out;
    }
    prices = ns_yaml_get(root, "prices");
    if (!prices) {
        st = ns_yaml_fail(y, root, err, "missing key 'prices' in the file");
        goto out;
    }
    if ((st = ns_yaml_expect_map(y, prices, "prices", err)))
        goto out;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(prices, &it)) != NULL) {
        ns_price_entry e;
        if ((st = parse_entry(y, ns_yaml_pair_key(p), ns_yaml_pair_value(p), &e, err)))
            goto out;
        table_put(into, e);
    }
out:
    ns_yaml_free(y);
    return st;
}

ns_status ns_price_load(const char *path, ns_price_table **out, ns_error *err)
{
    *out = NULL;
    ns_price_table *t = ns_xcalloc(1, sizeof *t);
    ns_status st = load_into(t, path, err);
    if (st) {
        ns_price_free(t);
        return st;
    }
    *out = t;
    return NS_OK;
}

ns_status ns_price_overlay(ns_price_table *t, const char *path, ns_error *err)
{
    /* parse into a scratch table first, so a bad overlay leaves t as it was */
    ns_price_table scratch = {0};
    ns_status st = load_into(&scratch, path, err);
    if (st == NS_OK) {
        for (size_t i = 0; i < scratch.n; i++)
            table_put(t, scratch.e[i]);
        scratch.n = 0;
    }
    for (size_t i = 0; i < scratch.n; i++)
        entry_clear(&scratch.e[i]);
    free(scratch.e);
    return st;
}

const ns_price_entry *ns_price_lookup(const ns_price_table *t, const char *name)
{
    const ns_price_entry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *pat = t->e[i].name;
        size_t len = strlen(pat);
        if (pat[len - 1] != '*') {
            if (strcmp(pat, name) == 0)
                return &t->e[i];
            continue;
        }
        if (strncmp(pat, name, len - 1) == 0 && (!best || len > best_len)) {
            best = &t->e[i];
            best_len = len;
        }
    }
    return best;
}

double ns_price_cost_cached(const ns_price_entry *e, long in_tokens,
                            long cached_tokens, long out_tokens)
{
    double in = in_tokens > 0 ? (double)in_tokens : 0;
    double cached = cached_tokens > 0 ? (double)cached_tokens : 0;
    double out = out_tokens > 0 ? (double)out_tokens : 0;
    if (cached > in)
        cached = in;
    double cached_price = e->cached_input_per_m >= 0 ? e->cached_input_per_m
                                                     : e->input_per_m;
    return ((in - cached) * e->input_per_m + cached * cached_price +
            out * e->output_per_m) / 1e6;
}

double ns_price_cost(const ns_price_entry *e, long in_tokens, long out_tokens)
{
    return ns_price_cost_cached(e, in_tokens, 0, out_tokens);
}
