/*
 * negsim_mock.c - a mock LLM server for negsim's tests and benchmarks, on
 * libmicrohttpd, listening on 127.0.0.1 only.
 *
 * It speaks the OpenAI (POST .../chat/completions), Anthropic (POST
 * .../v1/messages) and Gemini (POST .../models/MODEL:generateContent)
 * wire formats (mock_wire.c) and answers with scripted moves that follow
 * the JSON schema in the request (mock_answer.c). Faults are injected per
 * request with seeded probabilities, or deterministically for the next N
 * requests, and can be changed at run time over HTTP.
 *
 * Usage: negsim_mock [OPTION]...
 *   --port N             port on 127.0.0.1; 0 (default) picks a free one
 *   --port-file PATH     write the port there (atomically) once listening
 *   --threads N          MHD worker threads, each its own epoll loop (2)
 *   --seed N             seeds the fault draws and the answers (1)
 *   --accept-rate P      probability a move is "accept" (0.2)
 *   --walk-rate P        probability a move is "walk_away" (0)
 *   --no-usage           leave the usage block out of replies
 *   --require-key K      requests must present key K (Authorization:
 *                        Bearer K, x-api-key: K, x-goog-api-key: K) or
 *                        get 401; without it any key, or none, is taken
 *   --require-key-env V  the same, with the key read from variable V
 *   --delay-ms N         wait N ms before answering (0)
 *   --jitter-ms N        plus a uniform 0..N ms (0)
 *   --hang-ms N          how long a "hang" holds a request before closing
 *                        it, unless the client gives up first (300000)
 *   --retry-after S      Retry-After: S on 429 and 503 replies (none)
 *   --rate429 P, --rate500 P, --rate503 P, --rate403 P, --rate400 P
 *                        probability of that HTTP error per request
 *   --rate-drop P        close the connection without a response
 *   --rate-hang P        never answer (until --hang-ms or the client leaves)
 *   --rate-malformed P   200 with a body that is not JSON
 *   --rate-badschema P   200, valid provider JSON, answer breaks the schema
 *   --fail-first N KIND  the first N requests all get KIND: 429 500 503
 *                        drop hang malformed badschema 401 403 400
 *   --quiet              print nothing on start; --verbose: log requests
 *   --help
 * Rates are probabilities in [0, 1] and add up to at most 1; one uniform
 * draw per request picks at most one fault. Usage errors exit 2.
 *
 * Control endpoints:
 *   GET  /_stats    {requests, ok, bad_requests, by_path, by_format,
 *                    faults {429: n, ...}, answers, actions, tokens,
 *                    inflight, max_inflight_seen}
 *   GET  /_control  the current settings
 *   POST /_control  a JSON object of settings to change, keys as the
 *                   options with '_' for '-' ("rate500", "rate_drop",
 *                   "delay_ms", "retry_after", "accept_rate", "usage"),
 *                   plus {"fail_next": N, "kind": "503"},
 *                   {"reset_stats": true}, {"reset_config": true} (back
 *                   to the command line's settings) and {"seed": N}.
 *                   All or nothing: a bad key or value changes nothing.
 *
 * Waiting costs no thread: a delayed or hanging request's connection is
 * suspended (MHD_ALLOW_SUSPEND_RESUME) and a single timer thread, holding
 * a min-heap of due times, resumes it; the access handler then queues the
 * reply prepared before the wait. The timer thread also peeks at hanging
 * connections' sockets, so one whose client gave up is closed then.
 * Answers are a deterministic function of (seed, request body); fault
 * draws come from one seeded sequence in arrival order.
 * SIGINT/SIGTERM: stop accepting, close waiting requests, exit 0.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "mock_answer.h"
#include "mock_wire.h"

#define MAX_BODY (16u << 20)
#define HANG_CHECK_NS 200000000ull

/* ---- faults and settings ------------------------------------------------- */

typedef enum fault {
    F_NONE = 0,
    F_429,
    F_500,
    F_503,
    F_DROP,
    F_HANG,
    F_MALFORMED,
    F_BADSCHEMA,
    F_401,
    F_403,
    F_400,
    F_COUNT
} fault;

static const char *const fault_names[F_COUNT] = {
    "none", "429", "500", "503", "drop", "hang", "malformed", "badschema", "401", "403", "400"};
/* The option (with '_' for '-') that sets each fault's rate; 401 has none
 * because a wrong key is how a client earns it. */
