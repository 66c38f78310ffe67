/*
 * ns_prompt.c - putting a negotiation into words for prompt templates:
 * the BFI marker file, and the negotiator and judge variables
 * (docs/prompts.md lists them with examples).
 *
 * Every value is built in a growing buffer and handed to the caller's
 * ns_prompt_vars. This runs once per LLM request, next to a network round
 * trip, so it favours plain snprintf-style code over speed.
 *
 * What the model sees of a side's private preferences comes from the
 * scenario alone: targets, reservation values, which direction is better,
 * the issue's weight, and (for options) the side's ranking. The
 * opponent's preferences never enter a negotiator prompt.
 */
#include "ns_prompt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_message.h"
#include "ns_yaml.h"

const char *const ns_trait_level_names[3] = {"low", "moderate", "high"};

const char *const ns_prompt_var_name[NS_PV_COUNT] = {
    [NS_PV_PRODUCT] = "product",
    [NS_PV_SCENARIO_TITLE] = "scenario_title",
    [NS_PV_CONTEXT] = "context",
    [NS_PV_ISSUES] = "issues",
    [NS_PV_MAX_ROUNDS] = "max_rounds",
    [NS_PV_ROLE] = "role",
    [NS_PV_OPPONENT_ROLE] = "opponent_role",
    [NS_PV_OFFER_FORMAT] = "offer_format",
    [NS_PV_TARGETS] = "targets",
    [NS_PV_PERSONALITY] = "personality",
    [NS_PV_TACTIC] = "tactic",
    [NS_PV_TACTIC_DESCRIPTION] = "tactic_description",
    [NS_PV_INFLUENCE] = "influence",
    [NS_PV_INFLUENCE_DESCRIPTION] = "influence_description",
    [NS_PV_ROUND] = "round",
    [NS_PV_MOVES_LEFT] = "moves_left",
    [NS_PV_HISTORY] = "history",
    [NS_PV_STANDING_OFFER] = "standing_offer",
    [NS_PV_LANGUAGE] = "language",
    [NS_PV_ROUNDS] = "rounds",
    [NS_PV_TRANSCRIPT] = "transcript",
    [NS_PV_OUTCOME] = "outcome",
    [NS_PV_BUYER_PERSONALITY] = "buyer_personality",
    [NS_PV_BUYER_TACTIC] = "buyer_tactic",
    [NS_PV_BUYER_TACTIC_DESCRIPTION] = "buyer_tactic_description",
    [NS_PV_BUYER_INFLUENCE] = "buyer_influence",
    [NS_PV_BUYER_INFLUENCE_DESCRIPTION] = "buyer_influence_description",
    [NS_PV_SELLER_PERSONALITY] = "seller_personality",
    [NS_PV_SELLER_TACTIC] = "seller_tactic",
    [NS_PV_SELLER_TACTIC_DESCRIPTION] = "seller_tactic_description",
    [NS_PV_SELLER_INFLUENCE] = "seller_influence",
    [NS_PV_SELLER_INFLUENCE_DESCRIPTION] = "seller_influence_description",
};

/* ------------------------------------------------------------ BFI markers */

struct ns_prompt_markers {
    double low, high;
    char *phrase[NS_N_TRAITS][3];
    char *source;
};

static ns_status read_levels(const ns_yaml *y, struct fy_node *root,
                             ns_prompt_markers *m, ns_error *err)
{
    static const char *const keys[] = {"low", "high", NULL};
    struct fy_node *n = ns_yaml_get(root, "levels");
    if (!n)
        return ns_yaml_fail(y, root, err, "missing key 'levels'");
    ns_status st;
    if ((st = ns_yaml_expect_map(y, n, "levels", err)) ||
        (st = ns_yaml_check_keys(y, n, keys, "levels", err)) ||
        (st = ns_yaml_get_number(y, n, "low", 1, "levels", &m->low, err)) ||
        (st = ns_yaml_get_number(y, n, "high", 1, "levels", &m->high, err)))
        return st;
    if (!(0 <= m->low && m->low < m->high && m->high <= 1))
        return ns_yaml_fail(y, n, err, "levels: need 0 <= low < high <= 1, found "
                            "low %g, high %g", m->low, m->high);
    return NS_OK;
}

