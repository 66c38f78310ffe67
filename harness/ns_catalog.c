/*
 * ns_catalog.c - loading and validating the behaviour catalogues in
 * personalities/ (archetypes, tactics, influence techniques, and the
 * behavioural model), and evaluating the model for one agent.
 *
 * Loading reads the four YAML files through ns_yaml (so every content error
 * is "file:line:col: ..."), in dependency order: tactics and influence
 * first, then model.yaml (whose susceptibilities name techniques), then
 * archetypes.yaml (whose traits may name model.yaml's levels). All four
 * documents stay open until loading ends, so a problem found late (a
 * technique with opponent effects but no susceptibility) can still point at
 * the technique in its own file.
 *
 * Evaluating (ns_catalog_agent_params, ns_catalog_apply_opponent) runs once
 * per job on the hot path: it only does arithmetic on the parsed tables, no
 * allocation and no string work. log(base) of log-scale entries is taken
 * once at load for the same reason.
 *
 * This module does not know about agents or scenarios: what the parameters
 * mean is documented in docs/model.md and used by ns_agent_builtin.c.
 */
#include "ns_catalog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ns_trait_names[NS_N_TRAITS] = {
    "openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism",
};

const char *const ns_param_names[NS_N_PARAMS] = {
    "aspiration", "floor", "beta", "deadline", "imitation",
    "logrolling", "walkaway", "anchor", "accept_margin",
};

/* Hard domain of each parameter: model ranges must lie inside it, `set`
 * values too, and every result of applying effects is clamped into it, so
 * that the agent can rely on sane values whatever the catalogue says. */
static const double param_domain[NS_N_PARAMS][2] = {
    [NS_P_ASPIRATION] = {0.01, 1.0},  [NS_P_FLOOR] = {0.0, 1.0},
    [NS_P_BETA] = {0.01, 100.0},      [NS_P_DEADLINE] = {0.05, 1.0},
    [NS_P_IMITATION] = {0.0, 1.0},    [NS_P_LOGROLLING] = {0.0, 1.0},
    [NS_P_WALKAWAY] = {0.0, 1.0},     [NS_P_ANCHOR] = {0.0, 1.0},
    [NS_P_ACCEPT_MARGIN] = {0.0, 0.5},
};

int ns_trait_index(const char *name)
{
    for (int i = 0; i < NS_N_TRAITS; i++)
        if (strcmp(ns_trait_names[i], name) == 0)
            return i;
    return -1;
}

int ns_param_index(const char *name)
{
    for (int i = 0; i < NS_N_PARAMS; i++)
        if (strcmp(ns_param_names[i], name) == 0)
            return i;
    return -1;
}

/* One entry of model.yaml: p = clamp(f(base + sum coef*(trait-0.5)), lo, hi)
 * with f = exp for log-scale entries (whose `base` then holds log(base)). */
typedef struct model_entry {
    double base;
    double lo, hi;
    int log_scale;
    double coef[NS_N_TRAITS];
} model_entry;

/* The four files, in the order their text appears in ns_catalog_source. */
enum { F_MODEL, F_TACTICS, F_INFLUENCE, F_ARCHETYPES, N_FILES };
static const char *const file_names[N_FILES] = {
    "model.yaml", "tactics.yaml", "influence.yaml", "archetypes.yaml",
};

#define NAMES_CAP (NS_MAX_TECHNIQUES * (NS_NAME_LEN + 2))

struct ns_catalog {
    int n_tech[2];
    ns_technique tech[2][NS_MAX_TECHNIQUES];
    char tech_names[2][NAMES_CAP];
    double level[3]; /* low, mid, high */
    model_entry param[NS_N_PARAMS];
    /* susceptibility to each technique; all zero for techniques without
     * opponent effects (and for "none") */
    model_entry susc[2][NS_MAX_TECHNIQUES];
    int n_arch;
    ns_personality *arch;
    char *arch_names;
    char *source;
};

static const char *const level_names[3] = {"low", "mid", "high"};

/* ---------------------------------------------------------------- loading */

/* State of one load: the open documents and, per technique, its node (for
 * errors found after its file was parsed). */
typedef struct loader {
    ns_catalog *c;
    ns_yaml *doc[N_FILES];
    struct fy_node *tech_node[2][NS_MAX_TECHNIQUES];
} loader;

/* Copies s without trailing white space into a fresh string: folded YAML
 * scalars (">") end in a newline that must not reach prompts or messages. */
