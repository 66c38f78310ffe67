/*
 * test_scenario.c - scenario loading and the utility model: hand-checked
 * per-issue utilities, weight normalisation, discrete rank utilities, the
 * inverse (value for a utility) on every issue of the shipped scenarios,
 * grid snapping, every bad fixture in tests/data/scenarios/ refused at the
 * right file:line:col with the right words, an empty ZOPA flagged,
 * inline scenarios read from a node of another document, and the message
 * templates compiled at load (ns_scenario_compile).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_frontier.h"
#include "ns_scenario.h"

#include "ns_test.h"


#define CHECK_NEAR(want, got, tol)                                             \
    CHECK(fabs((double)(want) - (double)(got)) <= (tol),                       \
          "%s: expected %.12g, got %.12g", #got, (double)(want), (double)(got))

#define CHECK_ST(got, want, err)                                               \
    CHECK((got) == (want), "status: expected %s, got %s (%s)",                 \
          ns_status_str(want), ns_status_str(got), (err).msg)

/* Loads a scenario written inline as the whole of a YAML document. */
static ns_scenario *load_inline(const char *text, ns_error *err)
{
    ns_yaml *y = NULL;
    ns_scenario *sc = NULL;
    if (ns_yaml_load_string("inline.yaml", text, &y, err) == NS_OK)
        ns_scenario_from_node(y, ns_yaml_root(y), &sc, err);
    ns_yaml_free(y);
    return sc;
}

static ns_scenario *load(const char *path)
{
    ns_error err = {0};
    ns_scenario *sc = NULL;
    ns_status st = ns_scenario_load_file(path, &sc, &err);
    CHECK_ST(st, NS_OK, err);
    return sc;
}

/* ---- continuous utilities ---------------------------------------------- */

static void test_used_car_utilities(void)
{
    ns_scenario *sc = load("scenarios/used_car.yaml");
    if (!sc)
        return;
    const ns_issue *p = &sc->issue[0];
    CHECK(sc->n_issues == 1 && p->type == NS_ISSUE_CONTINUOUS,
          "used_car: one continuous issue");
    CHECK(strcmp(p->name, "price") == 0 && strcmp(p->unit, "EUR") == 0,
          "issue: expected price/EUR, got %s/%s", p->name, p->unit);
    CHECK_NEAR(8000, p->lo, 0);
    CHECK_NEAR(16000, p->hi, 0);
    CHECK_NEAR(50, p->step, 0);
    CHECK_NEAR(1.0, p->side[NS_BUYER].weight, 1e-15);
    CHECK(!p->side[NS_BUYER].prefer_higher && p->side[NS_SELLER].prefer_higher,
          "buyer prefers lower, seller higher");
    /* buyer: target 9500, reservation 13000, so u = (13000 - v) / 3500 */
    CHECK_NEAR(0.5, ns_issue_utility(p, NS_BUYER, 11250), 1e-12);
    CHECK_NEAR(1.0, ns_issue_utility(p, NS_BUYER, 9000), 0);   /* clamped */
    CHECK_NEAR(0.0, ns_issue_utility(p, NS_BUYER, 13500), 0);  /* clamped */
    CHECK_NEAR(0.0, ns_issue_utility(p, NS_BUYER, 13000), 1e-12);
    CHECK(ns_issue_acceptable(p, NS_BUYER, 13000),
          "13000 (reservation) acceptable to buyer");
    CHECK(!ns_issue_acceptable(p, NS_BUYER, 13500), "13500 unacceptable to buyer");
    CHECK(ns_issue_acceptable(p, NS_BUYER, 9000), "9000 acceptable to buyer");
    /* seller: target 14500, reservation 11000, so u = (v - 11000) / 3500 */
    CHECK_NEAR(0.5, ns_issue_utility(p, NS_SELLER, 12750), 1e-12);
    CHECK(!ns_issue_acceptable(p, NS_SELLER, 10950), "10950 unacceptable to seller");
    CHECK(ns_issue_acceptable(p, NS_SELLER, 11000), "11000 acceptable to seller");
    CHECK(!ns_issue_acceptable(p, NS_SELLER, 16050), "outside the range is unacceptable");
    double v = 12000;
    CHECK_NEAR(1000.0 / 3500, ns_scenario_utility(sc, NS_BUYER, &v), 1e-12);
    CHECK(ns_scenario_acceptable(sc, NS_BUYER, &v) &&
              ns_scenario_acceptable(sc, NS_SELLER, &v),
          "12000 acceptable to both");
    ns_scenario_free(sc);
}

