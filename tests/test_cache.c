/*
 * test_cache.c - the response cache (ns_cache.c).
 *
 * 1. SHA-256 against the published FIPS 180-2 vectors ("abc", "").
 * 2. Keys: 64 lower-case hex digits; equal inputs give equal keys; a change
 *    in any field changes the key; moving bytes between fields does too;
 *    the key is the SHA-256 of the documented byte layout, built here.
 * 3. put/get round trip with binary bodies (NUL and 0xff bytes, empty);
 *    a miss is NS_ERR_NOTFOUND and leaves err untouched.
 * 4. Hit counts, read back through a separate SQLite connection; a put over
 *    an entry replaces it and restarts its count.
 * 5. Batching: a put is invisible to other connections until committed,
 *    visible after ns_cache_flush; 1,500 puts cross the batch size.
 * 6. Durability: a child process puts, flushes and is killed (SIGKILL);
 *    the parent finds every flushed reply.
 * 7. Persistence across close/open; the file is in WAL mode with the
 *    schema version in user_version.
 * 8. A garbage file, another program's SQLite file and a newer schema are
 *    refused with messages that name the file and the way out.
 * 9. The default path: NEGSIM_CACHE, XDG_CACHE_HOME, HOME.
 * Everything happens in a mkdtemp folder that is removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_cache.h"

#include "ns_test.h"

static char tmpdir[64];

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* One integer from an SQL query on a separate connection (-1 on error). */
static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
    return v;
}

static void test_sha256(void)
{
    char hex[NS_CACHE_KEY_LEN + 1];
    ns_error err = {0};
    ns_status st = ns_cache_sha256_hex("abc", 3, hex, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_STR("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex,
          "SHA-256(\"abc\"), FIPS 180-2 B.1");
    ns_cache_sha256_hex("", 0, hex, &err);
    CHECK_STR("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex,
          "SHA-256(\"\")");
}

/* The documented layout: each field as an 8-byte big-endian length and
 * its bytes, the domain string first. */
static size_t put_field(unsigned char *buf, const void *p, size_t n)
{
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * (7 - i)));
    memcpy(buf + 8, p, n);
    return 8 + n;
}

static void test_keys(void)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    size_t blen = strlen(body);
    char k1[65], k2[65];
    ns_error err = {0};
    ns_status st = ns_cache_key("openai", "gpt-4o-mini", body, blen, k1, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(strlen(k1) == 64 && strspn(k1, "0123456789abcdef") == 64,
          "key is 64 lower-case hex digits: %s", k1);
    ns_cache_key("openai", "gpt-4o-mini", body, blen, k2, &err);
    CHECK_STR(k1, k2, "same inputs, same key");

    ns_cache_key("anthropic", "gpt-4o-mini", body, blen, k2, &err);
    CHECK(strcmp(k1, k2) != 0, "provider changed, key did not");
    ns_cache_key("openai", "gpt-4o", body, blen, k2, &err);
    CHECK(strcmp(k1, k2) != 0, "model changed, key did not");
    ns_cache_key("openai", "gpt-4o-mini", body, blen - 1, k2, &err);
    CHECK(strcmp(k1, k2) != 0, "body changed, key did not");
    ns_cache_key("openaigpt-4o-mini", "", body, blen, k1, &err);
    ns_cache_key("openai", "gpt-4o-mini", body, blen, k2, &err);
    CHECK(strcmp(k1, k2) != 0, "fields ran together");
    ns_cache_key("openai", "gpt-4o-mini{", body + 1, blen - 1, k1, &err);
    CHECK(strcmp(k1, k2) != 0, "model and body ran together");

    unsigned char buf[512];
    size_t n = 0;
    n += put_field(buf + n, "negsim-cache-v1", 15);
    n += put_field(buf + n, "openai", 6);
    n += put_field(buf + n, "gpt-4o-mini", 11);
    n += put_field(buf + n, body, blen);
    ns_cache_sha256_hex(buf, n, k1, &err);
    CHECK_STR(k1, k2, "key = SHA-256 of the documented layout");
}

