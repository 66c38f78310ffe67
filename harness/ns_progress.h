/*
 * ns_progress.h - progress reporting on stderr: a redrawn bar with rate and
 * ETA when stderr is a terminal, plain periodic lines when it is not, and
 * nothing at all when quiet. Results never go to stderr, and progress never
 * goes to stdout, so the two can be piped apart.
 */
#ifndef NS_PROGRESS_H
#define NS_PROGRESS_H

#include <stdint.h>

typedef struct ns_progress ns_progress;

/* total: jobs expected in this session; done0: jobs already done before. */
ns_progress *ns_progress_create(uint64_t total, int quiet);
/* Reports `done` jobs finished this session; redraws at most ~10 times/s
 * on a terminal and every 5 s otherwise. */
void ns_progress_update(ns_progress *p, uint64_t done);
/* Text shown after the rate and ETA from the next redraw on (what a
 * throttled LLM run is waiting for); "" or NULL clears it. */
void ns_progress_set_note(ns_progress *p, const char *note);
/* Final redraw and newline. Frees p (NULL is a no-op). */
void ns_progress_finish(ns_progress *p, uint64_t done);

/* Seconds on a monotonic clock. */
double ns_now(void);

#endif