/* ---- weights ----------------------------------------------------------- */

static const char *two_issue_yaml =
    "name: weights\n"
    "issues:\n"
    "  - name: price\n"
    "    unit: EUR\n"
    "    type: continuous\n"
    "    range: [0, 100]\n"
    "    step: 1\n"
    "    buyer:  {weight: 3, prefer: lower,  target: 20, reservation: 70}\n"
    "    seller: {weight: 1, prefer: higher, target: 80, reservation: 30}\n"
    "  - name: days\n"
    "    type: integer\n"
    "    range: [0, 10]\n"
    "    buyer:  {weight: 1, prefer: lower,  target: 2, reservation: 8}\n"
    "    seller: {weight: 0, prefer: higher, target: 8, reservation: 2}\n";

static void test_weights(void)
{
    ns_error err = {0};
    ns_scenario *sc = load_inline(two_issue_yaml, &err);
    CHECK(sc, "inline two-issue scenario loads (%s)", err.msg);
    if (!sc)
        return;
    CHECK_NEAR(0.75, sc->issue[0].side[NS_BUYER].weight, 1e-15);
    CHECK_NEAR(0.25, sc->issue[1].side[NS_BUYER].weight, 1e-15);
    CHECK_NEAR(1.0, sc->issue[0].side[NS_SELLER].weight, 1e-15);
    CHECK_NEAR(0.0, sc->issue[1].side[NS_SELLER].weight, 0);
    /* price 45 -> buyer 0.5, days 5 -> buyer 0.5: total 0.75*0.5 + 0.25*0.5 */
    double v[2] = {45, 5};
    CHECK_NEAR(0.5, ns_scenario_utility(sc, NS_BUYER, v), 1e-12);
    /* price 45 -> seller 0.3; days has weight 0 for the seller */
    CHECK_NEAR(0.3, ns_scenario_utility(sc, NS_SELLER, v), 1e-12);
    double w[2] = {45, 9}; /* days 9 is worse than the buyer's reservation 8 */
    CHECK(!ns_scenario_acceptable(sc, NS_BUYER, w), "days 9 unacceptable to buyer");
    CHECK(ns_scenario_acceptable(sc, NS_SELLER, w), "days 9 acceptable to seller");
    CHECK(ns_scenario_issue_index(sc, "days") == 1, "issue_index(days) = 1");
    CHECK(ns_scenario_issue_index(sc, "nope") == -1, "issue_index(nope) = -1");
    /* defaults: title and product fall back to the name, resolution 51 */
    CHECK(strcmp(sc->title, "weights") == 0, "default title: got '%s'", sc->title);
    CHECK(sc->resolution == 51, "default resolution: expected 51, got %d",
          sc->resolution);
    CHECK(strcmp(sc->issue[0].phrase, "{value} {unit}") == 0, "default phrase: got '%s'",
          sc->issue[0].phrase);
    CHECK(strcmp(sc->issue[1].phrase, "{value}") == 0,
          "default phrase without a unit: got '%s'", sc->issue[1].phrase);
    CHECK_NEAR(1, sc->issue[1].step, 0); /* integer default step */
    ns_scenario_free(sc);
}

/* ---- discrete utilities ------------------------------------------------- */

static const char *discrete_yaml =
    "name: terms\n"
    "issues:\n"
    "  - name: payment\n"
    "    type: discrete\n"
    "    options: [upfront, net30, net60, net90]\n"
    "    buyer:  {ranking: [net90, net60, net30, upfront], reservation: net30}\n"
    "    seller: {ranking: [upfront, net30, net60, net90], reservation: upfront}\n";

