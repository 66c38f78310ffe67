/*
 * ns_spec.c - loading a sweep spec and decoding its job grid lazily
 * (ns_spec.h; the format is documented in docs/sweep-spec.md).
 *
 * This module owns the spec: its options, the scenarios it names (loaded
 * through ns_scenario), the catalogue (loaded through ns_catalog), each
 * side's axes, the compiled filters and the sampled personality designs.
 * It does not run jobs; the runner asks it for jobs by id.
 *
 * How it works. Loading walks the YAML tree once, validates every value
 * and turns each axis into a small table of levels: scenario pointers,
 * technique indices, trait values per listed trait, archetype pointers, or
 * a block of n x d sampled points. The grid has eight axes (see
 * ns_spec.h); their sizes give mixed-radix strides, so decoding an id is
 * eight divisions and a few table lookups, with no allocation: the grid is
 * never materialised, whatever its size. Filters are compiled into sorted
 * lists of level indices per axis, so a filter test is a few binary
 * searches on the decoded indices.
 *
 * Counting jobs under filters only walks the axes the filters mention: the
 * other axes never change whether a job passes, so the count is (passing
 * combinations of the mentioned axes) x (product of the other axes).
 */
#include "ns_spec.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <gsl/gsl_qrng.h>
#include <gsl/gsl_rng.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "ns_agent.h"
#include "ns_llm_config.h"
#include "ns_yaml.h"

#ifndef NEGSIM_DATA_DIR
#define NEGSIM_DATA_DIR "."
#endif

/* Mixed into the digest first: bump it whenever the meaning of a spec or
 * the layout of results changes, so old journals are refused. */
#define NS_DIGEST_TAG "negsim-results-2"

#define MAX_ROUNDS 500
#define MAX_SAMPLES 1000000ULL
#define GRID_LIMIT (UINT64_C(1) << 63)
/* Longest personality label ns_spec_axis_level can produce: five
 * "X=<level>" parts and four commas. */
#define LABEL_MAX (NS_N_TRAITS * (NS_NAME_LEN + 2) + 8)

enum {
    AX_SCENARIO,
    AX_MODEL_B,
    AX_MODEL_S,
    AX_PERSONALITY_B,
    AX_PERSONALITY_S,
    AX_TACTIC_B,
    AX_INFLUENCE_B,
    AX_TACTIC_S,
    AX_INFLUENCE_S,
    AX_REPETITION,
    N_AXES
};

static const char *const axis_names[N_AXES] = {
    "scenario",     "buyer.model",       "seller.model",
    "buyer.personality", "seller.personality",
    "buyer.tactic", "buyer.influence",   "seller.tactic",
    "seller.influence", "repetition",
};

/* Axes of each side: personality, tactic, influence. */
static const int side_axis[2][3] = {
    {AX_PERSONALITY_B, AX_TACTIC_B, AX_INFLUENCE_B},
    {AX_PERSONALITY_S, AX_TACTIC_S, AX_INFLUENCE_S},
};

static const char trait_letter[NS_N_TRAITS] = {'O', 'C', 'E', 'A', 'N'};

typedef enum { OPEN_BUYER, OPEN_SELLER, OPEN_ALTERNATE } opener_mode;
typedef enum { PERS_TRAITS, PERS_ARCHETYPES, PERS_SAMPLE } pers_mode;
typedef enum { DESIGN_SOBOL, DESIGN_UNIFORM } design_kind;
static const char *const design_names[2] = {"sobol", "uniform"};

/* The levels of one listed trait in a traits grid. */
typedef struct trait_levels {
    int n;                       /* 0: trait not listed (held at mid) */
    double *value;
    char (*label)[NS_NAME_LEN];  /* as written when named, else "%g" */
} trait_levels;

typedef struct side_spec {
    char agent[NS_NAME_LEN];
    const ns_agent_kind *kind;
    int n_models;                   /* the model axis: 0 for a built-in side */
    ns_llm_model *models;
    pers_mode mode;
    double mid;                     /* value of unlisted traits */
    trait_levels grid[NS_N_TRAITS]; /* PERS_TRAITS */
    int n_arch;                     /* PERS_ARCHETYPES */
    const ns_personality **arch;
    design_kind design;             /* PERS_SAMPLE */
    int n_dims;
    int dim_trait[NS_N_TRAITS];     /* trait of each sampled dimension */
    double *points;                 /* n_personalities x n_dims */
    uint64_t n_personalities;
    int n_tech[2];                  /* NS_TACTIC, NS_INFLUENCE */
    int *tech[2];
} side_spec;

/* "axis in {levels}": one key of one filter entry. */
typedef struct filter_cond {
    int axis;
    size_t n;
    uint64_t *level; /* sorted, unique */
} filter_cond;

/* An entry matches a job when all its conditions do. */
typedef struct filter_entry {
    int n_cond;
    filter_cond cond[N_AXES];
} filter_entry;

struct ns_spec {
    char *path, *name, *text, *output, *data_dir;
    char *warnings;
    uint64_t seed;
    uint32_t repetitions;
    int max_rounds;
    opener_mode opener;
    int transcripts;
    ns_catalog *cat;
    int n_scenarios;
    ns_scenario **sc;
    int max_issues;
    side_spec side[2];
    ns_llm_config llm;
    int has_llm;                    /* an LLM side or a judge */
    uint64_t size[N_AXES], stride[N_AXES], grid;
    int n_exclude, n_include;
    filter_entry *exclude, *include;
    unsigned filter_axes;           /* bit per axis a filter mentions */
    uint64_t digest;
};

/* What the loader carries around: the spec being built, the document, and
 * the node that defines each axis (where a too-large grid is reported). */
typedef struct loader {
    ns_spec *s;
    const ns_yaml *y;
    ns_error *err;
    char *spec_dir;
    struct fy_node *axis_node[N_AXES];
} loader;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = ns_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return buf;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Folder part of a path ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ns_xstrdup(".");
    if (slash == path)
        return ns_xstrdup("/");
    return str_printf("%.*s", (int)(slash - path), path);
}

/* File name without folder and extension: the default spec name. */
static char *stem_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return str_printf("%.*s", (int)n, base);
}

static int has_data(const char *dir)
{
    char *a = str_printf("%s/scenarios", dir), *b = str_printf("%s/personalities", dir);
    int ok = is_dir(a) && is_dir(b);
    free(a);
    free(b);
    return ok;
}

/* The data folder rule of ns_spec.h: the spec's folder's parent, then the
 * current directory, then the tree negsim was built from. */
static char *resolve_data_dir(const char *spec_dir, const char *given)
{
    if (given)
        return ns_xstrdup(given);
    char *parent = str_printf("%s/..", spec_dir);
    if (has_data(parent))
        return parent;
    free(parent);
    if (has_data("."))
        return ns_xstrdup(".");
    return ns_xstrdup(NEGSIM_DATA_DIR);
}

/* Value of `key` in `map`; NULL when absent. A key written with no value
 * ("tactics:") is an error rather than "absent", so that a half-written
 * line never silently falls back to a default. */
static ns_status fetch(loader *ld, struct fy_node *map, const char *key,
                       struct fy_node **out)
{
    *out = NULL;
    if (!map)
        return NS_OK;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(map, &it)) != NULL) {
        const char *k = ns_yaml_scalar(ns_yaml_pair_key(p));
        if (!k || strcmp(k, key) != 0)
            continue;
        struct fy_node *v = ns_yaml_pair_value(p);
        if (!v || fy_node_is_null(v))
            return ns_yaml_fail(ld->y, ns_yaml_pair_key(p), ld->err,
                                "'%s' has no value", key);
        *out = v;
        return NS_OK;
    }
    return NS_OK;
}

