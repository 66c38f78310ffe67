/*
 * ns_progress.c - the progress bar. Rate is measured over the whole
 * session (jobs/s since start), which is steady for uniform sweeps and
 * honest for mixed ones; the ETA follows from it.
 */
#include "ns_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ns_status.h"

struct ns_progress {
    uint64_t total;
    int quiet, tty;
    double start, last;
    char note[192];
};

double ns_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

ns_progress *ns_progress_create(uint64_t total, int quiet)
{
    ns_progress *p = ns_xcalloc(1, sizeof *p);
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    p->start = p->last = ns_now();
    return p;
}

static void format_duration(double s, char *buf, size_t size)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, size, "--:--");
    else if (s >= 3600)
        snprintf(buf, size, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(buf, size, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void draw(ns_progress *p, uint64_t done, double now, int final)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double frac = p->total ? (double)done / (double)p->total : 1;
    char eta[16];
    format_duration(rate > 0 ? (double)(p->total - done) / rate : -1, eta, sizeof eta);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %5.1f%% %llu/%llu  %.1f jobs/s  ETA %s%s%s \033[K%s", bar,
                100 * frac, (unsigned long long)done, (unsigned long long)p->total, rate,
                eta, p->note[0] ? "  " : "", p->note, final ? "\n" : "");
    } else {
        fprintf(stderr, "negsim: %llu/%llu jobs (%.1f%%), %.1f jobs/s, ETA %s%s%s\n",
                (unsigned long long)done, (unsigned long long)p->total, 100 * frac, rate,
                eta, p->note[0] ? "; " : "", p->note);
    }
    fflush(stderr);
}

void ns_progress_set_note(ns_progress *p, const char *note)
{
    snprintf(p->note, sizeof p->note, "%s", note ? note : "");
}

void ns_progress_update(ns_progress *p, uint64_t done)
{
    if (p->quiet)
        return;
    double now = ns_now();
    if (now - p->last < (p->tty ? 0.1 : 5.0))
        return;
    p->last = now;
    draw(p, done, now, 0);
}

void ns_progress_finish(ns_progress *p, uint64_t done)
{
    if (!p)
        return;
    /* A terminal gets its bar completed; a log only needs the summary. */
    if (!p->quiet && p->tty)
        draw(p, done, ns_now(), 1);
    free(p);
}