/* A phrase without the blank a folded scalar may end in. */
static char *trimmed_copy(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
        n--;
    char *out = ns_xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static ns_status read_trait(const ns_yaml *y, struct fy_node *tn, int trait,
                            ns_prompt_markers *m, ns_error *err)
{
    static const char *const keys[] = {"low", "moderate", "high", NULL};
    const char *what = ns_trait_names[trait];
    ns_status st;
    if ((st = ns_yaml_expect_map(y, tn, what, err)) ||
        (st = ns_yaml_check_keys(y, tn, keys, what, err)))
        return st;
    for (int l = 0; l < 3; l++) {
        const char *s;
        if ((st = ns_yaml_get_string(y, tn, ns_trait_level_names[l], 1, what, &s, err)))
            return st;
        m->phrase[trait][l] = trimmed_copy(s);
        if (!m->phrase[trait][l][0])
            return ns_yaml_fail(y, ns_yaml_get(tn, ns_trait_level_names[l]), err,
                                "%s: the %s phrase is empty", what,
                                ns_trait_level_names[l]);
    }
    return NS_OK;
}

static ns_status read_markers(const ns_yaml *y, ns_prompt_markers *m, ns_error *err)
{
    static const char *const keys[] = {"levels", "traits", NULL};
    struct fy_node *root = ns_yaml_root(y);
    ns_status st;
    if ((st = ns_yaml_expect_map(y, root, "the file", err)) ||
        (st = ns_yaml_check_keys(y, root, keys, "the file", err)) ||
        (st = read_levels(y, root, m, err)))
        return st;
    struct fy_node *traits = ns_yaml_get(root, "traits");
    if (!traits)
        return ns_yaml_fail(y, root, err, "missing key 'traits'");
    const char *const trait_keys[NS_N_TRAITS + 1] = {
        ns_trait_names[0], ns_trait_names[1], ns_trait_names[2], ns_trait_names[3],
        ns_trait_names[4], NULL,
    };
    if ((st = ns_yaml_expect_map(y, traits, "traits", err)) ||
        (st = ns_yaml_check_keys(y, traits, trait_keys, "traits", err)))
        return st;
    for (int t = 0; t < NS_N_TRAITS; t++) {
        struct fy_node *tn = ns_yaml_get(traits, ns_trait_names[t]);
        if (!tn)
            return ns_yaml_fail(y, traits, err, "traits: missing trait '%s' (all five "
                                "are needed)", ns_trait_names[t]);
        if ((st = read_trait(y, tn, t, m, err)))
            return st;
    }
    return NS_OK;
}

ns_status ns_prompt_markers_load(const char *path, ns_prompt_markers **out,
                                 ns_error *err)
{
    *out = NULL;
    ns_yaml *y;
    ns_status st = ns_yaml_load_file(path, &y, err);
    if (st)
        return st;
    ns_prompt_markers *m = ns_xcalloc(1, sizeof *m);
    st = read_markers(y, m, err);
    if (!st)
        m->source = ns_xstrdup(ns_yaml_text(y));
    ns_yaml_free(y);
    if (st) {
        ns_prompt_markers_free(m);
        return st;
    }
    *out = m;
    return NS_OK;
}

void ns_prompt_markers_free(ns_prompt_markers *m)
{
    if (!m)
        return;
    for (int t = 0; t < NS_N_TRAITS; t++)
        for (int l = 0; l < 3; l++)
            free(m->phrase[t][l]);
    free(m->source);
    free(m);
}

ns_trait_level ns_prompt_level(const ns_prompt_markers *m, double value)
{
    if (value >= m->high)
        return NS_LEVEL_HIGH;
    if (value <= m->low)
        return NS_LEVEL_LOW;
    return NS_LEVEL_MODERATE;
}

const char *ns_prompt_marker(const ns_prompt_markers *m, int trait, ns_trait_level level)
{
    return m->phrase[trait][level];
}

const char *ns_prompt_markers_source(const ns_prompt_markers *m) { return m->source; }

/* ------------------------------------------------------------ text buffer */

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = ns_xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sb_put(b, small, (size_t)n);
        return;
    }
    char *big = ns_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

