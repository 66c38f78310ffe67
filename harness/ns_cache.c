/*
 * ns_cache.c - the response cache on SQLite (see ns_cache.h for the key,
 * the path and the durability contract).
 *
 * Schema (PRAGMA user_version = NS_CACHE_SCHEMA):
 *   responses(key TEXT PRIMARY KEY, provider TEXT, model TEXT, body BLOB,
 *             input_tokens INTEGER, output_tokens INTEGER,
 *             created REAL (Unix seconds), hits INTEGER)
 * Token counts of -1 mean the reply had no usage block.
 *
 * Writes (puts and hit counts) go into one open transaction that is
 * committed every NS_CACHE_BATCH writes or NS_CACHE_BATCH_MS: a commit per
 * put would cost a WAL frame write and lock round trip each, thousands of
 * times a second. All statements are prepared once, at open.
 *
 * Syncing: with synchronous=NORMAL a WAL commit reaches the OS at once (it
 * survives the process being killed) but is synced only at checkpoints.
 * SQLite has no call that syncs the WAL on demand, so ns_cache_flush
 * commits and then fdatasyncs the "-wal" file itself; a sync through any
 * descriptor of a file makes all its written pages durable.
 */
#include "ns_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ns_fs.h"

#define KEY_DOMAIN "negsim-cache-v1"

enum { S_GET, S_HIT, S_PUT, S_BEGIN, S_COMMIT, N_STMT };

static const char *const stmt_sql[N_STMT] = {
    [S_GET] = "SELECT body, input_tokens, output_tokens FROM responses WHERE key = ?1",
    [S_HIT] = "UPDATE responses SET hits = hits + 1 WHERE key = ?1",
    [S_PUT] = "INSERT OR REPLACE INTO responses (key, provider, model, body, "
              "input_tokens, output_tokens, created, hits) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
    [S_BEGIN] = "BEGIN",
    [S_COMMIT] = "COMMIT",
};

struct ns_cache {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[N_STMT];
    int in_txn;          /* a batch transaction is open */
    int pending;         /* writes in it */
    double txn_started;  /* monotonic seconds */
    int unsynced;        /* committed since the last flush, not yet synced */
};

/* ---------------------------------------------------------------- keys */

static void to_hex(const unsigned char *d, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Feeds a field as an 8-byte big-endian length and the bytes. */
static int digest_field(EVP_MD_CTX *ctx, const void *p, size_t len)
{
    unsigned char be[8];
    uint64_t v = len;
    for (int i = 7; i >= 0; i--, v >>= 8)
        be[i] = (unsigned char)(v & 0xff);
    return EVP_DigestUpdate(ctx, be, sizeof be) &&
           (len == 0 || EVP_DigestUpdate(ctx, p, len));
}

/* SHA-256 over n fields (length-prefixed when `prefixed`). */
static ns_status sha256(const void *const *data, const size_t *lens, int n,
                        int prefixed, char out[NS_CACHE_KEY_LEN + 1], ns_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (int i = 0; ok && i < n; i++)
        ok = prefixed ? digest_field(ctx, data[i], lens[i])
                      : EVP_DigestUpdate(ctx, data[i], lens[i]);
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) && md_len * 2 == NS_CACHE_KEY_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ns_fail(err, NS_ERR_INTERNAL, "OpenSSL: SHA-256 failed");
    to_hex(md, md_len, out);
    return NS_OK;
}

ns_status ns_cache_sha256_hex(const void *data, size_t len,
                              char out[NS_CACHE_KEY_LEN + 1], ns_error *err)
{
    return sha256(&data, &len, 1, 0, out, err);
}

ns_status ns_cache_key(const char *provider, const char *model, const void *body,
                       size_t body_len, char out[NS_CACHE_KEY_LEN + 1],
                       ns_error *err)
{
    const void *data[4] = {KEY_DOMAIN, provider, model, body};
    size_t lens[4] = {strlen(KEY_DOMAIN), strlen(provider), strlen(model), body_len};
    return sha256(data, lens, 4, 1, out, err);
}

