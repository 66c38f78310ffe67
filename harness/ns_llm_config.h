/*
 * ns_llm_config.h - the LLM settings of a sweep spec: the `llm:` block
 * (endpoints and their limits, prompts, prices, window, fallbacks, cache)
 * and the `judge:` block, and the "endpoint:model" names that buyer,
 * seller and judge use (docs/sweep-spec.md, "LLM agents").
 *
 * An endpoint is where requests go and what limits them: one per
 * provider by default ("openai", "anthropic", "gemini"), or any name
 * declared under llm.providers with a `kind:` (openai, anthropic, gemini,
 * openai-compatible) and a base_url. A model is written ENDPOINT:MODEL,
 * e.g. openai:gpt-4o-mini or local:llama-3.1-8b; the first colon splits
 * it. Endpoints are created on first use, so the config lists exactly the
 * endpoints the sweep needs (which is also how missing keys are found
 * before anything runs).
 *
 * The config is part of the loaded spec: read-only after loading.
 */
#ifndef NS_LLM_CONFIG_H
#define NS_LLM_CONFIG_H

#include <stdio.h>

#include "ns_http.h"
#include "ns_record.h"
#include "ns_wire.h"
#include "ns_yaml.h"

#define NS_LLM_MAX_ENDPOINTS 16
#define NS_LLM_MAX_FALLBACKS 4

enum { NS_PROMPT_SYSTEM, NS_PROMPT_TURN, NS_PROMPT_JUDGE_SYSTEM, NS_PROMPT_JUDGE_TURN,
       NS_PROMPT_COUNT };
/* "system", "turn", "judge_system", "judge_turn": keys of llm.prompts */
extern const char *const ns_prompt_keys[NS_PROMPT_COUNT];

typedef struct ns_llm_endpoint {
    char name[NS_NAME_LEN];     /* as written before the colon */
    ns_provider provider;       /* wire format */
    char base_url[256];
    char key_env[64];           /* variable holding the key; "" = no key */
    ns_endpoint_config http;    /* limits; http.name points at name */
} ns_llm_endpoint;

typedef struct ns_llm_model {
    char full[NS_MODEL_LEN];    /* "openai:gpt-4o-mini" */
    const char *id;             /* the part after the colon, inside full */
    int endpoint;               /* index into ns_llm_config.endpoint */
} ns_llm_model;

typedef struct ns_llm_config {
    int n_endpoints;
    ns_llm_endpoint endpoint[NS_LLM_MAX_ENDPOINTS];
    int window;                 /* history messages in the turn prompt (8) */
    int max_tokens;             /* output cap per call (512) */
    double temperature;         /* < 0: provider default (-1) */
    char *prompt[NS_PROMPT_COUNT]; /* template paths, resolved (owned) */
    char *prices;               /* price overlay file, or NULL (owned) */
    char *markers;              /* BFI trait markers file (owned) */
    int n_fallbacks;
    ns_llm_model fallback[NS_LLM_MAX_FALLBACKS];
    int cache;                  /* response cache on (1) */
    int max_open;               /* negotiations open at once (2000) */
    int has_judge;
    ns_llm_model judge;
    char judge_language[32];    /* "English" */
} ns_llm_config;

/* Defaults, with prompt paths under data_dir/prompts. */
void ns_llm_config_init(ns_llm_config *c, const char *data_dir);
void ns_llm_config_free(ns_llm_config *c);

/* Reads the `llm:` mapping (NULL: defaults) of a spec; relative paths are
 * resolved against base_dir (the spec's folder). Endpoint settings are
 * kept for ns_llm_config_model. */
ns_status ns_llm_config_load(ns_llm_config *c, const ns_yaml *y, struct fy_node *llm,
                             const char *base_dir, ns_error *err);
/* Reads the `judge:` mapping. */
ns_status ns_llm_config_load_judge(ns_llm_config *c, const ns_yaml *y,
                                   struct fy_node *judge, ns_error *err);
/* Parses "endpoint:model" at node n (for errors) into *m, creating the
 * endpoint on first use. */
ns_status ns_llm_config_model(ns_llm_config *c, const ns_yaml *y, struct fy_node *n,
                              const char *text, ns_llm_model *m, ns_error *err);

/* Writes the text that determines LLM results (models, endpoints' wire
 * formats, prompt file contents, window, max_tokens, temperature,
 * fallbacks, judge) for the spec digest. Limits and base URLs are left
 * out: they change where and how fast requests go, not what a model
 * answers, and a resumed run may point at another host. */
void ns_llm_config_describe(const ns_llm_config *c, FILE *out);

#endif