/* The buffer's text (never NULL), which the caller now owns. */
static char *sb_take(sbuf *b)
{
    if (!b->s)
        return ns_xstrdup("");
    char *s = b->s;
    memset(b, 0, sizeof *b);
    return s;
}

static void set_var(ns_prompt_vars *v, ns_prompt_var k, char *value)
{
    free(v->value[k]);
    v->value[k] = value;
}

static void set_str(ns_prompt_vars *v, ns_prompt_var k, const char *s)
{
    set_var(v, k, ns_xstrdup(s));
}

static void set_buf(ns_prompt_vars *v, ns_prompt_var k, sbuf *b)
{
    set_var(v, k, sb_take(b));
}

static void set_int(ns_prompt_vars *v, ns_prompt_var k, int x)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%d", x);
    set_str(v, k, buf);
}

/* -------------------------------------------------------- issues in words */

/* v with the issue's decimals, no separators, never "-0". */
static void put_number(sbuf *b, const ns_issue *is, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", is->decimals, v);
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
        memmove(buf, buf + 1, strlen(buf));
    sb_puts(b, buf);
}

static void put_value(sbuf *b, const ns_issue *is, double v)
{
    if (is->type != NS_ISSUE_DISCRETE) {
        put_number(b, is, v);
        return;
    }
    int k = (int)(v + 0.5);
    sb_puts(b, v > -0.5 && k < is->n_options ? is->options[k] : "?");
}

/* A value with its unit: "13.00 EUR", "net30". */
static void put_amount(sbuf *b, const ns_issue *is, double v)
{
    put_value(b, is, v);
    if (is->type != NS_ISSUE_DISCRETE && is->unit[0])
        sb_printf(b, " %s", is->unit);
}

/* The issue's phrase with the value filled in, from the pieces compiled
 * by ns_scenario_compile (the ones ns_message.c renders transcripts
 * from, so an offer reads the same in prompts and transcripts). */
static void put_fragment(sbuf *b, const ns_issue *is, double v)
{
    if (is->n_values == 0) { /* a phrase that never shows the value */
        sb_printf(b, "%.*s (%s ", (int)is->piece_len[0], is->text + is->piece_off[0],
                  is->name);
        put_value(b, is, v);
        sb_puts(b, ")");
        return;
    }
    size_t begin = b->len;
    sb_put(b, is->text + is->piece_off[0], is->piece_len[0]);
    for (int k = 0; k < is->n_values; k++) {
        put_value(b, is, v);
        for (int d = is->drops[k]; d > 0; d--)
            if (b->len > begin && b->s[b->len - 1] == ' ')
                b->s[--b->len] = '\0';
        sb_put(b, is->text + is->piece_off[k + 1], is->piece_len[k + 1]);
    }
}

/* "a, b, c and d" over all issues. */
static void put_offer(sbuf *b, const ns_scenario *sc, const double *v)
{
    for (int i = 0; i < sc->n_issues; i++) {
        if (i > 0)
            sb_puts(b, i == sc->n_issues - 1 ? " and " : ", ");
        put_fragment(b, &sc->issue[i], v[i]);
    }
}