/* The items of a node that may be one scalar or a list of scalars (the
 * usual shape of an axis). An empty list is an error: an axis with no
 * levels would make an empty grid. The array is the caller's to free. */
static ns_status list_items(loader *ld, struct fy_node *n, const char *what,
                            struct fy_node ***items, size_t *count)
{
    *items = NULL;
    *count = 0;
    if (fy_node_is_scalar(n)) {
        *items = ns_xmalloc(sizeof **items);
        (*items)[0] = n;
        *count = 1;
        return NS_OK;
    }
    if (!fy_node_is_sequence(n))
        return ns_yaml_fail(ld->y, n, ld->err,
                            "%s: expected a name or a list of names, found a mapping",
                            what);
    int len = fy_node_sequence_item_count(n);
    if (len <= 0)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "%s: empty list (an axis needs at least one level; "
                            "leave the key out to get its default)", what);
    *items = ns_xmalloc((size_t)len * sizeof **items);
    void *it = NULL;
    struct fy_node *item;
    while ((item = ns_yaml_seq_next(n, &it)) != NULL) {
        if (!fy_node_is_scalar(item) || fy_node_is_null(item)) {
            free(*items);
            *items = NULL;
            return ns_yaml_fail(ld->y, item, ld->err,
                                "%s: expected a name or a number here", what);
        }
        (*items)[(*count)++] = item;
    }
    return NS_OK;
}

static ns_status duplicate(loader *ld, struct fy_node *again, struct fy_node *first,
                           const char *what, const char *level)
{
    int line, col;
    ns_yaml_where(first, &line, &col);
    const char *as = ns_yaml_scalar(first);
    if (as && strcmp(as, level) != 0) /* e.g. 0.2 after low (= 0.2) */
        return ns_yaml_fail(ld->y, again, ld->err,
                            "%s: duplicate level '%s' (same as '%s' at line %d, "
                            "column %d)", what, level, as, line, col);
    return ns_yaml_fail(ld->y, again, ld->err,
                        "%s: duplicate level '%s' (already listed at line %d, "
                        "column %d)", what, level, line, col);
}

/* ------------------------------------------------------------------ */
/* Top-level options                                                   */
/* ------------------------------------------------------------------ */

static const char *const top_keys[] = {
    "name", "seed", "repetitions", "max_rounds", "opener", "scenarios",
    "buyer", "seller", "filters", "output", "llm", "judge", NULL,
};

/* A whole uint64 (the master seed may use all 64 bits, which strtoll and
 * so ns_yaml_integer cannot hold). */
static ns_status get_u64(loader *ld, struct fy_node *n, const char *what,
                         uint64_t *out)
{
    const char *s = ns_yaml_scalar(n);
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && *s && *s != '-' && *s != '+' ? strtoull(s, &end, 10) : 0;
    if (!s)
        return ns_yaml_fail(ld->y, n, ld->err, "%s: expected a whole number, found %s",
                            what, fy_node_is_sequence(n) ? "a list" : "a mapping");
    if (!end || *end != '\0' || errno == ERANGE)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "%s: expected a whole number from 0 to %" PRIu64
                            ", found '%s'", what, UINT64_MAX, s);
    *out = v;
    return NS_OK;
}

static ns_status get_ranged(loader *ld, struct fy_node *map, const char *key,
                            long long lo, long long hi, long long *out)
{
    struct fy_node *n;
    ns_status st = fetch(ld, map, key, &n);
    if (st || !n)
        return st;
    if ((st = ns_yaml_integer(ld->y, n, out, ld->err)))
        return st;
    if (*out < lo || *out > hi)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "%s must be between %lld and %lld, found %lld", key, lo,
                            hi, *out);
    return NS_OK;
}

static ns_status load_name(loader *ld, struct fy_node *root)
{
    struct fy_node *n;
    const char *name;
    ns_status st = fetch(ld, root, "name", &n);
    if (st)
        return st;
    if (!n) {
        ld->s->name = stem_of(ld->s->path);
        return NS_OK;
    }
    if ((st = ns_yaml_string(ld->y, n, &name, ld->err)))
        return st;
    /* The name becomes a file name (results/<name>.h5): keep it tame. */
    size_t len = strlen(name);
    if (len == 0 || len > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_.") != len)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "name: use 1 to 64 letters, digits, '-', '_' or '.', "
                            "found '%s'", name);
    ld->s->name = ns_xstrdup(name);
    return NS_OK;
}

static ns_status load_opener(loader *ld, struct fy_node *root)
{
    static const char *const names[3] = {"buyer", "seller", "alternate"};
    struct fy_node *n;
    const char *v;
    ns_status st = fetch(ld, root, "opener", &n);
    if (st || !n)
        return st;
    if ((st = ns_yaml_string(ld->y, n, &v, ld->err)))
        return st;
    for (int i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0) {
            ld->s->opener = (opener_mode)i;
            return NS_OK;
        }
    return ns_yaml_fail(ld->y, n, ld->err,
                        "unknown opener '%s' (expected one of: buyer, seller, alternate)", v);
}

static ns_status load_output(loader *ld, struct fy_node *root)
{
    static const char *const keys[] = {"file", "transcripts", NULL};
    struct fy_node *n;
    const char *file = NULL;
    ns_status st = fetch(ld, root, "output", &n);
    if (!st && n)
        st = ns_yaml_expect_map(ld->y, n, "output", ld->err);
    if (!st && n)
        st = ns_yaml_check_keys(ld->y, n, keys, "output", ld->err);
    if (!st && n)
        st = ns_yaml_get_string(ld->y, n, "file", 0, "output", &file, ld->err);
    if (!st && n)
        st = ns_yaml_get_bool(ld->y, n, "transcripts", 0, "output",
                              &ld->s->transcripts, ld->err);
    if (st)
        return st;
    if (file && !*file)
        return ns_yaml_fail(ld->y, ns_yaml_get(n, "file"), ld->err,
                            "output.file: expected a file name, found ''");
    ld->s->output = file ? ns_xstrdup(file) : str_printf("results/%s.h5", ld->s->name);
    return NS_OK;
}

