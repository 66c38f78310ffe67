/*
 * ns_results.c - reading results files: run information (`negsim run
 * --resume` and `negsim info`), one negotiation as a readable transcript
 * (`negsim show`), and the four tables as CSV (`negsim export`).
 *
 * Tables are read through their own compound types, not the C row structs:
 * a table is opened as a list of columns (name, class, offset and size in
 * the native version of the file's type), so the readers follow whatever
 * columns a file has (K value columns, say) and export needs no per-table
 * code. Reads go through hyperslabs of at most one chunk, so memory stays
 * bounded whatever the number of jobs.
 *
 * Finding a job: rows are written in grid order, so every table is sorted
 * by job_id. A lookup first binary-searches the chunks by their first
 * job_id (one small read per probe, reading the job_id column alone
 * through a one-member compound type), then searches inside one chunk.
 *
 * LLM runs (docs/hdf5-layout.md, "LLM columns") are recognised by their
 * columns: `show` then prints each turn's model, tokens, latency and cost
 * with its full text, and the job's cost, usage, error and judge scores;
 * `export` needs nothing special, it writes whatever columns there are.
 *
 * HDF5 errors are translated here: automatic printing is switched off on
 * entry and failures come back as NS_ERR_HDF5 / NS_ERR_CORRUPT with the
 * innermost HDF5 message.
 */
#include "ns_results.h"
#include "ns_fs.h"
#include "ns_h5.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns_catalog.h"
#include "ns_record.h"
#include "ns_scenario.h"

/* The newest layout this reader understands (ns_store.c writes it); 2
 * added the LLM columns, which this reader finds by name. */
#define NS_RESULTS_FORMAT 2
/* Rows per read when a dataset is not chunked. */
#define SCAN_ROWS 65536

/* ---- HDF5 errors ------------------------------------------------------- */

static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }


/* ---- opening files and reading attributes ------------------------------ */

/* Opens `path` read-only after checking it is an HDF5 file with a /run
 * group and a negsim_version attribute. */
static ns_status open_results(const char *path, hid_t *file, ns_error *err)
{
    quiet_hdf5();
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot open %s", path);
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return ns_fail(err, NS_ERR_CORRUPT, "%s is not an HDF5 file", path);
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* lock where the file system can, carry on where it cannot (NFS) */
    H5Pset_file_locking(fapl, 1, 1);
#endif
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (*file < 0)
        return ns_h5_fail(err, NS_ERR_IO, "cannot open %s", path);
    if (H5Aexists(*file, "negsim_version") <= 0 || H5Lexists(*file, "run", H5P_DEFAULT) <= 0 ||
        H5Aexists(*file, "format_version") <= 0) {
        H5Eclear2(H5E_DEFAULT);
        H5Fclose(*file);
        return ns_fail(err, NS_ERR_CORRUPT,
                       "%s is not a negsim results file (no negsim_version "
                       "attribute or /run group)", path);
    }
    return NS_OK;
}

/* Reads string attribute `name` of object `obj` (relative to loc), fixed
 * or variable length, into buf. Returns -1 when absent or unreadable. */
