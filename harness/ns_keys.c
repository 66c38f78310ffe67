/*
 * ns_keys.c - API keys from the environment and a .env file, the
 * missing-keys check, and redaction of secrets in messages.
 *
 * The .env file is read whole into one buffer (never through getline,
 * whose reallocations would leave copies of keys behind in freed memory),
 * parsed line by line into name/value copies, and the buffer is wiped.
 * Every copy of a value this module makes is wiped on free. Environment
 * values are not copied: getenv's pointer is handed out, and only for
 * redaction is a copy kept (wiped like the rest).
 *
 * Redaction keeps a list of secret strings and replaces them longest
 * first, so that a key containing another key is removed whole.
 */
#include "ns_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define DOTENV_MAX (1u << 20) /* a .env larger than 1 MiB is not a .env */
#define MARKER "[redacted]"

typedef struct kv {
    char *name;
    char *value;
} kv;

struct ns_keys {
    kv *vars; /* from .env, in file order; later duplicates win */
    size_t n_vars, cap_vars;
    char **secrets; /* copies, for redaction */
    size_t n_secrets, cap_secrets;
    pthread_mutex_t lock;
};

/* ------------------------------------------------------------ memory */

static void wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static char *copy_n(const char *s, size_t n)
{
    char *out = ns_xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* Adds a copy of `value` to the secrets unless it is too short or known. */
static void add_secret(ns_keys *k, const char *value)
{
    if (!value || strlen(value) < NS_KEYS_REDACT_MIN)
        return;
    for (size_t i = 0; i < k->n_secrets; i++)
        if (strcmp(k->secrets[i], value) == 0)
            return;
    if (k->n_secrets == k->cap_secrets) {
        k->cap_secrets = k->cap_secrets ? 2 * k->cap_secrets : 16;
        k->secrets = ns_xrealloc(k->secrets, k->cap_secrets * sizeof *k->secrets);
    }
    k->secrets[k->n_secrets++] = ns_xstrdup(value);
}

static void set_var(ns_keys *k, const char *name, size_t name_len, char *value)
{
    for (size_t i = 0; i < k->n_vars; i++)
        if (strlen(k->vars[i].name) == name_len &&
            memcmp(k->vars[i].name, name, name_len) == 0) {
            wipe_free(k->vars[i].value);
            k->vars[i].value = value;
            return;
        }
    if (k->n_vars == k->cap_vars) {
        k->cap_vars = k->cap_vars ? 2 * k->cap_vars : 16;
        k->vars = ns_xrealloc(k->vars, k->cap_vars * sizeof *k->vars);
    }
    k->vars[k->n_vars].name = copy_n(name, name_len);
    k->vars[k->n_vars].value = value;
    k->n_vars++;
}

void ns_keys_free(ns_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n_vars; i++) {
        free(k->vars[i].name);
        wipe_free(k->vars[i].value);
    }
    for (size_t i = 0; i < k->n_secrets; i++)
        wipe_free(k->secrets[i]);
    free(k->vars);
    free(k->secrets);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* ------------------------------------------------------------ parsing */

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* After a closing quote only white space and a comment may follow. */
static int rest_is_blank(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p == end || *p == '#';
}

/* Parses a double-quoted value starting after the quote; on success
 * *out is a fresh copy and NULL is returned, else the problem. */
static const char *parse_double(const char *p, const char *end, char **out)
{
    char *v = ns_xmalloc((size_t)(end - p) + 1);
    size_t n = 0;
    for (; p < end; p++) {
        if (*p == '"') {
            v[n] = '\0';
            if (!rest_is_blank(p + 1, end)) {
                wipe_free(v);
                return "unexpected text after the closing quote";
            }
            *out = v;
            return NULL;
        }
        if (*p == '\\' && p + 1 < end) {
            p++;
            v[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        } else {
            v[n++] = *p;
        }
    }
    v[n] = '\0';
    wipe_free(v);
    return "unterminated double-quoted value (values end on their line)";
}

static const char *parse_single(const char *p, const char *end, char **out)
{
    const char *close = memchr(p, '\'', (size_t)(end - p));
    if (!close)
        return "unterminated single-quoted value (values end on their line)";
    if (!rest_is_blank(close + 1, end))
        return "unexpected text after the closing quote";
    *out = copy_n(p, (size_t)(close - p));
    return NULL;
}

/* Unquoted: up to a '#' that follows white space, trailing space trimmed. */
static char *parse_bare(const char *p, const char *end)
{
    const char *stop = p;
    while (stop < end && !(*stop == '#' && (stop == p || is_space(stop[-1]))))
        stop++;
    while (stop > p && is_space(stop[-1]))
        stop--;
    return copy_n(p, (size_t)(stop - p));
}

/* One line [p, end) without its newline. NULL when fine (or blank), else
 * the problem, which must never quote the line. */
static const char *parse_line(ns_keys *k, const char *p, const char *end)
{
    if (end > p && end[-1] == '\r')
        end--;
    while (p < end && is_space(*p))
        p++;
    if (p == end || *p == '#')
        return NULL;
    if (end - p > 7 && memcmp(p, "export", 6) == 0 && is_space(p[6])) {
        p += 7;
        while (p < end && is_space(*p))
            p++;
    }
    const char *name = p;
    if (p == end || !name_start(*p))
        return "expected NAME=VALUE (NAME: letters, digits and _, not starting "
               "with a digit)";
    while (p < end && name_char(*p))
        p++;
    size_t name_len = (size_t)(p - name);
    while (p < end && is_space(*p))
        p++;
    if (p == end || *p != '=')
        return "expected NAME=VALUE (no '=' after the name)";
    p++;
    while (p < end && is_space(*p))
        p++;
    char *value = NULL;
    const char *problem = NULL;
    if (p < end && *p == '"')
        problem = parse_double(p + 1, end, &value);
    else if (p < end && *p == '\'')
        problem = parse_single(p + 1, end, &value);
    else
        value = parse_bare(p, end);
    if (problem)
        return problem;
    set_var(k, name, name_len, value);
    return NULL;
}

/* Reads the whole file into one buffer (size in *len). NS_ERR_NOTFOUND
 * when it does not exist. */
static ns_status read_file(const char *path, char **out, size_t *len,
                           ns_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ns_fail_errno(err, errno == ENOENT ? NS_ERR_NOTFOUND : NS_ERR_INPUT,
                             errno, "%s: cannot open", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > DOTENV_MAX) {
        close(fd);
        return ns_fail(err, NS_ERR_INPUT, "%s: not a regular file of at most %u bytes",
                       path, DOTENV_MAX);
    }
    size_t size = (size_t)sb.st_size, got = 0;
    char *buf = ns_xmalloc(size + 1);
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (got < size) {
        OPENSSL_cleanse(buf, got);
        free(buf);
        return ns_fail_errno(err, NS_ERR_INPUT, e, "%s: read error", path);
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return NS_OK;
}

static ns_status parse_dotenv(ns_keys *k, const char *path, ns_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    ns_status st = read_file(path, &buf, &len, err);
    if (st)
        return st;
    const char *p = buf, *end = buf + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *problem = parse_line(k, p, stop);
        if (problem) {
            st = ns_fail(err, NS_ERR_INPUT, "%s:%d: %s", path, line, problem);
            break;
        }
        p = nl ? nl + 1 : end;
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    return st;
}

/* Names that hold secrets by convention. */
static int secret_name(const char *name, size_t len)
{
    static const char *const suffixes[] = {"_KEY", "_TOKEN", "_SECRET"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t s = strlen(suffixes[i]);
        if (len >= s && memcmp(name + len - s, suffixes[i], s) == 0)
            return 1;
    }
    return 0;
}

ns_status ns_keys_load(const char *dotenv_path, ns_keys **out, ns_error *err)
{
    *out = NULL;
    ns_keys *k = ns_xcalloc(1, sizeof *k);
    pthread_mutex_init(&k->lock, NULL);
    const char *path = dotenv_path ? dotenv_path : ".env";
    ns_status st = parse_dotenv(k, path, err);
    if (st == NS_ERR_NOTFOUND && !dotenv_path)
        st = NS_OK; /* ./.env is optional */
    else if (st == NS_ERR_NOTFOUND)
        st = ns_fail(err, NS_ERR_INPUT, "%s: no such file (the .env file named "
                     "on the command line must exist)", path);
    if (st) {
        ns_keys_free(k);
        return st;
    }
    for (size_t i = 0; i < k->n_vars; i++)
        add_secret(k, k->vars[i].value);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && secret_name(*e, (size_t)(eq - *e)))
            add_secret(k, eq + 1);
    }
    *out = k;
    return NS_OK;
}

/* ------------------------------------------------------------ lookup */

const char *ns_keys_get(ns_keys *k, const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        v = NULL;
        for (size_t i = 0; k && i < k->n_vars; i++)
            if (strcmp(k->vars[i].name, name) == 0)
                v = k->vars[i].value; /* keep going: the last one wins */
        if (v && !*v)
            v = NULL;
    }
    if (v && k) {
        pthread_mutex_lock(&k->lock);
        add_secret(k, v);
        pthread_mutex_unlock(&k->lock);
    }
    return v;
}

