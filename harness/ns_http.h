/*
 * ns_http.h - the asynchronous HTTP dispatcher under the LLM agents: one
 * event loop over libcurl's multi interface, per-endpoint admission
 * control (in-flight cap, token buckets for requests and tokens per
 * minute, a circuit breaker), retries with exponential back-off and full
 * jitter that honour Retry-After, and a hard spending cap.
 *
 * Single-threaded by design: the thread that creates the dispatcher is the
 * only one that submits, polls and receives callbacks. A request waiting
 * for its reply costs its own small struct and the curl easy handle, never
 * a thread. Connections are reused per endpoint and HTTP/2 is multiplexed
 * where the server offers it (CURLPIPE_MULTIPLEX).
 *
 * Life of a request: submit() queues it on its endpoint. poll() admits
 * queued requests in FIFO order while the endpoint has an in-flight slot,
 * both token buckets have room, the breaker is closed (or half-open for one
 * probe) and the budget can reserve the request's worst-case cost; then it
 * drives curl, and for every finished transfer classifies the outcome.
 * A retryable fault (rate_limit, timeout, connection, server) with attempts
 * left is requeued after a back-off delay of
 *     max(Retry-After, uniform(0, min(cap, base * 2^attempt)))
 * ("full jitter"); anything else completes: done() is called exactly once
 * per submitted request, from inside poll().
 *
 * Fault classes (ns_fault) from HTTP status and curl result:
 *   429                      rate_limit
 *   408, 504, curl timeout   timeout
 *   other 5xx, 529           server
 *   curl connect/send/recv,  connection
 *   empty reply, partial
 *   401                      authentication
 *   403                      permission
 *   other 4xx                validation
 * A 2xx reply is NS_FAULT_NONE here; whether its body makes sense is the
 * caller's business (ns_wire), which may still call it a server fault.
 *
 * Keys: headers are passed in by the caller and never copied into error
 * messages, logs or results; URLs must not carry keys.
 */
#ifndef NS_HTTP_H
#define NS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ns_status.h"

typedef enum ns_fault {
    NS_FAULT_NONE = 0,
    NS_FAULT_RATE_LIMIT,
    NS_FAULT_TIMEOUT,
    NS_FAULT_CONNECTION,
    NS_FAULT_SERVER,
    NS_FAULT_VALIDATION,
    NS_FAULT_AUTHENTICATION,
    NS_FAULT_PERMISSION,
    NS_FAULT_BUDGET,     /* not sent: the spending cap would be exceeded */
    NS_FAULT_CANCELLED,  /* not sent: ns_http_cancel_queued */
    NS_FAULT_COUNT
} ns_fault;

/* "", "rate_limit", "timeout", "connection", "server", "validation",
 * "authentication", "permission", "budget", "cancelled" */
extern const char *const ns_fault_names[NS_FAULT_COUNT];

/* 1 for the classes that are retried (rate_limit .. server). */
int ns_fault_retryable(ns_fault f);
/* Class of an HTTP status (0 when the transfer itself failed: use the
 * curl code); NS_FAULT_NONE for 2xx. */
ns_fault ns_fault_from_http(long status);

/* Per-endpoint settings (one endpoint per provider or base URL). A field
 * left at 0 takes its default, except max_retries and breaker_threshold,
 * where 0 means what it says (no retries; no breaker) and a negative
 * value takes the default; ns_endpoint_config_init writes every default. */
typedef struct ns_endpoint_config {
    const char *name;           /* for messages and progress: "openai" */
    int max_inflight;           /* requests on the wire at once; default 64 */
    double requests_per_minute; /* token bucket; 0: unlimited */
    double tokens_per_minute;   /* token bucket on estimated tokens; 0: unlimited */
    double timeout_s;           /* per attempt; default 120 */
    double connect_timeout_s;   /* default 10 */
    int max_retries;            /* retries after the first attempt; default 4 */
    double backoff_base_s;      /* default 0.5 */
    double backoff_cap_s;       /* default 60 */
    int breaker_threshold;      /* consecutive failures that open it; default 5; 0: off */
    double breaker_cooldown_s;  /* open -> half-open after this; default 30 */
} ns_endpoint_config;

/* Fills *cfg with the defaults above (name "http", no rate limits). */
void ns_endpoint_config_init(ns_endpoint_config *cfg);

typedef struct ns_http_request {
    int endpoint;                /* from ns_http_add_endpoint */
    const char *url;             /* copied */
    const char *const *headers;  /* "Name: value" strings, NULL-terminated; copied
                                    (identical lists are shared, not copied
                                    per request); "Content-Type:
                                    application/json" is added when absent */
    const char *body;            /* POST body; copied */
    size_t body_len;             /* 0 with a body: strlen(body) */
    double est_tokens;           /* charged to the tokens-per-minute bucket */
    double reserve_usd;          /* worst-case cost held against the budget
                                    while in flight */
    void *user;                  /* handed back to done() */
} ns_http_request;

