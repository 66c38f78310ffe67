/*
 * ns_llm.c - the LLM session (see ns_llm.h).
 *
 * A call lives in one llm_call from ns_llm_ask until its done() returns:
 * it keeps its own copy of the chat (so that a fallback model can be asked
 * the same question in another wire format), the built request, and the
 * cache key. Calls are recycled through a free list, so a long run does
 * not allocate per call beyond the request strings.
 *
 * Paths through a call:
 *   cache hit   -> deferred list -> delivered at the next poll
 *   cache miss  -> ns_http -> on_http(): parse the body (ns_wire) ->
 *                  price it -> deliver -> cache put when valid
 *   unusable 2xx body -> resubmitted as a server fault while the
 *                  endpoint's retry limit allows
 *   failure     -> next fallback model, if any, else delivered as the fault
 */
#include "ns_llm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ns_cache.h"
#include "ns_keys.h"
#include "ns_price.h"
#include "ns_prompt.h"
#include "ns_reply.h"

#define BYTES_PER_TOKEN 4.0 /* estimate when a provider sends no usage */

typedef struct llm_call {
    struct llm_call *next;          /* deferred or free list */
    ns_llm *l;
    ns_llm_done_fn done;
    void *user;
    /* the question, owned */
    char *system;
    ns_chat_message *messages;
    size_t n_messages;
    json_t *schema;
    char *schema_name;
    /* the model now asked: the primary, then fallbacks in order */
    const ns_llm_model *model;
    uint32_t variant;
    int next_fallback;
    ns_wire_request req;
    char key[NS_CACHE_KEY_LEN + 1];
    double est_in;
    int resubmits, retries, attempts;
    /* a cache hit waiting for delivery */
    char *hit_body;
    size_t hit_len;
    long hit_in, hit_out;
} llm_call;

struct ns_llm {
    const ns_spec *spec;
    const ns_llm_config *cfg;
    ns_keys *keys;
    ns_llm_assets assets;
    ns_cache *cache;
    ns_http *http;
    int http_endpoint[NS_LLM_MAX_ENDPOINTS]; /* -1: not used by this spec */
    llm_call *deferred, *deferred_tail, *free_calls;
    size_t pending;
    double spent;
    /* schemas, built on first use */
    int n_schemas;
    const ns_scenario *schema_sc[64];
    json_t *move_schema[64];
    json_t *judge_schema;
};

/* ---- set-up -------------------------------------------------------------- */

/* Every model the spec can ask: both sides' axes, the judge, fallbacks. */
typedef struct model_list {
    const ns_llm_model *m[2 * 64 + 1 + NS_LLM_MAX_FALLBACKS];
    int n;
} model_list;

static void list_models(const ns_spec *spec, model_list *out)
{
    const ns_llm_config *c = ns_spec_llm(spec);
    out->n = 0;
    for (int side = 0; side < 2; side++) {
        int n;
        const ns_llm_model *m = ns_spec_side_models(spec, side, &n);
        for (int i = 0; i < n && out->n < 128; i++)
            out->m[out->n++] = &m[i];
    }
    if (c->has_judge)
        out->m[out->n++] = &c->judge;
    for (int i = 0; i < c->n_fallbacks; i++)
        out->m[out->n++] = &c->fallback[i];
}

const ns_price_entry *ns_llm_price(const ns_llm_assets *a, const ns_llm_config *c,
                                   const ns_llm_model *m)
{
    const ns_price_entry *e = ns_price_lookup(a->prices, m->full);
    if (!e) {
        char alt[NS_MODEL_LEN + 32];
        const ns_llm_endpoint *ep = &c->endpoint[m->endpoint];
        snprintf(alt, sizeof alt, "%s:%s", ns_provider_names[ep->provider], m->id);
        e = ns_price_lookup(a->prices, alt);
    }
    return e;
}

static const ns_price_entry *price_of(const ns_llm *l, const ns_llm_model *m)
{
    return ns_llm_price(&l->assets, l->cfg, m);
}

