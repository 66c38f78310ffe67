/*
 * test_catalog.c - the behaviour catalogues (ns_catalog.c).
 *
 * 1. The test catalogue in tests/data/catalog/formula/ (round numbers)
 *    loads, and the model formula gives the values computed by hand below
 *    for given trait vectors: linear and log scale, clamping to the range,
 *    self effects at strength 1, opponent effects scaled by the
 *    susceptibility.
 * 2. The shipped catalogue in personalities/ loads, has the techniques the
 *    project promises, gives an all-middle personality exactly the bases
 *    written in model.yaml, and keeps every combination inside the
 *    parameter domains.
 * 3. Every bad fixture in tests/data/catalog/bad/<case>/ (one file each,
 *    laid over the formula catalogue) fails, with "file:line:" of the
 *    offending node and the message its first two lines announce:
 *      # expect: <text the error must contain>
 *      # at: <line>
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns_catalog.h"

#include "ns_test.h"


#define NEAR(expected, actual, what)                                          \
    CHECK(fabs((expected) - (actual)) < 1e-12, "%s: expected %.15g, got %.15g", \
          (what), (double)(expected), (double)(actual))

static ns_catalog *load_or_die(const char *dir)
{
    ns_catalog *c = NULL;
    ns_error err = {0};
    ns_status st = ns_catalog_load(dir, &c, &err);
    CHECK(st == NS_OK, "loading %s: %s", dir, err.msg);
    return st == NS_OK ? c : NULL;
}

/* ------------------------------------------------- formula (test catalogue) */

/* T1: openness 1.0, conscientiousness 0.0, extraversion 0.9,
 * agreeableness 0.8, neuroticism 0.3; deviations from 0.5:
 * +0.5, -0.5, +0.4, +0.3, -0.2. */
static const double T1[NS_N_TRAITS] = {1.0, 0.0, 0.9, 0.8, 0.3};

static void test_formula_values(const ns_catalog *c)
{
    ns_agent_params p;
    ns_catalog_agent_params(c, T1, 0, 0, &p);
    /* aspiration: 0.8 + (-0.4)(0.3) + (-0.2)(-0.2) = 0.72 */
    NEAR(0.72, p.p[NS_P_ASPIRATION], "aspiration(T1)");
    /* floor: 0.3 + 0.2 * (-0.5) = 0.2 */
    NEAR(0.2, p.p[NS_P_FLOOR], "floor(T1)");
    /* beta, log scale: exp(log 2 + 2.0 * 0.3) = 2 e^0.6 */
    NEAR(2.0 * exp(0.6), p.p[NS_P_BETA], "beta(T1)");
    NEAR(3.6442376007810177, p.p[NS_P_BETA], "beta(T1), decimal");
    NEAR(1.0, p.p[NS_P_DEADLINE], "deadline(T1)");
    /* imitation: 0.5 + 0.5 * 0.4 = 0.7 */
    NEAR(0.7, p.p[NS_P_IMITATION], "imitation(T1)");
    /* logrolling: 0.5 + 1.0 * 0.5 = 1.0, the top of its range */
    NEAR(1.0, p.p[NS_P_LOGROLLING], "logrolling(T1)");
    /* walkaway: 0.1 + 0.4 * (-0.2) = 0.02 */
    NEAR(0.02, p.p[NS_P_WALKAWAY], "walkaway(T1)");
    NEAR(0.0, p.p[NS_P_ANCHOR], "anchor(T1)");
    NEAR(0.0, p.p[NS_P_ACCEPT_MARGIN], "accept_margin(T1)");
    /* susceptibility to pushy: 0.5 + 1.0 * 0.3 = 0.8; to charm:
     * 0.2 + 1.0 * 0.4 = 0.6, clamped to its range's max 0.3; to slow (no
     * opponent effects) and to none: 0 */
    int pushy = ns_catalog_find(c, NS_TACTIC, "pushy");
    int slow = ns_catalog_find(c, NS_TACTIC, "slow");
    int charm = ns_catalog_find(c, NS_INFLUENCE, "charm");
    NEAR(0.8, p.susceptibility[NS_TACTIC][pushy], "susceptibility to pushy");
    NEAR(0.3, p.susceptibility[NS_INFLUENCE][charm], "susceptibility to charm");
    NEAR(0.0, p.susceptibility[NS_TACTIC][slow], "susceptibility to slow");
    NEAR(0.0, p.susceptibility[NS_TACTIC][0], "susceptibility to none");
}

