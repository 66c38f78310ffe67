/*
 * test_wire.c - the three LLM wire formats (ns_wire.c): request URL,
 * headers and JSON body for every provider, checked as JSON trees; that
 * the API key appears in one header and never in the URL or body (nor in
 * an error message); byte-identical bodies for equal chats; reply bodies
 * shaped like the providers' documented responses read back into text,
 * usage and finish reason; cut-off, refused and blocked answers; and the
 * provider's error text from error bodies.
 *
 * Expected field names are those of the API references (OpenAI Chat
 * Completions, Anthropic Messages, Gemini generateContent), written out
 * here by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_wire.h"

#include "ns_test.h"
#include "ns_test_json.h"

#define KEY "sk-TEST-0123456789abcdef"

static const char *str_at(json_t *root, const char *path)
{
    return json_string_value(json_at(root, path));
}

/* 1 when any object in the tree has key `key`. */
static int has_key_anywhere(const json_t *v, const char *key)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (strcmp(k, key) == 0 || has_key_anywhere(x, key))
                return 1;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            if (has_key_anywhere(x, key))
                return 1;
    }
    return 0;
}

/* A move-like schema, built key by key in the order given by `flip`
 * (0 or 1), so equal schemas with different insertion orders exist. */
static json_t *make_schema(int flip)
{
    json_t *offer = json_pack(
        "{s:s, s:{s:{s:s, s:f, s:f}, s:{s:s, s:[ss]}}, s:[ss], s:b}", "type", "object",
        "properties", "price", "type", "number", "minimum", 8000.0, "maximum", 16000.0,
        "terms", "type", "string", "enum", "net30", "net60", "required", "price", "terms",
        "additionalProperties", 0);
    json_t *props = json_object();
    json_object_set_new(props, "message", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "action", json_pack("{s:s, s:[sss]}", "type", "string", "enum",
                                                   "offer", "accept", "walk_away"));
    json_object_set_new(props, "offer", offer);
    json_object_set_new(props, "note", json_pack("{s:[ss], s:s}", "type", "string", "null",
                                                 "format", "email"));
    json_t *s = json_object();
    if (flip) {
        json_object_set_new(s, "additionalProperties", json_false());
        json_object_set_new(s, "required", json_pack("[sss]", "message", "action", "offer"));
        json_object_set_new(s, "properties", props);
        json_object_set_new(s, "type", json_string("object"));
    } else {
        json_object_set_new(s, "type", json_string("object"));
        json_object_set_new(s, "properties", props);
        json_object_set_new(s, "required", json_pack("[sss]", "message", "action", "offer"));
        json_object_set_new(s, "additionalProperties", json_false());
    }
    return s;
}

static const ns_chat_message convo[] = {
    {NS_ROLE_USER, "Make your opening offer."},
    {NS_ROLE_ASSISTANT, "{\"message\":\"I offer 15000.\"}"},
    {NS_ROLE_USER, "The buyer offers 10000 EUR. Your move."},
};

static ns_chat make_chat(const json_t *schema)
{
    ns_chat c = {.model = "test-model-1",
                 .system = "You are the seller of a used car.",
                 .messages = convo,
                 .n_messages = 3,
                 .schema = schema,
                 .schema_name = "negotiation_move",
                 .max_tokens = 0,
                 .temperature = 0.7};
    return c;
}

