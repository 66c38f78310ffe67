/*
 * mock_load.c - a load generator for the mock server: N POST requests of
 * one body, at most P in flight, over libcurl's multi interface with
 * keep-alive, doing no work per reply. It is the "bare libcurl" baseline
 * the LLM-path benchmark compares against, and measures the mock itself.
 *
 * Usage: mock_load URL BODY_FILE N P [HEADER]...
 * Prints one line:
 *   requests N ok N errors N wall_s X rps X cpu_s X
 * where ok counts HTTP 200 replies and cpu_s is this process's own CPU.
 * Exit status 0 when every request got a 200, 1 otherwise, 2 on usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static char *read_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)*len + 1);
    if (buf && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static CURL *new_easy(const char *url, const char *body, long len, struct curl_slist *hdrs)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
    return e;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fputs("usage: mock_load URL BODY_FILE N P [HEADER]...\n", stderr);
        return 2;
    }
    long len = 0, n = atol(argv[3]), p = atol(argv[4]);
    char *body = read_file(argv[2], &len);
    if (!body || n < 1 || p < 1) {
        fputs("mock_load: bad body file, N or P\n", stderr);
        free(body);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    for (int i = 5; i < argc; i++)
        hdrs = curl_slist_append(hdrs, argv[i]);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, p);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, p);

    long started = 0, done = 0, ok = 0;
    double t0 = now_s(), c0 = cpu_s();
    /* Easy handles are reused, so each keeps its connection warm. */
    CURL **pool = calloc((size_t)p, sizeof *pool);
    for (long i = 0; i < p && started < n; i++, started++) {
        pool[i] = new_easy(argv[1], body, len, hdrs);
        curl_multi_add_handle(m, pool[i]);
    }
    while (done < n) {
        int running, q;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            ok += msg->data.result == CURLE_OK && code == 200;
            done++;
            curl_multi_remove_handle(m, e);
            if (started < n) {
                started++;
                curl_multi_add_handle(m, e);
            }
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("requests %ld ok %ld errors %ld wall_s %.3f rps %.0f cpu_s %.3f\n", n, ok, n - ok,
           wall, (double)n / wall, cpu);
    for (long i = 0; i < p; i++)
        if (pool[i])
            curl_easy_cleanup(pool[i]);
    free(pool);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    free(body);
    return ok == n ? 0 : 1;
}