static int attr_str(hid_t loc, const char *obj, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (H5Tget_class(ft) == H5T_STRING) {
        /* HDF5 converts no character sets: read in the file's own */
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (H5Tis_variable_str(ft) > 0) {
            char *v = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &v) >= 0) {
                snprintf(buf, size, "%s", v ? v : "");
                H5free_memory(v);
                rc = 0;
            }
        } else {
            size_t n = H5Tget_size(ft);
            char *tmp = ns_xcalloc(1, n + 1);
            H5Tset_size(mt, n);
            if (H5Aread(a, mt, tmp) >= 0) {
                snprintf(buf, size, "%s", tmp);
                rc = 0;
            }
            free(tmp);
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

static int attr_num(hid_t loc, const char *obj, const char *name, hid_t mtype, void *out)
{
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    H5T_class_t c = H5Tget_class(ft);
    int rc = (c == H5T_INTEGER || c == H5T_FLOAT) && H5Aread(a, mtype, out) >= 0 ? 0 : -1;
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

static ns_status read_info(hid_t f, const char *path, ns_results_info *info, ns_error *err)
{
    memset(info, 0, sizeof *info);
    int format = 0;
    int rc = attr_num(f, ".", "format_version", H5T_NATIVE_INT, &format);
    rc |= attr_str(f, ".", "negsim_version", info->version, sizeof info->version);
    rc |= attr_num(f, ".", "spec_digest", H5T_NATIVE_UINT64, &info->digest);
    rc |= attr_str(f, "run", "state", info->state, sizeof info->state);
    rc |= attr_num(f, "run", "jobs_done", H5T_NATIVE_UINT64, &info->jobs_done);
    rc |= attr_num(f, "run", "next_index", H5T_NATIVE_UINT64, &info->next_index);
    rc |= attr_num(f, "run", "jobs_planned", H5T_NATIVE_UINT64, &info->jobs_planned);
    rc |= attr_num(f, "run", "wall_seconds", H5T_NATIVE_DOUBLE, &info->wall_seconds);
    H5Eclear2(H5E_DEFAULT);
    if (rc < 0)
        return ns_fail(err, NS_ERR_CORRUPT,
                       "%s: a negsim results file without its run attributes "
                       "(spec_digest, /run state, jobs_done, next_index, ...)", path);
    if (format < 1 || format > NS_RESULTS_FORMAT)
        return ns_fail(err, NS_ERR_CORRUPT,
                       "%s has results format %d; this negsim (format %d) cannot read it",
                       path, format, NS_RESULTS_FORMAT);
    return NS_OK;
}

ns_status ns_results_info_read(const char *path, ns_results_info *info, ns_error *err)
{
    hid_t f;
    ns_status st = open_results(path, &f, err);
    if (st)
        return st;
    st = read_info(f, path, info, err);
    H5Fclose(f);
    return st;
}

/* ---- tables as lists of columns ---------------------------------------- */

typedef struct col {
    char name[64];
    H5T_class_t cls;   /* H5T_INTEGER, H5T_FLOAT or H5T_STRING */
    H5T_sign_t sign;
    size_t off, size;  /* in a row of the native, packed type */
} col;

typedef struct rtable {
    const char *name;
    hid_t dset, ntype;   /* ntype: native, packed version of the row type */
    size_t row_size;
    hsize_t rows, chunk_rows;
    int n_cols;
    col *cols;
    unsigned char *buf;  /* room for chunk_rows rows */
} rtable;

static void rtable_close(rtable *t)
{
    if (t->dset > 0)
        H5Dclose(t->dset);
    if (t->ntype > 0)
        H5Tclose(t->ntype);
    free(t->cols);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

static ns_status read_columns(rtable *t, const char *path, ns_error *err)
{
    t->n_cols = H5Tget_nmembers(t->ntype);
    t->cols = ns_xcalloc((size_t)(t->n_cols > 0 ? t->n_cols : 1), sizeof *t->cols);
    for (int i = 0; i < t->n_cols; i++) {
        col *c = &t->cols[i];
        char *name = H5Tget_member_name(t->ntype, (unsigned)i);
        hid_t mt = H5Tget_member_type(t->ntype, (unsigned)i);
        snprintf(c->name, sizeof c->name, "%s", name ? name : "?");
        H5free_memory(name);
        c->cls = H5Tget_class(mt);
        c->off = H5Tget_member_offset(t->ntype, (unsigned)i);
        c->size = H5Tget_size(mt);
        c->sign = c->cls == H5T_INTEGER ? H5Tget_sign(mt) : H5T_SGN_NONE;
        int vlen = c->cls == H5T_STRING && H5Tis_variable_str(mt) > 0;
        H5Tclose(mt);
        if ((c->cls != H5T_INTEGER && c->cls != H5T_FLOAT && c->cls != H5T_STRING) ||
            vlen || (c->cls == H5T_FLOAT && c->size != 4 && c->size != 8))
            return ns_fail(err, NS_ERR_CORRUPT, "%s: /%s column %s has a type negsim "
                           "does not write", path, t->name, c->name);
    }
    return NS_OK;
}

/* Opens a compound 1-D dataset at `name` (relative to the file root). */
static ns_status rtable_open(hid_t f, const char *path, const char *name, rtable *t,
                             ns_error *err)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dset = H5Dopen2(f, name, H5P_DEFAULT);
    if (t->dset < 0)
        return ns_h5_fail(err, NS_ERR_CORRUPT, "%s: no table /%s", path, name);
    hid_t ft = H5Dget_type(t->dset), space = H5Dget_space(t->dset);
    hid_t dcpl = H5Dget_create_plist(t->dset);
    int ok = H5Tget_class(ft) == H5T_COMPOUND && H5Sget_simple_extent_ndims(space) == 1;
    if (ok) {
        H5Sget_simple_extent_dims(space, &t->rows, NULL);
        /* Native and packed: for a file written on this kind of machine
         * that is the file's own type, so HDF5 reads without converting;
         * the accessors below copy members out with memcpy. */
        t->ntype = H5Tget_native_type(ft, H5T_DIR_ASCEND);
        H5Tpack(t->ntype);
        t->row_size = H5Tget_size(t->ntype);
        if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 1, &t->chunk_rows) != 1)
            t->chunk_rows = SCAN_ROWS;
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(ft);
    if (!ok) {
        H5Eclear2(H5E_DEFAULT);
        return ns_fail(err, NS_ERR_CORRUPT, "%s: /%s is not a table of rows", path, name);
    }
    t->buf = ns_xmalloc(t->chunk_rows * t->row_size);
    return read_columns(t, path, err);
}

static int col_index(const rtable *t, const char *name)
{
    for (int i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

/* Reads rows [start, start + n) (n <= chunk_rows) in type `mtype` into
 * `dst`. */
static herr_t read_rows(const rtable *t, hid_t mtype, hsize_t start, hsize_t n, void *dst)
{
    hid_t fs = H5Dget_space(t->dset), ms = H5Screate_simple(1, &n, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL);
    if (rc >= 0)
        rc = H5Dread(t->dset, mtype, ms, fs, H5P_DEFAULT, dst);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc;
}

/* Row accessors on a packed row (members may be unaligned). */
static int64_t get_int(const unsigned char *row, const col *c)
{
    const unsigned char *p = row + c->off;
    int s = c->sign != H5T_SGN_NONE;
    switch (c->size) {
    case 1: return s ? (int64_t)*(const int8_t *)p : (int64_t)*(const uint8_t *)p;
    case 2: { int16_t v; uint16_t u; memcpy(&v, p, 2); memcpy(&u, p, 2);
              return s ? (int64_t)v : (int64_t)u; }
    case 4: { int32_t v; uint32_t u; memcpy(&v, p, 4); memcpy(&u, p, 4);
              return s ? (int64_t)v : (int64_t)u; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
    }
}

static double get_num(const unsigned char *row, const col *c)
{
    if (c->cls == H5T_INTEGER)
        return c->sign == H5T_SGN_NONE && c->size == 8 ? (double)(uint64_t)get_int(row, c)
                                                       : (double)get_int(row, c);
    if (c->size == 4) {
        float v;
        memcpy(&v, row + c->off, sizeof v);
        return v;
    }
    double v;
    memcpy(&v, row + c->off, sizeof v);
    return v;
}

/* Copies a fixed-size string column into buf (NUL-terminated). negsim
 * writes NULLTERM strings (earlier files: NULLPAD); both end at the first
 * NUL, and a field without one is taken whole. */
static const char *get_str(const unsigned char *row, const col *c, char *buf, size_t size)
{
    size_t n = strnlen((const char *)row + c->off, c->size);
    if (n >= size)
        n = size - 1;
    memcpy(buf, row + c->off, n);
    buf[n] = '\0';
    return buf;
}

/* ---- finding a job ----------------------------------------------------- */

/* A memory type holding only job_id, so searches read one column. */
static hid_t id_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(uint64_t));
    H5Tinsert(t, "job_id", 0, H5T_NATIVE_UINT64);
    return t;
}

/* First row whose job_id >= id (t->rows when none), in *row. */
static ns_status lower_bound(const rtable *t, uint64_t id, hsize_t *row, ns_error *err)
{
    hid_t it = id_type();
    uint64_t *ids = ns_xmalloc(t->chunk_rows * sizeof *ids);
    hsize_t n_chunks = (t->rows + t->chunk_rows - 1) / t->chunk_rows, lo = 0, hi = n_chunks;
    herr_t rc = 0;
    /* the last chunk whose first id is < id (or the first chunk) holds the
     * answer, or the answer is the first row of the chunk after it. Not
     * <= id: a job's rows may run on into a chunk that starts with it. */
    while (rc >= 0 && hi - lo > 1) {
        hsize_t mid = lo + (hi - lo) / 2;
        rc = read_rows(t, it, mid * t->chunk_rows, 1, ids);
        if (rc >= 0 && ids[0] < id)
            lo = mid;
        else
            hi = mid;
    }
    hsize_t start = lo * t->chunk_rows, n = 0;
    if (rc >= 0 && start < t->rows) {
        n = t->rows - start < t->chunk_rows ? t->rows - start : t->chunk_rows;
        rc = read_rows(t, it, start, n, ids);
    }
    hsize_t a = 0, b = n;
    while (rc >= 0 && a < b) {
        hsize_t m = a + (b - a) / 2;
        if (ids[m] < id)
            a = m + 1;
        else
            b = m;
    }
    free(ids);
    H5Tclose(it);
    if (rc < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "cannot read the job ids of /%s", t->name);
    *row = start + a;
    return NS_OK;
}

/* Reads the rows of job `id` starting at `row` into t->buf, at most
 * chunk_rows of them; *n is how many. */
static ns_status read_job_rows(const rtable *t, uint64_t id, hsize_t row, size_t *n,
                               ns_error *err)
{
    *n = 0;
    if (row >= t->rows)
        return NS_OK;
    hsize_t count = t->rows - row < t->chunk_rows ? t->rows - row : t->chunk_rows;
    if (read_rows(t, t->ntype, row, count, t->buf) < 0)
        return ns_h5_fail(err, NS_ERR_HDF5, "cannot read /%s", t->name);
    const col *c = &t->cols[col_index(t, "job_id")];
    while (*n < count && (uint64_t)get_int(t->buf + *n * t->row_size, c) == id)
        (*n)++;
    return NS_OK;
}

/* ---- show -------------------------------------------------------------- */

typedef struct issue_info {
    int n;
    char name[NS_MAX_ISSUES][NS_NAME_LEN];
    char unit[NS_MAX_ISSUES][32];
    int discrete[NS_MAX_ISSUES];
    char options[NS_MAX_ISSUES][NS_MAX_OPTIONS * NS_NAME_LEN + 1];
} issue_info;

static ns_status read_issues(hid_t f, const char *path, const char *scenario,
                             issue_info *ii, ns_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "scenarios/%s/issues", scenario);
    rtable t;
    ns_status st = rtable_open(f, path, name, &t, err);
    memset(ii, 0, sizeof *ii);
    if (!st && read_rows(&t, t.ntype, 0, t.rows < NS_MAX_ISSUES ? t.rows : NS_MAX_ISSUES,
                         t.buf) < 0)
        st = ns_h5_fail(err, NS_ERR_HDF5, "%s: cannot read /%s", path, name);
    int cn = col_index(&t, "name"), cu = col_index(&t, "unit"), ct = col_index(&t, "type"),
        co = col_index(&t, "options");
    if (!st && (cn < 0 || cu < 0 || ct < 0 || co < 0))
        st = ns_fail(err, NS_ERR_CORRUPT, "%s: /%s lacks name/unit/type/options", path, name);
    for (hsize_t i = 0; !st && i < t.rows && i < NS_MAX_ISSUES; i++) {
        const unsigned char *row = t.buf + i * t.row_size;
        char type[32];
        get_str(row, &t.cols[cn], ii->name[i], sizeof ii->name[i]);
        get_str(row, &t.cols[cu], ii->unit[i], sizeof ii->unit[i]);
        get_str(row, &t.cols[co], ii->options[i], sizeof ii->options[i]);
        ii->discrete[i] = strcmp(get_str(row, &t.cols[ct], type, sizeof type), "discrete") == 0;
        ii->n = (int)i + 1;
    }
    rtable_close(&t);
    return st;
}

/* Option `k` of a comma-joined list, or NULL. */
static const char *option_name(const char *list, int k, char *buf, size_t size)
{
    const char *p = list;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p || !*p)
        return NULL;
    size_t n = strcspn(p, ",");
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* "price 12000 EUR, warranty 24 months, payment net30" */
static void print_values(FILE *out, const issue_info *ii, const rtable *t,
                         const unsigned char *row)
{
    for (int i = 0; i < ii->n; i++) {
        char vname[16], opt[NS_NAME_LEN];
        snprintf(vname, sizeof vname, "v%d", i);
        int c = col_index(t, vname);
        double v = c >= 0 ? get_num(row, &t->cols[c]) : NAN;
        fprintf(out, "%s%s ", i ? ", " : "", ii->name[i]);
        const char *o = ii->discrete[i] && !isnan(v) && v >= 0
                            ? option_name(ii->options[i], (int)v, opt, sizeof opt)
                            : NULL;
        if (o)
            fprintf(out, "%s", o);
        else
            fprintf(out, "%.10g%s%s", v, ii->unit[i][0] ? " " : "", ii->unit[i]);
    }
}

static double num_of(const rtable *t, const unsigned char *row, const char *name)
{
    int c = col_index(t, name);
    return c >= 0 ? get_num(row, &t->cols[c]) : NAN;
}

static uint64_t uint_of(const rtable *t, const unsigned char *row, const char *name)
{
    int c = col_index(t, name);
    return c >= 0 && t->cols[c].cls == H5T_INTEGER ? (uint64_t)get_int(row, &t->cols[c]) : 0;
}

static const char *str_of(const rtable *t, const unsigned char *row, const char *name,
                          char *buf, size_t size)
{
    int c = col_index(t, name);
    if (c < 0 || t->cols[c].cls != H5T_STRING) {
        buf[0] = '\0';
        return buf;
    }
    return get_str(row, &t->cols[c], buf, size);
}

static void print_side(FILE *out, const rtable *jt, const unsigned char *row, int side)
{
    const char *s = ns_side_names[side];
    char key[64], a[64], p[64], ta[64], in[64];
    snprintf(key, sizeof key, "%s_agent", s);
    str_of(jt, row, key, a, sizeof a);
    snprintf(key, sizeof key, "%s_personality", s);
    str_of(jt, row, key, p, sizeof p);
    snprintf(key, sizeof key, "%s_tactic", s);
    str_of(jt, row, key, ta, sizeof ta);
    snprintf(key, sizeof key, "%s_influence", s);
    str_of(jt, row, key, in, sizeof in);
    char model[NS_MODEL_LEN + 1];
    snprintf(key, sizeof key, "%s_model", s);
    str_of(jt, row, key, model, sizeof model);
    fprintf(out, "  %-6s agent %s%s%s%s, personality %s, tactic %s, influence %s\n", s, a,
            model[0] ? " (" : "", model, model[0] ? ")" : "", p, ta[0] ? ta : "none",
            in[0] ? in : "none");
    fprintf(out, "         traits:");
    for (int k = 0; k < NS_N_TRAITS; k++) {
        snprintf(key, sizeof key, "%s_%s", s, ns_trait_names[k]);
        fprintf(out, " %s %.2f", ns_trait_names[k], num_of(jt, row, key));
    }
    fputc('\n', out);
}

static void print_header(FILE *out, uint64_t id, const rtable *jt, const unsigned char *row)
{
    char sc[64], op[16];
    fprintf(out, "job %" PRIu64 ": scenario %s, repetition %" PRIu64 ", seed %" PRIu64
            ", opener %s\n", id, str_of(jt, row, "scenario", sc, sizeof sc),
            uint_of(jt, row, "repetition"), uint_of(jt, row, "seed"),
            str_of(jt, row, "opener", op, sizeof op));
    print_side(out, jt, row, NS_BUYER);
    print_side(out, jt, row, NS_SELLER);
    char judge[NS_MODEL_LEN + 1];
    if (str_of(jt, row, "judge_model", judge, sizeof judge)[0])
        fprintf(out, "  judge  %s\n", judge);
}

/* One turn: "round 2  seller  offer   price 12500 EUR   (u_buyer 0.14, u_seller 0.70)"
 * then the message text, when the file has transcripts. */
static void print_turn(FILE *out, const issue_info *ii, const rtable *rt,
                       const unsigned char *row, const char *text, int truncated)
{
    char sp[16], ac[16];
    fprintf(out, "round %-3.0f %-6s %-6s ", num_of(rt, row, "round"),
            str_of(rt, row, "speaker", sp, sizeof sp), str_of(rt, row, "action", ac, sizeof ac));
    if (strcmp(ac, "walk") != 0)
        print_values(out, ii, rt, row);
    fprintf(out, "  (u_buyer %.3f, u_seller %.3f)\n", num_of(rt, row, "u_buyer"),
            num_of(rt, row, "u_seller"));
    char model[NS_MODEL_LEN + 1];
    if (str_of(rt, row, "model", model, sizeof model)[0]) {
        fprintf(out, "    model %s, tokens %.0f in / %.0f out, latency %.0f ms, cost $%.6f",
                model, num_of(rt, row, "input_tokens"), num_of(rt, row, "output_tokens"),
                num_of(rt, row, "latency_ms"), num_of(rt, row, "cost_usd"));
        fprintf(out, "%s%s, %.0f attempt(s)\n", num_of(rt, row, "cached") > 0 ? ", cached" : "",
                num_of(rt, row, "repaired") > 0 ? ", repaired" : "",
                num_of(rt, row, "attempts"));
    }
    if (text)
        fprintf(out, "    \"%s\"%s\n", text, truncated ? " [cut to the column's width]" : "");
}

/* A judge score, or "n/a" (NaN: no score). */
static void print_score(FILE *out, const char *what, double v)
{
    if (isnan(v))
        fprintf(out, "%s n/a", what);
    else
        fprintf(out, "%s %.1f", what, v);
}

/* The LLM accounting of an outcome row, when the file has it. */
static void print_llm_outcome(FILE *out, const rtable *ot, const unsigned char *row)
{
    if (col_index(ot, "cost_usd") < 0)
        return;
    fprintf(out, "  cost $%.6f (buyer $%.6f, seller $%.6f, judge $%.6f); tokens %.0f in, "
            "%.0f out\n", num_of(ot, row, "cost_usd"), num_of(ot, row, "buyer_cost_usd"),
            num_of(ot, row, "seller_cost_usd"), num_of(ot, row, "judge_cost_usd"),
            num_of(ot, row, "input_tokens"), num_of(ot, row, "output_tokens"));
    double lat = num_of(ot, row, "latency_ms");
    fprintf(out, "  requests %.0f (cache hits %.0f), retries %.0f, repairs %.0f, invalid "
            "outputs %.0f, mean latency ", num_of(ot, row, "requests"),
            num_of(ot, row, "cache_hits"), num_of(ot, row, "retries"),
            num_of(ot, row, "repairs"), num_of(ot, row, "invalid_outputs"));
    if (isnan(lat))
        fprintf(out, "n/a\n");
    else
        fprintf(out, "%.0f ms\n", lat);
    char cls[32], msg[NS_LLM_SUMMARY_LEN + 1];
    if (str_of(ot, row, "error", cls, sizeof cls)[0])
        fprintf(out, "  error %s: %s\n", cls, str_of(ot, row, "error_message", msg, sizeof msg));
    for (int side = 0; side < 2; side++) {
        char key[64];
        const char *sn = ns_side_names[side];
        fprintf(out, "  judge on the %s: ", sn);
        snprintf(key, sizeof key, "%s_influencing_score", sn);
        print_score(out, "influencing", num_of(ot, row, key));
        snprintf(key, sizeof key, "%s_tactic_score", sn);
        print_score(out, ", tactic", num_of(ot, row, key));
        snprintf(key, sizeof key, "%s_judge_summary", sn);
        if (str_of(ot, row, key, msg, sizeof msg)[0])
            fprintf(out, "\n    %s", msg);
        fputc('\n', out);
    }
}

static void print_outcome(FILE *out, const issue_info *ii, const rtable *ot,
                          const unsigned char *row)
{
    char end[32], by[16];
    str_of(ot, row, "ending", end, sizeof end);
    str_of(ot, row, "closed_by", by, sizeof by);
    fprintf(out, "outcome: %s%s%s after %.0f rounds, %.0f turns\n", end,
            by[0] ? " by " : "", by, num_of(ot, row, "rounds"), num_of(ot, row, "turns"));
    if (num_of(ot, row, "deal") == 0) {
        fprintf(out, "  no agreement: both sides get their disagreement utility 0\n");
        return;
    }
    fprintf(out, "  agreed: ");
    print_values(out, ii, ot, row);
    fputc('\n', out);
    fprintf(out, "  u_buyer %.4f, u_seller %.4f, joint %.4f, Nash product %.4f\n",
            num_of(ot, row, "u_buyer"), num_of(ot, row, "u_seller"),
            num_of(ot, row, "joint_utility"), num_of(ot, row, "nash_product"));
    fprintf(out, "  distance to Pareto frontier %.4f, to Nash point %.4f; surplus share "
            "buyer %.4f, seller %.4f\n", num_of(ot, row, "pareto_distance"),
            num_of(ot, row, "nash_distance"), num_of(ot, row, "surplus_share_buyer"),
            num_of(ot, row, "surplus_share_seller"));
}

static void print_outcome_all(FILE *out, const issue_info *ii, const rtable *ot,
                              const unsigned char *row)
{
    print_outcome(out, ii, ot, row);
    print_llm_outcome(out, ot, row);
}

typedef struct show {
    hid_t f;
    const char *path;
    uint64_t id;
    FILE *out;
    rtable jobs, outcomes, rounds, texts;
} show;

/* Prints the turns with their texts. /transcripts is parallel to /rounds,
 * so the text of the job's k-th round row is the k-th transcript row from
 * the job's first one (its turn number is checked). Texts are read a chunk
 * at a time: an LLM run's chunks hold only 64 texts, fewer than a long
 * negotiation's turns. */
static ns_status show_turns(show *s, const issue_info *ii, ns_error *err)
{
    hsize_t r0 = 0, x0 = 0, w0 = 0;
    size_t nr = 0, nw = 0;
    ns_status st = lower_bound(&s->rounds, s->id, &r0, err);
    if (!st)
        st = read_job_rows(&s->rounds, s->id, r0, &nr, err);
    if (!st && s->texts.rows > 0)
        st = lower_bound(&s->texts, s->id, &x0, err);
    const rtable *xt = &s->texts;
    int ct = col_index(xt, "turn"), cx = col_index(xt, "text"),
        cf = col_index(xt, "text_truncated");
    size_t text_size = cx >= 0 ? xt->cols[cx].size + 1 : 1;
    char *text = ns_xmalloc(text_size);
    for (size_t k = 0; !st && k < nr; k++) {
        const unsigned char *row = s->rounds.buf + k * s->rounds.row_size;
        double turn = num_of(&s->rounds, row, "turn");
        const char *msg = NULL;
        int truncated = 0;
        hsize_t x = x0 + k;
        if (ct >= 0 && cx >= 0 && x < xt->rows && (x < w0 || x >= w0 + nw)) {
            w0 = x;
            st = read_job_rows(xt, s->id, x, &nw, err);
        }
        if (!st && ct >= 0 && cx >= 0 && x >= w0 && x < w0 + nw) {
            const unsigned char *xr = xt->buf + (x - w0) * xt->row_size;
            if (get_num(xr, &xt->cols[ct]) == turn) {
                msg = get_str(xr, &xt->cols[cx], text, text_size);
                truncated = cf >= 0 && get_num(xr, &xt->cols[cf]) != 0;
            }
        }
        if (!st)
            print_turn(s->out, ii, &s->rounds, row, msg, truncated);
    }
    free(text);
    return st;
}

static ns_status show_job(show *s, ns_error *err)
{
    ns_status st = rtable_open(s->f, s->path, "jobs", &s->jobs, err);
    if (!st)
        st = rtable_open(s->f, s->path, "outcomes", &s->outcomes, err);
    if (!st)
        st = rtable_open(s->f, s->path, "rounds", &s->rounds, err);
    if (!st)
        st = rtable_open(s->f, s->path, "transcripts", &s->texts, err);
    if (!st && (col_index(&s->jobs, "job_id") < 0 || col_index(&s->outcomes, "job_id") < 0 ||
                col_index(&s->rounds, "job_id") < 0 || col_index(&s->texts, "job_id") < 0))
        st = ns_fail(err, NS_ERR_CORRUPT, "%s: a table has no job_id column", s->path);
    hsize_t row = 0;
    size_t nj = 0, no = 0;
    if (!st)
        st = lower_bound(&s->jobs, s->id, &row, err);
    if (!st)
        st = read_job_rows(&s->jobs, s->id, row, &nj, err);
    if (st)
        return st;
    if (nj == 0)
        return ns_fail(err, NS_ERR_NOTFOUND, "job %" PRIu64 " is not in %s (filtered out by "
                       "the spec, or not run yet)", s->id, s->path);
    /* outcomes are parallel to jobs: one row per job, same order */
    if ((st = read_job_rows(&s->outcomes, s->id, row, &no, err)))
        return st;
    if (no != 1)
        return ns_fail(err, NS_ERR_CORRUPT, "%s: job %" PRIu64 " has %zu outcome rows at row "
                       "%llu", s->path, s->id, no, (unsigned long long)row);
    char sc[NS_NAME_LEN + 1];
    issue_info ii;
    str_of(&s->jobs, s->jobs.buf, "scenario", sc, sizeof sc);
    if ((st = read_issues(s->f, s->path, sc, &ii, err)))
        return st;
    print_header(s->out, s->id, &s->jobs, s->jobs.buf);
    fputc('\n', s->out);
    if ((st = show_turns(s, &ii, err)))
        return st;
    fputc('\n', s->out);
    print_outcome_all(s->out, &ii, &s->outcomes, s->outcomes.buf);
    return NS_OK;
}

ns_status ns_results_show_job(const char *path, uint64_t job_id, FILE *out, ns_error *err)
{
    show s = {.path = path, .id = job_id, .out = out};
    ns_status st = open_results(path, &s.f, err);
    if (st)
        return st;
    st = show_job(&s, err);
    rtable_close(&s.jobs);
    rtable_close(&s.outcomes);
    rtable_close(&s.rounds);
    rtable_close(&s.texts);
    H5Fclose(s.f);
    if (!st && ferror(out))
        st = ns_fail(err, NS_ERR_IO, "cannot write the transcript");
    return st;
}

/* ---- export ------------------------------------------------------------ */

/* A string field per RFC 4180: quoted (quotes doubled) when it holds a
 * comma, a quote or a line break. */
static void csv_str(FILE *f, const char *s, size_t n)
{
    if (strcspn(s, ",\"\r\n") >= n) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* %.17g round-trips every double; NaN is written "nan" whatever its sign
 * bit, which pandas and strtod both read. */
static void csv_num(FILE *f, const unsigned char *row, const col *c)
{
    if (c->cls == H5T_INTEGER) {
        int64_t v = get_int(row, c);
        if (c->sign == H5T_SGN_NONE)
            fprintf(f, "%" PRIu64, (uint64_t)v);
        else
            fprintf(f, "%" PRId64, v);
        return;
    }
    double v = get_num(row, c);
    if (isnan(v))
        fputs("nan", f);
    else
        fprintf(f, "%.17g", v);
}

static void csv_row(FILE *f, const rtable *t, const unsigned char *row)
{
    for (int i = 0; i < t->n_cols; i++) {
        const col *c = &t->cols[i];
        if (i)
            fputc(',', f);
        if (c->cls == H5T_STRING)
            csv_str(f, (const char *)row + c->off, strnlen((const char *)row + c->off, c->size));
        else
            csv_num(f, row, c);
    }
    fputc('\n', f);
}

static ns_status csv_rows(FILE *f, const rtable *t, ns_error *err)
{
    for (int i = 0; i < t->n_cols; i++) {
        if (i)
            fputc(',', f);
        csv_str(f, t->cols[i].name, strlen(t->cols[i].name));
    }
    fputc('\n', f);
    for (hsize_t start = 0; start < t->rows; start += t->chunk_rows) {
        hsize_t n = t->rows - start < t->chunk_rows ? t->rows - start : t->chunk_rows;
        if (read_rows(t, t->ntype, start, n, t->buf) < 0)
            return ns_h5_fail(err, NS_ERR_HDF5, "cannot read /%s rows %llu..%llu", t->name,
                           (unsigned long long)start, (unsigned long long)(start + n));
        for (hsize_t k = 0; k < n; k++)
            csv_row(f, t, t->buf + k * t->row_size);
    }
    return NS_OK;
}

/* Writes DIR/NAME.csv through DIR/NAME.csv.tmp, synced, then renamed, so
 * an existing CSV is replaced whole or not at all. */
static ns_status export_table(hid_t file, const char *path, const char *dir,
                              const char *name, ns_error *err)
{
    char final[4096], tmp[4200];
    snprintf(final, sizeof final, "%s/%s.csv", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", final);
    rtable t;
    ns_status st = rtable_open(file, path, name, &t, err);
    if (st) {
        rtable_close(&t);
        return st;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rtable_close(&t);
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot create %s", tmp);
    }
    char *iobuf = ns_xmalloc(1 << 20);
    setvbuf(f, iobuf, _IOFBF, 1 << 20);
    st = csv_rows(f, &t, err);
    rtable_close(&t);
    int werr = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !werr) {
        werr = 1;
        saved = errno;
    }
    free(iobuf); /* only after fclose: stdio writes from it until then */
    if (!st && werr)
        st = ns_fail_errno(err, NS_ERR_IO, saved, "cannot write %s", tmp);
    if (!st && rename(tmp, final) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "cannot rename %s to %s", tmp, final);
    if (st)
        unlink(tmp);
    return st;
}

ns_status ns_results_export_csv(const char *path, const char *dir, ns_error *err)
{
    hid_t f;
    ns_status st = open_results(path, &f, err);
    if (st)
        return st;
    if ((st = ns_fs_mkdirs(dir, err))) {
        H5Fclose(f);
        return st;
    }
    static const char *const tables[] = {"jobs", "outcomes", "rounds", "transcripts"};
    for (int i = 0; !st && i < 4; i++)
        st = export_table(f, path, dir, tables[i], err);
    H5Fclose(f);
    return st;
}
