/*
 * ns_http_load.c - load generator for the HTTP dispatcher (ns_http):
 * keeps OPEN requests submitted against URL (a mock server's chat
 * completions endpoint) with at most INFLIGHT on the wire, until N have
 * completed, and prints throughput and this process's CPU time:
 *
 *   requests/s 5123
 *   cpu-s/1000req 0.081
 *   fraction-of-limit 0.97      (with --limit R: requests/s over R)
 *   latency-s mean 0.2010 max 0.2300
 *   ok 20000 failed 0
 *
 * Usage: ns_http_load URL [--requests N] [--inflight K] [--open W]
 *                         [--limit R]
 * The mock runs in its own process, so the CPU figure is the dispatcher's
 * alone (plus libcurl and the kernel's share for this side of the socket).
 * Exit status 1 when any request failed.
 */
#include "ns_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const HEADERS[] = {"Content-Type: application/json",
                                      "Authorization: Bearer sk-load-test", NULL};
static const char BODY[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
    "buyer.\"},{\"role\":\"user\",\"content\":\"Make your opening offer.\"}]}";

typedef struct load {
    ns_http *h;
    const char *url;
    long to_submit, ok, failed;
    double latency_sum, latency_max;
} load;

static load L;

static int submit(void)
{
    ns_http_request rq = {.endpoint = 0, .url = L.url, .headers = HEADERS, .body = BODY,
                          .body_len = sizeof BODY - 1, .est_tokens = 50};
    ns_error err;
    if (ns_http_submit(L.h, &rq, &err) != NS_OK) {
        fprintf(stderr, "ns_http_load: %s\n", err.msg);
        return -1;
    }
    L.to_submit--;
    return 0;
}

static void on_done(void *user, const ns_http_result *res)
{
    (void)user;
    L.latency_sum += res->latency_s;
    if (res->latency_s > L.latency_max) L.latency_max = res->latency_s;
    if (res->fault == NS_FAULT_NONE && res->body_len > 0) L.ok++;
    else L.failed++;
    if (L.failed == 1 && res->fault != NS_FAULT_NONE) fprintf(stderr, "first failure: %s\n", res->message);
    if (L.to_submit > 0) submit();
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
    long n = 20000, inflight = 256, open = 0;
    double limit = 0;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: ns_http_load URL [--requests N] [--inflight K] [--open W] "
                        "[--limit R]\n");
        return 2;
    }
    L.url = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--requests") == 0) n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--inflight") == 0) inflight = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--open") == 0) open = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--limit") == 0) limit = atof(argv[i + 1]);
        else {
            fprintf(stderr, "ns_http_load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (open <= 0) open = 2 * inflight;
    if (n <= 0 || inflight <= 0) return 2;

    ns_error err;
    if (ns_http_create(on_done, 1, &L.h, &err) != NS_OK) {
        fprintf(stderr, "ns_http_load: %s\n", err.msg);
        return 1;
    }
    ns_endpoint_config cfg;
    ns_endpoint_config_init(&cfg);
    cfg.name = "load";
    cfg.max_inflight = (int)inflight;
    cfg.timeout_s = 30;
    if (ns_http_add_endpoint(L.h, &cfg, &err) < 0) {
        fprintf(stderr, "ns_http_load: %s\n", err.msg);
        ns_http_destroy(L.h);
        return 1;
    }
    L.to_submit = n;
    double t0 = ns_http_now(), c0 = cpu_s();
    for (long i = 0; i < open && L.to_submit > 0; i++)
        if (submit() != 0) break;
    while (ns_http_pending(L.h) > 0) ns_http_poll(L.h, 1000);
    double wall = ns_http_now() - t0, cpu = cpu_s() - c0;
    long done = L.ok + L.failed;
    printf("requests/s %.0f\n", done / wall);
    printf("cpu-s/1000req %.3f\n", cpu / done * 1000.0);
    if (limit > 0) printf("fraction-of-limit %.3f\n", done / wall / limit);
    printf("latency-s mean %.4f max %.4f\n", L.latency_sum / done, L.latency_max);
    printf("ok %ld failed %ld\n", L.ok, L.failed);
    ns_http_destroy(L.h);
    return L.failed != 0;
}
