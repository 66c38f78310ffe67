/*
 * mock_answer.c - schema-driven scripted answers for the mock LLM server
 * (see mock_answer.h for the three kinds).
 *
 * A small generator walks the schema: objects get every listed property,
 * numbers a value in [minimum, maximum] (snapped to multipleOf when
 * given), strings an enum member or a short text, arrays minItems items.
 * It follows "$ref" into "$defs"/"definitions" and takes the first
 * non-null branch of "anyOf"/"oneOf", and reads "type" case-insensitively
 * because Gemini's responseSchema writes "OBJECT", "NUMBER". The move and
 * judge kinds then overwrite the fields whose meaning the mock knows.
 *
 * Deliberately broken answers (break_schema) fail in ways a validator must
 * catch: an unknown action ("haggle"), an issue the scenario does not
 * have, a value outside its range or enum, a judge score of 11.
 */
#include "mock_answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const mock_answer_kind_names[MOCK_ANSWER_KIND_COUNT] = {"other", "move", "judge"};

#define MAX_DEPTH 16

uint64_t mock_hash(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t mock_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double mock_rng_uniform(uint64_t *state)
{
    return (double)(mock_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- schema reading ---------------------------------------------------- */

/* The schema a "#/$defs/Name" style pointer names inside `root`. */
static const json_t *lookup_ref(const json_t *root, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const json_t *at = root;
    const char *p = ref + 1;
    while (at && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        char key[128];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        at = json_object_get(at, key);
        p += n;
    }
    return at;
}

static int is_null_type(const json_t *s)
{
    const char *t = json_string_value(json_object_get(s, "type"));
    return t && strcasecmp(t, "null") == 0;
}

/* Follows $ref and anyOf/oneOf until a plain schema is reached. */
static const json_t *resolve(const json_t *root, const json_t *s)
{
    for (int i = 0; i < MAX_DEPTH && json_is_object(s); i++) {
        const char *ref = json_string_value(json_object_get(s, "$ref"));
        if (ref) {
            s = lookup_ref(root, ref);
            continue;
        }
        const json_t *alts = json_object_get(s, "anyOf");
        if (!json_is_array(alts))
            alts = json_object_get(s, "oneOf");
        if (!json_is_array(alts) || json_array_size(alts) == 0)
            return s;
        size_t i_alt;
        const json_t *alt, *pick = json_array_get(alts, 0);
        json_array_foreach(alts, i_alt, alt) {
            if (!is_null_type(alt)) {
                pick = alt;
                break;
            }
        }
        s = pick;
    }
    return json_is_object(s) ? s : NULL;
}

typedef enum { T_OBJECT, T_ARRAY, T_STRING, T_NUMBER, T_INTEGER, T_BOOLEAN, T_NULL } stype;

static stype type_named(const char *t)
{
    static const struct { const char *name; stype type; } names[] = {
        {"object", T_OBJECT}, {"array", T_ARRAY},     {"string", T_STRING},
        {"number", T_NUMBER}, {"integer", T_INTEGER}, {"boolean", T_BOOLEAN},
        {"null", T_NULL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(t, names[i].name) == 0)
            return names[i].type;
    return T_STRING;
}

/* The schema's type; a list of types gives its first non-null one, and a
 * missing type is inferred from the keywords present. */
static stype type_of(const json_t *s)
{
    const json_t *t = json_object_get(s, "type");
    if (json_is_string(t))
        return type_named(json_string_value(t));
    if (json_is_array(t)) {
        size_t i;
        const json_t *v;
        json_array_foreach(t, i, v) {
            if (json_is_string(v) && strcasecmp(json_string_value(v), "null") != 0)
                return type_named(json_string_value(v));
        }
    }
    if (json_object_get(s, "properties"))
        return T_OBJECT;
    if (json_object_get(s, "items"))
        return T_ARRAY;
    if (json_object_get(s, "minimum") || json_object_get(s, "maximum"))
        return T_NUMBER;
    return T_STRING;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_score_name(const char *name)
{
    return name && ends_with(name, "score");
}

/* [lo, hi] of a numeric schema; judge-style "..._score" fields default to
 * 1..10, anything else to 0..100. */
static void range_of(const json_t *s, const char *name, double *lo, double *hi)
{
    *lo = is_score_name(name) ? 1 : 0;
    *hi = is_score_name(name) ? 10 : 100;
    const json_t *v;
    if ((v = json_object_get(s, "minimum")) && json_is_number(v))
        *lo = json_number_value(v);
    if ((v = json_object_get(s, "maximum")) && json_is_number(v))
        *hi = json_number_value(v);
    if (*hi < *lo)
        *hi = *lo;
}

/* ---- generation ---------------------------------------------------------- */

static json_t *gen(const json_t *root, const json_t *s, const char *name, uint64_t *rng,
                   int depth);

static json_t *gen_object(const json_t *root, const json_t *s, uint64_t *rng, int depth)
{
    json_t *obj = json_object();
    const char *key;
    json_t *sub;
    json_object_foreach((json_t *)json_object_get(s, "properties"), key, sub)
        json_object_set_new(obj, key, gen(root, sub, key, rng, depth + 1));
    return obj;
}

static json_t *gen_number(const json_t *s, const char *name, stype t, uint64_t *rng)
{
    double lo, hi;
    range_of(s, name, &lo, &hi);
    if (t == T_INTEGER) {
        double a = ceil(lo), b = floor(hi);
        if (b < a)
            b = a;
        return json_integer((json_int_t)(a + floor(mock_rng_uniform(rng) * (b - a + 1))));
    }
    double x = lo + mock_rng_uniform(rng) * (hi - lo);
    double step = json_number_value(json_object_get(s, "multipleOf"));
    if (step > 0) {
        x = round(x / step) * step;
        if (x > hi)
            x -= step;
        if (x < lo)
            x += step;
    } else {
        x = round(x * 100.0) / 100.0;
    }
    return json_real(fmin(fmax(x, lo), hi));
}

static json_t *gen_string(const char *name, uint64_t *rng)
{
    if (name && strcmp(name, "tactical_summary") == 0)
        return json_string("The side anchored early and conceded in small steps. "
                           "Its arguments were clear but rarely changed the other side's position.");
    if (name && strcmp(name, "message") == 0)
        return json_string("ok");
    char buf[48];
    snprintf(buf, sizeof buf, "mock-%u", (unsigned)(mock_rng_next(rng) % 1000u));
    return json_string(buf);
}

static json_t *gen(const json_t *root, const json_t *s, const char *name, uint64_t *rng, int depth)
{
    s = resolve(root, s);
    if (!s || depth > MAX_DEPTH)
        return json_null();
    const json_t *en = json_object_get(s, "enum");
    if (json_is_array(en) && json_array_size(en) > 0) {
        size_t i = (size_t)(mock_rng_next(rng) % json_array_size(en));
        return json_deep_copy(json_array_get(en, i));
    }
    const json_t *cst = json_object_get(s, "const");
    if (cst)
        return json_deep_copy(cst);
    stype t = type_of(s);
    switch (t) {
    case T_OBJECT:
        return gen_object(root, s, rng, depth);
    case T_ARRAY: {
        json_t *arr = json_array();
        json_int_t n = json_integer_value(json_object_get(s, "minItems"));
        n = n < 1 ? 1 : n > 3 ? 3 : n;
        for (json_int_t i = 0; i < n; i++)
            json_array_append_new(arr, gen(root, json_object_get(s, "items"), NULL, rng, depth + 1));
        return arr;
    }
    case T_NUMBER:
    case T_INTEGER:
        return gen_number(s, name, t, rng);
    case T_BOOLEAN:
        return json_boolean(mock_rng_next(rng) & 1u);
    case T_NULL:
        return json_null();
    case T_STRING:
    default:
        return gen_string(name, rng);
    }
}

/* ---- the three kinds ------------------------------------------------------ */

/* "price 12000.5, colour \"red\"": the offer for the move's message. */
static void describe_offer(const json_t *offer, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)offer, key, v) {
        char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
        int n = snprintf(out + used, size - used, "%s%s %s", used ? ", " : "", key,
                         txt ? txt : "null");
        free(txt);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    if (!used)
        snprintf(out, size, "the terms on the table");
}

/* Breaks a move in one of three ways a validator must catch. */
static const char *break_move(json_t *move, const json_t *offer_schema, uint64_t *rng)
{
    json_t *offer = json_object_get(move, "offer");
    unsigned way = (unsigned)(mock_rng_next(rng) % 3u);
    if (way == 1 && json_is_object(offer)) {
        json_object_set_new(offer, "bogus_issue", json_integer(42));
        return "offer";
    }
    if (way == 2 && json_is_object(offer)) {
        const char *key;
        json_t *sub;
        json_object_foreach((json_t *)json_object_get(offer_schema, "properties"), key, sub) {
            if (json_is_array(json_object_get(sub, "enum"))) {
                json_object_set_new(offer, key, json_string("not_an_option"));
                return "offer";
            }
            const json_t *mx = json_object_get(sub, "maximum");
            if (json_is_number(mx)) {
                double lo, hi;
                range_of(sub, key, &lo, &hi);
                double over = hi + fmax(1.0, hi - lo);
                json_object_set_new(offer, key, type_of(sub) == T_INTEGER
                                                    ? json_integer((json_int_t)over)
                                                    : json_real(over));
                return "offer";
            }
        }
    }
    return "haggle";
}

static json_t *answer_move(const json_t *schema, uint64_t *rng, const mock_answer_opts *o,
                           mock_answer_info *info)
{
    double u = mock_rng_uniform(rng);
    const char *action = u < o->accept_rate                  ? "accept"
                         : u < o->accept_rate + o->walk_rate ? "walk_away"
                                                             : "offer";
    json_t *move = gen_object(schema, schema, rng, 0);
    const json_t *offer_schema =
        resolve(schema, json_object_get(json_object_get(schema, "properties"), "offer"));
    if (o->break_schema)
        action = break_move(move, offer_schema, rng);
    json_object_set_new(move, "action", json_string(action));

    char terms[512], msg[640];
    describe_offer(json_object_get(move, "offer"), terms, sizeof terms);
    if (strcmp(action, "accept") == 0)
        snprintf(msg, sizeof msg, "Deal: I accept %s.", terms);
    else if (strcmp(action, "walk_away") == 0)
        snprintf(msg, sizeof msg, "I am walking away; %s does not work for me.", terms);
    else
        snprintf(msg, sizeof msg, "I propose %s.", terms);
    json_object_set_new(move, "message", json_string(msg));
    info->kind = MOCK_ANSWER_MOVE;
    info->action = action;
    return move;
}

static json_t *answer_judge(const json_t *schema, uint64_t *rng, const mock_answer_opts *o,
                            mock_answer_info *info)
{
    static const char *const sides[] = {"buyer", "seller"};
    json_t *out = gen_object(schema, schema, rng, 0);
    for (int i = 0; i < 2; i++) {
        json_t *side = json_object_get(out, sides[i]);
        if (!json_is_object(side)) {
            side = json_object();
            json_object_set_new(out, sides[i], side);
        }
        /* A side schema that lists nothing still gets the three fields. */
        if (json_object_size(side) == 0) {
            json_object_set_new(side, "tactical_summary", gen_string("tactical_summary", rng));
            json_object_set_new(side, "influencing_effectiveness_score",
                                json_integer(1 + (json_int_t)(mock_rng_next(rng) % 10u)));
            json_object_set_new(side, "tactic_effectiveness_score",
                                json_integer(1 + (json_int_t)(mock_rng_next(rng) % 10u)));
        }
    }
    if (o->break_schema)
        json_object_set_new(json_object_get(out, "buyer"), "influencing_effectiveness_score",
                            json_integer(11));
    info->kind = MOCK_ANSWER_JUDGE;
    return out;
}

json_t *mock_answer(const json_t *schema, uint64_t hash, const mock_answer_opts *opts,
                    mock_answer_info *info)
{
    mock_answer_info dummy;
    if (!info)
        info = &dummy;
    info->kind = MOCK_ANSWER_OTHER;
    info->action = NULL;
    uint64_t rng = hash;
    const json_t *props = json_object_get(schema, "properties");
    if (json_object_get(props, "action") && json_object_get(props, "offer"))
        return answer_move(schema, &rng, opts, info);
    if (json_object_get(props, "buyer") && json_object_get(props, "seller"))
        return answer_judge(schema, &rng, opts, info);
    return opts->break_schema ? json_pack("{s:n}", "message") : json_pack("{s:s}", "message", "ok");
}