/* Builds and parses the body; checks the key is only in headers[0]. */
static json_t *build_checked(ns_provider p, const char *base, const ns_chat *c,
                             ns_wire_request *r, const char *want_url, const char *want_key_hdr)
{
    ns_error err = {0};
    ns_status st = ns_wire_build(p, base, KEY, c, r, &err);
    CHECK_ST(st, NS_OK, err);
    if (st != NS_OK)
        return NULL;
    CHECK_STR(want_url, r->url, "url");
    CHECK_STR(want_key_hdr, r->headers[0], "key header");
    CHECK(strstr(r->url, KEY) == NULL, "%s: key in URL", ns_provider_names[p]);
    CHECK(strstr(r->url, "key=") == NULL, "%s: key parameter in URL", ns_provider_names[p]);
    CHECK(strstr(r->body, KEY) == NULL, "%s: key in body", ns_provider_names[p]);
    CHECK(r->body_len == strlen(r->body), "body_len %zu, strlen %zu", r->body_len,
          strlen(r->body));
    for (int i = 1; i < 4 && r->headers[i]; i++)
        CHECK(strstr(r->headers[i], KEY) == NULL, "key in header %d", i);
    int have_ct = 0;
    for (int i = 0; i < 4 && r->headers[i]; i++)
        have_ct |= strcmp(r->headers[i], "Content-Type: application/json") == 0;
    CHECK(have_ct, "%s: no Content-Type header", ns_provider_names[p]);
    json_error_t jerr;
    json_t *body = json_loads(r->body, 0, &jerr);
    CHECK(body != NULL, "%s: body is not JSON: %s", ns_provider_names[p], jerr.text);
    /* compact: no blank outside strings is needed; no newline at all */
    CHECK(strchr(r->body, '\n') == NULL, "body is not compact");
    return body;
}

static void test_names(void)
{
    for (int p = 0; p < NS_PROVIDER_COUNT; p++)
        CHECK(ns_provider_find(ns_provider_names[p]) == p, "find(%s)", ns_provider_names[p]);
    CHECK(ns_provider_find("openai-compatible") == NS_PROVIDER_OPENAI_COMPATIBLE, "compat");
    CHECK(ns_provider_find("mistral") == -1, "unknown provider found");
    CHECK(ns_provider_find(NULL) == -1, "NULL provider found");
    CHECK_STR("https://api.openai.com/v1", ns_provider_default_base(NS_PROVIDER_OPENAI), "base");
    CHECK_STR("https://api.anthropic.com", ns_provider_default_base(NS_PROVIDER_ANTHROPIC), "base");
    CHECK_STR("https://generativelanguage.googleapis.com",
          ns_provider_default_base(NS_PROVIDER_GEMINI), "base");
    CHECK(ns_provider_default_base(NS_PROVIDER_OPENAI_COMPATIBLE) == NULL, "compat base");
}