typedef struct ns_http_result {
    ns_fault fault;
    long status;                 /* HTTP status, 0 when none came */
    const char *body;            /* reply body, NUL-terminated; valid only
                                    during the callback (NULL when none) */
    size_t body_len;
    double latency_s;            /* of the last attempt */
    int attempts;                /* 1 + retries made */
    char message[256];           /* what went wrong, no secrets and no body,
                                    e.g. "openai: HTTP 503 after 5 attempts";
                                    "" on success */
} ns_http_result;

/* Called once per request, from ns_http_poll() (or ns_http_cancel_queued).
 * The callback may submit new requests and cancel queued ones; it must not
 * poll or destroy. Whatever its request reserved is released when it
 * returns; charge the actual cost with ns_http_charge from inside it.
 * The body is delivered for failures too (a provider's error JSON). */
typedef void (*ns_http_done_fn)(void *user, const ns_http_result *res);

typedef struct ns_http ns_http;

/* seed: for the back-off jitter (gsl_rng), so tests are reproducible. */
ns_status ns_http_create(ns_http_done_fn done, uint64_t seed, ns_http **out, ns_error *err);
void ns_http_destroy(ns_http *h); /* NULL is a no-op; in-flight transfers are dropped
                                     without callbacks */
/* Adds an endpoint; returns its index (>= 0) or -1 with err set. */
int ns_http_add_endpoint(ns_http *h, const ns_endpoint_config *cfg, ns_error *err);

/* Spending cap in USD for everything charged from now on; <= 0: none.
 * A request reserves reserve_usd when it is first admitted and holds it
 * through its retries until its callback returns; one that would take
 * spend + reservations past the cap completes with NS_FAULT_BUDGET unsent,
 * and from then on every request not yet admitted does too (dispatch
 * stops; retries of admitted ones go on). Setting a cap clears that. */
void ns_http_set_budget(ns_http *h, double cap_usd);
/* Adds the actual cost of a completed request to the spend. */
void ns_http_charge(ns_http *h, double usd);
double ns_http_spent(const ns_http *h);
/* 1 once a request has been refused for budget (dispatch has stopped). */
int ns_http_budget_exhausted(const ns_http *h);

/* Queues a request. Never blocks and never calls done() itself. */
ns_status ns_http_submit(ns_http *h, const ns_http_request *req, ns_error *err);
/* Admits, drives transfers and delivers completions, waiting at most
 * timeout_ms for activity (less when a back-off or a bucket refill falls
 * due sooner; not at all when nothing is pending). Returns the number of
 * completions delivered; 0 when called from inside a callback. */
int ns_http_poll(ns_http *h, int timeout_ms);
/* Requests submitted and not yet completed (queued, waiting, in flight). */
size_t ns_http_pending(const ns_http *h);
/* Completes every queued or backing-off request with NS_FAULT_CANCELLED
 * (callbacks run here); transfers on the wire finish normally. */
void ns_http_cancel_queued(ns_http *h);

/* What an endpoint is doing, for the progress line and tests. */
typedef struct ns_endpoint_stats {
    size_t inflight, queued;
    size_t waiting_backoff;      /* requests sleeping before a retry */
    size_t waiting_limit;        /* queued because a bucket is empty or the
                                    breaker is open (all of queued then) */
    double wait_until;           /* ns_http_now() seconds when the earliest
                                    of them may go; 0 when none waits */
    int breaker_open;            /* 1 open, 2 half-open, 0 closed */
    uint64_t sent;               /* attempts put on the wire */
    uint64_t retries;            /* attempts scheduled again after a fault */
    uint64_t failures;           /* requests completed with a fault */
    uint64_t breaker_trips;      /* closed -> open transitions */
    uint64_t by_fault[NS_FAULT_COUNT]; /* attempts by outcome ([0]: 2xx),
                                    plus requests refused (budget, cancelled) */
} ns_endpoint_stats;
void ns_http_endpoint_stats(const ns_http *h, int endpoint, ns_endpoint_stats *out);

/* CLOCK_MONOTONIC in seconds: the clock of wait_until. */
double ns_http_now(void);

/* Debug counters for memory tests: request structs allocated (pending
 * plus a bounded free list) and curl easy handles (bounded by the peak
 * number in flight). Neither grows with finished requests or retries. */
void ns_http_memory(const ns_http *h, size_t *requests, size_t *handles);

#endif
