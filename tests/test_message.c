/*
 * test_message.c - transcript texts (ns_message.c): number formatting,
 * the offer / accept / walk shapes with their openers, issue phrase
 * templates, truncation at NS_TEXT_LEN on a UTF-8 boundary, and the
 * zero padding that byte-for-byte row comparison relies on.
 *
 * Expected strings are written out by hand from the scenario files
 * (scenarios/supplier_contract.yaml, used_car.yaml) and the test catalogue
 * tests/data/catalog/fixed/ (charm's phrases: "My friend,", "Honestly.",
 * "Between us:"; boulware's: "Take your time.").
 *
 * At the end it prints the time per rendered offer of the 5-issue supplier
 * scenario, for information only (timings are not asserted: CI machines
 * vary too much).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ns_message.h"

#include "ns_test.h"


/* ---------------------------------------------------------------- numbers */

static void fmt_case(double v, int decimals, const char *expected)
{
    char out[32];
    memset(out, 'x', sizeof out);
    int n = ns_format_number(v, decimals, out);
    char what[64];
    snprintf(what, sizeof what, "ns_format_number(%.17g, %d)", v, decimals);
    CHECK_STR(expected, out, what);
    CHECK(n == (int)strlen(expected), "%s returned %d, expected %zu", what, n,
          strlen(expected));
}

static void test_format_number(void)
{
    fmt_case(12400, 0, "12,400");
    fmt_case(1234567.5, 1, "1,234,567.5");
    fmt_case(1234567.5, 0, "1,234,568"); /* half away from zero */
    fmt_case(0, 0, "0");
    fmt_case(0, 2, "0.00");
    fmt_case(-0.0, 0, "0");
    fmt_case(-1234.5, 2, "-1,234.50");
    fmt_case(-12.5, 0, "-13");
    fmt_case(-0.001, 2, "0.00"); /* no "-0.00" */
    fmt_case(-0.005, 2, "-0.01");
    fmt_case(999, 0, "999");
    fmt_case(1000, 0, "1,000");
    fmt_case(999999.996, 2, "1,000,000.00"); /* the carry crosses a group */
    fmt_case(100000, 0, "100,000");
    fmt_case(9.95, 2, "9.95");
    fmt_case(0.05, 2, "0.05");
    fmt_case(12.4, 2, "12.40");
    fmt_case(3.14159, 4, "3.1416");
    fmt_case(1e15, 0, "1,000,000,000,000,000");
    fmt_case(42, -1, "42");                  /* negative decimals: 0 */
    fmt_case(1.5, 12, "1.500000000");        /* at most 9 */
    fmt_case(NAN, 2, "n/a");

    /* Against printf on grid values (no ties: every value lies within
     * 1e-12 of a number with the printed decimals): the same digits once
     * the separators are taken out. */
    int mismatches = 0;
    for (int k = -20000; k <= 200000; k += 7) {
        double v = 8 + k * 0.05;
        char ours[32], theirs[64], stripped[32];
        ns_format_number(v, 2, ours);
        snprintf(theirs, sizeof theirs, "%.2f", v);
        size_t j = 0;
        for (const char *p = ours; *p; p++)
            if (*p != ',')
                stripped[j++] = *p;
        stripped[j] = '\0';
        if (strcmp(stripped, theirs) != 0 && mismatches++ < 5)
            fprintf(stderr, "  %.17g: ours %s, printf %s\n", v, ours, theirs);
    }
    CHECK(mismatches == 0, "%d grid values format differently from printf", mismatches);
}

/* ---------------------------------------------------------------- render */

typedef struct fixture {
    ns_job job;
    ns_negotiation neg;
} fixture;

static void fixture_init(fixture *f, const ns_scenario *sc, const ns_catalog *cat)
{
    memset(f, 0, sizeof *f);
    f->job.sc = sc;
    f->neg.job = &f->job;
    f->neg.sc = sc;
    f->neg.cat = cat;
    f->neg.max_rounds = 20;
    f->neg.max_turns = 40;
}

static void render(const fixture *f, int side, int turn, const ns_move *m,
                   char out[NS_TEXT_LEN])
{
    memset(out, 0xAA, NS_TEXT_LEN); /* garbage the renderer must clear */
    ns_message_render(&f->neg, side, turn, m, out);
}

/* Every byte after the text is zero, and the text ends before the last. */
static int zero_padded(const char out[NS_TEXT_LEN])
{
    size_t n = strnlen(out, NS_TEXT_LEN);
    if (n >= NS_TEXT_LEN)
        return 0;
    for (size_t i = n; i < NS_TEXT_LEN; i++)
        if (out[i] != 0)
            return 0;
    return 1;
}

