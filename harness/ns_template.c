/*
 * ns_template.c - parsing and rendering {{variable}} prompt templates
 * (syntax in ns_template.h and docs/prompts.md).
 *
 * Parsing walks the text once and cuts it into segments: literal runs
 * (offsets into the template's own copy of the file, so nothing is copied
 * twice) and variable references (an index into the list of distinct
 * names, plus the line and column for errors). The escape "{{{{" becomes a
 * literal segment covering its first two braces only.
 *
 * Rendering looks every distinct variable up once, sums the lengths,
 * allocates the result once and copies segments into it: no scanning at
 * render time, and no allocation but the result and one small table.
 *
 * The hash is taken over the file's bytes with OpenSSL's EVP interface.
 */
#include "ns_template.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64 /* longest variable name, for readable errors */

typedef struct segment {
    size_t off, len; /* literal: bytes of t->text */
    int var;         /* index into t->names, or -1 for a literal */
    int line, col;   /* of the "{{" (variables only) */
} segment;

struct ns_template {
    char *path;
    char *text;      /* the file's bytes, NUL-terminated */
    size_t len;
    segment *seg;
    size_t n_seg, cap_seg;
    char **names;    /* distinct variable names, in order of first use */
    int *first_seg;  /* per name: the segment of its first use */
    size_t n_names, cap_names;
    char hash[65];
};

/* ---------------------------------------------------------------- parsing */

/* 1-based line and column of byte `off`; columns count UTF-8 characters
 * (continuation bytes 10xxxxxx are not counted). Only called once per
 * placeholder at parse time, so a scan from the start is cheap enough. */
static void where(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static ns_status fail_at(const ns_template *t, size_t off, ns_error *err,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "path:line:col: <message>" at byte `off` of the template. */
static ns_status fail_at(const ns_template *t, size_t off, ns_error *err,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    where(t->text, off, &line, &col);
    return ns_fail(err, NS_ERR_INPUT, "%s:%d:%d: %s", t->path, line, col, msg);
}

static segment *add_segment(ns_template *t)
{
    if (t->n_seg == t->cap_seg) {
        t->cap_seg = t->cap_seg ? 2 * t->cap_seg : 16;
        t->seg = ns_xrealloc(t->seg, t->cap_seg * sizeof *t->seg);
    }
    segment *s = &t->seg[t->n_seg++];
    memset(s, 0, sizeof *s);
    return s;
}

static void add_literal(ns_template *t, size_t off, size_t len)
{
    if (len == 0)
        return;
    segment *s = add_segment(t);
    s->off = off;
    s->len = len;
    s->var = -1;
}

/* Index of name (len bytes) among the distinct names, added if new. */
static int intern_name(ns_template *t, const char *name, size_t len, size_t seg)
{
    for (size_t i = 0; i < t->n_names; i++)
        if (strlen(t->names[i]) == len && memcmp(t->names[i], name, len) == 0)
            return (int)i;
    if (t->n_names == t->cap_names) {
        t->cap_names = t->cap_names ? 2 * t->cap_names : 8;
        t->names = ns_xrealloc(t->names, t->cap_names * sizeof *t->names);
        t->first_seg = ns_xrealloc(t->first_seg, t->cap_names * sizeof *t->first_seg);
    }
    char *copy = ns_xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    t->names[t->n_names] = copy;
    t->first_seg[t->n_names] = (int)seg;
    return (int)t->n_names++;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* The placeholder whose "{{" is at `open`; on success *next is the offset
 * after its "}}". */
static ns_status parse_placeholder(ns_template *t, size_t open, size_t *next,
                                   ns_error *err)
{
    const char *s = t->text;
    size_t close = open + 2;
    while (close < t->len && s[close] != '\n' &&
           !(s[close] == '}' && close + 1 < t->len && s[close + 1] == '}'))
        close++;
    if (close >= t->len || s[close] != '}')
        return fail_at(t, open, err, "unterminated '{{' (a placeholder closes with "
                       "'}}' on the same line; write '{{{{' for a literal '{{')");
    size_t a = open + 2, b = close;
    while (a < b && is_blank(s[a]))
        a++;
    while (b > a && is_blank(s[b - 1]))
        b--;
    if (a == b)
        return fail_at(t, open, err, "empty placeholder '{{}}'");
    int ok = is_name_start(s[a]) && b - a < NAME_MAX_LEN;
    for (size_t i = a; ok && i < b; i++)
        ok = is_name_char(s[i]);
    if (!ok) {
        size_t n = b - a < NAME_MAX_LEN ? b - a : NAME_MAX_LEN;
        return fail_at(t, a, err, "invalid variable name '%.*s%s' (a letter or '_', "
                       "then letters, digits and '_', at most %d characters)",
                       (int)n, s + a, b - a > n ? "..." : "", NAME_MAX_LEN - 1);
    }
    segment *sg = add_segment(t);
    sg->var = intern_name(t, s + a, b - a, t->n_seg - 1);
    where(s, open, &sg->line, &sg->col);
    *next = close + 2;
    return NS_OK;
}

static ns_status parse(ns_template *t, ns_error *err)
{
    const char *s = t->text;
    const char *nul = memchr(s, '\0', t->len);
    if (nul)
        return fail_at(t, (size_t)(nul - s), err, "the template contains a NUL byte");
    size_t lit = 0, i = 0;
    while (i + 1 < t->len) {
        if (s[i] != '{' || s[i + 1] != '{') {
            i++;
            continue;
        }
        if (i + 3 < t->len && s[i + 2] == '{' && s[i + 3] == '{') {
            add_literal(t, lit, i + 2 - lit); /* keep "{{", drop the escape */
            i += 4;
            lit = i;
            continue;
        }
        add_literal(t, lit, i - lit);
        ns_status st = parse_placeholder(t, i, &i, err);
        if (st)
            return st;
        lit = i;
    }
    add_literal(t, lit, t->len - lit);
    return NS_OK;
}

static ns_status hash_bytes(ns_template *t, ns_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(t->text, t->len, md, &n, EVP_sha256(), NULL) || n != 32)
        return ns_fail(err, NS_ERR_INTERNAL, "%s: SHA-256 failed in OpenSSL", t->path);
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        t->hash[2 * i] = hex[md[i] >> 4];
        t->hash[2 * i + 1] = hex[md[i] & 15];
    }
    t->hash[64] = '\0';
    return NS_OK;
}

ns_status ns_template_parse(const char *name, const char *text, size_t len,
                            ns_template **out, ns_error *err)
{
    *out = NULL;
    ns_template *t = ns_xcalloc(1, sizeof *t);
    t->path = ns_xstrdup(name);
    t->text = ns_xmalloc(len + 1);
    memcpy(t->text, text, len);
    t->text[len] = '\0';
    t->len = len;
    ns_status st = hash_bytes(t, err);
    if (!st)
        st = parse(t, err);
    if (st) {
        ns_template_free(t);
        return st;
    }
    *out = t;
    return NS_OK;
}

ns_status ns_template_load(const char *path, ns_template **out, ns_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ns_fail_errno(err, NS_ERR_IO, errno, "cannot open template %s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            buf = ns_xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return ns_fail_errno(err, NS_ERR_IO, e, "cannot read template %s", path);
    }
    ns_status st = ns_template_parse(path, buf, len, out, err);
    free(buf);
    return st;
}

void ns_template_free(ns_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_names; i++)
        free(t->names[i]);
    free(t->names);
    free(t->first_seg);
    free(t->seg);
    free(t->text);
    free(t->path);
    free(t);
}