static ns_status check_keys(ns_llm *l, const model_list *ml, ns_error *err)
{
    ns_key_need need[NS_LLM_MAX_ENDPOINTS];
    char used_by[NS_LLM_MAX_ENDPOINTS][256];
    size_t n = 0;
    for (int e = 0; e < l->cfg->n_endpoints; e++) {
        const ns_llm_endpoint *ep = &l->cfg->endpoint[e];
        if (l->http_endpoint[e] < 0 || !ep->key_env[0])
            continue;
        used_by[n][0] = '\0';
        size_t len = 0;
        for (int i = 0; i < ml->n; i++)
            if (ml->m[i]->endpoint == e && len < sizeof used_by[n] - 1 &&
                !strstr(used_by[n], ml->m[i]->full))
                len += (size_t)snprintf(used_by[n] + len, sizeof used_by[n] - len, "%s%s",
                                        len ? ", " : "", ml->m[i]->full);
        need[n].var = ep->key_env;
        need[n].used_by = used_by[n];
        n++;
    }
    return ns_keys_require(l->keys, need, n, err);
}

static ns_status check_prices(ns_llm *l, const model_list *ml, ns_error *err)
{
    char missing[512] = "";
    size_t len = 0;
    for (int i = 0; i < ml->n; i++)
        if (!price_of(l, ml->m[i]) && !strstr(missing, ml->m[i]->full))
            len += (size_t)snprintf(missing + len, len < sizeof missing ? sizeof missing - len : 0,
                                    "%s%s", len ? ", " : "", ml->m[i]->full);
    if (!missing[0])
        return NS_OK;
    return ns_fail(err, NS_ERR_INPUT,
                   "no price for %s in %s%s%s: add the model (USD per million input and "
                   "output tokens) to a price file and name it as llm.prices in the spec",
                   missing, "providers/prices.yaml", l->cfg->prices ? " or " : "",
                   l->cfg->prices ? l->cfg->prices : "");
}