static char *strdup_trimmed(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r'))
        n--;
    char *out = ns_xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* Names end up in specs, HDF5 strings and error messages: the same rule
 * as scenario names, lower-case letters, digits and underscores. */
static int valid_name(const char *s)
{
    if (!*s || strlen(s) >= NS_NAME_LEN)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* "a, b, c" from an array of strings, into buf. */
static void join_names(char *buf, size_t size, const char *const *names, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The valid names, for "expected one of" messages. Built per call: errors
 * are rare, and a static cache would race when threads load catalogues. */
typedef struct name_list { char s[256]; } name_list;

static name_list param_list(void)
{
    name_list l;
    join_names(l.s, sizeof l.s, ns_param_names, NS_N_PARAMS);
    return l;
}

static name_list trait_list(void)
{
    name_list l;
    join_names(l.s, sizeof l.s, ns_trait_names, NS_N_TRAITS);
    return l;
}

/* Index of a technique of either kind by name; kind in *kind. -1 if none. */
static int find_any(const ns_catalog *c, const char *name, int *kind)
{
    for (int k = 0; k < 2; k++) {
        int i = ns_catalog_find(c, (ns_tech_kind)k, name);
        if (i > 0) {
            *kind = k;
            return i;
        }
    }
    return -1;
}

/* `{param: {op: value}, ...}` into out[]; an absent node means no effects. */
static ns_status parse_effects(const ns_yaml *y, struct fy_node *n,
                               const char *what, ns_effect *out, int *n_out,
                               ns_error *err)
{
    *n_out = 0;
    if (!n)
        return NS_OK;
    ns_status st = ns_yaml_expect_map(y, n, what, err);
    if (st)
        return st;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(n, &it)) != NULL) {
        struct fy_node *k = ns_yaml_pair_key(p), *v = ns_yaml_pair_value(p);
        const char *pname = ns_yaml_scalar(k);
        int param = pname ? ns_param_index(pname) : -1;
        if (param < 0)
            return ns_yaml_fail(y, k, err,
                                "%s: unknown parameter '%s' (expected one of: %s)", what,
                                pname ? pname : "?", param_list().s);
        if (*n_out == NS_MAX_EFFECTS)
            return ns_yaml_fail(y, k, err, "%s: more than %d effects", what,
                                NS_MAX_EFFECTS);
        if ((st = ns_yaml_expect_map(y, v, what, err)))
            return st;
        if (fy_node_mapping_item_count(v) != 1)
            return ns_yaml_fail(y, v, err, "%s: '%s' needs exactly one operation "
                                "(add, scale or set)", what, pname);
        void *it2 = NULL;
        struct fy_node_pair *op_pair = ns_yaml_map_next(v, &it2);
        struct fy_node *opk = ns_yaml_pair_key(op_pair);
        const char *op = ns_yaml_scalar(opk);
        ns_effect *e = &out[*n_out];
        e->param = (ns_param)param;
        if (op && strcmp(op, "add") == 0)
            e->op = NS_EFFECT_ADD;
        else if (op && strcmp(op, "scale") == 0)
            e->op = NS_EFFECT_SCALE;
        else if (op && strcmp(op, "set") == 0)
            e->op = NS_EFFECT_SET;
        else
            return ns_yaml_fail(y, opk, err, "%s: unknown operation '%s' on '%s' "
                                "(expected add, scale or set)", what, op ? op : "?",
                                pname);
        struct fy_node *valn = ns_yaml_pair_value(op_pair);
        if ((st = ns_yaml_number(y, valn, &e->value, err)))
            return st;
        /* A scale factor <= 0 would flip or erase the parameter. */
        if (e->op == NS_EFFECT_SCALE && e->value <= 0)
            return ns_yaml_fail(y, valn, err, "%s: scale factor for '%s' must be > 0",
                                what, pname);
        if (e->op == NS_EFFECT_SET && (e->value < param_domain[param][0] ||
                                       e->value > param_domain[param][1]))
            return ns_yaml_fail(y, valn, err, "%s: '%s' can only be set within [%g, %g]",
                                what, pname, param_domain[param][0],
                                param_domain[param][1]);
        (*n_out)++;
    }
    return NS_OK;
}

static ns_status parse_phrases(const ns_yaml *y, struct fy_node *map,
                               const char *what, ns_technique *t, ns_error *err)
{
    struct fy_node *n = ns_yaml_get(map, "phrases");
    if (!n)
        return ns_yaml_fail(y, map, err, "missing key 'phrases' in %s", what);
    ns_status st = ns_yaml_expect_seq(y, n, what, err);
    if (st)
        return st;
    void *it = NULL;
    struct fy_node *item;
    while ((item = ns_yaml_seq_next(n, &it)) != NULL) {
        const char *s;
        if ((st = ns_yaml_string(y, item, &s, err)))
            return st;
        if (t->n_phrases == NS_MAX_PHRASES)
            return ns_yaml_fail(y, item, err, "%s: at most %d phrases", what,
                                NS_MAX_PHRASES);
        /* Trailing blanks are dropped: the renderer adds one space itself. */
        char *trimmed = strdup_trimmed(s);
        size_t len = strlen(trimmed);
        if (len == 0 || len >= sizeof t->phrases[0]) {
            free(trimmed);
            return ns_yaml_fail(y, item, err,
                                "%s: a phrase must have 1 to %zu characters", what,
                                sizeof t->phrases[0] - 1);
        }
        memcpy(t->phrases[t->n_phrases++], trimmed, len + 1);
        free(trimmed);
    }
    if (t->n_phrases == 0)
        return ns_yaml_fail(y, n, err, "%s: give at least one phrase", what);
    return NS_OK;
}

static ns_status check_technique_name(loader *L, const ns_yaml *y,
                                      struct fy_node *map, ns_tech_kind kind,
                                      const char *name, ns_error *err)
{
    struct fy_node *at = ns_yaml_get(map, "name");
    const char *what = kind == NS_TACTIC ? "tactic" : "influence technique";
    if (strcmp(name, "none") == 0)
        return ns_yaml_fail(y, at, err, "'none' is built in (the control level) "
                            "and must not be defined");
    if (!valid_name(name))
        return ns_yaml_fail(y, at, err, "%s name '%s': use 1-%d lower-case letters, "
                            "digits and underscores", what, name, NS_NAME_LEN - 1);
    /* Unique across both kinds: model.yaml's susceptibilities name
     * techniques without saying which list they come from. */
    int other_kind;
    if (find_any(L->c, name, &other_kind) > 0)
        return ns_yaml_fail(y, at, err,
                            "duplicate technique '%s' (already defined in %s)", name,
                            other_kind == NS_TACTIC ? "tactics.yaml" : "influence.yaml");
    if (L->c->n_tech[kind] == NS_MAX_TECHNIQUES)
        return ns_yaml_fail(y, map, err, "too many techniques (at most %d)",
                            NS_MAX_TECHNIQUES - 1);
    return NS_OK;
}

static ns_status parse_technique(loader *L, const ns_yaml *y, struct fy_node *map,
                                 ns_tech_kind kind, ns_error *err)
{
    static const char *const keys[] = {"name", "description", "self", "opponent",
                                       "phrases", NULL};
    const char *kind_name = kind == NS_TACTIC ? "tactic" : "influence technique";
    const char *name, *desc;
    ns_status st;
    if ((st = ns_yaml_expect_map(y, map, kind_name, err)) ||
        (st = ns_yaml_check_keys(y, map, keys, kind_name, err)) ||
        (st = ns_yaml_get_string(y, map, "name", 1, kind_name, &name, err)) ||
        (st = check_technique_name(L, y, map, kind, name, err)))
        return st;
    char what[96];
    snprintf(what, sizeof what, "%s '%s'", kind_name, name);
    if ((st = ns_yaml_get_string(y, map, "description", 1, what, &desc, err)))
        return st;
    int idx = L->c->n_tech[kind];
    ns_technique *t = &L->c->tech[kind][idx];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    if ((st = parse_effects(y, ns_yaml_get(map, "self"), what, t->self, &t->n_self,
                            err)) ||
        (st = parse_effects(y, ns_yaml_get(map, "opponent"), what, t->opponent,
                            &t->n_opponent, err)) ||
        (st = parse_phrases(y, map, what, t, err)))
        return st;
    t->description = strdup_trimmed(desc);
    if (!t->description[0])
        return ns_yaml_fail(y, ns_yaml_get(map, "description"), err,
                            "%s: the description is empty", what);
    L->tech_node[kind][idx] = map;
    L->c->n_tech[kind]++;
    return NS_OK;
}

/* tactics.yaml ("tactics:") or influence.yaml ("influence:"). */
static ns_status parse_technique_file(loader *L, ns_tech_kind kind, ns_error *err)
{
    const ns_yaml *y = L->doc[kind == NS_TACTIC ? F_TACTICS : F_INFLUENCE];
    const char *key = kind == NS_TACTIC ? "tactics" : "influence";
    const char *const keys[] = {key, NULL};
    struct fy_node *root = ns_yaml_root(y);
    ns_status st;
    if ((st = ns_yaml_expect_map(y, root, "the file", err)) ||
        (st = ns_yaml_check_keys(y, root, keys, "the file", err)))
        return st;
    struct fy_node *list = ns_yaml_get(root, key);
    if (!list)
        return ns_yaml_fail(y, root, err, "missing key '%s'", key);
    if ((st = ns_yaml_expect_seq(y, list, key, err)))
        return st;
    void *it = NULL;
    struct fy_node *item;
    while ((item = ns_yaml_seq_next(list, &it)) != NULL)
        if ((st = parse_technique(L, y, item, kind, err)))
            return st;
    return NS_OK;
}

static ns_status parse_range(const ns_yaml *y, struct fy_node *n, const char *what,
                             double *lo, double *hi, ns_error *err)
{
    ns_status st = ns_yaml_expect_seq(y, n, what, err);
    if (st)
        return st;
    if (fy_node_sequence_item_count(n) != 2)
        return ns_yaml_fail(y, n, err, "%s: range must be [min, max]", what);
    if ((st = ns_yaml_number(y, fy_node_sequence_get_by_index(n, 0), lo, err)) ||
        (st = ns_yaml_number(y, fy_node_sequence_get_by_index(n, 1), hi, err)))
        return st;
    if (*lo > *hi)
        return ns_yaml_fail(y, n, err, "%s: range min %g is greater than max %g",
                            what, *lo, *hi);
    return NS_OK;
}

static ns_status parse_coefs(const ns_yaml *y, struct fy_node *n, const char *what,
                             double coef[NS_N_TRAITS], ns_error *err)
{
    if (!n)
        return NS_OK;
    ns_status st = ns_yaml_expect_map(y, n, what, err);
    if (st)
        return st;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(n, &it)) != NULL) {
        struct fy_node *k = ns_yaml_pair_key(p);
        const char *tname = ns_yaml_scalar(k);
        int t = tname ? ns_trait_index(tname) : -1;
        if (t < 0)
            return ns_yaml_fail(y, k, err, "%s: unknown trait '%s' (expected one of: %s)",
                                what, tname ? tname : "?", trait_list().s);
        if ((st = ns_yaml_number(y, ns_yaml_pair_value(p), &coef[t], err)))
            return st;
    }
    return NS_OK;
}

