/*
 * ns_reply.c - schemas for, and tolerant readers of, the structured
 * answers of LLM negotiators and judges.
 *
 * Finding the JSON: models wrap their object in ```json fences, put a
 * sentence before or after it, or (rarely) nest it. Rather than strip
 * fences by hand, ns_reply_extract() lets jansson try to read one value at
 * each '{' in turn (JSON_DISABLE_EOF_CHECK: whatever follows the object is
 * ignored) and keeps the first object carrying the key the caller expects.
 * If the first '{' starts an object that does not parse and no candidate
 * has the key, the reply is called invalid JSON rather than read from
 * some inner fragment (a broken move's "offer" object, say).
 *
 * Validation collects every problem, not just the first, and words each
 * so that the model can fix it in one repair request: "offer.price =
 * 31000 is above the maximum 16000", "missing issue 'warranty'".
 *
 * Normalisation of offer values: a value more than 1e-9 of the issue's
 * range outside [lo, hi] is invalid; one inside that tolerance is
 * clamped; then every value is snapped to the issue's grid with
 * ns_issue_snap (the same rounding the built-in agents get).
 */
#include "ns_reply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RANGE_TOL 1e-9 /* of the issue's range, as in ns_scenario.c */

static const char *const move_actions[3] = {"offer", "accept", "walk_away"};
static const char *const judge_scores[2] = {"influencing_effectiveness_score",
                                            "tactic_effectiveness_score"};

/* ------------------------------------------------------------------ */
/* problem list                                                       */

typedef struct problems {
    char *buf;
    size_t size, len;
    int n;
    char local[8]; /* stands in when the caller gave no buffer */
} problems;

static void problems_init(problems *p, char *buf, size_t size)
{
    p->buf = buf && size ? buf : p->local;
    p->size = buf && size ? size : sizeof p->local;
    p->len = 0;
    p->n = 0;
    p->buf[0] = '\0';
}

static void add_problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_problem(problems *p, const char *fmt, ...)
{
    if (p->n++ > 0 && p->len < p->size - 1) {
        int k = snprintf(p->buf + p->len, p->size - p->len, "; ");
        p->len += (size_t)k < p->size - p->len ? (size_t)k : p->size - 1 - p->len;
    }
    if (p->len >= p->size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->buf + p->len, p->size - p->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        p->len += (size_t)k < p->size - p->len ? (size_t)k : p->size - 1 - p->len;
}

/* "a, b, c" into buf. */
static void join_names(char *buf, size_t size, const char *const *names, int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size - 1; i++) {
        int k = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", names[i]);
        if (k < 0)
            break;
        len += (size_t)k < size - len ? (size_t)k : size - 1 - len;
    }
}

static void issue_names(const ns_scenario *sc, char *buf, size_t size)
{
    const char *names[NS_MAX_ISSUES];
    for (int i = 0; i < sc->n_issues; i++)
        names[i] = sc->issue[i].name;
    join_names(buf, size, names, sc->n_issues);
}

static void option_names(const ns_issue *is, char *buf, size_t size)
{
    const char *names[NS_MAX_OPTIONS];
    for (int k = 0; k < is->n_options; k++)
        names[k] = is->options[k];
    join_names(buf, size, names, is->n_options);
}

/* A short rendering of any JSON value for a problem text. */
static void show_value(const json_t *v, char *buf, size_t size)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    snprintf(buf, size, "%.60s%s", s ? s : "?", s && strlen(s) > 60 ? "..." : "");
    free(s);
}

/* ------------------------------------------------------------------ */
/* schemas                                                            */

static json_t *issue_schema(const ns_issue *is)
{
    if (is->type == NS_ISSUE_DISCRETE) {
        json_t *opts = json_array();
        for (int k = 0; k < is->n_options; k++)
            json_array_append_new(opts, json_string(is->options[k]));
        return json_pack("{s:s, s:o}", "type", "string", "enum", opts);
    }
    char desc[160];
    snprintf(desc, sizeof desc, "%s%sfrom %.10g to %.10g in steps of %.10g", is->unit,
             is->unit[0] ? ", " : "", is->lo, is->hi, is->step);
    if (is->type == NS_ISSUE_INTEGER)
        return json_pack("{s:s, s:I, s:I, s:s}", "type", "integer", "minimum",
                         (json_int_t)llround(is->lo), "maximum", (json_int_t)llround(is->hi),
                         "description", desc);
    return json_pack("{s:s, s:f, s:f, s:s}", "type", "number", "minimum", is->lo, "maximum",
                     is->hi, "description", desc);
}