/* One line per issue: its name, unit and what values an offer may give. */
static void issues_text(sbuf *b, const ns_scenario *sc)
{
    for (int i = 0; i < sc->n_issues; i++) {
        const ns_issue *is = &sc->issue[i];
        sb_printf(b, "%s- %s", i ? "\n" : "", is->name);
        if (is->type != NS_ISSUE_DISCRETE && is->unit[0])
            sb_printf(b, " (%s)", is->unit);
        if (is->type == NS_ISSUE_DISCRETE) {
            sb_puts(b, ": one of ");
            for (int k = 0; k < is->n_options; k++)
                sb_printf(b, "%s%s", k ? ", " : "", is->options[k]);
            continue;
        }
        sb_puts(b, is->type == NS_ISSUE_INTEGER ? ": a whole number from "
                                                : ": a number from ");
        put_number(b, is, is->lo);
        sb_puts(b, " to ");
        put_number(b, is, is->hi);
        if (is->step != 1 || is->type == NS_ISSUE_CONTINUOUS)
            sb_printf(b, ", in steps of %g", is->step);
    }
}

/* {"name": <number>, "opt": "<a|b|c>"}: the shape of the offer object. */
static void offer_format_text(sbuf *b, const ns_scenario *sc)
{
    sb_puts(b, "{");
    for (int i = 0; i < sc->n_issues; i++) {
        const ns_issue *is = &sc->issue[i];
        sb_printf(b, "%s\"%s\": ", i ? ", " : "", is->name);
        if (is->type == NS_ISSUE_DISCRETE) {
            sb_puts(b, "\"<");
            for (int k = 0; k < is->n_options; k++)
                sb_printf(b, "%s%s", k ? "|" : "", is->options[k]);
            sb_puts(b, ">\"");
        } else {
            sb_puts(b, is->type == NS_ISSUE_INTEGER ? "<whole number>" : "<number>");
        }
    }
    sb_puts(b, "}");
}

/* The side's ranking of a discrete issue, best first, and the options it
 * must refuse. */
static void discrete_target(sbuf *b, const ns_issue *is, const ns_issue_side *s)
{
    int order[NS_MAX_OPTIONS], n = 0;
    for (int k = 0; k < is->n_options; k++)
        if (s->option_utility[k] >= 0)
            order[n++] = k;
    /* insertion sort by utility, best first: at most 16 options */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s->option_utility[order[j]] >
                                     s->option_utility[order[j - 1]]; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    sb_puts(b, "acceptable options, best first: ");
    for (int i = 0; i < n; i++)
        sb_printf(b, "%s%s", i ? ", " : "", is->options[order[i]]);
    sb_printf(b, ". Your target is %s; your reservation value is %s",
              is->options[(int)s->target], is->options[(int)s->reservation]);
    int refused = 0;
    for (int k = 0; k < is->n_options; k++)
        if (s->option_utility[k] < 0)
            sb_printf(b, "%s%s", refused++ ? ", " : ": never agree to ", is->options[k]);
    sb_puts(b, ".");
}

/* One line per issue: weight, direction, target and reservation value. */
static void targets_text(sbuf *b, const ns_scenario *sc, int side)
{
    for (int i = 0; i < sc->n_issues; i++) {
        const ns_issue *is = &sc->issue[i];
        const ns_issue_side *s = &is->side[side];
        sb_printf(b, "%s- %s (%.0f%% of the deal's value to you): ", i ? "\n" : "",
                  is->name, 100.0 * s->weight);
        if (is->type == NS_ISSUE_DISCRETE) {
            discrete_target(b, is, s);
            continue;
        }
        sb_printf(b, "%s is better for you. Your target is ",
                  s->prefer_higher ? "higher" : "lower");
        put_amount(b, is, s->target);
        sb_puts(b, "; your reservation value is ");
        put_amount(b, is, s->reservation);
        sb_printf(b, ": never agree to %s.", s->prefer_higher ? "less" : "more");
    }
}

/* ----------------------------------------------------- people and moves */

static const char *capitalised_side(int side)
{
    return side == NS_BUYER ? "Buyer" : "Seller";
}

static void personality_text(sbuf *b, const ns_prompt_markers *m, const double *trait)
{
    for (int t = 0; t < NS_N_TRAITS; t++)
        sb_printf(b, "%s- You are %s.", t ? "\n" : "",
                  ns_prompt_marker(m, t, ns_prompt_level(m, trait[t])));
}

