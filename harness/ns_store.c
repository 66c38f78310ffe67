/*
 * ns_store.c - the HDF5 results file, writer side: root metadata, the
 * /run progress group, one group per scenario (issues, Pareto frontier,
 * Nash and Kalai-Smorodinsky points) and the four row tables /jobs,
 * /outcomes, /rounds and /transcripts (docs/hdf5-layout.md).
 *
 * Tables. Each table is a 1-D, chunked, deflate-compressed, extendible
 * dataset of a compound type whose members mirror the C row structs of
 * ns_record.h, flattened to scalar columns; only the K =
 * ns_spec_max_issues value columns in use are stored (v0..v{K-1}). The
 * file type is the member list packed without padding; strings are
 * fixed-size, NUL-terminated (H5T_STR_NULLTERM: every field has a NUL
 * within it, and h5dump then prints "text" instead of "text\000\000..."),
 * exactly the C field sizes.
 *
 * Writing. The writer thread must keep up with the workers, so rows take
 * the shortest path to disk: each table fills one chunk buffer in the
 * file's packed layout; appending a row is a few memcpy()s (runs of bytes
 * contiguous in both layouts, worked out once from the two types). A full
 * chunk is deflated with zlib, level 1, from a stream reset per chunk -
 * exactly what HDF5's deflate filter would store - and written with
 * H5Dwrite_chunk, without HDF5's type conversion, gather/scatter copies
 * and per-call buffers (which cost more than the compression itself). A
 * chunk that does not shrink is stored raw with the filter skipped in its
 * filter mask, as HDF5 itself does.
 *
 * LLM runs (ns_store_create_ex with llm) add columns to every table
 * (docs/hdf5-layout.md, "LLM columns"). Such a row is packed from two
 * structs, the base row and its LLM row (ns_llm_job_row, ns_llm_turn_row),
 * each with its own copy runs, and from texts in the block's arena
 * (message texts, judge summaries) that are cut at a UTF-8 character
 * boundary to their column and zero-padded; /transcripts rows come from the
 * turn rows and the arena. Built-in stores take the one-struct path
 * (table_add) and write exactly what they wrote before.
 *
 * The compression pool. Deflating /rounds and /transcripts costs more CPU
 * than everything else the writer does (about 35 us for a job of 28
 * messages, against about 9 us for the journal and the row packing), so
 * with ns_store_set_threads(n > 0) chunks are deflated on n threads of the
 * store's own. A full chunk is queued for the pool and its table goes on
 * filling a spare buffer; deflated chunks come back on a second queue and
 * the writer - the only thread that calls HDF5 - writes them at its next
 * append. Chunk offsets are fixed, so they may be written in any order; a
 * table's extent grows to the highest row written so far. Memory is
 * bounded: one buffer per table plus two per pool thread (one being
 * deflated, one queued or waiting to be written); when none is spare the
 * writer waits for the pool (back-pressure). With n = 0 each full chunk is
 * deflated on the writer thread. Either way the stored chunks are the same
 * bytes: every chunk is deflated from a freshly reset stream with the same
 * settings, whichever thread does it.
 *
 * Flushing. ns_store_flush waits for every chunk in flight and writes it,
 * then writes each table's partial chunk, deflated on the writer thread
 * and zero-filled to full size (as HDF5 stores edge chunks); its rows stay
 * buffered and the chunk is written again whole when full.
 *
 * Failures. An HDF5 or zlib failure loses rows, so it sticks: the call
 * that meets it returns it (for a chunk deflated by the pool, the next
 * store call that collects that chunk) and every later call returns it
 * again; only ns_store_close and ns_store_abandon are left to do.
 *
 * Crash safety is not this module's job: the runner writes a scratch file
 * and publishes it with rename(2), and the journal holds every committed
 * block (ns_runner.c, docs/hdf5-layout.md "Crash safety and resume").
 *
 * HDF5 errors: automatic error printing is switched off on entry to every
 * public function (error stacks are per thread in HDF5's thread-safe build,
 * and the runner calls the store from two threads, one at a time), and a
 * failure is returned as NS_ERR_HDF5 with the innermost HDF5 message. The
 * pool threads never call HDF5.
 */
#include "ns_store.h"
#include "ns_h5.h"

#include <assert.h>
#include <curl/curl.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <jansson.h>
#include <libfyaml.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "ns_catalog.h"
#include "ns_config.h"
#include "ns_frontier.h"
#include "ns_llm_config.h"
#include "ns_template.h"

#define NS_STORE_FORMAT 2 /* 2: LLM columns (docs/hdf5-layout.md) */
/* Most uncompressed bytes per chunk (packed rows): large enough that
 * per-chunk costs vanish, small enough that `show` inflates little to find
 * a job and that a chunk fits HDF5's default chunk cache. */
#define CHUNK_BYTES (1u << 20)
#define MAX_RUNS 48
#define MAX_XRUNS 16  /* copy runs from an LLM row struct */
#define MAX_ATEXTS 2  /* arena text columns per table */
/* zlib level of every table. Levels 2 and 3 cost about the same CPU and
 * save 3-7%; level 1 is what `negsim plan` assumes (ns_plan.c). */
#define DEFLATE_LEVEL 1
/* A pool thread deflates about 30,000 jobs a second and the writer packs
 * at most about 110,000 (docs/hdf5-layout.md, "Performance"), so a few
 * threads keep up with it; more would only hold buffers. */
#define MAX_POOL_THREADS 16

/* Offset of element i of array member f of struct T. */
#define ELEM_OFF(T, f, i) (offsetof(T, f) + (size_t)(i) * sizeof(((T *)0)->f[0]))
#define FIELD_SIZE(T, f) sizeof(((T *)0)->f)

enum { T_JOBS, T_OUTCOMES, T_ROUNDS, T_TEXTS, N_TABLES };

/* Bytes contiguous both in the C row struct and in the packed file row:
 * packing a row is one memcpy per run. */
typedef struct copy_run {
    size_t mem, file, len;
} copy_run;