static void test_formula_clamps(const ns_catalog *c)
{
    ns_agent_params p;
    /* agreeableness 0, neuroticism 0: aspiration 0.8 + 0.2 + 0.1 = 1.1,
     * clamped to 1.0; beta 2 e^-1 */
    const double low_an[NS_N_TRAITS] = {0.5, 0.5, 0.5, 0.0, 0.0};
    ns_catalog_agent_params(c, low_an, 0, 0, &p);
    NEAR(1.0, p.p[NS_P_ASPIRATION], "aspiration clamped to max");
    NEAR(2.0 * exp(-1.0), p.p[NS_P_BETA], "beta at agreeableness 0");
    /* agreeableness 1: beta 2 e^1 = 5.44, clamped to 4; aspiration 0.6 */
    const double high_a[NS_N_TRAITS] = {0.5, 0.5, 0.5, 1.0, 0.5};
    ns_catalog_agent_params(c, high_a, 0, 0, &p);
    NEAR(4.0, p.p[NS_P_BETA], "log-scale beta clamped to max");
    NEAR(0.6, p.p[NS_P_ASPIRATION], "aspiration(agreeableness 1)");
    /* all middle: exactly the bases */
    const double mid[NS_N_TRAITS] = {0.5, 0.5, 0.5, 0.5, 0.5};
    ns_catalog_agent_params(c, mid, 0, 0, &p);
    NEAR(0.8, p.p[NS_P_ASPIRATION], "aspiration(mid)");
    NEAR(2.0, p.p[NS_P_BETA], "beta(mid)");
    NEAR(0.1, p.p[NS_P_WALKAWAY], "walkaway(mid)");
}

static void test_self_effects(const ns_catalog *c)
{
    int pushy = ns_catalog_find(c, NS_TACTIC, "pushy");
    int slow = ns_catalog_find(c, NS_TACTIC, "slow");
    int charm = ns_catalog_find(c, NS_INFLUENCE, "charm");
    ns_agent_params p;
    ns_catalog_agent_params(c, T1, pushy, 0, &p);
    NEAR(0.82, p.p[NS_P_ASPIRATION], "pushy: aspiration 0.72 + 0.1");
    NEAR(0.2, p.p[NS_P_FLOOR], "pushy: own floor untouched");
    ns_catalog_agent_params(c, T1, slow, 0, &p);
    NEAR(0.5, p.p[NS_P_BETA], "slow: beta set to 0.5");
    /* charm has only opponent effects: nothing changes for its user */
    ns_agent_params none;
    ns_catalog_agent_params(c, T1, 0, 0, &none);
    ns_catalog_agent_params(c, T1, 0, charm, &p);
    CHECK(memcmp(p.p, none.p, sizeof p.p) == 0, "charm changed its own user's parameters");
}

