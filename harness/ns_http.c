/*
 * ns_http.c - the asynchronous HTTP dispatcher: one single-threaded event
 * loop over libcurl's multi interface (curl_multi_poll, curl_multi_perform,
 * curl_multi_info_read), with admission control per endpoint.
 *
 * Where a request lives (exactly one place at a time):
 *   endpoint.queue   submitted, never sent (FIFO)
 *   endpoint.heap    backing off before a retry (min-heap on ready_at)
 *   endpoint.ready   back-off over, waiting to go again (FIFO, served
 *                    before queue: those requests are older)
 *   conn.req         on the wire, attached to a pooled easy handle
 *   h.free_reqs      completed and recycled (a bounded free list)
 *
 * Admission (admit_endpoint) takes the head of ready, else of queue, while
 * gate() lets it through: an in-flight slot, the breaker closed (or
 * half-open with no probe out: the request becomes the probe), a request
 * token and enough estimated-token tokens. Buckets hold one minute's worth
 * and refill continuously from CLOCK_MONOTONIC, so a burst up to the
 * per-minute limit goes at once and the rate then settles at the limit.
 * A first attempt also reserves its worst-case cost against the budget;
 * once one cannot, dispatch of new requests stops for good (until a new
 * cap is set) and they complete as NS_FAULT_BUDGET without being sent.
 *
 * Per-request work is kept small because the dispatcher must sustain
 * thousands of requests per second on two cores: easy handles are pooled
 * (their connections stay in the multi handle's cache), identical header
 * lists are shared, request structs are recycled with their buffers, so
 * in the steady state the only copies are the URL and body (into a
 * recycled buffer) and the reply (into the handle's recycled buffer).
 *
 * Everything runs on the caller's thread inside ns_http_poll; callbacks
 * may submit (which only queues) and cancel, never poll or destroy.
 */
#include "ns_http.h"

#include <assert.h>
#include <curl/curl.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HT_MAX_REPLY ((size_t)8 << 20)  /* a reply past this fails as server */
#define HT_KEEP_REPLY ((size_t)1 << 20) /* a pooled handle keeps up to this */
#define HT_KEEP_DATA ((size_t)64 << 10) /* a recycled request keeps up to this */
#define HT_FREE_REQS 1024               /* recycled request structs kept */
#define HT_HDR_CACHE 8                  /* header lists kept per endpoint */
#define HT_MAX_RETRY_AFTER 86400.0      /* a day: beyond that a header is junk */

const char *const ns_fault_names[NS_FAULT_COUNT] = {
    "", "rate_limit", "timeout", "connection", "server", "validation",
    "authentication", "permission", "budget", "cancelled"};

/* A header list shared by the requests that pass the same strings. */
typedef struct ht_hdrs {
    struct ht_hdrs *next;
    struct curl_slist *list; /* the caller's strings, then ours */
    size_t n;                /* how many of them are the caller's */
    size_t refs;             /* requests holding it */
} ht_hdrs;

typedef struct ht_req {
    struct ht_req *next;   /* queue or free-list link */
    int endpoint;
    char *data;            /* url NUL body NUL, recycled */
    size_t data_cap;
    const char *url, *body;
    size_t body_len;
    ht_hdrs *hdrs;
    double est_tokens, reserve_usd;
    void *user;
    int attempts;          /* attempts started */
    int reserved;          /* reserve_usd is held against the budget */
    int probe;             /* the half-open breaker's one probe */
    double ready_at;       /* when its back-off ends */
    ns_fault fault;        /* of the last attempt */
    long status;
    CURLcode curl_code;
    double latency;
} ht_req;

/* A pooled easy handle with its reply buffer. */
typedef struct ht_conn {
    CURL *easy;
    struct ht_conn *next_free;
    ht_req *req;           /* NULL while pooled */
    double started;
    char *buf;
    size_t len, cap;
    int overflow;          /* the reply passed HT_MAX_REPLY */
    double retry_after;    /* seconds from the last response; < 0: none */
} ht_conn;

typedef struct ht_queue {
    ht_req *head, *tail;
    size_t n;
} ht_queue;

enum { HT_CLOSED = 0, HT_OPEN = 1, HT_HALF_OPEN = 2 }; /* as in the stats */
enum { HT_GO, HT_FULL, HT_LIMIT, HT_PROBE };          /* why the head waits */