const char *ns_keys_default_var(ns_provider p)
{
    switch (p) {
    case NS_PROVIDER_OPENAI: return "OPENAI_API_KEY";
    case NS_PROVIDER_ANTHROPIC: return "ANTHROPIC_API_KEY";
    case NS_PROVIDER_GEMINI: return "GEMINI_API_KEY";
    default: return NULL;
    }
}

/* Appends to a message buffer, keeping it NUL-terminated; returns 0 once
 * it is full. */
static int append(char *buf, size_t size, size_t *used, const char *s)
{
    size_t n = strlen(s);
    if (*used + n >= size)
        return 0;
    memcpy(buf + *used, s, n + 1);
    *used += n;
    return 1;
}

ns_status ns_keys_require(ns_keys *k, const ns_key_need *needs, size_t n,
                          ns_error *err)
{
    char msg[sizeof err->msg - 64];
    size_t used = 0;
    int ok = append(msg, sizeof msg, &used, "missing API keys: ");
    size_t n_missing = 0;
    for (size_t i = 0; i < n; i++) {
        const char *var = needs[i].var;
        if (!var || ns_keys_get(k, var))
            continue;
        int seen = 0; /* listed already, with all its users */
        for (size_t j = 0; j < i && !seen; j++)
            seen = needs[j].var && strcmp(needs[j].var, var) == 0;
        if (seen)
            continue;
        ok = ok && append(msg, sizeof msg, &used, n_missing++ ? ", " : "");
        ok = ok && append(msg, sizeof msg, &used, var);
        int users = 0;
        for (size_t j = i; j < n; j++) {
            if (!needs[j].var || strcmp(needs[j].var, var) != 0 || !needs[j].used_by)
                continue;
            int dup = 0;
            for (size_t m = i; m < j && !dup; m++)
                dup = needs[m].var && needs[m].used_by &&
                      strcmp(needs[m].var, var) == 0 &&
                      strcmp(needs[m].used_by, needs[j].used_by) == 0;
            if (dup)
                continue;
            ok = ok && append(msg, sizeof msg, &used, users++ ? ", " : " (for ");
            ok = ok && append(msg, sizeof msg, &used, needs[j].used_by);
        }
        if (users)
            ok = ok && append(msg, sizeof msg, &used, ")");
    }
    if (!n_missing)
        return NS_OK;
    return ns_fail(err, NS_ERR_INPUT, "%s%s - set them in the environment or in .env",
                   msg, ok ? "" : "...");
}