/* A chunk buffer: packed rows, the unit handed from the writer to the
 * pool and back. */
typedef struct chunk {
    struct chunk *next;   /* link in the spare list or a pool queue */
    int table;            /* T_* */
    hsize_t base;         /* its first row, a multiple of the table's chunk_rows */
    size_t rows;          /* rows it holds */
    size_t bytes;         /* the full chunk's raw size */
    size_t zn;            /* from the pool: deflated size, the deflated bytes
                             now in data[]; 0: data[] holds the raw rows */
    int zerr;             /* from the pool: zlib's error, Z_OK when none */
    unsigned char *data;  /* the store's chunk_bytes */
} chunk;

typedef struct chunk_queue {
    chunk *head, *tail;
} chunk_queue;

/* One deflating thread's zlib stream, kept across chunks (reset, not set
 * up again, per chunk), and its output buffer. */
typedef struct deflater {
    z_stream z;
    int ready;
    unsigned char *out;   /* chunk_bytes */
    double cpu;           /* thread CPU seconds spent deflating */
} deflater;

typedef struct pool {
    int n;                /* threads running */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* todo got a chunk, or stop was set */
    pthread_cond_t done;  /* finished got a chunk */
    chunk_queue todo, finished;
    int stop;
    double cpu;           /* statistics, under mu */
} pool;

/* A column filled from the block's arena (LLM runs): text and summaries. */
typedef struct arena_text {
    size_t vmem;          /* its offset in the memory type's virtual row */
    size_t src_off, src_len; /* offsets of its uint32 offset / length in the LLM row */
    size_t width;         /* column bytes, NUL included */
    size_t file;          /* column offset in the packed row */
    int flag;             /* followed by an int8 "truncated" column */
    size_t flag_file;
} arena_text;

typedef struct table {
    const char *name;
    hid_t dset;
    size_t row_size;      /* sizeof the C row struct */
    size_t file_row;      /* bytes of a packed row in the file */
    int n_runs;
    copy_run runs[MAX_RUNS];
    size_t text_off;      /* transcripts: file offset of `text`; else 0 */
    /* LLM tables (llm): a row is also built from a second struct, the
     * LLM row (xrow_size bytes; its copy runs xruns), and from arena
     * texts; built-in tables leave all of this zero. */
    int llm;
    size_t xrow_size;
    int n_xruns;
    copy_run xruns[MAX_XRUNS];
    size_t text_region, vnext; /* virtual row: where arena-text slots start / the next */
    int n_atexts;
    arena_text atexts[MAX_ATEXTS];
    size_t chunk_rows;
    hsize_t base;         /* file row of cur's first row; a multiple of chunk_rows */
    hsize_t extent;       /* the dataset's extent: highest row written + 1 */
    chunk *cur;           /* the chunk being filled: rows [base, base + n) */
    size_t n;
} table;

struct ns_store {
    hid_t file;
    char *path;
    int transcripts;      /* write texts? (ns_spec_transcripts) */
    int llm;              /* LLM columns (ns_store_create_ex) */
    int have_last;
    uint64_t last_job;    /* highest job id appended: ids must ascend */
    table t[N_TABLES];
    size_t chunk_bytes;   /* the largest table chunk: every buffer's size */
    deflater wdef;        /* the writer's own: partial chunks, and all with no pool */
    pool pool;
    chunk *spare;         /* spare buffers (writer only) */
    int in_flight;        /* chunks handed to the pool and not yet written */
    ns_store_stats stats; /* writer's share */
    ns_status failed;     /* sticky failure (see the top) and its message */
    ns_error fail;
};

/* ---- HDF5 error translation -------------------------------------------- */

static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }


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

/* A fixed-size string member. NULLTERM, not NULLPAD: the bytes are the
 * same (every field has a NUL within it and zeros after it), but h5dump
 * stops at the NUL instead of printing the padding as \000s; h5py and
 * numpy read either as S<n>. */
static void add_str_cset(hid_t ct, const char *name, size_t off, size_t size,
                         H5T_cset_t cset)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, size);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    H5Tset_cset(s, cset);
    H5Tinsert(ct, name, off, s);
    H5Tclose(s);
}