static ns_status load_options(loader *ld, struct fy_node *root)
{
    ns_spec *s = ld->s;
    long long v;
    struct fy_node *n;
    ns_status st = load_name(ld, root);
    if (!st)
        st = fetch(ld, root, "seed", &n);
    if (!st && n)
        st = get_u64(ld, n, "seed", &s->seed);
    v = s->repetitions;
    if (!st && !(st = get_ranged(ld, root, "repetitions", 1, UINT32_MAX, &v)))
        s->repetitions = (uint32_t)v;
    v = s->max_rounds;
    if (!st && !(st = get_ranged(ld, root, "max_rounds", 1, MAX_ROUNDS, &v)))
        s->max_rounds = (int)v;
    if (!st)
        st = load_opener(ld, root);
    if (!st)
        st = load_output(ld, root);
    if (!st)
        st = fetch(ld, root, "repetitions", &ld->axis_node[AX_REPETITION]);
    return st;
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* "a, b, c" of the *.yaml stems in data_dir/scenarios, for the error that
 * names an unknown scenario. */
static void list_scenarios(const char *data_dir, char *buf, size_t size)
{
    char *dir = str_printf("%s/scenarios", data_dir);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort); /* sorted: stable messages */
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *f = names[i]->d_name;
        if (f[0] != '.' && ends_with(f, ".yaml") && used + NS_NAME_LEN + 8 < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%.*s",
                                     used ? ", " : "", (int)(strlen(f) - 5), f);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* Scenario file for a list item: a name means <data>/scenarios/NAME.yaml;
 * a path (has '/', ends in .yaml/.yml) is tried against the spec's folder,
 * then the data folder. */
static ns_status scenario_path(loader *ld, struct fy_node *item, const char *text,
                               char **out)
{
    const char *data = ld->s->data_dir;
    *out = NULL;
    if (!strchr(text, '/') && !ends_with(text, ".yaml") && !ends_with(text, ".yml")) {
        char *p = str_printf("%s/scenarios/%s.yaml", data, text);
        if (is_file(p)) {
            *out = p;
            return NS_OK;
        }
        char known[512];
        list_scenarios(data, known, sizeof known);
        ns_status st = ns_yaml_fail(ld->y, item, ld->err,
                                    "unknown scenario '%s': no file %s "
                                    "(scenarios there: %s)", text, p,
                                    known[0] ? known : "none");
        free(p);
        return st;
    }
    if (text[0] == '/') {
        if (is_file(text)) {
            *out = ns_xstrdup(text);
            return NS_OK;
        }
        return ns_yaml_fail(ld->y, item, ld->err, "scenario file not found: %s", text);
    }
    char *a = str_printf("%s/%s", ld->spec_dir, text);
    char *b = str_printf("%s/%s", data, text);
    ns_status st = NS_OK;
    if (is_file(a))
        *out = a, a = NULL;
    else if (is_file(b))
        *out = b, b = NULL;
    else
        st = ns_yaml_fail(ld->y, item, ld->err,
                          "scenario file not found: %s (also looked for %s)", a, b);
    free(a);
    free(b);
    return st;
}

static ns_status load_one_scenario(loader *ld, struct fy_node *item, ns_scenario **sc)
{
    if (fy_node_is_mapping(item))
        return ns_scenario_from_node(ld->y, item, sc, ld->err);
    const char *text = ns_yaml_scalar(item);
    if (!text || !*text)
        return ns_yaml_fail(ld->y, item, ld->err,
                            "scenarios: expected a scenario name, a path to a "
                            "scenario file, or an inline scenario mapping");
    char *path;
    ns_status st = scenario_path(ld, item, text, &path);
    if (st)
        return st;
    /* Errors inside the file come back located in that file. */
    st = ns_scenario_load_file(path, sc, ld->err);
    free(path);
    return st;
}

static ns_status load_scenarios(loader *ld, struct fy_node *root)
{
    ns_spec *s = ld->s;
    struct fy_node *list;
    ns_status st = fetch(ld, root, "scenarios", &list);
    if (st)
        return st;
    if (!list)
        return ns_yaml_fail(ld->y, root, ld->err, "missing key 'scenarios' in sweep spec");
    if ((st = ns_yaml_expect_seq(ld->y, list, "scenarios", ld->err)))
        return st;
    int len = fy_node_sequence_item_count(list);
    if (len <= 0)
        return ns_yaml_fail(ld->y, list, ld->err,
                            "scenarios: empty list (name at least one scenario)");
    ld->axis_node[AX_SCENARIO] = list;
    s->sc = ns_xcalloc((size_t)len, sizeof *s->sc);
    struct fy_node **where = ns_xcalloc((size_t)len, sizeof *where);
    void *it = NULL;
    struct fy_node *item;
    while (!st && (item = ns_yaml_seq_next(list, &it)) != NULL) {
        ns_scenario *sc = NULL;
        if ((st = load_one_scenario(ld, item, &sc)))
            break;
        s->sc[s->n_scenarios] = sc;
        where[s->n_scenarios++] = item;
        if (sc->n_issues > s->max_issues)
            s->max_issues = sc->n_issues;
        for (int i = 0; i < s->n_scenarios - 1; i++)
            if (strcmp(s->sc[i]->name, sc->name) == 0) {
                st = duplicate(ld, item, where[i], "scenarios", sc->name);
                break;
            }
    }
    free(where);
    return st;
}

/* ------------------------------------------------------------------ */
/* Personalities                                                       */
/* ------------------------------------------------------------------ */

static const char *trait_list(void)
{
    return "openness, conscientiousness, extraversion, agreeableness, neuroticism";
}

static ns_status trait_of(loader *ld, struct fy_node *n, int *out)
{
    const char *name = ns_yaml_scalar(n);
    *out = name ? ns_trait_index(name) : -1;
    if (*out < 0)
        return ns_yaml_fail(ld->y, n, ld->err, "unknown trait '%s' (expected one of: %s)",
                            name ? name : "?", trait_list());
    return NS_OK;
}

/* A trait level: a named level of personalities/model.yaml, or a number
 * in [0,1]. Names are tried first so that a model may define e.g. "mid". */
static ns_status trait_value(loader *ld, struct fy_node *n, const char *trait,
                             double *value, char label[NS_NAME_LEN])
{
    const char *text = ns_yaml_scalar(n);
    if (ns_catalog_level(ld->s->cat, text, value)) {
        snprintf(label, NS_NAME_LEN, "%s", text);
        return NS_OK;
    }
    ns_error scratch;
    if (ns_yaml_number(ld->y, n, value, &scratch) != NS_OK)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "unknown level '%s' for %s (expected a number in [0,1] "
                            "or a level named in personalities/model.yaml, "
                            "such as low, mid, high)", text, trait);
    if (!(*value >= 0.0 && *value <= 1.0))
        return ns_yaml_fail(ld->y, n, ld->err,
                            "%s level %s is outside [0,1]", trait, text);
    snprintf(label, NS_NAME_LEN, "%g", *value);
    return NS_OK;
}

static ns_status load_trait_levels(loader *ld, side_spec *sd, int t,
                                   struct fy_node *levels, const char *what)
{
    struct fy_node **items;
    size_t n;
    ns_status st = list_items(ld, levels, what, &items, &n);
    if (st)
        return st;
    trait_levels *tl = &sd->grid[t];
    tl->value = ns_xcalloc(n, sizeof *tl->value);
    tl->label = ns_xcalloc(n, sizeof *tl->label);
    for (size_t i = 0; i < n && !st; i++) {
        st = trait_value(ld, items[i], ns_trait_names[t], &tl->value[i], tl->label[i]);
        tl->n = (int)i + 1;
        /* Equal values make identical agents; equal labels make
         * indistinguishable rows: both are duplicates. */
        for (size_t j = 0; j < i && !st; j++)
            if (tl->value[j] == tl->value[i] || !strcmp(tl->label[j], tl->label[i]))
                st = duplicate(ld, items[i], items[j], what, ns_yaml_scalar(items[i]));
    }
    free(items);
    return st;
}

static ns_status load_traits(loader *ld, side_spec *sd, struct fy_node *map,
                             const char *side_name)
{
    ns_status st = ns_yaml_expect_map(ld->y, map, "traits", ld->err);
    if (st)
        return st;
    if (fy_node_mapping_item_count(map) <= 0)
        return ns_yaml_fail(ld->y, map, ld->err,
                            "traits: list at least one trait (leave 'personality' "
                            "out to hold every trait at mid)");
    void *it = NULL;
    struct fy_node_pair *p;
    while (!st && (p = ns_yaml_map_next(map, &it)) != NULL) {
        int t;
        if ((st = trait_of(ld, ns_yaml_pair_key(p), &t)))
            break;
        struct fy_node *v = ns_yaml_pair_value(p);
        if (!v || fy_node_is_null(v))
            return ns_yaml_fail(ld->y, ns_yaml_pair_key(p), ld->err,
                                "'%s' has no levels", ns_trait_names[t]);
        char what[96];
        snprintf(what, sizeof what, "%s.personality.traits.%s", side_name,
                 ns_trait_names[t]);
        st = load_trait_levels(ld, sd, t, v, what);
    }
    sd->n_personalities = 1;
    for (int t = 0; t < NS_N_TRAITS && !st; t++)
        if (sd->grid[t].n > 0 &&
            __builtin_mul_overflow(sd->n_personalities, (uint64_t)sd->grid[t].n,
                                   &sd->n_personalities))
            st = ns_yaml_fail(ld->y, map, ld->err, "traits: too many combinations");
    return st;
}

