/*
 * ns_llm_config.c - reading the `llm:` and `judge:` blocks of a sweep spec
 * (see ns_llm_config.h). Every error points at the offending node with
 * file:line:column, like the rest of the spec.
 */
#include "ns_llm_config.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *const ns_prompt_keys[NS_PROMPT_COUNT] = {"system", "turn", "judge_system",
                                                     "judge_turn"};
static const char *const prompt_files[NS_PROMPT_COUNT] = {
    "negotiator_system.txt", "negotiator_turn.txt", "judge_system.txt", "judge_turn.txt"};

static char *join_path(const char *dir, const char *file)
{
    if (file[0] == '/' || !dir || !*dir)
        return ns_xstrdup(file);
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = ns_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

void ns_llm_config_init(ns_llm_config *c, const char *data_dir)
{
    memset(c, 0, sizeof *c);
    c->window = 8;
    c->max_tokens = 512;
    c->temperature = -1;
    c->cache = 1;
    c->max_open = 2000;
    snprintf(c->judge_language, sizeof c->judge_language, "English");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/prompts", data_dir ? data_dir : ".");
    for (int i = 0; i < NS_PROMPT_COUNT; i++)
        c->prompt[i] = join_path(dir, prompt_files[i]);
    snprintf(dir, sizeof dir, "%s/personalities", data_dir ? data_dir : ".");
    c->markers = join_path(dir, "bfi_markers.yaml");
}

void ns_llm_config_free(ns_llm_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < NS_PROMPT_COUNT; i++)
        free(c->prompt[i]);
    free(c->prices);
    free(c->markers);
    memset(c, 0, sizeof *c);
}

/* ---- endpoints ----------------------------------------------------------- */

static const char *default_key_env(ns_provider p)
{
    switch (p) {
    case NS_PROVIDER_OPENAI: return "OPENAI_API_KEY";
    case NS_PROVIDER_ANTHROPIC: return "ANTHROPIC_API_KEY";
    case NS_PROVIDER_GEMINI: return "GEMINI_API_KEY";
    default: return "";
    }
}

static void endpoint_defaults(ns_llm_endpoint *e, const char *name, ns_provider p)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->provider = p;
    const char *base = ns_provider_default_base(p);
    snprintf(e->base_url, sizeof e->base_url, "%s", base ? base : "");
    snprintf(e->key_env, sizeof e->key_env, "%s", default_key_env(p));
    ns_endpoint_config_init(&e->http);
    e->http.name = e->name;
}

static int endpoint_find(const ns_llm_config *c, const char *name, size_t len)
{
    for (int i = 0; i < c->n_endpoints; i++)
        if (strlen(c->endpoint[i].name) == len && strncmp(c->endpoint[i].name, name, len) == 0)
            return i;
    return -1;
}

static ns_status get_positive(const ns_yaml *y, struct fy_node *map, const char *key,
                              const char *what, double lo, double *out, ns_error *err)
{
    double v = *out;
    ns_status st = ns_yaml_get_number(y, map, key, 0, what, &v, err);
    if (st)
        return st;
    if (v < lo)
        return ns_yaml_fail(y, ns_yaml_get(map, key), err, "%s.%s must be at least %g, found %g",
                            what, key, lo, v);
    *out = v;
    return NS_OK;
}

static ns_status get_count(const ns_yaml *y, struct fy_node *map, const char *key,
                           const char *what, long long lo, long long hi, int *out,
                           ns_error *err)
{
    long long v = *out;
    ns_status st = ns_yaml_get_integer(y, map, key, 0, what, &v, err);
    if (st)
        return st;
    if (v < lo || v > hi)
        return ns_yaml_fail(y, ns_yaml_get(map, key), err,
                            "%s.%s must be between %lld and %lld, found %lld", what, key, lo,
                            hi, v);
    *out = (int)v;
    return NS_OK;
}

static ns_status copy_string(const ns_yaml *y, struct fy_node *map, const char *key,
                             const char *what, char *dst, size_t size, ns_error *err)
{
    const char *v = NULL;
    ns_status st = ns_yaml_get_string(y, map, key, 0, what, &v, err);
    if (st || !v)
        return st;
    if (strlen(v) >= size)
        return ns_yaml_fail(y, ns_yaml_get(map, key), err, "%s.%s is longer than %zu characters",
                            what, key, size - 1);
    snprintf(dst, size, "%s", v);
    return NS_OK;
}