static const char *const rate_keys[F_COUNT] = {
    NULL,        "rate429",        "rate500",        "rate503", "rate_drop", "rate_hang",
    "rate_malformed", "rate_badschema", NULL, "rate403", "rate400"};

typedef struct config {
    double rate[F_COUNT];
    long delay_ms, jitter_ms, hang_ms;
    long retry_after;            /* seconds; < 0: no header */
    double accept_rate, walk_rate;
    int usage;
    long fail_next;              /* requests still to fail with fail_kind */
    fault fail_kind;
} config;

static const char *const action_names[] = {"offer", "accept", "walk_away", "other"};
#define N_ACTIONS 4

typedef struct stats {
    unsigned long requests, ok, bad_requests;
    unsigned long by_format[MOCK_FORMAT_COUNT];
    unsigned long faults[F_COUNT];
    unsigned long answers[MOCK_ANSWER_KIND_COUNT];
    unsigned long actions[N_ACTIONS];
    unsigned long long tokens_in, tokens_out;
    json_t *by_path;             /* path -> count */
    long inflight, max_inflight;
} stats;

/* One request on its way through the handler. */
typedef enum route { R_PROVIDER, R_STATS, R_CONTROL, R_OTHER } route;

typedef struct req {
    struct MHD_Connection *conn;
    const char *path;            /* MHD's, valid for the request's life */
    route route;
    int format;
    char *body;
    size_t len, cap;
    int too_large;
    /* the reply prepared before a wait */
    int planned;
    unsigned status;
    char *reply;
    size_t reply_len;
    int drop, hang;
    long retry_after;
    uint64_t due_ns;
} req;

static struct server {
    pthread_mutex_t lock;        /* guards cfg, st, rng */
    config cfg, initial;
    stats st;
    uint64_t rng, seed;
    char *require_key;
    int verbose;

    pthread_mutex_t tlock;       /* guards the heap and stopping */
    pthread_cond_t tcond;
    pthread_t timer;
    int stopping;
    req **heap;
    size_t n_heap, cap_heap;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .tlock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("negsim_mock: out of memory\n", stderr);
        abort();
    }
    return q;
}

/* ---- timer: a min-heap of suspended requests by due time ------------------ */

static void heap_swap(size_t a, size_t b)
{
    req *t = S.heap[a];
    S.heap[a] = S.heap[b];
    S.heap[b] = t;
}