typedef struct ht_endpoint {
    ns_endpoint_config cfg; /* name points at our copy */
    ht_queue queue, ready;
    ht_req **heap;
    size_t n_heap, heap_cap;
    size_t inflight;
    double req_tokens, tok_tokens, refilled_at;
    int breaker, consecutive;
    double open_until;
    int probe_out;
    int blocked;            /* HT_*: why the head did not go last time */
    double blocked_until;   /* for HT_LIMIT: when it may */
    ht_hdrs *hdrs;
    size_t n_hdrs;
    ns_endpoint_stats st;   /* the counters; the rest is filled on demand */
} ht_endpoint;

struct ns_http {
    ns_http_done_fn done;
    CURLM *multi;
    gsl_rng *rng;
    ht_endpoint *ep;
    int n_ep;
    ht_conn **conns;        /* every handle made, pooled or busy */
    size_t n_conns;
    ht_conn *free_conns;
    ht_req *free_reqs;
    size_t n_free_reqs, n_reqs;
    size_t pending;         /* submitted, not completed */
    size_t inflight;
    int started_new;        /* handles added since the last perform */
    double cap, base, spent, reserved;
    size_t n_reserved;
    int exhausted;
    int in_callback;
    int curl_inited;        /* curl_global_init to undo */
};

/* ---- small pieces ------------------------------------------------------ */

double ns_http_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ns_fault_retryable(ns_fault f)
{
    return f == NS_FAULT_RATE_LIMIT || f == NS_FAULT_TIMEOUT || f == NS_FAULT_CONNECTION ||
           f == NS_FAULT_SERVER;
}

ns_fault ns_fault_from_http(long status)
{
    if (status >= 200 && status < 300) return NS_FAULT_NONE;
    if (status == 429) return NS_FAULT_RATE_LIMIT;
    if (status == 408 || status == 504) return NS_FAULT_TIMEOUT;
    if (status == 401) return NS_FAULT_AUTHENTICATION;
    if (status == 403) return NS_FAULT_PERMISSION;
    if (status >= 500) return NS_FAULT_SERVER; /* 529 "overloaded" included */
    /* other 4xx; and 3xx: we never follow redirects, so one means a
     * wrong base URL, which retrying cannot fix */
    if (status >= 300) return NS_FAULT_VALIDATION;
    if (status == 0) return NS_FAULT_CONNECTION;
    return NS_FAULT_SERVER; /* a 1xx as final answer: a broken server */
}

static ns_fault fault_from_curl(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return NS_FAULT_TIMEOUT;
    /* mistakes on our side that no retry can fix */
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
        return NS_FAULT_VALIDATION;
    default: /* connect, resolve, send, recv, empty reply, partial, TLS */
        return NS_FAULT_CONNECTION;
    }
}

void ns_endpoint_config_init(ns_endpoint_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->name = "http";
    cfg->max_inflight = 64;
    cfg->timeout_s = 120;
    cfg->connect_timeout_s = 10;
    cfg->max_retries = 4;
    cfg->backoff_base_s = 0.5;
    cfg->backoff_cap_s = 60;
    cfg->breaker_threshold = 5;
    cfg->breaker_cooldown_s = 30;
}

static void q_push(ht_queue *q, ht_req *r)
{
    r->next = NULL;
    if (q->tail) q->tail->next = r;
    else q->head = r;
    q->tail = r;
    q->n++;
}

static ht_req *q_pop(ht_queue *q)
{
    ht_req *r = q->head;
    if (!r) return NULL;
    q->head = r->next;
    if (!q->head) q->tail = NULL;
    q->n--;
    r->next = NULL;
    return r;
}

/* ---- the back-off heap (min on ready_at) ------------------------------- */

static void heap_push(ht_endpoint *e, ht_req *r)
{
    if (e->n_heap == e->heap_cap) {
        e->heap_cap = e->heap_cap ? 2 * e->heap_cap : 16;
        e->heap = ns_xrealloc(e->heap, e->heap_cap * sizeof *e->heap);
    }
    size_t i = e->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (e->heap[parent]->ready_at <= r->ready_at) break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = r;
}

static ht_req *heap_pop(ht_endpoint *e)
{
    ht_req *top = e->heap[0], *last = e->heap[--e->n_heap];
    size_t i = 0, n = e->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && e->heap[c + 1]->ready_at < e->heap[c]->ready_at) c++;
        if (last->ready_at <= e->heap[c]->ready_at) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n > 0) e->heap[i] = last;
    return top;
}

/* ---- shared header lists ----------------------------------------------- */

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
    struct curl_slist *n = curl_slist_append(l, s);
    if (!n) abort(); /* out of memory: given up on as in ns_xmalloc */
    return n;
}