/* One parameter or susceptibility entry; [dom_lo, dom_hi] is the hard
 * domain its range must lie in. */
static ns_status parse_model_entry(const ns_yaml *y, struct fy_node *map,
                                   const char *what, double dom_lo, double dom_hi,
                                   model_entry *m, ns_error *err)
{
    static const char *const keys[] = {"base", "range", "scale", "traits", "why", NULL};
    const char *why, *scale = "linear";
    ns_status st;
    memset(m, 0, sizeof *m);
    if ((st = ns_yaml_expect_map(y, map, what, err)) ||
        (st = ns_yaml_check_keys(y, map, keys, what, err)) ||
        (st = ns_yaml_get_number(y, map, "base", 1, what, &m->base, err)) ||
        (st = ns_yaml_get_string(y, map, "why", 1, what, &why, err)) ||
        (st = ns_yaml_get_string(y, map, "scale", 0, what, &scale, err)))
        return st;
    struct fy_node *range = ns_yaml_get(map, "range");
    if (!range)
        return ns_yaml_fail(y, map, err, "missing key 'range' in %s", what);
    if ((st = parse_range(y, range, what, &m->lo, &m->hi, err)) ||
        (st = parse_coefs(y, ns_yaml_get(map, "traits"), what, m->coef, err)))
        return st;
    if (m->lo < dom_lo || m->hi > dom_hi)
        return ns_yaml_fail(y, range, err,
                            "%s: range [%g, %g] leaves the domain [%g, %g]", what, m->lo,
                            m->hi, dom_lo, dom_hi);
    if (m->base < m->lo || m->base > m->hi)
        return ns_yaml_fail(y, ns_yaml_get(map, "base"), err,
                            "%s: base %g lies outside its range [%g, %g]", what,
                            m->base, m->lo, m->hi);
    if (strcmp(scale, "log") == 0) {
        if (m->lo <= 0)
            return ns_yaml_fail(y, range, err, "%s: a log-scale range must be > 0", what);
        m->log_scale = 1;
        m->base = log(m->base);
    } else if (strcmp(scale, "linear") != 0) {
        return ns_yaml_fail(y, ns_yaml_get(map, "scale"), err,
                            "%s: scale must be 'log' or 'linear', not '%s'", what, scale);
    }
    if (!why[0])
        return ns_yaml_fail(y, ns_yaml_get(map, "why"), err, "%s: 'why' is empty", what);
    return NS_OK;
}