static ns_status load_archetypes(loader *ld, side_spec *sd, struct fy_node *list,
                                 const char *side_name)
{
    char what[64];
    snprintf(what, sizeof what, "%s.personality.archetypes", side_name);
    struct fy_node **items;
    size_t n;
    ns_status st = list_items(ld, list, what, &items, &n);
    if (st)
        return st;
    sd->arch = ns_xcalloc(n, sizeof *sd->arch);
    for (size_t i = 0; i < n && !st; i++) {
        const char *name = ns_yaml_scalar(items[i]);
        sd->arch[i] = ns_catalog_archetype(ld->s->cat, name);
        if (!sd->arch[i]) {
            st = ns_yaml_fail(ld->y, items[i], ld->err,
                              "unknown archetype '%s' (expected one of: %s)", name,
                              ns_catalog_archetype_names(ld->s->cat));
            break;
        }
        sd->n_arch = (int)i + 1;
        for (size_t j = 0; j < i && !st; j++)
            if (sd->arch[j] == sd->arch[i])
                st = duplicate(ld, items[i], items[j], what, name);
    }
    sd->n_personalities = (uint64_t)sd->n_arch;
    free(items);
    return st;
}

static ns_status load_sample_traits(loader *ld, side_spec *sd, struct fy_node *list)
{
    struct fy_node **items;
    size_t n;
    ns_status st = list_items(ld, list, "sample.traits", &items, &n);
    for (size_t i = 0; i < n && !st; i++) {
        int t;
        if ((st = trait_of(ld, items[i], &t)))
            break;
        for (int j = 0; j < sd->n_dims && !st; j++)
            if (sd->dim_trait[j] == t)
                st = duplicate(ld, items[i], items[j], "sample.traits",
                               ns_trait_names[t]);
        sd->dim_trait[sd->n_dims++] = t;
    }
    free(items);
    return st;
}

static ns_status load_sample(loader *ld, side_spec *sd, struct fy_node *map)
{
    static const char *const keys[] = {"design", "n", "traits", NULL};
    struct fy_node *design = NULL, *n = NULL, *traits = NULL;
    ns_status st = ns_yaml_expect_map(ld->y, map, "sample", ld->err);
    if (!st)
        st = ns_yaml_check_keys(ld->y, map, keys, "sample", ld->err);
    if (!st)
        st = fetch(ld, map, "design", &design);
    if (!st)
        st = fetch(ld, map, "n", &n);
    if (!st)
        st = fetch(ld, map, "traits", &traits);
    if (st)
        return st;
    sd->design = DESIGN_SOBOL;
    if (design) {
        const char *d = ns_yaml_scalar(design);
        if (d && !strcmp(d, "uniform"))
            sd->design = DESIGN_UNIFORM;
        else if (!d || strcmp(d, "sobol") != 0)
            return ns_yaml_fail(ld->y, design, ld->err,
                                "unknown design '%s' (expected one of: sobol, uniform)",
                                d ? d : "?");
    }
    if (!n)
        return ns_yaml_fail(ld->y, map, ld->err, "missing key 'n' in sample");
    long long count;
    if ((st = ns_yaml_integer(ld->y, n, &count, ld->err)))
        return st;
    if (count < 1 || (unsigned long long)count > MAX_SAMPLES)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "sample n must be between 1 and %llu, found %lld",
                            MAX_SAMPLES, count);
    sd->n_personalities = (uint64_t)count;
    if (traits)
        return load_sample_traits(ld, sd, traits);
    for (int t = 0; t < NS_N_TRAITS; t++)
        sd->dim_trait[sd->n_dims++] = t;
    return NS_OK;
}

static ns_status load_personality(loader *ld, side_spec *sd, struct fy_node *map,
                                  const char *side_name)
{
    static const char *const keys[] = {"traits", "archetypes", "sample", NULL};
    sd->mode = PERS_TRAITS;
    sd->n_personalities = 1; /* the default: one all-mid personality */
    if (!map)
        return NS_OK;
    ns_status st = ns_yaml_expect_map(ld->y, map, "personality", ld->err);
    if (!st)
        st = ns_yaml_check_keys(ld->y, map, keys, "personality", ld->err);
    if (st)
        return st;
    struct fy_node *found = NULL, *key = NULL;
    int mode = -1;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(map, &it)) != NULL) {
        const char *k = ns_yaml_scalar(ns_yaml_pair_key(p));
        if (key)
            return ns_yaml_fail(ld->y, ns_yaml_pair_key(p), ld->err,
                                "personality: give exactly one of traits, archetypes, "
                                "sample (found both '%s' and '%s')",
                                ns_yaml_scalar(key), k);
        key = ns_yaml_pair_key(p);
        found = ns_yaml_pair_value(p);
        mode = !strcmp(k, "traits") ? PERS_TRAITS
             : !strcmp(k, "archetypes") ? PERS_ARCHETYPES : PERS_SAMPLE;
    }
    if (!key)
        return ns_yaml_fail(ld->y, map, ld->err,
                            "personality: give one of traits, archetypes, sample");
    if (!found || fy_node_is_null(found))
        return ns_yaml_fail(ld->y, key, ld->err, "'%s' has no value", ns_yaml_scalar(key));
    sd->mode = (pers_mode)mode;
    if (mode == PERS_TRAITS)
        return load_traits(ld, sd, found, side_name);
    if (mode == PERS_ARCHETYPES)
        return load_archetypes(ld, sd, found, side_name);
    return load_sample(ld, sd, found);
}

/* ------------------------------------------------------------------ */
/* Sides                                                               */
/* ------------------------------------------------------------------ */

static ns_status load_techniques(loader *ld, side_spec *sd, struct fy_node *side_map,
                                 ns_tech_kind kind, int side)
{
    const char *side_name = ns_side_names[side];
    static const char *const keys[2] = {"tactics", "influence"};
    static const char *const nouns[2] = {"tactic", "influence technique"};
    const ns_catalog *cat = ld->s->cat;
    struct fy_node *list;
    ns_status st = fetch(ld, side_map, keys[kind], &list);
    if (st)
        return st;
    ld->axis_node[side_axis[side][1 + kind]] = list ? list : side_map;
    if (!list) { /* default: the control level only */
        sd->tech[kind] = ns_xcalloc(1, sizeof(int));
        sd->n_tech[kind] = 1;
        return NS_OK;
    }
    char what[64];
    snprintf(what, sizeof what, "%s.%s", side_name, keys[kind]);
    struct fy_node **items;
    size_t n;
    if ((st = list_items(ld, list, what, &items, &n)))
        return st;
    sd->tech[kind] = ns_xcalloc(n, sizeof(int));
    for (size_t i = 0; i < n && !st; i++) {
        const char *name = ns_yaml_scalar(items[i]);
        int idx = ns_catalog_find(cat, kind, name);
        if (idx < 0) {
            st = ns_yaml_fail(ld->y, items[i], ld->err,
                              "%s: unknown %s '%s' (expected one of: %s)", what,
                              nouns[kind], name, ns_catalog_names(cat, kind));
            break;
        }
        sd->tech[kind][i] = idx;
        sd->n_tech[kind] = (int)i + 1;
        for (size_t j = 0; j < i && !st; j++)
            if (sd->tech[kind][j] == idx)
                st = duplicate(ld, items[i], items[j], what, name);
    }
    free(items);
    return st;
}