static void test_openai(void)
{
    json_t *schema = make_schema(0);
    ns_chat c = make_chat(schema);
    ns_wire_request r;
    json_t *b = build_checked(NS_PROVIDER_OPENAI, NULL, &c, &r,
                              "https://api.openai.com/v1/chat/completions",
                              "Authorization: Bearer " KEY);
    if (b) {
        CHECK_STR("test-model-1", str_at(b, "model"), "model");
        CHECK(json_array_size(json_at(b, "messages")) == 4, "4 messages (system + 3)");
        CHECK_STR("system", str_at(b, "messages.0.role"), "role 0");
        CHECK_STR(c.system, str_at(b, "messages.0.content"), "system content");
        CHECK_STR("user", str_at(b, "messages.1.role"), "role 1");
        CHECK_STR("assistant", str_at(b, "messages.2.role"), "role 2");
        CHECK_STR("user", str_at(b, "messages.3.role"), "role 3");
        CHECK_STR(convo[2].text, str_at(b, "messages.3.content"), "content 3");
        CHECK_STR("json_schema", str_at(b, "response_format.type"), "response_format.type");
        CHECK_STR("negotiation_move", str_at(b, "response_format.json_schema.name"), "name");
        CHECK(json_is_true(json_at(b, "response_format.json_schema.strict")), "strict");
        CHECK(json_equal(json_at(b, "response_format.json_schema.schema"), schema),
              "schema sent unchanged");
        CHECK(json_integer_value(json_at(b, "max_completion_tokens")) == 1024,
              "max_completion_tokens default 1024");
        CHECK(json_at(b, "max_tokens") == NULL, "openai must not send the deprecated max_tokens");
        CHECK(json_is_real(json_at(b, "temperature")) &&
                  fabs(json_real_value(json_at(b, "temperature")) - 0.7) < 1e-12,
              "temperature");
        CHECK(strstr(r.body, "\"temperature\":0.7") != NULL, "temperature dumped as 0.7: %s",
              r.body);
        json_decref(b);
    }
    ns_wire_request_free(&r);
    ns_wire_request_free(&r); /* zeroed: a second free is harmless */

    /* compatible: its own base (trailing slash), max_tokens, no temperature */
    c.temperature = -1;
    c.max_tokens = 300;
    b = build_checked(NS_PROVIDER_OPENAI_COMPATIBLE, "http://127.0.0.1:8080/v1/", &c, &r,
                      "http://127.0.0.1:8080/v1/chat/completions", "Authorization: Bearer " KEY);
    if (b) {
        CHECK(json_integer_value(json_at(b, "max_tokens")) == 300, "compat max_tokens");
        CHECK(json_at(b, "max_completion_tokens") == NULL, "compat: no max_completion_tokens");
        CHECK(json_at(b, "temperature") == NULL, "temperature < 0 must be left out");
        json_decref(b);
    }
    ns_wire_request_free(&r);

    /* no schema: plain text, no response_format; no system prompt */
    c.schema = NULL;
    c.system = NULL;
    b = build_checked(NS_PROVIDER_OPENAI, NULL, &c, &r,
                      "https://api.openai.com/v1/chat/completions", "Authorization: Bearer " KEY);
    if (b) {
        CHECK(json_at(b, "response_format") == NULL, "no schema: no response_format");
        CHECK_STR("user", str_at(b, "messages.0.role"), "no system message");
        json_decref(b);
    }
    ns_wire_request_free(&r);
    json_decref(schema);
}

static void test_anthropic(void)
{
    json_t *schema = make_schema(0);
    ns_chat c = make_chat(schema);
    c.max_tokens = 512;
    ns_wire_request r;
    json_t *b = build_checked(NS_PROVIDER_ANTHROPIC, "https://api.anthropic.com/", &c, &r,
                              "https://api.anthropic.com/v1/messages", "x-api-key: " KEY);
    if (b) {
        CHECK_STR("anthropic-version: 2023-06-01", r.headers[2], "version header");
        CHECK(r.headers[3] == NULL, "headers NULL-terminated");
        CHECK_STR("test-model-1", str_at(b, "model"), "model");
        CHECK_STR(c.system, str_at(b, "system"), "system at top level");
        CHECK(json_array_size(json_at(b, "messages")) == 3, "3 messages, system not among them");
        CHECK_STR("user", str_at(b, "messages.0.role"), "role 0");
        CHECK_STR("assistant", str_at(b, "messages.1.role"), "role 1");
        CHECK_STR(convo[1].text, str_at(b, "messages.1.content"), "content 1");
        CHECK(json_integer_value(json_at(b, "max_tokens")) == 512, "max_tokens");
        CHECK(json_array_size(json_at(b, "tools")) == 1, "one tool");
        CHECK_STR("negotiation_move", str_at(b, "tools.0.name"), "tool name");
        CHECK(json_is_string(json_at(b, "tools.0.description")), "tool description");
        CHECK(json_equal(json_at(b, "tools.0.input_schema"), schema), "input_schema");
        CHECK_STR("tool", str_at(b, "tool_choice.type"), "tool_choice.type");
        CHECK_STR("negotiation_move", str_at(b, "tool_choice.name"), "tool_choice.name");
        CHECK(fabs(json_real_value(json_at(b, "temperature")) - 0.7) < 1e-12, "temperature");
        json_decref(b);
    }
    ns_wire_request_free(&r);

    /* no key: no key header; the others stay */
    ns_error err = {0};
    CHECK_ST(ns_wire_build(NS_PROVIDER_ANTHROPIC, NULL, "", &c, &r, &err), NS_OK, err);
    CHECK_STR("Content-Type: application/json", r.headers[0], "no key: headers[0]");
    CHECK_STR("anthropic-version: 2023-06-01", r.headers[1], "no key: headers[1]");
    CHECK(r.headers[2] == NULL, "no key: two headers");
    ns_wire_request_free(&r);
    json_decref(schema);
}