static int hdrs_match(const ht_hdrs *s, const char *const *hv)
{
    const struct curl_slist *l = s->list;
    size_t i = 0;
    for (; hv && hv[i]; i++, l = l->next)
        if (i >= s->n || strcmp(l->data, hv[i]) != 0) return 0;
    return i == s->n;
}

static void hdrs_prune(ht_endpoint *e)
{
    ht_hdrs **pp = &e->hdrs;
    while (*pp && e->n_hdrs > HT_HDR_CACHE) {
        ht_hdrs *s = *pp;
        if (s->refs == 0) {
            *pp = s->next;
            curl_slist_free_all(s->list);
            free(s);
            e->n_hdrs--;
        } else {
            pp = &s->next;
        }
    }
}

/* The list for these strings, shared with earlier requests that passed
 * the same ones (an endpoint's requests usually all do). */
static ht_hdrs *hdrs_get(ht_endpoint *e, const char *const *hv)
{
    for (ht_hdrs *s = e->hdrs; s; s = s->next)
        if (hdrs_match(s, hv)) {
            s->refs++;
            return s;
        }
    ht_hdrs *s = ns_xcalloc(1, sizeof *s);
    int has_type = 0;
    for (size_t i = 0; hv && hv[i]; i++, s->n++) {
        s->list = slist_add(s->list, hv[i]);
        has_type |= strncasecmp(hv[i], "content-type:", 13) == 0;
    }
    /* curl would post as a form otherwise */
    if (!has_type) s->list = slist_add(s->list, "Content-Type: application/json");
    /* no "Expect: 100-continue" round trip before a large body */
    s->list = slist_add(s->list, "Expect:");
    s->refs = 1;
    s->next = e->hdrs;
    e->hdrs = s;
    e->n_hdrs++;
    hdrs_prune(e);
    return s;
}

static void hdrs_release(ht_endpoint *e, ht_hdrs *s)
{
    if (!s) return;
    assert(s->refs > 0);
    if (--s->refs == 0 && e->n_hdrs > HT_HDR_CACHE) hdrs_prune(e);
}

/* ---- request structs --------------------------------------------------- */

static ht_req *req_take(ns_http *h)
{
    ht_req *r = h->free_reqs;
    if (r) {
        h->free_reqs = r->next;
        h->n_free_reqs--;
    } else {
        r = ns_xcalloc(1, sizeof *r);
        h->n_reqs++;
    }
    char *data = r->data;
    size_t cap = r->data_cap;
    memset(r, 0, sizeof *r);
    r->data = data;
    r->data_cap = cap;
    return r;
}

static void req_free(ht_req *r)
{
    free(r->data);
    free(r);
}

static void req_recycle(ns_http *h, ht_req *r)
{
    hdrs_release(&h->ep[r->endpoint], r->hdrs);
    r->hdrs = NULL;
    if (h->n_free_reqs >= HT_FREE_REQS) {
        req_free(r);
        h->n_reqs--;
        return;
    }
    if (r->data_cap > HT_KEEP_DATA) {
        free(r->data);
        r->data = NULL;
        r->data_cap = 0;
    }
    r->next = h->free_reqs;
    h->free_reqs = r;
    h->n_free_reqs++;
}

/* ---- curl callbacks ---------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    ht_conn *c = ud;
    size_t n = size * nmemb;
    if (n > HT_MAX_REPLY - c->len) {
        c->overflow = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1) cap *= 2;
        c->buf = ns_xrealloc(c->buf, cap);
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return n;
}

/* Seconds in a Retry-After (or retry-after-ms) value: a number, or an
 * HTTP date for Retry-After; < 0 when it is neither. */
static double parse_retry_after(const char *v, size_t len, int ms)
{
    char buf[64];
    while (len && (*v == ' ' || *v == '\t')) v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *end;
    double s = strtod(buf, &end);
    if (end != buf && *end == '\0' && s >= 0 && isfinite(s))
        return ms ? s / 1000.0 : s;
    if (ms) return -1;
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) return -1;
    double d = difftime(t, time(NULL));
    return d > 0 ? d : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    ht_conn *c = ud;
    size_t n = size * nmemb;
    if (n > 5 && memcmp(p, "HTTP/", 5) == 0) {
        c->retry_after = -1; /* a new response (after a 100 Continue) */
    } else if (n > 12 && (p[0] | 0x20) == 'r' && strncasecmp(p, "retry-after", 11) == 0) {
        int ms = n > 15 && strncasecmp(p + 11, "-ms", 3) == 0;
        size_t name = ms ? 14 : 11;
        if (p[name] == ':') {
            double s = parse_retry_after(p + name + 1, n - name - 1, ms);
            if (s > HT_MAX_RETRY_AFTER) s = HT_MAX_RETRY_AFTER;
            if (s > c->retry_after) c->retry_after = s;
        }
    }
    return n;
}