/* ------------------------------------------------------------ redaction */

static int longer_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Replaces every occurrence of `s` in *buf (a heap string), growing it. */
static size_t replace_all(char **buf, const char *s)
{
    size_t count = 0, sl = strlen(s), ml = strlen(MARKER);
    char *hit = strstr(*buf, s);
    if (!hit)
        return 0;
    size_t len = strlen(*buf), cap = len + 1;
    /* worst case: every NS_KEYS_REDACT_MIN bytes become a marker */
    cap += (len / sl + 1) * (ml > sl ? ml - sl : 0);
    char *out = ns_xmalloc(cap), *o = out;
    const char *p = *buf;
    for (; hit; hit = strstr(p, s)) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, MARKER, ml);
        o += ml;
        p = hit + sl;
        count++;
    }
    strcpy(o, p);
    OPENSSL_cleanse(*buf, len);
    free(*buf);
    *buf = out;
    return count;
}

size_t ns_keys_redact(ns_keys *k, char *text, size_t size)
{
    if (!k || !text || size == 0)
        return 0;
    pthread_mutex_lock(&k->lock);
    qsort(k->secrets, k->n_secrets, sizeof *k->secrets, longer_first);
    char *work = NULL;
    size_t count = 0;
    for (size_t i = 0; i < k->n_secrets; i++) {
        if (!strstr(work ? work : text, k->secrets[i]))
            continue;
        if (!work)
            work = ns_xstrdup(text);
        count += replace_all(&work, k->secrets[i]);
    }
    pthread_mutex_unlock(&k->lock);
    if (work) {
        /* cutting the redacted text can only cut markers or plain text */
        size_t n = strlen(work);
        if (n >= size)
            n = size - 1;
        memcpy(text, work, n);
        text[n] = '\0';
        wipe_free(work);
    }
    return count;
}

size_t ns_keys_redact_error(ns_keys *k, ns_error *err)
{
    return err ? ns_keys_redact(k, err->msg, sizeof err->msg) : 0;
}
