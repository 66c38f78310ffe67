/*
 * ns_yaml.c - libfyaml document loading with located errors.
 *
 * Parse errors: libfyaml collects its diagnostics on an fy_diag object when
 * asked to (FYPCF_COLLECT_DIAG); we keep the first error and reformat it in
 * our "file:line:col: message" shape instead of letting the library print.
 * Content errors: callers hand us the offending node, whose start mark
 * gives the position.
 */
#include "ns_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ns_yaml {
    struct fy_document *doc;
    char *path;
    char *text;
};

static char *read_whole_file(const char *path, ns_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ns_fail_errno(err, NS_ERR_INPUT, errno, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = ns_xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0)
            buf = ns_xrealloc(buf, cap *= 2);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        ns_fail(err, NS_ERR_INPUT, "%s: read error", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static ns_status parse_text(const char *name, char *text, ns_yaml **out,
                            ns_error *err)
{
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;            /* never print: we report ourselves */
    dcfg.output_fn = NULL;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag) {
        free(text);
        return ns_fail(err, NS_ERR_NOMEM, "libfyaml: cannot create diagnostics");
    }
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_RESOLVE_DOCUMENT,
        .diag = diag,
    };
    struct fy_document *doc = fy_document_build_from_string(&cfg, text, strlen(text));
    if (!doc || fy_diag_got_error(diag)) {
        void *it = NULL;
        struct fy_diag_error *de;
        ns_status st = ns_fail(err, NS_ERR_INPUT, "%s: invalid YAML", name);
        while ((de = fy_diag_errors_iterate(diag, &it)) != NULL) {
            if (de->type >= FYET_ERROR) {
                st = ns_fail(err, NS_ERR_INPUT, "%s:%d:%d: invalid YAML: %s",
                             name, de->line, de->column, de->msg);
                break;
            }
        }
        if (doc)
            fy_document_destroy(doc);
        fy_diag_destroy(diag);
        free(text);
        return st;
    }
    fy_diag_destroy(diag);
    if (!fy_document_root(doc)) {
        fy_document_destroy(doc);
        free(text);
        return ns_fail(err, NS_ERR_INPUT, "%s: the document is empty", name);
    }
    ns_yaml *y = ns_xcalloc(1, sizeof *y);
    y->doc = doc;
    y->path = ns_xstrdup(name);
    y->text = text; /* the document references the buffer: keep it alive */
    *out = y;
    return NS_OK;
}

ns_status ns_yaml_load_file(const char *path, ns_yaml **out, ns_error *err)
{
    char *text = read_whole_file(path, err);
    if (!text)
        return NS_ERR_INPUT;
    return parse_text(path, text, out, err);
}

ns_status ns_yaml_load_string(const char *name, const char *text,
                              ns_yaml **out, ns_error *err)
{
    return parse_text(name, ns_xstrdup(text), out, err);
}

void ns_yaml_free(ns_yaml *y)
{
    if (!y)
        return;
    fy_document_destroy(y->doc);
    free(y->text);
    free(y->path);
    free(y);
}

struct fy_node *ns_yaml_root(const ns_yaml *y) { return fy_document_root(y->doc); }
const char *ns_yaml_path(const ns_yaml *y) { return y->path; }
const char *ns_yaml_text(const ns_yaml *y) { return y->text; }

/* libfyaml 0.7 keeps positions on tokens, not on nodes: a scalar has its
 * token; a collection is located at its first item, and an empty one at
 * the key that names it in its parent mapping. */
static const struct fy_mark *node_mark(struct fy_node *n, int depth);

/* Position of the key that names n in its parent mapping; for an item of
 * a list, the key naming the list. */
static const struct fy_mark *naming_key_mark(struct fy_node *n, int depth)
{
    struct fy_node *parent = n ? fy_node_get_parent(n) : NULL;
    if (!parent || depth > 64)
        return NULL;
    if (fy_node_is_sequence(parent))
        return naming_key_mark(parent, depth + 1);
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(parent, &it)) != NULL)
        if (fy_node_pair_value(p) == n)
            return node_mark(fy_node_pair_key(p), depth + 1);
    return NULL;
}

static const struct fy_mark *node_mark(struct fy_node *n, int depth)
{
    if (!n || depth > 64)
        return NULL;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        return t ? fy_token_start_mark(t) : NULL;
    }
    void *it = NULL;
    if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        if (p)
            return node_mark(fy_node_pair_key(p), depth + 1);
    } else if (fy_node_is_sequence(n)) {
        struct fy_node *first = fy_node_sequence_iterate(n, &it);
        if (first)
            return node_mark(first, depth + 1);
    }
    return naming_key_mark(n, depth);
}

void ns_yaml_where(struct fy_node *n, int *line, int *col)
{
    const struct fy_mark *m = node_mark(n, 0);
    *line = m ? m->line + 1 : 0;
    *col = m ? m->column + 1 : 0;
}

