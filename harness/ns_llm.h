/*
 * ns_llm.h - the LLM session of a run: everything between an agent that
 * wants a model's answer and the network. It owns the keys (ns_keys), the
 * price table (ns_price), the prompt templates (ns_template), the response
 * cache (ns_cache) and the dispatcher (ns_http), and turns one question
 * into one answer with its accounting.
 *
 * Asking: ns_llm_ask() builds the provider's request (ns_wire), looks its
 * SHA-256 key up in the cache, and either queues the cached answer for
 * the next poll or submits the request, reserving its worst-case cost
 * (estimated input tokens + max_tokens output at the model's price)
 * against the budget. ns_llm_poll() drives the network and calls each
 * call's done() exactly once, never from inside ns_llm_ask. A 2xx reply
 * whose body is not a usable answer (not JSON, cut off, refused) is
 * retried as a server fault within the endpoint's retry limit.
 *
 * The answer goes to done(); when it returns 1 (the caller found the
 * answer valid) and the answer came from the network, it is put into the
 * cache, so that only schema-valid answers are ever replayed.
 *
 * Cost: every answered call is priced from its usage block (or, when the
 * provider sent none, from the request and answer sizes at 4 bytes per
 * token, which the answer says); a cache hit carries the cost its
 * original call had (what the negotiation costs to produce) but is not
 * charged to the budget or to the session's spend (what was paid).
 *
 * Single-threaded: the run's event-loop thread does everything here.
 */
#ifndef NS_LLM_H
#define NS_LLM_H

#include <jansson.h>
#include <stdint.h>

#include "ns_http.h"
#include "ns_llm_config.h"
#include "ns_record.h"
#include "ns_spec.h"
#include "ns_template.h"
#include "ns_wire.h"

typedef struct ns_llm ns_llm;

struct ns_prompt_markers;
struct ns_price_table;

/* What a session reads from files before it can ask anything: the four
 * prompt templates (checked against the variables they may use), the
 * BFI trait markers, and the price table with the spec's overlay. `negsim
 * plan` uses them on their own to estimate a sweep's cost. */
typedef struct ns_llm_assets {
    ns_template *tpl[NS_PROMPT_COUNT];
    struct ns_prompt_markers *markers;
    struct ns_price_table *prices;
} ns_llm_assets;

ns_status ns_llm_assets_load(const ns_spec *spec, ns_llm_assets *a, ns_error *err);
void ns_llm_assets_free(ns_llm_assets *a);
/* The price entry of a model: "endpoint:model", else "<provider>:model";
 * NULL when the table has neither. */
const struct ns_price_entry *ns_llm_price(const ns_llm_assets *a, const ns_llm_config *c,
                                          const ns_llm_model *m);

typedef struct ns_llm_options {
    int no_cache;           /* --no-cache */
    const char *cache_path; /* NULL: $NEGSIM_CACHE or ~/.cache/negsim/... */
    double budget_usd;      /* --budget-usd; <= 0: none */
    const char *dotenv;     /* NULL: ./.env */
    uint64_t seed;          /* back-off jitter */
} ns_llm_options;

/* Loads keys (reporting every missing one at once), prices (refusing a
 * model without a price), templates (refusing unknown variables) and the
 * cache, and sets up one ns_http endpoint per endpoint the spec uses.
 * Nothing is sent. */
ns_status ns_llm_create(const ns_spec *spec, const ns_llm_options *opt, ns_llm **out,
                        ns_error *err);
void ns_llm_destroy(ns_llm *l); /* NULL is a no-op */

/* The templates, NS_PROMPT_SYSTEM .. NS_PROMPT_JUDGE_TURN. */
const ns_template *ns_llm_template(const ns_llm *l, int which);
const struct ns_prompt_markers *ns_llm_markers(const ns_llm *l);
const ns_llm_config *ns_llm_config_of(const ns_llm *l);

typedef struct ns_llm_answer {
    ns_fault fault;          /* NS_FAULT_NONE: text is the answer */
    const char *text;        /* valid during done() */
    const char *message;     /* what went wrong (no secrets), "" on success */
    ns_llm_turn_row call;    /* model, tokens, latency, cost, cached, attempts */
    int retries;             /* HTTP retries this call needed */
} ns_llm_answer;

/* Returns 1 when the answer was valid (cache it), else 0. */
typedef int (*ns_llm_done_fn)(void *user, const ns_llm_answer *a);

typedef struct ns_llm_call {
    const ns_llm_model *model;
    const char *system;
    const ns_chat_message *messages;
    size_t n_messages;
    const json_t *schema;
    const char *schema_name;
    /* Part of the cache key but not of the request: the job's repetition,
     * so that repetitions of one job are separate samples of the model and
     * never replay each other's answers, while a re-run of the same spec
     * replays them all. */
    uint32_t variant;
    ns_llm_done_fn done;
    void *user;
} ns_llm_call;

/* Asks; the call's strings are copied. NS_ERR_INPUT when the request
 * cannot be built. */
ns_status ns_llm_ask(ns_llm *l, const ns_llm_call *c, ns_error *err);
/* Delivers cached answers and network completions, waiting at most
 * timeout_ms when there is nothing to deliver. Returns answers delivered. */
int ns_llm_poll(ns_llm *l, int timeout_ms);
/* Calls asked and not yet answered. */
size_t ns_llm_pending(const ns_llm *l);
/* Makes the cache's writes durable (the runner calls it at each journal
 * commit, so a resumed run finds every answer a committed job used). */
ns_status ns_llm_commit(ns_llm *l, ns_error *err);
/* Completes every call not yet on the wire as NS_FAULT_CANCELLED. */
void ns_llm_cancel_queued(ns_llm *l);

/* 1 once the budget has refused a call. */
int ns_llm_budget_exhausted(const ns_llm *l);
double ns_llm_spent(const ns_llm *l); /* paid this session, USD */

/* The move schema of a scenario and the judge schema (ns_reply.h), built
 * once per session. */
const json_t *ns_llm_move_schema(ns_llm *l, const ns_scenario *sc);
const json_t *ns_llm_judge_schema(ns_llm *l);

/* One line for the progress display: what is waiting and why, e.g.
 * "openai: 12 in flight, 40 waiting on rate limit until 14:02:31". */
void ns_llm_status_line(const ns_llm *l, char *buf, size_t size);

/* Removes every key value from a message (the last line of defence). */
void ns_llm_redact(ns_llm *l, char *text, size_t size);

#endif