static void add_str(hid_t ct, const char *name, size_t off, size_t size)
{
    add_str_cset(ct, name, off, size, H5T_CSET_ASCII);
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

/* LLM tables. Their memory type describes a virtual row: the base row
 * struct (offsets as they are), then the LLM row struct (offsets +
 * sizeof base), then one slot per text kept in the block's arena (its
 * column, then one byte for its truncation flag column, if any). file_type
 * turns that into copy runs from either struct and arena-text columns. */
static void llm_extend(hid_t ct, table *tb, size_t base_size, size_t llm_size,
                       size_t text_bytes)
{
    tb->xrow_size = llm_size;
    tb->text_region = tb->vnext = base_size + llm_size;
    H5Tset_size(ct, base_size + llm_size + text_bytes);
}

/* A column filled from the arena through the (uint32 offset, uint32
 * length) pair at src_off / src_len of the LLM row; UTF-8 (model replies
 * are), cut at a character boundary to width - 1 bytes. With flag_name, a
 * following int8 column says whether it was cut. */
static void add_arena_text(hid_t ct, table *tb, const char *name, const char *flag_name,
                           size_t src_off, size_t src_len, size_t width)
{
    assert(tb->n_atexts < MAX_ATEXTS);
    arena_text *a = &tb->atexts[tb->n_atexts++];
    a->vmem = tb->vnext;
    a->src_off = src_off;
    a->src_len = src_len;
    a->width = width;
    a->flag = flag_name != NULL;
    add_str_cset(ct, name, a->vmem, width, H5T_CSET_UTF8);
    if (flag_name)
        add_num(ct, flag_name, a->vmem + width, H5T_NATIVE_INT8);
    tb->vnext += width + 1;
}

/* The /outcomes columns of ns_llm_job_row (docs/hdf5-layout.md, "LLM
 * columns"), after the base row of `x` bytes. */
static void add_llm_outcome_cols(hid_t t, table *tb, size_t x)
{
    typedef ns_llm_job_row L;
    llm_extend(t, tb, x, sizeof(L), 2 * (NS_LLM_SUMMARY_LEN + 1));
    add_num(t, "cost_usd", x + offsetof(L, cost_usd), H5T_NATIVE_DOUBLE);
    static const char *const who[3] = {"buyer", "seller", "judge"};
    char name[64];
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof name, "%s_cost_usd", who[s]);
        add_num(t, name, x + ELEM_OFF(L, side_cost_usd, s), H5T_NATIVE_DOUBLE);
    }
    add_num(t, "input_tokens", x + offsetof(L, input_tokens), H5T_NATIVE_INT64);
    add_num(t, "output_tokens", x + offsetof(L, output_tokens), H5T_NATIVE_INT64);
    add_num(t, "requests", x + offsetof(L, requests), H5T_NATIVE_INT32);
    add_num(t, "cache_hits", x + offsetof(L, cache_hits), H5T_NATIVE_INT32);
    add_num(t, "retries", x + offsetof(L, retries), H5T_NATIVE_INT32);
    add_num(t, "repairs", x + offsetof(L, repairs), H5T_NATIVE_INT32);
    add_num(t, "invalid_outputs", x + offsetof(L, invalid_outputs), H5T_NATIVE_INT32);
    add_num(t, "latency_ms", x + offsetof(L, latency_ms), H5T_NATIVE_DOUBLE);
    add_str(t, "error", x + offsetof(L, error), FIELD_SIZE(L, error));
    add_str(t, "error_message", x + offsetof(L, error_message), FIELD_SIZE(L, error_message));
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_influencing_score", who[s]);
        add_num(t, name, x + ELEM_OFF(L, influencing_score, s), H5T_NATIVE_DOUBLE);
        snprintf(name, sizeof name, "%s_tactic_score", who[s]);
        add_num(t, name, x + ELEM_OFF(L, tactic_score, s), H5T_NATIVE_DOUBLE);
    }
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_judge_summary", who[s]);
        add_arena_text(t, tb, name, NULL, ELEM_OFF(L, summary_off, s),
                       ELEM_OFF(L, summary_len, s), NS_LLM_SUMMARY_LEN);
    }
}

static hid_t job_type(table *tb)
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
    if (tb->llm) {
        typedef ns_llm_job_row L;
        llm_extend(t, tb, sizeof(R), sizeof(L), 0);
        static const char *const who[3] = {"buyer", "seller", "judge"};
        for (int s = 0; s < 3; s++) {
            snprintf(name, sizeof name, "%s_model", who[s]);
            add_str(t, name, sizeof(R) + ELEM_OFF(L, model, s), NS_MODEL_LEN);
        }
    }
    return t;
}

static hid_t outcome_type(table *tb, int k)
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
    if (tb->llm)
        add_llm_outcome_cols(t, tb, sizeof(R));
    return t;
}

static hid_t turn_type(table *tb, int k)
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
    if (tb->llm) {
        typedef ns_llm_turn_row L;
        const size_t x = sizeof(R);
        llm_extend(t, tb, sizeof(R), sizeof(L), 0);
        add_str(t, "model", x + offsetof(L, model), FIELD_SIZE(L, model));
        add_num(t, "input_tokens", x + offsetof(L, input_tokens), H5T_NATIVE_INT32);
        add_num(t, "output_tokens", x + offsetof(L, output_tokens), H5T_NATIVE_INT32);
        add_num(t, "latency_ms", x + offsetof(L, latency_ms), H5T_NATIVE_DOUBLE);
        add_num(t, "cost_usd", x + offsetof(L, cost_usd), H5T_NATIVE_DOUBLE);
        add_num(t, "cached", x + offsetof(L, cached), H5T_NATIVE_INT8);
        add_num(t, "attempts", x + offsetof(L, attempts), H5T_NATIVE_INT8);
        add_num(t, "repaired", x + offsetof(L, repaired), H5T_NATIVE_INT8);
    }
    return t;
}

/* In LLM runs the transcript row is built from the turn row (job_id,
 * turn, speaker) and the turn's text in the block's arena: the texts[]
 * rows are not filled in such blocks. */
static hid_t llm_text_type(table *tb)
{
    typedef ns_turn_row R;
    typedef ns_llm_turn_row L;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "turn", offsetof(R, turn), H5T_NATIVE_INT32);
    add_str(t, "speaker", offsetof(R, speaker), FIELD_SIZE(R, speaker));
    llm_extend(t, tb, sizeof(R), sizeof(L), NS_LLM_TEXT_LEN + 1);
    add_arena_text(t, tb, "text", "text_truncated", offsetof(L, text_off),
                   offsetof(L, text_len), NS_LLM_TEXT_LEN);
    return t;
}

static hid_t text_type(table *tb)
{
    typedef ns_transcript_row R;
    if (tb->llm)
        return llm_text_type(tb);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    add_num(t, "job_id", offsetof(R, job_id), H5T_NATIVE_UINT64);
    add_num(t, "turn", offsetof(R, turn), H5T_NATIVE_INT32);
    add_str(t, "speaker", offsetof(R, speaker), FIELD_SIZE(R, speaker));
    add_str(t, "text", offsetof(R, text), FIELD_SIZE(R, text));
    return t;
}

/* ---- tables ------------------------------------------------------------ */

/* Rows per chunk: the largest power of two (at most 65536) whose packed
 * rows fit in CHUNK_BYTES. No more: a chunk must fit HDF5's default chunk
 * cache (1 MiB), or a reader that takes a few rows at a time (h5py,
 * `negsim show`) inflates the whole chunk again for every read. */
static size_t chunk_rows_for(size_t file_row)
{
    size_t rows = 65536;
    while (rows > 64 && rows * file_row > CHUNK_BYTES)
        rows /= 2;
    return rows;
}