static ns_status parse_levels(loader *L, const ns_yaml *y, struct fy_node *root,
                              ns_error *err)
{
    static const char *const keys[] = {"low", "mid", "high", NULL};
    struct fy_node *n = ns_yaml_get(root, "levels");
    if (!n)
        return ns_yaml_fail(y, root, err, "missing key 'levels'");
    ns_status st;
    if ((st = ns_yaml_expect_map(y, n, "levels", err)) ||
        (st = ns_yaml_check_keys(y, n, keys, "levels", err)))
        return st;
    for (int i = 0; i < 3; i++) {
        if ((st = ns_yaml_get_number(y, n, level_names[i], 1, "levels",
                                     &L->c->level[i], err)))
            return st;
        if (L->c->level[i] < 0 || L->c->level[i] > 1)
            return ns_yaml_fail(y, ns_yaml_get(n, level_names[i]), err,
                                "levels: '%s' must lie in [0, 1]", level_names[i]);
    }
    return NS_OK;
}

static ns_status parse_parameters(loader *L, const ns_yaml *y, struct fy_node *root,
                                  ns_error *err)
{
    struct fy_node *n = ns_yaml_get(root, "parameters");
    if (!n)
        return ns_yaml_fail(y, root, err, "missing key 'parameters'");
    ns_status st = ns_yaml_expect_map(y, n, "parameters", err);
    if (st)
        return st;
    int seen[NS_N_PARAMS] = {0};
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(n, &it)) != NULL) {
        struct fy_node *k = ns_yaml_pair_key(p);
        const char *name = ns_yaml_scalar(k);
        int i = name ? ns_param_index(name) : -1;
        if (i < 0)
            return ns_yaml_fail(y, k, err, "parameters: unknown parameter '%s' "
                                "(expected one of: %s)", name ? name : "?",
                                param_list().s);
        if (seen[i]++)
            return ns_yaml_fail(y, k, err, "parameters: '%s' given twice", name);
        char what[64];
        snprintf(what, sizeof what, "parameter '%s'", name);
        if ((st = parse_model_entry(y, ns_yaml_pair_value(p), what, param_domain[i][0],
                                    param_domain[i][1], &L->c->param[i], err)))
            return st;
    }
    for (int i = 0; i < NS_N_PARAMS; i++)
        if (!seen[i])
            return ns_yaml_fail(y, n, err, "parameters: missing parameter '%s'",
                                ns_param_names[i]);
    return NS_OK;
}