static void test_round_trip(void)
{
    char path[128];
    path_in(path, sizeof path, "sub/dir/cache.sqlite"); /* folders are created */
    ns_cache *c = NULL;
    ns_error err = {0};
    ns_status st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    const unsigned char bin[] = {'{', 0, 1, 0xff, 0xfe, 0, '}', 0x80};
    char key[65], key2[65], key3[65];
    ns_cache_key("gemini", "gemini-2.0-flash", "req-1", 5, key, &err);
    ns_cache_key("gemini", "gemini-2.0-flash", "req-2", 5, key2, &err);
    ns_cache_key("gemini", "gemini-2.0-flash", "req-3", 5, key3, &err);

    char *body = NULL;
    size_t len = 0;
    long in = 0, out = 0;
    strcpy(err.msg, "untouched");
    st = ns_cache_get(c, key, &body, &len, &in, &out, &err);
    CHECK(st == NS_ERR_NOTFOUND, "empty cache: expected a miss, got %s",
          ns_status_str(st));
    CHECK_STR("untouched", err.msg, "a miss writes no error");

    st = ns_cache_put(c, key, "gemini", "gemini-2.0-flash", bin, sizeof bin, 321, 54, &err);
    CHECK_ST(st, NS_OK, err);
    st = ns_cache_put(c, key2, "gemini", "gemini-2.0-flash", "", 0, -1, -1, &err);
    CHECK_ST(st, NS_OK, err);

    /* not yet committed: another connection sees nothing */
    CHECK(query_int(path, "SELECT count(*) FROM responses") == 0,
          "a put was committed before its batch ended");

    st = ns_cache_get(c, key, &body, &len, &in, &out, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(st == NS_OK && len == sizeof bin && memcmp(body, bin, len) == 0 &&
              body[len] == '\0',
          "binary body round trip (len %zu)", len);
    CHECK(in == 321 && out == 54, "tokens: %ld %ld", in, out);
    free(body);
    body = NULL;
    st = ns_cache_get(c, key2, &body, &len, NULL, &out, &err);
    CHECK(st == NS_OK && len == 0 && body && body[0] == '\0' && out == -1,
          "empty body and unknown usage round trip");
    free(body);
    body = NULL;
    st = ns_cache_get(c, key, &body, &len, NULL, NULL, &err);
    free(body);
    body = NULL;

    st = ns_cache_flush(c, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(query_int(path, "SELECT count(*) FROM responses") == 2,
          "flushed puts visible to another connection");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT hits FROM responses WHERE key = '%s'", key);
    CHECK(query_int(path, sql) == 2, "two hits expected, got %lld", query_int(path, sql));

    /* INSERT OR REPLACE: new body, hits restart */
    st = ns_cache_put(c, key, "gemini", "gemini-2.0-flash", "new", 3, 1, 2, &err);
    CHECK_ST(st, NS_OK, err);
    ns_cache_flush(c, &err);
    CHECK(query_int(path, sql) == 0, "a replaced entry restarts its hits");

    /* many puts cross the batch size */
    for (int i = 0; i < 1500; i++) {
        char req[32], k[65];
        int n = snprintf(req, sizeof req, "bulk-%d", i);
        ns_cache_key("openai", "gpt-4o-mini", req, (size_t)n, k, &err);
        if ((st = ns_cache_put(c, k, "openai", "gpt-4o-mini", req, (size_t)n, i, i,
                               &err)))
            break;
    }
    CHECK_ST(st, NS_OK, err);
    long long seen = query_int(path, "SELECT count(*) FROM responses");
    CHECK(seen >= 2 + 1024 && seen < 2 + 1500,
          "full batches are committed before a flush: %lld rows seen", seen);
    ns_cache_close(c);

    /* persistence: close commits; reopen finds everything */
    c = NULL;
    st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    st = ns_cache_get(c, key, &body, &len, &in, &out, &err);
    CHECK(st == NS_OK && len == 3 && memcmp(body, "new", 3) == 0 && in == 1 && out == 2,
          "the replaced entry persists");
    free(body);
    body = NULL;
    char k[65];
    ns_cache_key("openai", "gpt-4o-mini", "bulk-1499", 9, k, &err);
    st = ns_cache_get(c, k, &body, &len, &in, &out, &err);
    CHECK(st == NS_OK && len == 9 && memcmp(body, "bulk-1499", 9) == 0 && in == 1499,
          "the last bulk put persists");
    free(body);
    CHECK(ns_cache_get(c, key3, &body, &len, NULL, NULL, &err) == NS_ERR_NOTFOUND,
          "a key never put is a miss");
    ns_cache_close(c);
    CHECK(query_int(path, "PRAGMA user_version") == NS_CACHE_SCHEMA, "schema version");
    CHECK(query_int(path, "SELECT count(*) FROM responses") == 2 + 1500, "all rows");

    sqlite3 *db;
    char mode[16] = "";
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                snprintf(mode, sizeof mode, "%s", sqlite3_column_text(s, 0));
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
    CHECK_STR("wal", mode, "journal mode");
}

/* A child puts and flushes, then dies without closing (as a killed run
 * would); what it flushed must be there. */
static void test_crash(void)
{
    char path[128];
    path_in(path, sizeof path, "crash.sqlite");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        ns_cache *c;
        ns_error err;
        if (ns_cache_open(path, &c, &err))
            _exit(3);
        for (int i = 0; i < 10; i++) {
            char k[65], req[16];
            int n = snprintf(req, sizeof req, "r%d", i);
            ns_cache_key("anthropic", "m", req, (size_t)n, k, &err);
            if (ns_cache_put(c, k, "anthropic", "m", req, (size_t)n, 1, 1, &err))
                _exit(4);
        }
        if (ns_cache_flush(c, &err))
            _exit(5);
        char k[65];
        ns_cache_key("anthropic", "m", "unflushed", 9, k, &err);
        ns_cache_put(c, k, "anthropic", "m", "x", 1, 1, 1, &err);
        raise(SIGKILL); /* killed: no close, no commit of the last put */
        _exit(6);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the child failed before it was killed: status %d", status);
    ns_cache *c = NULL;
    ns_error err = {0};
    ns_status st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    int found = 0;
    for (int i = 0; i < 10; i++) {
        char k[65], req[16], *body = NULL;
        size_t len;
        int n = snprintf(req, sizeof req, "r%d", i);
        ns_cache_key("anthropic", "m", req, (size_t)n, k, &err);
        if (ns_cache_get(c, k, &body, &len, NULL, NULL, &err) == NS_OK)
            found++;
        free(body);
    }
    CHECK(found == 10, "flushed replies after a crash: %d of 10", found);
    char k[65], *body = NULL;
    size_t len;
    ns_cache_key("anthropic", "m", "unflushed", 9, k, &err);
    CHECK(ns_cache_get(c, k, &body, &len, NULL, NULL, &err) == NS_ERR_NOTFOUND,
          "an uncommitted put is lost, not half-written");
    free(body);
    ns_cache_close(c);
}

static void test_refusals(void)
{
    char path[128];
    ns_cache *c = NULL;
    ns_error err = {0};

    path_in(path, sizeof path, "garbage.sqlite");
    FILE *f = fopen(path, "wb");
    for (int i = 0; f && i < 300; i++)
        fputs("this is not a database, just some text. ", f);
    if (f)
        fclose(f);
    ns_status st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_ERR_CORRUPT, err);
    CHECK(c == NULL, "no cache returned on failure");
    CHECK(strstr(err.msg, path) && strstr(err.msg, "--no-cache") &&
              strstr(err.msg, "delete"),
          "the message names the file and the way out: %s", err.msg);
    CHECK(strstr(err.msg, "not a database") != NULL,
          "SQLite's own message is kept: %s", err.msg);

    path_in(path, sizeof path, "other.sqlite");
    sqlite3 *db;
    if (sqlite3_open(path, &db) == SQLITE_OK)
        sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)", NULL, NULL, NULL);
    sqlite3_close(db);
    st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_ERR_CORRUPT, err);
    CHECK(strstr(err.msg, path) && strstr(err.msg, "not a negsim cache"),
          "another program's database: %s", err.msg);
    CHECK(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'responses'") == 0,
          "another program's database was changed");

    path_in(path, sizeof path, "newer.sqlite");
    if (sqlite3_open(path, &db) == SQLITE_OK)
        sqlite3_exec(db, "CREATE TABLE responses (key TEXT); PRAGMA user_version = 99",
                     NULL, NULL, NULL);
    sqlite3_close(db);
    st = ns_cache_open(path, &c, &err);
    CHECK_ST(st, NS_ERR_MISMATCH, err);
    CHECK(strstr(err.msg, "schema 99") != NULL, "newer schema: %s", err.msg);
}