static ns_status load_limits(const ns_yaml *y, struct fy_node *m, const char *what,
                             ns_endpoint_config *h, ns_error *err)
{
    ns_status st = get_count(y, m, "max_inflight", what, 1, 100000, &h->max_inflight, err);
    if (!st)
        st = get_positive(y, m, "requests_per_minute", what, 0, &h->requests_per_minute, err);
    if (!st)
        st = get_positive(y, m, "tokens_per_minute", what, 0, &h->tokens_per_minute, err);
    if (!st)
        st = get_positive(y, m, "timeout_s", what, 0.001, &h->timeout_s, err);
    if (!st)
        st = get_positive(y, m, "connect_timeout_s", what, 0.001, &h->connect_timeout_s, err);
    if (!st)
        st = get_count(y, m, "max_retries", what, 0, 100, &h->max_retries, err);
    if (!st)
        st = get_positive(y, m, "backoff_base_s", what, 0, &h->backoff_base_s, err);
    if (!st)
        st = get_positive(y, m, "backoff_cap_s", what, 0, &h->backoff_cap_s, err);
    if (!st)
        st = get_count(y, m, "breaker_threshold", what, 0, 1000000, &h->breaker_threshold, err);
    if (!st)
        st = get_positive(y, m, "breaker_cooldown_s", what, 0, &h->breaker_cooldown_s, err);
    return st;
}

static ns_status load_endpoint(ns_llm_config *c, const ns_yaml *y, struct fy_node *key,
                               struct fy_node *m, ns_error *err)
{
    static const char *const keys[] = {
        "kind", "base_url", "api_key_env", "max_inflight", "requests_per_minute",
        "tokens_per_minute", "timeout_s", "connect_timeout_s", "max_retries",
        "backoff_base_s", "backoff_cap_s", "breaker_threshold", "breaker_cooldown_s", NULL};
    const char *name = ns_yaml_scalar(key);
    if (!name || !*name || strlen(name) >= NS_NAME_LEN || strchr(name, ':'))
        return ns_yaml_fail(y, key, err,
                            "llm.providers: an endpoint name is 1 to %d characters "
                            "without ':'", NS_NAME_LEN - 1);
    if (endpoint_find(c, name, strlen(name)) >= 0)
        return ns_yaml_fail(y, key, err, "llm.providers: '%s' is declared twice", name);
    if (c->n_endpoints == NS_LLM_MAX_ENDPOINTS)
        return ns_yaml_fail(y, key, err, "llm.providers: at most %d endpoints",
                            NS_LLM_MAX_ENDPOINTS);
    char what[NS_NAME_LEN + 16];
    snprintf(what, sizeof what, "llm.providers.%s", name);
    ns_status st = ns_yaml_expect_map(y, m, what, err);
    if (!st)
        st = ns_yaml_check_keys(y, m, keys, what, err);
    if (st)
        return st;
    /* kind defaults to the endpoint's own name when that is a provider */
    const char *kind = name;
    if ((st = ns_yaml_get_string(y, m, "kind", 0, what, &kind, err)))
        return st;
    int p = ns_provider_find(kind);
    if (p < 0) {
        struct fy_node *at = ns_yaml_get(m, "kind") ? ns_yaml_get(m, "kind") : key;
        return ns_yaml_fail(y, at, err,
                            "%s: unknown provider kind '%s' (expected one of: openai, "
                            "anthropic, gemini, openai-compatible)", what, kind);
    }
    ns_llm_endpoint *e = &c->endpoint[c->n_endpoints];
    endpoint_defaults(e, name, (ns_provider)p);
    st = copy_string(y, m, "base_url", what, e->base_url, sizeof e->base_url, err);
    if (!st)
        st = copy_string(y, m, "api_key_env", what, e->key_env, sizeof e->key_env, err);
    if (!st)
        st = load_limits(y, m, what, &e->http, err);
    if (st)
        return st;
    if (!e->base_url[0])
        return ns_yaml_fail(y, key, err, "%s: an %s endpoint needs a base_url", what,
                            ns_provider_names[p]);
    if (strncmp(e->base_url, "http://", 7) != 0 && strncmp(e->base_url, "https://", 8) != 0)
        return ns_yaml_fail(y, ns_yaml_get(m, "base_url"), err,
                            "%s.base_url: expected an http:// or https:// URL, found '%s'",
                            what, e->base_url);
    c->n_endpoints++;
    return NS_OK;
}

