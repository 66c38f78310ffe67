/*
 * ns_scenario.c - scenario files: loading, validation, and the per-issue
 * utility functions of ns_scenario.h (format: docs/scenarios.md).
 *
 * Loading walks the libfyaml tree through ns_yaml.h, so every complaint is
 * "file:line:col: what was expected" at the offending node, and unknown
 * keys are rejected at every level. After the issues are read, each side's
 * weights are normalised, the ZOPA is checked issue by issue (an empty one
 * is recorded in zopa_empty/zopa_note, not refused: `negsim validate`
 * warns about it) and the Pareto frontier is computed once (ns_frontier.c).
 *
 * ns_scenario_compile turns each issue's phrase template into the plain
 * pieces of text ns_message.c renders from, once, so that rendering never
 * scans a template.
 *
 * The utility functions at the bottom run millions of times a second in
 * the engine: they allocate nothing, touch no strings and use only the
 * numbers stored in ns_issue.
 *
 * Grid: a continuous or integer issue's values are lo + k*step for whole k
 * with lo <= value <= hi. Comparisons with reservations allow a tolerance
 * of 1e-9 of the range, because lo + k*step is not exact in binary
 * (0.1 * 3 != 0.3) and a grid value meant to equal the reservation must
 * not become unacceptable through rounding noise.
 */
#include "ns_scenario.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_frontier.h"

const char *const ns_side_names[2] = {"buyer", "seller"};

#define DEFAULT_RESOLUTION 51
#define MAX_RESOLUTION 10001
#define MAX_DECIMALS 6
#define GRID_TOL 1e-9 /* relative to the range; see the file comment */

static const char *const type_names[] = {"continuous", "integer", "discrete"};

/* ------------------------------------------------------------------ */
/* small readers                                                        */

/* Copies a required-or-optional text value into a fixed buffer, refusing
 * text that would not fit rather than cutting it silently. */
