/*
 * ns_store.c - the HDF5 results file, writer side: root metadata, the
 * /run progress group, one group per scenario (issues, Pareto frontier,
 * Nash and Kalai-Smorodinsky points) and the four row tables /jobs,
 * /outcomes, /rounds and /transcripts (docs/hdf5-layout.md).
 *
 * Tables. Each table is a 1-D, chunked, extendible dataset of a compound
 * type whose members mirror the C row structs of ns_record.h, flattened to
 * scalar columns; only the K = ns_spec_max_issues value columns in use are
 * stored (v0..v{K-1}). The file type is the member list packed without
 * padding; strings are fixed-size, NUL-padded, exactly the C field sizes.
 *
 * Writing. The writer thread must keep up with the workers, so rows take
 * the shortest path to disk: each table has one chunk-sized buffer in the
 * file's packed layout; appending a row is a few memcpy()s (runs of bytes
 * contiguous in both layouts, worked out once from the two types), and a
 * full chunk is deflated here with a zlib stream kept across chunks and
 * stored with H5Dwrite_chunk. That is exactly what HDF5's deflate filter
 * would store, without its type conversion, gather/scatter copies and
 * per-call buffers (which cost more than the compression itself). The
 * buffer always starts at a chunk boundary: a flush writes the partial
 * chunk zero-filled to full size (as HDF5 stores edge chunks) but keeps its
 * rows, and the chunk is written again whole when full. Memory is one chunk
 * per table whatever the number of jobs.
 *
 * Compression, by measurement (docs/hdf5-layout.md, "Performance"): zlib
 * level 1 costs about 1 us per job on /jobs and /outcomes for a 20x
 * smaller table, so they are deflated; on /rounds and /transcripts it
 * costs 0.5-0.8 us per row, more than the engine spends on a negotiation,
 * so those are stored as they are (`h5repack -f GZIP=1` shrinks a finished
 * file about 20x).
 *
 * Crash safety is not this module's job: the runner writes a scratch file
 * and publishes it with rename(2), and the journal holds every committed
 * block (ns_runner.c, docs/hdf5-layout.md "Crash safety and resume").
 *
 * HDF5 errors: automatic error printing is switched off on entry to every
 * public function (error stacks are per thread in HDF5's thread-safe build,
 * and the runner calls the store from two threads, one at a time), and a
 * failure is returned as NS_ERR_HDF5 with the innermost HDF5 message.
 */
#include "ns_store.h"

#include <assert.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <jansson.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "ns_catalog.h"
#include "ns_config.h"
#include "ns_frontier.h"

#define NS_STORE_FORMAT 1
/* Uncompressed bytes per chunk (packed rows): large enough that per-chunk
 * costs vanish, small enough that `show` inflates little to find a job. */
#define CHUNK_BYTES (1u << 20)
#define MAX_RUNS 48

/* Offset of element i of array member f of struct T. */
#define ELEM_OFF(T, f, i) (offsetof(T, f) + (size_t)(i) * sizeof(((T *)0)->f[0]))
#define FIELD_SIZE(T, f) sizeof(((T *)0)->f)

enum { T_JOBS, T_OUTCOMES, T_ROUNDS, T_TEXTS, N_TABLES };

/* Deflate level of each table, 0 for none (measured; see the comment at
 * the top and docs/hdf5-layout.md, "Performance"). */
static const int table_level[N_TABLES] = {1, 1, 0, 0};

/* Bytes contiguous both in the C row struct and in the packed file row:
 * packing a row is one memcpy per run. */
typedef struct copy_run {
    size_t mem, file, len;
} copy_run;

typedef struct table {
    const char *name;
    hid_t dset;
    size_t row_size;      /* sizeof the C row struct */
    size_t file_row;      /* bytes of a packed row in the file */
    int n_runs;
    copy_run runs[MAX_RUNS];
    size_t text_off;      /* transcripts: file offset of `text`; else 0 */
    int level;            /* deflate level, 0 = stored as is */
    z_stream z;           /* kept across chunks: no zlib set-up per chunk */
    int z_ready;
    size_t chunk_rows;
    hsize_t base;         /* file row of chunk[0]; a multiple of chunk_rows */
    hsize_t written;      /* rows in the file (the dataset's extent) */
    unsigned char *chunk; /* packed rows [base, base + n) */
    size_t n;
} table;