ns_status ns_yaml_fail(const ns_yaml *y, struct fy_node *at, ns_error *err,
                       const char *fmt, ...)
{
    if (!err)
        return NS_ERR_INPUT;
    int line, col;
    ns_yaml_where(at ? at : ns_yaml_root(y), &line, &col);
    if (line < 1)
        line = col = 1;
    int n = snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", y->path, line, col);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    err->code = NS_ERR_INPUT;
    return NS_ERR_INPUT;
}

static const char *type_name(struct fy_node *n)
{
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: return "a scalar";
    case FYNT_SEQUENCE: return "a list";
    case FYNT_MAPPING: return "a mapping";
    }
    return "something else";
}

ns_status ns_yaml_expect_map(const ns_yaml *y, struct fy_node *n,
                             const char *what, ns_error *err)
{
    if (n && fy_node_is_mapping(n))
        return NS_OK;
    return ns_yaml_fail(y, n, err, "%s: expected a mapping (key: value), found %s",
                        what, n ? type_name(n) : "nothing");
}

ns_status ns_yaml_expect_seq(const ns_yaml *y, struct fy_node *n,
                             const char *what, ns_error *err)
{
    if (n && fy_node_is_sequence(n))
        return NS_OK;
    return ns_yaml_fail(y, n, err, "%s: expected a list, found %s", what,
                        n ? type_name(n) : "nothing");
}

struct fy_node *ns_yaml_get(struct fy_node *map, const char *key)
{
    if (!map || !fy_node_is_mapping(map))
        return NULL;
    return fy_node_mapping_lookup_by_string(map, key, strlen(key));
}

ns_status ns_yaml_check_keys(const ns_yaml *y, struct fy_node *map,
                             const char *const *allowed, const char *what,
                             ns_error *err)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *key = ns_yaml_scalar(k);
        if (!key)
            return ns_yaml_fail(y, k, err, "%s: keys must be plain words", what);
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = 1;
        if (!ok) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *a = allowed; *a && used < sizeof list - 40; a++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                         a == allowed ? "" : ", ", *a);
            return ns_yaml_fail(y, k, err, "%s: unknown key '%s' (expected one of: %s)",
                                what, key, list);
        }
    }
    return NS_OK;
}

const char *ns_yaml_scalar(struct fy_node *n)
{
    if (!n || !fy_node_is_scalar(n))
        return NULL;
    return fy_node_get_scalar0(n);
}

ns_status ns_yaml_string(const ns_yaml *y, struct fy_node *n, const char **out,
                         ns_error *err)
{
    const char *s = ns_yaml_scalar(n);
    if (!s)
        return ns_yaml_fail(y, n, err, "expected a text value, found %s",
                            n ? type_name(n) : "nothing");
    *out = s;
    return NS_OK;
}

ns_status ns_yaml_number(const ns_yaml *y, struct fy_node *n, double *out,
                         ns_error *err)
{
    const char *s = ns_yaml_scalar(n);
    if (!s)
        return ns_yaml_fail(y, n, err, "expected a number, found %s",
                            n ? type_name(n) : "nothing");
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return ns_yaml_fail(y, n, err, "expected a number, found '%s'", s);
    *out = v;
    return NS_OK;
}

ns_status ns_yaml_integer(const ns_yaml *y, struct fy_node *n, long long *out,
                          ns_error *err)
{
    const char *s = ns_yaml_scalar(n);
    if (!s)
        return ns_yaml_fail(y, n, err, "expected a whole number, found %s",
                            n ? type_name(n) : "nothing");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return ns_yaml_fail(y, n, err, "expected a whole number, found '%s'", s);
    *out = v;
    return NS_OK;
}

ns_status ns_yaml_bool(const ns_yaml *y, struct fy_node *n, int *out, ns_error *err)
{
    const char *s = ns_yaml_scalar(n);
    if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "on"))) {
        *out = 1;
        return NS_OK;
    }
    if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "off"))) {
        *out = 0;
        return NS_OK;
    }
    return ns_yaml_fail(y, n, err, "expected true or false, found '%s'", s ? s : "?");
}

static ns_status missing(const ns_yaml *y, struct fy_node *map, const char *key,
                         const char *what, ns_error *err)
{
    return ns_yaml_fail(y, map, err, "missing key '%s' in %s", key, what);
}

#define KEYED(fn, type, inner)                                                \
    ns_status fn(const ns_yaml *y, struct fy_node *map, const char *key,      \
                 int required, const char *what, type *out, ns_error *err)    \
    {                                                                         \
        struct fy_node *n = ns_yaml_get(map, key);                            \
        if (!n)                                                               \
            return required ? missing(y, map, key, what, err) : NS_OK;        \
        return inner(y, n, out, err);                                         \
    }
KEYED(ns_yaml_get_string, const char *, ns_yaml_string)
KEYED(ns_yaml_get_number, double, ns_yaml_number)
KEYED(ns_yaml_get_integer, long long, ns_yaml_integer)
KEYED(ns_yaml_get_bool, int, ns_yaml_bool)
#undef KEYED

struct fy_node *ns_yaml_seq_next(struct fy_node *seq, void **iter)
{
    return fy_node_sequence_iterate(seq, iter);
}

struct fy_node_pair *ns_yaml_map_next(struct fy_node *map, void **iter)
{
    return fy_node_mapping_iterate(map, iter);
}