/* Adds `len` bytes from `mem` to `file` to a list of copy runs, extending
 * the last run when both sides continue it. */
static void add_run(copy_run *runs, int *n, int max, size_t mem, size_t file, size_t len)
{
    copy_run *last = *n ? &runs[*n - 1] : NULL;
    if (last && last->mem + last->len == mem && last->file + last->len == file) {
        last->len += len;
        return;
    }
    assert(*n < max); /* a row has at most 32 columns */
    (void)max;
    runs[(*n)++] = (copy_run){mem, file, len};
}

/* Records the file offset of an arena-text column (or of its flag) that
 * sits at virtual offset `mem`. */
static void mark_arena_text(table *t, size_t mem, size_t file)
{
    for (int i = 0; i < t->n_atexts; i++) {
        arena_text *a = &t->atexts[i];
        if (a->vmem == mem)
            a->file = file;
        else if (a->flag && a->vmem + a->width == mem)
            a->flag_file = file;
    }
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
    t->n_runs = t->n_xruns = 0;
    for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(mtype, (unsigned)i);
        hid_t m = H5Tget_member_type(mtype, (unsigned)i);
        size_t len = H5Tget_size(m), mem = H5Tget_member_offset(mtype, (unsigned)i);
        H5Tinsert(ft, name, off, m);
        if (t->llm && mem >= t->text_region) {
            mark_arena_text(t, mem, off);
        } else if (t->llm && mem >= t->row_size) {
            add_run(t->xruns, &t->n_xruns, MAX_XRUNS, mem - t->row_size, off, len);
        } else {
            assert(mem + len <= t->row_size);
            add_run(t->runs, &t->n_runs, MAX_RUNS, mem, off, len);
            if (!t->llm && strcmp(name, "text") == 0)
                t->text_off = off;
        }
        off += len;
        H5Tclose(m);
        H5free_memory(name);
    }
    t->file_row = off;
    return ft;
}