/* ---- easy handles ------------------------------------------------------ */

static ht_conn *conn_take(ns_http *h)
{
    ht_conn *c = h->free_conns;
    if (c) {
        h->free_conns = c->next_free;
        return c;
    }
    CURL *easy = curl_easy_init();
    if (!easy) return NULL;
    c = ns_xcalloc(1, sizeof *c);
    c->easy = easy;
    /* options that never change for this handle */
    curl_easy_setopt(easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    h->conns = ns_xrealloc(h->conns, (h->n_conns + 1) * sizeof *h->conns);
    h->conns[h->n_conns++] = c;
    return c;
}

static void conn_give(ns_http *h, ht_conn *c)
{
    c->req = NULL;
    if (c->cap > HT_KEEP_REPLY) { /* do not pin a rare huge reply */
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    c->len = 0;
    c->next_free = h->free_conns;
    h->free_conns = c;
}

/* ---- completion -------------------------------------------------------- */

static void format_message(const ht_endpoint *e, const ht_req *r, int overflow, char *out,
                           size_t cap)
{
    const char *name = e->cfg.name;
    int n = 0;
    if (r->fault == NS_FAULT_NONE) {
        out[0] = '\0';
        return;
    } else if (r->fault == NS_FAULT_BUDGET) {
        n = snprintf(out, cap, "%s: not sent: the budget would be exceeded", name);
    } else if (r->fault == NS_FAULT_CANCELLED) {
        n = snprintf(out, cap, "%s: not sent: cancelled", name);
    } else if (overflow) {
        n = snprintf(out, cap, "%s: reply larger than %zu MiB", name, HT_MAX_REPLY >> 20);
    } else if (r->curl_code == CURLE_OK) {
        n = snprintf(out, cap, "%s: HTTP %ld", name, r->status);
    } else {
        n = snprintf(out, cap, "%s: %s (%s)", name, ns_fault_names[r->fault],
                     curl_easy_strerror(r->curl_code));
    }
    if (r->attempts > 1 && n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, " after %d attempts", r->attempts);
}

/* Calls done() for r and recycles it. The body belongs to the caller of
 * this function and stays valid until it returns. */
static void deliver(ns_http *h, ht_req *r, const char *body, size_t body_len, int overflow)
{
    ht_endpoint *e = &h->ep[r->endpoint];
    ns_http_result res;
    res.fault = r->fault;
    res.status = r->status;
    res.body = body;
    res.body_len = body ? body_len : 0;
    res.latency_s = r->latency;
    res.attempts = r->attempts;
    format_message(e, r, overflow, res.message, sizeof res.message);
    if (r->fault != NS_FAULT_NONE) e->st.failures++;
    h->pending--;
    h->in_callback++;
    h->done(r->user, &res);
    h->in_callback--;
    if (r->reserved) {
        h->reserved -= r->reserve_usd;
        /* no drift: nothing held means exactly zero */
        if (--h->n_reserved == 0) h->reserved = 0;
    }
    req_recycle(h, r);
}

/* Completes a request that is not on the wire (budget, cancel). */
static void finish_unsent(ns_http *h, ht_req *r, ns_fault f)
{
    r->fault = f;
    r->status = 0;
    r->curl_code = CURLE_OK;
    h->ep[r->endpoint].st.by_fault[f]++;
    deliver(h, r, NULL, 0, 0);
}

/* ---- admission --------------------------------------------------------- */

static void refill(ht_endpoint *e, double now)
{
    double dt = now - e->refilled_at;
    if (dt <= 0) return;
    e->refilled_at = now;
    double rpm = e->cfg.requests_per_minute, tpm = e->cfg.tokens_per_minute;
    if (rpm > 0) e->req_tokens = fmin(fmax(rpm, 1), e->req_tokens + dt * rpm / 60.0);
    if (tpm > 0) e->tok_tokens = fmin(tpm, e->tok_tokens + dt * tpm / 60.0);
}

/* A request larger than the whole bucket would never go: it waits for a
 * full one instead. */
static double token_need(const ht_endpoint *e, const ht_req *r)
{
    double need = r->est_tokens > 0 ? r->est_tokens : 0;
    return fmin(need, e->cfg.tokens_per_minute);
}

/* 1 when r may go now; else records why not in e->blocked. */
static int gate(ht_endpoint *e, const ht_req *r, double now)
{
    if (e->inflight >= (size_t)e->cfg.max_inflight) {
        e->blocked = HT_FULL;
        return 0;
    }
    if (e->breaker == HT_OPEN) {
        if (now < e->open_until) {
            e->blocked = HT_LIMIT;
            e->blocked_until = e->open_until;
            return 0;
        }
        e->breaker = HT_HALF_OPEN;
        e->probe_out = 0;
    }
    if (e->breaker == HT_HALF_OPEN && e->probe_out) {
        e->blocked = HT_PROBE; /* until the probe answers */
        return 0;
    }
    refill(e, now);
    double rpm = e->cfg.requests_per_minute, tpm = e->cfg.tokens_per_minute;
    double until = 0;
    if (rpm > 0 && e->req_tokens < 1) until = now + (1 - e->req_tokens) * 60.0 / rpm;
    if (tpm > 0) {
        double need = token_need(e, r);
        if (e->tok_tokens < need) until = fmax(until, now + (need - e->tok_tokens) * 60.0 / tpm);
    }
    if (until > 0) {
        e->blocked = HT_LIMIT;
        e->blocked_until = until;
        return 0;
    }
    return 1;
}

/* Reserves r's cost, or says it cannot (and stops dispatch). */
static int budget_reserve(ns_http *h, ht_req *r)
{
    if (h->cap <= 0) return 1;
    double want = r->reserve_usd > 0 ? r->reserve_usd : 0;
    if (h->exhausted || (h->spent - h->base) + h->reserved + want > h->cap * (1 + 1e-12)) {
        h->exhausted = 1;
        return 0;
    }
    r->reserve_usd = want;
    r->reserved = 1;
    h->reserved += want;
    h->n_reserved++;
    return 1;
}

/* Puts r on the wire. 0 when curl refused (r is then completed). */
static int start(ns_http *h, ht_endpoint *e, ht_req *r, double now)
{
    ht_conn *c = conn_take(h);
    r->attempts++;
    if (!c) {
        r->fault = NS_FAULT_CONNECTION;
        r->curl_code = CURLE_OUT_OF_MEMORY;
        e->st.by_fault[r->fault]++;
        deliver(h, r, NULL, 0, 0);
        return 0;
    }
    CURL *easy = c->easy;
    c->req = r;
    c->len = 0;
    c->overflow = 0;
    c->retry_after = -1;
    c->started = now;
    curl_easy_setopt(easy, CURLOPT_URL, r->url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->hdrs->list);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(e->cfg.timeout_s * 1000));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(e->cfg.connect_timeout_s * 1000));
    if (curl_multi_add_handle(h->multi, easy) != CURLM_OK) {
        conn_give(h, c);
        r->fault = NS_FAULT_CONNECTION;
        r->curl_code = CURLE_FAILED_INIT;
        e->st.by_fault[r->fault]++;
        deliver(h, r, NULL, 0, 0);
        return 0;
    }
    if (e->breaker == HT_HALF_OPEN) {
        r->probe = 1;
        e->probe_out = 1;
    }
    e->inflight++;
    h->inflight++;
    h->started_new = 1;
    e->st.sent++;
    return 1;
}

