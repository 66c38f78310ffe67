/*
 * mock_wire.h - the server side of the three LLM wire formats, as the
 * mock speaks them: which format a request path is, where its JSON schema
 * and model sit, how the API key is presented, and the reply and error
 * bodies each provider sends. Pure functions over jansson; no I/O.
 *
 *   openai     POST .../chat/completions; "Authorization: Bearer KEY";
 *              schema at response_format.json_schema.schema; reply
 *              {id, object, created, model, choices[0].message.content
 *              (the answer as JSON text), finish_reason "stop", usage
 *              {prompt_tokens, completion_tokens, total_tokens}}.
 *   anthropic  POST .../v1/messages; "x-api-key: KEY"; schema at
 *              tools[0].input_schema; reply {id, type, role, model,
 *              content [{type tool_use, id, name, input}] (or one text
 *              block when the request has no tool), stop_reason,
 *              usage {input_tokens, output_tokens}}.
 *   gemini     POST .../models/MODEL:generateContent; "x-goog-api-key:
 *              KEY"; schema at generationConfig.responseSchema (or
 *              responseJsonSchema); reply {candidates[0].content.parts[0].text,
 *              finishReason "STOP", usageMetadata {promptTokenCount,
 *              candidatesTokenCount, totalTokenCount}, modelVersion}.
 *
 * Error bodies follow each provider: openai {"error": {message, type,
 * param, code}}, anthropic {"type": "error", "error": {type, message}},
 * gemini {"error": {code, message, status}}. No key ever goes into one.
 */
#ifndef MOCK_WIRE_H
#define MOCK_WIRE_H

#include <jansson.h>
#include <stddef.h>

typedef enum mock_format {
    MOCK_OPENAI = 0,
    MOCK_ANTHROPIC,
    MOCK_GEMINI,
    MOCK_FORMAT_COUNT
} mock_format;

/* "openai", "anthropic", "gemini" */
extern const char *const mock_format_names[MOCK_FORMAT_COUNT];

/* The format a request path speaks, or -1 for none. */
int mock_wire_format(const char *path);

/* The header that carries the key ("Authorization", "x-api-key",
 * "x-goog-api-key"). */
const char *mock_wire_key_header(mock_format f);
/* 1 when header value `value` (may be NULL) presents key `key`. */
int mock_wire_key_matches(mock_format f, const char *value, const char *key);

/* What the mock needs from a request body. */
typedef struct mock_request {
    json_t *schema;            /* the schema the answer must follow, or NULL;
                                  owned: release with mock_request_clear */
    char model[128];           /* "model" (OpenAI, Anthropic), or "" */
    char tool[128];            /* Anthropic tools[0].name, or "" */
} mock_request;

/* Reads the fields above from `body`. Fast path: each top-level field is
 * found by its key text ("response_format":, "tools":, "generationConfig":,
 * "model":) and only that value is parsed, so a long conversation is
 * never parsed at all; a body where the key text is not found is parsed
 * whole. 0 on success, -1 when the body is not a JSON object. */
int mock_wire_read(mock_format f, const char *body, size_t len, mock_request *out);
void mock_request_clear(mock_request *r);

/* What goes into a reply besides the answer. */
typedef struct mock_reply_meta {
    const char *path;          /* request path (Gemini's model is in it) */
    unsigned long serial;      /* makes ids unique */
    long input_tokens;         /* usage block, when with_usage */
    long output_tokens;
    int with_usage;
} mock_reply_meta;

/* The 200 reply body carrying `answer` (compact JSON, malloc'd, caller
 * frees), or NULL if out of memory. */
char *mock_wire_reply(mock_format f, const mock_request *req, const json_t *answer,
                      const mock_reply_meta *meta);
/* The answer as the compact JSON text the model would have written. */
char *mock_wire_answer_text(const json_t *answer);

/* An error body for HTTP `status` in the provider's shape (malloc'd). */
char *mock_wire_error(mock_format f, unsigned status, const char *message);

#endif