static void heap_push(req *r)
{
    if (S.n_heap == S.cap_heap) {
        S.cap_heap = S.cap_heap ? 2 * S.cap_heap : 256;
        S.heap = xrealloc(S.heap, S.cap_heap * sizeof *S.heap);
    }
    size_t i = S.n_heap++;
    S.heap[i] = r;
    while (i > 0 && S.heap[(i - 1) / 2]->due_ns > S.heap[i]->due_ns) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static req *heap_remove(size_t i)
{
    req *r = S.heap[i];
    S.heap[i] = S.heap[--S.n_heap];
    for (;;) { /* sift down; a removed hang entry may also need sifting up */
        size_t l = 2 * i + 1, m = i;
        if (l < S.n_heap && S.heap[l]->due_ns < S.heap[m]->due_ns)
            m = l;
        if (l + 1 < S.n_heap && S.heap[l + 1]->due_ns < S.heap[m]->due_ns)
            m = l + 1;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
    while (i > 0 && i < S.n_heap && S.heap[(i - 1) / 2]->due_ns > S.heap[i]->due_ns) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return r;
}

/* 1 when the client of a suspended request has closed its end. */
static int client_gone(req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void *timer_main(void *arg)
{
    (void)arg;
    uint64_t next_check = now_ns() + HANG_CHECK_NS;
    pthread_mutex_lock(&S.tlock);
    while (!S.stopping) {
        uint64_t now = now_ns();
        while (S.n_heap && S.heap[0]->due_ns <= now)
            MHD_resume_connection(heap_remove(0)->conn);
        if (now >= next_check) {
            for (size_t i = 0; i < S.n_heap;) {
                req *r = S.heap[i];
                if (r->hang && client_gone(r)) {
                    r->drop = 1;
                    MHD_resume_connection(heap_remove(i)->conn);
                } else {
                    i++;
                }
            }
            next_check = now + HANG_CHECK_NS;
        }
        uint64_t wake = next_check;
        if (S.n_heap && S.heap[0]->due_ns < wake)
            wake = S.heap[0]->due_ns;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull),
                              .tv_nsec = (long)(wake % 1000000000ull)};
        pthread_cond_timedwait(&S.tcond, &S.tlock, &ts);
    }
    pthread_mutex_unlock(&S.tlock);
    return NULL;
}

/* Suspends r's connection until r->due_ns. 0 when the server is stopping
 * (the caller drops the request instead). Suspending before the request
 * is visible to the timer means a resume can never come first. */
static int wait_until_due(req *r)
{
    pthread_mutex_lock(&S.tlock);
    if (S.stopping) {
        pthread_mutex_unlock(&S.tlock);
        return 0;
    }
    MHD_suspend_connection(r->conn);
    heap_push(r);
    if (S.heap[0] == r)
        pthread_cond_signal(&S.tcond);
    pthread_mutex_unlock(&S.tlock);
    return 1;
}

/* ---- replies ----------------------------------------------------------------- */

/* Queues `body` (malloc'd; MHD frees it) with `status`. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body,
                               size_t len, long retry_after)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (retry_after >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    return respond(c, status, body, body ? strlen(body) : 0, -1);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, int format, unsigned status,
                                     const char *message)
{
    char *body = mock_wire_error(format < 0 ? MOCK_OPENAI : (mock_format)format, status, message);
    return respond(c, status, body, body ? strlen(body) : 0, -1);
}

/* ---- stats and settings as JSON ----------------------------------------------- */

static void stats_reset(stats *st)
{
    json_t *paths = st->by_path;
    long inflight = st->inflight;
    memset(st, 0, sizeof *st);
    st->by_path = paths ? paths : json_object();
    json_object_clear(st->by_path);
    st->inflight = st->max_inflight = inflight;
}

static json_t *counts_json(const unsigned long *n, const char *const *names, size_t count,
                           size_t first)
{
    json_t *o = json_object();
    for (size_t i = first; i < count; i++)
        json_object_set_new(o, names[i], json_integer((json_int_t)n[i]));
    return o;
}

/* Called with S.lock held. */
static json_t *stats_json(void)
{
    const stats *st = &S.st;
    return json_pack("{s:I, s:I, s:I, s:O, s:o, s:o, s:o, s:o, s:{s:I, s:I}, s:I, s:I}",
                     "requests", (json_int_t)st->requests, "ok", (json_int_t)st->ok,
                     "bad_requests", (json_int_t)st->bad_requests, "by_path", st->by_path,
                     "by_format",
                     counts_json(st->by_format, mock_format_names, MOCK_FORMAT_COUNT, 0),
                     "faults", counts_json(st->faults, fault_names, F_COUNT, 1), "answers",
                     counts_json(st->answers, mock_answer_kind_names, MOCK_ANSWER_KIND_COUNT, 0),
                     "actions", counts_json(st->actions, action_names, N_ACTIONS, 0), "tokens",
                     "input", (json_int_t)st->tokens_in, "output", (json_int_t)st->tokens_out,
                     "inflight", (json_int_t)st->inflight, "max_inflight_seen",
                     (json_int_t)st->max_inflight);
}

/* Called with S.lock held. */
static json_t *config_json(const config *c)
{
    json_t *o = json_object();
    for (int f = 0; f < F_COUNT; f++)
        if (rate_keys[f])
            json_object_set_new(o, rate_keys[f], json_real(c->rate[f]));
    json_object_set_new(o, "delay_ms", json_integer(c->delay_ms));
    json_object_set_new(o, "jitter_ms", json_integer(c->jitter_ms));
    json_object_set_new(o, "hang_ms", json_integer(c->hang_ms));
    json_object_set_new(o, "retry_after", c->retry_after < 0 ? json_null()
                                                             : json_integer(c->retry_after));
    json_object_set_new(o, "accept_rate", json_real(c->accept_rate));
    json_object_set_new(o, "walk_rate", json_real(c->walk_rate));
    json_object_set_new(o, "usage", json_boolean(c->usage));
    json_object_set_new(o, "fail_next", json_integer(c->fail_next));
    json_object_set_new(o, "kind", json_string(fault_names[c->fail_kind]));
    json_object_set_new(o, "seed", json_integer((json_int_t)S.seed));
    json_object_set_new(o, "require_key", json_boolean(S.require_key != NULL));
    return o;
}

static int fault_find(const char *name)
{
    for (int f = 1; f < F_COUNT; f++)
        if (strcmp(fault_names[f], name) == 0)
            return f;
    return -1;
}

/* Checks a settings object; "" when it is sound, or what is wrong. */
static const char *config_check(const config *c)
{
    static const char *const msgs[] = {"", "a rate is outside [0, 1]",
                                       "fault rates add up to more than 1",
                                       "accept_rate + walk_rate is outside [0, 1]",
                                       "delay_ms, jitter_ms, hang_ms and fail_next must be >= 0"};
    double sum = 0;
    for (int f = 0; f < F_COUNT; f++) {
        if (c->rate[f] < 0 || c->rate[f] > 1)
            return msgs[1];
        sum += c->rate[f];
    }
    if (sum > 1 + 1e-9)
        return msgs[2];
    if (c->accept_rate < 0 || c->walk_rate < 0 || c->accept_rate + c->walk_rate > 1 + 1e-9)
        return msgs[3];
    if (c->delay_ms < 0 || c->jitter_ms < 0 || c->hang_ms < 0 || c->fail_next < 0)
        return msgs[4];
    return msgs[0];
}

static int key_is(const char *key, const char *want)
{
    for (; *key && *want; key++, want++)
        if (!(*key == *want || (*key == '-' && *want == '_')))
            return 0;
    return *key == *want;
}

/* Applies one /_control key to `c`; 0 with `why` set when it is unknown
 * or its value has the wrong type. */
static int control_key(config *c, const char *key, const json_t *v, int *reset_stats,
                       long long *seed, char *why, size_t size)
{
    for (int f = 0; f < F_COUNT; f++)
        if (rate_keys[f] && key_is(key, rate_keys[f]) && json_is_number(v)) {
            c->rate[f] = json_number_value(v);
            return 1;
        }
    struct { const char *name; long *field; } ints[] = {
        {"delay_ms", &c->delay_ms}, {"jitter_ms", &c->jitter_ms},
        {"hang_ms", &c->hang_ms}, {"fail_next", &c->fail_next}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (key_is(key, ints[i].name) && json_is_integer(v)) {
            *ints[i].field = (long)json_integer_value(v);
            return 1;
        }
    if (key_is(key, "retry_after") && (json_is_integer(v) || json_is_null(v))) {
        c->retry_after = json_is_null(v) ? -1 : (long)json_integer_value(v);
        return 1;
    }
    if (key_is(key, "accept_rate") && json_is_number(v)) {
        c->accept_rate = json_number_value(v);
        return 1;
    }
    if (key_is(key, "walk_rate") && json_is_number(v)) {
        c->walk_rate = json_number_value(v);
        return 1;
    }
    if (key_is(key, "usage") && json_is_boolean(v)) {
        c->usage = json_is_true(v);
        return 1;
    }
    if (strcmp(key, "kind") == 0 && json_is_string(v) && fault_find(json_string_value(v)) > 0) {
        c->fail_kind = (fault)fault_find(json_string_value(v));
        return 1;
    }
    if (key_is(key, "reset_stats") && json_is_boolean(v)) {
        *reset_stats = json_is_true(v);
        return 1;
    }
    if (key_is(key, "reset_config") && json_is_boolean(v)) {
        if (json_is_true(v))
            *c = S.initial;
        return 1;
    }
    if (strcmp(key, "seed") == 0 && json_is_integer(v)) {
        *seed = json_integer_value(v);
        return 1;
    }
    snprintf(why, size, "unknown control key or bad value: '%.64s'", key);
    return 0;
}

static enum MHD_Result handle_control(req *r)
{
    json_error_t jerr;
    json_t *in = json_loadb(r->body ? r->body : "", r->len, 0, &jerr);
    if (!json_is_object(in)) {
        json_decref(in);
        return respond_error(r->conn, MOCK_OPENAI, 400, "control body must be a JSON object");
    }
    pthread_mutex_lock(&S.lock);
    config c = S.cfg;
    int reset = 0;
    long long seed = -1;
    char why[160] = "";
    const char *key;
    json_t *v;
    /* reset_config first, so {"reset_config": true, "rate500": 1} means
     * "back to the start, then rate500" whatever the key order. */
    if (json_is_true(json_object_get(in, "reset_config")))
        c = S.initial;
    json_object_foreach(in, key, v) {
        if (!key_is(key, "reset_config") && !control_key(&c, key, v, &reset, &seed, why, sizeof why))
            break;
    }
    if (!why[0] && json_object_get(in, "fail_next") && !json_object_get(in, "kind") &&
        c.fail_kind == F_NONE)
        snprintf(why, sizeof why, "fail_next needs a kind");
    if (!why[0])
        snprintf(why, sizeof why, "%s", config_check(&c));
    json_t *out = NULL;
    if (!why[0]) {
        S.cfg = c;
        if (reset)
            stats_reset(&S.st);
        if (seed >= 0)
            S.seed = S.rng = (uint64_t)seed;
        out = json_pack("{s:b, s:o}", "ok", 1, "config", config_json(&S.cfg));
    }
    pthread_mutex_unlock(&S.lock);
    json_decref(in);
    if (!out)
        return respond_error(r->conn, MOCK_OPENAI, 400, why);
    return respond_json(r->conn, 200, out);
}

/* ---- provider requests ----------------------------------------------------------- */

/* What was drawn for one request, under the lock. */
typedef struct draw {
    fault fault;
    unsigned long serial;
    long delay_ms, hang_ms, retry_after;
    mock_answer_opts opts;
    int usage;
    uint64_t seed;
} draw;

static draw draw_request(req *r)
{
    draw d = {0};
    const char *hv = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 mock_wire_key_header((mock_format)r->format));
    pthread_mutex_lock(&S.lock);
    config *c = &S.cfg;
    d.serial = ++S.st.requests;
    S.st.by_format[r->format]++;
    json_t *n = json_object_get(S.st.by_path, r->path);
    json_object_set_new(S.st.by_path, r->path,
                        json_integer(n ? json_integer_value(n) + 1 : 1));
    if (S.require_key && !mock_wire_key_matches((mock_format)r->format, hv, S.require_key)) {
        d.fault = F_401;
    } else if (c->fail_next > 0) {
        c->fail_next--;
        d.fault = c->fail_kind;
    } else {
        double u = mock_rng_uniform(&S.rng), acc = 0;
        for (int f = 1; f < F_COUNT && !d.fault; f++) {
            acc += c->rate[f];
            if (c->rate[f] > 0 && u < acc)
                d.fault = (fault)f;
        }
    }
    S.st.faults[d.fault]++;
    d.delay_ms = c->delay_ms;
    if (c->jitter_ms > 0)
        d.delay_ms += (long)(mock_rng_next(&S.rng) % (uint64_t)(c->jitter_ms + 1));
    d.hang_ms = c->hang_ms;
    d.retry_after = c->retry_after;
    d.opts.accept_rate = c->accept_rate;
    d.opts.walk_rate = c->walk_rate;
    d.opts.break_schema = d.fault == F_BADSCHEMA;
    d.usage = c->usage;
    d.seed = S.seed;
    pthread_mutex_unlock(&S.lock);
    return d;
}

static void count_answer(const mock_answer_info *info, long in_tok, long out_tok)
{
    int a = N_ACTIONS - 1;
    for (int i = 0; info->action && i < N_ACTIONS - 1; i++)
        if (strcmp(info->action, action_names[i]) == 0)
            a = i;
    pthread_mutex_lock(&S.lock);
    S.st.ok++;
    S.st.answers[info->kind]++;
    if (info->kind == MOCK_ANSWER_MOVE)
        S.st.actions[a]++;
    S.st.tokens_in += (unsigned long long)in_tok;
    S.st.tokens_out += (unsigned long long)out_tok;
    pthread_mutex_unlock(&S.lock);
}

/* Builds the 200 reply (sound, broken in content, or not JSON at all)
 * into r. 0 when the request body is not a JSON object. */
static int plan_answer(req *r, const draw *d)
{
    mock_format f = (mock_format)r->format;
    mock_request in;
    if (mock_wire_read(f, r->body ? r->body : "", r->len, &in) != 0)
        return 0;
    mock_answer_info info;
    uint64_t h = mock_hash(r->body, r->len, d->seed);
    json_t *answer = mock_answer(in.schema, h, &d->opts, &info);
    char *text = mock_wire_answer_text(answer);
    long in_tok = (long)(r->len / 4), out_tok = text ? (long)(strlen(text) / 4) : 1;
    free(text);
    mock_reply_meta meta = {.path = r->path, .serial = d->serial,
                            .input_tokens = in_tok < 1 ? 1 : in_tok,
                            .output_tokens = out_tok < 1 ? 1 : out_tok, .with_usage = d->usage};
    r->reply = mock_wire_reply(f, &in, answer, &meta);
    r->reply_len = r->reply ? strlen(r->reply) : 0;
    r->status = 200;
    json_decref(answer);
    mock_request_clear(&in);
    if (d->fault == F_MALFORMED && r->reply) {
        /* Half a reply, as a proxy that cut the stream would deliver, or
         * an HTML error page: neither parses as JSON. */
        if (d->serial & 1u) {
            static const char page[] = "<html><body><h1>502 Bad Gateway</h1></body></html>";
            free(r->reply);
            r->reply = strdup(page);
            r->reply_len = sizeof page - 1;
        } else {
            r->reply_len /= 2;
            r->reply[r->reply_len] = '\0';
        }
    } else if (d->fault != F_MALFORMED) {
        count_answer(&info, meta.input_tokens, meta.output_tokens);
    }
    return 1;
}

static const char *fault_message(fault f)
{
    switch (f) {
    case F_429: return "mock: rate limit reached for requests (injected 429)";
    case F_500: return "mock: the server had an error while processing your request (injected 500)";
    case F_503: return "mock: the engine is currently overloaded (injected 503)";
    case F_401: return "mock: incorrect API key provided";
    case F_403: return "mock: the key may not use this model (injected 403)";
    case F_400: return "mock: invalid request (injected 400)";
    default: return "mock: error";
    }
}

/* Decides what r gets and prepares it; the reply goes out now or after
 * the drawn delay. */
static enum MHD_Result handle_provider(req *r)
{
    draw d = draw_request(r);
    r->retry_after = -1;
    switch (d.fault) {
    case F_DROP:
        r->drop = 1;
        break;
    case F_HANG:
        r->hang = 1;
        break;
    case F_NONE:
    case F_MALFORMED:
    case F_BADSCHEMA:
        if (!plan_answer(r, &d)) {
            pthread_mutex_lock(&S.lock);
            S.st.bad_requests++;
            pthread_mutex_unlock(&S.lock);
            r->status = 400;
            r->reply = mock_wire_error((mock_format)r->format, 400,
                                       "mock: the request body is not a JSON object");
            r->reply_len = r->reply ? strlen(r->reply) : 0;
        }
        break;
    default:
        r->status = (unsigned)atoi(fault_names[d.fault]);
        r->reply = mock_wire_error((mock_format)r->format, r->status, fault_message(d.fault));
        r->reply_len = r->reply ? strlen(r->reply) : 0;
        if (d.fault == F_429 || d.fault == F_503)
            r->retry_after = d.retry_after;
        break;
    }
    if (S.verbose)
        fprintf(stderr, "negsim_mock: #%lu POST %s (%s) -> %s, %ld ms\n", d.serial, r->path,
                mock_format_names[r->format], fault_names[d.fault], r->hang ? d.hang_ms : d.delay_ms);
    r->planned = 1;
    long wait_ms = r->hang ? d.hang_ms : d.delay_ms;
    if (wait_ms > 0) {
        r->due_ns = now_ns() + (uint64_t)wait_ms * 1000000ull;
        return wait_until_due(r) ? MHD_YES : MHD_NO;
    }
    if (r->drop || r->hang)
        return MHD_NO;
    char *body = r->reply;
    r->reply = NULL;
    return respond(r->conn, r->status, body, r->reply_len, r->retry_after);
}

/* The second visit, after the timer resumed the connection. */
static enum MHD_Result finish_planned(req *r)
{
    if (r->drop || r->hang)
        return MHD_NO;
    char *body = r->reply;
    r->reply = NULL;
    return respond(r->conn, r->status, body, r->reply_len, r->retry_after);
}

/* ---- MHD callbacks ------------------------------------------------------------ */

static req *req_new(struct MHD_Connection *c, const char *url, const char *method)
{
    req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->conn = c;
    r->path = url;
    r->format = mock_wire_format(url);
    int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(url, "/_stats") == 0)
        r->route = R_STATS;
    else if (strcmp(url, "/_control") == 0)
        r->route = R_CONTROL;
    else if (r->format >= 0 && post)
        r->route = R_PROVIDER;
    else
        r->route = R_OTHER;
    if (r->route == R_PROVIDER) {
        pthread_mutex_lock(&S.lock);
        if (++S.st.inflight > S.st.max_inflight)
            S.st.max_inflight = S.st.inflight;
        pthread_mutex_unlock(&S.lock);
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req *r = *con_cls;
    if (!r)
        return;
    if (r->route == R_PROVIDER) {
        pthread_mutex_lock(&S.lock);
        S.st.inflight--;
        pthread_mutex_unlock(&S.lock);
    }
    free(r->body);
    free(r->reply);
    free(r);
    *con_cls = NULL;
}

static void append_body(req *r, const char *data, size_t n)
{
    if (r->too_large || r->len + n > MAX_BODY) {
        r->too_large = 1;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->body = xrealloc(r->body, r->cap);
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    req *r = *con_cls;
    if (!r) {
        *con_cls = req_new(c, url, method);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        append_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->planned)
        return finish_planned(r);
    if (r->too_large)
        return respond_error(c, r->format, 413, "mock: request body too large");
    switch (r->route) {
    case R_PROVIDER:
        return handle_provider(r);
    case R_STATS: {
        pthread_mutex_lock(&S.lock);
        json_t *j = stats_json();
        pthread_mutex_unlock(&S.lock);
        return respond_json(c, 200, j);
    }
    case R_CONTROL:
        if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
            return handle_control(r);
        pthread_mutex_lock(&S.lock);
        json_t *j = config_json(&S.cfg);
        pthread_mutex_unlock(&S.lock);
        return respond_json(c, 200, j);
    default:
        return respond_error(c, r->format, r->format >= 0 ? 405 : 404,
                             r->format >= 0 ? "mock: use POST" : "mock: no such endpoint");
    }
}

/* ---- command line ------------------------------------------------------------- */

typedef struct options {
    long port, threads;
    const char *port_file;
    int quiet;
} options;

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("negsim_mock: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'negsim_mock --help'.\n", stderr);
    exit(2);
}

static void print_help(void)
{
    puts("Usage: negsim_mock [OPTION]...\n"
         "A mock LLM server (OpenAI, Anthropic, Gemini wire formats) on 127.0.0.1.\n\n"
         "  --port N              port; 0 (default) picks a free one\n"
         "  --port-file PATH      write the chosen port there once listening\n"
         "  --threads N           worker threads (2)\n"
         "  --seed N              seed of answers and fault draws (1)\n"
         "  --accept-rate P       probability of action accept (0.2)\n"
         "  --walk-rate P         probability of action walk_away (0)\n"
         "  --no-usage            no usage block in replies\n"
         "  --require-key K       requests without key K get 401\n"
         "  --require-key-env V   the same, key read from environment variable V\n"
         "  --delay-ms N          fixed delay before answering (0)\n"
         "  --jitter-ms N         plus uniform 0..N ms (0)\n"
         "  --hang-ms N           a hang closes the request after N ms (300000)\n"
         "  --retry-after S       Retry-After header on 429 and 503 (none)\n"
         "  --rate429 P --rate500 P --rate503 P --rate403 P --rate400 P\n"
         "  --rate-drop P --rate-hang P --rate-malformed P --rate-badschema P\n"
         "                        probability of each fault per request (0)\n"
         "  --fail-first N KIND   first N requests get KIND (429 500 503 drop hang\n"
         "                        malformed badschema 401 403 400)\n"
         "  --quiet               print nothing on start\n"
         "  --verbose             log every request on stderr (never keys)\n"
         "  --help                this text\n\n"
         "GET /_stats: counters. GET/POST /_control: read/change settings.");
}

static double parse_prob(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= 0 && x <= 1))
        usage_error("%s needs a probability in [0, 1]", opt);
    return x;
}