static ns_status parse_susceptibility(loader *L, const ns_yaml *y,
                                      struct fy_node *root, ns_error *err)
{
    ns_catalog *c = L->c;
    struct fy_node *n = ns_yaml_get(root, "susceptibility");
    int seen[2][NS_MAX_TECHNIQUES] = {{0}};
    ns_status st;
    if (n && (st = ns_yaml_expect_map(y, n, "susceptibility", err)))
        return st;
    void *it = NULL;
    struct fy_node_pair *p;
    while (n && (p = ns_yaml_map_next(n, &it)) != NULL) {
        struct fy_node *k = ns_yaml_pair_key(p);
        const char *name = ns_yaml_scalar(k);
        int kind = 0, i = name ? find_any(c, name, &kind) : -1;
        if (i < 0)
            return ns_yaml_fail(y, k, err, "susceptibility: unknown technique '%s' "
                                "(tactics: %s; influence: %s)", name ? name : "?",
                                c->tech_names[NS_TACTIC], c->tech_names[NS_INFLUENCE]);
        if (c->tech[kind][i].n_opponent == 0)
            return ns_yaml_fail(y, k, err, "susceptibility: '%s' has no opponent "
                                "effects, so this entry would never be used", name);
        if (seen[kind][i]++)
            return ns_yaml_fail(y, k, err, "susceptibility: '%s' given twice", name);
        char what[64];
        snprintf(what, sizeof what, "susceptibility '%s'", name);
        if ((st = parse_model_entry(y, ns_yaml_pair_value(p), what, 0.0, 1.0,
                                    &c->susc[kind][i], err)))
            return st;
    }
    /* Opponent effects without a susceptibility would silently never act. */
    for (int kind = 0; kind < 2; kind++)
        for (int i = 1; i < c->n_tech[kind]; i++)
            if (c->tech[kind][i].n_opponent > 0 && !seen[kind][i])
                return ns_yaml_fail(L->doc[kind == NS_TACTIC ? F_TACTICS : F_INFLUENCE],
                                    L->tech_node[kind][i], err,
                                    "technique '%s' has opponent effects but "
                                    "model.yaml gives no susceptibility to it",
                                    c->tech[kind][i].name);
    return NS_OK;
}