/* "openness high (0.80), ...": the judge's compact view. */
static void personality_summary(sbuf *b, const ns_prompt_markers *m, const double *trait)
{
    for (int t = 0; t < NS_N_TRAITS; t++)
        sb_printf(b, "%s%s %s (%.2f)", t ? ", " : "", ns_trait_names[t],
                  ns_trait_level_names[ns_prompt_level(m, trait[t])], trait[t]);
}

/* Technique name and description; "none" gets a neutral text that fits
 * the reader (the negotiator itself, or the judge). */
static void technique_vars(ns_prompt_vars *v, const ns_catalog *cat, ns_tech_kind kind,
                           int index, int for_judge, ns_prompt_var name_var,
                           ns_prompt_var desc_var)
{
    const ns_technique *t = ns_catalog_technique(cat, kind, index);
    if (t && index > 0) {
        set_str(v, name_var, t->name);
        set_str(v, desc_var, t->description);
        return;
    }
    set_str(v, name_var, "none");
    if (for_judge)
        set_str(v, desc_var, kind == NS_TACTIC
                                 ? "No tactic was assigned (control condition)."
                                 : "No influence technique was assigned (control "
                                   "condition).");
    else
        set_str(v, desc_var, kind == NS_TACTIC
                                 ? "No particular tactic is prescribed: negotiate in "
                                   "the way you judge best."
                                 : "No particular influence technique is prescribed: "
                                   "persuade in whatever way comes naturally to you.");
}

/* The text of turn k: the caller's, else the built-in rendering. Control
 * characters become blanks, so that a message is always one line and a
 * model cannot fake another speaker's line. */
static void put_turn_text(sbuf *b, const ns_negotiation *neg, const char *const *texts,
                          int k)
{
    char rendered[NS_TEXT_LEN];
    const char *s = texts ? texts[k] : NULL;
    if (!s) {
        const ns_turn *t = &neg->turns[k];
        ns_move mv;
        mv.action = t->action;
        memcpy(mv.value, t->value, sizeof mv.value);
        mv.text = NULL;
        ns_message_render(neg, t->speaker, k, &mv, rendered);
        s = rendered;
    }
    size_t start = b->len;
    sb_puts(b, s);
    for (size_t i = start; i < b->len; i++)
        if ((unsigned char)b->s[i] < 0x20 || b->s[i] == 0x7f)
            b->s[i] = ' ';
}

static void history_text(sbuf *b, const ns_negotiation *neg, int window,
                         const char *const *texts)
{
    int n = neg->n_turns;
    if (n == 0) {
        sb_puts(b, "(no messages yet)");
        return;
    }
    int first = window < 0 || window >= n ? 0 : n - window;
    if (first > 0)
        sb_printf(b, "(%d earlier message%s not shown)", first, first == 1 ? "" : "s");
    for (int k = first; k < n; k++) {
        sb_printf(b, "%s%s: ", b->len ? "\n" : "", capitalised_side(neg->turns[k].speaker));
        put_turn_text(b, neg, texts, k);
    }
}

static void standing_offer_text(sbuf *b, const ns_negotiation *neg, int side)
{
    int k = neg->last_offer[1 - side];
    /* an offer answered by a later move of this side no longer stands */
    if (k < 0 || k < neg->last_offer[side] || neg->turns[k].action != NS_ACT_OFFER) {
        sb_puts(b, "none yet");
        return;
    }
    put_offer(b, neg->sc, neg->turns[k].value);
    sb_printf(b, " (offered by the %s in round %d)", ns_side_names[1 - side],
              ns_round_of_turn(k));
}

static int moves_made(const ns_negotiation *neg, int side)
{
    int n = 0;
    for (int k = 0; k < neg->n_turns; k++)
        n += neg->turns[k].speaker == side;
    return n;
}

/* --------------------------------------------------------------- filling */

void ns_prompt_vars_init(ns_prompt_vars *v) { memset(v, 0, sizeof *v); }

