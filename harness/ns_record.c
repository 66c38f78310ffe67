/*
 * ns_record.c - growth and reuse of result blocks. A worker keeps one block
 * and resets it per batch of jobs, so steady state allocates nothing.
 *
 * The LLM rows (llm_jobs, llm_turns) exist only in blocks with has_llm:
 * built-in runs neither allocate nor zero them. When allocated they always
 * have the capacity of jobs / turns (cap_jobs, cap_turns), so a block whose
 * owner sets has_llm after it has grown simply gets them at the next add.
 */
#include "ns_record.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void ns_block_init(ns_block *b) { memset(b, 0, sizeof *b); }

void ns_block_reset(ns_block *b, uint64_t first_index, uint64_t end_index)
{
    b->first_index = first_index;
    b->end_index = end_index;
    b->n_jobs = 0;
    b->n_turns = 0;
    b->arena_len = 0;
}

void ns_block_free(ns_block *b)
{
    if (!b)
        return;
    free(b->jobs);
    free(b->outcomes);
    free(b->turns);
    free(b->texts);
    free(b->llm_jobs);
    free(b->llm_turns);
    free(b->arena);
    memset(b, 0, sizeof *b);
}

/* Zero the LLM row k, allocating the LLM rows at the block's capacity on
 * first use (the owner may set has_llm after the block has grown). Out of
 * line and returning k, so that the built-in path pays one test and no
 * more (a tail call here). */
__attribute__((noinline)) static size_t zero_llm_job(ns_block *b, size_t k)
{
    if (!b->llm_jobs)
        b->llm_jobs = ns_xmalloc(b->cap_jobs * sizeof *b->llm_jobs);
    memset(&b->llm_jobs[k], 0, sizeof b->llm_jobs[k]);
    return k;
}

__attribute__((noinline)) static size_t zero_llm_turn(ns_block *b, size_t k)
{
    if (!b->llm_turns)
        b->llm_turns = ns_xmalloc(b->cap_turns * sizeof *b->llm_turns);
    memset(&b->llm_turns[k], 0, sizeof b->llm_turns[k]);
    return k;
}

/* Grows the job arrays to hold cap jobs. */
static void grow_jobs(ns_block *b, size_t cap)
{
    b->cap_jobs = cap;
    b->jobs = ns_xrealloc(b->jobs, cap * sizeof *b->jobs);
    b->outcomes = ns_xrealloc(b->outcomes, cap * sizeof *b->outcomes);
    if (b->llm_jobs)
        b->llm_jobs = ns_xrealloc(b->llm_jobs, cap * sizeof *b->llm_jobs);
}

/* Grows the turn arrays to hold cap turns. An LLM block keeps its texts
 * in the arena, so it has no texts[] rows. */
static void grow_turns(ns_block *b, size_t cap)
{
    b->cap_turns = cap;
    b->turns = ns_xrealloc(b->turns, cap * sizeof *b->turns);
    if (!b->has_llm)
        b->texts = ns_xrealloc(b->texts, cap * sizeof *b->texts);
    if (b->llm_turns)
        b->llm_turns = ns_xrealloc(b->llm_turns, cap * sizeof *b->llm_turns);
}

void ns_block_reserve(ns_block *b, size_t jobs, size_t turns, size_t text_bytes)
{
    if (jobs > b->cap_jobs)
        grow_jobs(b, jobs);
    if (turns > b->cap_turns)
        grow_turns(b, turns);
    if (text_bytes > b->arena_cap) {
        b->arena = ns_xrealloc(b->arena, text_bytes);
        b->arena_cap = text_bytes;
    }
}

size_t ns_block_add_job(ns_block *b)
{
    if (b->n_jobs == b->cap_jobs) {
        grow_jobs(b, b->cap_jobs ? 2 * b->cap_jobs : 64);
    }
    size_t k = b->n_jobs++;
    /* Zeroed rows: padding bytes and unused string tails must be
     * deterministic, because tables are compared byte for byte. */
    memset(&b->jobs[k], 0, sizeof b->jobs[k]);
    memset(&b->outcomes[k], 0, sizeof b->outcomes[k]);
    return b->has_llm ? zero_llm_job(b, k) : k;
}

size_t ns_block_add_turn(ns_block *b)
{
    if (b->n_turns == b->cap_turns)
        grow_turns(b, b->cap_turns ? 2 * b->cap_turns : 512);
    size_t k = b->n_turns++;
    memset(&b->turns[k], 0, sizeof b->turns[k]);
    /* the text row is filled (and padded) by the message renderer */
    return b->has_llm ? zero_llm_turn(b, k) : k;
}

void ns_block_append(ns_block *dst, const ns_block *src)
{
    assert(dst->has_llm && src->has_llm);
    uint32_t base = (uint32_t)dst->arena_len;
    if (src->arena_len)
        ns_block_add_text(dst, src->arena, src->arena_len);
    for (size_t k = 0; k < src->n_jobs; k++) {
        size_t j = ns_block_add_job(dst);
        dst->jobs[j] = src->jobs[k];
        dst->outcomes[j] = src->outcomes[k];
        dst->llm_jobs[j] = src->llm_jobs[k];
        for (int s = 0; s < 2; s++)
            dst->llm_jobs[j].summary_off[s] += base;
    }
    for (size_t k = 0; k < src->n_turns; k++) {
        size_t t = ns_block_add_turn(dst);
        dst->turns[t] = src->turns[k];
        dst->llm_turns[t] = src->llm_turns[k];
        dst->llm_turns[t].text_off += base;
    }
}

void ns_block_trim_arena(ns_block *b, size_t cap)
{
    if (b->arena_cap > cap && b->arena_len <= cap) {
        b->arena = ns_xrealloc(b->arena, cap ? cap : 1);
        b->arena_cap = cap;
    }
}

uint32_t ns_block_add_text(ns_block *b, const char *text, size_t len)
{
    /* offsets are uint32: a block holds a few hundred jobs' texts */
    assert(b->arena_len + len <= UINT32_MAX);
    if (b->arena_len + len > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 16384;
        while (cap < b->arena_len + len)
            cap *= 2;
        b->arena = ns_xrealloc(b->arena, cap);
        b->arena_cap = cap;
    }
    uint32_t off = (uint32_t)b->arena_len;
    if (len)
        memcpy(b->arena + off, text, len);
    b->arena_len += len;
    return off;
}

void ns_set_name(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    memset(dst + n, 0, size - n);
}