struct ns_store {
    hid_t file;
    char *path;
    int transcripts;      /* write texts? (ns_spec_transcripts) */
    int have_last;
    uint64_t last_job;    /* highest job id appended: ids must ascend */
    unsigned char *zbuf;  /* one compressed chunk */
    size_t zbuf_size;
    table t[N_TABLES];
};

/* ---- HDF5 error translation -------------------------------------------- */

static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf(data, 256, "%s", e->desc);
    return 0;
}

/* NS_ERR_HDF5 with `fmt` and the innermost message on HDF5's error stack. */
static ns_status h5_fail(ns_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ns_status h5_fail(ns_error *err, const char *fmt, ...)
{
    char what[512], detail[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0])
        return ns_fail(err, NS_ERR_HDF5, "%s: %s", what, detail);
    return ns_fail(err, NS_ERR_HDF5, "%s", what);
}

/* ---- attributes -------------------------------------------------------- */

/* Writes attribute `name` (creating it, or replacing a same-typed one). */
static herr_t attr_write(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t space = H5Screate(H5S_SCALAR), a;
    if (H5Aexists(loc, name) > 0)
        a = H5Aopen(loc, name, H5P_DEFAULT);
    else
        a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc;
}

/* Strings are variable-length UTF-8: texts such as the spec or the
 * catalogues can exceed the 64 KiB an attribute may hold inline, and h5py
 * returns them as str. */
static herr_t attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *v = s ? s : "";
    herr_t rc = attr_write(loc, name, t, &v);
    H5Tclose(t);
    return rc;
}

static herr_t attr_u64(hid_t loc, const char *name, uint64_t v)
{
    return attr_write(loc, name, H5T_NATIVE_UINT64, &v);
}

static herr_t attr_int(hid_t loc, const char *name, int v)
{
    return attr_write(loc, name, H5T_NATIVE_INT, &v);
}

static herr_t attr_f64(hid_t loc, const char *name, double v)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, &v);
}

/* ---- compound types ---------------------------------------------------- */

static void add_num(hid_t ct, const char *name, size_t off, hid_t type)
{
    H5Tinsert(ct, name, off, type);
}

static void add_str(hid_t ct, const char *name, size_t off, size_t size)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, size);
    H5Tset_strpad(s, H5T_STR_NULLPAD);
    H5Tinsert(ct, name, off, s);
    H5Tclose(s);
}

/* Members v0..v{k-1} for a value[] array starting at `off`. */
static void add_values(hid_t ct, size_t off, int k)
{
    for (int i = 0; i < k; i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        add_num(ct, name, off + (size_t)i * sizeof(double), H5T_NATIVE_DOUBLE);
    }
}

static hid_t job_type(void)
{
    typedef ns_job_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "seed", offsetof(R, seed), H5T_NATIVE_UINT64);
    add_num(t, "repetition", offsetof(R, repetition), H5T_NATIVE_UINT32);
    add_num(t, "scenario_index", offsetof(R, scenario_index), H5T_NATIVE_INT32);
    add_str(t, "scenario", offsetof(R, scenario), FIELD_SIZE(R, scenario));
    add_str(t, "opener", offsetof(R, opener), FIELD_SIZE(R, opener));
    char name[64];
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_agent", ns_side_names[s]);
        add_str(t, name, ELEM_OFF(R, agent, s), NS_NAME_LEN);
    }
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_personality", ns_side_names[s]);
        add_str(t, name, ELEM_OFF(R, personality, s), NS_NAME_LEN);
    }
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < NS_N_TRAITS; k++) {
            snprintf(name, sizeof name, "%s_%s", ns_side_names[s], ns_trait_names[k]);
            add_num(t, name, ELEM_OFF(R, trait, s) + (size_t)k * sizeof(double),
                    H5T_NATIVE_DOUBLE);
        }
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_tactic", ns_side_names[s]);
        add_str(t, name, ELEM_OFF(R, tactic, s), NS_NAME_LEN);
        snprintf(name, sizeof name, "%s_influence", ns_side_names[s]);
        add_str(t, name, ELEM_OFF(R, influence, s), NS_NAME_LEN);
    }
    return t;
}

