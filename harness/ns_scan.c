/*
 * ns_scan.c - the one streaming reader of a results file's /jobs and
 * /outcomes tables (see ns_scan.h), used by analyze, compare and plot.
 *
 * Owns: opening and checking a row table (1-D compound holding every
 * column the caller's memory type names), reading a hyperslab of rows, and
 * the paired walk over /jobs and /outcomes.
 *
 * How: each caller builds a memory compound type holding only the columns
 * it uses (HDF5 converts by member name, so the file's extra columns and
 * its column order do not matter). The two tables are read together in
 * hyperslabs of NS_SCAN_CHUNK_ROWS rows into two buffers, so memory does
 * not grow with the number of jobs; row i of both must carry the same
 * job_id (the first member, uint64 at offset 0, of both memory types),
 * and each pair is handed to the caller's function in row order.
 */
#include "ns_scan.h"
#include "ns_h5.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

ns_status ns_scan_open_table(hid_t file, const char *path, const char *name, hid_t mtype,
                             hid_t *dset, hsize_t *rows, ns_error *err)
{
    *dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (*dset < 0)
        return ns_h5_fail(err, NS_ERR_CORRUPT, "%s: no table /%s", path, name);
    hid_t ft = H5Dget_type(*dset), sp = H5Dget_space(*dset);
    ns_status st = NS_OK;
    if (H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(sp) != 1) {
        st = ns_fail(err, NS_ERR_CORRUPT, "%s: /%s is not a table of rows", path, name);
    } else {
        H5Sget_simple_extent_dims(sp, rows, NULL);
        int nm = H5Tget_nmembers(mtype);
        for (int i = 0; !st && i < nm; i++) {
            char *m = H5Tget_member_name(mtype, (unsigned)i);
            if (H5Tget_member_index(ft, m) < 0)
                st = ns_fail(err, NS_ERR_CORRUPT, "%s: /%s has no column %s", path, name, m);
            H5free_memory(m);
        }
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

herr_t ns_scan_read_rows(hid_t dset, hid_t mtype, hsize_t start, hsize_t n, void *dst)
{
    hid_t fs = H5Dget_space(dset), ms = H5Screate_simple(1, &n, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL);
    if (rc >= 0)
        rc = H5Dread(dset, mtype, ms, fs, H5P_DEFAULT, dst);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc;
}

ns_status ns_scan_jobs_outcomes(hid_t file, const char *path, hid_t jobs_mtype, size_t jobs_size,
                                hid_t outcomes_mtype, size_t outcomes_size, ns_scan_fn fn,
                                void *ctx, uint64_t *n_rows, ns_error *err)
{
    hid_t jd = -1, od = -1;
    hsize_t jn = 0, on = 0;
    unsigned char *jb = NULL, *ob = NULL;
    if (n_rows)
        *n_rows = 0;
    ns_status st = ns_scan_open_table(file, path, "jobs", jobs_mtype, &jd, &jn, err);
    if (!st)
        st = ns_scan_open_table(file, path, "outcomes", outcomes_mtype, &od, &on, err);
    if (!st && jn != on)
        st = ns_fail(err, NS_ERR_CORRUPT, "%s: /jobs has %llu rows, /outcomes %llu", path,
                     (unsigned long long)jn, (unsigned long long)on);
    if (!st) {
        if (n_rows)
            *n_rows = jn;
        jb = ns_xmalloc(NS_SCAN_CHUNK_ROWS * jobs_size);
        ob = ns_xmalloc(NS_SCAN_CHUNK_ROWS * outcomes_size);
    }
    for (hsize_t start = 0; !st && start < jn; start += NS_SCAN_CHUNK_ROWS) {
        hsize_t n = jn - start < NS_SCAN_CHUNK_ROWS ? jn - start : NS_SCAN_CHUNK_ROWS;
        memset(jb, 0, (size_t)n * jobs_size); /* no stale bytes from the last chunk */
        memset(ob, 0, (size_t)n * outcomes_size);
        if (ns_scan_read_rows(jd, jobs_mtype, start, n, jb) < 0 ||
            ns_scan_read_rows(od, outcomes_mtype, start, n, ob) < 0) {
            st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot read /jobs and /outcomes rows "
                            "%llu..%llu", path, (unsigned long long)start,
                            (unsigned long long)(start + n));
            break;
        }
        for (hsize_t i = 0; !st && i < n; i++) {
            const void *jr = jb + i * jobs_size, *orow = ob + i * outcomes_size;
            uint64_t jid, oid;
            memcpy(&jid, jr, sizeof jid);
            memcpy(&oid, orow, sizeof oid);
            if (jid != oid)
                st = ns_fail(err, NS_ERR_CORRUPT, "%s: row %llu is job %" PRIu64 " in /jobs "
                             "but job %" PRIu64 " in /outcomes", path,
                             (unsigned long long)(start + i), jid, oid);
            else
                st = fn(ctx, jr, orow, err);
        }
    }
    free(jb);
    free(ob);
    if (jd >= 0)
        H5Dclose(jd);
    if (od >= 0)
        H5Dclose(od);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