ns_status ns_llm_assets_load(const ns_spec *spec, ns_llm_assets *a, ns_error *err)
{
    const ns_llm_config *c = ns_spec_llm(spec);
    memset(a, 0, sizeof *a);
    for (int i = 0; i < NS_PROMPT_COUNT; i++) {
        ns_status st = ns_template_load(c->prompt[i], &a->tpl[i], err);
        if (st)
            return st;
        size_t n;
        const char *const *known =
            ns_prompt_var_names(i < NS_PROMPT_JUDGE_SYSTEM ? NS_PROMPT_NEGOTIATOR
                                                           : NS_PROMPT_JUDGE, &n);
        if ((st = ns_template_check(a->tpl[i], known, n, err)))
            return st;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/providers/prices.yaml", ns_spec_data_dir(spec));
    ns_status st = ns_prompt_markers_load(c->markers, &a->markers, err);
    if (!st)
        st = ns_price_load(path, &a->prices, err);
    if (!st && c->prices)
        st = ns_price_overlay(a->prices, c->prices, err);
    return st;
}

void ns_llm_assets_free(ns_llm_assets *a)
{
    for (int i = 0; i < NS_PROMPT_COUNT; i++)
        ns_template_free(a->tpl[i]);
    ns_prompt_markers_free(a->markers);
    ns_price_free(a->prices);
    memset(a, 0, sizeof *a);
}

static ns_status open_cache(ns_llm *l, const ns_llm_options *o, ns_error *err)
{
    if (o->no_cache || !l->cfg->cache)
        return NS_OK;
    char path[4096];
    if (o->cache_path)
        snprintf(path, sizeof path, "%s", o->cache_path);
    else {
        ns_status st = ns_cache_default_path(path, sizeof path, err);
        if (st)
            return st;
    }
    return ns_cache_open(path, &l->cache, err);
}

static void on_http(void *user, const ns_http_result *res);

static ns_status start_http(ns_llm *l, const model_list *ml, const ns_llm_options *o,
                            ns_error *err)
{
    ns_status st = ns_http_create(on_http, o->seed ? o->seed : 1, &l->http, err);
    if (st)
        return st;
    for (int e = 0; e < l->cfg->n_endpoints; e++) {
        int used = 0;
        for (int i = 0; i < ml->n; i++)
            used |= ml->m[i]->endpoint == e;
        l->http_endpoint[e] = -1;
        if (!used)
            continue;
        ns_endpoint_config cfg = l->cfg->endpoint[e].http;
        cfg.name = l->cfg->endpoint[e].name;
        if ((l->http_endpoint[e] = ns_http_add_endpoint(l->http, &cfg, err)) < 0)
            return err->code ? err->code : NS_ERR_INTERNAL;
    }
    ns_http_set_budget(l->http, o->budget_usd);
    return NS_OK;
}

ns_status ns_llm_create(const ns_spec *spec, const ns_llm_options *opt, ns_llm **out,
                        ns_error *err)
{
    static const ns_llm_options defaults = {0};
    const ns_llm_options *o = opt ? opt : &defaults;
    ns_llm *l = ns_xcalloc(1, sizeof *l);
    l->spec = spec;
    l->cfg = ns_spec_llm(spec);
    model_list ml;
    list_models(spec, &ml);
    ns_status st = start_http(l, &ml, o, err);
    if (!st)
        st = ns_keys_load(o->dotenv, &l->keys, err);
    if (!st)
        st = check_keys(l, &ml, err);
    if (!st)
        st = ns_llm_assets_load(spec, &l->assets, err);
    if (!st)
        st = check_prices(l, &ml, err);
    if (!st)
        st = open_cache(l, o, err);
    if (st) {
        ns_keys_redact_error(l->keys, err);
        ns_llm_destroy(l);
        return st;
    }
    *out = l;
    return NS_OK;
}

static void call_release(ns_llm *l, llm_call *c)
{
    free(c->system);
    for (size_t i = 0; i < c->n_messages; i++)
        free((char *)c->messages[i].text);
    free(c->messages);
    json_decref(c->schema);
    free(c->schema_name);
    ns_wire_request_free(&c->req);
    free(c->hit_body);
    memset(c, 0, sizeof *c);
    c->next = l->free_calls;
    l->free_calls = c;
}

void ns_llm_destroy(ns_llm *l)
{
    if (!l)
        return;
    /* in-flight transfers are dropped by ns_http_destroy without callbacks;
     * their calls are leaked no more than the process outlives them */
    ns_http_destroy(l->http);
    while (l->deferred) {
        llm_call *c = l->deferred;
        l->deferred = c->next;
        call_release(l, c);
    }
    while (l->free_calls) {
        llm_call *c = l->free_calls;
        l->free_calls = c->next;
        free(c);
    }
    ns_llm_assets_free(&l->assets);
    for (int i = 0; i < l->n_schemas; i++)
        json_decref(l->move_schema[i]);
    json_decref(l->judge_schema);
    if (l->cache) {
        ns_error e;
        ns_cache_flush(l->cache, &e);
        ns_cache_close(l->cache);
    }
    ns_keys_free(l->keys);
    free(l);
}

const ns_template *ns_llm_template(const ns_llm *l, int which) { return l->assets.tpl[which]; }
const struct ns_prompt_markers *ns_llm_markers(const ns_llm *l) { return l->assets.markers; }
const ns_llm_config *ns_llm_config_of(const ns_llm *l) { return l->cfg; }
size_t ns_llm_pending(const ns_llm *l) { return l->pending; }
int ns_llm_budget_exhausted(const ns_llm *l) { return ns_http_budget_exhausted(l->http); }
double ns_llm_spent(const ns_llm *l) { return l->spent; }
void ns_llm_redact(ns_llm *l, char *text, size_t size) { ns_keys_redact(l->keys, text, size); }

/* ---- asking --------------------------------------------------------------- */

static double call_cost(const ns_llm *l, const ns_llm_model *m, long in, long out)
{
    const ns_price_entry *p = price_of(l, m);
    return p ? ns_price_cost(p, in, out) : 0;
}

/* Builds the request for c->model and its cache key. */
static ns_status build_request(ns_llm *l, llm_call *c, ns_error *err)
{
    const ns_llm_endpoint *ep = &l->cfg->endpoint[c->model->endpoint];
    const char *key = ep->key_env[0] ? ns_keys_get(l->keys, ep->key_env) : NULL;
    ns_chat chat = {
        .model = c->model->id,
        .system = c->system,
        .messages = c->messages,
        .n_messages = c->n_messages,
        .schema = c->schema,
        .schema_name = c->schema_name,
        .max_tokens = l->cfg->max_tokens,
        .temperature = l->cfg->temperature,
    };
    ns_wire_request_free(&c->req);
    ns_status st = ns_wire_build(ep->provider, ep->base_url, key, &chat, &c->req, err);
    /* an OpenAI-compatible server is identified by its URL: two local
     * servers may serve different weights under one model name */
    char provider[sizeof ep->base_url + 48];
    if (ep->provider == NS_PROVIDER_OPENAI_COMPATIBLE)
        snprintf(provider, sizeof provider, "%s@%s#%u", ns_provider_names[ep->provider],
                 ep->base_url, (unsigned)c->variant);
    else
        snprintf(provider, sizeof provider, "%s#%u", ns_provider_names[ep->provider],
                 (unsigned)c->variant);
    if (!st)
        st = ns_cache_key(provider, c->model->full, c->req.body, c->req.body_len, c->key,
                          err);
    c->est_in = (double)c->req.body_len / BYTES_PER_TOKEN;
    return st;
}

static void defer(ns_llm *l, llm_call *c)
{
    c->next = NULL;
    if (l->deferred_tail)
        l->deferred_tail->next = c;
    else
        l->deferred = c;
    l->deferred_tail = c;
}

/* Sends c; with use_cache, a cached answer is deferred to the next poll
 * instead. */
static ns_status dispatch(ns_llm *l, llm_call *c, int use_cache, ns_error *err)
{
    if (use_cache && l->cache) {
        ns_status st = ns_cache_get(l->cache, c->key, &c->hit_body, &c->hit_len, &c->hit_in,
                                    &c->hit_out, err);
        if (st == NS_OK && c->hit_body) {
            defer(l, c);
            return NS_OK;
        }
        if (st && st != NS_ERR_NOTFOUND)
            return st;
    }
    const ns_price_entry *p = price_of(l, c->model);
    double reserve = p ? ns_price_cost(p, (long)ceil(c->est_in), l->cfg->max_tokens) : 0;
    ns_http_request r = {
        .endpoint = l->http_endpoint[c->model->endpoint],
        .url = c->req.url,
        .headers = (const char *const *)c->req.headers,
        .body = c->req.body,
        .body_len = c->req.body_len,
        .est_tokens = c->est_in + l->cfg->max_tokens,
        .reserve_usd = reserve,
        .user = c,
    };
    ns_status st = ns_http_submit(l->http, &r, err);
    /* ns_http keeps its own copy; a resubmission rebuilds the body from
     * the chat, so a waiting call does not hold it twice */
    if (!st) {
        free(c->req.body);
        c->req.body = NULL;
    }
    return st;
}

ns_status ns_llm_ask(ns_llm *l, const ns_llm_call *q, ns_error *err)
{
    llm_call *c = l->free_calls;
    if (c)
        l->free_calls = c->next;
    else
        c = ns_xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->l = l;
    c->done = q->done;
    c->user = q->user;
    c->system = q->system ? ns_xstrdup(q->system) : NULL;
    c->messages = ns_xcalloc(q->n_messages ? q->n_messages : 1, sizeof *c->messages);
    for (size_t i = 0; i < q->n_messages; i++) {
        c->messages[i].role = q->messages[i].role;
        c->messages[i].text = ns_xstrdup(q->messages[i].text);
    }
    c->n_messages = q->n_messages;
    c->schema = json_incref((json_t *)q->schema);
    c->schema_name = ns_xstrdup(q->schema_name ? q->schema_name : "answer");
    c->model = q->model;
    c->variant = q->variant;
    ns_status st = build_request(l, c, err);
    if (!st)
        st = dispatch(l, c, 1, err);
    if (st) {
        ns_keys_redact_error(l->keys, err);
        call_release(l, c);
        return st;
    }
    l->pending++;
    return NS_OK;
}

/* ---- answers ---------------------------------------------------------- */

static void deliver(ns_llm *l, llm_call *c, ns_llm_answer *a, const char *body, size_t len)
{
    NS_SET(a->call.model, c->model->full);
    a->call.attempts = (int8_t)(c->attempts > 127 ? 127 : c->attempts);
    a->retries = c->retries;
    int valid = c->done(c->user, a);
    if (valid && a->fault == NS_FAULT_NONE && !a->call.cached && l->cache && body) {
        ns_error e;
        /* a failed put costs a replay later, never a wrong answer */
        ns_cache_put(l->cache, c->key, ns_provider_names[l->cfg->endpoint[c->model->endpoint].provider],
                     c->model->full, body, len, a->call.input_tokens, a->call.output_tokens, &e);
    }
    l->pending--;
    call_release(l, c);
}

/* Tries the next fallback model; 1 when one was asked. */
static int try_fallback(ns_llm *l, llm_call *c)
{
    while (c->next_fallback < l->cfg->n_fallbacks) {
        c->model = &l->cfg->fallback[c->next_fallback++];
        ns_error e;
        if (build_request(l, c, &e) == NS_OK && dispatch(l, c, 1, &e) == NS_OK)
            return 1;
    }
    return 0;
}

static void fail(ns_llm *l, llm_call *c, ns_fault f, const char *message)
{
    if (f != NS_FAULT_BUDGET && f != NS_FAULT_CANCELLED && try_fallback(l, c))
        return;
    ns_llm_answer a;
    memset(&a, 0, sizeof a);
    a.fault = f;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", message);
    ns_keys_redact(l->keys, msg, sizeof msg);
    a.message = msg;
    a.text = "";
    a.call.latency_ms = 0;
    deliver(l, c, &a, NULL, 0);
}

/* A 2xx body: the answer text and its usage. */
static void answer_from_body(ns_llm *l, llm_call *c, const char *body, size_t len,
                             double latency_s, int cached)
{
    const ns_llm_endpoint *ep = &l->cfg->endpoint[c->model->endpoint];
    ns_wire_reply reply;
    ns_error e;
    memset(&reply, 0, sizeof reply);
    if (ns_wire_parse(ep->provider, body, len, &reply, &e) != NS_OK) {
        ns_wire_reply_free(&reply);
        if (cached) { /* an entry that no longer parses: ask the network */
            free(c->hit_body);
            c->hit_body = NULL;
            ns_error e2;
            if (build_request(l, c, &e2) != NS_OK || dispatch(l, c, 0, &e2) != NS_OK)
                fail(l, c, NS_FAULT_SERVER, e.msg);
            return;
        }
        int limit = ep->http.max_retries;
        if (c->resubmits < limit) {
            c->resubmits++;
            c->retries++;
            ns_error e2;
            if (build_request(l, c, &e2) == NS_OK && dispatch(l, c, 0, &e2) == NS_OK)
                return;
        }
        char msg[sizeof e.msg + sizeof ep->name + 32];
        snprintf(msg, sizeof msg, "%s: unusable reply: %s", ep->name, e.msg);
        fail(l, c, NS_FAULT_SERVER, msg);
        return;
    }
    ns_llm_answer a;
    memset(&a, 0, sizeof a);
    a.fault = NS_FAULT_NONE;
    a.text = reply.text;
    a.message = "";
    long in = reply.input_tokens, out = reply.output_tokens;
    if (cached && c->hit_in >= 0) {
        in = c->hit_in;
        out = c->hit_out;
    }
    if (in < 0) /* no usage block: estimate, as the docs say */
        in = (long)ceil(c->est_in);
    if (out < 0)
        out = (long)ceil((double)strlen(reply.text) / BYTES_PER_TOKEN);
    a.call.input_tokens = (int32_t)in;
    a.call.output_tokens = (int32_t)out;
    a.call.cost_usd = call_cost(l, c->model, in, out);
    a.call.latency_ms = cached ? 0 : latency_s * 1000.0;
    a.call.cached = (int8_t)cached;
    if (!cached) {
        l->spent += a.call.cost_usd;
        ns_http_charge(l->http, a.call.cost_usd);
    }
    deliver(l, c, &a, body, len);
    ns_wire_reply_free(&reply);
}

static void on_http(void *user, const ns_http_result *res)
{
    llm_call *c = user;
    ns_llm *l = c->l;
    c->attempts += res->attempts;
    c->retries += res->attempts > 0 ? res->attempts - 1 : 0;
    if (res->fault == NS_FAULT_NONE) {
        answer_from_body(l, c, res->body ? res->body : "", res->body_len, res->latency_s, 0);
        return;
    }
    char msg[600];
    const ns_llm_endpoint *ep = &l->cfg->endpoint[c->model->endpoint];
    char provider_msg[256] = "";
    if (res->body && res->body_len)
        ns_wire_error_message(ep->provider, res->body, res->body_len, provider_msg,
                              sizeof provider_msg);
    snprintf(msg, sizeof msg, "%s%s%s", res->message, provider_msg[0] ? ": " : "",
             provider_msg);
    fail(l, c, res->fault, msg);
}

/* ---- the loop ---------------------------------------------------------- */

static int deliver_deferred(ns_llm *l)
{
    int n = 0;
    /* answers delivered now may defer more (a repair that hits the cache):
     * those wait for the next poll, so one poll cannot run forever */
    llm_call *list = l->deferred;
    l->deferred = l->deferred_tail = NULL;
    while (list) {
        llm_call *c = list;
        list = c->next;
        c->next = NULL;
        if (c->hit_body)
            answer_from_body(l, c, c->hit_body, c->hit_len, 0, 1);
        else
            fail(l, c, NS_FAULT_CANCELLED, "cancelled");
        n++;
    }
    return n;
}

int ns_llm_poll(ns_llm *l, int timeout_ms)
{
    int n = deliver_deferred(l);
    n += ns_http_poll(l->http, n || l->deferred ? 0 : timeout_ms);
    return n;
}

ns_status ns_llm_commit(ns_llm *l, ns_error *err)
{
    return l->cache ? ns_cache_flush(l->cache, err) : NS_OK;
}

void ns_llm_cancel_queued(ns_llm *l) { ns_http_cancel_queued(l->http); }

void ns_llm_status_line(const ns_llm *l, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    double now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    for (int e = 0; e < l->cfg->n_endpoints && used < size; e++) {
        if (l->http_endpoint[e] < 0)
            continue;
        ns_endpoint_stats st;
        ns_http_endpoint_stats(l->http, l->http_endpoint[e], &st);
        used += (size_t)snprintf(buf + used, size - used, "%s%s: %zu in flight",
                                 used ? "; " : "", l->cfg->endpoint[e].name, st.inflight);
        if (st.waiting_limit && used < size)
            used += (size_t)snprintf(buf + used, size - used, ", %zu waiting on rate limit",
                                     st.waiting_limit);
        if (st.waiting_backoff && used < size)
            used += (size_t)snprintf(buf + used, size - used, ", %zu backing off",
                                     st.waiting_backoff);
        if (st.wait_until > now && used < size)
            used += (size_t)snprintf(buf + used, size - used, " for %.0f s",
                                     ceil(st.wait_until - now));
        if (st.breaker_open && used < size)
            used += (size_t)snprintf(buf + used, size - used, ", circuit %s",
                                     st.breaker_open == 1 ? "open" : "half-open");
    }
}

const json_t *ns_llm_move_schema(ns_llm *l, const ns_scenario *sc)
{
    for (int i = 0; i < l->n_schemas; i++)
        if (l->schema_sc[i] == sc)
            return l->move_schema[i];
    json_t *schema = ns_reply_move_schema(sc);
    if (l->n_schemas < 64) {
        l->schema_sc[l->n_schemas] = sc;
        l->move_schema[l->n_schemas++] = schema;
        return schema;
    }
    /* more scenarios than slots: rebuild the last slot's */
    json_decref(l->move_schema[63]);
    l->schema_sc[63] = sc;
    l->move_schema[63] = schema;
    return schema;
}

const json_t *ns_llm_judge_schema(ns_llm *l)
{
    if (!l->judge_schema)
        l->judge_schema = ns_reply_judge_schema();
    return l->judge_schema;
}