/* Admits what may go on one endpoint; returns completions delivered
 * (requests refused for budget). */
static int admit_endpoint(ns_http *h, ht_endpoint *e, double now)
{
    int delivered = 0;
    while (e->n_heap > 0 && e->heap[0]->ready_at <= now) q_push(&e->ready, heap_pop(e));
    e->blocked = HT_GO;
    /* Bounded by what is queued now: a callback that submits again on a
     * refusal must not keep this loop going. */
    size_t refusals = e->queue.n;
    for (;;) {
        if (h->exhausted) {
            while (refusals > 0 && e->queue.head) {
                refusals--;
                finish_unsent(h, q_pop(&e->queue), NS_FAULT_BUDGET);
                delivered++;
            }
        }
        /* once exhausted, only retries of admitted requests may go */
        ht_queue *q = e->ready.head ? &e->ready : h->exhausted ? NULL : &e->queue;
        ht_req *r = q ? q->head : NULL;
        if (!r || !gate(e, r, now)) break;
        if (r->attempts == 0 && !budget_reserve(h, r)) continue; /* refused above */
        q_pop(q);
        if (e->cfg.requests_per_minute > 0) e->req_tokens -= 1;
        if (e->cfg.tokens_per_minute > 0) e->tok_tokens -= token_need(e, r);
        if (!start(h, e, r, now)) delivered++;
    }
    return delivered;
}