/* The `model:` axis of a side: required for (and only for) agent llm. */
static ns_status load_models(loader *ld, side_spec *sd, struct fy_node *side_map,
                             struct fy_node *agent_node)
{
    struct fy_node *n, **items = NULL;
    size_t count = 0;
    int is_llm = strcmp(sd->agent, "llm") == 0;
    ns_status st = fetch(ld, side_map, "model", &n);
    if (st)
        return st;
    if (!n && is_llm)
        return ns_yaml_fail(ld->y, agent_node, ld->err,
                            "agent llm needs a model: (e.g. model: openai:gpt-4o-mini, "
                            "or a list of models to compare)");
    if (n && !is_llm)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "model: only an agent: llm side has a model (this side's "
                            "agent is %s)", sd->agent);
    if (!n)
        return NS_OK;
    if ((st = list_items(ld, n, "model", &items, &count)))
        return st;
    sd->models = ns_xcalloc(count, sizeof *sd->models);
    for (size_t i = 0; i < count && !st; i++) {
        const char *text;
        st = ns_yaml_string(ld->y, items[i], &text, ld->err);
        if (!st)
            st = ns_llm_config_model(&ld->s->llm, ld->y, items[i], text, &sd->models[i],
                                     ld->err);
        for (size_t j = 0; j < i && !st; j++)
            if (strcmp(sd->models[j].full, sd->models[i].full) == 0)
                st = duplicate(ld, items[i], items[j], "model", text);
        sd->n_models = (int)i + 1;
    }
    free(items);
    ld->s->has_llm = 1;
    return st;
}

static ns_status load_agent(loader *ld, side_spec *sd, struct fy_node *side_map)
{
    struct fy_node *n;
    const char *name = "builtin";
    ns_status st = fetch(ld, side_map, "agent", &n);
    if (!st && n)
        st = ns_yaml_string(ld->y, n, &name, ld->err);
    if (st)
        return st;
    sd->kind = ns_agent_kind_find(name);
    if (!sd->kind)
        return ns_yaml_fail(ld->y, n, ld->err,
                            "unknown agent kind '%s' (expected one of: %s)", name,
                            ns_agent_kind_names());
    snprintf(sd->agent, sizeof sd->agent, "%s", name);
    return load_models(ld, sd, side_map, n);
}

static ns_status load_side(loader *ld, struct fy_node *root, int side)
{
    static const char *const keys[] = {"agent", "model", "personality", "tactics",
                                       "influence", NULL};
    const char *name = ns_side_names[side];
    side_spec *sd = &ld->s->side[side];
    struct fy_node *map = NULL, *pers = NULL;
    ns_status st = fetch(ld, root, name, &map);
    if (!st && map)
        st = ns_yaml_expect_map(ld->y, map, name, ld->err);
    if (!st && map)
        st = ns_yaml_check_keys(ld->y, map, keys, name, ld->err);
    if (!st)
        st = load_agent(ld, sd, map);
    if (!st)
        st = fetch(ld, map, "personality", &pers);
    if (!st)
        st = load_personality(ld, sd, pers, name);
    if (!st)
        st = load_techniques(ld, sd, map, NS_TACTIC, side);
    if (!st)
        st = load_techniques(ld, sd, map, NS_INFLUENCE, side);
    if (st)
        return st;
    if (!ns_catalog_level(ld->s->cat, "mid", &sd->mid))
        sd->mid = 0.5; /* the model's neutral point: coefficients act on trait-0.5 */
    ld->axis_node[side_axis[side][0]] = pers ? pers : map;
    ld->axis_node[side == NS_BUYER ? AX_MODEL_B : AX_MODEL_S] =
        map && ns_yaml_get(map, "model") ? ns_yaml_get(map, "model") : map;
    return NS_OK;
}

/* ------------------------------------------------------------------ */
/* Grid                                                                */
/* ------------------------------------------------------------------ */

static ns_status compute_grid(loader *ld)
{
    ns_spec *s = ld->s;
    s->size[AX_SCENARIO] = (uint64_t)s->n_scenarios;
    /* a built-in side has one model level ("builtin"), so a spec without
     * LLM agents keeps the job ids it had before model axes existed */
    s->size[AX_MODEL_B] = s->side[NS_BUYER].n_models ? (uint64_t)s->side[NS_BUYER].n_models : 1;
    s->size[AX_MODEL_S] = s->side[NS_SELLER].n_models ? (uint64_t)s->side[NS_SELLER].n_models : 1;
    for (int side = 0; side < 2; side++) {
        s->size[side_axis[side][0]] = s->side[side].n_personalities;
        s->size[side_axis[side][1]] = (uint64_t)s->side[side].n_tech[NS_TACTIC];
        s->size[side_axis[side][2]] = (uint64_t)s->side[side].n_tech[NS_INFLUENCE];
    }
    s->size[AX_REPETITION] = s->repetitions;
    /* Strides: the last axis varies fastest. */
    uint64_t stride = 1;
    for (int a = N_AXES - 1; a >= 0; a--) {
        s->stride[a] = stride;
        if (__builtin_mul_overflow(stride, s->size[a], &stride) || stride > GRID_LIMIT)
            return ns_yaml_fail(ld->y, ld->axis_node[a], ld->err,
                                "the job grid would have more than 2^63 jobs "
                                "(reached at the %s axis, %" PRIu64 " levels); "
                                "make the axes smaller", axis_names[a], s->size[a]);
    }
    s->grid = stride;
    return NS_OK;
}

/* Decodes an id into its axis indices: mixed radix, last axis fastest. */
static void decode(const ns_spec *s, uint64_t id, uint64_t ix[N_AXES])
{
    for (int a = 0; a < N_AXES; a++)
        ix[a] = (id / s->stride[a]) % s->size[a];
}

/* ------------------------------------------------------------------ */
/* Level names                                                         */
/* ------------------------------------------------------------------ */

/* Appends s[0..n) to the label being built at *p, stopping at `end` (the
 * byte kept for the NUL), as snprintf would truncate it. */
static inline void label_put(char **p, char *end, const char *s, size_t n)
{
    size_t room = (size_t)(end - *p);
    if (n > room)
        n = room;
    memcpy(*p, s, n);
    *p += n;
}

/* "A=low,N=0.2": the listed traits in O,C,E,A,N order, the last listed
 * trait varying fastest (as the id's radix does). Built by hand, not with
 * snprintf: every job decodes its labels, and the formatting was most of
 * the decoding time. The text is the same: the whole label cut at
 * size - 1 bytes and NUL-terminated. */
static void grid_label(const side_spec *sd, uint64_t k, char *buf, size_t size)
{
    int li[NS_N_TRAITS];
    int listed = 0;
    for (int t = NS_N_TRAITS - 1; t >= 0; t--) {
        li[t] = -1;
        if (sd->grid[t].n > 0) {
            li[t] = (int)(k % (uint64_t)sd->grid[t].n);
            k /= (uint64_t)sd->grid[t].n;
            listed++;
        }
    }
    char *p = buf, *end = buf + size - 1;
    if (!listed) {
        label_put(&p, end, "mid", 3);
    } else {
        for (int t = 0; t < NS_N_TRAITS; t++)
            if (li[t] >= 0) {
                char head[3] = {',', trait_letter[t], '='};
                /* the comma after the first entry (which is never empty) */
                if (p == buf)
                    label_put(&p, end, head + 1, 2);
                else
                    label_put(&p, end, head, 3);
                const char *l = sd->grid[t].label[li[t]];
                label_put(&p, end, l, strlen(l));
            }
    }
    *p = '\0';
}