static ns_status load_providers(ns_llm_config *c, const ns_yaml *y, struct fy_node *n,
                                ns_error *err)
{
    ns_status st = ns_yaml_expect_map(y, n, "llm.providers", err);
    void *it = NULL;
    struct fy_node_pair *p;
    while (!st && (p = ns_yaml_map_next(n, &it)) != NULL)
        st = load_endpoint(c, y, ns_yaml_pair_key(p), ns_yaml_pair_value(p), err);
    return st;
}

/* ---- models ---------------------------------------------------------------- */

ns_status ns_llm_config_model(ns_llm_config *c, const ns_yaml *y, struct fy_node *n,
                              const char *text, ns_llm_model *m, ns_error *err)
{
    const char *colon = strchr(text, ':');
    if (!colon || colon == text || !colon[1])
        return ns_yaml_fail(y, n, err,
                            "model '%s': write it as ENDPOINT:MODEL, e.g. "
                            "openai:gpt-4o-mini", text);
    if (strlen(text) >= sizeof m->full)
        return ns_yaml_fail(y, n, err, "model '%s' is longer than %zu characters", text,
                            sizeof m->full - 1);
    size_t len = (size_t)(colon - text);
    int e = endpoint_find(c, text, len);
    if (e < 0) {
        char name[NS_NAME_LEN];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1),
                 text);
        int p = ns_provider_find(name);
        if (p < 0 || !ns_provider_default_base((ns_provider)p))
            return ns_yaml_fail(y, n, err,
                                "model '%s': unknown endpoint '%s' (use openai, anthropic "
                                "or gemini, or declare it under llm.providers with a kind "
                                "and a base_url)", text, name);
        if (c->n_endpoints == NS_LLM_MAX_ENDPOINTS)
            return ns_yaml_fail(y, n, err, "at most %d endpoints", NS_LLM_MAX_ENDPOINTS);
        e = c->n_endpoints++;
        endpoint_defaults(&c->endpoint[e], name, (ns_provider)p);
    }
    snprintf(m->full, sizeof m->full, "%s", text);
    m->id = m->full + len + 1;
    m->endpoint = e;
    c->endpoint[e].http.name = c->endpoint[e].name;
    return NS_OK;
}

/* ---- the llm block --------------------------------------------------------- */

static ns_status load_prompts(ns_llm_config *c, const ns_yaml *y, struct fy_node *n,
                              const char *base_dir, ns_error *err)
{
    static const char *const keys[] = {"system", "turn", "judge_system", "judge_turn",
                                       NULL};
    ns_status st = ns_yaml_expect_map(y, n, "llm.prompts", err);
    if (!st)
        st = ns_yaml_check_keys(y, n, keys, "llm.prompts", err);
    for (int i = 0; !st && i < NS_PROMPT_COUNT; i++) {
        const char *v = NULL;
        st = ns_yaml_get_string(y, n, ns_prompt_keys[i], 0, "llm.prompts", &v, err);
        if (!st && v) {
            free(c->prompt[i]);
            c->prompt[i] = join_path(base_dir, v);
        }
    }
    return st;
}

static ns_status load_fallbacks(ns_llm_config *c, const ns_yaml *y, struct fy_node *n,
                                ns_error *err)
{
    ns_status st = ns_yaml_expect_seq(y, n, "llm.fallbacks", err);
    void *it = NULL;
    struct fy_node *item;
    while (!st && (item = ns_yaml_seq_next(n, &it)) != NULL) {
        const char *v;
        if (c->n_fallbacks == NS_LLM_MAX_FALLBACKS)
            return ns_yaml_fail(y, item, err, "llm.fallbacks: at most %d models",
                                NS_LLM_MAX_FALLBACKS);
        st = ns_yaml_string(y, item, &v, err);
        if (!st)
            st = ns_llm_config_model(c, y, item, v, &c->fallback[c->n_fallbacks++], err);
    }
    return st;
}

