/*
 * ns_record.h - the rows negsim records for each job, and the block: the
 * unit of work handed from a worker thread to the writer, the journal and
 * the HDF5 store.
 *
 * Rows are plain C structs with fixed-size, NUL-padded strings so that
 * they map one to one onto HDF5 compound types (see ns_store.c and
 * docs/hdf5-layout.md). Issue values use NS_MAX_ISSUES slots; the store
 * writes only the first K (the largest issue count among the run's
 * scenarios) as columns v0..v{K-1}; unused slots hold NAN.
 *
 * A block covers a contiguous range [first_index, end_index) of grid
 * indices; jobs removed by the spec's filters simply have no rows. Turn and
 * transcript rows are parallel arrays (transcript k belongs to turn k) and
 * are ordered by job, then turn.
 */
#ifndef NS_RECORD_H
#define NS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ns_catalog.h"
#include "ns_scenario.h"

#define NS_TEXT_LEN 256 /* transcript message, NUL-padded */
#define NS_MODEL_LEN 64 /* "provider:model" */
/* /transcripts text column width (bytes, NUL included) in runs with an
 * LLM agent or judge; longer texts are cut at a UTF-8 boundary there and
 * flagged (text_truncated), while the journal keeps them whole. */
#define NS_LLM_TEXT_LEN 8192
#define NS_LLM_SUMMARY_LEN 2048 /* judge summary columns, same rule */

typedef struct ns_job_row {
    uint64_t job_id;          /* grid index: stable across runs of a spec */
    uint64_t seed;            /* the job's RNG seed, from (master seed, id) */
    uint32_t repetition;
    int32_t scenario_index;
    char scenario[NS_NAME_LEN];
    char opener[8];           /* "buyer" or "seller" */
    char agent[2][NS_NAME_LEN];        /* agent kind per side */
    char personality[2][NS_NAME_LEN];  /* axis level label (docs/sweep-spec.md) */
    double trait[2][NS_N_TRAITS];
    char tactic[2][NS_NAME_LEN];
    char influence[2][NS_NAME_LEN];
} ns_job_row;

typedef struct ns_outcome_row {
    uint64_t job_id;
    int8_t deal;              /* 1 when agreed */
    char ending[16];          /* "agreement", "walkaway", "impasse",
                                 "invalid_output", "error" */
    char closed_by[8];        /* side that accepted or walked; "" on impasse */
    int32_t rounds;           /* rounds started (a round = one turn per side) */
    int32_t turns;            /* messages exchanged */
    double value[NS_MAX_ISSUES];  /* agreed values; NAN without a deal */
    double utility[2];        /* each side's utility (0 without a deal) */
    double joint_utility;     /* utility[0] + utility[1] */
    double nash_product;      /* utility[0] * utility[1] */
    double pareto_distance;   /* to the nearest frontier point; NAN w/o deal */
    double nash_distance;     /* to the Nash point; NAN without a deal */
    double surplus_share[2];  /* utility[s] / joint; NAN without a deal */
} ns_outcome_row;

typedef struct ns_turn_row {
    uint64_t job_id;
    int32_t round;            /* 1-based */
    int32_t turn;             /* 0-based message index within the job */
    char speaker[8];          /* "buyer" / "seller" */
    char action[8];           /* "offer", "accept", "walk" */
    double value[NS_MAX_ISSUES];  /* offer (for accept: the accepted offer) */
    double utility[2];        /* each side's utility of those values */
} ns_turn_row;

typedef struct ns_transcript_row {
    uint64_t job_id;
    int32_t turn;
    char speaker[8];
    char text[NS_TEXT_LEN];
} ns_transcript_row;

/* Per-job LLM accounting, parallel to jobs/outcomes when the block has_llm.
 * Index 0 buyer, 1 seller, 2 judge. The store writes the model[] columns
 * into /jobs (buyer_model, seller_model, judge_model) and the rest into
 * /outcomes (docs/hdf5-layout.md, "LLM columns"). */
