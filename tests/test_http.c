/*
 * test_http.c - the HTTP dispatcher (ns_http) against the mock server
 * (tests/mock/negsim_mock, started fresh for each case with --port 0 and
 * killed at its end): delivery, fault classes and retries, Retry-After,
 * the in-flight cap, the requests-per-minute bucket, the circuit breaker,
 * the budget cap, and memory that stays flat over 20,000 requests.
 *
 * The mock's own counters (GET /_stats) are the witness for what went on
 * the wire, so the dispatcher's bookkeeping is never checked against
 * itself alone. NS_HTTP_TEST_N overrides the 20,000 (for valgrind runs).
 */
#include "ns_http.h"
#include "ns_test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NS_MOCK_PATH
#define NS_MOCK_PATH ""
#endif

/* ---- the mock server --------------------------------------------------- */

typedef struct mock {
    pid_t pid;
    int port;
    char url[128];   /* the chat completions URL */
} mock;

static int mock_start(mock *m, const char *const *args)
{
    char port_file[128];
    static int serial;
    snprintf(port_file, sizeof port_file, "/tmp/ns_test_http.%d.%d.port", (int)getpid(), serial++);
    unlink(port_file);
    const char *argv[40];
    int n = 0;
    argv[n++] = NS_MOCK_PATH;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    argv[n++] = "--quiet";
    for (int i = 0; args && args[i] && n < 38; i++) argv[n++] = args[i];
    argv[n] = NULL;
    m->pid = fork();
    if (m->pid < 0) return -1;
    if (m->pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    m->port = 0;
    for (int i = 0; i < 1000 && m->port <= 0; i++) { /* 10 s */
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &m->port) != 1) m->port = 0;
            fclose(f);
        }
        if (m->port <= 0) {
            int st;
            if (waitpid(m->pid, &st, WNOHANG) == m->pid) return -1;
            usleep(10000);
        }
    }
    unlink(port_file);
    snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d/v1/chat/completions", m->port);
    return m->port > 0 ? 0 : -1;
}

static void mock_stop(mock *m)
{
    if (m->pid <= 0) return;
    kill(m->pid, SIGTERM);
    waitpid(m->pid, NULL, 0);
    m->pid = 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

typedef struct sbuf {
    char data[1 << 16];
    size_t len;
} sbuf;

static size_t to_sbuf(char *p, size_t size, size_t n, void *ud)
{
    sbuf *b = ud;
    size_t k = size * n;
    if (b->len + k >= sizeof b->data) return 0;
    memcpy(b->data + b->len, p, k);
    b->len += k;
    b->data[b->len] = '\0';
    return k;
}

/* GET /_stats; the caller frees the object. */
static json_t *mock_stats(const mock *m)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", m->port);
    static sbuf b;
    b.len = 0;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_sbuf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) return NULL;
    return json_loadb(b.data, b.len, 0, NULL);
}

static long mock_stat(const mock *m, const char *key)
{
    json_t *s = mock_stats(m);
    long v = s ? (long)json_integer_value(json_object_get(s, key)) : -1;
    json_decref(s);
    return v;
}

/* POST /_control; 1 when the mock took it. */
static int mock_control(const mock *m, const char *json)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_control", m->port);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 200;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- the client side --------------------------------------------------- */

#define MAX_REQ 64

typedef struct outcome {
    int done;
    ns_fault fault;
    long status;
    int attempts;
    double t_done;
    int body_json;       /* the body parsed as a chat completion */
    char message[256];
} outcome;

typedef struct ctx {
    ns_http *h;
    int endpoint;
    const char *url;
    outcome out[MAX_REQ];
    int completed;
    double charge;       /* charged per success */
    long resubmit;       /* requests still to submit from callbacks */
    long total_done;
    int max_inflight_seen;
} ctx;

static ctx C;

static const char *const HEADERS[] = {"Content-Type: application/json",
                                      "Authorization: Bearer sk-test-not-a-key", NULL};