static hid_t outcome_type(int k)
{
    typedef ns_outcome_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "deal", offsetof(R, deal), H5T_NATIVE_INT8);
    add_str(t, "ending", offsetof(R, ending), FIELD_SIZE(R, ending));
    add_str(t, "closed_by", offsetof(R, closed_by), FIELD_SIZE(R, closed_by));
    add_num(t, "rounds", offsetof(R, rounds), H5T_NATIVE_INT32);
    add_num(t, "turns", offsetof(R, turns), H5T_NATIVE_INT32);
    add_values(t, offsetof(R, value), k);
    add_num(t, "u_buyer", ELEM_OFF(R, utility, 0), H5T_NATIVE_DOUBLE);
    add_num(t, "u_seller", ELEM_OFF(R, utility, 1), H5T_NATIVE_DOUBLE);
    add_num(t, "joint_utility", offsetof(R, joint_utility), H5T_NATIVE_DOUBLE);
    add_num(t, "nash_product", offsetof(R, nash_product), H5T_NATIVE_DOUBLE);
    add_num(t, "pareto_distance", offsetof(R, pareto_distance), H5T_NATIVE_DOUBLE);
    add_num(t, "nash_distance", offsetof(R, nash_distance), H5T_NATIVE_DOUBLE);
    add_num(t, "surplus_share_buyer", ELEM_OFF(R, surplus_share, 0), H5T_NATIVE_DOUBLE);
    add_num(t, "surplus_share_seller", ELEM_OFF(R, surplus_share, 1), H5T_NATIVE_DOUBLE);
    return t;
}

static hid_t turn_type(int k)
{
    typedef ns_turn_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "round", offsetof(R, round), H5T_NATIVE_INT32);
    add_num(t, "turn", offsetof(R, turn), H5T_NATIVE_INT32);
    add_str(t, "speaker", offsetof(R, speaker), FIELD_SIZE(R, speaker));
    add_str(t, "action", offsetof(R, action), FIELD_SIZE(R, action));
    add_values(t, offsetof(R, value), k);
    add_num(t, "u_buyer", ELEM_OFF(R, utility, 0), H5T_NATIVE_DOUBLE);
    add_num(t, "u_seller", ELEM_OFF(R, utility, 1), H5T_NATIVE_DOUBLE);
    return t;
}

static hid_t text_type(void)
{
    typedef ns_transcript_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "turn", offsetof(R, turn), H5T_NATIVE_INT32);
    add_str(t, "speaker", offsetof(R, speaker), FIELD_SIZE(R, speaker));
    add_str(t, "text", offsetof(R, text), FIELD_SIZE(R, text));
    return t;
}

/* ---- tables ------------------------------------------------------------ */

/* Rows per chunk: CHUNK_BYTES of packed rows, rounded down to a power of
 * two, at least 4096. */
static size_t chunk_rows_for(size_t file_row)
{
    size_t rows = 4096;
    while (rows < 65536 && (rows * 2) * file_row <= CHUNK_BYTES)
        rows *= 2;
    return rows;
}

/* The file type: the memory type's members in the same order, packed
 * without padding (what H5Tpack gives, built explicitly so that the file
 * offsets are known here). Also records the copy runs between the two. */
static hid_t file_type(table *t, hid_t mtype)
{
    int n = H5Tget_nmembers(mtype);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        hid_t m = H5Tget_member_type(mtype, (unsigned)i);
        off += H5Tget_size(m);
        H5Tclose(m);
    }
    hid_t ft = H5Tcreate(H5T_COMPOUND, off);
    off = 0;
    t->n_runs = 0;
    for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(mtype, (unsigned)i);
        hid_t m = H5Tget_member_type(mtype, (unsigned)i);
        size_t len = H5Tget_size(m), mem = H5Tget_member_offset(mtype, (unsigned)i);
        H5Tinsert(ft, name, off, m);
        copy_run *last = t->n_runs ? &t->runs[t->n_runs - 1] : NULL;
        if (last && last->mem + last->len == mem && last->file + last->len == off) {
            last->len += len;
        } else {
            assert(t->n_runs < MAX_RUNS); /* a row has at most 32 columns */
            t->runs[t->n_runs++] = (copy_run){mem, off, len};
        }
        if (strcmp(name, "text") == 0)
            t->text_off = off;
        off += len;
        H5Tclose(m);
        H5free_memory(name);
    }
    t->file_row = off;
    return ft;
}