void ns_prompt_vars_free(ns_prompt_vars *v)
{
    for (int k = 0; k < NS_PV_COUNT; k++)
        free(v->value[k]);
    memset(v, 0, sizeof *v);
}

/* The variables both kinds share. */
static void fill_common(ns_prompt_vars *v, const ns_negotiation *neg)
{
    const ns_scenario *sc = neg->sc;
    sbuf b = {0};
    ns_prompt_vars_free(v);
    set_str(v, NS_PV_PRODUCT, sc->product);
    set_str(v, NS_PV_SCENARIO_TITLE, sc->title[0] ? sc->title : sc->name);
    set_var(v, NS_PV_CONTEXT, trimmed_copy(sc->context ? sc->context : ""));
    issues_text(&b, sc);
    set_buf(v, NS_PV_ISSUES, &b);
    set_int(v, NS_PV_MAX_ROUNDS, neg->max_rounds);
}

void ns_prompt_vars_fill(ns_prompt_vars *v, const ns_prompt_markers *m,
                         const ns_negotiation *neg, int side, int window,
                         const char *const *texts)
{
    const ns_side_setup *ss = &neg->job->side[side];
    sbuf b = {0};
    fill_common(v, neg);
    set_str(v, NS_PV_ROLE, ns_side_names[side]);
    set_str(v, NS_PV_OPPONENT_ROLE, ns_side_names[1 - side]);
    offer_format_text(&b, neg->sc);
    set_buf(v, NS_PV_OFFER_FORMAT, &b);
    targets_text(&b, neg->sc, side);
    set_buf(v, NS_PV_TARGETS, &b);
    personality_text(&b, m, ss->trait);
    set_buf(v, NS_PV_PERSONALITY, &b);
    technique_vars(v, neg->cat, NS_TACTIC, ss->tactic, 0, NS_PV_TACTIC,
                   NS_PV_TACTIC_DESCRIPTION);
    technique_vars(v, neg->cat, NS_INFLUENCE, ss->influence, 0, NS_PV_INFLUENCE,
                   NS_PV_INFLUENCE_DESCRIPTION);
    set_int(v, NS_PV_ROUND, ns_round_of_turn(neg->n_turns));
    set_int(v, NS_PV_MOVES_LEFT, neg->max_rounds - moves_made(neg, side));
    history_text(&b, neg, window, texts);
    set_buf(v, NS_PV_HISTORY, &b);
    standing_offer_text(&b, neg, side);
    set_buf(v, NS_PV_STANDING_OFFER, &b);
}

static void outcome_text(sbuf *b, const ns_negotiation *neg)
{
    int last = neg->n_turns - 1;
    int round = last >= 0 ? ns_round_of_turn(last) : 0;
    switch (neg->ending) {
    case NS_END_AGREEMENT: {
        const ns_turn *t = &neg->turns[last];
        sb_printf(b, "Agreement in round %d (the %s accepted): ", round,
                  ns_side_names[t->speaker]);
        put_offer(b, neg->sc, t->value);
        sb_printf(b, ". On a scale where 0 is a side's reservation values and 1 its "
                  "targets, the deal is worth %.2f to the buyer and %.2f to the "
                  "seller.", t->utility[NS_BUYER], t->utility[NS_SELLER]);
        /* utilities are clamped at 0, so say it when a side gave away
         * more than it should have */
        for (int s = 0; s < 2; s++)
            if (!ns_scenario_acceptable(neg->sc, s, t->value))
                sb_printf(b, " The deal is worse than the %s's reservation value on "
                          "at least one issue.", ns_side_names[s]);
        break;
    }
    case NS_END_WALKAWAY:
        sb_printf(b, "No deal: the %s walked away in round %d.",
                  ns_side_names[neg->closed_by >= 0 ? neg->closed_by : 0], round);
        break;
    case NS_END_IMPASSE:
        sb_printf(b, "No deal: the round limit of %d was reached without agreement.",
                  neg->max_rounds);
        break;
    default:
        sb_printf(b, "Not finished: %d message%s so far.", neg->n_turns,
                  neg->n_turns == 1 ? "" : "s");
        break;
    }
}