static void personality_label(const side_spec *sd, uint64_t k, char *buf, size_t size)
{
    switch (sd->mode) {
    case PERS_TRAITS:
        grid_label(sd, k, buf, size);
        break;
    case PERS_ARCHETYPES: {
        char *p = buf;
        label_put(&p, buf + size - 1, sd->arch[k]->name, strlen(sd->arch[k]->name));
        *p = '\0';
        break;
    }
    case PERS_SAMPLE: {
        /* "sobol#17" */
        char digits[20], *d = digits + sizeof digits, *p = buf, *end = buf + size - 1;
        do
            *--d = (char)('0' + k % 10);
        while ((k /= 10) != 0);
        const char *dn = design_names[sd->design];
        label_put(&p, end, dn, strlen(dn));
        label_put(&p, end, "#", 1);
        label_put(&p, end, d, (size_t)(digits + sizeof digits - d));
        *p = '\0';
        break;
    }
    }
}

static void personality_traits(const side_spec *sd, uint64_t k, double *trait)
{
    for (int t = 0; t < NS_N_TRAITS; t++)
        trait[t] = sd->mid;
    switch (sd->mode) {
    case PERS_TRAITS:
        for (int t = NS_N_TRAITS - 1; t >= 0; t--)
            if (sd->grid[t].n > 0) {
                trait[t] = sd->grid[t].value[k % (uint64_t)sd->grid[t].n];
                k /= (uint64_t)sd->grid[t].n;
            }
        break;
    case PERS_ARCHETYPES:
        memcpy(trait, sd->arch[k]->trait, sizeof sd->arch[k]->trait);
        break;
    case PERS_SAMPLE:
        for (int d = 0; d < sd->n_dims; d++)
            trait[sd->dim_trait[d]] = sd->points[k * (uint64_t)sd->n_dims + (uint64_t)d];
        break;
    }
}

static const char *level_name(const ns_spec *s, int axis, uint64_t j, char *buf,
                              size_t size)
{
    for (int side = 0; side < 2; side++)
        for (int r = 0; r < 3; r++)
            if (side_axis[side][r] == axis) {
                const side_spec *sd = &s->side[side];
                if (r == 0)
                    personality_label(sd, j, buf, size);
                else
                    snprintf(buf, size, "%s",
                             ns_catalog_technique(s->cat, (ns_tech_kind)(r - 1),
                                                  sd->tech[r - 1][j])->name);
                return buf;
            }
    if (axis == AX_SCENARIO)
        snprintf(buf, size, "%s", s->sc[j]->name);
    else if (axis == AX_MODEL_B || axis == AX_MODEL_S) {
        const side_spec *sd = &s->side[axis == AX_MODEL_B ? NS_BUYER : NS_SELLER];
        snprintf(buf, size, "%s", sd->n_models ? sd->models[j].full : sd->agent);
    } else
        snprintf(buf, size, "%" PRIu64, j);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Filters                                                             */
/* ------------------------------------------------------------------ */

static const char *const filter_keys[] = {
    "scenario",     "buyer.model",       "seller.model",
    "buyer.personality", "seller.personality",
    "buyer.tactic", "buyer.influence",   "seller.tactic",
    "seller.influence", "repetition", NULL,
};

/* "a, b, c" of an axis's levels (the first dozen), for error messages. */
static void axis_level_list(const ns_spec *s, int axis, char *buf, size_t size)
{
    size_t used = 0;
    char name[LABEL_MAX];
    buf[0] = '\0';
    for (uint64_t j = 0; j < s->size[axis] && used + 2 * sizeof name < size; j++) {
        if (j == 12) {
            snprintf(buf + used, size - used, ", ... (%" PRIu64 " levels)", s->size[axis]);
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", j ? ", " : "",
                                 level_name(s, axis, j, name, sizeof name));
    }
}

/* Index of the level of `axis` written as `item`. */
static ns_status find_level(loader *ld, int axis, struct fy_node *item, uint64_t *out)
{
    const ns_spec *s = ld->s;
    const char *text = ns_yaml_scalar(item);
    char name[LABEL_MAX];
    if (axis == AX_REPETITION) {
        long long r;
        ns_status st = ns_yaml_integer(ld->y, item, &r, ld->err);
        if (st)
            return st;
        if (r < 0 || (uint64_t)r >= s->size[axis])
            return ns_yaml_fail(ld->y, item, ld->err,
                                "filter: repetition %lld is not on the axis "
                                "(repetitions are numbered 0 to %" PRIu64 ")",
                                r, s->size[axis] - 1);
        *out = (uint64_t)r;
        return NS_OK;
    }
    const side_spec *sd = axis == AX_PERSONALITY_B ? &s->side[0]
                        : axis == AX_PERSONALITY_S ? &s->side[1] : NULL;
    if (sd && sd->mode == PERS_SAMPLE) {
        /* Sampled levels are "<design>#<k>": read k rather than scanning a
         * million labels. */
        size_t plen = strlen(design_names[sd->design]);
        char *end = NULL;
        if (!strncmp(text, design_names[sd->design], plen) && text[plen] == '#' &&
            text[plen + 1] >= '0' && text[plen + 1] <= '9') {
            errno = 0;
            unsigned long long k = strtoull(text + plen + 1, &end, 10);
            /* Only the label as negsim writes it ("sobol#7", not "sobol#07"). */
            if (*end == '\0' && errno == 0 && k < sd->n_personalities &&
                !strcmp(text, level_name(s, axis, k, name, sizeof name))) {
                *out = k;
                return NS_OK;
            }
        }
    } else {
        for (uint64_t j = 0; j < s->size[axis]; j++)
            if (!strcmp(text, level_name(s, axis, j, name, sizeof name))) {
                *out = j;
                return NS_OK;
            }
    }
    char levels[768];
    axis_level_list(s, axis, levels, sizeof levels);
    return ns_yaml_fail(ld->y, item, ld->err,
                        "filter: '%s' is not a level of %s (its levels: %s)", text,
                        axis_names[axis], levels);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static ns_status compile_cond(loader *ld, int axis, struct fy_node *values,
                              filter_cond *c)
{
    struct fy_node **items;
    size_t n;
    char what[64];
    snprintf(what, sizeof what, "filter %s", axis_names[axis]);
    ns_status st = list_items(ld, values, what, &items, &n);
    if (st)
        return st;
    c->axis = axis;
    c->level = ns_xcalloc(n, sizeof *c->level);
    for (size_t i = 0; i < n && !st; i++)
        st = find_level(ld, axis, items[i], &c->level[c->n++]);
    free(items);
    if (st)
        return st;
    /* Sorted and unique, for the binary search in level_in(). */
    qsort(c->level, c->n, sizeof *c->level, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < c->n; i++)
        if (u == 0 || c->level[u - 1] != c->level[i])
            c->level[u++] = c->level[i];
    c->n = u;
    return NS_OK;
}

/* `list_key` is the "exclude:"/"include:" key: an empty entry has no
 * position of its own to report. */
static ns_status compile_entry(loader *ld, struct fy_node *map, struct fy_node *list_key,
                               const char *what, int number, filter_entry *e)
{
    ns_status st = ns_yaml_expect_map(ld->y, map, "filter entry", ld->err);
    if (!st)
        st = ns_yaml_check_keys(ld->y, map, filter_keys, "filter entry", ld->err);
    if (st)
        return st;
    if (fy_node_mapping_item_count(map) <= 0)
        return ns_yaml_fail(ld->y, list_key, ld->err,
                            "%s: entry %d is empty (it would match every job)", what,
                            number);
    void *it = NULL;
    struct fy_node_pair *p;
    while (!st && (p = ns_yaml_map_next(map, &it)) != NULL) {
        const char *key = ns_yaml_scalar(ns_yaml_pair_key(p));
        struct fy_node *v = ns_yaml_pair_value(p);
        int axis = 0;
        while (strcmp(axis_names[axis], key) != 0)
            axis++;
        if (!v || fy_node_is_null(v))
            return ns_yaml_fail(ld->y, ns_yaml_pair_key(p), ld->err,
                                "'%s' has no value", key);
        st = compile_cond(ld, axis, v, &e->cond[e->n_cond++]);
        ld->s->filter_axes |= 1u << axis;
    }
    return st;
}

static ns_status compile_list(loader *ld, struct fy_node *filters, const char *key,
                              filter_entry **out, int *count)
{
    struct fy_node *list, *key_node = NULL;
    ns_status st = fetch(ld, filters, key, &list);
    if (st || !list)
        return st;
    void *pit = NULL;
    struct fy_node_pair *p;
    while ((p = ns_yaml_map_next(filters, &pit)) != NULL)
        if (ns_yaml_pair_value(p) == list)
            key_node = ns_yaml_pair_key(p);
    char what[32];
    snprintf(what, sizeof what, "filters.%s", key);
    if ((st = ns_yaml_expect_seq(ld->y, list, what, ld->err)))
        return st;
    int len = fy_node_sequence_item_count(list);
    if (len <= 0)
        return ns_yaml_fail(ld->y, list, ld->err,
                            "%s: empty list (leave the key out instead)", what);
    *out = ns_xcalloc((size_t)len, sizeof **out);
    void *it = NULL;
    struct fy_node *item;
    while (!st && (item = ns_yaml_seq_next(list, &it)) != NULL) {
        filter_entry *e = &(*out)[(*count)++];
        st = compile_entry(ld, item, key_node, what, *count, e);
    }
    return st;
}

static ns_status load_filters(loader *ld, struct fy_node *root)
{
    static const char *const keys[] = {"exclude", "include", NULL};
    struct fy_node *f;
    ns_status st = fetch(ld, root, "filters", &f);
    if (st || !f)
        return st;
    if ((st = ns_yaml_expect_map(ld->y, f, "filters", ld->err)) ||
        (st = ns_yaml_check_keys(ld->y, f, keys, "filters", ld->err)))
        return st;
    st = compile_list(ld, f, "exclude", &ld->s->exclude, &ld->s->n_exclude);
    if (!st)
        st = compile_list(ld, f, "include", &ld->s->include, &ld->s->n_include);
    return st;
}

static int level_in(const filter_cond *c, uint64_t level)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->level[mid] == level)
            return 1;
        if (c->level[mid] < level)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int entry_matches(const filter_entry *e, const uint64_t ix[N_AXES])
{
    for (int i = 0; i < e->n_cond; i++)
        if (!level_in(&e->cond[i], ix[e->cond[i].axis]))
            return 0;
    return 1;
}

static int passes(const ns_spec *s, const uint64_t ix[N_AXES])
{
    for (int i = 0; i < s->n_exclude; i++)
        if (entry_matches(&s->exclude[i], ix))
            return 0;
    if (s->n_include == 0)
        return 1;
    for (int i = 0; i < s->n_include; i++)
        if (entry_matches(&s->include[i], ix))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sampled designs, digest, warnings                                   */
/* ------------------------------------------------------------------ */

static ns_status sample_design(const ns_spec *s, side_spec *sd, int side, ns_error *err)
{
    uint64_t n = sd->n_personalities;
    size_t d = (size_t)sd->n_dims;
    sd->points = ns_xmalloc(n * d * sizeof *sd->points);
    if (sd->design == DESIGN_SOBOL) {
        gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)d);
        if (!q)
            return ns_fail(err, NS_ERR_NOMEM, "cannot allocate a Sobol generator");
        for (uint64_t k = 0; k < n; k++)
            gsl_qrng_get(q, sd->points + k * d);
        gsl_qrng_free(q);
        return NS_OK;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return ns_fail(err, NS_ERR_NOMEM, "cannot allocate a random generator");
    /* 2^64-1-side is an id no job has (grids stay below 2^63), so the
     * design's stream is distinct from every job's. */
    gsl_rng_set(r, (unsigned long)ns_job_seed(s->seed, UINT64_MAX - (uint64_t)side));
    for (uint64_t i = 0; i < n * d; i++)
        sd->points[i] = gsl_rng_uniform(r);
    gsl_rng_free(r);
    return NS_OK;
}

/* Each piece is followed by a NUL byte so that moving text from one piece
 * to the next changes the digest. */
static void digest_piece(XXH64_state_t *h, const char *text)
{
    if (text)
        XXH64_update(h, text, strlen(text));
    XXH64_update(h, "", 1);
}

static void compute_digest(ns_spec *s)
{
    XXH64_state_t h;
    XXH64_reset(&h, 0);
    digest_piece(&h, NS_DIGEST_TAG);
    digest_piece(&h, s->text);
    for (int i = 0; i < s->n_scenarios; i++)
        digest_piece(&h, s->sc[i]->source);
    digest_piece(&h, ns_catalog_source(s->cat));
    if (s->has_llm) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            ns_llm_config_describe(&s->llm, f);
            fclose(f);
        }
        digest_piece(&h, text);
        free(text);
    }
    s->digest = XXH64_digest(&h);
}