static void test_supplier(const ns_scenario *sc, const ns_catalog *shipped)
{
    fixture f;
    fixture_init(&f, sc, shipped);
    char out[NS_TEXT_LEN];
    /* unit_price 12.40 EUR (2 decimals), volume 20000, delivery 3 weeks,
     * payment option 2 = net60, warranty 24 months */
    ns_move m = {.action = NS_ACT_OFFER, .value = {12.4, 20000, 3, 2, 24}, .text = NULL};
    render(&f, NS_BUYER, 4, &m, out);
    CHECK_STR("I can do 12.40 EUR per unit, a committed volume of 20,000 units/year, "
          "delivery in 3 weeks, payment net60 and 24 months warranty.",
          out, "supplier offer");
    CHECK(zero_padded(out), "offer not zero-padded");

    render(&f, NS_SELLER, 1, &m, out);
    CHECK_STR("My opening offer: 12.40 EUR per unit, a committed volume of 20,000 "
          "units/year, delivery in 3 weeks, payment net60 and 24 months warranty.",
          out, "supplier first offer");

    m.action = NS_ACT_ACCEPT;
    render(&f, NS_SELLER, 7, &m, out);
    CHECK_STR("Deal: 12.40 EUR per unit, a committed volume of 20,000 units/year, "
          "delivery in 3 weeks, payment net60 and 24 months warranty. Let's shake on it.",
          out, "supplier accept");

    m.action = NS_ACT_WALK;
    render(&f, NS_BUYER, 9, &m, out);
    CHECK_STR("This is not going anywhere for me. I'm walking away.", out, "walk");
    CHECK(zero_padded(out), "walk not zero-padded");

    /* a shipped technique's opener, picked by the speaker's move number */
    int scarcity = ns_catalog_find(shipped, NS_INFLUENCE, "scarcity");
    f.job.side[NS_BUYER].influence = scarcity;
    const ns_technique *t = ns_catalog_technique(shipped, NS_INFLUENCE, scarcity);
    m.action = NS_ACT_OFFER;
    for (int turn = 2; turn < 12; turn += 2) {
        render(&f, NS_BUYER, turn, &m, out);
        const char *op = t->phrases[(turn / 2) % t->n_phrases];
        size_t n = strlen(op);
        CHECK(strncmp(out, op, n) == 0 && out[n] == ' ',
              "turn %d: expected opener \"%s\", got \"%s\"", turn, op, out);
    }
    /* walk and accept never carry an opener */
    m.action = NS_ACT_WALK;
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("This is not going anywhere for me. I'm walking away.", out,
          "walk with a technique");
}

static void test_used_car(const ns_scenario *sc, const ns_catalog *cat)
{
    fixture f;
    fixture_init(&f, sc, cat);
    char out[NS_TEXT_LEN];
    ns_move m = {.action = NS_ACT_OFFER, .value = {12400}, .text = NULL};
    render(&f, NS_SELLER, 3, &m, out);
    CHECK_STR("I can do 12,400 EUR.", out, "used car offer");
    m.action = NS_ACT_ACCEPT;
    render(&f, NS_BUYER, 4, &m, out);
    CHECK_STR("Deal: 12,400 EUR. Let's shake on it.", out, "used car accept");
}

static void test_openers(const ns_scenario *sc, const ns_catalog *fixed)
{
    fixture f;
    fixture_init(&f, sc, fixed);
    char out[NS_TEXT_LEN];
    ns_move m = {.action = NS_ACT_OFFER, .value = {12400}, .text = NULL};
    f.job.side[NS_BUYER].influence = ns_catalog_find(fixed, NS_INFLUENCE, "charm");
    f.job.side[NS_BUYER].tactic = ns_catalog_find(fixed, NS_TACTIC, "boulware");
    f.job.side[NS_SELLER].tactic = ns_catalog_find(fixed, NS_TACTIC, "boulware");
    /* influence before tactic; after a comma the sentence runs on */
    render(&f, NS_BUYER, 0, &m, out);
    CHECK_STR("My friend, my opening offer: 12,400 EUR.", out, "opener with a comma");
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("Honestly. I can do 12,400 EUR.", out, "second opener");
    render(&f, NS_BUYER, 4, &m, out);
    CHECK_STR("Between us: I can do 12,400 EUR.", out, "third opener");
    render(&f, NS_BUYER, 6, &m, out);
    CHECK_STR("My friend, I can do 12,400 EUR.", out, "openers cycle");
    /* no influence technique: the tactic's phrase */
    render(&f, NS_SELLER, 1, &m, out);
    CHECK_STR("Take your time. My opening offer: 12,400 EUR.", out, "tactic opener");
    f.job.side[NS_SELLER].tactic = 0;
    render(&f, NS_SELLER, 3, &m, out);
    CHECK_STR("I can do 12,400 EUR.", out, "no technique, no opener");
    /* a move that brings its own text is copied as it is */
    m.text = "Counter: 12,000 and we have a deal.";
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("Counter: 12,000 and we have a deal.", out, "own text");
    CHECK(zero_padded(out), "own text not zero-padded");
}