static ns_status table_create(ns_store *st, table *t, int which, const char *name,
                              hid_t mtype, size_t row_size, ns_error *err)
{
    t->name = name;
    t->row_size = row_size;
    t->level = table_level[which];
    t->dset = -1;
    hid_t ftype = file_type(t, mtype);
    H5Tclose(mtype);
    t->chunk_rows = chunk_rows_for(t->file_row);
    hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk = t->chunk_rows;
    hid_t space = H5Screate_simple(1, &dims, &maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    if (t->level > 0)
        H5Pset_deflate(dcpl, (unsigned)t->level);
    t->dset = H5Dcreate2(st->file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(ftype);
    if (t->dset < 0)
        return h5_fail(err, "%s: cannot create table /%s", st->path, name);
    size_t bytes = t->chunk_rows * t->file_row;
    t->chunk = ns_xcalloc(1, bytes);
    if (t->level > 0) {
        if (deflateInit(&t->z, t->level) != Z_OK)
            return ns_fail(err, NS_ERR_NOMEM, "cannot set up zlib for /%s", name);
        t->z_ready = 1;
        size_t bound = deflateBound(&t->z, bytes);
        if (bound > st->zbuf_size) {
            st->zbuf = ns_xrealloc(st->zbuf, bound);
            st->zbuf_size = bound;
        }
    }
    return NS_OK;
}

/* Deflates the chunk into st->zbuf; returns the compressed size, or 0 when
 * compressing does not pay (the chunk is then stored as is). */
static size_t deflate_chunk(ns_store *st, table *t, size_t bytes)
{
    if (deflateReset(&t->z) != Z_OK)
        return 0;
    t->z.next_in = t->chunk;
    t->z.avail_in = (uInt)bytes;
    t->z.next_out = st->zbuf;
    t->z.avail_out = (uInt)st->zbuf_size;
    if (deflate(&t->z, Z_FINISH) != Z_STREAM_END || t->z.total_out >= bytes)
        return 0;
    return (size_t)t->z.total_out;
}

/* Writes the chunk holding rows [base, base + n) with H5Dwrite_chunk: the
 * store packs and deflates rows itself (exactly what HDF5's deflate filter
 * would store), which skips HDF5's type conversion and copies. A partial
 * chunk (a flush) is written zero-filled to full size, as HDF5 stores edge
 * chunks; its rows stay buffered and the chunk is rewritten when full. */
static ns_status table_write(ns_store *st, table *t, ns_error *err)
{
    hsize_t end = t->base + t->n;
    if (t->n == 0 || end == t->written)
        return NS_OK; /* nothing new since the last write */
    size_t bytes = t->chunk_rows * t->file_row, used = t->n * t->file_row;
    memset(t->chunk + used, 0, bytes - used);
    if (end > t->written && H5Dset_extent(t->dset, &end) < 0)
        return h5_fail(err, "%s: cannot extend /%s to %llu rows", st->path, t->name,
                       (unsigned long long)end);
    size_t zn = t->level > 0 ? deflate_chunk(st, t, bytes) : 0;
    /* filter mask bit 0 set: the deflate filter was skipped for this chunk */
    uint32_t mask = t->level > 0 && zn == 0 ? 1u : 0u;
    if (H5Dwrite_chunk(t->dset, H5P_DEFAULT, mask, &t->base, zn ? zn : bytes,
                       zn ? st->zbuf : t->chunk) < 0)
        return h5_fail(err, "%s: cannot write rows %llu..%llu of /%s", st->path,
                       (unsigned long long)t->base, (unsigned long long)end, t->name);
    t->written = end;
    return NS_OK;
}

/* Room for at least one row: writes out a full chunk first. */
static ns_status table_room(ns_store *st, table *t, ns_error *err)
{
    if (t->n < t->chunk_rows)
        return NS_OK;
    ns_status s = table_write(st, t, err);
    if (s != NS_OK)
        return s;
    t->base += t->n;
    t->n = 0;
    return NS_OK;
}

/* Packs n rows of the C struct (row_size apart) into the chunk buffer. */
static ns_status table_add(ns_store *st, table *t, const void *rows, size_t n,
                           ns_error *err)
{
    const unsigned char *src = rows;
    for (size_t i = 0; i < n; i++, src += t->row_size) {
        ns_status s = table_room(st, t, err);
        if (s != NS_OK)
            return s;
        unsigned char *dst = t->chunk + t->n * t->file_row;
        for (int r = 0; r < t->n_runs; r++)
            memcpy(dst + t->runs[r].file, src + t->runs[r].mem, t->runs[r].len);
        if (t->text_off) {
            /* Zero everything after the text's NUL, so the table holds the
             * same bytes whether a row came from the engine or from the
             * journal (which keeps texts only up to their length). */
            char *text = (char *)dst + t->text_off;
            size_t len = strnlen(text, NS_TEXT_LEN);
            memset(text + len, 0, NS_TEXT_LEN - len);
        }
        t->n++;
    }
    return NS_OK;
}

static void table_close(table *t)
{
    if (t->dset > 0)
        H5Dclose(t->dset);
    if (t->z_ready)
        deflateEnd(&t->z);
    free(t->chunk);
    memset(t, 0, sizeof *t);
}

/* ---- metadata ---------------------------------------------------------- */

/* A growable string for the few long attributes built here. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = 2 * (b->len + (size_t)n + 1);
        b->s = ns_xrealloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* "used_car: v0=price; supplier_contract: v0=unit_price, v1=volume" */
static char *value_columns(const ns_spec *spec)
{
    sbuf b = {0};
    sbuf_printf(&b, "%s", "");
    for (int i = 0; i < ns_spec_scenario_count(spec); i++) {
        const ns_scenario *sc = ns_spec_scenario(spec, i);
        sbuf_printf(&b, "%s%s:", i ? "; " : "", sc->name);
        for (int k = 0; k < sc->n_issues; k++)
            sbuf_printf(&b, "%s v%d=%s", k ? "," : "", k, sc->issue[k].name);
    }
    return b.s;
}

static herr_t write_root_attrs(hid_t root, const ns_spec *spec)
{
    char hdf5v[32], created[32];
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5v, sizeof hdf5v, "%u.%u.%u", maj, min, rel);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const ns_catalog *cat = ns_spec_catalog(spec);
    char *cols = value_columns(spec);
    herr_t rc = 0;
    rc |= attr_int(root, "format_version", NS_STORE_FORMAT);
    rc |= attr_str(root, "negsim_version", NS_VERSION);
    rc |= attr_str(root, "hdf5_version", hdf5v);
    rc |= attr_str(root, "gsl_version", GSL_VERSION);
    rc |= attr_str(root, "libfyaml_version", fy_library_version());
    rc |= attr_str(root, "jansson_version", JANSSON_VERSION);
    rc |= attr_str(root, "created", created);
    rc |= attr_str(root, "spec_name", ns_spec_name(spec));
    rc |= attr_str(root, "spec_path", ns_spec_path(spec));
    rc |= attr_str(root, "spec", ns_spec_text(spec));
    rc |= attr_u64(root, "spec_digest", ns_spec_digest(spec));
    rc |= attr_u64(root, "master_seed", ns_spec_seed(spec));
    rc |= attr_str(root, "catalogs", cat ? ns_catalog_source(cat) : "");
    rc |= attr_int(root, "max_rounds", ns_spec_max_rounds(spec));
    rc |= attr_u64(root, "repetitions", ns_spec_repetitions(spec));
    rc |= attr_int(root, "max_issues", ns_spec_max_issues(spec));
    rc |= attr_int(root, "transcripts", ns_spec_transcripts(spec) ? 1 : 0);
    rc |= attr_str(root, "value_columns", cols);
    free(cols);
    return rc < 0 ? -1 : 0;
}

static herr_t write_progress(hid_t file, const ns_run_progress *p)
{
    hid_t g = H5Gopen2(file, "/run", H5P_DEFAULT);
    if (g < 0)
        return -1;
    herr_t rc = 0;
    rc |= attr_str(g, "state", p->state ? p->state : "running");
    rc |= attr_u64(g, "jobs_done", p->jobs_done);
    rc |= attr_u64(g, "next_index", p->next_index);
    rc |= attr_u64(g, "jobs_planned", p->jobs_planned);
    rc |= attr_int(g, "threads", p->threads);
    rc |= attr_f64(g, "wall_seconds", p->wall_seconds);
    H5Gclose(g);
    return rc < 0 ? -1 : 0;
}

/* One row of /scenarios/<name>/issues. */
typedef struct issue_row {
    int32_t index;
    char name[NS_NAME_LEN];
    char unit[FIELD_SIZE(ns_issue, unit)];
    char type[12];
    double lo, hi, step;
    double weight[2], target[2], reservation[2];
    char options[NS_MAX_OPTIONS * NS_NAME_LEN]; /* "a,b,c": always fits */
} issue_row;

static const char *const issue_type_names[] = {"continuous", "integer", "discrete"};

static hid_t issue_type(void)
{
    typedef issue_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "index", offsetof(R, index), H5T_NATIVE_INT32);
    add_str(t, "name", offsetof(R, name), FIELD_SIZE(R, name));
    add_str(t, "unit", offsetof(R, unit), FIELD_SIZE(R, unit));
    add_str(t, "type", offsetof(R, type), FIELD_SIZE(R, type));
    add_num(t, "lo", offsetof(R, lo), H5T_NATIVE_DOUBLE);
    add_num(t, "hi", offsetof(R, hi), H5T_NATIVE_DOUBLE);
    add_num(t, "step", offsetof(R, step), H5T_NATIVE_DOUBLE);
    char name[64];
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_weight", ns_side_names[s]);
        add_num(t, name, ELEM_OFF(R, weight, s), H5T_NATIVE_DOUBLE);
        snprintf(name, sizeof name, "%s_target", ns_side_names[s]);
        add_num(t, name, ELEM_OFF(R, target, s), H5T_NATIVE_DOUBLE);
        snprintf(name, sizeof name, "%s_reservation", ns_side_names[s]);
        add_num(t, name, ELEM_OFF(R, reservation, s), H5T_NATIVE_DOUBLE);
    }
    add_str(t, "options", offsetof(R, options), FIELD_SIZE(R, options));
    return t;
}