static long parse_long(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        usage_error("%s needs an integer in range", opt);
    return x;
}

static void parse_args(int argc, char **argv, options *o)
{
    config *c = &S.cfg;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* options that take no value */
        if (strcmp(a, "--help") == 0) {
            print_help();
            exit(0);
        }
        if (strcmp(a, "--quiet") == 0) { o->quiet = 1; continue; }
        if (strcmp(a, "--verbose") == 0) { S.verbose = 1; continue; }
        if (strcmp(a, "--no-usage") == 0) { c->usage = 0; continue; }
        if (strncmp(a, "--", 2) != 0)
            usage_error("unexpected argument '%s'", a);
        if (i + 1 >= argc)
            usage_error("option %s needs a value", a);
        const char *v = argv[++i];
        int done = 0;
        for (int f = 0; f < F_COUNT && !done; f++)
            if (rate_keys[f] && key_is(a + 2, rate_keys[f])) {
                c->rate[f] = parse_prob(a, v);
                done = 1;
            }
        if (done) continue;
        if (strcmp(a, "--port") == 0) o->port = parse_long(a, v, 0, 65535);
        else if (strcmp(a, "--port-file") == 0) o->port_file = v;
        else if (strcmp(a, "--threads") == 0) o->threads = parse_long(a, v, 1, 64);
        else if (strcmp(a, "--seed") == 0) S.seed = (uint64_t)parse_long(a, v, 0, LONG_MAX);
        else if (strcmp(a, "--accept-rate") == 0) c->accept_rate = parse_prob(a, v);
        else if (strcmp(a, "--walk-rate") == 0) c->walk_rate = parse_prob(a, v);
        else if (strcmp(a, "--delay-ms") == 0) c->delay_ms = parse_long(a, v, 0, 86400000);
        else if (strcmp(a, "--jitter-ms") == 0) c->jitter_ms = parse_long(a, v, 0, 86400000);
        else if (strcmp(a, "--hang-ms") == 0) c->hang_ms = parse_long(a, v, 0, 86400000);
        else if (strcmp(a, "--retry-after") == 0) c->retry_after = parse_long(a, v, 0, 86400);
        else if (strcmp(a, "--require-key") == 0) S.require_key = strdup(v);
        else if (strcmp(a, "--require-key-env") == 0) {
            const char *k = getenv(v);
            if (!k || !*k)
                usage_error("--require-key-env: variable %s is not set", v);
            S.require_key = strdup(k);
        } else if (strcmp(a, "--fail-first") == 0) {
            c->fail_next = parse_long(a, v, 0, LONG_MAX);
            if (i + 1 >= argc)
                usage_error("%s needs N and KIND", a);
            int k = fault_find(argv[++i]);
            if (k < 0)
                usage_error("--fail-first: unknown KIND '%s'", argv[i]);
            c->fail_kind = (fault)k;
        } else
            usage_error("unknown option '%s'", a);
    }
    const char *why = config_check(c);
    if (*why)
        usage_error("%s", why);
}

