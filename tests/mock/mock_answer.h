/*
 * mock_answer.h - the mock server's scripted answers: a JSON value that
 * follows (or, on request, deliberately breaks) the JSON schema a request
 * asked for. Pure functions over jansson; no I/O, no shared state.
 *
 * Three kinds of answer, chosen from the schema's top-level properties:
 *   move   "action" and "offer": {message, action, offer}; each issue in
 *          offer gets a value inside its minimum/maximum (number, integer)
 *          or from its enum; action is accept with probability
 *          accept_rate, walk_away with walk_rate, otherwise offer.
 *   judge  "buyer" and "seller": {buyer: {tactical_summary,
 *          influencing_effectiveness_score, tactic_effectiveness_score},
 *          seller: {...}}, scores integers 1..10 (or the schema's range).
 *   other  anything else, or no schema: {"message": "ok"}.
 * Every choice is drawn from a PRNG seeded with the caller's hash (of the
 * request body), so the same request always gets the same answer.
 */
#ifndef MOCK_ANSWER_H
#define MOCK_ANSWER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mock_answer_kind {
    MOCK_ANSWER_OTHER = 0,
    MOCK_ANSWER_MOVE,
    MOCK_ANSWER_JUDGE,
    MOCK_ANSWER_KIND_COUNT
} mock_answer_kind;

/* "other", "move", "judge" */
extern const char *const mock_answer_kind_names[MOCK_ANSWER_KIND_COUNT];

typedef struct mock_answer_opts {
    double accept_rate;   /* probability of action accept */
    double walk_rate;     /* probability of action walk_away */
    int break_schema;     /* 1: make the answer violate the schema */
} mock_answer_opts;

typedef struct mock_answer_info {
    mock_answer_kind kind;
    const char *action;   /* static string for a move ("offer", "accept",
                             "walk_away", or the broken one); NULL otherwise */
} mock_answer_info;

/* 64-bit FNV-1a of `len` bytes, mixed with `seed`. Test code: only needs
 * to spread similar request bodies apart, not to resist anyone. */
uint64_t mock_hash(const void *data, size_t len, uint64_t seed);

/* splitmix64 step: the next 64 random bits from *state, and a uniform
 * double in [0, 1). */
uint64_t mock_rng_next(uint64_t *state);
double mock_rng_uniform(uint64_t *state);

/* The answer for `schema` (may be NULL), as a new reference the caller
 * owns. `info` (may be NULL) says which kind was produced. */
json_t *mock_answer(const json_t *schema, uint64_t hash, const mock_answer_opts *opts,
                    mock_answer_info *info);

#endif
