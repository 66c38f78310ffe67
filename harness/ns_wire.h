/*
 * ns_wire.h - the three LLM wire formats, as pure functions over jansson:
 * building a request (URL, headers, JSON body) from a chat, and reading a
 * reply body back into the model's answer text, its token usage and the
 * provider's error message. No I/O here; ns_http sends what this builds.
 *
 *   OpenAI Chat Completions (and OpenAI-compatible servers: vLLM,
 *   llama.cpp, Ollama, LiteLLM, OpenRouter)
 *       POST {base}/chat/completions, "Authorization: Bearer KEY",
 *       response_format {type: json_schema, json_schema {name, strict, schema}};
 *       answer: choices[0].message.content; usage.prompt_tokens,
 *       usage.completion_tokens.
 *   Anthropic Messages
 *       POST {base}/v1/messages, "x-api-key: KEY",
 *       "anthropic-version: 2023-06-01"; system at top level; the schema
 *       as the input_schema of one tool that tool_choice forces; answer:
 *       the tool_use block's input (serialised back to JSON text), or the
 *       text blocks; usage.input_tokens, usage.output_tokens.
 *   Gemini generateContent
 *       POST {base}/v1beta/models/{model}:generateContent,
 *       "x-goog-api-key: KEY" (never in the URL); systemInstruction;
 *       roles user/model; generationConfig {responseMimeType
 *       application/json, responseSchema}; answer:
 *       candidates[0].content.parts[*].text; usageMetadata.promptTokenCount,
 *       usageMetadata.candidatesTokenCount.
 *
 * The body never contains the key, so it can be hashed for the response
 * cache and logged.
 */
#ifndef NS_WIRE_H
#define NS_WIRE_H

#include <jansson.h>
#include <stddef.h>

#include "ns_status.h"

typedef enum ns_provider {
    NS_PROVIDER_OPENAI = 0,
    NS_PROVIDER_ANTHROPIC,
    NS_PROVIDER_GEMINI,
    NS_PROVIDER_OPENAI_COMPATIBLE,
    NS_PROVIDER_COUNT
} ns_provider;

/* "openai", "anthropic", "gemini", "openai-compatible" */
extern const char *const ns_provider_names[NS_PROVIDER_COUNT];
/* Provider called `name`, or -1. */
int ns_provider_find(const char *name);
/* Default base URL ("https://api.openai.com/v1", ...); NULL for
 * openai-compatible, which must be given one. */
const char *ns_provider_default_base(ns_provider p);

typedef enum ns_chat_role { NS_ROLE_USER = 0, NS_ROLE_ASSISTANT } ns_chat_role;

typedef struct ns_chat_message {
    ns_chat_role role;
    const char *text;
} ns_chat_message;

/* One request as the agent sees it. */
typedef struct ns_chat {
    const char *model;             /* the provider's model id, no "provider:" */
    const char *system;            /* system prompt, may be NULL */
    const ns_chat_message *messages;
    size_t n_messages;
    const json_t *schema;          /* JSON schema the answer must follow */
    const char *schema_name;       /* "negotiation_move", "judgement" */
    int max_tokens;                /* output cap; 0: 1024 */
    double temperature;            /* < 0: leave out (provider default) */
} ns_chat;

/* A built request; free with ns_wire_request_free. */
typedef struct ns_wire_request {
    char *url;
    char *headers[4];              /* "Name: value", NULL-terminated; the key
                                      header, when a key was given, is
                                      headers[0] (Content-Type and, for
                                      Anthropic, anthropic-version follow) */
    char *body;                    /* compact JSON, keys in a fixed order
                                      (JSON_COMPACT | JSON_SORT_KEYS) */
    size_t body_len;
} ns_wire_request;

/* Builds the request for `chat` against base URL `base` (no trailing
 * slash needed; NULL: the provider's default). `api_key` may be NULL or ""
 * for servers without auth (no key header is sent then). Equal chats give
 * byte-identical bodies. chat->schema may be NULL (free text). Request
 * shapes:
 *   OpenAI         {model, messages [system, user/assistant...],
 *                   response_format, max_completion_tokens (openai) or
 *                   max_tokens (openai-compatible), temperature}
 *   Anthropic      {model, max_tokens, system, messages, tools [one tool
 *                   named schema_name, input_schema], tool_choice {type
 *                   tool, name}, temperature}
 *   Gemini         {systemInstruction, contents, generationConfig
 *                   {responseMimeType, responseSchema, maxOutputTokens,
 *                   temperature}}; the schema is cut down to Gemini's
 *                   OpenAPI subset (no additionalProperties; upper-case
 *                   types; propertyOrdering from the properties' order).
 * NS_ERR_INPUT (no secret in the message) for a missing base or model, a
 * model id Gemini cannot take in its URL, or a key with control
 * characters. *out is zeroed on failure. */
ns_status ns_wire_build(ns_provider p, const char *base, const char *api_key,
                        const ns_chat *chat, ns_wire_request *out, ns_error *err);
void ns_wire_request_free(ns_wire_request *r);

typedef struct ns_wire_reply {
    char *text;                    /* the answer (owned, NUL-terminated) */
    long input_tokens;             /* -1 when the reply has no usage block */
    long output_tokens;
    char finish[32];               /* finish/stop reason as given, or "" */
} ns_wire_reply;

/* Reads a 2xx reply body. NS_ERR_INPUT with a message when the body is not
 * JSON, has no answer, or the answer was cut off or refused (the caller
 * treats that as a server fault and retries). Cut off: finish_reason
 * "length" (OpenAI), stop_reason "max_tokens" or
 * "model_context_window_exceeded" (Anthropic), finishReason "MAX_TOKENS"
 * (Gemini); refused: message.refusal or finish_reason "content_filter"
 * (OpenAI), stop_reason "refusal" (Anthropic), a promptFeedback.blockReason
 * or any finishReason other than STOP (Gemini). Usage is read even then
 * (out->input_tokens etc. are set before the failure is returned, so the
 * tokens can still be charged); out->text is NULL on failure.
 * Gemini's output_tokens include thoughtsTokenCount (billed as output). */
ns_status ns_wire_parse(ns_provider p, const char *body, size_t len,
                        ns_wire_reply *out, ns_error *err);
void ns_wire_reply_free(ns_wire_reply *r);

/* The provider's own error text from a non-2xx body ("error.message" and
 * the like), truncated to `size`; "" when there is none. */
void ns_wire_error_message(ns_provider p, const char *body, size_t len, char *out,
                           size_t size);

#endif
