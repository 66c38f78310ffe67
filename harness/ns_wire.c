/*
 * ns_wire.c - the three LLM wire formats (OpenAI Chat Completions,
 * Anthropic Messages, Gemini generateContent) as pure functions over
 * jansson: a chat in, a URL + headers + JSON body out; a reply body in, the
 * answer text, token usage and finish reason out.
 *
 * Bodies are built as jansson trees and dumped with JSON_COMPACT |
 * JSON_SORT_KEYS, so the bytes depend only on the chat (the response cache
 * hashes them). Reals are dumped with 15 significant digits, so a
 * temperature of 0.7 reads "0.7" and not "0.69999999999999996".
 *
 * The API key goes into one header and nowhere else: not the URL (Gemini
 * accepts it as ?key=, which would leak into logs), not the body, and not
 * any error message written here.
 *
 * Field names follow the providers' API references: OpenAI deprecated
 * max_tokens for max_completion_tokens (reasoning models refuse the old
 * name), while OpenAI-compatible servers (vLLM, llama.cpp, Ollama) know
 * max_tokens, so the two providers differ only there. Gemini's
 * responseSchema is "a select subset of an OpenAPI 3.0 schema object":
 * type, format, title, description, nullable, enum, properties, required,
 * propertyOrdering, items, min/maxItems, minimum, maximum, min/maxLength,
 * pattern, anyOf, example, default; additionalProperties is refused, so
 * gemini_schema() copies only those keys. Its Developer API accepts only
 * the formats "enum" (which marks an enum) and "date-time".
 */
#include "ns_wire.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))
#define WIRE_DEFAULT_MAX_TOKENS 1024

const char *const ns_provider_names[NS_PROVIDER_COUNT] = {
    "openai", "anthropic", "gemini", "openai-compatible"};

int ns_provider_find(const char *name)
{
    if (!name)
        return -1;
    for (int p = 0; p < NS_PROVIDER_COUNT; p++)
        if (strcmp(name, ns_provider_names[p]) == 0)
            return p;
    return -1;
}

const char *ns_provider_default_base(ns_provider p)
{
    switch (p) {
    case NS_PROVIDER_OPENAI: return "https://api.openai.com/v1";
    case NS_PROVIDER_ANTHROPIC: return "https://api.anthropic.com";
    case NS_PROVIDER_GEMINI: return "https://generativelanguage.googleapis.com";
    default: return NULL;
    }
}

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

static const char *provider_name(ns_provider p)
{
    return (unsigned)p < NS_PROVIDER_COUNT ? ns_provider_names[p] : "unknown provider";
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = ns_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Copies at most size-1 bytes of src[0..n) into dst, control characters
 * turned into blanks and never ending inside a UTF-8 sequence, so a
 * message cut to size is still printable text. */
static void copy_text(char *dst, size_t size, const char *src, size_t n)
{
    if (size == 0)
        return;
    size_t k = n < size - 1 ? n : size - 1;
    if (k < n) /* cut: back off continuation bytes (10xxxxxx) to a boundary */
        while (k > 0 && ((unsigned char)src[k] & 0xC0) == 0x80)
            k--;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[k] = '\0';
}

/* 1 when s holds a byte that must never reach an HTTP header line. */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Gemini puts the model id into the URL path. */
static int url_safe_model(const char *m)
{
    for (; *m; m++)
        if (!isalnum((unsigned char)*m) && *m != '-' && *m != '_' && *m != '.')
            return 0;
    return 1;
}

/* base without trailing slashes, then the formatted tail. */
static char *join_url(const char *base, const char *tail)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return fmt_alloc("%.*s%s", (int)n, base, tail);
}

static int max_tokens_of(const ns_chat *c)
{
    return c->max_tokens > 0 ? c->max_tokens : WIRE_DEFAULT_MAX_TOKENS;
}

static int has_temperature(const ns_chat *c)
{
    return c->temperature >= 0 && isfinite(c->temperature);
}