static void make_issue(ns_issue *is, const char *unit, const char *phrase)
{
    memset(is, 0, sizeof *is);
    snprintf(is->name, sizeof is->name, "w");
    snprintf(is->unit, sizeof is->unit, "%s", unit);
    snprintf(is->phrase, sizeof is->phrase, "%s", phrase);
    is->type = NS_ISSUE_CONTINUOUS;
    is->lo = 0;
    is->hi = 100000;
    is->step = 1;
}

static void test_templates(const ns_catalog *cat)
{
    ns_scenario *sc = calloc(1, sizeof *sc);
    sc->n_issues = 5;
    make_issue(&sc->issue[0], "", "{value} {unit}");          /* no unit: no blank */
    make_issue(&sc->issue[1], "kg", "");                       /* empty: the default */
    make_issue(&sc->issue[2], "", "size {value} {unit} {odd}"); /* other braces stay */
    make_issue(&sc->issue[3], "", "");
    sc->issue[3].type = NS_ISSUE_DISCRETE;
    sc->issue[3].n_options = 2;
    snprintf(sc->issue[3].options[0], NS_NAME_LEN, "red");
    snprintf(sc->issue[3].options[1], NS_NAME_LEN, "blue");
    /* an empty unit drops only its own fragment's blank, not the one of
     * the " and " before it */
    make_issue(&sc->issue[4], "", "{unit}{value}");
    ns_scenario_compile(sc);
    CHECK(sc->body_plain, "blanks all dropped at load: compiled body");
    fixture f;
    fixture_init(&f, sc, cat);
    char out[NS_TEXT_LEN];
    ns_move m = {.action = NS_ACT_OFFER, .value = {12, 1500, 7, 1, 3}, .text = NULL};
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("I can do 12, 1,500 kg, size 7 {odd}, blue and 3.", out, "templates");
    m.value[3] = 5; /* not an option */
    m.value[0] = NAN;
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("I can do n/a, 1,500 kg, size 7 {odd}, ? and 3.", out, "bad values");

    /* more shapes: two values; a blank that only the value could end with
     * (an option name with a trailing blank); units in a row */
    sc->n_issues = 3;
    make_issue(&sc->issue[0], "m", "{value}-{value} {unit}{unit}");
    make_issue(&sc->issue[1], "", "{value}{unit} x {unit}{unit}");
    sc->issue[1].type = NS_ISSUE_DISCRETE;
    sc->issue[1].n_options = 2;
    snprintf(sc->issue[1].options[0], NS_NAME_LEN, "red ");
    snprintf(sc->issue[1].options[1], NS_NAME_LEN, "blue");
    make_issue(&sc->issue[2], "", "{unit} a  {unit}{unit}{value}");
    ns_scenario_compile(sc);
    CHECK(sc->issue[0].n_values == 2, "two values: n_values %d", sc->issue[0].n_values);
    CHECK(sc->issue[1].drops[0] == 1, "value's blank: drops %d", sc->issue[1].drops[0]);
    m.value[0] = 2;
    m.value[1] = 0;
    m.value[2] = 5;
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("I can do 2-2 mm, red x and  a5.", out, "more shapes");
    m.value[1] = 1;
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("I can do 2-2 mm, blue x and  a5.", out, "more shapes, blue");

    /* the usual shape: the offer body is compiled whole */
    sc->n_issues = 2;
    make_issue(&sc->issue[0], "kg", "");
    make_issue(&sc->issue[1], "", "by {value} {unit}");
    ns_scenario_compile(sc);
    CHECK(sc->body_plain, "usual shapes: compiled body");
    CHECK(sc->body_len[1] == 3 + 5 + 3, "run 1: \" kg and by \" has length %d",
          sc->body_len[1]);
    render(&f, NS_BUYER, 2, &m, out);
    CHECK_STR("I can do 2 kg and by 1.", out, "compiled body");
    free(sc);
}