static ns_status parse_model_file(loader *L, ns_error *err)
{
    static const char *const keys[] = {"levels", "parameters", "susceptibility", NULL};
    const ns_yaml *y = L->doc[F_MODEL];
    struct fy_node *root = ns_yaml_root(y);
    ns_status st;
    if ((st = ns_yaml_expect_map(y, root, "the file", err)) ||
        (st = ns_yaml_check_keys(y, root, keys, "the file", err)) ||
        (st = parse_levels(L, y, root, err)) ||
        (st = parse_parameters(L, y, root, err)) ||
        (st = parse_susceptibility(L, y, root, err)))
        return st;
    return NS_OK;
}

/* A trait value: a number in [0,1] or a level name from model.yaml. */
static ns_status parse_trait_value(loader *L, const ns_yaml *y, struct fy_node *n,
                                   const char *what, double *out, ns_error *err)
{
    const char *s = ns_yaml_scalar(n);
    if (s && ns_catalog_level(L->c, s, out))
        return NS_OK;
    ns_status st = ns_yaml_number(y, n, out, err);
    if (st)
        return ns_yaml_fail(y, n, err, "%s: expected a number in [0,1] or low, mid, "
                            "high; found '%s'", what, s ? s : "?");
    if (*out < 0 || *out > 1)
        return ns_yaml_fail(y, n, err, "%s: trait values lie in [0,1]", what);
    return NS_OK;
}

static ns_status parse_archetype_traits(loader *L, const ns_yaml *y,
                                        struct fy_node *map, const char *what,
                                        ns_personality *a, ns_error *err)
{
    struct fy_node *n = ns_yaml_get(map, "traits");
    if (!n)
        return ns_yaml_fail(y, map, err, "missing key 'traits' in %s", what);
    ns_status st = ns_yaml_expect_map(y, n, what, err);
    if (st)
        return st;
    int seen[NS_N_TRAITS] = {0};
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(n, &it)) != NULL) {
        struct fy_node *k = ns_yaml_pair_key(p);
        const char *tname = ns_yaml_scalar(k);
        int t = tname ? ns_trait_index(tname) : -1;
        if (t < 0)
            return ns_yaml_fail(y, k, err, "%s: unknown trait '%s' (expected one of: %s)",
                                what, tname ? tname : "?", trait_list().s);
        seen[t] = 1;
        st = parse_trait_value(L, y, ns_yaml_pair_value(p), what, &a->trait[t], err);
        if (st)
            return st;
    }
    for (int t = 0; t < NS_N_TRAITS; t++)
        if (!seen[t])
            return ns_yaml_fail(y, n, err, "%s: missing trait '%s' (give all five)",
                                what, ns_trait_names[t]);
    return NS_OK;
}

static ns_status parse_archetype(loader *L, const ns_yaml *y, struct fy_node *map,
                                 ns_error *err)
{
    static const char *const keys[] = {"name", "description", "traits", NULL};
    ns_catalog *c = L->c;
    const char *name, *desc;
    ns_status st;
    if ((st = ns_yaml_expect_map(y, map, "archetype", err)) ||
        (st = ns_yaml_check_keys(y, map, keys, "archetype", err)) ||
        (st = ns_yaml_get_string(y, map, "name", 1, "archetype", &name, err)))
        return st;
    struct fy_node *at = ns_yaml_get(map, "name");
    if (!valid_name(name))
        return ns_yaml_fail(y, at, err, "archetype name '%s': use 1-%d lower-case "
                            "letters, digits and underscores", name, NS_NAME_LEN - 1);
    /* A spec's personality axis also takes these generator names. */
    if (!strcmp(name, "grid") || !strcmp(name, "sobol") || !strcmp(name, "uniform"))
        return ns_yaml_fail(y, at, err, "archetype name '%s' is reserved", name);
    if (ns_catalog_archetype(c, name))
        return ns_yaml_fail(y, at, err, "duplicate archetype '%s'", name);
    char what[64];
    snprintf(what, sizeof what, "archetype '%s'", name);
    if ((st = ns_yaml_get_string(y, map, "description", 1, what, &desc, err)))
        return st;
    ns_personality a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "%s", name);
    if ((st = parse_archetype_traits(L, y, map, what, &a, err)))
        return st;
    a.description = strdup_trimmed(desc);
    c->arch = ns_xrealloc(c->arch, (size_t)(c->n_arch + 1) * sizeof *c->arch);
    c->arch[c->n_arch++] = a;
    return NS_OK;
}