typedef struct ns_llm_job_row {
    char model[3][NS_MODEL_LEN];   /* "" for a built-in side / no judge */
    double cost_usd;               /* all calls of the job, judge included */
    double side_cost_usd[3];       /* buyer_cost_usd, seller_cost_usd, judge_cost_usd */
    int64_t input_tokens, output_tokens;
    int32_t requests;              /* model calls answered (cache hits included) */
    int32_t cache_hits;
    int32_t retries;               /* HTTP retries over all calls */
    int32_t repairs;               /* repair requests after an invalid reply */
    int32_t invalid_outputs;       /* replies still invalid after repair */
    double latency_ms;             /* mean per answered call; NAN when none */
    char error[16];                /* fault class that ended the job, or "" */
    char error_message[256];       /* provider's message, never a key */
    double influencing_score[2];   /* judge, 1..10 per side; NAN without */
    double tactic_score[2];
    uint32_t summary_off[2], summary_len[2]; /* judge tactical summaries in
                                                the block's arena */
} ns_llm_job_row;

/* Per-turn LLM detail, parallel to turns when the block has_llm. Built-in
 * turns in a mixed run have model "" and zeros. */
typedef struct ns_llm_turn_row {
    char model[NS_MODEL_LEN];      /* the model that answered (fallbacks!) */
    int32_t input_tokens, output_tokens;
    double latency_ms;             /* of the answering call; 0 for a cache hit */
    double cost_usd;
    int8_t cached;                 /* 1: answer came from the response cache */
    int8_t attempts;               /* HTTP attempts of the answering call */
    int8_t repaired;               /* 1: answered after a repair request */
    uint32_t text_off, text_len;   /* the turn's message text in the block's
                                      arena (every turn of a has_llm block,
                                      built-in ones included: the texts[]
                                      rows are not used in such blocks) */
} ns_llm_turn_row;

typedef struct ns_block {
    uint64_t first_index, end_index; /* grid indices covered */
    size_t n_jobs, cap_jobs;
    ns_job_row *jobs;
    ns_outcome_row *outcomes;        /* parallel to jobs */
    size_t n_turns, cap_turns;
    ns_turn_row *turns;
    ns_transcript_row *texts;        /* parallel to turns when has_texts */
    int has_texts;                   /* texts are filled (spec transcripts on);
                                        set by the block's owner, kept by reset */
    int has_llm;                     /* llm_jobs / llm_turns are filled (spec
                                        with an LLM agent or judge); like has_texts */
    ns_llm_job_row *llm_jobs;        /* parallel to jobs when has_llm */
    ns_llm_turn_row *llm_turns;      /* parallel to turns when has_llm */
    char *arena;                     /* texts referenced by offset (LLM
                                        message texts, judge summaries) */
    size_t arena_len, arena_cap;
} ns_block;

void ns_block_init(ns_block *b);
void ns_block_reset(ns_block *b, uint64_t first_index, uint64_t end_index);
void ns_block_free(ns_block *b);
/* Append space for one job (returns its index) / one turn; grows as needed. */
size_t ns_block_add_job(ns_block *b);
size_t ns_block_add_turn(ns_block *b);

/* Makes room for at least this many jobs, turns and arena bytes at once
 * (a block for one negotiation needs far less than the defaults). */
void ns_block_reserve(ns_block *b, size_t jobs, size_t turns, size_t text_bytes);
/* Appends every row of LLM block src to LLM block dst in order, moving
 * src's arena texts over and shifting their offsets (texts of LLM blocks
 * live in the arena, so no texts[] rows are copied). */
void ns_block_append(ns_block *dst, const ns_block *src);
/* Gives back arena memory beyond cap bytes when what it holds fits (a
 * reused block that once held an unusually long text). */
void ns_block_trim_arena(ns_block *b, size_t cap);
/* Appends len bytes of text to the block's arena (no NUL); returns its
 * offset. Grows as needed; reset empties it. */
uint32_t ns_block_add_text(ns_block *b, const char *text, size_t len);

/* Copies `src` into the fixed-size field `dst` of `size` bytes, NUL-padded
 * (so that identical inputs give identical bytes in the file). */
void ns_set_name(char *dst, size_t size, const char *src);
#define NS_SET(field, src) ns_set_name((field), sizeof(field), (src))

#endif