/* 1 when s is well-formed UTF-8. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : -1;
        if (n < 0)
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void test_truncation(const ns_catalog *cat)
{
    fixture f;
    char out[NS_TEXT_LEN];
    char text[400];
    ns_move m = {.action = NS_ACT_OFFER, .text = text};
    fixture_init(&f, NULL, cat);
    /* own text of n 'a's followed by a 3-byte euro sign */
    for (int n = 250; n <= 256; n++) {
        memset(text, 'a', (size_t)n);
        memcpy(text + n, "\xE2\x82\xAC", 4);
        render(&f, NS_BUYER, 2, &m, out);
        size_t len = strnlen(out, NS_TEXT_LEN);
        /* fits when n + 3 <= 255; otherwise the incomplete sign is dropped
         * and so are no 'a's */
        size_t expected = n + 3 <= NS_TEXT_LEN - 1 ? (size_t)n + 3
                          : (size_t)n < NS_TEXT_LEN - 1 ? (size_t)n : NS_TEXT_LEN - 1;
        CHECK(len == expected, "%d a's + euro: length %zu, expected %zu", n, len, expected);
        CHECK(valid_utf8(out), "%d a's + euro: cut inside a character", n);
        CHECK(zero_padded(out), "%d a's + euro: not zero-padded", n);
    }

    /* An offer far longer than the buffer: 8 issues with long phrases and
     * a multi-byte unit. */
    ns_scenario *sc = calloc(1, sizeof *sc);
    sc->n_issues = NS_MAX_ISSUES;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        make_issue(&sc->issue[i], "\xE2\x82\xAC",
                   "an exceedingly long description of this term, namely {value} {unit}");
    ns_scenario_compile(sc);
    fixture_init(&f, sc, cat);
    m.text = NULL;
    for (int i = 0; i < NS_MAX_ISSUES; i++)
        m.value[i] = 12345 + i;
    render(&f, NS_BUYER, 2, &m, out);
    size_t len = strnlen(out, NS_TEXT_LEN);
    CHECK(len >= NS_TEXT_LEN - 3 && len <= NS_TEXT_LEN - 1, "long offer: length %zu", len);
    const char *start = "I can do an exceedingly long description of this term, namely "
                        "12,345 \xE2\x82\xAC, an exceedingly";
    CHECK(strncmp(out, start, strlen(start)) == 0, "long offer starts wrong: %s", out);
    CHECK(valid_utf8(out), "long offer cut inside a character");
    CHECK(zero_padded(out), "long offer not zero-padded");
    /* every cut point: units all the way along, never a broken character */
    int broken = 0;
    for (int k = 0; k < 200; k++) {
        make_issue(&sc->issue[0], "\xE2\x82\xAC", "");
        char dots[81];
        memset(dots, '.', (size_t)(k % 80));
        dots[k % 80] = '\0';
        snprintf(sc->issue[0].phrase, sizeof sc->issue[0].phrase, "%s{value} {unit}", dots);
        ns_scenario_compile(sc);
        render(&f, NS_BUYER, 2, &m, out);
        broken += !valid_utf8(out) || !zero_padded(out);
    }
    CHECK(broken == 0, "%d cut points broke a character or the padding", broken);
    free(sc);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Information only: the best of several timed batches. */
static void time_render(const ns_scenario *sc, const ns_catalog *cat)
{
    fixture f;
    fixture_init(&f, sc, cat);
    f.job.side[NS_BUYER].influence = ns_catalog_find(cat, NS_INFLUENCE, "scarcity");
    f.job.side[NS_SELLER].tactic = ns_catalog_find(cat, NS_TACTIC, "boulware");
    ns_move m = {.action = NS_ACT_OFFER, .value = {12.35, 20000, 3, 2, 24}, .text = NULL};
    static char out[NS_TEXT_LEN];
    double best = 1e9;
    unsigned sink = 0;
    for (int r = 0; r < 10; r++) {
        const int n = 20000;
        double t0 = now();
        for (int i = 0; i < n; i++) {
            m.value[0] = 8 + (i & 127) * 0.05;
            ns_message_render(&f.neg, i & 1, 2 + (i & 15), &m, out);
            sink += (unsigned char)out[20];
        }
        double ns = (now() - t0) / n * 1e9;
        if (ns < best)
            best = ns;
    }
    printf("  render: %.0f ns per 5-issue offer (best of 10 batches; %u)\n", best, sink & 1);
}

int main(void)
{
    ns_error err = {0};
    ns_catalog *shipped = NULL, *fixed = NULL;
    ns_scenario *supplier = NULL, *used_car = NULL;
    if (ns_catalog_load("personalities", &shipped, &err) ||
        ns_catalog_load("tests/data/catalog/fixed", &fixed, &err) ||
        ns_scenario_load_file("scenarios/supplier_contract.yaml", &supplier, &err) ||
        ns_scenario_load_file("scenarios/used_car.yaml", &used_car, &err)) {
        fprintf(stderr, "test_message: setup failed: %s\n", err.msg);
        return 1;
    }
    test_format_number();
    test_supplier(supplier, shipped);
    test_used_car(used_car, shipped);
    test_openers(used_car, fixed);
    test_templates(fixed);
    test_truncation(fixed);
    time_render(supplier, shipped);
    ns_scenario_free(supplier);
    ns_scenario_free(used_car);
    ns_catalog_free(shipped);
    ns_catalog_free(fixed);
    return ns_test_report("test_message");
}