static ns_status read_text(const ns_yaml *y, struct fy_node *map, const char *key,
                           int required, const char *what, char *dst,
                           size_t size, ns_error *err)
{
    const char *s = NULL;
    ns_status st = ns_yaml_get_string(y, map, key, required, what, &s, err);
    if (st || !s)
        return st;
    if (strlen(s) >= size)
        return ns_yaml_fail(y, ns_yaml_get(map, key), err,
                            "%s: '%s' is too long (at most %zu characters)", what,
                            key, size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return NS_OK;
}

/* Identifiers end up in results files, specs and filters: keep them to
 * lower-case letters, digits and underscores. */
static int is_identifier(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static ns_status read_identifier(const ns_yaml *y, struct fy_node *map,
                                 const char *what, char *dst, ns_error *err)
{
    ns_status st = read_text(y, map, "name", 1, what, dst, NS_NAME_LEN, err);
    if (st)
        return st;
    if (!is_identifier(dst))
        return ns_yaml_fail(y, ns_yaml_get(map, "name"), err,
                            "%s: name '%s' must be lower-case letters, digits and "
                            "underscores ([a-z0-9_]+)", what, dst);
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* continuous and integer issues                                        */

static ns_status read_range(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                            const char *what, ns_error *err)
{
    struct fy_node *r = ns_yaml_get(inode, "range");
    if (!r)
        return ns_yaml_fail(y, inode, err, "missing key 'range' in %s", what);
    if (!fy_node_is_sequence(r) || fy_node_sequence_item_count(r) != 2)
        return ns_yaml_fail(y, r, err, "%s: range: expected [lo, hi] (two numbers)",
                            what);
    ns_status st = ns_yaml_number(y, fy_node_sequence_get_by_index(r, 0), &is->lo, err);
    if (!st)
        st = ns_yaml_number(y, fy_node_sequence_get_by_index(r, 1), &is->hi, err);
    if (st)
        return st;
    if (is->lo >= is->hi)
        return ns_yaml_fail(y, r, err, "%s: range [%g, %g]: expected lo < hi", what,
                            is->lo, is->hi);
    if (is->type == NS_ISSUE_INTEGER &&
        (is->lo != floor(is->lo) || is->hi != floor(is->hi)))
        return ns_yaml_fail(y, r, err, "%s: range of an integer issue must be whole "
                            "numbers", what);
    return NS_OK;
}

static ns_status read_step(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                           const char *what, ns_error *err)
{
    is->step = is->type == NS_ISSUE_INTEGER ? 1.0 : (is->hi - is->lo) / 1000.0;
    ns_status st = ns_yaml_get_number(y, inode, "step", 0, what, &is->step, err);
    if (st)
        return st;
    struct fy_node *n = ns_yaml_get(inode, "step");
    if (is->step <= 0)
        return ns_yaml_fail(y, n, err, "%s: step must be > 0, found %g", what, is->step);
    if (is->type == NS_ISSUE_INTEGER && is->step != floor(is->step))
        return ns_yaml_fail(y, n, err, "%s: step of an integer issue must be a whole "
                            "number, found %g", what, is->step);
    if (is->step > is->hi - is->lo)
        return ns_yaml_fail(y, n, err, "%s: step %g is larger than the range %g..%g",
                            what, is->step, is->lo, is->hi);
    return NS_OK;
}

static ns_status read_decimals(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                               const char *what, ns_error *err)
{
    long long d = 0;
    ns_status st = ns_yaml_get_integer(y, inode, "decimals", 0, what, &d, err);
    if (st)
        return st;
    if (d < 0 || d > MAX_DECIMALS)
        return ns_yaml_fail(y, ns_yaml_get(inode, "decimals"), err,
                            "%s: decimals must be 0..%d, found %lld", what,
                            MAX_DECIMALS, d);
    is->decimals = (int)d;
    return NS_OK;
}

static ns_status read_prefer(const ns_yaml *y, struct fy_node *snode,
                             ns_issue_side *s, const char *what, ns_error *err)
{
    const char *p = NULL;
    ns_status st = ns_yaml_get_string(y, snode, "prefer", 1, what, &p, err);
    if (st)
        return st;
    if (strcmp(p, "lower") && strcmp(p, "higher"))
        return ns_yaml_fail(y, ns_yaml_get(snode, "prefer"), err,
                            "%s: prefer must be 'lower' or 'higher', found '%s'", what,
                            p);
    s->prefer_higher = strcmp(p, "higher") == 0;
    return NS_OK;
}

static ns_status read_in_range(const ns_yaml *y, struct fy_node *snode,
                               const char *key, const ns_issue *is, double *out,
                               const char *what, ns_error *err)
{
    ns_status st = ns_yaml_get_number(y, snode, key, 1, what, out, err);
    if (st)
        return st;
    if (*out < is->lo || *out > is->hi)
        return ns_yaml_fail(y, ns_yaml_get(snode, key), err,
                            "%s: %s %g is outside the range [%g, %g]", what, key,
                            *out, is->lo, is->hi);
    return NS_OK;
}

/* A target that is not strictly better than the reservation leaves the
 * side with no room between "ideal" and "walk away": the utility would be
 * undefined or inverted. */
static ns_status check_target_side(const ns_yaml *y, struct fy_node *snode,
                                   const ns_issue_side *s, const char *what,
                                   ns_error *err)
{
    int ok = s->prefer_higher ? s->target > s->reservation : s->target < s->reservation;
    if (ok)
        return NS_OK;
    return ns_yaml_fail(y, ns_yaml_get(snode, "target"), err,
                        "%s: target %g must be %s the reservation %g because the side "
                        "prefers %s values (these reservation values make no sense)",
                        what, s->target, s->prefer_higher ? "above" : "below",
                        s->reservation, s->prefer_higher ? "higher" : "lower");
}

static ns_status read_numeric_side(const ns_yaml *y, struct fy_node *snode,
                                   const ns_issue *is, ns_issue_side *s,
                                   const char *what, ns_error *err)
{
    static const char *const keys[] = {"weight", "prefer", "target", "reservation", NULL};
    ns_status st = ns_yaml_check_keys(y, snode, keys, what, err);
    if (!st)
        st = read_prefer(y, snode, s, what, err);
    if (!st)
        st = read_in_range(y, snode, "target", is, &s->target, what, err);
    if (!st)
        st = read_in_range(y, snode, "reservation", is, &s->reservation, what, err);
    if (!st)
        st = check_target_side(y, snode, s, what, err);
    return st;
}

/* ------------------------------------------------------------------ */
/* discrete issues                                                      */

static int option_index_by_name(const ns_issue *is, const char *name)
{
    for (int k = 0; k < is->n_options; k++)
        if (strcmp(is->options[k], name) == 0)
            return k;
    return -1;
}

static ns_status read_options(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                              const char *what, ns_error *err)
{
    struct fy_node *list = ns_yaml_get(inode, "options");
    if (!list)
        return ns_yaml_fail(y, inode, err, "missing key 'options' in %s", what);
    ns_status st = ns_yaml_expect_seq(y, list, "options", err);
    if (st)
        return st;
    int n = fy_node_sequence_item_count(list);
    if (n > NS_MAX_OPTIONS) /* point at the first option too many */
        return ns_yaml_fail(y, fy_node_sequence_get_by_index(list, NS_MAX_OPTIONS), err,
                            "%s: too many options (%d): at most %d are allowed", what,
                            n, NS_MAX_OPTIONS);
    if (n < 2)
        return ns_yaml_fail(y, list, err, "%s: expected 2 to %d options, found %d",
                            what, NS_MAX_OPTIONS, n);
    void *it = NULL;
    struct fy_node *o;
    while ((o = ns_yaml_seq_next(list, &it)) != NULL) {
        const char *s;
        if ((st = ns_yaml_string(y, o, &s, err)))
            return st;
        if (!*s || strlen(s) >= NS_NAME_LEN)
            return ns_yaml_fail(y, o, err, "%s: option names must be 1 to %d characters",
                                what, NS_NAME_LEN - 1);
        if (option_index_by_name(is, s) >= 0)
            return ns_yaml_fail(y, o, err, "%s: option '%s' is listed twice", what, s);
        memcpy(is->options[is->n_options++], s, strlen(s) + 1);
    }
    is->lo = 0;
    is->hi = is->n_options - 1;
    is->step = 1;
    return NS_OK;
}

/* Reads the side's ranking into order[] (option indices, best first),
 * insisting on a permutation of the options. */
static ns_status read_ranking(const ns_yaml *y, struct fy_node *snode,
                              const ns_issue *is, int order[NS_MAX_OPTIONS],
                              const char *what, ns_error *err)
{
    struct fy_node *list = ns_yaml_get(snode, "ranking");
    if (!list)
        return ns_yaml_fail(y, snode, err, "missing key 'ranking' in %s", what);
    ns_status st = ns_yaml_expect_seq(y, list, "ranking", err);
    if (st)
        return st;
    int seen[NS_MAX_OPTIONS] = {0}, n = 0;
    void *it = NULL;
    struct fy_node *o;
    while ((o = ns_yaml_seq_next(list, &it)) != NULL) {
        const char *s;
        if ((st = ns_yaml_string(y, o, &s, err)))
            return st;
        int k = option_index_by_name(is, s);
        if (k < 0)
            return ns_yaml_fail(y, o, err, "%s: ranking names unknown option '%s'",
                                what, s);
        if (seen[k]++)
            return ns_yaml_fail(y, o, err, "%s: ranking lists option '%s' twice",
                                what, s);
        order[n++] = k;
    }
    for (int k = 0; k < is->n_options; k++)
        if (!seen[k])
            return ns_yaml_fail(y, list, err, "%s: ranking is missing option '%s' "
                                "(it must list every option once, best first)",
                                what, is->options[k]);
    return NS_OK;
}

/* Utility by rank: the best option 1, the reservation 0, evenly spaced
 * between, and -1 (unacceptable) below the reservation. */
static void set_option_utilities(ns_issue_side *s, const int order[], int n, int res_pos)
{
    for (int p = 0; p < n; p++) {
        double u = -1.0;
        if (p <= res_pos)
            u = res_pos == 0 ? 1.0 : (double)(res_pos - p) / res_pos;
        s->option_utility[order[p]] = u;
    }
}

static ns_status read_discrete_side(const ns_yaml *y, struct fy_node *snode,
                                    const ns_issue *is, ns_issue_side *s,
                                    const char *what, ns_error *err)
{
    static const char *const keys[] = {"weight", "ranking", "reservation", NULL};
    int order[NS_MAX_OPTIONS];
    const char *res = NULL;
    ns_status st = ns_yaml_check_keys(y, snode, keys, what, err);
    if (!st)
        st = read_ranking(y, snode, is, order, what, err);
    if (!st)
        st = ns_yaml_get_string(y, snode, "reservation", 1, what, &res, err);
    if (st)
        return st;
    int r = option_index_by_name(is, res);
    if (r < 0)
        return ns_yaml_fail(y, ns_yaml_get(snode, "reservation"), err,
                            "%s: reservation '%s' is not one of the options", what, res);
    int res_pos = 0;
    while (order[res_pos] != r)
        res_pos++;
    s->target = order[0];
    s->reservation = r;
    s->prefer_higher = 0;
    set_option_utilities(s, order, is->n_options, res_pos);
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* one issue                                                            */

static ns_status read_type(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                           const char *what, ns_error *err)
{
    const char *t = NULL;
    ns_status st = ns_yaml_get_string(y, inode, "type", 1, what, &t, err);
    if (st)
        return st;
    for (int k = 0; k < 3; k++)
        if (strcmp(t, type_names[k]) == 0) {
            is->type = (ns_issue_type)k;
            return NS_OK;
        }
    return ns_yaml_fail(
        y, ns_yaml_get(inode, "type"), err,
        "%s: unknown type '%s' (expected continuous, integer or discrete)", what, t);
}

static ns_status read_weight(const ns_yaml *y, struct fy_node *snode,
                             ns_issue_side *s, const char *what, ns_error *err)
{
    s->weight = 1.0;
    ns_status st = ns_yaml_get_number(y, snode, "weight", 0, what, &s->weight, err);
    if (st)
        return st;
    if (s->weight < 0)
        return ns_yaml_fail(y, ns_yaml_get(snode, "weight"), err,
                            "%s: weight must be >= 0, found %g", what, s->weight);
    return NS_OK;
}

static ns_status read_sides(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                            ns_error *err)
{
    for (int side = 0; side < 2; side++) {
        char what[NS_NAME_LEN + 40];
        snprintf(what, sizeof what, "issue '%s', %s", is->name, ns_side_names[side]);
        struct fy_node *snode = ns_yaml_get(inode, ns_side_names[side]);
        if (!snode)
            return ns_yaml_fail(y, inode, err, "missing key '%s' in issue '%s'",
                                ns_side_names[side], is->name);
        ns_status st = ns_yaml_expect_map(y, snode, what, err);
        if (!st)
            st = read_weight(y, snode, &is->side[side], what, err);
        if (!st)
            st = is->type == NS_ISSUE_DISCRETE
                     ? read_discrete_side(y, snode, is, &is->side[side], what, err)
                     : read_numeric_side(y, snode, is, &is->side[side], what, err);
        if (st)
            return st;
    }
    return NS_OK;
}

static ns_status read_phrase(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                             const char *what, ns_error *err)
{
    const char *def = is->type == NS_ISSUE_DISCRETE || !is->unit[0] ? "{value}"
                                                                      : "{value} {unit}";
    memcpy(is->phrase, def, strlen(def) + 1);
    ns_status st = read_text(y, inode, "phrase", 0, what, is->phrase,
                             sizeof is->phrase, err);
    if (st)
        return st;
    if (!strstr(is->phrase, "{value}"))
        return ns_yaml_fail(y, ns_yaml_get(inode, "phrase"), err,
                            "%s: phrase must contain {value}", what);
    return NS_OK;
}

static ns_status read_issue(const ns_yaml *y, struct fy_node *inode, ns_issue *is,
                            ns_error *err)
{
    static const char *const numeric_keys[] = {"name", "unit", "type", "range", "step",
        "decimals", "phrase", "buyer", "seller", NULL};
    static const char *const discrete_keys[] = {"name", "unit", "type", "options",
        "phrase", "buyer", "seller", NULL};
    ns_status st = ns_yaml_expect_map(y, inode, "issue", err);
    if (!st)
        st = read_identifier(y, inode, "issue", is->name, err);
    if (st)
        return st;
    char what[NS_NAME_LEN + 16];
    snprintf(what, sizeof what, "issue '%s'", is->name);
    if ((st = read_type(y, inode, is, what, err)))
        return st;
    int discrete = is->type == NS_ISSUE_DISCRETE;
    st = ns_yaml_check_keys(y, inode, discrete ? discrete_keys : numeric_keys, what, err);
    if (!st)
        st = read_text(y, inode, "unit", 0, what, is->unit, sizeof is->unit, err);
    if (!st && discrete)
        st = read_options(y, inode, is, what, err);
    if (!st && !discrete)
        st = read_range(y, inode, is, what, err);
    if (!st && !discrete)
        st = read_step(y, inode, is, what, err);
    if (!st && !discrete)
        st = read_decimals(y, inode, is, what, err);
    if (!st)
        st = read_phrase(y, inode, is, what, err);
    if (!st)
        st = read_sides(y, inode, is, err);
    return st;
}

static ns_status read_issues(const ns_yaml *y, struct fy_node *root, ns_scenario *sc,
                             ns_error *err)
{
    struct fy_node *list = ns_yaml_get(root, "issues");
    if (!list)
        return ns_yaml_fail(y, root, err, "missing key 'issues' in scenario");
    ns_status st = ns_yaml_expect_seq(y, list, "issues", err);
    if (st)
        return st;
    int n = fy_node_sequence_item_count(list);
    if (n > NS_MAX_ISSUES) /* point at the first issue too many */
        return ns_yaml_fail(y, fy_node_sequence_get_by_index(list, NS_MAX_ISSUES), err,
                            "too many issues (%d): at most %d are allowed", n,
                            NS_MAX_ISSUES);
    if (n < 1)
        return ns_yaml_fail(y, list, err, "issues: the list is empty; expected 1 to %d "
                            "issues", NS_MAX_ISSUES);
    void *it = NULL;
    struct fy_node *inode;
    while ((inode = ns_yaml_seq_next(list, &it)) != NULL) {
        ns_issue *is = &sc->issue[sc->n_issues];
        if ((st = read_issue(y, inode, is, err)))
            return st;
        if (ns_scenario_issue_index(sc, is->name) >= 0)
            return ns_yaml_fail(y, ns_yaml_get(inode, "name"), err,
                                "duplicate issue name '%s' (issue names must be unique)",
                                is->name);
        sc->n_issues++;
    }
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* whole-scenario checks                                                */

static ns_status normalise_weights(const ns_yaml *y, struct fy_node *root,
                                   ns_scenario *sc, ns_error *err)
{
    for (int side = 0; side < 2; side++) {
        double sum = 0;
        for (int i = 0; i < sc->n_issues; i++)
            sum += sc->issue[i].side[side].weight;
        if (!(sum > 0))
            return ns_yaml_fail(y, ns_yaml_get(root, "issues"), err,
                                "the %s's weights are all 0: at least one issue must "
                                "have a positive %s weight", ns_side_names[side],
                                ns_side_names[side]);
        for (int i = 0; i < sc->n_issues; i++)
            sc->issue[i].side[side].weight /= sum;
    }
    return NS_OK;
}

static int issue_top_k(const ns_issue *is)
{
    return (int)floor((is->hi - is->lo) / is->step + GRID_TOL);
}

/* Why a continuous/integer issue has no value acceptable to both, written
 * into note; 0 when it has one. The interval test mirrors the point
 * generation in ns_frontier.c. */
static int numeric_zopa_note(const ns_issue *is, char *note, size_t size)
{
    const ns_issue_side *b = &is->side[NS_BUYER], *s = &is->side[NS_SELLER];
    double zlo = is->lo, zhi = is->hi;
    for (int side = 0; side < 2; side++) {
        const ns_issue_side *p = &is->side[side];
        if (p->prefer_higher)
            zlo = fmax(zlo, p->reservation);
        else
            zhi = fmin(zhi, p->reservation);
    }
    double tol = GRID_TOL * (is->hi - is->lo);
    const char *sp = is->unit[0] ? " " : "";
    if (zlo > zhi + tol) {
        snprintf(
            note, size, "%s: buyer accepts %s %.*f%s%s but seller accepts %s %.*f%s%s",
            is->name, b->prefer_higher ? "no less than" : "at most", is->decimals,
            b->reservation, sp, is->unit, s->prefer_higher ? "no less than" : "at most",
            is->decimals, s->reservation, sp, is->unit);
        return 1;
    }
    double kmin = ceil((zlo - is->lo) / is->step - GRID_TOL);
    double kmax = fmin(floor((zhi - is->lo) / is->step + GRID_TOL), issue_top_k(is));
    if (kmin > kmax) {
        snprintf(note, size, "%s: the values acceptable to both (%.*f to %.*f%s%s) "
                 "contain no multiple of the step %g", is->name, is->decimals, zlo,
                 is->decimals, zhi, sp, is->unit, is->step);
        return 1;
    }
    return 0;
}

static int discrete_zopa_note(const ns_issue *is, char *note, size_t size)
{
    for (int k = 0; k < is->n_options; k++)
        if (is->side[0].option_utility[k] >= 0 && is->side[1].option_utility[k] >= 0)
            return 0;
    snprintf(note, size, "%s: no option is acceptable to both (buyer accepts nothing "
             "worse than %s, seller nothing worse than %s)", is->name,
             is->options[(int)is->side[0].reservation],
             is->options[(int)is->side[1].reservation]);
    return 1;
}

/* The ZOPA is a product of per-issue sets, so it is empty exactly when one
 * issue has no value acceptable to both; the note names the first. */
static void check_zopa(ns_scenario *sc)
{
    int empty = 0;
    for (int i = 0; i < sc->n_issues; i++) {
        const ns_issue *is = &sc->issue[i];
        char note[sizeof sc->zopa_note];
        int e = is->type == NS_ISSUE_DISCRETE ? discrete_zopa_note(is, note, sizeof note)
                                              : numeric_zopa_note(is, note, sizeof note);
        if (e && !empty++)
            memcpy(sc->zopa_note, note, sizeof note);
    }
    if (empty > 1) {
        size_t len = strlen(sc->zopa_note);
        snprintf(sc->zopa_note + len, sizeof sc->zopa_note - len,
                 " (and %d more issue%s)", empty - 1, empty > 2 ? "s" : "");
    }
    sc->zopa_empty = empty > 0;
}

static ns_status read_header(const ns_yaml *y, struct fy_node *root, ns_scenario *sc,
                             ns_error *err)
{
    static const char *const keys[] = {"name", "title", "product", "context",
        "resolution", "issues", NULL};
    ns_status st = ns_yaml_expect_map(y, root, "scenario", err);
    if (!st)
        st = ns_yaml_check_keys(y, root, keys, "scenario", err);
    if (!st)
        st = read_identifier(y, root, "scenario", sc->name, err);
    if (st)
        return st;
    memcpy(sc->title, sc->name, sizeof sc->name);
    memcpy(sc->product, sc->name, sizeof sc->name);
    st = read_text(y, root, "title", 0, "scenario", sc->title, sizeof sc->title, err);
    if (!st)
        st = read_text(y, root, "product", 0, "scenario", sc->product,
                       sizeof sc->product, err);
    const char *context = "";
    if (!st)
        st = ns_yaml_get_string(y, root, "context", 0, "scenario", &context, err);
    if (st)
        return st;
    sc->context = ns_xstrdup(context);
    long long res = DEFAULT_RESOLUTION;
    if ((st = ns_yaml_get_integer(y, root, "resolution", 0, "scenario", &res, err)))
        return st;
    if (res < 2 || res > MAX_RESOLUTION)
        return ns_yaml_fail(y, ns_yaml_get(root, "resolution"), err,
                            "resolution must be 2..%d, found %lld", MAX_RESOLUTION, res);
    sc->resolution = (int)res;
    return NS_OK;
}

/* Everything but `source` and `path`, which depend on where the mapping
 * came from. */
static ns_status build(const ns_yaml *y, struct fy_node *root, ns_scenario **out,
                       ns_error *err)
{
    ns_scenario *sc = ns_xcalloc(1, sizeof *sc);
    ns_status st = read_header(y, root, sc, err);
    if (!st)
        st = read_issues(y, root, sc, err);
    if (!st)
        st = normalise_weights(y, root, sc, err);
    if (!st) {
        check_zopa(sc);
        ns_scenario_compile(sc);
        st = ns_frontier_compute(sc, sc->resolution, &sc->frontier, err);
        if (st && err) { /* the frontier knows no file: locate its complaint */
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            st = ns_yaml_fail(y, ns_yaml_get(root, "resolution"), err, "%.900s", msg);
        }
    }
    if (st) {
        ns_scenario_free(sc);
        return st;
    }
    *out = sc;
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* compiled message templates (what ns_message.c renders)               */

/* Literal bytes of a compiled phrase; the sizes of NS_PHRASE_TEXT make
 * room for the worst case, all "{unit}"s. */
static void text_put(ns_issue *is, int *used, const char *s, size_t n)
{
    memcpy(is->text + *used, s, n);
    *used += (int)n;
}

/* The phrase as pieces of text between its {value}s. This is the scan the
 * renderer used to do for each message: {unit} becomes the unit, or with
 * no unit drops the blank written just before it within the fragment (if
 * any); any other brace is copied as it is. A blank to drop is known here
 * unless it would be the last byte of a value. */
static void compile_phrase(ns_issue *is)
{
    static const char def[NS_PHRASE_LEN] = "{value} {unit}";
    const char *p = is->phrase[0] ? is->phrase : def;
    const char *end = p + strnlen(p, NS_PHRASE_LEN);
    size_t unit_len = strnlen(is->unit, sizeof is->unit);
    int used = 0, k = 0;
    memset(is->text, 0, sizeof is->text);
    memset(is->drops, 0, sizeof is->drops);
    is->piece_off[0] = 0;
    while (p < end) {
        if (end - p >= 7 && memcmp(p, "{value}", 7) == 0) {
            is->piece_len[k] = (unsigned short)(used - is->piece_off[k]);
            is->piece_off[++k] = (unsigned short)used;
            p += 7;
        } else if (end - p >= 6 && memcmp(p, "{unit}", 6) == 0) {
            if (unit_len)
                text_put(is, &used, is->unit, unit_len);
            else if (used > is->piece_off[k]) /* the blank is literal text */
                used -= is->text[used - 1] == ' ';
            else if (k > 0) /* it could be the value's */
                is->drops[k - 1]++;
            p += 6;
        } else {
            text_put(is, &used, p, 1);
            p++;
        }
    }
    is->piece_len[k] = (unsigned short)(used - is->piece_off[k]);
    is->n_values = k;
    memset(is->text + used, 0, sizeof is->text - (size_t)used); /* dropped blanks */
    for (int o = 0; o < NS_MAX_OPTIONS; o++)
        is->option_len[o] = (unsigned char)strnlen(is->options[o], NS_NAME_LEN);
}

/* Offer bodies: see body_plain in ns_scenario.h. */
static void compile_body(ns_scenario *sc)
{
    int n = sc->n_issues, used = 0;
    memset(sc->body, 0, sizeof sc->body);
    sc->body_plain = 0;
    for (int i = 0; i < n; i++)
        if (sc->issue[i].n_values != 1 || sc->issue[i].drops[0])
            return;
    for (int k = 0; k <= n; k++) {
        sc->body_off[k] = (unsigned short)used;
        if (k > 0) { /* the tail of phrase k-1 */
            const ns_issue *is = &sc->issue[k - 1];
            memcpy(sc->body + used, is->text + is->piece_off[1], is->piece_len[1]);
            used += is->piece_len[1];
        }
        if (k > 0 && k < n) { /* the separator */
            const char *sep = k == n - 1 ? " and " : ", ";
            memcpy(sc->body + used, sep, strlen(sep));
            used += (int)strlen(sep);
        }
        if (k < n) { /* the head of phrase k */
            const ns_issue *is = &sc->issue[k];
            memcpy(sc->body + used, is->text + is->piece_off[0], is->piece_len[0]);
            used += is->piece_len[0];
        }
        sc->body_len[k] = (unsigned short)(used - sc->body_off[k]);
    }
    sc->body_plain = n > 0;
}

void ns_scenario_compile(ns_scenario *sc)
{
    for (int i = 0; i < sc->n_issues; i++) {
        ns_issue *is = &sc->issue[i];
        compile_phrase(is);
        /* the same operations as before, once: the same bits */
        is->top_k = floor((is->hi - is->lo) / is->step + GRID_TOL);
        for (int side = 0; side < 2; side++)
            is->side[side].span = is->side[side].target - is->side[side].reservation;
    }
    compile_body(sc);
}

static void set_path(ns_scenario *sc, const char *path)
{
    snprintf(sc->path, sizeof sc->path, "%s", path);
}

ns_status ns_scenario_load_file(const char *path, ns_scenario **out, ns_error *err)
{
    ns_yaml *y = NULL;
    ns_status st = ns_yaml_load_file(path, &y, err);
    if (st)
        return st;
    st = build(y, ns_yaml_root(y), out, err);
    if (!st) {
        (*out)->source = ns_xstrdup(ns_yaml_text(y));
        set_path(*out, path);
    }
    ns_yaml_free(y);
    return st;
}

ns_status ns_scenario_from_node(const ns_yaml *y, struct fy_node *node,
                                ns_scenario **out, ns_error *err)
{
    ns_status st = build(y, node, out, err);
    if (st)
        return st;
    /* The node's own YAML, re-emitted in block style, so a results file
     * records exactly the scenario that ran and not the whole spec. */
    char *text = fy_emit_node_to_string(node, FYECF_MODE_BLOCK | FYECF_WIDTH_INF);
    if (!text) {
        ns_scenario_free(*out);
        *out = NULL;
        return ns_fail(err, NS_ERR_NOMEM, "libfyaml: cannot emit scenario '%s'",
                       ns_yaml_path(y));
    }
    size_t len = strlen(text);
    char *src = ns_xmalloc(len + 2);
    memcpy(src, text, len);
    if (len == 0 || text[len - 1] != '\n') /* end with a newline, as files do */
        src[len++] = '\n';
    src[len] = '\0';
    free(text);
    (*out)->source = src;
    set_path(*out, ns_yaml_path(y));
    return NS_OK;
}

void ns_scenario_free(ns_scenario *sc)
{
    if (!sc)
        return;
    ns_frontier_free(sc->frontier);
    free(sc->context);
    free(sc->source);
    free(sc);
}

int ns_scenario_issue_index(const ns_scenario *sc, const char *name)
{
    for (int i = 0; i < sc->n_issues; i++)
        if (strcmp(sc->issue[i].name, name) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------ */
/* utilities: the engine's hot path (no allocation, no strings)         */

/* Option index of a discrete value; out-of-range and NaN clamp. */
static inline int option_of(const ns_issue *is, double v)
{
    if (!(v > 0))
        return 0;
    int k = (int)(v + 0.5);
    return k < is->n_options ? k : is->n_options - 1;
}

/* fmax(x, 0.0) and fmin(x, y) for x not NaN, spelt out so that they
 * compile to a compare instead of a call into libm on every offer. They
 * give exactly what glibc's do (x86-64 maxsd/minsd: on equal operands,
 * the second; a NaN operand yields the other one), signed zeros
 * included, so no result changes in the last bit. (Branches, not the
 * min/max instructions: those lengthen the dependency chain of a move,
 * and measured slower.) */
static inline double fmax0(double x) { return x > 0.0 ? x : 0.0; }
static inline double fmin_notnan(double x, double y) { return x < y || y != y ? x : y; }

static inline double grid_value(const ns_issue *is, double k)
{
    k = fmin_notnan(fmax0(k), is->top_k); /* fmax0 also turns NaN into 0 */
    return is->lo + k * is->step;
}

double ns_issue_utility(const ns_issue *is, int side, double v)
{
    const ns_issue_side *s = &is->side[side];
    if (is->type == NS_ISSUE_DISCRETE) {
        double u = s->option_utility[option_of(is, v)];
        return u < 0 ? 0 : u;
    }
    double u = (v - s->reservation) / s->span;
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

int ns_issue_acceptable(const ns_issue *is, int side, double v)
{
    const ns_issue_side *s = &is->side[side];
    if (is->type == NS_ISSUE_DISCRETE)
        return v > -0.5 && v < is->n_options - 0.5 &&
               s->option_utility[option_of(is, v)] >= 0;
    double tol = GRID_TOL * (is->hi - is->lo);
    if (!(v >= is->lo - tol && v <= is->hi + tol))
        return 0;
    return s->prefer_higher ? v >= s->reservation - tol : v <= s->reservation + tol;
}

/* The acceptable option with the smallest utility not below u; the target
 * (utility 1) always qualifies, so there is an answer. */
static double discrete_for_utility(const ns_issue *is, const ns_issue_side *s, double u)
{
    int best = (int)s->target;
    double best_u = 2.0;
    for (int k = 0; k < is->n_options; k++) {
        double ok = s->option_utility[k];
        if (ok >= 0 && ok >= u - 1e-12 && ok < best_u) {
            best = k;
            best_u = ok;
        }
    }
    return best;
}

double ns_issue_value_for_utility(const ns_issue *is, int side, double u)
{
    const ns_issue_side *s = &is->side[side];
    u = u > 0 ? (u < 1 ? u : 1) : 0; /* NaN counts as 0 */
    if (is->type == NS_ISSUE_DISCRETE)
        return discrete_for_utility(is, s, u);
    double x = s->reservation + u * s->span;
    double q = (x - is->lo) / is->step;
    /* Round toward the side's favour so its utility does not fall below u;
     * the tolerance keeps a value already on the grid where it is. */
    double k = s->prefer_higher ? ceil(q - GRID_TOL) : floor(q + GRID_TOL);
    return grid_value(is, k);
}

/* nearbyint(x) in the default rounding mode (to nearest, ties to even),
 * inline instead of a call into libm for every issue of every offer:
 * adding and taking away 2^52 leaves |x| rounded to an integer by the
 * addition itself, and the sign goes back on (so -0.3 gives -0, as
 * nearbyint does). From 2^52 on, and for NaN, x is returned as it is,
 * as nearbyint returns it (any NaN becomes 0 in grid_value anyway). */
static inline double round_even(double x)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    double a = fabs(x);
    if (!(a < 0x1p52))
        return x;
    return copysign((a + 0x1p52) - 0x1p52, x);
#else
    return nearbyint(x);
#endif
}

double ns_issue_snap(const ns_issue *is, double v)
{
    if (is->type == NS_ISSUE_DISCRETE)
        return option_of(is, v);
    return grid_value(is, round_even((v - is->lo) / is->step));
}

double ns_issue_extreme(const ns_issue *is, int side)
{
    const ns_issue_side *s = &is->side[side];
    if (is->type == NS_ISSUE_DISCRETE)
        return s->target;
    return s->prefer_higher ? grid_value(is, HUGE_VAL) : is->lo;
}

double ns_scenario_utility(const ns_scenario *sc, int side, const double *v)
{
    double u = 0;
    for (int i = 0; i < sc->n_issues; i++)
        u += sc->issue[i].side[side].weight * ns_issue_utility(&sc->issue[i], side, v[i]);
    return u;
}

int ns_scenario_acceptable(const ns_scenario *sc, int side, const double *v)
{
    for (int i = 0; i < sc->n_issues; i++)
        if (!ns_issue_acceptable(&sc->issue[i], side, v[i]))
            return 0;
    return 1;
}