static ns_status parse_archetype_file(loader *L, ns_error *err)
{
    static const char *const keys[] = {"archetypes", NULL};
    const ns_yaml *y = L->doc[F_ARCHETYPES];
    struct fy_node *root = ns_yaml_root(y);
    ns_status st;
    if ((st = ns_yaml_expect_map(y, root, "the file", err)) ||
        (st = ns_yaml_check_keys(y, root, keys, "the file", err)))
        return st;
    struct fy_node *list = ns_yaml_get(root, "archetypes");
    if (!list)
        return ns_yaml_fail(y, root, err, "missing key 'archetypes'");
    if ((st = ns_yaml_expect_seq(y, list, "archetypes", err)))
        return st;
    void *it = NULL;
    struct fy_node *item;
    while ((item = ns_yaml_seq_next(list, &it)) != NULL)
        if ((st = parse_archetype(L, y, item, err)))
            return st;
    return NS_OK;
}

/* The name lists for error messages and the concatenated source text. */
static void build_texts(loader *L)
{
    ns_catalog *c = L->c;
    for (int k = 0; k < 2; k++) {
        const char *names[NS_MAX_TECHNIQUES];
        for (int i = 0; i < c->n_tech[k]; i++)
            names[i] = c->tech[k][i].name;
        join_names(c->tech_names[k], NAMES_CAP, names, c->n_tech[k]);
    }
    size_t cap = 1;
    for (int i = 0; i < c->n_arch; i++)
        cap += strlen(c->arch[i].name) + 2;
    c->arch_names = ns_xmalloc(cap);
    c->arch_names[0] = '\0';
    for (int i = 0; i < c->n_arch; i++) {
        if (i)
            strcat(c->arch_names, ", ");
        strcat(c->arch_names, c->arch[i].name);
    }
    /* Headers name the files as "personalities/<file>" whatever `dir` was:
     * the text feeds the spec digest, which must not change with the
     * folder negsim happens to be run from. */
    size_t len = 1;
    for (int f = 0; f < N_FILES; f++)
        len += strlen(ns_yaml_text(L->doc[f])) + strlen(file_names[f]) + 40;
    c->source = ns_xmalloc(len);
    size_t used = 0;
    for (int f = 0; f < N_FILES; f++) {
        const char *text = ns_yaml_text(L->doc[f]);
        size_t n = strlen(text);
        used += (size_t)snprintf(c->source + used, len - used,
                                 "# --- personalities/%s ---\n%s%s", file_names[f],
                                 text, n && text[n - 1] == '\n' ? "" : "\n");
    }
}

static ns_status load_all(loader *L, const char *dir, ns_error *err)
{
    ns_status st;
    for (int f = 0; f < N_FILES; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file_names[f]);
        if ((st = ns_yaml_load_file(path, &L->doc[f], err)))
            return st;
    }
    if ((st = parse_technique_file(L, NS_TACTIC, err)) ||
        (st = parse_technique_file(L, NS_INFLUENCE, err)) ||
        (st = parse_model_file(L, err)) ||
        (st = parse_archetype_file(L, err)))
        return st;
    build_texts(L);
    return NS_OK;
}

ns_status ns_catalog_load(const char *dir, ns_catalog **out, ns_error *err)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.c = ns_xcalloc(1, sizeof *L.c);
    for (int k = 0; k < 2; k++) {
        ns_technique *none = &L.c->tech[k][0];
        snprintf(none->name, sizeof none->name, "none");
        none->kind = (ns_tech_kind)k;
        none->description = ns_xstrdup("No particular technique (control level).");
        L.c->n_tech[k] = 1;
    }
    ns_status st = load_all(&L, dir, err);
    for (int f = 0; f < N_FILES; f++)
        ns_yaml_free(L.doc[f]);
    if (st) {
        ns_catalog_free(L.c);
        *out = NULL;
        return st;
    }
    *out = L.c;
    return NS_OK;
}

void ns_catalog_free(ns_catalog *c)
{
    if (!c)
        return;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < NS_MAX_TECHNIQUES; i++)
            free(c->tech[k][i].description);
    for (int i = 0; i < c->n_arch; i++)
        free(c->arch[i].description);
    free(c->arch);
    free(c->arch_names);
    free(c->source);
    free(c);
}

/* ---------------------------------------------------------------- lookups */

int ns_catalog_find(const ns_catalog *c, ns_tech_kind kind, const char *name)
{
    for (int i = 0; i < c->n_tech[kind]; i++)
        if (strcmp(c->tech[kind][i].name, name) == 0)
            return i;
    return -1;
}

int ns_catalog_count(const ns_catalog *c, ns_tech_kind kind) { return c->n_tech[kind]; }

const ns_technique *ns_catalog_technique(const ns_catalog *c, ns_tech_kind kind,
                                         int index)
{
    if (index < 0 || index >= c->n_tech[kind])
        return NULL;
    return &c->tech[kind][index];
}