json_t *ns_reply_move_schema(const ns_scenario *sc)
{
    json_t *props = json_object(), *req = json_array();
    for (int i = 0; i < sc->n_issues; i++) {
        json_object_set_new(props, sc->issue[i].name, issue_schema(&sc->issue[i]));
        json_array_append_new(req, json_string(sc->issue[i].name));
    }
    return json_pack(
        "{s:s, s:{s:{s:s}, s:{s:s, s:[sss]}, s:{s:s, s:o, s:o, s:b}}, s:[sss], s:b}",
        "type", "object", "properties",
        "message", "type", "string",
        "action", "type", "string", "enum", move_actions[0], move_actions[1], move_actions[2],
        "offer", "type", "object", "properties", props, "required", req,
        "additionalProperties", 0,
        "required", "message", "action", "offer", "additionalProperties", 0);
}

static json_t *judge_side_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:i, s:i}, s:{s:s, s:i, s:i}}, s:[sss], s:b}",
                     "type", "object", "properties",
                     "tactical_summary", "type", "string",
                     judge_scores[0], "type", "integer", "minimum", 1, "maximum", 10,
                     judge_scores[1], "type", "integer", "minimum", 1, "maximum", 10,
                     "required", "tactical_summary", judge_scores[0], judge_scores[1],
                     "additionalProperties", 0);
}

json_t *ns_reply_judge_schema(void)
{
    return json_pack("{s:s, s:{s:o, s:o}, s:[ss], s:b}", "type", "object", "properties",
                     "buyer", judge_side_schema(), "seller", judge_side_schema(),
                     "required", "buyer", "seller", "additionalProperties", 0);
}

/* ------------------------------------------------------------------ */
/* finding the object                                                 */

json_t *ns_reply_extract(const char *text, const char *want, char *problem, size_t size)
{
    problems pr;
    problems_init(&pr, problem, size);
    if (!text) {
        add_problem(&pr, "reply is not a JSON object (it is empty)");
        return NULL;
    }
    size_t len = strlen(text);
    json_t *fallback = NULL;
    int first_failed = -1; /* -1: no '{' yet; 1: the first one did not parse */
    json_error_t first_err;
    memset(&first_err, 0, sizeof first_err);
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        json_error_t jerr;
        json_t *o = json_loadb(p, len - (size_t)(p - text), JSON_DISABLE_EOF_CHECK, &jerr);
        if (first_failed < 0) {
            first_failed = o == NULL;
            first_err = jerr;
        }
        if (!o)
            continue;
        if (!want || json_object_get(o, want)) {
            json_decref(fallback);
            return o;
        }
        if (!fallback)
            fallback = o;
        else
            json_decref(o);
    }
    if (fallback && first_failed == 0)
        return fallback;
    json_decref(fallback);
    if (first_failed == 1)
        add_problem(&pr, "reply is not valid JSON: %s (line %d, column %d of the object)",
                    first_err.text, first_err.line, first_err.column);
    else
        add_problem(&pr, "reply is not a JSON object");
    return NULL;
}

/* ------------------------------------------------------------------ */
/* moves                                                              */

/* Issue called `key`: exact name first, then ignoring case. */
static int find_issue(const ns_scenario *sc, const char *key)
{
    int i = ns_scenario_issue_index(sc, key);
    if (i >= 0)
        return i;
    for (i = 0; i < sc->n_issues; i++)
        if (strcasecmp(sc->issue[i].name, key) == 0)
            return i;
    return -1;
}