static void issue_fill(issue_row *r, const ns_issue *is, int index)
{
    memset(r, 0, sizeof *r);
    r->index = index;
    NS_SET(r->name, is->name);
    NS_SET(r->unit, is->unit);
    NS_SET(r->type, issue_type_names[is->type]);
    r->lo = is->lo;
    r->hi = is->hi;
    r->step = is->step;
    for (int s = 0; s < 2; s++) {
        r->weight[s] = is->side[s].weight;
        r->target[s] = is->side[s].target;
        r->reservation[s] = is->side[s].reservation;
    }
    size_t len = 0;
    for (int o = 0; o < is->n_options; o++) {
        size_t n = strnlen(is->options[o], NS_NAME_LEN);
        if (o)
            r->options[len++] = ',';
        memcpy(r->options + len, is->options[o], n);
        len += n;
    }
}

/* Writes `n` rows of memory type `mtype` as a contiguous dataset (packed
 * in the file). */
static herr_t write_small_table(hid_t loc, const char *name, hid_t mtype,
                                hsize_t n, const void *rows)
{
    hid_t ftype = H5Tcopy(mtype);
    H5Tpack(ftype);
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : 0;
    if (d >= 0 && n > 0)
        rc = H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(space);
    H5Tclose(ftype);
    return rc;
}