static void transcript_text(sbuf *b, const ns_negotiation *neg, const char *const *texts)
{
    if (neg->n_turns == 0)
        sb_puts(b, "(no messages)");
    for (int k = 0; k < neg->n_turns; k++) {
        const ns_turn *t = &neg->turns[k];
        sb_printf(b, "%s%s (round %d, %s): ", k ? "\n" : "", capitalised_side(t->speaker),
                  ns_round_of_turn(k), ns_action_names[t->action]);
        put_turn_text(b, neg, texts, k);
    }
}

void ns_prompt_vars_fill_judge(ns_prompt_vars *v, const ns_prompt_markers *m,
                               const ns_negotiation *neg, const char *const *texts,
                               const char *language)
{
    static const ns_prompt_var side_vars[2][5] = {
        {NS_PV_BUYER_PERSONALITY, NS_PV_BUYER_TACTIC, NS_PV_BUYER_TACTIC_DESCRIPTION,
         NS_PV_BUYER_INFLUENCE, NS_PV_BUYER_INFLUENCE_DESCRIPTION},
        {NS_PV_SELLER_PERSONALITY, NS_PV_SELLER_TACTIC, NS_PV_SELLER_TACTIC_DESCRIPTION,
         NS_PV_SELLER_INFLUENCE, NS_PV_SELLER_INFLUENCE_DESCRIPTION},
    };
    sbuf b = {0};
    fill_common(v, neg);
    set_str(v, NS_PV_LANGUAGE, language && language[0] ? language : "English");
    set_int(v, NS_PV_ROUNDS, neg->n_turns ? ns_round_of_turn(neg->n_turns - 1) : 0);
    transcript_text(&b, neg, texts);
    set_buf(v, NS_PV_TRANSCRIPT, &b);
    outcome_text(&b, neg);
    set_buf(v, NS_PV_OUTCOME, &b);
    for (int s = 0; s < 2; s++) {
        const ns_side_setup *ss = &neg->job->side[s];
        personality_summary(&b, m, ss->trait);
        set_buf(v, side_vars[s][0], &b);
        technique_vars(v, neg->cat, NS_TACTIC, ss->tactic, 1, side_vars[s][1],
                       side_vars[s][2]);
        technique_vars(v, neg->cat, NS_INFLUENCE, ss->influence, 1, side_vars[s][3],
                       side_vars[s][4]);
    }
}

/* ---------------------------------------------------------------- lookups */

const char *ns_prompt_get(const ns_prompt_vars *v, const char *name)
{
    for (int k = 0; k < NS_PV_COUNT; k++)
        if (strcmp(ns_prompt_var_name[k], name) == 0)
            return v->value[k];
    return NULL;
}

const char *ns_prompt_lookup(void *ctx, const char *name)
{
    return ns_prompt_get((const ns_prompt_vars *)ctx, name);
}

const char *const *ns_prompt_var_names(ns_prompt_kind kind, size_t *n)
{
    static const char *const negotiator[] = {
        "product", "scenario_title", "context", "issues", "max_rounds",
        "role", "opponent_role", "offer_format", "targets", "personality",
        "tactic", "tactic_description", "influence", "influence_description",
        "round", "moves_left", "history", "standing_offer",
    };
    static const char *const judge[] = {
        "product", "scenario_title", "context", "issues", "max_rounds",
        "language", "rounds", "transcript", "outcome",
        "buyer_personality", "buyer_tactic", "buyer_tactic_description",
        "buyer_influence", "buyer_influence_description",
        "seller_personality", "seller_tactic", "seller_tactic_description",
        "seller_influence", "seller_influence_description",
    };
    if (kind == NS_PROMPT_JUDGE) {
        *n = sizeof judge / sizeof judge[0];
        return judge;
    }
    *n = sizeof negotiator / sizeof negotiator[0];
    return negotiator;
}