static const char *schema_name_of(const ns_chat *c)
{
    return c->schema_name && *c->schema_name ? c->schema_name : "answer";
}

/* ------------------------------------------------------------------ */
/* request bodies                                                     */

static json_t *openai_body(ns_provider p, const ns_chat *c)
{
    json_t *msgs = json_array();
    if (c->system && *c->system)
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system",
                                              "content", c->system));
    for (size_t i = 0; i < c->n_messages; i++)
        json_array_append_new(
            msgs, json_pack("{s:s, s:s}", "role",
                            c->messages[i].role == NS_ROLE_ASSISTANT ? "assistant" : "user",
                            "content", c->messages[i].text));

    json_t *body = json_pack("{s:s, s:o}", "model", c->model, "messages", msgs);
    /* OpenAI proper: max_tokens is deprecated and refused by reasoning
     * models; compatible servers may not know the new name. */
    json_object_set_new(body, p == NS_PROVIDER_OPENAI ? "max_completion_tokens" : "max_tokens",
                        json_integer(max_tokens_of(c)));
    if (has_temperature(c))
        json_object_set_new(body, "temperature", json_real(c->temperature));
    if (c->schema)
        json_object_set_new(
            body, "response_format",
            json_pack("{s:s, s:{s:s, s:b, s:O}}", "type", "json_schema", "json_schema",
                      "name", schema_name_of(c), "strict", 1, "schema",
                      (json_t *)c->schema)); /* shared, never changed: no copy */
    return body;
}

static json_t *anthropic_body(const ns_chat *c)
{
    json_t *msgs = json_array();
    for (size_t i = 0; i < c->n_messages; i++)
        json_array_append_new(
            msgs, json_pack("{s:s, s:s}", "role",
                            c->messages[i].role == NS_ROLE_ASSISTANT ? "assistant" : "user",
                            "content", c->messages[i].text));

    json_t *body = json_pack("{s:s, s:i, s:o}", "model", c->model, "max_tokens",
                             max_tokens_of(c), "messages", msgs);
    if (c->system && *c->system)
        json_object_set_new(body, "system", json_string(c->system));
    if (has_temperature(c))
        json_object_set_new(body, "temperature", json_real(c->temperature));
    if (c->schema) {
        /* Structured output through one tool the model is forced to call:
         * its input is the answer. */
        const char *name = schema_name_of(c);
        json_object_set_new(
            body, "tools",
            json_pack("[{s:s, s:s, s:O}]", "name", name, "description",
                      "Give your answer by calling this tool; its input is the answer.",
                      "input_schema", (json_t *)c->schema)); /* shared, as above */
        json_object_set_new(body, "tool_choice",
                            json_pack("{s:s, s:s}", "type", "tool", "name", name));
    }
    return body;
}

static json_t *gemini_schema(const json_t *s);

/* Gemini's Type enum is upper case; a JSON-schema type list such as
 * ["string", "null"] becomes the one type plus nullable. */
static void gemini_type(json_t *out, const json_t *type)
{
    const char *t = NULL;
    if (json_is_string(type)) {
        t = json_string_value(type);
    } else if (json_is_array(type)) {
        size_t i;
        json_t *v;
        json_array_foreach(type, i, v) {
            if (!json_is_string(v))
                continue;
            if (strcmp(json_string_value(v), "null") == 0)
                json_object_set_new(out, "nullable", json_true());
            else if (!t)
                t = json_string_value(v);
        }
    }
    if (!t)
        return;
    char up[16];
    size_t n = strlen(t) < sizeof up - 1 ? strlen(t) : sizeof up - 1;
    for (size_t i = 0; i < n; i++)
        up[i] = (char)toupper((unsigned char)t[i]);
    up[n] = '\0';
    json_object_set_new(out, "type", json_string(up));
}