static herr_t write_issues(hid_t g, const ns_scenario *sc)
{
    issue_row rows[NS_MAX_ISSUES];
    for (int i = 0; i < sc->n_issues; i++)
        issue_fill(&rows[i], &sc->issue[i], i);
    hid_t t = issue_type();
    herr_t rc = write_small_table(g, "issues", t, (hsize_t)sc->n_issues, rows);
    H5Tclose(t);
    return rc;
}

/* /scenarios/<name>/frontier: u_buyer, u_seller, v0..v{n-1} per point,
 * and the Nash and Kalai-Smorodinsky points as attributes. */
static herr_t write_frontier(hid_t g, const ns_scenario *sc)
{
    const ns_frontier *f = sc->frontier;
    int ni = sc->n_issues, w = 2 + ni, n = f ? f->n : 0;
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)w * sizeof(double));
    add_num(t, "u_buyer", 0, H5T_NATIVE_DOUBLE);
    add_num(t, "u_seller", sizeof(double), H5T_NATIVE_DOUBLE);
    add_values(t, 2 * sizeof(double), ni);
    double *rows = ns_xmalloc((size_t)(n ? n : 1) * (size_t)w * sizeof(double));
    for (int k = 0; k < n; k++) {
        rows[k * w] = f->u[NS_BUYER][k];
        rows[k * w + 1] = f->u[NS_SELLER][k];
        memcpy(&rows[k * w + 2], &f->values[(size_t)k * (size_t)f->n_issues],
               (size_t)ni * sizeof(double));
    }
    herr_t rc = write_small_table(g, "frontier", t, (hsize_t)n, rows);
    free(rows);
    H5Tclose(t);
    int nash = f ? f->nash : -1, ks = f ? f->ks : -1;
    rc |= attr_int(g, "nash_index", nash);
    rc |= attr_int(g, "ks_index", ks);
    rc |= attr_f64(g, "nash_u_buyer", nash >= 0 ? f->u[NS_BUYER][nash] : NAN);
    rc |= attr_f64(g, "nash_u_seller", nash >= 0 ? f->u[NS_SELLER][nash] : NAN);
    rc |= attr_f64(g, "ks_u_buyer", ks >= 0 ? f->u[NS_BUYER][ks] : NAN);
    rc |= attr_f64(g, "ks_u_seller", ks >= 0 ? f->u[NS_SELLER][ks] : NAN);
    return rc < 0 ? -1 : 0;
}