static void test_discrete(void)
{
    ns_error err = {0};
    ns_scenario *sc = load_inline(discrete_yaml, &err);
    CHECK(sc, "inline discrete scenario loads (%s)", err.msg);
    if (!sc)
        return;
    const ns_issue *is = &sc->issue[0];
    enum { UPFRONT, NET30, NET60, NET90 };
    CHECK(is->n_options == 4 && strcmp(is->options[NET60], "net60") == 0, "options read");
    CHECK_NEAR(0, is->lo, 0);
    CHECK_NEAR(3, is->hi, 0);
    /* buyer: ranking positions 0..3, reservation net30 at position 2:
     * net90 (2-0)/2 = 1, net60 (2-1)/2 = 0.5, net30 0, upfront below: -1 */
    const ns_issue_side *b = &is->side[NS_BUYER];
    CHECK_NEAR(1.0, b->option_utility[NET90], 0);
    CHECK_NEAR(0.5, b->option_utility[NET60], 0);
    CHECK_NEAR(0.0, b->option_utility[NET30], 0);
    CHECK_NEAR(-1.0, b->option_utility[UPFRONT], 0);
    CHECK_NEAR(NET90, b->target, 0);
    CHECK_NEAR(NET30, b->reservation, 0);
    CHECK(!ns_issue_acceptable(is, NS_BUYER, UPFRONT), "upfront unacceptable to buyer");
    CHECK(ns_issue_acceptable(is, NS_BUYER, NET30), "net30 acceptable to buyer");
    CHECK_NEAR(0.0, ns_issue_utility(is, NS_BUYER, UPFRONT), 0); /* clamped */
    CHECK_NEAR(0.5, ns_issue_utility(is, NS_BUYER, NET60), 0);
    /* seller: the reservation is its first choice: utility 1, rest -1 */
    const ns_issue_side *s = &is->side[NS_SELLER];
    CHECK_NEAR(1.0, s->option_utility[UPFRONT], 0);
    CHECK_NEAR(-1.0, s->option_utility[NET30], 0);
    CHECK_NEAR(-1.0, s->option_utility[NET90], 0);
    CHECK(sc->zopa_empty, "no option acceptable to both: ZOPA empty");
    CHECK(strstr(sc->zopa_note, "payment"), "zopa note names the issue: '%s'",
          sc->zopa_note);
    /* inverse: smallest acceptable utility >= u */
    CHECK_NEAR(NET30, ns_issue_value_for_utility(is, NS_BUYER, 0.0), 0);
    CHECK_NEAR(NET60, ns_issue_value_for_utility(is, NS_BUYER, 0.3), 0);
    CHECK_NEAR(NET60, ns_issue_value_for_utility(is, NS_BUYER, 0.5), 0);
    CHECK_NEAR(NET90, ns_issue_value_for_utility(is, NS_BUYER, 0.51), 0);
    CHECK_NEAR(NET30, ns_issue_value_for_utility(is, NS_BUYER, -2), 0);
    CHECK_NEAR(UPFRONT, ns_issue_value_for_utility(is, NS_SELLER, 0.0), 0);
    CHECK_NEAR(NET90, ns_issue_extreme(is, NS_BUYER), 0);
    CHECK_NEAR(UPFRONT, ns_issue_extreme(is, NS_SELLER), 0);
    CHECK_NEAR(NET60, ns_issue_snap(is, 2.4), 0);
    CHECK_NEAR(NET90, ns_issue_snap(is, 7), 0);
    ns_scenario_free(sc);
}

/* ---- the inverse, hand-checked and exhaustively ------------------------ */