static void test_gemini(void)
{
    json_t *schema = make_schema(0);
    ns_chat c = make_chat(schema);
    c.model = "gemini-2.0-flash";
    ns_wire_request r;
    json_t *b = build_checked(
        NS_PROVIDER_GEMINI, NULL, &c, &r,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
        "x-goog-api-key: " KEY);
    if (b) {
        CHECK(json_at(b, "model") == NULL, "gemini: model is in the URL, not the body");
        CHECK_STR(c.system, str_at(b, "systemInstruction.parts.0.text"), "systemInstruction");
        CHECK(json_array_size(json_at(b, "contents")) == 3, "3 contents");
        CHECK_STR("user", str_at(b, "contents.0.role"), "role 0");
        CHECK_STR("model", str_at(b, "contents.1.role"), "assistant is 'model'");
        CHECK_STR(convo[2].text, str_at(b, "contents.2.parts.0.text"), "text 2");
        CHECK_STR("application/json", str_at(b, "generationConfig.responseMimeType"), "mime");
        CHECK(json_integer_value(json_at(b, "generationConfig.maxOutputTokens")) == 1024,
              "maxOutputTokens");
        CHECK(fabs(json_real_value(json_at(b, "generationConfig.temperature")) - 0.7) < 1e-12,
              "temperature");
        json_t *rs = json_at(b, "generationConfig.responseSchema");
        CHECK(!has_key_anywhere(rs, "additionalProperties"),
              "responseSchema must not hold additionalProperties");
        CHECK_STR("OBJECT", str_at(rs, "type"), "schema type");
        CHECK_STR("OBJECT", str_at(rs, "properties.offer.type"), "offer type");
        CHECK_STR("NUMBER", str_at(rs, "properties.offer.properties.price.type"), "price type");
        CHECK(json_real_value(json_at(rs, "properties.offer.properties.price.maximum")) == 16000.0,
              "maximum kept");
        CHECK(json_equal(json_at(rs, "properties.action.enum"),
                         json_at(schema, "properties.action.enum")),
              "enum kept");
        CHECK(json_equal(json_at(rs, "required"), json_at(schema, "required")), "required kept");
        CHECK_STR("enum", str_at(rs, "properties.action.format"), "string enum has format enum");
        CHECK(json_at(rs, "properties.message.format") == NULL, "no format on a plain string");
        /* ["string", "null"] becomes STRING + nullable */
        CHECK_STR("STRING", str_at(rs, "properties.note.type"), "note type");
        CHECK(json_is_true(json_at(rs, "properties.note.nullable")), "note nullable");
        CHECK(json_at(rs, "properties.note.format") == NULL, "format email dropped for Gemini");
        /* the schema's own order, not Gemini's alphabetical default */
        json_t *order = json_pack("[ssss]", "message", "action", "offer", "note");
        CHECK(json_equal(json_at(rs, "propertyOrdering"), order), "propertyOrdering");
        json_decref(order);
        json_decref(b);
    }
    ns_wire_request_free(&r);

    /* a model id that would break the URL path is refused */
    ns_error err = {0};
    c.model = "gemini-2.0-flash:generateContent?key=x";
    CHECK_ST(ns_wire_build(NS_PROVIDER_GEMINI, NULL, KEY, &c, &r, &err), NS_ERR_INPUT, err);
    CHECK(r.url == NULL && r.body == NULL, "nothing built on failure");
    json_decref(schema);
}