/* A number, or a string that is nothing but a number ("12000"). */
static int number_of(const json_t *v, double *x)
{
    if (json_is_number(v)) {
        *x = json_number_value(v);
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    char *end;
    double d = strtod(s, &end);
    if (end == s || !isfinite(d))
        return 0;
    while (*end == ' ')
        end++;
    if (*end)
        return 0;
    *x = d;
    return 1;
}

static int read_option(const ns_issue *is, const json_t *v, double *out)
{
    char num[32];
    const char *s = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_number(v)) {
        /* option names may be numbers ("30", "60") */
        snprintf(num, sizeof num, "%.15g", json_number_value(v));
        s = num;
    } else {
        return 0;
    }
    for (int k = 0; k < is->n_options; k++)
        if (strcmp(is->options[k], s) == 0) {
            *out = k;
            return 1;
        }
    for (int k = 0; k < is->n_options; k++)
        if (strcasecmp(is->options[k], s) == 0) {
            *out = k;
            return 1;
        }
    return 0;
}

/* Reads issue `is`'s value v into *out (snapped); adds a problem and
 * returns 0 when it is unusable. */
static int read_issue_value(const ns_issue *is, const json_t *v, double *out, problems *pr)
{
    char shown[80];
    if (is->type == NS_ISSUE_DISCRETE) {
        if (read_option(is, v, out))
            return 1;
        char opts[NS_MAX_OPTIONS * (NS_NAME_LEN + 2)];
        option_names(is, opts, sizeof opts);
        show_value(v, shown, sizeof shown);
        add_problem(pr, "offer.%s = %s is not one of the options: %s", is->name, shown, opts);
        return 0;
    }
    double x;
    if (!number_of(v, &x)) {
        show_value(v, shown, sizeof shown);
        add_problem(pr, "offer.%s must be a number, got %s", is->name, shown);
        return 0;
    }
    double tol = RANGE_TOL * (is->hi - is->lo);
    if (x < is->lo - tol) {
        add_problem(pr, "offer.%s = %.10g is below the minimum %.10g", is->name, x, is->lo);
        return 0;
    }
    if (x > is->hi + tol) {
        add_problem(pr, "offer.%s = %.10g is above the maximum %.10g", is->name, x, is->hi);
        return 0;
    }
    x = x < is->lo ? is->lo : x > is->hi ? is->hi : x;
    *out = ns_issue_snap(is, x);
    return 1;
}

static void read_offer(const ns_scenario *sc, const json_t *offer, double *value,
                       problems *pr)
{
    int seen[NS_MAX_ISSUES] = {0};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)offer, key, v) {
        int i = find_issue(sc, key);
        if (i < 0) {
            char names[NS_MAX_ISSUES * (NS_NAME_LEN + 2)];
            issue_names(sc, names, sizeof names);
            add_problem(pr, "unknown issue '%.64s'; the issues are: %s", key, names);
            continue;
        }
        if (seen[i]++) {
            add_problem(pr, "issue '%s' is given twice", sc->issue[i].name);
            continue;
        }
        read_issue_value(&sc->issue[i], v, &value[i], pr);
    }
    for (int i = 0; i < sc->n_issues; i++)
        if (!seen[i])
            add_problem(pr, "missing issue '%s'", sc->issue[i].name);
}

static int read_action(const json_t *v, ns_action *out)
{
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    for (int a = 0; a < 3; a++)
        if (strcasecmp(s, move_actions[a]) == 0) {
            *out = (ns_action)a;
            return 1;
        }
    if (strcasecmp(s, "walk") == 0 || strcasecmp(s, "walk away") == 0 ||
        strcasecmp(s, "walk-away") == 0) {
        *out = NS_ACT_WALK;
        return 1;
    }
    return 0;
}