static void test_value_for_utility_cases(void)
{
    ns_scenario *car = load("scenarios/used_car.yaml");
    ns_scenario *sup = load("scenarios/supplier_contract.yaml");
    if (!car || !sup)
        goto out;
    const ns_issue *p = &car->issue[0];
    /* buyer: 13000 - u*3500; seller: 11000 + u*3500; grid of 50 from 8000 */
    CHECK_NEAR(11250, ns_issue_value_for_utility(p, NS_BUYER, 0.5), 0);
    CHECK_NEAR(11950, ns_issue_value_for_utility(p, NS_BUYER, 0.3), 0);
    CHECK_NEAR(11900, ns_issue_value_for_utility(p, NS_BUYER, 0.31), 0);  /* 11915 down */
    CHECK_NEAR(12100, ns_issue_value_for_utility(p, NS_SELLER, 0.31), 0); /* 12085 up */
    CHECK_NEAR(13000, ns_issue_value_for_utility(p, NS_BUYER, 0), 0);
    CHECK_NEAR(9500, ns_issue_value_for_utility(p, NS_BUYER, 1), 0);
    CHECK_NEAR(9500, ns_issue_value_for_utility(p, NS_BUYER, 7), 0);
    int d = ns_scenario_issue_index(sup, "delivery_time");
    CHECK(d == 2, "delivery_time index: expected 2, got %d", d);
    if (d >= 0) {
        const ns_issue *dt = &sup->issue[d];
        /* buyer: 8 - 6u, rounded down; seller: 4 + 6u, rounded up */
        CHECK_NEAR(5, ns_issue_value_for_utility(dt, NS_BUYER, 0.5), 0);
        CHECK_NEAR(4, ns_issue_value_for_utility(dt, NS_BUYER, 0.6), 0);  /* 4.4 */
        CHECK_NEAR(8, ns_issue_value_for_utility(dt, NS_SELLER, 0.6), 0); /* 7.6 */
    }
    int up = ns_scenario_issue_index(sup, "unit_price");
    if (up >= 0) {
        /* seller 10.50 + u*4, grid of 0.05 from 8: u = 0.26 -> 11.54 -> 11.55 */
        CHECK_NEAR(11.55, ns_issue_value_for_utility(&sup->issue[up], NS_SELLER, 0.26),
                   1e-9);
        /* exactly on the grid stays put despite 0.05 being inexact */
        CHECK_NEAR(11.50, ns_issue_value_for_utility(&sup->issue[up], NS_SELLER, 0.25),
                   1e-9);
        CHECK_NEAR(11.50,
                   ns_issue_value_for_utility(&sup->issue[up], NS_BUYER, 1.5 / 3.5),
                   1e-9);
    }
out:
    ns_scenario_free(car);
    ns_scenario_free(sup);
}

/* Utility of the answer is at least u and within one grid step of it. */
static void round_trip_issue(const ns_issue *is, int side, int *bad)
{
    const ns_issue_side *s = &is->side[side];
    double gap =
        is->type == NS_ISSUE_DISCRETE ? 1.0 : is->step / fabs(s->target - s->reservation);
    for (int k = 0; k <= 100; k++) {
        double u = k / 100.0;
        double v = ns_issue_value_for_utility(is, side, u);
        double got = ns_issue_utility(is, side, v);
        int ok = ns_issue_acceptable(is, side, v) && v >= is->lo && v <= is->hi &&
                 ns_issue_snap(is, v) == v && got >= u - 1e-9 && got <= u + gap + 1e-9;
        if (is->type == NS_ISSUE_DISCRETE) /* no acceptable option strictly between */
            for (int o = 0; o < is->n_options; o++)
                if (s->option_utility[o] >= u - 1e-12 &&
                    s->option_utility[o] < got - 1e-12)
                    ok = 0;
        if (!ok && (*bad)++ < 5)
            CHECK(0, "%s/%s u=%.2f -> value %.6g utility %.6g", is->name,
                  ns_side_names[side], u, v, got);
    }
}

static void test_round_trips(void)
{
    const char *files[] = {"scenarios/used_car.yaml", "scenarios/supplier_contract.yaml",
                           "scenarios/office_lease.yaml"};
    for (int f = 0; f < 3; f++) {
        ns_scenario *sc = load(files[f]);
        if (!sc)
            continue;
        int bad = 0;
        for (int i = 0; i < sc->n_issues; i++)
            for (int side = 0; side < 2; side++)
                round_trip_issue(&sc->issue[i], side, &bad);
        CHECK(bad == 0, "%s: %d value_for_utility round trips failed", files[f], bad);
        ns_scenario_free(sc);
    }
}

/* ---- grid ---------------------------------------------------------------- */