static void build_warnings(ns_spec *s)
{
    size_t cap = 1, used = 0;
    for (int i = 0; i < s->n_scenarios; i++)
        if (s->sc[i]->zopa_empty)
            cap += strlen(s->sc[i]->path) + strlen(s->sc[i]->zopa_note) + 32;
    s->warnings = ns_xcalloc(cap, 1);
    for (int i = 0; i < s->n_scenarios; i++)
        if (s->sc[i]->zopa_empty)
            used += (size_t)snprintf(s->warnings + used, cap - used,
                                     "%s: empty ZOPA: %s\n", s->sc[i]->path,
                                     s->sc[i]->zopa_note);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

static ns_status load_tree(loader *ld)
{
    ns_spec *s = ld->s;
    struct fy_node *root = ns_yaml_root(ld->y);
    ns_status st = ns_yaml_expect_map(ld->y, root, "sweep spec", ld->err);
    if (!st)
        st = ns_yaml_check_keys(ld->y, root, top_keys, "sweep spec", ld->err);
    if (!st)
        st = load_options(ld, root);
    if (st)
        return st;
    char *dir = str_printf("%s/personalities", s->data_dir);
    st = ns_catalog_load(dir, &s->cat, ld->err);
    free(dir);
    if (!st)
        st = load_scenarios(ld, root);
    struct fy_node *n = NULL;
    ns_llm_config_init(&s->llm, s->data_dir);
    if (!st)
        st = fetch(ld, root, "llm", &n);
    if (!st)
        st = ns_llm_config_load(&s->llm, ld->y, n, ld->spec_dir, ld->err);
    for (int side = 0; side < 2 && !st; side++)
        st = load_side(ld, root, side);
    if (!st)
        st = fetch(ld, root, "judge", &n);
    if (!st && n) {
        st = ns_llm_config_load_judge(&s->llm, ld->y, n, ld->err);
        s->has_llm = 1;
    }
    if (!st)
        st = compute_grid(ld); /* before filters: they look levels up */
    if (!st)
        st = load_filters(ld, root);
    return st;
}

ns_status ns_spec_load(const char *path, const char *data_dir, ns_spec **out,
                       ns_error *err)
{
    *out = NULL;
    ns_yaml *y = NULL;
    ns_status st = ns_yaml_load_file(path, &y, err);
    if (st)
        return st;
    ns_spec *s = ns_xcalloc(1, sizeof *s);
    s->path = ns_xstrdup(path);
    s->text = ns_xstrdup(ns_yaml_text(y));
    s->seed = 1;
    s->repetitions = 1;
    s->max_rounds = 10;
    s->opener = OPEN_BUYER;
    s->transcripts = 1;
    loader ld = {.s = s, .y = y, .err = err, .spec_dir = dir_of(path)};
    s->data_dir = resolve_data_dir(ld.spec_dir, data_dir);
    st = load_tree(&ld);
    /* Designs are drawn only once the grid is known to be sane, so a
     * mistyped n never costs a million points first. */
    for (int side = 0; side < 2 && !st; side++)
        if (s->side[side].mode == PERS_SAMPLE)
            st = sample_design(s, &s->side[side], side, err);
    free(ld.spec_dir);
    ns_yaml_free(y); /* everything kept was copied or compiled */
    if (st) {
        ns_spec_free(s);
        return st;
    }
    compute_digest(s);
    build_warnings(s);
    *out = s;
    return NS_OK;
}

static void free_side(side_spec *sd)
{
    for (int t = 0; t < NS_N_TRAITS; t++) {
        free(sd->grid[t].value);
        free(sd->grid[t].label);
    }
    free(sd->arch);
    free(sd->points);
    free(sd->tech[0]);
    free(sd->tech[1]);
    free(sd->models);
}

static void free_entries(filter_entry *e, int n)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < e[i].n_cond; c++)
            free(e[i].cond[c].level);
    free(e);
}