/* Admits on every endpoint; *due is the earliest moment something that
 * waits on time (a back-off, a bucket, an open breaker) may go. */
static int admit_all(ns_http *h, double now, double *due)
{
    int delivered = 0;
    *due = INFINITY;
    for (int i = 0; i < h->n_ep; i++) {
        ht_endpoint *e = &h->ep[i];
        if (e->queue.n == 0 && e->ready.n == 0 && e->n_heap == 0) continue;
        delivered += admit_endpoint(h, e, now);
        if (e->n_heap > 0) *due = fmin(*due, e->heap[0]->ready_at);
        if (e->blocked == HT_LIMIT) *due = fmin(*due, e->blocked_until);
    }
    return delivered;
}

/* ---- finished transfers ------------------------------------------------ */

static void breaker_note(ht_endpoint *e, ht_req *r, ns_fault f, double now)
{
    int bad = ns_fault_retryable(f);
    if (r->probe) {
        r->probe = 0;
        e->probe_out = 0;
        if (e->breaker == HT_HALF_OPEN) {
            e->breaker = bad ? HT_OPEN : HT_CLOSED;
            e->open_until = now + e->cfg.breaker_cooldown_s;
            e->consecutive = 0;
        }
        return;
    }
    /* while open, stragglers from before it opened say nothing new */
    if (e->breaker != HT_CLOSED || e->cfg.breaker_threshold <= 0) return;
    if (!bad) {
        e->consecutive = 0;
    } else if (++e->consecutive >= e->cfg.breaker_threshold) {
        e->breaker = HT_OPEN;
        e->open_until = now + e->cfg.breaker_cooldown_s;
        e->consecutive = 0;
        e->st.breaker_trips++;
    }
}

/* Full jitter, never sooner than the server asked. */
static void schedule_retry(ns_http *h, ht_endpoint *e, ht_req *r, double retry_after, double now)
{
    double bound = fmin(e->cfg.backoff_cap_s, e->cfg.backoff_base_s * ldexp(1.0, r->attempts - 1));
    double d = gsl_rng_uniform(h->rng) * bound;
    if (retry_after > d) d = retry_after;
    r->ready_at = now + d;
    heap_push(e, r);
    e->st.retries++;
}

/* Handles one finished transfer; returns 1 when it completed a request. */
static int transfer_done(ns_http *h, CURL *easy, CURLcode rc, double now)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    ht_conn *c = (ht_conn *)(void *)priv;
    ht_req *r = c->req;
    ht_endpoint *e = &h->ep[r->endpoint];
    curl_multi_remove_handle(h->multi, easy);
    e->inflight--;
    h->inflight--;

    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;
    r->curl_code = rc;
    r->latency = now - c->started;
    /* An oversized reply would be as large again: not retried. */
    int final = c->overflow;
    r->fault = c->overflow ? NS_FAULT_SERVER
               : rc == CURLE_OK ? ns_fault_from_http(status)
                                : fault_from_curl(rc);
    e->st.by_fault[r->fault]++;
    breaker_note(e, r, r->fault, now);

    if (!final && ns_fault_retryable(r->fault) && r->attempts <= e->cfg.max_retries) {
        double retry_after = c->retry_after;
        conn_give(h, c);
        schedule_retry(h, e, r, retry_after, now);
        return 0;
    }
    if (c->buf) c->buf[c->len] = '\0';
    deliver(h, r, c->buf, c->len, c->overflow);
    conn_give(h, c);
    return 1;
}

static int read_infos(ns_http *h, double now)
{
    int delivered = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE) delivered += transfer_done(h, m->easy_handle, m->data.result, now);
    return delivered;
}

static void perform(ns_http *h)
{
    int running;
    curl_multi_perform(h->multi, &running);
    h->started_new = 0;
}

/* ---- public ------------------------------------------------------------ */

ns_status ns_http_create(ns_http_done_fn done, uint64_t seed, ns_http **out, ns_error *err)
{
    *out = NULL;
    if (!done) return ns_fail(err, NS_ERR_INTERNAL, "http: no completion callback");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ns_fail(err, NS_ERR_INTERNAL, "http: curl_global_init failed");
    ns_http *h = ns_xcalloc(1, sizeof *h);
    h->curl_inited = 1;
    h->done = done;
    h->multi = curl_multi_init();
    h->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!h->multi || !h->rng) {
        ns_http_destroy(h);
        return ns_fail(err, NS_ERR_NOMEM, "http: cannot create the curl multi handle");
    }
    gsl_rng_set(h->rng, (unsigned long)seed);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    *out = h;
    return NS_OK;
}