static void test_snap_and_extreme(void)
{
    ns_error err = {0};
    ns_scenario *car = load("scenarios/used_car.yaml");
    if (car) {
        const ns_issue *p = &car->issue[0];
        CHECK_NEAR(11250, ns_issue_snap(p, 11262), 0);
        CHECK_NEAR(11300, ns_issue_snap(p, 11276), 0);
        CHECK_NEAR(16000, ns_issue_snap(p, 20000), 0);
        CHECK_NEAR(8000, ns_issue_snap(p, 100), 0);
        CHECK_NEAR(8000, ns_issue_extreme(p, NS_BUYER), 0);
        CHECK_NEAR(16000, ns_issue_extreme(p, NS_SELLER), 0);
        ns_scenario_free(car);
    }
    /* a range that is not a whole number of steps: the grid is 0,3,6,9 */
    ns_scenario *sc = load_inline(
        "name: odd_grid\n"
        "issues:\n"
        "  - name: qty\n"
        "    type: integer\n"
        "    range: [0, 10]\n"
        "    step: 3\n"
        "    buyer:  {prefer: lower,  target: 0,  reservation: 10}\n"
        "    seller: {prefer: higher, target: 10, reservation: 0}\n", &err);
    CHECK(sc, "odd grid scenario loads (%s)", err.msg);
    if (sc) {
        const ns_issue *q = &sc->issue[0];
        CHECK_NEAR(9, ns_issue_snap(q, 10), 0);
        CHECK_NEAR(6, ns_issue_snap(q, 7), 0);
        CHECK_NEAR(9, ns_issue_extreme(q, NS_SELLER), 0);
        CHECK_NEAR(0, ns_issue_extreme(q, NS_BUYER), 0);
        /* seller u=0.95 wants 9.5: rounding up would leave the range, so 9 */
        CHECK_NEAR(9, ns_issue_value_for_utility(q, NS_SELLER, 0.95), 0);
        /* buyer u=0.35 wants 6.5 -> 6 */
        CHECK_NEAR(6, ns_issue_value_for_utility(q, NS_BUYER, 0.35), 0);
        ns_scenario_free(sc);
    }
    /* binary noise: 0.07 / 0.01 = 7.000000000000001, and for the buyer
     * 1 - 0.53 = 0.47 and 0.47 / 0.01 = 46.99999999999999; values meant to be on the grid
     * must stay there rather than move a whole step in the side's favour */
    sc = load_inline(
        "name: fine_grid\n"
        "issues:\n"
        "  - name: share\n"
        "    type: continuous\n"
        "    range: [0, 1]\n"
        "    step: 0.01\n"
        "    decimals: 2\n"
        "    buyer:  {prefer: lower,  target: 0, reservation: 1}\n"
        "    seller: {prefer: higher, target: 1, reservation: 0}\n", &err);
    CHECK(sc, "fine grid scenario loads (%s)", err.msg);
    if (sc) {
        CHECK_NEAR(0.07, ns_issue_value_for_utility(&sc->issue[0], NS_SELLER, 0.07),
                   1e-12);
        CHECK_NEAR(0.47, ns_issue_value_for_utility(&sc->issue[0], NS_BUYER, 0.53),
                   1e-12);
        ns_scenario_free(sc);
    }
    /* the grid value 3 * 0.1 is 0.30000000000000004: it must still count as
     * the buyer's reservation 0.3, for acceptance and for the frontier */
    sc = load_inline(
        "name: tenths\n"
        "issues:\n"
        "  - name: share\n"
        "    type: continuous\n"
        "    range: [0, 1]\n"
        "    step: 0.1\n"
        "    buyer:  {prefer: lower,  target: 0, reservation: 0.3}\n"
        "    seller: {prefer: higher, target: 1, reservation: 0.1}\n", &err);
    CHECK(sc, "tenths scenario loads (%s)", err.msg);
    if (sc) {
        double v = ns_issue_snap(&sc->issue[0], 0.3);
        CHECK(ns_issue_acceptable(&sc->issue[0], NS_BUYER, v),
              "snap(0.3) = %.17g acceptable", v);
        CHECK(!ns_issue_acceptable(&sc->issue[0], NS_BUYER, 0.31), "0.31 unacceptable");
        CHECK(sc->frontier->n == 3, "frontier: expected 0.1, 0.2, 0.3, got %d points",
              sc->frontier->n);
        ns_scenario_free(sc);
    }
}

/* ---- bad files ------------------------------------------------------------ */