ns_status ns_cache_default_path(char *buf, size_t size, ns_error *err)
{
    const char *env = getenv("NEGSIM_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(buf, size, "%s", env);
    else if (xdg && *xdg == '/') /* the XDG spec ignores relative values */
        n = snprintf(buf, size, "%s/negsim/responses.sqlite", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.cache/negsim/responses.sqlite", home);
    else
        return ns_fail(err, NS_ERR_USAGE, "no place for the response cache: set "
                       "NEGSIM_CACHE or HOME, or run with --no-cache");
    if (n < 0 || (size_t)n >= size)
        return ns_fail(err, NS_ERR_USAGE, "the response cache path is too long");
    return NS_OK;
}

/* ---------------------------------------------------------------- errors */

static ns_status db_fail(sqlite3 *db, const char *path, int rc, const char *what,
                         ns_error *err)
{
    int primary = rc & 0xff;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        return ns_fail(err, NS_ERR_CORRUPT,
                       "response cache %s: %s: %s - the file is damaged or not a "
                       "negsim cache; delete it or run with --no-cache",
                       path, what, msg);
    return ns_fail(err, NS_ERR_IO, "response cache %s: %s: %s", path, what, msg);
}

static double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs a prepared statement that returns no rows. */
static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---------------------------------------------------------------- open */

/* One SQL statement returning at most one integer (or none). */
static int exec_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && out)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Creates the table in a new file, or checks an existing one's schema,
 * inside one IMMEDIATE transaction so two processes creating the same
 * file do not race. */
static ns_status init_schema(sqlite3 *db, const char *path, ns_error *err)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, path, rc, "cannot lock the file", err);
    long long version = 0, tables = 0;
    ns_status st = NS_OK;
    if ((rc = exec_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = exec_int(db, "SELECT count(*) FROM sqlite_master", &tables)) != SQLITE_OK) {
        st = db_fail(db, path, rc, "cannot read the schema", err);
    } else if (version == 0 && tables > 0) {
        st = ns_fail(err, NS_ERR_CORRUPT, "response cache %s: the file is a SQLite "
                     "database of something else, not a negsim cache; name another "
                     "file (NEGSIM_CACHE) or run with --no-cache", path);
    } else if (version > NS_CACHE_SCHEMA) {
        st = ns_fail(err, NS_ERR_MISMATCH, "response cache %s: written by a newer "
                     "negsim (schema %lld, this build reads %d); use another file "
                     "(NEGSIM_CACHE) or run with --no-cache", path, version,
                     NS_CACHE_SCHEMA);
    } else if (version == 0) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE responses (key TEXT PRIMARY KEY, provider TEXT NOT NULL, "
                 "model TEXT NOT NULL, body BLOB NOT NULL, input_tokens INTEGER, "
                 "output_tokens INTEGER, created REAL NOT NULL, "
                 "hits INTEGER NOT NULL DEFAULT 0); PRAGMA user_version = %d;",
                 NS_CACHE_SCHEMA);
        if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK)
            st = db_fail(db, path, rc, "cannot create the table", err);
    }
    rc = sqlite3_exec(db, st ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    if (!st && rc != SQLITE_OK)
        st = db_fail(db, path, rc, "cannot commit the schema", err);
    return st;
}

/* The folder holding path, created if missing. */
static ns_status make_parent(const char *path, ns_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return NS_OK;
    char *dir = ns_xstrdup(path);
    dir[slash - path] = '\0';
    ns_status st = ns_fs_mkdirs(dir, err);
    free(dir);
    return st;
}

ns_status ns_cache_open(const char *path, ns_cache **out, ns_error *err)
{
    *out = NULL;
    ns_status st = make_parent(path, err);
    if (st)
        return st;
    ns_cache *c = ns_xcalloc(1, sizeof *c);
    c->path = ns_xstrdup(path);
    int rc = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        st = db_fail(c->db, path, rc, "cannot open", err);
        goto fail;
    }
    sqlite3_busy_timeout(c->db, NS_CACHE_BUSY_MS);
    /* the first statement is the first read of the file: a file that is
     * not a database fails here with SQLITE_NOTADB */
    if ((rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) ||
        (rc = sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL))) {
        st = db_fail(c->db, path, rc, "cannot set WAL mode", err);
        goto fail;
    }
    if ((st = init_schema(c->db, path, err)))
        goto fail;
    for (int i = 0; i < N_STMT; i++) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &c->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            st = db_fail(c->db, path, rc, "cannot prepare a statement", err);
            goto fail;
        }
    }
    *out = c;
    return NS_OK;
fail:
    ns_cache_close(c);
    return st;
}