const char *ns_catalog_names(const ns_catalog *c, ns_tech_kind kind)
{
    return c->tech_names[kind];
}

const ns_personality *ns_catalog_archetype(const ns_catalog *c, const char *name)
{
    for (int i = 0; i < c->n_arch; i++)
        if (strcmp(c->arch[i].name, name) == 0)
            return &c->arch[i];
    return NULL;
}

int ns_catalog_archetype_count(const ns_catalog *c) { return c->n_arch; }

const ns_personality *ns_catalog_archetype_at(const ns_catalog *c, int i)
{
    return i >= 0 && i < c->n_arch ? &c->arch[i] : NULL;
}

const char *ns_catalog_archetype_names(const ns_catalog *c)
{
    return c->arch_names ? c->arch_names : "";
}

int ns_catalog_level(const ns_catalog *c, const char *name, double *value)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(level_names[i], name) == 0) {
            *value = c->level[i];
            return 1;
        }
    return 0;
}

const char *ns_catalog_source(const ns_catalog *c) { return c->source; }

/* ------------------------------------------------------------- evaluation */

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double model_eval(const model_entry *m, const double trait[NS_N_TRAITS])
{
    double s = m->base;
    for (int t = 0; t < NS_N_TRAITS; t++)
        s += m->coef[t] * (trait[t] - 0.5);
    if (m->log_scale)
        s = exp(s);
    return clampd(s, m->lo, m->hi);
}

static void apply_effects(ns_agent_params *p, const ns_effect *e, int n, double m)
{
    for (int i = 0; i < n; i++) {
        double *v = &p->p[e[i].param];
        switch (e[i].op) {
        case NS_EFFECT_ADD: *v += e[i].value * m; break;
        case NS_EFFECT_SCALE: *v *= 1.0 + (e[i].value - 1.0) * m; break;
        case NS_EFFECT_SET: *v += (e[i].value - *v) * m; break;
        }
    }
}

/* Keeps every parameter in its domain after effects, and the floor at or
 * below the aspiration (the concession curve runs from one to the other). */
static void clamp_params(ns_agent_params *p)
{
    for (int i = 0; i < NS_N_PARAMS; i++)
        p->p[i] = clampd(p->p[i], param_domain[i][0], param_domain[i][1]);
    if (p->p[NS_P_FLOOR] > p->p[NS_P_ASPIRATION])
        p->p[NS_P_FLOOR] = p->p[NS_P_ASPIRATION];
}

void ns_catalog_agent_params(const ns_catalog *c, const double trait[NS_N_TRAITS],
                             int tactic, int influence, ns_agent_params *out)
{
    for (int i = 0; i < NS_N_PARAMS; i++)
        out->p[i] = model_eval(&c->param[i], trait);
    /* Entries of techniques without opponent effects are all zero, which
     * model_eval turns into susceptibility 0 (clamped to [0, 0]). */
    memset(out->susceptibility, 0, sizeof out->susceptibility);
    for (int k = 0; k < 2; k++)
        for (int i = 1; i < c->n_tech[k]; i++)
            if (c->tech[k][i].n_opponent > 0)
                out->susceptibility[k][i] = model_eval(&c->susc[k][i], trait);
    if (tactic > 0 && tactic < c->n_tech[NS_TACTIC])
        apply_effects(out, c->tech[NS_TACTIC][tactic].self,
                      c->tech[NS_TACTIC][tactic].n_self, 1.0);
    if (influence > 0 && influence < c->n_tech[NS_INFLUENCE])
        apply_effects(out, c->tech[NS_INFLUENCE][influence].self,
                      c->tech[NS_INFLUENCE][influence].n_self, 1.0);
    clamp_params(out);
}

void ns_catalog_apply_opponent(const ns_catalog *c, ns_agent_params *p,
                               int opp_tactic, int opp_influence)
{
    if (opp_tactic > 0 && opp_tactic < c->n_tech[NS_TACTIC]) {
        const ns_technique *t = &c->tech[NS_TACTIC][opp_tactic];
        apply_effects(p, t->opponent, t->n_opponent,
                      p->susceptibility[NS_TACTIC][opp_tactic]);
    }
    if (opp_influence > 0 && opp_influence < c->n_tech[NS_INFLUENCE]) {
        const ns_technique *t = &c->tech[NS_INFLUENCE][opp_influence];
        apply_effects(p, t->opponent, t->n_opponent,
                      p->susceptibility[NS_INFLUENCE][opp_influence]);
    }
    clamp_params(p);
}
