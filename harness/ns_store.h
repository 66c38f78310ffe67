/*
 * ns_store.h - writing the HDF5 results file: metadata attributes and the
 * jobs, outcomes, rounds and transcripts tables (docs/hdf5-layout.md).
 *
 * The store is used by one thread at a time (the runner's writer; the
 * resume replay before it). Tables are chunked, deflate-compressed,
 * extendible 1-D datasets of compound types; strings are fixed-length,
 * NUL-terminated C strings so h5dump prints them and h5py/pandas read them
 * as bytes columns (runs with LLM agents add columns, and their
 * transcripts are wider and UTF-8). Rows are packed into chunk buffers
 * and written a whole chunk at a time; with ns_store_set_threads the
 * chunks are deflated on a pool of threads inside the store, while the
 * calling thread stays the only one that calls HDF5. The store does not make the file crash-safe by
 * itself: the runner writes into a scratch file and publishes it with
 * rename(2) (see ns_runner.c and docs/hdf5-layout.md).
 *
 * A failure (HDF5, zlib) loses rows, so it sticks: every later call
 * returns the first failure again, and only close or abandon remain.
 */
#ifndef NS_STORE_H
#define NS_STORE_H

#include <stdint.h>

#include "ns_record.h"
#include "ns_spec.h"
#include "ns_status.h"

typedef struct ns_store ns_store;

/* Run state written to the /run group's attributes. */
typedef struct ns_run_progress {
    const char *state;      /* "running", "interrupted", "complete" */
    uint64_t jobs_done;     /* jobs whose rows are in the tables */
    uint64_t next_index;    /* first grid index not yet done */
    uint64_t jobs_planned;  /* jobs in the grid after filters */
    int threads;
    double wall_seconds;    /* summed over sessions (resume adds) */
} ns_run_progress;

/* Creates a results file at `path` (truncating whatever is there) with the
 * spec's metadata, the per-scenario groups (issues, Pareto frontier, Nash
 * and Kalai-Smorodinsky points) and empty tables. */
ns_status ns_store_create(const char *path, const ns_spec *spec,
                          ns_store **out, ns_error *err);
/* The same with the LLM columns chosen by the caller: ns_store_create
 * passes ns_spec_has_llm(spec); tests pass 1 to write LLM tables for a
 * spec of built-in agents. With llm every block appended must have has_llm
 * (its llm_jobs, llm_turns and arena filled), without it none may
 * (NS_ERR_INTERNAL); /transcripts then takes its texts from the arena,
 * NS_LLM_TEXT_LEN wide (docs/hdf5-layout.md, "LLM columns"). */
ns_status ns_store_create_ex(const char *path, const ns_spec *spec, int llm,
                             ns_store **out, ns_error *err);
/* Deflates chunks on n threads of the store's own (more than 16 count as
 * 16; 0, the default: on the calling thread). Memory: one chunk buffer (about 1 MiB)
 * per table plus two per thread. May be called at any time; chunks in
 * flight are written first. */
ns_status ns_store_set_threads(ns_store *st, int n, ns_error *err);
/* Appends a block's rows (buffered). A block without texts (has_texts 0)
 * adds no /transcripts rows, and its texts are not read; in a store that
 * records transcripts such a block must have no turns (NS_ERR_INTERNAL).
 * Also writes the chunks the pool has finished, and reports a pool
 * failure. */
ns_status ns_store_append(ns_store *st, const ns_block *blk, ns_error *err);
/* Waits for the chunks in flight and writes them, writes each table's
 * partial chunk and the progress attributes, then H5Fflush. */
ns_status ns_store_flush(ns_store *st, const ns_run_progress *p, ns_error *err);
/* Flushes and closes; the store is freed even on error. */
ns_status ns_store_close(ns_store *st, const ns_run_progress *p, ns_error *err);
/* Closes without writing anything more (error paths). NULL is a no-op. */
void ns_store_abandon(ns_store *st);

/* What the store has done so far, for measurements and progress lines. */
typedef struct ns_store_stats {
    int threads;                   /* compression threads now */
    uint64_t chunks;               /* chunks written (a flushed partial chunk
                                      counts each time it is written) */
    uint64_t raw_bytes;            /* their uncompressed size */
    uint64_t stored_bytes;         /* their size in the file */
    double writer_deflate_seconds; /* CPU the calling thread spent deflating */
    double pool_deflate_seconds;   /* CPU the pool threads spent deflating */
    uint64_t waits;                /* times the writer waited for a buffer */
    int max_in_flight;             /* most chunks queued or deflating at once */
} ns_store_stats;

void ns_store_get_stats(const ns_store *st, ns_store_stats *out);

#endif