static void test_opponent_effects(const ns_catalog *c)
{
    int pushy = ns_catalog_find(c, NS_TACTIC, "pushy");
    int slow = ns_catalog_find(c, NS_TACTIC, "slow");
    int charm = ns_catalog_find(c, NS_INFLUENCE, "charm");
    ns_agent_params p, base;
    ns_catalog_agent_params(c, T1, 0, 0, &base);

    /* facing pushy, susceptibility m = 0.8:
     *   floor      add -0.2:  0.2 - 0.2 * 0.8          = 0.04
     *   beta       scale 3:   3.6442... * (1 + 2 * 0.8) = x 2.6
     *   imitation  set 1:     0.7 + (1 - 0.7) * 0.8     = 0.94 */
    p = base;
    ns_catalog_apply_opponent(c, &p, pushy, 0);
    NEAR(0.04, p.p[NS_P_FLOOR], "floor after pushy");
    NEAR(2.0 * exp(0.6) * 2.6, p.p[NS_P_BETA], "beta after pushy");
    NEAR(0.94, p.p[NS_P_IMITATION], "imitation after pushy");
    NEAR(0.72, p.p[NS_P_ASPIRATION], "aspiration untouched by pushy");

    /* facing charm, m = 0.3: walkaway 0.02 * (1 + (0.5 - 1) * 0.3) = 0.017 */
    p = base;
    ns_catalog_apply_opponent(c, &p, 0, charm);
    NEAR(0.017, p.p[NS_P_WALKAWAY], "walkaway after charm");

    /* both at once: the effects compose */
    p = base;
    ns_catalog_apply_opponent(c, &p, pushy, charm);
    NEAR(0.04, p.p[NS_P_FLOOR], "floor after pushy + charm");
    NEAR(0.017, p.p[NS_P_WALKAWAY], "walkaway after pushy + charm");

    /* no opponent effects, or none: nothing changes */
    p = base;
    ns_catalog_apply_opponent(c, &p, slow, 0);
    CHECK(memcmp(p.p, base.p, sizeof p.p) == 0, "slow changed the opponent");
    p = base;
    ns_catalog_apply_opponent(c, &p, 0, 0);
    CHECK(memcmp(p.p, base.p, sizeof p.p) == 0, "none changed the opponent");

    /* a more susceptible agent (agreeableness 1: m = 1.0) gets the full
     * effect: floor 0.3 - 0.2 = 0.1 (conscientiousness 0.5) */
    const double high_a[NS_N_TRAITS] = {0.5, 0.5, 0.5, 1.0, 0.5};
    ns_catalog_agent_params(c, high_a, 0, 0, &p);
    NEAR(1.0, p.susceptibility[NS_TACTIC][pushy], "susceptibility at agreeableness 1");
    ns_catalog_apply_opponent(c, &p, pushy, 0);
    NEAR(0.1, p.p[NS_P_FLOOR], "floor after pushy at full strength");
    /* ... and an immune one (agreeableness 0: m = 0) none */
    const double low_a[NS_N_TRAITS] = {0.5, 0.5, 0.5, 0.0, 0.5};
    ns_catalog_agent_params(c, low_a, 0, 0, &p);
    NEAR(0.3, p.p[NS_P_FLOOR], "floor before pushy, immune agent");
    ns_catalog_apply_opponent(c, &p, pushy, 0);
    NEAR(0.3, p.p[NS_P_FLOOR], "floor after pushy, immune agent");
}

static void test_lookups(const ns_catalog *c)
{
    CHECK(ns_catalog_find(c, NS_TACTIC, "none") == 0, "none is not index 0");
    CHECK(ns_catalog_find(c, NS_INFLUENCE, "none") == 0, "none is not index 0");
    CHECK(ns_catalog_find(c, NS_TACTIC, "pushy") == 1, "pushy is not index 1");
    CHECK(ns_catalog_find(c, NS_TACTIC, "charm") == -1, "charm found among tactics");
    CHECK(ns_catalog_find(c, NS_TACTIC, "nope") == -1, "unknown name found");
    CHECK(ns_catalog_count(c, NS_TACTIC) == 3, "tactic count %d",
          ns_catalog_count(c, NS_TACTIC));
    CHECK(ns_catalog_count(c, NS_INFLUENCE) == 2, "influence count %d",
          ns_catalog_count(c, NS_INFLUENCE));
    CHECK_STR("none, pushy, slow", ns_catalog_names(c, NS_TACTIC), "tactic names");
    CHECK_STR("none, charm", ns_catalog_names(c, NS_INFLUENCE), "influence names");
    CHECK(ns_catalog_technique(c, NS_TACTIC, 3) == NULL, "index past the end");
    const ns_technique *t = ns_catalog_technique(c, NS_INFLUENCE, 1);
    CHECK(t && t->n_phrases == 2, "charm's phrases");
    if (t) {
        CHECK_STR("Friend,", t->phrases[0], "charm phrase 0");
        CHECK_STR("Test technique with an opponent effect only.", t->description,
              "charm description");
        CHECK(t->n_opponent == 1 && t->opponent[0].param == NS_P_WALKAWAY &&
                  t->opponent[0].op == NS_EFFECT_SCALE && t->opponent[0].value == 0.5,
              "charm's opponent effect");
    }
    double v = -1;
    CHECK(ns_catalog_level(c, "high", &v) == 1 && v == 0.75, "level high = %g", v);
    CHECK(ns_catalog_level(c, "huge", &v) == 0, "unknown level accepted");
    CHECK(ns_catalog_archetype_count(c) == 1, "archetype count");
    const ns_personality *a = ns_catalog_archetype(c, "probe");
    CHECK(a != NULL, "archetype probe missing");
    if (a) {
        /* high = 0.75, low = 0.25, mid = 0.5 in the test catalogue */
        const double want[NS_N_TRAITS] = {0.75, 0.0, 0.9, 0.25, 0.5};
        for (int i = 0; i < NS_N_TRAITS; i++)
            NEAR(want[i], a->trait[i], ns_trait_names[i]);
    }
    CHECK(ns_catalog_archetype(c, "nobody") == NULL, "unknown archetype found");
    CHECK_STR("probe", ns_catalog_archetype_names(c), "archetype names");
    CHECK(ns_trait_index("neuroticism") == NS_N && ns_trait_index("x") == -1, "trait index");
    CHECK(ns_param_index("accept_margin") == NS_P_ACCEPT_MARGIN && ns_param_index("x") == -1,
          "param index");
}