typedef struct bad_case {
    const char *file;
    int line, col;          /* located by hand in the fixture */
    const char *words[3];   /* must all appear in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"bad_missing_name", 2, 1, {"missing key 'name'", "scenario", NULL}},
    {"bad_name", 2, 7, {"Used-Car", "[a-z0-9_]+", NULL}},
    {"bad_missing_issues", 2, 1, {"missing key 'issues'", NULL, NULL}},
    {"bad_empty_issues", 3, 1, {"issues", "empty", NULL}},
    {"bad_too_many_issues", 60, 5, {"too many issues", "at most 8", NULL}},
    {"bad_too_many_options", 6, 95, {"colour", "too many options", "at most 16"}},
    {"bad_duplicate_issue", 11, 11, {"duplicate issue name", "price", NULL}},
    {"bad_unknown_type",
     6,
     11,
     {"unknown type 'continous'", "continuous, integer or discrete", NULL}},
    {"bad_range", 7, 13, {"range", "lo < hi", NULL}},
    {"bad_target_outside_range", 9, 49, {"buyer", "target 90", "outside the range"}},
    {"bad_reservation_outside_range",
     10,
     67,
     {"seller", "reservation 250", "outside the range"}},
    {"bad_prefer", 10, 33, {"prefer", "'lower' or 'higher'", "'more'"}},
    {"bad_target_wrong_side",
     9,
     49,
     {"target 175", "below the reservation 170", "make no sense"}},
    {"bad_target_equals_reservation",
     10,
     49,
     {"target 130", "above the reservation 130", "make no sense"}},
    {"bad_negative_weight", 10, 22, {"seller", "weight", ">= 0"}},
    {"bad_zero_weights", 4, 5, {"seller", "weights are all 0", "positive"}},
    {"bad_ranking_missing", 8, 35, {"ranking", "missing option 'net60'", NULL}},
    {"bad_ranking_duplicate", 8, 51, {"ranking", "'net30' twice", NULL}},
    {"bad_ranking_unknown", 8, 51, {"ranking", "unknown option 'net90'", NULL}},
    {"bad_reservation_not_option",
     8,
     72,
     {"reservation 'net45'", "not one of the options", NULL}},
    {"bad_step", 8, 11, {"step", "> 0", NULL}},
    {"bad_unknown_key", 5, 5, {"unknown key 'unti'", "expected one of", "unit"}},
    /* located by libfyaml through ns_yaml.c, whose tests own the exact
     * position: here only the shape "file:line:col:" is checked */
    {"bad_yaml_syntax", 0, 0, {"invalid YAML", NULL, NULL}},
};

/* 1 when msg starts with "path:LINE:COL: " (line 0: any line and column). */
static int located(const char *msg, const char *path, int line, int col)
{
    char want[160];
    if (line > 0) {
        snprintf(want, sizeof want, "%s:%d:%d: ", path, line, col);
        return strncmp(msg, want, strlen(want)) == 0;
    }
    size_t n = strlen(path);
    int l = 0, c = 0, used = 0;
    return strncmp(msg, path, n) == 0 &&
           sscanf(msg + n, ":%d:%d: %n", &l, &c, &used) == 2 && used > 0 && l > 0 && c > 0;
}

static void test_bad_files(void)
{
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        const bad_case *c = &bad_cases[k];
        char path[128];
        snprintf(path, sizeof path, "tests/data/scenarios/%s.yaml", c->file);
        ns_error err = {0};
        ns_scenario *sc = NULL;
        ns_status st = ns_scenario_load_file(path, &sc, &err);
        CHECK(st == NS_ERR_INPUT && !sc, "%s: expected an input error, got %s", c->file,
              ns_status_str(st));
        CHECK(located(err.msg, path, c->line, c->col),
              "%s: expected the message to start with '%s:%d:%d: ', got '%s'", c->file,
              path, c->line, c->col, err.msg);
        for (int w = 0; w < 3 && c->words[w]; w++)
            CHECK(strstr(err.msg, c->words[w]), "%s: expected '%s' in '%s'", c->file,
                  c->words[w], err.msg);
        ns_scenario_free(sc);
    }
}

