/*
 * test_price.c - the price table (ns_price.c).
 *
 * 1. The shipped providers/prices.yaml loads; every entry has prices >= 0,
 *    a date and a source; the models the project names are present.
 * 2. Cost arithmetic for openai:gpt-4o-mini from the file's own numbers,
 *    read back from the YAML text here (not through ns_price): a million
 *    tokens each way costs input + output; cached tokens at their price.
 * 3. Lookup: exact names, the "openai-compatible:*" pattern, the longest
 *    pattern first, unknown models NULL.
 * 4. tests/data/price_override.yaml laid over the shipped table replaces an
 *    entry whole and adds new ones; a bad overlay leaves the table alone.
 * 5. Every bad fixture tests/data/price_*.yaml fails with
 *    "file:line:col: " at the offending node and the expected message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_price.h"

#include "ns_test.h"

#define NEAR(expected, actual, what)                                          \
    CHECK(fabs((expected) - (actual)) <= 1e-12 * fmax(1.0, fabs(expected)),   \
          "%s: expected %.15g, got %.15g", (what), (double)(expected),        \
          (double)(actual))

#define SHIPPED "providers/prices.yaml"

/* Reads field `field` of the entry named `name` straight from the YAML
 * text: the flow mapping that follows the quoted name. A deliberately
 * separate reading from ns_price's, so the test does not check the code
 * against itself. */
