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
    char ending[12];          /* "agreement", "walkaway", "impasse" */
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
} ns_block;

void ns_block_init(ns_block *b);
void ns_block_reset(ns_block *b, uint64_t first_index, uint64_t end_index);
void ns_block_free(ns_block *b);
/* Append space for one job (returns its index) / one turn; grows as needed. */
size_t ns_block_add_job(ns_block *b);
size_t ns_block_add_turn(ns_block *b);

/* Copies `src` into the fixed-size field `dst` of `size` bytes, NUL-padded
 * (so that identical inputs give identical bytes in the file). */
void ns_set_name(char *dst, size_t size, const char *src);
#define NS_SET(field, src) ns_set_name((field), sizeof(field), (src))

#endif