/* ---- start and stop ----------------------------------------------------------- */

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Many delayed requests mean many sockets: take the hard limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Resumes every waiting request as a drop and waits (briefly) until MHD
 * has closed them: stopping the daemon with suspended connections is an
 * API violation. */
static void drain(struct MHD_Daemon *d)
{
    pthread_mutex_lock(&S.tlock);
    S.stopping = 1;
    while (S.n_heap) {
        req *r = heap_remove(S.n_heap - 1);
        r->drop = 1;
        MHD_resume_connection(r->conn);
    }
    pthread_cond_signal(&S.tcond);
    pthread_mutex_unlock(&S.tlock);
    pthread_join(S.timer, NULL);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&S.lock);
        long n = S.st.inflight;
        pthread_mutex_unlock(&S.lock);
        if (n <= 0)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    (void)d;
}

int main(int argc, char **argv)
{
    options o = {.port = 0, .threads = 2};
    S.cfg.accept_rate = 0.2;
    S.cfg.usage = 1;
    S.cfg.retry_after = -1;
    S.cfg.hang_ms = 300000;
    S.seed = 1;
    parse_args(argc, argv, &o);
    S.initial = S.cfg;
    S.rng = S.seed;
    stats_reset(&S.st);
    raise_fd_limit();

    /* Signals are taken by sigwait in main; every other thread inherits
     * the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.tcond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&S.timer, NULL, timer_main, NULL) != 0) {
        fputs("negsim_mock: cannot start the timer thread\n", stderr);
        return 1;
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    if (S.verbose)
        flags |= MHD_USE_ERROR_LOG;
    struct MHD_OptionItem pool[] = {
        {o.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         o.threads > 1 ? o.threads : 0, NULL},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)16384, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "negsim_mock: cannot listen on 127.0.0.1:%ld\n", o.port);
        drain(NULL);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : (unsigned)o.port;
    if (o.port_file && write_port_file(o.port_file, port) != 0)
        fprintf(stderr, "negsim_mock: cannot write %s: %s\n", o.port_file, strerror(errno));
    if (!o.quiet) {
        printf("negsim_mock: listening on http://127.0.0.1:%u\n", port);
        fflush(stdout);
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    drain(d);
    MHD_stop_daemon(d);
    if (o.port_file)
        unlink(o.port_file);
    json_decref(S.st.by_path);
    free(S.heap);
    free(S.require_key);
    pthread_cond_destroy(&S.tcond);
    return 0;
}