/* ---- shipped scenarios and the empty ZOPA ------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    s[got] = '\0';
    return s;
}

static void test_shipped(void)
{
    const char *names[] = {"used_car", "supplier_contract", "office_lease"};
    const int issues[] = {1, 5, 4};
    for (int k = 0; k < 3; k++) {
        char path[96];
        snprintf(path, sizeof path, "scenarios/%s.yaml", names[k]);
        ns_scenario *sc = load(path);
        if (!sc)
            continue;
        CHECK(strcmp(sc->name, names[k]) == 0, "name: expected %s, got %s", names[k],
              sc->name);
        CHECK(sc->n_issues == issues[k], "%s: expected %d issues, got %d", names[k],
              issues[k], sc->n_issues);
        CHECK(!sc->zopa_empty, "%s: ZOPA not empty (%s)", names[k], sc->zopa_note);
        CHECK(sc->context && strlen(sc->context) > 200, "%s: has a context briefing",
              names[k]);
        CHECK(strcmp(sc->path, path) == 0, "%s: path '%s'", names[k], sc->path);
        char *text = read_file(path);
        CHECK(text && sc->source && strcmp(text, sc->source) == 0,
              "%s: source is the file text", names[k]);
        free(text);
        CHECK(sc->frontier && sc->frontier->n > 0 && sc->frontier->nash >= 0,
              "%s: frontier computed at load", names[k]);
        for (int side = 0; side < 2; side++) {
            double sum = 0;
            for (int i = 0; i < sc->n_issues; i++)
                sum += sc->issue[i].side[side].weight;
            CHECK_NEAR(1.0, sum, 1e-12);
        }
        ns_scenario_free(sc);
    }
}

static void test_empty_zopa(void)
{
    ns_scenario *sc = load("tests/data/scenarios/empty_zopa.yaml");
    if (!sc)
        return;
    CHECK(sc->zopa_empty == 1, "empty_zopa flagged");
    CHECK(strstr(sc->zopa_note, "price") && strstr(sc->zopa_note, "10000") &&
              strstr(sc->zopa_note, "11000") && strstr(sc->zopa_note, "EUR"),
          "note names the issue and both reservations: '%s'", sc->zopa_note);
    CHECK(sc->frontier && sc->frontier->n == 0 && sc->frontier->nash == -1 &&
              sc->frontier->ks == -1, "empty frontier");
    ns_scenario_free(sc);
}

/* ---- inline scenarios inside another document --------------------------- */

static void test_from_node(void)
{
    const char *spec =
        "seed: 7\n"
        "scenario:\n"
        "  name: inline_car\n"
        "  issues:\n"
        "    - name: price\n"
        "      type: continuous\n"
        "      range: [0, 100]\n"
        "      buyer:  {prefer: lower,  target: 10, reservation: 60}\n"
        "      seller: {prefer: higher, target: 90, reservation: 40}\n"
        "broken:\n"
        "  name: inline_bad\n"
        "  issues:\n"
        "    - name: price\n"
        "      type: continuous\n"
        "      range: [0, 100]\n"
        "      buyer:  {prefer: lower,  target: 10, reservation: 60}\n"
        "      seller: {prefer: higher, target: 90, reservation: 40, colour: red}\n";
    ns_error err = {0};
    ns_yaml *y = NULL;
    ns_status st = ns_yaml_load_string("sweep.yaml", spec, &y, &err);
    CHECK_ST(st, NS_OK, err);
    if (st)
        return;
    ns_scenario *sc = NULL;
    st = ns_scenario_from_node(y, ns_yaml_get(ns_yaml_root(y), "scenario"), &sc, &err);
    CHECK_ST(st, NS_OK, err);
    if (sc) {
        CHECK(strcmp(sc->name, "inline_car") == 0, "inline name: got %s", sc->name);
        CHECK(strcmp(sc->path, "sweep.yaml") == 0, "inline path: got %s", sc->path);
        CHECK(
            sc->source && strstr(sc->source, "inline_car") && !strstr(sc->source, "seed"),
            "inline source is the node's YAML only: '%s'", sc->source ? sc->source : "");
        CHECK_NEAR(0.1, sc->issue[0].step, 1e-12); /* default (hi-lo)/1000 */
        /* the ZOPA 40..60 holds 201 grid values: resolution 51 keeps 51, all
         * Pareto optimal since the utilities are opposed and linear */
        CHECK(sc->frontier && sc->frontier->n == 51 && sc->frontier->n_outcomes == 51,
              "inline frontier: expected 51 points, got %d",
              sc->frontier ? sc->frontier->n : -1);
        ns_scenario_free(sc);
    }
    sc = NULL;
    st = ns_scenario_from_node(y, ns_yaml_get(ns_yaml_root(y), "broken"), &sc, &err);
    CHECK(st == NS_ERR_INPUT && !sc, "inline error: got %s", ns_status_str(st));
    const char *where = "sweep.yaml:17:61: ";
    CHECK(strncmp(err.msg, where, strlen(where)) == 0 && strstr(err.msg, "'colour'"),
          "inline error located in the spec: expected '%s...colour', got '%s'", where,
          err.msg);
    ns_yaml_free(y);
}

/* Two issues of 10001 points each would need 10^8 candidates in one
 * frontier step: refused, located at `resolution`, not attempted. */