/* ---------------------------------------------------------------- queries */

const char *const *ns_template_vars(const ns_template *t, size_t *n)
{
    *n = t->n_names;
    return (const char *const *)t->names;
}

const char *ns_template_hash(const ns_template *t) { return t->hash; }
const char *ns_template_path(const ns_template *t) { return t->path; }

const char *ns_template_text(const ns_template *t, size_t *len)
{
    if (len)
        *len = t->len;
    return t->text;
}

/* "path:line:col: " of name i's first use, then the message. */
static ns_status fail_var(const ns_template *t, size_t name, ns_error *err,
                          const char *what, const char *tail)
{
    const segment *s = &t->seg[t->first_seg[name]];
    return ns_fail(err, NS_ERR_INPUT, "%s:%d:%d: %s '%s'%s", t->path, s->line, s->col,
                   what, t->names[name], tail);
}

ns_status ns_template_check(const ns_template *t, const char *const *known,
                            size_t n, ns_error *err)
{
    /* names are in order of first use, so the first unknown one is also
     * the first in the file */
    for (size_t i = 0; i < t->n_names; i++) {
        size_t k = 0;
        while (k < n && strcmp(known[k], t->names[i]) != 0)
            k++;
        if (k < n)
            continue;
        char list[768];
        size_t used = 0;
        list[0] = '\0';
        for (size_t j = 0; j < n && used < sizeof list; j++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                             known[j]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        char tail[800];
        snprintf(tail, sizeof tail, " (known variables: %s)", n ? list : "none");
        return fail_var(t, i, err, "unknown variable", tail);
    }
    return NS_OK;
}

/* -------------------------------------------------------------- rendering */

ns_status ns_template_render(const ns_template *t, ns_template_lookup_fn lookup,
                             void *ctx, char **out, ns_error *err)
{
    *out = NULL;
    const char **val = NULL;
    size_t *len = NULL;
    if (t->n_names) {
        val = ns_xmalloc(t->n_names * sizeof *val);
        len = ns_xmalloc(t->n_names * sizeof *len);
    }
    for (size_t i = 0; i < t->n_names; i++) {
        val[i] = lookup(ctx, t->names[i]);
        if (!val[i]) {
            free(val);
            free(len);
            return fail_var(t, i, err, "no value for variable", "");
        }
        len[i] = strlen(val[i]);
    }
    size_t total = 0;
    for (size_t k = 0; k < t->n_seg; k++)
        total += t->seg[k].var < 0 ? t->seg[k].len : len[t->seg[k].var];
    char *buf = ns_xmalloc(total + 1), *p = buf;
    for (size_t k = 0; k < t->n_seg; k++) {
        const segment *s = &t->seg[k];
        if (s->var < 0) {
            memcpy(p, t->text + s->off, s->len);
            p += s->len;
        } else {
            memcpy(p, val[s->var], len[s->var]);
            p += len[s->var];
        }
    }
    *p = '\0';
    free(val);
    free(len);
    *out = buf;
    return NS_OK;
}