static void test_source(const ns_catalog *c)
{
    const char *s = ns_catalog_source(c);
    const char *m = strstr(s, "# --- personalities/model.yaml ---\n");
    const char *t = strstr(s, "# --- personalities/tactics.yaml ---\n");
    const char *i = strstr(s, "# --- personalities/influence.yaml ---\n");
    const char *a = strstr(s, "# --- personalities/archetypes.yaml ---\n");
    CHECK(m == s, "source does not start with the model.yaml header");
    CHECK(m && t && i && a && m < t && t < i && i < a, "headers missing or out of order");
    CHECK(strstr(s, "name: slow\n") != NULL, "tactics text missing from the source");
    CHECK(strstr(s, "traits: {openness: high,") != NULL, "archetype text missing");
}

/* ------------------------------------------------------ shipped catalogue */

static void test_shipped(const ns_catalog *c)
{
    static const char *const tactics[] = {"anchoring", "boulware", "conceder", "linear",
                                          "tit_for_tat", "deadline_pressure", "logrolling"};
    static const char *const influence[] = {"reciprocity", "commitment", "social_proof",
                                            "authority", "liking", "scarcity", "unity"};
    for (size_t k = 0; k < 7; k++) {
        CHECK(ns_catalog_find(c, NS_TACTIC, tactics[k]) > 0, "tactic %s missing", tactics[k]);
        CHECK(ns_catalog_find(c, NS_INFLUENCE, influence[k]) > 0, "influence %s missing",
              influence[k]);
    }
    for (int kind = 0; kind < 2; kind++)
        for (int i = 1; i < ns_catalog_count(c, (ns_tech_kind)kind); i++) {
            const ns_technique *t = ns_catalog_technique(c, (ns_tech_kind)kind, i);
            CHECK(t->n_phrases >= 1 && t->n_phrases <= 4, "%s: %d phrases", t->name,
                  t->n_phrases);
            CHECK(strlen(t->description) > 40, "%s: description too short", t->name);
        }
    int n_arch = ns_catalog_archetype_count(c);
    CHECK(n_arch >= 6 && n_arch <= 8, "%d archetypes", n_arch);

    /* The all-middle personality gets the bases as written in model.yaml
     * (read off the file: aspiration 0.9, floor 0.1, beta 1.0, deadline
     * 0.95, imitation 0.3, logrolling 0.4, walkaway 0.04, anchor 0.3,
     * accept_margin 0.02). */
    const ns_personality *bal = ns_catalog_archetype(c, "balanced");
    CHECK(bal != NULL, "archetype balanced missing");
    if (!bal)
        return;
    const double base[NS_N_PARAMS] = {0.9, 0.1, 1.0, 0.95, 0.3, 0.4, 0.04, 0.3, 0.02};
    ns_agent_params p;
    ns_catalog_agent_params(c, bal->trait, 0, 0, &p);
    for (int i = 0; i < NS_N_PARAMS; i++)
        NEAR(base[i], p.p[i], ns_param_names[i]);
    /* every technique with opponent effects acts on the balanced agent */
    int n_susceptible = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int i = 1; i < ns_catalog_count(c, (ns_tech_kind)kind); i++)
            n_susceptible += p.susceptibility[kind][i] > 0;
    CHECK(n_susceptible == 9, "%d techniques with a susceptibility, expected 9 "
          "(7 influence + anchoring + deadline_pressure)", n_susceptible);

    /* Boulware concedes slower than linear, linear slower than conceder. */
    double beta[3];
    const char *curves[3] = {"boulware", "linear", "conceder"};
    for (int k = 0; k < 3; k++) {
        int tactic = ns_catalog_find(c, NS_TACTIC, curves[k]);
        ns_catalog_agent_params(c, bal->trait, tactic, 0, &p);
        beta[k] = p.p[NS_P_BETA];
    }
    CHECK(beta[0] < 1 && beta[1] == 1 && beta[2] > 1, "betas %g %g %g", beta[0], beta[1],
          beta[2]);

    /* Directions the model claims: a more agreeable agent asks less and
     * concedes faster. */
    double lo_a[NS_N_TRAITS], hi_a[NS_N_TRAITS];
    memcpy(lo_a, bal->trait, sizeof lo_a);
    memcpy(hi_a, bal->trait, sizeof hi_a);
    lo_a[NS_A] = 0.2;
    hi_a[NS_A] = 0.8;
    ns_agent_params plo, phi;
    ns_catalog_agent_params(c, lo_a, 0, 0, &plo);
    ns_catalog_agent_params(c, hi_a, 0, 0, &phi);
    CHECK(phi.p[NS_P_ASPIRATION] < plo.p[NS_P_ASPIRATION], "agreeableness raised aspiration");
    CHECK(phi.p[NS_P_BETA] > plo.p[NS_P_BETA], "agreeableness slowed concessions");

    /* Every archetype x tactic x influence, facing every tactic x
     * influence: parameters stay in their domains, floor <= aspiration. */
    int bad = 0;
    for (int ai = 0; ai < n_arch; ai++)
        for (int t = 0; t < ns_catalog_count(c, NS_TACTIC); t++)
            for (int f = 0; f < ns_catalog_count(c, NS_INFLUENCE); f++)
                for (int ot = 0; ot < ns_catalog_count(c, NS_TACTIC); ot++)
                    for (int of = 0; of < ns_catalog_count(c, NS_INFLUENCE); of++) {
                        const ns_personality *arch = ns_catalog_archetype_at(c, ai);
                        ns_catalog_agent_params(c, arch->trait, t, f, &p);
                        ns_catalog_apply_opponent(c, &p, ot, of);
                        const double *q = p.p;
                        bad += !(q[NS_P_ASPIRATION] > 0 && q[NS_P_ASPIRATION] <= 1 &&
                                 q[NS_P_FLOOR] >= 0 && q[NS_P_FLOOR] <= q[NS_P_ASPIRATION] &&
                                 q[NS_P_BETA] > 0 && q[NS_P_DEADLINE] > 0 &&
                                 q[NS_P_DEADLINE] <= 1 && q[NS_P_WALKAWAY] >= 0 &&
                                 q[NS_P_WALKAWAY] <= 1 && q[NS_P_IMITATION] >= 0 &&
                                 q[NS_P_IMITATION] <= 1 && q[NS_P_LOGROLLING] >= 0 &&
                                 q[NS_P_LOGROLLING] <= 1);
                    }
    CHECK(bad == 0, "%d combinations left a parameter outside its domain", bad);
}

