/*
 * ns_yaml.h - reading the human-written YAML files (sweeps, scenarios,
 * catalogues) through libfyaml's document tree, with every error located
 * as "file:line:column: message".
 *
 * An ns_yaml owns one parsed document and remembers its file name, so any
 * node taken from it can be turned into a located error. Nodes returned by
 * the accessors are owned by the document and live until ns_yaml_free().
 * Line and column in messages are 1-based, as editors count them.
 */
#ifndef NS_YAML_H
#define NS_YAML_H

#include <libfyaml.h>

#include "ns_status.h"

typedef struct ns_yaml ns_yaml;

/* Parses a file. A syntax error is reported with its location. */
ns_status ns_yaml_load_file(const char *path, ns_yaml **out, ns_error *err);
/* Parses text held in memory; `name` stands for the file name in errors. */
ns_status ns_yaml_load_string(const char *name, const char *text,
                              ns_yaml **out, ns_error *err);
void ns_yaml_free(ns_yaml *y); /* NULL is a no-op */

struct fy_node *ns_yaml_root(const ns_yaml *y);
const char *ns_yaml_path(const ns_yaml *y);
/* The whole source text, as read (owned by y). */
const char *ns_yaml_text(const ns_yaml *y);

/* Formats "path:line:col: <message>" at node `at` (or at the document start
 * when NULL) into err and returns NS_ERR_INPUT. */
ns_status ns_yaml_fail(const ns_yaml *y, struct fy_node *at, ns_error *err,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* 1-based line and column of a node (0 when unknown). */
void ns_yaml_where(struct fy_node *n, int *line, int *col);

/* Node type checks that fail with "expected a mapping/sequence/scalar". */
ns_status ns_yaml_expect_map(const ns_yaml *y, struct fy_node *n,
                             const char *what, ns_error *err);
ns_status ns_yaml_expect_seq(const ns_yaml *y, struct fy_node *n,
                             const char *what, ns_error *err);

/* Value of key in a mapping, or NULL when absent (or n is not a mapping). */
struct fy_node *ns_yaml_get(struct fy_node *map, const char *key);

/* Rejects keys of `map` not in the NULL-terminated `allowed` list, naming
 * the unknown key and the allowed ones: typos must not pass silently. */
ns_status ns_yaml_check_keys(const ns_yaml *y, struct fy_node *map,
                             const char *const *allowed, const char *what,
                             ns_error *err);

/* Scalar accessors. The node must be a scalar; numbers go through strtod
 * and must be finite and consume the whole scalar. */
ns_status ns_yaml_string(const ns_yaml *y, struct fy_node *n,
                         const char **out, ns_error *err);
ns_status ns_yaml_number(const ns_yaml *y, struct fy_node *n, double *out,
                         ns_error *err);
ns_status ns_yaml_integer(const ns_yaml *y, struct fy_node *n, long long *out,
                          ns_error *err);
ns_status ns_yaml_bool(const ns_yaml *y, struct fy_node *n, int *out,
                       ns_error *err);

/* Keyed variants. When the key is absent: with `required` they fail with
 * "missing key 'k' in <what>", otherwise they leave *out untouched and
 * return NS_OK (so callers preset defaults). */
ns_status ns_yaml_get_string(const ns_yaml *y, struct fy_node *map,
                             const char *key, int required, const char *what,
                             const char **out, ns_error *err);
ns_status ns_yaml_get_number(const ns_yaml *y, struct fy_node *map,
                             const char *key, int required, const char *what,
                             double *out, ns_error *err);
ns_status ns_yaml_get_integer(const ns_yaml *y, struct fy_node *map,
                              const char *key, int required, const char *what,
                              long long *out, ns_error *err);
ns_status ns_yaml_get_bool(const ns_yaml *y, struct fy_node *map,
                           const char *key, int required, const char *what,
                           int *out, ns_error *err);

/* Iteration helpers: return the next item / pair, or NULL at the end.
 * Start with *iter = NULL. */
struct fy_node *ns_yaml_seq_next(struct fy_node *seq, void **iter);
struct fy_node_pair *ns_yaml_map_next(struct fy_node *map, void **iter);
static inline struct fy_node *ns_yaml_pair_key(struct fy_node_pair *p)
{ return fy_node_pair_key(p); }
static inline struct fy_node *ns_yaml_pair_value(struct fy_node_pair *p)
{ return fy_node_pair_value(p); }
/* Scalar text of a node, or NULL when it is not a scalar. */
const char *ns_yaml_scalar(struct fy_node *n);

#endif