void ns_http_destroy(ns_http *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n_conns; i++) {
        ht_conn *c = h->conns[i];
        if (c->req) {
            curl_multi_remove_handle(h->multi, c->easy);
            req_free(c->req);
        }
        curl_easy_cleanup(c->easy);
        free(c->buf);
        free(c);
    }
    free(h->conns);
    for (int i = 0; i < h->n_ep; i++) {
        ht_endpoint *e = &h->ep[i];
        ht_req *r;
        while ((r = q_pop(&e->queue)) != NULL) req_free(r);
        while ((r = q_pop(&e->ready)) != NULL) req_free(r);
        for (size_t k = 0; k < e->n_heap; k++) req_free(e->heap[k]);
        free(e->heap);
        for (ht_hdrs *s = e->hdrs, *next; s; s = next) {
            next = s->next;
            curl_slist_free_all(s->list);
            free(s);
        }
        free((char *)e->cfg.name);
    }
    free(h->ep);
    for (ht_req *r = h->free_reqs, *next; r; r = next) {
        next = r->next;
        req_free(r);
    }
    if (h->multi) curl_multi_cleanup(h->multi);
    if (h->curl_inited) curl_global_cleanup();
    if (h->rng) gsl_rng_free(h->rng);
    free(h);
}

/* Multi-wide connection limits follow the endpoints: every endpoint may
 * hold max_inflight connections to its host and all of them stay cached. */
static void update_limits(ns_http *h)
{
    long per_host = 0, total = 0;
    for (int i = 0; i < h->n_ep; i++) {
        long m = h->ep[i].cfg.max_inflight;
        if (m > per_host) per_host = m;
        total += m;
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, total + 4);
}

int ns_http_add_endpoint(ns_http *h, const ns_endpoint_config *cfg, ns_error *err)
{
    ns_endpoint_config c = *cfg, d;
    ns_endpoint_config_init(&d);
    if (!c.name || !*c.name) c.name = d.name;
    if (c.max_inflight <= 0) c.max_inflight = d.max_inflight;
    if (c.timeout_s <= 0) c.timeout_s = d.timeout_s;
    if (c.connect_timeout_s <= 0) c.connect_timeout_s = d.connect_timeout_s;
    if (c.max_retries < 0) c.max_retries = d.max_retries;
    if (c.backoff_base_s <= 0) c.backoff_base_s = d.backoff_base_s;
    if (c.backoff_cap_s <= 0) c.backoff_cap_s = d.backoff_cap_s;
    if (c.breaker_threshold < 0) c.breaker_threshold = d.breaker_threshold;
    if (c.breaker_cooldown_s <= 0) c.breaker_cooldown_s = d.breaker_cooldown_s;
    if (c.requests_per_minute < 0 || c.tokens_per_minute < 0 || !isfinite(c.requests_per_minute) ||
        !isfinite(c.tokens_per_minute)) {
        ns_fail(err, NS_ERR_INPUT, "%s: rate limits must be >= 0", c.name);
        return -1;
    }
    h->ep = ns_xrealloc(h->ep, (size_t)(h->n_ep + 1) * sizeof *h->ep);
    ht_endpoint *e = &h->ep[h->n_ep];
    memset(e, 0, sizeof *e);
    c.name = ns_xstrdup(c.name);
    e->cfg = c;
    /* buckets start full: a burst up to the per-minute limit may go (at
     * least one request, or a limit under 1/min would never send) */
    e->req_tokens = c.requests_per_minute > 0 ? fmax(c.requests_per_minute, 1) : 0;
    e->tok_tokens = c.tokens_per_minute;
    e->refilled_at = ns_http_now();
    h->n_ep++;
    update_limits(h);
    return h->n_ep - 1;
}

void ns_http_set_budget(ns_http *h, double cap_usd)
{
    h->cap = cap_usd > 0 ? cap_usd : 0;
    h->base = h->spent;
    h->exhausted = 0;
}

void ns_http_charge(ns_http *h, double usd)
{
    if (usd > 0) h->spent += usd;
}

double ns_http_spent(const ns_http *h) { return h->spent; }
int ns_http_budget_exhausted(const ns_http *h) { return h->exhausted; }
size_t ns_http_pending(const ns_http *h) { return h->pending; }