static ns_status commit(ns_cache *c, ns_error *err)
{
    if (!c->in_txn)
        return NS_OK;
    int rc = step_done(c->stmt[S_COMMIT]);
    if (rc != SQLITE_OK)
        return db_fail(c->db, c->path, rc, "cannot commit", err);
    c->in_txn = 0;
    c->pending = 0;
    c->unsynced = 1;
    return NS_OK;
}

void ns_cache_close(ns_cache *c)
{
    if (!c)
        return;
    if (c->db) {
        commit(c, NULL);
        for (int i = 0; i < N_STMT; i++)
            sqlite3_finalize(c->stmt[i]);
        sqlite3_close(c->db);
    }
    free(c->path);
    free(c);
}

const char *ns_cache_path(const ns_cache *c) { return c->path; }

/* ---------------------------------------------------------------- batches */

static ns_status batch_begin(ns_cache *c, ns_error *err)
{
    if (c->in_txn)
        return NS_OK;
    int rc = step_done(c->stmt[S_BEGIN]);
    if (rc != SQLITE_OK)
        return db_fail(c->db, c->path, rc, "cannot begin a transaction", err);
    c->in_txn = 1;
    c->pending = 0;
    c->txn_started = now_monotonic();
    return NS_OK;
}

/* Counts a write and commits when the batch is full or old. */
static ns_status batch_done(ns_cache *c, ns_error *err)
{
    if (++c->pending >= NS_CACHE_BATCH ||
        now_monotonic() - c->txn_started > NS_CACHE_BATCH_MS / 1000.0)
        return commit(c, err);
    return NS_OK;
}

ns_status ns_cache_flush(ns_cache *c, ns_error *err)
{
    ns_status st = commit(c, err);
    if (st || !c->unsynced)
        return st;
    size_t n = strlen(c->path);
    char *wal = ns_xmalloc(n + 5);
    memcpy(wal, c->path, n);
    memcpy(wal + n, "-wal", 5);
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "response cache %s: cannot open", wal);
    else if (fd >= 0 && fdatasync(fd) != 0)
        st = ns_fail_errno(err, NS_ERR_IO, errno, "response cache %s: cannot sync", wal);
    if (fd >= 0)
        close(fd);
    free(wal);
    if (!st)
        c->unsynced = 0;
    return st;
}

/* ---------------------------------------------------------------- get/put */

ns_status ns_cache_get(ns_cache *c, const char *key, char **body, size_t *len,
                       long *in_tok, long *out_tok, ns_error *err)
{
    sqlite3_stmt *s = c->stmt[S_GET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return NS_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return db_fail(c->db, c->path, rc, "lookup failed", err);
    }
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    const void *blob = sqlite3_column_blob(s, 0);
    char *copy = ns_xmalloc(n + 1);
    if (n)
        memcpy(copy, blob, n);
    copy[n] = '\0';
    long in = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(s, 1);
    long out = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(s, 2);
    sqlite3_reset(s);

    ns_status st = batch_begin(c, err);
    if (!st) {
        sqlite3_bind_text(c->stmt[S_HIT], 1, key, -1, SQLITE_STATIC);
        rc = step_done(c->stmt[S_HIT]);
        st = rc == SQLITE_OK ? batch_done(c, err)
                             : db_fail(c->db, c->path, rc, "cannot count a hit", err);
    }
    if (st) {
        free(copy);
        return st;
    }
    *body = copy;
    *len = n;
    if (in_tok)
        *in_tok = in;
    if (out_tok)
        *out_tok = out;
    return NS_OK;
}

ns_status ns_cache_put(ns_cache *c, const char *key, const char *provider,
                       const char *model, const void *body, size_t len,
                       long in_tok, long out_tok, ns_error *err)
{
    ns_status st = batch_begin(c, err);
    if (st)
        return st;
    sqlite3_stmt *s = c->stmt[S_PUT];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, model, -1, SQLITE_STATIC);
    /* a zero-length blob, not NULL (the column is NOT NULL) */
    sqlite3_bind_blob64(s, 4, len ? body : "", len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, in_tok);
    sqlite3_bind_int64(s, 6, out_tok);
    sqlite3_bind_double(s, 7, now_unix());
    int rc = step_done(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_OK)
        return db_fail(c->db, c->path, rc, "cannot store a reply", err);
    return batch_done(c, err);
}
