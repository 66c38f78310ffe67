/*
 * ns_store.h - writing the HDF5 results file: metadata attributes and the
 * jobs, outcomes, rounds and transcripts tables (docs/hdf5-layout.md).
 *
 * The store is used by one thread only (the runner's writer). Tables are
 * chunked, deflate-compressed, extendible 1-D datasets of compound types;
 * strings are fixed-length, NUL-padded C strings so h5dump prints them and
 * h5py/pandas read them as bytes columns. Rows are buffered and written in
 * large slabs. The store does not make the file crash-safe by itself: the
 * runner writes into a scratch file and publishes it with rename(2) (see
 * ns_runner.c and docs/hdf5-layout.md).
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
/* Appends a block's rows (buffered). */
ns_status ns_store_append(ns_store *st, const ns_block *blk, ns_error *err);
/* Writes buffered rows and the progress attributes, then H5Fflush. */
ns_status ns_store_flush(ns_store *st, const ns_run_progress *p, ns_error *err);
/* Flushes and closes; the store is freed even on error. */
ns_status ns_store_close(ns_store *st, const ns_run_progress *p, ns_error *err);
/* Closes without writing anything more (error paths). NULL is a no-op. */
void ns_store_abandon(ns_store *st);

#endif