static const char BODY[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

static void submit_one(void *user)
{
    ns_http_request rq = {.endpoint = C.endpoint, .url = C.url, .headers = HEADERS, .body = BODY,
                          .body_len = sizeof BODY - 1, .est_tokens = 100, .reserve_usd = 1.0,
                          .user = user};
    ns_error err;
    ns_status st = ns_http_submit(C.h, &rq, &err);
    CHECK_ST(st, NS_OK, err);
}

static void on_done(void *user, const ns_http_result *res)
{
    C.total_done++;
    if (user) {
        outcome *o = user;
        CHECK(!o->done, "a request completed twice");
        o->done = 1;
        o->fault = res->fault;
        o->status = res->status;
        o->attempts = res->attempts;
        o->t_done = ns_http_now();
        snprintf(o->message, sizeof o->message, "%s", res->message);
        json_t *j = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
        o->body_json = j && json_object_get(j, "choices") != NULL;
        json_decref(j);
        CHECK(strstr(res->message, "sk-test") == NULL, "key in message: %s", res->message);
    }
    if (res->fault == NS_FAULT_NONE && C.charge > 0) ns_http_charge(C.h, C.charge);
    C.completed++;
    if (C.resubmit > 0) { /* re-entrant submit, as a negotiation's next turn does */
        C.resubmit--;
        submit_one(NULL);
    }
}

static void ctx_reset(const mock *m)
{
    memset(&C, 0, sizeof C);
    C.url = m ? m->url : NULL;
}

static ns_http *make(const ns_endpoint_config *cfg)
{
    ns_error err;
    ns_http *h = NULL;
    ns_status st = ns_http_create(on_done, 7, &h, &err);
    CHECK_ST(st, NS_OK, err);
    C.h = h;
    C.endpoint = ns_http_add_endpoint(h, cfg, &err);
    CHECK(C.endpoint == 0, "add_endpoint: %d (%s)", C.endpoint, err.msg);
    return h;
}

static ns_endpoint_config fast_cfg(void)
{
    ns_endpoint_config c;
    ns_endpoint_config_init(&c);
    c.name = "mock";
    c.max_inflight = 8;
    c.max_retries = 3;
    c.backoff_base_s = 0.01;
    c.backoff_cap_s = 0.05;
    c.timeout_s = 5;
    c.breaker_threshold = 0;
    return c;
}

/* Polls until nothing is pending or `seconds` pass; tracks the peak of
 * our own in-flight count. */
static void drain(ns_http *h, double seconds)
{
    double end = ns_http_now() + seconds;
    while (ns_http_pending(h) > 0 && ns_http_now() < end) {
        ns_http_poll(h, 50);
        ns_endpoint_stats s;
        ns_http_endpoint_stats(h, C.endpoint, &s);
        if ((int)s.inflight > C.max_inflight_seen) C.max_inflight_seen = (int)s.inflight;
    }
}

static void run_for(ns_http *h, double seconds)
{
    double end = ns_http_now() + seconds;
    while (ns_http_now() < end) ns_http_poll(h, 20);
}

static int start_or_fail(mock *m, const char *const *args)
{
    if (mock_start(m, args) == 0) return 1;
    CHECK(0, "mock server did not start (%s)", NS_MOCK_PATH);
    mock_stop(m);
    return 0;
}

/* ---- cases ------------------------------------------------------------- */

static void test_success(void)
{
    mock m;
    if (!start_or_fail(&m, NULL)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    ns_http *h = make(&cfg);
    for (int i = 0; i < 20; i++) submit_one(&C.out[i]);
    CHECK(ns_http_pending(h) == 20, "pending %zu", ns_http_pending(h));
    drain(h, 10);
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += C.out[i].done && C.out[i].fault == NS_FAULT_NONE && C.out[i].status == 200 &&
              C.out[i].attempts == 1 && C.out[i].body_json && C.out[i].message[0] == '\0';
    CHECK(ok == 20, "success: %d of 20 delivered with a chat body", ok);
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.sent == 20 && s.by_fault[NS_FAULT_NONE] == 20 && s.failures == 0,
          "stats: sent %llu ok %llu failures %llu", (unsigned long long)s.sent,
          (unsigned long long)s.by_fault[0], (unsigned long long)s.failures);
    CHECK(mock_stat(&m, "requests") == 20, "mock saw %ld requests", mock_stat(&m, "requests"));
    size_t reqs, handles;
    ns_http_memory(h, &reqs, &handles);
    CHECK(handles <= 8, "easy handles %zu > max_inflight 8", handles);
    ns_http_destroy(h);
    mock_stop(&m);
}

static void test_retry_after(void)
{
    /* two 429s with Retry-After: 1, then success: >= 2 s, 3 attempts */
    mock m;
    const char *args[] = {"--fail-first", "2", "429", "--retry-after", "1", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    ns_http *h = make(&cfg);
    double t0 = ns_http_now();
    submit_one(&C.out[0]);
    /* while it backs off, the stats say so, and until when */
    double seen_until = 0;
    size_t seen_waiting = 0;
    while (ns_http_pending(h) > 0 && ns_http_now() < t0 + 10) {
        ns_http_poll(h, 50);
        ns_endpoint_stats s;
        ns_http_endpoint_stats(h, 0, &s);
        if (s.waiting_backoff > seen_waiting) {
            seen_waiting = s.waiting_backoff;
            seen_until = s.wait_until;
        }
    }
    double elapsed = C.out[0].t_done - t0;
    CHECK(C.out[0].fault == NS_FAULT_NONE && C.out[0].attempts == 3,
          "429 x2 then ok: fault %s attempts %d", ns_fault_names[C.out[0].fault],
          C.out[0].attempts);
    CHECK(elapsed >= 2.0 && elapsed < 4.0, "Retry-After 1 twice: took %.3f s", elapsed);
    CHECK(seen_waiting == 1 && seen_until >= t0 + 0.99,
          "progress: waiting %zu until +%.3f s", seen_waiting, seen_until - t0);
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.retries == 2 && s.by_fault[NS_FAULT_RATE_LIMIT] == 2 && s.waiting_backoff == 0,
          "stats: retries %llu 429s %llu", (unsigned long long)s.retries,
          (unsigned long long)s.by_fault[NS_FAULT_RATE_LIMIT]);
    ns_http_destroy(h);
    mock_stop(&m);

    /* always 429: stops after 1 + max_retries attempts with rate_limit */
    const char *args2[] = {"--rate429", "1", NULL};
    if (!start_or_fail(&m, args2)) return;
    ctx_reset(&m);
    cfg = fast_cfg();
    cfg.max_retries = 2;
    h = make(&cfg);
    submit_one(&C.out[0]);
    drain(h, 10);
    CHECK(C.out[0].fault == NS_FAULT_RATE_LIMIT && C.out[0].attempts == 3 &&
              C.out[0].status == 429,
          "429 forever: fault %s attempts %d status %ld", ns_fault_names[C.out[0].fault],
          C.out[0].attempts, C.out[0].status);
    CHECK(strcmp(C.out[0].message, "mock: HTTP 429 after 3 attempts") == 0, "message: '%s'",
          C.out[0].message);
    CHECK(mock_stat(&m, "requests") == 3, "mock saw %ld requests", mock_stat(&m, "requests"));
    ns_http_destroy(h);
    mock_stop(&m);
}

/* One transient fault is retried to success; a lasting one ends with its
 * class after 1 + max_retries attempts. */
static void check_transient(const char *kind, ns_fault want)
{
    mock m;
    const char *args[] = {"--fail-first", "1", kind, "--hang-ms", "5000", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.timeout_s = 0.3; /* a hang becomes a timeout quickly */
    ns_http *h = make(&cfg);
    submit_one(&C.out[0]);
    drain(h, 10);
    CHECK(C.out[0].fault == NS_FAULT_NONE && C.out[0].attempts == 2,
          "%s once: fault %s attempts %d", kind, ns_fault_names[C.out[0].fault],
          C.out[0].attempts);
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.by_fault[want] == 1 && s.retries == 1, "%s once: %llu of class %s, %llu retries",
          kind, (unsigned long long)s.by_fault[want], ns_fault_names[want],
          (unsigned long long)s.retries);

    char ctl[128];
    snprintf(ctl, sizeof ctl, "{\"fail_next\": 100, \"kind\": \"%s\"}", kind);
    CHECK(mock_control(&m, ctl), "control %s", ctl);
    submit_one(&C.out[1]);
    drain(h, 10);
    CHECK(C.out[1].fault == want && C.out[1].attempts == 4,
          "%s always: fault %s (want %s) attempts %d", kind, ns_fault_names[C.out[1].fault],
          ns_fault_names[want], C.out[1].attempts);
    CHECK(strstr(C.out[1].message, "after 4 attempts") != NULL, "%s message: '%s'", kind,
          C.out[1].message);
    ns_http_destroy(h);
    mock_stop(&m);
}

static void test_transient_faults(void)
{
    check_transient("500", NS_FAULT_SERVER);
    check_transient("503", NS_FAULT_SERVER);
    check_transient("drop", NS_FAULT_CONNECTION);
    check_transient("hang", NS_FAULT_TIMEOUT);

    /* connection refused: nothing listens */
    ctx_reset(NULL);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", closed_port());
    C.url = url;
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_retries = 2;
    ns_http *h = make(&cfg);
    submit_one(&C.out[0]);
    drain(h, 10);
    CHECK(C.out[0].fault == NS_FAULT_CONNECTION && C.out[0].attempts == 3 &&
              C.out[0].status == 0,
          "refused: fault %s attempts %d status %ld", ns_fault_names[C.out[0].fault],
          C.out[0].attempts, C.out[0].status);
    CHECK(strncmp(C.out[0].message, "mock: connection (", 18) == 0, "refused message: '%s'",
          C.out[0].message);
    ns_http_destroy(h);
}

static void test_permanent_faults(void)
{
    const char *kinds[] = {"401", "403", "400"};
    ns_fault want[] = {NS_FAULT_AUTHENTICATION, NS_FAULT_PERMISSION, NS_FAULT_VALIDATION};
    for (int k = 0; k < 3; k++) {
        mock m;
        const char *args[] = {"--fail-first", "1", kinds[k], NULL};
        if (!start_or_fail(&m, args)) return;
        ctx_reset(&m);
        ns_endpoint_config cfg = fast_cfg();
        ns_http *h = make(&cfg);
        submit_one(&C.out[0]);
        drain(h, 10);
        CHECK(C.out[0].fault == want[k] && C.out[0].attempts == 1 &&
                  C.out[0].status == atol(kinds[k]),
              "%s: fault %s attempts %d", kinds[k], ns_fault_names[C.out[0].fault],
              C.out[0].attempts);
        CHECK(mock_stat(&m, "requests") == 1, "%s retried: mock saw %ld", kinds[k],
              mock_stat(&m, "requests"));
        ns_http_destroy(h);
        mock_stop(&m);
    }
}

static void test_inflight_cap(void)
{
    mock m;
    const char *args[] = {"--delay-ms", "50", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_inflight = 4;
    ns_http *h = make(&cfg);
    for (int i = 0; i < 40; i++) submit_one(&C.out[i]);
    drain(h, 20);
    int ok = 0;
    for (int i = 0; i < 40; i++) ok += C.out[i].fault == NS_FAULT_NONE && C.out[i].done;
    CHECK(ok == 40, "inflight cap: %d of 40 ok", ok);
    long seen = mock_stat(&m, "max_inflight_seen");
    CHECK(seen >= 2 && seen <= 4, "mock saw %ld in flight at once (cap 4)", seen);
    CHECK(C.max_inflight_seen <= 4, "dispatcher had %d in flight", C.max_inflight_seen);
    ns_http_destroy(h);
    mock_stop(&m);
}

static void test_rate_bucket(void)
{
    mock m;
    if (!start_or_fail(&m, NULL)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.requests_per_minute = 30; /* a burst of 30, then 0.5/s */
    ns_http *h = make(&cfg);
    for (int i = 0; i < 60; i++) submit_one(&C.out[i]);
    double t0 = ns_http_now();
    run_for(h, 1.0);
    long burst = mock_stat(&m, "requests");
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(burst >= 30 && burst <= 31, "burst: %ld sent in the first second (30 allowed)", burst);
    CHECK(s.waiting_limit == (size_t)(60 - burst) && s.wait_until > t0 && s.queued == s.waiting_limit,
          "throttled: waiting_limit %zu queued %zu until +%.2f", s.waiting_limit, s.queued,
          s.wait_until - t0);
    run_for(h, 3.0);
    long later = mock_stat(&m, "requests");
    /* 0.5/s over the 4 s: about 2 more; the bound leaves a margin */
    CHECK(later - 30 >= 1 && later <= 30 + 4, "after 4 s: %ld sent (30 + ~2 allowed)", later);
    ns_http_cancel_queued(h);
    CHECK(ns_http_pending(h) == 0, "after cancel: %zu pending", ns_http_pending(h));
    int cancelled = 0;
    for (int i = 0; i < 60; i++) cancelled += C.out[i].fault == NS_FAULT_CANCELLED;
    CHECK(cancelled == 60 - later, "cancelled %d, sent %ld", cancelled, later);
    ns_http_destroy(h);
    mock_stop(&m);

    /* tokens per minute: 1,000 at 100 estimated per request is a burst of
     * 10, then one every 6 s */
    if (!start_or_fail(&m, NULL)) return;
    ctx_reset(&m);
    cfg = fast_cfg();
    cfg.tokens_per_minute = 1000;
    h = make(&cfg);
    for (int i = 0; i < 20; i++) submit_one(&C.out[i]);
    run_for(h, 1.5);
    long sent = mock_stat(&m, "requests");
    CHECK(sent == 10, "tokens bucket: %ld sent in 1.5 s (10 allowed)", sent);
    ns_http_destroy(h); /* drops the queued ones without callbacks */
    mock_stop(&m);
}

static void test_breaker(void)
{
    mock m;
    const char *args[] = {"--rate503", "1", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_inflight = 1; /* one at a time: the count is exact */
    cfg.max_retries = 0;
    cfg.breaker_threshold = 3;
    cfg.breaker_cooldown_s = 1.0;
    ns_http *h = make(&cfg);
    for (int i = 0; i < 10; i++) submit_one(&C.out[i]);
    /* three failures open it; then nothing goes */
    double end = ns_http_now() + 5;
    while (C.completed < 3 && ns_http_now() < end) ns_http_poll(h, 20);
    double t_open = ns_http_now();
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.breaker_open == 1 && s.breaker_trips == 1, "breaker after 3: state %d trips %llu",
          s.breaker_open, (unsigned long long)s.breaker_trips);
    run_for(h, 0.6);
    CHECK(mock_stat(&m, "requests") == 3, "while open: mock saw %ld requests (3)",
          mock_stat(&m, "requests"));
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.waiting_limit == 7 && s.wait_until > t_open, "open: waiting_limit %zu",
          s.waiting_limit);
    /* after the cool-down exactly one probe goes, fails, and reopens it */
    end = ns_http_now() + 3;
    while (C.completed < 4 && ns_http_now() < end) ns_http_poll(h, 20);
    double t_probe = ns_http_now();
    CHECK(t_probe - t_open >= 0.9, "probe after %.3f s (cool-down 1 s)", t_probe - t_open);
    run_for(h, 0.3);
    CHECK(mock_stat(&m, "requests") == 4, "one probe: mock saw %ld requests (4)",
          mock_stat(&m, "requests"));
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.breaker_open == 1, "failed probe: state %d (open)", s.breaker_open);
    /* healthy again: the next probe closes it and the rest goes */
    CHECK(mock_control(&m, "{\"rate503\": 0}"), "control rate503 0");
    drain(h, 5);
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(s.breaker_open == 0 && s.breaker_trips == 1, "healthy: state %d trips %llu",
          s.breaker_open, (unsigned long long)s.breaker_trips);
    int ok = 0, bad = 0;
    for (int i = 0; i < 10; i++) {
        ok += C.out[i].fault == NS_FAULT_NONE;
        bad += C.out[i].fault == NS_FAULT_SERVER;
    }
    CHECK(ok == 6 && bad == 4, "breaker: %d ok, %d server faults (6, 4)", ok, bad);
    CHECK(mock_stat(&m, "requests") == 10, "mock saw %ld requests (10)",
          mock_stat(&m, "requests"));
    ns_http_destroy(h);
    mock_stop(&m);
}

static void test_budget(void)
{
    mock m;
    const char *args[] = {"--delay-ms", "100", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    C.charge = 0.9; /* actual cost under the 1.0 reserved */
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_inflight = 10;
    ns_http *h = make(&cfg);
    ns_http_set_budget(h, 3.5);
    for (int i = 0; i < 10; i++) submit_one(&C.out[i]);
    drain(h, 10);
    int ok = 0, refused = 0;
    for (int i = 0; i < 10; i++) {
        ok += C.out[i].fault == NS_FAULT_NONE;
        refused += C.out[i].fault == NS_FAULT_BUDGET && C.out[i].attempts == 0 &&
                   strstr(C.out[i].message, "budget") != NULL;
    }
    CHECK(ok == 3 && refused == 7, "budget 3.5 at 1.0 reserved: %d sent, %d refused", ok, refused);
    CHECK(ns_http_spent(h) <= 3.5 && fabs(ns_http_spent(h) - 2.7) < 1e-9, "spent %.3f",
          ns_http_spent(h));
    CHECK(ns_http_budget_exhausted(h) == 1, "exhausted flag");
    CHECK(mock_stat(&m, "requests") == 3, "mock saw %ld requests", mock_stat(&m, "requests"));
    CHECK(mock_stat(&m, "max_inflight_seen") <= 3, "mock saw %ld in flight",
          mock_stat(&m, "max_inflight_seen"));
    /* later submissions are refused too: dispatch has stopped */
    submit_one(&C.out[10]);
    drain(h, 2);
    CHECK(C.out[10].fault == NS_FAULT_BUDGET, "after exhaustion: %s",
          ns_fault_names[C.out[10].fault]);
    ns_http_destroy(h);
    mock_stop(&m);
}

/* A steady stream at 0 ms delay: no poll may sleep through replies that
 * have already arrived (a full 1 s timeout here means it did), and the
 * figures are printed for the record. */
static void test_throughput(long n)
{
    mock m;
    if (!start_or_fail(&m, NULL)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_inflight = 256;
    ns_http *h = make(&cfg);
    C.resubmit = n - 512;
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = ns_http_now();
    for (int i = 0; i < 512; i++) submit_one(NULL);
    int stalls = 0;
    while (ns_http_pending(h) > 0 && ns_http_now() < t0 + 120) {
        double p0 = ns_http_now();
        ns_http_poll(h, 1000);
        stalls += ns_http_now() - p0 >= 0.9;
    }
    double wall = ns_http_now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(C.total_done == n && s.failures == 0 && s.by_fault[NS_FAULT_NONE] == (uint64_t)n,
          "throughput run: %ld of %ld done, %llu failed", C.total_done, n,
          (unsigned long long)s.failures);
    CHECK(mock_stat(&m, "ok") == n, "mock answered %ld of %ld", mock_stat(&m, "ok"), n);
    CHECK(stalls == 0, "%d polls slept through ready replies", stalls);
    printf("throughput: %ld requests, 256 in flight, 0 ms: %.0f requests/s, %.3f CPU-s/1000 "
           "(test process, mock apart)\n",
           n, n / wall, cpu / n * 1000.0);
    ns_http_destroy(h);
    mock_stop(&m);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_memory(void)
{
    long n = 20000;
    const char *env = getenv("NS_HTTP_TEST_N");
    if (env && atol(env) > 0) n = atol(env);
    mock m;
    const char *args[] = {"--rate500", "0.2", "--rate429", "0.1", NULL};
    if (!start_or_fail(&m, args)) return;
    ctx_reset(&m);
    ns_endpoint_config cfg = fast_cfg();
    cfg.max_inflight = 4;
    cfg.max_retries = 6;
    cfg.backoff_base_s = 0.0005;
    cfg.backoff_cap_s = 0.002;
    ns_http *h = make(&cfg);
    /* 32 open at a time; every completion submits the next */
    C.resubmit = n - 32;
    for (int i = 0; i < 32; i++) submit_one(NULL);
    size_t heap0 = 0, reqs0 = 0;
    double end = ns_http_now() + 240;
    while (ns_http_pending(h) > 0 && ns_http_now() < end) {
        ns_http_poll(h, 50);
        if (heap0 == 0 && C.total_done >= n / 10) {
            heap0 = heap_in_use();
            ns_http_memory(h, &reqs0, NULL);
        }
    }
    size_t heap1 = heap_in_use(), reqs1, handles;
    ns_http_memory(h, &reqs1, &handles);
    ns_endpoint_stats s;
    ns_http_endpoint_stats(h, 0, &s);
    CHECK(C.total_done == n, "memory run: %ld of %ld done", C.total_done, n);
    CHECK(s.retries > (uint64_t)n / 10, "memory run had %llu retries",
          (unsigned long long)s.retries);
    CHECK(reqs1 <= 33 && reqs1 == reqs0, "request structs: %zu after %ld, %zu at the end", reqs0,
          n / 10, reqs1);
    CHECK(handles <= 4, "easy handles %zu (cap 4)", handles);
    CHECK(heap1 < heap0 + 256 * 1024, "heap grew %zd bytes over %ld requests",
          (ssize_t)(heap1 - heap0), n);
    printf("memory: %ld requests, %llu retries, %zu request structs, heap %+zd bytes\n", n,
           (unsigned long long)s.retries, reqs1, (ssize_t)(heap1 - heap0));
    ns_http_destroy(h);
    mock_stop(&m);
}

static void test_classes(void)
{
    CHECK(ns_fault_from_http(200) == NS_FAULT_NONE, "200");
    CHECK(ns_fault_from_http(429) == NS_FAULT_RATE_LIMIT, "429");
    CHECK(ns_fault_from_http(408) == NS_FAULT_TIMEOUT && ns_fault_from_http(504) == NS_FAULT_TIMEOUT,
          "408/504");
    CHECK(ns_fault_from_http(529) == NS_FAULT_SERVER && ns_fault_from_http(502) == NS_FAULT_SERVER,
          "529/502");
    CHECK(ns_fault_from_http(401) == NS_FAULT_AUTHENTICATION, "401");
    CHECK(ns_fault_from_http(403) == NS_FAULT_PERMISSION, "403");
    CHECK(ns_fault_from_http(422) == NS_FAULT_VALIDATION, "422");
    CHECK(ns_fault_retryable(NS_FAULT_TIMEOUT) && !ns_fault_retryable(NS_FAULT_VALIDATION) &&
              !ns_fault_retryable(NS_FAULT_BUDGET),
          "retryable");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_classes();
    if (NS_MOCK_PATH[0] == '\0') {
        printf("test_http: no mock server built; HTTP cases skipped\n");
    } else {
        test_success();
        test_retry_after();
        test_transient_faults();
        test_permanent_faults();
        test_inflight_cap();
        test_rate_bucket();
        test_breaker();
        test_budget();
        test_memory();
        const char *env = getenv("NS_HTTP_TEST_N");
        test_throughput(env && atol(env) > 0 ? atol(env) : 20000);
    }
    curl_global_cleanup();
    return ns_test_report("test_http");
}
