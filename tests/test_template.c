/*
 * test_template.c - the {{variable}} prompt templates (ns_template.c):
 * rendering, blanks inside braces, the "{{{{" escape, errors located at
 * file:line:column (unterminated placeholder, bad name, unknown variable,
 * missing value), and the SHA-256 of the file's bytes checked against
 * OpenSSL's one-shot SHA256().
 *
 * Files: tests/data/template_basic.txt, tests/data/template_unterminated.txt
 * (run from the source root, as ctest does).
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_template.h"

#include "ns_test.h"

#define BASIC "tests/data/template_basic.txt"
#define UNTERMINATED "tests/data/template_unterminated.txt"

typedef struct pair { const char *name, *value; } pair;

/* Lookup over a NULL-terminated list of pairs; counts its calls. */
typedef struct table { const pair *p; int calls; } table;

static const char *lookup(void *ctx, const char *name)
{
    table *t = ctx;
    t->calls++;
    for (const pair *p = t->p; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p->value;
    return NULL;
}

static ns_template *parse(const char *text, ns_error *err, ns_status *st)
{
    ns_template *t = NULL;
    *st = ns_template_parse("mem.txt", text, strlen(text), &t, err);
    return t;
}

/* Renders `text` with the pairs; returns the malloc'd result or NULL. */
static char *render_text(const char *text, const pair *pairs, ns_error *err,
                         ns_status *st)
{
    ns_template *t = parse(text, err, st);
    if (!t)
        return NULL;
    table tab = {pairs, 0};
    char *out = NULL;
    *st = ns_template_render(t, lookup, &tab, &out, err);
    ns_template_free(t);
    return out;
}

static void test_render_file(void)
{
    ns_error err = {0};
    ns_template *t = NULL;
    ns_status st = ns_template_load(BASIC, &t, &err);
    CHECK_ST(st, NS_OK, err);
    if (!t)
        return;
    size_t n = 0;
    const char *const *vars = ns_template_vars(t, &n);
    CHECK(n == 2, "distinct variables: expected 2, got %zu", n);
    if (n == 2) {
        CHECK(strcmp(vars[0], "name") == 0, "first variable: expected name, got %s",
              vars[0]);
        CHECK(strcmp(vars[1], "greeting") == 0,
              "second variable: expected greeting, got %s", vars[1]);
    }
    static const pair pairs[] = {{"name", "Ann"}, {"greeting", "hi"}, {NULL, NULL}};
    table tab = {pairs, 0};
    char *out = NULL;
    st = ns_template_render(t, lookup, &tab, &out, &err);
    CHECK_ST(st, NS_OK, err);
    const char *want = "Hello Ann, hi!\n"
                       "Tabs: Ann; escaped: {{name}} stays.\n"
                       "Braces } { }} {x} are text; hi again.\n";
    CHECK(out && strcmp(out, want) == 0, "render: expected\n%s\ngot\n%s", want,
          out ? out : "(null)");
    CHECK(tab.calls == 2, "lookups: expected one per distinct variable (2), got %d",
          tab.calls);
    CHECK(strcmp(ns_template_path(t), BASIC) == 0, "path: got %s", ns_template_path(t));
    free(out);
    ns_template_free(t);
}

static void test_syntax(void)
{
    static const pair pairs[] = {{"a", "A"}, {"b_2", "B"}, {"_x", "X"}, {NULL, NULL}};
    struct { const char *text, *want; } cases[] = {
        {"", ""},
        {"no placeholders", "no placeholders"},
        {"{{a}}", "A"},
        {"{{ a }}{{\tb_2 }}{{_x}}", "ABX"},
        {"{{{{", "{{"},
        {"{{{{a}}", "{{a}}"},
        {"{{{{{{a}}", "{{A"},
        {"x{{a}}}", "xA}"},
        {"{ a } }}", "{ a } }}"},
        {"json: {\"k\": {\"v\": {{a}}}}", "json: {\"k\": {\"v\": A}}"},
        /* a value is never expanded again */
        {"{{a}}{{a}}", "AA"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ns_error err = {0};
        ns_status st;
        char *out = render_text(cases[i].text, pairs, &err, &st);
        CHECK_ST(st, NS_OK, err);
        CHECK(out && strcmp(out, cases[i].want) == 0, "'%s': expected '%s', got '%s'",
              cases[i].text, cases[i].want, out ? out : "(null)");
        free(out);
    }
    /* values holding braces are copied as they are */
    static const pair braces[] = {{"a", "{{b_2}}"}, {NULL, NULL}};
    ns_error err = {0};
    ns_status st;
    char *out = render_text("<{{a}}>", braces, &err, &st);
    CHECK(out && strcmp(out, "<{{b_2}}>") == 0, "value with braces: got '%s'",
          out ? out : "(null)");
    free(out);
}

/* Parsing `text` fails with NS_ERR_INPUT and a message starting `where`
 * and containing `what`. */
static void expect_parse_error(const char *text, const char *where, const char *what)
{
    ns_error err = {0};
    ns_status st;
    ns_template *t = parse(text, &err, &st);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK(t == NULL, "'%s': no template on failure", text);
    CHECK(strncmp(err.msg, where, strlen(where)) == 0 && strstr(err.msg, what),
          "'%s': expected '%s ... %s', got '%s'", text, where, what, err.msg);
    ns_template_free(t);
}

static void test_errors(void)
{
    ns_error err = {0};
    ns_template *t = NULL;
    ns_status st = ns_template_load(UNTERMINATED, &t, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    /* line 3 is "  \xc3\xa9 {{ name": the e-acute is one column */
    const char *where = UNTERMINATED ":3:5: unterminated '{{'";
    CHECK(strncmp(err.msg, where, strlen(where)) == 0, "expected '%s...', got '%s'",
          where, err.msg);
    CHECK(t == NULL, "no template on failure");

    expect_parse_error("abc {{", "mem.txt:1:5:", "unterminated");
    expect_parse_error("a\nb {{ x }\n}}", "mem.txt:2:3:", "unterminated");
    expect_parse_error("{{{", "mem.txt:1:1:", "unterminated");
    expect_parse_error("ok\n  {{}}", "mem.txt:2:3:", "empty placeholder");
    expect_parse_error("{{ a b }}", "mem.txt:1:4:", "invalid variable name 'a b'");
    expect_parse_error("x {{9lives}}", "mem.txt:1:5:", "invalid variable name '9lives'");
    expect_parse_error("{{a-b}}", "mem.txt:1:3:", "invalid variable name");
    static const char with_nul[] = "ab\ncd\0ef";
    st = ns_template_parse("mem.txt", with_nul, sizeof with_nul - 1, &t, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK(strncmp(err.msg, "mem.txt:2:3:", 12) == 0 && strstr(err.msg, "NUL"),
          "NUL byte: got '%s'", err.msg);

    st = ns_template_load("tests/data/template_does_not_exist.txt", &t, &err);
    CHECK_ST(st, NS_ERR_IO, err);
    CHECK(strstr(err.msg, "template_does_not_exist.txt") != NULL,
          "missing file named: got '%s'", err.msg);
}

static void test_check(void)
{
    ns_error err = {0};
    ns_status st;
    ns_template *t = parse("Hi {{name}}.\nYou {{ role }} and\n\t{{mood}} {{name}}", &err,
                           &st);
    CHECK_ST(st, NS_OK, err);
    if (!t)
        return;
    const char *all[] = {"role", "name", "mood", "spare"};
    st = ns_template_check(t, all, 4, &err);
    CHECK_ST(st, NS_OK, err);
    const char *some[] = {"name", "spare"};
    st = ns_template_check(t, some, 2, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    const char *want = "mem.txt:2:5: unknown variable 'role'";
    CHECK(strncmp(err.msg, want, strlen(want)) == 0, "expected '%s...', got '%s'", want,
          err.msg);
    CHECK(strstr(err.msg, "name, spare") != NULL, "known names listed: got '%s'",
          err.msg);
    const char *no_mood[] = {"name", "role"};
    st = ns_template_check(t, no_mood, 2, &err);
    want = "mem.txt:3:2: unknown variable 'mood'";
    CHECK(st == NS_ERR_INPUT && strncmp(err.msg, want, strlen(want)) == 0,
          "expected '%s...', got '%s'", want, err.msg);
    st = ns_template_check(t, NULL, 0, &err);
    CHECK(st == NS_ERR_INPUT && strstr(err.msg, "'name'"),
          "nothing known: first variable named: got '%s'", err.msg);
    ns_template_free(t);
}

static void test_missing_value(void)
{
    ns_error err = {0};
    ns_status st;
    ns_template *t = parse("Dear {{name}},\nyour {{ item }} is {{state}}.", &err, &st);
    CHECK_ST(st, NS_OK, err);
    if (!t)
        return;
    static const pair pairs[] = {{"name", "Ann"}, {"state", ""}, {NULL, NULL}};
    table tab = {pairs, 0};
    char *out = (char *)"untouched";
    st = ns_template_render(t, lookup, &tab, &out, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK(out == NULL, "no output on failure");
    const char *want = "mem.txt:2:6: no value for variable 'item'";
    CHECK(strncmp(err.msg, want, strlen(want)) == 0, "expected '%s', got '%s'", want,
          err.msg);
    /* an empty value is a value */
    static const pair full[] = {{"name", "Ann"}, {"item", "order"}, {"state", ""},
                                {NULL, NULL}};
    tab.p = full;
    st = ns_template_render(t, lookup, &tab, &out, &err);
    CHECK_ST(st, NS_OK, err);
    CHECK(out && strcmp(out, "Dear Ann,\nyour order is .") == 0, "got '%s'",
          out ? out : "(null)");
    free(out);
    ns_template_free(t);
}

static void hex_of(const unsigned char *md, char *hex)
{
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

static void test_hash(void)
{
    ns_error err = {0};
    ns_template *t = NULL;
    ns_status st = ns_template_load(BASIC, &t, &err);
    CHECK_ST(st, NS_OK, err);
    if (!t)
        return;
    /* the file's bytes, read independently */
    FILE *f = fopen(BASIC, "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    CHECK(n > 0, "read %s", BASIC);
    unsigned char md[SHA256_DIGEST_LENGTH];
    char want[65];
    SHA256(buf, n, md);
    hex_of(md, want);
    CHECK(strcmp(ns_template_hash(t), want) == 0, "hash: expected %s, got %s", want,
          ns_template_hash(t));
    size_t len = 0;
    ns_template_text(t, &len);
    CHECK(len == n, "text length: expected %zu, got %zu", n, len);

    /* one byte changed: another hash, again matching SHA256() */
    buf[0] ^= 0x01;
    ns_template *t2 = NULL;
    st = ns_template_parse("changed", (const char *)buf, n, &t2, &err);
    CHECK_ST(st, NS_OK, err);
    if (t2) {
        CHECK(strcmp(ns_template_hash(t), ns_template_hash(t2)) != 0,
              "one byte changed, hash unchanged: %s", ns_template_hash(t2));
        SHA256(buf, n, md);
        hex_of(md, want);
        CHECK(strcmp(ns_template_hash(t2), want) == 0, "hash: expected %s, got %s",
              want, ns_template_hash(t2));
    }
    /* the empty template: SHA-256 of no bytes */
    ns_template *t3 = NULL;
    st = ns_template_parse("empty", "", 0, &t3, &err);
    CHECK_ST(st, NS_OK, err);
    if (t3)
        CHECK(strcmp(ns_template_hash(t3), "e3b0c44298fc1c149afbf4c8996fb924"
                                           "27ae41e4649b934ca495991b7852b855") == 0,
              "empty hash: got %s", ns_template_hash(t3));
    ns_template_free(t);
    ns_template_free(t2);
    ns_template_free(t3);
    ns_template_free(NULL);
}

int main(void)
{
    test_render_file();
    test_syntax();
    test_errors();
    test_check();
    test_missing_value();
    test_hash();
    return ns_test_report("test_template");
}