void ns_spec_free(ns_spec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_scenarios; i++)
        ns_scenario_free(s->sc[i]);
    free(s->sc);
    ns_catalog_free(s->cat);
    free_side(&s->side[0]);
    free_side(&s->side[1]);
    ns_llm_config_free(&s->llm);
    /* After a failed load the last entry may be half compiled: its
     * n_cond counts every condition whose level array was allocated. */
    free_entries(s->exclude, s->n_exclude);
    free_entries(s->include, s->n_include);
    free(s->path);
    free(s->name);
    free(s->text);
    free(s->output);
    free(s->data_dir);
    free(s->warnings);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

uint64_t ns_job_seed(uint64_t master_seed, uint64_t id)
{
    /* Fixed layout whatever the host: both values little-endian, master
     * seed first, hashed with XXH64 seed 0. */
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(master_seed >> (8 * i));
        b[8 + i] = (unsigned char)(id >> (8 * i));
    }
    return XXH64(b, sizeof b, 0);
}

uint64_t ns_spec_grid_size(const ns_spec *s) { return s->grid; }

uint64_t ns_spec_job_count(const ns_spec *s)
{
    if (!s->filter_axes)
        return s->grid;
    /* Walk the sub-grid of the axes the filters mention (an odometer over
     * those axes only); every other axis multiplies the count. */
    int ax[N_AXES], n = 0;
    uint64_t rest = 1;
    for (int a = 0; a < N_AXES; a++) {
        if (s->filter_axes & (1u << a))
            ax[n++] = a;
        else
            rest *= s->size[a];
    }
    uint64_t ix[N_AXES] = {0}, count = 0;
    for (;;) {
        count += (uint64_t)passes(s, ix);
        int i = n - 1;
        while (i >= 0 && ++ix[ax[i]] == s->size[ax[i]])
            ix[ax[i--]] = 0;
        if (i < 0)
            break;
    }
    return count * rest;
}

static void fill_side(const ns_spec *s, int side, const uint64_t ix[N_AXES],
                      ns_side_setup *out)
{
    const side_spec *sd = &s->side[side];
    uint64_t k = ix[side_axis[side][0]];
    char label[LABEL_MAX];
    personality_label(sd, k, label, sizeof label);
    /* A grid label too long for the fixed field becomes "grid#k" (k = the
     * personality level): unique, where truncation would not be. */
    if (strlen(label) >= sizeof out->personality)
        snprintf(label, sizeof label, "grid#%" PRIu64, k);
    memcpy(out->personality, label, strlen(label) + 1);
    personality_traits(sd, k, out->trait);
    out->tactic = sd->tech[NS_TACTIC][ix[side_axis[side][1]]];
    out->influence = sd->tech[NS_INFLUENCE][ix[side_axis[side][2]]];
    memcpy(out->agent, sd->agent, sizeof out->agent);
    out->kind = sd->kind;
    uint64_t m = ix[side == NS_BUYER ? AX_MODEL_B : AX_MODEL_S];
    out->llm = sd->n_models ? &sd->models[m] : NULL;
    ns_set_name(out->model, sizeof out->model, out->llm ? out->llm->full : "");
}

int ns_spec_job(const ns_spec *s, uint64_t id, ns_job *job)
{
    assert(id < s->grid);
    uint64_t ix[N_AXES];
    decode(s, id, ix);
    job->id = id;
    job->seed = ns_job_seed(s->seed, id);
    job->scenario_index = (int)ix[AX_SCENARIO];
    job->sc = s->sc[ix[AX_SCENARIO]];
    job->repetition = (uint32_t)ix[AX_REPETITION];
    job->opener = s->opener == OPEN_SELLER ? NS_SELLER
                : s->opener == OPEN_BUYER  ? NS_BUYER
                : (job->repetition % 2 == 0 ? NS_BUYER : NS_SELLER);
    fill_side(s, NS_BUYER, ix, &job->side[NS_BUYER]);
    fill_side(s, NS_SELLER, ix, &job->side[NS_SELLER]);
    return passes(s, ix);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

int ns_spec_axis_count(const ns_spec *s) { return N_AXES; }

ns_axis_info ns_spec_axis(const ns_spec *s, int i)
{
    assert(i >= 0 && i < N_AXES);
    ns_axis_info info = {axis_names[i], s->size[i]};
    return info;
}

const char *ns_spec_axis_level(const ns_spec *s, int i, uint64_t j, char *buf,
                               size_t size)
{
    assert(i >= 0 && i < N_AXES && j < s->size[i] && size > 0);
    return level_name(s, i, j, buf, size);
}

const ns_catalog *ns_spec_catalog(const ns_spec *s) { return s->cat; }
int ns_spec_scenario_count(const ns_spec *s) { return s->n_scenarios; }
const ns_scenario *ns_spec_scenario(const ns_spec *s, int i)
{
    assert(i >= 0 && i < s->n_scenarios);
    return s->sc[i];
}
int ns_spec_max_issues(const ns_spec *s) { return s->max_issues; }
const char *ns_spec_name(const ns_spec *s) { return s->name; }
const char *ns_spec_path(const ns_spec *s) { return s->path; }
const char *ns_spec_text(const ns_spec *s) { return s->text; }
uint64_t ns_spec_seed(const ns_spec *s) { return s->seed; }
int ns_spec_max_rounds(const ns_spec *s) { return s->max_rounds; }
uint32_t ns_spec_repetitions(const ns_spec *s) { return s->repetitions; }
int ns_spec_transcripts(const ns_spec *s) { return s->transcripts; }
const char *ns_spec_output(const ns_spec *s) { return s->output; }
uint64_t ns_spec_digest(const ns_spec *s) { return s->digest; }
const char *ns_spec_warnings(const ns_spec *s) { return s->warnings; }
int ns_spec_has_llm(const ns_spec *s) { return s->has_llm; }
const ns_llm_config *ns_spec_llm(const ns_spec *s) { return &s->llm; }
const struct ns_llm_model *ns_spec_side_models(const ns_spec *s, int side, int *n)
{
    *n = s->side[side].n_models;
    return s->side[side].models;
}
const char *ns_spec_data_dir(const ns_spec *s) { return s->data_dir; }