static int gemini_passes(const char *key)
{
    static const char *const keys[] = {
        "title", "description", "nullable", "enum", "required",
        "propertyOrdering", "minItems", "maxItems", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "example", "default", NULL};
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* Copies schema `s` keeping only what Gemini's responseSchema accepts;
 * nested schemas (properties, items, anyOf) are converted the same way. */
static json_t *gemini_schema(const json_t *s)
{
    json_t *out = json_object();
    if (!json_is_object(s))
        return out;
    /* jansson iterates in insertion order; nothing is modified */
    json_t *src = (json_t *)s;
    const char *key;
    json_t *v;
    json_object_foreach(src, key, v) {
        if (strcmp(key, "type") == 0) {
            gemini_type(out, v);
        } else if (strcmp(key, "properties") == 0 && json_is_object(v)) {
            json_t *props = json_object(), *order = json_array();
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv) {
                json_object_set_new(props, pk, gemini_schema(pv));
                json_array_append_new(order, json_string(pk));
            }
            json_object_set_new(out, "properties", props);
            /* Without it Gemini orders keys alphabetically; keep the
             * schema's order (e.g. the message before the offer). */
            if (!json_object_get(s, "propertyOrdering"))
                json_object_set_new(out, "propertyOrdering", order);
            else
                json_decref(order);
        } else if (strcmp(key, "items") == 0) {
            json_object_set_new(out, "items", gemini_schema(v));
        } else if (strcmp(key, "anyOf") == 0 && json_is_array(v)) {
            json_t *any = json_array();
            size_t i;
            json_t *a;
            json_array_foreach(v, i, a)
                json_array_append_new(any, gemini_schema(a));
            json_object_set_new(out, "anyOf", any);
        } else if (strcmp(key, "const") == 0 && json_is_string(v)) {
            json_object_set_new(out, "enum", json_pack("[O]", v));
        } else if (strcmp(key, "format") == 0) {
            /* the Gemini Developer API takes only these two formats */
            if (json_is_string(v) && (strcmp(json_string_value(v), "enum") == 0 ||
                                      strcmp(json_string_value(v), "date-time") == 0))
                json_object_set_new(out, "format", json_deep_copy(v));
        } else if (gemini_passes(key)) {
            json_object_set_new(out, key, json_deep_copy(v));
        }
        /* anything else (additionalProperties, $schema, strict...) is
         * dropped: Gemini refuses unknown schema fields */
    }
    /* Gemini marks a string enum with format "enum" */
    if (json_object_get(out, "enum") && !json_object_get(out, "format"))
        json_object_set_new(out, "format", json_string("enum"));
    return out;
}

static json_t *gemini_body(const ns_chat *c)
{
    json_t *contents = json_array();
    for (size_t i = 0; i < c->n_messages; i++)
        json_array_append_new(
            contents, json_pack("{s:s, s:[{s:s}]}", "role",
                                c->messages[i].role == NS_ROLE_ASSISTANT ? "model" : "user",
                                "parts", "text", c->messages[i].text));

    json_t *gen = json_pack("{s:i}", "maxOutputTokens", max_tokens_of(c));
    if (has_temperature(c))
        json_object_set_new(gen, "temperature", json_real(c->temperature));
    if (c->schema) {
        json_object_set_new(gen, "responseMimeType", json_string("application/json"));
        json_object_set_new(gen, "responseSchema", gemini_schema(c->schema));
    }
    json_t *body = json_pack("{s:o, s:o}", "contents", contents, "generationConfig", gen);
    if (c->system && *c->system)
        json_object_set_new(body, "systemInstruction",
                            json_pack("{s:[{s:s}]}", "parts", "text", c->system));
    return body;
}

