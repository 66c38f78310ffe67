/*
 * ns_record.c - growth and reuse of result blocks. A worker keeps one block
 * and resets it per batch of jobs, so steady state allocates nothing.
 */
#include "ns_record.h"

#include <stdlib.h>
#include <string.h>

void ns_block_init(ns_block *b) { memset(b, 0, sizeof *b); }

void ns_block_reset(ns_block *b, uint64_t first_index, uint64_t end_index)
{
    b->first_index = first_index;
    b->end_index = end_index;
    b->n_jobs = 0;
    b->n_turns = 0;
}

void ns_block_free(ns_block *b)
{
    if (!b)
        return;
    free(b->jobs);
    free(b->outcomes);
    free(b->turns);
    free(b->texts);
    memset(b, 0, sizeof *b);
}

size_t ns_block_add_job(ns_block *b)
{
    if (b->n_jobs == b->cap_jobs) {
        b->cap_jobs = b->cap_jobs ? 2 * b->cap_jobs : 64;
        b->jobs = ns_xrealloc(b->jobs, b->cap_jobs * sizeof *b->jobs);
        b->outcomes = ns_xrealloc(b->outcomes, b->cap_jobs * sizeof *b->outcomes);
    }
    size_t k = b->n_jobs++;
    /* Zeroed rows: padding bytes and unused string tails must be
     * deterministic, because tables are compared byte for byte. */
    memset(&b->jobs[k], 0, sizeof b->jobs[k]);
    memset(&b->outcomes[k], 0, sizeof b->outcomes[k]);
    return k;
}

size_t ns_block_add_turn(ns_block *b)
{
    if (b->n_turns == b->cap_turns) {
        b->cap_turns = b->cap_turns ? 2 * b->cap_turns : 512;
        b->turns = ns_xrealloc(b->turns, b->cap_turns * sizeof *b->turns);
        b->texts = ns_xrealloc(b->texts, b->cap_turns * sizeof *b->texts);
    }
    size_t k = b->n_turns++;
    memset(&b->turns[k], 0, sizeof b->turns[k]);
    /* the text row is filled (and padded) by the message renderer */
    return k;
}

void ns_set_name(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    memset(dst + n, 0, size - n);
}