ns_status ns_llm_config_load(ns_llm_config *c, const ns_yaml *y, struct fy_node *llm,
                             const char *base_dir, ns_error *err)
{
    static const char *const keys[] = {"providers", "window", "max_tokens", "temperature",
                                       "prompts", "prices", "fallbacks", "cache",
                                       "max_open", NULL};
    if (!llm)
        return NS_OK;
    ns_status st = ns_yaml_expect_map(y, llm, "llm", err);
    if (!st)
        st = ns_yaml_check_keys(y, llm, keys, "llm", err);
    struct fy_node *n;
    if (!st && (n = ns_yaml_get(llm, "providers")))
        st = load_providers(c, y, n, err);
    if (!st)
        st = get_count(y, llm, "window", "llm", 0, 1000, &c->window, err);
    if (!st)
        st = get_count(y, llm, "max_tokens", "llm", 16, 1000000, &c->max_tokens, err);
    if (!st && ns_yaml_get(llm, "temperature")) {
        st = get_positive(y, llm, "temperature", "llm", 0, &c->temperature, err);
        if (!st && c->temperature > 2)
            st = ns_yaml_fail(y, ns_yaml_get(llm, "temperature"), err,
                              "llm.temperature must be between 0 and 2, found %g",
                              c->temperature);
    }
    if (!st && (n = ns_yaml_get(llm, "prompts")))
        st = load_prompts(c, y, n, base_dir, err);
    const char *prices = NULL;
    if (!st)
        st = ns_yaml_get_string(y, llm, "prices", 0, "llm", &prices, err);
    if (!st && prices)
        c->prices = join_path(base_dir, prices);
    if (!st && (n = ns_yaml_get(llm, "fallbacks")))
        st = load_fallbacks(c, y, n, err);
    if (!st)
        st = ns_yaml_get_bool(y, llm, "cache", 0, "llm", &c->cache, err);
    if (!st)
        st = get_count(y, llm, "max_open", "llm", 1, 1000000, &c->max_open, err);
    return st;
}

ns_status ns_llm_config_load_judge(ns_llm_config *c, const ns_yaml *y,
                                   struct fy_node *judge, ns_error *err)
{
    static const char *const keys[] = {"model", "language", NULL};
    if (!judge)
        return NS_OK;
    const char *model = NULL;
    ns_status st = ns_yaml_expect_map(y, judge, "judge", err);
    if (!st)
        st = ns_yaml_check_keys(y, judge, keys, "judge", err);
    if (!st)
        st = ns_yaml_get_string(y, judge, "model", 1, "judge", &model, err);
    if (!st)
        st = ns_llm_config_model(c, y, ns_yaml_get(judge, "model"), model, &c->judge, err);
    if (!st)
        st = copy_string(y, judge, "language", "judge", c->judge_language,
                         sizeof c->judge_language, err);
    if (!st)
        c->has_judge = 1;
    return st;
}

/* ---- digest text -------------------------------------------------------- */

static void describe_file(const char *path, FILE *out)
{
    fprintf(out, "file %s\n", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(out, "(missing)\n");
        return;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    fclose(f);
}

void ns_llm_config_describe(const ns_llm_config *c, FILE *out)
{
    fprintf(out, "llm window=%d max_tokens=%d temperature=%.17g\n", c->window,
            c->max_tokens, c->temperature);
    for (int i = 0; i < c->n_endpoints; i++)
        fprintf(out, "endpoint %s %s\n", c->endpoint[i].name,
                ns_provider_names[c->endpoint[i].provider]);
    for (int i = 0; i < c->n_fallbacks; i++)
        fprintf(out, "fallback %s\n", c->fallback[i].full);
    if (c->has_judge)
        fprintf(out, "judge %s %s\n", c->judge.full, c->judge_language);
    for (int i = 0; i < NS_PROMPT_COUNT; i++)
        describe_file(c->prompt[i], out);
    describe_file(c->markers, out); /* the personality words in the prompts */
}