static herr_t write_scenario(hid_t parent, const ns_scenario *sc)
{
    hid_t g = H5Gcreate2(parent, sc->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    herr_t rc = 0;
    rc |= attr_str(g, "title", sc->title);
    rc |= attr_str(g, "product", sc->product);
    rc |= attr_str(g, "context", sc->context);
    rc |= attr_str(g, "source", sc->source);
    rc |= attr_str(g, "path", sc->path);
    rc |= attr_int(g, "resolution", sc->resolution);
    rc |= attr_int(g, "zopa_empty", sc->zopa_empty);
    rc |= attr_str(g, "zopa_note", sc->zopa_note);
    rc |= attr_f64(g, "n_outcomes", sc->frontier ? sc->frontier->n_outcomes : 0.0);
    rc |= write_issues(g, sc);
    rc |= write_frontier(g, sc);
    H5Gclose(g);
    return rc < 0 ? -1 : 0;
}

static ns_status write_metadata(ns_store *st, const ns_spec *spec, ns_error *err)
{
    hid_t root = H5Gopen2(st->file, "/", H5P_DEFAULT);
    herr_t rc = root < 0 ? -1 : write_root_attrs(root, spec);
    if (root >= 0)
        H5Gclose(root);
    if (rc < 0)
        return h5_fail(err, "%s: cannot write the root attributes", st->path);
    hid_t g = H5Gcreate2(st->file, "/run", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0)
        H5Gclose(g);
    ns_run_progress p0 = {.state = "running"};
    if (g < 0 || write_progress(st->file, &p0) < 0)
        return h5_fail(err, "%s: cannot write /run", st->path);
    g = H5Gcreate2(st->file, "/scenarios", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return h5_fail(err, "%s: cannot create /scenarios", st->path);
    for (int i = 0; i < ns_spec_scenario_count(spec); i++) {
        const ns_scenario *sc = ns_spec_scenario(spec, i);
        if (write_scenario(g, sc) < 0) {
            H5Gclose(g);
            return h5_fail(err, "%s: cannot write /scenarios/%s", st->path, sc->name);
        }
    }
    H5Gclose(g);
    return NS_OK;
}

/* ---- public ------------------------------------------------------------ */

static ns_status create_tables(ns_store *st, int k, ns_error *err)
{
    ns_status s = table_create(st, &st->t[T_JOBS], T_JOBS, "jobs", job_type(),
                               sizeof(ns_job_row), err);
    if (!s)
        s = table_create(st, &st->t[T_OUTCOMES], T_OUTCOMES, "outcomes", outcome_type(k),
                         sizeof(ns_outcome_row), err);
    if (!s)
        s = table_create(st, &st->t[T_ROUNDS], T_ROUNDS, "rounds", turn_type(k),
                         sizeof(ns_turn_row), err);
    if (!s)
        s = table_create(st, &st->t[T_TEXTS], T_TEXTS, "transcripts", text_type(),
                         sizeof(ns_transcript_row), err);
    return s;
}

ns_status ns_store_create(const char *path, const ns_spec *spec, ns_store **out,
                          ns_error *err)
{
    quiet_hdf5();
    *out = NULL;
    int k = ns_spec_max_issues(spec);
    if (k < 1 || k > NS_MAX_ISSUES)
        return ns_fail(err, NS_ERR_INTERNAL, "spec has %d value columns (1..%d)", k,
                       NS_MAX_ISSUES);
    ns_store *st = ns_xcalloc(1, sizeof *st);
    st->path = ns_xstrdup(path);
    st->transcripts = ns_spec_transcripts(spec);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* lock where the file system can, carry on where it cannot (NFS) */
    H5Pset_file_locking(fapl, 1, 1);
#endif
    st->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (st->file < 0) {
        ns_status s = h5_fail(err, "cannot create results file %s", path);
        ns_store_abandon(st);
        return s;
    }
    ns_status s = write_metadata(st, spec, err);
    if (!s)
        s = create_tables(st, k, err);
    if (s) {
        ns_store_abandon(st);
        return s;
    }
    *out = st;
    return NS_OK;
}

/* Job ids must ascend across blocks and lie within the block's range:
 * readers binary-search the tables by job id. */
static ns_status check_order(ns_store *st, const ns_block *b, ns_error *err)
{
    for (size_t k = 0; k < b->n_jobs; k++) {
        uint64_t id = b->jobs[k].job_id;
        if (id < b->first_index || id >= b->end_index || (st->have_last && id <= st->last_job) ||
            b->outcomes[k].job_id != id)
            return ns_fail(err, NS_ERR_INTERNAL,
                           "%s: job %llu out of order (block [%llu, %llu), last %llu)",
                           st->path, (unsigned long long)id,
                           (unsigned long long)b->first_index,
                           (unsigned long long)b->end_index,
                           (unsigned long long)st->last_job);
        st->last_job = id;
        st->have_last = 1;
    }
    return NS_OK;
}

ns_status ns_store_append(ns_store *st, const ns_block *b, ns_error *err)
{
    quiet_hdf5();
    ns_status s = check_order(st, b, err);
    if (!s)
        s = table_add(st, &st->t[T_JOBS], b->jobs, b->n_jobs, err);
    if (!s)
        s = table_add(st, &st->t[T_OUTCOMES], b->outcomes, b->n_jobs, err);
    if (!s)
        s = table_add(st, &st->t[T_ROUNDS], b->turns, b->n_turns, err);
    if (!s && st->transcripts && b->texts)
        s = table_add(st, &st->t[T_TEXTS], b->texts, b->n_turns, err);
    return s;
}

ns_status ns_store_flush(ns_store *st, const ns_run_progress *p, ns_error *err)
{
    quiet_hdf5();
    for (int i = 0; i < N_TABLES; i++) {
        ns_status s = table_write(st, &st->t[i], err);
        if (s)
            return s;
    }
    if (p && write_progress(st->file, p) < 0)
        return h5_fail(err, "%s: cannot write /run", st->path);
    if (H5Fflush(st->file, H5F_SCOPE_LOCAL) < 0)
        return h5_fail(err, "%s: cannot flush", st->path);
    return NS_OK;
}

/* Closes every handle; returns -1 if HDF5 reported a failure (the file
 * close is where buffered metadata reaches the disk). */
static herr_t close_handles(ns_store *st)
{
    for (int i = 0; i < N_TABLES; i++)
        table_close(&st->t[i]);
    herr_t rc = st->file > 0 ? H5Fclose(st->file) : 0;
    free(st->zbuf);
    free(st->path);
    free(st);
    return rc;
}

ns_status ns_store_close(ns_store *st, const ns_run_progress *p, ns_error *err)
{
    quiet_hdf5();
    ns_status s = ns_store_flush(st, p, err);
    char path[512];
    snprintf(path, sizeof path, "%s", st->path);
    if (close_handles(st) < 0 && !s)
        s = h5_fail(err, "%s: cannot close", path);
    return s;
}

void ns_store_abandon(ns_store *st)
{
    if (!st)
        return;
    quiet_hdf5();
    close_handles(st);
    H5Eclear2(H5E_DEFAULT);
}