static ns_status check_chat(ns_provider p, const ns_chat *c, ns_error *err)
{
    if (!c->model || !*c->model)
        return ns_fail(err, NS_ERR_INPUT, "%s: no model given", provider_name(p));
    for (size_t i = 0; i < c->n_messages; i++) {
        if (!c->messages[i].text)
            return ns_fail(err, NS_ERR_INPUT, "%s: chat message %zu has no text",
                           provider_name(p), i + 1);
        if (c->messages[i].role != NS_ROLE_USER && c->messages[i].role != NS_ROLE_ASSISTANT)
            return ns_fail(err, NS_ERR_INPUT, "%s: chat message %zu has an unknown role",
                           provider_name(p), i + 1);
    }
    if (c->schema_name) { /* OpenAI and Anthropic: [A-Za-z0-9_-]{1,64} */
        size_t n = strlen(c->schema_name);
        int ok = n >= 1 && n <= 64;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)c->schema_name[i]) || c->schema_name[i] == '_' ||
                 c->schema_name[i] == '-';
        if (!ok)
            return ns_fail(err, NS_ERR_INPUT,
                           "%s: schema name '%.80s' must be 1 to 64 letters, digits, '_' "
                           "or '-'",
                           provider_name(p), c->schema_name);
    }
    if (p == NS_PROVIDER_GEMINI && !url_safe_model(c->model))
        return ns_fail(err, NS_ERR_INPUT,
                       "gemini: model id '%s' may hold only letters, digits, '-', '_' "
                       "and '.'",
                       c->model);
    return NS_OK;
}

static char *build_url(ns_provider p, const char *base, const char *model)
{
    switch (p) {
    case NS_PROVIDER_ANTHROPIC: return join_url(base, "/v1/messages");
    case NS_PROVIDER_GEMINI: {
        char *tail = fmt_alloc("/v1beta/models/%s:generateContent", model);
        char *url = join_url(base, tail);
        free(tail);
        return url;
    }
    default: return join_url(base, "/chat/completions");
    }
}

static char *key_header(ns_provider p, const char *key)
{
    switch (p) {
    case NS_PROVIDER_ANTHROPIC: return fmt_alloc("x-api-key: %s", key);
    case NS_PROVIDER_GEMINI: return fmt_alloc("x-goog-api-key: %s", key);
    default: return fmt_alloc("Authorization: Bearer %s", key);
    }
}

ns_status ns_wire_build(ns_provider p, const char *base, const char *api_key,
                        const ns_chat *chat, ns_wire_request *out, ns_error *err)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)p >= NS_PROVIDER_COUNT)
        return ns_fail(err, NS_ERR_INTERNAL, "ns_wire_build: unknown provider %d", (int)p);
    if (!base || !*base)
        base = ns_provider_default_base(p);
    if (!base)
        return ns_fail(err, NS_ERR_INPUT, "%s: no base URL given", provider_name(p));
    ns_status st = check_chat(p, chat, err);
    if (st != NS_OK)
        return st;
    if (api_key && has_control(api_key)) /* never print the key itself */
        return ns_fail(err, NS_ERR_INPUT,
                       "%s: the API key contains a control character (a stray "
                       "newline or quote in the environment or .env file?)",
                       provider_name(p));

    json_t *body = p == NS_PROVIDER_ANTHROPIC ? anthropic_body(chat)
                   : p == NS_PROVIDER_GEMINI  ? gemini_body(chat)
                                              : openai_body(p, chat);
    char *text = body ? json_dumps(body, WIRE_DUMP_FLAGS) : NULL;
    json_decref(body);
    if (!text)
        return ns_fail(err, NS_ERR_NOMEM, "%s: could not serialise the request",
                       provider_name(p));

    out->body = text;
    out->body_len = strlen(text);
    out->url = build_url(p, base, chat->model);
    int h = 0;
    if (api_key && *api_key)
        out->headers[h++] = key_header(p, api_key);
    out->headers[h++] = ns_xstrdup("Content-Type: application/json");
    if (p == NS_PROVIDER_ANTHROPIC)
        out->headers[h++] = ns_xstrdup("anthropic-version: 2023-06-01");
    out->headers[h] = NULL;
    return NS_OK;
}