ns_status ns_reply_parse_move(const ns_scenario *sc, const char *text, ns_move *mv,
                              char **message_out, char *problem, size_t problem_size)
{
    memset(mv, 0, sizeof *mv);
    if (message_out)
        *message_out = NULL;
    problems pr;
    problems_init(&pr, problem, problem_size);
    json_t *o = ns_reply_extract(text, "action", problem, problem_size);
    if (!o)
        return NS_ERR_INPUT;

    const json_t *msg = json_object_get(o, "message");
    if (!msg)
        add_problem(&pr, "missing field 'message'");
    else if (!json_is_string(msg))
        add_problem(&pr, "message must be a string");

    const json_t *act = json_object_get(o, "action");
    int have_action = 0;
    if (!act) {
        add_problem(&pr, "missing field 'action'; it must be one of offer, accept, walk_away");
    } else if (!(have_action = read_action(act, &mv->action))) {
        char shown[80];
        show_value(act, shown, sizeof shown);
        add_problem(&pr, "action must be one of offer, accept, walk_away (got %s)", shown);
    }

    if (have_action && mv->action == NS_ACT_OFFER) {
        const json_t *offer = json_object_get(o, "offer");
        if (!offer)
            add_problem(&pr, "missing field 'offer' (required when action is offer)");
        else if (!json_is_object(offer))
            add_problem(&pr, "offer must be a JSON object with one value per issue");
        else
            read_offer(sc, offer, mv->value, &pr);
    }

    if (pr.n > 0) {
        json_decref(o);
        memset(mv, 0, sizeof *mv);
        return NS_ERR_INPUT;
    }
    if (message_out) {
        *message_out = ns_xstrdup(json_string_value(msg));
        mv->text = *message_out;
    }
    json_decref(o);
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* judgements                                                         */

/* Copies a summary, never ending inside a UTF-8 sequence. */
static void copy_summary(char *dst, size_t size, const char *src, size_t n)
{
    size_t k = n < size - 1 ? n : size - 1;
    if (k < n)
        while (k > 0 && ((unsigned char)src[k] & 0xC0) == 0x80)
            k--;
    memcpy(dst, src, k);
    dst[k] = '\0';
}

static void read_score(const json_t *side, const char *side_name, const char *key, int *out,
                       problems *pr)
{
    const json_t *v = json_object_get(side, key);
    double x;
    if (!v) {
        add_problem(pr, "missing %s.%s", side_name, key);
        return;
    }
    if (!number_of(v, &x) || x != floor(x)) {
        char shown[80];
        show_value(v, shown, sizeof shown);
        add_problem(pr, "%s.%s must be a whole number from 1 to 10, got %s", side_name, key,
                    shown);
        return;
    }
    if (x < 1 || x > 10) {
        add_problem(pr, "%s.%s = %.10g is outside 1..10", side_name, key, x);
        return;
    }
    *out = (int)x;
}

ns_status ns_reply_parse_judgement(const char *text, ns_judgement *out, char *problem,
                                   size_t problem_size)
{
    memset(out, 0, sizeof *out);
    problems pr;
    problems_init(&pr, problem, problem_size);
    json_t *o = ns_reply_extract(text, "buyer", problem, problem_size);
    if (!o)
        return NS_ERR_INPUT;
    for (int s = 0; s < 2; s++) {
        const char *name = ns_side_names[s];
        const json_t *side = json_object_get(o, name);
        if (!side) {
            add_problem(&pr, "missing side '%s'", name);
            continue;
        }
        if (!json_is_object(side)) {
            add_problem(&pr, "%s must be a JSON object", name);
            continue;
        }
        const json_t *sum = json_object_get(side, "tactical_summary");
        if (!sum)
            add_problem(&pr, "missing %s.tactical_summary", name);
        else if (!json_is_string(sum) || json_string_length(sum) == 0)
            add_problem(&pr, "%s.tactical_summary must be a non-empty string", name);
        else
            copy_summary(out->side[s].summary, sizeof out->side[s].summary,
                         json_string_value(sum), json_string_length(sum));
        read_score(side, name, judge_scores[0], &out->side[s].influencing, &pr);
        read_score(side, name, judge_scores[1], &out->side[s].tactic, &pr);
    }
    json_decref(o);
    if (pr.n > 0) {
        memset(out, 0, sizeof *out);
        return NS_ERR_INPUT;
    }
    return NS_OK;
}

char *ns_reply_repair_text(const char *problem)
{
    static const char head[] = "Your previous reply was invalid: ";
    static const char tail[] = ". Reply again with only a JSON object following the schema.";
    const char *p = problem && *problem ? problem : "it could not be read";
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == '.' || p[n - 1] == ' '))
        n--; /* the tail brings its own full stop */
    char *s = ns_xmalloc(sizeof head - 1 + n + sizeof tail);
    memcpy(s, head, sizeof head - 1);
    memcpy(s + sizeof head - 1, p, n);
    memcpy(s + sizeof head - 1 + n, tail, sizeof tail);
    return s;
}