static ns_status table_create(ns_store *st, table *t, const char *name, hid_t mtype,
                              size_t row_size, ns_error *err)
{
    t->name = name;
    t->row_size = row_size;
    t->dset = -1;
    hid_t ftype = file_type(t, mtype);
    H5Tclose(mtype);
    t->chunk_rows = chunk_rows_for(t->file_row);
    hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk_dims = t->chunk_rows;
    hid_t space = H5Screate_simple(1, &dims, &maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk_dims);
    H5Pset_deflate(dcpl, DEFLATE_LEVEL);
    t->dset = H5Dcreate2(st->file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(ftype);
    if (t->dset < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot create table /%s", st->path, name);
    return NS_OK;
}

static double thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- deflating ----------------------------------------------------------- */

static void deflater_init(deflater *d, size_t chunk_bytes)
{
    memset(d, 0, sizeof *d);
    d->out = ns_xmalloc(chunk_bytes);
}

static void deflater_end(deflater *d)
{
    if (d->ready)
        deflateEnd(&d->z);
    free(d->out);
    memset(d, 0, sizeof *d);
}

/* Deflates `bytes` bytes at `in` into d->out (which holds as many).
 * Returns the deflated size, or 0 when the chunk does not shrink (it is
 * then stored raw); *zerr is zlib's error when zlib failed, else Z_OK. */
static size_t deflate_bytes(deflater *d, const unsigned char *in, size_t bytes, int *zerr)
{
    double t0 = thread_cpu();
    int rc = d->ready ? deflateReset(&d->z) : deflateInit(&d->z, DEFLATE_LEVEL);
    *zerr = rc;
    if (rc != Z_OK)
        return 0;
    d->ready = 1;
    d->z.next_in = (Bytef *)in;
    d->z.avail_in = (uInt)bytes;
    d->z.next_out = d->out;
    d->z.avail_out = (uInt)bytes;
    rc = deflate(&d->z, Z_FINISH);
    /* Z_OK or Z_BUF_ERROR: the output did not fit in `bytes`, which only
     * means it does not pay to compress this chunk. */
    *zerr = rc == Z_STREAM_ERROR ? rc : Z_OK;
    d->cpu += thread_cpu() - t0;
    return rc == Z_STREAM_END && d->z.total_out < bytes ? (size_t)d->z.total_out : 0;
}

static ns_status zlib_fail(ns_store *st, const table *t, hsize_t base, size_t rows, int zerr,
                           ns_error *err)
{
    return ns_fail(err, zerr == Z_MEM_ERROR ? NS_ERR_NOMEM : NS_ERR_INTERNAL,
                   "%s: cannot deflate rows %llu..%llu of /%s: zlib error %d", st->path,
                   (unsigned long long)base, (unsigned long long)(base + rows), t->name, zerr);
}

/* ---- writing chunks (writer thread) --------------------------------------- */

/* Writes the chunk of table t that starts at row `base` and holds `rows`
 * rows: `len` bytes at `data`, deflated or (filter skipped) raw. The
 * extent grows to cover it; chunks may arrive in any order. */
static ns_status put_chunk(ns_store *st, table *t, hsize_t base, size_t rows,
                           const void *data, size_t len, int deflated, ns_error *err)
{
    hsize_t end = base + rows;
    if (end > t->extent) {
        if (H5Dset_extent(t->dset, &end) < 0)
            return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot extend /%s to %llu rows", st->path, t->name,
                           (unsigned long long)end);
        t->extent = end;
    }
    /* filter mask bit 0 set: the deflate filter was skipped for this chunk */
    uint32_t mask = deflated ? 0u : 1u;
    if (H5Dwrite_chunk(t->dset, H5P_DEFAULT, mask, &base, len, data) < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write rows %llu..%llu of /%s", st->path,
                       (unsigned long long)base, (unsigned long long)end, t->name);
    st->stats.chunks++;
    st->stats.raw_bytes += t->chunk_rows * t->file_row;
    st->stats.stored_bytes += len;
    return NS_OK;
}

/* Deflates a chunk on the writer thread and writes it. */
static ns_status put_deflated(ns_store *st, table *t, hsize_t base, size_t rows,
                              const unsigned char *raw, ns_error *err)
{
    size_t bytes = t->chunk_rows * t->file_row;
    int zerr;
    size_t zn = deflate_bytes(&st->wdef, raw, bytes, &zerr);
    if (zerr != Z_OK)
        return zlib_fail(st, t, base, rows, zerr, err);
    return put_chunk(st, t, base, rows, zn ? st->wdef.out : raw, zn ? zn : bytes, zn > 0, err);
}

/* Writes the table's partial chunk, zero-filled to full size as HDF5
 * stores edge chunks; its rows stay in the buffer and the chunk is written
 * again when full. Nothing to do when it holds nothing new. */
static ns_status table_write_partial(ns_store *st, table *t, ns_error *err)
{
    if (t->n == 0 || t->base + t->n == t->extent)
        return NS_OK;
    size_t bytes = t->chunk_rows * t->file_row, used = t->n * t->file_row;
    memset(t->cur->data + used, 0, bytes - used);
    return put_deflated(st, t, t->base, t->n, t->cur->data, err);
}

/* ---- the pool ------------------------------------------------------------ */

static void queue_push(chunk_queue *q, chunk *c)
{
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
}

static chunk *queue_pop(chunk_queue *q)
{
    chunk *c = q->head;
    if (c) {
        q->head = c->next;
        if (!q->head)
            q->tail = NULL;
    }
    return c;
}

/* A pool thread: deflates queued chunks until told to stop. A chunk that
 * shrinks gets its deflated bytes copied over its raw rows, which are not
 * needed any more; the buffer goes back to the writer either way. */
static void *pool_main(void *arg)
{
    ns_store *st = arg;
    pool *p = &st->pool;
    deflater d;
    deflater_init(&d, st->chunk_bytes);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->todo.head && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        chunk *c = queue_pop(&p->todo);
        pthread_mutex_unlock(&p->mu);
        double cpu0 = d.cpu;
        c->zn = deflate_bytes(&d, c->data, c->bytes, &c->zerr);
        if (c->zn)
            memcpy(c->data, d.out, c->zn);
        pthread_mutex_lock(&p->mu);
        p->cpu += d.cpu - cpu0;
        queue_push(&p->finished, c);
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    deflater_end(&d);
    return NULL;
}

static chunk *chunk_new(const ns_store *st)
{
    chunk *c = ns_xcalloc(1, sizeof *c);
    c->data = ns_xmalloc(st->chunk_bytes);
    return c;
}

static void chunk_free(chunk *c)
{
    if (c) {
        free(c->data);
        free(c);
    }
}

static void free_spares(ns_store *st)
{
    while (st->spare) {
        chunk *c = st->spare;
        st->spare = c->next;
        chunk_free(c);
    }
}

static void give_back(ns_store *st, chunk *c)
{
    c->next = st->spare;
    st->spare = c;
}

static void pool_submit(ns_store *st, chunk *c)
{
    pool *p = &st->pool;
    pthread_mutex_lock(&p->mu);
    queue_push(&p->todo, c);
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    if (++st->in_flight > st->stats.max_in_flight)
        st->stats.max_in_flight = st->in_flight;
}

/* Writes the chunks the pool has finished, first waiting for one when
 * `wait` (only with chunks in flight). Every chunk goes back to the spares,
 * even after a failure; the first failure is returned. */
static ns_status pool_collect(ns_store *st, int wait, ns_error *err)
{
    pool *p = &st->pool;
    pthread_mutex_lock(&p->mu);
    while (wait && !p->finished.head)
        pthread_cond_wait(&p->done, &p->mu);
    chunk *c = p->finished.head;
    p->finished.head = p->finished.tail = NULL;
    pthread_mutex_unlock(&p->mu);
    ns_status s = NS_OK;
    while (c) {
        chunk *next = c->next;
        table *t = &st->t[c->table];
        if (!s && c->zerr != Z_OK)
            s = zlib_fail(st, t, c->base, c->rows, c->zerr, err);
        if (!s)
            s = put_chunk(st, t, c->base, c->rows, c->data, c->zn ? c->zn : c->bytes,
                          c->zn > 0, err);
        st->in_flight--;
        give_back(st, c);
        c = next;
    }
    return s;
}

/* Writes every chunk in flight. */
static ns_status pool_drain(ns_store *st, ns_error *err)
{
    ns_status s = NS_OK;
    while (st->in_flight > 0) {
        ns_status cs = pool_collect(st, 1, s ? NULL : err);
        if (!s)
            s = cs;
    }
    return s;
}

/* Gives table t a spare buffer, waiting for the pool when there is none
 * (back-pressure). There always is one eventually: of the N_TABLES + 2n
 * buffers the other tables hold at most N_TABLES - 1, so with no spare at
 * least one chunk is in flight. */
static ns_status take_spare(ns_store *st, table *t, ns_error *err)
{
    ns_status s = st->spare || !st->in_flight ? NS_OK : pool_collect(st, 0, err);
    while (!st->spare) {
        assert(st->in_flight > 0);
        st->stats.waits++;
        ns_status cs = pool_collect(st, 1, s ? NULL : err);
        if (!s)
            s = cs;
    }
    t->cur = st->spare;
    st->spare = t->cur->next;
    return s;
}

/* Stops the threads. Chunks still queued (ns_store_abandon) go back to
 * the spares unwritten. */
static void pool_stop(ns_store *st)
{
    pool *p = &st->pool;
    if (p->n == 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    p->n = 0;
    p->stop = 0;
    chunk *c;
    while ((c = queue_pop(&p->todo)) || (c = queue_pop(&p->finished))) {
        st->in_flight--;
        give_back(st, c);
    }
}

/* Starts n threads with two spare buffers each. Signals are blocked in
 * them, so that SIGINT and SIGTERM reach the runner's threads. */
static ns_status pool_start(ns_store *st, int n, ns_error *err)
{
    pool *p = &st->pool;
    p->threads = ns_xcalloc((size_t)n, sizeof *p->threads);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    while (p->n < n && (rc = pthread_create(&p->threads[p->n], NULL, pool_main, st)) == 0)
        p->n++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        int started = p->n;
        pool_stop(st);
        return ns_fail_errno(err, NS_ERR_NOMEM, rc,
                             "%s: cannot start compression thread %d of %d", st->path,
                             started + 1, n);
    }
    for (int i = 0; i < 2 * n; i++)
        give_back(st, chunk_new(st));
    return NS_OK;
}

/* ---- appending rows ------------------------------------------------------ */

/* Hands the table's full chunk on - deflated and written here without a
 * pool, queued for the pool with one - and lets the table continue in an
 * empty buffer. */
static ns_status table_hand_off(ns_store *st, table *t, ns_error *err)
{
    chunk *c = t->cur;
    c->table = (int)(t - st->t);
    c->base = t->base;
    c->rows = t->n;
    c->bytes = t->chunk_rows * t->file_row;
    t->base += t->n;
    t->n = 0;
    if (st->pool.n == 0)
        return put_deflated(st, t, c->base, c->rows, c->data, err);
    pool_submit(st, c);
    t->cur = NULL;
    return take_spare(st, t, err);
}

/* Packs n rows of the C struct (row_size apart) into the chunk buffer. */
static ns_status table_add(ns_store *st, table *t, const void *rows, size_t n,
                           ns_error *err)
{
    const unsigned char *src = rows;
    for (size_t i = 0; i < n; i++, src += t->row_size) {
        if (t->n == t->chunk_rows) {
            ns_status s = table_hand_off(st, t, err);
            if (s != NS_OK)
                return s;
        }
        unsigned char *dst = t->cur->data + t->n * t->file_row;
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

/* Bytes of the first `max` bytes of s (len of them) that end on a UTF-8
 * character boundary: a multi-byte character is never split. Malformed
 * text (more than three continuation bytes) is cut at `max`. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    for (int back = 0; back < 3 && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; back++)
        n--;
    return ((unsigned char)s[n] & 0xC0) == 0x80 ? max : n;
}

/* Packs n rows of an LLM table: copy runs from the base rows (row_size
 * apart) and from the LLM rows (xrow_size apart), then each arena text,
 * cut to its column and NUL-padded. The block's offsets were checked
 * against its arena (check_llm_block). */
static ns_status table_add_llm(ns_store *st, table *t, const void *rows, const void *xrows,
                               const char *arena, size_t n, ns_error *err)
{
    const unsigned char *src = rows, *xsrc = xrows;
    for (size_t i = 0; i < n; i++, src += t->row_size, xsrc += t->xrow_size) {
        if (t->n == t->chunk_rows) {
            ns_status s = table_hand_off(st, t, err);
            if (s != NS_OK)
                return s;
        }
        unsigned char *dst = t->cur->data + t->n * t->file_row;
        for (int r = 0; r < t->n_runs; r++)
            memcpy(dst + t->runs[r].file, src + t->runs[r].mem, t->runs[r].len);
        for (int r = 0; r < t->n_xruns; r++)
            memcpy(dst + t->xruns[r].file, xsrc + t->xruns[r].mem, t->xruns[r].len);
        for (int a = 0; a < t->n_atexts; a++) {
            const arena_text *at = &t->atexts[a];
            uint32_t off, len;
            memcpy(&off, xsrc + at->src_off, sizeof off);
            memcpy(&len, xsrc + at->src_len, sizeof len);
            size_t cut = len ? utf8_cut(arena + off, len, at->width - 1) : 0;
            if (cut)
                memcpy(dst + at->file, arena + off, cut);
            memset(dst + at->file + cut, 0, at->width - cut);
            if (at->flag)
                dst[at->flag_file] = cut < len;
        }
        t->n++;
    }
    return NS_OK;
}

static void table_close(table *t)
{
    if (t->dset > 0)
        H5Dclose(t->dset);
    chunk_free(t->cur);
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

/* /llm: what LLM results depend on beyond the spec text: the SHA-256 of
 * every prompt template and of the trait markers (so two runs with other
 * prompts are never confused), and the settings as loaded. */
static herr_t write_llm_group(hid_t file, const ns_spec *spec)
{
    const ns_llm_config *c = ns_spec_llm(spec);
    hid_t g = H5Gcreate2(file, "/llm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    herr_t rc = 0;
    char name[64];
    for (int i = 0; i < NS_PROMPT_COUNT; i++) {
        ns_template *t = NULL;
        ns_error e;
        if (ns_template_load(c->prompt[i], &t, &e) != NS_OK) {
            rc = -1;
            break;
        }
        snprintf(name, sizeof name, "prompt_%s", ns_prompt_keys[i]);
        rc |= attr_str(g, name, c->prompt[i]);
        snprintf(name, sizeof name, "prompt_%s_sha256", ns_prompt_keys[i]);
        rc |= attr_str(g, name, ns_template_hash(t));
        ns_template_free(t);
    }
    ns_template *m = NULL;
    ns_error e;
    if (ns_template_load(c->markers, &m, &e) == NS_OK) { /* bytes and hash only */
        rc |= attr_str(g, "markers", c->markers);
        rc |= attr_str(g, "markers_sha256", ns_template_hash(m));
    }
    ns_template_free(m);
    rc |= attr_str(g, "judge", c->has_judge ? c->judge.full : "");
    rc |= attr_str(g, "judge_language", c->has_judge ? c->judge_language : "");
    rc |= attr_int(g, "window", c->window);
    rc |= attr_int(g, "max_tokens", c->max_tokens);
    rc |= attr_f64(g, "temperature", c->temperature);
    char list[NS_LLM_MAX_FALLBACKS * NS_MODEL_LEN + 8] = "";
    for (int i = 0; i < c->n_fallbacks; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "",
                 c->fallback[i].full);
    rc |= attr_str(g, "fallbacks", list);
    rc |= attr_str(g, "curl_version", curl_version());
    H5Gclose(g);
    return rc;
}

static ns_status write_metadata(ns_store *st, const ns_spec *spec, ns_error *err)
{
    hid_t root = H5Gopen2(st->file, "/", H5P_DEFAULT);
    herr_t rc = root < 0 ? -1 : write_root_attrs(root, spec);
    if (root >= 0)
        H5Gclose(root);
    if (rc < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write the root attributes", st->path);
    hid_t g = H5Gcreate2(st->file, "/run", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0)
        H5Gclose(g);
    ns_run_progress p0 = {.state = "running"};
    if (g < 0 || write_progress(st->file, &p0) < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write /run", st->path);
    g = H5Gcreate2(st->file, "/scenarios", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot create /scenarios", st->path);
    for (int i = 0; i < ns_spec_scenario_count(spec); i++) {
        const ns_scenario *sc = ns_spec_scenario(spec, i);
        if (write_scenario(g, sc) < 0) {
            H5Gclose(g);
            return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write /scenarios/%s", st->path, sc->name);
        }
    }
    H5Gclose(g);
    if (st->llm && ns_spec_has_llm(spec) && write_llm_group(st->file, spec) < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write /llm", st->path);
    return NS_OK;
}

/* ---- public ------------------------------------------------------------ */

static ns_status create_tables(ns_store *st, int k, ns_error *err)
{
    table *t = st->t;
    for (int i = 0; i < N_TABLES; i++)
        t[i].llm = st->llm;
    ns_status s = table_create(st, &t[T_JOBS], "jobs", job_type(&t[T_JOBS]),
                               sizeof(ns_job_row), err);
    if (!s)
        s = table_create(st, &t[T_OUTCOMES], "outcomes", outcome_type(&t[T_OUTCOMES], k),
                         sizeof(ns_outcome_row), err);
    if (!s)
        s = table_create(st, &t[T_ROUNDS], "rounds", turn_type(&t[T_ROUNDS], k),
                         sizeof(ns_turn_row), err);
    /* LLM transcripts are built from the turn rows (llm_text_type) */
    if (!s)
        s = table_create(st, &t[T_TEXTS], "transcripts", text_type(&t[T_TEXTS]),
                         st->llm ? sizeof(ns_turn_row) : sizeof(ns_transcript_row), err);
    if (s)
        return s;
    /* every buffer fits the largest chunk, so any can serve any table */
    for (int i = 0; i < N_TABLES; i++) {
        size_t bytes = st->t[i].chunk_rows * st->t[i].file_row;
        if (bytes > st->chunk_bytes)
            st->chunk_bytes = bytes;
    }
    for (int i = 0; i < N_TABLES; i++)
        st->t[i].cur = chunk_new(st);
    deflater_init(&st->wdef, st->chunk_bytes);
    return NS_OK;
}

ns_status ns_store_create(const char *path, const ns_spec *spec, ns_store **out,
                          ns_error *err)
{
    return ns_store_create_ex(path, spec, ns_spec_has_llm(spec), out, err);
}

ns_status ns_store_create_ex(const char *path, const ns_spec *spec, int llm,
                             ns_store **out, ns_error *err)
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
    st->llm = llm != 0;
    pthread_mutex_init(&st->pool.mu, NULL);
    pthread_cond_init(&st->pool.work, NULL);
    pthread_cond_init(&st->pool.done, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* lock where the file system can, carry on where it cannot (NFS) */
    H5Pset_file_locking(fapl, 1, 1);
#endif
    st->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (st->file < 0) {
        ns_status s = ns_h5_fail(err, NS_ERR_HDF5, "cannot create results file %s", path);
        ns_store_abandon(st);
        return s;
    }
    ns_status s = write_metadata(st, spec, err);
    hid_t root = s ? -1 : H5Gopen2(st->file, "/", H5P_DEFAULT);
    if (!s && (root < 0 || attr_int(root, "llm", st->llm) < 0))
        s = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write the root attributes", path);
    if (root >= 0)
        H5Gclose(root);
    if (!s)
        s = create_tables(st, k, err);
    if (s) {
        ns_store_abandon(st);
        return s;
    }
    *out = st;
    return NS_OK;
}

/* A failure loses rows, so it sticks (see the top): the first one is kept
 * and every later call returns it again. */
static ns_status keep_failure(ns_store *st, ns_status s, const ns_error *err)
{
    if (s && !st->failed) {
        st->failed = s;
        if (err)
            st->fail = *err;
        else
            ns_fail(&st->fail, s, "%s: the store failed earlier", st->path);
    }
    return s;
}

static ns_status failed_before(const ns_store *st, ns_error *err)
{
    if (err)
        *err = st->fail;
    return st->failed;
}

/* Job ids must ascend across blocks and lie within the block's range:
 * readers binary-search the tables by job id. And /transcripts is parallel
 * to /rounds, so a store that records texts needs them with every turn. */
/* An LLM store needs the LLM rows of every block, and offsets that lie in
 * the block's arena; a built-in store has no columns for them. */
static int span_ok(const ns_block *b, uint32_t off, uint32_t len)
{
    return (size_t)off + len <= b->arena_len;
}

static ns_status check_llm_block(ns_store *st, const ns_block *b, ns_error *err)
{
    unsigned long long f = b->first_index, e = b->end_index;
    if (!b->has_llm != !st->llm && (b->n_jobs > 0 || b->n_turns > 0))
        return ns_fail(err, NS_ERR_INTERNAL, "%s: block [%llu, %llu) %s LLM rows, but the "
                       "store %s LLM columns", st->path, f, e,
                       b->has_llm ? "has" : "lacks", st->llm ? "has" : "has no");
    if (!st->llm)
        return NS_OK;
    if ((b->n_jobs && !b->llm_jobs) || (b->n_turns && !b->llm_turns))
        return ns_fail(err, NS_ERR_INTERNAL, "%s: block [%llu, %llu) has has_llm without "
                       "LLM rows", st->path, f, e);
    for (size_t k = 0; k < b->n_jobs; k++) {
        const ns_llm_job_row *l = &b->llm_jobs[k];
        if (!span_ok(b, l->summary_off[0], l->summary_len[0]) ||
            !span_ok(b, l->summary_off[1], l->summary_len[1]))
            return ns_fail(err, NS_ERR_INTERNAL, "%s: job %llu: a judge summary lies "
                           "outside the block's arena", st->path,
                           (unsigned long long)b->jobs[k].job_id);
    }
    for (size_t k = 0; b->has_texts && k < b->n_turns; k++)
        if (!span_ok(b, b->llm_turns[k].text_off, b->llm_turns[k].text_len))
            return ns_fail(err, NS_ERR_INTERNAL, "%s: job %llu turn %d: its text lies "
                           "outside the block's arena", st->path,
                           (unsigned long long)b->turns[k].job_id, b->turns[k].turn);
    return NS_OK;
}

static ns_status check_block(ns_store *st, const ns_block *b, ns_error *err)
{
    ns_status s = st->llm || b->has_llm ? check_llm_block(st, b, err) : NS_OK;
    if (s)
        return s;
    if (st->transcripts && !b->has_texts && b->n_turns > 0)
        return ns_fail(err, NS_ERR_INTERNAL,
                       "%s: block [%llu, %llu) has %zu turns without texts, but the "
                       "store records transcripts", st->path,
                       (unsigned long long)b->first_index, (unsigned long long)b->end_index,
                       b->n_turns);
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

static ns_status append_builtin(ns_store *st, const ns_block *b, ns_error *err)
{
    ns_status s = table_add(st, &st->t[T_JOBS], b->jobs, b->n_jobs, err);
    if (!s)
        s = table_add(st, &st->t[T_OUTCOMES], b->outcomes, b->n_jobs, err);
    if (!s)
        s = table_add(st, &st->t[T_ROUNDS], b->turns, b->n_turns, err);
    /* texts of a block without them are not even read: they are not filled */
    if (!s && st->transcripts && b->has_texts)
        s = table_add(st, &st->t[T_TEXTS], b->texts, b->n_turns, err);
    return s;
}

/* LLM blocks: every table also takes its LLM row; transcripts come from
 * the turn rows and the arena (the texts[] rows are not filled). */
static ns_status append_llm(ns_store *st, const ns_block *b, ns_error *err)
{
    table *t = st->t;
    ns_status s = table_add_llm(st, &t[T_JOBS], b->jobs, b->llm_jobs, b->arena, b->n_jobs,
                                err);
    if (!s)
        s = table_add_llm(st, &t[T_OUTCOMES], b->outcomes, b->llm_jobs, b->arena, b->n_jobs,
                          err);
    if (!s)
        s = table_add_llm(st, &t[T_ROUNDS], b->turns, b->llm_turns, b->arena, b->n_turns,
                          err);
    if (!s && st->transcripts && b->has_texts)
        s = table_add_llm(st, &t[T_TEXTS], b->turns, b->llm_turns, b->arena, b->n_turns,
                          err);
    return s;
}

ns_status ns_store_append(ns_store *st, const ns_block *b, ns_error *err)
{
    quiet_hdf5();
    if (st->failed)
        return failed_before(st, err);
    ns_status s = check_block(st, b, err);
    /* write what the pool has finished, so buffers come back early */
    if (!s && st->in_flight)
        s = pool_collect(st, 0, err);
    if (!s && st->llm)
        s = append_llm(st, b, err);
    else if (!s)
        s = append_builtin(st, b, err);
    return keep_failure(st, s, err);
}

ns_status ns_store_set_threads(ns_store *st, int n, ns_error *err)
{
    quiet_hdf5();
    if (st->failed)
        return failed_before(st, err);
    if (n < 0)
        return ns_fail(err, NS_ERR_INTERNAL, "%s: %d compression threads", st->path, n);
    if (n > MAX_POOL_THREADS)
        n = MAX_POOL_THREADS;
    if (n == st->pool.n)
        return NS_OK;
    /* the buffers in flight belong to the old pool's share: write them */
    ns_status s = pool_drain(st, err);
    pool_stop(st);
    free_spares(st);
    if (!s && n > 0)
        s = pool_start(st, n, err);
    return keep_failure(st, s, err);
}

void ns_store_get_stats(const ns_store *st, ns_store_stats *out)
{
    *out = st->stats;
    out->threads = st->pool.n;
    out->writer_deflate_seconds = st->wdef.cpu;
    pool *p = (pool *)&st->pool; /* the lock is not part of the value */
    pthread_mutex_lock(&p->mu);
    out->pool_deflate_seconds = p->cpu;
    pthread_mutex_unlock(&p->mu);
}

ns_status ns_store_flush(ns_store *st, const ns_run_progress *p, ns_error *err)
{
    quiet_hdf5();
    if (st->failed)
        return failed_before(st, err);
    ns_status s = pool_drain(st, err);
    for (int i = 0; i < N_TABLES && !s; i++)
        s = table_write_partial(st, &st->t[i], err);
    if (!s && p && write_progress(st->file, p) < 0)
        s = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot write /run", st->path);
    if (!s && H5Fflush(st->file, H5F_SCOPE_LOCAL) < 0)
        s = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot flush", st->path);
    return keep_failure(st, s, err);
}

/* Stops the pool and closes every handle; returns -1 if HDF5 reported a
 * failure (the file close is where buffered metadata reaches the disk). */
static herr_t close_handles(ns_store *st)
{
    pool_stop(st);
    free_spares(st);
    for (int i = 0; i < N_TABLES; i++)
        table_close(&st->t[i]);
    deflater_end(&st->wdef);
    herr_t rc = st->file > 0 ? H5Fclose(st->file) : 0;
    pthread_mutex_destroy(&st->pool.mu);
    pthread_cond_destroy(&st->pool.work);
    pthread_cond_destroy(&st->pool.done);
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
        s = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot close", path);
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