void ns_wire_request_free(ns_wire_request *r)
{
    if (!r)
        return;
    free(r->url);
    for (int i = 0; i < 4; i++)
        free(r->headers[i]);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ */
/* replies                                                            */

static long usage_count(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return (long)json_integer_value(v);
    if (json_is_real(v))
        return (long)json_real_value(v);
    return -1;
}

static void set_finish(ns_wire_reply *out, const json_t *v)
{
    if (json_is_string(v))
        copy_text(out->finish, sizeof out->finish, json_string_value(v),
                  json_string_length(v));
}

/* The text of an error object found inside a body: error.message, a bare
 * error string, or a top-level message/detail. "" when none. */
static void error_text(const json_t *root, char *out, size_t size)
{
    const json_t *e = json_object_get(root, "error");
    const json_t *msg = NULL, *kind = NULL;
    if (json_is_object(e)) {
        msg = json_object_get(e, "message");
        kind = json_object_get(e, "status"); /* Gemini: INVALID_ARGUMENT */
        if (!json_is_string(kind))
            kind = json_object_get(e, "type"); /* OpenAI, Anthropic */
    } else if (json_is_string(e)) {
        msg = e; /* Ollama: {"error": "..."} */
    } else {
        msg = json_object_get(root, "message"); /* vLLM: {"object":"error",...} */
        if (!json_is_string(msg))
            msg = json_object_get(root, "detail"); /* FastAPI servers */
        kind = json_object_get(root, "type");
    }
    if (!json_is_string(msg)) {
        out[0] = '\0';
        return;
    }
    if (json_is_string(kind) && json_string_length(kind) > 0) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s (%s)", json_string_value(msg), json_string_value(kind));
        copy_text(out, size, buf, strlen(buf));
    } else {
        copy_text(out, size, json_string_value(msg), json_string_length(msg));
    }
}

/* The 2xx body carries an error object instead of an answer (OpenRouter
 * and some proxies do this). */
static ns_status embedded_error(ns_provider p, const json_t *root, ns_error *err)
{
    char msg[512];
    error_text(root, msg, sizeof msg);
    return ns_fail(err, NS_ERR_INPUT, "%s reply carries an error: %s", provider_name(p),
                   msg[0] ? msg : "(no message)");
}

static ns_status openai_parse(ns_provider p, const json_t *root, ns_wire_reply *out,
                              char **text, ns_error *err)
{
    const char *who = provider_name(p);
    const json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        out->input_tokens = usage_count(usage, "prompt_tokens");
        out->output_tokens = usage_count(usage, "completion_tokens");
    }
    const json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    if (!json_is_object(choice))
        return json_object_get(root, "error")
                   ? embedded_error(p, root, err)
                   : ns_fail(err, NS_ERR_INPUT, "%s reply has no choices[0]", who);
    set_finish(out, json_object_get(choice, "finish_reason"));
    const json_t *msg = json_object_get(choice, "message");
    const json_t *refusal = json_object_get(msg, "refusal");
    if (json_is_string(refusal))
        return ns_fail(err, NS_ERR_INPUT, "%s: the model refused: %.300s", who,
                       json_string_value(refusal));
    if (strcmp(out->finish, "length") == 0)
        return ns_fail(err, NS_ERR_INPUT,
                       "%s: the answer was cut off at the output token limit "
                       "(finish_reason length)",
                       who);
    if (strcmp(out->finish, "content_filter") == 0)
        return ns_fail(err, NS_ERR_INPUT,
                       "%s: the answer was withheld by the content filter "
                       "(finish_reason content_filter)",
                       who);
    const json_t *content = json_object_get(msg, "content");
    if (json_is_string(content)) {
        *text = ns_xstrdup(json_string_value(content));
    } else if (json_is_array(content)) { /* content parts: join the text ones */
        size_t i, n = 0;
        json_t *part;
        json_array_foreach(content, i, part)
            n += json_string_length(json_object_get(part, "text"));
        char *t = ns_xmalloc(n + 1), *w = t;
        json_array_foreach(content, i, part) {
            const json_t *pt = json_object_get(part, "text");
            memcpy(w, json_string_value(pt) ? json_string_value(pt) : "",
                   json_string_length(pt));
            w += json_string_length(pt);
        }
        *w = '\0';
        *text = t;
    } else {
        /* a compatible server that answered through a function call */
        const json_t *args = json_object_get(
            json_object_get(json_array_get(json_object_get(msg, "tool_calls"), 0), "function"),
            "arguments");
        if (json_is_string(args))
            *text = ns_xstrdup(json_string_value(args));
    }
    return NS_OK;
}