static void test_determinism_and_errors(void)
{
    /* equal chats from separately built, differently ordered schemas */
    json_t *s0 = make_schema(0), *s1 = make_schema(1);
    for (int p = 0; p < NS_PROVIDER_COUNT; p++) {
        ns_chat c0 = make_chat(s0), c1 = make_chat(s1);
        ns_wire_request r0, r1;
        ns_error err = {0};
        const char *base = p == NS_PROVIDER_OPENAI_COMPATIBLE ? "http://localhost:1" : NULL;
        CHECK_ST(ns_wire_build((ns_provider)p, base, KEY, &c0, &r0, &err), NS_OK, err);
        CHECK_ST(ns_wire_build((ns_provider)p, base, "another-key", &c1, &r1, &err), NS_OK, err);
        CHECK(r0.body_len == r1.body_len && memcmp(r0.body, r1.body, r0.body_len) == 0,
              "%s: equal chats, different bytes:\n%s\n%s", ns_provider_names[p], r0.body,
              r1.body);
        ns_wire_request_free(&r1);
        /* and a changed chat changes them */
        c1.temperature = 0.2;
        CHECK_ST(ns_wire_build((ns_provider)p, base, KEY, &c1, &r1, &err), NS_OK, err);
        CHECK(r1.body_len != r0.body_len || memcmp(r0.body, r1.body, r0.body_len) != 0,
              "%s: another temperature, same bytes", ns_provider_names[p]);
        ns_wire_request_free(&r0);
        ns_wire_request_free(&r1);
    }

    ns_chat c = make_chat(s0);
    ns_wire_request r;
    ns_error err = {0};
    CHECK_ST(ns_wire_build(NS_PROVIDER_OPENAI_COMPATIBLE, NULL, KEY, &c, &r, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "base URL") != NULL, "compat without base: %s", err.msg);
    c.model = "";
    CHECK_ST(ns_wire_build(NS_PROVIDER_OPENAI, NULL, KEY, &c, &r, &err), NS_ERR_INPUT, err);
    c.model = "m";
    c.schema_name = "negotiation move";
    CHECK_ST(ns_wire_build(NS_PROVIDER_ANTHROPIC, NULL, KEY, &c, &r, &err), NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "schema name") != NULL, "bad schema name: %s", err.msg);
    c.schema_name = "negotiation_move";
    const char *bad_key = "sk-SECRET-VALUE\r\nX-Injected: 1";
    CHECK_ST(ns_wire_build(NS_PROVIDER_OPENAI, NULL, bad_key, &c, &r, &err), NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "SECRET") == NULL, "error message shows the key: %s", err.msg);
    json_decref(s0);
    json_decref(s1);
}

/* ---------------------------------------------------------------- replies */

static ns_status parse(ns_provider p, const char *body, ns_wire_reply *out, ns_error *err)
{
    return ns_wire_parse(p, body, strlen(body), out, err);
}