/* ------------------------------------------------------------ bad fixtures */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[4096];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out)
        ok = (fclose(out) == 0) && ok;
    return ok;
}

/* Reads "# expect: ..." and "# at: N" from the fixture's first lines. */
static int read_expectation(const char *path, char *expect, size_t size, int *line)
{
    FILE *f = fopen(path, "r");
    char l1[512], l2[64];
    int ok = f && fgets(l1, sizeof l1, f) && fgets(l2, sizeof l2, f) &&
             strncmp(l1, "# expect: ", 10) == 0 && sscanf(l2, "# at: %d", line) == 1;
    if (f)
        fclose(f);
    if (ok) {
        l1[strcspn(l1, "\n")] = '\0';
        snprintf(expect, size, "%s", l1 + 10);
    }
    return ok;
}

static void run_bad_case(const char *base_dir, const char *case_dir, const char *name)
{
    static const char *const files[] = {"model.yaml", "tactics.yaml", "influence.yaml",
                                        "archetypes.yaml"};
    char tmp[] = "/tmp/test_catalog_XXXXXX";
    if (!mkdtemp(tmp)) {
        CHECK(0, "%s: mkdtemp failed", name);
        return;
    }
    char path[1024], from[1024], fixture_file[64] = "", expect[512];
    int line = 0;
    for (int f = 0; f < 4; f++) {
        snprintf(from, sizeof from, "%s/%s", case_dir, files[f]);
        struct stat sb;
        int overridden = stat(from, &sb) == 0;
        if (overridden)
            snprintf(fixture_file, sizeof fixture_file, "%s", files[f]);
        else
            snprintf(from, sizeof from, "%s/%s", base_dir, files[f]);
        snprintf(path, sizeof path, "%s/%s", tmp, files[f]);
        CHECK(copy_file(from, path), "%s: cannot copy %s", name, from);
    }
    snprintf(from, sizeof from, "%s/%s", case_dir, fixture_file);
    if (!fixture_file[0] || !read_expectation(from, expect, sizeof expect, &line)) {
        CHECK(0, "%s: no fixture file with '# expect:' and '# at:' lines", name);
    } else {
        ns_catalog *c = NULL;
        ns_error err = {0};
        ns_status st = ns_catalog_load(tmp, &c, &err);
        char where[1100];
        snprintf(where, sizeof where, "%s/%s:%d:", tmp, fixture_file, line);
        CHECK(st == NS_ERR_INPUT && c == NULL, "%s: loaded (status %d), expected an error",
              name, (int)st);
        CHECK(strstr(err.msg, where) == err.msg, "%s: expected the message to start with "
              "\"%s\", got \"%s\"", name, where, err.msg);
        CHECK(strstr(err.msg, expect) != NULL, "%s: expected \"%s\" in \"%s\"", name, expect,
              err.msg);
        ns_catalog_free(c);
    }
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[f]);
        unlink(path);
    }
    rmdir(tmp);
}