static ns_status anthropic_parse(const json_t *root, ns_wire_reply *out, char **text,
                                 ns_error *err)
{
    const json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        out->input_tokens = usage_count(usage, "input_tokens");
        out->output_tokens = usage_count(usage, "output_tokens");
    }
    const json_t *type = json_object_get(root, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "error") == 0)
        return embedded_error(NS_PROVIDER_ANTHROPIC, root, err);
    set_finish(out, json_object_get(root, "stop_reason"));
    if (strcmp(out->finish, "max_tokens") == 0 ||
        strcmp(out->finish, "model_context_window_exceeded") == 0)
        return ns_fail(err, NS_ERR_INPUT,
                       "anthropic: the answer was cut off at the token limit "
                       "(stop_reason %s)",
                       out->finish);
    if (strcmp(out->finish, "refusal") == 0)
        return ns_fail(err, NS_ERR_INPUT, "anthropic: the model refused to answer "
                                          "(stop_reason refusal)");
    const json_t *content = json_object_get(root, "content");
    if (!json_is_array(content))
        return ns_fail(err, NS_ERR_INPUT, "anthropic reply has no content array");

    /* The forced tool call holds the structured answer; serialise its
     * input back to JSON text so every provider hands over text. */
    size_t i, n = 0;
    json_t *block;
    json_array_foreach(content, i, block) {
        const json_t *bt = json_object_get(block, "type");
        if (json_is_string(bt) && strcmp(json_string_value(bt), "tool_use") == 0 &&
            json_is_object(json_object_get(block, "input"))) {
            *text = json_dumps(json_object_get(block, "input"), WIRE_DUMP_FLAGS);
            if (!*text)
                return ns_fail(err, NS_ERR_NOMEM, "anthropic: could not serialise tool input");
            return NS_OK;
        }
        if (json_is_string(bt) && strcmp(json_string_value(bt), "text") == 0)
            n += json_string_length(json_object_get(block, "text"));
    }
    char *t = ns_xmalloc(n + 1), *w = t;
    json_array_foreach(content, i, block) {
        const json_t *bt = json_object_get(block, "type");
        const json_t *bx = json_object_get(block, "text");
        if (json_is_string(bt) && strcmp(json_string_value(bt), "text") == 0 &&
            json_is_string(bx)) {
            memcpy(w, json_string_value(bx), json_string_length(bx));
            w += json_string_length(bx);
        }
    }
    *w = '\0';
    *text = t;
    return NS_OK;
}