static void test_parse_openai(void)
{
    ns_wire_reply rep;
    ns_error err = {0};
    const char *ok =
        "{\"id\":\"chatcmpl-AbC123\",\"object\":\"chat.completion\",\"created\":1730000000,"
        "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"{\\\"message\\\":\\\"Deal?\\\",\\\"action\\\":"
        "\\\"accept\\\"}\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":412,\"completion_tokens\":37,\"total_tokens\":449,"
        "\"prompt_tokens_details\":{\"cached_tokens\":0}},\"system_fingerprint\":\"fp_1\"}";
    CHECK_ST(parse(NS_PROVIDER_OPENAI, ok, &rep, &err), NS_OK, err);
    CHECK_STR("{\"message\":\"Deal?\",\"action\":\"accept\"}", rep.text, "openai text");
    CHECK(rep.input_tokens == 412 && rep.output_tokens == 37, "usage %ld %ld",
          rep.input_tokens, rep.output_tokens);
    CHECK_STR("stop", rep.finish, "finish");
    ns_wire_reply_free(&rep);

    /* no usage block */
    CHECK_ST(parse(NS_PROVIDER_OPENAI_COMPATIBLE,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                   "\"finish_reason\":\"stop\"}]}",
                   &rep, &err),
             NS_OK, err);
    CHECK(rep.input_tokens == -1 && rep.output_tokens == -1, "no usage: -1, got %ld %ld",
          rep.input_tokens, rep.output_tokens);
    ns_wire_reply_free(&rep);

    /* a compatible server answering through a tool call */
    CHECK_ST(parse(NS_PROVIDER_OPENAI_COMPATIBLE,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                   "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"negotiation_move\",\"arguments\":\"{\\\"action\\\":\\\"walk_away\\\"}\"}}]},"
                   "\"finish_reason\":\"tool_calls\"}]}",
                   &rep, &err),
             NS_OK, err);
    CHECK_STR("{\"action\":\"walk_away\"}", rep.text, "tool call arguments");
    ns_wire_reply_free(&rep);

    /* cut off: an error, but the usage is still read for charging */
    CHECK_ST(parse(NS_PROVIDER_OPENAI,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"mess\"},"
                   "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":10,"
                   "\"completion_tokens\":1024}}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "cut off") && strstr(err.msg, "length"), "length: %s", err.msg);
    CHECK(rep.text == NULL, "no text on failure");
    CHECK(rep.output_tokens == 1024, "usage kept on failure: %ld", rep.output_tokens);
    ns_wire_reply_free(&rep);

    CHECK_ST(parse(NS_PROVIDER_OPENAI,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                   "\"refusal\":\"I'm sorry, I can't help with that.\"},\"finish_reason\":"
                   "\"stop\"}]}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "refused") && strstr(err.msg, "I'm sorry"), "refusal: %s", err.msg);
    ns_wire_reply_free(&rep);

    CHECK_ST(parse(NS_PROVIDER_OPENAI,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                   "\"finish_reason\":\"content_filter\"}]}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "content_filter") != NULL, "content filter: %s", err.msg);

    CHECK_ST(parse(NS_PROVIDER_OPENAI,
                   "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                   "\"finish_reason\":\"stop\"}]}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "no answer") != NULL, "empty content: %s", err.msg);

    CHECK_ST(parse(NS_PROVIDER_OPENAI, "{\"choices\":[]}", &rep, &err), NS_ERR_INPUT, err);
    CHECK_ST(parse(NS_PROVIDER_OPENAI, "<html>502</html>", &rep, &err), NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "not JSON") != NULL, "not JSON: %s", err.msg);
    CHECK_ST(parse(NS_PROVIDER_OPENAI,
                   "{\"error\":{\"message\":\"Provider returned error\",\"code\":502}}", &rep,
                   &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "Provider returned error") != NULL, "embedded error: %s", err.msg);
    /* a body cut short by len is not read past len */
    const char *trunc = "{\"choices\":[]}XXXX";
    CHECK_ST(ns_wire_parse(NS_PROVIDER_OPENAI, trunc, 5, &rep, &err), NS_ERR_INPUT, err);
}

static void test_parse_anthropic(void)
{
    ns_wire_reply rep;
    ns_error err = {0};
    const char *tool =
        "{\"id\":\"msg_01XYZ\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
        "\"claude-3-5-haiku-20241022\",\"content\":[{\"type\":\"text\",\"text\":\"Here is "
        "my move.\"},{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"negotiation_move\","
        "\"input\":{\"message\":\"12000 and it's yours.\",\"action\":\"offer\",\"offer\":"
        "{\"price\":12000}}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":"
        "{\"input_tokens\":733,\"output_tokens\":61,\"cache_read_input_tokens\":0}}";
    CHECK_ST(parse(NS_PROVIDER_ANTHROPIC, tool, &rep, &err), NS_OK, err);
    json_t *got = rep.text ? json_loads(rep.text, 0, NULL) : NULL;
    json_t *want = json_pack("{s:s, s:s, s:{s:i}}", "message", "12000 and it's yours.",
                             "action", "offer", "offer", "price", 12000);
    CHECK(got && json_equal(got, want), "tool input as text: %s", rep.text ? rep.text : "");
    json_decref(got);
    json_decref(want);
    CHECK(rep.input_tokens == 733 && rep.output_tokens == 61, "usage %ld %ld",
          rep.input_tokens, rep.output_tokens);
    CHECK_STR("tool_use", rep.finish, "stop_reason");
    ns_wire_reply_free(&rep);

    CHECK_ST(parse(NS_PROVIDER_ANTHROPIC,
                   "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"{\\\"a\\\":\"},"
                   "{\"type\":\"text\",\"text\":\"1}\"}],\"stop_reason\":\"end_turn\","
                   "\"usage\":{\"input_tokens\":5,\"output_tokens\":3}}",
                   &rep, &err),
             NS_OK, err);
    CHECK_STR("{\"a\":1}", rep.text, "text blocks joined");
    ns_wire_reply_free(&rep);

    CHECK_ST(parse(NS_PROVIDER_ANTHROPIC,
                   "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"{\"}],"
                   "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":5,"
                   "\"output_tokens\":1024}}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "cut off") && strstr(err.msg, "max_tokens"), "max_tokens: %s",
          err.msg);
    CHECK(rep.output_tokens == 1024, "usage kept: %ld", rep.output_tokens);

    CHECK_ST(parse(NS_PROVIDER_ANTHROPIC,
                   "{\"type\":\"message\",\"content\":[],\"stop_reason\":\"refusal\"}", &rep,
                   &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "refus") != NULL, "refusal: %s", err.msg);

    CHECK_ST(parse(NS_PROVIDER_ANTHROPIC,
                   "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
                   "\"Overloaded\"}}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "Overloaded") != NULL, "error body: %s", err.msg);
}

static void test_parse_gemini(void)
{
    ns_wire_reply rep;
    ns_error err = {0};
    const char *ok =
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"message\\\": \\\"ok\\\",\"},"
        "{\"text\":\" \\\"action\\\": \\\"accept\\\"}\"}],\"role\":\"model\"},\"finishReason\":"
        "\"STOP\",\"index\":0,\"safetyRatings\":[]}],\"usageMetadata\":{\"promptTokenCount\":"
        "288,\"candidatesTokenCount\":19,\"totalTokenCount\":307},\"modelVersion\":"
        "\"gemini-2.0-flash\",\"responseId\":\"r1\"}";
    CHECK_ST(parse(NS_PROVIDER_GEMINI, ok, &rep, &err), NS_OK, err);
    CHECK_STR("{\"message\": \"ok\", \"action\": \"accept\"}", rep.text, "parts joined");
    CHECK(rep.input_tokens == 288 && rep.output_tokens == 19, "usage %ld %ld",
          rep.input_tokens, rep.output_tokens);
    CHECK_STR("STOP", rep.finish, "finishReason");
    ns_wire_reply_free(&rep);

    /* a thinking model: the thought part is not the answer, its tokens
     * are billed as output */
    CHECK_ST(parse(NS_PROVIDER_GEMINI,
                   "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think\","
                   "\"thought\":true},{\"text\":\"{}\"}],\"role\":\"model\"},\"finishReason\":"
                   "\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":10,"
                   "\"candidatesTokenCount\":2,\"thoughtsTokenCount\":50}}",
                   &rep, &err),
             NS_OK, err);
    CHECK_STR("{}", rep.text, "thought skipped");
    CHECK(rep.output_tokens == 52, "thoughts counted as output: %ld", rep.output_tokens);
    ns_wire_reply_free(&rep);

    CHECK_ST(parse(NS_PROVIDER_GEMINI,
                   "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"mes\"}],\"role\":"
                   "\"model\"},\"finishReason\":\"MAX_TOKENS\"}],\"usageMetadata\":"
                   "{\"promptTokenCount\":10,\"candidatesTokenCount\":1024}}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "cut off") && strstr(err.msg, "MAX_TOKENS"), "MAX_TOKENS: %s",
          err.msg);
    CHECK(rep.input_tokens == 10 && rep.output_tokens == 1024, "usage kept");

    CHECK_ST(parse(NS_PROVIDER_GEMINI,
                   "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"safetyRatings\":[]}]}", &rep,
                   &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "SAFETY") != NULL, "SAFETY: %s", err.msg);

    CHECK_ST(parse(NS_PROVIDER_GEMINI,
                   "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
                   "\"usageMetadata\":{\"promptTokenCount\":12}}",
                   &rep, &err),
             NS_ERR_INPUT, err);
    CHECK(strstr(err.msg, "blocked") && strstr(err.msg, "PROHIBITED_CONTENT"), "blocked: %s",
          err.msg);
    CHECK(rep.input_tokens == 12 && rep.output_tokens == -1, "partial usage %ld %ld",
          rep.input_tokens, rep.output_tokens);
}

static void err_case(ns_provider p, const char *body, const char *want)
{
    char out[256];
    memset(out, 'x', sizeof out);
    ns_wire_error_message(p, body, strlen(body), out, sizeof out);
    CHECK(strstr(out, want) != NULL, "%s error text: want \"%s\" in \"%s\"",
          ns_provider_names[p], want, out);
}

static void test_error_message(void)
{
    err_case(NS_PROVIDER_OPENAI,
             "{\"error\":{\"message\":\"Incorrect API key provided: sk-****cdef.\",\"type\":"
             "\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
             "Incorrect API key provided");
    err_case(NS_PROVIDER_ANTHROPIC,
             "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
             "\"Number of request tokens has exceeded your per-minute rate limit\"}}",
             "per-minute rate limit");
    err_case(NS_PROVIDER_ANTHROPIC,
             "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow\"}}",
             "rate_limit_error");
    err_case(NS_PROVIDER_GEMINI,
             "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API "
             "key.\",\"status\":\"INVALID_ARGUMENT\"}}",
             "API key not valid");
    err_case(NS_PROVIDER_GEMINI,
             "[{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":"
             "\"RESOURCE_EXHAUSTED\"}}]",
             "Resource has been exhausted (RESOURCE_EXHAUSTED)");
    err_case(NS_PROVIDER_OPENAI_COMPATIBLE, "{\"error\":\"model 'llama9' not found\"}",
             "model 'llama9' not found");
    err_case(NS_PROVIDER_OPENAI_COMPATIBLE,
             "{\"object\":\"error\",\"message\":\"max_tokens is too large\",\"type\":"
             "\"BadRequestError\",\"code\":400}",
             "max_tokens is too large");
    err_case(NS_PROVIDER_OPENAI_COMPATIBLE, "{\"detail\":\"Not Found\"}", "Not Found");
    err_case(NS_PROVIDER_OPENAI, "<html>\r\n<body>502 Bad Gateway</body>\r\n</html>",
             "502 Bad Gateway");

    char out[64];
    ns_wire_error_message(NS_PROVIDER_OPENAI, "", 0, out, sizeof out);
    CHECK_STR("", out, "empty body");
    ns_wire_error_message(NS_PROVIDER_OPENAI, "{\"ok\":true}", 11, out, sizeof out);
    CHECK_STR("", out, "JSON without an error");

    /* cut to size on a UTF-8 boundary: 7 bytes of room, 2-byte letters */
    char small[8];
    const char *body = "{\"error\":{\"message\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}}";
    ns_wire_error_message(NS_PROVIDER_OPENAI, body, strlen(body), small, sizeof small);
    CHECK_STR("\xc3\xa9\xc3\xa9\xc3\xa9", small, "UTF-8 cut");
}

int main(void)
{
    test_names();
    test_openai();
    test_anthropic();
    test_gemini();
    test_determinism_and_errors();
    test_parse_openai();
    test_parse_anthropic();
    test_parse_gemini();
    test_error_message();
    return ns_test_report("test_wire");
}
