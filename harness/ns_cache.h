/*
 * ns_cache.h - the content-addressed response cache: a SQLite file that
 * maps a request (provider, model, exact request body) to the reply body
 * the provider gave, so that a re-run, a resumed run or a nightly
 * regression run gets the same answers without paying for them again.
 *
 * Key: SHA-256 (OpenSSL EVP), as 64 lower-case hex digits, over
 *     "negsim-cache-v1" and then provider, model and body, each preceded
 * by its length as 8 big-endian bytes, so that no two different field
 * triples hash the same bytes ("ab"+"c" and "a"+"bc" differ). The body is
 * the JSON ns_wire_build produces; it never contains the API key. For
 * openai-compatible endpoints pass the endpoint's base URL as part of the
 * provider string ("openai-compatible http://host:8000/v1"), so that two
 * servers that serve the same model name do not share answers.
 *
 * What goes in: only replies that succeeded and passed schema validation
 * (the caller's job). A cached failure would be replayed forever.
 *
 * Where: ns_cache_default_path: $NEGSIM_CACHE when set and not empty, else
 * $XDG_CACHE_HOME/negsim/responses.sqlite, else
 * ~/.cache/negsim/responses.sqlite.
 *
 * Durability: puts are batched into one transaction, committed every
 * NS_CACHE_BATCH writes, after NS_CACHE_BATCH_MS, or by ns_cache_flush.
 * The database runs in WAL mode with synchronous=NORMAL, and
 * ns_cache_flush commits with a sync, so what was put before a flush
 * survives a crash or power loss. The runner calls ns_cache_flush right
 * before each journal commit: a job the journal says is done never has
 * replies missing from the cache, and a job it does not is replayed from
 * the cache for free.
 *
 * Threads: one ns_cache is used by one thread at a time (the event loop).
 * Several processes may share one file: SQLite locks it, and a writer
 * waits up to NS_CACHE_BUSY_MS for another's batch.
 */
#ifndef NS_CACHE_H
#define NS_CACHE_H

#include <stddef.h>

#include "ns_status.h"

#define NS_CACHE_KEY_LEN 64        /* hex digits of a key */
#define NS_CACHE_SCHEMA 1          /* PRAGMA user_version of the file */
#define NS_CACHE_BATCH 512         /* writes per transaction at most */
#define NS_CACHE_BATCH_MS 1000     /* a batch is committed when older */
#define NS_CACHE_BUSY_MS 10000     /* wait for another process's lock */

typedef struct ns_cache ns_cache;

/* SHA-256 of data as 64 hex digits plus NUL (out has 65 bytes). */
ns_status ns_cache_sha256_hex(const void *data, size_t len,
                              char out[NS_CACHE_KEY_LEN + 1], ns_error *err);
/* The cache key of one request (see above). */
ns_status ns_cache_key(const char *provider, const char *model, const void *body,
                       size_t body_len, char out[NS_CACHE_KEY_LEN + 1],
                       ns_error *err);

/* Writes the default cache path into buf. NS_ERR_USAGE when neither
 * NEGSIM_CACHE, XDG_CACHE_HOME nor HOME is set. */
ns_status ns_cache_default_path(char *buf, size_t size, ns_error *err);

/* Opens or creates the cache at path (creating its folder). A file that is
 * not a SQLite database, is damaged, or holds something else fails with
 * NS_ERR_CORRUPT and a message naming the file and the way out (delete it
 * or run with --no-cache); one from a newer negsim (a higher schema) with
 * NS_ERR_MISMATCH. */
ns_status ns_cache_open(const char *path, ns_cache **out, ns_error *err);
/* Commits what is pending and closes. Errors of that last commit are lost:
 * call ns_cache_flush first to see them. NULL is a no-op. */
void ns_cache_close(ns_cache *c);

/* Looks up a key. NS_OK: found; *body is a fresh malloc'd copy of the
 * reply (freed by the caller; NUL-terminated for convenience, *len
 * excludes the NUL), the token counts are those recorded at put, and the
 * entry's hit count is incremented. NS_ERR_NOTFOUND: not cached (err is
 * left untouched: a miss is not a failure). Anything else is an error
 * with SQLite's message. in_tok/out_tok may be NULL. */
ns_status ns_cache_get(ns_cache *c, const char *key, char **body, size_t *len,
                       long *in_tok, long *out_tok, ns_error *err);
/* Stores a reply under key (INSERT OR REPLACE; hits restart at 0). The
 * write is batched: durable after the next ns_cache_flush. */
ns_status ns_cache_put(ns_cache *c, const char *key, const char *provider,
                       const char *model, const void *body, size_t len,
                       long in_tok, long out_tok, ns_error *err);
/* Commits the open batch with a sync: everything put so far is durable. */
ns_status ns_cache_flush(ns_cache *c, ns_error *err);

const char *ns_cache_path(const ns_cache *c);

#endif