static void test_frontier_too_large(void)
{
    const char *text =
        "name: huge\n"
        "resolution: 10001\n"
        "issues:\n"
        "  - {name: a, type: continuous, range: [0, 10000], step: 1,\n"
        "     buyer: {prefer: lower, target: 0, reservation: 10000},\n"
        "     seller: {prefer: higher, target: 10000, reservation: 0}}\n"
        "  - {name: b, type: continuous, range: [0, 10000], step: 1,\n"
        "     buyer: {prefer: lower, target: 0, reservation: 10000},\n"
        "     seller: {prefer: higher, target: 10000, reservation: 0}}\n";
    ns_error err = {0};
    ns_scenario *sc = load_inline(text, &err);
    const char *where = "inline.yaml:2:13: ";
    CHECK(!sc && strncmp(err.msg, where, strlen(where)) == 0 &&
              strstr(err.msg, "resolution"),
          "oversized frontier: expected '%s... resolution', got '%s'", where, err.msg);
    ns_scenario_free(sc);
}

/* ---- compiled message templates ----------------------------------------- */

/* Piece k of issue is's compiled phrase equals want. */
static int piece_is(const ns_issue *is, int k, const char *want)
{
    return is->piece_len[k] == strlen(want) &&
           memcmp(is->text + is->piece_off[k], want, strlen(want)) == 0;
}

static void test_compiled_templates(void)
{
    ns_scenario *sc = load("scenarios/supplier_contract.yaml");
    if (!sc)
        return;
    /* unit_price "{value} {unit} per unit", payment "payment {value}" */
    const ns_issue *price = &sc->issue[0], *pay = &sc->issue[3];
    CHECK(price->n_values == 1 && piece_is(price, 0, "") && piece_is(price, 1, " EUR per unit"),
          "unit_price compiled: %d values, tail \"%.*s\"", price->n_values,
          price->piece_len[1], price->text + price->piece_off[1]);
    CHECK(pay->n_values == 1 && piece_is(pay, 0, "payment ") && piece_is(pay, 1, ""),
          "payment_terms compiled: head \"%.*s\"", pay->piece_len[0],
          pay->text + pay->piece_off[0]);
    CHECK(pay->option_len[1] == strlen("net30"), "option_len[1]: %d", pay->option_len[1]);
    /* the body: run 4 is payment's tail, " and ", warranty's head */
    CHECK(sc->body_plain, "supplier: offer body compiled");
    CHECK(sc->body_len[0] == 0, "run 0: nothing before the price, got %d", sc->body_len[0]);
    const char *r4 = sc->body + sc->body_off[4];
    CHECK(sc->body_len[4] == 5 && memcmp(r4, " and ", 5) == 0, "run 4: \"%.*s\"",
          sc->body_len[4], r4);
    ns_scenario_free(sc);

    /* inline scenarios are compiled too: no unit drops the blank */
    ns_error err = {0};
    sc = load_inline("name: t\n"
                     "issues:\n"
                     "  - name: x\n"
                     "    type: integer\n"
                     "    range: [0, 10]\n"
                     "    phrase: \"{value} {unit}, {value}{unit} ok\"\n"
                     "    buyer:  {prefer: lower,  target: 2, reservation: 8}\n"
                     "    seller: {prefer: higher, target: 8, reservation: 2}\n", &err);
    CHECK(sc, "inline scenario loads (%s)", err.msg);
    if (!sc)
        return;
    const ns_issue *x = &sc->issue[0];
    CHECK(x->n_values == 2 && piece_is(x, 0, "") && piece_is(x, 1, ", ") &&
              piece_is(x, 2, " ok") && x->drops[0] == 0 && x->drops[1] == 1,
          "two values compiled: %d values, drops %d %d", x->n_values, x->drops[0],
          x->drops[1]);
    CHECK(!sc->body_plain, "a value's blank to drop: no compiled body");
    ns_scenario_free(sc);
}

int main(void)
{
    test_used_car_utilities();
    test_weights();
    test_discrete();
    test_value_for_utility_cases();
    test_round_trips();
    test_snap_and_extreme();
    test_bad_files();
    test_shipped();
    test_empty_zopa();
    test_from_node();
    test_frontier_too_large();
    test_compiled_templates();
    return ns_test_report("test_scenario");
}
