/*
 * mock_wire.c - reply and error bodies of the three provider formats for
 * the mock LLM server (see mock_wire.h). Bodies are built with json_pack
 * and dumped compact, in the field order the providers use.
 */
/* for memmem */
#define _GNU_SOURCE
#include "mock_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const mock_format_names[MOCK_FORMAT_COUNT] = {"openai", "anthropic", "gemini"};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int mock_wire_format(const char *path)
{
    if (ends_with(path, "/chat/completions"))
        return MOCK_OPENAI;
    if (ends_with(path, "/messages"))
        return MOCK_ANTHROPIC;
    if (strstr(path, "/models/") && ends_with(path, ":generateContent"))
        return MOCK_GEMINI;
    return -1;
}

const char *mock_wire_key_header(mock_format f)
{
    static const char *const names[MOCK_FORMAT_COUNT] = {"Authorization", "x-api-key",
                                                         "x-goog-api-key"};
    return names[f];
}

int mock_wire_key_matches(mock_format f, const char *value, const char *key)
{
    if (!value)
        return 0;
    if (f == MOCK_OPENAI) {
        if (strncasecmp(value, "Bearer ", 7) != 0)
            return 0;
        value += 7;
    }
    return strcmp(value, key) == 0;
}

/* The schema inside the top-level value `v` of the field that carries it
 * (response_format, tools, generationConfig), as a new reference. */
static json_t *schema_in(mock_format f, const json_t *v, mock_request *out)
{
    const json_t *s = NULL;
    if (f == MOCK_OPENAI) {
        s = json_object_get(json_object_get(v, "json_schema"), "schema");
    } else if (f == MOCK_ANTHROPIC) {
        const json_t *tool = json_array_get(v, 0);
        const char *name = json_string_value(json_object_get(tool, "name"));
        if (name)
            snprintf(out->tool, sizeof out->tool, "%s", name);
        s = json_object_get(tool, "input_schema");
    } else {
        s = json_object_get(v, "responseSchema");
        if (!s)
            s = json_object_get(v, "responseJsonSchema");
    }
    return json_is_object(s) ? json_incref((json_t *)s) : NULL;
}

static const char *const schema_field[MOCK_FORMAT_COUNT] = {"response_format", "tools",
                                                            "generationConfig"};

/* The value that follows the first `"key":` in the body, parsed alone.
 * Inside a JSON string every quote is escaped, so the unescaped text
 * `"key":` can only be an object key; callers check it is the value they
 * expect. NULL when the text is absent or what follows does not parse. */
static json_t *value_after(const char *body, size_t len, const char *key, json_type want)
{
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":", key);
    for (const char *p = body; (p = memmem(p, len - (size_t)(p - body), pat, (size_t)n));) {
        p += n;
        json_error_t err;
        json_t *v = json_loadb(p, len - (size_t)(p - body), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK,
                               &err);
        if (v && json_typeof(v) == want)
            return v;
        json_decref(v);
    }
    return NULL;
}

static void set_model(mock_request *out, const json_t *v)
{
    if (json_is_string(v))
        snprintf(out->model, sizeof out->model, "%s", json_string_value(v));
}

int mock_wire_read(mock_format f, const char *body, size_t len, mock_request *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    json_type want = f == MOCK_ANTHROPIC ? JSON_ARRAY : JSON_OBJECT;
    json_t *v = i < len && body[i] == '{' ? value_after(body, len, schema_field[f], want) : NULL;
    if (v)
        out->schema = schema_in(f, v, out);
    json_decref(v);
    if (out->schema) {
        if (f != MOCK_GEMINI) {
            v = value_after(body, len, "model", JSON_STRING);
            set_model(out, v);
            json_decref(v);
        }
        return 0;
    }
    /* Slow path: no schema where the fast path looks (or none at all). */
    out->tool[0] = '\0';
    json_error_t err;
    json_t *req = json_loadb(body, len, 0, &err);
    if (!json_is_object(req)) {
        json_decref(req);
        return -1;
    }
    const json_t *field = json_object_get(req, schema_field[f]);
    out->schema = field ? schema_in(f, field, out) : NULL;
    set_model(out, json_object_get(req, "model"));
    json_decref(req);
    return 0;
}

void mock_request_clear(mock_request *r)
{
    json_decref(r->schema);
    r->schema = NULL;
}