static void test_bad_fixtures(void)
{
    const char *bad_dir = "tests/data/catalog/bad";
    DIR *d = opendir(bad_dir);
    CHECK(d != NULL, "cannot open %s (run from the repository root)", bad_dir);
    if (!d)
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char case_dir[512];
        snprintf(case_dir, sizeof case_dir, "%s/%s", bad_dir, e->d_name);
        run_bad_case("tests/data/catalog/formula", case_dir, e->d_name);
        n++;
    }
    closedir(d);
    CHECK(n >= 15, "only %d bad fixtures found", n);
}

static void test_missing_dir(void)
{
    ns_catalog *c = NULL;
    ns_error err = {0};
    ns_status st = ns_catalog_load("tests/data/catalog/no_such_dir", &c, &err);
    CHECK(st != NS_OK && c == NULL, "a missing folder loaded");
    CHECK(strstr(err.msg, "no_such_dir/model.yaml") != NULL, "message names the file: %s",
          err.msg);
    ns_catalog_free(NULL); /* a no-op */
}

int main(void)
{
    ns_catalog *c = load_or_die("tests/data/catalog/formula");
    if (c) {
        test_formula_values(c);
        test_formula_clamps(c);
        test_self_effects(c);
        test_opponent_effects(c);
        test_lookups(c);
        test_source(c);
        ns_catalog_free(c);
    }
    c = load_or_die("personalities");
    if (c) {
        test_shipped(c);
        ns_catalog_free(c);
    }
    c = load_or_die("tests/data/catalog/fixed");
    ns_catalog_free(c);
    test_bad_fixtures();
    test_missing_dir();
    return ns_test_report("test_catalog");
}