static ns_status gemini_parse(const json_t *root, ns_wire_reply *out, char **text,
                              ns_error *err)
{
    const json_t *usage = json_object_get(root, "usageMetadata");
    if (json_is_object(usage)) {
        out->input_tokens = usage_count(usage, "promptTokenCount");
        out->output_tokens = usage_count(usage, "candidatesTokenCount");
        /* thinking models bill their thoughts as output tokens */
        long thoughts = usage_count(usage, "thoughtsTokenCount");
        if (thoughts > 0)
            out->output_tokens = (out->output_tokens > 0 ? out->output_tokens : 0) + thoughts;
    }
    if (json_object_get(root, "error"))
        return embedded_error(NS_PROVIDER_GEMINI, root, err);
    const json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
    if (!json_is_object(cand)) {
        const json_t *block = json_object_get(json_object_get(root, "promptFeedback"),
                                              "blockReason");
        if (json_is_string(block)) {
            set_finish(out, block);
            return ns_fail(err, NS_ERR_INPUT, "gemini: the prompt was blocked (blockReason %s)",
                           out->finish);
        }
        return ns_fail(err, NS_ERR_INPUT, "gemini reply has no candidates[0]");
    }
    set_finish(out, json_object_get(cand, "finishReason"));
    if (strcmp(out->finish, "MAX_TOKENS") == 0)
        return ns_fail(err, NS_ERR_INPUT,
                       "gemini: the answer was cut off at the output token limit "
                       "(finishReason MAX_TOKENS)");
    /* SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE,
     * OTHER...: whatever is not a natural stop is no answer to use */
    if (out->finish[0] && strcmp(out->finish, "STOP") != 0 &&
        strcmp(out->finish, "FINISH_REASON_UNSPECIFIED") != 0)
        return ns_fail(err, NS_ERR_INPUT, "gemini: the answer was blocked (finishReason %s)",
                       out->finish);

    const json_t *parts = json_object_get(json_object_get(cand, "content"), "parts");
    size_t i, n = 0;
    json_t *part;
    json_array_foreach(parts, i, part)
        if (!json_is_true(json_object_get(part, "thought"))) /* skip thinking */
            n += json_string_length(json_object_get(part, "text"));
    char *t = ns_xmalloc(n + 1), *w = t;
    json_array_foreach(parts, i, part) {
        const json_t *pt = json_object_get(part, "text");
        if (!json_is_true(json_object_get(part, "thought")) && json_is_string(pt)) {
            memcpy(w, json_string_value(pt), json_string_length(pt));
            w += json_string_length(pt);
        }
    }
    *w = '\0';
    *text = t;
    return NS_OK;
}

ns_status ns_wire_parse(ns_provider p, const char *body, size_t len, ns_wire_reply *out,
                        ns_error *err)
{
    memset(out, 0, sizeof *out);
    out->input_tokens = out->output_tokens = -1;
    if ((unsigned)p >= NS_PROVIDER_COUNT)
        return ns_fail(err, NS_ERR_INTERNAL, "ns_wire_parse: unknown provider %d", (int)p);
    json_error_t jerr;
    json_t *root = body ? json_loadb(body, len, 0, &jerr) : NULL;
    if (!root)
        return ns_fail(err, NS_ERR_INPUT, "%s reply is not JSON: %s", provider_name(p),
                       body ? jerr.text : "empty body");
    if (!json_is_object(root)) {
        json_decref(root);
        return ns_fail(err, NS_ERR_INPUT, "%s reply is not a JSON object", provider_name(p));
    }

    char *text = NULL;
    ns_status st = p == NS_PROVIDER_ANTHROPIC ? anthropic_parse(root, out, &text, err)
                   : p == NS_PROVIDER_GEMINI  ? gemini_parse(root, out, &text, err)
                                              : openai_parse(p, root, out, &text, err);
    json_decref(root);
    if (st == NS_OK && (!text || !*text))
        st = ns_fail(err, NS_ERR_INPUT, "%s reply has no answer text (finish reason '%s')",
                     provider_name(p), out->finish);
    if (st != NS_OK) {
        free(text);
        return st;
    }
    out->text = text;
    return NS_OK;
}

void ns_wire_reply_free(ns_wire_reply *r)
{
    if (!r)
        return;
    free(r->text);
    r->text = NULL;
}

void ns_wire_error_message(ns_provider p, const char *body, size_t len, char *out,
                           size_t size)
{
    (void)p; /* the shapes differ little enough to read them all alike */
    if (!out || size == 0)
        return;
    out[0] = '\0';
    if (!body || len == 0)
        return;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (json_is_array(root)) { /* Gemini may wrap the error in a list */
        json_t *first = json_incref(json_array_get(root, 0));
        json_decref(root);
        root = first;
    }
    if (json_is_object(root)) {
        error_text(root, out, size);
        json_decref(root);
        return;
    }
    json_decref(root);
    /* Not JSON (a proxy's HTML or plain-text page): the text itself, line
     * breaks turned into blanks, cut to size. */
    size_t n = strnlen(body, len);
    copy_text(out, size, body, n);
}
