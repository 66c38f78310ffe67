/*
 * ns_scan.h - streaming reads of a results file's row tables, shared by
 * `negsim analyze`, `negsim compare` and `negsim plot` (see ns_scan.c).
 */
#ifndef NS_SCAN_H
#define NS_SCAN_H

#include "ns_status.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Rows per hyperslab read: the buffers hold this many rows of each table. */
#define NS_SCAN_CHUNK_ROWS 65536

/* Called once per row pair, in row order; a non-zero status stops the scan
 * and is returned as is. */
typedef ns_status (*ns_scan_fn)(void *ctx, const void *job_row, const void *outcome_row,
                                ns_error *err);

/* Streams /jobs and /outcomes of the open results `file` (named `path` in
 * messages) in chunks of NS_SCAN_CHUNK_ROWS rows, read through the memory
 * compound types jobs_mtype / outcomes_mtype (rows of jobs_size /
 * outcomes_size bytes; each type's first member must be job_id, a uint64 at
 * offset 0). Checks both are 1-D tables with every member of their memory
 * type, that they have the same number of rows, and that row i of both
 * carries the same job_id; then hands each pair to fn. *n_rows (may be
 * NULL) gets the row count once both tables are open. */
ns_status ns_scan_jobs_outcomes(hid_t file, const char *path, hid_t jobs_mtype, size_t jobs_size,
                                hid_t outcomes_mtype, size_t outcomes_size, ns_scan_fn fn,
                                void *ctx, uint64_t *n_rows, ns_error *err);

/* Opens table `name` of `file`, checks it is a 1-D compound with every
 * member of `mtype` and puts its row count in *rows. *dset is set (>= 0)
 * when the table opened, even if a check then failed: the caller closes
 * it. */
ns_status ns_scan_open_table(hid_t file, const char *path, const char *name, hid_t mtype,
                             hid_t *dset, hsize_t *rows, ns_error *err);

/* Reads rows start..start+n-1 of the 1-D `dset` into dst through `mtype`;
 * an HDF5 status (< 0 on failure, HDF5 error stack left for ns_h5_fail). */
herr_t ns_scan_read_rows(hid_t dset, hid_t mtype, hsize_t start, hsize_t n, void *dst);

#endif