static void test_default_path(void)
{
    char buf[256];
    ns_error err = {0};
    const char *saved_home = getenv("HOME");
    char home[256] = "";
    if (saved_home)
        snprintf(home, sizeof home, "%s", saved_home);

    setenv("NEGSIM_CACHE", "/somewhere/my.sqlite", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    ns_status st = ns_cache_default_path(buf, sizeof buf, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK_STR("/somewhere/my.sqlite", buf, "NEGSIM_CACHE first");
    unsetenv("NEGSIM_CACHE");
    ns_cache_default_path(buf, sizeof buf, &err);
    CHECK_STR("/xdg/negsim/responses.sqlite", buf, "then XDG_CACHE_HOME");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/someone", 1);
    ns_cache_default_path(buf, sizeof buf, &err);
    CHECK_STR("/home/someone/.cache/negsim/responses.sqlite", buf, "then ~/.cache");
    unsetenv("HOME");
    st = ns_cache_default_path(buf, sizeof buf, &err);
    CHECK_ST(st, NS_ERR_USAGE, err);
    if (*home)
        setenv("HOME", home, 1);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    return remove(path);
}

static int rm_rf(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_cache.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_sha256();
    test_keys();
    test_round_trip();
    test_crash();
    test_refusals();
    test_default_path();
    if (rm_rf(tmpdir) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return ns_test_report("test_cache");
}