static double field_from_text(const char *name, const char *field)
{
    FILE *f = fopen(SHIPPED, "r");
    if (!f)
        return NAN;
    char quoted[128], line[512], entry[2048] = "";
    snprintf(quoted, sizeof quoted, "\"%s\":", name);
    int in_entry = 0;
    while (fgets(line, sizeof line, f)) {
        if (!in_entry && strstr(line, quoted))
            in_entry = 1;
        if (in_entry) {
            strncat(entry, line, sizeof entry - strlen(entry) - 1);
            if (strchr(line, '}'))
                break;
        }
    }
    fclose(f);
    char key[64];
    snprintf(key, sizeof key, "%s:", field);
    const char *p = strstr(entry, key);
    /* "input:" also ends "cached_input:": take a match not after '_' */
    while (p && p > entry && p[-1] == '_')
        p = strstr(p + 1, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void test_shipped(void)
{
    ns_price_table *t = NULL;
    ns_error err = {0};
    ns_status st = ns_price_load(SHIPPED, &t, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    CHECK(ns_price_count(t) >= 15, "expected a real table, got %zu entries",
          ns_price_count(t));
    for (size_t i = 0; i < ns_price_count(t); i++) {
        const ns_price_entry *e = ns_price_at(t, i);
        CHECK(e->input_per_m >= 0 && e->output_per_m >= 0, "%s: negative price", e->name);
        CHECK(e->cached_input_per_m < 0 || e->cached_input_per_m <= e->input_per_m,
              "%s: cached input dearer than input", e->name);
        CHECK(e->as_of[0] && e->source[0], "%s: no date or source", e->name);
        CHECK(strchr(e->name, ':') != NULL, "%s: not provider:model", e->name);
    }
    static const char *const promised[] = {
        "openai:gpt-4o-mini", "openai:gpt-4o", "anthropic:claude-3-5-haiku-latest",
        "anthropic:claude-3-5-sonnet-latest", "anthropic:claude-3-7-sonnet-latest",
        "gemini:gemini-2.0-flash", "gemini:gemini-1.5-pro",
    };
    for (size_t i = 0; i < sizeof promised / sizeof *promised; i++) {
        const ns_price_entry *e = ns_price_lookup(t, promised[i]);
        CHECK(e && strcmp(e->name, promised[i]) == 0, "%s: not in the table",
              promised[i]);
    }

    /* cost from the file's own numbers */
    const ns_price_entry *mini = ns_price_lookup(t, "openai:gpt-4o-mini");
    double in = field_from_text("openai:gpt-4o-mini", "input");
    double out = field_from_text("openai:gpt-4o-mini", "output");
    double cached = field_from_text("openai:gpt-4o-mini", "cached_input");
    CHECK(!isnan(in) && !isnan(out) && !isnan(cached), "fields not found in the text");
    if (mini && !isnan(in)) {
        NEAR(in, mini->input_per_m, "input price as read");
        NEAR(in + out, ns_price_cost(mini, 1000000, 1000000), "1M in + 1M out");
        NEAR((1234 * in + 567 * out) / 1e6, ns_price_cost(mini, 1234, 567),
             "1234 in + 567 out");
        NEAR(0.0, ns_price_cost(mini, -1, -1), "unknown usage costs nothing");
        NEAR((600 * in + 400 * cached + 100 * out) / 1e6,
             ns_price_cost_cached(mini, 1000, 400, 100), "400 of 1000 cached");
    }
    /* an entry without cached_input bills cached tokens as input */
    const ns_price_entry *g15 = ns_price_lookup(t, "gemini:gemini-1.5-pro");
    if (g15) {
        CHECK(g15->cached_input_per_m < 0, "gemini-1.5-pro has no cached price");
        NEAR(ns_price_cost(g15, 1000, 10), ns_price_cost_cached(g15, 1000, 500, 10),
             "cached at the input price");
    }

    /* patterns */
    const ns_price_entry *local = ns_price_lookup(t, "openai-compatible:llama3.1:8b");
    CHECK(local && strcmp(local->name, "openai-compatible:*") == 0,
          "openai-compatible models match the pattern");
    if (local)
        NEAR(0.0, ns_price_cost(local, 5000, 5000), "self-hosted is free");
    CHECK(ns_price_lookup(t, "openai:gpt-unknown") == NULL, "unknown model is NULL");
    CHECK(ns_price_lookup(t, "openai:gpt-4o-mini-2024-07-18") == NULL,
          "no silent prefix match without a pattern");
    ns_price_free(t);
}

static void test_overlay(void)
{
    ns_price_table *t = NULL;
    ns_error err = {0};
    if (ns_price_load(SHIPPED, &t, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    size_t before = ns_price_count(t);
    const ns_price_entry *e4o = ns_price_lookup(t, "openai:gpt-4o");
    double e4o_in = e4o ? e4o->input_per_m : NAN;

    ns_status st = ns_price_overlay(t, "tests/data/price_override.yaml", &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(ns_price_count(t) == before + 2, "two entries added: %zu -> %zu", before,
          ns_price_count(t));
    const ns_price_entry *mini = ns_price_lookup(t, "openai:gpt-4o-mini");
    CHECK(mini && mini->input_per_m == 1.5 && mini->output_per_m == 6.0,
          "gpt-4o-mini replaced");
    CHECK(mini && mini->cached_input_per_m < 0,
          "replaced whole: the shipped cached price is gone");
    CHECK(mini && strstr(mini->file, "price_override.yaml"), "entry remembers its file");
    if (mini)
        NEAR((1000 * 1.5 + 1000 * 6.0) / 1e6, ns_price_cost(mini, 1000, 1000),
             "overridden cost");
    e4o = ns_price_lookup(t, "openai:gpt-4o");
    CHECK(e4o && e4o->input_per_m == e4o_in, "other entries kept");
    /* an exact entry beats the pattern; the longest pattern wins */
    const ns_price_entry *paid = ns_price_lookup(t, "openai-compatible:my-paid-model");
    CHECK(paid && paid->input_per_m == 0.5, "exact beats openai-compatible:*");
    const ns_price_entry *ct = ns_price_lookup(t, "anthropic:claude-test-1");
    CHECK(ct && strcmp(ct->name, "anthropic:claude-test*") == 0, "prefix pattern");

    /* a bad overlay leaves the table as it was */
    size_t n = ns_price_count(t);
    st = ns_price_overlay(t, "tests/data/price_negative.yaml", &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK(ns_price_count(t) == n, "bad overlay changed the table");
    mini = ns_price_lookup(t, "openai:gpt-4o-mini");
    CHECK(mini && mini->input_per_m == 1.5, "bad overlay replaced an entry");
    ns_price_free(t);
}

static void test_bad_files(void)
{
    static const struct {
        const char *file;
        int line, col; /* 0: only the line is checked, col 0: not checked */
        const char *expect;
    } cases[] = {
        {"price_negative.yaml", 5, 13, "output must be >= 0"},
        {"price_negative_cached.yaml", 3, 67, "cached_input must be >= 0"},
        {"price_missing_output.yaml", 3, 5, "missing key 'output'"},
        {"price_not_number.yaml", 2, 62, "expected a number, found 'four'"},
        {"price_bad_name.yaml", 3, 3, "expected 'provider:model'"},
        /* a quoted scalar is located at its first character, after the quote */
        {"price_bad_star.yaml", 2, 4, "'*' may only end a name"},
        {"price_unknown_key.yaml", 2, 53, "unknown key 'cache_input'"},
        {"price_version.yaml", 1, 10, "version 2 is not known"},
        {"price_syntax.yaml", 3, 0, "invalid YAML"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256], where[300];
        snprintf(path, sizeof path, "tests/data/%s", cases[i].file);
        if (cases[i].col)
            snprintf(where, sizeof where, "%s:%d:%d: ", path, cases[i].line, cases[i].col);
        else
            snprintf(where, sizeof where, "%s:%d:", path, cases[i].line);
        ns_price_table *t = NULL;
        ns_error err = {0};
        ns_status st = ns_price_load(path, &t, &err);
        CHECK_ST(st, NS_ERR_INPUT, err);
        CHECK(t == NULL, "%s: table returned on failure", path);
        CHECK(strncmp(err.msg, where, strlen(where)) == 0,
              "%s: expected the message to start with \"%s\": %s", path, where, err.msg);
        CHECK(strstr(err.msg, cases[i].expect) != NULL, "%s: expected \"%s\" in: %s",
              path, cases[i].expect, err.msg);
        ns_price_free(t);
    }
    ns_price_table *t = NULL;
    ns_error err = {0};
    ns_status st = ns_price_load("tests/data/price_no_such_file.yaml", &t, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
}

int main(void)
{
    test_shipped();
    test_overlay();
    test_bad_files();
    return ns_test_report("test_price");
}