ns_status ns_http_submit(ns_http *h, const ns_http_request *req, ns_error *err)
{
    if (req->endpoint < 0 || req->endpoint >= h->n_ep)
        return ns_fail(err, NS_ERR_INTERNAL, "http: no endpoint %d", req->endpoint);
    if (!req->url || !*req->url) return ns_fail(err, NS_ERR_INTERNAL, "http: request without a URL");
    ht_endpoint *e = &h->ep[req->endpoint];
    size_t url_len = strlen(req->url);
    size_t body_len = !req->body ? 0 : req->body_len ? req->body_len : strlen(req->body);
    size_t need = url_len + 1 + body_len + 1;
    ht_req *r = req_take(h);
    if (r->data_cap < need) {
        free(r->data); /* nothing in it to keep */
        r->data = ns_xmalloc(need);
        r->data_cap = need;
    }
    memcpy(r->data, req->url, url_len + 1);
    if (body_len) memcpy(r->data + url_len + 1, req->body, body_len);
    r->data[url_len + 1 + body_len] = '\0';
    r->url = r->data;
    r->body = r->data + url_len + 1;
    r->body_len = body_len;
    r->endpoint = req->endpoint;
    r->hdrs = hdrs_get(e, req->headers);
    r->est_tokens = req->est_tokens;
    r->reserve_usd = req->reserve_usd;
    r->user = req->user;
    q_push(&e->queue, r);
    h->pending++;
    return NS_OK;
}

int ns_http_poll(ns_http *h, int timeout_ms)
{
    if (h->in_callback) return 0;
    /* Completions the last perform of the previous call left behind come
     * first: their sockets are quiet, so waiting would not find them. */
    double now = ns_http_now(), due;
    int delivered = read_infos(h, now);
    delivered += admit_all(h, now, &due);
    if (h->pending == 0) return delivered;
    if (h->started_new) {
        perform(h);
        delivered += read_infos(h, ns_http_now());
    }

    /* Sleep no longer than until a back-off or refill falls due, and not
     * at all when there is something to hand back already. */
    long wait = delivered > 0 || timeout_ms < 0 ? 0 : timeout_ms;
    if (due < INFINITY) {
        double ms = ceil((due - now) * 1000.0);
        if (ms < wait) wait = ms > 0 ? (long)ms : 0;
    }
    if (h->inflight > 0 || wait > 0) curl_multi_poll(h->multi, NULL, 0, (int)wait, NULL);
    perform(h);
    now = ns_http_now();
    delivered += read_infos(h, now);
    /* refill the slots just freed (and send what callbacks submitted) at
     * once rather than a poll later; what this perform finishes is read
     * at the top of the next call */
    delivered += admit_all(h, now, &due);
    if (h->started_new) perform(h);
    return delivered;
}

void ns_http_cancel_queued(ns_http *h)
{
    for (int i = 0; i < h->n_ep; i++) {
        ht_endpoint *e = &h->ep[i];
        /* detach first: callbacks may submit anew onto this endpoint */
        ht_queue q = e->ready, q2 = e->queue;
        memset(&e->ready, 0, sizeof e->ready);
        memset(&e->queue, 0, sizeof e->queue);
        size_t n_heap = e->n_heap;
        ht_req **heap = e->heap;
        e->heap = NULL;
        e->n_heap = e->heap_cap = 0;
        ht_req *r;
        for (size_t k = 0; k < n_heap; k++) finish_unsent(h, heap[k], NS_FAULT_CANCELLED);
        free(heap);
        while ((r = q_pop(&q)) != NULL) finish_unsent(h, r, NS_FAULT_CANCELLED);
        while ((r = q_pop(&q2)) != NULL) finish_unsent(h, r, NS_FAULT_CANCELLED);
    }
}

void ns_http_endpoint_stats(const ns_http *h, int endpoint, ns_endpoint_stats *out)
{
    memset(out, 0, sizeof *out);
    if (endpoint < 0 || endpoint >= h->n_ep) return;
    const ht_endpoint *e = &h->ep[endpoint];
    *out = e->st;
    out->inflight = e->inflight;
    out->queued = e->queue.n + e->ready.n;
    out->waiting_backoff = e->n_heap;
    out->breaker_open = e->breaker;
    double until = e->n_heap ? e->heap[0]->ready_at : 0;
    if (out->queued > 0 && (e->blocked == HT_LIMIT || e->blocked == HT_PROBE)) {
        out->waiting_limit = out->queued;
        if (e->blocked == HT_LIMIT && (until == 0 || e->blocked_until < until))
            until = e->blocked_until;
    }
    out->wait_until = until;
}

void ns_http_memory(const ns_http *h, size_t *requests, size_t *handles)
{
    if (requests) *requests = h->n_reqs;
    if (handles) *handles = h->n_conns;
}