char *mock_wire_answer_text(const json_t *answer)
{
    return json_dumps(answer, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

/* Gemini names the model in the path: .../models/MODEL:generateContent. */
static void gemini_model(const char *path, char *out, size_t size)
{
    const char *m = strstr(path, "/models/");
    m = m ? m + 8 : path;
    size_t n = strcspn(m, ":");
    if (n >= size)
        n = size - 1;
    memcpy(out, m, n);
    out[n] = '\0';
}

static const char *request_model(const mock_request *req)
{
    return req->model[0] ? req->model : "mock-model";
}

static json_t *reply_openai(const mock_request *req, const char *text, const mock_reply_meta *m)
{
    char id[48];
    snprintf(id, sizeof id, "chatcmpl-mock-%lu", m->serial);
    json_t *r = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}", "id", id,
                          "object", "chat.completion", "created", (json_int_t)time(NULL),
                          "model", request_model(req), "choices", "index", 0, "message",
                          "role", "assistant", "content", text, "finish_reason", "stop");
    if (r && m->with_usage)
        json_object_set_new(r, "usage",
                            json_pack("{s:I, s:I, s:I}", "prompt_tokens",
                                      (json_int_t)m->input_tokens, "completion_tokens",
                                      (json_int_t)m->output_tokens, "total_tokens",
                                      (json_int_t)(m->input_tokens + m->output_tokens)));
    return r;
}

static json_t *reply_anthropic(const mock_request *req, const json_t *answer, const char *text,
                               const mock_reply_meta *m)
{
    char id[48], tool_id[48];
    snprintf(id, sizeof id, "msg_mock_%lu", m->serial);
    snprintf(tool_id, sizeof tool_id, "toolu_mock_%lu", m->serial);
    const char *tool_name = req->tool[0] ? req->tool : NULL;
    json_t *content;
    const char *stop;
    if (tool_name && json_is_object(answer)) {
        content = json_pack("[{s:s, s:s, s:s, s:O}]", "type", "tool_use", "id", tool_id, "name",
                            tool_name, "input", answer);
        stop = "tool_use";
    } else {
        content = json_pack("[{s:s, s:s}]", "type", "text", "text", text);
        stop = "end_turn";
    }
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n}", "id", id, "type", "message",
                          "role", "assistant", "model", request_model(req), "content", content,
                          "stop_reason", stop, "stop_sequence");
    if (r && m->with_usage)
        json_object_set_new(r, "usage",
                            json_pack("{s:I, s:I}", "input_tokens", (json_int_t)m->input_tokens,
                                      "output_tokens", (json_int_t)m->output_tokens));
    return r;
}

static json_t *reply_gemini(const char *text, const mock_reply_meta *m)
{
    char model[128];
    gemini_model(m->path, model, sizeof model);
    json_t *r = json_pack("{s:[{s:{s:s, s:[{s:s}]}, s:s, s:i}], s:s}", "candidates", "content",
                          "role", "model", "parts", "text", text, "finishReason", "STOP", "index",
                          0, "modelVersion", model);
    if (r && m->with_usage)
        json_object_set_new(r, "usageMetadata",
                            json_pack("{s:I, s:I, s:I}", "promptTokenCount",
                                      (json_int_t)m->input_tokens, "candidatesTokenCount",
                                      (json_int_t)m->output_tokens, "totalTokenCount",
                                      (json_int_t)(m->input_tokens + m->output_tokens)));
    return r;
}

char *mock_wire_reply(mock_format f, const mock_request *req, const json_t *answer,
                      const mock_reply_meta *meta)
{
    char *text = mock_wire_answer_text(answer);
    if (!text)
        return NULL;
    json_t *r = f == MOCK_OPENAI      ? reply_openai(req, text, meta)
                : f == MOCK_ANTHROPIC ? reply_anthropic(req, answer, text, meta)
                                      : reply_gemini(text, meta);
    free(text);
    char *body = r ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(r);
    return body;
}

/* The provider's error type (OpenAI, Anthropic) or status (Gemini) for an
 * HTTP status. */
static const char *error_type(mock_format f, unsigned status)
{
    static const struct {
        unsigned status;
        const char *type[MOCK_FORMAT_COUNT];
    } table[] = {
        {400, {"invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"}},
        {401, {"invalid_request_error", "authentication_error", "UNAUTHENTICATED"}},
        {403, {"permission_error", "permission_error", "PERMISSION_DENIED"}},
        {404, {"invalid_request_error", "not_found_error", "NOT_FOUND"}},
        {405, {"invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"}},
        {413, {"invalid_request_error", "request_too_large", "INVALID_ARGUMENT"}},
        {429, {"rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED"}},
        {500, {"server_error", "api_error", "INTERNAL"}},
        {503, {"server_error", "overloaded_error", "UNAVAILABLE"}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].status == status)
            return table[i].type[f];
    return f == MOCK_GEMINI ? "UNKNOWN" : "api_error";
}

char *mock_wire_error(mock_format f, unsigned status, const char *message)
{
    const char *type = error_type(f, status);
    json_t *r;
    if (f == MOCK_ANTHROPIC)
        r = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message",
                      message);
    else if (f == MOCK_GEMINI)
        r = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", (int)status, "message", message,
                      "status", type);
    else
        r = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", message, "type", type,
                      "param", "code");
    char *body = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return body;
}
